"""Verification: fly a plan's burns through a numerical propagator and check every delivery.

:func:`verify` starts the tug at the drop-off (the scenario's mean elements at the epoch,
turned into an osculating state by :func:`otvplan.propagation.osculating_from_mean`), coasts
it under two-body + J2 (optionally J3/J4 and drag) between events, applies every burn of
every leg at its epoch - impulsive burns as the plan's T/N/W delta-v rotated into the inertial
frame at the *actual* state, low-thrust arcs as constant thrust with mass flow for the
planned duration under Edelbaum's yaw steering (:class:`otvplan.propagation.ThrustArc`) -
and releases each payload at its delivery time. The payload's achieved mean elements are
the average over the orbit after release (:func:`otvplan.propagation.mean_orbit`); they are
compared with the target :class:`otvplan.model.OrbitSpec` whose RAAN and slot are carried to
the delivery time at the planning model's secular J2 rates (:func:`otvplan.orbits.raan_rate`,
:func:`otvplan.orbits.argument_of_latitude_rate`). Each element has
its error, the scenario's tolerance and pass/fail; a free RAAN or slot is reported but not
checked. The plan's mass bookkeeping is checked as well.

The result is plain data (frozen dataclasses, :func:`otvplan.model.to_data` ready); the
reporter prints :attr:`Verification.rows`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Literal

import numpy as np

from .constants import G0_KM_S2, G0_M_S2, J2_EARTH, MU_EARTH_KM3_S2, R_EARTH_KM
from .legs import EngineSpec, spiral_motion
from .model import Burn, OrbitSpec, OrbitState, Plan
from .orbits import (
    TWO_PI,
    argument_of_latitude_rate,
    node_crossing,
    plane_angle,
    raan_rate,
    rv_to_coe,
    wrap_angle,
)
from .propagation import (
    Backend,
    ForceModel,
    ThrustArc,
    edelbaum_initial_yaw,
    mean_orbit,
    osculating_from_mean,
    propagate,
    tnw_to_inertial,
)

#: Below this inclination [rad] a target counts as equatorial: its node is undefined, so the
#: RAAN is not checked and the slot is checked as the true longitude RAAN + u.
EQUATORIAL_RAD = 1e-4

#: When burns are fired: at their planned epochs, or where the tug is at the planned
#: argument of latitude (a diagnostic, see :func:`verify`).
Timing = Literal["epoch", "position"]

#: Relative tolerance of the mass bookkeeping checks.
MASS_RTOL = 1e-6


@dataclass(frozen=True)
class ElementCheck:
    """One row of the verification table: one element of one delivery.

    ``element`` is ``a``, ``e``, ``i``, ``raan`` or ``slot`` (``longitude`` for an equatorial
    target); values in core units named by ``unit`` (km, -, rad). ``target`` is the scenario's
    target at the delivery time, ``planned`` the plan's predicted mean element, ``achieved``
    the propagated mean element; ``error`` = achieved - target (angles wrapped to +-pi).
    ``checked`` is False for a free RAAN/slot (then ``passed`` is True and ``note`` says why).
    """

    payload: str
    element: str
    unit: str
    target: float | None
    planned: float | None
    achieved: float
    error: float | None
    tolerance: float | None
    checked: bool
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class DeliveryCheck:
    """A delivery's achieved mean orbit against its target and the plan."""

    payload: str
    leg: int
    t_s: float
    achieved: OrbitState
    planned: OrbitState
    checks: tuple[ElementCheck, ...]
    passed: bool


@dataclass(frozen=True)
class BurnCheck:
    """The tug's achieved mean orbit after a burn against the plan's ``Burn.orbit_after``.

    Informative (not pass/fail): it locates where a failed delivery went wrong. ``t_s`` is
    when the burn ended in the propagation, ``shift_s`` how much later than planned (non-zero
    with ``timing="position"``, or after an overrunning thrust arc). The achieved
    orbit is the average over the free orbit after the burn (as if no later burn came); for a
    low-thrust arc it is taken at the arc's end. ``None`` fields when the plan gives no orbit.
    Errors are achieved - planned, angles wrapped to +-pi [km, -, rad].
    """

    leg: int
    label: str
    t_s: float
    shift_s: float
    low_thrust: bool
    achieved: OrbitState
    planned: OrbitState | None
    a_error_km: float | None
    e_error: float | None
    i_error_rad: float | None
    raan_error_rad: float | None
    u_error_rad: float | None


def _burn_check(leg: int, burn: Burn, t_s: float, achieved: OrbitState) -> BurnCheck:
    p = burn.orbit_after
    burn_time = burn.duration_s if burn.low_thrust else 0.0
    if p is None:
        return BurnCheck(leg, burn.label, t_s, t_s - burn.t_s - burn_time, burn.low_thrust,
                         achieved, None, None, None, None, None, None)
    return BurnCheck(
        leg, burn.label, t_s, t_s - burn.t_s - burn_time, burn.low_thrust, achieved, p,
        achieved.a_km - p.a_km,
        achieved.e - p.e, achieved.inc_rad - p.inc_rad,
        float(wrap_angle(achieved.raan_rad - p.raan_rad)),
        float(wrap_angle(achieved.u_rad - p.u_rad)))


@dataclass(frozen=True)
class MassCheck:
    """The plan's mass bookkeeping, and the propellant the propagation actually burnt.

    ``burns_propellant_kg`` sums every burn's propellant; ``plan_propellant_kg`` is
    ``Plan.propellant_used_kg``; ``propagated_propellant_kg`` is what the verification burnt
    (rocket equation for impulsive burns at the propagated mass, mass flow F/(g0 Isp) over the
    planned duration for low-thrust arcs). ``max_chain_error_kg`` is the worst mismatch in the
    chain of masses (start of mission, burn by burn, payload releases). ``passed`` when all
    agree to :data:`MASS_RTOL`.
    """

    burns_propellant_kg: float
    plan_propellant_kg: float
    propagated_propellant_kg: float
    final_mass_plan_kg: float
    final_mass_propagated_kg: float
    max_chain_error_kg: float
    passed: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verification:
    """The verification of a plan: per-delivery checks, mass check, overall ``passed``.

    ``final_orbit`` is the tug's achieved mean orbit after the last event and
    ``planned_final_orbit`` the plan's (informative, not checked). ``stats``: wall time
    [s], right-hand-side evaluations, days propagated.
    """

    scenario: str
    force_model: str
    passed: bool
    deliveries: tuple[DeliveryCheck, ...]
    mass: MassCheck
    burns: tuple[BurnCheck, ...] = ()
    undelivered: tuple[str, ...] = ()
    final_orbit: OrbitState | None = None
    planned_final_orbit: OrbitState | None = None
    warnings: tuple[str, ...] = ()
    stats: tuple[tuple[str, float], ...] = ()

    @property
    def rows(self) -> tuple[ElementCheck, ...]:
        """Every element check of every delivery, in delivery order (the table to print)."""
        return tuple(c for d in self.deliveries for c in d.checks)

    @property
    def failures(self) -> tuple[ElementCheck, ...]:
        """The rows that failed."""
        return tuple(c for c in self.rows if not c.passed)


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def target_at(spec: OrbitSpec, t_s: float) -> tuple[float | None, float | None]:
    """(RAAN, slot) [rad, 0..2pi) of a target at ``t_s`` s after the epoch, None where free.

    Both advance at the planning model's secular J2 rates: RAAN at
    :func:`otvplan.orbits.raan_rate`, the slot (argument of latitude) at
    :func:`otvplan.orbits.argument_of_latitude_rate`.
    """
    raan = None
    slot = None
    if spec.raan_rad is not None:
        raan = float(np.mod(spec.raan_rad + raan_rate(spec.a_km, spec.e, spec.inc_rad) * t_s,
                            TWO_PI))
    if spec.slot_rad is not None:
        rate = argument_of_latitude_rate(spec.a_km, spec.e, spec.inc_rad)
        slot = float(np.mod(spec.slot_rad + rate * t_s, TWO_PI))
    return raan, slot


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
    :func:`otvplan.legs.spiral_motion`) into ``after``'s; with no out-of-plane delta-v planned
    it thrusts along (or against) the velocity only.
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
    rates_ctx = SimpleNamespace(mu=mu, r_eq=R_EARTH_KM, j2=J2_EARTH)
    # The plane angle and the node's regression along the arc depend on each other; with the
    # arc's delta-v fixed (the planned burn) the iteration contracts quickly.
    theta = abs(after.inc_rad - before.inc_rad)
    raan_drifted = raan_start
    for _ in range(4):
        _, d_raan, _ = spiral_motion(before.a_km, before.inc_rad, after.a_km, after.inc_rad,
                                     theta, burn.dv_kms, mass_kg, eng, rates_ctx)
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


def _retime(t: float, y, u_target: float, t_floor: float, force: ForceModel,
            backend: Backend):
    """Move (t, y) along the free orbit to where the osculating argument of latitude is
    ``u_target`` (Newton steps on u(t), at most half an orbit either way, never before
    ``t_floor``). Returns (t, y, right-hand-side evaluations)."""
    nfev = 0
    for _ in range(8):
        r, v = y[:3], y[3:6]
        u = float(rv_to_coe(r, v).u)
        du = float(wrap_angle(u_target - u))
        rate = float(np.linalg.norm(np.cross(r, v)) / np.dot(r, r))
        dt = du / rate
        if t + dt < t_floor:
            dt = t_floor - t
        if abs(dt) < 1e-4:
            break
        seg = propagate(t, y, t + dt, force, backend=backend)
        nfev += seg.nfev
        t, y = t + dt, seg.y
    return t, y, nfev


def dropoff_state(spec: OrbitSpec) -> OrbitState:
    """The drop-off as a mean :class:`OrbitState` at the epoch (free RAAN/slot taken as 0,
    as the planner does)."""
    return OrbitState(
        t_s=0.0, a_km=spec.a_km, e=spec.e, inc_rad=spec.inc_rad,
        raan_rad=0.0 if spec.raan_rad is None else spec.raan_rad,
        argp_rad=spec.argp_rad if spec.e > 0.0 else 0.0,
        u_rad=0.0 if spec.slot_rad is None else spec.slot_rad)


def verify(plan: Plan, *, drag: bool = False, zonal: int = 2, backend: Backend = "ode",
           samples: int = 64, trace_burns: bool = True, timing: Timing = "epoch"
           ) -> Verification:
    """Propagate the tug through the whole plan and check each delivery against its target.

    ``zonal``: highest zonal harmonic of the force model (0, 2, 3 or 4); ``drag``: add an
    exponential atmosphere with the tug's area and drag coefficient from the scenario's
    disposal settings. ``backend``: the DOP853 implementation
    (:func:`otvplan.propagation.propagate`). ``samples``: points per orbit for the mean
    elements. ``trace_burns``: also average the orbit after every burn and compare it with
    the burn's planned ``orbit_after`` (:class:`BurnCheck`; one orbit of propagation each).
    ``timing``: ``"epoch"`` (default) fires every burn at its planned epoch ``Burn.t_s``;
    ``"position"`` fires each impulsive burn where the tug's osculating argument of latitude
    equals the planned ``Burn.u_rad``, within half an orbit of the epoch (as an operator would
    retime a burn to the node or apsis it is meant for). ``"position"`` is a diagnostic: it
    separates a plan whose geometry is right but whose epochs have drifted from one whose
    burns are wrong; a plan passes verification only with ``"epoch"`` timing.
    """
    if timing not in ("epoch", "position"):
        raise ValueError(f"timing must be 'epoch' or 'position', got {timing!r}")
    wall = time.perf_counter()
    sc = plan.scenario
    disp = sc.constraints.disposal
    force = ForceModel(zonal=zonal, drag=drag, area_m2=disp.area_m2,
                       drag_coefficient=disp.drag_coefficient)
    engines = {e.name: e for e in sc.tug.engines}
    payloads = {p.name: p for p in sc.payloads}
    warnings: list[str] = []
    nfev = 0

    start = dropoff_state(sc.dropoff)
    r0, v0, resid = osculating_from_mean(start, force, samples=samples,
                                         mass_kg=sc.initial_mass_kg)
    if resid[0] > 1e-3:
        warnings.append(f"drop-off mean elements matched only to {resid[0] * 1000:.1f} m in a")
    y = np.r_[r0, v0, sc.initial_mass_kg]
    t = 0.0
    m_prop = 0.0

    events = []
    for leg in plan.legs:
        for b in leg.burns:
            events.append((b.t_s, len(events), "burn", leg, b))
        if leg.delivery is not None:
            events.append((leg.delivery.t_s, len(events), "delivery", leg, leg.delivery))
    if timing == "epoch":
        ordered = sorted(events, key=lambda ev: (ev[0], ev[1]))
        if [ev[1] for ev in ordered] != [ev[1] for ev in events]:
            warnings.append("the plan's events are not in time order; flown in time order")
    else:  # retimed burns keep the plan's order (a leg's burns, then its delivery)
        ordered = events

    planned_prev = start
    deliveries: list[DeliveryCheck] = []
    burn_checks: list[BurnCheck] = []
    t_floor = 0.0  # time of the last event flown: a retimed burn may not move before it
    shifted = False
    for t_ev, _, kind, leg, obj in ordered:
        if t_ev < t - 1e-6 and not (timing == "position" and shifted):
            warnings.append(f"leg {leg.index}: {getattr(obj, 'label', 'delivery')} planned at "
                            f"t = {t_ev:.1f} s starts {t - t_ev:.1f} s late (the previous "
                            "thrust arc was still running)")
        if t_ev > t:
            seg = propagate(t, y, t_ev, force, backend=backend)
            nfev += seg.nfev
            y, t = seg.y, t_ev
        if kind == "burn":
            b: Burn = obj
            eng = engines.get(b.engine)
            if eng is None:
                raise ValueError(f"leg {leg.index} {b.label}: engine {b.engine!r} is not on "
                                 "the tug")
            ve = eng.isp_s * G0_KM_S2
            if b.low_thrust:
                arc, note = _thrust_arc(b, planned_prev, eng, float(y[6]))
                if note:
                    warnings.append(f"leg {leg.index} {note}")
                seg = propagate(t, y, t + b.duration_s, force, arc, backend=backend)
                nfev += seg.nfev
                m_prop += float(y[6] - seg.y[6])
                y, t = seg.y, t + b.duration_s
            else:
                if timing == "position":
                    t_new, y, n_used = _retime(t, y, b.u_rad, t_floor, force, backend)
                    nfev += n_used
                    shifted = shifted or abs(t_new - b.t_s) > 1e-3
                    t = t_new
                dv = tnw_to_inertial(y[:3], y[3:6], b.dv_tnw_kms)
                m_after = float(y[6]) * math.exp(-float(np.linalg.norm(dv)) / ve)
                m_prop += float(y[6]) - m_after
                y = np.r_[y[:3], y[3:6] + dv, m_after]
            t_floor = t
            if trace_burns:
                burn_checks.append(_burn_check(leg.index, b, t, mean_orbit(t, y, force,
                                                                           samples)))
            if b.orbit_after is not None:
                planned_prev = b.orbit_after
        else:
            dlv = obj
            achieved = mean_orbit(t, y, force, samples)
            payload = payloads.get(dlv.payload)
            if payload is None:
                raise ValueError(f"leg {leg.index}: payload {dlv.payload!r} is not in the "
                                 "scenario")
            checks = _checks(dlv.payload, payload.target, t, achieved, dlv.orbit)
            deliveries.append(DeliveryCheck(
                payload=dlv.payload, leg=leg.index, t_s=t, achieved=achieved,
                planned=dlv.orbit, checks=checks, passed=all(c.passed for c in checks)))
            y = np.r_[y[:6], y[6] - payload.mass_kg]
            planned_prev = dlv.orbit
            t_floor = t

    final = None
    planned_final = None
    if ordered:
        final = mean_orbit(t, y, force, samples)
        planned_final = planned_prev
    mass = _mass_check(plan, m_prop, float(y[6]))
    passed = all(d.passed for d in deliveries) and mass.passed
    days = t / 86400.0
    return Verification(
        scenario=sc.name, force_model=force.describe(), passed=passed,
        deliveries=tuple(deliveries), mass=mass, burns=tuple(burn_checks), undelivered=tuple(plan.undelivered),
        final_orbit=final, planned_final_orbit=planned_final, warnings=tuple(warnings),
        stats=(("wall_time_s", time.perf_counter() - wall), ("rhs_evaluations", float(nfev)),
               ("days_propagated", days)))


def _mass_check(plan: Plan, propagated_kg: float, final_propagated_kg: float) -> MassCheck:
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
                expect = b.mass_before_kg * math.exp(-b.dv_kms / (eng.isp_s * G0_KM_S2))
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
    return MassCheck(
        burns_propellant_kg=burns_prop, plan_propellant_kg=float(plan.propellant_used_kg),
        propagated_propellant_kg=float(propagated_kg),
        final_mass_plan_kg=float(plan.final_mass_kg),
        final_mass_propagated_kg=float(final_propagated_kg), max_chain_error_kg=float(worst),
        passed=passed, notes=tuple(notes))


__all__ = ["BurnCheck", "DeliveryCheck", "ElementCheck", "MassCheck", "Verification", "dropoff_state",
           "target_at", "verify"]
