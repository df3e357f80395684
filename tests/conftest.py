"""Shared fixtures: where the repository's scenario files and test data live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
EXAMPLES_DIR = REPO / "otvplan" / "examples"
BAD_DIR = REPO / "tests" / "data" / "bad"


@pytest.fixture
def repo_root() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return REPO


@pytest.fixture
def bad_dir() -> Path:
    """tests/data/bad: one invalid scenario file per validation rule."""
    return BAD_DIR


@pytest.fixture
def minimal_text() -> str:
    """The text of the packaged minimal starter scenario (valid)."""
    return (EXAMPLES_DIR / "minimal.yaml").read_text(encoding="utf-8")
