"""Window ops (group ``window``): 3x3 sliding windows over an isqrt(size)-square image."""

from __future__ import annotations

from .common import (
    OpAccuracy,
    OpBenchmark,
    OpCompile,
    accuracy_params,
    by_family,
    compile_params,
    group_ops,
    require_benchmarks,
    timed_params,
)

GROUP = "window"
FAMILIES = by_family(GROUP)


class Window(OpBenchmark):
    """Valid 3x3 windows, stride 1."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class WindowAccuracy(OpAccuracy):
    """Max relative error of window ops against NumPy float64."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class WindowCompile(OpCompile):
    """JIT compile time of window ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Window)
