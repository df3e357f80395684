"""Callable modules: what lets ``otvplan.verify(plan)`` and ``otvplan.report(plan, out)`` work
although ``verify`` and ``report`` are also submodules of the package.

Python's import system sets every imported submodule as an attribute of its package:
``import otvplan.verify`` (or any module doing ``from .verify import ...``) makes
``otvplan.verify`` the *module*, replacing whatever function was bound there. So a public
function that shares its name with a submodule cannot simply be a package attribute.

The package (``otvplan/__init__.py``) resolves this in one place: whenever a submodule whose
name is a public function is set on the package, the module is made callable here, its calls
forwarding to the public function of :mod:`otvplan.api`. ``otvplan.verify`` is then the same
object whichever way, and in whichever order, things were imported: the module (so
``otvplan.verify.Verification`` and ``import otvplan.verify as v`` keep working) and the
function (``otvplan.verify(plan)``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose calls go to the function named by its ``__call_target__``
    (``(module name, attribute name)``), looked up at call time."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module_name, attribute = self.__dict__["__call_target__"]
        return getattr(importlib.import_module(module_name), attribute)(*args, **kwargs)


def make_module_callable(module: str | types.ModuleType, function_name: str,
                         function_module: str | None = None) -> types.ModuleType:
    """Make ``module`` callable, forwarding calls to ``function_module.function_name``
    (default: the module's own ``function_name``). Returns the module."""
    if isinstance(module, str):
        module = sys.modules[module]
    target = (function_module or module.__name__, function_name)
    module.__dict__["__call_target__"] = target
    if not isinstance(module, CallableModule):
        module.__class__ = CallableModule
    return module
