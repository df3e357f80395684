"""Shared fixtures: the repository's scenario files and test data (paths from tests/paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paths import BAD_DIR, GOLDEN, MINIMAL, REPO


@pytest.fixture
def repo_root() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return REPO


@pytest.fixture
def bad_dir() -> Path:
    """tests/data/bad: one invalid scenario file per validation rule."""
    return BAD_DIR


@pytest.fixture
def golden_dir() -> Path:
    """tests/golden: reference plan files and reports."""
    return GOLDEN


@pytest.fixture
def minimal_path() -> Path:
    """The packaged minimal starter scenario (valid)."""
    return MINIMAL


@pytest.fixture
def minimal_text() -> str:
    """The text of the packaged minimal starter scenario (valid)."""
    return MINIMAL.read_text(encoding="utf-8")
