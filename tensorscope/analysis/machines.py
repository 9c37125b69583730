"""The same benchmark across machines, like with like, as ratios to a reference machine; provenance side by side.

Public API
==========

``compare_machines(table, *, reference=None, latest=True, max_days=365, across_python=False) -> DataFrame``
    One row per (machine, benchmark, params, env) pairing a value on the machine with one on
    ``reference`` (default: the machine with the most results) **measured alike**:

    * the same environment: the same asv env name, or failing that an env of the same Python
      version (``env_match`` says which);
    * the same commit: the newest commit both measured (``match`` = ``'same commit'``); where they
      share none, the nearest commits both measured (``'nearest commits'``, ``commit_gap`` = how many
      commits apart in the set's order, ``days_apart`` = how far apart their commit dates are).

    Pairs that are not alike are **kept and marked, never compared silently**: their ``ratio`` is
    NaN and ``match`` says why (``'excluded: Python 3.10 vs 3.12'``, ``'excluded: 3.4 years apart'``
    when the commits are more than ``max_days`` apart, ``'excluded: Python unknown'`` when an env
    name tells no Python version and the names differ). ``across_python=True`` compares those
    last two kinds anyway (an H200 with its image's Python 3.12 against a VM's 3.11, say): their
    ``env_match`` stays ``'different Python'`` or ``'Python unknown'`` so a page can say so.
    ``pythons`` ({(machine, env): '3.12'}, see :func:`env_pythons`) names the Python of envs whose
    name tells none (asv's ``existing`` envs), so such a pair reads ``Python 3.12 vs 3.11``.
    ``latest=False``: one row per commit both measured in the same env (same-commit pairs only).

    ``ratio`` = value on the machine / value on ``reference``, with ``ratio_low``/``ratio_high`` from
    the two 99% CIs; ``faster`` = how many times faster the machine is (1/ratio for lower-is-better,
    ratio for higher-is-better units per :class:`~tensorscope.analysis.regressions.Direction`).

``env_pythons(provenance) -> dict``
    (machine, env) -> the ``major.minor`` Python version its provenance recorded.

``machine_details(result_set, machines=None) -> DataFrame``
    ``ResultSet.machines`` transposed for reading side by side: one row per field (machine.json and
    flattened ``provenance.*``), one column per machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .speedups import _ratio_interval
from .verdicts.direction import DEFAULT_DIRECTION

__all__ = ["compare_machines", "comparison_summary", "env_pythons", "machine_details", "python_of"]

_PYTHON = re.compile(r"py(?:thon)?-?(\d+)\.(\d+)", re.IGNORECASE)
_DAY = 86400.0


def python_of(env: str) -> str:
    """The Python version in an asv env name (``virtualenv-py3.11-X`` -> ``3.11``), '' when it names none."""
    m = _PYTHON.search(env)
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def env_pythons(provenance: pd.DataFrame | None) -> dict[tuple[str, str], str]:
    """(machine, env) -> ``3.12`` from each provenance file's ``platform.python_version`` (newest file wins)."""
    if provenance is None or provenance.empty or "platform.python_version" not in provenance.columns:
        return {}
    out: dict[tuple[str, str], str] = {}
    for machine, env, version in zip(provenance["machine"], provenance["env"], provenance["platform.python_version"], strict=True):
        m = re.match(r"(\d+)\.(\d+)", str(version))
        if m:
            out[(str(machine), str(env))] = f"{m.group(1)}.{m.group(2)}"
    return out


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    da = pd.to_datetime(a, utc=True, errors="coerce")
    db = pd.to_datetime(b, utc=True, errors="coerce")
    return ((da - db).dt.total_seconds().abs() / _DAY).to_numpy(dtype=float)


def compare_machines(
    table: pd.DataFrame,
    *,
    reference: str | None = None,
    latest: bool = True,
    max_days: float = 365.0,
    across_python: bool = False,
    pythons: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """Ratios of every machine to ``reference`` per benchmark, like with like; see the module docstring."""
    t = table[(table["status"] == "ok") & (table["value"] > 0)]
    if t.empty:
        return pd.DataFrame(columns=["machine", "benchmark", "params", "ratio", "match"])
    cols = ["machine", "commit", "commit_order", "commit_date", "env", "benchmark", "params", "unit", "value", "ci_99_a", "ci_99_b"]
    if "type" in t.columns:
        cols.append("type")
    t = t[[c for c in cols if c in t.columns]].copy()
    for c in ("machine", "commit", "env", "benchmark", "params", "unit"):
        t[c] = t[c].astype(str)
    if "commit_date" not in t.columns:
        t["commit_date"] = pd.NaT
    t["python"] = t["env"].map(python_of)
    if pythons:  # envs whose name tells no version: the one their provenance recorded
        unnamed = t["python"] == ""
        recorded = [pythons.get((m, e), "") for m, e in zip(t.loc[unnamed, "machine"], t.loc[unnamed, "env"], strict=True)]
        t.loc[unnamed, "python"] = recorded
    if reference is None:
        reference = str(t["machine"].value_counts().idxmax())
    ref = t[t["machine"] == reference].rename(
        columns={
            "value": "reference_value",
            "ci_99_a": "reference_ci_99_a",
            "ci_99_b": "reference_ci_99_b",
            "env": "reference_env",
            "commit": "reference_commit",
            "commit_order": "reference_order",
            "commit_date": "reference_date",
            "python": "reference_python",
        }
    )
    ref = ref.drop(columns=[c for c in ("machine", "unit", "type") if c in ref.columns])
    other = t[t["machine"] != reference]
    if other.empty or ref.empty:
        return pd.DataFrame(columns=["machine", "benchmark", "params", "ratio", "match"])
    if not latest:
        merged = other.merge(
            ref, left_on=["benchmark", "params", "env", "commit"], right_on=["benchmark", "params", "reference_env", "reference_commit"]
        )
        merged["env_match"] = "same env"
        merged["match"] = "same commit"
        merged["commit_gap"] = 0
        merged["days_apart"] = 0.0
    else:
        merged = _pairs(other, ref, max_days, across_python)
    merged["ratio"] = np.where(merged["match"].str.startswith("excluded"), np.nan, merged["value"] / merged["reference_value"])
    low, high = _ratio_interval(merged["ci_99_a"], merged["ci_99_b"], merged["reference_ci_99_a"], merged["reference_ci_99_b"])
    merged["ratio_low"], merged["ratio_high"] = (
        np.where(merged["ratio"].isna(), np.nan, low),
        np.where(merged["ratio"].isna(), np.nan, high),
    )
    better = [
        DEFAULT_DIRECTION(b, u, ty)
        for b, u, ty in zip(merged["benchmark"], merged["unit"], merged.get("type", pd.Series([None] * len(merged))), strict=True)
    ]
    merged["better"] = better
    merged["faster"] = np.where(np.array(better) == "lower", 1.0 / merged["ratio"], merged["ratio"])
    merged["reference"] = reference
    return merged.sort_values(["benchmark", "params", "machine"]).reset_index(drop=True)


def _pairs(other: pd.DataFrame, ref: pd.DataFrame, max_days: float, across_python: bool = False) -> pd.DataFrame:
    """Per (machine, benchmark, params, env): the newest same-commit pair, else the nearest commits; unlike pairs marked."""
    keys = ["machine", "benchmark", "params", "env"]
    # the newest commit both measured in the same env (one row per commit and side: no blow-up)
    same = other.merge(
        ref, left_on=["benchmark", "params", "env", "commit"], right_on=["benchmark", "params", "reference_env", "reference_commit"]
    )
    same = same.sort_values("commit_order", ascending=False, kind="stable").drop_duplicates(subset=keys)
    same["env_match"] = "same env"
    # the others: the machine's newest measurement against the reference's nearest commit, in
    # the same env where the reference has it for that benchmark, else any of its envs
    done = pd.MultiIndex.from_frame(same[keys]) if len(same) else pd.MultiIndex.from_tuples([], names=keys)
    left = other[~pd.MultiIndex.from_frame(other[keys]).isin(done)]
    # every commit the machine measured against the reference's nearest one of the same Python
    # (merge_asof: one partner per row, never all pairs), then the machine's newest measurement
    # against any reference env: the env and commit that match best win
    near = pd.merge_asof(
        left.sort_values("commit_order"),
        ref.sort_values("reference_order"),
        left_on="commit_order",
        right_on="reference_order",
        left_by=["benchmark", "params", "python"],
        right_by=["benchmark", "params", "reference_python"],
        direction="nearest",
    ).dropna(subset=["reference_order"])
    near = near[near["python"] != ""]
    newest = left.sort_values("commit_order", kind="stable").drop_duplicates(subset=keys, keep="last")
    cand = pd.concat([near, newest.merge(ref, on=["benchmark", "params"])], ignore_index=True)
    cand["reference_order"] = cand["reference_order"].astype(np.int64) if len(cand) else cand["reference_order"]
    if len(cand):
        cand["env_match"] = np.where(
            cand["env"] == cand["reference_env"],
            "same env",
            np.where(
                (cand["python"] != "") & (cand["python"] == cand["reference_python"]),
                "same Python",
                np.where((cand["python"] == "") | (cand["reference_python"] == ""), "Python unknown", "different Python"),
            ),
        )
        cand["commit_gap"] = (cand["commit_order"] - cand["reference_order"]).abs()
        cand["_rank_env"] = cand["env_match"].map({"same env": 0, "same Python": 1, "Python unknown": 2, "different Python": 3})
        cand = cand.sort_values(
            ["_rank_env", "commit_gap", "commit_order", "reference_order"], ascending=[True, True, False, False], kind="stable"
        )
        cand = cand.drop_duplicates(subset=keys).drop(columns="_rank_env")
    pairs = pd.concat([same.assign(commit_gap=0), cand], ignore_index=True)
    if pairs.empty:
        return pairs.assign(match=pd.Series(dtype=str), commit_gap=pd.Series(dtype=float), days_apart=pd.Series(dtype=float))
    pairs["days_apart"] = _days(pairs["commit_date"], pairs["reference_date"])
    match = np.where(pairs["commit_gap"] == 0, "same commit", "nearest commits").astype(object)
    days = pairs["days_apart"].to_numpy()
    far = days > max_days
    years = np.array([f"{d / 365.25:.1f} years apart" for d in days], dtype=object)
    match[far] = "excluded: " + years[far]
    if not across_python:
        # a pair also too far apart says both, so that only the Python-only ones count as
        # what 'across Python' would bring in
        apart = np.where(far, ", " + years, "")
        wrong_py = (pairs["env_match"] == "different Python").to_numpy()
        match[wrong_py] = [
            f"excluded: Python {p} vs {q}{a}"
            for p, q, a in zip(pairs["python"][wrong_py], pairs["reference_python"][wrong_py], apart[wrong_py], strict=True)
        ]
        unknown = (pairs["env_match"] == "Python unknown").to_numpy()
        match[unknown] = ["excluded: Python unknown" + a for a in apart[unknown]]
    pairs["match"] = match
    return pairs


def comparison_summary(ratios: pd.DataFrame) -> dict[str, Any]:
    """Counts a page states about a comparison: pairs per ``match`` kind and the largest commit gap used."""
    if ratios.empty or "match" not in ratios.columns:
        return {"same commit": 0, "nearest commits": 0, "excluded": {}, "max_gap": 0, "across Python": 0, "python_excluded": 0}
    kinds = ratios["match"].astype(str)
    nearest = ratios[kinds == "nearest commits"]
    envs = ratios["env_match"].astype(str) if "env_match" in ratios.columns else pd.Series("", index=ratios.index)
    unlike_python = envs.isin(["different Python", "Python unknown"])
    return {
        "across Python": int((unlike_python & ~kinds.str.startswith("excluded")).sum()),
        "python_excluded": int((kinds.str.startswith("excluded: Python") & ~kinds.str.contains("years apart")).sum()),
        "same commit": int((kinds == "same commit").sum()),
        "nearest commits": len(nearest),
        "excluded": kinds[kinds.str.startswith("excluded")]
        .str.replace(r"[\d.]+ years", "more than a year", regex=True)
        .value_counts()
        .to_dict(),
        "max_gap": int(nearest["commit_gap"].max()) if len(nearest) else 0,
    }


def machine_details(result_set: Any, machines: list[str] | None = None) -> pd.DataFrame:
    """Machine facts (machine.json + provenance), one column per machine."""
    m: pd.DataFrame = result_set.machines
    if machines is not None:
        m = m[m["machine"].isin(machines)]
    if m.empty:
        return pd.DataFrame()
    return m.set_index("machine").T.dropna(how="all")
