"""What each delivery costs, as a report section and a CSV file (``costs.csv``).

Renders an :class:`otvplan.planning.attribution.Attribution` (one tug or a fleet): one row per
payload with its tug (a fleet), mass, marginal propellant and days, Shapley share of the
propellant (with its standard error when sampled), share of the total and, with a money
model, its cost and cost per kg delivered; then the totals and the method line.
"""

from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING

from otvplan.constants import SECONDS_PER_DAY
from otvplan.reporting.render import Heading, Para, Table
from otvplan.reporting.tables import _num

if TYPE_CHECKING:  # annotations only: attribution imports the planner
    from otvplan.planning.attribution import Attribution

#: Columns of ``costs.csv`` (units in the names); ``tug`` only for a fleet.
COSTS_COLUMNS = (
    "payload",
    "tug",
    "mass_kg",
    "marginal_propellant_kg",
    "marginal_duration_d",
    "shapley_propellant_kg",
    "shapley_propellant_se_kg",
    "allocated_propellant_kg",
    "allocated_duration_d",
    "share",
    "cost",
    "cost_per_kg",
)


def _is_fleet(a: Attribution) -> bool:
    return any(r.tug is not None for r in a.payloads)


def costs_csv(a: Attribution) -> str:
    """CSV text, one row per payload: :data:`COSTS_COLUMNS` (without ``tug`` for one tug);
    numbers written in full (``repr``), an empty cell for a cost without prices."""
    columns = [c for c in COSTS_COLUMNS if c != "tug" or _is_fleet(a)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in a.payloads:
        values: dict[str, str | float | None] = {
            "payload": r.name,
            "tug": r.tug or "",
            "mass_kg": r.mass_kg,
            "marginal_propellant_kg": r.marginal_propellant_kg,
            "marginal_duration_d": r.marginal_duration_s / SECONDS_PER_DAY,
            "shapley_propellant_kg": r.shapley_propellant_kg,
            "shapley_propellant_se_kg": r.shapley_propellant_se_kg,
            "allocated_propellant_kg": r.allocated_propellant_kg,
            "allocated_duration_d": r.allocated_duration_s / SECONDS_PER_DAY,
            "share": r.share,
            "cost": r.cost,
            "cost_per_kg": r.cost_per_kg,
        }
        w.writerow([_cell(values[c]) for c in columns])
    return buf.getvalue()


def _cell(value: str | float | None) -> str:
    """A CSV cell: empty for None, a float in full (``repr``)."""
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


def totals_text(a: Attribution) -> str:
    """The totals in one sentence: propellant, days (tug-days for a fleet), and with prices
    the total cost and the prices."""
    fleet = a.method in ("fleet", "per-tug")
    days = a.total_duration_s / SECONDS_PER_DAY
    text = f"Total {_num(a.total_propellant_kg, 2)} kg of propellant, " + (
        f"{_num(days, 2)} tug-days"
        if fleet
        else f"{_num(days, 2)} d; the disposal alone {_num(a.baseline_propellant_kg, 2)} kg"
    )
    pr = a.pricing
    if pr is not None and a.total_cost is not None:
        cur = f" {pr.currency}" if pr.currency else ""
        text += (
            f". Total cost {_num(a.total_cost, 0)}{cur}: propellant "
            f"{_num(pr.propellant_per_kg, 2)}/kg, operations {_num(pr.per_day, 2)}/d, tug "
            f"launch {_num(pr.tug_launch_per_kg, 2)}/kg x {_num(a.tug_launch_kg, 1)} kg (each "
            "tug's split by mass among its payloads)"
        )
    return text + "."


def costs_blocks(a: Attribution) -> list:
    """The report section "What each delivery costs" (blocks of
    :mod:`otvplan.reporting.render`)."""
    fleet = _is_fleet(a)
    sampled = any(r.shapley_propellant_se_kg > 0 for r in a.payloads)
    cur = f" ({a.pricing.currency})" if a.pricing is not None and a.pricing.currency else ""
    headers = ["Payload"]
    numeric = [False]
    if fleet:
        headers.append("Tug")
        numeric.append(False)
    headers += ["Mass (kg)", "Marginal (kg)", "Marginal (d)", "Shapley (kg)", "Share"]
    numeric += [True] * 5
    if a.pricing is not None:
        headers += [f"Cost{cur}", f"Cost per kg{cur}"]
        numeric += [True, True]
    rows = []
    for r in a.payloads:
        row = [r.name] + ([r.tug or "-"] if fleet else [])
        shapley = _num(r.allocated_propellant_kg, 2)
        if sampled:
            shapley += f" ± {_num(r.shapley_propellant_se_kg, 2)}"
        row += [
            _num(r.mass_kg, 1),
            _num(r.marginal_propellant_kg, 2),
            _num(r.marginal_duration_s / SECONDS_PER_DAY, 2),
            shapley,
            f"{r.share:.1%}" if math.isfinite(r.share) else "-",
        ]
        if a.pricing is not None:
            row += [_num(r.cost, 0), _num(r.cost_per_kg, 0)]
        rows.append(tuple(row))
    blocks: list = [
        Heading(2, "What each delivery costs"),
        Para(
            "Marginal: what the mission saves without the payload, re-planned. Shapley: its "
            "share of the total, summing to it exactly (docs/pricing.md). Method: "
            f"{a.method_text}."
        ),
        Table(tuple(headers), tuple(rows), tuple(numeric)),
        Para(totals_text(a)),
    ]
    return blocks


__all__ = ["COSTS_COLUMNS", "costs_blocks", "costs_csv", "totals_text"]
