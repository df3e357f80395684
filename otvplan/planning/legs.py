"""Leg strategies: every way the tug can go from one orbit to the next, vectorised.

A *leg* takes the tug from the orbit it is in (the drop-off orbit or the last payload's) to the
next payload's target orbit. :func:`expand` evaluates, for many (tug state, target) pairs at
once, every strategy and returns each option's delta-v, timing and end state; the sequencer
calls it for whole layers of its search, and the plan builder calls it again for the one
chosen option of each leg and turns the same numbers into burns (:func:`burns_for`), so the
search and the plan can never disagree.

Strategies (one *base* option, then a *phasing* variant when the target has a slot):

- ``direct``: Hohmann (or apse-to-apse for an elliptic orbit) with the whole plane change -
  inclination and RAAN - split optimally between the two burns, placed on the planes' line of
  intersection (:func:`otvplan.core.maneuvers.hohmann_plane_change`).
- ``drift``: Hohmann to a drift orbit whose differential J2 nodal rate closes the RAAN gap, a
  coast there, then ``direct`` into the target plane (:func:`otvplan.core.maneuvers.cheapest_drift`
  picks the drift orbit for each drift time on a fixed grid).
- ``spiral`` / ``spiral-drift``: the same two for an electric engine, with Edelbaum's
  low-thrust delta-v and the thrust arc's duration from mass flow.
- Phasing variants for a slot: ``wait`` (coplanar legs: wait in the old orbit until the
  transfer arrives on the slot, Vallado Alg. 45) or a phasing orbit of k revolutions below or
  above the target (Vallado Alg. 44), for k on a geometric grid.

All angles are mean elements under first-order secular J2 (Vallado eq. 9-41): each orbit's
RAAN and argument of latitude advance at constant rates, so a RAAN gap between two planes is a
linear function of time. Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from otvplan.core import maneuvers as mnv
from otvplan.constants import (
    G0_KM_S2,
    J2_EARTH,
    MU_EARTH_KM3_S2,
    R_EARTH_KM,
    SECONDS_PER_DAY,
)
from otvplan.model import Scenario
from otvplan.core.orbits import (
    TWO_PI,
    _brouwer_secular,
    _inclination_for_node_rate,
    argument_of_latitude_rate,
    node_crossing,
    plane_angle,
    raan_rate,
    secular_rates,
)

#: Below this plane angle [rad] two orbits count as coplanar (burns may go anywhere).
COPLANAR_RAD = 1e-9
#: Eccentricity under which an orbit is treated as circular for burn placement.
CIRCULAR_E = 1e-3
#: Most drift durations the general search offers per leg (``solver.drift_grid`` is capped
#: here: each one multiplies the labels of a layer).
MAX_DRIFT_GRID = 64
#: Lowest perigee altitude [km] a few-revolution phasing orbit may dip to.
MIN_PHASING_PERIGEE_ALT_KM = 200.0

# Base strategy codes
DIRECT, DRIFT, SPIRAL, SPIRAL_DRIFT, STAY = 0, 1, 2, 3, 4
STRATEGY_NAMES = {DIRECT: "direct", DRIFT: "drift", SPIRAL: "spiral",
                  SPIRAL_DRIFT: "spiral-drift", STAY: "stay"}
# Phasing variant codes
NO_PHASING, WAIT_PHASE, PHASE_LOW, PHASE_HIGH, PHASE_LOW_M, PHASE_HIGH_M = 0, 1, 2, 3, 4, 5
PHASING_VARIANTS = (PHASE_LOW, PHASE_HIGH, PHASE_LOW_M, PHASE_HIGH_M)


@dataclass(frozen=True)
class Nodes:
    """The orbits of a sequencing problem as arrays: index 0 is the drop-off orbit,
    1..n the payload targets. ``raan0``/``slot0`` are NaN where free; angles at the epoch."""

    names: tuple[str, ...]
    a: np.ndarray
    e: np.ndarray
    i: np.ndarray
    argp: np.ndarray
    raan0: np.ndarray
    slot0: np.ndarray
    raan_rate: np.ndarray
    u_rate: np.ndarray
    mass: np.ndarray
    deadline: np.ndarray
    priority: np.ndarray
    raan_tol: np.ndarray
    slot_tol: np.ndarray

    @property
    def n(self) -> int:
        return len(self.names)


def nodes_from_scenario(sc: Scenario, mu=MU_EARTH_KM3_S2, r_eq=R_EARTH_KM, j2=J2_EARTH) -> Nodes:
    """Build the :class:`Nodes` table of a scenario (drop-off first, then payloads in order)."""
    specs = [sc.dropoff] + [p.target for p in sc.payloads]
    a = np.array([s.a_km for s in specs])
    e = np.array([s.e for s in specs])
    i = np.array([s.inc_rad for s in specs])
    nan = float("nan")
    raan0 = np.array([nan if s.raan_rad is None else s.raan_rad for s in specs])
    slot0 = np.array([nan if s.slot_rad is None else s.slot_rad for s in specs])
    slot0[0] = 0.0 if math.isnan(slot0[0]) else slot0[0]
    if math.isnan(raan0[0]):
        raan0[0] = 0.0
    return Nodes(
        names=tuple(["drop-off"] + [p.name for p in sc.payloads]),
        a=a, e=e, i=i,
        argp=np.array([s.argp_rad for s in specs]),
        raan0=raan0, slot0=slot0,
        raan_rate=np.asarray(raan_rate(a, e, i, mu, r_eq, j2), float),
        u_rate=np.asarray(argument_of_latitude_rate(a, e, i, mu, r_eq, j2), float),
        mass=np.array([0.0] + [p.mass_kg for p in sc.payloads]),
        deadline=np.array(
            [np.inf] + [np.inf if p.deliver_by_s is None else p.deliver_by_s for p in sc.payloads]
        ),
        priority=np.array([0] + [p.priority for p in sc.payloads]),
        raan_tol=np.array([s.tolerances.raan_rad for s in specs]),
        slot_tol=np.array([s.tolerances.slot_rad for s in specs]),
    )


@dataclass(frozen=True)
class EngineSpec:
    name: str
    isp_s: float
    thrust_n: float

    @property
    def ve_kms(self) -> float:
        return G0_KM_S2 * self.isp_s


@dataclass(frozen=True)
class LegContext:
    """Everything :func:`expand` needs besides the states: engines, grids and limits."""

    chemical: EngineSpec | None
    electric: EngineSpec | None
    drift_durations_s: np.ndarray
    phasing_revs: np.ndarray
    a_drift_min: float
    a_drift_max: float
    horizon_s: float
    mu: float = MU_EARTH_KM3_S2
    r_eq: float = R_EARTH_KM
    j2: float = J2_EARTH
    #: (radius [km], direction) of the drift orbit to use instead of searching for the
    #: cheapest one (a plan rebuilt from leg tables flies the orbit its table found)
    fixed_drift: tuple[float, float] | None = None


def context_from_scenario(sc: Scenario) -> LegContext:
    """Choose the engines and the drift/phasing grids for a scenario."""
    chem = [e for e in sc.tug.engines if e.kind == "chemical"]
    elec = [e for e in sc.tug.engines if e.kind == "electric"]
    best_chem = max(chem, key=lambda e: (e.isp_s, e.thrust_n)) if chem else None
    best_elec = max(elec, key=lambda e: (e.thrust_n / e.isp_s, e.isp_s)) if elec else None
    horizon = sc.constraints.max_duration_s
    if horizon is None:
        deadlines = [p.deliver_by_s for p in sc.payloads if p.deliver_by_s is not None]
        horizon = max(deadlines) if deadlines else 365.0 * SECONDS_PER_DAY
    horizon = min(float(horizon), 3.0 * 365.0 * SECONDS_PER_DAY)
    n_grid = min(max(1, sc.solver.drift_grid), MAX_DRIFT_GRID)
    lo = min(2.0 * SECONDS_PER_DAY, 0.5 * horizon)
    durations = np.geomspace(lo, max(horizon, lo * 1.0001), n_grid) if n_grid > 1 else np.array(
        [horizon]
    )
    k_max = sc.solver.max_phasing_revs
    if k_max <= 0:  # automatic: phasing may take up to the whole horizon
        specs = [p.target for p in sc.payloads] + [sc.dropoff]
        fastest = max(math.sqrt(MU_EARTH_KM3_S2 / s.a_km**3) for s in specs)
        k_max = int(min(5000, max(1, horizon * fastest / TWO_PI)))
    revs = np.unique(np.round(np.geomspace(1, max(1, k_max), 12)).astype(int))
    return LegContext(
        chemical=None if best_chem is None else EngineSpec(
            best_chem.name, best_chem.isp_s, best_chem.thrust_n),
        electric=None if best_elec is None else EngineSpec(
            best_elec.name, best_elec.isp_s, best_elec.thrust_n),
        drift_durations_s=durations,
        phasing_revs=revs.astype(float),
        a_drift_min=R_EARTH_KM + sc.constraints.min_drift_altitude_km,
        a_drift_max=R_EARTH_KM + sc.constraints.max_drift_altitude_km,
        horizon_s=horizon,
    )


# --------------------------------------------------------------------------------------------
# Building blocks (vectorised over pairs)
# --------------------------------------------------------------------------------------------


def _direct(t0, aA, eA, iA, argpA, raanA, uA, rateA, udotA, aB, eB, iB, raanB0, rateB, mu,
            raan_free):
    """Direct two-burn transfer from state A at t0 into B's plane (see module docstring).

    Returns a dict of arrays: burn times tb1, tb2, magnitudes dv1, dv2, plane rotations th1,
    th2, speeds, arrival argument of latitude and RAAN, and the argument of latitude of burn 1.
    Rows that this model cannot fly get dv1 = dv2 = inf (see :func:`_direct_via`).

    An elliptic orbit is left at one of its apsides and an elliptic target joined at one of
    its apsides. The first guess - depart at the apoapsis unless the target is lower, arrive
    at the target's apsis nearer the departure radius - is not always the cheaper one: from
    600 km circular to e = 0.9 (100.9 x 116,706 km), raising the apogee first and lowering the
    perigee there costs 2.860 km/s, joining at the nearer perigee 2.965 km/s. So the other
    apsis of each elliptic orbit is tried too and the cheapest kept (ties keep the guess).
    """
    args = (t0, aA, eA, iA, argpA, raanA, uA, rateA, udotA, aB, eB, iB, raanB0, rateB, mu,
            raan_free)
    guess_dep = aB >= aA
    best = _direct_via(*args, guess_dep, None)
    flips_dep = bool(np.any(eA >= CIRCULAR_E))
    flips_arr = bool(np.any(eB >= CIRCULAR_E))
    if not (flips_dep or flips_arr):
        return best
    total = best["dv1"] + best["dv2"]
    for dep in ((guess_dep, ~guess_dep) if flips_dep else (guess_dep,)):
        for arr in ((True, False) if flips_arr else (None,)):
            alt = _direct_via(*args, dep, arr)
            alt_total = alt["dv1"] + alt["dv2"]
            better = alt_total < total * (1.0 - 1e-9)
            if np.any(better):
                best = {key: np.where(better, alt[key], best[key]) for key in best}
                total = np.where(better, alt_total, total)
    return best


def _direct_via(t0, aA, eA, iA, argpA, raanA, uA, rateA, udotA, aB, eB, iB, raanB0, rateB, mu,
                raan_free, dep_apo, arr_apo):
    """:func:`_direct` departing an elliptic A at its apoapsis where ``dep_apo`` (else its
    periapsis) and arriving at an elliptic B's apoapsis where ``arr_apo`` (else periapsis;
    None: the apsis nearer the departure radius). Circular orbits ignore these."""
    circular = eA < CIRCULAR_E
    dep_apo = np.asarray(dep_apo, bool)

    def arrival_radius(r_dep):
        rp_B, ra_B = aB * (1.0 - eB), aB * (1.0 + eB)
        at_ra = (np.abs(ra_B - r_dep) < np.abs(rp_B - r_dep)) if arr_apo is None else arr_apo
        return np.where(eB < CIRCULAR_E, aB, np.where(at_ra, ra_B, rp_B))

    # The transfer orbit's node regresses at its own rate while the target's moves at rateB:
    # aim burn 1 at the target plane shifted by the difference over the transfer time.
    r_dep_est = np.where(circular, aA, np.where(dep_apo, aA * (1 + eA), aA * (1 - eA)))
    # The transfer arrives at B's apsis (B's radius if circular), as chosen below, not at
    # radius aB; equal radii mean one burn and no coast (tof 0), so no lead (else two
    # identical elliptic orbits would be aimed apart by the lead).
    r_arr_est = arrival_radius(r_dep_est)
    a_t_est = 0.5 * (r_dep_est + r_arr_est)
    e_t_est = np.abs(r_arr_est - r_dep_est) / (r_arr_est + r_dep_est)
    tof_est = np.where(np.abs(r_arr_est - r_dep_est) < 1e-9, 0.0,
                       np.pi * np.sqrt(a_t_est**3 / mu))
    rate_t = np.asarray(raan_rate(a_t_est, e_t_est, 0.5 * (iA + iB), mu), float)
    lead = (rateB - rate_t) * tof_est
    # First guess of the burn time: now; refine as the planes drift during the wait.
    def raan_gap(tb):
        r_a = raanA + rateA * (tb - t0)
        return r_a, np.where(raan_free, 0.0, raanB0 + rateB * tb + lead - r_a)

    tb = t0.copy()
    # Rows whose gap moves during a wait (< half a revolution) need the burn time iterated;
    # for planes turning together (e.g. sun-synchronous) one evaluation is exact.
    moving = np.abs(np.where(raan_free, 0.0, rateB - rateA)) * (np.pi / udotA) > 1e-13
    for it in range(3):
        rows = slice(None) if it == 0 else np.nonzero(moving)[0]
        if it and rows.size == 0:
            break
        _, d_raan = raan_gap(tb)
        theta, u1, _u2 = _geometry(_sub(iA, rows), _sub(iB, rows), _sub(d_raan, rows))
        coplanar = theta < COPLANAR_RAD
        # circular: the first of the two line crossings; elliptic: the apoapsis or periapsis
        wait_c = np.where(coplanar, 0.0, np.mod(u1 - _sub(uA, rows), np.pi) / _sub(udotA, rows))
        tb_new = _sub(t0, rows) + np.where(_sub(circular, rows), wait_c, 0.0)
        tb = tb_new if it == 0 else _put(tb, rows, tb_new)
    # Elliptic departure: burn at the chosen apsis.
    r_apo, r_peri = aA * (1.0 + eA), aA * (1.0 - eA)
    at_apo = dep_apo
    u_aps = np.where(at_apo, argpA + np.pi, argpA)
    wait_e = np.mod(u_aps - uA, TWO_PI) / udotA
    tb = np.where(circular, tb, t0 + wait_e)
    u_b = np.mod(uA + udotA * (tb - t0), TWO_PI)
    r_dep = np.where(circular, aA, np.where(at_apo, r_apo, r_peri))
    rA, d_raan = raan_gap(tb)
    theta, u1, u2 = _geometry(iA, iB, d_raan)
    coplanar = theta < COPLANAR_RAD
    # Arrival radius: circular target at its radius; elliptic target at the chosen apsis.
    r_arr = arrival_radius(r_dep)
    same = np.abs(r_arr - r_dep) < 1e-9
    split = _split_unique(r_dep, np.where(same, r_dep, r_arr), theta, aA, aB, mu)
    dv1 = np.asarray(split.dv1, float)
    dv2 = np.asarray(split.dv2, float)
    tof = np.asarray(split.tof, float)
    th1 = np.asarray(split.theta1, float)
    th2 = np.asarray(split.theta2, float)
    # An elliptic orbit is left at an apsis, where the burn turns the plane about the radius
    # vector: that reaches the target plane only if the apsis lies on the line where the two
    # planes meet (e.g. a GTO with its apogee on the node). Elsewhere it would leave the tug
    # in a third plane (a GTO with argp 120 deg "to GEO" ended at 26 deg, not 0): such rows
    # cannot be flown, so their delta-v is infinite and the search drops them. (Turning by
    # theta about an axis delta off the line misses the target plane by 2 theta sin(delta/2),
    # ~ theta |sin delta|; up to 1e-7 rad, far below any tolerance, is accepted.)
    off_node = ~circular & ~coplanar & (theta * np.abs(np.sin(u_b - u1)) > 1e-7)
    dv1 = np.where(off_node, np.inf, dv1)
    dv2 = np.where(off_node, np.inf, dv2)
    # Which end of the line of nodes the first burn is at decides the arrival point.
    end = np.round(np.mod(u_b - u1, TWO_PI) / np.pi) % 2
    u_arr = np.where(coplanar, u_b + np.pi, np.where(end == 0, u2 + np.pi, u2))
    u_arr = np.where(same, np.where(coplanar, u_b, np.where(end == 0, u2, u2 + np.pi)), u_arr)
    tb2 = tb + tof
    raan_arr = np.where(raan_free, rA + rate_t * tof, raanB0 + rateB * tb2)
    # speeds for burn vectors
    a_t = 0.5 * (r_dep + r_arr)
    v1 = np.sqrt(mu * (2.0 / r_dep - 1.0 / aA))
    vt1 = np.sqrt(mu * (2.0 / r_dep - 1.0 / a_t))
    vt2 = np.sqrt(mu * (2.0 / r_arr - 1.0 / a_t))
    v2 = np.sqrt(mu * (2.0 / r_arr - 1.0 / aB))
    vt2 = np.where(same, vt1, vt2)
    return {
        "tb1": tb, "tb2": tb2, "dv1": dv1, "dv2": dv2, "th1": th1, "th2": th2,
        "u_b1": u_b, "u_arr": np.mod(u_arr, TWO_PI), "raan_arr": raan_arr, "theta": theta,
        "v1": v1, "vt1": vt1, "vt2": vt2, "v2": v2, "r_dep": r_dep, "r_arr": r_arr,
        "a_t": a_t, "raan_b1": rA, "same": same, "rate_t": rate_t,
    }


def _tilt_at_point(i1, raan1, u1, i2):
    """Plane (RAAN, argument of latitude) after turning plane (i1, raan1) about the radius at
    argument of latitude u1 until its inclination is i2 (the point keeps its right ascension
    and declination; it stays on the same side, ascending or descending)."""
    sin_dec = np.sin(i1) * np.sin(u1)
    ra = raan1 + np.arctan2(np.cos(i1) * np.sin(u1), np.cos(u1))
    s2 = np.clip(sin_dec / np.where(np.sin(i2) != 0.0, np.sin(i2), 1e-300), -1.0, 1.0)
    u2 = np.arcsin(s2)
    u2 = np.where(np.cos(u1) < 0.0, np.pi - u2, u2)
    raan2 = ra - np.arctan2(np.cos(i2) * np.sin(u2), np.cos(u2))
    return np.mod(raan2, TWO_PI), np.mod(u2, TWO_PI)


def _scatter_1d(values, sel, rows, P, fill):
    out = np.full(P, fill, dtype=np.asarray(values).dtype if np.asarray(values).dtype != bool
                  else bool)
    out[rows] = np.asarray(values)[sel]
    return out


def _scatter(block, sel, rows, P):
    """Take rows ``sel`` of every array in a (nested) dict and place them at ``rows`` of
    length-P arrays (zeros elsewhere): the per-duration view of a flattened drift block."""
    out = {}
    for key, val in block.items():
        if isinstance(val, dict):
            out[key] = _scatter(val, sel, rows, P)
        else:
            arr = np.asarray(val)
            fill = False if arr.dtype == bool else 0.0
            out[key] = _scatter_1d(arr, sel, rows, P, fill)
    return out


def _sub(x, rows):
    """x[rows] for arrays; scalars pass through (broadcast later)."""
    x = np.asarray(x)
    return x if x.ndim == 0 else x[rows]


def _put(x, rows, values):
    x = np.array(x, dtype=float, copy=True)
    x[rows] = values
    return x


def _unique_rows(*cols):
    """``(index, inverse)`` of the distinct rows of equal-length 1-D float columns.

    Like ``np.unique(np.stack(cols, 1), axis=0, return_index=True, return_inverse=True)``
    but built from 1-D integer sorts (many times faster than sorting rows): each column is
    replaced by the id of its value, and ids are folded in pairwise.
    """
    # fold the columns in one at a time: (ids so far, next column) as one complex number,
    # whose sort is lexicographic, so each fold is a single 1-D sort
    ids = np.asarray(cols[0], float).ravel()
    for col in cols[1:]:
        pair = ids + 1j * np.asarray(col, float).ravel()
        _, ids = np.unique(pair, return_inverse=True)
        ids = ids.reshape(-1).astype(float)
    _, index, inverse = np.unique(ids, return_index=True, return_inverse=True)
    return index, inverse.reshape(-1)


def _geometry(iA, iB, d_raan):
    """Plane angle and line-of-nodes arguments of latitude for planes (iA, 0), (iB, d_raan).

    They depend on the RAAN difference only (arguments of latitude are measured from each
    plane's own node), so they are computed once per distinct (iA, iB, dRAAN) row; dRAAN is
    quantised to 2^-40 rad (~1e-12 rad) so that rows equal up to rounding share the work.
    """
    iA, iB, d = np.broadcast_arrays(np.asarray(iA, float), np.asarray(iB, float),
                                    np.round(np.mod(d_raan, TWO_PI) * 2.0**40) / 2.0**40)
    index, inverse = _unique_rows(iA.ravel(), iB.ravel(), d.ravel())
    uniq = np.stack([iA.ravel()[index], iB.ravel()[index], d.ravel()[index]], axis=-1)
    zero = np.zeros(uniq.shape[0])
    theta = np.asarray(plane_angle(uniq[:, 0], zero, uniq[:, 1], uniq[:, 2]), float)
    u1, u2 = node_crossing(uniq[:, 0], zero, uniq[:, 1], uniq[:, 2])
    shape = iA.shape
    return (theta[inverse].reshape(shape), np.asarray(u1, float)[inverse].reshape(shape),
            np.asarray(u2, float)[inverse].reshape(shape))


def _split_unique(r1, r2, theta, a1, a2, mu):
    """:func:`otvplan.core.maneuvers.hohmann_plane_change` evaluated once per distinct input row.

    Many tug states share a leg's geometry (every label of a search between the same two
    sun-synchronous orbits sees the same plane angle), so solving the split on the unique rows
    and scattering back saves most of the work without changing any result.
    """
    # Plane angles computed at different times for planes turning at the same rate differ
    # only by rounding; quantise them (2^-40 rad ~ 1e-12 rad, far below any tolerance) so that
    # such rows are recognised as one.
    theta_q = np.clip(np.round(np.asarray(theta, float) * 2.0**40) / 2.0**40, 0.0, np.pi)
    cols = [np.ravel(c) for c in np.broadcast_arrays(r1, r2, theta_q, a1, a2)]
    index, inverse = _unique_rows(*cols)
    uniq = np.stack([c[index] for c in cols], axis=-1)
    s = mnv.hohmann_plane_change(uniq[:, 0], uniq[:, 1], uniq[:, 2], mu, a1=uniq[:, 3],
                                 a2=uniq[:, 4])
    shape = np.shape(r1) if np.ndim(r1) else np.broadcast(r1, r2, theta).shape
    return mnv.SplitTransfer(*(np.asarray(x, float)[inverse].reshape(shape) for x in s))


def _drift_orbit_cache_key(j, k, gap):
    return (int(j), int(k), int(round(float(gap) / 1e-4)))


class DriftCache:
    """Drift-orbit choices per (from node, to node, RAAN gap to 1e-4 rad), over the grid.

    The drift radius is chosen by :func:`otvplan.core.maneuvers.cheapest_drift` for the rounded gap;
    the drift *time* is then solved exactly for the real gap, so the rounding only costs
    optimality (second order), never accuracy.
    """

    def __init__(self):
        self._store: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.misses = 0

    def lookup(self, nodes: Nodes, ctx: LegContext, j, k, gap):
        if ctx.fixed_drift is not None:
            shape = (len(j), ctx.drift_durations_s.size)
            return (np.full(shape, float(ctx.fixed_drift[0])),
                    np.full(shape, float(ctx.fixed_drift[1])))
        keys = [_drift_orbit_cache_key(a, b, g) for a, b, g in zip(j, k, gap)]
        missing = sorted({key for key in keys if key not in self._store})
        if missing:
            self.misses += len(missing)
            jj = np.array([m[0] for m in missing])
            kk = np.array([m[1] for m in missing])
            gg = np.array([m[2] for m in missing]) * 1e-4
            T = ctx.drift_durations_s[None, :]
            sol = mnv.cheapest_drift(
                gg[:, None], T, nodes.a[jj][:, None], nodes.i[jj][:, None],
                nodes.a[kk][:, None], nodes.i[kk][:, None],
                a_min=ctx.a_drift_min, a_max=ctx.a_drift_max, mu=ctx.mu, r_eq=ctx.r_eq,
                j2=ctx.j2,
            )
            a_d = np.asarray(sol.a, float)
            direction = np.asarray(sol.direction, float)
            ok = np.isfinite(np.asarray(sol.dv, float)) & (direction != 0)
            a_d = np.where(ok, a_d, np.nan)
            for n, key in enumerate(missing):
                self._store[key] = (a_d[n], direction[n])
        a = np.array([self._store[key][0] for key in keys]).reshape(len(keys), -1)
        d = np.array([self._store[key][1] for key in keys]).reshape(len(keys), -1)
        return a, d

    def solve(self, nodes: Nodes, ctx: LegContext, j, k, gap, durations, bracket=None,
              refine=24):
        """Drift orbits for one duration per row, for the gap rounded as in :meth:`lookup`
        (so a row equals the :meth:`lookup` of a grid holding only its duration). With
        ``bracket`` (lo, hi radii per row) the search is confined to it
        (:func:`otvplan.core.maneuvers.cheapest_drift`)."""
        j = np.asarray(j, int)
        k = np.asarray(k, int)
        gq = np.round(np.asarray(gap, float) / 1e-4) * 1e-4
        self.misses += j.size
        sol = mnv.cheapest_drift(
            gq, np.asarray(durations, float), nodes.a[j], nodes.i[j], nodes.a[k], nodes.i[k],
            a_min=ctx.a_drift_min, a_max=ctx.a_drift_max, mu=ctx.mu, r_eq=ctx.r_eq, j2=ctx.j2,
            bracket=bracket, refine=refine)
        a_d = np.asarray(sol.a, float)
        direction = np.asarray(sol.direction, float)
        ok = np.isfinite(np.asarray(sol.dv, float)) & (direction != 0)
        return np.where(ok, a_d, np.nan)[:, None], direction[:, None]


# --------------------------------------------------------------------------------------------
# Expansion
# --------------------------------------------------------------------------------------------


@dataclass
class Options:
    """Leg options for P (state, target) pairs, flattened: one row per option.

    ``pair`` indexes the input pairs; ``base``/``tidx``/``variant``/``krev`` identify the
    option so :func:`expand` can rebuild it; the rest are its outcome. Times in s from the
    epoch, masses in kg.
    """

    pair: np.ndarray
    base: np.ndarray
    tidx: np.ndarray
    variant: np.ndarray
    krev: np.ndarray
    dv: np.ndarray
    m_end: np.ndarray
    t_end: np.ndarray
    raan_end: np.ndarray
    u_end: np.ndarray
    detail: dict


def _wrap_pos(x):
    return np.mod(x, TWO_PI)


def expand(nodes: Nodes, ctx: LegContext, j, k, t0, m0, raan0, u0, cache: DriftCache,
           prune=True, base_min_dv=False, durations=None, drift_bracket=None,
           drift_orbits=None) -> Options:
    """Every leg option from the tug states (in node ``j``'s orbit) to node ``k``'s orbit.

    ``j, k, t0, m0, raan0, u0`` are arrays of P pairs: the tug's orbit, the target, the start
    time [s], the tug's total mass [kg] and its RAAN and argument of latitude at ``t0``.
    Returns the options, Pareto-pruned per pair on (end mass, delivery time) when ``prune``.
    With ``base_min_dv`` returns instead, per pair, the least delta-v of any base strategy
    before phasing (phasing only adds delta-v, so this bounds every option from below).
    ``durations`` (one per pair) replaces the context's drift grid for the chemical drift
    strategy: each pair's drift leg is evaluated at its own duration (option ``tidx`` 0), as
    the leg tables of :mod:`otvplan.planning.schedule` need; ``drift_bracket`` (lo, hi radii per pair)
    confines each drift-orbit search, ``drift_orbits`` (radius, direction per pair) replaces it.
    """
    j = np.asarray(j, int)
    k = np.asarray(k, int)
    t0 = np.asarray(t0, float)
    m0 = np.asarray(m0, float)
    raan0 = np.asarray(raan0, float)
    u0 = np.asarray(u0, float)
    P = j.size
    mu = ctx.mu
    aA, eA, iA, argpA = nodes.a[j], nodes.e[j], nodes.i[j], nodes.argp[j]
    rateA, udotA = nodes.raan_rate[j], nodes.u_rate[j]
    aB, eB, iB = nodes.a[k], nodes.e[k], nodes.i[k]
    raanB0, slotB0 = nodes.raan0[k], nodes.slot0[k]
    rateB, udotB = nodes.raan_rate[k], nodes.u_rate[k]
    raan_free = np.isnan(raanB0)
    raanB0z = np.where(raan_free, 0.0, raanB0)
    raan_tolB = nodes.raan_tol[k]

    bases = []  # list of dicts, each with arrays of shape (P,)

    def add_base(code, tidx, d, dv, t_arr, raan_arr, u_arr, m_arr, valid):
        bases.append({"code": code, "tidx": tidx, "d": d, "dv": dv, "t_arr": t_arr,
                      "raan_arr": raan_arr, "u_arr": u_arr, "m_arr": m_arr, "valid": valid})

    chem = ctx.chemical
    elec = ctx.electric
    # ---------------- chemical: direct
    if chem is not None:
        d = _direct(t0, aA, eA, iA, argpA, raan0, u0, rateA, udotA, aB, eB, iB, raanB0z, rateB,
                    mu, raan_free)
        dv = d["dv1"] + d["dv2"]
        m_arr = m0 * np.exp(-dv / chem.ve_kms)
        add_base(DIRECT, -1, d, dv, d["tb2"], d["raan_arr"], d["u_arr"], m_arr,
                 np.ones(P, bool))
        # ---------------- chemical: J2 drift (only where the target's RAAN matters)
        gap_now = _wrap_pos(raanB0z + rateB * t0 - raan0)
        need = (~raan_free) & (np.abs(np.asarray(plane_angle(iA, raan0, iB, raanB0z + rateB * t0)))
                                > COPLANAR_RAD) & (np.minimum(gap_now, TWO_PI - gap_now) > 1e-6)
        if np.any(need) and (ctx.drift_durations_s.size or durations is not None):
            idx = np.nonzero(need)[0]
            if durations is None:
                a_d_all, dir_all = cache.lookup(nodes, ctx, j[idx], k[idx], gap_now[idx])
                nT = ctx.drift_durations_s.size
                # every (pair, drift duration) at once: rows r of the flattened block
                r = np.repeat(idx, nT)
                tflat = np.tile(np.arange(nT), idx.size)
                T = ctx.drift_durations_s[tflat]
            else:  # one drift duration per pair, each its own drift orbit (option tidx 0)
                nT = 1
                r = idx
                tflat = np.zeros(idx.size, int)
                T = np.asarray(durations, float)[idx]
                if drift_orbits is not None:  # given: (radius, direction) per pair
                    a_d_all = np.asarray(drift_orbits[0], float)[idx][:, None]
                    dir_all = np.asarray(drift_orbits[1], float)[idx][:, None]
                else:
                    bracket = None if drift_bracket is None else (
                        np.asarray(drift_bracket[0], float)[idx],
                        np.asarray(drift_bracket[1], float)[idx])
                    a_d_all, dir_all = cache.solve(nodes, ctx, j[idx], k[idx], gap_now[idx],
                                                   T, bracket=bracket,
                                                   refine=24 if bracket is None else 16)
            a_d = a_d_all.ravel()
            direc = dir_all.ravel()
            ok = np.isfinite(a_d)
            a_dz = np.where(ok, a_d, aA[r])
            # Inclination of the drift orbit: closes the gap (seen from the drift start) in T.
            # Account for the first transfer's wait and flight with rate A.
            tof1 = np.pi * np.sqrt((0.5 * (aA[r] + a_dz)) ** 3 / mu)
            g_start = _wrap_pos(gap_now[r] + (rateB[r] - rateA[r]) * (
                tof1 + 0.5 * np.pi / udotA[r]))
            rel = np.where(direc > 0, g_start, g_start - TWO_PI) / T
            kk = 1.5 * ctx.j2 * (ctx.r_eq / a_dz) ** 2 * np.sqrt(mu / a_dz**3)
            cos_i = -(rateB[r] + rel) / kk
            ok &= np.abs(cos_i) <= 1.0
            i_d = np.arccos(np.clip(cos_i, -1.0, 1.0))
            rate_d = np.asarray(raan_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
            udot_d = np.asarray(
                argument_of_latitude_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
            n_r = r.size
            d1 = _direct(t0[r], aA[r], eA[r], iA[r], argpA[r], raan0[r], u0[r], rateA[r],
                         udotA[r], a_dz, np.zeros(n_r), i_d, np.zeros(n_r), rate_d, mu,
                         np.ones(n_r, bool))
            # Drift: gap at arrival in the drift orbit, closed at the differential rate.
            t_d0 = d1["tb2"]
            raan_d0 = d1["raan_arr"]
            gap_d0 = _wrap_pos(raanB0z[r] + rateB[r] * t_d0 - raan_d0)
            relrate = rate_d - rateB[r]
            with np.errstate(divide="ignore", invalid="ignore"):
                t_close = np.where(relrate > 0, gap_d0 / relrate, (gap_d0 - TWO_PI) / relrate)
            ok &= np.isfinite(t_close) & (t_close >= 0.0)
            t_close = np.where(ok, t_close, 0.0)
            t_end_drift = t_d0 + t_close
            u_end_drift = d1["u_arr"] + udot_d * (t_end_drift - t_d0)
            raan_end_drift = raan_d0 + rate_d * (t_end_drift - t_d0)
            d2 = _direct(t_end_drift, a_dz, np.zeros(n_r), i_d, np.zeros(n_r), raan_end_drift,
                         u_end_drift, rate_d, udot_d, aB[r], eB[r], iB[r], raanB0z[r],
                         rateB[r], mu, raan_free[r])
            dv = d1["dv1"] + d1["dv2"] + d2["dv1"] + d2["dv2"]
            dv_lb = None
            if base_min_dv:
                # the way out of the drift orbit costs at least the inclination-only transfer
                # (any RAAN residual left at the node crossing only adds to it)
                dv_lb = d1["dv1"] + d1["dv2"] + np.asarray(
                    mnv.transfer_dv(a_dz, i_d, aB[r], iB[r], mu), float)
            block = {"first": d1, "second": d2, "a_d": a_dz, "i_d": i_d, "t_d0": t_d0,
                     "t_d1": t_end_drift, "rate_d": rate_d, "direction": direc}
            for ti in range(nT):
                sel = np.nonzero((tflat == ti) & ok)[0]
                if sel.size == 0:
                    continue
                rows = r[sel]
                dd = _scatter(block, sel, rows, P)
                valid = np.zeros(P, bool)
                valid[rows] = True
                dv_p = _scatter_1d(dv, sel, rows, P, np.inf)
                m_arr = m0 * np.exp(-np.where(valid, dv_p, 0.0) / chem.ve_kms)
                d2p = dd["second"]
                add_base(DRIFT, ti, dd, dv_p, d2p["tb2"], d2p["raan_arr"], d2p["u_arr"],
                         m_arr, valid)
                if dv_lb is not None:
                    bases[-1]["dv_lb"] = _scatter_1d(dv_lb, sel, rows, P, np.inf)
    # ---------------- electric: Edelbaum spiral (plane angle at arrival, iterated)
    if elec is not None:
        T = np.zeros(P)
        d_raan = np.zeros(P)
        for _ in range(4):
            rA_end = raan0 + d_raan
            rB_end = np.where(raan_free, rA_end, raanB0z + rateB * (t0 + T))
            theta = np.asarray(plane_angle(iA, rA_end, iB, rB_end), float)
            dv = np.asarray(mnv.edelbaum(aA, aB, theta, mu), float)
            T, d_raan, d_u = spiral_motion(aA, iA, aB, iB, theta, dv, m0, elec, ctx)
        m_arr = m0 * np.exp(-dv / elec.ve_kms)
        u_arr = np.mod(u0 + d_u, TWO_PI)
        dd = {"dv": dv, "T": T, "theta": theta, "raan_end": rB_end}
        add_base(SPIRAL, -1, dd, dv, t0 + T, rB_end, u_arr, m_arr, np.ones(P, bool))
        gap_now = _wrap_pos(raanB0z + rateB * t0 - raan0)
        need = (~raan_free) & (np.minimum(gap_now, TWO_PI - gap_now) > 1e-6)
        if np.any(need) and ctx.drift_durations_s.size:
            idx = np.nonzero(need)[0]
            a_d_all, dir_all = cache.lookup(nodes, ctx, j[idx], k[idx], gap_now[idx])
            for ti in range(ctx.drift_durations_s.size):
                a_d = np.full(P, np.nan)
                direc = np.zeros(P)
                a_d[idx] = a_d_all[:, ti]
                direc[idx] = dir_all[:, ti]
                ok = need & np.isfinite(a_d)
                if not np.any(ok):
                    continue
                a_dz = np.where(ok, a_d, aA)
                Tg = ctx.drift_durations_s[ti]
                rel = np.where(direc > 0, gap_now, gap_now - TWO_PI) / Tg
                kk = 1.5 * ctx.j2 * (ctx.r_eq / a_dz) ** 2 * np.sqrt(mu / a_dz**3)
                cos_i = -(rateB + rel) / kk
                ok &= np.abs(cos_i) <= 1.0
                i_d = np.arccos(np.clip(cos_i, -1.0, 1.0))
                rate_d = np.asarray(raan_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
                th1 = np.abs(i_d - iA)
                dv1 = np.asarray(mnv.edelbaum(aA, a_dz, th1, mu), float)
                T1, dO1, du1 = spiral_motion(aA, iA, a_dz, i_d, th1, dv1, m0, elec, ctx)
                m1 = m0 * np.exp(-dv1 / elec.ve_kms)
                th2 = np.abs(iB - i_d)
                dv2 = np.asarray(mnv.edelbaum(a_dz, aB, th2, mu), float)
                T2, dO2, du2 = spiral_motion(a_dz, i_d, aB, iB, th2, dv2, m1, elec, ctx)
                # What is left of the gap after both spirals (each turns the tug's node by its
                # own integrated J2 regression while the target's turns at rateB) is closed by
                # the drift at the differential rate.
                g = np.where(direc > 0, gap_now, gap_now - TWO_PI)
                g_left = g - (dO1 - rateB * T1) - (dO2 - rateB * T2)
                relrate = rate_d - rateB
                with np.errstate(divide="ignore", invalid="ignore"):
                    Td = g_left / relrate
                ok &= np.isfinite(Td) & (Td >= 0.0)
                Td = np.where(ok, Td, 0.0)
                dv = dv1 + dv2
                m_arr = m1 * np.exp(-dv2 / elec.ve_kms)
                t_arr = t0 + T1 + Td + T2
                udot_d = np.asarray(
                    argument_of_latitude_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
                u_arr = np.mod(u0 + du1 + udot_d * Td + du2, TWO_PI)
                dd = {"dv1": dv1, "dv2": dv2, "T1": T1, "Td": Td, "T2": T2, "a_d": a_dz,
                      "i_d": i_d, "raan_d": raan0 + dO1, "u_d": u0 + du1}
                add_base(SPIRAL_DRIFT, ti, dd, np.where(ok, dv, np.inf), t_arr,
                         raanB0z + rateB * t_arr, u_arr, m_arr, ok)

    if base_min_dv:
        best = np.full(P, np.inf)
        for b in bases:
            best = np.minimum(best, np.where(b["valid"], b.get("dv_lb", b["dv"]), np.inf))
        return best

    # ---------------- phasing variants
    rows = []
    has_slot = ~np.isnan(slotB0)
    slotB0z = np.where(has_slot, slotB0, 0.0)
    nB = udotB  # J2 rate of the argument of latitude in the target orbit
    revs = ctx.phasing_revs
    eng_for = {DIRECT: chem, DRIFT: chem, SPIRAL: elec, SPIRAL_DRIFT: elec}
    for b in bases:
        eng = eng_for[b["code"]]
        valid = b["valid"] & np.isfinite(b["dv"])
        # variant 0: no phasing (targets without a slot, or already on the slot)
        dphi = _wrap_pos(slotB0z + udotB * b["t_arr"] - b["u_arr"])
        on_slot = np.minimum(dphi, TWO_PI - dphi) <= 0.25 * nodes.slot_tol[k]
        ok0 = valid & (~has_slot | on_slot)
        rows.append(_row(b, NO_PHASING, 0.0, ok0, b["dv"], b["m_arr"], b["t_arr"],
                         b["raan_arr"], b["u_arr"]))
        if not np.any(has_slot & valid):
            continue
        # variant 1: wait before a coplanar direct transfer so that it arrives on the slot
        if b["code"] == DIRECT:
            d = b["d"]
            cop = d["theta"] < COPLANAR_RAD
            ok1 = valid & has_slot & cop & (eA < CIRCULAR_E) & (np.abs(udotA - udotB) > 1e-12)
            if np.any(ok1):
                tof = d["tb2"] - d["tb1"]
                # slot minus arrival point, as a function of the wait w:
                # phase(w) = slot(t0 + w + tof) - (u0 + udotA w + pi) ; zero it.
                ph0 = _wrap_pos(slotB0z + udotB * (t0 + tof) - (u0 + np.pi))
                rel = udotA - udotB
                # An equatorial orbit's node is a convention (raan: 0 deg): its place is the
                # longitude u + RAAN (u - RAAN at 180 deg), and both orbits' conventional
                # nodes turn at their own J2 rates, so match longitudes instead.
                s_eq = np.where(np.abs(np.sin(iB)) < 1e-12, np.sign(np.cos(iB)), 0.0)
                ph0 = _wrap_pos(ph0 + s_eq * (raanB0z + rateB * (t0 + tof)
                                              - (raan0 + d["rate_t"] * tof)))
                rel = rel + s_eq * (rateA - rateB)
                w = np.where(rel > 0, ph0 / np.where(rel > 0, rel, 1.0),
                             (ph0 - TWO_PI) / np.where(rel < 0, rel, -1.0))
                w = np.where(ok1, w, 0.0)
                t_arr = t0 + w + tof
                u_arr = _wrap_pos(slotB0z + udotB * t_arr)
                # While it waits the tug's node turns at its own orbit's rate: the arrival
                # RAAN moves on by rateA w (it was booked as if there were no wait). For a
                # fixed-RAAN target the planes part by (rateA - rateB) w, which must stay
                # within half the RAAN tolerance (as a phasing orbit's residual); an
                # equatorial target's RAAN is the target's own convention.
                raan_w = np.where(s_eq != 0.0, raanB0z + rateB * t_arr,
                                  b["raan_arr"] + rateA * w)
                resid = np.mod(raan_w - (raanB0z + rateB * t_arr) + np.pi, TWO_PI) - np.pi
                ok1 = ok1 & (raan_free | (np.abs(resid) <= 0.5 * raan_tolB))
                bw = dict(b)
                bw["d"] = dict(d, wait=w)
                rows.append(_row(bw, WAIT_PHASE, 0.0, ok1, b["dv"], b["m_arr"], t_arr,
                                 raan_w, u_arr))
        # variants 2-5: phasing orbit below (catch up) / above (fall back) for k revolutions,
        # in the target's plane (2, 3) or with the inclination offset that keeps its node
        # moving at the target's rate (4, 5: burns at the equator, no RAAN residual).
        nkep = np.sqrt(mu / aB**3)
        v_c = np.sqrt(mu / aB)
        if eng is None:
            continue
        # Every number of revolutions at once: arrays of shape (R, P), R = len(revs).
        K = revs[:, None]
        variants = {}
        for var, lead in ((PHASE_LOW, -dphi), (PHASE_HIGH, TWO_PI - dphi),
                          (PHASE_LOW_M, -dphi), (PHASE_HIGH_M, TWO_PI - dphi)):
            matched = var in (PHASE_LOW_M, PHASE_HIGH_M)
            if matched and eng is elec:
                continue
            gain = -lead  # how far the tug must move ahead of (or fall behind) the slot
            # First guess: Keplerian phasing orbit from the J2-scaled period (Vallado Alg.
            # 44); then solve a_ph so that after exactly k anomalistic revolutions the tug,
            # back at its apsis, has moved `gain` relative to the slot under the planning
            # model's rates (mean anomaly, argument of perigee and the slot's own rate).
            tof0 = (TWO_PI * K - gain) / nB
            okv = valid & has_slot & ~on_slot & (tof0 > 0) & (eB < CIRCULAR_E)
            n_ph = TWO_PI * K / np.where(tof0 > 0, tof0, 1.0) * (nkep / nB)
            a_ph = np.where(okv, (mu / n_ph**2) ** (1.0 / 3.0), aB)

            # The solve runs on the candidates still open (a small part of R x P), gathered.
            rr, pp = np.nonzero(okv)
            aBc, iBc = np.broadcast_to(aB, (P,))[pp], np.broadcast_to(iB, (P,))[pp]
            rateBc = np.broadcast_to(rateB, (P,))[pp]
            udotBc = np.broadcast_to(udotB, (P,))[pp]
            Kc, gainc = revs[rr], np.broadcast_to(gain, (P,))[pp]

            # The planning model's rate of the argument of latitude, dM/dt + dargp/dt
            # (orbits.secular_rates with J4 = 0), with its cos i polynomials taken out of the
            # loop where i is fixed: n + t1 (P1(c) + b Q1(c)) + t2 (P2(c) + b Q2(c)).
            cc = np.cos(iBc)

            def polys(c):
                c2 = c * c
                return (-0.5 * (1.0 - 5.0 * c2), 0.5 * (3.0 * c2 - 1.0),
                        0.0625 * (7.0 - 114.0 * c2 + 395.0 * c2 * c2),
                        0.0625 * (13.0 - 78.0 * c2 + 137.0 * c2 * c2))

            fixed = polys(cc)
            c_last = cc.copy()  # matched variants: last inclination found, a warm start

            def phase_error(a_try, sel=slice(None), matched=matched, final=False):
                aBs = aBc[sel]
                e_try = np.minimum(np.abs(aBs - a_try) / a_try, 0.99)
                if matched:  # the inclination whose node turns with the target's
                    i_try = _inclination_for_node_rate(
                        a_try, e_try, rateBc[sel], mu, ctx.r_eq, ctx.j2,
                        guess=np.arccos(c_last[sel]), iterations=8 if final else 2)
                    i_try = np.where(np.isfinite(i_try), i_try, iBc[sel])
                    c_try = np.cos(i_try)
                    c_last[sel] = c_try
                    p1, q1, p2, q2 = polys(c_try)
                else:
                    i_try = iBc[sel]
                    p1, q1, p2, q2 = (x[sel] for x in fixed)
                one_e2 = 1.0 - e_try * e_try
                b_e = np.sqrt(one_e2)
                n = np.sqrt(mu / a_try**3)
                inv_p2 = (ctx.r_eq / (a_try * one_e2)) ** 2
                t1 = 1.5 * ctx.j2 * inv_p2 * n
                t2 = 0.5 * t1 * ctx.j2 * inv_p2
                m_dot = n + t1 * b_e * q1 + t2 * b_e * q2
                udot = m_dot + t1 * p1 + t2 * p2
                t_try = TWO_PI * Kc[sel] / m_dot
                err = (udot - udotBc[sel]) * t_try - gainc[sel]
                return err, t_try, e_try, i_try

            # Secant iterations on the elements not yet converged (most take three steps;
            # 1e-7 km in a is 1e-12 rad of phase per revolution, far below the slot check).
            ac = a_ph[rr, pp]
            a_prev = ac * (1.0 + 1e-7)
            err_prev = phase_error(a_prev)[0]
            act = np.arange(ac.size)
            for _ in range(6):
                a_act = ac[act]
                err = phase_error(a_act, act)[0]
                slope = (err - err_prev) / np.where(a_act != a_prev, a_act - a_prev, 1e-9)
                step = np.where(slope != 0.0, err / np.where(slope != 0.0, slope, 1.0), 0.0)
                step = np.clip(step, -0.05 * a_act, 0.05 * a_act)  # stay near the guess
                ac[act] = a_act - step
                going = np.abs(step) >= 1e-7
                act, a_prev, err_prev = act[going], a_act[going], err[going]
                if act.size == 0:
                    break
            err, tofc, ec, ic = phase_error(ac, final=True)
            a_ph = np.array(np.broadcast_to(aB, a_ph.shape), float)
            tof = np.array(np.broadcast_to(tof0, a_ph.shape), float)
            e_ph = np.zeros(a_ph.shape)
            i_ph = np.array(np.broadcast_to(iB, a_ph.shape), float)
            a_ph[rr, pp], tof[rr, pp], e_ph[rr, pp], i_ph[rr, pp] = ac, tofc, ec, ic
            conv = np.zeros(a_ph.shape, bool)
            conv[rr, pp] = np.abs(err) < 1e-9 * TWO_PI * np.maximum(1.0, Kc)
            okv &= conv
            r_other = 2.0 * a_ph - aB
            okv &= (r_other >= ctx.r_eq + MIN_PHASING_PERIGEE_ALT_KM) & (r_other > 0)
            v_ph = np.sqrt(np.maximum(mu * (2.0 / aB - 1.0 / a_ph), 0.0))
            if matched:
                okv &= np.isfinite(i_ph)
                dburn = np.asarray(mnv.combined_burn(v_c, v_ph, np.abs(i_ph - iB)), float)
                dvp = 2.0 * dburn
                wait = np.broadcast_to(np.mod(-b["u_arr"], np.pi) / nB, a_ph.shape)
                resid = np.zeros_like(a_ph)
            else:
                dvp = 2.0 * np.abs(v_ph - v_c)
                wait = np.zeros_like(a_ph)
                # The node drifts at the phasing orbit's own J2 rate: the plane comes
                # back off by this much, which must stay within the RAAN tolerance.
                rate_ph = _brouwer_secular(a_ph, e_ph, np.cos(iB), mu, ctx.r_eq, ctx.j2)[0]
                resid = (rate_ph - rateB) * tof
                okv &= raan_free | (np.abs(resid) <= 0.5 * raan_tolB)
            dv = b["dv"] + dvp
            m_arr = b["m_arr"] * np.exp(-dvp / eng.ve_kms)
            t_arr = b["t_arr"] + wait + tof
            if eng is elec:
                t_arr = t_arr + _low_thrust_time(dvp, b["m_arr"], elec)
            u_arr = _wrap_pos(slotB0z + udotB * t_arr)
            raan_end = b["raan_arr"] + rateB * (t_arr - b["t_arr"]) + resid
            if matched:
                # The tug returns to its apsis, which apsidal motion has carried
                # argp_dot * tof past the node; tilting the plane back to the target's
                # inclination there moves the node and the argument of latitude a little
                # (spherical trigonometry on the fixed burn point).
                raan_dot, argp_dot, _ = _brouwer_secular(a_ph, e_ph, np.cos(i_ph), mu,
                                                         ctx.r_eq, ctx.j2)
                u_start = b["u_arr"] + udotB * wait
                u_ret = u_start + argp_dot * tof
                raan_ret = (b["raan_arr"] + rateB * (t_arr - tof - b["t_arr"])
                            + raan_dot * tof)
                raan_end, u_end = _tilt_at_point(i_ph, raan_ret, u_ret, iB)
                # Burn 2 turns the plane about that point, off the equator: by the angle
                # between the two planes, more than |i_ph - iB| (exact only on the equator;
                # booking that under-counted e.g. 5.9 m/s as 5.2 m/s after 13 deg of
                # apsidal motion).
                th2 = np.asarray(plane_angle(i_ph, raan_ret, iB, raan_end), float)
                dvp = dburn + np.asarray(mnv.combined_burn(v_ph, v_c, th2), float)
                dv = b["dv"] + dvp
                m_arr = b["m_arr"] * np.exp(-dvp / eng.ve_kms)
                d_raan = np.mod(raan_end - (b["raan_arr"] + rateB * (t_arr - b["t_arr"]))
                                + np.pi, TWO_PI) - np.pi
                d_u = np.mod(u_end - u_arr + np.pi, TWO_PI) - np.pi
                okv &= raan_free | (np.abs(d_raan) <= 0.5 * raan_tolB)
                okv &= np.abs(d_u) <= 0.5 * nodes.slot_tol[k]
                u_arr = u_end
            variants[var] = dict(okv=okv, dv=dv, m_arr=m_arr, t_arr=t_arr,
                                 raan_end=raan_end, u_arr=u_arr, a_ph=a_ph, dvp=dvp, tof=tof,
                                 v_ph=v_ph, i_ph=i_ph, wait=wait, e_ph=e_ph)
        v_c_row = np.broadcast_to(v_c, (P,))
        for r, kr in enumerate(revs):
            for var, x in variants.items():
                bp = dict(b)
                bp["d"] = dict(b["d"], a_ph=x["a_ph"][r], dvp=x["dvp"][r], tof_ph=x["tof"][r],
                               v_ph=x["v_ph"][r], v_c=v_c_row, i_ph=x["i_ph"][r],
                               wait_ph=x["wait"][r], e_ph=x["e_ph"][r])
                rows.append(_row(bp, var, kr, x["okv"][r], x["dv"][r], x["m_arr"][r],
                                 x["t_arr"][r], x["raan_end"][r], x["u_arr"][r]))

    opts = _concat(rows, P)
    if prune and opts.pair.size:
        opts = _prune(opts)
    return opts


# Gauss-Legendre nodes and weights on [0, 1] for integrating along a spiral.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


def spiral_motion(a0, i0, a1, i1, theta, dv, m0, eng: EngineSpec, ctx: LegContext):
    """Duration [s], node regression and argument-of-latitude advance [rad] of an Edelbaum
    spiral from circular (a0, i0) to (a1, i1) with total plane rotation ``theta``.

    Along Edelbaum's optimal transfer (Kechichian 1997, eqs. 16-17), with s the delta-v spent
    so far and tan b0 = sin(pi/2 theta) / (v0/v1 - cos(pi/2 theta)):
    v(s) = sqrt(v0^2 - 2 v0 s cos b0 + s^2) and the plane has turned by
    phi(s) = 2/pi [atan((s - v0 cos b0)/(v0 sin b0)) + pi/2 - b0]. The inclination is taken
    as i0 + (i1 - i0) phi/theta. With constant thrust F and mass flow, dt/ds = m0 e^(-s/ve)/F.
    The J2 secular rates (:func:`otvplan.core.orbits.secular_rates`) are integrated over s by
    16-point Gauss-Legendre quadrature; vectorised over all arguments.
    """
    mu = ctx.mu
    v0, v1 = np.sqrt(mu / a0), np.sqrt(mu / a1)
    half = 0.5 * np.pi * np.asarray(theta, float)
    b0 = np.arctan2(np.sin(half), v0 / v1 - np.cos(half))
    s = np.asarray(dv, float)[..., None] * _GL_X
    v0e, b0e = np.asarray(v0)[..., None], np.asarray(b0)[..., None]
    v = np.sqrt(np.maximum(v0e**2 - 2.0 * v0e * s * np.cos(b0e) + s * s, 1e-12))
    sb = np.sin(b0e)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(sb > 1e-12, (2.0 / np.pi) * (np.arctan((s - v0e * np.cos(b0e))
                                                              / (v0e * sb)) + 0.5 * np.pi
                                                    - b0e), 0.0)
        frac = np.where(np.asarray(theta)[..., None] > 1e-12,
                        phi / np.asarray(theta, float)[..., None], _GL_X)
    inc = np.asarray(i0)[..., None] + (np.asarray(i1) - np.asarray(i0))[..., None] * frac
    a = mu / (v * v)
    rates = secular_rates(a, 0.0, inc, mu, ctx.r_eq, ctx.j2)
    ve = eng.ve_kms
    dt_ds = np.asarray(m0, float)[..., None] * np.exp(-s / ve) / (eng.thrust_n / 1000.0)
    weight = np.asarray(dv, float)[..., None] * _GL_W * dt_ds
    T = _low_thrust_time(dv, m0, eng)
    d_raan = np.sum(weight * np.asarray(rates.raan), axis=-1)
    d_u = np.sum(weight * (np.asarray(rates.argp) + np.asarray(rates.mean_anomaly)), axis=-1)
    return T, d_raan, d_u


def _low_thrust_time(dv, m0, eng: EngineSpec):
    ve = eng.ve_kms
    return m0 * ve * 1000.0 / eng.thrust_n * -np.expm1(-np.asarray(dv) / ve)


def _row(b, variant, krev, ok, dv, m_end, t_end, raan_end, u_end):
    return {"b": b, "variant": variant, "krev": krev, "ok": ok, "dv": dv, "m_end": m_end,
            "t_end": t_end, "raan_end": raan_end, "u_end": u_end}


def _concat(rows, P) -> Options:
    pair, base, tidx, variant, krev, dv, m_end, t_end, raan_end, u_end, which = ([] for _ in
                                                                                range(11))
    for r_i, r in enumerate(rows):
        ok = np.asarray(r["ok"], bool) & np.isfinite(r["dv"]) & np.isfinite(r["t_end"])
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            continue
        pair.append(idx)
        base.append(np.full(idx.size, r["b"]["code"]))
        tidx.append(np.full(idx.size, r["b"]["tidx"]))
        variant.append(np.full(idx.size, r["variant"]))
        krev.append(np.full(idx.size, r["krev"], float))
        dv.append(np.asarray(r["dv"], float)[idx])
        m_end.append(np.asarray(r["m_end"], float)[idx])
        t_end.append(np.asarray(r["t_end"], float)[idx])
        raan_end.append(np.broadcast_to(np.asarray(r["raan_end"], float), (P,))[idx])
        u_end.append(np.broadcast_to(np.asarray(r["u_end"], float), (P,))[idx])
        which.append(np.full(idx.size, r_i))
    if not pair:
        e = np.zeros(0)
        ei = np.zeros(0, int)
        return Options(ei, ei, ei, ei, e, e, e, e, e, e, {"rows": rows, "which": ei})
    cat = np.concatenate
    return Options(cat(pair), cat(base), cat(tidx), cat(variant), cat(krev), cat(dv),
                   cat(m_end), cat(t_end), np.mod(cat(raan_end), TWO_PI), np.mod(cat(u_end),
                                                                                   TWO_PI),
                   {"rows": rows, "which": cat(which)})


def _prune(o: Options) -> Options:
    """Keep, per pair, the options not dominated in (higher end mass, earlier delivery)."""
    order = np.lexsort((-o.m_end, o.t_end, o.pair))
    pair = o.pair[order]
    m = o.m_end[order]
    # running max of m within each pair group, over increasing t
    start = np.r_[True, pair[1:] != pair[:-1]]
    grp = np.cumsum(start) - 1
    offset = grp * 1e9
    run = np.maximum.accumulate(m + offset) - offset
    prev = np.r_[-np.inf, run[:-1]]
    prev[start] = -np.inf
    keep = order[m > prev + 1e-9]
    keep = np.sort(keep)
    return _take(o, keep)


def _take(o: Options, idx) -> Options:
    return Options(o.pair[idx], o.base[idx], o.tidx[idx], o.variant[idx], o.krev[idx],
                   o.dv[idx], o.m_end[idx], o.t_end[idx], o.raan_end[idx], o.u_end[idx],
                   {"rows": o.detail["rows"], "which": o.detail["which"][idx]})


__all__ = ["DIRECT", "DRIFT", "SPIRAL", "SPIRAL_DRIFT", "DriftCache", "LegContext", "Nodes",
           "Options", "context_from_scenario", "expand", "nodes_from_scenario"]
