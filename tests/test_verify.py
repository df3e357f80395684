"""Verification of plans by numerical propagation (otvplan.verify).

The scenario tests fly the solver's plan for every file in scenarios/ and require every
delivery within the scenario's tolerances. Where a plan genuinely misses, the test is marked
xfail(strict=True) with the measured cause, so the suite stays green and flags the day the
solver is fixed (an unexpected pass fails the run).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from pathlib import Path

import pytest

from otvplan import scenario as scenario_mod
from otvplan.constants import EARTH_SUN_MEAN_MOTION_RAD_S, R_EARTH_KM
from otvplan.model import (
    Constraints,
    Engine,
    OrbitSpec,
    Payload,
    Plan,
    Scenario,
    Tug,
    to_data,
)
from otvplan.orbits import ltan_to_raan, sso_inclination
from otvplan.solver import plan as solve
from otvplan.timeutil import julian_date
from otvplan.verify import Verification, target_at, verify

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
EPOCH = dt.datetime(2027, 6, 1, tzinfo=dt.timezone.utc)

#: Scenarios whose current plans miss their targets in the numerical propagation, with the
#: measured cause (two-body + J2, burns at their planned epochs). See docs/verification.md.
KNOWN_FAILURES = {
    "gto_to_geo": (
        "solver: the GTO apogee burn is sized from mean elements, but the osculating apogee "
        "radius is 7.4 km below the mean one (J2 short-period terms of the 27 deg GTO), so the "
        "GEO mean a ends 7.58 km low (tol 2 km) and microgeo-b's longitude drifts 0.097 "
        "deg/day, 3.46 deg after 35.6 d (tol 0.05 deg)"),
    "sso_rideshare": (
        "solver: burns sized from mean-element speeds leave the drift orbits' mean a +0.085 "
        "and +0.109 km off, so after the 73-day drifts the tug's argument of latitude is "
        "-7.1 and -18.2 deg from the plan and the fixed-epoch plane-change burns miss the node "
        "line: RAAN -0.13/-0.17/+0.16/+0.22 deg, i +0.17..+0.19 deg (tol 0.1/0.05); with burns "
        "fired at their planned argument of latitude every delivery passes (<= 0.034 deg)"),
    "mid_inclination": (
        "solver: plane-change burns sized from mean elements leave the mean a +1.0 km off "
        "(the J2 short-period term 3/2 J2 R^2/a sin^2 i cos 2u changes with i), so after the "
        "62-day drift the fixed-epoch burns fire 81 deg of argument of latitude from the node "
        "line: i +1.35/-4.56 deg, RAAN +2.43/-12.93 deg; with retimed burns the 1 km a error "
        "still shifts the drift's node rate: RAAN +0.19/+0.22 deg (tol 0.1)"),
    "constellation_slotting": (
        "solver: the node-matched phasing orbits' inclination (legs.py, cos i = -rateB / kk) "
        "is solved with the first-order J2 rate while the plan uses second-order rates, so "
        "each phasing orbit regresses 0.0029 deg/day faster than the target plane: RAAN "
        "-0.105/-0.116 deg for plane1-sat7/-sat8 after 35/39 d (tol 0.1 deg)"),
}


@functools.lru_cache(maxsize=None)
def _plan_for(path: str) -> Plan:
    return solve(scenario_mod.load(path))


@functools.lru_cache(maxsize=None)
def _verification_for(path: str) -> Verification:
    return verify(_plan_for(path))


def _scenario_params():
    params = []
    for path in SCENARIOS:
        marks = []
        if path.stem in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[path.stem]))
        params.append(pytest.param(str(path), id=path.stem, marks=marks))
    return params


def _describe(v: Verification) -> str:
    lines = [f"{v.scenario}: {len(v.failures)} failed rows"]
    for c in v.failures:
        scale = math.degrees(1.0) if c.unit == "rad" else 1.0
        lines.append(f"  {c.payload} {c.element}: error {c.error * scale:+.4f}, "
                     f"tolerance {c.tolerance * scale:.4f} ({c.unit if c.unit != 'rad' else 'deg'})")
    lines += [f"  mass: {n}" for n in v.mass.notes]
    return "\n".join(lines)


@pytest.mark.parametrize("path", _scenario_params())
def test_every_scenario_verifies_within_default_tolerances(path):
    v = _verification_for(path)
    p = _plan_for(path)
    assert len(v.deliveries) == len(p.delivered)
    assert v.mass.passed, _describe(v)
    assert v.passed, _describe(v)


@pytest.mark.parametrize("path", [str(p) for p in SCENARIOS], ids=[p.stem for p in SCENARIOS])
def test_scenario_verification_bookkeeping(path):
    """Whatever the verdict, the verification is complete and consistent: one row per element
    per delivery, the plan's mass chain holds, the data round-trip is JSON-ready."""
    v = _verification_for(path)
    p = _plan_for(path)
    assert [d.payload for d in v.deliveries] == list(p.delivered)
    for d in v.deliveries:
        assert [c.element for c in d.checks][:3] == ["a", "e", "i"]
        assert len(d.checks) == 5
        assert d.passed == all(c.passed for c in d.checks)
    assert v.mass.passed
    assert v.mass.burns_propellant_kg == pytest.approx(p.propellant_used_kg, rel=1e-9)
    assert len(v.burns) == sum(len(leg.burns) for leg in p.legs)
    json.dumps(to_data(v))
    # burns are flown when planned
    assert all(abs(b.shift_s) < 1e-3 for b in v.burns)


# --------------------------------------------------------------------------------------------
# A small plan that verifies, and broken copies of it
# --------------------------------------------------------------------------------------------


def _small_scenario(**payload_target) -> Scenario:
    target = dict(a_km=R_EARTH_KM + 600.0, inc_rad=math.radians(53.2),
                  raan_rad=math.radians(40.0))
    target.update(payload_target)
    return Scenario(
        name="small-direct", epoch=EPOCH,
        dropoff=OrbitSpec(a_km=R_EARTH_KM + 500.0, inc_rad=math.radians(53.0),
                          raan_rad=math.radians(40.0), slot_rad=0.0),
        tug=Tug("tug", 150.0, 60.0, 80.0, 1.0, (Engine("main", "chemical", 300.0, 220.0),)),
        payloads=(Payload("p1", 50.0, OrbitSpec(**target)),),
        constraints=Constraints(max_duration_s=10 * 86400.0))


@pytest.fixture(scope="module")
def small_plan() -> Plan:
    p = solve(_small_scenario())
    assert p.feasible and len(p.legs[0].burns) == 2
    return p


@pytest.fixture(scope="module")
def small_verification(small_plan) -> Verification:
    return verify(small_plan)


def _with_burn(p: Plan, index: int, **changes) -> Plan:
    leg = p.legs[0]
    burns = list(leg.burns)
    burns[index] = dataclasses.replace(burns[index], **changes)
    return dataclasses.replace(p, legs=(dataclasses.replace(leg, burns=tuple(burns)),)
                               + p.legs[1:])


def test_small_plan_verifies(small_verification):
    v = small_verification
    assert v.passed, _describe(v)
    (d,) = v.deliveries
    rows = {c.element: c for c in d.checks}
    assert abs(rows["a"].error) < 0.05  # km
    assert abs(rows["i"].error) < math.radians(1e-3)
    assert abs(rows["raan"].error) < math.radians(1e-3)
    assert not rows["slot"].checked and rows["slot"].passed  # free slot is reported only
    assert v.force_model == "two-body + J2"
    assert v.mass.passed and v.mass.max_chain_error_kg < 1e-9
    assert dict(v.stats)["days_propagated"] == pytest.approx(d.t_s / 86400.0)


def test_burn_with_flipped_sign_fails(small_plan):
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, dv_tnw_kms=tuple(-x for x in b.dv_tnw_kms))
    v = verify(broken, trace_burns=False)
    assert not v.passed
    failed = {c.element for c in v.failures}
    assert {"a", "e", "i"} <= failed


def test_burn_moved_twenty_minutes_late_fails(small_plan):
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, t_s=b.t_s + 1200.0)
    v = verify(broken, trace_burns=False)
    assert not v.passed
    assert "e" in {c.element for c in v.failures}


def test_position_timing_refires_a_displaced_burn_where_it_belongs(small_plan):
    """The diagnostic timing fires each burn at its planned argument of latitude, so a burn
    moved by 20 min (less than half an orbit) lands back on its node."""
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, t_s=b.t_s + 1200.0)
    v = verify(broken, timing="position")
    assert v.passed, _describe(v)
    assert v.burns[1].shift_s == pytest.approx(-1200.0, abs=5.0)
    with pytest.raises(ValueError):
        verify(small_plan, timing="later")


def test_mass_bookkeeping_error_fails(small_plan):
    broken = dataclasses.replace(small_plan,
                                 propellant_used_kg=small_plan.propellant_used_kg + 1.0)
    v = verify(broken, trace_burns=False)
    assert v.deliveries[0].passed
    assert not v.mass.passed and not v.passed
    assert any("the plan says" in n for n in v.mass.notes)


def test_burn_trace_locates_the_error(small_plan, small_verification):
    for bc in small_verification.burns:
        assert abs(bc.a_error_km) < 0.05
        assert abs(bc.raan_error_rad) < math.radians(1e-3)
    b = small_plan.legs[0].burns[0]
    broken = _with_burn(small_plan, 0, dv_tnw_kms=(b.dv_tnw_kms[0] * 1.1,) + b.dv_tnw_kms[1:])
    v = verify(broken)
    assert abs(v.burns[0].a_error_km) > 1.0  # the first burn is where it went wrong


def test_rows_are_plain_data(small_verification):
    data = to_data(small_verification)
    text = json.dumps(data)
    assert '"element": "raan"' in text
    assert len(small_verification.rows) == 5
    row = data["deliveries"][0]["checks"][0]
    assert set(row) >= {"payload", "element", "unit", "target", "planned", "achieved", "error",
                        "tolerance", "checked", "passed"}


def test_higher_fidelity_force_models_run(small_plan):
    """J2-J4 and drag change the answer by metres over this one-hour leg: still passes."""
    v = verify(small_plan, zonal=4, drag=True, trace_burns=False)
    assert "J2/J3/J4" in v.force_model and "drag" in v.force_model
    assert v.passed, _describe(v)
    base = verify(small_plan, trace_burns=False)
    da = v.deliveries[0].achieved.a_km - base.deliveries[0].achieved.a_km
    assert 0.0 < abs(da) < 0.1


def test_target_with_slot_and_equatorial_target_rows():
    """A slot target is checked as an argument of latitude; an equatorial one as a longitude
    with its RAAN reported but unchecked."""
    p = solve(_small_scenario(a_km=R_EARTH_KM + 500.0, inc_rad=math.radians(53.0),
                              slot_rad=math.radians(30.0)))
    v = verify(p, trace_burns=False)
    rows = {c.element: c for c in v.rows}
    assert rows["slot"].checked
    eq = Scenario(
        name="equatorial", epoch=EPOCH,
        dropoff=OrbitSpec(a_km=R_EARTH_KM + 700.0, inc_rad=0.0, raan_rad=0.0, slot_rad=0.0),
        tug=Tug("tug", 150.0, 60.0, 80.0, 1.0, (Engine("main", "chemical", 300.0, 220.0),)),
        payloads=(Payload("p1", 50.0, OrbitSpec(a_km=R_EARTH_KM + 800.0, raan_rad=0.0,
                                                  slot_rad=math.radians(10.0))),))
    v = verify(solve(eq), trace_burns=False)
    rows = {c.element: c for c in v.rows}
    assert set(rows) == {"a", "e", "i", "raan", "longitude"}
    assert not rows["raan"].checked
    assert rows["longitude"].checked


def test_sso_target_raan_follows_the_mean_sun():
    """Targets advance at the planning model's secular rates; a sun-synchronous target (its
    inclination solved with the same second-order model) keeps its local time."""
    a = R_EARTH_KM + 550.0
    raan0 = float(ltan_to_raan(10.5, julian_date(EPOCH)))
    spec = OrbitSpec(a_km=a, inc_rad=sso_inclination(a, order=2), raan_rad=raan0, sso=True,
                     ltan_h=10.5)
    t = 30 * 86400.0
    raan, slot = target_at(spec, t)
    assert slot is None
    expect = (raan0 + EARTH_SUN_MEAN_MOTION_RAD_S * t) % (2 * math.pi)
    assert raan == pytest.approx(expect, abs=1e-9)
    assert target_at(OrbitSpec(a_km=a, inc_rad=1.0), t) == (None, None)


# --------------------------------------------------------------------------------------------
# Low thrust
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def electric_verification():
    sc = Scenario(
        name="small-electric", epoch=EPOCH,
        dropoff=OrbitSpec(a_km=R_EARTH_KM + 500.0, inc_rad=math.radians(53.0),
                          raan_rad=math.radians(40.0), slot_rad=0.0),
        tug=Tug("tug", 150.0, 20.0, 30.0, 0.5, (Engine("hall", "electric", 1500.0, 0.2),)),
        payloads=(Payload("p1", 50.0, OrbitSpec(a_km=R_EARTH_KM + 600.0,
                                                  inc_rad=math.radians(53.3))),),
        constraints=Constraints(max_duration_s=30 * 86400.0))
    p = solve(sc)
    assert p.legs[0].burns[0].low_thrust
    return p, verify(p)


def test_low_thrust_spiral_arrives_on_target(electric_verification):
    """A one-day Edelbaum spiral (500 -> 600 km, +0.3 deg) flown with constant thrust and mass
    flow under Edelbaum's yaw law arrives within 0.1 km and 0.002 deg."""
    p, v = electric_verification
    (d,) = v.deliveries
    assert d.passed, _describe(v)
    rows = {c.element: c for c in d.checks}
    assert abs(rows["a"].error) < 0.1
    assert abs(rows["i"].error) < math.radians(2e-3)


def test_low_thrust_spiral_mass_bookkeeping(electric_verification):
    """Thrusting for the planned duration burns what the plan books (the spiral's booked
    delta-v is Edelbaum's, |dv_tnw| = dv)."""
    p, v = electric_verification
    assert v.mass.passed, v.mass.notes
    assert v.mass.propagated_propellant_kg == pytest.approx(p.propellant_used_kg, rel=1e-9)
    assert not any("Edelbaum" in w for w in v.warnings)
