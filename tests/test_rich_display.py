"""Notebook display and pandas tables (issue 16 item 7): ``Plan`` and ``Verification`` render
as HTML tables (``_repr_html_``) and convert to DataFrames (``plan.legs_frame()``,
``plan.burns_frame()``, ``verification.frame()``), with pandas imported only by those calls."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import textwrap

import pytest

import otvplan
from otvplan.reporting import report

pd = pytest.importorskip("pandas")

from paths import GOLDEN, REPO  # noqa: E402


@pytest.fixture(scope="module")
def sso():
    return report.plan_from_json((GOLDEN / "sso_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def electric():
    return report.plan_from_json((GOLDEN / "electric_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def minimal_check():
    plan = otvplan.plan(REPO / "otvplan" / "examples" / "minimal.yaml")
    return plan, otvplan.verify(plan)


def _csv_frame(text: str):
    """A CSV file of the report read back by pandas (times as UTC timestamps)."""
    import io

    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


@pytest.mark.parametrize("name", ["sso", "electric"])
def test_legs_frame_is_legs_csv(name, request):
    """The DataFrame and the CSV file are two writers of the same rows: legs.csv read back by
    pandas has the frame's columns and values (times to the millisecond the file keeps)."""
    plan = request.getfixturevalue(name)
    frame = plan.legs_frame()
    csv = _csv_frame(report.legs_csv(plan))
    assert list(frame.columns) == list(csv.columns) == list(report.LEG_COLUMNS)
    assert len(frame) == len(csv) == len(plan.legs)
    for column in report.LEG_COLUMNS:
        for got, want in zip(frame[column], csv[column]):
            if column.endswith("_utc"):
                # the CSV writes milliseconds (truncated); the frame keeps microseconds
                assert pd.Timedelta(0) <= got - pd.Timestamp(want) < pd.Timedelta("1ms"), column
                assert str(got.tz) == "UTC"
            elif isinstance(got, float):
                assert got == pytest.approx(float(want), rel=1e-12, abs=1e-12), column
            else:
                assert str(got) == str(want) or (got == "" and pd.isna(want)), column


@pytest.mark.parametrize("name", ["sso", "electric"])
def test_burns_frame_is_burns_csv(name, request):
    plan = request.getfixturevalue(name)
    frame = plan.burns_frame()
    csv = _csv_frame(report.burns_csv(plan))
    assert list(frame.columns) == list(csv.columns) == list(report.BURN_COLUMNS)
    assert len(frame) == len(csv) == sum(len(leg.burns) for leg in plan.legs)
    assert frame["propellant_kg"].sum() == pytest.approx(plan.propellant_used_kg, rel=1e-9)
    for column in (
        "dv_m_s",
        "dv_t_m_s",
        "propellant_kg",
        "duration_s",
        "after_a_km",
        "after_i_deg",
        "u_deg",
        "t_s",
    ):
        want = csv[column].astype(float).tolist()
        assert frame[column].astype(float).tolist() == pytest.approx(want, rel=1e-12, abs=1e-12), (
            column
        )
    for got, want in zip(frame["after_raan_deg"], csv["after_raan_deg"]):
        assert math.remainder(got - want, 360.0) == pytest.approx(0.0, abs=1e-9)
    for got, want in zip(frame["epoch_utc"], csv["epoch_utc"]):
        assert pd.Timedelta(0) <= got - pd.Timestamp(want) < pd.Timedelta("1ms")
    assert frame["low_thrust"].tolist() == [v in (True, "true") for v in csv["low_thrust"]]


def test_plan_html(sso):
    html = sso._repr_html_()
    assert html.count("<tr>") == len(sso.legs) + 1  # header and one row per leg
    assert f"<b>{sso.scenario.name}</b>: feasible" in html
    assert f"delivered {len(sso.delivered)} of {len(sso.scenario.payloads)} payloads" in html
    for leg in sso.legs:
        assert f'<td style="text-align:left">{leg.destination}</td>' in html


def test_html_escapes_what_it_shows(sso):
    evil = "<script>alert(1)</script>"
    sc = dataclasses.replace(sso.scenario, name=evil)
    plan = dataclasses.replace(
        sso, scenario=sc, feasible=False, undelivered=(evil,), warnings=(evil,)
    )
    html = plan._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "NOT feasible" in html


def test_verification_frame_and_html(minimal_check):
    plan, check = minimal_check
    frame = check.frame()
    assert len(frame) == len(check.rows)
    assert list(frame.columns) == [
        "payload",
        "element",
        "unit",
        "target",
        "planned",
        "achieved",
        "error",
        "tolerance",
        "checked",
        "passed",
        "note",
    ]
    for (_, row), c in zip(frame.iterrows(), check.rows):
        scale = math.degrees(1.0) if c.unit == "rad" else 1.0
        assert row["unit"] == ("deg" if c.unit == "rad" else c.unit)
        assert row["achieved"] == pytest.approx(c.achieved * scale, rel=1e-12)
        if c.tolerance is not None:
            assert row["tolerance"] == pytest.approx(c.tolerance * scale, rel=1e-12)
        assert bool(row["passed"]) == c.passed
    inc = frame[(frame["element"] == "i")]
    assert inc["unit"].eq("deg").all() and inc["achieved"].between(90.0, 100.0).all()
    html = check._repr_html_()
    assert "PASSED" in html and html.count("<tr>") == len(check.rows) + 1
    assert "not checked" in html  # the minimal scenario leaves RAAN and slot of sat-2 free


def test_pandas_is_imported_only_by_the_table_methods():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import json, sys
        import otvplan, otvplan.model, otvplan.flight.verify, otvplan.planning.solver
        p = otvplan.plan("otvplan/examples/minimal.yaml")
        html = p._repr_html_()
        before = "pandas" in sys.modules
        p.legs_frame()
        print(json.dumps([before, "pandas" in sys.modules, len(html) > 0]))
    """),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True, True]
