"""Solver benchmark: `otvplan plan` cold from the shell, exact sequencing, large manifests.

Run:  python benchmarks/bench_solver.py          (about a minute; add --big for 100 payloads)

Targets (issue "Mission solver"): `otvplan plan` on the SSO rideshare scenario under 1.0 s wall
from a cold shell; exact sequencing of 12 payloads under 2 s; the heuristic on 100 payloads
under 30 s with its gap to a lower bound reported. Prints a table with wall and CPU times; on a
shared machine the CPU time is the fairer figure.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manifest(n: int, seed: int, max_days: int, propellant: int, grid: int) -> str:
    """A sun-synchronous manifest: payloads spread over three LTAN planes and 480-600 km."""
    rnd = random.Random(seed)
    lines = [
        f"name: bench-{n}", "epoch: 2027-03-01T10:00:00Z",
        "dropoff: {altitude: 525 km, sso: true, ltan: '10:30'}",
        f"tug: {{name: t, dry_mass: 300 kg, propellant: {propellant} kg, tank_capacity: 3000 kg,"
        " propellant_reserve: 2 %, engines: [{name: m, type: chemical, isp: 300 s,"
        " thrust: 200 N}]}",
        "payloads:",
    ]
    for k in range(n):
        ltan = rnd.choice(["10:00", "10:30", "11:00"])
        lines.append(f"  - {{name: p{k}, mass: {rnd.uniform(3, 40):.1f} kg, target: "
                     f"{{altitude: {rnd.uniform(480, 600):.0f} km, sso: true, ltan: '{ltan}'}}}}")
    lines += [f"constraints: {{max_duration: {max_days} d}}", f"solver: {{drift_grid: {grid}}}"]
    return "\n".join(lines) + "\n"


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed_plan(text: str):
    from otvplan import scenario, solver

    sc = scenario.loads(text)
    w0, c0 = time.perf_counter(), cpu()
    p = solver.plan(sc)
    return p, time.perf_counter() - w0, cpu() - c0


def cold_cli(runs: int = 3):
    exe = Path(sys.executable).with_name("otvplan")
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run([str(exe), "plan", str(ROOT / "scenarios" / "sso_rideshare.yaml")],
                       check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - w0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(walls), min(cpus)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also run the 100-payload heuristic")
    args = ap.parse_args(argv)
    rows = []
    wall, cpu_s = cold_cli()
    rows.append(("otvplan plan sso_rideshare.yaml (cold shell, best of 3)", wall, cpu_s,
                 "< 1.0 s", ""))
    for n in (8, 12):
        p, wall, cpu_s = timed_plan(manifest(n, 5, 180, 300, 6))
        rows.append((f"exact sequencing, {n} payloads", wall, cpu_s,
                     "< 2 s" if n == 12 else "",
                     f"{'exact' if p.exact else 'heuristic'}, {p.propellant_used_kg:.2f} kg"))
    sizes = (30, 100) if args.big else (30,)
    for n in sizes:
        p, wall, cpu_s = timed_plan(manifest(n, 7, 360, 1500, 3))
        lb = p.lower_bound_propellant_kg
        gap = (p.propellant_used_kg - lb) / p.propellant_used_kg if lb else float("nan")
        rows.append((f"heuristic, {n} payloads", wall, cpu_s, "< 30 s" if n == 100 else "",
                     f"{p.propellant_used_kg:.1f} kg, bound {lb:.1f} kg, gap {gap:.0%}"))
    print(f"{'case':58s} {'wall s':>8s} {'cpu s':>8s}  {'target':8s} result")
    for name, wall, cpu_s, target, note in rows:
        print(f"{name:58s} {wall:8.2f} {cpu_s:8.2f}  {target:8s} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
