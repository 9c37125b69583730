"""FFT: iterative radix-2 Cooley-Tukey for power-of-two lengths, Bluestein's chirp-z for the rest.

Computed in complex128 (twiddles from ``math.cos``/``math.sin``, once per call) and rounded
to the input dtype, so complex64 results are more accurate than a float32 FFT. Rows (all
axes but the transformed one) run in parallel. Bluestein turns a length-n transform into
a power-of-two circular convolution of length >= 2n - 1, so every length is O(n log n).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange

from ._jit import FM, Kernel, jit
from .elementwise import contiguous

__all__ = ["fft", "ifft"]


@jit
def _twiddles(m: int, sign: float) -> Any:
    w = np.empty(m // 2 if m > 1 else 1, dtype=np.complex128)
    for k in range(w.size):
        ang = sign * 2.0 * math.pi * k / m
        w[k] = complex(math.cos(ang), math.sin(ang))
    return w


@jit
def _radix2(a: Any, w: Any) -> None:
    """In-place FFT of a (length m = 2**p) with twiddles w[k] = exp(sign 2 pi i k / m)."""
    m = a.size
    j = 0
    for i in range(1, m):
        bit = m >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            t = a[i]
            a[i] = a[j]
            a[j] = t
    size = 2
    while size <= m:
        half = size // 2
        step = m // size
        for start in range(0, m, size):
            for k in range(half):
                t = w[k * step] * a[start + k + half]
                u = a[start + k]
                a[start + k] = u + t
                a[start + k + half] = u - t
        size *= 2


def _fft_rows(x: Any, out: Any, sign: float, scale: float) -> None:
    rows, n = x.shape
    pow2 = (n & (n - 1)) == 0
    if pow2:
        w = _twiddles(n, sign)
        for r in prange(rows):
            a = np.empty(n, dtype=np.complex128)
            for i in range(n):
                a[i] = x[r, i]
            _radix2(a, w)
            for i in range(n):
                out[r, i] = a[i] * scale
        return
    m = 1
    while m < 2 * n - 1:
        m *= 2
    wm = _twiddles(m, -1.0)
    wi = _twiddles(m, 1.0)
    chirp = np.empty(n, dtype=np.complex128)
    for k in range(n):
        ang = sign * math.pi * ((k * k) % (2 * n)) / n
        chirp[k] = complex(math.cos(ang), math.sin(ang))
    bfilt = np.zeros(m, dtype=np.complex128)
    bfilt[0] = chirp[0].conjugate()
    for k in range(1, n):
        bfilt[k] = chirp[k].conjugate()
        bfilt[m - k] = chirp[k].conjugate()
    _radix2(bfilt, wm)
    for r in prange(rows):
        a = np.zeros(m, dtype=np.complex128)
        for k in range(n):
            a[k] = x[r, k] * chirp[k]
        _radix2(a, wm)
        for k in range(m):
            a[k] *= bfilt[k]
        _radix2(a, wi)
        for k in range(n):
            out[r, k] = a[k] * chirp[k] * (scale / m)


_fft_k = Kernel(_fft_rows, 1 << 14, FM)


def _run(x: np.ndarray, axis: int, sign: float, inverse: bool) -> np.ndarray:
    ax = axis % x.ndim
    moved = contiguous(np.moveaxis(x, ax, -1))
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    out = np.empty(rows.shape, dtype=x.dtype)
    if out.size:
        _fft_k(out.size * max(1, int(math.log2(n)) if n else 1), rows, out, sign, 1.0 / n if inverse else 1.0)
    return contiguous(np.moveaxis(out.reshape(moved.shape), -1, ax))


def fft(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return _run(x, axis, -1.0, False)


def ifft(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return _run(x, axis, 1.0, True)
