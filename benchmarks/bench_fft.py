"""Fourier transforms (group ``fft``) of complex 1-D signals of ``size`` (a power of two)."""

from __future__ import annotations

from .common import BACKENDS, MEMORY_SIZES, PROFILE, OpAccuracy, OpBenchmark, OpCompile, OpMemory

GROUP_OPS = ("fft", "ifft")


class FFT(OpBenchmark):
    """Forward and inverse transforms along the only axis."""

    params = (BACKENDS, PROFILE.select(GROUP_OPS), PROFILE.fft_sizes, PROFILE.complex_dtypes)

    def time_op(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.sync(self.run())


if ACCURACY_OPS := PROFILE.select_extra(GROUP_OPS):

    class FFTAccuracy(OpAccuracy):
        """Max relative error of transforms against NumPy complex128 (2**14 points)."""

        params = (BACKENDS, ACCURACY_OPS, PROFILE.complex_dtypes)

        def track_max_rel_error(self, backend: str, op: str, dtype: str) -> float:
            return self.error


if MEMORY_OPS := PROFILE.select_extra(("fft",)):

    class FFTMemory(OpMemory):
        """Peak memory of the largest transform."""

        params = (BACKENDS, MEMORY_OPS, (MEMORY_SIZES["fft"],), ("complex64",))

        def peakmem_op(self, backend: str, op: str, size: int, dtype: str) -> None:
            self.sync(self.run())


if COMPILE_OPS := PROFILE.select_compile(GROUP_OPS):

    class FFTCompile(OpCompile):
        """JIT compile time of transforms."""

        params = (BACKENDS, COMPILE_OPS)

        def track_compile_time(self, backend: str, op: str) -> float:
            return self.compile_seconds(backend, op)
