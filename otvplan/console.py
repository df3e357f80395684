"""Terminal output of the ``otvplan`` command: Rich tables fitted to the terminal, CSV and
JSON on standard output, messages on standard error, and the escaping that keeps whatever an
input file held on one printable line.

:mod:`otvplan.cli` parses the arguments and calls the library; this module prints what comes
back (the plan and verification tables, the progress line of a long solve, error lines). Rich
and the library's reporting helpers are imported inside the functions, so that
``otvplan --version`` and ``otvplan --help`` start fast.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
from typing import TYPE_CHECKING, cast

from otvplan.errors import OtvplanError, Problem

if TYPE_CHECKING:
    from rich.console import JustifyMethod


def rich_console(stderr: bool = False):
    """A Rich console that prints text as is: no markup (``payloads[2]`` stays), no wrapping."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True, emoji=False)


def echo(text: str = "") -> None:
    """Print a line on standard output."""
    rich_console().print(text)


def echo_err(text: str) -> None:
    """Print a line on standard error (messages, so that standard output stays data)."""
    rich_console(stderr=True).print(text)


#: Output formats of the plan, verify and sweep summaries.
FORMATS = ("table", "json", "csv")

#: Narrowest width a table is fitted to (a narrower terminal wraps it).
MIN_TABLE_WIDTH = 40

#: Width of tables written to a pipe or file when COLUMNS is not set: wide enough that no
#: column is dropped or folded (scripts and logs get the whole table).
PIPE_WIDTH = 150


def output_width() -> int | None:
    """Columns a table may use: ``COLUMNS`` when set (a positive number), else the terminal's
    width when standard output is a terminal, else None (a pipe or file: no limit)."""
    import shutil

    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(int(env), MIN_TABLE_WIDTH)
    try:
        if sys.stdout.isatty():
            return max(shutil.get_terminal_size().columns, MIN_TABLE_WIDTH)
    except (AttributeError, ValueError, OSError):
        pass
    return None


def fit_columns(
    columns: list[tuple[str, str, list[str]]], drop_order: tuple[str, ...], width: int | None
) -> list[tuple[str, str, list[str]]]:
    """The columns ``(header, justify, cells)`` that fit in ``width`` characters.

    Columns named in ``drop_order`` are dropped in that order while the table's natural width
    (widest cell of each column, plus 3 characters of rule and padding per column and 1) is
    more than ``width``; what is still too wide is then folded by the table itself (long names
    wrap inside their cell). ``width`` None keeps every column.
    """

    def natural(cols) -> int:
        return 1 + sum(3 + max([len(h)] + [len(c) for c in cells]) for h, _, cells in cols)

    kept = list(columns)
    if width is None:
        return kept
    for name in drop_order:
        if natural(kept) <= width:
            break
        kept = [col for col in kept if col[0] != name]
    return kept


def print_table(
    title: str, columns: list[tuple[str, str, list[str]]], drop_order: tuple[str, ...]
) -> None:
    """Print a table fitted to :func:`output_width` (see :func:`fit_columns`)."""
    from rich.table import Table

    width = output_width()
    kept = fit_columns(columns, drop_order, width)
    table = Table(title=title, title_justify="left")
    for header, justify, _ in kept:
        table.add_column(header, justify=cast("JustifyMethod", justify), overflow="fold")
    for row in zip(*(cells for _, _, cells in kept)) if kept else ():
        table.add_row(*row)
    console = rich_console()
    console.width = width if width is not None else max(console.width, PIPE_WIDTH)
    console.print(table)
    dropped = [h for h, _, _ in columns if h not in {k[0] for k in kept}]
    if dropped:
        console.print(
            f"(columns left out to fit {width} characters: {', '.join(dropped)}; "
            "widen the terminal, set COLUMNS, or use --format csv)"
        )


def csv_out(header: list[str], rows: list[list]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    sys.stdout.write(buf.getvalue())


def format_of(fmt: str | None, as_json: bool) -> str:
    """The output format from ``--format`` and its alias ``--json``."""
    if fmt is None:
        return "json" if as_json else "table"
    if fmt not in FORMATS:
        close = difflib.get_close_matches(fmt, FORMATS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise OtvplanError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}{hint}")
    if as_json and fmt != "json":
        raise OtvplanError(f"--json and --format {fmt} disagree; give one of them")
    return fmt


FORMAT_HELP = (
    "Output: table (fitted to the terminal width or COLUMNS), json or csv. "
    "--json is short for --format json."
)


def fmt_number(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


#: Columns of the plan table left out first when the terminal is too narrow (in this order).
PLAN_DROP_ORDER = ("mass after kg", "start (UTC)", "duration d", "from", "strategy")

#: Columns of the verification table left out first when the terminal is too narrow.
VERIFY_DROP_ORDER = ("achieved", "target", "tolerance", "unit")


def print_plan(p) -> None:
    """The plan as a table of legs, then totals, margins, warnings and shortfalls."""
    from otvplan.reporting.report import utc_text

    sc = p.scenario
    legs = p.legs
    columns = [
        ("#", "right", [str(leg.index) for leg in legs]),
        ("from", "left", [one_line(leg.origin) for leg in legs]),
        ("to", "left", [one_line(leg.destination) for leg in legs]),
        ("strategy", "left", [one_line(leg.strategy) for leg in legs]),
        ("start (UTC)", "left", [utc_text(p, leg.t_start_s)[:16] for leg in legs]),
        ("delta-v m/s", "right", [fmt_number(leg.dv_kms * 1000.0) for leg in legs]),
        ("duration d", "right", [fmt_number(leg.duration_s / 86400.0, 2) for leg in legs]),
        ("propellant kg", "right", [fmt_number(leg.propellant_kg, 2) for leg in legs]),
        ("mass after kg", "right", [fmt_number(leg.mass_after_kg, 1) for leg in legs]),
    ]
    print_table(
        f"{one_line(sc.name)}: {'feasible' if p.feasible else 'INFEASIBLE'} plan ({p.objective})",
        columns,
        PLAN_DROP_ORDER,
    )
    console = rich_console()
    usable = sc.tug.propellant_kg - sc.tug.reserve_kg
    lines = [
        f"delivered {len(p.delivered)} of {len(sc.payloads)} payloads in "
        f"{p.duration_s / 86400.0:.2f} d (ends {utc_text(p, p.duration_s)[:16]} UTC)",
        f"total delta-v {p.total_dv_kms * 1000.0:,.1f} m/s; propellant used "
        f"{p.propellant_used_kg:,.2f} kg of {usable:,.2f} kg usable "
        f"(reserve {sc.tug.reserve_kg:,.2f} kg); margin {p.propellant_margin_kg:,.2f} kg",
    ]
    if sc.constraints.max_duration_s:
        lines.append(
            f"time margin {(sc.constraints.max_duration_s - p.duration_s) / 86400.0:.2f}"
            f" d of the {sc.constraints.max_duration_s / 86400.0:.1f} d limit"
        )
    if p.lower_bound_propellant_kg is not None:
        gap = p.optimality_gap or 0.0
        lines.append(
            f"optimality: {'exact' if p.exact else 'not proven'} - propellant lower "
            f"bound {p.lower_bound_propellant_kg:,.2f} kg, gap {gap:.2%}"
        )
    elif p.feasible:
        lines.append(
            "optimality: "
            + (
                "exact"
                if p.exact
                else "best on the search's grids of drift durations and "
                "phasing revolutions (no lower bound)"
            )
        )
    if p.objective == "pareto" and p.alternatives:
        front = ", ".join(f"{t / 86400.0:.1f} d / {m:.1f} kg" for t, m in p.alternatives)
        lines.append(f"propellant-duration front: {front}")
    for line in lines:
        console.print(line)
    for w in p.warnings:
        console.print(one_line(f"warning: {w}"))
    if not p.feasible:
        console.print(one_line(f"not delivered: {', '.join(p.undelivered)}"))
        for reason in p.infeasible_reasons:
            console.print(one_line(f"shortfall: {reason}"))


def print_fleet(fp) -> None:
    """A fleet plan: each tug's plan (as :func:`print_plan`), then every delivery in time
    order across the tugs, then the fleet's totals, rules and shortfalls."""
    from otvplan.reporting.report import utc_text

    console = rich_console()
    for t in fp.tugs:
        console.print(
            f"tug {one_line(t.tug)}: {len(t.plan.delivered)} payloads, "
            f"starts {utc_text(t.plan, 0.0)[:16]} UTC"
        )
        print_plan(t.plan)
        console.print("")
    events = sorted(
        (t.start_s + leg.t_end_s, t, leg)
        for t in fp.tugs
        for leg in t.plan.legs
        if leg.delivery is not None
    )
    columns = [
        ("delivered (UTC)", "left", [utc_text(t.plan, leg.t_end_s)[:16] for _, t, leg in events]),
        ("tug", "left", [one_line(t.tug) for _, t, _ in events]),
        ("payload", "left", [one_line(leg.delivery.payload) for _, _, leg in events]),
        ("strategy", "left", [one_line(leg.strategy) for _, _, leg in events]),
        ("propellant kg", "right", [fmt_number(leg.propellant_kg, 2) for _, _, leg in events]),
    ]
    sc = fp.scenario
    state = "feasible" if fp.feasible else "INFEASIBLE"
    print_table(
        f"{one_line(sc.name)}: {state} fleet plan ({fp.objective}), every delivery",
        columns,
        ("strategy", "propellant kg"),
    )
    flown = len(fp.tugs)
    available = len(sc.fleet.tugs) if sc.fleet is not None else flown
    lines = [
        f"{flown} of {available} tugs fly; delivered {len(fp.delivered)} of "
        f"{len(sc.payloads)} payloads; last delivery or disposal "
        f"{fp.makespan_s / 86400.0:.2f} d after the epoch",
        f"total delta-v {fp.total_dv_kms * 1000.0:,.1f} m/s; propellant "
        f"{fp.propellant_used_kg:,.2f} kg over the fleet",
        f"assignment: {one_line(fp.method)}",
    ]
    if fp.lower_bound_propellant_kg is not None:
        lines.append(
            f"optimality: {'exact' if fp.exact else 'not proven'} - propellant lower "
            f"bound {fp.lower_bound_propellant_kg:,.2f} kg, gap "
            f"{(fp.optimality_gap or 0.0):.2%}"
        )
    for name, count in fp.tugs_needed:
        lines.append(
            f"tugs like {one_line(name)} needed alone: "
            + (str(count) if count is not None else "no number of them closes it")
        )
    for line in lines:
        console.print(line)
    for w in fp.warnings:
        console.print(one_line(f"warning: {w}"))
    if fp.unassigned:
        console.print(one_line(f"not assigned: {', '.join(fp.unassigned)}"))
    for reason in fp.infeasible_reasons:
        console.print(one_line(f"shortfall: {reason}"))


def progress_printer():
    """A progress callback for long solves: one status line on standard error, rewritten in
    place, when standard error is a terminal (nothing otherwise, so pipes and logs stay clean).
    It shows the refinement round, the best plan's propellant, the lower bound, the gap and
    the time so far; the line is cleared when the solve ends."""
    if not sys.stderr.isatty():
        return None

    def show(info: dict) -> None:
        text = (
            f"planning: round {info['iteration']}, propellant {info['propellant_kg']:,.2f} kg,"
            f" bound {info['bound_kg']:,.2f} kg, gap {info['gap']:.2%},"
            f" {info['elapsed_s']:.1f} s"
        )
        sys.stderr.write("\r" + text[: max(20, shutil.get_terminal_size().columns - 1)] + "\x1b[K")
        sys.stderr.flush()

    return show


def fleet_progress_printer():
    """The fleet solver's progress on standard error (a terminal only): tug plans made, the
    tug and subset size of the last, the time so far."""
    if not sys.stderr.isatty():
        return None

    def show(info: dict) -> None:
        text = (
            f"planning the fleet: {info['plans']} tug plans, last {info['tug']} with "
            f"{info['payloads']} payloads, {info['elapsed_s']:.1f} s"
        )
        sys.stderr.write("\r" + text[: max(20, shutil.get_terminal_size().columns - 1)] + "\x1b[K")
        sys.stderr.flush()

    return show


def csv_number(value) -> str:
    return "" if value is None else repr(float(value))


def fmt_check(value, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "deg":
        return f"{value:.4f}"
    if unit == "km":
        return f"{value:.3f}"
    return f"{value:.2e}" if abs(value) < 1e-2 and value != 0 else f"{value:.4f}"


def print_verification(p, v) -> None:
    """The verification as a table of checks (one row per payload and element, angles in
    degrees), then its warnings and the payloads the plan does not deliver."""
    import math

    shown = []
    for row in v.rows:
        scale, unit = (180.0 / math.pi, "deg") if row.unit == "rad" else (1.0, row.unit)

        def show(x, scale=scale, unit=unit):
            return fmt_check(None if x is None else x * scale, unit)

        shown.append(
            (
                one_line(row.payload),
                row.element,
                unit,
                show(row.target),
                show(row.achieved),
                show(row.error),
                show(row.tolerance),
                ("pass" if row.passed else "FAIL") if row.checked else "not checked",
            )
        )
    headers = (
        ("payload", "left"),
        ("element", "left"),
        ("unit", "left"),
        ("target", "right"),
        ("achieved", "right"),
        ("error", "right"),
        ("tolerance", "right"),
        ("result", "left"),
    )
    columns = [(h, j, [r[k] for r in shown]) for k, (h, j) in enumerate(headers)]
    print_table(
        f"{one_line(p.scenario.name)}: verification ({v.force_model}) "
        f"{'PASSED' if v.passed else 'FAILED'}",
        columns,
        VERIFY_DROP_ORDER,
    )
    console = rich_console()
    for w in v.warnings:
        console.print(one_line(f"warning: {w}"))
    if v.undelivered:
        console.print(one_line(f"not delivered by the plan: {', '.join(v.undelivered)}"))


#: Columns of the costs table left out first when the terminal is too narrow.
COSTS_DROP_ORDER = ("cost/kg", "marginal d", "mass kg", "share", "tug", "marginal kg")


def costs_columns(a) -> list[tuple[str, str, list[str]]]:
    """The columns of the costs table of an :class:`~otvplan.planning.attribution.Attribution`:
    payload, mass, marginal propellant and days, Shapley propellant (with its standard error
    when sampled), share of the total, and with pricing the cost and cost per kg delivered."""
    rows = a.payloads
    sampled = any(r.shapley_propellant_se_kg > 0 for r in rows)
    columns = [("payload", "left", [one_line(r.name) for r in rows])]
    if any(r.tug is not None for r in rows):  # a fleet: the tug each payload flies on
        columns.append(("tug", "left", [one_line(r.tug or "-") for r in rows]))
    columns += [
        ("mass kg", "right", [fmt_number(r.mass_kg, 1) for r in rows]),
        ("marginal kg", "right", [fmt_number(r.marginal_propellant_kg, 2) for r in rows]),
        ("marginal d", "right", [fmt_number(r.marginal_duration_s / 86400.0, 2) for r in rows]),
        (
            "Shapley kg",
            "right",
            [
                fmt_number(r.allocated_propellant_kg, 2)
                + (f" ± {r.shapley_propellant_se_kg:,.2f}" if sampled else "")
                for r in rows
            ],
        ),
        ("share", "right", [f"{r.share:.1%}" for r in rows]),
    ]
    if a.pricing is not None:
        cur = f" {one_line(a.pricing.currency)}" if a.pricing.currency else ""
        columns.append((f"cost{cur}", "right", [fmt_number(r.cost or 0.0, 0) for r in rows]))
        columns.append(
            (
                "cost/kg",
                "right",
                ["-" if r.cost_per_kg is None else fmt_number(r.cost_per_kg, 0) for r in rows],
            )
        )
    return columns


def print_costs(a) -> None:
    """What each delivery costs: the table of :func:`costs_columns`, then the totals, the
    method line and the warnings."""
    print_table(
        f"{one_line(a.scenario)}: cost of each delivery ({a.objective})",
        costs_columns(a),
        COSTS_DROP_ORDER,
    )
    console = rich_console()
    fleet = a.method in ("fleet", "per-tug")
    lines = [
        f"total {a.total_propellant_kg:,.2f} kg of propellant, "
        + (
            f"{a.total_duration_s / 86400.0:,.2f} tug-days"
            if fleet
            else f"{a.total_duration_s / 86400.0:,.2f} d; disposal alone "
            f"{a.baseline_propellant_kg:,.2f} kg"
        )
    ]
    if a.pricing is not None and a.total_cost is not None:
        pr = a.pricing
        cur = f" {pr.currency}" if pr.currency else ""
        lines.append(
            f"total cost {a.total_cost:,.0f}{cur}: propellant "
            f"{pr.propellant_per_kg:,.2f}/kg, operations {pr.per_day:,.2f}/d, tug "
            f"launch {pr.tug_launch_per_kg:,.2f}/kg x {a.tug_launch_kg:,.1f} kg "
            "(split by mass delivered)"
        )
    lines.append(f"method: {a.method_text}")
    for line in lines:
        console.print(one_line(line))
    for w in a.warnings:
        console.print(one_line(f"warning: {w}"))


def costs_progress_printer():
    """A progress callback for :func:`otvplan.planning.attribution.attribute`: one status line
    on standard error, rewritten in place, when standard error is a terminal (else None)."""
    if not sys.stderr.isatty():
        return None

    def show(info: dict) -> None:
        total = f" of {info['total']}" if info.get("total") else ""
        text = f"costs: {info['plans']}{total} sub-manifests planned, {info['elapsed_s']:.1f} s"
        sys.stderr.write("\r" + text[: max(20, shutil.get_terminal_size().columns - 1)] + "\x1b[K")
        sys.stderr.flush()

    return show


#: Characters never printed as they are: control characters (a newline would split a problem
#: line, an escape sequence would drive the terminal), line separators, bidirectional
#: overrides and lone surrogates (stderr cannot encode them).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` with the characters of :data:`_UNPRINTABLE` escaped (``\\n``, ``\\x1b``)."""

    def escape(match: re.Match) -> str:
        ch = match[0]
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
        return named or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")

    return _UNPRINTABLE.sub(escape, text)


def report_error(error: OtvplanError) -> None:
    """Print an otvplan error: one line per problem when it has problems, else its message.

    Whatever an input file held, each problem stays on its own line and prints no control
    characters (they are escaped).
    """
    problems: tuple[Problem, ...] = getattr(error, "problems", ())
    if problems:
        for problem in problems:
            echo_err(one_line(str(problem)))
    else:
        for line in str(error).splitlines() or [type(error).__name__]:
            echo_err(f"otvplan: {one_line(line)}")
