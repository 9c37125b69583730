"""Creation ops (group ``creation``): a tensor of ``size`` elements from nothing."""

from __future__ import annotations

from .common import OpBenchmark, OpCompile, by_family, compile_params, group_ops, require_benchmarks, timed_params

GROUP = "creation"
FAMILIES = by_family(GROUP)


class Creation(OpBenchmark):
    """arange(size), full((size,), 1), eye(isqrt(size))."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class CreationCompile(OpCompile):
    """JIT compile time of creation ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Creation)
