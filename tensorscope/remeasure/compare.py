"""``tensorscope compare A B``: did B make any benchmark slower than A? Answered by interleaved re-measurement.

Installs both commits in asv environments (:mod:`.runner`), then for each selected cell runs A
and B in fresh processes in randomized balanced order, adding pairs only where the answer is
still open (:mod:`.design`, :mod:`.stats`). Prints a table, JSON or Markdown
(:mod:`.report`) and writes the timings as asv results for both commits (:mod:`.asv_write`).

Exit status, as ``asv continuous``: 1 when a cell is slower beyond the threshold with
confidence, 0 otherwise, 2 for usage errors.

The options shared with ``bisect`` and ``confirm`` (:func:`add_measure_arguments`) are defined here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .conditions import Controls, describe_change, duet_cpus, snapshot
from .design import Plan, measure_cells
from .model import Cell, CellOutcome, Comparison, Side
from .runner import MODES, Project, ProjectError, Slot

__all__ = ["add_arguments", "add_measure_arguments", "main", "plan_from", "project_from", "run_comparison"]


def add_measure_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of every re-measuring command: project, environment, plan, controls."""
    project = parser.add_argument_group("project")
    project.add_argument("--config", default="asv.conf.json", help="asv configuration file (default: ./asv.conf.json)")
    project.add_argument("-E", "--environment", default=None, metavar="NAME", help="asv environment name (default: the matrix's first)")
    project.add_argument(
        "--python",
        default=None,
        metavar="PATH",
        help="measure this existing interpreter with each commit's source tree on the path (no builds; pure-Python projects)",
    )
    project.add_argument("--machine", default=None, help="asv machine name for the results (default: this host's name)")
    project.add_argument("--profile", default=None, help="tensorscope's own suite: TENSORSCOPE_PROFILE for the measured processes")
    plan = parser.add_argument_group("measuring")
    plan.add_argument("--threshold", type=float, default=0.05, help="smallest change that matters (default 0.05 = 5%%)")
    plan.add_argument("--confidence", type=float, default=0.998, help="confidence of each look's interval (default 0.998)")
    plan.add_argument("--pairs", type=int, default=10, help="pairs per cell in the first stage (even; default 10)")
    plan.add_argument("--max-pairs", type=int, default=80, help="cap of pairs per cell (default 80)")
    plan.add_argument("--max-minutes", type=float, default=None, help="stop measuring after this many minutes (cells left undecided)")
    plan.add_argument("--seed", type=int, default=None, help="seed of the pair order (default: random)")
    plan.add_argument(
        "--schedule",
        choices=MODES,
        default=MODES[0],
        help="lockstep (default): A and B take turns on one CPU, one sample each; sequential: one process after the other; "
        "duet: both at once on two cores, one thread each",
    )
    plan.add_argument("--duet", dest="schedule", action="store_const", const="duet", help="the same as --schedule duet")
    control = parser.add_argument_group("controls")
    control.add_argument("--thp", choices=("off", "default"), default="off", help="transparent huge pages per process (default: off)")
    control.add_argument("--aslr", choices=("on", "off"), default="on", help="address-space layout randomization (default: on)")
    control.add_argument(
        "--malloc",
        choices=("fixed", "default"),
        default="fixed",
        help="glibc's malloc thresholds: fixed (default; mmap above 32 MiB, freed memory never trimmed) or glibc's adaptive ones",
    )
    control.add_argument("--cpus", default=None, metavar="LIST", help="pin every measured process to these CPUs, e.g. 1 or 0,1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tensorscope compare``."""
    parser.add_argument("a", metavar="A", help="the baseline commit (branch, tag, hash)")
    parser.add_argument("b", metavar="B", help="the commit to judge")
    parser.add_argument("-b", "--bench", action="append", default=[], metavar="REGEX", help="only cells matching (asv's -b; repeatable)")
    add_measure_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--format", choices=("table", "json", "markdown"), default="table", help="what to print (default: table)")
    out.add_argument(
        "--markdown", type=Path, default=None, metavar="PATH", help="also write the Markdown report here (PR comment, job summary)"
    )
    out.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the JSON report here")
    out.add_argument("--no-results", action="store_true", help="do not write the timings as asv results")


def _cpus(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        cpus = tuple(sorted({int(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise ValueError(f"--cpus takes CPU numbers separated by commas, got {text!r}") from None
    if not cpus or min(cpus) < 0:
        raise ValueError(f"--cpus takes CPU numbers >= 0, got {text!r}")
    return cpus


def plan_from(args: argparse.Namespace) -> Plan:
    """The :class:`Plan` of the parsed options (ValueError names a bad one)."""
    minutes = args.max_minutes
    return Plan(
        threshold=args.threshold,
        confidence=args.confidence,
        start_pairs=args.pairs,
        max_pairs=args.max_pairs,
        max_seconds=None if minutes is None else minutes * 60,
        # drawn here when not given, so the report records the order's seed and a run can be repeated
        seed=args.seed if args.seed is not None else random.SystemRandom().randrange(2**31),
    )


def project_from(args: argparse.Namespace) -> Project:
    """The :class:`Project` of the parsed options (not yet entered)."""
    duet = args.schedule == "duet"
    controls = Controls(thp=args.thp, aslr=args.aslr, malloc=args.malloc, cpus=_cpus(args.cpus), threads=1 if duet else None)
    if duet and controls.cpus:
        raise ValueError("--duet chooses its own two cores; leave out --cpus")
    extra = {"TENSORSCOPE_PROFILE": args.profile} if args.profile else {}
    return Project(args.config, environment=args.environment, python=args.python, controls=controls, extra_env=extra)


def progress_printer(total: int) -> Callable[[CellOutcome], None]:
    """A progress line on stderr after every look at a cell."""
    seen: dict[str, int] = {}

    def show(o: CellOutcome) -> None:
        n = seen.setdefault(o.cell.id, len(seen) + 1)
        ratio = f"ratio {o.ratio:.3f}" if math.isfinite(o.ratio) else ""
        ci = ""
        if o.interval is not None and math.isfinite(o.interval.low) and math.isfinite(o.interval.high):
            ci = f"[{o.interval.ratio_low:.3f}, {o.interval.ratio_high:.3f}]"
        print(f"  [{n}/{total}] {o.pairs:3d} pairs {ratio} {ci} {o.verdict}  {o.cell.id} {o.note}".rstrip(), file=sys.stderr, flush=True)

    return show


def run_comparison(
    project: Project,
    a: str,
    b: str,
    plan: Plan,
    *,
    patterns: Sequence[str] = (),
    select: Callable[[Cell], bool] | None = None,
    mode: str = MODES[0],
    machine: str | None = None,
    write_results: bool = True,
    names: tuple[str, str] = ("", ""),
    quiet: bool = False,
    results_dir: Path | None = None,
) -> Comparison:
    """Compare commits ``a`` and ``b`` (full hashes) of an entered :class:`Project` on the matching cells.

    ``mode``: how each pair's two processes are scheduled (:data:`~.runner.MODES`).

    The timings go to ``results_dir`` (default: the configuration's) unless ``write_results`` is False.
    """
    before = snapshot()
    slot_a, slot_b, install_seconds = project.install(a, b)
    cells = project.discover(slot_b, patterns)
    if select is not None:
        cells = [c for c in cells if select(c)]
    if not cells:
        wanted = " or ".join(repr(p) for p in patterns) or "the selection"
        raise ProjectError(f"no benchmark cell matches {wanted} in {project.benchmark_dir}")
    if not quiet:
        print(f"tensorscope: {len(cells)} cells, {mode}, {a[:8]} vs {b[:8]} in {slot_a.env_name}", file=sys.stderr, flush=True)
    pair = project.pair_function(slot_a, slot_b, mode=mode)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    outcomes = measure_cells(cells, pair, plan, progress=None if quiet else progress_printer(len(cells)))
    seconds = time.perf_counter() - t0
    duet = mode == "duet"
    env_name = slot_a.env_name + ("-duet" if duet else "")
    comparison = Comparison(
        a=Side("A", a, names[0], project.subject(a), env_name),
        b=Side("B", b, names[1], project.subject(b), env_name),
        outcomes=outcomes,
        threshold=plan.threshold,
        confidence=plan.confidence,
        mode=mode,
        machine=machine or socket.gethostname(),
        started_at=started,
        seconds=seconds,
        install_seconds=install_seconds,
        controls={
            **project.controls.record(),
            **({"duet_cpus": list(duet_cpus())} if duet else {}),
            "fresh_process_per_measurement": True,
            "seed": plan.seed,
        },
        conditions=describe_change(before, snapshot()),
    )
    if write_results:
        comparison.results_files = _write(project, comparison, (slot_a, slot_b), results_dir or project.results_dir)
    return comparison


def _write(project: Project, comparison: Comparison, slots: tuple[Slot, Slot], results_dir: Path) -> list[str]:
    """Both sides' timings as asv results (an A/A comparison writes two files for its one commit)."""
    from .asv_write import write_results

    written = []
    for side, slot in zip((comparison.a, comparison.b), slots, strict=True):
        env = slot.env
        path = write_results(
            results_dir,
            machine=comparison.machine,
            commit=side.commit,
            date=project.commit_date(side.commit),
            env_name=side.env_name,
            python=str(env.python),
            requirements=dict(env.requirements),
            env_vars=dict(env.env_vars),
            outcomes=comparison.outcomes,
            side=side.label,
            benchmarks=project.benchmarks,
        )
        if path is not None:
            written.append(str(path))
    return written


def usage_error(command: str, message: str) -> int:
    print(f"tensorscope {command}: {message}", file=sys.stderr)
    return 2


def selection_patterns(args: argparse.Namespace) -> list[str]:
    """asv ``--bench`` patterns of the cells to measure: the user's ``-b``, within ``--profile``'s cells when one is given.

    A cell outside the profile would only be skipped by the suite, after starting two
    processes for it: with the profile's own patterns it is never started (as ``tensorscope run`` does).
    """
    bench = list(getattr(args, "bench", None) or [])
    if not getattr(args, "profile", None):
        return bench
    from tensorscope.run import SuiteError, bench_patterns

    try:
        return bench_patterns(args.config, args.profile, bench)
    except SuiteError as exc:
        raise ValueError(f"--profile is for tensorscope's own suite: {exc}") from None


def main(args: argparse.Namespace) -> int:
    """Run the comparison; returns 1 (a cell slower), 0 (none) or 2 (usage error)."""
    from .report import render

    try:
        plan = plan_from(args)
        project = project_from(args)
    except (ValueError, ProjectError) as exc:
        return usage_error("compare", str(exc))
    try:
        with project:
            a, b = project.resolve(args.a), project.resolve(args.b)
            comparison = run_comparison(
                project,
                a,
                b,
                plan,
                patterns=selection_patterns(args),
                mode=args.schedule,
                machine=args.machine,
                write_results=not args.no_results,
                names=(args.a, args.b),
            )
    except (ProjectError, ValueError) as exc:
        return usage_error("compare", str(exc))
    sys.stdout.write(render(comparison, args.format))
    if args.markdown is not None:
        args.markdown.write_text(render(comparison, "markdown"))
    if args.json is not None:
        args.json.write_text(render(comparison, "json"))
    return comparison.exit_code
