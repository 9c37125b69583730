"""Fused workloads (group ``fused``): whole functions, the analogue of an Nx ``defn``.

Row-wise ops (softmax, logsumexp, layer_norm) and gelu take ``size`` elements; the
layers (dense, mlp_forward) take ``size x size`` matrices (the catalog's ``kind``).
"""

from __future__ import annotations

from .common import (
    OpAccuracy,
    OpBenchmark,
    OpCompile,
    OpMemory,
    accuracy_params,
    by_family,
    compile_params,
    group_ops,
    memory_params,
    op_spec,
    require_benchmarks,
    timed_params,
)

GROUP = "fused"
FAMILIES = by_family(GROUP)
ELEMENT_OPS = tuple(op for op in FAMILIES["float"] if op_spec(op).kind == "elements")
LAYER_OPS = tuple(op for op in FAMILIES["float"] if op_spec(op).kind == "matrix")


class Fused(OpBenchmark):
    """Row-wise normalisations and gelu over rows of up to 1000 elements."""

    params = timed_params(ELEMENT_OPS, "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class FusedLayers(OpBenchmark):
    """Dense layers: relu(x @ w + b) and two of them."""

    params = timed_params(LAYER_OPS, "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class FusedAccuracy(OpAccuracy):
    """Max relative error of fused workloads against NumPy float64."""

    params = accuracy_params(FAMILIES["float"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class FusedMemory(OpMemory):
    """Peak memory of row-wise workloads on the largest input (intermediates show here)."""

    params = memory_params(FAMILIES["float"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class FusedCompile(OpCompile):
    """JIT compile time of fused workloads (where a JIT backend fuses them)."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Fused, FusedLayers)
