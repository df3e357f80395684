"""Scenario problems: what is wrong with a scenario document, where, and how to fix it.

:func:`translate` turns pydantic's validation errors into :class:`otvplan.errors.Problem`
records with the file's line and column (from the :class:`~otvplan.io.yamldoc.Document`'s
marks), the key path (``payloads[2].target.raan``) and a message that teaches: a misspelt key
gets a "did you mean", a missing one an example line, a wrong choice the list of choices.
:func:`document_checks` checks the raw data where validation cannot (it runs even when other
parts of the file are invalid). The study loader uses both for a scenario inline in a study
file.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails

from otvplan.errors import Problem
from otvplan.io.messages import describe_value, format_location, printable
from otvplan.io.scenario.schema import MAX_PAYLOADS, field_at, model_at
from otvplan.io.yamldoc import Document

__all__ = ["document_checks", "translate", "type_message"]


def document_checks(data: Any, file: str, marks: Document) -> list[Problem]:
    """Checks on the raw data that must run even when other parts of the file are invalid:
    the manifest's size (:data:`~otvplan.io.scenario.schema.MAX_PAYLOADS`), unique payload
    and engine names, an epoch for LTANs."""
    out: list[Problem] = []
    if not isinstance(data, dict):
        return out

    def at(loc: tuple, message: str) -> Problem:
        return Problem(file, format_location(loc), message, *marks.position(loc, key=False))

    payloads = data.get("payloads")
    if isinstance(payloads, list) and len(payloads) > MAX_PAYLOADS:
        out.append(
            Problem(
                file,
                "payloads",
                f"{len(payloads):,} payloads; a scenario takes at "
                f"most {MAX_PAYLOADS} (scenario.MAX_PAYLOADS): "
                "split the manifest into several scenarios",
                *marks.position(("payloads",), key=True),
            )
        )
    for section, what in (("payloads", "payload"), (("tug", "engines"), "engine")):
        loc = section if isinstance(section, tuple) else (section,)
        items: Any = data
        for part in loc:
            items = items.get(part) if isinstance(items, dict) else None
        if not isinstance(items, list):
            continue
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, (str, int, float)) or isinstance(name, bool):
                continue
            name = str(name)
            if name in seen:
                first = loc + (seen[name], "name")
                line = marks.position(first, key=False)[0]
                out.append(
                    at(
                        loc + (i, "name"),
                        f'duplicate {what} name "{printable(name)}" (also '
                        f"{format_location(first)}"
                        + (f", line {line}" if line else "")
                        + "); names must be unique",
                    )
                )
            else:
                seen[name] = i
    if data.get("epoch") is None:
        orbits_with_ltan: list[tuple] = []
        if isinstance(data.get("dropoff"), dict):
            orbits_with_ltan.append(("dropoff",))
        payloads = data.get("payloads")
        for i, payload in enumerate(payloads if isinstance(payloads, list) else []):
            if isinstance(payload, dict) and isinstance(payload.get("target"), dict):
                orbits_with_ltan.append(("payloads", i, "target"))
        for loc in orbits_with_ltan:
            orbit = data
            for part in loc:
                orbit = orbit[part]
            if orbit.get("ltan") is not None:
                out.append(
                    at(
                        loc + ("ltan",),
                        "an LTAN needs the scenario epoch to place the Sun; add "
                        "`epoch: 2027-03-01T10:00:00Z` at the top of the file, or give "
                        "raan instead",
                    )
                )
    return out


def _example_line(loc: tuple) -> str:
    """`key: example` for a missing field, from the field's examples."""
    holder, annotation = field_at(loc)
    if holder is None:
        return ""
    info = holder.model_fields[loc[-1]]
    examples = info.examples
    if not examples:
        for meta in info.metadata:
            if isinstance(meta, WithJsonSchema) and meta.json_schema:
                examples = meta.json_schema.get("examples")
    if examples and isinstance(examples[0], (str, int, float)):
        return f"; add e.g. `{loc[-1]}: {examples[0]}`"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"; add a `{loc[-1]}:` section (see docs/scenario-format.md)"
    if typing.get_origin(annotation) is list:
        return f"; add a `{loc[-1]}:` list (see docs/scenario-format.md)"
    return ""


def type_message(error: ErrorDetails) -> str:
    """The message of a pydantic type error (a mapping, list, text or boolean expected) in
    the words of a YAML file; other errors keep pydantic's message."""
    kind = error["type"]
    value = error.get("input")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (indented `key: value` lines), got {describe_value(value)}"
    if kind == "list_type":
        return f"expected a list (lines starting with `- `), got {describe_value(value)}"
    if kind in ("string_type",):
        return f"expected text, got {describe_value(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {describe_value(value)}"
    return error["msg"]


def translate(error: ValidationError, file: str, marks: Document) -> list[Problem]:
    """Turn pydantic's errors into problems with paths, marks and messages that teach."""
    raw = error.errors(include_url=False)
    extra = {tuple(e["loc"]) for e in raw if e["type"] == "extra_forbidden"}
    problems: list[Problem] = []
    for err in raw:
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "otvplan_multi":
            for sub in err["ctx"]["problems"]:
                full = loc + tuple(sub.at)
                problems.append(
                    Problem(
                        file, format_location(full), sub.message, *marks.position(full, key=False)
                    )
                )
            continue
        if kind == "extra_forbidden":
            model = model_at(loc[:-1])
            allowed = list(model.model_fields) if model else []
            unknown = str(loc[-1])
            close = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.6)
            if close:
                message = f'unknown key "{printable(unknown)}"; did you mean "{close[0]}"?'
            else:
                message = f'unknown key "{printable(unknown)}"; allowed here: {", ".join(allowed)}'
            problems.append(
                Problem(file, format_location(loc), message, *marks.position(loc, key=True))
            )
            continue
        if kind == "missing":
            siblings = [x[-1] for x in extra if x[:-1] == loc[:-1]]
            if difflib.get_close_matches(str(loc[-1]), [str(s) for s in siblings], n=1, cutoff=0.6):
                continue  # reported as the misspelt key's "did you mean"
            parent = loc[:-1]
            problems.append(
                Problem(
                    file,
                    format_location(loc),
                    "required, but missing" + _example_line(loc),
                    *marks.position(parent, key=parent in marks.key_marks),
                )
            )
            continue
        if kind == "literal_error":
            _, annotation = field_at(loc)
            choices = [str(c) for c in typing.get_args(annotation)] if annotation else []
            given = err.get("input")
            message = f"expected one of {', '.join(choices)}; got {describe_value(given)}"
            close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.5)
            if close and isinstance(given, str):
                message += f' (did you mean "{close[0]}"?)'
            problems.append(
                Problem(file, format_location(loc), message, *marks.position(loc, key=False))
            )
            continue
        if kind == "value_error":  # a ValueError from inside a validator (e.g. PhysicsError)
            message = str(err["ctx"]["error"])
        else:
            message = err["ctx"]["message"] if kind == "otvplan" else type_message(err)
        problems.append(
            Problem(file, format_location(loc), message, *marks.position(loc, key=False))
        )
    return problems
