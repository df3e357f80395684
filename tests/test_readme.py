"""The README's set-up commands are the ones CI runs."""

import re

from paths import REPO


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    blocks = _bash_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) == 2
    install_and_run, install_and_test = blocks
    assert "otvplan plan scenarios/" in install_and_run
    assert install_and_test.endswith("pytest -q")


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = _bash_blocks((REPO / "README.md").read_text(encoding="utf-8"))[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci.splitlines()


def test_readme_main_command_names_an_existing_scenario():
    run_cmd = _bash_blocks((REPO / "README.md").read_text(encoding="utf-8"))[0]
    scenario = re.search(r"otvplan plan (\S+)", run_cmd).group(1)
    assert (REPO / scenario).is_file()
