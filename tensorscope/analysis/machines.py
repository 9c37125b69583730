"""The same benchmark across machines, as ratios to a reference machine, with provenance side by side.

Public API
==========

``compare_machines(table, *, reference=None, latest=True) -> DataFrame``
    One row per (machine, benchmark, params, env) at each machine's newest commit measured
    (``latest``) or per commit (``latest=False``, matched on the same commit). ``ratio`` = value on the
    machine / value on ``reference`` (default: the machine with the most results), with
    ``ratio_low``/``ratio_high`` from the two 99% CIs; ``faster`` = how many times faster the machine is
    (1/ratio for lower-is-better, ratio for higher-is-better units per
    :class:`~tensorscope.analysis.regressions.Direction`). Environments are matched by name when both
    machines have it, else any env of that machine (``env`` / ``reference_env`` say which).

``machine_details(result_set, machines=None) -> DataFrame``
    ``ResultSet.machines`` transposed for reading side by side: one row per field (machine.json and
    flattened ``provenance.*``), one column per machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .regressions import DEFAULT_DIRECTION
from .speedups import _ratio_interval

__all__ = ["compare_machines", "machine_details"]


def compare_machines(table: pd.DataFrame, *, reference: str | None = None, latest: bool = True) -> pd.DataFrame:
    """Ratios of every machine to ``reference`` per benchmark; see the module docstring."""
    t = table[(table["status"] == "ok") & (table["value"] > 0)]
    if t.empty:
        return pd.DataFrame(columns=["machine", "benchmark", "params", "ratio"])
    cols = ["machine", "commit", "commit_order", "env", "benchmark", "params", "unit", "value", "ci_99_a", "ci_99_b"]
    if "type" in t.columns:
        cols.append("type")
    t = t[cols].copy()
    for c in ("machine", "commit", "env", "benchmark", "params", "unit"):
        t[c] = t[c].astype(str)
    if reference is None:
        reference = str(t["machine"].value_counts().idxmax())
    if latest:
        newest = t.groupby(["machine", "benchmark", "params", "env"])["commit_order"].transform("max")
        t = t[t["commit_order"] == newest]
    ref = t[t["machine"] == reference].rename(
        columns={
            "value": "reference_value",
            "ci_99_a": "reference_ci_99_a",
            "ci_99_b": "reference_ci_99_b",
            "env": "reference_env",
            "commit": "reference_commit",
        }
    )
    ref = ref.drop(columns=[c for c in ("machine", "commit_order", "unit", "type") if c in ref.columns])
    on = ["benchmark", "params"] if latest else ["benchmark", "params", "commit"]
    if not latest:
        ref = ref.rename(columns={"reference_commit": "commit"})
    merged = t.merge(ref, on=on, how="inner")
    # prefer the same env name; otherwise keep one reference env per row
    merged["_same_env"] = merged["env"] == merged["reference_env"]
    merged = (
        merged.sort_values("_same_env", ascending=False)
        .drop_duplicates(subset=["machine", "env", *on], keep="first")
        .drop(columns="_same_env")
    )
    merged["ratio"] = merged["value"] / merged["reference_value"]
    low, high = _ratio_interval(merged["ci_99_a"], merged["ci_99_b"], merged["reference_ci_99_a"], merged["reference_ci_99_b"])
    merged["ratio_low"], merged["ratio_high"] = low, high
    better = [
        DEFAULT_DIRECTION(b, u, ty)
        for b, u, ty in zip(merged["benchmark"], merged["unit"], merged.get("type", pd.Series([None] * len(merged))), strict=True)
    ]
    merged["better"] = better
    merged["faster"] = np.where(np.array(better) == "lower", 1.0 / merged["ratio"], merged["ratio"])
    merged["reference"] = reference
    return merged.sort_values(["benchmark", "params", "machine"]).reset_index(drop=True)


def machine_details(result_set: Any, machines: list[str] | None = None) -> pd.DataFrame:
    """Machine facts (machine.json + provenance), one column per machine."""
    m: pd.DataFrame = result_set.machines
    if machines is not None:
        m = m[m["machine"].isin(machines)]
    if m.empty:
        return pd.DataFrame()
    return m.set_index("machine").T.dropna(how="all")
