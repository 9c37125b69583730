"""Machine calibration: memory bandwidth and peak FLOP/s, the roofline's two ceilings.

Every benchmark here is a rate (``unit`` ``GB/s`` or ``GFLOP/s``, higher is better; see
:mod:`benchmarks.common`). Each reports the best of a few trials, as STREAM does: the
capability of the machine, not a typical call.

* ``Bandwidth.track_bandwidth`` - STREAM copy (``a = b``, 16 bytes per float64
  element) and triad (``a = b + s * c``, 24 bytes), on arrays far larger than the
  last-level cache (``mib`` per array), on one thread and on every core (NumPy releases
  the GIL in its loops, so Python threads each stream their own slice);
* ``Gemm.track_gemm_flops`` - sgemm/dgemm (``2 n^3`` FLOPs) of ``n x n`` matrices through
  NumPy's BLAS on one thread (threadpoolctl) and on every core;
* ``GpuBandwidth`` / ``GpuGemm`` - device-to-device copy of ``mib`` MiB and 8192 x 8192
  gemm (float32 with TF32 off, float64, bfloat16) through torch.cuda (or CuPy, which has
  no bfloat16); skipped without an NVIDIA GPU.

The problem size is a parameter, so each series keeps one size; a profile chooses which
sizes it measures (``Profile.calibration``): quick 64 MiB arrays and n = 1024, full and
gpu 256 MiB and n = 2048; GPU copies of 256 MiB (quick) or 1 GiB (full, gpu).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .common import GRID, BackendBenchmark, Profile

#: best of this many timed trials (after an untimed one)
TRIALS = 5
#: triad works in chunks this long so the intermediate stays in cache
_CHUNK = 1 << 15


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _best_rate(work: float, fn: Callable[[], Any], trials: int = TRIALS) -> float:
    fn()  # first touch and warm-up, untimed
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        fn()
        best = max(best, work / (time.perf_counter() - start))
    return best


class Calibration(BackendBenchmark):
    """Rates only: one process, one value per cell, no sampling by asv.

    ``profile_axes`` names, per parameter, the ``Profile.calibration`` entry that
    chooses its values (None: every value).
    """

    params: tuple[Any, ...] = ()
    param_names: tuple[str, ...] = ()
    profile_axes: tuple[str | None, ...] = ()
    timeout = 300.0

    @classmethod
    def selected(cls, profile: Profile, *params: Any) -> bool:
        return all(axis is None or value in profile.calibration.get(axis, ()) for axis, value in zip(cls.profile_axes, params, strict=True))


class Bandwidth(Calibration):
    """Main-memory bandwidth: STREAM copy and triad, one thread and all cores."""

    params = (("copy", "triad"), ("1", "all"), GRID.calibration["array_mib"])
    param_names = ("kernel", "threads", "mib")
    profile_axes = (None, None, "array_mib")
    unit = "GB/s"

    def setup(self, kernel: str, threads: str, mib: int) -> None:
        self.start_cell(kernel, threads, mib)
        n = mib * 2**20 // 8
        self.a = np.zeros(n)
        self.b = np.full(n, 1.0)
        self.c = np.full(n, 2.0)
        self.threads = 1 if threads == "1" else _cores()

    def _slices(self) -> list[slice]:
        n, t = self.a.size, self.threads
        bounds = [n * i // t for i in range(t + 1)]
        return [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]

    def _copy(self, part: slice) -> None:
        np.copyto(self.a[part], self.b[part])

    def _triad(self, part: slice) -> None:
        a, b, c = self.a, self.b, self.c
        for lo in range(part.start, part.stop, _CHUNK):
            hi = min(lo + _CHUNK, part.stop)
            np.multiply(c[lo:hi], 3.0, out=a[lo:hi])
            np.add(a[lo:hi], b[lo:hi], out=a[lo:hi])

    def track_bandwidth(self, kernel: str, threads: str, mib: int) -> float:
        body = self._copy if kernel == "copy" else self._triad
        nbytes = (16 if kernel == "copy" else 24) * self.a.size
        parts = self._slices()
        if self.threads == 1:
            return _best_rate(nbytes / 1e9, lambda: body(parts[0]))
        with ThreadPoolExecutor(self.threads) as pool:
            return _best_rate(nbytes / 1e9, lambda: list(pool.map(body, parts)))


class Gemm(Calibration):
    """Peak FLOP/s of NumPy's BLAS: square sgemm / dgemm."""

    params = (("float32", "float64"), ("1", "all"), GRID.calibration["gemm_n"])
    param_names = ("dtype", "threads", "n")
    profile_axes = (None, None, "gemm_n")
    unit = "GFLOP/s"

    def setup(self, dtype: str, threads: str, n: int) -> None:
        self.start_cell(dtype, threads, n)
        rng = np.random.default_rng(0)
        self.x = rng.random((n, n)).astype(dtype)
        self.y = rng.random((n, n)).astype(dtype)
        self.limit: Any = None
        if threads == "1":
            try:
                from threadpoolctl import threadpool_limits
            except ImportError as exc:
                raise NotImplementedError("one-thread BLAS needs threadpoolctl") from exc
            self.limit = threadpool_limits(limits=1, user_api="blas")

    def teardown(self, dtype: str, threads: str, n: int) -> None:
        if self.limit is not None:
            self.limit.restore_original_limits()

    def track_gemm_flops(self, dtype: str, threads: str, n: int) -> float:
        return _best_rate(2 * n**3 / 1e9, lambda: np.matmul(self.x, self.y))


def _gpu_module() -> Any:
    """torch (with CUDA) or cupy; NotImplementedError when there is no GPU to measure."""
    from backends import _registry

    if not _registry._gpu_present():
        raise NotImplementedError("no NVIDIA GPU on this machine")
    try:
        import torch

        if torch.cuda.is_available():
            return torch
    except ImportError:
        pass
    try:
        import cupy

        return cupy
    except ImportError as exc:
        raise NotImplementedError("a GPU is present but neither torch (CUDA) nor cupy is installed") from exc


class GpuBandwidth(Calibration):
    """Device memory bandwidth: device-to-device copy (16 bytes per float64 element)."""

    params = (("copy",), GRID.calibration["gpu_array_mib"])
    param_names = ("kernel", "mib")
    profile_axes = (None, "gpu_array_mib")
    unit = "GB/s"

    def setup(self, kernel: str, mib: int) -> None:
        self.start_cell(kernel, mib)
        self.xp = _gpu_module()
        n = mib * 2**20 // 8
        if self.xp.__name__ == "torch":
            self.src = self.xp.ones(n, dtype=self.xp.float64, device="cuda")
            self.dst = self.xp.empty_like(self.src)
            self.sync = self.xp.cuda.synchronize
        else:
            self.src = self.xp.ones(n, dtype=self.xp.float64)
            self.dst = self.xp.empty_like(self.src)
            self.sync = self.xp.cuda.Device().synchronize

    def track_gpu_bandwidth(self, kernel: str, mib: int) -> float:
        def body() -> None:
            if self.xp.__name__ == "torch":
                self.dst.copy_(self.src)
            else:
                self.dst[...] = self.src
            self.sync()

        return _best_rate(16 * self.src.numel() / 1e9 if hasattr(self.src, "numel") else 16 * self.src.size / 1e9, body)


class GpuGemm(Calibration):
    """Device peak FLOP/s: square gemm (TF32 off: plain float32)."""

    params = (GRID.calibration["gpu_dtype"],)
    param_names = ("dtype",)
    profile_axes = ("gpu_dtype",)
    unit = "GFLOP/s"
    n = 8192

    def setup(self, dtype: str) -> None:
        self.start_cell(dtype)
        self.xp = _gpu_module()
        if self.xp.__name__ != "torch" and dtype == "bfloat16":
            raise NotImplementedError("CuPy has no bfloat16 gemm")
        if self.xp.__name__ == "torch":
            self.xp.backends.cuda.matmul.allow_tf32 = False
            dt = getattr(self.xp, dtype)
            self.x = self.xp.rand((self.n, self.n), dtype=dt, device="cuda")
            self.y = self.xp.rand((self.n, self.n), dtype=dt, device="cuda")
            self.sync = self.xp.cuda.synchronize
        else:
            self.x = self.xp.random.random((self.n, self.n)).astype(dtype)
            self.y = self.xp.random.random((self.n, self.n)).astype(dtype)
            self.sync = self.xp.cuda.Device().synchronize

    def track_gpu_gemm_flops(self, dtype: str) -> float:
        def body() -> None:
            self.xp.matmul(self.x, self.y)
            self.sync()

        return _best_rate(2 * self.n**3 / 1e9, body)
