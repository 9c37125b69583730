"""Creation ops (group ``creation``): a tensor of ``size`` elements from nothing."""

from __future__ import annotations

from .common import BACKENDS, PROFILE, OpBenchmark, OpCompile

GROUP_OPS = ("arange", "full", "eye")


class Creation(OpBenchmark):
    """arange(size), full((size,), 1), eye(isqrt(size))."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class CreationCompile(OpCompile):
        """JIT compile time of creation ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
