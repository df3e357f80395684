"""Several tugs on one launch: which payloads fly on which tug (no I/O).

The model. A fleet scenario (:class:`otvplan.model.Fleet`) lists tugs that share the launch's
manifest. Tug k given the payload set S flies the single-tug problem
:func:`tug_scenario` (its tug, the payloads S, its drop-off, starting when it is available),
planned by :func:`otvplan.planning.solver.plan`; its value V_k(S) is that plan's (feasible,
propellant, end time). A tug given no payload stays on the ground (V = 0, it is not flown).
An *assignment* gives each payload to at most one tug, within the rules: a payload pinned to a
tug (``assign``) flies on no other, no two payloads of an ``apart`` group share a tug, a tug
takes at most ``max_payloads`` payloads of at most ``max_payload_mass_kg`` in all, and a
payload whose deadline comes before a tug is available cannot fly on it. Every tug's plan must
be feasible; payloads that no tug can take are left out.

Assignments are ordered lexicographically by (priority left out, mass left out, objective):
``propellant`` = the sum of the tugs' propellant; ``tugs`` = (tugs flown, propellant);
``makespan`` = (last end, propellant) with each tug planned for its earliest end (the
single-tug ``duration`` objective); ``cost`` = (the priced total, propellant) with the
scenario's :class:`otvplan.model.Pricing`: each tug flown costs its propellant, its days of
operations and its launch (dry mass + propellant loaded), so a tug is flown only when what it
saves pays for it (each tug's plan is its least-propellant plan).

Exact method (:data:`EXACT_MAX_PLANS` subset plans or fewer): every allowed subset of the
manifest is planned for every tug, then a dynamic programme over subsets finds the best
partition: best_k(M) = min over S in M of best_(k-1)(M \\ S) + V_k(S), O(m 3^n) steps. Sums and
lexicographic sums are additive, so the programme is exact for ``propellant``, ``tugs`` and
``cost``; the last end is not, so ``makespan`` runs it once per candidate makespan T (tugs
ending after T excluded) and keeps the smallest T that leaves out no more than the best
assignment without it (the candidates are the plans' end times; the search is a bisection,
feasibility being monotone in T). The assignment is then optimal up to the tug plans' own
optimality gaps, and the same programme over the plans' lower bounds (a plan's own bound; its
propellant when it is proven optimal without one; else 0) bounds every assignment's propellant
from below. The bound takes each subset the planner finds infeasible as infeasible: proven for
time-invariant manifests (the continuous planner's relaxation has no plan), on its grids for
the general search. It also answers "how many of this tug would close the manifest": the fewest
feasible subsets covering it (a set-cover programme over the same plans).

Heuristic (larger manifests, or when the exact enumeration runs out of time): payloads are
inserted one by one (highest priority, then heaviest, first) on the tug where the assignment
is best, then moves are tried until none improves or the time limit is reached: a payload
relocated to another tug, two payloads swapped between tugs, a left-out payload inserted. Each
move re-plans only the two tugs concerned, and every (tug, subset) plan is kept, so a move seen
once costs nothing. The result is a local optimum (``exact`` false); for the ``propellant``
objective and at most :data:`BOUND_MAX_PAYLOADS` payloads it carries a lower bound: the
partition programme over bounds of every allowed subset made without planning
(:func:`otvplan.planning.subset_bounds.subset_propellant_bounds`).

Proof (after the heuristic; ``propellant`` objective, at most :data:`LAZY_MAX_PAYLOADS`
payloads, within half the time limit): the partition programme runs over the plans made so far
and those bounds for the subsets not planned; the subsets of its best assignment not yet
planned are planned and it runs again, until its best assignment is made of planned subsets
alone - then no assignment is better, as every other one costs at least its programme value
(:func:`_prove`), and the plan is exact. How many subsets it plans depends on how close the
bounds are to the plans; out of time, its last programme over the plans' own bounds is the
bound.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from otvplan.constants import SECONDS_PER_DAY
from otvplan.model import FleetPlan, FleetTug, Plan, Scenario, TugPlan
from otvplan.planning.partition import PartitionProgramme
from otvplan.planning.solver import DEFAULT_TIME_LIMIT_S, SolverOptions
from otvplan.planning.solver import plan as _plan
from otvplan.planning.subset_bounds import subset_propellant_bounds
from otvplan.planning.targets import spec_at

#: The exact method plans at most this many (tug, subset) problems; beyond, the heuristic.
EXACT_MAX_PLANS = 512

#: Least time limit [s] given to one tug's plan, however little of the fleet's is left.
MIN_TUG_TIME_LIMIT_S = 2.0


def tug_scenario(scenario: Scenario, tug: FleetTug, payloads: Iterable) -> Scenario:
    """The single-tug problem of ``tug`` carrying ``payloads`` (of ``scenario``'s manifest).

    Its epoch is when the tug is available (``available_s`` after the scenario's); its
    drop-off is its own or the scenario's, and every orbit is carried to the new epoch at the
    secular J2 rates (:func:`otvplan.planning.targets.spec_at`); deadlines and the duration
    limit keep their dates. With the scenario's drop-off and no delay this is the scenario
    itself with the manifest cut to ``payloads``, so a fleet of one tug plans exactly as the
    single tug.
    """
    shift = float(tug.available_s)
    dropoff = tug.dropoff if tug.dropoff is not None else scenario.dropoff
    chosen = tuple(payloads)
    constraints = scenario.constraints
    if shift > 0.0:
        chosen = tuple(
            replace(
                p,
                target=spec_at(p.target, shift),
                deliver_by_s=None if p.deliver_by_s is None else p.deliver_by_s - shift,
            )
            for p in chosen
        )
        dropoff = spec_at(dropoff, shift)
        if constraints.max_duration_s is not None:
            constraints = replace(constraints, max_duration_s=constraints.max_duration_s - shift)
    return replace(
        scenario,
        epoch=scenario.epoch + _dt.timedelta(seconds=shift),
        dropoff=dropoff,
        tug=tug.tug,
        payloads=chosen,
        constraints=constraints,
        fleet=None,
    )


@dataclass(frozen=True)
class _Value:
    """One tug's plan of one subset, as the assignment search sees it."""

    feasible: bool
    propellant_kg: float
    end_s: float  # after the fleet scenario's epoch
    bound_kg: float  # a lower bound on the subset's propellant (0 when the plan has none)
    exact: bool
    plan: Plan | None  # None for the empty subset (the tug is not flown)
    cost: float = 0.0  # the priced total of the tug's plan (objective cost; else 0)


_GROUND = _Value(True, 0.0, 0.0, 0.0, True, None)

#: The tug plans of the search only need to know whether a subset closes: an infeasible one
#: is not analysed (its shortfall is worked out only for the payloads finally left out).
_QUICK = SolverOptions(explain=False, analyse_infeasible=False)


class _Problem:
    """The fleet problem: rules as bit masks, and every (tug, subset) plan made so far."""

    def __init__(self, scenario: Scenario, deadline: float, progress):
        fleet = scenario.fleet
        assert fleet is not None
        self.scenario = scenario
        self.fleet = fleet
        self.tugs = fleet.tugs
        self.n = len(scenario.payloads)
        self.m = len(self.tugs)
        self.full = (1 << self.n) - 1
        self.deadline = deadline
        self.progress = progress
        self.t0 = time.perf_counter()
        index = {p.name: k for k, p in enumerate(scenario.payloads)}
        tug_index = {t.tug.name: k for k, t in enumerate(self.tugs)}
        self.objective = fleet.objective
        self.pricing = scenario.pricing if fleet.objective == "cost" else None
        if fleet.objective == "cost" and self.pricing is None:
            raise ValueError("the fleet objective cost needs the scenario's pricing")
        self.tug_objective = (
            "duration" if fleet.objective == "makespan" else scenario.solver.objective
        )
        if self.tug_objective == "pareto":
            self.tug_objective = "propellant"
        # payloads each tug may carry (deadline after its start; pinned elsewhere: not here)
        self.allowed = []
        for ft in self.tugs:
            mask = 0
            for i, p in enumerate(scenario.payloads):
                late = p.deliver_by_s is not None and p.deliver_by_s <= ft.available_s
                if not late:
                    mask |= 1 << i
            self.allowed.append(mask)
        self.pinned = [0] * self.m  # payloads that must fly on tug k
        for payload, tug in fleet.assign:
            self.pinned[tug_index[tug]] |= 1 << index[payload]
        pinned_any = 0
        for mask in self.pinned:
            pinned_any |= mask
        self.dp_allowed = [(self.allowed[k] & ~pinned_any) | self.pinned[k] for k in range(self.m)]
        self.apart = [sum(1 << index[name] for name in group) for group in fleet.apart]
        self.mass = [p.mass_kg for p in scenario.payloads]
        self.priority = [p.priority for p in scenario.payloads]
        self.values: dict[tuple[int, int], _Value] = {}
        self.plans_made = 0

    # -- rules --------------------------------------------------------------------------------

    def fits(self, k: int, mask: int, *, pins: bool = True) -> bool:
        """Whether tug k may carry the subset ``mask`` (before planning it)."""
        allowed = self.dp_allowed[k] if pins else self.allowed[k]
        if mask & ~allowed:
            return False
        ft = self.tugs[k]
        count = mask.bit_count()
        if ft.max_payloads is not None and count > ft.max_payloads:
            return False
        if ft.max_payload_mass_kg is not None:
            mass = sum(self.mass[i] for i in range(self.n) if mask >> i & 1)
            if mass > ft.max_payload_mass_kg * (1.0 + 1e-12):
                return False
        return all((mask & group).bit_count() <= 1 for group in self.apart)

    def names(self, mask: int) -> list[str]:
        return [p.name for i, p in enumerate(self.scenario.payloads) if mask >> i & 1]

    def subsets(self) -> list[tuple[int, int, int]]:
        """Every (size, tug, subset) the exact method plans, smallest subsets first."""
        return sorted(
            (mask.bit_count(), k, mask)
            for k in range(self.m)
            for mask in _submasks(self.allowed[k])
            if mask and self.fits(k, mask, pins=False)
        )

    # -- values -------------------------------------------------------------------------------

    def value(self, k: int, mask: int) -> _Value:
        """V_k(mask), planned on first use."""
        if mask == 0:
            return _GROUND
        got = self.values.get((k, mask))
        if got is not None:
            return got
        ft = self.tugs[k]
        sub = tug_scenario(
            self.scenario, ft, (p for i, p in enumerate(self.scenario.payloads) if mask >> i & 1)
        )
        own = sub.solver.time_limit_s or DEFAULT_TIME_LIMIT_S
        left = max(self.deadline - time.perf_counter(), MIN_TUG_TIME_LIMIT_S)
        sub = replace(sub, solver=replace(sub.solver, time_limit_s=min(own, left)))
        p = _plan(sub, self.tug_objective, options=_QUICK)
        lb = p.lower_bound_propellant_kg
        got = _Value(
            p.feasible,
            p.propellant_used_kg,
            ft.available_s + p.duration_s,
            # a lower bound: the plan's own, or its propellant when it is proven optimal
            # without one, else none (0)
            min(lb, p.propellant_used_kg)
            if lb is not None
            else (p.propellant_used_kg if p.exact else 0.0),
            p.exact,
            p,
            self.pricing.total(
                p.propellant_used_kg, p.duration_s, ft.tug.dry_mass_kg + ft.tug.propellant_kg
            )
            if self.pricing is not None
            else 0.0,
        )
        self.values[(k, mask)] = got
        self.plans_made += 1
        if self.progress is not None:
            self.progress(
                {
                    "plans": self.plans_made,
                    "tug": ft.tug.name,
                    "payloads": mask.bit_count(),
                    "elapsed_s": time.perf_counter() - self.t0,
                }
            )
        return got

    def shortfall_plan(self, k: int, mask: int) -> Plan:
        """Tug k's plan of ``mask`` with its shortfall analysed (for an explanation)."""
        sub = tug_scenario(
            self.scenario,
            self.tugs[k],
            (p for i, p in enumerate(self.scenario.payloads) if mask >> i & 1),
        )
        left = max(self.deadline - time.perf_counter(), MIN_TUG_TIME_LIMIT_S)
        sub = replace(sub, solver=replace(sub.solver, time_limit_s=left))
        return _plan(sub, self.tug_objective, options=SolverOptions(explain=False))

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    # -- ordering -----------------------------------------------------------------------------

    def left_cost(self, left: int) -> tuple[float, float]:
        """(priority, mass) of the payloads left out."""
        bits = [i for i in range(self.n) if left >> i & 1]
        return (float(sum(self.priority[i] for i in bits)), sum(self.mass[i] for i in bits))

    def key(self, masks: list[int]) -> tuple:
        """The order of assignments (smaller is better); infinite if a tug's plan fails."""
        values = [self.value(k, mask) for k, mask in enumerate(masks)]
        if not all(v.feasible for v in values):
            return (math.inf,)
        used = 0
        for mask in masks:
            used |= mask
        propellant = sum(v.propellant_kg for v in values)
        if self.objective == "tugs":
            goal: tuple = (sum(1 for mask in masks if mask), propellant)
        elif self.objective == "cost":
            goal = (math.fsum(v.cost for v in values), propellant)
        elif self.objective == "makespan":
            goal = (max((v.end_s for v in values), default=0.0), propellant)
        else:
            goal = (propellant,)
        return (*self.left_cost(self.full & ~used), *goal)


def _submasks(mask: int):
    """Every subset of ``mask``, itself first, the empty set last."""
    sub = mask
    while True:
        yield sub
        if sub == 0:
            return
        sub = (sub - 1) & mask


def _programme(
    problem: _Problem, end_limit: float = math.inf, use_bound: bool = False
) -> dict[int, tuple[tuple, list[int]]]:
    """The partition programme over every subset value planned so far.

    Returns, for every set M of payloads some assignment serves exactly, the best additive
    cost of serving M - ([tugs or priced total,] propellant) - and its masks (one per tug);
    tugs ending after ``end_limit`` are excluded. ``use_bound`` sums the plans' lower bounds
    instead of their propellant.
    """
    first = problem.objective in ("tugs", "cost")  # a first term before the propellant
    # best[M]: (cost tuple, masks) for the tugs so far serving exactly M
    zero = (0.0, 0.0) if first else (0.0,)
    best: dict[int, tuple[tuple, list[int]]] = {0: (zero, [])}
    for k in range(problem.m):
        options: list[tuple[int, tuple]] = []
        for mask in _submasks(problem.dp_allowed[k]):
            if not problem.fits(k, mask):
                continue
            v = problem.values.get((k, mask)) if mask else _GROUND
            if v is None or not v.feasible or v.end_s > end_limit:
                continue
            kg = v.bound_kg if use_bound else v.propellant_kg
            if problem.objective == "tugs":
                options.append((mask, (1.0 if mask else 0.0, kg)))
            elif problem.objective == "cost":
                options.append((mask, (v.cost, kg)))
            else:
                options.append((mask, (kg,)))
        nxt: dict[int, tuple[tuple, list[int]]] = {}
        for served, (sofar, masks) in best.items():
            for mask, add in options:
                if mask & served:
                    continue
                total = tuple(a + b for a, b in zip(sofar, add))
                union = served | mask
                old = nxt.get(union)
                if old is None or total < old[0]:
                    nxt[union] = (total, [*masks, mask])
        best = nxt
    return best


def _partition(problem: _Problem, end_limit: float = math.inf, use_bound: bool = False):
    """Best assignment over every allowed subset value (the exact programme).

    Returns (key, masks) for the objective's additive key, (priority left, mass left,
    [tugs or priced total,] propellant); tugs ending after ``end_limit`` are excluded.
    ``use_bound`` sums the plans' lower bounds instead of their propellant.
    """
    full = problem.full
    # every pinned payload must be served by its tug or left out; choose the left-out set
    result = None
    for served, (sofar, masks) in _programme(problem, end_limit, use_bound).items():
        left = full & ~served
        key = (*problem.left_cost(left), *sofar)
        if result is None or key < result[0]:
            result = (key, masks)
    assert result is not None  # the empty assignment is always there
    return result


def _tugs_needed(problem: _Problem, k: int) -> int | None:
    """Fewest copies of tug k whose feasible plans cover the manifest (None: none do)."""
    feasible = {mask for (j, mask), v in problem.values.items() if j == k and v.feasible}
    full = problem.full
    cover = [math.inf] * (full + 1)
    cover[0] = 0
    for mask in range(1, full + 1):
        low = mask & -mask
        best = math.inf
        rest = mask & ~low
        for extra in _submasks(rest):
            sub = extra | low
            if sub in feasible:
                best = min(best, cover[mask & ~sub] + 1)
        cover[mask] = best
    return None if math.isinf(cover[full]) else int(cover[full])


def _exact(problem: _Problem, until: float) -> tuple[list[int], bool, float | None] | None:
    """The exact method: plan every allowed subset, then the partition programme. Returns
    (masks, complete, lower bound) or None when the plans were not all made by ``until``
    (a ``time.perf_counter`` reading)."""
    for _, k, mask in problem.subsets():
        if time.perf_counter() > until:
            return None
        problem.value(k, mask)
    if problem.objective == "makespan":
        ref = _partition(problem)[0][:2]  # what the best assignment leaves out
        ends = sorted({v.end_s for v in problem.values.values() if v.feasible})
        lo, hi = 0, len(ends) - 1
        while lo < hi:  # smallest end time that leaves out no more than ref
            mid = (lo + hi) // 2
            if _partition(problem, ends[mid])[0][:2] <= ref:
                hi = mid
            else:
                lo = mid + 1
        limit = ends[lo] if ends else math.inf
        key, masks = _partition(problem, limit)
    else:
        key, masks = _partition(problem)
    bound = None
    if problem.objective == "propellant" and key[:2] == (0.0, 0.0):
        bound = _partition(problem, use_bound=True)[0][-1]
    return masks, True, bound


#: Most payloads for which the heuristic's bound is computed (it prices every subset a tug
#: may carry and runs the partition programme over them: 2^n subsets, 3^n steps per tug).
BOUND_MAX_PAYLOADS = 14


def _heuristic_bound(problem: _Problem) -> float | None:
    """A lower bound on the propellant of any assignment that delivers every payload, for the
    heuristic (``propellant`` objective, at most :data:`BOUND_MAX_PAYLOADS` payloads): every
    subset a tug may carry is bounded without planning
    (:func:`otvplan.planning.subset_bounds.subset_propellant_bounds`; a plan made has its own
    bound too, and the larger counts), and the partition programme over those bounds gives
    the least total any assignment could reach."""
    if problem.objective != "propellant" or problem.n > BOUND_MAX_PAYLOADS:
        return None
    size = 1 << problem.n
    best = np.full(size, np.inf)
    best[0] = 0.0
    index = np.arange(size)
    for k, ft in enumerate(problem.tugs):
        subsets = [
            mask for mask in _submasks(problem.dp_allowed[k]) if mask and problem.fits(k, mask)
        ]
        whole = tug_scenario(problem.scenario, ft, problem.scenario.payloads)
        lb = subset_propellant_bounds(whole, subsets)
        nxt = best.copy()  # (the tug may stay on the ground)
        for mask, kg in zip(subsets, lb):
            v = problem.values.get((k, mask))
            if v is not None and v.feasible:
                kg = max(float(kg), v.bound_kg)
            free = index[(index & mask) == 0]  # (free | mask is one-to-one on them)
            to = free | mask
            nxt[to] = np.minimum(nxt[to], best[free] + kg)
        best = nxt
    total = float(best[problem.full])
    return total if math.isfinite(total) else None


#: Most payloads for the lazily planned exact method (its programme holds up to 3^n steps
#: per tug: 531,441 at 12 payloads, 13 MB each).
LAZY_MAX_PAYLOADS = 12


def _allowed_subsets(problem: _Problem) -> list[list[int]]:
    """Per tug, every non-empty subset it may carry (its rules and the pins)."""
    return [
        [mask for mask in _submasks(problem.dp_allowed[k]) if mask and problem.fits(k, mask)]
        for k in range(problem.m)
    ]


@dataclass(frozen=True)
class _Proof:
    """What :func:`_prove` found: the best assignment (masks) when it finished, and a lower
    bound on the propellant of any assignment delivering every payload (None if unknown)."""

    masks: list[int] | None
    bound_kg: float | None


def _prove(problem: _Problem, until: float) -> _Proof:
    """The exact method for the ``propellant`` objective without planning every subset.

    Every allowed subset is first bounded below without planning
    (:func:`otvplan.planning.subset_bounds.subset_propellant_bounds`). The partition
    programme (:class:`otvplan.planning.partition.PartitionProgramme`) then runs over the
    propellant of the subsets planned so far (the heuristic's among them; none where the
    plan is infeasible) and the bounds of the others; the subsets of its best assignment not
    yet planned are planned, and it runs again. Each run's best is at most the best
    assignment's propellant (it only ever lowers costs), so once its best assignment is made
    of planned subsets alone, that assignment is the best one - the same answer as planning
    every subset, up to the tug plans' own gaps. Past ``until`` (a ``time.perf_counter``
    reading) it stops with the bound of the last run (over the plans' own lower bounds and
    the subset bounds), which holds whether or not it finished."""
    subsets = _allowed_subsets(problem)
    bounds = []
    for k, ft in enumerate(problem.tugs):
        whole = tug_scenario(problem.scenario, ft, problem.scenario.payloads)
        bounds.append(np.asarray(subset_propellant_bounds(whole, subsets[k]), float))
    programme = PartitionProgramme(problem.n, subsets)
    left_cost = np.array([problem.left_cost(problem.full & ~t) for t in range(1 << problem.n)])

    def costs(certified: bool) -> list[np.ndarray]:
        out = []
        for k, masks in enumerate(subsets):
            c = bounds[k].copy()
            for pos, mask in enumerate(masks):
                v = problem.values.get((k, mask))
                if v is None:
                    continue
                if not v.feasible:
                    c[pos] = np.inf
                elif certified:  # the plan's own bound where it is the larger
                    c[pos] = max(c[pos], v.bound_kg)
                else:
                    c[pos] = v.propellant_kg
            out.append(c)
        return out

    def certified_bound() -> float | None:
        best, _ = programme.solve(costs(certified=True))
        total = float(best[problem.full])
        return total if math.isfinite(total) else None

    while True:
        best, choices = programme.solve(costs(certified=False))
        order = np.lexsort((best, left_cost[:, 1], left_cost[:, 0]))
        served = int(order[np.isfinite(best[order])][0])  # (the empty set always is)
        masks = programme.masks(choices, served)
        todo = [
            (k, mask) for k, mask in enumerate(masks) if mask and (k, mask) not in problem.values
        ]
        if not todo:
            break
        if time.perf_counter() > until:
            return _Proof(None, certified_bound())
        for k, mask in todo:
            problem.value(k, mask)
    return _Proof(masks, certified_bound() if served == problem.full else None)


def _heuristic(problem: _Problem) -> list[int]:
    """Insertion, then relocation / swap / insertion moves until none improves or time is up."""
    m, n = problem.m, problem.n
    masks = [0] * m
    for k in range(m):  # pinned payloads first, together
        if problem.pinned[k] and problem.fits(k, problem.pinned[k]):
            if problem.value(k, problem.pinned[k]).feasible:
                masks[k] = problem.pinned[k]
    order = sorted(range(n), key=lambda i: (-problem.priority[i], -problem.mass[i], i))

    def try_insert(i: int) -> bool:
        best = None
        for k in range(m):
            trial = masks[k] | 1 << i
            if not problem.fits(k, trial):
                continue
            candidate = [*masks]
            candidate[k] = trial
            key = problem.key(candidate)
            if key[0] != math.inf and (best is None or key < best[0]):
                best = (key, k)
                if problem.out_of_time():
                    break  # out of time: the first tug that takes it
        if best is None:
            return False
        masks[best[1]] |= 1 << i
        return True

    assigned = 0
    for mask in masks:
        assigned |= mask
    for i in order:  # every payload is tried, past the time limit too (first fit then)
        if not assigned >> i & 1:
            if try_insert(i):
                assigned |= 1 << i
    current = problem.key(masks)
    improved = True
    while improved and not problem.out_of_time():
        improved = False
        owner = {i: k for k in range(m) for i in range(n) if masks[k] >> i & 1}
        for i in order:  # left-out payloads first
            if i not in owner and try_insert(i):
                current = problem.key(masks)
                improved = True
        moves: list[tuple[tuple[int, int, int], int | None]] = []
        for i, a in owner.items():
            for b in range(m):
                if b != a:
                    moves.append(((i, a, b), None))
        for i, a in owner.items():
            for j, b in owner.items():
                if i < j and a != b:
                    moves.append(((i, a, b), j))
        for (i, a, b), swap in moves:
            if problem.out_of_time():
                break
            if not (masks[a] >> i & 1) or (swap is not None and not masks[b] >> swap & 1):
                continue  # an earlier move changed the owners
            trial = [*masks]
            trial[a] &= ~(1 << i)
            trial[b] |= 1 << i
            if swap is not None:
                trial[b] &= ~(1 << swap)
                trial[a] |= 1 << swap
            if not (problem.fits(a, trial[a]) and problem.fits(b, trial[b])):
                continue
            key = problem.key(trial)
            if key < current:
                masks, current, improved = trial, key, True
    return masks


def plan_fleet(
    scenario: Scenario,
    *,
    exact_max_plans: int = EXACT_MAX_PLANS,
    lazy_max_payloads: int = LAZY_MAX_PAYLOADS,
    progress: Callable[[dict], None] | None = None,
) -> FleetPlan:
    """Assign the payloads of a fleet scenario to its tugs and plan each tug.

    The exact method when the tugs' allowed subsets number at most ``exact_max_plans`` (and
    their plans finish within half of ``solver.time_limit``, default 60 s); else the
    heuristic, then (``propellant`` objective, at most ``lazy_max_payloads`` payloads) its
    proof, planned lazily, until half the time limit; see the module's docstring. A fleet of
    one tug is the single-tug plan of the whole manifest.
    ``progress`` receives a dict (``plans``, ``tug``, ``payloads``, ``elapsed_s``) after each
    tug plan.
    """
    if scenario.fleet is None:
        raise ValueError("plan_fleet needs a scenario with a fleet (tugs:)")
    t0 = time.perf_counter()
    limit = scenario.solver.time_limit_s or DEFAULT_TIME_LIMIT_S
    problem = _Problem(scenario, t0 + limit, progress)
    warnings: list[str] = []
    exact = False
    bound = None
    needed: tuple[tuple[str, int | None], ...] = ()
    if problem.m == 1 and problem.fits(0, problem.full):
        masks = [problem.full]
        v = problem.value(0, problem.full)
        exact = v.exact
        bound = v.bound_kg
        method = "one tug: the single-tug plan of the whole manifest"
    else:
        count = len(problem.subsets())
        # the exact enumeration may take half the time; the heuristic then has the rest
        got = _exact(problem, t0 + 0.5 * limit) if count <= exact_max_plans else None
        if got is not None:
            masks, exact, bound = got
            method = f"exact: {count} tug-subset plans and a partition programme over them"
            needed = tuple(
                (ft.tug.name, _tugs_needed(problem, k)) for k, ft in enumerate(problem.tugs)
            )
        else:
            masks = _heuristic(problem)
            why = (
                "the time limit ended the exact enumeration"
                if count <= exact_max_plans
                else f"{count} tug-subset plans exceed the exact method's {exact_max_plans}"
            )
            bound = _heuristic_bound(problem)
            method = f"heuristic ({why}): insertion and local search, " + (
                "bound from every subset's completion bound" if bound is not None else "no bound"
            )
            # then, within half the time limit, the proof: planned lazily, it finds the best
            # assignment (the heuristic's, or a better one) or at least a stronger bound
            if (
                problem.objective == "propellant"
                and problem.n <= lazy_max_payloads
                and time.perf_counter() < t0 + 0.5 * limit
            ):
                proof = _prove(problem, t0 + 0.5 * limit)
                if proof.bound_kg is not None:
                    bound = max(bound or 0.0, proof.bound_kg)
                if proof.masks is not None:
                    if problem.key(proof.masks) <= problem.key(masks):
                        masks = proof.masks
                    exact = True
                    method = (
                        f"exact: the heuristic's assignment, then {problem.plans_made} of "
                        f"{count} tug-subset plans made and the others bounded below (a "
                        "partition programme over both)"
                    )
                elif proof.bound_kg is not None:
                    method += "; the lazily planned proof ran out of its time (half the limit)"
            if not exact and problem.out_of_time():
                warnings.append(
                    "solver.time_limit reached: the assignment is the best found, not proven"
                )
    tugs = []
    for k, mask in enumerate(masks):
        if mask:
            v = problem.value(k, mask)
            assert v.plan is not None
            tugs.append(TugPlan(problem.tugs[k].tug.name, problem.tugs[k].available_s, v.plan))
    used = 0
    for mask in masks:
        used |= mask
    left = problem.full & ~used
    feasible = left == 0 and all(t.plan.feasible for t in tugs)
    exact = exact and feasible and all(t.plan.exact for t in tugs)
    reasons = _left_out_reasons(problem, masks, left) if left else []
    for t in tugs:
        reasons += [f"tug {t.tug}: {r}" for r in t.plan.infeasible_reasons]
        warnings += [f"tug {t.tug}: {w}" for w in t.plan.warnings]
    result = FleetPlan(
        scenario=scenario,
        objective=problem.objective,
        feasible=feasible,
        tugs=tuple(tugs),
        unassigned=tuple(problem.names(left)),
        exact=exact,
        method=method,
        lower_bound_propellant_kg=bound if feasible else None,
        tugs_needed=needed,
        infeasible_reasons=tuple(reasons),
        warnings=tuple(warnings),
        solver_stats=(("tug_plans", float(problem.plans_made)),),
    )
    return replace(result, solve_time_s=time.perf_counter() - t0)


@dataclass(frozen=True)
class SubFleet:
    """The best assignment of one sub-manifest over the fleet (the exact programme).

    ``masks``: the payloads of each tug (bit i: payload i of the manifest; 0: not flown);
    ``propellant_kg``: the tugs' propellant; ``tug_time_s``: the sum of the flown tugs' plan
    durations (tug-time in operation); ``end_s``: the last tug's end after the epoch;
    ``exact``: every tug plan proven optimal; ``gap``: their largest optimality gap (None when
    none has a bound).
    """

    masks: tuple[int, ...]
    propellant_kg: float
    tug_time_s: float
    end_s: float
    exact: bool
    gap: float | None


def subset_plan_count(scenario: Scenario) -> int:
    """How many (tug, subset) plans the exact method needs for ``scenario``'s fleet."""
    return len(_Problem(scenario, math.inf, None).subsets())


def sub_fleets(
    scenario: Scenario, *, progress: Callable[[dict], None] | None = None
) -> dict[int, SubFleet]:
    """Every sub-manifest's best assignment over the fleet (for cost attribution).

    Plans every allowed (tug, subset) once - each with the scenario's own time limit - then
    runs the partition programme, whose table holds the best assignment of every set of
    payloads that some assignment serves exactly: key M (bit i: payload i). A set missing
    from the result has no feasible assignment. The objective is the fleet's (``propellant``,
    ``tugs`` or ``cost``; ``makespan`` is not additive and is refused). ``progress`` as for
    :func:`plan_fleet`, with ``total`` (plans needed).
    """
    if scenario.fleet is None:
        raise ValueError("sub_fleets needs a scenario with a fleet (tugs:)")
    if scenario.fleet.objective == "makespan":
        raise ValueError("the makespan objective is not additive over tugs: no sub-fleet table")
    total = subset_plan_count(scenario)  # enumerated twice: cheap next to one plan

    def counted(info: dict) -> None:
        if progress is not None:
            progress({**info, "total": total})

    problem = _Problem(scenario, math.inf, counted)
    for _, k, mask in problem.subsets():
        problem.value(k, mask)
    out = {}
    for served, (_, masks) in _programme(problem).items():
        values = [problem.value(k, mask) for k, mask in enumerate(masks)]
        flown = [v.plan for v in values if v.plan is not None]
        gaps = [p.optimality_gap for p in flown if p.optimality_gap is not None]
        out[served] = SubFleet(
            masks=tuple(masks) + (0,) * (problem.m - len(masks)),
            propellant_kg=math.fsum(v.propellant_kg for v in values),
            tug_time_s=math.fsum(p.duration_s for p in flown),
            end_s=max((v.end_s for v in values if v.plan is not None), default=0.0),
            exact=all(p.exact for p in flown),
            gap=max(gaps) if gaps else None,
        )
    return out


def _left_out_reasons(problem: _Problem, masks: list[int], left: int) -> list[str]:
    """Per payload left out: what adding it to each tug that may carry it would need."""
    reasons = []
    for i in range(problem.n):
        if not left >> i & 1:
            continue
        name = problem.scenario.payloads[i].name
        needs = []
        for k, ft in enumerate(problem.tugs):
            trial = masks[k] | 1 << i
            if not problem.fits(k, trial):
                needs.append(f"tug {ft.tug.name} may not carry it (its rules)")
                continue
            if problem.out_of_time():
                continue
            p = problem.shortfall_plan(k, trial)
            parts = []
            if p.shortfall_propellant_kg > 0:
                parts.append(f"{p.shortfall_propellant_kg:,.1f} kg more propellant")
            if p.shortfall_time_s > 0:
                days = p.shortfall_time_s / SECONDS_PER_DAY
                parts.append(f"{days:,.1f} d more" if math.isfinite(days) else "more time")
            needs.append(
                f"on tug {ft.tug.name} it needs "
                + (" or ".join(parts) if parts else "what its plan says")
            )
        reasons.append(f"payload {name} fits on no tug: " + "; ".join(needs))
    return reasons


__all__ = [
    "EXACT_MAX_PLANS",
    "SubFleet",
    "plan_fleet",
    "sub_fleets",
    "subset_plan_count",
    "tug_scenario",
]
