"""The build step: a validated scenario document -> the frozen model in core units.

The document (:mod:`otvplan.io.scenario.schema`) already holds floats in core units (km, km/s,
s, rad, kg); building resolves what depends on more than one field: LTANs become RAANs at the
epoch (mean or true Sun), ``sso: true`` becomes the sun-synchronous inclination (the planner's
second-order nodal-rate model, so every sun-synchronous orbit turns at exactly the Sun's rate),
deadlines become seconds after the epoch, a reserve given as a percentage becomes kilograms,
and absent settings take the model's defaults.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from typing import overload

from otvplan.core.timeutil import julian_date
from otvplan.io.scenario.schema import (
    ConstraintsDoc,
    Deadline,
    FleetDoc,
    OrbitDoc,
    ScenarioDoc,
    SolverDoc,
    TugDoc,
)
from otvplan.io.units import UNIT_TABLE
from otvplan.model import (
    Constraints,
    Disposal,
    Engine,
    Fleet,
    FleetTug,
    OrbitSpec,
    Payload,
    Pricing,
    Scenario,
    SolverSettings,
    Tolerances,
    Tug,
)

__all__ = ["YEAR_S", "build_orbit", "build_scenario", "years"]

#: The scenario package's logger (the name to configure, whichever of its modules logs).
logger = logging.getLogger("otvplan.io.scenario")

_ANGLE_360 = 2.0 * math.pi


@overload
def _angle(x: float | None, default: float) -> float: ...


@overload
def _angle(x: float | None, default: None) -> float | None: ...


def _angle(x: float | None, default: float | None) -> float | None:
    """Wrap an angle into [0, 2 pi); ``default`` when absent."""
    if x is None:
        return default
    wrapped = math.fmod(x, _ANGLE_360)
    if wrapped < 0.0:
        wrapped += _ANGLE_360
    return 0.0 if wrapped >= _ANGLE_360 else wrapped


def build_orbit(doc: OrbitDoc, epoch: _dt.datetime, *, dropoff: bool) -> OrbitSpec:
    """The orbit of a validated document in core units: the sun-synchronous inclination for
    ``sso: true``, the RAAN of an LTAN at ``epoch``, angles wrapped into [0, 2 pi), default
    tolerances filled in; a drop-off orbit's slot defaults to 0."""
    from otvplan.core import orbits  # numpy: imported when first needed

    shape = doc.shape()
    if shape is None:  # the schema accepts only an orbit whose size is given exactly once
        raise ValueError("the orbit's size is not given exactly once")
    a, e = shape
    # order=2: the planner's nodal-rate model (J2 to second order), so that every
    # sun-synchronous orbit of a scenario turns at exactly the Sun's rate under it
    inc = (
        doc.inclination
        if doc.inclination is not None
        else float(orbits.sso_inclination(a, e, order=2))
    )
    reference = doc.ltan_reference or "mean"
    raan: float | None
    if doc.ltan is not None:
        raan = float(orbits.ltan_to_raan(doc.ltan, julian_date(epoch), reference))
    else:
        raan = _angle(doc.raan, None)
    default_tol = Tolerances()
    tol = doc.tolerances
    tolerances = (
        default_tol
        if tol is None
        else Tolerances(
            sma_km=default_tol.sma_km if tol.sma is None else tol.sma,
            eccentricity=default_tol.eccentricity if tol.eccentricity is None else tol.eccentricity,
            inclination_rad=default_tol.inclination_rad
            if tol.inclination is None
            else tol.inclination,
            raan_rad=default_tol.raan_rad if tol.raan is None else tol.raan,
            slot_rad=default_tol.slot_rad if tol.slot is None else tol.slot,
        )
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


def build_scenario(doc: ScenarioDoc, source: str | None) -> Scenario:
    """The frozen :class:`~otvplan.model.Scenario` of a validated document; ``source`` is the
    file it was read from (``None`` for text)."""
    epoch = doc.epoch
    fleet = None
    if doc.tugs is not None:
        members = []
        for t in doc.tugs:
            avail = t.available
            members.append(
                FleetTug(
                    tug=_build_tug(t, source),
                    dropoff=None
                    if t.dropoff is None
                    else build_orbit(t.dropoff, epoch, dropoff=True),
                    available_s=_seconds_after(avail, epoch) if avail is not None else 0.0,
                    max_payloads=t.max_payloads,
                    max_payload_mass_kg=t.max_payload_mass,
                )
            )
        f = doc.fleet or FleetDoc()
        fleet = Fleet(
            tugs=tuple(members),
            objective=f.objective or "propellant",
            assign=tuple((f.assign or {}).items()),
            apart=tuple(tuple(group) for group in (f.apart or [])),
        )
        tug = members[0].tug
    else:
        assert doc.tug is not None  # the document's check
        tug = _build_tug(doc.tug, source)
    payloads = []
    for p in doc.payloads:
        deadline = p.deliver_by
        if deadline is None:
            deliver_by_s = None
        elif deadline.at is None:  # a duration after the epoch
            deliver_by_s = deadline.after_s
        else:
            deliver_by_s = _seconds_after(deadline, epoch)
        payloads.append(
            Payload(
                name=p.name,
                mass_kg=p.mass,
                target=build_orbit(p.target, epoch, dropoff=False),
                deliver_by_s=deliver_by_s,
                priority=1 if p.priority is None else p.priority,
            )
        )
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
            reentry_years=None if d.within is None else years(d.within),
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
        dropoff=build_orbit(doc.dropoff, epoch, dropoff=True),
        tug=tug,
        payloads=tuple(payloads),
        constraints=constraints,
        solver=solver,
        description=doc.description or "",
        source=source,
        fleet=fleet,
        pricing=None
        if doc.pricing is None
        else Pricing(
            propellant_per_kg=doc.pricing.propellant_per_kg or 0.0,
            per_day=doc.pricing.per_day or 0.0,
            tug_launch_per_kg=doc.pricing.tug_launch_per_kg or 0.0,
            currency=doc.pricing.currency or "",
        ),
    )


def _seconds_after(moment: Deadline, epoch: _dt.datetime) -> float:
    """A time given as a date or as a duration after the epoch, in seconds after it."""
    if moment.at is None:
        assert moment.after_s is not None
        return moment.after_s
    return (moment.at - epoch).total_seconds()


def _build_tug(t: TugDoc, source: str | None) -> Tug:
    """The tug of a validated tug document."""
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
        engines=tuple(
            Engine(
                name=e.name,
                kind=e.type,
                isp_s=e.isp,
                thrust_n=math.inf if e.thrust is None else e.thrust,
                power_w=e.power,
            )
            for e in t.engines
        ),
    )
    for engine in tug.engines:
        if math.isinf(engine.thrust_n):
            logger.info(
                "%s: engine %s has no thrust: its burns are impulsive (no duration, no "
                "finite-burn check)",
                source or "scenario",
                engine.name,
            )
    return tug


#: The year of ``reentry`` disposal times [s]: the Julian year of the unit table.
YEAR_S = UNIT_TABLE["yr"][1]


def years(seconds: float) -> float:
    """A duration in years (:data:`YEAR_S`)."""
    return seconds / YEAR_S


def _default(value, default):
    return default if value is None else value
