"""Write a comparison's timings as asv results (API version 2), so they join the history.

The files are written with asv's own ``asv.results.Results`` (``add_result`` then ``save``), so
they are exactly what ``asv run`` writes and ``asv publish``, ``asv compare`` and tensorscope's
loader read them like any run. Per cell and commit the stored samples are the values of the
fresh processes (one per pair; each the median of that process's own samples), so the value
is their median and asv's 99% interval and quartiles describe the process-to-process spread,
which is the noise a later comparison with this point has to beat.

Nothing existing is modified: when ``<machine>/<commit8>-<env>.json`` already exists (an earlier
``asv run`` of that commit), the results go beside it as
``<commit8>-<env>-tensorscope-<UTC time>.json`` (asv and tensorscope read every ``*.json`` of a
machine folder; a commit measured twice is two points of the same commit). ``machine.json``
and ``benchmarks.json`` are written only when absent. Duet timings ran next to another process
on one core with one thread, so they are stored under the environment name plus ``-duet``,
never mixed into the environment's own series.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .model import CellOutcome, Measurement

__all__ = ["ensure_machine", "write_results"]


def ensure_machine(results_dir: Path, machine: str) -> dict[str, Any]:
    """``<results_dir>/<machine>/machine.json``'s fields, writing asv's defaults for this host when it is absent."""
    from asv import util
    from asv.machine import Machine

    path = results_dir / machine / "machine.json"
    if not path.exists():
        fields = Machine.get_defaults()
        fields["machine"] = machine
        path.parent.mkdir(parents=True, exist_ok=True)
        util.write_json(str(path), fields, api_version=Machine.api_version)
    data = util.load_json(str(path), api_version=Machine.api_version)
    return {k: v for k, v in data.items() if k != "version"}


def write_results(
    results_dir: Path,
    *,
    machine: str,
    commit: str,
    date: int,
    env_name: str,
    python: str,
    requirements: Mapping[str, Any],
    env_vars: Mapping[str, str],
    outcomes: Sequence[CellOutcome],
    side: str,
    benchmarks: Mapping[str, Mapping[str, Any]],
) -> Path | None:
    """Write ``side``'s ('A' or 'B') measurements of ``outcomes`` for ``commit``; returns the file (None: nothing measured)."""
    from asv import util
    from asv.results import Results, get_filename
    from asv.runner import BenchmarkResult

    by_benchmark: dict[str, list[CellOutcome]] = {}
    for outcome in outcomes:
        measurements = outcome.a if side == "A" else outcome.b
        if measurements:
            by_benchmark.setdefault(outcome.cell.benchmark, []).append(outcome)
    if not by_benchmark:
        return None
    machine_params = ensure_machine(results_dir, machine)
    bench_file = results_dir / "benchmarks.json"
    if not bench_file.exists():
        util.write_json(str(bench_file), dict(benchmarks), api_version=2)

    params = dict(machine_params)
    params["python"] = python
    params.update(requirements)
    results = Results(params, dict(requirements), commit, date, python, env_name, dict(env_vars))
    for name, cell_outcomes in sorted(by_benchmark.items()):
        bench = benchmarks[name]
        combos = list(itertools.product(*bench["params"])) if bench["params"] else [()]
        value: list[Any] = [math.nan] * len(combos)  # asv's mark of a combination not run
        samples: list[Any] = [None] * len(combos)
        number: list[Any] = [None] * len(combos)
        started: list[dt.datetime] = []
        duration = 0.0
        for outcome in cell_outcomes:
            index = outcome.cell.index or 0
            ms = outcome.a if side == "A" else outcome.b
            value[index], samples[index], number[index] = _entry(ms)
            started += [m.started_at for m in ms if m.started_at is not None]
            duration += sum(m.seconds for m in ms)
        result = BenchmarkResult(result=value, samples=samples, number=number, errcode=0, stderr="", profile=None)
        results.add_result(dict(bench), result, started_at=min(started) if started else None, duration=duration, record_samples=True)

    target = results_dir / get_filename(machine, commit, env_name)
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        base, n = f"{target.stem}-tensorscope-{stamp}", 1
        target = target.with_name(f"{base}.json")
        while target.exists():
            n += 1
            target = target.with_name(f"{base}-{n}.json")
    with tempfile.TemporaryDirectory() as tmp:
        results.save(tmp)
        written = Path(tmp) / get_filename(machine, commit, env_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(written), target)
    return target


def _entry(measurements: Sequence[Measurement]) -> tuple[Any, Any, Any]:
    """(asv result, samples, number) of one cell on one side: ok values -> samples; else asv's skipped (NaN) or failed (None)."""
    ok = [m for m in measurements if m.status == "ok"]
    if ok and not any(m.status == "failed" for m in measurements):
        numbers = [m.number for m in ok if m.number is not None]
        # asv computes the value and its statistics from the samples when ``number`` is given
        return True, [m.value for m in ok], int(statistics.median_low(numbers)) if numbers else 1
    if any(m.status == "failed" for m in measurements):
        return None, None, None
    return math.nan, None, None
