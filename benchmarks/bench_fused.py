"""Fused workloads (group ``fused``): whole functions, the analogue of an Nx ``defn``.

Row-wise ops (softmax, logsumexp, layer_norm) and gelu take ``size`` elements; the
layers (dense, mlp_forward) take ``size x size`` matrices.
"""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

ELEMENT_OPS = ("softmax", "logsumexp", "gelu", "layer_norm")
LAYER_OPS = ("dense", "mlp_forward")
GROUP_OPS = ELEMENT_OPS + LAYER_OPS


class Fused(OpBenchmark):
    """Row-wise normalisations and gelu over rows of up to 1000 elements."""

    params = (BACKENDS, PROFILE.select(ELEMENT_OPS), PROFILE.element_sizes, PROFILE.compute_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class FusedLayers(OpBenchmark):
    """Dense layers: relu(x @ w + b) and two of them."""

    params = (BACKENDS, PROFILE.select(LAYER_OPS), PROFILE.matrix_sizes, PROFILE.compute_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class FusedAccuracy(OpAccuracy):
        """Max relative error of fused workloads against NumPy float64."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.accuracy_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("softmax",)):

    class FusedMemory(OpMemory):
        """Peak memory of row-wise workloads on the largest input (intermediates show here)."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["elements"],), ("float32",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class FusedCompile(OpCompile):
        """JIT compile time of fused workloads (where a JIT backend fuses them)."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
