"""Selection ops (group ``selection``): where(cond, x, y) and clip on ``size`` elements."""

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

GROUP = "selection"
FAMILIES = by_family(GROUP)


class Selection(OpBenchmark):
    """where with a random mask; clip to [-0.5, 0.5]."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class SelectionAccuracy(OpAccuracy):
    """Max relative error of selection ops against NumPy float64."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class SelectionCompile(OpCompile):
    """JIT compile time of selection ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Selection)
