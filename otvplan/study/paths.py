"""Axis paths: the little language that names a place in a scenario document.

A study's axis is addressed by a path like ``tug.engines[0].isp``,
``payloads[*].target.altitude`` (every payload) or ``payloads[sat-3].mass`` (the payload named
sat-3). :func:`parse_path` splits the text, :func:`format_path` writes it back,
:func:`resolve_path` checks it against the scenario schema
(:mod:`otvplan.io.scenario.schema`) and the base scenario and returns the concrete locations
(key and index tuples) it addresses, and :func:`assign` sets a value there in plain scenario
data. :func:`field_problem` checks a value against the scenario field it would set, with the
scenario's own validators and messages.
"""

from __future__ import annotations

import difflib
import functools
import re
import typing
from typing import Any, NamedTuple, cast

from pydantic import ConfigDict, PydanticUserError, TypeAdapter, ValidationError, WithJsonSchema

from otvplan.io.messages import describe_value, format_location
from otvplan.io.scenario.diagnostics import type_message
from otvplan.io.scenario.schema import field_at, model_at

__all__ = [
    "ALL",
    "AllItems",
    "Named",
    "PathError",
    "assign",
    "field_problem",
    "format_path",
    "integer_field",
    "parse_path",
    "resolve_path",
]


class AllItems:
    """The ``[*]`` selector: every item of a list."""

    def __repr__(self) -> str:
        return "[*]"


ALL = AllItems()


class Named(NamedTuple):
    """The ``[name]`` selector: the list item whose ``name`` is this."""

    name: str


class PathError(ValueError):
    """An axis path that does not parse or does not lead to a scenario field."""


_PATH_TOKEN = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<sel>[^\[\]]*)\]|(?P<dot>\.)")


def parse_path(text: str) -> tuple:
    """Split an axis path into keys (str), indices (int), ``ALL`` and ``Named`` selectors.

    >>> parse_path("payloads[*].target.altitude")
    ('payloads', [*], 'target', 'altitude')
    """
    parts: list = []
    pos = 0
    text = text.strip()
    expect_name = True
    if not text:
        raise PathError("the path is empty")
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if match is None:
            raise PathError(f"unexpected {text[pos]!r} at character {pos + 1}")
        if match["name"] is not None:
            if not expect_name:
                raise PathError(f"missing '.' before {match['name']!r} at character {pos + 1}")
            parts.append(match["name"])
            expect_name = False
        elif match["dot"] is not None:
            if expect_name:
                raise PathError(f"a key is missing before the '.' at character {pos + 1}")
            expect_name = True
        else:
            if expect_name:
                raise PathError(f"a key is missing before the '[' at character {pos + 1}")
            selector = match["sel"].strip()
            if selector == "*":
                parts.append(ALL)
            elif selector.isdigit():
                parts.append(int(selector))
            elif selector.startswith("-") and selector[1:].isdigit():
                raise PathError(
                    f"[{selector}]: list indices count from 0; negative indices are not supported"
                )
            elif selector:
                parts.append(Named(selector))
            else:
                raise PathError(f"empty [] at character {pos + 1}; write [0], [*] or [name]")
        pos = match.end()
    if expect_name:
        raise PathError("the path ends with a '.'")
    return tuple(parts)


def format_path(parts: tuple) -> str:
    """The canonical text of a parsed path (also of a concrete location)."""
    out = ""
    for part in parts:
        if isinstance(part, str):
            out += f".{part}" if out else part
        elif isinstance(part, AllItems):
            out += "[*]"
        elif isinstance(part, Named):
            out += f"[{part.name}]"
        else:
            out += f"[{part}]"
    return out


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list


def resolve_path(parts: tuple, base: dict | None) -> tuple[tuple, ...]:
    """The concrete locations (key/index tuples) a parsed path addresses in the base data.

    Keys are checked against the scenario schema (so a key absent from the base scenario but
    allowed there, like ``constraints.max_duration``, is fine: the case adds it); list
    selectors against the base scenario's lists. With ``base=None`` only the schema is checked
    (every list selector stands for item 0). Raises :class:`PathError` with a message that
    says what is wrong and what is allowed.
    """
    states: list[tuple[tuple, Any]] = [((), base)]
    for part in parts:
        new: list[tuple[tuple, Any]] = []
        for loc, node in states:
            where = format_location(loc)
            if isinstance(part, str):
                model = model_at(loc)
                if model is None:
                    _, annotation = field_at(loc)
                    if _is_list(annotation):
                        raise PathError(
                            f"{where} is a list; select its items with [0], [*] or "
                            f"[name], e.g. {where}[0].{part}"
                        )
                    raise PathError(f'{where} is a value, not a mapping; it has no key "{part}"')
                allowed = list(model.model_fields)
                if part not in allowed:
                    close = difflib.get_close_matches(part, allowed, n=1, cutoff=0.6)
                    place = f"in {where}" if where else "at the top of a scenario"
                    hint = (
                        f'did you mean "{close[0]}"?'
                        if close
                        else f"allowed here: {', '.join(allowed)}"
                    )
                    raise PathError(f'unknown key "{part}" {place}; {hint}')
                child = node.get(part) if isinstance(node, dict) else None
                new.append((loc + (part,), child))
                continue
            _, annotation = field_at(loc)
            if not loc or not _is_list(annotation):
                raise PathError(
                    f"{where or 'the scenario'} is not a list; [...] selects list "
                    "items, as in payloads[2] or tug.engines[0]"
                )
            if base is None:
                new.append((loc + (0,), None))
                continue
            if not isinstance(node, list):
                raise PathError(f"{where} is not in the base scenario")
            if isinstance(part, AllItems):
                if not node:
                    raise PathError(f"{where} has no items in the base scenario")
                new += [(loc + (i,), item) for i, item in enumerate(node)]
            elif isinstance(part, Named):
                found = [
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, dict) and str(item.get("name")) == part.name
                ]
                if not found:
                    names = [str(item.get("name")) for item in node if isinstance(item, dict)]
                    close = difflib.get_close_matches(part.name, names, n=1, cutoff=0.6)
                    hint = f'did you mean "{close[0]}"?' if close else f"names: {', '.join(names)}"
                    raise PathError(f'no item named "{part.name}" in {where}; {hint}')
                new.append((loc + (found[0],), node[found[0]]))
            else:
                if part >= len(node):
                    count = len(node)
                    raise PathError(
                        f"{where} has {count} item{'s' if count != 1 else ''} in "
                        f"the base scenario (0 to {count - 1}); [{part}] is out of "
                        "range"
                    )
                new.append((loc + (part,), node[part]))
        states = new
    return tuple(loc for loc, _ in states)


def assign(data: dict, loc: tuple, value: Any) -> None:
    """Set ``value`` at a concrete location of plain scenario data, creating missing mappings."""
    node: Any = data
    for part in loc[:-1]:
        if isinstance(part, int):
            node = node[part]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child
    node[loc[-1]] = value


def _schema_key(loc: tuple) -> tuple:
    return tuple(0 if isinstance(part, int) else part for part in loc)


@functools.lru_cache(maxsize=256)
def _field_adapter(schema_key: tuple) -> tuple[TypeAdapter[Any], bool]:
    """(validator of the scenario field at ``schema_key``, whether it takes whole numbers)."""
    if isinstance(schema_key[-1], int):
        _, annotation = field_at(schema_key)
        return TypeAdapter(annotation), False
    holder, _ = field_at(schema_key)
    if holder is None:  # resolve_path lets through only locations of the schema
        raise PathError(f"{format_location(schema_key)} is not a field of a scenario")
    info = holder.model_fields[schema_key[-1]]
    tp = typing.Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    integer = any(
        isinstance(m, WithJsonSchema) and (m.json_schema or {}).get("type") == "integer"
        for m in info.metadata
    )
    adapter: TypeAdapter[Any]
    try:  # the scenario models read numbers as text where text is expected (names)
        adapter = TypeAdapter(cast(Any, tp), config=ConfigDict(coerce_numbers_to_str=True))
    except PydanticUserError:  # a model type carries its own configuration
        adapter = TypeAdapter(cast(Any, tp))
    return adapter, integer


def _validation_message(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "otvplan":
        message = ctx["message"]
    elif kind == "otvplan_multi":
        message = "; ".join(p.message for p in ctx["problems"])
    elif kind == "literal_error":
        message = f"expected {ctx.get('expected')}; got {describe_value(err.get('input'))}"
    elif kind == "value_error":
        message = str(ctx.get("error"))
    elif kind == "extra_forbidden":
        message = f'unknown key "{err["loc"][-1]}"'
    elif kind == "missing":
        message = "required, but missing"
    else:
        message = type_message(err)
    loc = tuple(err["loc"])
    if kind in ("extra_forbidden", "missing"):
        loc = loc[:-1]
    return f"{format_location(loc)}: {message}" if loc else message


def field_problem(loc: tuple, value: Any) -> str | None:
    """The message of the scenario field at ``loc`` for ``value``; ``None`` when it accepts it."""
    adapter, _ = _field_adapter(_schema_key(loc))
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        return _validation_message(exc)
    return None


def integer_field(loc: tuple) -> bool:
    """Whether the scenario field at ``loc`` takes whole numbers (``solver.beam_width``)."""
    return _field_adapter(_schema_key(loc))[1]
