"""Continuous-time planning of time-invariant manifests: leg tables, order search, certified gap.

When every orbit of a manifest turns at the same nodal rate (sun-synchronous planes, or any
planes of equal J2 regression) and no target asks for a phase slot, the cost of a leg does
not depend on *when* it is flown, only on how much time it is given: the RAAN gap between two
such planes is fixed, and a drift orbit of duration ``x`` closes it for a delta-v ``dv(x)`` that
falls as ``x`` grows. The planner then needs each leg's cost curve once per pair of orbits, not
once per partial mission, and the split of the mission time between drift legs - the main lever
of an SSO rideshare - becomes a continuous decision.

This module

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
from dataclasses import dataclass, field, replace

import numpy as np

from otvplan.planning import legs as lg
from otvplan.core.orbits import TWO_PI, argument_of_latitude_rate
from otvplan.planning.sequencing import Bound, final_mass_upper_bound

#: Relative optimality gap under which a plan counts as exact.
EXACT_GAP = 1e-3
#: Drift durations tabulated per pair before any refinement (geometric up to the horizon).
INITIAL_SAMPLES = 24
#: Shortest drift duration tabulated [s] (0.05 d); shorter drifts are charged as this one.
MIN_DRIFT_S = 0.05 * 86400.0
#: Two samples closer than this ratio are not bisected further.
MIN_SAMPLE_RATIO = 1.0 + 1e-5
#: Labels kept per layer before the search turns into a beam (memory bound: ~100 bytes each).
MAX_LABELS = 400_000


def is_time_invariant(nodes: lg.Nodes, ctx: lg.LegContext, horizon_s: float) -> bool:
    """Whether every leg's options are the same at every time (up to a burn-point wait).

    True for a chemical tug (no electric engine) whose orbits are all circular, have fixed
    RAANs turning at one rate (the RAAN gaps move by under 1e-9 rad over the horizon) and no
    phase slots.
    """
    if ctx.chemical is None or ctx.electric is not None:
        return False
    if np.any(np.isnan(nodes.raan0)) or np.any(~np.isnan(nodes.slot0[1:])):
        return False
    if np.any(nodes.e >= lg.CIRCULAR_E):
        return False
    span = horizon_s if math.isfinite(horizon_s) else ctx.horizon_s
    spread = float(np.max(nodes.raan_rate) - np.min(nodes.raan_rate))
    return spread * max(span, 1.0) <= 1e-9


# --------------------------------------------------------------------------------------------
# Leg tables
# --------------------------------------------------------------------------------------------


@dataclass
class PairCurve:
    """One pair's drift samples, sorted by drift duration ``x`` [s].

    For each sample: ``rest_s``, the time from the first burn to the arrival [s] (transfers,
    drift, and the wait in the drift orbit for the burn point out of it); ``w2_s``, that wait
    [s]; ``dv`` [km/s] (inf where the drift cannot close the gap); ``phase``, the argument of
    latitude (mod pi) in the departure orbit at which the first burn is made [rad]; ``u_end``,
    the argument of latitude at arrival [rad]. Neither the delta-v nor these times depend on
    when the leg starts or where the tug is in its orbit (the planes turn together; the burn
    points are the planes' line of nodes): only the wait for the first burn point does,
    ``mod(phase - u, pi) / (du/dt)`` for a tug at argument of latitude ``u``.
    """

    x: np.ndarray
    rest_s: np.ndarray
    w2_s: np.ndarray
    dv: np.ndarray
    phase: np.ndarray
    u_end: np.ndarray
    a_d: np.ndarray  # drift orbit radius [km]
    direction: np.ndarray  # +1 / -1: which way the drift orbit's node moves
    half_s: np.ndarray  # half the drift orbit's draconic period: burn points come this often

    def merged(self, other: "PairCurve") -> "PairCurve":
        x = np.concatenate([self.x, other.x])
        order = np.argsort(x, kind="stable")
        return PairCurve(*(np.concatenate([getattr(self, f), getattr(other, f)])[order]
                           for f in PairCurve.__dataclass_fields__))


@dataclass
class LegTables:
    """Options of every ordered pair (j, k) as padded arrays ``[j, k, option]``.

    Option 0 is the direct transfer; options 1.. are drift samples. See :meth:`arrays`.
    """

    n1: int
    direct: dict[str, np.ndarray]  # rest_s, dv, phase, u_end: (n1, n1) arrays
    curves: dict[tuple[int, int], PairCurve] = field(default_factory=dict)
    evaluations: int = 0

    def arrays(self, mode: str) -> dict[str, np.ndarray]:
        """Arrays of shape (n1, n1, X) for ``mode``:

        ``"ub"``: the real options - ``dur`` from the first burn to arrival [s], ``dv``,
        ``phase`` of the first burn (NaN: no plane change, the burn is made at once),
        ``u_end`` (with NaN phase: the advance of the argument of latitude), ``x``;
        ``"lb"``: the relaxation (:func:`_relaxation`) - options 1 + 2 i and 2 + 2 i cover
        every drift duration in the interval ``[x_(i-1), x_i)`` (``x_(-1) = 0``, the last one
        open) with times and delta-v no larger than any in it, without the wait in the drift
        orbit; the wait for the first burn is charged as for the real options (its point does
        not depend on the drift time); the arrival point, which moves a little with the drift
        time, is the range ``u_end`` to ``u_end + u_width`` of the pair's samples (widened by a
        tenth), and the next first burn is charged the least wait over that range.
        """
        width = 1 + max(((c.x.size if mode == "ub" else RELAXED_PER_INTERVAL * (c.x.size + 1))
                         for c in self.curves.values()), default=0)
        shape = (self.n1, self.n1, width)
        out = {"dur": np.full(shape, np.inf), "dv": np.full(shape, np.inf),
               "phase": np.full(shape, np.nan), "u_end": np.zeros(shape),
               "u_width": np.zeros(shape), "x": np.full(shape, np.nan),
               "sample": np.full(shape, -1, int)}
        out["dur"][:, :, 0] = self.direct["rest_s"]
        out["dv"][:, :, 0] = self.direct["dv"]
        out["phase"][:, :, 0] = self.direct["phase"]
        out["u_end"][:, :, 0] = self.direct["u_end"]
        for (j, k), c in self.curves.items():
            if mode == "ub":
                keep = _front(c.rest_s, c.dv)
                sl = slice(1, 1 + keep.size)
                out["dur"][j, k, sl] = c.rest_s[keep]
                out["dv"][j, k, sl] = c.dv[keep]
                out["phase"][j, k, sl] = c.phase[keep]
                out["u_end"][j, k, sl] = c.u_end[keep]
                out["x"][j, k, sl] = c.x[keep]
                out["sample"][j, k, sl] = keep
            else:
                t_lo, dv_lo = _relaxation(c)
                keep = _front(t_lo, dv_lo)
                sl = slice(1, 1 + keep.size)
                out["dur"][j, k, sl] = t_lo[keep]
                out["dv"][j, k, sl] = dv_lo[keep]
                out["x"][j, k, sl] = np.repeat(np.concatenate([[0.0], c.x]),
                                               RELAXED_PER_INTERVAL)[keep]
                out["sample"][j, k, sl] = keep // RELAXED_PER_INTERVAL  # the interval
                # the first burn's point and the arrival point (mod pi) are the planes' node
                # crossings whatever the drift time: charged where all samples agree
                out["phase"][j, k, sl] = _common_phase(c.phase[np.isfinite(c.dv)])
                lo, width = _phase_range(c.u_end[np.isfinite(c.dv)])
                out["u_end"][j, k, sl] = lo
                out["u_width"][j, k, sl] = width
        return out

    def leg_lower_bounds(self) -> np.ndarray:
        """Least delta-v of any leg j -> k at any time (for the branch-and-bound)."""
        lb = np.array(self.direct["dv"], float)
        for (j, k), c in self.curves.items():
            lb[j, k] = min(lb[j, k], float(np.min(c.dv)))
        lb[~np.isfinite(lb)] = 0.0
        np.fill_diagonal(lb, 0.0)
        return lb


#: Relaxed options per interval between two drift samples (see :func:`_relaxation`).
RELAXED_PER_INTERVAL = 3


def _front(dur: np.ndarray, dv: np.ndarray) -> np.ndarray:
    """Indices (by time) of the options no other option beats on both time and delta-v: the
    only ones a search needs when they share the rest of their data."""
    ok = np.flatnonzero(np.isfinite(dur) & np.isfinite(dv))
    order = ok[np.lexsort((dv[ok], dur[ok]))]
    best = np.minimum.accumulate(dv[order])
    prev = np.concatenate([[np.inf], best[:-1]])
    return order[dv[order] < prev - 1e-15]


def _relaxation(c: PairCurve) -> tuple[np.ndarray, np.ndarray]:
    """Relaxed (time, delta-v) options that together lie below a pair's drift leg options.

    Interval i holds the drift durations between samples a = i - 1 and b = i (i = 0: below
    the first sample; the last one above the last sample). Its legs depart the drift orbit at
    one of its burn points, which come every half draconic period h of the drift orbit: at
    sample a's departure (only drifts a few seconds longer than a's, as a's drift ends a
    second before that point: delta-v at least a's less its slope over that span), or at
    least ~h later (0.95 h, as h varies a little with the drift orbit). The cheapest drift
    is non-increasing in the time given (a tug given more time can drift for less and wait in
    the target plane, which turns with it): no leg of the interval is cheaper than b's
    (*monotone* bound). Where the samples show the cost convex in the leg time around the
    interval (secant slopes s_L, s_M, s_R of the intervals left, here and right rising),
    lines through a with slope s_L and through b with slope s_R lie below it; they cross at
    t*, value f*, so the legs departing before t* cost at least f*: options (t_a', f*) and
    (max(t*, t_a'), f_b), with t_a' the earliest departure after a's, off the cost curve by
    the second order of the interval's width. The times exclude the waits for burn points
    (the caller charges the first one). Returns RELAXED_PER_INTERVAL options per interval.
    """
    t_core = c.rest_s - c.w2_s
    f = c.dv
    m = f.size
    finite = np.isfinite(f) & np.isfinite(t_core)
    env = np.minimum.accumulate(np.where(finite, f, np.inf))
    t_from = np.minimum.accumulate(np.where(finite, t_core, np.inf)[::-1])[::-1]
    # option 0: depart with sample a (interval i >= 1)
    t0 = np.full(m + 1, np.inf)
    f0 = np.full(m + 1, np.inf)
    # options 1, 2: depart later: monotone bound, tightened where convex
    starts = np.concatenate([[0.0], t_from])  # interval i starts at sample i - 1
    ends = np.concatenate([env, [env[-1]]])  # ... and ends at sample i
    t1, f1 = starts.copy(), ends.copy()
    t2, f2 = starts.copy(), ends.copy()
    if m >= 2:
        a = np.arange(0, m - 1)
        i = a + 1
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(finite[a] & finite[a + 1], (f[a + 1] - f[a]) / (c.x[a + 1] - c.x[a]),
                             0.0)
        near = np.maximum(np.minimum(env[a], f[a]) - 2.0 * np.abs(slope) * (c.w2_s[a] + 1.0),
                          ends[a + 1])
        t0[i] = np.where(finite[a], c.rest_s[a], np.inf)
        f0[i] = np.where(finite[a], near, np.inf)
        h = 0.95 * np.fmin(c.half_s[a], c.half_s[a + 1])
        later = np.where(finite[a] & np.isfinite(h), c.rest_s[a] + h, starts[i])
        later = np.maximum(later, starts[i])
        t1[i] = later
        t2[i] = later
        last = m  # beyond the last sample: after its departure
        if finite[m - 1] and np.isfinite(c.half_s[m - 1]):
            t1[last] = t2[last] = max(starts[last], c.rest_s[m - 1] + 0.95 * c.half_s[m - 1])
            t0[last], f0[last] = c.rest_s[m - 1], f[m - 1]
    if m >= 4:
        with np.errstate(divide="ignore", invalid="ignore"):
            sec = np.diff(f) / np.diff(t_core)  # sec[a]: secant of [a, a + 1]
            width = np.diff(t_core)
            a = np.arange(1, m - 2)  # intervals [a, a + 1] with a neighbour on each side
            sl, sm, sr = sec[a - 1], sec[a], sec[a + 1]
            ta, tb, fa, fb = t_core[a], t_core[a + 1], f[a], f[a + 1]
            ok = (np.isfinite(sl) & np.isfinite(sr) & (sl <= sm) & (sm <= sr) & (sl < sr)
                  & (width[a] > 0) & finite[a] & finite[a + 1] & finite[a - 1]
                  & finite[a + 2] & (t_from[a] >= ta) & (env[a + 1] >= fb))
            ts = (fb - fa + sl * ta - sr * tb) / (sl - sr)
            ts = np.clip(np.where(ok, ts, ta), ta, tb)
            fs = np.maximum(fa + sl * (ts - ta), fb)
        i = a + 1
        f1[i] = np.where(ok, fs, f1[i])
        t2[i] = np.where(ok, np.maximum(ts, t2[i]), t2[i])
    return (np.column_stack([t0, t1, t2]).ravel(), np.column_stack([f0, f1, f2]).ravel())


def _phase_range(values: np.ndarray) -> tuple[float, float]:
    """(start, width) [rad] of the arc (mod pi) holding sampled phases, widened by a tenth of
    its width and 1e-6 rad on each side; (NaN, 0) when there are none."""
    v = np.mod(np.asarray(values, float), np.pi)
    if v.size == 0:
        return math.nan, 0.0
    d = np.mod(v - v[0] + 0.5 * np.pi, np.pi) - 0.5 * np.pi  # offsets from the first
    margin = 0.1 * float(np.ptp(d)) + 1e-6
    lo, width = float(v[0] + d.min()) - margin, float(np.ptp(d)) + 2.0 * margin
    if width >= np.pi:
        return math.nan, 0.0
    return float(np.mod(lo, np.pi)), width


def _common_phase(values: np.ndarray) -> float:
    """The common value (mod pi) of sampled phases, or NaN where they differ."""
    v = np.mod(np.asarray(values, float), np.pi)
    if v.size == 0 or np.any(np.isnan(v)):
        return math.nan
    d = np.abs(np.mod(v - v[0] + 0.5 * np.pi, np.pi) - 0.5 * np.pi)
    return float(v[0]) if float(np.max(d)) <= 1e-9 else math.nan


def _evaluate(nodes: lg.Nodes, ctx: lg.LegContext, rows_j, rows_k, durations=None,
              bracket=None, orbits=None, snap: bool = True):
    """Evaluate legs at a reference state (t = 0, u = 0, unit mass): the direct transfer of
    each row (``durations`` None) or the drift leg of each row at its own drift duration
    (``bracket``/``orbits``: see :func:`otvplan.planning.legs.expand`).

    A drift that ends between two burn points waits in the drift orbit for the next one;
    with ``snap`` the drift is lengthened to end a second before it instead (same orbit, up
    to three corrections), which costs less for the same arrival, kept when no worse.

    Returns a dict of per-row arrays ``x`` (the drift duration used), ``rest_s``, ``w2_s``,
    ``dv``, ``phase``, ``u_end``, ``a_d``, ``direction`` (see :class:`PairCurve`); inf
    delta-v where the option does not exist. One vectorised call.
    """
    j = np.asarray(rows_j, int)
    k = np.asarray(rows_k, int)
    P = j.size
    drift = durations is not None
    c = replace(ctx, drift_durations_s=np.zeros(0))
    raan = np.mod(nodes.raan0[j], TWO_PI)
    opts = lg.expand(nodes, c, j, k, np.zeros(P), np.ones(P), raan, np.zeros(P),
                     lg.DriftCache(), prune=False, durations=durations,
                     drift_bracket=bracket, drift_orbits=orbits)
    out = {"x": np.full(P, np.nan) if durations is None else np.asarray(durations, float),
           "rest_s": np.full(P, np.inf), "w2_s": np.zeros(P), "dv": np.full(P, np.inf),
           "phase": np.full(P, np.nan), "u_end": np.zeros(P), "a_d": np.full(P, np.nan),
           "direction": np.zeros(P), "half_s": np.full(P, np.nan)}
    want = lg.DRIFT if drift else lg.DIRECT
    sel = np.nonzero((opts.base == want) & (opts.variant == lg.NO_PHASING))[0]
    which = opts.which
    udot_j = nodes.u_rate[j]
    for w in np.unique(which[sel]):
        o = sel[which[sel] == w]
        p = opts.pair[o]
        d = opts.blocks[w].base.detail
        first = d.first if drift else d.transfer
        w1 = first.tb1[p]
        plane = first.theta[p] >= lg.COPLANAR_RAD
        if drift:
            out["w2_s"][p] = d.second.tb1[p] - d.t_d1[p]
            out["a_d"][p] = d.a_d[p]
            out["direction"][p] = d.direction[p]
            out["half_s"][p] = np.pi / np.asarray(argument_of_latitude_rate(
                d.a_d[p], 0.0, d.i_d[p]), float)
        out["rest_s"][p] = opts.t_end[o] - w1
        out["dv"][p] = opts.dv[o]
        out["phase"][p] = np.where(plane, np.mod(udot_j[p] * w1, np.pi), np.nan)
        # with a plane change the arrival point is fixed (mod pi); without, it moves with u
        out["u_end"][p] = np.mod(opts.u_end[o], TWO_PI)
    for _ in range(3 if drift and snap else 0):
        ok = np.isfinite(out["dv"]) & (out["w2_s"] > 2.0)
        if not np.any(ok):
            break
        x2 = out["x"] + np.where(ok, out["w2_s"] - 1.0, 0.0)
        second = _evaluate(nodes, ctx, j, k, x2, orbits=(np.where(ok, out["a_d"], ctx.a_drift_min),
                                                         np.where(ok, out["direction"], 1.0)),
                           snap=False)
        better = ok & (second["dv"] <= out["dv"]) & (second["rest_s"] <= out["rest_s"] + 1e-3)
        out = {key: np.where(better, second[key], out[key]) for key in out}
    return out


#: Drift legs evaluated at once when tables are built (bounds the memory of large manifests).
EVAL_BLOCK = 8192
#: Leg tables kept per process, by geometry (a sweep's cases that change neither the orbits
#: nor the drift band nor the horizon share them, refinements included).
_TABLES: dict[tuple, LegTables] = {}
TABLES_KEPT = 8


def _geometry_key(nodes: lg.Nodes, ctx: lg.LegContext, samples: int, horizon: float) -> tuple:
    arrays = (nodes.a, nodes.e, nodes.i, nodes.argp, nodes.raan0, nodes.slot0)
    return (tuple(np.asarray(a, float).tobytes() for a in arrays), ctx.a_drift_min,
            ctx.a_drift_max, ctx.mu, ctx.r_eq, ctx.j2, samples, horizon)


def build_tables(nodes: lg.Nodes, ctx: lg.LegContext, samples: int = INITIAL_SAMPLES,
                 horizon_s: float | None = None) -> LegTables:
    """Tabulate every ordered pair's direct leg and its drift leg at ``samples`` durations
    (geometric from :data:`MIN_DRIFT_S` to the horizon), in one vectorised evaluation each;
    or return the tables of the same geometry built earlier in this process (the delta-v
    and times of a leg do not depend on the tug's mass or engine)."""
    horizon = float(horizon_s if horizon_s is not None and math.isfinite(horizon_s)
                    else ctx.horizon_s)
    key = _geometry_key(nodes, ctx, samples, horizon)
    tab = _TABLES.get(key)
    if tab is None:
        tab = _build_tables(nodes, ctx, samples, horizon)
        if len(_TABLES) >= TABLES_KEPT:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = tab
    return tab


def _build_tables(nodes: lg.Nodes, ctx: lg.LegContext, samples: int,
                  horizon: float) -> LegTables:
    n1 = nodes.n
    jj, kk = np.meshgrid(np.arange(n1), np.arange(1, n1), indexing="ij")
    jj, kk = jj.ravel(), kk.ravel()
    sel = jj != kk
    jj, kk = jj[sel], kk[sel]
    x = np.geomspace(MIN_DRIFT_S, max(horizon, 2.0 * MIN_DRIFT_S), max(2, samples))
    direct = _evaluate(nodes, ctx, jj, kk)
    tab = LegTables(n1=n1, direct={
        "rest_s": np.full((n1, n1), np.inf), "dv": np.full((n1, n1), np.inf),
        "phase": np.full((n1, n1), np.nan), "u_end": np.zeros((n1, n1))})
    for key in tab.direct:
        tab.direct[key][jj, kk] = direct[key]
    # drift legs only between different planes (a RAAN gap to close)
    gap = np.abs(np.mod(nodes.raan0[kk] - nodes.raan0[jj] + np.pi, TWO_PI) - np.pi)
    pairs = np.nonzero(gap > 1e-6)[0]
    if pairs.size:
        rj = np.repeat(jj[pairs], x.size)
        rk = np.repeat(kk[pairs], x.size)
        rx = np.tile(x, pairs.size)
        # in blocks of rows: the drift-orbit search holds ~100 candidates per row
        parts = [_evaluate(nodes, ctx, rj[b:b + EVAL_BLOCK], rk[b:b + EVAL_BLOCK],
                           rx[b:b + EVAL_BLOCK]) for b in range(0, rj.size, EVAL_BLOCK)]
        ev = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        ev = {key: val.reshape(pairs.size, x.size) for key, val in ev.items()}
        tab.evaluations = rj.size
        for n, p in enumerate(pairs):
            if np.any(np.isfinite(ev["dv"][n])):
                tab.curves[(int(jj[p]), int(kk[p]))] = PairCurve(
                    *(ev[f][n] for f in PairCurve.__dataclass_fields__))
    return tab


def add_samples(tab: LegTables, nodes: lg.Nodes, ctx: lg.LegContext,
                wanted: dict[tuple[int, int], set[float]]) -> int:
    """Evaluate the drift legs of the pairs in ``wanted`` at the new durations and merge them
    into the tables, in one vectorised evaluation. Each new drift orbit is searched between
    the orbits of the neighbouring samples (widened by 2 % of the altitude band)."""
    rows = []
    for pair, xs in wanted.items():
        c = tab.curves.get(pair)
        if c is None:
            continue
        for x in sorted(xs):
            if not np.any(np.isclose(c.x, x, rtol=1e-9, atol=0.0)):
                rows.append((pair[0], pair[1], x))
    if not rows:
        return 0
    rj = np.array([r[0] for r in rows], int)
    rk = np.array([r[1] for r in rows], int)
    rx = np.array([r[2] for r in rows], float)
    lo = np.empty(rx.size)
    hi = np.empty(rx.size)
    widen = 0.02 * (ctx.a_drift_max - ctx.a_drift_min)
    for n, (j, k, x) in enumerate(rows):
        c = tab.curves[(j, k)]
        i = int(np.searchsorted(c.x, x))
        near = c.a_d[max(i - 1, 0):i + 1]
        near = near[np.isfinite(near)]
        if near.size:
            lo[n], hi[n] = float(near.min()) - widen, float(near.max()) + widen
        else:
            lo[n], hi[n] = ctx.a_drift_min, ctx.a_drift_max
    ev = _evaluate(nodes, ctx, rj, rk, rx, bracket=(lo, hi))
    tab.evaluations += len(rows)
    for pair in {(int(a), int(b)) for a, b in zip(rj, rk)}:
        sel = (rj == pair[0]) & (rk == pair[1])
        new = PairCurve(*(ev[f][sel] for f in PairCurve.__dataclass_fields__))
        tab.curves[pair] = tab.curves[pair].merged(new)
    return len(rows)


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

    def take(self, idx) -> "TableLayer":
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


def _dominance(group: np.ndarray, u: np.ndarray, uw: np.ndarray, t: np.ndarray,
               m: np.ndarray, half_period: np.ndarray) -> np.ndarray:
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

    def __init__(self, dur, dv, lim: Limits, disposal_dv):
        ok = np.isfinite(dur) & np.isfinite(dv)
        d = np.where(ok, dur, 0.0)
        v = np.where(ok, dv, np.inf)
        # g[j, k, q]: least priced cost of a leg j -> k
        self.g = np.min(v[..., None] + d[..., None] * self.LAMBDAS, axis=2)
        self.horizon = lim.horizon_s
        self.ve = lim.ve_kms
        self.disposal = float(np.min(disposal_dv)) if np.size(disposal_dv) else 0.0

    def final_mass(self, nodes: lg.Nodes, layer: TableLayer) -> np.ndarray:
        L = layer.size
        n1 = nodes.n
        rem = np.zeros((L, n1), bool)
        for k in range(1, n1):
            word, bit = k // 64, np.uint64(1) << np.uint64(k % 64)
            rem[:, k] = (layer.mask[:, word] & bit) == 0
        origin = rem.copy()
        origin[np.arange(L), layer.j] = True
        total = np.zeros((L, self.LAMBDAS.size))
        # per label, the origins' distinct patterns are few: group labels by origin set
        keys, inverse = np.unique(np.packbits(origin, axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for q in range(keys.shape[0]):
            sel = inverse == q
            o = origin[np.argmax(sel)]
            r = rem[np.argmax(sel)]
            g = np.where(o[:, None, None], self.g, np.inf)  # (origin, target, lambda)
            g[np.arange(n1), np.arange(n1)] = np.inf  # no leg from a target to itself
            best = g.min(axis=0)  # (target, lambda)
            best = np.where(r[:, None] & np.isfinite(best), best, 0.0)
            total[sel] = best.sum(axis=0)[None, :]
        left = np.maximum(self.horizon - layer.t, 0.0)
        d_min = np.max(total - self.LAMBDAS[None, :] * left[:, None], axis=1)
        d_min = np.maximum(d_min, 0.0) + self.disposal
        return np.exp(-d_min / self.ve) * (layer.m - layer.remaining_payload_mass)


#: Drift durations tabulated per pair at first for manifests of more than
#: BEAM_SAMPLES_ABOVE orbits (the tables of 100 payloads would otherwise take most of a minute).
BEAM_SAMPLES = 8
BEAM_SAMPLES_ABOVE = 40
#: Labels per layer once a search is past its deadline.
LATE_BEAM = 32
#: Candidate options generated at once (memory: about 100 bytes each).
CHUNK = 1_000_000


def _expand_chunk(nodes, cur, rows, ks, bits, dur, dv, decay, phase, u_end, u_width,
                  deadline, lim, n, disposal_dv, incumbent):
    """Every (label, next payload, option) of labels ``rows`` that meets the limits (and, for
    the last delivery, ends no lighter than ``incumbent``), as flat arrays."""
    lab = np.repeat(rows, n)
    kk = np.tile(ks, rows.size)
    free = np.ones(lab.size, bool)
    for k in ks:
        word, bit = bits[k]
        sel = kk == k
        free[sel] = (cur.mask[lab[sel], word] & bit) == 0
    lab, kk = lab[free], kk[free]
    jj = cur.j[lab]
    pi, oi = np.nonzero(np.isfinite(dv[jj, kk, :]))
    parent = lab[pi]
    j_par = jj[pi]
    k_new = kk[pi]
    ph = phase[j_par, k_new, oi]
    u_par, w_par = cur.u[parent], cur.uw[parent]
    # wait for the first burn point: the least over the label's range of phases
    ahead = np.mod(np.nan_to_num(ph) - np.nan_to_num(u_par), np.pi)
    wait = np.where(np.isnan(ph) | np.isnan(u_par), 0.0,
                    np.where(ahead > np.pi - w_par, 0.0, np.maximum(ahead - w_par, 0.0))
                    / nodes.u_rate[j_par])
    wait = np.where(np.isnan(ph) | np.isnan(u_par), 0.0, wait)
    t_end = cur.t[parent] + wait + dur[j_par, k_new, oi]
    coplanar = np.isnan(ph)
    u_arr = np.where(coplanar, u_par, 0.0) + u_end[j_par, k_new, oi]
    w_arr = np.where(coplanar, w_par, u_width[j_par, k_new, oi])
    t_prev = np.where(cur.j[parent] == 0, -np.inf, cur.t[parent])
    t_del = np.maximum(t_end, t_prev + lim.separation_s)
    m_after = cur.m[parent] * decay[j_par, k_new, oi] - nodes.mass[k_new]
    rem = cur.remaining_payload_mass[parent] - nodes.mass[k_new]
    keep = (m_after > 0.0) & (t_del <= deadline[k_new] + 1e-6)
    if lim.enforce_propellant:
        keep &= m_after - rem - lim.dry_kg >= lim.reserve_kg - 1e-9
    if disposal_dv is not None:
        fin = m_after * np.exp(-disposal_dv[k_new] / lim.ve_kms)
        if lim.enforce_propellant:
            keep &= fin - lim.dry_kg >= lim.reserve_kg - 1e-9
        if math.isfinite(incumbent):
            keep &= fin >= incumbent * (1.0 - 1e-12) - 1e-9
    idx = np.nonzero(keep)[0]
    u_del = np.mod(u_arr[idx] + nodes.u_rate[k_new[idx]] * (t_del[idx] - t_end[idx]), TWO_PI)
    return {"parent": parent[idx], "k": k_new[idx], "t": t_del[idx], "u": u_del,
            "uw": w_arr[idx],
            "m": m_after[idx], "option": oi[idx], "rem": rem[idx]}


def search_tables(nodes: lg.Nodes, arrays: dict[str, np.ndarray], m0: float, lim: Limits,
                  disposal_dv: np.ndarray, leg_lb: np.ndarray, incumbent: float = -math.inf,
                  max_labels: int = MAX_LABELS, deadline_s: float = math.inf) -> TableSearch:
    """Label-setting search over every order and every tabulated option.

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
    bound = Bound(leg_lb=leg_lb, disposal_dv=disposal_dv, ve_kms=lim.ve_kms,
                  incumbent=incumbent)
    first = TableLayer(mask=np.zeros((1, W), np.uint64), j=np.zeros(1, int), t=np.zeros(1),
                       u=np.array([float(nodes.slot0[0])]), uw=np.zeros(1),
                       m=np.array([m0], float),
                       parent=np.array([-1]), option=np.array([-1]),
                       remaining_payload_mass=np.array([float(nodes.mass[1:].sum())]))
    layers = [first]
    truncated = False
    labels = 1
    ks = np.arange(1, n1)
    bits = [((k // 64), np.uint64(1) << np.uint64(k % 64)) for k in range(n1)]
    deadline = np.minimum(nodes.deadline, lim.horizon_s) if lim.enforce_time else np.full(
        n1, np.inf)
    decay = np.exp(-dv / lim.ve_kms)
    half_period = np.pi / nodes.u_rate
    time_bound = _TimeBound(dur, dv, lim, disposal_dv) if math.isfinite(lim.horizon_s) else None
    for depth in range(n):
        cur = layers[-1]
        L = cur.size
        if L == 0:
            break
        last = depth == n - 1
        parts = []
        # candidates (label x payload x option) in chunks of labels, filtered as they come
        per_label = max(1, (n - depth) * dur.shape[2])
        step = max(1, CHUNK // per_label)
        for c0 in range(0, L, step):
            parts.append(_expand_chunk(nodes, cur, np.arange(c0, min(L, c0 + step)), ks, bits,
                                       dur, dv, decay, phase, u_end, u_width, deadline,
                                       lim, n,
                                       disposal_dv if last else None, incumbent))
        cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        masks = cur.mask[cat["parent"]].copy()
        kn = cat["k"]
        for k in np.unique(kn):
            word, bit = bits[int(k)]
            masks[kn == k, word] |= bit
        new = TableLayer(mask=masks, j=kn, t=cat["t"], u=cat["u"], uw=cat["uw"], m=cat["m"],
                         parent=cat["parent"], option=cat["option"],
                         remaining_payload_mass=cat["rem"])
        if last:  # complete plans: no dominance needed, keep the best for refinement
            fin = new.m * np.exp(-disposal_dv[new.j] / lim.ve_kms)
            order = np.argsort(-fin, kind="stable")[:max(REFINE_PATHS, 1)]
            new = new.take(np.sort(order))
        elif new.size:
            if W == 1:
                group = new.mask[:, 0].view(np.int64) * n1 + new.j
            else:
                _, group = np.unique(np.column_stack([new.mask.view(np.int64), new.j]),
                                     axis=0, return_inverse=True)
                group = group.reshape(-1)
            new = new.take(_dominance(group, new.u, new.uw, new.t, new.m,
                                      half_period[new.j]))
            if new.size and math.isfinite(incumbent):
                ub = final_mass_upper_bound(nodes, new, bound)
                if time_bound is not None:
                    ub = np.minimum(ub, time_bound.final_mass(nodes, new))
                new = new.take(np.nonzero(ub >= incumbent * (1.0 - 1e-12) - 1e-9)[0])
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
        finals_m = last.m * np.exp(-disposal_dv[last.j] / lim.ve_kms)
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
#: Most relaxed plans whose drift intervals are split per refinement.
REFINE_PATHS = 2000


def root_bound(nodes: lg.Nodes, tab: LegTables, m0: float, lim: Limits,
               disposal_dv: np.ndarray) -> float:
    """An upper bound on the final mass of every plan, from the start alone: the spanning
    tree and per-target bounds of :func:`otvplan.planning.sequencing.final_mass_upper_bound` and the
    time-priced bound of :class:`_TimeBound`, on the relaxed options."""
    W = (nodes.n + 63) // 64
    root = TableLayer(mask=np.zeros((1, W), np.uint64), j=np.zeros(1, int), t=np.zeros(1),
                      u=np.zeros(1), uw=np.zeros(1), m=np.array([m0], float),
                      parent=np.array([-1]), option=np.array([-1]),
                      remaining_payload_mass=np.array([float(nodes.mass[1:].sum())]))
    bound = Bound(leg_lb=tab.leg_lower_bounds(), disposal_dv=disposal_dv, ve_kms=lim.ve_kms,
                  incumbent=-math.inf)
    ub = float(final_mass_upper_bound(nodes, root, bound)[0])
    if math.isfinite(lim.horizon_s):
        arr = tab.arrays("lb")
        ub = min(ub, float(_TimeBound(arr["dur"], arr["dv"], lim, disposal_dv)
                           .final_mass(nodes, root)[0]))
    return ub


def optimise(nodes: lg.Nodes, ctx: lg.LegContext, m0: float, lim: Limits,
             disposal_dv: np.ndarray, gap: float = EXACT_GAP, deadline_s: float = math.inf,
             samples: int = INITIAL_SAMPLES, max_iterations: int = 40,
             progress=None, exact: bool = True, beam_labels: int = 2000) -> Schedule | None:
    """Best order and drift durations with a certified bound, refining the tables until the
    relative propellant gap is at most ``gap`` or ``deadline_s`` (a ``time.perf_counter``
    value) passes. None when no complete plan fits the limits in the tables.

    Each round searches the real options (the incumbent) and the relaxation (the bound),
    then bisects every drift interval used by a relaxed plan that beats the incumbent by
    more than a tenth of the current gap, and the intervals next to the incumbent's drift
    durations. With ``exact`` False (large manifests) each round is a beam search of
    ``beam_labels`` labels per layer refined around the incumbent's drift durations, and the
    bound is :func:`root_bound`.
    """
    t_start = time.perf_counter()
    if not exact and nodes.n > BEAM_SAMPLES_ABOVE:  # very large manifests: fewer first
        samples = min(samples, BEAM_SAMPLES)  # samples, refined around the incumbent
    tab = build_tables(nodes, ctx, samples, lim.horizon_s)
    payload_kg = float(nodes.mass[1:].sum())
    it = 0
    labels = 0
    best: tuple[float, list] | None = None
    bound_mass = math.inf
    bound_valid = False
    timed_out = False
    rel_gap = math.inf

    # a quick beam over the first tables gives the branch-and-bound its first incumbent
    arr_u = tab.arrays("ub")
    best = _better(best, search_tables(nodes, arr_u, m0, lim, disposal_dv,
                                       tab.leg_lower_bounds(),
                                       max_labels=BEAM_LABELS if exact else beam_labels,
                                       deadline_s=deadline_s), tab, arr_u)
    if not exact:
        return _optimise_beam(nodes, ctx, m0, lim, disposal_dv, tab, best, gap, deadline_s,
                              progress, beam_labels, t_start, max_iterations)
    while True:
        it += 1
        leg_lb = tab.leg_lower_bounds()
        arr_u = tab.arrays("ub")
        incumbent = best[0] if best else -math.inf
        res_u = search_tables(nodes, arr_u, m0, lim, disposal_dv, leg_lb, incumbent=incumbent,
                              deadline_s=deadline_s)
        labels += res_u.labels
        best = _better(best, res_u, tab, arr_u)
        if best is None:
            return None
        arr_l = tab.arrays("lb")
        res_l = search_tables(nodes, arr_l, m0, lim, disposal_dv, leg_lb,
                              incumbent=best[0], deadline_s=deadline_s)
        labels += res_l.labels
        bound_valid = not res_l.truncated and not res_u.truncated
        bound_mass = max(res_l.best_mass, best[0])
        if not bound_valid:  # a search was cut short (time limit, label cap): the start's
            bound_mass = max(root_bound(nodes, tab, m0, lim, disposal_dv), best[0])
            bound_valid = True  # bounds stay valid, if weaker
        rel_gap = _round_done(progress, it, m0 - payload_kg, best[0], bound_mass, t_start)
        if rel_gap <= gap or it >= max_iterations or res_l.truncated or res_u.truncated:
            timed_out = res_l.truncated or res_u.truncated
            break
        if time.perf_counter() >= deadline_s:
            timed_out = True
            break
        # the drift intervals in use: by relaxed plans that beat the incumbent by more than a
        # tenth of the gap, and next to the incumbent's drift durations
        used: dict[tuple[int, int], list[int]] = {}
        cand = np.nonzero(res_l.finals_m > best[0] + 0.1 * (bound_mass - best[0]))[0]
        cand = cand[np.argsort(-res_l.finals_m[cand], kind="stable")][:REFINE_PATHS]
        if cand.size:
            paths = path_options(res_l, cand).reshape(-1, 3)
            paths = np.unique(paths[paths[:, 2] > 0], axis=0)
            for j, k, o in paths:
                used.setdefault((int(j), int(k)), []).append(int(arr_l["sample"][j, k, o]))
        for j, k, code, x, _a, _d in best[1]:
            if code == 1:
                c = tab.curves[(j, k)]
                i = int(np.argmin(np.abs(c.x - x)))
                used.setdefault((j, k), []).extend([i, i + 1])
        # bisect every interval of each such pair between the first and last in use, and
        # one more on each side: the region where the optimum's drift times lie
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
                            float(c.x[i - 1]) * (float(c.x[i]) / float(c.x[i - 1])) ** f)
        if add_samples(tab, nodes, ctx, wanted) == 0:
            break
    stats = {"table_evaluations": tab.evaluations, "refinements": it,
             "optimality_gap": rel_gap}
    return Schedule(legs=best[1], final_mass_kg=best[0], bound_final_mass_kg=bound_mass,
                    bound_valid=bound_valid, iterations=it, evaluations=tab.evaluations,
                    labels=labels, timed_out=timed_out, stats=stats)



def _round_done(progress, it: int, propellant_and_final_kg: float, best_mass: float,
                bound_mass: float, t_start: float) -> float:
    """The relative gap after a refinement round, reported to ``progress`` if given.

    ``propellant_and_final_kg`` is the initial mass less the payloads: less a final mass it
    gives the propellant used."""
    prop_best = propellant_and_final_kg - best_mass
    prop_lb = propellant_and_final_kg - bound_mass
    rel_gap = (prop_best - prop_lb) / max(prop_best, 1e-12)
    if progress is not None:
        progress({"iteration": it, "propellant_kg": prop_best, "bound_kg": prop_lb,
                  "gap": rel_gap, "elapsed_s": time.perf_counter() - t_start})
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
            legs_.append((int(j), int(k), 1, float(c.x[q]), float(c.a_d[q]),
                          float(c.direction[q])))
    return (res.best_mass, legs_)


def _optimise_beam(nodes, ctx, m0, lim, disposal_dv, tab, best, gap, deadline_s, progress,
                   beam_labels, t_start, max_iterations) -> Schedule | None:
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
        res = search_tables(nodes, arr_u, m0, lim, disposal_dv,
                            tab.leg_lower_bounds(), max_labels=beam_labels,
                            deadline_s=deadline_s)
        labels += res.labels
        new = _better(best, res, tab, arr_u)
        if new is best or new[0] <= best[0] * (1.0 + 1e-6):
            best = new
            break
        best = new
    stats = {"table_evaluations": tab.evaluations, "refinements": it,
             "optimality_gap": rel_gap}
    return Schedule(legs=best[1], final_mass_kg=best[0], bound_final_mass_kg=bound_mass,
                    bound_valid=True, iterations=it, evaluations=tab.evaluations,
                    labels=labels, timed_out=timed_out, stats=stats)
