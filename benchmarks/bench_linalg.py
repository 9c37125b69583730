"""Linear algebra (group ``linalg``) on ``size x size`` matrices (conv: a size/4 image)."""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

GROUP_OPS = ("matmul", "conv", "cholesky", "triangular_solve")


class Linalg(OpBenchmark):
    """matmul (n x n @ n x n), conv (1x16xn/4xn/4 with 16x16x3x3), cholesky and triangular_solve (n x n)."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.matrix_sizes, PROFILE.compute_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class LinalgAccuracy(OpAccuracy):
        """Max relative error of linear algebra against NumPy float64 (128 x 128)."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("matmul", "conv")):

    class LinalgMemory(OpMemory):
        """Peak memory at the largest matrix size."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["matrix"],), ("float32",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class LinalgCompile(OpCompile):
        """JIT compile time of linear algebra."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
