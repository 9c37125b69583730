"""Explorer: any benchmark, any parameter combination, any machines, over commits."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import number_formats


def _series_labels(points: pd.DataFrame) -> pd.Series:
    """The shortest label that tells the series apart: only the parts that vary
    (machine, environment, then each parameter that takes several values)."""
    params = [c for c in points.columns if c.startswith("param_")]
    parts = [c for c in ("machine", "env", *params) if points[c].astype(str).nunique() > 1]
    if not parts:
        return pd.Series(str(points["params"].iloc[0]) or "value", index=points.index)
    named = len(parts) > 1  # one varying part: its value says it all

    def text(column: str) -> pd.Series:
        values = points[column].astype(str)
        return column.removeprefix("param_") + "=" + values if named and column.startswith("param_") else values

    label = text(parts[0])
    for column in parts[1:]:
        label = label + " | " + text(column)
    return label


st.title("Explorer")
st.caption("Any benchmark and parameter combination on any machines, over commits. Every choice is in the page's URL.")

if _ui.require_results():
    summary = state.summary()
    benchmarks = summary["benchmarks"]
    left, right = st.columns([3, 1])
    benchmark = _ui.select("Benchmark", benchmarks, "bench", where=left)
    machines, envs = _ui.shared_filters()
    params = state.param_values(benchmark=benchmark, machine=machines, env=envs)
    with right:
        log_y = _ui.toggle("Log scale", "log", default=False)
        band = _ui.toggle("99% CI band", "band", default=True)
    chosen: dict[str, Any] = {}
    if params:
        cols = st.columns(min(len(params), 4))
        for i, (column, found) in enumerate(params.items()):
            name = column.removeprefix("param_")
            values = charts.ordered(found)
            # Start narrow (one value per parameter, every backend) so the first view is readable.
            default = [] if name == "backend" or len(values) < 2 else values[:1]
            chosen[column] = _ui.multiselect(name, values, f"p_{name}", default=default, where=cols[i % len(cols)])
    rows = state.subset(benchmark=benchmark, machine=machines, env=envs, **chosen)
    ok = rows[rows["status"].astype(str) == "ok"]
    n_series = ok["series"].nunique() if len(ok) else 0
    max_series = 40
    if ok.empty:
        _ui.no_data("No successful measurement for this selection (the cells may all be skipped or failed).")
    else:
        unit = str(ok["unit"].iloc[0])
        columns = ["commit_order", "commit", "commit_date", "value", "ci_99_a", "ci_99_b", "machine", "env", "params"]
        points = ok[columns + [c for c in ok.columns if c.startswith("param_") and ok[c].notna().any()]].copy()
        points["series"] = _series_labels(points)
        if n_series > max_series:
            st.warning(f"{n_series} series match; drawing the first {max_series}. Narrow the parameters to see the others.")
            keep = sorted(points["series"].unique())[:max_series]
            points = points[points["series"].isin(keep)]
        fig = charts.series_figure(
            points if band else points.drop(columns=["ci_99_a", "ci_99_b"]), unit=unit, log_y=log_y, title=str(benchmark)
        )
        _ui.chart(fig, key="explorer_chart")
    status = rows["status"].astype(str).value_counts()
    st.caption(f"{len(rows):,} results: " + ", ".join(f"{_ui.md(k)} {v:,}" for k, v in status.items()))
    shown = rows.drop(columns=[c for c in ("samples", "series", "file", "type") if c in rows.columns])
    _ui.table(
        shown.sort_values(["machine", "env", "params", "commit_order"]), "explorer", key="explorer", column_config=number_formats(shown)
    )
