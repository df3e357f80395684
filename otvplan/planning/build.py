"""The plan builder: a leg option chosen by a search, turned into burns, phases and a delivery.

The search hands over, per leg, the tug's state at departure, the option's identity
(:class:`otvplan.planning.legs.OptionId`) and the delivery label. :func:`build_leg` evaluates
that one option again with :func:`otvplan.planning.legs.expand` at the tug's real state (so the
plan flies the numbers the search compared) and books each burn at the tug's real mass
(:class:`Ledger`: the rocket equation burn by burn), with the burn's delta-v vector in the
pre-burn TNW frame and the mean orbit after it. Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.core.orbits import TWO_PI, argument_of_latitude_rate, plane_normal, secular_rates
from otvplan.model import Delivery, Leg, OrbitState, Phase, Scenario
from otvplan.planning import legs as lg
from otvplan.planning.disposal import DisposalTable, disposal_leg
from otvplan.planning.ledger import (
    Ledger,
    burn_tnw,
    circular_state,
    low_thrust_vector,
    rotate,
    state_after,
    tilt_to,
    unit_r,
)
from otvplan.planning.legs import (
    CIRCULAR_E,
    COPLANAR_RAD,
    DirectDetail,
    DriftCache,
    DriftDetail,
    EngineSpec,
    LegContext,
    Nodes,
    OptionId,
    PhasingDetail,
    SpiralDetail,
    SpiralDriftDetail,
    Transfer,
    at,
    tilt_at_point,
)
from otvplan.planning.sequencing import Layer, path_to


@dataclass(frozen=True)
class LegEnds:
    """What the search knows of a leg: from orbit ``j`` at ``t0_s`` with mass ``m0_kg``, RAAN
    ``raan0_rad`` and argument of latitude ``u0_rad``, to payload ``k``, by option ``option``,
    delivered at ``t_del_s`` with RAAN and argument of latitude ``raan_del_rad``/``u_del_rad``
    and ``m_del_kg`` left after the release."""

    j: int
    k: int
    t0_s: float
    m0_kg: float
    raan0_rad: float
    u0_rad: float
    option: OptionId
    t_del_s: float
    raan_del_rad: float
    u_del_rad: float
    m_del_kg: float


def build_legs(
    scenario: Scenario,
    nodes: Nodes,
    ctx: LegContext,
    layers: list[Layer],
    depth: int,
    index: int,
    cache: DriftCache,
    eng: EngineSpec | None,
    electric_disposal: bool,
    warnings: list[str],
    disp: DisposalTable,
    dispose: bool = True,
    leg_contexts: list[LegContext] | None = None,
    leg_options: list[lg.Options] | None = None,
) -> list[Leg]:
    """The legs of the search's label ``index`` at ``depth`` (and the disposal leg when
    ``dispose``), each option evaluated again at the tug's state and booked burn by burn.
    ``leg_contexts``: each leg's own context (a plan rebuilt from leg tables flies each
    leg's drift duration and drift orbit); ``leg_options``: each leg's options already
    evaluated from its departure state in its context (the replay that made ``layers`` has
    them). Appends a warning per burn too long to be impulsive."""
    legs_out: list[Leg] = []
    path = path_to(layers, depth, index)
    max_imp = scenario.constraints.max_impulsive_burn_s
    for leg_no, (dpt, idx) in enumerate(path[1:], start=1):
        lay: Layer = layers[dpt]
        prev: Layer = layers[dpt - 1]
        pidx = int(lay.parent[idx])
        ends = LegEnds(
            j=int(prev.j[pidx]),
            k=int(lay.j[idx]),
            t0_s=float(prev.t[pidx]),
            m0_kg=float(prev.m[pidx]),
            raan0_rad=float(prev.raan[pidx]),
            u0_rad=float(prev.u[pidx]),
            option=OptionId(
                int(lay.base[idx]), int(lay.tidx[idx]), int(lay.variant[idx]), float(lay.krev[idx])
            ),
            t_del_s=float(lay.t[idx]),
            raan_del_rad=float(lay.raan[idx]),
            u_del_rad=float(lay.u[idx]),
            m_del_kg=float(lay.m[idx]),
        )
        # masses are booked as one chain through the ledger (the search's label mass agrees
        # to rounding; the chain makes "before = previous after" exact)
        m0 = legs_out[-1].mass_after_kg if legs_out else ends.m0_kg
        leg_ctx, leg_cache = ctx, cache
        if leg_contexts is not None:  # each leg planned with its own drift duration
            leg_ctx, leg_cache = leg_contexts[leg_no - 1], DriftCache()
        opts = leg_options[leg_no - 1] if leg_options is not None else None
        legs_out.append(
            build_leg(nodes, leg_ctx, leg_cache, ends, leg_no, m0, max_imp, warnings, opts)
        )
    if dispose and scenario.constraints.disposal.kind != "none" and eng is not None:
        last = legs_out[-1] if legs_out else None
        lay = layers[depth]
        legs_out.append(
            disposal_leg(
                scenario,
                nodes,
                disp,
                int(lay.j[index]),
                float(lay.t[index]),
                last.mass_after_kg if last else float(lay.m[index]),
                float(lay.raan[index]),
                float(lay.u[index]),
                eng,
                electric_disposal,
                last.destination if last else "drop-off",
                len(legs_out) + 1,
            )
        )
    for leg in legs_out:
        for b in leg.burns:
            if not b.impulsive_ok:
                warnings.append(
                    f"leg {leg.index} {b.label}: the burn lasts {b.duration_s:.0f} s, longer "
                    f"than {max_imp:.0f} s; finite-burn losses are not modelled"
                )
    return legs_out


def build_leg(
    nodes: Nodes,
    ctx: LegContext,
    cache: DriftCache,
    ends: LegEnds,
    leg_no: int,
    m0_kg: float,
    max_imp: float | None,
    warnings: list[str],
    opts: lg.Options | None = None,
) -> Leg:
    """Leg ``leg_no``: option ``ends.option`` evaluated again from the search's departure
    state (or taken from ``opts``, the options already evaluated there), booked from mass
    ``m0_kg`` (the previous leg's end)."""
    if opts is None:
        opts = lg.expand(
            nodes,
            ctx,
            np.array([ends.j]),
            np.array([ends.k]),
            np.array([ends.t0_s]),
            np.array([ends.m0_kg]),
            np.array([ends.raan0_rad]),
            np.array([ends.u0_rad]),
            cache,
            prune=False,
        )
    try:
        row = opts.find(ends.option)
    except LookupError:  # cannot happen: the search produced this option from these inputs
        raise RuntimeError("internal error: leg option not reproducible") from None
    block = opts.block_of(row)
    p = int(opts.pair[row])
    base = block.base
    j, k, t0 = ends.j, ends.k, ends.t0_s
    led = Ledger(m0_kg)
    phases: list[Phase] = []
    notes: list[str] = []
    detail = at(base.detail, p)
    arrival = (float(base.t_arr[p]), float(base.raan_arr[p]), float(base.u_arr[p]))
    if isinstance(detail, DirectDetail):
        strategy, t_cursor = _direct(
            led, phases, notes, detail, block.variant, nodes, j, k, t0, ctx.chemical, max_imp
        )
    elif isinstance(detail, DriftDetail):
        strategy, t_cursor = _drift(
            led, phases, notes, detail, nodes, j, k, t0, ctx.chemical, max_imp
        )
    elif isinstance(detail, SpiralDetail):
        strategy, t_cursor = _spiral(
            led, phases, notes, detail, nodes, j, k, t0, ends.u0_rad, arrival, ctx.electric
        )
    else:
        strategy, t_cursor = _spiral_drift(
            led, phases, notes, detail, nodes, j, k, t0, ends.u0_rad, arrival, ctx.electric
        )
    if block.variant in lg.PHASING_VARIANTS:
        electric = isinstance(detail, (SpiralDetail, SpiralDriftDetail))
        eng = ctx.electric if electric else ctx.chemical
        suffix, t_cursor = _phasing(
            led,
            phases,
            notes,
            at(block.phasing, p),
            block.variant,
            int(block.krev),
            arrival,
            nodes,
            k,
            t_cursor,
            eng,
            electric,
            max_imp,
        )
        strategy += suffix
    elif block.variant == lg.WAIT_PHASE:
        strategy += "+phase-wait"
    return _delivered(nodes, ends, leg_no, m0_kg, led, phases, notes, strategy, t_cursor, warnings)


def _delivered(
    nodes: Nodes,
    ends: LegEnds,
    leg_no: int,
    m0: float,
    led: Ledger,
    phases: list[Phase],
    notes: list[str],
    strategy: str,
    t_cursor: float,
    warnings: list[str],
) -> Leg:
    """The leg, closed by the separation wait and the delivery of its payload."""
    j, k = ends.j, ends.k
    aB, iB, eB = float(nodes.a[k]), float(nodes.i[k]), float(nodes.e[k])
    t_del = ends.t_del_s
    if t_del > t_cursor + 1e-6:
        phases.append(Phase("separation", t_cursor, t_del, aB, iB, eB))
    m_after_release = led.m - float(nodes.mass[k])
    orbit = OrbitState(
        t_s=t_del,
        a_km=aB,
        e=eB,
        inc_rad=iB,
        raan_rad=float(np.mod(ends.raan_del_rad, TWO_PI)),
        argp_rad=float(nodes.argp[k]) if eB >= CIRCULAR_E else 0.0,
        u_rad=float(np.mod(ends.u_del_rad, TWO_PI)),
    )
    if abs(m_after_release - ends.m_del_kg) > 1e-6 * max(1.0, m0):
        warnings.append(
            f"leg {leg_no}: mass bookkeeping differs from the search by "
            f"{m_after_release - ends.m_del_kg:.3g} kg"
        )
    return Leg(
        index=leg_no,
        origin=nodes.names[j],
        destination=nodes.names[k],
        strategy=strategy,
        t_start_s=ends.t0_s,
        t_end_s=t_del,
        dv_kms=float(sum(bb.dv_kms for bb in led.burns)),
        propellant_kg=float(m0 - led.m),
        mass_before_kg=m0,
        mass_after_kg=m_after_release,
        burns=tuple(led.burns),
        phases=tuple(phases),
        delivery=Delivery(
            payload=nodes.names[k], t_s=t_del, orbit=orbit, mass_kg=float(nodes.mass[k])
        ),
        notes=tuple(notes),
    )


def _direct(
    led: Ledger,
    phases: list[Phase],
    notes: list[str],
    d: DirectDetail,
    variant: int,
    nodes: Nodes,
    j: int,
    k: int,
    t0: float,
    chem: EngineSpec,
    max_imp: float | None,
) -> tuple[str, float]:
    """A ``direct`` leg's burns (after the phase wait, if any). Returns the strategy's name
    and the time it ends [s]."""
    aA, iA, eA = float(nodes.a[j]), float(nodes.i[j]), float(nodes.e[j])
    iB = float(nodes.i[k])
    tr = d.transfer
    if variant == lg.WAIT_PHASE:
        # the same transfer from the later departure (coplanar: burns anywhere); the node
        # turns on while the tug waits (as legs.expand books it)
        w = d.wait_s
        notes.append(f"waits {w / 3600:.2f} h in the initial orbit to arrive on the slot")
        tr = replace(
            tr,
            tb1=tr.tb1 + w,
            tb2=tr.tb2 + w,
            u_b1=float(np.mod(tr.u_b1 + nodes.u_rate[j] * w, TWO_PI)),
            raan_b1=float(tr.raan_b1 + nodes.raan_rate[j] * w),
        )
    if tr.tb1 > t0:
        phases.append(Phase("wait", t0, tr.tb1, aA, iA, eA))
    _transfer_burns(led, tr, iA, iB, chem, "transfer", max_imp)
    if tr.tb2 > tr.tb1:
        phases.append(
            Phase(
                "transfer",
                tr.tb1,
                tr.tb2,
                tr.a_t,
                iB,
                abs(tr.r_arr - tr.r_dep) / (tr.r_arr + tr.r_dep),
            )
        )
    notes.append(
        f"plane change {math.degrees(tr.theta):.3f} deg split "
        f"{math.degrees(abs(tr.th1)):.3f} + {math.degrees(abs(tr.th2)):.3f} deg"
    )
    return "direct", tr.tb2


def _drift(
    led: Ledger,
    phases: list[Phase],
    notes: list[str],
    d: DriftDetail,
    nodes: Nodes,
    j: int,
    k: int,
    t0: float,
    chem: EngineSpec,
    max_imp: float | None,
) -> tuple[str, float]:
    """A ``drift`` leg's burns: to the drift orbit, the drift, into the target plane."""
    aA, iA, eA = float(nodes.a[j]), float(nodes.i[j]), float(nodes.e[j])
    aB, iB = float(nodes.a[k]), float(nodes.i[k])
    d1, d2 = d.first, d.second
    a_d, i_d = d.a_d, d.i_d
    if d1.tb1 > t0:
        phases.append(Phase("wait", t0, d1.tb1, aA, iA, eA))
    _transfer_burns(led, d1, iA, i_d, chem, "to drift orbit", max_imp)
    if d.t_d0 > d1.tb1:
        phases.append(Phase("transfer", d1.tb1, d.t_d0, 0.5 * (aA + a_d), i_d))
    phases.append(Phase("drift", d.t_d0, d.t_d1, a_d, i_d))
    if d2.tb1 > d.t_d1:
        phases.append(Phase("wait", d.t_d1, d2.tb1, a_d, i_d))
    _transfer_burns(led, d2, i_d, iB, chem, "from drift orbit", max_imp)
    if d2.tb2 > d2.tb1:
        phases.append(Phase("transfer", d2.tb1, d2.tb2, 0.5 * (a_d + aB), iB))
    notes.append(
        f"J2 drift at {a_d - R_EARTH_KM:.1f} km, {math.degrees(i_d):.3f} deg for "
        f"{(d.t_d1 - d.t_d0) / SECONDS_PER_DAY:.2f} d"
    )
    return "drift", d2.tb2


def _spiral(
    led: Ledger,
    phases: list[Phase],
    notes: list[str],
    d: SpiralDetail,
    nodes: Nodes,
    j: int,
    k: int,
    t0: float,
    u0: float,
    arrival: tuple[float, float, float],
    elec: EngineSpec,
) -> tuple[str, float]:
    """A ``spiral`` leg: one thrust arc."""
    aA = float(nodes.a[j])
    aB, iB, eB = float(nodes.a[k]), float(nodes.i[k]), float(nodes.e[k])
    _, raan_arr, u_arr = arrival
    led.burn(
        t0,
        low_thrust_vector(d.dv, aA, aB),
        elec,
        u0,
        "spiral",
        low_thrust=True,
        duration=d.T,
        orbit_after=circular_state(t0 + d.T, aB, eB, iB, raan_arr, 0.0, u_arr),
    )
    phases.append(Phase("spiral", t0, t0 + d.T, 0.5 * (aA + aB), iB))
    notes.append(f"Edelbaum spiral, plane change {math.degrees(d.theta):.3f} deg")
    return "spiral", t0 + d.T


def _spiral_drift(
    led: Ledger,
    phases: list[Phase],
    notes: list[str],
    d: SpiralDriftDetail,
    nodes: Nodes,
    j: int,
    k: int,
    t0: float,
    u0: float,
    arrival: tuple[float, float, float],
    elec: EngineSpec,
) -> tuple[str, float]:
    """A ``spiral-drift`` leg: spiral to the drift orbit, drift, spiral to the target."""
    aA = float(nodes.a[j])
    aB, iB, eB = float(nodes.a[k]), float(nodes.i[k]), float(nodes.e[k])
    _, raan_arr, u_arr = arrival
    T1, Td, T2 = d.T1, d.Td, d.T2
    a_d, i_d = d.a_d, d.i_d
    udot_d = float(argument_of_latitude_rate(a_d, 0.0, i_d))
    led.burn(
        t0,
        low_thrust_vector(d.dv1, aA, a_d),
        elec,
        u0,
        "spiral to drift",
        low_thrust=True,
        duration=T1,
        orbit_after=circular_state(t0 + T1, a_d, 0.0, i_d, d.raan_d, 0.0, d.u_d),
    )
    phases.append(Phase("spiral", t0, t0 + T1, 0.5 * (aA + a_d), i_d))
    phases.append(Phase("drift", t0 + T1, t0 + T1 + Td, a_d, i_d))
    led.burn(
        t0 + T1 + Td,
        low_thrust_vector(d.dv2, a_d, aB),
        elec,
        d.u_d + udot_d * Td,
        "spiral from drift",
        low_thrust=True,
        duration=T2,
        orbit_after=circular_state(t0 + T1 + Td + T2, aB, eB, iB, raan_arr, 0.0, u_arr),
    )
    phases.append(Phase("spiral", t0 + T1 + Td, t0 + T1 + Td + T2, 0.5 * (a_d + aB), iB))
    notes.append(
        f"low-thrust to a J2 drift orbit at {a_d - R_EARTH_KM:.1f} km, "
        f"{math.degrees(i_d):.3f} deg for {Td / SECONDS_PER_DAY:.2f} d"
    )
    return "spiral-drift", t0 + T1 + Td + T2


def _phasing(
    led: Ledger,
    phases: list[Phase],
    notes: list[str],
    ph: PhasingDetail,
    variant: int,
    krev: int,
    arrival: tuple[float, float, float],
    nodes: Nodes,
    k: int,
    t_cursor: float,
    eng: EngineSpec,
    low_thrust: bool,
    max_imp: float | None,
) -> tuple[str, float]:
    """The phasing orbit's two burns after the base leg (arrival: its time [s], RAAN and
    argument of latitude [rad]; ``low_thrust`` for an electric engine). Returns the strategy
    name's suffix and the end time [s]."""
    aB, iB, eB = float(nodes.a[k]), float(nodes.i[k]), float(nodes.e[k])
    tof, wait = ph.tof, ph.wait
    a_ph, e_ph, i_ph = ph.a_ph, ph.e_ph, ph.i_ph
    v_ph, v_c = ph.v_ph, ph.v_c
    t_arr, raan_arr, u_arr = arrival
    rate_b, udot_b = float(nodes.raan_rate[k]), float(nodes.u_rate[k])
    u_start = u_arr + udot_b * wait
    t1 = t_cursor + wait
    if wait > 0:
        phases.append(Phase("wait", t_cursor, t1, aB, iB, eB))
    raan_1 = raan_arr + rate_b * (t1 - t_arr)
    r_hat = unit_r(iB, raan_1, u_start)
    h_b = plane_normal(iB, raan_1)
    h_ph = tilt_to(h_b, r_hat, i_ph)
    after1 = state_after(t1, aB * r_hat, v_ph * np.cross(h_ph, r_hat))
    led.burn(
        t1,
        np.array(burn_tnw(r_hat, h_b, v_c, h_ph, v_ph)),
        eng,
        u_start,
        "phasing burn 1",
        max_impulsive=max_imp,
        low_thrust=low_thrust,
        orbit_after=after1,
    )
    phases.append(Phase("phasing", t1, t1 + tof, a_ph, i_ph, e_ph))
    # k anomalistic revolutions later the tug is back at its apsis, which the J2 apsidal
    # motion has carried forward, in a plane that turned at the phasing orbit's rate
    rates_ph = secular_rates(a_ph, e_ph, i_ph)
    raan_2 = raan_1 + float(rates_ph.raan) * tof
    u_end = u_start + float(rates_ph.argp) * tof
    r_hat2 = unit_r(i_ph, raan_2, u_end)
    h_ph2 = plane_normal(i_ph, raan_2)
    # Apsidal motion has carried the apsis off the equator, where turning by the inclination
    # difference (tilt_to) no longer gives inclination iB: turn to the plane of inclination
    # iB through this point, as legs.expand books it.
    raan_b2, _ = tilt_at_point(i_ph, raan_2, u_end, iB)
    h_b2 = plane_normal(iB, float(raan_b2))
    after2 = state_after(t1 + tof, aB * r_hat2, v_c * np.cross(h_b2, r_hat2))
    led.burn(
        t1 + tof,
        np.array(burn_tnw(r_hat2, h_ph2, v_ph, h_b2, v_c)),
        eng,
        u_end,
        "phasing burn 2",
        max_impulsive=max_imp,
        low_thrust=low_thrust,
        orbit_after=after2,
    )
    kind = "matched-node " if variant in (lg.PHASE_LOW_M, lg.PHASE_HIGH_M) else ""
    notes.append(
        f"{kind}phasing {a_ph - R_EARTH_KM:.1f} km mean altitude"
        f"{', ' + format(math.degrees(i_ph), '.3f') + ' deg' if kind else ''}, "
        f"{krev} rev, {tof / SECONDS_PER_DAY:.2f} d"
    )
    return f"+{kind}phasing({krev} rev)", t1 + tof


def _transfer_burns(led: Ledger, d: Transfer, iA, iB, eng, label, max_imp):
    """The burns of a direct transfer (``d``: one pair's values)."""
    u_b = d.u_b1
    rA = d.raan_b1
    h_a = plane_normal(iA, rA)
    r_hat = unit_r(iA, rA, u_b)
    th1, th2 = d.th1, d.th2
    theta = d.theta
    # Rotation sense: rotating h_A about r_hat by +theta must reach the target plane normal,
    # taken (as the burns here are) at burn 1: the plane _direct aimed at, i.e. the plane at
    # arrival less the regression of the transfer orbit's node during the coast. (The plane
    # at arrival has turned by J2 during the coast, ~0.1 deg in LEO: more than a small plane
    # change itself, which then went the wrong way, e.g. a 0.02 deg change delivered 0.04 deg
    # off.)
    raanB = (d.raan_arr - d.rate_t * (d.tb2 - d.tb1)) if theta > 0 else rA
    h_b_target = plane_normal(iB, raanB) if theta > COPLANAR_RAD else h_a
    sense = 1.0
    if theta > COPLANAR_RAD:
        plus = rotate(h_a, r_hat, theta)
        minus = rotate(h_a, r_hat, -theta)
        sense = (
            1.0 if np.linalg.norm(plus - h_b_target) <= np.linalg.norm(minus - h_b_target) else -1.0
        )
    h_t = rotate(h_a, r_hat, sense * th1)
    v1, vt1, vt2, v2 = d.v1, d.vt1, d.vt2, d.v2
    same = d.same
    tb1, tb2 = d.tb1, d.tb2
    r_dep, r_arr = d.r_dep, d.r_arr
    if same:
        h_f = rotate(h_t, r_hat, sense * th2)
        dv = np.array(burn_tnw(r_hat, h_a, v1, h_f, v2))
        if np.linalg.norm(dv) > 0:
            led.burn(
                tb1,
                dv,
                eng,
                u_b,
                label,
                max_impulsive=max_imp,
                orbit_after=state_after(tb1, r_dep * r_hat, v2 * np.cross(h_f, r_hat)),
            )
        return
    dv1 = np.array(burn_tnw(r_hat, h_a, v1, h_t, vt1))
    if np.linalg.norm(dv1) > 0:
        led.burn(
            tb1,
            dv1,
            eng,
            u_b,
            label + " burn 1",
            max_impulsive=max_imp,
            orbit_after=state_after(tb1, r_dep * r_hat, vt1 * np.cross(h_t, r_hat)),
        )
    r2 = -r_hat
    h_f = rotate(h_t, r_hat, sense * th2)
    dv2 = np.array(burn_tnw(r2, h_t, vt2, h_f, v2))
    if np.linalg.norm(dv2) > 0:
        # the transfer orbit's node regressed during the coast: carry that into the state
        after = state_after(tb2, r_arr * r2, v2 * np.cross(h_f, r2))
        after = replace(
            after, raan_rad=float(np.mod(after.raan_rad + d.rate_t * (tb2 - tb1), TWO_PI))
        )
        led.burn(
            tb2,
            dv2,
            eng,
            u_b + math.pi,
            label + " burn 2",
            max_impulsive=max_imp,
            orbit_after=after,
        )
