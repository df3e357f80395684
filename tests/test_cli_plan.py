"""`otvplan plan` and `otvplan verify`: output, files, exit statuses, errors without tracebacks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from otvplan.cli import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_OK, EXIT_VERIFICATION_FAILED, main
from otvplan.reporting.report import plan_from_json, plan_to_json
from paths import SCENARIOS_DIR

SMALL = """\
name: small-raise
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 500 km, inclination: 53 deg, raan: 40 deg}
tug:
  name: t
  dry_mass: 150 kg
  propellant: 30 kg
  tank_capacity: 40 kg
  propellant_reserve: 1 kg
  engines: [{name: m, type: chemical, isp: 230 s, thrust: 22 N}]
payloads:
  - {name: a, mass: 10 kg, target: {altitude: 560 km, inclination: 53 deg}}
  - {name: b, mass: 12 kg, target: {altitude: 620 km, inclination: 53.05 deg}}
constraints: {max_duration: 10 d}
"""


@pytest.fixture()
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_plan_prints_the_leg_table_and_totals(small, capsys):
    assert main(["plan", str(small)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "small-raise: feasible plan (propellant)" in out
    assert "drop-off" in out and "delta-v m/s" in out
    assert "delivered 2 of 2 payloads" in out
    assert "propellant used" in out and "margin" in out


def test_plan_json_round_trips(small, capsys):
    assert main(["plan", str(small), "--json"]) == EXIT_OK
    text = capsys.readouterr().out
    p = plan_from_json(text)
    assert p.feasible and sorted(p.delivered) == ["a", "b"]
    assert plan_to_json(p) == plan_to_json(plan_from_json(plan_to_json(p)))


def test_plan_out_writes_json_and_csv(small, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", str(small), "--out", str(out)]) == EXIT_OK
    names = sorted(p.name for p in out.iterdir())
    assert names == ["burns.csv", "legs.csv", "plan.json"]
    legs = (out / "legs.csv").read_text(encoding="utf-8").splitlines()
    assert len(legs) == 1 + 2  # header + two legs (no disposal asked for)
    data = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert data["format_version"] and data["plan"]["feasible"] is True


def test_infeasible_plan_exits_3_with_shortfall(small, tmp_path, capsys):
    poor = tmp_path / "poor.yaml"
    poor.write_text(SMALL.replace("propellant: 30 kg", "propellant: 2 kg"), encoding="utf-8")
    assert main(["plan", str(poor)]) == EXIT_INFEASIBLE
    out = capsys.readouterr().out
    assert "INFEASIBLE" in out
    assert "shortfall: propellant:" in out
    assert "not delivered:" in out


def test_bad_objective_is_one_line_exit_2(small, capsys):
    assert main(["plan", str(small), "--objective", "propelant"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "did you mean propellant?" in err
    assert "Traceback" not in err


def test_bad_scenario_reports_file_line_col(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("dry_mass: 150 kg", "dry_mass: -150 kg"), encoding="utf-8")
    assert main(["plan", str(bad)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{bad}:6:13: tug.dry_mass: must be greater than zero" in err
    assert "Traceback" not in err


def test_verify_a_plan_file_passes_and_a_broken_one_fails(small, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", str(small), "--out", str(out)]) == EXIT_OK
    capsys.readouterr()
    assert main(["verify", str(out / "plan.json")]) == EXIT_OK
    assert "PASSED" in capsys.readouterr().out
    # flip the sign of the first burn: the payload ends far from its target
    p = plan_from_json((out / "plan.json").read_text(encoding="utf-8"))
    leg = p.legs[0]
    burn = leg.burns[0]
    flipped = replace(burn, dv_tnw_kms=tuple(-x for x in burn.dv_tnw_kms))
    broken = replace(p, legs=(replace(leg, burns=(flipped,) + leg.burns[1:]),) + p.legs[1:])
    (tmp_path / "broken.json").write_text(plan_to_json(broken), encoding="utf-8")
    assert main(["verify", str(tmp_path / "broken.json")]) == EXIT_VERIFICATION_FAILED
    assert "FAIL" in capsys.readouterr().out


def test_verify_rejects_a_file_that_is_not_a_plan(tmp_path, capsys):
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}', encoding="utf-8")
    assert main(["verify", str(junk)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(junk) in err and "Traceback" not in err


def test_readme_main_command_plans_the_example(capsys):
    assert main(["plan", str(SCENARIOS_DIR / "sso_rideshare.yaml")]) == EXIT_OK
    assert "feasible plan" in capsys.readouterr().out
