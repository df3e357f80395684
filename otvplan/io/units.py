"""Quantities with units: ``"525 km"`` <-> a float in core units.

:func:`parse_quantity` converts the usual units (km, deg, d, kg, N, W, % ...) from a small
table (:data:`UNIT_TABLE`) and falls back to :mod:`astropy.units` for anything else, importing
astropy only then, so loading a scenario that uses the usual units does not pay astropy's
import time. :func:`format_quantity` writes a core-unit value as text that parses back to
exactly the same float (what ``otvplan.io.scenario.dumps`` writes).

Core units: km, rad, s, kg, N, W, m2 and 1 (dimensionless).
"""

from __future__ import annotations

import decimal
import difflib
import math
import re
from typing import Any

from otvplan.io.messages import clip, describe_value

__all__ = [
    "CLOCK_TIME",
    "DIMENSIONS",
    "NUMBER_UNIT",
    "UNIT_TABLE",
    "QuantityError",
    "format_number",
    "format_quantity",
    "parse_quantity",
    "unit_list",
]


class QuantityError(ValueError):
    """A value that should carry a unit does not parse, lacks its unit or has the wrong kind."""


#: How each kind of quantity is named in messages, its core unit, an example and the table units.
DIMENSIONS: dict[str, tuple[str, str, str]] = {
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

#: A number and the unit after it: ``"525 km"`` -> number ``525``, unit ``km`` (empty when
#: there is none).
NUMBER_UNIT = re.compile(
    r"^\s*(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>.*?)\s*$"
)

#: A clock time ``HH:MM`` or ``HH:MM:SS(.s)`` (an LTAN, say): hours, minutes, seconds groups.
CLOCK_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?\s*$")


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
    name, core, default_example = DIMENSIONS[dimension]
    target = core if unit is None else unit
    shown = clip(value) if isinstance(value, str) else ""
    example = example or default_example
    if not isinstance(value, str):
        raise QuantityError(
            f'expected {name} with a unit, like "{example}", got {describe_value(value)}'
        )
    match = NUMBER_UNIT.match(value)
    if match is None:
        raise QuantityError(f'expected {name} with a unit, like "{example}", got {shown}')
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
                f"expected {name} in {unit_list(dimension)}, got {shown}: "
                f"{given} is a unit of {DIMENSIONS[given_dim][0]}"
            )
        if given == target:
            return number
        target_factor = UNIT_TABLE[target][1] if target else 1.0
        return number * (factor / target_factor)
    # Slow path: anything the table does not know goes to astropy.units.
    try:
        import astropy.units as u  # deliberately lazy (import costs ~0.35 s)
    except ImportError:  # pragma: no cover - astropy is a declared dependency
        raise QuantityError(
            f"unknown unit {clip(given)} in {shown}; use one of {unit_list(dimension)}"
        ) from None
    parsed = None
    for candidate in (given, singular):
        if candidate is None:
            continue
        try:
            parsed = u.Unit(candidate)
            break
        except Exception:  # noqa: BLE001 - astropy raises ValueError, sometimes others
            continue
    if parsed is None:
        hint = difflib.get_close_matches(given, list(UNIT_TABLE), n=1)
        did_you_mean = f'did you mean "{hint[0]}"? ' if hint else ""
        raise QuantityError(
            f"unknown unit {clip(given)} in {shown}; {did_you_mean}"
            f"{name} takes {unit_list(dimension)}"
        ) from None
    try:
        result = float((number * parsed).to_value(u.Unit(target)))
    except u.UnitConversionError:
        raise QuantityError(
            f"expected {name} in {unit_list(dimension)}, got {shown}: "
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


def unit_list(dimension: str) -> str:
    """The table's units of ``dimension`` for a message: ``"km or m"``, ``"s, min, h, d or yr"``."""
    units = [k for k, (d, _) in UNIT_TABLE.items() if d == dimension]
    return " or ".join((", ".join(units[:-1]), units[-1])) if len(units) > 1 else units[0]


def format_number(x: float, *, check=None) -> str:
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
    core = DIMENSIONS[dimension][1]
    best: tuple[tuple[int, bool], str] | None = None
    for unit in units:

        def same(text: str, unit=unit) -> bool:
            return parse_quantity(f"{text} {unit}", dimension) == value

        text = format_number(value / UNIT_TABLE[unit][1], check=same)
        digits = len(re.sub(r"[^0-9]", "", text.split("e")[0]).strip("0"))
        rank = (digits, text.lstrip("-").startswith("0"))
        if same(text) and digits <= 9 and (best is None or rank < best[0]):
            best = (rank, f"{text} {unit}")
    if best is not None:
        return best[1]
    return f"{format_number(value)} {core}".rstrip()
