"""Fused workloads, each one kernel: softmax, logsumexp, gelu, layer_norm, dense, mlp_forward.

* softmax / logsumexp over rows: per row, a max pass, one pass computing exp(x - max)
  (vectorized polynomial exp) into the output while its block sum is taken, and (softmax)
  a scale pass; a row of up to ~100k elements stays in L2, so DRAM sees one read and one
  write. A single long row is split into blocks processed in parallel.
* gelu: one element-wise pass, 0.5 x (1 + erf(x / sqrt 2)).
* layer_norm: per row, mean and variance passes over the cached row, then one output pass.
* dense / mlp_forward: NumPy's BLAS GEMM (``np.matmul``: the same build NumPy times, where
  ``np.dot`` inside ``njit`` would call SciPy's) followed by the bias (+ ReLU) epilogue in
  one compiled pass, parallel over rows.

Sums inside these kernels go through small helpers compiled with ``reassoc`` (so they
vectorize) while the exp/erf polynomials keep strict evaluation order (``contract`` only).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import prange, types
from numba.extending import overload

from . import _scalar as S
from ._jit import COSTLY, FM, FM_REDUCE, Kernel, jit
from .elementwise import contiguous

__all__ = ["dense", "gelu", "layer_norm", "logsumexp", "mlp_forward", "softmax"]

_BLK = 4096


@jit(fastmath=set(FM_REDUCE))
def _sum(a: Any) -> float:
    s = S.like(a, 0)
    for i in range(a.size):
        s += a[i]
    return s


@jit(fastmath=set(FM_REDUCE))
def _sum_sq_centred(a: Any, m: Any) -> float:
    s = S.like(a, 0)
    for i in range(a.size):
        d = a[i] - m
        s += d * d
    return s


@jit
def _max(a: Any) -> Any:
    # NaN-unaware on purpose: a NaN input makes exp(x - m), hence the sum and output, NaN
    m = a[0]
    for i in range(a.size):
        v = a[i]
        m = v if v > m else m
    return m


@jit
def _exp_shift(x: Any, m: Any, out: Any) -> None:
    for i in range(x.size):
        out[i] = S.exp(x[i] - m)


@jit
def _scale(a: Any, f: Any) -> None:
    for i in range(a.size):
        a[i] = a[i] * f


def _softmax_rows(x: Any, out: Any) -> None:
    rows = x.shape[0]
    for r in prange(rows):
        xr = x[r]
        orow = out[r]
        m = _max(xr)
        _exp_shift(xr, m, orow)
        s = _sum(orow)
        _scale(orow, S.like(x, 1) / s)


def _softmax_flat(x: Any, out: Any) -> None:
    n = x.size
    nb = (n + _BLK - 1) // _BLK
    part = np.empty(nb, dtype=x.dtype)
    for b in prange(nb):
        part[b] = _max(x[b * _BLK : min(b * _BLK + _BLK, n)])
    m = _max(part)
    sums = np.empty(nb, dtype=np.float64)
    for b in prange(nb):
        lo = b * _BLK
        hi = min(lo + _BLK, n)
        _exp_shift(x[lo:hi], m, out[lo:hi])
        sums[b] = _sum(out[lo:hi])
    total = 0.0
    for b in range(nb):
        total += sums[b]
    inv = S.like(x, 1 / total)
    for b in prange(nb):
        lo = b * _BLK
        _scale(out[lo : min(lo + _BLK, n)], inv)


def _lse_rows(x: Any, out: Any) -> None:
    rows, n = x.shape
    for r in prange(rows):
        xr = x[r]
        m = _max(xr)
        m = m if abs(m) != np.inf else S.like(x, 0)  # inf max: shift by 0 (as the reference)
        tmp = np.empty(min(n, _BLK), dtype=x.dtype)
        s = 0.0
        for lo in range(0, n, _BLK):
            hi = min(lo + _BLK, n)
            t = tmp[: hi - lo]
            _exp_shift(xr[lo:hi], m, t)
            s += _sum(t)
        out[r] = S.log(s) + m


def _lse_flat(x: Any, out: Any) -> None:
    n = x.size
    nb = (n + _BLK - 1) // _BLK
    part = np.empty(nb, dtype=x.dtype)
    for b in prange(nb):
        part[b] = _max(x[b * _BLK : min(b * _BLK + _BLK, n)])
    m = _max(part)
    m = m if abs(m) != np.inf else S.like(x, 0)
    sums = np.empty(nb, dtype=np.float64)
    for b in prange(nb):
        lo = b * _BLK
        hi = min(lo + _BLK, n)
        tmp = np.empty(hi - lo, dtype=x.dtype)
        _exp_shift(x[lo:hi], m, tmp)
        sums[b] = _sum(tmp)
    total = 0.0
    for b in range(nb):
        total += sums[b]
    out[0] = S.log(total) + m


_softmax_rows_k = Kernel(_softmax_rows, COSTLY, FM)
_softmax_flat_k = Kernel(_softmax_flat, COSTLY, FM)
_lse_rows_k = Kernel(_lse_rows, COSTLY, FM)
_lse_flat_k = Kernel(_lse_flat, COSTLY, FM)


def _work(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _rows_last(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    ax = axis % x.ndim
    return contiguous(np.moveaxis(x, ax, -1)).reshape(-1, x.shape[ax]), ax


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    xw = _work(x)
    if xw.size == 0:
        return x.copy()
    rows, ax = _rows_last(xw, axis)
    out = np.empty(rows.shape, dtype=xw.dtype)
    if rows.shape[0] == 1 and rows.shape[1] >= 4 * _BLK:
        _softmax_flat_k(out.size, rows.reshape(-1), out.reshape(-1))
    else:
        _softmax_rows_k(out.size, rows, out)
    res = contiguous(np.moveaxis(out.reshape(np.moveaxis(xw, ax, -1).shape), -1, ax))
    return res.astype(np.float16) if x.dtype == np.float16 else res


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    xw = _work(x)
    ax = axis % x.ndim
    shape = x.shape[:ax] + x.shape[ax + 1 :]
    if x.shape[ax] == 0:
        return np.full(shape, -np.inf, dtype=x.dtype)
    rows, _ = _rows_last(xw, axis)
    out = np.empty(rows.shape[0], dtype=xw.dtype)
    if out.size:
        if rows.shape[0] == 1 and rows.shape[1] >= 4 * _BLK:
            _lse_flat_k(rows.size, rows.reshape(-1), out)
        else:
            _lse_rows_k(rows.size, rows, out)
    res = out.reshape(shape)
    return res.astype(np.float16) if x.dtype == np.float16 else res


# ---------------------------------------------------------------------------
# gelu


def gelu_scalar(x: Any) -> Any:  # pragma: no cover - compiled only
    raise NotImplementedError


@overload(gelu_scalar)
def _gelu_ov(x):  # numba matches this signature to the implementation's
    if x == types.float32:
        c = np.float32(1 / math.sqrt(2))
        h = np.float32(0.5)
        one = np.float32(1)

        def f32(x):
            return h * x * (one + S.erf(x * c))

        return f32

    def f64(x):
        return 0.5 * x * (1.0 + S.erf(x * 0.7071067811865476))

    return f64


def _gelu(x: Any, out: Any) -> None:
    for i in prange(x.size):
        out[i] = gelu_scalar(x[i])


_gelu_k = Kernel(_gelu, COSTLY, FM)


def gelu(x: np.ndarray) -> np.ndarray:
    xw = contiguous(_work(x))
    out = np.empty(xw.shape, dtype=xw.dtype)
    if out.size:
        _gelu_k(out.size, xw.reshape(-1), out.reshape(-1))
    return out.astype(np.float16) if x.dtype == np.float16 else out


# ---------------------------------------------------------------------------
# layer_norm


def _layer_norm(x: Any, g: Any, b: Any, eps: Any, out: Any) -> None:
    rows, n = x.shape
    for r in prange(rows):
        xr = x[r]
        inv_n = S.like(x, 1.0 / n)
        mean = _sum(xr) * inv_n
        var = _sum_sq_centred(xr, mean) * inv_n
        rstd = S.like(x, 1) / np.sqrt(var + eps)
        for i in range(n):
            out[r, i] = (xr[i] - mean) * rstd * g[i] + b[i]


_layer_norm_k = Kernel(_layer_norm, COSTLY, FM)


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    xw, gw, bw = _work(x), _work(gamma), _work(beta)
    n = x.shape[-1]
    if n == 0 or x.size == 0:
        return x.copy()
    rows = contiguous(xw).reshape(-1, n)
    out = np.empty(rows.shape, dtype=xw.dtype)
    _layer_norm_k(out.size, rows, contiguous(gw), contiguous(bw), xw.dtype.type(eps), out)
    res = out.reshape(x.shape)
    return res.astype(np.float16) if x.dtype == np.float16 else res


# ---------------------------------------------------------------------------
# dense / mlp_forward: BLAS GEMM + fused epilogue


def _bias(b: Any, out: Any, relu: bool) -> None:
    """out += b (+ ReLU), in place, one pass parallel over rows."""
    rows, n = out.shape
    for r in prange(rows):
        for j in range(n):
            v = out[r, j] + b[j]
            out[r, j] = (v if (v > 0 or v != v) else S.like(out, 0)) if relu else v


_bias_k = Kernel(_bias, 1 << 15, FM)


def _dense_call(x2: np.ndarray, w: np.ndarray, b: np.ndarray, relu: bool) -> np.ndarray:
    out = np.empty((x2.shape[0], w.shape[1]), dtype=x2.dtype)
    if out.size:
        if x2.shape[1] == 0:
            out[...] = 0
            out += b
            if relu:
                np.maximum(out, 0, out=out)
        else:
            # NumPy's own BLAS, not the SciPy BLAS that np.dot inside njit calls: the two
            # wheels bundle different OpenBLAS builds (0.3.31 and 0.3.30 here), and dense on
            # 4M float32 measured 0.92x NumPy with SciPy's. The epilogue stays ours.
            np.matmul(x2, w, out=out)
            _bias_k(out.size, contiguous(b), out, relu)
    return out


def dense(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    xw, ww, bw = _work(x), _work(w), _work(b)
    x2 = contiguous(xw).reshape(-1, x.shape[-1])
    out = _dense_call(x2, ww, bw, True).reshape((*x.shape[:-1], w.shape[1]))
    return out.astype(np.float16) if x.dtype == np.float16 else out


def mlp_forward(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    xw, w1w, b1w, w2w, b2w = (_work(t) for t in (x, w1, b1, w2, b2))
    x2 = contiguous(xw).reshape(-1, x.shape[-1])
    hidden = _dense_call(x2, w1w, b1w, True)
    out = _dense_call(hidden, w2w, b2w, False).reshape((*x.shape[:-1], w2.shape[1]))
    return out.astype(np.float16) if x.dtype == np.float16 else out
