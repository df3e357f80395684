"""Fleet assignment: time, plans and memory of :func:`otvplan.planning.fleet.plan_fleet`.

Usage::

    python benchmarks/bench_fleet.py            # the three cases below
    python benchmarks/bench_fleet.py --quick    # the first two only

Cases, each in a fresh process (so that no leg table is cached from an earlier case):

1. ``2x3``: the test suite's two tugs and three SSO payloads (exact: 14 subset plans);
2. ``2x5``: two tugs (one available 5 days late) and five payloads of ``sso_rideshare.yaml``
   over three planes (exact: 62 subset plans);
3. ``3x12``: ``scenarios/transporter_fleet.yaml`` (7,137 subsets: the heuristic, within the
   60 s default time limit).

Printed per case: method, CPU and wall seconds, tug plans made, total propellant, the
lower bound and gap when exact, and the peak resident memory of the process. The issue's aim
(12 payloads x 3 tugs exact in <= 30 s on one core) is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TWO_BY_THREE = """\
name: fleet-2x3
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tugs:
  - {name: big, dry_mass: 240 kg, propellant: 200 kg, propellant_reserve: 3 %,
     engines: [{name: biprop, type: chemical, isp: 300 s, thrust: 200 N}]}
  - {name: small, dry_mass: 120 kg, propellant: 60 kg,
     engines: [{name: mono, type: chemical, isp: 220 s, thrust: 22 N}]}
payloads:
  - {name: eo-a, mass: 22 kg, target: {altitude: 500 km, sso: true, ltan: "10:30"}}
  - {name: sar-1, mass: 145 kg, target: {altitude: 560 km, sso: true, ltan: "09:30"}}
  - {name: rf-5, mass: 12 kg, target: {altitude: 475 km, sso: true, ltan: "09:30"}}
constraints: {max_duration: 120 d, min_deploy_separation: 2 h}
"""

TWO_BY_FIVE = """\
name: fleet-2x5
epoch: 2027-03-01T10:00:00Z
dropoff: {altitude: 525 km, sso: true, ltan: "10:30"}
tugs:
  - {name: otv-a, dry_mass: 240 kg, propellant: 250 kg, propellant_reserve: 3 %,
     engines: [{name: biprop, type: chemical, isp: 300 s, thrust: 200 N}]}
  - {name: otv-b, dry_mass: 150 kg, propellant: 150 kg, available: 5 d,
     engines: [{name: mono, type: chemical, isp: 220 s, thrust: 22 N}]}
payloads:
  - {name: eo-a, mass: 22 kg, target: {altitude: 500 km, sso: true, ltan: "10:30"}}
  - {name: sar-1, mass: 145 kg, target: {altitude: 560 km, sso: true, ltan: "09:30"}}
  - {name: rf-5, mass: 12 kg, target: {altitude: 475 km, sso: true, ltan: "09:30"}}
  - {name: eo-m2, mass: 95 kg, target: {altitude: 600 km, sso: true, ltan: "13:30"}}
  - {name: ais-3, mass: 24 kg, target: {altitude: 550 km, sso: true, ltan: "13:30"}}
constraints:
  max_duration: 180 d
  min_deploy_separation: 2 h
  disposal: {type: reentry, within: 5 yr, area: 1.5 m2, cd: 2.2}
"""

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import otvplan
    from otvplan.planning.fleet import plan_fleet
    sc = otvplan.load_scenario(sys.argv[1])
    c0, w0 = time.process_time(), time.perf_counter()
    fp = plan_fleet(sc)
    print(json.dumps({
        "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0,
        "method": fp.method.split(":")[0].split(" (")[0], "exact": fp.exact,
        "plans": dict(fp.solver_stats)["tug_plans"], "feasible": fp.feasible,
        "propellant_kg": fp.propellant_used_kg, "bound_kg": fp.lower_bound_propellant_kg,
        "gap": fp.optimality_gap, "tugs": len(fp.tugs),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))
    """
)


def run_case(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the two small cases only")
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "otvplan-bench-fleet"
    tmp.mkdir(parents=True, exist_ok=True)
    cases = {"2x3": tmp / "fleet_2x3.yaml", "2x5": tmp / "fleet_2x5.yaml"}
    cases["2x3"].write_text(TWO_BY_THREE, encoding="utf-8")
    cases["2x5"].write_text(TWO_BY_FIVE, encoding="utf-8")
    if not args.quick:
        cases["3x12"] = ROOT / "scenarios" / "transporter_fleet.yaml"
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs")
    print(
        f"{'case':6} {'method':10} {'CPU s':>7} {'wall s':>7} {'plans':>6} {'kg':>9} "
        f"{'bound kg':>9} {'gap':>7} {'peak MiB':>9}"
    )
    for name, path in cases.items():
        r = run_case(path)
        bound = "-" if r["bound_kg"] is None else f"{r['bound_kg']:.2f}"
        gap = "-" if r["gap"] is None else f"{r['gap']:.2%}"
        print(
            f"{name:6} {r['method']:10} {r['cpu_s']:7.1f} {r['wall_s']:7.1f} "
            f"{r['plans']:6.0f} {r['propellant_kg']:9.2f} {bound:>9} {gap:>7} "
            f"{r['peak_mib']:9.0f}"
        )
    print("aim (issue 17): 12 payloads x 3 tugs exact in <= 30 s on one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
