"""A study's table and files: results -> :class:`pandas.DataFrame`, Parquet, CSV, study.json.

The edge where typed results (:class:`otvplan.study.run.CaseResult`) become table rows: one
row per case in design order, an axis column per axis (a number in the axis unit, or text), a
column per metric with the metric's dtype, the status by name and code, the message and the
case's times. pandas is imported here, when a table is made.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otvplan import __version__
from otvplan.io.atomicio import write_bytes, write_text
from otvplan.io.messages import format_location
from otvplan.study.plots import write_figures
from otvplan.study.spec import METRICS, STATUS_NAMES, Case, Study

if TYPE_CHECKING:
    from otvplan.study.run import CaseResult

__all__ = ["build_table", "write_outputs"]


def build_table(
    study: Study,
    cases: tuple[Case, ...],
    results: dict[str, CaseResult],
    metric_names: tuple[str, ...],
):
    """The table of ``results`` (by case id, one for each of ``cases``): a
    :class:`pandas.DataFrame` with one row per case in design order and the columns that
    :func:`otvplan.study.sweep` documents (metrics limited to ``metric_names``)."""
    import pandas as pd

    columns: dict[str, list] = {"case": []}
    for axis in study.axes:
        columns[axis.column] = []
    for name in metric_names:
        columns[METRICS[name].column] = []
    for extra in ("status", "status_code", "message", "elapsed_s", "cpu_s"):
        columns[extra] = []
    for case in cases:
        outcome = results[case.case_id].outcome
        columns["case"].append(case.case_id)
        for axis, value in zip(study.axes, case.values):
            columns[axis.column].append(axis.cell(value))
        for name in metric_names:
            columns[METRICS[name].column].append(outcome.metrics.get(name))
        code = outcome.status
        columns["status"].append(STATUS_NAMES.get(code, str(code)))
        columns["status_code"].append(code)
        columns["message"].append(outcome.message)
        columns["elapsed_s"].append(outcome.elapsed_s)
        columns["cpu_s"].append(outcome.cpu_s)
    dtypes = {"float": "float64", "int": "Int64", "bool": "boolean", "text": "string"}
    frame: dict[str, Any] = {}
    for column, values in columns.items():
        frame[column] = pd.Series(values, dtype="object")
    table = pd.DataFrame(frame)
    table["case"] = table["case"].astype("string")
    for axis in study.axes:
        table[axis.column] = table[axis.column].astype("float64" if axis.numeric else "string")
    for name in metric_names:
        metric = METRICS[name]
        series = table[metric.column]
        if metric.kind == "float":
            series = series.map(lambda v: math.nan if v is None else float(v))
        table[metric.column] = series.astype(dtypes[metric.kind])
    table["status"] = table["status"].astype("string")
    table["status_code"] = table["status_code"].astype("int64")
    table["message"] = table["message"].astype("string")
    table["elapsed_s"] = table["elapsed_s"].astype("float64")
    table["cpu_s"] = table["cpu_s"].astype("float64")
    units = {axis.column: axis.unit for axis in study.axes if axis.numeric and axis.unit}
    units.update({METRICS[n].column: METRICS[n].unit for n in metric_names if METRICS[n].unit})
    units["elapsed_s"] = units["cpu_s"] = "s"
    table.attrs = {"study": study.name, "study_key": study.key, "units": units}
    return table


def _study_json(study: Study, table) -> str:
    """``study.json``: what the study was (design, axes, metrics, versions) and its counts."""
    counts = table["status"].value_counts().to_dict()
    doc = {
        "name": study.name,
        "key": study.key,
        "source": study.source,
        "base": study.base_source or "inline",
        "otvplan": __version__,
        "design": dataclasses.asdict(study.design),
        "objective": study.objective,
        "cases": len(table),
        "status": {name: int(counts.get(name, 0)) for name in STATUS_NAMES.values()},
        "axes": [
            {
                "path": a.path,
                "column": a.column,
                "unit": a.unit,
                "kind": "range" if a.is_range else "list",
                "locations": [format_location(loc) for loc in a.locations],
            }
            for a in study.axes
        ],
        "metrics": [
            {
                "name": n,
                "column": METRICS[n].column,
                "unit": METRICS[n].unit,
                "description": METRICS[n].description,
            }
            for n in study.metrics
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_outputs(study: Study, table, full, out: Path, plots: bool) -> None:
    """Write ``results.parquet``, ``results.csv`` and ``study.json`` of ``table``, and with
    ``plots`` the figures of ``full`` (the table with every metric), each file atomically."""
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    write_bytes(out / "results.parquet", buffer.getvalue())
    write_text(out / "results.csv", table.to_csv(index=False, lineterminator="\n"))
    write_text(out / "study.json", _study_json(study, table))
    if plots:
        write_figures(study, full, out / "plots")
