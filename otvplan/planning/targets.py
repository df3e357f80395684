"""Target orbits carried in time: where a target's RAAN and slot are at a given moment (no I/O).

Every orbit of a scenario is given at its epoch; the RAAN and the slot (argument of latitude)
then move at the planning model's secular J2 rates. This is the one definition of "the target
at time t" used by the planner (a tug that starts later than the epoch), the verification (the
target at the release time), the report and the planes figure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from otvplan.core.orbits import TWO_PI, argument_of_latitude_rate, raan_rate
from otvplan.model import OrbitSpec


class TargetAt(NamedTuple):
    """Where a target orbit's free-moving angles are at a time: RAAN and slot (argument of
    latitude) [rad, 0..2pi), each None when the scenario leaves it free. Floats for a scalar
    time, arrays of its shape for an array of times."""

    raan_rad: float | np.ndarray | None
    slot_rad: float | np.ndarray | None


def target_at(spec: OrbitSpec, t_s) -> TargetAt:
    """A target's RAAN and slot carried from the epoch to ``t_s`` [s] (scalar or array).

    Both advance at the planning model's secular J2 rates: the RAAN at
    :func:`otvplan.core.orbits.raan_rate`, the slot at
    :func:`otvplan.core.orbits.argument_of_latitude_rate` (both :func:`secular_rates`).
    """
    t = np.asarray(t_s, dtype=float)

    def carried(angle0, rate):
        if angle0 is None:
            return None
        x = np.mod(angle0 + rate * t, TWO_PI)
        return float(x) if x.ndim == 0 else x

    return TargetAt(
        carried(spec.raan_rad, raan_rate(spec.a_km, spec.e, spec.inc_rad)),
        carried(spec.slot_rad, argument_of_latitude_rate(spec.a_km, spec.e, spec.inc_rad)),
    )


def spec_at(spec: OrbitSpec, t_s: float) -> OrbitSpec:
    """The orbit ``spec`` (given at the epoch) as given at ``t_s`` [s] after it: its RAAN and
    slot carried by :func:`target_at`; everything else (an LTAN, constant for a
    sun-synchronous orbit in the mean-sun model, included) unchanged."""
    if t_s == 0.0:
        return spec
    at = target_at(spec, float(t_s))  # a scalar time: floats (or None)
    raan = None if at.raan_rad is None else float(at.raan_rad)
    slot = None if at.slot_rad is None else float(at.slot_rad)
    return replace(spec, raan_rad=raan, slot_rad=slot)


__all__ = ["TargetAt", "spec_at", "target_at"]
