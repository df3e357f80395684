"""otvplan: mission planner for orbital transfer vehicles (space tugs).

``import otvplan`` is light: it loads neither matplotlib, boinor nor dask. The public entry
points are imported on first use::

    import otvplan
    scenario = otvplan.load_scenario("scenarios/sso_rideshare.yaml")
    plan = otvplan.plan(scenario)
"""

__version__ = "0.1.0"

_LAZY = {
    "load_scenario": ("otvplan.api", "load_scenario"),
    "plan": ("otvplan.api", "plan"),
    "verify": ("otvplan.api", "verify"),
    "report": ("otvplan.report", None),  # the module, callable: report(plan, out_dir)
    "sweep": ("otvplan.api", "sweep"),
    "summary": ("otvplan.api", "summary"),
    "leg_table": ("otvplan.api", "leg_table"),
    "OtvplanError": ("otvplan.errors", "OtvplanError"),
    "ScenarioError": ("otvplan.errors", "ScenarioError"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'otvplan' has no attribute {name!r}") from None
    import importlib

    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
