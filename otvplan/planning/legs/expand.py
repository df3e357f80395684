"""Every leg option for many (tug state, target) pairs at once: the strategies of the engines
on board, each followed by its phasing variants, flattened into :class:`Options`."""

from __future__ import annotations

import numpy as np

from otvplan.core.propulsion import mass_after
from otvplan.planning.legs.context import DIRECT, DRIFT, LegContext, Nodes
from otvplan.planning.legs.drift import DriftCache, drift_blocks, spiral_drift_blocks
from otvplan.planning.legs.options import (
    BaseBlock,
    DirectDetail,
    OptionBlock,
    concat,
)
from otvplan.planning.legs.options import prune as prune_options
from otvplan.planning.legs.phasing import phased_options
from otvplan.planning.legs.spiral import spiral_block
from otvplan.planning.legs.transfer import Departure, Target, direct_transfer


def expand(
    nodes: Nodes,
    ctx: LegContext,
    j,
    k,
    t0,
    m0,
    raan0,
    u0,
    cache: DriftCache,
    prune: bool = True,
    base_min_dv: bool = False,
    durations=None,
    drift_bracket=None,
    drift_orbits=None,
    direct: bool = True,
):
    """Every leg option from the tug states (in node ``j``'s orbit) to node ``k``'s orbit.

    ``j, k, t0, m0, raan0, u0`` are arrays of P pairs: the tug's orbit, the target, the start
    time [s], the tug's total mass [kg] and its RAAN and argument of latitude at ``t0``.
    Returns the :class:`Options`, Pareto-pruned per pair on (end mass, delivery time) when
    ``prune``. With ``base_min_dv`` returns instead, per pair, the least delta-v of
    any base strategy before phasing (phasing only adds delta-v, so this bounds every option
    from below). ``durations`` (one per pair) replaces the context's drift grid for the
    chemical drift strategy: each pair's drift leg is evaluated at its own duration (option
    ``tidx`` 0), as the leg tables of :mod:`otvplan.planning.schedule` need;
    ``drift_bracket`` (lo, hi radii per pair) confines each drift-orbit search,
    ``drift_orbits`` (radius, direction per pair) replaces it. ``direct`` False leaves the
    chemical direct transfer out (a caller that wants the drift leg only).
    """
    j = np.asarray(j, int)
    k = np.asarray(k, int)
    m0 = np.asarray(m0, float)
    dep = Departure(
        np.asarray(t0, float),
        nodes.a[j],
        nodes.e[j],
        nodes.i[j],
        nodes.argp[j],
        np.asarray(raan0, float),
        np.asarray(u0, float),
        nodes.raan_rate[j],
        nodes.u_rate[j],
    )
    raan_free = np.isnan(nodes.raan0[k])
    tgt = Target(
        nodes.a[k],
        nodes.e[k],
        nodes.i[k],
        np.where(raan_free, 0.0, nodes.raan0[k]),
        nodes.raan_rate[k],
        raan_free,
    )
    P = j.size
    bases: list[BaseBlock] = []
    chem, elec = ctx.chemical, ctx.electric
    if chem is not None:
        if direct:
            d = direct_transfer(dep, tgt, ctx.mu)
            dv = d.dv1 + d.dv2
            bases.append(
                BaseBlock(
                    DIRECT,
                    -1,
                    DirectDetail(d),
                    dv,
                    d.tb2,
                    d.raan_arr,
                    d.u_arr,
                    mass_after(m0, dv, chem.ve_kms),
                    np.ones(P, bool),
                )
            )
        bases += drift_blocks(
            nodes,
            ctx,
            dep,
            tgt,
            j,
            k,
            m0,
            cache,
            durations,
            drift_bracket,
            drift_orbits,
            lower_bound=base_min_dv,
        )
    if elec is not None:
        bases.append(spiral_block(ctx, dep, tgt, m0))
        bases += spiral_drift_blocks(nodes, ctx, dep, tgt, j, k, m0, cache)
    if base_min_dv:
        best = np.full(P, np.inf)
        for b in bases:
            lb = b.dv if b.dv_lb is None else b.dv_lb
            best = np.minimum(best, np.where(b.valid, lb, np.inf))
        return best
    blocks: list[OptionBlock] = []
    for b in bases:
        eng = chem if b.code in (DIRECT, DRIFT) else elec
        blocks += phased_options(b, nodes, ctx, dep, tgt, k, eng)
    opts = concat(blocks, P)
    if prune and opts.pair.size:
        opts = prune_options(opts)
    return opts
