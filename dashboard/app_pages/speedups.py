"""Speedups over Python: op x backend heatmap of the speedup over the pure-Python
backend at one size, dtype, machine and commit; time against size per backend with the
crossovers; SIMD on against off; GPU against CPU where GPU results exist."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import (
    BASELINE,
    crossovers,
    gpu_speedups,
    guarded,
    main_envs,
    number_formats,
    simd_ratios,
    speedups_at,
)
from tensorscope.analysis import study_group as study_group_analysis

st.title("Speedups over Python")
st.caption(
    f"How many times faster each backend runs an op than the pure-Python `{BASELINE}` backend (the reference every backend is "
    "checked against). Cells are matched on every parameter; the low/high range comes from both 99% confidence intervals."
)


def _commit_labels(rows: pd.DataFrame) -> dict[str, str]:
    """label -> full hash, newest first."""
    commits = rows.groupby("commit", observed=True).agg(date=("commit_date", "max"), order=("commit_order", "max")).reset_index()
    commits = commits.sort_values("order", ascending=False)
    return {
        (f"{str(c)[:8]} ({d:%Y-%m-%d})" if not pd.isna(d) else str(c)[:8]): str(c)
        for c, d in zip(commits["commit"], commits["date"], strict=True)
    }


def best_cell(table: pd.DataFrame) -> tuple[str | None, dict[str, str]]:
    """The default (dtype, size per dtype): the pair with the most ops measured on both python and
    another backend (ties: the larger size), so the first heatmap is as full as the data allows."""
    counts = table[(table["dtype"] != "") & (table["size"] != "")].groupby(["dtype", "size"])["op"].nunique().reset_index()
    if counts.empty:
        return None, {}
    counts["n"] = pd.to_numeric(counts["size"], errors="coerce")
    counts = counts.sort_values(["op", "n"], ascending=[False, False], na_position="last")
    firsts = counts.drop_duplicates("dtype")
    per_dtype = {str(d): str(n) for d, n in zip(firsts["dtype"], firsts["size"], strict=True)}
    return str(counts["dtype"].iloc[0]), per_dtype


def study_group_section(machines_sel: list[str]) -> None:
    """The seed's published speedups over pure Nx beside ours over pure Python, machine by machine."""
    found = guarded("study group", state.study_group_table)
    if found is None:
        return
    study, hardware = found
    if machines_sel:
        study = study[study["machine"].isin(machines_sel)]
    if study.empty:
        return  # not tensorscope's suite (no backend/op/size/dtype parameters): nothing to set beside the seed
    st.subheader("The study group's table: our speedups over Python beside theirs over pure Nx")
    st.caption(
        "The study group's published speedups of a fast backend over the pure Nx backend, at their ops and sizes, beside how "
        f"many times faster each of our backends runs the same op at the same size (float32) than the pure-Python `{BASELINE}` "
        "backend: python's median time / the backend's, same machine, commit (the newest where both ran), environment, op, size "
        "and dtype; in brackets the range from both 99% confidence intervals. SIMD-off environments (the ablation) are left out."
    )
    st.info(study_group_analysis.BASELINES_DIFFER, icon=":material/balance:")
    notes = sorted({str(n) for n in study["note"] if n})
    if notes:
        st.caption(" ".join(f"Note: {_ui.md(n)}." for n in notes))
    for machine in dict.fromkeys(study["machine"].astype(str)):
        mine = study[study["machine"] == machine]
        commits = sorted({_ui.short(c) for c in mine["commit"] if c})
        where = f"commit {', '.join(commits)}" if commits else "nothing measured at these sizes yet"
        st.markdown(f"**{_ui.md(machine)}**: {_ui.md(hardware.get(machine, 'hardware not recorded'))} ({where})")
        wide = study_group_analysis.wide(study, machine).rename(
            columns={
                "figure": "our op and size",
                "seed_backend": "seed: backend over pure Nx",
                "seed_speedup": "seed speedup",
                "seed_hardware": "seed hardware",
            }
        )
        wide = wide.rename(columns={b: f"{b} over python" for b in mine["backend"].unique()})
        _ui.table(wide, f"study-group-{machine}", key=f"study_group_{machine}")
        missing = mine[mine["speedup"].isna() & (mine["reason"] != "")]
        if len(missing):
            reasons = [f"{f}: {'; '.join(dict.fromkeys(r))}" for f, r in missing.groupby("figure", sort=False)["reason"]]
            st.caption("Not measured: " + " · ".join(_ui.md(r) for r in reasons))
    with st.expander("Every cell: times, commit and environment"):
        cells = study[["machine", "figure", "backend", "speedup", "speedup_low", "speedup_high", "value", "baseline_value"]].assign(
            commit=study["commit"].str[:8], env=study["env"], seed=study["seed_speedup"], reason=study["reason"]
        )
        cells = cells.rename(columns={"value": "backend time (s)", "baseline_value": "python time (s)"})
        _ui.table(cells, "study-group-cells", key="study_group_cells", column_config=number_formats(cells, {"speedup": "%.4gx"}))


def _at(frame: pd.DataFrame, size: str | None, dtype: str | None) -> pd.DataFrame:
    if dtype:
        frame = frame[frame["dtype"] == dtype]
    if size:
        frame = frame[frame["size"] == size]
    return frame


if _ui.require_results():
    study_group_section(_ui.shared_filters()[0])
    newest = _ui.filtered(state.latest())
    has_backend = "param_backend" in newest.columns
    base_rows = newest[newest["param_backend"].astype(str) == BASELINE] if has_backend else newest.iloc[0:0]
    if base_rows.empty:
        _ui.no_data(
            f"These results have no `backend` parameter with a `{BASELINE}` value, so there is no pure-Python baseline to compare with."
        )
        _ui.chart(charts.empty_figure("No python baseline in these results"), key="speedup_heatmap")
    else:
        c = st.columns(5)
        machines = sorted(base_rows["machine"].astype(str).unique())
        machine = str(_ui.select("Machine", machines, "smachine", default=_ui.busiest_machine(machines), where=c[0]))
        envs = sorted(base_rows[base_rows["machine"].astype(str) == machine]["env"].astype(str).unique())
        env = _ui.select("Environment", envs, "senv", default=main_envs().get(machine), where=c[1])
        rows = state.subset(machine=machine, env=env, param_backend=BASELINE)
        labels = _commit_labels(rows)
        commit_label = _ui.select("Commit", list(labels), "scommit", where=c[2])
        commit = labels.get(str(commit_label)) if commit_label is not None else None
        table = speedups_at(machine, env, commit)
        if table is None:
            _ui.no_data("Speedup analysis could not run on these results (the error is shown above).")
            _ui.chart(charts.empty_figure("Speedup analysis not available"), key="speedup_heatmap")
            st.stop()
        best_dtype, best_size = best_cell(table)
        dtypes = charts.ordered([d for d in table["dtype"].unique() if d])
        dtype = _ui.select("dtype", dtypes, "sdtype", default=best_dtype, where=c[3]) if dtypes else None
        with_dtype = table[table["dtype"] == dtype] if dtype else table
        sizes = charts.ordered([s for s in with_dtype["size"].unique() if s])
        size = _ui.select("Size", sizes, "ssize", default=best_size.get(str(dtype)), where=c[4]) if sizes else None
        cell = _at(table, size, dtype)

        st.subheader("Speedup over Python, op x backend")
        if cell.empty:
            _ui.no_data("No op was measured on both the python backend and another backend for this selection.")
        title = f"size {size or 'n/a'}, {dtype or 'any dtype'}, {machine}, {str(commit)[:8]}"
        fig = charts.heatmap_figure(cell, x="backend", y="op", z="speedup", z_label="x faster than python", title=title)
        _ui.chart(fig, key="speedup_heatmap")
        shown = cell[
            [
                c
                for c in [
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
                if c in cell.columns
            ]
        ]
        _ui.table(
            shown.sort_values("speedup", ascending=False),
            "speedups",
            key="speedup_table",
            column_config=number_formats(shown, {"speedup": "%.3gx", "speedup_low": "%.3gx", "speedup_high": "%.3gx"}),
        )

        st.subheader("Time against size")
        ops = charts.ordered(table["op"].unique().tolist())
        op = _ui.select("Op", ops, "sop")
        curve = table[table["op"] == op]
        if dtype:
            curve = curve[curve["dtype"] == dtype]
        points = pd.concat(
            [
                curve[["size", "value", "backend"]],
                curve.drop_duplicates("size")[["size", "baseline_value"]]
                .rename(columns={"baseline_value": "value"})
                .assign(backend=BASELINE),
            ],
            ignore_index=True,
        )
        points["size"] = pd.to_numeric(points["size"], errors="coerce")
        cross = charts.crossover_points(points)
        _ui.chart(charts.curves_figure(points, crossovers=cross, unit="seconds", title=f"{op}, {dtype or ''}"), key="speedup_curves")
        wins = crossovers(curve)
        if wins is not None and not wins.empty:
            st.caption(f"Smallest size from which each backend beats `{BASELINE}` at every larger size measured (NaN: it never does).")
            cols = [c for c in ["backend", "param_op", "param_dtype", "crossover_size", "wins_everywhere", "sizes"] if c in wins.columns]
            _ui.table(wins[cols], "crossovers", key="speedup_crossovers", column_config=number_formats(wins[cols]))
        if not cross.empty:
            crossings = cross.rename(columns={"x": "size", "y": "seconds", "label": "curves cross"})
            _ui.table(crossings, "curve-crossings", key="speedup_crossings", column_config=number_formats(crossings))

        st.subheader("SIMD on against SIMD off")
        simd = simd_ratios(machine, commit)
        if simd is None or simd.empty:
            _ui.no_data("No SIMD ablation at this commit: no pair of environments differing only in `TENSORSCOPE_SIMD` (on/off).")
        else:
            simd = simd.assign(
                size=simd.get("param_size", pd.Series("", index=simd.index)).astype(str),
                dtype=simd.get("param_dtype", pd.Series("", index=simd.index)).astype(str),
            )
            at = _at(simd, size, dtype)
            fig = charts.bar_figure(
                at,
                x="op",
                y="ratio",
                colour="backend",
                y_title="time SIMD off / time SIMD on",
                error_low="ratio_low",
                error_high="ratio_high",
            )
            _ui.chart(fig, key="speedup_simd")
            cols = [
                c
                for c in [
                    "op",
                    "backend",
                    "size",
                    "dtype",
                    "ratio",
                    "ratio_low",
                    "ratio_high",
                    "value",
                    "den_value",
                    "env_numerator",
                    "env_denominator",
                    "benchmark",
                ]
                if c in at.columns
            ]
            _ui.table(at[cols], "simd-ablation", key="speedup_simd_table", column_config=number_formats(at[cols]))

        st.subheader("GPU against CPU")
        gpu = gpu_speedups(machine, env, commit)
        if gpu is None or gpu.empty:
            _ui.no_data(
                "No GPU results here (backends `torch:cuda`, `jax:gpu` or `cupy` next to their CPU counterpart on this machine and commit)."
            )
        else:
            at = _at(gpu, size, dtype)
            fig = charts.bar_figure(
                at, x="op", y="speedup", colour="pair", y_title="x faster on the GPU", error_low="speedup_low", error_high="speedup_high"
            )
            _ui.chart(fig, key="speedup_gpu")
            gpu_table = at[["op", "pair", "size", "dtype", "speedup", "speedup_low", "speedup_high", "value", "baseline_value"]]
            _ui.table(gpu_table, "gpu-vs-cpu", key="speedup_gpu_table", column_config=number_formats(gpu_table, {"speedup": "%.3gx"}))
