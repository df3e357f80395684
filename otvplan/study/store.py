"""The results store of a trade study: an append-only JSON-lines file that a rerun resumes from.

Each finished case is one line of ``results.jsonl`` in the study's output directory::

    {"v": 1, "study": "3f2a...", "case": "9c1e...", "index": 12, "status": 0, ...}

Only the process that runs :func:`otvplan.study.sweep` writes (workers return their rows to
it), and it writes each line with one ``write(2)`` on a descriptor opened with ``O_APPEND``:
once the call returns the line is in the kernel and survives the process being killed
(``SIGKILL``, out of memory). The file is also ``fsync``'ed at most every
:data:`FSYNC_INTERVAL_S` seconds and when the store is closed, which bounds what a power cut
or an operating-system crash can lose without paying a disk flush per case.

Reading skips a torn last line (a line without its newline, or one that is not JSON: the
process died while writing it) and any other line that does not decode; the first row of a
case wins. Before appending, a torn tail is cut off so the next line starts cleanly.

Opening the store also *repairs* it: a line that is not JSON, or is JSON but not a row of the
right shape (:func:`row_problem`: ``"status": null``, a metric that is not a number...), is
moved to ``results.quarantine.jsonl`` next to it (kept, never deleted) and removed from
``results.jsonl``, so its case is computed again; ``ResultStore.quarantined`` counts them.

A lock file (``.lock``, ``flock``) stops two sweeps from writing to one directory at once.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from otvplan.errors import OtvplanError

#: The results file's name inside the output directory.
RESULTS_FILE = "results.jsonl"

#: Where damaged lines of the results file are moved to (appended) when the store is opened.
QUARANTINE_FILE = "results.quarantine.jsonl"

#: The status codes a stored row may have (``otvplan.errors.STATUS_*``).
_STATUSES = frozenset({0, 1, 2, 3})

#: The lock file's name inside the output directory.
LOCK_FILE = ".lock"

#: Most seconds between two fsyncs of the results file while a sweep runs.
FSYNC_INTERVAL_S = 1.0

#: Version of the row format (the ``v`` field of each line).
ROW_VERSION = 1


def _clean(value):
    """JSON-ready copy of ``value``: non-finite floats become None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def encode_row(row: dict) -> bytes:
    """One store line: compact JSON, no NaN, ending with a newline."""
    return (
        json.dumps(_clean(row), separators=(",", ":"), allow_nan=False, ensure_ascii=False) + "\n"
    ).encode("utf-8")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def row_problem(row) -> str | None:
    """Why ``row`` (a decoded line) is not a row of the store, or None when it is one.

    A row is an object with ``case`` (text), ``status`` (one of the ``STATUS_*`` codes),
    ``metrics`` (an object of numbers, booleans, text or nulls; may be null), ``message``
    (text or null) and, when present, ``index`` (a whole number), ``values`` (a list),
    ``elapsed_s``/``cpu_s`` (numbers or null) and ``worker`` (text).
    """
    if not isinstance(row, dict):
        return "not a JSON object"
    if not isinstance(row.get("case"), str) or not row["case"]:
        return '"case" is not a case id'
    status = row.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or status not in _STATUSES:
        return f'"status" {json.dumps(status)[:20]} is not a status code'
    metrics = row.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, dict):
            return '"metrics" is not an object'
        for name, value in metrics.items():
            if value is not None and not isinstance(value, (bool, int, float, str)):
                return f'metric "{name[:40]}" is not a number, boolean or text'
    if row.get("message") is not None and not isinstance(row["message"], str):
        return '"message" is not text'
    if "index" in row and (not isinstance(row["index"], int) or isinstance(row["index"], bool)):
        return '"index" is not a whole number'
    if "values" in row and not isinstance(row["values"], list):
        return '"values" is not a list'
    for key in ("elapsed_s", "cpu_s"):
        if row.get(key) is not None and not _is_number(row[key]):
            return f'"{key}" is not a number'
    if row.get("worker") is not None and not isinstance(row["worker"], str):
        return '"worker" is not text'
    return None


def read_rows(path: str | os.PathLike) -> tuple[dict[str, dict], int]:
    """Read a results file; return ({case id: first row}, number of lines skipped).

    A missing file reads as empty. Lines that do not decode (a torn last line, or damage) are
    skipped and counted.
    """
    rows: dict[str, dict] = {}
    skipped = 0
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return rows, 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:  # no newline at the end: the last line is torn
        lines.pop()
        skipped += 1
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if row_problem(row) is not None:
            skipped += 1
            continue
        rows.setdefault(row["case"], row)
    return rows, skipped


class ResultStore:
    """The results file of one output directory, locked against a second writer.

    Use as a context manager: ``with ResultStore(out_dir) as store: store.append(row)``.
    """

    def __init__(self, directory: str | os.PathLike, check=None):
        self.directory = Path(directory)
        self.path = self.directory / RESULTS_FILE
        self.quarantine_path = self.directory / QUARANTINE_FILE
        #: An extra check of a row's shape: ``check(row)`` returns a problem text or None.
        self.check = check
        #: Lines moved to the quarantine file when the store was opened.
        self.quarantined = 0
        #: (line number, reason) of each quarantined line.
        self.quarantine_reasons: list[tuple[int, str]] = []
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._last_sync = 0.0
        self._dirty = False
        self.skipped = 0

    # -- locking ------------------------------------------------------------------------------

    def _lock(self) -> None:
        from otvplan.io.atomicio import ensure_dir, output_error

        ensure_dir(self.directory)  # OutputError: a file in the way, read-only, ...
        try:
            fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise output_error(exc, self.directory / LOCK_FILE) from None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OtvplanError(
                f"{self.directory}: another sweep is writing to this directory; "
                "wait for it to finish or give another output directory"
            ) from None
        self._lock_fd = fd

    # -- reading and writing ------------------------------------------------------------------

    def open(self) -> ResultStore:
        """Lock the directory, cut off a torn last line and open the file for appending."""
        from otvplan.io.atomicio import output_error

        self._lock()
        try:
            try:
                if self.path.exists():
                    self._cut_torn_tail()
                    self._quarantine()
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise output_error(exc, self.path) from None
        except BaseException:
            self.close()
            raise
        self._last_sync = time.monotonic()
        return self

    def _cut_torn_tail(self) -> None:
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "rb+") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            # Find the last newline, reading backwards in blocks.
            end = size
            keep = 0
            while end > 0:
                start = max(0, end - 65536)
                f.seek(start)
                block = f.read(end - start)
                at = block.rfind(b"\n")
                if at >= 0:
                    keep = start + at + 1
                    break
                end = start
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())

    def _problem(self, line: bytes) -> str | None:
        try:
            row = json.loads(line)
        except ValueError:
            return "not JSON"
        problem = row_problem(row)
        if problem is None and self.check is not None:
            problem = self.check(row)
        return problem

    def _quarantine(self) -> None:
        """Move every damaged line (see :func:`row_problem`) to the quarantine file."""
        from otvplan.io.atomicio import write_bytes

        data = self.path.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        good, bad = [], []
        for number, line in enumerate(lines, start=1):
            problem = self._problem(line)
            if problem is None:
                good.append(line)
            else:
                bad.append(line)
                self.quarantine_reasons.append((number, problem))
        if not bad:
            return
        fd = os.open(self.quarantine_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            payload = b"".join(line + b"\n" for line in bad)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        write_bytes(self.path, b"".join(line + b"\n" for line in good))  # atomic
        self.quarantined = len(bad)

    def read(self) -> dict[str, dict]:
        """Every stored row by case id (see :func:`read_rows`)."""
        rows, self.skipped = read_rows(self.path)
        return rows

    def append(self, row: dict) -> None:
        """Append one row as one line; fsync if the last one is older than the interval."""
        if self._fd is None:
            raise OtvplanError("the results store is not open")
        data = encode_row({"v": ROW_VERSION, **row})
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:  # a full disk: the torn line is cut off when the store reopens
            from otvplan.io.atomicio import output_error

            raise output_error(exc, self.path) from None
        self._dirty = True
        now = time.monotonic()
        if now - self._last_sync >= FSYNC_INTERVAL_S:
            self.sync()

    def sync(self) -> None:
        """Flush the results file to the disk."""
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Flush, close the file and release the lock (safe to call twice)."""
        if self._fd is not None:
            try:
                self.sync()
            finally:
                os.close(self._fd)
                self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def __enter__(self) -> ResultStore:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
