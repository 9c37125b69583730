"""A builder of small asv results trees for dashboard tests (used through tests/dashboard/conftest.py).

``results_tree`` (fixture) -> :class:`ResultsTree` rooted at ``tmp_path / "results"``::

    tree.add_benchmark("bench_ops.Ops.time_op", params=[["'numpy'", "'python'"], ["10", "1000"]],
                       param_names=["backend", "size"])            # writes benchmarks.json
    tree.add_machine("box", cpu="Xeon", arch="x86_64")               # writes box/machine.json
    tree.add_run("box", commit_hash(0), date=commit_date(0),         # writes box/<hash8>-<env>.json
                 results={"bench_ops.Ops.time_op": [1e-6, NAN, None, 2e-3]})

Values: a float is a measurement, ``NAN`` (float('nan')) is asv's "skipped", ``None`` is "failed".
Each run gets CIs of +-``ci`` (relative) and ``samples`` unless told otherwise. The tree is plain
asv results API version 2, written with ``allow_nan=True`` exactly as asv writes it.

``shared_sets`` -> path of ``../shared/asv-results`` (skips the test, with the reason, when absent).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

NAN = float("nan")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_SETS = REPO_ROOT.parent / "shared" / "asv-results"
RESULT_COLUMNS = [
    "result",
    "params",
    "version",
    "started_at",
    "duration",
    "stats_ci_99_a",
    "stats_ci_99_b",
    "stats_q_25",
    "stats_q_75",
    "stats_number",
    "stats_repeat",
    "samples",
    "profile",
]


def commit_hash(i: int) -> str:
    """A deterministic 40-hex commit hash for commit number ``i``."""
    return hashlib.sha1(f"commit-{i}".encode()).hexdigest()


def commit_date(i: int) -> int:
    """Commit ``i``'s date in ms since the epoch (one day apart, from 2025-01-01)."""
    return 1735689600000 + i * 86_400_000


class ResultsTree:
    """Writes asv results (API version 2) under ``root``; see the module docstring."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.benchmarks: dict[str, dict[str, Any]] = {}

    def add_benchmark(
        self,
        name: str,
        *,
        params: Sequence[Sequence[str]] = (),
        param_names: Sequence[str] = (),
        unit: str | None = None,
        type: str | None = None,  # noqa: A002 - asv's own key
        version: str = "v1",
    ) -> None:
        func = name.rsplit(".", 1)[-1]
        btype = type or (
            "time"
            if func.startswith("time")
            else "track"
            if func.startswith("track")
            else "peakmemory"
            if func.startswith("peakmem")
            else "memory"
        )
        self.benchmarks[name] = {
            "name": name,
            "params": [list(p) for p in params],
            "param_names": list(param_names),
            "type": btype,
            "unit": unit or ("seconds" if btype == "time" else "bytes" if "mem" in btype else "unit"),
            "version": version,
        }
        self._write(self.root / "benchmarks.json", {**self.benchmarks, "version": 2})

    def add_machine(self, machine: str, **info: Any) -> Path:
        path = self.root / machine / "machine.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write(path, {"machine": machine, "version": 1, **info})
        return path

    def add_run(
        self,
        machine: str,
        commit: str,
        results: Mapping[str, Sequence[float | None] | None],
        *,
        date: int | None = None,
        env: str = "virtualenv-py3.11",
        env_vars: Mapping[str, str] | None = None,
        ci: float = 0.01,
        samples: bool = True,
        versions: Mapping[str, str] | None = None,
        params: Mapping[str, Sequence[Sequence[str]]] | None = None,
        started_at: int | None = None,
        sample_values: Mapping[str, Sequence[Sequence[float] | None]] | None = None,
    ) -> Path:
        """One result file; ``params`` overrides a benchmark's grid, ``versions`` its version.

        ``started_at``: when the run's rows started (ms since the epoch; default 1, i.e. unknown);
        ``sample_values``: raw samples per benchmark and cell instead of the made-up five.
        """
        rows: dict[str, list[Any]] = {}
        for name, values in results.items():
            spec = self.benchmarks.get(name, {})
            grid = [list(p) for p in (params or {}).get(name, spec.get("params", []))]
            version = (versions or {}).get(name, spec.get("version", "v1"))
            start = 1 if started_at is None else started_at
            if values is None:
                rows[name] = [None, grid, version, start, 0.1]
                continue
            vals = list(values)

            def stat(f: float, vals: list[Any] = vals) -> list[Any]:
                return [None if v is None or math.isnan(v) else v * f for v in vals]

            row: list[Any] = [vals, grid, version, start, 0.1, stat(1 - ci), stat(1 + ci), stat(1 - ci / 4), stat(1 + ci / 4)]
            row += [[None if v is None or math.isnan(v) else 1 for v in vals], [None if v is None or math.isnan(v) else 5 for v in vals]]
            if sample_values is not None and name in sample_values:
                row.append([None if s is None else list(s) for s in sample_values[name]])
            elif samples:
                row.append([None if v is None or math.isnan(v) else [v * (1 + ci * k / 4) for k in (-2, -1, 0, 1, 2)] for v in vals])
            rows[name] = row
        doc = {
            "commit_hash": commit,
            "env_name": env,
            "date": date,
            "params": {"machine": machine, "python": "3.11"},
            "python": "3.11",
            "requirements": {},
            "env_vars": dict(env_vars or {}),
            "result_columns": RESULT_COLUMNS,
            "results": rows,
            "durations": {},
            "version": 2,
        }
        path = self.root / machine / f"{commit[:8]}-{env}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write(path, doc)
        return path

    def add_provenance(self, machine: str, commit: str, env: str, data: Mapping[str, Any]) -> Path:
        path = self.root / machine / "provenance" / f"{commit}-{env}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write(path, data)
        return path

    @staticmethod
    def _write(path: Path, doc: Any) -> None:
        path.write_text(json.dumps(doc, allow_nan=True, indent=None), encoding="utf-8")


def one_culprit_tree(tree: ResultsTree) -> ResultsTree:
    """Three machines, two benchmarks, 16 commits: commit 5 makes both benchmarks 1.5x slower on "a" and "b"
    (range 4..5) and on "c", which measured even commits only (range 4..6); commit 11 makes "bench_x.X.time_one"
    2x faster on "a" alone (range 10..11). Noise 0.3%, no environment change."""
    names = ["bench_x.X.time_one", "bench_y.Y.time_two"]
    for name in names:
        tree.add_benchmark(name)
    for machine in ("a", "b", "c"):
        tree.add_machine(machine)
        for i in range(16):
            if machine == "c" and i % 2:
                continue
            results: dict[str, list[float | None] | None] = {}
            for k, name in enumerate(names):
                level = 1e-3 * (k + 1) * (1.5 if i >= 5 else 1.0)
                if machine == "a" and k == 0 and i >= 11:
                    level /= 2.0
                results[name] = [level * (1 + 0.003 * ((i * 7 + k) % 5 - 2))]
            tree.add_run(machine, commit_hash(i), results, date=commit_date(i))
    return tree
