"""Scenario files: units, loading into the core-unit model, every rejection rule, round trips."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otvplan.constants import EARTH_SUN_MEAN_MOTION_RAD_S, MIN_PERIGEE_ALTITUDE_KM, R_EARTH_KM
from otvplan.core import orbits
from otvplan.core.timeutil import julian_date
from otvplan.errors import Problem, ScenarioError
from otvplan.io import scenario, yamldoc
from otvplan.io.scenario import (
    UNIT_TABLE,
    QuantityError,
    dumps,
    format_quantity,
    json_schema,
    load,
    loads,
    parse_quantity,
    validate_file,
)
from otvplan.model import Scenario, Tolerances
from paths import BAD_DIR, EXAMPLES_DIR, REPO, SCENARIOS

DAY_S = 86400.0


#: A small valid scenario; the rule tests below edit one line of it. tests/data/bad/*.yaml are
#: this text with one rule broken each (and a comment line on top).
BASE = """\
name: minimal
epoch: 2027-03-01T10:00:00Z
dropoff:
  altitude: 525 km
  sso: true
  ltan: "10:30"
tug:
  name: tug
  dry_mass: 150 kg
  propellant: 80 kg
  tank_capacity: 100 kg
  engines:
    - {name: main, type: chemical, isp: 230 s, thrust: 22 N}
payloads:
  - name: sat-1
    mass: 20 kg
    target: {altitude: 550 km, sso: true, ltan: "11:00"}
  - name: sat-2
    mass: 12 kg
    target: {altitude: 500 km, sso: true}
"""


def problems_of(text: str, filename: str = "t.yaml") -> list[str]:
    """Every problem line for a scenario text (empty if it loads)."""
    try:
        loads(text, filename=filename)
    except ScenarioError as exc:
        return [str(p) for p in exc.problems]
    return []


# ============================================================================================
# Units
# ============================================================================================

_CORE_ASTROPY = {
    "length": "km",
    "angle": "rad",
    "time": "s",
    "mass": "kg",
    "force": "N",
    "power": "W",
    "area": "m2",
    "dimensionless": "",
}
_PHYSICAL_TYPE = {
    "length": "length",
    "angle": "angle",
    "time": "time",
    "mass": "mass",
    "force": "force",
    "power": "power",
    "area": "area",
    "dimensionless": "dimensionless",
}


@pytest.mark.parametrize("unit", sorted(UNIT_TABLE))
def test_unit_table_equals_astropy(unit):
    """Every row of the fast unit table converts exactly as astropy.units does."""
    import astropy.units as u

    dimension, factor = UNIT_TABLE[unit]
    astropy_unit = u.Unit(unit)
    assert _PHYSICAL_TYPE[dimension] in str(astropy_unit.physical_type)
    expected = astropy_unit.to(u.Unit(_CORE_ASTROPY[dimension]))
    assert factor == pytest.approx(expected, rel=1e-15, abs=0.0)
    assert parse_quantity(f"1 {unit}", dimension) == pytest.approx(expected, rel=1e-15)
    assert parse_quantity(f"2.5 {unit}", dimension) == pytest.approx(2.5 * expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("525 km", "length", 525.0),
        ("525km", "length", 525.0),
        ("525000 m", "length", 525.0),
        ("  6.9e3 km ", "length", 6900.0),
        ("97.5 deg", "angle", math.radians(97.5)),
        ("-10 deg", "angle", math.radians(-10.0)),
        ("30 d", "time", 30 * DAY_S),
        ("2 h", "time", 7200.0),
        ("220 s", "time", 220.0),
        ("1 yr", "time", 365.25 * DAY_S),
        ("150 kg", "mass", 150.0),
        ("2 t", "mass", 2000.0),
        ("1.2 N", "force", 1.2),
        ("50 mN", "force", 0.05),
        ("1500 W", "power", 1500.0),
        ("1.5 kW", "power", 1500.0),
        ("3 %", "dimensionless", 0.03),
        ("1.5 m2", "area", 1.5),
    ],
)
def test_parse_quantity_table_units(text, dimension, expected):
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-15)


def test_parse_quantity_in_its_own_unit_is_exact():
    """A value written in the target unit comes back bit for bit (what dumps relies on)."""
    x = 1.7016425825787782
    assert parse_quantity(f"{x!r} rad", "angle") == x
    assert parse_quantity("5 yr", "time", unit="yr") == 5.0


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("525000 meter", "length", 525.0),
        ("1 week", "time", 7 * DAY_S),
        ("1 hour", "time", 3600.0),
        ("90 arcmin", "angle", math.radians(1.5)),
    ],
)
def test_parse_quantity_falls_back_to_astropy(text, dimension, expected):
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "dimension", "message"),
    [
        (525, "length", 'expected a length with a unit, like "525 km", got the bare number 525'),
        ("525", "length", 'expected a length with a unit, like "525 km", got "525" with no unit'),
        (97.5, "angle", 'expected an angle with a unit, like "97.5 deg", got the bare number 97.5'),
        ("high", "length", 'expected a length with a unit, like "525 km", got "high"'),
        ("150 km", "mass", 'expected a mass in kg, g or t, got "150 km": km is a unit of a length'),
        (
            "5 km/s",
            "length",
            'expected a length in km or m, got "5 km/s": km/s is a unit of speed/velocity',
        ),
        (
            "525 kms",
            "length",
            'unknown unit "kms" in "525 kms"; did you mean "km"? a length takes km or m',
        ),
        ("1e999 kg", "mass", '"1e999 kg" is not a finite number'),
        (None, "mass", 'expected a mass with a unit, like "150 kg", got nothing (an empty value)'),
    ],
)
def test_parse_quantity_messages(value, dimension, message):
    with pytest.raises(QuantityError) as info:
        parse_quantity(value, dimension)
    assert str(info.value) == message


@given(st.text(max_size=30))
@settings(max_examples=300, deadline=None)
def test_parse_quantity_never_crashes(text):
    """Any text either parses to a finite float or raises QuantityError."""
    try:
        value = parse_quantity(text, "length")
    except QuantityError:
        return
    assert math.isfinite(value)


@given(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            ("length", ("km", "m")),
            ("angle", ("deg",)),
            ("time", ("d", "h", "min")),
            ("mass", ("kg", "g")),
            ("force", ("N", "mN")),
        ]
    ),
)
@settings(max_examples=300, deadline=None)
def test_format_quantity_round_trips_exactly(value, dimension_units):
    dimension, units = dimension_units
    text = format_quantity(value, dimension, units)
    assert parse_quantity(text, dimension) == value


def test_format_quantity_prefers_readable_units():
    assert format_quantity(150 * DAY_S, "time", ("d", "h")) == "150 d"
    assert format_quantity(7200.0, "time", ("d", "h", "min")) == "2 h"
    assert format_quantity(math.radians(97.5), "angle", ("deg",)) == "97.5 deg"
    assert format_quantity(0.05, "force", ("N", "mN")) == "50 mN"
    # no short decimal in deg reproduces this float: written in rad with every digit
    assert format_quantity(1.7016425825787782, "angle", ("deg",)) == "1.7016425825787782 rad"


# ============================================================================================
# Loading: the shipped scenarios and what they become
# ============================================================================================


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_scenario_loads_and_round_trips(path):
    loaded = load(path)
    assert isinstance(loaded, Scenario)
    assert loaded.source == str(path)
    text = dumps(loaded)
    assert loads(text, filename=str(path)) == loaded


def test_at_least_five_scenarios_are_shipped():
    names = {p.name for p in SCENARIOS}
    assert {
        "sso_rideshare.yaml",
        "constellation_slotting.yaml",
        "mid_inclination.yaml",
        "electric_tug.yaml",
        "gto_to_geo.yaml",
    } <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_packaged_examples_match_the_scenarios_folder(path):
    """otvplan/examples ships copies of scenarios/*.yaml; they must not drift apart."""
    assert (EXAMPLES_DIR / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", sorted(EXAMPLES_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_packaged_example_is_valid(path):
    assert validate_file(path) == []


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenarios_cite_their_sources(path):
    """Each scenario opens with comments saying where its numbers come from."""
    head = path.read_text(encoding="utf-8").split("\nname:")[0]
    assert "Where the numbers come from" in head
    assert len([line for line in head.splitlines() if line.startswith("#")]) >= 8


def test_sso_rideshare_in_core_units():
    s = load(SCENARIOS[[p.name for p in SCENARIOS].index("sso_rideshare.yaml")])
    assert s.epoch == dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
    drop = s.dropoff
    assert drop.a_km == R_EARTH_KM + 525.0
    assert drop.e == 0.0
    # sun-synchronous under the planner's nodal-rate model (J2 to second order)
    assert drop.sso and drop.inc_rad == orbits.sso_inclination(drop.a_km, 0.0, order=2)
    assert orbits.raan_rate(drop.a_km, 0.0, drop.inc_rad) == pytest.approx(
        EARTH_SUN_MEAN_MOTION_RAD_S, rel=1e-12
    )
    assert math.degrees(drop.inc_rad) == pytest.approx(97.50, abs=0.01)
    assert drop.ltan_h == 10.5 and drop.ltan_reference == "mean"
    assert drop.raan_rad == orbits.ltan_to_raan(10.5, julian_date(s.epoch), "mean")
    assert drop.slot_rad == 0.0  # drop-off slot defaults to 0 deg
    assert s.tug.reserve_kg == pytest.approx(0.03 * 500.0)
    assert 150.0 <= s.tug.dry_mass_kg <= 250.0
    engine = s.tug.engines[0]
    assert engine.kind == "chemical" and 220.0 <= engine.isp_s <= 300.0 and engine.thrust_n == 200.0
    assert 6 <= len(s.payloads) <= 8
    assert all(10.0 <= p.mass_kg <= 150.0 for p in s.payloads)
    assert all(450.0 <= p.target.a_km - R_EARTH_KM <= 650.0 for p in s.payloads)
    assert {p.target.ltan_h for p in s.payloads} == {9.5, 10.5, 13.5}
    assert all(p.target.slot_rad is None for p in s.payloads)  # any phase
    hyperspectral = next(p for p in s.payloads if p.name == "hyperspectral-4")
    assert hyperspectral.deliver_by_s == 175 * DAY_S
    assert s.constraints.max_duration_s == 180 * DAY_S
    assert s.constraints.disposal.kind == "reentry"
    assert s.constraints.disposal.reentry_years == 5.0
    assert s.constraints.disposal.area_m2 == 1.5


def test_electric_and_gto_scenarios():
    by_name = {p.name: p for p in SCENARIOS}
    electric = load(by_name["electric_tug.yaml"])
    hall = electric.tug.engines[0]
    assert hall.is_electric and hall.thrust_n == pytest.approx(0.05) and hall.power_w == 900.0
    assert hall.isp_s == 1500.0
    assert {round(p.target.a_km - R_EARTH_KM) for p in electric.payloads} <= set(range(700, 1201))
    gto = load(by_name["gto_to_geo.yaml"])
    assert gto.dropoff.perigee_altitude_km == pytest.approx(250.0)
    assert gto.dropoff.apogee_altitude_km == pytest.approx(35786.0)
    assert gto.dropoff.argp_rad == pytest.approx(math.pi)
    slots = sorted(math.degrees(p.target.slot_rad) for p in gto.payloads)
    assert slots == pytest.approx([75.0, 165.0])
    assert gto.payloads[0].target.tolerances.slot_rad == pytest.approx(math.radians(0.05))


def test_constellation_slots_are_45_deg_apart():
    path = next(p for p in SCENARIOS if p.name == "constellation_slotting.yaml")
    s = load(path)
    slots = sorted(math.degrees(p.target.slot_rad) for p in s.payloads)
    assert slots == pytest.approx([45.0 * k for k in range(8)])
    assert {p.target.raan_rad for p in s.payloads} == {s.dropoff.raan_rad}
    assert all(p.target.a_km > s.dropoff.a_km for p in s.payloads)


def test_minimal_defaults(minimal_text):
    s = loads(minimal_text)
    assert s.source is None
    free = s.payloads[1]
    assert free.target.raan_rad is None and free.target.ltan_h is None  # any RAAN
    assert free.target.slot_rad is None  # any phase
    assert free.priority == 1 and free.deliver_by_s is None
    assert free.target.tolerances == Tolerances()
    assert s.solver.objective == "propellant"
    assert s.constraints.disposal.kind == "none"


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_orbit_forms(minimal_text):
    text = edit(
        minimal_text,
        'target: {altitude: 550 km, sso: true, ltan: "11:00"}',
        "target: {perigee_altitude: 500 km, apogee_altitude: 700 km, "
        "inclination: 97.6 deg, raan: -10 deg, argp: 90 deg, slot: 370 deg}",
    )
    text = edit(
        text,
        "target: {altitude: 500 km, sso: true}",
        "target: {sma: 6900 km, eccentricity: 0.001, sso: true}",
    )
    s = loads(text)
    elliptic, sma_form = s.payloads[0].target, s.payloads[1].target
    assert elliptic.a_km == pytest.approx(R_EARTH_KM + 600.0)
    assert elliptic.perigee_altitude_km == pytest.approx(500.0)
    assert elliptic.apogee_altitude_km == pytest.approx(700.0)
    assert elliptic.raan_rad == pytest.approx(math.radians(350.0))  # wrapped into [0, 360)
    assert elliptic.slot_rad == pytest.approx(math.radians(10.0))
    assert elliptic.argp_rad == pytest.approx(math.pi / 2)
    assert sma_form.a_km == 6900.0 and sma_form.e == 0.001
    assert sma_form.inc_rad == orbits.sso_inclination(6900.0, 0.001, order=2)
    assert loads(dumps(s)) == s


def test_times(minimal_text):
    text = edit(minimal_text, "epoch: 2027-03-01T10:00:00Z", "epoch: 2027-03-01T12:00:00+02:00")
    text = edit(
        text, "    mass: 12 kg\n", "    mass: 12 kg\n    deliver_by: 2027-03-31T10:00:00Z\n"
    )
    text = edit(text, "    mass: 24 kg\n", "    mass: 24 kg\n    deliver_by: 36 h\n")
    s = loads(text)
    assert s.epoch == dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert s.payloads[0].deliver_by_s == 30 * DAY_S
    assert s.payloads[1].deliver_by_s == 36 * 3600.0
    assert loads(dumps(s)) == s


def test_unquoted_ltan_is_not_read_as_a_yaml_1_1_sexagesimal_number(minimal_text):
    """Plain 10:30 is the integer 630 in YAML 1.1; the loader keeps the text instead."""
    s = loads(edit(minimal_text, 'ltan: "10:30"', "ltan: 10:30"))
    assert s.dropoff.ltan_h == 10.5


def test_ltan_forms_and_true_sun(minimal_text):
    s = loads(edit(minimal_text, 'ltan: "10:30"', 'ltan: "10:30:36"\n  ltan_reference: true'))
    assert s.dropoff.ltan_h == pytest.approx(10.51)
    assert s.dropoff.ltan_reference == "true"
    assert s.dropoff.raan_rad == orbits.ltan_to_raan(s.dropoff.ltan_h, julian_date(s.epoch), "true")
    assert loads(dumps(s)) == s
    hours = loads(edit(minimal_text, 'ltan: "10:30"', 'ltan: "10.25 h"'))
    assert hours.dropoff.ltan_h == 10.25


def test_extension_keys_hold_anchors(minimal_text):
    text = "x-tolerances: &tight {sma: 1 km, raan: 0.05 deg}\n" + edit(
        minimal_text,
        "target: {altitude: 500 km, sso: true}",
        "target: {altitude: 500 km, sso: true, tolerances: *tight}",
    )
    tol = loads(text).payloads[1].target.tolerances
    assert tol.sma_km == 1.0 and tol.raan_rad == pytest.approx(math.radians(0.05))
    assert tol.slot_rad == Tolerances().slot_rad


def test_numbers_as_names_are_text(minimal_text):
    s = loads(edit(minimal_text, "name: my-mission", "name: 2027"))
    assert s.name == "2027"


def test_every_problem_is_reported_at_once():
    text = edit(BASE, "dry_mass: 150 kg", "dry_mass: 150")
    text = edit(text, "mass: 12 kg", "mass: -1 kg")
    text += "constraints:\n  max_duration: 90 d\n  colour: red\n"
    with pytest.raises(ScenarioError) as info:
        loads(text, filename="many.yaml")
    lines = [str(p) for p in info.value.problems]
    assert lines == [
        'many.yaml:9:13: tug.dry_mass: expected a mass with a unit, like "180 kg", '
        "got the bare number 150",
        'many.yaml:19:11: payloads[1].mass: must be greater than zero, got "-1 kg"',
        'many.yaml:23:3: constraints.colour: unknown key "colour"; allowed here: max_duration, '
        "disposal, min_deploy_separation, min_drift_altitude, max_drift_altitude, "
        "max_impulsive_burn",
    ]
    assert str(info.value).startswith("3 problems in scenario many.yaml:\n")
    assert isinstance(info.value, ValueError)


def test_problem_paths_name_list_items():
    text = edit(BASE, 'ltan: "11:00"', "raan: 10")
    assert problems_of(text) == [
        't.yaml:17:49: payloads[0].target.raan: expected an angle with a unit, like "120 deg", '
        "got the bare number 10"
    ]


# ============================================================================================
# One bad file per rule, each with its exact message
# ============================================================================================

BAD_FILES = {
    "yaml_syntax.yaml": [
        "22:1: invalid YAML: expected ',' or '}', but got '<stream end>' (while parsing a flow "
        "mapping at line 21, column 13)"
    ],
    "unknown_key.yaml": ['10:3: tug.dyr_mass: unknown key "dyr_mass"; did you mean "dry_mass"?'],
    "missing_field.yaml": ["8:1: tug.dry_mass: required, but missing; add e.g. `dry_mass: 180 kg`"],
    "missing_unit.yaml": [
        '5:13: dropoff.altitude: expected a length with a unit, like "525 km", got the bare '
        "number 525"
    ],
    "wrong_unit.yaml": [
        '10:13: tug.dry_mass: expected a mass in kg, g or t, got "150 km": km is a unit of a length'
    ],
    "nonpositive_mass.yaml": ['20:11: payloads[1].mass: must be greater than zero, got "0 kg"'],
    "nonpositive_thrust.yaml": [
        '14:56: tug.engines[0].thrust: must be greater than zero, got "-22 N"'
    ],
    "negative_price.yaml": [
        "23:22: pricing.propellant_per_kg: must be at least 0, got -25",
        '24:3: pricing.per_dya: unknown key "per_dya"; did you mean "per_day"?',
    ],
    "nonpositive_isp.yaml": ['14:41: tug.engines[0].isp: must be greater than zero, got "0 s"'],
    "low_perigee.yaml": [
        "21:32: payloads[1].target.perigee_altitude: perigee altitude 80.0 km is below the "
        "100 km minimum (constants.MIN_PERIGEE_ALTITUDE_KM): an orbit that low re-enters within "
        "a revolution"
    ],
    "hyperbolic.yaml": [
        "21:42: payloads[1].target.eccentricity: must be below 1 for a closed orbit (1 is a "
        "parabola, above 1 a hyperbola), got 1.2"
    ],
    "inclination_range.yaml": [
        '21:45: payloads[1].target.inclination: must be from 0 to 180 deg, got "190 deg"; a '
        "retrograde orbit has an inclination above 90 deg (97.5 deg for a 525 km SSO), never a "
        "negative one"
    ],
    "sso_impossible.yaml": [
        "21:39: payloads[1].target.sso: no sun-synchronous inclination exists for a = 26378.1 "
        "km, e = 0: J2 cannot turn the node fast enough (a circular orbit must be below "
        "~12,350 km altitude); give an inclination instead"
    ],
    "ltan_no_epoch.yaml": [
        "2:1: epoch: required, but missing; add e.g. `epoch: 2027-03-01T10:00:00Z`",
        "6:9: dropoff.ltan: an LTAN needs the scenario epoch to place the Sun; add "
        "`epoch: 2027-03-01T10:00:00Z` at the top of the file, or give raan instead",
        "17:49: payloads[0].target.ltan: an LTAN needs the scenario epoch to place the Sun; add "
        "`epoch: 2027-03-01T10:00:00Z` at the top of the file, or give raan instead",
    ],
    "empty_payloads.yaml": ["15:11: payloads: the payload list is empty; add at least one payload"],
    "duplicate_payload_names.yaml": [
        '19:11: payloads[1].name: duplicate payload name "sat-1" (also payloads[0].name, '
        "line 16); names must be unique"
    ],
    "propellant_over_capacity.yaml": [
        "11:15: tug.propellant: 120 kg loaded exceeds the tank_capacity of 100 kg; load less or "
        "enlarge the tank"
    ],
    "not_utf8.yaml": [
        "2:10: is not UTF-8 text (byte 0xe9 cannot be decoded); save the file as UTF-8"
    ],
    "binary.yaml": [
        ": is a binary file (it contains NUL bytes), not YAML text; give a scenario .yaml file"
    ],
    "alias_bomb.yaml": [
        "2:1: the document expands to more than 100,000 YAML nodes; aliases (*name) copy what "
        "their anchor refers to, and these multiply; remove them"
    ],
}


def test_every_bad_file_has_an_expected_message():
    on_disk = {p.name for p in BAD_DIR.glob("*.yaml")}
    assert on_disk == set(BAD_FILES)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_message(name):
    path = BAD_DIR / name
    expected = [
        f"{path}:{line}" if not line.startswith(":") else f"{path}{line}"
        for line in BAD_FILES[name]
    ]
    assert [str(p) for p in validate_file(path)] == expected
    with pytest.raises(ScenarioError):
        load(path)


def test_alias_bomb_is_rejected_before_building_objects(monkeypatch):
    """The node graph is measured before any Python object is constructed."""
    calls = []
    original = yamldoc.to_data
    monkeypatch.setattr(yamldoc, "to_data", lambda *a: calls.append(a) or original(*a))
    with pytest.raises(ScenarioError):
        load(BAD_DIR / "alias_bomb.yaml")
    assert calls == []


def test_file_over_one_megabyte(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * scenario.MAX_FILE_BYTES + "\nname: big\n", encoding="utf-8")
    assert [str(p) for p in validate_file(big)] == [
        f"{big}: file is larger than 1,000,000 bytes; a scenario file is a few kB of YAML text"
    ]
    with pytest.raises(ScenarioError, match="larger than 1,000,000 characters"):
        loads(big.read_text(encoding="utf-8"))


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert [str(p) for p in validate_file(missing)] == [
        f"{missing}: no such file; check the path (`otvplan example` writes a starter scenario)"
    ]
    assert [str(p) for p in validate_file(tmp_path)] == [
        f"{tmp_path}: is a directory, not a scenario file; give the path of a .yaml file, "
        "e.g. scenarios/sso_rideshare.yaml"
    ]


@pytest.mark.parametrize(
    ("label", "text", "expected"),
    [
        ("empty", "", "t.yaml: the file is empty; `otvplan example` writes a starter scenario"),
        (
            "list",
            "- a\n",
            "t.yaml:1:1: expected a mapping (indented `key: value` lines), got a list",
        ),
        (
            "recursive",
            "a: &a [1, *a]\n",
            "t.yaml:1:4: the document refers to itself through an alias (an anchor used inside its "
            "own value); remove the alias",
        ),
        (
            "deep",
            "a: " + "[" * 60 + "]" * 60 + "\n",
            "t.yaml:1:44: the document nests too deeply (more than 40 levels of mappings and "
            "lists)",
        ),
        (
            "very deep",
            "a: " + "[" * 5000 + "]" * 5000 + "\n",
            "t.yaml:1:44: the document nests too deeply (more than 40 levels of mappings and "
            "lists)",
        ),
        (
            "two documents",
            "a: 1\n---\nb: 2\n",
            "t.yaml:2:1: invalid YAML: but found another document (expected a single document in "
            "the stream at line 1, column 1); a scenario file holds one YAML document; remove the "
            "'---'",
        ),
        (
            "tab",
            "a:\n\tb: 1\n",
            "t.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token (while "
            "scanning for the next token); YAML indents with spaces, not tabs",
        ),
        (
            "python tag",
            "name: !!python/object/apply:os.system [ls]\n",
            "t.yaml:1:7: name: unsupported YAML tag !!python/object/apply:os.system; remove it",
        ),
        (
            "NUL",
            "name: a\x00\n",
            "t.yaml: is binary data (it contains NUL characters), not YAML text",
        ),
    ],
)
def test_unreadable_documents(label, text, expected):
    assert expected in problems_of(text)


@pytest.mark.parametrize("levels", [60, 5000])
def test_too_deep_is_reported_at_the_same_place_by_both_composers(monkeypatch, levels):
    """libyaml composes 5,000 levels (some versions stop at 1,000), the pure-Python composer
    runs out of recursion: either way the problem is at the first node too deep."""
    text = "a: " + "[" * levels + "]" * levels + "\n"
    with_libyaml = problems_of(text)
    monkeypatch.setattr(yamldoc, "_FAST_LOADER", None)
    assert (
        problems_of(text)
        == with_libyaml
        == [
            "t.yaml:1:44: the document nests too deeply (more than 40 levels of mappings and lists)"
        ]
    )


def test_bytes_are_decoded_or_rejected(minimal_text):
    assert loads(minimal_text.encode("utf-8")) == loads(minimal_text)
    assert loads(b"\xef\xbb\xbf" + minimal_text.encode("utf-8")) == loads(minimal_text)
    with pytest.raises(ScenarioError, match="not UTF-8"):
        loads("name: caf\u00e9\n".encode("latin-1"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '  ltan: "10:30"\n',
            "",
            '4:3: dropoff: the drop-off orbit needs its node: give raan (e.g. "120 deg") or ltan '
            '(e.g. "10:30")',
        ),
        (
            "  altitude: 525 km\n",
            "  altitude: 525 km\n  sma: 6900 km\n",
            "5:8: dropoff.sma: altitude and sma both give the orbit's size; keep one",
        ),
        (
            "  altitude: 525 km\n",
            "  perigee_altitude: 300 km\n",
            "4:21: dropoff.perigee_altitude: perigee_altitude needs apogee_altitude too (or give "
            "altitude for a circular orbit)",
        ),
        (
            "  altitude: 525 km\n",
            "  altitude: 525 km\n  eccentricity: 0.01\n",
            "5:17: dropoff.eccentricity: eccentricity goes with sma; altitude means a circular "
            "orbit and perigee_altitude + apogee_altitude imply it",
        ),
        (
            "  sso: true\n",
            "",
            '4:3: dropoff: give the orbit\'s plane: inclination (e.g. "53 deg") or sso: true',
        ),
        (
            "  sso: true\n",
            "  inclination: 97 deg\n  sso: true\n",
            "6:8: dropoff.sso: give either inclination or sso: true, not both",
        ),
        (
            '  ltan: "10:30"',
            '  raan: 10 deg\n  ltan: "10:30"',
            "7:9: dropoff.ltan: give either raan or ltan, not both",
        ),
        (
            'ltan: "10:30"',
            'ltan: "25:30"',
            '6:9: dropoff.ltan: expected a local time of the ascending node "HH:MM" like "10:30", '
            'got "25:30": the time must be from 00:00 to 23:59',
        ),
        (
            "altitude: 525 km",
            "altitude: 50 km",
            "4:13: dropoff.altitude: altitude 50.0 km is below the 100 km minimum "
            "(constants.MIN_PERIGEE_ALTITUDE_KM): an orbit that low re-enters within a revolution",
        ),
        (
            "altitude: 525 km",
            "sma: 6000 km",
            "4:8: dropoff.sma: perigee altitude -378.1 km is below the 100 km minimum "
            "(constants.MIN_PERIGEE_ALTITUDE_KM): an orbit that low re-enters within a revolution; "
            "sma is measured from Earth's centre, not its surface",
        ),
        (
            "type: chemical",
            "type: chemcal",
            '13:26: tug.engines[0].type: expected one of chemical, electric; got "chemcal" '
            '(did you mean "chemical"?)',
        ),
        (
            "thrust: 22 N}",
            "thrust: 22 N, power: 100 W}",
            "13:69: tug.engines[0].power: power applies to electric engines; remove it or set "
            "type: electric",
        ),
        (
            "  tank_capacity: 100 kg\n",
            "  tank_capacity: 100 kg\n  propellant_reserve: 90 kg\n",
            "12:23: tug.propellant_reserve: a reserve of 90 kg is more than the 80 kg of "
            "propellant loaded",
        ),
        (
            "propellant: 80 kg",
            "propellant: -1 kg",
            '10:15: tug.propellant: must be zero or more, got "-1 kg"',
        ),
        (
            "  tank_capacity: 100 kg\n",
            "  tank_capacity: 100 kg\n  propellant_reserve: 5\n",
            '12:23: tug.propellant_reserve: expected a mass like "5 kg" or a percentage of the '
            'loaded propellant like "3 %", got the bare number 5',
        ),
        (
            "    mass: 20 kg\n",
            "    mass: 20 kg\n    priority: 0\n",
            "17:15: payloads[0].priority: must be at least 1, got 0",
        ),
        (
            "    mass: 20 kg\n",
            "    mass: 20 kg\n    deliver_by: 2027-01-01T00:00:00Z\n",
            "17:17: payloads[0].deliver_by: must be after the epoch (2027-03-01T10:00:00Z)",
        ),
        (
            "    mass: 20 kg\n",
            "    mass: 20 kg\n    deliver_by: 30\n",
            "17:17: payloads[0].deliver_by: expected a UTC time like 2027-04-01T00:00:00Z or a "
            'duration after the epoch like "30 d", got the bare number 30',
        ),
        (
            "epoch: 2027-03-01T10:00:00Z",
            "epoch: March 1st",
            '2:8: epoch: "March 1st" is not an ISO 8601 UTC time; write it like '
            "2027-03-01T10:00:00Z",
        ),
        ("payloads:", "payload:", '14:1: payload: unknown key "payload"; did you mean "payloads"?'),
        (
            "  dry_mass: 150 kg\n",
            "  dry_mass: 150 kg\n  dry_mass: 160 kg\n",
            '10:3: tug.dry_mass: duplicate key "dry_mass" (first given at line 9); keep one of '
            "them",
        ),
        (
            "    target: {altitude: 500 km, sso: true}\n",
            "    target: {altitude: 500 km, sso: true}\n"
            "constraints:\n  disposal: {type: perigee, within: 5 yr}\n",
            "22:13: constraints.disposal: disposal type perigee needs altitude, e.g. "
            "`altitude: 50 km`\n"
            "t.yaml:22:37: constraints.disposal.within: within does not apply to disposal type "
            "perigee",
        ),
        (
            "    target: {altitude: 500 km, sso: true}\n",
            "    target: {altitude: 500 km, sso: true}\n"
            "constraints:\n  min_drift_altitude: 800 km\n  max_drift_altitude: 600 km\n",
            "23:23: constraints.max_drift_altitude: min_drift_altitude (800 km) must be below "
            "max_drift_altitude (600 km)",
        ),
        (
            "    target: {altitude: 500 km, sso: true}\n",
            "    target: {altitude: 500 km, sso: true}\nsolver: {objective: fuel}\n",
            '21:21: solver.objective: expected one of propellant, duration, pareto; got "fuel"',
        ),
    ],
)
def test_rule_messages(old, new, expected):
    assert problems_of(edit(BASE, old, new)) == f"t.yaml:{expected}".split("\n")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "epoch: 2027-03-01T10:00:00Z",
            "epoch:",
            "2:7: epoch: expected a UTC time like 2027-03-01T10:00:00Z, got nothing (an empty "
            "value)",
        ),
        (
            "isp: 230 s",
            "isp: ~",
            '13:41: tug.engines[0].isp: expected a duration with a unit, like "220 s", got nothing '
            "(an empty value)",
        ),
        (
            "dry_mass: 150 kg",
            "dry_mass:",
            '9:12: tug.dry_mass: expected a mass with a unit, like "180 kg", got nothing (an empty '
            "value)",
        ),
        (
            "    target: {altitude: 500 km, sso: true}",
            "    target:",
            "20:12: payloads[1].target: expected a mapping (indented `key: value` lines), got "
            "nothing (an empty value)",
        ),
    ],
)
def test_required_fields_reject_empty_values(old, new, expected):
    """`key:` with no value is YAML null: fine for optional keys, an error for required ones."""
    assert f"t.yaml:{expected}" in problems_of(edit(BASE, old, new))


def test_zero_propellant_is_a_question_not_an_error():
    """A tug may be loaded with 0 kg: the planner then reports the propellant it lacks."""
    s = loads(edit(BASE, "propellant: 80 kg", "propellant: 0 kg"))
    assert s.tug.propellant_kg == 0.0 and s.tug.usable_propellant_kg == 0.0


def test_optional_fields_take_empty_values_as_absent():
    s = loads(edit(BASE, "    mass: 12 kg\n", "    mass: 12 kg\n    deliver_by:\n    priority:\n"))
    assert s.payloads[1].deliver_by_s is None and s.payloads[1].priority == 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "epoch: 2027-03-01T10:00:00Z",
            "epoch: 9999-12-31T23:59:59-01:00",
            '2:8: epoch: "9999-12-31T23:59:59-01:00" is out of range; write a time like '
            "2027-03-01T10:00:00Z",
        ),
        (
            "epoch: 2027-03-01T10:00:00Z",
            "epoch: 1900-01-01T00:00:00Z",
            '2:8: epoch: "1900-01-01T00:00:00Z" is outside 1950-2199, where the Sun\'s '
            "low-precision position (for LTANs) is valid",
        ),
        (
            "altitude: 525 km",
            "altitude: 1e300 km",
            "4:13: dropoff.altitude: the apogee is beyond 1,500,000 km from Earth's centre, "
            "outside Earth's sphere of influence",
        ),
        (
            "dry_mass: 150 kg",
            "dry_mass: " + "1" * 5000,
            '9:13: tug.dry_mass: cannot read "1111111111111111111111111111111111111..." as !!int',
        ),
        (
            "dry_mass: 150 kg",
            "dry_mass: " + "1" * 500 + " kg",
            '9:13: tug.dry_mass: "1111111111111111111111111111111111111..." is not a finite number',
        ),
    ],
)
def test_out_of_range_values_are_problems_not_crashes(old, new, expected):
    """Found by property testing: overflowing dates and numbers; long values are shortened."""
    assert problems_of(edit(BASE, old, new)) == [f"t.yaml:{expected}"]


def test_problem_str_format():
    p = Problem(file="a.yaml", path="payloads[2].target.raan", message="m", line=3, column=5)
    assert str(p) == "a.yaml:3:5: payloads[2].target.raan: m"


# ============================================================================================
# JSON Schema and dumps
# ============================================================================================


def test_json_schema_describes_the_format():
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "epoch", "dropoff", "payloads"}
    # one tug, or a fleet of them: exactly one of the two keys
    assert schema["oneOf"] == [{"required": ["tug"]}, {"required": ["tugs"]}]
    assert set(schema["properties"]) == {
        "name",
        "description",
        "epoch",
        "dropoff",
        "tug",
        "tugs",
        "fleet",
        "pricing",
        "payloads",
        "constraints",
        "solver",
    }
    orbit = schema["$defs"]["OrbitDoc"]["properties"]
    assert orbit["altitude"]["type"] == "string" and orbit["altitude"]["examples"]
    assert orbit["eccentricity"]["exclusiveMaximum"] == 1.0
    engine = schema["$defs"]["EngineDoc"]["properties"]
    assert engine["type"]["enum"] == ["chemical", "electric"]
    pattern = re.compile(orbit["altitude"]["pattern"])
    assert pattern.match("525 km") and not pattern.match("525")


def test_dumps_writes_readable_yaml():
    path = next(p for p in SCENARIOS if p.name == "sso_rideshare.yaml")
    text = dumps(load(path))
    data = yaml.safe_load(text)
    assert data["dropoff"] == {"altitude": "525 km", "sso": True, "ltan": "10:30"}
    assert data["tug"]["dry_mass"] == "240 kg"
    assert data["constraints"]["max_duration"] == "180 d"


def test_dumps_round_trips_a_scenario_built_in_code(minimal_text):
    base = loads(minimal_text)
    odd = dataclasses.replace(
        base,
        dropoff=dataclasses.replace(
            base.dropoff,
            a_km=6901.123456789,
            sso=False,
            inc_rad=1.7,
            ltan_h=None,
            raan_rad=0.123456789,
        ),
        payloads=(
            dataclasses.replace(
                base.payloads[0], mass_kg=12.345678912345, deliver_by_s=1234567.891, priority=4
            ),
        ),
    )
    assert loads(dumps(odd)) == odd


# ============================================================================================
# Property tests: any mutation of a valid scenario, any YAML, loads or raises ScenarioError
# ============================================================================================

_yaml_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "525 km",
            "-5 kg",
            "0 s",
            "97.5 deg",
            "10:30",
            "25:99",
            "3 %",
            "1e999 m",
            "2027-03-01T10:00:00Z",
            "30 d",
            "true",
            "chemical",
            "electric",
            "1 lbf",
            "5 km/s",
            "sso",
            "perigee",
            "reentry",
            "NaN deg",
        ]
    ),
)
_yaml_values = st.recursive(
    _yaml_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    """Every path to a value inside nested dicts and lists."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _mutate(doc, path, action, value, key):
    if not path:
        return value if action == "replace" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[key] = value
    elif action == "rename" and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    return doc


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_scenarios_load_or_raise_scenario_error(data):
    path = data.draw(st.sampled_from(SCENARIOS), label="scenario")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = list(_paths(doc))
        target = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(st.sampled_from(["replace", "delete", "add", "rename"]), label="action")
        value = data.draw(_yaml_values, label="value")
        key = data.draw(st.text(max_size=10), label="key")
        doc = _mutate(doc, target, action, value, key)
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        loaded = loads(text, filename="mutant.yaml")
    except ScenarioError as exc:
        assert exc.problems
        assert all(isinstance(p, Problem) and p.message for p in exc.problems)
        return
    assert isinstance(loaded, Scenario)
    assert loads(dumps(loaded)) == dataclasses.replace(loaded, source=None)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_random_text_loads_or_raises_scenario_error(text):
    try:
        loads(text)
    except ScenarioError as exc:
        assert exc.problems


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_random_bytes_load_or_raise_scenario_error(blob):
    try:
        loads(blob)
    except ScenarioError as exc:
        assert exc.problems


_yaml_like = st.lists(
    st.sampled_from(
        [
            "name: a\n",
            "epoch: 2027-01-01\n",
            "dropoff:\n",
            "  altitude: 500 km\n",
            "  sso: true\n",
            "- x\n",
            "  - {a: 1}\n",
            "&a ",
            "*a\n",
            "<<: *a\n",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "'",
            '"',
            "\t",
            "---\n",
            "!!str ",
            "? ",
            "payloads:\n",
            "tug:\n",
            "  name: t\n",
            "# c\n",
            "key: &b [1, *b]\n",
        ]
    ),
    max_size=25,
).map("".join)


@given(_yaml_like)
@settings(max_examples=300, deadline=None)
def test_yaml_like_text_loads_or_raises_scenario_error(text):
    try:
        loads(text)
    except ScenarioError as exc:
        assert exc.problems


def test_minimum_perigee_altitude_is_the_constant(minimal_text):
    at_limit = edit(minimal_text, "altitude: 525 km", f"altitude: {MIN_PERIGEE_ALTITUDE_KM} km")
    assert loads(at_limit).dropoff.perigee_altitude_km == pytest.approx(MIN_PERIGEE_ALTITUDE_KM)
    below = edit(minimal_text, "altitude: 525 km", f"altitude: {MIN_PERIGEE_ALTITUDE_KM - 1} km")
    with pytest.raises(ScenarioError, match="below the 100 km minimum"):
        loads(below)


# ============================================================================================
# The documentation tells the truth
# ============================================================================================

DOC = REPO / "docs" / "scenario-format.md"


def _fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_docs_yaml_examples_are_valid_and_the_annotated_one_is_shipped():
    blocks = _fenced_blocks(DOC.read_text(encoding="utf-8"), "yaml")
    assert len(blocks) >= 2
    for block in blocks:
        assert isinstance(loads(block), Scenario)
    assert blocks[-1] == (EXAMPLES_DIR / "annotated.yaml").read_text(encoding="utf-8")


def test_annotated_example_uses_every_key_of_the_format():
    """Walk the JSON Schema: every property of every object appears in the annotated example
    (or, for the keys of a fleet, in the fleet example)."""
    text = (EXAMPLES_DIR / "annotated.yaml").read_text(encoding="utf-8")
    text += (EXAMPLES_DIR / "transporter_fleet.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"([a-z_]+):", text))
    schema = json_schema()
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    assert keys - used == set()


def test_docs_messages_are_the_real_ones(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    lines = [line for block in _fenced_blocks(text, "text") for line in block.splitlines()]
    checked = set()
    for line in lines:
        name, _, message = line.partition(":")
        path = BAD_DIR / name
        if path.exists():
            assert f"{path}:{message}" in [str(p) for p in validate_file(path)]
            checked.add(name)
    assert checked == set(BAD_FILES)


def _doc_table_defaults(heading: str) -> dict[str, str]:
    """`key -> default` from the table under a heading of docs/scenario-format.md."""
    section = DOC.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1].split("\n## ")[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", section, flags=re.M)
    return {key: default.strip() for key, default in rows}


def test_documented_defaults_are_the_models():
    """Other modules own the defaults (otvplan.model); the docs must follow them."""
    from otvplan.model import Constraints, SolverSettings

    solver = _doc_table_defaults("Solver")
    settings_ = SolverSettings()
    for key in ("exact_max_payloads", "beam_width", "drift_grid", "max_phasing_revs"):
        assert solver[key] == str(getattr(settings_, key)), key
    assert solver["objective"] == f"`{settings_.objective}`"
    assert (solver["time_limit"] == "none") == (settings_.time_limit_s is None)
    constraints = _doc_table_defaults("Constraints")
    c = Constraints()
    assert constraints["min_drift_altitude"] == format_quantity(
        c.min_drift_altitude_km, "length", ("km",)
    )
    assert constraints["max_drift_altitude"] == format_quantity(
        c.max_drift_altitude_km, "length", ("km",)
    )
    assert constraints["min_deploy_separation"] == format_quantity(
        c.min_deploy_separation_s, "time", ("s",)
    )
    assert constraints["max_impulsive_burn"] == format_quantity(
        c.max_impulsive_burn_s, "time", ("min",)
    )
    assert (constraints["max_duration"] == "no limit") == (c.max_duration_s is None)


def test_dumps_writes_short_apsis_altitudes():
    path = next(p for p in SCENARIOS if p.name == "gto_to_geo.yaml")
    data = yaml.safe_load(dumps(load(path)))
    assert data["dropoff"]["perigee_altitude"] == "250 km"
    assert data["dropoff"]["apogee_altitude"] == "35786 km"


# ============================================================================================
# Issue 14 item 9 and issue 16 item 4: merges with overrides, YAML 1.2 numbers, plural units
# ============================================================================================

MERGE_TEXT = """\
name: merge-test
epoch: 2027-03-01T10:00:00Z
x-tug: &tug
  name: base-tug
  dry_mass: 150 kg
  propellant: 80 kg
  tank_capacity: 100 kg
  engines: [{name: main, type: chemical, isp: 230 s, thrust: 22 N}]
x-orbit: &sso {altitude: 550 km, sso: true}
x-tight: &tight {sma: 1 km}
x-loose: &loose {sma: 3 km, raan: 0.5 deg}
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tug: {<<: *tug, dry_mass: 151 kg}
payloads:
  - name: a
    mass: 10 kg
    target: {<<: *sso, altitude: 560 km, tolerances: {<<: [*tight, *loose]}}
"""


def test_merge_key_with_an_override_takes_the_override():
    s = loads(MERGE_TEXT)
    assert s.tug.dry_mass_kg == 151.0  # the mapping's own key wins over the merged one
    assert s.tug.propellant_kg == 80.0 and s.tug.name == "base-tug"  # the rest is merged
    target = s.payloads[0].target
    assert target.a_km == pytest.approx(R_EARTH_KM + 560.0)
    assert target.sso
    # <<: [*tight, *loose]: the first mapping listed wins a key both give (YAML merge spec)
    assert target.tolerances.sma_km == 1.0
    assert target.tolerances.raan_rad == pytest.approx(math.radians(0.5))


def test_merge_override_problems_point_at_the_override():
    text = MERGE_TEXT.replace("dry_mass: 151 kg}", "dry_mass: heavy}")
    assert problems_of(text) == [
        't.yaml:13:27: tug.dry_mass: expected a mass with a unit, like "180 kg", got "heavy"'
    ]


def test_a_key_given_twice_beside_a_merge_is_still_a_duplicate():
    text = MERGE_TEXT.replace("dry_mass: 151 kg}", "dry_mass: 151 kg, dry_mass: 152 kg}")
    assert problems_of(text) == [
        't.yaml:13:35: tug.dry_mass: duplicate key "dry_mass" (first given at line 13); keep '
        "one of them"
    ]


@pytest.mark.parametrize(
    "text,expected",
    [("1e-15", 1e-15), ("2E-3", 2e-3), ("1.0e-5", 1e-5), ("5e-1", 0.5), (".5e-3", 5e-4)],
)
def test_yaml_1_2_numbers_are_numbers(minimal_text, text, expected):
    """YAML 1.1 reads 1e-15 (no dot) as text; the format takes it as the number it is."""
    s = loads(
        edit(
            minimal_text,
            'target: {altitude: 550 km, sso: true, ltan: "11:00"}',
            'target: {altitude: 550 km, sso: true, ltan: "11:00", '
            f"tolerances: {{eccentricity: {text}}}}}",
        )
    )
    assert s.payloads[0].target.tolerances.eccentricity == expected


def test_text_that_is_not_a_number_is_still_refused(minimal_text):
    text = edit(
        minimal_text,
        'target: {altitude: 550 km, sso: true, ltan: "11:00"}',
        'target: {altitude: 550 km, sso: true, ltan: "11:00", tolerances: {eccentricity: 1e-15x}}',
    )
    assert problems_of(text) == [
        't.yaml:24:85: payloads[0].target.tolerances.eccentricity: expected a number, got "1e-15x"'
    ]


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("30 days", "time", 30 * DAY_S),
        ("1 day", "time", DAY_S),
        ("2 hours", "time", 7200.0),
        ("3 hrs", "time", 10800.0),
        ("10 mins", "time", 600.0),
        ("90 minutes", "time", 5400.0),
        ("20 seconds", "time", 20.0),
        ("5 secs", "time", 5.0),
        ("2 yrs", "time", 2 * 365.25 * DAY_S),
        ("3 years", "time", 3 * 365.25 * DAY_S),
        ("2 weeks", "time", 14 * DAY_S),
        ("525 kilometers", "length", 525.0),
        ("525 kilometres", "length", 525.0),
        ("800 metres", "length", 0.8),
        ("10 degrees", "angle", math.radians(10.0)),
        ("150 kgs", "mass", 150.0),
        ("100 kilograms", "mass", 100.0),
        ("2 tonnes", "mass", 2000.0),
        ("22 newtons", "force", 22.0),
        ("0.5 lightsecond", "length", 0.5 * 299792.458),  # anything astropy knows
    ],
)
def test_plural_and_spelled_out_units(text, dimension, expected):
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30 dayz", 'unknown unit "dayz" in "30 dayz"; a duration takes s, min, h, d or yr'),
        (
            "3 Ns",
            'unknown unit "Ns" in "3 Ns"; did you mean "s"? a duration takes s, min, h, d or yr',
        ),
        ("3 days", None),
    ],
)
def test_plural_rule_does_not_invent_units(text, message):
    if message is None:
        assert parse_quantity(text, "time") == 3 * DAY_S
        return
    with pytest.raises(QuantityError) as info:
        parse_quantity(text, "time")
    assert str(info.value) == message


def test_plural_units_in_a_scenario(minimal_text):
    s = loads(edit(minimal_text, "max_duration: 90 d", "max_duration: 30 days"))
    assert s.constraints.max_duration_s == 30 * DAY_S
    assert loads(dumps(s)) == s


def test_a_very_deep_document_is_refused_with_a_small_stack():
    """libyaml's composer recurses in C: 5,000 nested lists crash a process whose stack is
    1 MB. Such a document goes to the pure-Python composer, which refuses it."""
    import resource
    import subprocess
    import sys

    def small_stack():
        resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, 1 << 20))

    code = (
        "from otvplan.io import scenario\n"
        "try:\n"
        "    scenario.loads('a: ' + '[' * 5000 + ']' * 5000 + '\\n', filename='t.yaml')\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        preexec_fn=small_stack,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert "t.yaml:1:44: the document nests too deeply" in out.stdout
