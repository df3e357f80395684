"""Payloads a tug cannot deliver at all, whatever the order, the other payloads or the time.

Turning the tug's plane from the drop-off's inclination to a target's costs at least
:func:`otvplan.core.maneuvers.plane_change_lower_bound` over the radii the leg model flies
(every orbit's perigee and apogee, the drift-orbit band, phasing orbits); the angle between
two planes is at least the difference of their inclinations whatever their RAANs, so the bound
holds at every time. Carrying the payload (and the dry mass and the reserve, which are never
spent) through that delta-v takes, by the rocket equation,

    propellant >= (dry + reserve + m_k) exp(dv / ve) - dry - m_k

loaded, with no other payload aboard (others only add mass). Where that exceeds the
propellant loaded, no plan delivers the payload; where it exceeds the tank, no load does.
Mission time does not enter: more time would not help. Core units: km, km/s, s, rad, kg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from otvplan.constants import R_EARTH_KM
from otvplan.core.maneuvers import plane_change_lower_bound
from otvplan.model import Scenario
from otvplan.planning import legs as lg


@dataclass(frozen=True)
class Unreachable:
    """A payload no plan of this tug can deliver: the least plane change, the delta-v and
    the propellant it needs at least, and what that exceeds."""

    payload: str
    plane_change_rad: float
    dv_min_kms: float
    propellant_min_kg: float
    #: "tank" (more than the tank holds) or "loaded" (more than the propellant loaded)
    limit: str

    def reason(self, loaded_kg: float, tank_kg: float) -> str:
        """The line that explains it in a plan's shortfall."""
        over = (
            f"more than the {tank_kg:,.1f} kg tank holds"
            if self.limit == "tank"
            else f"more than the {loaded_kg:,.1f} kg loaded"
        )
        what = "by this tug" if self.limit == "tank" else "with the propellant loaded"
        return (
            f"payload {self.payload}: cannot be delivered {what} - turning the plane "
            f"{math.degrees(self.plane_change_rad):.1f} deg needs at least "
            f"{self.dv_min_kms * 1000.0:,.0f} m/s, at least "
            f"{self.propellant_min_kg:,.1f} kg of propellant loaded even with no other "
            f"payload aboard, {over}; more time would not help"
        )


def radii_flown(nodes: lg.Nodes, ctx: lg.LegContext) -> tuple[float, float]:
    """(least perigee, greatest apogee) [km] of any orbit the leg model may fly: the nodes'
    orbits, the drift-orbit band and, where a target has a slot, its phasing orbits (perigee
    down to :data:`~otvplan.planning.legs.MIN_PHASING_PERIGEE_ALT_KM`, semi-major axis up to
    twice the target's)."""
    rp = nodes.a * (1.0 - nodes.e)
    ra = nodes.a * (1.0 + nodes.e)
    r_lo = min(float(rp.min()), ctx.a_drift_min)
    r_hi = max(float(ra.max()), ctx.a_drift_max)
    slotted = ~np.isnan(nodes.slot0[1:])
    if np.any(slotted):
        r_lo = min(r_lo, R_EARTH_KM + lg.MIN_PHASING_PERIGEE_ALT_KM)
        r_hi = max(r_hi, float(np.max(3.0 * nodes.a[1:][slotted])))
    return r_lo, r_hi


def unreachable_payloads(
    scenario: Scenario, nodes: lg.Nodes, ctx: lg.LegContext
) -> list[Unreachable]:
    """The payloads whose plane change alone needs more propellant than the tug has loaded
    (in the order of the manifest)."""
    engines = [e for e in (ctx.chemical, ctx.electric) if e is not None]
    if not engines:
        return []
    ve = max(e.ve_kms for e in engines)  # the most efficient engine: the weakest bound
    r_lo, r_hi = radii_flown(nodes, ctx)
    theta = np.abs(nodes.i[1:] - nodes.i[0])
    dv = np.asarray(plane_change_lower_bound(theta, r_lo, r_hi, ctx.mu), float).reshape(-1)
    if ctx.electric is not None:  # Edelbaum's spirals hold to 2 rad (114.6 deg) of plane
        dv = np.where(theta <= 2.0, dv, 0.0)  # change; beyond, no bound is claimed
    tug = scenario.tug
    kept = tug.dry_mass_kg + tug.reserve_kg + nodes.mass[1:]
    need = kept * np.exp(dv / ve) - tug.dry_mass_kg - nodes.mass[1:]
    out = []
    for q, p in enumerate(scenario.payloads):
        if need[q] > tug.propellant_kg * (1.0 + 1e-9) + 1e-9:
            limit = "tank" if need[q] > tug.tank_capacity_kg * (1.0 + 1e-9) + 1e-9 else "loaded"
            out.append(Unreachable(p.name, float(theta[q]), float(dv[q]), float(need[q]), limit))
    return out
