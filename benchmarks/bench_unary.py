"""Element-wise unary ops (group ``unary``) on a contiguous 1-D array of ``size`` elements."""

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

GROUP = "unary"
FAMILIES = by_family(GROUP)


class Unary(OpBenchmark):
    """Float unary ops, from overhead-bound (100 elements) to memory-bound (1e7)."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class UnaryInt(OpBenchmark):
    """Integer-only unary ops."""

    params = timed_params(FAMILIES["int"], "int")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class UnaryAccuracy(OpAccuracy):
    """Max relative error of float unary ops against NumPy float64."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class UnaryMemory(OpMemory):
    """Peak memory of a unary op on the largest input (temporaries show here)."""

    params = memory_params(FAMILIES["float"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class UnaryCompile(OpCompile):
    """JIT compile time of unary ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Unary, UnaryInt)
