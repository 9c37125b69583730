"""Regressions: the code changes in effect (or every step of the history), sortable by size and
confidence, each with its triage state; or grouped by commit range across benchmarks and machines
("this range: 12 regressions on 3 machines"). For the selected change its series over commits (CI
band, step marked), the commit range and its commits, the raw sample distribution on both sides of
the step, and its triage: the decision, a form to record a new one (state, who, note, link) and the
history of decisions. Below: the environment shifts (the machines', not the code's; triaged the same
way) and the unstable series (values switching between two levels). When nothing is in effect, the
page says what the whole history holds and switches to it in one click."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.app_pages import _ui
from dashboard.app_pages._analysis import _restrict, changes, changes_in_effect, guarded, with_confirmations
from tensorscope.analysis.commit_ranges import by_commit_range, summary_line
from tensorscope.store.schema import TRIAGE_STATES
from tensorscope.store.triage import UNTRIAGED, Change, shift_change, step_change

SORTS = {
    "size": (["factor_size", "confidence"], [False, False]),
    "confidence": (["confidence", "factor_size"], [False, False]),
    "newest": (["order_after", "factor_size"], [False, False]),
}
KINDS = ["regressions", "improvements", "both"]
SCOPES = ["in effect", "every step"]
MIN_CHANGES = [0, 1, 2, 5, 10, 20, 50, 100]
CONFIDENCES = ["0.9", "0.99", "0.999", "0.9999"]
VIEWS = ["each change", "by commit range"]
TRIAGE_FILTERS = ["any", *TRIAGE_STATES]
# what a triage form accepts (the store keeps text; these only keep a slip of the keyboard out)
MAX_NOTE = 4000
MAX_FIELD = 500


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


# --------------------------------------------------------------------------------------
# Triage


def _with_triage(frame: pd.DataFrame, change: Callable[[Any], Change], decided: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` with ``triage_id`` (the change's id in the store, as ``report --store`` prints it) and
    ``triage`` (its state; '?' when the decisions could not be read)."""
    out = frame.copy()
    out["triage_id"] = [change(r).id for r in out.to_dict("records")]
    if decided is None:
        out["triage"] = "?"
    else:
        known = dict(zip(decided["id"], decided["state"], strict=True))
        out["triage"] = [known.get(i, UNTRIAGED) for i in out["triage_id"]]
    return out


def _record(change: Change, key: str) -> None:
    """The triage form's callback (run before the script, so the whole page shows the new state)."""
    who = str(st.session_state.get(f"triage_{key}_who") or "").strip()
    note = str(st.session_state.get(f"triage_{key}_note") or "").strip()
    link = str(st.session_state.get(f"triage_{key}_link") or "").strip()
    chosen = str(st.session_state.get(f"triage_{key}_state") or "")
    problem = None
    if not who:
        problem = "Say who decided (your name or handle): the history keeps who decided what."
    elif len(who) > MAX_FIELD or len(link) > MAX_FIELD or len(note) > MAX_NOTE:
        problem = f"Too long: a name or link holds at most {MAX_FIELD} characters, a note {MAX_NOTE}."
    elif chosen not in TRIAGE_STATES:
        problem = f"Choose a state: one of {', '.join(TRIAGE_STATES)}."
    if problem is None:
        try:
            # an empty note or link keeps the previous decision's (as `tensorscope triage set` does)
            state.set_triage(change, chosen, note=note or None, link=link or None, who=who)
        except Exception as exc:  # the store went away or refused: say so, keep the page
            problem = f"The decision could not be recorded: {type(exc).__name__}: {exc}"
    st.session_state[f"triage_{key}_outcome"] = ("error", problem) if problem else ("ok", f"Recorded: {chosen} by {who}.")


def _triage_panel(change: Change, key: str, decided: pd.DataFrame | None) -> None:
    """A change's decision, a form to record a new one, and its history."""
    st.markdown("**Triage**")
    if decided is None:
        return  # the error is shown
    mine = decided[decided["id"] == change.id]
    current = str(mine["state"].iloc[0]) if len(mine) else UNTRIAGED
    if len(mine):
        d = mine.iloc[0]
        extra = (f" · {_ui.md(d['note'])}" if d["note"] else "") + (f" · link: {_ui.md(d['link'])}" if d["link"] else "")
        st.markdown(f"**{_ui.md(current)}**, decided by {_ui.md(d['who'])} on {d['at']:%Y-%m-%d %H:%M} UTC{extra}")
    else:
        st.markdown(f"**{UNTRIAGED}**: nobody has decided about this change yet.")
    st.caption(
        f"Change id `{change.id[:12]}` (`tensorscope triage set {change.id[:12]} STATE`); kept in `{_ui.code(state.triage_store_label())}`."
    )
    with st.form(f"triage_{key}_form", clear_on_submit=True):
        c = st.columns(2)
        c[0].selectbox("State", TRIAGE_STATES, index=TRIAGE_STATES.index(current), key=f"triage_{key}_state")
        c[1].text_input("Who decided", key=f"triage_{key}_who", max_chars=MAX_FIELD, placeholder="your name (required)")
        st.text_input("Note", key=f"triage_{key}_note", max_chars=MAX_NOTE, placeholder="why (empty: keep the last note)")
        st.text_input(
            "Link", key=f"triage_{key}_link", max_chars=MAX_FIELD, placeholder="issue or pull request (empty: keep the last link)"
        )
        st.form_submit_button("Record decision", on_click=_record, args=(change, key), key=f"triage_{key}_submit", icon=":material/gavel:")
    outcome = st.session_state.pop(f"triage_{key}_outcome", None)
    if outcome is not None:
        (st.success if outcome[0] == "ok" else st.error)(_ui.md(outcome[1]))
    past = guarded("triage history", state.triage_history, change.id)
    if past is not None and len(past):
        _ui.table(past.iloc[::-1], "triage-history", key=f"triage_{key}_history")


def _by_commit_range(view: pd.DataFrame) -> pd.DataFrame:
    """The changes grouped by commit range (a table, newest range first); returns the chosen range's changes."""
    groups = by_commit_range(view)
    labels = [f"{str(b)[:8]}..{str(a)[:8]}" for b, a in zip(groups["commit_before"], groups["commit_after"], strict=True)]
    untriaged = [int((view.iloc[m]["triage"] == UNTRIAGED).sum()) for m in groups["members"]]
    shown = groups.drop(columns=["group", "members", "order_before", "order_after"]).assign(range=labels, untriaged=untriaged)
    shown["commit_before"] = shown["commit_before"].str[:8]
    shown["commit_after"] = shown["commit_after"].str[:8]
    order = ["range", "regressions", "improvements", "untriaged", "machines", "benchmarks", "worst_factor", "machine_names"]
    st.caption(
        "Changes grouped by a commit that all their ranges hold (the culprit can be one commit for the whole group): "
        "each range is the narrowest one its changes share, newest first."
    )
    _ui.table(
        shown[[*order, "commit_before", "commit_after"]],
        "commit-ranges",
        key="ranges_table",
        column_config={"worst_factor": st.column_config.NumberColumn("worst factor", format="%.3f")},
    )
    chosen = _ui.select("Commit range to list", labels, "range")
    if chosen is None:
        return view.iloc[0:0]
    group = groups.iloc[labels.index(chosen)]
    st.markdown(f"**{_ui.md(summary_line(group))}**")
    return view.iloc[list(group["members"])].reset_index(drop=True)


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
    decided = guarded("triage", state.triage_decisions)
    shown = _with_triage(shifts.reset_index(drop=True), shift_change, decided)
    full = shown.copy()
    for c in ("commit_before", "commit_after"):
        shown[c] = shown[c].astype(str).str[:8]
    _ui.table(
        shown.drop(columns=["triage_id"]),
        "environment-shifts",
        key="environment",
        column_config={"factor": st.column_config.NumberColumn("median factor (after / before)", format="%.3f")},
    )
    labels = [
        f"{m} · {e} · {str(b)[:8]}..{str(a)[:8]} ({f:.3g}x)"
        for m, e, b, a, f in zip(full["machine"], full["env"], full["commit_before"], full["commit_after"], full["factor"], strict=True)
    ]
    chosen = _ui.select("Environment shift to triage", labels, "shift")
    if chosen is not None:
        _triage_panel(shift_change(full.iloc[labels.index(chosen)].to_dict()), "shift", decided)


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
    c2 = st.columns(5)
    view_mode = _ui.select(
        "View", VIEWS, "view", where=c2[0], help="Each change, or the changes grouped by the commit range that holds their cause"
    )
    triage_filter = _ui.select("Triage", TRIAGE_FILTERS, "triage", where=c2[1], help="Only changes in this triage state")
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
        decided = guarded("triage", state.triage_decisions)
        view = _with_triage(view, step_change, decided)
        before_triage = len(view)
        if triage_filter != "any":
            view = view[view["triage"] == triage_filter].reset_index(drop=True)

        n_reg, n_imp = int(view["regression"].sum()), int((~view["regression"]).sum())
        what = "in effect" if scope == "in effect" else "detected"
        untriaged = f" ({int((view['triage'] == UNTRIAGED).sum())} untriaged)" if decided is not None else ""
        st.caption(f"{n_reg} regression(s) and {n_imp} improvement(s) {what} shown of {len(found)}{untriaged}.")
        if view_mode == VIEWS[1] and len(view):
            view = _by_commit_range(view)
        if view.empty:
            if before_triage and triage_filter != "any":
                _ui.no_data(f"None of the {before_triage} changes these filters show is {triage_filter}.")
            elif scope == SCOPES[0]:
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
                "triage",
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
                row = view.set_index("id").loc[chosen]
                _detail(row)
                _triage_panel(step_change(view[view["id"] == chosen].iloc[0].to_dict()), "step", decided)
    _environment(machines, envs, float(min_change))
    _unstable(machines, envs)
