"""Hardware: the same benchmarks across machines as ratios to a reference machine, and
each machine's provenance side by side."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import machine_ratios

st.title("Hardware")
st.caption(
    "The same benchmark on different machines, each machine's newest measurement, as a ratio to a reference machine (>1 = slower than the reference)."
)

if _ui.require_results():
    machines_sel, envs_sel = _ui.shared_filters()
    every = state.summary()["machines"]
    machines = [m for m in every if not machines_sel or m in machines_sel]
    c = st.columns(3)
    reference = _ui.select("Reference machine", machines, "ref", where=c[0])
    benchmarks = sorted(state.latest()["benchmark"].astype(str).unique())
    chosen = _ui.multiselect("Benchmarks", benchmarks, "hbench", where=c[1], placeholder="all")
    log_y = _ui.toggle("Log scale", "hlog", default=True, where=c[2])
    ratios = machine_ratios(reference, machines, envs_sel, chosen)
    if len(machines) < 2:
        _ui.no_data("These results come from one machine only: there is nothing to compare across hardware.")
        _ui.chart(charts.empty_figure("One machine only"), key="hardware_ratios")
    elif ratios is None or ratios.empty:
        _ui.no_data("No benchmark was measured on both the reference and another machine (with the same parameters and environment).")
        _ui.chart(charts.empty_figure("No benchmark in common"), key="hardware_ratios")
    else:
        positive = ratios[ratios["ratio"] > 0].assign(log_ratio=lambda f: np.log(f["ratio"]))
        summary = positive.groupby("machine", as_index=False).agg(benchmarks=("ratio", "size"), log_ratio=("log_ratio", "mean"))
        summary["geomean_ratio"] = np.exp(summary["log_ratio"])
        st.subheader("Geometric mean ratio to the reference")
        fig = charts.bar_figure(summary, x="machine", y="geomean_ratio", log_y=log_y, y_title=f"time ratio to {reference}")
        _ui.chart(fig, key="hardware_ratios")
        st.subheader("Per benchmark")
        per = ratios.assign(
            label=ratios["benchmark"].astype(str).str.rsplit(".", n=1).str[-2:].str.join(".") + " " + ratios["params"].astype(str)
        )
        top = per.sort_values("ratio", key=lambda r: np.abs(np.log(r.clip(lower=1e-12))), ascending=False).head(60)
        _ui.chart(
            charts.bar_figure(top, x="label", y="ratio", colour="machine", log_y=log_y, y_title=f"ratio to {reference}"),
            key="hardware_per_benchmark",
        )
        _ui.table(ratios, "machine-ratios", key="hardware_table")

    st.subheader("Provenance, side by side")
    info = state.machines()
    if machines_sel:
        info = info[info["machine"].astype(str).isin(machines_sel)]
    if info.empty:
        _ui.no_data("No machine information in these results.")
    else:
        side = info.set_index("machine").T
        side.index = [str(i).removeprefix("provenance.") for i in side.index]
        side = side.dropna(how="all").astype(str).replace({"nan": "", "None": ""})
        side.insert(0, "field", side.index)
        differs = side.drop(columns="field").nunique(axis=1) > 1
        only_diff = _ui.toggle("Only fields that differ", "hdiff", default=False)
        _ui.table(side[differs] if only_diff else side, "provenance", key="hardware_provenance")
