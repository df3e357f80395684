"""What each delivery costs: marginal costs and a Shapley allocation of the plan's propellant
and days (no I/O).

The coalition value function. For a set S of payloads, v(S) is the propellant [kg] (and T(S)
the mission duration [s]) of the plan that delivers only S, from the same drop-off, with the
same tug loaded the same way, under the same constraints and disposal: the scenario with its
manifest cut to S (``dataclasses.replace(scenario, payloads=...)``), planned again by
:func:`otvplan.planning.solver.plan` with the same objective. v(empty) is the plan with no
payload at all: the disposal alone (0 when the scenario has none), the cost the tug incurs
whoever flies. Each v(S) is planned once and kept (a cache by subset). With ``window="plan"`` every
sub-manifest must also end within the whole plan's duration T(N): under the propellant
objective a smaller manifest otherwise spends all the time the scenario allows drifting more
cheaply, so that dropping a payload can lengthen the mission (negative marginal days).

For every payload i:

- **marginal cost**: v(N) - v(N \\ {i}) and T(N) - T(N \\ {i}): what the mission would save
  without i, each manifest re-planned (n + 1 plans);
- **Shapley share** (Shapley 1953) of the game v, phi_i = sum over S not holding i of
  |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)); the shares sum to v(N) - v(empty) (efficiency),
  equal payloads get equal shares (symmetry), a payload that changes no v(S) gets 0 (null
  player), and the shares of a sum of games are the sums of the shares (additivity);
- **allocated cost**: phi_i + v(empty) / n. This is the Shapley value of the cost game c with
  c(S) = v(S) for S non-empty and c(empty) = 0 - the disposal is split equally, because every
  payload alone would need it - and the allocations sum to v(N), the plan's total, exactly.

The same plans give both games: propellant and duration.

Exact for n <= ``exact_max_payloads`` (2^n plans). Beyond, permutation sampling (Castro,
Gomez & Tejada 2009): for a random order of the payloads, each payload's contribution is
v(its predecessors + it) - v(its predecessors); each order's contributions telescope to
v(N) - v(empty), so their mean over any number of orders sums to it too (to rounding), and the
allocation stays exact in total while each share carries a sampling error. Orders are drawn in
antithetic pairs (an order and its reverse: Mitchell, Cooper, Frank & Holmes 2022, "Sampling
permutations for Shapley value estimation", JMLR 23), and the standard error of each share is
the standard deviation of the pair means over the square root of the number of pairs.

An infeasible sub-manifest (a subset the planner cannot close on its own, e.g. a deadline it
can no longer meet with the drift times a smaller plan picks, or a time limit) takes the value
of the cheapest feasible plan found for a superset of it: that plan does deliver S (and more),
so it is a feasible way to serve S; the whole manifest, always planned first, is feasible or
attribution is refused (:class:`AttributionError`). Such subsets are listed in the result's
warnings.

The numbers carry the planner's own error: each v(S) is within its plan's optimality gap of
the best plan of the leg model (at most 0.1 % for an ``exact`` time-invariant plan), so a
marginal cost or a share is known to about the sum of the gaps of the plans it differences
(``Attribution.max_gap``). The planner's time limit is wall-clock time: a sub-plan that
reaches it returns its best plan uncertified, so on a loaded machine such values (and the
shares) can differ from run to run; ``time_limit_s`` makes the cap explicit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from otvplan.constants import SECONDS_PER_DAY
from otvplan.errors import InfeasibleError, InputError, Problem, Shortfall
from otvplan.model import OBJECTIVES, Pricing, Scenario
from otvplan.planning.solver import plan as _plan

#: Manifests up to this many payloads are attributed exactly (2^n plans).
EXACT_MAX_PAYLOADS = 6
#: The time window of the sub-manifests: the scenario's duration limit, or the whole plan's
#: duration.
WINDOWS = ("scenario", "plan")
#: Permutations drawn beyond the exact limit (an even number: antithetic pairs).
DEFAULT_SAMPLES = 64


class AttributionError(InfeasibleError):
    """Costs cannot be attributed: the whole manifest has no feasible plan."""


@dataclass(frozen=True)
class Coalition:
    """One sub-manifest and its plan: the payloads (names, in manifest order), propellant
    [kg], duration [s], whether its own plan was feasible and exact, its optimality gap, and,
    for an infeasible one, the superset whose plan gave its value."""

    payloads: tuple[str, ...]
    propellant_kg: float
    duration_s: float
    feasible: bool
    exact: bool
    gap: float | None = None
    value_from: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PayloadCost:
    """What one delivered payload costs.

    ``marginal_*``: the whole plan less the plan without this payload. ``shapley_*``: its
    Shapley share of v(N) - v(empty) (``*_se``: the sampling standard error, 0 when exact).
    ``allocated_*``: the share plus an equal part of v(empty); these sum to the plan's totals.
    ``share``: allocated propellant / total propellant. ``cost``: with a :class:`Pricing`,
    its propellant, days and tug-launch parts (the tug's launch split by mass delivered) and
    their sum; ``cost_per_kg`` = cost / mass (None without pricing or for a massless payload).
    """

    name: str
    mass_kg: float
    marginal_propellant_kg: float
    marginal_duration_s: float
    shapley_propellant_kg: float
    shapley_propellant_se_kg: float
    shapley_duration_s: float
    shapley_duration_se_s: float
    allocated_propellant_kg: float
    allocated_duration_s: float
    share: float
    propellant_cost: float | None = None
    operations_cost: float | None = None
    tug_cost: float | None = None
    cost: float | None = None
    cost_per_kg: float | None = None
    #: the tug it flies on (a fleet's attribution; None for one tug)
    tug: str | None = None


@dataclass(frozen=True)
class Attribution:
    """The costs of a plan's deliveries (:func:`attribute`).

    ``method``: ``"exact"`` or ``"sampled"`` (``samples`` permutations, seed ``seed``); for a
    fleet (:mod:`otvplan.planning.fleet_costs`) ``"fleet"`` (exact, every sub-manifest
    re-assigned over the tugs) or ``"per-tug"`` (the assignment fixed, each tug's plan
    attributed to its payloads); a fleet's durations are tug-time, summed over the tugs flown.
    ``total_*``: v(N), T(N); ``baseline_*``: v(empty), T(empty) (the disposal alone).
    ``plans``: sub-manifests planned; ``elapsed_s``: wall-clock time. ``max_gap``: the largest
    optimality gap of the plans used (None if none has a bound). ``total_cost``: the priced
    total with ``pricing`` (None without).
    """

    scenario: str
    objective: str
    method: str
    payloads: tuple[PayloadCost, ...]
    total_propellant_kg: float
    total_duration_s: float
    baseline_propellant_kg: float
    baseline_duration_s: float
    samples: int
    seed: int
    plans: int
    elapsed_s: float
    max_gap: float | None
    coalitions: tuple[Coalition, ...]
    pricing: Pricing | None = None
    total_cost: float | None = None
    tug_launch_kg: float = 0.0
    window: str = "scenario"
    warnings: tuple[str, ...] = ()

    @property
    def method_text(self) -> str:
        """One line saying how the shares were computed."""
        n = len(self.payloads)
        se = max((p.shapley_propellant_se_kg for p in self.payloads), default=0.0)
        if self.method == "exact":
            head = f"exact Shapley values over all {2**n} sub-manifests"
        elif self.method == "fleet":
            head = (
                f"exact Shapley values of the fleet: all {2**n} sub-manifests, each "
                "re-assigned over the tugs"
            )
        elif self.method == "per-tug":
            head = (
                "the fleet plan's assignment kept; each tug's propellant and days shared by "
                "its payloads (Shapley values within each tug"
                + (f", sampled: standard error up to {se:,.2f} kg)" if self.samples else ", exact)")
            )
        else:
            head = (
                f"Shapley values sampled from {self.samples} permutations (antithetic "
                f"pairs, seed {self.seed}); standard error up to {se:,.2f} kg"
            )
        gap = "" if self.max_gap is None else f"; plans within {self.max_gap:.2%} of optimal"
        if self.window == "plan":
            gap += f"; sub-manifests within the plan's {self.total_duration_s / 86400.0:,.2f} d"
        if self.method in ("fleet", "per-tug"):
            tail = "" if self.method == "fleet" else "; each tug's disposal split equally"
            return f"{head}; {self.plans} plans in {self.elapsed_s:,.1f} s{gap}{tail}"
        return (
            f"{head}; {self.plans} plans in {self.elapsed_s:,.1f} s{gap}; disposal "
            f"{self.baseline_propellant_kg:,.2f} kg split equally"
        )


# --------------------------------------------------------------------------------------------
# The coalition values
# --------------------------------------------------------------------------------------------


def _subset(scenario: Scenario, mask: int) -> Scenario:
    """The scenario with its manifest cut to the payloads of ``mask`` (bit k: payload k)."""
    return replace(
        scenario, payloads=tuple(p for k, p in enumerate(scenario.payloads) if mask >> k & 1)
    )


def _value(p) -> tuple[float, float, bool, bool, float | None]:
    """(propellant kg, duration s, feasible, exact, gap) of a plan."""
    return (
        float(p.propellant_used_kg),
        float(p.duration_s),
        bool(p.feasible),
        bool(p.exact),
        p.optimality_gap,
    )


def _plan_subset(
    scenario: Scenario, objective: str, mask: int
) -> tuple[float, float, bool, bool, float | None]:
    """Plan one sub-manifest (on a worker process)."""
    return _value(_plan(_subset(scenario, mask), objective))


class _Values:
    """v(S) and T(S) per subset mask (bit k: payload k of the manifest), planned on demand."""

    def __init__(
        self,
        scenario: Scenario,
        objective: str,
        time_limit_s: float | None,
        progress: Callable[[dict], None] | None,
        total: int | None,
    ):
        self.scenario = scenario
        self.objective = objective
        self.n = len(scenario.payloads)
        self.full = (1 << self.n) - 1
        solver = (
            scenario.solver
            if time_limit_s is None
            else replace(scenario.solver, time_limit_s=float(time_limit_s))
        )
        self.base = replace(scenario, solver=solver)
        self.cache: dict[int, tuple[float, float, bool, bool, float | None]] = {}
        self.progress = progress
        self.total = total
        self.t0 = time.perf_counter()

    def names(self, mask: int) -> tuple[str, ...]:
        return tuple(p.name for k, p in enumerate(self.scenario.payloads) if mask >> k & 1)

    def plan(self, mask: int) -> tuple[float, float, bool, bool, float | None]:
        got = self.cache.get(mask)
        if got is None:
            p = _plan(_subset(self.base, mask), self.objective)
            if mask == self.full and not p.feasible:
                raise AttributionError(
                    "costs can be attributed only for a feasible plan of the whole manifest; "
                    "this one is not: " + "; ".join(p.infeasible_reasons),
                    Shortfall(
                        p.shortfall_propellant_kg, p.shortfall_time_s, list(p.infeasible_reasons)
                    ),
                )
            got = self._store(mask, _value(p))
        return got

    def plan_all(self, masks, workers: int | None) -> None:
        """Plan every mask not planned yet, in this process or on ``workers`` processes."""
        todo = [m for m in dict.fromkeys(masks) if m not in self.cache]
        if not workers or workers <= 1 or len(todo) <= 1:
            for mask in todo:
                self.plan(mask)
            return
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futures = {pool.submit(_plan_subset, self.base, self.objective, m): m for m in todo}
            for future in as_completed(futures):
                self._store(futures[future], future.result())

    def _store(self, mask: int, got: tuple[float, float, bool, bool, float | None]):
        self.cache[mask] = got
        if self.progress is not None:
            self.progress(
                {
                    "plans": len(self.cache),
                    "total": self.total,
                    "payloads": bin(mask).count("1"),
                    "elapsed_s": time.perf_counter() - self.t0,
                }
            )
        return got

    def resolve(self) -> tuple[dict[int, tuple[float, float]], dict[int, int]]:
        """Values of every planned subset (see :func:`fill_from_supersets`)."""
        feasible = {m: (v[0], v[1]) for m, v in self.cache.items() if v[2]}
        return fill_from_supersets(feasible, self.cache)


def fill_from_supersets(
    feasible: dict[int, tuple[float, float]], masks: Iterable[int]
) -> tuple[dict[int, tuple[float, float]], dict[int, int]]:
    """(propellant, duration) of every subset in ``masks``: its own when it has a feasible plan
    (``feasible``), else the cheapest feasible superset's (a plan that delivers it and more).
    Returns (values, filled-from: subset -> the superset whose value it took)."""
    values: dict[int, tuple[float, float]] = {}
    filled: dict[int, int] = {}
    for m in masks:
        if m in feasible:
            values[m] = feasible[m]
            continue
        best = min((t for t in feasible if t & m == m), key=lambda t: feasible[t])
        values[m] = feasible[best]
        filled[m] = best
    return values, filled


# --------------------------------------------------------------------------------------------
# attribute()
# --------------------------------------------------------------------------------------------


def attribute(
    scenario: Scenario,
    *,
    objective: str | None = "propellant",
    exact_max_payloads: int = EXACT_MAX_PAYLOADS,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    time_limit_s: float | None = None,
    window: str = "scenario",
    pricing: Pricing | None = None,
    workers: int | None = None,
    progress: Callable[[dict], None] | None = None,
) -> Attribution:
    """Attribute the plan's propellant and days to its payloads (see the module docstring).

    ``objective``: the planner's objective for every sub-manifest (None: the scenario's).
    ``exact_max_payloads``: exact Shapley values up to this many payloads (2^n plans), else
    ``samples`` permutations (rounded up to an even number: antithetic pairs) drawn with
    ``seed``. ``window``: ``"scenario"`` plans each sub-manifest within the scenario's
    ``max_duration``; ``"plan"`` within the whole plan's duration, T(N), so that no smaller
    manifest takes longer than the mission it is cut from (under the propellant objective a
    smaller manifest otherwise spends all the time allowed drifting, and a payload's marginal
    days can be negative). ``time_limit_s``: the planner's time limit for each sub-plan (None: the
    scenario's ``solver.time_limit``). ``pricing``: adds the money columns (None: the
    scenario's ``pricing:``, if any). ``workers``:
    plan the sub-manifests on this many processes (None or 1: in this process; each plan
    is the same either way). ``progress``:
    called after each new sub-plan with a dict of ``plans`` (planned so far), ``total``
    (plans an exact attribution needs, None when sampling), ``payloads`` (the size of the
    sub-manifest just planned) and ``elapsed_s``.

    Raises :class:`AttributionError` (an :class:`otvplan.errors.InfeasibleError`) when the
    whole manifest is infeasible, ``ValueError`` for bad arguments.
    """
    if scenario.fleet is not None:
        raise InputError(
            [
                Problem(
                    scenario.source or scenario.name,
                    "tugs",
                    "attribute() prices one tug's plan; a fleet's costs come from "
                    "otvplan.planning.fleet_costs.attribute_fleet (otvplan.costs and "
                    "`otvplan costs` choose it for a scenario with tugs:)",
                )
            ]
        )
    pricing = scenario.pricing if pricing is None else pricing
    objective = objective or scenario.solver.objective
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if samples < 2:
        raise ValueError(f"samples must be at least 2, got {samples}")
    check_arguments(scenario, window, time_limit_s)
    n = len(scenario.payloads)
    exact = n <= exact_max_payloads
    values = _Values(scenario, objective, time_limit_s, progress, (1 << n) if exact else None)
    full = values.full
    values.plan(full)  # first: refuse an infeasible manifest before planning anything else
    if window == "plan":
        # every sub-manifest within the whole mission's span (never longer than the limit)
        span = values.cache[full][1]
        limit = scenario.constraints.max_duration_s
        if limit is None or span < limit:
            values.base = replace(
                values.base,
                constraints=replace(values.base.constraints, max_duration_s=max(span, 1.0)),
            )
    needed = [full & ~(1 << i) for i in range(n)] + [0]
    pairs = 0
    orders: list[list[int]] = []
    if exact:
        needed += list(range(1 << n))
    else:
        rng = np.random.default_rng(seed)
        pairs = (samples + 1) // 2
        for _ in range(pairs):
            order = [int(k) for k in rng.permutation(n)]
            orders.append(order)
            orders.append(order[::-1])
        for order in orders:
            mask = 0
            for k in order:
                mask |= 1 << k
                needed.append(mask)
    values.plan_all(needed, workers)
    v, filled = values.resolve()
    prop = {m: x[0] for m, x in v.items()}
    dur = {m: x[1] for m, x in v.items()}
    if exact:
        phi_p, phi_t = exact_shapley(prop, n), exact_shapley(dur, n)
        se_p, se_t = np.zeros(n), np.zeros(n)
    else:
        phi_p, se_p = sampled_shapley(prop, orders, n)
        phi_t, se_t = sampled_shapley(dur, orders, n)
    warnings = []
    for m, src in sorted(filled.items()):
        warnings.append(
            f"sub-manifest [{', '.join(values.names(m)) or 'none'}] has no feasible plan of its "
            f"own; valued by the plan of [{', '.join(values.names(src))}]"
        )
    gaps = [c[4] for c in values.cache.values() if c[4] is not None]
    coalitions = tuple(
        Coalition(
            payloads=values.names(m),
            propellant_kg=values.cache[m][0],
            duration_s=values.cache[m][1],
            feasible=values.cache[m][2],
            exact=values.cache[m][3],
            gap=values.cache[m][4],
            value_from=values.names(filled[m]) if m in filled else None,
        )
        for m in sorted(values.cache, key=lambda m: (bin(m).count("1"), m))
    )
    total_p, total_t = prop[full], dur[full]
    base_p, base_t = prop[0], dur[0]
    tug_launch_kg = scenario.tug.dry_mass_kg + scenario.tug.propellant_kg
    masses = np.array([p.mass_kg for p in scenario.payloads], dtype=float)
    mass_total = float(masses.sum())
    rows = []
    for i, p in enumerate(scenario.payloads):
        alloc_p = float(phi_p[i]) + base_p / n
        alloc_t = float(phi_t[i]) + base_t / n
        row = PayloadCost(
            name=p.name,
            mass_kg=float(p.mass_kg),
            marginal_propellant_kg=total_p - prop[full & ~(1 << i)],
            marginal_duration_s=total_t - dur[full & ~(1 << i)],
            shapley_propellant_kg=float(phi_p[i]),
            shapley_propellant_se_kg=float(se_p[i]),
            shapley_duration_s=float(phi_t[i]),
            shapley_duration_se_s=float(se_t[i]),
            allocated_propellant_kg=alloc_p,
            allocated_duration_s=alloc_t,
            share=alloc_p / total_p if total_p > 0 else 1.0 / n,
        )
        weight = p.mass_kg / mass_total if mass_total > 0 else 1.0 / n
        rows.append(priced(row, pricing, weight * tug_launch_kg))
    total_cost = priced_total(pricing, total_p, total_t, tug_launch_kg)
    return Attribution(
        scenario=scenario.name,
        objective=objective,
        method="exact" if exact else "sampled",
        payloads=tuple(rows),
        total_propellant_kg=total_p,
        total_duration_s=total_t,
        baseline_propellant_kg=base_p,
        baseline_duration_s=base_t,
        samples=0 if exact else 2 * pairs,
        seed=seed,
        plans=len(values.cache),
        elapsed_s=time.perf_counter() - values.t0,
        max_gap=max(gaps) if gaps else None,
        coalitions=coalitions,
        pricing=pricing,
        total_cost=total_cost,
        tug_launch_kg=tug_launch_kg,
        window=window,
        warnings=tuple(warnings),
    )


def check_arguments(scenario: Scenario, window: str, time_limit_s: float | None) -> None:
    """``ValueError`` for an attribution's bad arguments (one tug or a fleet): an unknown
    window, a time limit that is not positive, payload names that are not unique."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    if time_limit_s is not None and not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")
    names = [p.name for p in scenario.payloads]
    if len(set(names)) != len(names):
        raise ValueError("payload names must be unique to attribute costs")


def priced(row: PayloadCost, pricing: Pricing | None, tug_launch_kg: float) -> PayloadCost:
    """``row`` with its money columns: its allocated propellant and days at the prices, and
    ``tug_launch_kg`` of tug launched (its part of its tug, split by mass delivered)."""
    if pricing is None:
        return row
    prop_cost = row.allocated_propellant_kg * pricing.propellant_per_kg
    ops_cost = row.allocated_duration_s / SECONDS_PER_DAY * pricing.per_day
    tug_cost = tug_launch_kg * pricing.tug_launch_per_kg
    cost = prop_cost + ops_cost + tug_cost
    return replace(
        row,
        propellant_cost=prop_cost,
        operations_cost=ops_cost,
        tug_cost=tug_cost,
        cost=cost,
        cost_per_kg=cost / row.mass_kg if row.mass_kg > 0 else None,
    )


def priced_total(
    pricing: Pricing | None, propellant_kg: float, duration_s: float, tug_launch_kg: float
) -> float | None:
    """The whole plan's price (None without pricing): what the rows' costs sum to."""
    return None if pricing is None else pricing.total(propellant_kg, duration_s, tug_launch_kg)


def exact_shapley(v: dict[int, float], n: int) -> np.ndarray:
    """phi_i = sum_{S not holding i} |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)) (Shapley 1953),
    summed with :func:`math.fsum`."""
    weight = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    out = np.zeros(n)
    for i in range(n):
        bit = 1 << i
        terms = [
            weight[bin(m).count("1")] * (v[m | bit] - v[m]) for m in range(1 << n) if not m & bit
        ]
        out[i] = math.fsum(terms)
    return out


def sampled_shapley(
    v: dict[int, float], orders: list[list[int]], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean marginal contributions over ``orders`` (antithetic pairs, consecutive) and the
    standard error of each mean from the pair means (Castro, Gomez & Tejada 2009)."""
    contrib = np.zeros((len(orders), n))
    for r, order in enumerate(orders):
        mask = 0
        for k in order:
            contrib[r, k] = v[mask | 1 << k] - v[mask]
            mask |= 1 << k
    pair_means = 0.5 * (contrib[0::2] + contrib[1::2])
    phi = pair_means.mean(axis=0)
    m = pair_means.shape[0]
    se = pair_means.std(axis=0, ddof=1) / math.sqrt(m) if m > 1 else np.full(n, math.inf)
    return phi, se
