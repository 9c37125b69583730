"""Throughput (GB/s, GFLOP/s) of timed ops and their efficiency against each machine's measured roofs.

Public API
==========

``op_infos(op, size, dtype) -> list[TensorInfo] | None``
    Input shapes of catalog op ``op`` at benchmark size ``size`` (``None`` when unknown). This mirrors
    the rule in ``benchmarks/cases.py`` (the dashboard never imports benchmarks/): element-wise,
    reduction, ordering ops take ``(size,)`` vectors; ``matmul``/``triangular_solve`` two ``n x n``
    matrices; ``cholesky`` one; ``fft``/``ifft`` a ``(size,)`` vector; row-wise fused ops
    ``rows x min(size, 1000)``. Ops whose inputs need more (shape ops, windows...) give ``None``.
    Why a copy: the suite benchmarks older commits' ``backends`` too, so it cannot rely on a
    helper that only newer commits have, and the dashboard cannot import the (uninstalled,
    side-effecting) suite. ``tests/benchmarks/test_suite.py`` holds the two rules equal for
    every op placed here.

``throughput(table, *, infos=op_infos) -> DataFrame``
    ok ``time`` rows that carry ``param_op``, ``param_size`` and ``param_dtype``, with ``flops``,
    ``bytes`` (read + written, from ``backends.OPS[op].cost``), ``intensity`` (FLOP/byte),
    ``gflops`` = flops / time / 1e9 and ``gbs`` = bytes / time / 1e9.

``roofs(table) -> DataFrame``
    Per machine (newest commit measured): ``peak_gbs`` (best ``track_bandwidth`` result, GB/s),
    ``peak_gflops_<dtype>`` (best ``track_gemm_flops``), and ``gpu_peak_gbs``/``gpu_peak_gflops_<dtype>``
    from the GPU calibration benchmarks (``bench_calibration``).

``efficiency(table) -> DataFrame``
    ``throughput`` joined with ``roofs``: ``attainable_gflops`` = min(peak GFLOP/s, intensity x peak GB/s)
    for the op's dtype (GPU roofs for GPU backends: names ending ``:cuda``/``:gpu`` or ``cupy``),
    ``efficiency`` = gflops / attainable_gflops (or gbs / peak_gbs for ops without FLOPs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["efficiency", "is_gpu_backend", "op_infos", "roofs", "throughput"]

_ROWWISE = {"softmax", "logsumexp", "layer_norm"}
_MATRIX2 = {"matmul", "triangular_solve"}


def is_gpu_backend(name: str) -> bool:
    """Whether a backend name runs on a GPU (``torch:cuda``, ``jax:gpu``, ``cupy``)."""
    return name.endswith((":cuda", ":gpu")) or name.split(":")[0] == "cupy"


def op_infos(op: str, size: Any, dtype: str) -> list[Any] | None:
    """Input TensorInfos of ``op`` at benchmark ``size``; None when this mapping does not know the op."""
    from backends import OPS, TensorInfo

    try:
        n = int(float(size))
    except (TypeError, ValueError):
        return None
    spec = OPS.get(op)
    if spec is None or n <= 0:
        return None
    if op in _MATRIX2:
        return [TensorInfo((n, n), dtype), TensorInfo((n, n), dtype)]
    if op == "cholesky":
        return [TensorInfo((n, n), dtype)]
    if op in ("dense", "mlp_forward"):  # x @ w + b (and a second layer)
        layer = [TensorInfo((n, n), dtype), TensorInfo((n,), dtype)]
        return [TensorInfo((n, n), dtype), *layer, *(layer if op == "mlp_forward" else [])]
    if op == "conv":  # 16 -> 16 channels, 3x3 kernel, on an (n/4)^2 image
        side = max(n // 4, 8)
        return [TensorInfo((1, 16, side, side), dtype), TensorInfo((16, 16, 3, 3), dtype)]
    if op in _ROWWISE:
        cols = min(n, 1000)
        x = TensorInfo((max(n // cols, 1), cols), dtype)
        return [x, TensorInfo((cols,), dtype), TensorInfo((cols,), dtype)] if op == "layer_norm" else [x]
    if op == "gelu" or (spec.group in ("unary", "binary", "reduction", "ordering", "fft") and spec.arity in (1, 2)):
        return [TensorInfo((n,), dtype)] * spec.arity
    return None


def _cost(op: str, size: Any, dtype: str, infos: Callable[[str, Any, str], list[Any] | None]) -> tuple[float, float]:
    from backends import OPS

    ins = infos(op, size, dtype)
    if ins is None:
        return math.nan, math.nan
    try:
        extra: tuple[Any, ...] = (True,) if op == "triangular_solve" else ()
        c = OPS[op].cost(*ins, *extra)
    except Exception:  # the catalog rejects this shape/dtype: no figure rather than a wrong one
        return math.nan, math.nan
    return float(c.flops), float(c.bytes_read + c.bytes_written)


def throughput(table: pd.DataFrame, *, infos: Callable[[str, Any, str], list[Any] | None] = op_infos) -> pd.DataFrame:
    """GFLOP/s and GB/s of every timed op row; see the module docstring."""
    need = {"param_op", "param_size", "param_dtype"}
    if not need <= set(table.columns):
        return pd.DataFrame(columns=[*table.columns, "flops", "bytes", "intensity", "gflops", "gbs"])
    t = table[(table["status"] == "ok") & (table["value"] > 0) & table["param_op"].notna()]
    if "type" in t.columns:
        t = t[t["type"] == "time"]
    t = t.copy()
    keys = t[["param_op", "param_size", "param_dtype"]].astype(str).drop_duplicates()
    costs = {(o, s, d): _cost(o, s, d, infos) for o, s, d in keys.itertuples(index=False)}
    k = list(zip(t["param_op"].astype(str), t["param_size"].astype(str), t["param_dtype"].astype(str), strict=True))
    t["flops"] = [costs[x][0] for x in k]
    t["bytes"] = [costs[x][1] for x in k]
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


def efficiency(table: pd.DataFrame) -> pd.DataFrame:
    """Throughput against the machine's roofs; see the module docstring."""
    tp = throughput(table)
    rf = roofs(table)
    if tp.empty or rf.empty:
        return tp.assign(attainable_gflops=np.nan, efficiency=np.nan)
    tp = tp.assign(machine=tp["machine"].astype(str)).merge(rf, on="machine", how="left")
    gpu = tp["param_backend"].astype(str).map(is_gpu_backend) if "param_backend" in tp.columns else pd.Series(False, index=tp.index)
    peak_bw = np.where(gpu, tp.get("gpu_peak_gbs", np.nan), tp.get("peak_gbs", np.nan)).astype(float)
    peak_fl = np.full(len(tp), np.nan)
    for i, (dtype, g) in enumerate(zip(tp["param_dtype"].astype(str), gpu, strict=True)):
        col = f"{'gpu_' if g else ''}peak_gflops_{dtype}"
        if col in tp.columns:
            peak_fl[i] = tp[col].iat[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        attainable = np.fmin(peak_fl, tp["intensity"].to_numpy(dtype=float) * peak_bw)
        attainable = np.where(np.isnan(peak_fl), tp["intensity"].to_numpy(dtype=float) * peak_bw, attainable)
        eff = tp["gflops"].to_numpy(dtype=float) / attainable
        no_flops = ~(tp["flops"].to_numpy(dtype=float) > 0)
        eff = np.where(no_flops, tp["gbs"].to_numpy(dtype=float) / peak_bw, eff)
    tp["peak_gbs_used"] = peak_bw
    tp["peak_gflops_used"] = peak_fl
    tp["attainable_gflops"] = attainable
    tp["efficiency"] = eff
    return tp
