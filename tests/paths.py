"""Where the repository's files are, for the tests: one definition instead of a path
computation at the top of every test module.

Test modules import it as ``from paths import REPO, SCENARIOS``: tests/ has no __init__.py, so
pytest's default import mode ("prepend") puts tests/ on ``sys.path`` before it imports a test
module, in the main process and in every xdist worker alike (tests/orekit_referee.py is
imported the same way). tests/conftest.py turns the same names into fixtures.
"""

from __future__ import annotations

from pathlib import Path

#: The repository root (the directory holding pyproject.toml).
REPO = Path(__file__).resolve().parent.parent
#: The mission scenarios (scenarios/*.yaml, links to the packaged examples of the same name).
SCENARIOS_DIR = REPO / "scenarios"
ALL_SCENARIOS = sorted(SCENARIOS_DIR.glob("*.yaml"))


def _is_fleet(path: Path) -> bool:
    return any(line.startswith("tugs:") for line in path.read_text(encoding="utf-8").splitlines())


#: The single-tug missions (each planned, flown and replayed by the tests as one plan).
SCENARIOS = [p for p in ALL_SCENARIOS if not _is_fleet(p)]
#: The missions with several tugs (``tugs:``): tests/test_fleet.py plans and flies them.
FLEET_SCENARIOS = [p for p in ALL_SCENARIOS if _is_fleet(p)]
#: The packaged examples (`otvplan example NAME`): the missions plus the minimal and annotated
#: starters.
EXAMPLES_DIR = REPO / "otvplan" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
#: The smallest valid scenario.
MINIMAL = EXAMPLES_DIR / "minimal.yaml"
#: Reference outputs: plan files, reports, figures' data.
GOLDEN = REPO / "tests" / "golden"
#: One invalid scenario file per validation rule.
BAD_DIR = REPO / "tests" / "data" / "bad"
BAD_FILES = sorted(BAD_DIR.glob("*.yaml"))
#: Published test cases with their sources (tests/reference/cases.yaml).
REFERENCE_CASES = REPO / "tests" / "reference" / "cases.yaml"
