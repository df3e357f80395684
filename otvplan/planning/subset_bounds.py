"""Lower bounds on the propellant a tug needs for each subset of a manifest, without planning.

The fleet heuristic plans only the subsets its moves visit; to bound every assignment from
below it needs a bound for every subset a tug may carry, in bulk. A tug carrying subset S
starts at its drop-off with mass m_S = dry + propellant + mass(S): the search's label "at the
drop-off, the payloads of S left", whose final mass the branch-and-bound's completion bound
caps (:func:`otvplan.planning.sequencing.completion_bound`: the spanning tree of the orbits
still to visit and each payload's cheapest entering leg, with leg bounds valid at every time,
and the cheapest disposal): m_final <= e^(-D / ve) (m_S - C). Propellant used is
m_S - mass(S) - m_final. Each payload's plane change
(:func:`otvplan.planning.reach.unreachable_payloads`' bound) is a second bound, and the larger
is kept. Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math

import numpy as np

from otvplan.core.maneuvers import plane_change_lower_bound
from otvplan.core.propulsion import mass_after
from otvplan.model import Scenario
from otvplan.planning import legs as lg
from otvplan.planning.disposal import disposal_table
from otvplan.planning.reach import radii_flown
from otvplan.planning.sequencing import Bound, SearchSettings, completion_bound
from otvplan.planning.solver import _leg_lower_bounds
from otvplan.planning.table_search import Limits, TableLayer, _TimeBound
from otvplan.planning.tables import build_tables, is_time_invariant

#: Relative margin taken off each leg's delta-v bound (the drift-orbit searches find their
#: optimum to about 1e-9 km/s; a plan's refined drift can come out a little below a table's).
LEG_MARGIN = 1e-6


def subset_propellant_bounds(scenario: Scenario, subsets: list[int]) -> np.ndarray:
    """For each subset (bit i: payload i of ``scenario``, a single-tug scenario holding every
    payload the tug may carry), a lower bound [kg] on the propellant any plan of the tug
    delivering exactly that subset uses (0 where nothing better is known)."""
    nodes = lg.nodes_from_scenario(scenario)
    ctx = lg.context_from_scenario(scenario)
    tug = scenario.tug
    engines = [e for e in (ctx.chemical, ctx.electric) if e is not None]
    out = np.zeros(len(subsets))
    if not engines or not subsets:
        return out
    ve = max(e.ve_kms for e in engines)  # the most efficient engine: the weakest bound
    n = nodes.n - 1
    horizon = scenario.constraints.max_duration_s
    m_full = scenario.initial_mass_kg
    settings = SearchSettings(
        dry_kg=tug.dry_mass_kg,
        reserve_kg=tug.reserve_kg,
        horizon_s=math.inf if horizon is None else float(horizon),
        separation_s=scenario.constraints.min_deploy_separation_s,
        exact=True,
        beam_width=1,
    )
    leg_lb = _leg_lower_bounds(nodes, ctx, m_full, settings, lg.DriftCache())
    # those bounds take the drift legs on the general search's grid of durations; a subset
    # planned in continuous time may drift longer and for less: the leg tables' least
    # delta-v (at the horizon, where the cheapest drift is) bounds those, less a margin for
    # the drift-orbit searches' tolerance
    if ctx.chemical is None:  # an electric tug: spirals, whose mass only sets their time
        leg_lb = _spiral_leg_bounds(nodes, ctx)
    invariant = leg_lb > 0.0  # (the pairs whose cost is the same at every time)
    tab = None
    if np.any(invariant) and ctx.chemical is not None:
        tab = build_tables(nodes, ctx, horizon_s=settings.horizon_s)
        leg_lb = np.where(invariant, np.minimum(leg_lb, tab.leg_lower_bounds()), leg_lb)
    leg_lb = leg_lb * (1.0 - LEG_MARGIN)
    disp = disposal_table(scenario, nodes)
    # the cheaper disposal of the engines on board
    disposal = np.minimum(
        disp.dv_chemical if ctx.chemical is not None else np.inf,
        disp.dv_electric if ctx.electric is not None else np.inf,
    )
    disposal = np.where(np.isfinite(disposal), disposal, 0.0)
    bound = Bound(leg_lb=leg_lb, disposal_dv=disposal, ve_kms=ve, incumbent=-math.inf)
    bits = np.array(subsets, dtype=np.uint64)
    carried_kg = np.array(
        [sum(float(nodes.mass[1 + i]) for i in range(n) if s >> i & 1) for s in subsets]
    )
    W = (nodes.n + 63) // 64
    # the label's delivered set: every payload outside the subset (node k + 1 for payload k)
    full = np.uint64((1 << n) - 1) if n < 64 else np.uint64(2**64 - 1)
    if W != 1:  # (more than 63 payloads: no subset enumeration reaches here)
        return out
    delivered = ((~bits & full) << np.uint64(1)).reshape(-1, 1)
    d_min, carried = completion_bound(nodes, delivered, np.zeros(len(subsets), int), bound)
    m_s = tug.dry_mass_kg + tug.propellant_kg + carried_kg
    final_ub = mass_after(m_s - carried, d_min, ve)
    by_tree = m_s - carried_kg - final_ub
    if (
        tab is not None
        and math.isfinite(settings.horizon_s)
        and is_time_invariant(nodes, ctx, settings.horizon_s)
    ):
        # the time-priced bound over the relaxed tables (every drift duration covered): the
        # legs still to fly share the time left, so they cannot all drift for the longest
        lim = Limits(
            dry_kg=tug.dry_mass_kg,
            reserve_kg=tug.reserve_kg,
            horizon_s=settings.horizon_s,
            separation_s=settings.separation_s,
            ve_kms=ve,
        )
        arr = tab.arrays("lb")
        L = len(subsets)
        labels = TableLayer(
            mask=delivered,
            j=np.zeros(L, int),
            t=np.zeros(L),
            u=np.zeros(L),
            uw=np.zeros(L),
            m=m_s,
            parent=np.full(L, -1),
            option=np.full(L, -1),
            remaining_payload_mass=carried_kg,
        )
        final_time = _TimeBound(arr["dur"], arr["dv"], lim, disposal, trees=True).final_mass(
            nodes, labels
        )
        by_time = m_s - carried_kg - final_time
        by_tree = np.maximum(by_tree, by_time)
    # each payload's plane change, carried with the dry mass and the reserve
    r_lo, r_hi = radii_flown(nodes, ctx)
    theta = np.abs(nodes.i[1:] - nodes.i[0])
    dv_k = np.asarray(plane_change_lower_bound(theta, r_lo, r_hi, ctx.mu), float).reshape(-1)
    if ctx.electric is not None:
        dv_k = np.where(theta <= 2.0, dv_k, 0.0)  # (Edelbaum's domain)
    kept = tug.dry_mass_kg + tug.reserve_kg + nodes.mass[1:]
    plane_kg = kept * np.expm1(dv_k / ve)
    member = (bits[:, None] >> np.arange(n, dtype=np.uint64)[None, :]) & np.uint64(1)
    by_plane = np.max(np.where(member.astype(bool), plane_kg[None, :], 0.0), axis=1)
    return np.maximum(np.maximum(by_tree, by_plane), 0.0)


def _spiral_leg_bounds(nodes: lg.Nodes, ctx: lg.LegContext) -> np.ndarray:
    """``lb[j, k]``: a lower bound [km/s] on an electric tug's leg between circular orbits j
    and k, whatever the time and the mass: |v_j - v_k|. Edelbaum's spiral costs
    sqrt((v0 - v1)^2 + 4 v0 v1 sin^2(pi di / 4)) >= |v0 - v1|
    (:func:`otvplan.core.maneuvers.edelbaum_dv`), a spiral through a drift orbit at least
    |v_j - v_d| + |v_d - v_k| >= |v_j - v_k|, and phasing only adds (0 where an orbit is not
    circular)."""
    v = np.sqrt(ctx.mu / nodes.a)
    lb = np.abs(v[:, None] - v[None, :])
    circular = nodes.e < lg.CIRCULAR_E
    lb[~(circular[:, None] & circular[None, :])] = 0.0
    return lb
