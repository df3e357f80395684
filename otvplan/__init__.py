"""otvplan: mission planner for orbital transfer vehicles (space tugs).

``import otvplan`` is light: it loads neither matplotlib, boinor nor dask. The public entry
points live in :mod:`otvplan.api` and are imported on first use::

    import otvplan
    scenario = otvplan.load_scenario("scenarios/sso_rideshare.yaml")
    plan = otvplan.plan(scenario)

``verify`` and ``report`` are also the names of submodules. Python sets an imported submodule
as an attribute of its package, so ``otvplan.verify`` is the module :mod:`otvplan.verify` as
soon as anything imports it; the package therefore makes every submodule that shares its name
with a public function callable, its calls going to that function in :mod:`otvplan.api` (see
:mod:`otvplan._callable`). ``otvplan.verify(plan)`` and ``otvplan.verify.Verification`` both
work, in any import order.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

from . import _callable

__version__ = "0.1.0"

#: The public functions, all defined in :mod:`otvplan.api`.
_FUNCTIONS = ("load_scenario", "plan", "verify", "report", "sweep", "summary", "leg_table")
#: Public classes re-exported from other modules.
_CLASSES = {"OtvplanError": "otvplan.errors", "ScenarioError": "otvplan.errors"}

__all__ = ["__version__", *_FUNCTIONS, *_CLASSES]

class _Package(types.ModuleType):
    """The class of the ``otvplan`` module object: catches the import system's
    ``setattr(otvplan, name, submodule)`` for names of public functions."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            _callable.make_module_callable(value, name, "otvplan.api")
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            # a namesake submodule: importing it binds it, callable (see _Package)
            return importlib.import_module(f"{__name__}.{name}")
        value = getattr(importlib.import_module(f"{__name__}.api"), name)
    elif name in _CLASSES:
        value = getattr(importlib.import_module(_CLASSES[name]), name)
    else:
        raise AttributeError(f"module 'otvplan' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
