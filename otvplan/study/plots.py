"""A study's figures and the names its table columns are shown with.

:func:`figures` draws, from a study's table: every case's propellant and duration, heat maps of
the metrics over a grid of two numeric axes, or a scatter matrix for other designs
(matplotlib's object API on an Agg canvas, imported only here, when a figure is made);
:func:`write_figures` writes them as PNG files. :func:`metric_label` and :func:`axis_label`
name a column as people read it, with its unit (``"Isp, engine main (s)"``).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

from otvplan.io.atomicio import ensure_dir, write_bytes
from otvplan.study.paths import AllItems, Named, PathError, parse_path
from otvplan.study.spec import Axis, Study

__all__ = ["METRIC_NAMES", "axis_label", "figures", "metric_label", "pareto_front", "write_figures"]

#: Figures earlier versions wrote into ``plots/`` (``pareto``: now ``cases``), removed when a
#: sweep writes its figures.
_RETIRED_PLOTS = ("pareto",)

_STATUS_STYLE = {
    "ok": ("#4e79a7", "o", "feasible"),
    "infeasible": ("#f28e2b", "x", "infeasible"),
    "bad-input": ("#e15759", "s", "bad input"),
    "error": ("#b07aa1", "D", "error"),
}


def _figure(width_in: float, height_in: float):
    """An empty figure on an Agg canvas (no pyplot: no global state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    """The figure as PNG bytes (110 dpi, deterministic metadata)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": "otvplan"})
    return buffer.getvalue()


def write_figures(study: Study, table, directory: Path) -> None:
    """Write each figure of :func:`figures` to ``directory/<name>.png`` (atomically), after
    removing the figures earlier versions wrote there."""
    ensure_dir(directory)
    for name in _RETIRED_PLOTS:
        try:
            (directory / f"{name}.png").unlink(missing_ok=True)
        except OSError:  # pragma: no cover - left as it is; the new figures still go in
            pass
    for name, fig in figures(study, table).items():
        write_bytes(directory / f"{name}.png", _png(fig))


def pareto_front(table) -> list[int]:
    """Row positions of the feasible cases that no other feasible case beats in both
    propellant used and duration, by increasing duration."""
    ok = (table["status"] == "ok").to_numpy(dtype=bool, na_value=False)
    duration = table["duration_d"].to_numpy(dtype=float, na_value=math.nan)
    propellant = table["propellant_used_kg"].to_numpy(dtype=float, na_value=math.nan)
    order = sorted(
        (
            i
            for i in range(len(table))
            if ok[i] and math.isfinite(duration[i]) and math.isfinite(propellant[i])
        ),
        key=lambda i: (duration[i], propellant[i]),
    )
    front: list[int] = []
    best = math.inf
    for i in order:
        if propellant[i] < best:
            front.append(i)
            best = propellant[i]
    return front


def figures(study: Study, table) -> dict:
    """The study's figures (matplotlib ``Figure`` objects, Agg canvas, no pyplot).

    ``cases``: propellant used against mission duration, one point per case, marked by status
    (feasible, infeasible: the partial plan's numbers, ...). The cases are different designs,
    not alternatives of one mission, so no trade-off front is drawn through them.
    ``heatmap_<column>``: for a grid of two numeric axes, the metric on the grid: one cell per
    sampled pair of values (ticks at the sampled values, nothing drawn beyond them), the value
    written in each cell of a small grid, contours on a large one, infeasible cells marked.
    ``scatter_matrix``: for other designs, every pair of numeric axes and metrics, coloured by
    status. Titles and axes use names with units (:func:`metric_label`, :func:`axis_label`).
    ``table`` must hold the ``propellant_used`` and ``duration`` metrics for the ``cases``
    figure (``sweep`` draws from all metrics).
    """
    out = {}
    if {"propellant_used_kg", "duration_d"} <= set(table.columns):
        out["cases"] = _cases_figure(study, table)
    numeric = [a for a in study.axes if a.numeric]
    if study.design.kind == "grid" and len(study.axes) == 2 and len(numeric) == 2:
        for column in ("propellant_used_kg", "total_dv_m_s", "duration_d"):
            if column in table.columns:
                out[f"heatmap_{column}"] = _heatmap(study, table, column)
    else:
        out["scatter_matrix"] = _scatter_matrix(study, table)
    return out


#: Names of the metric columns for figure titles and axes (the unit is added).
METRIC_NAMES = {
    "total_dv_m_s": "Total delta-v",
    "propellant_used_kg": "Propellant used",
    "propellant_remaining_kg": "Propellant remaining",
    "propellant_margin_kg": "Propellant margin above reserve",
    "duration_d": "Mission duration",
    "initial_mass_kg": "Initial mass",
    "final_mass_kg": "Final mass",
    "feasible": "Feasible",
    "delivered": "Payloads delivered",
    "undelivered": "Payloads not delivered",
    "shortfall_propellant_kg": "Propellant shortfall",
    "shortfall_time_d": "Time shortfall",
    "legs": "Legs",
    "exact": "Proven optimal",
    "solve_time_s": "Solver time",
}

#: Names of scenario keys in axis labels (other keys: underscores read as spaces).
_KEY_NAMES = {
    "isp": "Isp",
    "ltan": "LTAN",
    "raan": "RAAN",
    "dropoff": "drop-off",
    "propellant": "propellant loaded",
    "max_duration": "duration limit",
    "argp": "argument of perigee",
    "e": "eccentricity",
}

#: Containers left out of axis labels (they add words, not meaning).
_SILENT_KEYS = ("constraints", "solver")


def metric_label(column: str, unit: str = "") -> str:
    """A metric column as people read it, with its unit: ``"Propellant used (kg)"``."""
    name = METRIC_NAMES.get(column, column)
    return f"{name} ({unit})" if unit else name


def axis_label(study: Study, axis: Axis) -> str:
    """An axis as people read it, with its unit: ``tug.engines[0].isp`` ->
    ``"Isp, engine main (s)"``, ``payloads[*].target.altitude`` -> ``"Target altitude, every
    payload (km)"``, ``tug.dry_mass`` -> ``"Tug dry mass (kg)"``."""
    try:
        parts = parse_path(axis.path)
    except PathError:  # pragma: no cover - a loaded study's paths parse
        return axis.column
    try:
        base = json.loads(study.base_json)
    except ValueError:  # pragma: no cover - base_json is written by the loader
        base = None
    node: Any = base
    words: list[str] = []
    which: list[str] = []
    key = ""
    for part in parts:
        if isinstance(part, str):
            key = part
            node = node.get(part) if isinstance(node, dict) else None
            if part not in _SILENT_KEYS:
                words.append(_KEY_NAMES.get(part, part.replace("_", " ")))
            continue
        # a list selection: the list's key names the items; the words so far are dropped
        words.clear()
        item_name = key[:-1] if key.endswith("s") else key
        item_name = _KEY_NAMES.get(item_name, item_name.replace("_", " "))
        if isinstance(part, AllItems):
            which.append(f"every {item_name}")
            node = node[0] if isinstance(node, list) and node else None
            continue
        if isinstance(part, Named):
            which.append(f"{item_name} {part.name}")
            node = (
                next(
                    (x for x in node if isinstance(x, dict) and str(x.get("name")) == part.name),
                    None,
                )
                if isinstance(node, list)
                else None
            )
            continue
        item = node[part] if isinstance(node, list) and part < len(node) else None
        name = item.get("name") if isinstance(item, dict) else None
        which.append(f"{item_name} {name}" if name is not None else f"{item_name} {part}")
        node = item
    text = " ".join(words) or axis.path
    text = text[:1].upper() + text[1:]
    if which:
        text += ", " + ", ".join(reversed(which))
    return f"{text} ({axis.unit})" if axis.unit and axis.numeric else text


def _label(study: Study, table, column: str) -> str:
    """Name with unit of a table column: an axis's or a metric's."""
    for axis in study.axes:
        if axis.column == column:
            return axis_label(study, axis)
    return metric_label(column, table.attrs.get("units", {}).get(column, ""))


def _value_text(value: float) -> str:
    return f"{value:.4g}"


def _cases_figure(study: Study, table):
    import numpy as np

    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot()
    shown = 0
    for status, (color, marker, label) in _STATUS_STYLE.items():
        rows = table[table["status"] == status]
        rows = rows[rows["duration_d"].notna() & rows["propellant_used_kg"].notna()]
        if len(rows):
            if status == "infeasible":
                label = "infeasible (the partial plan)"
            ax.scatter(
                rows["duration_d"],
                rows["propellant_used_kg"],
                s=22,
                c=color,
                marker=marker,
                alpha=0.75,
                label=f"{label} ({len(rows)})",
                linewidths=1.2,
            )
            shown += len(rows)
    numeric = [a for a in study.axes if a.numeric]
    if 0 < shown <= 12 and numeric:
        # few cases: each point says which case it is (its axis values)
        for _, row in table.iterrows():
            x, y = row["duration_d"], row["propellant_used_kg"]
            if x is None or y is None or not (np.isfinite(x) and np.isfinite(y)):
                continue
            text = ", ".join(
                f"{_value_text(float(row[a.column]))} {a.unit}".strip()
                for a in numeric
                if np.isfinite(float(row[a.column]))
            )
            ax.annotate(
                text, (x, y), xytext=(5, 3), textcoords="offset points", fontsize=7, color="#333333"
            )
        ax.margins(x=0.25, y=0.12)
    ax.set_xlabel(metric_label("duration_d", "d"))
    ax.set_ylabel(metric_label("propellant_used_kg", "kg"))
    ax.ticklabel_format(useOffset=False, axis="both")
    ax.set_title(
        f"{study.name}: propellant used and duration of each case ({len(table)} "
        "cases)\neach point is one design case (not a trade-off front of one mission)",
        fontsize=9,
    )
    ax.grid(True, alpha=0.35)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    return fig


def _ticks(ax, which: str, values: list[float]) -> None:
    """Ticks at the cell centres (index positions) labelled with the sampled values; at most
    about a dozen labelled."""
    step = max(1, math.ceil(len(values) / 12))
    positions = list(range(0, len(values), step))
    labels = [_value_text(values[i]) for i in positions]
    if which == "x":
        ax.set_xticks(positions, labels)
    else:
        ax.set_yticks(positions, labels)


def _heatmap(study: Study, table, column: str):
    import numpy as np
    import pandas as pd

    ax_x, ax_y = study.axes
    xs = sorted(set(table[ax_x.column].dropna()))
    ys = sorted(set(table[ax_y.column].dropna()))
    z = np.full((len(ys), len(xs)), np.nan)
    bad = np.zeros_like(z, dtype=bool)
    xi = {x: i for i, x in enumerate(xs)}
    yi = {y: i for i, y in enumerate(ys)}
    for x, y, value, status in zip(
        table[ax_x.column], table[ax_y.column], table[column], table["status"]
    ):
        if x in xi and y in yi:
            z[yi[y], xi[x]] = math.nan if pd.isna(value) else float(value)
            bad[yi[y], xi[x]] = status != "ok"
    fig = _figure(6.4, 4.8)
    ax = fig.add_subplot()
    # one cell per sampled pair, on index positions: cells end half a step past the first and
    # last sampled values, never at values that were not run. A case that is not feasible has
    # no colour (its numbers are those of a partial plan): a grey cell with a cross.
    ix, iy = np.arange(len(xs)), np.arange(len(ys))
    masked = np.ma.masked_invalid(np.where(bad, np.nan, z))
    ax.set_facecolor("#e4e4e4")
    mesh = ax.pcolormesh(ix, iy, masked, shading="nearest", cmap="viridis")
    label = _label(study, table, column)
    fig.colorbar(mesh, ax=ax, label=label)
    _ticks(ax, "x", xs)
    _ticks(ax, "y", ys)
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(-0.5, len(ys) - 0.5)
    ax.grid(False)
    if len(xs) <= 12 and len(ys) <= 16:
        # a grid small enough to read: the value in each cell (dark text on light cells)
        finite = masked.compressed()
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for (r, c), value in np.ndenumerate(z):
            if bad[r, c]:
                continue
            if not np.isfinite(value):
                ax.text(c, r, "no value", ha="center", va="center", fontsize=7, color="#555555")
                continue
            light = hi > lo and (value - lo) / (hi - lo) > 0.6
            ax.text(
                c,
                r,
                _value_text(float(value)),
                ha="center",
                va="center",
                fontsize=8 if z.size <= 36 else 7,
                color="black" if light else "white",
            )
    elif masked.count() >= 4 and float(masked.max() - masked.min()) > 0.0:
        lines = ax.contour(ix, iy, masked, levels=8, colors="white", linewidths=0.7)
        ax.clabel(lines, fontsize=7, fmt="%.4g")
    if bad.any():
        gy, gx = np.nonzero(bad)
        ax.scatter(
            gx,
            gy,
            marker="x",
            c="#e15759",
            s=50,
            linewidths=1.5,
            label="not feasible (no value drawn)",
            zorder=3,
        )
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize=8, frameon=False)
    ax.set_xlabel(axis_label(study, ax_x))
    ax.set_ylabel(axis_label(study, ax_y))
    ax.set_title(f"{study.name}: {label}")
    return fig


def _scatter_matrix(study: Study, table):
    import numpy as np

    columns = [a.column for a in study.axes if a.numeric]
    columns += [c for c in ("propellant_used_kg", "duration_d") if c in table.columns]
    columns = [c for c in columns if np.isfinite(table[c].astype(float)).any()][:6]
    n = max(len(columns), 1)
    size = min(1.9 * n, 11.0)
    fig = _figure(size, size)
    if not columns:
        fig.suptitle(f"{study.name}: no numeric values to plot")
        return fig
    grid = fig.subplots(n, n, squeeze=False)
    for i, cy in enumerate(columns):
        for j, cx in enumerate(columns):
            ax = grid[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                values = table[cx].astype(float)
                ax.hist(
                    values[np.isfinite(values)],
                    bins=min(20, max(5, len(values) // 10)),
                    color="#9c9c9c",
                )
            else:
                for status, (color, marker, label) in _STATUS_STYLE.items():
                    rows = table[table["status"] == status]
                    if len(rows):
                        ax.scatter(
                            rows[cx].astype(float),
                            rows[cy].astype(float),
                            s=6,
                            c=color,
                            marker=marker,
                            alpha=0.6,
                            linewidths=0.6,
                            label=label,
                        )
            if i == n - 1:
                ax.set_xlabel(_label(study, table, cx), fontsize=7)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != 0:
                ax.set_ylabel(_label(study, table, cy), fontsize=7)
            ax.tick_params(labelsize=6)
    handles, labels = grid[n - 1][0].get_legend_handles_labels() if n > 1 else ([], [])
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(f"{study.name}: {study.design.kind} design, {len(table)} cases")
    return fig
