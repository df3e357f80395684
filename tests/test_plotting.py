"""Figures: each is a matplotlib Figure with labelled axes carrying units, made without pyplot,
saved reproducibly."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import otvplan.report as report

pytest.importorskip("matplotlib")

from otvplan import plotting  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden"
REPO = Path(__file__).resolve().parent.parent
UNIT = re.compile(r"\((km|deg|h|d|kg|m/s|s)\)")


def load_fixture(name: str):
    return report.plan_from_json((GOLDEN / f"{name}_plan.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def electric():
    return load_fixture("electric")


@pytest.fixture(scope="module")
def figures(electric):
    """Every figure of the electric-tug plan (low-thrust arcs, drift, pareto objective)."""
    return plotting.all_figures(electric)


def test_every_figure_is_made(figures, electric):
    from matplotlib.figure import Figure

    assert electric.objective == "pareto"
    assert set(figures) == set(plotting.FIGURE_FUNCTIONS)
    assert all(isinstance(f, Figure) for f in figures.values())


def test_axes_are_labelled_with_units(figures):
    for name, fig in figures.items():
        main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert main, name
        for ax in main:
            if hasattr(ax, "get_zlabel"):  # 3D
                for label in (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()):
                    assert UNIT.search(label), (name, label)
                continue
            ylabel = ax.get_ylabel()
            if ylabel == "Leg":  # categorical axis of the timeline
                continue
            if ax.get_xlabel():
                assert UNIT.search(ax.get_xlabel()) or name == "dv_waterfall", (name,
                                                                                ax.get_xlabel())
            if ylabel:
                assert UNIT.search(ylabel), (name, ylabel)
        assert fig.axes[0].get_title(), name


def test_time_axes_name_the_epoch(figures, electric):
    epoch = electric.scenario.epoch.strftime("%Y-%m-%d %H:%M:%S")
    for name in ("timeline", "elements", "mass"):
        labels = [ax.get_xlabel() for ax in figures[name].axes if ax.get_xlabel()]
        assert any(epoch in lab and "(d)" in lab for lab in labels), name


def test_elements_panels(figures):
    labels = [ax.get_ylabel() for ax in figures["elements"].axes]
    assert "Mean altitude a - R_E (km)" in labels
    assert "Inclination (deg)" in labels
    assert "RAAN tug - target (deg)" in labels


def test_timeline_has_a_row_per_leg(figures, electric):
    ax = figures["timeline"].axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == len(electric.legs)
    assert ticks[0].startswith("L1 drop-off")


def test_waterfall_totals(figures, electric):
    ax = figures["dv_waterfall"].axes[0]
    heights = [p.get_height() for p in ax.patches]
    # one bar per leg, the total, then the margin
    assert len(heights) == len(electric.legs) + 2
    assert sum(heights[:len(electric.legs)]) == pytest.approx(electric.total_dv_kms * 1000.0)


def test_pareto_points_are_propellant_used(electric):
    pts = plotting.pareto_points(electric)
    assert pts.shape == (len(electric.alternatives), 2)
    assert np.all(pts[:, 1] > 0.0)
    assert np.all(np.diff(pts[:, 0]) >= 0.0)
    # the chosen least-propellant plan is on the front
    assert pts[:, 1].min() == pytest.approx(electric.propellant_used_kg, rel=1e-6)


def test_saved_bytes_are_reproducible(figures):
    fig = figures["mass"]
    for fmt in ("png", "svg"):
        a = plotting.figure_bytes(fig, fmt)
        b = plotting.figure_bytes(fig, fmt)
        assert a == b, fmt
    svg = plotting.figure_bytes(fig, "svg").decode("utf-8")
    assert "<dc:date>" not in svg
    png = plotting.figure_bytes(fig, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"otvplan" in png


def test_save_figure_writes_atomically(tmp_path, figures):
    path = plotting.save_figure(figures["pareto"], tmp_path / "front.svg")
    assert path.read_bytes().startswith(b"<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["front.svg"]


def test_figures_for_an_impulsive_plan():
    plan = load_fixture("minimal")
    figs = plotting.all_figures(plan)
    assert ("pareto" in figs) == (plan.objective == "pareto" or len(plan.alternatives) > 1)
    assert "timeline" in figs and "orbits3d" in figs


def test_no_pyplot_and_lazy_matplotlib():
    code = textwrap.dedent("""
        import sys
        import otvplan, otvplan.plotting
        assert 'matplotlib' not in sys.modules, 'matplotlib loaded at import'
        from otvplan.report import plan_from_json
        p = plan_from_json(open('tests/golden/minimal_plan.json').read())
        otvplan.plotting.mass(p)
        print(int('matplotlib.pyplot' in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120, check=True)
    assert out.stdout.strip() == "0"
