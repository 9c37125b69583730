"""Reductions (group ``reduction``) over a contiguous 1-D array of ``size`` elements."""

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

GROUP = "reduction"
FAMILIES = by_family(GROUP)


class Reduction(OpBenchmark):
    """Full reductions (axis=None) and the running sum; all/any scan everything (no early exit)."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class ReductionAccuracy(OpAccuracy):
    """Max relative error of reductions against NumPy float64 (accumulation order shows)."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class ReductionMemory(OpMemory):
    """Peak memory of the running sum on the largest input."""

    params = memory_params(FAMILIES["float"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class ReductionCompile(OpCompile):
    """JIT compile time of reductions."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Reduction)
