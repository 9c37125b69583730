"""Which way is better for a benchmark: lower for times and memory, higher for rates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_DIRECTION", "Direction"]

_RATE_UNIT = re.compile(
    r"(/\s*s(ec(ond)?)?\b|\bper\s*s(ec(ond)?)?\b|flop|throughput|speedup|bandwidth|\bhz\b|\bfps\b|\bops\b|it/s)", re.IGNORECASE
)


@dataclass(frozen=True)
class Direction:
    """Which direction is better for a benchmark.

    Lower for time and memory; higher for ``track_`` benchmarks whose unit looks like a rate
    (GB/s, GFLOP/s, items/s, ``per second``, speedup, throughput) or whose name is listed.
    Callable as ``direction(benchmark, unit, type) -> 'lower' | 'higher'``.
    """

    higher_units: Sequence[str] = ()
    higher_patterns: Sequence[str] = ()
    higher_benchmarks: Sequence[str] = ()
    lower_benchmarks: Sequence[str] = ()
    rate_units: bool = True

    def __call__(self, benchmark: str, unit: str | None, btype: str | None = None) -> str:
        if benchmark in self.lower_benchmarks:
            return "lower"
        if benchmark in self.higher_benchmarks or any(re.search(p, benchmark) for p in self.higher_patterns):
            return "higher"
        if btype not in (None, "track") or benchmark.rsplit(".", 1)[-1].startswith(("time", "mem_", "peakmem")):
            return "lower"
        unit = unit or ""
        if unit in self.higher_units or (self.rate_units and _RATE_UNIT.search(unit)):
            return "higher"
        return "lower"


DEFAULT_DIRECTION = Direction()
