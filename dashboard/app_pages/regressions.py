"""Regressions: detected changes, sortable by size and confidence; for the selected one
its series over commits (CI band, step marked), the commit range and its commits, and
the raw sample distribution on both sides of the step."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import changes

SORTS = {
    "size": (["factor_size", "confidence"], [False, False]),
    "confidence": (["confidence", "factor_size"], [False, False]),
    "newest": (["order_after", "factor_size"], [False, False]),
}
KINDS = ["regressions", "improvements", "both"]
MIN_CHANGES = [0, 1, 2, 5, 10, 20, 50, 100]
CONFIDENCES = ["0.9", "0.99", "0.999", "0.9999"]


def _pick_row(shown: pd.DataFrame, table_key: str) -> None:
    """Dataframe row click -> the URL-bound selectbox below (callbacks run before the script)."""
    selection: Any = st.session_state.get(table_key)
    rows = list(getattr(getattr(selection, "selection", None), "rows", []) or [])
    if not rows and isinstance(selection, dict):
        rows = list(selection.get("selection", {}).get("rows", []))
    if rows and rows[0] < len(shown):
        st.session_state["change"] = str(shown.iloc[rows[0]]["id"])


def _detail(change: pd.Series) -> None:
    rows = state.subset(
        machine=str(change["machine"]),
        env=str(change["env"]),
        benchmark=str(change["benchmark"]),
        params=str(change["params"]),
        samples=True,
    )
    ok = rows[rows["status"].astype(str) == "ok"]
    if "version_segment" in ok.columns:
        ok = ok[ok["version_segment"] == change["version_segment"]]
    unit = str(change["unit"])
    timed = unit == "seconds"
    verdict = ("slower" if timed else "worse") if change["regression"] else ("faster" if timed else "better")
    st.subheader(f"{change['factor']:.3g}x {verdict}")
    st.markdown(
        f"**{_ui.md(change['benchmark'])}** · {_ui.md(change['params']) or 'no parameters'} · "
        f"machine **{_ui.md(change['machine'])}** · env {_ui.md(change['env'])}  \n"
        f"{charts.format_value(change['value_before'], unit)} → {charts.format_value(change['value_after'], unit)} · "
        f"confidence {change['confidence']:.4f} (p = {change['pvalue']:.2g}) · noise ±{change['noise'] * 100:.2g}%"
    )
    points = ok[["commit_order", "commit", "commit_date", "value", "ci_99_a", "ci_99_b"]]
    fig = charts.series_figure(
        points,
        unit=unit,
        step=(float(change["order_before"]), float(change["order_after"])),
        step_label=f"{change['factor']:.3g}x",
        title="Series over commits (99% CI band; the step's commit range shaded)",
    )
    _ui.chart(fig, key="regression_series")

    left, right = st.columns(2)
    with left:
        st.markdown("**Commit range**: last commit measured before the step → first measured after")
        commits: pd.DataFrame = state.summary()["commits"]
        in_range = commits[(commits["commit_order"] >= change["order_before"]) & (commits["commit_order"] <= change["order_after"])]
        in_range = in_range.sort_values("commit_order")[["commit_order", "commit", "commit_date"]].copy()
        messages = state.commit_messages(in_range["commit"].astype(str).tolist())
        in_range["message"] = in_range["commit"].astype(str).map(messages) if messages else None
        in_range["measured"] = in_range["commit"].astype(str).isin(set(ok["commit"].astype(str)))
        if not messages:
            st.caption("Commit messages appear when the results' git repository is at hand (`--repo`).")
        _ui.table(in_range, "commit-range", key="regression_commits")
    with right:
        st.markdown("**Raw samples** at the two ends of the step")
        ends = ok[ok["commit_order"].isin([change["order_before"], change["order_after"]])]
        samples = []
        for _, row in ends.sort_values("commit_order").iterrows():
            values = row.get("samples")
            if values is None or (not hasattr(values, "__len__")) or len(values) == 0:
                continue
            label = f"{'before' if row['commit_order'] == change['order_before'] else 'after'} {str(row['commit'])[:8]}"
            samples += [{"label": label, "sample": float(v)} for v in values]
        if samples:
            _ui.chart(charts.distribution_figure(pd.DataFrame(samples), unit=unit), key="regression_samples")
        else:
            _ui.no_data("No raw samples were recorded for these runs (asv keeps them with `--record-samples`).")


st.title("Regressions")
st.caption("Steps detected in each benchmark series (a new level that holds, tested against the series' own noise), not single outliers.")

if _ui.require_results():
    machines, envs = _ui.shared_filters()
    found = changes(machines, envs)
    if found is None:
        _ui.no_data("Regression detection could not run on these results (the error is shown above).")
    else:
        c = st.columns(4)
        kind = _ui.select("Show", KINDS, "kind", where=c[0])
        min_change = _ui.select("Minimum change (%)", MIN_CHANGES, "min", default=5, where=c[1])
        min_conf = _ui.select("Minimum confidence", CONFIDENCES, "conf", default="0.99", where=c[2])
        sort = _ui.select("Sort by", list(SORTS), "sort", where=c[3])
        view = found.copy()
        view["factor_size"] = [max(f, 1.0 / f) if f > 0 else 0.0 for f in view["factor"]]
        if kind == "regressions":
            view = view[view["regression"]]
        elif kind == "improvements":
            view = view[~view["regression"]]
        view = view[(view["factor_size"] - 1.0) * 100.0 >= float(min_change)]
        view = view[view["confidence"] >= float(min_conf)]
        by, ascending = SORTS[str(sort)]
        view = view.sort_values(by, ascending=ascending).reset_index(drop=True)

        n_reg, n_imp = int(view["regression"].sum()), int((~view["regression"]).sum())
        st.caption(f"{n_reg} regression(s) and {n_imp} improvement(s) shown of {len(found)} detected steps.")
        if view.empty:
            _ui.no_data(
                "No detected change passes these filters."
                if len(found)
                else "No change detected in any series (a series needs at least four measured commits)."
            )
            _ui.chart(charts.changes_figure(pd.DataFrame(columns=["label", "ratio"])), key="regressions_overview")
        else:
            shown = view[
                [
                    "id",
                    "kind",
                    "factor",
                    "confidence",
                    "benchmark",
                    "params",
                    "machine",
                    "env",
                    "value_before",
                    "value_after",
                    "unit",
                    "commit_before",
                    "commit_after",
                    "date_after",
                ]
            ].copy()
            shown["commit_before"] = shown["commit_before"].astype(str).str[:8]
            shown["commit_after"] = shown["commit_after"].astype(str).str[:8]
            table_key = "changes_table"
            st.dataframe(
                shown,
                hide_index=True,
                key=table_key,
                on_select=lambda: _pick_row(shown, table_key),
                selection_mode="single-row",
                column_order=[c for c in shown.columns if c != "id"],
                column_config={
                    "factor": st.column_config.NumberColumn("factor (x worse, <1 better)", format="%.3f"),
                    "confidence": st.column_config.NumberColumn(format="%.5f"),
                },
            )
            _ui.download(shown, "changes", key="changes_csv")
            ids = view["id"].tolist()
            chosen = _ui.select("Change to inspect (click a row above, or choose here)", ids, "change")
            if chosen is not None:
                _detail(view.set_index("id").loc[chosen])
