"""Rocket equation and burn durations: plain functions on floats and NumPy arrays.

Core units: km/s for delta-v, kg for mass, s for Isp and time, N for thrust. Isp is converted to
an effective exhaust velocity with standard gravity g0 (:data:`otvplan.constants.G0_M_S2`).
Source: Tsiolkovsky's rocket equation, Curtis eq. 11.30 (dv = g0 Isp ln m0/mf).

The checked functions validate their inputs and raise :class:`otvplan.errors.PhysicsError`;
:func:`mass_after` and :func:`thrust_arc_time` are the same formulas unchecked, for the
planner's vectorised inner loops (one home for the rocket equation in every layer).
"""

from __future__ import annotations

from typing import overload

import numpy as np

from otvplan.constants import G0_KM_S2, G0_M_S2
from otvplan.core.orbits import ArrayLike, FloatArray, FloatOrArray, _out, check_positive
from otvplan.errors import PhysicsError


def exhaust_velocity(isp_s: ArrayLike, g0_km_s2: float = G0_KM_S2) -> FloatOrArray:
    """Effective exhaust velocity g0 * Isp [km/s] for a specific impulse [s]."""
    return _out(g0_km_s2 * check_positive("specific impulse isp_s", isp_s))


def _check_dv(dv: ArrayLike) -> FloatArray:
    dv = np.asarray(dv, dtype=float)
    if not np.all(dv >= 0.0) or not np.all(np.isfinite(dv)):
        raise PhysicsError("delta-v must be finite and >= 0 km/s")
    return dv


def propellant_for_dv(
    dv_kms: ArrayLike, m0_kg: ArrayLike, isp_s: ArrayLike, g0_km_s2: float = G0_KM_S2
) -> FloatOrArray:
    """Propellant [kg] burnt to give ``dv_kms`` starting at total mass ``m0_kg``.

    Rocket equation (Curtis eq. 11.30): m_p = m0 (1 - exp(-dv / (g0 Isp))).
    """
    dv = _check_dv(dv_kms)
    m0 = check_positive("initial mass m0_kg", m0_kg)
    ve = g0_km_s2 * check_positive("specific impulse isp_s", isp_s)
    return _out(m0 * -np.expm1(-dv / ve))


def dv_from_propellant(
    mp_kg: ArrayLike, m0_kg: ArrayLike, isp_s: ArrayLike, g0_km_s2: float = G0_KM_S2
) -> FloatOrArray:
    """Delta-v [km/s] from burning ``mp_kg`` of propellant out of a total mass ``m0_kg``.

    Rocket equation (Curtis eq. 11.30): dv = g0 Isp ln(m0 / (m0 - m_p)).
    """
    m0 = check_positive("initial mass m0_kg", m0_kg)
    mp = np.asarray(mp_kg, dtype=float)
    if not np.all((mp >= 0.0) & (mp < m0)):
        raise PhysicsError("propellant burnt must be >= 0 and less than the initial mass")
    ve = g0_km_s2 * check_positive("specific impulse isp_s", isp_s)
    return _out(-ve * np.log1p(-mp / m0))


def mass_ratio(dv_kms: ArrayLike, isp_s: ArrayLike, g0_km_s2: float = G0_KM_S2) -> FloatOrArray:
    """Initial-to-final mass ratio exp(dv / (g0 Isp)) for a delta-v [km/s] (Curtis eq. 11.30)."""
    dv = _check_dv(dv_kms)
    ve = g0_km_s2 * check_positive("specific impulse isp_s", isp_s)
    return _out(np.exp(dv / ve))


def burn_duration(
    mp_kg: ArrayLike, thrust_n: ArrayLike, isp_s: ArrayLike, g0_m_s2: float = G0_M_S2
) -> FloatOrArray:
    """Time [s] to burn ``mp_kg`` at constant thrust: t = m_p g0 Isp / F (mass flow F/(g0 Isp))."""
    mp = np.asarray(mp_kg, dtype=float)
    if not np.all(mp >= 0.0):
        raise PhysicsError("propellant mass must be >= 0 kg")
    thrust = check_positive("thrust_n", thrust_n)
    isp = check_positive("specific impulse isp_s", isp_s)
    return _out(mp * g0_m_s2 * isp / thrust)


# mass_after and thrust_arc_time skip _out (inner loops): floats in give a (NumPy) float out,
# any array in gives an array of the broadcast shape. The overloads say so case by case (all
# floats; else an array in some place), so that an array caller gets an array type back.
@overload
def mass_after(m0_kg: float, dv_kms: float, ve_kms: float) -> float: ...
@overload
def mass_after(m0_kg: FloatArray, dv_kms: FloatOrArray, ve_kms: FloatOrArray) -> FloatArray: ...
@overload
def mass_after(m0_kg: FloatOrArray, dv_kms: FloatArray, ve_kms: FloatOrArray) -> FloatArray: ...
@overload
def mass_after(m0_kg: FloatOrArray, dv_kms: FloatOrArray, ve_kms: FloatArray) -> FloatArray: ...
def mass_after(m0_kg: FloatOrArray, dv_kms: FloatOrArray, ve_kms: FloatOrArray) -> FloatOrArray:
    """Mass [kg] after a delta-v [km/s] at exhaust velocity ``ve_kms``: m0 exp(-dv / ve)
    (Curtis eq. 11.30). Unchecked (arrays broadcast): for inner loops on validated inputs."""
    return m0_kg * np.exp(-dv_kms / ve_kms)


@overload
def thrust_arc_time(dv_kms: float, m0_kg: float, ve_kms: float, thrust_n: float) -> float: ...
@overload
def thrust_arc_time(
    dv_kms: FloatArray, m0_kg: FloatOrArray, ve_kms: FloatOrArray, thrust_n: FloatOrArray
) -> FloatArray: ...
@overload
def thrust_arc_time(
    dv_kms: FloatOrArray, m0_kg: FloatArray, ve_kms: FloatOrArray, thrust_n: FloatOrArray
) -> FloatArray: ...
@overload
def thrust_arc_time(
    dv_kms: FloatOrArray, m0_kg: FloatOrArray, ve_kms: FloatArray, thrust_n: FloatOrArray
) -> FloatArray: ...
@overload
def thrust_arc_time(
    dv_kms: FloatOrArray, m0_kg: FloatOrArray, ve_kms: FloatOrArray, thrust_n: FloatArray
) -> FloatArray: ...
def thrust_arc_time(
    dv_kms: FloatOrArray, m0_kg: FloatOrArray, ve_kms: FloatOrArray, thrust_n: FloatOrArray
) -> FloatOrArray:
    """Time [s] of a constant-thrust arc giving ``dv_kms`` from mass ``m0_kg``:
    (m0 ve / F)(1 - exp(-dv/ve)) (see :func:`low_thrust_time`; ``ve_kms`` in km/s, ``thrust_n``
    in N). Unchecked: for inner loops on validated inputs."""
    return m0_kg * ve_kms * 1000.0 / thrust_n * -np.expm1(-np.asarray(dv_kms) / ve_kms)


def low_thrust_time(
    dv_kms: ArrayLike,
    m0_kg: ArrayLike,
    thrust_n: ArrayLike,
    isp_s: ArrayLike,
    g0_km_s2: float = G0_KM_S2,
) -> FloatOrArray:
    """Time of flight [s] to accumulate ``dv_kms`` at constant thrust with mass flow.

    With mass flow mdot = F / ve the mass falls linearly, and integrating dv = F/m dt gives
    t = (m0 ve / F) (1 - exp(-dv/ve)) (Curtis sec. 11.5; the constant-acceleration value dv m0/F
    is its small-dv limit). ``thrust_n`` in N, so ve is taken in m/s here.
    """
    dv = _check_dv(dv_kms)
    m0 = check_positive("initial mass m0_kg", m0_kg)
    thrust = check_positive("thrust_n", thrust_n)
    ve_kms = g0_km_s2 * check_positive("specific impulse isp_s", isp_s)
    return _out(thrust_arc_time(dv, m0, ve_kms, thrust))
