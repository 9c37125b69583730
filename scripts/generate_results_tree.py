"""Generate a large synthetic asv results tree (results API version 2) for load-time measurements.

    .venv/bin/python scripts/generate_results_tree.py OUT_DIR [--machines 2] [--commits 250] [--no-samples]

Default: 2 machines x 250 commits x 5 benchmarks x (4 backends x 10 ops x 5 sizes x 2 dtypes)
= 1,000,000 result points, with asv's 99% CIs, quartiles and 10 raw samples per point,
NaN-skipped and null-failed cells, and a benchmark version change half-way. Not for the repo:
write it somewhere under /tmp.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

COLUMNS = [
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
]
BACKENDS = ["'python'", "'numpy'", "'numba'", "'torch:cpu'"]
OPS = ["'add'", "'multiply'", "'exp'", "'sum'", "'max'", "'sqrt'", "'tanh'", "'matmul'", "'sort'", "'fft'"]
SIZES = ["100", "1000", "10000", "100000", "1000000"]
DTYPES = ["'float32'", "'float64'"]
BENCHES = [f"bench_{g}.{g.title()}.time_op" for g in ("unary", "binary", "reduction", "ordering", "linalg")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--machines", type=int, default=2)
    ap.add_argument("--commits", type=int, default=250)
    ap.add_argument("--no-samples", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    grid = [BACKENDS, OPS, SIZES, DTYPES]
    n = len(BACKENDS) * len(OPS) * len(SIZES) * len(DTYPES)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    bench_json: dict[str, object] = {
        b: {
            "name": b,
            "params": grid,
            "param_names": ["backend", "op", "size", "dtype"],
            "type": "time",
            "unit": "seconds",
            "version": "v2",
        }
        for b in BENCHES
    }
    bench_json["version"] = 2
    (out / "benchmarks.json").write_text(json.dumps(bench_json))
    base = {b: np.exp(rng.normal(-9, 2, n)) for b in BENCHES}
    points = 0
    for m in range(args.machines):
        machine = f"machine{m}"
        (out / machine).mkdir(exist_ok=True)
        (out / machine / "machine.json").write_text(
            json.dumps(
                {"machine": machine, "cpu": f"CPU {m}", "arch": "x86_64", "num_cpu": "16", "ram": "64GB", "os": "Linux", "version": 1}
            )
        )
        for c in range(args.commits):
            commit = hashlib.sha1(f"c{c}".encode()).hexdigest()
            results = {}
            for b in BENCHES:
                v = base[b] * (1 + 0.3 * m) * np.exp(rng.normal(0, 0.02, n))
                if c > args.commits * 3 // 4 and b == BENCHES[0]:
                    v[:40] *= 1.3  # a regression
                vals: list[float | None] = v.tolist()
                for i in range(0, n, 97):
                    vals[i] = float("nan")
                for i in range(5, n, 211):
                    vals[i] = None
                half = [None if x is None or x != x else x * 0.02 for x in vals]
                lo = [None if h is None else x - h for x, h in zip(vals, half, strict=True)]  # type: ignore[operator]
                hi = [None if h is None else x + h for x, h in zip(vals, half, strict=True)]  # type: ignore[operator]
                row: list[object] = [
                    vals,
                    grid,
                    "v1" if c < args.commits // 2 else "v2",
                    1700000000000 + c,
                    1.0,
                    lo,
                    hi,
                    lo,
                    hi,
                    [1] * n,
                    [10] * n,
                ]
                if not args.no_samples:
                    s = (v[:, None] * np.exp(rng.normal(0, 0.01, (n, 10)))).round(12).tolist()
                    row.append([None if x is None or x != x else s[i] for i, x in enumerate(vals)])
                results[b] = row
                points += n
            doc = {
                "commit_hash": commit,
                "env_name": "virtualenv-py3.11",
                "date": 1700000000000 + c * 3_600_000,
                "params": {"machine": machine, "python": "3.11"},
                "python": "3.11",
                "requirements": {},
                "env_vars": {},
                "result_columns": COLUMNS,
                "results": results,
                "durations": {},
                "version": 2,
            }
            (out / machine / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(doc))
    print(f"wrote {points:,} result points in {args.machines * args.commits} files under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
