"""Trade studies: a base scenario, parameter axes and a design -> one table row per case.

The API copies :mod:`otvplan.io.scenario`::

    study = load("studies/isp_vs_dropoff.yaml")      # or loads(text, filename=...)
    table = sweep(study, out_dir="out/isp")           # pandas.DataFrame, one row per case

A study file names a base scenario (a path relative to the study file, or the scenario inline),
the axes to vary, addressed by their path in the scenario document, a design, the solver
objective and the metrics to record::

    name: isp-vs-dropoff
    base: ../scenarios/sso_rideshare.yaml
    axes:
      tug.engines[0].isp: [220 s, 260 s, 300 s]
      dropoff.altitude: {from: 450 km, to: 600 km, steps: 7}
    design: grid                  # or {type: lhs, size: 200, seed: 1}, {type: sobol, ...}
    objective: propellant
    metrics: [total_dv, propellant_used, propellant_margin, duration, feasible]

The file is validated like a scenario (every problem at once, ``file:line:col: path: message``,
with the scenario module's YAML-with-marks reader); axis paths are checked against the scenario
schema and the base scenario, axis values against the field they set.

Each case edits the base scenario's plain YAML data at the axis paths, dumps it and validates
it with :func:`otvplan.io.scenario.loads`, then calls :func:`otvplan.planning.solver.plan`. A case whose
values make an invalid scenario is a row with status ``bad-input`` and the message; a case
that raises is a row with status ``error``; neither stops the study (errors as data, the
status codes of :mod:`otvplan.errors`).

:func:`sweep` runs the cases on local worker processes (``spawn``) by default, or on any
:class:`concurrent.futures.Executor` (a Dask ``client.get_executor()`` included), stores each
finished case in an append-only results file (:mod:`otvplan.study.store`) so that a rerun
computes only the missing cases, and writes the table (Parquet, CSV) and figures atomically.
The format and the outputs are documented in ``docs/trade-studies.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import io
import itertools
import json
import math
import os
import re
import socket
import threading
import time
import traceback
import typing
from collections import deque
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import yaml
from pydantic import ConfigDict, PydanticUserError, TypeAdapter, ValidationError, WithJsonSchema

from otvplan import __version__
from otvplan.io import scenario as _sc
from otvplan.io.atomicio import write_bytes, write_text
from otvplan.errors import (
    STATUS_BAD_INPUT,
    STATUS_ERROR,
    STATUS_INFEASIBLE,
    STATUS_OK,
    ClusterError,
    OtvplanError,
    Problem,
    ScenarioError,
    StudyError,
)

__all__ = [
    "DESIGNS",
    "MAX_CASES",
    "METRICS",
    "STATUS_NAMES",
    "Axis",
    "Case",
    "Design",
    "Study",
    "axis_label",
    "figures",
    "metric_label",
    "load",
    "loads",
    "run_case",
    "sweep",
]

#: Most cases a study may have (a grid's product of axis lengths, or a design's size).
MAX_CASES = 1_000_000

#: Largest study file accepted [bytes].
MAX_FILE_BYTES = _sc.MAX_FILE_BYTES

#: Designs: every combination, Latin hypercube, scrambled Sobol' sequence (scipy.stats.qmc).
DESIGNS = ("grid", "lhs", "sobol")

#: Solver objectives a study may ask for (otvplan.planning.solver.OBJECTIVES).
OBJECTIVES = ("propellant", "duration", "pareto")

#: Short names of the case status codes, as written in the table's ``status`` column.
STATUS_NAMES = {
    STATUS_OK: "ok",
    STATUS_INFEASIBLE: "infeasible",
    STATUS_BAD_INPUT: "bad-input",
    STATUS_ERROR: "error",
}

TOP_KEYS = ("name", "description", "base", "axes", "design", "objective", "metrics")
DESIGN_KEYS = ("type", "size", "seed")
RANGE_KEYS = ("from", "to", "steps", "scale")

#: Seconds per day, for the day columns.
_DAY_S = 86400.0


# ============================================================================================
# Metrics
# ============================================================================================


class Metric(NamedTuple):
    """A quantity recorded per case: its table column, unit, kind and how to read it."""

    column: str
    unit: str
    kind: str  # "float", "int", "bool" or "text"
    description: str
    read: Callable[[Any], Any]


def _solve_time(plan) -> float:
    return plan.solve_time_s if plan.solve_time_s > 0 else math.nan


#: Every metric a study can record, by the name used in the study file.
METRICS: dict[str, Metric] = {
    "total_dv": Metric("total_dv_m_s", "m/s", "float", "delta-v of every burn",
                       lambda p: p.total_dv_kms * 1000.0),
    "propellant_used": Metric("propellant_used_kg", "kg", "float", "propellant burnt",
                              lambda p: p.propellant_used_kg),
    "propellant_remaining": Metric("propellant_remaining_kg", "kg", "float",
                                   "propellant left at the end, reserve included",
                                   lambda p: p.propellant_remaining_kg),
    "propellant_margin": Metric("propellant_margin_kg", "kg", "float",
                                "propellant left above the reserve",
                                lambda p: p.propellant_margin_kg),
    "duration": Metric("duration_d", "d", "float", "mission duration, disposal included",
                       lambda p: p.duration_s / _DAY_S),
    "initial_mass": Metric("initial_mass_kg", "kg", "float", "tug, propellant and payloads",
                           lambda p: p.scenario.initial_mass_kg),
    "final_mass": Metric("final_mass_kg", "kg", "float", "tug mass at the end",
                         lambda p: p.final_mass_kg),
    "feasible": Metric("feasible", "", "bool", "every payload delivered within every limit",
                       lambda p: bool(p.feasible)),
    "delivered": Metric("delivered", "", "int", "number of payloads delivered",
                        lambda p: len(p.delivered)),
    "undelivered": Metric("undelivered", "", "text", "names of the payloads not delivered",
                          lambda p: ";".join(p.undelivered)),
    "shortfall_propellant": Metric("shortfall_propellant_kg", "kg", "float",
                                   "more propellant needed for the whole manifest",
                                   lambda p: p.shortfall_propellant_kg),
    "shortfall_time": Metric("shortfall_time_d", "d", "float",
                             "more time needed for the whole manifest",
                             lambda p: p.shortfall_time_s / _DAY_S),
    "legs": Metric("legs", "", "int", "number of legs, disposal included",
                   lambda p: len(p.legs)),
    "exact": Metric("exact", "", "bool", "sequence proven optimal within the leg model",
                    lambda p: bool(p.exact)),
    "solve_time": Metric("solve_time_s", "s", "float", "the solver's own time",
                         lambda p: _solve_time(p)),
}


# ============================================================================================
# Axis paths
# ============================================================================================


class _All:
    """The ``[*]`` selector: every item of a list."""

    def __repr__(self) -> str:
        return "[*]"


ALL = _All()


class _Named(NamedTuple):
    """The ``[name]`` selector: the list item whose ``name`` is this."""

    name: str


class PathError(ValueError):
    """An axis path that does not parse or does not lead to a scenario field."""


_PATH_TOKEN = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<sel>[^\[\]]*)\]|(?P<dot>\.)")


def parse_path(text: str) -> tuple:
    """Split an axis path into keys (str), indices (int), ``ALL`` and ``_Named`` selectors.

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
                raise PathError(f"[{selector}]: list indices count from 0; negative indices "
                                "are not supported")
            elif selector:
                parts.append(_Named(selector))
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
        elif isinstance(part, _All):
            out += "[*]"
        elif isinstance(part, _Named):
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
            where = _sc._format_path(loc)
            if isinstance(part, str):
                model = _sc._model_at(loc)
                if model is None:
                    _, annotation = _sc._field_at(loc)
                    if _is_list(annotation):
                        raise PathError(f"{where} is a list; select its items with [0], [*] or "
                                        f"[name], e.g. {where}[0].{part}")
                    raise PathError(f"{where} is a value, not a mapping; it has no key "
                                    f'"{part}"')
                allowed = list(model.model_fields)
                if part not in allowed:
                    close = difflib.get_close_matches(part, allowed, n=1, cutoff=0.6)
                    place = f"in {where}" if where else "at the top of a scenario"
                    hint = (f'did you mean "{close[0]}"?' if close
                            else f"allowed here: {', '.join(allowed)}")
                    raise PathError(f'unknown key "{part}" {place}; {hint}')
                child = node.get(part) if isinstance(node, dict) else None
                new.append((loc + (part,), child))
                continue
            _, annotation = _sc._field_at(loc)
            if not loc or not _is_list(annotation):
                raise PathError(f"{where or 'the scenario'} is not a list; [...] selects list "
                                "items, as in payloads[2] or tug.engines[0]")
            if base is None:
                new.append((loc + (0,), None))
                continue
            if not isinstance(node, list):
                raise PathError(f"{where} is not in the base scenario")
            if isinstance(part, _All):
                if not node:
                    raise PathError(f"{where} has no items in the base scenario")
                new += [(loc + (i,), item) for i, item in enumerate(node)]
            elif isinstance(part, _Named):
                found = [i for i, item in enumerate(node)
                         if isinstance(item, dict) and str(item.get("name")) == part.name]
                if not found:
                    names = [str(item.get("name")) for item in node if isinstance(item, dict)]
                    close = difflib.get_close_matches(part.name, names, n=1, cutoff=0.6)
                    hint = (f'did you mean "{close[0]}"?' if close
                            else f"names: {', '.join(names)}")
                    raise PathError(f'no item named "{part.name}" in {where}; {hint}')
                new.append((loc + (found[0],), node[found[0]]))
            else:
                if part >= len(node):
                    count = len(node)
                    raise PathError(f"{where} has {count} item{'s' if count != 1 else ''} in "
                                    f"the base scenario (0 to {count - 1}); [{part}] is out of "
                                    "range")
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


# ============================================================================================
# Field checks (an axis value against the scenario field it sets)
# ============================================================================================


def _schema_key(loc: tuple) -> tuple:
    return tuple(0 if isinstance(part, int) else part for part in loc)


@functools.lru_cache(maxsize=256)
def _field_adapter(schema_key: tuple) -> tuple[TypeAdapter, bool]:
    """(validator of the scenario field at ``schema_key``, whether it takes whole numbers)."""
    if isinstance(schema_key[-1], int):
        _, annotation = _sc._field_at(schema_key)
        return TypeAdapter(annotation), False
    holder, _ = _sc._field_at(schema_key)
    info = holder.model_fields[schema_key[-1]]
    tp = (typing.Annotated[(info.annotation, *info.metadata)] if info.metadata
          else info.annotation)
    integer = any(isinstance(m, WithJsonSchema) and (m.json_schema or {}).get("type") == "integer"
                  for m in info.metadata)
    try:  # the scenario models read numbers as text where text is expected (names)
        adapter = TypeAdapter(tp, config=ConfigDict(coerce_numbers_to_str=True))
    except PydanticUserError:  # a model type carries its own configuration
        adapter = TypeAdapter(tp)
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
        message = f"expected {ctx.get('expected')}; got {_sc._describe_value(err.get('input'))}"
    elif kind == "value_error":
        message = str(ctx.get("error"))
    elif kind == "extra_forbidden":
        message = f'unknown key "{err["loc"][-1]}"'
    elif kind == "missing":
        message = "required, but missing"
    else:
        message = _sc._type_message(err)
    loc = tuple(err["loc"])
    if kind in ("extra_forbidden", "missing"):
        loc = loc[:-1]
    return f"{_sc._format_path(loc)}: {message}" if loc else message


def field_problem(loc: tuple, value: Any) -> str | None:
    """The message of the scenario field at ``loc`` for ``value``; ``None`` when it accepts it."""
    adapter, _ = _field_adapter(_schema_key(loc))
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        return _validation_message(exc)
    return None


def _integer_field(loc: tuple) -> bool:
    return _field_adapter(_schema_key(loc))[1]


# ============================================================================================
# Axes, designs, studies
# ============================================================================================


def _quantity_parts(value: Any) -> tuple[float, str] | None:
    """(number, unit) of "525 km", (number, "") of a bare number, None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return (float(value), "") if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    clock = _sc._LTAN.match(value)
    if clock:
        hours = int(clock[1]) + int(clock[2]) / 60.0 + float(clock[3] or 0.0) / 3600.0
        return hours, "h"
    match = _sc._NUMBER_UNIT.match(value)
    if match is None or not match["unit"]:
        return None
    number = float(match["number"])
    return (number, match["unit"]) if math.isfinite(number) else None


def _convert(number: float, unit: str, to_unit: str) -> float | None:
    """``number`` [unit] in ``to_unit``; None when the units are not of one kind."""
    if unit == to_unit:
        return number
    a = _sc.UNIT_TABLE.get(unit)
    b = _sc.UNIT_TABLE.get(to_unit)
    if a is not None and b is not None:
        return number * a[1] / b[1] if a[0] == b[0] else None
    try:
        import astropy.units as u  # noqa: PLC0415 - only for units outside the table

        return float((number * u.Unit(unit)).to_value(u.Unit(to_unit)))
    except Exception:  # unknown unit or another kind
        return None


@dataclass(frozen=True)
class Axis:
    """One varied parameter.

    A *list* axis takes ``values`` as written; a *range* axis runs from ``start`` to ``stop``
    (in ``unit``; ``""`` for bare numbers, ``"h"`` for clock times like LTANs) with ``steps``
    values on a grid (linear or log ``scale``), or anywhere in between for sampled designs
    (the ``steps`` values when given). ``locations`` are the concrete places the path
    addresses in the base scenario (several for ``[*]``). ``numeric`` says whether the table
    column holds numbers in ``unit``.
    """

    path: str
    locations: tuple[tuple, ...]
    values: tuple = ()
    start: float | None = None
    stop: float | None = None
    unit: str = ""
    steps: int | None = None
    scale: str = "linear"
    integer: bool = False
    numeric: bool = True

    @property
    def is_range(self) -> bool:
        return self.start is not None

    @property
    def column(self) -> str:
        """The table column: the path, with the unit in parentheses when there is one."""
        return f"{self.path} ({self.unit})" if self.unit and self.numeric else self.path

    def _value(self, x: float) -> Any:
        if self.integer and not self.unit:
            return int(round(x))
        if not self.unit:
            return float(x)
        return f"{_sc._format_number(float(x))} {self.unit}"

    def _grid_numbers(self) -> list[float]:
        import numpy as np

        n = self.steps or 2
        if self.scale == "log":
            return [float(x) for x in np.geomspace(self.start, self.stop, n)]
        return [float(x) for x in np.linspace(self.start, self.stop, n)]

    def levels(self) -> list:
        """The values of this axis on a grid."""
        if not self.is_range:
            return list(self.values)
        return [self._value(x) for x in self._grid_numbers()]

    def sample(self, u: float) -> Any:
        """The value at the unit-interval coordinate ``u`` of a sampled design."""
        if not self.is_range:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.steps:
            return self.levels()[min(int(u * self.steps), self.steps - 1)]
        if self.scale == "log":
            lo, hi = math.log(self.start), math.log(self.stop)
            return self._value(math.exp(lo + u * (hi - lo)))
        return self._value(self.start + u * (self.stop - self.start))

    def cell(self, value: Any) -> Any:
        """The table cell of a value: a number in ``unit`` for numeric axes, else text."""
        if self.numeric:
            parts = _quantity_parts(value)
            if parts is not None:
                converted = _convert(parts[0], parts[1], self.unit)
                if converted is not None:
                    return converted
            return math.nan
        if isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Design:
    """How cases are chosen: ``grid`` (every combination), ``lhs`` or ``sobol`` (``size``
    points from ``seed``)."""

    kind: str = "grid"
    size: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class Case:
    """One case: its position in the design, its id and one value per axis."""

    index: int
    case_id: str
    values: tuple


@dataclass(frozen=True)
class Study:
    """A validated study. ``base_json`` is the base scenario's plain YAML data as JSON."""

    name: str
    base_json: str
    axes: tuple[Axis, ...]
    design: Design = Design()
    objective: str | None = None
    metrics: tuple[str, ...] = tuple(METRICS)
    description: str = ""
    source: str | None = None
    base_source: str | None = None

    @functools.cached_property
    def key(self) -> str:
        """The study's identity: a hash of the base scenario, the objective and the version.

        Case ids include it, so results stored for another base scenario or objective are
        never taken for this study's.
        """
        ident = json.dumps({"base": json.loads(self.base_json), "objective": self.objective,
                            "otvplan": __version__}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]

    def case_id(self, values: tuple) -> str:
        """The stable id of the case with these axis values (hash of values + study key)."""
        ident = json.dumps([self.key, [[a.path, v] for a, v in zip(self.axes, values)]],
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]

    def cases(self) -> tuple[Case, ...]:
        """Every case of the design, in design order; identical cases appear once."""
        return self._cases

    @functools.cached_property
    def _cases(self) -> tuple[Case, ...]:
        if self.design.kind == "grid":
            combos: typing.Iterable[tuple] = itertools.product(*(a.levels() for a in self.axes))
        else:
            combos = (tuple(axis.sample(float(u)) for axis, u in zip(self.axes, point))
                      for point in self._unit_points())
        out: list[Case] = []
        seen: set[str] = set()
        for values in combos:
            cid = self.case_id(values)
            if cid in seen:
                continue
            seen.add(cid)
            out.append(Case(len(out), cid, tuple(values)))
        return tuple(out)

    def _unit_points(self):
        import numpy as np
        from scipy.stats import qmc

        d = len(self.axes)
        rng = np.random.default_rng(self.design.seed)
        if self.design.kind == "lhs":
            return qmc.LatinHypercube(d=d, rng=rng).random(self.design.size)
        sampler = qmc.Sobol(d=d, scramble=True, rng=rng)
        return sampler.random_base2(int(round(math.log2(self.design.size))))

    def assignments(self, case: Case) -> tuple[tuple[tuple, Any], ...]:
        """(location, value) pairs that turn the base scenario into the case's."""
        return tuple((loc, value) for axis, value in zip(self.axes, case.values)
                     for loc in axis.locations)


# ============================================================================================
# Reading and validating study files
# ============================================================================================


def _study_error(problems: list[Problem]) -> StudyError:
    """The error for ``problems``, each one line whatever the keys and values held (control
    characters escaped, as the scenario loader does)."""
    return StudyError([_sc._one_line(p) for p in problems])


def _path_text(loc: tuple) -> str:
    """A study location as text; axis keys are quoted: axes["tug.engines[0].isp"][1]."""
    if len(loc) >= 2 and loc[0] == "axes":
        return f'axes["{loc[1]}"]' + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[2:])
    return _sc._format_path(loc)


class _Checker:
    """Collects the problems of one study file, each at its line and column."""

    def __init__(self, file: str, marks):
        self.file = file
        self.marks = marks
        self.problems: list[Problem] = []

    def add(self, loc: tuple, message: str, *, key: bool = False) -> None:
        line, column = _sc._mark_of(self.marks, loc, key=key and loc in self.marks.key_marks)
        self.problems.append(Problem(self.file, _path_text(loc), message, line, column))

    def unknown_keys(self, loc: tuple, mapping: dict, allowed: tuple) -> None:
        for key in mapping:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"?' if close else f"allowed here: {', '.join(allowed)}"
            self.add(loc + (key,), f'unknown key "{key}"; {hint}', key=True)


def _read_study_bytes(path: Path, file: str) -> bytes:
    try:
        if path.is_dir():
            raise _study_error([Problem(file, "", "is a directory, not a study file; give the "
                                                  "path of a study .yaml file")])
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _study_error([Problem(file, "", "no such file; check the path (examples are in "
                                              "studies/)")]) from None
    except PermissionError:
        raise _study_error([Problem(file, "", "permission denied: cannot read this file")]) \
            from None
    except OSError as exc:
        raise _study_error([Problem(file, "", f"cannot read this file: {exc.strerror or exc}")]) \
            from None
    if len(data) > MAX_FILE_BYTES:
        raise _study_error([Problem(file, "", f"file is larger than {MAX_FILE_BYTES:,} bytes; a "
                                              "study file is a few kB of YAML text")])
    return data


def load(path: str | os.PathLike, *, allow_outside_base: bool = False) -> Study:
    """Read and validate a study file; a relative ``base`` path is relative to the file.

    The base scenario file must lie under the study file's directory or the current working
    directory (symbolic links resolved) unless ``allow_outside_base`` is true; see
    :func:`base_roots`.
    """
    file = os.fspath(path)
    data = _read_study_bytes(Path(file), file)
    if b"\x00" in data[:8192]:
        raise _study_error([Problem(file, "", "is a binary file (it contains NUL bytes), not YAML "
                                              "text; give a study .yaml file")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _study_error([Problem(file, "", f"is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                                              "cannot be decoded); save the file as UTF-8")]) \
            from None
    return loads(text, filename=file, allow_outside_base=allow_outside_base)


def base_roots(base_dir: Path) -> tuple[Path, ...]:
    """Directories a study's ``base`` file may be read from, symbolic links resolved: the
    study file's directory (``base_dir``), the directory above it (so that ``studies/`` and
    ``scenarios/`` side by side work: ``base: ../scenarios/x.yaml``) unless that is the
    file-system root, and the current working directory."""
    roots: list[Path] = []
    try:
        real_base = Path(os.path.realpath(base_dir))
        candidates = [real_base]
        if real_base.parent != real_base and real_base.parent.parent != real_base.parent:
            candidates.append(real_base.parent)
        candidates.append(Path(os.path.realpath(Path.cwd())))
    except (OSError, ValueError):
        return ()
    for real in candidates:
        if real not in roots:
            roots.append(real)
    return tuple(roots)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def loads(text: str, filename: str = "<string>",
          base_dir: str | os.PathLike | None = None, *,
          allow_outside_base: bool = False) -> Study:
    """Parse and validate study YAML text; return the :class:`Study`.

    ``base_dir`` is where a relative ``base`` path starts (default: the directory of
    ``filename``, or the working directory for ``"<string>"``). A ``base`` file outside
    :func:`base_roots` is refused unless ``allow_outside_base``; the content of a base file
    that is not a scenario (not YAML, not a mapping, none of the scenario's keys) is never
    shown in a message. Raises
    :class:`otvplan.errors.StudyError` listing every problem, those of the base scenario
    included.
    """
    if base_dir is None:
        base_dir = Path(filename).parent if filename != "<string>" else Path.cwd()
    try:
        if len(text) > MAX_FILE_BYTES:
            raise _sc._Reject([Problem(filename, "", f"text is larger than {MAX_FILE_BYTES:,} "
                                                     "characters; a study is a few kB of YAML")])
        root = _sc._compose(text, filename)
        if root is None:
            raise _sc._Reject([Problem(filename, "", "the file is empty; see studies/ for "
                                                     "examples")])
        _sc._check_size(root, filename)
        marks = _sc._to_data(root, filename)
    except _sc._Reject as reject:
        raise _study_error(reject.problems) from None
    check = _Checker(filename, marks)
    check.problems += marks.problems
    data = marks.data
    if not isinstance(data, dict):
        check.add((), "a study file is a mapping with the keys " + ", ".join(TOP_KEYS)
                  + "; see docs/trade-studies.md")
        raise _study_error(check.problems)
    check.unknown_keys((), data, TOP_KEYS)
    name = _check_name(check, data, filename)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        check.add(("description",), f"expected text, got {_sc._describe_value(description)}")
        description = None
    base_data, base_source, base_problems = _check_base(check, data, Path(base_dir), filename,
                                                        allow_outside_base)
    design, kind = _check_design(check, data)
    axes = _check_axes(check, data, base_data, kind)
    objective = _check_objective(check, data)
    metrics = _check_metrics(check, data)
    if axes is not None and design is not None:
        _check_count(check, axes, design)
    problems = list(dict.fromkeys(_sc._sorted(check.problems))) + base_problems
    if problems:
        raise _study_error(problems)
    return Study(
        name=name, base_json=json.dumps(base_data, sort_keys=False, ensure_ascii=False),
        axes=tuple(axes), design=design, objective=objective, metrics=metrics,
        description=description or "", source=None if filename == "<string>" else filename,
        base_source=base_source,
    )


def _check_name(check: _Checker, data: dict, filename: str) -> str:
    name = data.get("name")
    if name is None:
        return Path(filename).stem if filename != "<string>" else "study"
    if isinstance(name, bool) or not isinstance(name, (str, int, float)) or not str(name):
        check.add(("name",), f"expected a name, got {_sc._describe_value(name)}")
        return "study"
    return str(name)


#: Keys of which a base file must have at least one to be taken for a scenario (otherwise its
#: content is not shown in any message).
_SCENARIO_KEYS = ("name", "epoch", "dropoff", "tug", "payloads", "constraints", "solver")


def _check_base(check: _Checker, data: dict, base_dir: Path, filename: str,
                allow_outside: bool = False):
    """Validate the base scenario; return (plain data or None, its source, its problems)."""
    if "base" not in data:
        check.add(("base",), "required, but missing; add e.g. `base: "
                             "../scenarios/sso_rideshare.yaml` (a path relative to this file) "
                             "or the scenario inline")
        return None, None, []
    base = data["base"]
    if isinstance(base, dict):
        return _check_inline_base(check, base), None, []
    if not isinstance(base, str) or not base.strip():
        check.add(("base",), "expected the path of a scenario file (relative to this study "
                             "file) or an inline scenario mapping, got "
                             f"{_sc._describe_value(base)}")
        return None, None, []
    path = base_dir / base
    shown = os.path.normpath(os.path.join(os.path.dirname(filename), base)) \
        if filename != "<string>" else os.path.normpath(str(path))
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        check.add(("base",), f"cannot use this path: {getattr(exc, 'strerror', None) or exc}")
        return None, None, []
    if not allow_outside:
        roots = base_roots(base_dir)
        try:
            real = Path(os.path.realpath(path))
        except (OSError, ValueError) as exc:
            check.add(("base",), f"cannot use this path: {getattr(exc, 'strerror', None) or exc}")
            return None, None, []
        if not _inside(real, roots):
            check.add(("base",), f"{shown} is outside the study file's directory, the one "
                                 "above it and the working directory (symbolic links "
                                 "followed); a study reads its base scenario from there only: "
                                 "copy the scenario there, or pass --allow-outside-base "
                                 "(library: allow_outside_base=True)")
            return None, None, []
    if not is_file:
        what = "is a directory, not a scenario file" if is_dir else "no such file"
        check.add(("base",), f"{what}: {shown} (a relative path starts at the study file's "
                             "directory)")
        return None, None, []
    try:
        text = _sc._decode(_sc._read_bytes(path, shown), shown)
        try:
            top = _sc._to_data(_sc._compose(text, shown), shown).data
        except _sc._Reject as reject:
            line = next((p.line for p in reject.problems if p.line), None)
            where = f" (at line {line})" if line else ""
            check.add(("base",), f"{shown} is not a YAML scenario file: it does not parse"
                                 f"{where}; its content is not shown")
            return None, shown, []
        if not isinstance(top, dict) or not any(k in top for k in _SCENARIO_KEYS):
            what = "not a YAML mapping" if not isinstance(top, dict) else \
                "none of the keys " + ", ".join(_SCENARIO_KEYS)
            check.add(("base",), f"{shown} is not a scenario file ({what}); its content is "
                                 "not shown")
            return None, shown, []
        _sc.loads(text, filename=shown)
        plain = _sc._to_data(_sc._compose(text, shown), shown).data
    except _sc._Reject as reject:
        return None, shown, list(reject.problems)
    except ScenarioError as exc:
        check.add(("base",), f"the base scenario {shown} has "
                             f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}"
                             " (listed below)")
        return None, shown, list(exc.problems)
    return plain, shown, []


def _check_inline_base(check: _Checker, base: dict) -> dict | None:
    """Validate an inline base scenario with the scenario schema, at the study file's marks."""
    prefix = ("base",)
    n = len(prefix)
    marks = check.marks
    sub = _sc._Data(
        base,
        {k[n:]: v for k, v in marks.value_marks.items() if k[:n] == prefix},
        {k[n:]: v for k, v in marks.key_marks.items() if k[:n] == prefix},
        [],
    )
    found = _sc._document_checks(base, check.file, sub)
    try:
        _sc.ScenarioDoc.model_validate(base)
    except ValidationError as exc:
        found += _sc._translate(exc, check.file, sub)
    for p in found:
        path = f"base.{p.path}" if p.path else "base"
        check.problems.append(dataclasses.replace(p, path=path))
    return None if found else base


def _check_design(check: _Checker, data: dict) -> tuple[Design | None, str | None]:
    """The design (None when it has problems) and its kind (None when that is unknown)."""
    spec = data.get("design", "grid")
    if isinstance(spec, str):
        spec = {"type": spec}
        loc_type: tuple = ("design",)
    elif isinstance(spec, dict):
        loc_type = ("design", "type")
        check.unknown_keys(("design",), spec, DESIGN_KEYS)
    else:
        check.add(("design",), "expected grid, lhs or sobol, or a mapping like {type: lhs, "
                               f"size: 200, seed: 1}}; got {_sc._describe_value(spec)}")
        return None, None
    kind = spec.get("type")
    ok = True
    if kind is None:
        check.add(("design", "type"), "required, but missing; add e.g. `type: lhs`")
        return None, None
    if kind not in DESIGNS:
        close = difflib.get_close_matches(str(kind), DESIGNS, n=1, cutoff=0.5)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        check.add(loc_type, f"expected one of grid, lhs, sobol; got "
                            f"{_sc._describe_value(kind)}{hint}")
        return None, None
    size = spec.get("size")
    seed = spec.get("seed", 0)
    if kind == "grid":
        if size is not None:
            check.add(("design", "size"), "size applies to lhs and sobol designs; a grid runs "
                                          "every combination of the axes' values")
            ok = False
    elif size is None:
        check.add(("design",), f"a {kind} design needs its number of cases: add `size: "
                               f"{256 if kind == 'sobol' else 200}`")
        ok = False
    elif isinstance(size, bool) or not isinstance(size, int) or size < 1:
        check.add(("design", "size"), "expected a whole number of cases, 1 or more; got "
                                      f"{_sc._describe_value(size)}")
        ok = False
    elif size > MAX_CASES:
        check.add(("design", "size"), f"{size:,} cases is more than the limit of "
                                      f"{MAX_CASES:,}")
        ok = False
    elif kind == "sobol" and size & (size - 1):
        lower = 1 << (size.bit_length() - 1)
        check.add(("design", "size"), f"a Sobol' sequence is balanced only for a power of two "
                                      f"of points; use {lower} or {lower * 2}, not {size}")
        ok = False
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        check.add(("design", "seed"), "expected a whole number, 0 or more; got "
                                      f"{_sc._describe_value(seed)}")
        ok = False
    return (Design(kind=kind, size=size, seed=seed) if ok else None), kind


def _check_objective(check: _Checker, data: dict) -> str | None:
    objective = data.get("objective")
    if objective is None or objective in OBJECTIVES:
        return objective
    close = difflib.get_close_matches(str(objective), OBJECTIVES, n=1, cutoff=0.5)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    check.add(("objective",), f"expected one of {', '.join(OBJECTIVES)}; got "
                              f"{_sc._describe_value(objective)}{hint}")
    return None


def _check_metrics(check: _Checker, data: dict) -> tuple[str, ...]:
    metrics = data.get("metrics")
    if metrics is None:
        return tuple(METRICS)
    if not isinstance(metrics, list) or not metrics:
        check.add(("metrics",), "expected a list of metric names like [total_dv, "
                                "propellant_used, duration]; got "
                                f"{_sc._describe_value(metrics)}")
        return tuple(METRICS)
    out: list[str] = []
    for i, name in enumerate(metrics):
        if isinstance(name, str) and name in METRICS:
            if name in out:
                check.add(("metrics", i), f'"{name}" is listed twice')
            else:
                out.append(name)
            continue
        close = difflib.get_close_matches(str(name), list(METRICS), n=1, cutoff=0.6)
        hint = (f'did you mean "{close[0]}"?' if close
                else f"metrics are: {', '.join(METRICS)}")
        check.add(("metrics", i), f"unknown metric {_sc._describe_value(name)}; {hint}")
    return tuple(out)


def _check_axes(check: _Checker, data: dict, base: dict | None,
                kind: str | None) -> list[Axis] | None:
    axes = data.get("axes")
    if axes is None:
        if "axes" not in data:
            check.add(("axes",), "required, but missing; add e.g. `axes: "
                                 "{tug.engines[0].isp: [220 s, 260 s, 300 s]}`")
        else:
            check.add(("axes",), "expected a mapping of scenario paths to values; got nothing")
        return None
    if not isinstance(axes, dict) or not axes:
        check.add(("axes",), "expected a mapping of scenario paths to values, like "
                             "`tug.engines[0].isp: [220 s, 260 s, 300 s]`; got "
                             f"{_sc._describe_value(axes)}")
        return None
    out: list[Axis] = []
    owners: dict[tuple, str] = {}
    ok = True
    for key, spec in axes.items():
        loc = ("axes", key)
        try:
            parts = parse_path(str(key))
        except PathError as exc:
            check.add(loc, f"not a scenario path: {exc}; write it like tug.engines[0].isp or "
                           "payloads[*].target.altitude", key=True)
            ok = False
            continue
        path = format_path(parts)
        try:  # without a usable base scenario, the keys are checked against the schema only
            locations = resolve_path(parts, base)
        except PathError as exc:
            check.add(loc, str(exc), key=True)
            ok = False
            continue
        for place in locations if base is not None else ():
            other = owners.get(place)
            if other is not None:
                check.add(loc, f"{_sc._format_path(place)} is also set by the axis {other}; "
                               "each value may be varied by one axis only", key=True)
                ok = False
                break
            owners[place] = path
        axis = _check_axis_values(check, loc, spec, path, locations, kind)
        if axis is None or base is None:
            ok = False
        else:
            out.append(axis)
    return out if ok else None


def _check_axis_values(check: _Checker, loc: tuple, spec: Any, path: str,
                       locations: tuple[tuple, ...], kind: str | None) -> Axis | None:
    field_loc = locations[0]
    integer = _integer_field(field_loc)
    if isinstance(spec, list):
        if not spec:
            check.add(loc, "the list of values is empty; give at least one value")
            return None
        ok = True
        for i, value in enumerate(spec):
            message = field_problem(field_loc, value)
            if message is not None:
                check.add(loc + (i,), message)
                ok = False
        if not ok:
            return None
        return _list_axis(path, locations, tuple(spec))
    if not isinstance(spec, dict):
        check.add(loc, "expected a list of values like [220 s, 260 s, 300 s] or a range like "
                       f"{{from: 450 km, to: 600 km, steps: 7}}; got {_sc._describe_value(spec)}")
        return None
    check.unknown_keys(loc, spec, RANGE_KEYS)
    ok = all(k in RANGE_KEYS for k in spec)
    for end in ("from", "to"):
        if end not in spec:
            check.add(loc, f"a range needs `{end}:`, e.g. {{from: 450 km, to: 600 km, steps: 7}}")
            ok = False
        else:
            message = field_problem(field_loc, spec[end])
            if message is not None:
                check.add(loc + (end,), message)
                ok = False
    steps = spec.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                              or steps < 2):
        check.add(loc + ("steps",), "expected a whole number of values, 2 or more; got "
                                    f"{_sc._describe_value(steps)}")
        ok = False
    elif steps is None and kind == "grid":
        check.add(loc, "a grid needs the number of values of a range: add `steps: 7` (or give "
                       "a list of values)")
        ok = False
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        check.add(loc + ("scale",), f"expected linear or log; got {_sc._describe_value(scale)}")
        ok = False
    if not ok:
        return None
    start = _quantity_parts(spec["from"])
    stop = _quantity_parts(spec["to"])
    if start is None or stop is None:
        bad = "from" if start is None else "to"
        check.add(loc + (bad,), "a range runs between two numbers or two quantities with "
                                'units, like "450 km"; use a list for other values')
        return None
    unit = start[1]
    stop_number = _convert(stop[0], stop[1], unit) if (unit or stop[1]) else stop[0]
    if stop_number is None or bool(unit) != bool(stop[1]):
        check.add(loc + ("to",), f"{_sc._describe_value(spec['to'])} is not in the same kind "
                                 f"of unit as from ({_sc._describe_value(spec['from'])})")
        return None
    if scale == "log" and (start[0] <= 0.0 or stop_number <= 0.0):
        check.add(loc + ("scale",), "a log scale needs from and to above zero")
        return None
    if integer and not unit and not all(isinstance(spec[e], int) for e in ("from", "to")):
        check.add(loc, "this value is a whole number: give from and to as whole numbers")
        return None
    return Axis(path=path, locations=locations, start=start[0], stop=stop_number, unit=unit,
                steps=steps, scale=scale, integer=integer)


def _list_axis(path: str, locations: tuple, values: tuple) -> Axis:
    """A list axis; numeric (in the first value's unit) when every value converts to it."""
    parts = [_quantity_parts(v) for v in values]
    unit = parts[0][1] if parts[0] is not None else ""
    numeric = all(p is not None and _convert(p[0], p[1], unit) is not None
                  and bool(p[1]) == bool(unit) for p in parts)
    return Axis(path=path, locations=locations, values=values, unit=unit if numeric else "",
                numeric=numeric)


def _check_count(check: _Checker, axes: list[Axis], design: Design) -> None:
    if design.kind != "grid":
        return
    count = 1
    for axis in axes:
        count *= len(axis.values) if not axis.is_range else axis.steps
    if count > MAX_CASES:
        sizes = " x ".join(str(len(a.values) if not a.is_range else a.steps) for a in axes)
        check.add(("axes",), f"the grid has {count:,} cases ({sizes}), more than the limit of "
                             f"{MAX_CASES:,}; use fewer values or an lhs design")


# ============================================================================================
# Running one case (in a worker)
# ============================================================================================


class _Task(NamedTuple):
    case_id: str
    index: int
    values: tuple
    assignments: tuple


class _Chunk(NamedTuple):
    """What a worker receives: the base scenario, the objective and a few cases."""

    base_json: str
    objective: str | None
    label: str
    tasks: tuple
    attempt: int = 0  # a retry is a new submission (Dask: a new task key, not the lost one's)


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_WORKER_ID = None


def _worker_id() -> str:
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


def run_case(base_json: str, objective: str | None, assignments: tuple,
             label: str = "<case>") -> dict:
    """Build one case's scenario and plan it; return its row (never raises an Exception).

    The row holds ``status`` (an ``otvplan.errors.STATUS_*`` code), ``message``, every metric
    of :data:`METRICS` by name (empty for bad-input and error cases), ``elapsed_s`` (wall time
    in this process), ``cpu_s`` (CPU time of this process meanwhile) and ``worker``
    (host:pid).
    """
    from otvplan.planning import solver  # looked up per call: a test may replace solver.plan

    t0 = time.perf_counter()
    c0 = time.process_time()
    metrics: dict[str, Any] = {}
    try:
        data = json.loads(base_json)
        for loc, value in assignments:
            assign(data, tuple(loc), value)
        text = yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=1000)
        try:
            scenario = _sc.loads(text, filename=label)
        except ScenarioError as exc:
            status = STATUS_BAD_INPUT
            message = "; ".join(f"{p.path}: {p.message}" if p.path else p.message
                                for p in exc.problems)
        else:
            plan = solver.plan(scenario, objective=objective)
            metrics = {name: metric.read(plan) for name, metric in METRICS.items()}
            status = STATUS_OK if plan.feasible else STATUS_INFEASIBLE
            message = "" if plan.feasible else (
                "; ".join(plan.infeasible_reasons) or "not every payload can be delivered")
    except Exception as exc:  # errors as data: one case never stops the study
        status = STATUS_ERROR
        message = _error_text(exc)
        metrics = {}
    return {"status": status, "message": message, "metrics": metrics,
            "elapsed_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "worker": _worker_id()}


def run_chunk(chunk: _Chunk) -> list[dict]:
    """Run the cases of a chunk (the function sent to workers)."""
    rows = []
    for task in chunk.tasks:
        row = run_case(chunk.base_json, chunk.objective, task.assignments,
                       f"{chunk.label} case {task.index}")
        rows.append({"case": task.case_id, "index": task.index, "values": list(task.values),
                     **row})
    return rows


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the sweep process is gone: do not linger as an orphan
            os._exit(1)


def _worker_init() -> None:
    """Warm up a local worker once: import the solver stack; exit if the parent dies."""
    from otvplan.io import scenario
    from otvplan.planning import solver  # noqa: F401 - imported for their import-time cost

    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                     name="otvplan-parent-watch").start()


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

    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init)


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


def _lost_row(task: _Task, attempts: int, exc: BaseException) -> dict:
    return {"case": task.case_id, "index": task.index, "values": list(task.values),
            "status": STATUS_ERROR,
            "message": f"the worker running this case was lost {attempts} times "
                       f"({type(exc).__name__}: {exc}); not stored: a rerun tries it again",
            "metrics": {}, "elapsed_s": math.nan, "cpu_s": math.nan, "worker": ""}


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
            return (f"the Dask client has been {status} for more than "
                    f"{SCHEDULER_LOST_AFTER_S:.0f} s: its scheduler is unreachable")
    else:
        since[0] = None
    return None


def _execute(chunks: list[_Chunk], executor: Executor | None, workers: int,
             retries: int, on_rows: Callable[[list[dict], bool], None]) -> None:
    """Run chunks on the executor (or our own pool), retrying chunks whose worker was lost.

    Waiting is a loop with a timeout: every :data:`HEALTH_CHECK_S` it checks that the executor
    still works, and raises :class:`otvplan.errors.ClusterError` when a Dask client lost its
    scheduler (rows received so far have been handed to ``on_rows``, so a rerun resumes).

    A chunk whose future fails (the worker process died, a Dask ``KilledWorker``, a broken
    pool) is retried case by case: after a first loss alongside other cases, after a second
    one alone with nothing else in flight, so that a case that kills its worker is told apart
    from the cases that shared the pool with it. A case lost more than ``retries`` times
    becomes an error row that is not stored. A broken pool of our own is replaced.
    """
    own = executor is None
    if workers == 0 and own:
        executor, own = _InlineExecutor(), False
    pool = _local_executor(workers) if own else executor
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
        others, after a second one alone; an error row after ``retries`` retries."""
        for task in chunk.tasks:
            single = chunk._replace(tasks=(task,), attempt=chunk.attempt + 1)
            count = failures[task.case_id] = failures.get(task.case_id, 0) + 1
            if count > retries:
                on_rows([_lost_row(task, count, exc)], False)
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
                if (not own and time.monotonic() - window_at > 5.0  # workers come and go
                        and _executor_lost(pool, disconnected) is None):
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
                    rows = future.result()
                except Exception as exc:  # noqa: BLE001 - the executor lost this chunk
                    if isinstance(exc, BrokenExecutor):
                        broken = exc
                    lost(chunk, exc)
                    continue
                on_rows(rows, True)
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


def sweep(study: Study | str | os.PathLike, executor: Executor | None = None,
          out_dir: str | os.PathLike | None = None, workers: int | None = None,
          progress: Callable[[int, int], None] | None = None, *, chunk_size: int | None = None,
          retries: int = 2, plots: bool = True, notify: Callable[[str], None] | None = None):
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
        _notify(notify, f"{store.path}: {store.quarantined} damaged "
                        f"line{'s' if store.quarantined != 1 else ''} moved to "
                        f"{store.quarantine_path}: {lines}{more}; their cases are computed "
                        "again")
    try:
        rows: dict[str, dict] = {}
        if store is not None:
            wanted = {case.case_id for case in cases}
            rows = {cid: row for cid, row in store.read().items() if cid in wanted}
        pending = [case for case in cases if case.case_id not in rows]
        done = total - len(pending)
        if progress is not None:
            progress(done, total)

        def on_rows(new_rows: list[dict], keep: bool) -> None:
            nonlocal done
            for row in new_rows:
                if row["case"] in rows:
                    continue
                rows[row["case"]] = row
                if keep and store is not None:
                    store.append({"study": study.key, **row})
                done += 1
                if progress is not None:
                    progress(done, total)

        if pending:
            label = study.source or study.name
            if chunk_size is None:
                slots = workers if executor is None else _external_slots(executor)
                chunk_size = _auto_chunk(len(pending), max(slots, 1))
            chunks = [
                _Chunk(study.base_json, study.objective, label, tuple(
                    _Task(c.case_id, c.index, c.values, study.assignments(c))
                    for c in pending[i:i + chunk_size]))
                for i in range(0, len(pending), chunk_size)
            ]
            try:
                _execute(chunks, executor, min(workers, len(chunks)) if workers else 0,
                         retries, on_rows)
            except ClusterError as exc:
                where = (f"; {done} of {total} cases are stored in {store.path}: rerun the "
                         "same command to resume" if store is not None else "")
                raise ClusterError(f"{exc}{where}") from None
    finally:
        if store is not None:
            store.close()
    full = _table(study, cases, rows, tuple(METRICS))
    table = _table(study, cases, rows, study.metrics)
    if out_dir is not None:
        _write_outputs(study, table, full, Path(out_dir), plots)
    return table


# ============================================================================================
# The table and the files
# ============================================================================================


def _table(study: Study, cases: tuple[Case, ...], rows: dict[str, dict],
           metric_names: tuple[str, ...]):
    import pandas as pd

    columns: dict[str, list] = {"case": []}
    for axis in study.axes:
        columns[axis.column] = []
    for name in metric_names:
        columns[METRICS[name].column] = []
    for extra in ("status", "status_code", "message", "elapsed_s", "cpu_s"):
        columns[extra] = []
    for case in cases:
        row = rows[case.case_id]
        columns["case"].append(case.case_id)
        for axis, value in zip(study.axes, case.values):
            columns[axis.column].append(axis.cell(value))
        metrics = row.get("metrics") or {}
        for name in metric_names:
            columns[METRICS[name].column].append(metrics.get(name))
        code = int(row["status"])
        columns["status"].append(STATUS_NAMES.get(code, str(code)))
        columns["status_code"].append(code)
        columns["message"].append(row.get("message") or "")
        for extra in ("elapsed_s", "cpu_s"):
            value = row.get(extra)
            columns[extra].append(math.nan if value is None else float(value))
    dtypes = {"float": "float64", "int": "Int64", "bool": "boolean", "text": "string"}
    frame: dict[str, Any] = {}
    for column, values in columns.items():
        frame[column] = pd.Series(values, dtype="object")
    table = pd.DataFrame(frame)
    table["case"] = table["case"].astype("string")
    for axis in study.axes:
        table[axis.column] = table[axis.column].astype("float64" if axis.numeric else "string")
    for name in metric_names:
        metric = METRICS[name]
        series = table[metric.column]
        if metric.kind == "float":
            series = series.map(lambda v: math.nan if v is None else float(v))
        table[metric.column] = series.astype(dtypes[metric.kind])
    table["status"] = table["status"].astype("string")
    table["status_code"] = table["status_code"].astype("int64")
    table["message"] = table["message"].astype("string")
    table["elapsed_s"] = table["elapsed_s"].astype("float64")
    table["cpu_s"] = table["cpu_s"].astype("float64")
    units = {axis.column: axis.unit for axis in study.axes if axis.numeric and axis.unit}
    units.update({METRICS[n].column: METRICS[n].unit for n in metric_names if METRICS[n].unit})
    units["elapsed_s"] = units["cpu_s"] = "s"
    table.attrs = {"study": study.name, "study_key": study.key, "units": units}
    return table


def _study_json(study: Study, table) -> str:
    counts = table["status"].value_counts().to_dict()
    doc = {
        "name": study.name, "key": study.key, "source": study.source,
        "base": study.base_source or "inline", "otvplan": __version__,
        "design": dataclasses.asdict(study.design), "objective": study.objective,
        "cases": len(table),
        "status": {name: int(counts.get(name, 0)) for name in STATUS_NAMES.values()},
        "axes": [{"path": a.path, "column": a.column, "unit": a.unit,
                  "kind": "range" if a.is_range else "list",
                  "locations": [_sc._format_path(loc) for loc in a.locations]}
                 for a in study.axes],
        "metrics": [{"name": n, "column": METRICS[n].column, "unit": METRICS[n].unit,
                     "description": METRICS[n].description} for n in study.metrics],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _notify(notify: Callable[[str], None] | None, message: str) -> None:
    if notify is not None:
        notify(message)
    else:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _check_row(row: dict) -> str | None:
    """A stored row's metrics against their kinds (beyond :func:`studystore.row_problem`)."""
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


def _write_outputs(study: Study, table, full, out: Path, plots: bool) -> None:
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    write_bytes(out / "results.parquet", buffer.getvalue())
    write_text(out / "results.csv", table.to_csv(index=False, lineterminator="\n"))
    write_text(out / "study.json", _study_json(study, table))
    if plots:
        from otvplan.io.atomicio import ensure_dir

        ensure_dir(out / "plots")
        for name in _RETIRED_PLOTS:  # figures earlier versions wrote
            try:
                (out / "plots" / f"{name}.png").unlink(missing_ok=True)
            except OSError:  # pragma: no cover - left as it is; the new figures still go in
                pass
        for name, fig in figures(study, full).items():
            write_bytes(out / "plots" / f"{name}.png", _png(fig))


# ============================================================================================
# Figures (matplotlib, imported only here)
# ============================================================================================

#: Figures earlier versions wrote into ``plots/`` (``pareto``: now ``cases``), removed when a
#: sweep writes its figures.
_RETIRED_PLOTS = ("pareto",)

_STATUS_STYLE = {
    "ok": ("#4e79a7", "o", "feasible"),
    "infeasible": ("#f28e2b", "x", "infeasible"),
    "bad-input": ("#e15759", "s", "bad input"),
    "error": ("#b07aa1", "D", "error"),
}


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": "otvplan"})
    return buffer.getvalue()


def pareto_front(table) -> list[int]:
    """Row positions of the feasible cases that no other feasible case beats in both
    propellant used and duration, by increasing duration."""
    ok = (table["status"] == "ok").to_numpy(dtype=bool, na_value=False)
    duration = table["duration_d"].to_numpy(dtype=float, na_value=math.nan)
    propellant = table["propellant_used_kg"].to_numpy(dtype=float, na_value=math.nan)
    order = sorted((i for i in range(len(table))
                    if ok[i] and math.isfinite(duration[i]) and math.isfinite(propellant[i])),
                   key=lambda i: (duration[i], propellant[i]))
    front: list[int] = []
    best = math.inf
    for i in order:
        if propellant[i] < best:
            front.append(i)
            best = propellant[i]
    return front


def figures(study: Study, table) -> dict:
    """The study's figures (matplotlib ``Figure`` objects, Agg canvas, no pyplot).

    ``cases``: propellant used against mission duration, one point per case, marked by status
    (feasible, infeasible: the partial plan's numbers, ...). The cases are different designs,
    not alternatives of one mission, so no trade-off front is drawn through them.
    ``heatmap_<column>``: for a grid of two numeric axes, the metric on the grid: one cell per
    sampled pair of values (ticks at the sampled values, nothing drawn beyond them), the value
    written in each cell of a small grid, contours on a large one, infeasible cells marked.
    ``scatter_matrix``: for other designs, every pair of numeric axes and metrics, coloured by
    status. Titles and axes use names with units (:func:`metric_label`, :func:`axis_label`).
    ``table`` must hold the ``propellant_used`` and ``duration`` metrics for the ``cases``
    figure (``sweep`` draws from all metrics).
    """
    out = {}
    if {"propellant_used_kg", "duration_d"} <= set(table.columns):
        out["cases"] = _cases_figure(study, table)
    numeric = [a for a in study.axes if a.numeric]
    if study.design.kind == "grid" and len(study.axes) == 2 and len(numeric) == 2:
        for column in ("propellant_used_kg", "total_dv_m_s", "duration_d"):
            if column in table.columns:
                out[f"heatmap_{column}"] = _heatmap(study, table, column)
    else:
        out["scatter_matrix"] = _scatter_matrix(study, table)
    return out


#: Names of the metric columns for figure titles and axes (the unit is added).
METRIC_NAMES = {
    "total_dv_m_s": "Total delta-v",
    "propellant_used_kg": "Propellant used",
    "propellant_remaining_kg": "Propellant remaining",
    "propellant_margin_kg": "Propellant margin above reserve",
    "duration_d": "Mission duration",
    "initial_mass_kg": "Initial mass",
    "final_mass_kg": "Final mass",
    "feasible": "Feasible",
    "delivered": "Payloads delivered",
    "undelivered": "Payloads not delivered",
    "shortfall_propellant_kg": "Propellant shortfall",
    "shortfall_time_d": "Time shortfall",
    "legs": "Legs",
    "exact": "Proven optimal",
    "solve_time_s": "Solver time",
}

#: Names of scenario keys in axis labels (other keys: underscores read as spaces).
_KEY_NAMES = {
    "isp": "Isp", "ltan": "LTAN", "raan": "RAAN", "dropoff": "drop-off",
    "propellant": "propellant loaded", "max_duration": "duration limit",
    "argp": "argument of perigee", "e": "eccentricity",
}

#: Containers left out of axis labels (they add words, not meaning).
_SILENT_KEYS = ("constraints", "solver")


def metric_label(column: str, unit: str = "") -> str:
    """A metric column as people read it, with its unit: ``"Propellant used (kg)"``."""
    name = METRIC_NAMES.get(column, column)
    return f"{name} ({unit})" if unit else name


def axis_label(study: Study, axis: Axis) -> str:
    """An axis as people read it, with its unit: ``tug.engines[0].isp`` ->
    ``"Isp, engine main (s)"``, ``payloads[*].target.altitude`` -> ``"Target altitude, every
    payload (km)"``, ``tug.dry_mass`` -> ``"Tug dry mass (kg)"``."""
    try:
        parts = parse_path(axis.path)
    except PathError:  # pragma: no cover - a loaded study's paths parse
        return axis.column
    try:
        base = json.loads(study.base_json)
    except ValueError:  # pragma: no cover - base_json is written by the loader
        base = None
    node: Any = base
    words: list[str] = []
    which: list[str] = []
    key = ""
    for part in parts:
        if isinstance(part, str):
            key = part
            node = node.get(part) if isinstance(node, dict) else None
            if part not in _SILENT_KEYS:
                words.append(_KEY_NAMES.get(part, part.replace("_", " ")))
            continue
        # a list selection: the list's key names the items; the words so far are dropped
        words.clear()
        item_name = key[:-1] if key.endswith("s") else key
        item_name = _KEY_NAMES.get(item_name, item_name.replace("_", " "))
        if isinstance(part, _All):
            which.append(f"every {item_name}")
            node = node[0] if isinstance(node, list) and node else None
            continue
        if isinstance(part, _Named):
            which.append(f"{item_name} {part.name}")
            node = next((x for x in node if isinstance(x, dict)
                         and str(x.get("name")) == part.name), None) \
                if isinstance(node, list) else None
            continue
        item = node[part] if isinstance(node, list) and part < len(node) else None
        name = item.get("name") if isinstance(item, dict) else None
        which.append(f"{item_name} {name}" if name is not None else f"{item_name} {part}")
        node = item
    text = " ".join(words) or axis.path
    text = text[:1].upper() + text[1:]
    if which:
        text += ", " + ", ".join(reversed(which))
    return f"{text} ({axis.unit})" if axis.unit and axis.numeric else text


def _label(study: Study, table, column: str) -> str:
    """Name with unit of a table column: an axis's or a metric's."""
    for axis in study.axes:
        if axis.column == column:
            return axis_label(study, axis)
    return metric_label(column, table.attrs.get("units", {}).get(column, ""))


def _value_text(value: float) -> str:
    return f"{value:.4g}"


def _cases_figure(study: Study, table):
    import numpy as np

    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot()
    shown = 0
    for status, (color, marker, label) in _STATUS_STYLE.items():
        rows = table[table["status"] == status]
        rows = rows[rows["duration_d"].notna() & rows["propellant_used_kg"].notna()]
        if len(rows):
            if status == "infeasible":
                label = "infeasible (the partial plan)"
            ax.scatter(rows["duration_d"], rows["propellant_used_kg"], s=22, c=color,
                       marker=marker, alpha=0.75, label=f"{label} ({len(rows)})",
                       linewidths=1.2)
            shown += len(rows)
    numeric = [a for a in study.axes if a.numeric]
    if 0 < shown <= 12 and numeric:
        # few cases: each point says which case it is (its axis values)
        for _, row in table.iterrows():
            x, y = row["duration_d"], row["propellant_used_kg"]
            if x is None or y is None or not (np.isfinite(x) and np.isfinite(y)):
                continue
            text = ", ".join(f"{_value_text(float(row[a.column]))} {a.unit}".strip()
                             for a in numeric if np.isfinite(float(row[a.column])))
            ax.annotate(text, (x, y), xytext=(5, 3), textcoords="offset points", fontsize=7,
                        color="#333333")
        ax.margins(x=0.25, y=0.12)
    ax.set_xlabel(metric_label("duration_d", "d"))
    ax.set_ylabel(metric_label("propellant_used_kg", "kg"))
    ax.ticklabel_format(useOffset=False, axis="both")
    ax.set_title(f"{study.name}: propellant used and duration of each case ({len(table)} "
                 "cases)\neach point is one design case (not a trade-off front of one mission)",
                 fontsize=9)
    ax.grid(True, alpha=0.35)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    return fig


def _ticks(ax, which: str, values: list[float]) -> None:
    """Ticks at the cell centres (index positions) labelled with the sampled values; at most
    about a dozen labelled."""
    step = max(1, math.ceil(len(values) / 12))
    positions = list(range(0, len(values), step))
    labels = [_value_text(values[i]) for i in positions]
    if which == "x":
        ax.set_xticks(positions, labels)
    else:
        ax.set_yticks(positions, labels)


def _heatmap(study: Study, table, column: str):
    import numpy as np
    import pandas as pd

    ax_x, ax_y = study.axes
    xs = sorted(set(table[ax_x.column].dropna()))
    ys = sorted(set(table[ax_y.column].dropna()))
    z = np.full((len(ys), len(xs)), np.nan)
    bad = np.zeros_like(z, dtype=bool)
    xi = {x: i for i, x in enumerate(xs)}
    yi = {y: i for i, y in enumerate(ys)}
    for x, y, value, status in zip(table[ax_x.column], table[ax_y.column], table[column],
                                   table["status"]):
        if x in xi and y in yi:
            z[yi[y], xi[x]] = math.nan if pd.isna(value) else float(value)
            bad[yi[y], xi[x]] = status != "ok"
    fig = _figure(6.4, 4.8)
    ax = fig.add_subplot()
    # one cell per sampled pair, on index positions: cells end half a step past the first and
    # last sampled values, never at values that were not run. A case that is not feasible has
    # no colour (its numbers are those of a partial plan): a grey cell with a cross.
    ix, iy = np.arange(len(xs)), np.arange(len(ys))
    masked = np.ma.masked_invalid(np.where(bad, np.nan, z))
    ax.set_facecolor("#e4e4e4")
    mesh = ax.pcolormesh(ix, iy, masked, shading="nearest", cmap="viridis")
    label = _label(study, table, column)
    fig.colorbar(mesh, ax=ax, label=label)
    _ticks(ax, "x", xs)
    _ticks(ax, "y", ys)
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(-0.5, len(ys) - 0.5)
    ax.grid(False)
    if len(xs) <= 12 and len(ys) <= 16:
        # a grid small enough to read: the value in each cell (dark text on light cells)
        finite = masked.compressed()
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for (r, c), value in np.ndenumerate(z):
            if bad[r, c]:
                continue
            if not np.isfinite(value):
                ax.text(c, r, "no value", ha="center", va="center", fontsize=7,
                        color="#555555")
                continue
            light = hi > lo and (value - lo) / (hi - lo) > 0.6
            ax.text(c, r, _value_text(float(value)), ha="center", va="center",
                    fontsize=8 if z.size <= 36 else 7, color="black" if light else "white")
    elif masked.count() >= 4 and float(masked.max() - masked.min()) > 0.0:
        lines = ax.contour(ix, iy, masked, levels=8, colors="white", linewidths=0.7)
        ax.clabel(lines, fontsize=7, fmt="%.4g")
    if bad.any():
        gy, gx = np.nonzero(bad)
        ax.scatter(gx, gy, marker="x", c="#e15759", s=50, linewidths=1.5,
                   label="not feasible (no value drawn)", zorder=3)
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize=8, frameon=False)
    ax.set_xlabel(axis_label(study, ax_x))
    ax.set_ylabel(axis_label(study, ax_y))
    ax.set_title(f"{study.name}: {label}")
    return fig


def _scatter_matrix(study: Study, table):
    import numpy as np

    columns = [a.column for a in study.axes if a.numeric]
    columns += [c for c in ("propellant_used_kg", "duration_d") if c in table.columns]
    columns = [c for c in columns if np.isfinite(table[c].astype(float)).any()][:6]
    n = max(len(columns), 1)
    size = min(1.9 * n, 11.0)
    fig = _figure(size, size)
    if not columns:
        fig.suptitle(f"{study.name}: no numeric values to plot")
        return fig
    grid = fig.subplots(n, n, squeeze=False)
    for i, cy in enumerate(columns):
        for j, cx in enumerate(columns):
            ax = grid[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                values = table[cx].astype(float)
                ax.hist(values[np.isfinite(values)], bins=min(20, max(5, len(values) // 10)),
                        color="#9c9c9c")
            else:
                for status, (color, marker, label) in _STATUS_STYLE.items():
                    rows = table[table["status"] == status]
                    if len(rows):
                        ax.scatter(rows[cx].astype(float), rows[cy].astype(float), s=6,
                                   c=color, marker=marker, alpha=0.6, linewidths=0.6,
                                   label=label)
            if i == n - 1:
                ax.set_xlabel(_label(study, table, cx), fontsize=7)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != 0:
                ax.set_ylabel(_label(study, table, cy), fontsize=7)
            ax.tick_params(labelsize=6)
    handles, labels = grid[n - 1][0].get_legend_handles_labels() if n > 1 else ([], [])
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(f"{study.name}: {study.design.kind} design, {len(table)} cases")
    return fig
