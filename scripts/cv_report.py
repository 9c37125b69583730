"""Median coefficient of variation (CV) of the timing benchmarks in an asv results tree.

For each result file (one commit x environment) and each measured ``time_`` cell, the
CV is ``stdev / mean`` of the raw samples when asv stored them (``--record-samples``;
``tensorscope run`` does), else the robust estimate ``(q75 - q25) / 1.349 / median``.
Files are grouped by the profile that produced them, read from the provenance file
beside them (``env.TENSORSCOPE_PROFILE``; ``unknown`` without one).

    python scripts/cv_report.py [RESULTS_DIR] [--machine NAME] [--json]

Target: median CV <= 3 % for the full profile.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == 2 else None


def cell_cvs(result_file: dict[str, Any]) -> list[float]:
    """CV of every measured time_ cell of one asv result file (version 2)."""
    columns = result_file.get("result_columns", [])
    out = []
    for name, row in result_file.get("results", {}).items():
        if not name.split(".")[-1].startswith("time_"):
            continue
        entry = dict(zip(columns, row, strict=False))
        values = entry.get("result") or []
        samples = entry.get("samples") or []
        q25 = entry.get("stats_q_25") or []
        q75 = entry.get("stats_q_75") or []
        for i, value in enumerate(values):
            if value is None or not isinstance(value, float | int) or math.isnan(value) or value <= 0:
                continue
            cell = samples[i] if i < len(samples) and samples[i] else None
            if cell and len(cell) >= 2:
                mean = statistics.fmean(cell)
                if mean > 0:
                    out.append(statistics.stdev(cell) / mean)
            elif i < len(q25) and i < len(q75) and q25[i] is not None and q75[i] is not None:
                out.append((q75[i] - q25[i]) / 1.349 / value)
    return out


def _profile_of(machine_dir: Path, data: dict[str, Any]) -> str:
    prov = machine_dir / "provenance" / f"{data.get('commit_hash')}-{data.get('env_name')}.json"
    try:
        return str(json.loads(prov.read_text()).get("env", {}).get("TENSORSCOPE_PROFILE", "full"))
    except (OSError, ValueError):
        return "unknown"


def report(results: Path, machine: str | None = None) -> dict[str, dict[str, Any]]:
    """Per profile: number of files and cells, median and 90th-percentile CV."""
    by_profile: dict[str, list[float]] = defaultdict(list)
    files: dict[str, int] = defaultdict(int)
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
            by_profile[profile].extend(cell_cvs(data))
            files[profile] += 1
    summary = {}
    for profile, cvs in sorted(by_profile.items()):
        cvs.sort()
        summary[profile] = {
            "files": files[profile],
            "cells": len(cvs),
            "median_cv": statistics.median(cvs) if cvs else None,
            "p90_cv": cvs[int(0.9 * (len(cvs) - 1))] if cvs else None,
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--machine")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    summary = report(args.results, args.machine)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    if not summary:
        print(f"no timing results under {args.results}")
        return 1
    print(f"{'profile':10s} {'files':>6s} {'cells':>7s} {'median CV':>10s} {'p90 CV':>8s}")
    for profile, s in summary.items():
        med = f"{100 * s['median_cv']:.2f}%" if s["median_cv"] is not None else "-"
        p90 = f"{100 * s['p90_cv']:.2f}%" if s["p90_cv"] is not None else "-"
        print(f"{profile:10s} {s['files']:6d} {s['cells']:7d} {med:>10s} {p90:>8s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
