"""Continuous-time planning of time-invariant manifests: leg tables, order search, certified gap.

When every orbit of a manifest turns at the same nodal rate (sun-synchronous planes, or any
planes of equal J2 regression) and no target asks for a phase slot, the cost of a leg does
not depend on *when* it is flown, only on how much time it is given: the RAAN gap between two
such planes is fixed, and a drift orbit of duration ``x`` closes it for a delta-v ``dv(x)`` that
falls as ``x`` grows. The planner then needs each leg's cost curve once per pair of orbits, not
once per partial mission, and the split of the mission time between drift legs - the main lever
of an SSO rideshare - becomes a continuous decision.

This module (with :mod:`~otvplan.planning.tables` and
:mod:`~otvplan.planning.table_search`)

1. tabulates, once per ordered pair of orbits (j, k), the direct transfer and the cheapest drift
   leg at a set of drift durations (:class:`LegTables`, built with the same
   :func:`otvplan.planning.legs.expand` the plan builder uses, so table and plan cannot disagree);
2. searches delivery orders and each leg's drift duration over those tables with a
   label-setting dynamic programme (:func:`search_tables`): a label is (payloads delivered,
   current orbit, time, argument of latitude, mass); a label is dropped when another of its
   (set, orbit) group is no lighter and can be where it is no later (:func:`_dominance`); a
   branch-and-bound on the final mass, with a time-priced bound (:class:`_TimeBound`), prunes
   the rest;
3. solves the same search on a *relaxation* of the continuous problem (:func:`_relaxation`):
   the drift durations between two samples are offered as options no slower and no dearer
   than any of them (the cheapest drift is non-increasing in the time given, since a tug given
   more time can drift for less and wait in the target plane, which turns with it; where the
   samples are convex, secant lines tighten this to second order). Every continuous plan is a
   plan of the relaxation, so its best final mass bounds every plan's from above: a valid
   lower bound on propellant;
4. refines (:func:`optimise`) the samples where the relaxation's best plans and the
   incumbent's legs lie - bisecting their intervals - until the incumbent is within the gap
   asked for of the bound, or the time limit is reached. The answer carries both numbers.
   Above the exact limit, :func:`optimise` runs beam searches instead, with
   :func:`root_bound`.

Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from otvplan.planning import legs as lg
from otvplan.planning.sequencing import Bound, final_mass_upper_bound
from otvplan.planning.sweep import sweep_orders
from otvplan.planning.table_search import (
    MAX_LABELS,
    REFINE_PATHS,
    Limits,
    TableLayer,
    TableSearch,
    _TimeBound,
    path_options,
    search_tables,
)
from otvplan.planning.tables import (
    INITIAL_SAMPLES,
    LegTables,
    add_samples,
    build_tables,
    is_time_invariant,
    keep_manifest,
)

#: Relative optimality gap under which a plan counts as exact.
EXACT_GAP = 1e-3
#: Two samples closer than this ratio are not bisected further.
MIN_SAMPLE_RATIO = 1.0 + 1e-5

__all__ = [
    "EXACT_GAP",
    "MAX_LABELS",
    "Limits",
    "Schedule",
    "is_time_invariant",
    "optimise",
    "root_bound",
]


# --------------------------------------------------------------------------------------------
# Refinement loop
# --------------------------------------------------------------------------------------------


@dataclass
class Schedule:
    """The best plan found over the tables and the certified bound.

    ``legs``: per leg (from orbit j, target k, strategy code 0 direct / 1 drift, drift duration
    [s] or NaN, drift orbit radius [km], direction); ``final_mass_kg``: its final mass in the
    tables; ``bound_final_mass_kg``: no plan of the continuous leg model ends heavier
    (valid when ``bound_valid``).
    """

    legs: list[tuple[int, int, int, float, float, float]]
    final_mass_kg: float
    bound_final_mass_kg: float
    bound_valid: bool
    iterations: int
    evaluations: int
    labels: int
    timed_out: bool
    stats: dict


def _midpoints(x: np.ndarray, i: int) -> list[float]:
    """Bisection points of the intervals next to sample i (geometric means)."""
    out = []
    if i > 0 and x[i] / x[i - 1] > MIN_SAMPLE_RATIO:
        out.append(math.sqrt(x[i - 1] * x[i]))
    if i + 1 < x.size and x[i + 1] / x[i] > MIN_SAMPLE_RATIO:
        out.append(math.sqrt(x[i] * x[i + 1]))
    return out


#: Labels per layer of the quick beam search that finds a first incumbent.
BEAM_LABELS = 64
#: Where an interval in use is split (fractions of its width, geometric).
SPLIT_FRACTIONS = (0.5,)
#: Above this many payloads the exact search's first incumbent is also sought among the
#: plane-by-plane orders (below, the quick beam's is as good and they would cost more than
#: the search they seed).
SEED_ORDERS_ABOVE = 10
#: Drift durations tabulated per pair at first for manifests of more than
#: BEAM_SAMPLES_ABOVE orbits (the tables of 100 payloads would otherwise take most of a minute).
BEAM_SAMPLES = 8
BEAM_SAMPLES_ABOVE = 40


def root_bound(
    nodes: lg.Nodes, tab: LegTables, m0: float, lim: Limits, disposal_dv: np.ndarray
) -> float:
    """An upper bound on the final mass of every plan, from the start alone: the spanning
    tree and per-target bounds of :func:`otvplan.planning.sequencing.final_mass_upper_bound` and the
    time-priced bound of :class:`_TimeBound`, on the relaxed options."""
    W = (nodes.n + 63) // 64
    root = TableLayer(
        mask=np.zeros((1, W), np.uint64),
        j=np.zeros(1, int),
        t=np.zeros(1),
        u=np.zeros(1),
        uw=np.zeros(1),
        m=np.array([m0], float),
        parent=np.array([-1]),
        option=np.array([-1]),
        remaining_payload_mass=np.array([float(nodes.mass[1:].sum())]),
    )
    bound = Bound(
        leg_lb=tab.leg_lower_bounds(),
        disposal_dv=disposal_dv,
        ve_kms=lim.ve_kms,
        incumbent=-math.inf,
    )
    ub = float(final_mass_upper_bound(nodes, root, bound)[0])
    if math.isfinite(lim.horizon_s):
        arr = tab.arrays("lb")
        ub = min(
            ub,
            float(
                _TimeBound(arr["dur"], arr["dv"], lim, disposal_dv, trees=True).final_mass(
                    nodes, root
                )[0]
            ),
        )
    return ub


def optimise(
    nodes: lg.Nodes,
    ctx: lg.LegContext,
    m0: float,
    lim: Limits,
    disposal_dv: np.ndarray,
    gap: float = EXACT_GAP,
    deadline_s: float = math.inf,
    samples: int = INITIAL_SAMPLES,
    max_iterations: int = 40,
    progress=None,
    exact: bool = True,
    beam_labels: int = 2000,
    closed_deadline_s: float | None = None,
) -> Schedule | None:
    """Best order and drift durations with a certified bound, refining the tables until the
    relative propellant gap is at most ``gap`` or ``deadline_s`` (a ``time.perf_counter``
    value) passes - or, once a complete plan closes, ``closed_deadline_s`` when given (a
    caller that keeps time for explaining an infeasible mission needs none then). None when
    no complete plan fits the limits in the tables.

    Each round searches the real options (the incumbent) and the relaxation (the bound) -
    the real options over every order, or, once such a search has held more than
    :data:`ORDERS_ABOVE_LABELS` labels, along the incumbent's order and the relaxation's best
    orders of the round before (any real plan serves as the incumbent; the bound comes from
    the relaxation alone) - then bisects every drift interval used by a relaxed plan that
    beats the incumbent by more than a tenth of the current gap, and the intervals next to the
    incumbent's drift durations. With ``exact`` False (large manifests) each round is a beam
    search of ``beam_labels`` labels per layer refined around the incumbent's drift
    durations, and the bound is :func:`root_bound`.
    """
    t_start = time.perf_counter()
    closed = deadline_s if closed_deadline_s is None else max(deadline_s, closed_deadline_s)

    def search_deadline() -> float:
        return deadline_s if best is None else closed

    if not exact and nodes.n > BEAM_SAMPLES_ABOVE:  # very large manifests: fewer first
        samples = min(samples, BEAM_SAMPLES)  # samples, refined around the incumbent
    tab = build_tables(nodes, ctx, samples, lim.horizon_s)
    payload_kg = float(nodes.mass[1:].sum())
    it = 0
    labels = 0
    best: tuple[float, list] | None = None
    bound_mass = math.inf
    bound_valid = False
    proven = math.inf  # the least upper bound on the final mass proven so far
    timed_out = False
    rel_gap = math.inf

    def quick_beam(best, width, sequence=None):
        """The incumbent improved by a beam of ``width`` labels over every order (or along
        ``sequence``), and the labels it held."""
        arr_u = tab.arrays("ub")
        res = search_tables(
            nodes,
            arr_u,
            m0,
            lim,
            disposal_dv,
            tab.leg_lower_bounds(),
            max_labels=width,
            deadline_s=deadline_s,
            sequence=sequence,
        )
        return _better(best, res, tab, arr_u), res.labels

    # a first incumbent for the branch-and-bound (without one the search prunes nothing):
    # the better of a quick beam over the first tables and the plane-by-plane orders (their
    # drift durations refined only where the beam found nothing, or for large manifests:
    # the refinements would otherwise slow the exact search); where both find none, a wider
    # beam
    # a manifest planned before (a sweep's case that changes only masses or engines, a
    # re-plan) starts from its kept tables and the order its last plan found best: a
    # 64-label beam along that order gives the first incumbent instead of the beam over every
    # order; the rounds then search every order as for a new manifest
    warm = False
    if exact and tab.kept_order is not None and tab.kept_order.size == nodes.n - 1:
        best, held = quick_beam(best, BEAM_LABELS, tab.kept_order)
        labels += held
        warm = best is not None
    if exact and best is None:
        best, _ = quick_beam(best, BEAM_LABELS)
        if best is None and tab.from_kept:
            # a narrow beam over richly refined tables can crowd out every order that
            # closes (a re-plan of a hard 8-payload manifest found none and ran out of time
            # where its first plan had closed): start again from the first samples
            tab = build_tables(nodes, ctx, samples, lim.horizon_s, kept=False)
            best, _ = quick_beam(best, BEAM_LABELS)
    if not exact or best is None or (nodes.n - 1 > SEED_ORDERS_ABOVE and not warm):
        built = _constructive(
            nodes,
            ctx,
            tab,
            m0,
            lim,
            disposal_dv,
            gap,
            deadline_s,
            beam_labels,
            refine=not exact or best is None,
        )
        if built is not None and (best is None or built[0] > best[0]):
            best = built
    if best is None:
        best, _ = quick_beam(best, beam_labels)
    if not exact:
        return _optimise_beam(
            nodes,
            ctx,
            m0,
            lim,
            disposal_dv,
            tab,
            best,
            gap,
            search_deadline(),
            progress,
            beam_labels,
            t_start,
            max_iterations,
        )
    orders: list[np.ndarray] = []  # the relaxation's best orders of the round before
    full_labels = 0  # labels of the last search of the real options over every order
    while True:
        it += 1
        leg_lb = tab.leg_lower_bounds()
        arr_u = tab.arrays("ub")
        incumbent = best[0] if best else -math.inf
        if orders and best is not None and full_labels > ORDERS_ABOVE_LABELS:
            # the real options searched along the orders the last relaxation found best
            # (the bound comes from the relaxation alone: any real plan serves as the
            # incumbent, and these are where it improves)
            res_u = _search_orders(
                nodes, arr_u, m0, lim, disposal_dv, leg_lb, orders, search_deadline()
            )
            for r in res_u:
                labels += r.labels
                best = _better(best, r, tab, arr_u)
            res_u = replace(res_u[0], truncated=any(r.truncated for r in res_u))
        else:
            res_u = search_tables(
                nodes,
                arr_u,
                m0,
                lim,
                disposal_dv,
                leg_lb,
                incumbent=incumbent,
                deadline_s=search_deadline(),
            )
            labels += res_u.labels
            full_labels = res_u.labels
            best = _better(best, res_u, tab, arr_u)
        u_cut = res_u.truncated
        arr_l = tab.arrays("lb")
        res_l = search_tables(
            nodes,
            arr_l,
            m0,
            lim,
            disposal_dv,
            leg_lb,
            incumbent=best[0] if best is not None else -math.inf,
            deadline_s=search_deadline(),
        )
        labels += res_l.labels
        if best is None:
            # No complete plan in the tables yet. Only the relaxation proves that none
            # exists (its legs cost no more than any duration in their intervals); while it
            # finds plans, refine the intervals they use and search again.
            if (
                res_l.best_index < 0
                or res_l.truncated
                or u_cut
                or it >= max_iterations
                or time.perf_counter() >= deadline_s
            ):
                return None
            cand = np.argsort(-res_l.finals_m, kind="stable")[:REFINE_PATHS]
            cand = cand[np.isfinite(res_l.finals_m[cand])]
            used = _intervals_used(res_l, arr_l, cand)
            if add_samples(tab, nodes, ctx, _bisections(tab, used)) == 0:
                return None
            continue
        if not res_l.truncated and not u_cut:
            proven = min(proven, max(res_l.best_mass, best[0]))
        elif not math.isfinite(proven):  # a search was cut short (time limit, label cap)
            # before any round completed: the start's bound
            proven = min(proven, max(root_bound(nodes, tab, m0, lim, disposal_dv), best[0]))
        # (a bound proven by an earlier round stays valid: the problem is the same, only
        # its tables were refined)
        bound_mass, bound_valid = max(proven, best[0]), True
        rel_gap = _round_done(progress, it, m0 - payload_kg, best[0], bound_mass, t_start)
        if rel_gap <= gap or it >= max_iterations or res_l.truncated or u_cut:
            timed_out = res_l.truncated or u_cut
            break
        if time.perf_counter() >= search_deadline():
            timed_out = True
            break
        # the drift intervals in use: by relaxed plans that beat the incumbent by more than a
        # tenth of the gap, and next to the incumbent's drift durations
        cand = np.nonzero(res_l.finals_m > best[0] + 0.1 * (bound_mass - best[0]))[0]
        cand = cand[np.argsort(-res_l.finals_m[cand], kind="stable")][:REFINE_PATHS]
        own = _order(best[1])  # the incumbent's order, first
        orders = [own] + [
            o for o in _distinct_orders(res_l, cand, ORDERS_SEARCHED) if not np.array_equal(o, own)
        ]
        used = _intervals_used(res_l, arr_l, cand)
        _next_to_drifts(tab, used, best[1])
        if add_samples(tab, nodes, ctx, _bisections(tab, used)) == 0:
            break
    if not timed_out:
        keep_manifest(tab, _order(best[1]))
    stats = {"table_evaluations": tab.evaluations, "refinements": it, "optimality_gap": rel_gap}
    return Schedule(
        legs=best[1],
        final_mass_kg=best[0],
        bound_final_mass_kg=bound_mass,
        bound_valid=bound_valid,
        iterations=it,
        evaluations=tab.evaluations,
        labels=labels,
        timed_out=timed_out,
        stats=stats,
    )


def _constructive(nodes, ctx, tab, m0, lim, disposal_dv, gap, deadline_s, beam_labels, refine=True):
    """The best of the plane-by-plane orders (:func:`otvplan.planning.sweep.sweep_orders`):
    each searched once over the tables, then (with ``refine``) the most promising (by the
    relaxation) with their drift durations refined, within half the time left. None if none
    closes."""
    now = time.perf_counter()
    until = now + 0.5 * (deadline_s - now) if math.isfinite(deadline_s) else deadline_s
    orders = sweep_orders(nodes)
    best = None
    promise = []
    for order in orders:
        best, relaxed = _optimise_sequence(
            nodes, ctx, tab, m0, lim, disposal_dv, order, best, gap, until, beam_labels, 1
        )
        promise.append(relaxed)
    for q in np.argsort(-np.array(promise), kind="stable")[: SEQUENCES_REFINED * refine]:
        if np.isfinite(promise[q]):
            best, _ = _optimise_sequence(
                nodes,
                ctx,
                tab,
                m0,
                lim,
                disposal_dv,
                orders[q],
                best,
                gap,
                until,
                beam_labels,
                SEQUENCE_ROUNDS,
            )
    return best


#: Constructive orders whose drift durations are refined, and the rounds each is given
#: (:func:`_optimise_sequence`).
SEQUENCES_REFINED = 2
SEQUENCE_ROUNDS = 12


def _optimise_sequence(
    nodes, ctx, tab, m0, lim, disposal_dv, order, best, gap, deadline_s, max_labels, rounds
):
    """The incumbent ``best`` improved by one delivery ``order``
    (:func:`otvplan.planning.sweep.sweep_orders`), its drift durations refined as
    :func:`optimise` refines them for every order: each round searches the order over the
    real options and over the relaxation, and bisects the drift intervals the relaxation's
    best plans and the order's best plan use, until the two agree within ``gap``, the
    relaxation shows that the order cannot beat the incumbent, or ``rounds`` rounds. One
    order's search is a chain of n layers of few labels, so a round costs little beyond the
    new samples of the pairs on the order. Returns the incumbent and the order's relaxed
    final mass (how far it could go; -inf when it cannot beat the incumbent)."""
    payload_kg = float(nodes.mass[1:].sum())
    own = None  # the order's own best plan
    relaxed = -math.inf
    for round_ in range(rounds):
        if round_ and time.perf_counter() >= deadline_s:
            break  # (the first round runs whatever the time: it is cheap and may close)
        leg_lb = tab.leg_lower_bounds()
        arr_u = tab.arrays("ub")
        res_u = search_tables(
            nodes,
            arr_u,
            m0,
            lim,
            disposal_dv,
            leg_lb,
            max_labels=max_labels,
            deadline_s=deadline_s,
            sequence=order,
        )
        own = _better(own, res_u, tab, arr_u)
        arr_l = tab.arrays("lb")
        res_l = search_tables(
            nodes,
            arr_l,
            m0,
            lim,
            disposal_dv,
            leg_lb,
            incumbent=best[0] if best is not None else -math.inf,
            max_labels=max_labels,
            deadline_s=deadline_s,
            sequence=order,
        )
        relaxed = res_l.best_mass
        if res_l.best_index < 0:
            break  # no plan of this order beats the incumbent, however its drifts are timed
        if round_ == rounds - 1:
            break
        if own is not None:
            used_kg = m0 - payload_kg - own[0]
            if res_l.best_mass - own[0] <= gap * max(used_kg, 1e-12):
                break
        cand = np.argsort(-res_l.finals_m, kind="stable")[:REFINE_PATHS]
        cand = cand[np.isfinite(res_l.finals_m[cand])]
        used = _intervals_used(res_l, arr_l, cand)
        _next_to_drifts(tab, used, own[1] if own is not None else [])
        if add_samples(tab, nodes, ctx, _bisections(tab, used)) == 0:
            break
    if own is not None and (best is None or own[0] > best[0] + 1e-12):
        return own, relaxed
    return best, relaxed


#: Orders of the relaxation's best plans whose real options are searched in the next round
#: (with the incumbent's own), instead of every order, once a search of the real options over
#: every order has held more than ORDERS_ABOVE_LABELS labels (below, it costs less than the
#: order-by-order searches).
ORDERS_SEARCHED = 16
ORDERS_ABOVE_LABELS = 5_000


def _distinct_orders(res, cand, most: int) -> list[np.ndarray]:
    """The first ``most`` distinct delivery orders among the complete plans ``cand`` of a
    search (in the order of ``cand``)."""
    out: list[np.ndarray] = []
    seen: set[bytes] = set()
    if cand.size:
        paths = path_options(res, cand)
        for q in range(cand.size):
            order = paths[q, :, 1]
            key = order.tobytes()
            if key not in seen:
                seen.add(key)
                out.append(order.copy())
                if len(out) >= most:
                    break
    return out


def _order(legs) -> np.ndarray:
    """The delivery order (targets 1..n) of a plan's legs, as :class:`Schedule` holds them."""
    return np.array([k for _j, k, *_ in legs], int)


def _search_orders(nodes, arrays, m0, lim, disposal_dv, leg_lb, orders, deadline_s):
    """:func:`search_tables` along each delivery order of ``orders`` (their results)."""
    return [
        search_tables(
            nodes, arrays, m0, lim, disposal_dv, leg_lb, deadline_s=deadline_s, sequence=order
        )
        for order in orders
    ]


def _next_to_drifts(tab, used: dict[tuple[int, int], list[int]], legs) -> None:
    """Add to ``used`` the table intervals on either side of each drift leg of ``legs`` (a
    plan's legs, as :class:`Schedule` holds them)."""
    for j, k, code, x, _a, _d in legs:
        if code == 1:
            c = tab.curves[(j, k)]
            i = int(np.argmin(np.abs(c.x - x)))
            used.setdefault((j, k), []).extend([i, i + 1])


def _intervals_used(res, arrays, cand) -> dict[tuple[int, int], list[int]]:
    """The table intervals (per pair of nodes) on the search's plans ``cand``."""
    used: dict[tuple[int, int], list[int]] = {}
    if cand.size:
        paths = path_options(res, cand).reshape(-1, 3)
        paths = np.unique(paths[paths[:, 2] > 0], axis=0)
        for j, k, o in paths:
            used.setdefault((int(j), int(k)), []).append(int(arrays["sample"][j, k, o]))
    return used


def _bisections(tab, used: dict[tuple[int, int], list[int]]) -> dict[tuple[int, int], set[float]]:
    """Drift durations to add: every interval of each pair between the first and last in use,
    and one more on each side (the region where the optimum's drift times lie), bisected."""
    wanted: dict[tuple[int, int], set[float]] = {}
    for pair, intervals in used.items():
        c = tab.curves[pair]
        lo = max(min(intervals) - 1, 0)
        hi = min(max(intervals) + 1, c.x.size - 1)
        for i in range(lo, hi + 1):
            if i == 0:
                wanted.setdefault(pair, set()).add(0.5 * float(c.x[0]))
            elif c.x[i] / c.x[i - 1] > MIN_SAMPLE_RATIO:
                for f in SPLIT_FRACTIONS:
                    wanted.setdefault(pair, set()).add(
                        float(c.x[i - 1]) * (float(c.x[i]) / float(c.x[i - 1])) ** f
                    )
    return wanted


def _round_done(
    progress,
    it: int,
    propellant_and_final_kg: float,
    best_mass: float,
    bound_mass: float,
    t_start: float,
) -> float:
    """The relative gap after a refinement round, reported to ``progress`` if given.

    ``propellant_and_final_kg`` is the initial mass less the payloads: less a final mass it
    gives the propellant used."""
    prop_best = propellant_and_final_kg - best_mass
    prop_lb = propellant_and_final_kg - bound_mass
    rel_gap = (prop_best - prop_lb) / max(prop_best, 1e-12)
    if progress is not None:
        progress(
            {
                "iteration": it,
                "propellant_kg": prop_best,
                "bound_kg": prop_lb,
                "gap": rel_gap,
                "elapsed_s": time.perf_counter() - t_start,
            }
        )
    return rel_gap


def _better(best, res: TableSearch, tab: LegTables, arrays: dict[str, np.ndarray]):
    """The incumbent (final mass, legs) updated with a search's best complete plan."""
    if res.best_index < 0 or (best is not None and res.best_mass <= best[0] + 1e-12):
        return best
    legs_ = []
    for j, k, o in path_options(res, res.best_index):
        if o == 0:
            legs_.append((int(j), int(k), 0, math.nan, math.nan, 0.0))
        else:
            c = tab.curves[(int(j), int(k))]
            q = int(arrays["sample"][j, k, o])
            legs_.append((int(j), int(k), 1, float(c.x[q]), float(c.a_d[q]), float(c.direction[q])))
    return (res.best_mass, legs_)


def _optimise_beam(
    nodes,
    ctx,
    m0,
    lim,
    disposal_dv,
    tab,
    best,
    gap,
    deadline_s,
    progress,
    beam_labels,
    t_start,
    max_iterations,
) -> Schedule | None:
    """The large-manifest rounds of :func:`optimise`: beam searches over tables refined
    around the incumbent's drift durations, until a round no longer improves it; the bound
    is :func:`root_bound`."""
    if best is None:
        return None
    payload_kg = float(nodes.mass[1:].sum())
    it = 0
    labels = 0
    timed_out = False
    bound_mass = max(root_bound(nodes, tab, m0, lim, disposal_dv), best[0])
    while True:
        it += 1
        rel_gap = _round_done(progress, it, m0 - payload_kg, best[0], bound_mass, t_start)
        if rel_gap <= gap or it >= max_iterations:
            break
        if time.perf_counter() >= deadline_s:
            timed_out = True
            break
        wanted: dict[tuple[int, int], set[float]] = {}
        for j, k, code, x, _a, _d in best[1]:
            if code == 1:
                c = tab.curves[(j, k)]
                for xm in _midpoints(c.x, int(np.argmin(np.abs(c.x - x)))):
                    wanted.setdefault((j, k), set()).add(xm)
        if add_samples(tab, nodes, ctx, wanted) == 0:
            break
        arr_u = tab.arrays("ub")
        res = search_tables(
            nodes,
            arr_u,
            m0,
            lim,
            disposal_dv,
            tab.leg_lower_bounds(),
            max_labels=beam_labels,
            deadline_s=deadline_s,
        )
        labels += res.labels
        new = _better(best, res, tab, arr_u)
        if new is best or new[0] <= best[0] * (1.0 + 1e-6):
            best = new
            break
        best = new
    if not timed_out:
        keep_manifest(tab, _order(best[1]))
    stats = {"table_evaluations": tab.evaluations, "refinements": it, "optimality_gap": rel_gap}
    return Schedule(
        legs=best[1],
        final_mass_kg=best[0],
        bound_final_mass_kg=bound_mass,
        bound_valid=True,
        iterations=it,
        evaluations=tab.evaluations,
        labels=labels,
        timed_out=timed_out,
        stats=stats,
    )
