"""Speedups over Python: op x backend heatmap of the speedup over the pure-Python
backend at one size, dtype, machine and commit; time against size per backend with the
crossovers; SIMD on against off; GPU against CPU where GPU results exist."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import BASELINE, gpu_pairs, op_label, simd_partner, simd_state, speedups_at

st.title("Speedups over Python")
st.caption(
    f"How many times faster each backend runs an op than the pure-Python `{BASELINE}` backend (the reference every backend is checked against). "
    "Cells are matched on every parameter; the range comes from both 99% confidence intervals."
)


def _commit_label(commits: pd.DataFrame) -> dict[str, str]:
    return {
        str(c): f"{str(c)[:8]} ({d:%Y-%m-%d})" if not pd.isna(d) else str(c)[:8]
        for c, d in zip(commits["commit"], commits["commit_date"], strict=True)
    }


if _ui.require_results():
    newest = _ui.filtered(state.latest())
    with_backend = newest[newest["param_backend"].notna()] if "param_backend" in newest.columns else newest.iloc[0:0]
    has_baseline = not with_backend.empty and (with_backend["param_backend"].astype(str) == BASELINE).any()
    if not has_baseline:
        _ui.no_data(
            f"These results have no `backend` parameter with a `{BASELINE}` value, so there is no pure-Python baseline to compare with."
        )
        _ui.chart(charts.empty_figure("No python baseline in these results"), key="speedup_heatmap")
    else:
        base_rows = with_backend[with_backend["param_backend"].astype(str) == BASELINE]
        c = st.columns(5)
        machines = sorted(base_rows["machine"].astype(str).unique())
        machine = _ui.select("Machine", machines, "smachine", where=c[0])
        simd = simd_state(state.envs())
        envs = sorted(base_rows[base_rows["machine"].astype(str) == machine]["env"].astype(str).unique())
        default_env = next((e for e in envs if simd.get((machine, e)) == "on"), envs[0] if envs else None)
        env = _ui.select("Environment", envs, "senv", default=default_env, where=c[1])
        rows = state.subset(machine=machine, env=env)
        rows = rows[rows["param_backend"].notna()] if "param_backend" in rows.columns else rows.iloc[0:0]
        commits = rows.groupby("commit", observed=True).agg(commit_date=("commit_date", "max"), order=("commit_order", "max")).reset_index()
        commits = commits.sort_values("order", ascending=False)
        labels = _commit_label(commits)
        commit = _ui.select("Commit", list(labels.values()), "scommit", where=c[2])
        commit_hash = next((h for h, lab in labels.items() if lab == commit), None)
        at_commit = rows[rows["commit"].astype(str) == str(commit_hash)]
        table = speedups_at(at_commit)
        dtypes = charts.ordered([d for d in table["dtype"].unique() if d])
        sizes = charts.ordered([s for s in table["size"].unique() if s])
        dtype = _ui.select("dtype", dtypes, "sdtype", default="float64", where=c[3]) if dtypes else None
        size = _ui.select("Size", sizes, "ssize", default=sizes[-1] if sizes else None, where=c[4]) if sizes else None
        cell = table
        if dtype is not None:
            cell = cell[cell["dtype"] == dtype]
        if size is not None:
            cell = cell[cell["size"] == size]

        st.subheader("Speedup over Python, op x backend")
        if cell.empty:
            _ui.no_data("No op was measured on both the python backend and another backend for this selection.")
        fig = charts.heatmap_figure(
            cell,
            x="backend",
            y="op",
            z="speedup",
            z_label="x faster than python",
            title=f"size {size or 'n/a'}, {dtype or 'any dtype'}, {machine}",
        )
        _ui.chart(fig, key="speedup_heatmap")
        _ui.table(cell.sort_values("speedup", ascending=False), "speedups", key="speedup_table")

        st.subheader("Time against size")
        ops = charts.ordered(table["op"].unique().tolist())
        cc = st.columns(2)
        op = _ui.select("Op", ops, "sop", where=cc[0])
        curve_rows = at_commit[(at_commit["status"].astype(str) == "ok") & (op_label(at_commit) == op)]
        if dtype is not None and "param_dtype" in curve_rows.columns:
            curve_rows = curve_rows[curve_rows["param_dtype"].astype(str) == dtype]
        if "param_size" in curve_rows.columns and not curve_rows.empty:
            curves = pd.DataFrame(
                {
                    "size": curve_rows["param_size"].astype(str),
                    "value": curve_rows["value"],
                    "backend": curve_rows["param_backend"].astype(str),
                }
            )
            curves["size"] = pd.to_numeric(curves["size"], errors="coerce")
            cross = charts.crossover_points(curves)
            _ui.chart(charts.curves_figure(curves, crossovers=cross, unit="seconds", title=f"{op}, {dtype or ''}"), key="speedup_curves")
            if not cross.empty:
                _ui.table(cross.rename(columns={"x": "size", "y": "seconds", "label": "crossover"}), "crossovers", key="speedup_crossovers")
        else:
            _ui.chart(charts.empty_figure("No numeric size parameter for this op"), key="speedup_curves")

        st.subheader("SIMD on against SIMD off")
        partner = simd_partner(str(env)) if env else None
        if partner is None or simd.get((machine, str(env))) is None:
            _ui.no_data("This environment is not part of a SIMD ablation (no `TENSORSCOPE_SIMD` on/off pair of environments).")
        else:
            on_env, off_env = (env, partner) if simd.get((machine, str(env))) == "on" else (partner, env)
            on = speedups_at(state.subset(machine=machine, env=on_env, commit=commit_hash))
            off = speedups_at(state.subset(machine=machine, env=off_env, commit=commit_hash))
            keys = ["benchmark", "op", "backend", "size", "dtype"]
            both = on.merge(off, on=keys, suffixes=("_on", "_off"))
            if dtype is not None:
                both = both[both["dtype"] == dtype]
            if size is not None:
                both = both[both["size"] == size]
            if both.empty:
                _ui.no_data(f"No SIMD-off measurement ({off_env}) at this commit, size and dtype.")
            else:
                both["simd_gain"] = both["value_off"] / both["value_on"]
                both["label"] = both["op"] + " · " + both["backend"]
                fig = charts.bar_figure(both, x="op", y="simd_gain", colour="backend", y_title="time SIMD off / time SIMD on")
                _ui.chart(fig, key="speedup_simd")
                _ui.table(both[[*keys, "value_on", "value_off", "simd_gain"]], "simd-ablation", key="speedup_simd_table")

        st.subheader("GPU against CPU")
        pairs = gpu_pairs(sorted(table["backend"].unique().tolist()))
        if not pairs:
            _ui.no_data("No GPU results here (backends `torch:cuda`, `jax:gpu` or `cupy` with a CPU counterpart on the same machine).")
        else:
            keys = ["benchmark", "op", "size", "dtype"]
            frames = []
            for gpu, cpu in pairs:
                g = table[table["backend"] == gpu][[*keys, "value"]]
                p = table[table["backend"] == cpu][[*keys, "value"]]
                m = g.merge(p, on=keys, suffixes=("_gpu", "_cpu"))
                m["pair"] = f"{gpu} vs {cpu}"
                m["gpu_speedup"] = m["value_cpu"] / m["value_gpu"]
                frames.append(m)
            gpu = pd.concat(frames, ignore_index=True)
            if dtype is not None:
                gpu = gpu[gpu["dtype"] == dtype]
            if size is not None:
                gpu = gpu[gpu["size"] == size]
            _ui.chart(charts.bar_figure(gpu, x="op", y="gpu_speedup", colour="pair", y_title="x faster on the GPU"), key="speedup_gpu")
            _ui.table(gpu, "gpu-vs-cpu", key="speedup_gpu_table")
