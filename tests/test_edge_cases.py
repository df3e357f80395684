"""Edge cases of the planner: valid but extreme scenarios plan without NaN or inf anywhere.

Each case is a scenario written as YAML text, planned with :func:`otvplan.planning.solver.plan`, and
checked three ways:

- every float of the Plan (walked through its dataclasses, so a NaN that ``to_data`` would turn
  into ``null`` is still caught) is finite, and its JSON (``plan_to_json``) holds no "inf";
- the Markdown report, legs.csv and burns.csv hold no "nan"/"inf" token, and the delta-v budget
  the report prints is finite;
- something meaningful about the answer, from an independent formula: a Hohmann transfer or a
  combined burn by vis-viva (Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed.,
  Alg. 36 and eq. 6-23 / sec. 6.4.3), the rocket equation (Tsiolkovsky), deliveries within the
  target tolerances, and the mass ledger initial - propellant - delivered = final.

Cases: identical drop-off and target orbits (LEO, SSO, GEO with a slot, e = 0.9, retrograde);
tiny changes (1 m of altitude, 0.001 deg of inclination or RAAN); retrograde (120-170 deg) and
(near-)equatorial (0 and 0.001 deg, RAAN ill-defined) targets; eccentric orbits up to e = 0.9;
GTO to GEO; a 100-payload manifest (beam search); a zero-propellant tug; payloads heavier than
the tug. Only two cases write the full report with figures (slow); the others render Markdown.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
import textwrap

import pytest

from otvplan.constants import G0_KM_S2, MU_EARTH_KM3_S2, R_EARTH_KM
from otvplan.core.orbits import TWO_PI, argument_of_latitude_rate, raan_rate
from otvplan.errors import ScenarioError
from otvplan.flight.trajectory import dv_budget
from otvplan.io import scenario as sc_mod
from otvplan.model import Plan, to_data
from otvplan.planning.solver import plan as solve
from otvplan.reporting import report as rp

MU = MU_EARTH_KM3_S2
CHEM = "{name: main, type: chemical, isp: 230 s, thrust: 22 N}"
VE_230 = G0_KM_S2 * 230.0  # effective exhaust speed of CHEM [km/s]
LEO = "{altitude: 525 km, inclination: 53 deg, raan: 40 deg}"


# --------------------------------------------------------------------------------------------
# Independent formulas (vis-viva; none of them calls otvplan.core.maneuvers)
# --------------------------------------------------------------------------------------------


def vis_viva(r, a):
    """Orbital speed [km/s] at radius r of an orbit of semi-major axis a (vis-viva)."""
    return math.sqrt(MU * (2.0 / r - 1.0 / a))


def hohmann_total(r1, r2):
    """Total delta-v of a Hohmann transfer between circular radii (Vallado Alg. 36)."""
    a_t = 0.5 * (r1 + r2)
    return abs(vis_viva(r1, a_t) - vis_viva(r1, r1)) + abs(vis_viva(r2, r2) - vis_viva(r2, a_t))


def apse_to_apse(r_dep, a_dep, r_arr, a_arr):
    """Two tangential burns from an apsis (radius r_dep) of orbit 1 to an apsis (r_arr) of orbit
    2 via the ellipse joining them (Vallado Alg. 36 with elliptic initial/final orbits)."""
    a_t = 0.5 * (r_dep + r_arr)
    return abs(vis_viva(r_dep, a_t) - vis_viva(r_dep, a_dep)) + abs(
        vis_viva(r_arr, a_arr) - vis_viva(r_arr, a_t)
    )


def propellant_for(m0, dv, ve=VE_230):
    """Propellant burnt by mass m0 for delta-v dv (rocket equation)."""
    return m0 * -math.expm1(-dv / ve)


# --------------------------------------------------------------------------------------------
# Scenarios and checks
# --------------------------------------------------------------------------------------------


def scenario_text(
    name,
    dropoff,
    payloads,
    *,
    propellant="80 kg",
    tank="100 kg",
    dry="150 kg",
    reserve="0 kg",
    engine=CHEM,
    extra="",
):
    """YAML of a scenario; ``payloads`` is a list of (mass, target flow mapping)."""
    lines = [
        f"name: {name}",
        "epoch: 2027-03-01T10:00:00Z",
        f"dropoff: {dropoff}",
        "tug:",
        "  name: tug",
        f"  dry_mass: {dry}",
        f"  propellant: {propellant}",
        f"  tank_capacity: {tank}",
        f"  propellant_reserve: {reserve}",
        "  engines:",
        f"    - {engine}",
        "payloads:",
    ]
    lines += [
        f"  - {{name: p{k + 1}, mass: {m}, target: {t}}}" for k, (m, t) in enumerate(payloads)
    ]
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


def load(text, name="edge"):
    return sc_mod.loads(text, filename=f"{name}.yaml")


def nonfinite_paths(obj, path="plan"):
    """Paths of every non-finite float in a model object (dataclasses, tuples, dicts)."""
    bad = []
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return bad
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [f"{path} = {obj!r}"]
    if isinstance(obj, int):
        return bad
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            bad += nonfinite_paths(getattr(obj, f.name), f"{path}.{f.name}")
        return bad
    if isinstance(obj, dict):
        for k, v in obj.items():
            bad += nonfinite_paths(v, f"{path}[{k!r}]")
        return bad
    if isinstance(obj, (list, tuple)):
        for k, v in enumerate(obj):
            bad += nonfinite_paths(v, f"{path}[{k}]")
        return bad
    try:  # numpy scalars
        x = float(obj)
    except (TypeError, ValueError):
        return bad
    return [] if math.isfinite(x) else [f"{path} = {obj!r}"]


#: "nan", "inf", "-inf", "infinity" as a word (not inside "infeasible" or "information")
NONFINITE_TOKEN = re.compile(r"(?i)(?<![a-z])[-+]?(nan|inf|infinity)(?![a-z])")


def check_text(text, what):
    found = NONFINITE_TOKEN.findall(text)
    assert not found, f"{what} contains non-finite numbers: {found[:5]}"


def check_finite(p: Plan):
    """No NaN/inf in the Plan, its JSON, the Markdown report, the CSV files, the dv budget."""
    bad = nonfinite_paths(p)
    assert not bad, "non-finite values in the plan:\n" + "\n".join(bad[:20])
    doc = json.loads(rp.plan_to_json(p))  # allow_nan=False inside: raises on a bare NaN
    data = doc["plan"]
    assert data == json.loads(json.dumps(to_data(p)))
    check_text(json.dumps(data), "plan.json")
    check_text(rp.render_markdown(p), "report.md")
    check_text(rp.legs_csv(p), "legs.csv")
    check_text(rp.burns_csv(p), "burns.csv")
    budget = dv_budget(p)
    assert math.isfinite(budget.total_kms) and math.isfinite(budget.margin_kms), budget


def check_bookkeeping(p: Plan):
    """Burn by burn the rocket equation at the tug's mass; initial - propellant burnt -
    payloads delivered = final; no more propellant used than loaded."""
    sc = p.scenario
    ve = {e.name: G0_KM_S2 * e.isp_s for e in sc.tug.engines}
    m = sc.initial_mass_kg
    burnt = released = 0.0
    for leg in p.legs:
        assert leg.mass_before_kg == pytest.approx(m, rel=1e-12)
        for b in leg.burns:
            assert b.mass_before_kg == pytest.approx(m, rel=1e-12)
            assert b.propellant_kg == pytest.approx(
                propellant_for(m, b.dv_kms, ve[b.engine]), rel=1e-12, abs=1e-12
            )
            m -= b.propellant_kg
            burnt += b.propellant_kg
        if leg.delivery is not None:
            m -= leg.delivery.mass_kg
            released += leg.delivery.mass_kg
        assert leg.mass_after_kg == pytest.approx(m, rel=1e-12)
    assert sc.initial_mass_kg - burnt - released == pytest.approx(p.final_mass_kg, rel=1e-12)
    assert p.propellant_used_kg == pytest.approx(burnt, rel=1e-12, abs=1e-12)
    assert p.propellant_remaining_kg == pytest.approx(
        sc.tug.propellant_kg - burnt, rel=1e-12, abs=1e-12
    )
    assert p.propellant_used_kg <= sc.tug.propellant_kg + 1e-9
    assert p.final_mass_kg >= sc.tug.dry_mass_kg - 1e-9
    assert released == pytest.approx(
        sum(pl.mass_kg for pl in sc.payloads if pl.name in p.delivered), rel=1e-12
    )


def angle_error(x, want):
    return (x - want + math.pi) % TWO_PI - math.pi


def check_deliveries(p: Plan):
    """Each delivery's mean orbit meets its target within the target's tolerances (the RAAN
    and slot targets advance at the secular J2 rates of the target orbit)."""
    targets = {pl.name: pl.target for pl in p.scenario.payloads}
    for leg in p.legs:
        d = leg.delivery
        if d is None:
            continue
        tgt, o = targets[d.payload], d.orbit
        tol = tgt.tolerances
        assert abs(o.a_km - tgt.a_km) <= tol.sma_km, d
        assert abs(o.e - tgt.e) <= tol.eccentricity, d
        assert abs(o.inc_rad - tgt.inc_rad) <= tol.inclination_rad, d
        if tgt.raan_rad is not None:
            want = tgt.raan_rad + raan_rate(tgt.a_km, tgt.e, tgt.inc_rad) * d.t_s
            assert abs(angle_error(o.raan_rad, want)) <= tol.raan_rad, d
        if tgt.slot_rad is not None:
            want = tgt.slot_rad + argument_of_latitude_rate(tgt.a_km, tgt.e, tgt.inc_rad) * d.t_s
            assert abs(angle_error(o.u_rad, want)) <= tol.slot_rad, d
        if leg.burns:  # the last burn leaves the tug in the delivered orbit
            last = leg.burns[-1].orbit_after
            assert last.a_km == pytest.approx(o.a_km, rel=1e-9)
            assert last.inc_rad == pytest.approx(o.inc_rad, abs=1e-7)


def check_all(p: Plan):
    check_finite(p)
    check_bookkeeping(p)
    check_deliveries(p)
    assert set(p.delivered) | set(p.undelivered) == {pl.name for pl in p.scenario.payloads}


# --------------------------------------------------------------------------------------------
# Identical drop-off and target orbit
# --------------------------------------------------------------------------------------------

IDENTICAL = {
    "leo": "{altitude: 525 km, inclination: 53 deg, raan: 40 deg}",
    "sso-ltan": "{altitude: 525 km, sso: true, ltan: '10:30'}",
    "leo-slot": "{altitude: 525 km, inclination: 53 deg, raan: 40 deg, slot: 10 deg}",
    "geo-slot": "{altitude: 35786 km, inclination: 0 deg, raan: 0 deg, slot: 10 deg}",
    "retrograde": "{altitude: 600 km, inclination: 150 deg, raan: 200 deg}",
    "e0.9": "{sma: 64790 km, eccentricity: 0.9, inclination: 28.5 deg, raan: 10 deg}",
}


@pytest.mark.parametrize("orbit", IDENTICAL.values(), ids=IDENTICAL.keys())
def test_identical_dropoff_and_target_costs_nothing(orbit):
    """A payload whose target is the drop-off orbit is released there for zero delta-v."""
    sc = load(scenario_text("identical", orbit, [("10 kg", orbit)]))
    p = solve(sc)
    check_all(p)
    assert p.feasible and p.delivered == ("p1",)
    assert p.total_dv_kms == pytest.approx(0.0, abs=1e-9)
    assert p.propellant_used_kg == pytest.approx(0.0, abs=1e-9)
    assert p.final_mass_kg == pytest.approx(sc.tug.dry_mass_kg + sc.tug.propellant_kg, abs=1e-9)
    d = p.legs[0].delivery
    drop = sc.dropoff
    # released in the drop-off orbit itself
    assert d.orbit.a_km == pytest.approx(drop.a_km, abs=1e-9)
    assert d.orbit.e == pytest.approx(drop.e, abs=1e-12)
    assert d.orbit.inc_rad == pytest.approx(drop.inc_rad, abs=1e-12)
    raan_now = drop.raan_rad + raan_rate(drop.a_km, drop.e, drop.inc_rad) * d.t_s
    assert angle_error(d.orbit.raan_rad, raan_now) == pytest.approx(0.0, abs=1e-9)
    if drop.e == 0.0:
        assert d.t_s == pytest.approx(0.0, abs=1e-6)  # at once
    else:  # an elliptic departure waits for its apsis: less than one revolution
        assert 0.0 <= d.t_s <= TWO_PI * math.sqrt(drop.a_km**3 / MU)


# --------------------------------------------------------------------------------------------
# Tiny changes
# --------------------------------------------------------------------------------------------


def test_one_metre_altitude_change_is_a_hohmann():
    """1 m up (any RAAN): the Hohmann delta-v (Vallado Alg. 36), about v dr / (2 r) = 0.55 mm/s;
    no cancellation turns it into 0 or noise."""
    sc = load(
        scenario_text("one-metre", LEO, [("10 kg", "{altitude: 525.001 km, inclination: 53 deg}")])
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible
    r1 = R_EARTH_KM + 525.0
    r2 = R_EARTH_KM + 525.001
    expected = hohmann_total(r1, r2)
    # first-order check of the formula itself: dv ~ v (r2 - r1) / (2 r1)
    assert expected == pytest.approx(vis_viva(r1, r1) * (r2 - r1) / (2 * r1), rel=1e-3)
    # vis-viva differences of ~7.6 km/s speeds lose ~1e-15 km/s each: ~1e-9 relative here
    assert p.total_dv_kms == pytest.approx(expected, rel=1e-7)
    assert p.legs[0].delivery.orbit.a_km == pytest.approx(r2, abs=1e-9)
    assert p.propellant_used_kg == pytest.approx(
        propellant_for(sc.initial_mass_kg, expected), rel=1e-7
    )


def test_thousandth_of_a_degree_inclination_change():
    """0.001 deg of inclination at the node: dv = 2 v sin(di/2) (Vallado Alg. 39)."""
    sc = load(
        scenario_text(
            "milli-degree",
            LEO,
            [("10 kg", "{altitude: 525 km, inclination: 53.001 deg, raan: 40 deg}")],
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible
    v = vis_viva(R_EARTH_KM + 525.0, R_EARTH_KM + 525.0)
    expected = 2.0 * v * math.sin(math.radians(0.001) / 2.0)
    # The planes' nodes regress at rates differing by ~2e-11 rad/s (J2, cos i): during the
    # wait for the node (< half a revolution) they part by < 1e-7 rad, which adds to the
    # 1.7e-5 rad plane angle only at second order (< 2e-5 relative).
    assert p.total_dv_kms == pytest.approx(expected, rel=2e-5)
    assert p.legs[0].delivery.orbit.inc_rad == pytest.approx(math.radians(53.001), abs=1e-12)


HALL = "{name: hall, type: electric, isp: 1500 s, thrust: 50 mN, power: 900 W}"


@pytest.mark.parametrize(
    "target,kind",
    [
        ("{altitude: 525.001 km, inclination: 53 deg}", "raise"),
        ("{altitude: 525 km, inclination: 53.001 deg}", "tilt"),
    ],
)
def test_tiny_changes_with_an_electric_tug(target, kind):
    """Low thrust (Edelbaum 1961): dv = sqrt(v0^2 - 2 v0 v1 cos(pi/2 di) + v1^2), i.e. the
    difference of circular speeds for a 1 m raise (0.55 mm/s) and (pi/2) v di for a 0.001 deg
    tilt at one radius; small changes must not drown in the cancellation of that form."""
    sc = load(scenario_text("tiny-electric", LEO, [("10 kg", target)], engine=HALL))
    p = solve(sc)
    check_all(p)
    assert p.feasible
    r0 = R_EARTH_KM + 525.0
    v0 = vis_viva(r0, r0)
    if kind == "raise":
        r1 = R_EARTH_KM + 525.001
        expected = v0 - vis_viva(r1, r1)  # ~1e-15 km/s rounding on 5.5e-7: ~1e-9 relative
        assert p.total_dv_kms == pytest.approx(expected, rel=1e-7)
    else:
        di = math.radians(0.001)
        expected = 0.5 * math.pi * v0 * di  # the exact 2 v sin(pi di / 4) differs by ~1e-11
        assert p.total_dv_kms == pytest.approx(expected, rel=1e-9)
    burn = p.legs[0].burns[0]
    assert burn.low_thrust and burn.duration_s > 0.0
    # electric: propellant from the rocket equation at Isp 1500 s
    assert p.propellant_used_kg == pytest.approx(
        propellant_for(sc.initial_mass_kg, expected, G0_KM_S2 * 1500.0), rel=1e-7
    )


def test_thousandth_of_a_degree_raan_change():
    """0.001 deg of RAAN: no dearer than the direct plane change 2 v sin(theta/2) with
    cos theta = cos^2 i + sin^2 i cos dRAAN (Vallado Alg. 40); a J2 drift may do it cheaper."""
    sc = load(
        scenario_text(
            "milli-degree-raan",
            LEO,
            [("10 kg", "{altitude: 525 km, inclination: 53 deg, raan: 40.001 deg}")],
            extra="constraints: {max_duration: 60 d}\n",
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible
    i, d_raan = math.radians(53.0), math.radians(0.001)
    theta = math.acos(min(1.0, math.cos(i) ** 2 + math.sin(i) ** 2 * math.cos(d_raan)))
    # the half-angle form keeps the digits: sin(theta/2) = sin i sin(dRAAN/2)
    assert math.sin(theta / 2) == pytest.approx(math.sin(i) * math.sin(d_raan / 2), rel=1e-3)
    direct = (
        2.0 * vis_viva(R_EARTH_KM + 525.0, R_EARTH_KM + 525.0) * math.sin(i) * math.sin(d_raan / 2)
    )
    assert 0.0 < p.total_dv_kms <= direct * (1 + 1e-6)


# --------------------------------------------------------------------------------------------
# Retrograde and (near-)equatorial orbits
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inc", [120.0, 150.0, 170.0])
def test_retrograde_orbits(inc):
    """Retrograde drop-off and targets: a raise with any RAAN (a coplanar Hohmann, Vallado
    Alg. 36) and a lowering with a 0.02 deg inclination change at a fixed RAAN."""
    drop = f"{{altitude: 600 km, inclination: {inc} deg, raan: 40 deg}}"
    sc = load(
        scenario_text(
            f"retro-{inc:g}",
            drop,
            [
                ("10 kg", f"{{altitude: 650 km, inclination: {inc} deg}}"),
                ("10 kg", f"{{altitude: 550 km, inclination: {inc + 0.02} deg, raan: 40 deg}}"),
            ],
            extra="constraints: {max_duration: 60 d}\nsolver: {drift_grid: 2}\n",
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible, p.infeasible_reasons
    for leg in p.legs:
        assert leg.delivery.orbit.inc_rad > math.pi / 2  # still retrograde
    # bounds: the altitude changes alone; those plus the whole 0.02 deg plane change done
    # separately at the slowest speed
    r = {h: R_EARTH_KM + h for h in (550.0, 600.0, 650.0)}
    alt_only = hohmann_total(r[600.0], r[650.0]) + hohmann_total(r[650.0], r[550.0])
    alt_only = min(alt_only, hohmann_total(r[600.0], r[550.0]) + hohmann_total(r[550.0], r[650.0]))
    plane = 2 * vis_viva(r[650.0], r[650.0]) * math.sin(math.radians(0.02) / 2)
    assert alt_only < p.total_dv_kms < alt_only + plane * 1.01


@pytest.mark.parametrize("inc", [120.0, 150.0, 170.0])
def test_retrograde_slot(inc):
    """A slot in a retrograde plane 20 km above the drop-off's, RAAN fixed. At 120 deg (near
    the critical inclination 116.6 deg, little apsidal motion) a node-matched phasing orbit
    reaches it. Further from polar, no phasing orbit of the leg model keeps the node within
    the 0.1 deg RAAN tolerance (a plain one drifts by its own J2 rate, a node-matched one is
    tilted back off the equator after the apsidal motion; the same holds at mid
    inclinations), and the plan must say so. Either way nothing is non-finite and whatever
    is delivered is on target."""
    drop = f"{{altitude: 600 km, inclination: {inc} deg, raan: 40 deg}}"
    sc = load(
        scenario_text(
            f"retro-slot-{inc:g}",
            drop,
            [
                (
                    "10 kg",
                    f"{{altitude: 620 km, inclination: {inc} deg, raan: 40 deg, slot: 90 deg}}",
                ),
            ],
            extra="constraints: {max_duration: 60 d}\nsolver: {drift_grid: 2}\n",
        )
    )
    p = solve(sc)
    check_all(p)
    if inc == 120.0:
        assert p.feasible, p.infeasible_reasons
        assert p.total_dv_kms >= hohmann_total(R_EARTH_KM + 600.0, R_EARTH_KM + 620.0)
    if not p.feasible:
        assert p.undelivered == ("p1",) and p.infeasible_reasons


NEAR_EQUATORIAL_DROPOFFS = {
    "i=0": "{altitude: 600 km, inclination: 0 deg, raan: 0 deg}",
    "i=0.001": "{altitude: 600 km, inclination: 0.001 deg, raan: 77 deg}",
}


@pytest.mark.parametrize(
    "drop", NEAR_EQUATORIAL_DROPOFFS.values(), ids=NEAR_EQUATORIAL_DROPOFFS.keys()
)
def test_near_equatorial_orbits(drop):
    """Equatorial and 0.001-deg orbits, whose node is ill-defined: targets with any RAAN, with
    a RAAN on the far side of the drop-off's (180 deg: the planes still differ by only
    ~0.002 deg), and an equatorial target given the raan: 0 deg convention."""
    sc = load(
        scenario_text(
            "near-equatorial",
            drop,
            [
                ("10 kg", "{altitude: 650 km, inclination: 0 deg}"),
                ("10 kg", "{altitude: 700 km, inclination: 0.001 deg}"),
                ("10 kg", "{altitude: 620 km, inclination: 0.001 deg, raan: 180 deg}"),
                ("10 kg", "{altitude: 680 km, inclination: 0 deg, raan: 0 deg}"),
            ],
            extra="constraints: {max_duration: 60 d}\nsolver: {drift_grid: 2}\n",
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible, p.infeasible_reasons
    # Upper bound: visit the altitudes in increasing order with Hohmann legs and put the
    # whole plane change (<= 0.002 deg from the drop-off plane to any of these) in a separate
    # burn at the slowest circular speed of these orbits; the optimum cannot cost more.
    radii = [R_EARTH_KM + h for h in (600.0, 620.0, 650.0, 680.0, 700.0)]
    bound = sum(hohmann_total(a, b) for a, b in itertools.pairwise(radii))
    bound += 4 * 2 * vis_viva(radii[0], radii[0]) * math.sin(math.radians(0.003) / 2)
    assert p.total_dv_kms <= bound


def test_equatorial_slot_from_equatorial_dropoff():
    """A slot in an equatorial orbit (raan: 0 deg, slot = right ascension at the epoch),
    reached from an equatorial drop-off."""
    sc = load(
        scenario_text(
            "equatorial-slot",
            NEAR_EQUATORIAL_DROPOFFS["i=0"],
            [
                ("10 kg", "{altitude: 650 km, inclination: 0 deg, raan: 0 deg, slot: 30 deg}"),
            ],
            extra="constraints: {max_duration: 30 d}\n",
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible, p.infeasible_reasons
    h = hohmann_total(R_EARTH_KM + 600.0, R_EARTH_KM + 650.0)
    assert p.total_dv_kms == pytest.approx(h, rel=1e-9)  # waits for the phase, then Hohmann


# --------------------------------------------------------------------------------------------
# Eccentric orbits and GEO
# --------------------------------------------------------------------------------------------

E09 = "{sma: 64790 km, eccentricity: 0.9, inclination: 28.5 deg}"  # perigee 100.9 km up


def test_loader_accepts_e09_above_the_100km_perigee_and_rejects_below():
    """e = 0.9 is valid while the perigee a(1 - e) stays >= 100 km above R_E."""
    ok = load(scenario_text("e09", LEO, [("10 kg", E09)]))
    tgt = ok.payloads[0].target
    assert tgt.e == 0.9
    assert tgt.perigee_altitude_km == pytest.approx(64790 * 0.1 - R_EARTH_KM)
    assert tgt.perigee_altitude_km >= 100.0
    low = "{sma: 64700 km, eccentricity: 0.9, inclination: 28.5 deg}"  # perigee 91.9 km
    with pytest.raises(ScenarioError) as info:
        load(scenario_text("e09-low", LEO, [("10 kg", low)]))
    assert "100 km" in str(info.value)


def test_eccentric_target_e09(tmp_path):
    """600 km circular to 100.9 x 116,706 km (e = 0.9), coplanar: the cheaper of the two
    apse-to-apse sequences (Vallado Alg. 36), here raising the apogee first and lowering the
    perigee there (2.860 km/s) rather than lowering the perigee first and raising the apogee
    at the new perigee (2.965 km/s). Also writes the full report (figures of a very
    eccentric orbit)."""
    drop = "{altitude: 600 km, inclination: 28.5 deg, raan: 10 deg}"
    sc = load(scenario_text("e09", drop, [("10 kg", E09)], propellant="900 kg", tank="1000 kg"))
    p = solve(sc)
    check_all(p)
    assert p.feasible
    r0, a = R_EARTH_KM + 600.0, 64790.0
    rp, ra = a * (1 - 0.9), a * (1 + 0.9)
    perigee_first = apse_to_apse(r0, r0, rp, a)
    apogee_first = apse_to_apse(r0, r0, ra, a)
    assert apogee_first < perigee_first - 0.1  # 105 m/s apart
    assert p.total_dv_kms == pytest.approx(apogee_first, rel=1e-9)
    o = p.legs[0].delivery.orbit
    assert o.e == pytest.approx(0.9, abs=1e-12) and o.a_km == pytest.approx(a, abs=1e-9)
    paths = rp_write(p, tmp_path)
    assert {"report.md", "legs.csv", "plan.json"} <= {x.name for x in paths}


def test_eccentric_target_e09_with_plane_change():
    """The same target 1.5 deg and 5 deg of RAAN away: burns on the planes' line of nodes with
    the rotation split between them; dearer than coplanar, cheaper than the coplanar transfer
    plus the whole plane change done alone at the apogee (Vallado sec. 6.4.3)."""
    drop = "{altitude: 600 km, inclination: 28.5 deg, raan: 10 deg}"
    target = "{sma: 64790 km, eccentricity: 0.9, inclination: 30 deg, raan: 15 deg}"
    sc = load(
        scenario_text("e09-plane", drop, [("10 kg", target)], propellant="900 kg", tank="1000 kg")
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible
    r0, a = R_EARTH_KM + 600.0, 64790.0
    ra = a * 1.9
    coplanar = apse_to_apse(r0, r0, ra, a)
    i1, i2, d_raan = math.radians(28.5), math.radians(30.0), math.radians(5.0)
    theta = math.acos(
        math.cos(i1) * math.cos(i2) + math.sin(i1) * math.sin(i2) * math.cos(d_raan)
    )  # Vallado eq. 6-25
    separate = coplanar + 2 * vis_viva(ra, a) * math.sin(theta / 2)
    assert coplanar < p.total_dv_kms < separate


def test_eccentric_dropoff_e09_to_circular():
    """The reverse leg, from the e = 0.9 orbit down to 600 km circular: the same two burns in
    reverse order (raise the perigee at the apogee, circularise at the new perigee) cost the
    same (Vallado sec. 6.3), less than leaving from the perigee."""
    drop = "{sma: 64790 km, eccentricity: 0.9, inclination: 28.5 deg, raan: 10 deg}"
    sc = load(
        scenario_text(
            "e09-down",
            drop,
            [("10 kg", "{altitude: 600 km, inclination: 28.5 deg}")],
            propellant="900 kg",
            tank="1000 kg",
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible
    r0, a = R_EARTH_KM + 600.0, 64790.0
    from_apogee = apse_to_apse(a * 1.9, a, r0, r0)
    assert from_apogee < apse_to_apse(a * 0.1, a, r0, r0)
    assert p.total_dv_kms == pytest.approx(from_apogee, rel=1e-9)


def test_gto_to_geo():
    """GTO (250 x 35,786 km, 27 deg, apogee on the node) to GEO (i = 0, raan 0 convention): one
    burn at apogee, dv = sqrt(va^2 + vg^2 - 2 va vg cos 27 deg) = 1.80 km/s (law of cosines,
    Vallado eq. 6-23; the comment of scenarios/gto_to_geo.yaml has the same number)."""
    sc = load(
        scenario_text(
            "gto-geo",
            "{perigee_altitude: 250 km, apogee_altitude: 35786 km, inclination: 27 deg, "
            "raan: 75 deg, argp: 180 deg, slot: 0 deg}",
            [("300 kg", "{altitude: 35786 km, inclination: 0 deg, raan: 0 deg, slot: 75 deg}")],
            propellant="1000 kg",
            tank="1050 kg",
            dry="400 kg",
            engine="{name: main, type: chemical, isp: 318 s, thrust: 420 N}",
            extra="constraints: {max_duration: 60 d}\n",
        )
    )
    p = solve(sc)
    check_all(p)
    assert p.feasible
    r_geo = R_EARTH_KM + 35786.0
    a_gto = 0.5 * (R_EARTH_KM + 250.0 + r_geo)
    va, vg = vis_viva(r_geo, a_gto), vis_viva(r_geo, r_geo)
    expected = math.sqrt(va * va + vg * vg - 2 * va * vg * math.cos(math.radians(27.0)))
    assert p.total_dv_kms == pytest.approx(expected, rel=1e-9)
    assert p.legs[0].delivery.orbit.inc_rad == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------------------------
# Mass edge cases
# --------------------------------------------------------------------------------------------

ZERO_PROPELLANT = scenario_text(
    "zero-propellant",
    LEO,
    [
        ("10 kg", "{altitude: 600 km, inclination: 53 deg}"),
        ("10 kg", LEO),  # at the drop-off: free
    ],
    propellant="0 kg",
)


def test_zero_propellant_tug_is_infeasible_with_its_shortfall(tmp_path):
    """0 kg loaded: the free payload (target = drop-off) is delivered, the other is named
    undelivered, and the shortfall is exactly the propellant of the cheapest complete plan:
    release the free one first, then a Hohmann to 600 km carrying dry + 10 kg, so
    P = (150 + 10) kg x (exp(dv / ve) - 1) (rocket equation with P on board). Also writes the
    full report of an infeasible plan."""
    sc = load(ZERO_PROPELLANT, "zero-propellant")
    p = solve(sc)
    check_all(p)
    assert not p.feasible
    assert p.delivered == ("p2",) and p.undelivered == ("p1",)
    assert p.propellant_used_kg == 0.0
    dv = hohmann_total(R_EARTH_KM + 525.0, R_EARTH_KM + 600.0)
    need = (150.0 + 10.0) * math.expm1(dv / VE_230)
    assert p.shortfall_propellant_kg == pytest.approx(need, rel=1e-6)
    assert any("propellant" in r for r in p.infeasible_reasons)
    paths = rp_write(p, tmp_path)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "NOT FEASIBLE" in md and "p1" in md
    assert len(paths) >= 5


def test_zero_propellant_with_a_disposal_burns_nothing():
    """With a re-entry disposal to make and nothing loaded, the partial plan must not book a
    disposal burn it has no propellant for."""
    text = ZERO_PROPELLANT + "constraints:\n  disposal: {type: reentry, within: 5 yr}\n"
    p = solve(load(text, "zero-propellant-disposal"))
    check_all(p)
    assert not p.feasible
    assert p.propellant_used_kg == 0.0 and p.propellant_remaining_kg == 0.0
    assert p.shortfall_propellant_kg > 0.0
    assert "p1" in p.undelivered


def test_payload_heavier_than_tug_feasible():
    """A 500 kg payload on a 150 kg tug: a coplanar Hohmann with the whole stack (rocket
    equation on 730 kg), then the ledger closes."""
    sc = load(scenario_text("heavy", LEO, [("500 kg", "{altitude: 545 km, inclination: 53 deg}")]))
    p = solve(sc)
    check_all(p)
    assert p.feasible
    dv = hohmann_total(R_EARTH_KM + 525.0, R_EARTH_KM + 545.0)
    assert p.total_dv_kms == pytest.approx(dv, rel=1e-9)
    assert p.propellant_used_kg == pytest.approx(propellant_for(730.0, dv), rel=1e-9)
    assert p.final_mass_kg == pytest.approx(730.0 - p.propellant_used_kg - 500.0, rel=1e-12)


def test_payload_heavier_than_tug_infeasible_with_shortfall():
    """A 5000 kg payload and 10 kg of propellant: the stack cannot even get there (the tug
    would run out long before), yet the planner still says how much propellant is missing:
    P = (150 + 5000) kg x (exp(dv / ve) - 1) for the Hohmann to 900 km, less the 10 kg."""
    sc = load(
        scenario_text(
            "too-heavy",
            LEO,
            [("5000 kg", "{altitude: 900 km, inclination: 53 deg}")],
            propellant="10 kg",
        )
    )
    p = solve(sc)
    check_all(p)
    assert not p.feasible
    assert p.undelivered == ("p1",) and p.propellant_used_kg == 0.0
    dv = hohmann_total(R_EARTH_KM + 525.0, R_EARTH_KM + 900.0)
    need = (150.0 + 5000.0) * math.expm1(dv / VE_230)
    assert p.shortfall_propellant_kg == pytest.approx(need - 10.0, rel=1e-6)
    assert any("propellant" in r for r in p.infeasible_reasons)


# --------------------------------------------------------------------------------------------
# A 100-payload manifest (beam search with a lower bound)
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_hundred_payload_manifest():
    """100 small payloads in sun-synchronous orbits with any RAAN between 500 and 560 km:
    above exact_max_payloads, so a beam search; the plan reports a finite lower bound on the
    propellant, at most what it uses. Every payload is delivered or a shortfall is given."""
    payloads = []
    for k in range(100):
        h = 500.0 + 60.0 * ((k * 37) % 100) / 100.0  # a fixed scatter over [500, 560) km
        payloads.append((f"{1.0 + (k % 7) * 0.5:g} kg", f"{{altitude: {h:.1f} km, sso: true}}"))
    sc = load(
        scenario_text(
            "hundred",
            "{altitude: 525 km, sso: true, ltan: '10:30'}",
            payloads,
            propellant="95 kg",
            extra="constraints: {max_duration: 120 d}\nsolver: {drift_grid: 1, beam_width: 4}\n",
        )
    )
    assert len(sc.payloads) == 100 and sc.solver.exact_max_payloads < 100
    p = solve(sc)
    check_all(p)
    assert not p.exact
    if p.feasible:
        assert len(p.delivered) == 100
        lb = p.lower_bound_propellant_kg
        assert lb is not None and math.isfinite(lb)
        assert 0.0 < lb <= p.propellant_used_kg + 1e-9
        # The altitudes span 500-559.4 km: any order covers the span, and every leg costs
        # at least the difference of circular speeds (a Hohmann costs more), so the bound
        # holds at least the bare tug's propellant for that difference (rocket equation).
        r1, r2 = R_EARTH_KM + 500.0, R_EARTH_KM + 559.4
        span = vis_viva(r1, r1) - vis_viva(r2, r2)
        assert lb >= sc.tug.dry_mass_kg * math.expm1(span / VE_230) * (1 - 1e-9)
    else:
        assert p.shortfall_propellant_kg > 0 or p.shortfall_time_s > 0


# --------------------------------------------------------------------------------------------
# helpers that write files
# --------------------------------------------------------------------------------------------


def rp_write(p: Plan, out_dir):
    """The full report (figures included); every text file free of nan/inf."""
    paths = rp.write_report(p, out_dir)
    for name in ("report.md", "legs.csv", "burns.csv", "plan.json", "report.html"):
        text = (out_dir / name).read_text(encoding="utf-8")
        if name == "report.html":  # only the text between tags (figures are embedded)
            text = re.sub(r"<[^>]*>", " ", re.sub(r"data:[^\"]*", "", text))
        check_text(text, name)
    return paths
