"""Hostile inputs and file-system faults: every command exits with a documented status and one
clear line naming the file (docs/limits.md, "Exit status" and "Guarantees")."""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from otvplan.cli import (
    EXIT_BAD_INPUT,
    EXIT_CODES,
    EXIT_INFEASIBLE,
    EXIT_INTERNAL_ERROR,
    EXIT_OK,
    EXIT_OUTPUT_ERROR,
    EXIT_VERIFICATION_FAILED,
    main,
    plan_status,
)
from otvplan.errors import OutputError
from otvplan.io import atomicio
from otvplan.reporting import report

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

STUDY = """\
name: two-cases
base: small.yaml
axes: {tug.dry_mass: [150 kg, 160 kg]}
"""


def run(capsys, *args) -> tuple[int, list[str], list[str]]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A scenario, its plan.json, an infeasible scenario and its plan, a broken plan."""
    from otvplan.io.scenario import loads
    from otvplan.planning.solver import plan as make_plan

    root = tmp_path_factory.mktemp("hostile")
    good = make_plan(loads(SMALL, filename="small.yaml"))
    poor = make_plan(
        loads(SMALL.replace("propellant: 30 kg", "propellant: 2 kg"), filename="poor.yaml")
    )
    assert good.feasible and not poor.feasible
    leg = good.legs[0]
    burn = leg.burns[0]
    flipped = replace(burn, dv_tnw_kms=tuple(-x for x in burn.dv_tnw_kms))
    broken = replace(good, legs=(replace(leg, burns=(flipped,) + leg.burns[1:]),) + good.legs[1:])
    paths = {}
    for name, text in (
        ("small.yaml", SMALL),
        ("poor.yaml", SMALL.replace("propellant: 30 kg", "propellant: 2 kg")),
        ("study.yaml", STUDY),
        ("plan.json", report.plan_to_json(good)),
        ("poor.json", report.plan_to_json(poor)),
        ("broken.json", report.plan_to_json(broken)),
    ):
        (root / name).write_text(text, encoding="utf-8")
        paths[name] = root / name
    return paths


# --------------------------------------------------------------------------------------------
# Exit codes of every command (issue: `report --verify` exited 0 on a failed verification)
# --------------------------------------------------------------------------------------------


def test_exit_code_table_is_the_documented_one():
    assert EXIT_CODES[0] == "ok" and EXIT_CODES[1] == "verification failed"
    assert EXIT_CODES[2].startswith("bad input") and EXIT_CODES[3] == "infeasible plan"
    assert EXIT_OUTPUT_ERROR == 73 and EXIT_INTERNAL_ERROR == 70
    limits = (Path(__file__).resolve().parents[1] / "docs" / "limits.md").read_text()
    rows = [line for line in limits.splitlines() if line.startswith("| ")]
    for code, meaning in EXIT_CODES.items():
        words = meaning.split(" (")[0].split()[:2]
        assert any(line.startswith(f"| {code} | ") for line in rows), f"{code} not documented"
        assert (
            code == 130
            or any(" ".join(words) in line for line in rows if line.startswith(f"| {code} | "))
            or code in (69, 73)
        )


class _V:
    def __init__(self, passed):
        self.passed = passed


def test_plan_status_precedence(files):
    good = report.read_plan_file(files["plan.json"])
    poor = report.read_plan_file(files["poor.json"])
    assert plan_status(good) == EXIT_OK
    assert plan_status(poor) == EXIT_INFEASIBLE
    assert plan_status(good, _V(True)) == EXIT_OK
    assert plan_status(good, _V(False)) == EXIT_VERIFICATION_FAILED
    assert plan_status(poor, _V(True)) == EXIT_INFEASIBLE
    assert plan_status(poor, _V(False)) == EXIT_VERIFICATION_FAILED


@pytest.mark.slow
def test_report_exit_codes(files, tmp_path, capsys):
    assert (
        run(capsys, "report", files["plan.json"], "--out", tmp_path / "a", "--no-exports")[0]
        == EXIT_OK
    )
    status, _, err = run(
        capsys, "report", files["poor.json"], "--out", tmp_path / "b", "--no-exports"
    )
    assert status == EXIT_INFEASIBLE
    assert any("INFEASIBLE" in line for line in err)
    assert (tmp_path / "b" / "report.md").is_file()  # the report is still written
    status, _, err = run(
        capsys, "report", files["broken.json"], "--out", tmp_path / "c", "--verify", "--no-exports"
    )
    assert status == EXIT_VERIFICATION_FAILED
    assert any("verification FAILED" in line for line in err)
    assert "some checks FAILED" in (tmp_path / "c" / "report.md").read_text()
    status, _, _ = run(
        capsys, "report", files["plan.json"], "--out", tmp_path / "d", "--verify", "--no-exports"
    )
    assert status == EXIT_OK


def test_report_of_an_infeasible_scenario_file_exits_3(files, tmp_path, capsys):
    status, _, _ = run(
        capsys, "report", files["poor.yaml"], "--out", tmp_path / "r", "--no-exports"
    )
    assert status == EXIT_INFEASIBLE


def test_verify_exit_codes(files, capsys):
    assert run(capsys, "verify", files["plan.json"])[0] == EXIT_OK
    assert run(capsys, "verify", files["broken.json"])[0] == EXIT_VERIFICATION_FAILED
    assert run(capsys, "verify", files["broken.json"], "--json")[0] == EXIT_VERIFICATION_FAILED
    from otvplan.flight.verify import verify

    poor = report.read_plan_file(files["poor.json"])
    expected = EXIT_VERIFICATION_FAILED if not verify(poor).passed else EXIT_INFEASIBLE
    assert run(capsys, "verify", files["poor.json"])[0] == expected


def test_plan_validate_example_schema_sweep_exit_codes(files, tmp_path, capsys):
    assert run(capsys, "plan", files["small.yaml"])[0] == EXIT_OK
    assert run(capsys, "plan", files["poor.yaml"], "--json")[0] == EXIT_INFEASIBLE
    assert run(capsys, "plan", files["poor.yaml"], "--out", tmp_path / "p")[0] == EXIT_INFEASIBLE
    assert run(capsys, "plan", tmp_path / "missing.yaml")[0] == EXIT_BAD_INPUT
    assert run(capsys, "validate", files["small.yaml"])[0] == EXIT_OK
    assert run(capsys, "validate", files["plan.json"])[0] == EXIT_BAD_INPUT
    assert run(capsys, "example", "minimal")[0] == EXIT_OK
    assert run(capsys, "example", "no-such-example")[0] == EXIT_BAD_INPUT
    assert run(capsys, "schema")[0] == EXIT_OK
    assert (
        run(capsys, "sweep", files["study.yaml"], "--out", tmp_path / "s", "-w", "0", "--no-plots")[
            0
        ]
        == EXIT_OK
    )
    assert (
        run(capsys, "sweep", files["small.yaml"], "--out", tmp_path / "s2", "-w", "0")[0]
        == EXIT_BAD_INPUT
    )
    assert run(capsys, "plan")[0] == EXIT_BAD_INPUT  # usage error


# --------------------------------------------------------------------------------------------
# File-system faults: their own message and exit status 73, never "internal error"
# --------------------------------------------------------------------------------------------


def _commands(files, out: Path) -> dict[str, list]:
    return {
        "plan --out": ["plan", files["small.yaml"], "--out", out],
        "plan --report": ["plan", files["small.yaml"], "--report", out],
        "report": ["report", files["plan.json"], "--out", out, "--no-exports"],
        "sweep": ["sweep", files["study.yaml"], "--out", out, "-w", "0", "--no-plots"],
        "example": ["example", "minimal", "--out", out, "--force"],
    }


COMMANDS = ["plan --out", "plan --report", "report", "sweep", "example"]


def _setup(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """An output path that cannot be written, and what the message must say."""
    blocker = tmp_path / "a-file"
    blocker.write_text("mine\n")
    if kind == "is a file":
        return blocker, "exists and is not a directory"
    if kind == "under a file":
        return blocker / "sub" / "out", "a-file is a file, not a directory"
    if kind == "dangling symlink":
        link = tmp_path / "link"
        link.symlink_to(tmp_path / "nowhere")
        return link, "dangling symbolic link"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["is a file", "under a file", "dangling symlink"])
@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_path_in_the_way_is_exit_73_with_one_line(files, tmp_path, capsys, command, kind):
    out, fragment = _setup(kind, tmp_path)
    status, _, err = run(capsys, *_commands(files, out)[command])
    if command == "example" and kind == "is a file":  # --force overwrites a file: its job
        assert status == EXIT_OK and out.read_text().startswith("#")
        return
    assert status == EXIT_OUTPUT_ERROR, err
    problem = [line for line in err if line.startswith("otvplan: ")]
    assert len(problem) == 1, err
    assert str(out) in problem[0] and fragment in problem[0]
    assert "internal error" not in "\n".join(err) and "Traceback" not in "\n".join(err)
    assert (tmp_path / "a-file").read_text() == "mine\n"  # the file in the way is untouched


@pytest.mark.parametrize(
    "code,fragment", [(errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied")]
)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_directory_is_exit_73(
    files, tmp_path, capsys, monkeypatch, command, code, fragment
):
    """Tests run as root here, where chmod cannot make a directory read-only: the file system's
    answer is injected into every way otvplan creates files and directories."""

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(args[0]) if args else None)

    out = tmp_path / "ro" / "out"
    out.parent.mkdir()
    monkeypatch.setattr(atomicio.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(atomicio.os, "open", refuse)
    monkeypatch.setattr(Path, "mkdir", refuse)
    status, _, err = run(capsys, *_commands(files, out)[command])
    assert status == EXIT_OUTPUT_ERROR, err
    problem = [line for line in err if line.startswith("otvplan: ")]
    assert len(problem) == 1 and fragment in problem[0] and str(out) in problem[0], err
    assert "internal error" not in "\n".join(err)


def _enospc_after(monkeypatch, n: int) -> dict:
    """Make the n-th fsync (and every later one) fail as a full disk does."""
    real = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] >= n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(atomicio.os, "fsync", fsync)
    return calls


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


@pytest.mark.parametrize("nth", [1, 4, 9])
def test_a_full_disk_leaves_the_previous_report_whole(files, tmp_path, capsys, monkeypatch, nth):
    out = tmp_path / "out"
    assert run(capsys, "report", files["poor.json"], "--out", out)[0] == EXIT_INFEASIBLE
    before = snapshot(out)
    _enospc_after(monkeypatch, nth)
    status, _, err = run(capsys, "report", files["plan.json"], "--out", out)
    assert status == EXIT_OUTPUT_ERROR
    assert any("no space left on the device" in line and str(out) in line for line in err)
    assert snapshot(out) == before  # the old plan, whole: not half new, half old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left over


def test_a_full_disk_keeps_the_users_scenario_file(tmp_path, capsys, monkeypatch):
    target = tmp_path / "mission.yaml"
    target.write_text("my own scenario\n")
    _enospc_after(monkeypatch, 1)
    status, _, err = run(capsys, "example", "minimal", "--out", target, "--force")
    assert status == EXIT_OUTPUT_ERROR and "no space left" in err[-1]
    assert target.read_text() == "my own scenario\n"
    assert os.listdir(tmp_path) == ["mission.yaml"]


def test_a_full_disk_during_a_sweep_is_exit_73_and_resumable(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real_write = os.write
    import otvplan.study.store as store

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "write", full)
    status, _, err = run(
        capsys, "sweep", files["study.yaml"], "--out", out, "-w", "0", "--no-plots"
    )
    assert status == EXIT_OUTPUT_ERROR
    assert any("results.jsonl" in line and "no space left" in line for line in err)
    monkeypatch.setattr(store.os, "write", real_write)
    assert (
        run(capsys, "sweep", files["study.yaml"], "--out", out, "-w", "0", "--no-plots")[0]
        == EXIT_OK
    )
    assert len((out / "results.jsonl").read_bytes().splitlines()) == 2


def test_an_unexpected_os_error_elsewhere_is_still_a_clean_line(capsys, monkeypatch):
    from otvplan import cli

    def boom(*a, **k):
        raise OSError(errno.EIO, "Input/output error", "/some/device")

    monkeypatch.setattr(cli, "version_lines", boom)
    status, _, err = run(capsys, "--version")
    assert status == EXIT_OUTPUT_ERROR
    assert err == ["otvplan: /some/device: input/output error from the device"]


# --------------------------------------------------------------------------------------------
# The report set: one plan or the previous one
# --------------------------------------------------------------------------------------------


def test_report_set_is_swapped_whole_and_stale_files_go(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, "report", files["plan.json"], "--out", out)[0] == EXIT_OK
    with_exports = snapshot(out)
    assert {"plan.oem", "plan.opm", "plan.script"} <= set(with_exports)
    assert (
        run(capsys, "report", files["poor.json"], "--out", out, "--no-exports")[0]
        == EXIT_INFEASIBLE
    )
    now = snapshot(out)
    assert not {"plan.oem", "plan.opm", "plan.script"} & set(now)  # stale exports removed
    assert json.loads(now["plan.json"])["plan"]["feasible"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_report_into_a_directory_with_other_files_keeps_them(files, tmp_path, capsys):
    out = tmp_path / "work"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n")
    (out / "fig_pareto.png").write_bytes(b"old figure")  # a report file of an older run
    assert run(capsys, "report", files["plan.json"], "--out", out, "--no-exports")[0] == EXIT_OK
    assert (out / "notes.txt").read_text() == "keep me\n"
    assert not (out / "fig_pareto.png").exists()  # this plan has no Pareto figure
    assert (out / "report.html").read_text().rstrip().endswith("</html>")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_report_through_a_symlinked_directory(files, tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert run(capsys, "report", files["plan.json"], "--out", link, "--no-exports")[0] == EXIT_OK
    assert link.is_symlink() and (real / "report.md").is_file()
    assert not [p for p in real.iterdir() if p.name.startswith(".")]


def test_staged_directory_discards_on_error(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "a").write_text("old a")
    with pytest.raises(RuntimeError):
        with atomicio.StagedDirectory(out, managed=("a", "b")) as stage:
            stage.write_text("a", "new a")
            stage.write_text("b", "new b")
            raise RuntimeError("stop")
    assert snapshot(out) == {"a": b"old a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]
    with atomicio.StagedDirectory(out, managed=("a", "b")) as stage:
        stage.write_text("b", "new b")
    assert snapshot(out) == {"b": b"new b"}


def test_output_error_is_an_os_error_naming_the_path(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError) as info:
        atomicio.ensure_dir(tmp_path / "f" / "g")
    assert isinstance(info.value, OSError)
    assert str(info.value).startswith(str(tmp_path / "f" / "g") + ": ")
    with pytest.raises(OutputError, match="is a directory"):
        atomicio.write_text(tmp_path, "x")


# --------------------------------------------------------------------------------------------
# Hostile plan files: validated like scenario files (exit 2, `file: path: message`)
# --------------------------------------------------------------------------------------------


def _mutate(doc: dict, path: str, value) -> dict:
    """Set ``doc``'s value at a dotted path like ``plan.legs[0].propellant_kg``."""
    import re

    node = doc
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value
    return doc


_DELETE = object()

#: (id, path, new value, path in the message, fragment of the message)
PLAN_MUTATIONS = [
    (
        "negative mass",
        "plan.legs[0].propellant_kg",
        -5.0,
        "plan.legs[0].propellant_kg",
        "outside [0",
    ),
    (
        "huge mass",
        "plan.scenario.tug.dry_mass_kg",
        1e308,
        "plan.scenario.tug.dry_mass_kg",
        "outside [0",
    ),
    ("nan mass", "plan.final_mass_kg", "nan", "plan.final_mass_kg", "finite number"),
    ("inf duration", "plan.duration_s", "inf", "plan.duration_s", "finite number"),
    ("1e15 duration", "plan.duration_s", 1e15, "plan.duration_s", "a time of 1e+15"),
    (
        "tampered burn time",
        "plan.legs[0].burns[0].duration_s",
        1e9,
        "plan.legs[0].burns[0].duration_s",
        "a time of 1e+09",
    ),
    ("feasible as text", "plan.feasible", "no", "plan.feasible", "must be true or false"),
    ("number as bool", "plan.exact", 1, "plan.exact", "must be true or false"),
    ("epoch a number", "plan.scenario.epoch", 5, "plan.scenario.epoch", "UTC time as text"),
    ("epoch garbage", "plan.scenario.epoch", "yesterday", "plan.scenario.epoch", "not a UTC time"),
    (
        "epoch far future",
        "plan.scenario.epoch",
        "9999-01-01T00:00:00Z",
        "plan.scenario.epoch",
        "outside 1950-2200",
    ),
    ("payloads null", "plan.scenario.payloads", None, "plan.scenario.payloads", "must not be null"),
    ("legs not a list", "plan.legs", {"a": 1}, "plan.legs", "must be a list"),
    ("missing key", "plan.total_dv_kms", _DELETE, "plan.total_dv_kms", "required key missing"),
    ("unknown key", "plan.legs[0].evil", 1, "plan.legs[0].evil", "unknown key"),
    ("eccentricity 1", "plan.scenario.dropoff.e", 1.5, "plan.scenario.dropoff.e", "outside"),
    (
        "string for a number",
        "plan.legs[0].dv_kms",
        "0.1",
        "plan.legs[0].dv_kms",
        "must be a number",
    ),
    (
        "bad literal",
        "plan.scenario.tug.engines[0].kind",
        "warp",
        "plan.scenario.tug.engines[0].kind",
        "must be one of",
    ),
    ("index not whole", "plan.legs[0].index", 1.5, "plan.legs[0].index", "whole number"),
    ("pair too short", "plan.solver_stats[0]", ["x"], "plan.solver_stats[0]", "list of 2 items"),
    (
        "leg ends before it starts",
        "plan.legs[1].t_end_s",
        0.0,
        "plan.legs[1].t_end_s",
        "ends before it starts",
    ),
]


@pytest.mark.parametrize("case", PLAN_MUTATIONS, ids=[c[0] for c in PLAN_MUTATIONS])
def test_hostile_plan_files_exit_2_naming_file_and_field(files, tmp_path, capsys, case):
    _, path, value, where, fragment = case
    doc = json.loads(files["plan.json"].read_text())
    if path == "plan.legs[1].t_end_s":
        value = doc["plan"]["legs"][1]["t_start_s"] - 1.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_mutate(doc, path, value)), encoding="utf-8")
    for command in (["verify", bad], ["report", bad, "--out", tmp_path / "out"]):
        status, out, err = run(capsys, *command)
        assert status == EXIT_BAD_INPUT, err
        assert any(line.startswith(f"{bad}: {where}: ") and fragment in line for line in err), err
        assert "internal error" not in "\n".join(err)
    assert not (tmp_path / "out").exists()


RAW_FILES = [
    ("not json", b"{not json", "1:2: not valid JSON"),
    ("json error line", b'{\n "format": "otvplan-plan",\n "plan": [1,,]\n}', ":3:"),
    ("latin-1", '{"format": "otvplan-plan", "x": "caf\xe9"}'.encode("latin-1"), "not UTF-8"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ("not a plan", b'{"hello": 1}', "not an otvplan plan file"),
    ("a list", b"[1, 2]", "not an otvplan plan file"),
    (
        "newer format",
        b'{"format": "otvplan-plan", "format_version": 99, "plan": {}}',
        "upgrade otvplan",
    ),
    (
        "version as bool",
        b'{"format": "otvplan-plan", "format_version": true, "plan": {}}',
        "format_version",
    ),
    ("empty", b"", "not valid JSON"),
    ("NaN literal", None, "plan.final_mass_kg: must be a finite number, got 'nan'"),
]


@pytest.mark.parametrize("case", RAW_FILES, ids=[c[0] for c in RAW_FILES])
def test_hostile_plan_bytes_exit_2_naming_the_file(files, tmp_path, capsys, case):
    _, data, fragment = case
    if data is None:
        text = files["plan.json"].read_text()
        data = (
            json.dumps(_mutate(json.loads(text), "plan.final_mass_kg", 1.0))
            .replace('"final_mass_kg": 1.0', '"final_mass_kg": NaN')
            .encode()
        )
    bad = tmp_path / "bad.json"
    bad.write_bytes(data)
    status, _, err = run(capsys, "verify", bad)
    assert status == EXIT_BAD_INPUT, err
    assert len(err) == 1 and err[0].startswith(f"{bad}") and fragment in err[0], err


def test_a_plan_file_with_a_bom_is_read(files, tmp_path, capsys):
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + files["plan.json"].read_bytes())
    assert run(capsys, "verify", bom)[0] == EXIT_OK
    assert report.read_plan_file(bom) == report.read_plan_file(files["plan.json"])


def test_an_oversized_plan_file_is_refused_before_reading(tmp_path, capsys, monkeypatch):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(report.MAX_PLAN_FILE_BYTES + 1)  # sparse: costs no disk
    read = []
    real_open = open

    def spy(path, *a, **k):
        if Path(path) == big:
            read.append(path)
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", spy)
    status, _, err = run(capsys, "verify", big)
    assert status == EXIT_BAD_INPUT and read == []
    assert err == [
        f"{big}: file is larger than 20,000,000 bytes; a plan file is at most a few MB of JSON"
    ]


def test_missing_and_directory_plan_files(tmp_path, capsys):
    status, _, err = run(capsys, "verify", tmp_path / "nope.json")
    assert status == EXIT_BAD_INPUT and "no such file" in err[0]
    (tmp_path / "d.json").mkdir()
    status, _, err = run(capsys, "verify", tmp_path / "d.json")
    assert status == EXIT_BAD_INPUT and "is a directory" in err[0]


def test_every_problem_of_a_plan_file_at_once(files, tmp_path):
    doc = json.loads(files["plan.json"].read_text())
    _mutate(doc, "plan.feasible", "no")
    _mutate(doc, "plan.final_mass_kg", -1.0)
    bad = tmp_path / "two.json"
    bad.write_text(json.dumps(doc))
    from otvplan.errors import InputError

    with pytest.raises(InputError) as info:
        report.read_plan_file(bad)
    assert [p.path for p in info.value.problems] == ["plan.feasible", "plan.final_mass_kg"]


def test_the_reporter_refuses_unbounded_plans(files, tmp_path):
    from otvplan.errors import InputError

    good = report.read_plan_file(files["plan.json"])
    long = replace(good, duration_s=1e10)
    with pytest.raises(InputError, match=r"plan\.duration_s"):
        report.write_report(long, tmp_path / "out", figures=False)
    assert not (tmp_path / "out").exists()


def test_golden_plans_pass_the_validator():
    golden = Path(__file__).resolve().parent / "golden"
    for path in sorted(golden.glob("*_plan.json")):
        doc = json.loads(path.read_text())
        assert report.validate_plan_data(doc, str(path)) == []


# --------------------------------------------------------------------------------------------
# A damaged results store is repaired
# --------------------------------------------------------------------------------------------


def test_a_wrong_shaped_store_line_is_quarantined_and_its_case_rerun(files, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["sweep", files["study.yaml"], "--out", out, "-w", "0", "--no-plots"]
    assert run(capsys, *args)[0] == EXIT_OK
    store = out / "results.jsonl"
    lines = store.read_bytes().splitlines()
    damaged = json.loads(lines[0])
    damaged["status"] = None
    bad_line = json.dumps(damaged).encode()
    store.write_bytes(
        bad_line + b"\n" + lines[1] + b"\n" + b'{"case": "x", "status": 0, '
        b'"metrics": {"total_dv": "lots"}}\n'
    )
    status, _, err = run(capsys, *args)
    assert status == EXIT_OK, err
    notice = [line for line in err if "quarantine" in line]
    assert len(notice) == 1 and "2 damaged lines" in notice[0]
    assert 'line 1 ("status" null is not a status code)' in notice[0]
    assert 'metric "total_dv" is not of kind float' in notice[0]
    kept = (out / "results.quarantine.jsonl").read_bytes().splitlines()
    assert kept[0] == bad_line and len(kept) == 2
    rows = [json.loads(line) for line in store.read_bytes().splitlines()]
    assert sorted(r["case"] for r in rows) == sorted(json.loads(line)["case"] for line in lines)
    assert all(r["status"] == 0 for r in rows)
    # a third run finds nothing to repair
    status, _, err = run(capsys, *args)
    assert status == EXIT_OK and not [line for line in err if "quarantine" in line]


def test_library_sweep_warns_about_quarantined_lines(files, tmp_path):
    from otvplan.study import run as st

    out = tmp_path / "out"
    st.sweep(files["study.yaml"], workers=0, out_dir=out, plots=False)
    store = out / "results.jsonl"
    store.write_bytes(b'{"case": 5, "status": 0}\n' + store.read_bytes())
    with pytest.warns(RuntimeWarning, match="1 damaged line moved"):
        table = st.sweep(files["study.yaml"], workers=0, out_dir=out, plots=False)
    assert list(table["status"]) == ["ok", "ok"]


# --------------------------------------------------------------------------------------------
# Output injection: every writer escapes or refuses what its format cannot carry
# --------------------------------------------------------------------------------------------

EVIL_SCENARIO = "mission\nCreate Spacecraft Evil;\nGMAT Evil.SMA = 1;"
EVIL_TUG = "tug\nMAN_DV_1 = 9.0 [km/s]\r\nOBJECT_NAME = EVIL"
EVIL_PAYLOAD = "<script>alert(1)</script>\n# Owned"
EVIL_DESCRIPTION = "# Heading injected\n<img src=x onerror=alert(1)>\n[click](javascript:x)"


def evil_plan(files):
    """The small plan with hostile names everywhere a name appears."""
    p = report.read_plan_file(files["plan.json"])
    sc = p.scenario
    old = sc.payloads[0].name

    def rename(name):
        return EVIL_PAYLOAD if name == old else name

    payloads = (replace(sc.payloads[0], name=EVIL_PAYLOAD),) + sc.payloads[1:]
    engines = tuple(replace(e, name=e.name + "\n% ;x") for e in sc.tug.engines)
    tug = replace(sc.tug, name=EVIL_TUG, engines=engines)
    scenario = replace(
        sc, name=EVIL_SCENARIO, description=EVIL_DESCRIPTION, tug=tug, payloads=payloads
    )
    legs = []
    for leg in p.legs:
        delivery = leg.delivery
        if delivery is not None:
            delivery = replace(delivery, payload=rename(delivery.payload))
        burns = tuple(
            replace(b, engine=b.engine + "\n% ;x", label=b.label + "\nEVIL = 1") for b in leg.burns
        )
        legs.append(
            replace(
                leg,
                origin=rename(leg.origin),
                destination=rename(leg.destination),
                delivery=delivery,
                burns=burns,
                notes=leg.notes + ("note\n<script>x</script>",),
            )
        )
    return replace(
        p,
        scenario=scenario,
        legs=tuple(legs),
        delivered=tuple(rename(n) for n in p.delivered),
        warnings=p.warnings + ("warn\n## fake section",),
    )


GMAT_COMMAND = re.compile(
    r"^(Create (Spacecraft|ChemicalTank|ForceModel|Propagator|ImpulsiveBurn|ReportFile) "
    r"[A-Za-z][A-Za-z0-9_]*;"
    r"|GMAT [A-Za-z][A-Za-z0-9_.]* = [^;%]*;( +%.*)?"
    r"|Propagate [A-Za-z0-9_]+\([A-Za-z0-9_]+\) \{[^}]*\};( +%.*)?"
    r"|Maneuver [A-Za-z][A-Za-z0-9_]*\([A-Za-z0-9_]+\);"
    r"|BeginMissionSequence;"
    r"|%.*)$"
)


def test_gmat_script_carries_no_injected_command(files):
    from otvplan.reporting import exports as ex

    script = ex.gmat_script(evil_plan(files))
    assert script.isascii()
    creates = [line for line in script.splitlines() if line.startswith("Create ")]
    assert all(re.fullmatch(r"Create \w+ \w+;", line) for line in creates)
    assert not any(
        "Evil" in line.split("%")[0]
        for line in script.splitlines()
        if not line.startswith("GMAT OtvReport.Filename = 'otvplan_mission_")
    )
    for line in script.splitlines():
        assert line == "" or GMAT_COMMAND.match(line), line
    assert "% GMAT script written by otvplan" in script
    assert "mission\\nCreate Spacecraft Evil;\\nGMAT Evil.SMA = 1;" in script  # shown, inert
    assert "otvplan_mission_Create_Spacecraft_Evil__GMAT_Evil_SMA___1_.txt" in script


def test_gmat_identifiers_are_ascii_words():
    from otvplan.reporting.exports import _gmat_name

    for text in ("café", "a b;c", "9lives", "", "x" * 200, "Create Spacecraft Evil;"):
        name = _gmat_name(text)
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,59}", name), (text, name)


KVN_LINE = re.compile(
    r"^(|COMMENT [ -~]*|META_START|META_STOP|[A-Z_0-9]+ = [ -~]+"
    r"|\d{4}-\d\d-\d\dT[\d:.]+( -?\d+\.\d+){6})$"
)


@pytest.mark.parametrize("kind", ["oem", "opm"])
def test_ccsds_messages_carry_no_injected_record(files, kind):
    from otvplan.reporting import exports as ex

    plan = evil_plan(files)
    text = ex.oem_text(plan, step_s=3600.0) if kind == "oem" else ex.opm_text(plan)
    lines = text.splitlines()
    for line in lines:
        assert KVN_LINE.match(line), line
    keys = [
        line.split(" = ")[0] for line in lines if " = " in line and not line.startswith("COMMENT")
    ]
    if kind == "opm":
        assert keys.count("OBJECT_NAME") == 1
        burns = [b for leg in plan.legs for b in leg.burns if b.dv_kms > 0]
        assert keys.count("MAN_DV_1") == len(burns)
    else:
        assert keys.count("OBJECT_NAME") == text.count("META_START") > 1
    names = {line.split(" = ", 1)[1] for line in lines if line.startswith("OBJECT_NAME = ")}
    assert names == {"tug\\nMAN_DV_1___9.0_[km/s]\\r\\nOBJECT_NAME___EVIL"}
    assert "EVIL = 1" not in [line.strip() for line in lines]


def test_ccsds_messages_with_hostile_names_read_back(files, tmp_path):
    oem_pkg = pytest.importorskip("oem")
    from otvplan.reporting import exports as ex

    path = ex.write_oem(evil_plan(files), tmp_path / "evil.oem", step_s=3600.0)
    segments = list(oem_pkg.OrbitEphemerisMessage.open(path))
    assert len(segments) == len(ex.oem_segments(evil_plan(files), step_s=3600.0))


def test_markdown_and_html_show_hostile_names_as_text(files):
    plan = evil_plan(files)
    md = report.render_markdown(plan)
    assert "<script" not in md and "<img" not in md
    assert not re.search(r"(?<!\\)\]\(", md) and "\\[click\\](javascript:x)" in md
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings and not any(
        "Owned" in h or "injected" in h or "fake section" in h
        for h in headings
        if not h.startswith("### ")
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    for line in md.splitlines():  # every table row has the columns of its table
        assert "\r" not in line
    html = report.render_html(plan, embed_figures=False)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_tables_keep_their_shape_with_hostile_cells(files):
    md = report.render_markdown(evil_plan(files))
    block: list[str] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in block}
            assert len(widths) == 1, block
            block = []


def test_report_of_a_hostile_plan_file_from_the_command_line(files, tmp_path, capsys):
    evil = tmp_path / "evil.json"
    evil.write_text(report.plan_to_json(evil_plan(files)), encoding="utf-8")
    status, out, err = run(capsys, "report", evil, "--out", tmp_path / "out", "--no-exports")
    assert status in (EXIT_OK, EXIT_INFEASIBLE), err
    status, out, err = run(capsys, "verify", evil)
    assert "\x1b" not in "\n".join(out + err)
    assert not any(line.startswith("Create Spacecraft") for line in out)


def test_the_oem_of_a_long_mission_stays_bounded(files):
    from otvplan.reporting import exports as ex

    plan = report.read_plan_file(files["plan.json"])
    span = 0.9 * report.MAX_PLAN_SECONDS  # a tampered but accepted 18-year mission
    segments = ex.oem_segments(plan, t_end_s=span)
    states = sum(len(t) for t, _ in segments)
    assert 0.5 * ex.MAX_OEM_STATES < states <= ex.MAX_OEM_STATES
    assert max(t[-1] for t, _ in segments) == pytest.approx(span)
    with pytest.raises(ValueError, match="use a longer step"):
        ex.oem_segments(plan, step_s=10.0, t_end_s=span)


# --------------------------------------------------------------------------------------------
# A study's base: where it may read from, and never echoing what it read
# --------------------------------------------------------------------------------------------

SECRET = "root:$6$saltsalt$SECRETHASH:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n"


def _study_problems(study: Path, monkeypatch, cwd: Path, **kwargs) -> list[str]:
    from otvplan.errors import StudyError
    from otvplan.study import run as st

    monkeypatch.chdir(cwd)
    with pytest.raises(StudyError) as info:
        st.load(study, **kwargs)
    return [str(p) for p in info.value.problems]


@pytest.fixture
def layout(tmp_path) -> dict[str, Path]:
    """project/studies/s.yaml next to project/scenarios/small.yaml; a secret outside."""
    project = tmp_path / "project"
    (project / "studies").mkdir(parents=True)
    (project / "scenarios").mkdir()
    (project / "scenarios" / "small.yaml").write_text(SMALL)
    secret = tmp_path / "shadow"
    secret.write_text(SECRET)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return {
        "project": project,
        "secret": secret,
        "elsewhere": elsewhere,
        "study": project / "studies" / "s.yaml",
    }


def _write_study(layout, base: str) -> Path:
    layout["study"].write_text(f"name: s\nbase: {base}\naxes: {{tug.dry_mass: [150 kg]}}\n")
    return layout["study"]


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_base_outside_the_study_and_working_directories_is_refused(layout, monkeypatch, how):
    if how == "dotdot":
        base = "../../shadow"
    elif how == "absolute":
        base = str(layout["secret"])
    else:
        (layout["project"] / "studies" / "innocent.yaml").symlink_to(layout["secret"])
        base = "innocent.yaml"
    study = _write_study(layout, base)
    problems = _study_problems(study, monkeypatch, layout["elsewhere"])
    assert len(problems) == 1 and "is outside the study file's directory" in problems[0]
    assert "--allow-outside-base" in problems[0]
    assert "SECRETHASH" not in "\n".join(problems) and "19000" not in "\n".join(problems)


def test_the_flag_allows_it_but_the_content_is_never_shown(layout, monkeypatch, capsys):
    study = _write_study(layout, str(layout["secret"]))
    problems = _study_problems(study, monkeypatch, layout["elsewhere"], allow_outside_base=True)
    assert len(problems) == 1 and "is not a scenario file" in problems[0]
    assert "its content is not shown" in problems[0] and "SECRETHASH" not in problems[0]
    status, out, err = run(
        capsys, "sweep", study, "--out", layout["elsewhere"] / "o", "--allow-outside-base"
    )
    assert status == EXIT_BAD_INPUT and "SECRETHASH" not in "\n".join(out + err)


@pytest.mark.parametrize(
    "content,what",
    [
        ("just a line of text with a secret\n", "not a YAML mapping"),
        ("- a\n- b\n", "not a YAML mapping"),
        ("password: hunter2\ntoken: abc\n", "none of the keys"),
        ("key: [unclosed\n", "does not parse"),
    ],
)
def test_a_base_that_is_not_a_scenario_is_not_echoed(layout, monkeypatch, content, what):
    (layout["project"] / "studies" / "notes.txt").write_text(content)
    study = _write_study(layout, "notes.txt")
    problems = _study_problems(study, monkeypatch, layout["elsewhere"])
    assert len(problems) == 1 and what in problems[0], problems
    for word in ("secret", "hunter2", "abc", "unclosed"):
        assert word not in problems[0]


def test_the_documented_layout_works_from_anywhere(layout, monkeypatch):
    from otvplan.study import run as st

    study = _write_study(layout, "../scenarios/small.yaml")  # studies/ next to scenarios/
    monkeypatch.chdir(layout["elsewhere"])
    assert st.load(study).cases()
    # two levels up is outside unless it is the working directory
    (layout["project"] / "studies" / "deeper").mkdir()
    deep = layout["project"] / "studies" / "deeper" / "s.yaml"
    deep.write_text("name: s\nbase: ../../scenarios/small.yaml\naxes: {tug.dry_mass: [150 kg]}\n")
    problems = _study_problems(deep, monkeypatch, layout["elsewhere"])
    assert "is outside" in problems[0]
    monkeypatch.chdir(layout["project"])
    assert st.load(deep).cases()
    # and a base under the study's own directory works from anywhere
    (layout["project"] / "studies" / "small.yaml").write_text(SMALL)
    _write_study(layout, "small.yaml")
    monkeypatch.chdir(layout["elsewhere"])
    assert st.load(study).cases()


def test_a_scenario_base_with_typos_still_lists_its_problems(layout, monkeypatch):
    (layout["project"] / "studies" / "typo.yaml").write_text(SMALL.replace("dry_mass", "dyr_mass"))
    study = _write_study(layout, "typo.yaml")
    problems = _study_problems(study, monkeypatch, layout["elsewhere"])
    assert any('unknown key "dyr_mass"' in p for p in problems)


# --------------------------------------------------------------------------------------------
# A Dask sweep whose scheduler dies ends, with a message and status 69, and can resume
# --------------------------------------------------------------------------------------------


class _DyingClusterExecutor:
    """An executor shaped like ``distributed.Client.get_executor()``: it runs the first
    ``alive_for`` submissions, then its client reports "closed" and no future ever completes
    (what a client sees after its scheduler was killed)."""

    def __init__(self, alive_for: int):
        from concurrent.futures import Future

        self._future = Future
        self.alive_for = alive_for
        self.calls = 0
        self._client = type(
            "Client", (), {"status": "running", "nthreads": lambda self: {"w": 1}}
        )()

    def submit(self, fn, *args, **kwargs):
        from otvplan.study.run import run_chunk

        future = self._future()
        self.calls += 1
        if self.calls <= self.alive_for:
            future.set_result(run_chunk(*args))
        else:
            self._client.status = "closed"  # the scheduler is gone; this never completes
        return future


def test_a_lost_scheduler_ends_the_sweep_with_cluster_error(files, tmp_path, monkeypatch):
    import time

    from otvplan.errors import ClusterError
    from otvplan.study import run as st

    monkeypatch.setattr(st, "HEALTH_CHECK_S", 0.05)
    study = st.load(files["study.yaml"])
    out = tmp_path / "out"
    start = time.monotonic()
    with pytest.raises(
        ClusterError,
        match=r"scheduler was lost; 1 of 2 cases are stored in .*"
        r"results.jsonl: rerun the same command to resume",
    ):
        st.sweep(
            study,
            executor=_DyingClusterExecutor(alive_for=1),
            out_dir=out,
            chunk_size=1,
            plots=False,
        )
    assert time.monotonic() - start < 10.0
    assert len((out / "results.jsonl").read_bytes().splitlines()) == 1
    table = st.sweep(study, workers=0, out_dir=out, plots=False)  # resumes: one case to go
    assert list(table["status"]) == ["ok", "ok"]
    assert len((out / "results.jsonl").read_bytes().splitlines()) == 2


def test_a_client_stuck_reconnecting_is_given_up_after_a_bound(files, tmp_path, monkeypatch):
    from otvplan.errors import ClusterError
    from otvplan.study import run as st

    class Stuck(_DyingClusterExecutor):
        def submit(self, fn, *args, **kwargs):
            future = super().submit(fn, *args, **kwargs)
            if self._client.status == "closed":
                self._client.status = "connecting"  # never closes by itself
            return future

    monkeypatch.setattr(st, "HEALTH_CHECK_S", 0.05)
    monkeypatch.setattr(st, "SCHEDULER_LOST_AFTER_S", 0.5)
    with pytest.raises(ClusterError, match="connecting for more than"):
        st.sweep(
            files["study.yaml"],
            executor=Stuck(alive_for=0),
            out_dir=tmp_path / "o",
            chunk_size=1,
            plots=False,
        )


def test_the_cli_turns_a_lost_cluster_into_status_69(files, tmp_path, capsys, monkeypatch):
    from otvplan import cli
    from otvplan.study import run as st

    monkeypatch.setattr(st, "HEALTH_CHECK_S", 0.05)
    closed = []
    executor = _DyingClusterExecutor(alive_for=1)
    client = type("C", (), {"close": lambda self, timeout=None: closed.append(timeout)})()
    monkeypatch.setattr(cli, "_dask_executor", lambda address: (client, executor))
    status, _, err = run(
        capsys,
        "sweep",
        files["study.yaml"],
        "--out",
        tmp_path / "o",
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--no-plots",
    )
    assert status == cli.EXIT_UNAVAILABLE == 69
    assert any(
        line.startswith("otvplan: the Dask client is closed: its scheduler was lost")
        and "rerun the same command to resume" in line
        for line in err
    ), err
    assert closed == [5]


@pytest.mark.slow
def test_killing_a_real_scheduler_mid_sweep_exits_69_within_a_bound(files, tmp_path):
    """A loopback scheduler and worker in their own processes; the scheduler is SIGKILLed once
    the sweep has stored a few rows. The sweep must end with status 69 (the client gives up
    after its 20 s timeout), and a local rerun completes the study."""
    pytest.importorskip("distributed")
    import signal
    import subprocess
    import sys
    import time

    study = tmp_path / "study.yaml"
    (tmp_path / "small.yaml").write_text(SMALL)
    study.write_text(
        "name: lost\nbase: small.yaml\n"
        "axes: {tug.dry_mass: {from: 140 kg, to: 170 kg, steps: 60}}\n"
    )
    sched_file = tmp_path / "scheduler.json"
    procs = []

    def start(*args):
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        procs.append(proc)
        return proc

    try:
        scheduler = start(
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(sched_file),
        )
        deadline = time.monotonic() + 30
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        address = json.loads(sched_file.read_text())["address"]
        start(
            "distributed.cli.dask_worker",
            address,
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--no-dashboard",
        )
        out = tmp_path / "out"
        sweep = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "otvplan",
                "sweep",
                str(study),
                "--out",
                str(out),
                "--scheduler",
                address,
                "--no-plots",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        procs.append(sweep)
        store = out / "results.jsonl"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and sweep.poll() is None:
            if store.exists() and store.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.1)
        assert sweep.poll() is None, "the sweep ended before the scheduler could be killed"
        scheduler.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        _, err = sweep.communicate(timeout=55)
        assert time.monotonic() - killed_at < 45
        assert sweep.returncode == 69, err.decode()
        text = err.decode()
        assert "scheduler was lost" in text and "rerun the same command to resume" in text, text
        assert "Traceback" not in text, text
        stored = store.read_bytes().count(b"\n")
        assert 3 <= stored < 60
        rerun = subprocess.run(
            [
                sys.executable,
                "-m",
                "otvplan",
                "sweep",
                str(study),
                "--out",
                str(out),
                "-w",
                "0",
                "--no-plots",
            ],
            capture_output=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert store.read_bytes().count(b"\n") == 60
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Terminal-aware tables and --format table|json|csv
# --------------------------------------------------------------------------------------------


def _table_lines(out: list[str]) -> list[str]:
    return [line for line in out if line[:1] in "┏┃┡│└"]


@pytest.mark.parametrize("columns", [120, 100, 80, 60, 40])
def test_the_plan_table_fits_columns(files, capsys, monkeypatch, columns):
    from otvplan.cli import PLAN_DROP_ORDER

    monkeypatch.setenv("COLUMNS", str(columns))
    status, out, _ = run(capsys, "plan", files["small.yaml"])
    assert status == EXIT_OK
    table = _table_lines(out)
    assert table and max(len(line) for line in table) <= columns
    header = table[1]
    assert "#" in header and "to" in header and "delta-v m/s" in header
    assert "propellant kg" in header  # never dropped
    dropped = [name for name in PLAN_DROP_ORDER if f" {name} " not in header]
    assert dropped == list(PLAN_DROP_ORDER[: len(dropped)])  # in the documented order
    if dropped:
        assert any(line.startswith("(columns left out to fit") for line in out)


def test_a_pipe_without_columns_gets_the_whole_table(files, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    status, out, _ = run(capsys, "plan", files["small.yaml"])
    header = _table_lines(out)[1]
    for name in (
        "from",
        "to",
        "strategy",
        "start (UTC)",
        "delta-v m/s",
        "duration d",
        "propellant kg",
        "mass after kg",
    ):
        assert f" {name} " in header
    assert not any(line.startswith("(columns left out") for line in out)


def test_long_names_fold_inside_their_cells(files, tmp_path, capsys, monkeypatch):
    long = SMALL.replace("name: a,", "name: " + "payload-with-a-very-long-name-" * 3 + "a,")
    path = tmp_path / "long.yaml"
    path.write_text(long)
    monkeypatch.setenv("COLUMNS", "70")
    status, out, _ = run(capsys, "plan", path)
    assert status == EXIT_OK
    assert max(len(line) for line in _table_lines(out)) <= 70
    assert "".join(out).count("payload-with-a-very-long") >= 1


@pytest.mark.parametrize("columns", [100, 60])
def test_the_verification_table_fits_columns(files, capsys, monkeypatch, columns):
    from otvplan.cli import VERIFY_DROP_ORDER

    monkeypatch.setenv("COLUMNS", str(columns))
    status, out, _ = run(capsys, "verify", files["plan.json"])
    assert status == EXIT_OK
    table = _table_lines(out)
    assert max(len(line) for line in table) <= columns
    header = table[1]
    assert "payload" in header and "error" in header and "result" in header
    dropped = [name for name in VERIFY_DROP_ORDER if f" {name} " not in header]
    assert dropped == list(VERIFY_DROP_ORDER[: len(dropped)])


def test_output_width_sources(monkeypatch):
    from otvplan import cli

    monkeypatch.setenv("COLUMNS", "77")
    assert cli.output_width() == 77
    monkeypatch.setenv("COLUMNS", "10")
    assert cli.output_width() == cli.MIN_TABLE_WIDTH
    monkeypatch.setenv("COLUMNS", "wide")
    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: False, raising=False)
    assert cli.output_width() is None


def test_plan_formats(files, capsys):
    import csv
    import io

    status, out, _ = run(capsys, "plan", files["small.yaml"], "--format", "json")
    assert status == EXIT_OK
    as_json = "\n".join(out)
    status, out2, _ = run(capsys, "plan", files["small.yaml"], "--json")

    def untimed(text):  # two solver runs differ only in their timings
        doc = json.loads(text)
        doc["plan"].pop("solver_stats")
        return doc

    assert untimed("\n".join(out2)) == untimed(as_json)  # --json is the alias
    assert json.loads(as_json)["format"] == "otvplan-plan"
    status, out, _ = run(capsys, "plan", files["small.yaml"], "--format", "csv")
    rows = list(csv.DictReader(io.StringIO("\n".join(out))))
    assert [r["to"] for r in rows] and rows[0]["leg"] == "1" and "dv_m_s" in rows[0]
    status, _, err = run(capsys, "plan", files["small.yaml"], "--format", "yaml")
    assert status == EXIT_BAD_INPUT and "--format must be one of table, json, csv" in err[0]
    status, _, err = run(capsys, "plan", files["small.yaml"], "--format", "csv", "--json")
    assert status == EXIT_BAD_INPUT and "disagree" in err[0]


def test_verify_formats(files, capsys):
    import csv
    import io

    status, out, _ = run(capsys, "verify", files["broken.json"], "--format", "csv")
    assert status == EXIT_VERIFICATION_FAILED
    rows = list(csv.DictReader(io.StringIO("\n".join(out))))
    assert rows and set(rows[0]) == {
        "payload",
        "element",
        "unit",
        "target",
        "achieved",
        "error",
        "tolerance",
        "checked",
        "passed",
    }
    assert {r["passed"] for r in rows} <= {"true", "false"}
    assert all(r["payload"] and r["element"] for r in rows)
    status, out, _ = run(capsys, "verify", files["plan.json"], "--format", "json")
    assert status == EXIT_OK and json.loads("\n".join(out))["passed"] is True


def test_sweep_formats(files, tmp_path, capsys):
    import csv
    import io

    args = ["sweep", files["study.yaml"], "--out", tmp_path / "o", "-w", "0", "--no-plots"]
    status, out, _ = run(capsys, *args, "--format", "json")
    assert status == EXIT_OK
    summary = json.loads("\n".join(out))
    assert summary["cases"] == 2 and summary["status"]["ok"] == 2
    assert "results.parquet" in summary["files"]
    status, out, _ = run(capsys, *args, "--format", "csv")
    assert list(csv.reader(io.StringIO("\n".join(out)))) == [
        ["status", "cases"],
        ["ok", "2"],
        ["infeasible", "0"],
        ["bad-input", "0"],
        ["error", "0"],
    ]


def test_an_orbit_below_the_surface_is_a_plan_file_problem(files, tmp_path, capsys):
    doc = json.loads(files["plan.json"].read_text())
    _mutate(doc, "plan.legs[0].burns[0].orbit_after.e", 0.5)
    bad = tmp_path / "low.json"
    bad.write_text(json.dumps(doc))
    status, _, err = run(capsys, "verify", bad)
    assert status == EXIT_BAD_INPUT
    assert err == [
        f"{bad}: plan.legs[0].burns[0].orbit_after.e: the perigee (a(1 - e) = "
        f"{doc['plan']['legs'][0]['burns'][0]['orbit_after']['a_km'] * 0.5:.6g} km) "
        "is below the Earth's surface"
    ]


def test_random_mutations_of_a_plan_file_never_escape_as_internal_errors(files):
    """A small seeded fuzz of plan.json (values of every type swapped in at random places):
    every result is a plan the writers handle or an InputError, nothing else."""
    import copy
    import random

    from otvplan.errors import OtvplanError
    from otvplan.reporting import exports as ex

    base = json.loads(files["plan.json"].read_text())
    paths: list[list] = []

    def walk(x, path):
        paths.append(path)
        items = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, list) else ()
        for key, value in items:
            walk(value, path + [key])

    walk(base, [])
    values = [
        None,
        True,
        0,
        -1,
        1e308,
        1e-300,
        "x",
        "",
        [],
        {},
        [1, 2],
        "inf",
        0.5,
        7000.0,
        1e9,
        2**70,
        "2027-03-01T10:00:00Z",
    ]
    rng = random.Random(14)
    loaded = 0
    for _ in range(150):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths[1:])
            node = doc
            try:
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = rng.choice(values)
            except (KeyError, IndexError, TypeError):
                pass
        try:
            plan = report.plan_from_json(json.dumps(doc), "fuzz.json")
        except OtvplanError as exc:
            assert all(str(p).startswith("fuzz.json") for p in exc.problems)
            continue
        report.render_markdown(plan)
        ex.opm_text(plan)
        ex.gmat_script(plan)
        loaded += 1
    assert 0 < loaded < 150


def test_report_into_the_working_directory(files, tmp_path, capsys, monkeypatch):
    """`--out .`: the working directory is never swapped away (the shell sitting in it would
    be left in a deleted directory); the files are put in one by one, others kept."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert run(capsys, "report", files["plan.json"], "--out", ".", "--no-exports")[0] == EXIT_OK
    inode = os.stat(".").st_ino
    assert (
        run(capsys, "report", files["poor.json"], "--out", ".", "--no-exports")[0]
        == EXIT_INFEASIBLE
    )
    assert os.stat(".").st_ino == inode and os.path.samefile(".", here)
    assert json.loads(Path("plan.json").read_text())["plan"]["feasible"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    assert not [p for p in here.iterdir() if p.name.startswith(".")]


def test_a_relative_out_is_named_as_given(files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("taken").write_text("x")
    status, _, err = run(capsys, "report", files["plan.json"], "--out", "taken/sub")
    assert status == EXIT_OUTPUT_ERROR
    assert err == ["otvplan: taken/sub: cannot create it: taken is a file, not a directory"]
    paths = report.write_report(report.read_plan_file(files["plan.json"]), "rel", figures=False)
    assert paths[0] == Path("rel/plan.json")


def test_a_users_file_that_looks_like_a_figure_is_kept(files, tmp_path, capsys):
    out = tmp_path / "work"
    out.mkdir()
    (out / "fig_my_sketch.png").write_bytes(b"mine")
    assert run(capsys, "report", files["plan.json"], "--out", out, "--no-exports")[0] == EXIT_OK
    assert (out / "fig_my_sketch.png").read_bytes() == b"mine"
    assert report.is_report_file("fig_timeline.png") and report.is_report_file("plan.oem")
    assert not report.is_report_file("fig_my_sketch.png")
    assert not report.is_report_file("notes.txt")


def test_a_plan_file_of_an_impulsive_engine_reads_back_and_reports(tmp_path, capsys):
    """A chemical engine given without thrust is impulsive: its thrust_n is infinite and the
    plan file carries "inf" there, which the validator accepts (and only "inf")."""
    import math

    from otvplan.io.scenario import loads
    from otvplan.planning.solver import plan as make_plan

    text = SMALL.replace(", thrust: 22 N", "")
    p = make_plan(loads(text, filename="impulsive.yaml"))
    assert p.scenario.tug.engines[0].thrust_n == math.inf
    path = tmp_path / "impulsive.json"
    path.write_text(report.plan_to_json(p))
    assert report.read_plan_file(path) == p
    assert run(capsys, "report", path, "--out", tmp_path / "out")[0] == EXIT_OK
    assert run(capsys, "verify", path)[0] == EXIT_OK
    doc = json.loads(path.read_text())
    doc["plan"]["scenario"]["tug"]["engines"][0]["thrust_n"] = "-inf"
    path.write_text(json.dumps(doc))
    status, _, err = run(capsys, "verify", path)
    assert status == EXIT_BAD_INPUT and "thrust_n: must be a finite number" in err[0]
