"""Ordering ops (group ``ordering``): stable sort, argsort and top-10 of ``size`` elements."""

from __future__ import annotations

from .common import (
    OpAccuracy,
    OpBenchmark,
    OpCompile,
    OpMemory,
    accuracy_params,
    by_family,
    compile_params,
    group_ops,
    memory_params,
    require_benchmarks,
    timed_params,
)

GROUP = "ordering"
FAMILIES = by_family(GROUP)


class Ordering(OpBenchmark):
    """Sorting random floats (no presorted runs)."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class OrderingAccuracy(OpAccuracy):
    """Ordering ops are exact: any value other than 0 is a wrong order."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class OrderingMemory(OpMemory):
    """Peak memory of sorting the largest input."""

    params = memory_params(FAMILIES["float"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class OrderingCompile(OpCompile):
    """JIT compile time of ordering ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Ordering)
