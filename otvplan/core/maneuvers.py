"""Impulsive and low-thrust transfers: plain functions on floats and NumPy arrays.

Core units: km, km/s, s, rad. Every function broadcasts over array inputs (no Python loop over
elements) and returns floats for scalar inputs. Signed delta-v components are positive along
the velocity (prograde); magnitudes are noted as such.

Why otvplan has its own kernel rather than calling boinor: boinor's ``Maneuver`` covers Hohmann,
bi-elliptic and Lambert for one orbit per call (with seconds of numba compilation in each new
process); a tug planner needs plane changes, the optimal plane-change split, phasing, J2 drift
and low-thrust transfers evaluated by the million. Every function here is tested against
published examples and, where boinor has the same transfer, against boinor.

Sources: Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013), ch. 6 and 9
("Vallado"); Curtis, *Orbital Mechanics for Engineering Students*, 3rd ed. (2014) ("Curtis");
Edelbaum, "Propulsion Requirements for Controllable Satellites", ARS Journal 31 (1961).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from otvplan.constants import J2_EARTH, MU_EARTH_KM3_S2, R_EARTH_KM
from otvplan.core.orbits import (
    TWO_PI,
    ArrayLike,
    FloatArray,
    FloatOrArray,
    _brouwer_secular,
    _out,
    check_positive,
    node_crossing,
    plane_angle,
    raan_rate,
)
from otvplan.errors import PhysicsError

# --------------------------------------------------------------------------------------------
# Coplanar transfers
# --------------------------------------------------------------------------------------------


class Hohmann(NamedTuple):
    """Two-impulse transfer: signed burns [km/s] (positive prograde) and time of flight [s]."""

    dv1: FloatOrArray
    dv2: FloatOrArray
    tof: FloatOrArray

    @property
    def total(self) -> FloatOrArray:
        """Sum of the burn magnitudes [km/s]."""
        return _out(np.abs(self.dv1) + np.abs(self.dv2))


def hohmann(r1: ArrayLike, r2: ArrayLike, mu: float = MU_EARTH_KM3_S2) -> Hohmann:
    """Hohmann transfer between circular coplanar orbits of radii ``r1`` and ``r2`` [km].

    Vallado Algorithm 36 (e_init = e_final = 0): transfer ellipse a_t = (r1 + r2)/2,
    dv1 = sqrt(2mu/r1 - mu/a_t) - sqrt(mu/r1), dv2 = sqrt(mu/r2) - sqrt(2mu/r2 - mu/a_t),
    tof = pi sqrt(a_t^3/mu). Lowering gives negative (retrograde) burns.
    """
    return apse_transfer(r1, r1, r2, r2, mu)


def apse_transfer(r_dep: ArrayLike, a_dep: ArrayLike, r_arr: ArrayLike, a_arr: ArrayLike,
                  mu: float = MU_EARTH_KM3_S2) -> Hohmann:
    """Two tangential burns between apse-aligned orbits (Hohmann for elliptic orbits).

    Departs orbit 1 (semi-major axis ``a_dep``) at one of its apsides, radius ``r_dep``, on a
    transfer ellipse whose other apsis is the radius ``r_arr`` of an apsis of orbit 2
    (semi-major axis ``a_arr``). Vallado Algorithm 36 with e_init, e_final != 0: raising or
    lowering a perigee or apogee, or circularising (e.g. GTO apogee to GEO). Speeds by vis-viva.
    When ``r_dep == r_arr`` the transfer is a single burn at that point (``dv2 = 0``, tof 0).
    """
    r_dep = check_positive("departure radius r_dep", r_dep)
    r_arr = check_positive("arrival radius r_arr", r_arr)
    a_dep = check_positive("semi-major axis a_dep", a_dep)
    a_arr = check_positive("semi-major axis a_arr", a_arr)
    if np.any(r_dep > 2.0 * a_dep) or np.any(r_arr > 2.0 * a_arr):
        raise PhysicsError("an apsis radius cannot exceed twice the semi-major axis")
    a_t = 0.5 * (r_dep + r_arr)
    v1 = np.sqrt(mu * (2.0 / r_dep - 1.0 / a_dep))
    vt1 = np.sqrt(mu * (2.0 / r_dep - 1.0 / a_t))
    vt2 = np.sqrt(mu * (2.0 / r_arr - 1.0 / a_t))
    v2 = np.sqrt(mu * (2.0 / r_arr - 1.0 / a_arr))
    same = r_dep == r_arr
    dv1 = np.where(same, v2 - v1, vt1 - v1)
    dv2 = np.where(same, 0.0, v2 - vt2)
    tof = np.where(same, 0.0, np.pi * np.sqrt(a_t**3 / mu))
    return Hohmann(_out(dv1), _out(dv2), _out(tof))


class Bielliptic(NamedTuple):
    """Three-impulse bi-elliptic transfer: signed burns [km/s] and time of flight [s]."""

    dv1: FloatOrArray
    dv2: FloatOrArray
    dv3: FloatOrArray
    tof: FloatOrArray

    @property
    def total(self) -> FloatOrArray:
        """Sum of the burn magnitudes [km/s]."""
        return _out(np.abs(self.dv1) + np.abs(self.dv2) + np.abs(self.dv3))


def bielliptic(r1: ArrayLike, rb: ArrayLike, r2: ArrayLike, mu: float = MU_EARTH_KM3_S2
               ) -> Bielliptic:
    """Bi-elliptic transfer between circular orbits ``r1`` -> ``r2`` via apoapsis ``rb`` [km].

    Vallado Algorithm 37: a1 = (r1+rb)/2, a2 = (rb+r2)/2; burns at r1, rb and r2; the third burn
    is retrograde (negative) when it lowers the arrival apoapsis onto r2. tof is the sum of the
    two half-ellipse times.
    """
    r1 = check_positive("initial radius r1", r1)
    rb = check_positive("intermediate radius rb", rb)
    r2 = check_positive("final radius r2", r2)
    r1, rb, r2 = np.broadcast_arrays(r1, rb, r2)  # every output has the inputs' shape
    a1 = 0.5 * (r1 + rb)
    a2 = 0.5 * (rb + r2)
    dv1 = np.sqrt(2.0 * mu / r1 - mu / a1) - np.sqrt(mu / r1)
    dv2 = np.sqrt(2.0 * mu / rb - mu / a2) - np.sqrt(2.0 * mu / rb - mu / a1)
    dv3 = np.sqrt(mu / r2) - np.sqrt(2.0 * mu / r2 - mu / a2)
    tof = np.pi * (np.sqrt(a1**3 / mu) + np.sqrt(a2**3 / mu))
    return Bielliptic(_out(dv1), _out(dv2), _out(dv3), _out(tof))


class OneTangent(NamedTuple):
    """One-tangent-burn transfer: burn magnitudes [km/s], tof [s], transfer ellipse a [km], e."""

    dv1: FloatOrArray
    dv2: FloatOrArray
    tof: FloatOrArray
    a: FloatOrArray
    e: FloatOrArray


def one_tangent(r1: ArrayLike, r2: ArrayLike, nu_arrival: ArrayLike,
                mu: float = MU_EARTH_KM3_S2) -> OneTangent:
    """One-tangent burn from circular ``r1`` to circular ``r2`` arriving at true anomaly ``nu``.

    Vallado Algorithm 38 (departure at the transfer orbit's periapsis, r1 < r2): the first burn is
    tangential, the second corrects speed and flight-path angle at r2. ``nu_arrival`` [rad] is the
    transfer orbit's true anomaly at r2, below pi (pi is the Hohmann limit) and large enough
    that the transfer ellipse reaches r2.
    """
    r1 = check_positive("initial radius r1", r1)
    r2 = check_positive("final radius r2", r2)
    nu = np.asarray(nu_arrival, dtype=float)
    ratio = r1 / r2
    e = (ratio - 1.0) / (np.cos(nu) - ratio)
    if not np.all((e >= 0.0) & (e < 1.0)):
        raise PhysicsError(
            "the transfer ellipse for this arrival true anomaly is not a closed orbit departing at "
            "its periapsis; choose nu_arrival so that (r1/r2 - 1)/(cos nu - r1/r2) is in [0, 1)"
        )
    a = r1 / (1.0 - e)
    v1 = np.sqrt(mu / r1)
    vt1 = np.sqrt(2.0 * mu / r1 - mu / a)
    v2 = np.sqrt(mu / r2)
    vt2 = np.sqrt(2.0 * mu / r2 - mu / a)
    fpa = np.arctan2(e * np.sin(nu), 1.0 + e * np.cos(nu))
    dv1 = vt1 - v1
    dv2 = np.sqrt(v2**2 + vt2**2 - 2.0 * v2 * vt2 * np.cos(fpa))
    cos_e = (e + np.cos(nu)) / (1.0 + e * np.cos(nu))
    ecc_anom = np.arccos(np.clip(cos_e, -1.0, 1.0))
    ecc_anom = np.where(np.sin(nu) < 0.0, TWO_PI - ecc_anom, ecc_anom)
    tof = np.sqrt(a**3 / mu) * (ecc_anom - e * np.sin(ecc_anom))
    return OneTangent(_out(dv1), _out(dv2), _out(tof), _out(a), _out(e))


# --------------------------------------------------------------------------------------------
# Plane changes
# --------------------------------------------------------------------------------------------


def inclination_change(v: ArrayLike, delta_i: ArrayLike, fpa: ArrayLike = 0.0) -> FloatOrArray:
    """Magnitude [km/s] of an inclination-only burn at a node: 2 v cos(fpa) sin(|di|/2).

    Vallado Algorithm 39 (inclination-only change, Example 6-4); ``v`` [km/s], ``delta_i`` and
    flight-path angle [rad].
    """
    v = np.asarray(v, dtype=float)
    return _out(2.0 * v * np.cos(fpa) * np.abs(np.sin(0.5 * np.asarray(delta_i, float))))


class PlaneChange(NamedTuple):
    """Single-burn plane rotation on a circular orbit."""

    dv: FloatOrArray  #: burn magnitude [km/s]
    angle: FloatOrArray  #: angle between the planes [rad]
    u_initial: FloatOrArray  #: argument of latitude of the burn in the initial orbit [rad]
    u_final: FloatOrArray  #: argument of latitude of the burn point in the final orbit [rad]


def raan_change(v: ArrayLike, inclination: ArrayLike, delta_raan: ArrayLike) -> PlaneChange:
    """Burn that changes only the RAAN of a circular orbit, keeping its inclination.

    Vallado Algorithm 40 (circular case): cos theta = cos^2 i + sin^2 i cos dRAAN,
    dv = 2 v sin(theta/2); the burn is where the two planes intersect.
    """
    i = np.asarray(inclination, dtype=float)
    raan2 = np.asarray(delta_raan, dtype=float)
    return plane_change(v, i, 0.0, i, raan2)


def plane_change(v: ArrayLike, i1: ArrayLike, raan1: ArrayLike, i2: ArrayLike,
                 raan2: ArrayLike) -> PlaneChange:
    """Burn that rotates a circular orbit of speed ``v`` from plane (i1, RAAN1) to (i2, RAAN2).

    Vallado Algorithm 41: the burn point is on the planes' line of intersection; the velocity is
    rotated about the radius vector by the angle between the planes theta, dv = 2 v sin(theta/2).
    """
    theta = np.asarray(plane_angle(i1, raan1, i2, raan2))
    u1, u2 = node_crossing(i1, raan1, i2, raan2)
    dv = 2.0 * np.asarray(v, dtype=float) * np.sin(0.5 * theta)
    return PlaneChange(_out(dv), _out(theta), u1, u2)


def combined_burn(v1: ArrayLike, v2: ArrayLike, theta: ArrayLike) -> FloatOrArray:
    """Magnitude [km/s] of one burn that changes speed v1 -> v2 and turns the velocity by theta.

    Law of cosines (Vallado Algorithm 42, each burn of a combined change of speed and plane):
    dv = sqrt(v1^2 + v2^2 - 2 v1 v2 cos theta), evaluated
    as sqrt((v1 - v2)^2 + 4 v1 v2 sin^2(theta/2)), which is the same number without the
    cancellation of the textbook form (that loses half the digits for small burns).
    """
    v1 = np.asarray(v1, dtype=float)
    v2 = np.asarray(v2, dtype=float)
    s = np.sin(0.5 * np.asarray(theta, dtype=float))
    return _out(np.sqrt((v1 - v2) ** 2 + 4.0 * v1 * v2 * s * s))


class SplitTransfer(NamedTuple):
    """Two-burn transfer with a plane change split between its burns."""

    dv1: FloatOrArray  #: first burn magnitude [km/s]
    dv2: FloatOrArray  #: second burn magnitude [km/s]
    tof: FloatOrArray  #: time of flight [s]
    theta1: FloatOrArray  #: plane rotation in the first burn [rad] (sign of the total)
    theta2: FloatOrArray  #: plane rotation in the second burn [rad]

    @property
    def total(self) -> FloatOrArray:
        """Sum of the burn magnitudes [km/s]."""
        return _out(np.asarray(self.dv1) + np.asarray(self.dv2))


_SPLIT_BLOCK = 32768  # elements per block: keeps the working arrays in the CPU cache

# The split kernel keeps every per-element constant in one table ``q`` of shape (10, n), so that
# one fancy index gathers or compacts them all: rows 0-1 p_k (burn k = 1, 2: the product of its
# two speeds), 2-3 2 p_k, 4-5 4 p_k, 6-7 e_k = d_k^2 (d_k the speed change), 8 sin(theta/2),
# 9 cos(theta/2). Stacking the two burns' rows lets one NumPy call serve both burns.
_Q_P, _Q_P2, _Q_P4, _Q_E = slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8)
_Q_STH, _Q_CTH = 8, 9


def _split_slopes(u: FloatArray, q: FloatArray, order: int = 1) -> tuple[FloatArray, ...]:
    """Derivatives of the split cost at x = 4 atan(u), without trig calls.

    ``q`` is the kernel's constant table (see ``_Q_P``); its last axis matches ``u``'s (pass
    ``q[:, None]`` for a ``u`` of shape (k, n)). s = sin(x/2), c = cos(x/2) from the half-angle
    parameter u = tan(x/4); the second burn's half-angle y/2 = theta/2 - x/2 by the subtraction
    formulas. With g_k = sqrt(e_k + 4 p_k sin^2), h_k = g_k' = p_k sin / g_k,
    h_k' = (p_k cos - h_k^2) / g_k and h_k'' = -(p_k sin + 3 h_k h_k') / g_k, the cost's
    derivatives are f' = h1(x) - h2(y), f'' = h1' + h2' and f3 = h1'' - h2''. Returns f' for
    ``order`` 1, (f', f'') for 2, and (f', f'', f3, 1 + u^2) for 3. Both burns' quantities are
    computed as one (2, ...) array. At x = 0 or y = 0 with no speed change (g = 0) the guard
    below keeps f' finite (its sign is what is used there; the ends are scored separately),
    while f'' and f3 may overflow to inf: the safeguarded steps reject such points. The
    caller silences the floating-point warnings.
    """
    uu = u * u
    den = 1.0 + uu
    inv = 1.0 / den
    sc = np.empty((2, 2, *u.shape))  # [sin, cos] of [x/2, y/2]
    s, c = sc[0], sc[1]
    np.multiply(u, 2.0, out=s[0])
    s[0] *= inv
    np.subtract(1.0, uu, out=c[0])
    c[0] *= inv
    s_th, c_th = q[_Q_STH], q[_Q_CTH]
    np.multiply(s_th, c[0], out=s[1])  # sin(y/2) = sin(theta/2) cos(x/2) - cos(theta/2) sin(x/2)
    s[1] -= c_th * s[0]
    np.multiply(c_th, c[0], out=c[1])  # cos(y/2) = cos(theta/2) cos(x/2) + sin(theta/2) sin(x/2)
    c[1] += s_th * s[0]
    ss = s * s
    g = q[_Q_P4] * ss  # g = sqrt(e + 4 p sin^2)
    g += q[_Q_E]
    np.sqrt(g, out=g)
    r = np.maximum(g, 1e-300)  # 1 / g
    np.divide(1.0, r, out=r)
    ps = q[_Q_P2] * s  # p sin = 2 p s c
    ps *= c
    h = ps * r
    fp = h[0] - h[1]
    if order == 1:
        return (fp,)
    k = q[_Q_P2] * ss  # h' = (p cos - h^2) / g, cos = 1 - 2 s^2
    np.subtract(q[_Q_P], k, out=k)
    k -= h * h
    k *= r
    fpp = k[0] + k[1]
    if order == 2:
        return fp, fpp
    l3 = 3.0 * h  # -h'' = (p sin + 3 h h') / g
    l3 *= k
    l3 += ps
    l3 *= r
    return fp, fpp, l3[1] - l3[0], den


def _split_root(st: FloatArray, q: FloatArray, iterations: int) -> FloatArray:
    """Safeguarded Halley iteration for f' = 0 in u = tan(x/4) on the brackets in ``st``.

    ``st`` has rows (start, lo, hi, tol): f'(lo) <= 0 <= f'(hi), the start inside; ``q`` the
    constant table of the same columns. Both are consumed (updated in place).
    A converged step (Newton part within the tolerance, or f' = 0) is accepted even on the
    bracket's end: the bracket update has just moved that end to the current point, and
    bisecting towards it instead cost up to a dozen more iterations.
    Halley's correction factor is clipped to [2/3, 2] (it stalls near stationary points of f');
    a step that leaves the bracket (or meets f'' <= 0) is replaced by bisection. An element
    stops after a step whose Newton part is within ``tol`` (1e-7 of its bracket's width: the
    error after a converging Halley step is of the order of its length cubed). Finished
    elements keep iterating (their answer is kept aside) until a quarter of a large working set
    has finished, which is then compacted.
    """
    n = st.shape[1]
    u_out = np.empty(n)
    idx: NDArray[np.intp] | None = None  # positions in u_out of the working set (None: all)
    fin = np.zeros(n, dtype=bool)  # finished (u frozen), waiting to leave the working set
    u, lo, hi, tol = st
    for _ in range(iterations):
        fp, fpp, f3, den = _split_slopes(u, q, 3)
        # The bracket's end moves to u: lo where f' < 0, hi elsewhere. As 0 <= lo <= u <= hi,
        # lo = max(lo, u [f' < 0]) and hi = min(hi, u + hi [f' < 0]) (no select on a random mask).
        neg = fp < 0.0
        t = u * neg
        np.maximum(lo, t, out=lo)
        np.multiply(hi, neg, out=t)
        t += u
        np.minimum(hi, t, out=hi)
        # Halley on F(u) = f'(x(u)), x = 4 atan(u): F_u = f'' x', F_uu = f3 x'^2 + f'' x'',
        # x' = 4 / (1 + u^2), x'' = -u x'^2 / 2. With a = f' / f'' (Newton's step in x) the
        # Newton part is F / F_u = a (1 + u^2) / 4 and the correction F F_uu / (2 F_u^2) is
        # a (f3 / f'' - u / 2) / 2. Where f'' <= 0 the step is rejected below.
        newton = fp / fpp
        corr = f3 / fpp
        corr -= 0.5 * u
        corr *= newton  # (a is newton until scaled)
        corr *= 0.5
        newton *= den
        newton *= 0.25
        np.maximum(corr, -0.5, out=corr)
        np.minimum(corr, 0.5, out=corr)
        np.subtract(1.0, corr, out=corr)
        np.divide(newton, corr, out=corr)
        u_new = u - corr
        # A converged step may land on the end the bracket update just moved to u (f' = 0
        # exactly, or a step below rounding): accept it there rather than bisect towards it.
        # (A step moves away from that end, so only the far end can be crossed.)
        root = fp == 0.0  # (where f'' may have overflowed)
        np.copyto(u_new, u, where=root)
        ok = u_new >= lo
        ok &= u_new <= hi
        ok &= fpp > 0.0
        ok |= root
        np.add(lo, hi, out=t)  # bisection where the step is rejected
        t *= 0.5
        np.copyto(u_new, t, where=~ok)
        np.copyto(u_new, u, where=fin)
        np.copyto(u, u_new)
        done = np.abs(newton) <= tol
        done |= root
        done &= ok
        np.subtract(hi, lo, out=t)
        done |= t <= tol
        fin |= done
        if fin.all():
            break
        n_fin = np.count_nonzero(fin)
        if 4 * n_fin >= fin.size and n_fin >= _SPLIT_COMPACT:
            gone, keep = np.flatnonzero(fin), np.flatnonzero(~fin)
            u_out[gone if idx is None else idx[gone]] = u[gone]
            idx = keep if idx is None else idx[keep]
            st, q = np.take(st, keep, axis=1), np.take(q, keep, axis=1)
            u, lo, hi, tol = st
            fin = np.zeros(keep.size, dtype=bool)
    u_out[slice(None) if idx is None else idx] = u
    return u_out


_SPLIT_COMPACT = 1024  # least number of finished elements worth compacting the working set for


def _split_block(v: FloatArray, th: FloatArray, iterations: int, work: FloatArray
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The optimal split on one block: speeds ``v`` (rows v1, v2, vt1, vt2), angles ``th``.

    Returns dv1, dv2 and the first burn's rotation x. Work that only some elements need (the
    slopes at the inflections, the guesses near the ends, the second minimum) is done on those
    elements only. ``work``: room for the constant table of twice the block (10, >= 2 m), so
    that the second minima's columns are appended without copying it.
    """
    m = th.shape[0]
    q = work[:, :m]
    p, p2, p4, e = q[_Q_P], q[_Q_P2], q[_Q_P4], q[_Q_E]
    s_th, c_th = q[_Q_STH], q[_Q_CTH]
    np.multiply(v[0:2], v[2:4], out=p)
    dv = v[0:2] - v[2:4]
    np.multiply(dv, dv, out=e)
    np.multiply(p, 2.0, out=p2)
    np.multiply(p, 4.0, out=p4)
    u_th = np.tan(0.25 * th)  # the only trigonometric call until the final angle
    uu_th = u_th * u_th
    inv = 1.0 / (1.0 + uu_th)
    np.multiply(2.0 * u_th, inv, out=s_th)  # sin, cos of theta/2
    np.subtract(1.0, uu_th, out=c_th)
    c_th *= inv

    # Inflection of g (peak of g'): sin^2(x*/2) = e / (e + sqrt(e^2 + 4 p e)) <= 1/2, as
    # u* = tan(x*/4) = s / (1 + c). No speed change (e = 0): g is concave from x = 0.
    t = np.sqrt(e * e + p4 * e)
    t += e
    np.maximum(t, 1e-300, out=t)
    qi = e / t
    infl = np.sqrt(qi) / (1.0 + np.sqrt(1.0 - qi))
    a = np.minimum(infl[0], u_th)  # g1 convex for x < a
    w = infl[1]  # g2(theta - x) convex for x > theta - x2*
    b = np.maximum((u_th - w) / (1.0 + u_th * w), 0.0)
    n1, n2 = np.minimum(a, b), np.maximum(a, b)
    # each burn with all the rotation: row 0 burn 1 at x = theta, row 1 burn 2 at x = 0
    g_end = p4 * s_th
    g_end *= s_th
    g_end += e
    np.sqrt(g_end, out=g_end)
    f_end = p2 * s_th  # f'(theta) >= 0 and -f'(0) >= 0
    f_end *= c_th
    f_end /= np.maximum(g_end, 1e-300)
    f0, fth = -f_end[1], f_end[0]
    # f' at the nodes; where f is convex on the whole range (n1 = 0, n2 = theta) they are the
    # ends, and only the nodes inside (0, theta) are evaluated.
    f1, f2 = f0.copy(), fth.copy()
    j1, j2 = np.flatnonzero(n1 > 0.0), np.flatnonzero(n2 < u_th)
    if j1.size or j2.size:
        fn = _split_slopes(np.concatenate((n1[j1], n2[j2])),
                           np.take(q, np.concatenate((j1, j2)), axis=1))[0]
        f1[j1], f2[j2] = fn[: j1.size], fn[j1.size :]
    # Between the inflections f' is monotonic, and each outer piece holds at most one rising
    # zero of f'. The first piece whose right end has f' > 0 holds the "left" minimum; when
    # f'(n1) > 0 > f'(n2) the last piece [n2, theta] holds a second ("right") one.
    c1 = f1 <= 0.0  # not in [0, n1]
    c2 = f2 <= 0.0  # not in [n1, n2] either
    dn, dt = n2 - n1, u_th - n2
    lo = c1 * (n1 + c2 * dn)
    hi = n1 + c1 * (dn + c2 * dt)
    # First guesses. Between the inflections (the whole range where f is convex): the
    # small-angle optimum. With sin(x/2) ~ x/2 and equal burn speeds (p1 = p2) stationarity
    # p1 x / g1 = p2 (theta - x) / g2 gives x = theta d1 / (d1 + d2) exactly; for small
    # rotations (g_k ~ d_k + p_k x^2 / (2 d_k)) x = theta w1 / (w1 + w2) with w_k = d_k / p_k,
    # the same split when p1 = p2; u = tan(x/4) by its Pade approximant z (15 - z^2) /
    # (15 - 6 z^2) (2e-4 relative at x = pi, far below the guess's own error). Near an end (a
    # minimum inside [0, x1*] or [theta - x2*, theta]): the other burn's slope frozen at its
    # value at that end, C = -f'(0) (or f'(theta)), and h_k(x) = C solved for S = sin^2(x/2):
    # 4 p^2 S (1 - S) = C^2 (e + 4 p S), S = C^2 e / (2 p (q + sqrt(q^2 - C^2 e))),
    # q = p - C^2; u = s / (1 + sqrt(1 - S)).
    # From these Halley needs two or three steps and a confirming one.
    d = np.sqrt(e)
    wk = d / p
    xy = np.empty((2, m))
    np.multiply(wk[0] / (wk[0] + wk[1]), th, out=xy[0])
    np.subtract(th, xy[0], out=xy[1])
    # one Newton step on the hyperbola model g_k ~ sqrt(e_k + p_k x^2)
    gm = xy * xy
    gm *= p
    gm += e
    np.sqrt(gm, out=gm)
    hm = p * xy
    hm /= gm
    fm = hm[0] - hm[1]
    dm = p * e
    gm3 = gm * gm
    gm3 *= gm
    dm /= gm3
    fm /= dm[0] + dm[1]
    z = xy[0] - fm
    np.minimum(np.maximum(z, 0.0), th, out=z)
    z *= 0.25
    zz = z * z
    u0 = 15.0 - zz
    u0 *= z
    zz *= -6.0
    zz += 15.0
    u0 /= zz

    def near_end(k: int, j: NDArray[np.intp]) -> FloatArray:  # burn k's guess, elements j
        cc = f_end[1 - k, j] ** 2
        pk, ek = p[k, j], e[k, j]
        qq = pk - cc
        cce = cc * ek
        ss = cce / (2.0 * pk * (qq + np.sqrt(qq * qq - cce)))
        u_k: FloatArray = np.sqrt(ss) / (1.0 + np.sqrt(1.0 - ss))
        return u_k

    jl = np.flatnonzero(~c1)
    if jl.size:
        u0[jl] = near_end(0, jl)
    two_or_right = c2 & (c1 | (f1 > 0.0))  # f'(n2) < 0 < f'(n1) (two minima), or c1 & c2
    jr = np.flatnonzero(two_or_right)
    u_right = np.empty(0)
    two = jr
    if jr.size:
        u_y = near_end(1, jr)  # tan(y/4) of the second burn's rotation y = theta - x
        u_right = (u_th[jr] - u_y) / (1.0 + u_th[jr] * u_y)
        right = c1[jr]
        u0[jr[right]] = u_right[right]
        two, u_right = jr[~right], u_right[~right]
    # The working set: the left minima, then the right ones where there are two.
    k = two.size
    st = np.empty((4, m + k))
    st[0, :m], st[1, :m], st[2, :m] = u0, lo, hi
    if k:
        st[0, m:], st[1, m:], st[2, m:] = u_right, n2[two], u_th[two]
        work[:, m : m + k] = q[:, two]
        q = work[:, : m + k]
    u0, lo, hi = st[0], st[1], st[2]
    # Start from the first guess where it lies inside the bracket, else from the secant point.
    bad = np.flatnonzero(~((u0 > lo) & (u0 < hi)))
    if bad.size:  # f' at the bracket's ends
        j = np.concatenate((np.arange(m), two))[bad]
        left, c1_, c2_ = bad < m, c1[j], c2[j]
        f0_, f1_, f2_, fth_ = f0[j], f1[j], f2[j], fth[j]
        f_lo = np.where(left, f0_ + c1_ * (f1_ - f0_ + c2_ * (f2_ - f1_)), f2_)
        f_hi = np.where(left, f1_ + c1_ * (f2_ - f1_ + c2_ * (fth_ - f2_)), fth_)
        lo_b, hi_b = lo[bad], hi[bad]
        u = lo_b - f_lo * (hi_b - lo_b) / (f_hi - f_lo)
        u0[bad] = np.where((u >= lo_b) & (u <= hi_b), u, 0.5 * (lo_b + hi_b))
    np.maximum(1e-7 * (hi - lo), 4e-16 * hi, out=st[3])  # relative to the bracket, not to u
    u = _split_root(st, q, iterations)
    # the burns at the roots
    uu = u * u
    inv = 1.0 / (1.0 + uu)
    s_x = np.empty((2, u.shape[0]))
    np.multiply(2.0 * u, inv, out=s_x[0])
    np.subtract(q[_Q_STH] * (1.0 - uu), q[_Q_CTH] * 2.0 * u, out=s_x[1])
    s_x[1] *= inv
    g = q[_Q_P4] * s_x
    g *= s_x
    g += q[_Q_E]
    np.sqrt(g, out=g)
    if k:  # the better of the two minima
        tot = g[0] + g[1]
        better = tot[m:] < tot[two]
        pick = two[better]
        u[pick], g[:, pick] = u[m:][better], g[:, m:][:, better]
        u, g = u[:m], g[:, :m]
    x = 4.0 * np.arctan(u)
    # The ends are candidates too (they win when a burn has little or no speed change).
    tot = g[0] + g[1]
    end = d + g_end[::-1]  # x = 0: d1 + g2(theta); x = theta: g1(theta) + d2
    use0 = (end[0] < tot) & (end[0] <= end[1])
    use1 = (end[1] < tot) & ~use0
    np.copyto(x, 0.0, where=use0)
    np.copyto(x, th, where=use1)
    g1, g2 = g
    np.copyto(g1, d[0], where=use0)
    np.copyto(g1, g_end[0], where=use1)
    np.copyto(g2, g_end[1], where=use0)
    np.copyto(g2, d[1], where=use1)
    return g1, g2, x


def _split_flat(speeds: Callable[[slice], FloatArray], theta: FloatArray, iterations: int
                ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """optimal_split on 1-D ``theta`` (n,), block by block.

    ``speeds(sl)`` gives the speeds of the elements ``sl`` as one (4, len) array, rows v1, v2,
    vt1, vt2. Returns (dv1, dv2, theta1, theta2) of shape (n,). The floating-point warnings of
    the kernel are silenced here: its guards and safeguarded steps handle inf and NaN
    intermediates (see _split_slopes).
    """
    th = np.abs(theta)
    if np.any(th > np.pi):
        raise PhysicsError("a plane-change angle must be within [-pi, pi]")
    n = th.shape[0]
    dv1, dv2, x = np.empty(n), np.empty(n), np.empty(n)
    work = np.empty((10, 2 * min(n, _SPLIT_BLOCK)))  # reused by every block
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, n, _SPLIT_BLOCK):
            sl = slice(start, start + _SPLIT_BLOCK)
            dv1[sl], dv2[sl], x[sl] = _split_block(speeds(sl), th[sl], iterations, work)
    th1 = np.copysign(x, theta)  # x, th - x >= 0 carry the sign of theta
    th2 = np.copysign(th - x, theta)
    return dv1, dv2, th1, th2


def optimal_split(v1: ArrayLike, vt1: ArrayLike, vt2: ArrayLike, v2: ArrayLike,
                  theta: ArrayLike, iterations: int = 60
                  ) -> tuple[FloatOrArray, FloatOrArray, FloatOrArray, FloatOrArray]:
    """Split a plane rotation theta between two burns to minimise their total delta-v.

    Burn 1 changes speed v1 -> vt1 and turns the plane by x; burn 2 changes vt2 -> v2 and turns
    it by theta - x. The cost is f(x) = g1(x) + g2(theta - x) with g_k(x) = sqrt(d_k^2 +
    4 p_k sin^2(x/2)) (law of cosines, Vallado eq. 6-23 per burn), d_k the speed change and p_k
    the product of the two speeds of burn k (Vallado sec. 6.4.3, "Combined maneuvers"; Vallado
    finds the optimum by iteration, Table 6-3; here it is solved to rounding).

    f is not convex in general: each g_k is convex up to its inflection x_k* (where
    sin^2(x*/2) = d^2 / (d^2 + sqrt(d^4 + 4 p d^2)), at most 90 deg) and concave beyond, so f
    can have a local minimum near each end (small speed changes, large angles). Between the
    inflection points ``x1*`` and ``theta - x2*`` f' is monotonic, so evaluating f' there
    brackets a "left" and a "right" minimum; each bracket holds one root of f' (checked
    against a dense grid on 10^6 random cases over the whole parameter space, see
    tests/test_maneuvers.py) found by safeguarded Halley steps in u = tan(x/4), a parameter in
    which every sine and cosine is rational, from closed-form first guesses (the small-angle
    split between the inflections, the one-burn slope balance near an end; see _split_block),
    and the better of the two minima and the two ends is returned.

    Parameters are broadcast; speeds [km/s], theta [rad] in [-pi, pi] (its sign is carried to
    the split). Returns ``(dv1, dv2, theta1, theta2)``: burn magnitudes [km/s] and the
    rotations [rad] in each burn.
    """
    v1, vt1, vt2, v2, theta = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (v1, vt1, vt2, v2, theta))
    )
    shape = theta.shape
    flat = [np.ravel(x) for x in (v1, v2, vt1, vt2)]
    out = _split_flat(lambda sl: np.stack([x[sl] for x in flat]), theta.ravel(), iterations)
    dv1, dv2, th1, th2 = (_out(x.reshape(shape)) for x in out)
    return dv1, dv2, th1, th2


def hohmann_plane_change(r1: ArrayLike, r2: ArrayLike, theta: ArrayLike,
                         mu: float = MU_EARTH_KM3_S2, a1: ArrayLike | None = None,
                         a2: ArrayLike | None = None) -> SplitTransfer:
    """Hohmann transfer with a plane change ``theta`` [rad] split optimally between its burns.

    Circular orbits by default; pass ``a1``/``a2`` for apse-aligned elliptic orbits departing at
    radius ``r1`` and arriving at radius ``r2`` (as :func:`apse_transfer`). The split is the exact
    optimum of :func:`optimal_split` (Vallado sec. 6.4.3; Vallado Table 6-3 lists the iterated
    optimum for LEO to GEO). Burns are at the line of nodes, tof = pi sqrt(a_t^3/mu).
    """
    r1 = check_positive("initial radius r1", r1)
    r2 = check_positive("final radius r2", r2)
    a1 = r1 if a1 is None else check_positive("semi-major axis a1", a1)
    a2 = r2 if a2 is None else check_positive("semi-major axis a2", a2)
    r1, r2, a1, a2, theta = np.broadcast_arrays(r1, r2, a1, a2, np.asarray(theta, dtype=float))
    shape = theta.shape
    a_t = 0.5 * (r1 + r2)
    # vis-viva for the four speeds at once: rows v1, v2 (the orbits), vt1, vt2 (the transfer)
    flat = [np.ravel(x) for x in (r1, r2, a1, a2, a_t)]

    def speeds(sl: slice) -> FloatArray:  # vis-viva: rows v1, v2 (the orbits), vt1, vt2
        r1_, r2_, a1_, a2_, a_t_ = (x[sl] for x in flat)
        two_r1, two_r2, inv_t = 2.0 / r1_, 2.0 / r2_, 1.0 / a_t_
        v = np.empty((4, r1_.shape[0]))
        np.subtract(two_r1, 1.0 / a1_, out=v[0])
        np.subtract(two_r2, 1.0 / a2_, out=v[1])
        np.subtract(two_r1, inv_t, out=v[2])
        np.subtract(two_r2, inv_t, out=v[3])
        v *= mu
        return np.sqrt(v, out=v)

    dv1, dv2, th1, th2 = (x.reshape(shape) for x in _split_flat(speeds, theta.ravel(), 60))
    tof = np.pi * np.sqrt(a_t**3 / mu)
    same = r1 == r2
    if np.any(same):
        # Equal radii: there is no transfer orbit, only one burn at that point from v1 to v2
        # turning the plane by theta (law of cosines), as in apse_transfer (dv2 = 0, tof 0).
        # The split above would pass through the "transfer" speed vt1 = vt2, the circular
        # speed at r1 (a_t = r1): the same 2 v sin(theta/2) for circular orbits, but for
        # elliptic ones a detour of 2 |v_circ - v1| (2.46 km/s between two identical e = 0.9
        # orbits instead of 0).
        v1 = np.sqrt(mu * (2.0 / r1[same] - 1.0 / a1[same]))
        v2 = np.sqrt(mu * (2.0 / r2[same] - 1.0 / a2[same]))
        dv1[same] = combined_burn(v1, v2, theta[same])
        dv2 = np.where(same, 0.0, dv2)
        th1 = np.where(same, theta, th1)
        th2 = np.where(same, 0.0, th2)
        tof = np.where(same, 0.0, tof)
    return SplitTransfer(_out(dv1), _out(dv2), _out(tof), _out(th1), _out(th2))


def plane_change_separately(r1: ArrayLike, r2: ArrayLike, theta: ArrayLike,
                            mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """Total delta-v [km/s] of a Hohmann plus a separate plane change at the slower end.

    The naive baseline a combined transfer must beat: the plane change is done alone at
    whichever of r1, r2 has the lower circular speed (Vallado sec. 6.4.3).
    """
    h = hohmann(r1, r2, mu)
    v_slow = np.sqrt(mu / np.maximum(np.asarray(r1, float), np.asarray(r2, float)))
    return _out(np.abs(h.dv1) + np.abs(h.dv2) + inclination_change(v_slow, theta))


# --------------------------------------------------------------------------------------------
# Phasing
# --------------------------------------------------------------------------------------------


class Phasing(NamedTuple):
    """Coplanar phasing in one circular orbit."""

    tof: FloatOrArray  #: time from the first burn to rendezvous [s]
    dv: FloatOrArray  #: signed sum of the two equal burns [km/s] (negative: phasing orbit below)
    a_phase: FloatOrArray  #: semi-major axis of the phasing orbit [km]


def phasing(a: ArrayLike, phase: ArrayLike, k_target: ArrayLike = 1, k_interceptor: ArrayLike = 1,
            mu: float = MU_EARTH_KM3_S2) -> Phasing:
    """Phasing in a circular orbit of radius ``a`` [km] to close a phase angle [rad].

    Vallado Algorithm 44: ``phase`` is the target's angle measured from the interceptor,
    negative when the target leads (Vallado Example 6-8 uses -20 deg). The interceptor flies
    ``k_interceptor`` revolutions of a phasing orbit while the target flies
    ``k_target`` revolutions plus ``phase``: tof = (2 pi k_tgt + phase)/n,
    a_phase = (mu (tof / (2 pi k_int))^2)^(1/3), dv = 2 (sqrt(2mu/a - mu/a_phase) - sqrt(mu/a)).
    """
    a = check_positive("orbit radius a", a)
    phase = np.asarray(phase, dtype=float)
    n = np.sqrt(mu / a**3)
    tof = (TWO_PI * np.asarray(k_target, float) + phase) / n
    if np.any(tof <= 0.0):
        raise PhysicsError("phasing time must be positive: increase k_target")
    a_ph = (mu * (tof / (TWO_PI * np.asarray(k_interceptor, float))) ** 2) ** (1.0 / 3.0)
    if np.any(a > 2.0 * a_ph):
        raise PhysicsError("phasing orbit would not reach the orbit radius: increase k")
    dv = 2.0 * (np.sqrt(2.0 * mu / a - mu / a_ph) - np.sqrt(mu / a))
    return Phasing(_out(tof), _out(dv), _out(a_ph))


class PhasingTransfer(NamedTuple):
    """Hohmann transfer between circular orbits timed to meet a target (Vallado Alg. 45)."""

    lead_angle: FloatOrArray  #: target's phase ahead of the interceptor at departure [rad]
    wait: FloatOrArray  #: time to wait in the initial orbit before the first burn [s]
    dv: FloatOrArray  #: total delta-v magnitude [km/s]
    tof: FloatOrArray  #: transfer time [s]


def phasing_transfer(r_int: ArrayLike, r_tgt: ArrayLike, phase: ArrayLike, k: ArrayLike = 0,
                     mu: float = MU_EARTH_KM3_S2) -> PhasingTransfer:
    """Wait in the interceptor's circular orbit, then Hohmann to meet the target.

    Vallado Algorithm 45 (Example 6-9): the target must lead by pi - n_tgt tof at departure;
    starting from ``phase`` [rad] (target's angle ahead of the interceptor now), the wait is
    (lead - phase + 2 pi k) / (n_int - n_tgt); ``k`` adds synodic periods (Vallado's k_tgt).
    A negative wait is wrapped by one synodic period.
    """
    r_int = check_positive("interceptor radius r_int", r_int)
    r_tgt = check_positive("target radius r_tgt", r_tgt)
    a_t = 0.5 * (r_int + r_tgt)
    tof = np.pi * np.sqrt(a_t**3 / mu)
    n_int, n_tgt = np.sqrt(mu / r_int**3), np.sqrt(mu / r_tgt**3)
    lead = np.pi - n_tgt * tof
    rel = n_int - n_tgt
    if np.any(rel == 0.0):
        raise PhysicsError("interceptor and target orbits have the same radius: use phasing()")
    wait = (lead - np.asarray(phase, float) + TWO_PI * np.asarray(k, float)) / rel
    wait = np.where(wait < 0.0, wait + TWO_PI / np.abs(rel), wait)
    h = hohmann(r_int, r_tgt, mu)
    return PhasingTransfer(_out(lead), _out(wait), h.total, _out(tof))


# --------------------------------------------------------------------------------------------
# J2 nodal drift
# --------------------------------------------------------------------------------------------


def drift_time(gap: ArrayLike, a_drift: ArrayLike, i_drift: ArrayLike, a_target: ArrayLike,
               i_target: ArrayLike, mu: float = MU_EARTH_KM3_S2, r_eq: float = R_EARTH_KM,
               j2: float = J2_EARTH) -> FloatOrArray:
    """Time [s] for a circular drift orbit's node to catch a target plane's node.

    ``gap`` [rad] is the target's RAAN minus the drift orbit's, taken in [0, 2 pi). Both nodes
    regress at their J2 secular rates (Vallado eq. 9-41); the gap closes at the differential
    rate, forwards (gap / rate) when the drift orbit turns faster eastwards, else the other way
    round ((2 pi - gap) / |rate|). Returns inf where the rates are equal.
    """
    rate = np.asarray(raan_rate(a_drift, 0.0, i_drift, mu, r_eq, j2)) - np.asarray(
        raan_rate(a_target, 0.0, i_target, mu, r_eq, j2)
    )
    g = np.mod(np.asarray(gap, float), TWO_PI)
    with np.errstate(divide="ignore"):
        t = np.where(rate > 0.0, g / rate, np.where(rate < 0.0, (TWO_PI - g) / -rate, np.inf))
    return _out(np.where(g == 0.0, 0.0, t))


def transfer_dv(a1: ArrayLike, i1: ArrayLike, a2: ArrayLike, i2: ArrayLike,
                mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """Total delta-v [km/s] between circular orbits in planes sharing a node line.

    Hohmann with the inclination change |i2 - i1| split optimally (:func:`hohmann_plane_change`);
    used for reaching and leaving a drift orbit, whose RAAN equals the orbit it is reached from.
    """
    return hohmann_plane_change(a1, a2, np.asarray(i2, float) - np.asarray(i1, float), mu).total


class DriftOrbit(NamedTuple):
    """Cheapest J2 drift orbit for a RAAN gap and a time budget."""

    dv: FloatOrArray  #: total delta-v to reach the drift orbit and then the target [km/s]
    dv_in: FloatOrArray  #: delta-v from the initial orbit to the drift orbit [km/s]
    dv_out: FloatOrArray  #: delta-v from the drift orbit to the target orbit [km/s]
    a: FloatOrArray  #: drift orbit radius [km]
    i: FloatOrArray  #: drift orbit inclination [rad]
    direction: FloatOrArray  #: +1 when the drift orbit's node moves east relative to the target's


def _drift_inclination(want: FloatArray, a_d: FloatArray, mu: float, r_eq: float, j2: float
                       ) -> FloatArray:
    """cos i of circular orbits of radius a_d whose nodal rate is ``want`` (beyond +-1 where
    none is).

    The rate model is raan_rate's (Brouwer's secular terms, as in SGP4: Vallado eq. 9-41 plus
    the J2^2 part), which for e = 0 is odd and cubic in c = cos i: rate = A c + B c^3, with A
    and B read off the model at c = 1 and c = 1/2. Newton's method on that cubic from the
    first-order solution c = -want / (3/2 n J2 (R/a)^2) converges quadratically (the J2^2
    part is ~1e-3 of the rate): three steps reach rounding. The step is taken from c clipped
    to [-1, 1], so an infeasible c stays beyond +-1.
    """
    zero = np.zeros(1)
    r_one = _brouwer_secular(a_d, zero, np.ones(1), mu, r_eq, j2)[0]
    r_half = _brouwer_secular(a_d, zero, np.full(1, 0.5), mu, r_eq, j2)[0]
    b = (4.0 / 3.0) * (r_one - 2.0 * r_half)
    a = r_one - b
    cos_i = -want / (1.5 * j2 * (r_eq / a_d) ** 2 * np.sqrt(mu / a_d**3))  # first order
    for _ in range(3):
        c = np.clip(cos_i, -1.0, 1.0)
        cc = c * c
        cos_i = c - ((a + b * cc) * c - want) / (a + 3.0 * b * cc)
    return cos_i


def _drift_candidates(a1: FloatArray, i1: FloatArray, a2: FloatArray, i2: FloatArray,
                      a_d: FloatArray, cos_i: FloatArray, mu: float,
                      bound: FloatArray | None = None, lower: FloatArray | None = None
                      ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cost, dv_in, dv_out and inclination of drift orbits (a_d, arccos cos_i) between
    (a1, i1) and (a2, i2) (1-D arrays alike); inf where |cos_i| > 1 (no such orbit).

    With ``bound`` (per element), an orbit whose cost provably exceeds it is not priced: its
    cost is returned as that lower bound (dv_in, dv_out inf). Per transfer, by the triangle
    inequality on the burn vectors (d_k, 2 sqrt(p_k) sin(x_k/2)) and sin(x/2) + sin(y/2) >=
    sin((x + y)/2), the split's cost is at least sqrt((d1 + d2)^2 + 4 min(p1, p2) sin^2(theta/2)).
    ``lower``: those bounds (or costs) from an earlier call on the same orbits.
    """
    i_d = np.arccos(np.clip(cos_i, -1.0, 1.0))
    cost = np.full(a_d.shape, np.inf)
    dv_in, dv_out = cost.copy(), cost.copy()
    ok = np.flatnonzero(np.abs(cos_i) <= 1.0)  # only these are priced (two splits each)
    r1, r2, th = (np.concatenate([x[ok], y[ok]]) for x, y in
                  ((a1, a_d), (a_d, a2), (i_d - i1, i2 - i_d)))  # transfers in, then out
    if bound is not None and lower is not None:
        lb = lower[ok]
        cost[ok] = lb
        price = lb <= bound[ok] * (1.0 + 1e-12) + 1e-15
        ok = ok[price]
        twice = np.concatenate([price, price])
        r1, r2, th = r1[twice], r2[twice], th[twice]
    elif bound is not None and ok.size:
        a_t = 0.5 * (r1 + r2)
        v1, v2 = np.sqrt(mu / r1), np.sqrt(mu / r2)
        vt1, vt2 = np.sqrt(mu * (2.0 / r1 - 1.0 / a_t)), np.sqrt(mu * (2.0 / r2 - 1.0 / a_t))
        s = np.sin(0.5 * th)
        lb = np.sqrt((np.abs(vt1 - v1) + np.abs(v2 - vt2)) ** 2
                     + 4.0 * np.minimum(v1 * vt1, v2 * vt2) * s * s)
        lb = lb[: ok.size] + lb[ok.size :]
        cost[ok] = lb
        # priced unless clearly above the bound (a margin far above the bound's rounding)
        price = lb <= bound[ok] * (1.0 + 1e-12) + 1e-15
        ok = ok[price]
        twice = np.concatenate([price, price])
        r1, r2, th = r1[twice], r2[twice], th[twice]
    if ok.size:  # both transfers in one call: transfer_dv(a1, i1, a_d, i_d), (a_d, i_d, a2, i2)
        both = np.asarray(hohmann_plane_change(r1, r2, th, mu).total)
        dv_in[ok], dv_out[ok] = both[: ok.size], both[ok.size :]
        cost[ok] = dv_in[ok] + dv_out[ok]
    return cost, dv_in, dv_out, i_d


_DRIFT_K = 5  # radii per row and round of the k-section search in cheapest_drift
_DRIFT_TIGHTER = 16.0  # its final bracket against the golden-section search's it replaced


def cheapest_drift(gap: ArrayLike, duration: ArrayLike, a1: ArrayLike, i1: ArrayLike,
                   a2: ArrayLike, i2: ArrayLike, a_min: ArrayLike | None = None,
                   a_max: ArrayLike | None = None, n_grid: int = 33, refine: int = 24,
                   mu: float = MU_EARTH_KM3_S2, r_eq: float = R_EARTH_KM, j2: float = J2_EARTH,
                   bracket: tuple[ArrayLike, ArrayLike] | None = None) -> DriftOrbit:
    """Cheapest circular drift orbit that closes a RAAN gap in a given drift time.

    The tug leaves circular orbit (a1, i1) for a drift orbit (a, i) - a Hohmann with the
    inclination change split optimally, at the common node - coasts there ``duration`` [s] while
    the differential J2 nodal rate (Vallado eq. 9-41) closes ``gap`` [rad] (target RAAN minus
    the tug's, [0, 2 pi)), then transfers to the target (a2, i2) the same way. For each drift
    radius the closing rate fixes the drift inclination (cos i = -rate / (3/2 n J2 (R/a)^2)), so
    the search is one-dimensional: a grid of ``n_grid`` radii over [a_min, a_max], then a
    k-section search around the best. Both directions (closing the gap eastwards or westwards)
    are searched together, as rows of one array. Broadcasts over every argument; ``dv``,
    ``dv_in`` and ``dv_out`` are inf where no drift orbit in the altitude band can close the
    gap in the time given.

    The grid is priced exactly only where it can matter: a lower bound on each transfer
    (see ``_drift_candidates``) is cheap, the radius of least bound is priced first, and then
    only the radii whose bound does not exceed its cost, and the best radius's neighbours;
    the grid's best radius is the one an exact grid would give. The k-section search that
    follows (Kiefer, "Sequential minimax search for a maximum", Proc. AMS 4, 1953, for the
    bracketing; Brent, *Algorithms for Minimization without Derivatives*, 1973, ch. 5, for
    the parabolic step) prices per row and round, in one NumPy pass, 5 radii evenly spaced in
    the bracket, the vertex of the parabola through the best radius and its two neighbours
    (Press et al., *Numerical Recipes*, 3rd ed., eq. 10.3.1) and two probes half a tolerance
    either side of the vertex (or just inside the bracket's end where the best radius is that
    end, a band edge), and keeps the interval between the best radius's neighbours: the bracket
    shrinks at least threefold per round, and to the tolerance as soon as the vertex is that
    accurate. The parabola never decides the bracket, so a kink (where the drift inclination
    crosses an end's) costs only the vertex's radius. A row stops once its bracket is 1/16 of
    what ``refine`` golden-section steps would leave (0.618^refine of the first bracket, the
    search this replaced); the answer is the cheapest radius priced. Only feasible radii are
    priced, both transfers of a radius in one call; rows that no grid radius can close stop
    after the grid.

    The transfer arcs' own small nodal drift is not included: callers account for it in ``gap``.

    ``bracket``: ``(lo, hi)`` radii [km] known to hold the optimum (e.g. the optima at two
    neighbouring durations): the grid is skipped and the search runs on that interval (within
    the band), its ends being candidates too.
    """
    gap, duration, a1, i1, a2, i2 = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (gap, duration, a1, i1, a2, i2))
    )
    check_positive("drift duration", duration)
    if a_min is None:
        a_min = r_eq + 350.0
    if a_max is None:
        a_max = r_eq + 2000.0
    shape = gap.shape
    a_lo = np.broadcast_to(np.asarray(a_min, float), shape)
    a_hi = np.broadcast_to(np.asarray(a_max, float), shape)

    def rows(x: FloatArray) -> FloatArray:  # (..., ) -> (2 N,): each element, then direction
        return np.repeat(np.ravel(x), 2)

    g = np.mod(gap, TWO_PI)
    sign = np.tile([1.0, -1.0], g.size)
    # each row's own nodal rate: the target's plus the rate that closes the gap in time
    want = np.asarray(raan_rate(rows(a2), 0.0, rows(i2), mu, r_eq, j2)) + np.where(
        sign > 0, rows(g), rows(g) - TWO_PI) / rows(duration)
    par = [want, *(rows(x) for x in (a1, i1, a2, i2))]
    n_rows = want.size

    def evaluate(r: NDArray[np.intp], x: FloatArray, bound: FloatArray | None = None,
                 cos_i: FloatArray | None = None, lower: FloatArray | None = None
                 ) -> tuple[FloatArray, ...]:
        """Cost, dv_in, dv_out, inclination, cos i at radii x (len(r), m) for rows r."""
        m = x.shape[1]
        w, e1, e2, e3, e4 = (np.repeat(p[r], m) for p in par)
        c = _drift_inclination(w, x.ravel(), mu, r_eq, j2) if cos_i is None else cos_i.ravel()
        out = _drift_candidates(e1, e2, e3, e4, x.ravel(), c, mu,
                                None if bound is None else np.broadcast_to(bound, x.shape).ravel(),
                                None if lower is None else lower.ravel())
        return tuple(o.reshape(x.shape) for o in (*out, c))

    if bracket is None:
        lo_b, hi_b = rows(a_lo), rows(a_hi)
        xs = lo_b[:, None] + (hi_b - lo_b)[:, None] * np.linspace(0.0, 1.0, n_grid)
    else:
        b_lo = np.broadcast_to(np.asarray(bracket[0], float), shape)
        b_hi = np.broadcast_to(np.asarray(bracket[1], float), shape)
        lo_b = rows(np.maximum(np.minimum(b_lo, b_hi), a_lo))
        hi_b = np.maximum(rows(np.minimum(np.maximum(b_lo, b_hi), a_hi)), lo_b)
        xs = np.stack([lo_b, hi_b], -1)  # the ends are candidates (a band edge)
    act = np.arange(n_rows)
    if xs.shape[1] > 2:
        # grid: price first the radius of least lower bound, then only the radii whose lower
        # bound does not exceed its cost (the argmin over the grid is unchanged)
        lbs = evaluate(act, xs, np.zeros(1))
        jl = np.argmin(lbs[0], -1)[:, None]
        at_jl = evaluate(act, np.take_along_axis(xs, jl, -1),
                         cos_i=np.take_along_axis(lbs[4], jl, -1))
        bound = np.broadcast_to(np.where(np.isfinite(at_jl[0]), at_jl[0], -np.inf), xs.shape)
        bound = bound.copy()
        np.put_along_axis(bound, jl, -np.inf, -1)  # priced already
        fs = evaluate(act, xs, bound, cos_i=lbs[4], lower=lbs[0])
        for v, w in zip(fs, at_jl):
            np.put_along_axis(v, jl, w, -1)
        # the best radius's neighbours priced too (they bracket the search that follows)
        j = np.argmin(fs[0], -1)[:, None]
        nb = np.concatenate([np.maximum(j - 1, 0), np.minimum(j + 1, n_grid - 1)], -1)
        for v, w in zip(fs, evaluate(act, np.take_along_axis(xs, nb, -1),
                                     cos_i=np.take_along_axis(lbs[4], nb, -1))):
            np.put_along_axis(v, nb, w, -1)
    else:
        fs = evaluate(act, xs)
    f = fs[0]
    j = np.argmin(f, -1)[:, None]
    best = [np.take_along_axis(v, j, -1)[:, 0] for v in (xs, *fs[:4])]  # a, dv, in, out, i
    # a row stops once its bracket is 1/_DRIFT_TIGHTER of what `refine` golden-section steps
    # leave (so its best radius is that much closer to the minimum)
    tol = (0.5 * (np.sqrt(5.0) - 1.0)) ** refine / _DRIFT_TIGHTER * (
        2.0 * (hi_b - lo_b) / (n_grid - 1) if bracket is None else hi_b - lo_b)
    t = np.linspace(0.0, 1.0, _DRIFT_K + 2)[1:-1]
    # the even radii alone shrink a bracket (K + 1)/2-fold per round: at most this many rounds
    rounds = refine * np.log(2.0 / (np.sqrt(5.0) - 1.0)) + np.log(_DRIFT_TIGHTER)
    for _ in range(int(np.ceil(rounds / np.log(0.5 * (_DRIFT_K + 1)))) + 1):
        # the radii priced last round next to the best bracket the minimum (unimodal near it)
        xb = np.take_along_axis(xs, j, -1)
        fb = np.take_along_axis(f, j, -1)
        below, above = xs < xb, xs > xb
        lo = np.where(below, xs, -np.inf).max(-1, keepdims=True)
        hi = np.where(above, xs, np.inf).min(-1, keepdims=True)
        f_lo = np.take_along_axis(f, np.argmax(np.where(below, xs, -np.inf), -1)[:, None], -1)
        f_hi = np.take_along_axis(f, np.argmin(np.where(above, xs, np.inf), -1)[:, None], -1)
        lo, f_lo = np.where(below.any(-1, keepdims=True), lo, xb), np.where(
            below.any(-1, keepdims=True), f_lo, fb)
        hi, f_hi = np.where(above.any(-1, keepdims=True), hi, xb), np.where(
            above.any(-1, keepdims=True), f_hi, fb)
        keep = np.flatnonzero(((hi - lo)[:, 0] > tol[act]) & np.isfinite(fb[:, 0]))
        if not keep.size:
            break
        act = act[keep]
        lo, hi, f_lo, f_hi, xb, fb = (v[keep] for v in (lo, hi, f_lo, f_hi, xb, fb))
        # vertex of the parabola through (lo, xb, hi) where it opens upwards, else the midpoint
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p = (xb - lo) * (fb - f_hi)
            q = (xb - hi) * (fb - f_lo)
            xv = xb - 0.5 * ((xb - lo) * p - (xb - hi) * q) / (p - q)
        xv = np.where(np.isfinite(xv) & (xv > lo) & (xv < hi), xv, 0.5 * (lo + hi))
        # and the two radii half a tolerance either side of it: once the vertex is that
        # accurate they bracket the minimum to the tolerance and the row is done. Where the
        # best radius is an end of the bracket (the band's edge) one of them goes 0.9
        # tolerance inside that end instead, which ends the search there if the cost rises.
        h = 0.5 * tol[act][:, None]
        probes = np.clip(np.concatenate([np.where(xb > lo, xv - h, lo + 1.8 * h),
                                         np.where(xb < hi, xv + h, hi - 1.8 * h)], -1), lo, hi)
        new = np.concatenate([lo + (hi - lo) * t, xv, probes], -1)
        fs = evaluate(act, new)
        xs = np.concatenate([lo, new, hi], -1)
        f = np.concatenate([f_lo, fs[0], f_hi], -1)
        j = np.argmin(f, -1)[:, None]
        jn = np.argmin(fs[0], -1)[:, None]
        won = np.flatnonzero(np.take_along_axis(fs[0], jn, -1)[:, 0] < best[1][act])
        for b, v in zip(best, (new, *fs[:4])):
            b[act[won]] = np.take_along_axis(v[won], jn[won], -1)[:, 0]
    # the better direction
    a_best, dv, dv_in, dv_out, i_best = (v.reshape(shape + (2,)) for v in best)
    d = np.argmin(dv, -1)[..., None]
    dv, dv_in, dv_out, a_best, i_best = (
        np.take_along_axis(c, d, -1)[..., 0] for c in (dv, dv_in, dv_out, a_best, i_best))
    best_orbit = DriftOrbit(dv, dv_in, dv_out, a_best, i_best,
                            np.where(d[..., 0] == 0, 1.0, -1.0))
    zero = g == 0.0
    if np.any(zero):  # no gap: the plain transfer (no drift orbit needed) is the answer
        direct = np.asarray(transfer_dv(a1, i1, a2, i2, mu))
        take = zero & (direct <= best_orbit.dv)
        best_orbit = DriftOrbit(
            np.where(take, direct, best_orbit.dv), np.where(take, direct, best_orbit.dv_in),
            np.where(take, 0.0, best_orbit.dv_out), np.where(take, a1, best_orbit.a),
            np.where(take, i1, best_orbit.i), np.where(take, 0.0, best_orbit.direction),
        )
    return DriftOrbit(*(_out(x) for x in best_orbit))


def drift_pareto(gap: ArrayLike, durations: ArrayLike, a1: ArrayLike, i1: ArrayLike,
                 a2: ArrayLike, i2: ArrayLike, **kwargs: Any) -> tuple[FloatArray, DriftOrbit]:
    """Delta-v versus drift time for a RAAN gap: the cheapest drift orbit at each duration.

    Evaluates :func:`cheapest_drift` over ``durations`` [s] (last axis) and keeps the
    Pareto-optimal points (a longer drift is kept only if it is cheaper). Returns
    ``(durations, DriftOrbit)`` for the kept points, sorted by duration, for one gap.
    """
    durations = np.sort(np.atleast_1d(np.asarray(durations, float)))
    sol = cheapest_drift(gap, durations, a1, i1, a2, i2, **kwargs)
    dv = np.atleast_1d(np.asarray(sol.dv))
    running = np.minimum.accumulate(np.concatenate([[np.inf], dv[:-1]]))
    keep = np.isfinite(dv) & (dv < running)
    return durations[keep], DriftOrbit(*(np.atleast_1d(np.asarray(x))[keep] for x in sol))


def plane_change_lower_bound(theta: ArrayLike, r_lo: ArrayLike, r_hi: ArrayLike,
                             mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """A lower bound [km/s] on the delta-v of any sequence of burns, impulsive or continuous,
    that turns an orbit's plane by ``theta`` [rad] while every orbit flown stays between
    radii ``r_lo`` and ``r_hi`` [km] (perigees >= r_lo, apogees <= r_hi).

    A burn made at radius r turns the plane by theta_b about r: the velocity components
    normal to r before and after lie in the two planes, at the angle theta_b, so the burn
    costs at least 2 v_h sin(theta_b / 2), with v_h the smaller of the two horizontal speeds
    (|a - b|^2 >= 4 |a| |b| sin^2(theta_b / 2)). The horizontal speed h / r of an orbit with
    perigee >= r_lo, at r <= apogee <= r_hi, is least at the apogee of the (r_lo, r_hi)
    ellipse: v_min = sqrt(2 mu r_lo / (r_hi (r_lo + r_hi))). The planes' angles add up to at
    least theta (the angle between planes is a metric) and sin(x / 2) is subadditive, so the
    total is at least 2 v_min sin(min(theta, pi) / 2) - the textbook single-impulse plane
    change 2 v sin(theta / 2) (Vallado, 4th ed., eq. 6-4) when r_lo = r_hi. It bounds the
    leg model's every strategy - Hohmann with the plane change split, drift orbits, phasing
    orbits, Edelbaum spirals (within their domain, up to 2 rad) - that keeps within the
    radii.
    """
    th = np.minimum(np.abs(np.asarray(theta, dtype=float)), np.pi)
    r_lo = np.asarray(r_lo, dtype=float)
    r_hi = np.asarray(r_hi, dtype=float)
    v_min = np.sqrt(2.0 * mu * r_lo / (r_hi * (r_lo + r_hi)))
    return _out(2.0 * v_min * np.sin(0.5 * th))


# --------------------------------------------------------------------------------------------
# Low thrust
# --------------------------------------------------------------------------------------------


def edelbaum_dv(v0: ArrayLike, v1: ArrayLike, delta_i: ArrayLike) -> FloatOrArray:
    """Delta-v [km/s] of Edelbaum's low-thrust circle-to-circle transfer with a plane change.

    Edelbaum (1961), as reformulated by Kechichian, "Reformulation of Edelbaum's Low-Thrust
    Transfer Problem Using Optimal Control Theory", JGCD 20(5), 1997, the total delta-v of the
    constant-thrust, constant-yaw-per-revolution solution:
    dv = sqrt(v0^2 - 2 v0 v1 cos(pi/2 di) + v1^2), with circular speeds v0, v1 [km/s] and the
    total plane rotation di [rad]. Assumes constant thrust acceleration and a yaw profile
    piecewise constant per revolution (valid for many revolutions).
    """
    v0 = np.asarray(v0, dtype=float)
    v1 = np.asarray(v1, dtype=float)
    di = np.abs(np.asarray(delta_i, dtype=float))
    # The same number as sqrt((v0 - v1)^2 + 4 v0 v1 sin^2(pi/4 di)) (1 - cos x = 2 sin^2(x/2)),
    # without the cancellation of the textbook form, which loses every digit for small
    # changes (a 1 m raise, 5.5e-7 km/s, came out 0.4 % high).
    s = np.sin(0.25 * np.pi * di)
    return _out(np.sqrt((v0 - v1) ** 2 + 4.0 * v0 * v1 * s * s))


def edelbaum(a0: ArrayLike, a1: ArrayLike, delta_i: ArrayLike, mu: float = MU_EARTH_KM3_S2
             ) -> FloatOrArray:
    """Edelbaum delta-v [km/s] between circular orbits of radii a0, a1 [km], plane angle [rad]."""
    a0 = check_positive("initial radius a0", a0)
    a1 = check_positive("final radius a1", a1)
    return edelbaum_dv(np.sqrt(mu / a0), np.sqrt(mu / a1), delta_i)


__all__ = [
    "Bielliptic", "DriftOrbit", "Hohmann", "OneTangent", "Phasing",
    "PhasingTransfer", "PlaneChange", "SplitTransfer", "apse_transfer", "bielliptic",
    "cheapest_drift", "combined_burn", "drift_pareto", "drift_time", "edelbaum", "edelbaum_dv",
    "hohmann", "hohmann_plane_change", "inclination_change", "one_tangent", "optimal_split",
    "phasing", "phasing_transfer", "plane_change", "plane_change_lower_bound",
    "plane_change_separately", "raan_change",
    "transfer_dv",
]
