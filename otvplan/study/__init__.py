"""Trade studies: a base scenario, axes that vary it, the cases run on local processes or a
Dask cluster, and an append-only results store.

The API copies :mod:`otvplan.io.scenario`::

    study = load("studies/isp_vs_dropoff.yaml")      # or loads(text, filename=...)
    table = sweep(study, out_dir="out/isp")           # pandas.DataFrame, one row per case

A study file names a base scenario (a path relative to the study file, or the scenario inline),
the axes to vary, addressed by their path in the scenario document, a design, the solver
objective and the metrics to record::

    name: isp-vs-dropoff
    base: ../scenarios/sso_rideshare.yaml
    axes:
      tug.engines[0].isp: [220 s, 260 s, 300 s]
      dropoff.altitude: {from: 450 km, to: 600 km, steps: 7}
    design: grid                  # or {type: lhs, size: 200, seed: 1}, {type: sobol, ...}
    objective: propellant
    metrics: [total_dv, propellant_used, propellant_margin, duration, feasible]

The modules, one job each: :mod:`~otvplan.study.spec` (what a study is: axes, design,
metrics, cases), :mod:`~otvplan.study.paths` (the axis-path language),
:mod:`~otvplan.study.reader` (reading and validating study files),
:mod:`~otvplan.study.run` (running cases and sweeping), :mod:`~otvplan.study.store` (the
append-only results file), :mod:`~otvplan.study.table` (the table and its files) and
:mod:`~otvplan.study.plots` (figures and labels). The format and the outputs are documented in
``docs/trade-studies.md``.
"""

from otvplan.study.plots import axis_label, figures, metric_label
from otvplan.study.reader import load, loads
from otvplan.study.run import CaseOutcome, CaseResult, run_case, sweep
from otvplan.study.spec import (
    DESIGNS,
    MAX_CASES,
    METRICS,
    STATUS_NAMES,
    Axis,
    Case,
    Design,
    Study,
)

__all__ = [
    "DESIGNS",
    "MAX_CASES",
    "METRICS",
    "STATUS_NAMES",
    "Axis",
    "Case",
    "CaseOutcome",
    "CaseResult",
    "Design",
    "Study",
    "axis_label",
    "figures",
    "load",
    "loads",
    "metric_label",
    "run_case",
    "sweep",
]
