"""Scenario files: YAML text -> validated, frozen :class:`otvplan.model.Scenario`.

The API copies :mod:`json`::

    scenario = load("scenarios/sso_rideshare.yaml")   # or loads(text, filename=...)
    text = dumps(scenario)                             # YAML that loads back to an equal Scenario
    problems = validate_file(path)                     # [] when the file is valid
    schema = json_schema()                             # JSON Schema of the file format

Reading goes in four steps, each collecting problems instead of stopping at the first:

1. **Read** (:func:`load`): the file must exist, be a regular file of at most
   :data:`MAX_FILE_BYTES`, and be UTF-8 text.
2. **Compose** (:func:`_compose`): PyYAML's safe composer builds the node graph, which keeps each
   value's line and column. Before any Python object is built the graph is measured: a document
   that expands to more than :data:`MAX_NODES` nodes (a "billion laughs" alias bomb), nests deeper
   than :data:`MAX_DEPTH` or refers to itself is rejected.
3. **Validate** (:class:`ScenarioDoc`, pydantic v2, ``extra='forbid'``): structure, units (parsed
   by :func:`parse_quantity` into core units) and per-object rules; every error is turned into an
   :class:`otvplan.errors.Problem` naming file, line, column and field path
   (``payloads[2].target.raan``) with a message that says how to fix it.
4. **Build** (:func:`_build`): the validated document becomes the frozen model in core units
   (km, km/s, s, rad, kg); LTANs become RAANs at the epoch, ``sso: true`` becomes the
   sun-synchronous inclination, deadlines become seconds after the epoch.

Any problem raises :class:`otvplan.errors.ScenarioError` carrying all of them. The format is
documented in ``docs/scenario-format.md``.

Units: :func:`parse_quantity` converts the usual units (km, deg, d, kg, N, W, % ...) from a small
table and falls back to :mod:`astropy.units` for anything else, importing astropy only then, so
loading a scenario that uses the usual units does not pay astropy's import time.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import difflib
import logging
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Optional

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from otvplan.constants import MIN_PERIGEE_ALTITUDE_KM, R_EARTH_KM
from otvplan.errors import NoSunSynchronousOrbit, Problem, ScenarioError
from otvplan.model import (
    Constraints,
    Disposal,
    Engine,
    OrbitSpec,
    Payload,
    Scenario,
    SolverSettings,
    Tolerances,
    Tug,
)
from otvplan.core.timeutil import julian_date, parse_utc

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_PAYLOADS",
    "QuantityError",
    "dumps",
    "json_schema",
    "load",
    "load_data",
    "loads",
    "parse_quantity",
    "validate_file",
]

logger = logging.getLogger(__name__)

#: Largest scenario file accepted [bytes]. Real scenarios are a few kB.
MAX_FILE_BYTES = 1_000_000

#: Most YAML nodes a document may expand to, counting every alias use as a copy of what it
#: refers to. A scenario with 100 payloads has about 3,000 nodes; the limit stops alias bombs.
MAX_NODES = 100_000

#: Deepest nesting of mappings and lists accepted (a scenario nests about 5 deep).
MAX_DEPTH = 40

#: Most payloads a scenario may carry. Manifests above ``solver.exact_max_payloads`` are
#: sequenced by beam search, whose time grows with the square of the manifest (100 payloads in
#: one plane: about 8 s of CPU); 200 covers the largest rideshare dispensers flown.
MAX_PAYLOADS = 200

#: Epochs accepted: [start, end). The Sun's low-precision position used to turn LTANs into
#: RAANs (otvplan.core.orbits.sun_right_ascension) is good to ~0.01 deg over 1950-2050 and degrades
#: slowly outside; beyond these bounds a scenario is surely a typo.
EPOCH_RANGE = (_dt.datetime(1950, 1, 1, tzinfo=_dt.timezone.utc),
               _dt.datetime(2200, 1, 1, tzinfo=_dt.timezone.utc))

#: Largest apogee radius accepted [km]: about the radius of Earth's Hill sphere (1.5 million
#: km), beyond which the Sun, not Earth, governs the motion.
MAX_APOGEE_RADIUS_KM = 1.5e6

#: Top-level keys starting with this are ignored (a place for YAML anchors and notes, as in
#: docker-compose files): ``x-tolerances: &tight {raan: 0.05 deg}``.
EXTENSION_PREFIX = "x-"


# ============================================================================================
# Units
# ============================================================================================


class QuantityError(ValueError):
    """A value that should carry a unit does not parse, lacks its unit or has the wrong kind."""


#: How each kind of quantity is named in messages, its core unit, an example and the table units.
_DIMENSIONS: dict[str, tuple[str, str, str]] = {
    # dimension: (name with article, core unit, example)
    "length": ("a length", "km", "525 km"),
    "angle": ("an angle", "rad", "97.5 deg"),
    "time": ("a duration", "s", "30 d"),
    "mass": ("a mass", "kg", "150 kg"),
    "force": ("a force", "N", "1.2 N"),
    "power": ("a power", "W", "1500 W"),
    "area": ("an area", "m2", "1.5 m2"),
    "dimensionless": ("a percentage", "", "3 %"),
}

#: The fast path of :func:`parse_quantity`: unit -> (dimension, factor to the core unit).
#: tests/test_scenario.py checks every row against astropy.units.
UNIT_TABLE: dict[str, tuple[str, float]] = {
    "km": ("length", 1.0),
    "m": ("length", 1e-3),
    "deg": ("angle", math.pi / 180.0),  # the same factor as math.radians
    "rad": ("angle", 1.0),
    "arcmin": ("angle", math.pi / 10800.0),
    "arcsec": ("angle", math.pi / 648000.0),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "d": ("time", 86400.0),
    "yr": ("time", 31557600.0),  # Julian year, 365.25 d (astropy's "yr")
    "kg": ("mass", 1.0),
    "g": ("mass", 1e-3),
    "t": ("mass", 1000.0),  # metric tonne
    "N": ("force", 1.0),
    "kN": ("force", 1e3),
    "mN": ("force", 1e-3),
    "uN": ("force", 1e-6),
    "W": ("power", 1.0),
    "kW": ("power", 1e3),
    "%": ("dimensionless", 0.01),
    "m2": ("area", 1.0),
}

_NUMBER_UNIT = re.compile(
    r"^\s*(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>.*?)\s*$"
)


#: Characters a message must not carry as they are: control characters (a newline would split
#: a `file:line:col: path: message` line, an escape sequence would drive the terminal), line
#: and paragraph separators, bidirectional overrides and lone surrogates (not encodable).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match) -> str:
    ch = match[0]
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def _printable(text: str) -> str:
    """``text`` with the characters of :data:`_UNPRINTABLE` escaped (``\\n``, ``\\x1b``)."""
    return _UNPRINTABLE.sub(_escape_char, text)


def _clip(text: str, limit: int = 40) -> str:
    """Quote a value for a message, shortened to ``limit`` characters, control characters
    escaped."""
    text = _printable(str(text))
    return f'"{text}"' if len(text) <= limit else f'"{text[:limit - 3]}..."'


def _describe_value(value: Any) -> str:
    """Name a YAML value for a message: the bare number 525, a list, "text"."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the bare number {_clip(repr(value))[1:-1]}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return _clip(value)
    return f"a {type(value).__name__}"


def parse_quantity(
    value: Any, dimension: str, *, unit: str | None = None, example: str | None = None
) -> float:
    """Convert a string with a unit (``"525 km"``) to a float in ``unit`` (default: core unit).

    ``dimension`` is one of ``length``, ``angle``, ``time``, ``mass``, ``force``, ``power``,
    ``area``, ``dimensionless``; the core units are km, rad, s, kg, N, W, m2 and 1. Units in
    :data:`UNIT_TABLE` convert from the table; any other unit is handed to
    :mod:`astropy.units` (imported here, and only here). A value given in ``unit`` itself is
    returned unchanged, so ``dumps`` can always write numbers that load back exactly.

    Raises :class:`QuantityError` for a bare number (the unit is missing), an unknown unit, a
    unit of another dimension, or a value that is not finite. ``example`` replaces the
    dimension's example in the message.

    >>> parse_quantity("525 km", "length")
    525.0
    >>> parse_quantity("50 mN", "force")
    0.05
    """
    name, core, default_example = _DIMENSIONS[dimension]
    target = core if unit is None else unit
    shown = _clip(value) if isinstance(value, str) else ""
    example = example or default_example
    if not isinstance(value, str):
        raise QuantityError(
            f'expected {name} with a unit, like "{example}", got {_describe_value(value)}'
        )
    match = _NUMBER_UNIT.match(value)
    if match is None:
        raise QuantityError(
            f'expected {name} with a unit, like "{example}", got {shown}'
        )
    number = float(match["number"])
    given = match["unit"]
    if not given:
        raise QuantityError(
            f'expected {name} with a unit, like "{example}", got {shown} with no unit'
        )
    if not math.isfinite(number):
        raise QuantityError(f"{shown} is not a finite number")
    in_table = UNIT_TABLE.get(given)
    singular = _singular_unit(given) if in_table is None else None
    if singular is not None and singular in UNIT_TABLE:  # "mins", "yrs"
        given, in_table = singular, UNIT_TABLE[singular]
    if in_table is not None and (target == "" or target in UNIT_TABLE):
        given_dim, factor = in_table
        if given_dim != dimension:
            raise QuantityError(
                f'expected {name} in {_unit_list(dimension)}, got {shown}: '
                f"{given} is a unit of {_DIMENSIONS[given_dim][0]}"
            )
        if given == target:
            return number
        target_factor = UNIT_TABLE[target][1] if target else 1.0
        return number * (factor / target_factor)
    # Slow path: anything the table does not know goes to astropy.units.
    try:
        import astropy.units as u  # noqa: PLC0415 - deliberately lazy (import costs ~0.35 s)
    except ImportError:  # pragma: no cover - astropy is a declared dependency
        raise QuantityError(
            f'unknown unit {_clip(given)} in {shown}; use one of {_unit_list(dimension)}'
        ) from None
    parsed = None
    for candidate in (given, singular):
        if candidate is None:
            continue
        try:
            parsed = u.Unit(candidate)
            break
        except Exception:  # astropy raises ValueError, sometimes others, for unparsable units
            continue
    if parsed is None:
        hint = difflib.get_close_matches(given, list(UNIT_TABLE), n=1)
        did_you_mean = f'did you mean "{hint[0]}"? ' if hint else ""
        raise QuantityError(
            f'unknown unit {_clip(given)} in {shown}; {did_you_mean}'
            f"{name} takes {_unit_list(dimension)}"
        ) from None
    try:
        result = float((number * parsed).to_value(u.Unit(target)))
    except u.UnitConversionError:
        raise QuantityError(
            f'expected {name} in {_unit_list(dimension)}, got {shown}: '
            f"{given} is a unit of {parsed.physical_type}"
        ) from None
    if not math.isfinite(result):
        raise QuantityError(f"{shown} is not a finite number")
    return result


def _singular_unit(unit: str) -> str | None:
    """The unit a plural or British spelling names (``days`` -> ``day``, ``hrs`` -> ``hr``,
    ``metres`` -> ``meter``, ``secs`` -> ``s``), or None if it is neither. Only lower-case
    words of four letters or more, and ``hrs``, ``yrs``, ``kgs``: ``Ns`` and ``ms`` are units
    of their own, and ``kms`` is as often meant as km/s as km."""
    if unit in _SHORT_PLURALS:
        return _SHORT_PLURALS[unit]
    if not (unit.isascii() and unit.isalpha() and unit.islower() and len(unit) >= 4):
        return None
    word = unit[:-1] if unit.endswith("s") else unit
    word = word.replace("metre", "meter")
    if word == "sec":
        word = "s"
    return word if word != unit else None


_SHORT_PLURALS = {"hrs": "hr", "yrs": "yr", "kgs": "kg"}


def _unit_list(dimension: str) -> str:
    units = [k for k, (d, _) in UNIT_TABLE.items() if d == dimension]
    return " or ".join((", ".join(units[:-1]), units[-1])) if len(units) > 1 else units[0]


def _format_number(x: float, *, check=None) -> str:
    """Shortest decimal text for ``x``; with ``check``, the shortest one ``check`` accepts."""
    for digits in range(1, 18):
        text = f"{x:.{digits}g}"
        if "e" in text and 1e-4 <= abs(x) < 1e15:
            text = format(decimal.Decimal(text), "f")  # 2e+02 -> 200
        elif "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
        if check is None:
            if float(text) == x:
                return text
        elif check(text):
            return text
    return repr(x)


def format_quantity(value: float, dimension: str, units: tuple[str, ...] = ()) -> str:
    """Format a core-unit value as text that :func:`parse_quantity` turns back into ``value``.

    Each of ``units`` (e.g. ``("d", "h")``) is tried with the fewest digits that round-trip
    exactly; the shortest of those with at most 9 significant digits wins, ties going to a
    number of 1 or more ("50 mN" over "0.05 N"), then to the earlier unit. Otherwise the value
    is written in the core unit with every digit it needs, which always round-trips.

    >>> format_quantity(12960000.0, "time", ("d", "h"))
    '150 d'
    """
    core = _DIMENSIONS[dimension][1]
    best: tuple[tuple[int, bool], str] | None = None
    for unit in units:
        def same(text: str, unit=unit) -> bool:
            return parse_quantity(f"{text} {unit}", dimension) == value

        text = _format_number(value / UNIT_TABLE[unit][1], check=same)
        digits = len(re.sub(r"[^0-9]", "", text.split("e")[0]).strip("0"))
        rank = (digits, text.lstrip("-").startswith("0"))
        if same(text) and digits <= 9 and (best is None or rank < best[0]):
            best = (rank, f"{text} {unit}")
    if best is not None:
        return best[1]
    return f"{_format_number(value)} {core}".rstrip()


# ============================================================================================
# Reading and composing YAML
# ============================================================================================


class _Reject(Exception):
    """Internal: the text cannot be read at all; carries the problems."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


def _problem(file: str, message: str, mark=None, path: str = "") -> Problem:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Problem(file=file, path=path, message=message, line=line, column=column)


def _read_bytes(path: Path, file: str) -> bytes:
    """Read a scenario file's bytes, refusing missing files, directories and huge files."""
    try:
        if path.is_dir():
            raise _Reject([_problem(file, "is a directory, not a scenario file; give the path "
                                          "of a .yaml file, e.g. scenarios/sso_rideshare.yaml")])
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _Reject([_problem(file, "no such file; check the path (`otvplan example` writes "
                                      "a starter scenario)")]) from None
    except PermissionError:
        raise _Reject([_problem(file, "permission denied: cannot read this file")]) from None
    except OSError as exc:
        raise _Reject([_problem(file, f"cannot read this file: {exc.strerror or exc}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise _Reject([_problem(file, f"file is larger than {MAX_FILE_BYTES:,} bytes; a "
                                      "scenario file is a few kB of YAML text")])
    return data


def _decode(data: bytes, file: str) -> str:
    """Decode UTF-8 (an optional BOM is dropped), refusing binary files with a clear message."""
    if b"\x00" in data[:8192]:
        raise _Reject([_problem(file, "is a binary file (it contains NUL bytes), not YAML text; "
                                      "give a scenario .yaml file")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _Reject([Problem(
            file=file, path="", line=line, column=column,
            message=f"is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); "
                    "save the file as UTF-8",
        )]) from None


_YAML_HINTS = (
    ("found character '\\t'", "YAML indents with spaces, not tabs"),
    ("mapping values are not allowed here",
     "check the indentation, and quote values that contain ': '"),
    ("could not find expected ':'", "each line of a mapping needs `key: value`"),
    ("found undefined alias", "define the anchor (&name) before using the alias (*name)"),
    ("expected a single document", "a scenario file holds one YAML document; remove the '---'"),
)


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    """Turn a PyYAML error into one problem with its line and column."""
    if isinstance(exc, yaml.reader.ReaderError):
        return Problem(
            file=file, path="", line=None, column=None,
            message=f"unacceptable character #x{exc.character:04x} at position {exc.position}: "
                    "a scenario file must be printable text",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context}"
        if context_mark is not None and context_mark is not mark:
            message += f" at line {context_mark.line + 1}, column {context_mark.column + 1}"
        message += ")"
    for needle, hint in _YAML_HINTS:
        if needle in str(problem) or (context and needle in context):
            message += f"; {hint}"
            break
    return _problem(file, message, mark)


#: libyaml's safe loader when PyYAML was built with it: about 20 times faster, with the same
#: nodes and marks. Its error messages differ, so a document it rejects is composed again by
#: the pure-Python loader, whose messages the tests and docs quote.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _compose_fast(text: str) -> yaml.Node | None:
    """Compose with libyaml, or None when it is unavailable or the document is not clean."""
    if _FAST_LOADER is None:
        return None
    loader = None
    try:
        loader = _FAST_LOADER(text)
        return loader.get_single_node()
    except Exception:  # any problem: let the reference loader say what it is
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _compose(text: str, file: str) -> yaml.Node | None:
    """Compose one YAML document into a node graph (no Python objects are built)."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _Reject([_yaml_problem(exc, file)]) from None
    except RecursionError:
        raise _Reject([_problem(file, f"the document nests too deeply (more than {MAX_DEPTH} "
                                      "levels of mappings and lists)", _too_deep_mark(text))]
                      ) from None
    finally:
        if loader is not None:
            loader.dispose()


def _too_deep_mark(text: str):
    """Where the first node deeper than :data:`MAX_DEPTH` starts (the mark
    :func:`_check_size` gives), from the parser's events: the parser is not recursive, so it
    reads documents the recursive composer cannot. None if the text does not parse."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                if depth > MAX_DEPTH:
                    return event.start_mark
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def _check_size(root: yaml.Node, file: str) -> None:
    """Reject documents that expand to too many nodes, nest too deep, or contain themselves.

    Measures the graph as it would be expanded (every alias counted as a full copy of its
    anchor) with a memo per node, so an alias bomb is measured in microseconds and rejected
    before any Python object exists.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliased = False

    def size(node: yaml.Node, depth: int) -> int:
        nonlocal aliased
        key = id(node)
        if key in sizes:
            aliased = True
            return sizes[key]
        if key in open_nodes:
            raise _Reject([_problem(file, "the document refers to itself through an alias (an "
                                          "anchor used inside its own value); remove the alias",
                                    node.start_mark)])
        if depth > MAX_DEPTH:
            raise _Reject([_problem(file, f"the document nests too deeply (more than {MAX_DEPTH} "
                                          "levels of mappings and lists)", node.start_mark)])
        total = 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            open_nodes.add(key)
            children = (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode) else node.value
            )
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_NODES:
                    break
            open_nodes.discard(key)
        sizes[key] = total
        return total

    if size(root, 0) > MAX_NODES:
        cause = ("aliases (*name) copy what their anchor refers to, and these multiply"
                 if aliased else "a scenario needs a few thousand at most")
        raise _Reject([_problem(file, f"the document expands to more than {MAX_NODES:,} YAML "
                                      f"nodes; {cause}; remove them", root.start_mark)])


_TAG = "tag:yaml.org,2002:"

#: A lone UTF-16 surrogate, which only a YAML escape ("\\ud800") can produce: not a character,
#: and no UTF-8 text (a report, a CSV file) can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_MESSAGE = ("{what} holds a lone surrogate escape (\\ud800-\\udfff), which is not a "
                      "character; write the character itself, or a \\U00010000-style escape")
_PLAIN_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


class _Data(NamedTuple):
    data: Any
    value_marks: dict[tuple, Any]  # path -> start mark of the value
    key_marks: dict[tuple, Any]  # path -> start mark of the key
    problems: list[Problem]



_MERGE_TAG = "tag:yaml.org,2002:merge"


def _flatten_merges(node: yaml.MappingNode) -> None:
    """Resolve the merge keys of a mapping node in place: the pairs of the merged mappings
    first, lowest precedence first (for ``<<: [*a, *b]`` b's, then a's: the first listed
    wins, as the YAML merge-key specification says), then the mapping's own pairs. The same
    layout as PyYAML's ``flatten_mapping``, whose order for a list of merges has differed
    between PyYAML releases, so it is not relied on."""
    own, sources = [], []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE_TAG:
            own.append((key_node, value_node))
        elif isinstance(value_node, yaml.MappingNode):
            sources.append(value_node)
        elif isinstance(value_node, yaml.SequenceNode):
            for sub in value_node.value:
                if not isinstance(sub, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"expected a mapping for merging, but found {sub.id}", sub.start_mark)
                sources.append(sub)
        else:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "expected a mapping or list of mappings for merging, but found "
                f"{value_node.id}", value_node.start_mark)
    merged = []
    for src in reversed(sources):
        _flatten_merges(src)
        merged.extend(src.value)
    node.value = merged + own

def _to_data(root: yaml.Node, file: str) -> _Data:
    """Build plain Python data from the node graph, recording every value's and key's mark.

    Scalars become str, int, float, bool or None with YAML 1.1's rules, except that timestamps
    and sexagesimal numbers (``10:30`` is 630 in YAML 1.1) stay as their text: the validators
    read times and LTANs themselves. Duplicate keys are reported (PyYAML keeps the last one
    silently); merge keys (``<<: *base``) are honoured.
    """
    constructor = yaml.SafeLoader("")
    value_marks: dict[tuple, Any] = {}
    key_marks: dict[tuple, Any] = {}
    problems: list[Problem] = []
    scanned: dict[int, bool] = {}

    def has_surrogate(text: str) -> bool:
        # An alias hands the same string to this check once per use (a 400 kB scalar used
        # 10,000 times took seconds to rescan); the nodes keep every string alive while the
        # document is converted, so its id identifies it for that long.
        hit = scanned.get(id(text))
        if hit is None:
            hit = scanned[id(text)] = _SURROGATE.search(text) is not None
        return hit

    def convert(node: yaml.Node, path: tuple) -> Any:
        value_marks.setdefault(path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag not in (_TAG + "map", _TAG + "set", _TAG + "omap"):
                problems.append(_problem(file, f"unsupported YAML tag {_short_tag(node.tag)}; "
                                               "remove it", node.start_mark, _format_path(path)))
            # _flatten_merges puts the merged pairs (``<<: *base``) first, then the mapping's
            # own; a key of its own overrides a merged one (YAML merge-key semantics), and
            # among merged pairs the later one wins (the first mapping of ``<<: [*a, *b]`` is
            # put last).
            own_count = sum(1 for key_node, _ in node.value if key_node.tag != _TAG + "merge")
            try:
                _flatten_merges(node)
            except yaml.YAMLError as exc:
                problems.append(_yaml_problem(exc, file))
                return {}
            pairs = node.value
            merged_count = len(pairs) - own_count
            winner: dict[str, int] = {}  # key -> index of the pair that gives its value
            first_seen: dict[str, Any] = {}  # key -> mark of its first own occurrence
            for index, (key_node, _) in enumerate(pairs):
                own = index >= merged_count
                if not isinstance(key_node, yaml.ScalarNode):
                    if own:
                        problems.append(_problem(file, "a key must be a plain name, not a "
                                                       "mapping or a list", key_node.start_mark,
                                                 _format_path(path)))
                    continue
                key = key_node.value
                if has_surrogate(key):
                    if own:
                        problems.append(_problem(file, _SURROGATE_MESSAGE.format(what="this key"),
                                                 key_node.start_mark, _format_path(path + (key,))))
                    continue
                if own and key in first_seen:
                    problems.append(_problem(
                        file, f'duplicate key "{_printable(key)}" (first given at line '
                              f"{first_seen[key].line + 1}); keep one of them",
                        key_node.start_mark, _format_path(path + (key,))))
                    continue
                if own:
                    first_seen[key] = key_node.start_mark
                winner[key] = index
            out: dict[str, Any] = {}
            for index, (key_node, value_node) in enumerate(pairs):
                if not isinstance(key_node, yaml.ScalarNode) or winner.get(key_node.value) != index:
                    continue
                key = key_node.value
                key_marks[path + (key,)] = key_node.start_mark
                out[key] = convert(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in (_TAG + "seq", _TAG + "omap", _TAG + "pairs"):
                problems.append(_problem(file, f"unsupported YAML tag {_short_tag(node.tag)}; "
                                               "remove it", node.start_mark, _format_path(path)))
            return [convert(item, path + (i,)) for i, item in enumerate(node.value)]
        tag = node.tag
        if has_surrogate(node.value):
            problems.append(_problem(file, _SURROGATE_MESSAGE.format(what="this value"),
                                     node.start_mark, _format_path(path)))
            return None
        if tag not in _PLAIN_TAGS:
            problems.append(_problem(file, f"unsupported YAML tag {_short_tag(tag)}; write a "
                                           "plain value",
                                     node.start_mark, _format_path(path)))
            return None
        if tag in (_TAG + "str", _TAG + "timestamp") or ":" in node.value:
            return node.value
        try:
            return constructor.construct_object(node)
        except Exception:  # e.g. "!!int abc"
            problems.append(_problem(file, f"cannot read {_clip(node.value)} as "
                                           f"{_short_tag(tag)}", node.start_mark,
                                     _format_path(path)))
            return None

    data = convert(root, ())
    if isinstance(data, dict):  # top-level x-* keys hold anchors and notes; the schema skips them
        data = {k: v for k, v in data.items() if not k.startswith(EXTENSION_PREFIX)}
    return _Data(data, value_marks, key_marks, problems)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _format_path(loc: tuple) -> str:
    """('payloads', 2, 'target', 'raan') -> 'payloads[2].target.raan'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            part = _printable(str(part))
            out += f".{part}" if out else part
    return out


# ============================================================================================
# The document schema (pydantic v2)
# ============================================================================================


def _fail(message: str):
    return PydanticCustomError("otvplan", "{message}", {"message": message})


def _quantity(dimension: str, example: str | None = None, *, minimum: float | None = None,
              exclusive: bool = True, maximum: float | None = None, description: str = "",
              range_message: str | None = None, required: bool = False):
    """An annotated type: a string with a unit, validated into a float in core units.

    ``minimum``/``maximum`` are in core units; ``exclusive`` makes the minimum strict. An
    optional field takes an empty value (``~``) as absent; a ``required`` one rejects it.
    """
    name, core, default_example = _DIMENSIONS[dimension]
    example = example or default_example
    units = [k for k, (d, _) in UNIT_TABLE.items() if d == dimension]

    def validate(value: Any) -> float | None:
        if value is None and not required:
            return None
        try:
            x = parse_quantity(value, dimension, example=example)
        except QuantityError as exc:
            raise _fail(str(exc)) from None
        out_of_range = (minimum is not None and (x <= minimum if exclusive else x < minimum)
                        or maximum is not None and x > maximum)
        if out_of_range and range_message:
            raise _fail(range_message.format(value=_clip(value)))
        if minimum is not None and (x <= minimum if exclusive else x < minimum):
            if minimum == 0.0:
                word = "greater than zero" if exclusive else "zero or more"
                raise _fail(f'must be {word}, got {_clip(value)}')
            bound = format_quantity(minimum, dimension, tuple(units[:1]))
            word = "above" if exclusive else "at least"
            raise _fail(f"must be {word} {bound}, got {_clip(value)}")
        if maximum is not None and x > maximum:
            bound = format_quantity(maximum, dimension, tuple(units[:1]))
            raise _fail(f'must be at most {bound}, got {_clip(value)}')
        return x

    schema = {
        "type": "string",
        "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*[^\s\d.].*$",
        "description": (description + " " if description else "")
        + f"{name[0].upper()}{name[1:]} with a unit ({', '.join(units)}, or any astropy unit "
          f"of that kind).",
        "examples": [example],
    }
    return Annotated[float if required else Optional[float], BeforeValidator(validate),
                     WithJsonSchema(schema)]


#: A number as YAML 1.2 writes it (exponent without a dot or a sign allowed).
_YAML12_NUMBER = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")


def _number(*, minimum: float | None = None, below: float | None = None, exclusive=False,
            description: str = "", example: float | None = None, why: str = ""):
    """A bare number (dimensionless), with an optional range."""

    def validate(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, str) and _YAML12_NUMBER.match(value):
            # YAML 1.1 reads 1e-15 (no dot) and 1.0e5 (unsigned exponent) as text
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(f"expected a number, got {_describe_value(value)}")
        try:
            x = float(value)
        except OverflowError:  # a whole number beyond the float range (> 1.8e308)
            raise _fail("expected a finite number, got a whole number too large for one "
                        f"({_describe_value(value)})") from None
        if not math.isfinite(x):
            raise _fail(f"expected a finite number, got {value!r}")
        if minimum is not None and (x <= minimum if exclusive else x < minimum):
            raise _fail(f"must be {'greater than' if exclusive else 'at least'} "
                        f"{_format_number(minimum)}, got {value!r}")
        if below is not None and x >= below:
            raise _fail(f"must be below {_format_number(below)}{why}, got {value!r}")
        return x

    schema: dict[str, Any] = {"type": "number", "description": description}
    if minimum is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = minimum
    if below is not None:
        schema["exclusiveMaximum"] = below
    if example is not None:
        schema["examples"] = [example]
    return Annotated[Optional[float], BeforeValidator(validate), WithJsonSchema(schema)]


def _integer(minimum: int, description: str):
    def validate(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected a whole number, got {_describe_value(value)}")
        if value < minimum:
            raise _fail(f"must be at least {minimum}, got {value}")
        return value

    return Annotated[Optional[int], BeforeValidator(validate),
                     WithJsonSchema({"type": "integer", "minimum": minimum,
                                     "description": description})]


def _parse_time(value: str, example: str) -> _dt.datetime:
    try:
        return parse_utc(value)
    except ValueError:
        raise _fail(f"{_clip(value)} is not an ISO 8601 UTC time; write it like {example}"
                    ) from None
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise _fail(f"{_clip(value)} is out of range; write a time like {example}") from None


def _validate_epoch(value: Any) -> _dt.datetime:
    if not isinstance(value, str):
        raise _fail(f"expected a UTC time like 2027-03-01T10:00:00Z, got {_describe_value(value)}")
    epoch = _parse_time(value, "2027-03-01T10:00:00Z")
    if not EPOCH_RANGE[0] <= epoch < EPOCH_RANGE[1]:
        raise _fail(f"{_clip(value)} is outside {EPOCH_RANGE[0].year}-{EPOCH_RANGE[1].year - 1}, "
                    "where the Sun's low-precision position (for LTANs) is valid")
    return epoch


Epoch = Annotated[
    _dt.datetime,
    BeforeValidator(_validate_epoch),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "description": "ISO 8601 time, UTC (a 'Z' or an offset; no zone means UTC).",
                    "examples": ["2027-03-01T10:00:00Z"]}),
]

_LTAN = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?\s*$")


def _validate_ltan(value: Any) -> float | None:
    """Local time of the ascending node: "HH:MM", "HH:MM:SS" or a quantity in hours ("10.5 h")."""
    if value is None:
        return None
    hint = 'expected a local time of the ascending node "HH:MM" like "10:30"'
    if not isinstance(value, str):
        raise _fail(f"{hint}, got {_describe_value(value)}")
    match = _LTAN.match(value)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3] or 0.0)
        if minutes >= 60 or seconds >= 60.0:
            raise _fail(f'{hint}, got {_clip(value)}: minutes and seconds run from 00 to 59')
        ltan = hours + minutes / 60.0 + seconds / 3600.0
    else:
        number_unit = _NUMBER_UNIT.match(value)
        if number_unit and number_unit["unit"] == "h":
            ltan = float(number_unit["number"])
        else:
            try:
                ltan = parse_quantity(value, "time") / 3600.0
            except QuantityError:
                raise _fail(f'{hint}, got {_clip(value)}') from None
    if not 0.0 <= ltan < 24.0:
        raise _fail(f'{hint}, got {_clip(value)}: the time must be from 00:00 to 23:59')
    return ltan


LTAN = Annotated[
    Optional[float],
    BeforeValidator(_validate_ltan),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}(:\d{2}(\.\d*)?)?$",
                    "description": 'Local time of the ascending node at the epoch, "HH:MM".',
                    "examples": ["10:30"]}),
]


class Deadline(NamedTuple):
    """A ``deliver_by`` value: an absolute UTC time or a duration after the epoch [s]."""

    at: _dt.datetime | None
    after_s: float | None


def _validate_deadline(value: Any) -> Deadline | None:
    if value is None:
        return None
    hint = 'expected a UTC time like 2027-04-01T00:00:00Z or a duration after the epoch like "30 d"'
    if not isinstance(value, str):
        raise _fail(f"{hint}, got {_describe_value(value)}")
    if re.match(r"^\s*\d{4}-\d{2}-\d{2}", value):
        return Deadline(_parse_time(value, "2027-04-01T00:00:00Z"), None)
    try:
        seconds = parse_quantity(value, "time")
    except QuantityError:
        raise _fail(f'{hint}, got {_clip(value)}') from None
    if seconds <= 0.0:
        raise _fail(f'must be after the epoch, got {_clip(value)}')
    return Deadline(None, seconds)


DeadlineField = Annotated[
    Optional[Deadline],
    BeforeValidator(_validate_deadline),
    WithJsonSchema({"type": "string", "description": "UTC time, or duration after the epoch.",
                    "examples": ["30 d", "2027-04-01T00:00:00Z"]}),
]


class Reserve(NamedTuple):
    """``propellant_reserve``: a mass [kg] or a fraction of the loaded propellant."""

    kg: float | None
    fraction: float | None


def _validate_reserve(value: Any) -> Reserve | None:
    if value is None:
        return None
    hint = 'expected a mass like "5 kg" or a percentage of the loaded propellant like "3 %"'
    if not isinstance(value, str):
        raise _fail(f"{hint}, got {_describe_value(value)}")
    match = _NUMBER_UNIT.match(value)
    if match and match["unit"] == "%":
        fraction = parse_quantity(value, "dimensionless")
        if not 0.0 <= fraction < 1.0:
            raise _fail(f'must be from 0 % up to (not including) 100 %, got {_clip(value)}')
        return Reserve(None, fraction)
    try:
        kg = parse_quantity(value, "mass", example="5 kg")
    except QuantityError as exc:
        if match is None or not match["unit"]:
            raise _fail(f"{hint}, got {_describe_value(value)}") from None
        raise _fail(f"{exc}; a percentage of the loaded propellant like \"3 %\" also works"
                    ) from None
    if kg < 0.0:
        raise _fail(f'must be zero or more, got {_clip(value)}')
    return Reserve(kg, None)


ReserveField = Annotated[
    Optional[Reserve],
    BeforeValidator(_validate_reserve),
    WithJsonSchema({"type": "string",
                    "description": "Propellant never planned: a mass, or a percentage of the "
                                   "loaded propellant.",
                    "examples": ["5 kg", "3 %"]}),
]

def _validate_name(value: str) -> str:
    """Names go into reports, CSV, CCSDS and GMAT files: printable text on one line."""
    bad = _UNPRINTABLE.search(value)
    if bad:
        raise _fail(f"{_clip(value)} contains the control character {_printable(bad[0])}; a "
                    "name is printable text on one line (it is written into reports, CSV, "
                    "CCSDS and GMAT files)")
    return value


def _validate_description(value: str | None) -> str | None:
    if value is None:
        return None
    bad = _UNPRINTABLE.search(value.replace("\n", "").replace("\t", ""))
    if bad:
        raise _fail(f"contains the control character {_printable(bad[0])}; a description is "
                    "printable text (line breaks and tabs are fine)")
    return value


Name = Annotated[str, Field(min_length=1, examples=["sat-1"]), AfterValidator(_validate_name)]
StrictBool = Annotated[Optional[bool], Strict()]

_ANGLE_360 = 2.0 * math.pi


class _Doc(BaseModel):
    """Base of the raw document models: unknown keys are errors, numbers may be names."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class MultiProblem(NamedTuple):
    at: tuple  # path below the object that raised
    message: str


def _raise_all(problems: list[MultiProblem]) -> None:
    """Raise every cross-field problem of one object at once (expanded by the translator)."""
    if problems:
        raise PydanticCustomError(
            "otvplan_multi", "{summary}",
            {"summary": "; ".join(p.message for p in problems), "problems": list(problems)},
        )


class TolerancesDoc(_Doc):
    """How close a delivery must come to its target (mean elements)."""

    sma: _quantity("length", "2 km", minimum=0.0) = None
    eccentricity: _number(minimum=0.0, exclusive=True, example=0.002) = None
    inclination: _quantity("angle", "0.05 deg", minimum=0.0) = None
    raan: _quantity("angle", "0.1 deg", minimum=0.0) = None
    slot: _quantity("angle", "1 deg", minimum=0.0) = None


class OrbitDoc(_Doc):
    """An orbit: size (one of three forms), plane (inclination or SSO), node, phase."""

    is_dropoff: ClassVar[bool] = False

    altitude: _quantity("length", "525 km", description="Circular orbit altitude.") = None
    sma: _quantity("length", "6903 km", description="Semi-major axis.") = None
    eccentricity: _number(minimum=0.0, below=1.0, example=0.001,
                          description="Eccentricity, with sma (default 0).",
                          why=" for a closed orbit (1 is a parabola, above 1 a hyperbola)") = None
    perigee_altitude: _quantity("length", "250 km") = None
    apogee_altitude: _quantity("length", "35786 km") = None
    inclination: _quantity(
        "angle", "97.5 deg", minimum=0.0, exclusive=False, maximum=math.pi,
        range_message="must be from 0 to 180 deg, got {value}; a retrograde orbit has an "
                      "inclination above 90 deg (97.5 deg for a 525 km SSO), never a negative one",
    ) = None
    sso: StrictBool = Field(None, description="true: the sun-synchronous inclination.")
    raan: _quantity("angle", "120 deg", description="Right ascension of the ascending node.") = None
    ltan: LTAN = None
    ltan_reference: Annotated[
        Optional[Literal["mean", "true"]],
        # unquoted `true` is a YAML boolean; it can only mean the true Sun here
        BeforeValidator(lambda v: "true" if v is True else v),
    ] = Field(None, description="Sun the LTAN is measured from: mean (default) or true.")
    argp: _quantity("angle", "180 deg", description="Argument of perigee (default 0).") = None
    slot: _quantity("angle", "45 deg",
                    description="Argument of latitude at the epoch (phase in the plane).") = None
    tolerances: Optional[TolerancesDoc] = None

    def shape(self) -> tuple[float, float] | None:
        """(a [km], e) from whichever size form was given; None if it is not given exactly once."""
        if self.altitude is not None and self.sma is None and self.perigee_altitude is None:
            return R_EARTH_KM + self.altitude, 0.0
        if self.sma is not None and self.altitude is None and self.perigee_altitude is None:
            return self.sma, self.eccentricity or 0.0
        if (self.perigee_altitude is not None and self.apogee_altitude is not None
                and self.altitude is None and self.sma is None):
            hp, ha = self.perigee_altitude, self.apogee_altitude
            a = R_EARTH_KM + 0.5 * (hp + ha)
            return a, 0.5 * (ha - hp) / a
        return None

    def size_key(self) -> str:
        for key in ("altitude", "sma", "perigee_altitude"):
            if getattr(self, key) is not None:
                return key
        return "altitude"

    @model_validator(mode="after")
    def _check(self):
        _raise_all(self._problems())
        return self

    def _problems(self) -> list[MultiProblem]:
        out: list[MultiProblem] = []
        apsides = [k for k in ("perigee_altitude", "apogee_altitude")
                   if getattr(self, k) is not None]
        size_forms = [k for k in ("altitude", "sma") if getattr(self, k) is not None]
        size_forms += apsides[:1]
        if not size_forms:
            out.append(MultiProblem((), "give the orbit's size: altitude (circular), sma (with "
                                        "eccentricity), or perigee_altitude + apogee_altitude"))
        elif len(size_forms) > 1:
            out.append(MultiProblem((size_forms[1],), f"{size_forms[0]} and {size_forms[1]} both "
                                                      "give the orbit's size; keep one"))
        elif len(apsides) == 1:
            given = apsides[0]
            missing = "apogee_altitude" if given == "perigee_altitude" else "perigee_altitude"
            out.append(MultiProblem((given,), f"{given} needs {missing} too (or give altitude "
                                              "for a circular orbit)"))
        if self.eccentricity is not None and self.sma is None:
            out.append(MultiProblem(("eccentricity",),
                                    "eccentricity goes with sma; altitude means a circular orbit "
                                    "and perigee_altitude + apogee_altitude imply it"))
        if (self.perigee_altitude is not None and self.apogee_altitude is not None
                and self.apogee_altitude < self.perigee_altitude):
            out.append(MultiProblem(("apogee_altitude",),
                                    "apogee_altitude is below perigee_altitude; swap them"))
        shape = self.shape() if not out else None
        if shape is not None and not _inside_sphere_of_influence(*shape):
            out.append(MultiProblem((self.size_key(),),
                                    f"the apogee is beyond {MAX_APOGEE_RADIUS_KM:,.0f} km from "
                                    "Earth's centre, outside Earth's sphere of influence"))
            shape = None
        if shape is not None:
            a, e = shape
            perigee_alt = a * (1.0 - e) - R_EARTH_KM
            if perigee_alt < MIN_PERIGEE_ALTITUDE_KM:
                key = self.size_key()
                what = ("altitude" if key == "altitude" else "perigee altitude")
                out.append(MultiProblem(
                    (key,), f"{what} {perigee_alt:.1f} km is below the "
                            f"{MIN_PERIGEE_ALTITUDE_KM:.0f} km minimum "
                            "(constants.MIN_PERIGEE_ALTITUDE_KM): an orbit that low re-enters "
                            "within a revolution"
                            + ("; sma is measured from Earth's centre, not its surface"
                               if key == "sma" and a < R_EARTH_KM else "")))
                shape = None
        if self.inclination is not None and self.sso:
            out.append(MultiProblem(("sso",), "give either inclination or sso: true, not both"))
        elif self.inclination is None and not self.sso:
            out.append(MultiProblem(
                ("sso",) if self.sso is False else (),
                'give the orbit\'s plane: inclination (e.g. "53 deg") or sso: true'))
        elif self.sso and shape is not None:
            from otvplan.core import orbits  # numpy: imported when first needed (keeps `validate` quick)

            try:
                orbits.sso_inclination(*shape)
            except NoSunSynchronousOrbit as exc:
                out.append(MultiProblem(("sso",), f"{exc}; give an inclination instead"))
        if self.raan is not None and self.ltan is not None:
            out.append(MultiProblem(("ltan",), "give either raan or ltan, not both"))
        if self.ltan_reference is not None and self.ltan is None:
            out.append(MultiProblem(("ltan_reference",), "ltan_reference applies only with ltan"))
        if self.is_dropoff and self.raan is None and self.ltan is None:
            out.append(MultiProblem((), 'the drop-off orbit needs its node: give raan (e.g. '
                                        '"120 deg") or ltan (e.g. "10:30")'))
        return out


def _inside_sphere_of_influence(a: float, e: float) -> bool:
    """True when the orbit's apogee radius a(1 + e) is within :data:`MAX_APOGEE_RADIUS_KM`."""
    return math.isfinite(a) and a * (1.0 + e) <= MAX_APOGEE_RADIUS_KM


class DropoffDoc(OrbitDoc):
    """The orbit the launcher leaves the tug in; its node (raan or ltan) is required."""

    is_dropoff: ClassVar[bool] = True


class EngineDoc(_Doc):
    """One engine of the tug."""

    name: Name
    type: Literal["chemical", "electric"]
    isp: _quantity("time", "220 s", minimum=0.0, description="Specific impulse.", required=True)
    thrust: _quantity("force", "22 N", minimum=0.0,
                      description="Thrust. Required for electric engines; a chemical engine "
                                  "without it is taken as impulsive (burns of no duration), "
                                  "for a first sizing.") = None
    power: _quantity("power", "1500 W", minimum=0.0,
                     description="Electric power drawn (electric engines).") = None

    @model_validator(mode="after")
    def _check(self):
        out: list[MultiProblem] = []
        if self.power is not None and self.type != "electric":
            out.append(MultiProblem(("power",), "power applies to electric engines; remove it "
                                                "or set type: electric"))
        if self.thrust is None and self.type == "electric":
            out.append(MultiProblem(("thrust",), "an electric engine needs its thrust (a "
                                                 "spiral's duration follows from it); add e.g. "
                                                 "`thrust: 50 mN`"))
        _raise_all(out)
        return self


class TugDoc(_Doc):
    """The orbital transfer vehicle."""

    name: Name
    dry_mass: _quantity("mass", "180 kg", minimum=0.0, required=True)
    propellant: _quantity("mass", "120 kg", minimum=0.0, exclusive=False, required=True,
                          description="Propellant loaded (0 kg asks the planner what is "
                                      "missing).")
    tank_capacity: _quantity("mass", "150 kg", minimum=0.0,
                             description="Most propellant the tank holds (default: the "
                                         "propellant loaded).") = None
    propellant_reserve: ReserveField = None
    engines: Annotated[list[EngineDoc],
                       Field(examples=[[{"name": "main", "type": "chemical", "isp": "220 s",
                                         "thrust": "22 N"}]])]

    @model_validator(mode="after")
    def _check(self):
        out: list[MultiProblem] = []
        if not self.engines:
            out.append(MultiProblem(("engines",), "the engine list is empty; add at least one "
                                                  "engine"))
        if self.tank_capacity is not None and self.propellant > self.tank_capacity:
            out.append(MultiProblem(
                ("propellant",),
                f"{_format_number(self.propellant)} kg loaded exceeds the tank_capacity of "
                f"{_format_number(self.tank_capacity)} kg; load less or enlarge the tank"))
        reserve = self.propellant_reserve
        if reserve is not None and reserve.kg is not None and reserve.kg > self.propellant:
            out.append(MultiProblem(
                ("propellant_reserve",),
                f"a reserve of {_format_number(reserve.kg)} kg is more than the "
                f"{_format_number(self.propellant)} kg of propellant loaded"))
        _raise_all(out)
        return self


class PayloadDoc(_Doc):
    """A payload and where it must go."""

    name: Name
    mass: _quantity("mass", "50 kg", minimum=0.0, required=True)
    target: OrbitDoc
    deliver_by: DeadlineField = None
    priority: _integer(1, "Importance, 1 (default) or more; higher is more important.") = None


class DisposalDoc(_Doc):
    """End-of-mission disposal: none, perigee (lower it to an altitude), reentry (within a time)."""

    type: Literal["none", "perigee", "reentry"]
    altitude: _quantity("length", "50 km", minimum=0.0, exclusive=False,
                        description="Target perigee altitude (type perigee).") = None
    within: _quantity("time", "5 yr", minimum=0.0,
                      description="Orbit decays within this time (type reentry).") = None
    area: _quantity("area", "1.5 m2", minimum=0.0, description="Drag area (type reentry).") = None
    cd: _number(minimum=0.0, exclusive=True, example=2.2,
                description="Drag coefficient (type reentry, default 2.2).") = None

    @model_validator(mode="after")
    def _check(self):
        allowed = {"none": set(), "perigee": {"altitude"},
                   "reentry": {"within", "area", "cd"}}[self.type]
        required = {"none": (), "perigee": ("altitude",), "reentry": ("within",)}[self.type]
        out = [MultiProblem((key,), f"{key} does not apply to disposal type {self.type}")
               for key in ("altitude", "within", "area", "cd")
               if getattr(self, key) is not None and key not in allowed]
        out += [MultiProblem((), f"disposal type {self.type} needs {key}, e.g. "
                                 f"`{key}: {'50 km' if key == 'altitude' else '5 yr'}`")
                for key in required if getattr(self, key) is None]
        _raise_all(out)
        return self


class ConstraintsDoc(_Doc):
    """Mission constraints (all optional)."""

    max_duration: _quantity("time", "150 d", minimum=0.0) = None
    disposal: Optional[DisposalDoc] = None
    min_deploy_separation: _quantity("time", "2 h", minimum=0.0, exclusive=False,
                                     description="Least time between two deployments.") = None
    min_drift_altitude: _quantity("length", "350 km", minimum=MIN_PERIGEE_ALTITUDE_KM,
                                  exclusive=False) = None
    max_drift_altitude: _quantity("length", "2000 km", minimum=MIN_PERIGEE_ALTITUDE_KM,
                                  exclusive=False) = None
    max_impulsive_burn: _quantity("time", "10 min", minimum=0.0,
                                  description="Longest burn treated as impulsive.") = None

    @model_validator(mode="after")
    def _check(self):
        low = self.min_drift_altitude
        high = self.max_drift_altitude
        defaults = Constraints()
        low = defaults.min_drift_altitude_km if low is None else low
        high = defaults.max_drift_altitude_km if high is None else high
        if low >= high:
            key = "max_drift_altitude" if self.max_drift_altitude is not None else \
                "min_drift_altitude"
            _raise_all([MultiProblem((key,), f"min_drift_altitude ({_format_number(low)} km) must "
                                             f"be below max_drift_altitude "
                                             f"({_format_number(high)} km)")])
        return self


class SolverDoc(_Doc):
    """How the solver searches (all optional)."""

    objective: Optional[Literal["propellant", "duration", "pareto"]] = None
    exact_max_payloads: _integer(0, "Manifests up to this size are sequenced exactly.") = None
    beam_width: _integer(1, "Beam of the heuristic for larger manifests.") = None
    drift_grid: _integer(1, "Drift durations offered per leg.") = None
    max_phasing_revs: _integer(0, "Most revolutions a phasing orbit may take.") = None
    time_limit: _quantity("time", "60 s", minimum=0.0) = None


class ScenarioDoc(_Doc):
    """A scenario file, as written (values with units)."""

    model_config = ConfigDict(
        extra="forbid", coerce_numbers_to_str=True, frozen=True,
        title="otvplan scenario",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "patternProperties": {"^x-": {}}},
    )

    name: Annotated[str, Field(min_length=1, examples=["sso-rideshare"]),
                    AfterValidator(_validate_name)]
    description: Annotated[Optional[str], AfterValidator(_validate_description)] = None
    epoch: Epoch
    dropoff: DropoffDoc
    tug: TugDoc
    payloads: Annotated[list[PayloadDoc], Field(examples=[[{"name": "sat-1", "mass": "50 kg",
                                                            "target": {"altitude": "550 km",
                                                                       "sso": True}}]])]
    constraints: Optional[ConstraintsDoc] = None
    solver: Optional[SolverDoc] = None

    @model_validator(mode="after")
    def _check(self):
        out: list[MultiProblem] = []
        if not self.payloads:
            out.append(MultiProblem(("payloads",), "the payload list is empty; add at least one "
                                                   "payload"))
        for i, payload in enumerate(self.payloads):
            if payload.deliver_by is not None and payload.deliver_by.at is not None:
                if payload.deliver_by.at <= self.epoch:
                    out.append(MultiProblem(("payloads", i, "deliver_by"),
                                            "must be after the epoch "
                                            f"({self.epoch.isoformat().replace('+00:00', 'Z')})"))
        _raise_all(out)
        return self


def _document_checks(data: Any, file: str, marks: _Data) -> list[Problem]:
    """Checks on the raw data that must run even when other parts of the file are invalid."""
    out: list[Problem] = []
    if not isinstance(data, dict):
        return out

    def at(loc: tuple, message: str) -> Problem:
        return Problem(file, _format_path(loc), message, *_mark_of(marks, loc, key=False))

    payloads = data.get("payloads")
    if isinstance(payloads, list) and len(payloads) > MAX_PAYLOADS:
        out.append(Problem(file, "payloads", f"{len(payloads):,} payloads; a scenario takes at "
                                             f"most {MAX_PAYLOADS} (scenario.MAX_PAYLOADS): "
                                             "split the manifest into several scenarios",
                           *_mark_of(marks, ("payloads",), key=True)))
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
                line = _mark_of(marks, first, key=False)[0]
                out.append(at(loc + (i, "name"),
                              f'duplicate {what} name "{_printable(name)}" (also '
                              f"{_format_path(first)}"
                              + (f", line {line}" if line else "") + "); names must be unique"))
            else:
                seen[name] = i
    if data.get("epoch") is None:
        orbits_with_ltan = []
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
                out.append(at(loc + ("ltan",),
                              "an LTAN needs the scenario epoch to place the Sun; add "
                              "`epoch: 2027-03-01T10:00:00Z` at the top of the file, or give "
                              "raan instead"))
    return out


# ============================================================================================
# Validation errors -> problems
# ============================================================================================


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated/Optional/list wrappers down to a model class or a Literal."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _field_at(loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """Return (model class holding the last key of ``loc``, that field's annotation).

    Walks the document models along ``loc``; list indices step into the item type.
    ``(None, None)`` when ``loc`` leaves the schema (an unknown key, say).
    """
    model: Any = ScenarioDoc
    holder: type[BaseModel] | None = None
    annotation: Any = None
    for part in loc:
        if isinstance(part, int):
            if typing.get_origin(annotation) is not list:
                return None, None
            annotation = _unwrap(typing.get_args(annotation)[0])
            model = annotation
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None, None
        info = model.model_fields.get(part)
        if info is None:
            return None, None
        holder = model
        annotation = _unwrap(info.annotation)
        model = annotation
    return holder, annotation


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class validating the mapping at ``loc``."""
    if not loc:
        return ScenarioDoc
    _, annotation = _field_at(loc)
    if typing.get_origin(annotation) is list:
        return None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
        else None


def _example_line(loc: tuple) -> str:
    """`key: example` for a missing field, from the field's examples."""
    holder, annotation = _field_at(loc)
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


def _mark_of(marks: _Data, loc: tuple, key: bool) -> tuple[int | None, int | None]:
    """1-based (line, column) of the key (``key=True``) or value at ``loc``, or its parent's."""
    table = marks.key_marks if key else marks.value_marks
    mark = table.get(loc)
    if mark is None and not key:
        mark = marks.value_marks.get(loc)
    probe = loc
    while mark is None and probe:
        probe = probe[:-1]
        mark = marks.value_marks.get(probe)
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


def _type_message(error: dict) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (indented `key: value` lines), got {_describe_value(value)}"
    if kind == "list_type":
        return f"expected a list (lines starting with `- `), got {_describe_value(value)}"
    if kind in ("string_type",):
        return f"expected text, got {_describe_value(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_describe_value(value)}"
    return error["msg"]


def _translate(error: ValidationError, file: str, marks: _Data) -> list[Problem]:
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
                problems.append(Problem(file, _format_path(full), sub.message,
                                        *_mark_of(marks, full, key=False)))
            continue
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = list(model.model_fields) if model else []
            unknown = str(loc[-1])
            close = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.6)
            if close:
                message = f'unknown key "{_printable(unknown)}"; did you mean "{close[0]}"?'
            else:
                message = (f'unknown key "{_printable(unknown)}"; allowed here: '
                           f'{", ".join(allowed)}')
            problems.append(Problem(file, _format_path(loc), message,
                                    *_mark_of(marks, loc, key=True)))
            continue
        if kind == "missing":
            siblings = [x[-1] for x in extra if x[:-1] == loc[:-1]]
            if difflib.get_close_matches(str(loc[-1]), [str(s) for s in siblings], n=1,
                                         cutoff=0.6):
                continue  # reported as the misspelt key's "did you mean"
            parent = loc[:-1]
            problems.append(Problem(file, _format_path(loc),
                                    "required, but missing" + _example_line(loc),
                                    *_mark_of(marks, parent, key=parent in marks.key_marks)))
            continue
        if kind == "literal_error":
            _, annotation = _field_at(loc)
            choices = [str(c) for c in typing.get_args(annotation)] if annotation else []
            given = err.get("input")
            message = f"expected one of {', '.join(choices)}; got {_describe_value(given)}"
            close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.5)
            if close and isinstance(given, str):
                message += f' (did you mean "{close[0]}"?)'
            problems.append(Problem(file, _format_path(loc), message,
                                    *_mark_of(marks, loc, key=False)))
            continue
        if kind == "value_error":  # a ValueError from inside a validator (e.g. PhysicsError)
            message = str(err["ctx"]["error"])
        else:
            message = err["ctx"]["message"] if kind == "otvplan" else _type_message(err)
        problems.append(Problem(file, _format_path(loc), message,
                                *_mark_of(marks, loc, key=False)))
    return problems


# ============================================================================================
# Building the model
# ============================================================================================


def _angle(x: float | None, default: float | None) -> float | None:
    """Wrap an angle into [0, 2 pi); ``default`` when absent."""
    if x is None:
        return default
    wrapped = math.fmod(x, _ANGLE_360)
    if wrapped < 0.0:
        wrapped += _ANGLE_360
    return 0.0 if wrapped >= _ANGLE_360 else wrapped


def _build_orbit(doc: OrbitDoc, epoch: _dt.datetime, *, dropoff: bool) -> OrbitSpec:
    from otvplan.core import orbits  # numpy: imported when first needed

    a, e = doc.shape()  # validated: the shape is given exactly once
    # order=2: the planner's nodal-rate model (J2 to second order), so that every
    # sun-synchronous orbit of a scenario turns at exactly the Sun's rate under it
    inc = (doc.inclination if doc.inclination is not None
           else float(orbits.sso_inclination(a, e, order=2)))
    reference = doc.ltan_reference or "mean"
    if doc.ltan is not None:
        raan = float(orbits.ltan_to_raan(doc.ltan, julian_date(epoch), reference))
    else:
        raan = _angle(doc.raan, None)
    default_tol = Tolerances()
    tol = doc.tolerances
    tolerances = default_tol if tol is None else Tolerances(
        sma_km=default_tol.sma_km if tol.sma is None else tol.sma,
        eccentricity=default_tol.eccentricity if tol.eccentricity is None else tol.eccentricity,
        inclination_rad=default_tol.inclination_rad if tol.inclination is None
        else tol.inclination,
        raan_rad=default_tol.raan_rad if tol.raan is None else tol.raan,
        slot_rad=default_tol.slot_rad if tol.slot is None else tol.slot,
    )
    return OrbitSpec(
        a_km=a,
        e=e,
        inc_rad=inc,
        raan_rad=raan,
        argp_rad=_angle(doc.argp, 0.0),
        slot_rad=_angle(doc.slot, 0.0 if dropoff else None),
        sso=bool(doc.sso),
        ltan_h=doc.ltan,
        tolerances=tolerances,
        ltan_reference=reference if doc.ltan is not None else "mean",
    )


def _build(doc: ScenarioDoc, source: str | None) -> Scenario:
    epoch = doc.epoch
    t = doc.tug
    reserve = t.propellant_reserve
    if reserve is None:
        reserve_kg = 0.0
    elif reserve.kg is not None:
        reserve_kg = reserve.kg
    else:
        reserve_kg = reserve.fraction * t.propellant
    tug = Tug(
        name=t.name,
        dry_mass_kg=t.dry_mass,
        propellant_kg=t.propellant,
        tank_capacity_kg=t.propellant if t.tank_capacity is None else t.tank_capacity,
        reserve_kg=reserve_kg,
        engines=tuple(Engine(name=e.name, kind=e.type, isp_s=e.isp,
                             thrust_n=math.inf if e.thrust is None else e.thrust,
                             power_w=e.power) for e in t.engines),
    )
    for engine in tug.engines:
        if math.isinf(engine.thrust_n):
            logger.info("%s: engine %s has no thrust: its burns are impulsive (no duration, no "
                        "finite-burn check)", source or "scenario", engine.name)
    payloads = []
    for p in doc.payloads:
        deadline = p.deliver_by
        if deadline is None:
            deliver_by_s = None
        elif deadline.after_s is not None:
            deliver_by_s = deadline.after_s
        else:
            deliver_by_s = (deadline.at - epoch).total_seconds()
        payloads.append(Payload(
            name=p.name, mass_kg=p.mass, target=_build_orbit(p.target, epoch, dropoff=False),
            deliver_by_s=deliver_by_s, priority=1 if p.priority is None else p.priority,
        ))
    c = doc.constraints or ConstraintsDoc()
    dc = Constraints()
    d = c.disposal
    dd = Disposal()
    if d is None:
        disposal = dd
    else:
        disposal = Disposal(
            kind=d.type,
            perigee_altitude_km=d.altitude,
            reentry_years=None if d.within is None else _years(d.within),
            area_m2=dd.area_m2 if d.area is None else d.area,
            drag_coefficient=dd.drag_coefficient if d.cd is None else d.cd,
        )
    constraints = Constraints(
        max_duration_s=c.max_duration,
        disposal=disposal,
        min_deploy_separation_s=_default(c.min_deploy_separation, dc.min_deploy_separation_s),
        min_drift_altitude_km=_default(c.min_drift_altitude, dc.min_drift_altitude_km),
        max_drift_altitude_km=_default(c.max_drift_altitude, dc.max_drift_altitude_km),
        max_impulsive_burn_s=_default(c.max_impulsive_burn, dc.max_impulsive_burn_s),
    )
    s = doc.solver or SolverDoc()
    ds = SolverSettings()
    solver = SolverSettings(
        objective=_default(s.objective, ds.objective),
        exact_max_payloads=_default(s.exact_max_payloads, ds.exact_max_payloads),
        drift_grid=_default(s.drift_grid, ds.drift_grid),
        max_phasing_revs=_default(s.max_phasing_revs, ds.max_phasing_revs),
        beam_width=_default(s.beam_width, ds.beam_width),
        time_limit_s=s.time_limit,
    )
    return Scenario(
        name=doc.name,
        epoch=epoch,
        dropoff=_build_orbit(doc.dropoff, epoch, dropoff=True),
        tug=tug,
        payloads=tuple(payloads),
        constraints=constraints,
        solver=solver,
        description=doc.description or "",
        source=source,
    )


_YEAR_S = UNIT_TABLE["yr"][1]


def _years(seconds: float) -> float:
    return seconds / _YEAR_S


def _default(value, default):
    return default if value is None else value


# ============================================================================================
# Public API
# ============================================================================================


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _one_line(problem: Problem) -> Problem:
    """The problem with control characters escaped in its file, path and message, so that
    ``str(problem)`` is one ``file:line:col: path: message`` line whatever the input held."""
    parts = (problem.file, problem.path, problem.message)
    if not any(_UNPRINTABLE.search(part) for part in parts):
        return problem
    return dataclasses.replace(problem, file=_printable(problem.file),
                               path=_printable(problem.path), message=_printable(problem.message))


def _error(problems: list[Problem]) -> ScenarioError:
    return ScenarioError([_one_line(p) for p in problems])


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
        raise _error([Problem(source, "", f"cannot read the data as a scenario: {exc}; give "
                                          "dicts, lists, strings, numbers and booleans")]) from None
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
    try:
        if isinstance(text, (bytes, bytearray)):
            if len(text) > MAX_FILE_BYTES:
                raise _Reject([_problem(filename, f"text is larger than {MAX_FILE_BYTES:,} bytes;"
                                                  " a scenario is a few kB of YAML")])
            text = _decode(bytes(text), filename)
        elif len(text) > MAX_FILE_BYTES:
            raise _Reject([_problem(filename, f"text is larger than {MAX_FILE_BYTES:,} "
                                              "characters; a scenario is a few kB of YAML")])
        elif "\x00" in text:
            raise _Reject([_problem(filename, "is binary data (it contains NUL characters), not "
                                              "YAML text")])
        root = _compose_fast(text)
        if root is not None:
            # same nodes and marks as the reference loader, so the same message; composing
            # again would make a document over the limit cost seconds to refuse (100,000
            # nodes: ~20 s in pure Python)
            _check_size(root, filename)
        if root is None:
            root = _compose(text, filename)
            if root is None:
                raise _Reject([_problem(filename, "the file is empty; `otvplan example` writes "
                                                  "a starter scenario")])
            _check_size(root, filename)
        marks = _to_data(root, filename)
    except _Reject as reject:
        raise _error(reject.problems) from None
    problems = list(marks.problems)
    problems += _document_checks(marks.data, filename, marks)
    doc = None
    try:
        doc = ScenarioDoc.model_validate(marks.data)
    except ValidationError as exc:
        unreadable = {p.path for p in marks.problems}  # already reported: skip their echoes
        problems += [p for p in _translate(exc, filename, marks) if p.path not in unreadable]
    if problems:
        unique = list(dict.fromkeys(problems))
        raise _error(_sorted(unique))
    return _build(doc, None if filename == "<string>" else filename)


def load(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file; return the frozen :class:`Scenario`.

    Raises :class:`ScenarioError` listing every problem (including a missing file, a directory,
    a file over :data:`MAX_FILE_BYTES`, or one that is not UTF-8 text).
    """
    file = os.fspath(path)
    try:
        data = _read_bytes(Path(file), file)
        text = _decode(data, file)
    except _Reject as reject:
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
    schema["description"] = ("otvplan scenario file. Quantities are strings with units, like "
                             '"525 km"; see docs/scenario-format.md.')
    return schema


# ============================================================================================
# Writing (dumps)
# ============================================================================================


_DEG = ("deg",)


def _utc_text(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _ltan_text(ltan_h: float) -> str:
    total_minutes = ltan_h * 60.0
    minutes = round(total_minutes)
    if abs(total_minutes - minutes) < 1e-9:
        text = f"{minutes // 60:02d}:{minutes % 60:02d}"
        if _validate_ltan(text) == ltan_h:
            return text
    return f"{_format_number(ltan_h)} h"


def _orbit_candidates(orbit: OrbitSpec, *, dropoff: bool) -> list[dict]:
    """Ways to write an orbit, most readable first; the last always reproduces it exactly."""
    plane: dict[str, Any] = {}
    exact_plane: dict[str, Any] = {}
    if orbit.sso:
        plane["sso"] = exact_plane["sso"] = True
    else:
        plane["inclination"] = format_quantity(orbit.inc_rad, "angle", _DEG)
        exact_plane["inclination"] = format_quantity(orbit.inc_rad, "angle")
    tail: dict[str, Any] = {}
    exact_tail: dict[str, Any] = {}
    if orbit.ltan_h is not None:
        tail["ltan"] = exact_tail["ltan"] = _ltan_text(orbit.ltan_h)
        if orbit.ltan_reference != "mean":
            tail["ltan_reference"] = exact_tail["ltan_reference"] = orbit.ltan_reference
    elif orbit.raan_rad is not None:
        tail["raan"] = format_quantity(orbit.raan_rad, "angle", _DEG)
        exact_tail["raan"] = format_quantity(orbit.raan_rad, "angle")
    if orbit.argp_rad != 0.0:
        tail["argp"] = format_quantity(orbit.argp_rad, "angle", _DEG)
        exact_tail["argp"] = format_quantity(orbit.argp_rad, "angle")
    if orbit.slot_rad is not None and not (dropoff and orbit.slot_rad == 0.0):
        tail["slot"] = format_quantity(orbit.slot_rad, "angle", _DEG)
        exact_tail["slot"] = format_quantity(orbit.slot_rad, "angle")
    tolerances = _tolerances_doc(orbit.tolerances)
    if tolerances:
        tail["tolerances"] = exact_tail["tolerances"] = tolerances
    sizes: list[dict] = []
    if orbit.e == 0.0:
        sizes += [{"altitude": f"{text} km"} for text in _decimals(orbit.a_km - R_EARTH_KM)
                  if R_EARTH_KM + float(text) == orbit.a_km][:1]
    else:
        apsides = _apsis_texts(orbit.a_km, orbit.e)
        if apsides is not None:
            sizes.append({"perigee_altitude": f"{apsides[0]} km",
                          "apogee_altitude": f"{apsides[1]} km"})
    exact_size: dict[str, Any] = {"sma": format_quantity(orbit.a_km, "length")}
    if orbit.e != 0.0:
        exact_size["eccentricity"] = orbit.e
    return ([{**size, **plane, **tail} for size in sizes]
            + [{**exact_size, **plane, **tail}, {**exact_size, **exact_plane, **exact_tail}])


def _decimals(x: float) -> list[str]:
    """``x`` rounded to 1, 2, ... 17 significant digits, as distinct decimal texts."""
    texts = [_format_number(float(f"{x:.{digits}g}")) for digits in range(1, 18)]
    return list(dict.fromkeys(texts))


def _apsis_texts(a: float, e: float) -> tuple[str, str] | None:
    """The shortest perigee/apogee altitude texts [km] that give back exactly (a, e).

    Uses the arithmetic of :meth:`OrbitDoc.shape`; ``None`` when no pair reproduces the orbit.
    """
    perigees = _decimals(a * (1.0 - e) - R_EARTH_KM)
    apogees = _decimals(a * (1.0 + e) - R_EARTH_KM)
    pairs = sorted(((p, q) for p in perigees for q in apogees),
                   key=lambda pq: len(pq[0]) + len(pq[1]))
    for p, q in pairs:
        hp, ha = float(p), float(q)
        a2 = R_EARTH_KM + 0.5 * (hp + ha)
        if a2 == a and 0.5 * (ha - hp) / a2 == e:
            return p, q
    return None


def _tolerances_doc(tol: Tolerances) -> dict:
    default = Tolerances()
    out: dict[str, Any] = {}
    for key, attr, dimension, units in (
        ("sma", "sma_km", "length", ("km",)),
        ("eccentricity", "eccentricity", None, ()),
        ("inclination", "inclination_rad", "angle", _DEG),
        ("raan", "raan_rad", "angle", _DEG),
        ("slot", "slot_rad", "angle", _DEG),
    ):
        value = getattr(tol, attr)
        if value != getattr(default, attr):
            out[key] = value if dimension is None else format_quantity(value, dimension, units)
    return out


def _orbit_doc(orbit: OrbitSpec, epoch: _dt.datetime, *, dropoff: bool) -> dict:
    model = DropoffDoc if dropoff else OrbitDoc
    candidates = _orbit_candidates(orbit, dropoff=dropoff)
    for candidate in candidates:
        try:
            doc = model.model_validate(candidate)
        except ValidationError:
            continue
        if _build_orbit(doc, epoch, dropoff=dropoff) == orbit:
            return candidate
    return candidates[-1]


def _scenario_doc(s: Scenario) -> dict:
    doc: dict[str, Any] = {"name": s.name}
    if s.description:
        doc["description"] = s.description
    doc["epoch"] = _utc_text(s.epoch)
    doc["dropoff"] = _orbit_doc(s.dropoff, s.epoch, dropoff=True)
    tug = s.tug
    doc["tug"] = {
        "name": tug.name,
        "dry_mass": format_quantity(tug.dry_mass_kg, "mass", ("kg",)),
        "propellant": format_quantity(tug.propellant_kg, "mass", ("kg",)),
        "tank_capacity": format_quantity(tug.tank_capacity_kg, "mass", ("kg",)),
    }
    if tug.reserve_kg != 0.0:
        doc["tug"]["propellant_reserve"] = format_quantity(tug.reserve_kg, "mass", ("kg",))
    engines = []
    for e in tug.engines:
        engine: dict[str, Any] = {
            "name": e.name, "type": e.kind,
            "isp": format_quantity(e.isp_s, "time", ("s",)),
        }
        if not math.isinf(e.thrust_n):  # no thrust: an impulsive engine
            engine["thrust"] = format_quantity(e.thrust_n, "force", ("N", "mN"))
        if e.power_w is not None:
            engine["power"] = format_quantity(e.power_w, "power", ("W",))
        engines.append(engine)
    doc["tug"]["engines"] = engines
    payloads = []
    for p in s.payloads:
        payload: dict[str, Any] = {
            "name": p.name, "mass": format_quantity(p.mass_kg, "mass", ("kg",)),
            "target": _orbit_doc(p.target, s.epoch, dropoff=False),
        }
        if p.deliver_by_s is not None:
            payload["deliver_by"] = format_quantity(p.deliver_by_s, "time", ("d", "h", "min"))
        if p.priority != 1:
            payload["priority"] = p.priority
        payloads.append(payload)
    doc["payloads"] = payloads
    constraints = _changed(s.constraints, Constraints(), {
        "max_duration_s": ("max_duration", "time", ("d", "h")),
        "min_deploy_separation_s": ("min_deploy_separation", "time", ("h", "min")),
        "min_drift_altitude_km": ("min_drift_altitude", "length", ("km",)),
        "max_drift_altitude_km": ("max_drift_altitude", "length", ("km",)),
        "max_impulsive_burn_s": ("max_impulsive_burn", "time", ("min",)),
    })
    if s.constraints.disposal != Disposal():
        d = s.constraints.disposal
        disposal: dict[str, Any] = {"type": d.kind}
        if d.perigee_altitude_km is not None:
            disposal["altitude"] = format_quantity(d.perigee_altitude_km, "length", ("km",))
        if d.reentry_years is not None:
            disposal["within"] = _years_text(d.reentry_years)
        if d.area_m2 != Disposal().area_m2:
            disposal["area"] = format_quantity(d.area_m2, "area")
        if d.drag_coefficient != Disposal().drag_coefficient:
            disposal["cd"] = d.drag_coefficient
        constraints["disposal"] = disposal
    if constraints:
        doc["constraints"] = constraints
    solver = _changed(s.solver, SolverSettings(), {
        "objective": ("objective", None, ()),
        "exact_max_payloads": ("exact_max_payloads", None, ()),
        "beam_width": ("beam_width", None, ()),
        "drift_grid": ("drift_grid", None, ()),
        "max_phasing_revs": ("max_phasing_revs", None, ()),
        "time_limit_s": ("time_limit", "time", ("s",)),
    })
    if solver:
        doc["solver"] = solver
    return doc


def _years_text(years: float) -> str:
    """Text for a duration in years that converts back to exactly ``years``."""
    def same(text: str) -> bool:
        return _years(parse_quantity(text, "time")) == years

    for unit in ("yr", "d"):
        text = _format_number(years * _YEAR_S / UNIT_TABLE[unit][1],
                              check=lambda t, unit=unit: same(f"{t} {unit}")) + f" {unit}"
        if same(text):
            return text
    return format_quantity(years * _YEAR_S, "time")


def _changed(value, default, fields: dict) -> dict:
    out: dict[str, Any] = {}
    for attr, (key, dimension, units) in fields.items():
        x = getattr(value, attr)
        if x == getattr(default, attr) or x is None:
            continue
        out[key] = x if dimension is None else format_quantity(x, dimension, units)
    return out


class _Dumper(yaml.SafeDumper):
    """Block-style YAML; strings that look like numbers or times stay quoted (SafeDumper)."""


def dumps(scenario: Scenario) -> str:
    """Return scenario YAML that :func:`loads` turns back into an equal :class:`Scenario`.

    Values are written in readable units (km, deg, kg, d) when that reproduces the stored
    float exactly, otherwise in core units with every digit; LTAN and ``sso: true`` are kept
    as given. ``Scenario.source`` is not written (it records where a scenario was read from).
    """
    header = f"# otvplan scenario: {_printable(scenario.name)}\n"
    return header + yaml.dump(_scenario_doc(scenario), Dumper=_Dumper, sort_keys=False,
                              default_flow_style=False, allow_unicode=True, width=100)

