"""The data model: frozen dataclasses in core units (km, km/s, s, rad, kg).

A :class:`Scenario` is what a validated scenario file becomes; a :class:`Plan` is the solver's
full answer. Both are plain values: no methods that do I/O, no plotting, no units library.
Quantities with units appear only at the edges (``otvplan.scenario``, ``otvplan.api``,
``otvplan.report``). Orbit elements are *mean* elements (first-order J2 secular theory).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Literal

from .constants import (
    DEFAULT_MAX_DRIFT_ALTITUDE_KM,
    DEFAULT_MIN_DRIFT_ALTITUDE_KM,
    R_EARTH_KM,
)

EngineKind = Literal["chemical", "electric"]
Objective = Literal["propellant", "duration", "pareto"]
DisposalKind = Literal["none", "perigee", "reentry"]


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
    ``sso`` and ``ltan_h`` record how the inclination and RAAN were specified (for reports).
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
    phasing orbit may take; ``beam_width`` the beam of the heuristic.
    """

    objective: Objective = "propellant"
    exact_max_payloads: int = 14
    drift_grid: int = 6
    max_phasing_revs: int = 12
    beam_width: int = 64
    time_limit_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated mission scenario in core units."""

    name: str
    epoch: _dt.datetime
    dropoff: OrbitSpec
    tug: Tug
    payloads: tuple[Payload, ...]
    constraints: Constraints = field(default_factory=Constraints)
    solver: SolverSettings = field(default_factory=SolverSettings)
    description: str = ""
    source: str | None = None

    @property
    def initial_mass_kg(self) -> float:
        """Tug dry mass + propellant loaded + every payload [kg]."""
        return (
            self.tug.dry_mass_kg
            + self.tug.propellant_kg
            + sum(p.mass_kg for p in self.payloads)
        )
