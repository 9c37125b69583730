"""``tensorscope confirm [RESULTS_DIR]``: re-measure the regressions the history reports, and mark each one.

For this machine (``--machine``, default this host's name) it takes the regressions that
``tensorscope report --machine M`` lists as in effect (the whole results directory analysed, then this
machine's rows or its runner group's), groups them by environment and commit range, and runs the two ends of each range
interleaved (:func:`~.compare.run_comparison`, all of a range's cells in one comparison). Marks:

``confirmed``  the re-measurement finds the later commit slower (verdict ``slower``);
``refuted``    it finds them the same, or the later one faster;
``undecided``  no clear answer within the cap of pairs, or a side failed or was skipped.

The marks are kept in ``<results_dir>/<machine>/tensorscope/confirmations.json`` (one entry per
series and commit range; a later confirmation of the same range replaces the earlier one).
That folder is outside asv's reach: asv reads only ``*.json`` files of a machine folder that has
a ``machine.json`` (it notes and skips other folders, as with ``provenance/``), and
tensorscope's loader reads only result files and ``provenance/``. :func:`load_confirmations`
reads them back as a table the Regressions page joins on ``series``, ``commit_before`` and
``commit_after``. Timings are also written as asv results, as ``compare`` does.

Exit status: 1 when a regression is confirmed, 0 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import socket
import sys
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .compare import add_measure_arguments, plan_from, project_from, run_comparison, usage_error
from .model import CellOutcome
from .runner import Project, ProjectError

__all__ = [
    "CONFIRMATIONS_FILE",
    "CONFIRMATION_COLUMNS",
    "add_arguments",
    "confirmations_path",
    "load_confirmations",
    "main",
    "mark",
    "save_confirmations",
]

CONFIRMATIONS_FILE = "tensorscope/confirmations.json"
"""Where the marks live, relative to ``<results_dir>/<machine>/``."""
FORMAT = "tensorscope-confirmations/1"
KEY = ("machine", "env", "benchmark", "params", "commit_before", "commit_after")
CONFIRMATION_COLUMNS = [
    "machine",
    "env",
    "benchmark",
    "params",
    "series",
    "commit_before",
    "commit_after",
    "mark",
    "verdict",
    "ratio",
    "ci_low",
    "ci_high",
    "pairs",
    "history_factor",
    "threshold",
    "confidence",
    "mode",
    "measured_at",
    "note",
]
"""Columns of :func:`load_confirmations`; ``series`` is the analysis' series name (the results table's ``series``)."""


def mark(verdict: str) -> str:
    """The mark of a re-measured regression from the comparison's verdict."""
    if verdict == "slower":
        return "confirmed"
    if verdict in ("same", "faster"):
        return "refuted"
    return "undecided"


def confirmations_path(results_dir: str | Path, machine: str) -> Path:
    return Path(results_dir) / machine / CONFIRMATIONS_FILE


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def save_confirmations(results_dir: str | Path, machine: str, entries: Iterable[Mapping[str, Any]]) -> Path:
    """Merge ``entries`` into the machine's confirmations file (same series and range: the new entry wins)."""
    path = confirmations_path(results_dir, machine)
    kept: dict[tuple[Any, ...], dict[str, Any]] = {}
    if path.exists():
        for old in _read(path):
            kept[tuple(old.get(k) for k in KEY)] = old
    for entry in entries:
        clean = {c: entry.get(c) for c in CONFIRMATION_COLUMNS}
        for c in ("ratio", "ci_low", "ci_high", "history_factor", "threshold", "confidence"):
            clean[c] = _finite(clean[c])
        kept[tuple(clean.get(k) for k in KEY)] = clean
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "machine": machine, "confirmations": sorted(kept.values(), key=lambda e: [str(e.get(k)) for k in KEY])}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("confirmations"), list):
        raise ValueError(f"{path} is not a tensorscope confirmations file ({FORMAT})")
    return [e for e in doc["confirmations"] if isinstance(e, dict)]


def load_confirmations(results_dir: str | Path) -> pd.DataFrame:
    """Every machine's confirmation marks under ``results_dir`` (columns :data:`CONFIRMATION_COLUMNS`).

    An unreadable file is skipped with a warning naming it; no file gives an empty table.
    """
    rows: list[dict[str, Any]] = []
    root = Path(results_dir)
    for path in sorted(root.glob(f"*/{CONFIRMATIONS_FILE}")):
        try:
            rows += _read(path)
        except (OSError, ValueError) as exc:
            warnings.warn(f"skipped {path}: {exc}", stacklevel=2)
    frame = pd.DataFrame(rows, columns=CONFIRMATION_COLUMNS)
    # the series name is the analysis' own (unique even where names hold "|"); files written
    # before it was stored get the plain join, which is what the analysis named them then
    joined = (
        frame["machine"].astype(str)
        + "|"
        + frame["env"].astype(str)
        + "|"
        + frame["benchmark"].astype(str)
        + "|"
        + frame["params"].astype(str)
    )
    frame["series"] = frame["series"].where(frame["series"].map(lambda v: isinstance(v, str)), joined)
    frame["measured_at"] = pd.to_datetime(frame["measured_at"], utc=True)
    for c in ("ratio", "ci_low", "ci_high", "history_factor", "threshold", "confidence"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    frame["pairs"] = pd.to_numeric(frame["pairs"], errors="coerce").fillna(0).astype("int64")
    return frame[CONFIRMATION_COLUMNS]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tensorscope confirm``."""
    parser.add_argument("results_dir", nargs="?", type=Path, default=None, help="asv results directory (default: the configuration's)")
    parser.add_argument("--since", default=None, metavar="REV", help="only regressions after this commit")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="re-measure at most the N largest regressions")
    parser.add_argument("--cache-dir", default=None, help="derived-data cache for reading the history ('none' disables)")
    add_measure_arguments(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="what to print (default: table)")
    parser.add_argument("--no-results", action="store_true", help="do not write the timings as asv results")


def history_regressions(
    results_dir: Path, machine: str, threshold: float, *, since: str | None, repo: Path | None, cache_dir: Any
) -> pd.DataFrame:
    """The regressions in effect on ``machine``, largest first (KeyError: unknown machine or ``since``)."""
    from tensorscope.analysis import regressions as reg
    from tensorscope.results import default_cache_dir, load_results

    cache = default_cache_dir(results_dir) if cache_dir is None else (None if str(cache_dir).lower() == "none" else Path(cache_dir))
    rs = load_results(results_dir, cache_dir=cache, repo=repo)
    table = rs.results
    machines = sorted(set(table["machine"].astype(str)))
    if machine not in machines:
        raise KeyError(f"no results for machine {machine!r} in {results_dir} (there are: {', '.join(machines) or 'none'}); use --machine")
    since_order = reg.since_order(table, since)
    # the whole directory, as `tensorscope report` analyses it (its cross-machine checks need every
    # machine); then this machine's rows, or its runner group's
    verdicts = reg.analyse(rs, cache_dir=cache)
    found = verdicts.in_effect(threshold)
    found = found[found["kind"] == "regression"]
    found = found[[m == machine or machine in str(ms).split(", ") for m, ms in zip(found["machine"], found["machines"], strict=True)]]
    if since_order is not None:
        order = reg.select(verdicts.steps, "regression", threshold, since_order)[["series", "order_after"]]
        found = found.merge(order, on=["series", "order_after"], how="inner")
    return found.sort_values("factor", ascending=False).reset_index(drop=True)


def _entry(row: Mapping[str, Any], outcome: CellOutcome | None, args: argparse.Namespace, machine: str, note: str = "") -> dict[str, Any]:
    iv = outcome.interval if outcome is not None else None
    verdict = outcome.verdict if outcome is not None else "not measured"
    return {
        "machine": machine,
        "env": str(row["env"]),
        "benchmark": str(row["benchmark"]),
        "params": str(row["params"]),
        "series": str(row["series"]),
        "commit_before": str(row["commit_before"]),
        "commit_after": str(row["commit_after"]),
        "mark": mark(verdict),
        "verdict": verdict,
        "ratio": outcome.ratio if outcome is not None else None,
        "ci_low": iv.ratio_low if iv is not None else None,
        "ci_high": iv.ratio_high if iv is not None else None,
        "pairs": outcome.pairs if outcome is not None else 0,
        "history_factor": float(row["factor"]),
        "threshold": args.threshold,
        "confidence": args.confidence,
        "mode": args.schedule,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(),
        "note": note or (outcome.note if outcome is not None else ""),
    }


def confirm(project: Project, found: pd.DataFrame, args: argparse.Namespace, machine: str, results_dir: Path) -> list[dict[str, Any]]:
    """Re-measure each commit range of ``found`` (all in ``project``'s environment); one entry per regression."""
    plan = plan_from(args)
    entries: list[dict[str, Any]] = []
    for (before, after), group in found.groupby(["commit_before", "commit_after"], sort=False):
        before, after = str(before), str(after)
        rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in group.to_dict("records")]
        wanted = {(str(r["benchmark"]), str(r["params"])) for r in rows}
        print(
            f"tensorscope confirm: {before[:8]}..{after[:8]}, {len(rows)} regression(s) in {project.env_name}", file=sys.stderr, flush=True
        )
        try:
            comparison = run_comparison(
                project,
                before,
                after,
                plan,
                select=lambda c, wanted=wanted: (c.benchmark, c.label) in wanted,  # type: ignore[misc]
                mode=args.schedule,
                machine=machine,
                write_results=not args.no_results,
                results_dir=results_dir,
            )
        except ProjectError as exc:
            entries += [_entry(r, None, args, machine, str(exc)) for r in rows]
            continue
        by_key = {(o.cell.benchmark, o.cell.label): o for o in comparison.outcomes}
        for r in rows:
            outcome = by_key.get((str(r["benchmark"]), str(r["params"])))
            entries.append(_entry(r, outcome, args, machine, "" if outcome else "cell not in the benchmark suite"))
    return entries


def main(args: argparse.Namespace) -> int:
    """Confirm or refute; returns 1 (a regression confirmed), 0 (none) or 2 (usage error)."""
    try:
        plan_from(args)
        if args.limit is not None and args.limit < 1:
            raise ValueError("--limit must be at least 1")
        envs = _environments(args)
    except (ValueError, ProjectError) as exc:
        return usage_error("confirm", str(exc))
    machine = args.machine or socket.gethostname()
    entries: list[dict[str, Any]] = []
    results_dir: Path | None = None
    remaining: pd.DataFrame | None = None
    try:
        for env in envs:
            args.environment = env
            with project_from(args) as project:
                if remaining is None:
                    results_dir = (args.results_dir or project.results_dir).resolve()
                    if not results_dir.is_dir():
                        raise ProjectError(f"no results directory at {results_dir}")
                    try:
                        remaining = history_regressions(
                            results_dir, machine, args.threshold, since=args.since, repo=project.repo_path, cache_dir=args.cache_dir
                        )
                    except KeyError as exc:
                        raise ProjectError(str(exc.args[0])) from None
                    if args.limit is not None:
                        remaining = remaining.head(args.limit)
                # an existing interpreter measures every environment's regressions; else each env its own
                todo = remaining if args.python is not None else remaining[remaining["env"] == project.env_name]
                assert results_dir is not None
                entries += confirm(project, todo, args, machine, results_dir)
                remaining = remaining.drop(index=todo.index)
    except (ProjectError, ValueError) as exc:
        return usage_error("confirm", str(exc))
    assert results_dir is not None and remaining is not None
    if entries:
        path = save_confirmations(results_dir, machine, entries)
        print(f"tensorscope confirm: marks saved in {path}", file=sys.stderr)
    for env in sorted(set(remaining["env"].astype(str))):
        print(f"tensorscope confirm: not measured: environment {env!r} is not in {args.config} (or not selected with -E)", file=sys.stderr)
    _print(entries, args.format, machine)
    return 1 if any(e["mark"] == "confirmed" for e in entries) else 0


def _environments(args: argparse.Namespace) -> list[str | None]:
    """The asv environments to measure in: the one given, else every environment of the configuration."""
    if args.environment is not None or args.python is not None:
        return [args.environment]
    from asv import environment
    from asv.config import Config

    config = Path(args.config)
    if not config.is_file():
        raise ProjectError(f"no asv configuration at {config} (run from the project's root or pass --config)")
    return [e.name for e in environment.get_environments(Config.load(str(config)), None, verbose=False)] or [None]


def _print(entries: list[dict[str, Any]], fmt: str, machine: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps({"machine": machine, "confirmations": entries}, indent=2, default=str) + "\n")
        return
    if not entries:
        sys.stdout.write(f"tensorscope confirm: no regression in effect on {machine}\n")
        return
    head = ["mark", "history", "re-measured", "pairs", "commits", "benchmark"]
    body = []
    for e in entries:
        ratio = e["ratio"]
        ci = (
            f" [{e['ci_low']:.3f}, {e['ci_high']:.3f}]"
            if e["ci_low"] is not None and math.isfinite(e["ci_low"]) and math.isfinite(e["ci_high"])
            else ""
        )
        body.append(
            [
                e["mark"],
                f"{e['history_factor']:.3f}x",
                (f"{ratio:.3f}{ci}" if ratio is not None and math.isfinite(ratio) else e["verdict"]),
                str(e["pairs"]),
                f"{e['commit_before'][:8]}..{e['commit_after'][:8]}",
                f"{e['benchmark']}({e['params']}) [{e['env']}]" + (f"  ({e['note']})" if e["note"] else ""),
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip() for b in body]
    counts = {m: sum(e["mark"] == m for e in entries) for m in ("confirmed", "refuted", "undecided")}
    lines.append(f"{len(entries)} regressions on {machine}: " + ", ".join(f"{n} {m}" for m, n in counts.items()))
    sys.stdout.write("\n".join(lines) + "\n")
