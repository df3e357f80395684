"""Trade studies: the study-file validator, case generation, the sweep on local processes and
on a Dask cluster, the crash-safe store (SIGKILL and rerun), lost workers, failed cases.

Every study here varies a tiny scenario (two payloads in the drop-off plane: a case takes
tens of milliseconds) so that the whole module runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from otvplan import study as st
from otvplan.errors import STATUS_BAD_INPUT, STATUS_ERROR, STATUS_OK, StudyError
from otvplan.study import run
from otvplan.study.paths import format_path, parse_path
from otvplan.study.store import RESULTS_FILE, ResultStore, read_rows
from paths import REPO

TINY = textwrap.dedent("""\
    name: tiny
    epoch: 2027-03-01T10:00:00Z
    dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
    tug:
      name: tug
      dry_mass: 150 kg
      propellant: 80 kg
      tank_capacity: 100 kg
      engines:
        - {name: main, type: chemical, isp: 230 s, thrust: 22 N}
    payloads:
      - name: sat-1
        mass: 12 kg
        target: {altitude: 550 km, sso: true}
      - name: sat-2
        mass: 24 kg
        target: {altitude: 500 km, sso: true}
    """)

#: Columns that differ between two runs of the same cases (timings).
TIMINGS = ["elapsed_s", "cpu_s", "solve_time_s"]


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def write_study(tmp_path: Path, body: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(StudyError) as info:
        st.load(path)
    return [str(p) for p in info.value.problems]


def comparable(table):
    return table.drop(columns=[c for c in TIMINGS if c in table.columns])


# --------------------------------------------------------------------------------------------
# The study-file validator
# --------------------------------------------------------------------------------------------


def test_validator_reports_every_problem_at_once_with_its_place(tmp_path, tiny):
    path = write_study(
        tmp_path,
        """\
        name: bad
        base: tiny.yaml
        axis: 3
        axes:
          tug.engines[0].ispp: [220 s, 300 s]
          tug.engines[0].isp: [220 km, 300 s, 300]
          payloads[9].mass: [10 kg]
          payloads[*].target.altitude: {from: 450 km, to: 700 s, steps: 3}
          dropoff.altitude: {from: 450 km, to: 600 km}
          payloads[sat-3].mass: [1 kg]
          tug..name: [a]
          tug.dry_mass: 150 kg
        design: {type: grid, seed: -1}
        objective: propelant
        metrics: [total_dv, dv]
        """,
    )
    f = str(path)
    assert problems_of(path) == [
        f'{f}:3:1: axis: unknown key "axis"; did you mean "axes"?',
        f'{f}:5:3: axes["tug.engines[0].ispp"]: unknown key "ispp" in tug.engines[0]; did you '
        'mean "isp"?',
        f'{f}:6:24: axes["tug.engines[0].isp"][0]: expected a duration in s, min, h, d or yr, '
        'got "220 km": km is a unit of a length',
        f'{f}:6:39: axes["tug.engines[0].isp"][2]: expected a duration with a unit, like '
        '"220 s", got the bare number 300',
        f'{f}:7:3: axes["payloads[9].mass"]: payloads has 2 items in the base scenario (0 to '
        "1); [9] is out of range",
        f'{f}:8:51: axes["payloads[*].target.altitude"].to: expected a length in km or m, got '
        '"700 s": s is a unit of a duration',
        f'{f}:9:21: axes["dropoff.altitude"]: a grid needs the number of values of a range: '
        "add `steps: 7` (or give a list of values)",
        f'{f}:10:3: axes["payloads[sat-3].mass"]: no item named "sat-3" in payloads; did you '
        'mean "sat-2"?',
        f"{f}:11:3: axes[\"tug..name\"]: not a scenario path: a key is missing before the '.' "
        "at character 5; write it like tug.engines[0].isp or payloads[*].target.altitude",
        f'{f}:12:17: axes["tug.dry_mass"]: expected a list of values like [220 s, 260 s, 300 s] '
        'or a range like {from: 450 km, to: 600 km, steps: 7}; got "150 kg"',
        f"{f}:13:28: design.seed: expected a whole number, 0 or more; got the bare number -1",
        f'{f}:14:12: objective: expected one of propellant, duration, pareto; got "propelant" '
        '(did you mean "propellant"?)',
        f'{f}:15:21: metrics[1]: unknown metric "dv"; metrics are: total_dv, propellant_used, '
        "propellant_remaining, propellant_margin, duration, initial_mass, final_mass, feasible, "
        "delivered, undelivered, shortfall_propellant, shortfall_time, legs, exact, tugs_flown, "
        "assignment, solve_time",
    ]


def test_paths_are_checked_against_the_scenario_schema(tmp_path, tiny):
    path = write_study(
        tmp_path,
        """\
        base: tiny.yaml
        axes:
          payloads.mass: [1 kg]
          tug.engines[0].isp.value: [1 s]
          tug.name[0]: [a]
          tugg.dry_mass: [1 kg]
          constraints.max_duration: [30 d, 60 d]
        """,
    )
    f = str(path)
    assert problems_of(path) == [
        f'{f}:3:3: axes["payloads.mass"]: payloads is a list; select its items with [0], [*] '
        "or [name], e.g. payloads[0].mass",
        f'{f}:4:3: axes["tug.engines[0].isp.value"]: tug.engines[0].isp is a value, not a '
        'mapping; it has no key "value"',
        f'{f}:5:3: axes["tug.name[0]"]: tug.name is not a list; [...] selects list items, as in '
        "payloads[2] or tug.engines[0]",
        f'{f}:6:3: axes["tugg.dry_mass"]: unknown key "tugg" at the top of a scenario; did you '
        'mean "tug"?',
    ]


def test_design_problems(tmp_path, tiny):
    cases = {
        "{type: sobol, size: 100}": "design.size: a Sobol' sequence is balanced only for a "
        "power of two of points; use 64 or 128, not 100",
        "{type: lhs}": "design: a lhs design needs its number of cases: add `size: 200`",
        "{type: grid, size: 10}": "design.size: size applies to lhs and sobol designs; a grid "
        "runs every combination of the axes' values",
        "latin": 'design: expected one of grid, lhs, sobol; got "latin"',
        "{type: lhs, size: 2000000}": "design.size: 2,000,000 cases is more than the limit of "
        "1,000,000",
    }
    for design, message in cases.items():
        path = write_study(
            tmp_path,
            f"""\
            base: tiny.yaml
            axes: {{tug.dry_mass: {{from: 100 kg, to: 200 kg, steps: 3}}}}
            design: {design}
            """,
        )
        found = problems_of(path)
        assert len(found) == 1 and found[0].endswith(message), (design, found)


def test_inline_base_is_validated_at_the_study_files_lines(tmp_path):
    body = "base:\n" + textwrap.indent(TINY, "  ") + "axes:\n  tug.dry_mass: [100 kg]\n"
    body = body.replace("dry_mass: 150 kg", "dry_mass: 150").replace(
        "isp: 230 s", "isp: 230 s, thrust2: 1 N"
    )
    path = write_study(tmp_path, body)
    f = str(path)
    assert problems_of(path) == [
        f'{f}:7:15: base.tug.dry_mass: expected a mass with a unit, like "180 kg", got the bare '
        "number 150",
        f'{f}:11:50: base.tug.engines[0].thrust2: unknown key "thrust2"; did you mean "thrust"?',
    ]


def test_base_file_problems_name_the_scenario_file(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        TINY.replace("dry_mass: 150 kg", "dry_mass: -5 kg"), encoding="utf-8"
    )
    path = write_study(tmp_path, "base: broken.yaml\naxes: {tug.dry_mass: [1 kg]}\n")
    missing = write_study(
        tmp_path, "base: nothere.yaml\naxes: {tug.dry_mass: [1 kg]}\n", "missing.yaml"
    )
    base = os.path.normpath(str(tmp_path / "broken.yaml"))
    assert problems_of(path) == [
        f"{path}:1:7: base: the base scenario {base} has 1 problem (listed below)",
        f'{base}:6:13: tug.dry_mass: must be greater than zero, got "-5 kg"',
    ]
    assert problems_of(missing) == [
        f"{missing}:1:7: base: no such file: {tmp_path / 'nothere.yaml'} (a relative path "
        "starts at the study file's directory)",
    ]


def test_an_empty_or_alias_bomb_base_file_is_a_problem_not_a_crash(tmp_path):
    """An empty base file raised AttributeError, and an alias bomb was expanded without
    measure (minutes of CPU): both are now reported like any base file that is not a
    scenario, without showing its content."""
    (tmp_path / "empty.yaml").write_text("# nothing\n", encoding="utf-8")
    lines = [
        f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}" if i else '"lol"'] * 9) + "]" for i in range(9)
    ]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, why in (
        ("empty", "is not a scenario file (not a YAML mapping)"),
        ("bomb", "is not a YAML scenario file: it does not parse (at line 1)"),
    ):
        path = write_study(
            tmp_path, f"base: {name}.yaml\naxes: {{tug.dry_mass: [1 kg]}}\n", f"{name}-study.yaml"
        )
        base = os.path.normpath(str(tmp_path / f"{name}.yaml"))
        assert problems_of(path) == [f"{path}:1:7: base: {base} {why}; its content is not shown"]


def test_two_axes_may_not_set_the_same_value(tmp_path, tiny):
    path = write_study(
        tmp_path,
        """\
        base: tiny.yaml
        axes:
          payloads[*].mass: [1 kg, 2 kg]
          payloads[sat-2].mass: [3 kg]
        """,
    )
    assert problems_of(path) == [
        f'{path}:4:3: axes["payloads[sat-2].mass"]: payloads[1].mass is also set by the axis '
        "payloads[*].mass; each value may be varied by one axis only",
    ]


def test_a_missing_study_file_and_an_empty_one(tmp_path):
    assert problems_of(tmp_path / "nope.yaml") == [
        f"{tmp_path / 'nope.yaml'}: no such file; check the path (examples are in studies/)"
    ]
    empty = write_study(tmp_path, "# nothing\n")
    assert problems_of(empty) == [f"{empty}: the file is empty; see studies/ for examples"]


@pytest.mark.parametrize(
    "text",
    [
        "payloads[*].target.altitude",
        "tug.engines[0].isp",
        "payloads[sar-micro-1].mass",
        "constraints.disposal.area",
    ],
)
def test_paths_round_trip(text):
    assert format_path(parse_path(text)) == text


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


def test_grid_cases_values_and_stable_ids(tmp_path, tiny):
    body = """\
        base: tiny.yaml
        axes:
          tug.engines[0].isp: [220 s, 300 s]
          payloads[*].target.altitude: {from: 450 km, to: 700 km, steps: 3}
        """
    study = st.load(write_study(tmp_path, body))
    cases = study.cases()
    assert [c.values for c in cases] == [
        ("220 s", "450 km"),
        ("220 s", "575 km"),
        ("220 s", "700 km"),
        ("300 s", "450 km"),
        ("300 s", "575 km"),
        ("300 s", "700 km"),
    ]
    assert len({c.case_id for c in cases}) == 6
    again = st.load(write_study(tmp_path, body, "again.yaml"))
    assert [c.case_id for c in again.cases()] == [c.case_id for c in cases]
    other = st.load(write_study(tmp_path, body + "objective: duration\n", "other.yaml"))
    assert not {c.case_id for c in other.cases()} & {c.case_id for c in cases}
    # [*] sets every payload
    assert study.assignments(cases[1])[1:] == (
        (("payloads", 0, "target", "altitude"), "575 km"),
        (("payloads", 1, "target", "altitude"), "575 km"),
    )


def test_lhs_is_stratified_and_reproducible(tmp_path, tiny):
    body = """\
        base: tiny.yaml
        axes:
          tug.dry_mass: {from: 100 kg, to: 200 kg}
          payloads[0].mass: {from: 1 kg, to: 100 kg, scale: log}
          tug.engines[0].isp: [220 s, 260 s, 300 s]
        design: {type: lhs, size: 12, seed: 7}
        """
    study = st.load(write_study(tmp_path, body))
    cases = study.cases()
    assert len(cases) == 12
    dry = sorted(float(c.values[0].split()[0]) for c in cases)
    assert [int((m - 100.0) / 100.0 * 12) for m in dry] == list(range(12))  # one per stratum
    assert all(1.0 <= float(c.values[1].split()[0]) <= 100.0 for c in cases)
    assert sorted(c.values[2] for c in cases).count("260 s") == 4
    again = st.load(write_study(tmp_path, body, "again.yaml"))
    assert again.cases() == cases
    reseeded = st.load(write_study(tmp_path, body.replace("seed: 7", "seed: 8"), "s8.yaml"))
    assert reseeded.cases() != cases


def test_sobol_and_clock_time_ranges(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          payloads[0].target.ltan: {from: "09:00", to: "12:00"}
          tug.dry_mass: {from: 100 kg, to: 200 kg, steps: 5}
        design: {type: sobol, size: 8, seed: 1}
        """,
        )
    )
    cases = study.cases()
    assert len(cases) == 8
    assert study.axes[0].unit == "h"
    assert all(9.0 <= float(c.values[0].split()[0]) <= 12.0 for c in cases)
    assert {c.values[1] for c in cases} <= {"100 kg", "125 kg", "150 kg", "175 kg", "200 kg"}


def test_a_case_with_an_invalid_scenario_is_a_bad_input_row(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes: {tug.propellant: [1 kg, 80 kg, 120 kg]}
        """,
        )
    )
    table = st.sweep(study, workers=0)
    assert list(table["status"]) == ["infeasible", "ok", "bad-input"]
    assert list(table["status_code"])[2] == STATUS_BAD_INPUT
    assert table["message"][2] == (
        "tug.propellant: 120 kg loaded exceeds the tank_capacity of "
        "100 kg; load less or enlarge the tank"
    )
    assert table["propellant_used_kg"].isna().tolist() == [False, False, True]
    assert table["message"][0].startswith("propellant: ")
    assert table["feasible"].tolist()[:2] == [False, True]


def test_a_case_that_raises_is_an_error_row(tmp_path, tiny, monkeypatch):
    from otvplan.planning import solver

    real = solver.plan

    def plan(scenario, objective=None, **kwargs):
        if scenario.tug.engines[0].isp_s == 300.0:
            raise RuntimeError("boom")
        return real(scenario, objective=objective, **kwargs)

    monkeypatch.setattr(solver, "plan", plan)
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.engines[0].isp: [220 s, 300 s, 320 s]
        metrics: [propellant_used, feasible]
        """,
        )
    )
    table = st.sweep(study, workers=0, out_dir=tmp_path / "out", plots=False)
    assert list(table["status"]) == ["ok", "error", "ok"]
    assert table["status_code"][1] == STATUS_ERROR
    assert table["message"][1].startswith("RuntimeError: boom (at test_study.py:")
    assert list(table.columns) == [
        "case",
        "tug.engines[0].isp (s)",
        "propellant_used_kg",
        "feasible",
        "status",
        "status_code",
        "message",
        "elapsed_s",
        "cpu_s",
    ]
    # the error row is stored like any other result: a rerun does not run it again
    rows, _ = read_rows(tmp_path / "out" / RESULTS_FILE)
    assert sorted(r["status"] for r in rows.values()) == [STATUS_OK, STATUS_OK, STATUS_ERROR]


def test_outputs_resume_and_plots(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.engines[0].isp: [220 s, 300 s]
          payloads[*].target.altitude: {from: 450 km, to: 650 km, steps: 2}
        """,
        )
    )
    out = tmp_path / "out"
    seen = []
    table = st.sweep(study, workers=0, out_dir=out, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "cases.png",
        "heatmap_duration_d.png",
        "heatmap_propellant_used_kg.png",
        "heatmap_total_dv_m_s.png",
    ]
    import pandas as pd

    parquet = pd.read_parquet(out / "results.parquet")
    assert comparable(parquet).equals(comparable(table))
    csv = pd.read_csv(out / "results.csv")
    assert list(csv.columns) == list(table.columns)
    assert json.loads((out / "study.json").read_text())["status"]["ok"] == 4
    # A rerun finds every case stored and runs none.
    seen.clear()
    again = st.sweep(
        study, workers=0, out_dir=out, plots=False, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(4, 4)]
    assert again.equals(table)


def test_scatter_matrix_for_sampled_designs(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.dry_mass: {from: 100 kg, to: 200 kg}
          payloads[1].mass: {from: 10 kg, to: 40 kg}
        design: {type: lhs, size: 3, seed: 1}
        metrics: [total_dv]
        """,
        )
    )
    out = tmp_path / "out"
    st.sweep(study, workers=0, out_dir=out)
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["cases.png", "scatter_matrix.png"]


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def isp_propellant(tmp_path, tiny):
    """A 2 x 2 grid whose 0.5 kg cases are infeasible, swept with its figures."""
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.engines[0].isp: [220 s, 300 s]
          tug.propellant: [0.5 kg, 80 kg]
        """,
        )
    )
    out = tmp_path / "out"
    (out / "plots").mkdir(parents=True)
    (out / "plots" / "pareto.png").write_bytes(b"an older version's figure")
    table = st.sweep(study, workers=0, out_dir=out)
    return study, table, out


def test_heatmap_cells_stay_on_the_sampled_values(isp_propellant):
    """An Isp grid of 220/300 s is drawn as two cells with ticks 220 and 300 (not cells from
    180 to 340 s); names with units; infeasible cells have no colour and a cross."""
    import numpy as np

    study, table, _ = isp_propellant
    assert list(table["status"]) == ["infeasible", "ok", "infeasible", "ok"]
    fig = st.figures(study, table)["heatmap_propellant_used_kg"]
    ax, bar = fig.axes
    assert ax.get_xlim() == (-0.5, 1.5) and ax.get_ylim() == (-0.5, 1.5)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["220", "300"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.5", "80"]
    mesh = ax.collections[0]
    corners = mesh.get_coordinates()
    assert corners[..., 0].min() == -0.5 and corners[..., 0].max() == 1.5
    assert ax.get_xlabel() == "Isp, engine main (s)"
    assert ax.get_ylabel() == "Tug propellant loaded (kg)"
    assert ax.get_title() == f"{study.name}: Propellant used (kg)"
    assert bar.get_ylabel() == "Propellant used (kg)"
    cells = np.ma.getmaskarray(mesh.get_array()).reshape(2, 2)
    assert cells.tolist() == [[True, True], [False, False]]  # rows: 0.5 kg, 80 kg
    ok = table[table["status"] == "ok"]["propellant_used_kg"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.4g}" for v in ok)
    crosses = [c for c in ax.collections[1:] if len(c.get_offsets()) == 2]
    assert [sorted(map(tuple, c.get_offsets().tolist())) for c in crosses] == [
        [(0.0, 0.0), (1.0, 0.0)]
    ]
    for column, name in (
        ("total_dv_m_s", "Total delta-v (m/s)"),
        ("duration_d", "Mission duration (d)"),
    ):
        assert st.figures(study, table)[f"heatmap_{column}"].axes[1].get_ylabel() == name


def test_the_cases_figure_draws_no_front_through_different_designs(isp_propellant):
    study, table, out = isp_propellant
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "cases.png",
        "heatmap_duration_d.png",
        "heatmap_propellant_used_kg.png",
        "heatmap_total_dv_m_s.png",
    ]  # the older pareto.png is gone
    ax = st.figures(study, table)["cases"].axes[0]
    assert ax.get_lines() == []  # points only: no front, no step line
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "feasible (2)",
        "infeasible (the partial plan) (2)",
    ]
    assert "each point is one design case" in ax.get_title()
    assert ax.get_xlabel() == "Mission duration (d)"
    assert ax.get_ylabel() == "Propellant used (kg)"
    # few cases: each point names its axis values
    assert sorted(t.get_text() for t in ax.texts) == [
        "220 s, 0.5 kg",
        "220 s, 80 kg",
        "300 s, 0.5 kg",
        "300 s, 80 kg",
    ]


def test_a_sweep_table_renders_as_html_in_a_notebook(isp_propellant):
    """The result of a sweep is a pandas DataFrame: Jupyter shows it as an HTML table."""
    _, table, _ = isp_propellant
    html = table._repr_html_()
    assert "<table" in html and "propellant_used_kg" in html
    assert all(case in html for case in table["case"])


def test_axis_labels_are_names_with_units(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.engines[0].isp: [220 s, 300 s]
          payloads[*].target.altitude: [450 km, 500 km]
          payloads[sat-2].mass: [10 kg, 20 kg]
          payloads[0].target.ltan: ["10:00", "11:00"]
          tug.dry_mass: [100 kg, 150 kg]
          constraints.max_duration: [30 d, 60 d]
          dropoff.altitude: [500 km, 525 km]
        design: {type: lhs, size: 2}
        """,
        )
    )
    assert [st.axis_label(study, a) for a in study.axes] == [
        "Isp, engine main (s)",
        "Target altitude, every payload (km)",
        "Mass, payload sat-2 (kg)",
        "Target LTAN, payload sat-1 (h)",
        "Tug dry mass (kg)",
        "Duration limit (d)",
        "Drop-off altitude (km)",
    ]
    assert st.metric_label("propellant_used_kg", "kg") == "Propellant used (kg)"


# --------------------------------------------------------------------------------------------
# The results store
# --------------------------------------------------------------------------------------------


def test_a_torn_last_line_is_ignored_and_the_case_rerun(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes: {tug.dry_mass: [140 kg, 150 kg, 160 kg]}
        """,
        )
    )
    out = tmp_path / "out"
    first = st.sweep(study, workers=0, out_dir=out, plots=False)
    store = out / RESULTS_FILE
    lines = store.read_bytes().splitlines(keepends=True)
    store.write_bytes(b"".join(lines[:2]) + lines[2][:40])  # the process died mid-line
    rows, skipped = read_rows(store)
    assert len(rows) == 2 and skipped == 1
    seen = []
    second = st.sweep(
        study, workers=0, out_dir=out, plots=False, progress=lambda d, t: seen.append(d)
    )
    assert seen == [2, 3]
    assert comparable(second).equals(comparable(first))
    text = store.read_bytes()
    assert text.endswith(b"\n") and len(text.splitlines()) == 3
    assert all(json.loads(line) for line in text.splitlines())


def test_one_writer_per_output_directory(tmp_path):
    from otvplan.errors import OtvplanError

    with ResultStore(tmp_path):
        with pytest.raises(OtvplanError, match="another sweep is writing to this directory"):
            ResultStore(tmp_path).open()
    with ResultStore(tmp_path):  # released on close
        pass


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def test_cli_bad_study_exits_2_and_infeasible_cases_exit_0(tmp_path, tiny, capsys):
    from otvplan.cli import main

    bad = write_study(tmp_path, "base: tiny.yaml\naxes: {tug.dry_mas: [1 kg]}\n", "bad.yaml")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o1")]) == 2
    assert 'unknown key "dry_mas" in tug; did you mean "dry_mass"?' in capsys.readouterr().err
    good = write_study(tmp_path, "base: tiny.yaml\naxes: {tug.propellant: [1 kg, 80 kg]}\n")
    assert (
        main(["sweep", str(good), "--out", str(tmp_path / "o2"), "--workers", "0", "--no-plots"])
        == 0
    )
    err = capsys.readouterr().err
    assert "2 cases: 1 ok, 1 infeasible, 0 bad-input, 0 error" in err
    assert (
        main(
            [
                "sweep",
                str(good),
                "--out",
                str(tmp_path / "o3"),
                "--workers",
                "1",
                "--scheduler",
                "tcp://127.0.0.1:1",
            ]
        )
        == 2
    )


# --------------------------------------------------------------------------------------------
# Processes, crashes and clusters
# --------------------------------------------------------------------------------------------

GRID = """\
    base: tiny.yaml
    axes:
      tug.engines[0].isp: {from: 220 s, to: 320 s, steps: 4}
      payloads[*].target.altitude: {from: 450 km, to: 650 km, steps: %d}
    metrics: [total_dv, propellant_used, duration, feasible]
    """


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_gives_every_case_once(tmp_path, tiny):
    path = write_study(tmp_path, GRID % 25)  # 100 cases: the run outlasts the first few
    study = st.load(path)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "otvplan",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--workers",
        "2",
        "--no-plots",
    ]
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    store = out / RESULTS_FILE
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if store.exists() and store.read_bytes().count(b"\n") >= 3:
                break
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        try:  # the workers notice that their parent is gone and exit; make sure of it
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stored_before, _ = read_rows(store)
    assert 3 <= len(stored_before) < 100
    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    lines = store.read_bytes().splitlines()
    ids = [json.loads(line)["case"] for line in lines]
    assert sorted(ids) == sorted(c.case_id for c in study.cases())  # every case exactly once
    import pandas as pd

    table = pd.read_parquet(out / "results.parquet").set_index("case")
    assert list(table.index) == [c.case_id for c in study.cases()]
    assert set(table["status"]) == {"ok"}
    # the cases stored before the kill were kept as they were, not run again
    for case, row in stored_before.items():
        assert table.loc[case, "propellant_used_kg"] == row["metrics"]["propellant_used"]
        assert table.loc[case, "elapsed_s"] == row["elapsed_s"]
    # and a few cases computed after it agree with this process
    resumed = [c for c in study.cases() if c.case_id not in stored_before][:3]
    for case in resumed:
        outcome = st.run_case(study.base_json, study.objective, study.assignments(case))
        assert table.loc[case.case_id, "total_dv_m_s"] == outcome.metrics["total_dv"]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.mark.slow
def test_local_processes_and_a_dask_cluster_give_the_same_table(tmp_path, tiny, dask_client):
    study = st.load(write_study(tmp_path, GRID % 3))
    local = st.sweep(study, workers=2, out_dir=tmp_path / "local", plots=False)
    on_dask = st.sweep(
        study, executor=dask_client.get_executor(), out_dir=tmp_path / "dask", plots=False
    )
    assert len(local) == 12 and set(local["status"]) == {"ok"}
    assert comparable(on_dask).equals(comparable(local))
    workers = {
        json.loads(line)["worker"]
        for line in (tmp_path / "dask" / RESULTS_FILE).read_bytes().splitlines()
    }
    assert len(workers) == 2  # both cluster workers ran cases


@pytest.mark.slow
def test_killing_a_dask_worker_mid_run_still_completes_the_study(tmp_path, tiny, dask_client):
    study = st.load(write_study(tmp_path, GRID % 8))  # 32 cases
    dask_client.wait_for_workers(2, timeout=60)
    pids = dask_client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(done: int, total: int) -> None:
        if done >= 3 and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    table = st.sweep(
        study,
        executor=dask_client.get_executor(),
        out_dir=tmp_path / "out",
        progress=progress,
        plots=False,
    )
    assert killed
    assert list(table["case"]) == [c.case_id for c in study.cases()]
    assert set(table["status"]) == {"ok"}
    rows, _ = read_rows(tmp_path / "out" / RESULTS_FILE)
    assert len(rows) == 32
    reference = st.sweep(study, workers=0)
    assert comparable(table).equals(comparable(reference))


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.yaml")), ids=lambda p: p.name)
def test_example_studies_are_valid(path):
    study = st.load(path)
    assert study.cases()


class _LosesOneCase(run._InlineExecutor):
    """Runs chunks in this process, but 'loses the worker' of every chunk holding a poison
    case (as a Dask KilledWorker or a broken process pool would), and once the first
    chunk it sees."""

    def __init__(self, poison: str):
        self.poison = poison
        self.calls = 0

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future

        self.calls += 1
        chunk = args[0]
        if self.calls == 1 or any(self.poison in t.values for t in chunk.tasks):
            future = Future()
            future.set_exception(RuntimeError("worker lost"))
            return future
        return super().submit(fn, *args, **kwargs)


def test_a_case_whose_worker_is_always_lost_is_an_unstored_error_row(tmp_path, tiny):
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.dry_mass: [140 kg, 150 kg, 160 kg, 170 kg]
        metrics: [feasible]
        """,
        )
    )
    out = tmp_path / "out"
    flaky = _LosesOneCase("160 kg")
    table = st.sweep(study, executor=flaky, out_dir=out, plots=False, chunk_size=2)
    assert list(table["status"]) == ["ok", "ok", "error", "ok"]
    assert table["message"][2] == (
        "the worker running this case was lost 3 times "
        "(RuntimeError: worker lost); not stored: a rerun tries it "
        "again"
    )
    rows, _ = read_rows(out / RESULTS_FILE)
    assert len(rows) == 3 and table["case"][2] not in rows
    seen = []
    again = st.sweep(
        study, workers=0, out_dir=out, plots=False, progress=lambda d, t: seen.append(d)
    )
    assert seen == [3, 4] and set(again["status"]) == {"ok"}


@pytest.mark.slow
def test_cli_sweep_on_a_scheduler(tmp_path, tiny, dask_client, capsys):
    from otvplan.cli import main

    path = write_study(tmp_path, GRID % 2)
    address = dask_client.scheduler.address
    assert (
        main(
            [
                "sweep",
                str(path),
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                address,
                "--no-plots",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"on the cluster at {address}" in err
    assert "8 cases: 8 ok, 0 infeasible, 0 bad-input, 0 error" in err


def _crash_on(poison: str) -> None:
    """Worker initializer: a case holding ``poison`` kills its worker process."""
    from otvplan.study import run as study

    study._worker_init()
    real = study.run_chunk

    def run_chunk(chunk):
        if any(poison in task.values for task in chunk.tasks):
            os._exit(3)
        return real(chunk)

    study.run_chunk = run_chunk  # what the parent's pickled reference resolves to here


@pytest.mark.slow
def test_a_case_that_kills_its_local_worker_is_an_error_row(tmp_path, tiny, monkeypatch):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pools = []

    def local_executor(workers):
        pools.append(workers)
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_crash_on,
            initargs=("160 kg",),
        )

    monkeypatch.setattr(run, "_local_executor", local_executor)
    study = st.load(
        write_study(
            tmp_path,
            """\
        base: tiny.yaml
        axes:
          tug.dry_mass: [140 kg, 150 kg, 160 kg, 170 kg]
        metrics: [feasible]
        """,
        )
    )
    table = st.sweep(study, workers=2, out_dir=tmp_path / "out", plots=False)
    assert list(table["status"]) == ["ok", "ok", "error", "ok"]
    assert table["message"][2].startswith(
        "the worker running this case was lost 3 times (BrokenProcessPool: "
    )
    assert len(pools) >= 4  # the first pool and one per death of the poisoned case's worker
    rows, _ = read_rows(tmp_path / "out" / RESULTS_FILE)
    assert len(rows) == 3
