"""Writing scenarios: :func:`dumps`, YAML that loads back to an equal scenario.

Each value is written in readable units (km, deg, kg, d) when that text parses back to the
stored float exactly, otherwise in core units with every digit
(:func:`otvplan.io.units.format_quantity`); an orbit is written in its most readable form
(altitude, or perigee and apogee altitudes) that the build step
(:mod:`otvplan.io.scenario.build`) turns back into the same orbit, else by ``sma`` and
``eccentricity``. LTANs and ``sso: true`` are kept as given; settings equal to the model's
defaults are left out.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import yaml
from pydantic import ValidationError

from otvplan.constants import R_EARTH_KM
from otvplan.io.messages import printable
from otvplan.io.scenario.build import YEAR_S, build_orbit, years
from otvplan.io.scenario.schema import DropoffDoc, OrbitDoc, validate_ltan
from otvplan.io.units import UNIT_TABLE, format_number, format_quantity, parse_quantity
from otvplan.model import (
    Constraints,
    Disposal,
    FleetTug,
    OrbitSpec,
    Scenario,
    SolverSettings,
    Tolerances,
    Tug,
)

__all__ = ["dumps"]


_DEG = ("deg",)


def _utc_text(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).isoformat().replace("+00:00", "Z")


def _ltan_text(ltan_h: float) -> str:
    total_minutes = ltan_h * 60.0
    minutes = round(total_minutes)
    if abs(total_minutes - minutes) < 1e-9:
        text = f"{minutes // 60:02d}:{minutes % 60:02d}"
        if validate_ltan(text) == ltan_h:
            return text
    return f"{format_number(ltan_h)} h"


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
        sizes += [
            {"altitude": f"{text} km"}
            for text in _decimals(orbit.a_km - R_EARTH_KM)
            if R_EARTH_KM + float(text) == orbit.a_km
        ][:1]
    else:
        apsides = _apsis_texts(orbit.a_km, orbit.e)
        if apsides is not None:
            sizes.append(
                {"perigee_altitude": f"{apsides[0]} km", "apogee_altitude": f"{apsides[1]} km"}
            )
    exact_size: dict[str, Any] = {"sma": format_quantity(orbit.a_km, "length")}
    if orbit.e != 0.0:
        exact_size["eccentricity"] = orbit.e
    return [{**size, **plane, **tail} for size in sizes] + [
        {**exact_size, **plane, **tail},
        {**exact_size, **exact_plane, **exact_tail},
    ]


def _decimals(x: float) -> list[str]:
    """``x`` rounded to 1, 2, ... 17 significant digits, as distinct decimal texts."""
    texts = [format_number(float(f"{x:.{digits}g}")) for digits in range(1, 18)]
    return list(dict.fromkeys(texts))


def _apsis_texts(a: float, e: float) -> tuple[str, str] | None:
    """The shortest perigee/apogee altitude texts [km] that give back exactly (a, e).

    Uses the arithmetic of :meth:`OrbitDoc.shape`; ``None`` when no pair reproduces the orbit.
    """
    perigees = _decimals(a * (1.0 - e) - R_EARTH_KM)
    apogees = _decimals(a * (1.0 + e) - R_EARTH_KM)
    pairs = sorted(
        ((p, q) for p in perigees for q in apogees), key=lambda pq: len(pq[0]) + len(pq[1])
    )
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
        if build_orbit(doc, epoch, dropoff=dropoff) == orbit:
            return candidate
    return candidates[-1]


def _scenario_doc(s: Scenario) -> dict:
    doc: dict[str, Any] = {"name": s.name}
    if s.description:
        doc["description"] = s.description
    doc["epoch"] = _utc_text(s.epoch)
    doc["dropoff"] = _orbit_doc(s.dropoff, s.epoch, dropoff=True)
    if s.fleet is None:
        doc["tug"] = _tug_doc(s.tug)
    else:
        doc["tugs"] = [_fleet_tug_doc(t, s.epoch) for t in s.fleet.tugs]
        fleet: dict[str, Any] = {}
        if s.fleet.objective != "propellant":
            fleet["objective"] = s.fleet.objective
        if s.fleet.assign:
            fleet["assign"] = dict(s.fleet.assign)
        if s.fleet.apart:
            fleet["apart"] = [list(group) for group in s.fleet.apart]
        if fleet:
            doc["fleet"] = fleet
    payloads = []
    for p in s.payloads:
        payload: dict[str, Any] = {
            "name": p.name,
            "mass": format_quantity(p.mass_kg, "mass", ("kg",)),
            "target": _orbit_doc(p.target, s.epoch, dropoff=False),
        }
        if p.deliver_by_s is not None:
            payload["deliver_by"] = format_quantity(p.deliver_by_s, "time", ("d", "h", "min"))
        if p.priority != 1:
            payload["priority"] = p.priority
        payloads.append(payload)
    doc["payloads"] = payloads
    constraints = _changed(
        s.constraints,
        Constraints(),
        {
            "max_duration_s": ("max_duration", "time", ("d", "h")),
            "min_deploy_separation_s": ("min_deploy_separation", "time", ("h", "min")),
            "min_drift_altitude_km": ("min_drift_altitude", "length", ("km",)),
            "max_drift_altitude_km": ("max_drift_altitude", "length", ("km",)),
            "max_impulsive_burn_s": ("max_impulsive_burn", "time", ("min",)),
        },
    )
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
    solver = _changed(
        s.solver,
        SolverSettings(),
        {
            "objective": ("objective", None, ()),
            "exact_max_payloads": ("exact_max_payloads", None, ()),
            "beam_width": ("beam_width", None, ()),
            "drift_grid": ("drift_grid", None, ()),
            "max_phasing_revs": ("max_phasing_revs", None, ()),
            "time_limit_s": ("time_limit", "time", ("s",)),
        },
    )
    if solver:
        doc["solver"] = solver
    if s.pricing is not None:
        pricing: dict[str, Any] = {
            key: getattr(s.pricing, key)
            for key in ("propellant_per_kg", "per_day", "tug_launch_per_kg")
            if getattr(s.pricing, key)
        }
        if s.pricing.currency:
            pricing["currency"] = s.pricing.currency
        doc["pricing"] = pricing
    return doc


def _tug_doc(tug: Tug) -> dict:
    doc: dict[str, Any] = {
        "name": tug.name,
        "dry_mass": format_quantity(tug.dry_mass_kg, "mass", ("kg",)),
        "propellant": format_quantity(tug.propellant_kg, "mass", ("kg",)),
        "tank_capacity": format_quantity(tug.tank_capacity_kg, "mass", ("kg",)),
    }
    if tug.reserve_kg != 0.0:
        doc["propellant_reserve"] = format_quantity(tug.reserve_kg, "mass", ("kg",))
    engines = []
    for e in tug.engines:
        engine: dict[str, Any] = {
            "name": e.name,
            "type": e.kind,
            "isp": format_quantity(e.isp_s, "time", ("s",)),
        }
        if not math.isinf(e.thrust_n):  # no thrust: an impulsive engine
            engine["thrust"] = format_quantity(e.thrust_n, "force", ("N", "mN"))
        if e.power_w is not None:
            engine["power"] = format_quantity(e.power_w, "power", ("W",))
        engines.append(engine)
    doc["engines"] = engines
    return doc


def _fleet_tug_doc(t: FleetTug, epoch: _dt.datetime) -> dict:
    doc = _tug_doc(t.tug)
    if t.dropoff is not None:
        doc["dropoff"] = _orbit_doc(t.dropoff, epoch, dropoff=True)
    if t.available_s:
        doc["available"] = format_quantity(t.available_s, "time", ("d", "h", "min", "s"))
    if t.max_payloads is not None:
        doc["max_payloads"] = t.max_payloads
    if t.max_payload_mass_kg is not None:
        doc["max_payload_mass"] = format_quantity(t.max_payload_mass_kg, "mass", ("kg",))
    return doc


def _years_text(duration_yr: float) -> str:
    """Text for a duration in years that converts back to exactly ``duration_yr``."""

    def same(text: str) -> bool:
        return years(parse_quantity(text, "time")) == duration_yr

    for unit in ("yr", "d"):
        text = (
            format_number(
                duration_yr * YEAR_S / UNIT_TABLE[unit][1],
                check=lambda t, unit=unit: same(f"{t} {unit}"),
            )
            + f" {unit}"
        )
        if same(text):
            return text
    return format_quantity(duration_yr * YEAR_S, "time")


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
    header = f"# otvplan scenario: {printable(scenario.name)}\n"
    return header + yaml.dump(
        _scenario_doc(scenario),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
