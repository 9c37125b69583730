"""The records of a re-measurement: cells, one process's measurement, a cell's outcome, a whole comparison."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from .stats import Interval

__all__ = ["Cell", "CellOutcome", "Comparison", "Look", "Measurement", "Side"]


@dataclass(frozen=True)
class Cell:
    """One asv benchmark at one parameter combination (asv's unit of a result)."""

    benchmark: str
    """asv's benchmark name, e.g. ``bench_unary.Unary.time_op``."""
    index: int | None = None
    """position in ``itertools.product(*params)``; None for an unparameterized benchmark."""
    params: tuple[str, ...] = ()
    """asv's ``repr`` of each parameter value (``"'numpy'"``, ``"1000"``)."""
    param_names: tuple[str, ...] = ()
    unit: str = "seconds"
    type: str = "time"
    better: str = "lower"
    """'lower' or 'higher': which way the value improves (higher for rate-like ``track_`` units)."""

    @property
    def id(self) -> str:
        """asv's name of the cell, as ``asv run -b`` matches it: ``name(param, ...)``."""
        return f"{self.benchmark}({', '.join(self.params)})" if self.index is not None else self.benchmark

    @property
    def label(self) -> str:
        """The parameter label of tensorscope's results table: ``backend='numpy', size=1000``."""
        names = self.param_names or tuple(f"param{i + 1}" for i in range(len(self.params)))
        return ", ".join(f"{n}={v}" for n, v in zip(names, self.params, strict=True))

    @property
    def runner_name(self) -> str:
        """The benchmark id asv's runner takes: ``name-index`` for a parameterized benchmark."""
        return self.benchmark if self.index is None else f"{self.benchmark}-{self.index}"


@dataclass
class Measurement:
    """One fresh process's result for one cell on one side."""

    status: str
    """'ok', 'skipped' (the benchmark raised NotImplementedError / returned NaN) or 'failed'."""
    value: float = math.nan
    """asv's value of the process: the median of its samples for timings (seconds), else the returned number."""
    samples: list[float] | None = None
    number: int | None = None
    started_at: dt.datetime | None = None
    seconds: float = 0.0
    """wall time of the process, start to exit."""
    cpus: tuple[int, ...] | None = None
    """the CPUs the process was pinned to (None: not pinned)."""
    output: str = ""
    """the process's output (stdout and stderr), kept for failures."""
    rounds: list[int] | None = None
    """lockstep: the round of each sample (a round is one turn of each side), to pair them with the other side's."""


@dataclass
class Look:
    """The state of a cell after one stage of pairs: what the escalation decided on."""

    pairs: int
    interval: Interval
    verdict: str


@dataclass
class CellOutcome:
    """Everything measured for one cell and the verdict."""

    cell: Cell
    verdict: str = "undecided"
    """'slower' | 'faster' | 'same' | 'undecided' | 'skipped' | 'failed'."""
    interval: Interval | None = None
    orders: list[str] = field(default_factory=list)
    a: list[Measurement] = field(default_factory=list)
    b: list[Measurement] = field(default_factory=list)
    looks: list[Look] = field(default_factory=list)
    note: str = ""
    wall_seconds: float = 0.0
    """wall time of the cell's pairs (in duet mode the two sides overlap: less than the processes' sum)."""

    @property
    def pairs(self) -> int:
        return len(self.orders)

    @property
    def ratio(self) -> float:
        """B / A (the Hodges-Lehmann estimate); NaN before any pair."""
        return self.interval.ratio if self.interval is not None else math.nan


@dataclass
class Side:
    """One of the two compared commits."""

    label: str
    """'A' or 'B'."""
    commit: str
    """full hash."""
    name: str = ""
    """what the user gave (``origin/main``)."""
    subject: str = ""
    """first line of the commit message (blank when the repository cannot say)."""
    env_name: str = ""


@dataclass
class Comparison:
    """A whole ``compare`` run: its settings, conditions and per-cell outcomes."""

    a: Side
    b: Side
    outcomes: list[CellOutcome]
    threshold: float
    confidence: float
    mode: str
    """how each pair's processes were scheduled: 'lockstep', 'sequential' or 'duet' (:data:`~.runner.MODES`; 'interleaved' in older reports = sequential)."""
    machine: str = ""
    started_at: dt.datetime | None = None
    seconds: float = 0.0
    """wall time of the measuring (installs excluded)."""
    install_seconds: float = 0.0
    controls: dict[str, Any] = field(default_factory=dict)
    """what was controlled in every process (transparent huge pages, ASLR, pinning, threads)."""
    conditions: dict[str, Any] = field(default_factory=dict)
    """what was not controlled but recorded (system THP mode, governor, load, steal time, ...)."""
    results_files: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.verdict == "slower"]

    @property
    def exit_code(self) -> int:
        """1 when a cell is slower with confidence, else 0 (``asv continuous``'s convention)."""
        return 1 if self.regressions else 0
