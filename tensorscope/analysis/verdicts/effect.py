"""What is still in effect: live series, and one net change per series.

A series is **live** when

* its machine (or runner group) ran within ``retired_after_days`` of the newest run in the results,
  and its env within ``retired_after_days`` of that machine's newest run (a retired runner or
  environment keeps its history, not its verdicts);
* it has a row (ok, failed or skipped) at the newest commit its machine and env measured;
* where ``benchmarks.json`` is known, that row's benchmark version is the current one (a benchmark
  removed or rewritten since is no longer the same benchmark).

A live series' code steps are chained (newest last) as direction-adjusted log factors; environment
shifts between them are not steps, so the chain is net of them. Its **net change in effect** starts at
the earliest level the series has stayed at least ``threshold`` worse (or better) than ever since:
one entry per series, however many steps it took to get there (``steps``), with the commit range of
the first step away from that level. A series that went back and forth has nothing in effect, and
neither has one whose last change is an improvement back to a level it had before (a transient
regression and its fix: both steps stay in the history, ``report --all``); a regression back to a
worse level it had before is in effect (a re-introduced slowdown is a slowdown).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .points import Keys, codes, series_names
from .runs import seconds

__all__ = ["in_effect", "live_series", "undone"]

_DAY = 86400.0
# a later level this close to the level a step left (as a share of the step's log size) undoes it
UNDONE_SHARE = 0.25


def _bar(threshold: float) -> float:
    """``threshold`` (a relative change) as a log distance; a tiny one for 0 (any change counts)."""
    return math.log1p(threshold) if threshold > 0 else 1e-12


def live_series(table: pd.DataFrame, keys: Keys, retired_after_days: float) -> pd.DataFrame:
    """``(series, version_segment)`` of the live series (named by :func:`.points.series_names`).

    ``keys``: each row's detection machine and version segment (:func:`.points.detection_keys`).
    """
    if table.empty:
        return pd.DataFrame({"series": pd.Series(dtype=str), "version_segment": pd.Series(dtype="int64")})
    env, _ = codes(table["env"])
    dme = keys.machine * (int(env.max(initial=0)) + 1) + env
    commit_order = table["commit_order"].to_numpy(dtype=np.int64)
    run_time = seconds(table["started_at"]) if "started_at" in table.columns else np.full(len(table), np.nan)
    if "commit_date" in table.columns:
        run_time = np.where(np.isnan(run_time), seconds(table["commit_date"]), run_time)
    t = pd.DataFrame({"m": keys.machine, "dme": dme, "order": commit_order, "time": run_time})
    keep = t["order"] == t.groupby("dme")["order"].transform("max")  # measured at its machine and env's newest commit
    newest = float(np.nanmax(run_time)) if np.isfinite(run_time).any() else math.nan
    if math.isfinite(newest):
        limit = retired_after_days * _DAY
        machine_last = t.groupby("m")["time"].transform("max")
        env_last = t.groupby("dme")["time"].transform("max")
        keep &= ~(machine_last < newest - limit) & ~(env_last < machine_last - limit)
    if "current_version" in table.columns and bool(table["current_version"].any()):
        keep &= table["current_version"].to_numpy(dtype=bool)
    rows = np.flatnonzero(keep.to_numpy())
    name = series_names(table, keys.names[keys.machine[rows]], rows)
    out = pd.DataFrame({"series": name.astype(str), "version_segment": np.asarray(keys.segment)[rows].astype(np.int64)})
    return out.drop_duplicates().reset_index(drop=True)


def in_effect(steps: pd.DataFrame, live: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per live series with a net regression or improvement of at least ``threshold``; see the module docstring.

    ``steps``: code steps (columns as :data:`tensorscope.analysis.regressions.CHANGE_COLUMNS`);
    ``live``: from :func:`live_series`. The row is the first step of the chain with ``value_after``,
    ``ratio``, ``change`` and ``factor`` replaced by the net change, plus ``steps`` (how many) and
    ``commit_latest`` (the last step's first commit at the new level).
    """
    if steps.empty or live.empty:
        return steps.iloc[0:0].assign(steps=pd.Series(dtype="int64"), commit_latest=pd.Series(dtype=str))
    cand = steps.merge(live, on=["series", "version_segment"], how="inner")
    if cand.empty:
        return steps.iloc[0:0].assign(steps=pd.Series(dtype="int64"), commit_latest=pd.Series(dtype=str))
    cand = cand.sort_values(["series", "order_after"], kind="stable").reset_index(drop=True)
    bar = _bar(threshold)
    rows = []
    for _, g in cand.groupby("series", sort=False):
        b = np.log(g["factor"].to_numpy(dtype=float))
        c = np.r_[0.0, np.cumsum(b)]
        k = len(b)
        for m in range(k):  # the earliest level the series has stayed away from since, by at least the bar
            later = c[m + 1 :] - c[m]
            if c[k] < c[m] and np.any(np.abs(c[k] - c[:m]) < bar):
                break  # a fix back to a level it had before: the regression was transient, nothing in effect
            if np.all(later >= bar) or np.all(later <= -bar):
                net = float(c[k] - c[m])
                first = g.iloc[m].copy()
                factor = math.exp(net)
                ratio = factor if first["better"] == "lower" else 1.0 / factor
                first["value_after"] = first["value_before"] * ratio
                first["ratio"] = ratio
                first["change"] = first["value_after"] - first["value_before"]
                first["factor"] = factor
                first["kind"] = "regression" if net > 0 else "improvement"
                first["steps"] = k - m
                first["commit_latest"] = g.iloc[k - 1]["commit_after"]
                rows.append(first)
                break
    if not rows:
        return steps.iloc[0:0].assign(steps=pd.Series(dtype="int64"), commit_latest=pd.Series(dtype=str))
    out = pd.DataFrame(rows).reset_index(drop=True)
    out["steps"] = out["steps"].astype("int64")
    return out


def undone(steps: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """For each code step, the later step of its series that undid it: ``undone_by`` (its first commit at the restored level; None when not undone) and ``lasted`` (commits at the step's level until then).

    A step is undone when, after one or more later steps, the series is back within ``threshold`` (or
    :data:`UNDONE_SHARE` of the step's own size) of the level it left (a transient regression and its
    fix; a speed-up lost again).
    """
    undone_by = np.full(len(steps), None, dtype=object)
    lasted = np.full(len(steps), np.nan)
    if steps.empty:
        return pd.DataFrame({"undone_by": undone_by, "lasted": lasted}, index=steps.index)
    bar = _bar(threshold)
    order = steps.sort_values(["series", "order_after"], kind="stable")
    for _, g in order.groupby("series", sort=False):
        level = np.log(g["value_after"].to_numpy(dtype=float))
        before = np.log(g["value_before"].to_numpy(dtype=float))
        orders = g["order_after"].to_numpy(dtype=np.int64)
        commits = g["commit_after"].astype(str).to_numpy()
        at = steps.index.get_indexer(g.index)
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                # back within the threshold, or within a quarter of the step's own size (15x, then 1.09x)
                if abs(level[j] - before[i]) < max(bar, UNDONE_SHARE * abs(level[i] - before[i])):
                    undone_by[at[i]], lasted[at[i]] = commits[j], float(orders[j] - orders[i])
                    break
    return pd.DataFrame({"undone_by": undone_by, "lasted": lasted}, index=steps.index)
