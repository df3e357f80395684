"""Leg strategies: every way the tug can go from one orbit to the next, vectorised.

A *leg* takes the tug from the orbit it is in (the drop-off orbit or the last payload's) to the
next payload's target orbit. :func:`expand` evaluates, for many (tug state, target) pairs at
once, every strategy and returns each option's delta-v, timing and end state; the sequencer
calls it for whole layers of its search, and the plan builder (:mod:`otvplan.planning.build`)
calls it again for the one chosen option of each leg and turns the same numbers into burns, so
the search and the plan can never disagree: options travel between them as typed blocks
(:mod:`~otvplan.planning.legs.options`) named by an :class:`OptionId`.

Strategies (one *base* option, then a *phasing* variant when the target has a slot):

- ``direct``: Hohmann (or apse-to-apse for an elliptic orbit) with the whole plane change -
  inclination and RAAN - split optimally between the two burns, placed on the planes' line of
  intersection (:func:`otvplan.core.maneuvers.hohmann_plane_change`).
- ``drift``: Hohmann to a drift orbit whose differential J2 nodal rate closes the RAAN gap, a
  coast there, then ``direct`` into the target plane (:func:`otvplan.core.maneuvers.cheapest_drift`
  picks the drift orbit for each drift time on a fixed grid).
- ``spiral`` / ``spiral-drift``: the same two for an electric engine, with Edelbaum's
  low-thrust delta-v and the thrust arc's duration from mass flow.
- Phasing variants for a slot: ``wait`` (coplanar legs: wait in the old orbit until the
  transfer arrives on the slot, Vallado Alg. 45) or a phasing orbit of k revolutions below or
  above the target (Vallado Alg. 44), for k on a geometric grid.

All angles are mean elements under first-order secular J2 (Vallado eq. 9-41): each orbit's
RAAN and argument of latitude advance at constant rates, so a RAAN gap between two planes is a
linear function of time. Core units: km, km/s, s, rad, kg.

Modules: :mod:`~.context` (the problem's orbits, engines and grids, the option codes),
:mod:`~.transfer` (direct two-burn transfers), :mod:`~.drift` (J2 drift legs and the
drift-orbit cache), :mod:`~.spiral` (Edelbaum spirals), :mod:`~.phasing` (phasing onto a slot),
:mod:`~.options` (the typed option blocks) and :mod:`~.expand` (all of them for many pairs).
"""

from otvplan.planning.legs.context import (
    CIRCULAR_E,
    COPLANAR_RAD,
    DIRECT,
    DRIFT,
    MAX_DRIFT_GRID,
    MIN_PHASING_PERIGEE_ALT_KM,
    NO_PHASING,
    PHASE_HIGH,
    PHASE_HIGH_M,
    PHASE_LOW,
    PHASE_LOW_M,
    PHASING_VARIANTS,
    SPIRAL,
    SPIRAL_DRIFT,
    STAY,
    STRATEGY_NAMES,
    WAIT_PHASE,
    EngineSpec,
    LegContext,
    Nodes,
    context_from_scenario,
    nodes_from_scenario,
)
from otvplan.planning.legs.drift import DriftCache
from otvplan.planning.legs.expand import expand
from otvplan.planning.legs.options import (
    BaseBlock,
    DirectDetail,
    DriftDetail,
    OptionBlock,
    OptionId,
    Options,
    PhasingDetail,
    SpiralDetail,
    SpiralDriftDetail,
    at,
)
from otvplan.planning.legs.spiral import spiral_motion
from otvplan.planning.legs.transfer import Departure, Target, Transfer, tilt_at_point

__all__ = [
    "CIRCULAR_E",
    "COPLANAR_RAD",
    "DIRECT",
    "DRIFT",
    "MAX_DRIFT_GRID",
    "MIN_PHASING_PERIGEE_ALT_KM",
    "NO_PHASING",
    "PHASE_HIGH",
    "PHASE_HIGH_M",
    "PHASE_LOW",
    "PHASE_LOW_M",
    "PHASING_VARIANTS",
    "SPIRAL",
    "SPIRAL_DRIFT",
    "STAY",
    "STRATEGY_NAMES",
    "WAIT_PHASE",
    "BaseBlock",
    "Departure",
    "DirectDetail",
    "DriftCache",
    "DriftDetail",
    "EngineSpec",
    "LegContext",
    "Nodes",
    "OptionBlock",
    "OptionId",
    "Options",
    "PhasingDetail",
    "SpiralDetail",
    "SpiralDriftDetail",
    "Target",
    "Transfer",
    "at",
    "context_from_scenario",
    "expand",
    "nodes_from_scenario",
    "spiral_motion",
    "tilt_at_point",
]
