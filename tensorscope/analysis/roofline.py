"""Throughput (GB/s, GFLOP/s) of timed ops and their efficiency against each machine's measured roofs.

Public API
==========

``catalog_cost(op, size, dtype) -> (flops, bytes)``
    FLOPs and bytes (read + written) of one benchmarked call of catalog op ``op`` at benchmark
    ``size`` in ``dtype``, by the catalog's own size -> input rule and cost model
    (``backends._catalog.benchmark_cost``, the rule the suite builds its inputs with); NaN for
    an op or size the catalog does not know or rejects.

``recorded_costs(provenance) -> DataFrame``
    The cost of every timed cell as the *benchmarked commit's* catalog gave it, from the
    ``op_costs`` the suite writes into each run's provenance file (``{op: {dtype: {size:
    [flops, bytes_read, bytes_written]}}}``, columns named by ``op_cost_columns``): one row per
    ``machine``, ``commit``, ``env``, ``op``, ``dtype``, ``size`` with ``flops`` and ``bytes``
    (read + written). Empty for runs whose provenance has none (older runs).

``throughput(table, *, cost=catalog_cost, recorded=None) -> DataFrame``
    ok ``time`` rows that carry ``param_op``, ``param_size`` and ``param_dtype``, with ``flops``,
    ``bytes`` (read + written), ``intensity`` (FLOP/byte), ``gflops`` = flops / time / 1e9 and
    ``gbs`` = bytes / time / 1e9. A cell's cost comes from ``recorded`` (:func:`recorded_costs`)
    where its run recorded one, else from ``cost``; ``cost_source`` says which
    (``recorded`` | ``catalog``).

``roofs(table) -> DataFrame``
    Per machine (newest commit measured): ``peak_gbs`` (best ``track_bandwidth`` result, GB/s),
    ``peak_gflops_<dtype>`` (best ``track_gemm_flops``), and ``gpu_peak_gbs``/``gpu_peak_gflops_<dtype>``
    from the GPU calibration benchmarks (``bench_calibration``).

``calibrated_runs(table) -> DataFrame``
    One row per machine, commit and env whose calibration measured a roof: ``commit_order``,
    ``cpu_roofs`` (DRAM bandwidth and a gemm peak of a named dtype both measured), ``gpu_roofs``
    (the same on the GPU) and ``dtypes`` (the gemm dtypes measured, comma-separated), newest first.
    A page defaults to such a run, so its first view draws roofs.

``cache_sizes(provenance) -> DataFrame``
    Per machine, from tensorscope's provenance (``ResultSet.provenance``, the CPU's caches as
    ``lscpu`` reports them, e.g. ``2 MiB (2 instances)``): ``l1d_bytes``, ``l2_bytes``,
    ``l3_bytes``, the size of each level over all cores (NaN where not recorded).

``efficiency(table, *, provenance=None) -> DataFrame``
    ``throughput`` (with the costs recorded in ``provenance``) joined with ``roofs``: ``attainable_gflops`` = min(peak GFLOP/s, intensity x peak GB/s)
    for the op's dtype (GPU roofs for GPU backends: names ending ``:cuda``/``:gpu`` or ``cupy``),
    ``efficiency`` = gflops / attainable_gflops (or gbs / peak_gbs for ops without FLOPs), and
    ``bound``: ``compute`` or ``memory``, the roof that limits the point at its intensity.
    The memory roof is the *DRAM* bandwidth (the calibration streams arrays far larger than
    any cache); an op whose data fits in a cache is fed faster than that, so its efficiency
    can exceed 1. With ``provenance``, ``fits_in`` names the smallest cache level holding the
    op's working set (its bytes read + written; ``L1``, ``L2``, ``L3``) or ``DRAM``, and
    ``cache_bytes`` that level's size; ``unknown`` where the machine's caches were not recorded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cache_sizes", "calibrated_runs", "catalog_cost", "efficiency", "is_gpu_backend", "recorded_costs", "roofs", "throughput"]


def is_gpu_backend(name: str) -> bool:
    """Whether a backend name runs on a GPU (``torch:cuda``, ``jax:gpu``, ``cupy``)."""
    return name.endswith((":cuda", ":gpu")) or name.split(":")[0] == "cupy"


def catalog_cost(op: str, size: Any, dtype: str) -> tuple[float, float]:
    """(FLOPs, bytes read + written) of one benchmarked call by the catalog's rules; NaNs when it cannot tell."""
    from backends._catalog import benchmark_cost

    try:
        n = int(float(size))
        cost = benchmark_cost(op, n, dtype)
    except (KeyError, TypeError, ValueError):  # unknown op, a size that is not a count, or inputs the catalog rejects
        return math.nan, math.nan
    return float(cost.flops), float(cost.bytes_read + cost.bytes_written)


_COST_FIELD = re.compile(r"^op_costs\.([^.]+)\.([^.]+)\.([^.]+)$")
_RECORDED_COLUMNS = ["machine", "commit", "env", "op", "dtype", "size", "flops", "bytes"]


def _cost_numbers(value: object) -> list[float]:
    """One ``op_costs`` entry: a list, or the ``"1, 2, 3"`` text the results loader makes of it."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    try:
        return [float(v) for v in items]
    except ValueError:
        return []


def recorded_costs(provenance: pd.DataFrame | None) -> pd.DataFrame:
    """Per run and cell, the FLOPs and bytes its own commit's catalog gave it; see the module docstring."""
    if provenance is None:
        return pd.DataFrame(columns=_RECORDED_COLUMNS)
    cells = {str(c): m.groups() for c in provenance.columns if (m := _COST_FIELD.match(str(c)))}
    rows = []
    for run in provenance.to_dict("records") if cells else []:
        names = [n.strip() for n in str(run.get("op_cost_columns") or "flops, bytes_read, bytes_written").split(",")]
        if not {"flops", "bytes_read", "bytes_written"} <= set(names):
            continue  # a layout this reader does not know: the catalog's costs are used instead
        for field, (op, dtype, size) in cells.items():
            value = run[field]
            numbers = [] if value is None or (isinstance(value, float) and math.isnan(value)) else _cost_numbers(value)
            if len(numbers) == len(names):
                got = dict(zip(names, numbers, strict=True))
                rows.append(
                    [run["machine"], run["commit"], run["env"], op, dtype, size, got["flops"], got["bytes_read"] + got["bytes_written"]]
                )
    return pd.DataFrame(rows, columns=_RECORDED_COLUMNS).astype({c: str for c in _RECORDED_COLUMNS[:6]})


def throughput(
    table: pd.DataFrame, *, cost: Callable[[str, Any, str], tuple[float, float]] = catalog_cost, recorded: pd.DataFrame | None = None
) -> pd.DataFrame:
    """GFLOP/s and GB/s of every timed op row; see the module docstring."""
    need = {"param_op", "param_size", "param_dtype"}
    if not need <= set(table.columns):
        return pd.DataFrame(columns=[*table.columns, "flops", "bytes", "cost_source", "intensity", "gflops", "gbs"])
    t = table[(table["status"] == "ok") & (table["value"] > 0) & table["param_op"].notna()]
    if "type" in t.columns:
        t = t[t["type"] == "time"]
    t = t.copy()
    cells = list(zip(t["param_op"].astype(str), t["param_size"].astype(str), t["param_dtype"].astype(str), strict=True))
    catalog = {cell: cost(*cell) for cell in set(cells)}
    runs = list(zip(t["machine"].astype(str), t["commit"].astype(str), t["env"].astype(str), strict=True))
    own: dict[tuple[str, ...], tuple[float, float]] = {}
    if recorded is not None and not recorded.empty:
        keys = recorded[["machine", "commit", "env", "op", "size", "dtype"]].astype(str).itertuples(index=False, name=None)
        own = dict(zip(keys, zip(recorded["flops"].astype(float), recorded["bytes"].astype(float), strict=True), strict=True))
    found = [own.get((*run, *cell)) for run, cell in zip(runs, cells, strict=True)]
    t["flops"] = [f[0] if f else catalog[c][0] for f, c in zip(found, cells, strict=True)]
    t["bytes"] = [f[1] if f else catalog[c][1] for f, c in zip(found, cells, strict=True)]
    t["cost_source"] = ["recorded" if f else "catalog" for f in found]
    with np.errstate(divide="ignore", invalid="ignore"):
        t["intensity"] = t["flops"] / t["bytes"]
        t["gflops"] = t["flops"] / t["value"] / 1e9
        t["gbs"] = t["bytes"] / t["value"] / 1e9
    return t.reset_index(drop=True)


def roofs(table: pd.DataFrame) -> pd.DataFrame:
    """Measured roofs per machine from the calibration track_ benchmarks; see the module docstring."""
    t = table[
        (table["status"] == "ok") & table["benchmark"].astype(str).str.contains("track_(?:gpu_)?(?:bandwidth|gemm_flops)", regex=True)
    ]
    if t.empty:
        return pd.DataFrame(columns=["machine"])
    newest = t.groupby("machine", observed=True)["commit_order"].transform("max")
    t = t[t["commit_order"] == newest]
    rows: dict[str, dict[str, Any]] = {}
    for r in t.itertuples(index=False):
        name = str(r.benchmark)
        gpu = "track_gpu_" in name
        prefix = "gpu_" if gpu else ""
        if "bandwidth" in name:
            key = f"{prefix}peak_gbs"
        else:
            dtype = str(getattr(r, "param_dtype", "") or "")
            key = f"{prefix}peak_gflops_{dtype}" if dtype and dtype != "nan" else f"{prefix}peak_gflops"
        row = rows.setdefault(str(r.machine), {"machine": str(r.machine)})
        row[key] = max(float(r.value), row.get(key, 0.0))  # type: ignore[arg-type]  # itertuples cells are untyped in pandas-stubs
    return pd.DataFrame(list(rows.values()))


def calibrated_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The runs whose calibration measured roofs, newest first; see the module docstring."""
    columns = ["machine", "commit", "env", "commit_order", "cpu_roofs", "gpu_roofs", "dtypes"]
    if table.empty or "benchmark" not in table.columns:
        return pd.DataFrame(columns=columns)
    names = table["benchmark"].astype(str)
    t = table[(table["status"] == "ok") & names.str.contains("track_(?:gpu_)?(?:bandwidth|gemm_flops)", regex=True)]
    if t.empty:
        return pd.DataFrame(columns=columns)
    name = t["benchmark"].astype(str)
    raw = t["param_dtype"] if "param_dtype" in t.columns else pd.Series(None, index=t.index, dtype=object)
    dtype = raw.astype(str).where(raw.notna(), "")  # a categorical's missing values stay NaN through astype(str)
    named = ~dtype.isin(["nan", "", "None", "<NA>"])
    frame = pd.DataFrame(
        {
            "machine": t["machine"].astype(str),
            "commit": t["commit"].astype(str),
            "env": t["env"].astype(str),
            "commit_order": t["commit_order"].astype(int),
            "bw": name.str.contains("track_bandwidth"),
            "gemm": name.str.contains("track_gemm_flops") & named,
            "gpu_bw": name.str.contains("track_gpu_bandwidth"),
            "gpu_gemm": name.str.contains("track_gpu_gemm_flops") & named,
            "dtype": dtype.where(named & name.str.contains("gemm"), ""),
        }
    )
    runs = frame.groupby(["machine", "commit", "env"], as_index=False).agg(
        commit_order=("commit_order", "max"),
        bw=("bw", "any"),
        gemm=("gemm", "any"),
        gpu_bw=("gpu_bw", "any"),
        gpu_gemm=("gpu_gemm", "any"),
        dtypes=("dtype", lambda d: ",".join(sorted({x for x in d if x}))),
    )
    runs["cpu_roofs"] = runs["bw"] & runs["gemm"]
    runs["gpu_roofs"] = runs["gpu_bw"] & runs["gpu_gemm"]
    runs = runs[runs["cpu_roofs"] | runs["gpu_roofs"]]
    return runs[columns].sort_values(["commit_order", "machine", "env"], ascending=[False, True, True]).reset_index(drop=True)


#: provenance field (lscpu's name) -> column of :func:`cache_sizes`, smallest level first
CACHE_FIELDS = {"cpu.cache.l1d": "l1d_bytes", "cpu.cache.l2": "l2_bytes", "cpu.cache.l3": "l3_bytes"}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\b", re.IGNORECASE)


def _size_bytes(text: object) -> float:
    """``'2 MiB (2 instances)'`` / ``'1024K'`` / ``'32M'`` -> bytes (binary units); NaN when unreadable."""
    match = _SIZE.search(str(text)) if text is not None else None
    if match is None:
        return math.nan
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[match.group(2).upper()]
    return float(match.group(1)) * scale


def cache_sizes(provenance: pd.DataFrame | None) -> pd.DataFrame:
    """Per machine, the size of each cache level from provenance; see the module docstring."""
    columns = ["machine", *CACHE_FIELDS.values()]
    if provenance is None or provenance.empty or not any(c in provenance.columns for c in CACHE_FIELDS):
        return pd.DataFrame(columns=columns)
    rows = []
    for machine, group in provenance.groupby("machine", sort=True):
        row: dict[str, Any] = {"machine": str(machine)}
        for field, column in CACHE_FIELDS.items():
            values = group[field].dropna() if field in group.columns else pd.Series(dtype=object)
            # any file that recorded it (a machine's caches do not change between runs)
            row[column] = _size_bytes(values.iloc[-1]) if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _fits_in(working_set: np.ndarray, caches: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(level name, that level's bytes) for each working set: the smallest cache holding it, else DRAM."""
    names = np.full(len(working_set), "DRAM", dtype=object)
    sizes = np.full(len(working_set), np.nan)
    recorded = np.zeros(len(working_set), dtype=bool)
    with np.errstate(invalid="ignore"):
        for name, column in reversed(list(zip(("L1", "L2", "L3"), CACHE_FIELDS.values(), strict=True))):
            capacity = caches[column].to_numpy(dtype=float) if column in caches.columns else np.full(len(working_set), np.nan)
            recorded |= np.isfinite(capacity)
            hit = working_set <= capacity  # NaN on either side: False
            names[hit], sizes[hit] = name, capacity[hit]  # smaller levels come last and win
    names[~recorded | ~np.isfinite(working_set)] = "unknown"
    return names, sizes


def efficiency(table: pd.DataFrame, *, provenance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Throughput against the machine's roofs, and which memory level holds the data; see the module docstring."""
    tp = throughput(table, recorded=recorded_costs(provenance))
    rf = roofs(table)
    if tp.empty or rf.empty:
        tp = tp.assign(attainable_gflops=np.nan, efficiency=np.nan, bound="")
    else:
        tp = tp.assign(machine=tp["machine"].astype(str)).merge(rf, on="machine", how="left")
        gpu = tp["param_backend"].astype(str).map(is_gpu_backend) if "param_backend" in tp.columns else pd.Series(False, index=tp.index)
        peak_bw = np.where(gpu, tp.get("gpu_peak_gbs", np.nan), tp.get("peak_gbs", np.nan)).astype(float)
        peak_fl = np.full(len(tp), np.nan)
        for i, (dtype, g) in enumerate(zip(tp["param_dtype"].astype(str), gpu, strict=True)):
            col = f"{'gpu_' if g else ''}peak_gflops_{dtype}"
            if col in tp.columns:
                peak_fl[i] = tp[col].iat[i]
        intensity = tp["intensity"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            attainable = np.fmin(peak_fl, intensity * peak_bw)
            attainable = np.where(np.isnan(peak_fl), intensity * peak_bw, attainable)
            eff = tp["gflops"].to_numpy(dtype=float) / attainable
            no_flops = ~(tp["flops"].to_numpy(dtype=float) > 0)
            eff = np.where(no_flops, tp["gbs"].to_numpy(dtype=float) / peak_bw, eff)
        tp["peak_gbs_used"] = peak_bw
        tp["peak_gflops_used"] = peak_fl
        tp["attainable_gflops"] = attainable
        tp["efficiency"] = eff
        compute = np.isfinite(peak_fl) & (intensity * peak_bw >= peak_fl)
        tp["bound"] = np.where(compute, "compute", np.where(np.isfinite(tp["bytes"].to_numpy(dtype=float)), "memory", ""))
    caches = cache_sizes(provenance)
    if caches.empty or tp.empty:
        tp["fits_in"] = "unknown"
        tp["cache_bytes"] = np.nan
        return tp
    joined = tp[["machine"]].astype(str).merge(caches, on="machine", how="left")
    tp["fits_in"], tp["cache_bytes"] = _fits_in(tp["bytes"].to_numpy(dtype=float), joined)
    return tp
