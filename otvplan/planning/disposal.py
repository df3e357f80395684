"""End of life: the disposal of the tug after its last delivery.

:func:`disposal_table` prices disposal from every orbit of a problem once per plan (the
searches add it to every complete sequence); :func:`disposal_leg` books it as the plan's last
leg. Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from otvplan.constants import MU_EARTH_KM3_S2, R_EARTH_KM, SECONDS_PER_DAY
from otvplan.core import maneuvers as mnv
from otvplan.core.orbits import raan_rate
from otvplan.core.propulsion import thrust_arc_time
from otvplan.model import Leg, Phase, Scenario
from otvplan.planning.ledger import Ledger, circular_state
from otvplan.planning.legs import EngineSpec, Nodes


@dataclass(frozen=True)
class DisposalTable:
    """Disposal from each node's orbit: target perigee radius [km] and delta-v [km/s]."""

    perigee_km: np.ndarray
    dv_chemical: np.ndarray
    dv_electric: np.ndarray


def disposal_table(scenario: Scenario, nodes: Nodes, mu=MU_EARTH_KM3_S2) -> DisposalTable:
    """Disposal target and cost from every node's orbit (computed once per plan).

    ``perigee``: move the perigee to the given altitude (lowering it with one retrograde burn at
    apogee; or, above the orbit, a graveyard: a Hohmann transfer to a circular orbit there, as
    for GEO end of life, IADC-02-01 sec. 5.3.1). ``reentry``: lower it until the orbit
    decays within the years asked for, for the tug's dry mass, area and drag coefficient
    (:func:`otvplan.core.lifetime.reentry_perigees`, the shipped lifetime table). A chemical
    tug makes one retrograde burn at apogee (Vallado Alg. 36 half-transfer); an electric tug
    spirals down to a circular orbit at that perigee (Edelbaum coplanar, |dv| = difference of
    circular speeds), which decays at least as fast as the ellipse.
    """
    d = scenario.constraints.disposal
    apogee = nodes.a * (1.0 + nodes.e)
    if d.kind == "none":
        zero = np.zeros(nodes.n)
        return DisposalTable(np.full(nodes.n, np.nan), zero, zero)
    if d.kind == "perigee":
        rp = np.full(nodes.n, R_EARTH_KM + float(d.perigee_altitude_km))
    else:
        from otvplan.core.lifetime import reentry_perigees

        ballistic = scenario.tug.dry_mass_kg / (d.drag_coefficient * d.area_m2)
        life_s = float(d.reentry_years) * 365.25 * SECONDS_PER_DAY
        unique, inverse = np.unique(apogee, return_inverse=True)
        found = np.atleast_1d(np.asarray(reentry_perigees(unique, life_s, ballistic), float))
        rp = found[inverse.reshape(-1)]
    a = nodes.a
    raise_ = rp > apogee  # a graveyard orbit above (GEO): circularise there (Hohmann)
    rp_low = np.minimum(rp, apogee)
    v_apo = np.sqrt(mu * (2.0 / apogee - 1.0 / a))
    v_new = np.sqrt(mu * (2.0 / apogee - 2.0 / (apogee + rp_low)))
    lower = np.maximum(v_apo - v_new, 0.0)
    up = mnv.apse_transfer(apogee, a, np.maximum(rp, apogee), np.maximum(rp, apogee), mu)
    dv_chem = np.where(raise_, np.abs(np.asarray(up.dv1)) + np.abs(np.asarray(up.dv2)), lower)
    dv_elec = np.abs(np.sqrt(mu / rp) - np.sqrt(mu / a))
    return DisposalTable(rp, dv_chem, dv_elec)


def disposal_leg(
    scenario: Scenario,
    nodes: Nodes,
    disp: DisposalTable,
    j: int,
    t0: float,
    m0: float,
    raan: float,
    u: float,
    eng: EngineSpec,
    electric: bool,
    origin: str,
    index: int,
) -> Leg:
    """The disposal leg from node ``j``'s orbit at ``t0`` [s] with mass ``m0`` [kg], the tug's
    RAAN and argument of latitude [rad]: one retrograde burn lowering the perigee (chemical),
    a Hohmann transfer up to a graveyard orbit, or a spiral (``electric``)."""
    max_imp = scenario.constraints.max_impulsive_burn_s
    a = float(nodes.a[j])
    dv = float((disp.dv_electric if electric else disp.dv_chemical)[j])
    rp = float(disp.perigee_km[j])
    led = Ledger(m0)
    phases = []
    inc = float(nodes.i[j])
    t_end = t0
    if dv > 0:
        if electric:
            T = float(thrust_arc_time(dv, m0, eng.ve_kms, eng.thrust_n))
            sign = 1.0 if rp > a else -1.0
            led.burn(
                t0,
                np.array([sign * dv, 0.0, 0.0]),
                eng,
                u,
                "disposal spiral",
                low_thrust=True,
                duration=T,
                orbit_after=circular_state(t0 + T, rp, 0.0, inc, raan, 0.0, u),
            )
            t_end = t0 + T
            phases.append(Phase("spiral", t0, t_end, 0.5 * (a + rp), inc))
        elif rp <= a:
            led.burn(
                t0,
                np.array([-dv, 0.0, 0.0]),
                eng,
                u,
                "disposal burn",
                max_impulsive=max_imp,
                orbit_after=circular_state(
                    t0, 0.5 * (a + rp), (a - rp) / (a + rp), inc, raan, u + math.pi, u
                ),
            )
        else:  # graveyard above: Hohmann to a circular orbit at rp
            h = mnv.hohmann(a, rp)
            a_t = 0.5 * (a + rp)
            e_t = (rp - a) / (rp + a)
            led.burn(
                t0,
                np.array([float(h.dv1), 0.0, 0.0]),
                eng,
                u,
                "disposal burn 1",
                max_impulsive=max_imp,
                orbit_after=circular_state(t0, a_t, e_t, inc, raan, u, u),
            )
            t_end = t0 + float(h.tof)
            phases.append(Phase("transfer", t0, t_end, a_t, inc, e_t))
            raan2 = raan + float(raan_rate(a_t, e_t, inc)) * float(h.tof)
            led.burn(
                t_end,
                np.array([float(h.dv2), 0.0, 0.0]),
                eng,
                u + math.pi,
                "disposal burn 2",
                max_impulsive=max_imp,
                orbit_after=circular_state(t_end, rp, 0.0, inc, raan2, 0.0, u + math.pi),
            )
    return Leg(
        index=index,
        origin=origin,
        destination=f"disposal (perigee {rp - R_EARTH_KM:.0f} km)",
        strategy="disposal",
        t_start_s=t0,
        t_end_s=t_end,
        dv_kms=float(sum(b.dv_kms for b in led.burns)),
        propellant_kg=m0 - led.m,
        mass_before_kg=m0,
        mass_after_kg=led.m,
        burns=tuple(led.burns),
        phases=tuple(phases),
        notes=(disposal_note(scenario, a, rp, dv),),
    )


def disposal_note(scenario, a_km, rp_km, dv_kms) -> str:
    """What the disposal leg does, in words."""
    d = scenario.constraints.disposal
    alt = rp_km - R_EARTH_KM
    if dv_kms <= 0.0:
        return "no burn needed: the orbit already meets the disposal rule"
    if rp_km > a_km:
        return f"raised to a {alt:.0f} km graveyard orbit"
    if d.kind == "reentry":
        return (
            f"perigee lowered to {alt:.0f} km: the orbit decays within "
            f"{float(d.reentry_years):g} yr (lifetime model)"
        )
    return f"perigee lowered to {alt:.0f} km"
