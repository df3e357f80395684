"""The report as one list of blocks, rendered as Markdown and as self-contained HTML.

:func:`build_blocks` turns a plan (and optionally its verification) into headings,
paragraphs, bullet lists, tables and figures; :func:`render_markdown` and :func:`render_html`
render that one list, so the two documents always say the same thing. Text that comes from
the plan (names, notes) is escaped so that it shows as written and does nothing else.
:mod:`otvplan.reporting.report` re-exports the public names.
"""

from __future__ import annotations

import html as _html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otvplan import __version__
from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.flight.results import Verification
from otvplan.model import Plan
from otvplan.reporting.tables import (
    _dropoff_text,
    _fmt_element,
    _num,
    _ok_text,
    delivery_rows,
    summary_rows,
    utc_text,
)

if TYPE_CHECKING:  # annotations only
    from otvplan.flight.refine import Refinement

# --------------------------------------------------------------------------------------------
# Blocks: one document, two renderings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  #: right-align these columns


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str


def _verification_blocks(verification: Verification) -> list:
    """Blocks for a verification result: the verdict, one row per element of each delivery
    (:attr:`~otvplan.flight.verify.Verification.rows`; angles shown in degrees), the mass
    bookkeeping and the warnings. A cell shows "-" only where the record holds no value (the
    error and pass of an element the scenario leaves free)."""
    v = verification
    blocks: list = [Heading(2, "Verification")]
    text = f"Numerical propagation of the planned burns ({v.force_model}, {v.execution} execution)"
    text += ": **all checks passed**." if v.passed else ": **some checks FAILED**."
    blocks.append(Para(text))
    table = []
    for c in v.rows:
        scale, shown = (math.degrees(1.0), "deg") if c.unit == "rad" else (1.0, c.unit)

        def shown_value(x: float | None, scale: float = scale) -> float | None:
            return None if x is None else float(x) * scale

        digits = 5 if shown in ("-", "") else (3 if shown == "km" else 4)
        table.append(
            (
                c.payload,
                f"{c.element} ({shown})",
                _num(shown_value(c.target), digits) if c.target is not None else "free",
                _num(shown_value(c.planned), digits),
                _num(shown_value(c.achieved), digits),
                _num(shown_value(c.error), digits),
                _num(shown_value(c.tolerance), digits),
                _ok_text(c.passed) if c.checked else "-",
                c.note,
            )
        )
    if table:
        blocks.append(
            Table(
                (
                    "Payload",
                    "Element",
                    "Target",
                    "Planned",
                    "Propagated",
                    "Error",
                    "Tolerance",
                    "Pass",
                    "Note",
                ),
                tuple(table),
                (False, False, True, True, True, True, True, False, False),
            )
        )
    mass = v.mass
    items = [
        f"{label}: {_num(value, 3)} kg"
        for label, value in (
            ("propellant (plan)", mass.plan_propellant_kg),
            ("propellant (propagated)", mass.propagated_propellant_kg),
            ("final mass (plan)", mass.final_mass_plan_kg),
            ("final mass (propagated)", mass.final_mass_propagated_kg),
            ("largest mass-chain error", mass.max_chain_error_kg),
        )
    ]
    items.append("mass bookkeeping: " + ("consistent" if mass.passed else "INCONSISTENT"))
    items.extend(mass.notes)
    blocks.append(Bullets(tuple(items)))
    if v.warnings:
        blocks.append(Para("Verification warnings:"))
        blocks.append(Bullets(tuple(v.warnings)))
    return blocks


def _refinement_blocks(plan: Plan, refinement: Refinement | None) -> list:
    """Blocks for refined burns (:mod:`otvplan.flight.refine`): each burn's planned and refined
    epoch and delta-v, and the cost of flying the real dynamics. For a plan read back from a
    refined plan.json (no record of the burns before), one sentence from its statistics."""
    if refinement is None:
        stats = dict(plan.solver_stats)
        if stats.get("refined") != 1.0:
            return []
        return [
            Para(
                "These burns are flight-ready: refined against the numerical propagator "
                "(otvplan.flight.refine) so that, flown as written, they deliver; the "
                "refinement changed the total delta-v by "
                f"{_num(stats.get('refine_dv_added_m_s'), 3)} m/s."
            )
        ]
    r = refinement
    if r.plan != plan:
        raise ValueError("the refinement is of another plan: report refinement.plan with it")
    rows = []
    for x in r.burns:
        rows.append(
            (
                f"{x.leg}",
                x.label,
                utc_text(plan, x.refined_t_s),
                _num(x.shift_s, 2),
                _num(x.planned_dv_kms * 1000.0, 3),
                _num(x.refined_dv_kms * 1000.0, 3),
                _num(x.dv_added_kms * 1000.0, 3),
                _num(x.correction_kms * 1000.0, 3),
                "low-thrust arc, as planned" if x.low_thrust else (x.trimmed or "-"),
            )
        )
    rows.append(
        (
            "",
            "**Total**",
            "",
            _num(r.max_shift_s, 2) + " (largest)",
            _num(r.planned_dv_kms * 1000.0, 3),
            _num(r.refined_dv_kms * 1000.0, 3),
            _num(r.dv_added_kms * 1000.0, 3),
            _num(r.max_correction_kms * 1000.0, 3) + " (largest)",
            "",
        )
    )
    blocks: list = [
        Heading(2, "Refined burns"),
        Para(
            f"The burns above are flight-ready: each impulsive burn was refined against the "
            f"numerical propagator ({r.force_model}) so that, flown exactly as written, it fires "
            "at its planned place in the orbit and leaves the tug on its planned mean orbit "
            "(mean a, and i for plane changes near a node). Planned: the solver's burn, sized on "
            "mean elements. Correction: |refined - planned| delta-v vector. The refinement "
            f"changed the total delta-v by {_num(r.dv_added_kms * 1000.0, 3)} m/s and the "
            f"propellant by {_num(r.propellant_added_kg, 3)} kg."
        ),
    ]
    if not r.converged:
        blocks.append(
            Para(
                "**Some burns could not be refined within the trim limits** (the "
                "plan is inconsistent there):"
            )
        )
        blocks.append(Bullets(tuple(r.notes)))
    blocks.append(
        Table(
            (
                "Leg",
                "Burn",
                "Epoch (UTC)",
                "Shift (s)",
                "Planned dv (m/s)",
                "Refined dv (m/s)",
                "Added (m/s)",
                "Correction (m/s)",
                "Trimmed",
            ),
            tuple(rows),
            (True, False, False) + (True,) * 5 + (False,),
        )
    )
    return blocks


def build_blocks(
    plan: Plan,
    verification: Verification | None = None,
    figures: Sequence[tuple[str, str]] = (),
    refinement: Refinement | None = None,
) -> list:
    """The report as a list of blocks (headings, paragraphs, bullet lists, tables, figures).

    ``figures`` is a sequence of ``(name, caption)`` to place after the summary;
    ``refinement`` (:func:`otvplan.flight.refine.refinement`, whose ``plan`` is ``plan``) adds
    the planned against refined burns after the burns table.
    """
    sc = plan.scenario
    b: list = [Heading(1, f"Mission plan: {sc.name}")]
    if sc.description:
        b.append(Para(sc.description.strip()))
    b.append(
        Para(
            f"Drop-off orbit: {_dropoff_text(plan)}. Generated by otvplan {__version__}. "
            "Elements are mean elements (otvplan's secular J2 model); times are UTC."
        )
    )
    b.append(Heading(2, "Summary"))
    b.append(Table(("Quantity", "Value"), tuple(summary_rows(plan))))
    if not plan.feasible:
        b.append(Heading(2, "Infeasibility"))
        items = [str(r) for r in plan.infeasible_reasons]
        if plan.shortfall_propellant_kg:
            items.append(f"propellant shortfall: {_num(plan.shortfall_propellant_kg, 2)} kg")
        if plan.shortfall_time_s:
            items.append(f"time shortfall: {_num(plan.shortfall_time_s / SECONDS_PER_DAY, 2)} d")
        if plan.undelivered:
            items.append("not delivered by this partial plan: " + ", ".join(plan.undelivered))
        b.append(
            Para(
                "Not every payload can be delivered within the constraints. The legs below "
                "are the best partial plan."
            )
        )
        b.append(Bullets(tuple(items) or ("no reason recorded",)))
    if plan.warnings:
        b.append(Heading(2, "Warnings"))
        b.append(Bullets(tuple(str(w) for w in plan.warnings)))
    for name, caption in figures:
        b.append(Figure(name, caption))
    b.append(Heading(2, "Legs"))
    legs = []
    for leg, r in zip(plan.legs, plan.leg_rows()):
        legs.append(
            (
                str(r.leg),
                r.origin,
                r.destination,
                r.strategy,
                utc_text(plan, leg.t_start_s),
                utc_text(plan, leg.t_end_s),
                _num(r.duration_d, 3),
                _num(r.dv_m_s, 1),
                _num(r.propellant_kg, 2),
                _num(r.mass_before_kg, 2),
                _num(r.mass_after_kg, 2),
            )
        )
    if legs:
        legs.append(
            (
                "",
                "**Total**",
                "",
                "",
                "",
                "",
                _num(plan.duration_s / SECONDS_PER_DAY, 3),
                _num(plan.total_dv_kms * 1000.0, 1),
                _num(plan.propellant_used_kg, 2),
                "",
                _num(plan.final_mass_kg, 2),
            )
        )
        b.append(
            Table(
                (
                    "Leg",
                    "From",
                    "To",
                    "Strategy",
                    "Start (UTC)",
                    "End (UTC)",
                    "Duration (d)",
                    "Delta-v (m/s)",
                    "Propellant (kg)",
                    "Mass before (kg)",
                    "Mass after (kg)",
                ),
                tuple(legs),
                (True,) + (False,) * 5 + (True,) * 5,
            )
        )
    else:
        b.append(Para("The plan has no legs."))
    notes = [f"Leg {leg.index}: " + "; ".join(leg.notes) for leg in plan.legs if leg.notes]
    if notes:
        b.append(Bullets(tuple(notes)))
    burns = []
    for br in plan.burn_rows():
        burns.append(
            (
                f"{br.leg}.{br.burn}",
                br.label,
                utc_text(plan, br.t_s),
                _num(br.dv_m_s, 2),
                _num(br.dv_t_m_s, 2),
                _num(br.dv_n_m_s, 2),
                _num(br.dv_w_m_s, 2),
                _num(br.duration_s, 0)
                + (" (low thrust)" if br.low_thrust else "")
                + ("" if br.impulsive_ok else " (long)"),
                _num(br.propellant_kg, 3),
                _num(br.mass_after_kg, 2),
                _num(None if br.after_a_km is None else br.after_a_km - R_EARTH_KM, 2),
                _num(br.after_e, 5),
                _num(br.after_i_deg, 4),
                _num(br.after_raan_deg, 4),
            )
        )
    if burns:
        b.append(Heading(2, "Burns"))
        b.append(
            Para(
                "Delta-v components in the frame of the orbit before the burn: T along the "
                "velocity, W along the angular momentum (orbit normal), N = W x T (towards "
                "the Earth for a circular orbit). Orbit after: planned mean orbit, altitude "
                "= a - R_E (R_E = 6378.137 km)."
            )
        )
        b.append(
            Table(
                (
                    "Burn",
                    "Label",
                    "Epoch (UTC)",
                    "Delta-v (m/s)",
                    "dv T (m/s)",
                    "dv N (m/s)",
                    "dv W (m/s)",
                    "Duration (s)",
                    "Propellant (kg)",
                    "Mass after (kg)",
                    "Alt. after (km)",
                    "e after",
                    "i after (deg)",
                    "RAAN after (deg)",
                ),
                tuple(burns),
                (False, False, False) + (True,) * 11,
            )
        )
    b.extend(_refinement_blocks(plan, refinement))
    b.append(Heading(2, "Deliveries"))
    deliveries = delivery_rows(plan)
    if not deliveries:
        b.append(Para("No payload is delivered."))
    mass_of = {p.name: p.mass_kg for p in sc.payloads}
    when = {leg.delivery.payload: leg.delivery.t_s for leg in plan.legs if leg.delivery}
    verified = _verified_errors(verification)
    if verified and verification is not None:
        b.append(
            Para(
                "Verified: the error of the mean orbit achieved when the plan is flown through "
                f"the numerical propagator ({verification.execution} execution), beside the "
                "planned one; the verification section below has the details."
            )
        )
    for payload, rows in deliveries:
        b.append(Heading(3, f"{payload}"))
        b.append(
            Para(
                f"Released {utc_text(plan, when[payload])} UTC "
                f"(day {_num(when[payload] / SECONDS_PER_DAY, 3)}), "
                f"{_num(mass_of.get(payload, float('nan')), 2)} kg. Targets that drift "
                "(RAAN, slot) are given at the release time."
            )
        )
        table = []
        checks = verified.get(payload, {})
        for name, unit, target, got, err, tol, ok in rows:
            row: tuple[str, ...]
            if unit == "h":
                row = (
                    f"{name} (hh:mm:ss)",
                    _fmt_element(unit, target),
                    _fmt_element(unit, got),
                    _num(err, 2) + " min" if err is not None else "-",
                    _num(tol, 2) + " min",
                    _ok_text(ok),
                )
            else:
                u = "" if unit == "-" else f" ({unit})"
                row = (
                    f"{name}{u}",
                    _fmt_element(unit, target),
                    _fmt_element(unit, got),
                    _fmt_element(unit, err) if err is not None else "-",
                    _fmt_element(unit, tol) if tol is not None else "-",
                    _ok_text(ok),
                )
            if verified:
                key = "raan" if unit == "h" else _ROW_ELEMENT.get(name, "")
                v_err, v_ok = checks.get(key, (None, None))
                if v_err is not None and unit == "h":  # RAAN error [deg] as LTAN minutes
                    text = _num(v_err / 15.0 * 60.0, 2) + " min"
                else:
                    text = _fmt_element(unit, v_err) if v_err is not None else "-"
                row = (*row, text, _ok_text(v_ok))
            table.append(row)
        header: tuple[str, ...] = (
            "Element",
            "Target",
            "Achieved (plan)",
            "Error",
            "Tolerance",
            "Within",
        )
        align: tuple[bool, ...] = (False, True, True, True, True, False)
        if verified:
            header += ("Error (verified)", "Within (verified)")
            align += (True, False)
        b.append(Table(header, tuple(table), align))
    if plan.undelivered:
        b.append(Para("Not delivered: " + ", ".join(plan.undelivered) + "."))
    if verification is not None:
        b.extend(_verification_blocks(verification))
    return b


#: The verification's element of each Deliveries row (LTAN is the RAAN in hours).
_ROW_ELEMENT = {
    "altitude a - R_E": "a",
    "eccentricity": "e",
    "inclination": "i",
    "RAAN": "raan",
    "slot (argument of latitude)": "slot",
}


def _verified_errors(verification: Verification | None) -> dict[str, dict[str, tuple]]:
    """Per payload and element (a, e, i, raan, slot): the verified error in display units
    (km, -, deg) and whether it is within tolerance (an equatorial target's longitude stands
    for its slot; LTAN rows show the RAAN's in minutes). Empty without a verification."""
    if verification is None:
        return {}
    out: dict[str, dict[str, tuple]] = {}
    for d in verification.deliveries:
        per = out.setdefault(d.payload, {})
        for c in d.checks:
            if c.error is None or not c.checked:
                per[c.element] = (None, None)
                continue
            err = c.error if c.unit in ("km", "-") else math.degrees(c.error)
            per[c.element] = (err, c.passed)
            if c.element == "longitude":
                per["slot"] = (err, c.passed)
    return out


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


#: Control characters, line and paragraph separators and bidirectional overrides: never
#: written as they are into Markdown or HTML (a newline would start a new block, an escape
#: sequence would drive a terminal showing the file).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

#: Characters that carry Markdown or HTML meaning inside a line, and what they become. ``*``
#: is kept: the blocks use ``**bold**`` on purpose, and emphasis cannot inject anything.
_MD_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "|": "\\|",
    }
)

#: A line start that Markdown reads as a block: heading, quote, list item, rule, setext line.
_MD_BLOCK_START = re.compile(r"^(\s*)(>|[#+\-=_~*]+(?=\s|$)|\d+[.)](?=\s|$))")


def _plain(text) -> str:
    """``text`` on one line: control characters shown as escapes, line breaks as spaces."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _md_cell(text) -> str:
    """Text from the plan as Markdown that shows it and does nothing else: one line, no raw
    HTML (``<script>`` becomes ``&lt;script&gt;``), no links, images or code spans, no
    table-cell breaks."""
    return _plain(text).translate(_MD_ESCAPES)


def _md_text(text) -> str:
    """:func:`_md_cell`, and no heading, quote or list marker at its start (for a block)."""
    return _MD_BLOCK_START.sub(lambda m: m[1] + "\\" + m[2], _md_cell(text))


def _blocks_to_markdown(blocks, figure_files: dict[str, str] | None = None) -> str:
    out: list[str] = []
    for blk in blocks:
        if isinstance(blk, Heading):
            out.append("#" * blk.level + " " + _md_text(blk.text))
        elif isinstance(blk, Para):
            out.append(_md_text(blk.text))
        elif isinstance(blk, Bullets):
            out.append("\n".join(f"- {_md_text(i)}" for i in blk.items))
        elif isinstance(blk, Table):
            num = blk.numeric or (False,) * len(blk.headers)
            lines = [
                "| " + " | ".join(_md_cell(h) for h in blk.headers) + " |",
                "|" + "|".join("---:" if n else "---" for n in num) + "|",
            ]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in blk.rows]
            out.append("\n".join(lines))
        elif isinstance(blk, Figure):
            target = (figure_files or {}).get(blk.name, f"fig_{blk.name}.png")
            out.append(f"![{blk.caption}]({target})\n\n*{blk.caption}*")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_markdown(
    plan: Plan, verification: Verification | None = None, figures: Sequence[str] = ()
) -> str:
    """The report as Markdown text.

    ``figures`` names figures (see :data:`otvplan.reporting.report.FIGURES`) to link as
    ``fig_<name>.png`` next to the Markdown file; by default none are linked.
    """
    caps = figure_captions(plan)
    return _blocks_to_markdown(
        build_blocks(plan, verification, [(n, caps[n]) for n in figures if n in caps])
    )


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:2em auto;max-width:1200px;padding:0 1em;color:#1b1f24;line-height:1.45}
h1{border-bottom:2px solid #335;padding-bottom:.2em}h2{margin-top:1.6em;color:#223}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #c8ccd2;padding:.25em .55em;vertical-align:top}
th{background:#eef1f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#f8f9fb}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #e2e5ea}
figcaption{font-size:.9em;color:#444}
""".strip()


def _inline_md(text: str) -> str:
    """HTML of a text with the only inline Markdown the blocks use: **bold**."""
    parts = _html.escape(_plain(text)).split("**")
    return "".join(f"<strong>{p}</strong>" if k % 2 else p for k, p in enumerate(parts))


def _blocks_to_html(blocks, title: str, figure_data: dict[str, tuple[str, bytes]]) -> str:
    import base64

    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    for blk in blocks:
        if isinstance(blk, Heading):
            out.append(f"<h{blk.level}>{_inline_md(blk.text)}</h{blk.level}>")
        elif isinstance(blk, Para):
            out.append(f"<p>{_inline_md(blk.text)}</p>")
        elif isinstance(blk, Bullets):
            out.append("<ul>" + "".join(f"<li>{_inline_md(i)}</li>" for i in blk.items) + "</ul>")
        elif isinstance(blk, Table):
            num = blk.numeric or (False,) * len(blk.headers)
            rows = ["<tr>" + "".join(f"<th>{_inline_md(h)}</th>" for h in blk.headers) + "</tr>"]
            for row in blk.rows:
                rows.append(
                    "<tr>"
                    + "".join(
                        f'<td class="n">{_inline_md(c)}</td>' if n else f"<td>{_inline_md(c)}</td>"
                        for c, n in zip(row, num)
                    )
                    + "</tr>"
                )
            out.append("<table>" + "".join(rows) + "</table>")
        elif isinstance(blk, Figure) and blk.name in figure_data:
            mime, data = figure_data[blk.name]
            src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            out.append(
                f'<figure><img src="{src}" alt="{_html.escape(blk.caption)}">'
                f"<figcaption>{_html.escape(blk.caption)}</figcaption></figure>"
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def figure_captions(plan: Plan) -> dict[str, str]:
    """Caption of each figure that applies to ``plan`` (the Pareto front only with
    alternatives to show)."""
    caps = {
        "timeline": "Timeline of the legs and their phases; burns as ticks, releases as triangles.",
        "elements": "Mean altitude, inclination and RAAN relative to each target plane versus "
        "time; releases marked.",
        "mass": "Tug mass and propellant on board versus time (steps at burns and releases).",
        "dv_waterfall": "Delta-v per leg against the delta-v available from the propellant.",
        "planes": _planes_caption(plan),
        "pareto": "Propellant-duration trade-off found by the solver, chosen plan marked.",
    }
    if not (plan.objective == "pareto" or len(plan.alternatives) > 1):
        caps.pop("pareto")
    return caps


def _planes_caption(plan: Plan) -> str:
    """Caption of the planes map, which is a node map when some target has a node to reach
    and an inclination map otherwise (as :func:`otvplan.reporting.plotting.planes` draws it)."""
    if any(
        p.target.raan_rad is not None and p.target.inc_rad >= math.radians(0.1)
        for p in plan.scenario.payloads
    ):
        ltan = " (LTAN for SSO)" if plan.scenario.dropoff.sso else ""
        return (
            "Node of the tug and of each target relative to the drop-off plane against "
            f"altitude{ltan}; drift runs, releases marked."
        )
    return "Inclination of the tug and of each target against altitude; releases marked."


def make_figures(plan: Plan) -> dict:
    """Every figure that applies to ``plan`` as ``{name: matplotlib Figure}``.

    Imports :mod:`otvplan.reporting.plotting` (and matplotlib) on call.
    """
    from otvplan.reporting import plotting

    return {name: plotting.FIGURE_FUNCTIONS[name](plan) for name in figure_captions(plan)}


def render_html(
    plan: Plan,
    verification: Verification | None = None,
    figures: dict | None = None,
    embed_figures: bool = True,
    image_format: str = "svg",
) -> str:
    """The report as one self-contained HTML page (no external files, scripts or fonts).

    Figures are embedded as ``data:`` URIs (``image_format`` ``"svg"`` or ``"png"``).
    ``figures`` may pass already-made matplotlib Figures (``{name: Figure}``), or rendered
    images (``{name: (mime type, bytes)}``); otherwise they are made here when
    ``embed_figures`` is true.
    """
    caps = figure_captions(plan)
    figure_data: dict[str, tuple[str, bytes]] = {}
    if embed_figures:
        if figures is None:
            figures = make_figures(plan)
        for name, fig in figures.items():
            if isinstance(fig, tuple):
                figure_data[name] = fig
            else:
                figure_data[name] = _render_figure(fig, image_format)
    blocks = build_blocks(plan, verification, [(n, caps[n]) for n in caps if n in figure_data])
    return _blocks_to_html(blocks, f"otvplan plan: {plan.scenario.name}", figure_data)


def _render_figure(fig, image_format: str) -> tuple[str, bytes]:
    from otvplan.reporting import plotting

    data = plotting.figure_bytes(fig, image_format)
    return ("image/svg+xml" if image_format == "svg" else "image/png"), data
