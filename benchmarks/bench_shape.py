"""Shape and indexing ops (group ``shape``) on a ``rows x cols`` array of ``size`` elements.

A backend may return a view where it can (NumPy's reshape, permute_dims, flip): that
is what the op costs there, and the time shows it.
"""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

GROUP_OPS = (
    "reshape",
    "permute_dims",
    "broadcast_to",
    "expand_dims",
    "squeeze",
    "slice",
    "put_slice",
    "concat",
    "stack",
    "pad",
    "flip",
    "take",
    "scatter_add",
    "astype",
)


class Shape(OpBenchmark):
    """Every shape op (see benchmarks.cases for the exact arguments)."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(("scatter_add", "astype")):

    class ShapeAccuracy(OpAccuracy):
        """Max relative error of the shape ops that compute (scatter_add, astype)."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("concat",)):

    class ShapeMemory(OpMemory):
        """Peak memory of copying shape ops on the largest input."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["elements"],), ("float32",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class ShapeCompile(OpCompile):
        """JIT compile time of shape ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
