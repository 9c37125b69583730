"""scripts/produce_results.sh: the thread count it hands to ``tensorscope run`` by machine size.

The script is copied into a scratch folder beside a stand-in ``.venv/bin/tensorscope`` that
only records its arguments, and ``nproc`` is a stand-in that claims a CPU count; nothing is
benchmarked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECORDER = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../../calls.txt"
"""


def _produce(tmp_path: Path, cpus: int, *options: str, existing: bool = True) -> tuple[list[str], str]:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "produce_results.sh", tmp_path / "scripts")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("tensorscope", "python"):
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "nproc").write_text(f"#!/bin/sh\necho {cpus}\n")
    (fake / "nproc").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "produce_results.sh"), "--machine", "box", *(["--existing"] if existing else []), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    calls = [line for line in (tmp_path / "calls.txt").read_text().splitlines() if line.startswith("run ")]
    return calls, done.stderr


@pytest.mark.parametrize(("cpus", "options", "threads"), [(2, [], "1"), (1, [], "1"), (8, [], "all"), (2, ["--threads", "all"], "all")])
def test_threads_follow_the_machine_size_unless_given(tmp_path: Path, cpus: int, options: list[str], threads: str) -> None:
    calls, err = _produce(tmp_path, cpus, *options)
    assert len(calls) == 3  # quick SIMD on, quick SIMD off, full
    for call in calls:
        assert f"--threads {threads}" in call
    assert ("torch's two-thread pool stalls here" in err) == (cpus <= 2 and not options)


def test_at_pins_the_single_commit_steps_to_one_hash(tmp_path: Path) -> None:
    """--at resolves once, at the start: the SIMD-off and full steps name that commit, not a moving HEAD."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    first = git("rev-parse", "HEAD")
    (tmp_path / "a.txt").write_text("two")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two")
    (tmp_path / "hashes.txt").write_text(first + "\n")
    calls, err = _produce(tmp_path, 2, "--hashfile", str(tmp_path / "hashes.txt"), "--at", "HEAD~1", existing=False)
    assert [c.split()[-1] for c in calls[1:]] == [f"{first}^!", f"{first}^!"], calls
    assert f"single-commit steps at {first}" in err
