"""``plan.json``: the plan as JSON text and back, with the validation of a plan file.

A plan file is untrusted input (it may come from anyone's disk or mailbox): :func:`plan_from_json`
checks its size, nesting, every field's type and bounds against the model's dataclasses
(:func:`validate_plan_data`) before building the :class:`~otvplan.model.Plan`, and
:func:`check_report_bounds` refuses a plan that would make the reporter write without bound.
:mod:`otvplan.reporting.report` re-exports every public name here.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from pathlib import Path

from otvplan import __version__
from otvplan.constants import R_EARTH_KM
from otvplan.model import FleetPlan, Plan, from_data, to_data

#: Name and version of the plan.json format. Bump the version when a field changes meaning.
PLAN_FORMAT = "otvplan-plan"
PLAN_FORMAT_VERSION = 1
#: Name and version of a fleet's plan file (``fleet.json``): a :class:`FleetPlan` whose tugs'
#: plans are plan-format plans.
FLEET_FORMAT = "otvplan-fleet-plan"
FLEET_FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


def plan_to_json(plan: Plan, indent: int | None = 1) -> str:
    """The plan as JSON text: ``{"format", "format_version", "otvplan_version", "plan"}``.

    ``plan`` is :func:`otvplan.model.to_data` of the Plan (core units: km, km/s, s, rad, kg;
    the epoch as ISO 8601 UTC). Floats are written with full precision, so
    :func:`plan_from_json` gives back an equal Plan.
    """
    doc = {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "otvplan_version": __version__,
        "units": "km, km/s, s (from scenario.epoch, UTC), rad, kg",
        "plan": to_data(plan),
    }
    return json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


def fleet_to_json(fleet: FleetPlan, indent: int | None = 1) -> str:
    """A fleet plan as JSON text: ``{"format", "format_version", "otvplan_version", "fleet"}``
    with ``fleet`` = :func:`otvplan.model.to_data` of the :class:`FleetPlan` (each tug's plan
    as in ``plan.json``). :func:`plan_from_json` reads it back."""
    doc = {
        "format": FLEET_FORMAT,
        "format_version": FLEET_FORMAT_VERSION,
        "otvplan_version": __version__,
        "units": "km, km/s, s (from each scenario's epoch, UTC), rad, kg",
        "fleet": to_data(fleet),
    }
    return json.dumps(doc, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"


#: Largest plan file read, in bytes (checked before reading). A 200-payload plan is ~2 MB.
MAX_PLAN_FILE_BYTES = 20_000_000

#: Deepest JSON nesting accepted in a plan file (a plan nests about 8 levels).
MAX_PLAN_DEPTH = 32

#: Largest time in a plan [s] (20 years after the epoch): bounds what the reporter samples.
MAX_PLAN_SECONDS = 20 * 365.25 * 86400.0

#: Largest mass in a plan [kg].
MAX_PLAN_MASS_KG = 1.0e7

#: Most legs, and most burns over all legs, in a plan the reporter accepts.
MAX_PLAN_LEGS = 1_000
MAX_PLAN_BURNS = 20_000

#: Longest list and longest string anywhere in a plan file.
MAX_PLAN_ITEMS = 100_000
MAX_PLAN_TEXT = 10_000

#: Float fields that may hold ``"inf"`` (to_data writes non-finite floats as strings): the
#: shortfalls, and the thrust of an impulsive engine (a chemical engine given without thrust).
_INF_FIELDS = frozenset({"shortfall_propellant_kg", "shortfall_time_s", "thrust_n"})


def _json_depth_ok(text: str, limit: int) -> bool:
    """Whether the brackets of JSON ``text`` nest at most ``limit`` deep (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _field_bounds(name: str) -> tuple[float, float]:
    """(lowest, highest) allowed for a float field, from its name and unit suffix."""
    if name.endswith("_kg"):
        return 0.0, MAX_PLAN_MASS_KG
    if name == "isp_s":
        return 1e-9, 1e6
    if name.endswith("_s"):
        return 0.0, MAX_PLAN_SECONDS
    if name == "a_km":  # from the Earth's surface to its Hill sphere
        return R_EARTH_KM, 1.5e6
    if name.endswith("_km"):
        return -1.0e7, 1.0e7
    if name.endswith("_kms"):
        return -1.0e3, 1.0e3
    if name == "e" or name == "eccentricity":
        return 0.0, 0.999999
    if name == "inc_rad":
        return 0.0, math.pi
    if name.endswith("_rad"):
        return -1.0e6, 1.0e6
    if name == "ltan_h":
        return 0.0, 24.0
    if name == "thrust_n":
        return 0.0, 1.0e8
    if name in ("power_w", "area_m2", "drag_coefficient", "reentry_years"):
        return 0.0, 1.0e9
    return -1.0e12, 1.0e12


class _PlanChecker:
    """Walks plan data against the model's dataclasses; collects problems as ``Problem``s."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list = []

    def add(self, path: str, message: str) -> None:
        from otvplan.errors import Problem

        if len(self.problems) < 100:
            self.problems.append(Problem(self.file, path, message))

    def check(self, tp, value, path: str, name: str) -> None:
        import dataclasses
        import types
        import typing

        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if value is None and type(None) in args:
                return
            inner = [a for a in args if a is not type(None)]
            if len(inner) == 1:
                self.check(inner[0], value, path, name)
            return
        if value is None:
            self.add(path, "must not be null")
            return
        if origin is typing.Literal:
            if value not in args:
                self.add(path, f"must be one of {', '.join(map(repr, args))}, got {_short(value)}")
            return
        if origin is tuple:
            if not isinstance(value, list):
                self.add(path, f"must be a list, got {_json_type(value)}")
                return
            if len(value) > MAX_PLAN_ITEMS:
                self.add(path, f"has {len(value):,} items, more than {MAX_PLAN_ITEMS:,}")
                return
            if len(args) == 2 and args[1] is Ellipsis:
                for k, item in enumerate(value):
                    self.check(args[0], item, f"{path}[{k}]", name)
            elif len(value) != len(args):
                self.add(path, f"must be a list of {len(args)} items, got {len(value)}")
            else:
                for k, (a, item) in enumerate(zip(args, value)):
                    self.check(a, item, f"{path}[{k}]", name)
            return
        if dataclasses.is_dataclass(tp):
            self.check_object(tp, value, path)
            return
        if tp is _dt.datetime:
            from otvplan.core.timeutil import parse_utc

            if not isinstance(value, str):
                self.add(path, f"must be a UTC time as text, got {_json_type(value)}")
                return
            try:
                moment = parse_utc(value)
            except (ValueError, TypeError, OverflowError):
                self.add(path, f"not a UTC time: {_short(value)}")
                return
            if not (1950 <= moment.year < 2200):
                self.add(path, f"epoch {_short(value)} is outside 1950-2200")
            return
        if tp is bool:
            if not isinstance(value, bool):
                self.add(path, f"must be true or false, got {_short(value)}")
            return
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.add(path, f"must be a whole number, got {_short(value)}")
            elif not -1_000_000_000 <= value <= 1_000_000_000:
                self.add(path, f"{value} is out of range")
            return
        if tp is float:
            self.check_float(value, path, name)
            return
        if tp is str:
            if not isinstance(value, str):
                self.add(path, f"must be text, got {_short(value)}")
            elif len(value) > MAX_PLAN_TEXT:
                self.add(path, f"text of {len(value):,} characters, more than {MAX_PLAN_TEXT:,}")
            return

    def check_float(self, value, path: str, name: str) -> None:
        if isinstance(value, str) and value in ("inf", "-inf", "nan"):
            if value == "inf" and name in _INF_FIELDS:
                return
            self.add(path, f"must be a finite number, got {value!r}")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, f"must be a number, got {_short(value)}")
            return
        try:
            x = float(value)
        except OverflowError:
            self.add(path, "the number is too large")
            return
        if not math.isfinite(x):
            self.add(path, f"must be a finite number, got {value!r}")
            return
        low, high = _field_bounds(name)
        if not low <= x <= high:
            what = (
                "a mass"
                if name.endswith("_kg")
                else "a time"
                if name.endswith("_s")
                else "the value"
            )
            self.add(path, f"{what} of {x:.6g} is outside [{low:g}, {high:g}]")

    def check_object(self, cls, value, path: str) -> None:
        import dataclasses
        import typing

        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {_json_type(value)}")
            return
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in value:
            if key not in fields:
                simple = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,59}", key)
                text = key if simple else _short(key, 60)
                close = [k for k in fields if k.lower() == key.lower().strip()]
                self.add(
                    f"{path}.{text}" if path else text,
                    "unknown key" + (f'; did you mean "{close[0]}"?' if close else ""),
                )
        for fname, f in fields.items():
            sub = f"{path}.{fname}" if path else fname
            if fname not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.add(sub, "required key missing")
                continue
            self.check(hints[fname], value[fname], sub, fname)
        a, e = value.get("a_km"), value.get("e", 0.0)
        if not self.problems and _is_real(a) and _is_real(e) and a * (1.0 - e) < R_EARTH_KM - 1e-6:
            self.add(
                f"{path}.e" if path else "e",
                f"the perigee (a(1 - e) = {a * (1.0 - e):.6g} km) is below the Earth's surface",
            )


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_type(value) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), "a number")


def _short(value, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_plan_data(doc, filename: str = "<plan>") -> list:
    """Every problem of a decoded plan file ``doc`` as a list of :class:`~otvplan.errors.Problem`.

    Checks the envelope (``format``, ``format_version``), then the plan against the model:
    required keys present, no unknown keys, booleans are booleans, whole numbers whole, text is
    text, every number finite (``"inf"`` only for a shortfall) and within a bound for its unit
    (masses 0 to :data:`MAX_PLAN_MASS_KG`, times 0 to :data:`MAX_PLAN_SECONDS`, eccentricity
    below 1, inclination 0 to 180 deg), lists of bounded length, the epoch a UTC time in
    1950-2200; then what the reporter would have to write (at most :data:`MAX_PLAN_LEGS` legs
    and :data:`MAX_PLAN_BURNS` burns). Paths read like ``plan.legs[2].burns[0].mass_after_kg``.
    """
    from otvplan.errors import Problem

    fleet = isinstance(doc, dict) and doc.get("format") == FLEET_FORMAT
    if not isinstance(doc, dict) or (doc.get("format") != PLAN_FORMAT and not fleet):
        return [
            Problem(filename, "", f'not an otvplan plan file (expected "format": "{PLAN_FORMAT}")')
        ]
    newest = FLEET_FORMAT_VERSION if fleet else PLAN_FORMAT_VERSION
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version > newest:
        return [
            Problem(
                filename,
                "format_version",
                f"plan format version {_short(version)} is not supported by otvplan "
                f"{__version__} (reads up to {newest}); upgrade otvplan",
            )
        ]
    key = "fleet" if fleet else "plan"
    if key not in doc:
        return [Problem(filename, key, "required key missing")]
    checker = _PlanChecker(filename)
    checker.check_object(FleetPlan if fleet else Plan, doc[key], key)
    if checker.problems:
        return checker.problems
    if fleet:
        for k, tug in enumerate(doc["fleet"]["tugs"]):
            checker.problems += _check_legs(checker, tug["plan"], f"fleet.tugs[{k}].plan")
        return checker.problems
    checker.problems += _check_legs(checker, doc["plan"], "plan")
    return checker.problems


def _check_legs(checker: _PlanChecker, data: dict, where: str) -> list:
    """The report's limits on one plan's legs and burns (problems added to ``checker``)."""
    before = len(checker.problems)
    legs = data.get("legs", [])
    if len(legs) > MAX_PLAN_LEGS:
        checker.add(
            f"{where}.legs", f"{len(legs):,} legs, more than the {MAX_PLAN_LEGS:,} a report takes"
        )
    burns = sum(len(leg.get("burns", ())) for leg in legs)
    if burns > MAX_PLAN_BURNS:
        checker.add(
            f"{where}.legs", f"{burns:,} burns, more than the {MAX_PLAN_BURNS:,} a report takes"
        )
    for k, leg in enumerate(legs):
        if leg["t_end_s"] < leg["t_start_s"]:
            checker.add(f"{where}.legs[{k}].t_end_s", "the leg ends before it starts")
    added = checker.problems[before:]
    del checker.problems[before:]
    return added


def plan_from_json(text: str | bytes, filename: str = "<plan>") -> Plan | FleetPlan:
    """Read a Plan from :func:`plan_to_json` text, or a FleetPlan from :func:`fleet_to_json`
    text (a UTF-8 byte-order mark is accepted).

    The text is validated first (:func:`validate_plan_data`); every problem found is raised at
    once as an :class:`~otvplan.errors.InputError` (a ``ValueError``) whose problems read
    ``file: path: message``; ``filename`` names the file in them.
    """
    from otvplan.errors import InputError, Problem

    def fail(message: str, path: str = "", line: int | None = None, col: int | None = None):
        return InputError([Problem(filename, path, message, line, col)], kind="plan")

    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise fail(
                f"not UTF-8 text (byte {exc.start}: {exc.reason}); a plan file is "
                "UTF-8 JSON as otvplan writes it"
            ) from None
    text = text.removeprefix("\ufeff")
    if not _json_depth_ok(text, MAX_PLAN_DEPTH):
        raise fail(f"the document nests too deeply (more than {MAX_PLAN_DEPTH} levels)")
    try:
        doc = json.loads(text, parse_constant=lambda c: c.lower())  # NaN, Infinity: strings
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON: {exc.msg}", line=exc.lineno, col=exc.colno) from None
    except (RecursionError, ValueError) as exc:
        raise fail(f"not valid JSON: {exc}") from None
    problems = validate_plan_data(doc, filename)
    if problems:
        raise InputError(problems, kind="plan")
    try:
        if doc["format"] == FLEET_FORMAT:
            return from_data(FleetPlan, doc["fleet"])
        return from_data(Plan, doc["plan"])
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise fail(f"not a valid otvplan plan: {exc}", "plan") from None


def read_plan_file(path: str | os.PathLike) -> Plan | FleetPlan:
    """Read and validate a plan file (as written by ``otvplan plan --out``: plan.json, or a
    fleet's fleet.json).

    The size is checked before reading (at most :data:`MAX_PLAN_FILE_BYTES`); every problem is
    raised as an :class:`~otvplan.errors.InputError` naming the file.
    """
    from otvplan.errors import InputError, Problem

    path = Path(path)
    name = str(path)

    def fail(message: str):
        return InputError([Problem(name, "", message)], kind="plan")

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise fail(
            "no such file; check the path (`otvplan plan FILE --out DIR` writes DIR/plan.json)"
        ) from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if path.is_dir():
        raise fail("is a directory, not a plan file; give the path of a plan.json")
    if size > MAX_PLAN_FILE_BYTES:
        raise fail(
            f"file is larger than {MAX_PLAN_FILE_BYTES:,} bytes; a plan file is at most "
            "a few MB of JSON"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PLAN_FILE_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_PLAN_FILE_BYTES:
        raise fail(f"file is larger than {MAX_PLAN_FILE_BYTES:,} bytes")
    return plan_from_json(data, filename=name)


def check_report_bounds(plan: Plan) -> None:
    """Raise :class:`~otvplan.errors.InputError` when a plan would make the reporter write
    without bound: times beyond :data:`MAX_PLAN_SECONDS`, more than :data:`MAX_PLAN_LEGS` legs
    or :data:`MAX_PLAN_BURNS` burns, or non-finite masses and times."""
    from otvplan.errors import InputError, Problem

    problems = []
    name = plan.scenario.source or plan.scenario.name

    def bad_time(x) -> bool:
        return not (math.isfinite(x) and 0.0 <= x <= MAX_PLAN_SECONDS)

    if bad_time(plan.duration_s):
        problems.append(
            Problem(
                name,
                "plan.duration_s",
                f"{plan.duration_s:.6g} s is outside [0, {MAX_PLAN_SECONDS:g}] s",
            )
        )
    if len(plan.legs) > MAX_PLAN_LEGS:
        problems.append(Problem(name, "plan.legs", f"more than {MAX_PLAN_LEGS} legs"))
    if sum(len(leg.burns) for leg in plan.legs) > MAX_PLAN_BURNS:
        problems.append(Problem(name, "plan.legs", f"more than {MAX_PLAN_BURNS} burns"))
    for k, leg in enumerate(plan.legs):
        for field in ("t_start_s", "t_end_s"):
            if bad_time(getattr(leg, field)):
                problems.append(
                    Problem(
                        name, f"plan.legs[{k}].{field}", f"time outside [0, {MAX_PLAN_SECONDS:g}] s"
                    )
                )
        for j, b in enumerate(leg.burns):
            if bad_time(b.t_s) or bad_time(b.duration_s):
                problems.append(
                    Problem(
                        name,
                        f"plan.legs[{k}].burns[{j}]",
                        f"time outside [0, {MAX_PLAN_SECONDS:g}] s",
                    )
                )
    if problems:
        raise InputError(problems[:20], kind="plan")
