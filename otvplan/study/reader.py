"""Reading study files: :func:`load`, :func:`loads`.

A study file is read like a scenario (:mod:`otvplan.io.yamldoc`: size, UTF-8, composing with
line marks, alias bombs) and every problem is collected at once, as
``file:line:col: path: message``: unknown keys, the base scenario (a file, which must be a
valid scenario under :func:`base_roots`, or inline, validated with the scenario schema at the
study file's lines), the design, the objective, the metrics and each axis: its path against
the scenario schema and the base scenario (:mod:`otvplan.study.paths`), its values against the
field they set, a range's ends and unit, and the number of cases (:data:`MAX_CASES`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from otvplan.errors import Problem, ScenarioError, StudyError
from otvplan.io import yamldoc
from otvplan.io.messages import by_position, describe_value, format_location, one_line
from otvplan.io.scenario import FILE_KIND as SCENARIO_FILE
from otvplan.io.scenario import ScenarioDoc
from otvplan.io.scenario import loads as load_scenario_text
from otvplan.io.scenario.diagnostics import document_checks, translate
from otvplan.io.yamldoc import (
    Document,
    FileKind,
    Rejected,
    check_size,
    compose,
    decode,
    parse,
    read_bytes,
    to_data,
)
from otvplan.study.paths import (
    PathError,
    field_problem,
    format_path,
    integer_field,
    parse_path,
    resolve_path,
)
from otvplan.study.spec import (
    DESIGNS,
    MAX_CASES,
    METRICS,
    OBJECTIVES,
    Axis,
    Design,
    Study,
    convert_units,
    quantity_parts,
)

__all__ = ["DESIGN_KEYS", "MAX_FILE_BYTES", "RANGE_KEYS", "TOP_KEYS", "base_roots", "load", "loads"]

#: Largest study file accepted [bytes].
MAX_FILE_BYTES = yamldoc.MAX_FILE_BYTES

#: The keys of a study file, of its ``design`` mapping and of a range axis.
TOP_KEYS = ("name", "description", "base", "axes", "design", "objective", "metrics")
DESIGN_KEYS = ("type", "size", "seed")
RANGE_KEYS = ("from", "to", "steps", "scale")

#: How messages name a study file and where to find a good one.
FILE_KIND = FileKind(
    noun="study",
    directory_hint="give the path of a study .yaml file",
    missing_hint="examples are in studies/",
)


def _study_error(problems: list[Problem]) -> StudyError:
    """The error for ``problems``, each one line whatever the keys and values held (control
    characters escaped, as the scenario loader does)."""
    return StudyError([one_line(p) for p in problems])


def _path_text(loc: tuple) -> str:
    """A study location as text; axis keys are quoted: axes["tug.engines[0].isp"][1]."""
    if len(loc) >= 2 and loc[0] == "axes":
        return f'axes["{loc[1]}"]' + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[2:]
        )
    return format_location(loc)


class _Checker:
    """Collects the problems of one study file, each at its line and column."""

    def __init__(self, file: str, marks: Document):
        self.file = file
        self.marks = marks
        self.problems: list[Problem] = []

    def add(self, loc: tuple, message: str, *, key: bool = False) -> None:
        line, column = self.marks.position(loc, key=key and loc in self.marks.key_marks)
        self.problems.append(Problem(self.file, _path_text(loc), message, line, column))

    def unknown_keys(self, loc: tuple, mapping: dict, allowed: tuple) -> None:
        for key in mapping:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"?' if close else f"allowed here: {', '.join(allowed)}"
            self.add(loc + (key,), f'unknown key "{key}"; {hint}', key=True)


def load(path: str | os.PathLike, *, allow_outside_base: bool = False) -> Study:
    """Read and validate a study file; a relative ``base`` path is relative to the file.

    The base scenario file must lie under the study file's directory or the current working
    directory (symbolic links resolved) unless ``allow_outside_base`` is true; see
    :func:`base_roots`.
    """
    file = os.fspath(path)
    try:
        text = decode(read_bytes(Path(file), file, FILE_KIND), file, FILE_KIND, located=False)
    except Rejected as reject:
        raise _study_error(reject.problems) from None
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


def loads(
    text: str,
    filename: str = "<string>",
    base_dir: str | os.PathLike | None = None,
    *,
    allow_outside_base: bool = False,
) -> Study:
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
            raise Rejected(
                [
                    Problem(
                        filename,
                        "",
                        f"text is larger than {MAX_FILE_BYTES:,} "
                        "characters; a study is a few kB of YAML",
                    )
                ]
            )
        marks = parse(text, filename, empty_message="the file is empty; see studies/ for examples")
    except Rejected as reject:
        raise _study_error(reject.problems) from None
    check = _Checker(filename, marks)
    check.problems += marks.problems
    data = marks.data
    if not isinstance(data, dict):
        check.add(
            (),
            "a study file is a mapping with the keys "
            + ", ".join(TOP_KEYS)
            + "; see docs/trade-studies.md",
        )
        raise _study_error(check.problems)
    check.unknown_keys((), data, TOP_KEYS)
    name = _check_name(check, data, filename)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        check.add(("description",), f"expected text, got {describe_value(description)}")
        description = None
    base_data, base_source, base_problems = _check_base(
        check, data, Path(base_dir), filename, allow_outside_base
    )
    design, kind = _check_design(check, data)
    axes = _check_axes(check, data, base_data, kind)
    objective = _check_objective(check, data)
    metrics = _check_metrics(check, data)
    if axes is not None and design is not None:
        _check_count(check, axes, design)
    problems = list(dict.fromkeys(by_position(check.problems))) + base_problems
    if problems or axes is None or design is None:  # each None comes with its problem
        raise _study_error(problems)
    return Study(
        name=name,
        base_json=json.dumps(base_data, sort_keys=False, ensure_ascii=False),
        axes=tuple(axes),
        design=design,
        objective=objective,
        metrics=metrics,
        description=description or "",
        source=None if filename == "<string>" else filename,
        base_source=base_source,
    )


def _check_name(check: _Checker, data: dict, filename: str) -> str:
    name = data.get("name")
    if name is None:
        return Path(filename).stem if filename != "<string>" else "study"
    if isinstance(name, bool) or not isinstance(name, (str, int, float)) or not str(name):
        check.add(("name",), f"expected a name, got {describe_value(name)}")
        return "study"
    return str(name)


#: Keys of which a base file must have at least one to be taken for a scenario (otherwise its
#: content is not shown in any message).
_SCENARIO_KEYS = ("name", "epoch", "dropoff", "tug", "payloads", "constraints", "solver")


def _check_base(
    check: _Checker, data: dict, base_dir: Path, filename: str, allow_outside: bool = False
):
    """Validate the base scenario; return (plain data or None, its source, its problems)."""
    if "base" not in data:
        check.add(
            ("base",),
            "required, but missing; add e.g. `base: "
            "../scenarios/sso_rideshare.yaml` (a path relative to this file) "
            "or the scenario inline",
        )
        return None, None, []
    base = data["base"]
    if isinstance(base, dict):
        return _check_inline_base(check, base), None, []
    if not isinstance(base, str) or not base.strip():
        check.add(
            ("base",),
            "expected the path of a scenario file (relative to this study "
            "file) or an inline scenario mapping, got "
            f"{describe_value(base)}",
        )
        return None, None, []
    path = base_dir / base
    shown = (
        os.path.normpath(os.path.join(os.path.dirname(filename), base))
        if filename != "<string>"
        else os.path.normpath(str(path))
    )
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
            check.add(
                ("base",),
                f"{shown} is outside the study file's directory, the one "
                "above it and the working directory (symbolic links "
                "followed); a study reads its base scenario from there only: "
                "copy the scenario there, or pass --allow-outside-base "
                "(library: allow_outside_base=True)",
            )
            return None, None, []
    if not is_file:
        what = "is a directory, not a scenario file" if is_dir else "no such file"
        check.add(
            ("base",), f"{what}: {shown} (a relative path starts at the study file's directory)"
        )
        return None, None, []
    try:
        text = decode(read_bytes(path, shown, SCENARIO_FILE), shown, SCENARIO_FILE)
        try:
            root = compose(text, shown)
            if root is not None:  # an empty file is "not a YAML mapping", below
                check_size(root, shown)  # an alias bomb is refused before it is expanded
            top = None if root is None else to_data(root, shown).data
        except Rejected as reject:
            line = next((p.line for p in reject.problems if p.line), None)
            where = f" (at line {line})" if line else ""
            check.add(
                ("base",),
                f"{shown} is not a YAML scenario file: it does not parse"
                f"{where}; its content is not shown",
            )
            return None, shown, []
        if not isinstance(top, dict) or not any(k in top for k in _SCENARIO_KEYS):
            what = (
                "not a YAML mapping"
                if not isinstance(top, dict)
                else "none of the keys " + ", ".join(_SCENARIO_KEYS)
            )
            check.add(
                ("base",), f"{shown} is not a scenario file ({what}); its content is not shown"
            )
            return None, shown, []
        load_scenario_text(text, filename=shown)
        plain = top
    except Rejected as reject:
        return None, shown, list(reject.problems)
    except ScenarioError as exc:
        check.add(
            ("base",),
            f"the base scenario {shown} has "
            f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}"
            " (listed below)",
        )
        return None, shown, list(exc.problems)
    return plain, shown, []


def _check_inline_base(check: _Checker, base: dict) -> dict | None:
    """Validate an inline base scenario with the scenario schema, at the study file's marks."""
    sub = check.marks.below(("base",), base)
    found = document_checks(base, check.file, sub)
    try:
        ScenarioDoc.model_validate(base)
    except ValidationError as exc:
        found += translate(exc, check.file, sub)
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
        check.add(
            ("design",),
            "expected grid, lhs or sobol, or a mapping like {type: lhs, "
            f"size: 200, seed: 1}}; got {describe_value(spec)}",
        )
        return None, None
    kind = spec.get("type")
    ok = True
    if kind is None:
        check.add(("design", "type"), "required, but missing; add e.g. `type: lhs`")
        return None, None
    if kind not in DESIGNS:
        close = difflib.get_close_matches(str(kind), DESIGNS, n=1, cutoff=0.5)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        check.add(loc_type, f"expected one of grid, lhs, sobol; got {describe_value(kind)}{hint}")
        return None, None
    size = spec.get("size")
    seed = spec.get("seed", 0)
    if kind == "grid":
        if size is not None:
            check.add(
                ("design", "size"),
                "size applies to lhs and sobol designs; a grid runs "
                "every combination of the axes' values",
            )
            ok = False
    elif size is None:
        check.add(
            ("design",),
            f"a {kind} design needs its number of cases: add `size: "
            f"{256 if kind == 'sobol' else 200}`",
        )
        ok = False
    elif isinstance(size, bool) or not isinstance(size, int) or size < 1:
        check.add(
            ("design", "size"),
            f"expected a whole number of cases, 1 or more; got {describe_value(size)}",
        )
        ok = False
    elif size > MAX_CASES:
        check.add(("design", "size"), f"{size:,} cases is more than the limit of {MAX_CASES:,}")
        ok = False
    elif kind == "sobol" and size & (size - 1):
        lower = 1 << (size.bit_length() - 1)
        check.add(
            ("design", "size"),
            f"a Sobol' sequence is balanced only for a power of two "
            f"of points; use {lower} or {lower * 2}, not {size}",
        )
        ok = False
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        check.add(
            ("design", "seed"), f"expected a whole number, 0 or more; got {describe_value(seed)}"
        )
        ok = False
    return (Design(kind=kind, size=size, seed=seed) if ok else None), kind


def _check_objective(check: _Checker, data: dict) -> str | None:
    objective = data.get("objective")
    if objective is None or objective in OBJECTIVES:
        return objective
    close = difflib.get_close_matches(str(objective), OBJECTIVES, n=1, cutoff=0.5)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    check.add(
        ("objective",),
        f"expected one of {', '.join(OBJECTIVES)}; got {describe_value(objective)}{hint}",
    )
    return None


def _check_metrics(check: _Checker, data: dict) -> tuple[str, ...]:
    metrics = data.get("metrics")
    if metrics is None:
        return tuple(METRICS)
    if not isinstance(metrics, list) or not metrics:
        check.add(
            ("metrics",),
            "expected a list of metric names like [total_dv, "
            "propellant_used, duration]; got "
            f"{describe_value(metrics)}",
        )
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
        hint = f'did you mean "{close[0]}"?' if close else f"metrics are: {', '.join(METRICS)}"
        check.add(("metrics", i), f"unknown metric {describe_value(name)}; {hint}")
    return tuple(out)


def _check_axes(
    check: _Checker, data: dict, base: dict | None, kind: str | None
) -> list[Axis] | None:
    axes = data.get("axes")
    if axes is None:
        if "axes" not in data:
            check.add(
                ("axes",),
                "required, but missing; add e.g. `axes: "
                "{tug.engines[0].isp: [220 s, 260 s, 300 s]}`",
            )
        else:
            check.add(("axes",), "expected a mapping of scenario paths to values; got nothing")
        return None
    if not isinstance(axes, dict) or not axes:
        check.add(
            ("axes",),
            "expected a mapping of scenario paths to values, like "
            "`tug.engines[0].isp: [220 s, 260 s, 300 s]`; got "
            f"{describe_value(axes)}",
        )
        return None
    out: list[Axis] = []
    owners: dict[tuple, str] = {}
    ok = True
    for key, spec in axes.items():
        loc = ("axes", key)
        try:
            parts = parse_path(str(key))
        except PathError as exc:
            check.add(
                loc,
                f"not a scenario path: {exc}; write it like tug.engines[0].isp or "
                "payloads[*].target.altitude",
                key=True,
            )
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
                check.add(
                    loc,
                    f"{format_location(place)} is also set by the axis {other}; "
                    "each value may be varied by one axis only",
                    key=True,
                )
                ok = False
                break
            owners[place] = path
        axis = _check_axis_values(check, loc, spec, path, locations, kind)
        if axis is None or base is None:
            ok = False
        else:
            out.append(axis)
    return out if ok else None


def _check_axis_values(
    check: _Checker,
    loc: tuple,
    spec: Any,
    path: str,
    locations: tuple[tuple, ...],
    kind: str | None,
) -> Axis | None:
    field_loc = locations[0]
    integer = integer_field(field_loc)
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
        check.add(
            loc,
            "expected a list of values like [220 s, 260 s, 300 s] or a range like "
            f"{{from: 450 km, to: 600 km, steps: 7}}; got {describe_value(spec)}",
        )
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
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 2):
        check.add(
            loc + ("steps",),
            f"expected a whole number of values, 2 or more; got {describe_value(steps)}",
        )
        ok = False
    elif steps is None and kind == "grid":
        check.add(
            loc,
            "a grid needs the number of values of a range: add `steps: 7` (or give "
            "a list of values)",
        )
        ok = False
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        check.add(loc + ("scale",), f"expected linear or log; got {describe_value(scale)}")
        ok = False
    if not ok:
        return None
    start = quantity_parts(spec["from"])
    stop = quantity_parts(spec["to"])
    if start is None or stop is None:
        bad = "from" if start is None else "to"
        check.add(
            loc + (bad,),
            "a range runs between two numbers or two quantities with "
            'units, like "450 km"; use a list for other values',
        )
        return None
    unit = start[1]
    stop_number = convert_units(stop[0], stop[1], unit) if (unit or stop[1]) else stop[0]
    if stop_number is None or bool(unit) != bool(stop[1]):
        check.add(
            loc + ("to",),
            f"{describe_value(spec['to'])} is not in the same kind "
            f"of unit as from ({describe_value(spec['from'])})",
        )
        return None
    if scale == "log" and (start[0] <= 0.0 or stop_number <= 0.0):
        check.add(loc + ("scale",), "a log scale needs from and to above zero")
        return None
    if integer and not unit and not all(isinstance(spec[e], int) for e in ("from", "to")):
        check.add(loc, "this value is a whole number: give from and to as whole numbers")
        return None
    return Axis(
        path=path,
        locations=locations,
        start=start[0],
        stop=stop_number,
        unit=unit,
        steps=steps,
        scale=scale,
        integer=integer,
    )


def _list_axis(path: str, locations: tuple, values: tuple) -> Axis:
    """A list axis; numeric (in the first value's unit) when every value converts to it."""
    parts = [quantity_parts(v) for v in values]
    unit = parts[0][1] if parts[0] is not None else ""
    numeric = all(
        p is not None and convert_units(p[0], p[1], unit) is not None and bool(p[1]) == bool(unit)
        for p in parts
    )
    return Axis(
        path=path, locations=locations, values=values, unit=unit if numeric else "", numeric=numeric
    )


def _check_count(check: _Checker, axes: list[Axis], design: Design) -> None:
    if design.kind != "grid":
        return
    count = 1
    for axis in axes:
        count *= axis.size
    if count > MAX_CASES:
        sizes = " x ".join(str(a.size) for a in axes)
        check.add(
            ("axes",),
            f"the grid has {count:,} cases ({sizes}), more than the limit of "
            f"{MAX_CASES:,}; use fewer values or an lhs design",
        )
