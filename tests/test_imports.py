"""Import costs: `import otvplan` stays light, and scenario loading keeps astropy off its path.

Each check runs in a fresh interpreter (a subprocess), since this test process has long since
imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from paths import REPO

HEAVY = ("matplotlib", "boinor", "dask", "astropy")


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_otvplan_is_light_and_fast():
    out = run_python(f"""
        import json, sys, time
        t0 = time.perf_counter()
        import otvplan
        elapsed = time.perf_counter() - t0
        print(json.dumps({{"elapsed": elapsed,
                          "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
    """)
    assert out["loaded"] == []
    assert out["elapsed"] < 0.5


def test_loading_a_scenario_with_table_units_does_not_import_astropy():
    out = run_python("""
        import json, sys
        import otvplan.io.scenario
        after_import = "astropy" in sys.modules
        s = otvplan.io.scenario.load("scenarios/sso_rideshare.yaml")
        otvplan.io.scenario.loads(otvplan.io.scenario.dumps(s))
        print(json.dumps({"after_import": after_import, "after_load": "astropy" in sys.modules,
                          "heavy": [m for m in ("matplotlib", "boinor", "dask")
                                    if m in sys.modules]}))
    """)
    assert out == {"after_import": False, "after_load": False, "heavy": []}


def test_an_unusual_unit_does_import_astropy():
    """The counterpart of the test above: the fallback really goes through astropy.units."""
    out = run_python("""
        import json, sys
        from otvplan.io.scenario import parse_quantity
        value = parse_quantity("525000 meter", "length")
        print(json.dumps({"value": value, "astropy": "astropy.units" in sys.modules}))
    """)
    assert out == {"value": 525.0, "astropy": True}


def test_cli_version_imports_neither_the_library_nor_its_dependencies():
    """`otvplan --version` reads package metadata; it imports none of the packages it lists."""
    out = run_python("""
        import contextlib, io, json, sys
        from otvplan.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as buffer:
            status = main(["--version"])
        watched = ("astropy", "boinor", "numpy", "scipy", "pydantic", "matplotlib",
                   "otvplan.io.scenario")
        print(json.dumps({"status": status, "text": buffer.getvalue(),
                          "loaded": [m for m in watched if m in sys.modules]}))
    """)
    assert out["status"] == 0
    assert out["loaded"] == []
    assert out["text"].startswith("otvplan ")
