"""What a trade study is: its axes, design, metrics and cases (the model, no I/O).

A :class:`Study` holds the base scenario's plain YAML data (as JSON), the :class:`Axis` list
(each a path into the scenario, :mod:`otvplan.study.paths`, with a list or a range of values),
the :class:`Design` (``grid``, ``lhs``, ``sobol``), the solver objective and the
:data:`METRICS` to record. :meth:`Study.cases` expands the design into :class:`Case` objects
with stable ids (a hash of the values and the study's key), so a rerun finds the cases it
already stored. :mod:`otvplan.study.reader` builds a study from a file.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from otvplan import __version__
from otvplan.errors import STATUS_BAD_INPUT, STATUS_ERROR, STATUS_INFEASIBLE, STATUS_OK
from otvplan.io.units import CLOCK_TIME, NUMBER_UNIT, UNIT_TABLE, format_number
from otvplan.model import OBJECTIVES  # the solver objectives a study may ask for

__all__ = [
    "DESIGNS",
    "MAX_CASES",
    "METRICS",
    "OBJECTIVES",
    "STATUS_NAMES",
    "Axis",
    "Case",
    "Design",
    "Metric",
    "Study",
    "convert_units",
    "quantity_parts",
]

#: Most cases a study may have (a grid's product of axis lengths, or a design's size).
MAX_CASES = 1_000_000

#: Designs: every combination, Latin hypercube, scrambled Sobol' sequence (scipy.stats.qmc).
DESIGNS = ("grid", "lhs", "sobol")


#: Short names of the case status codes, as written in the table's ``status`` column.
STATUS_NAMES = {
    STATUS_OK: "ok",
    STATUS_INFEASIBLE: "infeasible",
    STATUS_BAD_INPUT: "bad-input",
    STATUS_ERROR: "error",
}

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
    "total_dv": Metric(
        "total_dv_m_s", "m/s", "float", "delta-v of every burn", lambda p: p.total_dv_kms * 1000.0
    ),
    "propellant_used": Metric(
        "propellant_used_kg", "kg", "float", "propellant burnt", lambda p: p.propellant_used_kg
    ),
    "propellant_remaining": Metric(
        "propellant_remaining_kg",
        "kg",
        "float",
        "propellant left at the end, reserve included",
        lambda p: p.propellant_remaining_kg,
    ),
    "propellant_margin": Metric(
        "propellant_margin_kg",
        "kg",
        "float",
        "propellant left above the reserve",
        lambda p: p.propellant_margin_kg,
    ),
    "duration": Metric(
        "duration_d",
        "d",
        "float",
        "mission duration, disposal included",
        lambda p: p.duration_s / _DAY_S,
    ),
    "initial_mass": Metric(
        "initial_mass_kg",
        "kg",
        "float",
        "tug, propellant and payloads",
        lambda p: p.scenario.initial_mass_kg,
    ),
    "final_mass": Metric(
        "final_mass_kg", "kg", "float", "tug mass at the end", lambda p: p.final_mass_kg
    ),
    "feasible": Metric(
        "feasible",
        "",
        "bool",
        "every payload delivered within every limit",
        lambda p: bool(p.feasible),
    ),
    "delivered": Metric(
        "delivered", "", "int", "number of payloads delivered", lambda p: len(p.delivered)
    ),
    "undelivered": Metric(
        "undelivered",
        "",
        "text",
        "names of the payloads not delivered",
        lambda p: ";".join(p.undelivered),
    ),
    "shortfall_propellant": Metric(
        "shortfall_propellant_kg",
        "kg",
        "float",
        "more propellant needed for the whole manifest",
        lambda p: p.shortfall_propellant_kg,
    ),
    "shortfall_time": Metric(
        "shortfall_time_d",
        "d",
        "float",
        "more time needed for the whole manifest",
        lambda p: p.shortfall_time_s / _DAY_S,
    ),
    "legs": Metric("legs", "", "int", "number of legs, disposal included", lambda p: len(p.legs)),
    "exact": Metric(
        "exact", "", "bool", "sequence proven optimal within the leg model", lambda p: bool(p.exact)
    ),
    "tugs_flown": Metric(
        "tugs_flown", "", "int", "tugs that fly (1 without a fleet)", lambda p: _tugs_flown(p)
    ),
    "assignment": Metric(
        "assignment",
        "",
        "text",
        "payload=tug for each payload of a fleet (empty without one)",
        lambda p: ";".join(f"{k}={v}" for k, v in getattr(p, "assignment", {}).items()),
    ),
    "solve_time": Metric(
        "solve_time_s", "s", "float", "the solver's own time", lambda p: _solve_time(p)
    ),
}


def _tugs_flown(p: Any) -> int:
    """Tugs a plan flies: a fleet plan's tugs, else one."""
    tugs = getattr(p, "tugs", None)
    return 1 if tugs is None else len(tugs)


def quantity_parts(value: Any) -> tuple[float, str] | None:
    """(number, unit) of "525 km", (number, "") of a bare number, None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return (float(value), "") if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    clock = CLOCK_TIME.match(value)
    if clock:
        hours = int(clock[1]) + int(clock[2]) / 60.0 + float(clock[3] or 0.0) / 3600.0
        return hours, "h"
    match = NUMBER_UNIT.match(value)
    if match is None or not match["unit"]:
        return None
    number = float(match["number"])
    return (number, match["unit"]) if math.isfinite(number) else None


def convert_units(number: float, unit: str, to_unit: str) -> float | None:
    """``number`` [unit] in ``to_unit``; None when the units are not of one kind."""
    if unit == to_unit:
        return number
    a = UNIT_TABLE.get(unit)
    b = UNIT_TABLE.get(to_unit)
    if a is not None and b is not None:
        return number * a[1] / b[1] if a[0] == b[0] else None
    try:
        import astropy.units as u  # only for units outside the table

        return float((number * u.Unit(unit)).to_value(u.Unit(to_unit)))
    except Exception:  # noqa: BLE001 - unknown unit or another kind
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
            return round(x)
        if not self.unit:
            return float(x)
        return f"{format_number(float(x))} {self.unit}"

    @property
    def size(self) -> int:
        """The number of values of this axis on a grid (:meth:`levels`)."""
        return len(self.values) if not self.is_range else (self.steps or 2)

    def _ends(self) -> tuple[float, float]:
        """(start, stop) of a range axis."""
        if self.start is None or self.stop is None:
            raise ValueError(f"the axis {self.path} is a list of values, not a range")
        return self.start, self.stop

    def _grid_numbers(self) -> list[float]:
        import numpy as np

        start, stop = self._ends()
        n = self.steps or 2
        if self.scale == "log":
            return [float(x) for x in np.geomspace(start, stop, n)]
        return [float(x) for x in np.linspace(start, stop, n)]

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
        start, stop = self._ends()
        if self.scale == "log":
            lo, hi = math.log(start), math.log(stop)
            return self._value(math.exp(lo + u * (hi - lo)))
        return self._value(start + u * (stop - start))

    def cell(self, value: Any) -> Any:
        """The table cell of a value: a number in ``unit`` for numeric axes, else text."""
        if self.numeric:
            parts = quantity_parts(value)
            if parts is not None:
                converted = convert_units(parts[0], parts[1], self.unit)
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
        ident = json.dumps(
            {
                "base": json.loads(self.base_json),
                "objective": self.objective,
                "otvplan": __version__,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]

    def case_id(self, values: tuple) -> str:
        """The stable id of the case with these axis values (hash of values + study key)."""
        ident = json.dumps(
            [self.key, [[a.path, v] for a, v in zip(self.axes, values)]],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]

    def cases(self) -> tuple[Case, ...]:
        """Every case of the design, in design order; identical cases appear once."""
        return self._cases

    @functools.cached_property
    def _cases(self) -> tuple[Case, ...]:
        if self.design.kind == "grid":
            combos: typing.Iterable[tuple] = itertools.product(*(a.levels() for a in self.axes))
        else:
            combos = (
                tuple(axis.sample(float(u)) for axis, u in zip(self.axes, point))
                for point in self._unit_points()
            )
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
        return sampler.random_base2(round(math.log2(self.design.size)))

    def assignments(self, case: Case) -> tuple[tuple[tuple, Any], ...]:
        """(location, value) pairs that turn the base scenario into the case's."""
        return tuple(
            (loc, value) for axis, value in zip(self.axes, case.values) for loc in axis.locations
        )
