"""Reading scenarios: :func:`load`, :func:`loads`, :func:`load_data`, :func:`validate_file`,
:func:`json_schema`.

Text goes through the YAML reader (:mod:`otvplan.io.yamldoc`: size, UTF-8, composing with
marks, alias bombs), the document checks and the schema (every problem collected, with its
place: :mod:`~otvplan.io.scenario.diagnostics`), then the build step
(:mod:`~otvplan.io.scenario.build`). Any problem raises :class:`otvplan.errors.ScenarioError`
carrying all of them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from otvplan.errors import Problem, ScenarioError
from otvplan.io.messages import by_position, one_line, problem_at
from otvplan.io.scenario.build import build_scenario
from otvplan.io.scenario.diagnostics import document_checks, translate
from otvplan.io.scenario.schema import ScenarioDoc
from otvplan.io.yamldoc import (
    MAX_FILE_BYTES,
    FileKind,
    Rejected,
    decode,
    parse,
    read_bytes,
)
from otvplan.model import Scenario

__all__ = ["FILE_KIND", "json_schema", "load", "load_data", "loads", "validate_file"]

#: How messages name a scenario file and where to find a good one.
FILE_KIND = FileKind(
    noun="scenario",
    directory_hint="give the path of a .yaml file, e.g. scenarios/sso_rideshare.yaml",
    missing_hint="`otvplan example` writes a starter scenario",
)


def _error(problems: list[Problem]) -> ScenarioError:
    """The error for ``problems``, each one line whatever the file held."""
    return ScenarioError([one_line(p) for p in problems])


def loads(text: str | bytes, filename: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML text; return the frozen :class:`Scenario`.

    ``filename`` names the text in problems and becomes ``Scenario.source`` (``None`` for the
    default ``"<string>"``). Raises :class:`ScenarioError` listing every problem found.
    """
    return _loads(text, filename, located=True)


def load_data(data: Any, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as Python data: the structure of a scenario document (dicts,
    lists, strings with units, numbers, ``datetime`` for the epoch).

    The same validator as for a file, but problems name ``source`` and the key path only
    (``<dict>: tug.dry_mass: ...``), with no line or column: there is no text to point into.
    Raises :class:`ScenarioError` listing every problem found.
    """
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise _error(
            [
                Problem(
                    source,
                    "",
                    f"cannot read the data as a scenario: {exc}; give "
                    "dicts, lists, strings, numbers and booleans",
                )
            ]
        ) from None
    return _loads(text, source, located=False)


def _unlocated(problem: Problem) -> Problem:
    """The problem without line and column (and without "line N" references in its text)."""
    message = _LINE_REFERENCE.sub("", problem.message)
    return dataclasses.replace(problem, line=None, column=None, message=message)


_LINE_REFERENCE = re.compile(r" \(first given at line \d+\)|, line \d+(?=\))")


def _loads(text: str | bytes, filename: str, *, located: bool) -> Scenario:
    """:func:`loads`; ``located=False`` drops every line:column (data not written by a user)."""
    try:
        return _loads_located(text, filename)
    except ScenarioError as exc:
        if located:
            raise
        problems = list(dict.fromkeys(_unlocated(p) for p in exc.problems))
        raise _error(sorted(problems, key=lambda p: p.path)) from None


def _loads_located(text: str | bytes, filename: str) -> Scenario:
    """:func:`loads`, every problem at its line and column."""
    try:
        if isinstance(text, (bytes, bytearray)):
            if len(text) > MAX_FILE_BYTES:
                raise Rejected(
                    [
                        problem_at(
                            filename,
                            f"text is larger than {MAX_FILE_BYTES:,} "
                            "bytes; a scenario is a few kB of YAML",
                        )
                    ]
                )
            text = decode(bytes(text), filename, FILE_KIND)
        elif len(text) > MAX_FILE_BYTES:
            raise Rejected(
                [
                    problem_at(
                        filename,
                        f"text is larger than {MAX_FILE_BYTES:,} "
                        "characters; a scenario is a few kB of YAML",
                    )
                ]
            )
        elif "\x00" in text:
            raise Rejected(
                [problem_at(filename, "is binary data (it contains NUL characters), not YAML text")]
            )
        marks = parse(
            text,
            filename,
            fast=True,
            empty_message="the file is empty; `otvplan example` writes a starter scenario",
        )
    except Rejected as reject:
        raise _error(reject.problems) from None
    problems = list(marks.problems)
    problems += document_checks(marks.data, filename, marks)
    doc = None
    try:
        doc = ScenarioDoc.model_validate(marks.data)
    except ValidationError as exc:
        unreadable = {p.path for p in marks.problems}  # already reported: skip their echoes
        problems += [p for p in translate(exc, filename, marks) if p.path not in unreadable]
    if problems or doc is None:  # no document without a problem that says why
        unique = list(dict.fromkeys(problems))
        raise _error(by_position(unique))
    return build_scenario(doc, None if filename == "<string>" else filename)


def load(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file; return the frozen :class:`Scenario`.

    Raises :class:`ScenarioError` listing every problem (including a missing file, a directory,
    a file over :data:`MAX_FILE_BYTES`, or one that is not UTF-8 text).
    """
    file = os.fspath(path)
    try:
        data = read_bytes(Path(file), file, FILE_KIND)
        text = decode(data, file, FILE_KIND)
    except Rejected as reject:
        raise _error(reject.problems) from None
    return loads(text, filename=file)


def validate_file(path: str | os.PathLike) -> list[Problem]:
    """Return every problem of a scenario file; an empty list means the file is valid."""
    try:
        load(path)
    except ScenarioError as exc:
        return list(exc.problems)
    return []


def json_schema() -> dict:
    """Return the JSON Schema (draft 2020-12) of the scenario file format."""
    schema = ScenarioDoc.model_json_schema()
    schema = {"$schema": schema.pop("$schema"), **schema}
    schema["description"] = (
        "otvplan scenario file. Quantities are strings with units, like "
        '"525 km"; see docs/scenario-format.md.'
    )
    return schema
