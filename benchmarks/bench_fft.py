"""Fourier transforms (group ``fft``) of complex 1-D signals of ``size`` (a power of two)."""

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
    require_benchmarks,
    timed_params,
)

GROUP = "fft"
FAMILIES = by_family(GROUP)


class FFT(OpBenchmark):
    """Forward and inverse transforms along the only axis."""

    params = timed_params(FAMILIES["complex"], "complex")

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class FFTAccuracy(OpAccuracy):
    """Max relative error of transforms against NumPy complex128 (2**14 points)."""

    params = accuracy_params(FAMILIES["complex"])

    def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
        return self.error


class FFTMemory(OpMemory):
    """Peak memory of the largest transform."""

    params = memory_params(FAMILIES["complex"])

    def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


class FFTCompile(OpCompile):
    """JIT compile time of transforms."""

    params = compile_params(group_ops(GROUP))

    def track_compile_time(self, backend: str, op: str) -> float:
        return self.compile_seconds(backend, op)


require_benchmarks(GROUP, FFT)
