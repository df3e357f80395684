"""otvplan: mission planner for orbital transfer vehicles (space tugs).

``import otvplan`` is light: it loads neither NumPy-heavy planning code, matplotlib, boinor nor
dask. The public entry points live in :mod:`otvplan.api` and are imported on first use::

    import otvplan
    scenario = otvplan.load_scenario("scenarios/sso_rideshare.yaml")
    plan = otvplan.plan(scenario)

The package is one folder per layer (see docs/architecture.md): :mod:`otvplan.core` (orbit
and manoeuvre kernels, floats and arrays only), :mod:`otvplan.planning` (leg strategies,
searches, the solver), :mod:`otvplan.flight` (numerical propagation and verification),
:mod:`otvplan.io` (the scenario format, atomic files), :mod:`otvplan.reporting` (reports,
figures, CCSDS and GMAT exports) and :mod:`otvplan.study` (trade studies), over the shared
vocabulary of :mod:`otvplan.model`, :mod:`otvplan.constants` and :mod:`otvplan.errors`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: The public functions, all defined in :mod:`otvplan.api`.
_FUNCTIONS = ("load_scenario", "plan", "verify", "report", "sweep", "summary", "leg_table", "costs")
#: Public classes re-exported from other modules.
_CLASSES = {"OtvplanError": "otvplan.errors", "ScenarioError": "otvplan.errors"}

__all__ = ["__version__", *_FUNCTIONS, *_CLASSES]


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        value = getattr(importlib.import_module(f"{__name__}.api"), name)
    elif name in _CLASSES:
        value = getattr(importlib.import_module(_CLASSES[name]), name)
    else:
        raise AttributeError(f"module 'otvplan' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
