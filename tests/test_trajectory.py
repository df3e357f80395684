"""The analytic mean-element history of a plan (otvplan.flight.trajectory)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from otvplan.constants import R_EARTH_KM
from otvplan.core import orbits
from otvplan.flight import trajectory as tr
from otvplan.model import Engine, OrbitSpec, Plan, Scenario, Tug
from otvplan.reporting.report import plan_from_json
from paths import GOLDEN, SCENARIOS_DIR


@pytest.fixture(scope="module")
def minimal():
    return plan_from_json((GOLDEN / "minimal_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sso():
    return plan_from_json((GOLDEN / "sso_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def electric():
    return plan_from_json((GOLDEN / "electric_plan.json").read_text(encoding="utf-8"))


ISS_INC_RAD = math.radians(51.6)


def coast_plan(
    a=7000.0, e=0.0, inc=ISS_INC_RAD, raan=0.3, argp=0.0, slot=0.2, duration=86400.0
) -> Plan:
    """A plan without legs: the tug coasts in its drop-off orbit."""
    sc = Scenario(
        name="coast",
        epoch=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        dropoff=OrbitSpec(a_km=a, e=e, inc_rad=inc, raan_rad=raan, argp_rad=argp, slot_rad=slot),
        tug=Tug("t", 100.0, 10.0, 10.0, 0.0, (Engine("m", "chemical", 300.0, 10.0),)),
        payloads=(),
    )
    return Plan(
        scenario=sc,
        objective="propellant",
        feasible=True,
        legs=(),
        delivered=(),
        undelivered=(),
        total_dv_kms=0.0,
        propellant_used_kg=0.0,
        propellant_remaining_kg=10.0,
        duration_s=duration,
        final_mass_kg=110.0,
    )


def test_starts_in_the_dropoff_orbit(minimal):
    el = tr.elements_at(minimal, 0.0, side="left")
    d = minimal.scenario.dropoff
    assert el.a == pytest.approx(d.a_km)
    assert el.i == pytest.approx(d.inc_rad)
    assert el.raan == pytest.approx(d.raan_rad)
    assert el.u == pytest.approx(d.slot_rad or 0.0)


def test_coast_follows_the_j2_secular_rates():
    p = coast_plan()
    t = np.array([0.0, 3600.0, 86400.0])
    el = tr.elements_at(p, t)
    rate = orbits.raan_rate(7000.0, 0.0, math.radians(51.6))
    udot = orbits.argument_of_latitude_rate(7000.0, 0.0, math.radians(51.6))
    np.testing.assert_allclose(tr.wrap_pi(el.raan - (0.3 + rate * t)), 0.0, atol=1e-12)
    np.testing.assert_allclose(tr.wrap_pi(el.u - (0.2 + udot * t)), 0.0, atol=1e-9)
    np.testing.assert_allclose(el.a, 7000.0)


def test_elliptic_coast_advances_the_mean_anomaly():
    a, e = 8000.0, 0.1
    inc = math.radians(30.0)
    p = coast_plan(a=a, e=e, inc=inc, argp=1.0, slot=1.0)  # starts at perigee (nu = 0)
    rates = orbits.secular_rates(a, e, inc)
    t_anomalistic = 2.0 * math.pi / rates.mean_anomaly
    el = tr.elements_at(p, np.array([t_anomalistic, 0.5 * t_anomalistic]))
    argp = 1.0 + rates.argp * el.t
    nu = tr.wrap_pi(el.u - argp)
    assert nu[0] == pytest.approx(0.0, abs=1e-9)  # back at perigee after one anomalistic period
    assert abs(nu[1]) == pytest.approx(math.pi, abs=1e-9)  # at apogee half-way
    np.testing.assert_allclose(tr.wrap_pi(el.argp - argp), 0.0, atol=1e-12)


def test_vectorised_over_any_shape(minimal):
    t = np.linspace(0.0, minimal.duration_s, 12).reshape(3, 4)
    el = tr.elements_at(minimal, t)
    assert all(x.shape == (3, 4) for x in el)
    r, v = tr.states(minimal, t)
    assert r.shape == (3, 4, 3) and v.shape == (3, 4, 3)
    # circular mean orbits: |r| = a and |v| = sqrt(mu/a)
    circ = el.e < 1e-9
    np.testing.assert_allclose(np.linalg.norm(r, axis=-1)[circ], el.a[circ], rtol=1e-12)


@pytest.mark.parametrize("fixture", ["minimal", "electric", "sso"])
def test_jumps_to_each_burns_orbit_after(fixture, request):
    p = request.getfixturevalue(fixture)
    burns = tr.burns_in_order(p)
    for k, (_leg, b) in enumerate(burns):
        oa = b.orbit_after
        later = [bb for _l, bb in burns[k + 1 :] if bb.t_s <= oa.t_s + 1e-9]
        if later:  # another burn at the same instant overrides this one
            continue
        el = tr.elements_at(p, oa.t_s)
        assert el.a == pytest.approx(oa.a_km, abs=1e-9)
        assert el.i == pytest.approx(oa.inc_rad, abs=1e-12)
        assert float(tr.wrap_pi(el.raan - oa.raan_rad)) == pytest.approx(0.0, abs=1e-9)
        assert float(tr.wrap_pi(el.u - oa.u_rad)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("fixture", ["minimal", "electric", "sso"])
def test_agrees_with_the_planned_deliveries(fixture, request):
    """Where the history says the tug is at each release is where the solver put it."""
    p = request.getfixturevalue(fixture)
    for leg in p.legs:
        d = leg.delivery
        if d is None:
            continue
        last = leg.burns[-1] if leg.burns else None
        if last is not None and last.orbit_after.t_s >= d.t_s - 1e-9:
            # released right after the arrival burn: the arrival burn's orbit is the release
            # orbit (a departure burn may share the instant, so no side of it shows it)
            ref = last.orbit_after
            assert d.orbit.a_km == pytest.approx(ref.a_km, abs=1e-6)
            continue
        el = tr.elements_at(p, d.t_s, side="left")
        assert el.a == pytest.approx(d.orbit.a_km, abs=1e-6)
        assert math.degrees(abs(float(tr.wrap_pi(el.raan - d.orbit.raan_rad)))) < 1e-3
        assert math.degrees(abs(float(tr.wrap_pi(el.u - d.orbit.u_rad)))) < 1e-2


def test_low_thrust_arcs_are_interpolated_linearly(electric):
    arcs = [b for _l, b in tr.burns_in_order(electric) if tr.is_arc(b)]
    assert arcs
    b = arcs[0]
    t0, t1 = b.t_s, b.orbit_after.t_s
    start = tr.elements_at(electric, t0, side="right")
    end = tr.elements_at(electric, t1, side="left")
    mid = tr.elements_at(electric, 0.5 * (t0 + t1))
    assert mid.a == pytest.approx(0.5 * (start.a + end.a), rel=1e-12)
    assert mid.i == pytest.approx(0.5 * (start.i + end.i), rel=1e-12)
    assert end.a == pytest.approx(b.orbit_after.a_km)


def test_sample_is_ordered_and_keeps_both_sides_of_events(minimal):
    s = tr.sample(minimal, n=200)
    assert np.all(np.diff(s.t) >= 0.0)
    ev = tr.event_times(minimal)
    ev = ev[ev > 0.0]
    for t in ev:
        k = np.nonzero(s.t == t)[0]
        assert k.size >= 2  # before and after
    by_step = tr.sample(minimal, step_s=3600.0)
    assert by_step.t[-1] == pytest.approx(tr.mission_end_s(minimal))
    with pytest.raises(ValueError):
        tr.sample(minimal, step_s=10.0, n=10)


def test_mass_history_matches_the_plan(minimal, electric):
    for p in (minimal, electric):
        h = tr.mass_history(p)
        assert h.mass_kg[0] == pytest.approx(p.scenario.initial_mass_kg)
        assert h.mass_kg[-1] == pytest.approx(p.final_mass_kg, rel=1e-9)
        assert h.propellant_kg[-1] == pytest.approx(p.propellant_remaining_kg, rel=1e-9)
        assert np.all(np.diff(h.t) >= 0.0) and np.all(np.diff(h.mass_kg) <= 1e-9)
        assert [r[1] for r in h.releases] == list(p.delivered)


def test_dv_budget_margin_follows_the_rocket_equation(minimal):
    b = tr.dv_budget(minimal)
    m_end = minimal.final_mass_kg
    left = minimal.propellant_remaining_kg - minimal.scenario.tug.reserve_kg
    # spending the margin at the final mass with this delta-v burns exactly the margin
    assert m_end * (1.0 - math.exp(-b.margin_kms / b.ve_kms)) == pytest.approx(left)
    assert b.available_kms == pytest.approx(b.total_kms + b.margin_kms)
    assert b.total_kms == pytest.approx(sum(x[2] for x in b.legs))


def test_target_raan_drifts_at_the_target_rate(minimal):
    spec = next(p.target for p in minimal.scenario.payloads if p.target.raan_rad is not None)
    t = np.array([0.0, 86400.0])
    raan = tr.target_at(spec, t).raan_rad
    rate = orbits.raan_rate(spec.a_km, spec.e, spec.inc_rad)
    assert float(tr.wrap_pi(raan[1] - raan[0] - rate * 86400.0)) == pytest.approx(0.0, abs=1e-12)
    assert R_EARTH_KM < spec.a_km


def test_a_burn_at_the_epoch_still_shows_the_dropoff_orbit():
    """gto_to_geo's drop-off sits at apogee at the epoch, so the first burn is at t = 0: the
    sampled history must start in the drop-off orbit (the GTO), then jump to the orbit after
    the burn (found looking at the report's element figure, which began at GEO)."""
    from otvplan.io import scenario
    from otvplan.planning import solver

    plan = solver.plan(scenario.load(SCENARIOS_DIR / "gto_to_geo.yaml"))
    assert tr.event_times(plan)[0] == 0.0
    s = tr.sample(plan, n=20)
    drop = plan.scenario.dropoff
    assert s.t[0] == 0.0 and s.a[0] == pytest.approx(drop.a_km, abs=1e-9)
    assert s.i[0] == pytest.approx(drop.inc_rad, abs=1e-12)
    # then the orbit after everything done at the epoch (here: GEO, the release of the first
    # satellite and the burn into the drift orbit below GEO)
    after = tr.elements_at(plan, np.array([0.0]), side="right")
    assert s.t[1] == 0.0 and s.a[1] == pytest.approx(float(after.a[0]), abs=1e-9)
    assert s.a[1] > drop.a_km + 10_000.0
