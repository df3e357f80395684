"""Leg tables of a time-invariant manifest: each ordered pair of orbits' leg cost as a function
of the time it is given, and the relaxation that bounds every continuous schedule.

When every orbit turns at the same nodal rate and no target asks for a phase slot, a leg's
cost does not depend on *when* it is flown, only on how much time it is given. This module
tabulates, once per ordered pair of orbits (j, k), the direct transfer and the cheapest drift
leg at a set of drift durations (:class:`LegTables`, built with the same
:func:`otvplan.planning.legs.expand` the plan builder uses, so table and plan cannot
disagree), refines them where asked (:func:`add_samples`), and offers the searches either the
samples themselves (plans that can be flown) or a *relaxation* (:func:`_relaxation`): between
two samples, options no slower and no dearer than any duration in the interval (the cheapest
drift is non-increasing in the time given; where the samples are convex, secant lines tighten
this to second order), so that the relaxation's best plan bounds every continuous plan.
Tables are kept per process by geometry (a sweep's cases that change only masses or engines
share them). Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace

import numpy as np

from otvplan.core.orbits import TWO_PI, argument_of_latitude_rate
from otvplan.planning import legs as lg

#: Drift durations tabulated per pair before any refinement (geometric up to the horizon).
INITIAL_SAMPLES = 24
#: Shortest drift duration tabulated [s] (0.05 d); shorter drifts are charged as this one.
MIN_DRIFT_S = 0.05 * 86400.0


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

    def merged(self, other: PairCurve) -> PairCurve:
        x = np.concatenate([self.x, other.x])
        order = np.argsort(x, kind="stable")
        return PairCurve(
            *(
                np.concatenate([getattr(self, f), getattr(other, f)])[order]
                for f in PairCurve.__dataclass_fields__
            )
        )


@dataclass
class LegTables:
    """Options of every ordered pair (j, k) as padded arrays ``[j, k, option]``.

    Option 0 is the direct transfer; options 1.. are drift samples. See :meth:`arrays`.
    """

    n1: int
    direct: dict[str, np.ndarray]  # rest_s, dv, phase, u_end: (n1, n1) arrays
    curves: dict[tuple[int, int], PairCurve] = field(default_factory=dict)
    evaluations: int = 0
    #: started from a manifest's kept tables (:func:`keep_manifest`), not the first samples
    from_kept: bool = False
    #: with ``from_kept``: the delivery order (targets 1..n) of the plan that kept them
    kept_order: np.ndarray | None = None
    #: each pair's key in the process-wide pair cache (refinements are written back there)
    keys: dict[tuple[int, int], bytes] = field(default_factory=dict)
    #: the key of the whole manifest's geometry (its refined tables are kept under it)
    manifest: bytes = b""
    #: per mode: the curves the arrays were built from (kept alive, so their ids identify
    #: them) and the arrays, until a curve changes
    _built: dict = field(default_factory=dict, repr=False, compare=False)
    #: per pair, its curve's least delta-v (inf without a curve), once asked for; kept up to
    #: date by :meth:`set_curve` (a large manifest has ten thousand curves)
    _curve_min: np.ndarray | None = field(default=None, repr=False, compare=False)

    def set_curve(self, pair: tuple[int, int], curve: PairCurve) -> None:
        """Replace a pair's curve (a refinement)."""
        self.curves[pair] = curve
        if self._curve_min is not None:
            self._curve_min[pair] = float(np.min(curve.dv)) if curve.dv.size else np.inf

    def arrays(self, mode: str) -> dict[str, np.ndarray]:
        """Arrays of shape (n1, n1, X) for ``mode`` (read-only; built again only after the
        curves change):

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
        key = tuple((pair, id(c)) for pair, c in self.curves.items())
        got = self._built.get(mode)
        if got is not None and got[0] == key:
            return got[2]
        width = self._width(mode)
        if (
            got is not None
            and [q for q, _ in got[0]] == [q for q, _ in key]
            and (got[2]["dur"].shape[2] >= width)
        ):
            # only some curves changed (a refinement): the arrays copied, those pairs
            # written again (a large manifest's arrays took most of a second to build)
            out = {name: a.copy() for name, a in got[2].items()}
            before = dict(got[0])
            changed = [
                (pair, c)
                for (pair, c_id), c in zip(key, self.curves.values(), strict=True)
                if before[pair] != c_id
            ]
            self._fill_pairs(out, mode, changed, blank=True)
        else:  # room for refinements before the arrays must be built again
            out = self._build_arrays(mode, 8 * math.ceil(2.0 * width / 8))
        for a in out.values():
            a.setflags(write=False)
        self._built[mode] = (key, tuple(self.curves.values()), out)
        return out

    def _width(self, mode: str) -> int:
        """Options per pair the arrays of ``mode`` need: the direct leg and the drift
        samples (or their relaxed options) of the pair with the most."""
        return 1 + max(
            (
                (c.x.size if mode == "ub" else RELAXED_PER_INTERVAL * (c.x.size + 1))
                for c in self.curves.values()
            ),
            default=0,
        )

    def _build_arrays(self, mode: str, width: int) -> dict[str, np.ndarray]:
        """:meth:`arrays`, built."""
        shape = (self.n1, self.n1, width)
        out = {
            "dur": np.full(shape, np.inf),
            "dv": np.full(shape, np.inf),
            "phase": np.full(shape, np.nan),
            "u_end": np.zeros(shape),
            "u_width": np.zeros(shape),
            "x": np.full(shape, np.nan),
            "sample": np.full(shape, -1, int),
        }
        out["dur"][:, :, 0] = self.direct["rest_s"]
        out["dv"][:, :, 0] = self.direct["dv"]
        out["phase"][:, :, 0] = self.direct["phase"]
        out["u_end"][:, :, 0] = self.direct["u_end"]
        self._fill_pairs(out, mode, list(self.curves.items()), blank=False)
        return out

    def _fill_pairs(self, out: dict[str, np.ndarray], mode: str, items, blank: bool) -> None:
        """Write the drift options of the pairs ``items`` ((j, k), curve) into ``out`` after
        each pair's direct leg (option 0), in one scatter per array (a large manifest has
        ten thousand pairs); with ``blank`` their old options are cleared first."""
        if not items:
            return
        rows = []
        for pair, c in items:
            at = (mode, self.keys.get(pair, pair))
            row = _OPTION_ROWS.get(at)
            if row is None or row[0] is not c:
                row = (c, _pair_options(mode, c))
                _OPTION_ROWS[at] = row
            rows.append(row[1])
        jj = np.array([pair[0] for pair, _ in items])
        kk = np.array([pair[1] for pair, _ in items])
        if blank:
            for name, value in _BLANK.items():
                out[name][jj, kk, 1:] = value
        count = np.array([row["dur"].size for row in rows])
        at_j, at_k = np.repeat(jj, count), np.repeat(kk, count)
        at_o = 1 + np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        for name in rows[0]:
            out[name][at_j, at_k, at_o] = np.concatenate([row[name] for row in rows])

    def leg_lower_bounds(self) -> np.ndarray:
        """Least delta-v of any leg j -> k at any time (for the branch-and-bound)."""
        if self._curve_min is None:
            self._curve_min = np.full((self.n1, self.n1), np.inf)
            for pair, c in self.curves.items():
                self._curve_min[pair] = float(np.min(c.dv)) if c.dv.size else np.inf
        lb = np.minimum(np.array(self.direct["dv"], float), self._curve_min)
        lb[~np.isfinite(lb)] = 0.0
        np.fill_diagonal(lb, 0.0)
        return lb


#: Relaxed options per interval between two drift samples (see :func:`_relaxation`).
RELAXED_PER_INTERVAL = 3
#: The option arrays' values where a pair has no option (:meth:`LegTables.arrays`).
_BLANK = {
    "dur": np.inf,
    "dv": np.inf,
    "phase": np.nan,
    "u_end": 0.0,
    "u_width": 0.0,
    "x": np.nan,
    "sample": -1,
}


#: Per (mode, pair key): a curve and its options in the arrays (:func:`_pair_options`), until
#: the pair's curve changes. Shared by the plans of a process: a re-planned manifest (a
#: sweep's cases that change masses or engines) starts from the curves it kept, and their
#: options are the same (cleared with :data:`_PAIRS`).
_OPTION_ROWS: dict[tuple[str, object], tuple[PairCurve, dict[str, np.ndarray]]] = {}


def _pair_options(mode: str, c: PairCurve) -> dict[str, np.ndarray]:
    """A pair's drift options in :meth:`LegTables.arrays` of ``mode`` (after its direct leg):
    the samples on the time / delta-v front (``"ub"``) or the relaxed options (``"lb"``)."""
    if mode == "ub":
        keep = _front(c.rest_s, c.dv)
        return {
            "dur": c.rest_s[keep],
            "dv": c.dv[keep],
            "phase": c.phase[keep],
            "u_end": c.u_end[keep],
            "x": c.x[keep],
            "sample": keep,
        }
    t_lo, dv_lo = _relaxation(c)
    keep = _front(t_lo, dv_lo)
    finite = np.isfinite(c.dv)
    lo, width = _phase_range(c.u_end[finite])
    return {
        "dur": t_lo[keep],
        "dv": dv_lo[keep],
        "x": np.repeat(np.concatenate([[0.0], c.x]), RELAXED_PER_INTERVAL)[keep],
        "sample": keep // RELAXED_PER_INTERVAL,  # the interval
        # the first burn's point and the arrival point (mod pi) are the planes' node
        # crossings whatever the drift time: charged where all samples agree
        "phase": np.full(keep.size, _common_phase(c.phase[finite])),
        "u_end": np.full(keep.size, lo),
        "u_width": np.full(keep.size, width),
    }


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
            slope = np.where(
                finite[a] & finite[a + 1], (f[a + 1] - f[a]) / (c.x[a + 1] - c.x[a]), 0.0
            )
        near = np.maximum(
            np.minimum(env[a], f[a]) - 2.0 * np.abs(slope) * (c.w2_s[a] + 1.0), ends[a + 1]
        )
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
            ok = (
                np.isfinite(sl)
                & np.isfinite(sr)
                & (sl <= sm)
                & (sm <= sr)
                & (sl < sr)
                & (width[a] > 0)
                & finite[a]
                & finite[a + 1]
                & finite[a - 1]
                & finite[a + 2]
                & (t_from[a] >= ta)
                & (env[a + 1] >= fb)
            )
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


def _evaluate(
    nodes: lg.Nodes,
    ctx: lg.LegContext,
    rows_j,
    rows_k,
    durations=None,
    bracket=None,
    orbits=None,
    snap: bool = True,
):
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
    opts = lg.expand(
        nodes,
        c,
        j,
        k,
        np.zeros(P),
        np.ones(P),
        raan,
        np.zeros(P),
        lg.DriftCache(),
        prune=False,
        durations=durations,
        drift_bracket=bracket,
        drift_orbits=orbits,
        direct=not drift,
    )
    out = {
        "x": np.full(P, np.nan) if durations is None else np.asarray(durations, float),
        "rest_s": np.full(P, np.inf),
        "w2_s": np.zeros(P),
        "dv": np.full(P, np.inf),
        "phase": np.full(P, np.nan),
        "u_end": np.zeros(P),
        "a_d": np.full(P, np.nan),
        "direction": np.zeros(P),
        "half_s": np.full(P, np.nan),
    }
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
            out["half_s"][p] = np.pi / np.asarray(
                argument_of_latitude_rate(d.a_d[p], 0.0, d.i_d[p]), float
            )
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
        second = _evaluate(
            nodes,
            ctx,
            j,
            k,
            x2,
            orbits=(np.where(ok, out["a_d"], ctx.a_drift_min), np.where(ok, out["direction"], 1.0)),
            snap=False,
        )
        better = ok & (second["dv"] <= out["dv"]) & (second["rest_s"] <= out["rest_s"] + 1e-3)
        out = {key: np.where(better, second[key], out[key]) for key in out}
    return out


#: Drift legs evaluated at once when tables are built (bounds the memory of large manifests).
EVAL_BLOCK = 8192
#: Pair tables kept per process (about 5 kB each with its refinements): the leg between two
#: orbits costs the same in every manifest that holds both, so a sweep's cases, the payload
#: subsets of a cost attribution and the explanation of an infeasible plan share them.
PAIRS_KEPT = 20_000
#: Per ordered pair of orbits (by geometry, drift band, horizon and first samples): the direct
#: leg's (rest_s, dv, phase, u_end) and the drift curve at the first samples (None: no RAAN
#: gap to close).
_PAIRS: dict[bytes, tuple[tuple[float, float, float, float], PairCurve | None]] = {}
#: Per pair: every drift duration evaluated so far in this process (the first samples and
#: every refinement). A search starts from the first samples and refines where its own plans
#: go, taking the durations evaluated before from here: so a plan does not depend on what was
#: planned before it in the process, and a table is not slowed by refinements other
#: manifests needed.
_REFINED: dict[bytes, PairCurve] = {}
#: Per manifest geometry (every pair's key): its tables as last refined by an optimisation
#: that finished, and that plan's delivery order (:func:`keep_manifest`). A manifest planned
#: again (a sweep's cases that change masses or engines) starts from them.
_MANIFESTS: dict[bytes, tuple[dict[tuple[int, int], PairCurve], np.ndarray]] = {}
#: Manifests kept in :data:`_MANIFESTS`.
MANIFESTS_KEPT = 2_000


def _pair_keys(
    nodes: lg.Nodes,
    ctx: lg.LegContext,
    jj: np.ndarray,
    kk: np.ndarray,
    samples: int,
    horizon: float,
) -> list[bytes]:
    """Cache keys of the ordered pairs (jj, kk): both orbits' elements, RAANs and slots, and
    everything else a leg's table depends on (the leg model's constants, the drift band, the
    horizon and the number of first samples)."""
    orbit = np.stack([nodes.a, nodes.e, nodes.i, nodes.argp, nodes.raan0, nodes.slot0], axis=1)
    common = np.array(
        [ctx.a_drift_min, ctx.a_drift_max, ctx.mu, ctx.r_eq, ctx.j2, float(samples), horizon]
    )
    rows = np.concatenate([orbit[jj], orbit[kk], np.broadcast_to(common, (jj.size, 7))], axis=1)
    return [row.tobytes() for row in np.ascontiguousarray(rows)]


def build_tables(
    nodes: lg.Nodes,
    ctx: lg.LegContext,
    samples: int = INITIAL_SAMPLES,
    horizon_s: float | None = None,
    kept: bool = True,
) -> LegTables:
    """Tabulate every ordered pair's direct leg and its drift leg at ``samples`` durations
    (geometric from :data:`MIN_DRIFT_S` to the horizon), in one vectorised evaluation of the
    pairs not tabulated earlier in this process (the delta-v and times of a leg depend on
    neither the tug's mass nor its engine nor the other orbits of the manifest). With
    ``kept``, a manifest planned before starts from its tables as then refined
    (:func:`keep_manifest`; ``LegTables.from_kept`` says so)."""
    horizon = float(
        horizon_s if horizon_s is not None and math.isfinite(horizon_s) else ctx.horizon_s
    )
    n1 = nodes.n
    jj, kk = np.meshgrid(np.arange(n1), np.arange(1, n1), indexing="ij")
    jj, kk = jj.ravel(), kk.ravel()
    sel = jj != kk
    jj, kk = jj[sel], kk[sel]
    keys = _pair_keys(nodes, ctx, jj, kk, samples, horizon)
    missing = np.array([key not in _PAIRS for key in keys], bool)
    evaluations = 0
    if np.any(missing):
        if len(_PAIRS) + int(missing.sum()) > PAIRS_KEPT:
            _PAIRS.clear()
            _REFINED.clear()
            _OPTION_ROWS.clear()
            _MANIFESTS.clear()
            missing[:] = True
        evaluations = _tabulate(
            nodes,
            ctx,
            jj[missing],
            kk[missing],
            [key for key, m in zip(keys, missing) if m],
            samples,
            horizon,
        )
    tab = LegTables(
        n1=n1,
        direct={
            "rest_s": np.full((n1, n1), np.inf),
            "dv": np.full((n1, n1), np.inf),
            "phase": np.full((n1, n1), np.nan),
            "u_end": np.zeros((n1, n1)),
        },
        evaluations=evaluations,
        manifest=hashlib.blake2b(b"".join(keys), digest_size=20).digest(),
    )
    for j, k, key in zip(jj, kk, keys):
        direct, curve = _PAIRS[key]
        for name, value in zip(("rest_s", "dv", "phase", "u_end"), direct):
            tab.direct[name][j, k] = value
        if curve is not None:
            tab.curves[(int(j), int(k))] = curve
        tab.keys[(int(j), int(k))] = key
    if kept and tab.manifest in _MANIFESTS:
        curves, order = _MANIFESTS[tab.manifest]
        tab.curves.update(curves)
        tab.from_kept = True
        tab.kept_order = order
    return tab


def _tabulate(
    nodes: lg.Nodes,
    ctx: lg.LegContext,
    jj: np.ndarray,
    kk: np.ndarray,
    keys: list[bytes],
    samples: int,
    horizon: float,
) -> int:
    """Evaluate the pairs (jj, kk) and store them in the pair cache under ``keys``. Returns
    the number of drift legs evaluated."""
    x = np.geomspace(MIN_DRIFT_S, max(horizon, 2.0 * MIN_DRIFT_S), max(2, samples))
    direct = _evaluate(nodes, ctx, jj, kk)
    curves: dict[int, PairCurve] = {}
    # drift legs only between different planes (a RAAN gap to close)
    gap = np.abs(np.mod(nodes.raan0[kk] - nodes.raan0[jj] + np.pi, TWO_PI) - np.pi)
    pairs = np.nonzero(gap > 1e-6)[0]
    evaluations = 0
    if pairs.size:
        rj = np.repeat(jj[pairs], x.size)
        rk = np.repeat(kk[pairs], x.size)
        rx = np.tile(x, pairs.size)
        # in blocks of rows: the drift-orbit search holds ~100 candidates per row
        parts = [
            _evaluate(
                nodes, ctx, rj[b : b + EVAL_BLOCK], rk[b : b + EVAL_BLOCK], rx[b : b + EVAL_BLOCK]
            )
            for b in range(0, rj.size, EVAL_BLOCK)
        ]
        ev = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        ev = {key: val.reshape(pairs.size, x.size) for key, val in ev.items()}
        evaluations = rj.size
        for n, p in enumerate(pairs):
            if np.any(np.isfinite(ev["dv"][n])):
                curves[int(p)] = PairCurve(*(ev[f][n] for f in PairCurve.__dataclass_fields__))
    for p, key in enumerate(keys):
        _PAIRS[key] = (
            (
                float(direct["rest_s"][p]),
                float(direct["dv"][p]),
                float(direct["phase"][p]),
                float(direct["u_end"][p]),
            ),
            curves.get(p),
        )
    return evaluations


def add_samples(
    tab: LegTables, nodes: lg.Nodes, ctx: lg.LegContext, wanted: dict[tuple[int, int], set[float]]
) -> int:
    """Evaluate the drift legs of the pairs in ``wanted`` at the new durations and merge them
    into the tables, in one vectorised evaluation; durations evaluated before in this process
    (:data:`_REFINED`) are taken from there. Each new drift orbit is searched between the
    orbits of the neighbouring samples (widened by 2 % of the altitude band). Returns the
    number of durations added to the tables."""
    rows = []
    reused = 0
    for pair, xs in wanted.items():
        c = tab.curves.get(pair)
        if c is None:
            continue
        known = _REFINED.get(tab.keys.get(pair, b""))
        take = []
        for x in sorted(xs):
            if np.any(np.isclose(c.x, x, rtol=1e-9, atol=0.0)):
                continue
            if known is not None:
                hit = np.nonzero(np.isclose(known.x, x, rtol=1e-9, atol=0.0))[0]
                if hit.size:
                    take.append(int(hit[0]))
                    continue
            rows.append((pair[0], pair[1], x))
        if take:
            assert known is not None
            idx = np.unique(np.array(take))
            tab.set_curve(
                pair,
                c.merged(
                    PairCurve(*(getattr(known, f)[idx] for f in PairCurve.__dataclass_fields__))
                ),
            )
            reused += idx.size
    if not rows:
        return reused
    rj = np.array([r[0] for r in rows], int)
    rk = np.array([r[1] for r in rows], int)
    rx = np.array([r[2] for r in rows], float)
    lo = np.empty(rx.size)
    hi = np.empty(rx.size)
    widen = 0.02 * (ctx.a_drift_max - ctx.a_drift_min)
    for n, (j, k, x) in enumerate(rows):
        c = tab.curves[(j, k)]
        i = int(np.searchsorted(c.x, x))
        near = c.a_d[max(i - 1, 0) : i + 1]
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
        tab.set_curve(pair, tab.curves[pair].merged(new))
        key = tab.keys.get(pair)
        if key is not None and key in _PAIRS:  # refinements are shared too
            first = _PAIRS[key][1]
            before = _REFINED.get(key, first)
            if before is not None:
                _REFINED[key] = before.merged(new)
    return len(rows) + reused


def keep_manifest(tab: LegTables, order: np.ndarray) -> None:
    """Keep ``tab``'s refined curves, and ``order`` (the delivery order of the plan found
    over them, targets 1..n), for its manifest's next plan. Called by an optimisation
    that finished (its gap met or its refinements exhausted), not one stopped by its time
    limit: a plan that ran out of time has refined far more than the manifest needs, and the
    next plan's first searches over those tables would be slow enough to run out of time in
    turn (a re-plan of a hard 8-payload manifest ended infeasible that way)."""
    if tab.manifest not in _MANIFESTS and len(_MANIFESTS) >= MANIFESTS_KEPT:
        _MANIFESTS.clear()
    kept = np.array(order, int)
    kept.setflags(write=False)
    _MANIFESTS[tab.manifest] = (dict(tab.curves), kept)
