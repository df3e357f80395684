"""Order and schedule search over leg tables: a label-setting dynamic programme over subsets
of payloads with each leg's drift duration chosen among the tables' options.

A label is (payloads delivered, current orbit, time, argument of latitude, mass); a label is
dropped when another of its (set, orbit) group is no lighter and can be where it is no later
(:func:`_dominance`); a branch-and-bound on the final mass
(:func:`otvplan.planning.sequencing.final_mass_upper_bound`, with a time-priced bound,
:class:`_TimeBound`) prunes the rest. Past a label cap or the deadline the search continues as
a beam. Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from otvplan.core.orbits import TWO_PI
from otvplan.core.propulsion import mass_after
from otvplan.planning import legs as lg
from otvplan.planning.sequencing import (
    LATE_BEAM,
    Bound,
    final_mass_upper_bound,
    group_ids,
    pairs_worth_expanding,
    spanning_tree_weights,
)

#: Labels kept per layer before the search turns into a beam (memory bound: ~100 bytes each).
MAX_LABELS = 400_000
#: Complete plans kept from the last layer (the refinement splits the intervals they use).
REFINE_PATHS = 2000


# --------------------------------------------------------------------------------------------
# Order and schedule search over the tables
# --------------------------------------------------------------------------------------------


@dataclass
class TableLayer:
    mask: np.ndarray  # (L, W) uint64 bit sets of the payloads delivered
    j: np.ndarray  # current orbit
    t: np.ndarray  # time of the last delivery [s]
    u: np.ndarray  # argument of latitude then [rad] (NaN: any), or the start of a range
    uw: np.ndarray  # width of that range [rad] (0: known exactly)
    m: np.ndarray  # tug mass then [kg]
    parent: np.ndarray
    option: np.ndarray
    remaining_payload_mass: np.ndarray

    @property
    def size(self) -> int:
        return int(self.j.size)

    def take(self, idx) -> TableLayer:
        return TableLayer(*(getattr(self, f)[idx] for f in TableLayer.__dataclass_fields__))


@dataclass
class TableSearch:
    layers: list[TableLayer]
    truncated: bool
    best_mass: float  # best final mass (after disposal) of a complete plan, -inf if none
    best_index: int
    finals_m: np.ndarray  # final masses of the complete labels (after disposal)
    labels: int = 0


@dataclass(frozen=True)
class Limits:
    dry_kg: float
    reserve_kg: float
    horizon_s: float
    separation_s: float
    ve_kms: float
    enforce_propellant: bool = True
    enforce_time: bool = True


def _dominance(
    group: np.ndarray,
    u: np.ndarray,
    uw: np.ndarray,
    t: np.ndarray,
    m: np.ndarray,
    half_period: np.ndarray,
) -> np.ndarray:
    """Indices of the labels no other label of their group dominates.

    Label A dominates B (same delivered set and orbit) when it is no lighter and can be where
    B is, in the orbit and in the orbit's phase (mod pi: every later burn point is a node
    crossing), no later than B: either A is at B's phase (or A's phase is free, NaN) and no
    later, or A is at least half an orbit earlier (it can coast to any phase in that time).
    (In the relaxation a phase may be a range, ``u`` to ``u + uw``: equal ranges compare.)
    From there A can fly B's completion shifted earlier, so it ends at least as heavy: the
    pruning keeps the search exact. Phases are compared to 1e-9 rad.
    """
    L = t.size
    if L == 0:
        return np.zeros(0, int)
    free = np.isnan(u)
    phase = np.where(free, -1, np.round(np.mod(np.nan_to_num(u), np.pi) * 1e9)).astype(np.int64)
    width = np.round(np.asarray(uw, float) * 1e9).astype(np.int64)
    _, pid = np.unique(phase * 4_000_000_000 + width, return_inverse=True)
    key = group.astype(np.int64) * (int(pid.max()) + 1) + pid.reshape(-1)
    order = np.lexsort((-m, t, key))
    ks, ms = key[order], m[order]
    start = np.r_[True, ks[1:] != ks[:-1]]
    gid = np.cumsum(start) - 1
    span = float(np.max(ms) - np.min(ms)) + 1.0
    run = np.maximum.accumulate(ms + gid * span * 2.0) - gid * span * 2.0
    prev = np.r_[-np.inf, run[:-1]]
    prev[start] = -np.inf
    kept = np.sort(order[ms > prev])  # strictly heavier than every earlier label of its group
    # then the half-orbit rule across phases: drop B if some A of its group with
    # t_A <= t_B - P/2 is at least as heavy (prefix maximum of m over the group's times)
    g, tk, mk, hp = group[kept], t[kept], m[kept], half_period[kept]
    order = np.lexsort((tk, g))
    gs, ts, ms = g[order], tk[order], mk[order]
    start = np.r_[True, gs[1:] != gs[:-1]]
    gid = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    # running maximum of m within each group (offset so groups do not mix)
    span = float(np.max(ms) - np.min(ms)) + 1.0
    run = np.maximum.accumulate(ms + gid * span * 2.0) - gid * span * 2.0
    # position of the last label of the group with t <= t_B - P/2
    keyt = gid * (float(np.max(ts) - np.min(ts)) + 1e7) + ts
    q = np.searchsorted(keyt, keyt - hp[order], side="right") - 1
    has = q >= first[gid]
    beaten = has & (run[np.maximum(q, 0)] >= ms - 1e-12 * np.abs(ms))
    return np.sort(kept[order[~beaten]])


class _TimeBound:
    """An upper bound on the final mass of any completion that fits the time left.

    Every payload k still to deliver is reached by one leg of its own, from the current
    orbit or from another payload still to deliver, all after the label's time t and before
    the horizon H, so with tau_k the time of k's leg, sum tau_k <= H - t. For a price
    lambda >= 0 on time, that leg costs at least g_k(lambda) = min over those origins and
    their options of (dv + lambda tau); so the delta-v still to spend is at least
    sum_k g_k(lambda) - lambda (H - t) for every lambda (weak duality), plus the cheapest
    disposal. The rocket equation with drops bounds the final mass by
    exp(-D / ve) (m - the payloads still aboard).
    """

    LAMBDAS = np.concatenate([[0.0], np.geomspace(1e-11, 1e-5, 31)])  # [km/s per s]

    def __init__(self, dur, dv, lim: Limits, disposal_dv, trees: bool = False):
        # g[j, k, q]: least priced cost of a leg j -> k (inf without options), from the
        # finite options only (the arrays are padded to the pair with the most samples)
        n1, n2 = dur.shape[:2]
        ok = np.isfinite(dur) & np.isfinite(dv)
        self.g = np.full((n1 * n2, self.LAMBDAS.size), np.inf)
        jj, kk = np.nonzero(ok)[:2]
        if jj.size:
            pair = jj * n2 + kk
            starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
            priced = dv[ok][:, None] + dur[ok][:, None] * self.LAMBDAS[None, :]
            self.g[pair[starts]] = np.minimum.reduceat(priced, starts, axis=0)
        self.g = self.g.reshape(n1, n2, self.LAMBDAS.size)
        self.g[np.arange(n1), np.arange(n1)] = np.inf  # no leg from a target to itself
        self.horizon = lim.horizon_s
        self.ve = lim.ve_kms
        self.disposal = float(np.min(disposal_dv)) if np.size(disposal_dv) else 0.0
        #: also price each group's spanning tree (:meth:`priced_trees`) and keep the larger
        self.trees = trees

    def priced_trees(self, origin: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Per row and price lambda: the weight of a minimum spanning tree over the orbits
        ``origin[row]`` (the current one and every payload left), edge (j, k) priced
        min(g[j, k], g[k, j]) at lambda
        (:func:`otvplan.planning.sequencing.spanning_tree_weights`, over rows and prices).

        The rest of the mission flies one path through those orbits from ``current``: a
        spanning tree of them whose legs each cost at least their edge's price, so
        dv + lambda (time of the legs) >= this weight, and with the legs' time at most the
        time left, the delta-v still to spend is at least the weight less lambda (H - t) -
        like the per-payload sum of :meth:`final_mass`, but a plane reached once counts once
        however many payloads wait in it (the per-payload sum can enter each of them from
        another: a zero-cost cycle)."""
        G, n1 = origin.shape
        lam = self.LAMBDAS.size
        w = np.minimum(self.g, self.g.transpose(1, 0, 2)).transpose(2, 0, 1)  # (lambda, j, k)
        total = spanning_tree_weights(
            w,
            np.tile(np.arange(lam), G),
            np.repeat(origin, lam, axis=0),
            np.repeat(current, lam),
        )
        return total.reshape(G, lam)

    def final_mass(
        self, nodes: lg.Nodes, layer: TableLayer, threshold: float = -math.inf
    ) -> np.ndarray:
        """The bound per label of ``layer``. With ``threshold`` (the search's incumbent), the
        spanning trees are priced only for the groups with a label the per-payload sum
        leaves at or above it (the others are pruned either way)."""
        L = layer.size
        n1 = nodes.n
        rem = np.zeros((L, n1), bool)
        for k in range(1, n1):
            word, bit = k // 64, np.uint64(1) << np.uint64(k % 64)
            rem[:, k] = (layer.mask[:, word] & bit) == 0
        origin = rem.copy()
        origin[np.arange(L), layer.j] = True
        # one sum per (delivered set, orbit) group, groups in batches (the origin set alone
        # is not a key: {2, 3, 4} is both "at 2, 3 and 4 left" and "at 3, 2 and 4 left")
        gid, first = group_ids(layer.mask, layer.j, n1)
        totals = np.empty((first.size, self.LAMBDAS.size))
        batch = max(1, 2_000_000 // self.g.size)
        for b0 in range(0, first.size, batch):
            f = first[b0 : b0 + batch]
            g = np.where(origin[f][:, :, None, None], self.g[None], np.inf)
            best = g.min(axis=1)  # (group, target, lambda): least over the origins
            best = np.where(rem[f][:, :, None] & np.isfinite(best), best, 0.0)
            totals[b0 : b0 + batch] = best.sum(axis=1)
        left = np.maximum(self.horizon - layer.t, 0.0)

        def bound(totals: np.ndarray) -> np.ndarray:
            d_min = np.max(totals[gid] - self.LAMBDAS[None, :] * left[:, None], axis=1)
            d_min = np.maximum(d_min, 0.0) + self.disposal
            return mass_after(layer.m - layer.remaining_payload_mass, d_min, self.ve)

        ub = bound(totals)
        if self.trees:
            alive = np.zeros(first.size, bool)
            alive[gid[ub >= threshold]] = True
            todo = np.flatnonzero(alive)
            step = max(1, batch // 8)
            for b0 in range(0, todo.size, step):
                q = todo[b0 : b0 + step]
                tree = self.priced_trees(origin[first[q]], layer.j[first[q]])
                totals[q] = np.maximum(totals[q], tree)
            if todo.size:
                ub = bound(totals)
        return ub


#: The time bounds of the last few option arrays (each with the arrays it was built on).
_TIME_BOUNDS: dict[tuple, tuple[np.ndarray, np.ndarray, _TimeBound]] = {}


def _time_bound(dur, dv, lim: Limits, disposal_dv) -> _TimeBound:
    """:class:`_TimeBound` of the arrays, built once per (read-only) option arrays."""
    key = (id(dur), id(dv), lim.horizon_s, lim.ve_kms, np.asarray(disposal_dv).tobytes())
    got = _TIME_BOUNDS.get(key)
    if got is not None and got[0] is dur and got[1] is dv:
        return got[2]
    tb = _TimeBound(dur, dv, lim, disposal_dv, trees=True)
    if dur.flags.writeable:  # arrays that may change are not kept
        return tb
    if len(_TIME_BOUNDS) >= 8:
        _TIME_BOUNDS.clear()
    _TIME_BOUNDS[key] = (dur, dv, tb)
    return tb


#: Candidate options generated at once (memory: about 100 bytes each).
CHUNK = 1_000_000


@dataclass(frozen=True)
class _Options:
    """The finite options of each pair, listed compactly: pair (j, k)'s are
    ``index[start[j, k] : start[j, k] + count[j, k]]`` (the option arrays are padded to the
    pair with the most samples; expanding only the finite ones keeps a label's cost to its
    pairs' own options).

    ``key`` orders the list: 2 (j n1 + k) plus each option's mass ratio e^(-dv/ve) (the direct
    leg, option 0: minus a half). The tables list each pair's drift options on their time /
    delta-v front, by time, so the mass ratio rises along them and ``key`` rises along the
    whole list; then the options a (label, payload) pair can afford - those with a mass ratio
    above what the label needs - are a tail of its pair's drift options, found by bisection
    (:meth:`spans`). ``key`` is None when some pair's options are not in that order (or there
    are none)."""

    n1: int
    count: np.ndarray  # (n1, n1)
    start: np.ndarray  # (n1, n1)
    index: np.ndarray  # option indices, pair by pair
    key: np.ndarray | None

    @classmethod
    def of(cls, dv: np.ndarray, decay: np.ndarray) -> _Options:
        finite = np.isfinite(dv)
        count = finite.sum(axis=2)
        start = np.cumsum(count).reshape(count.shape) - count
        jj, kk, oo = np.nonzero(finite)
        n1 = dv.shape[0]
        key = 2.0 * (jj * n1 + kk) + np.where(oo == 0, -0.5, decay[jj, kk, oo])
        ordered = oo.size > 0 and bool(np.all(np.diff(key) >= 0.0))
        return cls(n1, count, start, oo, key if ordered else None)

    def spans(self, jj: np.ndarray, kk: np.ndarray, ratio: np.ndarray | None = None) -> _Spans:
        """The options to expand of the pairs (jj, kk): every finite one; with ``ratio`` (per
        pair; where the list is ordered) only the direct leg and the drift options whose mass
        ratio is at least that - a superset of those the pair can afford when ``ratio`` is a
        lower bound on what it needs."""
        begin = self.start[jj, kk]
        end = begin + self.count[jj, kk]
        if ratio is None or self.key is None:
            return _Spans(begin, np.zeros(jj.size, int), begin, end - begin)
        has0 = ((end > begin) & (self.index[np.minimum(begin, self.index.size - 1)] == 0)).astype(
            int
        )
        lo = np.searchsorted(self.key, 2.0 * (jj * self.n1 + kk) + ratio, side="left")
        lo = np.clip(lo, begin + has0, end)
        return _Spans(begin, has0, lo, has0 + end - lo)

    def expand(self, sp: _Spans) -> tuple[np.ndarray, np.ndarray]:
        """(pair position, option) of every option of the spans ``sp``."""
        c = sp.count
        pi = np.repeat(np.arange(c.size), c)
        r = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        flat = np.where(r < sp.has0[pi], sp.begin[pi], sp.lo[pi] + r - sp.has0[pi])
        return pi, self.index[flat]


class _Spans(NamedTuple):
    """Per (label, payload) pair, the options to expand (:meth:`_Options.spans`): the direct
    leg at ``begin`` where ``has0``, then the list from ``lo``; ``count`` in all."""

    begin: np.ndarray
    has0: np.ndarray
    lo: np.ndarray
    count: np.ndarray

    def part(self, sl: slice) -> _Spans:
        return _Spans(*(x[sl] for x in self))


def _least_ratio(nodes, cur, lab, kk, rest, lim, disposal_dv, incumbent, threshold_kg):
    """Per (label, next payload) pair, a lower bound on the mass ratio e^(-dv/ve) of any
    option that passes :func:`_expand_pairs`' mass tests (each is a least mass after the
    delivery; a margin of 1e-9 keeps it below the tests' own rounding)."""
    m_kg = cur.m[lab]
    need = np.zeros(lab.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        if rest is not None:
            scale, carried = rest
            need = np.maximum(need, np.where(scale > 0.0, threshold_kg / scale, np.inf) + carried)
        if lim.enforce_propellant:
            rem = cur.remaining_payload_mass[lab] - nodes.mass[kk]
            need = np.maximum(need, rem + lim.dry_kg + lim.reserve_kg)
        if disposal_dv is not None:
            keep = mass_after(1.0, disposal_dv[kk], lim.ve_kms)
            if lim.enforce_propellant:
                need = np.maximum(need, (lim.dry_kg + lim.reserve_kg) / keep)
            if math.isfinite(incumbent):
                need = np.maximum(need, incumbent * (1.0 - 1e-12) / keep)
        ratio = (need + nodes.mass[kk]) / m_kg
    return np.where(np.isnan(ratio), -np.inf, ratio * (1.0 - 1e-9) - 1e-9)


def _pair_chunks(cost: np.ndarray, size: int) -> list[slice]:
    """Consecutive slices of pairs whose ``cost`` (options each) sums to about ``size``."""
    if cost.size == 0:
        return []
    ends = np.searchsorted(np.cumsum(cost), np.arange(size, int(cost.sum()) + size, size))
    edges = np.unique(np.concatenate([[0], np.minimum(ends + 1, cost.size), [cost.size]]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _expand_pairs(
    nodes,
    cur,
    lab,
    kk,
    rest,
    options: _Options,
    spans: _Spans,
    dur,
    dv,
    decay,
    phase,
    u_end,
    u_width,
    deadline,
    lim,
    disposal_dv,
    incumbent,
    threshold_kg,
):
    """Every option of the (label, next payload) pairs ``lab``, ``kk`` that meets the limits
    (and, for the last delivery, ends no lighter than ``incumbent``; with ``rest``, the
    completion bound's (e^(-D_min/ve), C) per pair, can still end no lighter than
    ``threshold_kg``),
    as flat arrays. ``spans``: the options of each pair to test (:meth:`_Options.spans`)."""
    jj = cur.j[lab]
    pi, oi = options.expand(spans)
    # the mass tests first (they need no times), on the arrays of every option
    parent = lab[pi]
    k_new = kk[pi]
    m_after = cur.m[parent] * decay[jj[pi], k_new, oi] - nodes.mass[k_new]
    rem = cur.remaining_payload_mass[parent] - nodes.mass[k_new]
    keep = m_after > 0.0
    if rest is not None:
        scale, carried = rest
        keep &= (m_after - carried[pi]) * scale[pi] >= threshold_kg
    if lim.enforce_propellant:
        keep &= m_after - rem - lim.dry_kg >= lim.reserve_kg - 1e-9
    if disposal_dv is not None:
        fin = mass_after(m_after, disposal_dv[k_new], lim.ve_kms)
        if lim.enforce_propellant:
            keep &= fin - lim.dry_kg >= lim.reserve_kg - 1e-9
        if math.isfinite(incumbent):
            keep &= fin >= incumbent * (1.0 - 1e-12) - 1e-9
    idx = np.nonzero(keep)[0]
    pi, oi, parent, k_new, m_after, rem = (
        pi[idx],
        oi[idx],
        parent[idx],
        k_new[idx],
        m_after[idx],
        rem[idx],
    )
    j_par = jj[pi]
    # then the times of the options left
    ph = phase[j_par, k_new, oi]
    u_par, w_par = cur.u[parent], cur.uw[parent]
    # wait for the first burn point: the least over the label's range of phases
    no_wait = np.isnan(ph) | np.isnan(u_par)
    ahead = np.mod(np.nan_to_num(ph) - np.nan_to_num(u_par), np.pi)
    wait = np.where(
        no_wait,
        0.0,
        np.where(ahead > np.pi - w_par, 0.0, np.maximum(ahead - w_par, 0.0)) / nodes.u_rate[j_par],
    )
    t_end = cur.t[parent] + wait + dur[j_par, k_new, oi]
    t_prev = np.where(cur.j[parent] == 0, -np.inf, cur.t[parent])
    t_del = np.maximum(t_end, t_prev + lim.separation_s)
    idx = np.nonzero(t_del <= deadline[k_new] + 1e-6)[0]
    coplanar = np.isnan(ph[idx])
    par, kn, o = parent[idx], k_new[idx], oi[idx]
    u_arr = np.where(coplanar, u_par[idx], 0.0) + u_end[j_par[idx], kn, o]
    w_arr = np.where(coplanar, w_par[idx], u_width[j_par[idx], kn, o])
    u_del = np.mod(u_arr + nodes.u_rate[kn] * (t_del[idx] - t_end[idx]), TWO_PI)
    return {
        "parent": par,
        "k": kn,
        "t": t_del[idx],
        "u": u_del,
        "uw": w_arr,
        "m": m_after[idx],
        "option": o,
        "rem": rem[idx],
    }


#: Children of a layer held before they are reduced to the non-dominated ones (memory).
REDUCE_AT = 4 * CHUNK


def _children(cur: TableLayer, part: dict[str, np.ndarray], bits) -> TableLayer:
    """The labels of :func:`_expand_pairs`' options (their delivered sets made)."""
    masks = cur.mask[part["parent"]].copy()
    kn = part["k"]
    for k in np.unique(kn):
        word, bit = bits[int(k)]
        masks[kn == k, word] |= bit
    return TableLayer(
        mask=masks,
        j=kn,
        t=part["t"],
        u=part["u"],
        uw=part["uw"],
        m=part["m"],
        parent=part["parent"],
        option=part["option"],
        remaining_payload_mass=part["rem"],
    )


def _concat(parts: list[TableLayer]) -> TableLayer:
    if len(parts) == 1:
        return parts[0]
    return TableLayer(
        *(np.concatenate([getattr(q, f) for q in parts]) for f in TableLayer.__dataclass_fields__)
    )


def _best_complete(layer: TableLayer, disposal_dv: np.ndarray, ve_kms: float) -> TableLayer:
    """The :data:`REFINE_PATHS` complete plans of ``layer`` that end heaviest (disposal
    made), in their order in the layer."""
    fin = mass_after(layer.m, disposal_dv[layer.j], ve_kms)
    order = np.argsort(-fin, kind="stable")[: max(REFINE_PATHS, 1)]
    return layer.take(np.sort(order))


def _non_dominated(layer: TableLayer, n1: int, half_period: np.ndarray) -> TableLayer:
    """``layer``'s labels that no other label dominates (:func:`_dominance`)."""
    group, _ = group_ids(layer.mask, layer.j, n1)
    return layer.take(_dominance(group, layer.u, layer.uw, layer.t, layer.m, half_period[layer.j]))


def search_tables(
    nodes: lg.Nodes,
    arrays: dict[str, np.ndarray],
    m0: float,
    lim: Limits,
    disposal_dv: np.ndarray,
    leg_lb: np.ndarray,
    incumbent: float = -math.inf,
    max_labels: int = MAX_LABELS,
    deadline_s: float = math.inf,
    sequence: np.ndarray | None = None,
) -> TableSearch:
    """Label-setting search over every order and every tabulated option (with ``sequence``,
    an order of the targets 1..n: that delivery order only, over every tabulated option).

    ``arrays`` (:meth:`LegTables.arrays`): option o of the leg from orbit j to target k
    takes ``dur[j, k, o]`` after its first burn, which waits for the tug to reach ``phase``
    (mod pi; NaN: no wait), costs ``dv[j, k, o]`` (inf where absent) and arrives at argument
    of latitude ``u_end`` (NaN phase: the tug's own plus ``u_end``). Labels whose best
    possible final mass (:func:`otvplan.planning.sequencing.final_mass_upper_bound`) is below
    ``incumbent`` are dropped. When a layer holds more than ``max_labels`` labels, the best by
    that bound are kept and the result is ``truncated``; past ``deadline_s`` (a
    ``time.perf_counter`` value) the layers left are searched as a beam of
    :data:`LATE_BEAM` labels, so the search still ends with complete plans.
    """
    dur, dv, phase, u_end = arrays["dur"], arrays["dv"], arrays["phase"], arrays["u_end"]
    u_width = arrays["u_width"]
    n1 = nodes.n
    n = n1 - 1
    W = (n1 + 63) // 64
    bound = Bound(leg_lb=leg_lb, disposal_dv=disposal_dv, ve_kms=lim.ve_kms, incumbent=incumbent)
    first = TableLayer(
        mask=np.zeros((1, W), np.uint64),
        j=np.zeros(1, int),
        t=np.zeros(1),
        u=np.array([float(nodes.slot0[0])]),
        uw=np.zeros(1),
        m=np.array([m0], float),
        parent=np.array([-1]),
        option=np.array([-1]),
        remaining_payload_mass=np.array([float(nodes.mass[1:].sum())]),
    )
    layers = [first]
    truncated = False
    labels = 1
    ks = np.arange(1, n1)
    bits = [((k // 64), np.uint64(1) << np.uint64(k % 64)) for k in range(n1)]
    deadline = (
        np.minimum(nodes.deadline, lim.horizon_s) if lim.enforce_time else np.full(n1, np.inf)
    )
    decay = mass_after(1.0, dv, lim.ve_kms)  # the mass ratio of each option
    half_period = np.pi / nodes.u_rate
    time_bound = (
        _time_bound(dur, dv, lim, disposal_dv)
        if math.isfinite(lim.horizon_s) and math.isfinite(incumbent) and sequence is None
        else None  # (one order's layers are few labels: the spanning-tree bound will do)
    )
    threshold = incumbent * (1.0 - 1e-12) - 1e-9
    # the branch-and-bound test applied to candidates as they are generated: a candidate's
    # best final mass is e^(-D/ve) (m - C), D and C functions of its (delivered set, orbit)
    # group only (computed once per group); it prunes a (label, next payload) pair with its
    # lightest-decay option before the options are expanded, then each option, before the
    # dominance test sees them. (A candidate it prunes could only dominate labels of its
    # group that are lighter and later, which the same test prunes: the labels kept are the
    # same as testing after the dominance.)
    prune = math.isfinite(incumbent)
    prune_decay = np.max(decay, axis=2, initial=0.0)
    options = _Options.of(dv, decay)
    for depth in range(n):
        cur = layers[-1]
        L = cur.size
        if L == 0:
            break
        last = depth == n - 1
        ks_here = ks if sequence is None else np.asarray(sequence[depth : depth + 1], int)
        # the (label, next payload) pairs, those the bound cannot rule out
        lab = np.repeat(np.arange(L), ks_here.size)
        kk = np.tile(ks_here, L)
        free = np.ones(lab.size, bool)
        for k in ks_here:
            word, bit = bits[k]
            sel = kk == k
            free[sel] = (cur.mask[lab[sel], word] & bit) == 0
        lab, kk = lab[free], kk[free]
        rest = None
        if prune and not last:
            m_best = cur.m[lab] * prune_decay[cur.j[lab], kk] - nodes.mass[kk]
            ok, scale, carried = pairs_worth_expanding(
                nodes, cur.mask, lab, kk, m_best, bound, threshold
            )
            lab, kk, rest = lab[ok], kk[ok], (scale[ok], carried[ok])
        # their options (label x payload x option), in chunks, filtered as they come; the
        # children kept so far are reduced to the non-dominated ones when they grow large
        # (memory); when the deadline passes during the layer the pairs left are not
        # expanded (a layer begun after it holds at most LATE_BEAM labels: it is finished)
        parts: list[TableLayer] = []
        pending = 0
        begun_late = time.perf_counter() > deadline_s
        spans = options.spans(
            cur.j[lab],
            kk,
            _least_ratio(
                nodes,
                cur,
                lab,
                kk,
                rest,
                lim,
                disposal_dv if last else None,
                incumbent,
                threshold,
            ),
        )
        for sl in _pair_chunks(spans.count, CHUNK):
            if parts and not begun_late and time.perf_counter() > deadline_s:
                truncated = True
                break
            part = _expand_pairs(
                nodes,
                cur,
                lab[sl],
                kk[sl],
                None if rest is None else (rest[0][sl], rest[1][sl]),
                options,
                spans.part(sl),
                dur,
                dv,
                decay,
                phase,
                u_end,
                u_width,
                deadline,
                lim,
                disposal_dv if last else None,
                incumbent,
                threshold,
            )
            parts.append(_children(cur, part, bits))
            pending += parts[-1].size
            if pending > REDUCE_AT:
                parts = [
                    _best_complete(_concat(parts), disposal_dv, lim.ve_kms)
                    if last
                    else _non_dominated(_concat(parts), n1, half_period)
                ]
                pending = parts[0].size
        if not parts:  # nothing to expand: an empty layer ends the search
            layers.append(cur.take(np.zeros(0, int)))
            continue
        new = _concat(parts)
        if last:  # complete plans: no dominance needed, keep the best for refinement
            new = _best_complete(new, disposal_dv, lim.ve_kms)
        elif new.size:
            new = _non_dominated(new, n1, half_period)
            if new.size and time_bound is not None:  # (the mass bound pruned the candidates)
                ub = time_bound.final_mass(nodes, new, threshold)
                new = new.take(np.nonzero(ub >= threshold)[0])
            cap = max_labels if time.perf_counter() <= deadline_s else min(max_labels, LATE_BEAM)
            if new.size > cap:
                ub = final_mass_upper_bound(nodes, new, replace(bound, incumbent=-math.inf))
                order = np.argsort(-ub, kind="stable")[:cap]
                new = new.take(np.sort(order))
                truncated = True
        labels += new.size
        layers.append(new)
    finals_m = np.zeros(0)
    best_mass, best_index = -math.inf, -1
    if len(layers) == n1 and layers[-1].size:
        last = layers[-1]
        finals_m = mass_after(last.m, disposal_dv[last.j], lim.ve_kms)
        ok = np.ones(last.size, bool)
        if lim.enforce_propellant:
            ok &= finals_m - lim.dry_kg >= lim.reserve_kg - 1e-9
        if np.any(ok):
            best_index = int(np.argmax(np.where(ok, finals_m, -np.inf)))
            best_mass = float(finals_m[best_index])
        finals_m = np.where(ok, finals_m, -np.inf)
    return TableSearch(layers, truncated, best_mass, best_index, finals_m, labels)


def path_options(res: TableSearch, index) -> np.ndarray:
    """(from orbit j, to target k, option) of every leg of the complete labels ``index``
    (an int, or an array of them): an array of shape (depth, 3) or (len(index), depth, 3)."""
    idx = np.atleast_1d(np.asarray(index, int))
    depth = len(res.layers) - 1
    out = np.zeros((idx.size, depth, 3), int)
    for d in range(depth, 0, -1):
        lay = res.layers[d]
        par = res.layers[d - 1]
        p = lay.parent[idx]
        out[:, d - 1, 0] = par.j[p]
        out[:, d - 1, 1] = lay.j[idx]
        out[:, d - 1, 2] = lay.option[idx]
        idx = p
    return out[0] if np.ndim(index) == 0 else out
