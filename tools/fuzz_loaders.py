"""Fuzz the scenario and study loaders: every input loads or raises one clear error.

The property checked for every input, whatever it is (random YAML structures, valid scenarios
and studies with keys deleted, renamed or duplicated, values of the wrong type or unit, extreme
numbers, deep nesting, huge lists, unicode and control characters, very long strings, random
bytes):

- it loads (and the loaded scenario holds only finite numbers, dumps and loads back equal), or
- it raises exactly :class:`otvplan.errors.ScenarioError` (scenario loader) or
  :class:`otvplan.errors.StudyError` (study loader), both :class:`otvplan.errors.OtvplanError`,
  whose every problem line reads ``file:line:col: path: message`` (or ``file: message`` where
  no position exists) on one line, naming the file it was given, with a line number inside
  the text;
- no other exception, and no input takes longer than ``--timeout`` seconds (a hang).

The long run (``docs/limits.md`` records its result)::

    python tools/fuzz_loaders.py --n 100000            # prints counts as it goes
    python tools/fuzz_loaders.py --n 2000 --seed 7 --only scenario-mutated

Each batch of inputs is one Hypothesis run with its own seed (``--seed`` + batch number), so a
failure is reproduced with ``--seed S --batch B --only KIND``; failing inputs are also saved
under ``--save`` (default ``out/fuzz``) as files that ``otvplan validate`` can be run on.
``tests/test_fuzz.py`` imports this module and runs the same generators at CI size.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import datetime as _dt
import math
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from otvplan import study as stdy  # noqa: E402
from otvplan.errors import OtvplanError, Problem, ScenarioError, StudyError  # noqa: E402
from otvplan.io import scenario as sc  # noqa: E402
from otvplan.io import yamldoc  # noqa: E402
from otvplan.io.units import NUMBER_UNIT  # noqa: E402
from otvplan.model import Scenario  # noqa: E402
from otvplan.study.reader import DESIGN_KEYS, RANGE_KEYS, TOP_KEYS  # noqa: E402

#: Name every fuzzed scenario text is given (the file part of each problem line).
SCENARIO_NAME = "fuzz/scenario.yaml"
#: Study texts are named as if they sat in studies/, so `base: ../scenarios/x.yaml` resolves.
STUDY_DIR = REPO / "studies"
STUDY_NAME = str(STUDY_DIR / "fuzz_study.yaml")

#: Seconds one input may take before it counts as a hang.
DEFAULT_TIMEOUT_S = 10.0


# ============================================================================================
# Corpus: the valid files the mutations start from
# ============================================================================================


def _plain(text: str, name: str):
    """A YAML text's plain data as the loaders see it (times and LTANs stay text)."""
    return yamldoc.to_data(yamldoc.compose(text, name), name).data


def _corpus(paths) -> list:
    return [_plain(p.read_text(encoding="utf-8"), str(p)) for p in paths]


SCENARIO_FILES = sorted((REPO / "otvplan" / "examples").glob("*.yaml")) + sorted(
    (REPO / "scenarios").glob("*.yaml")
)
STUDY_FILES = sorted(STUDY_DIR.glob("*.yaml"))
SCENARIO_DOCS = _corpus(SCENARIO_FILES)
STUDY_DOCS = _corpus(STUDY_FILES)

#: Every key of the scenario and study formats (so renames and random maps hit real keys).
SCHEMA_KEYS = sorted(
    {
        name
        for model in (
            sc.ScenarioDoc,
            sc.OrbitDoc,
            sc.TugDoc,
            sc.EngineDoc,
            sc.PayloadDoc,
            sc.ConstraintsDoc,
            sc.DisposalDoc,
            sc.SolverDoc,
            sc.TolerancesDoc,
        )
        for name in model.model_fields
    }
    | set(TOP_KEYS)
    | set(DESIGN_KEYS)
    | set(RANGE_KEYS)
    | {"x-notes", "<<"}
)

#: Units: the table's, astropy's, wrong kinds, nonsense.
UNITS = sorted(sc.UNIT_TABLE) + [
    "",
    "KM",
    "Km",
    "kms",
    "m/s",
    "km/s",
    "lbf",
    "lb",
    "ft",
    "nmi",
    "AU",
    "au",
    "pc",
    "lyr",
    "solMass",
    "deg2",
    "sr",
    "Hz",
    "J",
    "dimensionless",
    "furlong",
    "km km",
    "1/s",
    "s-1",
    "u.km",
    "%%",
    "‰",
    "°",
    "µN",
    "μN",
    "㎞",
    "kg m",
    "h h",
    "(",
    "**",
    "km^2",
    "10 km",
]

#: Numbers as written in YAML/quantity text, the extremes included.
NUMBER_TEXTS = [
    "0",
    "-0",
    "-0.0",
    "+0",
    "1",
    "-1",
    "525",
    "97.5",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "-1e309",
    "5e-324",
    "1e-320",
    "2.2250738585072014e-308",
    "nan",
    "NaN",
    "inf",
    "-inf",
    ".nan",
    ".inf",
    "-.inf",
    "1_000",
    "0x1F",
    "0o17",
    "1e",
    "e5",
    ".",
    "-",
    "1.2.3",
    "９",
    "١٢٣",
    "½",
    "1,5",
    "99999999999999999999999999999",
    "0.000000001",
    "360",
    "-360",
    "180.0000000001",
    "1e-15",
    "3.14159265358979",
]

#: Scalars chosen to break things: non-finite, huge, empty, control characters, look-alikes.
NASTY_SCALARS: list = [
    None,
    True,
    False,
    0,
    -0.0,
    1,
    -1,
    2**63,
    -(2**63),
    10**400,
    1e308,
    -1e308,
    5e-324,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "~",
    "null",
    "nan",
    "inf",
    ".nan",
    "NaN km",
    "inf km",
    "-inf deg",
    "nan kg",
    "1e308 km",
    "1e309 km",
    "-1e308 km",
    "-0 km",
    "-0.0 deg",
    "0 kg",
    "1e-320 km",
    "525",
    "525 kg",
    "525 furlong",
    "525 m/s",
    "525 km/s",
    "525 deg",
    "97.5 rad",
    "10:30",
    "25:99",
    "99:99:99",
    "23:59:59.999999",
    "24:00",
    "-1:30",
    "10.5 h",
    "2027-02-30T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01",
    "2027-03-01",
    "2027-03-01T10:00:00+25:00",
    "1e5 yr",
    "3 %",
    "150 %",
    "-3 %",
    "100 %",
    "0x1F km",
    "1_000 km",
    "½ km",
    "５２５ km",
    "525\u00a0km",
    "525 KM",
    "525 km km",
    "km",
    "525 pc",
    "1 AU",
    "1 solMass",
    "1 dimensionless",
    "525 m2",
    "\x07",
    "\u202e",
    "\u2028",
    "a\nb",
    "a\rb",
    "tab\there",
    "\x1b[31mred",
    "💥",
    "z̴̧̛a̶l̷g̸o̵",
    "\ufeff",
    "\ud800",
    "x" * 5000,
    "chemical",
    "electric",
    "none",
    "perigee",
    "reentry",
    "grid",
    "lhs",
    "sobol",
    "propellant",
    "duration",
    "pareto",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "[*]",
    "payloads[*].target.altitude",
    "tug.engines[0].isp",
    "../scenarios/nope.yaml",
    "/dev/zero",
    "/",
    ".",
    "..",
    "<<",
    "&a",
    "*a",
    "!!python/object:os.system",
]

#: Fragments of YAML syntax for token soups.
YAML_TOKENS = [
    "\n",
    "\n  ",
    "\n    ",
    "- ",
    ": ",
    ":",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: *a",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!binary ",
    "!!python/object:os.system ",
    "!!set ",
    "!!omap ",
    "!custom ",
    "? ",
    "|\n  ",
    ">-\n  ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "# c",
    '"',
    "'",
    "\\",
    "\t",
    "\r",
    "\x00",
    "\x85",
    "\u2028",
    "\ufeff",
    "~",
    "null",
    "true",
    "=",
    "@",
    "`",
    "%",
    "name",
    "epoch",
    "dropoff",
    "payloads",
    "tug",
    "engines",
    "target",
    "altitude",
    "sso",
    "ltan",
    "axes",
    "base",
    "design",
    "525 km",
    "10:30",
    "2027-03-01T10:00:00Z",
    "1e308",
    ".nan",
    "-.inf",
    "💥",
]


# ============================================================================================
# Strategies
# ============================================================================================

_keys = st.one_of(
    st.sampled_from(SCHEMA_KEYS),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "Name",
            "NAME",
            "name ",
            " name",
            "nam",
            "naem",
            "names",
            "payload",
            "payloads[0]",
            "x-",
            "x-a",
            "a\nb",
            "\x00",
            "💥",
            "1",
            "~",
            "true",
            "null",
            "<<",
            "? x",
        ]
    ),
)

_quantity_text = st.builds(
    lambda number, gap, unit: f"{number}{gap}{unit}",
    st.one_of(
        st.sampled_from(NUMBER_TEXTS),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers().map(str),
    ),
    st.sampled_from(["", " ", "  ", "\t", "\u00a0", "\n"]),
    st.sampled_from(UNITS),
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(NASTY_SCALARS),
    _quantity_text,
)

#: Random YAML-able values: nested lists and mappings of nasty scalars.
yaml_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=25,
)


def _paths(node, prefix=()):
    """Every path to a value inside nested dicts and lists (the root included)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in list(node.items()):
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _get(doc, path):
    for part in path:
        doc = doc[part]
    return doc


def _near_miss(key: str, draw) -> str:
    """A plausible misspelling of ``key``."""
    if not key:
        return draw(st.text(max_size=5))
    i = draw(st.integers(0, len(key) - 1))
    how = draw(st.sampled_from(["drop", "double", "case", "space", "swap", "plural"]))
    if how == "drop":
        return key[:i] + key[i + 1 :]
    if how == "double":
        return key[:i] + key[i] + key[i:]
    if how == "case":
        return key.upper() if draw(st.booleans()) else key.capitalize()
    if how == "space":
        return key + " " if draw(st.booleans()) else " " + key
    if how == "swap" and len(key) > 1:
        j = min(i + 1, len(key) - 1)
        chars = list(key)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    return key + "s"


def _swap_unit(value, draw):
    """A quantity string with its unit changed, dropped, doubled or its number made extreme."""
    match = NUMBER_UNIT.match(value) if isinstance(value, str) else None
    if match is None:
        return draw(_quantity_text)
    number, unit = match["number"], match["unit"]
    how = draw(st.sampled_from(["unit", "drop", "number", "bare", "both"]))
    if how == "unit":
        return f"{number} {draw(st.sampled_from(UNITS))}"
    if how == "drop":
        return number
    if how == "bare":
        return float(number) if draw(st.booleans()) else int(float(number))
    if how == "number":
        return f"{draw(st.sampled_from(NUMBER_TEXTS))} {unit}"
    return f"{draw(st.sampled_from(NUMBER_TEXTS))} {draw(st.sampled_from(UNITS))}"


def _nest(value, depth: int, as_list: bool):
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


MUTATIONS = (
    "delete",
    "rename",
    "near-miss",
    "replace",
    "nasty",
    "swap-type",
    "unit",
    "nest",
    "duplicate-item",
    "huge-list",
    "unicode",
    "long-string",
    "add-key",
)


@st.composite
def mutated_documents(draw, docs) -> object:
    """A valid document from ``docs`` with 1-4 data-level mutations."""
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(MUTATIONS))
        value = _get(doc, path)
        if not path:
            if action in ("replace", "nasty", "swap-type", "nest"):
                doc = draw(yaml_values) if action == "replace" else [doc]
            continue
        parent = _get(doc, path[:-1])
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action in ("rename", "near-miss") and isinstance(parent, dict):
            new = draw(_keys) if action == "rename" else _near_miss(str(last), draw)
            parent[new] = parent.pop(last)
        elif action == "add-key" and isinstance(parent, dict):
            parent[draw(_keys)] = draw(yaml_values)
        elif action == "replace":
            parent[last] = draw(yaml_values)
        elif action == "nasty":
            parent[last] = draw(st.sampled_from(NASTY_SCALARS))
        elif action == "swap-type":
            parent[last] = draw(
                st.sampled_from(
                    [
                        [value],
                        {"value": value},
                        str(value),
                        None,
                        0,
                        1.5,
                        True,
                        [],
                        {},
                    ]
                )
            )
        elif action == "unit":
            parent[last] = _swap_unit(value, draw)
        elif action == "nest":
            parent[last] = _nest(value, draw(st.integers(1, 60)), draw(st.booleans()))
        elif action == "duplicate-item" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(value))
        elif action == "huge-list":
            size = draw(st.sampled_from([10, 100, 201, 250, 1000, 3000]))
            items = value if isinstance(value, list) and value else [value]
            # the text repeats scalars in full (YAML has no alias for them): shorten the list
            # rather than copy a large item thousands of times
            size = min(size, max(1, MAX_COPIED_WEIGHT // _weight(items)))
            parent[last] = [copy.deepcopy(items[i % len(items)]) for i in range(size)]
        elif action == "unicode" and isinstance(value, str):
            i = draw(st.integers(0, len(value)))
            parent[last] = (
                value[:i]
                + draw(
                    st.sampled_from(
                        [
                            "\x00",
                            "\x07",
                            "\x1b",
                            "\n",
                            "\r\n",
                            "\t",
                            "\u0085",
                            "\u2028",
                            "\u202e",
                            "\ufeff",
                            "\ud800",
                            "\uffff",
                            "💥",
                            "é",
                            "e\u0301",
                            "\u200b",
                            "\x7f",
                        ]
                    )
                )
                + value[i:]
            )
        elif action == "long-string":
            parent[last] = draw(st.sampled_from(["a", "é", "💥", "1", " "])) * draw(
                st.sampled_from([1000, 100_000, 400_000])
            )
    return doc


#: Most characters (plus one per node) a "huge-list" mutation writes out. Copies of copies of
#: a 400,000-character string once made a document of tens of GB (the generator, not the
#: loader, ran out of memory); a list of a large item is made shorter instead.
MAX_COPIED_WEIGHT = 4_000_000


def _weight(obj, cap: int = MAX_COPIED_WEIGHT + 1) -> int:
    """Characters of the strings in ``obj`` plus one per node, counted up to ``cap``."""
    total, stack = 0, [obj]
    while stack and total < cap:
        item = stack.pop()
        total += 1 + (len(item) if isinstance(item, str) else 0)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: ~10x faster


def _dump(doc, draw) -> str:
    """YAML text of ``doc`` in a random style (block or flow, unicode or escaped)."""
    style = dict(
        sort_keys=False,
        default_flow_style=draw(st.sampled_from([False, True, None])),
        allow_unicode=draw(st.booleans()),
        width=draw(st.sampled_from([80, 10**6])),
    )
    try:
        return yaml.dump(doc, Dumper=_DUMPER, **style)
    except (yaml.YAMLError, UnicodeError):  # libyaml cannot emit lone surrogates
        return yaml.dump(doc, Dumper=yaml.SafeDumper, **style)


@st.composite
def text_mutations(draw, text: str) -> str:
    """``text`` with 0-3 line- or character-level edits (duplicate keys, tabs, truncation...)."""
    for _ in range(draw(st.integers(0, 3))):
        lines = text.split("\n")
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        how = draw(
            st.sampled_from(
                [
                    "dup-line",
                    "drop-line",
                    "insert-token",
                    "tab-indent",
                    "truncate",
                    "insert-char",
                    "anchor",
                    "directive",
                    "second-doc",
                    "crlf",
                    "bom",
                ]
            )
        )
        if how == "dup-line":  # a duplicated `key: value` line is a duplicate key
            lines.insert(i, lines[i])
        elif how == "drop-line":
            del lines[i]
        elif how == "insert-token":
            lines.insert(i, "".join(draw(st.lists(st.sampled_from(YAML_TOKENS), max_size=6))))
        elif how == "tab-indent":
            lines[i] = re.sub(r"^ +", "\t", lines[i])
        elif how == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
            continue
        elif how == "insert-char":
            at = draw(st.integers(0, len(text)))
            text = (
                text[:at]
                + draw(
                    st.sampled_from(
                        [
                            "\x00",
                            "\x01",
                            "\x08",
                            "\x1f",
                            "\x7f",
                            "\x85",
                            "\ufffe",
                            "\ud800",
                            "\t",
                            "\r",
                            "💥",
                            "'",
                            '"',
                            "{",
                            "[",
                            ":",
                            "&",
                            "*",
                            "!",
                            "|",
                            ">",
                            "%",
                            "@",
                        ]
                    )
                )
                + text[at:]
            )
            continue
        elif how == "anchor":
            lines[i] = re.sub(r": (.+)$", r": &a \1", lines[i], count=1)
            lines.append(
                draw(
                    st.sampled_from(
                        ["x-ref: *a", "x-ref: [*a, *a]", "k: *a", "<<: *a", "x-self: &s [*s]"]
                    )
                )
            )
        elif how == "directive":
            lines.insert(
                0,
                draw(
                    st.sampled_from(
                        ["%YAML 1.2", "%YAML 1.1\n---", "---", "%TAG !e! tag:e.com,2000:\n---"]
                    )
                ),
            )
        elif how == "second-doc":
            lines += ["---", "name: again"]
        elif how == "crlf":
            return "\r\n".join(lines)
        elif how == "bom":
            lines[0] = "\ufeff" + lines[0]
        text = "\n".join(lines)
    return text


@dataclasses.dataclass(frozen=True)
class FuzzInput:
    """One input: which generator made it, the text or bytes, and how it is read."""

    kind: str
    payload: str | bytes
    via: str = "loads"  # "loads": the *loads(text) API; "file": written to a file, then load()

    def __repr__(self) -> str:
        shown = self.payload if len(self.payload) < 600 else self.payload[:600]
        return f"FuzzInput({self.kind!r}, via={self.via!r}, payload={shown!r})"


def _encode(text: str, draw) -> bytes:
    how = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "flip", "nul"]))
    data = text.encode("utf-8", "surrogatepass")
    if how == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    if how in ("utf-16", "latin-1"):
        return text.encode(how, "replace")
    if how == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    if how == "nul":
        i = draw(st.integers(0, len(data)))
        return data[:i] + b"\x00" + data[i:]
    return data


@st.composite
def scenario_inputs(draw, kind: str | None = None) -> FuzzInput:
    """An input for the scenario loader, from one of :data:`SCENARIO_KINDS`."""
    kind = kind or draw(st.sampled_from(SCENARIO_KINDS))
    if kind == "scenario-structure":
        text = _dump(draw(yaml_values), draw)
    elif kind == "scenario-schema-structure":  # random values under the real top-level keys
        doc = draw(st.dictionaries(st.sampled_from(SCHEMA_KEYS), yaml_values, max_size=8))
        text = _dump(doc, draw)
    elif kind == "scenario-mutated":
        text = draw(text_mutations(_dump(draw(mutated_documents(SCENARIO_DOCS)), draw)))
    elif kind == "scenario-token-soup":
        text = "".join(
            draw(st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=4), max_size=40))
        )
    elif kind == "scenario-text":
        text = draw(st.text(max_size=300))
    else:  # scenario-bytes
        if draw(st.booleans()):
            data = draw(st.binary(max_size=400))
        else:
            data = _encode(
                draw(text_mutations(_dump(draw(mutated_documents(SCENARIO_DOCS)), draw))), draw
            )
        return FuzzInput(kind, data, draw(st.sampled_from(["loads", "file"])))
    return FuzzInput(kind, text, "file" if draw(st.integers(0, 9)) == 0 else "loads")


@st.composite
def _axis_path(draw) -> str:
    parts = draw(
        st.lists(
            st.sampled_from(
                [
                    "payloads",
                    "[*]",
                    "[0]",
                    "[1]",
                    "[99]",
                    "[-1]",
                    "[sat-1]",
                    "[]",
                    ".",
                    "target",
                    "altitude",
                    "tug",
                    "engines",
                    "isp",
                    "thrust",
                    "dropoff",
                    "inclination",
                    "ltan",
                    "solver",
                    "drift_grid",
                    "constraints",
                    "max_duration",
                    "name",
                    "[",
                    "]",
                    "..",
                    " ",
                    "x",
                    "💥",
                    "\n",
                    "epoch",
                ]
            ),
            min_size=1,
            max_size=7,
        )
    )
    return "".join(parts)


_axis_spec = st.one_of(
    st.lists(_scalars, max_size=6),
    st.fixed_dictionaries(
        {},
        optional={
            "from": _scalars,
            "to": _scalars,
            "steps": st.one_of(st.integers(-5, 10**12), st.sampled_from([0, 1, 2, 1.5, "7", None])),
            "scale": st.sampled_from(["linear", "log", "lin", None, 3]),
        },
    ),
    _scalars,
)


@st.composite
def study_inputs(draw, kind: str | None = None) -> FuzzInput:
    """An input for the study loader, from one of :data:`STUDY_KINDS`."""
    kind = kind or draw(st.sampled_from(STUDY_KINDS))
    if kind == "study-structure":
        text = _dump(draw(yaml_values), draw)
    elif kind == "study-mutated":
        text = draw(text_mutations(_dump(draw(mutated_documents(STUDY_DOCS)), draw)))
    elif kind == "study-axes":  # a valid study with random axes and designs
        doc = copy.deepcopy(draw(st.sampled_from(STUDY_DOCS)))
        doc["axes"] = draw(st.dictionaries(_axis_path(), _axis_spec, min_size=0, max_size=4))
        if draw(st.booleans()):
            doc["design"] = draw(
                st.one_of(
                    st.sampled_from(["grid", "lhs", "sobol", "Grid", "", None, 3]),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "type": st.sampled_from(["grid", "lhs", "sobol", "x"]),
                            "size": st.one_of(
                                st.integers(-2, 2**70), st.sampled_from([0, 1, 256, 1.5])
                            ),
                            "seed": st.one_of(
                                st.integers(-5, 2**70), st.none(), st.text(max_size=3)
                            ),
                        },
                    ),
                )
            )
        text = _dump(doc, draw)
    elif kind == "study-token-soup":
        text = "".join(
            draw(st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=4), max_size=40))
        )
    else:  # study-bytes: the file API reads bytes
        if draw(st.booleans()):
            data = draw(st.binary(max_size=400))
        else:
            data = _encode(
                draw(text_mutations(_dump(draw(mutated_documents(STUDY_DOCS)), draw))), draw
            )
        return FuzzInput(kind, data, "file")
    return FuzzInput(kind, text, "file" if draw(st.integers(0, 9)) == 0 else "loads")


SCENARIO_KINDS = (
    "scenario-structure",
    "scenario-schema-structure",
    "scenario-mutated",
    "scenario-token-soup",
    "scenario-text",
    "scenario-bytes",
)
STUDY_KINDS = ("study-structure", "study-mutated", "study-axes", "study-token-soup", "study-bytes")
KINDS = SCENARIO_KINDS + STUDY_KINDS

#: How often each kind is drawn in the long run (mutations find the most).
KIND_WEIGHTS = {
    "scenario-structure": 1,
    "scenario-schema-structure": 1,
    "scenario-mutated": 5,
    "scenario-token-soup": 1,
    "scenario-text": 1,
    "scenario-bytes": 1,
    "study-structure": 1,
    "study-mutated": 3,
    "study-axes": 2,
    "study-token-soup": 1,
    "study-bytes": 1,
}


# ============================================================================================
# The property
# ============================================================================================


class Hang(BaseException):
    """An input took longer than the time limit (BaseException: no `except Exception` eats it)."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`Hang` in the main thread after ``seconds`` (SIGALRM; no-op elsewhere)."""
    usable = seconds and hasattr(signal, "setitimer") and threading_is_main()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class PropertyFailure(AssertionError):
    """The input broke the property: wrong exception, malformed message, or a bad model."""


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LINE = re.compile(r"^  (?P<where>.*?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: (?P<rest>.+)$")


def check_problems(exc: OtvplanError, expected: type, filename: str, text: str | None) -> None:
    """Assert the shape of an error: its type, each problem, each line of its message."""
    expected_type = expected
    if type(exc) is not expected_type:
        raise PropertyFailure(
            f"raised {type(exc).__name__}, expected {expected_type.__name__}: {exc}"
        )
    problems = exc.problems
    if not problems or not all(isinstance(p, Problem) for p in problems):
        raise PropertyFailure(f"no problems listed: {exc!r}")
    # lines as YAML 1.1 (PyYAML) counts them: \r\n, \r, \n, NEL, LS and PS each end one
    n_lines = len(_LINE_BREAK.findall(text)) + 2 if text is not None else None
    for p in problems:
        if not isinstance(p.message, str) or not p.message.strip():
            raise PropertyFailure(f"empty message: {p!r}")
        for part, value in (("message", p.message), ("path", p.path), ("file", p.file)):
            if _CONTROL.search(value):
                raise PropertyFailure(f"control character in the {part}: {p!r}")
        if p.line is None and p.column is not None:
            raise PropertyFailure(f"a column without a line: {p!r}")
        if p.line is not None and (p.line < 1 or (n_lines is not None and p.line > n_lines)):
            raise PropertyFailure(f"line {p.line} outside the text ({n_lines} lines): {p!r}")
        if p.column is not None and p.column < 1:
            raise PropertyFailure(f"column {p.column} < 1: {p!r}")
    lines = str(exc).split("\n")
    head = lines[0]
    if not re.match(r"^\d+ problems? in \w+", head):
        raise PropertyFailure(f"unexpected first line {head!r}")
    if len(lines) - 1 != len(problems):
        raise PropertyFailure(
            f"{len(problems)} problems but {len(lines) - 1} message lines "
            f"(a message spans lines): {str(exc)!r}"
        )
    for p, line in zip(problems, lines[1:]):
        m = _LINE.match(line)
        if m is None or line != f"  {p}" or not m["where"].startswith(p.file):
            raise PropertyFailure(f"line not shaped file:line:col: path: message: {line!r}")
        # a study's problems may name its base scenario file; anything else names the input
        if p.file != filename and not (expected is StudyError and os.path.isfile(p.file)):
            raise PropertyFailure(f"problem names file {p.file!r}, not {filename!r}")
        if p.path and not m["rest"].startswith(p.path + ": "):
            raise PropertyFailure(f"path missing from {line!r}")


def _non_finite(obj, path: str = "") -> list[str]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [
            x
            for f in dataclasses.fields(obj)
            for x in _non_finite(getattr(obj, f.name), f"{path}.{f.name}")
        ]
    if isinstance(obj, (list, tuple)):
        return [x for i, v in enumerate(obj) for x in _non_finite(v, f"{path}[{i}]")]
    if isinstance(obj, float) and not math.isfinite(obj):
        if path.endswith(".thrust_n") and obj == math.inf:
            return []  # a chemical engine given without thrust: impulsive, by definition
        return [f"{path} = {obj}"]
    return []


def check_scenario_model(s: Scenario) -> None:
    """A loaded scenario: finite numbers, within the limits, dumps and loads back equal."""
    bad = _non_finite(s)
    if bad:
        raise PropertyFailure(f"non-finite values in the loaded scenario: {bad[:5]}")
    if len(s.payloads) > getattr(sc, "MAX_PAYLOADS", math.inf):
        raise PropertyFailure(f"{len(s.payloads)} payloads loaded, above MAX_PAYLOADS")
    again = sc.loads(sc.dumps(s))
    if again != dataclasses.replace(s, source=None):
        raise PropertyFailure("dumps() does not load back to an equal scenario")


def _write(path: Path, payload: str | bytes) -> None:
    data = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
    path.write_bytes(data)


def _text_of(payload: str | bytes) -> str | None:
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def run_input(inp: FuzzInput, workdir: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> str:
    """Run one input through its loader and check the property.

    Returns ``"loaded"`` or ``"rejected"``; raises :class:`PropertyFailure` (or whatever the
    loader raised, or :class:`Hang`) when the property does not hold.
    """
    is_study = inp.kind.startswith("study")
    expected = StudyError if is_study else ScenarioError
    if inp.via == "file":
        path = workdir / ("studies/study.yaml" if is_study else "scenario.yaml")
        if is_study and not path.parent.is_dir():  # `base: ../scenarios/x.yaml` resolves here
            path.parent.mkdir()
            (workdir / "scenarios").symlink_to(REPO / "scenarios")
        _write(path, inp.payload)
        filename = str(path)
    else:
        path = None
        filename = STUDY_NAME if is_study else SCENARIO_NAME
    # Only the loader runs under the time limit; checking its answer (which decodes and counts
    # the lines of inputs of up to ~100 MB) is the harness's work, not the loader's.
    error = None
    try:
        with time_limit(timeout):
            try:
                if is_study:
                    result = (
                        stdy.load(path)
                        if path is not None
                        else stdy.loads(inp.payload, filename=filename)
                    )
                else:
                    result = (
                        sc.load(path)
                        if path is not None
                        else sc.loads(inp.payload, filename=filename)
                    )
            except OtvplanError as exc:
                error = exc
    except Hang as exc:
        raise PropertyFailure(f"hang: {exc}") from None
    if error is not None:
        check_problems(error, expected, filename, _text_of(inp.payload))
        return "rejected"
    if is_study:
        check_study_model(result)
    else:
        check_scenario_model(result)
    return "loaded"


def check_study_model(study) -> None:
    if not study.axes:
        raise PropertyFailure("a study loaded without axes")
    if study.design.kind == "grid":
        count = 1
        for axis in study.axes:
            count *= axis.steps if axis.is_range else len(axis.values)
    else:
        count = study.design.size
    if count > stdy.MAX_CASES:
        raise PropertyFailure(f"{count} cases loaded, above MAX_CASES")
    bad = [
        a.path
        for a in study.axes
        if a.is_range and not (math.isfinite(a.start) and math.isfinite(a.stop))
    ]
    if bad:
        raise PropertyFailure(f"non-finite range ends on axes {bad}")


# ============================================================================================
# Known bugs (in modules this tool does not own): counted apart, pinned by xfail tests
# ============================================================================================

#: Failures already reported, by name: the cause. ``tests/test_fuzz.py`` pins each with a
#: strict xfail test, so the entry must go once the bug is fixed (the xfail then passes).
#: Failures of the loaders already understood and awaiting a fix, by name: what breaks and
#: where. :func:`known_bug` classifies a failure against them; empty when there are none.
KNOWN_BUGS: dict[str, str] = {}


def known_bug(inp: FuzzInput, exc: BaseException) -> str | None:
    """The :data:`KNOWN_BUGS` name of a failure, or None for a new one (none are known)."""
    del inp, exc
    return None


def check(inp: FuzzInput, workdir: Path, timeout: float | None = DEFAULT_TIMEOUT_S) -> str:
    """:func:`run_input`, with a known bug returned as ``"known:<name>"`` instead of raised."""
    try:
        return run_input(inp, workdir, timeout)
    except Exception as exc:  # classified, re-raised when new
        name = known_bug(inp, exc)
        if name is None:
            raise
        return f"known:{name}"


# ============================================================================================
# The long run
# ============================================================================================


@dataclasses.dataclass
class Tally:
    tried: Counter = dataclasses.field(default_factory=Counter)
    outcomes: Counter = dataclasses.field(default_factory=Counter)
    failures: Counter = dataclasses.field(default_factory=Counter)
    examples: dict = dataclasses.field(default_factory=dict)
    known: Counter = dataclasses.field(default_factory=Counter)
    slowest: tuple = (0.0, None)


def _weighted_kinds(only: list[str] | None) -> list[str]:
    kinds = only or list(KINDS)
    return [k for k in kinds for _ in range(KIND_WEIGHTS.get(k, 1))]


def run_batch(
    batch_seed: int,
    size: int,
    kinds: list[str],
    tally: Tally,
    workdir: Path,
    timeout: float,
    save: Path | None,
) -> None:
    """One Hypothesis run of ``size`` inputs; failures are counted and saved, never raised."""
    strategy = st.sampled_from(kinds).flatmap(
        lambda k: scenario_inputs(k) if k.startswith("scenario") else study_inputs(k)
    )

    @seed(batch_seed)
    @settings(
        max_examples=size,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(strategy)
    def one(inp: FuzzInput) -> None:
        tally.tried[inp.kind] += 1
        t0 = time.perf_counter()
        try:
            outcome = check(inp, workdir, timeout)
        except (Exception, Hang) as exc:  # noqa: BLE001 - recorded, the run goes on
            first_line = str(exc).splitlines()[0][:160] if str(exc) else ""
            label = f"{inp.kind}: {type(exc).__name__}: {first_line}"
            tally.failures[label] += 1
            tally.outcomes[(inp.kind, "FAILED")] += 1
            if label not in tally.examples:
                tally.examples[label] = (inp, traceback.format_exc(limit=-6))
                if save is not None:
                    _save_failure(save, len(tally.examples), inp, traceback.format_exc())
            return
        elapsed = time.perf_counter() - t0
        if elapsed > tally.slowest[0]:
            tally.slowest = (elapsed, inp)
        if outcome.startswith("known:"):
            tally.known[outcome[6:]] += 1
            outcome = "known bug"
        tally.outcomes[(inp.kind, outcome)] += 1

    one()


def _save_failure(save: Path, number: int, inp: FuzzInput, trace: str) -> None:
    save.mkdir(parents=True, exist_ok=True)
    data = (
        inp.payload
        if isinstance(inp.payload, bytes)
        else inp.payload.encode("utf-8", "surrogatepass")
    )
    (save / f"failure-{number:03d}-{inp.kind}.yaml").write_bytes(data)
    (save / f"failure-{number:03d}-{inp.kind}.txt").write_text(
        f"{inp.kind} via {inp.via}\n\n{trace}", encoding="utf-8"
    )


def _report(tally: Tally, started: float, final: bool) -> None:
    total = sum(tally.tried.values())
    failed = sum(tally.failures.values())
    elapsed = time.perf_counter() - started
    known = sum(tally.known.values())
    print(
        f"{'done' if final else 'progress'}: {total:,} inputs in {elapsed:,.0f} s "
        f"({total / max(elapsed, 1e-9):.1f}/s), {failed:,} failures, {known:,} known bugs",
        flush=True,
    )
    if not final:
        return
    print(f"{'kind':<28}{'tried':>9}{'loaded':>9}{'rejected':>10}{'known bug':>11}{'FAILED':>8}")
    for kind in KINDS:
        if tally.tried[kind]:
            print(
                f"{kind:<28}{tally.tried[kind]:>9,}{tally.outcomes[(kind, 'loaded')]:>9,}"
                f"{tally.outcomes[(kind, 'rejected')]:>10,}"
                f"{tally.outcomes[(kind, 'known bug')]:>11,}"
                f"{tally.outcomes[(kind, 'FAILED')]:>8,}"
            )
    for name, count in tally.known.most_common():
        print(f"known bug {name}: {count:,} inputs ({KNOWN_BUGS[name]})")
    slow_time, slow_input = tally.slowest
    print(
        f"slowest input: {slow_time:.2f} s"
        + (f" ({slow_input.kind}, {len(slow_input.payload):,} characters)" if slow_input else "")
    )
    for label, count in tally.failures.most_common():
        inp, trace = tally.examples[label]
        print(f"\nFAILURE x{count}: {label}\n  input: {inp!r}"[:3000])
        print("  " + trace.replace("\n", "\n  "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="inputs to try (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first batch")
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="run only this batch number (to reproduce a failure)",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="inputs per batch")
    parser.add_argument(
        "--only",
        action="append",
        choices=KINDS,
        help="generator kinds to run (repeatable; default all)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds one input may take before it counts as a hang",
    )
    parser.add_argument(
        "--save",
        type=Path,
        default=REPO / "out" / "fuzz",
        help="directory for failing inputs (default out/fuzz)",
    )
    args = parser.parse_args(argv)
    kinds = _weighted_kinds(args.only)
    tally = Tally()
    started = time.perf_counter()
    batches = math.ceil(args.n / args.batch_size)
    numbers = [args.batch] if args.batch is not None else range(batches)
    print(
        f"fuzzing the scenario and study loaders: {args.n:,} inputs in {len(numbers)} "
        f"batches, seed {args.seed}, kinds {sorted(set(kinds))}, timeout {args.timeout} s, "
        f"started {_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="otvplan-fuzz-") as work:
        for b in numbers:
            size = (
                min(args.batch_size, args.n - b * args.batch_size)
                if args.batch is None
                else args.batch_size
            )
            run_batch(args.seed + b, size, kinds, tally, Path(work), args.timeout, args.save)
            _report(tally, started, final=False)
    _report(tally, started, final=True)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
