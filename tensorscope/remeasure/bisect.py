"""``tensorscope bisect GOOD BAD --bench CELL``: the first commit where one cell got slower.

``asv find`` bisects on single runs, so one noisy run sends it down the wrong half. Here every
step is an adaptive A/B comparison (:func:`~.compare.run_comparison` on the one cell):

1. GOOD against BAD must be ``slower`` (otherwise there is nothing to find: exit 1);
2. binary search over GOOD's first-parent descendants up to BAD: compare the newest commit
   known to be at GOOD's level (``lo``) with the middle one; ``slower`` moves BAD's end there,
   ``same`` or ``faster`` moves ``lo``; an ``undecided`` step (at the cap of pairs) goes by its
   estimate, to the side whose level it is nearer on the log scale, and says so;
3. the answer is the first commit after the last ``lo``, with its message and every step's evidence.

With ``n`` commits after GOOD that is ``1 + ceil(log2(n))`` comparisons (6 for 32 commits),
each installing one commit (the other end stays installed in its slot).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .compare import add_measure_arguments, plan_from, project_from, run_comparison, usage_error
from .model import Cell, CellOutcome
from .report import cell_json
from .runner import Project, ProjectError

__all__ = ["BisectResult", "Step", "add_arguments", "bisect_commits", "main", "pick_cell"]


@dataclass
class Step:
    """One comparison of the search: ``good`` (at the old level) against ``tested``."""

    good: str
    tested: str
    outcome: CellOutcome
    slow: bool
    """whether ``tested`` was judged at the slow level."""
    by: str
    """'verdict' or 'estimate' (an undecided comparison decided by its estimate)."""
    subject: str = ""


@dataclass
class BisectResult:
    """The first slow commit (None when GOOD..BAD shows no slowdown) and the evidence."""

    cell: str
    commits: list[str]
    check: CellOutcome
    steps: list[Step] = field(default_factory=list)
    first_bad: str | None = None
    subject: str = ""
    reason: str = ""
    seconds: float = 0.0

    @property
    def comparisons(self) -> int:
        return 1 + len(self.steps)


def _worse_log(outcome: CellOutcome) -> float:
    """The estimate as a log factor of 'worse' (positive = slower, whichever way the value improves)."""
    if outcome.interval is None or not math.isfinite(outcome.interval.estimate):
        return math.nan
    est = outcome.interval.estimate
    return -est if outcome.cell.better == "higher" else est


def bisect_commits(
    commits: Sequence[str],
    compare: Callable[[str, str], CellOutcome],
    *,
    subject: Callable[[str], str] = lambda c: "",
) -> BisectResult:
    """Binary search of ``commits`` (oldest first, GOOD first, BAD last) with ``compare(old, new) -> CellOutcome``."""
    if len(commits) < 2:
        raise ValueError("bisect needs GOOD and at least one later commit")
    t0 = time.perf_counter()
    check = compare(commits[0], commits[-1])
    result = BisectResult(check.cell.id, list(commits), check)
    if check.verdict != "slower":
        result.reason = f"GOOD -> BAD is {check.verdict}, not slower" + (f" ({check.note})" if check.note else "")
        result.seconds = time.perf_counter() - t0
        return result
    total = _worse_log(check)
    lo, hi = 0, len(commits) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        outcome = compare(commits[lo], commits[mid])
        if outcome.verdict == "slower":
            slow, by = True, "verdict"
        elif outcome.verdict in ("same", "faster"):
            slow, by = False, "verdict"
        elif outcome.verdict == "undecided" and math.isfinite(_worse_log(outcome)):
            slow, by = _worse_log(outcome) >= total / 2, "estimate"
        else:
            result.steps.append(Step(commits[lo], commits[mid], outcome, False, "none", subject(commits[mid])))
            result.reason = f"the comparison with {commits[mid][:8]} {outcome.verdict}: {outcome.note}"
            result.seconds = time.perf_counter() - t0
            return result
        result.steps.append(Step(commits[lo], commits[mid], outcome, slow, by, subject(commits[mid])))
        if slow:
            hi = mid
        else:
            lo = mid
    result.first_bad = commits[hi]
    result.subject = subject(commits[hi])
    result.seconds = time.perf_counter() - t0
    return result


def pick_cell(cells: Sequence[Cell], wanted: str) -> Cell:
    """The one cell whose id is ``wanted``, else the one matching it as a regular expression (ValueError otherwise)."""
    exact = [c for c in cells if c.id == wanted]
    if exact:
        return exact[0]
    try:
        found = [c for c in cells if re.search(wanted, c.id)]
    except re.error as exc:
        raise ValueError(f"--bench {wanted!r} is neither a cell name nor a valid regular expression: {exc}") from None
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(f"no benchmark cell matches {wanted!r}")
    listed = "\n  ".join(c.id for c in found[:10])
    more = f"\n  ... and {len(found) - 10} more" if len(found) > 10 else ""
    raise ValueError(f"--bench {wanted!r} matches {len(found)} cells; bisect needs one:\n  {listed}{more}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tensorscope bisect``."""
    parser.add_argument("good", metavar="GOOD", help="a commit at the old (fast) level")
    parser.add_argument("bad", metavar="BAD", help="a later commit at the slow level")
    parser.add_argument("--bench", "-b", required=True, metavar="CELL", help="the cell: its full name, or a regex matching only it")
    add_measure_arguments(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="what to print (default: table)")
    parser.add_argument("--no-results", action="store_true", help="do not write the timings as asv results")


def _line(outcome: CellOutcome) -> str:
    iv = outcome.interval
    ci = f" [{iv.ratio_low:.3f}, {iv.ratio_high:.3f}]" if iv is not None and math.isfinite(iv.low) and math.isfinite(iv.high) else ""
    ratio = f"ratio {outcome.ratio:.3f}{ci}" if math.isfinite(outcome.ratio) else "no ratio"
    return f"{ratio}, {outcome.pairs} pairs, {outcome.verdict}"


def format_table(result: BisectResult) -> str:
    """Plain-text account of every step."""
    first, last = result.commits[0], result.commits[-1]
    lines = [
        f"tensorscope bisect: {result.cell} between {first[:8]} (GOOD) and {last[:8]} (BAD), {len(result.commits) - 1} commits after GOOD",
        f"check   {first[:8]} -> {last[:8]}: {_line(result.check)}",
    ]
    for i, step in enumerate(result.steps, 1):
        level = "slow" if step.slow else "old level"
        how = " (by its estimate: the comparison was undecided)" if step.by == "estimate" else ""
        lines.append(f"step {i}  {step.good[:8]} -> {step.tested[:8]} {step.subject[:60]!r}: {_line(step.outcome)} => {level}{how}")
    if result.first_bad:
        lines.append(f"first slow commit: {result.first_bad} {result.subject!r}")
    else:
        lines.append(f"no commit found: {result.reason}")
    lines.append(f"{result.comparisons} comparisons, {result.seconds / 60:.1f} min")
    return "\n".join(lines) + "\n"


def to_json(result: BisectResult) -> dict[str, Any]:
    """The bisection as a JSON-ready dict."""
    return {
        "cell": result.cell,
        "good": result.commits[0],
        "bad": result.commits[-1],
        "commits": len(result.commits) - 1,
        "first_bad": result.first_bad,
        "subject": result.subject,
        "reason": result.reason,
        "comparisons": result.comparisons,
        "minutes": round(result.seconds / 60, 3),
        "check": cell_json(result.check),
        "steps": [
            {"good": s.good, "tested": s.tested, "subject": s.subject, "slow": s.slow, "by": s.by, "evidence": cell_json(s.outcome)}
            for s in result.steps
        ],
    }


def main(args: argparse.Namespace) -> int:
    """Bisect; returns 0 (first slow commit found), 1 (GOOD..BAD not slower, or a step failed) or 2 (usage error)."""
    try:
        plan = plan_from(args)
        project = project_from(args)
    except (ValueError, ProjectError) as exc:
        return usage_error("bisect", str(exc))
    try:
        with project:
            good, bad = project.resolve(args.good), project.resolve(args.bad)
            commits = project.commits_between(good, bad)
            cell = _resolve_cell(project, good, bad, args.bench)
            print(f"tensorscope bisect: {cell.id}, {len(commits) - 1} commits after {good[:8]}", file=sys.stderr, flush=True)

            def compare(old: str, new: str) -> CellOutcome:
                comparison = run_comparison(
                    project,
                    old,
                    new,
                    plan,
                    select=lambda c: c.id == cell.id,
                    mode=args.schedule,
                    machine=args.machine,
                    write_results=not args.no_results,
                    quiet=True,
                )
                outcome = comparison.outcomes[0]
                print(f"  {old[:8]} -> {new[:8]}: {_line(outcome)}", file=sys.stderr, flush=True)
                return outcome

            result = bisect_commits(commits, compare, subject=project.subject)
    except (ProjectError, ValueError) as exc:
        return usage_error("bisect", str(exc))
    if args.format == "json":
        sys.stdout.write(json.dumps(to_json(result), indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_table(result))
    return 0 if result.first_bad else 1


def _resolve_cell(project: Project, good: str, bad: str, wanted: str) -> Cell:
    slot_good, slot_bad, _ = project.install(good, bad)
    del slot_good
    return pick_cell(project.discover(slot_bad), wanted)
