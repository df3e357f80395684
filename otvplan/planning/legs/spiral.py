"""Electric legs: Edelbaum's low-thrust spiral between circular orbits, its duration from the
engine's mass flow, and the J2 motion of the node and the argument of latitude along it."""

from __future__ import annotations

import numpy as np

from otvplan.core import maneuvers as mnv
from otvplan.core.orbits import TWO_PI, plane_angle, secular_rates
from otvplan.core.propulsion import mass_after, thrust_arc_time
from otvplan.planning.legs.context import SPIRAL, EngineSpec, LegContext
from otvplan.planning.legs.options import BaseBlock, SpiralDetail
from otvplan.planning.legs.transfer import Departure, Target

# Gauss-Legendre nodes and weights on [0, 1] for integrating along a spiral.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


def spiral_motion(a0, i0, a1, i1, theta, dv, m0, eng: EngineSpec, ctx: LegContext):
    """Duration [s], node regression and argument-of-latitude advance [rad] of an Edelbaum
    spiral from circular (a0, i0) to (a1, i1) with total plane rotation ``theta``.

    Along Edelbaum's optimal transfer (Kechichian 1997, eqs. 16-17), with s the delta-v spent
    so far and tan b0 = sin(pi/2 theta) / (v0/v1 - cos(pi/2 theta)):
    v(s) = sqrt(v0^2 - 2 v0 s cos b0 + s^2) and the plane has turned by
    phi(s) = 2/pi [atan((s - v0 cos b0)/(v0 sin b0)) + pi/2 - b0]. The inclination is taken
    as i0 + (i1 - i0) phi/theta. With constant thrust F and mass flow, dt/ds = m0 e^(-s/ve)/F.
    The J2 secular rates (:func:`otvplan.core.orbits.secular_rates`) are integrated over s by
    16-point Gauss-Legendre quadrature; vectorised over all arguments.
    """
    mu = ctx.mu
    v0, v1 = np.sqrt(mu / a0), np.sqrt(mu / a1)
    half = 0.5 * np.pi * np.asarray(theta, float)
    b0 = np.arctan2(np.sin(half), v0 / v1 - np.cos(half))
    s = np.asarray(dv, float)[..., None] * _GL_X
    v0e, b0e = np.asarray(v0)[..., None], np.asarray(b0)[..., None]
    v = np.sqrt(np.maximum(v0e**2 - 2.0 * v0e * s * np.cos(b0e) + s * s, 1e-12))
    sb = np.sin(b0e)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(
            sb > 1e-12,
            (2.0 / np.pi) * (np.arctan((s - v0e * np.cos(b0e)) / (v0e * sb)) + 0.5 * np.pi - b0e),
            0.0,
        )
        frac = np.where(
            np.asarray(theta)[..., None] > 1e-12, phi / np.asarray(theta, float)[..., None], _GL_X
        )
    inc = np.asarray(i0)[..., None] + (np.asarray(i1) - np.asarray(i0))[..., None] * frac
    a = mu / (v * v)
    rates = secular_rates(a, 0.0, inc, mu, ctx.r_eq, ctx.j2)
    ve = eng.ve_kms
    dt_ds = np.asarray(m0, float)[..., None] * np.exp(-s / ve) / (eng.thrust_n / 1000.0)
    weight = np.asarray(dv, float)[..., None] * _GL_W * dt_ds
    T = thrust_arc_time(dv, m0, ve, eng.thrust_n)
    d_raan = np.sum(weight * np.asarray(rates.raan), axis=-1)
    d_u = np.sum(weight * (np.asarray(rates.argp) + np.asarray(rates.mean_anomaly)), axis=-1)
    return T, d_raan, d_u


def spiral_block(ctx: LegContext, dep: Departure, tgt: Target, m0) -> BaseBlock:
    """The ``spiral`` option for every pair: Edelbaum's transfer with the plane angle at
    arrival (the target's plane turns during the spiral; fixed-point iterations).

    The iteration need not converge: a large RAAN gap asks for a long spiral, during which
    the differential J2 regression (the spiral rises and falls, Edelbaum's speed dips
    mid-transfer) closes much of the gap, which asks for a short spiral, and so on. An option
    whose plane angle at its own arrival time differs from the angle it was sized for (by
    more than 1e-4 rad and 0.1 %) is not offered: it would be sized for a plane it does not
    reach. (A 15 deg LTAN change at 520 km came out as a 0.33 deg, 71 m/s spiral.)"""
    elec: EngineSpec = ctx.electric
    mu = ctx.mu
    t0, aA, _eA, iA, _argpA, raan0, u0, _rateA, _udotA = dep
    aB, _eB, iB, raanB0z, rateB, raan_free = tgt
    P = aA.size
    T = np.zeros(P)
    d_raan = np.zeros(P)
    theta = np.zeros(P)
    for _ in range(SPIRAL_ITERATIONS):
        rA_end = raan0 + d_raan
        rB_end = np.where(raan_free, rA_end, raanB0z + rateB * (t0 + T))
        theta = np.asarray(plane_angle(iA, rA_end, iB, rB_end), float)
        dv = np.asarray(mnv.edelbaum(aA, aB, theta, mu), float)
        T, d_raan, d_u = spiral_motion(aA, iA, aB, iB, theta, dv, m0, elec, ctx)
    rA_end = raan0 + d_raan
    rB_end = np.where(raan_free, rA_end, raanB0z + rateB * (t0 + T))
    reached = np.asarray(plane_angle(iA, rA_end, iB, rB_end), float)
    valid = np.abs(reached - theta) <= np.maximum(1e-4, 1e-3 * theta)
    m_arr = mass_after(m0, dv, elec.ve_kms)
    u_arr = np.mod(u0 + d_u, TWO_PI)
    dd = SpiralDetail(dv=dv, T=T, theta=theta, raan_end=rB_end)
    return BaseBlock(SPIRAL, -1, dd, dv, t0 + T, rB_end, u_arr, m_arr, valid)


#: Fixed-point iterations of a spiral's plane angle at arrival (:func:`spiral_block`).
SPIRAL_ITERATIONS = 6
