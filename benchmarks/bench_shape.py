"""Shape and indexing ops (group ``shape``) on a ``rows x cols`` array of ``size`` elements.

A backend may return a view where it can (NumPy's reshape, permute_dims, flip): that
is what the op costs there, and the time shows it.
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

GROUP = "shape"
FAMILIES = by_family(GROUP)
#: the shape ops that compute (scatter_add adds, astype rounds): the others only move values
COMPUTING_OPS = tuple(op for op in FAMILIES["float"] if not op_spec(op).moves_only)


class Shape(OpBenchmark):
    """Every shape op (the catalog's benchmark_inputs give the exact arguments)."""

    params = timed_params(FAMILIES["float"], "float")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class ShapeAccuracy(OpAccuracy):
    """Max relative error of the shape ops that compute."""

    params = accuracy_params(COMPUTING_OPS)

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class ShapeMemory(OpMemory):
    """Peak memory of copying shape ops on the largest input."""

    params = memory_params(FAMILIES["float"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class ShapeCompile(OpCompile):
    """JIT compile time of shape ops."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, Shape)
