"""The leg model's inputs: the orbits of a problem as arrays (:class:`Nodes`), the engines and
grids (:class:`LegContext`), and the codes that name each leg option (strategy and phasing
variant). Core units: km, s, rad, kg."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from otvplan.constants import (
    G0_KM_S2,
    J2_EARTH,
    MU_EARTH_KM3_S2,
    R_EARTH_KM,
    SECONDS_PER_DAY,
)
from otvplan.core.orbits import TWO_PI, argument_of_latitude_rate, raan_rate
from otvplan.model import Scenario

#: Below this plane angle [rad] two orbits count as coplanar (burns may go anywhere).
COPLANAR_RAD = 1e-9
#: Eccentricity under which an orbit is treated as circular for burn placement.
CIRCULAR_E = 1e-3
#: Most drift durations the general search offers per leg (``solver.drift_grid`` is capped
#: here: each one multiplies the labels of a layer).
MAX_DRIFT_GRID = 64
#: Lowest perigee altitude [km] a few-revolution phasing orbit may dip to.
MIN_PHASING_PERIGEE_ALT_KM = 200.0

# Base strategy codes
DIRECT, DRIFT, SPIRAL, SPIRAL_DRIFT, STAY = 0, 1, 2, 3, 4
STRATEGY_NAMES = {
    DIRECT: "direct",
    DRIFT: "drift",
    SPIRAL: "spiral",
    SPIRAL_DRIFT: "spiral-drift",
    STAY: "stay",
}
# Phasing variant codes
NO_PHASING, WAIT_PHASE, PHASE_LOW, PHASE_HIGH, PHASE_LOW_M, PHASE_HIGH_M = 0, 1, 2, 3, 4, 5
PHASING_VARIANTS = (PHASE_LOW, PHASE_HIGH, PHASE_LOW_M, PHASE_HIGH_M)


@dataclass(frozen=True)
class Nodes:
    """The orbits of a sequencing problem as arrays: index 0 is the drop-off orbit,
    1..n the payload targets. ``raan0``/``slot0`` are NaN where free; angles at the epoch."""

    names: tuple[str, ...]
    a: np.ndarray
    e: np.ndarray
    i: np.ndarray
    argp: np.ndarray
    raan0: np.ndarray
    slot0: np.ndarray
    raan_rate: np.ndarray
    u_rate: np.ndarray
    mass: np.ndarray
    deadline: np.ndarray
    priority: np.ndarray
    raan_tol: np.ndarray
    slot_tol: np.ndarray

    @property
    def n(self) -> int:
        return len(self.names)


def nodes_from_scenario(sc: Scenario, mu=MU_EARTH_KM3_S2, r_eq=R_EARTH_KM, j2=J2_EARTH) -> Nodes:
    """Build the :class:`Nodes` table of a scenario (drop-off first, then payloads in order)."""
    specs = [sc.dropoff] + [p.target for p in sc.payloads]
    a = np.array([s.a_km for s in specs])
    e = np.array([s.e for s in specs])
    i = np.array([s.inc_rad for s in specs])
    nan = float("nan")
    raan0 = np.array([nan if s.raan_rad is None else s.raan_rad for s in specs])
    slot0 = np.array([nan if s.slot_rad is None else s.slot_rad for s in specs])
    slot0[0] = 0.0 if math.isnan(slot0[0]) else slot0[0]
    if math.isnan(raan0[0]):
        raan0[0] = 0.0
    return Nodes(
        names=tuple(["drop-off"] + [p.name for p in sc.payloads]),
        a=a,
        e=e,
        i=i,
        argp=np.array([s.argp_rad for s in specs]),
        raan0=raan0,
        slot0=slot0,
        raan_rate=np.asarray(raan_rate(a, e, i, mu, r_eq, j2), float),
        u_rate=np.asarray(argument_of_latitude_rate(a, e, i, mu, r_eq, j2), float),
        mass=np.array([0.0] + [p.mass_kg for p in sc.payloads]),
        deadline=np.array(
            [np.inf] + [np.inf if p.deliver_by_s is None else p.deliver_by_s for p in sc.payloads]
        ),
        priority=np.array([0] + [p.priority for p in sc.payloads]),
        raan_tol=np.array([s.tolerances.raan_rad for s in specs]),
        slot_tol=np.array([s.tolerances.slot_rad for s in specs]),
    )


@dataclass(frozen=True)
class EngineSpec:
    name: str
    isp_s: float
    thrust_n: float

    @property
    def ve_kms(self) -> float:
        return G0_KM_S2 * self.isp_s


@dataclass(frozen=True)
class LegContext:
    """Everything :func:`expand` needs besides the states: engines, grids and limits."""

    chemical: EngineSpec | None
    electric: EngineSpec | None
    drift_durations_s: np.ndarray
    phasing_revs: np.ndarray
    a_drift_min: float
    a_drift_max: float
    horizon_s: float
    mu: float = MU_EARTH_KM3_S2
    r_eq: float = R_EARTH_KM
    j2: float = J2_EARTH
    #: (radius [km], direction) of the drift orbit to use instead of searching for the
    #: cheapest one (a plan rebuilt from leg tables flies the orbit its table found)
    fixed_drift: tuple[float, float] | None = None


def context_from_scenario(sc: Scenario) -> LegContext:
    """Choose the engines and the drift/phasing grids for a scenario."""
    chem = [e for e in sc.tug.engines if e.kind == "chemical"]
    elec = [e for e in sc.tug.engines if e.kind == "electric"]
    best_chem = max(chem, key=lambda e: (e.isp_s, e.thrust_n)) if chem else None
    best_elec = max(elec, key=lambda e: (e.thrust_n / e.isp_s, e.isp_s)) if elec else None
    horizon = sc.constraints.max_duration_s
    if horizon is None:
        deadlines = [p.deliver_by_s for p in sc.payloads if p.deliver_by_s is not None]
        horizon = max(deadlines) if deadlines else 365.0 * SECONDS_PER_DAY
    horizon = min(float(horizon), 3.0 * 365.0 * SECONDS_PER_DAY)
    n_grid = min(max(1, sc.solver.drift_grid), MAX_DRIFT_GRID)
    lo = min(2.0 * SECONDS_PER_DAY, 0.5 * horizon)
    durations = (
        np.geomspace(lo, max(horizon, lo * 1.0001), n_grid) if n_grid > 1 else np.array([horizon])
    )
    k_max = sc.solver.max_phasing_revs
    if k_max <= 0:  # automatic: phasing may take up to the whole horizon
        specs = [p.target for p in sc.payloads] + [sc.dropoff]
        fastest = max(math.sqrt(MU_EARTH_KM3_S2 / s.a_km**3) for s in specs)
        k_max = int(min(5000, max(1, horizon * fastest / TWO_PI)))
    revs = np.unique(np.round(np.geomspace(1, max(1, k_max), 12)).astype(int))
    return LegContext(
        chemical=None
        if best_chem is None
        else EngineSpec(best_chem.name, best_chem.isp_s, best_chem.thrust_n),
        electric=None
        if best_elec is None
        else EngineSpec(best_elec.name, best_elec.isp_s, best_elec.thrust_n),
        drift_durations_s=durations,
        phasing_revs=revs.astype(float),
        a_drift_min=R_EARTH_KM + sc.constraints.min_drift_altitude_km,
        a_drift_max=R_EARTH_KM + sc.constraints.max_drift_altitude_km,
        horizon_s=horizon,
    )


# --------------------------------------------------------------------------------------------
# Building blocks (vectorised over pairs)
# --------------------------------------------------------------------------------------------
