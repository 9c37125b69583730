"""Selection ops (group ``selection``): where(cond, x, y) and clip on ``size`` elements."""

from __future__ import annotations

from .common import BACKENDS, PROFILE, OpAccuracy, OpBenchmark, OpCompile

GROUP_OPS = ("where", "clip")


class Selection(OpBenchmark):
    """where with a random mask; clip to [-0.5, 0.5]."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class SelectionAccuracy(OpAccuracy):
        """Max relative error of selection ops against NumPy float64."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class SelectionCompile(OpCompile):
        """JIT compile time of selection ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
