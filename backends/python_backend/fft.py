"""Pure-Python FFT: recursive radix-2 on even lengths; odd lengths by direct DFT (short)
or Bluestein's chirp-z algorithm (long), which turns any length into a power-of-two
convolution. Computed in complex128 and rounded once for complex64.
"""

from __future__ import annotations

import cmath
import functools
import math
from operator import add, mul, sub

from ._tensor import PyTensor, fit, from_last, lanes

__all__ = ["fft", "ifft", "transform"]

_DFT_MAX = 32  # odd lengths up to this use the O(n^2) DFT; Bluestein costs more below it


@functools.lru_cache(maxsize=64)
def _twiddles(n: int, count: int, sign: int) -> tuple[complex, ...]:
    """exp(sign * 2*pi*i * k / n) for k < count, each computed directly (no error build-up)."""
    return tuple(cmath.rect(1.0, sign * 2.0 * math.pi * k / n) for k in range(count))


def _dft(x: list[complex], sign: int) -> list[complex]:
    n = len(x)
    tw = _twiddles(n, n, sign)
    return [sum(map(mul, x, [tw[(j * k) % n] for j in range(n)]), 0j) for k in range(n)]


@functools.lru_cache(maxsize=16)
def _bluestein_plan(n: int, sign: int) -> tuple[list[complex], list[complex], int]:
    """Chirp, transformed conjugate chirp and convolution length for Bluestein at length n."""
    m = 1 << (2 * n - 2).bit_length()  # a power of two >= 2n - 1
    # k*k mod 2n keeps the angle below 2*pi, so the chirp is accurate for large k
    chirp = [cmath.rect(1.0, sign * math.pi * ((k * k) % (2 * n)) / n) for k in range(n)]
    conj = [c.conjugate() for c in chirp]
    kernel = conj + [0j] * (m - 2 * n + 1) + conj[:0:-1]
    return chirp, transform(kernel, -1), m


def _bluestein(x: list[complex], sign: int) -> list[complex]:
    chirp, kernel_hat, m = _bluestein_plan(len(x), sign)
    a = list(map(mul, x, chirp)) + [0j] * (m - len(x))
    conv = transform(list(map(mul, transform(a, -1), kernel_hat)), 1)
    scale = 1.0 / m
    return [c * v * scale for c, v in zip(chirp, conv, strict=False)]


def transform(x: list[complex], sign: int) -> list[complex]:
    """Unnormalised DFT of ``x`` with exponent sign ``sign`` (-1 forward, +1 inverse)."""
    n = len(x)
    if n <= 2:
        return [x[0] + x[1], x[0] - x[1]] if n == 2 else list(x)
    if n % 2 == 0:
        even = transform(x[0::2], sign)
        odd = list(map(mul, _twiddles(n, n // 2, sign), transform(x[1::2], sign)))
        return list(map(add, even, odd)) + list(map(sub, even, odd))
    if n <= _DFT_MAX:
        return _dft(x, sign)
    return _bluestein(x, sign)


def _along(x: PyTensor, axis: int, sign: int) -> PyTensor:
    ax = axis % x.ndim
    n = x.shape[ax]
    scale = 1.0 / n if sign > 0 else 1.0
    out: list[complex] = []
    for lane in lanes(x, ax):
        spectrum = transform(lane, sign)
        out += [v * scale for v in spectrum] if sign > 0 else spectrum
    shape_last = (*(d for a, d in enumerate(x.shape) if a != ax), n)
    return PyTensor(fit(x.dtype, from_last(out, shape_last, ax)), x.shape, x.dtype)


def fft(x: PyTensor, axis: int) -> PyTensor:
    """Discrete Fourier transform along ``axis``."""
    return _along(x, axis, -1)


def ifft(x: PyTensor, axis: int) -> PyTensor:
    """Inverse DFT along ``axis`` with 1/n scaling."""
    return _along(x, axis, 1)
