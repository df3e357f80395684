"""Several tugs on one launch (otvplan.planning.fleet): the assignment against brute force over
every assignment, a fleet of one tug against the single-tug plan, the rules, the scenario
format's fleet keys and their errors, fleet.json and the CLI."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import pytest

import otvplan
from otvplan.cli import main
from otvplan.errors import InputError, ScenarioError
from otvplan.io.scenario import dumps, loads
from otvplan.model import Fleet, FleetPlan, FleetTug
from otvplan.planning.fleet import plan_fleet, tug_scenario
from otvplan.planning.solver import plan as single_plan
from otvplan.planning.targets import target_at
from otvplan.reporting.planjson import fleet_to_json, plan_from_json
from paths import FLEET_SCENARIOS, SCENARIOS_DIR

# Three payloads in two SSO planes and two tugs of different sizes: small enough that every
# assignment can be planned in the test.
FLEET = """\
name: fleet-test
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tugs:
  - name: big
    dry_mass: 240 kg
    propellant: 200 kg
    propellant_reserve: 3 %
    engines: [{name: biprop, type: chemical, isp: 300 s, thrust: 200 N}]
  - name: small
    dry_mass: 120 kg
    propellant: 60 kg
    engines: [{name: mono, type: chemical, isp: 220 s, thrust: 22 N}]
payloads:
  - {name: eo-a, mass: 22 kg, target: {altitude: 500 km, sso: true, ltan: "10:30"}}
  - {name: sar-1, mass: 145 kg, target: {altitude: 560 km, sso: true, ltan: "09:30"}}
  - {name: rf-5, mass: 12 kg, target: {altitude: 475 km, sso: true, ltan: "09:30"}}
constraints:
  max_duration: 120 d
  min_deploy_separation: 2 h
"""


@pytest.fixture(scope="module")
def scenario():
    return loads(FLEET, filename="fleet-test.yaml")


@pytest.fixture(scope="module")
def fleet_plan(scenario):
    return plan_fleet(scenario)


def _assignment_value(scenario, owners, value=lambda ft, p: p.propellant_used_kg):
    """Total of ``value(fleet tug, plan)`` over one assignment (owners[i]: tug index of payload
    i; default the propellant), every tug's subset planned on its own; None when a tug's plan
    is infeasible."""
    total = 0.0
    for k, ft in enumerate(scenario.fleet.tugs):
        chosen = [p for p, o in zip(scenario.payloads, owners) if o == k]
        if not chosen:
            continue
        p = single_plan(tug_scenario(scenario, ft, chosen))
        if not p.feasible:
            return None
        total += value(ft, p)
    return total


def test_the_assignment_is_the_best_of_every_assignment(scenario, fleet_plan):
    """Brute force: all 2^3 ways to share three payloads between two tugs, each tug planned
    on its own; the fleet plan's total is the least feasible one (to the plans' gaps)."""
    values = {}
    for owners in itertools.product(range(2), repeat=len(scenario.payloads)):
        values[owners] = _assignment_value(scenario, owners)
    feasible = {o: v for o, v in values.items() if v is not None}
    assert feasible, "the test manifest must close somehow"
    best = min(feasible.values())
    assert fleet_plan.feasible and fleet_plan.exact
    assert fleet_plan.propellant_used_kg == pytest.approx(best, rel=2e-3)
    # and it is one of the assignments: its total is that assignment's
    names = [p.name for p in scenario.payloads]
    owners = tuple(
        [t.tug.name for t in scenario.fleet.tugs].index(fleet_plan.assignment[n]) for n in names
    )
    assert fleet_plan.propellant_used_kg == pytest.approx(feasible[owners], rel=1e-9)
    # the lower bound is below every assignment's total, and close to the best
    lb = fleet_plan.lower_bound_propellant_kg
    assert lb is not None and lb <= best * (1 + 1e-9)
    assert fleet_plan.optimality_gap <= 2e-3


def test_the_fleet_plan_adds_up(scenario, fleet_plan):
    assert sorted(fleet_plan.delivered) == sorted(p.name for p in scenario.payloads)
    assert fleet_plan.unassigned == ()
    assert fleet_plan.propellant_used_kg == pytest.approx(
        sum(t.plan.propellant_used_kg for t in fleet_plan.tugs)
    )
    assert fleet_plan.makespan_s == pytest.approx(max(t.end_s for t in fleet_plan.tugs))
    for t in fleet_plan.tugs:
        assert t.plan.feasible
        assert t.plan.scenario.tug.name == t.tug
        assert t.plan.scenario.fleet is None
    # every tug type alone: how many of them would close the manifest, checked by planning
    needed = dict(fleet_plan.tugs_needed)
    assert needed["big"] == 1
    big_all = single_plan(tug_scenario(scenario, scenario.fleet.tugs[0], scenario.payloads))
    assert big_all.feasible


def test_a_fleet_of_one_tug_is_the_single_tug_plan(minimal_path):
    single = otvplan.load_scenario(minimal_path)
    fleet = replace(single, fleet=Fleet(tugs=(FleetTug(single.tug),)))
    fp = otvplan.plan(fleet)
    p = otvplan.plan(single)
    assert isinstance(fp, FleetPlan) and len(fp.tugs) == 1
    got = fp.tugs[0].plan
    assert got.legs == p.legs
    assert got.propellant_used_kg == p.propellant_used_kg
    assert got.feasible == p.feasible and fp.feasible == p.feasible
    assert fp.exact == p.exact


def test_rules_pin_separate_and_limit(scenario):
    """assign pins a payload, apart keeps two apart, max_payloads caps a tug: every rule holds
    in the plan, and the total is the brute-force best over the assignments the rules allow."""
    fleet = replace(
        scenario.fleet,
        assign=(("rf-5", "small"),),
        apart=(("sar-1", "rf-5"),),
        tugs=(scenario.fleet.tugs[0], replace(scenario.fleet.tugs[1], max_payloads=2)),
    )
    sc = replace(scenario, fleet=fleet)
    fp = plan_fleet(sc)
    where = fp.assignment
    assert where.get("rf-5") == "small"
    assert where.get("sar-1") != where.get("rf-5")
    counts = {t.tug: len(t.plan.scenario.payloads) for t in fp.tugs}
    assert counts.get("small", 0) <= 2
    allowed = []
    for owners in itertools.product(range(2), repeat=3):
        if owners[2] != 1 or owners[1] == owners[2] or owners.count(1) > 2:
            continue
        v = _assignment_value(sc, owners)
        if v is not None:
            allowed.append(v)
    if fp.feasible:
        assert fp.propellant_used_kg == pytest.approx(min(allowed), rel=2e-3)
    else:
        assert not allowed


def test_the_heuristic_finds_a_feasible_assignment_no_better_than_the_exact(scenario, fleet_plan):
    fp = plan_fleet(scenario, exact_max_plans=0, lazy_max_payloads=0)
    assert fp.feasible and not fp.exact
    assert "heuristic" in fp.method
    assert fp.propellant_used_kg >= fleet_plan.propellant_used_kg * (1 - 2e-3)
    # its bound (every subset bounded without planning, then the partition programme) lies
    # below the best assignment, so below both plans
    lb = fp.lower_bound_propellant_kg
    assert lb is not None and "completion bound" in fp.method
    assert 0.0 < lb <= fleet_plan.propellant_used_kg * (1 + 1e-9)


def test_the_heuristic_proved_lazily_equals_planning_every_subset(scenario, fleet_plan):
    """Beyond the enumeration, the heuristic's assignment proved by the lazily planned
    partition programme is the best assignment planning every subset finds, with fewer plans,
    and is said to be exact."""
    fp = plan_fleet(scenario, exact_max_plans=0)
    assert fp.exact and "others bounded below" in fp.method
    assert fp.propellant_used_kg == pytest.approx(fleet_plan.propellant_used_kg, rel=1e-9)
    assert fp.assignment == fleet_plan.assignment
    made = dict(fp.solver_stats)["tug_plans"]
    assert made < dict(fleet_plan.solver_stats)["tug_plans"]
    lb = fp.lower_bound_propellant_kg
    assert lb is not None and lb <= fp.propellant_used_kg * (1 + 1e-9)


def test_every_subsets_bound_is_below_its_plan(scenario):
    """The bound of every subset each tug may carry is below the propellant of that subset's
    own plan (a plan spends at least its optimum), and says something for most of them."""
    from otvplan.planning.subset_bounds import subset_propellant_bounds

    n = len(scenario.payloads)
    positive = 0
    for ft in scenario.fleet.tugs:
        whole = tug_scenario(scenario, ft, scenario.payloads)
        subsets = list(range(1, 1 << n))
        bounds = subset_propellant_bounds(whole, subsets)
        for mask, lb in zip(subsets, bounds):
            chosen = [p for i, p in enumerate(scenario.payloads) if mask >> i & 1]
            p = single_plan(tug_scenario(scenario, ft, chosen))
            if p.feasible:
                assert lb <= p.propellant_used_kg * (1 + 1e-9) + 1e-9
                positive += lb > 0.0
    assert positive >= 4


def test_makespan_objective_ends_no_later(scenario, fleet_plan):
    sc = replace(scenario, fleet=replace(scenario.fleet, objective="makespan"))
    fp = plan_fleet(sc)
    assert fp.feasible
    assert fp.makespan_s <= fleet_plan.makespan_s + 1.0
    # each tug was planned for its earliest end
    assert all(t.plan.objective == "duration" for t in fp.tugs)


def test_a_late_tug_starts_later_with_its_orbits_carried(scenario):
    """A tug available 10 days after the epoch: its plan's epoch is 10 days later, and its
    drop-off and targets are where the J2 secular rates carry them (the LTAN of an SSO
    stays)."""
    late = replace(scenario.fleet.tugs[1], available_s=10 * 86400.0)
    sub = tug_scenario(scenario, late, scenario.payloads[:1])
    assert (sub.epoch - scenario.epoch).total_seconds() == 10 * 86400.0
    want = target_at(scenario.dropoff, 10 * 86400.0).raan_rad
    assert sub.dropoff.raan_rad == pytest.approx(want)
    # an SSO turns with the mean Sun: 360 deg per tropical year, about 9.86 deg in 10 d
    turned = math.degrees((sub.dropoff.raan_rad - scenario.dropoff.raan_rad) % (2 * math.pi))
    assert turned == pytest.approx(360.0 / 365.2422 * 10.0, rel=2e-3)
    assert sub.constraints.max_duration_s == pytest.approx(110 * 86400.0)


def test_a_deadline_before_a_tug_is_available_keeps_the_payload_off_it(scenario):
    tugs = (scenario.fleet.tugs[0], replace(scenario.fleet.tugs[1], available_s=30 * 86400.0))
    payloads = (replace(scenario.payloads[0], deliver_by_s=20 * 86400.0), *scenario.payloads[1:])
    sc = replace(scenario, payloads=payloads, fleet=replace(scenario.fleet, tugs=tugs))
    fp = plan_fleet(sc)
    assert fp.assignment["eo-a"] == "big"


def test_fleet_json_round_trip(fleet_plan):
    text = fleet_to_json(fleet_plan)
    doc = json.loads(text)
    assert doc["format"] == "otvplan-fleet-plan"
    back = plan_from_json(text)
    assert isinstance(back, FleetPlan)
    assert back == fleet_plan


def test_fleet_json_errors_name_the_field(fleet_plan):
    doc = json.loads(fleet_to_json(fleet_plan))
    doc["fleet"]["tugs"][0]["plan"]["legs"][0]["propellant_kg"] = -5.0
    with pytest.raises(ValueError) as err:
        plan_from_json(json.dumps(doc), filename="fleet.json")
    assert "fleet.json: fleet.tugs[0].plan.legs[0].propellant_kg" in str(err.value)


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [
        (
            lambda t: t.replace(
                "tugs:",
                "tug: {name: x, dry_mass: 1 kg, propellant: 1 kg, "
                "engines: [{name: e, type: chemical, isp: 200 s}]}\ntugs:",
            ),
            "tugs",
            "not both",
        ),
        (lambda t: t.replace("  - name: small", "  - name: big"), "tugs[1].name", "used twice"),
        (
            lambda t: t + "fleet: {assign: {rf-5: smal}}\n",
            "fleet.assign.rf-5",
            "no tug is named 'smal' (did you mean 'small'?)",
        ),
        (
            lambda t: t + "fleet: {apart: [[eo-a, sar-2]]}\n",
            "fleet.apart[0]",
            "no payload is named 'sar-2'",
        ),
        (lambda t: t + "fleet: {objective: cheapest}\n", "fleet.objective", "propellant"),
        (
            lambda t: t.replace(
                "    engines: [{name: mono", "    max_payloads: 0\n    engines: [{name: mono"
            ),
            "tugs[1].max_payloads",
            "",
        ),
    ],
)
def test_fleet_format_errors_say_where_and_why(edit, path, words):
    with pytest.raises(ScenarioError) as err:
        loads(edit(FLEET), filename="fleet.yaml")
    text = str(err.value)
    assert "fleet.yaml:" in text and path in text
    assert words in text


def test_no_tug_at_all_is_an_error():
    text = FLEET.split("tugs:")[0] + "payloads:" + FLEET.split("payloads:")[1]
    with pytest.raises(ScenarioError) as err:
        loads(text, filename="none.yaml")
    assert "needs its tug" in str(err.value)


def test_fleet_scenarios_write_and_read_back(scenario):
    sc = replace(
        scenario,
        fleet=replace(
            scenario.fleet,
            objective="tugs",
            assign=(("rf-5", "small"),),
            apart=(("eo-a", "sar-1"),),
            tugs=(
                scenario.fleet.tugs[0],
                replace(
                    scenario.fleet.tugs[1],
                    available_s=86400.0 * 3,
                    max_payloads=2,
                    max_payload_mass_kg=150.0,
                ),
            ),
        ),
    )
    assert replace(loads(dumps(sc)), source=sc.source) == sc


def test_cli_plans_a_fleet(tmp_path, capsys):
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["plan", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "feasible fleet plan" in text and "every delivery" in text
    back = plan_from_json((out / "fleet.json").read_text(encoding="utf-8"))
    assert isinstance(back, FleetPlan)
    legs = (out / "legs.csv").read_text(encoding="utf-8").splitlines()
    assert legs[0].startswith("tug,leg,")
    assert len(legs) - 1 == sum(len(t.plan.legs) for t in back.tugs)
    assert main(["plan", str(path), "--objective", "duration"]) == 2
    assert "--objective of a fleet" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("path", FLEET_SCENARIOS, ids=lambda p: p.stem)
def test_fleet_scenarios_close_and_every_tug_flies(path):
    """Every fleet scenario of the repository closes, and each tug's plan, flown guided in the
    propagator (two-body + J2), delivers every payload within its tolerances."""
    fp = otvplan.plan(path)
    assert isinstance(fp, FleetPlan) and fp.feasible
    assert sorted(fp.delivered) == sorted(p.name for p in fp.scenario.payloads)
    for t in fp.tugs:
        v = otvplan.verify(t.plan)
        assert v.passed, (t.tug, [r for r in v.rows if not r.passed])


def test_the_library_reports_a_fleet(fleet_plan, tmp_path):
    written = otvplan.report(fleet_plan, tmp_path / "r", figures=False)
    names = {p.name for p in written}
    assert "fleet.md" in names and "fleet.html" in names
    text = (tmp_path / "r" / "fleet.md").read_text(encoding="utf-8")
    for payload in fleet_plan.delivered:
        assert payload in text
    with pytest.raises(TypeError, match="mapping of tug name"):
        otvplan.report(fleet_plan, tmp_path / "x", object(), figures=False)


@pytest.mark.slow
def test_the_library_verifies_every_tug_of_a_fleet(fleet_plan):
    got = otvplan.verify(fleet_plan)
    assert set(got) == {t.tug for t in fleet_plan.tugs}
    assert all(v.passed for v in got.values())


def test_single_tug_entry_points_refuse_a_fleet(scenario):
    """The single-tug planner and the single-tug cost attribution say what to do with several
    tugs instead of planning the first tug alone."""
    from otvplan.planning.attribution import attribute

    with pytest.raises(InputError, match="several tugs"):
        single_plan(scenario)
    with pytest.raises(InputError, match="attribute_fleet"):
        attribute(scenario)


def test_a_sweep_over_a_fleet_records_its_totals(scenario):
    """A study case whose scenario has tugs: plans the fleet; the metrics are its totals and
    its assignment."""
    import yaml

    from otvplan.study.run import STATUS_OK, run_case

    data = yaml.safe_load(FLEET)
    data["epoch"] = "2027-03-01T10:00:00Z"  # as the study's base document holds it: text
    out = run_case(json.dumps(data), None, [(("constraints", "max_duration"), "110 d")], "c")
    assert out.status == STATUS_OK, out.message
    m = out.metrics
    assert m["tugs_flown"] >= 1 and m["delivered"] == 3
    assert set(x.split("=")[0] for x in m["assignment"].split(";")) == {"eo-a", "sar-1", "rf-5"}
    assert m["initial_mass"] == pytest.approx(240 + 200 + 120 + 60 + 22 + 145 + 12)


def test_an_electric_tugs_subset_bounds_are_below_its_plans():
    """The electric tug's legs are bounded by |v_j - v_k| (Edelbaum's spiral and a spiral
    through a drift orbit cost at least that, whatever the mass and the time): every
    subset of the electric example's manifest has its bound below its own plan."""
    from otvplan.io.scenario import load
    from otvplan.planning.subset_bounds import subset_propellant_bounds

    sc = load(SCENARIOS_DIR / "electric_tug.yaml")
    n = len(sc.payloads)
    subsets = list(range(1, 1 << n))
    bounds = subset_propellant_bounds(sc, subsets)
    checked = 0
    for mask, lb in zip(subsets, bounds):
        sub = replace(sc, payloads=tuple(p for i, p in enumerate(sc.payloads) if mask >> i & 1))
        p = single_plan(sub)
        if p.feasible:
            assert lb <= p.propellant_used_kg * (1 + 1e-9) + 1e-9
            checked += lb > 0.5 * p.propellant_used_kg  # (a bound that says something)
    assert checked >= 3
