"""The report of a fleet plan (otvplan.reporting.fleet_report): one real two-tug plan, written
once, and what its files say checked against the FleetPlan."""

from __future__ import annotations

import dataclasses
import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

from otvplan.flight.verify import verify
from otvplan.io.scenario import loads
from otvplan.planning.fleet import plan_fleet
from otvplan.reporting import fleet_figures, plotting
from otvplan.reporting.exports import kvn_name
from otvplan.reporting.fleet_report import (
    render_fleet_markdown,
    tug_directories,
    write_fleet_report,
)
from otvplan.reporting.planjson import plan_from_json
from otvplan.reporting.tables import _num, utc_text

# Two tugs, two payloads, each payload pinned to a tug (so the answer is known), the second
# tug starting two days late; tug names with a slash and a blank, which a directory cannot
# carry as they are.
FLEET_YAML = """\
name: fleet-two
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tugs:
  - name: otv/a
    dry_mass: 150 kg
    propellant: 80 kg
    engines: [{name: main, type: chemical, isp: 230 s, thrust: 22 N}]
  - name: otv b
    dry_mass: 120 kg
    propellant: 60 kg
    engines: [{name: mono, type: chemical, isp: 220 s, thrust: 22 N}]
    available: 2 d
fleet:
  assign: {sat-1: otv/a, sat-2: otv b}
payloads:
  - {name: sat-1, mass: 12 kg, target: {altitude: 550 km, sso: true, ltan: "11:00"}}
  - {name: sat-2, mass: 24 kg, target: {altitude: 500 km, sso: true}}
constraints:
  max_duration: 90 d
"""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fleet():
    fp = plan_fleet(loads(FLEET_YAML, filename="fleet-two.yaml"))
    assert fp.feasible and [t.tug for t in fp.tugs] == ["otv/a", "otv b"]
    return fp


@pytest.fixture(scope="module")
def verifications(fleet):
    # the first tug flown through the propagator; the second left unverified
    v = verify(fleet.tugs[0].plan)
    assert v.passed
    return {"otv/a": v}


@pytest.fixture(scope="module")
def written(fleet, verifications, tmp_path_factory):
    """The fleet report, written once. Each tug's report is write_report's (its figures are
    tested in test_report.py): here its figures are cut to the timeline, which saves ~10 s of
    matplotlib and still shows that ``figures`` reaches it; the fleet figures are all made."""
    from otvplan.reporting import report

    def timeline_only(plan):
        return {"timeline": plotting.timeline(plan)}

    out = tmp_path_factory.mktemp("fleet") / "report"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "make_figures", timeline_only)
        paths = write_fleet_report(fleet, out, verifications)
    return out, paths


def _table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table after ``## heading``, header excluded."""
    lines = markdown.splitlines()
    start = lines.index(f"## {heading}")
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
    assert rows, f"no table under {heading}"
    return rows[2:]  # header and alignment rows


def test_every_tug_gets_its_full_report_with_exports(fleet, written):
    out, paths = written
    dirs = tug_directories(fleet)
    assert dirs == {"otv/a": "otv_a", "otv b": "otv_b"}
    for t in fleet.tugs:
        sub = out / dirs[t.tug]
        for name in ("plan.json", "legs.csv", "burns.csv", "report.md", "report.html"):
            assert (sub / name).is_file() and sub / name in paths
        for name in ("plan.oem", "plan.opm", "plan.script"):
            assert (sub / name).is_file() and sub / name in paths
        # its own spacecraft in the exports, and its own plan in plan.json
        oem = (sub / "plan.oem").read_text(encoding="utf-8")
        assert f"OBJECT_NAME = {kvn_name(t.tug)}" in oem
        assert plan_from_json((sub / "plan.json").read_text(encoding="utf-8")) == t.plan
        assert (sub / "fig_timeline.png").read_bytes().startswith(PNG_SIGNATURE)


def test_assignment_table_matches_the_fleet_plan(fleet, written):
    out, _ = written
    rows = _table((out / "fleet.md").read_text(encoding="utf-8"), "Assignment")
    assert [r[0] for r in rows] == [p.name for p in fleet.scenario.payloads]
    by_tug = {t.tug: t for t in fleet.tugs}
    for payload, mass, target, tug, when, propellant in rows:
        assert tug == fleet.assignment[payload]
        t = by_tug[tug]
        (delivery,) = [
            leg.delivery for leg in t.plan.legs if leg.delivery and leg.delivery.payload == payload
        ]
        assert when == utc_text(t.plan, delivery.t_s)
        assert propellant == _num(t.plan.propellant_used_kg, 2)
        assert mass == _num(
            next(p.mass_kg for p in fleet.scenario.payloads if p.name == payload), 2
        )
        assert target.startswith(("550.0 km", "500.0 km"))
    assert "LTAN 11:00" in rows[0][2] and "any plane" in rows[1][2]


def test_totals_are_the_sums_of_the_tug_plans(fleet, written):
    out, _ = written
    md = (out / "fleet.md").read_text(encoding="utf-8")
    rows = _table(md, "Tugs")
    *tug_rows, total = rows
    assert [r[0] for r in tug_rows] == [t.tug for t in fleet.tugs]
    assert total[0] == "**total**"
    used = sum(t.plan.propellant_used_kg for t in fleet.tugs)
    dv = sum(t.plan.total_dv_kms for t in fleet.tugs) * 1000.0
    assert total[4] == _num(used, 2) and total[3] == _num(dv, 1)
    assert sum(float(r[4]) for r in tug_rows) == pytest.approx(used, abs=0.011)
    for r, t in zip(tug_rows, fleet.tugs):
        assert r[1] == utc_text(t.plan, 0.0)  # its start: its own epoch
        assert r[4] == _num(t.plan.propellant_used_kg, 2)
        assert r[5] == _num(t.plan.propellant_margin_kg, 2)
        assert r[6] == utc_text(t.plan, t.plan.duration_s)
    summary = dict(_table(md, "Summary"))
    assert summary["Total propellant used"] == f"{_num(used, 2)} kg"
    assert summary["Tugs flown"] == "2 of 2"
    assert summary["Unassigned payloads"] == "none"
    assert summary["Makespan"] == f"{_num(fleet.makespan_s / 86400.0, 2)} d"
    assert summary["Method"] == fleet.method
    assert summary["Tugs needed (copies of one tug alone that close the manifest)"] == "; ".join(
        f"{n}: {k}" for n, k in fleet.tugs_needed
    )
    # the combined timeline: every release of every tug, in time order
    events = _table(md, "Timeline")
    released = [e[3].split()[1] for e in events if e[3].startswith("releases ")]
    assert sorted(released) == sorted(fleet.delivered)
    days = [float(e[1]) for e in events]
    assert days == sorted(days)


def test_figures_are_valid_png_and_svg_and_embedded(fleet, written):
    out, paths = written
    for name in ("fleet_timeline", "fleet_assignment"):
        png = (out / f"fig_{name}.png").read_bytes()
        assert png.startswith(PNG_SIGNATURE)
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        assert width > 300 and height > 150
        root = ET.fromstring((out / f"fig_{name}.svg").read_bytes())
        assert root.tag.endswith("svg")
        assert out / f"fig_{name}.png" in paths and out / f"fig_{name}.svg" in paths
    page = (out / "fleet.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert "fig_fleet_timeline.png" in (out / "fleet.md").read_text(encoding="utf-8")
    # each tug's report is linked, and the link leads to it
    for d in tug_directories(fleet).values():
        assert f'<a href="{d}/report.html">' in page
        assert (out / d / "report.html").is_file()
    assert "[otv_a/report.md](otv_a/report.md)" in (out / "fleet.md").read_text(encoding="utf-8")


def test_verification_verdicts_are_shown(fleet, verifications, written):
    out, _ = written
    md = (out / "fleet.md").read_text(encoding="utf-8")
    rows = _table(md, "Tugs")
    verdicts = {r[0]: r[8] for r in rows[:-1]}
    assert verdicts == {"otv/a": "passed", "otv b": "not verified"}
    assert rows[-1][8] == ""  # not all passed
    assert "<td>passed</td>" in (out / "fleet.html").read_text(encoding="utf-8")
    # each tug's report carries its own verification, or none
    assert "all checks passed" in (out / "otv_a" / "report.md").read_text(encoding="utf-8")
    assert "## Verification" not in (out / "otv_b" / "report.md").read_text(encoding="utf-8")
    # a failed verification is shown as failed (the same record with its verdict turned)
    failed = {"otv/a": dataclasses.replace(verifications["otv/a"], passed=False)}
    rows = _table(render_fleet_markdown(fleet, failed), "Tugs")
    assert [r[8] for r in rows] == ["**FAILED**", "not verified", ""]
    all_passed = {t.tug: verifications["otv/a"] for t in fleet.tugs}
    assert _table(render_fleet_markdown(fleet, all_passed), "Tugs")[-1][8] == "all passed"


def test_a_verification_of_a_tug_that_does_not_fly_is_refused(fleet, verifications, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match="otv-c"):
        write_fleet_report(fleet, out, {"otv-c": verifications["otv/a"]}, figures=False)
    assert not out.exists()  # refused before anything is written


def test_rewrite_replaces_the_fleet_files_and_leaves_others(fleet, written, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(written[0], out)  # an earlier report, with figures and exports
    assert list(out.glob("fig_fleet_*")) and (out / "otv_a" / "plan.oem").exists()
    (out / "fleet.json").write_text("{}", encoding="utf-8")  # another writer's file
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    paths = write_fleet_report(fleet, out, figures=False, exports=False)
    assert not list(out.glob("fig_fleet_*"))  # figures of the earlier run removed
    assert not list((out / "otv_a").glob("fig_*"))
    assert not (out / "otv_a" / "plan.oem").exists()
    assert (out / "fleet.json").read_text(encoding="utf-8") == "{}"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert paths[:2] == [out / "fleet.md", out / "fleet.html"]
    md = (out / "fleet.md").read_text(encoding="utf-8")
    assert "Verification" not in md and "## Figures" not in md
    assert "all checks passed" not in (out / "otv_a" / "report.md").read_text(encoding="utf-8")


def test_unassigned_payloads_and_partial_fleets(fleet):
    # the same fleet with its second tug grounded: sat-2 is left out
    partial = dataclasses.replace(
        fleet,
        tugs=fleet.tugs[:1],
        unassigned=("sat-2",),
        feasible=False,
        infeasible_reasons=("sat-2: no tug can take it",),
        lower_bound_propellant_kg=None,
        tugs_needed=(),
    )
    md = render_fleet_markdown(partial)
    summary = dict(_table(md, "Summary"))
    assert summary["Status"] == "NOT FEASIBLE"
    assert summary["Tugs flown"] == "1 of 2"
    assert summary["Unassigned payloads"] == "sat-2"
    assert "Propellant lower bound" not in summary and "Tugs needed" not in md
    rows = {r[0]: r for r in _table(md, "Assignment")}
    assert rows["sat-2"][3] == "unassigned" and rows["sat-1"][3] == "otv/a"
    assert "- sat-2: no tug can take it" in md
    fig = fleet_figures.assignment(partial)
    assert plotting.figure_bytes(fig, "png").startswith(PNG_SIGNATURE)


def test_tug_directories_are_unique_on_any_file_system(fleet):
    t = fleet.tugs[0]
    names = ("otv-a", "otv a", "OTV_A", "con", "..", "über")
    many = dataclasses.replace(fleet, tugs=tuple(dataclasses.replace(t, tug=n) for n in names))
    dirs = tug_directories(many)
    assert list(dirs.values()) == ["otv_a", "otv_a_2", "OTV_A_3", "con_", "X__", "X_ber"]
    assert len({d.casefold() for d in dirs.values()}) == len(names)
