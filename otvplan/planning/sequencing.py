"""Delivery order and per-leg strategy: a label-setting dynamic programme over subsets.

A *label* is a partial mission: the set of payloads delivered, the orbit the tug is in (the
last payload's), the time, the tug's total mass, and its RAAN and argument of latitude. From
each label every undelivered payload is tried with every leg option
(:func:`otvplan.planning.legs.expand`, vectorised over the whole layer), giving the next layer.
Within a group of labels with the same delivered set and the same current orbit, a label that
is no later and no lighter than another dominates it: it can wait (coasting is free) and then
do whatever the other does, with at least as much propellant left. Keeping only non-dominated
labels is exact - the result equals brute force over every order and every leg option -
whenever that argument holds: impulsive legs whose options depend on the departure time only
through the planes' drift (waiting reproduces them). Electric legs take longer when the tug is
heavier, so for them dominance is checked on time alone within equal masses and the result is
marked exact only if no group had to be capped.

Manifests above ``exact_max_payloads`` use the same expansion as a beam search (the best
``beam_width`` labels per layer by propellant left), and report a lower bound on propellant.

The rocket equation with drops makes propellant multiplicative: the mass after a leg is
m exp(-dv / (g0 Isp)) minus the payload released, applied label by label.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from otvplan.core.orbits import TWO_PI
from otvplan.core.propulsion import mass_after
from otvplan.planning.legs import DriftCache, LegContext, Nodes, expand


@dataclass
class Layer:
    """Labels after delivering ``depth`` payloads (arrays of length L)."""

    mask: np.ndarray  # (L, W) uint64 bit sets of delivered payload indices (1-based nodes)
    j: np.ndarray
    t: np.ndarray
    m: np.ndarray
    raan: np.ndarray
    u: np.ndarray
    parent: np.ndarray
    base: np.ndarray
    tidx: np.ndarray
    variant: np.ndarray
    krev: np.ndarray
    t_dep: np.ndarray
    m_dep: np.ndarray
    raan_dep: np.ndarray
    u_dep: np.ndarray
    remaining_payload_mass: np.ndarray

    @property
    def size(self) -> int:
        return int(self.j.size)


@dataclass
class SearchSettings:
    dry_kg: float
    reserve_kg: float
    horizon_s: float
    separation_s: float
    exact: bool
    beam_width: int
    enforce_propellant: bool = True
    enforce_time: bool = True
    group_cap: int = 64
    beam_rank: str = "propellant"  # beam search keeps the most propellant left, or "time"
    beam_time_weight: float = 0.0  # with a bound: rank by ub - weight * m0 * t / horizon
    #: time.perf_counter() value after which the search turns into a beam (time limit)
    deadline_s: float = math.inf
    #: most labels a layer may hold before the search turns into a beam (memory bound)
    max_labels: int = 20_000


@dataclass
class Bound:
    """Branch-and-bound data for the propellant objective (one chemical engine).

    ``leg_lb[j, k]``: a lower bound on the delta-v of any leg from node j's orbit to node k's,
    valid at every time; ``disposal_dv[j]``: the disposal delta-v from node j's orbit;
    ``incumbent``: the final mass (after disposal) of a known feasible plan.
    """

    leg_lb: np.ndarray
    disposal_dv: np.ndarray
    ve_kms: float
    incumbent: float


def final_mass_upper_bound(nodes: Nodes, layer: Layer, b: Bound) -> np.ndarray:
    """An upper bound on the final mass any completion of each label can reach.

    The remaining delta-v D is at least both the sum of per-target bounds below and the
    minimum spanning tree of the orbits still to visit (:func:`_spanning_tree_bound`), plus a
    disposal. Each undelivered payload k is entered by one leg of delta-v >= LB_k, the least
    ``leg_lb[j', k]`` over the orbits j' it can come from (the current one and the other
    undelivered ones), and the tug ends with a disposal from one of them. With D >= sum LB_k +
    LB_disposal and payload k carried through at least its own leg, the rocket equation with
    drops gives m_final = e^(-D/ve) (m - sum m_k e^(D_k/ve)) <= e^(-D_min/ve) (m - sum m_k
    e^(LB_k/ve)).

    The two terms depend on a label's (delivered set, orbit) only: they are computed once
    per such group (a search along one order has one group per layer).
    """
    group, first = group_ids(layer.mask, layer.j, nodes.n)
    d_min, carried = completion_bound(nodes, layer.mask[first], layer.j[first], b)
    return mass_after(layer.m - carried[group], d_min[group], b.ve_kms)


def completion_bound(
    nodes: Nodes, mask: np.ndarray, j: np.ndarray, b: Bound
) -> tuple[np.ndarray, np.ndarray]:
    """The two terms of :func:`final_mass_upper_bound` that depend only on a label's
    delivered set ``mask`` and orbit ``j``: (D_min [km/s], sum m_k e^(LB_k/ve) [kg]). A
    label of mass m then ends at most at e^(-D_min/ve) (m - that sum)."""
    L = j.size
    n1 = nodes.n
    delivered = np.unpackbits(
        np.ascontiguousarray(mask, dtype="<u8").view(np.uint8), axis=1, bitorder="little"
    )[:, :n1].astype(bool)  # (little-endian words: bit k of the set is column k)
    remaining = ~delivered
    remaining[:, 0] = False
    origins = remaining.copy()
    origins[np.arange(L), j] = True
    lb = cheapest_entries(b.leg_lb, remaining, j)
    d_min = lb.sum(axis=1)
    carried = np.where(remaining, nodes.mass[None, :] * np.exp(lb / b.ve_kms), 0.0).sum(axis=1)
    if n1 <= MST_BOUND_MAX_NODES:
        d_min = np.maximum(d_min, _spanning_tree_bound(b.leg_lb, origins, j))
    ends = np.where(remaining.any(axis=1)[:, None], remaining, origins)
    disp = np.where(ends, b.disposal_dv[None, :], np.inf).min(axis=1)
    d_min += np.where(np.isfinite(disp), disp, 0.0)
    return d_min, carried


def cheapest_entries(leg_lb: np.ndarray, remaining: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Per label and payload k left (``remaining[l, k]``): the least ``leg_lb[j', k]`` over
    the orbits j' the leg into k can start from, the label's own orbit ``j[l]`` and the other
    payloads left (0 where k is not left or no finite leg enters it).

    Each column's origins are tried in ascending order of ``leg_lb``: the first one left is
    the least. While many (label, k) pairs are unsettled a rank is tried for all of them at
    once (whole-array operations); the few left then go on pair by pair, a growing number of
    ranks at a time, so the work is about the number of pairs, not pairs times orbits."""
    L, n1 = remaining.shape
    w = np.array(leg_lb, float)
    np.fill_diagonal(w, np.inf)
    order = np.argsort(w, axis=0, kind="stable").T  # (k, rank) -> origin
    ranked = np.take_along_axis(w, order.T, axis=0).T  # (k, rank) -> its leg_lb
    best = w[j]  # (L, n1): from the label's own orbit
    open_ = remaining.copy()
    r = 0
    while r < n1:
        open_ &= ranked[None, :, r] < best
        if np.count_nonzero(open_) * 16 < open_.size:
            break
        hit = open_ & remaining[:, order[:, r]]
        best[hit] = np.broadcast_to(ranked[:, r], best.shape)[hit]
        open_ &= ~hit
        r += 1
    lab, k = np.nonzero(open_)
    todo = np.arange(lab.size)
    pos = np.full(lab.size, r)
    step = 2
    flat_best = best[lab, k]
    while todo.size and r < n1:
        cols = np.minimum(pos[todo, None] + np.arange(step), n1 - 1)
        kt = k[todo, None]
        val = np.where(pos[todo, None] + np.arange(step) < n1, ranked[kt, cols], np.inf)
        hit = remaining[lab[todo, None], order[kt, cols]] & (val < flat_best[todo, None])
        found = hit.any(axis=1)
        first = np.argmax(hit, axis=1)
        sel = todo[found]
        flat_best[sel] = val[found, first[found]]
        # done: an origin found, the column exhausted, or its next values no lower than the
        # best known (the label's own orbit)
        nxt = pos[todo] + step
        more = ~found & (nxt < n1)
        more[more] &= ranked[k[todo[more]], nxt[more]] < flat_best[todo[more]]
        pos[todo] = nxt
        todo = todo[more]
        step = min(2 * step, n1)
    best[lab, k] = flat_best
    return np.where(remaining & np.isfinite(best), best, 0.0)


def group_ids(mask: np.ndarray, j: np.ndarray, n1: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the index of its (delivered set, orbit) group; and one label of each group."""
    if mask.shape[1] == 1 and n1 <= 58:  # the set's bits and 6 bits of orbit fit one word
        key = (mask[:, 0] << np.uint64(6)) | j.astype(np.uint64)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(
            np.column_stack([mask.view(np.int64), j]),
            axis=0,
            return_index=True,
            return_inverse=True,
        )
    return inverse.reshape(-1), first


def pairs_worth_expanding(
    nodes: Nodes,
    mask: np.ndarray,
    lab: np.ndarray,
    k: np.ndarray,
    m_best: np.ndarray,
    b: Bound,
    threshold_kg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The branch-and-bound test of :func:`final_mass_upper_bound` applied to (label, next
    payload) pairs before their legs are evaluated: label ``lab`` (delivered set
    ``mask[lab]``) going to payload ``k`` arrives at most at mass ``m_best`` (the cheapest
    leg, payload released). A pair whose best final mass is below ``threshold_kg`` has no
    child the bound would keep.

    Returns (keep, e^(-D_min/ve), C) per pair, the terms of :func:`completion_bound` of the
    set after the delivery, for testing each child later. They depend on the pair's
    (delivered set, payload) only, so they are computed once per distinct one."""
    sets, set_of = np.unique(mask, axis=0, return_inverse=True)
    key = set_of.reshape(-1)[lab] * nodes.n + k
    seen = np.zeros(sets.shape[0] * nodes.n, bool)
    seen[key] = True
    distinct = np.flatnonzero(seen)
    after = sets[distinct // nodes.n].copy()
    kd = distinct % nodes.n
    for q in np.unique(kd):
        after[kd == q, q // 64] |= np.uint64(1) << np.uint64(q % 64)
    d_rest, carried = completion_bound(nodes, after, kd, b)
    where = np.zeros(seen.size, int)
    where[distinct] = np.arange(distinct.size)
    scale = np.exp(-d_rest / b.ve_kms)[where[key]]
    carried = carried[where[key]]
    keep = (m_best - carried) * scale >= threshold_kg
    return keep, scale, carried


#: Up to this many orbits the bound also uses a minimum spanning tree per label (Prim's
#: algorithm vectorised over labels, O(n^2) per label).
MST_BOUND_MAX_NODES = 32


def _spanning_tree_bound(leg_lb, origins, current):
    """Per label: the weight of a minimum spanning tree over its current orbit and every
    undelivered target, with edge (j, k) weighing min(lb[j, k], lb[k, j]).

    The rest of the mission visits those orbits along one path, a spanning tree of them, so
    its delta-v is at least this (for pure sun-synchronous manifests it counts every plane
    still to be reached, which the per-target bound misses)."""
    w = leg_lb.copy()
    w[:, 0] = w[0, :]  # nobody flies back to the drop-off
    w = np.minimum(w, w.T)
    np.fill_diagonal(w, np.inf)
    return spanning_tree_weights(w[None], np.zeros(current.size, int), origins, current)


def spanning_tree_weights(
    w: np.ndarray, which: np.ndarray, origins: np.ndarray, current: np.ndarray
) -> np.ndarray:
    """Per row r: the weight of a minimum spanning tree over the orbits ``origins[r]`` (which
    hold ``current[r]``) under the symmetric edge weights ``w[which[r]]`` (inf: no edge; the
    tree of the orbits ``current[r]`` reaches where some are not), by Prim's algorithm
    vectorised over rows."""
    L, n1 = origins.shape
    rows = np.arange(L)
    in_tree = np.zeros((L, n1), bool)
    in_tree[rows, current] = True
    key = np.where(origins & ~in_tree, w[which, current], np.inf)
    total = np.zeros(L)
    for _ in range(n1 - 1):
        cand = np.where(origins & ~in_tree, key, np.inf)
        nxt = np.argmin(cand, axis=1)
        val = cand[rows, nxt]
        active = np.isfinite(val)
        if not np.any(active):
            break
        total += np.where(active, val, 0.0)
        in_tree[rows[active], nxt[active]] = True
        key = np.where(active[:, None], np.minimum(key, w[which, nxt]), key)
    return total


@dataclass
class SearchResult:
    layers: list[Layer]
    truncated: bool
    capped: bool
    stats: dict = field(default_factory=dict)
    #: labels dropped only because the tug's mass after a release would not be positive (a
    #: payload heavier than what is left): more propellant loaded could make them valid
    massless: int = 0


def _bit(k, W):
    words = np.zeros(W, dtype=np.uint64)
    words[k // 64] = np.uint64(1) << np.uint64(k % 64)
    return words


def has_bit(mask, k):
    """Boolean array: is node k in each label's delivered set."""
    return (mask[:, k // 64] >> np.uint64(k % 64)) & np.uint64(1) == np.uint64(1)


def initial_layer(nodes: Nodes, m0: float, t0: float = 0.0) -> Layer:
    W = (nodes.n + 63) // 64
    one = np.ones(1)
    raan = nodes.raan0[0] + nodes.raan_rate[0] * t0
    u = nodes.slot0[0] + nodes.u_rate[0] * t0
    total_payload = float(nodes.mass[1:].sum())
    z = np.zeros(1)
    zi = np.zeros(1, int)
    return Layer(
        mask=np.zeros((1, W), dtype=np.uint64),
        j=zi.copy(),
        t=one * t0,
        m=one * m0,
        raan=one * np.mod(raan, TWO_PI),
        u=one * np.mod(u, TWO_PI),
        parent=zi - 1,
        base=zi - 1,
        tidx=zi - 1,
        variant=zi,
        krev=z,
        t_dep=one * t0,
        m_dep=one * m0,
        raan_dep=z,
        u_dep=z,
        remaining_payload_mass=one * total_payload,
    )


def _dominance_keep(layer_key_cols, t, m, cap, exact_mass):
    """Indices to keep: per group (rows of ``layer_key_cols``), labels not dominated in
    (earlier, heavier). With ``exact_mass`` only equal-mass labels dominate on time."""
    L = t.size
    if L == 0:
        return np.zeros(0, int), False
    keys = np.ascontiguousarray(layer_key_cols)
    _, grp = np.unique(keys, axis=0, return_inverse=True)
    grp = grp.reshape(-1)
    if exact_mass:
        # group by mass too (rounded to grams): only earlier-or-equal time dominates
        mq = np.round(m * 1000.0)
        order = np.lexsort((t, mq, grp))
        g2 = np.r_[True, (grp[order][1:] != grp[order][:-1]) | (mq[order][1:] != mq[order][:-1])]
        keep = order[g2]
        # cap per group of (set, orbit)
        capped = False
        if cap:
            kg = grp[keep]
            order2 = np.lexsort((-m[keep], kg))
            kg2 = kg[order2]
            start = np.r_[True, kg2[1:] != kg2[:-1]]
            pos = np.arange(kg2.size) - np.maximum.accumulate(
                np.where(start, np.arange(kg2.size), 0)
            )
            capped = bool(np.any(pos >= cap))
            keep = keep[order2[pos < cap]]
        return np.sort(keep), capped
    order = np.lexsort((-m, t, grp))
    g = grp[order]
    # rank of each mass; among equal masses the later label ranks lower (so it is dropped)
    mr = np.empty(L, dtype=np.int64)
    mr[np.lexsort((-np.arange(L), m[order]))] = np.arange(L)
    key = g.astype(np.int64) * (L + 1) + mr
    run = np.maximum.accumulate(key)
    prev = np.r_[-1, run[:-1]]
    start = np.r_[True, g[1:] != g[:-1]]
    # keep if strictly heavier than every earlier label of its group
    prev_in_grp = np.where(start, -1, prev)
    prev_rank = np.where(prev_in_grp >= 0, prev_in_grp - g.astype(np.int64) * (L + 1), -1)
    keep_sorted = mr > prev_rank
    return np.sort(order[keep_sorted]), False


def search(
    nodes: Nodes,
    ctx: LegContext,
    m0: float,
    s: SearchSettings,
    cache: DriftCache | None = None,
    bound: Bound | None = None,
) -> SearchResult:
    """Run the label-setting search; return every layer (for partial plans and rebuilding).

    With ``bound`` (propellant objective), labels whose best possible final mass is below the
    incumbent's are dropped: they cannot lead to a better plan, so exactness is kept.
    """
    cache = cache or DriftCache()
    n = nodes.n - 1
    W = (nodes.n + 63) // 64
    layers = [initial_layer(nodes, m0)]
    truncated = capped = False
    electric = ctx.electric is not None
    expanded = 0
    bounded = 0
    massless = 0
    per_pair = 0.0  # the slowest block's seconds per (label, payload) pair so far
    for _ in range(n):
        cur = layers[-1]
        if cur.size == 0:
            break
        # pairs: every label x every undelivered payload
        ks = np.arange(1, nodes.n)
        L = cur.size
        lab = np.repeat(np.arange(L), n)
        kk = np.tile(ks, L)
        free = np.ones(lab.size, bool)
        for k in ks:
            sel = kk == k
            free[sel] = ~has_bit(cur.mask[lab[sel]], k)
        lab, kk = lab[free], kk[free]
        if lab.size == 0:
            break
        # the children of a layer, a block of (label, payload) pairs at a time (memory), each
        # block reduced to its non-dominated labels, then the blocks together again
        parts = []
        c0 = 0
        while c0 < lab.size:
            now = time.perf_counter()
            if parts and now > s.deadline_s:
                truncated = True  # out of time: the rest of this layer is not expanded
                break
            size = PAIRS_PER_BLOCK
            if per_pair > 0.0 and now < s.deadline_s:  # cut to end before the deadline
                size = int(min(size, max(MIN_PAIRS_PER_BLOCK, (s.deadline_s - now) / per_pair)))
            sl = slice(c0, c0 + size)
            part, was_capped, lost = _children(
                nodes, ctx, cur, lab[sl], kk[sl], s, cache, W, electric
            )
            done = min(size, lab.size - c0)
            per_pair = max(per_pair, (time.perf_counter() - now) / done, 1e-9)
            c0 += done
            parts.append(part)
            capped |= was_capped
            massless += lost
        expanded += c0
        new = _concat_layers(parts)
        if len(parts) > 1:
            new, was_capped = _dominated_out(nodes, new, s, electric)
            capped |= was_capped
        ub = None
        if bound is not None and new.size:
            ub = final_mass_upper_bound(nodes, new, bound)
            keep_b = ub >= bound.incumbent * (1.0 - 1e-12) - 1e-9
            bounded += int(new.size - keep_b.sum())
            new = _take_layer(new, np.nonzero(keep_b)[0])
            ub = ub[keep_b]
        late = time.perf_counter() > s.deadline_s
        over = new.size > s.max_labels or late
        # past the deadline the layers left are finished as a narrow beam, so that the search
        # still ends with complete plans, soon
        width = min(s.beam_width, LATE_BEAM) if late else s.beam_width
        if (not s.exact or over) and new.size > width:
            left = new.m - new.remaining_payload_mass - s.dry_kg
            if s.beam_rank == "time":
                keys = (-left, new.t)
            elif ub is not None:  # best optimistic completion first (A*-like), less
                # a charge for the time used (the time limit is what kills greedy beams)
                span = s.horizon_s if np.isfinite(s.horizon_s) else max(float(new.t.max()), 1.0)
                score = ub - s.beam_time_weight * float(layers[0].m[0]) * new.t / span
                keys = (new.t, -score)
            else:
                keys = (new.t, -left)
            order = np.lexsort(keys)[:width]
            new = _take_layer(new, np.sort(order))
            truncated = True
        layers.append(new)
    return SearchResult(
        layers,
        truncated,
        capped,
        {
            "pairs_expanded": expanded,
            "drift_cache_misses": cache.misses,
            "labels_bounded": bounded,
            "labels": sum(layer.size for layer in layers),
        },
        massless,
    )


#: (label, payload) pairs expanded at once by :func:`search` (bounds the memory of a layer).
PAIRS_PER_BLOCK = 4096
#: Fewest (label, payload) pairs in a block cut short to end before the deadline.
MIN_PAIRS_PER_BLOCK = 64
#: Labels per layer once a search is past its deadline (this search's and the leg tables').
LATE_BEAM = 32


def _children(nodes, ctx, cur, lab, kk, s, cache, W, electric):
    """The non-dominated children of labels ``lab`` by payloads ``kk``: (layer, capped,
    labels dropped only for a non-positive mass)."""
    opts = expand(
        nodes, ctx, cur.j[lab], kk, cur.t[lab], cur.m[lab], cur.raan[lab], cur.u[lab], cache
    )
    p = opts.pair
    parent = lab[p]
    k_new = kk[p]
    # separation from the previous deployment
    t_prev_dep = np.where(cur.j[parent] == 0, -np.inf, cur.t[parent])
    t_del = np.maximum(opts.t_end, t_prev_dep + s.separation_s)
    dwell = t_del - opts.t_end
    raan_del = opts.raan_end + nodes.raan_rate[k_new] * dwell
    u_del = opts.u_end + nodes.u_rate[k_new] * dwell
    m_after = opts.m_end - nodes.mass[k_new]
    rem = cur.remaining_payload_mass[parent] - nodes.mass[k_new]
    ok = np.ones(p.size, bool)
    if s.enforce_time:
        ok &= (t_del <= nodes.deadline[k_new] + 1e-6) & (t_del <= s.horizon_s + 1e-6)
    if s.enforce_propellant:
        ok &= m_after - rem - s.dry_kg >= s.reserve_kg - 1e-9
    massless = int(np.count_nonzero(ok & ~(m_after > 0.0)))
    ok &= m_after > 0.0
    idx = np.nonzero(ok)[0]
    masks = cur.mask[parent[idx]].copy()
    kn = k_new[idx]
    for word in range(W):
        sel = (kn // 64) == word
        masks[sel, word] |= np.uint64(1) << (kn[sel] % 64).astype(np.uint64)
    new = Layer(
        mask=masks,
        j=kn,
        t=t_del[idx],
        m=m_after[idx],
        raan=np.mod(raan_del[idx], TWO_PI),
        u=np.mod(u_del[idx], TWO_PI),
        parent=parent[idx],
        base=opts.base[idx],
        tidx=opts.tidx[idx],
        variant=opts.variant[idx],
        krev=opts.krev[idx],
        t_dep=cur.t[parent[idx]],
        m_dep=cur.m[parent[idx]],
        raan_dep=cur.raan[parent[idx]],
        u_dep=cur.u[parent[idx]],
        remaining_payload_mass=rem[idx],
    )
    new, capped = _dominated_out(nodes, new, s, electric)
    return new, capped, massless


def _dominated_out(nodes, new, s, electric):
    """The labels of ``new`` that no other label dominates, and whether a group was capped."""
    # dominance within (delivered set, current orbit); raan/u join the key where the
    # orbit leaves them free (they then depend on the history)
    free_raan = np.isnan(nodes.raan0[new.j])
    free_u = np.isnan(nodes.slot0[new.j])
    key = np.column_stack(
        [
            new.mask.view(np.int64),
            new.j,
            np.where(free_raan, np.round(new.raan * 1e6), 0).astype(np.int64),
            np.where(free_u & _any_slot_left(nodes, new.mask), np.round(new.u * 1e3), 0).astype(
                np.int64
            ),
        ]
    )
    keep, capped = _dominance_keep(
        key, new.t, new.m, s.group_cap if electric else 0, exact_mass=electric
    )
    return _take_layer(new, keep), capped


def _concat_layers(parts):
    if len(parts) == 1:
        return parts[0]
    return Layer(
        **{
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in Layer.__dataclass_fields__
        }
    )


def _any_slot_left(nodes: Nodes, mask):
    """Whether any undelivered payload of each label has a slot (then the phase matters)."""
    out = np.zeros(mask.shape[0], bool)
    for k in range(1, nodes.n):
        if not np.isnan(nodes.slot0[k]):
            out |= ~has_bit(mask, k)
    return out


def _take_layer(layer: Layer, idx) -> Layer:
    return Layer(**{name: getattr(layer, name)[idx] for name in Layer.__dataclass_fields__})


def path_to(layers: list[Layer], depth: int, index: int) -> list[tuple[int, int]]:
    """(depth, index) of every label from the start to label ``index`` of layer ``depth``."""
    out = []
    while depth >= 0 and index >= 0:
        out.append((depth, index))
        index = int(layers[depth].parent[index])
        depth -= 1
    return out[::-1]
