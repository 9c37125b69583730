"""Accuracy: numerical error of each backend and op against the float64 reference (from
the suite's ``track_`` accuracy benchmarks), and how it changed over commits."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui

# A track_ benchmark is about accuracy when its name or unit says so.
ACCURACY = re.compile(r"accura|error|ulp|rel_?err|abs_?err|deviation", re.IGNORECASE)


def accuracy_benchmarks(combos: pd.DataFrame) -> list[str]:
    """The track_ benchmarks that measure an error (by name or unit)."""
    if combos.empty:
        return []
    track = combos[combos["benchmark"].astype(str).str.rsplit(".", n=1).str[-1].str.startswith("track")]
    hits = track[track["benchmark"].astype(str).str.contains(ACCURACY) | track["unit"].astype(str).str.contains(ACCURACY)]
    return sorted(hits["benchmark"].astype(str).unique())


st.title("Accuracy")
st.caption(
    "Error of each backend's result against the float64 reference, as recorded by the suite's `track_` accuracy benchmarks; lower is better."
)

if _ui.require_results():
    benchmarks = accuracy_benchmarks(state.combos())
    if not benchmarks:
        _ui.no_data("These results have no accuracy benchmark (a `track_` benchmark whose name or unit mentions accuracy, error or ULP).")
        _ui.chart(charts.empty_figure("No accuracy benchmarks in these results"), key="accuracy_heatmap")
    else:
        c = st.columns(4)
        benchmark = _ui.select("Accuracy benchmark", benchmarks, "abench", where=c[0])
        rows = _ui.filtered(state.subset(benchmark=benchmark))
        rows = rows[rows["status"].astype(str) == "ok"]
        machines = sorted(rows["machine"].astype(str).unique())
        machine = _ui.select("Machine", machines, "amachine", default=_ui.busiest_machine(machines), where=c[1])
        rows = rows[rows["machine"].astype(str) == machine]
        has = {name: f"param_{name}" in rows.columns and rows[f"param_{name}"].notna().any() for name in ("backend", "op", "dtype")}
        if has["dtype"]:
            dtype = _ui.select("dtype", charts.ordered(rows["param_dtype"].dropna().astype(str).unique()), "adtype", where=c[2])
            rows = rows[rows["param_dtype"].astype(str) == dtype]
        envs = sorted(rows["env"].astype(str).unique())
        env = _ui.select("Environment", envs, "aenv", where=c[3])
        rows = rows[rows["env"].astype(str) == env]
        if rows.empty:
            _ui.no_data("No successful accuracy measurement for this selection.")
            _ui.chart(charts.empty_figure("No accuracy measurement for this selection"), key="accuracy_heatmap")
        else:
            unit = str(rows["unit"].iloc[0])
            newest = rows[rows["commit_order"] == rows["commit_order"].max()]
            st.subheader(f"At the newest commit ({_ui.md(_ui.short(newest['commit'].iloc[0]))})")
            x = "param_backend" if has["backend"] else "params"
            y = "param_op" if has["op"] else "benchmark"
            heat = newest.assign(**{x: newest[x].astype(str), y: newest[y].astype(str)})
            fig = charts.heatmap_figure(
                heat, x=x, y=y, z="value", z_label=unit, centre=None, text_format="{:.2g}", title=f"{benchmark} ({unit})"
            )
            _ui.chart(fig, key="accuracy_heatmap")

            st.subheader("Over commits")
            series_by = x if has["backend"] else "params"
            op = None
            if has["op"]:
                op = _ui.select("Op", charts.ordered(rows["param_op"].dropna().astype(str).unique()), "aop")
                rows = rows[rows["param_op"].astype(str) == op]
            points = rows[["commit_order", "commit", "commit_date", "value"]].assign(series=rows[series_by].astype(str))
            _ui.chart(charts.lines_over_commits(points, unit=unit, log_y=True), key="accuracy_history")
            changed = (
                rows.groupby(series_by, observed=True)["value"].agg(first="first", newest="last", worst="max", best="min").reset_index()
            )
            changed["newest / first"] = changed["newest"] / changed["first"]
            _ui.table(changed, "accuracy-history", key="accuracy_table")
