"""Roofline: ops placed by arithmetic intensity and achieved throughput under each
machine's measured memory and compute roofs."""

from __future__ import annotations

import streamlit as st

from dashboard import charts
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import roofline

st.title("Roofline")
st.caption(
    "Each op at its arithmetic intensity (FLOPs per byte moved, from the op catalog's cost model) and its achieved FLOP/s; "
    "the roofs are the machine's measured memory bandwidth and peak compute. Points near a roof are as fast as the hardware allows."
)

if _ui.require_results():
    machines_sel, envs_sel = _ui.shared_filters()
    found = roofline(machines_sel, envs_sel)
    if found is None:
        _ui.no_data("Roofline analysis is not available in this installation (dashboard.analysis.roofline).")
        _ui.chart(charts.empty_figure("Roofline analysis not available"), key="roofline_chart")
    else:
        points, roofs = found
        if points.empty:
            _ui.no_data(
                "No op in these results has both a cost model (FLOPs and bytes) and a measured time, so none can be placed on a roofline."
            )
            _ui.chart(charts.empty_figure("No op with a cost model in these results"), key="roofline_chart")
        else:
            machines = sorted(points["machine"].astype(str).unique()) if "machine" in points.columns else []
            c = st.columns(3)
            machine = _ui.select("Machine", machines, "rmachine", where=c[0]) if machines else None
            if machine is not None:
                points = points[points["machine"].astype(str) == machine]
            groups = sorted(points["group"].astype(str).unique())
            chosen = _ui.multiselect("Backends", groups, "rbackend", where=c[1])
            if chosen:
                points = points[points["group"].astype(str).isin(chosen)]
            machine_roofs = {machine: roofs[machine]} if machine in roofs else {}
            if not machine_roofs:
                st.caption("No measured roofs for this machine (its provenance has no memory bandwidth / peak FLOP/s): points only.")
            _ui.chart(charts.roofline_figure(points, machine_roofs, title=str(machine or "")), key="roofline_chart")
            _ui.table(points, "roofline", key="roofline_table")
