"""The otvplan command line: exit codes, one line per problem, never a traceback."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import otvplan
from otvplan import cli
from otvplan.cli import EXIT_BAD_INPUT, EXIT_INTERNAL_ERROR, EXIT_OK, VERSION_PACKAGES, main
from otvplan.errors import OtvplanError
from otvplan.io import scenario
from paths import BAD_FILES, EXAMPLES, REPO, SCENARIOS


def run(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    """Run the CLI in-process; return (status, stdout lines, stderr lines)."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------


def test_validate_good_files(capsys):
    status, out, err = run(capsys, "validate", *map(str, SCENARIOS))
    assert status == EXIT_OK
    assert out == [f"{path}: ok" for path in SCENARIOS]
    assert err == []


def test_validate_reports_every_problem_of_every_file(capsys):
    unknown_key, missing_unit = (
        REPO / "tests/data/bad/unknown_key.yaml",
        REPO / "tests/data/bad/missing_unit.yaml",
    )
    good = SCENARIOS[0]
    status, out, err = run(capsys, "validate", str(unknown_key), str(good), str(missing_unit))
    assert status == EXIT_BAD_INPUT
    assert out == [
        f'{unknown_key}:10:3: tug.dyr_mass: unknown key "dyr_mass"; did you mean "dry_mass"?',
        f"{good}: ok",
        f'{missing_unit}:5:13: dropoff.altitude: expected a length with a unit, like "525 km", '
        "got the bare number 525",
    ]
    assert err == ["2 problems in 2 of 3 files"]


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_validate_each_bad_file_exits_2_with_one_line_per_problem(capsys, path):
    status, out, err = run(capsys, "validate", str(path))
    assert status == EXIT_BAD_INPUT
    assert out == [str(p) for p in scenario.validate_file(path)]
    assert all(line.startswith(f"{path}:") for line in out)
    assert len(err) == 1 and "Traceback" not in "\n".join(out + err)


def test_validate_missing_file_and_directory(capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    status, out, _ = run(capsys, "validate", str(missing), str(tmp_path))
    assert status == EXIT_BAD_INPUT
    assert out == [
        f"{missing}: no such file; check the path (`otvplan example` writes a starter scenario)",
        f"{tmp_path}: is a directory, not a scenario file; give the path of a .yaml file, e.g. "
        "scenarios/sso_rideshare.yaml",
    ]


def test_validate_json(capsys):
    bad = REPO / "tests/data/bad/nonpositive_mass.yaml"
    status, out, err = run(capsys, "validate", "--json", str(SCENARIOS[0]), str(bad))
    assert status == EXIT_BAD_INPUT
    assert err == []
    report = json.loads("\n".join(out))
    assert report == [
        {"file": str(SCENARIOS[0]), "ok": True, "problems": []},
        {
            "file": str(bad),
            "ok": False,
            "problems": [
                {
                    "line": 20,
                    "column": 11,
                    "path": "payloads[1].mass",
                    "message": 'must be greater than zero, got "0 kg"',
                }
            ],
        },
    ]


def test_validate_keeps_brackets_and_long_lines_intact(capsys, tmp_path):
    """Rich must neither read `[1]` as markup nor wrap a long problem line."""
    text = (REPO / "tests/data/bad/inclination_range.yaml").read_text(encoding="utf-8")
    path = tmp_path / ("long-" + "x" * 120 + ".yaml")
    path.write_text(text, encoding="utf-8")
    _, out, _ = run(capsys, "validate", str(path))
    assert len(out) == 1
    assert "payloads[1].target.inclination" in out[0] and len(out[0]) > 200


# --------------------------------------------------------------------------------------------
# --version, example, schema
# --------------------------------------------------------------------------------------------


def test_version_lists_otvplan_and_dependencies(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == EXIT_OK
    assert out[0] == f"otvplan {otvplan.__version__}"
    listed = dict(line.split(" ", 1) for line in out[1:])
    for name in VERSION_PACKAGES:
        assert listed[name] == importlib.metadata.version(name)
    assert set(VERSION_PACKAGES) == {
        "boinor",
        "astropy",
        "numpy",
        "scipy",
        "pydantic",
        "typer",
        "matplotlib",
    }


def test_example_lists_the_packaged_starters(capsys):
    status, out, _ = run(capsys, "example")
    assert status == EXIT_OK
    names = [line.split()[0] for line in out]
    assert names == [p.stem for p in EXAMPLES]
    assert {"minimal", "annotated", "sso_rideshare", "gto_to_geo"} <= set(names)
    assert all(len(line.split(None, 1)) == 2 for line in out)  # each has a summary


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_prints_a_valid_scenario(capsys, path):
    status, out, _ = run(capsys, "example", path.stem)
    assert status == EXIT_OK
    text = "\n".join(out) + "\n"
    assert text == path.read_text(encoding="utf-8")
    assert scenario.loads(text).name


def test_example_out_refuses_to_overwrite_without_force(capsys, tmp_path):
    target = tmp_path / "mission.yaml"
    status, _, err = run(capsys, "example", "minimal", "--out", str(target))
    assert status == EXIT_OK and err == [
        f"wrote {target} (check it with: otvplan validate {target})"
    ]
    assert scenario.validate_file(target) == []
    target.write_text("# mine\n", encoding="utf-8")
    status, _, err = run(capsys, "example", "minimal", "--out", str(target))
    assert status == EXIT_BAD_INPUT
    assert err == [f"otvplan: {target}: already exists; pass --force to overwrite it"]
    assert target.read_text(encoding="utf-8") == "# mine\n"
    status, _, _ = run(capsys, "example", "annotated", "--out", str(target), "--force")
    assert status == EXIT_OK and scenario.load(target).name == "annotated-example"


def test_example_unknown_name_suggests_the_closest(capsys):
    status, out, err = run(capsys, "example", "sso_rideshar")
    assert status == EXIT_BAD_INPUT and out == []
    assert err == [
        f'otvplan: no example named "sso_rideshar"; did you mean "sso_rideshare"? '
        f"(available: {', '.join(p.stem for p in EXAMPLES)})"
    ]


def test_schema_prints_the_json_schema(capsys):
    status, out, _ = run(capsys, "schema")
    assert status == EXIT_OK
    assert json.loads("\n".join(out)) == scenario.json_schema()


# --------------------------------------------------------------------------------------------
# main(): exit codes and error mapping
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["bogus"], "No such command 'bogus'"),
        (["validate"], "Missing argument"),
        (["validate", "--colour", "x.yaml"], "No such option: --colour"),
        ([], "Usage: otvplan"),
    ],
)
def test_usage_errors_exit_2(capsys, args, fragment):
    status, out, err = run(capsys, *args)
    assert status == EXIT_BAD_INPUT
    assert fragment in "\n".join(out + err)
    assert "Traceback" not in "\n".join(out + err)


def test_help_exits_0(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == EXIT_OK
    text = "\n".join(out)
    assert "validate" in text and "example" in text and "schema" in text


def test_otvplan_errors_become_one_line_per_problem(capsys, monkeypatch):
    def fail(path):
        raise scenario.ScenarioError(
            [
                scenario.Problem("a.yaml", "tug.dry_mass", "first", 3, 5),
                scenario.Problem("a.yaml", "", "second"),
            ]
        )

    monkeypatch.setattr(scenario, "validate_file", fail)
    status, out, err = run(capsys, "validate", "a.yaml")
    assert status == EXIT_BAD_INPUT and out == []
    assert err == ["a.yaml:3:5: tug.dry_mass: first", "a.yaml: second"]


def test_plain_otvplan_error_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(
        cli,
        "example_text",
        lambda name: (_ for _ in ()).throw(OtvplanError("something the user can fix")),
    )
    status, _, err = run(capsys, "example", "minimal")
    assert status == EXIT_BAD_INPUT
    assert err == ["otvplan: something the user can fix"]


def test_unexpected_exception_is_one_line_unless_debugging(capsys, monkeypatch):
    def bug(path):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(scenario, "validate_file", bug)
    monkeypatch.delenv("OTVPLAN_DEBUG", raising=False)
    status, _, err = run(capsys, "validate", "a.yaml")
    assert status == EXIT_INTERNAL_ERROR
    assert err == [
        "otvplan: internal error: ZeroDivisionError: division by zero -- this is a "
        "bug in otvplan; rerun with OTVPLAN_DEBUG=1 for the traceback and report it"
    ]
    monkeypatch.setenv("OTVPLAN_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["validate", "a.yaml"])


# --------------------------------------------------------------------------------------------
# As a program: python -m otvplan and the console script
# --------------------------------------------------------------------------------------------


def test_python_m_otvplan_on_every_bad_file_has_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "otvplan", "validate", *map(str, BAD_FILES), str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in result.stdout + result.stderr
    expected = sum(len(scenario.validate_file(p)) for p in BAD_FILES) + 1
    assert len(result.stdout.splitlines()) == expected


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("otvplan")
    if not script.exists():
        pytest.skip("the otvplan console script is not installed next to this Python")
    result = subprocess.run(
        [str(script), "validate", *map(str, SCENARIOS)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "40"},
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.splitlines() == [f"{p}: ok" for p in SCENARIOS]
