"""The documented limits (docs/limits.md) are enforced with a clear message at the place.

Each limit is hit by a file just over it and passed by one at it, through the same entry
points an engineer uses (``otvplan validate``'s loader, the study loader).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import otvplan
from otvplan import study as st
from otvplan.errors import ScenarioError, StudyError
from otvplan.io import scenario as sc

#: The packaged starter scenario up to its payload list (the list is generated per test).
_MINIMAL = (Path(otvplan.__file__).parent / "examples" / "minimal.yaml").read_text(encoding="utf-8")
HEAD = _MINIMAL[: _MINIMAL.index("\npayloads:") + len("\npayloads:\n")]
PAYLOADS_LINE = HEAD.count("\n")  # 1-based line of `payloads:`


def _manifest(n: int) -> str:
    item = "  - {{name: p{}, mass: 1 kg, target: {{altitude: 530 km, sso: true}}}}\n"
    return HEAD + "".join(item.format(i) for i in range(n))


def test_payload_count_limit():
    ok = sc.loads(_manifest(sc.MAX_PAYLOADS), filename="many.yaml")
    assert len(ok.payloads) == sc.MAX_PAYLOADS
    with pytest.raises(ScenarioError) as info:
        sc.loads(_manifest(sc.MAX_PAYLOADS + 1), filename="many.yaml")
    (problem,) = info.value.problems
    assert str(problem) == (
        f"many.yaml:{PAYLOADS_LINE}:1: payloads: {sc.MAX_PAYLOADS + 1} payloads; a scenario "
        f"takes at most {sc.MAX_PAYLOADS} (scenario.MAX_PAYLOADS): split the manifest into "
        "several scenarios"
    )


def test_scenario_file_size_limit(tmp_path):
    text = _manifest(1)
    big = tmp_path / "big.yaml"
    big.write_text(text + "#" * (sc.MAX_FILE_BYTES - len(text) + 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        sc.load(big)
    assert str(info.value.problems[0]).endswith(
        "file is larger than 1,000,000 bytes; a scenario file is a few kB of YAML text"
    )


def test_nesting_depth_limit():
    deep = HEAD.replace(
        "\npayloads:\n",
        "\n"
        + "x-deep: "
        + "[" * (sc.MAX_DEPTH + 5)
        + "]" * (sc.MAX_DEPTH + 5)
        + "\npayloads: []\n",
    )
    with pytest.raises(ScenarioError) as info:
        sc.loads(deep, filename="deep.yaml")
    assert any(
        f"nests too deeply (more than {sc.MAX_DEPTH}" in p.message for p in info.value.problems
    )


def test_study_grid_size_limit(tmp_path):
    (tmp_path / "many.yaml").write_text(_manifest(2), encoding="utf-8")
    steps = 1001  # 1001 x 1001 = 1,002,001 cases > MAX_CASES
    path = tmp_path / "study.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        base: many.yaml
        axes:
          tug.dry_mass: {{from: 100 kg, to: 200 kg, steps: {steps}}}
          tug.propellant: {{from: 50 kg, to: 90 kg, steps: {steps}}}
        """),
        encoding="utf-8",
    )
    with pytest.raises(StudyError) as info:
        st.load(path)
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 1 and messages[0].endswith(
        f"axes: the grid has {steps * steps:,} cases ({steps} x {steps}), more than the limit "
        f"of {st.MAX_CASES:,}; use fewer values or an lhs design"
    ), messages
