"""The label search over leg tables: its bounds and its pruning.

The time-priced bound (:class:`otvplan.planning.table_search._TimeBound`) is checked against a
direct evaluation of its definition (weak duality over a price on time, written out here
with loops), label by label; and the branch-and-bound against the same search without an
incumbent: pruning may drop labels, never the best plan.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from otvplan.core.propulsion import mass_after
from otvplan.planning import schedule
from otvplan.planning.table_search import (
    Limits,
    TableLayer,
    _TimeBound,
    search_tables,
)
from otvplan.planning.tables import build_tables
from test_solver import search_problem


def _reference_time_bound(tb_dur, tb_dv, lim, disposal, nodes_mass, mask, j, t, m, rem_kg):
    """The time-priced bound of one label, from its definition: for each price lambda,
    every payload left is entered by one leg from the current orbit or another payload left,
    costing at least min (dv + lambda tau); less lambda times the time left; the largest over
    the prices, plus the cheapest disposal, through the rocket equation."""
    n1 = tb_dur.shape[0]
    left = [k for k in range(1, n1) if not (mask >> k) & 1]
    origins = set(left) | {j}
    best_d = 0.0
    for lam in _TimeBound.LAMBDAS:
        total = 0.0
        for k in left:
            g = math.inf
            for o in origins:
                if o == k:
                    continue
                for q in range(tb_dur.shape[2]):
                    if math.isfinite(tb_dur[o, k, q]) and math.isfinite(tb_dv[o, k, q]):
                        g = min(g, tb_dv[o, k, q] + lam * tb_dur[o, k, q])
            total += g if math.isfinite(g) else 0.0
        best_d = max(best_d, total - lam * max(lim.horizon_s - t, 0.0))
    d = best_d + float(np.min(disposal))
    return float(mass_after(m - rem_kg, d, lim.ve_kms))


def test_time_bound_of_a_label_does_not_depend_on_the_other_labels():
    """Two labels with the same orbits left to start from - "at 1 with 2 and 3 left" and "at
    2 with 1 and 3 left" - have different payloads left. Each label's bound, computed in a
    layer with the other and alone, equals its definition. (The bound once grouped labels
    by that origin set alone and priced one label's payloads for the other.)"""
    rng = np.random.default_rng(4)
    n1, n_opt = 5, 3
    dur = rng.uniform(1.0, 60.0, (n1, n1, n_opt)) * 86400.0
    dv = rng.uniform(0.01, 0.4, (n1, n1, n_opt))
    dv[0, 0] = np.inf
    dur[2, 3, 2] = np.nan  # absent options
    dv[2, 3, 2] = np.inf
    lim = Limits(
        dry_kg=100.0, reserve_kg=1.0, horizon_s=80 * 86400.0, separation_s=0.0, ve_kms=2.94
    )
    disposal = rng.uniform(0.0, 0.1, n1)
    payload = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    masks = np.array([0b00010, 0b00100, 0b01000, 0b00110, 0b01100, 0b10010], np.uint64)
    js = np.array([1, 2, 3, 2, 3, 4])
    t = np.array([5.0, 9.0, 2.0, 20.0, 30.0, 12.0]) * 86400.0
    m = np.array([400.0, 390.0, 380.0, 350.0, 340.0, 345.0])
    rem = np.array(
        [payload[[k for k in range(1, n1) if not (int(mk) >> k) & 1]].sum() for mk in masks]
    )
    layer = TableLayer(
        mask=masks[:, None],
        j=js,
        t=t,
        u=np.zeros(6),
        uw=np.zeros(6),
        m=m,
        parent=np.zeros(6, int),
        option=np.zeros(6, int),
        remaining_payload_mass=rem,
    )
    tb = _TimeBound(dur, dv, lim, disposal)
    nodes = SimpleNamespace(n=n1)  # the bound reads the number of orbits only
    together = tb.final_mass(nodes, layer)
    for i in range(6):
        alone = tb.final_mass(nodes, layer.take(np.array([i])))[0]
        want = _reference_time_bound(
            dur, dv, lim, disposal, payload, int(masks[i]), int(js[i]), t[i], m[i], rem[i]
        )
        assert together[i] == pytest.approx(want, rel=1e-12)
        assert alone == pytest.approx(want, rel=1e-12)


def _tables(seed: int, n: int):
    nodes, ctx, m0, lim, disp = search_problem(seed, n)
    return nodes, build_tables(nodes, ctx, 12, lim.horizon_s), m0, lim, disp


@pytest.mark.parametrize("seed", [1, 3, 8])  # manifests whose tables close
@pytest.mark.parametrize("kind", ["ub", "lb"])
def test_pruning_never_loses_the_best_plan(seed, kind):
    """Branch-and-bound over the tables (real options and the relaxation): with an incumbent
    just below the best final mass, the search still finds that best plan; with one just
    above, it finds none. Without an incumbent nothing is pruned, so that search is the
    reference."""
    nodes, tab, m0, lim, disp = _tables(seed, 5)
    arrays = tab.arrays(kind)
    leg_lb = tab.leg_lower_bounds()
    full = search_tables(nodes, arrays, m0, lim, disp, leg_lb)
    assert not full.truncated and full.best_index >= 0
    below = search_tables(nodes, arrays, m0, lim, disp, leg_lb, incumbent=full.best_mass - 1e-6)
    assert below.best_mass == pytest.approx(full.best_mass, abs=1e-9)
    assert below.labels < full.labels  # the bound prunes something
    above = search_tables(nodes, arrays, m0, lim, disp, leg_lb, incumbent=full.best_mass + 1e-3)
    assert above.best_index < 0


def test_a_search_cut_short_keeps_the_bound_an_earlier_round_proved(monkeypatch):
    """The refinement loop's bound is the least one any round proved: when a later round's
    search is cut short (time limit, label cap), the plan keeps the earlier round's bound,
    not the much weaker bound from the start alone (:func:`schedule.root_bound`)."""
    nodes, tab, m0, lim, disp = _tables(1, 5)
    ctx = search_problem(1, 5)[1]
    rounds = []
    real = schedule.search_tables

    def cut_third_round(*args, **kwargs):
        res = real(*args, **kwargs)
        if len(rounds) >= 2 and kwargs.get("max_labels") is None:
            return replace(res, truncated=True, best_index=-1, best_mass=-math.inf)
        return res

    monkeypatch.setattr(schedule, "search_tables", cut_third_round)
    got = schedule.optimise(
        nodes, ctx, m0, lim, disp, gap=1e-9, progress=lambda r: rounds.append(r)
    )
    assert got is not None and got.timed_out and got.bound_valid
    assert len(rounds) == 3
    # the bound reported after the cut is the second round's (the least proved), far
    # tighter than the start's
    assert rounds[2]["bound_kg"] == pytest.approx(rounds[1]["bound_kg"], abs=1e-12)
    root = schedule.root_bound(nodes, tab, m0, lim, disp)
    payload = float(nodes.mass[1:].sum())
    assert m0 - payload - got.bound_final_mass_kg > m0 - payload - root + 1.0


def test_children_reduced_as_they_come_are_the_same_labels(monkeypatch):
    """A layer's children are reduced to the non-dominated ones whenever many are pending
    (memory); reducing after every chunk of options keeps exactly the labels that reducing
    once keeps."""
    from otvplan.planning import table_search

    nodes, tab, m0, lim, disp = _tables(3, 5)
    arrays, leg_lb = tab.arrays("lb"), tab.leg_lower_bounds()
    once = search_tables(nodes, arrays, m0, lim, disp, leg_lb)
    monkeypatch.setattr(table_search, "CHUNK", 50)
    monkeypatch.setattr(table_search, "REDUCE_AT", 60)
    often = search_tables(nodes, arrays, m0, lim, disp, leg_lb)
    assert often.best_mass == once.best_mass
    for a, b in zip(once.layers, often.layers, strict=True):
        key_a = sorted(zip(a.mask[:, 0].tolist(), a.j.tolist(), a.t.tolist(), a.m.tolist()))
        key_b = sorted(zip(b.mask[:, 0].tolist(), b.j.tolist(), b.t.tolist(), b.m.tolist()))
        assert key_a == key_b


def test_a_search_past_its_deadline_ends_with_complete_plans(monkeypatch):
    """A search begun past its deadline keeps at most LATE_BEAM labels a layer (a beam) and
    expands all of each: it still ends with a complete plan, marked truncated."""
    import time

    from otvplan.planning import table_search
    from otvplan.planning.sequencing import LATE_BEAM

    nodes, tab, m0, lim, disp = _tables(3, 5)
    monkeypatch.setattr(table_search, "CHUNK", 50)
    res = search_tables(
        nodes,
        tab.arrays("ub"),
        m0,
        lim,
        disp,
        tab.leg_lower_bounds(),
        deadline_s=time.perf_counter() - 1.0,
    )
    assert res.truncated and res.best_index >= 0
    assert all(layer.size <= LATE_BEAM for layer in res.layers[:-1])


@pytest.mark.parametrize("mode", ["ub", "lb"])
def test_option_arrays_updated_after_a_refinement_equal_a_full_build(mode):
    """After a refinement only the pairs whose curves changed are written again into a copy
    of the option arrays; the result equals the arrays built from scratch."""
    from otvplan.planning.tables import add_samples

    nodes, tab, m0, lim, disp = _tables(3, 5)
    del m0, lim, disp
    ctx = search_problem(3, 5)[1]
    before = tab.arrays(mode)
    pairs = [pair for pair, c in tab.curves.items() if c is not None and c.x.size > 2][:3]
    assert pairs
    wanted = {
        pair: {float(np.sqrt(tab.curves[pair].x[0] * tab.curves[pair].x[1]))} for pair in pairs
    }
    assert add_samples(tab, nodes, ctx, wanted) > 0
    updated = tab.arrays(mode)
    assert updated["dur"] is not before["dur"]
    assert updated["dur"].shape == before["dur"].shape  # (updated in place of a new build)
    full = tab._build_arrays(mode, updated["dur"].shape[2])
    for name, a in full.items():
        np.testing.assert_array_equal(updated[name], a, err_msg=name)


def _reference_cheapest_entries(leg_lb, remaining, j):
    """:func:`otvplan.planning.sequencing.cheapest_entries` from its definition, with loops."""
    L, n1 = remaining.shape
    out = np.zeros((L, n1))
    for lab in range(L):
        origins = {int(j[lab])} | {o for o in range(n1) if remaining[lab, o]}
        for k in range(n1):
            if remaining[lab, k]:
                g = min((leg_lb[o, k] for o in origins if o != k), default=math.inf)
                out[lab, k] = g if math.isfinite(g) else 0.0
    return out


@pytest.mark.parametrize("seed", range(6))
def test_cheapest_entering_legs_equal_their_definition(seed):
    # the search that tries each column's origins in ascending order, all pairs at once and
    # then pair by pair, against the minimum written out: many payloads left (the whole-array
    # phase), few left (pair by pair), ties and legs that do not exist (inf)
    from otvplan.planning.sequencing import cheapest_entries

    rng = np.random.default_rng(seed)
    n1 = int(rng.integers(2, 30))
    L = int(rng.integers(1, 80))
    leg_lb = rng.random((n1, n1))
    if seed % 2:
        leg_lb = np.round(leg_lb, 1)
    leg_lb[rng.random((n1, n1)) < 0.15] = np.inf
    remaining = rng.random((L, n1)) < [0.95, 0.5, 0.1][seed % 3]
    remaining[:, 0] = False
    j = rng.integers(0, n1, L)
    remaining[np.arange(L), j] = False
    got = cheapest_entries(leg_lb, remaining, j)
    assert np.array_equal(got, _reference_cheapest_entries(leg_lb, remaining, j))


def test_only_a_finished_optimisation_keeps_its_tables_for_the_next_plan(monkeypatch):
    # a plan stopped by its time limit has refined more than its manifest needs; the next
    # plan of the manifest must not start from those tables (its first searches would be
    # slow enough to run out of time in turn), but from those of a finished plan
    import time

    from otvplan.planning import tables

    nodes, ctx, m0, lim, disp = search_problem(3, 5)
    for cache in (tables._PAIRS, tables._REFINED, tables._MANIFESTS):
        cache.clear()
    key = build_tables(nodes, ctx, horizon_s=lim.horizon_s).manifest
    # a clock that advances 0.1 s at every reading: the limit falls after a few rounds
    clock = iter(np.arange(0.0, 1e6, 0.1))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    rounds = []
    stopped = schedule.optimise(
        nodes, ctx, m0, lim, disp, gap=1e-9, deadline_s=4.0, progress=rounds.append
    )
    monkeypatch.undo()
    assert stopped is not None and stopped.timed_out
    assert len(rounds) >= 2  # (it refined its tables before it stopped)
    assert key not in tables._MANIFESTS
    done = schedule.optimise(nodes, ctx, m0, lim, disp)
    assert done is not None and not done.timed_out
    assert key in tables._MANIFESTS


def test_a_replan_whose_beam_over_kept_tables_finds_nothing_starts_from_first_samples(
    monkeypatch,
):
    # a manifest planned before starts from its kept, refined tables; where neither its
    # kept order nor the narrow first beam over them finds a plan that closes (the beam found
    # none on a hard 8-payload manifest, which then ran out of time and came back
    # infeasible), the plan starts again from the first samples instead of searching on
    # without an incumbent
    from otvplan.planning import tables

    nodes, ctx, m0, lim, disp = search_problem(3, 5)
    for cache in (tables._PAIRS, tables._REFINED, tables._MANIFESTS):
        cache.clear()
    first = schedule.optimise(nodes, ctx, m0, lim, disp)
    assert first is not None and not first.timed_out  # (its tables are kept)
    calls = []
    real_search = schedule.search_tables

    def nothing_over_kept_tables(*args, **kwargs):
        res = real_search(*args, **kwargs)
        calls.append("order" if kwargs.get("sequence") is not None else kwargs.get("max_labels"))
        if len(calls) <= 2:  # the kept order, then the quick beam, over the kept tables
            return replace(res, best_index=-1, best_mass=-math.inf)
        return res

    built = []
    real_build = schedule.build_tables

    def spy_build(*args, **kwargs):
        tab = real_build(*args, **kwargs)
        built.append(tab.from_kept)
        return tab

    monkeypatch.setattr(schedule, "search_tables", nothing_over_kept_tables)
    monkeypatch.setattr(schedule, "build_tables", spy_build)
    again = schedule.optimise(nodes, ctx, m0, lim, disp)
    assert built == [True, False]  # the kept tables, then the first samples
    assert calls[:3] == ["order", schedule.BEAM_LABELS, schedule.BEAM_LABELS]
    assert again is not None
    assert again.final_mass_kg == pytest.approx(first.final_mass_kg, rel=1e-3)


@pytest.mark.parametrize("extra_kg", [0.0, 40.0])
def test_a_replan_starts_from_the_kept_order_and_ends_within_the_gap_of_a_fresh_plan(
    monkeypatch, extra_kg
):
    """A manifest planned before (here again, and with more propellant loaded: a sweep's next
    case) starts from its kept tables and the order its last plan found best: that order is
    searched first, for the incumbent, instead of the quick beam. Its plan ends within the
    certified gap of the plan a process that never saw the manifest makes."""
    from otvplan.planning import tables

    nodes, ctx, m0, lim, disp = search_problem(3, 5)
    for cache in (tables._PAIRS, tables._REFINED, tables._MANIFESTS):
        cache.clear()
    first = schedule.optimise(nodes, ctx, m0, lim, disp)
    assert first is not None and not first.timed_out
    order = [k for _j, k, *_ in first.legs]
    for cache in (tables._PAIRS, tables._REFINED, tables._MANIFESTS):
        cache.clear()
    fresh = schedule.optimise(nodes, ctx, m0 + extra_kg, lim, disp)  # (it keeps its tables)
    tables._MANIFESTS.clear()
    schedule.optimise(nodes, ctx, m0, lim, disp)  # the first plan again: kept with its order
    calls = []
    real_search = schedule.search_tables

    def spy(*args, **kwargs):
        seq = kwargs.get("sequence")
        calls.append(("order", list(seq)) if seq is not None else kwargs.get("max_labels"))
        return real_search(*args, **kwargs)

    monkeypatch.setattr(schedule, "search_tables", spy)
    warm = schedule.optimise(nodes, ctx, m0 + extra_kg, lim, disp)
    assert calls[0] == ("order", order)
    assert schedule.BEAM_LABELS not in calls
    assert warm is not None and fresh is not None
    prop = m0 + extra_kg - float(nodes.mass[1:].sum()) - lim.dry_kg
    # each is proven within the gap of its own bound, and both bounds hold for both
    for a, b in ((warm, fresh), (fresh, warm)):
        assert a.bound_final_mass_kg >= b.final_mass_kg - 1e-9
        assert a.final_mass_kg >= a.bound_final_mass_kg - schedule.EXACT_GAP * prop


def test_options_expanded_by_mass_ratio_are_those_that_pass_the_mass_tests(monkeypatch):
    """:meth:`_Options.spans` with each pair's least mass ratio skips only options the mass
    tests would drop: the search over those spans keeps exactly the labels of the search
    over every option (the same counts, the same best plan), with and without an incumbent,
    real options and relaxation - and with an incumbent it expands fewer options."""
    from otvplan.planning import table_search as ts

    nodes, tab, m0, lim, disp = _tables(8, 5)
    real_spans, real_expand = ts._Options.spans, ts._Options.expand
    expanded = []

    def counting_expand(self, sp):
        out = real_expand(self, sp)
        expanded[-1] += out[0].size
        return out

    monkeypatch.setattr(ts._Options, "expand", counting_expand)

    def search(every: bool, incumbent: float):
        expanded.append(0)
        if every:  # the spans of every finite option
            monkeypatch.setattr(
                ts._Options, "spans", lambda self, jj, kk, ratio=None: real_spans(self, jj, kk)
            )
        try:
            return search_tables(nodes, arrays, m0, lim, disp, leg_lb, incumbent=incumbent)
        finally:
            monkeypatch.setattr(ts._Options, "spans", real_spans)

    for kind in ("ub", "lb"):
        arrays = tab.arrays(kind)
        leg_lb = tab.leg_lower_bounds()
        opts = ts._Options.of(arrays["dv"], mass_after(1.0, arrays["dv"], lim.ve_kms))
        assert opts.key is not None  # the tables list each pair's options by mass ratio
        free = search(False, -math.inf)
        for incumbent in (-math.inf, free.best_mass - 0.5, free.best_mass - 1e-6):
            a = search(False, incumbent)
            b = search(True, incumbent)
            assert [x.size for x in a.layers] == [x.size for x in b.layers]
            assert a.best_mass == b.best_mass
            if math.isfinite(incumbent):
                assert expanded[-2] < expanded[-1]


def test_options_not_in_order_of_mass_ratio_are_all_expanded():
    """Where some pair's drift options are not listed by rising mass ratio (arrays not made
    by the tables), the spans are every finite option, as before any ordering was used."""
    from otvplan.planning import table_search as ts

    dv = np.full((3, 3, 4), np.inf)
    dv[0, 1, :3] = [0.3, 0.2, 0.1]  # direct, then drift options cheaper by time: in order
    dv[0, 2, :4] = [0.3, 0.1, 0.2, 0.05]  # not in order
    decay = mass_after(1.0, dv, 3.0)
    opts = ts._Options.of(dv, decay)
    assert opts.key is None
    sp = opts.spans(np.array([0, 0]), np.array([1, 2]), np.array([0.99, 0.99]))
    assert list(sp.count) == [3, 4]
    dv[0, 2, :4] = [0.3, 0.2, 0.1, 0.05]
    ordered = ts._Options.of(dv, mass_after(1.0, dv, 3.0))
    assert ordered.key is not None
    ratio = float(mass_after(1.0, 0.15, 3.0))  # affords the options of 0.1 km/s and less
    sp = ordered.spans(np.array([0, 0]), np.array([1, 2]), np.array([ratio, ratio]))
    pi, oi = ordered.expand(sp)
    assert [(int(p), int(o)) for p, o in zip(pi, oi)] == [(0, 0), (0, 2), (1, 0), (1, 2), (1, 3)]


def _kruskal(w: np.ndarray, nodes: list[int]) -> float:
    """A minimum spanning tree's weight over ``nodes`` with symmetric weights ``w``
    (Kruskal's algorithm, written out; inf edges are absent; a forest where disconnected)."""
    parent = {v: v for v in nodes}

    def root(v):
        while parent[v] != v:
            v = parent[v]
        return v

    edges = sorted(
        (w[a, b], a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :] if np.isfinite(w[a, b])
    )
    total = 0.0
    for weight, a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            total += weight
    return total


@pytest.mark.parametrize("seed", range(4))
def test_priced_spanning_trees_equal_kruskal_and_bound_every_path(seed):
    """:meth:`_TimeBound.priced_trees` at every price: the weight of a minimum spanning tree
    of the label's orbits (Kruskal's, written out here), and no more than the priced cost of
    any order that visits them from the current orbit (every order, enumerated) - which is
    what makes the bound valid."""
    import itertools

    rng = np.random.default_rng(seed)
    n1, n_opt = 6, 3
    dur = rng.uniform(1.0, 60.0, (n1, n1, n_opt)) * 86400.0
    dv = rng.uniform(0.01, 0.4, (n1, n1, n_opt))
    dv[:, 0] = np.inf  # no leg into the drop-off
    dv[1, 4] = np.inf  # a pair without options
    lim = Limits(dry_kg=1.0, reserve_kg=0.0, horizon_s=1e7, separation_s=0.0, ve_kms=3.0)
    tb = _TimeBound(dur, dv, lim, np.zeros(n1), trees=True)
    origin = np.array(
        [[1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 1, 1], [0, 0, 1, 1, 0, 1], [0, 1, 1, 1, 1, 1]], bool
    )
    current = np.array([0, 3, 2, 1])
    trees = tb.priced_trees(origin, current)
    for q in range(_TimeBound.LAMBDAS.size):
        g = tb.g[:, :, q]
        w = np.minimum(g, g.T)
        for row in range(origin.shape[0]):
            members = [int(v) for v in np.flatnonzero(origin[row])]
            assert trees[row, q] == pytest.approx(_kruskal(w, members), rel=1e-12, abs=1e-15)
            rest = [v for v in members if v != current[row]]
            cheapest = min(
                sum(g[a, b] for a, b in itertools.pairwise([int(current[row]), *path]))
                for path in itertools.permutations(rest)
            )
            assert trees[row, q] <= cheapest * (1.0 + 1e-12)


def test_priced_trees_only_tighten_the_time_bound():
    """With the trees the time-priced bound on a label's final mass is never higher (they
    are a second lower bound on the delta-v at each price, and the larger is kept), and on
    manifests whose payloads share planes it is lower; priced only for the groups that can
    reach a threshold, it prunes the same labels."""
    nodes, tab, m0, lim, disp = _tables(1, 5)
    arr = tab.arrays("lb")
    res = search_tables(nodes, arr, m0, lim, disp, tab.leg_lower_bounds())
    plain = _TimeBound(arr["dur"], arr["dv"], lim, disp)
    trees = _TimeBound(arr["dur"], arr["dv"], lim, disp, trees=True)
    tighter = 0
    for layer in res.layers[:-1]:
        a, b = plain.final_mass(nodes, layer), trees.final_mass(nodes, layer)
        assert np.all(b <= a * (1.0 + 1e-12))
        tighter += int(np.sum(b < a * (1.0 - 1e-9)))
        # with a threshold the trees are priced only where the plain bound reaches it: the
        # labels kept are the same, with the same bound
        if layer.size:
            threshold = float(np.median(b))
            gated = trees.final_mass(nodes, layer, threshold)
            assert np.array_equal(gated >= threshold, b >= threshold)
            keep = b >= threshold
            np.testing.assert_array_equal(gated[keep], b[keep])
    assert tighter > 0


def test_a_manifest_without_any_option_expands_nothing():
    """Arrays with no finite option at all (no leg can be flown): no order key, and every
    pair's span is empty."""
    from otvplan.planning import table_search as ts

    dv = np.full((3, 3, 2), np.inf)
    opts = ts._Options.of(dv, mass_after(1.0, dv, 3.0))
    assert opts.key is None
    sp = opts.spans(np.array([0, 1]), np.array([1, 2]), np.array([0.5, 0.5]))
    pi, oi = opts.expand(sp)
    assert list(sp.count) == [0, 0] and pi.size == 0 and oi.size == 0
