"""Adapters from the analysis layer's answers to the frames the pages show.

The analysis runs in :mod:`dashboard.state` (typed, cached functions of the library); here its
answers are restricted to the sidebar's filters and given display columns. Every
function returns ``None`` when the analysis it needs is missing or failed (the failure
is shown), so a page can say so instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.app_pages._ui import md
from tensorscope.analysis import speedups as speedups_analysis
from tensorscope.results import param_columns
from tensorscope.units import format_value

BASELINE = "python"
SIMD_VARIABLE = "TENSORSCOPE_SIMD"
#: the Overview lists changes of at least this much (the Regressions page and
#: ``tensorscope report --threshold`` default to the same 5%)
MIN_CHANGE = 0.05


def number_formats(frame: pd.DataFrame, formats: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``column_config`` for st.dataframe: every float column with four significant digits.

    Streamlit's default shows at most four decimals, so 3.1e-5 s would read 0.0000;
    ``formats`` gives other printf formats by column name (e.g. ``{"speedup": "%.3gx"}``).
    """
    out: dict[str, Any] = {
        c: st.column_config.NumberColumn(format="%.4g") for c in frame.columns if pd.api.types.is_float_dtype(frame[c].dtype)
    }
    out.update({c: st.column_config.NumberColumn(format=f) for c, f in (formats or {}).items() if c in frame.columns})
    return out


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


def _texts(values: pd.Series) -> pd.Series:
    """Plain Python strings: an empty or all-missing column can arrive as float after a merge."""
    return pd.Series([str(v) for v in values], index=values.index, dtype=object)


def short_name(benchmarks: pd.Series) -> pd.Series:
    """``bench_unary.Unary.time_op`` -> ``Unary.time_op``."""
    return _texts(benchmarks).str.split(".").str[-2:].str.join(".")


def measure_name(benchmarks: pd.Series) -> pd.Series:
    """What a benchmark measures, from its method name: ``time_op`` -> ``time``,
    ``peakmem_op`` -> ``peak memory``, ``track_max_rel_error`` -> ``max rel error``."""
    method = _texts(benchmarks).str.rsplit(".", n=1).str[-1]
    # object dtype: str.extract of an empty series would give float columns, which have no .str
    kind = method.str.extract(r"^(time|peakmem|mem|track)_?(.*)$").astype(object)
    named = kind[0].map({"time": "time", "peakmem": "peak memory", "mem": "memory"})
    tracked = kind[1].astype(str).str.replace("_", " ").where(kind[0] == "track")
    return named.fillna(tracked).fillna(method)


def main_envs() -> dict[str, str]:
    """Each machine's main environment: the one that measured its newest commit (the current grid), an
    environment with SIMD switched off (the ablation) only where no other did, then the one with the most results."""
    per_env = state.summary().get("per_env")
    if per_env is None or per_env.empty:
        return {}
    ranked = per_env.assign(ablation=per_env["env"].str.contains("SIMDoff", regex=False))
    ranked = ranked[ranked["newest_order"] == ranked.groupby("machine")["newest_order"].transform("max")]
    ranked = ranked.sort_values(["machine", "ablation", "results", "env"], ascending=[True, True, False, True], kind="stable")
    ranked = ranked.drop_duplicates("machine")
    return {str(m): str(e) for m, e in zip(ranked["machine"], ranked["env"], strict=True)}


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
    return _as_changes(guarded("regression", state.detected_changes), machines, envs)


def changes_in_effect(machines: list[str], envs: list[str], threshold: float) -> pd.DataFrame | None:
    """One row per live series with a code change of at least ``threshold`` in effect, in the filtered series."""
    return _as_changes(guarded("regression", state.changes_in_effect, threshold), machines, envs)


def _as_changes(found: pd.DataFrame | None, machines: list[str], envs: list[str]) -> pd.DataFrame | None:
    """Detector rows restricted to the sidebar's filters, with an ``id`` and a ``regression`` flag."""
    if found is None:
        return None
    found = _restrict(found, machines, envs).copy()
    found["id"] = [change_id(r) for r in found[["series", "commit_after"]].to_dict("records")]
    found["regression"] = found["kind"].astype(str) == "regression"
    return found


def with_confirmations(changes: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    """``changes`` with a ``re-measured`` column: the newest ``tensorscope confirm`` mark of the same
    series and commit range end (confirmed / refuted / undecided), '' where none was taken."""
    out = changes.copy()
    if marks.empty or changes.empty:
        out["re-measured"] = ""
        return out
    newest = marks.sort_values("measured_at").drop_duplicates(["series", "commit_after"], keep="last")
    mark = {(str(s), str(c)[:8]): str(m) for s, c, m in zip(newest["series"], newest["commit_after"], newest["mark"], strict=True)}
    out["re-measured"] = [mark.get((str(s), str(c)[:8]), "") for s, c in zip(out["series"], out["commit_after"], strict=True)]
    return out


def _factor_text(factor: float, better: str) -> str:
    """``1.74x slower`` / ``1.67x faster`` (``better`` is 'lower' or 'higher' for the benchmark)."""
    worse = factor > 1
    if better == "higher":
        return f"{factor:.3g}x lower" if worse else f"{1 / factor:.3g}x higher"
    return f"{factor:.3g}x slower" if worse else f"{1 / factor:.3g}x faster"


def changes_table(machines: list[str], envs: list[str], *, min_change: float = MIN_CHANGE) -> pd.DataFrame | None:
    """Detected changes of at least ``min_change`` as readable columns (for the overview).

    One column per parameter (backend, op, size, dtype, ...) instead of asv's ``params``
    label; ``measure`` says what changed (time, peak memory, ...); values carry their unit.
    Also keeps ``machine``, ``env``, ``order_after``, ``regression`` and ``size_of_change``.
    """
    found = changes(machines, envs)
    if found is None:
        return None
    found = found[found["factor"] > 0]
    size = np.maximum(found["factor"].astype(float), 1 / found["factor"].astype(float))  # 1.25 either way for 1.25 and 0.8
    keep = size - 1 >= min_change
    # assign the filtered sizes: a Series assigned to an empty frame would bring its whole index along
    found = found[keep].assign(size_of_change=size[keep])
    if found.empty:
        return pd.DataFrame(
            columns=[
                "change",
                "measure",
                "before",
                "after",
                "confidence",
                "commits",
                "benchmark",
                "machine",
                "env",
                "order_after",
                "regression",
                "size_of_change",
            ]
        )
    params = state.series_params()
    found = found.assign(series=found["series"].astype(str)).merge(params, on="series", how="left")
    better = found["better"].astype(str)
    units = found["unit"].astype(str)
    out = pd.DataFrame(
        {
            "change": [_factor_text(float(f), b) for f, b in zip(found["factor"], better, strict=True)],
            "measure": measure_name(found["benchmark"]),
        },
        index=found.index,
    )
    for column in [c for c in params.columns if c.startswith("param_")]:
        values = found[column].fillna("").astype(str)
        if values.ne("").any():
            out[column.removeprefix("param_")] = values
    out["before"] = [format_value(float(v), u) for v, u in zip(found["value_before"], units, strict=True)]
    out["after"] = [format_value(float(v), u) for v, u in zip(found["value_after"], units, strict=True)]
    out["confidence"] = found["confidence"].astype(float)
    out["commits"] = found["commit_before"].astype(str).str[:8] + ".." + found["commit_after"].astype(str).str[:8]
    out["benchmark"] = short_name(found["benchmark"])
    out["machine"] = found["machine"].astype(str)
    out["env"] = found["env"].astype(str)
    out["order_after"] = found["order_after"]
    out["regression"] = found["regression"]
    out["size_of_change"] = found["size_of_change"]
    return out.reset_index(drop=True)


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


def fastest_table(machines: list[str], envs: list[str]) -> tuple[pd.DataFrame, dict[str, str]] | None:
    """Per op, the fastest backend at its largest size and its speedup over python (for the overview).

    Restricted to the sidebar's machines and, per machine, to the sidebar's environments or
    else its main one (:func:`main_envs`), so each op appears once per machine and
    environment. Returns (table, {machine: environment shown}).
    """
    found = guarded("fastest backend", state.fastest, BASELINE)
    if found is None:
        return None
    found = _restrict(found, machines, envs)
    if not envs:
        main = main_envs()
        found = found[found["env"].astype(str) == found["machine"].astype(str).map(main)]
    shown = {str(m): ", ".join(sorted(set(e.astype(str)))) for m, e in found.groupby("machine")["env"]} if len(found) else {}
    op = found["param_op"].astype(str) if "param_op" in found.columns else short_name(found["benchmark"])
    out = pd.DataFrame({"op": op}, index=found.index)
    for column in [c for c in param_columns(found) if c != "param_op"]:
        values = found[column].fillna("").astype(str)
        if values.ne("").any():
            out[column.removeprefix("param_")] = values
    out["size"] = found["size"].astype(str)
    out["fastest"] = found["backend"].astype(str)
    out["time"] = [format_value(float(v), str(u)) for v, u in zip(found["value"], found["unit"], strict=True)]
    out["runner-up"] = found["runner_up"].fillna("").astype(str)
    out["ahead by"] = found["lead"].astype(float)
    out[f"x {BASELINE}"] = found["speedup"].astype(float)
    out[f"{BASELINE} size"] = found["baseline_size"].fillna("").astype(str)
    out["commit"] = found["commit"].astype(str).str[:8]
    if found["env"].nunique() > 1:
        out["env"] = found["env"].astype(str)
    if found["machine"].nunique() > 1:  # first: a row never speaks for a machine it does not name
        out.insert(0, "machine", found["machine"].astype(str))
    return out.reset_index(drop=True), shown


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


def machine_ratios(
    reference: str | None, machines: list[str], envs: list[str], benchmarks: list[str], across_python: bool = False
) -> pd.DataFrame | None:
    """Each series' newest value on every machine against ``reference`` (``compare_machines``)."""
    if reference is None:
        return None
    found = guarded("machine comparison", state.compare_machines, reference, across_python)
    if found is None:
        return None
    found = _restrict(found, machines, envs)
    found = found[found["machine"].astype(str) != reference]
    if benchmarks:
        found = found[found["benchmark"].astype(str).isin(benchmarks)]
    return found.reset_index(drop=True)


#: the Hardware page's "Python versions" choices (query parameter ``hpy``)
AUTO = "like with like, else across Python"
LIKE_ONLY = "only like with like"
ACROSS = "across Python versions too"
PYTHON_MODES = (AUTO, LIKE_ONLY, ACROSS)
#: how a ratio across Python versions is marked (chart labels, the table's comparison column)
ACROSS_LABEL = "across Python versions"
_UNLIKE_PYTHON = ("different Python", "Python unknown")


def _comparison(frame: pd.DataFrame) -> pd.DataFrame:
    envs = frame["env_match"].astype(str) if "env_match" in frame.columns else pd.Series("", index=frame.index)
    return frame.assign(comparison=np.where(envs.isin(_UNLIKE_PYTHON), ACROSS_LABEL, "like with like"))


def pairs(
    reference: str | None, machines: list[str], envs: list[str], benchmarks: list[str], mode: str = AUTO
) -> tuple[pd.DataFrame | None, list[str]]:
    """The Hardware page's pairs and the machines shown across Python versions only because they had
    nothing like with like (``mode`` AUTO). Every row has a ``comparison`` column: like with like, or
    across Python versions."""
    like = machine_ratios(reference, machines, envs, benchmarks, across_python=mode == ACROSS)
    if like is None:
        return None, []
    like = _comparison(like)
    if mode != AUTO or like.empty:
        return like, []
    compared = like["ratio"].notna()
    alike = set(like.loc[compared, "machine"].astype(str))
    python_only = like["match"].astype(str).str.startswith("excluded: Python") & ~like["match"].astype(str).str.contains("years apart")
    lacking = sorted(set(like.loc[python_only, "machine"].astype(str)) - alike)
    if not lacking:
        return like, []
    across = machine_ratios(reference, lacking, envs, benchmarks, across_python=True)
    if across is None or across.empty:
        return like, []
    across = _comparison(across)
    found = sorted(set(across.loc[across["ratio"].notna(), "machine"].astype(str)))
    if not found:
        return like, []
    merged = pd.concat([like[~like["machine"].astype(str).isin(found)], across], ignore_index=True)
    return merged, found


def python_reasons(frame: pd.DataFrame) -> str:
    """``Python 3.12 vs 3.11`` for the pairs of ``frame`` that differ in Python (from the env names or provenance)."""
    if frame.empty or "python" not in frame.columns:
        return "Python versions unknown"
    seen = dict.fromkeys(
        f"Python {p or 'unknown'} on {m} vs {q or 'unknown'}"
        for m, p, q in zip(frame["machine"].astype(str), frame["python"].astype(str), frame["reference_python"].astype(str), strict=True)
        if p != q or not p
    )
    return "; ".join(seen) or "Python versions unknown"


def provenance_of(ratios: pd.DataFrame, reference: str) -> pd.DataFrame | None:
    """The reference and each compared machine: the commit and env its ratios come from (the most used)
    and its hardware and key settings as provenance recorded there (:func:`state.machine_facts`)."""
    runs: list[tuple[str, str, str]] = []
    roles: list[tuple[str, str]] = []
    if len(ratios):
        ref = ratios.groupby(["reference_commit", "reference_env"]).size().sort_values(ascending=False).index[0]
        runs.append((reference, str(ref[0]), str(ref[1])))
        roles.append(("reference", "reference"))
        for machine, mine in ratios.groupby(ratios["machine"].astype(str), sort=True):
            commit, env = mine.groupby(["commit", "env"]).size().sort_values(ascending=False).index[0]
            runs.append((str(machine), str(commit), str(env)))
            roles.append(("compared", str(mine["comparison"].iloc[0]) if "comparison" in mine.columns else ""))
    found = guarded("machine provenance", state.machine_facts, runs)
    if found is None:
        return None
    out = found.copy()
    out.insert(1, "role", [r for r, _ in roles])
    out.insert(2, "comparison", [c for _, c in roles])
    out.insert(3, "commit", [c[:8] for _, c, _ in runs])
    out.insert(4, "env", [e for _, _, e in runs])
    return out


def machine_details(machines: list[str]) -> pd.DataFrame | None:
    """One row per machine.json / provenance field, one column per machine."""
    found = guarded("machine details", state.machine_details)
    if found is None:
        return None
    if machines:
        keep = [c for c in found.columns if c in machines]
        found = found[keep]
    return found
