"""``tensorscope report``: print the regressions and improvements detected in an asv results directory.

Works on any asv project's results (API version 2). Exit status, as ``asv continuous``:
0 when no regression beyond ``--threshold`` is found, 1 when one is, 2 for usage errors
(no such directory, unknown ``--since`` commit, bad option values).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tensorscope.units import format_value

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``report`` subcommand's arguments."""
    parser.add_argument("results_dir", nargs="?", type=Path, default=None, help="asv results directory (default: ./results)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.add_argument("--since", default=None, metavar="REV", help="only steps after this commit (hash or prefix)")
    parser.add_argument("--machine", action="append", default=None, help="only this machine (repeatable)")
    parser.add_argument("--threshold", type=float, default=0.05, help="smallest relative change reported (default 0.05 = 5%%)")
    parser.add_argument("--alpha", type=float, default=None, help="significance level of a step (default 1e-3)")
    parser.add_argument("--benchmark", default=None, metavar="TEXT", help="only benchmarks whose name contains TEXT")
    parser.add_argument("--repo", type=Path, default=None, help="git repository ordering the commits (default: by commit date)")
    parser.add_argument("--index-json", type=Path, default=None, help="a published asv site's index.json ordering the commits")
    parser.add_argument("--cache-dir", default=None, help="derived-data cache directory ('none' disables; default: the per-user cache)")
    parser.add_argument("--all", action="store_true", help="also list regressions later undone (default: only the latest state)")


def _table(rows: Sequence[Mapping[Hashable, Any]], title: str) -> str:
    if not rows:
        return f"{title}: none\n"
    head = ["factor", "before", "after", "commits", "conf", "machine", "benchmark"]
    body = []
    for r in rows:
        body.append(
            [
                f"{r['factor']:.2f}x",
                format_value(r["value_before"], r["unit"]),
                format_value(r["value_after"], r["unit"]),
                f"{r['commit_before'][:8]}..{r['commit_after'][:8]}",
                f"{r['confidence']:.3f}",
                r["machine"],
                r["benchmark"] + (f"({r['params']})" if r["params"] else "") + ("" if r["env"] == "" else f" [{r['env']}]"),
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = [f"{title} ({len(rows)}):", "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    """Run the report; returns 0 (no regression), 1 (regression found) or 2 (usage error)."""
    from tensorscope.analysis import regressions as reg
    from tensorscope.results import default_cache_dir, load_results

    results_dir = args.results_dir or Path("results")
    if not results_dir.is_dir():
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
    rs = load_results(results_dir, cache_dir=cache, repo=args.repo, index_json=args.index_json)
    for p in rs.problems:
        if p.severity == "error":
            print(f"tensorscope report: skipped {p}", file=sys.stderr)
    table = rs.results
    if args.machine:
        unknown = sorted(set(args.machine) - set(table["machine"].astype(str)))
        if unknown:
            print(f"tensorscope report: no results for machine(s) {', '.join(unknown)}", file=sys.stderr)
            return 2
        table = table[table["machine"].isin(args.machine)]
    if args.benchmark:
        table = table[table["benchmark"].astype(str).str.contains(args.benchmark, regex=False)]
    kw: dict[str, Any] = {"threshold": args.threshold, "since": args.since}
    if args.alpha is not None:
        kw["alpha"] = args.alpha
    try:
        if args.all:
            worse = reg.regressions(table, **kw)
        else:
            worse = reg.regressions(table, **kw)
            still = reg.latest_regressions(table, threshold=args.threshold, **({"alpha": args.alpha} if args.alpha else {}))
            worse = worse.merge(still[["series", "order_after"]], on=["series", "order_after"], how="inner")
        better = reg.improvements(table, **kw)
    except KeyError as exc:
        print(f"tensorscope report: {exc.args[0]}", file=sys.stderr)
        return 2
    worse = worse.sort_values("factor", ascending=False)
    better = better.sort_values("factor")
    cols = [
        "machine",
        "env",
        "benchmark",
        "params",
        "unit",
        "commit_before",
        "commit_after",
        "value_before",
        "value_after",
        "ratio",
        "change",
        "factor",
        "better",
        "confidence",
        "pvalue",
    ]
    worse_rows = [{c: (v.item() if hasattr(v, "item") else v) for c, v in r.items()} for r in worse[cols].to_dict("records")]
    better_rows = [{c: (v.item() if hasattr(v, "item") else v) for c, v in r.items()} for r in better[cols].to_dict("records")]
    if args.format == "json":
        doc = {
            "results_dir": str(results_dir),
            "threshold": args.threshold,
            "since": args.since,
            "regressions": worse_rows,
            "improvements": better_rows,
            "problems": [{"path": p.path, "message": p.message, "severity": p.severity} for p in rs.problems],
        }
        print(json.dumps(doc, indent=2, default=str, allow_nan=False) if _finite(doc) else json.dumps(doc, indent=2, default=str))
    else:
        sys.stdout.write(_table(worse_rows, f"Regressions beyond {args.threshold:.0%}"))
        sys.stdout.write(_table(better_rows, f"Improvements beyond {args.threshold:.0%}"))
    return 1 if worse_rows else 0


def _finite(doc: Any) -> bool:
    try:
        json.dumps(doc, allow_nan=False, default=str)
        return True
    except ValueError:
        return False
