"""Problems and their text: the messages of the scenario and study loaders.

Both loaders report every problem of a file as an :class:`otvplan.errors.Problem` (file, line,
column, path, message), printed as one ``file:line:col: path: message`` line. This module
holds what both need to write those lines: naming a YAML value in a message
(:func:`describe_value`, :func:`clip`), a location as a path (:func:`format_location`:
``payloads[2].target.raan``), escaping what a terminal must not receive (:func:`printable`,
:func:`one_line`), placing a problem at a YAML mark (:func:`problem_at`) and sorting by place
(:func:`by_position`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from otvplan.errors import Problem

__all__ = [
    "UNPRINTABLE",
    "Problem",
    "by_position",
    "clip",
    "describe_value",
    "format_location",
    "one_line",
    "printable",
    "problem_at",
]


#: Characters a message must not carry as they are: control characters (a newline would split
#: a `file:line:col: path: message` line, an escape sequence would drive the terminal), line
#: and paragraph separators, bidirectional overrides and lone surrogates (not encodable).
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match) -> str:
    ch = match[0]
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def printable(text: str) -> str:
    """``text`` with the characters of :data:`UNPRINTABLE` escaped (``\\n``, ``\\x1b``)."""
    return UNPRINTABLE.sub(_escape_char, text)


def clip(text: str, limit: int = 40) -> str:
    """Quote a value for a message, shortened to ``limit`` characters, control characters
    escaped."""
    text = printable(str(text))
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 3]}..."'


def describe_value(value: Any) -> str:
    """Name a YAML value for a message: the bare number 525, a list, "text"."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the bare number {clip(repr(value))[1:-1]}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return clip(value)
    return f"a {type(value).__name__}"


def problem_at(file: str, message: str, mark=None, path: str = "") -> Problem:
    """A problem at a YAML mark (PyYAML's 0-based ``line`` and ``column``; shown 1-based), or
    about the whole file when ``mark`` is None."""
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem(file=file, path=path, message=message, line=line, column=column)


def format_location(loc: tuple) -> str:
    """('payloads', 2, 'target', 'raan') -> 'payloads[2].target.raan'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            part = printable(str(part))
            out += f".{part}" if out else part
    return out


def by_position(problems: list[Problem]) -> list[Problem]:
    """The problems in the order of their place in the file (unplaced ones first)."""
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def one_line(problem: Problem) -> Problem:
    """The problem with control characters escaped in its file, path and message, so that
    ``str(problem)`` is one ``file:line:col: path: message`` line whatever the input held."""
    parts = (problem.file, problem.path, problem.message)
    if not any(UNPRINTABLE.search(part) for part in parts):
        return problem
    return dataclasses.replace(
        problem,
        file=printable(problem.file),
        path=printable(problem.path),
        message=printable(problem.message),
    )
