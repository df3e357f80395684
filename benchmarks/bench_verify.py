"""Time the verification of a plan and its building blocks.

Usage::

    python benchmarks/bench_verify.py [scenario.yaml] [--repeat N] [--quick]

Defaults to scenarios/sso_rideshare.yaml (target: verify in under 10 s). Prints, best of
``--repeat`` runs (default 3):

- one LEO day (525 km SSO) of two-body + J2 with each DOP853 backend (``compiled``, the
  default of ``verify``, after its first call, which is timed separately: numba's import and
  its on-disk cache, or the compilation when there is no cache), and with boinor's Cowell
  propagator and ``J2_perturbation`` for reference (numba compile excluded);
- the drop-off's osculating-from-mean conversion;
- ``verify(plan)`` in guided execution (the default: burns at their planned place, trimmed
  to the planned mean orbit) and open loop (the plan as written), each with and without the
  burn trace; guided with the ``ode`` and ``solve_ivp`` backends and with J2-J4 + drag;
- ``refinement(plan)`` (:mod:`otvplan.flight.refine`: one guided flight without the burn
  trace), with the default ``compiled`` backend and with ``ode``.

``--quick`` skips the slower variants (solve_ivp backend, J2-J4 + drag, boinor).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from otvplan.constants import J2_EARTH, MU_EARTH_KM3_S2, R_EARTH_KM  # noqa: E402
from otvplan.core.orbits import coe_to_rv, sso_inclination  # noqa: E402
from otvplan.flight import propagation as pr  # noqa: E402
from otvplan.flight.verify import dropoff_state, verify  # noqa: E402
from otvplan.io import scenario as scenario_mod  # noqa: E402
from otvplan.planning.solver import plan as solve  # noqa: E402

DAY = 86400.0


def best_of(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def leo_state():
    a = R_EARTH_KM + 525.0
    r, v = coe_to_rv(a, 0.0, sso_inclination(a), 1.0, 0.0, 0.3)
    return np.r_[r, v, 500.0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "sso_rideshare.yaml"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)

    y0 = leo_state()
    pr.propagate(0.0, y0, 60.0)  # load the Fortran integrator once
    rows = []
    c0, t0 = time.process_time(), time.perf_counter()
    pr.propagate(0.0, y0, 60.0, backend="compiled")
    rows.append(
        (
            "first 'compiled' call (numba import + cache load or compile)",
            time.perf_counter() - t0,
            f"{time.process_time() - c0:.2f} s CPU, once per process",
        )
    )
    for backend in ("compiled", "ode", "solve_ivp"):
        t, seg = best_of(
            lambda backend=backend: pr.propagate(0.0, y0, DAY, backend=backend), args.repeat
        )
        rows.append(
            (f"1 LEO day, two-body + J2, DOP853 '{backend}'", t, f"{seg.nfev} RHS evaluations")
        )
    if not args.quick:
        from boinor.core.perturbations import J2_perturbation
        from boinor.core.propagation import cowell, func_twobody

        def f(t0, u_, k):
            du = func_twobody(t0, u_, k)
            ax, ay, az = J2_perturbation(t0, u_, k, J2=J2_EARTH, R=R_EARTH_KM)
            return du + np.array([0.0, 0.0, 0.0, ax, ay, az])

        cowell(MU_EARTH_KM3_S2, y0[:3], y0[3:6], [60.0], rtol=1e-11, f=f)  # compile
        t, (rr, _) = best_of(
            lambda: cowell(MU_EARTH_KM3_S2, y0[:3], y0[3:6], [DAY], rtol=1e-11, f=f), args.repeat
        )
        ours = pr.propagate(0.0, y0, DAY).y[:3]
        rows.append(
            (
                "1 LEO day, boinor cowell + J2_perturbation (rtol 1e-11)",
                t,
                f"differs from ours by {np.linalg.norm(ours - rr[-1]) * 1e3:.1e} m",
            )
        )

    sc = scenario_mod.load(args.scenario)
    t, (_, _, resid) = best_of(
        lambda: pr.osculating_from_mean(dropoff_state(sc.dropoff)), args.repeat
    )
    rows.append(("osculating_from_mean (drop-off)", t, f"residual {resid[0] * 1e6:.1f} mm in a"))

    t0 = time.perf_counter()
    p = solve(sc)
    t_plan = time.perf_counter() - t0
    variants = [
        ("verify(plan)  [guided]", {}),
        ("verify(plan, trace_burns=False)  [guided]", {"trace_burns": False}),
        ("verify(plan, execution='open-loop')", {"execution": "open-loop"}),
        (
            "verify(plan, execution='open-loop', trace_burns=False)",
            {"execution": "open-loop", "trace_burns": False},
        ),
    ]
    if not args.quick:
        variants += [
            ("verify(plan, backend='ode')", {"backend": "ode"}),
            ("verify(plan, backend='solve_ivp')", {"backend": "solve_ivp"}),
            ("verify(plan, zonal=4, drag=True)", {"zonal": 4, "drag": True}),
        ]
    for label, kw in variants:
        t, v = best_of(lambda kw=kw: verify(p, **kw), args.repeat)
        stats = dict(v.stats)
        worst = (
            max(
                (abs(c.error) * (math.degrees(1) if c.unit == "rad" else 1.0), c.element)
                for c in v.rows
                if c.checked
            )
            if v.rows
            else (0.0, "-")
        )
        trims = [x.trim_kms for x in v.executions if not x.low_thrust]
        shifts = [abs(x.shift_s) for x in v.executions if not x.low_thrust]
        guided = (
            f", largest trim {max(trims, default=0.0) * 1000:.3f} m/s, "
            f"largest shift {max(shifts, default=0.0):.1f} s"
            if v.execution == "guided"
            else ""
        )
        rows.append(
            (
                label,
                t,
                f"{stats['days_propagated']:.1f} d, "
                f"{stats['rhs_evaluations'] / 1e6:.2f} M RHS, "
                f"passed={v.passed}, worst {worst[1]} error {worst[0]:.3g}" + guided,
            )
        )

    from otvplan.flight.refine import refinement

    for backend in ("compiled", "ode"):
        t, r = best_of(lambda backend=backend: refinement(p, backend=backend), args.repeat)
        rows.append(
            (
                f"refinement(plan, backend='{backend}')",
                t,
                f"converged={r.converged}, delta-v added {r.dv_added_kms * 1000:+.3f} m/s, "
                f"largest shift {r.max_shift_s:.1f} s",
            )
        )

    print(
        f"scenario: {sc.name} ({len(p.legs)} legs, {sum(len(leg.burns) for leg in p.legs)} "
        f"burns, {p.duration_s / DAY:.1f} d); plan() took {t_plan:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    width = max(len(r[0]) for r in rows)
    for label, t, note in rows:
        print(f"{label:<{width}}  {t * 1000:9.1f} ms  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
