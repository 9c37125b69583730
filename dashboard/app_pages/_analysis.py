"""Adapters from the analysis layer's answers to the frames the pages show.

The analysis runs in :mod:`dashboard.state` (typed, cached functions of the library); here its
answers are restricted to the sidebar's filters and given display columns. Every
function returns ``None`` when the analysis it needs is missing or failed (the failure
is shown), so a page can say so instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.app_pages._ui import md
from tensorscope.analysis import speedups as speedups_analysis

BASELINE = "python"
SIMD_VARIABLE = "TENSORSCOPE_SIMD"


def guarded(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` (a cached function of :mod:`dashboard.state`), or None with a visible error when it raised.

    A bug or a surprise in one analysis must cost one panel, not the page.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        st.error(f"The {md(what)} analysis failed on these results: {type(exc).__name__}: {md(exc)}")
        return None


def _restrict(frame: pd.DataFrame, machines: list[str], envs: list[str]) -> pd.DataFrame:
    if machines and "machine" in frame.columns:
        frame = frame[frame["machine"].astype(str).isin(machines)]
    if envs and "env" in frame.columns:
        frame = frame[frame["env"].astype(str).isin(envs)]
    return frame


def short_name(benchmarks: pd.Series) -> pd.Series:
    """``bench_unary.Unary.time_op`` -> ``Unary.time_op``."""
    return benchmarks.astype(str).str.split(".").str[-2:].str.join(".")


def op_label(rows: pd.DataFrame) -> pd.Series:
    """The op of each row: its ``op`` parameter, else the benchmark's own name."""
    short = short_name(rows["benchmark"])
    if "param_op" in rows.columns:
        return rows["param_op"].astype("object").where(rows["param_op"].notna(), short).astype(str)
    return short


# --------------------------------------------------------------------------------------
# Regressions


def change_id(row: pd.Series | Mapping[Hashable, object]) -> str:
    """A stable name for one detected change: its series and the first commit at the new level."""
    return f"{row['series']}@{str(row['commit_after'])[:8]}"


def changes(machines: list[str], envs: list[str]) -> pd.DataFrame | None:
    """Every detected step (regressions and improvements) in the filtered series."""
    found = guarded("regression", state.detected_changes)
    if found is None:
        return None
    found = _restrict(found, machines, envs).copy()
    found["id"] = [change_id(r) for r in found[["series", "commit_after"]].to_dict("records")]
    found["regression"] = found["kind"].astype(str) == "regression"
    return found


def changes_table(machines: list[str], envs: list[str]) -> pd.DataFrame | None:
    """Detected changes with display columns only (for the overview)."""
    found = changes(machines, envs)
    if found is None:
        return None
    columns = ["kind", "factor", "confidence", "benchmark", "params", "machine", "env", "commit_before", "commit_after", "date_after"]
    out = found[[*columns, "order_after", "regression"]].copy()
    out["commit_before"] = out["commit_before"].astype(str).str[:8]
    out["commit_after"] = out["commit_after"].astype(str).str[:8]
    return out


# --------------------------------------------------------------------------------------
# Speedups over the python backend


def _speedup_columns(found: pd.DataFrame) -> pd.DataFrame:
    out = found.copy()
    out["op"] = op_label(out)
    out["size"] = out["param_size"].astype(str) if "param_size" in out.columns else ""
    out["dtype"] = out["param_dtype"].astype(str) if "param_dtype" in out.columns else ""
    out["backend"] = out["backend"].astype(str)
    for column in ("size", "dtype"):
        out[column] = out[column].replace({"nan": "", "None": "", "<NA>": ""})
    return out


SPEEDUP_COLUMNS = [
    "op",
    "backend",
    "size",
    "dtype",
    "speedup",
    "speedup_low",
    "speedup_high",
    "value",
    "baseline_value",
    "unit",
    "benchmark",
]


def speedup_table(machines: list[str], envs: list[str]) -> pd.DataFrame | None:
    """Speedups over python at each series' newest measurement (for the overview)."""
    found = guarded("speedup", state.speedups_latest, BASELINE)
    if found is None:
        return None
    found = _restrict(found, machines, envs)
    if found.empty:
        return found
    out = _speedup_columns(found)
    return out[[*SPEEDUP_COLUMNS, "machine", "env", "commit"]]


def speedups_at(machine: str, env: str | None, commit: str | None) -> pd.DataFrame | None:
    """Speedups over python for one machine, environment and commit."""
    found = guarded("speedup", state.speedups_where, BASELINE, machine=machine, env=env, commit=commit)
    if found is None:
        return None
    if found.empty:
        return pd.DataFrame(columns=SPEEDUP_COLUMNS)
    return _speedup_columns(found)


def crossovers(speedups: pd.DataFrame) -> pd.DataFrame | None:
    """From which size each backend beats python (the analysis' ``crossover`` on a speedup slice)."""
    if speedups.empty or "param_size" not in speedups.columns:
        return None
    try:
        return speedups_analysis.crossover(speedups)
    except Exception as exc:  # shown, never fatal
        st.error(f"The crossover analysis failed: {type(exc).__name__}: {md(exc)}")
        return None


def simd_ratios(machine: str, commit: str | None) -> pd.DataFrame | None:
    """time with SIMD off / time with SIMD on, per cell (environments differing only in TENSORSCOPE_SIMD)."""
    found = guarded("SIMD ratio", state.env_ratios, SIMD_VARIABLE, machine=machine, commit=commit)
    if found is None or found.empty:
        return found
    out = found.copy()
    out["op"] = op_label(out)
    out["backend"] = out["param_backend"].astype(str) if "param_backend" in out.columns else short_name(out["benchmark"])
    return out


def gpu_speedups(machine: str, env: str | None, commit: str | None) -> pd.DataFrame | None:
    """GPU backends over their CPU counterparts at one machine, environment and commit."""
    found = guarded("GPU speedup", state.device_speedups, machine=machine, env=env, commit=commit)
    if found is None or found.empty:
        return found
    out = _speedup_columns(found)
    out["pair"] = out["backend"] + " vs " + out["baseline"].astype(str)
    return out


# --------------------------------------------------------------------------------------
# Roofline


def roofline(machine: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(points, roofs) for one machine: the analysis' ``efficiency`` rows and ``roofs`` row."""
    found = guarded("roofline", state.roofline_points, machine)
    if found is None:
        return None
    points, roofs = found
    return points, roofs if isinstance(roofs, pd.DataFrame) else pd.DataFrame()


def roofs_for(roofs: pd.DataFrame, machine: str, dtype: str, *, gpu: bool = False) -> tuple[float, float] | None:
    """(bytes/s, FLOP/s) of ``machine`` for ``dtype`` from the roofs frame; None when not measured."""
    if roofs.empty or "machine" not in roofs.columns:
        return None
    row = roofs[roofs["machine"].astype(str) == machine]
    if row.empty:
        return None
    prefix = "gpu_" if gpu else ""
    bandwidth = row.iloc[0].get(f"{prefix}peak_gbs")
    peak = row.iloc[0].get(f"{prefix}peak_gflops_{dtype}")
    if peak is None or pd.isna(peak):
        candidates = [c for c in row.columns if c.startswith(f"{prefix}peak_gflops_")]
        peak = row.iloc[0][candidates].max() if candidates else None
    if bandwidth is None or pd.isna(bandwidth) or peak is None or pd.isna(peak):
        return None
    return float(bandwidth) * 1e9, float(peak) * 1e9


# --------------------------------------------------------------------------------------
# Hardware


def machine_ratios(reference: str | None, machines: list[str], envs: list[str], benchmarks: list[str]) -> pd.DataFrame | None:
    """Each series' newest value on every machine against ``reference`` (``compare_machines``)."""
    if reference is None:
        return None
    found = guarded("machine comparison", state.compare_machines, reference)
    if found is None:
        return None
    found = _restrict(found, machines, envs)
    found = found[found["machine"].astype(str) != reference]
    if benchmarks:
        found = found[found["benchmark"].astype(str).isin(benchmarks)]
    return found.reset_index(drop=True)


def machine_details(machines: list[str]) -> pd.DataFrame | None:
    """One row per machine.json / provenance field, one column per machine."""
    found = guarded("machine details", state.machine_details)
    if found is None:
        return None
    if machines:
        keep = [c for c in found.columns if c in machines]
        found = found[keep]
    return found
