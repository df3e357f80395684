"""Verification of plans by numerical propagation (otvplan.flight.verify).

The scenario tests fly the solver's plan for every file in scenarios/ and require every
delivery within the scenario's tolerances, under guided execution (the default: burns at
their planned place in the orbit, trimmed to the planned mean orbit) and open loop (the plan
exactly as written). Where a plan genuinely misses, the test is marked xfail(strict=True)
with the measured cause, so the suite stays green and flags the day the solver is fixed (an
unexpected pass fails the run).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from pathlib import Path

import pytest

from otvplan.constants import (
    EARTH,
    EARTH_SUN_MEAN_MOTION_RAD_S,
    J2_EARTH,
    MU_EARTH_KM3_S2,
    R_EARTH_KM,
)
from otvplan.core.orbits import ltan_to_raan, sso_inclination
from otvplan.core.timeutil import julian_date
from otvplan.flight.verify import (
    TRIM_FLOOR_KMS,
    TRIM_FRACTION,
    WINDOW_PERIODS,
    Verification,
    target_at,
    verify,
)
from otvplan.io import scenario as scenario_mod
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
from otvplan.planning.solver import plan as solve
from paths import SCENARIOS

EPOCH = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)

#: Scenarios whose current plans miss their targets under guided execution (two-body + J2),
#: with the measured cause. See docs/verification.md.
KNOWN_FAILURES: dict[str, str] = {}

#: Scenarios whose current plans miss their targets when flown open loop (burns at their
#: planned epochs with their planned delta-v), with the measured cause.
OPEN_LOOP_FAILURES = {
    "gto_to_geo": (
        "the GTO apogee burn is sized from mean elements, but the osculating apogee radius is "
        "7.4 km below the mean one (J2 short-period terms of the 27 deg GTO), so the GEO mean "
        "a ends 7.58 km low (tol 2 km) and microgeo-b's longitude drifts 0.097 deg/day, "
        "+3.46 deg after 35.6 d (tol 0.05 deg); guided: a 0.31 m/s trim (0.02 %) fixes it"
    ),
    "sso_rideshare": (
        "burns sized from mean-element speeds leave the drift orbits' mean a +0.085 and +0.109 "
        "km off, so after the 73-day drifts the tug's argument of latitude is -7.1 and -18.2 "
        "deg from the plan and the fixed-epoch plane-change burns miss the node line: RAAN "
        "-0.130/-0.172/+0.158/+0.223 deg, i +0.168..+0.188 deg (tol 0.1/0.05); guided: "
        "every delivery within 0.007 deg"
    ),
    "mid_inclination": (
        "plane-change burns sized from mean elements leave the mean a +1.0 km off (the J2 "
        "short-period term 3/2 J2 R^2/a sin^2 i cos 2u changes with i), so after the 62-day "
        "drift the fixed-epoch burns fire 81 deg of argument of latitude from the node line: "
        "i +1.35/-4.56 deg, RAAN +2.43/-12.93 deg; guided: within 0.001 deg and 1 m"
    ),
}


@functools.cache
def _plan_for(path: str) -> Plan:
    return solve(scenario_mod.load(path))


@functools.cache
def _verification_for(path: str, execution: str = "guided") -> Verification:
    return verify(_plan_for(path), execution=execution)


def _has_impulsive_burns(path) -> bool:
    """Open-loop and guided execution fly low-thrust arcs alike; only plans with impulsive
    burns differ (electric_tug has none, and takes half a minute to fly)."""
    return "electric" not in Path(path).stem


def _scenario_params(failures=None, select=lambda path: True):
    failures = KNOWN_FAILURES if failures is None else failures
    params = []
    for path in SCENARIOS:
        if not select(path):
            continue
        marks = []
        if path.stem in failures:
            marks.append(pytest.mark.xfail(strict=True, reason=failures[path.stem]))
        params.append(pytest.param(str(path), id=path.stem, marks=marks))
    return params


def _describe(v: Verification) -> str:
    lines = [f"{v.scenario}: {len(v.failures)} failed rows"]
    for c in v.failures:
        scale = math.degrees(1.0) if c.unit == "rad" else 1.0
        unit = "deg" if c.unit == "rad" else c.unit
        lines.append(
            f"  {c.payload} {c.element}: error {c.error * scale:+.4f}, "
            f"tolerance {c.tolerance * scale:.4f} ({unit})"
        )
    lines += [f"  mass: {n}" for n in v.mass.notes]
    lines += [f"  burn leg {x.leg} {x.label}: {x.note}" for x in v.failed_burns]
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("path", _scenario_params())
def test_every_scenario_verifies_within_default_tolerances(path):
    """Guided execution (the default): every burn finds its place in its window, needs a trim
    within its limit, and every delivery is within the scenario's tolerances."""
    v = _verification_for(path)
    p = _plan_for(path)
    assert v.execution == "guided"
    assert len(v.deliveries) == len(p.delivered)
    assert v.mass.passed, _describe(v)
    assert not v.failed_burns, _describe(v)
    assert v.passed, _describe(v)


@pytest.mark.slow
@pytest.mark.parametrize("path", _scenario_params(OPEN_LOOP_FAILURES, _has_impulsive_burns))
def test_every_scenario_verifies_open_loop(path):
    """The plan exactly as written: burns at their epochs with their planned delta-v."""
    v = _verification_for(path, "open-loop")
    assert v.execution == "open-loop"
    assert v.mass.passed, _describe(v)
    assert v.passed, _describe(v)


@pytest.mark.slow
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
    # one execution row per burn; impulsive burns fire at their planned place in the orbit,
    # within their window (measured: at most 0.007 of a period from the planned epoch)
    assert [(x.leg, x.label) for x in v.executions] == [(b.leg, b.label) for b in v.burns]
    previous = -1.0
    for x in v.executions:
        if x.low_thrust:
            assert x.shift_s == 0.0 and x.trim_kms == 0.0
            previous = x.fired_t_s
            continue
        assert not x.mistimed
        assert abs(x.shift_s) <= 0.05 * x.window_s / WINDOW_PERIODS
        du = math.remainder(x.fired_u_rad - x.planned_u_rad, 2 * math.pi)
        if x.fired_t_s == previous:  # planned where the previous burn fired, a hair behind it
            assert 0.0 <= du < math.radians(0.01)
        else:
            assert abs(du) < 1e-6
        previous = x.fired_t_s
        assert x.trim_limit_kms == pytest.approx(
            max(TRIM_FLOOR_KMS, TRIM_FRACTION * x.dv_planned_kms)
        )
        assert x.trim_fraction < 0.005 or x.trim_kms < 1e-4  # measured: <= 0.12 %
        assert abs(x.a_residual_km) <= 1e-3  # the trim reached the planned mean a
        if x.i_residual_rad is not None:
            assert abs(x.i_residual_rad) <= 3.5e-6
    # the trims' propellant is reported and small against the plan's margin
    assert abs(v.mass.trim_propellant_kg) < 0.1 * max(v.mass.margin_kg, 1.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [str(p) for p in SCENARIOS if _has_impulsive_burns(p)],
    ids=[p.stem for p in SCENARIOS if _has_impulsive_burns(p)],
)
def test_open_loop_flies_the_plan_as_written(path):
    v = _verification_for(path, "open-loop")
    assert all(abs(b.shift_s) < 1e-3 for b in v.burns)
    assert all(x.shift_s == 0.0 and x.trim_kms == 0.0 and x.passed for x in v.executions)
    assert v.mass.trim_propellant_kg == 0.0


# --------------------------------------------------------------------------------------------
# A small plan that verifies, and broken copies of it
# --------------------------------------------------------------------------------------------


def _small_scenario(**payload_target) -> Scenario:
    target = dict(a_km=R_EARTH_KM + 600.0, inc_rad=math.radians(53.2), raan_rad=math.radians(40.0))
    target.update(payload_target)
    return Scenario(
        name="small-direct",
        epoch=EPOCH,
        dropoff=OrbitSpec(
            a_km=R_EARTH_KM + 500.0,
            inc_rad=math.radians(53.0),
            raan_rad=math.radians(40.0),
            slot_rad=0.0,
        ),
        tug=Tug("tug", 150.0, 60.0, 80.0, 1.0, (Engine("main", "chemical", 300.0, 220.0),)),
        payloads=(Payload("p1", 50.0, OrbitSpec(**target)),),
        constraints=Constraints(max_duration_s=10 * 86400.0),
    )


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
    return dataclasses.replace(p, legs=(dataclasses.replace(leg, burns=tuple(burns)),) + p.legs[1:])


def test_small_plan_verifies(small_verification):
    v = small_verification
    assert v.passed, _describe(v)
    (d,) = v.deliveries
    rows = {c.element: c for c in d.checks}
    assert abs(rows["a"].error) < 0.005  # km
    assert abs(rows["i"].error) < math.radians(1e-4)
    assert abs(rows["raan"].error) < math.radians(1e-3)
    assert not rows["slot"].checked and rows["slot"].passed  # free slot is reported only
    assert v.force_model == "two-body + J2"
    assert v.mass.passed and v.mass.max_chain_error_kg < 1e-9
    assert dict(v.stats)["days_propagated"] == pytest.approx(d.t_s / 86400.0)


def test_guided_burns_fire_at_their_place_with_small_trims(small_plan, small_verification):
    """Each burn fires where the tug crosses its planned argument of latitude (seconds from
    its epoch) and its trim (0.01 m/s, 0.04 % of the burn) brings the mean a to the planned
    one to a metre and the mean i to 2e-4 deg."""
    v = small_verification
    assert v.execution == "guided" and len(v.executions) == 2
    for x, b in zip(v.executions, small_plan.legs[0].burns):
        assert x.passed and not x.mistimed, x.note
        assert x.planned_t_s == b.t_s and x.fired_t_s == pytest.approx(b.t_s, abs=10.0)
        assert x.window_s == pytest.approx(
            WINDOW_PERIODS
            * 2
            * math.pi
            * math.sqrt(
                (R_EARTH_KM + 500.0 + (50.0 if b is small_plan.legs[0].burns[1] else 0.0)) ** 3
                / 398600.4418
            ),
            rel=2e-3,
        )
        assert abs(math.remainder(x.fired_u_rad - b.u_rad, 2 * math.pi)) < 1e-6
        assert x.trimmed == "a+i"  # a plane change at a node: a and i are trimmed
        assert 0.0 < x.trim_kms < 0.1 * x.trim_limit_kms
        assert x.trim_limit_kms == pytest.approx(max(5e-4, 0.02 * x.dv_planned_kms))
        assert abs(x.a_residual_km) <= 1e-3 and abs(x.i_residual_rad) <= 3.5e-6
    for bc in v.burns:
        assert abs(bc.a_error_km) < 1e-3
    assert abs(v.mass.trim_propellant_kg) < 0.01
    assert v.mass.final_mass_propagated_kg == pytest.approx(small_plan.final_mass_kg, rel=1e-9)


def test_burn_with_flipped_sign_fails_guided(small_plan):
    """Guided: reaching the planned orbit needs a trim of twice the burn (60.8 m/s against a
    0.61 m/s limit): a plan error, reported on the burn."""
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, dv_tnw_kms=tuple(-x for x in b.dv_tnw_kms))
    v = verify(broken, trace_burns=False)
    assert not v.passed
    (x,) = v.failed_burns
    assert x.label == b.label and not x.mistimed
    assert x.trim_kms == pytest.approx(2.0 * b.dv_kms, rel=0.01)
    assert x.trim_kms > 50 * x.trim_limit_kms
    assert "exceeds the limit" in x.note


def test_burn_with_flipped_sign_fails_open_loop(small_plan):
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, dv_tnw_kms=tuple(-x for x in b.dv_tnw_kms))
    v = verify(broken, execution="open-loop", trace_burns=False)
    assert not v.passed
    failed = {c.element for c in v.failures}
    assert {"a", "e", "i"} <= failed
    assert not v.failed_burns  # open loop judges the deliveries only


@pytest.mark.parametrize("offset_s", [1200.0, -1200.0])
def test_burn_moved_twenty_minutes_fails_guided(small_plan, offset_s):
    """Guided: 20 min is 0.21 of the transfer orbit's period, beyond the +-0.125 window, so
    the burn's node is not crossed in its window: mistimed. Fired at its (wrong) epoch it also
    misses the target."""
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, t_s=b.t_s + offset_s)
    v = verify(broken, trace_burns=False)
    assert not v.passed
    (x,) = v.failed_burns
    assert x.mistimed and "no crossing" in x.note
    assert x.fired_t_s == pytest.approx(b.t_s + offset_s)
    assert abs(offset_s) > x.window_s
    assert {"e", "i", "raan"} <= {c.element for c in v.failures}


def test_burn_moved_twenty_minutes_late_fails_open_loop(small_plan):
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, t_s=b.t_s + 1200.0)
    v = verify(broken, execution="open-loop", trace_burns=False)
    assert not v.passed
    assert "e" in {c.element for c in v.failures}


def test_guided_refires_a_displaced_burn_where_it_belongs(small_plan):
    """A burn whose epoch is 5 min off (inside its +-12 min window) fires at its node."""
    b = small_plan.legs[0].burns[1]
    broken = _with_burn(small_plan, 1, t_s=b.t_s + 300.0)
    v = verify(broken)
    assert v.passed, _describe(v)
    assert v.executions[1].shift_s == pytest.approx(-300.0, abs=5.0)
    assert v.burns[1].shift_s == pytest.approx(-300.0, abs=5.0)
    # the delivery follows the burn (planned with the original epoch, it comes right after)
    assert v.deliveries[0].t_s == v.executions[1].fired_t_s
    with pytest.raises(ValueError):
        verify(small_plan, execution="later")


def test_untrimmed_guided_execution_is_a_diagnostic(small_plan):
    """trim=False: burns at their place with the planned delta-v (how far the plan's own
    delta-v lands: tens of metres here)."""
    v = verify(small_plan, trim=False, trace_burns=False)
    assert all(x.trim_kms == 0.0 and x.trimmed == "" for x in v.executions)
    assert all(x.a_residual_km is None for x in v.executions)
    assert v.mass.trim_propellant_kg == 0.0
    assert abs(v.deliveries[0].checks[0].error) < 0.1


def test_mass_bookkeeping_error_fails(small_plan):
    broken = dataclasses.replace(small_plan, propellant_used_kg=small_plan.propellant_used_kg + 1.0)
    v = verify(broken, trace_burns=False)
    assert v.deliveries[0].passed
    assert not v.mass.passed and not v.passed
    assert any("the plan says" in n for n in v.mass.notes)


def test_trims_must_fit_in_the_propellant_margin(small_plan, small_verification):
    """The trims' propellant comes out of the plan's margin above the reserve."""
    from otvplan.flight.verify import _mass_check

    m = small_verification.mass
    assert m.margin_kg == pytest.approx(small_plan.propellant_margin_kg)
    args = (small_plan, m.propagated_propellant_kg, m.final_mass_propagated_kg)
    assert _mass_check(*args, trim_kg=0.5 * m.margin_kg).passed
    over = _mass_check(*args, trim_kg=m.margin_kg + 0.01)
    assert not over.passed
    assert any("margin" in n for n in over.notes)


def test_burn_trace_locates_the_error(small_plan, small_verification):
    for bc in small_verification.burns:
        assert abs(bc.a_error_km) < 0.05
        assert abs(bc.raan_error_rad) < math.radians(1e-3)
    b = small_plan.legs[0].burns[0]
    broken = _with_burn(small_plan, 0, dv_tnw_kms=(b.dv_tnw_kms[0] * 1.1,) + b.dv_tnw_kms[1:])
    v = verify(broken, execution="open-loop")
    assert abs(v.burns[0].a_error_km) > 1.0  # the first burn is where it went wrong
    # guided: the trim repairs the orbit but the first burn needs 10 % of its T component
    v = verify(broken, trace_burns=False)
    assert [x.label for x in v.failed_burns] == [b.label]
    assert v.failed_burns[0].trim_kms == pytest.approx(0.1 * b.dv_tnw_kms[0], rel=0.02)


def test_rows_are_plain_data(small_verification):
    data = to_data(small_verification)
    text = json.dumps(data)
    assert '"element": "raan"' in text
    assert len(small_verification.rows) == 5
    row = data["deliveries"][0]["checks"][0]
    assert set(row) >= {
        "payload",
        "element",
        "unit",
        "target",
        "planned",
        "achieved",
        "error",
        "tolerance",
        "checked",
        "passed",
    }


def test_higher_fidelity_force_models_run(small_plan):
    """J2-J4 and drag change the answer by metres over this one-hour leg (open loop); guided
    execution trims them away. Both pass."""
    for execution in ("open-loop", "guided"):
        v = verify(small_plan, execution=execution, zonal=4, drag=True, trace_burns=False)
        assert "J2/J3/J4" in v.force_model and "drag" in v.force_model
        assert v.passed, _describe(v)
    v = verify(small_plan, execution="open-loop", zonal=4, drag=True, trace_burns=False)
    base = verify(small_plan, execution="open-loop", trace_burns=False)
    da = v.deliveries[0].achieved.a_km - base.deliveries[0].achieved.a_km
    assert 0.0 < abs(da) < 0.1


def test_target_with_slot_and_equatorial_target_rows():
    """A slot target is checked as an argument of latitude; an equatorial one as a longitude
    with its RAAN reported but unchecked."""
    p = solve(
        _small_scenario(
            a_km=R_EARTH_KM + 500.0, inc_rad=math.radians(53.0), slot_rad=math.radians(30.0)
        )
    )
    v = verify(p, trace_burns=False)
    rows = {c.element: c for c in v.rows}
    assert rows["slot"].checked
    eq = Scenario(
        name="equatorial",
        epoch=EPOCH,
        dropoff=OrbitSpec(a_km=R_EARTH_KM + 700.0, inc_rad=0.0, raan_rad=0.0, slot_rad=0.0),
        tug=Tug("tug", 150.0, 60.0, 80.0, 1.0, (Engine("main", "chemical", 300.0, 220.0),)),
        payloads=(
            Payload(
                "p1",
                50.0,
                OrbitSpec(a_km=R_EARTH_KM + 800.0, raan_rad=0.0, slot_rad=math.radians(10.0)),
            ),
        ),
    )
    v = verify(solve(eq), trace_burns=False)
    rows = {c.element: c for c in v.rows}
    assert set(rows) == {"a", "e", "i", "raan", "longitude"}
    assert not rows["raan"].checked
    assert rows["longitude"].checked
    # guided burns in an equatorial orbit find their place by true longitude
    assert all(x.equatorial and x.passed and abs(x.shift_s) < 30.0 for x in v.executions)


def test_sso_target_raan_follows_the_mean_sun():
    """Targets advance at the planning model's secular rates; a sun-synchronous target (its
    inclination solved with the same second-order model) keeps its local time."""
    a = R_EARTH_KM + 550.0
    raan0 = float(ltan_to_raan(10.5, julian_date(EPOCH)))
    spec = OrbitSpec(
        a_km=a, inc_rad=sso_inclination(a, order=2), raan_rad=raan0, sso=True, ltan_h=10.5
    )
    t = 30 * 86400.0
    raan, slot = target_at(spec, t)
    assert slot is None
    expect = (raan0 + EARTH_SUN_MEAN_MOTION_RAD_S * t) % (2 * math.pi)
    assert raan == pytest.approx(expect, abs=1e-9)
    assert target_at(OrbitSpec(a_km=a, inc_rad=1.0), t) == (None, None)


def test_earth_is_the_body_the_kernels_read():
    """``constants.EARTH`` is the (mu, R, J2) triple of the planning model, under its field
    names and under the short names a leg context uses (``mu``, ``r_eq``, ``j2``)."""
    assert EARTH == (MU_EARTH_KM3_S2, R_EARTH_KM, J2_EARTH)
    assert (EARTH.mu, EARTH.r_eq, EARTH.j2) == (EARTH.mu_km3_s2, EARTH.r_eq_km, J2_EARTH)
    other = EARTH._replace(mu_km3_s2=398600.0)
    assert (other.mu, other.r_eq) == (398600.0, R_EARTH_KM)


# --------------------------------------------------------------------------------------------
# Low thrust
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def electric_verification():
    sc = Scenario(
        name="small-electric",
        epoch=EPOCH,
        dropoff=OrbitSpec(
            a_km=R_EARTH_KM + 500.0,
            inc_rad=math.radians(53.0),
            raan_rad=math.radians(40.0),
            slot_rad=0.0,
        ),
        tug=Tug("tug", 150.0, 20.0, 30.0, 0.5, (Engine("hall", "electric", 1500.0, 0.2),)),
        payloads=(
            Payload("p1", 50.0, OrbitSpec(a_km=R_EARTH_KM + 600.0, inc_rad=math.radians(53.3))),
        ),
        constraints=Constraints(max_duration_s=30 * 86400.0),
    )
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


# --------------------------------------------------------------------------------------------
# The compiled integrator (verify's default backend) against SciPy's
# --------------------------------------------------------------------------------------------


def _leo_state(mass_kg: float = 500.0):
    import numpy as np

    from otvplan.core.orbits import coe_to_rv

    r, v = coe_to_rv(R_EARTH_KM + 525.0, 0.001, math.radians(97.5), 1.0, 0.0, 0.3)
    return np.r_[r, v, mass_kg]


@pytest.mark.parametrize(
    "case", ["j2", "j2-j4-drag", "backward", "short", "edelbaum-arc", "tangential-arc"]
)
def test_compiled_backend_takes_the_steps_of_ode(case, accelerated):
    """``backend="compiled"`` is SciPy's ``ode("dop853")`` compiled: the same steps, the same
    right-hand side, so the same states to the last bit (and the same evaluation count) for
    coasts, every force model, backward, sub-millisecond intervals and both steering laws."""
    import numpy as np

    from otvplan.flight import propagation as pr

    y0 = _leo_state()
    force, arc, t0, t1 = pr.ForceModel(), None, 0.0, 86400.0
    if case == "j2-j4-drag":
        force = pr.ForceModel(zonal=4, drag=True)
    elif case == "backward":
        t0, t1 = 5000.0, 100.0
    elif case == "short":
        t1 = 4e-4
    elif case == "edelbaum-arc":
        force = pr.ForceModel(zonal=4, drag=True)
        arc = pr.ThrustArc(0.2, 1500.0, 500.0, 7.6, 0.3, 0.5)
    elif case == "tangential-arc":
        arc = pr.ThrustArc(0.2, 1500.0, 500.0, 7.6, math.pi, 0.0)
    a = pr.propagate(t0, y0, t1, force, arc, backend="ode")
    b = pr.propagate(t0, y0, t1, force, arc, backend="compiled")
    assert b.nfev == a.nfev
    np.testing.assert_array_equal(b.y, a.y)


def test_compiled_dense_output_and_mean_elements_agree_with_solve_ivp(accelerated):
    """The compiled dense output (DOP853's interpolant, solve_ivp's tolerances) agrees with
    solve_ivp's to a millimetre over an orbit; the mean elements averaged on it agree to
    10 micrometres in a (measured 2.3) and 1e-10 rad."""
    import numpy as np

    from otvplan.flight import propagation as pr

    y0 = _leo_state()
    a = pr.propagate(0.0, y0, 6000.0, dense=True)
    b = pr.propagate(0.0, y0, 6000.0, dense=True, backend="compiled")
    ts = np.linspace(0.0, 6000.0, 97)
    assert b.sol(ts).shape == (7, 97) and b.sol(33.0).shape == (7,)
    assert np.abs(b.sol(ts)[:3] - a.sol(ts)[:3]).max() < 1e-6
    np.testing.assert_allclose(b.sol(6000.0), b.y, rtol=0, atol=1e-9)
    ma, mb = pr.mean_orbit(0.0, y0), pr.mean_orbit(0.0, y0, backend="compiled")
    assert abs(ma.a_km - mb.a_km) < 1e-8
    for x, y in ((ma.u_rad, mb.u_rad), (ma.raan_rad, mb.raan_rad), (ma.inc_rad, mb.inc_rad)):
        assert abs(x - y) < 1e-10


def test_verify_backends_agree(small_plan, accelerated):
    """The compiled and SciPy's ``ode`` backend fly the small plan alike: the coasts are the
    same steps, only the mean elements' averaging differs (below a millimetre)."""
    for execution in ("guided", "open-loop"):
        c = verify(small_plan, execution=execution, trace_burns=False, backend="compiled")
        o = verify(small_plan, execution=execution, trace_burns=False, backend="ode")
        assert c.passed == o.passed
        assert dict(c.stats)["rhs_evaluations"] > 0
        for dc, do in zip(c.deliveries, o.deliveries, strict=True):
            assert abs(dc.t_s - do.t_s) < 1e-3
            assert abs(dc.achieved.a_km - do.achieved.a_km) < 1e-6
            assert abs(dc.achieved.u_rad - do.achieved.u_rad) < 1e-9
            assert abs(dc.achieved.inc_rad - do.achieved.inc_rad) < 1e-10
        for xc, xo in zip(c.executions, o.executions, strict=True):
            assert abs(xc.fired_t_s - xo.fired_t_s) < 1e-3
            assert max(abs(p - q) for p, q in zip(xc.trim_tnw_kms, xo.trim_tnw_kms)) < 1e-9


LONG_PHASING = """\
name: long-phasing
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 550 km, sso: true, ltan: "10:30", slot: 0 deg}
tug:
  name: tug
  dry_mass: 300 kg
  propellant: 60 kg
  engines: [{name: hydrazine, type: chemical, isp: 220 s, thrust: 22 N}]
payloads:
  - {name: slot-a, mass: 30 kg, target: {altitude: 550 km, sso: true, ltan: "10:30", slot: 120 deg}}
  - {name: slot-b, mass: 30 kg, target: {altitude: 550 km, sso: true, ltan: "10:30", slot: 240 deg}}
constraints:
  max_duration: 90 d
"""


def test_a_slot_phased_over_hundreds_of_revolutions_is_where_the_plan_says():
    """Two slots in the drop-off plane, phased over about 700 and 365 revolutions, flown in the
    propagator (guided, two-body + J2). Where is the slot really? A reference satellite put
    in it at the epoch (osculating_from_mean) and propagated to the delivery: the tug's mean
    argument of latitude minus the reference's is the true slot error. The verification's own
    slot error (against the target carried at the planning rate) and the plan's planned error
    both equal it to 0.02 deg. With Brouwer's u rate as the planning rate (before
    orbits.averaged_elements_term) the target was carried 0.40 deg past where the slot is
    after 47 days, and both said so of a delivery that was in fact 0.005 deg from its slot."""
    import numpy as np

    from otvplan.flight import propagation as pr
    from otvplan.model import OrbitState

    sc = scenario_mod.loads(LONG_PHASING, filename="long-phasing.yaml")
    p = solve(sc)
    assert any("phasing(7" in leg.strategy for leg in p.legs), [leg.strategy for leg in p.legs]
    v = verify(p)
    assert v.passed

    def wrap_deg(x: float) -> float:
        return math.degrees(math.remainder(x, 2 * math.pi))

    for d in v.deliveries:
        tgt = next(x.target for x in sc.payloads if x.name == d.payload)
        start = OrbitState(0.0, tgt.a_km, 0.0, tgt.inc_rad, tgt.raan_rad, 0.0, tgt.slot_rad)
        r, vel, _ = pr.osculating_from_mean(start)
        seg = pr.propagate(0.0, np.r_[r, vel, 1.0], d.achieved.t_s)
        true_error = wrap_deg(d.achieved.u_rad - pr.mean_orbit(d.achieved.t_s, seg.y).u_rad)
        slot = next(c for c in d.checks if c.element == "slot")
        assert abs(wrap_deg(slot.error) - true_error) < 0.02, d.payload
        assert abs(wrap_deg(slot.planned - slot.target) - true_error) < 0.02, d.payload
