"""The scenario document's schema: pydantic v2 models of a scenario file as written.

Every field is validated where it is read, values with units parsed into core units
(:mod:`otvplan.io.units`), times and LTANs read from their text, each object's rules across
fields checked (one orbit size, inclination or ``sso``, a node for the drop-off ...). Unknown
keys are errors (``extra='forbid'``). A failing validator raises a pydantic error that holds
the message as it will be shown; :mod:`otvplan.io.scenario.diagnostics` turns those into
problems with lines, columns and paths. :func:`field_at` and :func:`model_at` walk the models
along a location (``("payloads", 2, "target")``), for those messages and for the axis paths of
trade studies.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import types
import typing
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from otvplan.constants import MIN_PERIGEE_ALTITUDE_KM, R_EARTH_KM
from otvplan.core.timeutil import parse_utc
from otvplan.errors import NoSunSynchronousOrbit
from otvplan.io.messages import UNPRINTABLE, clip, describe_value, printable
from otvplan.io.units import (
    CLOCK_TIME,
    DIMENSIONS,
    NUMBER_UNIT,
    UNIT_TABLE,
    QuantityError,
    format_number,
    format_quantity,
    parse_quantity,
)
from otvplan.model import Constraints, Objective

__all__ = [
    "EPOCH_RANGE",
    "LTAN",
    "MAX_APOGEE_RADIUS_KM",
    "MAX_PAYLOADS",
    "ConstraintsDoc",
    "Deadline",
    "DeadlineField",
    "DisposalDoc",
    "DropoffDoc",
    "EngineDoc",
    "Epoch",
    "MultiProblem",
    "Name",
    "OrbitDoc",
    "PayloadDoc",
    "Reserve",
    "ReserveField",
    "ScenarioDoc",
    "SolverDoc",
    "StrictBool",
    "TolerancesDoc",
    "TugDoc",
    "field_at",
    "model_at",
    "validate_ltan",
]

#: Most payloads a scenario may carry. Manifests above ``solver.exact_max_payloads`` are
#: sequenced by beam search, whose time grows with the square of the manifest (100 payloads in
#: one plane: about 8 s of CPU); 200 covers the largest rideshare dispensers flown.
MAX_PAYLOADS = 200

#: Epochs accepted: [start, end). The Sun's low-precision position used to turn LTANs into
#: RAANs (otvplan.core.orbits.sun_right_ascension) is good to ~0.01 deg over 1950-2050 and degrades
#: slowly outside; beyond these bounds a scenario is surely a typo.
EPOCH_RANGE = (_dt.datetime(1950, 1, 1, tzinfo=_dt.UTC),
               _dt.datetime(2200, 1, 1, tzinfo=_dt.UTC))

#: Largest apogee radius accepted [km]: about the radius of Earth's Hill sphere (1.5 million
#: km), beyond which the Sun, not Earth, governs the motion.
MAX_APOGEE_RADIUS_KM = 1.5e6


def _fail(message: str):
    """The error a field validator raises: pydantic keeps ``message`` as it is, and
    :func:`otvplan.io.scenario.diagnostics.translate` reports it at the field."""
    return PydanticCustomError("otvplan", "{message}", {"message": message})


def _quantity(dimension: str, example: str | None = None, *, minimum: float | None = None,
              exclusive: bool = True, maximum: float | None = None, description: str = "",
              range_message: str | None = None, required: bool = False):
    """An annotated type: a string with a unit, validated into a float in core units.

    ``minimum``/``maximum`` are in core units; ``exclusive`` makes the minimum strict. An
    optional field takes an empty value (``~``) as absent; a ``required`` one rejects it.
    """
    name, core, default_example = DIMENSIONS[dimension]
    example = example or default_example
    units = [k for k, (d, _) in UNIT_TABLE.items() if d == dimension]

    def validate(value: Any) -> float | None:
        if value is None and not required:
            return None
        try:
            x = parse_quantity(value, dimension, example=example)
        except QuantityError as exc:
            raise _fail(str(exc)) from None
        out_of_range = ((minimum is not None and (x <= minimum if exclusive else x < minimum))
                        or (maximum is not None and x > maximum))
        if out_of_range and range_message:
            raise _fail(range_message.format(value=clip(value)))
        if minimum is not None and (x <= minimum if exclusive else x < minimum):
            if minimum == 0.0:
                word = "greater than zero" if exclusive else "zero or more"
                raise _fail(f'must be {word}, got {clip(value)}')
            bound = format_quantity(minimum, dimension, tuple(units[:1]))
            word = "above" if exclusive else "at least"
            raise _fail(f"must be {word} {bound}, got {clip(value)}")
        if maximum is not None and x > maximum:
            bound = format_quantity(maximum, dimension, tuple(units[:1]))
            raise _fail(f'must be at most {bound}, got {clip(value)}')
        return x

    schema = {
        "type": "string",
        "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*[^\s\d.].*$",
        "description": (description + " " if description else "")
        + f"{name[0].upper()}{name[1:]} with a unit ({', '.join(units)}, or any astropy unit "
          f"of that kind).",
        "examples": [example],
    }
    return Annotated[float if required else float | None, BeforeValidator(validate),
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
            raise _fail(f"expected a number, got {describe_value(value)}")
        try:
            x = float(value)
        except OverflowError:  # a whole number beyond the float range (> 1.8e308)
            raise _fail("expected a finite number, got a whole number too large for one "
                        f"({describe_value(value)})") from None
        if not math.isfinite(x):
            raise _fail(f"expected a finite number, got {value!r}")
        if minimum is not None and (x <= minimum if exclusive else x < minimum):
            raise _fail(f"must be {'greater than' if exclusive else 'at least'} "
                        f"{format_number(minimum)}, got {value!r}")
        if below is not None and x >= below:
            raise _fail(f"must be below {format_number(below)}{why}, got {value!r}")
        return x

    schema: dict[str, Any] = {"type": "number", "description": description}
    if minimum is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = minimum
    if below is not None:
        schema["exclusiveMaximum"] = below
    if example is not None:
        schema["examples"] = [example]
    return Annotated[float | None, BeforeValidator(validate), WithJsonSchema(schema)]


def _integer(minimum: int, description: str):
    def validate(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected a whole number, got {describe_value(value)}")
        if value < minimum:
            raise _fail(f"must be at least {minimum}, got {value}")
        return value

    return Annotated[int | None, BeforeValidator(validate),
                     WithJsonSchema({"type": "integer", "minimum": minimum,
                                     "description": description})]


def _parse_time(value: str, example: str) -> _dt.datetime:
    try:
        return parse_utc(value)
    except ValueError:
        raise _fail(f"{clip(value)} is not an ISO 8601 UTC time; write it like {example}"
                    ) from None
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise _fail(f"{clip(value)} is out of range; write a time like {example}") from None


def _validate_epoch(value: Any) -> _dt.datetime:
    if not isinstance(value, str):
        raise _fail(f"expected a UTC time like 2027-03-01T10:00:00Z, got {describe_value(value)}")
    epoch = _parse_time(value, "2027-03-01T10:00:00Z")
    if not EPOCH_RANGE[0] <= epoch < EPOCH_RANGE[1]:
        raise _fail(f"{clip(value)} is outside {EPOCH_RANGE[0].year}-{EPOCH_RANGE[1].year - 1}, "
                    "where the Sun's low-precision position (for LTANs) is valid")
    return epoch


Epoch = Annotated[
    _dt.datetime,
    BeforeValidator(_validate_epoch),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "description": "ISO 8601 time, UTC (a 'Z' or an offset; no zone means UTC).",
                    "examples": ["2027-03-01T10:00:00Z"]}),
]




def validate_ltan(value: Any) -> float | None:
    """Local time of the ascending node [h] from "HH:MM", "HH:MM:SS" or a quantity in hours
    ("10.5 h"); ``None`` for an empty value. Raises the validation error of a bad one."""
    if value is None:
        return None
    hint = 'expected a local time of the ascending node "HH:MM" like "10:30"'
    if not isinstance(value, str):
        raise _fail(f"{hint}, got {describe_value(value)}")
    match = CLOCK_TIME.match(value)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3] or 0.0)
        if minutes >= 60 or seconds >= 60.0:
            raise _fail(f'{hint}, got {clip(value)}: minutes and seconds run from 00 to 59')
        ltan = hours + minutes / 60.0 + seconds / 3600.0
    else:
        number_unit = NUMBER_UNIT.match(value)
        if number_unit and number_unit["unit"] == "h":
            ltan = float(number_unit["number"])
        else:
            try:
                ltan = parse_quantity(value, "time") / 3600.0
            except QuantityError:
                raise _fail(f'{hint}, got {clip(value)}') from None
    if not 0.0 <= ltan < 24.0:
        raise _fail(f'{hint}, got {clip(value)}: the time must be from 00:00 to 23:59')
    return ltan


LTAN = Annotated[
    float | None,
    BeforeValidator(validate_ltan),
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
        raise _fail(f"{hint}, got {describe_value(value)}")
    if re.match(r"^\s*\d{4}-\d{2}-\d{2}", value):
        return Deadline(_parse_time(value, "2027-04-01T00:00:00Z"), None)
    try:
        seconds = parse_quantity(value, "time")
    except QuantityError:
        raise _fail(f'{hint}, got {clip(value)}') from None
    if seconds <= 0.0:
        raise _fail(f'must be after the epoch, got {clip(value)}')
    return Deadline(None, seconds)


DeadlineField = Annotated[
    Deadline | None,
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
        raise _fail(f"{hint}, got {describe_value(value)}")
    match = NUMBER_UNIT.match(value)
    if match and match["unit"] == "%":
        fraction = parse_quantity(value, "dimensionless")
        if not 0.0 <= fraction < 1.0:
            raise _fail(f'must be from 0 % up to (not including) 100 %, got {clip(value)}')
        return Reserve(None, fraction)
    try:
        kg = parse_quantity(value, "mass", example="5 kg")
    except QuantityError as exc:
        if match is None or not match["unit"]:
            raise _fail(f"{hint}, got {describe_value(value)}") from None
        raise _fail(f"{exc}; a percentage of the loaded propellant like \"3 %\" also works"
                    ) from None
    if kg < 0.0:
        raise _fail(f'must be zero or more, got {clip(value)}')
    return Reserve(kg, None)


ReserveField = Annotated[
    Reserve | None,
    BeforeValidator(_validate_reserve),
    WithJsonSchema({"type": "string",
                    "description": "Propellant never planned: a mass, or a percentage of the "
                                   "loaded propellant.",
                    "examples": ["5 kg", "3 %"]}),
]

def _validate_name(value: str) -> str:
    """Names go into reports, CSV, CCSDS and GMAT files: printable text on one line."""
    bad = UNPRINTABLE.search(value)
    if bad:
        raise _fail(f"{clip(value)} contains the control character {printable(bad[0])}; a "
                    "name is printable text on one line (it is written into reports, CSV, "
                    "CCSDS and GMAT files)")
    return value


def _validate_description(value: str | None) -> str | None:
    if value is None:
        return None
    bad = UNPRINTABLE.search(value.replace("\n", "").replace("\t", ""))
    if bad:
        raise _fail(f"contains the control character {printable(bad[0])}; a description is "
                    "printable text (line breaks and tabs are fine)")
    return value


Name = Annotated[str, Field(min_length=1, examples=["sat-1"]), AfterValidator(_validate_name)]
StrictBool = Annotated[bool | None, Strict()]


class _Doc(BaseModel):
    """Base of the raw document models: unknown keys are errors, numbers may be names."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class MultiProblem(NamedTuple):
    """One problem of a check across fields, at a path below the object that found it."""

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
        Literal["mean", "true"] | None,
        # unquoted `true` is a YAML boolean; it can only mean the true Sun here
        BeforeValidator(lambda v: "true" if v is True else v),
    ] = Field(None, description="Sun the LTAN is measured from: mean (default) or true.")
    argp: _quantity("angle", "180 deg", description="Argument of perigee (default 0).") = None
    slot: _quantity("angle", "45 deg",
                    description="Argument of latitude at the epoch (phase in the plane).") = None
    tolerances: TolerancesDoc | None = None

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
            # numpy: imported when first needed (keeps `validate` quick)
            from otvplan.core import orbits

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
                f"{format_number(self.propellant)} kg loaded exceeds the tank_capacity of "
                f"{format_number(self.tank_capacity)} kg; load less or enlarge the tank"))
        reserve = self.propellant_reserve
        if reserve is not None and reserve.kg is not None and reserve.kg > self.propellant:
            out.append(MultiProblem(
                ("propellant_reserve",),
                f"a reserve of {format_number(reserve.kg)} kg is more than the "
                f"{format_number(self.propellant)} kg of propellant loaded"))
        _raise_all(out)
        return self


class FleetTugDoc(TugDoc):
    """One tug of a fleet (``tugs:``): a tug, and optionally its own drop-off, when it is
    available and its dispenser's limits."""

    dropoff: DropoffDoc | None = None
    available: Annotated[
        Deadline | None,
        BeforeValidator(_validate_deadline),
        WithJsonSchema({"type": "string",
                        "description": "Earliest start: UTC time, or duration after the epoch "
                                       "(default: the epoch).",
                        "examples": ["10 d", "2027-03-15T00:00:00Z"]}),
    ] = None
    max_payloads: _integer(1, "Most payloads this tug carries (dispenser ports).") = None
    max_payload_mass: _quantity("mass", "400 kg", minimum=0.0,
                                description="Most payload mass this tug carries.") = None


class FleetDoc(_Doc):
    """How payloads are assigned to the tugs of a fleet (all optional)."""

    objective: Literal["propellant", "tugs", "makespan", "cost"] | None = None
    assign: Annotated[dict[str, str] | None,
                      Field(description="payload: tug - the payload flies on that tug.",
                            examples=[{"sar-micro-1": "otv-a"}])] = None
    apart: Annotated[list[list[str]] | None,
                     Field(description="Groups of payloads no two of which share a tug.",
                           examples=[[["eo-1", "eo-2"]]])] = None


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
    disposal: DisposalDoc | None = None
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
            _raise_all([MultiProblem((key,), f"min_drift_altitude ({format_number(low)} km) must "
                                             f"be below max_drift_altitude "
                                             f"({format_number(high)} km)")])
        return self


class SolverDoc(_Doc):
    """How the solver searches (all optional)."""

    objective: Objective | None = None
    exact_max_payloads: _integer(0, "Manifests up to this size are sequenced exactly.") = None
    beam_width: _integer(1, "Beam of the heuristic for larger manifests.") = None
    drift_grid: _integer(1, "Drift durations offered per leg.") = None
    max_phasing_revs: _integer(0, "Most revolutions a phasing orbit may take.") = None
    time_limit: _quantity("time", "60 s", minimum=0.0) = None


class PricingDoc(_Doc):
    """A money model for what each delivery costs (``otvplan costs``; all optional, 0 when
    not given). Prices are plain numbers in ``currency``."""

    propellant_per_kg: _number(minimum=0.0, example=25.0,
                               description="Price per kg of propellant burnt.") = None
    per_day: _number(minimum=0.0, example=4000.0,
                     description="Price per day of operations of a tug flown.") = None
    tug_launch_per_kg: _number(minimum=0.0, example=6000.0,
                               description="Price per kg of tug launched (dry mass + "
                                           "propellant loaded), split by mass delivered.") = None
    currency: Annotated[str | None, Field(max_length=16, examples=["EUR"],
                                          description="A label for the prices.")] = None


class ScenarioDoc(_Doc):
    """A scenario file, as written (values with units)."""

    model_config = ConfigDict(
        extra="forbid", coerce_numbers_to_str=True, frozen=True,
        title="otvplan scenario",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "patternProperties": {"^x-": {}},
                           "oneOf": [{"required": ["tug"]}, {"required": ["tugs"]}]},
    )

    name: Annotated[str, Field(min_length=1, examples=["sso-rideshare"]),
                    AfterValidator(_validate_name)]
    description: Annotated[str | None, AfterValidator(_validate_description)] = None
    epoch: Epoch
    dropoff: DropoffDoc
    tug: TugDoc | None = None
    tugs: Annotated[list[FleetTugDoc] | None,
                    Field(description="Several tugs on one launch (instead of tug).")] = None
    fleet: FleetDoc | None = None
    payloads: Annotated[list[PayloadDoc], Field(examples=[[{"name": "sat-1", "mass": "50 kg",
                                                            "target": {"altitude": "550 km",
                                                                       "sso": True}}]])]
    constraints: ConstraintsDoc | None = None
    solver: SolverDoc | None = None
    pricing: PricingDoc | None = None

    @model_validator(mode="after")
    def _check(self):
        out: list[MultiProblem] = []
        if not self.payloads:
            out.append(MultiProblem(("payloads",), "the payload list is empty; add at least one "
                                                   "payload"))
        out += self._check_tugs()
        if self.fleet is not None and self.fleet.objective == "cost" and self.pricing is None:
            out.append(MultiProblem(("fleet", "objective"),
                                    "the cost objective prices each tug's plan: add a pricing: "
                                    "section, e.g. `pricing: {propellant_per_kg: 25, "
                                    "tug_launch_per_kg: 6000}`"))
        for i, payload in enumerate(self.payloads):
            if payload.deliver_by is not None and payload.deliver_by.at is not None:
                if payload.deliver_by.at <= self.epoch:
                    out.append(MultiProblem(("payloads", i, "deliver_by"),
                                            "must be after the epoch "
                                            f"({self.epoch.isoformat().replace('+00:00', 'Z')})"))
        _raise_all(out)
        return self


    def _check_tugs(self) -> list[MultiProblem]:
        """One of tug / tugs; a fleet's names and rules refer to what the file defines."""
        out: list[MultiProblem] = []
        if self.tug is None and self.tugs is None:
            return [MultiProblem(("tug",), "the scenario needs its tug (or a list of them "
                                           "under tugs:)")]
        if self.tug is not None and self.tugs is not None:
            return [MultiProblem(("tugs",), "give either tug: (one tug) or tugs: (a fleet), "
                                            "not both")]
        if self.tugs is None:
            if self.fleet is not None:
                out.append(MultiProblem(("fleet",), "fleet: applies to several tugs; list "
                                                    "them under tugs: instead of tug:"))
            return out
        if not self.tugs:
            return [MultiProblem(("tugs",), "the tug list is empty; add at least one tug")]
        seen: dict[str, int] = {}
        for k, t in enumerate(self.tugs):
            if t.name in seen:
                out.append(MultiProblem(("tugs", k, "name"),
                                        f"tug name {t.name!r} is used twice (also tugs"
                                        f"[{seen[t.name]}]); tug names must be unique"))
            seen.setdefault(t.name, k)
            if t.available is not None and t.available.at is not None \
                    and t.available.at < self.epoch:
                out.append(MultiProblem(("tugs", k, "available"),
                                        "must not be before the epoch "
                                        f"({self.epoch.isoformat().replace('+00:00', 'Z')})"))
        names = {p.name for p in self.payloads}
        fleet = self.fleet or FleetDoc()
        for payload, tug in (fleet.assign or {}).items():
            if payload not in names:
                out.append(MultiProblem(("fleet", "assign", payload),
                                        f"no payload is named {payload!r}"
                                        + _did_you_mean(payload, names)))
            if tug not in seen:
                out.append(MultiProblem(("fleet", "assign", payload),
                                        f"no tug is named {tug!r}" + _did_you_mean(tug, seen)))
        for g, group in enumerate(fleet.apart or []):
            if len(group) < 2:
                out.append(MultiProblem(("fleet", "apart", g),
                                        "a group that must not share a tug needs two payloads "
                                        "or more"))
            for name in group:
                if name not in names:
                    out.append(MultiProblem(("fleet", "apart", g),
                                            f"no payload is named {name!r}"
                                            + _did_you_mean(name, names)))
        return out


def _did_you_mean(name: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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


def field_at(loc: tuple) -> tuple[type[BaseModel] | None, Any]:
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


def model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class validating the mapping at ``loc``."""
    if not loc:
        return ScenarioDoc
    _, annotation = field_at(loc)
    if typing.get_origin(annotation) is list:
        return None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
        else None

