"""Scenario files: YAML text -> validated, frozen :class:`otvplan.model.Scenario`.

The API copies :mod:`json`::

    scenario = load("scenarios/sso_rideshare.yaml")   # or loads(text, filename=...)
    text = dumps(scenario)                             # YAML that loads back to an equal Scenario
    problems = validate_file(path)                     # [] when the file is valid
    schema = json_schema()                             # JSON Schema of the file format

Reading goes in four steps, each collecting problems instead of stopping at the first:

1. **Read** (:func:`load`): the file must exist, be a regular file of at most
   :data:`MAX_FILE_BYTES`, and be UTF-8 text.
2. **Compose** (:mod:`otvplan.io.yamldoc`): PyYAML's safe composer builds the node graph, which
   keeps each value's line and column. Before any Python object is built the graph is
   measured: a document that expands to more than :data:`MAX_NODES` nodes (a "billion laughs"
   alias bomb), nests deeper than :data:`MAX_DEPTH` or refers to itself is rejected.
3. **Validate** (:class:`~otvplan.io.scenario.schema.ScenarioDoc`, pydantic v2,
   ``extra='forbid'``): structure, units (parsed by :func:`parse_quantity` into core units) and
   per-object rules; every error is turned into an :class:`otvplan.errors.Problem` naming file,
   line, column and field path (``payloads[2].target.raan``) with a message that says how to
   fix it (:mod:`~otvplan.io.scenario.diagnostics`).
4. **Build** (:mod:`~otvplan.io.scenario.build`): the validated document becomes the frozen
   model in core units (km, km/s, s, rad, kg); LTANs become RAANs at the epoch, ``sso: true``
   becomes the sun-synchronous inclination, deadlines become seconds after the epoch.

Any problem raises :class:`otvplan.errors.ScenarioError` carrying all of them. The format is
documented in ``docs/scenario-format.md``.

The package's modules, one job each: :mod:`~otvplan.io.scenario.schema` (the document models),
:mod:`~otvplan.io.scenario.diagnostics` (validation errors -> problems),
:mod:`~otvplan.io.scenario.build` (document -> model), :mod:`~otvplan.io.scenario.reader`
(``load``, ``loads``, ``load_data``, ``validate_file``, ``json_schema``) and
:mod:`~otvplan.io.scenario.writer` (``dumps``); units are :mod:`otvplan.io.units`'s, the YAML
reader and the problems' text are :mod:`otvplan.io.yamldoc`'s and :mod:`otvplan.io.messages`'s,
shared with the study loader.
"""

from otvplan.errors import Problem, ScenarioError
from otvplan.io.scenario.reader import (
    FILE_KIND,
    json_schema,
    load,
    load_data,
    loads,
    validate_file,
)
from otvplan.io.scenario.schema import (
    EPOCH_RANGE,
    LTAN,
    MAX_APOGEE_RADIUS_KM,
    MAX_PAYLOADS,
    ConstraintsDoc,
    Deadline,
    DisposalDoc,
    DropoffDoc,
    EngineDoc,
    Epoch,
    MultiProblem,
    OrbitDoc,
    PayloadDoc,
    PricingDoc,
    Reserve,
    ScenarioDoc,
    SolverDoc,
    TolerancesDoc,
    TugDoc,
)
from otvplan.io.scenario.writer import dumps
from otvplan.io.units import UNIT_TABLE, QuantityError, format_quantity, parse_quantity
from otvplan.io.yamldoc import EXTENSION_PREFIX, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

__all__ = [
    "EPOCH_RANGE",
    "EXTENSION_PREFIX",
    "FILE_KIND",
    "LTAN",
    "MAX_APOGEE_RADIUS_KM",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_PAYLOADS",
    "UNIT_TABLE",
    "ConstraintsDoc",
    "Deadline",
    "DisposalDoc",
    "DropoffDoc",
    "EngineDoc",
    "Epoch",
    "MultiProblem",
    "OrbitDoc",
    "PayloadDoc",
    "PricingDoc",
    "Problem",
    "QuantityError",
    "Reserve",
    "ScenarioDoc",
    "ScenarioError",
    "SolverDoc",
    "TolerancesDoc",
    "TugDoc",
    "dumps",
    "format_quantity",
    "json_schema",
    "load",
    "load_data",
    "loads",
    "parse_quantity",
    "validate_file",
]
