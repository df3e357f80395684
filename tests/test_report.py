"""Reports: plan.json round trip, CSV columns, Markdown/HTML content, golden Markdown, atomic
writes. Plans come from frozen solver output in tests/golden/*_plan.json (fast and
deterministic); one test runs the solver live on the packaged minimal scenario."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import re
import subprocess
import sys
import textwrap

import pytest

import otvplan.reporting.report as report
from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from paths import GOLDEN, REPO


def load_fixture(name: str):
    return report.plan_from_json((GOLDEN / f"{name}_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def minimal():
    return load_fixture("minimal")


@pytest.fixture(scope="module")
def sso():
    return load_fixture("sso")


@pytest.fixture(scope="module")
def written(tmp_path_factory, minimal):
    """One full write_report of the minimal plan, shared by the file tests."""
    out = tmp_path_factory.mktemp("report")
    return out, report.write_report(minimal, out)


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["minimal", "sso", "electric"])
def test_plan_json_round_trip(name):
    text = (GOLDEN / f"{name}_plan.json").read_text(encoding="utf-8")
    plan = report.plan_from_json(text)
    again = report.plan_to_json(plan)
    assert report.plan_from_json(again) == plan
    doc = json.loads(again)
    assert doc["format"] == report.PLAN_FORMAT
    assert doc["format_version"] == report.PLAN_FORMAT_VERSION


def test_plan_from_json_rejects_other_files():
    with pytest.raises(ValueError, match="not an otvplan plan"):
        report.plan_from_json('{"name": "x"}')
    newer = json.dumps(
        {"format": report.PLAN_FORMAT, "format_version": report.PLAN_FORMAT_VERSION + 1, "plan": {}}
    )
    with pytest.raises(ValueError, match="upgrade otvplan"):
        report.plan_from_json(newer)


def test_live_solver_plan_round_trips_and_reports(tmp_path):
    """The solver's own output (not a frozen fixture) goes through JSON and the report."""
    from otvplan.io.scenario import load
    from otvplan.planning.solver import plan

    p = plan(load(REPO / "otvplan" / "examples" / "minimal.yaml"))
    assert report.plan_from_json(report.plan_to_json(p)) == p
    paths = report.write_report(p, tmp_path, figures=False)
    assert {x.name for x in paths} == {
        "plan.json",
        "legs.csv",
        "burns.csv",
        "report.md",
        "report.html",
    }


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_legs_csv_columns_and_values(sso):
    rows = read_csv(report.legs_csv(sso))
    assert tuple(rows[0].keys()) == report.LEG_COLUMNS
    assert len(rows) == len(sso.legs)
    for row, leg in zip(rows, sso.legs):
        assert int(row["leg"]) == leg.index
        assert row["from"] == leg.origin and row["to"] == leg.destination
        assert float(row["dv_m_s"]) == pytest.approx(leg.dv_kms * 1000.0, rel=1e-15)
        assert float(row["duration_d"]) == pytest.approx(leg.duration_s / SECONDS_PER_DAY)
        assert float(row["propellant_kg"]) == leg.propellant_kg
        assert float(row["mass_before_kg"]) == leg.mass_before_kg
        assert float(row["mass_after_kg"]) == leg.mass_after_kg
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["start_utc"])
    assert rows[0]["start_utc"] == "2027-03-01T10:00:00.000Z"


def test_burns_csv_columns_and_values(sso):
    rows = read_csv(report.burns_csv(sso))
    assert tuple(rows[0].keys()) == report.BURN_COLUMNS
    burns = [b for leg in sso.legs for b in leg.burns]
    assert len(rows) == len(burns)
    for row, b in zip(rows, burns):
        dv = [float(row[k]) for k in ("dv_t_m_s", "dv_n_m_s", "dv_w_m_s")]
        assert math.hypot(*dv) == pytest.approx(float(row["dv_m_s"]), rel=1e-9)
        assert float(row["t_s"]) == b.t_s
        assert row["low_thrust"] in ("true", "false")
        assert float(row["mass_before_kg"]) - float(row["mass_after_kg"]) == pytest.approx(
            float(row["propellant_kg"])
        )


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def md_tables(text: str) -> dict[str, list[list[str]]]:
    """Every Markdown table under each '## heading', as lists of cells (header first)."""
    tables: dict[str, list[list[str]]] = {}
    heading = None
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and not re.fullmatch(r"\|[-:|]+\|", line):
            tables.setdefault(heading, []).append([c.strip() for c in line.strip("|").split("|")])
    return tables


def test_numbers_in_markdown_equal_plan_json(sso):
    """Every leg and burn number in report.md is plan.json's value, rounded for display."""
    md = report.render_markdown(sso)
    data = json.loads(report.plan_to_json(sso))["plan"]
    tables = md_tables(md)
    legs = tables["Legs"][1:]
    assert len(legs) == len(data["legs"]) + 1  # plus the total row
    for row, leg in zip(legs, data["legs"]):
        assert int(row[0]) == leg["index"]
        assert row[1] == leg["origin"] and row[2] == leg["destination"]
        assert float(row[6]) == round((leg["t_end_s"] - leg["t_start_s"]) / 86400.0, 3)
        assert float(row[7]) == round(leg["dv_kms"] * 1000.0, 1)
        assert float(row[8]) == round(leg["propellant_kg"], 2)
        assert float(row[9]) == round(leg["mass_before_kg"], 2)
        assert float(row[10]) == round(leg["mass_after_kg"], 2)
    total = legs[-1]
    assert float(total[7]) == round(data["total_dv_kms"] * 1000.0, 1)
    assert float(total[8]) == round(data["propellant_used_kg"], 2)
    assert float(total[10]) == round(data["final_mass_kg"], 2)
    burns = tables["Burns"][1:]
    flat = [b for leg in data["legs"] for b in leg["burns"]]
    assert len(burns) == len(flat)
    for row, b in zip(burns, flat):
        assert float(row[3]) == round(b["dv_kms"] * 1000.0, 2)
        for k in range(3):
            assert float(row[4 + k]) == round(b["dv_tnw_kms"][k] * 1000.0, 2) + 0.0
        assert float(row[8]) == round(b["propellant_kg"], 3)
        assert float(row[10]) == round(b["orbit_after"]["a_km"] - R_EARTH_KM, 2)
    summary = dict(tables["Summary"][1:])
    assert summary["Total delta-v"] == f"{data['total_dv_kms'] * 1000.0:.1f} m/s"
    assert summary["Propellant used"] == f"{data['propellant_used_kg']:.2f} kg"
    assert summary["Payloads delivered"] == f"{len(data['delivered'])} of 7"
    # each delivery table shows the achieved altitude and inclination of plan.json
    for leg in data["legs"]:
        d = leg["delivery"]
        if d is None:
            continue
        rows = {r[0]: r for r in tables[d["payload"]][1:]}
        assert float(rows["altitude a - R_E (km)"][2]) == round(d["orbit"]["a_km"] - R_EARTH_KM, 3)
        assert float(rows["inclination (deg)"][2]) == round(math.degrees(d["orbit"]["inc_rad"]), 4)


def test_markdown_has_units_and_utc_times(sso):
    md = report.render_markdown(sso)
    for text in (
        "Delta-v (m/s)",
        "Propellant (kg)",
        "Duration (d)",
        "Start (UTC)",
        "RAAN (deg)",
        "LTAN (mean sun) (hh:mm:ss)",
    ):
        assert text in md
    assert "| 1 | drop-off |" in md
    assert "2027-03-01 10:00:00" in md  # scenario epoch + 0 s


def test_golden_markdown(minimal):
    """report.md of a fixed plan, byte for byte. After an intended layout change run
    ``python tests/golden/make_fixtures.py --golden`` and review the diff."""

    def unversioned(text):  # a version bump alone does not change the layout
        return re.sub(r"otvplan \d+\.\d+\.\d+\S*", "otvplan VERSION", text)

    expected = (GOLDEN / "minimal_report.md").read_text(encoding="utf-8")
    got = report.render_markdown(minimal)
    assert unversioned(got) == unversioned(expected)


def test_infeasible_plan_says_what_is_missing(minimal):
    bad = dataclasses.replace(
        minimal,
        feasible=False,
        undelivered=("sat-1",),
        delivered=("sat-2",),
        shortfall_propellant_kg=12.5,
        shortfall_time_s=3 * 86400.0,
        infeasible_reasons=("propellant: needs 12.5 kg more",),
    )
    md = report.render_markdown(bad)
    assert "NOT FEASIBLE" in md
    assert "## Infeasibility" in md
    assert "propellant shortfall: 12.50 kg" in md
    assert "time shortfall: 3.00 d" in md
    assert "not delivered by this partial plan: sat-1" in md
    assert "propellant: needs 12.5 kg more" in md


def test_verification_table_is_optional_and_typed(minimal):
    """The report reads a :class:`~otvplan.flight.verify.Verification` by its fields; a
    verification built by hand (values chosen here) prints them as given."""
    from otvplan.flight.verify import DeliveryCheck, ElementCheck, MassCheck, Verification
    from otvplan.model import OrbitState

    assert "## Verification" not in report.render_markdown(minimal)
    check = ElementCheck(
        payload="sat-1",
        element="a",
        unit="km",
        target=6928.137,
        planned=6928.137,
        achieved=6928.9,
        error=0.763,
        tolerance=2.0,
        checked=True,
        passed=True,
        note="",
    )
    raan = ElementCheck(
        payload="sat-1",
        element="raan",
        unit="rad",
        target=0.1,
        planned=0.1,
        achieved=0.1 + math.radians(0.5),
        error=math.radians(0.5),
        tolerance=math.radians(0.1),
        checked=True,
        passed=False,
        note="drifted",
    )
    orbit = OrbitState(0.0, 6928.137, 0.0, 1.0, 0.1, 0.0, 0.0)
    ver = Verification(
        scenario="minimal",
        force_model="two-body + J2",
        passed=False,
        deliveries=(DeliveryCheck("sat-1", 1, 0.0, orbit, orbit, (check, raan), False),),
        mass=MassCheck(
            burns_propellant_kg=27.8,
            plan_propellant_kg=27.8,
            propagated_propellant_kg=27.8,
            final_mass_plan_kg=300.0,
            final_mass_propagated_kg=300.0,
            max_chain_error_kg=0.0,
            passed=True,
        ),
        warnings=("integration tolerance 1e-10",),
    )
    md = report.render_markdown(minimal, ver)
    assert "## Verification" in md
    assert "two-body + J2" in md and "some checks FAILED" in md
    rows = {r[1]: r for r in md_tables(md)["Verification"][1:]}
    assert rows["a (km)"][4] == "6928.900"
    assert rows["raan (deg)"][5] == "0.5000"  # radians shown in degrees
    assert rows["raan (deg)"][7] == "**NO**"
    assert "propellant (plan): 27.800 kg" in md
    assert "integration tolerance 1e-10" in md


@pytest.fixture(scope="module")
def minimal_verification(minimal):
    from otvplan.flight.verify import verify

    return verify(minimal)


def test_verification_from_verify_renders(minimal, minimal_verification):
    """The real otvplan.flight.verify result (not a stand-in) fills the table."""
    ver = minimal_verification
    md = report.render_markdown(minimal, ver)
    rows = md_tables(md)["Verification"][1:]
    assert len(rows) == len(ver.rows)
    assert {r[0] for r in rows} == set(minimal.delivered)
    assert ("all checks passed" in md) == bool(ver.passed)


def test_deliveries_table_shows_the_verified_errors(minimal, minimal_verification):
    """Issue 15 item 1: with a verification, each delivery's table shows the error of the
    orbit achieved in the propagator beside the planned one (a in km, e, angles in deg, as the
    verification holds them), with its verdict; without one, only the planned columns."""
    ver = minimal_verification
    checks = {(d.payload, c.element): c for d in ver.deliveries for c in d.checks}
    tables = md_tables(report.render_markdown(minimal, ver))
    element_of = {
        "altitude a - R_E (km)": "a",
        "eccentricity": "e",
        "inclination (deg)": "i",
        "RAAN (deg)": "raan",
    }
    seen = 0
    for payload in minimal.delivered:
        header, *rows = tables[payload]
        assert header[-2:] == ["Error (verified)", "Within (verified)"]
        for row in rows:
            c = checks.get((payload, element_of.get(row[0], "")))
            if c is None or not c.checked:
                continue
            shown = float(row[-2])
            value = c.error if c.unit in ("km", "-") else math.degrees(c.error)
            decimals = len(row[-2].split(".")[1]) if "." in row[-2] else 0
            assert shown == pytest.approx(value, abs=0.51 * 10.0**-decimals)
            assert row[-1] == ("yes" if c.passed else "**NO**")
            seen += 1
    assert seen >= 3 * len(minimal.delivered)
    plain = md_tables(report.render_markdown(minimal))
    assert plain[minimal.delivered[0]][0][-1] == "Within"


def test_verification_report_shows_every_value(minimal, minimal_verification):
    """Issue 13: every value a real verification holds reaches the report - a "-" only where
    the record has no value (a free element's error and verdict), "free" only where it has no
    target - and the mass bookkeeping lists each of its numbers."""
    ver = minimal_verification
    md = report.render_markdown(minimal, ver)
    rows = md_tables(md)["Verification"][1:]
    assert len(rows) == len(ver.rows) > 0
    for row, c in zip(rows, ver.rows):
        payload, element, target, planned, achieved, error, tolerance, ok, note = row
        assert (payload, element.split(" (")[0]) == (c.payload, c.element)
        assert (target == "free") == (c.target is None)
        for cell, value in (
            (planned, c.planned),
            (achieved, c.achieved),
            (error, c.error),
            (tolerance, c.tolerance),
        ):
            assert (cell == "-") == (value is None), (c, cell)
        if c.checked:
            assert ok == ("yes" if c.passed else "**NO**")
        else:
            assert ok == "-"
        assert note == c.note
    m = ver.mass
    for label, value in (
        ("propellant (plan)", m.plan_propellant_kg),
        ("propellant (propagated)", m.propagated_propellant_kg),
        ("final mass (plan)", m.final_mass_plan_kg),
        ("final mass (propagated)", m.final_mass_propagated_kg),
        ("largest mass-chain error", m.max_chain_error_kg),
    ):
        shown = re.search(rf"^- {re.escape(label)}: (\S+) kg$", md, re.M)
        assert shown is not None, label
        assert float(shown[1]) == pytest.approx(value, abs=5e-4)
    assert "mass bookkeeping: " + ("consistent" if m.passed else "INCONSISTENT") in md


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def test_write_report_writes_every_file(written, minimal):
    out, paths = written
    names = [p.name for p in paths]
    for name in ("plan.json", "legs.csv", "burns.csv", "report.md", "report.html"):
        assert name in names
    for fig in report.figure_captions(minimal):
        assert f"fig_{fig}.png" in names and f"fig_{fig}.svg" in names
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)
    assert sorted(os.listdir(out)) == sorted(names)  # nothing else, no temporary files
    assert (out / "fig_timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.plan_from_json((out / "plan.json").read_text(encoding="utf-8")) == minimal
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![" in md and "(fig_timeline.png)" in md


def test_html_is_self_contained(written, minimal):
    out, _ = written
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)  # no external assets
    assert "<script" not in html and "<link" not in html
    assert html.count('src="data:image/svg+xml;base64,') == len(report.figure_captions(minimal))
    # the same tables as the Markdown
    assert "<th>Delta-v (m/s)</th>" in html
    assert f">{minimal.total_dv_kms * 1000.0:.1f}<" in html


def test_render_html_without_figures(minimal):
    html = report.render_html(minimal, embed_figures=False)
    assert "<img" not in html and "Mission plan: my-mission" in html


def test_writes_are_atomic(tmp_path, minimal, monkeypatch):
    """A failure while writing leaves the old file intact and no temporary file behind."""
    import otvplan.io.atomicio as atomicio

    target = tmp_path / "report.md"
    target.write_text("old\n", encoding="utf-8")
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomicio.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomicio.write_text(target, report.render_markdown(minimal))
    assert target.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["report.md"]
    monkeypatch.setattr(atomicio.os, "fsync", real_fsync)
    # a failure in the middle of write_report: the report set is all or nothing, so a new
    # directory is not created and no staging directory is left behind
    calls = {"n": 0}

    def failing_fsync_3rd(fd):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(atomicio.os, "fsync", failing_fsync_3rd)
    with pytest.raises(OSError, match="no space left"):
        report.write_report(minimal, tmp_path / "out", figures=False)
    assert os.listdir(tmp_path) == ["report.md"]


# --------------------------------------------------------------------------------------------
# Impulsive engines, the planes figure
# --------------------------------------------------------------------------------------------

FIVE_LINES = """\
name: first-sizing
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tug: {name: tug, dry_mass: 150 kg, propellant: 80 kg, engines: [{name: main, type: chemical, isp: 230 s}]}
payloads: [{name: sat-1, mass: 12 kg, target: {altitude: 550 km, sso: true}}]
"""  # noqa: E501


def test_an_impulsive_engine_reads_impulsive_not_inf_newtons(tmp_path):
    """A chemical engine given without thrust is stored with thrust_n = inf; the report says
    "impulsive" where it shows thrust, and no file of the report set says "inf N"."""
    import otvplan

    p = otvplan.plan(FIVE_LINES)
    assert p.scenario.tug.engines[0].thrust_n == math.inf
    rows = dict(report.summary_rows(p))
    assert rows["Tug"] == "tug: dry 150.0 kg, engines main (chemical, Isp 230 s, impulsive)"
    finite = otvplan.plan(FIVE_LINES.replace("isp: 230 s}", "isp: 230 s, thrust: 22 N}"))
    assert dict(report.summary_rows(finite))["Tug"].endswith("(chemical, Isp 230 s, 22.0 N)")
    paths = report.write_report(p, tmp_path, figures=False)
    for path in paths:
        if path.suffix in (".md", ".html", ".csv"):
            text = path.read_text(encoding="utf-8")
            assert "inf N" not in text and not re.search(r"\binf\b", text), path.name
    assert "Isp 230 s, impulsive)" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Isp 230 s, impulsive)" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_reports_show_the_planes_map_not_3d_orbits(sso, minimal):
    for plan in (sso, minimal):
        caps = report.figure_captions(plan)
        assert "orbits3d" not in caps and "planes" in caps
        assert list(caps)[:5] == ["timeline", "elements", "mass", "dv_waterfall", "planes"]
    assert "orbits3d" not in report.FIGURES and "planes" in report.FIGURES
    # the SSO plan has target planes with a node: a node map, with an LTAN axis
    assert report.figure_captions(sso)["planes"] == (
        "Node of the tug and of each target relative to the drop-off plane against altitude "
        "(LTAN for SSO); drift runs, releases marked."
    )


def test_the_planes_caption_follows_the_map_drawn():
    """GTO to GEO: no target has a node to reach, the map is inclination against altitude; a
    drop-off that is not sun-synchronous has no LTAN axis."""
    import otvplan

    geo = otvplan.plan(REPO / "otvplan" / "examples" / "gto_to_geo.yaml")
    assert report.figure_captions(geo)["planes"] == (
        "Inclination of the tug and of each target against altitude; releases marked."
    )
    assert report.figure_captions(load_fixture("electric"))["planes"] == (
        "Node of the tug and of each target relative to the drop-off plane against altitude; "
        "drift runs, releases marked."
    )


def test_a_report_over_an_older_one_removes_its_3d_orbit_figure(tmp_path, minimal):
    """fig_orbits3d.* of a report written by an earlier version are report files: a new report
    in the same directory replaces the set, so they go; a user's own figure stays."""
    (tmp_path / "fig_orbits3d.png").write_bytes(b"old figure")
    (tmp_path / "fig_orbits3d.svg").write_bytes(b"<svg/>")
    (tmp_path / "fig_my_sketch.png").write_bytes(b"mine")
    assert report.is_report_file("fig_orbits3d.png") and report.is_report_file("fig_planes.svg")
    paths = report.write_report(minimal, tmp_path, figures=False)
    assert sorted(os.listdir(tmp_path)) == sorted([p.name for p in paths] + ["fig_my_sketch.png"])


def test_written_files_get_ordinary_permissions(tmp_path):
    """Atomic writes go through a 0o600 temporary file; the result must not stay private."""
    import otvplan.io.atomicio as atomicio

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    new = atomicio.write_text(tmp_path / "new.txt", "x")
    assert new.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    plain.chmod(0o640)
    atomicio.write_text(plain, "y")
    assert plain.stat().st_mode & 0o777 == 0o640 and plain.read_text() == "y"


def test_importing_report_does_not_load_matplotlib():
    code = textwrap.dedent("""
        import sys, otvplan.reporting.report, otvplan.flight.trajectory, otvplan.reporting.exports
        print(int('matplotlib' in sys.modules))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "0"
