"""The report's rows: legs, burns, deliveries and the summary, as data and as CSV.

Formatting helpers shared by the renderings (fixed-point numbers with "-" for a missing value,
UTC text), the rows of ``legs.csv`` and ``burns.csv`` (:data:`LEG_COLUMNS`,
:data:`BURN_COLUMNS`, units in the names), each delivery's achieved-versus-target table and
the mission summary. :mod:`otvplan.reporting.report` re-exports the public names.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
from collections.abc import Iterable, Sequence

from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.core.timeutil import add_seconds, julian_date
from otvplan.flight.trajectory import target_at
from otvplan.model import BURN_COLUMNS, LEG_COLUMNS, BurnRow, FleetPlan, LegRow, Plan

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
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _hours_text(h: float | None) -> str:
    """Clock text ``hh:mm:ss`` of hours in [0, 24)."""
    if h is None or math.isnan(h):
        return "-"
    s = round(float(h) * 3600.0) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _deg(rad: float | None) -> float | None:
    return None if rad is None else math.degrees(rad)


def _wrap_deg(x: float) -> float:
    """Wrap degrees into (-180, 180]."""
    return 180.0 - ((180.0 - x) % 360.0)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def leg_rows(plan: Plan) -> list[LegRow]:
    """The plan's :class:`otvplan.model.LegRow` rows (:meth:`otvplan.model.Plan.leg_rows`)."""
    return plan.leg_rows()


def burn_rows(plan: Plan) -> list[BurnRow]:
    """The plan's :class:`otvplan.model.BurnRow` rows (:meth:`otvplan.model.Plan.burn_rows`)."""
    return plan.burn_rows()


def _csv_cell(value) -> str:
    """A CSV cell: '' for None, true/false, a float in full (``repr``), a UTC moment as ISO 8601
    with milliseconds (truncated), anything else as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, _dt.datetime):
        moment = value.astimezone(_dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def _csv_text(columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """CSV text: the header ``columns``, then one line per row (its values in column order)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def legs_csv(plan: Plan) -> str:
    """CSV text, one row per leg; columns :data:`LEG_COLUMNS` (units in the names)."""
    return _csv_text(LEG_COLUMNS, plan.leg_rows())


def burns_csv(plan: Plan) -> str:
    """CSV text, one row per burn; columns :data:`BURN_COLUMNS` (units in the names).

    ``dv_t/n/w_m_s`` are the components in the pre-burn T/N/W frame (T along the velocity, W
    along the angular momentum, N = W x T); ``after_*`` the planned mean orbit after the burn.
    """
    return _csv_text(BURN_COLUMNS, plan.burn_rows())


def fleet_legs_csv(fleet: FleetPlan) -> str:
    """CSV text of every tug's legs: the column ``tug``, then :data:`LEG_COLUMNS` (each tug's
    times from its own start)."""
    rows = [(t.tug, *row) for t in fleet.tugs for row in t.plan.leg_rows()]
    return _csv_text(("tug", *LEG_COLUMNS), rows)


def fleet_burns_csv(fleet: FleetPlan) -> str:
    """CSV text of every tug's burns: the column ``tug``, then :data:`BURN_COLUMNS`."""
    rows = [(t.tug, *row) for t in fleet.tugs for row in t.plan.burn_rows()]
    return _csv_text(("tug", *BURN_COLUMNS), rows)


# --------------------------------------------------------------------------------------------
# Deliveries and summary
# --------------------------------------------------------------------------------------------


def _ltan_of(raan: float, t_s: float, plan: Plan, reference: str) -> float:
    from otvplan.core.orbits import raan_to_ltan

    jd = julian_date(utc_of(plan, t_s))
    return float(raan_to_ltan(raan, jd, reference))


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
        rows: list[tuple] = []

        def add(name, unit, target, got, tol_v, angle=False, rows=rows):
            if target is None:
                rows.append((name, unit, None, got, None, tol_v, None))
                return
            err = _wrap_deg(got - target) if angle else got - target
            ok = abs(err) <= tol_v + 1e-12 if tol_v is not None else None
            rows.append((name, unit, target, got, err, tol_v, ok))

        add("altitude a - R_E", "km", spec.a_km - R_EARTH_KM, o.a_km - R_EARTH_KM, tol.sma_km)
        add("eccentricity", "-", spec.e, o.e, tol.eccentricity)
        add(
            "inclination",
            "deg",
            math.degrees(spec.inc_rad),
            math.degrees(o.inc_rad),
            math.degrees(tol.inclination_rad),
        )
        raan_t, slot_t = target_at(spec, t)
        add(
            "RAAN",
            "deg",
            None if raan_t is None else math.degrees(raan_t) % 360.0,
            math.degrees(o.raan_rad) % 360.0,
            math.degrees(tol.raan_rad),
            angle=True,
        )
        if spec.ltan_h is not None:
            ref = spec.ltan_reference
            got_h = _ltan_of(o.raan_rad, t, plan, ref)
            tgt_h = _ltan_of(float(raan_t), t, plan, ref) if raan_t is not None else None
            err_min = None if tgt_h is None else ((got_h - tgt_h + 12.0) % 24.0 - 12.0) * 60.0
            tol_min = math.degrees(tol.raan_rad) / 15.0 * 60.0
            rows.append(
                (
                    f"LTAN ({ref} sun)",
                    "h",
                    tgt_h,
                    got_h,
                    err_min,
                    tol_min,
                    None if err_min is None else abs(err_min) <= tol_min + 1e-9,
                )
            )
        add(
            "slot (argument of latitude)",
            "deg",
            None if slot_t is None else math.degrees(slot_t) % 360.0,
            math.degrees(o.u_rad) % 360.0,
            math.degrees(tol.slot_rad),
            angle=True,
        )
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
        (
            "Delta-v margin (usable propellant left, at final mass)",
            f"{_num(budget.margin_kms * 1000.0, 1)} m/s",
        ),
        ("Propellant loaded", f"{_num(tug.propellant_kg, 2)} kg"),
        ("Propellant reserve", f"{_num(tug.reserve_kg, 2)} kg"),
        ("Propellant used", f"{_num(plan.propellant_used_kg, 2)} kg"),
        ("Propellant remaining", f"{_num(plan.propellant_remaining_kg, 2)} kg"),
        (
            "Propellant margin above reserve",
            f"{_num(margin, 2)} kg "
            f"({_num(100.0 * margin / usable if usable > 0 else float('nan'), 1)} % of usable)",
        ),
        ("Initial mass", f"{_num(sc.initial_mass_kg, 2)} kg"),
        ("Final mass", f"{_num(plan.final_mass_kg, 2)} kg"),
        (
            "Tug",
            f"{tug.name}: dry {_num(tug.dry_mass_kg, 1)} kg, engines "
            + ", ".join(
                f"{e.name} ({e.kind}, Isp {_num(e.isp_s, 0)} s, {_thrust_text(e.thrust_n)})"
                for e in tug.engines
            ),
        ),
        (
            "Sequence optimality",
            "exact within the leg model"
            if plan.exact
            else "heuristic"
            + (
                f"; propellant lower bound {_num(plan.lower_bound_propellant_kg, 2)} kg"
                if plan.lower_bound_propellant_kg is not None
                else ""
            ),
        ),
    ]
    return rows


def _dropoff_text(plan: Plan) -> str:
    d = plan.scenario.dropoff
    parts = [f"altitude {_num(d.a_km - R_EARTH_KM, 1)} km"]
    if d.e:
        parts.append(f"e {_num(d.e, 5)}")
    parts.append(
        f"inclination {_num(math.degrees(d.inc_rad), 4)} deg" + (" (SSO)" if d.sso else "")
    )
    if d.raan_rad is not None:
        parts.append(f"RAAN {_num(math.degrees(d.raan_rad), 4)} deg")
    if d.ltan_h is not None:
        parts.append(f"LTAN {_hours_text(d.ltan_h)}")
    return ", ".join(parts)
