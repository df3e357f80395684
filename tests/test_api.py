"""The library's front door (otvplan/__init__.py, otvplan.api): the public functions stay
callable whatever was imported before, and every input form the README advertises (path, YAML
text, dict of strings, astropy Quantities, boinor ``Orbit``) gives the same scenario.

Import-order checks run in a fresh interpreter (a subprocess): this test process has long since
imported every submodule.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import math
import subprocess
import sys
import textwrap

import pytest

import otvplan
from otvplan import api
from otvplan.errors import ScenarioError
from otvplan.model import Plan, Scenario
from paths import MINIMAL, REPO


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Public functions vs namesake submodules
# --------------------------------------------------------------------------------------------


def test_verify_can_be_called_twice_and_after_importing_its_module():
    """Issue 13 item 5: the second otvplan.verify(plan) raised "'module' object is not
    callable" (the first call imported otvplan.flight.verify, which replaced the function)."""
    out = run_python("""
        import json
        import otvplan
        plan = otvplan.plan("otvplan/examples/minimal.yaml")
        first = otvplan.verify(plan).passed
        second = otvplan.verify(plan).passed
        import otvplan.flight.verify
        third = otvplan.verify(plan, execution="open-loop").execution
        print(json.dumps([first, second, third]))
    """)
    assert out == [True, True, "open-loop"]


def test_every_public_function_survives_the_import_of_every_submodule():
    """Every module of every layer package imported, the package's public names are still the
    functions of otvplan.api (a submodule named like one would replace it)."""
    out = run_python("""
        import importlib, json, pkgutil
        import otvplan
        before = {name: getattr(otvplan, name).__module__ for name in otvplan.__all__
                  if name != "__version__"}
        names = []
        for info in pkgutil.walk_packages(otvplan.__path__, "otvplan."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
                names.append(info.name)
        after = {name: getattr(otvplan, name).__module__ for name in otvplan.__all__
                 if name != "__version__"}
        print(json.dumps({"before": before, "after": after, "modules": names}))
    """)
    assert out["before"] == out["after"]
    assert set(out["after"]) >= {
        "load_scenario",
        "plan",
        "verify",
        "report",
        "sweep",
        "summary",
        "leg_table",
    }
    assert all(module in ("otvplan.api", "otvplan.errors") for module in out["after"].values())
    assert "otvplan.flight.verify" in out["modules"]  # the walk reached the layer packages


def test_no_module_is_a_namesake_of_a_public_function():
    """Issue 13: a module named like a public function (``otvplan/verify.py`` beside
    ``otvplan.verify``) is what made the second ``otvplan.verify(plan)`` call fail."""
    import pkgutil

    import otvplan

    top = {info.name for info in pkgutil.iter_modules(otvplan.__path__)}
    assert top.isdisjoint(otvplan.__all__), top & set(otvplan.__all__)


def test_report_called_through_the_package_accepts_a_plan_file(tmp_path):
    """otvplan.report goes to api.report (plan or plan.json path)."""
    import otvplan.reporting.report

    p = otvplan.plan(MINIMAL)
    first = otvplan.report(p, tmp_path / "a", figures=False)
    plan_json = next(x for x in first if x.name == "plan.json")
    again = otvplan.report(plan_json, tmp_path / "b", figures=False)
    assert [x.name for x in again] == [x.name for x in first]
    assert (tmp_path / "b" / "plan.json").read_bytes() == plan_json.read_bytes()
    assert otvplan.reporting.report.plan_from_json(plan_json.read_text()) == p


# --------------------------------------------------------------------------------------------
# Plan files given to verify and report: read by report.read_plan_file
# --------------------------------------------------------------------------------------------


def test_a_missing_plan_file_is_an_input_error_naming_it(tmp_path):
    from otvplan.errors import InputError

    missing = tmp_path / "nowhere" / "plan.json"
    with pytest.raises(InputError) as info:
        otvplan.verify(missing)
    assert [(p.file, p.message.split(";")[0]) for p in info.value.problems] == [
        (str(missing), "no such file")
    ]
    assert str(missing) in str(info.value)


def test_a_damaged_plan_file_names_the_file(tmp_path):
    from otvplan.errors import InputError

    bad = tmp_path / "plan.json"
    bad.write_text('{"format": "otvplan-plan", "version": 1, "plan": ', encoding="utf-8")
    with pytest.raises(InputError) as info:
        otvplan.report(bad, tmp_path / "out", figures=False)
    assert info.value.problems and all(p.file == str(bad) for p in info.value.problems)
    assert not (tmp_path / "out").exists()


def test_the_plan_file_size_limit_applies_to_the_library(tmp_path, monkeypatch):
    from otvplan.errors import InputError
    from otvplan.reporting import planjson
    from otvplan.reporting import report as report_module

    p = otvplan.plan(MINIMAL)
    path = tmp_path / "plan.json"
    path.write_text(report_module.plan_to_json(p), encoding="utf-8")
    assert api._as_plan(path) == p
    monkeypatch.setattr(planjson, "MAX_PLAN_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(InputError) as info:
        otvplan.verify(str(path))
    [problem] = info.value.problems
    assert problem.file == str(path)
    assert problem.message.startswith(f"file is larger than {path.stat().st_size - 1:,} bytes")


def test_py_typed_marker_is_shipped():
    assert importlib.resources.files("otvplan").joinpath("py.typed").is_file()


def test_dir_lists_the_public_names():
    assert set(dir(otvplan)) == set(otvplan.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        otvplan.nonexistent  # noqa: B018


# --------------------------------------------------------------------------------------------
# load_scenario: every input form
# --------------------------------------------------------------------------------------------


def _minimal_dict() -> dict:
    import yaml

    return yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))


def test_load_scenario_forms_agree():
    from_path = otvplan.load_scenario(MINIMAL)
    assert from_path.source == str(MINIMAL)
    from_str_path = otvplan.load_scenario(str(MINIMAL))
    from_text = otvplan.load_scenario(MINIMAL.read_text(encoding="utf-8"))
    from_bytes = otvplan.load_scenario(MINIMAL.read_bytes())
    from_dict = otvplan.load_scenario(_minimal_dict())
    assert from_str_path == from_path
    for other in (from_text, from_bytes, from_dict):
        assert other.payloads == from_path.payloads
        assert other.tug == from_path.tug
        assert other.dropoff == from_path.dropoff
    assert otvplan.load_scenario(from_path) is from_path


def test_load_scenario_refuses_other_types():
    with pytest.raises(TypeError, match="cannot load a scenario from int"):
        otvplan.load_scenario(42)


def test_dict_with_astropy_quantities_equals_the_file():
    u = pytest.importorskip("astropy.units")
    data = _minimal_dict()
    data["dropoff"]["altitude"] = 525 * u.km
    data["tug"]["dry_mass"] = 150_000 * u.g
    data["tug"]["engines"][0]["thrust"] = 0.022 * u.kN
    data["tug"]["engines"][0]["isp"] = 230 * u.s
    data["payloads"][0]["target"]["altitude"] = 0.55 * u.Mm
    data["constraints"]["max_duration"] = 90 * u.day
    s = otvplan.load_scenario(data)
    ref = otvplan.load_scenario(MINIMAL)
    assert s.dropoff.a_km == pytest.approx(ref.dropoff.a_km, rel=1e-15)
    assert s.tug.dry_mass_kg == pytest.approx(150.0, rel=1e-15)
    assert s.tug.engines[0].thrust_n == pytest.approx(22.0, rel=1e-15)
    assert s.payloads[0].target.a_km == pytest.approx(ref.payloads[0].target.a_km, rel=1e-15)
    assert s.constraints.max_duration_s == pytest.approx(90 * 86400.0, rel=1e-15)


def test_dict_errors_name_the_key_path_without_a_made_up_line():
    """Issue 16 item 4: problems of dict input carried `<dict>:10:13` locations, positions in
    a YAML text the user never saw."""
    data = _minimal_dict()
    data["tug"]["dry_mass"] = "abc"
    data["payloads"][1]["target"]["altitude"] = "500 parsecs"
    with pytest.raises(ScenarioError) as info:
        otvplan.load_scenario(data)
    problems = info.value.problems
    assert [(p.file, p.path, p.line, p.column) for p in problems] == [
        ("<dict>", "payloads[1].target.altitude", None, None),
        ("<dict>", "tug.dry_mass", None, None),
    ]
    assert "<dict>: tug.dry_mass: expected a mass with a unit" in str(info.value)
    assert "<dict>:" + "1" not in str(info.value)


def test_dict_error_for_a_missing_key_and_a_duplicate_name_has_no_line():
    data = _minimal_dict()
    del data["tug"]["propellant"]
    data["payloads"][1]["name"] = "sat-1"
    with pytest.raises(ScenarioError) as info:
        otvplan.load_scenario(data, filename="my-dict")
    text = str(info.value)
    assert all(p.line is None and p.file == "my-dict" for p in info.value.problems)
    assert "tug.propellant: required, but missing" in text
    assert 'duplicate payload name "sat-1" (also payloads[0].name); names must be unique' in text


def test_summary_and_leg_table_are_quantities():
    u = pytest.importorskip("astropy.units")
    p = otvplan.plan(MINIMAL)
    totals = otvplan.summary(p)
    assert totals["feasible"] is True
    assert totals["propellant_used"].unit == u.kg
    assert totals["propellant_used"].value == pytest.approx(p.propellant_used_kg, rel=1e-15)
    assert totals["duration"].to_value(u.s) == pytest.approx(p.duration_s, rel=1e-12)
    assert totals["total_dv"].to_value(u.m / u.s) == pytest.approx(1000 * p.total_dv_kms)
    rows = otvplan.leg_table(p)
    assert [r["leg"] for r in rows] == [leg.index for leg in p.legs]
    assert sum(r["propellant"] for r in rows).to_value(u.kg) == pytest.approx(
        p.propellant_used_kg, rel=1e-12
    )


def test_plan_objective_and_strict():
    from otvplan.errors import InfeasibleError

    p = otvplan.plan(MINIMAL, objective="duration")
    assert isinstance(p, Plan) and p.objective == "duration"
    data = _minimal_dict()
    data["tug"]["propellant"] = "1 kg"
    data["tug"]["propellant_reserve"] = "0 kg"
    with pytest.raises(InfeasibleError):
        otvplan.plan(data, strict=True)
    assert otvplan.plan(data).feasible is False


# --------------------------------------------------------------------------------------------
# boinor Orbit input
# --------------------------------------------------------------------------------------------


def _boinor_orbit(raan_deg=30.0, inc_deg=97.5, alt_km=525.0, ecc=None):
    u = pytest.importorskip("astropy.units")
    pytest.importorskip("boinor")
    from astropy.time import Time
    from boinor.bodies import Earth
    from boinor.twobody import Orbit

    epoch = Time("2027-03-01T10:00:00", scale="utc")
    if ecc is None:
        return Orbit.circular(
            Earth,
            alt_km * u.km,
            inc=inc_deg * u.deg,
            raan=raan_deg * u.deg,
            arglat=40 * u.deg,
            epoch=epoch,
        )
    return Orbit.from_classical(
        Earth,
        (Earth.R.to_value(u.km) + alt_km) * u.km,
        ecc * u.one,
        inc_deg * u.deg,
        raan_deg * u.deg,
        90 * u.deg,
        10 * u.deg,
        epoch=epoch,
    )


def _mean_of_date(orbit):
    """The orbit's inclination and RAAN [deg] in the mean equator and equinox of its epoch,
    computed independently of otvplan with astropy's PrecessedGeocentric frame (IAU 2006
    precession, no nutation)."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import GCRS, CartesianRepresentation, PrecessedGeocentric

    r = orbit.r.to_value(u.km)
    v = orbit.v.to_value(u.km / u.s)
    h = np.cross(r, v)
    gcrs = GCRS(CartesianRepresentation(*(h * u.km)), obstime=orbit.epoch)
    pg = gcrs.transform_to(PrecessedGeocentric(equinox=orbit.epoch, obstime=orbit.epoch))
    hx, hy, hz = pg.cartesian.xyz.to_value(u.km)
    # h = |h| (sin i sin raan, -sin i cos raan, cos i)
    inc = math.degrees(math.atan2(math.hypot(hx, hy), hz))
    raan = math.degrees(math.atan2(hx, -hy)) % 360.0
    return inc, raan


def test_boinor_orbit_dropoff_is_rotated_to_the_mean_equator_of_the_epoch(caplog):
    orbit = _boinor_orbit()
    data = _minimal_dict()
    data["dropoff"] = orbit
    with caplog.at_level(logging.INFO, logger="otvplan"):
        s = otvplan.load_scenario(data)
    inc_ref, raan_ref = _mean_of_date(orbit)
    # IAU 1976 (otvplan) vs IAU 2006 (astropy) precession over 27 years: well under 1e-4 deg
    assert math.degrees(s.dropoff.raan_rad) == pytest.approx(raan_ref, abs=1e-4)
    assert math.degrees(s.dropoff.inc_rad) == pytest.approx(inc_ref, abs=1e-4)
    # the shift the note reports is real: 2000 -> 2027 moves the node by ~0.37 deg
    assert math.degrees(s.dropoff.raan_rad) - 30.0 == pytest.approx(0.365, abs=0.01)
    assert s.dropoff.e == 0.0
    assert s.dropoff.a_km == pytest.approx(orbit.a.to_value("km"), abs=1e-6)
    notes = [r.getMessage() for r in caplog.records if r.name.startswith("otvplan")]
    assert len(notes) == 1, notes
    assert notes[0] == (
        "dropoff: boinor Orbit in GCRS (inclination 97.5 deg, RAAN 30 deg) rotated to the mean "
        "equator and equinox of 2027-03-01T10:00:00Z: inclination 97.424 deg, RAAN 30.365 deg "
        "(IAU-1976 precession)"
    )


def test_boinor_orbit_target_and_eccentric_orbit():
    orbit = _boinor_orbit(raan_deg=150.0, inc_deg=51.6, alt_km=700.0, ecc=0.01)
    data = _minimal_dict()
    data["payloads"][0]["target"] = orbit
    s = otvplan.load_scenario(data)
    target = s.payloads[0].target
    inc_ref, raan_ref = _mean_of_date(orbit)
    assert target.e == pytest.approx(0.01, rel=1e-9)
    assert target.a_km == pytest.approx(orbit.a.to_value("km"), rel=1e-12)
    assert math.degrees(target.inc_rad) == pytest.approx(inc_ref, abs=1e-4)
    assert math.degrees(target.raan_rad) == pytest.approx(raan_ref, abs=1e-4)
    # argument of perigee and slot (argument of latitude) move with the node, not the orbit
    assert math.degrees(target.argp_rad) == pytest.approx(90.0, abs=0.5)
    assert math.degrees(target.slot_rad) == pytest.approx(100.0, abs=0.5)


def test_boinor_orbit_scenario_plans():
    data = _minimal_dict()
    data["dropoff"] = _boinor_orbit(inc_deg=97.47)
    del data["payloads"][0]["target"]["ltan"]  # LTAN 11:00 is far from this drop-off's plane
    p = otvplan.plan(data)
    assert isinstance(p.scenario, Scenario)
    assert p.feasible
    assert set(p.delivered) == {"sat-1", "sat-2"}


def test_orbit_spec_from_boinor_epoch_override():
    orbit = _boinor_orbit()
    at_orbit_epoch = api.orbit_spec_from_boinor(orbit)
    at_j2000 = api.orbit_spec_from_boinor(orbit, epoch_jd=2451545.0)
    assert float(at_j2000["raan"].split()[0]) == pytest.approx(30.0, abs=1e-9)
    assert float(at_orbit_epoch["raan"].split()[0]) == pytest.approx(30.365, abs=0.01)


# --------------------------------------------------------------------------------------------
# Signatures (issue 13 item 4: no **kwargs hiding the options)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public", "module", "name"),
    [
        ("verify", "otvplan.flight.verify", "verify"),
        ("report", "otvplan.reporting.report", "write_report"),
        ("sweep", "otvplan.study.run", "sweep"),
    ],
)
def test_api_functions_show_the_options_of_what_they_call(public, module, name):
    """Each front-door function takes the options of the function it calls, by name, with
    the same defaults (only the first argument is wider: a plan, a plan file or a scenario)."""
    import importlib
    import inspect

    outer = inspect.signature(getattr(api, public))
    inner = inspect.signature(getattr(importlib.import_module(module), name))
    assert not any(p.kind is p.VAR_KEYWORD for p in outer.parameters.values())
    outer_params = list(outer.parameters.values())[1:]
    inner_params = list(inner.parameters.values())[1:]
    assert [(p.name, p.kind, p.default) for p in outer_params] == [
        (p.name, p.kind, p.default) for p in inner_params
    ]


def test_dict_epoch_as_datetime_or_astropy_time():
    import datetime as dt

    ref = otvplan.load_scenario(MINIMAL)
    for epoch in (
        dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2027, 3, 1, 10, 0),
    ):  # naive: UTC
        data = _minimal_dict()
        data["epoch"] = epoch
        assert otvplan.load_scenario(data).epoch == ref.epoch
    time = pytest.importorskip("astropy.time")
    data = _minimal_dict()
    data["epoch"] = time.Time("2027-03-01T10:00:00", scale="utc")
    s = otvplan.load_scenario(data)
    assert s.epoch == ref.epoch
    assert s.dropoff == ref.dropoff  # the LTAN placed with the same Sun


def test_boinor_orbit_at_another_epoch_is_refused():
    orbit = _boinor_orbit()
    data = _minimal_dict()
    data["epoch"] = "2027-03-02T10:00:00Z"
    data["payloads"][1]["target"] = orbit
    with pytest.raises(ScenarioError) as info:
        otvplan.load_scenario(data)
    [problem] = info.value.problems
    assert (problem.path, problem.line) == ("payloads[1].target", None)
    assert problem.message.startswith(
        "the boinor Orbit's epoch (2027-03-01T10:00:00.000Z) is "
        "not the scenario epoch (2027-03-02T10:00:00Z)"
    )
