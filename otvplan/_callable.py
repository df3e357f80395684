"""Let ``otvplan.report(...)`` and ``otvplan.verify(...)`` work although both names are also
submodules.

``import otvplan.report`` makes the attribute ``otvplan.report`` the module, shadowing any
function of that name in the package namespace. Giving those two modules a ``__call__`` keeps
the documented one-call API (``otvplan.report(plan, out_dir)``, ``otvplan.verify(plan)``)
working whichever way the user imported them.
"""

from __future__ import annotations

import sys
import types


def make_module_callable(module_name: str, function_name: str) -> None:
    """Make module ``module_name`` callable, forwarding calls to its ``function_name``."""
    module = sys.modules[module_name]

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(self, function_name)(*args, **kwargs)

    _CallableModule.__name__ = f"callable module {module_name}"
    module.__class__ = _CallableModule
