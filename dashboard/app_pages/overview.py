"""Overview: the two questions a visitor comes with, answered on first load - which backend
is fastest for which op, and did anything change at each machine's newest commit - then
machines and hardware, result counts and the commits covered."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import BASELINE, MIN_CHANGE, changes_table, fastest_table, number_formats

st.title("tensorscope")
st.caption("How fast is each operation of each tensor backend, on this hardware, at this commit — and did it just get slower?")


ALL_MACHINES = "all machines (a column each)"


def default_machine(per_machine: pd.DataFrame) -> str | None:
    """The newest and most complete machine: the most ok results at its newest commit, then the newest commit."""
    if per_machine.empty or "newest_ok" not in per_machine.columns:
        return None
    ranked = per_machine.sort_values(["newest_ok", "newest_order", "machine"], ascending=[False, False, True])
    return str(ranked["machine"].iloc[0])


def fastest_section(machines_sel: list[str], envs_sel: list[str], per_machine: pd.DataFrame) -> None:
    """Per op, the fastest backend at the largest size measured and by how much it beats python, one machine at a time."""
    st.subheader("Fastest backend per op")
    names = per_machine["machine"].astype(str).tolist() if "machine" in per_machine.columns else []
    options = [*names, ALL_MACHINES] if len(names) > 1 else names
    chosen = _ui.select(
        "Machine",
        options,
        "omachine",
        default=default_machine(per_machine),
        help="One machine at a time (default: the one whose newest commit has the most results), or every machine with a "
        "machine column: each row speaks for one machine's hardware.",
    )
    machines = machines_sel if chosen in (None, ALL_MACHINES) else [str(chosen)]
    found = fastest_table(machines, envs_sel)
    if found is None:
        _ui.no_data("The fastest-backend analysis could not run on these results (the error is shown above).")
        return
    table, envs_shown = found
    if table.empty:
        _ui.no_data("No op was timed on more than one backend here: these results have no `backend` and `size` parameters.")
        return
    where = "; ".join(f"{_ui.md(m)}: `{_ui.code(e)}`" for m, e in envs_shown.items())
    st.caption(
        f"At each op's largest measured size on {'each machine (its own column)' if 'machine' in table.columns else 'this machine'}, "
        f"from the newest commit that timed it ({where}; other environments: sidebar). "
        f"**ahead by**: how many times faster than the runner-up. **x {BASELINE}**: how many times faster the fastest backend is "
        f"than the pure-Python `{BASELINE}` backend at the largest size both ran (`{BASELINE}` size; it is too slow for the largest)."
    )
    wins = table["fastest"].value_counts()
    st.markdown("**Fastest most often** (rows of this table): " + " · ".join(f"{_ui.md(b)} {n}" for b, n in wins.items()))
    _ui.table(
        table,
        "fastest-backend-per-op",
        key="overview_fastest",
        column_config=number_formats(table, {"ahead by": "%.3gx", f"x {BASELINE}": "%.3gx"}),
    )
    st.page_link("app_pages/speedups.py", label="Speedups at every size", icon=":material/bolt:")


def changes_section(machines_sel: list[str], envs_sel: list[str], per_machine: pd.DataFrame) -> None:
    """The newest detected changes (of at least MIN_CHANGE), and which of them reach each machine's newest commit."""
    st.subheader("What changed lately")
    found = changes_table(machines_sel, envs_sel)
    if found is None:
        _ui.no_data("Regression detection could not run on these results (the error is shown above).")
        return
    newest = per_machine.set_index("machine")["newest_order"].to_dict() if "newest_order" in per_machine.columns else {}
    at_newest = found["order_after"] == found["machine"].map(newest)
    for machine, row in per_machine.set_index("machine").iterrows():
        mine = found[at_newest & (found["machine"] == machine)]
        slower, faster = int(mine["regression"].sum()), int((~mine["regression"]).sum())
        st.markdown(
            f"**{_ui.md(machine)}**, newest commit `{_ui.short(row['newest_commit'])}`: "
            f"{slower} regression(s) and {faster} improvement(s) of {MIN_CHANGE:.0%} or more end there."
        )
    st.caption(
        "A change is a step to a new level that holds over several commits, tested against the series' own noise; "
        "**commits** is the range it happened in (last commit at the old level .. first at the new one), so a change "
        "made by the newest commit itself is confirmed once later commits are measured. "
        f"Newest first; changes under {MIN_CHANGE:.0%} and the full list: Regressions page."
    )
    if found.empty:
        _ui.no_data(f"No change of {MIN_CHANGE:.0%} or more detected in any series (a series needs several commits).")
    else:
        latest = found.sort_values(["order_after", "regression", "size_of_change"], ascending=[False, False, False]).head(15)
        drop = ["order_after", "regression", "size_of_change"] + [c for c in ("machine", "env") if latest[c].nunique() <= 1]
        shown = latest.drop(columns=drop)
        _ui.table(shown, "newest-changes", key="overview_changes", column_config=number_formats(shown, {"confidence": "%.5g"}))
    st.page_link("app_pages/regressions.py", label="All detected changes", icon=":material/trending_up:")


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

    fastest_section(machines_sel, envs_sel, per_machine)
    changes_section(machines_sel, envs_sel, per_machine)

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
        keep = [c for c in hardware.columns if not str(c).startswith("provenance.") and c not in ("newest_order", "newest_ok")]
        _ui.table(hardware[keep], "machines", key="overview_machines")

    st.subheader("Commits covered")
    _ui.table(commits.head(50), "commits", key="overview_commits")
