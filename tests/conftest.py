"""Test-wide settings and fixtures.

* the ``gpu`` marker skips CUDA-only tests where no NVIDIA GPU is present;
* ``results_tree`` -> :class:`asv_builder.ResultsTree` rooted at ``tmp_path / "results"``
  (test modules import helpers with ``from asv_builder import NAN, ResultsTree, commit_hash, commit_date``);
* ``shared_sets``  -> ``../shared/asv-results`` (skips, with the reason, when absent).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asv_builder import SHARED_SETS, ResultsTree

# pytest puts tests/ first on sys.path, where tests/backends would shadow the real
# ``backends`` package as a namespace package; the repository root must come first.
_ROOT = str(Path(__file__).resolve().parent.parent)
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)


def nvidia_gpu_present() -> bool:
    """An NVIDIA driver is loaded and reports at least one GPU (no framework is imported)."""
    if not (os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")):
        return False
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return True  # driver present, no tool to ask: let the tests find out
    try:
        result = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and "GPU" in result.stdout


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items or nvidia_gpu_present():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU: no NVIDIA driver/GPU found on this machine")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture
def results_tree(tmp_path: Path) -> ResultsTree:
    return ResultsTree(tmp_path / "results")


@pytest.fixture
def shared_sets() -> Path:
    if not SHARED_SETS.is_dir():
        pytest.skip(f"shared asv result sets not present at {SHARED_SETS}")
    return SHARED_SETS
