"""Shared fixtures for dashboard tests (the builder itself lives in ``asv_builder.py``).

* ``results_tree`` -> :class:`asv_builder.ResultsTree` rooted at ``tmp_path / "results"``;
* ``shared_sets``  -> ``../shared/asv-results`` (skips, with the reason, when absent).

Test modules import helpers with ``from asv_builder import NAN, ResultsTree, commit_hash, commit_date``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from asv_builder import SHARED_SETS, ResultsTree


@pytest.fixture
def results_tree(tmp_path: Path) -> ResultsTree:
    return ResultsTree(tmp_path / "results")


@pytest.fixture
def shared_sets() -> Path:
    if not SHARED_SETS.is_dir():
        pytest.skip(f"shared asv result sets not present at {SHARED_SETS}")
    return SHARED_SETS
