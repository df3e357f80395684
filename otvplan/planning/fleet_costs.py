"""What each delivery of a fleet costs: marginal costs and Shapley shares over several tugs
(no I/O).

Two methods, chosen by the size of the fleet problem:

- ``"fleet"`` (exact; when the exact fleet method's (tug, subset) plans number at most
  :data:`otvplan.planning.fleet.EXACT_MAX_PLANS` and the fleet objective is additive -
  ``propellant``, ``tugs`` or ``cost``): the game is v(S) = the propellant of the best
  assignment (by that objective) of the sub-manifest S over the whole fleet, every tug free to
  take any of S within the fleet's rules (:func:`otvplan.planning.fleet.sub_fleets`: every
  allowed (tug, subset) planned once, then the partition programme, whose table holds the best
  assignment of every S at once, so the 2^n values cost no more plans than the fleet plan
  itself). T(S) is the tug-time of that assignment (the flown tugs' durations summed: what a
  price per day of operations is paid on). v(empty) = 0 - with no payload no tug flies - so the
  Shapley shares sum to v(N) and T(N), the fleet plan's totals, exactly, and a tug's disposal
  is shared by the payloads that make it fly. A marginal cost is v(N) - v(N \\ {i}) with the
  rest re-assigned: a payload whose removal lets a tug stay on the ground saves that tug's
  whole cost. An S that no assignment serves takes the value of its cheapest feasible superset
  (as for one tug).
- ``"per-tug"`` (larger fleets, or the ``makespan`` objective): the fleet plan's assignment
  is kept and each tug's plan is attributed to its own payloads with the single-tug method
  (:func:`otvplan.planning.attribution.attribute`: exact up to ``exact_max_payloads`` per
  tug, sampled beyond). Shares and marginal costs are within the tug; they sum to each tug's
  totals and so to the fleet's. This says what each payload costs the tug it flies on, not
  what it costs the fleet (a payload's removal might let the others be re-assigned more
  cheaply); the method line says which was used.

With a money model (:class:`otvplan.model.Pricing`), each payload pays its allocated
propellant and tug-days at the prices, and the launch of the tug it flies on (dry mass +
propellant loaded) split by mass among that tug's payloads: the costs sum to the fleet's
total price.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

from otvplan.errors import Shortfall
from otvplan.model import FleetPlan, Pricing, Scenario
from otvplan.planning.attribution import (
    DEFAULT_SAMPLES,
    EXACT_MAX_PAYLOADS,
    Attribution,
    AttributionError,
    Coalition,
    PayloadCost,
    attribute,
    check_arguments,
    exact_shapley,
    fill_from_supersets,
    priced,
    priced_total,
)
from otvplan.planning.fleet import (
    EXACT_MAX_PLANS,
    SubFleet,
    plan_fleet,
    sub_fleets,
    subset_plan_count,
    tug_scenario,
)

#: The fleet methods.
METHODS = ("fleet", "per-tug")


def attribute_fleet(
    scenario: Scenario,
    *,
    method: str | None = None,
    exact_max_plans: int = EXACT_MAX_PLANS,
    exact_max_payloads: int = EXACT_MAX_PAYLOADS,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    time_limit_s: float | None = None,
    window: str = "scenario",
    pricing: Pricing | None = None,
    workers: int | None = None,
    progress: Callable[[dict], None] | None = None,
) -> Attribution:
    """Attribute a fleet plan's propellant and tug-days to its payloads (module docstring).

    ``method``: ``"fleet"``, ``"per-tug"`` or None (``"fleet"`` when the fleet objective is
    additive and at most ``exact_max_plans`` (tug, subset) plans are needed, else
    ``"per-tug"``). ``window="plan"``: every sub-manifest within the fleet plan's last end
    (``"fleet"``) or each tug's own plan duration (``"per-tug"``). ``exact_max_payloads``,
    ``samples``, ``seed``, ``workers``: the single-tug attribution of ``"per-tug"``.
    ``time_limit_s``: the planner's limit for each tug plan. ``pricing``: None takes the
    scenario's. ``progress``: called after each plan (``plans``, ``total`` or None,
    ``payloads``, ``elapsed_s``).

    Raises :class:`otvplan.planning.attribution.AttributionError` when no assignment delivers
    the whole manifest, ``ValueError`` for bad arguments.
    """
    if scenario.fleet is None:
        raise ValueError("attribute_fleet needs a scenario with a fleet (tugs:)")
    if method is not None and method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    check_arguments(scenario, window, time_limit_s)
    fleet = scenario.fleet
    pricing = scenario.pricing if pricing is None else pricing
    if time_limit_s is not None:
        scenario = replace(
            scenario, solver=replace(scenario.solver, time_limit_s=float(time_limit_s))
        )
    additive = fleet.objective != "makespan"
    if method is None:
        small = subset_plan_count(scenario) <= exact_max_plans
        method = "fleet" if additive and small else "per-tug"
    if method == "fleet":
        if not additive:
            raise ValueError(
                "the fleet method needs an additive fleet objective (propellant, tugs or cost), "
                "not makespan; use the per-tug method"
            )
        return _fleet_game(scenario, window, pricing, progress)
    return _per_tug(scenario, window, pricing, progress, exact_max_payloads, samples, seed, workers)


# --------------------------------------------------------------------------------------------
# The fleet game (exact)
# --------------------------------------------------------------------------------------------


def _fleet_game(
    scenario: Scenario,
    window: str,
    pricing: Pricing | None,
    progress: Callable[[dict], None] | None,
) -> Attribution:
    t0 = time.perf_counter()
    n = len(scenario.payloads)
    full = (1 << n) - 1
    subs = sub_fleets(scenario, progress=progress)
    plans = subset_plan_count(scenario)
    _refuse_unserved(scenario, subs, full)
    if window == "plan":
        span = subs[full].end_s
        limit = scenario.constraints.max_duration_s
        if limit is None or span < limit:
            capped = replace(
                scenario,
                constraints=replace(scenario.constraints, max_duration_s=max(span, 1.0)),
            )
            subs = sub_fleets(capped, progress=progress)
            plans += subset_plan_count(capped)
            _refuse_unserved(capped, subs, full)
    feasible = {m: (s.propellant_kg, s.tug_time_s) for m, s in subs.items()}
    values, filled = fill_from_supersets(feasible, range(full + 1))
    prop = {m: v[0] for m, v in values.items()}
    dur = {m: v[1] for m, v in values.items()}
    phi_p, phi_t = exact_shapley(prop, n), exact_shapley(dur, n)
    best = subs[full]
    fleet = scenario.fleet
    assert fleet is not None
    owner = {i: k for k, mask in enumerate(best.masks) for i in range(n) if mask >> i & 1}
    launched = [
        fleet.tugs[k].tug.dry_mass_kg + fleet.tugs[k].tug.propellant_kg if mask else 0.0
        for k, mask in enumerate(best.masks)
    ]
    total_p, total_t = prop[full], dur[full]
    rows = []
    for i, p in enumerate(scenario.payloads):
        k = owner[i]
        carried = [scenario.payloads[j].mass_kg for j in range(n) if best.masks[k] >> j & 1]
        weight = p.mass_kg / sum(carried) if sum(carried) > 0 else 1.0 / len(carried)
        row = PayloadCost(
            name=p.name,
            mass_kg=float(p.mass_kg),
            marginal_propellant_kg=total_p - prop[full & ~(1 << i)],
            marginal_duration_s=total_t - dur[full & ~(1 << i)],
            shapley_propellant_kg=float(phi_p[i]),
            shapley_propellant_se_kg=0.0,
            shapley_duration_s=float(phi_t[i]),
            shapley_duration_se_s=0.0,
            allocated_propellant_kg=float(phi_p[i]),
            allocated_duration_s=float(phi_t[i]),
            share=float(phi_p[i]) / total_p if total_p > 0 else 1.0 / n,
            tug=fleet.tugs[k].tug.name,
        )
        rows.append(priced(row, pricing, weight * launched[k]))
    gaps = [s.gap for s in subs.values() if s.gap is not None]
    return Attribution(
        scenario=scenario.name,
        objective=fleet.objective,
        method="fleet",
        payloads=tuple(rows),
        total_propellant_kg=total_p,
        total_duration_s=total_t,
        baseline_propellant_kg=0.0,
        baseline_duration_s=0.0,
        samples=0,
        seed=0,
        plans=plans,
        elapsed_s=time.perf_counter() - t0,
        max_gap=max(gaps) if gaps else None,
        coalitions=tuple(
            _coalition(scenario, subs, values, filled, m)
            for m in sorted(values, key=lambda m: (m.bit_count(), m))
        ),
        pricing=pricing,
        total_cost=priced_total(pricing, total_p, total_t, math.fsum(launched)),
        tug_launch_kg=math.fsum(launched),
        window=window,
        warnings=tuple(
            f"sub-manifest [{', '.join(_names(scenario, m)) or 'none'}] has no feasible "
            f"assignment of its own; valued by that of [{', '.join(_names(scenario, src))}]"
            for m, src in sorted(filled.items())
        ),
    )


def _names(scenario: Scenario, mask: int) -> tuple[str, ...]:
    return tuple(p.name for i, p in enumerate(scenario.payloads) if mask >> i & 1)


def _coalition(
    scenario: Scenario,
    subs: dict[int, SubFleet],
    values: dict[int, tuple[float, float]],
    filled: dict[int, int],
    mask: int,
) -> Coalition:
    own = subs.get(mask)
    return Coalition(
        payloads=_names(scenario, mask),
        propellant_kg=values[mask][0],
        duration_s=values[mask][1],
        feasible=own is not None,
        exact=own is not None and own.exact,
        gap=None if own is None else own.gap,
        value_from=_names(scenario, filled[mask]) if mask in filled else None,
    )


def _refuse_unserved(scenario: Scenario, subs: dict[int, SubFleet], full: int) -> None:
    """AttributionError when no assignment delivers the whole manifest."""
    if full in subs:
        return
    served = max(subs, key=lambda m: (m.bit_count(), -subs[m].propellant_kg))
    left = _names(scenario, full & ~served)
    reason = (
        "no assignment of the fleet delivers every payload (at best "
        f"{', '.join(left)} left out); `otvplan plan` says what each would need"
    )
    raise AttributionError(
        "costs can be attributed only for a feasible plan of the whole manifest; this fleet "
        "has none: " + reason,
        Shortfall(math.nan, math.nan, [reason]),
    )


# --------------------------------------------------------------------------------------------
# Per tug (the assignment fixed)
# --------------------------------------------------------------------------------------------


def _per_tug(
    scenario: Scenario,
    window: str,
    pricing: Pricing | None,
    progress: Callable[[dict], None] | None,
    exact_max_payloads: int,
    samples: int,
    seed: int,
    workers: int | None,
) -> Attribution:
    t0 = time.perf_counter()
    fleet = scenario.fleet
    assert fleet is not None
    planned: FleetPlan = plan_fleet(scenario)
    if not planned.feasible:
        raise AttributionError(
            "costs can be attributed only for a feasible plan of the whole manifest; this "
            "fleet's is not: " + "; ".join(planned.infeasible_reasons),
            Shortfall(math.nan, math.nan, list(planned.infeasible_reasons)),
        )
    by_name = {ft.tug.name: ft for ft in fleet.tugs}
    # each tug's plans as the fleet solver made them (the earliest end under makespan)
    objective = "duration" if fleet.objective == "makespan" else scenario.solver.objective
    objective = "propellant" if objective == "pareto" else objective
    order = {p.name: i for i, p in enumerate(scenario.payloads)}
    parts: list[Attribution] = []
    rows: dict[str, PayloadCost] = {}
    for t in planned.tugs:
        ft = by_name[t.tug]
        carried = [p for p in scenario.payloads if p.name in set(t.plan.delivered)]
        sub = tug_scenario(scenario, ft, carried)
        a = attribute(
            sub,
            objective=objective,
            exact_max_payloads=exact_max_payloads,
            samples=samples,
            seed=seed,
            window=window,
            pricing=pricing,
            workers=workers,
            progress=progress,
        )
        parts.append(a)
        for row in a.payloads:
            rows[row.name] = replace(row, tug=t.tug)
    total_p = math.fsum(a.total_propellant_kg for a in parts)
    total_t = math.fsum(a.total_duration_s for a in parts)
    launched = math.fsum(a.tug_launch_kg for a in parts)
    gaps = [a.max_gap for a in parts if a.max_gap is not None]
    ordered = sorted(rows.values(), key=lambda r: order[r.name])
    ordered = [
        replace(r, share=r.allocated_propellant_kg / total_p if total_p > 0 else 1.0 / len(rows))
        for r in ordered
    ]
    sampled = any(a.method == "sampled" for a in parts)
    return Attribution(
        scenario=scenario.name,
        objective=fleet.objective,
        method="per-tug",
        payloads=tuple(ordered),
        total_propellant_kg=total_p,
        total_duration_s=total_t,
        baseline_propellant_kg=math.fsum(a.baseline_propellant_kg for a in parts),
        baseline_duration_s=math.fsum(a.baseline_duration_s for a in parts),
        samples=max((a.samples for a in parts), default=0) if sampled else 0,
        seed=seed,
        plans=sum(a.plans for a in parts) + int(dict(planned.solver_stats).get("tug_plans", 0)),
        elapsed_s=time.perf_counter() - t0,
        max_gap=max(gaps) if gaps else None,
        coalitions=tuple(c for a in parts for c in a.coalitions),
        pricing=pricing,
        total_cost=priced_total(pricing, total_p, total_t, launched),
        tug_launch_kg=launched,
        window=window,
        warnings=tuple(f"{t.tug}: {w}" for t, a in zip(planned.tugs, parts) for w in a.warnings),
    )


__all__ = ["METHODS", "attribute_fleet"]
