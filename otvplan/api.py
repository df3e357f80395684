"""The library's public entry points, with astropy Quantities and boinor orbits at the edge.

``import otvplan`` re-exports these lazily::

    import otvplan
    sc = otvplan.load_scenario("scenarios/sso_rideshare.yaml")
    p = otvplan.plan(sc)
    otvplan.summary(p)["propellant_used"]        # an astropy Quantity in kg

Scenarios can also be built from a dict whose values are strings with units, astropy
Quantities or, for orbits, boinor ``Orbit`` objects; everything goes through the one validator
of :mod:`otvplan.io.scenario`, so a dict and a file give the same errors for the same mistakes.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otvplan.errors import Problem, ScenarioError
from otvplan.model import FLEET_OBJECTIVES, FleetPlan, Plan, Pricing, Scenario

if TYPE_CHECKING:  # annotations only: the modules are imported by the calls
    from concurrent.futures import Executor

    import pandas

    from otvplan.flight.propagation import Backend
    from otvplan.flight.refine import Refinement
    from otvplan.flight.results import Verification
    from otvplan.flight.verify import Execution
    from otvplan.planning.attribution import Attribution
    from otvplan.study.run import Study

logger = logging.getLogger(__name__)

__all__ = [
    "costs",
    "leg_table",
    "load_scenario",
    "orbit_spec_from_boinor",
    "plan",
    "report",
    "summary",
    "sweep",
    "verify",
]


def _is_yaml_text(text: str) -> bool:
    """Whether a string given as a scenario is YAML text rather than a file path.

    The rule: YAML text holds a line break (a scenario spans lines), or, on one line, is a
    flow mapping (``{name: ..., tug: {...}}``, starting with ``{`` after any blanks). Every
    other string is a path, whether or not the file exists, so a mistyped path is reported
    as a missing file rather than parsed as YAML. Pass ``bytes`` to force YAML, a
    :class:`pathlib.Path` to force a path.
    """
    return "\n" in text or "\r" in text or text.lstrip().startswith("{")


def load_scenario(source: Any, *, filename: str | None = None) -> Scenario:
    """Load a scenario from a path, YAML text, a dict, or return a Scenario unchanged.

    A string is YAML text when it spans lines or is a one-line flow mapping ``{...}``, and a
    file path otherwise (:func:`_is_yaml_text`); ``bytes`` are always YAML text.

    Dict values may be strings with units (``"525 km"``), astropy Quantities, ``datetime`` or
    astropy ``Time`` for the epoch, or, for an orbit (``dropoff`` or a payload's ``target``), a
    boinor ``Orbit`` (see :func:`orbit_spec_from_boinor`: its state is rotated from GCRS to the
    mean equator of the epoch, which a logged note reports). Raises
    :class:`otvplan.errors.ScenarioError` listing every problem; for a dict, each problem
    names the key path (``<dict>: tug.dry_mass: ...``).
    """
    from otvplan.io import scenario as _scenario

    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        name = filename or "<dict>"
        return _scenario.load_data(_plain_scenario(source, name), name)
    if isinstance(source, (bytes, bytearray)):
        return _scenario.loads(source, filename=filename or "<string>")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not _is_yaml_text(source)):
        return _scenario.load(source)
    if isinstance(source, str):
        return _scenario.loads(source, filename=filename or "<string>")
    raise TypeError(
        f"cannot load a scenario from {type(source).__name__}; give a path, YAML "
        "text, a dict or a Scenario"
    )


def _plain_scenario(data: Mapping, name: str) -> dict:
    """The scenario dict with Quantities, times and boinor orbits turned into the scenario
    format's strings; boinor orbits must be at the scenario epoch."""
    epoch = _plain(data.get("epoch"))
    epoch_jd = None
    if isinstance(epoch, str):
        from otvplan.core.timeutil import julian_date, parse_utc

        try:
            epoch_jd = julian_date(parse_utc(epoch))
        except ValueError:
            pass  # the validator reports it
    problems: list[Problem] = []

    def convert(value: Any, path: tuple) -> Any:
        if _is_boinor_orbit(value):
            orbit_jd = float(value.epoch.utc.jd1) + float(value.epoch.utc.jd2)
            if epoch_jd is not None and abs(orbit_jd - epoch_jd) * 86400.0 > 1e-3:
                problems.append(
                    Problem(
                        name,
                        _path_text(path),
                        f"the boinor Orbit's epoch ({value.epoch.utc.isot}Z) is not the scenario "
                        f"epoch ({epoch}); propagate it there first: "
                        "orbit.propagate(Time(epoch) - orbit.epoch)",
                    )
                )
                return None
            return orbit_spec_from_boinor(value, epoch_jd, where=_path_text(path))
        if isinstance(value, Mapping):
            return {k: convert(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v, path + (i,)) for i, v in enumerate(value)]
        return _plain(value)

    out = convert(data, ())
    if problems:
        raise ScenarioError(problems)
    return out


def _path_text(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _plain(value: Any) -> Any:
    """A Quantity, datetime, astropy Time or NumPy scalar as the scenario format writes it."""
    if hasattr(value, "unit") and hasattr(value, "value"):  # astropy Quantity
        unit = value.unit.to_string()
        if unit == "":
            return float(value.value)
        return f"{float(value.value)!r} {unit}"
    if hasattr(value, "isot"):  # astropy Time
        return value.utc.isot + "Z"
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def _is_boinor_orbit(value: Any) -> bool:
    cls = type(value)
    return cls.__name__ == "Orbit" and cls.__module__.startswith(("boinor", "poliastro"))


def orbit_spec_from_boinor(orbit, epoch_jd: float | None = None, *, where: str = "") -> dict:
    """Scenario-format orbit spec (dict of strings with units) from a boinor ``Orbit``.

    boinor states are in GCRS (J2000 axes); otvplan's frame is the mean equator and equinox of
    the scenario epoch, so the state is rotated with the IAU-1976 precession matrix at
    ``epoch_jd`` (default: the orbit's epoch) before elements are taken. Inclination and RAAN
    therefore differ from the orbit's own (RAAN by about 0.014 deg per year from 2000); a note
    with both values is logged (logger ``otvplan.api``, level INFO) naming ``where``. The
    elements are taken as otvplan's mean elements; the orbit's position becomes the ``slot``
    (argument of latitude at the epoch).
    """
    import numpy as np

    from otvplan.constants import R_EARTH_KM
    from otvplan.core.orbits import precession_matrix, rv_to_coe

    r = np.asarray(orbit.r.to_value("km"), float)
    v = np.asarray(orbit.v.to_value("km/s"), float)
    jd = float(orbit.epoch.utc.jd1) + float(orbit.epoch.utc.jd2) if epoch_jd is None else epoch_jd
    p = precession_matrix(jd)
    el = rv_to_coe(p @ r, p @ v)
    given = rv_to_coe(r, v)
    spec = {
        "sma": f"{float(el.a)!r} km",
        "eccentricity": float(el.e),
        "inclination": f"{math.degrees(float(el.i))!r} deg",
        "raan": f"{math.degrees(float(el.raan))!r} deg",
        "slot": f"{math.degrees(float(el.u))!r} deg",
    }
    if float(el.e) > 1e-9:
        spec["argp"] = f"{math.degrees(float(el.argp))!r} deg"
    else:
        del spec["eccentricity"], spec["sma"]
        spec = {"altitude": f"{float(el.a) - R_EARTH_KM!r} km", **spec}
    logger.info(
        "%sboinor Orbit in GCRS (inclination %s deg, RAAN %s deg) rotated to the mean equator "
        "and equinox of %s: inclination %s deg, RAAN %s deg (IAU-1976 precession)",
        f"{where}: " if where else "",
        _deg(given.i),
        _deg(given.raan),
        _jd_text(jd),
        _deg(el.i),
        _deg(el.raan),
    )
    return spec


def _deg(angle: float) -> str:
    return f"{math.degrees(float(angle)):.3f}".rstrip("0").rstrip(".")


def _jd_text(jd: float) -> str:
    from datetime import datetime, timedelta

    moment = datetime(2000, 1, 1, 12, tzinfo=UTC) + timedelta(days=jd - 2451545.0)
    moment = (moment + timedelta(milliseconds=500)).replace(microsecond=0)  # nearest second
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(
    scenario: Any,
    objective: str | None = None,
    *,
    strict: bool = False,
    progress: Callable[[dict], None] | None = None,
) -> Plan | FleetPlan:
    """Plan a mission from a Scenario (or anything :func:`load_scenario` takes).

    ``objective``: ``"propellant"``, ``"duration"`` or ``"pareto"`` (default: the scenario's).
    Returns a :class:`otvplan.model.Plan`; an infeasible mission gives ``feasible=False`` with
    the shortfall, or raises :class:`otvplan.errors.InfeasibleError` when ``strict``.
    A scenario with several tugs (``tugs:``) gives a :class:`otvplan.model.FleetPlan`
    (:func:`otvplan.planning.fleet.plan_fleet`); ``objective`` is then the fleet's:
    ``"propellant"``, ``"tugs"`` or ``"makespan"``.
    ``progress``: called after each refinement round of a long solve with a dict of
    ``iteration``, ``propellant_kg`` (best plan so far), ``bound_kg`` (lower bound), ``gap``
    (relative) and ``elapsed_s``.
    """
    from otvplan.planning.solver import plan as _plan

    sc = load_scenario(scenario)
    if sc.fleet is not None:
        return _plan_fleet(sc, objective, strict, progress)
    return _plan(sc, objective=objective, strict=strict, progress=progress)


def _plan_fleet(sc: Scenario, objective: str | None, strict: bool, progress) -> FleetPlan:
    """:func:`plan` for a scenario with several tugs."""
    from dataclasses import replace

    from otvplan.errors import InfeasibleError, Shortfall
    from otvplan.planning.fleet import plan_fleet

    assert sc.fleet is not None
    if objective is not None:
        if objective not in FLEET_OBJECTIVES:
            raise ValueError(
                f"a fleet's objective must be one of {', '.join(FLEET_OBJECTIVES)}"
                f", got {objective!r}"
            )
        if objective == "cost" and sc.pricing is None:
            raise ValueError("the fleet objective cost needs the scenario's pricing: section")
        sc = replace(sc, fleet=replace(sc.fleet, objective=objective))
    fp = plan_fleet(sc, progress=progress)
    if strict and not fp.feasible:
        raise InfeasibleError(
            "not every payload can be delivered: " + "; ".join(fp.infeasible_reasons),
            Shortfall(reasons=list(fp.infeasible_reasons)),
        )
    return fp


def costs(
    scenario: Any,
    objective: str | None = "propellant",
    *,
    exact_max_payloads: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    time_limit_s: float | None = None,
    pricing: Pricing | Mapping | None = None,
    workers: int | None = None,
    window: str = "scenario",
    progress: Callable[[dict], None] | None = None,
    method: str | None = None,
) -> Attribution:
    """What each delivery of a scenario (anything :func:`load_scenario` takes) costs: its
    marginal propellant and days (the manifest re-planned without it) and its Shapley share
    of the plan's propellant and days, exact up to ``exact_max_payloads`` payloads (default
    6), else sampled from ``samples`` permutations (default 64) with a standard error.
    ``pricing``: a :class:`otvplan.model.Pricing` or a dict of its fields
    (``propellant_per_kg``, ``per_day``, ``tug_launch_per_kg``, ``currency``) adds a cost per
    payload and per kg delivered. ``workers``: plan the sub-manifests on this many
    processes. ``window="plan"``: plan every sub-manifest within the whole plan's duration
    rather than the scenario's limit. See :func:`otvplan.planning.attribution.attribute` and
    docs/pricing.md. ``pricing=None`` takes the scenario's ``pricing:`` section, if any.

    A scenario with ``tugs:`` is attributed over its fleet
    (:func:`otvplan.planning.fleet_costs.attribute_fleet`; ``objective`` must then be None or
    ``"propellant"`` - the tugs are planned with the fleet's objective): ``method="fleet"``
    (exact: every sub-manifest re-assigned over the tugs) or ``"per-tug"`` (the fleet plan's
    assignment kept); None chooses ``fleet`` when the fleet is small enough.

    Raises :class:`otvplan.errors.InfeasibleError` when the whole manifest is infeasible."""
    from otvplan.planning import attribution as _attribution
    from otvplan.planning import fleet_costs as _fleet_costs

    if isinstance(pricing, Mapping):
        pricing = Pricing(**pricing)
    kwargs: dict[str, Any] = {}
    if exact_max_payloads is not None:
        kwargs["exact_max_payloads"] = exact_max_payloads
    if samples is not None:
        kwargs["samples"] = samples
    loaded = load_scenario(scenario)
    if loaded.fleet is not None:
        if objective not in (None, "propellant"):
            raise ValueError(
                "objective applies to one tug; a fleet's tugs are planned with its "
                f"fleet.objective ({loaded.fleet.objective}), got {objective!r}"
            )
        return _fleet_costs.attribute_fleet(
            loaded,
            method=method,
            seed=seed,
            time_limit_s=time_limit_s,
            pricing=pricing,
            workers=workers,
            window=window,
            progress=progress,
            **kwargs,
        )
    if method is not None:
        raise ValueError("method applies to a fleet (a scenario with tugs:)")
    return _attribution.attribute(
        loaded,
        objective=objective,
        seed=seed,
        time_limit_s=time_limit_s,
        pricing=pricing,
        workers=workers,
        window=window,
        progress=progress,
        **kwargs,
    )


def verify(
    plan_or_path: Any,
    *,
    execution: Execution = "guided",
    drag: bool = False,
    zonal: int = 2,
    backend: Backend = "compiled",
    samples: int = 64,
    trace_burns: bool = True,
    trim: bool = True,
) -> Verification | dict[str, Verification]:
    """Fly a plan (a :class:`~otvplan.model.Plan`, a ``plan.json`` path, or anything
    :func:`plan` takes) through the numerical propagator; the options and their defaults are
    those of :func:`otvplan.flight.verify.verify` (``backend="compiled"``: SciPy's ``ode``
    without numba or with ``OTVPLAN_ACCELERATE=0``). Returns a
    :class:`otvplan.flight.verify.Verification`; for a fleet plan (a
    :class:`~otvplan.model.FleetPlan` or ``fleet.json``) one per tug flown, by tug name."""
    from functools import partial

    from otvplan.flight.verify import verify as _verify

    fly = partial(
        _verify,
        execution=execution,
        drag=drag,
        zonal=zonal,
        backend=backend,
        samples=samples,
        trace_burns=trace_burns,
        trim=trim,
    )
    p = _as_plan(plan_or_path)
    if isinstance(p, FleetPlan):
        return {t.tug: fly(t.plan) for t in p.tugs}
    return fly(p)


def report(
    plan_or_path: Any,
    out_dir: str | os.PathLike,
    verification: Verification | Mapping[str, Verification] | None = None,
    *,
    figures: bool = True,
    exports: bool = False,
    refinement: Refinement | None = None,
    costs: Attribution | None = None,
) -> list[Path]:
    """Write plan.json, CSVs, report.md/html and figures (and with ``exports`` the CCSDS and
    GMAT files) into ``out_dir``; see :func:`otvplan.reporting.report.write_report`.
    ``costs``: what each delivery costs (:func:`costs` of the plan's scenario), as a report
    section and ``costs.csv``.
    ``plan_or_path`` as for :func:`verify`. ``refinement``: the
    :func:`otvplan.flight.refine.refinement` whose ``plan`` is the plan given (flight-ready
    burns), to compare its burns with the planned ones in the report. Returns the paths
    written. A fleet plan gets one report per tug and the fleet's pages
    (:func:`otvplan.reporting.fleet_report.write_fleet_report`; ``verification`` then maps
    tug names to verifications, as :func:`verify` returns them)."""
    from otvplan.reporting.report import write_report

    p = _as_plan(plan_or_path)
    if isinstance(p, FleetPlan):
        from otvplan.reporting.fleet_report import write_fleet_report

        if refinement is not None:
            raise ValueError("refinement= applies to a single-tug plan; refine each tug's plan")
        if verification is not None and not isinstance(verification, Mapping):
            raise TypeError(
                "a fleet plan's verification is a mapping of tug name to "
                "Verification (what otvplan.verify returns for a fleet)"
            )
        return write_fleet_report(
            p, Path(out_dir), verification, figures=figures, exports=exports, costs=costs
        )
    if isinstance(verification, Mapping):
        raise TypeError("a single-tug plan takes one Verification, not a mapping")
    return write_report(
        p,
        Path(out_dir),
        verification,
        figures=figures,
        exports=exports,
        refinement=refinement,
        costs=costs,
    )


def sweep(
    study: Study | str | os.PathLike,
    executor: Executor | None = None,
    out_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk_size: int | None = None,
    retries: int = 2,
    plots: bool = True,
    notify: Callable[[str], None] | None = None,
) -> pandas.DataFrame:
    """Run a trade study (a :class:`~otvplan.study.Study` or a study file) on local worker
    processes or a given ``concurrent.futures.Executor``; see :func:`otvplan.study.sweep`.
    Returns the table of cases (a :class:`pandas.DataFrame`)."""
    from otvplan.study.run import sweep as _sweep

    return _sweep(
        study,
        executor,
        out_dir,
        workers,
        progress,
        chunk_size=chunk_size,
        retries=retries,
        plots=plots,
        notify=notify,
    )


def _as_plan(value: Any) -> Plan | FleetPlan:
    if isinstance(value, (Plan, FleetPlan)):
        return value
    path = Path(value)
    if path.suffix.lower() == ".json":
        from otvplan.reporting.report import read_plan_file

        # size-checked and validated; every problem names the file
        return read_plan_file(path)
    return plan(value)


def summary(p: Plan) -> dict:
    """The plan's totals as astropy Quantities (and plain values where unitless)."""
    import astropy.units as u

    return {
        "feasible": p.feasible,
        "delivered": list(p.delivered),
        "undelivered": list(p.undelivered),
        "total_dv": p.total_dv_kms * u.km / u.s,
        "propellant_used": p.propellant_used_kg * u.kg,
        "propellant_remaining": p.propellant_remaining_kg * u.kg,
        "propellant_margin": p.propellant_margin_kg * u.kg,
        "duration": (p.duration_s * u.s).to(u.day),
        "final_mass": p.final_mass_kg * u.kg,
        "shortfall_propellant": p.shortfall_propellant_kg * u.kg,
        "shortfall_time": (p.shortfall_time_s * u.s).to(u.day),
    }


def leg_table(p: Plan) -> list[dict]:
    """One dict per leg, values as astropy Quantities."""
    import astropy.units as u

    rows = []
    for leg in p.legs:
        rows.append(
            {
                "leg": leg.index,
                "from": leg.origin,
                "to": leg.destination,
                "strategy": leg.strategy,
                "start": (leg.t_start_s * u.s).to(u.day),
                "duration": (leg.duration_s * u.s).to(u.day),
                "dv": (leg.dv_kms * u.km / u.s).to(u.m / u.s),
                "propellant": leg.propellant_kg * u.kg,
                "mass_before": leg.mass_before_kg * u.kg,
                "mass_after": leg.mass_after_kg * u.kg,
            }
        )
    return rows
