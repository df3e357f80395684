"""Phasing onto a slot: after a leg's base strategy, the options that bring the tug to the
target's argument of latitude (its *slot*).

- no phasing: a target without a slot, or a tug that arrives on it;
- ``wait`` (coplanar direct legs): wait in the old orbit until the transfer arrives on the
  slot (Vallado Alg. 45);
- a phasing orbit of k revolutions below (catch up) or above (fall back) the target orbit
  (Vallado Alg. 44), in the target's plane, or with the inclination offset that keeps its node
  turning at the target's rate (*matched-node*: burns at the equator, no RAAN residual), for k
  on the context's geometric grid of revolution counts.

The phasing orbit is solved so that after exactly k anomalistic revolutions the tug has moved
the required angle relative to the slot under the planning model's secular rates
(:func:`otvplan.core.orbits.secular_rates`). Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from otvplan.core import maneuvers as mnv
from otvplan.core.orbits import (
    TWO_PI,
    _brouwer_secular,
    _inclination_for_node_rate,
    plane_angle,
)
from otvplan.core.propulsion import mass_after, thrust_arc_time
from otvplan.planning.legs.context import (
    CIRCULAR_E,
    COPLANAR_RAD,
    DIRECT,
    MIN_PHASING_PERIGEE_ALT_KM,
    NO_PHASING,
    PHASE_HIGH,
    PHASE_HIGH_M,
    PHASE_LOW,
    PHASE_LOW_M,
    WAIT_PHASE,
    EngineSpec,
    LegContext,
    Nodes,
)
from otvplan.planning.legs.options import BaseBlock, OptionBlock, PhasingDetail
from otvplan.planning.legs.transfer import Departure, Target, tilt_at_point


def wrap_pos(x):
    """Angle(s) in [0, 2 pi)."""
    return np.mod(x, TWO_PI)


def phased_options(
    b: BaseBlock,
    nodes: Nodes,
    ctx: LegContext,
    dep: Departure,
    tgt: Target,
    k,
    eng: EngineSpec | None,
) -> list[OptionBlock]:
    """Every phasing variant of base block ``b`` (whose engine is ``eng``), in a fixed order:
    no phasing, the wait (direct legs), then each number of revolutions x each phasing
    orbit variant."""
    slotB0 = nodes.slot0[k]
    has_slot = ~np.isnan(slotB0)
    slotB0z = np.where(has_slot, slotB0, 0.0)
    udotB = nodes.u_rate[k]  # J2 rate of the argument of latitude in the target orbit
    valid = b.valid & np.isfinite(b.dv)
    # no phasing (targets without a slot, or already on the slot)
    dphi = wrap_pos(slotB0z + udotB * b.t_arr - b.u_arr)
    on_slot = np.minimum(dphi, TWO_PI - dphi) <= 0.25 * nodes.slot_tol[k]
    ok0 = valid & (~has_slot | on_slot)
    out = [OptionBlock(b, NO_PHASING, 0.0, ok0, b.dv, b.m_arr, b.t_arr, b.raan_arr, b.u_arr)]
    if not np.any(has_slot & valid):
        return out
    if b.code == DIRECT:
        wait = _wait_phase(b, nodes, dep, tgt, k, valid, has_slot, slotB0z)
        if wait is not None:
            out.append(wait)
    if eng is None:
        return out
    out.extend(_phasing_orbits(b, nodes, ctx, tgt, k, eng, valid, has_slot, on_slot, slotB0z, dphi))
    return out


def _wait_phase(
    b: BaseBlock, nodes: Nodes, dep: Departure, tgt: Target, k, valid, has_slot, slotB0z
) -> OptionBlock | None:
    """Wait before a coplanar direct transfer so that it arrives on the slot (None when no
    pair qualifies)."""
    t0, _aA, eA, _iA, _argpA, raan0, u0, rateA, udotA = dep
    _aB, _eB, iB, raanB0z, rateB, raan_free = tgt
    udotB = nodes.u_rate[k]
    raan_tolB = nodes.raan_tol[k]
    d = b.detail.transfer
    cop = d.theta < COPLANAR_RAD
    ok1 = valid & has_slot & cop & (eA < CIRCULAR_E) & (np.abs(udotA - udotB) > 1e-12)
    if not np.any(ok1):
        return None
    tof = d.tb2 - d.tb1
    # slot minus arrival point, as a function of the wait w:
    # phase(w) = slot(t0 + w + tof) - (u0 + udotA w + pi) ; zero it.
    ph0 = wrap_pos(slotB0z + udotB * (t0 + tof) - (u0 + np.pi))
    rel = udotA - udotB
    # An equatorial orbit's node is a convention (raan: 0 deg): its place is the
    # longitude u + RAAN (u - RAAN at 180 deg), and both orbits' conventional
    # nodes turn at their own J2 rates, so match longitudes instead.
    s_eq = np.where(np.abs(np.sin(iB)) < 1e-12, np.sign(np.cos(iB)), 0.0)
    ph0 = wrap_pos(ph0 + s_eq * (raanB0z + rateB * (t0 + tof) - (raan0 + d.rate_t * tof)))
    rel = rel + s_eq * (rateA - rateB)
    w = np.where(
        rel > 0, ph0 / np.where(rel > 0, rel, 1.0), (ph0 - TWO_PI) / np.where(rel < 0, rel, -1.0)
    )
    w = np.where(ok1, w, 0.0)
    t_arr = t0 + w + tof
    u_arr = wrap_pos(slotB0z + udotB * t_arr)
    # While it waits the tug's node turns at its own orbit's rate: the arrival
    # RAAN moves on by rateA w (it was booked as if there were no wait). For a
    # fixed-RAAN target the planes part by (rateA - rateB) w, which must stay
    # within half the RAAN tolerance (as a phasing orbit's residual); an
    # equatorial target's RAAN is the target's own convention.
    raan_w = np.where(s_eq != 0.0, raanB0z + rateB * t_arr, b.raan_arr + rateA * w)
    resid = np.mod(raan_w - (raanB0z + rateB * t_arr) + np.pi, TWO_PI) - np.pi
    ok1 = ok1 & (raan_free | (np.abs(resid) <= 0.5 * raan_tolB))
    bw = replace(b, detail=replace(b.detail, wait_s=w))
    return OptionBlock(bw, WAIT_PHASE, 0.0, ok1, b.dv, b.m_arr, t_arr, raan_w, u_arr)


class _PhaseProblem(NamedTuple):
    """The open (revolutions, pair) candidates of one phasing variant, gathered: target
    orbit, its rates, revolutions and the phase to gain [rad]; ``c_last`` (mutable) the last
    cos(inclination) found, a warm start for the matched-node variants."""

    aB: np.ndarray
    iB: np.ndarray
    rateB: np.ndarray
    udotB: np.ndarray
    K: np.ndarray
    gain: np.ndarray
    c_last: np.ndarray
    matched: bool
    mu: float
    r_eq: float
    j2: float


def _phase_error(pb: _PhaseProblem, a_try, sel=slice(None), final=False):
    """Phase error [rad] after K anomalistic revolutions on a phasing orbit of semi-major axis
    ``a_try`` (apsis at the target radius), its time [s], eccentricity and inclination, and
    its nodal and apsidal rates [rad/s]."""
    aBs = pb.aB[sel]
    e_try = np.minimum(np.abs(aBs - a_try) / a_try, 0.99)
    if pb.matched:  # the inclination whose node turns with the target's
        i_try = _inclination_for_node_rate(
            a_try,
            e_try,
            pb.rateB[sel],
            pb.mu,
            pb.r_eq,
            pb.j2,
            guess=np.arccos(pb.c_last[sel]),
            iterations=8 if final else 2,
        )
        i_try = np.where(np.isfinite(i_try), i_try, pb.iB[sel])
        c_try = np.cos(i_try)
        pb.c_last[sel] = c_try
    else:
        i_try = pb.iB[sel]
        c_try = np.cos(i_try)
    raan_dot, argp_dot, m_dot = _brouwer_secular(a_try, e_try, c_try, pb.mu, pb.r_eq, pb.j2)
    t_try = TWO_PI * pb.K[sel] / m_dot
    err = (argp_dot + m_dot - pb.udotB[sel]) * t_try - pb.gain[sel]
    return err, t_try, e_try, i_try, raan_dot, argp_dot


def _phase_tolerance(K: np.ndarray) -> np.ndarray:
    """Largest phase error [rad] at which a phasing orbit counts as solved: 1e-9 of a
    revolution per revolution (1e-7 km or less in a)."""
    return 1e-9 * TWO_PI * np.maximum(1.0, K)


#: Semi-major axes per phase table (:func:`_phase_table`), evenly spaced.
PHASE_TABLE_POINTS = 4097


@lru_cache(maxsize=1024)
def _phase_table(
    aB: float,
    iB: float,
    rateB: float,
    udotB: float,
    matched: bool,
    mu: float,
    r_eq: float,
    j2: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The phase a phasing orbit gains on the slot per anomalistic revolution, q(a) [rad],
    over semi-major axes a from the lowest allowed perigee (apogee at the target radius
    ``aB``) to 2 ``aB`` (perigee there), for one target orbit and variant: arrays (q, a,
    cos i of the phasing orbit) in order of increasing q (decreasing a). The table stops
    where q stops falling with a, and is None when that is at its start (candidates it
    does not cover are solved from the Keplerian guess, as without a table).

    q depends on a alone for a given target, so one table per target serves every label and
    revolution count: a phasing orbit of K revolutions gaining ``gain`` solves
    q(a) = gain / K."""
    a_lo = 0.5 * (aB + r_eq + MIN_PHASING_PERIGEE_ALT_KM) - 1.0
    a = np.linspace(min(a_lo, aB), 2.0 * aB, PHASE_TABLE_POINTS)
    n = a.size
    pb = _PhaseProblem(
        aB=np.full(n, aB),
        iB=np.full(n, iB),
        rateB=np.full(n, rateB),
        udotB=np.full(n, udotB),
        K=np.ones(n),
        gain=np.zeros(n),
        c_last=np.full(n, math.cos(iB)),
        matched=matched,
        mu=mu,
        r_eq=r_eq,
        j2=j2,
    )
    q, _, _, i_a, _, _ = _phase_error(pb, a, final=True)
    # q falls as a grows (a higher orbit is slower); keep the part from the lowest a on where
    # it is finite and falling (a matched-node orbit's inclination may not exist far above
    # the target: there q jumps), reversed so that q increases
    bad = ~(np.isfinite(q[1:]) & (np.diff(q) < 0.0)) | ~np.isfinite(q[:1])
    end = int(np.argmax(bad)) if bad.any() else q.size - 1
    if end < 1:
        return None
    q, a, c = q[end::-1], a[end::-1], np.cos(i_a[end::-1])
    for arr in (q, a, c):
        arr.setflags(write=False)
    return q, a, c


@lru_cache(maxsize=256)
def _stacked_tables(
    targets: tuple[tuple[float, float, float, float], ...],
    matched: bool,
    mu: float,
    r_eq: float,
    j2: float,
) -> tuple[np.ndarray, ...]:
    """The phase tables (:func:`_phase_table`) of the target orbits ``targets`` (aB, iB,
    rateB, udotB) end to end, for one search over all of them: (keys, a, cos i) with keys =
    q + offset, increasing across the tables (each table's keys a unit above the last's), and
    per target its offset (NaN without a table), its first and end index and its top q."""
    n = len(targets)
    keys, a_all, c_all = [], [], []
    offset = np.full(n, np.nan)
    first = np.zeros(n, int)
    end = np.zeros(n, int)
    q_top = np.full(n, np.inf)
    pos, base = 0, 0.0
    for r, (aB, iB, rateB, udotB) in enumerate(targets):
        first[r] = end[r] = pos
        table = _phase_table(aB, iB, rateB, udotB, matched, mu, r_eq, j2)
        if table is None:
            continue
        q, a, c = table
        offset[r] = base - q[0]
        keys.append(q + offset[r])
        a_all.append(a)
        c_all.append(c)
        pos += q.size
        end[r] = pos
        q_top[r] = q[-1]
        base += float(q[-1] - q[0]) + 1.0
    stacked = [np.concatenate(x) if x else np.zeros(0) for x in (keys, a_all, c_all)]
    out = (*stacked, offset, first, end, q_top)
    for arr in out:
        arr.setflags(write=False)
    return out


def _table_guess(
    pb: _PhaseProblem, orbits: tuple[tuple[float, float, float, float], ...], r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate, whose target orbit is ``orbits[r]`` ((aB, iB, rateB, udotB)): the
    semi-major axis where its phase table gives q = gain / K (linear interpolation), the
    table's slope dq/da there and the phasing orbit's cos i (NaN where no table covers the
    candidate), and whether the candidate asks for more phase per revolution than the
    table's lowest orbit gains (its orbit would dip under the perigee floor)."""
    m = r.size
    a_t = np.full(m, np.nan)
    slope = np.full(m, np.nan)
    c_t = np.full(m, np.nan)
    keys, a, c, offset, first, end, q_top = _stacked_tables(
        orbits, pb.matched, pb.mu, pb.r_eq, pb.j2
    )
    q_want = pb.gain / pb.K
    has = np.isfinite(offset[r])
    too_low = has & (q_want > q_top[r])
    cell = np.searchsorted(keys, np.where(has, q_want + offset[r], -np.inf)) - 1
    inside = np.nonzero(has & (cell >= first[r]) & (cell < end[r] - 1))[0]
    cell = cell[inside]
    k0, k1 = keys[cell], keys[cell + 1]
    frac = (q_want[inside] + offset[r[inside]] - k0) / (k1 - k0)
    a_t[inside] = a[cell] + frac * (a[cell + 1] - a[cell])
    slope[inside] = (k1 - k0) / (a[cell + 1] - a[cell])
    c_t[inside] = c[cell] + frac * (c[cell + 1] - c[cell])
    return a_t, slope, c_t, too_low


def _solve_phasing_orbits(
    pb: _PhaseProblem,
    a_guess: np.ndarray,
    orbits: tuple[tuple[float, float, float, float], ...],
    r: np.ndarray,
):
    """The semi-major axes that make every candidate gain its phase in K revolutions.

    Where the target's phase table (:func:`_phase_table`) covers a candidate: one Newton
    step from the table's interpolated a with its slope (the interpolation is good to
    ~1e-4 km, the step to ~1e-8 km). A candidate that wants more phase per revolution than
    the table's lowest orbit gains is left unsolved (its error infinite): its orbit would
    dip under the perigee floor, where the caller rejects it anyway. Elsewhere, and where
    the Newton step did not reach the tolerance of :func:`_phase_tolerance`: secant
    iterations from ``a_guess`` (most take three steps; 1e-7 km in a is 1e-12 rad of phase
    per revolution, far below the slot check). Returns the final ``_phase_error`` tuple at
    the solution (with the rates there) and the solution."""
    m = a_guess.size
    ac = a_guess.copy()
    a_t, slope_t, c_t, too_low = _table_guess(pb, orbits, r)
    hit = np.nonzero(np.isfinite(a_t))[0]
    out = [np.zeros(m) for _ in range(6)]
    out[0][too_low] = np.inf  # not solved: no phasing orbit above the perigee floor
    todo = np.nonzero(~too_low)[0]
    if hit.size:
        pb.c_last[hit] = c_t[hit]
        err = _phase_error(pb, a_t[hit], hit)[0]
        ac[hit] = a_t[hit] - err / (pb.K[hit] * slope_t[hit])
        res = _phase_error(pb, ac[hit], hit, final=True)
        for o, r in zip(out, res, strict=True):
            o[hit] = r
        done = too_low.copy()
        done[hit] = np.abs(res[0]) < _phase_tolerance(pb.K[hit])
        todo = np.nonzero(~done)[0]
        ac[todo] = a_guess[todo]
    if todo.size:
        a_prev = ac[todo] * (1.0 + 1e-7)
        err_prev = _phase_error(pb, a_prev, todo)[0]
        act = todo
        for _ in range(6):
            a_act = ac[act]
            err = _phase_error(pb, a_act, act)[0]
            slope = (err - err_prev) / np.where(a_act != a_prev, a_act - a_prev, 1e-9)
            step = np.where(slope != 0.0, err / np.where(slope != 0.0, slope, 1.0), 0.0)
            step = np.clip(step, -0.05 * a_act, 0.05 * a_act)  # stay near the guess
            ac[act] = a_act - step
            going = np.abs(step) >= 1e-7
            act, a_prev, err_prev = act[going], a_act[going], err[going]
            if act.size == 0:
                break
        res = _phase_error(pb, ac[todo], todo, final=True)
        for o, r in zip(out, res, strict=True):
            o[todo] = r
    return tuple(out), ac


def _phasing_orbits(
    b: BaseBlock,
    nodes: Nodes,
    ctx: LegContext,
    tgt: Target,
    k,
    eng: EngineSpec,
    valid,
    has_slot,
    on_slot,
    slotB0z,
    dphi,
) -> list[OptionBlock]:
    """Phasing orbit variants below / above, plain / matched-node, for every revolution count
    of the context's grid (arrays of shape (R, P) at once)."""
    mu = ctx.mu
    aB, eB, iB, _raanB0z, rateB, raan_free = tgt
    udotB = nodes.u_rate[k]
    raan_tolB = nodes.raan_tol[k]
    P = aB.size
    revs = ctx.phasing_revs
    nB = udotB
    nkep = np.sqrt(mu / aB**3)
    v_c = np.sqrt(mu / aB)
    electric = eng is ctx.electric
    K = revs[:, None]
    # the distinct target orbits (one phase table each) and each pair's
    _, one, which = np.unique(
        np.broadcast_to(np.asarray(k), (P,)), return_index=True, return_inverse=True
    )
    which = which.reshape(-1)
    at = [np.broadcast_to(x, (P,)) for x in (aB, iB, rateB, udotB)]
    orbits = tuple(
        (float(at[0][i]), float(at[1][i]), float(at[2][i]), float(at[3][i])) for i in one
    )
    variants = {}
    for var, lead in (
        (PHASE_LOW, -dphi),
        (PHASE_HIGH, TWO_PI - dphi),
        (PHASE_LOW_M, -dphi),
        (PHASE_HIGH_M, TWO_PI - dphi),
    ):
        matched = var in (PHASE_LOW_M, PHASE_HIGH_M)
        if matched and electric:
            continue
        gain = -lead  # how far the tug must move ahead of (or fall behind) the slot
        # First guess: Keplerian phasing orbit from the J2-scaled period (Vallado Alg.
        # 44); then solve a_ph so that after exactly k anomalistic revolutions the tug,
        # back at its apsis, has moved `gain` relative to the slot under the planning
        # model's rates (mean anomaly, argument of perigee and the slot's own rate).
        tof0 = (TWO_PI * K - gain) / nB
        okv = valid & has_slot & ~on_slot & (tof0 > 0) & (eB < CIRCULAR_E)
        n_ph = TWO_PI * K / np.where(tof0 > 0, tof0, 1.0) * (nkep / nB)
        a_ph = np.where(okv, (mu / n_ph**2) ** (1.0 / 3.0), aB)
        # The solve runs on the candidates still open (a small part of R x P), gathered.
        rr, pp = np.nonzero(okv)
        iBc = np.broadcast_to(iB, (P,))[pp]
        pb = _PhaseProblem(
            aB=np.broadcast_to(aB, (P,))[pp],
            iB=iBc,
            rateB=np.broadcast_to(rateB, (P,))[pp],
            udotB=np.broadcast_to(udotB, (P,))[pp],
            K=revs[rr],
            gain=np.broadcast_to(gain, (P,))[pp],
            c_last=np.cos(iBc),
            matched=matched,
            mu=mu,
            r_eq=ctx.r_eq,
            j2=ctx.j2,
        )
        (err, tofc, ec, ic, raan_dot_c, argp_dot_c), ac = _solve_phasing_orbits(
            pb, a_ph[rr, pp], orbits, which[pp]
        )
        a_ph = np.array(np.broadcast_to(aB, a_ph.shape), float)
        tof = np.array(np.broadcast_to(tof0, a_ph.shape), float)
        e_ph = np.zeros(a_ph.shape)
        i_ph = np.array(np.broadcast_to(iB, a_ph.shape), float)
        a_ph[rr, pp], tof[rr, pp], e_ph[rr, pp], i_ph[rr, pp] = ac, tofc, ec, ic
        # the phasing orbit's nodal and apsidal rates, from the solve (zero off the candidates)
        raan_dot = np.zeros(a_ph.shape)
        argp_dot = np.zeros(a_ph.shape)
        raan_dot[rr, pp], argp_dot[rr, pp] = raan_dot_c, argp_dot_c
        conv = np.zeros(a_ph.shape, bool)
        conv[rr, pp] = np.abs(err) < _phase_tolerance(pb.K)
        okv &= conv
        r_other = 2.0 * a_ph - aB
        okv &= (r_other >= ctx.r_eq + MIN_PHASING_PERIGEE_ALT_KM) & (r_other > 0)
        v_ph = np.sqrt(np.maximum(mu * (2.0 / aB - 1.0 / a_ph), 0.0))
        if matched:
            okv &= np.isfinite(i_ph)
            dburn = np.asarray(mnv.combined_burn(v_c, v_ph, np.abs(i_ph - iB)), float)
            dvp = 2.0 * dburn
            wait = np.broadcast_to(np.mod(-b.u_arr, np.pi) / nB, a_ph.shape)
            resid = np.zeros_like(a_ph)
        else:
            dvp = 2.0 * np.abs(v_ph - v_c)
            wait = np.zeros_like(a_ph)
            # The node drifts at the phasing orbit's own J2 rate: the plane comes
            # back off by this much, which must stay within the RAAN tolerance.
            resid = (raan_dot - rateB) * tof
            okv &= raan_free | (np.abs(resid) <= 0.5 * raan_tolB)
        dv = b.dv + dvp
        m_arr = mass_after(b.m_arr, dvp, eng.ve_kms)
        t_arr = b.t_arr + wait + tof
        if electric:
            t_arr = t_arr + thrust_arc_time(dvp, b.m_arr, eng.ve_kms, eng.thrust_n)
        u_arr = wrap_pos(slotB0z + udotB * t_arr)
        raan_end = b.raan_arr + rateB * (t_arr - b.t_arr) + resid
        if matched:
            # The tug returns to its apsis, which apsidal motion has carried
            # argp_dot * tof past the node; tilting the plane back to the target's
            # inclination there moves the node and the argument of latitude a little
            # (spherical trigonometry on the fixed burn point).
            u_start = b.u_arr + udotB * wait
            u_ret = u_start + argp_dot * tof
            raan_ret = b.raan_arr + rateB * (t_arr - tof - b.t_arr) + raan_dot * tof
            raan_end, u_end = tilt_at_point(i_ph, raan_ret, u_ret, iB)
            # Burn 2 turns the plane about that point, off the equator: by the angle
            # between the two planes, more than |i_ph - iB| (exact only on the equator).
            th2 = np.asarray(plane_angle(i_ph, raan_ret, iB, raan_end), float)
            dvp = dburn + np.asarray(mnv.combined_burn(v_ph, v_c, th2), float)
            dv = b.dv + dvp
            m_arr = mass_after(b.m_arr, dvp, eng.ve_kms)
            d_raan = (
                np.mod(raan_end - (b.raan_arr + rateB * (t_arr - b.t_arr)) + np.pi, TWO_PI) - np.pi
            )
            d_u = np.mod(u_end - u_arr + np.pi, TWO_PI) - np.pi
            okv &= raan_free | (np.abs(d_raan) <= 0.5 * raan_tolB)
            okv &= np.abs(d_u) <= 0.5 * nodes.slot_tol[k]
            u_arr = u_end
        variants[var] = dict(
            okv=okv,
            dv=dv,
            m_arr=m_arr,
            t_arr=t_arr,
            raan_end=raan_end,
            u_arr=u_arr,
            detail=PhasingDetail(
                a_ph=a_ph,
                dvp=dvp,
                tof=tof,
                v_ph=v_ph,
                v_c=np.broadcast_to(v_c, a_ph.shape),
                i_ph=i_ph,
                wait=np.broadcast_to(wait, a_ph.shape),
                e_ph=e_ph,
            ),
        )
    out = []
    for r, kr in enumerate(revs):
        for var, x in variants.items():
            det = x["detail"]
            ph = PhasingDetail(
                a_ph=det.a_ph[r],
                dvp=det.dvp[r],
                tof=det.tof[r],
                v_ph=det.v_ph[r],
                v_c=det.v_c[r],
                i_ph=det.i_ph[r],
                wait=det.wait[r],
                e_ph=det.e_ph[r],
            )
            out.append(
                OptionBlock(
                    b,
                    var,
                    kr,
                    x["okv"][r],
                    x["dv"][r],
                    x["m_arr"][r],
                    x["t_arr"][r],
                    x["raan_end"][r],
                    x["u_arr"][r],
                    ph,
                )
            )
    return out
