"""``tensorscope report``: print the verdicts on an asv results directory's history.

Works on any asv project's results (API version 2). By default it lists the regressions and
improvements **in effect** (one per live series, the net change since the level it left), the
**environment shifts** (many series of one machine moving together at one run boundary, or level
changes that run dates explain better than commits: once each, never as code regressions) and the
**unstable** series (values switching between two levels: no steps reported for them). ``--all``
lists every code step of the history instead of what is in effect.

``--benchmark``, ``--machine`` and ``--since`` only select what is printed: the whole results
directory (every machine: the cross-machine check of an environment shift needs them all) is
analysed first, so a filtered report lists exactly the whole report's rows of that selection, and a
verdict never depends on what else was asked for. ``--benchmark`` keeps the steps and unstable series
of the benchmarks whose name contains the text, and the environment shifts of the machines and
environments that measured one of them; ``--machine`` names a machine or a runner group (a member
selects its group's rows, which are where its results are analysed).

Exit status, as ``asv continuous``, on what is printed: 0 when no code regression beyond
``--threshold`` is in effect, 1 when one is (with ``--fail-on-environment`` also when an environment
shift beyond it is listed),
2 for usage errors (no such directory, unknown ``--since`` commit or ``--machine``, bad option
values).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tensorscope.units import format_value, printable

if TYPE_CHECKING:
    from tensorscope.analysis.regressions import Verdicts
    from tensorscope.results import ResultSet

__all__ = ["Printed", "Selection", "add_arguments", "main", "printed_rows", "selection", "write"]

# rows of the unstable-series table printed before "... and N more" (JSON lists them all)
UNSTABLE_SHOWN = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``report`` subcommand's arguments."""
    parser.add_argument("results_dir", nargs="?", type=Path, default=None, help="asv results directory (default: ./results)")
    parser.add_argument(
        "--format",
        choices=("table", "markdown", "json"),
        default="table",
        help="output format (default: table; markdown: the same tables for a job summary or a comment)",
    )
    parser.add_argument(
        "--since", default=None, metavar="REV", help="print only steps after this commit (hash or prefix; the whole history is analysed)"
    )
    parser.add_argument(
        "--machine",
        action="append",
        default=None,
        help="print only this machine or runner group (repeatable; a group member selects its group; every machine is analysed)",
    )
    parser.add_argument("--threshold", type=float, default=0.05, help="smallest relative change reported (default 0.05 = 5%%)")
    parser.add_argument("--alpha", type=float, default=None, help="significance level of a step (default 1e-3)")
    parser.add_argument(
        "--benchmark",
        default=None,
        metavar="TEXT",
        help="print only benchmarks whose name contains TEXT (and the environment shifts where they ran; every benchmark is analysed)",
    )
    parser.add_argument("--repo", type=Path, default=None, help="git repository ordering the commits (default: by commit date)")
    parser.add_argument("--index-json", type=Path, default=None, help="a published asv site's index.json ordering the commits")
    parser.add_argument("--cache-dir", default=None, help="derived-data cache directory ('none' disables; default: the per-user cache)")
    parser.add_argument(
        "--all", action="store_true", help="every code step of the history (undone, stacked, retired series) instead of what is in effect"
    )
    parser.add_argument(
        "--group-machines",
        choices=("auto", "hardware", "none"),
        default="auto",
        help="join machines of equal hardware into runner groups: 'auto' (default) only when their names are clearly "
        "ephemeral (e.g. fv-az123-456: 3+ machines equal once digit runs and hex ids are masked), 'hardware' whatever "
        "their names, 'none' never",
    )
    parser.add_argument(
        "--fail-on-environment", action="store_true", help="also exit 1 when an environment shift beyond --threshold is found"
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="read a results store (postgresql://…, sqlite:///path or a file path) instead of a results directory; "
        "each change is listed with its id and triage state",
    )
    parser.add_argument(
        "--by-commit",
        action="store_true",
        help="also group the printed regressions and improvements by commit range, across benchmarks and machines "
        "('this range: 12 regressions on 3 machines')",
    )
    parser.add_argument(
        "--include-triaged",
        action="store_true",
        help="with --store: count every regression in effect for the exit status (default: only untriaged ones)",
    )


def _cell(text: object) -> str:
    return printable(str(text))  # names from result files: never control sequences on the terminal


def _text_table(rows: Sequence[Mapping[str, Any]], title: str, head: list[str], cells: Any) -> str:
    if not rows:
        return f"{title}: none\n"
    body = [[_cell(c) for c in cells(r)] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = [f"{title} ({len(rows)}):", "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return "\n".join(lines) + "\n"


_MD_ESCAPE = str.maketrans({c: "\\" + c for c in "\\`*_[]|#~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def _md_cell(text: object) -> str:
    """A table cell in Markdown: shown as the text it is (no markup, link or tag acts; no terminal escape)."""
    return printable(str(text)).translate(_MD_ESCAPE)


def _md_table(rows: Sequence[Mapping[str, Any]], title: str, head: list[str], cells: Any) -> str:
    """:func:`_text_table`'s rows as a Markdown table under a heading."""
    if not rows:
        return f"**{_md_cell(title)}**: none\n\n"
    lines = [f"### {_md_cell(title)} ({len(rows)})", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_cell(c) for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n\n"


def _name(r: Mapping[str, Any]) -> str:
    return str(r["benchmark"]) + (f"({r['params']})" if r["params"] else "") + ("" if r["env"] == "" else f" [{r['env']}]")


def _step_cells(r: Mapping[str, Any]) -> list[str]:
    notes = [str(r["evidence"])] if r.get("evidence") else []
    if r.get("undone_by"):
        notes.insert(0, f"undone at {str(r['undone_by'])[:8]} after {int(r['lasted'])} commits")
    return [
        f"{r['factor']:.2f}x",
        format_value(r["value_before"], r["unit"]),
        format_value(r["value_after"], r["unit"]),
        f"{str(r['commit_before'])[:8]}..{str(r['commit_after'])[:8]}",
        f"{r['confidence']:.3f}",
        str(r.get("steps", 1)),
        str(r["machine"]),
        _name(r) + (f"  ({'; '.join(notes)})" if notes else ""),
    ]


def _date(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "?"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def _shift_cells(r: Mapping[str, Any]) -> list[str]:
    tested = r.get("tested")
    moved = f"{r['series']}" + ("" if tested is None or pd.isna(tested) else f"/{int(tested)}")
    return [
        f"{r['factor']:.2f}x",
        moved,
        f"{_date(r['run_before'])} .. {_date(r['run_after'])}",
        f"{str(r['commit_before'])[:8]}..{str(r['commit_after'])[:8]}",
        str(r["evidence"]),
        str(r["machine"]),
        str(r["env"]),
    ]


def _unstable_cells(r: Mapping[str, Any]) -> list[str]:
    within = f"{r['bimodal_runs']} runs bimodal" if r["bimodal_runs"] else ""
    return [
        f"{format_value(r['low'], r['unit'])} / {format_value(r['high'], r['unit'])}",
        f"{r['share_high']:.0%}",
        str(r["switches"]),
        within,
        str(r["machine"]),
        _name(r),
    ]


def _records(frame: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in cols if c in frame.columns]
    out = []
    for r in frame[cols].to_dict("records"):
        row = {}
        for c, v in r.items():
            if isinstance(v, pd.Timestamp):
                v = v.isoformat()
            elif v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            row[str(c)] = v
        out.append(row)
    return out


# What the JSON report prints of each table (a selection of the analysis' columns,
# tensorscope.analysis.regressions.CHANGE_COLUMNS, SHIFT_COLUMNS and UNSTABLE_COLUMNS).
STEP_FIELDS = [
    "machine",
    "machines",
    "env",
    "benchmark",
    "params",
    "unit",
    "commit_before",
    "commit_after",
    "run_before",
    "run_after",
    "value_before",
    "value_after",
    "ratio",
    "change",
    "factor",
    "better",
    "confidence",
    "pvalue",
    "steps",
    "commit_latest",
    "in_effect",
    "undone_by",
    "lasted",
    "bimodal_runs",
    "evidence",
]
SHIFT_FIELDS = [
    "machine",
    "machines",
    "env",
    "run_before",
    "run_after",
    "commit_before",
    "commit_after",
    "series",
    "tested",
    "factor",
    "evidence",
]
UNSTABLE_FIELDS = [
    "machine",
    "machines",
    "env",
    "benchmark",
    "params",
    "unit",
    "low",
    "high",
    "share_high",
    "switches",
    "points",
    "bimodal_runs",
]


@dataclass(frozen=True)
class Selection:
    """What a report prints (None: all of it): benchmarks whose name contains ``benchmark``, the
    analysed ``machines`` (machine or runner-group names, as in the verdicts' ``machine`` column),
    steps after commit order ``since``."""

    benchmark: str | None = None
    machines: frozenset[str] | None = None
    since: int | None = None


@dataclass
class Printed:
    """The rows a report prints; ``in_effect_regressions`` (the regressions in effect among them) decides its exit code."""

    regressions: pd.DataFrame
    improvements: pd.DataFrame
    environment_shifts: pd.DataFrame
    unstable: pd.DataFrame
    in_effect_regressions: pd.DataFrame
    runner_groups: list[dict[str, Any]]


def selection(args: argparse.Namespace, results: ResultSet) -> Selection:
    """The selection ``--benchmark``, ``--machine`` and ``--since`` make in ``results``; KeyError says what is unknown."""
    from tensorscope.analysis import regressions as reg
    from tensorscope.analysis.verdicts.runs import runner_groups

    table = results.results
    since = reg.since_order(table, args.since)
    machines = None
    if args.machine:
        names = set(table["machine"].astype(str).unique())
        groups = runner_groups(results.machines, names, args.group_machines)  # as the analysis forms them
        group_names = {g for g, _ in groups.values()}
        wanted = set()
        for m in args.machine:
            if m in groups:
                wanted.add(groups[m][0])  # a member's results are analysed, and reported, as its group's
            elif m in names or m in group_names:
                wanted.add(m)
            else:
                raise KeyError(f"no results for machine {m}")
        machines = frozenset(wanted)
    return Selection(args.benchmark or None, machines, since)


def printed_rows(verdicts: Verdicts, table: pd.DataFrame, chosen: Selection, *, threshold: float, history: bool = False) -> Printed:
    """The rows of the analysis of the whole ``table`` that a report of ``chosen`` prints.

    ``history``: every code step (``--all``, each marked ``in_effect``) instead of what is in effect.
    Steps, unstable series and shifts are the whole analysis' rows, only selected here, so a report of
    one benchmark or machine lists exactly the whole report's rows of it.
    """
    from tensorscope.analysis import regressions as reg
    from tensorscope.analysis.verdicts.effect import undone

    effect = verdicts.in_effect(threshold)
    shown = effect
    if history:
        steps = verdicts.steps
        chained = effect[["series", "order_after"]].rename(columns={"order_after": "from_order"})
        marked = steps.merge(chained, on="series", how="left")
        shown = steps.assign(in_effect=(marked["order_after"] >= marked["from_order"]).to_numpy())
        shown = pd.concat([shown, undone(shown, threshold)], axis=1)  # a transient: when it was undone
        # a transient and the step that undid it are history, whatever net change is left
        undoing = set(zip(shown["series"], shown["undone_by"], strict=True))
        fixes = [(s, c) in undoing for s, c in zip(shown["series"], shown["commit_after"], strict=True)]
        shown["in_effect"] &= shown["undone_by"].isna().to_numpy() & ~np.asarray(fixes, dtype=bool)
    worse = _chosen(reg.select(shown, "regression", threshold, chosen.since), chosen)
    better = _chosen(reg.select(shown, "improvement", threshold, chosen.since), chosen)
    shifts = verdicts.environment_shifts
    bar = math.log1p(threshold)
    shifts = shifts[[abs(math.log(f)) >= bar if f and f > 0 else False for f in shifts["factor"]]] if len(shifts) else shifts
    shifts = _chosen(shifts, Selection(machines=chosen.machines))
    if chosen.benchmark and len(shifts):
        # a shift is the machine's: it is printed beside the benchmarks measured where it happened
        where = _measured_where(table, verdicts.groups, chosen.benchmark)
        shifts = shifts[[(str(m), str(e)) in where for m, e in zip(shifts["machine"], shifts["env"], strict=True)]]
    unstable = _chosen(verdicts.unstable, Selection(benchmark=chosen.benchmark, machines=chosen.machines))
    unstable = (
        unstable.assign(_spread=unstable["high"] / unstable["low"])
        .sort_values("_spread", ascending=False, kind="stable")
        .drop(columns="_spread")
    )
    groups = verdicts.groups
    group_rows = [
        {"group": str(name), "machines": sorted(part["machine"].astype(str)), "rule": str(part["rule"].iloc[0])}
        for name, part in groups.groupby(groups["group"].astype(str), sort=True)
        if chosen.machines is None or str(name) in chosen.machines
    ]
    return Printed(
        regressions=worse.sort_values("factor", ascending=False, kind="stable").reset_index(drop=True),
        improvements=better.sort_values("factor", kind="stable").reset_index(drop=True),
        environment_shifts=shifts.reset_index(drop=True),
        unstable=unstable.reset_index(drop=True),
        in_effect_regressions=_chosen(reg.select(effect, "regression", threshold, chosen.since), chosen),
        runner_groups=group_rows,
    )


def _chosen(frame: pd.DataFrame, chosen: Selection) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    if chosen.machines is not None:
        keep &= frame["machine"].astype(str).isin(chosen.machines).to_numpy()
    if chosen.benchmark:
        keep &= frame["benchmark"].astype(str).str.contains(chosen.benchmark, regex=False).to_numpy(dtype=bool)
    return frame[keep].reset_index(drop=True)


def _measured_where(table: pd.DataFrame, groups: pd.DataFrame, benchmark: str) -> set[tuple[str, str]]:
    """(analysed machine, env) pairs that measured a benchmark whose name contains ``benchmark``."""
    column = table["benchmark"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # a few names, not a million strings
        hits = np.flatnonzero(pd.Index(column.cat.categories.astype(str)).str.contains(benchmark, regex=False))
        mask = np.isin(column.cat.codes.to_numpy(), hits)
    else:
        mask = column.astype(str).str.contains(benchmark, regex=False).to_numpy(dtype=bool)
    pairs = table.loc[mask, ["machine", "env"]].astype(str).drop_duplicates()
    group_of = dict(zip(groups["machine"].astype(str), groups["group"].astype(str), strict=True))
    return {(group_of.get(m, m), e) for m, e in zip(pairs["machine"], pairs["env"], strict=True)}


def main(args: argparse.Namespace) -> int:
    """Run the report; returns 0 (no regression in effect), 1 (one is) or 2 (usage error)."""
    from tensorscope.analysis import regressions as reg
    from tensorscope.results import default_cache_dir, load_results

    results_dir = args.results_dir or Path("results")
    store = getattr(args, "store", None)
    if store is not None and args.results_dir is not None:
        print("tensorscope report: give a results directory or --store, not both", file=sys.stderr)
        return 2
    if store is None and not results_dir.is_dir():
        print(f"tensorscope report: no results directory at {results_dir}", file=sys.stderr)
        return 2
    if not (args.threshold >= 0 and math.isfinite(args.threshold)):
        print("tensorscope report: --threshold must be a non-negative number", file=sys.stderr)
        return 2
    if args.alpha is not None and not (0 < args.alpha < 1):
        print("tensorscope report: --alpha must be between 0 and 1", file=sys.stderr)
        return 2
    cache: Path | None
    if args.cache_dir is None:
        cache = default_cache_dir(results_dir)
    elif str(args.cache_dir).lower() == "none":
        cache = None
    else:
        cache = Path(args.cache_dir)
    engine = None
    if store is not None:
        from tensorscope.store import StoreError, load_store, open_store

        try:
            engine = open_store(store)
        except StoreError as exc:
            print(f"tensorscope report: {exc}", file=sys.stderr)
            return 2
        rs = load_store(engine, cache_dir=cache)  # read whole once per new upload; later reports from the cache
    else:
        rs = load_results(results_dir, cache_dir=cache, repo=args.repo, index_json=args.index_json)
    for p in rs.problems:
        if p.severity == "error":
            print(f"tensorscope report: skipped {printable(str(p))}", file=sys.stderr)
    try:
        chosen = selection(args, rs)
    except KeyError as exc:
        print(f"tensorscope report: {exc.args[0]}", file=sys.stderr)
        return 2
    kw: dict[str, Any] = {"group_machines": args.group_machines, "cache_dir": cache}
    if args.alpha is not None:
        kw["alpha"] = args.alpha
    # the whole directory, every machine: the selection only chooses what is printed
    try:
        return write(args, rs, reg.analyse(rs, **kw), chosen, triage=engine)
    finally:
        if engine is not None:
            engine.dispose()


def write(args: argparse.Namespace, results: ResultSet, verdicts: Verdicts, chosen: Selection, *, triage: Any = None) -> int:
    """Print the report of ``chosen`` from the analysis of all of ``results``; returns the exit code (0 or 1).

    ``triage``: the store (an engine) whose triage decisions are shown beside each change; then only
    untriaged regressions in effect count for the exit code, unless ``args.include_triaged``.
    """
    rows = printed_rows(verdicts, results.results, chosen, threshold=args.threshold, history=bool(args.all))
    worse, better, shifts, unstable = rows.regressions, rows.improvements, rows.environment_shifts, rows.unstable
    counted = rows.in_effect_regressions
    step_fields, shift_fields = STEP_FIELDS, SHIFT_FIELDS
    if triage is not None:
        from tensorscope.store.triage import UNTRIAGED, shift_change, states, step_change

        def with_triage(frame: pd.DataFrame, change: Any) -> pd.DataFrame:
            ids = [change(r).id for r in frame.to_dict("records")]
            known = states(triage, ids)
            return frame.assign(id=ids, triage=[known[i] for i in ids])

        worse, better = with_triage(worse, step_change), with_triage(better, step_change)
        shifts = with_triage(shifts, shift_change)
        counted = with_triage(counted, step_change)
        if not getattr(args, "include_triaged", False):
            counted = counted[counted["triage"] == UNTRIAGED]
        step_fields, shift_fields = [*STEP_FIELDS, "id", "triage"], [*SHIFT_FIELDS, "id", "triage"]
    failing = len(counted) > 0 or (args.fail_on_environment and len(shifts) > 0)
    group_rows = rows.runner_groups
    ranges = _commit_ranges(worse, better) if getattr(args, "by_commit", False) else None
    if args.format == "json":
        doc = {
            "results_dir": str(args.results_dir or Path("results")) if triage is None else None,
            "threshold": args.threshold,
            "since": args.since,
            "benchmark": args.benchmark,
            "machine": args.machine,
            "all": bool(args.all),
            "runner_groups": group_rows,
            "regressions": _records(worse, step_fields),
            "improvements": _records(better, step_fields),
            "environment_shifts": _records(shifts, shift_fields),
            "unstable": _records(unstable, UNSTABLE_FIELDS),
            "problems": [{"path": p.path, "message": p.message, "severity": p.severity} for p in results.problems],
        }
        if ranges is not None:
            doc["commit_ranges"] = ranges
        if triage is not None:
            doc["store"] = str(results.results_dir)  # the store's URL, password hidden
        print(json.dumps(doc, indent=2, default=str, allow_nan=False) if _finite(doc) else json.dumps(doc, indent=2, default=str))
    else:
        markdown = args.format == "markdown"
        tabulate = _md_table if markdown else _text_table
        what = "detected (history)" if args.all else "in effect"
        head = ["factor", "before", "after", "commits", "conf", "steps", "machine", "benchmark"]
        step_cells, shift_cells = _step_cells, _shift_cells
        shift_head = ["factor", "series", "runs", "commits", "evidence", "machine", "env"]
        if triage is not None:  # the id first: `tensorscope triage set ID STATE` takes it
            head, shift_head = ["id", "triage", *head], ["id", "triage", *shift_head]

            def step_cells(r: Mapping[str, Any]) -> list[str]:
                return [str(r["id"])[:12], str(r["triage"]), *_step_cells(r)]

            def shift_cells(r: Mapping[str, Any]) -> list[str]:
                return [str(r["id"])[:12], str(r["triage"]), *_shift_cells(r)]

        for g in group_rows:
            line = f"Runner group {printable(str(g['group']))}: {len(g['machines'])} machines ({g['rule']})"
            sys.stdout.write(f"{_md_cell(line)}\n\n" if markdown else f"{line}\n")
        sys.stdout.write(tabulate(_records(worse, step_fields), f"Regressions {what} beyond {args.threshold:.0%}", head, step_cells))
        sys.stdout.write(tabulate(_records(better, step_fields), f"Improvements {what} beyond {args.threshold:.0%}", head, step_cells))
        if ranges is not None:
            range_head = ["range", "regressions", "improvements", "machines", "benchmarks", "worst", "on"]
            if triage is not None:
                range_head.insert(3, "untriaged")
            sys.stdout.write(
                tabulate(
                    ranges, "Changes by commit range (one commit in each range may cause all of its changes)", range_head, _range_cells
                )
            )
        sys.stdout.write(
            tabulate(
                _records(shifts, shift_fields),
                f"Environment shifts beyond {args.threshold:.0%} (the machine's, not the code's)",
                shift_head,
                shift_cells,
            )
        )
        shown = _records(unstable.head(UNSTABLE_SHOWN), UNSTABLE_FIELDS)
        text = tabulate(
            shown,
            f"Unstable series of {len(unstable)} (values switch between two levels; no steps reported)",
            ["levels", "high", "switches", "samples", "machine", "benchmark"],
            _unstable_cells,
        )
        if len(unstable) > UNSTABLE_SHOWN:
            text += f"... and {len(unstable) - UNSTABLE_SHOWN} more (--format json lists all)\n"
        sys.stdout.write(text)
    return 1 if failing else 0


def _commit_ranges(worse: pd.DataFrame, better: pd.DataFrame) -> list[dict[str, Any]]:
    """The printed changes grouped by commit range (:func:`tensorscope.analysis.commit_ranges.by_commit_range`),
    newest first, each with its changes (and their ids and triage states when read from a store)."""
    from tensorscope.analysis.commit_ranges import by_commit_range

    both = pd.concat([f for f in (worse, better) if len(f)], ignore_index=True) if len(worse) or len(better) else worse
    fields = ["kind", "machine", "env", "benchmark", "params", "factor", "commit_before", "commit_after", "id", "triage"]
    out = []
    for g in by_commit_range(both).to_dict("records"):
        members = _records(both.iloc[g["members"]], fields)
        out.append(
            {
                "commit_before": g["commit_before"],
                "commit_after": g["commit_after"],
                "regressions": g["regressions"],
                "improvements": g["improvements"],
                "machines": g["machine_names"].split(", "),
                "benchmarks": g["benchmarks"],
                "worst_factor": None if math.isnan(g["worst_factor"]) else g["worst_factor"],
                "untriaged": sum(1 for m in members if m.get("triage") == "untriaged") if "triage" in both.columns else None,
                "changes": members,
            }
        )
    return out


def _range_cells(r: Mapping[str, Any]) -> list[str]:
    cells = [
        f"{str(r['commit_before'])[:8]}..{str(r['commit_after'])[:8]}",
        str(r["regressions"]),
        str(r["improvements"]),
        str(len(r["machines"])),
        str(r["benchmarks"]),
        "" if r["worst_factor"] is None else f"{r['worst_factor']:.2f}x",
        ", ".join(r["machines"]),
    ]
    if r["untriaged"] is not None:
        cells.insert(3, str(r["untriaged"]))
    return cells


def _finite(doc: Any) -> bool:
    try:
        json.dumps(doc, allow_nan=False, default=str)
        return True
    except ValueError:
        return False
