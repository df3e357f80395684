"""Shared fixtures: the repository's scenario files and test data (paths from tests/paths.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paths import BAD_DIR, GOLDEN, MINIMAL, REPO

# The pure (SciPy) integrator is the suite's default: the optional numba backend of
# otvplan.flight.propagation runs only in the tests that ask for it (fixture ``accelerated``).
os.environ.setdefault("OTVPLAN_ACCELERATE", "0")


@pytest.fixture
def accelerated(monkeypatch):
    """The compiled (numba) integrator allowed, and present."""
    from otvplan.flight import propagation

    monkeypatch.setenv("OTVPLAN_ACCELERATE", "1")
    assert propagation._compiled_kernel() is not None, "numba is not installed"


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
