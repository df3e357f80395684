"""Booking a plan's burns: the rocket equation applied burn by burn at the tug's real mass
(:class:`Ledger`), burn vectors in the pre-burn TNW frame, and the mean orbit after a burn.
Shared by the plan builder and the disposal leg. Core units: km, km/s, s, rad, kg."""

from __future__ import annotations

import math

import numpy as np

from otvplan.constants import MU_EARTH_KM3_S2
from otvplan.core.orbits import TWO_PI, rv_to_coe
from otvplan.core.propulsion import mass_after
from otvplan.model import Burn, OrbitState
from otvplan.planning.legs import CIRCULAR_E, EngineSpec


def unit_r(i, raan, u):
    """Unit position vector at argument of latitude u in plane (i, raan)."""
    cO, sO, ci, si, cu, su = (
        math.cos(raan),
        math.sin(raan),
        math.cos(i),
        math.sin(i),
        math.cos(u),
        math.sin(u),
    )
    return np.array([cO * cu - sO * su * ci, sO * cu + cO * su * ci, su * si])


def rotate(vec, axis, angle):
    """Rodrigues rotation of ``vec`` about unit ``axis`` by ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    return vec * c + np.cross(axis, vec) * s + axis * np.dot(axis, vec) * (1.0 - c)


def tilt_to(h, r_hat, inc):
    """Rotate plane normal ``h`` about ``r_hat`` (a point on the equator) to inclination inc."""
    if abs(math.acos(max(-1.0, min(1.0, h[2]))) - inc) < 1e-15:
        return h
    best = None
    for sense in (1.0, -1.0):
        cand = rotate(h, r_hat, sense * abs(math.acos(max(-1.0, min(1.0, h[2]))) - inc))
        err = abs(math.acos(max(-1.0, min(1.0, cand[2]))) - inc)
        if best is None or err < best[0]:
            best = (err, cand)
    return best[1]


def burn_tnw(r_hat, h_before, v_before, h_after, v_after):
    """Delta-v in the pre-burn TNW frame for a burn at an apsis/circular point."""
    t_hat = np.cross(h_before, r_hat)
    w_hat = h_before
    n_hat = np.cross(w_hat, t_hat)
    dv = v_after * np.cross(h_after, r_hat) - v_before * t_hat
    return (float(dv @ t_hat), float(dv @ n_hat), float(dv @ w_hat))


class Ledger:
    """Books burns at the tug's real mass (rocket equation burn by burn)."""

    def __init__(self, m0):
        self.m = m0
        self.burns: list[Burn] = []

    def burn(
        self,
        t,
        dv_tnw,
        eng: EngineSpec,
        u,
        label,
        low_thrust=False,
        duration=None,
        max_impulsive=None,
        orbit_after=None,
    ):
        dv = float(np.linalg.norm(dv_tnw))
        m_before = self.m
        m_after = float(mass_after(m_before, dv, eng.ve_kms))
        prop = m_before - m_after
        if duration is None:
            duration = prop * eng.ve_kms * 1000.0 / eng.thrust_n
        ok = True if low_thrust or max_impulsive is None else duration <= max_impulsive
        self.burns.append(
            Burn(
                t_s=float(t),
                dv_kms=dv,
                dv_tnw_kms=tuple(float(x) for x in dv_tnw),
                engine=eng.name,
                propellant_kg=float(prop),
                mass_before_kg=float(m_before),
                mass_after_kg=float(m_after),
                duration_s=float(duration),
                u_rad=float(np.mod(u, TWO_PI)),
                label=label,
                low_thrust=low_thrust,
                impulsive_ok=ok,
                orbit_after=orbit_after,
            )
        )
        self.m = m_after


def state_after(t, r_vec, v_vec) -> OrbitState:
    """Mean orbit right after an impulsive burn, from the position and new velocity."""
    el = rv_to_coe(r_vec, v_vec)
    e = float(el.e)
    argp = float(el.argp) if e >= CIRCULAR_E else 0.0
    return OrbitState(
        t_s=float(t),
        a_km=float(el.a),
        e=e if e >= 1e-9 else 0.0,
        inc_rad=float(el.i),
        raan_rad=float(el.raan),
        argp_rad=argp,
        u_rad=float(el.u),
    )


def circular_state(t, a, e, i, raan, argp, u) -> OrbitState:
    """The mean orbit (a, e, i, RAAN, argp, u) at time t as an :class:`OrbitState`."""
    return OrbitState(
        t_s=float(t),
        a_km=float(a),
        e=float(e),
        inc_rad=float(i),
        raan_rad=float(np.mod(raan, TWO_PI)),
        argp_rad=float(argp),
        u_rad=float(np.mod(u, TWO_PI)),
    )


def low_thrust_vector(dv, a_from, a_to):
    """Split a low-thrust delta-v into in-plane (T) and out-of-plane (W) parts for reports."""
    dv_t = abs(math.sqrt(MU_EARTH_KM3_S2 / a_from) - math.sqrt(MU_EARTH_KM3_S2 / a_to))
    dv_t = min(dv_t, dv)
    dv_w = math.sqrt(max(dv * dv - dv_t * dv_t, 0.0))
    return np.array([math.copysign(dv_t, a_to - a_from), 0.0, dv_w])
