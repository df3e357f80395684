"""What each delivery of a fleet costs (otvplan.planning.fleet_costs), and the scenario's
pricing: section.

The fleet game is checked against brute force: every sub-manifest's value is recomputed here
by planning every assignment of it over the tugs (each tug's subset planned on its own with
the single-tug planner), and the Shapley values from the definition (the mean marginal
contribution over all n! orders, Shapley 1953) on those values. Efficiency (shares sum to the
fleet plan's totals), the null player (a massless payload released at the drop-off), a fleet
of one tug against the single-tug attribution, and the per-tug method's sums are checked too.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import pytest

import otvplan
from otvplan.cli import EXIT_OK, main
from otvplan.errors import InfeasibleError
from otvplan.io.scenario import dumps, loads
from otvplan.model import Fleet, FleetTug, Pricing
from otvplan.planning.attribution import attribute
from otvplan.planning.fleet import plan_fleet, sub_fleets, tug_scenario
from otvplan.planning.fleet_costs import attribute_fleet
from otvplan.planning.solver import plan as single_plan
from test_fleet import FLEET, _assignment_value

PRICING = Pricing(propellant_per_kg=25.0, per_day=4000.0, tug_launch_per_kg=6000.0, currency="EUR")


@pytest.fixture(scope="module")
def scenario():
    return loads(FLEET, filename="fleet-test.yaml")


@pytest.fixture(scope="module")
def fleet_costs(scenario):
    return attribute_fleet(scenario, method="fleet", pricing=PRICING)


def _brute_values(scenario):
    """v(S) for every sub-manifest S (bit i: payload i): the least total propellant over every
    assignment of S to the tugs, each tug's subset planned on its own; None when none closes."""
    n, m = len(scenario.payloads), len(scenario.fleet.tugs)
    plans = {}

    def tug_value(k, mask):
        if mask == 0:
            return 0.0
        if (k, mask) not in plans:
            chosen = [p for i, p in enumerate(scenario.payloads) if mask >> i & 1]
            p = single_plan(tug_scenario(scenario, scenario.fleet.tugs[k], chosen))
            plans[(k, mask)] = p.propellant_used_kg if p.feasible else None
        return plans[(k, mask)]

    values = {}
    for mask in range(1 << n):
        members = [i for i in range(n) if mask >> i & 1]
        best = None
        for owners in itertools.product(range(m), repeat=len(members)):
            parts = [sum(1 << i for i, o in zip(members, owners) if o == k) for k in range(m)]
            got = [tug_value(k, part) for k, part in enumerate(parts)]
            if any(g is None for g in got):
                continue
            total = sum(got)
            best = total if best is None else min(best, total)
        values[mask] = best
    return values


def test_the_fleet_game_matches_brute_force_over_every_assignment(scenario, fleet_costs):
    """Every sub-manifest's value is the best of all its assignments (planned here one by
    one), and the shares are the Shapley values of those values from the definition."""
    brute = _brute_values(scenario)
    subs = sub_fleets(scenario)
    n = len(scenario.payloads)
    assert all(v is not None for v in brute.values()), "the test fleet closes every subset"
    for mask, value in brute.items():
        assert subs[mask].propellant_kg == pytest.approx(value, rel=2e-3, abs=1e-6), mask
    # Shapley from the definition: mean marginal contribution over all orders
    phi = [0.0] * n
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        mask = 0
        for i in order:
            phi[i] += (brute[mask | 1 << i] - brute[mask]) / len(orders)
            mask |= 1 << i
    tol = 2e-3 * brute[(1 << n) - 1]
    for row, want in zip(fleet_costs.payloads, phi):
        assert row.shapley_propellant_kg == pytest.approx(want, abs=tol), row.name


def test_fleet_shares_sum_to_the_fleet_plan(scenario, fleet_costs):
    """Efficiency: the allocations sum to the fleet plan's propellant and tug-days exactly,
    the costs to the priced total; each payload's tug is the fleet plan's."""
    fp = plan_fleet(scenario)
    a = fleet_costs
    assert a.method == "fleet"
    assert a.total_propellant_kg == pytest.approx(fp.propellant_used_kg, rel=1e-12)
    tug_days = math.fsum(t.plan.duration_s for t in fp.tugs)
    assert a.total_duration_s == pytest.approx(tug_days, rel=1e-12)
    assert math.fsum(r.allocated_propellant_kg for r in a.payloads) == pytest.approx(
        a.total_propellant_kg, rel=1e-12
    )
    assert math.fsum(r.allocated_duration_s for r in a.payloads) == pytest.approx(
        a.total_duration_s, rel=1e-12
    )
    assert {r.name: r.tug for r in a.payloads} == dict(fp.assignment)
    launched = sum(
        ft.tug.dry_mass_kg + ft.tug.propellant_kg
        for ft in scenario.fleet.tugs
        if ft.tug.name in {t.tug for t in fp.tugs}
    )
    assert a.tug_launch_kg == pytest.approx(launched)
    want = a.total_propellant_kg * 25.0 + a.total_duration_s / 86400.0 * 4000.0 + launched * 6000.0
    assert a.total_cost == pytest.approx(want, rel=1e-12)
    assert math.fsum(r.cost for r in a.payloads) == pytest.approx(want, rel=1e-12)
    assert sum(r.share for r in a.payloads) == pytest.approx(1.0)
    # marginal costs: the fleet re-planned without each payload (brute-force values)
    brute = _brute_values(scenario)
    full = (1 << len(scenario.payloads)) - 1
    for i, row in enumerate(a.payloads):
        want_marginal = brute[full] - brute[full & ~(1 << i)]
        assert row.marginal_propellant_kg == pytest.approx(want_marginal, abs=2e-3 * brute[full])


def test_a_payload_released_at_the_dropoff_costs_the_fleet_nothing(scenario):
    """Null player: a massless payload whose target is the drop-off orbit adds ~0 to every
    sub-manifest, so its marginal propellant and its share are ~0."""
    free = loads(
        FLEET.replace(
            "payloads:\n",
            "payloads:\n  - {name: ride, mass: 0 kg, target: {altitude: 525 km, sso: true, "
            'ltan: "10:30"}}\n',
        ).replace("mass: 0 kg", "mass: 0.001 kg"),
        filename="free.yaml",
    )
    a = attribute_fleet(free, method="fleet")
    ride = next(r for r in a.payloads if r.name == "ride")
    assert abs(ride.marginal_propellant_kg) < 0.05
    assert abs(ride.allocated_propellant_kg) < 0.05
    assert math.fsum(r.allocated_propellant_kg for r in a.payloads) == pytest.approx(
        a.total_propellant_kg, rel=1e-12
    )


def test_per_tug_keeps_the_assignment_and_sums_to_the_fleet(scenario):
    """The per-tug method: each tug's payloads share that tug's plan (the single-tug
    attribution of it), the rows add up to the fleet plan's totals and prices."""
    fp = plan_fleet(scenario)
    a = attribute_fleet(scenario, method="per-tug", pricing=PRICING)
    assert a.method == "per-tug" and "assignment kept" in a.method_text
    assert a.total_propellant_kg == pytest.approx(fp.propellant_used_kg, rel=1e-9)
    assert math.fsum(r.allocated_propellant_kg for r in a.payloads) == pytest.approx(
        a.total_propellant_kg, rel=1e-9
    )
    assert math.fsum(r.cost for r in a.payloads) == pytest.approx(a.total_cost, rel=1e-12)
    for t in fp.tugs:
        ft = next(f for f in scenario.fleet.tugs if f.tug.name == t.tug)
        carried = [p for p in scenario.payloads if p.name in t.plan.delivered]
        alone = attribute(tug_scenario(scenario, ft, carried))
        for row in alone.payloads:
            got = next(r for r in a.payloads if r.name == row.name)
            assert got.tug == t.tug
            assert got.allocated_propellant_kg == pytest.approx(row.allocated_propellant_kg)
            assert got.marginal_propellant_kg == pytest.approx(row.marginal_propellant_kg)


def test_a_fleet_of_one_tug_costs_as_the_single_tug(minimal_path):
    """One tug in tugs: both fleet methods give the single-tug attribution's allocations."""
    single = otvplan.load_scenario(minimal_path)
    fleet = replace(single, fleet=Fleet(tugs=(FleetTug(single.tug),)))
    alone = attribute(single)
    for method in ("fleet", "per-tug"):
        a = attribute_fleet(fleet, method=method)
        assert a.total_propellant_kg == pytest.approx(alone.total_propellant_kg, rel=1e-9)
        for got, want in zip(a.payloads, alone.payloads):
            assert got.name == want.name and got.tug == single.tug.name
            assert got.allocated_propellant_kg == pytest.approx(
                want.allocated_propellant_kg, abs=1e-9 * alone.total_propellant_kg
            ), method
            assert got.marginal_propellant_kg == pytest.approx(
                want.marginal_propellant_kg, abs=1e-9 * alone.total_propellant_kg
            )


def test_a_makespan_fleet_is_attributed_per_tug(scenario):
    sc = replace(scenario, fleet=replace(scenario.fleet, objective="makespan"))
    with pytest.raises(ValueError, match="additive"):
        attribute_fleet(sc, method="fleet")
    a = attribute_fleet(sc)
    assert a.method == "per-tug"
    assert math.fsum(r.allocated_propellant_kg for r in a.payloads) == pytest.approx(
        a.total_propellant_kg, rel=1e-9
    )


def test_an_unservable_fleet_is_refused(scenario):
    """No assignment delivers everything: an InfeasibleError naming what is left out."""
    heavy = replace(
        scenario,
        payloads=tuple(
            replace(p, mass_kg=5000.0) if p.name == "sar-1" else p for p in scenario.payloads
        ),
    )
    with pytest.raises(InfeasibleError, match="sar-1"):
        attribute_fleet(heavy, method="fleet")


# --------------------------------------------------------------------------------------------
# pricing: in the scenario, and the edges
# --------------------------------------------------------------------------------------------

PRICED = FLEET + "pricing: {propellant_per_kg: 25, per_day: 4000, currency: EUR}\n"


def test_the_scenario_pricing_is_read_written_and_used(minimal_path):
    sc = loads(PRICED, filename="priced.yaml")
    assert sc.pricing == Pricing(25.0, 4000.0, 0.0, "EUR")
    assert loads(dumps(sc), filename="again.yaml").pricing == sc.pricing
    single = otvplan.load_scenario(minimal_path)
    priced = replace(single, pricing=Pricing(propellant_per_kg=10.0))
    a = attribute(priced)
    assert a.pricing == priced.pricing
    assert a.total_cost == pytest.approx(10.0 * a.total_propellant_kg)
    # an argument replaces the scenario's
    b = attribute(priced, pricing=Pricing(per_day=1.0))
    assert b.total_cost == pytest.approx(b.total_duration_s / 86400.0)


def test_cli_costs_of_a_fleet(tmp_path, capsys):
    """`otvplan costs` on a fleet: the tug column, the scenario's prices with an option
    replacing one, --json with each row's tug; --method on one tug is a usage error."""
    path = tmp_path / "priced.yaml"
    path.write_text(PRICED, encoding="utf-8")
    assert main(["costs", str(path), "--price-day", "1000"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "tug" in out and "cost EUR" in out and "tug-days" in out
    assert "operations 1,000.00/d" in out and "propellant 25.00/kg" in out
    assert main(["costs", str(path), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "fleet"
    assert {row["tug"] for row in data["payloads"]} <= {"big", "small"}
    assert data["pricing"]["currency"] == "EUR"
    assert main(["costs", str(path), "--format", "csv", "--method", "per-tug"]) == EXIT_OK
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("payload,tug,mass_kg")
    single = tmp_path / "single.yaml"
    assert main(["example", "minimal", "--out", str(single)]) == EXIT_OK
    capsys.readouterr()
    assert main(["costs", str(single), "--method", "fleet"]) == 2
    assert "--method applies to a fleet" in capsys.readouterr().err
    assert main(["costs", str(path), "--objective", "duration"]) == 2
    assert "--objective applies to one tug" in capsys.readouterr().err


def test_reports_carry_the_costs(scenario, fleet_costs, tmp_path, minimal_path, capsys):
    """write_report / write_fleet_report with costs: the section in the pages and costs.csv,
    whose rows are the attribution's; `otvplan report --costs` writes them, and a report
    without costs removes an earlier costs.csv."""
    import csv

    from otvplan.reporting.fleet_report import write_fleet_report
    from otvplan.reporting.report import write_report

    fp = plan_fleet(scenario)
    write_fleet_report(fp, tmp_path / "fleet", figures=False, exports=False, costs=fleet_costs)
    md = (tmp_path / "fleet" / "fleet.md").read_text(encoding="utf-8")
    assert "## What each delivery costs" in md and "Cost per kg (EUR)" in md
    assert "What each delivery costs" in (tmp_path / "fleet" / "fleet.html").read_text("utf-8")
    with open(tmp_path / "fleet" / "costs.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["payload"] for r in rows] == [p.name for p in fleet_costs.payloads]
    for row, want in zip(rows, fleet_costs.payloads):
        assert row["tug"] == want.tug
        assert float(row["allocated_propellant_kg"]) == want.allocated_propellant_kg
        assert float(row["cost"]) == want.cost
    single = otvplan.load_scenario(minimal_path)
    costs = attribute(single)
    out = tmp_path / "single"
    write_report(single_plan(single), out, figures=False, costs=costs)
    assert "tug" not in (out / "costs.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "## What each delivery costs" in (out / "report.md").read_text(encoding="utf-8")
    assert main(["report", str(minimal_path), "--out", str(out), "--no-exports"]) == EXIT_OK
    assert not (out / "costs.csv").exists()
    assert main(["report", str(minimal_path), "--out", str(out), "--costs"]) == EXIT_OK
    assert (out / "costs.csv").exists()
    capsys.readouterr()


def test_the_cost_objective_is_the_cheapest_assignment(scenario):
    """fleet: {objective: cost} against brute force: of every assignment (each tug planned on
    its own), the plan's priced total - propellant, tug-days and each flown tug's launch - is
    the least; with the launch priced high the fleet flies one tug, with it free two."""

    def priced(sc, owners):
        return _assignment_value(
            sc,
            owners,
            lambda ft, p: sc.pricing.total(
                p.propellant_used_kg, p.duration_s, ft.tug.dry_mass_kg + ft.tug.propellant_kg
            ),
        )

    flown = {}
    for launch in (6000.0, 0.0):
        sc = replace(
            scenario,
            pricing=Pricing(propellant_per_kg=25.0, tug_launch_per_kg=launch),
            fleet=replace(scenario.fleet, objective="cost"),
        )
        fp = plan_fleet(sc)
        values = [
            v
            for owners in itertools.product(range(2), repeat=len(sc.payloads))
            if (v := priced(sc, owners)) is not None
        ]
        got = sum(
            sc.pricing.total(
                t.plan.propellant_used_kg,
                t.plan.duration_s,
                t.plan.scenario.tug.dry_mass_kg + t.plan.scenario.tug.propellant_kg,
            )
            for t in fp.tugs
        )
        assert fp.feasible and fp.objective == "cost"
        assert got == pytest.approx(min(values), rel=1e-3)
        flown[launch] = len(fp.tugs)
    assert flown == {6000.0: 1, 0.0: 2}


def test_the_cost_objective_needs_prices(tmp_path, capsys):
    """Without pricing: the file is refused at fleet.objective, the CLI option and the library
    argument say what is missing."""
    from otvplan.errors import ScenarioError

    text = FLEET + "fleet: {objective: cost}\n"
    with pytest.raises(ScenarioError, match=r"fleet\.objective: the cost objective prices"):
        loads(text, filename="x.yaml")
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET, encoding="utf-8")
    assert main(["plan", str(path), "--objective", "cost"]) == 2
    assert "needs a pricing: section" in capsys.readouterr().err
    with pytest.raises(ValueError, match="pricing"):
        otvplan.plan(str(path), objective="cost")


def test_the_library_costs_a_fleet(tmp_path):
    """otvplan.costs on a fleet file: the fleet method, the pricing dict, the tug of each row;
    an objective other than propellant, or a method for one tug, is refused."""
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET, encoding="utf-8")
    a = otvplan.costs(str(path), pricing={"propellant_per_kg": 10.0}, method="per-tug")
    assert a.method == "per-tug" and a.pricing == Pricing(propellant_per_kg=10.0)
    assert all(r.tug in ("big", "small") for r in a.payloads)
    assert a.total_cost == pytest.approx(10.0 * a.total_propellant_kg)
    with pytest.raises(ValueError, match=r"fleet\.objective"):
        otvplan.costs(str(path), objective="duration")
    single = tmp_path / "single.yaml"
    assert main(["example", "minimal", "--out", str(single)]) == EXIT_OK
    with pytest.raises(ValueError, match="method applies to a fleet"):
        otvplan.costs(str(single), method="fleet")
