"""Roofline: ops placed by arithmetic intensity and achieved throughput under each
machine's measured memory and compute roofs, with the memory level their data fits in."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import guarded, main_envs, number_formats, roofline, roofs_for
from tensorscope.units import format_value

# analysis column -> what the table calls it, in table order (the answer first, the workings after)
COLUMNS = {
    "param_op": "op",
    "param_backend": "backend",
    "param_size": "size",
    "param_dtype": "dtype",
    "efficiency": "share of roof",
    "fits_in": "data fits in",
    "bound": "bound by",
    "gbs": "GB/s",
    "gflops": "GFLOP/s",
    "attainable_gflops": "roof GFLOP/s",
    "intensity": "FLOP per byte",
    "value": "time (s)",
    "flops": "FLOPs",
    "bytes": "bytes moved",
    "cost_source": "cost from",
}


def roof_names(roofs: pd.DataFrame) -> pd.DataFrame:
    """The roofs frame with readable column names: ``peak_gbs`` -> ``DRAM GB/s``, ``peak_gflops_float32`` -> ``float32 GFLOP/s``."""

    def name(column: str) -> str:
        gpu = "GPU " if column.startswith("gpu_") else ""
        column = column.removeprefix("gpu_")
        if column == "peak_gbs":
            return f"{gpu}{'memory' if gpu else 'DRAM'} GB/s"
        if column.startswith("peak_gflops"):
            return f"{gpu}{column.removeprefix('peak_gflops').strip('_')} GFLOP/s".replace("  ", " ").strip()
        return column

    return roofs.rename(columns={c: name(c) for c in roofs.columns})


st.title("Roofline")
st.caption(
    "Each timed op at its arithmetic intensity (FLOPs per byte moved, from the op catalog's cost model) and its achieved FLOP/s. "
    "The roofs are this machine's measured DRAM bandwidth and peak compute (the suite's calibration benchmarks): "
    "a point near its roof runs as fast as the hardware allows."
)


def cache_note(points: pd.DataFrame, roof: tuple[float, float] | None) -> None:
    """Why a point can sit above the DRAM roof, with this machine's cache sizes."""
    sizes = points.dropna(subset=["cache_bytes"]).groupby("fits_in")["cache_bytes"].max()
    levels = ", ".join(f"{level} {format_value(size, 'bytes')}" for level, size in sizes.items())
    bandwidth = f"{format_value(roof[0] / 1e9, 'GB/s')} " if roof else ""
    if (points["fits_in"] == "unknown").all():
        st.caption(
            f"The DRAM roof {bandwidth}holds for data that streams from main memory. This machine's cache sizes were not recorded "
            "(tensorscope's provenance has them), so points whose data fits in a cache cannot be told apart here: "
            "those can run above the DRAM roof (share of roof above 1)."
        )
        return
    st.caption(
        f"The memory roof is the **DRAM** bandwidth {bandwidth}(the calibration streams arrays far larger than any cache). "
        f"An op whose working set (its bytes read + written) fits in a cache ({levels} on this machine, all cores together) "
        "is fed from that cache, faster than DRAM, so it can beat the DRAM roof: a share of roof above 1 means exactly that. "
        "Such points are drawn as diamonds; the column **data fits in** names the level. "
        "Cache bandwidth is not measured by the calibration, so no cache roof is drawn."
    )


if _ui.require_results():
    machines_sel, _ = _ui.shared_filters()
    machines = [m for m in state.summary()["machines"] if not machines_sel or m in machines_sel]
    c = st.columns(5)
    # the first view draws roofs: the busiest machine among those whose calibration measured them, at such a run
    calibrated = state.calibrated_runs()
    with_roofs = [m for m in machines if m in set(calibrated["machine"])]
    machine = str(_ui.select("Machine", machines, "rmachine", default=_ui.busiest_machine(with_roofs or machines), where=c[0]))
    runs = calibrated[calibrated["machine"] == machine]
    found = roofline(machine)
    if found is None:
        _ui.no_data("Roofline analysis could not run on these results (the error is shown above).")
        _ui.chart(charts.empty_figure("Roofline analysis not available"), key="roofline_chart")
    else:
        points, roofs = found
        points = _ui.filtered(points)
        points = points[points["bytes"].notna()] if "bytes" in points.columns else points
        if points.empty:
            _ui.no_data(
                "No timed op here has a known cost model (an `op`, `size` and `dtype` parameter the op catalog can cost), "
                "so none can be placed on a roofline."
            )
            _ui.chart(charts.empty_figure("No op with a cost model in these results"), key="roofline_chart")
        else:
            envs = sorted(points["env"].astype(str).unique())
            measured = runs[runs["env"].isin(envs)]
            env = _ui.select(
                "Environment", envs, "renv", default=measured["env"].iloc[0] if len(measured) else main_envs().get(machine), where=c[1]
            )
            points = points[points["env"].astype(str) == env]
            orders = points.groupby("commit", observed=True)["commit_order"].max().sort_values(ascending=False)
            labels = [str(h)[:8] for h in orders.index]
            roof_commits = [str(h)[:8] for h in runs.loc[runs["env"] == env, "commit"]]
            default_commit = next((h for h in roof_commits if h in labels), None)
            commit = _ui.select(
                "Commit",
                labels,
                "rcommit",
                default=default_commit,
                where=c[2],
                help="Default: the newest commit whose calibration measured this machine's roofs",
            )
            points = points[points["commit"].astype(str).str[:8] == commit]
            here = runs[(runs["env"] == env) & (runs["commit"].str[:8] == commit)]
            if len(here):  # the roofs this very run measured
                roofs = guarded("roofs", state.roofs_at, machine, str(here["commit"].iloc[0]), str(env))
                roofs = roofs if roofs is not None else pd.DataFrame()
            elif len(runs):
                st.caption(
                    f"This commit ran no calibration: the roofs drawn are the newest this machine measured "
                    f"(commit `{_ui.short(runs['commit'].iloc[0])}`, {_ui.md(runs['env'].iloc[0])})."
                )
            counts = points["param_dtype"].astype(str).value_counts()
            dtypes = charts.ordered(counts.index.tolist())
            roofed = [d for d in counts.index if roofs_for(roofs, machine, str(d)) or roofs_for(roofs, machine, str(d), gpu=True)]
            default_dtype = roofed[0] if roofed else (counts.index[0] if len(counts) else None)
            dtype = str(_ui.select("dtype", dtypes, "rdtype", default=default_dtype, where=c[3]))
            points = points[points["param_dtype"].astype(str) == dtype]
            backends = sorted(points["param_backend"].dropna().astype(str).unique()) if "param_backend" in points.columns else []
            chosen = _ui.multiselect("Backends", backends, "rbackend", where=c[4])
            if chosen:
                points = points[points["param_backend"].astype(str).isin(chosen)]
            # Ops without FLOPs (copies, views, creation) have no place on FLOP/s axes, and their
            # bytes depend on whether a backend copies or returns a view, which the cost model cannot tell.
            no_flops = points[~(points["flops"] > 0)]
            points = points[points["flops"] > 0]
            roof = roofs_for(roofs, machine, dtype)
            gpu_roof = roofs_for(roofs, machine, dtype, gpu=True)
            drawn = {f"{machine} CPU (DRAM)": roof} if roof else {}
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
                    "label": points["param_op"].astype(str)
                    + " n="
                    + points["param_size"].astype(str)
                    + " "
                    + backend
                    + " · data fits in "
                    + points["fits_in"].astype(str),
                    "group": backend,
                    "in_cache": points["fits_in"].isin(["L1", "L2", "L3"]),
                }
            )
            _ui.chart(charts.roofline_figure(frame, drawn, title=f"{machine}, {dtype}, {commit}"), key="roofline_chart")
            cache_note(points, roof)
            if len(no_flops):
                left_out = ", ".join(sorted(no_flops["param_op"].astype(str).unique()))
                st.caption(f"Not placed (no FLOPs; a view or a copy, depending on the backend): {_ui.md(left_out)}.")
            cols = [c for c in COLUMNS if c in points.columns]
            table = points[cols].rename(columns=COLUMNS)
            if "share of roof" in table.columns:
                table = table.sort_values("share of roof", ascending=False)
            _ui.table(
                table,
                "roofline",
                key="roofline_table",
                column_config=number_formats(table, {"FLOPs": "%.4g", "bytes moved": "%.4g", "share of roof": "%.3g"}),
            )
            if not roofs.empty:
                st.caption("Measured roofs (GB/s: DRAM bandwidth, best of STREAM copy and triad; GFLOP/s: BLAS gemm)")
                named = roof_names(roofs)
                _ui.table(named, "roofs", key="roofline_roofs", column_config=number_formats(named))
