"""Measure the step detector's accuracy against asv's own step detection on synthetic histories.

Histories have steps of known size (5, 10, 20, 50%) at known commits, up or down, plus series
with slow drift, with one-off outliers and with no change at all. Their noise is taken, series by
series, from a real asv results directory (``--noise-from``):

* within a run: the benchmark's own raw samples (their log deviations from the run's median are
  resampled, so skew and heavy tails are kept), or, without raw samples, a normal spread from
  the quartiles; as many samples per commit as the real runs took;
* between runs: what the series' successive commits vary beyond the within-run spread (series
  with >= 4 commits); series with fewer commits get the median between/within ratio of the
  series that have them, from the same directory or, when it has none, from the shared sets.
  A history also holds real code changes, so this overstates the noise; ``--same-code A B ...``
  instead measures it where nothing changed: on runs of commits whose benchmarked code is the
  same (e.g. two full runs at commits that differ only in documentation), per backend, as
  the spread of the differences between those runs beyond what their own samples explain,
  and gives every series its backend's ratio; the within-run noise then comes from those
  runs too.

``--env PATTERN`` keeps the runs of matching environments only (e.g. ``THREADS1``).

Each synthetic commit's value and 99% CI are computed from its samples with asv's own
statistics (``asv_runner.statistics.compute_stats``), so both detectors see what asv would store.

    .venv/bin/python scripts/measure_detector.py [--noise-from DIR ... | --noise-cv 0.03 [--samples 10]]
        [--profile full] [--env PATTERN] [--between-ratio R | --same-code COMMIT COMMIT ...]
        [--series 400] [--commits 40] [--seed 1]

Default noise source: the repo's ``results/`` when it holds runs, else the shared sets
(``../shared/asv-results/{own-example-tinypkg,numpy-bench}/results``).

Reports recall by step size (a hit = a step in the right direction whose commit range holds the
true step commit, +-1 commit), how often a step history also gets a spurious step (a step
elsewhere or in the wrong direction), the mean width of the reported commit ranges, false alarms
per series on no-change series, and how often drift and outlier series produce a step.

``--scenarios`` (``--scenario NAME`` for one) builds whole machines of such series, run by run, and
puts them through the full analysis (``tensorscope.analysis.regressions.analyse``), beside asv's
step detection per series: plain, shared-shift (one machine-wide shift), reruns (backfilled blocks
run after a shift), bimodal, hardware-change, stale, ephemeral (a runner group) and nightly (every
commit run once, in order, one run a day, with two machine-wide shifts of 5-20% at run boundaries
and a third of the code steps at a shift or a commit beside it). A code step within a commit of a
shift counts as found when a step of that series is reported there in the step's own direction; a
series with no code step of its own that gets one at a shift is a moved series blamed on code.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from asv_runner.statistics import compute_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorscope.analysis.regressions import DEFAULT_ALPHA, Step, asv_steps, find_steps
from tensorscope.results import load_results

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "asv-results"
DEFAULT_SETS = ("own-example-tinypkg", "numpy-bench")
_IQR_SIGMA = 1.349  # interquartile range of a unit normal


def _median_spread(sigma_within: float, n_samples: float) -> float:
    """Sigma of a run's median (log units) from its samples' sigma and count (1.2533: the median's efficiency)."""
    return 1.2533 * sigma_within / math.sqrt(n_samples)


def _iqr_sigma(residuals: np.ndarray) -> float:
    """Normal-equivalent sigma of ``residuals`` from their interquartile range."""
    q25, q75 = np.percentile(residuals, [25, 75])
    return float(q75 - q25) / _IQR_SIGMA


@dataclass
class Noise:
    """One real series' noise: within-run log deviations (or sigma), samples per run, between-run sigma."""

    residuals: np.ndarray | None  # log(sample / run median), pooled over the series' runs
    sigma_within: float
    n_samples: int
    sigma_between: float  # NaN until known
    backend: str = "-"

    def median_spread(self) -> float:
        """Sigma of one run's median (log units), from the within-run spread."""
        return _median_spread(self.sigma_within, self.n_samples)

    def commit_sigma(self) -> float:
        """Sigma of one commit's value (log units): between-run plus the median's own spread."""
        return math.hypot(self.sigma_between, self.median_spread())


def _timed_runs(root: Path, profile: str | None = None, env: str | None = None, commits: list[str] | None = None) -> pd.DataFrame:
    """The ok timing rows of ``root``; only runs of ``profile`` (by provenance), of envs matching ``env``, at ``commits``."""
    rs = load_results(root)
    t = rs.results
    t = t[(t.status == "ok") & (t.type == "time") & (t.value > 0)]
    if profile is not None:
        # only the runs our provenance says that profile produced (others are another noise)
        column = "env.TENSORSCOPE_PROFILE"
        prov = rs.provenance
        runs = prov[prov[column] == profile] if column in prov.columns else prov.iloc[0:0]
        keys = set(zip(runs["machine"], runs["commit"], runs["env"], strict=True))
        t = t[[k in keys for k in zip(t["machine"], t["commit"], t["env"], strict=True)]]
    if env is not None:
        t = t[t["env"].astype(str).str.contains(env, regex=True)]
    if commits is not None:
        t = t[[any(str(c).startswith(p) for p in commits) for c in t["commit"]]]
    return t


def _within(samples: object) -> np.ndarray | None:
    """log(sample / median) of one run's raw samples (None without 3 or more)."""
    if isinstance(samples, list | np.ndarray) and len(samples) >= 3:
        s = np.asarray(samples, dtype=float)
        s = s[np.isfinite(s) & (s > 0)]
        if len(s) >= 3:
            return np.log(s / np.median(s))
    return None


def _backend(g: pd.DataFrame) -> str:
    return str(g["param_backend"].iloc[0]).strip("'") if "param_backend" in g.columns else "-"


def _series_noise(root: Path, profile: str | None = None, env: str | None = None, commits: list[str] | None = None) -> list[Noise]:
    t = _timed_runs(root, profile, env, commits)
    out: list[Noise] = []
    for _, g in t.groupby(["series", "version_segment"], observed=True, sort=False):
        g = g.sort_values("commit_order")
        res = [r for r in map(_within, g["samples"]) if r is not None]
        if res:
            pool = np.concatenate(res)
            sw, n, residuals = _iqr_sigma(pool), int(np.median([len(r) for r in res])), pool
        else:
            iqr = ((g["q_75"] - g["q_25"]) / g["value"]).to_numpy(dtype=float)
            iqr = iqr[np.isfinite(iqr) & (iqr >= 0)]
            rep = g["repeat"].to_numpy(dtype=float)
            rep = rep[np.isfinite(rep) & (rep >= 1)]
            sw = float(np.median(iqr)) / _IQR_SIGMA if len(iqr) else 0.0
            n, residuals = (int(np.median(rep)) if len(rep) else 10), None
        sb = math.nan
        if len(g) >= 4:
            d = np.abs(np.diff(np.log(g["value"].to_numpy(dtype=float))))
            total = float(np.median(d)) / 0.6745 / math.sqrt(2.0)
            sb = math.sqrt(max(total * total - _median_spread(sw, n) ** 2, 0.0))
        out.append(Noise(residuals, sw, max(n, 1), sb, _backend(g)))
    return out


def same_code_ratios(
    roots: list[Path], commits: list[str], profile: str | None = None, env: str | None = None
) -> tuple[dict[str, float], dict[str, int]]:
    """Between-run sigma / spread of a run's median, per backend, from runs of the same code at ``commits``.

    For every series run at two of those commits (same benchmark version), the difference of the
    two log values is divided by what the two runs' own samples explain
    (``sqrt(s_a^2 + s_b^2)``, ``s`` = 1.2533 sigma_within / sqrt(n) each); with a between-run
    part ``r * s`` the result spreads as ``sqrt(1 + r^2)``, so ``r`` follows from its robust
    spread (MAD). Returns (ratio, pairs) per backend and ``"all"``.
    """
    z_by: dict[str, list[float]] = {}
    for root in roots:
        t = _timed_runs(root, profile, env, commits)
        for _, g in t.groupby(["series", "version_segment"], observed=True, sort=False):
            if g["commit"].nunique() < 2:
                continue
            g = g.sort_values("commit_order").drop_duplicates("commit")
            spreads = []
            for samples, q25, q75, value, repeat in zip(g["samples"], g["q_25"], g["q_75"], g["value"], g["repeat"], strict=True):
                r = _within(samples)
                if r is not None:
                    spreads.append(_median_spread(_iqr_sigma(r), len(r)))
                else:  # quartiles only: the sample count asv recorded (10, the full profile's most, if none)
                    n = repeat if repeat == repeat and repeat >= 1 else 10
                    spreads.append(math.nan if not value else _median_spread(float(q75 - q25) / _IQR_SIGMA / value, n))
            logs = np.log(g["value"].to_numpy(dtype=float))
            for i in range(len(logs) - 1):
                scale = math.hypot(spreads[i], spreads[i + 1])
                if scale > 0 and math.isfinite(scale):
                    z = float((logs[i + 1] - logs[i]) / scale)
                    z_by.setdefault(_backend(g), []).append(z)
                    z_by.setdefault("all", []).append(z)
    ratios, pairs = {}, {}
    for key, zs in z_by.items():
        spread = float(np.median(np.abs(zs))) / 0.6745
        ratios[key], pairs[key] = math.sqrt(max(spread * spread - 1.0, 0.0)), len(zs)
    return ratios, pairs


def _between_ratio(rows: list[Noise]) -> float:
    """Median of sigma_between / (spread of one run's median) over the series that have both."""
    r = [x.sigma_between / x.median_spread() for x in rows if x.sigma_between == x.sigma_between and x.sigma_within > 0]
    return float(np.median(r)) if r else math.nan


def real_noise(
    sets: list[Path], between_ratio: float | None = None, rows: list[Noise] | None = None, ratio_source: str = "--between-ratio"
) -> tuple[list[Noise], str]:
    """Noise rows of every timed series of ``sets`` (or ``rows``), between-run sigma filled in; and how it was."""
    rows = rows if rows is not None else [r for root in sets for r in _series_noise(root)]
    missing = [r for r in rows if r.sigma_between != r.sigma_between]
    how = f"between-run spread measured on {len(rows) - len(missing)} of {len(rows)} series"
    if missing:
        ratio, source = (between_ratio, ratio_source) if between_ratio is not None else (_between_ratio(rows), "the same results")
        if ratio != ratio:
            shared = [SHARED / s / "results" for s in DEFAULT_SETS if (SHARED / s / "results").is_dir()]
            ratio, source = _between_ratio([r for root in shared for r in _series_noise(root)]), "the shared sets"
        if ratio != ratio:
            ratio, source = 1.0, "a default"
        for r in missing:
            r.sigma_between = ratio * r.median_spread()
        how += f"; the other {len(missing)} get {ratio:.2f} x their run median's spread (ratio from {source})"
    return rows or [Noise(None, 0.01, 10, 0.01)], how


def default_noise_dirs() -> list[Path]:
    """The repo's results/ when it holds runs, else the shared sets."""
    own = REPO / "results"
    if own.is_dir() and any(p.name != "machine.json" for p in own.glob("*/*.json")):
        return [own]
    return [SHARED / s / "results" for s in DEFAULT_SETS]


def simulate(
    rng: np.random.Generator, noise: Noise, level: np.ndarray, *, bimodal: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """values, ci_a, ci_b and raw samples of one synthetic series whose true level per commit is ``level``.

    Each commit's samples carry the series' real within-run deviations (resampled, so skew and tails
    are kept; a normal spread without them) and one between-run draw; ``bimodal`` (per commit, a
    factor > 1 or 1) sends a random share of that run's samples to a second mode. Values and 99% CIs
    are asv's own statistics of the samples (``asv_runner.statistics.compute_stats``).
    """
    n, m = len(level), noise.n_samples
    within = rng.choice(noise.residuals, (n, m)) if noise.residuals is not None else rng.normal(0.0, noise.sigma_within, (n, m))
    samples = level[:, None] * np.exp(rng.normal(0.0, noise.sigma_between, (n, 1)) + within)
    if bimodal is not None:
        for i in np.flatnonzero(bimodal > 1):
            k = rng.integers(1, m) if m > 1 else 1
            samples[i, rng.choice(m, k, replace=False)] *= bimodal[i]
    values, a, b = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        v, st = compute_stats(samples[i].tolist(), 1)
        values[i], a[i], b[i] = v, st["ci_99_a"], st["ci_99_b"]
    return values, a, b, samples


def history(
    rng: np.random.Generator, noise: Noise, n: int, kind: str, size: float = 0.0, at: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """values, ci_a, ci_b for one synthetic series (asv's statistics of simulated samples)."""
    level = np.full(n, 1e-4)
    if kind == "step":
        level[at:] *= size
    elif kind == "drift":
        level *= np.exp(np.linspace(0.0, math.log(1.15), n))  # +15% over the whole history
    values, a, b, _ = simulate(rng, noise, level)
    if kind == "outlier":
        k = rng.integers(1, n - 1)
        f = rng.uniform(1.3, 3.0)
        values[k] *= f
        a[k] *= f
        b[k] *= f
    return values, a, b


def hit(steps: list[Step], at: int, up: bool) -> bool:
    return any(s.before - 1 <= at - 1 and s.after + 1 >= at and (s.value_after > s.value_before) == up for s in steps)


# --------------------------------------------------------------------------------------
# Histories with real structure (--scenarios): whole machines of series, run by run, through the
# full analysis (tensorscope.analysis.regressions.analyse), against asv's step_detect per series.

SCENARIOS = ("plain", "shared-shift", "reruns", "bimodal", "hardware-change", "stale", "ephemeral", "nightly")
SIZES = (0.05, 0.10, 0.20, 0.50)
_DAY = 86400.0
_T0 = pd.Timestamp("2024-01-01", tz="UTC")


@dataclass
class Truth:
    """What was planted in one synthetic series."""

    series: str
    asv_key: str  # the series as asv sees it (per machine name; a runner group's members apart)
    kind: str  # 'step' | 'flat' | 'bimodal' | 'stale'
    size: float = 0.0
    at: int = -1  # commit order of the first commit at the new level
    up: bool = True
    env_at: int = -1  # commit order of the first commit run after the machine's environment shift (-1: none)
    env_edges: tuple[int, ...] = ()  # other commits at which the environment's level changes in commit order (re-runs)
    env_shifts: tuple[int, ...] = ()  # every machine-wide shift, where a machine has more than one (nightly); else (env_at,)

    def boundaries(self) -> tuple[int, ...]:
        """Commit orders of the first commits run after each of the machine's environment shifts."""
        return self.env_shifts or ((self.env_at,) if self.env_at >= 0 else ())


@dataclass
class Scenario:
    """One synthetic results set: the tidy table, machine facts and what was planted."""

    name: str
    table: pd.DataFrame
    machines: pd.DataFrame
    truth: list[Truth]
    env_runs: dict[str, tuple[int, ...]]  # machine -> first commit order run after each of its environment shifts


def _rows(
    rows: list[dict[str, object]],
    machine: str,
    env: str,
    bench: str,
    params: str,
    orders: np.ndarray,
    days: np.ndarray,
    values: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    samples: np.ndarray | None = None,
    current: bool = True,
) -> None:
    for k, (o, d, v, lo, hi) in enumerate(zip(orders, days, values, a, b, strict=True)):
        rows.append(
            {
                "machine": machine,
                "commit": f"{int(o):040x}",
                "commit_order": int(o),
                "commit_date": _T0 + pd.Timedelta(days=float(o)),
                "started_at": _T0 + pd.Timedelta(days=float(d)),
                "env": env,
                "benchmark": bench,
                "params": params,
                "type": "time",
                "unit": "seconds",
                "value": float(v),
                "ci_99_a": float(lo),
                "ci_99_b": float(hi),
                "status": "ok",
                "version": "v1",
                "current_version": current,
                "version_segment": 0,
                "series": f"{machine}|{env}|{bench}|{params}",
                "file": f"{machine}/{int(o):08x}-{env}.json",
                "samples": None if samples is None else samples[k].tolist(),
            }
        )


def _plant(rng: np.random.Generator, n: int, step_share: float) -> tuple[str, float, int, bool]:
    """(kind, size, at, up) of one series: a code step of a random size at a random commit, or none."""
    if rng.random() < step_share:
        return "step", float(rng.choice(SIZES)), int(rng.integers(n // 4, 3 * n // 4)), bool(rng.integers(2))
    return "flat", 0.0, -1, True


def build_scenario(name: str, rng: np.random.Generator, noise: list[Noise], n_series: int, n_commits: int) -> Scenario:
    """A synthetic results set of ``n_series`` series with the structure named (see ``SCENARIOS``)."""
    per_machine = 200 if name != "ephemeral" else 100
    classes = 20
    rows: list[dict[str, object]] = []
    truth: list[Truth] = []
    machines: list[dict[str, object]] = []
    env_runs: dict[str, tuple[int, ...]] = {}
    n_machines = max(1, math.ceil(n_series / per_machine))
    env = "virtualenv-py3.11"
    for mi in range(n_machines):
        machine = f"m{mi}"
        n = n_commits
        orders = np.arange(n)
        days = orders.astype(float) + rng.uniform(0.0, 0.3, n)  # one run per commit, daily, in commit order
        series_factor_sigma = 0.0
        if name in ("shared-shift", "hardware-change", "reruns"):
            at_run = int(rng.integers(n // 3, 2 * n // 3))
            if name == "reruns":
                # commits in blocks of three, every other block of the first two thirds, were first run in a
                # backfill after the environment changed (all runs from day n + 5 on)
                late = (orders < 2 * n // 3) & ((orders // 3) % 2 == 1)
                days[late] = n + 5 + np.arange(late.sum()) * 0.05
                days[~late & (orders >= at_run)] += 10  # later commits: run after the change as well
                shifted = days >= n + 5
                shifted |= orders >= at_run
                env_runs[machine] = (at_run,)
                edges = sorted({int(o) for o in orders[late] if o % 3 == 0} | {int(o) + 1 for o in orders[late] if o % 3 == 2})
            else:
                shifted = orders >= at_run
                env_runs[machine] = (at_run,)
            median = float(rng.choice([-1.0, 1.0]) * rng.uniform(math.log(1.10), math.log(1.30)))
            series_factor_sigma = 0.02 if name != "hardware-change" else 0.30
            if name == "hardware-change":
                median = math.log(0.75)
        if name == "nightly":
            # every commit run once, in order, one run a day (commit order and run time confounded), and two
            # machine-wide shifts at run boundaries, each moving every series by a similar factor of 5-20%
            first = int(rng.integers(n // 5, n // 2))
            env_runs[machine] = (first, int(rng.integers(first + 4, 4 * n // 5)))
            nightly_logs = [float(rng.choice([-1.0, 1.0]) * rng.uniform(math.log(1.05), math.log(1.20))) for _ in range(2)]
            series_factor_sigma = 0.02
        if name == "ephemeral":
            # 40 short-lived runners of one kind of hardware, five commits each
            runners = 40
            names = [f"fv-az{100 + 7 * r}-{500 + r + 1000 * mi}" for r in range(runners)]
            per_runner = math.ceil(n / runners)
            runner_of = np.minimum(orders // per_runner, runners - 1)
            for r in names:
                machines.append(
                    {"machine": r, "cpu": f"EPYC 7763 batch {mi}", "arch": "x86_64", "num_cpu": "4", "os": "Linux", "ram": "16GB"}
                )
            group = f"fv-az#-# (EPYC 7763 batch {mi})" if n_series > per_machine else "fv-az#-#"
            host_speed = np.exp(rng.normal(0.0, 0.015, runners))  # hosts of one kind differ a little (1.5%)
        for si in range(per_machine):
            if len(truth) >= n_series:
                break
            row = noise[int(rng.integers(len(noise)))]
            bench = f"bench_c{si % classes}.C{si % classes}.time_op"
            params = f"n={si // classes}"
            kind, size, at, up = _plant(rng, n, 0.25)
            if name == "nightly" and kind == "step" and rng.random() < 1 / 3:
                # a third of the code steps right at a shift or a commit either side of it
                at = int(rng.choice(env_runs[machine])) + int(rng.integers(-1, 2))
            level = np.full(n, 1e-4 * float(np.exp(rng.normal(0, 1))))
            if kind == "step":
                level[at:] *= (1 + size) if up else 1 / (1 + size)
            bimodal = None
            if name == "bimodal" and kind == "flat" and rng.random() < 0.5:
                kind = "bimodal"
                high = float(rng.uniform(1.3, 2.0))
                switch = rng.random(n) < 0.3
                if rng.random() < 0.5:
                    level[switch] *= high  # the run landed on the slow mode
                else:
                    bimodal = np.where(switch, high, 1.0)  # some of its samples did: bimodal within runs
                    level[switch & (rng.random(n) < 0.5)] *= high
            env_moved = -1
            env_edges: tuple[int, ...] = tuple(edges) if name == "reruns" else ()
            env_shifts: tuple[int, ...] = ()
            if name == "nightly":
                for k, log_f in zip(env_runs[machine], nightly_logs, strict=True):
                    level[orders >= k] *= math.exp(log_f + rng.normal(0.0, series_factor_sigma))
                env_moved, env_shifts = env_runs[machine][0], env_runs[machine]
            elif machine in env_runs:
                f = math.exp(median + rng.normal(0.0, series_factor_sigma))
                level[shifted] *= f
                env_moved = env_runs[machine][0]
            values, a, b, samples = simulate(rng, row, level, bimodal=bimodal)
            current = True
            target_machine, target_env = machine, env
            if name == "stale" and kind == "step":
                kind_stale = si % 4
                up = True
                level_size = size
                # four ways to be stale: benchmark removed, env retired, machine retired, not measured lately
                if kind_stale == 0:
                    current = False
                elif kind_stale == 1:
                    target_env = "virtualenv-py3.8"
                elif kind_stale == 2:
                    target_machine = f"old{mi}"
                kind = "stale"
                size = level_size
                level2 = np.full(n, level[0])
                level2[at:] *= 1 + size
                values, a, b, samples = simulate(rng, row, level2)
            keep = np.ones(n, dtype=bool)
            d = days.copy()
            if name == "stale" and kind == "stale":
                if si % 4 == 3:
                    keep = orders < n - 5
                if si % 4 in (1, 2):
                    d = d - 400.0  # last run more than a year before the rest
            if name == "ephemeral":
                host = (host_speed * np.exp(rng.normal(0.0, 0.005, runners)))[runner_of]  # and each series a little differently
                for r, rname in enumerate(names):
                    part = keep & (runner_of == r)
                    vv, aa, bb = values * host, a * host, b * host
                    _rows(rows, rname, env, bench, params, orders[part], d[part], vv[part], aa[part], bb[part])
                truth.append(Truth(f"{group}|{env}|{bench}|{params}", f"*|{env}|{bench}|{params}|{mi}", kind, size, at, up, env_moved))
                continue
            smp = samples if bimodal is not None else None
            _rows(rows, target_machine, target_env, bench, params, orders[keep], d[keep], values[keep], a[keep], b[keep], smp, current)
            key = f"{target_machine}|{target_env}|{bench}|{params}"
            truth.append(Truth(key, key, kind, size, at, up, env_moved, env_edges, env_shifts))
    table = pd.DataFrame(rows)
    for c in ("machine", "env", "benchmark", "params", "series", "commit", "file", "type", "unit", "status", "version"):
        table[c] = table[c].astype("category")
    table = table.sort_values(["series", "commit_order"]).reset_index(drop=True)
    return Scenario(name, table, pd.DataFrame(machines), truth, env_runs)


@dataclass
class _Result:
    """Ours vs asv for one scenario."""

    found: dict[float, list[int]] = field(default_factory=dict)  # size -> [ours, asv, count]
    false_steps: list[int] = field(default_factory=lambda: [0, 0, 0])  # ours, asv, no-change series
    false_regressions: list[int] = field(default_factory=lambda: [0, 0])
    moved: list[int] = field(default_factory=lambda: [0, 0, 0])  # moved series blamed on code: ours, asv; moved series
    shifts: list[int] = field(default_factory=lambda: [0, 0])  # machines whose shift was reported at its run; machines shifted
    unstable: list[int] = field(default_factory=lambda: [0, 0])  # bimodal series called unstable; bimodal series
    bimodal_steps: list[int] = field(default_factory=lambda: [0, 0])  # bimodal series with a code step: ours, asv
    stale: list[int] = field(default_factory=lambda: [0, 0, 0])  # stale series with a regression in effect: ours, asv; stale series
    at_env: list[int] = field(default_factory=lambda: [0, 0])  # code steps within a commit of a shift: found by ours; planted
    # 10% code steps of a machine with a shift, by commits from the nearest shift ("0-1", "2-4", "5+"): [found by ours, planted]
    by_distance: dict[str, list[int]] = field(default_factory=dict)
    seconds: float = 0.0


def _near(order_before: int, order_after: int, at: int) -> bool:
    return order_before - 1 <= at - 1 and order_after + 1 >= at


def score_scenario(sc: Scenario, cache_dir: Path | None = None) -> _Result:
    """Run our analysis once on the scenario's table and asv per series; count what each found."""
    from tensorscope.analysis.regressions import analyse

    res = _Result(found={size: [0, 0, 0] for size in SIZES})

    class _View:
        results = sc.table
        machines = sc.machines

    t0 = time.perf_counter()
    verdicts = analyse(_View(), cache_dir=cache_dir)
    res.seconds = time.perf_counter() - t0
    steps = verdicts.steps
    by_series = {k: g for k, g in steps.groupby("series", sort=False)}
    unstable = set(verdicts.unstable["series"])
    live = verdicts.in_effect(0.05)
    live_reg = set(live[live["kind"] == "regression"]["series"])
    shifts = verdicts.environment_shifts
    # asv: its detector on each series as it is stored (per machine name), values in commit order
    asv_by: dict[str, list[tuple[int, int, bool]]] = {}
    for key, g in sc.table.groupby("series", observed=True, sort=False):
        g = g.sort_values("commit_order")
        o = g["commit_order"].to_numpy()
        found = asv_steps(g["value"].to_numpy(), ci_a=g["ci_99_a"].to_numpy(), ci_b=g["ci_99_b"].to_numpy())
        asv_by[str(key)] = [(int(o[x.before]), int(o[x.after]), x.value_after > x.value_before) for x in found]
    for tr in sc.truth:
        ours = by_series.get(tr.series)
        ours_l = [] if ours is None else list(zip(ours["order_before"], ours["order_after"], ours["ratio"] > 1, strict=True))
        if tr.asv_key.startswith("*|"):  # a runner group: asv sees each runner's few points apart
            rest, mi = tr.asv_key[2:].rsplit("|", 1)
            asv_l = [
                x
                for k, v in asv_by.items()
                if k.split("|", 1)[1] == rest and int(k.split("|")[0].rsplit("-", 1)[1]) // 1000 == int(mi)
                for x in v
            ]
        else:
            asv_l = asv_by.get(tr.asv_key, [])
        bounds = tr.boundaries()

        def at_env(x: tuple[int, int, bool], bounds: tuple[int, ...] = bounds) -> bool:
            return any(_near(x[0], x[1], e) for e in bounds)

        # a code step at (or a commit beside) a shift: a step reported there in its direction is the code's
        own_at_env = tr.kind == "step" and any(abs(tr.at - e) <= 1 for e in bounds)
        if bounds and not own_at_env:
            res.moved[0] += any(at_env(x) for x in ours_l)
            res.moved[1] += any(at_env(x) for x in asv_l)
            res.moved[2] += 1
        # code steps away from the environment's boundaries
        ours_c = [x for x in ours_l if not at_env(x)]
        asv_c = [x for x in asv_l if not at_env(x)]
        if tr.kind == "step":
            cell = res.found[tr.size]
            ours_s, asv_s = (ours_l, asv_l) if own_at_env else (ours_c, asv_c)
            cell[0] += any(_near(b, a, tr.at) and up == tr.up for b, a, up in ours_s)
            cell[1] += any(_near(b, a, tr.at) and up == tr.up for b, a, up in asv_s)
            cell[2] += 1
            res.at_env[0] += own_at_env and any(_near(b, a, tr.at) and up == tr.up for b, a, up in ours_s)
            res.at_env[1] += own_at_env
            if bounds and tr.size == 0.10:
                far = min(abs(tr.at - e) for e in bounds)
                cell = res.by_distance.setdefault("0-1" if far <= 1 else "2-4" if far <= 4 else "5+", [0, 0])
                cell[0] += any(_near(b, a, tr.at) and up == tr.up for b, a, up in ours_s)
                cell[1] += 1
        elif tr.kind == "flat":
            res.false_steps[0] += bool(ours_c)
            res.false_steps[1] += bool(asv_c)
            res.false_steps[2] += 1
            res.false_regressions[0] += any(up for _, _, up in ours_c)
            res.false_regressions[1] += any(up for _, _, up in asv_c)
        elif tr.kind == "bimodal":
            res.unstable[0] += tr.series in unstable
            res.unstable[1] += 1
            res.bimodal_steps[0] += bool(ours_c)
            res.bimodal_steps[1] += bool(asv_c)
        elif tr.kind == "stale":
            res.stale[0] += tr.series in live_reg
            res.stale[1] += any(up for _, _, up in asv_l)  # asv's regressions.json lists it while its jump stands
            res.stale[2] += 1
    orders = {o: i for i, o in enumerate(sorted(sc.table["commit_order"].unique()))}
    for machine, runs in sc.env_runs.items():
        got = shifts[shifts["machine"].astype(str) == machine]
        commits = [int(c, 16) for c in got["commit_after"].astype(str)]
        for at in runs:
            res.shifts[1] += 1
            res.shifts[0] += any(abs(orders.get(c, -99) - orders.get(at, -1)) <= 1 for c in commits)
    return res


def delay_main(args: argparse.Namespace, noise: list[Noise]) -> int:
    """--delay: how many commits a real step needs at the end of a history before it is reported (persistence's price)."""
    rng = np.random.default_rng(args.seed)
    n = args.commits
    print(
        f"\n{args.series} series per cell, {n} commits, a step of the given size k commits before the newest (found = reported at its commit +-1)"
    )
    print("| size | " + " | ".join(f"k={k}" for k in range(1, 9)) + " |")
    print("|---|" + "---|" * 8)
    for size in (0.10, 0.20, 0.50):
        cells = []
        for k in range(1, 9):
            ours = theirs = 0
            for _ in range(args.series):
                row = noise[int(rng.integers(len(noise)))]
                at, up = n - k, bool(rng.integers(2))
                values, a, b = history(rng, row, n, "step", (1 + size) if up else 1 / (1 + size), at)
                ours += hit(find_steps(values, ci_a=a, ci_b=b, alpha=args.alpha), at, up)
                theirs += hit(asv_steps(values, ci_a=a, ci_b=b), at, up)
            cells.append(f"{ours / args.series:.0%} / {theirs / args.series:.0%}")
        print(f"| {size:.0%} | " + " | ".join(cells) + " |")
    return 0


def scenarios_main(args: argparse.Namespace, noise: list[Noise]) -> int:
    """--scenarios: one table per scenario, ours vs asv."""
    rng = np.random.default_rng(args.seed)
    names = args.scenario or list(SCENARIOS)
    print(f"\n{args.series} series per scenario (25% with one code step of 5/10/20/50%, up or down), {args.commits} commits each")
    print(
        "ours / asv; recall = the code step found at its commit (+-1) in the right direction, by a step away from any environment "
        "boundary (a code step within a commit of a shift: by a step there, the series' own direction); moved series blamed on code: "
        "series with no code step of their own at a shift that get one there\n"
    )
    head = "| scenario | recall 5% | recall 10% | recall 20% | recall 50% | false code steps per 1,000 no-change series (regressions) |"
    head += " moved series blamed on code | shifts reported as such | other |"
    print(head)
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        sc = build_scenario(name, rng, noise, args.series, args.commits if name != "ephemeral" else 200)
        r = score_scenario(sc)

        def pct(x: int, n: int) -> str:
            return f"{x / n:.1%}" if n else "-"

        rec = [f"{pct(r.found[s][0], r.found[s][2])} / {pct(r.found[s][1], r.found[s][2])}" for s in SIZES]
        n0 = r.false_steps[2]
        fa = (
            f"{1000 * r.false_steps[0] / n0:.1f} ({1000 * r.false_regressions[0] / n0:.1f}) / "
            f"{1000 * r.false_steps[1] / n0:.1f} ({1000 * r.false_regressions[1] / n0:.1f}) (n={n0})"
            if n0
            else "-"
        )
        moved = f"{pct(r.moved[0], r.moved[2])} / {pct(r.moved[1], r.moved[2])} (n={r.moved[2]})" if r.moved[2] else "-"
        shifts = f"{r.shifts[0]} of {r.shifts[1]}" if r.shifts[1] else "-"
        other = []
        if r.unstable[1]:
            other.append(
                f"bimodal: {pct(r.unstable[0], r.unstable[1])} called unstable, with a code step "
                f"{pct(r.bimodal_steps[0], r.unstable[1])} / {pct(r.bimodal_steps[1], r.unstable[1])}"
            )
        if r.stale[2]:
            other.append(
                f"stale series with a regression in effect {pct(r.stale[0], r.stale[2])} / {pct(r.stale[1], r.stale[2])} (n={r.stale[2]})"
            )
        if r.at_env[1]:
            other.append(f"code steps within a commit of a shift found {r.at_env[0]} of {r.at_env[1]}")
        if r.by_distance:
            cells = ", ".join(f"{k} {r.by_distance[k][0]} of {r.by_distance[k][1]}" for k in ("0-1", "2-4", "5+") if k in r.by_distance)
            other.append(f"10% steps found, by commits from the nearest shift: {cells}")
        other.append(f"analysis {r.seconds:.1f} s")
        print(f"| {name} | " + " | ".join(rec) + f" | {fa} | {moved} | {shifts} | {'; '.join(other)} |")
        sys.stdout.flush()
    return 0


# --------------------------------------------------------------------------------------
# Real histories (--real): what each detector reports on the shared sets nobody here wrote.

REAL_SETS = ("numpy-bench", "BLAS-Benchmarks", "thematrix", "mjwarp-asv", "geocat-comp-asv", "uxarray-asv", "scipy-bench")


def _asv_levels(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[tuple[int, float, int]]:
    """asv's own segmentation of one series (``step_detect.detect_steps`` with its CI weights): (position, ratio, points after) per level change."""
    from asv import step_detect

    from tensorscope.analysis.verdicts.steps import _asv_weights

    ok = np.isfinite(values) & (values > 0)
    y = values[ok]
    if len(y) < 2:
        return []
    segments = step_detect.detect_steps(y.tolist(), _asv_weights(y, a[ok], b[ok]))
    out = []
    for (_l0, _r0, v0, _m0, _e0), (l1, r1, v1, _m1, _e1) in itertools.pairwise(segments):
        out.append((l1, v1 / v0 if v0 else math.inf, r1 - l1))
    return out


def _flip_stats(steps: list[list[tuple[int, float, int, bool]]], within: int) -> tuple[int, int, int, int]:
    """(steps, flip-flops, steps whose new level has <= 2 points, flip-flops not listed as a transient and its fix).

    Each series' steps are (position, ratio, points on the new level, undone by the series' next step) in
    order; steps below the size of interest are left out before, so a reversal is counted between reported
    steps only. A flip-flop is a step the series' next step reverses within ``within`` points; it is listed
    as a transient when that next step restores the level it left (``undone_by`` in ``report --all``).
    """
    total = flips = short = unlisted = 0
    for series in steps:
        for i, (_pos, ratio, n_after, fixed) in enumerate(series):
            total += 1
            short += n_after <= 2
            # the level between the two steps holds n_after points
            if i + 1 < len(series) and (ratio > 1) != (series[i + 1][1] > 1) and n_after <= within:
                flips += 1
                unlisted += not fixed
    return total, flips, short, unlisted


def real_main(sets: list[str], min_change: float = 0.05) -> int:
    """--real: per shared set, steps per series, flip-flop rate and two-point levels, ours vs asv's step_detect."""
    from tensorscope.analysis.regressions import analyse
    from tensorscope.analysis.verdicts.effect import undone

    print(
        f"\nReal histories: steps of {min_change:.0%} or more. Flip-flop = the series' next step goes the other way within 5 (10) points;"
        " not listed as a transient = that next step does not restore the level left (no undone_by in report --all)."
    )
    print("ours (code steps) / asv (its step_detect segmentation, the levels `asv publish` finds)\n")
    print(
        "| set | series | steps per series | flip-flop within 5 | not listed as a transient | within 10 | two-point levels | environment shifts | unstable series | in effect (regressions) | analysis |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in sets:
        root = SHARED / name
        index = root / "asv_publish_output" / "index.json"
        rs = load_results(root / "results", index_json=index if index.is_file() else None)
        t0 = time.perf_counter()
        v = analyse(rs)
        seconds = time.perf_counter() - t0
        ours: list[list[tuple[int, float, int, bool]]] = []
        # a step the report lists as a transient: undone (back to the level it left) by the series' next step
        steps = pd.concat([v.steps, undone(v.steps, min_change)], axis=1)
        steps = steps[(steps["factor"] - 1).abs() >= min_change]
        for _, g in steps.sort_values("order_after").groupby(["series", "version_segment"], sort=False):
            nxt = itertools.zip_longest(g["undone_by"], g["commit_after"].iloc[1:])
            fixed = [isinstance(a, str) and a == str(b) for a, b in nxt]
            ours.append(list(zip(g["order_after"].astype(int), g["ratio"], g["n_after"].astype(int), fixed, strict=True)))
        theirs: list[list[tuple[int, float, int, bool]]] = []
        t = rs.results
        ok = t[(t["status"] == "ok") & (t["value"] > 0)]
        for _, g in ok.groupby(["series", "version_segment"], observed=True, sort=False):
            g = g.sort_values("commit_order")
            levels = _asv_levels(g["value"].to_numpy(float), g["ci_99_a"].to_numpy(float), g["ci_99_b"].to_numpy(float))
            # asv lists no transients: every flip-flop of its levels is unlisted
            theirs.append([(*x, False) for x in levels if x[1] >= 1 + min_change or x[1] <= 1 / (1 + min_change)])
        n = v.stats["series"]
        o5, a5 = _flip_stats(ours, 5), _flip_stats(theirs, 5)
        o10, a10 = _flip_stats(ours, 10), _flip_stats(theirs, 10)

        def rate(x: tuple[int, int, int, int], k: int) -> str:
            return f"{x[k] / x[0]:.1%}" if x[0] else "-"

        effect = v.in_effect(min_change)
        print(
            f"| {name} | {n} | {o5[0] / n:.3f} / {a5[0] / max(len(theirs), 1):.3f} | {rate(o5, 1)} / {rate(a5, 1)} | {rate(o5, 3)} / {rate(a5, 3)} "
            f"| {rate(o10, 1)} / {rate(a10, 1)} "
            f"| {rate(o5, 2)} / {rate(a5, 2)} | {len(v.environment_shifts)} | {len(v.unstable)} | {int((effect['kind'] == 'regression').sum())} "
            f"| {seconds:.1f} s |"
        )
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=400, help="series per row (default 400)")
    ap.add_argument("--commits", type=int, default=40, help="commits per history (default 40)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    ap.add_argument("--noise-from", "--sets", dest="sets", nargs="+", type=Path, default=None, help="asv results directories")
    ap.add_argument(
        "--noise-cv",
        type=float,
        default=None,
        metavar="CV",
        help="instead of real results: every series has this within-run sample CV (e.g. 0.03, the full profile's target)",
    )
    ap.add_argument("--samples", type=int, default=10, help="samples per run with --noise-cv (default 10, the full profile's most)")
    ap.add_argument(
        "--between-ratio",
        type=float,
        default=None,
        help="between-run sigma / spread of a run's median, for series whose history cannot tell (default: measured)",
    )
    ap.add_argument(
        "--same-code",
        nargs="+",
        metavar="COMMIT",
        default=None,
        help="measure the between-run spread, per backend, on the runs of these commits (whose benchmarked code is "
        "the same) instead of from histories; every series gets its backend's ratio",
    )
    ap.add_argument("--env", default=None, metavar="PATTERN", help="only runs of asv environments matching this regex (e.g. THREADS1)")
    ap.add_argument(
        "--profile",
        default=None,
        help="model the within-run noise on the runs of this tensorscope profile only (e.g. full); "
        "the between-run ratio then comes from all runs of the same directories",
    )
    ap.add_argument(
        "--scenarios",
        action="store_true",
        help="histories with real structure through the full analysis: " + ", ".join(SCENARIOS) + " (see --scenario)",
    )
    ap.add_argument("--scenario", action="append", choices=SCENARIOS, default=None, help="only this scenario (repeatable)")
    ap.add_argument("--real", nargs="*", default=None, metavar="SET", help="the shared real histories instead (default: all of them)")
    ap.add_argument("--delay", action="store_true", help="how many commits after a step it takes to be reported (ours vs asv)")
    args = ap.parse_args(argv)
    if args.real is not None:
        return real_main(args.real or list(REAL_SETS))
    if args.noise_cv is not None:
        sets: list[Path] = []
        noise, how = real_noise([], args.between_ratio, [Noise(None, args.noise_cv, args.samples, math.nan)])
        print(f"noise model: within-run sample CV {args.noise_cv:.1%}, {args.samples} samples per run")
    else:
        sets = [p for p in (args.sets or default_noise_dirs()) if p.is_dir()]
        if not sets:
            print("no results directory found for the noise model", file=sys.stderr)
            return 2
        if args.same_code:
            if args.between_ratio is not None:
                print("--same-code and --between-ratio are alternatives: give one", file=sys.stderr)
                return 2
            ratios, pairs = same_code_ratios(sets, args.same_code, args.profile, args.env)
            if not ratios:
                print(f"no series was run at two of {' '.join(args.same_code)} (with --profile/--env as given)", file=sys.stderr)
                return 2
            # the noise model is that of those runs: within-run spread from them too
            rows = [r for root in sets for r in _series_noise(root, args.profile, args.env, args.same_code)]
            for r in rows:
                ratio = ratios.get(r.backend, ratios["all"])
                r.sigma_between = ratio * r.median_spread()
            noise = rows
            how = (
                f"between-run spread measured on runs of the same code at {' '.join(args.same_code)}, per backend: "
                + ", ".join(f"{k} {v:.2f} x ({pairs[k]} pairs)" for k, v in sorted(ratios.items()))
                + " the run median's spread; within-run noise from the same runs"
            )
        elif args.profile is None and args.env is None:
            noise, how = real_noise(sets, args.between_ratio)
        else:
            ratio = args.between_ratio
            if ratio is None:
                ratio = _between_ratio([r for root in sets for r in _series_noise(root)])
            rows = [r for root in sets for r in _series_noise(root, args.profile, args.env)]
            if not rows:
                print(f"no runs of profile {args.profile!r} / env {args.env!r} in {', '.join(map(str, sets))}", file=sys.stderr)
                return 2
            source = "--between-ratio" if args.between_ratio is not None else "all runs of the same results"
            noise, how = real_noise([], None if ratio != ratio else ratio, rows, source)
            how += f" (within-run noise from the {args.profile!r} profile's runs only)"
        print(f"noise model: {len(noise)} real timed series from {', '.join(str(p) for p in sets)}")
    print(f"  {how}")
    sw = np.array([r.sigma_within for r in noise])
    sb = np.array([r.sigma_between for r in noise])
    ns = np.array([r.n_samples for r in noise])
    q = lambda x: " ".join(f"{v:.3f}" for v in np.percentile(x, [10, 50, 90]))  # noqa: E731 - local formatter
    print(f"  p10/p50/p90 within-run sigma: {q(sw)}; between-run sigma: {q(sb)}; samples per run: {q(ns)}")
    if args.scenarios:
        return scenarios_main(args, noise)
    if args.delay:
        return delay_main(args, noise)
    rng = np.random.default_rng(args.seed)
    n = args.commits
    bands = [(0.0, 0.02, "< 2%"), (0.02, 0.05, "2-5%"), (0.05, 0.10, "5-10%"), (0.10, math.inf, ">= 10%")]
    totals = np.array([r.commit_sigma() for r in noise])
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
    # result[label][band] = [ours, asv, extra_ours, extra_asv, count, range_ours, range_asv]
    result: dict[str, dict[str, list[float]]] = {k[0]: {b[2]: [0, 0, 0, 0, 0, 0, 0] for b in bands} for k in kinds}
    t_ours = t_asv = 0.0
    calls = 0
    for label, kind, size in kinds:
        for _ in range(args.series):
            row = noise[int(rng.integers(len(noise)))]
            band = next(b[2] for b in bands if b[0] <= row.commit_sigma() < b[1])
            up = bool(rng.integers(2))
            at = int(rng.integers(n // 4, 3 * n // 4))
            factor = (1 + size) if up else 1 / (1 + size)
            values, a, b = history(rng, row, n, kind, factor, at)
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
                cell[5] += sum(x.after - x.before for x in s1 if hit([x], at, up))
                cell[6] += sum(x.after - x.before for x in s2 if hit([x], at, up))
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
        tot = [sum(cells[b[2]][k] for b in bands) for k in range(7)]
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
            width = f"{tot[5] / tot[0]:.2f} / {tot[6] / tot[1]:.2f}" if tot[0] and tot[1] else "-"
            print(f"| {label} | commits per found range | {width} | " + " | ".join("" for _ in bands) + " |")
    print(f"\ntime per series: tensorscope {t_ours / calls * 1e3:.2f} ms, asv {t_asv / calls * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
