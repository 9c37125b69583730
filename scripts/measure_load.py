"""Measure cold load, warm load, a one-file-changed load, and peak memory of tensorscope.results.load_results.

    .venv/bin/python scripts/measure_load.py RESULTS_DIR [--cache-dir DIR]

Each phase runs in a fresh Python process (so imports and memory are counted honestly);
peak memory is the process's maximum resident set size (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PHASE = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
t0 = time.perf_counter()
from tensorscope.results import load_results
t1 = time.perf_counter()
rs = load_results({results!r}, cache_dir={cache!r})
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "rows": len(rs.results), "parsed": rs.stats.get("parsed"),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def phase(results: Path, cache: Path) -> dict[str, float]:
    repo = str(Path(__file__).resolve().parents[1])
    code = PHASE.format(repo=repo, results=str(results), cache=str(cache))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--cache-dir", type=Path, default=None, help="default: a fresh temporary directory")
    args = ap.parse_args(argv)
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="tensorscope-cache-"))
    files = [p for p in args.results.rglob("*.json")]
    size = sum(p.stat().st_size for p in files)
    print(f"tree: {args.results} ({len(files)} files, {size / 2**20:.0f} MiB); cache: {cache}; cpus: {os.cpu_count()}")
    print("load average (1/5/15 min) before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    cold = phase(args.results, cache)
    print(
        f"cold : {cold['load_s']:.2f} s load (+{cold['import_s']:.2f} s import), {cold['rows']:,} rows, {cold['parsed']} files parsed, peak RSS {cold['peak_rss_mib']:.0f} MiB"
    )
    warm = phase(args.results, cache)
    print(
        f"warm : {warm['load_s']:.2f} s load (+{warm['import_s']:.2f} s import), {warm['parsed']} files parsed, peak RSS {warm['peak_rss_mib']:.0f} MiB"
    )
    victim = sorted(p for p in files if p.name != "machine.json" and p.name != "benchmarks.json" and p.parent.name != "provenance")[-1]
    os.utime(victim)  # touched: same size, new mtime
    one = phase(args.results, cache)
    print(f"1 changed: {one['load_s']:.2f} s load, {one['parsed']} files parsed, peak RSS {one['peak_rss_mib']:.0f} MiB")
    print("load average (1/5/15 min) after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.cache_dir is None:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
