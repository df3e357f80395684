"""The tug's planned mean-element history, sampled analytically from a :class:`~otvplan.model.Plan`.

The history starts from the scenario's drop-off orbit at t = 0 (argument of latitude
``dropoff.slot_rad``, or 0 when the drop-off slot is free; RAAN 0 when the drop-off node is
free) and jumps to each burn's ``orbit_after``. Between events the mean elements follow
otvplan's planning model, the secular J2 rates to second order (Brouwer 1959 as in SGP4,
:func:`otvplan.core.orbits.secular_rates`; the first-order part is Vallado eq. 9-41), the same rates
the solver plans with:

- a, e, i are constant; RAAN advances at dRAAN/dt;
- near-circular orbits (e < :data:`NEAR_CIRCULAR_E`, where the solver sets the argument of
  perigee to 0 by convention) advance the argument of latitude u at
  :func:`otvplan.core.orbits.argument_of_latitude_rate`;
- elliptic orbits advance the argument of perigee at dargp/dt and the mean anomaly at dM/dt;
  the true anomaly follows from Kepler's equation and u = argp + nu.

Low-thrust arcs (``Burn.low_thrust`` with ``duration_s > 0`` whose ``orbit_after`` lies at the
end of the arc) are drawn by interpolating the elements linearly in time between the orbit
before the arc and ``orbit_after``. RAAN and u are unwrapped so that the number of turns over
the arc matches the mean of the secular rates at the two ends (the solver books the arc's RAAN
and phase the same way). An electric burn whose ``orbit_after`` sits at its start time is drawn
as an impulse.

Everything here is pure NumPy on the core units (km, km/s, s, rad). Positions and velocities
from :func:`states` are in otvplan's inertial frame: the mean equator and equinox of the
scenario epoch (the frame in which the scenario's RAANs and LTANs are defined). Positions are
those of the *mean* orbit: the short-period J2 terms (a few km) are not added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from otvplan.constants import MU_EARTH_KM3_S2
from otvplan.core.orbits import (
    TWO_PI,
    coe_to_rv,
    mean_to_true_anomaly,
    period,
    secular_rates,
    true_to_mean_anomaly,
)
from otvplan.model import OrbitState
from otvplan.planning.targets import TargetAt, target_at

#: Eccentricity below which an orbit is treated as circular: its argument of perigee is
#: undefined (the solver stores 0) and the argument of latitude advances at the mean rate.
#: The same threshold as the solver's (``otvplan.planning.legs.CIRCULAR_E``).
NEAR_CIRCULAR_E = 1e-3

#: Default number of samples of :func:`sample` when neither ``step_s`` nor ``n`` is given.
DEFAULT_SAMPLES = 2000


class MeanElements(NamedTuple):
    """Mean elements at times ``t`` [s from the epoch]: a [km], e [-], i, raan, argp, u [rad].

    Each field is an array of the shape of ``t``; angles are wrapped to [0, 2 pi)."""

    t: np.ndarray
    a: np.ndarray
    e: np.ndarray
    i: np.ndarray
    raan: np.ndarray
    argp: np.ndarray
    u: np.ndarray


@dataclass(frozen=True)
class Segment:
    """One stretch of the history: a coast from ``start`` (J2 secular motion) or, when
    ``end`` is given, a low-thrust arc interpolated from ``start`` to ``end``.

    ``start``/``end`` are mean orbits (:class:`~otvplan.model.OrbitState`)."""

    t_start_s: float
    start: OrbitState
    end: OrbitState | None = None
    label: str = ""

    @property
    def is_arc(self) -> bool:
        return self.end is not None


def _elements(s: OrbitState) -> tuple[float, ...]:
    """``(t_s, a_km, e, inc_rad, raan_rad, argp_rad, u_rad)`` of a state, in that order."""
    return (s.t_s, s.a_km, s.e, s.inc_rad, s.raan_rad, s.argp_rad, s.u_rad)


def initial_state(scenario) -> OrbitState:
    """The tug's mean orbit at t = 0: the drop-off orbit, u = slot (0 if free), RAAN 0 if free."""
    d = scenario.dropoff
    return OrbitState(
        0.0,
        float(d.a_km),
        float(d.e),
        float(d.inc_rad),
        float(d.raan_rad or 0.0),
        float(d.argp_rad if d.e >= NEAR_CIRCULAR_E else 0.0),
        float(d.slot_rad or 0.0),
    )


def _as_state(o: OrbitState, t_s: float | None = None) -> OrbitState:
    """``o`` with plain-float elements, at ``t_s`` when given (a burn inside an earlier arc
    starts at that arc's end)."""
    return OrbitState(
        float(o.t_s if t_s is None else t_s),
        float(o.a_km),
        float(o.e),
        float(o.inc_rad),
        float(o.raan_rad),
        float(o.argp_rad),
        float(o.u_rad),
    )


def burns_in_order(plan) -> list:
    """Every burn of the plan as ``(leg, burn)`` pairs, in time order (stable for ties)."""
    pairs = [(leg, b) for leg in plan.legs for b in leg.burns]
    return sorted(pairs, key=lambda p: p[1].t_s)


def is_arc(burn) -> bool:
    """True when ``burn`` is drawn as a low-thrust arc (it has an end state after its start)."""
    oa = burn.orbit_after
    return bool(
        burn.low_thrust and burn.duration_s > 0.0 and oa is not None and oa.t_s > burn.t_s + 1e-6
    )


def segments(plan) -> list[Segment]:
    """The plan's history as segments in time order (the last one coasts on forever).

    Burns without ``orbit_after`` are skipped (the orbit is then unknown to the plan; the
    previous orbit is kept). Burns that start inside a previous arc start at its end.
    """
    state = initial_state(plan.scenario)
    out: list[Segment] = []
    for _leg, burn in burns_in_order(plan):
        oa = burn.orbit_after
        if oa is None:
            continue
        tb = max(float(burn.t_s), state.t_s)
        out.append(Segment(state.t_s, state, label="coast"))
        if is_arc(burn):
            pre = _propagate_scalar(state, tb)
            end = _as_state(oa, max(float(oa.t_s), tb))
            out.append(Segment(tb, pre, end, label=burn.label))
            state = end
        else:
            state = _as_state(oa, tb)
    out.append(Segment(state.t_s, state, label="coast"))
    return out


def _propagate_scalar(s: OrbitState, t: float) -> OrbitState:
    el = _coast(np.array([t]), *(np.array([x]) for x in _elements(s)))
    return OrbitState(*(float(x[0]) for x in el))


def _coast(t, t0, a, e, i, raan0, argp0, u0):
    """Secular J2 propagation of mean elements from (t0, ...) to t (arrays, broadcast)."""
    rates = secular_rates(a, e, i)
    dt = t - t0
    raan = raan0 + np.asarray(rates.raan) * dt
    argp_dot = np.asarray(rates.argp)
    m_dot = np.asarray(rates.mean_anomaly)
    circ = e < NEAR_CIRCULAR_E
    u = np.where(circ, u0 + (argp_dot + m_dot) * dt, 0.0)
    argp = np.where(circ, argp0, argp0 + argp_dot * dt)
    ell = ~circ
    if np.any(ell):
        ee = e[ell]
        m0 = np.asarray(true_to_mean_anomaly(u0[ell] - argp0[ell], ee))
        nu = np.asarray(mean_to_true_anomaly(m0 + m_dot[ell] * dt[ell], ee))
        u[ell] = argp[ell] + nu
    return (t, a, e, i, np.mod(raan, TWO_PI), np.mod(argp, TWO_PI), np.mod(u, TWO_PI))


def _unwrapped_delta(x0, x1, rate0, rate1, duration):
    """x1 - x0 plus the whole turns that bring it closest to the mean-rate estimate."""
    expected = 0.5 * (rate0 + rate1) * duration
    d = x1 - x0
    return d + TWO_PI * np.round((expected - d) / TWO_PI)


def _table(plan):
    segs = segments(plan)
    t0 = np.array([s.t_start_s for s in segs])
    start = np.array([_elements(s.start)[1:] for s in segs], dtype=float)  # a e i raan argp u
    arc = np.array([s.is_arc for s in segs])
    end = np.array(
        [_elements(s.end)[1:] if s.is_arc else _elements(s.start)[1:] for s in segs], dtype=float
    )
    t1 = np.array([s.end.t_s if s.is_arc else s.t_start_s for s in segs])
    # unwrap RAAN and u over each arc
    if np.any(arc):
        r0 = secular_rates(start[arc, 0], start[arc, 1], start[arc, 2])
        r1 = secular_rates(end[arc, 0], end[arc, 1], end[arc, 2])
        dur = t1[arc] - t0[arc]
        e_raan = _unwrapped_delta(
            start[arc, 3], end[arc, 3], np.asarray(r0.raan), np.asarray(r1.raan), dur
        )
        e_u = _unwrapped_delta(
            start[arc, 5],
            end[arc, 5],
            np.asarray(r0.argp) + np.asarray(r0.mean_anomaly),
            np.asarray(r1.argp) + np.asarray(r1.mean_anomaly),
            dur,
        )
        end[arc, 3] = start[arc, 3] + e_raan
        end[arc, 5] = start[arc, 5] + e_u
        end[arc, 4] = start[arc, 4] + np.asarray(  # argp difference: the short way round
            np.pi - np.mod(np.pi - (end[arc, 4] - start[arc, 4]), TWO_PI)
        )
    return t0, t1, arc, start, end


def elements_at(plan, t, side: str = "right") -> MeanElements:
    """The tug's mean elements at times ``t`` [s from the epoch] (any array shape).

    At an impulsive burn's time ``side="right"`` (default) gives the orbit just after the
    burn, ``side="left"`` the orbit just before it. Times before 0 propagate the drop-off
    orbit backwards; times after the last event keep coasting in the final orbit.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    t_in = np.asarray(t, dtype=float)
    shape = t_in.shape
    t = t_in.ravel()
    t0, t1, arc, start, end = _table(plan)
    idx = np.clip(np.searchsorted(t0, t, side=side) - 1, 0, t0.size - 1)
    st = start[idx]
    out = np.empty((t.size, 6))
    coast = ~arc[idx]
    if np.any(coast):
        c = _coast(t[coast], t0[idx][coast], *(st[coast, k] for k in range(6)))
        out[coast] = np.stack(c[1:], -1)
    if np.any(~coast):
        sel = ~coast
        j = idx[sel]
        span = t1[j] - t0[j]
        s = np.clip((t[sel] - t0[j]) / np.where(span > 0, span, 1.0), 0.0, 1.0)[:, None]
        val = start[j] + s * (end[j] - start[j])
        val[:, 3:] = np.mod(val[:, 3:], TWO_PI)
        out[sel] = val
    return MeanElements(t_in, *(out[:, k].reshape(shape) for k in range(6)))


def event_times(plan) -> np.ndarray:
    """Sorted unique times [s] where the orbit changes abruptly: impulsive burns and the ends
    of low-thrust arcs (both ends)."""
    times = []
    for _leg, b in burns_in_order(plan):
        if b.orbit_after is None:
            continue
        times.append(float(b.t_s))
        if is_arc(b):
            times.append(float(b.orbit_after.t_s))
    return np.unique(np.array(times, dtype=float))


def mission_end_s(plan) -> float:
    """The end of the plan [s]: the latest of its duration, leg ends and arc ends; at least one
    drop-off revolution when the plan is empty or instantaneous."""
    end = float(plan.duration_s or 0.0)
    for leg in plan.legs:
        end = max(end, float(leg.t_end_s))
        for b in leg.burns:
            end = max(end, float(b.t_s) + (float(b.duration_s) if b.low_thrust else 0.0))
    if end <= 0.0:
        end = float(period(plan.scenario.dropoff.a_km))
    return end


def sample(
    plan, step_s: float | None = None, n: int | None = None, t_end_s: float | None = None
) -> MeanElements:
    """Sample the mean-element history from 0 to the mission end.

    Give either ``step_s`` (a fixed step [s]) or ``n`` (number of evenly spaced samples;
    default :data:`DEFAULT_SAMPLES`). Every event time is added twice, first with the orbit
    just before the event and then just after it, so plotted steps are sharp; ``t`` is
    therefore non-decreasing with repeated values at events.
    """
    if step_s is not None and n is not None:
        raise ValueError("give step_s or n, not both")
    t_end = mission_end_s(plan) if t_end_s is None else float(t_end_s)
    if step_s is not None:
        if not step_s > 0:
            raise ValueError(f"step_s must be positive, got {step_s!r}")
        grid = np.arange(0.0, t_end, float(step_s))
        grid = np.append(grid, t_end)
    else:
        count = DEFAULT_SAMPLES if n is None else int(n)
        if count < 2:
            raise ValueError(f"n must be at least 2, got {count}")
        grid = np.linspace(0.0, t_end, count)
    ev = event_times(plan)
    # an event at t = 0 (a burn at the epoch) is sampled too, so the drop-off orbit shows
    ev = ev[(ev >= 0.0) & (ev <= t_end)]
    right = elements_at(plan, np.concatenate([grid, ev]), side="right")
    left = elements_at(plan, ev, side="left")
    t_all = np.concatenate([right.t, left.t])
    key = np.concatenate([np.ones(right.t.size), np.zeros(left.t.size)])
    order = np.lexsort((key, t_all))
    fields = [np.concatenate([r, lft])[order] for r, lft in zip(right, left)]
    return MeanElements(*fields)


def states(plan, t, side: str = "right", mu=MU_EARTH_KM3_S2):
    """Position [km] and velocity [km/s], shape (..., 3), of the planned mean orbit at ``t``.

    Frame: otvplan's inertial frame, the mean equator and equinox of the scenario epoch
    (see the module docstring; :mod:`otvplan.reporting.exports` rotates to EME2000).
    """
    el = elements_at(plan, t, side=side)
    nu = el.u - el.argp
    return coe_to_rv(el.a, el.e, el.i, el.raan, el.argp, nu, mu=mu)


def ephemeris_states(plan, t, side: str = "right", mu=MU_EARTH_KM3_S2):
    """Position [km] and velocity [km/s] of the planned mean orbit at ``t``, the velocity being
    the time derivative of the position history (what an ephemeris needs: a reader that
    interpolates with positions *and* velocities, e.g. Hermite, then follows the same curve).

    :func:`states` gives the Keplerian velocity of the mean elements, which differs from the
    derivative of the positions by the secular J2 rates (~1e-3 of the orbital speed: 10 m/s in
    LEO) and, on a low-thrust arc, by the elements' linear interpolation. Here, on a coast,
    dr/dt = v_kep (dM/dt) / n + (dargp/dt) h x r + (dRAAN/dt) z x r (elliptic), or
    v_kep (du/dt) / (dnu/dt)_kep + (dRAAN/dt) z x r (near-circular, u advancing), with the
    rates of :func:`otvplan.core.orbits.secular_rates`; on an arc, a central difference of the
    interpolated positions within the arc (1 s, or a quarter of a shorter arc).
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    t_in = np.asarray(t, dtype=float)
    shape = t_in.shape
    tt = t_in.ravel()
    el = elements_at(plan, tt, side=side)
    r, v_kep = coe_to_rv(el.a, el.e, el.i, el.raan, el.argp, el.u - el.argp, mu=mu)
    r, v_kep = np.asarray(r, float).reshape(-1, 3), np.asarray(v_kep, float).reshape(-1, 3)
    rates = secular_rates(el.a, el.e, el.i)
    raan_dot = np.asarray(rates.raan, float)[:, None]
    argp_dot = np.asarray(rates.argp, float)[:, None]
    m_dot = np.asarray(rates.mean_anomaly, float)[:, None]
    a, e = el.a[:, None], el.e[:, None]
    h = np.cross(r, v_kep)
    h_hat = h / np.linalg.norm(h, axis=-1, keepdims=True)
    z_cross_r = np.stack([-r[:, 1], r[:, 0], np.zeros(len(r))], axis=-1)
    n = np.sqrt(mu / a**3)
    nu_dot_kep = np.linalg.norm(h, axis=-1, keepdims=True) / np.sum(r * r, -1, keepdims=True)
    circ = e < NEAR_CIRCULAR_E
    v = np.where(
        circ,
        v_kep * ((argp_dot + m_dot) / nu_dot_kep) + raan_dot * z_cross_r,
        v_kep * (m_dot / n) + argp_dot * np.cross(h_hat, r) + raan_dot * z_cross_r,
    )
    t0, t1, arc, _start, _end = _table(plan)
    idx = np.clip(np.searchsorted(t0, tt, side=side) - 1, 0, t0.size - 1)
    on_arc = arc[idx] & (t1[idx] > t0[idx])
    if np.any(on_arc):
        j = idx[on_arc]
        lo, hi = t0[j], t1[j]
        step = np.minimum(1.0, 0.25 * (hi - lo))
        ta = np.clip(tt[on_arc] - step, lo, hi)
        tb = np.clip(tt[on_arc] + step, lo, hi)
        # evaluate inside the arc: the left side at its end, the right side at its start
        ra = states(plan, ta, side="right", mu=mu)[0]
        rb = states(plan, tb, side="left", mu=mu)[0]
        v[on_arc] = (rb - ra) / (tb - ta)[:, None]
    return r.reshape(shape + (3,)), v.reshape(shape + (3,))


def wrap_pi(x):
    """Wrap angles [rad] into (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(x, dtype=float), TWO_PI)


# --------------------------------------------------------------------------------------------
# Mass and delta-v bookkeeping along the plan (shared by reports, figures and exports)
# --------------------------------------------------------------------------------------------


class MassHistory(NamedTuple):
    """The tug's total mass and propellant on board versus time, as polyline vertices.

    ``t`` [s] is non-decreasing; an impulsive burn or a release appears as two vertices at the
    same time (before, after), a low-thrust arc as a straight line over the arc.
    ``releases`` lists ``(t_s, payload, mass_kg)``."""

    t: np.ndarray
    mass_kg: np.ndarray
    propellant_kg: np.ndarray
    releases: tuple


def mass_history(plan) -> MassHistory:
    """The mass polyline of the plan, from the burns' and deliveries' own bookkeeping.

    Legs are walked in order, each leg's burns then its release, so events at the same time keep
    the plan's order (arrival burn, then release, then the next leg's burn).
    """
    sc = plan.scenario
    m = float(sc.initial_mass_kg)
    prop = float(sc.tug.propellant_kg)
    t_pts, m_pts, p_pts = [0.0], [m], [prop]
    releases = []

    def add(t, mass, p):
        t_pts.append(float(t))
        m_pts.append(float(mass))
        p_pts.append(float(p))

    for leg in plan.legs:
        for b in leg.burns:
            t_b = float(b.t_s)
            add(t_b, m, prop)
            used = float(b.propellant_kg)
            m -= used
            prop -= used
            t_end = t_b + (float(b.duration_s) if (b.low_thrust and b.duration_s > 0) else 0.0)
            if is_arc(b):
                t_end = float(b.orbit_after.t_s)
            add(t_end, m, prop)
        d = leg.delivery
        if d is not None:
            add(d.t_s, m, prop)
            m -= float(d.mass_kg)
            add(d.t_s, m, prop)
            releases.append((float(d.t_s), d.payload, float(d.mass_kg)))
    add(max(mission_end_s(plan), t_pts[-1]), m, prop)
    return MassHistory(np.array(t_pts), np.array(m_pts), np.array(p_pts), tuple(releases))


class DeltaVBudget(NamedTuple):
    """Delta-v per leg and what is left [km/s].

    With payloads dropped along the way a tug has no single delta-v capacity; otvplan counts
    the margin as the delta-v that the usable propellant left at the end (above the reserve)
    would still give the tug at its final mass, with the engine of the last burn:
    ``margin = ve ln(m_final / (m_final - propellant_margin))`` (negative when the plan dips
    into the reserve). ``available = total + margin``."""

    legs: tuple  #: (leg index, label, delta-v km/s) for every leg
    total_kms: float
    margin_kms: float
    available_kms: float
    ve_kms: float
    engine: str
    propellant_margin_kg: float


def dv_budget(plan) -> DeltaVBudget:
    """The delta-v budget of ``plan`` (see :class:`DeltaVBudget`)."""
    from otvplan.constants import G0_KM_S2

    sc = plan.scenario
    engines = {e.name: e for e in sc.tug.engines}
    last = None
    for leg in plan.legs:
        for b in leg.burns:
            last = b
    eng = engines.get(last.engine) if last is not None else None
    if eng is None:
        eng = sc.tug.engines[0] if sc.tug.engines else None
    ve = float(eng.isp_s) * G0_KM_S2 if eng is not None else float("nan")
    m_end = float(plan.final_mass_kg)
    margin_kg = float(plan.propellant_remaining_kg - sc.tug.reserve_kg)
    if eng is not None and m_end - margin_kg > 0.0 and m_end > 0.0:
        margin = ve * float(np.log(m_end / (m_end - margin_kg)))
    else:
        margin = float("nan")
    legs = tuple((leg.index, leg.destination, float(leg.dv_kms)) for leg in plan.legs)
    total = float(plan.total_dv_kms)
    return DeltaVBudget(
        legs, total, margin, total + margin, ve, eng.name if eng is not None else "", margin_kg
    )


__all__ = [
    "NEAR_CIRCULAR_E",
    "DeltaVBudget",
    "MassHistory",
    "MeanElements",
    "Segment",
    "TargetAt",
    "burns_in_order",
    "dv_budget",
    "elements_at",
    "event_times",
    "initial_state",
    "is_arc",
    "mass_history",
    "mission_end_s",
    "sample",
    "segments",
    "states",
    "target_at",
    "wrap_pi",
]
