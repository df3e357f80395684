"""Figures: each is a matplotlib Figure with labelled axes carrying units, made without pyplot,
saved reproducibly."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import otvplan.reporting.report as report

pytest.importorskip("matplotlib")

from otvplan.reporting import plotting
from paths import GOLDEN, REPO

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
            ylabel = ax.get_ylabel()
            if ylabel == "Leg":  # categorical axis of the timeline
                continue
            if ax.get_xlabel():
                assert UNIT.search(ax.get_xlabel()) or name == "dv_waterfall", (
                    name,
                    ax.get_xlabel(),
                )
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
    assert sum(heights[: len(electric.legs)]) == pytest.approx(electric.total_dv_kms * 1000.0)


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
    assert "timeline" in figs and "planes" in figs and "orbits3d" not in figs
    assert not hasattr(plotting, "orbits3d")


def test_no_pyplot_and_lazy_matplotlib():
    code = textwrap.dedent("""
        import sys
        import otvplan, otvplan.reporting.plotting
        assert 'matplotlib' not in sys.modules, 'matplotlib loaded at import'
        from otvplan.reporting.report import plan_from_json
        p = plan_from_json(open('tests/golden/minimal_plan.json').read())
        otvplan.reporting.plotting.mass(p)
        print(int('matplotlib.pyplot' in sys.modules))
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


# --------------------------------------------------------------------------------------------
# Labels placed on data stay readable; the planes map
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sso():
    """The SSO rideshare plan: releases grouped in time at the start and at the right edge."""
    return load_fixture("sso")


def _annotations(ax):
    from matplotlib.text import Annotation

    return [t for t in ax.texts if isinstance(t, Annotation) and t.get_text()]


def _release_label_boxes(fig, ax, names):
    """Display-space boxes of the annotations that name a payload."""
    renderer = fig.canvas.get_renderer()
    return [
        t.get_window_extent(renderer)
        for t in _annotations(ax)
        if any(name in t.get_text() for name in names)
    ]


@pytest.mark.parametrize("plan_name", ["sso", "electric", "minimal"])
def test_release_labels_stay_inside_their_axes(plan_name):
    """Issue 16 item 2: labels were clipped at the top right of the elements figure."""
    plan = load_fixture(plan_name)
    names = [p.name for p in plan.scenario.payloads]
    for make, index in ((plotting.elements, 0), (plotting.mass, 0)):
        fig = make(plan)
        ax = fig.axes[index]
        boxes = _release_label_boxes(fig, ax, names)
        assert boxes, (make.__name__, plan_name)
        for box in boxes:
            inside = ax.bbox
            assert inside.x0 - 1 <= box.x0 and box.x1 <= inside.x1 + 1, (make.__name__, box)
            assert inside.y0 - 1 <= box.y0 and box.y1 <= inside.y1 + 1, (make.__name__, box)
        # every payload named once (stacked labels for releases close in time)
        text = "\n".join(t.get_text() for t in _annotations(ax))
        delivered = [leg.delivery.payload for leg in plan.legs if leg.delivery]
        assert all(text.count(name) >= 1 for name in delivered)


@pytest.mark.parametrize("plan_name", ["sso", "electric", "minimal"])
def test_mass_release_labels_do_not_sit_on_the_mass_line(plan_name):
    """Issue 16 item 2: a release label sat on the mass line."""
    plan = load_fixture(plan_name)
    fig = plotting.mass(plan)
    ax = fig.axes[0]
    line = ax.lines[0]
    x, y = (np.asarray(v, float) for v in line.get_data())
    # the staircase densified: 40 points per drawn segment
    f = np.linspace(0.0, 1.0, 40)
    xs = (x[:-1, None] + (x[1:] - x[:-1])[:, None] * f).ravel()
    ys = (y[:-1, None] + (y[1:] - y[:-1])[:, None] * f).ravel()
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    names = [p.name for p in plan.scenario.payloads]
    for box in _release_label_boxes(fig, ax, names):
        hit = (
            (pts[:, 0] > box.x0 + 1)
            & (pts[:, 0] < box.x1 - 1)
            & (pts[:, 1] > box.y0 + 1)
            & (pts[:, 1] < box.y1 - 1)
        )
        assert not hit.any(), (plan_name, box, pts[hit][:3])


def test_planes_map_of_an_sso_rideshare(sso):
    fig = plotting.planes(sso)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("RAAN relative to the drop-off plane (deg)")
    assert ax.get_ylabel() == "Mean altitude a - R_E (km)"
    assert "planes" in ax.get_title()
    # a sun-synchronous drop-off: the node also reads as LTAN on a top axis, in hours
    tops = [child for child in ax.get_children() if type(child).__name__ == "SecondaryAxis"]
    assert len(tops) == 1 and "LTAN (h)" in tops[0].get_xlabel()
    # the tug's line, and drift runs at the drift altitude only
    tug_x, tug_y = ax.lines[0].get_data()
    drift_alts = {
        round(ph.a_km - 6378.137, 3) for leg in sso.legs for ph in leg.phases if ph.kind == "drift"
    }
    assert drift_alts
    # every delivered payload is labelled once in the map
    text = "\n".join(t.get_text() for t in ax.texts)
    for leg in sso.legs:
        if leg.delivery:
            assert text.count(leg.delivery.payload) == 1, leg.delivery.payload
    # releases sit where the tug is: the node of the release orbit relative to the reference
    assert np.nanmax(np.abs(np.asarray(tug_x, float))) <= 180.0
    assert np.nanmin(np.asarray(tug_y, float)) > 0.0


def test_planes_release_markers_sit_on_the_target_planes(sso):
    """With sun-synchronous targets every target plane turns with the drop-off plane, so the
    relative node of a release equals the target's relative node at the epoch."""
    import math

    from otvplan.flight import trajectory as tr

    fig = plotting.planes(sso)
    ax = fig.axes[0]
    s0 = tr.initial_state(sso.scenario)
    for p in sso.scenario.payloads:
        if p.target.raan_rad is None:
            continue
        rel = math.degrees(float(tr.wrap_pi(p.target.raan_rad - s0.raan_rad)))
        markers = [
            ln
            for ln in ax.lines
            if ln.get_marker() == "v"
            and abs(float(ln.get_ydata()[0]) - (p.target.a_km - 6378.137)) < 2.0
        ]
        assert any(abs(float(m.get_xdata()[0]) - rel) < 0.2 for m in markers), p.name


def test_planes_map_without_nodes_is_inclination_against_altitude():
    """A plan whose targets have no node to reach (free RAAN) maps inclination instead."""
    plan = load_fixture("minimal")
    free = all(p.target.raan_rad is None for p in plan.scenario.payloads)
    fig = plotting.planes(plan)
    ax = fig.axes[0]
    if free:
        assert ax.get_xlabel() == "Inclination (deg)"
    else:
        assert ax.get_xlabel().startswith("RAAN relative to the drop-off plane (deg)")
    assert ax.get_ylabel() == "Mean altitude a - R_E (km)"


@pytest.mark.parametrize("name", ["planes", "elements", "mass"])
def test_figures_with_placed_labels_are_reproducible(sso, name):
    make = plotting.FIGURE_FUNCTIONS[name]
    fig = make(sso)
    for fmt in ("png", "svg"):
        assert plotting.figure_bytes(fig, fmt) == plotting.figure_bytes(make(sso), fmt), fmt


def test_constant_elements_are_not_drawn_as_rounding_noise(sso):
    """A constant inclination (a constellation plane) was drawn with a "1e-8+5.3e1" offset
    and rounding noise filling the panel: plain ticks and at least 0.1 deg of span."""
    import dataclasses
    import math

    def flat_orbit(o, k):
        return dataclasses.replace(o, inc_rad=1.7 + 1e-9 * (k % 3))

    legs = []
    for leg in sso.legs:  # every orbit of the plan at one inclination, but for 1e-9 rad
        burns = tuple(
            dataclasses.replace(b, orbit_after=flat_orbit(b.orbit_after, k)) if b.orbit_after else b
            for k, b in enumerate(leg.burns)
        )
        delivery = leg.delivery and dataclasses.replace(
            leg.delivery, orbit=flat_orbit(leg.delivery.orbit, 1)
        )
        legs.append(dataclasses.replace(leg, burns=burns, delivery=delivery))
    scenario = dataclasses.replace(
        sso.scenario,
        dropoff=dataclasses.replace(sso.scenario.dropoff, inc_rad=1.7, sso=False, ltan_h=None),
    )
    flat = dataclasses.replace(sso, legs=tuple(legs), scenario=scenario)
    incs = [
        math.degrees(b.orbit_after.inc_rad) for leg in flat.legs for b in leg.burns if b.orbit_after
    ]
    assert max(incs) - min(incs) < 1e-6
    fig = plotting.elements(flat)
    ax_inc = fig.axes[1]
    lo, hi = ax_inc.get_ylim()
    assert hi - lo >= 0.1 - 1e-12
    assert ax_inc.yaxis.get_major_formatter().get_offset() == ""


def test_waterfall_of_a_partial_plan_does_not_call_its_leftover_a_margin(sso):
    """Issue 16 item 2: an infeasible plan showed a delta-v "margin" as if the mission closed."""
    import dataclasses

    partial = dataclasses.replace(
        sso, feasible=False, undelivered=("extra-sat",), shortfall_propellant_kg=42.0
    )
    ax = plotting.dv_waterfall(partial).axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "margin" not in ticks and ticks[-1] == "left after\nthe partial\nplan"
    notes = [t.get_text() for t in ax.texts if t.get_text().startswith("NOT FEASIBLE")]
    assert notes == [
        "NOT FEASIBLE: extra-sat not delivered; the whole manifest lacks 42.0 kg of propellant"
    ]
    feasible_ticks = [t.get_text() for t in plotting.dv_waterfall(sso).axes[0].get_xticklabels()]
    assert feasible_ticks[-1] == "margin"
