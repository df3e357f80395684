"""Evidence for otvplan.core.propulsion: the rocket equation, burn durations, low-thrust time.

RKT-02 comes from tests/reference/cases.yaml (a low-authority web example, checked to 1 m/s);
the rest are identities of Tsiolkovsky's equation (Curtis eq. 11.30) tested with hypothesis.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from otvplan.constants import G0_KM_S2, G0_M_S2
from otvplan.core import propulsion as p
from otvplan.errors import PhysicsError
from paths import REFERENCE_CASES as CASES_FILE


@lru_cache(maxsize=1)
def _cases() -> dict:
    data = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return {c["id"]: c for c in data["cases"]}


def test_rocket_equation_rkt02():
    """RKT-02: Isp 450 s, mass ratio 5 gives 7102 m/s (calculatorpod.com Tsiolkovsky FAQ,
    g0 = 9.80665 m/s^2; abs 1 m/s)."""
    c = _cases()["RKT-02"]
    isp, ratio = c["inputs"]["Isp_s"], c["inputs"]["mass_ratio"]
    g0 = c["constants"]["g0_m_s2"] / 1000.0
    m0 = 1000.0
    dv = p.dv_from_propellant(m0 - m0 / ratio, m0, isp, g0_km_s2=g0)
    assert dv * 1000.0 == pytest.approx(c["expected"]["dv_m_s"], abs=c["tolerance"]["abs"])
    assert p.mass_ratio(dv, isp, g0_km_s2=g0) == pytest.approx(ratio, rel=1e-12)


dv_s = st.floats(0.0, 15.0)
mass_s = st.floats(1.0, 1e5)
isp_s = st.floats(50.0, 5000.0)
thrust_s = st.floats(1e-3, 1e6)


@settings(max_examples=300, deadline=None)
@given(dv_s, mass_s, isp_s)
def test_rocket_equation_round_trip(dv, m0, isp):
    """propellant_for_dv then dv_from_propellant returns the delta-v; the mass ratio agrees.

    Mass ratios up to e^5 (~150; real stages stay below ~20): beyond, the final mass m0 - m_p
    keeps only eps * ratio of relative precision, a property of the numbers, not the formula.
    """
    assume(dv / (G0_KM_S2 * isp) <= 5.0)
    mp = p.propellant_for_dv(dv, m0, isp)
    assert 0.0 <= mp < m0
    assert p.dv_from_propellant(mp, m0, isp) == pytest.approx(dv, rel=1e-9, abs=1e-12)
    assert m0 / (m0 - mp) == pytest.approx(p.mass_ratio(dv, isp), rel=1e-9)


@settings(max_examples=300, deadline=None)
@given(dv_s, dv_s, mass_s, isp_s)
def test_burns_compose(dv1, dv2, m0, isp):
    """Two burns in a row use the same propellant as one burn of their sum (the multiplicative
    structure the sequencing DP relies on)."""
    mp1 = p.propellant_for_dv(dv1, m0, isp)
    mp2 = p.propellant_for_dv(dv2, m0 - mp1, isp)
    assert mp1 + mp2 == pytest.approx(p.propellant_for_dv(dv1 + dv2, m0, isp), rel=1e-9, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.floats(0.0, 1e4), thrust_s, isp_s)
def test_burn_duration_is_propellant_over_mass_flow(mp, thrust, isp):
    """t = m_p / mdot with mdot = F / (g0 Isp) (F in N, g0 in m/s^2)."""
    assert p.burn_duration(mp, thrust, isp) == pytest.approx(
        mp / (thrust / (G0_M_S2 * isp)), rel=1e-12
    )


@settings(max_examples=300, deadline=None)
@given(dv_s, mass_s, thrust_s, isp_s)
def test_low_thrust_time_equals_burn_duration_of_its_propellant(dv, m0, thrust, isp):
    """Constant thrust with mass flow: the time to give dv is the burn time of the propellant
    the rocket equation asks for (Curtis sec. 11.5)."""
    t = p.low_thrust_time(dv, m0, thrust, isp)
    mp = p.propellant_for_dv(dv, m0, isp)
    assert t == pytest.approx(p.burn_duration(mp, thrust, isp), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(mass_s, thrust_s, isp_s)
def test_low_thrust_time_small_dv_limit(m0, thrust, isp):
    """For dv << g0 Isp the time tends to dv m0 / F (constant acceleration)."""
    dv = 1e-6 * G0_KM_S2 * isp
    t = p.low_thrust_time(dv, m0, thrust, isp)
    assert t == pytest.approx(dv * 1000.0 * m0 / thrust, rel=1e-5)
    assert t < dv * 1000.0 * m0 / thrust  # the tug gets lighter, so a little faster


def test_shapes():
    """(3, 1) x (4,) -> (3, 4); scalars -> float."""
    dv = np.array([[0.1], [1.0], [4.0]])
    isp = np.array([300.0, 320.0, 450.0, 1500.0])
    assert np.shape(p.propellant_for_dv(dv, 1000.0, isp)) == (3, 4)
    assert np.shape(p.low_thrust_time(dv, 1000.0, 0.5, isp)) == (3, 4)
    assert isinstance(p.mass_ratio(1.0, 320.0), float)
    assert isinstance(p.burn_duration(10.0, 400.0, 320.0), float)


@pytest.mark.parametrize(
    "call",
    [
        lambda: p.propellant_for_dv(-0.1, 1000.0, 300.0),
        lambda: p.propellant_for_dv(1.0, -1000.0, 300.0),
        lambda: p.propellant_for_dv(1.0, 1000.0, 0.0),
        lambda: p.dv_from_propellant(1000.0, 1000.0, 300.0),
        lambda: p.dv_from_propellant(-1.0, 1000.0, 300.0),
        lambda: p.mass_ratio(float("inf"), 300.0),
        lambda: p.burn_duration(-1.0, 400.0, 300.0),
        lambda: p.low_thrust_time(1.0, 1000.0, 0.0, 300.0),
    ],
)
def test_invalid_inputs_raise_physics_error(call):
    """Negative delta-v or mass, zero Isp or thrust, burning all the mass raise PhysicsError."""
    with pytest.raises(PhysicsError):
        call()


def test_exhaust_velocity():
    """ve = g0 Isp: 300 s gives 2.941995 km/s."""
    assert p.exhaust_velocity(300.0) == pytest.approx(300 * 9.80665e-3, rel=1e-15)
    assert math.isclose(p.exhaust_velocity(300.0), 2.941995, rel_tol=1e-12)
