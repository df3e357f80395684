"""J2 drift legs: the drift orbit whose nodal rate closes a RAAN gap in a given time, for a
chemical tug (Hohmann to the drift orbit, coast, transfer into the target plane) and an
electric one (spiral, drift, spiral).

The drift orbit for each (gap, duration) is chosen by
:func:`otvplan.core.maneuvers.cheapest_drift` (the radius; the inclination then makes the
differential nodal rate close the gap exactly in the duration). Core units: km, s, rad, kg.
"""

from __future__ import annotations

import numpy as np

from otvplan.core import maneuvers as mnv
from otvplan.core.orbits import (
    TWO_PI,
    argument_of_latitude_rate,
    plane_angle,
    raan_rate,
)
from otvplan.core.propulsion import mass_after
from otvplan.planning.legs.context import (
    COPLANAR_RAD,
    DRIFT,
    SPIRAL_DRIFT,
    EngineSpec,
    LegContext,
    Nodes,
)
from otvplan.planning.legs.options import (
    BaseBlock,
    DriftDetail,
    SpiralDriftDetail,
    scatter,
    scatter_1d,
)
from otvplan.planning.legs.spiral import spiral_motion
from otvplan.planning.legs.transfer import Departure, Target, direct_transfer


def wrap_pos(x):
    """Angle(s) in [0, 2 pi)."""
    return np.mod(x, TWO_PI)


def raan_gap(dep: Departure, tgt: Target) -> np.ndarray:
    """The target's RAAN less the tug's at ``dep.t0_s``, in [0, 2 pi) [rad]."""
    return wrap_pos(tgt.raan0_rad + tgt.raan_rate * dep.t0_s - dep.raan_rad)


def _drift_orbit_cache_key(j, k, gap):
    return (int(j), int(k), round(float(gap) / 1e-4))


class DriftCache:
    """Drift-orbit choices per (from node, to node, RAAN gap to 1e-4 rad), over the grid.

    The drift radius is chosen by :func:`otvplan.core.maneuvers.cheapest_drift` for the rounded gap;
    the drift *time* is then solved exactly for the real gap, so the rounding only costs
    optimality (second order), never accuracy.
    """

    def __init__(self):
        self._store: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.misses = 0

    def lookup(self, nodes: Nodes, ctx: LegContext, j, k, gap):
        if ctx.fixed_drift is not None:
            shape = (len(j), ctx.drift_durations_s.size)
            return (
                np.full(shape, float(ctx.fixed_drift[0])),
                np.full(shape, float(ctx.fixed_drift[1])),
            )
        keys = [_drift_orbit_cache_key(a, b, g) for a, b, g in zip(j, k, gap)]
        missing = sorted({key for key in keys if key not in self._store})
        if missing:
            self.misses += len(missing)
            jj = np.array([m[0] for m in missing])
            kk = np.array([m[1] for m in missing])
            gg = np.array([m[2] for m in missing]) * 1e-4
            T = ctx.drift_durations_s[None, :]
            sol = mnv.cheapest_drift(
                gg[:, None],
                T,
                nodes.a[jj][:, None],
                nodes.i[jj][:, None],
                nodes.a[kk][:, None],
                nodes.i[kk][:, None],
                a_min=ctx.a_drift_min,
                a_max=ctx.a_drift_max,
                mu=ctx.mu,
                r_eq=ctx.r_eq,
                j2=ctx.j2,
            )
            a_d = np.asarray(sol.a, float)
            direction = np.asarray(sol.direction, float)
            ok = np.isfinite(np.asarray(sol.dv, float)) & (direction != 0)
            a_d = np.where(ok, a_d, np.nan)
            for n, key in enumerate(missing):
                self._store[key] = (a_d[n], direction[n])
        a = np.array([self._store[key][0] for key in keys]).reshape(len(keys), -1)
        d = np.array([self._store[key][1] for key in keys]).reshape(len(keys), -1)
        return a, d

    def solve(self, nodes: Nodes, ctx: LegContext, j, k, gap, durations, bracket=None, refine=24):
        """Drift orbits for one duration per row, for the gap rounded as in :meth:`lookup`
        (so a row equals the :meth:`lookup` of a grid holding only its duration). With
        ``bracket`` (lo, hi radii per row) the search is confined to it
        (:func:`otvplan.core.maneuvers.cheapest_drift`)."""
        j = np.asarray(j, int)
        k = np.asarray(k, int)
        gq = np.round(np.asarray(gap, float) / 1e-4) * 1e-4
        self.misses += j.size
        sol = mnv.cheapest_drift(
            gq,
            np.asarray(durations, float),
            nodes.a[j],
            nodes.i[j],
            nodes.a[k],
            nodes.i[k],
            a_min=ctx.a_drift_min,
            a_max=ctx.a_drift_max,
            mu=ctx.mu,
            r_eq=ctx.r_eq,
            j2=ctx.j2,
            bracket=bracket,
            refine=refine,
        )
        a_d = np.asarray(sol.a, float)
        direction = np.asarray(sol.direction, float)
        ok = np.isfinite(np.asarray(sol.dv, float)) & (direction != 0)
        return np.where(ok, a_d, np.nan)[:, None], direction[:, None]


def drift_blocks(
    nodes: Nodes,
    ctx: LegContext,
    dep: Departure,
    tgt: Target,
    j,
    k,
    m0,
    cache: DriftCache,
    durations=None,
    drift_bracket=None,
    drift_orbits=None,
    lower_bound: bool = False,
) -> list[BaseBlock]:
    """Chemical ``drift`` options, one block per drift duration of the context's grid (or one
    block with each pair's own duration in ``durations``; see
    :func:`otvplan.planning.legs.expand`), only for pairs whose target RAAN matters and
    differs from the tug's. With ``lower_bound`` each block carries ``dv_lb``."""
    chem = ctx.chemical
    mu = ctx.mu
    P = j.size
    t0, aA, eA, iA, argpA, raan0, u0, rateA, udotA = dep
    aB, eB, iB, raanB0z, rateB, raan_free = tgt
    out: list[BaseBlock] = []
    gap_now = raan_gap(dep, tgt)
    need = (
        (~raan_free)
        & (np.abs(np.asarray(plane_angle(iA, raan0, iB, raanB0z + rateB * t0))) > COPLANAR_RAD)
        & (np.minimum(gap_now, TWO_PI - gap_now) > 1e-6)
    )
    if not (np.any(need) and (ctx.drift_durations_s.size or durations is not None)):
        return out
    idx = np.nonzero(need)[0]
    if durations is None:
        a_d_all, dir_all = cache.lookup(nodes, ctx, j[idx], k[idx], gap_now[idx])
        nT = ctx.drift_durations_s.size
        # every (pair, drift duration) at once: rows r of the flattened block
        r = np.repeat(idx, nT)
        tflat = np.tile(np.arange(nT), idx.size)
        T = ctx.drift_durations_s[tflat]
    else:  # one drift duration per pair, each its own drift orbit (option tidx 0)
        nT = 1
        r = idx
        tflat = np.zeros(idx.size, int)
        T = np.asarray(durations, float)[idx]
        if drift_orbits is not None:  # given: (radius, direction) per pair
            a_d_all = np.asarray(drift_orbits[0], float)[idx][:, None]
            dir_all = np.asarray(drift_orbits[1], float)[idx][:, None]
        else:
            bracket = (
                None
                if drift_bracket is None
                else (
                    np.asarray(drift_bracket[0], float)[idx],
                    np.asarray(drift_bracket[1], float)[idx],
                )
            )
            a_d_all, dir_all = cache.solve(
                nodes,
                ctx,
                j[idx],
                k[idx],
                gap_now[idx],
                T,
                bracket=bracket,
                refine=24 if bracket is None else 16,
            )
    a_d = a_d_all.ravel()
    direc = dir_all.ravel()
    ok = np.isfinite(a_d)
    a_dz = np.where(ok, a_d, aA[r])
    # Inclination of the drift orbit: closes the gap (seen from the drift start) in T.
    # Account for the first transfer's wait and flight with rate A.
    tof1 = np.pi * np.sqrt((0.5 * (aA[r] + a_dz)) ** 3 / mu)
    g_start = wrap_pos(gap_now[r] + (rateB[r] - rateA[r]) * (tof1 + 0.5 * np.pi / udotA[r]))
    rel = np.where(direc > 0, g_start, g_start - TWO_PI) / T
    kk = 1.5 * ctx.j2 * (ctx.r_eq / a_dz) ** 2 * np.sqrt(mu / a_dz**3)
    cos_i = -(rateB[r] + rel) / kk
    ok &= np.abs(cos_i) <= 1.0
    i_d = np.arccos(np.clip(cos_i, -1.0, 1.0))
    rate_d = np.asarray(raan_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
    udot_d = np.asarray(argument_of_latitude_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
    n_r = r.size
    zeros = np.zeros(n_r)
    d1 = direct_transfer(
        Departure(*(x[r] for x in dep)),
        Target(a_dz, zeros, i_d, zeros, rate_d, np.ones(n_r, bool)),
        mu,
    )
    # Drift: gap at arrival in the drift orbit, closed at the differential rate.
    t_d0 = d1.tb2
    raan_d0 = d1.raan_arr
    gap_d0 = wrap_pos(raanB0z[r] + rateB[r] * t_d0 - raan_d0)
    relrate = rate_d - rateB[r]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_close = np.where(relrate > 0, gap_d0 / relrate, (gap_d0 - TWO_PI) / relrate)
    ok &= np.isfinite(t_close) & (t_close >= 0.0)
    t_close = np.where(ok, t_close, 0.0)
    t_end_drift = t_d0 + t_close
    u_end_drift = d1.u_arr + udot_d * (t_end_drift - t_d0)
    raan_end_drift = raan_d0 + rate_d * (t_end_drift - t_d0)
    d2 = direct_transfer(
        Departure(
            t_end_drift, a_dz, zeros, i_d, zeros, raan_end_drift, u_end_drift, rate_d, udot_d
        ),
        Target(*(x[r] for x in tgt)),
        mu,
    )
    dv = d1.dv1 + d1.dv2 + d2.dv1 + d2.dv2
    dv_lb = None
    if lower_bound:
        # the way out of the drift orbit costs at least the inclination-only transfer
        # (any RAAN residual left at the node crossing only adds to it)
        dv_lb = d1.dv1 + d1.dv2 + np.asarray(mnv.transfer_dv(a_dz, i_d, aB[r], iB[r], mu), float)
    block = DriftDetail(
        first=d1,
        second=d2,
        a_d=a_dz,
        i_d=i_d,
        t_d0=t_d0,
        t_d1=t_end_drift,
        rate_d=rate_d,
        direction=direc,
    )
    for ti in range(nT):
        sel = np.nonzero((tflat == ti) & ok)[0]
        if sel.size == 0:
            continue
        rows = r[sel]
        dd = scatter(block, sel, rows, P)
        valid = np.zeros(P, bool)
        valid[rows] = True
        dv_p = scatter_1d(dv, sel, rows, P, np.inf)
        m_arr = mass_after(m0, np.where(valid, dv_p, 0.0), chem.ve_kms)
        out.append(
            BaseBlock(
                DRIFT,
                ti,
                dd,
                dv_p,
                dd.second.tb2,
                dd.second.raan_arr,
                dd.second.u_arr,
                m_arr,
                valid,
                None if dv_lb is None else scatter_1d(dv_lb, sel, rows, P, np.inf),
            )
        )
    return out


def spiral_drift_blocks(
    nodes: Nodes, ctx: LegContext, dep: Departure, tgt: Target, j, k, m0, cache: DriftCache
) -> list[BaseBlock]:
    """Electric ``spiral-drift`` options, one block per drift duration of the context's grid:
    spiral to the drift orbit, drift, spiral into the target plane."""
    elec: EngineSpec = ctx.electric
    mu = ctx.mu
    P = j.size
    t0, aA, eA, iA, argpA, raan0, u0, rateA, udotA = dep
    aB, eB, iB, raanB0z, rateB, raan_free = tgt
    out: list[BaseBlock] = []
    gap_now = raan_gap(dep, tgt)
    need = (~raan_free) & (np.minimum(gap_now, TWO_PI - gap_now) > 1e-6)
    if not (np.any(need) and ctx.drift_durations_s.size):
        return out
    idx = np.nonzero(need)[0]
    a_d_all, dir_all = cache.lookup(nodes, ctx, j[idx], k[idx], gap_now[idx])
    for ti in range(ctx.drift_durations_s.size):
        a_d = np.full(P, np.nan)
        direc = np.zeros(P)
        a_d[idx] = a_d_all[:, ti]
        direc[idx] = dir_all[:, ti]
        ok = need & np.isfinite(a_d)
        if not np.any(ok):
            continue
        a_dz = np.where(ok, a_d, aA)
        Tg = ctx.drift_durations_s[ti]
        rel = np.where(direc > 0, gap_now, gap_now - TWO_PI) / Tg
        kk = 1.5 * ctx.j2 * (ctx.r_eq / a_dz) ** 2 * np.sqrt(mu / a_dz**3)
        cos_i = -(rateB + rel) / kk
        ok &= np.abs(cos_i) <= 1.0
        i_d = np.arccos(np.clip(cos_i, -1.0, 1.0))
        rate_d = np.asarray(raan_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
        th1 = np.abs(i_d - iA)
        dv1 = np.asarray(mnv.edelbaum(aA, a_dz, th1, mu), float)
        T1, dO1, du1 = spiral_motion(aA, iA, a_dz, i_d, th1, dv1, m0, elec, ctx)
        m1 = mass_after(m0, dv1, elec.ve_kms)
        th2 = np.abs(iB - i_d)
        dv2 = np.asarray(mnv.edelbaum(a_dz, aB, th2, mu), float)
        T2, dO2, du2 = spiral_motion(a_dz, i_d, aB, iB, th2, dv2, m1, elec, ctx)
        # What is left of the gap after both spirals (each turns the tug's node by its
        # own integrated J2 regression while the target's turns at rateB) is closed by
        # the drift at the differential rate.
        g = np.where(direc > 0, gap_now, gap_now - TWO_PI)
        g_left = g - (dO1 - rateB * T1) - (dO2 - rateB * T2)
        relrate = rate_d - rateB
        with np.errstate(divide="ignore", invalid="ignore"):
            Td = g_left / relrate
        ok &= np.isfinite(Td) & (Td >= 0.0)
        Td = np.where(ok, Td, 0.0)
        dv = dv1 + dv2
        m_arr = mass_after(m1, dv2, elec.ve_kms)
        t_arr = t0 + T1 + Td + T2
        udot_d = np.asarray(argument_of_latitude_rate(a_dz, 0.0, i_d, mu, ctx.r_eq, ctx.j2), float)
        u_arr = np.mod(u0 + du1 + udot_d * Td + du2, TWO_PI)
        dd = SpiralDriftDetail(
            dv1=dv1,
            dv2=dv2,
            T1=T1,
            Td=Td,
            T2=T2,
            a_d=a_dz,
            i_d=i_d,
            raan_d=raan0 + dO1,
            u_d=u0 + du1,
        )
        out.append(
            BaseBlock(
                SPIRAL_DRIFT,
                ti,
                dd,
                np.where(ok, dv, np.inf),
                t_arr,
                raanB0z + rateB * t_arr,
                u_arr,
                m_arr,
                ok,
            )
        )
    return out
