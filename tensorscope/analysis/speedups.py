"""Speedups of backends over a baseline backend, crossover sizes, env-var ablations (SIMD on/off), GPU over CPU.

Public API
==========

``speedups(table, *, baseline="python", backend_param="backend") -> DataFrame``
    For every ok row whose ``param_<backend_param>`` is not the baseline, the matching baseline row
    (same machine, commit, env, benchmark and every other parameter). ``baseline`` may also be a
    mapping ``{backend: its baseline backend}`` (see :func:`device_speedups`). Columns: machine,
    commit, commit_order, env, benchmark, the ``param_*`` columns, ``backend``, ``baseline``,
    ``value`` and ``baseline_value`` (in ``unit``), ``speedup`` = baseline_value / value,
    ``speedup_low`` / ``speedup_high``: the interval from the two measurements' 99% CIs
    (baseline_ci_99_a / ci_99_b .. baseline_ci_99_b / ci_99_a; NaN where a CI is missing or infinite).
    Only lower-is-better benchmarks (``type`` time, memory, peakmemory) are compared.

``crossover(speedup_table, *, size_param="size", confident=False) -> DataFrame``
    Per (machine, commit, env, benchmark, backend, other params): ``crossover_size``, the smallest size
    from which the backend wins (speedup > 1, or speedup_low > 1 with ``confident``) at every larger
    size measured; NaN when it never does; ``wins_everywhere`` when it wins at the smallest size too.

``env_ratios(table, envs, var, *, numerator="off", denominator="on") -> DataFrame``
    Compare environments that differ only in the environment variable ``var`` (``envs`` is
    ``ResultSet.envs``; asv's ``env_vars`` recorded in each result file). ``ratio`` = value in the
    ``numerator`` env / value in the ``denominator`` env, e.g. SIMD-off time / SIMD-on time = how many
    times faster SIMD makes it; with ``ratio_low``/``ratio_high`` from the CIs.

``device_speedups(table, *, pairs=DEVICE_PAIRS) -> DataFrame``
    GPU over CPU: ``speedups`` with each GPU backend compared to its CPU counterpart
    (``torch:cuda`` vs ``torch:cpu``, ``jax:gpu`` vs ``jax:cpu``, ``cupy`` vs ``numpy``).

``fastest(table, *, baseline="python", backend_param="backend", size_param="size") -> DataFrame``
    Which backend is fastest at each op's largest size. One row per (machine, env, benchmark,
    every parameter but backend and size), taken at the newest commit that measured it (ok
    ``time`` rows only): ``size`` (the largest size measured there, as in ``param_<size>``),
    ``backend`` and ``value`` (the fastest there, seconds), ``backends`` (how many were measured
    at that size), ``runner_up`` / ``runner_up_value`` and ``lead`` = runner_up_value / value
    (missing / NaN with a single backend), and the fastest backend's speedup over ``baseline``:
    ``speedup`` = baseline time / its time at ``baseline_size``, the largest size both were
    measured at (the baseline is often too slow to run at the largest sizes; NaN when they
    share no size), with ``baseline_value`` and ``value_at_baseline_size``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..results import param_columns

__all__ = ["DEVICE_PAIRS", "crossover", "device_speedups", "env_ratios", "fastest", "speedups"]

DEVICE_PAIRS: Mapping[str, str] = {"torch:cuda": "torch:cpu", "jax:gpu": "jax:cpu", "jax:cuda": "jax:cpu", "cupy": "numpy"}
_LOWER_TYPES = ("time", "memory", "peakmemory")
_KEYS = ["machine", "commit", "env", "benchmark"]


def _ok(table: pd.DataFrame) -> pd.DataFrame:
    t = table[(table["status"] == "ok") & (table["value"] > 0)]
    if "type" in t.columns:
        t = t[t["type"].astype(str).isin(_LOWER_TYPES)]
    return t


def _ratio_interval(num_a: pd.Series, num_b: pd.Series, den_a: pd.Series, den_b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of num/den from the two CIs; NaN where either CI is missing, infinite or <= 0."""
    na, nb, da, db = (np.asarray(x, dtype=float) for x in (num_a, num_b, den_a, den_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        low = na / db
        high = nb / da
    bad = ~(np.isfinite(na) & np.isfinite(nb) & np.isfinite(da) & np.isfinite(db) & (na > 0) & (da > 0))
    low[bad] = np.nan
    high[bad] = np.nan
    return low, high


def speedups(table: pd.DataFrame, *, baseline: str | Mapping[str, str] = "python", backend_param: str = "backend") -> pd.DataFrame:
    """Speedup of every backend over ``baseline``; see the module docstring."""
    col = f"param_{backend_param}"
    if col not in table.columns:
        return pd.DataFrame(columns=[*_KEYS, "backend", "baseline", "speedup"])
    t = _ok(table)
    others = [c for c in param_columns(t) if c != col]
    keep = ["machine", "commit", "commit_order", "env", "benchmark", *others, col, "unit", "value", "ci_99_a", "ci_99_b"]
    t = t[keep].copy()
    for c in ["machine", "commit", "env", "benchmark", *others, col]:
        t[c] = t[c].astype(str).where(t[c].notna(), "")
    t = t.rename(columns={col: "backend"})
    if isinstance(baseline, str):
        base = t[t["backend"] == baseline]
        rest = t[t["backend"] != baseline].assign(baseline=baseline)
    else:
        rest = t[t["backend"].isin(list(baseline))].assign(baseline=lambda d: d["backend"].map(dict(baseline)))
        base = t[t["backend"].isin(set(baseline.values()))]
    base = base.rename(
        columns={"value": "baseline_value", "ci_99_a": "baseline_ci_99_a", "ci_99_b": "baseline_ci_99_b", "backend": "baseline"}
    )
    base = base.drop(columns=["commit_order", "unit"])
    merged = rest.merge(base, on=["machine", "commit", "env", "benchmark", *others, "baseline"], how="inner")
    merged["speedup"] = merged["baseline_value"] / merged["value"]
    low, high = _ratio_interval(merged["baseline_ci_99_a"], merged["baseline_ci_99_b"], merged["ci_99_a"], merged["ci_99_b"])
    merged["speedup_low"] = low
    merged["speedup_high"] = high
    return merged.reset_index(drop=True)


def device_speedups(table: pd.DataFrame, *, pairs: Mapping[str, str] = DEVICE_PAIRS, backend_param: str = "backend") -> pd.DataFrame:
    """GPU backends over their CPU counterparts (``speedups`` with a baseline per backend)."""
    return speedups(table, baseline=pairs, backend_param=backend_param)


FASTEST_COLUMNS = [
    "machine",
    "env",
    "commit",
    "commit_order",
    "benchmark",
    "size",
    "backend",
    "value",
    "unit",
    "backends",
    "runner_up",
    "runner_up_value",
    "lead",
    "baseline",
    "baseline_size",
    "baseline_value",
    "value_at_baseline_size",
    "speedup",
]


def fastest(table: pd.DataFrame, *, baseline: str = "python", backend_param: str = "backend", size_param: str = "size") -> pd.DataFrame:
    """The fastest backend at each op's largest size and its speedup over ``baseline``; see the module docstring."""
    backend_col, size_col = f"param_{backend_param}", f"param_{size_param}"
    if backend_col not in table.columns or size_col not in table.columns:
        return pd.DataFrame(columns=FASTEST_COLUMNS)
    t = _ok(table)
    t = t[t["type"].astype(str) == "time"] if "type" in t.columns else t[t["unit"].astype(str) == "seconds"]
    others = [c for c in param_columns(t) if c not in (backend_col, size_col)]
    t = t[["machine", "commit", "commit_order", "env", "benchmark", *others, backend_col, size_col, "unit", "value"]]
    t = t[t[backend_col].notna()]
    group = ["machine", "env", "benchmark", *others]
    # each op at the newest commit that measured it: backends are compared within one run. Picked
    # on the table's own (categorical) columns first, so only those rows become text below.
    op = t.groupby(group, sort=False, observed=True, dropna=False).ngroup()
    t = t[t["commit_order"].to_numpy() == t["commit_order"].groupby(op.to_numpy()).transform("max").to_numpy()].copy()
    t["_size"] = pd.to_numeric(t[size_col].astype(str), errors="coerce")
    t = t[t["_size"].notna()]
    for c in ["machine", "commit", "env", "benchmark", *others, backend_col, size_col, "unit"]:
        t[c] = t[c].astype(str).where(t[c].notna(), "")
    if t.empty:
        return pd.DataFrame(columns=[*FASTEST_COLUMNS, *others])
    t = t.rename(columns={backend_col: "backend"}).sort_values([*group, "value"], kind="stable")
    top = t[t["_size"] == t.groupby(group, sort=False)["_size"].transform("max")]
    best = top.drop_duplicates(group).rename(columns={size_col: "size"})
    best = best.merge(top.groupby(group, sort=False)["backend"].nunique().rename("backends").reset_index(), on=group)
    second = top.merge(best[[*group, "backend"]], on=group, suffixes=("", "_best"))
    second = second[second["backend"] != second["backend_best"]].drop_duplicates(group)
    second = second[[*group, "backend", "value"]].rename(columns={"backend": "runner_up", "value": "runner_up_value"})
    out = best.merge(second, on=group, how="left")
    out["lead"] = out["runner_up_value"] / out["value"]
    # the fastest backend's speedup over the baseline at the largest size both ran
    mine = t.merge(best[[*group, "backend"]], on=[*group, "backend"]).groupby([*group, "_size"], sort=False)["value"].min()
    base = (
        t[t["backend"] == baseline]
        .groupby([*group, "_size"], sort=False)
        .agg(baseline_value=("value", "min"), baseline_size=(size_col, "first"))
    )
    both = base.join(mine.rename("value_at_baseline_size"), how="inner").reset_index()
    both = both[both["_size"] == both.groupby(group, sort=False)["_size"].transform("max")].drop(columns="_size")
    out = out.merge(both, on=group, how="left")
    out["baseline"] = baseline
    out["speedup"] = out["baseline_value"] / out["value_at_baseline_size"]
    out["commit_order"] = out["commit_order"].astype(int)
    return out[[*FASTEST_COLUMNS[:5], *others, *FASTEST_COLUMNS[5:]]].sort_values(group, kind="stable").reset_index(drop=True)


def _size_number(v: object) -> float:
    try:
        return float(str(v))
    except ValueError:
        return float("nan")


def crossover(speedup_table: pd.DataFrame, *, size_param: str = "size", confident: bool = False) -> pd.DataFrame:
    """Smallest size from which each backend beats the baseline at every larger size; see the module docstring."""
    col = f"param_{size_param}"
    if speedup_table.empty or col not in speedup_table.columns:
        return pd.DataFrame(columns=[*_KEYS, "backend", "crossover_size", "wins_everywhere"])
    s = speedup_table.assign(_size=speedup_table[col].map(_size_number)).dropna(subset=["_size"])
    metric = "speedup_low" if confident else "speedup"
    group = [
        c
        for c in ["machine", "commit", "commit_order", "env", "benchmark", "backend", "baseline", *param_columns(s)]
        if c in s.columns and c != col
    ]
    rows = []
    for key, g in s.groupby(group, sort=False, dropna=False):
        g = g.sort_values("_size")
        wins = (g[metric] > 1.0).to_numpy()
        sizes = g["_size"].to_numpy()
        # the last run of wins that reaches the largest size
        cross = np.nan
        if len(wins) and wins[-1]:
            i = len(wins) - 1
            while i > 0 and wins[i - 1]:
                i -= 1
            cross = sizes[i]
        row = dict(zip(group, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({"crossover_size": cross, "wins_everywhere": bool(len(wins) and wins.all()), "sizes": len(sizes)})
        rows.append(row)
    return pd.DataFrame(rows)


def env_ratios(table: pd.DataFrame, envs: pd.DataFrame, var: str, *, numerator: str = "off", denominator: str = "on") -> pd.DataFrame:
    """value(env with var=numerator) / value(env with var=denominator), for envs equal in everything else."""
    col = f"env_var.{var}"
    if col not in envs.columns:
        return pd.DataFrame(columns=[*_KEYS, "env_numerator", "env_denominator", "ratio"])
    other_vars = [c for c in envs.columns if c.startswith("env_var.") and c != col]
    ident = ["machine", "python", "requirements", *other_vars]
    ident = [c for c in ident if c in envs.columns]
    e = envs.copy()
    e[ident] = e[ident].astype(str)
    num = e[e[col].astype(str) == numerator][[*ident, "env"]].rename(columns={"env": "env_numerator"})
    den = e[e[col].astype(str) == denominator][[*ident, "env"]].rename(columns={"env": "env_denominator"})
    pairs = num.merge(den, on=ident)[["machine", "env_numerator", "env_denominator"]]
    if pairs.empty:
        return pd.DataFrame(columns=[*_KEYS, "env_numerator", "env_denominator", "ratio"])
    t = _ok(table)
    pcols = param_columns(t)
    cols = ["machine", "commit", "commit_order", "env", "benchmark", "params", *pcols, "unit", "value", "ci_99_a", "ci_99_b"]
    t = t[cols].copy()
    for c in ["machine", "commit", "env", "benchmark", "params", *pcols]:
        t[c] = t[c].astype(str)
    a = t.merge(pairs, left_on=["machine", "env"], right_on=["machine", "env_numerator"]).drop(columns=["env"])
    b = t.rename(columns={"value": "den_value", "ci_99_a": "den_ci_99_a", "ci_99_b": "den_ci_99_b", "env": "env_denominator"}).drop(
        columns=["commit_order", "unit"]
    )
    out = a.merge(b, on=["machine", "commit", "benchmark", "params", *pcols, "env_denominator"])
    out["ratio"] = out["value"] / out["den_value"]
    low, high = _ratio_interval(out["ci_99_a"], out["ci_99_b"], out["den_ci_99_a"], out["den_ci_99_b"])
    out["ratio_low"], out["ratio_high"] = low, high
    out["var"] = var
    return out.reset_index(drop=True)
