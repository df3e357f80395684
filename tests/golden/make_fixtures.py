"""Regenerate the plan fixtures and golden outputs in tests/golden/.

    python tests/golden/make_fixtures.py            # plans from the solver + golden report
    python tests/golden/make_fixtures.py --golden   # only the golden report from the fixtures

The plan fixtures (``*_plan.json``) freeze solver output so the report tests do not depend on
(or wait for) the solver; regenerate them when the Plan model changes. The golden Markdown is
``render_markdown`` of ``minimal_plan.json``; after an intended change of the report layout,
regenerate it with ``--golden`` and review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def make_plans() -> None:
    from otvplan.io.scenario import load
    from otvplan.planning.solver import plan
    from otvplan.reporting.report import plan_to_json

    for name, path in (
        ("minimal", REPO / "otvplan" / "examples" / "minimal.yaml"),
        ("electric", REPO / "scenarios" / "electric_tug.yaml"),
        ("sso", REPO / "scenarios" / "sso_rideshare.yaml"),
    ):
        p = plan(load(path))
        (HERE / f"{name}_plan.json").write_text(plan_to_json(p), encoding="utf-8")


def make_golden() -> None:
    from otvplan.reporting.report import plan_from_json, render_markdown

    p = plan_from_json((HERE / "minimal_plan.json").read_text(encoding="utf-8"))
    (HERE / "minimal_report.md").write_text(render_markdown(p), encoding="utf-8")


if __name__ == "__main__":
    if "--golden" not in sys.argv[1:]:
        make_plans()
    make_golden()
