"""Accuracy: numerical error of each backend and op against the float64 reference (from
the suite's ``track_`` accuracy benchmarks), and how it changed over commits."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import main_envs, number_formats

# A track_ benchmark is about accuracy when its name or unit says so.
ACCURACY = re.compile(r"accura|error|ulp|rel_?err|abs_?err|deviation", re.IGNORECASE)


def accuracy_benchmarks(combos: pd.DataFrame) -> list[str]:
    """The track_ benchmarks that measure an error (by name or unit)."""
    if combos.empty:
        return []
    track = combos[combos["benchmark"].astype(str).str.rsplit(".", n=1).str[-1].str.startswith("track")]
    hits = track[track["benchmark"].astype(str).str.contains(ACCURACY) | track["unit"].astype(str).str.contains(ACCURACY)]
    return sorted(hits["benchmark"].astype(str).unique())


def newest_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the newest commit (by the set's commit order) among ``rows``."""
    return rows[rows["commit_order"] == rows["commit_order"].max()]


def most_errors(rows: pd.DataFrame, column: str) -> str | None:
    """The value of ``column`` with the most non-zero errors at the newest commit (ties: the first).

    An all-zero choice (exact ops, e.g. ``add``) would show an empty chart, so the first
    view starts where there is an error to see."""
    newest = newest_rows(rows)
    if newest.empty:
        return None
    nonzero = newest.assign(nz=newest["value"] > 0).groupby(newest[column].astype(str))["nz"].sum()
    nonzero = nonzero.reindex(charts.ordered(nonzero.index.tolist()))
    return str(nonzero.idxmax())


st.title("Accuracy")
st.caption(
    "Error of each backend's result against the float64 reference, as recorded by the suite's `track_` accuracy benchmarks; "
    "lower is better, and **exact** means an error of 0."
)

if _ui.require_results():
    benchmarks = accuracy_benchmarks(state.combos())
    if not benchmarks:
        _ui.no_data("These results have no accuracy benchmark (a `track_` benchmark whose name or unit mentions accuracy, error or ULP).")
        _ui.chart(charts.empty_figure("No accuracy benchmarks in these results"), key="accuracy_heatmap")
    else:
        c = st.columns(4)
        every = _ui.filtered(state.subset(benchmark=benchmarks))
        every = every[every["status"].astype(str) == "ok"]
        machines = sorted(every["machine"].astype(str).unique())
        machine = _ui.select("Machine", machines, "amachine", default=_ui.busiest_machine(machines), where=c[0])
        every = every[every["machine"].astype(str) == machine]
        envs = sorted(every["env"].astype(str).unique())
        env = _ui.select("Environment", envs, "aenv", default=main_envs().get(str(machine)), where=c[1])
        every = every[every["env"].astype(str) == env]
        shown_benchmarks = [b for b in benchmarks if b in set(every["benchmark"].astype(str))] or benchmarks
        benchmark = _ui.select(
            "Accuracy benchmark", shown_benchmarks, "abench", default=most_errors(every, "benchmark") if len(every) else None, where=c[2]
        )
        rows = every[every["benchmark"].astype(str) == benchmark]
        has = {name: f"param_{name}" in rows.columns and rows[f"param_{name}"].notna().any() for name in ("backend", "op", "dtype")}
        if has["dtype"]:
            dtypes = charts.ordered(rows["param_dtype"].dropna().astype(str).unique())
            dtype = _ui.select("dtype", dtypes, "adtype", default=most_errors(rows, "param_dtype"), where=c[3])
            rows = rows[rows["param_dtype"].astype(str) == dtype]
        if rows.empty:
            _ui.no_data("No successful accuracy measurement for this selection.")
            _ui.chart(charts.empty_figure("No accuracy measurement for this selection"), key="accuracy_heatmap")
        else:
            unit = str(rows["unit"].iloc[0])
            newest = newest_rows(rows)
            st.subheader(f"At the newest commit ({_ui.md(_ui.short(newest['commit'].iloc[0]))}, {_ui.md(env)})")
            x = "param_backend" if has["backend"] else "params"
            y = "param_op" if has["op"] else "benchmark"
            heat = newest.assign(**{x: newest[x].astype(str), y: newest[y].astype(str)})
            fig = charts.heatmap_figure(
                heat,
                x=x,
                y=y,
                z="value",
                z_label=unit,
                centre=None,
                text_format="{:.2g}",
                zero_text="exact",
                title=f"{benchmark} ({unit})",
            )
            _ui.chart(fig, key="accuracy_heatmap")
            exact = int((newest["value"] == 0).sum())
            if exact:
                st.caption(f"{exact} of {len(newest)} cells are exact (error 0): grey, labelled “exact”.")

            st.subheader("Over commits")
            series_by = x if has["backend"] else "params"
            op = None
            if has["op"]:
                op = _ui.select(
                    "Op", charts.ordered(rows["param_op"].dropna().astype(str).unique()), "aop", default=most_errors(rows, "param_op")
                )
                rows = rows[rows["param_op"].astype(str) == op]
            points = rows[["commit_order", "commit", "commit_date", "value"]].assign(series=rows[series_by].astype(str))
            if (points["value"] == 0).all():
                _ui.no_data(f"Every backend computes {_ui.md(op or benchmark)} exactly (error 0) at every commit measured here.")
            else:
                # a log scale shows errors of very different sizes, but cannot show an exact (0) result
                log_y = bool((points["value"] > 0).all())
                if not log_y:
                    st.caption("Some results are exact (error 0), so the scale is linear.")
                _ui.chart(charts.lines_over_commits(points, unit=unit, log_y=log_y), key="accuracy_history")
            changed = (
                rows.sort_values("commit_order")
                .groupby(series_by, observed=True)["value"]
                .agg(first="first", newest="last", worst="max", best="min")
                .reset_index()
            )
            # an exact first value has no ratio (NaN), not an infinite one
            changed["newest / first"] = changed["newest"] / changed["first"].where(changed["first"] > 0)
            changed = changed.rename(columns={series_by: series_by.removeprefix("param_")})
            _ui.table(changed, "accuracy-history", key="accuracy_table", column_config=number_formats(changed))
