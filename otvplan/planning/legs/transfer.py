"""Direct two-burn transfers between orbits, vectorised over (tug state, target) pairs: the
building block of every chemical leg (the ``direct`` strategy, and both halves of a ``drift``).

A transfer leaves the tug's orbit on the planes' line of intersection (or at an apsis of an
elliptic orbit) and splits the whole plane change - inclination and RAAN - optimally between
its two burns (:func:`otvplan.core.maneuvers.hohmann_plane_change`), aiming at the target plane
as J2 will have turned it by arrival. Core units: km, km/s, s, rad.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from otvplan.core import maneuvers as mnv
from otvplan.core.orbits import TWO_PI, node_crossing, plane_angle, raan_rate
from otvplan.planning.legs.context import CIRCULAR_E, COPLANAR_RAD


class Departure(NamedTuple):
    """Where the tug is, per pair (arrays of shape (P,)): its orbit and where in it at
    ``t0_s``, with the orbit's J2 rates [rad/s]."""

    t0_s: np.ndarray
    a_km: np.ndarray
    e: np.ndarray
    inc_rad: np.ndarray
    argp_rad: np.ndarray
    raan_rad: np.ndarray
    u_rad: np.ndarray
    raan_rate: np.ndarray
    u_rate: np.ndarray


class Target(NamedTuple):
    """The orbit a transfer goes to, per pair: its elements, its RAAN at the epoch (0 where
    ``raan_free``) and the J2 rate that turns it [rad/s]."""

    a_km: np.ndarray
    e: np.ndarray
    inc_rad: np.ndarray
    raan0_rad: np.ndarray
    raan_rate: np.ndarray
    raan_free: np.ndarray


@dataclass(frozen=True)
class Transfer:
    """A direct transfer per pair (struct of arrays). Burn times ``tb1``/``tb2`` [s] and
    magnitudes ``dv1``/``dv2`` [km/s] (infinite where this model cannot fly the pair), the
    plane rotation of each burn ``th1``/``th2`` of the total ``theta`` [rad]; the argument of
    latitude ``u_b1`` and RAAN ``raan_b1`` of the tug's plane at burn 1; arrival argument of
    latitude and RAAN; speeds before/after each burn ``v1, vt1, vt2, v2`` [km/s]; departure and
    arrival radii and the transfer orbit's semi-major axis [km]; ``same`` where both burns are
    one (equal radii); ``rate_t`` the transfer orbit's nodal rate [rad/s]."""

    tb1: np.ndarray
    tb2: np.ndarray
    dv1: np.ndarray
    dv2: np.ndarray
    th1: np.ndarray
    th2: np.ndarray
    u_b1: np.ndarray
    u_arr: np.ndarray
    raan_arr: np.ndarray
    theta: np.ndarray
    v1: np.ndarray
    vt1: np.ndarray
    vt2: np.ndarray
    v2: np.ndarray
    r_dep: np.ndarray
    r_arr: np.ndarray
    a_t: np.ndarray
    raan_b1: np.ndarray
    same: np.ndarray
    rate_t: np.ndarray

    @property
    def dv(self) -> np.ndarray:
        """Total delta-v [km/s]."""
        return self.dv1 + self.dv2


def _choose(better: np.ndarray, alt: Transfer, best: Transfer) -> Transfer:
    """Row by row, ``alt`` where ``better`` else ``best``."""
    return Transfer(
        **{
            f.name: np.where(better, getattr(alt, f.name), getattr(best, f.name))
            for f in fields(Transfer)
        }
    )


def direct_transfer(dep: Departure, tgt: Target, mu: float) -> Transfer:
    """Direct two-burn transfer from the tug's state into the target's plane (see the module
    docstring). Rows that this model cannot fly get dv1 = dv2 = inf (see :func:`_direct_via`).

    An elliptic orbit is left at one of its apsides and an elliptic target joined at one of
    its apsides. The first guess - depart at the apoapsis unless the target is lower, arrive
    at the target's apsis nearer the departure radius - is not always the cheaper one: from
    600 km circular to e = 0.9 (100.9 x 116,706 km), raising the apogee first and lowering the
    perigee there costs 2.860 km/s, joining at the nearer perigee 2.965 km/s. So the other
    apsis of each elliptic orbit is tried too and the cheapest kept (ties keep the guess).
    """
    guess_dep = tgt.a_km >= dep.a_km
    best = _direct_via(dep, tgt, mu, guess_dep, None)
    flips_dep = bool(np.any(dep.e >= CIRCULAR_E))
    flips_arr = bool(np.any(tgt.e >= CIRCULAR_E))
    if not (flips_dep or flips_arr):
        return best
    total = best.dv1 + best.dv2
    for dep_apo in (guess_dep, ~guess_dep) if flips_dep else (guess_dep,):
        for arr_apo in (True, False) if flips_arr else (None,):
            alt = _direct_via(dep, tgt, mu, dep_apo, arr_apo)
            alt_total = alt.dv1 + alt.dv2
            better = alt_total < total * (1.0 - 1e-9)
            if np.any(better):
                best = _choose(better, alt, best)
                total = np.where(better, alt_total, total)
    return best


def _direct_via(dep: Departure, tgt: Target, mu: float, dep_apo, arr_apo) -> Transfer:
    """:func:`direct_transfer` departing an elliptic orbit at its apoapsis where ``dep_apo``
    (else its periapsis) and arriving at an elliptic target's apoapsis where ``arr_apo`` (else
    periapsis; None: the apsis nearer the departure radius). Circular orbits ignore these."""
    t0, aA, eA, iA, argpA, raanA, uA, rateA, udotA = dep
    aB, eB, iB, raanB0, rateB, raan_free = tgt
    circular = eA < CIRCULAR_E
    dep_apo = np.asarray(dep_apo, bool)

    def arrival_radius(r_dep):
        rp_B, ra_B = aB * (1.0 - eB), aB * (1.0 + eB)
        at_ra = (np.abs(ra_B - r_dep) < np.abs(rp_B - r_dep)) if arr_apo is None else arr_apo
        return np.where(eB < CIRCULAR_E, aB, np.where(at_ra, ra_B, rp_B))

    # The transfer orbit's node regresses at its own rate while the target's moves at rateB:
    # aim burn 1 at the target plane shifted by the difference over the transfer time.
    r_dep_est = np.where(circular, aA, np.where(dep_apo, aA * (1 + eA), aA * (1 - eA)))
    # The transfer arrives at B's apsis (B's radius if circular), as chosen below, not at
    # radius aB; equal radii mean one burn and no coast (tof 0), so no lead (else two
    # identical elliptic orbits would be aimed apart by the lead).
    r_arr_est = arrival_radius(r_dep_est)
    a_t_est = 0.5 * (r_dep_est + r_arr_est)
    e_t_est = np.abs(r_arr_est - r_dep_est) / (r_arr_est + r_dep_est)
    tof_est = np.where(np.abs(r_arr_est - r_dep_est) < 1e-9, 0.0, np.pi * np.sqrt(a_t_est**3 / mu))
    rate_t = np.asarray(raan_rate(a_t_est, e_t_est, 0.5 * (iA + iB), mu), float)
    lead = (rateB - rate_t) * tof_est

    # First guess of the burn time: now; refine as the planes drift during the wait.
    def raan_gap(tb):
        r_a = raanA + rateA * (tb - t0)
        return r_a, np.where(raan_free, 0.0, raanB0 + rateB * tb + lead - r_a)

    tb = t0.copy()
    # Rows whose gap moves during a wait (< half a revolution) need the burn time iterated;
    # for planes turning together (e.g. sun-synchronous) one evaluation is exact.
    moving = np.abs(np.where(raan_free, 0.0, rateB - rateA)) * (np.pi / udotA) > 1e-13
    for it in range(3):
        rows = slice(None) if it == 0 else np.nonzero(moving)[0]
        if it and rows.size == 0:
            break
        _, d_raan = raan_gap(tb)
        theta, u1, _u2 = _geometry(_sub(iA, rows), _sub(iB, rows), _sub(d_raan, rows))
        coplanar = theta < COPLANAR_RAD
        # circular: the first of the two line crossings; elliptic: the apoapsis or periapsis
        wait_c = np.where(coplanar, 0.0, np.mod(u1 - _sub(uA, rows), np.pi) / _sub(udotA, rows))
        tb_new = _sub(t0, rows) + np.where(_sub(circular, rows), wait_c, 0.0)
        tb = tb_new if it == 0 else _put(tb, rows, tb_new)
    # Elliptic departure: burn at the chosen apsis.
    r_apo, r_peri = aA * (1.0 + eA), aA * (1.0 - eA)
    at_apo = dep_apo
    u_aps = np.where(at_apo, argpA + np.pi, argpA)
    wait_e = np.mod(u_aps - uA, TWO_PI) / udotA
    tb = np.where(circular, tb, t0 + wait_e)
    u_b = np.mod(uA + udotA * (tb - t0), TWO_PI)
    r_dep = np.where(circular, aA, np.where(at_apo, r_apo, r_peri))
    rA, d_raan = raan_gap(tb)
    theta, u1, u2 = _geometry(iA, iB, d_raan)
    coplanar = theta < COPLANAR_RAD
    # Arrival radius: circular target at its radius; elliptic target at the chosen apsis.
    r_arr = arrival_radius(r_dep)
    same = np.abs(r_arr - r_dep) < 1e-9
    split = _split_unique(r_dep, np.where(same, r_dep, r_arr), theta, aA, aB, mu)
    dv1 = np.asarray(split.dv1, float)
    dv2 = np.asarray(split.dv2, float)
    tof = np.asarray(split.tof, float)
    th1 = np.asarray(split.theta1, float)
    th2 = np.asarray(split.theta2, float)
    # An elliptic orbit is left at an apsis, where the burn turns the plane about the radius
    # vector: that reaches the target plane only if the apsis lies on the line where the two
    # planes meet (e.g. a GTO with its apogee on the node). Elsewhere it would leave the tug
    # in a third plane (a GTO with argp 120 deg "to GEO" ended at 26 deg, not 0): such rows
    # cannot be flown, so their delta-v is infinite and the search drops them. (Turning by
    # theta about an axis delta off the line misses the target plane by 2 theta sin(delta/2),
    # ~ theta |sin delta|; up to 1e-7 rad, far below any tolerance, is accepted.)
    off_node = ~circular & ~coplanar & (theta * np.abs(np.sin(u_b - u1)) > 1e-7)
    dv1 = np.where(off_node, np.inf, dv1)
    dv2 = np.where(off_node, np.inf, dv2)
    # Which end of the line of nodes the first burn is at decides the arrival point.
    end = np.round(np.mod(u_b - u1, TWO_PI) / np.pi) % 2
    u_arr = np.where(coplanar, u_b + np.pi, np.where(end == 0, u2 + np.pi, u2))
    u_arr = np.where(same, np.where(coplanar, u_b, np.where(end == 0, u2, u2 + np.pi)), u_arr)
    tb2 = tb + tof
    raan_arr = np.where(raan_free, rA + rate_t * tof, raanB0 + rateB * tb2)
    # speeds for burn vectors
    a_t = 0.5 * (r_dep + r_arr)
    v1 = np.sqrt(mu * (2.0 / r_dep - 1.0 / aA))
    vt1 = np.sqrt(mu * (2.0 / r_dep - 1.0 / a_t))
    vt2 = np.sqrt(mu * (2.0 / r_arr - 1.0 / a_t))
    v2 = np.sqrt(mu * (2.0 / r_arr - 1.0 / aB))
    vt2 = np.where(same, vt1, vt2)
    return Transfer(
        tb1=tb,
        tb2=tb2,
        dv1=dv1,
        dv2=dv2,
        th1=th1,
        th2=th2,
        u_b1=u_b,
        u_arr=np.mod(u_arr, TWO_PI),
        raan_arr=raan_arr,
        theta=theta,
        v1=v1,
        vt1=vt1,
        vt2=vt2,
        v2=v2,
        r_dep=r_dep,
        r_arr=r_arr,
        a_t=a_t,
        raan_b1=rA,
        same=same,
        rate_t=rate_t,
    )


def tilt_at_point(i1, raan1, u1, i2):
    """Plane (RAAN, argument of latitude) after turning plane (i1, raan1) about the radius at
    argument of latitude u1 until its inclination is i2 (the point keeps its right ascension
    and declination; it stays on the same side, ascending or descending)."""
    sin_dec = np.sin(i1) * np.sin(u1)
    ra = raan1 + np.arctan2(np.cos(i1) * np.sin(u1), np.cos(u1))
    s2 = np.clip(sin_dec / np.where(np.sin(i2) != 0.0, np.sin(i2), 1e-300), -1.0, 1.0)
    u2 = np.arcsin(s2)
    u2 = np.where(np.cos(u1) < 0.0, np.pi - u2, u2)
    raan2 = ra - np.arctan2(np.cos(i2) * np.sin(u2), np.cos(u2))
    return np.mod(raan2, TWO_PI), np.mod(u2, TWO_PI)


def _sub(x, rows):
    """x[rows] for arrays; scalars pass through (broadcast later)."""
    x = np.asarray(x)
    return x if x.ndim == 0 else x[rows]


def _put(x, rows, values):
    x = np.array(x, dtype=float, copy=True)
    x[rows] = values
    return x


def _unique_rows(*cols):
    """``(index, inverse)`` of the distinct rows of equal-length 1-D float columns.

    Like ``np.unique(np.stack(cols, 1), axis=0, return_index=True, return_inverse=True)``
    but built from 1-D integer sorts (many times faster than sorting rows): each column is
    replaced by the id of its value, and ids are folded in pairwise.
    """
    n = np.size(cols[0])
    if n <= 1:  # (one row: nothing to share; the sorts would cost more than the row)
        one = np.arange(n)
        return one, one
    # fold the columns in one at a time: (ids so far, next column) as one complex number,
    # whose sort is lexicographic, so each fold is a single 1-D sort
    ids = np.asarray(cols[0], float).ravel()
    for col in cols[1:]:
        pair = ids + 1j * np.asarray(col, float).ravel()
        _, ids = np.unique(pair, return_inverse=True)
        ids = ids.reshape(-1).astype(float)
    _, index, inverse = np.unique(ids, return_index=True, return_inverse=True)
    return index, inverse.reshape(-1)


def _geometry(iA, iB, d_raan):
    """Plane angle and line-of-nodes arguments of latitude for planes (iA, 0), (iB, d_raan).

    They depend on the RAAN difference only (arguments of latitude are measured from each
    plane's own node), so they are computed once per distinct (iA, iB, dRAAN) row; dRAAN is
    quantised to 2^-40 rad (~1e-12 rad) so that rows equal up to rounding share the work.
    """
    iA, iB, d = np.broadcast_arrays(
        np.asarray(iA, float),
        np.asarray(iB, float),
        np.round(np.mod(d_raan, TWO_PI) * 2.0**40) / 2.0**40,
    )
    index, inverse = _unique_rows(iA.ravel(), iB.ravel(), d.ravel())
    uniq = np.stack([iA.ravel()[index], iB.ravel()[index], d.ravel()[index]], axis=-1)
    zero = np.zeros(uniq.shape[0])
    theta = np.asarray(plane_angle(uniq[:, 0], zero, uniq[:, 1], uniq[:, 2]), float)
    u1, u2 = node_crossing(uniq[:, 0], zero, uniq[:, 1], uniq[:, 2])
    shape = iA.shape
    return (
        theta[inverse].reshape(shape),
        np.asarray(u1, float)[inverse].reshape(shape),
        np.asarray(u2, float)[inverse].reshape(shape),
    )


def _split_unique(r1, r2, theta, a1, a2, mu):
    """:func:`otvplan.core.maneuvers.hohmann_plane_change` evaluated once per distinct input row.

    Many tug states share a leg's geometry (every label of a search between the same two
    sun-synchronous orbits sees the same plane angle), so solving the split on the unique rows
    and scattering back saves most of the work without changing any result.
    """
    # Plane angles computed at different times for planes turning at the same rate differ
    # only by rounding; quantise them (2^-40 rad ~ 1e-12 rad, far below any tolerance) so that
    # such rows are recognised as one.
    theta_q = np.clip(np.round(np.asarray(theta, float) * 2.0**40) / 2.0**40, 0.0, np.pi)
    cols = [np.ravel(c) for c in np.broadcast_arrays(r1, r2, theta_q, a1, a2)]
    index, inverse = _unique_rows(*cols)
    uniq = np.stack([c[index] for c in cols], axis=-1)
    s = mnv.hohmann_plane_change(
        uniq[:, 0], uniq[:, 1], uniq[:, 2], mu, a1=uniq[:, 3], a2=uniq[:, 4]
    )
    shape = np.shape(r1) if np.ndim(r1) else np.broadcast(r1, r2, theta).shape
    return mnv.SplitTransfer(*(np.asarray(x, float)[inverse].reshape(shape) for x in s))
