"""The mission solver: ``plan(scenario) -> Plan``. No I/O.

1. Build the orbit table (drop-off + targets) and the leg context (engines, drift and phasing
   grids) from the scenario (:mod:`otvplan.planning.legs`).
2. Search delivery orders and leg options (:mod:`otvplan.planning.sequencing`).
3. Add the disposal leg to every complete sequence, pick the answer for the objective
   (least propellant, shortest duration, or the Pareto front of the two).
4. Rebuild the chosen legs option by option into burns, phases and deliveries, booking the
   rocket equation burn by burn at the tug's real mass.

When no complete sequence fits, the plan is the best partial one and says what is missing:
the propellant shortfall (from a search without the propellant limit) and the time shortfall
(from a search without the time limits).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from otvplan.planning import legs as lg
from otvplan.core import maneuvers as mnv
from otvplan.constants import MU_EARTH_KM3_S2, R_EARTH_KM, SECONDS_PER_DAY
from otvplan.errors import InfeasibleError, Shortfall
from otvplan.model import (
    Burn,
    Delivery,
    Leg,
    OrbitState,
    Phase,
    Plan,
    Scenario,
)
from otvplan.core.orbits import (
    TWO_PI,
    argument_of_latitude_rate,
    plane_normal,
    raan_rate,
    rv_to_coe,
    secular_rates,
)
from otvplan.planning import schedule
from otvplan.planning.sequencing import Bound, Layer, SearchSettings, has_bit, initial_layer, path_to, search

OBJECTIVES = ("propellant", "duration", "pareto")
#: Time limit of a solve [s] when the scenario sets none (``solver.time_limit``): past it every
#: search returns the best it has, marked as not proven optimal.
DEFAULT_TIME_LIMIT_S = 60.0
#: Share of the time limit that the shortfall analysis of an infeasible mission may add.
SHORTFALL_SHARE = 0.25


@dataclass(frozen=True)
class SolverOptions:
    """Per-call overrides of the scenario's solver settings (None keeps the scenario's)."""

    objective: str | None = None
    exact_max_payloads: int | None = None
    beam_width: int | None = None
    #: "auto": the continuous-time planner (:mod:`otvplan.planning.schedule`) where it applies, else
    #: the general search; "grid": always the general search on its grids of drift durations
    method: str = "auto"


# --------------------------------------------------------------------------------------------
# Disposal
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisposalTable:
    """Disposal from each node's orbit: target perigee radius [km] and delta-v [km/s]."""

    perigee_km: np.ndarray
    dv_chemical: np.ndarray
    dv_electric: np.ndarray


def disposal_table(scenario: Scenario, nodes: lg.Nodes, mu=MU_EARTH_KM3_S2) -> DisposalTable:
    """Disposal target and cost from every node's orbit (computed once per plan).

    ``perigee``: move the perigee to the given altitude (lowering it with one retrograde burn at
    apogee; or, above the orbit, a graveyard: a Hohmann transfer to a circular orbit there, as
    for GEO end of life, IADC-02-01 sec. 5.3.1). ``reentry``: lower it until the orbit
    decays within the years asked for, for the tug's dry mass, area and drag coefficient
    (:func:`otvplan.core.lifetime.perigees_for_lifetime`). A chemical tug makes one retrograde burn
    at apogee (Vallado Alg. 36 half-transfer); an electric tug spirals down to a circular orbit
    at that perigee (Edelbaum coplanar, |dv| = difference of circular speeds), which decays at
    least as fast as the ellipse.
    """
    d = scenario.constraints.disposal
    apogee = nodes.a * (1.0 + nodes.e)
    if d.kind == "none":
        zero = np.zeros(nodes.n)
        return DisposalTable(np.full(nodes.n, np.nan), zero, zero)
    if d.kind == "perigee":
        rp = np.full(nodes.n, R_EARTH_KM + float(d.perigee_altitude_km))
    else:
        from otvplan.core.lifetime import perigees_for_lifetime

        ballistic = scenario.tug.dry_mass_kg / (d.drag_coefficient * d.area_m2)
        unique, inverse = np.unique(apogee, return_inverse=True)
        rp = np.asarray(perigees_for_lifetime(
            unique, float(d.reentry_years) * 365.25 * SECONDS_PER_DAY, ballistic),
            float)[inverse.reshape(-1)]
    a = nodes.a
    raise_ = rp > apogee  # a graveyard orbit above (GEO): circularise there (Hohmann)
    rp_low = np.minimum(rp, apogee)
    v_apo = np.sqrt(mu * (2.0 / apogee - 1.0 / a))
    v_new = np.sqrt(mu * (2.0 / apogee - 2.0 / (apogee + rp_low)))
    lower = np.maximum(v_apo - v_new, 0.0)
    up = mnv.apse_transfer(apogee, a, np.maximum(rp, apogee), np.maximum(rp, apogee), mu)
    dv_chem = np.where(raise_, np.abs(np.asarray(up.dv1)) + np.abs(np.asarray(up.dv2)), lower)
    dv_elec = np.abs(np.sqrt(mu / rp) - np.sqrt(mu / a))
    return DisposalTable(rp, dv_chem, dv_elec)


# --------------------------------------------------------------------------------------------
# plan()
# --------------------------------------------------------------------------------------------


def plan(scenario: Scenario, objective: str | None = None, *, strict: bool = False,
         options: SolverOptions | None = None, progress=None) -> Plan:
    """Plan the mission: delivery order, leg strategies, burns and propellant.

    ``objective``: ``"propellant"`` (least propellant within the duration limit and deadlines),
    ``"duration"`` (earliest end within the propellant available) or ``"pareto"`` (least
    propellant, with the propellant-duration front in ``Plan.alternatives``); default: the
    scenario's. With ``strict=True`` an infeasible mission raises
    :class:`otvplan.errors.InfeasibleError` instead of returning a partial plan. ``progress``
    receives a dict after each refinement round of a long solve (see :func:`otvplan.plan`).
    A plan that the physics cannot fly (a burn longer than the mission, a disposal the
    lifetime model cannot meet) is returned infeasible with the reason.
    """
    p = _plan(scenario, objective, options, progress)
    p = _physical_checks(p)
    if strict and not p.feasible:
        raise InfeasibleError(
            "not every payload can be delivered: " + "; ".join(p.infeasible_reasons),
            Shortfall(p.shortfall_propellant_kg, p.shortfall_time_s,
                      list(p.infeasible_reasons)))
    return p


def _physical_checks(p: Plan) -> Plan:
    """Mark infeasible what the planning model cannot fly: burns longer than the mission
    (a chemical engine far too weak), and a re-entry disposal that no perigee above the
    re-entry altitude meets."""
    sc = p.scenario
    reasons = []
    span = sc.constraints.max_duration_s or math.inf
    for leg in p.legs:
        for b in leg.burns:
            if not b.low_thrust and b.duration_s > span:
                reasons.append(
                    f"thrust: leg {leg.index} {b.label} would last {_span(b.duration_s)}, longer "
                    f"than the {_span(span)} mission; the engine's thrust is far too low")
                break
    d = sc.constraints.disposal
    if d.kind == "reentry" and p.legs and p.legs[-1].strategy == "disposal":
        from otvplan.core.lifetime import lifetimes

        last = p.legs[-1]
        orbit = last.burns[-1].orbit_after if last.burns else None
        if orbit is not None:
            rp = orbit.a_km * (1.0 - orbit.e)
            ra = orbit.a_km * (1.0 + orbit.e)
            ballistic = sc.tug.dry_mass_kg / (d.drag_coefficient * d.area_m2)
            life = float(np.asarray(lifetimes(rp, ra, ballistic)))
            want = float(d.reentry_years) * 365.25 * SECONDS_PER_DAY
            if life > 1.05 * want + 1.0:
                reasons.append(
                    f"disposal: re-entry within {_span(want)} cannot be met (the lowest "
                    f"perigee, {rp - R_EARTH_KM:.0f} km, decays in {_span(life)})")
    warnings = list(p.warnings)
    for leg in p.legs:
        for b in leg.burns:
            period = 2.0 * math.pi * math.sqrt(b.orbit_after.a_km ** 3 / MU_EARTH_KM3_S2) \
                if b.orbit_after is not None and b.orbit_after.a_km > 0 else math.inf
            if not b.low_thrust and b.duration_s > period:
                warnings.append(
                    f"LONG BURN: leg {leg.index} {b.label} lasts {_span(b.duration_s)}, more than "
                    f"an orbit ({_span(period)}): an impulsive burn is no model for it; add "
                    "thrust or plan it as low thrust")
    if not reasons:
        return replace(p, warnings=tuple(warnings)) if len(warnings) != len(p.warnings) else p
    return replace(p, feasible=False, exact=False, warnings=tuple(warnings),
                   infeasible_reasons=tuple(p.infeasible_reasons) + tuple(reasons))


def _span(seconds: float) -> str:
    """A duration for a message: seconds, hours or days."""
    if seconds < 600.0:
        return f"{seconds:.3g} s"
    if seconds < 2.0 * SECONDS_PER_DAY:
        return f"{seconds / 3600.0:.3g} h"
    return f"{seconds / SECONDS_PER_DAY:,.1f} d"


def _plan(scenario: Scenario, objective: str | None, options: SolverOptions | None,
          progress) -> Plan:
    t_start = time.perf_counter()
    options = options or SolverOptions()
    objective = objective or options.objective or scenario.solver.objective
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    nodes = lg.nodes_from_scenario(scenario)
    ctx = lg.context_from_scenario(scenario)
    n = nodes.n - 1
    exact_max = options.exact_max_payloads or scenario.solver.exact_max_payloads
    beam = options.beam_width or scenario.solver.beam_width
    tug = scenario.tug
    m0 = scenario.initial_mass_kg
    horizon = scenario.constraints.max_duration_s
    limit_s = scenario.solver.time_limit_s
    if limit_s is None:
        limit_s = DEFAULT_TIME_LIMIT_S
    deadline = t_start + limit_s
    settings = SearchSettings(
        dry_kg=tug.dry_mass_kg, reserve_kg=tug.reserve_kg,
        horizon_s=math.inf if horizon is None else float(horizon),
        separation_s=scenario.constraints.min_deploy_separation_s,
        exact=n <= exact_max, beam_width=beam, deadline_s=deadline,
    )
    cache = lg.DriftCache()
    electric_disposal = ctx.chemical is None
    eng = ctx.chemical or ctx.electric
    disp = disposal_table(scenario, nodes)
    warnings: list[str] = _input_warnings(scenario)
    fast_path = (options.method == "auto" and ctx.chemical is not None
                 and schedule.is_time_invariant(nodes, ctx, settings.horizon_s))
    fast = None
    if objective in ("propellant", "pareto") and fast_path:
        fast = _plan_time_invariant(scenario, nodes, ctx, m0, settings, disp, deadline,
                                    objective, t_start, progress, list(warnings))
        if fast is not None and objective == "propellant":
            return fast
    bound = None
    leg_lb = None
    if ctx.electric is None and ctx.chemical is not None and (
            n > 3 and (objective == "propellant" or not settings.exact)):
        leg_lb = _leg_lower_bounds(nodes, ctx, m0, settings, cache)
    if objective == "propellant" and settings.exact and leg_lb is not None:
        bound = _bound(scenario, nodes, ctx, m0, settings, cache, disp, leg_lb)
    if settings.exact:
        result = search(nodes, ctx, m0, settings, cache, bound=bound)
    else:  # large manifest: the best of several beam searches
        _, result = _best_beam(nodes, ctx, m0, settings, cache, disp, leg_lb, settings.beam_width)
    if time.perf_counter() > deadline:
        warnings.append("solver.time_limit reached: the search finished as a beam search; the "
                        "plan is the best found, not proven optimal")
    if scenario.solver.drift_grid > lg.MAX_DRIFT_GRID:
        warnings.append(f"solver.drift_grid {scenario.solver.drift_grid} is capped at "
                        f"{lg.MAX_DRIFT_GRID} drift durations per leg")
    finals = _finals(disp, nodes, result.layers, eng, electric_disposal, settings)
    chosen, alternatives = _choose(finals, objective, n, settings, tug.propellant_kg)
    feasible = chosen is not None
    shortfall = Shortfall()
    if not feasible:
        extra = replace(settings, deadline_s=time.perf_counter() + SHORTFALL_SHARE * limit_s)
        shortfall = _shortfalls(scenario, nodes, ctx, m0, extra, cache, eng,
                                electric_disposal, disp,
                                left_fn=_left_fn(scenario, nodes, ctx, extra, disp)
                                if fast_path else None)
        chosen = _best_partial(finals, nodes, settings.reserve_kg)
    depth, index = chosen["depth"], chosen["index"]
    built = _build(scenario, nodes, ctx, result.layers, depth, index, cache, eng,
                   electric_disposal, warnings, disp, dispose=chosen.get("dispose", True))
    lb = None
    # Exact only when nothing was gridded: drift durations and phasing revolution counts are
    # offered on grids here, so a search that used them is optimal on the grid, not in the
    # continuous leg model (time-invariant manifests take the certified path above).
    gridded = cache.misses > 0 or bool(np.any(~np.isnan(nodes.slot0[1:])))
    exact = (not result.truncated) and (not result.capped) and not gridded
    if result.truncated and leg_lb is not None:
        lb = _propellant_lower_bound(scenario, nodes, leg_lb, disp, ctx.chemical)
    stats = dict(result.stats)
    if fast is not None and feasible:
        # the front of the general search, with the continuous planner's least-propellant
        # plan as its cheapest point (that plan is the one returned)
        points = sorted(set(alternatives) | {(fast.duration_s, fast.propellant_used_kg)})
        front, best_p = [], math.inf
        for t_s, prop in points:
            if prop < best_p - 1e-9:
                front.append((t_s, prop))
                best_p = prop
        return replace(fast, alternatives=tuple(front), objective=objective,
                       solve_time_s=time.perf_counter() - t_start)
    plan_ = _assemble(scenario, objective, built, feasible, shortfall, exact, lb, alternatives,
                      warnings, stats, time.perf_counter() - t_start)
    return plan_


def _assemble(scenario, objective, built, feasible, shortfall, exact, lb, alternatives,
              warnings, stats, solve_time_s) -> Plan:
    """The :class:`Plan` of built legs, with its totals."""
    m0 = scenario.initial_mass_kg
    delivered = tuple(leg.delivery.payload for leg in built if leg.delivery is not None)
    undelivered = tuple(p.name for p in scenario.payloads if p.name not in delivered)
    prop_used = sum(leg.propellant_kg for leg in built)
    final_mass = built[-1].mass_after_kg if built else m0
    duration = built[-1].t_end_s if built else 0.0
    return Plan(
        scenario=scenario, objective=objective, feasible=feasible, legs=tuple(built),
        delivered=delivered, undelivered=undelivered,
        total_dv_kms=float(sum(leg.dv_kms for leg in built)),
        propellant_used_kg=float(prop_used),
        propellant_remaining_kg=float(scenario.tug.propellant_kg - prop_used),
        duration_s=float(duration), final_mass_kg=float(final_mass),
        shortfall_propellant_kg=float(shortfall.propellant_kg),
        shortfall_time_s=float(shortfall.time_s),
        infeasible_reasons=tuple(shortfall.reasons), exact=exact,
        lower_bound_propellant_kg=lb,
        alternatives=tuple(alternatives), warnings=tuple(warnings),
        solver_stats=tuple((k, float(v)) for k, v in sorted(stats.items())),
        solve_time_s=float(solve_time_s),
    )


def _input_warnings(scenario) -> list[str]:
    """Warnings about the scenario itself that every plan of it carries."""
    out = []
    for e in scenario.tug.engines:
        if not math.isfinite(e.thrust_n):
            out.append(f"engine {e.name} has no thrust given: its burns are treated as "
                       "impulsive (no burn durations, no finite-burn check)")
    return out


def _beam_labels(settings, n: int) -> int:
    """Labels per layer of the table beam for n payloads: 32 x solver.beam_width, at most
    what keeps a layer near 400,000 candidates (n payloads x ~25 options), at least 64."""
    return int(max(64, min(32 * settings.beam_width, 400_000 // max(1, 25 * n))))


def _left_fn(scenario, nodes, ctx, settings, disp):
    """Propellant left [kg] at the end of the best plan of a time-invariant manifest with P
    loaded, ignoring the propellant limit (None when nothing closes): for the shortfall."""
    dry = scenario.tug.dry_mass_kg
    payload = float(nodes.mass[1:].sum())
    lim = schedule.Limits(dry_kg=dry, reserve_kg=settings.reserve_kg,
                          horizon_s=settings.horizon_s, separation_s=settings.separation_s,
                          ve_kms=ctx.chemical.ve_kms, enforce_propellant=False)

    def left(p_loaded: float) -> float | None:
        sched = schedule.optimise(nodes, ctx, dry + p_loaded + payload, lim, disp.dv_chemical,
                                  deadline_s=settings.deadline_s, exact=settings.exact,
                                  beam_labels=_beam_labels(settings, nodes.n - 1))
        return None if sched is None else sched.final_mass_kg - dry

    return left


def _plan_time_invariant(scenario, nodes, ctx, m0, settings, disp, deadline, objective,
                         t_start, progress, warnings) -> Plan | None:
    """Plan a time-invariant manifest over leg tables with a certified gap
    (:mod:`otvplan.planning.schedule`); None when it finds no complete plan (the general search then
    explains the shortfall)."""
    lim = schedule.Limits(dry_kg=settings.dry_kg, reserve_kg=settings.reserve_kg,
                          horizon_s=settings.horizon_s, separation_s=settings.separation_s,
                          ve_kms=ctx.chemical.ve_kms)
    sched = schedule.optimise(nodes, ctx, m0, lim, disp.dv_chemical, deadline_s=deadline,
                              progress=progress, exact=settings.exact,
                              beam_labels=_beam_labels(settings, nodes.n - 1))
    if sched is None:
        return None
    layers, contexts = _replay(nodes, ctx, sched.legs, m0, settings)
    built = _build(scenario, nodes, ctx, layers, len(layers) - 1, 0, lg.DriftCache(),
                   ctx.chemical, False, warnings, disp, leg_contexts=contexts)
    payload_mass = float(nodes.mass[1:].sum())
    prop_lb = m0 - payload_mass - sched.bound_final_mass_kg
    prop = sum(leg.propellant_kg for leg in built)
    gap = (prop - prop_lb) / prop if prop > 0 else 0.0
    exact = sched.bound_valid and gap <= schedule.EXACT_GAP
    last = layers[-1]
    ok_time = all(float(lay.t[0]) <= min(float(nodes.deadline[int(lay.j[0])]),
                                          settings.horizon_s) + 1e-6 for lay in layers[1:])
    ok_prop = prop <= scenario.tug.propellant_kg - scenario.tug.reserve_kg + 1e-6
    if not (ok_time and ok_prop and last.size):  # pragma: no cover - conservative tables
        return None
    if sched.timed_out:
        warnings.append(f"solver.time_limit reached: the plan is the best found, "
                        f"optimality gap {gap:.2%} (to the lower bound)")
    stats = dict(sched.stats)
    stats.update(labels=sched.labels)
    return _assemble(scenario, objective, built, True, Shortfall(), exact,
                     prop_lb if sched.bound_valid else None, (), warnings, stats,
                     time.perf_counter() - t_start)


def _replay(nodes, ctx, legs_, m0, settings):
    """Fly the chosen legs (target, strategy, drift duration) from the drop-off with the leg
    model, as one-label search layers for :func:`_build`, and each leg's context."""
    layers = [initial_layer(nodes, m0)]
    contexts = []
    W = layers[0].mask.shape[1]
    for j, k, code, x, a_d, direction in legs_:
        prev = layers[-1]
        drift = code == 1
        c = replace(ctx, drift_durations_s=np.array([x]) if drift else np.zeros(0),
                    fixed_drift=(a_d, direction) if drift else None)
        opts = lg.expand(nodes, c, np.array([j]), np.array([k]), prev.t[:1], prev.m[:1],
                         prev.raan[:1], prev.u[:1], lg.DriftCache(), prune=False)
        base = lg.DRIFT if drift else lg.DIRECT
        sel = np.nonzero((opts.base == base) & (opts.variant == lg.NO_PHASING))[0]
        o = int(sel[0])
        t_prev = -math.inf if int(prev.j[0]) == 0 else float(prev.t[0])
        t_del = max(float(opts.t_end[o]), t_prev + settings.separation_s)
        dwell = t_del - float(opts.t_end[o])
        mask = prev.mask.copy()
        mask[0, k // 64] |= np.uint64(1) << np.uint64(k % 64)
        one = np.ones(1)
        layers.append(Layer(
            mask=mask.reshape(1, W), j=np.array([k]), t=one * t_del,
            m=one * (float(opts.m_end[o]) - float(nodes.mass[k])),
            raan=one * np.mod(float(opts.raan_end[o]) + nodes.raan_rate[k] * dwell, TWO_PI),
            u=one * np.mod(float(opts.u_end[o]) + nodes.u_rate[k] * dwell, TWO_PI),
            parent=np.zeros(1, int), base=np.array([base]), tidx=np.array([int(opts.tidx[o])]),
            variant=np.zeros(1, int), krev=np.zeros(1), t_dep=prev.t[:1].copy(),
            m_dep=prev.m[:1].copy(), raan_dep=prev.raan[:1].copy(), u_dep=prev.u[:1].copy(),
            remaining_payload_mass=prev.remaining_payload_mass[:1] - float(nodes.mass[k])))
        contexts.append(c)
    return layers, contexts


def _leg_lower_bounds(nodes, ctx, m0, settings, cache) -> np.ndarray:
    """``lb[j, k]``: a lower bound on the delta-v [km/s] of any leg from node j's orbit to node
    k's, valid at every time.

    A pair's cost is the same at every time when the target's RAAN is free, or when both
    planes are fixed and turn at the same rate (sun-synchronous manifests): there the bound is
    the least base-strategy delta-v (phasing only adds to it). Elsewhere it is 0, which is
    always valid. After a slotted delivery the plane may carry a phasing residual, so pairs
    leaving a slotted orbit get 0 too.
    """
    n1 = nodes.n
    leg_lb = np.zeros((n1, n1))
    jj, kk = np.meshgrid(np.arange(n1), np.arange(1, n1), indexing="ij")
    jj, kk = jj.ravel(), kk.ravel()
    sel = jj != kk
    jj, kk = jj[sel], kk[sel]
    # "same rate": the gap moves by less than 1e-12 rad over the horizon (rates solved to
    # rounding, e.g. sun-synchronous orbits, differ by ~1e-22 rad/s)
    same_rate = np.abs(nodes.raan_rate[jj] - nodes.raan_rate[kk]) * max(
        settings.horizon_s if math.isfinite(settings.horizon_s) else ctx.horizon_s, 1.0) <= 1e-12
    fixed_j = ~np.isnan(nodes.raan0[jj])
    invariant = np.isnan(nodes.raan0[kk]) | (fixed_j & same_rate)
    invariant &= np.isnan(nodes.slot0[jj]) | (jj == 0)
    if ctx.electric is not None:
        invariant &= False  # spiral options depend on the mass; keep the trivial bound
    if np.any(invariant):
        j_i, k_i = jj[invariant], kk[invariant]
        raan_j = np.mod(nodes.raan0[j_i], TWO_PI)
        lb = lg.expand(nodes, ctx, j_i, k_i, np.zeros(j_i.size), np.full(j_i.size, m0),
                       np.where(np.isnan(raan_j), 0.0, raan_j), np.zeros(j_i.size), cache,
                       base_min_dv=True)
        leg_lb[j_i, k_i] = np.where(np.isfinite(lb), lb, 0.0)
    return leg_lb


def _bound(scenario, nodes, ctx, m0, settings, cache, disp, leg_lb):
    """Branch-and-bound data: per-pair leg delta-v lower bounds and an incumbent plan's final
    mass from a quick beam search. None where bounding does not apply (electric engines)."""
    if ctx.electric is not None or ctx.chemical is None:
        return None
    n1 = nodes.n
    incumbent, _ = _best_beam(nodes, ctx, m0, settings, cache, disp, leg_lb, width=32)
    if not math.isfinite(incumbent):
        return None
    return Bound(leg_lb=leg_lb, disposal_dv=disp.dv_chemical, ve_kms=ctx.chemical.ve_kms,
                 incumbent=incumbent)


#: Beam searches tried for an incumbent and for large manifests: labels ranked by their
#: optimistic completion less a charge for the time used (the time limit is what greedy beams
#: run into), from none to heavy, then by earliest time.
BEAM_CONFIGS = (("propellant", 0.0), ("propellant", 0.05), ("propellant", 0.2),
                ("propellant", 1.0), ("time", 0.0))


def _best_beam(nodes, ctx, m0, settings, cache, disp, leg_lb, width):
    """Run every beam configuration; return (best final mass, its SearchResult)."""
    n = nodes.n - 1
    ranking = None
    if leg_lb is not None and ctx.chemical is not None:
        ranking = Bound(leg_lb=leg_lb, disposal_dv=disp.dv_chemical,
                        ve_kms=ctx.chemical.ve_kms, incumbent=-math.inf)
    eng = ctx.chemical or ctx.electric
    electric_disposal = ctx.chemical is None
    best, best_result = -math.inf, None
    for rank, weight in BEAM_CONFIGS:
        beam = replace(settings, exact=False, beam_width=width, beam_rank=rank,
                       beam_time_weight=weight)
        res = search(nodes, ctx, m0, beam, cache, bound=ranking)
        for r in _finals(disp, nodes, res.layers, eng, electric_disposal, beam):
            if r["depth"] != n:
                continue
            ok = ((r["prop_left"] >= settings.reserve_kg - 1e-9)
                  & (r["t"] <= settings.horizon_s + 1e-6))
            if np.any(ok) and float(r["m"][ok].max()) > best:
                best, best_result = float(r["m"][ok].max()), res
        if best_result is None and res is not None:
            best_result = res  # keep something for partial plans
    return best, best_result


def _finals(disp: DisposalTable, nodes, layers, eng, electric_disposal, s: SearchSettings):
    """Every label of every layer with its disposal added: arrays for selection."""
    rows = []
    for depth, layer in enumerate(layers):
        if layer.size == 0:
            continue
        dv = (disp.dv_electric if electric_disposal else disp.dv_chemical)[layer.j]
        m_fin = layer.m * np.exp(-dv / eng.ve_kms) if eng is not None else layer.m
        t_fin = layer.t.copy()
        if electric_disposal and eng is not None:
            t_fin = t_fin + lg._low_thrust_time(dv, layer.m, eng)
        prop_left = m_fin - layer.remaining_payload_mass - s.dry_kg
        rows.append({"depth": depth, "t": t_fin, "m": m_fin, "prop_left": prop_left,
                     "mask": layer.mask, "n": layer.size})
    return rows


def _choose(finals, objective, n, s: SearchSettings, propellant_kg: float):
    """Pick the final label for the objective; also the (duration s, propellant used kg)
    Pareto front of the complete plans found."""
    full = [r for r in finals if r["depth"] == n]
    if not full:
        return None, []
    r = full[0]
    ok = (r["prop_left"] >= s.reserve_kg - 1e-9) & (r["t"] <= s.horizon_s + 1e-6)
    if not np.any(ok):
        return None, []
    idx = np.nonzero(ok)[0]
    t = r["t"][idx]
    left = r["prop_left"][idx]
    # Pareto front over (duration, propellant used) == (t, -left)
    order = np.lexsort((-left, t))
    best_left = -np.inf
    front = []
    for q in order:
        if left[q] > best_left + 1e-9:
            front.append(q)
            best_left = left[q]
    if objective == "duration":
        q = int(np.lexsort((-left, t))[0])
    else:
        q = int(np.lexsort((t, -left))[0])
    alternatives = [(float(t[f]), float(propellant_kg - left[f])) for f in front]
    return {"depth": n, "index": int(idx[q])}, alternatives


def _best_partial(finals, nodes, reserve_kg):
    """The partial plan to show for an infeasible mission: most priority, then most mass
    delivered, then most propellant left; never one that spends the reserve."""
    best = None
    best_key = None
    for r in finals:
        ok = r["prop_left"] >= reserve_kg - 1e-9
        for i in np.nonzero(ok)[0]:
            delivered = [k for k in range(1, nodes.n) if has_bit(r["mask"][i:i + 1], k)[0]]
            key = (sum(int(nodes.priority[k]) for k in delivered),
                   float(sum(nodes.mass[k] for k in delivered)), float(r["prop_left"][i]),
                   -float(r["t"][i]))
            if best_key is None or key > best_key:
                best_key = key
                best = {"depth": r["depth"], "index": int(i)}
    # None can pay for even its disposal (e.g. no propellant loaded and a disposal to make):
    # the tug stays where it was dropped off; no legs, and no disposal burn it cannot afford.
    return best or {"depth": 0, "index": 0, "dispose": False}


class _OutOfTime(Exception):
    """The shortfall analysis ran out of its share of the time limit."""


def _shortfalls(scenario, nodes, ctx, m0, settings, cache, eng, electric_disposal,
                disp, left_fn=None) -> Shortfall:
    """What an infeasible mission lacks: propellant (the least load with which the whole
    manifest closes within the time limits, by ``left_fn(P)`` - the propellant left at the
    end of the best plan with P loaded - or the general search) and time. Each evaluation
    checks ``settings.deadline_s``; past it the analysis stops and says so."""
    n = nodes.n - 1
    reasons = []
    sf = Shortfall()
    usable = scenario.tug.propellant_kg - scenario.tug.reserve_kg
    # Propellant: the least loaded propellant with which some complete sequence closes within
    # the time limits. Loading more propellant makes the tug heavier, so the answer is the
    # root of left(P) = reserve, where left(P) is the propellant left at the end of the best
    # plan with P loaded: a maximum of affine functions of P (one per plan), increasing and
    # convex, so the secant iteration from the loaded amount converges.
    relaxed = replace(settings, enforce_propellant=False)
    payload_mass = float(nodes.mass[1:].sum())
    dry = scenario.tug.dry_mass_kg
    reserve = scenario.tug.reserve_kg

    massless = [0]

    def left_for(p_loaded):
        if time.perf_counter() > settings.deadline_s:
            raise _OutOfTime
        if left_fn is not None:
            value = left_fn(p_loaded)
            massless[0] = int(value is None)  # grow the load while nothing closes
            return value
        res = search(nodes, ctx, dry + p_loaded + payload_mass, relaxed, cache)
        massless[0] = res.massless
        finals = _finals(disp, nodes, res.layers, eng, electric_disposal, relaxed)
        full = [r for r in finals if r["depth"] == n]
        if not full:
            return None
        ok = full[0]["t"] <= settings.horizon_s + 1e-6
        return float(full[0]["prop_left"][ok].max()) if np.any(ok) else None

    need_prop = None
    try:
        need_prop = _propellant_needed(left_for, massless, scenario, dry, payload_mass, reserve)
    except _OutOfTime:
        reasons.append("propellant: the shortfall was not found within the time limit "
                       "(solver.time_limit)")
    if need_prop is not None and need_prop > usable + 1e-9:
        sf.propellant_kg = need_prop - usable
        msg = (f"propellant: the cheapest complete plan within the time limits needs "
               f"{need_prop:.1f} kg loaded above the reserve, {sf.propellant_kg:.1f} kg more than "
               f"the {usable:.1f} kg usable")
        if need_prop + reserve > scenario.tug.tank_capacity_kg:
            msg += f" (and more than the {scenario.tug.tank_capacity_kg:.1f} kg tank holds)"
        reasons.append(msg)
    # Time: the earliest complete sequence within the propellant, ignoring time limits.
    full_t = []
    if time.perf_counter() <= settings.deadline_s:
        relaxed_t = replace(settings, enforce_time=False, horizon_s=math.inf)
        res_t = search(nodes, ctx, m0, relaxed_t, cache)
        finals_t = _finals(disp, nodes, res_t.layers, eng, electric_disposal, relaxed_t)
        full_t = [r for r in finals_t if r["depth"] == n]
    else:
        reasons.append("time: the shortfall was not found within the time limit "
                       "(solver.time_limit)")
    if full_t:
        r = full_t[0]
        ok = r["prop_left"] >= settings.reserve_kg - 1e-9
        if np.any(ok):
            t_min = float(r["t"][ok].min())
            if t_min > settings.horizon_s:
                sf.time_s = t_min - settings.horizon_s
                reasons.append(
                    f"time: the fastest complete plan within the propellant takes "
                    f"{t_min / SECONDS_PER_DAY:.1f} d, {sf.time_s / SECONDS_PER_DAY:.1f} d over "
                    "the mission limit")
            elif need_prop is None or need_prop <= usable + 1e-9:
                reasons.append("deadlines: no order meets every payload's deliver_by with the "
                               "propellant available")
    if not reasons:
        if need_prop is None and not full_t:
            reasons.append("no complete plan exists even without the propellant or time limits "
                           "(a target cannot be reached by any leg strategy)")
        else:
            reasons.append("propellant and time together: each limit alone can be met, "
                           "not both")
    sf.reasons = reasons
    return sf


def _propellant_needed(left_for, massless, scenario, dry, payload_mass, reserve):
    """The least loaded propellant above the reserve with which a complete plan closes
    (None if none does), by a secant iteration on ``left_for``."""
    need_prop = None
    p0 = scenario.tug.propellant_kg
    left0 = left_for(p0)
    # With far too little propellant for a heavy payload, even the relaxed search finds no
    # complete plan: the tug's mass after a release would not be positive, and such labels are
    # dropped. Load more (doubling) while that is what stops the search; from there the
    # secant below comes down to the root from above (left(P) is convex where it is >= the
    # reserve, so it cannot overshoot).
    grown = False
    for _ in range(60):
        if left0 is not None or massless[0] == 0:
            break
        p0 = 2.0 * p0 + dry + payload_mass
        left0 = left_for(p0)
        grown = True
    if left0 is not None and (left0 < reserve - 1e-9 or grown):
        p1 = p0 + (reserve - left0)  # slope <= 1: this is still short
        left1 = left_for(p1)
        for _ in range(12):
            if left1 is None:
                break
            if abs(left1 - reserve) <= 1e-7 * max(1.0, reserve):
                break
            slope = (left1 - left0) / (p1 - p0) if p1 != p0 else 1.0
            p0, left0 = p1, left1
            p1 = p1 + (reserve - left1) / max(slope, 1e-6)
            left1 = left_for(p1)
        if left1 is not None:
            need_prop = p1 - reserve
    elif left0 is not None:
        need_prop = scenario.tug.propellant_kg - left0
    return need_prop


def _propellant_lower_bound(scenario, nodes, leg_lb, disp, eng) -> float:
    """A lower bound on the propellant of any complete plan within the leg model.

    The delivery order is a path from the drop-off through every target, i.e. a spanning tree
    of the orbits, so its delta-v is at least the minimum spanning tree of the graph whose
    edge (j, k) weighs min(lb[j, k], lb[k, j]) (:func:`_leg_lower_bounds`), plus the cheapest
    disposal. The dry mass (plus reserve) rides every leg and each payload rides at least its
    own cheapest entering leg, so by the rocket equation with drops
    propellant >= M_end (exp(D / ve) - 1) + sum m_k (exp(lb_k / ve) - 1).
    """
    from scipy.sparse.csgraph import minimum_spanning_tree

    n1 = nodes.n
    w = leg_lb.copy()
    w[:, 0] = w[0, :]  # nobody flies back to the drop-off: an edge with 0 is the 0 -> k leg
    sym = np.minimum(w, w.T)
    eps = 1e-12  # csgraph reads 0 as "no edge": shift every weight up by eps
    graph = np.where(np.eye(n1, dtype=bool), 0.0, sym + eps)
    tree = float(minimum_spanning_tree(graph).sum()) - eps * (n1 - 1)
    d_total = max(tree, 0.0) + float(np.min(disp.dv_chemical))
    entering = np.where(np.eye(n1, dtype=bool), np.inf, leg_lb)[:, 1:].min(axis=0)
    entering = np.where(np.isfinite(entering), entering, 0.0)
    ve = eng.ve_kms
    m_end = scenario.tug.dry_mass_kg + scenario.tug.reserve_kg
    return float(m_end * math.expm1(d_total / ve)
                 + np.sum(nodes.mass[1:] * np.expm1(entering / ve)))


# --------------------------------------------------------------------------------------------
# Rebuilding legs into burns
# --------------------------------------------------------------------------------------------


def _unit_r(i, raan, u):
    """Unit position vector at argument of latitude u in plane (i, raan)."""
    cO, sO, ci, si, cu, su = (math.cos(raan), math.sin(raan), math.cos(i), math.sin(i),
                              math.cos(u), math.sin(u))
    return np.array([cO * cu - sO * su * ci, sO * cu + cO * su * ci, su * si])


def _rotate(vec, axis, angle):
    """Rodrigues rotation of ``vec`` about unit ``axis`` by ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    return vec * c + np.cross(axis, vec) * s + axis * np.dot(axis, vec) * (1.0 - c)


def _tilt_to(h, r_hat, inc):
    """Rotate plane normal ``h`` about ``r_hat`` (a point on the equator) to inclination inc."""
    if abs(math.acos(max(-1.0, min(1.0, h[2]))) - inc) < 1e-15:
        return h
    best = None
    for sense in (1.0, -1.0):
        cand = _rotate(h, r_hat, sense * abs(math.acos(max(-1.0, min(1.0, h[2]))) - inc))
        err = abs(math.acos(max(-1.0, min(1.0, cand[2]))) - inc)
        if best is None or err < best[0]:
            best = (err, cand)
    return best[1]


def _burn_tnw(r_hat, h_before, v_before, h_after, v_after):
    """Delta-v in the pre-burn TNW frame for a burn at an apsis/circular point."""
    t_hat = np.cross(h_before, r_hat)
    w_hat = h_before
    n_hat = np.cross(w_hat, t_hat)
    dv = v_after * np.cross(h_after, r_hat) - v_before * t_hat
    return (float(dv @ t_hat), float(dv @ n_hat), float(dv @ w_hat))


class _Ledger:
    """Books burns at the tug's real mass (rocket equation burn by burn)."""

    def __init__(self, m0):
        self.m = m0
        self.burns: list[Burn] = []

    def burn(self, t, dv_tnw, eng: lg.EngineSpec, u, label, low_thrust=False, duration=None,
             max_impulsive=None, orbit_after=None):
        dv = float(np.linalg.norm(dv_tnw))
        m_before = self.m
        m_after = m_before * math.exp(-dv / eng.ve_kms)
        prop = m_before - m_after
        if duration is None:
            duration = prop * eng.ve_kms * 1000.0 / eng.thrust_n
        ok = True if low_thrust or max_impulsive is None else duration <= max_impulsive
        self.burns.append(Burn(
            t_s=float(t), dv_kms=dv, dv_tnw_kms=tuple(float(x) for x in dv_tnw),
            engine=eng.name, propellant_kg=float(prop), mass_before_kg=float(m_before),
            mass_after_kg=float(m_after), duration_s=float(duration), u_rad=float(np.mod(u,
                                                                                      TWO_PI)),
            label=label, low_thrust=low_thrust, impulsive_ok=ok, orbit_after=orbit_after))
        self.m = m_after


def _state_after(t, r_vec, v_vec) -> OrbitState:
    """Mean orbit right after an impulsive burn, from the position and new velocity."""
    el = rv_to_coe(r_vec, v_vec)
    e = float(el.e)
    argp = float(el.argp) if e >= lg.CIRCULAR_E else 0.0
    return OrbitState(t_s=float(t), a_km=float(el.a), e=e if e >= 1e-9 else 0.0,
                      inc_rad=float(el.i), raan_rad=float(el.raan), argp_rad=argp,
                      u_rad=float(el.u))


def _circular_state(t, a, e, i, raan, argp, u) -> OrbitState:
    return OrbitState(t_s=float(t), a_km=float(a), e=float(e), inc_rad=float(i),
                      raan_rad=float(np.mod(raan, TWO_PI)), argp_rad=float(argp),
                      u_rad=float(np.mod(u, TWO_PI)))


def _transfer_burns(led: _Ledger, d, idx, iA, raanA_b1, iB, eng, label, max_imp):
    """Two burns of a direct transfer (from the ``_direct`` arrays, element ``idx``)."""
    u_b = float(d["u_b1"][idx])
    rA = float(d["raan_b1"][idx])
    h_a = plane_normal(iA, rA)
    r_hat = _unit_r(iA, rA, u_b)
    th1, th2 = float(d["th1"][idx]), float(d["th2"][idx])
    theta = float(d["theta"][idx])
    # Rotation sense: rotating h_A about r_hat by +theta must reach the target plane normal,
    # taken (as the burns here are) at burn 1: the plane _direct aimed at, i.e. the plane at
    # arrival less the regression of the transfer orbit's node during the coast. (The plane
    # at arrival has turned by J2 during the coast, ~0.1 deg in LEO: more than a small plane
    # change itself, which then went the wrong way, e.g. a 0.02 deg change delivered 0.04 deg
    # off.)
    raanB = (float(d["raan_arr"][idx]) - float(d["rate_t"][idx]) * (
        float(d["tb2"][idx]) - float(d["tb1"][idx]))) if theta > 0 else rA
    h_b_target = plane_normal(iB, raanB) if theta > lg.COPLANAR_RAD else h_a
    sense = 1.0
    if theta > lg.COPLANAR_RAD:
        plus = _rotate(h_a, r_hat, theta)
        minus = _rotate(h_a, r_hat, -theta)
        sense = 1.0 if np.linalg.norm(plus - h_b_target) <= np.linalg.norm(
            minus - h_b_target) else -1.0
    h_t = _rotate(h_a, r_hat, sense * th1)
    v1, vt1, vt2, v2 = (float(d[x][idx]) for x in ("v1", "vt1", "vt2", "v2"))
    same = bool(d["same"][idx])
    tb1, tb2 = float(d["tb1"][idx]), float(d["tb2"][idx])
    r_dep, r_arr = float(d["r_dep"][idx]), float(d["r_arr"][idx])
    if same:
        h_f = _rotate(h_t, r_hat, sense * th2)
        dv = np.array(_burn_tnw(r_hat, h_a, v1, h_f, v2))
        if np.linalg.norm(dv) > 0:
            led.burn(tb1, dv, eng, u_b, label, max_impulsive=max_imp,
                     orbit_after=_state_after(tb1, r_dep * r_hat, v2 * np.cross(h_f, r_hat)))
        return
    dv1 = np.array(_burn_tnw(r_hat, h_a, v1, h_t, vt1))
    if np.linalg.norm(dv1) > 0:
        led.burn(tb1, dv1, eng, u_b, label + " burn 1", max_impulsive=max_imp,
                 orbit_after=_state_after(tb1, r_dep * r_hat, vt1 * np.cross(h_t, r_hat)))
    r2 = -r_hat
    h_f = _rotate(h_t, r_hat, sense * th2)
    dv2 = np.array(_burn_tnw(r2, h_t, vt2, h_f, v2))
    if np.linalg.norm(dv2) > 0:
        # the transfer orbit's node regressed during the coast: carry that into the state
        after = _state_after(tb2, r_arr * r2, v2 * np.cross(h_f, r2))
        after = replace(after, raan_rad=float(np.mod(
            after.raan_rad + float(d["rate_t"][idx]) * (tb2 - tb1), TWO_PI)))
        led.burn(tb2, dv2, eng, u_b + math.pi, label + " burn 2", max_impulsive=max_imp,
                 orbit_after=after)


def _build(scenario, nodes, ctx, layers, depth, index, cache, eng, electric_disposal,
           warnings, disp: DisposalTable, dispose: bool = True,
           leg_contexts: list | None = None) -> list[Leg]:
    legs_out: list[Leg] = []
    path = path_to(layers, depth, index)
    max_imp = scenario.constraints.max_impulsive_burn_s
    for leg_no, (dpt, idx) in enumerate(path[1:], start=1):
        lay: Layer = layers[dpt]
        prev: Layer = layers[dpt - 1]
        pidx = int(lay.parent[idx])
        j, k = int(prev.j[pidx]), int(lay.j[idx])
        t0, m_label = float(prev.t[pidx]), float(prev.m[pidx])
        # masses are booked as one chain through the ledger (the search's label mass agrees
        # to rounding; the chain makes "before = previous after" exact)
        m0 = legs_out[-1].mass_after_kg if legs_out else m_label
        leg_ctx, leg_cache = ctx, cache
        if leg_contexts is not None:  # each leg planned with its own drift duration
            leg_ctx, leg_cache = leg_contexts[leg_no - 1], lg.DriftCache()
        opts = lg.expand(nodes, leg_ctx, np.array([j]), np.array([k]), np.array([t0]),
                         np.array([m_label]), np.array([prev.raan[pidx]]),
                         np.array([prev.u[pidx]]),
                         leg_cache, prune=False)
        sel = np.nonzero((opts.base == lay.base[idx]) & (opts.tidx == lay.tidx[idx])
                         & (opts.variant == lay.variant[idx]) & (opts.krev == lay.krev[idx]))[0]
        if sel.size == 0:  # cannot happen: the search produced this option from these inputs
            raise RuntimeError("internal error: leg option not reproducible")
        o = int(sel[0])
        row = opts.detail["rows"][opts.detail["which"][o]]
        legs_out.append(_leg_from_row(scenario, nodes, ctx, leg_no, j, k, t0, m0, row, 0, lay,
                                      idx, prev, pidx, max_imp, warnings))
    # disposal
    d = scenario.constraints.disposal
    if dispose and d.kind != "none" and eng is not None:
        last = legs_out[-1] if legs_out else None
        lay = layers[depth]
        j = int(lay.j[index])
        t0 = float(lay.t[index])
        m0 = last.mass_after_kg if last else float(lay.m[index])
        a = float(nodes.a[j])
        dv = float((disp.dv_electric if electric_disposal else disp.dv_chemical)[j])
        rp = float(disp.perigee_km[j])
        led = _Ledger(m0)
        raan = float(lay.raan[index])
        u = float(lay.u[index])
        phases = []
        inc = float(nodes.i[j])
        t_end = t0
        if dv > 0:
            if electric_disposal:
                T = float(lg._low_thrust_time(dv, m0, eng))
                sign = 1.0 if rp > a else -1.0
                led.burn(t0, np.array([sign * dv, 0.0, 0.0]), eng, u, "disposal spiral",
                         low_thrust=True, duration=T,
                         orbit_after=_circular_state(t0 + T, rp, 0.0, inc, raan, 0.0, u))
                t_end = t0 + T
                phases.append(Phase("spiral", t0, t_end, 0.5 * (a + rp), inc))
            elif rp <= a:
                led.burn(t0, np.array([-dv, 0.0, 0.0]), eng, u, "disposal burn",
                         max_impulsive=max_imp,
                         orbit_after=_circular_state(t0, 0.5 * (a + rp), (a - rp) / (a + rp),
                                                     inc, raan, u + math.pi, u))
            else:  # graveyard above: Hohmann to a circular orbit at rp
                h = mnv.hohmann(a, rp)
                a_t = 0.5 * (a + rp)
                e_t = (rp - a) / (rp + a)
                led.burn(t0, np.array([float(h.dv1), 0.0, 0.0]), eng, u, "disposal burn 1",
                         max_impulsive=max_imp,
                         orbit_after=_circular_state(t0, a_t, e_t, inc, raan, u, u))
                t_end = t0 + float(h.tof)
                phases.append(Phase("transfer", t0, t_end, a_t, inc, e_t))
                raan2 = raan + float(raan_rate(a_t, e_t, inc)) * float(h.tof)
                led.burn(t_end, np.array([float(h.dv2), 0.0, 0.0]), eng, u + math.pi,
                         "disposal burn 2", max_impulsive=max_imp,
                         orbit_after=_circular_state(t_end, rp, 0.0, inc, raan2, 0.0,
                                                     u + math.pi))
        prop = m0 - led.m
        legs_out.append(Leg(
            index=len(legs_out) + 1, origin=last.destination if last else "drop-off",
            destination=f"disposal (perigee {rp - R_EARTH_KM:.0f} km)", strategy="disposal",
            t_start_s=t0, t_end_s=t_end, dv_kms=float(sum(b.dv_kms for b in led.burns)),
            propellant_kg=prop, mass_before_kg=m0,
            mass_after_kg=led.m, burns=tuple(led.burns), phases=tuple(phases),
            notes=(_disposal_note(scenario, a, rp, dv),)))
    for leg in legs_out:
        for b in leg.burns:
            if not b.impulsive_ok:
                warnings.append(
                    f"leg {leg.index} {b.label}: the burn lasts {b.duration_s:.0f} s, longer "
                    f"than {max_imp:.0f} s; finite-burn losses are not modelled")
    return legs_out


def _leg_from_row(scenario, nodes, ctx, leg_no, j, k, t0, m0, row, _unused, lay, idx, prev,
                  pidx, max_imp, warnings) -> Leg:
    b = row["b"]
    code = b["code"]
    variant = row["variant"]
    d = b["d"]
    led = _Ledger(m0)
    phases: list[Phase] = []
    notes: list[str] = []
    iA, aA = float(nodes.i[j]), float(nodes.a[j])
    iB, aB = float(nodes.i[k]), float(nodes.a[k])
    eA, eB = float(nodes.e[j]), float(nodes.e[k])
    chem, elec = ctx.chemical, ctx.electric
    t_cursor = t0
    if code == lg.DIRECT:
        w = float(d.get("wait", np.zeros(1))[0]) if variant == lg.WAIT_PHASE else 0.0
        if variant == lg.WAIT_PHASE:
            # recompute the same transfer from the later departure (coplanar: burns anywhere)
            notes.append(f"waits {w / 3600:.2f} h in the initial orbit to arrive on the slot")
            shift = w
        else:
            shift = 0.0
        dd = {key: (np.asarray(v) + (shift if key in ("tb1", "tb2") else 0.0))
              if isinstance(v, np.ndarray) else v for key, v in d.items()}
        if variant == lg.WAIT_PHASE:
            dd["u_b1"] = np.mod(np.asarray(d["u_b1"]) + nodes.u_rate[j] * shift, TWO_PI)
            # the node turns on while the tug waits (as legs.expand books it)
            dd["raan_b1"] = np.asarray(d["raan_b1"]) + nodes.raan_rate[j] * shift
        tb1, tb2 = float(dd["tb1"][0]), float(dd["tb2"][0])
        if tb1 > t_cursor:
            phases.append(Phase("wait", t_cursor, tb1, aA, iA, eA))
        _transfer_burns(led, dd, 0, iA, None, iB, chem, "transfer", max_imp)
        if tb2 > tb1:
            phases.append(Phase("transfer", tb1, tb2, float(dd["a_t"][0]), iB,
                                abs(float(dd["r_arr"][0]) - float(dd["r_dep"][0])) / (
                                    float(dd["r_arr"][0]) + float(dd["r_dep"][0]))))
        t_cursor = tb2
        strategy = "direct"
        notes.append(f"plane change {math.degrees(float(d['theta'][0])):.3f} deg split "
                     f"{math.degrees(abs(float(d['th1'][0]))):.3f} + "
                     f"{math.degrees(abs(float(d['th2'][0]))):.3f} deg")
    elif code == lg.DRIFT:
        d1, d2 = d["first"], d["second"]
        a_d, i_d = float(d["a_d"][0]), float(d["i_d"][0])
        tb1 = float(d1["tb1"][0])
        if tb1 > t_cursor:
            phases.append(Phase("wait", t_cursor, tb1, aA, iA, eA))
        _transfer_burns(led, d1, 0, iA, None, i_d, chem, "to drift orbit", max_imp)
        t_d0, t_d1 = float(d["t_d0"][0]), float(d["t_d1"][0])
        if t_d0 > tb1:
            phases.append(Phase("transfer", tb1, t_d0, 0.5 * (aA + a_d), i_d))
        phases.append(Phase("drift", t_d0, t_d1, a_d, i_d))
        tb3, tb4 = float(d2["tb1"][0]), float(d2["tb2"][0])
        if tb3 > t_d1:
            phases.append(Phase("wait", t_d1, tb3, a_d, i_d))
        _transfer_burns(led, d2, 0, i_d, None, iB, chem, "from drift orbit", max_imp)
        if tb4 > tb3:
            phases.append(Phase("transfer", tb3, tb4, 0.5 * (a_d + aB), iB))
        t_cursor = tb4
        strategy = "drift"
        notes.append(f"J2 drift at {a_d - R_EARTH_KM:.1f} km, {math.degrees(i_d):.3f} deg for "
                     f"{(t_d1 - t_d0) / SECONDS_PER_DAY:.2f} d")
    elif code in (lg.SPIRAL, lg.SPIRAL_DRIFT):
        if code == lg.SPIRAL:
            dv, T = float(d["dv"][0]), float(d["T"][0])
            theta = float(d["theta"][0])
            led.burn(t0, _lt_vec(dv, aA, aB), elec, float(prev.u[pidx]), "spiral",
                     low_thrust=True, duration=T,
                     orbit_after=_circular_state(t0 + T, aB, eB, iB, b["raan_arr"][0], 0.0,
                                                 b["u_arr"][0]))
            phases.append(Phase("spiral", t0, t0 + T, 0.5 * (aA + aB), iB))
            t_cursor = t0 + T
            strategy = "spiral"
            notes.append(f"Edelbaum spiral, plane change {math.degrees(theta):.3f} deg")
        else:
            dv1, dv2 = float(d["dv1"][0]), float(d["dv2"][0])
            T1, Td, T2 = float(d["T1"][0]), float(d["Td"][0]), float(d["T2"][0])
            a_d, i_d = float(d["a_d"][0]), float(d["i_d"][0])
            raan_d, u_d = float(d["raan_d"][0]), float(d["u_d"][0])
            udot_d = float(argument_of_latitude_rate(a_d, 0.0, i_d))
            led.burn(t0, _lt_vec(dv1, aA, a_d), elec, float(prev.u[pidx]), "spiral to drift",
                     low_thrust=True, duration=T1,
                     orbit_after=_circular_state(t0 + T1, a_d, 0.0, i_d, raan_d, 0.0, u_d))
            phases.append(Phase("spiral", t0, t0 + T1, 0.5 * (aA + a_d), i_d))
            phases.append(Phase("drift", t0 + T1, t0 + T1 + Td, a_d, i_d))
            led.burn(t0 + T1 + Td, _lt_vec(dv2, a_d, aB), elec, u_d + udot_d * Td,
                     "spiral from drift", low_thrust=True, duration=T2,
                     orbit_after=_circular_state(t0 + T1 + Td + T2, aB, eB, iB,
                                                 b["raan_arr"][0], 0.0, b["u_arr"][0]))
            phases.append(Phase("spiral", t0 + T1 + Td, t0 + T1 + Td + T2, 0.5 * (a_d + aB),
                                iB))
            t_cursor = t0 + T1 + Td + T2
            strategy = "spiral-drift"
            notes.append(f"low-thrust to a J2 drift orbit at {a_d - R_EARTH_KM:.1f} km, "
                         f"{math.degrees(i_d):.3f} deg for {Td / SECONDS_PER_DAY:.2f} d")
    else:  # pragma: no cover - codes are closed
        raise RuntimeError(f"unknown leg code {code}")
    # phasing
    if variant in lg.PHASING_VARIANTS:
        eng = elec if code in (lg.SPIRAL, lg.SPIRAL_DRIFT) else chem
        tof = float(d["tof_ph"][0])
        wait = float(d["wait_ph"][0])
        a_ph, e_ph, i_ph = float(d["a_ph"][0]), float(d["e_ph"][0]), float(d["i_ph"][0])
        v_ph, v_c = float(d["v_ph"][0]), float(d["v_c"][0])
        t_arr = float(row["b"]["t_arr"][0])
        rate_b, udot_b = float(nodes.raan_rate[k]), float(nodes.u_rate[k])
        u_start = float(row["b"]["u_arr"][0]) + udot_b * wait
        t1 = t_cursor + wait
        if wait > 0:
            phases.append(Phase("wait", t_cursor, t1, aB, iB, eB))
        raan_1 = float(row["b"]["raan_arr"][0]) + rate_b * (t1 - t_arr)
        r_hat = _unit_r(iB, raan_1, u_start)
        h_b = plane_normal(iB, raan_1)
        h_ph = _tilt_to(h_b, r_hat, i_ph)
        perigee_here = a_ph > aB
        after1 = _state_after(t1, aB * r_hat, v_ph * np.cross(h_ph, r_hat))
        led.burn(t1, np.array(_burn_tnw(r_hat, h_b, v_c, h_ph, v_ph)), eng, u_start,
                 "phasing burn 1", max_impulsive=max_imp, low_thrust=eng is elec,
                 orbit_after=after1)
        phases.append(Phase("phasing", t1, t1 + tof, a_ph, i_ph, e_ph))
        # k anomalistic revolutions later the tug is back at its apsis, which the J2 apsidal
        # motion has carried forward, in a plane that turned at the phasing orbit's rate
        rates_ph = secular_rates(a_ph, e_ph, i_ph)
        raan_2 = raan_1 + float(rates_ph.raan) * tof
        u_end = u_start + float(rates_ph.argp) * tof
        r_hat2 = _unit_r(i_ph, raan_2, u_end)
        h_ph2 = plane_normal(i_ph, raan_2)
        # Apsidal motion has carried the apsis off the equator, where turning by the
        # inclination difference (_tilt_to) no longer gives inclination iB (a 0.04 deg
        # matched-node tilt after 13 deg of apsidal motion ended 0.005 deg off): turn to the
        # plane of inclination iB through this point, as legs.expand booked it.
        raan_b2, _ = lg._tilt_at_point(i_ph, raan_2, u_end, iB)
        h_b2 = plane_normal(iB, float(raan_b2))
        after2 = _state_after(t1 + tof, aB * r_hat2, v_c * np.cross(h_b2, r_hat2))
        led.burn(t1 + tof, np.array(_burn_tnw(r_hat2, h_ph2, v_ph, h_b2, v_c)), eng, u_end,
                 "phasing burn 2", max_impulsive=max_imp, low_thrust=eng is elec,
                 orbit_after=after2)
        t_cursor = t1 + tof
        kind = "matched-node " if variant in (lg.PHASE_LOW_M, lg.PHASE_HIGH_M) else ""
        strategy += f"+{kind}phasing({int(row['krev'])} rev)"
        notes.append(f"{kind}phasing {a_ph - R_EARTH_KM:.1f} km mean altitude"
                     f"{', ' + format(math.degrees(i_ph), '.3f') + ' deg' if kind else ''}, "
                     f"{int(row['krev'])} rev, {tof / SECONDS_PER_DAY:.2f} d")
        del perigee_here
    elif variant == lg.WAIT_PHASE:
        strategy += "+phase-wait"
    t_del = float(lay.t[idx])
    if t_del > t_cursor + 1e-6:
        phases.append(Phase("separation", t_cursor, t_del, aB, iB, eB))
    m_after_release = led.m - float(nodes.mass[k])
    orbit = OrbitState(t_s=t_del, a_km=aB, e=eB, inc_rad=iB,
                       raan_rad=float(np.mod(lay.raan[idx], TWO_PI)),
                       argp_rad=float(nodes.argp[k]) if eB >= lg.CIRCULAR_E else 0.0,
                       u_rad=float(np.mod(lay.u[idx], TWO_PI)))
    if abs(m_after_release - float(lay.m[idx])) > 1e-6 * max(1.0, m0):
        warnings.append(f"leg {leg_no}: mass bookkeeping differs from the search by "
                        f"{m_after_release - float(lay.m[idx]):.3g} kg")
    return Leg(
        index=leg_no, origin=nodes.names[j], destination=nodes.names[k], strategy=strategy,
        t_start_s=t0, t_end_s=t_del, dv_kms=float(sum(bb.dv_kms for bb in led.burns)),
        propellant_kg=float(m0 - led.m), mass_before_kg=m0, mass_after_kg=m_after_release,
        burns=tuple(led.burns), phases=tuple(phases),
        delivery=Delivery(payload=nodes.names[k], t_s=t_del, orbit=orbit,
                          mass_kg=float(nodes.mass[k])),
        notes=tuple(notes))


def _disposal_note(scenario, a_km, rp_km, dv_kms) -> str:
    """What the disposal leg does, in words."""
    d = scenario.constraints.disposal
    alt = rp_km - R_EARTH_KM
    if dv_kms <= 0.0:
        return "no burn needed: the orbit already meets the disposal rule"
    if rp_km > a_km:
        return f"raised to a {alt:.0f} km graveyard orbit"
    if d.kind == "reentry":
        return (f"perigee lowered to {alt:.0f} km: the orbit decays within "
                f"{float(d.reentry_years):g} yr (lifetime model)")
    return f"perigee lowered to {alt:.0f} km"


def _lt_vec(dv, a_from, a_to):
    """Split a low-thrust delta-v into in-plane (T) and out-of-plane (W) parts for reports."""
    dv_t = abs(math.sqrt(MU_EARTH_KM3_S2 / a_from) - math.sqrt(MU_EARTH_KM3_S2 / a_to))
    dv_t = min(dv_t, dv)
    dv_w = math.sqrt(max(dv * dv - dv_t * dv_t, 0.0))
    return np.array([math.copysign(dv_t, a_to - a_from), 0.0, dv_w])
