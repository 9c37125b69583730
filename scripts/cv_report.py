"""Median coefficient of variation (CV) of the timing benchmarks in an asv results tree.

For each result file (one commit x environment) and each measured ``time_`` cell, the
CV is ``stdev / mean`` of the raw samples when asv stored them (``--record-samples``;
``tensorscope run`` does), else the robust estimate ``(q75 - q25) / 1.349 / median``;
the robust estimate (less moved by one slow sample) is also printed for every cell.
``--by backend`` splits the figures by a benchmark parameter (names from benchmarks.json).
Files are grouped by the profile that produced them, read from the provenance file
beside them (``env.TENSORSCOPE_PROFILE``; ``unknown`` without one), and by its thread
setting when that held the backends to N threads (``full/threads=1``).

    python scripts/cv_report.py [RESULTS_DIR] [--machine NAME] [--by PARAM] [--json]

Target: median CV <= 3 % for the full profile.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_IQR_SIGMA = 1.349  # interquartile range of a unit normal


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == 2 else None


def _cells(result_file: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...], float, float]]:
    """(benchmark, parameter values, CV, robust CV) of every measured time_ cell of one result file."""
    columns = result_file.get("result_columns", [])
    for name, row in result_file.get("results", {}).items():
        if not name.split(".")[-1].startswith("time_"):
            continue
        entry = dict(zip(columns, row, strict=False))
        values = entry.get("result") or []
        combos = list(itertools.product(*entry["params"])) if entry.get("params") else [()]
        samples = entry.get("samples") or []
        q25 = entry.get("stats_q_25") or []
        q75 = entry.get("stats_q_75") or []
        for i, value in enumerate(values):
            if value is None or not isinstance(value, float | int) or math.isnan(value) or value <= 0:
                continue
            combo = combos[i] if i < len(combos) else ()
            cell = samples[i] if i < len(samples) and samples[i] else None
            if cell and len(cell) >= 2:
                mean = statistics.fmean(cell)
                if mean > 0:
                    quartiles = statistics.quantiles(cell, n=4)
                    robust = (quartiles[2] - quartiles[0]) / _IQR_SIGMA / statistics.median(cell)
                    yield name, combo, statistics.stdev(cell) / mean, robust
            elif i < len(q25) and i < len(q75) and q25[i] is not None and q75[i] is not None:
                robust = (q75[i] - q25[i]) / _IQR_SIGMA / value
                yield name, combo, robust, robust


def cell_cvs(result_file: dict[str, Any]) -> list[float]:
    """CV of every measured time_ cell of one asv result file (version 2)."""
    return [cv for _, _, cv, _ in _cells(result_file)]


def _profile_of(machine_dir: Path, data: dict[str, Any]) -> str:
    """The run's profile from its provenance, with ``threads=N`` when it held backends to N threads."""
    prov = machine_dir / "provenance" / f"{data.get('commit_hash')}-{data.get('env_name')}.json"
    try:
        record = json.loads(prov.read_text())
    except (OSError, ValueError):
        return "unknown"
    profile = str(record.get("env", {}).get("TENSORSCOPE_PROFILE", "full"))
    threads = str(record.get("thread_setting") or "all")
    return profile if threads == "all" else f"{profile}/threads={threads}"


def _param_names(results: Path) -> dict[str, list[str]]:
    try:
        suite = json.loads((results / "benchmarks.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: list(v.get("param_names") or []) for k, v in suite.items() if isinstance(v, dict)}


def report(results: Path, machine: str | None = None, by: str | None = None) -> dict[str, dict[str, Any]]:
    """Per profile (and value of the parameter ``by``): files, cells, median and p90 CV, median robust CV."""
    by_profile: dict[str, list[float]] = defaultdict(list)
    robust_by: dict[str, list[float]] = defaultdict(list)
    files: dict[str, int] = defaultdict(int)
    names = _param_names(results) if by else {}
    for machine_dir in sorted(p for p in results.iterdir() if p.is_dir()):
        if machine and machine_dir.name != machine:
            continue
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            data = _load(path)
            if data is None:
                continue
            profile = _profile_of(machine_dir, data)
            for name, combo, cv, robust in _cells(data):
                key = profile
                if by:
                    param_names = names.get(name, [])
                    value = str(combo[param_names.index(by)]).strip("'") if by in param_names and combo else "-"
                    key = f"{profile} {by}={value}"
                by_profile[key].append(cv)
                robust_by[key].append(robust)
                files[key] += 0
            files[profile] += 1
    summary = {}
    for profile, cvs in sorted(by_profile.items()):
        cvs.sort()
        summary[profile] = {
            "files": files[profile.split(" ")[0]],
            "cells": len(cvs),
            "median_cv": statistics.median(cvs) if cvs else None,
            "p90_cv": cvs[int(0.9 * (len(cvs) - 1))] if cvs else None,
            "median_robust_cv": statistics.median(robust_by[profile]) if robust_by[profile] else None,
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--machine")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--by", metavar="PARAM", help="also split by this benchmark parameter (e.g. backend)")
    args = parser.parse_args(argv)
    summary = report(args.results, args.machine, args.by)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    if not summary:
        print(f"no timing results under {args.results}")
        return 1
    width = max(10, *(len(p) for p in summary))
    print(f"{'profile':{width}s} {'files':>6s} {'cells':>7s} {'median CV':>10s} {'p90 CV':>8s} {'robust CV':>10s}")
    pct = lambda v: f"{100 * v:.2f}%" if v is not None else "-"  # noqa: E731 - local formatter
    for profile, s in summary.items():
        print(
            f"{profile:{width}s} {s['files']:6d} {s['cells']:7d} {pct(s['median_cv']):>10s} {pct(s['p90_cv']):>8s} {pct(s['median_robust_cv']):>10s}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
