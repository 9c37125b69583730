"""Time a 2048 x 2048 float32 matmul on one backend per process and print the ratios to NumPy.

Each backend runs in its own interpreter, one after the other: in one process the
BLAS thread pools of NumPy, SciPy (numba's BLAS), torch and XLA spin and compete with
each other, which measured NumPy's sgemm at impossible speeds next to the others.

    .venv/bin/python scripts/measure_matmul.py [--backends numpy,numba,torch:cpu,jax:cpu] [--n 2048] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def time_one(backend: str, n: int, repeat: int) -> list[float]:
    """Seconds per call of ``backend``'s matmul (after warm-up and an output check)."""
    import numpy as np

    import backends

    be = backends.get(backend)
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    x, y = be.from_numpy(a), be.from_numpy(b)
    matmul = be.op("matmul")
    be.warmup(matmul, x, y)
    got = np.asarray(be.to_numpy(matmul(x, y)), dtype=np.float64)
    want = a.astype(np.float64) @ b.astype(np.float64)
    if np.abs(got - want).max() > 1e-5 * np.abs(want).max() * n**0.5:
        raise SystemExit(f"{backend}: matmul output differs from the float64 reference; not timed")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        be.synchronize(matmul(x, y))
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="numpy,numba,torch:cpu,jax:cpu")
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(time_one(args.child, args.n, args.repeat)))
        return 0
    medians: dict[str, float] = {}
    for name in args.backends.split(","):
        cmd = [sys.executable, __file__, "--child", name, "--n", str(args.n), "--repeat", str(args.repeat)]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if out.returncode != 0:
            print(f"{name:10s} failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
            continue
        times = json.loads(out.stdout.strip().splitlines()[-1])
        medians[name] = statistics.median(times)
        flops = 2 * args.n**3 / medians[name] / 1e9
        print(f"{name:10s} median {medians[name] * 1e3:8.1f} ms  min {min(times) * 1e3:8.1f} ms  {flops:7.1f} GFLOP/s", end="")
        base = medians.get(args.backends.split(",")[0])
        print(f"  {base / medians[name]:.2f}x of {args.backends.split(',')[0]}" if base else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
