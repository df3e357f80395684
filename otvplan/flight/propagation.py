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
right-hand side (:func:`_rhs_kernel`, the same operations in the same order) and the stepper of
SciPy's ``ode("dop853")`` (:func:`_dop853_kernel`) compiled by numba, cached on disk: it takes
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
    (:func:`_dop853_kernel`, :func:`_rhs_kernel`): no Python call per evaluation, so it is two
    orders of magnitude cheaper than ``"ode"``, whose steps it takes. Without numba it falls
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
            return _propagate_compiled(kernel, t0_s, y0, t1_s, force, arc, dense, rtol)
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


# --------------------------------------------------------------------------------------------
# The compiled backend: Hairer's DOP853 and the right-hand side, compiled by numba
# --------------------------------------------------------------------------------------------

# Hairer's DOP853 tableau (dop853.f, DP86CO), 0-based stages: 0-11 the step's twelve, 12 the
# derivative at the new point, 13-15 the three extra stages of the dense output. The
# right-hand side does not depend on time, so the nodes c_i are not needed.
_A = np.zeros((16, 16))
for (_i, _j), _v in {
    (1, 0): 5.26001519587677318785587544488e-2,
    (2, 0): 1.97250569845378994544595329183e-2,
    (2, 1): 5.91751709536136983633785987549e-2,
    (3, 0): 2.95875854768068491816892993775e-2,
    (3, 2): 8.87627564304205475450678981324e-2,
    (4, 0): 2.41365134159266685502369798665e-1,
    (4, 2): -8.84549479328286085344864962717e-1,
    (4, 3): 9.24834003261792003115737966543e-1,
    (5, 0): 3.7037037037037037037037037037e-2,
    (5, 3): 1.70828608729473871279604482173e-1,
    (5, 4): 1.25467687566822425016691814123e-1,
    (6, 0): 3.7109375e-2,
    (6, 3): 1.70252211019544039314978060272e-1,
    (6, 4): 6.02165389804559606850219397283e-2,
    (6, 5): -1.7578125e-2,
    (7, 0): 3.70920001185047927108779319836e-2,
    (7, 3): 1.70383925712239993810214054705e-1,
    (7, 4): 1.07262030446373284651809199168e-1,
    (7, 5): -1.53194377486244017527936158236e-2,
    (7, 6): 8.27378916381402288758473766002e-3,
    (8, 0): 6.24110958716075717114429577812e-1,
    (8, 3): -3.36089262944694129406857109825e0,
    (8, 4): -8.68219346841726006818189891453e-1,
    (8, 5): 2.75920996994467083049415600797e1,
    (8, 6): 2.01540675504778934086186788979e1,
    (8, 7): -4.34898841810699588477366255144e1,
    (9, 0): 4.77662536438264365890433908527e-1,
    (9, 3): -2.48811461997166764192642586468e0,
    (9, 4): -5.90290826836842996371446475743e-1,
    (9, 5): 2.12300514481811942347288949897e1,
    (9, 6): 1.52792336328824235832596922938e1,
    (9, 7): -3.32882109689848629194453265587e1,
    (9, 8): -2.03312017085086261358222928593e-2,
    (10, 0): -9.3714243008598732571704021658e-1,
    (10, 3): 5.18637242884406370830023853209e0,
    (10, 4): 1.09143734899672957818500254654e0,
    (10, 5): -8.14978701074692612513997267357e0,
    (10, 6): -1.85200656599969598641566180701e1,
    (10, 7): 2.27394870993505042818970056734e1,
    (10, 8): 2.49360555267965238987089396762e0,
    (10, 9): -3.0467644718982195003823669022e0,
    (11, 0): 2.27331014751653820792359768449e0,
    (11, 3): -1.05344954667372501984066689879e1,
    (11, 4): -2.00087205822486249909675718444e0,
    (11, 5): -1.79589318631187989172765950534e1,
    (11, 6): 2.79488845294199600508499808837e1,
    (11, 7): -2.85899827713502369474065508674e0,
    (11, 8): -8.87285693353062954433549289258e0,
    (11, 9): 1.23605671757943030647266201528e1,
    (11, 10): 6.43392746015763530355970484046e-1,
    (13, 0): 5.61675022830479523392909219681e-2,
    (13, 6): 2.53500210216624811088794765333e-1,
    (13, 7): -2.46239037470802489917441475441e-1,
    (13, 8): -1.24191423263816360469010140626e-1,
    (13, 9): 1.5329179827876569731206322685e-1,
    (13, 10): 8.20105229563468988491666602057e-3,
    (13, 11): 7.56789766054569976138603589584e-3,
    (13, 12): -8.298e-3,
    (14, 0): 3.18346481635021405060768473261e-2,
    (14, 5): 2.83009096723667755288322961402e-2,
    (14, 6): 5.35419883074385676223797384372e-2,
    (14, 7): -5.49237485713909884646569340306e-2,
    (14, 10): -1.08347328697249322858509316994e-4,
    (14, 11): 3.82571090835658412954920192323e-4,
    (14, 12): -3.40465008687404560802977114492e-4,
    (14, 13): 1.41312443674632500278074618366e-1,
    (15, 0): -4.28896301583791923408573538692e-1,
    (15, 5): -4.69762141536116384314449447206e0,
    (15, 6): 7.68342119606259904184240953878e0,
    (15, 7): 4.06898981839711007970213554331e0,
    (15, 8): 3.56727187455281109270669543021e-1,
    (15, 12): -1.39902416515901462129418009734e-3,
    (15, 13): 2.9475147891527723389556272149e0,
    (15, 14): -9.15095847217987001081870187138e0,
}.items():
    _A[_i, _j] = _v
del _i, _j, _v
# the solution's weights and the two error estimators (stages 0, 5-11), and the bhh weights
# of the third-order one (stages 0, 8, 11)
_B = np.array(
    [
        5.42937341165687622380535766363e-2,
        4.45031289275240888144113950566e0,
        1.89151789931450038304281599044e0,
        -5.8012039600105847814672114227e0,
        3.1116436695781989440891606237e-1,
        -1.52160949662516078556178806805e-1,
        2.01365400804030348374776537501e-1,
        4.47106157277725905176885569043e-2,
    ]
)
_ER = np.array(
    [
        0.1312004499419488073250102996e-01,
        -0.1225156446376204440720569753e01,
        -0.4957589496572501915214079952e00,
        0.1664377182454986536961530415e01,
        -0.3503288487499736816886487290e00,
        0.3341791187130174790297318841e00,
        0.8192320648511571246570742613e-01,
        -0.2235530786388629525884427845e-01,
    ]
)
_BHH = np.array(
    [
        0.244094488188976377952755905512e00,
        0.733846688281611857341361741547e00,
        0.220588235294117647058823529412e-01,
    ]
)
# dense output (rows d4-d7 of dop853.f), columns: stages 0, 5-11, then 12-15
_D = np.array(
    [
        [
            -0.84289382761090128651353491142e01,
            0.56671495351937776962531783590e00,
            -0.30689499459498916912797304727e01,
            0.23846676565120698287728149680e01,
            0.21170345824450282767155149946e01,
            -0.87139158377797299206789907490e00,
            0.22404374302607882758541771650e01,
            0.63157877876946881815570249290e00,
            -0.88990336451333310820698117400e-01,
            0.18148505520854727256656404962e02,
            -0.91946323924783554000451984436e01,
            -0.44360363875948939664310572000e01,
        ],
        [
            0.10427508642579134603413151009e02,
            0.24228349177525818288430175319e03,
            0.16520045171727028198505394887e03,
            -0.37454675472269020279518312152e03,
            -0.22113666853125306036270938578e02,
            0.77334326684722638389603898808e01,
            -0.30674084731089398182061213626e02,
            -0.93321305264302278729567221706e01,
            0.15697238121770843886131091075e02,
            -0.31139403219565177677282850411e02,
            -0.93529243588444783865713862664e01,
            0.35816841486394083752465898540e02,
        ],
        [
            0.19985053242002433820987653617e02,
            -0.38703730874935176555105901742e03,
            -0.18917813819516756882830838328e03,
            0.52780815920542364900561016686e03,
            -0.11573902539959630126141871134e02,
            0.68812326946963000169666922661e01,
            -0.10006050966910838403183860980e01,
            0.77771377980534432092869265740e00,
            -0.27782057523535084065932004339e01,
            -0.60196695231264120758267380846e02,
            0.84320405506677161018159903784e02,
            0.11992291136182789328035130030e02,
        ],
        [
            -0.25693933462703749003312586129e02,
            -0.15418974869023643374053993627e03,
            -0.23152937917604549567536039109e03,
            0.35763911791061412378285349910e03,
            0.93405324183624310003907691704e02,
            -0.37458323136451633156875139351e02,
            0.10409964950896230045147246184e03,
            0.29840293426660503123344363579e02,
            -0.43533456590011143754432175058e02,
            0.96324553959188282948394950600e02,
            -0.39177261675615439165231486172e02,
            -0.14972683625798562581422125276e03,
        ],
    ]
)
_STEP_STAGES = (0, 5, 6, 7, 8, 9, 10, 11)  # the stages _B, _ER and _D[:, :8] weigh


def _rhs_kernel(y, p, bases, rhos, scales, out):
    """:func:`make_rhs`'s right-hand side for the compiled integrator, the same operations in
    the same order: ``p`` holds the force model and arc (:func:`_kernel_params`), the
    atmosphere's layers come as arrays; writes dy/dt into ``out``."""
    x, yy, z, vx, vy, vz, m = y[0], y[1], y[2], y[3], y[4], y[5], y[6]
    mu, zonal = p[0], p[2]
    r2 = x * x + yy * yy + z * z
    rn = math.sqrt(r2)
    k = mu / (r2 * rn)
    ax, ay, az = -k * x, -k * yy, -k * z
    if zonal != 0.0:
        s = z / rn
        s2 = s * s
        f = p[3] / (r2 * r2 * rn)
        g = f * (1.0 - 5.0 * s2)
        ax -= g * x
        ay -= g * yy
        az -= f * z * (3.0 - 5.0 * s2)
        if zonal >= 3.0:
            f = p[4] / (r2 * r2 * r2)
            g = f * (3.0 * s - 7.0 * s2 * s)
            ax -= g * x
            ay -= g * yy
            az -= f * rn * (6.0 * s2 - 7.0 * s2 * s2 - 0.6)
            if zonal >= 4.0:
                f = p[5] / (r2 * r2 * r2 * rn)
                g = f * (1.0 - 14.0 * s2 + 21.0 * s2 * s2)
                ax += g * x
                ay += g * yy
                az += f * z * (5.0 - 70.0 / 3.0 * s2 + 21.0 * s2 * s2)
    if p[6] != 0.0:
        h = rn - p[1]
        i = np.searchsorted(bases, h, side="right") - 1
        if i < 0:
            i = 0
        elif i >= bases.size:
            i = bases.size - 1
        rho = rhos[i] * math.exp(-(h - bases[i]) / scales[i])
        w_e = p[8]
        ux, uy = vx + w_e * yy, vy - w_e * x
        vr = math.sqrt(ux * ux + uy * uy + vz * vz)
        c = p[7] * rho * vr / m
        ax -= c * ux
        ay -= c * uy
        az -= c * vz
    mdot = 0.0
    if p[9] != 0.0:
        mdot = p[11]
        a = p[10] / m
        vn = math.sqrt(vx * vx + vy * vy + vz * vz)
        tx, ty, tz = vx / vn, vy / vn, vz / vn
        vs0, vc0 = p[14], p[15]
        if p[18] != 0.0:
            a = a if vc0 >= 0.0 else -a
            ax += a * tx
            ay += a * ty
            az += a * tz
        else:
            cu, su = p[16], p[17]
            hx, hy, hz = yy * vz - z * vy, z * vx - x * vz, x * vy - yy * vx
            hn = math.sqrt(hx * hx + hy * hy + hz * hz)
            wx, wy, wz = hx / hn, hy / hn, hz / hn
            nn = math.sqrt(hx * hx + hy * hy)
            if nn > 0.0:
                nx, ny = -hy / nn, hx / nn
            else:
                nx, ny = 1.0, 0.0
            qx, qy, qz = -wz * ny, wz * nx, wx * ny - wy * nx
            along = x * (cu * nx + su * qx) + yy * (cu * ny + su * qy) + z * (su * qz)
            spent = p[12] * math.log(p[13] / m)
            beta = math.atan2(vs0, vc0 - spent)
            at = a * math.cos(beta)
            aw = a * math.sin(beta) if along >= 0.0 else -a * math.sin(beta)
            ax += at * tx + aw * wx
            ay += at * ty + aw * wy
            az += at * tz + aw * wz
    out[0] = vx
    out[1] = vy
    out[2] = vz
    out[3] = ax
    out[4] = ay
    out[5] = az
    out[6] = mdot


def _stage(y, h, k, row, a, out):
    """out = y + h * (sum of a[row, j] k[j] over the stages before ``row``), summed in stage
    order as dop853.f does (stage 1: (h a21) k1)."""
    n = y.size
    for c in range(n):
        if row == 1:
            out[c] = y[c] + h * a[1, 0] * k[0, c]
            continue
        s = 0.0
        for j in range(row):
            if a[row, j] != 0.0:
                s += a[row, j] * k[j, c]
        out[c] = y[c] + h * s


def _dop853_kernel(t0, y0, t1, rtol, atol, p, bases, rhos, scales, dense, nmax):
    """Hairer's DOP853 (dop853.f: DOP853, DP86CO, HINIT) from ``t0`` to ``t1`` with the
    defaults SciPy's ``ode("dop853")`` gives it (safety 0.9, step ratio 0.3..6, beta 0, no
    maximal step, stiffness test every 1000 steps) and a tolerance per component (``atol``),
    so that with equal components it takes the same steps as ``backend="ode"`` (SciPy's C
    translation, whose rule for a rejected step it follows).

    Returns ``(status, y, nfcn, told, hs, cont)``: status 1 on success (-2 too many steps,
    -3 step too small, -4 stiff), the state at ``t1``, the function evaluations, and with
    ``dense`` each accepted step's start, length and the 8 dense output coefficients of every
    component (CONTD8)."""
    n = y0.size
    a, b, er, bhh, dd = _A, _B, _ER, _BHH, _D
    st = np.array(_STEP_STAGES)
    k = np.zeros((16, n))
    y = y0.copy()
    y1 = np.zeros(n)
    ynew = np.zeros(n)
    bsum = np.zeros(n)
    cap = 64 if dense else 1
    told = np.zeros(cap)
    hs = np.zeros(cap)
    cont = np.zeros((cap, 8, n))
    nd = 0
    x = t0
    xend = t1
    posneg = 1.0 if xend - x >= 0.0 else -1.0
    hmax = abs(xend - x)
    uround, safe, facc1, facc2, expo1 = 2.3e-16, 0.9, 1.0 / 0.3, 1.0 / 6.0, 0.125
    nstiff = 1000
    _rhs_kernel(y, p, bases, rhos, scales, k[0])
    # HINIT: the initial step
    dnf = 0.0
    dny = 0.0
    for c in range(n):
        sk = atol[c] + rtol * abs(y[c])
        dnf += (k[0, c] / sk) ** 2
        dny += (y[c] / sk) ** 2
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1.0e-6
    else:
        h = math.sqrt(dny / dnf) * 0.01
    h = min(h, hmax)
    h = abs(h) * posneg
    for c in range(n):
        y1[c] = y[c] + h * k[0, c]
    _rhs_kernel(y1, p, bases, rhos, scales, k[1])
    der2 = 0.0
    for c in range(n):
        sk = atol[c] + rtol * abs(y[c])
        der2 += ((k[1, c] - k[0, c]) / sk) ** 2
    der2 = math.sqrt(der2) / h
    der12 = max(abs(der2), math.sqrt(dnf))
    if der12 <= 1e-15:
        h1 = max(1.0e-6, abs(h) * 1.0e-3)
    else:
        h1 = (0.01 / der12) ** (1.0 / 8)
    h = min(100 * abs(h), h1, hmax) * posneg
    nfcn = 2
    nstep = 0
    naccpt = 0
    iasti = 0
    nonsti = 0
    reject = False
    last = False
    while True:
        if nstep > nmax:
            return -2, y, nfcn, told[:nd], hs[:nd], cont[:nd]
        if 0.1 * abs(h) <= abs(x) * uround:
            return -3, y, nfcn, told[:nd], hs[:nd], cont[:nd]
        if (x + 1.01 * h - xend) * posneg > 0.0:
            h = xend - x
            last = True
        nstep += 1
        for row in range(1, 12):
            _stage(y, h, k, row, a, y1)
            _rhs_kernel(y1, p, bases, rhos, scales, k[row])
        xph = x + h
        nfcn += 11
        for c in range(n):
            s = 0.0
            for j in range(8):
                s += b[j] * k[st[j], c]
            bsum[c] = s
            ynew[c] = y[c] + h * s
        err = 0.0
        err2 = 0.0
        for c in range(n):
            sk = atol[c] + rtol * max(abs(y[c]), abs(ynew[c]))
            erri = bsum[c] - bhh[0] * k[0, c] - bhh[1] * k[8, c] - bhh[2] * k[11, c]
            err2 += (erri / sk) ** 2
            erri = 0.0
            for j in range(8):
                erri += er[j] * k[st[j], c]
            err += (erri / sk) ** 2
        deno = err + 0.01 * err2
        if deno <= 0.0:
            deno = 1.0
        err = abs(h) * err * math.sqrt(1.0 / (n * deno))
        fac11 = err**expo1
        fac = max(facc2, min(facc1, fac11 / safe))
        hnew = h / fac
        if err <= 1.0:
            naccpt += 1
            _rhs_kernel(ynew, p, bases, rhos, scales, k[12])
            nfcn += 1
            if naccpt % nstiff == 0 or iasti > 0:
                stnum = 0.0
                stden = 0.0
                for c in range(n):
                    stnum += (k[12, c] - k[11, c]) ** 2
                    stden += (ynew[c] - y1[c]) ** 2
                if stden > 0.0 and abs(h) * math.sqrt(stnum / stden) > 6.1:
                    nonsti = 0
                    iasti += 1
                    if iasti == 15:
                        return -4, y, nfcn, told[:nd], hs[:nd], cont[:nd]
                else:
                    nonsti += 1
                    if nonsti == 6:
                        iasti = 0
            if dense:
                if nd == cap:
                    cap *= 2
                    told = np.concatenate((told, np.zeros(cap - nd)))
                    hs = np.concatenate((hs, np.zeros(cap - nd)))
                    grown = np.zeros((cap, 8, n))
                    grown[:nd] = cont
                    cont = grown
                for row in range(13, 16):
                    _stage(y, h, k, row, a, y1)
                    _rhs_kernel(y1, p, bases, rhos, scales, k[row])
                nfcn += 3
                for c in range(n):
                    ydiff = ynew[c] - y[c]
                    bspl = h * k[0, c] - ydiff
                    cont[nd, 0, c] = y[c]
                    cont[nd, 1, c] = ydiff
                    cont[nd, 2, c] = bspl
                    cont[nd, 3, c] = ydiff - h * k[12, c] - bspl
                    for r in range(4):
                        s = 0.0
                        for j in range(8):
                            s += dd[r, j] * k[st[j], c]
                        cont[nd, 4 + r, c] = h * (
                            s
                            + dd[r, 8] * k[12, c]
                            + dd[r, 9] * k[13, c]
                            + dd[r, 10] * k[14, c]
                            + dd[r, 11] * k[15, c]
                        )
                told[nd] = x
                hs[nd] = h
                nd += 1
            for c in range(n):
                k[0, c] = k[12, c]
                y[c] = ynew[c]
            x = xph
            if last:
                return 1, y, nfcn, told[:nd], hs[:nd], cont[:nd]
            if abs(hnew) > hmax:
                hnew = posneg * hmax
            if reject:
                hnew = posneg * min(abs(hnew), abs(h))
            reject = False
        else:
            # SciPy's C DOP853 (the "ode" backend since SciPy 1.15) cuts a rejected step by
            # the smallest ratio, 0.3, where dop853.f takes h / min(facc1, fac11 / safe):
            # taken over so that the two backends take the same steps.
            hnew = h / facc1
            reject = True
            last = False
        h = hnew


_KERNEL = None


#: Environment variable that turns the compiled backend off (``0``, ``off``, ``no``,
#: ``false``): ``backend="compiled"`` then runs SciPy's ``ode``, the pure path. The test
#: suite sets it (tests/conftest.py), so the pure path is the one CI runs by default; the
#: tests of the compiled backend turn it back on.
ACCELERATE_ENV = "OTVPLAN_ACCELERATE"


def accelerated() -> bool:
    """Whether ``backend="compiled"`` may use numba (see :data:`ACCELERATE_ENV`)."""
    import os

    return os.environ.get(ACCELERATE_ENV, "1").strip().lower() not in ("0", "off", "no", "false")


def _compiled_kernel():
    """The compiled :func:`_dop853_kernel` (numba, cached on disk), or None without numba or
    when :func:`accelerated` says no."""
    global _KERNEL, _rhs_kernel, _stage
    if not accelerated():
        return None
    if _KERNEL is None:
        try:
            from numba import njit
        except ImportError:  # pragma: no cover - numba comes with boinor
            _KERNEL = False
        else:
            _rhs_kernel = njit(cache=True)(_rhs_kernel)
            _stage = njit(cache=True)(_stage)
            _KERNEL = njit(cache=True)(_dop853_kernel)
    return _KERNEL or None


def _kernel_params(force: ForceModel, arc: ThrustArc | None) -> np.ndarray:
    """The force model and arc as :func:`_rhs_kernel` reads them (the constants computed as
    :func:`make_rhs` computes them)."""
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


_LAYERS = tuple(
    np.asarray(v, float) for v in (BASE_ALTITUDE_KM, BASE_DENSITY_KG_M3, SCALE_HEIGHT_KM)
)


def _dense_solution(told: np.ndarray, hs: np.ndarray, cont: np.ndarray) -> Callable:
    """``sol(t)`` of the compiled integrator's steps: DOP853's 7th-order interpolant (CONTD8),
    ``(7,)`` for a scalar ``t``, ``(7, n)`` for ``n`` times."""
    sign = 1.0 if hs.size == 0 or hs[0] >= 0.0 else -1.0
    ends = sign * (told + hs)

    def sol(t):
        tt = np.atleast_1d(np.asarray(t, float))
        i = np.clip(np.searchsorted(ends, sign * tt, side="left"), 0, hs.size - 1)
        s = ((tt - told[i]) / hs[i])[:, None]
        s1 = 1.0 - s
        c = cont[i]
        conpar = c[:, 4] + s * (c[:, 5] + s1 * (c[:, 6] + s * c[:, 7]))
        val = c[:, 0] + s * (c[:, 1] + s1 * (c[:, 2] + s * (c[:, 3] + s1 * conpar)))
        return val.T if np.ndim(t) else val[0]

    return sol


def _propagate_compiled(
    kernel: Callable,
    t0_s: float,
    y0: np.ndarray,
    t1_s: float,
    force: ForceModel,
    arc: ThrustArc | None,
    dense: bool,
    rtol: float,
) -> Segment:
    """:func:`propagate` with the compiled integrator (``t1_s != t0_s``): the short-interval
    Taylor step, then DOP853 with ``ode``'s tolerances, or ``solve_ivp``'s for dense output."""
    p = _kernel_params(force, arc)
    if abs(t1_s - t0_s) < SHORT_STEP_S and not dense:
        dt = t1_s - t0_s
        f = np.zeros(7)
        _rhs_kernel(y0, p, *_LAYERS, f)
        y1 = y0 + f * dt
        y1[:3] += 0.5 * f[3:6] * dt * dt
        return Segment(t1_s, y1, 1, None)
    atol = _atol() if dense else np.full(7, ATOL_KM)
    status, y1, nfev, told, hs, cont = kernel(t0_s, y0, t1_s, rtol, atol, p, *_LAYERS, dense, 10**9)
    if status != 1:
        raise RuntimeError(
            f"integration failed between t = {t0_s:.1f} s and {t1_s:.1f} s (DOP853 status {status})"
        )
    return Segment(t1_s, y1, int(nfev), _dense_solution(told, hs, cont) if dense else None)


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


__all__ = [
    "EXPONENTIAL_ATMOSPHERE",
    "ForceModel",
    "Segment",
    "ThrustArc",
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
