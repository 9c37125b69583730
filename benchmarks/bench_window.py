"""Window ops (group ``window``): 3x3 sliding windows over an isqrt(size)-square image."""

from __future__ import annotations

from .common import BACKENDS, PROFILE, OpAccuracy, OpBenchmark, OpCompile

GROUP_OPS = ("window_sum", "window_max")


class Window(OpBenchmark):
    """Valid 3x3 windows, stride 1."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class WindowAccuracy(OpAccuracy):
        """Max relative error of window ops against NumPy float64."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class WindowCompile(OpCompile):
        """JIT compile time of window ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
