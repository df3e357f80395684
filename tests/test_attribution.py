"""What each delivery costs (otvplan.planning.attribution): marginal costs and the Shapley
allocation of the plan's propellant and days.

The Shapley value's properties are checked on re-planned manifests (Shapley 1953): efficiency
(the shares sum to v(N) - v(empty), the allocations to the plan's total), symmetry (two equal
payloads get equal shares), the null player (a massless payload released where the tug is
dropped off costs nothing), and agreement with an independent computation from the definition
(the mean marginal contribution over all n! orders). Permutation sampling (Castro, Gomez &
Tejada 2009) must agree with the exact values within 3 standard errors.

The manifests are sun-synchronous and time-invariant (one plane, or two close planes), so the
continuous planner closes them quickly and deterministically.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from itertools import permutations

import pytest

import otvplan
from otvplan.cli import EXIT_INFEASIBLE, EXIT_OK, main
from otvplan.errors import InfeasibleError
from otvplan.planning import attribution
from otvplan.planning.attribution import AttributionError, Pricing, attribute

#: (name, mass, altitude, LTAN) of the test payloads; all in the 10:30 plane but "d".
PAYLOADS = [
    ("a", "20 kg", "600 km", "10:30"),
    ("b", "35 kg", "450 km", "10:30"),
    ("c", "10 kg", "700 km", "10:30"),
    ("d", "30 kg", "550 km", "10:30"),
    ("e", "15 kg", "500 km", "10:30"),
    ("f", "25 kg", "650 km", "10:30"),
]


def scenario_text(
    payloads,
    *,
    propellant: str = "200 kg",
    disposal: str = "{type: none}",
    name: str = "attribution-test",
) -> str:
    lines = "\n".join(
        f'  - {{name: {n}, mass: {m}, target: {{altitude: {h}, sso: true, ltan: "{lt}"}}}}'
        for n, m, h, lt in payloads
    )
    return f"""name: {name}
epoch: 2027-03-01T10:00:00Z
dropoff: {{altitude: 525 km, sso: true, ltan: "10:30"}}
tug:
  name: tug
  dry_mass: 150 kg
  propellant: {propellant}
  tank_capacity: 250 kg
  propellant_reserve: 3 %
  engines:
    - {{name: main, type: chemical, isp: 300 s, thrust: 100 N}}
payloads:
{lines}
constraints:
  max_duration: 60 d
  disposal: {disposal}
"""


def scenario(payloads, **kw):
    return otvplan.load_scenario(scenario_text(payloads, **kw))


_MEMO: dict = {}


@pytest.fixture
def memo_plans(monkeypatch):
    """Plan each sub-manifest once per test session: the planner is deterministic on these
    time-invariant manifests, and several tests attribute the same one (exact and sampled)."""
    real = attribution._plan

    def plan(sc, objective=None):
        key = (sc.name, sc.tug, sc.dropoff, sc.constraints, sc.solver, sc.payloads, objective)
        if key not in _MEMO:
            _MEMO[key] = real(sc, objective)
        return _MEMO[key]

    monkeypatch.setattr(attribution, "_plan", plan)
    return plan


def values_of(a) -> dict[frozenset, float]:
    """v(S) [kg] of every planned sub-manifest of an attribution (by payload names)."""
    return {frozenset(c.payloads): c.propellant_kg for c in a.coalitions}


def shapley_from_the_definition(v, players) -> dict:
    """The Shapley value as the mean, over all n! orders, of each player's marginal
    contribution v(predecessors + it) - v(predecessors) (Shapley 1953): independent of the
    subset-weight formula attribution uses."""
    total = dict.fromkeys(players, 0.0)
    orders = 0
    for order in permutations(players):
        before = frozenset()
        for p in order:
            total[p] += v[before | {p}] - v[before]
            before = before | {p}
        orders += 1
    return {p: total[p] / orders for p in players}


# --------------------------------------------------------------------------------------------
# Exact Shapley values
# --------------------------------------------------------------------------------------------


def test_exact_shapley_is_efficient_and_matches_the_definition(memo_plans):
    sc = scenario(PAYLOADS[:5], disposal="{type: perigee, altitude: 300 km}")
    a = attribute(sc)
    names = [p.name for p in sc.payloads]
    assert a.method == "exact" and a.plans == 2**5 and a.samples == 0
    # the total is the plan of the whole manifest, the baseline the disposal alone
    whole = otvplan.plan(sc)
    assert a.total_propellant_kg == pytest.approx(whole.propellant_used_kg, rel=1e-12)
    assert a.total_duration_s == pytest.approx(whole.duration_s, rel=1e-12)
    assert a.baseline_propellant_kg > 0  # the perigee-lowering disposal
    v = values_of(a)
    assert v[frozenset()] == a.baseline_propellant_kg
    # efficiency: the shares sum to v(N) - v(empty), the allocations to the total
    shares = [r.shapley_propellant_kg for r in a.payloads]
    assert math.fsum(shares) == pytest.approx(
        a.total_propellant_kg - a.baseline_propellant_kg, abs=1e-9
    )
    assert math.fsum(r.allocated_propellant_kg for r in a.payloads) == pytest.approx(
        a.total_propellant_kg, abs=1e-9
    )
    assert math.fsum(r.allocated_duration_s for r in a.payloads) == pytest.approx(
        a.total_duration_s, abs=1e-6
    )
    assert math.fsum(r.share for r in a.payloads) == pytest.approx(1.0, abs=1e-12)
    # the same numbers from the definition (all 120 orders)
    brute = shapley_from_the_definition(v, names)
    for r in a.payloads:
        assert r.shapley_propellant_kg == pytest.approx(brute[r.name], abs=1e-9)
        assert r.allocated_propellant_kg == pytest.approx(
            brute[r.name] + a.baseline_propellant_kg / 5, abs=1e-9
        )
        assert r.shapley_propellant_se_kg == 0.0
    t = {frozenset(c.payloads): c.duration_s for c in a.coalitions}
    brute_t = shapley_from_the_definition(t, names)
    for r in a.payloads:
        assert r.shapley_duration_s == pytest.approx(brute_t[r.name], abs=1e-6)
    # marginal costs: the whole plan less the plan without the payload, re-planned
    for r in a.payloads:
        without = frozenset(names) - {r.name}
        assert r.marginal_propellant_kg == pytest.approx(
            v[frozenset(names)] - v[without], abs=1e-12
        )
    sub = otvplan.plan(replace(sc, payloads=sc.payloads[1:]))
    assert a.payloads[0].marginal_propellant_kg == pytest.approx(
        whole.propellant_used_kg - sub.propellant_used_kg, abs=1e-9
    )
    # every plan of these manifests is within the continuous planner's gap
    assert a.max_gap is not None and a.max_gap <= 1e-3
    assert a.warnings == ()


def test_equal_payloads_get_equal_shares(memo_plans):
    twins = [
        ("a", "20 kg", "600 km", "10:30"),
        ("twin-1", "30 kg", "480 km", "10:30"),
        ("twin-2", "30 kg", "480 km", "10:30"),
        ("c", "10 kg", "700 km", "10:30"),
    ]
    a = attribute(scenario(twins))
    by = {r.name: r for r in a.payloads}
    assert by["twin-1"].shapley_propellant_kg == pytest.approx(
        by["twin-2"].shapley_propellant_kg, abs=1e-9
    )
    assert by["twin-1"].shapley_duration_s == pytest.approx(
        by["twin-2"].shapley_duration_s, abs=1e-6
    )
    assert by["twin-1"].marginal_propellant_kg == pytest.approx(
        by["twin-2"].marginal_propellant_kg, abs=1e-9
    )


def test_a_payload_released_at_the_dropoff_costs_nothing(memo_plans):
    """A 1 g payload whose target is the drop-off orbit: the tug can release it first, where
    it is, so no plan needs any propellant for it (the null player)."""
    null = ("nil", "0.001 kg", "525 km", "10:30")
    a = attribute(scenario([*PAYLOADS[:3], null]))
    by = {r.name: r for r in a.payloads}
    assert abs(by["nil"].marginal_propellant_kg) < 1e-3
    assert abs(by["nil"].shapley_propellant_kg) < 1e-3
    assert abs(by["nil"].allocated_propellant_kg) < 1e-3  # no disposal to share here
    assert by["nil"].share < 1e-4
    for name in "abc":
        assert by[name].shapley_propellant_kg > 0.1


# --------------------------------------------------------------------------------------------
# Sampled Shapley values
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sampled_shares_agree_with_the_exact_ones_within_3_standard_errors(memo_plans):
    sc = scenario(PAYLOADS, disposal="{type: perigee, altitude: 300 km}")
    exact = attribute(sc)
    sampled = attribute(sc, exact_max_payloads=5, samples=24, seed=3)
    assert exact.method == "exact" and sampled.method == "sampled"
    assert sampled.samples == 24 and "sampled from 24 permutations" in sampled.method_text
    assert sampled.total_propellant_kg == exact.total_propellant_kg
    # each permutation's contributions telescope to v(N) - v(empty): so does their mean
    assert math.fsum(r.shapley_propellant_kg for r in sampled.payloads) == pytest.approx(
        sampled.total_propellant_kg - sampled.baseline_propellant_kg, abs=1e-9
    )
    assert math.fsum(r.allocated_propellant_kg for r in sampled.payloads) == pytest.approx(
        sampled.total_propellant_kg, abs=1e-9
    )
    for s, e in zip(sampled.payloads, exact.payloads):
        assert s.name == e.name
        assert s.marginal_propellant_kg == e.marginal_propellant_kg  # always exact
        assert s.shapley_propellant_se_kg > 0
        assert abs(s.shapley_propellant_kg - e.shapley_propellant_kg) <= max(
            3.0 * s.shapley_propellant_se_kg, 1e-9
        ), (s, e)
        assert abs(s.shapley_duration_s - e.shapley_duration_s) <= max(
            3.0 * s.shapley_duration_se_s, 1e-6
        ), (s, e)


def test_sampling_is_reproducible_and_sums_exactly(memo_plans):
    sc = scenario(PAYLOADS[:4])
    one = attribute(sc, exact_max_payloads=2, samples=6, seed=7)
    two = attribute(sc, exact_max_payloads=2, samples=6, seed=7)
    assert one.payloads == two.payloads and one.method == "sampled" and one.samples == 6
    assert math.fsum(r.allocated_propellant_kg for r in one.payloads) == pytest.approx(
        one.total_propellant_kg, abs=1e-9
    )
    odd = attribute(sc, exact_max_payloads=2, samples=5, seed=7)
    assert odd.samples == 6  # antithetic pairs: rounded up to an even number


# --------------------------------------------------------------------------------------------
# Infeasible manifests and sub-manifests
# --------------------------------------------------------------------------------------------


def test_an_infeasible_manifest_is_refused_with_its_shortfall():
    sc = scenario(PAYLOADS[:3], propellant="3 kg")
    with pytest.raises(AttributionError, match="feasible plan of the whole manifest") as err:
        attribute(sc)
    assert isinstance(err.value, InfeasibleError)
    assert err.value.shortfall.propellant_kg > 0


def test_an_infeasible_sub_manifest_takes_its_cheapest_feasible_superset(memo_plans, monkeypatch):
    """Whatever makes a sub-manifest infeasible on its own, the plan of a feasible superset
    delivers it too: its value is the cheapest such plan's, with a warning."""

    def plan(sc, objective=None):
        p = memo_plans(sc, objective)
        if [q.name for q in sc.payloads] == ["b"]:
            return replace(p, feasible=False)
        return p

    monkeypatch.setattr(attribution, "_plan", plan)
    a = attribute(scenario(PAYLOADS[:3]))
    by_set = {frozenset(c.payloads): c for c in a.coalitions}
    b = by_set[frozenset("b")]
    assert not b.feasible
    supersets = [c for s, c in by_set.items() if "b" in s and c.feasible]
    best = min(supersets, key=lambda c: c.propellant_kg)
    assert b.value_from == best.payloads
    assert len(a.warnings) == 1 and "[b] has no feasible plan" in a.warnings[0]
    assert math.fsum(r.allocated_propellant_kg for r in a.payloads) == pytest.approx(
        a.total_propellant_kg, abs=1e-9
    )


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------


def test_pricing_gives_costs_that_sum_to_the_total(memo_plans):
    sc = scenario(PAYLOADS[:3])
    pricing = Pricing(propellant_per_kg=25.0, per_day=800.0, tug_launch_per_kg=40.0, currency="EUR")
    a = attribute(sc, pricing=pricing)
    tug_kg = sc.tug.dry_mass_kg + sc.tug.propellant_kg
    assert a.tug_launch_kg == tug_kg
    assert a.total_cost == pytest.approx(
        a.total_propellant_kg * 25.0 + a.total_duration_s / 86400.0 * 800.0 + tug_kg * 40.0,
        rel=1e-12,
    )
    assert math.fsum(r.cost for r in a.payloads) == pytest.approx(a.total_cost, rel=1e-12)
    mass = sum(p.mass_kg for p in sc.payloads)
    for r in a.payloads:
        assert r.propellant_cost == pytest.approx(r.allocated_propellant_kg * 25.0)
        assert r.operations_cost == pytest.approx(r.allocated_duration_s / 86400.0 * 800.0)
        assert r.tug_cost == pytest.approx(tug_kg * 40.0 * r.mass_kg / mass)
        assert r.cost_per_kg == pytest.approx(r.cost / r.mass_kg)
    plain = attribute(sc)
    assert plain.total_cost is None and all(r.cost is None for r in plain.payloads)
    with pytest.raises(ValueError, match="per_day"):
        Pricing(per_day=-1.0)


def test_api_costs_takes_a_pricing_dict(memo_plans):
    text = scenario_text(PAYLOADS[:2])
    a = otvplan.costs(text, pricing={"propellant_per_kg": 10.0})
    assert a.pricing == Pricing(propellant_per_kg=10.0)
    assert [r.name for r in a.payloads] == ["a", "b"]
    assert a.total_cost == pytest.approx(10.0 * a.total_propellant_kg)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def test_cli_costs_table_and_json(memo_plans, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "m.yaml"
    path.write_text(scenario_text(PAYLOADS[:3]), encoding="utf-8")
    status = main(
        [
            "costs",
            str(path),
            "--price-propellant",
            "20",
            "--price-day",
            "1000",
            "--price-tug-kg",
            "50",
        ]
    )
    out = capsys.readouterr().out
    assert status == EXIT_OK
    head = next(line for line in out.splitlines() if "payload" in line)
    for column in (
        "payload",
        "mass kg",
        "marginal kg",
        "marginal d",
        "Shapley kg",
        "share",
        "cost",
        "cost/kg",
    ):
        assert column in head
    assert "method: exact Shapley values over all 8 sub-manifests" in out
    assert "total cost" in out
    status = main(["costs", str(path), "--json", "--samples", "4", "--exact-max", "2"])
    data = json.loads(capsys.readouterr().out)
    assert status == EXIT_OK
    assert data["method"] == "sampled" and data["samples"] == 4
    assert data["method_text"].startswith("Shapley values sampled from 4 permutations")
    assert [r["name"] for r in data["payloads"]] == ["a", "b", "c"]
    assert math.fsum(r["allocated_propellant_kg"] for r in data["payloads"]) == pytest.approx(
        data["total_propellant_kg"], abs=1e-9
    )
    assert data["pricing"] is None
    status = main(["costs", str(path), "--format", "csv"])
    lines = capsys.readouterr().out.splitlines()
    assert status == EXIT_OK and lines[0].startswith("payload,mass_kg,marginal_propellant_kg")
    assert len(lines) == 4


def test_cli_costs_of_an_infeasible_manifest_exits_3(tmp_path, capsys):
    path = tmp_path / "m.yaml"
    path.write_text(scenario_text(PAYLOADS[:2], propellant="2 kg"), encoding="utf-8")
    status = main(["costs", str(path)])
    captured = capsys.readouterr()
    assert status == EXIT_INFEASIBLE
    assert captured.out == ""
    assert "feasible plan of the whole manifest" in captured.err


def test_cli_costs_bad_objective_exits_2(tmp_path, capsys):
    path = tmp_path / "m.yaml"
    path.write_text(scenario_text(PAYLOADS[:2]), encoding="utf-8")
    assert main(["costs", str(path), "--objective", "propelant"]) == 2
    assert "did you mean propellant" in capsys.readouterr().err


def test_worker_processes_give_the_same_attribution():
    sc = scenario(PAYLOADS[:3])
    serial = attribute(sc)
    parallel = attribute(sc, workers=2)
    assert parallel.payloads == serial.payloads
    assert parallel.coalitions == serial.coalitions


@pytest.mark.slow
def test_window_plan_keeps_every_sub_manifest_within_the_mission(minimal_path, capsys):
    """minimal.yaml: without sat-2 the propellant objective drifts sat-1 over the whole 90 d
    allowed, so sat-2's marginal days are negative; within the plan's own span they are not."""
    sc = otvplan.load_scenario(minimal_path)
    loose = attribute(sc)
    tight = attribute(sc, window="plan")
    assert tight.window == "plan" and "sub-manifests within the plan's" in tight.method_text
    assert tight.total_propellant_kg == loose.total_propellant_kg
    assert min(r.marginal_duration_s for r in loose.payloads) < 0
    for c in tight.coalitions:
        assert c.duration_s <= tight.total_duration_s + 1e-6
    for r in tight.payloads:
        assert r.marginal_duration_s >= -1e-6
    assert math.fsum(r.allocated_propellant_kg for r in tight.payloads) == pytest.approx(
        tight.total_propellant_kg, abs=1e-9
    )
    with pytest.raises(ValueError, match="window"):
        attribute(sc, window="mission")
    assert main(["costs", str(minimal_path), "--window", "mission"]) == 2
    assert "--window must be scenario or plan" in capsys.readouterr().err
