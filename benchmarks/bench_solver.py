"""Solver benchmark: the planner v2 targets, measured in one run, as a table.

Run:  python benchmarks/bench_solver.py            (a few minutes; --quick skips the big ones)

Rows (issue "Planner v2"; CPU seconds, the fair figure on a shared machine):
- sso_rideshare in-process: propellant (target <= 383 kg) and plan CPU (target <= 50 ms);
- cold `otvplan plan sso_rideshare.yaml` against `python -c "import boinor.twobody,
  boinor.maneuver"` in the same run: the ratio of the medians (target <= 0.6);
- exact planning of random sun-synchronous manifests over three LTAN planes: 8, 12, 14
  payloads (target 14 <= 1 s), 20 payloads (gap <= 0.5 % in <= 5 s), 100 payloads heuristic
  (feasible with its gap in <= 10 s);
- constellation_slotting (target <= 1 s);
- a new user's 8-payload manifest (phase slots, a plane three hours away, a free-RAAN target,
  an unreachable 53 deg target) in a subprocess with its peak memory (targets <= 10 s,
  <= 1 GB), and with `solver.time_limit: 5 s` (honoured within 10 %).
Each row prints its measured figures and the target; nothing here asserts.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manifest(n: int, seed: int, max_days: int, propellant: int) -> str:
    """A sun-synchronous manifest: payloads spread over three LTAN planes and 480-600 km."""
    rnd = random.Random(seed)
    lines = [
        f"name: bench-{n}",
        "epoch: 2027-03-01T10:00:00Z",
        "dropoff: {altitude: 525 km, sso: true, ltan: '10:30'}",
        f"tug: {{name: t, dry_mass: 300 kg, propellant: {propellant} kg, tank_capacity: 3000 kg,"
        " propellant_reserve: 2 %, engines: [{name: m, type: chemical, isp: 300 s,"
        " thrust: 200 N}]}",
        "payloads:",
    ]
    for k in range(n):
        ltan = rnd.choice(["10:00", "10:30", "11:00"])
        lines.append(
            f"  - {{name: p{k}, mass: {rnd.uniform(3, 40):.1f} kg, target: "
            f"{{altitude: {rnd.uniform(480, 600):.0f} km, sso: true, ltan: '{ltan}'}}}}"
        )
    lines += [f"constraints: {{max_duration: {max_days} d}}"]
    return "\n".join(lines) + "\n"


NEW_USER = textwrap.dedent("""\
    name: new-user
    epoch: 2027-06-01T10:00:00Z
    dropoff: {altitude: 550 km, sso: true, ltan: "10:30"}
    tug:
      name: hydrazine-tug
      dry_mass: 300 kg
      propellant: 250 kg
      tank_capacity: 260 kg
      engines:
        - {name: mr-106, type: chemical, isp: 220 s, thrust: 22 N}
    payloads:
      - {name: slot-a, mass: 20 kg,
         target: {altitude: 550 km, sso: true, ltan: "10:30", slot: 0 deg}}
      - {name: slot-b, mass: 20 kg,
         target: {altitude: 550 km, sso: true, ltan: "10:30", slot: 120 deg}}
      - {name: slot-c, mass: 20 kg,
         target: {altitude: 550 km, sso: true, ltan: "10:30", slot: 240 deg}}
      - {name: pm-1, mass: 30 kg, target: {altitude: 550 km, sso: true, ltan: "13:30"}}
      - {name: pm-2, mass: 30 kg, target: {altitude: 550 km, sso: true, ltan: "13:30"}}
      - {name: low-1, mass: 15 kg, target: {altitude: 450 km, sso: true, ltan: "10:30"}}
      - {name: high-any, mass: 25 kg, target: {altitude: 700 km, sso: true}}
      - {name: mid-inc, mass: 40 kg, target: {altitude: 550 km, inclination: 53 deg, raan: 0 deg}}
    constraints:
      max_duration: 180 d
    """)


#: Warm plans of sso_rideshare timed (the median is shown).
WARM_PLANS = 15


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed_plan(text: str):
    from otvplan.io import scenario
    from otvplan.planning import solver

    sc = scenario.loads(text)
    w0, c0 = time.perf_counter(), cpu()
    p = solver.plan(sc)
    return p, time.perf_counter() - w0, cpu() - c0


#: Runs a command and prints its own peak memory (KiB) last on standard error. (The
#: children's ru_maxrss seen from here would count this process's pages: a forked child is
#: this process's size until it executes the command, and this one grows with the cases.)
PEAK = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL,"
    " stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
)


def child(args: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak memory MB) of a child process (the CPU of a small wrapper
    process included, about 0.02 s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PEAK, *args],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu_s, float(out.stderr.strip().splitlines()[-1]) / 1024.0


def gap_text(p) -> str:
    g = p.optimality_gap
    return (
        f"{p.propellant_used_kg:.2f} kg, {'exact' if p.exact else 'not proven'}"
        + ("" if g is None else f", gap {g:.2%}")
        + ("" if p.feasible else ", INFEASIBLE")
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="skip the 20/100-payload and new-user rows"
    )
    args = ap.parse_args(argv)
    rows = []
    from otvplan.io import scenario
    from otvplan.planning import solver

    sc = scenario.load(ROOT / "scenarios" / "sso_rideshare.yaml")
    solver.plan(sc)  # warm: imports and first-call costs
    warm = []
    for _ in range(WARM_PLANS):  # (one plan's CPU time varies by a third on a shared machine)
        c0 = cpu()
        p = solver.plan(sc)
        warm.append(cpu() - c0)
    rows.append(
        (
            f"sso_rideshare in-process (warm, median of {WARM_PLANS})",
            statistics.median(warm),
            "<= 0.05 s, <= 383 kg",
            gap_text(p),
        )
    )
    exe = Path(sys.executable).with_name("otvplan")
    cold = [
        child([str(exe), "plan", str(ROOT / "scenarios" / "sso_rideshare.yaml")])[1]
        for _ in range(3)
    ]
    boinor = [
        child([sys.executable, "-c", "import boinor.twobody, boinor.maneuver"])[1] for _ in range(3)
    ]
    rows.append(
        (
            "cold `otvplan plan sso_rideshare.yaml` / boinor import (CPU medians)",
            statistics.median(cold),
            "ratio <= 0.6",
            f"{statistics.median(cold):.2f} s / {statistics.median(boinor):.2f} s = "
            f"{statistics.median(cold) / statistics.median(boinor):.2f}",
        )
    )
    sizes = (8, 12) if args.quick else (8, 12, 14)
    for n in sizes:
        p, _, cpu_s = timed_plan(manifest(n, 5, 180, 300))
        rows.append(
            (f"exact, {n} payloads over 3 planes", cpu_s, "<= 1 s" if n == 14 else "", gap_text(p))
        )
    p, _, cpu_s = timed_plan((ROOT / "scenarios" / "constellation_slotting.yaml").read_text())
    rows.append(("constellation_slotting", cpu_s, "<= 1 s", gap_text(p)))
    if not args.quick:
        p, _, cpu_s = timed_plan(manifest(20, 7, 360, 1500))
        rows.append(("20 payloads", cpu_s, "<= 5 s, gap <= 0.5 %", gap_text(p)))
        p, _, cpu_s = timed_plan(manifest(100, 7, 360, 3000))
        rows.append(("100 payloads (heuristic)", cpu_s, "<= 10 s, feasible", gap_text(p)))
        tmp = Path("/tmp") / "otvplan-bench-new-user.yaml"
        tmp.write_text(NEW_USER, encoding="utf-8")
        wall, cpu_s, mem = child([str(exe), "plan", str(tmp)])
        rows.append(
            (
                "new user's 8-payload manifest (cold CLI)",
                cpu_s,
                "<= 10 s, <= 1 GB",
                f"peak {mem:.0f} MB",
            )
        )
        tmp.write_text(NEW_USER + "solver: {time_limit: 5 s}\n", encoding="utf-8")
        wall, cpu_s, mem = child([str(exe), "plan", str(tmp)])
        rows.append(
            (
                "  the same with solver.time_limit: 5 s (wall)",
                wall,
                "<= 5.5 s + start-up",
                f"peak {mem:.0f} MB",
            )
        )
    print(f"{'case':68s} {'cpu s':>8s}  {'target':24s} result")
    for name, cpu_s, target, note in rows:
        print(f"{name:68s} {cpu_s:8.2f}  {target:24s} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
