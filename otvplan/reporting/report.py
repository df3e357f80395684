"""Reports of a :class:`~otvplan.model.Plan`: JSON, CSV, Markdown and self-contained HTML.

Library use::

    from otvplan.reporting.report import write_report, render_markdown, render_html
    paths = write_report(plan, "out/")          # every file, written atomically
    text = render_markdown(plan)                # a string, e.g. for a notebook
    html = render_html(plan)                    # one file, figures embedded

Files written by :func:`write_report`:

- ``plan.json`` - the whole plan (:func:`otvplan.model.to_data`) with a format version;
  :func:`plan_from_json` reads it back into an equal ``Plan``. Core units (km, km/s, s, rad, kg).
- ``legs.csv`` and ``burns.csv`` - one row per leg / per burn, units in the column names.
- ``report.md`` and ``report.html`` - the same content: summary, totals and margins, legs,
  burns, deliveries (achieved versus target elements), warnings, infeasibility, and the
  verification when one is given. Times are UTC (scenario epoch + seconds).
- every figure of :mod:`otvplan.reporting.plotting` as ``fig_<name>.png`` and ``fig_<name>.svg``.

Markdown and HTML are rendered from one list of blocks (:func:`build_blocks`), so the two
always say the same thing. Display units: altitudes and semi-major axes in km, delta-v in m/s,
angles in degrees, LTAN in hours, masses in kg, durations in days (and s for burns).
"""

from __future__ import annotations

import csv
import datetime as _dt
import html as _html
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from otvplan import __version__
from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.model import Plan, from_data, to_data
from otvplan.core.timeutil import add_seconds, julian_date

#: Name and version of the plan.json format. Bump the version when a field changes meaning.
PLAN_FORMAT = "otvplan-plan"
PLAN_FORMAT_VERSION = 1

#: Figure names in report order (see :mod:`otvplan.reporting.plotting`).
FIGURES = ("timeline", "elements", "mass", "dv_waterfall", "planes", "pareto")

#: Figures earlier versions wrote (``fig_orbits3d``, replaced by ``planes``): still report
#: files, so a report written over an older one removes them.
RETIRED_FIGURES = ("orbits3d",)

LEG_COLUMNS = (
    "leg", "from", "to", "strategy", "start_utc", "end_utc", "duration_d", "dv_m_s",
    "propellant_kg", "mass_before_kg", "mass_after_kg", "payload", "payload_mass_kg",
)
BURN_COLUMNS = (
    "leg", "burn", "label", "engine", "epoch_utc", "t_s", "low_thrust", "duration_s",
    "dv_m_s", "dv_t_m_s", "dv_n_m_s", "dv_w_m_s", "propellant_kg", "mass_before_kg",
    "mass_after_kg", "u_deg", "after_a_km", "after_e", "after_i_deg", "after_raan_deg",
    "after_u_deg", "impulsive_ok",
)


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _num(x: float | None, digits: int) -> str:
    """Fixed-point text of ``x`` with ``digits`` decimals; '-' for None/NaN; no '-0.00'."""
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.{digits}f}"
    if float(text) == 0.0:
        text = f"{0.0:.{digits}f}"
    return text


def _thrust_text(thrust_n: float) -> str:
    """An engine's thrust for people: ``22.0 N``, ``0.090 N``, or ``impulsive`` for a chemical
    engine given without thrust (stored as ``inf``: its burns are instantaneous)."""
    if math.isinf(thrust_n):
        return "impulsive"
    return f"{_num(thrust_n, 3 if thrust_n < 1 else 1)} N"


def utc_of(plan: Plan, t_s: float) -> _dt.datetime:
    """The UTC moment ``t_s`` seconds after the scenario epoch."""
    return add_seconds(plan.scenario.epoch, t_s)


def utc_text(plan: Plan, t_s: float) -> str:
    """``YYYY-MM-DD hh:mm:ss`` UTC of ``t_s`` seconds after the epoch (rounded to 1 s)."""
    moment = utc_of(plan, round(float(t_s)))
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _iso(plan: Plan, t_s: float) -> str:
    """ISO 8601 UTC with milliseconds, for CSV files."""
    moment = utc_of(plan, float(t_s)).astimezone(_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _hours_text(h: float | None) -> str:
    """Clock text ``hh:mm:ss`` of hours in [0, 24)."""
    if h is None or math.isnan(h):
        return "-"
    s = int(round(float(h) * 3600.0)) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _deg(rad: float | None) -> float | None:
    return None if rad is None else math.degrees(rad)


def _wrap_deg(x: float) -> float:
    """Wrap degrees into (-180, 180]."""
    return 180.0 - ((180.0 - x) % 360.0)


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


def _field_bounds(name: str) -> tuple[float, float] | None:
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
                self.add(path, f"must be one of {', '.join(map(repr, args))}, got "
                               f"{_short(value)}")
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
                self.add(path, f"text of {len(value):,} characters, more than "
                               f"{MAX_PLAN_TEXT:,}")
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
            what = ("a mass" if name.endswith("_kg") else "a time" if name.endswith("_s")
                    else "the value")
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
                self.add(f"{path}.{text}" if path else text, "unknown key"
                         + (f'; did you mean "{close[0]}"?' if close else ""))
        for fname, f in fields.items():
            sub = f"{path}.{fname}" if path else fname
            if fname not in value:
                if (f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING):
                    self.add(sub, "required key missing")
                continue
            self.check(hints[fname], value[fname], sub, fname)
        a, e = value.get("a_km"), value.get("e", 0.0)
        if (not self.problems and _is_real(a) and _is_real(e)
                and a * (1.0 - e) < R_EARTH_KM - 1e-6):
            self.add(f"{path}.e" if path else "e", f"the perigee (a(1 - e) = {a * (1.0 - e):.6g} "
                                                   "km) is below the Earth's surface")


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _short(value, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


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

    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        return [Problem(filename, "", "not an otvplan plan file (expected \"format\": "
                                      f"\"{PLAN_FORMAT}\")")]
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version > PLAN_FORMAT_VERSION:
        return [Problem(filename, "format_version",
                        f"plan format version {_short(version)} is not supported by otvplan "
                        f"{__version__} (reads up to {PLAN_FORMAT_VERSION}); upgrade otvplan")]
    if "plan" not in doc:
        return [Problem(filename, "plan", "required key missing")]
    checker = _PlanChecker(filename)
    checker.check_object(Plan, doc["plan"], "plan")
    if checker.problems:
        return checker.problems
    data = doc["plan"]
    legs = data.get("legs", [])
    if len(legs) > MAX_PLAN_LEGS:
        checker.add("plan.legs", f"{len(legs):,} legs, more than the {MAX_PLAN_LEGS:,} a report "
                                 "takes")
    burns = sum(len(leg.get("burns", ())) for leg in legs)
    if burns > MAX_PLAN_BURNS:
        checker.add("plan.legs", f"{burns:,} burns, more than the {MAX_PLAN_BURNS:,} a report "
                                 "takes")
    for k, leg in enumerate(legs):
        if leg["t_end_s"] < leg["t_start_s"]:
            checker.add(f"plan.legs[{k}].t_end_s", "the leg ends before it starts")
    return checker.problems


def plan_from_json(text: str | bytes, filename: str = "<plan>") -> Plan:
    """Read a Plan from :func:`plan_to_json` text (a UTF-8 byte-order mark is accepted).

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
            raise fail(f"not UTF-8 text (byte {exc.start}: {exc.reason}); a plan file is "
                       "UTF-8 JSON as otvplan writes it") from None
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
        return from_data(Plan, doc["plan"])
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise fail(f"not a valid otvplan plan: {exc}", "plan") from None


def read_plan_file(path: str | os.PathLike) -> Plan:
    """Read and validate a plan file (as written by ``otvplan plan --out``).

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
        raise fail("no such file; check the path (`otvplan plan FILE --out DIR` writes "
                   "DIR/plan.json)") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if path.is_dir():
        raise fail("is a directory, not a plan file; give the path of a plan.json")
    if size > MAX_PLAN_FILE_BYTES:
        raise fail(f"file is larger than {MAX_PLAN_FILE_BYTES:,} bytes; a plan file is at most "
                   "a few MB of JSON")
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
        problems.append(Problem(name, "plan.duration_s", f"{plan.duration_s:.6g} s is outside "
                                f"[0, {MAX_PLAN_SECONDS:g}] s"))
    if len(plan.legs) > MAX_PLAN_LEGS:
        problems.append(Problem(name, "plan.legs", f"more than {MAX_PLAN_LEGS} legs"))
    if sum(len(leg.burns) for leg in plan.legs) > MAX_PLAN_BURNS:
        problems.append(Problem(name, "plan.legs", f"more than {MAX_PLAN_BURNS} burns"))
    for k, leg in enumerate(plan.legs):
        for field in ("t_start_s", "t_end_s"):
            if bad_time(getattr(leg, field)):
                problems.append(Problem(name, f"plan.legs[{k}].{field}", "time outside "
                                        f"[0, {MAX_PLAN_SECONDS:g}] s"))
        for j, b in enumerate(leg.burns):
            if bad_time(b.t_s) or bad_time(b.duration_s):
                problems.append(Problem(name, f"plan.legs[{k}].burns[{j}]", "time outside "
                                        f"[0, {MAX_PLAN_SECONDS:g}] s"))
    if problems:
        raise InputError(problems[:20], kind="plan")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def leg_rows(plan: Plan) -> list[dict]:
    """One dict per leg with the :data:`LEG_COLUMNS` keys (numbers as floats)."""
    rows = []
    for leg in plan.legs:
        d = leg.delivery
        rows.append({
            "leg": leg.index, "from": leg.origin, "to": leg.destination,
            "strategy": leg.strategy, "start_utc": _iso(plan, leg.t_start_s),
            "end_utc": _iso(plan, leg.t_end_s),
            "duration_d": leg.duration_s / SECONDS_PER_DAY, "dv_m_s": leg.dv_kms * 1000.0,
            "propellant_kg": leg.propellant_kg, "mass_before_kg": leg.mass_before_kg,
            "mass_after_kg": leg.mass_after_kg, "payload": d.payload if d else "",
            "payload_mass_kg": d.mass_kg if d else 0.0,
        })
    return rows


def burn_rows(plan: Plan) -> list[dict]:
    """One dict per burn with the :data:`BURN_COLUMNS` keys (numbers as floats)."""
    rows = []
    for leg in plan.legs:
        for k, b in enumerate(leg.burns, start=1):
            oa = b.orbit_after
            rows.append({
                "leg": leg.index, "burn": k, "label": b.label, "engine": b.engine,
                "epoch_utc": _iso(plan, b.t_s), "t_s": b.t_s, "low_thrust": b.low_thrust,
                "duration_s": b.duration_s, "dv_m_s": b.dv_kms * 1000.0,
                "dv_t_m_s": b.dv_tnw_kms[0] * 1000.0, "dv_n_m_s": b.dv_tnw_kms[1] * 1000.0,
                "dv_w_m_s": b.dv_tnw_kms[2] * 1000.0, "propellant_kg": b.propellant_kg,
                "mass_before_kg": b.mass_before_kg, "mass_after_kg": b.mass_after_kg,
                "u_deg": math.degrees(b.u_rad),
                "after_a_km": oa.a_km if oa else None, "after_e": oa.e if oa else None,
                "after_i_deg": _deg(oa.inc_rad) if oa else None,
                "after_raan_deg": _deg(oa.raan_rad) if oa else None,
                "after_u_deg": _deg(oa.u_rad) if oa else None,
                "impulsive_ok": b.impulsive_ok,
            })
    return rows


def _csv_text(columns: Sequence[str], rows: Iterable[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        out = []
        for c in columns:
            v = row[c]
            if v is None:
                out.append("")
            elif isinstance(v, bool):
                out.append("true" if v else "false")
            elif isinstance(v, float):
                out.append(repr(v) if math.isfinite(v) else str(v))
            else:
                out.append(str(v))
        w.writerow(out)
    return buf.getvalue()


def legs_csv(plan: Plan) -> str:
    """CSV text, one row per leg; columns :data:`LEG_COLUMNS` (units in the names)."""
    return _csv_text(LEG_COLUMNS, leg_rows(plan))


def burns_csv(plan: Plan) -> str:
    """CSV text, one row per burn; columns :data:`BURN_COLUMNS` (units in the names).

    ``dv_t/n/w_m_s`` are the components in the pre-burn T/N/W frame (T along the velocity, W
    along the angular momentum, N = W x T); ``after_*`` the planned mean orbit after the burn.
    """
    return _csv_text(BURN_COLUMNS, burn_rows(plan))


# --------------------------------------------------------------------------------------------
# Blocks: one document, two renderings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  #: right-align these columns


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str


def _ltan_of(raan: float, t_s: float, plan: Plan, reference: str) -> float:
    from otvplan.core.orbits import raan_to_ltan

    jd = julian_date(utc_of(plan, t_s))
    return float(raan_to_ltan(raan, jd, reference))


def _target_angle_at(spec, t_s: float, which: str) -> float | None:
    from otvplan.core.orbits import argument_of_latitude_rate, raan_rate

    if which == "raan":
        if spec.raan_rad is None:
            return None
        return spec.raan_rad + float(raan_rate(spec.a_km, spec.e, spec.inc_rad)) * t_s
    if spec.slot_rad is None:
        return None
    return spec.slot_rad + float(argument_of_latitude_rate(spec.a_km, spec.e, spec.inc_rad)) * t_s


def delivery_rows(plan: Plan) -> list[tuple[str, list[tuple]]]:
    """For each delivery: (payload, rows of (element, unit, target, achieved, error, tolerance,
    ok)); numbers in display units (km, deg, h, min), None where not applicable."""
    payloads = {p.name: p for p in plan.scenario.payloads}
    out = []
    for leg in plan.legs:
        d = leg.delivery
        if d is None or d.payload not in payloads:
            continue
        spec = payloads[d.payload].target
        tol = spec.tolerances
        o = d.orbit
        t = d.t_s
        rows = []

        def add(name, unit, target, got, tol_v, angle=False):
            if target is None:
                rows.append((name, unit, None, got, None, tol_v, None))
                return
            err = _wrap_deg(got - target) if angle else got - target
            ok = abs(err) <= tol_v + 1e-12 if tol_v is not None else None
            rows.append((name, unit, target, got, err, tol_v, ok))

        add("altitude a - R_E", "km", spec.a_km - R_EARTH_KM, o.a_km - R_EARTH_KM, tol.sma_km)
        add("eccentricity", "-", spec.e, o.e, tol.eccentricity)
        add("inclination", "deg", math.degrees(spec.inc_rad), math.degrees(o.inc_rad),
            math.degrees(tol.inclination_rad))
        raan_t = _target_angle_at(spec, t, "raan")
        add("RAAN", "deg", None if raan_t is None else math.degrees(raan_t) % 360.0,
            math.degrees(o.raan_rad) % 360.0, math.degrees(tol.raan_rad), angle=True)
        if spec.ltan_h is not None:
            ref = getattr(spec, "ltan_reference", "mean")
            got_h = _ltan_of(o.raan_rad, t, plan, ref)
            tgt_h = _ltan_of(raan_t, t, plan, ref) if raan_t is not None else None
            err_min = None if tgt_h is None else ((got_h - tgt_h + 12.0) % 24.0 - 12.0) * 60.0
            tol_min = math.degrees(tol.raan_rad) / 15.0 * 60.0
            rows.append((f"LTAN ({ref} sun)", "h", tgt_h, got_h, err_min, tol_min,
                         None if err_min is None else abs(err_min) <= tol_min + 1e-9))
        slot_t = _target_angle_at(spec, t, "slot")
        add("slot (argument of latitude)", "deg",
            None if slot_t is None else math.degrees(slot_t) % 360.0,
            math.degrees(o.u_rad) % 360.0, math.degrees(tol.slot_rad), angle=True)
        out.append((d.payload, rows))
    return out


def _fmt_element(unit: str, value, digits=None) -> str:
    if value is None:
        return "free"
    if unit == "h":
        return _hours_text(value)
    if unit == "-":
        return _num(value, 5 if digits is None else digits)
    if unit == "km":
        return _num(value, 3 if digits is None else digits)
    return _num(value, 4 if digits is None else digits)


def _ok_text(ok) -> str:
    return "-" if ok is None else ("yes" if ok else "**NO**")


def summary_rows(plan: Plan) -> list[tuple[str, str]]:
    """(quantity, value with unit) pairs of the mission summary."""
    from otvplan.flight.trajectory import dv_budget

    sc = plan.scenario
    tug = sc.tug
    budget = dv_budget(plan)
    usable = tug.propellant_kg - tug.reserve_kg
    margin = plan.propellant_margin_kg
    rows = [
        ("Status", "feasible" if plan.feasible else "NOT FEASIBLE"),
        ("Objective", plan.objective),
        ("Epoch (UTC)", utc_text(plan, 0.0)),
        ("End of mission (UTC)", utc_text(plan, plan.duration_s)),
        ("Duration", f"{_num(plan.duration_s / SECONDS_PER_DAY, 2)} d"),
        ("Payloads delivered", f"{len(plan.delivered)} of {len(sc.payloads)}"),
        ("Total delta-v", f"{_num(plan.total_dv_kms * 1000.0, 1)} m/s"),
        ("Delta-v margin (usable propellant left, at final mass)",
         f"{_num(budget.margin_kms * 1000.0, 1)} m/s"),
        ("Propellant loaded", f"{_num(tug.propellant_kg, 2)} kg"),
        ("Propellant reserve", f"{_num(tug.reserve_kg, 2)} kg"),
        ("Propellant used", f"{_num(plan.propellant_used_kg, 2)} kg"),
        ("Propellant remaining", f"{_num(plan.propellant_remaining_kg, 2)} kg"),
        ("Propellant margin above reserve",
         f"{_num(margin, 2)} kg ({_num(100.0 * margin / usable if usable > 0 else float('nan'), 1)}"
         " % of usable)"),
        ("Initial mass", f"{_num(sc.initial_mass_kg, 2)} kg"),
        ("Final mass", f"{_num(plan.final_mass_kg, 2)} kg"),
        ("Tug", f"{tug.name}: dry {_num(tug.dry_mass_kg, 1)} kg, engines "
                + ", ".join(f"{e.name} ({e.kind}, Isp {_num(e.isp_s, 0)} s, "
                            f"{_thrust_text(e.thrust_n)})" for e in tug.engines)),
        ("Sequence optimality", "exact within the leg model" if plan.exact else
         "heuristic" + (f"; propellant lower bound {_num(plan.lower_bound_propellant_kg, 2)} kg"
                        if plan.lower_bound_propellant_kg is not None else "")),
    ]
    return rows


def _dropoff_text(plan: Plan) -> str:
    d = plan.scenario.dropoff
    parts = [f"altitude {_num(d.a_km - R_EARTH_KM, 1)} km"]
    if d.e:
        parts.append(f"e {_num(d.e, 5)}")
    parts.append(f"inclination {_num(math.degrees(d.inc_rad), 4)} deg" + (" (SSO)" if d.sso else ""))
    if d.raan_rad is not None:
        parts.append(f"RAAN {_num(math.degrees(d.raan_rad), 4)} deg")
    if d.ltan_h is not None:
        parts.append(f"LTAN {_hours_text(d.ltan_h)}")
    return ", ".join(parts)


def _verification_blocks(verification) -> list:
    """Blocks for a verification result (duck-typed; see :mod:`otvplan.flight.verify`)."""
    blocks: list = [Heading(2, "Verification")]
    passed = getattr(verification, "passed", None)
    model = getattr(verification, "force_model", None)
    text = "Numerical propagation of the planned burns"
    if model:
        text += f" ({model})"
    if passed is not None:
        text += ": **all checks passed**." if passed else ": **some checks FAILED**."
    blocks.append(Para(text))
    rows = getattr(verification, "rows", None)
    if rows is None:
        rows = [c for d in getattr(verification, "deliveries", ()) for c in getattr(d, "checks",
                                                                                    ())]
    table = []
    for c in rows:
        unit = getattr(c, "unit", "")
        scale, shown = (math.degrees(1.0), "deg") if unit == "rad" else (1.0, unit)

        def v(x, scale=scale):
            return None if x is None else float(x) * scale

        digits = 5 if shown in ("-", "") else (3 if shown == "km" else 4)
        checked = getattr(c, "checked", True)
        table.append((
            str(getattr(c, "payload", "")), f"{getattr(c, 'element', '')} ({shown})",
            _num(v(getattr(c, "target", None)), digits) if getattr(c, "target", None) is not None
            else "free",
            _num(v(getattr(c, "planned", None)), digits),
            _num(v(getattr(c, "achieved", None)), digits),
            _num(v(getattr(c, "error", None)), digits),
            _num(v(getattr(c, "tolerance", None)), digits),
            _ok_text(getattr(c, "passed", None)) if checked else "-",
            str(getattr(c, "note", "") or ""),
        ))
    if table:
        blocks.append(Table(("Payload", "Element", "Target", "Planned", "Propagated", "Error",
                             "Tolerance", "Pass", "Note"), tuple(table),
                            (False, False, True, True, True, True, True, False, False)))
    mass = getattr(verification, "mass", None)
    if mass is not None:
        items = []
        for name, label in (("plan_propellant_kg", "propellant (plan)"),
                            ("propagated_propellant_kg", "propellant (propagated)"),
                            ("final_mass_plan_kg", "final mass (plan)"),
                            ("final_mass_propagated_kg", "final mass (propagated)"),
                            ("max_chain_error_kg", "largest mass-chain error")):
            val = getattr(mass, name, None)
            if val is not None:
                items.append(f"{label}: {_num(val, 3)} kg")
        if getattr(mass, "passed", None) is not None:
            items.append("mass bookkeeping: " + ("consistent" if mass.passed else "INCONSISTENT"))
        items.extend(str(n) for n in getattr(mass, "notes", ()) or ())
        if items:
            blocks.append(Bullets(tuple(items)))
    warns = tuple(getattr(verification, "warnings", ()) or ())
    if warns:
        blocks.append(Para("Verification warnings:"))
        blocks.append(Bullets(tuple(str(w) for w in warns)))
    return blocks


def build_blocks(plan: Plan, verification=None,
                 figures: Sequence[tuple[str, str]] = ()) -> list:
    """The report as a list of blocks (headings, paragraphs, bullet lists, tables, figures).

    ``figures`` is a sequence of ``(name, caption)`` to place after the summary.
    """
    sc = plan.scenario
    b: list = [Heading(1, f"Mission plan: {sc.name}")]
    if sc.description:
        b.append(Para(sc.description.strip()))
    b.append(Para(f"Drop-off orbit: {_dropoff_text(plan)}. Generated by otvplan {__version__}. "
                  "Elements are mean elements (otvplan's secular J2 model); times are UTC."))
    b.append(Heading(2, "Summary"))
    b.append(Table(("Quantity", "Value"), tuple(summary_rows(plan))))
    if not plan.feasible:
        b.append(Heading(2, "Infeasibility"))
        items = [str(r) for r in plan.infeasible_reasons]
        if plan.shortfall_propellant_kg:
            items.append(f"propellant shortfall: {_num(plan.shortfall_propellant_kg, 2)} kg")
        if plan.shortfall_time_s:
            items.append(f"time shortfall: {_num(plan.shortfall_time_s / SECONDS_PER_DAY, 2)} d")
        if plan.undelivered:
            items.append("not delivered by this partial plan: " + ", ".join(plan.undelivered))
        b.append(Para("Not every payload can be delivered within the constraints. The legs below "
                      "are the best partial plan."))
        b.append(Bullets(tuple(items) or ("no reason recorded",)))
    if plan.warnings:
        b.append(Heading(2, "Warnings"))
        b.append(Bullets(tuple(str(w) for w in plan.warnings)))
    for name, caption in figures:
        b.append(Figure(name, caption))
    b.append(Heading(2, "Legs"))
    legs = []
    for leg, r in zip(plan.legs, leg_rows(plan)):
        legs.append((
            str(r["leg"]), r["from"], r["to"], r["strategy"], utc_text(plan, leg.t_start_s),
            utc_text(plan, leg.t_end_s), _num(r["duration_d"], 3), _num(r["dv_m_s"], 1),
            _num(r["propellant_kg"], 2), _num(r["mass_before_kg"], 2),
            _num(r["mass_after_kg"], 2)))
    if legs:
        legs.append(("", "**Total**", "", "", "", "", _num(plan.duration_s / SECONDS_PER_DAY, 3),
                     _num(plan.total_dv_kms * 1000.0, 1), _num(plan.propellant_used_kg, 2), "",
                     _num(plan.final_mass_kg, 2)))
        b.append(Table(("Leg", "From", "To", "Strategy", "Start (UTC)", "End (UTC)",
                        "Duration (d)", "Delta-v (m/s)", "Propellant (kg)",
                        "Mass before (kg)", "Mass after (kg)"), tuple(legs),
                       (True,) + (False,) * 5 + (True,) * 5))
    else:
        b.append(Para("The plan has no legs."))
    notes = [f"Leg {leg.index}: " + "; ".join(leg.notes) for leg in plan.legs if leg.notes]
    if notes:
        b.append(Bullets(tuple(notes)))
    burns = []
    for r in burn_rows(plan):
        burns.append((
            f"{r['leg']}.{r['burn']}", r["label"], utc_text(plan, r["t_s"]),
            _num(r["dv_m_s"], 2), _num(r["dv_t_m_s"], 2), _num(r["dv_n_m_s"], 2),
            _num(r["dv_w_m_s"], 2),
            _num(r["duration_s"], 0) + (" (low thrust)" if r["low_thrust"] else "")
            + ("" if r["impulsive_ok"] else " (long)"),
            _num(r["propellant_kg"], 3), _num(r["mass_after_kg"], 2),
            _num(None if r["after_a_km"] is None else r["after_a_km"] - R_EARTH_KM, 2),
            _num(r["after_e"], 5), _num(r["after_i_deg"], 4), _num(r["after_raan_deg"], 4)))
    if burns:
        b.append(Heading(2, "Burns"))
        b.append(Para("Delta-v components in the frame of the orbit before the burn: T along the "
                      "velocity, W along the angular momentum (orbit normal), N = W x T (towards "
                      "the Earth for a circular orbit). Orbit after: planned mean orbit, altitude "
                      "= a - R_E (R_E = 6378.137 km)."))
        b.append(Table(("Burn", "Label", "Epoch (UTC)", "Delta-v (m/s)", "dv T (m/s)",
                        "dv N (m/s)", "dv W (m/s)", "Duration (s)", "Propellant (kg)",
                        "Mass after (kg)", "Alt. after (km)", "e after", "i after (deg)",
                        "RAAN after (deg)"), tuple(burns),
                       (False, False, False) + (True,) * 11))
    b.append(Heading(2, "Deliveries"))
    deliveries = delivery_rows(plan)
    if not deliveries:
        b.append(Para("No payload is delivered."))
    mass_of = {p.name: p.mass_kg for p in sc.payloads}
    when = {leg.delivery.payload: leg.delivery.t_s for leg in plan.legs if leg.delivery}
    for payload, rows in deliveries:
        b.append(Heading(3, f"{payload}"))
        b.append(Para(f"Released {utc_text(plan, when[payload])} UTC "
                      f"(day {_num(when[payload] / SECONDS_PER_DAY, 3)}), "
                      f"{_num(mass_of.get(payload, float('nan')), 2)} kg. Targets that drift "
                      "(RAAN, slot) are given at the release time."))
        table = []
        for name, unit, target, got, err, tol, ok in rows:
            if unit == "h":
                table.append((f"{name} (hh:mm:ss)", _fmt_element(unit, target),
                              _fmt_element(unit, got), _num(err, 2) + " min" if err is not None
                              else "-", _num(tol, 2) + " min", _ok_text(ok)))
            else:
                u = "" if unit == "-" else f" ({unit})"
                table.append((f"{name}{u}", _fmt_element(unit, target), _fmt_element(unit, got),
                              _fmt_element(unit, err) if err is not None else "-",
                              _fmt_element(unit, tol) if tol is not None else "-",
                              _ok_text(ok)))
        b.append(Table(("Element", "Target", "Achieved (plan)", "Error", "Tolerance", "Within"),
                       tuple(table), (False, True, True, True, True, False)))
    if plan.undelivered:
        b.append(Para("Not delivered: " + ", ".join(plan.undelivered) + "."))
    if verification is not None:
        b.extend(_verification_blocks(verification))
    return b


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


#: Control characters, line and paragraph separators and bidirectional overrides: never
#: written as they are into Markdown or HTML (a newline would start a new block, an escape
#: sequence would drive a terminal showing the file).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069]")

#: Characters that carry Markdown or HTML meaning inside a line, and what they become. ``*``
#: is kept: the blocks use ``**bold**`` on purpose, and emphasis cannot inject anything.
_MD_ESCAPES = str.maketrans({"\\": "\\\\", "`": "\\`", "[": "\\[", "]": "\\]",
                             "<": "&lt;", ">": "&gt;", "&": "&amp;", "|": "\\|"})

#: A line start that Markdown reads as a block: heading, quote, list item, rule, setext line.
_MD_BLOCK_START = re.compile(r"^(\s*)(>|[#+\-=_~*]+(?=\s|$)|\d+[.)](?=\s|$))")


def _plain(text) -> str:
    """``text`` on one line: control characters shown as escapes, line breaks as spaces."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _md_cell(text) -> str:
    """Text from the plan as Markdown that shows it and does nothing else: one line, no raw
    HTML (``<script>`` becomes ``&lt;script&gt;``), no links, images or code spans, no
    table-cell breaks."""
    return _plain(text).translate(_MD_ESCAPES)


def _md_text(text) -> str:
    """:func:`_md_cell`, and no heading, quote or list marker at its start (for a block)."""
    return _MD_BLOCK_START.sub(lambda m: m[1] + "\\" + m[2], _md_cell(text))


def _blocks_to_markdown(blocks, figure_files: dict[str, str] | None = None) -> str:
    out: list[str] = []
    for blk in blocks:
        if isinstance(blk, Heading):
            out.append("#" * blk.level + " " + _md_text(blk.text))
        elif isinstance(blk, Para):
            out.append(_md_text(blk.text))
        elif isinstance(blk, Bullets):
            out.append("\n".join(f"- {_md_text(i)}" for i in blk.items))
        elif isinstance(blk, Table):
            num = blk.numeric or (False,) * len(blk.headers)
            lines = ["| " + " | ".join(_md_cell(h) for h in blk.headers) + " |",
                     "|" + "|".join("---:" if n else "---" for n in num) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in blk.rows]
            out.append("\n".join(lines))
        elif isinstance(blk, Figure):
            target = (figure_files or {}).get(blk.name, f"fig_{blk.name}.png")
            out.append(f"![{blk.caption}]({target})\n\n*{blk.caption}*")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_markdown(plan: Plan, verification=None, figures: Sequence[str] = ()) -> str:
    """The report as Markdown text.

    ``figures`` names figures (see :data:`FIGURES`) to link as ``fig_<name>.png`` next to the
    Markdown file; by default none are linked.
    """
    caps = figure_captions(plan)
    return _blocks_to_markdown(build_blocks(plan, verification,
                                            [(n, caps[n]) for n in figures if n in caps]))


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:2em auto;max-width:1200px;padding:0 1em;color:#1b1f24;line-height:1.45}
h1{border-bottom:2px solid #335;padding-bottom:.2em}h2{margin-top:1.6em;color:#223}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #c8ccd2;padding:.25em .55em;vertical-align:top}
th{background:#eef1f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#f8f9fb}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #e2e5ea}
figcaption{font-size:.9em;color:#444}
""".strip()


def _inline_md(text: str) -> str:
    """HTML of a text with the only inline Markdown the blocks use: **bold**."""
    parts = _html.escape(_plain(text)).split("**")
    return "".join(f"<strong>{p}</strong>" if k % 2 else p for k, p in enumerate(parts))


def _blocks_to_html(blocks, title: str, figure_data: dict[str, tuple[str, bytes]]) -> str:
    import base64

    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{_html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>",
           "<body>"]
    for blk in blocks:
        if isinstance(blk, Heading):
            out.append(f"<h{blk.level}>{_inline_md(blk.text)}</h{blk.level}>")
        elif isinstance(blk, Para):
            out.append(f"<p>{_inline_md(blk.text)}</p>")
        elif isinstance(blk, Bullets):
            out.append("<ul>" + "".join(f"<li>{_inline_md(i)}</li>" for i in blk.items) + "</ul>")
        elif isinstance(blk, Table):
            num = blk.numeric or (False,) * len(blk.headers)
            rows = ["<tr>" + "".join(f"<th>{_inline_md(h)}</th>" for h in blk.headers) + "</tr>"]
            for row in blk.rows:
                rows.append("<tr>" + "".join(
                    f'<td class="n">{_inline_md(c)}</td>' if n else f"<td>{_inline_md(c)}</td>"
                    for c, n in zip(row, num)) + "</tr>")
            out.append("<table>" + "".join(rows) + "</table>")
        elif isinstance(blk, Figure) and blk.name in figure_data:
            mime, data = figure_data[blk.name]
            src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            out.append(f'<figure><img src="{src}" alt="{_html.escape(blk.caption)}">'
                       f"<figcaption>{_html.escape(blk.caption)}</figcaption></figure>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def figure_captions(plan: Plan) -> dict[str, str]:
    """Caption of each figure that applies to ``plan`` (the Pareto front only with
    alternatives to show)."""
    caps = {
        "timeline": "Timeline of the legs and their phases; burns as ticks, releases as "
                    "triangles.",
        "elements": "Mean altitude, inclination and RAAN relative to each target plane versus "
                    "time; releases marked.",
        "mass": "Tug mass and propellant on board versus time (steps at burns and releases).",
        "dv_waterfall": "Delta-v per leg against the delta-v available from the propellant.",
        "planes": _planes_caption(plan),
        "pareto": "Propellant-duration trade-off found by the solver, chosen plan marked.",
    }
    if not (plan.objective == "pareto" or len(plan.alternatives) > 1):
        caps.pop("pareto")
    return caps


def _planes_caption(plan: Plan) -> str:
    """Caption of the planes map, which is a node map when some target has a node to reach
    and an inclination map otherwise (as :func:`otvplan.reporting.plotting.planes` draws it)."""
    if any(p.target.raan_rad is not None and p.target.inc_rad >= math.radians(0.1)
           for p in plan.scenario.payloads):
        ltan = " (LTAN for SSO)" if plan.scenario.dropoff.sso else ""
        return ("Node of the tug and of each target relative to the drop-off plane against "
                f"altitude{ltan}; drift runs, releases marked.")
    return "Inclination of the tug and of each target against altitude; releases marked."


def make_figures(plan: Plan) -> dict:
    """Every figure that applies to ``plan`` as ``{name: matplotlib Figure}``.

    Imports :mod:`otvplan.reporting.plotting` (and matplotlib) on call.
    """
    from otvplan.reporting import plotting

    return {name: plotting.FIGURE_FUNCTIONS[name](plan) for name in figure_captions(plan)}


def render_html(plan: Plan, verification=None, figures: dict | None = None,
                embed_figures: bool = True, image_format: str = "svg") -> str:
    """The report as one self-contained HTML page (no external files, scripts or fonts).

    Figures are embedded as ``data:`` URIs (``image_format`` ``"svg"`` or ``"png"``).
    ``figures`` may pass already-made matplotlib Figures (``{name: Figure}``), or rendered
    images (``{name: (mime type, bytes)}``); otherwise they are made here when
    ``embed_figures`` is true.
    """
    caps = figure_captions(plan)
    figure_data: dict[str, tuple[str, bytes]] = {}
    if embed_figures:
        if figures is None:
            figures = make_figures(plan)
        for name, fig in figures.items():
            if isinstance(fig, tuple):
                figure_data[name] = fig
            else:
                figure_data[name] = _render_figure(fig, image_format)
    blocks = build_blocks(plan, verification,
                          [(n, caps[n]) for n in caps if n in figure_data])
    return _blocks_to_html(blocks, f"otvplan plan: {plan.scenario.name}", figure_data)


def _render_figure(fig, image_format: str) -> tuple[str, bytes]:
    from otvplan.reporting import plotting

    data = plotting.figure_bytes(fig, image_format)
    return ("image/svg+xml" if image_format == "svg" else "image/png"), data


# --------------------------------------------------------------------------------------------
# Writing everything
# --------------------------------------------------------------------------------------------


#: Files of a report set other than the figures (``fig_<name>.png/.svg``).
REPORT_FILES = ("plan.json", "legs.csv", "burns.csv", "report.md", "report.html", "plan.oem",
                "plan.opm", "plan.script")


def is_report_file(name: str) -> bool:
    """Whether ``name`` is one of the files :func:`write_report` writes for some plan (so an
    earlier report's copy may be replaced or removed); any other file is left alone."""
    if name in REPORT_FILES:
        return True
    stem, dot, ext = name.rpartition(".")
    return (dot == "." and ext in ("png", "svg") and stem.startswith("fig_")
            and stem[4:] in _figure_names())


def _figure_names() -> set[str]:
    """Names of every figure a report can have (:data:`FIGURES`, the plotting module's) or
    had (:data:`RETIRED_FIGURES`)."""
    names = set(FIGURES) | set(RETIRED_FIGURES)
    try:
        from otvplan.reporting import plotting

        names |= set(getattr(plotting, "FIGURE_FUNCTIONS", {}))
    except ImportError:  # pragma: no cover - matplotlib missing: only FIGURES
        pass
    return names


def write_report(plan: Plan, out_dir: str | os.PathLike, verification=None, *,
                 figures: bool = True, exports: bool = False) -> list[Path]:
    """Write the full report of ``plan`` into ``out_dir`` (created if needed).

    Writes ``plan.json``, ``legs.csv``, ``burns.csv``, ``report.md``, ``report.html`` and, with
    ``figures`` (default), every figure as ``fig_<name>.png`` and ``fig_<name>.svg``. With
    ``exports`` also the CCSDS OEM (``plan.oem``) and OPM (``plan.opm``) and the GMAT script
    (``plan.script``) of :mod:`otvplan.reporting.exports`. Returns the paths written, in that order.

    The set is all or nothing (:class:`otvplan.io.atomicio.StagedDirectory`): every file is first
    written into a hidden staging directory next to ``out_dir`` and the set is swapped in at the
    end, so ``out_dir`` holds this report or the previous one, never a mix; report files of an
    earlier run that this one does not write (a figure that no longer applies, exports) are
    removed, any other file in ``out_dir`` is left alone. A file-system fault raises
    :class:`otvplan.errors.OutputError` and leaves ``out_dir`` as it was.
    """
    from otvplan.io.atomicio import StagedDirectory

    check_report_bounds(plan)
    with StagedDirectory(out_dir, managed=is_report_file) as stage:
        paths = [
            stage.write_text("plan.json", plan_to_json(plan)),
            stage.write_text("legs.csv", legs_csv(plan)),
            stage.write_text("burns.csv", burns_csv(plan)),
        ]
        caps = figure_captions(plan)
        rendered: dict[str, tuple[str, bytes]] = {}
        fig_paths = []
        if figures:
            from otvplan.reporting import plotting

            for name, fig in make_figures(plan).items():
                png = plotting.figure_bytes(fig, "png")
                svg = plotting.figure_bytes(fig, "svg")
                fig_paths.append(stage.write_bytes(f"fig_{name}.png", png))
                fig_paths.append(stage.write_bytes(f"fig_{name}.svg", svg))
                rendered[name] = ("image/svg+xml", svg)
        md_figs = [(n, caps[n]) for n in caps if n in rendered]
        paths.append(stage.write_text("report.md", _blocks_to_markdown(
            build_blocks(plan, verification, md_figs))))
        paths.append(stage.write_text("report.html", _blocks_to_html(
            build_blocks(plan, verification, md_figs), f"otvplan plan: {plan.scenario.name}",
            rendered)))
        paths.extend(fig_paths)
        if exports:
            from otvplan.reporting import exports as ex

            paths.append(stage.write_text("plan.oem", ex.oem_text(plan)))
            paths.append(stage.write_text("plan.opm", ex.opm_text(plan)))
            paths.append(stage.write_text("plan.script", ex.gmat_script(plan)))
    return paths


__all__ = [
    "PLAN_FORMAT", "PLAN_FORMAT_VERSION", "FIGURES", "RETIRED_FIGURES", "LEG_COLUMNS",
    "BURN_COLUMNS",
    "plan_to_json", "plan_from_json", "legs_csv", "burns_csv", "leg_rows", "burn_rows",
    "delivery_rows", "summary_rows", "build_blocks", "render_markdown", "render_html",
    "make_figures", "figure_captions", "write_report", "utc_text", "REPORT_FILES",
    "is_report_file", "check_report_bounds", "validate_plan_data", "read_plan_file",
]
