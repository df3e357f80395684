"""First sizing without every detail (issue 16 item 5): ``tank_capacity`` defaults to the
propellant loaded, and a chemical engine without ``thrust`` is impulsive (thrust = inf in the
model: burns of no duration). A five-line scenario plans."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import pytest

import otvplan
from otvplan.errors import ScenarioError
from otvplan.io.scenario import dumps, loads

FIVE_LINES = """\
name: first-sizing
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tug: {name: tug, dry_mass: 150 kg, propellant: 80 kg, engines: [{name: main, type: chemical, isp: 230 s}]}
payloads: [{name: sat-1, mass: 12 kg, target: {altitude: 550 km, sso: true}}]
"""  # noqa: E501


def test_five_line_scenario_defaults(caplog):
    with caplog.at_level(logging.INFO, logger="otvplan.io.scenario"):
        s = loads(FIVE_LINES, filename="five.yaml")
    assert s.tug.tank_capacity_kg == s.tug.propellant_kg == 80.0
    assert s.tug.engines[0].thrust_n == math.inf
    assert any(
        "engine main has no thrust: its burns are impulsive" in r.getMessage()
        for r in caplog.records
    )
    again = loads(dumps(s), filename="five.yaml")
    assert again == s
    assert "thrust" not in dumps(s)


def test_five_line_scenario_plans_with_instant_burns():
    p = otvplan.plan(FIVE_LINES)
    assert p.feasible and p.delivered == ("sat-1",)
    burns = [b for leg in p.legs for b in leg.burns]
    assert burns and all(b.duration_s == 0.0 for b in burns)
    assert p.propellant_used_kg > 0.0
    # the same mission with a 22 N engine books the same propellant (impulsive either way)
    finite = otvplan.plan(FIVE_LINES.replace("isp: 230 s}", "isp: 230 s, thrust: 22 N}"))
    assert finite.propellant_used_kg == pytest.approx(p.propellant_used_kg, rel=1e-12)
    assert all(b.duration_s > 0.0 for leg in finite.legs for b in leg.burns)


def test_otvplan_plan_on_a_five_line_file(tmp_path):
    path = tmp_path / "five.yaml"
    path.write_text(FIVE_LINES, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "otvplan", "plan", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "first-sizing: feasible plan (propellant)" in result.stdout
    assert "delivered 1 of 1 payloads" in result.stdout


def test_an_electric_engine_still_needs_its_thrust():
    text = FIVE_LINES.replace("type: chemical, isp: 230 s", "type: electric, isp: 1500 s")
    with pytest.raises(ScenarioError) as info:
        loads(text, filename="five.yaml")
    assert [str(p) for p in info.value.problems] == [
        "five.yaml:4:65: tug.engines[0].thrust: an electric engine needs its thrust (a spiral's "
        "duration follows from it); add e.g. `thrust: 50 mN`"
    ]


def test_a_given_tank_capacity_is_still_checked():
    text = FIVE_LINES.replace("propellant: 80 kg,", "propellant: 80 kg, tank_capacity: 70 kg,")
    with pytest.raises(ScenarioError) as info:
        loads(text, filename="five.yaml")
    assert "tug.propellant: 80 kg loaded exceeds the tank_capacity of 70 kg" in str(info.value)


def test_plan_file_of_an_impulsive_engine_reads_back():
    from otvplan.reporting import report

    p = otvplan.plan(FIVE_LINES)
    again = report.plan_from_json(report.plan_to_json(p))
    assert again.scenario.tug.engines[0].thrust_n == math.inf
    assert again == p


def test_schema_leaves_thrust_and_tank_capacity_optional():
    from otvplan.io.scenario import json_schema

    schema = json.dumps(json_schema())
    defs = json_schema()["$defs"]
    assert "tank_capacity" not in defs["TugDoc"].get("required", [])
    assert "thrust" not in defs["EngineDoc"].get("required", [])
    assert "impulsive" in defs["EngineDoc"]["properties"]["thrust"]["description"]
    assert "default: the propellant loaded" in schema
