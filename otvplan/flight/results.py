"""What a verification returns: plain records of how a plan flew.

:func:`otvplan.flight.verify.verify` builds them; the reporter
(:mod:`otvplan.reporting.report`) and the command line print them. Frozen dataclasses in core
units (km, s, rad, kg), :func:`otvplan.model.to_data` ready. :mod:`otvplan.flight.verify`
re-exports every name, the place to import them from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from otvplan.model import OrbitState

#: Below this inclination [rad] a target counts as equatorial: its node is undefined, so the
#: RAAN is not checked and the slot is checked as the true longitude RAAN + u.
EQUATORIAL_RAD = 1e-4

#: Relative tolerance of the mass bookkeeping checks.
MASS_RTOL = 1e-6


@dataclass(frozen=True)
class ElementCheck:
    """One row of the verification table: one element of one delivery.

    ``element`` is ``a``, ``e``, ``i``, ``raan`` or ``slot`` (``longitude`` for an equatorial
    target); values in core units named by ``unit`` (km, -, rad). ``target`` is the scenario's
    target at the delivery time, ``planned`` the plan's predicted mean element, ``achieved``
    the propagated mean element; ``error`` = achieved - target (angles wrapped to +-pi).
    ``checked`` is False for a free RAAN/slot (then ``passed`` is True and ``note`` says why).
    """

    payload: str
    element: str
    unit: str
    target: float | None
    planned: float | None
    achieved: float
    error: float | None
    tolerance: float | None
    checked: bool
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class DeliveryCheck:
    """A delivery's achieved mean orbit against its target and the plan."""

    payload: str
    leg: int
    t_s: float
    achieved: OrbitState
    planned: OrbitState
    checks: tuple[ElementCheck, ...]
    passed: bool


@dataclass(frozen=True)
class BurnCheck:
    """The tug's achieved mean orbit after a burn against the plan's ``Burn.orbit_after``.

    Informative (not pass/fail): it locates where a failed delivery went wrong. ``t_s`` is
    when the burn ended in the propagation, ``shift_s`` how much later than planned (non-zero
    in guided execution, or after an overrunning thrust arc). The achieved
    orbit is the average over the free orbit after the burn (as if no later burn came); for a
    low-thrust arc it is taken at the arc's end. ``None`` fields when the plan gives no orbit.
    Errors are achieved - planned, angles wrapped to +-pi [km, -, rad]. For an equatorial
    planned orbit the node is a convention: ``raan_error_rad`` is None and ``u_error_rad``
    compares true longitudes RAAN + u.
    """

    leg: int
    label: str
    t_s: float
    shift_s: float
    low_thrust: bool
    achieved: OrbitState
    planned: OrbitState | None
    a_error_km: float | None
    e_error: float | None
    i_error_rad: float | None
    raan_error_rad: float | None
    u_error_rad: float | None


@dataclass(frozen=True)
class BurnExecution:
    """How one burn was flown: one row of the execution table.

    ``planned_t_s`` / ``fired_t_s``: the plan's epoch and when the burn fired (for a low-thrust
    arc, when it started); ``shift_s`` = fired - planned. ``window_s``: the half-width of the
    window around the planned epoch in which a guided burn may fire
    (:data:`otvplan.flight.verify.WINDOW_PERIODS` of the planned orbit's period; 0 in open loop).
    ``planned_u_rad``: where the burn belongs in its orbit, the argument of latitude (the true
    longitude RAAN + u when ``equatorial``); ``fired_u_rad`` the tug's osculating value when it
    fired. ``dv_planned_kms``: |planned delta-v|. ``trim_tnw_kms``: the delta-v added to the
    plan's, in the T/N/W frame of the burn; ``trim_kms`` its magnitude and ``trim_fraction`` that
    over the planned delta-v; ``trim_limit_kms`` the most a trim may be (max(0.5 m/s, 2 %)).
    ``trimmed``: which mean elements the trim targets (``a``, ``a+i`` or empty); ``a_residual_km``
    and ``i_residual_rad`` what is left after it (mean, achieved - planned ``orbit_after``).
    ``mistimed``: no crossing of the planned place in the window (then fired at the epoch).
    ``passed``: not mistimed, trim converged and within its limit (always True open-loop).
    All values in core units (s, rad, km/s, km).
    """

    leg: int
    label: str
    low_thrust: bool
    planned_t_s: float
    fired_t_s: float
    shift_s: float
    window_s: float
    planned_u_rad: float
    fired_u_rad: float | None
    dv_planned_kms: float
    trim_tnw_kms: tuple[float, float, float]
    trim_kms: float
    trim_fraction: float
    trim_limit_kms: float
    trimmed: str
    a_residual_km: float | None
    i_residual_rad: float | None
    mistimed: bool
    passed: bool
    equatorial: bool = False
    note: str = ""


@dataclass(frozen=True)
class MassCheck:
    """The plan's mass bookkeeping, and the propellant the propagation actually burnt.

    ``burns_propellant_kg`` sums every burn's propellant; ``plan_propellant_kg`` is
    ``Plan.propellant_used_kg``; ``propagated_propellant_kg`` is what the verification burnt
    for the burns as planned (rocket equation for the planned impulsive delta-v at the
    propagated mass, mass flow F/(g0 Isp) over the planned duration for low-thrust arcs), and
    ``final_mass_propagated_kg`` the mass that leaves. ``max_chain_error_kg`` is the worst
    mismatch in the chain of masses (start of mission, burn by burn, payload releases).
    ``trim_propellant_kg``: the extra propellant the guided trims burnt (the tug really ends
    that much lighter); it must fit in the plan's margin above the reserve,
    ``margin_kg`` (``Plan.propellant_margin_kg``). ``passed`` when all agree to
    :data:`MASS_RTOL` and the trims fit.
    """

    burns_propellant_kg: float
    plan_propellant_kg: float
    propagated_propellant_kg: float
    final_mass_plan_kg: float
    final_mass_propagated_kg: float
    max_chain_error_kg: float
    passed: bool
    notes: tuple[str, ...] = ()
    trim_propellant_kg: float = 0.0
    margin_kg: float | None = None


@dataclass(frozen=True)
class Verification:
    """The verification of a plan: per-delivery checks, mass check, overall ``passed``.

    ``final_orbit`` is the tug's achieved mean orbit after the last event and
    ``planned_final_orbit`` the plan's (informative, not checked). ``stats``: wall time
    [s], right-hand-side evaluations, days propagated. ``execution``: ``"guided"`` or
    ``"open-loop"``; ``executions``: how each burn was flown (:class:`BurnExecution`, the
    execution table: planned and fired epoch, shift, trim). ``passed`` needs every delivery
    within tolerance, the mass check and every burn's execution to pass.
    """

    scenario: str
    force_model: str
    passed: bool
    deliveries: tuple[DeliveryCheck, ...]
    mass: MassCheck
    burns: tuple[BurnCheck, ...] = ()
    undelivered: tuple[str, ...] = ()
    final_orbit: OrbitState | None = None
    planned_final_orbit: OrbitState | None = None
    warnings: tuple[str, ...] = ()
    stats: tuple[tuple[str, float], ...] = ()
    execution: str = "guided"
    executions: tuple[BurnExecution, ...] = ()

    @property
    def rows(self) -> tuple[ElementCheck, ...]:
        """Every element check of every delivery, in delivery order (the table to print)."""
        return tuple(c for d in self.deliveries for c in d.checks)

    @property
    def failures(self) -> tuple[ElementCheck, ...]:
        """The rows that failed."""
        return tuple(c for c in self.rows if not c.passed)

    @property
    def failed_burns(self) -> tuple[BurnExecution, ...]:
        """The burns whose execution failed (mistimed, or a trim beyond its limit)."""
        return tuple(x for x in self.executions if not x.passed)

    def frame(self):
        """The verification table (:attr:`rows`) as a :class:`pandas.DataFrame`, one row per
        element of each delivery; angles in degrees (``unit`` says which), ``None`` where an
        element is not checked. pandas is imported by this method only."""
        import pandas as pd

        records = []
        for c in self.rows:
            scale = math.degrees(1.0) if c.unit == "rad" else 1.0

            def value(x, scale=scale):
                return None if x is None else x * scale

            records.append(
                {
                    "payload": c.payload,
                    "element": c.element,
                    "unit": "deg" if c.unit == "rad" else c.unit,
                    "target": value(c.target),
                    "planned": value(c.planned),
                    "achieved": value(c.achieved),
                    "error": value(c.error),
                    "tolerance": value(c.tolerance),
                    "checked": c.checked,
                    "passed": c.passed,
                    "note": c.note,
                }
            )
        columns = [
            "payload",
            "element",
            "unit",
            "target",
            "planned",
            "achieved",
            "error",
            "tolerance",
            "checked",
            "passed",
            "note",
        ]
        return pd.DataFrame(records, columns=columns)

    def _repr_html_(self) -> str:
        """The verdict and the verification table as HTML (Jupyter's rich display)."""
        from html import escape

        verdict = "PASSED" if self.passed else "<b>FAILED</b>"
        lines = [
            f"<p><b>{escape(self.scenario)}</b>: verification ({escape(self.force_model)}, "
            f"{escape(self.execution)}) {verdict}; mass bookkeeping "
            f"{'passed' if self.mass.passed else '<b>failed</b>'}"
            + (f"; undelivered: {escape(', '.join(self.undelivered))}" if self.undelivered else "")
            + "</p>"
        ]
        head = ("payload", "element", "unit", "target", "achieved", "error", "tolerance", "result")
        lines.append(
            "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
        )
        for c in self.rows:
            deg = c.unit == "rad"
            scale = math.degrees(1.0) if deg else 1.0
            digits = 4 if deg else (6 if c.unit == "-" else 3)

            def num(x, scale=scale, digits=digits):
                return "-" if x is None else f"{x * scale:.{digits}f}"

            result = ("pass" if c.passed else "<b>FAIL</b>") if c.checked else "not checked"
            cells = (
                escape(c.payload),
                escape(c.element),
                "deg" if deg else escape(c.unit),
                num(c.target),
                num(c.achieved),
                num(c.error),
                num(c.tolerance),
                result,
            )
            lines.append(
                "<tr>"
                + "".join(
                    f'<td style="text-align:{"left" if k < 3 or k == 7 else "right"}">{x}</td>'
                    for k, x in enumerate(cells)
                )
                + "</tr>"
            )
        lines.append("</tbody></table>")
        if self.warnings:
            lines.append(
                "<ul>" + "".join(f"<li>warning: {escape(w)}</li>" for w in self.warnings) + "</ul>"
            )
        return "\n".join(lines)


__all__ = [
    "EQUATORIAL_RAD",
    "MASS_RTOL",
    "BurnCheck",
    "BurnExecution",
    "DeliveryCheck",
    "ElementCheck",
    "MassCheck",
    "Verification",
]
