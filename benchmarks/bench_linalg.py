"""Linear algebra (group ``linalg``) on ``size x size`` matrices (conv: a size/4 image)."""

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

GROUP = "linalg"
FAMILIES = by_family(GROUP)


class Linalg(OpBenchmark):
    """matmul (n x n @ n x n), conv (1x16xn/4xn/4 with 16x16x3x3), cholesky and triangular_solve (n x n)."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class LinalgAccuracy(OpAccuracy):
    """Max relative error of linear algebra against NumPy float64 (128 x 128)."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class LinalgMemory(OpMemory):
    """Peak memory at the largest matrix size."""

    params = memory_params(FAMILIES["float"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class LinalgCompile(OpCompile):
    """JIT compile time of linear algebra."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Linalg)
