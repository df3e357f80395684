"""Running a trade study: each case planned on a worker, results stored as they come.

:func:`run_case` is what a worker does for one case: edit the base scenario's plain YAML data
at the axis locations, dump it and validate it with :func:`otvplan.io.scenario.loads`, then
call :func:`otvplan.planning.solver.plan` and read the metrics. A case whose values make an
invalid scenario is an outcome with status ``bad-input`` and the message; a case that raises
is one with status ``error``; neither stops the study (errors as data, the status codes of
:mod:`otvplan.errors`). Outcomes are typed (:class:`CaseOutcome`, :class:`CaseResult`); they
become dicts only where they are stored (:mod:`otvplan.study.store`) and a DataFrame where
the table is built (:mod:`otvplan.study.table`).

:func:`sweep` runs the cases on local worker processes (``spawn``) by default, or on any
:class:`concurrent.futures.Executor` (a Dask ``client.get_executor()`` included), in chunks,
retrying the cases of a lost worker, stores each finished case in an append-only results file
so that a rerun computes only the missing cases, and writes the table (Parquet, CSV) and
figures atomically. The outputs are documented in ``docs/trade-studies.md``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from otvplan.errors import (
    STATUS_BAD_INPUT,
    STATUS_ERROR,
    STATUS_INFEASIBLE,
    STATUS_OK,
    ClusterError,
    OtvplanError,
    ScenarioError,
)
from otvplan.io.scenario import loads as load_scenario_text
from otvplan.study.paths import assign
from otvplan.study.reader import load
from otvplan.study.spec import METRICS, STATUS_NAMES, Study
from otvplan.study.table import build_table, write_outputs

__all__ = [
    "HEALTH_CHECK_S",
    "MAX_CHUNK",
    "SCHEDULER_LOST_AFTER_S",
    "STATUS_NAMES",
    "CaseOutcome",
    "CaseResult",
    "run_case",
    "run_chunk",
    "sweep",
]


class _Task(NamedTuple):
    """One case as a worker receives it: its id, position in the design, axis values and
    assignments."""

    case_id: str
    position: int  # Case.index (a NamedTuple field may not be called index)
    values: tuple
    assignments: tuple


class _Chunk(NamedTuple):
    """What a worker receives: the base scenario, the objective and a few cases."""

    base_json: str
    objective: str | None
    label: str
    tasks: tuple
    attempt: int = 0  # a retry is a new submission (Dask: a new task key, not the lost one's)


@dataclass(frozen=True)
class CaseOutcome:
    """What running one case gave (:func:`run_case`).

    ``status`` is an ``otvplan.errors.STATUS_*`` code, ``message`` says why a case is not
    ``ok`` (empty when it is), ``metrics`` holds every metric of :data:`METRICS` by name (empty
    for bad-input and error cases; not to be modified), ``elapsed_s`` and ``cpu_s`` are the
    wall and CPU time of the case on its worker (NaN when unknown), ``worker`` is host:pid.
    """

    status: int
    message: str
    metrics: Mapping[str, Any]
    elapsed_s: float
    cpu_s: float
    worker: str

    @classmethod
    def from_row(cls, row: dict) -> CaseOutcome:
        """The outcome held by a row of the results store (one that
        :func:`otvplan.study.store.row_problem` accepts: ``message``, ``metrics``, the times
        and ``worker`` may be missing or null)."""
        elapsed, cpu = row.get("elapsed_s"), row.get("cpu_s")
        return cls(
            status=int(row["status"]),
            message=row.get("message") or "",
            metrics=dict(row.get("metrics") or {}),
            elapsed_s=math.nan if elapsed is None else float(elapsed),
            cpu_s=math.nan if cpu is None else float(cpu),
            worker=row.get("worker") or "",
        )


@dataclass(frozen=True)
class CaseResult:
    """A case of a study with its outcome (:func:`run_chunk`): what the sweep collects, stores
    (:meth:`to_row`) and tabulates."""

    case_id: str
    index: int
    values: tuple
    outcome: CaseOutcome

    def to_row(self) -> dict:
        """The results store's row of this case (the order of its keys is that of the line
        written: ``case``, ``index``, ``values``, ``status``, ``message``, ``metrics``,
        ``elapsed_s``, ``cpu_s``, ``worker``)."""
        o = self.outcome
        return {
            "case": self.case_id,
            "index": self.index,
            "values": list(self.values),
            "status": o.status,
            "message": o.message,
            "metrics": dict(o.metrics),
            "elapsed_s": o.elapsed_s,
            "cpu_s": o.cpu_s,
            "worker": o.worker,
        }


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_WORKER_ID = None


def _worker_id() -> str:
    """host:pid of this process (computed once)."""
    global _WORKER_ID
    if _WORKER_ID is None:
        _WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
    return _WORKER_ID


def _error_text(exc: BaseException) -> str:
    """``Type: message (at file:line in function)`` of the innermost frame."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return text


def run_case(
    base_json: str, objective: str | None, assignments: tuple, label: str = "<case>"
) -> CaseOutcome:
    """Build one case's scenario and plan it; return its :class:`CaseOutcome` (never raises
    an Exception).

    The scenario is the base scenario's data (``base_json``) with each (location, value) of
    ``assignments`` set, dumped to YAML and validated like a file named ``label``. The times
    are those of this process: wall time and CPU time of the case.
    """
    from otvplan.planning import solver  # looked up per call: a test may replace solver.plan

    t0 = time.perf_counter()
    c0 = time.process_time()
    metrics: dict[str, Any] = {}
    try:
        data = json.loads(base_json)
        for loc, value in assignments:
            assign(data, tuple(loc), value)
        text = yaml.dump(
            data,
            Dumper=_DUMPER,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=1000,
        )
        try:
            scenario = load_scenario_text(text, filename=label)
        except ScenarioError as exc:
            status = STATUS_BAD_INPUT
            message = "; ".join(
                f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems
            )
        else:
            if scenario.fleet is not None:  # several tugs: the fleet's own objective
                from otvplan.planning.fleet import plan_fleet

                plan = plan_fleet(scenario)
            else:
                plan = solver.plan(scenario, objective=objective)
            metrics = {name: metric.read(plan) for name, metric in METRICS.items()}
            status = STATUS_OK if plan.feasible else STATUS_INFEASIBLE
            message = (
                ""
                if plan.feasible
                else ("; ".join(plan.infeasible_reasons) or "not every payload can be delivered")
            )
    except Exception as exc:  # noqa: BLE001 - errors as data: one case never stops the study
        status = STATUS_ERROR
        message = _error_text(exc)
        metrics = {}
    return CaseOutcome(
        status=status,
        message=message,
        metrics=metrics,
        elapsed_s=time.perf_counter() - t0,
        cpu_s=time.process_time() - c0,
        worker=_worker_id(),
    )


def run_chunk(chunk: _Chunk) -> list[CaseResult]:
    """Run the cases of a chunk (the function sent to workers)."""
    return [
        CaseResult(
            task.case_id,
            task.position,
            tuple(task.values),
            run_case(
                chunk.base_json,
                chunk.objective,
                task.assignments,
                f"{chunk.label} case {task.position}",
            ),
        )
        for task in chunk.tasks
    ]


def _watch_parent(parent: int) -> None:
    """Exit this worker when the process that started it is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the sweep process is gone: do not linger as an orphan
            os._exit(1)


def _worker_init() -> None:
    """Warm up a local worker once: import the solver stack; exit if the parent dies."""
    from otvplan.io import scenario  # noqa: F401 - imported for their import-time cost
    from otvplan.planning import solver  # noqa: F401

    threading.Thread(
        target=_watch_parent, args=(os.getppid(),), daemon=True, name="otvplan-parent-watch"
    ).start()


# ============================================================================================
# Running a study
# ============================================================================================


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _local_executor(workers: int) -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
    )


class _InlineExecutor(Executor):
    """Runs each call at submit time in this process (``workers=0``: debugging, profiling)."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(exc)
        return future


def _external_slots(executor: Executor) -> int:
    """Cases an executor runs at once: the threads of a Dask cluster behind
    ``client.get_executor()``, a pool's ``max_workers``, else 32."""
    client = getattr(executor, "_client", None)
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - any failure: fall back to a fixed window
            pass
    workers = getattr(executor, "_max_workers", None)
    return workers if isinstance(workers, int) and workers > 0 else 32


#: Most cases sent to a worker at a time by default.
MAX_CHUNK = 16


def _auto_chunk(pending: int, slots: int) -> int:
    """Cases per submission: about 1/32 of each worker's share of the cases, 1 to MAX_CHUNK."""
    return max(1, min(MAX_CHUNK, pending // (32 * slots)))


def _lost_result(task: _Task, attempts: int, exc: BaseException) -> CaseResult:
    """The error result of a case whose worker was lost ``attempts`` times."""
    return CaseResult(
        task.case_id,
        task.position,
        tuple(task.values),
        CaseOutcome(
            status=STATUS_ERROR,
            message=f"the worker running this case was lost {attempts} times "
            f"({type(exc).__name__}: {exc}); not stored: a rerun tries it again",
            metrics={},
            elapsed_s=math.nan,
            cpu_s=math.nan,
            worker="",
        ),
    )


#: Seconds between two looks at the executor's health while waiting for results.
HEALTH_CHECK_S = 1.0

#: Seconds a Dask client may stay disconnected from its scheduler before the sweep gives up
#: (the client itself closes after its own timeout; this bounds the wait if it does not).
SCHEDULER_LOST_AFTER_S = 60.0


def _executor_lost(executor: Executor, since: list[float | None]) -> str | None:
    """Why ``executor`` can no longer run cases, or None.

    A Dask client's executor is lost when its client is closed (it gives up reconnecting to a
    dead scheduler after its timeout) or has been disconnected for
    :data:`SCHEDULER_LOST_AFTER_S`; ``since`` holds when the disconnection was first seen.
    Other executors are never judged lost here (a broken local pool fails its futures).
    """
    client = getattr(executor, "_client", None)
    if client is None:
        return None
    status = str(getattr(client, "status", "running"))
    if status in ("closed", "closing", "failed"):
        return f"the Dask client is {status}: its scheduler was lost"
    if status != "running":
        if since[0] is None:
            since[0] = time.monotonic()
        elif time.monotonic() - since[0] > SCHEDULER_LOST_AFTER_S:
            return (
                f"the Dask client has been {status} for more than "
                f"{SCHEDULER_LOST_AFTER_S:.0f} s: its scheduler is unreachable"
            )
    else:
        since[0] = None
    return None


def _execute(
    chunks: list[_Chunk],
    executor: Executor | None,
    workers: int,
    retries: int,
    on_results: Callable[[list[CaseResult], bool], None],
) -> None:
    """Run chunks on the executor (or our own pool), retrying chunks whose worker was lost.

    Waiting is a loop with a timeout: every :data:`HEALTH_CHECK_S` it checks that the executor
    still works, and raises :class:`otvplan.errors.ClusterError` when a Dask client lost its
    scheduler (results received so far have been handed to ``on_results``, so a rerun
    resumes).

    A chunk whose future fails (the worker process died, a Dask ``KilledWorker``, a broken
    pool) is retried case by case: after a first loss alongside other cases, after a second
    one alone with nothing else in flight, so that a case that kills its worker is told apart
    from the cases that shared the pool with it. A case lost more than ``retries`` times
    becomes an error result that is not stored. A broken pool of our own is replaced.
    """
    own = executor is None
    if workers == 0 and executor is None:
        executor, own = _InlineExecutor(), False
    pool: Executor = _local_executor(workers) if executor is None else executor
    window = 2 * workers if own else 2 * _external_slots(pool)
    window_at = time.monotonic()
    queue: deque[_Chunk] = deque(chunks)
    suspects: deque[_Chunk] = deque()
    failures: dict[str, int] = {}
    inflight: dict[Future, tuple[_Chunk, bool]] = {}
    disconnected: list[float | None] = [None]
    gone = False  # the external executor was lost: its futures cannot even be cancelled

    def submit(chunk: _Chunk) -> Future:
        nonlocal gone
        try:
            return pool.submit(run_chunk, chunk)
        except Exception:
            why = None if own else _executor_lost(pool, disconnected)
            if why is None:
                raise
            gone = True
            raise ClusterError(why) from None

    def lost(chunk: _Chunk, exc: BaseException) -> None:
        """Requeue the cases of a lost chunk one by one: after a first loss alongside the
        others, after a second one alone; an error result after ``retries`` retries."""
        for task in chunk.tasks:
            single = chunk._replace(tasks=(task,), attempt=chunk.attempt + 1)
            count = failures[task.case_id] = failures.get(task.case_id, 0) + 1
            if count > retries:
                on_results([_lost_result(task, count, exc)], False)
            elif count == 1:
                queue.appendleft(single)
            else:
                suspects.append(single)

    try:
        while queue or suspects or inflight:
            isolating = any(alone for _, alone in inflight.values())
            if suspects and not inflight:
                chunk = suspects.popleft()
                inflight[submit(chunk)] = (chunk, True)
            elif not suspects and not isolating:
                if (
                    not own
                    and time.monotonic() - window_at > 5.0  # workers come and go
                    and _executor_lost(pool, disconnected) is None
                ):
                    window, window_at = 2 * _external_slots(pool), time.monotonic()
                while queue and len(inflight) < window:
                    chunk = queue[0]
                    inflight[submit(chunk)] = (chunk, False)
                    queue.popleft()
            if not inflight:
                continue
            done, _ = wait(list(inflight), timeout=HEALTH_CHECK_S, return_when=FIRST_COMPLETED)
            if not done:
                why = None if own else _executor_lost(pool, disconnected)
                if why is not None:
                    gone = True
                    raise ClusterError(why)
                continue
            broken: BaseException | None = None
            for future in done:
                chunk, _ = inflight.pop(future)
                try:
                    results = future.result()
                except Exception as exc:  # noqa: BLE001 - the executor lost this chunk
                    if isinstance(exc, BrokenExecutor):
                        broken = exc
                    lost(chunk, exc)
                    continue
                on_results(results, True)
            if broken is not None and own:
                # A broken pool fails every pending call; which case broke it is unknown, so
                # each counts a loss (a case lost twice then runs alone).
                for future in list(inflight):
                    chunk, _ = inflight.pop(future)
                    lost(chunk, broken)
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _local_executor(workers)
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
        elif not gone:
            for future in inflight:
                try:
                    future.cancel()
                except Exception:  # noqa: BLE001 - the executor is going away: nothing to cancel
                    pass


def sweep(
    study: Study | str | os.PathLike,
    executor: Executor | None = None,
    out_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk_size: int | None = None,
    retries: int = 2,
    plots: bool = True,
    notify: Callable[[str], None] | None = None,
):
    """Run every case of a study; return the table (a :class:`pandas.DataFrame`).

    Parameters
    ----------
    study : Study or path
        A study from :func:`load`, or the path of a study file.
    executor : concurrent.futures.Executor, optional
        Where cases run. Default: ``workers`` local processes (``spawn``), each warmed up
        once. Any executor works, e.g. ``dask.distributed.Client(address).get_executor()``.
    out_dir : path, optional
        Where the results store (``results.jsonl``), the table (``results.parquet``,
        ``results.csv``), ``study.json`` and the figures (``plots/*.png``) go. A rerun with the
        same directory computes only the cases not stored yet. Without it nothing is written.
    workers : int, optional
        Local worker processes (default: the CPUs this process may use); ``0`` runs the cases
        in this process. Ignored with an ``executor``.
    progress : callable, optional
        Called as ``progress(done, total)`` once at the start (cases already stored count as
        done) and after each finished case.
    chunk_size : int, optional
        Cases sent to a worker at a time. Default: one while there are few cases, up to
        :data:`MAX_CHUNK` when there are hundreds per worker (fewer round trips; a killed
        sweep loses at most the chunks in flight).
    retries : int
        Times a case is retried after its worker was lost (the first retry alongside other
        cases, the next ones alone) before it becomes an error row, which is not stored.
    plots : bool
        Write the figures of :func:`figures` to ``out_dir/plots``.
    notify : callable, optional
        Called with a one-line message for things the user should know (damaged lines of the
        results store moved to ``results.quarantine.jsonl``); default: a ``RuntimeWarning``.

    Raises :class:`otvplan.errors.ClusterError` when a Dask executor loses its scheduler
    (every finished case is stored: a rerun resumes) and :class:`otvplan.errors.OutputError`
    when ``out_dir`` cannot be written.

    Returns
    -------
    pandas.DataFrame
        One row per case in design order: ``case`` (the case id), one column per axis (numbers
        in the axis unit, named ``path (unit)``), one per metric, ``status`` (``ok``,
        ``infeasible``, ``bad-input``, ``error``), ``status_code`` (``otvplan.errors.STATUS_*``),
        ``message``, ``elapsed_s`` and ``cpu_s`` (wall and CPU time of the case on its
        worker). ``attrs["units"]`` gives each column's unit.
    """
    from otvplan.study.store import ResultStore

    if not isinstance(study, Study):
        study = load(study)
    cases = study.cases()
    total = len(cases)
    if workers is None:
        workers = _cpu_count()
    if workers < 0:
        raise OtvplanError(f"workers must be 0 or more, got {workers}")
    if chunk_size is not None and chunk_size < 1:
        raise OtvplanError(f"chunk_size must be 1 or more, got {chunk_size}")
    store = ResultStore(out_dir, check=_check_row).open() if out_dir is not None else None
    if store is not None and store.quarantined:
        lines = ", ".join(f"line {n} ({why})" for n, why in store.quarantine_reasons[:5])
        more = "" if store.quarantined <= 5 else f" and {store.quarantined - 5} more"
        _notify(
            notify,
            f"{store.path}: {store.quarantined} damaged "
            f"line{'s' if store.quarantined != 1 else ''} moved to "
            f"{store.quarantine_path}: {lines}{more}; their cases are computed "
            "again",
        )
    try:
        results: dict[str, CaseResult] = {}
        if store is not None:
            stored = store.read()
            results = {
                case.case_id: CaseResult(
                    case.case_id,
                    case.index,
                    case.values,
                    CaseOutcome.from_row(stored[case.case_id]),
                )
                for case in cases
                if case.case_id in stored
            }
        pending = [case for case in cases if case.case_id not in results]
        done = total - len(pending)
        if progress is not None:
            progress(done, total)

        def on_results(new: list[CaseResult], keep: bool) -> None:
            nonlocal done
            for result in new:
                if result.case_id in results:
                    continue
                results[result.case_id] = result
                if keep and store is not None:
                    store.append({"study": study.key, **result.to_row()})
                done += 1
                if progress is not None:
                    progress(done, total)

        if pending:
            label = study.source or study.name
            if chunk_size is None:
                slots = workers if executor is None else _external_slots(executor)
                chunk_size = _auto_chunk(len(pending), max(slots, 1))
            chunks = [
                _Chunk(
                    study.base_json,
                    study.objective,
                    label,
                    tuple(
                        _Task(c.case_id, c.index, c.values, study.assignments(c))
                        for c in pending[i : i + chunk_size]
                    ),
                )
                for i in range(0, len(pending), chunk_size)
            ]
            try:
                _execute(
                    chunks,
                    executor,
                    min(workers, len(chunks)) if workers else 0,
                    retries,
                    on_results,
                )
            except ClusterError as exc:
                where = (
                    f"; {done} of {total} cases are stored in {store.path}: rerun the "
                    "same command to resume"
                    if store is not None
                    else ""
                )
                raise ClusterError(f"{exc}{where}") from None
    finally:
        if store is not None:
            store.close()
    full = build_table(study, cases, results, tuple(METRICS))
    table = build_table(study, cases, results, study.metrics)
    if out_dir is not None:
        write_outputs(study, table, full, Path(out_dir), plots)
    return table


# ============================================================================================
# The table and the files
# ============================================================================================


def _notify(notify: Callable[[str], None] | None, message: str) -> None:
    """Tell the user ``message``: through ``notify``, else as a ``RuntimeWarning``."""
    if notify is not None:
        notify(message)
    else:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _check_row(row: dict) -> str | None:
    """A stored row's metrics against their kinds (beyond
    :func:`otvplan.study.store.row_problem`)."""
    kinds = {"float": (int, float), "int": (int,), "bool": (bool,), "text": (str,)}
    for name, value in (row.get("metrics") or {}).items():
        metric = METRICS.get(name)
        if metric is None or value is None:
            continue
        ok = isinstance(value, kinds[metric.kind])
        if metric.kind in ("float", "int") and isinstance(value, bool):
            ok = False
        if not ok:
            return f'metric "{name}" is not of kind {metric.kind}'
    return None
