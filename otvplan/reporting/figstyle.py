"""The house style shared by every figure of :mod:`otvplan.reporting.plotting`.

rcParams, colours (a fixed colour per phase kind and per payload, the same in every figure),
the figure factory (object API on an Agg canvas, no pyplot), the layout steps that make saved
bytes reproducible, and label placement that keeps release labels inside the axes and clear of
each other. matplotlib is imported inside the functions, when a figure is made.
"""

from __future__ import annotations

#: rcParams applied while a figure is built and saved (the user's other settings still apply).
RC = {
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "svg.hashsalt": "otvplan",
    "svg.fonttype": "path",
    "savefig.dpi": 110,
}

#: Colours of the phase kinds in the timeline.
PHASE_COLORS = {
    "wait": "#b8b8b8",
    "coast": "#d9d9d9",
    "transfer": "#f28e2b",
    "drift": "#4e79a7",
    "phasing": "#af7aa1",
    "spiral": "#59a14f",
    "separation": "#edc948",
}

_PAYLOAD_CMAP = "tab10"


def _rc():
    import matplotlib

    return matplotlib.rc_context(RC)


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _payload_colors(plan) -> dict:
    """A fixed colour per payload, in scenario order (same in every figure)."""
    import matplotlib

    cmap = matplotlib.colormaps[_PAYLOAD_CMAP if len(plan.scenario.payloads) <= 10 else "tab20"]
    n = cmap.N
    return {p.name: cmap(k % n) for k, p in enumerate(plan.scenario.payloads)}


def _freeze_layout(fig):
    """Run the constrained layout once, then fix it.

    Constrained layout starts from the current positions, so every draw of a figure moves the
    axes by a little (0.1 of the figure on the first draw, then ~1e-7); each save of the same
    figure would give different bytes, and the PNG and SVG slightly different layouts. One
    layout pass followed by a fixed layout makes every save identical (and costs one pass,
    not one per save)."""
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return fig


def _texts_out_of_layout(fig) -> None:
    """Keep data-placed labels out of the constrained layout: otherwise the layout moves the
    axes, the labels move with them and repeated saves of one figure differ by a pixel."""
    for ax in fig.axes:
        for text in ax.texts:
            text.set_in_layout(False)


def _days_label(plan) -> str:
    epoch = plan.scenario.epoch.strftime("%Y-%m-%d %H:%M:%S")
    return f"Time since epoch {epoch} UTC (d)"


def _title(plan, what: str) -> str:
    status = "" if plan.feasible else " (NOT FEASIBLE: partial plan)"
    return f"{plan.scenario.name}: {what}{status}"


def _leg_label(leg) -> str:
    dest = leg.destination
    return f"L{leg.index} {leg.origin} \u2192 {dest}"


#: The light box behind labels placed on data (releases): lines under it stay visible.
_LABEL_BOX = {"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}


def _readable_span(ax, minimum: float) -> None:
    """Plain tick labels (no "1e-8+5.3e1" offset) and a y-range of at least ``minimum``: a
    constant inclination otherwise fills the panel with rounding noise."""
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    lo, hi = ax.get_ylim()
    if hi - lo < minimum:
        mid = 0.5 * (lo + hi)
        ax.set_ylim(mid - 0.5 * minimum, mid + 0.5 * minimum)


def _place_labels(fig, ax, labels) -> None:
    """Annotate ``ax`` with ``labels``, each ``(text, candidates)`` where a candidate is
    ``(xy, (dx, dy) offset in points, ha, va)``, in order of preference: the first candidate
    whose box lies inside the axes and clear of the labels placed before is used (the first
    one if none is). Lays the figure out once first, so boxes are measured where they land."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    inside = ax.bbox
    placed: list = []
    for text, candidates in labels:
        chosen = None
        for xy, offset, ha, va in candidates:
            ann = ax.annotate(
                text,
                xy,
                xytext=offset,
                textcoords="offset points",
                fontsize=7,
                ha=ha,
                va=va,
                linespacing=1.25,
                bbox=_LABEL_BOX,
            )
            box = ann.get_window_extent(renderer)
            fits = (
                inside.x0 - 1 <= box.x0
                and box.x1 <= inside.x1 + 1
                and inside.y0 - 1 <= box.y0
                and box.y1 <= inside.y1 + 1
            )
            if fits and not any(box.overlaps(other) for other in placed):
                chosen = (ann, box)
                break
            ann.remove()
        if chosen is None:
            xy, offset, ha, va = candidates[0]
            ann = ax.annotate(
                text,
                xy,
                xytext=offset,
                textcoords="offset points",
                fontsize=7,
                ha=ha,
                va=va,
                linespacing=1.25,
                bbox=_LABEL_BOX,
            )
            chosen = (ann, ann.get_window_extent(renderer))
        placed.append(chosen[1])


def _release_groups(items, span_s: float, gap: float = 0.03) -> list[list]:
    """``items`` ((t_s, ...) sorted by time) in groups whose consecutive times are less than
    ``gap`` of the mission span apart: releases a figure cannot tell apart get one label."""
    groups: list[list] = []
    for item in sorted(items, key=lambda x: x[0]):
        if not groups or item[0] - groups[-1][-1][0] > gap * span_s:
            groups.append([])
        groups[-1].append(item)
    return groups
