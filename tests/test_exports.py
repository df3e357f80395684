"""CCSDS OEM/OPM and GMAT exports, read back with independent parsers (PyPI ``oem`` and
``ccsds-ndm``) and compared value by value."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest

import otvplan.reporting.report as report
from otvplan.core.timeutil import julian_date
from otvplan.flight import trajectory as tr
from otvplan.reporting import exports as ex
from paths import GOLDEN

CREATED = dt.datetime(2026, 1, 1, 12, 0, 0)


def load_fixture(name: str):
    return report.plan_from_json((GOLDEN / f"{name}_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def minimal():
    return load_fixture("minimal")


@pytest.fixture(scope="module")
def electric():
    return load_fixture("electric")


def seconds_after_epoch(plan, moment: dt.datetime) -> float:
    epoch = plan.scenario.epoch.astimezone(dt.UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return (moment - epoch).total_seconds()


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def test_precession_matches_sofa():
    erfa = pytest.importorskip("erfa")
    jd = julian_date(dt.datetime(2027, 3, 1, 10, tzinfo=dt.UTC))
    ours = ex.mod_to_j2000(jd)
    sofa = np.asarray(erfa.pmat76(jd, 0.0)).T  # pmat76: J2000 -> mean of date
    np.testing.assert_allclose(ours, sofa, atol=1e-12)
    np.testing.assert_allclose(ours @ ours.T, np.eye(3), atol=1e-14)


def test_precession_angles_vallado_example_3_14():
    # Vallado 4th ed. Example 3-14 (2004-04-06 07:51:28.386 UT1, TT centuries 0.0426236319):
    # zeta = 0.0273055 deg, theta = 0.0237306 deg, z = 0.0273059 deg
    t_tt = 0.0426236319
    zeta, theta, z = ex.precession_angles(2451545.0 + t_tt * 36525.0)
    assert math.degrees(zeta) == pytest.approx(0.0273055, abs=2e-7)
    assert math.degrees(theta) == pytest.approx(0.0237306, abs=2e-7)
    assert math.degrees(z) == pytest.approx(0.0273059, abs=2e-7)


def test_tnw_to_vnb():
    assert ex.tnw_to_vnb((1.0, 2.0, 3.0)) == (1.0, 3.0, -2.0)
    # B = V x N in VNB equals -N of TNW: check with explicit unit vectors
    t = np.array([0.0, 1.0, 0.0])
    w = np.array([0.0, 0.0, 1.0])
    n_tnw = np.cross(w, t)
    b_vnb = np.cross(t, w)
    np.testing.assert_allclose(b_vnb, -n_tnw)


# --------------------------------------------------------------------------------------------
# OEM
# --------------------------------------------------------------------------------------------


def test_oem_reads_back_with_the_oem_package(tmp_path, minimal):
    oem_pkg = pytest.importorskip("oem")
    path = ex.write_oem(minimal, tmp_path / "plan.oem", step_s=1800.0, created=CREATED)
    msg = oem_pkg.OrbitEphemerisMessage.open(path)
    assert msg.version == "3.0"
    segments = list(msg)
    expected = ex.oem_segments(minimal, step_s=1800.0)
    assert len(segments) == len(expected)
    # a new segment at each burn: segment boundaries are the plan's burn epochs
    starts = [seconds_after_epoch(minimal, s.metadata["START_TIME"].datetime) for s in segments]
    burn_times = sorted({b.t_s for leg in minimal.legs for b in leg.burns if b.t_s > 0.0})
    for tb in burn_times:
        assert min(abs(s - tb) for s in starts) < 1e-5
    m = ex.frame_rotation(minimal)
    for seg, (t_exp, _label) in zip(segments, expected):
        assert seg.metadata["REF_FRAME"] == "EME2000"
        assert seg.metadata["CENTER_NAME"] == "EARTH"
        assert seg.metadata["TIME_SYSTEM"] == "UTC"
        states = list(seg)
        assert len(states) == len(t_exp)
        t = np.array([seconds_after_epoch(minimal, s.epoch.datetime) for s in states])
        np.testing.assert_allclose(t, t_exp, atol=1e-6)
        pos = np.array([s.position for s in states])
        vel = np.array([s.velocity for s in states])
        r0, v0 = tr.ephemeris_states(minimal, t_exp[:-1], side="right")
        r1, v1 = tr.ephemeris_states(minimal, t_exp[-1:], side="left")
        np.testing.assert_allclose(pos, np.concatenate([r0, r1]) @ m.T, atol=2e-6)
        np.testing.assert_allclose(vel, np.concatenate([v0, v1]) @ m.T, atol=2e-9)


def test_oem_reads_back_with_ccsds_ndm(electric):
    ndm = pytest.importorskip("ccsds_ndm.ndm_kvn_io")
    text = ex.oem_text(electric, step_s=86400.0, created=CREATED)
    msg = ndm.NdmKvnIo().from_string(text)
    segs = msg.body.segment
    expected = ex.oem_segments(electric, step_s=86400.0)
    assert len(segs) == len(expected)
    # low-thrust arcs are segments of their own
    arcs = [b for _l, b in tr.burns_in_order(electric) if tr.is_arc(b)]
    spans = {(round(t[0], 6), round(t[-1], 6)) for t, _label in expected}
    assert arcs and all((round(b.t_s, 6), round(b.orbit_after.t_s, 6)) in spans for b in arcs)
    m = ex.frame_rotation(electric)
    seg, (t_exp, _label) = segs[1], expected[1]
    assert seg.metadata.ref_frame == "EME2000"
    lines = seg.data.state_vector
    assert len(lines) == len(t_exp)
    first = lines[0]
    t0 = seconds_after_epoch(electric, dt.datetime.fromisoformat(first.epoch))
    assert t0 == pytest.approx(t_exp[0], abs=1e-6)
    r, v = tr.ephemeris_states(electric, np.array([t_exp[0]]))
    got_r = np.array([first.x.value, first.y.value, first.z.value])
    got_v = np.array([first.x_dot.value, first.y_dot.value, first.z_dot.value])
    np.testing.assert_allclose(got_r, (r @ m.T)[0], atol=2e-6)
    np.testing.assert_allclose(got_v, (v @ m.T)[0], atol=2e-9)


@pytest.mark.parametrize("fixture", ["minimal", "electric"])
def test_oem_velocities_are_the_derivative_of_its_positions(fixture, request):
    """Issue 15 (found by the Orekit cross-check): an ephemeris reader that interpolates with
    the velocities (Hermite) needs each velocity to be d/dt of the positions. Checked against
    a central difference of the positions (0.01 s) inside every OEM segment, coasts and
    low-thrust arcs: within 1e-5 km/s (the difference's own error); the Keplerian velocity
    of the mean elements misses by O(J2) of the speed, or far more on an arc."""
    plan = request.getfixturevalue(fixture)
    worst_new = worst_old = 0.0
    for t, _label in ex.oem_segments(plan):
        inner = t[1:-1]
        if inner.size == 0:
            continue
        lo, hi = np.maximum(inner - 0.01, t[0]), np.minimum(inner + 0.01, t[-1])
        fd = (tr.states(plan, hi, side="left")[0] - tr.states(plan, lo, side="right")[0]) / (
            hi - lo
        )[:, None]
        worst_new = max(worst_new, float(np.abs(tr.ephemeris_states(plan, inner)[1] - fd).max()))
        worst_old = max(worst_old, float(np.abs(tr.states(plan, inner)[1] - fd).max()))
    assert worst_new < 1e-5
    assert worst_old > 100 * worst_new  # the check can tell the two apart


def test_oem_default_step(minimal):
    step = ex.default_step_s(minimal)
    assert 200.0 <= step <= 300.0  # ~20 samples per LEO revolution, whole 10 s


# --------------------------------------------------------------------------------------------
# OPM
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["minimal", "electric"])
def test_opm_reads_back_with_ccsds_ndm(tmp_path, name):
    ndm = pytest.importorskip("ccsds_ndm.ndm_kvn_io")
    plan = load_fixture(name)
    path = ex.write_opm(plan, tmp_path / "plan.opm", created=CREATED)
    msg = ndm.NdmKvnIo().from_path(path)
    assert msg.header.creation_date.startswith("2026-01-01T12:00:00")
    seg = msg.body.segment
    assert seg.metadata.ref_frame == "EME2000"
    assert seg.metadata.object_name == plan.scenario.tug.name
    data = seg.data
    sv = data.state_vector
    assert seconds_after_epoch(plan, dt.datetime.fromisoformat(sv.epoch)) == 0.0
    r, v = ex.states_j2000(plan, np.array([0.0]), side="left")
    np.testing.assert_allclose([sv.x.value, sv.y.value, sv.z.value], r[0], atol=2e-6)
    np.testing.assert_allclose([sv.x_dot.value, sv.y_dot.value, sv.z_dot.value], v[0], atol=2e-9)
    kep = data.keplerian_elements
    assert kep.semi_major_axis.value == pytest.approx(plan.scenario.dropoff.a_km, abs=1e-5)
    assert data.spacecraft_parameters.mass.value == pytest.approx(
        plan.scenario.initial_mass_kg, abs=1e-6
    )
    burns = ex.exported_burns(plan)
    mans = data.maneuver_parameters
    assert len(mans) == len(burns) > 0
    for man, (_leg, _k, b) in zip(mans, burns):
        t = seconds_after_epoch(plan, dt.datetime.fromisoformat(man.man_epoch_ignition))
        assert t == pytest.approx(b.t_s, abs=1e-6)
        assert man.man_ref_frame == "TNW"
        dv = [man.man_dv_1.value, man.man_dv_2.value, man.man_dv_3.value]
        np.testing.assert_allclose(dv, b.dv_tnw_kms, atol=1e-9)
        assert man.man_delta_mass.value == pytest.approx(-b.propellant_kg, abs=1e-6)
        arc = tr.is_arc(b)
        assert man.man_duration.value == pytest.approx(b.duration_s if arc else 0.0, abs=1e-3)
    # masses chain: initial mass minus burns and releases equals the final mass
    burnt = -sum(man.man_delta_mass.value for man in mans)
    released = sum(p.mass_kg for p in plan.scenario.payloads if p.name in plan.delivered)
    assert plan.scenario.initial_mass_kg - burnt - released == pytest.approx(
        plan.final_mass_kg, abs=1e-4
    )


# --------------------------------------------------------------------------------------------
# GMAT
# --------------------------------------------------------------------------------------------


def parse_gmat(text: str):
    """A small structural reader of a GMAT script: objects, fields, mission sequence."""
    objects: dict[str, str] = {}
    fields: dict[str, str] = {}
    sequence: list[str] = []
    in_sequence = False
    for raw in text.splitlines():
        line = raw.split("%", 1)[0].strip()
        if not line:
            continue
        assert line.endswith(";"), raw
        line = line[:-1].strip()
        if line == "BeginMissionSequence":
            in_sequence = True
            continue
        m = re.fullmatch(r"Create (\w+) (\w+)", line)
        if m:
            assert not in_sequence
            objects[m.group(2)] = m.group(1)
            continue
        m = re.fullmatch(r"GMAT ([\w.]+) = (.+)", line)
        if m and not in_sequence:
            fields[m.group(1)] = m.group(2)
            continue
        assert in_sequence, raw
        sequence.append(line)
    return objects, fields, sequence


@pytest.mark.parametrize("name", ["minimal", "electric"])
def test_gmat_script_structure(tmp_path, name):
    plan = load_fixture(name)
    path = ex.write_gmat(plan, tmp_path / "plan.script")
    objects, fields, seq = parse_gmat(path.read_text(encoding="utf-8"))
    assert objects["Tug"] == "Spacecraft"
    assert objects["J2Model"] == "ForceModel" and objects["J2Prop"] == "Propagator"
    assert objects["OtvReport"] == "ReportFile" and objects["MainTank"] == "ChemicalTank"
    assert fields["J2Model.GravityField.Earth.Degree"] == "2"
    assert fields["J2Model.GravityField.Earth.Order"] == "0"
    assert fields["Tug.CoordinateSystem"] == "EarthMJ2000Eq"
    assert fields["Tug.DisplayStateType"] == "Keplerian"
    assert fields["Tug.Epoch"] == "'01 Mar 2027 10:00:00.000'" or name != "minimal"
    assert float(fields["Tug.SMA"]) == pytest.approx(plan.scenario.dropoff.a_km, abs=1e-5)
    assert float(fields["MainTank.FuelMass"]) == pytest.approx(plan.scenario.tug.propellant_kg)
    burns = ex.exported_burns(plan)
    names = [n for n, kind in objects.items() if kind == "ImpulsiveBurn"]
    assert len(names) == len(burns)
    for bn, (leg, k, b) in zip(names, burns):
        assert bn == f"Burn_L{leg.index}_{k}"
        assert fields[f"{bn}.Axes"] == "VNB"
        vnb = [float(fields[f"{bn}.Element{j}"]) for j in (1, 2, 3)]
        np.testing.assert_allclose(
            vnb, [b.dv_tnw_kms[0], b.dv_tnw_kms[2], -b.dv_tnw_kms[1]], atol=1e-9
        )
    # the sequence: elapsed propagation up to each maneuver equals the burn epoch
    t = 0.0
    maneuvers = []
    for cmd in seq:
        m = re.fullmatch(r"Propagate J2Prop\(Tug\) \{Tug\.ElapsedSecs = ([\d.]+)\}", cmd)
        if m:
            t += float(m.group(1))
            continue
        m = re.fullmatch(r"Maneuver (\w+)\(Tug\)", cmd)
        if m:
            maneuvers.append((m.group(1), t))
            continue
        assert re.fullmatch(r"GMAT Tug\.DryMass = [\d.]+", cmd), cmd
    assert [m[0] for m in maneuvers] == names
    for (_n, t_man), (_leg, _k, b) in zip(maneuvers, burns):
        arc = tr.is_arc(b)
        assert t_man == pytest.approx(b.t_s + (0.5 * b.duration_s if arc else 0.0), abs=1e-5)
    releases = [c for c in seq if c.startswith("GMAT Tug.DryMass")]
    assert len(releases) == len(plan.delivered)
    final_dry = float(releases[-1].split("=")[1])
    undelivered = sum(p.mass_kg for p in plan.scenario.payloads if p.name in plan.undelivered)
    assert final_dry == pytest.approx(plan.scenario.tug.dry_mass_kg + undelivered, abs=1e-6)


def test_write_report_with_exports(tmp_path, minimal):
    paths = report.write_report(minimal, tmp_path, figures=False, exports=True)
    names = {p.name for p in paths}
    assert {"plan.oem", "plan.opm", "plan.script"} <= names
    assert (tmp_path / "plan.oem").read_text().startswith("CCSDS_OEM_VERS = 3.0")
