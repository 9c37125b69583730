"""Element-wise binary ops (group ``binary``) on two contiguous 1-D arrays of ``size`` elements."""

from __future__ import annotations

from .common import BACKENDS, PROFILE, OpAccuracy, OpBenchmark, OpCompile

FLOAT_OPS = (
    "add",
    "subtract",
    "multiply",
    "divide",
    "floor_divide",
    "remainder",
    "pow",
    "atan2",
    "maximum",
    "minimum",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
)
INT_OPS = ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift")
BOOL_OPS = ("logical_and", "logical_or", "logical_xor")
GROUP_OPS = FLOAT_OPS + INT_OPS + BOOL_OPS


class Binary(OpBenchmark):
    """Arithmetic and comparisons on floats."""

    params = (BACKENDS, PROFILE.select(FLOAT_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class BinaryInt(OpBenchmark):
    """Bitwise ops and shifts on integers."""

    params = (BACKENDS, PROFILE.select(INT_OPS), PROFILE.element_sizes, PROFILE.int_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class BinaryBool(OpBenchmark):
    """Logical ops on booleans."""

    params = (BACKENDS, PROFILE.select(BOOL_OPS), PROFILE.element_sizes, ("bool",))

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(FLOAT_OPS):

    class BinaryAccuracy(OpAccuracy):
        """Max relative error of float binary ops against NumPy float64."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class BinaryCompile(OpCompile):
        """JIT compile time of binary ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
