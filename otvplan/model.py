"""The data model: frozen dataclasses in core units (km, km/s, s, rad, kg).

A :class:`Scenario` is what a validated scenario file becomes; a :class:`Plan` is the solver's
full answer. Both are plain values: no methods that do I/O, no plotting, no units library.
Quantities with units appear only at the edges (``otvplan.io.scenario``, ``otvplan.api``,
``otvplan.reporting.report``). Orbit elements are *mean* elements (first-order J2 secular theory).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args

from otvplan.constants import (
    DEFAULT_MAX_DRIFT_ALTITUDE_KM,
    DEFAULT_MIN_DRIFT_ALTITUDE_KM,
    R_EARTH_KM,
    SECONDS_PER_DAY,
)

EngineKind = Literal["chemical", "electric"]
Objective = Literal["propellant", "duration", "pareto"]
#: The solver's objectives, in the order the docs list them (the one home of this list).
OBJECTIVES: tuple[str, ...] = get_args(Objective)
DisposalKind = Literal["none", "perigee", "reentry"]
FleetObjective = Literal["propellant", "tugs", "makespan", "cost"]
#: What a fleet's assignment minimises, in the order the docs list them.
FLEET_OBJECTIVES: tuple[str, ...] = get_args(FleetObjective)


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerances:
    """How close a delivery must come to its target, in mean elements.

    Defaults are typical rideshare insertion accuracies: semi-major axis +/- 2 km, eccentricity
    0.002, inclination 0.05 deg, RAAN 0.1 deg (about 24 s of LTAN), slot 1 deg.
    """

    sma_km: float = 2.0
    eccentricity: float = 0.002
    inclination_rad: float = math.radians(0.05)
    raan_rad: float = math.radians(0.1)
    slot_rad: float = math.radians(1.0)


@dataclass(frozen=True)
class OrbitSpec:
    """An orbit in mean elements at the scenario epoch.

    ``raan_rad`` is ``None`` when any RAAN is acceptable (the plane's node is free);
    ``slot_rad`` (argument of latitude at the epoch) is ``None`` when any phase is acceptable.
    ``sso`` and ``ltan_h`` record how the inclination and RAAN were specified (for reports);
    ``ltan_reference`` says which Sun ``ltan_h`` is measured from (``"mean"`` or ``"true"``).
    """

    a_km: float
    e: float = 0.0
    inc_rad: float = 0.0
    raan_rad: float | None = None
    argp_rad: float = 0.0
    slot_rad: float | None = None
    sso: bool = False
    ltan_h: float | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)
    ltan_reference: Literal["mean", "true"] = "mean"

    @property
    def perigee_radius_km(self) -> float:
        """Perigee radius a(1 - e) [km]."""
        return self.a_km * (1.0 - self.e)

    @property
    def apogee_radius_km(self) -> float:
        """Apogee radius a(1 + e) [km]."""
        return self.a_km * (1.0 + self.e)

    @property
    def perigee_altitude_km(self) -> float:
        """Perigee altitude above the equatorial radius [km]."""
        return self.perigee_radius_km - R_EARTH_KM

    @property
    def apogee_altitude_km(self) -> float:
        """Apogee altitude above the equatorial radius [km]."""
        return self.apogee_radius_km - R_EARTH_KM


@dataclass(frozen=True)
class Engine:
    """One engine of the tug. ``power_w`` is informative (electric engines)."""

    name: str
    kind: EngineKind
    isp_s: float
    thrust_n: float
    power_w: float | None = None

    @property
    def is_electric(self) -> bool:
        return self.kind == "electric"


@dataclass(frozen=True)
class Tug:
    """The orbital transfer vehicle. Masses in kg; ``reserve_kg`` is propellant never planned."""

    name: str
    dry_mass_kg: float
    propellant_kg: float
    tank_capacity_kg: float
    reserve_kg: float
    engines: tuple[Engine, ...]

    @property
    def usable_propellant_kg(self) -> float:
        """Propellant the plan may burn: loaded minus reserve [kg]."""
        return self.propellant_kg - self.reserve_kg


@dataclass(frozen=True)
class Payload:
    """A payload and where it must go. ``deliver_by_s`` counts seconds from the epoch."""

    name: str
    mass_kg: float
    target: OrbitSpec
    deliver_by_s: float | None = None
    priority: int = 1


@dataclass(frozen=True)
class Disposal:
    """End-of-mission disposal of the tug.

    ``none``: the tug stays in its last orbit. ``perigee``: lower the perigee to
    ``perigee_altitude_km``. ``reentry``: lower the perigee until the orbit decays within
    ``reentry_years`` for the tug's ballistic coefficient (``area_m2``, ``drag_coefficient``).
    """

    kind: DisposalKind = "none"
    perigee_altitude_km: float | None = None
    reentry_years: float | None = None
    area_m2: float = 1.0
    drag_coefficient: float = 2.2


@dataclass(frozen=True)
class Constraints:
    """Mission constraints. Durations in s, altitudes in km."""

    max_duration_s: float | None = None
    disposal: Disposal = field(default_factory=Disposal)
    min_deploy_separation_s: float = 0.0
    min_drift_altitude_km: float = DEFAULT_MIN_DRIFT_ALTITUDE_KM
    max_drift_altitude_km: float = DEFAULT_MAX_DRIFT_ALTITUDE_KM
    max_impulsive_burn_s: float = 600.0


@dataclass(frozen=True)
class SolverSettings:
    """How the solver searches.

    ``exact_max_payloads``: manifests up to this size are sequenced exactly (dynamic programme
    over subsets); larger ones by beam search with a reported lower bound. ``drift_grid`` is the
    number of drift durations offered per leg; ``max_phasing_revs`` the most revolutions a
    phasing orbit may take (0: as many as fit in the mission's duration limit; long phasing
    with a small altitude offset is the cheap way to spread satellites in a plane);
    ``beam_width`` the beam of the heuristic.
    """

    objective: Objective = "propellant"
    exact_max_payloads: int = 14
    drift_grid: int = 6
    max_phasing_revs: int = 0
    beam_width: int = 64
    time_limit_s: float | None = None


@dataclass(frozen=True)
class FleetTug:
    """One tug of a fleet and what sets it apart from the scenario's shared settings.

    ``dropoff``: its own drop-off orbit (None: the scenario's). ``available_s``: the earliest
    time it may start [s after the epoch]; it waits in its drop-off orbit until then.
    ``max_payloads`` / ``max_payload_mass_kg``: dispenser limits (None: no limit).
    """

    tug: Tug
    dropoff: OrbitSpec | None = None
    available_s: float = 0.0
    max_payloads: int | None = None
    max_payload_mass_kg: float | None = None


@dataclass(frozen=True)
class Fleet:
    """Several tugs on one launch, and the rules of assigning payloads to them.

    ``objective``: ``propellant`` (total over the tugs), ``tugs`` (fewest tugs flown, then
    propellant), ``makespan`` (earliest last delivery, then propellant) or ``cost`` (least
    priced total with the scenario's :class:`Pricing`: propellant, tug-days and the launch of
    every tug flown, then propellant). ``assign``: pairs
    (payload, tug) that must fly together; ``apart``: groups of payloads no two of which may
    share a tug.
    """

    tugs: tuple[FleetTug, ...]
    objective: FleetObjective = "propellant"
    assign: tuple[tuple[str, str], ...] = ()
    apart: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Pricing:
    """A money model for what each delivery costs (:mod:`otvplan.planning.attribution`):
    prices per kg of propellant burnt, per day of operations (per tug flown) and per kg of tug
    launched (dry mass + propellant loaded). ``currency`` is a label only."""

    propellant_per_kg: float = 0.0
    per_day: float = 0.0
    tug_launch_per_kg: float = 0.0
    currency: str = ""

    def total(self, propellant_kg: float, duration_s: float, tug_launch_kg: float) -> float:
        """The price of ``propellant_kg`` burnt, ``duration_s`` of operations and
        ``tug_launch_kg`` of tug launched."""
        return (
            propellant_kg * self.propellant_per_kg
            + duration_s / SECONDS_PER_DAY * self.per_day
            + tug_launch_kg * self.tug_launch_per_kg
        )

    def __post_init__(self) -> None:
        for name in ("propellant_per_kg", "per_day", "tug_launch_per_kg"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"Pricing.{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class Scenario:
    """A validated mission scenario in core units.

    With ``fleet`` the launch carries several tugs (``tug`` is then the fleet's first): the
    fleet solver (:mod:`otvplan.planning.fleet`) assigns the payloads and plans each tug as a
    scenario of its own.
    """

    name: str
    epoch: _dt.datetime
    dropoff: OrbitSpec
    tug: Tug
    payloads: tuple[Payload, ...]
    constraints: Constraints = field(default_factory=Constraints)
    solver: SolverSettings = field(default_factory=SolverSettings)
    description: str = ""
    source: str | None = None
    #: several tugs (None: the single ``tug``); not written to a plan file when None
    fleet: Fleet | None = field(default=None, metadata={"omit_none": True})
    #: the scenario's money model (``pricing:``), used by cost attribution; omitted when None
    pricing: Pricing | None = field(default=None, metadata={"omit_none": True})

    @property
    def initial_mass_kg(self) -> float:
        """Tug dry mass + propellant loaded + every payload [kg] (with a fleet: every tug's)."""
        tugs = [t.tug for t in self.fleet.tugs] if self.fleet is not None else [self.tug]
        loaded = sum(t.dry_mass_kg + t.propellant_kg for t in tugs)
        return loaded + sum(p.mass_kg for p in self.payloads)


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrbitState:
    """The tug's mean orbit at time ``t_s`` (seconds from the epoch).

    ``u_rad`` is the argument of latitude (argument of perigee + true anomaly), which fixes the
    tug's place in its orbit; for a circular orbit ``argp_rad`` is 0 by convention.
    """

    t_s: float
    a_km: float
    e: float
    inc_rad: float
    raan_rad: float
    argp_rad: float
    u_rad: float

    @property
    def altitude_km(self) -> float:
        """Mean altitude a - R_E [km] (for circular orbits)."""
        return self.a_km - R_EARTH_KM


@dataclass(frozen=True)
class Burn:
    """One burn. Impulsive burns act at ``t_s``; low-thrust arcs run from ``t_s`` for
    ``duration_s``. ``dv_tnw_kms`` is the delta-v in the local frame before the burn:
    T along the velocity, W along the orbit normal (angular momentum), N = W x T.
    ``orbit_after`` is the tug's mean orbit just after the burn (end of the arc for low
    thrust)."""

    t_s: float
    dv_kms: float
    dv_tnw_kms: tuple[float, float, float]
    engine: str
    propellant_kg: float
    mass_before_kg: float
    mass_after_kg: float
    duration_s: float
    u_rad: float
    label: str
    low_thrust: bool = False
    impulsive_ok: bool = True
    orbit_after: OrbitState | None = None


@dataclass(frozen=True)
class Phase:
    """A stretch of a leg: ``wait`` (for a node or phase), ``transfer`` (coasting between
    impulsive burns), ``drift`` (J2 drift orbit), ``phasing``, ``spiral`` (low thrust),
    ``separation`` (waiting to deploy) or ``coast``."""

    kind: str
    t_start_s: float
    t_end_s: float
    a_km: float
    inc_rad: float
    e: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """A payload release: when, where the tug was (mean elements), and the target."""

    payload: str
    t_s: float
    orbit: OrbitState
    mass_kg: float


@dataclass(frozen=True)
class Leg:
    """The tug's way from one orbit to the next payload's (or to disposal).

    ``mass_before_kg`` is the total mass at the start of the leg; ``mass_after_kg`` the total
    mass at its end, after the payload is released.
    """

    index: int
    origin: str
    destination: str
    strategy: str
    t_start_s: float
    t_end_s: float
    dv_kms: float
    propellant_kg: float
    mass_before_kg: float
    mass_after_kg: float
    burns: tuple[Burn, ...]
    phases: tuple[Phase, ...]
    delivery: Delivery | None = None
    notes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.t_end_s - self.t_start_s


class LegRow(NamedTuple):
    """One leg as the tables show it (``legs.csv``, :meth:`Plan.legs_frame`, the report):
    display units in the names, times as UTC moments (None if not finite); ``payload`` is ''
    for a leg that releases nothing (the disposal). Columns: :data:`LEG_COLUMNS`."""

    leg: int
    origin: str
    destination: str
    strategy: str
    start_utc: _dt.datetime | None
    end_utc: _dt.datetime | None
    duration_d: float
    dv_m_s: float
    propellant_kg: float
    mass_before_kg: float
    mass_after_kg: float
    payload: str
    payload_mass_kg: float


#: The column names of :class:`LegRow`, in order (``from`` and ``to`` for origin and
#: destination): the header of ``legs.csv`` and the columns of :meth:`Plan.legs_frame`.
LEG_COLUMNS: tuple[str, ...] = ("leg", "from", "to", *LegRow._fields[3:])


class BurnRow(NamedTuple):
    """One burn as the tables show it (``burns.csv``, :meth:`Plan.burns_frame`, the report):
    delta-v in m/s with its components in the pre-burn T/N/W frame, angles in degrees, the
    planned mean orbit after the burn (None without one). Columns: :data:`BURN_COLUMNS`."""

    leg: int
    burn: int
    label: str
    engine: str
    epoch_utc: _dt.datetime | None
    t_s: float
    low_thrust: bool
    duration_s: float
    dv_m_s: float
    dv_t_m_s: float
    dv_n_m_s: float
    dv_w_m_s: float
    propellant_kg: float
    mass_before_kg: float
    mass_after_kg: float
    u_deg: float
    after_a_km: float | None
    after_e: float | None
    after_i_deg: float | None
    after_raan_deg: float | None
    after_u_deg: float | None
    impulsive_ok: bool


#: The column names of :class:`BurnRow`: the header of ``burns.csv``.
BURN_COLUMNS: tuple[str, ...] = BurnRow._fields


@dataclass(frozen=True)
class Plan:
    """The solver's answer for a scenario.

    ``feasible`` is True when every payload is delivered within every constraint. Otherwise the
    legs are the best partial plan (most priority, then most mass delivered, then least
    propellant), ``undelivered`` names what is left out and ``shortfall_*`` says what is missing
    for the whole manifest: more propellant [kg] and/or more time [s].
    ``exact`` tells whether the sequence is proven optimal within the leg model;
    ``lower_bound_propellant_kg`` bounds the optimum from below when it is not.
    ``alternatives`` lists (duration s, propellant kg) of the Pareto front found.
    """

    scenario: Scenario
    objective: str
    feasible: bool
    legs: tuple[Leg, ...]
    delivered: tuple[str, ...]
    undelivered: tuple[str, ...]
    total_dv_kms: float
    propellant_used_kg: float
    propellant_remaining_kg: float
    duration_s: float
    final_mass_kg: float
    shortfall_propellant_kg: float = 0.0
    shortfall_time_s: float = 0.0
    infeasible_reasons: tuple[str, ...] = ()
    exact: bool = True
    lower_bound_propellant_kg: float | None = None
    alternatives: tuple[tuple[float, float], ...] = ()
    warnings: tuple[str, ...] = ()
    solver_stats: tuple[tuple[str, float], ...] = ()
    #: wall-clock time the solver took [s]; not written to plan files (two runs of one
    #: scenario give byte-identical plan.json) and not compared
    solve_time_s: float = field(default=0.0, compare=False, metadata={"transient": True})

    @property
    def propellant_margin_kg(self) -> float:
        """Propellant left above the reserve at the end [kg]."""
        return self.propellant_remaining_kg - self.scenario.tug.reserve_kg

    @property
    def optimality_gap(self) -> float | None:
        """Relative distance of the plan's propellant to the lower bound, (used - bound) /
        used, or None without a bound."""
        lb = self.lower_bound_propellant_kg
        if lb is None:
            return None
        used = self.propellant_used_kg
        return max(used - lb, 0.0) / used if used > 0 else 0.0

    # Notebook display and pandas tables (pandas is imported by these methods only).

    def _utc(self, t_s: float) -> _dt.datetime | None:
        """The UTC time ``t_s`` seconds after the epoch (None when not finite)."""
        if not math.isfinite(t_s):
            return None
        return self.scenario.epoch + _dt.timedelta(seconds=float(t_s))

    def leg_rows(self) -> list[LegRow]:
        """One :class:`LegRow` per leg (the one home of the legs table's values)."""
        rows = []
        for leg in self.legs:
            d = leg.delivery
            rows.append(
                LegRow(
                    leg=leg.index,
                    origin=leg.origin,
                    destination=leg.destination,
                    strategy=leg.strategy,
                    start_utc=self._utc(leg.t_start_s),
                    end_utc=self._utc(leg.t_end_s),
                    duration_d=leg.duration_s / SECONDS_PER_DAY,
                    dv_m_s=leg.dv_kms * 1000.0,
                    propellant_kg=leg.propellant_kg,
                    mass_before_kg=leg.mass_before_kg,
                    mass_after_kg=leg.mass_after_kg,
                    payload=d.payload if d else "",
                    payload_mass_kg=d.mass_kg if d else 0.0,
                )
            )
        return rows

    def burn_rows(self) -> list[BurnRow]:
        """One :class:`BurnRow` per burn, legs in order (the one home of the burns table's
        values)."""
        rows = []
        for leg in self.legs:
            for k, b in enumerate(leg.burns, start=1):
                oa = b.orbit_after
                rows.append(
                    BurnRow(
                        leg=leg.index,
                        burn=k,
                        label=b.label,
                        engine=b.engine,
                        epoch_utc=self._utc(b.t_s),
                        t_s=b.t_s,
                        low_thrust=b.low_thrust,
                        duration_s=b.duration_s,
                        dv_m_s=b.dv_kms * 1000.0,
                        dv_t_m_s=b.dv_tnw_kms[0] * 1000.0,
                        dv_n_m_s=b.dv_tnw_kms[1] * 1000.0,
                        dv_w_m_s=b.dv_tnw_kms[2] * 1000.0,
                        propellant_kg=b.propellant_kg,
                        mass_before_kg=b.mass_before_kg,
                        mass_after_kg=b.mass_after_kg,
                        u_deg=math.degrees(b.u_rad),
                        after_a_km=oa.a_km if oa else None,
                        after_e=oa.e if oa else None,
                        after_i_deg=math.degrees(oa.inc_rad) if oa else None,
                        after_raan_deg=math.degrees(oa.raan_rad) if oa else None,
                        after_u_deg=math.degrees(oa.u_rad) if oa else None,
                        impulsive_ok=b.impulsive_ok,
                    )
                )
        return rows

    def legs_frame(self):
        """One row per leg as a :class:`pandas.DataFrame`: :meth:`leg_rows` under the columns
        of ``legs.csv`` (:data:`LEG_COLUMNS`; ``start_utc``/``end_utc`` as UTC timestamps)."""
        import pandas as pd

        frame = pd.DataFrame(self.leg_rows(), columns=list(LegRow._fields))
        frame.columns = list(LEG_COLUMNS)
        for column in ("start_utc", "end_utc"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def burns_frame(self):
        """One row per burn as a :class:`pandas.DataFrame`: :meth:`burn_rows` under the
        columns of ``burns.csv`` (``epoch_utc`` as a UTC timestamp)."""
        import pandas as pd

        frame = pd.DataFrame(self.burn_rows(), columns=list(BURN_COLUMNS))
        frame["epoch_utc"] = pd.to_datetime(frame["epoch_utc"], utc=True)
        return frame

    def _repr_html_(self) -> str:
        """The plan as an HTML summary and legs table (Jupyter's rich display)."""
        from html import escape

        sc = self.scenario
        usable = sc.tug.propellant_kg - sc.tug.reserve_kg
        status = "feasible" if self.feasible else "<b>NOT feasible</b> (best partial plan)"
        lines = [
            f"<p><b>{escape(sc.name)}</b>: {status}, objective {escape(self.objective)}; "
            f"delivered {len(self.delivered)} of {len(sc.payloads)} payloads in "
            f"{self.duration_s / 86400.0:.2f} d; total delta-v "
            f"{self.total_dv_kms * 1000.0:,.1f} m/s; propellant used "
            f"{self.propellant_used_kg:,.2f} kg of {usable:,.2f} kg usable (margin "
            f"{self.propellant_margin_kg:,.2f} kg above the reserve)</p>"
        ]
        if not self.feasible:
            lines.append(
                "<p>undelivered: "
                + escape(", ".join(self.undelivered) or "-")
                + f"; shortfall {self.shortfall_propellant_kg:,.2f} kg of propellant, "
                f"{self.shortfall_time_s / 86400.0:,.2f} d of time</p>"
            )
        head = (
            "#",
            "from",
            "to",
            "strategy",
            "start (UTC)",
            "duration d",
            "delta-v m/s",
            "propellant kg",
            "mass after kg",
        )
        lines.append(
            "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
        )
        for leg in self.legs:
            start = self._utc(leg.t_start_s)
            cells = (
                str(leg.index),
                escape(leg.origin),
                escape(leg.destination),
                escape(leg.strategy),
                start.strftime("%Y-%m-%d %H:%M") if start else "-",
                f"{leg.duration_s / 86400.0:.2f}",
                f"{leg.dv_kms * 1000.0:,.1f}",
                f"{leg.propellant_kg:,.2f}",
                f"{leg.mass_after_kg:,.1f}",
            )
            lines.append(
                "<tr>"
                + "".join(
                    f'<td style="text-align:{"left" if k < 5 else "right"}">{c}</td>'
                    for k, c in enumerate(cells)
                )
                + "</tr>"
            )
        lines.append("</tbody></table>")
        if self.warnings:
            lines.append(
                "<ul>" + "".join(f"<li>warning: {escape(w)}</li>" for w in self.warnings) + "</ul>"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class TugPlan:
    """One tug's part of a fleet plan: ``plan`` is the single-tug plan of its own scenario (the
    tug, the payloads assigned to it, its drop-off, and as epoch the time it starts,
    ``start_s`` after the fleet scenario's epoch)."""

    tug: str
    start_s: float
    plan: Plan

    @property
    def end_s(self) -> float:
        """When its mission ends [s after the fleet scenario's epoch]."""
        return self.start_s + self.plan.duration_s


@dataclass(frozen=True)
class FleetPlan:
    """The fleet solver's answer: which payloads fly on which tug, and each tug's plan.

    ``tugs`` holds the tugs that fly (a tug given no payload stays on the ground and is not
    listed). ``feasible`` when every payload is assigned and every tug's plan is feasible;
    otherwise ``unassigned`` names the payloads no tug can take in the best partial
    assignment found, and ``infeasible_reasons`` says what each would need.
    ``exact``: the assignment was proven best over every assignment (every subset of the
    manifest planned for every tug) and every tug's plan is exact; ``lower_bound_propellant_kg``
    bounds the total propellant of any assignment from below (the same partition over the
    tug plans' own lower bounds; for the heuristic, over bounds of every subset made without
    planning, up to 14 payloads). ``tugs_needed``: for each tug, how many copies of it
    alone would close the manifest (None when no number of them does, or when it was not
    computed: only the exact method computes it).
    """

    scenario: Scenario
    objective: str
    feasible: bool
    tugs: tuple[TugPlan, ...]
    unassigned: tuple[str, ...]
    exact: bool
    method: str
    lower_bound_propellant_kg: float | None = None
    tugs_needed: tuple[tuple[str, int | None], ...] = ()
    infeasible_reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    solver_stats: tuple[tuple[str, float], ...] = ()
    #: wall-clock time the solver took [s]; not written to plan files
    solve_time_s: float = field(default=0.0, compare=False, metadata={"transient": True})

    @property
    def propellant_used_kg(self) -> float:
        """Propellant burnt by every tug [kg]."""
        return sum(t.plan.propellant_used_kg for t in self.tugs)

    @property
    def total_dv_kms(self) -> float:
        """Delta-v of every tug [km/s]."""
        return sum(t.plan.total_dv_kms for t in self.tugs)

    @property
    def propellant_remaining_kg(self) -> float:
        """Propellant left in the tugs flown, reserves included [kg]."""
        return sum(t.plan.propellant_remaining_kg for t in self.tugs)

    @property
    def propellant_margin_kg(self) -> float:
        """Propellant left above the reserves of the tugs flown [kg]."""
        return sum(t.plan.propellant_margin_kg for t in self.tugs)

    @property
    def final_mass_kg(self) -> float:
        """Mass of the tugs flown at their ends [kg]."""
        return sum(t.plan.final_mass_kg for t in self.tugs)

    @property
    def duration_s(self) -> float:
        """The fleet's mission: from the epoch to the last tug's end [s] (``makespan_s``)."""
        return self.makespan_s

    @property
    def legs(self) -> tuple[Leg, ...]:
        """Every tug's legs, tug after tug (each tug's times from its own start)."""
        return tuple(leg for t in self.tugs for leg in t.plan.legs)

    @property
    def shortfall_propellant_kg(self) -> float:
        """Propellant the tugs flown lack for their own payloads [kg] (0 when feasible)."""
        return sum(t.plan.shortfall_propellant_kg for t in self.tugs)

    @property
    def shortfall_time_s(self) -> float:
        """The largest time shortfall of a tug flown [s]."""
        return max((t.plan.shortfall_time_s for t in self.tugs), default=0.0)

    @property
    def makespan_s(self) -> float:
        """When the last tug's mission ends [s after the epoch] (0 when no tug flies)."""
        return max((t.end_s for t in self.tugs), default=0.0)

    @property
    def delivered(self) -> tuple[str, ...]:
        """Payloads delivered, in the manifest's order."""
        got = {name for t in self.tugs for name in t.plan.delivered}
        return tuple(p.name for p in self.scenario.payloads if p.name in got)

    @property
    def undelivered(self) -> tuple[str, ...]:
        """Payloads not delivered, in the manifest's order."""
        got = set(self.delivered)
        return tuple(p.name for p in self.scenario.payloads if p.name not in got)

    @property
    def assignment(self) -> dict[str, str]:
        """Payload name -> the tug it flies on."""
        return {p.name: t.tug for t in self.tugs for p in t.plan.scenario.payloads}

    @property
    def optimality_gap(self) -> float | None:
        """(used - lower bound) / used over the fleet, or None without a bound."""
        lb = self.lower_bound_propellant_kg
        if lb is None:
            return None
        used = self.propellant_used_kg
        return max(used - lb, 0.0) / used if used > 0 else 0.0


# --------------------------------------------------------------------------------------------
# Plain-data round trip (JSON-ready dicts) for every dataclass above
# --------------------------------------------------------------------------------------------


def to_data(obj):
    """Convert a model object into JSON-ready data (dicts, lists, floats, str, None)."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_data(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not f.metadata.get("transient")
            and not (f.metadata.get("omit_none") and getattr(obj, f.name) is None)
        }
    if isinstance(obj, (list, tuple)):
        return [to_data(x) for x in obj]
    if isinstance(obj, _dt.datetime):
        from otvplan.core.timeutil import format_utc

        return format_utc(obj) if obj.microsecond % 1000 == 0 else obj.isoformat()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def from_data(cls, data):
    """Rebuild a model object of type ``cls`` from :func:`to_data` output."""
    import dataclasses
    import types
    import typing

    hints = typing.get_type_hints(cls)

    def build(tp, value):
        if value is None:
            return None
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            return build(inner[0], value) if len(inner) == 1 else value
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(build(args[0], v) for v in value)
            return tuple(build(a, v) for a, v in zip(args, value))
        if origin is typing.Literal:
            return value
        if dataclasses.is_dataclass(tp):
            return from_data(tp, value)
        if tp is _dt.datetime:
            from otvplan.core.timeutil import parse_utc

            return parse_utc(value)
        if tp is float:
            if isinstance(value, str):
                return float(value)
            return float(value)
        return value

    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = build(hints[f.name], data[f.name])
    return cls(**kwargs)
