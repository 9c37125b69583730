"""Regressions: the code changes in effect (or every step of the history), sortable by size and
confidence; for the selected one its series over commits (CI band, step marked), the commit range
and its commits, and the raw sample distribution on both sides of the step. Below: the environment
shifts (the machines', not the code's) and the unstable series (values switching between two levels).
When nothing is in effect, the page says what the whole history holds and switches to it in one click."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import _restrict, changes, changes_in_effect, guarded, with_confirmations

SORTS = {
    "size": (["factor_size", "confidence"], [False, False]),
    "confidence": (["confidence", "factor_size"], [False, False]),
    "newest": (["order_after", "factor_size"], [False, False]),
}
KINDS = ["regressions", "improvements", "both"]
SCOPES = ["in effect", "every step"]
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
    members = [m.strip() for m in str(change.get("machines", change["machine"])).split(",")]
    rows = state.subset(
        machine=members,
        env=str(change["env"]),
        benchmark=str(change["benchmark"]),
        params=str(change["params"]),
        samples=True,
    )
    ok = rows[rows["status"].astype(str) == "ok"]
    if len(members) > 1 and "version" in ok.columns and "version" in change.index:
        ok = ok[ok["version"].astype(str) == str(change["version"])]  # a runner group: one benchmark version
    elif "version_segment" in ok.columns:
        ok = ok[ok["version_segment"] == change["version_segment"]]
    unit = str(change["unit"])
    timed = unit == "seconds"
    verdict = ("slower" if timed else "worse") if change["regression"] else ("faster" if timed else "better")
    st.subheader(f"{change['factor']:.3g}x {verdict}")
    steps = int(change["steps"]) if "steps" in change.index and pd.notna(change["steps"]) else 1
    extra = []
    if steps > 1:
        extra.append(f"net change over {steps} steps (the first one shown), environment shifts between them left out")
    if len(members) > 1:
        extra.append(f"runner group of {len(members)} machines")
    if int(change.get("bimodal_runs", 0) or 0):
        extra.append(f"{int(change['bimodal_runs'])} runs of this series have bimodal samples")
    st.markdown(
        f"**{_ui.md(change['benchmark'])}** · {_ui.md(change['params']) or 'no parameters'} · "
        f"machine **{_ui.md(change['machine'])}** · env {_ui.md(change['env'])}  \n"
        f"{charts.format_value(change['value_before'], unit)} → {charts.format_value(change['value_after'], unit)} · "
        f"confidence {change['confidence']:.4f} (p = {change['pvalue']:.2g}) · noise ±{change['noise'] * 100:.2g}%"
        + ("  \n" + _ui.md("; ".join(extra)) if extra else "")
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


def _filtered(found: pd.DataFrame, kind: str, min_change: float, min_conf: float) -> pd.DataFrame:
    """The changes of one ``kind`` (or both) of at least ``min_change`` percent and ``min_conf`` confidence."""
    view = found.copy()
    view["factor_size"] = [max(f, 1.0 / f) if f > 0 else 0.0 for f in view["factor"]]
    if kind == "regressions":
        view = view[view["regression"]]
    elif kind == "improvements":
        view = view[~view["regression"]]
    view = view[(view["factor_size"] - 1.0) * 100.0 >= min_change]
    return view[view["confidence"] >= min_conf]


def _shifts(machines: list[str], envs: list[str], min_change: float) -> pd.DataFrame | None:
    """The environment shifts of the sidebar's machines and envs of at least ``min_change`` percent."""
    shifts = guarded("environment shift", state.environment_shifts)
    if shifts is None:
        return None
    shifts = _restrict(shifts, machines, envs)
    return shifts[[abs(f - 1.0) * 100.0 >= min_change or abs(1.0 / f - 1.0) * 100.0 >= min_change for f in shifts["factor"]]]


def _unstable_rows(machines: list[str], envs: list[str]) -> pd.DataFrame | None:
    unstable = guarded("unstable series", state.unstable_series)
    return None if unstable is None else _restrict(unstable, machines, envs)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 or word.endswith("series") else "s")


def _and(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def _show_history(kind: str) -> None:
    """The button's callback (run before the script): the URL-bound filters switch to the whole history."""
    st.session_state["scope"] = SCOPES[1]
    st.session_state["kind"] = kind


def _nothing_in_effect(machines: list[str], envs: list[str], kind: str, min_change: float, min_conf: float, found: pd.DataFrame) -> None:
    """No change in effect is shown (``found``: those in effect, all hidden by the filters): say what the
    whole history holds, and offer it one click away."""
    history = changes(machines, envs)
    if history is None:
        return  # the error is shown
    steps = _filtered(history, "both", min_change, min_conf)
    shifts = _shifts(machines, envs, min_change)
    unstable = _unstable_rows(machines, envs)
    n_reg = int(steps["regression"].sum())
    n_imp = len(steps) - n_reg
    others = [_count(len(f), word) for f, word in ((shifts, "environment shift"), (unstable, "unstable series")) if f is not None]
    below = " (listed [below](#environment-shifts))" if others else ""
    if history.empty:
        text = "No code change found in any series (a level must hold for three commits, so a series needs at least six)."
        _ui.no_data(text + (f" The history holds {_and(others)}{below}." if others else ""))
        return
    size = f"{_count(len(steps), 'code step')} of at least {min_change:g}% at confidence {min_conf:g} or more"
    size += f" ({_count(n_reg, 'regression')}, {_count(n_imp, 'improvement')}"
    size += f"; {len(history)} at any size and confidence)" if len(steps) < len(history) else ")"
    _ui.no_data(
        (
            f"No code change in effect passes these filters ({_count(len(found), 'change')} in effect: "
            f"{_count(int(found['regression'].sum()), 'regression')}, {_count(int((~found['regression']).sum()), 'improvement')}). "
            if len(found)
            else f"No code change of {min_change:g}% or more is in effect. "
        )
        + f"The whole history holds {_and([size, *others])}{below}."
    )
    if len(steps):
        shown = kind if (kind == "both" or (kind == "regressions" and n_imp == 0) or (kind == "improvements" and n_reg == 0)) else "both"
        st.button(
            f"Show the whole history ({_count(len(steps), 'step')})",
            key="show_history",
            on_click=_show_history,
            args=(shown,),
            icon=":material/history:",
            help="Every step of every series, undone and retired ones too (the 'Show' filter: 'every step').",
        )


def _environment(machines: list[str], envs: list[str], min_change: float) -> None:
    st.subheader("Environment shifts", anchor="environment-shifts")
    st.caption(
        "Level changes that are the machine's, not the code's: many unrelated series of one machine and env moving together "
        "at one run boundary (machine-wide), or a series whose level follows its run dates better than its commits "
        "(older commits run later show the new level), a level that held only in the one sitting it was run in, or a "
        "step another machine did not show at the same commits. Reported once each. A shift explains only its own size: "
        "a series' change beyond it is listed above as a code step, with the shift named in its evidence."
    )
    shifts = _shifts(machines, envs, min_change)
    if shifts is None:
        return
    if shifts.empty:
        _ui.no_data("No environment shift of this size in these results.")
        return
    shown = shifts.copy()
    for c in ("commit_before", "commit_after"):
        shown[c] = shown[c].astype(str).str[:8]
    _ui.table(
        shown,
        "environment-shifts",
        key="environment",
        column_config={"factor": st.column_config.NumberColumn("median factor (after / before)", format="%.3f")},
    )


def _unstable(machines: list[str], envs: list[str]) -> None:
    st.subheader("Unstable series", anchor="unstable-series")
    st.caption(
        "Series whose values switch back and forth between two levels (or sit at the two levels their own bimodal runs show): "
        "their switches are not reported as steps. 'bimodal runs' counts runs whose raw samples hold both levels."
    )
    unstable = _unstable_rows(machines, envs)
    if unstable is None:
        return
    if unstable.empty:
        _ui.no_data("No unstable series in these results.")
        return
    shown = unstable.assign(spread=unstable["high"] / unstable["low"]).sort_values("spread", ascending=False)
    _ui.table(
        shown,
        "unstable-series",
        key="unstable",
        column_config={
            "low": st.column_config.NumberColumn(format="%.4g"),
            "high": st.column_config.NumberColumn(format="%.4g"),
            "share_high": st.column_config.NumberColumn("share at the high level", format="%.2f"),
            "spread": st.column_config.NumberColumn("high / low", format="%.3g"),
        },
    )


st.title("Regressions")
st.caption(
    "Code changes found in each benchmark series: a new level that holds, tested against the series' own noise and "
    "explained by commit order better than by run time. 'In effect': one row per series still measured, its net change "
    "since the level it left; 'every step': the whole history, undone and retired steps too."
)

if _ui.require_results():
    machines, envs = _ui.shared_filters()
    c = st.columns(5)
    scope = _ui.select("Show", SCOPES, "scope", where=c[0])
    kind = _ui.select("Kind", KINDS, "kind", where=c[1])
    min_change = _ui.select("Minimum change (%)", MIN_CHANGES, "min", default=5, where=c[2])
    min_conf = _ui.select("Minimum confidence", CONFIDENCES, "conf", default="0.99", where=c[3])
    sort = _ui.select("Sort by", list(SORTS), "sort", where=c[4])
    found = changes_in_effect(machines, envs, float(min_change) / 100.0) if scope == "in effect" else changes(machines, envs)
    groups = guarded("runner group", state.runner_groups)
    if groups is not None and len(groups):
        named = groups.groupby("group")["machine"].count()
        st.caption("Runner groups (equal hardware, ephemeral names): " + ", ".join(f"{_ui.md(g)} = {n} machines" for g, n in named.items()))
    if found is None:
        _ui.no_data("Regression detection could not run on these results (the error is shown above).")
    else:
        view = _filtered(found, str(kind), float(min_change), float(min_conf))
        by, ascending = SORTS[str(sort)]
        view = view.sort_values(by, ascending=ascending).reset_index(drop=True)

        n_reg, n_imp = int(view["regression"].sum()), int((~view["regression"]).sum())
        what = "in effect" if scope == "in effect" else "detected"
        st.caption(f"{n_reg} regression(s) and {n_imp} improvement(s) {what} shown of {len(found)}.")
        if view.empty:
            if scope == SCOPES[0]:
                _nothing_in_effect(machines, envs, str(kind), float(min_change), float(min_conf), found)
            else:
                _ui.no_data(
                    "No change passes these filters."
                    if len(found)
                    else "No code change found in any series (a level must hold for three commits, so a series needs at least six)."
                )
            _ui.chart(charts.changes_figure(pd.DataFrame(columns=["label", "ratio"])), key="regressions_overview")
        else:
            marks = guarded("confirmation", state.confirmations)
            view = with_confirmations(view, marks if marks is not None else pd.DataFrame())
            columns = [
                "id",
                "kind",
                "factor",
                "confidence",
                "re-measured",
                "steps",
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
            shown = view[[c for c in columns if c in view.columns]].copy()
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
    _environment(machines, envs, float(min_change))
    _unstable(machines, envs)
