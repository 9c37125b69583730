"""Hardware: the same benchmarks across machines as ratios to a reference machine, and
each machine's provenance side by side."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import (
    ACROSS,
    ACROSS_LABEL,
    AUTO,
    LIKE_ONLY,
    PYTHON_MODES,
    machine_details,
    pairs,
    provenance_of,
    python_reasons,
    short_name,
)
from tensorscope.analysis.machines import comparison_summary

st.title("Hardware")
st.caption(
    "The same benchmark on different machines against a reference machine, like with like: the same environment (or the "
    "same Python version) and the newest commit both measured, or else the nearest commits both measured (said below). "
    "Pairs more than a year apart are left out and listed. Where a machine has nothing like with like (its Python version "
    "differs), its nearest pairs across Python versions are shown instead, marked (the 'Python versions' choice). "
    "'x faster' accounts for direction (times and memory: lower is better; rates: higher is better)."
)

if _ui.require_results():
    machines_sel, envs_sel = _ui.shared_filters()
    machines = [m for m in state.summary()["machines"] if not machines_sel or m in machines_sel]
    c = st.columns(4)
    per_machine = state.summary()["per_machine"]
    by_results = per_machine.sort_values("results", ascending=False)["machine"].astype(str).tolist() if len(per_machine) else machines
    default_ref = next((m for m in by_results if m in machines), None)
    reference = _ui.select("Reference machine", machines, "ref", default=default_ref, where=c[0])
    benchmarks = sorted(state.latest()["benchmark"].astype(str).unique())
    chosen = _ui.multiselect("Benchmarks", benchmarks, "hbench", where=c[1], placeholder="all")
    log_y = _ui.toggle("Log scale", "hlog", default=True, where=c[2])
    mode = _ui.select(
        "Python versions",
        list(PYTHON_MODES),
        "hpy",
        default=AUTO,
        where=c[3],
        help="Like with like: the same environment or Python version on both machines. Where a machine has no benchmark "
        "measured like with like (a GPU machine's own Python 3.12 against a VM's 3.11 virtualenv, say), the default shows its "
        "nearest comparable pairs across Python versions instead, marked. 'Only like with like' never does; 'Across Python "
        "versions too' compares across versions everywhere.",
    )
    paired, fallback = pairs(reference, machines, envs_sel, chosen, str(mode)) if len(machines) > 1 else (None, [])
    ratios = None
    if paired is not None and "match" in paired.columns:
        unlike = paired["match"].astype(str).str.startswith("excluded")
        counts = comparison_summary(paired)
        nearest = (
            f", {counts['nearest commits']} from the nearest commits both measured (up to {counts['max_gap']} commits apart)"
            if counts["nearest commits"]
            else ""
        )
        left_out = "; ".join(f"{n} left out ({reason.removeprefix('excluded: ')})" for reason, n in counts["excluded"].items())
        across = f"; {counts['across Python']} of them across Python versions (comparison)" if counts["across Python"] else ""
        st.caption(f"{counts['same commit']} ratios from the same commit{nearest}{across}" + (f"; {left_out}" if left_out else "") + ".")
        if fallback:
            why = python_reasons(paired[paired["machine"].isin(fallback)])
            st.warning(
                f"No benchmark was measured like with like on {_ui.md(reference)} and {_ui.md(', '.join(fallback))}: their "
                f"environments run different Python versions ({_ui.md(why)}). Shown instead: the nearest comparable pairs "
                "**across Python versions**, marked in the chart and in the table's comparison column. They measure the "
                "hardware and the interpreter together, not the hardware alone. 'Python versions: only like with like' hides them.",
                icon=":material/compare_arrows:",
            )
        elif counts["python_excluded"] and mode == LIKE_ONLY:
            st.info(
                f"{counts['python_excluded']} pairs were left out because their Python versions differ or are unnamed: "
                f"choose '{AUTO}' or '{ACROSS}' under Python versions to compare them anyway, marked."
            )
        ratios = paired[~unlike].reset_index(drop=True)
        if unlike.any():
            with st.expander(f"Pairs left out ({int(unlike.sum())}): not measured alike"):
                cols = [
                    c
                    for c in ("machine", "benchmark", "params", "env", "reference_env", "commit", "reference_commit", "match")
                    if c in paired
                ]
                _ui.table(paired[unlike][cols], "machine-pairs-left-out", key="hardware_left_out")
    elif paired is not None:
        ratios = paired
    if len(machines) < 2:
        _ui.no_data("These results (or the machines chosen) come from one machine only: there is nothing to compare across hardware.")
        _ui.chart(charts.empty_figure("One machine only"), key="hardware_ratios")
    elif ratios is None or ratios.empty:
        _ui.no_data("No benchmark was measured on both the reference and another machine with the same parameters.")
        _ui.chart(charts.empty_figure("No benchmark in common"), key="hardware_ratios")
    else:
        positive = ratios[ratios["faster"] > 0].assign(log_faster=lambda f: np.log(f["faster"]))
        summary = positive.groupby("machine", as_index=False, observed=True).agg(
            benchmarks=("faster", "size"), log_faster=("log_faster", "mean")
        )
        summary["geomean_faster"] = np.exp(summary["log_faster"])
        across_machines = set(ratios.loc[ratios["comparison"] == ACROSS_LABEL, "machine"].astype(str))
        summary["machine"] = [f"{m} ({ACROSS_LABEL})" if m in across_machines else m for m in summary["machine"].astype(str)]
        st.subheader(f"How many times faster than {_ui.md(reference)} (geometric mean)")
        fig = charts.bar_figure(summary, x="machine", y="geomean_faster", log_y=log_y, y_title=f"x faster than {reference}")
        _ui.chart(fig, key="hardware_ratios")
        st.markdown("**Each machine as measured** (the commit and environment its ratios come from, and what its provenance recorded)")
        facts = provenance_of(ratios, reference)
        if facts is not None:
            _ui.table(facts, "machines-as-measured", key="hardware_facts")
        st.subheader("Per benchmark")
        per = ratios.assign(label=short_name(ratios["benchmark"]) + " " + ratios["params"].astype(str))
        per["machine"] = [f"{m} ({ACROSS_LABEL})" if m in across_machines else m for m in per["machine"].astype(str)]
        top = per.sort_values("faster", key=lambda r: np.abs(np.log(r.clip(lower=1e-12))), ascending=False).head(60)
        st.caption(f"The {len(top)} largest differences of {len(per)} (all in the table below).")
        _ui.chart(
            charts.bar_figure(
                top, x="label", y="faster", colour="machine", log_y=log_y, y_title=f"x faster than {reference}", horizontal=True
            ),
            key="hardware_per_benchmark",
        )
        cols = [
            c
            for c in [
                "machine",
                "comparison",
                "benchmark",
                "params",
                "env",
                "faster",
                "ratio",
                "ratio_low",
                "ratio_high",
                "value",
                "reference_value",
                "unit",
                "better",
                "commit",
                "reference_commit",
                "reference_env",
                "env_match",
                "match",
                "commit_gap",
                "days_apart",
            ]
            if c in ratios.columns
        ]
        _ui.table(ratios[cols], "machine-comparison", key="hardware_table")

    st.subheader("Provenance, side by side")
    details = machine_details(machines_sel)
    if details is None or details.empty:
        _ui.no_data("No machine information in these results.")
    else:
        side = details.copy()
        side.index = [str(i).removeprefix("provenance.") for i in side.index]
        side = side.astype(str).replace({"nan": "", "None": "", "<NA>": ""})
        side.insert(0, "field", side.index)
        only_diff = _ui.toggle("Only fields that differ", "hdiff", default=False)
        if only_diff:
            side = side[side.drop(columns="field").nunique(axis=1) > 1]
        _ui.table(side, "provenance", key="hardware_provenance")
