"""The phasing-orbit solve of :mod:`otvplan.planning.legs.phasing`.

A phasing orbit of K anomalistic revolutions, with an apsis on the target orbit, must gain a
given phase on the slot under the planning model's secular rates. The solve starts from a
per-target table of the phase gained per revolution q(a) (one Newton step from its
interpolation) and falls back to secant iterations from the Keplerian guess (Vallado Alg.
44). These tests check the table's answer against the definition, evaluated with the public
:func:`otvplan.core.orbits.secular_rates`, and against the secant iterations alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from otvplan.constants import J2_EARTH, MU_EARTH_KM3_S2, R_EARTH_KM
from otvplan.core.orbits import (
    TWO_PI,
    argument_of_latitude_rate,
    inclination_for_node_rate,
    raan_rate,
    secular_rates,
    sso_inclination,
)
from otvplan.planning.legs import phasing as ph
from otvplan.planning.legs.context import MIN_PHASING_PERIGEE_ALT_KM

#: target orbits: (altitude km, inclination rad or None for sun-synchronous)
TARGETS = [(550.0, None), (550.0, math.radians(53.0)), (1200.0, math.radians(87.0)), (350.0, None)]


def _problem(alt_km, inc, matched, n, seed):
    """Random candidates for one target orbit: revolutions 1-3,000 and phase gains of
    either sign (catching up or falling back)."""
    rng = np.random.default_rng(seed)
    aB = R_EARTH_KM + alt_km
    iB = float(sso_inclination(aB)) if inc is None else inc
    rateB = float(raan_rate(aB, 0.0, iB))
    udotB = float(argument_of_latitude_rate(aB, 0.0, iB))
    K = np.round(np.exp(rng.uniform(0.0, math.log(3000.0), n)))
    gain = rng.uniform(-TWO_PI, TWO_PI, n)
    pb = ph._PhaseProblem(
        aB=np.full(n, aB),
        iB=np.full(n, iB),
        rateB=np.full(n, rateB),
        udotB=np.full(n, udotB),
        K=K,
        gain=gain,
        c_last=np.full(n, math.cos(iB)),
        matched=matched,
        mu=MU_EARTH_KM3_S2,
        r_eq=R_EARTH_KM,
        j2=J2_EARTH,
    )
    # the Keplerian first guess of the planner (Vallado Alg. 44 with J2-scaled periods)
    nkep = math.sqrt(MU_EARTH_KM3_S2 / aB**3)
    tof0 = (TWO_PI * K - gain) / udotB
    n_ph = TWO_PI * K / tof0 * (nkep / udotB)
    return pb, (MU_EARTH_KM3_S2 / n_ph**2) ** (1.0 / 3.0)


def _orbits(pb):
    """The one target orbit of a problem from :func:`_problem`, as the solve takes it."""
    return ((float(pb.aB[0]), float(pb.iB[0]), float(pb.rateB[0]), float(pb.udotB[0])),)


def _copy(pb):
    return pb._replace(c_last=pb.c_last.copy())


@pytest.mark.parametrize("matched", [False, True], ids=["plain", "matched-node"])
@pytest.mark.parametrize("alt_km, inc", TARGETS)
def test_phasing_orbit_gains_the_phase_asked_for(alt_km, inc, matched):
    """The solved orbit, put through the public rate model, gains gain after K revolutions
    to 1e-9 of a revolution per revolution, and the matched-node orbit's node turns with the
    target's."""
    pb, guess = _problem(alt_km, inc, matched, 3000, seed=int(alt_km) + matched)
    (err, t, e, i, raan_dot, _), a = ph._solve_phasing_orbits(
        _copy(pb), guess, _orbits(pb), np.zeros(guess.size, int)
    )
    ok = np.abs(err) < ph._phase_tolerance(pb.K)
    assert ok.mean() > 0.5  # most are solved (the rest dip under the perigee floor)
    r = secular_rates(a[ok], e[ok], i[ok])
    m_dot = np.asarray(r.mean_anomaly)
    gained = (np.asarray(r.argp) + m_dot - pb.udotB[ok]) * TWO_PI * pb.K[ok] / m_dot
    np.testing.assert_allclose(gained, pb.gain[ok], rtol=0, atol=2e-9 * TWO_PI * 3000)
    np.testing.assert_allclose(t[ok], TWO_PI * pb.K[ok] / m_dot, rtol=1e-14)
    np.testing.assert_allclose(e[ok], np.abs(pb.aB[ok] - a[ok]) / a[ok], rtol=1e-14)
    np.testing.assert_allclose(raan_dot[ok], np.asarray(r.raan), rtol=1e-14)
    if matched:
        want = np.asarray(inclination_for_node_rate(a[ok], e[ok], pb.rateB[ok]))
        has = np.isfinite(want)
        np.testing.assert_allclose(i[ok][has], want[has], rtol=0, atol=1e-12)


@pytest.mark.parametrize("matched", [False, True], ids=["plain", "matched-node"])
@pytest.mark.parametrize("alt_km, inc", TARGETS)
def test_phase_table_finds_the_secant_iterations_orbit(alt_km, inc, matched, monkeypatch):
    """Every orbit above the perigee floor that the secant iterations solve, the table
    solves too, to the same semi-major axis within 1e-6 km (those it leaves unsolved as too
    low are, solved by the secant iterations, under the floor). The table also solves
    matched-node orbits with large inclination changes where the secant iterations stall
    (up to a few per cent of the candidates of the 53 deg target); the test above checks
    those against the definition."""
    pb, guess = _problem(alt_km, inc, matched, 3000, seed=7 + int(alt_km) + matched)
    target = np.zeros(guess.size, int)
    (err_t, *_), a_t = ph._solve_phasing_orbits(_copy(pb), guess, _orbits(pb), target)

    def no_table(pb, orbits, r):
        n = r.size
        return np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)

    monkeypatch.setattr(ph, "_table_guess", no_table)
    (err_s, *_), a_s = ph._solve_phasing_orbits(_copy(pb), guess, _orbits(pb), target)
    tol = ph._phase_tolerance(pb.K)
    ok_t, ok_s = np.abs(err_t) < tol, np.abs(err_s) < tol
    floor = R_EARTH_KM + MIN_PHASING_PERIGEE_ALT_KM
    above_s = ok_s & (2.0 * a_s - pb.aB >= floor)
    above_t = ok_t & (2.0 * a_t - pb.aB >= floor)
    # the planner keeps only solved orbits above the floor: all of the secant's ...
    assert not np.any(above_s & ~above_t)
    # ... at the same orbit
    np.testing.assert_allclose(a_t[above_s], a_s[above_s], rtol=0, atol=1e-6)
    assert above_s.sum() > 1000
    if not matched:  # plain orbits: exactly the same set
        np.testing.assert_array_equal(above_t, above_s)


def test_stacked_tables_give_each_target_its_own_guess():
    """Candidates of several target orbits at once (the tables searched end to end) get the
    guesses each target's table gives them alone."""
    problems = [
        _problem(alt, inc, True, 500, seed=3 + n)[0] for n, (alt, inc) in enumerate(TARGETS)
    ]
    rng = np.random.default_rng(11)
    r = rng.integers(0, len(problems), 2000)
    row = rng.integers(0, 500, 2000)
    mixed = problems[0]._replace(
        **{
            f: np.array([getattr(problems[q], f)[i] for q, i in zip(r, row)])
            for f in ("aB", "iB", "rateB", "udotB", "K", "gain", "c_last")
        }
    )
    orbits = tuple(_orbits(p)[0] for p in problems)
    together = ph._table_guess(mixed, orbits, r)
    for q, p in enumerate(problems):
        alone = ph._table_guess(p, _orbits(p), np.zeros(500, int))
        sel = np.nonzero(r == q)[0]
        for got, want in zip(together, alone, strict=True):
            np.testing.assert_allclose(got[sel], want[row[sel]], rtol=1e-12, atol=1e-12)
    assert np.isfinite(together[0]).mean() > 0.5
