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

A lock file (``.lock``, ``flock``) stops two sweeps from writing to one directory at once.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from .errors import OtvplanError

#: The results file's name inside the output directory.
RESULTS_FILE = "results.jsonl"

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
    return (json.dumps(_clean(row), separators=(",", ":"), allow_nan=False,
                       ensure_ascii=False) + "\n").encode("utf-8")


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
        if not isinstance(row, dict) or not isinstance(row.get("case"), str):
            skipped += 1
            continue
        rows.setdefault(row["case"], row)
    return rows, skipped


class ResultStore:
    """The results file of one output directory, locked against a second writer.

    Use as a context manager: ``with ResultStore(out_dir) as store: store.append(row)``.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / RESULTS_FILE
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._last_sync = 0.0
        self._dirty = False
        self.skipped = 0

    # -- locking ------------------------------------------------------------------------------

    def _lock(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OtvplanError(f"{self.directory}: cannot create the output directory: "
                               f"{exc.strerror or exc}") from None
        if not self.directory.is_dir():
            raise OtvplanError(f"{self.directory}: not a directory")
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OtvplanError(f"{self.directory}: another sweep is writing to this directory; "
                               "wait for it to finish or give another output directory") from None
        self._lock_fd = fd

    # -- reading and writing ------------------------------------------------------------------

    def open(self) -> ResultStore:
        """Lock the directory, cut off a torn last line and open the file for appending."""
        self._lock()
        try:
            if self.path.exists():
                self._cut_torn_tail()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
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
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
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
