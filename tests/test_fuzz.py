"""Fuzzing the scenario and study loaders at CI size: every input loads or raises one clear error.

The generators and the property live in ``tools/fuzz_loaders.py``, which also runs the long
fuzz (``python tools/fuzz_loaders.py --n 100000``; its recorded result is in docs/limits.md).
The property, for every input: it loads, or it raises exactly ``ScenarioError`` (scenario
loader) / ``StudyError`` (study loader) whose every problem is one ``file:line:col: path:
message`` line (``file: message`` where no position exists); never another exception, never a
hang.

Timing: Hypothesis' own deadline is off (on a loaded machine a garbage collection or a slow
neighbour would make it flaky); instead each input runs under a SIGALRM limit of
``fuzz_loaders.DEFAULT_TIMEOUT_S`` (10 s, against about 25 ms for a typical input), which turns
a real hang into a failure Hypothesis shrinks. The whole module takes about 30 s.

Inputs the fuzz once broke (a metric written as a list, control characters in keys and axis
paths, a base path too long for the file system) are pinned as tests of their own below.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otvplan import study as stdy
from otvplan.cli import main
from otvplan.errors import OtvplanError, ScenarioError, StudyError
from otvplan.io import scenario as sc
from otvplan.io import yamldoc
from paths import REPO


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "fuzz_loaders", REPO / "tools" / "fuzz_loaders.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_loaders"] = module
    spec.loader.exec_module(module)
    return module


fz = _load_tool()

FUZZ = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ============================================================================================
# The property, on every generator
# ============================================================================================

#: Inputs per generator kind in CI (the long run tries >= 100,000 in all).
CI_EXAMPLES = {"scenario-mutated": 150, "study-mutated": 80, "study-axes": 60}


@pytest.mark.parametrize("kind", fz.SCENARIO_KINDS)
def test_scenario_loader_loads_or_raises_one_clear_error(kind, workdir):
    @settings(FUZZ, max_examples=CI_EXAMPLES.get(kind, 50))
    @given(fz.scenario_inputs(kind))
    def run(inp):
        assert fz.check(inp, workdir) in ("loaded", "rejected")

    run()


@pytest.mark.parametrize("kind", fz.STUDY_KINDS)
def test_study_loader_loads_or_raises_one_clear_error(kind, workdir):
    @settings(FUZZ, max_examples=CI_EXAMPLES.get(kind, 40))
    @given(fz.study_inputs(kind))
    def run(inp):
        outcome = fz.check(inp, workdir)
        assert outcome in ("loaded", "rejected")

    run()


def test_the_generators_reach_both_outcomes(workdir):
    """The mutations are mild enough that some inputs still load (else the fuzz would only
    ever test the first check that fails)."""
    outcomes = {"scenario": set(), "study": set()}

    @settings(FUZZ, max_examples=60)
    @given(st.one_of(fz.scenario_inputs("scenario-mutated"), fz.study_inputs("study-mutated")))
    def run(inp):
        outcomes[inp.kind.split("-")[0]].add(fz.check(inp, workdir))

    run()
    assert outcomes["scenario"] >= {"loaded", "rejected"}
    assert "rejected" in outcomes["study"]


# ============================================================================================
# Inputs found by the fuzz, pinned (scenario loader: fixed)
# ============================================================================================


def _minimal() -> str:
    return (REPO / "otvplan" / "examples" / "minimal.yaml").read_text(encoding="utf-8")


def _problems(text: str) -> list:
    with pytest.raises(ScenarioError) as info:
        sc.loads(text, filename="f.yaml")
    fz.check_problems(info.value, ScenarioError, "f.yaml", text)
    return list(info.value.problems)


@pytest.mark.parametrize(
    "text, path, message",
    [
        # a newline or an escape sequence in a key or a value stays on its problem's line, escaped
        ('"a\\nb": 1\n', "a\\nb", 'unknown key "a\\nb"; allowed here: name'),
        ('"\\e[31mred": 1\n', "\\x1b[31mred", 'unknown key "\\x1b[31mred"'),
        (
            'tug: {engines: [{type: "electric\\t"}]}\n',
            "tug.engines[0].type",
            'expected one of chemical, electric; got "electric\\t"',
        ),
        ('dropoff: {altitude: "525 k\\u2028m"}\n', "dropoff.altitude", '"525 k\\u2028m"'),
        # a lone surrogate (only a YAML escape makes one) is a problem, not a UnicodeEncodeError
        ('dropoff: {ltan: "1\\ud8003:30"}\n', "dropoff.ltan", "lone surrogate escape"),
        ('"k\\udfff": 1\n', "k\\udfff", "lone surrogate escape"),
    ],
)
def test_control_characters_are_escaped_in_problems(text, path, message):
    found = [p for p in _problems(text) if p.path == path]
    assert found and message in found[0].message, _problems(text)


@pytest.mark.parametrize("name", ["sat\n1", "sat\x1b[2J", "sat\u202e1", "sat\t1", "\x00"])
def test_names_must_be_printable(name):
    text = _minimal().replace("name: sat-1", f'name: "{name.encode("unicode_escape").decode()}"')
    found = [p for p in _problems(text) if p.path == "payloads[0].name"]
    assert found and "contains the control character" in found[0].message


def test_descriptions_keep_line_breaks_but_no_other_control_characters():
    ok = sc.loads(_minimal().replace("epoch:", 'description: "two\\n\\tlines"\nepoch:', 1))
    assert ok.description == "two\n\tlines"
    text = _minimal().replace("epoch:", 'description: "bell\\a"\nepoch:', 1)
    assert [p.path for p in _problems(text)] == ["description"]


def test_dumps_header_cannot_inject_yaml():
    """A Scenario built in code may carry any name; dumps() keeps its header comment one line."""
    s = sc.loads(_minimal())
    odd = dataclasses.replace(s, name="x\nsolver: {objective: duration}")
    text = sc.dumps(odd)
    assert text.splitlines()[0] == "# otvplan scenario: x\\nsolver: {objective: duration}"
    assert "solver" not in yaml.safe_load(text)


@pytest.mark.parametrize(
    "value, message",
    [
        ("1e308 km", "outside Earth's sphere of influence"),
        ("1e309 km", "is not a finite number"),
        ("-1e308 km", "below the 100 km minimum"),
        ("-0 km", "below the 100 km minimum"),
        ("nan km", 'got "nan km"'),
        (".inf", "got the bare number inf"),
        ("5e-324 km", "below the 100 km minimum"),
    ],
)
def test_extreme_numbers_are_problems(value, message):
    text = _minimal().replace("altitude: 525 km", f"altitude: {value}")
    found = [p for p in _problems(text) if p.path == "dropoff.altitude"]
    assert found and message in found[0].message, _problems(text)


def test_payloads_that_are_not_a_list_without_an_epoch():
    """Found by the long fuzz (seed 1): with no epoch, the LTAN check walked `payloads` as a
    list whatever it was (TypeError: 'float' object is not iterable)."""
    found = _problems("payloads: -3.7e+16\ndropoff: {ltan: '10:30'}\n")
    assert [p for p in found if p.path == "payloads"], found
    assert [
        p for p in found if p.path == "dropoff.ltan" and "needs the scenario epoch" in p.message
    ], found


def test_an_alias_to_a_long_scalar_is_scanned_once(monkeypatch):
    """Found by the long fuzz (seed 1): a 400 kB scalar used through an alias in thousands of
    places was scanned for surrogates at every use (20 s for one file). Counted, not timed."""
    scanned = []
    real = yamldoc._SURROGATE

    class Counting:
        def search(self, text):
            scanned.append(len(text))
            return real.search(text)

    monkeypatch.setattr(yamldoc, "_SURROGATE", Counting())
    text = "x-big: &big " + "y" * 100_000 + "\nx-uses: [" + ", ".join(["*big"] * 500) + "]\n"
    _problems(text)
    assert sum(n for n in scanned if n >= 100_000) == 100_000, len(scanned)


def test_a_bare_whole_number_beyond_the_float_range_is_a_problem():
    """Found by the CI fuzz (scenario-bytes): a 400-digit `cd` raised OverflowError from
    float(); now a problem at its line."""
    text = _minimal().replace(
        "constraints:\n",
        "constraints:\n  disposal: {type: reentry, within: 5 yr, cd: 1" + "0" * 400 + "}\n",
        1,
    )
    found = _problems(text)
    assert [p.path for p in found] == ["constraints.disposal.cd"], found
    assert "too large" in found[0].message


def test_huge_and_deep_inputs_are_refused_quickly():
    flat = "payloads: [" + "0, " * (sc.MAX_NODES + 10) + "]\n"
    assert "expands to more than 100,000 YAML nodes" in _problems(flat)[0].message
    deep = "a: " + "[" * 60 + "]" * 60 + "\n"
    assert "nests too deeply" in _problems(deep)[0].message
    long = "name: " + "x" * (sc.MAX_FILE_BYTES + 1)
    assert "larger than 1,000,000" in _problems(long)[0].message


# ============================================================================================
# Study loader: bugs found by the fuzz (otvplan/study, reported to its owners)
# ============================================================================================

STUDY_HEAD = textwrap.dedent("""\
    name: s
    base: ../scenarios/sso_rideshare.yaml
    axes:
      tug.engines[0].isp: [220 s, 300 s]
    """)


def _study_error(text: str, workdir: Path) -> StudyError:
    with pytest.raises(OtvplanError) as info:
        stdy.loads(text, filename=fz.STUDY_NAME)
    fz.check_problems(info.value, StudyError, fz.STUDY_NAME, text)
    return info.value


def test_study_metric_written_as_a_list_is_a_problem(workdir):
    error = _study_error(STUDY_HEAD + "metrics: [total_dv, [duration]]\n", workdir)
    assert error.problems[0].path == "metrics[1]"


def test_study_unknown_key_with_a_newline_stays_on_one_line(workdir):
    _study_error(STUDY_HEAD + '"a\\nb": 1\n', workdir)


def test_study_axis_path_with_a_newline_stays_on_one_line(workdir):
    _study_error(STUDY_HEAD + '  "payloads[*]\\n.target.altitude": [500 km]\n', workdir)


def test_study_base_path_too_long_is_a_problem(workdir):
    text = STUDY_HEAD.replace("../scenarios/sso_rideshare.yaml", "a" * 300)
    error = _study_error(text, workdir)
    assert error.problems[0].path == "base"


# ============================================================================================
# The command line prints one line per problem, whatever the loader said
# ============================================================================================


def test_cli_prints_each_problem_on_one_line(tmp_path, capsys):
    study = tmp_path / "s.yaml"
    study.write_text(
        STUDY_HEAD.replace(
            "../scenarios/sso_rideshare.yaml", str(REPO / "scenarios" / "sso_rideshare.yaml")
        )
        + '"a\\nb\\e[2J": 1\n',
        encoding="utf-8",
    )
    assert main(["sweep", str(study), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f'{study}:5:1: a\\nb\\x1b[2J: unknown key "a\\nb\\x1b[2J"; allowed here: '
        "name, description, base, axes, design, objective, metrics"
    ]


def test_cli_validate_escapes_control_characters(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(_minimal().replace('ltan: "10:30"', 'ltan: "10:\\e30"', 1), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "\\x1b" in out[0] and "\x1b" not in out[0]


def test_fuzz_tool_runs_and_counts(tmp_path, capsys):
    """The long-run command itself (a few inputs): it prints its counts and exits 0."""
    assert fz.main(["--n", "30", "--batch-size", "15", "--save", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "done: 30 inputs" in out and "0 failures" in out
