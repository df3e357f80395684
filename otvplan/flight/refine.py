"""Flight-ready burns: a plan's burns corrected so that, flown exactly as written (open loop)
in the numerical propagator, they deliver every payload within its tolerances.

The planner sizes burns on mean elements (first-order J2 secular theory plus Brouwer's J2^2
rates). Fired as written, at their epochs and with their T/N/W delta-v, the burns act on the
osculating orbit, so after a plane change the mean a is 0.1-1 km off, the tug drifts
ahead of or behind the plan over a months-long drift, and later burns fire away from their
node line (``docs/verification.md``). :func:`refine` corrects every impulsive burn against the
numerical propagator, in the order the plan flies them, so that the flown orbit after each burn
is the planned one:

- **time**: the burn fires when the propagated tug reaches the burn's planned place in its
  orbit (its argument of latitude ``Burn.u_rad``; the true longitude in an equatorial orbit)
  nearest its planned epoch;
- **magnitude and direction**: a correction in the burn's T/N/W frame is solved by Newton's
  method (two-body Jacobian, Broyden updates) so that the *mean* semi-major axis after the
  burn is the planned ``orbit_after.a_km`` to 1 m, and for a plane change fired near a node also
  the mean inclination to 2e-4 deg. RAAN, e and the argument of perigee follow from firing at
  the planned place.

This is a sequential shooting method: each burn is a small boundary-value problem (the state
before it is the propagated one, the target its planned mean orbit after), solved against the
same force model :func:`otvplan.flight.verify.verify` flies. It is exactly the burn-by-burn
correction of guided verification (:func:`otvplan.flight.verify.verify`, ``execution="guided"``:
``_seek`` and ``_fly_trimmed`` there), run once, with the burns it fires recorded: their epochs
and their delta-v in the T/N/W frame of the osculating state before the burn, the frame in
which open-loop execution applies ``Burn.dv_tnw_kms``
(:func:`otvplan.flight.propagation.tnw_to_inertial`).
Flown open loop, the refined plan therefore retraces the guided flight, up to the integrator's
error (the two flights split the integration at different points).

The new :class:`~otvplan.model.Plan` carries the refined burns (epoch, delta-v and its T/N/W
components) with the rocket equation re-booked burn by burn at the tug's real mass, the deliveries
at the times the payloads were released, and the totals (delta-v, propellant, final mass). Each
burn keeps its planned ``orbit_after`` (the orbit the refined burn reaches), re-timed to the
refined epoch. Low-thrust arcs are left as planned (their start moves only when an earlier
event ends later); their propellant is fixed by thrust and duration, and their delta-v
is re-booked for the mass they start with. A refined plan records ``("refined", 1.0)`` and the
delta-v the refinement added in ``Plan.solver_stats``, so ``plan.json`` says it was refined.

Force model: that of :func:`~otvplan.flight.verify.verify` - two-body and zonal harmonics up to
``zonal`` (2 by default: J2; 3, 4 add J3, J4), optionally exponential drag with the disposal
settings' area and Cd. The refined burns are flight-ready *for that force model*: the open-loop
check must use the same ``zonal`` and ``drag``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from otvplan.constants import G0_KM_S2
from otvplan.core.orbits import raan_rate
from otvplan.flight.propagation import Backend, ForceModel
from otvplan.flight.results import EQUATORIAL_RAD, BurnExecution, Verification
from otvplan.flight.verify import verify
from otvplan.model import Burn, Delivery, Leg, OrbitState, Plan

#: Keys the refinement adds to ``Plan.solver_stats`` (plan.json keeps them).
STAT_REFINED = "refined"
STAT_DV_ADDED = "refine_dv_added_m_s"
STAT_MAX_SHIFT = "refine_max_shift_s"


@dataclass(frozen=True)
class BurnRefinement:
    """One burn before and after refinement, in core units (s, km/s, kg).

    ``shift_s`` = refined - planned epoch; ``correction_tnw_kms`` = refined - planned delta-v
    in the burn's T/N/W frame and ``correction_kms`` its magnitude; ``dv_added_kms`` =
    |refined| - |planned|, what the real dynamics cost (negative when cheaper). ``trimmed``:
    which mean elements the correction targets (``a``, ``a+i``; empty for a low-thrust arc);
    ``a_residual_km``, ``i_residual_rad``: what is left of them, mean achieved - planned
    ``orbit_after`` after the correction.
    """

    leg: int
    label: str
    low_thrust: bool
    planned_t_s: float
    refined_t_s: float
    planned_dv_tnw_kms: tuple[float, float, float]
    refined_dv_tnw_kms: tuple[float, float, float]
    planned_dv_kms: float
    refined_dv_kms: float
    planned_propellant_kg: float
    refined_propellant_kg: float
    trimmed: str = ""
    a_residual_km: float | None = None
    i_residual_rad: float | None = None

    @property
    def shift_s(self) -> float:
        return self.refined_t_s - self.planned_t_s

    @property
    def correction_tnw_kms(self) -> tuple[float, float, float]:
        return _tnw(r - p for r, p in zip(self.refined_dv_tnw_kms, self.planned_dv_tnw_kms))

    @property
    def correction_kms(self) -> float:
        return float(np.linalg.norm(self.correction_tnw_kms))

    @property
    def dv_added_kms(self) -> float:
        return self.refined_dv_kms - self.planned_dv_kms


@dataclass(frozen=True)
class Refinement:
    """What :func:`refinement` returns: the refined plan, the plan it came from, each burn
    before and after, the force model, and whether every burn was corrected within the limits
    of guided execution (``converged``; ``notes`` says which burn was not and why)."""

    planned: Plan
    plan: Plan
    burns: tuple[BurnRefinement, ...]
    force_model: str
    converged: bool
    notes: tuple[str, ...] = ()
    #: wall-clock time the refinement took [s] (not compared)
    wall_time_s: float = field(default=0.0, compare=False)

    @property
    def planned_dv_kms(self) -> float:
        return float(self.planned.total_dv_kms)

    @property
    def refined_dv_kms(self) -> float:
        return float(self.plan.total_dv_kms)

    @property
    def dv_added_kms(self) -> float:
        """Refined - planned total delta-v [km/s]: the cost of flying the real dynamics."""
        return self.refined_dv_kms - self.planned_dv_kms

    @property
    def propellant_added_kg(self) -> float:
        return float(self.plan.propellant_used_kg - self.planned.propellant_used_kg)

    @property
    def max_shift_s(self) -> float:
        return max((abs(b.shift_s) for b in self.burns), default=0.0)

    @property
    def max_correction_kms(self) -> float:
        return max((b.correction_kms for b in self.burns), default=0.0)


def _tnw(values: Iterable[float]) -> tuple[float, float, float]:
    """A T/N/W triple of plain floats."""
    t, n, w = (float(c) for c in values)
    return (t, n, w)


def _shifted(o: OrbitState, t_s: float) -> OrbitState:
    """A planned mean orbit re-timed to ``t_s``: the place in the orbit (u) kept, the node
    carried at its secular rate (an equatorial orbit's node, a convention, is kept so that its
    true longitude RAAN + u, the place guided execution seeks, stays the same)."""
    if t_s == o.t_s:
        return o
    raan = o.raan_rad
    if o.inc_rad >= EQUATORIAL_RAD:
        raan += float(raan_rate(o.a_km, o.e, o.inc_rad)) * (t_s - o.t_s)
    return dataclasses.replace(o, t_s=float(t_s), raan_rad=float(raan))


def _rebook(
    plan: Plan, fired: dict[tuple[int, int], BurnExecution], released: dict[int, float]
) -> tuple[Plan, tuple[BurnRefinement, ...]]:
    """The plan with each burn as fired (epoch, T/N/W delta-v) and the rocket equation booked
    again burn by burn from the initial mass; deliveries at their release times."""
    sc = plan.scenario
    engines = {e.name: e for e in sc.tug.engines}
    m = sc.initial_mass_kg
    legs: list[Leg] = []
    rows: list[BurnRefinement] = []
    max_shift = 0.0
    for leg in plan.legs:
        m_leg = m
        burns: list[Burn] = []
        for k, b in enumerate(leg.burns):
            x = fired.get((leg.index, k))
            eng = engines[b.engine]
            ve = eng.isp_s * G0_KM_S2
            t_new = float(x.fired_t_s) if x is not None else float(b.t_s)
            if b.low_thrust:
                # Thrust and duration fix the propellant; the delta-v follows from the mass.
                dv_tnw = _tnw(b.dv_tnw_kms)
                prop = float(b.propellant_kg)
                if m == b.mass_before_kg:
                    dv, m_after = float(b.dv_kms), float(b.mass_after_kg)
                else:
                    m_after = m - prop
                    dv = ve * math.log(m / m_after)
            else:
                trim = x.trim_tnw_kms if x is not None else (0.0, 0.0, 0.0)
                dv_tnw = _tnw(p + c for p, c in zip(b.dv_tnw_kms, trim))
                dv = float(np.linalg.norm(dv_tnw))
                if dv_tnw == _tnw(b.dv_tnw_kms) and m == b.mass_before_kg:
                    m_after, prop = float(b.mass_after_kg), float(b.propellant_kg)
                    dv = float(b.dv_kms)
                else:
                    m_after = m * math.exp(-dv / ve)
                    prop = m - m_after
            max_shift = max(max_shift, abs(t_new - b.t_s))
            burns.append(
                dataclasses.replace(
                    b,
                    t_s=t_new,
                    dv_kms=dv,
                    dv_tnw_kms=dv_tnw,
                    propellant_kg=prop,
                    mass_before_kg=m,
                    mass_after_kg=m_after,
                    orbit_after=_shifted(b.orbit_after, b.orbit_after.t_s + (t_new - b.t_s))
                    if b.orbit_after is not None
                    else None,
                )
            )
            rows.append(
                BurnRefinement(
                    leg=leg.index,
                    label=b.label,
                    low_thrust=b.low_thrust,
                    planned_t_s=float(b.t_s),
                    refined_t_s=t_new,
                    planned_dv_tnw_kms=_tnw(b.dv_tnw_kms),
                    refined_dv_tnw_kms=dv_tnw,
                    planned_dv_kms=float(b.dv_kms),
                    refined_dv_kms=dv,
                    planned_propellant_kg=float(b.propellant_kg),
                    refined_propellant_kg=prop,
                    trimmed=x.trimmed if x is not None else "",
                    a_residual_km=x.a_residual_km if x is not None else None,
                    i_residual_rad=x.i_residual_rad if x is not None else None,
                )
            )
            m = m_after
        dlv: Delivery | None = leg.delivery
        if dlv is not None:
            t_rel = released.get(leg.index, dlv.t_s)
            dlv = dataclasses.replace(dlv, t_s=float(t_rel), orbit=_shifted(dlv.orbit, t_rel))
            m -= dlv.mass_kg
        end = max(
            [leg.t_end_s]
            + [b.t_s + (b.duration_s if b.low_thrust else 0.0) for b in burns]
            + ([dlv.t_s] if dlv is not None else [])
        )
        legs.append(
            dataclasses.replace(
                leg,
                burns=tuple(burns),
                delivery=dlv,
                t_end_s=float(end),
                dv_kms=float(
                    leg.dv_kms + sum(b.dv_kms for b in burns) - sum(b.dv_kms for b in leg.burns)
                ),
                propellant_kg=float(sum(b.propellant_kg for b in burns)),
                mass_before_kg=float(m_leg),
                mass_after_kg=float(m),
            )
        )
    used = float(sum(b.propellant_kg for leg in legs for b in leg.burns))
    total_dv = float(sum(leg.dv_kms for leg in legs))
    remaining = float(sc.tug.propellant_kg - used)
    stats = tuple(
        s for s in plan.solver_stats if s[0] not in (STAT_REFINED, STAT_DV_ADDED, STAT_MAX_SHIFT)
    )
    planned_dv = plan.total_dv_kms
    for s in plan.solver_stats:  # refining a refined plan: the cost is against the first plan
        if s[0] == STAT_DV_ADDED:
            planned_dv -= s[1] / 1000.0
    stats += (
        (STAT_REFINED, 1.0),
        (STAT_DV_ADDED, (total_dv - planned_dv) * 1000.0),
        (STAT_MAX_SHIFT, max_shift),
    )
    feasible, reasons = plan.feasible, plan.infeasible_reasons
    margin = remaining - sc.tug.reserve_kg
    if feasible and margin < 0.0:
        feasible = False
        reasons = reasons + (
            f"the refined burns need {-margin:.3f} kg of propellant more than the usable load",
        )
    duration = max([plan.duration_s] + [leg.t_end_s for leg in legs])
    return dataclasses.replace(
        plan,
        legs=tuple(legs),
        total_dv_kms=total_dv,
        propellant_used_kg=used,
        propellant_remaining_kg=remaining,
        final_mass_kg=float(m),
        duration_s=float(duration),
        feasible=feasible,
        infeasible_reasons=reasons,
        solver_stats=stats,
    ), tuple(rows)


def _fired(plan: Plan, v: Verification) -> dict[tuple[int, int], BurnExecution]:
    """Each burn's execution record, keyed by (leg index, burn position in the leg). Guided
    verification flies the burns in the plan's order, one record each."""
    keys = [(leg.index, k) for leg in plan.legs for k in range(len(leg.burns))]
    if len(keys) != len(v.executions):
        raise RuntimeError(f"{len(v.executions)} burns flown for {len(keys)} planned")
    return dict(zip(keys, v.executions))


def refinement(
    plan: Plan,
    *,
    drag: bool = False,
    zonal: int = 2,
    backend: Backend = "compiled",
    samples: int = 64,
) -> Refinement:
    """Refine a plan's burns against the numerical propagator (see the module's docstring) and
    return the refined plan with the record of every burn before and after.

    ``zonal`` (2, 3 or 4) and ``drag`` choose the force model, ``backend`` the DOP853
    implementation and ``samples`` the points per orbit of the mean elements, as for
    :func:`otvplan.flight.verify.verify`. One propagation of the whole mission (plus one orbit
    per burn for the mean elements its correction is measured on). A plan of low-thrust arcs
    only has nothing to correct and is returned as it is (with the refinement's statistics).

    ``converged`` is False when a burn found no crossing of its planned place within an eighth
    of an orbit of its epoch, or needed a correction beyond guided execution's trim limit
    (max(0.5 m/s, 2 % of the burn)) or whose Newton iteration did not converge: the plan is then
    inconsistent at that burn, and the refined burns, though still the burns that were fired,
    are not expected to deliver.
    """
    wall = time.perf_counter()
    if not any(not b.low_thrust for leg in plan.legs for b in leg.burns):
        # Only low-thrust arcs, which are flown as planned: nothing to correct, nothing to fly.
        refined, rows = _rebook(plan, {}, {})
        disp = plan.scenario.constraints.disposal
        force = ForceModel(
            zonal=zonal, drag=drag, area_m2=disp.area_m2, drag_coefficient=disp.drag_coefficient
        )
        return Refinement(
            planned=plan,
            plan=refined,
            burns=rows,
            force_model=force.describe(),
            converged=True,
            wall_time_s=time.perf_counter() - wall,
        )
    v = verify(
        plan,
        execution="guided",
        drag=drag,
        zonal=zonal,
        backend=backend,
        samples=samples,
        trace_burns=False,
    )
    fired = _fired(plan, v)
    released = {d.leg: d.t_s for d in v.deliveries}
    refined, rows = _rebook(plan, fired, released)
    notes = tuple(f"leg {x.leg} {x.label}: {x.note}" for x in v.executions if not x.passed)
    return Refinement(
        planned=plan,
        plan=refined,
        burns=rows,
        force_model=v.force_model,
        converged=not notes,
        notes=notes,
        wall_time_s=time.perf_counter() - wall,
    )


def refine(
    plan: Plan,
    *,
    drag: bool = False,
    zonal: int = 2,
    backend: Backend = "compiled",
    samples: int = 64,
) -> Plan:
    """The plan with flight-ready burns: :func:`refinement`'s ``plan``."""
    return refinement(plan, drag=drag, zonal=zonal, backend=backend, samples=samples).plan


def refined_stats(plan: Plan) -> dict[str, float]:
    """The refinement's entries of ``plan.solver_stats`` (empty for a plan never refined)."""
    return {
        k: v for k, v in plan.solver_stats if k in (STAT_REFINED, STAT_DV_ADDED, STAT_MAX_SHIFT)
    }


__all__ = [
    "BurnRefinement",
    "Refinement",
    "refine",
    "refined_stats",
    "refinement",
]
