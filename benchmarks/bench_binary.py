"""Element-wise binary ops (group ``binary``) on two contiguous 1-D arrays of ``size`` elements."""

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

GROUP = "binary"
FAMILIES = by_family(GROUP)


class Binary(OpBenchmark):
    """Arithmetic and comparisons on floats."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class BinaryInt(OpBenchmark):
    """Bitwise ops and shifts on integers."""

    params = timed_params(FAMILIES["int"], "int")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class BinaryBool(OpBenchmark):
    """Logical ops on booleans."""

    params = timed_params(FAMILIES["bool"], "bool")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class BinaryAccuracy(OpAccuracy):
    """Max relative error of float binary ops against NumPy float64."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class BinaryCompile(OpCompile):
    """JIT compile time of binary ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Binary, BinaryInt, BinaryBool)
