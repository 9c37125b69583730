"""A throwaway git repository with a trivial asv suite, for the re-measurement tests.

``make_toy_project(root, delays)`` commits one version of the package ``toy`` per entry of
``delays`` (seconds that ``toy.work(n)`` sleeps per unit of ``n``) and returns the commit
hashes, oldest first. The suite (``benchmarks/bench_toy.py``) times ``toy.work(n)`` for
``n`` in 1, 2, with few samples, so one measured process takes a fraction of a second; it
imports only the standard library, so the tests run it with ``--python`` (this interpreter,
each commit's source tree on the path) and nothing is installed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

SUITE = """
import os
import time

import toy


class Toy:
    params = [[1, 2]]
    param_names = ["n"]
    number = 1
    repeat = 3
    warmup_time = 0.0

    def time_work(self, n):
        toy.work(n)


def track_constant():
    return 42.0


def track_mmap_threshold():
    # what the measured process was given (tensorscope's malloc control); 0 when unset
    return float(os.environ.get("MALLOC_MMAP_THRESHOLD_", 0))


def _resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def track_freed_memory_kept():
    # MB of 3 x 24 MB of touched, then freed, memory the process still holds: kept and reused
    # (no page faults next time) or handed back to the system (faulted in afresh)
    before = _resident_bytes()
    blocks = [bytearray(24_000_000) for _ in range(3)]
    del blocks
    return (_resident_bytes() - before) / 1e6 + 1.0  # + 1: compare needs positive values


class Turns:
    # each timed call appends "pid start end cpus" to $TOY_TURN_LOG (the lockstep test reads it)
    number = 1
    repeat = 4
    warmup_time = 0.0

    def time_turn(self):
        start = time.monotonic()
        time.sleep(0.003)
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        with open(os.environ["TOY_TURN_LOG"], "a") as log:
            log.write(f"{os.getpid()} {start!r} {time.monotonic()!r} {cpus}\\n")
"""

PACKAGE = """
# toy, commit {i}
import time

DELAY = {delay!r}


def work(n):
    time.sleep(DELAY * n)
"""


def _git(root: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def make_toy_project(root: Path, delays: Sequence[float]) -> list[str]:
    """Create the repository under ``root`` (one commit per delay); returns the commit hashes, oldest first."""
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    config = {
        "version": 1,
        "project": "toy",
        "repo": ".",
        "branches": ["main"],
        "environment_type": "virtualenv",
        "benchmark_dir": "benchmarks",
        "env_dir": ".asv/env",
        "results_dir": "results",
        "html_dir": ".asv/html",
    }
    (root / "asv.conf.json").write_text(json.dumps(config, indent=1))
    (root / ".gitignore").write_text(".asv/\nresults/\n")
    (root / "benchmarks").mkdir(exist_ok=True)
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "bench_toy.py").write_text(SUITE)
    (root / "toy").mkdir(exist_ok=True)
    hashes = []
    for i, delay in enumerate(delays):
        (root / "toy" / "__init__.py").write_text(PACKAGE.format(delay=delay, i=i))
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"toy {i}: delay {delay}")
        hashes.append(_git(root, "rev-parse", "HEAD"))
    return hashes
