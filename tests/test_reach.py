"""Payloads a tug cannot reach (:mod:`otvplan.planning.reach`).

The plane-change bound itself is checked in tests/test_maneuvers.py (Vallado Example 6-4 at
one radius; below every transfer of the leg model). Here: it lies below what real plans fly to
each payload, and an infeasible manifest with a payload out of the tank's reach says so, says
that time would not help, and is explained without searching for a load that cannot exist.
"""

from __future__ import annotations

import math

import pytest

from otvplan.core.maneuvers import plane_change_lower_bound
from otvplan.io import scenario as sc_mod
from otvplan.planning import legs as lg
from otvplan.planning.reach import radii_flown, unreachable_payloads
from otvplan.planning.solver import plan
from paths import SCENARIOS_DIR


@pytest.mark.parametrize("name", ["mid_inclination.yaml", "gto_to_geo.yaml"])
def test_delta_v_flown_to_each_payload_is_above_its_plane_change_bound(name):
    # the bound is a lower bound on the delta-v any plan spends before delivering a payload:
    # the planner's own plans, with their plane changes, never go below it
    sc = sc_mod.load(SCENARIOS_DIR / name)
    p = plan(sc)
    assert p.feasible
    nodes = lg.nodes_from_scenario(sc)
    ctx = lg.context_from_scenario(sc)
    r_lo, r_hi = radii_flown(nodes, ctx)
    inc = {q.name: nodes.i[1 + k] for k, q in enumerate(sc.payloads)}
    spent = 0.0
    checked = 0
    for leg in p.legs:
        spent += leg.dv_kms
        if leg.delivery is not None:
            theta = abs(inc[leg.delivery.payload] - nodes.i[0])
            bound = float(plane_change_lower_bound(theta, r_lo, r_hi))
            assert bound <= spent + 1e-9
            checked += bound > 0.01  # (a bound that says something)
    assert checked >= 1
    assert unreachable_payloads(sc, nodes, ctx) == []


NEW_USER = """\
name: out-of-reach
epoch: 2027-06-01T10:00:00Z
dropoff: {altitude: 550 km, sso: true, ltan: "10:30"}
tug:
  name: hydrazine-tug
  dry_mass: 300 kg
  propellant: 250 kg
  tank_capacity: 260 kg
  engines:
    - {name: mr-106, type: chemical, isp: 220 s, thrust: 22 N}
payloads:
  - {name: low-1, mass: 15 kg, target: {altitude: 450 km, sso: true, ltan: "10:30"}}
  - {name: high-any, mass: 25 kg, target: {altitude: 700 km, sso: true}}
  - {name: mid-inc, mass: 40 kg, target: {altitude: 550 km, inclination: 53 deg, raan: 0 deg}}
constraints:
  max_duration: 180 d
"""


def test_a_payload_out_of_the_tanks_reach_is_named_and_time_would_not_help():
    sc = sc_mod.loads(NEW_USER)
    p = plan(sc)
    assert not p.feasible
    assert set(p.delivered) == {"low-1", "high-any"}
    assert p.undelivered == ("mid-inc",)
    why = [r for r in p.infeasible_reasons if r.startswith("payload mid-inc: cannot be")]
    assert len(why) == 1 and "more time would not help" in why[0]
    assert "tank holds" in why[0]
    # the shortfall is the bound: more propellant than the tank holds, and no time
    nodes = lg.nodes_from_scenario(sc)
    ctx = lg.context_from_scenario(sc)
    (u,) = unreachable_payloads(sc, nodes, ctx)
    assert u.limit == "tank"
    assert u.plane_change_rad == pytest.approx(abs(nodes.i[3] - nodes.i[0]))
    # Vallado eq. 6-4 at the apogee speed of the (r_lo, r_hi) ellipse: by hand
    r_lo, r_hi = radii_flown(nodes, ctx)
    v_min = math.sqrt(2.0 * ctx.mu * r_lo / (r_hi * (r_lo + r_hi)))
    assert u.dv_min_kms == pytest.approx(2.0 * v_min * math.sin(0.5 * u.plane_change_rad))
    kept = 300.0 + sc.tug.reserve_kg + 40.0
    need = kept * math.exp(u.dv_min_kms / ctx.chemical.ve_kms) - 300.0 - 40.0
    assert u.propellant_min_kg == pytest.approx(need)
    assert need > sc.tug.tank_capacity_kg
    assert p.shortfall_propellant_kg == pytest.approx(need - sc.tug.propellant_kg)
    assert p.shortfall_time_s == 0.0
    # the partial plan never dips into the reserve
    assert p.propellant_remaining_kg >= sc.tug.reserve_kg - 1e-9


def test_a_payload_beyond_the_load_but_within_the_tank_keeps_the_exact_shortfall():
    # with the tank large enough the exact shortfall is still searched for, and the payload's
    # bound is given beside it (it is below the exact figure)
    sc = sc_mod.loads(NEW_USER.replace("tank_capacity: 260 kg", "tank_capacity: 5000 kg"))
    p = plan(sc)
    assert not p.feasible
    (u,) = unreachable_payloads(sc, lg.nodes_from_scenario(sc), lg.context_from_scenario(sc))
    assert u.limit == "loaded"
    assert any("cannot be delivered with the propellant loaded" in r for r in p.infeasible_reasons)
    assert p.shortfall_propellant_kg >= u.propellant_min_kg - sc.tug.propellant_kg - 1e-6
