"""The report of a :class:`~otvplan.model.FleetPlan`: several tugs on one launch.

Library use::

    from otvplan.planning.fleet import plan_fleet
    from otvplan.reporting.fleet_report import write_fleet_report
    fp = plan_fleet(scenario)
    paths = write_fleet_report(fp, "out/fleet")

:func:`write_fleet_report` writes into ``out_dir``:

- one sub-directory per tug flown, named by the tug (:func:`tug_directories`: the name
  reduced to ASCII letters, digits and ``_`` as the exports name files, made unique), holding
  that tug's full single-tug report (:func:`otvplan.reporting.report.write_report`: plan.json,
  CSV, report.md/html, figures and, by default here, its OEM/OPM/GMAT exports as a spacecraft
  of its own) with its verification when one is given;
- ``costs.csv`` (with the fleet's cost attribution): one row per payload.
- ``fleet.md`` and ``fleet.html`` (self-contained, figures embedded as SVG): the summary
  (objective, method, feasibility, exactness, total propellant, lower bound and gap, makespan,
  tugs flown, unassigned payloads, tugs needed, infeasibility, warnings), the assignment
  table (payload, mass, target, tug, delivery time, that tug's propellant), the per-tug table
  (start, payloads, delta-v, propellant, margin, end, optimality, verification, links to each
  tug's report) and the combined timeline of every tug's events;
- with ``figures``, the fleet figures of :mod:`otvplan.reporting.fleet_figures` as
  ``fig_fleet_timeline.png/.svg`` and ``fig_fleet_assignment.png/.svg``.

It does not write ``fleet.json`` (the command line does). Times in each tug's report are from
that tug's start (its plan's epoch); times in the fleet files are UTC, and the figures count
days from the fleet scenario's epoch.

Writing is all or nothing per set: each tug's report is one staged set
(:class:`otvplan.io.atomicio.StagedDirectory`, through ``write_report``), and the fleet's own
files are another, put in place last, so ``fleet.md`` never links a tug report that was not
written. Everything that can be refused (a plan beyond the report bounds, a verification for a
tug that does not fly) is refused, with an error, before anything is written; everything that
can be computed (figures, text) is computed before the first file is written. Files in
``out_dir`` that are not fleet report files (another tool's, a ``fleet.json``, a directory of
a tug that no longer flies) are left alone.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from otvplan import __version__
from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.flight.results import Verification
from otvplan.model import FleetPlan, OrbitSpec, TugPlan
from otvplan.reporting.costs import costs_blocks, costs_csv
from otvplan.reporting.exports import _gmat_name
from otvplan.reporting.planjson import check_report_bounds
from otvplan.reporting.render import (
    Bullets,
    Figure,
    Heading,
    Para,
    Table,
    _blocks_to_html,
    _blocks_to_markdown,
    _md_cell,
)
from otvplan.reporting.tables import _hours_text, _num, utc_text

if TYPE_CHECKING:  # annotations only: attribution imports the planner
    from otvplan.planning.attribution import Attribution

#: The fleet's own files (besides its figures, ``fig_<name>.png/.svg``).
FLEET_FILES = ("fleet.md", "fleet.html", "costs.csv")

#: The fleet figures in report order (see :mod:`otvplan.reporting.fleet_figures`).
FLEET_FIGURES = ("fleet_timeline", "fleet_assignment")

FLEET_CAPTIONS = {
    "fleet_timeline": "Every tug's legs against time from the fleet epoch, coloured by "
    "strategy; releases as triangles labelled by payload.",
    "fleet_assignment": "Which payload flies on which tug: each target orbit coloured by its "
    "tug, each tug's drop-off a star.",
}

#: Names Windows reserves for devices: a directory may not be called so.
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{k}" for k in range(1, 10)]
    + [f"LPT{k}" for k in range(1, 10)]
)


def is_fleet_file(name: str) -> bool:
    """Whether ``name`` (in the fleet's directory) is a file :func:`write_fleet_report`
    writes there, which a later fleet report may replace or remove."""
    if name in FLEET_FILES:
        return True
    stem, dot, ext = name.rpartition(".")
    return dot == "." and ext in ("png", "svg") and stem[4:] in FLEET_FIGURES and stem[:4] == "fig_"


def tug_directories(fleet: FleetPlan) -> dict[str, str]:
    """The sub-directory of each tug flown: ``{tug name: directory name}``.

    The name is reduced to ASCII letters, digits and ``_``, starting with a letter, at most 60
    characters (the rule of the GMAT file names, :func:`otvplan.reporting.exports._gmat_name`),
    so it means the same on every file system and holds no path separator, dot or blank. Two
    tugs whose names reduce alike (``otv-a``, ``otv a``; ``OTV``, ``otv`` on a case-blind
    file system) get ``_2``, ``_3``, ... in fleet order; a device name of Windows gets ``_``.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for t in fleet.tugs:
        if t.tug in out:
            raise ValueError(f"tug {t.tug!r} is listed twice in the fleet plan")
        base = _gmat_name(t.tug)
        if base.upper() in _RESERVED:
            base += "_"
        name, k = base, 1
        while name.casefold() in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name.casefold())
        out[t.tug] = name
    return out


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _tugs_available(fleet: FleetPlan) -> int:
    fl = fleet.scenario.fleet
    return len(fl.tugs) if fl is not None else len(fleet.tugs)


def target_text(orbit: OrbitSpec) -> str:
    """A target orbit on one line: altitude (perigee/apogee when elliptic), inclination (SSO),
    node (LTAN or RAAN, or any plane), slot."""
    if orbit.e >= 1e-3:
        parts = [
            f"{_num(orbit.perigee_altitude_km, 0)} x {_num(orbit.apogee_altitude_km, 0)} km",
        ]
    else:
        parts = [f"{_num(orbit.a_km - R_EARTH_KM, 1)} km"]
    parts.append(f"{_num(math.degrees(orbit.inc_rad), 2)} deg" + (" SSO" if orbit.sso else ""))
    if orbit.ltan_h is not None:
        parts.append(f"LTAN {_hours_text(orbit.ltan_h)[:5]}")
    elif orbit.raan_rad is not None:
        parts.append(f"RAAN {_num(math.degrees(orbit.raan_rad) % 360.0, 2)} deg")
    else:
        parts.append("any plane")
    if orbit.slot_rad is not None:
        parts.append(f"slot {_num(math.degrees(orbit.slot_rad) % 360.0, 1)} deg")
    return ", ".join(parts)


def _gap_text(t: TugPlan) -> str:
    p = t.plan
    if p.exact:
        return "exact"
    gap = p.optimality_gap
    return "heuristic" if gap is None else f"gap {_num(100.0 * gap, 2)} %"


def _verdict(v: Verification | None) -> str:
    if v is None:
        return "not verified"
    return "passed" if v.passed else "**FAILED**"


def _delivery_of(t: TugPlan) -> dict:
    """Payload name -> its Delivery in the tug's plan."""
    return {leg.delivery.payload: leg.delivery for leg in t.plan.legs if leg.delivery is not None}


def summary_rows(fleet: FleetPlan) -> list[tuple[str, str]]:
    """(quantity, value with unit) pairs of the fleet summary."""
    sc = fleet.scenario
    used = fleet.propellant_used_kg
    rows = [
        ("Status", "feasible" if fleet.feasible else "NOT FEASIBLE"),
        ("Objective", fleet.objective),
        ("Method", fleet.method),
        (
            "Assignment optimality",
            "exact: proven best over every assignment, every tug plan exact"
            if fleet.exact
            else "not proven optimal",
        ),
        ("Epoch (UTC)", sc.epoch.strftime("%Y-%m-%d %H:%M:%S")),
        ("Total propellant used", f"{_num(used, 2)} kg"),
        ("Total delta-v", f"{_num(fleet.total_dv_kms * 1000.0, 1)} m/s"),
    ]
    if fleet.lower_bound_propellant_kg is not None:
        rows.append(("Propellant lower bound", f"{_num(fleet.lower_bound_propellant_kg, 2)} kg"))
        gap = fleet.optimality_gap
        rows.append(("Optimality gap", "-" if gap is None else f"{_num(100.0 * gap, 3)} %"))
    rows += [
        ("Makespan", f"{_num(fleet.makespan_s / SECONDS_PER_DAY, 2)} d"),
        ("End of the last tug's mission (UTC)", _end_text(fleet)),
        ("Tugs flown", f"{len(fleet.tugs)} of {_tugs_available(fleet)}"),
        ("Payloads delivered", f"{len(fleet.delivered)} of {len(sc.payloads)}"),
        ("Unassigned payloads", ", ".join(fleet.unassigned) or "none"),
    ]
    if fleet.tugs_needed:
        rows.append(
            (
                "Tugs needed (copies of one tug alone that close the manifest)",
                "; ".join(
                    f"{name}: {'none closes it' if n is None else n}"
                    for name, n in fleet.tugs_needed
                ),
            )
        )
    return rows


def assignment_rows(fleet: FleetPlan) -> list[tuple[str, ...]]:
    """One row per payload of the manifest, in its order: payload, mass [kg], target, tug,
    delivery time (UTC), propellant of that tug [kg]."""
    # FleetPlan.assignment, with the TugPlan
    by_payload = {p.name: t for t in fleet.tugs for p in t.plan.scenario.payloads}
    rows: list[tuple[str, ...]] = []
    for p in fleet.scenario.payloads:
        t = by_payload.get(p.name)
        if t is None:
            rows.append((p.name, _num(p.mass_kg, 2), target_text(p.target), "unassigned", "-", "-"))
            continue
        d = _delivery_of(t).get(p.name)
        when = utc_text(t.plan, d.t_s) if d is not None else "not delivered"
        rows.append(
            (
                p.name,
                _num(p.mass_kg, 2),
                target_text(p.target),
                t.tug,
                when,
                _num(t.plan.propellant_used_kg, 2),
            )
        )
    return rows


def tug_rows(
    fleet: FleetPlan,
    verifications: Mapping[str, Verification] | None,
    links: Mapping[str, str] | None = None,
) -> tuple[tuple[str, ...], list[tuple[str, ...]], tuple[bool, ...]]:
    """The per-tug table: (headers, rows with a totals row last, numeric columns).

    ``links`` maps a tug to the text of its report column (a link placeholder); without it
    the column holds the directory name."""
    dirs = tug_directories(fleet)
    headers = [
        "Tug",
        "Start (UTC)",
        "Payloads",
        "Delta-v (m/s)",
        "Propellant (kg)",
        "Margin (kg)",
        "End (UTC)",
        "Optimality",
    ]
    numeric = [False, False, False, True, True, True, False, False]
    if verifications is not None:
        headers.append("Verification")
        numeric.append(False)
    headers.append("Report")
    numeric.append(False)
    rows = []
    for t in fleet.tugs:
        p = t.plan
        row = [
            t.tug,
            utc_text(p, 0.0),
            ", ".join(x.name for x in p.scenario.payloads) or "-",
            _num(p.total_dv_kms * 1000.0, 1),
            _num(p.propellant_used_kg, 2),
            _num(p.propellant_margin_kg, 2),
            utc_text(p, p.duration_s),
            _gap_text(t) + ("" if p.feasible else ", NOT FEASIBLE"),
        ]
        if verifications is not None:
            row.append(_verdict(verifications.get(t.tug)))
        row.append((links or {}).get(t.tug, dirs[t.tug] + "/"))
        rows.append(tuple(row))
    total = [
        "**total**",
        "",
        str(sum(len(t.plan.scenario.payloads) for t in fleet.tugs)),
        _num(fleet.total_dv_kms * 1000.0, 1),
        _num(fleet.propellant_used_kg, 2),
        _num(sum(t.plan.propellant_margin_kg for t in fleet.tugs), 2),
        _end_text(fleet),
        "",
    ]
    if verifications is not None:
        total.append(
            "all passed"
            if fleet.tugs
            and all(_verdict(verifications.get(t.tug)) == "passed" for t in fleet.tugs)
            else ""
        )
    total.append("")
    rows.append(tuple(total))
    return tuple(headers), rows, tuple(numeric)


def _end_text(fleet: FleetPlan) -> str:
    """UTC of the end of the last tug's mission ("-" when no tug flies)."""
    if not fleet.tugs:
        return "-"
    last = max(fleet.tugs, key=lambda t: t.end_s)
    return utc_text(last.plan, last.plan.duration_s)


def timeline_rows(fleet: FleetPlan) -> list[tuple[str, ...]]:
    """Every tug's events in time order: time (UTC), day from the fleet epoch, tug, event
    (start, each leg, each release, end)."""
    events = []  # (t from the fleet epoch, tug order, event order, row)
    for k, t in enumerate(fleet.tugs):
        p = t.plan

        def add(t_s: float, order: int, text: str, t=t, p=p, k=k) -> None:
            at = t.start_s + t_s
            events.append(
                (at, k, order, (utc_text(p, t_s), _num(at / SECONDS_PER_DAY, 3), t.tug, text))
            )

        add(0.0, 0, "starts from its drop-off orbit")
        for n, leg in enumerate(p.legs):
            add(
                leg.t_start_s,
                1 + 2 * n,
                f"leg {leg.index}: {leg.origin} \u2192 {leg.destination} ({leg.strategy}, "
                f"{_num(leg.dv_kms * 1000.0, 1)} m/s, {_num(leg.propellant_kg, 2)} kg)",
            )
            if leg.delivery is not None:
                add(
                    leg.delivery.t_s,
                    2 + 2 * n,
                    f"releases {leg.delivery.payload} ({_num(leg.delivery.mass_kg, 2)} kg)",
                )
        add(p.duration_s, 2 + 2 * len(p.legs), "end of its mission")
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return [e[3] for e in events]


def build_fleet_blocks(
    fleet: FleetPlan,
    verifications: Mapping[str, Verification] | None = None,
    figures: Sequence[tuple[str, str]] = (),
    links: Mapping[str, str] | None = None,
    costs: Attribution | None = None,
) -> list:
    """The fleet report as blocks (see :mod:`otvplan.reporting.render`); ``costs`` adds what
    each delivery costs (:func:`otvplan.planning.fleet_costs.attribute_fleet`)."""
    sc = fleet.scenario
    b: list = [Heading(1, f"Fleet plan: {sc.name}")]
    if sc.description:
        b.append(Para(sc.description.strip()))
    b.append(
        Para(
            f"{len(fleet.tugs)} of {_tugs_available(fleet)} tugs fly; each tug's own report "
            "(legs, burns, deliveries, figures, exports) is in its directory. Generated by "
            f"otvplan {__version__}. Times are UTC; days count from the fleet epoch."
        )
    )
    b.append(Heading(2, "Summary"))
    b.append(Table(("Quantity", "Value"), tuple(summary_rows(fleet))))
    if not fleet.feasible or fleet.infeasible_reasons:
        b.append(Heading(2, "Infeasibility"))
        items = [str(r) for r in fleet.infeasible_reasons]
        if fleet.unassigned:
            items.append("no tug carries: " + ", ".join(fleet.unassigned))
        for t in fleet.tugs:
            if not t.plan.feasible:
                items.append(
                    f"the plan of tug {t.tug} is not feasible"
                    + (
                        ": not delivered " + ", ".join(t.plan.undelivered)
                        if t.plan.undelivered
                        else ""
                    )
                )
        b.append(Bullets(tuple(items or ["not feasible (no reason recorded)"])))
    if fleet.warnings:
        b.append(Heading(2, "Warnings"))
        b.append(Bullets(tuple(str(w) for w in fleet.warnings)))
    if figures:
        b.append(Heading(2, "Figures"))
        b += [Figure(name, cap) for name, cap in figures]
    b.append(Heading(2, "Assignment"))
    b.append(
        Table(
            ("Payload", "Mass (kg)", "Target", "Tug", "Delivery (UTC)", "Tug propellant (kg)"),
            tuple(assignment_rows(fleet)),
            (False, True, False, False, False, True),
        )
    )
    b.append(Heading(2, "Tugs"))
    if fleet.tugs:
        headers, rows, numeric = tug_rows(fleet, verifications, links)
        b.append(Table(headers, tuple(rows), numeric))
    else:
        b.append(Para("No tug flies."))
    b.append(Heading(2, "Timeline"))
    if fleet.tugs:
        b.append(
            Table(
                ("Time (UTC)", "Day", "Tug", "Event"),
                tuple(timeline_rows(fleet)),
                (False, True, False, False),
            )
        )
    else:
        b.append(Para("No tug flies."))
    if costs is not None:
        b += costs_blocks(costs)
    return b


def _link_tokens(fleet: FleetPlan) -> dict[str, str]:
    """A placeholder per tug for its report link: plain text the renderers pass through as it
    is (letters and digits), unique to this call so that no name in the plan can fake it."""
    salt = secrets.token_hex(8)
    return {t.tug: f"otvplanlink{salt}n{k}x" for k, t in enumerate(fleet.tugs)}


def render_fleet_markdown(
    fleet: FleetPlan,
    verifications: Mapping[str, Verification] | None = None,
    figures: Sequence[str] = (),
    costs: Attribution | None = None,
) -> str:
    """``fleet.md``: the fleet report as Markdown, each tug's report linked as
    ``<directory>/report.md``; ``figures`` names fleet figures to link as ``fig_<name>.png``;
    ``costs`` adds what each delivery costs."""
    tokens = _link_tokens(fleet)
    dirs = tug_directories(fleet)
    figs = [(n, FLEET_CAPTIONS[n]) for n in figures if n in FLEET_CAPTIONS]
    text = _blocks_to_markdown(build_fleet_blocks(fleet, verifications, figs, tokens, costs))
    for tug, token in tokens.items():
        text = text.replace(token, f"[{_md_cell(dirs[tug])}/report.md]({dirs[tug]}/report.md)")
    return text


def render_fleet_html(
    fleet: FleetPlan,
    verifications: Mapping[str, Verification] | None = None,
    figure_data: Mapping[str, tuple[str, bytes]] | None = None,
    costs: Attribution | None = None,
) -> str:
    """``fleet.html``: the fleet report as one self-contained page (figures given as
    ``{name: (mime type, bytes)}`` are embedded as ``data:`` URIs), each tug's report linked as
    ``<directory>/report.html``."""
    import html

    tokens = _link_tokens(fleet)
    dirs = tug_directories(fleet)
    data = dict(figure_data or {})
    figs = [(n, FLEET_CAPTIONS[n]) for n in FLEET_FIGURES if n in data]
    text = _blocks_to_html(
        build_fleet_blocks(fleet, verifications, figs, tokens, costs),
        f"otvplan fleet plan: {fleet.scenario.name}",
        data,
    )
    for tug, token in tokens.items():
        href = html.escape(f"{dirs[tug]}/report.html", quote=True)
        text = text.replace(token, f'<a href="{href}">{html.escape(dirs[tug])}/report.html</a>')
    return text


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _check(fleet: FleetPlan, verifications: Mapping[str, Verification] | None) -> None:
    """Refuse, before anything is written, what the report cannot show faithfully."""
    if not isinstance(fleet, FleetPlan):
        raise TypeError(f"write_fleet_report takes a FleetPlan, not {type(fleet).__name__}")
    flown = {t.tug for t in fleet.tugs}
    if verifications is not None:
        unknown = sorted(str(k) for k in verifications if k not in flown)
        if unknown:
            raise ValueError(
                "verifications given for tugs that do not fly in this fleet plan: "
                + ", ".join(unknown)
                + (f" (the tugs flown: {', '.join(t.tug for t in fleet.tugs)})" if flown else "")
            )
        for k, v in verifications.items():
            if not isinstance(v, Verification):
                raise TypeError(
                    f"the verification of tug {k!r} is a {type(v).__name__}, not a Verification"
                )
    for t in fleet.tugs:
        check_report_bounds(t.plan)


def write_fleet_report(
    fp: FleetPlan,
    out_dir: str | os.PathLike,
    verifications: Mapping[str, Verification] | None = None,
    *,
    figures: bool = True,
    exports: bool = True,
    costs: Attribution | None = None,
) -> list[Path]:
    """Write the report of the fleet plan ``fp`` into ``out_dir`` (created if needed).

    Writes each tug's full report into ``out_dir/<tug directory>`` (:func:`tug_directories`)
    with :func:`otvplan.reporting.report.write_report` (its verification from
    ``verifications``, keyed by tug name; ``figures`` and ``exports`` passed on), then
    ``fleet.md``, ``fleet.html`` and, with ``figures``, ``fig_fleet_timeline`` and
    ``fig_fleet_assignment`` as PNG and SVG; with ``costs`` (the fleet's cost attribution)
    its section in the fleet pages and ``costs.csv``. Returns the paths written: the fleet's
    files first, then each tug's in fleet order.

    Raises ``ValueError`` for a verification of a tug that does not fly, and what
    ``write_report`` raises for a plan beyond the report bounds, before writing anything; a
    file-system fault raises :class:`otvplan.errors.OutputError`. Each set (a tug's report,
    the fleet's files) is put in place whole or not at all; the fleet's files come last.
    """
    from otvplan.io.atomicio import StagedDirectory
    from otvplan.reporting.report import write_report

    _check(fp, verifications)
    out = Path(out_dir)
    dirs = tug_directories(fp)

    # everything computed first: a failing figure writes nothing
    figure_files: dict[str, tuple[bytes, bytes]] = {}
    if figures:
        from otvplan.reporting import fleet_figures, plotting

        for name in FLEET_FIGURES:
            fig = fleet_figures.FIGURE_FUNCTIONS[name](fp)
            figure_files[name] = (
                plotting.figure_bytes(fig, "png"),
                plotting.figure_bytes(fig, "svg"),
            )
    md = render_fleet_markdown(fp, verifications, tuple(figure_files), costs)
    page = render_fleet_html(
        fp,
        verifications,
        {n: ("image/svg+xml", svg) for n, (_, svg) in figure_files.items()},
        costs,
    )

    tug_paths: list[Path] = []
    for t in fp.tugs:
        tug_paths += write_report(
            t.plan,
            out / dirs[t.tug],
            verifications.get(t.tug) if verifications else None,
            figures=figures,
            exports=exports,
        )

    with StagedDirectory(out, managed=is_fleet_file) as stage:
        paths = [stage.write_text("fleet.md", md), stage.write_text("fleet.html", page)]
        if costs is not None:
            paths.append(stage.write_text("costs.csv", costs_csv(costs)))
        for name, (png, svg) in figure_files.items():
            paths.append(stage.write_bytes(f"fig_{name}.png", png))
            paths.append(stage.write_bytes(f"fig_{name}.svg", svg))
    return paths + tug_paths


__all__ = [
    "FLEET_CAPTIONS",
    "FLEET_FIGURES",
    "FLEET_FILES",
    "assignment_rows",
    "build_fleet_blocks",
    "is_fleet_file",
    "render_fleet_html",
    "render_fleet_markdown",
    "summary_rows",
    "target_text",
    "timeline_rows",
    "tug_directories",
    "tug_rows",
    "write_fleet_report",
]
