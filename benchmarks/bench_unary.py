"""Element-wise unary ops (group ``unary``) on a contiguous 1-D array of ``size`` elements."""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

FLOAT_OPS = (
    "abs",
    "negative",
    "sign",
    "floor",
    "ceil",
    "round",
    "sqrt",
    "rsqrt",
    "exp",
    "expm1",
    "log",
    "log1p",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "erf",
    "sigmoid",
    "isnan",
    "isinf",
)
INT_OPS = ("bitwise_invert",)
GROUP_OPS = FLOAT_OPS + INT_OPS


class Unary(OpBenchmark):
    """Float unary ops, from overhead-bound (100 elements) to memory-bound (1e7)."""

    params = (BACKENDS, PROFILE.select(FLOAT_OPS), PROFILE.element_sizes, PROFILE.float_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class UnaryInt(OpBenchmark):
    """Integer-only unary ops."""

    params = (BACKENDS, PROFILE.select(INT_OPS), PROFILE.element_sizes, PROFILE.int_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(FLOAT_OPS):

    class UnaryAccuracy(OpAccuracy):
        """Max relative error of float unary ops against NumPy float64."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("exp",)):

    class UnaryMemory(OpMemory):
        """Peak memory of a unary op on the largest input (temporaries show here)."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["elements"],), ("float32",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class UnaryCompile(OpCompile):
        """JIT compile time of unary ops."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
