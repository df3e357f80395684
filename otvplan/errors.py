"""The otvplan error tree and the status codes used where errors are returned as data.

Every error otvplan raises on purpose derives from :class:`OtvplanError`, so a caller (the CLI,
a batch job) can catch one class and show the message without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class OtvplanError(Exception):
    """Base class of every error otvplan raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    ``line`` and ``column`` are 1-based and ``None`` when the position is unknown; ``path`` is
    the dotted path of the field (``payloads[2].target.raan``), empty for the whole file.
    """

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(OtvplanError, ValueError):
    """An input file (scenario, study, plan) has one or more problems.

    ``problems`` lists every problem found, each with its file, line, column and field path.
    """

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], kind: str = "scenario"):
        self.problems = tuple(problems)
        self.kind = kind
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {kind}"
        files = sorted({p.file for p in self.problems if p.file})
        if len(files) == 1:
            head += f" {files[0]}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class ScenarioError(InputError):
    """A scenario file or scenario object is invalid."""


class StudyError(InputError):
    """A trade-study file is invalid."""

    def __init__(self, problems, kind: str = "study"):
        super().__init__(problems, kind=kind)


class OutputError(OtvplanError, OSError):
    """An output file or directory cannot be written: a file-system fault, not bad input.

    Raised (by :mod:`otvplan.io.atomicio` and the commands) for an output path that is a file, lies
    under a file, is a dangling symbolic link, sits in a read-only or unwritable directory, or
    for a full disk. ``path`` is the file or directory concerned, ``reason`` a one-line
    explanation with what to do; ``errno`` that of the underlying ``OSError`` (or None). It is
    an ``OSError`` too, so code that catches ``OSError`` around a write still does.
    """

    def __init__(self, path, reason: str, errno: int | None = None):
        super().__init__(errno, reason)
        self.path = str(path)
        self.reason = reason
        self.filename = self.path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ClusterError(OtvplanError):
    """The compute cluster (a Dask scheduler) is unreachable or was lost during a sweep.

    Every case finished before the loss is in the results store, so rerunning the same command
    resumes the study.
    """


class PhysicsError(OtvplanError, ValueError):
    """A kernel function got inputs for which its formula has no answer.

    Raised, for example, for an orbit below the surface, e >= 1, or a sun-synchronous
    inclination asked for an orbit too high to have one.
    """


class NoSunSynchronousOrbit(PhysicsError):
    """No inclination makes this orbit sun-synchronous (too high, or too eccentric)."""


@dataclass
class Shortfall:
    """What is missing for a plan to close: propellant [kg] and/or time [s]."""

    propellant_kg: float = 0.0
    time_s: float = 0.0
    reasons: list[str] = field(default_factory=list)


class InfeasibleError(OtvplanError):
    """A plan cannot deliver every payload within the constraints.

    Raised only where the caller asked for an exception (``plan(..., strict=True)``); by default
    an infeasible plan is returned with ``feasible=False`` and its shortfall.
    """

    def __init__(self, message: str, shortfall: Shortfall | None = None):
        super().__init__(message)
        self.shortfall = shortfall or Shortfall()


#: Status codes of a trade-study case (errors as data: a failed case is a row, never an abort).
STATUS_OK = 0
STATUS_INFEASIBLE = 1
STATUS_BAD_INPUT = 2
STATUS_ERROR = 3

STATUS_MESSAGES = {
    STATUS_OK: "ok",
    STATUS_INFEASIBLE: "infeasible: not every payload can be delivered within the constraints",
    STATUS_BAD_INPUT: "bad input: the case's scenario does not validate",
    STATUS_ERROR: "error: the case raised an unexpected exception",
}
