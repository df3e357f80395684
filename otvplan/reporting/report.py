"""Reports of a :class:`~otvplan.model.Plan`: JSON, CSV, Markdown and self-contained HTML.

Library use::

    from otvplan.reporting.report import write_report, render_markdown, render_html
    paths = write_report(plan, "out/")          # every file, written atomically
    text = render_markdown(plan)                # a string, e.g. for a notebook
    html = render_html(plan)                    # one file, figures embedded

Files written by :func:`write_report`:

- ``plan.json`` - the whole plan (:func:`otvplan.model.to_data`) with a format version;
  :func:`plan_from_json` reads it back into an equal ``Plan``. Core units (km, km/s, s, rad, kg).
- ``legs.csv`` and ``burns.csv`` - one row per leg / per burn, units in the column names.
- ``costs.csv`` (with a cost attribution) - one row per payload, :mod:`otvplan.reporting.costs`.
- ``report.md`` and ``report.html`` - the same content: summary, totals and margins, legs,
  burns, deliveries (achieved versus target elements), warnings, infeasibility, and the
  verification when one is given. Times are UTC (scenario epoch + seconds).
- every figure of :mod:`otvplan.reporting.plotting` as ``fig_<name>.png`` and ``fig_<name>.svg``.

Markdown and HTML are rendered from one list of blocks (:func:`build_blocks`), so the two
always say the same thing. Display units: altitudes and semi-major axes in km, delta-v in m/s,
angles in degrees, LTAN in hours, masses in kg, durations in days (and s for burns).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from otvplan.flight.results import Verification
from otvplan.model import Plan
from otvplan.reporting.costs import costs_blocks, costs_csv
from otvplan.reporting.planjson import (
    MAX_PLAN_BURNS,
    MAX_PLAN_DEPTH,
    MAX_PLAN_FILE_BYTES,
    MAX_PLAN_ITEMS,
    MAX_PLAN_LEGS,
    MAX_PLAN_MASS_KG,
    MAX_PLAN_SECONDS,
    MAX_PLAN_TEXT,
    PLAN_FORMAT,
    PLAN_FORMAT_VERSION,
    check_report_bounds,
    plan_from_json,
    plan_to_json,
    read_plan_file,
    validate_plan_data,
)
from otvplan.reporting.render import (
    Bullets,
    Figure,
    Heading,
    Para,
    Table,
    _blocks_to_html,
    _blocks_to_markdown,
    build_blocks,
    figure_captions,
    make_figures,
    render_html,
    render_markdown,
)
from otvplan.reporting.tables import (
    BURN_COLUMNS,
    LEG_COLUMNS,
    burn_rows,
    burns_csv,
    delivery_rows,
    leg_rows,
    legs_csv,
    summary_rows,
    utc_of,
    utc_text,
)

if TYPE_CHECKING:  # annotations only
    from otvplan.flight.refine import Refinement
    from otvplan.planning.attribution import Attribution

#: Figure names in report order (see :mod:`otvplan.reporting.plotting`).
FIGURES = ("timeline", "elements", "mass", "dv_waterfall", "planes", "pareto")

#: Figures earlier versions wrote (``fig_orbits3d``, replaced by ``planes``): still report
#: files, so a report written over an older one removes them.
RETIRED_FIGURES = ("orbits3d",)

# --------------------------------------------------------------------------------------------
# Writing everything
# --------------------------------------------------------------------------------------------


#: Files of a report set other than the figures (``fig_<name>.png/.svg``).
REPORT_FILES = (
    "plan.json",
    "legs.csv",
    "burns.csv",
    "report.md",
    "report.html",
    "plan.oem",
    "plan.opm",
    "plan.script",
    "costs.csv",
)


def is_report_file(name: str) -> bool:
    """Whether ``name`` is one of the files :func:`write_report` writes for some plan (so an
    earlier report's copy may be replaced or removed); any other file is left alone."""
    if name in REPORT_FILES:
        return True
    stem, dot, ext = name.rpartition(".")
    return (
        dot == "."
        and ext in ("png", "svg")
        and stem.startswith("fig_")
        and stem[4:] in _figure_names()
    )


def _figure_names() -> set[str]:
    """Names of every figure a report can have (:data:`FIGURES`, the plotting module's) or
    had (:data:`RETIRED_FIGURES`)."""
    names = set(FIGURES) | set(RETIRED_FIGURES)
    try:
        from otvplan.reporting import plotting

        names |= set(getattr(plotting, "FIGURE_FUNCTIONS", {}))
    except ImportError:  # pragma: no cover - matplotlib missing: only FIGURES
        pass
    return names


def write_report(
    plan: Plan,
    out_dir: str | os.PathLike,
    verification: Verification | None = None,
    *,
    figures: bool = True,
    exports: bool = False,
    refinement: Refinement | None = None,
    costs: Attribution | None = None,
) -> list[Path]:
    """Write the full report of ``plan`` into ``out_dir`` (created if needed).

    Writes ``plan.json``, ``legs.csv``, ``burns.csv``, ``report.md``, ``report.html`` and, with
    ``figures`` (default), every figure as ``fig_<name>.png`` and ``fig_<name>.svg``. With
    ``exports`` also the CCSDS OEM (``plan.oem``) and OPM (``plan.opm``) and the GMAT script
    (``plan.script``) of :mod:`otvplan.reporting.exports`. Returns the paths written, in that order.
    ``refinement`` (:func:`otvplan.flight.refine.refinement` of the plan ``plan`` was refined
    from; ``plan`` is its ``plan``) adds the planned against refined burns to the report.
    ``costs`` (:func:`otvplan.planning.attribution.attribute` of the plan's scenario) adds the
    section "What each delivery costs" and ``costs.csv``.

    The set is all or nothing (:class:`otvplan.io.atomicio.StagedDirectory`): every file is first
    written into a hidden staging directory next to ``out_dir`` and the set is swapped in at the
    end, so ``out_dir`` holds this report or the previous one, never a mix; report files of an
    earlier run that this one does not write (a figure that no longer applies, exports) are
    removed, any other file in ``out_dir`` is left alone. A file-system fault raises
    :class:`otvplan.errors.OutputError` and leaves ``out_dir`` as it was.
    """
    from otvplan.io.atomicio import StagedDirectory

    check_report_bounds(plan)
    with StagedDirectory(out_dir, managed=is_report_file) as stage:
        paths = [
            stage.write_text("plan.json", plan_to_json(plan)),
            stage.write_text("legs.csv", legs_csv(plan)),
            stage.write_text("burns.csv", burns_csv(plan)),
        ]
        caps = figure_captions(plan)
        rendered: dict[str, tuple[str, bytes]] = {}
        fig_paths = []
        if figures:
            from otvplan.reporting import plotting

            for name, fig in make_figures(plan).items():
                png = plotting.figure_bytes(fig, "png")
                svg = plotting.figure_bytes(fig, "svg")
                fig_paths.append(stage.write_bytes(f"fig_{name}.png", png))
                fig_paths.append(stage.write_bytes(f"fig_{name}.svg", svg))
                rendered[name] = ("image/svg+xml", svg)
        md_figs = [(n, caps[n]) for n in caps if n in rendered]
        blocks = build_blocks(plan, verification, md_figs, refinement)
        if costs is not None:
            blocks += costs_blocks(costs)
            paths.append(stage.write_text("costs.csv", costs_csv(costs)))
        paths.append(stage.write_text("report.md", _blocks_to_markdown(blocks)))
        paths.append(
            stage.write_text(
                "report.html",
                _blocks_to_html(blocks, f"otvplan plan: {plan.scenario.name}", rendered),
            )
        )
        paths.extend(fig_paths)
        if exports:
            from otvplan.reporting import exports as ex

            paths.append(stage.write_text("plan.oem", ex.oem_text(plan)))
            paths.append(stage.write_text("plan.opm", ex.opm_text(plan)))
            paths.append(stage.write_text("plan.script", ex.gmat_script(plan)))
    return paths


__all__ = [
    "BURN_COLUMNS",
    "FIGURES",
    "LEG_COLUMNS",
    "MAX_PLAN_BURNS",
    "MAX_PLAN_DEPTH",
    "MAX_PLAN_FILE_BYTES",
    "MAX_PLAN_ITEMS",
    "MAX_PLAN_LEGS",
    "MAX_PLAN_MASS_KG",
    "MAX_PLAN_SECONDS",
    "MAX_PLAN_TEXT",
    "PLAN_FORMAT",
    "PLAN_FORMAT_VERSION",
    "REPORT_FILES",
    "RETIRED_FIGURES",
    "Bullets",
    "Figure",
    "Heading",
    "Para",
    "Table",
    "build_blocks",
    "burn_rows",
    "burns_csv",
    "check_report_bounds",
    "delivery_rows",
    "figure_captions",
    "is_report_file",
    "leg_rows",
    "legs_csv",
    "make_figures",
    "plan_from_json",
    "plan_to_json",
    "read_plan_file",
    "render_html",
    "render_markdown",
    "summary_rows",
    "utc_of",
    "utc_text",
    "validate_plan_data",
    "write_report",
]
