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

from otvplan.constants import MU_EARTH_KM3_S2, R_EARTH_KM, SECONDS_PER_DAY
from otvplan.core.orbits import (
    TWO_PI,
)
from otvplan.core.propulsion import mass_after, thrust_arc_time
from otvplan.errors import InfeasibleError, InputError, Problem, Shortfall
from otvplan.model import (
    OBJECTIVES,
    Plan,
    Scenario,
)
from otvplan.planning import legs as lg
from otvplan.planning import schedule
from otvplan.planning.build import build_legs
from otvplan.planning.disposal import DisposalTable, disposal_table
from otvplan.planning.reach import Unreachable, unreachable_payloads
from otvplan.planning.sequencing import Bound, Layer, SearchSettings, has_bit, initial_layer, search

#: Time limit of a solve [s] when the scenario sets none (``solver.time_limit``): past it every
#: search returns the best it has, marked as not proven optimal.
DEFAULT_TIME_LIMIT_S = 60.0
#: Share of the time limit kept for the analysis of an infeasible mission (its shortfall, then
#: what each payload left out needs): the searches stop before it, so the whole solve ends
#: within the limit.
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
    #: explain an infeasible plan payload by payload (what adding each one left out needs)
    explain: bool = True
    #: False: a manifest found infeasible is returned at once, with no legs, no partial plan
    #: and no shortfall (a caller that only needs to know whether it closes: the fleet solver)
    analyse_infeasible: bool = True


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
    if scenario.fleet is not None and len(scenario.fleet.tugs) > 1:
        raise InputError([Problem(
            scenario.source or scenario.name, "tugs",
            "the scenario has several tugs: otvplan.plan (otvplan.planning.fleet.plan_fleet) "
            "assigns the payloads and plans each tug")])
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
        from otvplan.core.lifetime import REENTRY_ALTITUDE_KM, lifetimes

        last = p.legs[-1]
        orbit = last.burns[-1].orbit_after if last.burns else None
        # the perigee search returns a perigee that decays in time, or its floor (1 km above
        # the re-entry altitude) when none does: only then is the lifetime worth computing
        floor = R_EARTH_KM + REENTRY_ALTITUDE_KM + 1.0
        if orbit is not None and orbit.a_km * (1.0 - orbit.e) <= floor + 1.0:
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
    # the searches stop early enough to leave an infeasible mission's analysis its share
    search_deadline = deadline - (SHORTFALL_SHARE * limit_s if options.analyse_infeasible
                                  else 0.0)
    settings = SearchSettings(
        dry_kg=tug.dry_mass_kg, reserve_kg=tug.reserve_kg,
        horizon_s=math.inf if horizon is None else float(horizon),
        separation_s=scenario.constraints.min_deploy_separation_s,
        exact=n <= exact_max, beam_width=beam, deadline_s=search_deadline,
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
        fast = _plan_time_invariant(scenario, nodes, ctx, m0, settings, disp, search_deadline,
                                    objective, t_start, progress, list(warnings),
                                    closed_deadline=deadline if objective == "propellant"
                                    else None)
        if fast is not None and objective == "propellant":
            return fast
        if fast is None and not options.analyse_infeasible:
            return _assemble(scenario, objective, [], False,
                             Shortfall(reasons=["no plan closes (not analysed further)"]),
                             False, None, (), warnings, {}, time.perf_counter() - t_start)
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
    if time.perf_counter() > search_deadline:
        warnings.append("solver.time_limit reached: the search finished as a beam search; the "
                        "plan is the best found, not proven optimal")
    if scenario.solver.drift_grid > lg.MAX_DRIFT_GRID:
        warnings.append(f"solver.drift_grid {scenario.solver.drift_grid} is capped at "
                        f"{lg.MAX_DRIFT_GRID} drift durations per leg")
    finals = _finals(disp, nodes, result.layers, eng, electric_disposal, settings)
    chosen, alternatives = _choose(finals, objective, n, settings, tug.propellant_kg)
    feasible = chosen is not None
    shortfall = Shortfall()
    never: list[Unreachable] = []
    if not feasible and not options.analyse_infeasible:
        shortfall = Shortfall(reasons=["no plan closes (not analysed further)"])
        chosen = _best_partial(finals, nodes, settings.reserve_kg)
    elif not feasible:
        # the shortfall: the analysis's share at most, and no later than half of it before
        # the limit (the payloads left out have the rest; with explain off, the whole share)
        keep = 0.5 * SHORTFALL_SHARE * limit_s if options.explain else 0.0
        extra = replace(settings, deadline_s=min(time.perf_counter() + SHORTFALL_SHARE * limit_s,
                                                 deadline - keep))
        short_of = unreachable_payloads(scenario, nodes, ctx)
        never = [u for u in short_of if u.limit == "tank"]
        if never:  # no load of propellant closes: the exact shortfall is not searched for
            shortfall = _unreachable_shortfall(scenario, short_of)
        else:
            shortfall = _shortfalls(scenario, nodes, ctx, m0, extra, cache, eng,
                                    electric_disposal, disp,
                                    left_fn=_left_fn(scenario, nodes, ctx, extra, disp)
                                    if fast_path else None)
            shortfall.reasons = [u.reason(tug.propellant_kg, tug.tank_capacity_kg)
                                 for u in short_of] + list(shortfall.reasons)
        chosen = _best_partial(finals, nodes, settings.reserve_kg)
    depth, index = chosen["depth"], chosen["index"]
    built = build_legs(scenario, nodes, ctx, result.layers, depth, index, cache, eng,
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
    if not feasible and options.explain:
        delivered = {leg.delivery.payload for leg in built if leg.delivery is not None}
        share = min(SHORTFALL_SHARE * limit_s, max(0.0, deadline - time.perf_counter()))
        shortfall.reasons = list(shortfall.reasons) + _payload_shortfalls(
            scenario, delivered, options, share, shortfall,
            never={u.payload for u in never})
    plan_ = _assemble(scenario, objective, built, feasible, shortfall, exact, lb, alternatives,
                      warnings, stats, time.perf_counter() - t_start)
    return plan_


#: How a shortfall's reasons say that the analysis ran out of its time.
NOT_FOUND = "was not found within the time limit"
#: Most payloads left out of an infeasible plan that are explained one by one.
EXPLAINED_MAX = 8


def _unreachable_shortfall(scenario: Scenario, never: list[Unreachable]) -> Shortfall:
    """The shortfall of a manifest with payloads that no propellant load the tank holds can
    deliver (:func:`otvplan.planning.reach.unreachable_payloads`): each one's reason, and as
    the propellant missing the largest of their lower bounds (the whole manifest needs at
    least that; the exact figure is not searched for: it could not be loaded). No time is
    missing: more time would not help."""
    tug = scenario.tug
    reasons = [u.reason(tug.propellant_kg, tug.tank_capacity_kg) for u in never]
    short = max(u.propellant_min_kg for u in never) - tug.propellant_kg
    reasons.append(f"propellant: the whole manifest needs at least {short:,.1f} kg more "
                   "(a lower bound: the payloads above cannot be delivered)")
    return Shortfall(propellant_kg=short, time_s=0.0, reasons=reasons)


def _payload_shortfalls(scenario: Scenario, delivered: set[str], options: SolverOptions,
                        time_s: float, whole: Shortfall, never: set[str] = frozenset()
                        ) -> list[str]:
    """What each payload left out of an infeasible plan needs, as lines for its reasons.

    The partial plan flies every payload (those it cannot deliver stay aboard). The question a
    manifest planner asks is which payloads the tug could take: so manifests of the delivered
    payloads plus one left out are planned for least propellant (the time given shared out);
    while some close, the best of them (by priority, mass delivered, propellant left) joins
    the set, which is reported, and the others are tried again. Each payload still left out
    then gets the propellant and time that adding it needs (for the last one, the whole
    manifest's ``whole``), or a note that none was found within the time. Payloads in
    ``never`` (no plan can deliver them, already explained) are not tried."""
    t_end = time.perf_counter() + time_s
    left = [p for p in scenario.payloads if p.name not in delivered and p.name not in never]
    if not left or len(left) > EXPLAINED_MAX or time_s <= 0.0:
        return []
    sub_options = replace(options, explain=False, objective="propellant")
    first = len(delivered)
    delivered = set(delivered)
    larger = None
    while True:
        results = {}
        for p in left:
            limit = (t_end - time.perf_counter()) / max(1, len(left) - len(results))
            if limit < 0.5:
                break
            keep = tuple(q for q in scenario.payloads if q.name in delivered or q is p)
            sub = replace(scenario, payloads=keep,
                          solver=replace(scenario.solver, time_limit_s=limit))
            try:
                results[p.name] = _plan(sub, "propellant", sub_options, None)
            except InfeasibleError:
                results[p.name] = None
        fits = [(p.priority, p.mass_kg, results[p.name].propellant_remaining_kg, p.name)
                for p in left if results.get(p.name) is not None and results[p.name].feasible]
        if not fits:
            break
        best = max(fits)[3]
        larger = results[best]
        delivered.add(best)
        left = [p for p in left if p.name != best]
        if not left:
            break
    lines = []
    if larger is not None:
        names = ", ".join(q.name for q in scenario.payloads if q.name in delivered)
        lines.append(f"a manifest of {len(delivered)} payloads closes ({names}; "
                     f"{larger.propellant_remaining_kg:.1f} kg left), {len(delivered) - first} "
                     "more than the partial plan delivers with every payload aboard")
    with_others = (f"with the {len(delivered)} of that manifest" if larger is not None
                   else f"with the {len(delivered)} delivered" if delivered else "on its own")
    for p in left:
        sp = results.get(p.name)
        if sp is not None and sp.feasible:
            lines.append(f"payload {p.name}: fits {with_others} "
                         f"({sp.propellant_remaining_kg:.1f} kg left)")
            continue
        if sp is not None:
            short = Shortfall(sp.shortfall_propellant_kg, sp.shortfall_time_s,
                              list(sp.infeasible_reasons))
        elif len(left) == 1 and not never and (whole.propellant_kg > 0.0 or whole.time_s > 0.0):
            short = whole  # the delivered and this one are the whole manifest
        else:
            lines.append(f"payload {p.name}: no plan {with_others} was found within the time "
                         "limit")
            continue
        need = []
        if short.propellant_kg > 0.0:
            need.append(f"{short.propellant_kg:.1f} kg more propellant")
        if short.time_s > 0.0:
            need.append(f"{short.time_s / SECONDS_PER_DAY:.1f} d more")
        if not need and any(NOT_FOUND in r for r in short.reasons):
            lines.append(f"payload {p.name}: it does not fit {with_others}; what adding it "
                         f"needs {NOT_FOUND}")
            continue
        what = " or ".join(need) if need else (
            "more than the limits allow (" + "; ".join(short.reasons[:1]) + ")")
        lines.append(f"payload {p.name}: adding it {with_others} needs {what}")
    return lines


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
                         t_start, progress, warnings, closed_deadline=None) -> Plan | None:
    """Plan a time-invariant manifest over leg tables with a certified gap
    (:mod:`otvplan.planning.schedule`); None when it finds no complete plan (the general search then
    explains the shortfall). Once a complete plan closes the search may go on until
    ``closed_deadline`` (no shortfall to explain then)."""
    lim = schedule.Limits(dry_kg=settings.dry_kg, reserve_kg=settings.reserve_kg,
                          horizon_s=settings.horizon_s, separation_s=settings.separation_s,
                          ve_kms=ctx.chemical.ve_kms)
    sched = schedule.optimise(nodes, ctx, m0, lim, disp.dv_chemical, deadline_s=deadline,
                              progress=progress, exact=settings.exact,
                              beam_labels=_beam_labels(settings, nodes.n - 1),
                              closed_deadline_s=closed_deadline)
    if sched is None:
        return None
    layers, contexts, options = _replay(nodes, ctx, sched.legs, m0, settings)
    built = build_legs(scenario, nodes, ctx, layers, len(layers) - 1, 0, lg.DriftCache(),
                       ctx.chemical, False, warnings, disp, leg_contexts=contexts,
                       leg_options=options)
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
    model, as one-label search layers for :func:`_build`, each leg's context and its options
    (evaluated from its departure state in that context)."""
    layers = [initial_layer(nodes, m0)]
    contexts, options = [], []
    W = layers[0].mask.shape[1]
    for j, k, code, x, a_d, direction in legs_:
        prev = layers[-1]
        drift = code == 1
        c = replace(ctx, drift_durations_s=np.array([x]) if drift else np.zeros(0),
                    fixed_drift=(a_d, direction) if drift else None)
        opts = lg.expand(nodes, c, np.array([j]), np.array([k]), prev.t[:1], prev.m[:1],
                         prev.raan[:1], prev.u[:1], lg.DriftCache(), prune=False,
                         direct=not drift)
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
        options.append(opts)
    return layers, contexts, options


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
    # the incumbent's beams may use a third of the time left; the exact search needs the rest
    now = time.perf_counter()
    share = replace(settings, deadline_s=now + (settings.deadline_s - now) / 3.0)
    incumbent, _ = _best_beam(nodes, ctx, m0, share, cache, disp, leg_lb, width=32,
                              first_found=True)
    if not math.isfinite(incumbent):
        return None
    return Bound(leg_lb=leg_lb, disposal_dv=disp.dv_chemical, ve_kms=ctx.chemical.ve_kms,
                 incumbent=incumbent)


#: Beam searches tried for an incumbent and for large manifests: labels ranked by their
#: optimistic completion less a charge for the time used (the time limit is what greedy beams
#: run into), from none to heavy, then by earliest time.
BEAM_CONFIGS = (("propellant", 0.0), ("propellant", 0.05), ("propellant", 0.2),
                ("propellant", 1.0), ("time", 0.0))


def _best_beam(nodes, ctx, m0, settings, cache, disp, leg_lb, width, first_found=False):
    """Run the beam configurations (the first always, the others while
    ``settings.deadline_s`` has not passed; with ``first_found``, only until one finds a
    complete plan: an exact search's incumbent, which only speeds its pruning - on the
    example scenarios the later configurations never changed the labels that search kept,
    and cost half of it); return (best final mass, its SearchResult)."""
    n = nodes.n - 1
    ranking = None
    if leg_lb is not None and ctx.chemical is not None:
        ranking = Bound(leg_lb=leg_lb, disposal_dv=disp.dv_chemical,
                        ve_kms=ctx.chemical.ve_kms, incumbent=-math.inf)
    eng = ctx.chemical or ctx.electric
    electric_disposal = ctx.chemical is None
    best, best_result = -math.inf, None
    for rank, weight in BEAM_CONFIGS:
        if best_result is not None and time.perf_counter() > settings.deadline_s:
            break
        if first_found and math.isfinite(best):
            break
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
        m_fin = mass_after(layer.m, dv, eng.ve_kms) if eng is not None else layer.m
        t_fin = layer.t.copy()
        if electric_disposal and eng is not None:
            t_fin = t_fin + thrust_arc_time(dv, layer.m, eng.ve_kms, eng.thrust_n)
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
        reasons.append(f"propellant: the shortfall {NOT_FOUND} "
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
        reasons.append(f"time: the shortfall {NOT_FOUND} "
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

