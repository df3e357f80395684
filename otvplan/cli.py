"""The ``otvplan`` command line: a thin layer that parses arguments, calls the library, prints.

Each command is a small function; the library does the work and raises
:class:`otvplan.errors.OtvplanError` on bad input, which :func:`main` prints as one line per
problem on stderr with exit status 2 -- never a traceback.

Exit status (see docs/limits.md): 0 ok, 1 verification failed, 2 bad input (including usage
errors), 3 infeasible plan, 69 the Dask cluster was unreachable or lost, 73 an output cannot be
written (a file-system fault: full disk, read-only directory, a path that is a file), 70
internal error (a bug: set ``OTVPLAN_DEBUG=1`` to see the traceback), 130 interrupted.
When several apply, the first of 2, 73, 69, 1, 3 wins.

Only this module and :mod:`otvplan.console` (the tables, CSV, progress and error lines it
prints with) write to the terminal. Library modules are imported inside the commands so that
``otvplan --version`` and ``otvplan --help`` start fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import typer

from otvplan import __version__
from otvplan.console import (
    FORMAT_HELP,
    costs_progress_printer,
    csv_number,
    csv_out,
    echo,
    echo_err,
    fleet_progress_printer,
    format_of,
    one_line,
    print_costs,
    print_fleet,
    print_plan,
    print_verification,
    progress_printer,
    report_error,
    rich_console,
)

# How tables are fitted to the terminal belongs to the command's behaviour (docs/limits.md):
from otvplan.console import MIN_TABLE_WIDTH as MIN_TABLE_WIDTH
from otvplan.console import PLAN_DROP_ORDER as PLAN_DROP_ORDER
from otvplan.console import VERIFY_DROP_ORDER as VERIFY_DROP_ORDER
from otvplan.console import output_width as output_width
from otvplan.errors import ClusterError, OtvplanError, OutputError
from otvplan.model import FLEET_OBJECTIVES, FleetPlan

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_UNAVAILABLE = 69  # sysexits.h EX_UNAVAILABLE: the Dask scheduler is unreachable or lost
EXIT_INTERNAL_ERROR = 70  # sysexits.h EX_SOFTWARE
EXIT_OUTPUT_ERROR = 73  # sysexits.h EX_CANTCREAT: an output file cannot be written
EXIT_INTERRUPTED = 130

#: The exit statuses and what they mean (``otvplan --help`` and docs/limits.md show them).
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_VERIFICATION_FAILED: "verification failed",
    EXIT_BAD_INPUT: "bad input (a problem in an input file, a usage error)",
    EXIT_INFEASIBLE: "infeasible plan",
    EXIT_UNAVAILABLE: "the Dask scheduler is unreachable or was lost (rerun to resume)",
    EXIT_INTERNAL_ERROR: "internal error (a bug)",
    EXIT_OUTPUT_ERROR: "an output cannot be written (disk full, read-only, a path in the way)",
    EXIT_INTERRUPTED: "interrupted",
}


def plan_status(plan, verification=None) -> int:
    """The exit status of a command that ends with ``plan`` (and its ``verification``): 1 when
    the verification failed, else 3 when the plan is infeasible, else 0."""
    if verification is not None and not verification.passed:
        return EXIT_VERIFICATION_FAILED
    return EXIT_OK if plan.feasible else EXIT_INFEASIBLE

#: Distributions whose versions ``otvplan --version`` reports (read from package metadata,
#: without importing them).
VERSION_PACKAGES = ("boinor", "astropy", "numpy", "scipy", "pydantic", "typer", "matplotlib")

app = typer.Typer(
    name="otvplan",
    help="Mission planner for orbital transfer vehicles (space tugs).\n\n"
         "Exit status: 0 ok, 1 verification failed, 2 bad input, 3 infeasible plan, "
         "69 Dask scheduler unreachable or lost, 73 output cannot be written, 70 internal "
         "error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_lines() -> list[str]:
    """``otvplan X`` and the version of each dependency, from installed package metadata."""
    lines = [f"otvplan {__version__}"]
    for name in VERSION_PACKAGES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        lines.append(f"{name} {version}")
    lines.append(f"python {sys.version.split()[0]}")
    return lines


def _version_callback(value: bool) -> None:
    if value:
        for line in version_lines():
            echo(line)
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the versions of otvplan and its dependencies.",
                     callback=_version_callback, is_eager=True),
    ] = False,
) -> None:
    """Handle the options that come before the command (--version)."""


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.",
                                                metavar="FILE", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report instead.")] = False,
) -> int:
    """Check scenario files and report every problem of every file at once.

    Prints `FILE: ok` for each valid file and `file:line:col: path: message` for each problem.
    Exit status 0 when every file is valid, 2 otherwise.
    """
    from otvplan.io.scenario import validate_file

    results = [(str(path), validate_file(path)) for path in files]
    if as_json:
        echo(json.dumps([
            {"file": name, "ok": not problems,
             "problems": [{"line": p.line, "column": p.column, "path": p.path,
                           "message": p.message} for p in problems]}
            for name, problems in results
        ], indent=2))
    else:
        for name, problems in results:
            if problems:
                for problem in problems:
                    echo(one_line(str(problem)))
            else:
                echo(one_line(f"{name}: ok"))
    bad = [name for name, problems in results if problems]
    if bad and not as_json:
        count = sum(len(problems) for _, problems in results)
        echo_err(f"{count} problem{'s' if count != 1 else ''} in {len(bad)} of "
                 f"{len(results)} file{'s' if len(results) != 1 else ''}")
    return EXIT_BAD_INPUT if bad else EXIT_OK


# --------------------------------------------------------------------------------------------
# example
# --------------------------------------------------------------------------------------------


def _examples() -> dict[str, resources.abc.Traversable]:
    folder = resources.files("otvplan") / "examples"
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def example_names() -> list[str]:
    """Names of the starter scenarios shipped with otvplan."""
    return list(_examples())


def example_text(name: str) -> str:
    """The YAML text of a shipped starter scenario; ``OtvplanError`` for an unknown name."""
    examples = _examples()
    if name not in examples:
        close = difflib.get_close_matches(name, list(examples), n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise OtvplanError(f'no example named "{name}"{hint} (available: '
                           f"{', '.join(examples)})")
    return examples[name].read_text(encoding="utf-8")


def _summary(text: str) -> str:
    """The first comment line of an example, for the listing."""
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


@app.command()
def example(
    name: Annotated[str | None, typer.Argument(help="Example to write; omit to list them.",
                                                  metavar="NAME", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file "
                                                "instead of standard output.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> int:
    """Write a starter scenario (list the available ones when no NAME is given)."""
    if name is None:
        examples = _examples()
        width = max(map(len, examples))
        for key, entry in examples.items():
            echo(f"{key:<{width}}  {_summary(entry.read_text(encoding='utf-8'))}")
        return EXIT_OK
    text = example_text(name)
    if out is None:
        sys.stdout.write(text)
        return EXIT_OK
    from otvplan.io import atomicio

    if out.is_dir():
        raise OutputError(out, "is a directory; give the path of the scenario file to write")
    if (out.exists() or out.is_symlink()) and not force:
        raise OtvplanError(f"{out}: already exists; pass --force to overwrite it")
    if out.is_symlink() and not out.exists():
        raise OutputError(out, f"is a dangling symbolic link (to {os.readlink(out)}); remove "
                               "it first")
    atomicio.check_parents(out)
    atomicio.ensure_dir(out.parent)
    atomicio.write_text(out, text)  # atomic: a full disk leaves the old file as it was
    echo_err(f"wrote {out} (check it with: otvplan validate {out})")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------------

OBJECTIVE_HELP = ("propellant: least propellant within the time limits; duration: earliest end "
                  "within the propellant; pareto: least propellant, plus the front of both. "
                  "Default: the scenario's solver.objective.")


@app.command()
def plan(
    file: Annotated[Path, typer.Argument(help="Scenario file.", metavar="FILE",
                                         show_default=False)],
    objective: Annotated[str | None, typer.Option(
        "--objective", "-o", help=OBJECTIVE_HELP, metavar="propellant|duration|pareto")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP + " csv: one row "
                                               "per leg (the columns of legs.csv).",
                                               metavar="table|json|csv")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write plan.json, legs.csv and burns.csv to this directory.",
        metavar="DIR")] = None,
    report_dir: Annotated[Path | None, typer.Option(
        "--report", help="Write the full report (Markdown, HTML, figures, exports) here.",
        metavar="DIR")] = None,
) -> int:
    """Plan a mission: delivery order, leg strategies, burns and propellant.

    Exit status 0 when every payload is delivered within the constraints, 3 when not (the
    best partial plan and the shortfall are printed), 2 on bad input.
    """
    from otvplan.io.scenario import load
    from otvplan.planning.solver import OBJECTIVES
    from otvplan.planning.solver import plan as make_plan

    if objective is not None and objective not in (*OBJECTIVES, *FLEET_OBJECTIVES):
        close = difflib.get_close_matches(objective, OBJECTIVES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise OtvplanError(f"--objective must be one of {', '.join(OBJECTIVES)}, "
                           f"not {objective!r}{hint}")
    fmt = format_of(fmt, as_json)
    scenario = load(file)
    if scenario.fleet is not None:
        return _plan_fleet(scenario, objective, fmt, out, report_dir)
    progress = progress_printer()
    p = make_plan(scenario, objective=objective, progress=progress)
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
    if fmt == "json":
        from otvplan.reporting.report import plan_to_json

        sys.stdout.write(plan_to_json(p) + "\n")
    elif fmt == "csv":
        from otvplan.reporting.report import legs_csv

        sys.stdout.write(legs_csv(p))
    else:
        print_plan(p)
    if out is not None:
        from otvplan.reporting.report import burns_csv, legs_csv, plan_to_json

        _write_plan_files(out, {"plan.json": plan_to_json(p), "legs.csv": legs_csv(p),
                                "burns.csv": burns_csv(p)})
    if report_dir is not None:
        from otvplan.reporting.report import write_report

        written = write_report(p, report_dir, exports=True)
        echo_err(f"wrote {len(written)} files to {report_dir}")
    return plan_status(p)


def _plan_fleet(scenario, objective: str | None, fmt: str, out: Path | None,
                report_dir: Path | None) -> int:
    """`otvplan plan` for a scenario with several tugs (``tugs:``)."""
    from otvplan.api import _plan_fleet as plan_fleet

    if objective is not None and objective not in FLEET_OBJECTIVES:
        raise OtvplanError(f"--objective of a fleet must be one of "
                           f"{', '.join(FLEET_OBJECTIVES)}, not {objective!r}")
    if objective == "cost" and scenario.pricing is None:
        raise OtvplanError("--objective cost prices each tug's plan: the scenario needs a "
                           "pricing: section")
    fp = plan_fleet(scenario, objective, False, fleet_progress_printer())
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
    from otvplan.reporting.planjson import fleet_to_json
    from otvplan.reporting.tables import fleet_burns_csv, fleet_legs_csv

    if fmt == "json":
        sys.stdout.write(fleet_to_json(fp) + "\n")
    elif fmt == "csv":
        sys.stdout.write(fleet_legs_csv(fp))
    else:
        print_fleet(fp)
    if out is not None:
        _write_plan_files(out, {"fleet.json": fleet_to_json(fp), "legs.csv": fleet_legs_csv(fp),
                                "burns.csv": fleet_burns_csv(fp)})
    if report_dir is not None:
        from otvplan.reporting.fleet_report import write_fleet_report

        written = write_fleet_report(fp, report_dir, exports=True)
        echo_err(f"wrote {len(written)} files to {report_dir}")
    return fleet_status(fp)


def _write_plan_files(out: Path, files: dict[str, str]) -> None:
    """Write `otvplan plan --out`'s files into ``out``: all of them or none."""
    from otvplan.io.atomicio import StagedDirectory

    with StagedDirectory(out, managed=tuple(files)) as stage:
        for name, text in files.items():
            stage.write_text(name, text)
    echo_err(f"wrote {out}/{', '.join(files)}")


def fleet_status(fp, verifications=None) -> int:
    """Exit status of a fleet plan: as :func:`plan_status`, over every tug."""
    if verifications and not all(v.passed for v in verifications.values()):
        return EXIT_VERIFICATION_FAILED
    return EXIT_OK if fp.feasible else EXIT_INFEASIBLE


# --------------------------------------------------------------------------------------------
# costs
# --------------------------------------------------------------------------------------------


@app.command()
def costs(
    file: Annotated[Path, typer.Argument(help="Scenario file.", metavar="SCENARIO",
                                         show_default=False)],
    objective: Annotated[str | None, typer.Option(
        "--objective", "-o", help="The planner's objective for every sub-manifest: "
        "propellant, duration or pareto (default: propellant).",
        metavar="propellant|duration|pareto")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the costs as JSON.")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP + " csv: one row "
                                               "per payload.", metavar="table|json|csv")] = None,
    samples: Annotated[int | None, typer.Option(
        "--samples", help="Permutations sampled above the exact limit (default 64).",
        metavar="N", min=2)] = None,
    exact_max: Annotated[int | None, typer.Option(
        "--exact-max", help="Exact Shapley values up to this many payloads (2^n plans; "
        "default 6).", metavar="N", min=0)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampled permutations.")] = 0,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", help="The planner's time limit per sub-manifest, in seconds "
        "(default: the scenario's solver.time_limit).", metavar="S", min=0.001)] = None,
    window: Annotated[str, typer.Option(
        "--window", help="Time allowed to each sub-manifest: the scenario's max_duration "
        "(scenario) or the whole plan's duration (plan).", metavar="scenario|plan")
    ] = "scenario",
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", help="Plan the sub-manifests on N local processes (default: in "
        "this process).", metavar="N", min=1)] = None,
    price_propellant: Annotated[float | None, typer.Option(
        "--price-propellant", help="Price per kg of propellant burnt.", metavar="PRICE",
        min=0.0)] = None,
    price_day: Annotated[float | None, typer.Option(
        "--price-day", help="Price per day of operations.", metavar="PRICE", min=0.0)] = None,
    price_tug_kg: Annotated[float | None, typer.Option(
        "--price-tug-kg", help="Price per kg of tug launched (dry + propellant loaded), split "
        "by mass delivered.", metavar="PRICE", min=0.0)] = None,
    method: Annotated[str | None, typer.Option(
        "--method", help="A fleet's method: fleet (exact, every sub-manifest re-assigned) or "
        "per-tug (the assignment kept); default: fleet when the fleet is small enough.",
        metavar="fleet|per-tug")] = None,
) -> int:
    """What each delivery costs: marginal propellant and days (re-planned without it) and a
    Shapley share of the plan's propellant and days, with a cost per payload and per kg
    delivered when prices are given - the scenario's pricing: section, each --price option
    replacing its price (see docs/pricing.md). A scenario with tugs: is attributed over its
    fleet.

    Exit status 0 with the table, 3 when the whole manifest is infeasible (no costs), 2 on
    bad input.
    """
    from otvplan.errors import InfeasibleError
    from otvplan.io.scenario import load
    from otvplan.model import OBJECTIVES, Pricing, to_data
    from otvplan.planning.attribution import attribute
    from otvplan.planning.fleet_costs import METHODS, attribute_fleet

    if objective is not None and objective not in OBJECTIVES:
        close = difflib.get_close_matches(objective, OBJECTIVES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise OtvplanError(f"--objective must be one of {', '.join(OBJECTIVES)}, "
                           f"not {objective!r}{hint}")
    if window not in ("scenario", "plan"):
        raise OtvplanError(f"--window must be scenario or plan, not {window!r}")
    if method is not None and method not in METHODS:
        raise OtvplanError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    fmt = format_of(fmt, as_json)
    kwargs: dict = {}
    if samples is not None:
        kwargs["samples"] = samples
    if exact_max is not None:
        kwargs["exact_max_payloads"] = exact_max
    scenario = load(file)
    if method is not None and scenario.fleet is None:
        raise OtvplanError("--method applies to a fleet (a scenario with tugs:); this one "
                           "has one tug")
    prices = {"propellant_per_kg": price_propellant, "per_day": price_day,
              "tug_launch_per_kg": price_tug_kg}
    given: dict[str, float] = {k: v for k, v in prices.items() if v is not None}
    pricing = scenario.pricing
    if given:
        pricing = dataclasses.replace(pricing or Pricing(), **given)  # type: ignore[arg-type]
    if scenario.fleet is not None and objective is not None:
        raise OtvplanError("--objective applies to one tug; a fleet's tugs are planned with "
                           "its fleet.objective")
    progress = costs_progress_printer()
    try:
        if scenario.fleet is not None:
            a = attribute_fleet(scenario, method=method, seed=seed, time_limit_s=time_limit,
                                pricing=pricing, workers=workers, window=window,
                                progress=progress, **kwargs)
        else:
            a = attribute(scenario, objective=objective or "propellant", seed=seed,
                          time_limit_s=time_limit, pricing=pricing, workers=workers,
                          window=window, progress=progress, **kwargs)
    except InfeasibleError as exc:
        report_error(exc)
        return EXIT_INFEASIBLE
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")
    if fmt == "json":
        data = to_data(a)
        data["method_text"] = a.method_text
        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        from otvplan.reporting.costs import costs_csv

        sys.stdout.write(costs_csv(a))
    else:
        print_costs(a)
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------------------------


def _dask_executor(address: str):
    """A Dask client's executor for the scheduler at ``address``; OtvplanError when unusable."""
    try:
        from distributed import Client
    except ImportError:
        raise OtvplanError("--scheduler needs dask.distributed: pip install 'otvplan[dask]'"
                           ) from None
    import logging

    # When the scheduler goes away, Dask's event loop logs the broken connections of pending
    # gathers as tracebacks ("Exception in callback ..."), and a batch being sent at that
    # moment as "Batched Comm Closed" with its traceback (at INFO); the sweep reports the
    # loss itself.
    logging.getLogger("tornado.application").setLevel(logging.CRITICAL)
    logging.getLogger("distributed.batched").setLevel(logging.WARNING)
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise OtvplanError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return client, client.get_executor()


def _close_client(client) -> None:
    """Close a Dask client without waiting long for a scheduler that may be gone."""
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001 - a lost scheduler: nothing more to close
        pass


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Study file.", metavar="STUDY",
                                         show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", help="Output directory: results store, results.parquet/.csv, study.json, "
                      "plots/. Rerunning with the same directory resumes.", metavar="DIR",
        show_default=False)],
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", help="Local worker processes (default: one per CPU; 0: run in this "
                                "process).", metavar="N", min=0)] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Run the cases on the dask.distributed cluster of this scheduler.",
        metavar="tcp://HOST:PORT")] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots",
                                        help="Write the figures to DIR/plots.")] = True,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="The summary at the end: table (lines on standard error), json or csv "
                         "(on standard output: cases per status and the files written).",
        metavar="table|json|csv")] = None,
    allow_outside_base: Annotated[bool, typer.Option(
        "--allow-outside-base", help="Let the study's base: read a scenario file outside the "
        "study file's directory and the working directory.")] = False,
) -> int:
    """Run a trade study: every case of the design, in parallel, resumable.

    Exit status 0 when every case has a row (infeasible, bad-input and error cases included:
    see the status column), 2 on a bad study file or an unreachable scheduler, 69 when the
    Dask scheduler is lost during the run (finished cases are stored: rerun to resume), 73
    when the output directory cannot be written.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from otvplan.study.run import STATUS_NAMES
    from otvplan.study.run import load as load_study
    from otvplan.study.run import sweep as run_sweep

    fmt = format_of(fmt, False)
    if scheduler is not None and workers is not None:
        raise OtvplanError("--workers applies to local runs; with --scheduler the cluster's "
                           "workers run the cases")
    study = load_study(file, allow_outside_base=allow_outside_base)

    class _Rate(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} cases/s" if speed else "-- cases/s")

    client = executor = None
    if scheduler is not None:
        client, executor = _dask_executor(scheduler)
    cases = len(study.cases())
    if scheduler:
        where = f"on the cluster at {scheduler}"
    elif workers == 0:
        where = "in this process"
    else:
        where = "on local worker processes" if workers is None else f"on {workers} local " \
            f"worker process{'es' if workers != 1 else ''}"
    echo_err(f"{study.name}: {cases} cases ({study.design.kind}) {where}; results in {out}")
    try:
        with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                      MofNCompleteColumn(), TaskProgressColumn(), _Rate(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=rich_console(stderr=True)) as bar:
            task = None

            def progress(done: int, total: int) -> None:
                nonlocal task
                if task is None:
                    task = bar.add_task("cases", total=total, completed=done)
                else:
                    bar.update(task, completed=done)

            def notify(message: str) -> None:
                bar.console.print(f"otvplan: {one_line(message)}")

            table = run_sweep(study, executor=executor, out_dir=out, workers=workers,
                              progress=progress, plots=plots, notify=notify)
    finally:
        if client is not None:
            _close_client(client)
    counts = table["status"].value_counts().to_dict()
    by_status = {name: int(counts.get(name, 0)) for name in STATUS_NAMES.values()}
    files = ["results.jsonl", "results.parquet", "results.csv", "study.json"] + (
        ["plots/"] if plots else [])
    if fmt == "json":
        sys.stdout.write(json.dumps({"study": study.name, "cases": len(table),
                                     "status": by_status, "out": str(out),
                                     "files": files}, indent=1, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        csv_out(["status", "cases"], [[name, n] for name, n in by_status.items()])
    else:
        summary = ", ".join(f"{n} {name}" for name, n in by_status.items())
        echo_err(f"{len(table)} cases: {summary}")
        echo_err(f"wrote {out}/results.parquet, results.csv, study.json"
                 + (", plots/" if plots else ""))
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------------------------


def _load_plan(path: Path, objective: str | None = None):
    """A Plan from plan.json (as written by `otvplan plan --out`) or from a scenario file."""
    if path.suffix.lower() == ".json":
        from otvplan.reporting.report import read_plan_file

        return read_plan_file(path)  # size, JSON, schema and limits checked: InputError
    from otvplan.io.scenario import load
    from otvplan.planning.solver import plan as make_plan

    scenario = load(path)
    if scenario.fleet is not None:
        from otvplan.api import _plan_fleet as plan_fleet

        return plan_fleet(scenario, None, False, fleet_progress_printer())
    return make_plan(scenario, objective=objective)


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="plan.json or a scenario file (planned first).",
                                         metavar="PLAN.json|FILE", show_default=False)],
    drag: Annotated[bool, typer.Option("--drag", help="Add atmospheric drag.")] = False,
    zonal: Annotated[int, typer.Option("--zonal", help="Highest zonal harmonic: 2, 3 or 4.",
                                       min=2, max=4)] = 2,
    open_loop: Annotated[bool, typer.Option(
        "--open-loop", help="Fly the burns exactly as written (planned epochs and delta-v) "
                            "instead of re-aiming each at its planned place (guided).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP + " csv: one row "
                                               "per check.", metavar="table|json|csv")] = None,
) -> int:
    """Fly the plan through a numerical propagator (two-body + J2) and check every delivery.

    Guided by default (each burn fired at its planned place and trimmed to its planned mean
    orbit); --open-loop flies the plan exactly as written, which a plan refined with
    `otvplan report --refine` passes.

    Exit status 0 when every delivery is within its tolerances and the plan is feasible, 1 when
    any delivery is not within its tolerances, 3 when it is but the plan is infeasible.
    """
    from otvplan.flight.verify import verify as run_verify
    from otvplan.model import to_data

    fmt = format_of(fmt, as_json)
    p = _load_plan(file)
    execution: Literal["guided", "open-loop"] = "open-loop" if open_loop else "guided"
    if isinstance(p, FleetPlan):
        return _verify_fleet(p, fmt, drag=drag, zonal=zonal, execution=execution)
    v = run_verify(p, drag=drag, zonal=zonal, execution=execution)
    if fmt == "json":
        sys.stdout.write(json.dumps(to_data(v), indent=1) + "\n")
    elif fmt == "csv":
        csv_out(_VERIFY_COLUMNS, _verify_rows(v))
    else:
        print_verification(p, v)
    return plan_status(p, v)


_VERIFY_COLUMNS = ["payload", "element", "unit", "target", "achieved", "error", "tolerance",
                   "checked", "passed"]


def _verify_rows(v) -> list[list[str]]:
    return [[row.payload, row.element, row.unit, csv_number(row.target),
             csv_number(row.achieved), csv_number(row.error), csv_number(row.tolerance),
             str(row.checked).lower(), str(row.passed).lower()] for row in v.rows]


def _verify_fleet(fp, fmt: str, **options) -> int:
    """`otvplan verify` of a fleet plan: every tug's plan flown on its own."""
    from otvplan.flight.verify import verify as run_verify
    from otvplan.model import to_data

    results = {t.tug: run_verify(t.plan, **options) for t in fp.tugs}
    if fmt == "json":
        sys.stdout.write(json.dumps({tug: to_data(v) for tug, v in results.items()},
                                    indent=1) + "\n")
    elif fmt == "csv":
        csv_out(["tug", *_VERIFY_COLUMNS],
                [[tug, *row] for tug, v in results.items() for row in _verify_rows(v)])
    else:
        for t in fp.tugs:
            rich_console().print(f"tug {one_line(t.tug)}:")
            print_verification(t.plan, results[t.tug])
    return fleet_status(fp, results)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="plan.json or a scenario file (planned first).",
                                         metavar="PLAN.json|FILE", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.",
                                      metavar="DIR")],
    with_verify: Annotated[bool, typer.Option(
        "--verify", help="Also fly the plan in the propagator and include the checks.")] = False,
    refine: Annotated[bool, typer.Option(
        "--refine", help="Refine the burns against the propagator first (flight-ready: they "
                         "deliver flown as written); every file carries the refined burns.")
    ] = False,
    exports: Annotated[bool, typer.Option(
        "--exports/--no-exports", help="Write the CCSDS OEM/OPM and GMAT script.")] = True,
    with_costs: Annotated[bool, typer.Option(
        "--costs", help="Also attribute what each delivery costs (as `otvplan costs` with "
                        "its defaults and the scenario's pricing:): a report section and "
                        "costs.csv.")] = False,
    drag: Annotated[bool, typer.Option(
        "--drag", help="Add atmospheric drag to the force model of --refine and --verify.")
    ] = False,
    zonal: Annotated[int, typer.Option(
        "--zonal", help="Highest zonal harmonic of --refine and --verify: 2, 3 or 4.",
        min=2, max=4)] = 2,
) -> int:
    """Write plan.json, legs.csv, burns.csv, report.md, a self-contained report.html, every
    figure as PNG and SVG, and (by default) CCSDS OEM/OPM and a GMAT script.

    With --refine the burns are first refined against the numerical propagator (two-body +
    J2, or up to J4 with --zonal and with drag with --drag) so that, flown exactly as
    written in that force model, they deliver every payload; the files carry the refined
    burns and the report compares them with the planned ones. --verify then flies the
    refined plan open loop, in the same force model.

    Exit status 0 for a feasible plan (whose verification, with --verify, passed), 1 when the
    verification failed, 3 when the plan is infeasible (the report is written in every case).
    """
    from otvplan.reporting.report import write_report

    p = _load_plan(file)
    costs = _costs_of(p.scenario) if with_costs else None
    if isinstance(p, FleetPlan):
        return _report_fleet(p, out, with_verify, refine, exports, costs, drag=drag, zonal=zonal)
    refined = None
    if refine:
        from otvplan.flight.refine import refinement

        refined = refinement(p, drag=drag, zonal=zonal)
        p = refined.plan
        echo_err(f"refined {len(refined.burns)} burns: delta-v "
                 f"{refined.dv_added_kms * 1000.0:+.3f} m/s, propellant "
                 f"{refined.propellant_added_kg:+.3f} kg")
        for note in refined.notes:
            echo_err(f"refinement: {one_line(note)}")
    verification = None
    if with_verify:
        from otvplan.flight.verify import verify as run_verify

        verification = run_verify(p, execution="open-loop" if refine else "guided", drag=drag,
                                  zonal=zonal)
    written = write_report(p, out, verification, exports=exports, refinement=refined,
                           costs=costs)
    echo_err(f"wrote {len(written)} files to {out}")
    if verification is not None and not verification.passed:
        echo_err("verification FAILED (see the Verification section of the report)")
    if not p.feasible:
        echo_err("the plan is INFEASIBLE (see the Infeasibility section of the report)")
    return plan_status(p, verification)


def _costs_of(scenario):
    """What each delivery of ``scenario`` costs (for `report --costs`), with a progress line;
    None, after saying why, when the whole manifest has no feasible plan."""
    from otvplan.errors import InfeasibleError
    from otvplan.planning.attribution import attribute
    from otvplan.planning.fleet_costs import attribute_fleet

    progress = costs_progress_printer()
    try:
        if scenario.fleet is not None:
            return attribute_fleet(scenario, progress=progress)
        return attribute(scenario, progress=progress)
    except InfeasibleError as exc:
        echo_err(f"costs: not attributed: {one_line(str(exc).splitlines()[0])}")
        return None
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")


def _report_fleet(fp, out: Path, with_verify: bool, refine: bool, exports: bool,
                  costs=None, *, drag: bool = False, zonal: int = 2) -> int:
    """`otvplan report` of a fleet plan: one report per tug and the fleet's own pages
    (``drag`` and ``zonal``: the force model of the refinement and the verification)."""
    from dataclasses import replace

    from otvplan.reporting.fleet_report import write_fleet_report

    if refine:
        from otvplan.flight.refine import refinement

        tugs = []
        for t in fp.tugs:
            refined = refinement(t.plan, drag=drag, zonal=zonal)
            echo_err(f"tug {one_line(t.tug)}: refined {len(refined.burns)} burns: delta-v "
                     f"{refined.dv_added_kms * 1000.0:+.3f} m/s, propellant "
                     f"{refined.propellant_added_kg:+.3f} kg")
            tugs.append(replace(t, plan=refined.plan))
        fp = replace(fp, tugs=tuple(tugs))
    verifications = None
    if with_verify:
        from otvplan.flight.verify import verify as run_verify

        verifications = {t.tug: run_verify(t.plan, execution="open-loop" if refine
                                           else "guided", drag=drag, zonal=zonal)
                         for t in fp.tugs}
    written = write_fleet_report(fp, out, verifications, exports=exports, costs=costs)
    echo_err(f"wrote {len(written)} files to {out}")
    if verifications is not None and not all(v.passed for v in verifications.values()):
        echo_err("verification FAILED (see each tug's report)")
    if not fp.feasible:
        echo_err("the fleet plan is INFEASIBLE (see fleet.md)")
    return fleet_status(fp, verifications)


# --------------------------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------------------------


@app.command()
def schema() -> int:
    """Print the JSON Schema of scenario files (for editors and other tools)."""
    from otvplan.io.scenario import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = app(args=args, prog_name="otvplan", standalone_mode=False)
    except OutputError as exc:
        echo_err(f"otvplan: {one_line(str(exc))}")
        return EXIT_OUTPUT_ERROR
    except ClusterError as exc:
        report_error(exc)
        return EXIT_UNAVAILABLE
    except OtvplanError as exc:
        report_error(exc)
        return EXIT_BAD_INPUT
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        echo_err("otvplan: aborted")
        return 130
    except KeyboardInterrupt:
        echo_err("otvplan: interrupted")
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument ...
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:  # pragma: no cover - every Click exception has show()
            echo_err(f"otvplan: {exc.format_message()}")
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `otvplan schema | head`: the reader left; stop quietly
        try:  # the Python docs' recipe: point stdout at devnull so the exit flush cannot fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except OSError as exc:
        from otvplan.io.atomicio import FILESYSTEM_ERRNOS, reason

        if exc.errno not in FILESYSTEM_ERRNOS or os.environ.get("OTVPLAN_DEBUG"):
            return _internal_error(exc)
        where = exc.filename if exc.filename is not None else "otvplan"
        echo_err(one_line(f"otvplan: {where}: {reason(exc)}"))
        return EXIT_OUTPUT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug: one line unless asked for the traceback
        return _internal_error(exc)
    return result if isinstance(result, int) else EXIT_OK


def _internal_error(exc: BaseException) -> int:
    if os.environ.get("OTVPLAN_DEBUG"):
        raise exc
    echo_err(one_line(f"otvplan: internal error: {type(exc).__name__}: {exc}")
             + " -- this is a bug in otvplan; rerun with OTVPLAN_DEBUG=1 for the traceback and "
             "report it")
    return EXIT_INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
