"""Verification: fly a plan's burns through a numerical propagator and check every delivery.

:func:`verify` starts the tug at the drop-off (the scenario's mean elements at the epoch,
turned into an osculating state by :func:`otvplan.flight.propagation.osculating_from_mean`), coasts
it under two-body + J2 (optionally J3/J4 and drag) between events, applies every burn of
every leg at its epoch - impulsive burns as the plan's T/N/W delta-v rotated into the inertial
frame at the *actual* state, low-thrust arcs as constant thrust with mass flow for the
planned duration under Edelbaum's yaw steering (:class:`otvplan.flight.propagation.ThrustArc`) -
and releases each payload at its delivery time. The payload's achieved mean elements are
the average over the orbit after release (:func:`otvplan.flight.propagation.mean_orbit`); they are
compared with the target :class:`otvplan.model.OrbitSpec` whose RAAN and slot are carried to
the delivery time at the planning model's secular J2 rates (:func:`otvplan.core.orbits.raan_rate`,
:func:`otvplan.core.orbits.argument_of_latitude_rate`). Each element has
its error, the scenario's tolerance and pass/fail; a free RAAN or slot is reported but not
checked. The plan's mass bookkeeping is checked as well.

The result is plain data (frozen dataclasses, :func:`otvplan.model.to_data` ready, defined
in :mod:`otvplan.flight.results` and re-exported here); the reporter prints
:attr:`Verification.rows`. :func:`verify` runs in steps: the event list (:func:`_events`), the
tug in flight (:class:`_Flight`: coast, thrust arc, impulsive burn, release) and the result
(:func:`_result`).
"""

from __future__ import annotations

import math
import time
from typing import Literal

import numpy as np

from otvplan.constants import EARTH, G0_KM_S2, G0_M_S2, MU_EARTH_KM3_S2
from otvplan.core.orbits import (
    TWO_PI,
    node_crossing,
    plane_angle,
    raan_rate,
    rv_to_coe,
    true_to_mean_anomaly,
    wrap_angle,
)
from otvplan.core.propulsion import mass_after
from otvplan.flight.propagation import (
    Backend,
    ForceModel,
    ThrustArc,
    edelbaum_initial_yaw,
    mean_orbit,
    osculating_from_mean,
    propagate,
    tnw_to_inertial,
)
from otvplan.flight.results import (
    EQUATORIAL_RAD,
    MASS_RTOL,
    BurnCheck,
    BurnExecution,
    DeliveryCheck,
    ElementCheck,
    MassCheck,
    Verification,
)
from otvplan.flight.trajectory import target_at
from otvplan.model import Burn, OrbitSpec, OrbitState, Plan
from otvplan.planning.legs import EngineSpec, spiral_motion

#: How a plan's burns are flown (see :func:`verify`): ``"guided"`` as operations fly them
#: (each burn at its planned place in the orbit nearest its planned epoch, its delta-v trimmed
#: to reach the planned mean orbit), ``"open-loop"`` exactly as written (planned epochs and
#: delta-v).
Execution = Literal["guided", "open-loop"]

#: Guided execution: a burn may fire within +- this fraction of the planned orbit's period
#: of its planned epoch (an eighth: +-45 deg of a circular orbit, +-12 min in LEO). Trimmed
#: burns arrive within a few degrees of their planned place (docs/verification.md), so a
#: burn whose place is farther from its epoch is planned inconsistently.
WINDOW_PERIODS = 0.125

#: Guided execution: a trim passes when its magnitude is at most
#: max(TRIM_FLOOR_KMS, TRIM_FRACTION x the planned delta-v): 0.5 m/s or 2 % of the burn.
TRIM_FLOOR_KMS = 0.5e-3
TRIM_FRACTION = 0.02

#: Guided execution: the trim iterates until the mean a after the burn is within
#: TRIM_TOL_KM (1 m) of the planned one and the mean i (when trimmed) within TRIM_TOL_RAD
#: (2e-4 deg), at most TRIM_MAX_ITER corrections.
TRIM_TOL_KM = 1e-3
TRIM_TOL_RAD = 3.5e-6
TRIM_MAX_ITER = 4

def _burn_check(leg: int, burn: Burn, t_s: float, achieved: OrbitState) -> BurnCheck:
    p = burn.orbit_after
    burn_time = burn.duration_s if burn.low_thrust else 0.0
    if p is None:
        return BurnCheck(leg, burn.label, t_s, t_s - burn.t_s - burn_time, burn.low_thrust,
                         achieved, None, None, None, None, None, None)
    if p.inc_rad < EQUATORIAL_RAD:
        raan_err = None
        u_err = float(wrap_angle(achieved.raan_rad + achieved.u_rad - p.raan_rad - p.u_rad))
    else:
        raan_err = float(wrap_angle(achieved.raan_rad - p.raan_rad))
        u_err = float(wrap_angle(achieved.u_rad - p.u_rad))
    return BurnCheck(
        leg, burn.label, t_s, t_s - burn.t_s - burn_time, burn.low_thrust, achieved, p,
        achieved.a_km - p.a_km, achieved.e - p.e, achieved.inc_rad - p.inc_rad, raan_err, u_err)


# --------------------------------------------------------------------------------------------
# Delivery checks
# --------------------------------------------------------------------------------------------


def _checks(name: str, spec: OrbitSpec, t_s: float, got: OrbitState, planned: OrbitState
            ) -> tuple[ElementCheck, ...]:
    tol = spec.tolerances
    rows = []

    def add(element, unit, target, plan_v, achieved, tolerance, angle=False, note=""):
        if target is None:
            rows.append(ElementCheck(name, element, unit, None, plan_v, achieved, None,
                                     tolerance, False, True, note or "free in the scenario"))
            return
        err = float(wrap_angle(achieved - target)) if angle else achieved - target
        rows.append(ElementCheck(name, element, unit, float(target), plan_v, float(achieved),
                                 float(err), tolerance, True, abs(err) <= tolerance, note))

    add("a", "km", spec.a_km, planned.a_km, got.a_km, tol.sma_km)
    add("e", "-", spec.e, planned.e, got.e, tol.eccentricity)
    add("i", "rad", spec.inc_rad, planned.inc_rad, got.inc_rad, tol.inclination_rad)
    raan_t, slot_t = target_at(spec, t_s)
    if spec.inc_rad < EQUATORIAL_RAD:
        rows.append(ElementCheck(name, "raan", "rad", raan_t, planned.raan_rad, got.raan_rad,
                                 None, tol.raan_rad, False, True,
                                 "equatorial target: the node is undefined"))
        if slot_t is None:
            add("longitude", "rad", None, float(np.mod(planned.raan_rad + planned.u_rad, TWO_PI)),
                float(np.mod(got.raan_rad + got.u_rad, TWO_PI)), tol.slot_rad)
        else:
            lon_t = slot_t + (raan_t or 0.0)
            add("longitude", "rad", float(np.mod(lon_t, TWO_PI)),
                float(np.mod(planned.raan_rad + planned.u_rad, TWO_PI)),
                float(np.mod(got.raan_rad + got.u_rad, TWO_PI)), tol.slot_rad, angle=True,
                note="equatorial target: slot checked as true longitude RAAN + u")
    else:
        add("raan", "rad", raan_t, planned.raan_rad, got.raan_rad, tol.raan_rad, angle=True)
        add("slot", "rad", slot_t, planned.u_rad, got.u_rad, tol.slot_rad, angle=True)
    return tuple(rows)


# --------------------------------------------------------------------------------------------
# Low-thrust arcs
# --------------------------------------------------------------------------------------------


def _thrust_arc(burn: Burn, before: OrbitState, engine, mass_kg: float,
                mu=MU_EARTH_KM3_S2) -> tuple[ThrustArc, str | None]:
    """The steering of a low-thrust burn from the plan's mean orbits before and after it.

    The arc turns the plane from ``before`` (its node carried to the end of the arc by the J2
    regression integrated along the Edelbaum transfer, as the planner does:
    :func:`otvplan.planning.legs.spiral_motion`) into ``after``'s; with no out-of-plane delta-v
    planned it thrusts along (or against) the velocity only.
    """
    after = burn.orbit_after
    v0 = math.sqrt(mu / before.a_km)
    dv_t, _, dv_w = burn.dv_tnw_kms
    note = None
    if after is None or abs(dv_w) <= 1e-12 * max(1.0, abs(dv_t)):
        beta0 = 0.0 if dv_t >= 0.0 else math.pi
        return ThrustArc(engine.thrust_n, engine.isp_s, mass_kg, v0, beta0, 0.0), note
    vf = math.sqrt(mu / after.a_km)
    rate_b = float(raan_rate(before.a_km, before.e, before.inc_rad))
    raan_start = before.raan_rad + rate_b * (burn.t_s - before.t_s)
    eng = EngineSpec(engine.name, engine.isp_s, engine.thrust_n)
    body = EARTH._replace(mu_km3_s2=mu)
    # The plane angle and the node's regression along the arc depend on each other; with the
    # arc's delta-v fixed (the planned burn) the iteration contracts quickly.
    theta = abs(after.inc_rad - before.inc_rad)
    raan_drifted = raan_start
    for _ in range(4):
        _, d_raan, _ = spiral_motion(before.a_km, before.inc_rad, after.a_km, after.inc_rad,
                                     theta, burn.dv_kms, mass_kg, eng, body)
        raan_drifted = raan_start + float(d_raan)
        theta = float(plane_angle(before.inc_rad, raan_drifted, after.inc_rad,
                                  after.raan_rad))
    beta0 = edelbaum_initial_yaw(v0, vf, theta)
    u_axis = float(node_crossing(before.inc_rad, raan_drifted, after.inc_rad,
                                 after.raan_rad)[0]) if theta > 1e-12 else 0.0
    dv_edelbaum = math.sqrt(max(v0 * v0 - 2.0 * v0 * vf * math.cos(0.5 * math.pi * theta)
                                + vf * vf, 0.0))
    dv_thrust = engine.isp_s * G0_KM_S2 * -math.log1p(
        -burn.duration_s * engine.thrust_n / (engine.isp_s * G0_M_S2 * mass_kg))
    if abs(dv_thrust - dv_edelbaum) > 1e-3 * max(dv_edelbaum, 1e-3):
        note = (f"{burn.label} at t = {burn.t_s / 86400:.3f} d: thrusting {burn.duration_s:.0f} s "
                f"at {engine.thrust_n:g} N gives {dv_thrust * 1000:.2f} m/s; Edelbaum's "
                f"delta-v from {before.a_km:.1f} km to {after.a_km:.1f} km with a "
                f"{math.degrees(theta):.4f} deg plane change is {dv_edelbaum * 1000:.2f} m/s")
    return ThrustArc(engine.thrust_n, engine.isp_s, mass_kg, v0, beta0, u_axis), note


# --------------------------------------------------------------------------------------------
# verify()
# --------------------------------------------------------------------------------------------


def _phase(r, v, equatorial: bool) -> tuple[float, float]:
    """The tug's osculating place in its orbit and its rate [rad, rad/s].

    The argument of latitude u (angle from the ascending node of the osculating plane, in the
    direction of motion), or for an equatorial orbit, where the node is undefined, the right
    ascension of the position (the true longitude). Plain ``math``: called a few times per burn.
    """
    x, y, z = (float(c) for c in r)
    vx, vy, vz = (float(c) for c in v)
    if equatorial:
        rho2 = x * x + y * y
        return math.atan2(y, x) % TWO_PI, (x * vy - y * vx) / rho2
    hx, hy, hz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    nn = math.hypot(hx, hy)
    if nn < 1e-12 * hn:  # exactly equatorial: measure from the x axis
        nx, ny = 1.0, 0.0
    else:
        nx, ny = -hy / nn, hx / nn
    wx, wy, wz = hx / hn, hy / hn, hz / hn
    qx, qy, qz = -wz * ny, wz * nx, wx * ny - wy * nx  # w x node: 90 deg ahead of the node
    u = math.atan2(x * qx + y * qy + z * qz, x * nx + y * ny)
    return u % TWO_PI, hn / (x * x + y * y + z * z)


def _time_to_angle(r, v, angle: float, rate: float, mu: float) -> float:
    """Two-body time [s] for the tug to move ``angle`` [rad, 0..2pi) ahead along its
    osculating orbit (Kepler's equation, so it holds on eccentric orbits too)."""
    if angle < 1e-6:
        return angle / rate
    el = rv_to_coe(r, v, mu)
    a, e, nu = float(el.a), float(el.e), float(el.nu)
    n = math.sqrt(mu / a**3)
    m1 = float(true_to_mean_anomaly(nu % TWO_PI, e))
    m2 = float(true_to_mean_anomaly((nu + angle) % TWO_PI, e))
    return ((m2 - m1) % TWO_PI) / n


def _seek(t: float, y, phase_b: float, t_lo: float, t_hi: float, period: float,
          equatorial: bool, force: ForceModel, backend: Backend):
    """Coast to the first time in [t_lo, t_hi], not before ``t``, at which the tug's phase
    (:func:`_phase`) equals ``phase_b``.

    Returns ``(t, y, nfev, found)``. If the tug already passed ``phase_b`` inside the window
    before ``t`` (the previous event kept it busy, e.g. two burns planned at one place), it
    fires at once. ``found`` is False when no crossing falls in the window; (t, y) is then the
    state where the search stopped.
    """
    nfev = 0
    if t > t_hi:
        return t, y, nfev, False
    if t_lo > t:
        seg = propagate(t, y, t_lo, force, backend=backend)
        nfev += seg.nfev
        t, y = t_lo, seg.y
    phi, rate = _phase(y[:3], y[3:6], equatorial)
    back = float(wrap_angle(phi - phase_b))
    if back >= 0.0 and t - back / rate >= t_lo:
        return t, y, nfev, True
    fwd = (phase_b - phi) % TWO_PI
    dt = _time_to_angle(y[:3], y[3:6], fwd, rate, force.mu_km3_s2)
    if t + dt > t_hi + 0.05 * period:
        return t, y, nfev, False
    seg = propagate(t, y, t + dt, force, backend=backend)
    nfev += seg.nfev
    t, y = t + dt, seg.y
    for _ in range(8):  # Newton on the phase, each step a short propagation
        phi, rate = _phase(y[:3], y[3:6], equatorial)
        step = float(wrap_angle(phase_b - phi)) / rate
        if abs(step) < 1e-4:
            break
        seg = propagate(t, y, t + step, force, backend=backend)
        nfev += seg.nfev
        t, y = t + step, seg.y
    return t, y, nfev, t <= t_hi


def _tnw_frame(r, v) -> np.ndarray:
    """Rows: the unit vectors T (along v), N = W x T, W (along r x v) at (r, v)."""
    t_hat = v / np.linalg.norm(v)
    h = np.cross(r, v)
    w_hat = h / np.linalg.norm(h)
    return np.array([t_hat, np.cross(w_hat, t_hat), w_hat])


def _trim_jacobian(r, v, frame: np.ndarray, cols: tuple[int, ...], mu: float) -> np.ndarray:
    """Two-body derivatives of (a, i) [km, rad] of the orbit through (r, v) with respect to a
    velocity change along the frame rows ``cols`` [per km/s]: da = 2 a^2 (v . dv) / mu (vis-viva);
    di from cos i = h_z / |h| with dh = r x dv. Rows: a, then i (when 2 columns)."""
    rn = float(np.linalg.norm(r))
    a = 1.0 / (2.0 / rn - float(v @ v) / mu)
    h = np.cross(r, v)
    hn = float(np.linalg.norm(h))
    cos_i = h[2] / hn
    sin_i = math.sqrt(max(1.0 - cos_i * cos_i, 1e-30))
    jac = np.zeros((len(cols), len(cols)))
    for j, c in enumerate(cols):
        e = frame[c]
        jac[0, j] = 2.0 * a * a * float(v @ e) / mu
        if len(cols) > 1:
            dh = np.cross(r, e)
            jac[1, j] = -(dh[2] - cos_i * float(h @ dh) / hn) / (hn * sin_i)
    return jac


def dropoff_state(spec: OrbitSpec) -> OrbitState:
    """The drop-off as a mean :class:`OrbitState` at the epoch (free RAAN/slot taken as 0,
    as the planner does)."""
    return OrbitState(
        t_s=0.0, a_km=spec.a_km, e=spec.e, inc_rad=spec.inc_rad,
        raan_rad=0.0 if spec.raan_rad is None else spec.raan_rad,
        argp_rad=spec.argp_rad if spec.e > 0.0 else 0.0,
        u_rad=0.0 if spec.slot_rad is None else spec.slot_rad)


def _planned_phase(b: Burn, before: OrbitState) -> tuple[float, bool]:
    """Where a burn is planned in its orbit: (phase [rad], equatorial).

    The burn's argument of latitude ``Burn.u_rad``; in an equatorial orbit (planned
    inclination below :data:`EQUATORIAL_RAD`), where the node and so u are conventions, the
    true longitude RAAN + u of the burn point, taken from ``orbit_after`` (the position does not
    jump in an impulsive burn) or else from the orbit before.
    """
    if before.inc_rad >= EQUATORIAL_RAD:
        return b.u_rad % TWO_PI, False
    ref = b.orbit_after if b.orbit_after is not None else None
    if ref is not None and ref.inc_rad < EQUATORIAL_RAD:
        return (ref.raan_rad + ref.u_rad) % TWO_PI, True
    return (before.raan_rad + b.u_rad) % TWO_PI, True


def _trim_mode(b: Burn, before: OrbitState, u_fire: float, equatorial: bool
               ) -> tuple[int, ...]:
    """Which T/N/W components a burn's trim adjusts: T for the mean a, and W for the mean i
    when the burn turns the plane (a planned W component of at least 1 % of the burn), fires
    within 60 deg of a node (|cos u| >= 0.5, so di/dW is well conditioned) and neither plane
    is within 0.57 deg (0.01 rad) of the equator."""
    after = b.orbit_after
    dv_t, _, dv_w = b.dv_tnw_kms
    turning = abs(dv_w) >= 0.01 * max(b.dv_kms, 1e-12) and abs(dv_w) > 0.0
    if (turning and not equatorial and abs(math.cos(u_fire)) >= 0.5
            and min(after.inc_rad, before.inc_rad) >= 0.01
            and max(after.inc_rad, before.inc_rad) <= math.pi - 0.01):
        return (0, 2)
    return (0,)


def _fly_trimmed(t: float, y, b: Burn, cols: tuple[int, ...], force: ForceModel,
                 samples: int, backend: Backend = "compiled"):
    """Fire the planned T/N/W delta-v at (t, y) and trim it so that the mean orbit after the
    burn has the planned mean a (and i when ``cols`` includes W).

    Newton's method on the trim x (T/N/W components of the pre-burn frame, applied on top of
    the plan's delta-v) with the residual measured on the mean elements of the orbit after the
    burn (one revolution averaged, :func:`otvplan.flight.propagation.mean_orbit`), started with the
    two-body Jacobian (:func:`_trim_jacobian`) and refined by Broyden updates. The osculating
    and mean elements differ by O(J2), so each step shrinks the residual about a
    thousandfold: one step usually reaches :data:`TRIM_TOL_KM` and :data:`TRIM_TOL_RAD`.
    Returns ``(x, v_after, mean_after, residual, iterations, converged)``.
    """
    target = b.orbit_after
    r, v = y[:3], y[3:6]
    frame = _tnw_frame(r, v)
    dv0 = np.asarray(b.dv_tnw_kms, float)
    x = np.zeros(3)

    def fly(x):
        v1 = v + frame.T @ (dv0 + x)
        mean = mean_orbit(t, np.r_[r, v1, y[6]], force, samples, backend)
        res = [mean.a_km - target.a_km]
        if len(cols) > 1:
            res.append(mean.inc_rad - target.inc_rad)
        return v1, mean, np.array(res)

    v1, mean, res = fly(x)
    jac = _trim_jacobian(r, v1, frame, cols, force.mu_km3_s2)
    tol = np.array([TRIM_TOL_KM, TRIM_TOL_RAD][:len(cols)])
    iterations = 0
    while np.any(np.abs(res) > tol) and iterations < TRIM_MAX_ITER:
        try:
            step = np.linalg.solve(jac, -res)
        except np.linalg.LinAlgError:
            break
        x[list(cols)] += step
        v1, mean, new = fly(x)
        iterations += 1
        # Broyden's update of the Jacobian from the observed change
        jac = jac + np.outer(new - res - jac @ step, step) / float(step @ step)
        res = new
    return x, v1, mean, res, iterations, bool(np.all(np.abs(res) <= tol))


class _Flight:
    """The tug in flight during :func:`verify`: its propagated state and what has been
    recorded so far. One method per kind of event (coast, low-thrust arc, impulsive burn,
    release), in the order :func:`verify` calls them.

    ``m_planned`` is the mass the tug would have flying the burns as planned (no trims): the
    bookkeeping check compares the plan with it, and the trims' propellant is the propagated
    mass's shortfall from it. ``m_prop`` is the propellant the propagation burnt.
    ``planned_prev`` is the plan's mean orbit before the next event; ``shift`` how much later
    than planned the last burn fired (guided deliveries follow their burn by that much).
    """

    def __init__(self, plan: Plan, force: ForceModel, *, guided: bool, trim: bool,
                 backend: Backend, samples: int, trace_burns: bool):
        sc = plan.scenario
        self.force, self.guided, self.trim = force, guided, trim
        self.backend, self.samples, self.trace_burns = backend, samples, trace_burns
        self.engines = {e.name: e for e in sc.tug.engines}
        self.payloads = {p.name: p for p in sc.payloads}
        self.warnings: list[str] = []
        self.nfev = 0
        self.deliveries: list[DeliveryCheck] = []
        self.burn_checks: list[BurnCheck] = []
        self.executions: list[BurnExecution] = []
        self.shift = 0.0
        self.start = dropoff_state(sc.dropoff)
        r0, v0, resid = osculating_from_mean(self.start, force, samples=samples, backend=backend,
                                             mass_kg=sc.initial_mass_kg)
        if resid[0] > 1e-3:
            self.warnings.append(f"drop-off mean elements matched only to "
                                 f"{resid[0] * 1000:.1f} m in a")
        self.y = np.r_[r0, v0, sc.initial_mass_kg]
        self.t = 0.0
        self.m_planned = sc.initial_mass_kg
        self.m_prop = 0.0
        self.planned_prev = self.start

    def coast_to(self, t_s: float) -> None:
        """Coast under the force model to ``t_s`` (nothing when it is not later than now)."""
        if t_s > self.t:
            seg = propagate(self.t, self.y, t_s, self.force, backend=self.backend)
            self.nfev += seg.nfev
            self.y, self.t = seg.y, t_s

    def burn(self, leg, b: Burn) -> None:
        """Fly one burn of ``leg`` (a thrust arc or an impulse) and trace the orbit after it."""
        eng = self.engines.get(b.engine)
        if eng is None:
            raise ValueError(f"leg {leg.index} {b.label}: engine {b.engine!r} is not on "
                             "the tug")
        if b.low_thrust:
            self._arc(leg, b, eng)
            mean_after = None
        else:
            mean_after = self._impulse(leg, b, eng)
        if self.trace_burns:
            if mean_after is None:
                mean_after = mean_orbit(self.t, self.y, self.force, self.samples,
                                        self.backend)
            self.burn_checks.append(_burn_check(leg.index, b, self.t, mean_after))
        if b.orbit_after is not None:
            self.planned_prev = b.orbit_after

    def _arc(self, leg, b: Burn, eng) -> None:
        """A low-thrust arc: from now, for its planned duration, steered open-loop
        (:func:`_thrust_arc`), untrimmed."""
        y, t = self.y, self.t
        arc, note = _thrust_arc(b, self.planned_prev, eng, float(y[6]))
        if note:
            self.warnings.append(f"leg {leg.index} {note}")
        t_fire = t
        seg = propagate(t, y, t + b.duration_s, self.force, arc, backend=self.backend)
        self.nfev += seg.nfev
        used = float(y[6] - seg.y[6])
        self.m_prop += used
        self.m_planned -= used
        self.y, self.t = seg.y, t + b.duration_s
        shift = self.shift = t_fire - b.t_s
        self.executions.append(BurnExecution(
            leg=leg.index, label=b.label, low_thrust=True, planned_t_s=b.t_s,
            fired_t_s=t_fire, shift_s=t_fire - b.t_s, window_s=0.0,
            planned_u_rad=b.u_rad, fired_u_rad=None, dv_planned_kms=b.dv_kms,
            trim_tnw_kms=(0.0, 0.0, 0.0), trim_kms=0.0, trim_fraction=0.0,
            trim_limit_kms=0.0, trimmed="", a_residual_km=None, i_residual_rad=None,
            mistimed=False, passed=True,
            note="low-thrust arc: " + (f"started {shift:.1f} s late" if shift > 1e-6
                                       else "started at its epoch")
            + ", steered open-loop, untrimmed"))

    def _impulse(self, leg, b: Burn, eng) -> OrbitState | None:
        """An impulsive burn. Guided: seek its planned place in the orbit within the window
        around its epoch (:func:`_seek`), then fire the planned delta-v trimmed to the planned
        mean orbit (:func:`_fly_trimmed`); open loop: fire the planned delta-v now. Returns the
        mean orbit after the burn when the trim computed it, else None."""
        guided, force = self.guided, self.force
        ve = eng.isp_s * G0_KM_S2
        mean_after = None
        dv_plan = float(np.linalg.norm(b.dv_tnw_kms))
        limit = max(TRIM_FLOOR_KMS, TRIM_FRACTION * dv_plan)
        phase_b, equatorial = _planned_phase(b, self.planned_prev)
        period = TWO_PI * math.sqrt(self.planned_prev.a_km**3 / force.mu_km3_s2)
        window = WINDOW_PERIODS * period
        mistimed = False
        notes = []
        t, y = self.t, self.y
        if guided:
            t0, y0 = t, y
            t, y, n_used, found = _seek(t, y, phase_b, b.t_s - window, b.t_s + window,
                                        period, equatorial, force, self.backend)
            self.nfev += n_used
            if not found:
                mistimed = True
                notes.append(f"no crossing of its planned "
                             f"{'longitude' if equatorial else 'argument of latitude'}"
                             f" {math.degrees(phase_b):.3f} deg within +-{window:.0f} s"
                             f" of the planned epoch: fired at the epoch")
                t_fire = max(b.t_s, t0)
                seg = propagate(t0, y0, t_fire, force, backend=self.backend)
                self.nfev += seg.nfev
                t, y = t_fire, seg.y
        phi, _ = _phase(y[:3], y[3:6], equatorial)
        x = np.zeros(3)
        a_res = i_res = None
        cols: tuple[int, ...] = ()
        if guided and self.trim and b.orbit_after is not None:
            cols = _trim_mode(b, self.planned_prev, phi, equatorial)
            x, v_new, mean_after, res, _, converged = _fly_trimmed(
                t, y, b, cols, force, self.samples, self.backend)
            a_res = float(res[0])
            i_res = float(res[1]) if len(cols) > 1 else None
            if not converged:
                notes.append("the trim did not converge: mean a off by "
                             f"{a_res * 1000:.1f} m"
                             + (f", i by {math.degrees(i_res):.5f} deg"
                                if i_res is not None else ""))
        else:
            converged = True
            if guided and self.trim:
                notes.append("no planned orbit after the burn: not trimmed")
            v_new = y[3:6] + tnw_to_inertial(y[:3], y[3:6], b.dv_tnw_kms)
        dv_fired = float(np.linalg.norm(np.asarray(b.dv_tnw_kms) + x))
        m_after = float(mass_after(float(y[6]), dv_fired, ve))
        self.m_prop += float(y[6]) - m_after
        self.m_planned = float(mass_after(self.m_planned, dv_plan, ve))
        self.y = np.r_[y[:3], v_new, m_after]
        self.t = t
        trim_kms = float(np.linalg.norm(x))
        if trim_kms > limit:
            notes.append(f"trim {trim_kms * 1000:.2f} m/s exceeds the limit "
                         f"{limit * 1000:.2f} m/s: the planned burn is wrong")
        shift = self.shift = t - b.t_s
        self.executions.append(BurnExecution(
            leg=leg.index, label=b.label, low_thrust=False, planned_t_s=b.t_s,
            fired_t_s=t, shift_s=shift, window_s=window if guided else 0.0,
            planned_u_rad=phase_b, fired_u_rad=phi, dv_planned_kms=dv_plan,
            trim_tnw_kms=tuple(float(c) for c in x), trim_kms=trim_kms,
            trim_fraction=trim_kms / dv_plan if dv_plan > 0.0 else 0.0,
            trim_limit_kms=limit if guided else 0.0,
            trimmed="+".join({0: "a", 2: "i"}[c] for c in cols),
            a_residual_km=a_res, i_residual_rad=i_res, mistimed=mistimed,
            passed=not guided or (not mistimed and converged and trim_kms <= limit),
            equatorial=equatorial, note="; ".join(notes)))
        return mean_after

    def release(self, leg, dlv) -> None:
        """Release a payload now: check its mean orbit against its target carried to now
        (:func:`_checks`) and take its mass off the tug."""
        achieved = mean_orbit(self.t, self.y, self.force, self.samples, self.backend)
        payload = self.payloads.get(dlv.payload)
        if payload is None:
            raise ValueError(f"leg {leg.index}: payload {dlv.payload!r} is not in the "
                             "scenario")
        checks = _checks(dlv.payload, payload.target, self.t, achieved, dlv.orbit)
        self.deliveries.append(DeliveryCheck(
            payload=dlv.payload, leg=leg.index, t_s=self.t, achieved=achieved,
            planned=dlv.orbit, checks=checks, passed=all(c.passed for c in checks)))
        self.y = np.r_[self.y[:6], self.y[6] - payload.mass_kg]
        self.m_planned -= payload.mass_kg
        self.planned_prev = dlv.orbit


def _events(plan: Plan, guided: bool, warnings: list[str]) -> list[tuple]:
    """The plan's burns and deliveries as ``(t_s, index, kind, leg, burn or delivery)`` in the
    order they are flown: the plan's order when guided (a burn fires where it belongs: each
    leg's burns, then its delivery), time order open loop (with a warning when that differs
    from the plan's order)."""
    events = []
    for leg in plan.legs:
        for b in leg.burns:
            events.append((b.t_s, len(events), "burn", leg, b))
        if leg.delivery is not None:
            events.append((leg.delivery.t_s, len(events), "delivery", leg, leg.delivery))
    if guided:
        return events
    ordered = sorted(events, key=lambda ev: (ev[0], ev[1]))
    if [ev[1] for ev in ordered] != [ev[1] for ev in events]:
        warnings.append("the plan's events are not in time order; flown in time order")
    return ordered


def verify(plan: Plan, *, execution: Execution = "guided", drag: bool = False, zonal: int = 2,
           backend: Backend = "compiled", samples: int = 64, trace_burns: bool = True,
           trim: bool = True) -> Verification:
    """Propagate the tug through the whole plan and check each delivery against its target.

    ``execution``: how the burns are flown.

    - ``"guided"`` (default), as operations fly a plan: each impulsive burn fires at the first
      time the tug reaches the burn's planned place in its orbit (its argument of latitude
      ``Burn.u_rad``; the true longitude in an equatorial orbit) within +-:data:`WINDOW_PERIODS`
      of the planned orbit's period around the planned epoch ``Burn.t_s``, and its delta-v,
      applied in the T/N/W frame of the actual state, is trimmed so that the mean a after the
      burn is the planned ``orbit_after.a_km`` (and the mean i the planned one, for plane
      changes fired near a node: :func:`_trim_mode`). A burn with no crossing in its window is
      *mistimed* (then fired at its epoch); a burn whose trim exceeds max(0.5 m/s, 2 % of
      the burn) (:data:`TRIM_FLOOR_KMS`, :data:`TRIM_FRACTION`) or does not converge is a
      plan error. Either fails the verification; see :attr:`Verification.executions`.
      Deliveries follow their leg's last burn by the planned interval. Low-thrust arcs start
      at their epoch and are steered open-loop, untrimmed. ``trim=False`` keeps the timing
      but flies the planned delta-v (a diagnostic).
    - ``"open-loop"``: every burn at its planned epoch with its planned delta-v, deliveries at
      their planned epochs: the plan exactly as written.

    ``zonal``: highest zonal harmonic of the force model (0, 2, 3 or 4); ``drag``: add an
    exponential atmosphere with the tug's area and drag coefficient from the scenario's
    disposal settings. ``backend``: the DOP853 implementation
    (:func:`otvplan.flight.propagation.propagate`); the default, ``"compiled"``, takes the
    steps of ``"ode"`` (Hairer's DOP853 through SciPy) with a compiled right-hand side and
    stepper, and averages the mean elements on its own dense output. ``samples``: points per
    orbit for the mean elements. ``trace_burns``: also average the orbit after every burn and
    compare it with the burn's planned ``orbit_after`` (:class:`BurnCheck`; one orbit of
    propagation each, free for trimmed burns, whose last trim iteration is that average).
    """
    if execution not in ("guided", "open-loop"):
        raise ValueError(f"execution must be 'guided' or 'open-loop', got {execution!r}")
    guided = execution == "guided"
    wall = time.perf_counter()
    sc = plan.scenario
    disp = sc.constraints.disposal
    force = ForceModel(zonal=zonal, drag=drag, area_m2=disp.area_m2,
                       drag_coefficient=disp.drag_coefficient)
    fl = _Flight(plan, force, guided=guided, trim=trim, backend=backend, samples=samples,
                 trace_burns=trace_burns)
    ordered = _events(plan, guided, fl.warnings)
    for t_ev, _, kind, leg, obj in ordered:
        if kind == "delivery" and guided:
            t_ev = t_ev + fl.shift
        if t_ev < fl.t - 1e-6 and not (guided and kind == "burn" and not obj.low_thrust):
            what = obj.label if kind == "burn" else "delivery"
            fl.warnings.append(f"leg {leg.index}: {what} planned at t = {t_ev:.1f} s starts "
                               f"{fl.t - t_ev:.1f} s late (the previous event was still "
                               "running)")
        if not (guided and kind == "burn" and not obj.low_thrust):  # else it seeks its place
            fl.coast_to(t_ev)
        if kind == "burn":
            fl.burn(leg, obj)
        else:
            fl.release(leg, obj)
    return _result(plan, fl, bool(ordered), execution, wall)


def _result(plan: Plan, fl: _Flight, flown: bool, execution: Execution,
            wall: float) -> Verification:
    """The :class:`Verification` of a finished flight: final orbits, the mass check (with the
    trims' propellant when guided), the verdict and the run's statistics."""
    final = None
    planned_final = None
    if flown:
        final = mean_orbit(fl.t, fl.y, fl.force, fl.samples, fl.backend)
        planned_final = fl.planned_prev
    if fl.guided:
        trim_kg = fl.m_planned - float(fl.y[6])
        mass = _mass_check(plan, fl.m_prop - trim_kg, fl.m_planned, trim_kg)
    else:  # nothing trimmed: the propagated mass is the planned one
        mass = _mass_check(plan, fl.m_prop, float(fl.y[6]))
    passed = (all(d.passed for d in fl.deliveries) and mass.passed
              and all(x.passed for x in fl.executions))
    days = fl.t / 86400.0
    return Verification(
        scenario=plan.scenario.name, force_model=fl.force.describe(), passed=passed,
        deliveries=tuple(fl.deliveries), mass=mass, burns=tuple(fl.burn_checks),
        undelivered=tuple(plan.undelivered), final_orbit=final,
        planned_final_orbit=planned_final, warnings=tuple(fl.warnings),
        stats=(("wall_time_s", time.perf_counter() - wall),
               ("rhs_evaluations", float(fl.nfev)), ("days_propagated", days)),
        execution=execution, executions=tuple(fl.executions))


def _mass_check(plan: Plan, propagated_kg: float, final_propagated_kg: float,
                trim_kg: float = 0.0) -> MassCheck:
    sc = plan.scenario
    burns = [b for leg in plan.legs for b in leg.burns]
    burns_prop = float(sum(b.propellant_kg for b in burns))
    scale = max(1.0, sc.initial_mass_kg)
    notes = []
    worst = 0.0
    m = sc.initial_mass_kg
    for leg in plan.legs:
        err = abs(leg.mass_before_kg - m)
        if err > MASS_RTOL * scale:
            notes.append(f"leg {leg.index} starts at {leg.mass_before_kg:.4f} kg, the previous "
                         f"leg ended at {m:.4f} kg")
        worst = max(worst, err)
        for b in leg.burns:
            err = abs(b.mass_before_kg - m)
            worst = max(worst, err)
            if err > MASS_RTOL * scale:
                notes.append(f"leg {leg.index} {b.label}: mass before {b.mass_before_kg:.4f} kg, "
                             f"chain gives {m:.4f} kg")
            eng = next((e for e in sc.tug.engines if e.name == b.engine), None)
            if eng is not None:
                expect = float(mass_after(b.mass_before_kg, b.dv_kms, eng.isp_s * G0_KM_S2))
                err = abs(b.mass_after_kg - expect)
                worst = max(worst, err)
                if err > MASS_RTOL * scale:
                    notes.append(f"leg {leg.index} {b.label}: mass after {b.mass_after_kg:.4f} "
                                 f"kg, rocket equation gives {expect:.4f} kg")
            err = abs(b.mass_before_kg - b.mass_after_kg - b.propellant_kg)
            worst = max(worst, err)
            m = b.mass_after_kg
        if leg.delivery is not None:
            m -= leg.delivery.mass_kg
        err = abs(leg.mass_after_kg - m)
        worst = max(worst, err)
        if err > MASS_RTOL * scale:
            notes.append(f"leg {leg.index} ends at {leg.mass_after_kg:.4f} kg, the chain gives "
                         f"{m:.4f} kg")
        m = leg.mass_after_kg
    sum_err = abs(burns_prop - plan.propellant_used_kg)
    prop_err = abs(propagated_kg - burns_prop)
    final_err = abs(plan.final_mass_kg - final_propagated_kg)
    if sum_err > MASS_RTOL * scale:
        notes.append(f"burn propellant sums to {burns_prop:.4f} kg, the plan says "
                     f"{plan.propellant_used_kg:.4f} kg")
    if prop_err > MASS_RTOL * scale:
        notes.append(f"the propagation burnt {propagated_kg:.4f} kg, the burns book "
                     f"{burns_prop:.4f} kg")
    passed = (worst <= MASS_RTOL * scale and sum_err <= MASS_RTOL * scale
              and prop_err <= MASS_RTOL * scale and final_err <= MASS_RTOL * scale)
    if final_err > MASS_RTOL * scale:
        notes.append(f"final mass {final_propagated_kg:.4f} kg propagated, "
                     f"{plan.final_mass_kg:.4f} kg planned")
    margin = float(plan.propellant_margin_kg)
    if trim_kg > max(margin, 0.0) + MASS_RTOL * scale:
        passed = False
        notes.append(f"the trims burn {trim_kg:.4f} kg, more than the plan's margin above the "
                     f"reserve, {margin:.4f} kg")
    return MassCheck(
        burns_propellant_kg=burns_prop, plan_propellant_kg=float(plan.propellant_used_kg),
        propagated_propellant_kg=float(propagated_kg),
        final_mass_plan_kg=float(plan.final_mass_kg),
        final_mass_propagated_kg=float(final_propagated_kg), max_chain_error_kg=float(worst),
        passed=passed, notes=tuple(notes), trim_propellant_kg=float(trim_kg), margin_kg=margin)


__all__ = [
    "EQUATORIAL_RAD",
    "MASS_RTOL",
    "TRIM_FLOOR_KMS",
    "TRIM_FRACTION",
    "WINDOW_PERIODS",
    "BurnCheck",
    "BurnExecution",
    "DeliveryCheck",
    "ElementCheck",
    "Execution",
    "MassCheck",
    "Verification",
    "dropoff_state",
    "target_at",
    "verify",
]
