"""Orbit geometry and secular J2 motion: plain functions on floats and NumPy arrays.

Core units throughout: km, km/s, s, rad. Every function broadcasts over array inputs and
returns arrays of the broadcast shape (floats for scalar inputs). Constants default to
:mod:`otvplan.constants` and may be overridden to reproduce a source's numbers.

Sources:
- Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013), cited "Vallado".
- Curtis, *Orbital Mechanics for Engineering Students*, 3rd ed. (2014), cited "Curtis".
- The Astronomical Almanac low-precision solar coordinates (Vallado Algorithm 29).
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from otvplan.constants import (
    EARTH_SUN_MEAN_MOTION_RAD_S,
    J2_EARTH,
    JD_J2000,
    MU_EARTH_KM3_S2,
    R_EARTH_KM,
)
from otvplan.errors import NoSunSynchronousOrbit, PhysicsError

TWO_PI = 2.0 * np.pi

#: An array of floats (core units).
FloatArray: TypeAlias = npt.NDArray[np.float64]
#: What a kernel returns: a Python float for scalar inputs, else an array of the broadcast shape.
FloatOrArray: TypeAlias = float | FloatArray
#: What a kernel accepts: a float, a sequence or an array (broadcast against the other inputs).
ArrayLike: TypeAlias = npt.ArrayLike


def _out(x: ArrayLike) -> FloatOrArray:
    """Return a Python float for 0-d results, the array otherwise."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def check_positive(name: str, value: ArrayLike) -> FloatArray:
    """Return ``value`` as a float array, raising PhysicsError unless every element is > 0."""
    arr = np.asarray(value, dtype=float)
    if not np.all(arr > 0.0):  # also catches NaN
        bad = arr[~(arr > 0.0)] if arr.ndim else arr
        raise PhysicsError(f"{name} must be positive and finite, got {np.ravel(bad)[0]!r}")
    if not np.all(np.isfinite(arr)):
        raise PhysicsError(f"{name} must be finite")
    return arr


def check_eccentricity(e: ArrayLike) -> FloatArray:
    """Return ``e`` as a float array, raising PhysicsError unless 0 <= e < 1 everywhere."""
    arr = np.asarray(e, dtype=float)
    if not np.all((arr >= 0.0) & (arr < 1.0)):
        bad = np.ravel(arr[~((arr >= 0.0) & (arr < 1.0))] if arr.ndim else arr)[0]
        raise PhysicsError(f"eccentricity must be in [0, 1) for a closed orbit, got {bad!r}")
    return arr


# --------------------------------------------------------------------------------------------
# Two-body basics
# --------------------------------------------------------------------------------------------


def vis_viva(r: ArrayLike, a: ArrayLike, mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """Speed [km/s] at radius ``r`` [km] on an orbit of semi-major axis ``a`` [km].

    Vis-viva equation, Vallado eq. 1-31: v^2 = mu (2/r - 1/a).
    """
    r = check_positive("radius r", r)
    a = check_positive("semi-major axis a", a)
    v2 = mu * (2.0 / r - 1.0 / a)
    if np.any(v2 < 0.0):
        raise PhysicsError("radius r exceeds the orbit's apoapsis radius 2a")
    return _out(np.sqrt(v2))


def circular_speed(r: ArrayLike, mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """Speed [km/s] of a circular orbit of radius ``r`` [km]: sqrt(mu/r) (Vallado eq. 1-34)."""
    r = check_positive("radius r", r)
    return _out(np.sqrt(mu / r))


def mean_motion(a: ArrayLike, mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """Keplerian mean motion n = sqrt(mu/a^3) [rad/s] (Vallado eq. 1-27)."""
    a = check_positive("semi-major axis a", a)
    return _out(np.sqrt(mu / a**3))


def period(a: ArrayLike, mu: float = MU_EARTH_KM3_S2) -> FloatOrArray:
    """Keplerian orbital period 2 pi sqrt(a^3/mu) [s] (Vallado eq. 1-26)."""
    a = check_positive("semi-major axis a", a)
    return _out(TWO_PI * np.sqrt(a**3 / mu))


# --------------------------------------------------------------------------------------------
# Secular J2 rates
# --------------------------------------------------------------------------------------------


class J2Rates(NamedTuple):
    """First-order secular rates from J2 [rad/s]."""

    raan: FloatOrArray  #: dRAAN/dt
    argp: FloatOrArray  #: d(argument of perigee)/dt
    mean_anomaly: FloatOrArray  #: dM/dt, Keplerian n plus the J2 correction


def j2_rates(
    a: ArrayLike,
    e: ArrayLike,
    i: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
) -> J2Rates:
    """Secular rates of RAAN, argument of perigee and mean anomaly from J2 [rad/s].

    Vallado eq. 9-41 (first order in J2, mean elements), with p = a(1 - e^2) and the
    Keplerian n = sqrt(mu/a^3):

    - dRAAN/dt = -3/2 n J2 (R/p)^2 cos i
    - dargp/dt = 3/4 n J2 (R/p)^2 (4 - 5 sin^2 i)
    - dM/dt    = n [1 + 3/2 J2 (R/p)^2 sqrt(1 - e^2) (1 - 3/2 sin^2 i)]

    Parameters
    ----------
    a : float or ndarray   Mean semi-major axis [km].
    e : float or ndarray   Mean eccentricity [-], 0 <= e < 1.
    i : float or ndarray   Mean inclination [rad].
    """
    a = check_positive("semi-major axis a", a)
    e = check_eccentricity(e)
    i = np.asarray(i, dtype=float)
    n = np.sqrt(mu / a**3)
    p = a * (1.0 - e * e)
    k = 1.5 * j2 * (r_eq / p) ** 2
    s2 = np.sin(i) ** 2
    return J2Rates(
        _out(-k * n * np.cos(i)),
        _out(0.5 * k * n * (4.0 - 5.0 * s2)),
        _out(n * (1.0 + k * np.sqrt(1.0 - e * e) * (1.0 - 1.5 * s2))),
    )


def secular_rates(
    a: ArrayLike,
    e: ArrayLike,
    i: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
    j4: float = 0.0,
    averaged: bool = True,
) -> J2Rates:
    """Secular rates of RAAN, argument of perigee and mean anomaly to second order in J2 [rad/s].

    Brouwer's (1959) secular terms in J2, J2^2 and J4, as implemented in SGP4 (Hoots and
    Roehrich, Spacetrack Report No. 3, 1980; Vallado, Crawford, Hujsak and Kelso, "Revisiting
    Spacetrack Report #3", AIAA 2006-6753, ``sgp4init``). With n = sqrt(mu/a^3) from the mean
    semi-major axis a, p = a(1 - e^2) in units of R, c = cos i, b = sqrt(1 - e^2):

    - t1 = 3/2 J2 n / p^2, t2 = 1/2 t1 J2 / p^2, t3 = -15/32 J4 n / p^4
    - dRAAN/dt = -t1 c + (t2/2 (4 - 19 c^2) + 2 t3 (3 - 7 c^2)) c
    - dargp/dt = -t1/2 (1 - 5 c^2) + t2/16 (7 - 114 c^2 + 395 c^4) + t3 (3 - 36 c^2 + 49 c^4)
    - dM/dt = n + t1/2 b (3 c^2 - 1) + t2/16 b (13 - 78 c^2 + 137 c^4)

    The first-order parts are Vallado eq. 9-41 (:func:`j2_rates`). The J2^2 part changes the
    nodal rate by about 7e-4 of itself (0.003 deg/day at 53 deg): over a two-month J2 drift
    that is a tenth of a degree of RAAN, which otvplan's plans are held to. ``j4`` defaults to
    0 to match the default verification force model (two-body + J2); pass
    :data:`otvplan.constants.J4_EARTH` to include it.

    ``averaged`` (default): the rates of otvplan's mean elements, which are the averages of the
    osculating elements over a draconic period (:func:`otvplan.flight.propagation.mean_elements`),
    not Brouwer's a''. The two mean semi-major axes differ at order J2^2 (metres), and so do
    the mean motions: dM/dt gains :func:`averaged_elements_term`, 1.6e-6 of n for a 550 km SSO,
    0.57 millidegree per revolution, which a phasing over 650 revolutions turns into 0.37 deg of
    slot. ``averaged=False`` gives Brouwer's (SGP4's) rates.
    """
    a = check_positive("semi-major axis a", a)
    e = check_eccentricity(e)
    raan, argp, mean_anomaly = _brouwer_secular(
        a, e, np.cos(np.asarray(i, dtype=float)), mu, r_eq, j2, j4, averaged
    )
    return J2Rates(_out(raan), _out(argp), _out(mean_anomaly))


def averaged_elements_term(
    a: ArrayLike,
    e: ArrayLike,
    i: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
) -> FloatOrArray:
    """The J2^2 term [rad/s] that turns Brouwer's mean-anomaly rate into the rate of otvplan's
    mean elements (averages of the osculating elements over a draconic period):

        dM/dt (averaged) - dM/dt (Brouwer) = (3/64) n J2^2 (R/p)^4 (42 - 122 c^2 + 154 c^4),

    c = cos i. Determined from the numerical propagator (two-body + J2, DOP853 at 1e-10 km
    tolerance, :func:`otvplan.flight.propagation.osculating_from_mean` to 1e-6 km): the
    secular drift of the averaged argument of latitude over 600 revolutions, against Brouwer's
    rate, at 15 inclinations from 0.5 to 170 deg at 700 km, fitted by a quadratic in c^2 (the
    form a J2^2 difference of mean semi-major axes takes for e = 0; largest residual 0.4 % of
    the term). The term scales as (R/a)^4 to 0.3 % between 550 and 2,000 km; it holds within
    1 % up to e = 0.01 and 10 % at e = 0.1 (an extrapolation for eccentric orbits, where it
    is 1e-6 of the mean motion or less). tests/test_propagation.py checks it against the
    propagator and tests/test_orekit.py against Orekit's numerical propagator.
    """
    a = check_positive("semi-major axis a", a)
    e = check_eccentricity(e)
    c = np.cos(np.asarray(i, dtype=float))
    n = np.sqrt(mu / a**3)
    inv_p2 = 1.0 / (a * (1.0 - e * e) / r_eq) ** 2
    return _out(_averaged_term(n, inv_p2, c * c, j2))


def _averaged_term(n: FloatArray, inv_p2: FloatArray, c2: FloatArray, j2: float) -> FloatArray:
    """:func:`averaged_elements_term` from n, (R/p)^2 and cos^2 i (no validation)."""
    return (3.0 / 64.0) * j2 * j2 * inv_p2 * inv_p2 * n * (42.0 - 122.0 * c2 + 154.0 * c2 * c2)


def _brouwer_secular(
    a: FloatArray,
    e: FloatArray,
    c: FloatArray,
    mu: float,
    r_eq: float,
    j2: float,
    j4: float = 0.0,
    averaged: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The rates of :func:`secular_rates` for checked arrays, from c = cos i (no validation:
    the solver's inner loops call this on arrays it has already checked)."""
    c2 = c * c
    n = np.sqrt(mu / a**3)
    p_r = a * (1.0 - e * e) / r_eq
    b = np.sqrt(1.0 - e * e)
    inv_p2 = 1.0 / (p_r * p_r)
    t1 = 1.5 * j2 * inv_p2 * n
    t2 = 0.5 * t1 * j2 * inv_p2
    t3 = -0.46875 * j4 * inv_p2 * inv_p2 * n
    raan = -t1 * c + (0.5 * t2 * (4.0 - 19.0 * c2) + 2.0 * t3 * (3.0 - 7.0 * c2)) * c
    argp = (
        -0.5 * t1 * (1.0 - 5.0 * c2)
        + 0.0625 * t2 * (7.0 - 114.0 * c2 + 395.0 * c2 * c2)
        + t3 * (3.0 - 36.0 * c2 + 49.0 * c2 * c2)
    )
    mean_anomaly = (
        n + 0.5 * t1 * b * (3.0 * c2 - 1.0) + 0.0625 * t2 * b * (13.0 - 78.0 * c2 + 137.0 * c2 * c2)
    )
    if averaged:
        mean_anomaly = mean_anomaly + _averaged_term(n, inv_p2, c2, j2)
    return raan, argp, mean_anomaly


def raan_rate(
    a: ArrayLike,
    e: ArrayLike,
    i: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
) -> FloatOrArray:
    """Secular nodal rate dRAAN/dt [rad/s]: otvplan's planning model, J2 to second order.

    :func:`secular_rates` (Brouwer 1959 / SGP4); its first-order part is Vallado eq. 9-41.
    """
    return secular_rates(a, e, i, mu, r_eq, j2).raan


def argument_of_latitude_rate(
    a: ArrayLike,
    e: ArrayLike,
    i: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
) -> FloatOrArray:
    """Secular rate of the mean argument of latitude, dM/dt + dargp/dt [rad/s].

    For a near-circular orbit this is the rate at which a spacecraft moves around its plane,
    measured from the (moving) ascending node. Planning model: :func:`secular_rates`.
    """
    rates = secular_rates(a, e, i, mu, r_eq, j2)
    return _out(np.asarray(rates.argp) + np.asarray(rates.mean_anomaly))


def sso_inclination(
    a: ArrayLike,
    e: ArrayLike = 0.0,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
    node_rate: ArrayLike = EARTH_SUN_MEAN_MOTION_RAD_S,
    strict: bool = True,
    order: int = 1,
) -> FloatOrArray:
    """Inclination [rad] that makes an orbit sun-synchronous.

    Solves dRAAN/dt = node_rate with the J2 secular rate (Vallado eq. 9-41; Vallado Example
    11-2): cos i = -node_rate / (3/2 n J2 (R/p)^2). A solution exists only while
    3/2 n J2 (R/p)^2 >= node_rate, i.e. below about 12,350 km altitude for a circular orbit.

    Raises :class:`NoSunSynchronousOrbit` where no inclination exists; with ``strict=False``
    returns NaN there instead (for sweeps that record the failure as data).

    ``order=2`` solves dRAAN/dt = node_rate with the second-order rate of
    :func:`secular_rates` instead (Newton from the first-order answer; about 0.005 deg
    different in LEO), which is what otvplan's planner uses so that every sun-synchronous orbit
    of a scenario turns at exactly the same rate under its own model.
    """
    a = check_positive("semi-major axis a", a)
    e = check_eccentricity(e)
    n = np.sqrt(mu / a**3)
    p = a * (1.0 - e * e)
    cos_i = -np.asarray(node_rate, dtype=float) / (1.5 * n * j2 * (r_eq / p) ** 2)
    ok = np.abs(cos_i) <= 1.0
    if strict and not np.all(ok):
        bad_a = np.ravel(np.broadcast_to(a, cos_i.shape)[~ok])[0]
        bad_e = np.ravel(np.broadcast_to(e, cos_i.shape)[~ok])[0]
        raise NoSunSynchronousOrbit(
            f"no sun-synchronous inclination exists for a = {bad_a:.1f} km, e = {bad_e:.4g}: "
            "J2 cannot turn the node fast enough (a circular orbit must be below ~12,350 km "
            "altitude)"
        )
    with np.errstate(invalid="ignore"):
        inc = np.where(ok, np.arccos(np.clip(cos_i, -1.0, 1.0)), np.nan)
    if order == 2:
        inc = np.where(ok, inclination_for_node_rate(a, e, node_rate, mu, r_eq, j2, inc), np.nan)
    elif order != 1:
        raise ValueError("order must be 1 or 2")
    return _out(inc)


def inclination_for_node_rate(
    a: ArrayLike,
    e: ArrayLike,
    node_rate: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
    r_eq: float = R_EARTH_KM,
    j2: float = J2_EARTH,
    guess: ArrayLike | None = None,
) -> FloatOrArray:
    """Inclination [rad] at which the planning model's nodal rate (:func:`secular_rates`)
    equals ``node_rate`` [rad/s], by Newton's method on cos i (the rate is a cubic in it).

    Used for sun-synchronous orbits and for drift and phasing orbits that must turn with a
    target plane. Returns NaN where no inclination gives that rate.
    """
    a = check_positive("semi-major axis a", a)
    e = check_eccentricity(e)
    return _out(_inclination_for_node_rate(a, e, np.asarray(node_rate, float), mu, r_eq, j2, guess))


def _inclination_for_node_rate(
    a: FloatArray,
    e: FloatArray,
    node_rate: FloatArray,
    mu: float,
    r_eq: float,
    j2: float,
    guess: ArrayLike | None = None,
    iterations: int = 8,
) -> FloatArray:
    """:func:`inclination_for_node_rate` on checked arrays.

    The nodal rate of :func:`secular_rates` (J4 = 0) is the odd cubic
    f(c) = -t1 c + t2/2 (4 c - 19 c^3) in c = cos i, so Newton's method takes its exact
    derivative f'(c) = -t1 + t2/2 (4 - 57 c^2); from the first-order root c = -rate/t1 it
    converges to rounding in three or four steps (|t2/t1| ~ J2); ``iterations`` caps the
    steps (a caller iterating on a nearby a passes its last root as ``guess``)."""
    n = np.sqrt(mu / a**3)
    p_r = a * (1.0 - e * e) / r_eq
    inv_p2 = 1.0 / (p_r * p_r)
    t1 = 1.5 * j2 * inv_p2 * n
    t2 = 0.5 * t1 * j2 * inv_p2
    first = -node_rate / t1
    ok = np.abs(first) <= 1.0 + 1e-3
    x = first if guess is None else np.cos(np.asarray(guess, float))
    x = np.where(ok, np.clip(x, -1.0, 1.0), 0.0)
    for _ in range(iterations):
        x2 = x * x
        f = -t1 * x + 0.5 * t2 * (4.0 - 19.0 * x2) * x - node_rate
        slope = -t1 + 0.5 * t2 * (4.0 - 57.0 * x2)
        step = np.where(ok, f / slope, 0.0)
        x = np.clip(x - step, -1.0, 1.0)
        if np.all(np.abs(step) < 1e-15):
            break
    x2 = x * x
    rate = -t1 * x + 0.5 * t2 * (4.0 - 19.0 * x2) * x
    good = ok & (np.abs(rate - node_rate) <= 1e-9 * np.abs(t1))
    return np.where(good, np.arccos(x), np.nan)


# --------------------------------------------------------------------------------------------
# Sun, sidereal time, local time of the ascending node
# --------------------------------------------------------------------------------------------


def sun_right_ascension(jd: ArrayLike) -> FloatOrArray:
    """Right ascension of the true Sun [rad, 0..2pi), mean equator and equinox of date.

    Astronomical Almanac low-precision formula (Vallado Algorithm 29), good to about 0.01 deg
    for 1950-2050. ``jd`` is the Julian date (UTC is close enough to UT1/TT here).
    """
    t = (np.asarray(jd, dtype=float) - JD_J2000) / 36525.0
    lam_m = np.radians(280.460 + 36000.771 * t)
    m = np.radians(357.5291092 + 35999.05034 * t)
    lam = lam_m + np.radians(1.914666471 * np.sin(m) + 0.019994643 * np.sin(2.0 * m))
    eps = np.radians(23.439291 - 0.0130042 * t)
    return _out(np.mod(np.arctan2(np.cos(eps) * np.sin(lam), np.cos(lam)), TWO_PI))


def gmst(jd: ArrayLike) -> FloatOrArray:
    """Greenwich mean sidereal time [rad, 0..2pi) at Julian date ``jd`` (UT1).

    IAU-1982 expression, Vallado eq. 3-47.
    """
    jd = np.asarray(jd, dtype=float)
    t = (jd - JD_J2000) / 36525.0
    seconds = (
        67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t**2 - 6.2e-6 * t**3
    )
    return _out(np.mod(np.radians(seconds / 240.0), TWO_PI))


def mean_sun_right_ascension(jd: ArrayLike) -> FloatOrArray:
    """Right ascension of the fictitious mean Sun [rad, 0..2pi), equator of date.

    By the definition of mean solar time the mean Sun crosses the Greenwich meridian at
    12:00 UT1, so its right ascension is GMST - (UT1 - 12 h) x 15 deg/h (Vallado sec. 3.5).
    The true Sun leads it by the equation of time (up to about 16 minutes, 4 deg).
    """
    jd = np.asarray(jd, dtype=float)
    ut_angle = TWO_PI * np.mod(jd - 0.5, 1.0)  # angle of the day since 00:00 UT
    return _out(np.mod(np.asarray(gmst(jd)) - ut_angle + np.pi, TWO_PI))


def _sun_ra(jd: ArrayLike, reference: str) -> FloatArray:
    if reference == "mean":
        return np.asarray(mean_sun_right_ascension(jd))
    if reference == "true":
        return np.asarray(sun_right_ascension(jd))
    raise ValueError(f"reference must be 'mean' or 'true', got {reference!r}")


def ltan_to_raan(ltan_hours: ArrayLike, jd: ArrayLike, reference: str = "mean") -> FloatOrArray:
    """RAAN [rad, 0..2pi) of an orbit whose ascending node is at local time ``ltan_hours``.

    RAAN = RA_sun + (LTAN - 12 h) x 15 deg/h (Vallado sec. 3.5 / 11.4). ``reference`` picks the
    Sun: ``"mean"`` (mean local time, what a sun-synchronous orbit keeps constant) or
    ``"true"`` (apparent local time, which varies over the year by the equation of time).
    """
    sun = _sun_ra(jd, reference)
    return _out(np.mod(sun + np.radians(15.0) * (np.asarray(ltan_hours, float) - 12.0), TWO_PI))


def raan_to_ltan(raan: ArrayLike, jd: ArrayLike, reference: str = "mean") -> FloatOrArray:
    """Local time [h, 0..24) of the ascending node for a RAAN [rad] at Julian date ``jd``."""
    sun = _sun_ra(jd, reference)
    return _out(np.mod(12.0 + np.degrees(np.asarray(raan, float) - sun) / 15.0, 24.0))


# --------------------------------------------------------------------------------------------
# Orbit planes
# --------------------------------------------------------------------------------------------


def plane_normal(i: ArrayLike, raan: ArrayLike) -> FloatArray:
    """Unit angular-momentum vector(s) of an orbit plane, shape (..., 3).

    h = (sin i sin RAAN, -sin i cos RAAN, cos i): the third column of the perifocal-to-inertial
    rotation ROT3(-RAAN) ROT1(-i) ROT3(-argp) of Vallado Algorithm 10 (COE2RV), which does not
    depend on argp.
    """
    i = np.asarray(i, dtype=float)
    raan = np.asarray(raan, dtype=float)
    si = np.sin(i)
    return np.stack(np.broadcast_arrays(si * np.sin(raan), -si * np.cos(raan), np.cos(i)), -1)


def _line_of_nodes(
    i1: ArrayLike, raan1: ArrayLike, i2: ArrayLike, raan2: ArrayLike
) -> tuple[FloatArray, ...]:
    """Components of h1 x h2 (:func:`plane_normal`) in the frame of plane 1's node (x along
    its ascending node, z north): the planes' line of nodes, of length sin(theta); and
    sin i, cos i of both planes and sin, cos of the RAAN difference d.

    With plane 1's RAAN taken as zero, h1 = (0, -sin i1, cos i1) and h2 = (sin i2 sin d,
    -sin i2 cos d, cos i2), so h1 x h2 = (sin(i2 - i1) - 2 cos i1 sin i2 sin^2(d/2),
    cos i1 sin i2 sin d, sin i1 sin i2 sin d); the first component written so that it keeps
    its precision for nearly equal planes. (A rotation about z changes no angle measured in
    the planes, so only d matters.)"""
    i1, raan1, i2, raan2 = (np.asarray(x, dtype=float) for x in (i1, raan1, i2, raan2))
    d = raan2 - raan1
    si1, ci1, si2, ci2 = np.sin(i1), np.cos(i1), np.sin(i2), np.cos(i2)
    sd, cd = np.sin(d), np.cos(d)
    x = np.sin(i2 - i1) - 2.0 * ci1 * si2 * np.sin(0.5 * d) ** 2
    y = ci1 * si2 * sd
    z = si1 * si2 * sd
    return x, y, z, si1, ci1, si2, ci2, sd, cd


def plane_angle(i1: ArrayLike, raan1: ArrayLike, i2: ArrayLike, raan2: ArrayLike) -> FloatOrArray:
    """Angle [rad, 0..pi] between two orbit planes given inclinations and RAANs [rad].

    Spherical law of cosines (Vallado eq. 6-25 / Algorithm 41):
    cos theta = cos i1 cos i2 + sin i1 sin i2 cos(RAAN2 - RAAN1); the sine, |h1 x h2|, from
    the line of nodes (:func:`_line_of_nodes`), keeps the precision of tiny angles.
    """
    x, y, z, si1, ci1, si2, ci2, _, cd = _line_of_nodes(i1, raan1, i2, raan2)
    c = ci1 * ci2 + si1 * si2 * cd
    return _out(np.arctan2(np.sqrt(x * x + y * y + z * z), c))


def node_crossing(
    i1: ArrayLike, raan1: ArrayLike, i2: ArrayLike, raan2: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray]:
    """Arguments of latitude [rad] where orbit 1 crosses into plane 2, and the same point in 2.

    The two planes meet along the line h1 x h2; a burn that rotates the velocity about the
    radius vector at either end of that line turns orbit 1 into plane 2 (Vallado Algorithm 41
    for the general case; Algorithm 40 gives the RAAN-only special case). Returns ``(u1, u2)``:
    the argument of latitude of the point along +h1 x h2 measured in orbit 1 and in orbit 2.
    The other crossing is at ``u1 + pi`` / ``u2 + pi``. Where the planes coincide the line is
    undefined and ``u1 = u2 = 0`` is returned (no plane change is needed).

    In plane 1's node frame (:func:`_line_of_nodes`) a plane's argument of latitude is the
    angle from its node n to the line, toward h x n: n1 = (1, 0, 0), h1 x n1 = (0, cos i1,
    sin i1); n2 = (cos d, sin d, 0), h2 x n2 = (-cos i2 sin d, cos i2 cos d, sin i2).
    """
    x, y, z, si1, ci1, si2, ci2, sd, cd = _line_of_nodes(i1, raan1, i2, raan2)
    coincident = np.sqrt(x * x + y * y + z * z) < 1e-15
    u1 = np.mod(np.arctan2(y * ci1 + z * si1, x), TWO_PI)
    u2 = np.mod(np.arctan2(ci2 * (y * cd - x * sd) + z * si2, x * cd + y * sd), TWO_PI)
    return _out(np.where(coincident, 0.0, u1)), _out(np.where(coincident, 0.0, u2))


def wrap_angle(x: ArrayLike) -> FloatOrArray:
    """Wrap an angle [rad] into (-pi, pi]."""
    x = np.asarray(x, dtype=float)
    return _out(np.pi - np.mod(np.pi - x, TWO_PI))


# --------------------------------------------------------------------------------------------
# Classical elements <-> state vectors
# --------------------------------------------------------------------------------------------


def coe_to_rv(
    a: ArrayLike,
    e: ArrayLike,
    i: ArrayLike,
    raan: ArrayLike,
    argp: ArrayLike,
    nu: ArrayLike,
    mu: float = MU_EARTH_KM3_S2,
) -> tuple[FloatArray, FloatArray]:
    """Position [km] and velocity [km/s] vectors, shape (..., 3), from classical elements.

    Vallado Algorithm 10 (COE2RV) for closed orbits: perifocal state from p = a(1 - e^2) and
    the true anomaly ``nu``, rotated by R3(-RAAN) R1(-i) R3(-argp). Angles in rad.
    """
    a = check_positive("semi-major axis a", a)
    e = check_eccentricity(e)
    i, raan, argp, nu = (np.asarray(x, dtype=float) for x in (i, raan, argp, nu))
    p = a * (1.0 - e * e)
    r = p / (1.0 + e * np.cos(nu))
    sq = np.sqrt(mu / p)
    r_pf = np.stack(np.broadcast_arrays(r * np.cos(nu), r * np.sin(nu), 0.0 * r), -1)
    v_pf = np.stack(np.broadcast_arrays(-sq * np.sin(nu), sq * (e + np.cos(nu)), 0.0 * r), -1)
    cO, sO, ci, si, cw, sw = (
        np.cos(raan),
        np.sin(raan),
        np.cos(i),
        np.sin(i),
        np.cos(argp),
        np.sin(argp),
    )
    rot = np.stack(
        np.broadcast_arrays(
            np.stack(
                np.broadcast_arrays(cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci, sO * si), -1
            ),
            np.stack(
                np.broadcast_arrays(sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci, -cO * si), -1
            ),
            np.stack(np.broadcast_arrays(sw * si, cw * si, ci), -1),
        ),
        -2,
    )
    r_vec = np.einsum("...ij,...j->...i", rot, r_pf)
    v_vec = np.einsum("...ij,...j->...i", rot, v_pf)
    return r_vec, v_vec


class Elements(NamedTuple):
    """Classical orbital elements: a [km], e, i, RAAN, argp, true anomaly nu, argument of
    latitude u = argp + nu [rad]."""

    a: FloatOrArray
    e: FloatOrArray
    i: FloatOrArray
    raan: FloatOrArray
    argp: FloatOrArray
    nu: FloatOrArray
    u: FloatOrArray


def rv_to_coe(r: ArrayLike, v: ArrayLike, mu: float = MU_EARTH_KM3_S2) -> Elements:
    """Classical elements from position [km] and velocity [km/s] vectors (..., 3).

    Vallado Algorithm 9 (RV2COE), closed orbits. Where the node is undefined (equatorial
    orbit) RAAN is set to 0 and arguments are measured from the x axis; where the orbit is
    circular argp is set to 0 and nu equals the argument of latitude.
    """
    r = np.asarray(r, dtype=float)
    v = np.asarray(v, dtype=float)
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=-1)
    rn = np.linalg.norm(r, axis=-1)
    vn2 = np.sum(v * v, axis=-1)
    energy = 0.5 * vn2 - mu / rn
    if np.any(energy >= 0.0):
        raise PhysicsError("state is not on a closed orbit (e >= 1)")
    a = -mu / (2.0 * energy)
    e_vec = ((vn2 - mu / rn)[..., None] * r - np.sum(r * v, -1)[..., None] * v) / mu
    e = np.linalg.norm(e_vec, axis=-1)
    inc = np.arccos(np.clip(h[..., 2] / hn, -1.0, 1.0))
    node = np.stack([-h[..., 1], h[..., 0], np.zeros_like(hn)], -1)
    nn = np.linalg.norm(node, axis=-1)
    equatorial = nn < 1e-12 * hn
    raan = np.where(equatorial, 0.0, np.mod(np.arctan2(node[..., 1], node[..., 0]), TWO_PI))
    node_dir = np.where(
        equatorial[..., None],
        np.array([1.0, 0.0, 0.0]),
        node / np.where(nn > 0, nn, 1.0)[..., None],
    )
    h_hat = h / hn[..., None]
    # angles measured in the orbit plane from the node direction
    q = np.cross(h_hat, node_dir)

    def angle(vec: FloatArray) -> FloatArray:
        theta: FloatArray = np.mod(
            np.arctan2(np.sum(vec * q, -1), np.sum(vec * node_dir, -1)), TWO_PI
        )
        return theta

    u = angle(r)
    circular = e < 1e-11
    argp = np.where(circular, 0.0, angle(e_vec))
    nu = np.mod(u - argp, TWO_PI)
    return Elements(*(_out(x) for x in (a, e, inc, raan, argp, nu, u)))


def true_to_mean_anomaly(nu: ArrayLike, e: ArrayLike) -> FloatOrArray:
    """Mean anomaly [rad, 0..2pi) from true anomaly for an ellipse (Vallado Algorithm 5)."""
    nu = np.asarray(nu, dtype=float)
    e = check_eccentricity(e)
    ecc = 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(nu / 2.0), np.sqrt(1.0 + e) * np.cos(nu / 2.0))
    return _out(np.mod(ecc - e * np.sin(ecc), TWO_PI))


def mean_to_true_anomaly(m: ArrayLike, e: ArrayLike, tol: float = 1e-14) -> FloatOrArray:
    """True anomaly [rad, 0..2pi) from mean anomaly, solving Kepler's equation by Newton
    (Vallado Algorithm 2), vectorised."""
    mean: FloatArray = np.mod(np.asarray(m, dtype=float), TWO_PI)
    e = check_eccentricity(e)
    ecc = np.where(e < 0.8, mean, np.pi * np.ones_like(mean))
    for _ in range(50):
        f = ecc - e * np.sin(ecc) - mean
        step = f / (1.0 - e * np.cos(ecc))
        ecc = ecc - step
        if np.all(np.abs(step) < tol):
            break
    nu = 2.0 * np.arctan2(
        np.sqrt(1.0 + e) * np.sin(ecc / 2.0), np.sqrt(1.0 - e) * np.cos(ecc / 2.0)
    )
    return _out(np.mod(nu, TWO_PI))


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def precession_matrix(jd: float) -> FloatArray:
    """Rotation from EME2000 (J2000 mean equator and equinox) to the mean equator and equinox
    of date, for vectors: ``r_mod = P @ r_j2000``.

    IAU-1976 precession (Lieske 1977; Vallado eq. 3-88):
    P = R3(-z) R2(theta) R3(-zeta), with the angles in arcseconds
    zeta = 2306.2181 T + 0.30188 T^2 + 0.017998 T^3,
    theta = 2004.3109 T - 0.42665 T^2 - 0.041833 T^3,
    z = 2306.2181 T + 1.09468 T^2 + 0.018203 T^3, T in Julian centuries from J2000.

    otvplan's inertial frame is the mean equator and equinox of the scenario epoch (J2 acts
    about its z axis); exports and boinor inputs are converted with this matrix.
    """
    t = (float(jd) - JD_J2000) / 36525.0
    arcsec = np.pi / (180.0 * 3600.0)
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * arcsec
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * arcsec
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * arcsec

    def r3(a: float) -> FloatArray:
        c, s = np.cos(a), np.sin(a)
        return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])

    def r2(a: float) -> FloatArray:
        c, s = np.cos(a), np.sin(a)
        return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])

    return r3(-z) @ r2(theta) @ r3(-zeta)
