"""Reductions (group ``reduction``) over a contiguous 1-D array of ``size`` elements."""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

GROUP_OPS = ("sum", "prod", "max", "min", "argmax", "argmin", "mean", "all", "any", "cumulative_sum")


class Reduction(OpBenchmark):
    """Full reductions (axis=None) and the running sum; all/any scan everything (no early exit)."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class ReductionAccuracy(OpAccuracy):
        """Max relative error of reductions against NumPy float64 (accumulation order shows)."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("cumulative_sum",)):

    class ReductionMemory(OpMemory):
        """Peak memory of the running sum on the largest input."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["elements"],), ("float32",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class ReductionCompile(OpCompile):
        """JIT compile time of reductions."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
