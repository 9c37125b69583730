"""Roofline: ops placed by arithmetic intensity and achieved throughput under each
machine's measured memory and compute roofs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import roofline, roofs_for

st.title("Roofline")
st.caption(
    "Each timed op at its arithmetic intensity (FLOPs per byte moved, from the op catalog's cost model) and its achieved FLOP/s. "
    "The roofs are this machine's measured memory bandwidth and peak compute (the suite's calibration benchmarks): "
    "a point near its roof runs as fast as the hardware allows."
)

if _ui.require_results():
    machines_sel, _ = _ui.shared_filters()
    machines = [m for m in state.summary()["machines"] if not machines_sel or m in machines_sel]
    c = st.columns(4)
    machine = str(_ui.select("Machine", machines, "rmachine", default=_ui.busiest_machine(machines), where=c[0]))
    found = roofline(machine)
    if found is None:
        _ui.no_data("Roofline analysis could not run on these results (the error is shown above).")
        _ui.chart(charts.empty_figure("Roofline analysis not available"), key="roofline_chart")
    else:
        points, roofs = found
        points = _ui.filtered(points)
        if points.empty:
            _ui.no_data(
                "No timed op here has a known cost model (an `op`, `size` and `dtype` parameter the op catalog can cost), "
                "so none can be placed on a roofline."
            )
            _ui.chart(charts.empty_figure("No op with a cost model in these results"), key="roofline_chart")
        else:
            orders = points.groupby("commit", observed=True)["commit_order"].max().sort_values(ascending=False)
            commit = _ui.select("Commit", [str(h)[:8] for h in orders.index], "rcommit", where=c[1])
            points = points[points["commit"].astype(str).str[:8] == commit]
            dtypes = charts.ordered(points["param_dtype"].dropna().astype(str).unique())
            dtype = str(_ui.select("dtype", dtypes, "rdtype", default="float64", where=c[2]))
            points = points[points["param_dtype"].astype(str) == dtype]
            backends = sorted(points["param_backend"].dropna().astype(str).unique()) if "param_backend" in points.columns else []
            chosen = _ui.multiselect("Backends", backends, "rbackend", where=c[3])
            if chosen:
                points = points[points["param_backend"].astype(str).isin(chosen)]
            roof = roofs_for(roofs, machine, dtype)
            gpu_roof = roofs_for(roofs, machine, dtype, gpu=True)
            drawn = {f"{machine} CPU": roof} if roof else {}
            if gpu_roof:
                drawn[f"{machine} GPU"] = gpu_roof
            if not drawn:
                st.caption(
                    "No measured roofs for this machine (the calibration benchmarks `track_bandwidth` / `track_gemm_flops` did not run): points only."
                )
            backend = points["param_backend"].astype(str) if "param_backend" in points.columns else pd.Series("", index=points.index)
            frame = pd.DataFrame(
                {
                    "intensity": points["intensity"],
                    "throughput": points["gflops"] * 1e9,
                    "label": points["param_op"].astype(str) + " n=" + points["param_size"].astype(str) + " " + backend,
                    "group": backend,
                }
            )
            _ui.chart(charts.roofline_figure(frame, drawn, title=f"{machine}, {dtype}, {commit}"), key="roofline_chart")
            cols = [
                c
                for c in [
                    "param_op",
                    "param_backend",
                    "param_size",
                    "param_dtype",
                    "value",
                    "flops",
                    "bytes",
                    "intensity",
                    "gflops",
                    "gbs",
                    "attainable_gflops",
                    "efficiency",
                ]
                if c in points.columns
            ]
            _ui.table(
                points[cols].sort_values("efficiency", ascending=False) if "efficiency" in cols else points[cols],
                "roofline",
                key="roofline_table",
            )
            if not roofs.empty:
                st.caption("Measured roofs")
                _ui.table(roofs, "roofs", key="roofline_roofs")
