"""Ordering ops (group ``ordering``): stable sort, argsort and top-10 of ``size`` elements."""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

GROUP_OPS = ("sort", "argsort", "top_k")


class Ordering(OpBenchmark):
    """Sorting random floats (no presorted runs)."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.sort_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class OrderingAccuracy(OpAccuracy):
        """Ordering ops are exact: any value other than 0 is a wrong order."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("sort",)):

    class OrderingMemory(OpMemory):
        """Peak memory of sorting the largest input."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["elements"],), ("float32",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class OrderingCompile(OpCompile):
        """JIT compile time of ordering ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
