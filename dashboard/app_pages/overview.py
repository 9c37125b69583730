"""Overview: machines and hardware, commits covered, latest run, result counts, newest
changes and biggest speedups."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import changes_table, speedup_table

st.title("tensorscope")
st.caption("How fast is each operation of each tensor backend, on this hardware, at this commit — and did it just get slower?")

if _ui.require_results():
    summary = state.summary()
    machines_sel, envs_sel = _ui.shared_filters()
    per_machine: pd.DataFrame = summary["per_machine"]
    if machines_sel:
        per_machine = per_machine[per_machine["machine"].astype(str).isin(machines_sel)]
    counts = {k: int(per_machine[k].sum()) for k in ("ok", "skipped", "failed")} if not per_machine.empty else summary["status"]
    commits: pd.DataFrame = summary["commits"]
    latest = summary.get("latest_run")

    c = st.columns(5)
    c[0].metric("Machines", len(per_machine))
    c[1].metric("Commits", len(commits))
    c[2].metric("Benchmarks", len(summary["benchmarks"]))
    c[3].metric("Results", f"{sum(counts.values()):,}")
    c[4].metric("Latest run", latest.strftime("%Y-%m-%d") if latest is not None and not pd.isna(latest) else "n/a")

    left, right = st.columns([2, 3])
    with left:
        st.subheader("Result status")
        st.html(charts.status_html(counts))
        st.caption("ok = measured; skipped = the cell does not apply (asv wrote NaN); failed = an error or timeout (asv wrote null).")
    with right:
        st.subheader("Machines and hardware")
        hardware = state.machines()
        if not hardware.empty:
            hardware = hardware.merge(per_machine, on="machine", how="inner") if not per_machine.empty else hardware
        keep = [c for c in hardware.columns if not str(c).startswith("provenance.")]
        _ui.table(hardware[keep], "machines", key="overview_machines")

    st.subheader("Newest regressions and improvements")
    changes = changes_table(machines_sel, envs_sel)
    if changes is None:
        _ui.no_data("Regression detection could not run on these results (the error is shown above).")
    elif changes.empty:
        _ui.no_data("No change detected in any series (a series needs several commits).")
    else:
        newest = changes.sort_values(["order_after", "confidence"], ascending=[False, False])
        cols = st.columns(2)
        with cols[0]:
            st.markdown("**Regressions** (slower)")
            _ui.table(newest[newest["regression"]].head(10), "newest-regressions", key="overview_regressions")
        with cols[1]:
            st.markdown("**Improvements** (faster)")
            _ui.table(newest[~newest["regression"]].head(10), "newest-improvements", key="overview_improvements")
        st.page_link("app_pages/regressions.py", label="All detected changes", icon=":material/trending_up:")

    st.subheader("Biggest speedups over the python backend")
    speedups = speedup_table(machines_sel, envs_sel)
    if speedups is None:
        _ui.no_data("Speedup analysis could not run on these results (the error is shown above).")
    elif speedups.empty:
        _ui.no_data("No speedup over a python baseline: these results have no `backend` parameter with a `python` value.")
    else:
        _ui.table(speedups.sort_values("speedup", ascending=False).head(15), "biggest-speedups", key="overview_speedups")

    st.subheader("Commits covered")
    _ui.table(commits.head(50), "commits", key="overview_commits")
