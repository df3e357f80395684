"""Interrupted writers: SIGKILL `otvplan report` and `otvplan sweep` at random points, again
and again, and check that every file left behind is whole and that a rerun completes.

Every output goes through :mod:`otvplan.io.atomicio` (a temporary file in the destination's
directory, fsync, rename), so a killed run leaves each output absent, as it was, or complete.
The one other thing a kill can leave is the temporary file of the write in progress: a hidden
``.<name>.<8 random characters>.tmp`` next to its target. Nothing reads those and the next run
neither trips over them nor leaves new ones; the checks below accept them under that name only.

The sweep's results store (``results.jsonl``, :mod:`otvplan.study.store`) is append-only: after a
kill every line but a torn last one is a whole JSON row, ``read_rows`` skips the torn one, the
next run cuts it off and appends after the lines already there.

Each run is its own session (``start_new_session``) and the whole process group is killed, so
sweep workers die with their parent. Kill points come from seeded random draws: spread over the
time an uninterrupted run takes, after a random number of newly stored cases, or at the n-th
change seen in the output directory (inside a write: the narrow window a plain, non-atomic
write would show a part-written file in). A report run is also killed at once if an output
ever shows up under its own name with a size other than its finished one. (With a plain
``open(path, "wb")`` writer in atomicio the report test fails at its first kill; the sweep
test, whose final files are small, only some of the time.)
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import NamedTuple

import pytest

from paths import MINIMAL, REPO

pytestmark = pytest.mark.slow  # kills real processes at random points: minutes


#: The name atomicio gives its temporary files: tempfile.mkstemp(prefix=".<name>.",
#: suffix=".tmp"), whose random part is 8 characters of [a-z0-9_].
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")

#: Seconds between two looks at a running process (its output directory, its store).
POLL_S = 0.002

#: Columns that differ between two runs of the same cases (timings).
TIMINGS = ["elapsed_s", "cpu_s", "solve_time_s"]


# --------------------------------------------------------------------------------------------
# Running and killing
# --------------------------------------------------------------------------------------------


def otvplan_command(*args) -> list[str]:
    return [sys.executable, "-m", "otvplan", *map(str, args)]


class Run(NamedTuple):
    """How one run ended: ``killed`` (by us, while it ran), its duration, its stderr."""

    killed: bool
    seconds: float
    returncode: int
    stderr: str


def run_until(command: list[str], deadline_s: float = 300.0, trigger=None, watch=None) -> Run:
    """Run ``command`` in a new session; SIGKILL its whole process group once ``deadline_s``
    seconds have passed or ``trigger()`` is true, unless it ends first. ``watch(t)`` is
    called at every poll (to time events of an uninterrupted run)."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            while proc.poll() is None:
                now = time.monotonic() - start
                if watch is not None:
                    watch(now)
                if now >= deadline_s or (trigger is not None and trigger()):
                    # The leader is not reaped yet, so the group id is still this run's: the
                    # sweep's workers die with it.
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                time.sleep(POLL_S)
        finally:
            if proc.returncode is None:  # killed above, or this loop failed: end it all
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=60)
        seconds = time.monotonic() - start
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return Run(proc.returncode == -signal.SIGKILL, seconds, proc.returncode, text)


def files_in(root: Path) -> dict[str, Path]:
    """Every file under ``root`` (hidden ones included) by its relative POSIX path."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def temp_files(root: Path) -> set[str]:
    return {rel for rel in files_in(root) if TEMP_NAME.match(Path(rel).name)}


def temp_target(rel: str) -> str:
    """The output a temporary file stands for: ``.a.png.x1y2z3w4.tmp`` -> ``a.png``."""
    path = Path(rel)
    return (path.parent / TEMP_NAME.match(path.name)["target"]).as_posix()


def on_nth_change(
    roots: list[Path],
    count: float,
    ignore: tuple[str, ...] = (),
    sizes: dict[str, int] | None = None,
):
    """A trigger: true at the ``count``-th look that finds a directory in ``roots`` changed (a
    file appeared, went, or changed its inode, size or modification time; names in
    ``ignore`` aside). It fires inside writes whatever they do: on the temporary file of an
    atomic write, on the truncated target of a plain one. ``trigger.changes`` counts them.

    With ``sizes`` ({file name: size when finished}) it also fires as soon as a file of one
    of those names has another size: a part-written output seen under its own name, which
    the checks after the kill then report."""

    def state() -> dict:
        seen = {}
        for root in roots:
            try:
                with os.scandir(root) as entries:
                    for entry in entries:
                        if entry.name in ignore:
                            continue
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue
                        seen[entry.path] = (st.st_ino, st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                continue
        return seen

    last = [state()]

    def trigger() -> bool:
        now = state()
        if now != last[0]:
            last[0] = now
            trigger.changes += 1
            if sizes and any(sizes.get(os.path.basename(p), v[1]) != v[1] for p, v in now.items()):
                return True
        return trigger.changes >= count

    trigger.changes = 0
    return trigger


def spread(rng: random.Random, n: int, lo: float, hi: float) -> list[float]:
    """``n`` times in (lo, hi), one in each of n equal strata, in random order."""
    times = [lo + (hi - lo) * (k + rng.random()) / n for k in range(n)]
    rng.shuffle(times)
    return times


# --------------------------------------------------------------------------------------------
# Whole files
# --------------------------------------------------------------------------------------------


def check_png(data: bytes, name: str) -> None:
    """Signature, every chunk whole with a good CRC, IEND last and at the very end."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{name}: not a PNG"
    at = 8
    kind = b""
    while at < len(data):
        assert at + 12 <= len(data), f"{name}: truncated chunk header at byte {at}"
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        assert end <= len(data), f"{name}: {kind!r} chunk truncated"
        crc = int.from_bytes(data[end - 4 : end], "big")
        assert zlib.crc32(data[at + 4 : end - 4]) == crc, f"{name}: bad CRC in {kind!r}"
        at = end
        if kind == b"IEND":
            break
    assert kind == b"IEND" and at == len(data), f"{name}: does not end with its IEND chunk"


def check_svg(data: bytes, name: str) -> None:
    root = ET.fromstring(data)  # a truncated document does not parse
    assert root.tag.endswith("svg"), name


def check_csv(data: bytes, name: str, columns, n_rows: int) -> None:
    text = data.decode("utf-8")
    assert text.endswith("\n"), f"{name}: last line has no newline"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows and rows[0] == list(columns), f"{name}: header {rows[:1]}"
    assert len(rows) - 1 == n_rows, f"{name}: {len(rows) - 1} rows, not {n_rows}"
    assert all(len(r) == len(columns) for r in rows), f"{name}: a row with a missing field"


def check_oem(text: str, name: str) -> None:
    """CCSDS OEM (KVN): every META_START..META_STOP block is followed by its ephemeris lines,
    the first at START_TIME and the last at STOP_TIME; the file ends with the last one."""
    assert text.endswith("\n"), f"{name}: last line has no newline"
    lines = text.split("\n")[:-1]
    assert lines[0].startswith("CCSDS_OEM_VERS = "), name
    segments: list[dict] = []
    meta = None
    for line in lines[1:]:
        if line == "META_START":
            meta = {}
        elif line == "META_STOP":
            segments.append({"meta": meta, "data": []})
            meta = None
        elif meta is not None:
            key, _, value = line.partition(" = ")
            meta[key] = value
        elif segments and line and not line.startswith("COMMENT"):
            fields = line.split()
            assert len(fields) == 7, f"{name}: torn ephemeris line {line!r}"
            segments[-1]["data"].append(fields[0])
    assert meta is None, f"{name}: a META block without META_STOP"
    assert segments, f"{name}: no segment"
    for seg in segments:
        assert seg["data"], f"{name}: a segment without ephemeris lines"
        assert seg["data"][0] == seg["meta"]["START_TIME"], name
        assert seg["data"][-1] == seg["meta"]["STOP_TIME"], f"{name}: segment cut short"
    assert lines[-1].split()[0] == segments[-1]["meta"]["STOP_TIME"]


def check_opm(text: str, name: str, n_burns: int) -> None:
    """CCSDS OPM (KVN): header, state, elements, mass, then one maneuver block per burn, the
    file ending with the last block's MAN_DV_3 line."""
    assert text.endswith("\n"), f"{name}: last line has no newline"
    lines = text.split("\n")[:-1]
    assert lines[0].startswith("CCSDS_OPM_VERS = "), name
    keys = [line.partition(" = ")[0] for line in lines if " = " in line]
    for key in (
        "CREATION_DATE",
        "ORIGINATOR",
        "OBJECT_NAME",
        "EPOCH",
        "X",
        "Z_DOT",
        "SEMI_MAJOR_AXIS",
        "TRUE_ANOMALY",
        "MASS",
    ):
        assert key in keys, f"{name}: no {key}"
    for key in ("MAN_EPOCH_IGNITION", "MAN_DURATION", "MAN_DELTA_MASS", "MAN_DV_1", "MAN_DV_3"):
        assert keys.count(key) == n_burns, f"{name}: {keys.count(key)} {key}, not {n_burns}"
    if n_burns:
        assert lines[-1].startswith("MAN_DV_3 = ") and lines[-1].endswith(" [km/s]"), name


def check_gmat(text: str, name: str, n_burns: int) -> None:
    """GMAT script: the mission sequence holds one Maneuver per burn and ends with the
    propagation over one revolution of the final orbit."""
    assert text.endswith("\n"), f"{name}: last line has no newline"
    lines = text.split("\n")[:-1]
    assert "BeginMissionSequence;" in lines, name
    assert sum(line.startswith("Maneuver ") for line in lines) == n_burns, name
    assert lines[-1].startswith("Propagate ") and lines[-1].endswith(
        "% one revolution in the final orbit"
    ), f"{name}: {lines[-1]!r}"


def masked(name: str, data: bytes) -> bytes:
    """The file's bytes with what legitimately changes between runs blanked: the OEM's and
    OPM's CREATION_DATE (the time of writing, documented in otvplan.reporting.exports)."""
    if name.endswith((".oem", ".opm")):
        return re.sub(rb"(?m)^CREATION_DATE = .*$", b"CREATION_DATE = -", data)
    return data


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

#: Kill points of the report: spread over an uninterrupted run's writing time, and at a
#: random change of the output directory (inside a write).
REPORT_KILLS = 4
REPORT_WRITE_KILLS = 2


def report_expectations(plan) -> dict:
    from otvplan.reporting import report
    from otvplan.reporting.exports import exported_burns

    names = [
        "plan.json",
        "legs.csv",
        "burns.csv",
        "report.md",
        "report.html",
        "plan.oem",
        "plan.opm",
        "plan.script",
    ]
    for fig in report.figure_captions(plan):
        names += [f"fig_{fig}.png", f"fig_{fig}.svg"]
    return {
        "names": set(names),
        "legs": len(plan.legs),
        "burns": sum(len(leg.burns) for leg in plan.legs),
        "exported_burns": len(exported_burns(plan)),
        "deliveries": sum(leg.delivery is not None for leg in plan.legs),
    }


def check_report_file(name: str, data: bytes, expect: dict) -> None:
    from otvplan.reporting import report

    if name == "plan.json":
        assert report.plan_from_json(data).legs is not None
    elif name == "legs.csv":
        check_csv(data, name, report.LEG_COLUMNS, expect["legs"])
    elif name == "burns.csv":
        check_csv(data, name, report.BURN_COLUMNS, expect["burns"])
    elif name == "report.md":
        text = data.decode("utf-8")
        assert text.startswith("# ") and text.endswith("\n"), name
        assert "\n## Legs\n" in text and "\n## Deliveries\n" in text, f"{name}: cut short"
        assert text.count("\n### ") >= expect["deliveries"], f"{name}: deliveries missing"
    elif name == "report.html":
        assert data.startswith(b"<!DOCTYPE html>\n") and data.endswith(b"</body>\n</html>\n"), (
            f"{name}: not a complete document"
        )
    elif name.endswith(".png"):
        check_png(data, name)
    elif name.endswith(".svg"):
        check_svg(data, name)
    elif name == "plan.oem":
        check_oem(data.decode("utf-8"), name)
    elif name == "plan.opm":
        check_opm(data.decode("utf-8"), name, expect["exported_burns"])
    elif name == "plan.script":
        check_gmat(data.decode("utf-8"), name, expect["exported_burns"])
    else:  # pragma: no cover - check_report_dir only passes known names
        raise AssertionError(f"no check for {name}")


def check_report_dir(out: Path, reference: dict[str, bytes], expect: dict) -> set[str]:
    """Every file in ``out`` is a whole output equal to the clean run's, or a temporary file
    of one; return the temporary files."""
    temps = set()
    for rel, path in files_in(out).items():
        if TEMP_NAME.match(Path(rel).name):
            assert temp_target(rel) in expect["names"], f"temporary file of no output: {rel}"
            temps.add(rel)
            continue
        assert rel in expect["names"], f"unexpected file {rel}"
        data = path.read_bytes()
        check_report_file(rel, data, expect)
        assert masked(rel, data) == masked(rel, reference[rel]), f"{rel} differs from a clean run"
    return temps


def test_report_killed_at_random_points_leaves_whole_files_and_reruns(tmp_path):
    from otvplan.io.scenario import load
    from otvplan.planning.solver import plan as make_plan
    from otvplan.reporting.report import plan_to_json

    plan = make_plan(load(MINIMAL))  # planned once; every run below only writes
    source = tmp_path / "input" / "plan.json"
    source.parent.mkdir()
    source.write_text(plan_to_json(plan), encoding="utf-8")
    expect = report_expectations(plan)

    # An uninterrupted run: the reference bytes, its duration T and when writing starts.
    clean = tmp_path / "clean"
    first_write: list[float] = []

    changes = on_nth_change([clean], math.inf)

    def watch(t: float) -> None:
        changes()
        if not first_write and clean.is_dir() and os.listdir(clean):
            first_write.append(t)

    run = run_until(otvplan_command("report", source, "--out", clean), watch=watch)
    assert run.returncode == 0, run.stderr
    reference = {rel: p.read_bytes() for rel, p in files_in(clean).items()}
    assert set(reference) == expect["names"]  # every output, no temporary file left
    for rel, data in reference.items():
        check_report_file(rel, data, expect)
    total = run.seconds
    # the first run pays for cold caches (fonts, imports): time a second one too, and aim the
    # kills within the faster of the two
    again = run_until(otvplan_command("report", source, "--out", tmp_path / "clean2"))
    assert again.returncode == 0, again.stderr
    if again.seconds < total and first_write:
        first_write[0] *= again.seconds / total
    total = min(total, again.seconds)
    start = 0.9 * (first_write[0] if first_write else 0.0)
    sizes = {rel: len(data) for rel, data in reference.items()}

    rng = random.Random(20240611)
    out = tmp_path / "out"
    command = otvplan_command("report", source, "--out", out)
    attempts = [("at", t) for t in spread(rng, REPORT_KILLS, start, 0.9 * total)]
    for _ in range(REPORT_WRITE_KILLS):
        attempts.insert(
            rng.randrange(len(attempts) + 1), ("write", rng.randint(1, max(1, changes.changes)))
        )
    killed = 0
    temps: set[str] = set()
    for mode, value in attempts:
        # Every run is also killed at once if an output shows up part-written.
        if mode == "at":
            run = run_until(
                command, deadline_s=value, trigger=on_nth_change([out], math.inf, sizes=sizes)
            )
        else:  # inside a write: at the value-th change seen in the directory
            run = run_until(
                command, deadline_s=2 * total, trigger=on_nth_change([out], value, sizes=sizes)
            )
        assert run.killed or run.returncode == 0, run.stderr
        killed += run.killed
        if out.is_dir():
            temps |= check_report_dir(out, reference, expect)
    assert killed >= len(attempts) // 2, f"only {killed} of {len(attempts)} runs were killed"

    # The rerun completes and writes what a clean run writes; it leaves no temporary file of
    # its own (any left by the killed runs stay as they were: hidden, named .tmp, unread).
    run = run_until(command)
    assert run.returncode == 0, run.stderr
    after = check_report_dir(out, reference, expect)
    assert after <= temps
    assert set(files_in(out)) - after == expect["names"]


# --------------------------------------------------------------------------------------------
# Sweep
# --------------------------------------------------------------------------------------------

#: 3 x 12 = 36 cases of the quick-grid tug (tens of milliseconds each), one per submission to
#: the single worker, so the store grows a line at a time for about a second.
STUDY = textwrap.dedent("""\
    name: interrupt-grid
    base:
      name: two-cubesats
      epoch: 2027-03-01T10:00:00Z
      dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
      tug:
        name: small-tug
        dry_mass: 150 kg
        propellant: 80 kg
        tank_capacity: 100 kg
        propellant_reserve: 3 %
        engines:
          - {name: main, type: chemical, isp: 230 s, thrust: 22 N}
      payloads:
        - name: sat-1
          mass: 12 kg
          target: {altitude: 550 km, sso: true}
        - name: sat-2
          mass: 24 kg
          target: {altitude: 500 km, sso: true}
      constraints:
        max_duration: 90 d
    axes:
      tug.engines[0].isp: [220 s, 260 s, 300 s]
      payloads[*].target.altitude: {from: 450 km, to: 700 km, steps: 12}
    design: grid
    """)

#: How each interrupted sweep is stopped: after a random number of newly stored cases, at a
#: random time within an uninterrupted run, or inside a write of the final outputs.
SWEEP_KILLS = ("cases", "cases", "at", "write", "write")

#: One local worker (its own process: the kill takes the process group). No figures: they
#: are written like the report's (killed above) and would double the time of every run.
SWEEP_OPTIONS = ("-w", "1", "--no-plots")


def comparable(table):
    return table.drop(columns=[c for c in TIMINGS if c in table.columns])


def check_store(path: Path, study, stored_before: bytes) -> bytes:
    """After a kill: every line but a torn last one is a whole row of this study, no case
    twice; read_rows gives those rows and skips the torn one; the lines stored before this
    run are still there unchanged. Return the whole lines."""
    from otvplan.study.store import read_rows

    data = path.read_bytes() if path.exists() else b""
    whole = data[: data.rfind(b"\n") + 1]
    torn = data[len(whole) :]
    assert whole.startswith(stored_before), "stored rows were lost or changed"
    ids = {c.case_id for c in study.cases()}
    rows = [json.loads(line) for line in whole.splitlines()]
    assert all(r["v"] == 1 and r["study"] == study.key and r["case"] in ids for r in rows)
    cases = [r["case"] for r in rows]
    assert len(cases) == len(set(cases)), "a case stored twice"
    read, skipped = read_rows(path)
    assert read == {r["case"]: r for r in rows}
    assert skipped == (1 if torn else 0)
    return whole


def check_sweep_dir(out: Path, reference: dict, study, stored_before: bytes) -> bytes:
    """Every file in ``out`` is the store, the lock, a whole output equal to the clean run's
    (timings aside), or a temporary file of an output. Return the store's whole lines."""
    import pandas as pd

    outputs = {"results.parquet", "results.csv", "study.json"}
    for rel, path in files_in(out).items():
        if TEMP_NAME.match(Path(rel).name):
            assert temp_target(rel) in outputs, f"temporary file of no output: {rel}"
        elif rel == ".lock":
            assert path.stat().st_size == 0
        elif rel == "results.jsonl":
            pass  # below
        elif rel == "results.parquet":
            table = pd.read_parquet(path)
            assert comparable(table).equals(comparable(reference["parquet"]))
        elif rel == "results.csv":
            data = path.read_bytes()
            assert data.endswith(b"\n"), f"{rel}: last line has no newline"
            table = pd.read_csv(io.BytesIO(data))
            assert comparable(table).equals(comparable(reference["csv"]))
        elif rel == "study.json":
            data = path.read_bytes()
            json.loads(data)
            assert data == reference["study.json"], f"{rel} differs from a clean run"
        else:
            raise AssertionError(f"unexpected file {rel}")
    return check_store(out / "results.jsonl", study, stored_before)


def test_sweep_killed_at_random_points_keeps_whole_rows_and_outputs(tmp_path):
    import pandas as pd

    from otvplan.study import run as st
    from otvplan.study.store import RESULTS_FILE, read_rows

    path = tmp_path / "study.yaml"
    path.write_text(STUDY, encoding="utf-8")
    study = st.load(path)
    n_cases = len(study.cases())

    clean = tmp_path / "clean"
    run = run_until(otvplan_command("sweep", path, "--out", clean, *SWEEP_OPTIONS))
    assert run.returncode == 0, run.stderr
    total = run.seconds
    reference = {
        "parquet": pd.read_parquet(clean / "results.parquet"),
        "csv": pd.read_csv(clean / "results.csv"),
        "study.json": (clean / "study.json").read_bytes(),
    }
    assert len(reference["parquet"]) == n_cases and set(reference["parquet"]["status"]) == {"ok"}
    assert set(files_in(clean)) == {
        ".lock",
        RESULTS_FILE,
        "results.parquet",
        "results.csv",
        "study.json",
    }

    rng = random.Random(7001)
    out = tmp_path / "out"
    store = out / RESULTS_FILE
    command = otvplan_command("sweep", path, "--out", out, *SWEEP_OPTIONS)
    stored = b""
    killed = mid_cases = 0
    temps: set[str] = set()
    for mode in SWEEP_KILLS:
        if mode == "cases":  # once 1-8 more cases are stored, plus up to 50 ms
            goal = stored.count(b"\n") + rng.randint(1, 8)
            jitter = rng.uniform(0.0, 0.05)
            reached = []

            def trigger(goal=goal, jitter=jitter, reached=reached) -> bool:
                if not reached:
                    try:
                        if store.read_bytes().count(b"\n") >= goal:
                            reached.append(time.monotonic())
                    except FileNotFoundError:
                        pass
                return bool(reached) and time.monotonic() - reached[0] >= jitter

            run = run_until(command, deadline_s=2 * total, trigger=trigger)
        elif mode == "at":
            run = run_until(command, deadline_s=rng.uniform(0.05, 0.9) * total)
        else:  # inside a write of results.parquet, results.csv or study.json
            trigger = on_nth_change([out], rng.randint(1, 6), ignore=(RESULTS_FILE, ".lock"))
            run = run_until(command, deadline_s=2 * total, trigger=trigger)
        assert run.killed or run.returncode == 0, run.stderr
        killed += run.killed
        if out.is_dir():
            stored = check_sweep_dir(out, reference, study, stored)
            temps |= temp_files(out)
        mid_cases += run.killed and len(read_rows(store)[0]) < n_cases
    assert killed >= 3, f"only {killed} of {len(SWEEP_KILLS)} runs were killed"
    assert mid_cases >= 1, "no run was killed while it ran cases"

    # The rerun completes: every case stored exactly once, the same table as a clean run.
    run = run_until(command)
    assert run.returncode == 0, run.stderr
    stored = check_sweep_dir(out, reference, study, stored)
    assert temp_files(out) <= temps  # the rerun leaves no temporary file of its own
    assert store.read_bytes() == stored  # no torn line left
    ids = [json.loads(line)["case"] for line in stored.splitlines()]
    assert sorted(ids) == sorted(c.case_id for c in study.cases())
    assert set(files_in(out)) - temps == {
        ".lock",
        RESULTS_FILE,
        "results.parquet",
        "results.csv",
        "study.json",
    }
    table = pd.read_parquet(out / "results.parquet")
    assert list(table["case"]) == [c.case_id for c in study.cases()]
    assert comparable(table).equals(comparable(reference["parquet"]))
