"""Numerical orbit propagation for verification: Cowell's method, zonal gravity, drag, thrust.

The force model is two-body plus the zonal harmonics J2 (default), J3 and J4 about the z axis
of otvplan's inertial frame (the mean equator and equinox of the scenario epoch, where the
zonal field is axially symmetric about z), optionally atmospheric drag from an exponential
atmosphere, and optionally a constant-thrust low-thrust arc. The state vector is
``[x, y, z, vx, vy, vz, m]`` in km, km/s and kg. Integration is DOP853 (Hairer, Norsett and
Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., sec. II.10) through SciPy or
compiled (``backend="compiled"``), one segment between events at a time; impulsive burns are
applied between segments as instantaneous velocity changes (:func:`tnw_to_inertial`).

The right-hand side used inside SciPy's integrators is plain Python on floats (``math`` only,
no NumPy, astropy or boinor): each call costs a couple of microseconds, which matters because a
150-day LEO mission takes about a million calls. ``backend="compiled"`` runs the same
right-hand side (the same operations in the same order) and the stepper of SciPy's
``ode("dop853")`` compiled by numba, cached on disk (:mod:`otvplan.flight.dop853`): it takes
the same steps and gives the same states as ``backend="ode"``, for about 1 % of the cost (the
first call in a process loads numba and the cache, about 0.6 s; without a cache it compiles,
about 10 s). :func:`acceleration` is the same force model vectorised over arrays of states,
used by tests and for checking.

Mean elements
-------------
The planner speaks mean elements that drift at secular J2 rates (Vallado, *Fundamentals of
Astrodynamics and Applications*, 4th ed., eq. 9-41, plus Brouwer's J2^2 terms:
:func:`otvplan.core.orbits.secular_rates`). :func:`mean_elements` obtains them from a
numerically propagated trajectory by averaging the osculating elements over one draconic
period (one turn of the argument of latitude), which removes every short-period term that is
periodic in the argument of latitude; the averaged quantities are the nonsingular equinoctial
elements a, h = e sin(w + W), k = e cos(w + W), p = tan(i/2) sin W, q = tan(i/2) cos W and the
unwrapped mean longitude L = W + w + M, so near-circular and near-equatorial orbits average
smoothly. The secular drift over the window is removed to refer the result to any epoch.
:func:`osculating_from_mean` inverts the averaging by fixed-point iteration.

Units: km, km/s, s, rad, kg; thrust in N, areas in m^2, densities in kg/m^3.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from otvplan.constants import (
    G0_KM_S2,
    J2_EARTH,
    J3_EARTH,
    J4_EARTH,
    MU_EARTH_KM3_S2,
    OMEGA_EARTH_RAD_S,
    R_EARTH_KM,
)
from otvplan.core.atmosphere import (
    BASE_ALTITUDE_KM,
    BASE_DENSITY_KG_M3,
    EXPONENTIAL_ATMOSPHERE,
    SCALE_HEIGHT_KM,
)
from otvplan.core.atmosphere import density as density_exponential
from otvplan.core.orbits import (
    TWO_PI,
    mean_to_true_anomaly,
    rv_to_coe,
    secular_rates,
    true_to_mean_anomaly,
)
from otvplan.flight import dop853
from otvplan.flight.dop853 import (
    ACCELERATE_ENV,
    _compiled_kernel,
    _propagate_compiled,
    accelerated,
)
from otvplan.model import OrbitState

#: Relative tolerance of the integrator (DOP853's error estimate per step).
RTOL = 1e-10
#: Absolute tolerances for [position km, velocity km/s, mass kg]: 1 micrometre, 1 nm/s, 1 ug.
ATOL_KM = 1e-9
ATOL_KMS = 1e-12
ATOL_KG = 1e-9

#: Intervals shorter than this [s] are bridged by one Taylor step instead of the integrator
#: (plans carry events a few microseconds apart from rounding).
SHORT_STEP_S = 1e-3

Backend = Literal["solve_ivp", "ode", "compiled"]

# --------------------------------------------------------------------------------------------
# Force model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForceModel:
    """What acts on the tug besides thrust.

    ``zonal``: highest zonal harmonic, 0 (two-body), 2 (J2, default), 3 (J2, J3) or 4
    (J2-J4). ``drag``: exponential atmosphere (Vallado Table 8-4) rotating with the Earth at
    ``earth_rate_rad_s``, altitude above a spherical Earth of radius ``r_eq_km``, with the
    tug's ``area_m2`` and ``drag_coefficient`` (its mass comes from the state vector).
    """

    zonal: int = 2
    drag: bool = False
    area_m2: float = 1.0
    drag_coefficient: float = 2.2
    mu_km3_s2: float = MU_EARTH_KM3_S2
    r_eq_km: float = R_EARTH_KM
    j2: float = J2_EARTH
    j3: float = J3_EARTH
    j4: float = J4_EARTH
    earth_rate_rad_s: float = OMEGA_EARTH_RAD_S

    def __post_init__(self):
        if self.zonal not in (0, 2, 3, 4):
            raise ValueError(f"zonal must be 0, 2, 3 or 4, got {self.zonal!r}")

    def describe(self) -> str:
        """A one-line description for reports (``two-body + J2 + drag``)."""
        parts = ["two-body"]
        if self.zonal >= 2:
            parts.append("+ " + "/".join(f"J{n}" for n in range(2, self.zonal + 1)))
        if self.drag:
            parts.append(
                f"+ drag (exponential atmosphere, Cd {self.drag_coefficient:g}, "
                f"A {self.area_m2:g} m2)"
            )
        return " ".join(parts)


def acceleration(r_km, v_kms=None, m_kg=None, force: ForceModel = ForceModel()):
    """Gravitational (and drag) acceleration [km/s^2], vectorised over (..., 3) arrays.

    Zonal terms from the gradient of U = mu/r [1 - sum_n J_n (R/r)^n P_n(z/r)] (Vallado eq.
    8-19 with the zonal terms only; the J2-J4 component forms are Vallado eq. 8-30 and the
    standard expansions, checked against a finite-difference gradient of U in the tests).
    Drag needs ``v_kms`` and ``m_kg``: a = -1/2 Cd (A/m) rho |v_rel| v_rel with
    v_rel = v - omega x r (Vallado eq. 8-33/8-34).
    """
    r = np.asarray(r_km, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    mu, re = force.mu_km3_s2, force.r_eq_km
    k = mu / (r2 * rn)
    ax, ay, az = -k * x, -k * y, -k * z
    s = z / rn
    s2 = s * s
    if force.zonal >= 2:
        f = 1.5 * force.j2 * mu * re**2 / (r2 * r2 * rn)
        ax = ax - f * x * (1.0 - 5.0 * s2)
        ay = ay - f * y * (1.0 - 5.0 * s2)
        az = az - f * z * (3.0 - 5.0 * s2)
    if force.zonal >= 3:
        f = 2.5 * force.j3 * mu * re**3 / (r2 * r2 * r2)
        ax = ax - f * x * (3.0 * s - 7.0 * s2 * s)
        ay = ay - f * y * (3.0 * s - 7.0 * s2 * s)
        az = az - f * rn * (6.0 * s2 - 7.0 * s2 * s2 - 0.6)
    if force.zonal >= 4:
        f = 1.875 * force.j4 * mu * re**4 / (r2 * r2 * r2 * rn)
        ax = ax + f * x * (1.0 - 14.0 * s2 + 21.0 * s2 * s2)
        ay = ay + f * y * (1.0 - 14.0 * s2 + 21.0 * s2 * s2)
        az = az + f * z * (5.0 - 70.0 / 3.0 * s2 + 21.0 * s2 * s2)
    acc = np.stack([ax, ay, az], -1)
    if force.drag:
        if v_kms is None or m_kg is None:
            raise ValueError("drag needs the velocity and the mass")
        v = np.asarray(v_kms, dtype=float)
        w = force.earth_rate_rad_s
        vrel = v - np.stack([-w * y, w * x, np.zeros_like(x)], -1)
        vr = np.linalg.norm(vrel, axis=-1, keepdims=True)
        rho = np.asarray(density_exponential(rn - re))[..., None]
        bc = 0.5 * force.drag_coefficient * force.area_m2 / np.asarray(m_kg, float)[..., None]
        acc = acc - 1e3 * bc * rho * vr * vrel
    return acc


def gravity_potential(r_km, force: ForceModel = ForceModel()):
    """Gravitational potential U [km^2/s^2] of the zonal model (positive, U = mu/r + ...)."""
    r = np.asarray(r_km, dtype=float)
    rn = np.linalg.norm(r, axis=-1)
    s = r[..., 2] / rn
    q = force.r_eq_km / rn
    total = 1.0
    if force.zonal >= 2:
        total = total - force.j2 * q**2 * 0.5 * (3.0 * s**2 - 1.0)
    if force.zonal >= 3:
        total = total - force.j3 * q**3 * 0.5 * (5.0 * s**3 - 3.0 * s)
    if force.zonal >= 4:
        total = total - force.j4 * q**4 * (35.0 * s**4 - 30.0 * s**2 + 3.0) / 8.0
    return force.mu_km3_s2 / rn * total


# --------------------------------------------------------------------------------------------
# Low-thrust steering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrustArc:
    """A constant-thrust arc with Edelbaum's yaw steering.

    Thrust ``thrust_n`` [N] with mass flow F / (g0 Isp). The direction is
    d = cos(beta) T + sin(beta) sgn(cos(u - u_axis)) W, with T the unit velocity, W the unit
    angular momentum and u the osculating argument of latitude. The out-of-plane part flips
    sign 90 deg away from the line ``u_axis`` about which the plane is to rotate (for a pure
    inclination change u_axis = 0: flips at the antinodes, u = 90 and 270 deg), so it turns the
    plane about that line and its effect on the perpendicular axis averages out over a turn.
    The yaw follows Edelbaum's optimal law for circle-to-circle transfers,
    tan(beta) = v0 sin(beta0) / (v0 cos(beta0) - dv_spent), where dv_spent = ve ln(m0 / m)
    (Edelbaum, ARS Journal 31, 1961; Kechichian, JGCD 20(5), 1997, eq. 8-10), which keeps
    v sin(beta) constant. ``beta0_rad`` = 0 thrusts along the velocity (raising), pi against it.
    """

    thrust_n: float
    isp_s: float
    m0_kg: float
    v0_kms: float
    beta0_rad: float = 0.0
    u_axis_rad: float = 0.0

    @property
    def ve_kms(self) -> float:
        return G0_KM_S2 * self.isp_s

    @property
    def mass_flow_kg_s(self) -> float:
        return self.thrust_n / (self.ve_kms * 1000.0)


def edelbaum_initial_yaw(v0_kms: float, vf_kms: float, plane_angle_rad: float) -> float:
    """Edelbaum's initial yaw angle beta0 [rad, 0..pi] for a circle-to-circle transfer.

    tan(beta0) = sin(pi theta / 2) / (v0 / vf - cos(pi theta / 2)) (Kechichian 1997, eq. 14),
    which makes the total delta-v sqrt(v0^2 - 2 v0 vf cos(pi theta / 2) + vf^2).
    """
    half = 0.5 * math.pi * plane_angle_rad
    return math.atan2(math.sin(half), v0_kms / vf_kms - math.cos(half))


def thrust_direction(r, v, arc: ThrustArc, m_kg):
    """Unit thrust direction(s) of :class:`ThrustArc` (vectorised reference of the RHS law)."""
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    h = np.cross(r, v)
    w_hat = h / np.linalg.norm(h, axis=-1, keepdims=True)
    t_hat = v / np.linalg.norm(v, axis=-1, keepdims=True)
    node = np.stack([-h[..., 1], h[..., 0], np.zeros_like(h[..., 0])], -1)
    nn = np.linalg.norm(node, axis=-1, keepdims=True)
    node = np.where(nn > 0, node / np.where(nn > 0, nn, 1.0), np.array([1.0, 0.0, 0.0]))
    q = np.cross(w_hat, node)
    axis = math.cos(arc.u_axis_rad) * node + math.sin(arc.u_axis_rad) * q
    sgn = np.where(np.sum(r * axis, -1) >= 0.0, 1.0, -1.0)[..., None]
    spent = arc.ve_kms * np.log(arc.m0_kg / np.asarray(m_kg, float))[..., None]
    beta = np.arctan2(
        arc.v0_kms * math.sin(arc.beta0_rad), arc.v0_kms * math.cos(arc.beta0_rad) - spent
    )
    return np.cos(beta) * t_hat + np.sin(beta) * sgn * w_hat


# --------------------------------------------------------------------------------------------
# The right-hand side (scalar, hot loop)
# --------------------------------------------------------------------------------------------


def make_rhs(
    force: ForceModel = ForceModel(), arc: ThrustArc | None = None
) -> Callable[[float, object], list]:
    """Return f(t, y) -> dy/dt for y = [r, v, m], specialised to the force model and arc.

    Plain ``math`` on floats: this is the function the integrator calls millions of times.
    Equivalent to :func:`acceleration` plus :func:`thrust_direction` (tested to 1e-15
    relative).
    """
    sqrt, exp, log, atan2, cos, sin = math.sqrt, math.exp, math.log, math.atan2, math.cos, math.sin
    mu, re = force.mu_km3_s2, force.r_eq_km
    zonal = force.zonal
    c2 = 1.5 * force.j2 * mu * re**2
    c3 = 2.5 * force.j3 * mu * re**3
    c4 = 1.875 * force.j4 * mu * re**4
    drag = force.drag
    half_cda = 0.5 * force.drag_coefficient * force.area_m2 * 1e3
    w_e = force.earth_rate_rad_s
    bases, rhos, hs = BASE_ALTITUDE_KM, BASE_DENSITY_KG_M3, SCALE_HEIGHT_KM
    nlayer = len(bases)
    bisect_right = bisect.bisect_right
    thrust = arc is not None
    if thrust:
        acc_f = arc.thrust_n / 1000.0  # N -> kg km/s^2
        mdot = -arc.mass_flow_kg_s
        ve, m0 = arc.ve_kms, arc.m0_kg
        vs0 = arc.v0_kms * sin(arc.beta0_rad)
        vc0 = arc.v0_kms * cos(arc.beta0_rad)
        cu, su = cos(arc.u_axis_rad), sin(arc.u_axis_rad)
        tangential = abs(vs0) < 1e-15
    else:
        mdot = 0.0

    def rhs(t, y):
        x, yy, z, vx, vy, vz, m = y
        r2 = x * x + yy * yy + z * z
        rn = sqrt(r2)
        k = mu / (r2 * rn)
        ax, ay, az = -k * x, -k * yy, -k * z
        if zonal:
            s = z / rn
            s2 = s * s
            f = c2 / (r2 * r2 * rn)
            g = f * (1.0 - 5.0 * s2)
            ax -= g * x
            ay -= g * yy
            az -= f * z * (3.0 - 5.0 * s2)
            if zonal >= 3:
                f = c3 / (r2 * r2 * r2)
                g = f * (3.0 * s - 7.0 * s2 * s)
                ax -= g * x
                ay -= g * yy
                az -= f * rn * (6.0 * s2 - 7.0 * s2 * s2 - 0.6)
                if zonal >= 4:
                    f = c4 / (r2 * r2 * r2 * rn)
                    g = f * (1.0 - 14.0 * s2 + 21.0 * s2 * s2)
                    ax += g * x
                    ay += g * yy
                    az += f * z * (5.0 - 70.0 / 3.0 * s2 + 21.0 * s2 * s2)
        if drag:
            h = rn - re
            i = bisect_right(bases, h) - 1
            if i < 0:
                i = 0
            elif i >= nlayer:
                i = nlayer - 1
            rho = rhos[i] * exp(-(h - bases[i]) / hs[i])
            ux, uy = vx + w_e * yy, vy - w_e * x
            vr = sqrt(ux * ux + uy * uy + vz * vz)
            c = half_cda * rho * vr / m
            ax -= c * ux
            ay -= c * uy
            az -= c * vz
        if thrust:
            a = acc_f / m
            vn = sqrt(vx * vx + vy * vy + vz * vz)
            tx, ty, tz = vx / vn, vy / vn, vz / vn
            if tangential:
                a = a if vc0 >= 0.0 else -a
                ax += a * tx
                ay += a * ty
                az += a * tz
            else:
                hx, hy, hz = yy * vz - z * vy, z * vx - x * vz, x * vy - yy * vx
                hn = sqrt(hx * hx + hy * hy + hz * hz)
                wx, wy, wz = hx / hn, hy / hn, hz / hn
                nn = sqrt(hx * hx + hy * hy)
                if nn > 0.0:
                    nx, ny = -hy / nn, hx / nn
                else:
                    nx, ny = 1.0, 0.0
                # q = w x node (node has no z component)
                qx, qy, qz = -wz * ny, wz * nx, wx * ny - wy * nx
                along = x * (cu * nx + su * qx) + yy * (cu * ny + su * qy) + z * (su * qz)
                spent = ve * log(m0 / m)
                beta = atan2(vs0, vc0 - spent)
                at = a * cos(beta)
                aw = a * sin(beta) if along >= 0.0 else -a * sin(beta)
                ax += at * tx + aw * wx
                ay += at * ty + aw * wy
                az += at * tz + aw * wz
        return [vx, vy, vz, ax, ay, az, mdot]

    return rhs


def _kernel_params(force: ForceModel, arc: ThrustArc | None) -> np.ndarray:
    """The force model and arc as the compiled right-hand side reads them
    (:func:`otvplan.flight.dop853._rhs_kernel`; the constants computed as :func:`make_rhs`
    computes them)."""
    mu, re = force.mu_km3_s2, force.r_eq_km
    p = np.zeros(19)
    p[0], p[1], p[2] = mu, re, float(force.zonal)
    p[3] = 1.5 * force.j2 * mu * re**2
    p[4] = 2.5 * force.j3 * mu * re**3
    p[5] = 1.875 * force.j4 * mu * re**4
    p[6] = 1.0 if force.drag else 0.0
    p[7] = 0.5 * force.drag_coefficient * force.area_m2 * 1e3
    p[8] = force.earth_rate_rad_s
    if arc is not None:
        p[9] = 1.0
        p[10] = arc.thrust_n / 1000.0
        p[11] = -arc.mass_flow_kg_s
        p[12], p[13] = arc.ve_kms, arc.m0_kg
        p[14] = arc.v0_kms * math.sin(arc.beta0_rad)
        p[15] = arc.v0_kms * math.cos(arc.beta0_rad)
        p[16], p[17] = math.cos(arc.u_axis_rad), math.sin(arc.u_axis_rad)
        p[18] = 1.0 if abs(p[14]) < 1e-15 else 0.0
    return p


# --------------------------------------------------------------------------------------------
# Integration
# --------------------------------------------------------------------------------------------


@dataclass
class Segment:
    """One integrated segment: final time and state, function evaluations, optional dense
    output ``sol(t) -> (7,)`` or ``(7, n)`` (DOP853's 7th-order interpolant)."""

    t_s: float
    y: np.ndarray
    nfev: int
    sol: Callable | None = None


def _atol():
    return np.array([ATOL_KM] * 3 + [ATOL_KMS] * 3 + [ATOL_KG])


def propagate(
    t0_s: float,
    y0,
    t1_s: float,
    force: ForceModel = ForceModel(),
    arc: ThrustArc | None = None,
    *,
    dense: bool = False,
    backend: Backend = "ode",
    rtol: float = RTOL,
) -> Segment:
    """Integrate the state ``y0 = [r km, v km/s, m kg]`` from ``t0_s`` to ``t1_s``.

    DOP853 with relative tolerance ``rtol`` and absolute tolerances 1e-9 km, 1e-12 km/s,
    1e-9 kg. ``backend="solve_ivp"`` runs SciPy's Python implementation
    (:func:`scipy.integrate.solve_ivp`); ``backend="ode"`` runs Hairer's Fortran DOP853 through
    :class:`scipy.integrate.ode`, the same method and error control (with one absolute
    tolerance, 1e-9, for every component) at about a third of the cost, since the stepping
    loop is compiled. ``backend="compiled"`` runs the same Fortran algorithm (Hairer's DOP853,
    SciPy's settings and error control) and the same right-hand side compiled by numba
    (:mod:`otvplan.flight.dop853`): no Python call per evaluation, so it is two orders of
    magnitude cheaper than ``"ode"``, whose steps it takes. Without numba it falls
    back to ``"ode"``. Dense output comes from ``solve_ivp``, or with ``backend="compiled"``
    from the compiled integrator (DOP853's interpolant, with ``solve_ivp``'s absolute
    tolerances per component).
    """
    y0 = np.asarray(y0, dtype=float)
    if y0.shape == (6,):
        y0 = np.append(y0, 1.0)
    t0_s, t1_s = float(t0_s), float(t1_s)
    if t1_s == t0_s:
        return Segment(
            t1_s,
            y0.copy(),
            0,
            (lambda t: np.repeat(y0[:, None], np.size(t), 1) if np.ndim(t) else y0.copy())
            if dense
            else None,
        )
    if backend == "compiled":
        kernel = _compiled_kernel()
        if kernel is not None:
            p = _kernel_params(force, arc)
            atol = _atol() if dense else np.full(7, ATOL_KM)
            y1, nfev, sol = _propagate_compiled(
                kernel, t0_s, y0, t1_s, p, dense, rtol, atol, SHORT_STEP_S
            )
            return Segment(t1_s, y1, nfev, sol)
        backend = "ode"  # no numba: the same method through SciPy
    rhs = make_rhs(force, arc)
    if abs(t1_s - t0_s) < SHORT_STEP_S and not dense:
        # Too short for the integrator's step-size control: one Taylor step (error ~ a' dt^3).
        dt = t1_s - t0_s
        f = np.asarray(rhs(t0_s, y0), float)
        y1 = y0 + f * dt
        y1[:3] += 0.5 * f[3:6] * dt * dt
        return Segment(t1_s, y1, 1, None)
    if dense or backend == "solve_ivp":
        from scipy.integrate import solve_ivp

        res = solve_ivp(
            rhs, (t0_s, t1_s), y0, method="DOP853", rtol=rtol, atol=_atol(), dense_output=dense
        )
        if not res.success:
            raise RuntimeError(f"integration failed at t = {res.t[-1]:.1f} s: {res.message}")
        return Segment(t1_s, res.y[:, -1].copy(), int(res.nfev), res.sol if dense else None)
    if backend != "ode":
        raise ValueError(f"backend must be 'solve_ivp', 'ode' or 'compiled', got {backend!r}")
    from scipy.integrate import ode

    counter = [0]

    def counted(t, y):
        counter[0] += 1
        return rhs(t, y)

    solver = ode(counted).set_integrator("dop853", rtol=rtol, atol=ATOL_KM, nsteps=10**9)
    solver.set_initial_value(y0, t0_s)
    y1 = solver.integrate(t1_s)
    if not solver.successful():
        raise RuntimeError(
            f"integration failed between t = {t0_s:.1f} s and {t1_s:.1f} s "
            f"(DOP853 status {solver.get_return_code()})"
        )
    return Segment(t1_s, np.asarray(y1, float).copy(), counter[0], None)


def tnw_to_inertial(r_km, v_kms, dv_tnw_kms):
    """Rotate a delta-v from the local T/N/W frame at (r, v) into the inertial frame.

    T along the velocity, W along the angular momentum r x v, N = W x T (the frame of
    :class:`otvplan.model.Burn`).
    """
    r = np.asarray(r_km, float)
    v = np.asarray(v_kms, float)
    t_hat = v / np.linalg.norm(v)
    h = np.cross(r, v)
    w_hat = h / np.linalg.norm(h)
    n_hat = np.cross(w_hat, t_hat)
    dt, dn, dw = (float(x) for x in dv_tnw_kms)
    return dt * t_hat + dn * n_hat + dw * w_hat


# --------------------------------------------------------------------------------------------
# Equinoctial elements, mean elements
# --------------------------------------------------------------------------------------------


def equinoctial_from_rv(r_km, v_kms, mu=MU_EARTH_KM3_S2):
    """Equinoctial elements (a, h, k, p, q, L) from state vectors, vectorised.

    h = e sin(w + W), k = e cos(w + W), p = tan(i/2) sin W, q = tan(i/2) cos W and the mean
    longitude L = W + w + M in [0, 2pi) (Broucke & Cefola, Celestial Mechanics 5, 1972;
    Vallado sec. 2.4.3). Nonsingular for e = 0 and i = 0 (singular only at i = 180 deg).
    """
    el = rv_to_coe(r_km, v_kms, mu)
    a, e, i, raan, argp, nu = (np.asarray(x, float) for x in el[:6])
    lon_peri = raan + argp
    t = np.tan(0.5 * i)
    m = np.asarray(true_to_mean_anomaly(nu, e), float)
    return (
        a,
        e * np.sin(lon_peri),
        e * np.cos(lon_peri),
        t * np.sin(raan),
        t * np.cos(raan),
        np.mod(lon_peri + m, TWO_PI),
    )


def _classical_from_equinoctial(a, h, k, p, q, lon):
    """(a, e, i, RAAN, argp, mean argument of latitude lambda = argp + M), scalars."""
    e = math.hypot(h, k)
    tan_half = math.hypot(p, q)
    inc = 2.0 * math.atan(tan_half)
    raan = math.atan2(p, q) if tan_half > 1e-15 else 0.0
    lon_peri = math.atan2(h, k) if e > 0.0 else raan
    argp = lon_peri - raan
    return a, e, inc, raan % TWO_PI, argp % TWO_PI, (lon - raan) % TWO_PI


def _rv_from_mean_like(a, e, inc, raan, argp, lam, mu=MU_EARTH_KM3_S2):
    """State vectors from elements whose phase is the mean argument of latitude lam."""
    from otvplan.core.orbits import coe_to_rv

    nu = float(mean_to_true_anomaly(lam - argp, e)) if e > 0.0 else lam - argp
    r, v = coe_to_rv(a, e, inc, raan, argp, nu, mu)
    return np.asarray(r, float), np.asarray(v, float)


def _rates(a, e, inc, force: ForceModel):
    """Secular rates (RAAN, argp, M) [rad/s] for the force model: Keplerian for two-body,
    otherwise Brouwer's J2, J2^2 (and J4 with ``zonal=4``) terms
    (:func:`otvplan.core.orbits.secular_rates`)."""
    if force.zonal < 2:
        n = math.sqrt(force.mu_km3_s2 / a**3)
        return 0.0, 0.0, n
    rates = secular_rates(
        a,
        min(e, 0.99),
        inc,
        force.mu_km3_s2,
        force.r_eq_km,
        force.j2,
        force.j4 if force.zonal >= 4 else 0.0,
    )
    return float(rates.raan), float(rates.argp), float(rates.mean_anomaly)


def draconic_period(a_km, e, inc_rad, force: ForceModel = ForceModel()) -> float:
    """Time [s] for the mean argument of latitude to advance 2 pi: 2 pi / (dargp/dt + dM/dt)."""
    _, dw, dm = _rates(a_km, e, inc_rad, force)
    return TWO_PI / (dw + dm)


def mean_elements(
    t_s, r_km, v_kms, t_ref_s: float | None = None, force: ForceModel = ForceModel()
) -> OrbitState:
    """Mean elements at ``t_ref_s`` from osculating states sampled over one orbit.

    ``t_s`` (n,), ``r_km`` and ``v_kms`` (n, 3) must sample one draconic period uniformly,
    first point included, last point (one period later) excluded; the plain mean of such
    samples is the trapezoidal rule for a periodic function, exact for every harmonic below
    n/2 per orbit. The equinoctial elements are averaged (L unwrapped), then the secular J2
    drift between the window's centre and ``t_ref_s`` (default: the first sample) is removed
    with the secular rates of the averaged a, e, i (:func:`otvplan.core.orbits.secular_rates`;
    half an orbit of drift, so the rate model hardly matters). The returned
    :class:`OrbitState` has the mean argument of latitude converted to a true one
    (u = argp + nu(M)), as the planner's states do; argp is 0 when e < 1e-9.
    """
    t = np.asarray(t_s, float)
    a, h, k, p, q, lon = equinoctial_from_rv(r_km, v_kms, force.mu_km3_s2)
    lon = np.unwrap(lon)
    a_m, h_m, k_m, p_m, q_m, lon_m = (float(np.mean(x)) for x in (a, h, k, p, q, lon))
    t_mid = float(np.mean(t))
    t_ref = float(t[0]) if t_ref_s is None else float(t_ref_s)
    _, e_m, i_m, raan_m, argp_m, lam_m = _classical_from_equinoctial(a_m, h_m, k_m, p_m, q_m, lon_m)
    d_raan, d_argp, d_m = _rates(a_m, e_m, i_m, force)
    dt = t_ref - t_mid
    raan_r = raan_m + d_raan * dt
    argp_r = argp_m + d_argp * dt
    lam_r = lam_m + (d_argp + d_m) * dt
    if e_m < 1e-9:
        u = lam_r
        argp_r = 0.0
        e_m = 0.0
    else:
        nu = float(mean_to_true_anomaly(lam_r - argp_r, e_m))
        u = argp_r + nu
    return OrbitState(
        t_s=t_ref,
        a_km=a_m,
        e=e_m,
        inc_rad=i_m,
        raan_rad=raan_r % TWO_PI,
        argp_rad=argp_r % TWO_PI,
        u_rad=u % TWO_PI,
    )


def samples_per_orbit(e: float, base: int = 64) -> int:
    """Samples per orbit for averaging: ``base`` for near-circular orbits, more for eccentric
    ones, whose elements change quickly around perigee (``base`` x ceil((1 - e)^-1.5), the
    ratio of the mean motion to the angular rate at perigee; 64 x 8 = 512 for a GTO keeps the
    averaged a to a millimetre, where 64 samples leave 8 m)."""
    return int(base * math.ceil((1.0 - min(e, 0.95)) ** -1.5 - 1e-9))


def mean_orbit(
    t_s: float,
    y,
    force: ForceModel = ForceModel(),
    samples: int = 64,
    backend: Backend = "ode",
) -> OrbitState:
    """Mean elements at ``t_s`` of the free flight starting from state ``y`` at ``t_s``.

    Propagates one draconic period (estimated from the osculating elements, then refined from
    the first average) with dense output and averages ``samples`` points, scaled up for
    eccentric orbits by :func:`samples_per_orbit` (:func:`mean_elements`). With drag the
    decay over the window (metres in LEO) is averaged in, not removed. The dense output comes
    from ``solve_ivp`` unless ``backend="compiled"`` (:func:`propagate`).
    """
    y = np.asarray(y, float)
    if y.shape == (6,):
        if force.drag:
            raise ValueError("with drag the state needs its mass: y = [r, v, m]")
        y = np.append(y, 1.0)
    el = rv_to_coe(y[:3], y[3:6], force.mu_km3_s2)
    period = draconic_period(float(el.a), float(el.e), float(el.i), force)
    samples = samples_per_orbit(float(el.e), samples)
    seg = propagate(t_s, y, t_s + 1.01 * period, force, dense=True, backend=backend)
    mean = None
    for _ in range(2):
        ts = t_s + period * np.arange(samples) / samples
        ys = seg.sol(ts)
        mean = mean_elements(ts, ys[:3].T, ys[3:6].T, t_s, force)
        period = draconic_period(mean.a_km, mean.e, mean.inc_rad, force)
    return mean


def _equinoctial_of_state(s: OrbitState):
    """(a, h, k, p, q, L) of a mean OrbitState (L = RAAN + argp + M, M from the true u)."""
    nu = s.u_rad - s.argp_rad
    m = float(true_to_mean_anomaly(nu % TWO_PI, s.e)) if s.e > 0 else nu
    lon_peri = s.raan_rad + s.argp_rad
    t = math.tan(0.5 * s.inc_rad)
    return np.array(
        [
            s.a_km,
            s.e * math.sin(lon_peri),
            s.e * math.cos(lon_peri),
            t * math.sin(s.raan_rad),
            t * math.cos(s.raan_rad),
            lon_peri + m,
        ]
    )


def state_from_elements(s: OrbitState, mu=MU_EARTH_KM3_S2):
    """Position and velocity of the osculating orbit whose elements are those of ``s``."""
    from otvplan.core.orbits import coe_to_rv

    r, v = coe_to_rv(
        s.a_km, s.e, s.inc_rad, s.raan_rad, s.argp_rad, (s.u_rad - s.argp_rad) % TWO_PI, mu
    )
    return np.asarray(r, float), np.asarray(v, float)


def osculating_from_mean(
    mean: OrbitState,
    force: ForceModel = ForceModel(),
    iterations: int = 5,
    tol_km: float = 1e-4,
    samples: int = 64,
    mass_kg: float = 1000.0,
    backend: Backend = "ode",
):
    """Osculating state (r km, v km/s) at ``mean.t_s`` whose mean elements are ``mean``.

    Fixed-point iteration: start with osculating = mean, propagate one orbit and average
    (:func:`mean_orbit`), correct the osculating equinoctial elements by the difference between
    the wanted and the obtained mean ones, and repeat until the semi-major axis and position
    residuals are below ``tol_km`` or ``iterations`` corrections have been made. Each step
    shrinks the residual by a factor of order J2 (about 1e-3), so two to three steps reach
    centimetres. ``mass_kg`` matters only with drag (the averaging orbit is flown with it);
    ``backend`` is :func:`mean_orbit`'s.
    Returns ``(r, v, residual)`` with the final residual of the mean elements (a difference
    [km], L difference [rad]).
    """
    target = _equinoctial_of_state(mean)
    osc = target.copy()
    mu = force.mu_km3_s2
    residual = (math.inf, math.inf)
    r = v = None
    for _ in range(iterations + 1):
        a, e, inc, raan, argp, lam = _classical_from_equinoctial(*osc)
        r, v = _rv_from_mean_like(a, e, inc, raan, argp, lam, mu)
        got = _equinoctial_of_state(
            mean_orbit(mean.t_s, np.r_[r, v, mass_kg], force, samples, backend)
        )
        diff = target - got
        diff[5] = (diff[5] + math.pi) % TWO_PI - math.pi
        residual = (abs(float(diff[0])), abs(float(diff[5])))
        if (
            residual[0] < tol_km
            and residual[1] * mean.a_km < tol_km
            and max(abs(diff[1:5])) * mean.a_km < tol_km
        ):
            break
        osc = osc + diff
    return r, v, residual


def __getattr__(name: str):
    """The compiled backend's kernels, which lived here before :mod:`otvplan.flight.dop853`:
    looked up there on each access (they are replaced by their compiled versions)."""
    if name in ("_dop853_kernel", "_rhs_kernel", "_stage"):
        return getattr(dop853, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACCELERATE_ENV",
    "EXPONENTIAL_ATMOSPHERE",
    "ForceModel",
    "Segment",
    "ThrustArc",
    "accelerated",
    "acceleration",
    "density_exponential",
    "draconic_period",
    "edelbaum_initial_yaw",
    "equinoctial_from_rv",
    "gravity_potential",
    "make_rhs",
    "mean_elements",
    "mean_orbit",
    "osculating_from_mean",
    "propagate",
    "state_from_elements",
    "thrust_direction",
    "tnw_to_inertial",
]
