"""Orbit lifetime under atmospheric drag, for "re-enter within N years" disposal.

Model: the static exponential atmosphere of Vallado (4th ed.) Table 8-4 (piecewise
rho = rho0 exp(-(h - h0)/H), 0-1000 km, above 1000 km the last band continues; one table for
the package, :mod:`otvplan.core.atmosphere`, shared with the verification propagator), a
non-rotating atmosphere, and the orbit-averaged decay of a and e from Gauss's variational
equations with tangential drag a_T = -1/2 rho v^2 (Cd A / m):

    da/dt = -(a^2 B / mu) rho v^3,    de/dt = -rho v B (e + cos nu),   B = Cd A / m,

averaged over one revolution by quadrature in eccentric anomaly (King-Hele, *Theory of
Satellite Orbits in an Atmosphere*, 1964, ch. 3, does the same analytically). The state is
integrated until the perigee falls below 100 km.

Lifetimes depend strongly on solar activity (a factor of 2-3 between solar minimum and
maximum at 500-700 km); the table is a mean-activity atmosphere. Treat the result as the
planning estimate it is, and keep a margin on the years asked for.

The equations are linear in 1/B (B = m / (Cd A)), so a lifetime scales as B, and the perigee
that decays within T for B is the one that decays within T / B for B = 1 kg/m^2. The disposal
planner reads it from a table over (apogee altitude, ln(T / B)) built once with
:func:`perigees_for_lifetime` (``tools/make_reentry_table.py``, shipped as
``reentry_perigee.npz``): :func:`reentry_perigees`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TypeAlias

import numpy as np

from otvplan.constants import MU_EARTH_KM3_S2, R_EARTH_KM, SECONDS_PER_DAY
from otvplan.core.atmosphere import EXPONENTIAL_ATMOSPHERE, density
from otvplan.core.orbits import ArrayLike, FloatArray, FloatOrArray

#: Perigee altitude [km] at which an orbit is taken as re-entered.
REENTRY_ALTITUDE_KM = 100.0


#: An atmosphere: density [kg/m^3] at an array of geometric altitudes [km]
#: (:func:`otvplan.core.atmosphere.density` is one).
DensityFn: TypeAlias = Callable[[FloatArray], FloatOrArray]

_E_NODES = np.linspace(0.0, 2.0 * np.pi, 129)[:-1]  # eccentric anomaly quadrature


def decay_rates(
    a_km: float,
    e: float,
    ballistic_kg_m2: float,
    mu: float = MU_EARTH_KM3_S2,
    density_fn: DensityFn = density,
    r_eq: float = R_EARTH_KM,
) -> tuple[float, float]:
    """Orbit-averaged da/dt [km/s] and de/dt [1/s] under drag (see the module docstring).

    ``ballistic_kg_m2`` is m / (Cd A). ``density_fn(alt_km)`` gives kg/m^3.
    """
    a = float(a_km)
    e = max(float(e), 0.0)
    cos_e = np.cos(_E_NODES)
    r = a * (1.0 - e * cos_e)
    v = np.sqrt(mu / a * (1.0 + e * cos_e) / (1.0 - e * cos_e))  # km/s
    rho = density_fn(r - r_eq)  # kg/m^3
    b_inv = 1.0 / ballistic_kg_m2  # m^2/kg
    # rho [kg/m^3] * B [m^2/kg] = 1/m = 1000/km
    k = rho * b_inv * 1000.0
    da = -(a * a / mu) * k * v**3 * (1.0 - e * cos_e)
    de = -k * v * (1.0 - e * e) * cos_e
    return float(da.mean()), float(de.mean())


class _Reentry:
    """``solve_ivp`` event of :func:`lifetime`: perigee altitude [km] above the re-entry
    altitude, terminal when it falls through zero (``terminal`` and ``direction`` are the
    attributes SciPy reads off an event function)."""

    terminal = True
    direction = -1

    def __init__(self, r_eq: float) -> None:
        self.r_eq = r_eq

    def __call__(self, _t: float, y: FloatArray) -> float:
        return float(y[0] * (1.0 - max(y[1], 0.0)) - self.r_eq - REENTRY_ALTITUDE_KM)


def lifetime(
    perigee_km: float,
    apogee_km: float,
    ballistic_kg_m2: float,
    max_years: float = 200.0,
    mu: float = MU_EARTH_KM3_S2,
    density_fn: DensityFn = density,
    r_eq: float = R_EARTH_KM,
) -> float:
    """Time [s] until the perigee falls below 100 km, from perigee/apogee radii [km].

    Integrates the averaged decay (:func:`decay_rates`) with SciPy's ``solve_ivp``; returns
    ``inf`` when the orbit outlives ``max_years``.
    """
    from scipy.integrate import solve_ivp

    rp, ra = float(perigee_km), float(apogee_km)
    if rp - r_eq <= REENTRY_ALTITUDE_KM:
        return 0.0
    a0, e0 = 0.5 * (rp + ra), (ra - rp) / (ra + rp)

    floor = r_eq + 0.5 * REENTRY_ALTITUDE_KM

    def rhs(_t: float, y: FloatArray) -> tuple[float, float]:
        # keep trial states of the integrator physical (the event stops it at 100 km)
        e = min(max(y[1], 0.0), 0.95)
        a = max(y[0], floor / (1.0 - e))
        return decay_rates(a, e, ballistic_kg_m2, mu, density_fn, r_eq)

    down = _Reentry(r_eq)
    t_max = max_years * 365.25 * SECONDS_PER_DAY
    da0 = abs(decay_rates(a0, e0, ballistic_kg_m2, mu, density_fn, r_eq)[0])
    scale = (rp - r_eq - REENTRY_ALTITUDE_KM) / max(da0, 1e-30)  # e-folding-ish time [s]
    sol = solve_ivp(
        rhs,
        (0.0, t_max),
        [a0, e0],
        events=down,
        rtol=1e-6,
        atol=[1e-3, 1e-9],
        method="LSODA",
        first_step=min(SECONDS_PER_DAY, 0.01 * scale, t_max),
    )
    if sol.t_events[0].size:
        return float(sol.t_events[0][0])
    return math.inf


@lru_cache(maxsize=512)
def perigee_for_lifetime(apogee_km: float, lifetime_s: float, ballistic_kg_m2: float) -> float:
    """Highest perigee radius [km] whose orbit (with apogee radius ``apogee_km``) decays
    within ``lifetime_s``; the apogee itself when the circular orbit already decays in time.

    Lifetime grows roughly exponentially with perigee height, so the root of
    ln(lifetime(rp)) - ln(lifetime_s) is found by regula falsi with the Illinois modification
    on that logarithm, to 0.25 km.
    """
    lo = R_EARTH_KM + REENTRY_ALTITUDE_KM + 1.0
    hi = float(apogee_km)
    target = math.log(lifetime_s)

    def f(rp: float) -> float:
        life = lifetime(rp, apogee_km, ballistic_kg_m2)
        return (math.log(life) if 0.0 < life < math.inf else (50.0 if life else -50.0)) - target

    f_hi = f(hi)
    if f_hi <= 0.0:
        return hi
    f_lo = f(lo)
    if f_lo > 0.0:
        return lo
    side = 0
    for _ in range(60):
        if hi - lo <= 0.25:
            break
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        mid = min(max(mid, lo + 0.1), hi - 0.1)
        f_mid = f(mid)
        if f_mid > 0.0:
            hi, f_hi = mid, f_mid
            if side == 1:
                f_lo *= 0.5
            side = 1
        else:
            lo, f_lo = mid, f_mid
            if side == -1:
                f_hi *= 0.5
            side = -1
    return lo


def lifetimes(
    perigee_km: ArrayLike,
    apogee_km: ArrayLike,
    ballistic_kg_m2: ArrayLike,
    max_years: float = 200.0,
    step_fraction: float = 0.05,
    mu: float = MU_EARTH_KM3_S2,
    density_fn: DensityFn = density,
    r_eq: float = R_EARTH_KM,
) -> FloatArray:
    """Vectorised :func:`lifetime` for many orbits at once [s] (inf beyond ``max_years``).

    Same averaged equations, integrated by the explicit midpoint rule with a per-orbit step of
    ``step_fraction`` of the current decay time scale ((a - R - 100 km) / |da/dt|), so
    every orbit takes a few hundred steps whatever its lifetime. Agrees with the adaptive
    :func:`lifetime` to about 2 % (tested), well inside the spread of the atmosphere itself
    (a factor of 2-3 over the solar cycle).
    """
    rp = np.atleast_1d(np.asarray(perigee_km, float)).ravel()
    ra = np.broadcast_to(np.asarray(apogee_km, float), np.shape(perigee_km)).ravel()
    rp = np.broadcast_to(rp, ra.shape).copy()
    a = 0.5 * (rp + ra)
    e = (ra - rp) / (ra + rp)
    t = np.zeros_like(a)
    t_max = max_years * 365.25 * SECONDS_PER_DAY
    floor = r_eq + REENTRY_ALTITUDE_KM
    alive = a * (1.0 - e) > floor
    cos_e = np.cos(_E_NODES[::2])[None, :]  # 64 nodes resolve perigee drag up to e ~ 0.2
    b_inv = 1000.0 / np.broadcast_to(np.asarray(ballistic_kg_m2, float), a.shape)

    def rates(a_: FloatArray, e_: FloatArray, binv: FloatArray) -> tuple[FloatArray, FloatArray]:
        e_ = np.clip(e_, 0.0, 0.95)[:, None]
        a_ = a_[:, None]
        r = a_ * (1.0 - e_ * cos_e)
        v = np.sqrt(mu / a_ * (1.0 + e_ * cos_e) / (1.0 - e_ * cos_e))
        k = density_fn(r - r_eq) * binv[:, None]
        da = -(a_ * a_ / mu) * k * v**3 * (1.0 - e_ * cos_e)
        de = -k * v * (1.0 - e_ * e_) * cos_e
        return da.mean(axis=1), de.mean(axis=1)

    for _ in range(20000):
        idx = np.nonzero(alive & (t < t_max))[0]
        if idx.size == 0:
            break
        ai, ei, bi = a[idx], e[idx], b_inv[idx]
        da, de = rates(ai, ei, bi)
        # step: a fixed fraction of the time for a to fall to the re-entry radius at the
        # current rate (perigee height alone would crawl on eccentric orbits)
        dt = step_fraction * (ai - floor) / np.maximum(-da, 1e-30)
        am, em = ai + 0.5 * dt * da, np.maximum(ei + 0.5 * dt * de, 0.0)
        da2, de2 = rates(am, em, bi)
        a[idx] = ai + dt * da2
        e[idx] = np.maximum(ei + dt * de2, 0.0)
        t[idx] += dt
        alive[idx] = a[idx] * (1.0 - e[idx]) > floor + 1e-3
    out = np.where(t >= t_max, np.inf, t)
    return out.reshape(
        np.shape(
            np.broadcast_arrays(np.asarray(perigee_km, float), np.asarray(apogee_km, float))[0]
        )
    )


def perigees_for_lifetime(
    apogee_km: ArrayLike,
    lifetime_s: float,
    ballistic_kg_m2: ArrayLike,
    n_grid: int = 10,
    passes: int = 2,
) -> FloatOrArray:
    """Vectorised :func:`perigee_for_lifetime`: for each apogee radius [km], the highest
    perigee radius whose orbit decays within ``lifetime_s`` (the apogee itself if the circular
    orbit does). A grid of perigees per apogee, refined once around the crossing, with
    ln(lifetime) interpolated linearly in perigee height (lifetime is close to exponential in
    it); within about 3.5 km of the bisection of :func:`perigee_for_lifetime` (3.3 km the
    largest difference measured on random orbits, tests/test_lifetime.py)."""
    ra = np.atleast_1d(np.asarray(apogee_km, float))
    lo = np.full(ra.shape, R_EARTH_KM + REENTRY_ALTITUDE_KM + 1.0)
    hi = ra.copy()
    target = math.log(lifetime_s)
    circular_ok = lifetimes(ra, ra, ballistic_kg_m2) <= lifetime_s
    for _ in range(passes):
        frac = np.linspace(0.0, 1.0, n_grid)
        rp = lo[:, None] + (hi - lo)[:, None] * frac[None, :]
        life = lifetimes(rp, np.broadcast_to(ra[:, None], rp.shape), ballistic_kg_m2)
        logl = np.log(np.clip(life, 1e-3, 1e30))
        below = logl <= target
        # last grid point still decaying in time (the first one always does)
        k = np.clip(np.where(below, np.arange(n_grid)[None, :], -1).max(axis=1), 0, n_grid - 2)
        rows = np.arange(ra.size)
        lo, hi = rp[rows, k], rp[rows, k + 1]
        f_lo, f_hi = logl[rows, k], logl[rows, k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.clip((target - f_lo) / (f_hi - f_lo), 0.0, 1.0)
    w = np.where(np.isfinite(w), w, 0.0)
    result = np.where(circular_ok, ra, lo + w * (hi - lo))
    return result.reshape(np.shape(apogee_km)) if np.ndim(apogee_km) else float(result[0])


# --------------------------------------------------------------------------------------------
# The re-entry perigee table
# --------------------------------------------------------------------------------------------

#: The table's file, next to this module (``tools/make_reentry_table.py`` writes it).
REENTRY_TABLE_FILE = "reentry_lifetime.npz"
#: Apogee and perigee altitudes [km] of the table: ln(lifetime) at B = 1 kg/m^2 for every
#: perigee at or below the apogee (above it: the circular orbit's, so that each row rises
#: monotonically to where the circular orbit is).
REENTRY_TABLE_ALT_KM = np.arange(110.0, 2500.0 + 1e-9, 10.0)
#: Largest difference [km] between the table and :func:`perigees_for_lifetime` that the tests
#: allow (measured on random points: see tests/test_lifetime.py).
REENTRY_TABLE_TOLERANCE_KM = 1.5


def reentry_fingerprint() -> np.ndarray:
    """What the table depends on besides B and T: the atmosphere, Earth's radius and mu, the
    re-entry altitude and the quadrature. A table built with another one is not used."""
    return np.concatenate(
        [
            np.ravel(EXPONENTIAL_ATMOSPHERE),
            [R_EARTH_KM, MU_EARTH_KM3_S2, REENTRY_ALTITUDE_KM, float(_E_NODES.size)],
        ]
    )


def reentry_table_values() -> np.ndarray:
    """ln(lifetime [s]) at B = 1 kg/m^2 on :data:`REENTRY_TABLE_ALT_KM` x the same perigee
    altitudes (row: apogee, column: perigee), by :func:`lifetimes`; a perigee above the apogee
    takes the circular orbit's value, and an orbit that outlives 200 years 1e30 s. What
    ``tools/make_reentry_table.py`` stores (minutes of computing)."""
    alt = REENTRY_TABLE_ALT_KM
    ha, hp = np.meshgrid(alt, alt, indexing="ij")
    hp = np.minimum(hp, ha)
    pairs = np.unique(np.stack([ha.ravel(), hp.ravel()], axis=1), axis=0)
    life = lifetimes(R_EARTH_KM + pairs[:, 1], R_EARTH_KM + pairs[:, 0], 1.0)
    value = {
        (float(a), float(p)): math.log(min(max(x, 1e-3), 1e30)) for (a, p), x in zip(pairs, life)
    }
    return np.array(
        [[value[(float(a), float(p))] for a, p in zip(ra, rp)] for ra, rp in zip(ha, hp)]
    )


@cache
def _reentry_table() -> np.ndarray | None:
    """ln(lifetime) of the shipped table (:func:`reentry_table_values`), or None when it is
    missing or was built for another model (:func:`reentry_fingerprint`)."""
    from pathlib import Path

    path = Path(__file__).with_name(REENTRY_TABLE_FILE)
    try:
        with np.load(path) as data:
            fingerprint = data["fingerprint"]
            alt = data["alt_km"]
            table = np.asarray(data["log_lifetime_s"], dtype=float)
    except (OSError, KeyError, ValueError):
        return None
    current = reentry_fingerprint()
    if fingerprint.shape != current.shape or not np.array_equal(fingerprint, current):
        return None
    if not np.array_equal(alt, REENTRY_TABLE_ALT_KM) or table.shape != (alt.size, alt.size):
        return None
    return table


def reentry_perigees(
    apogee_km: ArrayLike, lifetime_s: float, ballistic_kg_m2: float
) -> FloatOrArray:
    """:func:`perigees_for_lifetime` from the shipped lifetime table: for each apogee radius
    [km], the highest perigee radius [km] whose orbit decays within ``lifetime_s`` with
    ballistic coefficient ``ballistic_kg_m2`` (the apogee itself when the circular orbit
    does).

    ln(lifetime) at B = 1 is interpolated linearly in apogee altitude between the table's two
    rows, and the perigee found where it crosses ln(T / B) (linear in perigee altitude, as
    :func:`perigees_for_lifetime` does between its own samples): within
    :data:`REENTRY_TABLE_TOLERANCE_KM` of the direct computation (tested), itself within about
    3.5 km of the adaptive bisection. Apogees outside the table (or no usable table) are
    computed directly.
    """
    ra = np.atleast_1d(np.asarray(apogee_km, float))
    target = math.log(float(lifetime_s) / float(ballistic_kg_m2))
    table = _reentry_table()
    alt = REENTRY_TABLE_ALT_KM
    h = ra - R_EARTH_KM
    inside = np.zeros(ra.shape, dtype=bool) if table is None else (h >= alt[0]) & (h <= alt[-1])
    out = np.empty(ra.shape)
    if table is not None:
        for k in np.flatnonzero(inside):
            j = min(int(np.searchsorted(alt, h[k], side="right")) - 1, alt.size - 2)
            w = (h[k] - alt[j]) / (alt[j + 1] - alt[j])
            row = (1.0 - w) * table[j] + w * table[j + 1]
            # the row rises with the perigee (flat beyond the apogee): first crossing
            above = np.flatnonzero(row > target)
            if above.size == 0 or alt[above[0]] >= h[k]:
                out[k] = ra[k]  # the circular orbit decays in time
                continue
            i = int(above[0])
            if i == 0:  # even the table's lowest perigee lives too long: the direct search
                inside[k] = False
                continue
            f = (target - row[i - 1]) / (row[i] - row[i - 1])
            out[k] = R_EARTH_KM + min(alt[i - 1] + f * (alt[i] - alt[i - 1]), h[k])
    if (~inside).any():
        direct = perigees_for_lifetime(ra[~inside], lifetime_s, ballistic_kg_m2)
        out[~inside] = np.atleast_1d(np.asarray(direct, float))
    return out.reshape(np.shape(apogee_km)) if np.ndim(apogee_km) else float(out[0])
