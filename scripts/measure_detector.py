"""Measure the step detector's accuracy against asv's own step detection on synthetic histories.

Histories have steps of known size (5, 10, 20, 50%) at known commits, up or down, with noise
drawn from real per-benchmark spreads (within-run sample spread from the quartiles, run-to-run
spread from successive differences) of real asv result sets, plus series with slow drift, with
one-off outliers and with no change at all. Both detectors see the same values and 99% CIs.

    .venv/bin/python scripts/measure_detector.py [--series 400] [--commits 40] [--seed 1] [--sets DIR ...]

Reports recall by step size (a hit = a step in the right direction whose commit range holds the
true step commit, +-1 commit), false alarms per series on no-change series, and how often drift and
outlier series produce a (spurious or drift) step.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.analysis.regressions import DEFAULT_ALPHA, Step, asv_steps, find_steps
from dashboard.data import load_results

SHARED = Path(__file__).resolve().parents[2] / "shared" / "asv-results"
DEFAULT_SETS = ("own-example-tinypkg", "numpy-bench")


def real_noise(sets: list[Path]) -> np.ndarray:
    """Rows of (sigma_within, sigma_between) in log units, one per real series with >= 4 commits."""
    rows: list[tuple[float, float]] = []
    for root in sets:
        t = load_results(root).results
        t = t[(t.status == "ok") & (t.type == "time") & (t.value > 0)]
        t = t.assign(sw=((t.q_75 - t.q_25) / t.value / 1.349))
        for _, g in t.groupby(["series", "version_segment"], observed=True):
            sw = g["sw"].to_numpy()
            sw = sw[np.isfinite(sw) & (sw >= 0)]
            if len(g) >= 4:
                d = np.abs(np.diff(np.log(g.sort_values("commit_order").value.to_numpy())))
                rows.append((float(np.median(sw)) if len(sw) else 0.0, float(np.median(d)) / 0.6745 / math.sqrt(2)))
    return np.array(rows or [(0.01, 0.01)])


def commit_noise(row: np.ndarray) -> float:
    """Total sigma of one commit's value (log units) for a noise-model row."""
    return math.hypot(row[1], 1.2533 * row[0] / math.sqrt(10))


def history(
    rng: np.random.Generator, noise: np.ndarray | tuple[float, float], n: int, kind: str, size: float = 0.0, at: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """values, ci_a, ci_b for one synthetic series."""
    sw, sb = noise
    level = np.full(n, 1e-4)
    if kind == "step":
        level[at:] *= size
    elif kind == "drift":
        level *= np.exp(np.linspace(0.0, math.log(1.15), n))  # +15% over the whole history
    repeat = 10
    samples = level[:, None] * np.exp(rng.normal(0.0, sb, (n, 1)) + rng.normal(0.0, sw, (n, repeat)))
    values = np.median(samples, axis=1)
    if kind == "outlier":
        k = rng.integers(1, n - 1)
        values[k] *= rng.uniform(1.3, 3.0)
    half = values * (np.exp(_Z * 1.2533 * sw / math.sqrt(repeat)) - 1.0)
    return values, values - half, values + half


_Z = 2.5758


def hit(steps: list[Step], at: int, up: bool) -> bool:
    return any(s.before - 1 <= at - 1 and s.after + 1 >= at and (s.value_after > s.value_before) == up for s in steps)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=400, help="series per row (default 400)")
    ap.add_argument("--commits", type=int, default=40, help="commits per history (default 40)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    ap.add_argument("--sets", nargs="*", type=Path, default=[SHARED / s / "results" for s in DEFAULT_SETS])
    args = ap.parse_args(argv)
    sets = [p for p in args.sets if p.is_dir()]
    if not sets:
        print("no real result sets found for the noise model", file=sys.stderr)
        return 2
    noise = real_noise(sets)
    print(f"noise model: {len(noise)} real series from {', '.join(p.parent.name for p in sets)}")
    q = np.percentile(noise, [10, 50, 90], axis=0)
    print(
        f"  within-run sigma p10/p50/p90: {q[0, 0]:.3f} {q[1, 0]:.3f} {q[2, 0]:.3f};  run-to-run sigma: {q[0, 1]:.3f} {q[1, 1]:.3f} {q[2, 1]:.3f}"
    )
    rng = np.random.default_rng(args.seed)
    n = args.commits
    bands = [(0.0, 0.02, "< 2%"), (0.02, 0.05, "2-5%"), (0.05, 0.10, "5-10%"), (0.10, math.inf, ">= 10%")]
    totals = np.array([commit_noise(r) for r in noise])
    shares = [float(np.mean((totals >= lo) & (totals < hi))) for lo, hi, _ in bands]
    print("  per-commit noise bands (share of real series): " + ", ".join(f"{b[2]}: {sh:.0%}" for b, sh in zip(bands, shares, strict=True)))
    kinds = [
        ("step 5%", "step", 0.05),
        ("step 10%", "step", 0.10),
        ("step 20%", "step", 0.20),
        ("step 50%", "step", 0.50),
        ("no change", "flat", 0.0),
        ("drift +15%", "drift", 0.0),
        ("one outlier", "outlier", 0.0),
    ]
    # result[label][band] = [ours, asv, extra_ours, extra_asv, count]
    result: dict[str, dict[str, list[float]]] = {k[0]: {b[2]: [0, 0, 0, 0, 0] for b in bands} for k in kinds}
    t_ours = t_asv = 0.0
    calls = 0
    for label, kind, size in kinds:
        for _ in range(args.series):
            row = noise[rng.integers(len(noise))]
            band = next(b[2] for b in bands if b[0] <= commit_noise(row) < b[1])
            up = bool(rng.integers(2))
            at = int(rng.integers(n // 4, 3 * n // 4))
            factor = (1 + size) if up else 1 / (1 + size)
            values, a, b = history(rng, (float(row[0]), float(row[1])), n, kind, factor, at)
            t0 = time.perf_counter()
            s1 = find_steps(values, ci_a=a, ci_b=b, alpha=args.alpha)
            t1 = time.perf_counter()
            s2 = asv_steps(values, ci_a=a, ci_b=b)
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_asv += t2 - t1
            calls += 1
            cell = result[label][band]
            cell[4] += 1
            if kind == "step":
                h1, h2 = hit(s1, at, up), hit(s2, at, up)
                cell[0] += h1
                cell[1] += h2
                cell[2] += len(s1) > int(h1)
                cell[3] += len(s2) > int(h2)
            else:
                cell[0] += bool(s1)
                cell[1] += bool(s2)

    def pct(x: float, c: float) -> str:
        return f"{x / c:.1%}" if c else "-"

    print(f"\n{args.series} series per row (noise drawn from the real series), {n} commits each, alpha={args.alpha}")
    print("tensorscope / asv; recall = step found at the right commit (+-1) in the right direction\n")
    print("| history | measure | all | " + " | ".join(f"noise {b[2]}" for b in bands) + " |")
    print("|---|---|---|" + "---|" * len(bands))
    for label, kind, _ in kinds:
        cells = result[label]
        tot = [sum(cells[b[2]][k] for b in bands) for k in range(5)]
        what = "recall" if kind == "step" else ("false alarms" if kind in ("flat", "outlier") else "flagged")
        line = f"| {label} | {what} | {pct(tot[0], tot[4])} / {pct(tot[1], tot[4])} | "
        line += " | ".join(
            f"{pct(cells[b[2]][0], cells[b[2]][4])} / {pct(cells[b[2]][1], cells[b[2]][4])} (n={cells[b[2]][4]})" for b in bands
        )
        print(line + " |")
        if kind == "step":
            print(
                f"| {label} | extra spurious step | {pct(tot[2], tot[4])} / {pct(tot[3], tot[4])} | " + " | ".join("" for _ in bands) + " |"
            )
    print(f"\ntime per series: tensorscope {t_ours / calls * 1e3:.2f} ms, asv {t_asv / calls * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
