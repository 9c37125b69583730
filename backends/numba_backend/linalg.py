"""Linear algebra: matmul, conv, cholesky, triangular_solve.

``matmul`` and the GEMM inside ``conv`` call BLAS: ``np.dot`` inside an ``njit`` function
is lowered by Numba to the ``sgemm``/``dgemm`` of SciPy's BLAS (OpenBLAS here). A
hand-written GEMM in Numba reaches a fraction of a tuned BLAS, so this is deliberate.
SciPy's wheel bundles its own OpenBLAS build, not NumPy's (0.3.30 and 0.3.31 on the
reference VM), so matmul here is not exactly NumPy's GEMM; ``fused.dense`` calls NumPy's
``np.matmul`` instead, where that difference showed (0.92x NumPy at 4M float32). ``conv``
builds its im2col matrix with a Numba kernel, then calls one GEMM per image.

``cholesky`` (right-looking, row-oriented, vectorized inner dot products) and
``triangular_solve`` (substitution vectorized over the right-hand sides) are Numba
kernels; they report a non-positive pivot / zero diagonal through their return value,
which becomes ``NotSquareOrNotDefinite`` as in the reference backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import prange

from .._errors import NotSquareOrNotDefinite
from ._jit import FM, FM_REDUCE, Kernel, jit
from .elementwise import contiguous

__all__ = ["cholesky", "conv", "matmul", "triangular_solve"]


@jit
def _gemm_batch(a: Any, b: Any, ia: Any, ib: Any, out: Any) -> None:
    for i in range(out.shape[0]):
        np.dot(a[ia[i]], b[ib[i]], out[i])


def _im2col(x: Any, cols: Any, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int) -> None:
    """x (C, Hp, Wp) -> cols (C*kh*kw, ho*wo)."""
    c = x.shape[0]
    for row in prange(c * kh * kw):
        ci = row // (kh * kw)
        r = row % (kh * kw)
        di = r // kw
        dj = r % kw
        for i in range(ho):
            for j in range(wo):
                cols[row, i * wo + j] = x[ci, i * sh + di, j * sw + dj]


_im2col_k = Kernel(_im2col, 1 << 14, FM)


@jit
def _conv_gemm(w2: Any, cols: Any, out: Any) -> None:
    np.dot(w2, cols, out)


def _as_work(*xs: np.ndarray) -> list[np.ndarray]:
    return [x.astype(np.float32) if x.dtype == np.float16 else x for x in xs]


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    half = a.dtype == np.float16
    a, b = _as_work(a, b)
    a2 = a if a.ndim > 1 else a.reshape(1, -1)
    b2 = b if b.ndim > 1 else b.reshape(-1, 1)
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    m, k = a2.shape[-2:]
    n = b2.shape[-1]
    nb = int(np.prod(batch, dtype=np.int64))
    out = np.empty((nb, m, n), dtype=a.dtype)
    if out.size:
        if k == 0:
            out[...] = 0
        else:
            a3 = contiguous(a2).reshape(-1, m, k)
            b3 = contiguous(b2).reshape(-1, k, n)
            ia = np.broadcast_to(np.arange(a3.shape[0]).reshape(a2.shape[:-2]), batch).reshape(-1).astype(np.int64)
            ib = np.broadcast_to(np.arange(b3.shape[0]).reshape(b2.shape[:-2]), batch).reshape(-1).astype(np.int64)
            _gemm_batch(a3, b3, ia, ib, out)
    shape: tuple[int, ...] = batch + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
    res = out.reshape(shape)
    return res.astype(np.float16) if half else res


def conv(x: np.ndarray, w: np.ndarray, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))) -> np.ndarray:
    from .shape import pad as _pad

    half = x.dtype == np.float16
    x, w = _as_work(x, w)
    (ph0, ph1), (pw0, pw1) = (tuple(p) for p in padding)
    xp = _pad(x, ((0, 0), (0, 0), (ph0, ph1), (pw0, pw1))) if (ph0 or ph1 or pw0 or pw1) else contiguous(x)
    nimg, c, hp, wp = xp.shape
    o, _, kh, kw = w.shape
    sh, sw = strides
    ho = (hp - kh) // sh + 1
    wo = (wp - kw) // sw + 1
    out = np.empty((nimg, o, ho * wo), dtype=x.dtype)
    if out.size:
        if c * kh * kw == 0:
            out[...] = 0
        else:
            w2 = contiguous(w).reshape(o, c * kh * kw)
            cols = np.empty((c * kh * kw, ho * wo), dtype=x.dtype)
            for i in range(nimg):
                _im2col_k(cols.size, xp[i], cols, kh, kw, sh, sw, ho, wo)
                _conv_gemm(w2, cols, out[i])
    res = out.reshape(nimg, o, ho, wo)
    return res.astype(np.float16) if half else res


def _cholesky(a: Any, out: Any) -> int:
    """a, out: (batch, n, n). Returns the batch index of the first non-PD matrix, or -1."""
    nb, n, _ = a.shape
    flags = np.zeros(nb, dtype=np.bool_)
    for b in prange(nb):
        for i in range(n):
            for j in range(n):
                out[b, i, j] = 0
        for j in range(n):
            s = a[b, j, j]
            for k in range(j):
                s -= out[b, j, k] * out[b, j, k]
            if not s > 0:  # also catches NaN
                flags[b] = True
                break
            d = np.sqrt(s)
            out[b, j, j] = d
            inv = 1 / d
            for i in range(j + 1, n):
                t = a[b, i, j]
                for k in range(j):
                    t -= out[b, i, k] * out[b, j, k]
                out[b, i, j] = t * inv
    for b in range(nb):
        if flags[b]:
            return b
    return -1


_cholesky_k = Kernel(_cholesky, 1 << 15, FM_REDUCE)


def cholesky(a: np.ndarray) -> np.ndarray:
    half = a.dtype == np.float16
    (w,) = _as_work(a)
    n = a.shape[-1]
    if a.size == 0:
        return np.zeros(a.shape, dtype=a.dtype)
    a3 = contiguous(w).reshape(-1, n, n)
    out = np.empty(a3.shape, dtype=w.dtype)
    if out.size:
        bad = _cholesky_k(a3.shape[0] * n * n * n // 3, a3, out)
        if bad >= 0:
            raise NotSquareOrNotDefinite("cholesky", "matrix is not positive definite", [a.shape], [a.dtype.name])
    res = out.reshape(a.shape)
    return res.astype(np.float16) if half else res


def _trsolve(a: Any, b: Any, out: Any, lower: bool) -> int:
    nb, n, _ = a.shape
    k = b.shape[2]
    flags = np.zeros(nb, dtype=np.bool_)
    for bi in prange(nb):
        for step in range(n):
            i = step if lower else n - 1 - step
            d = a[bi, i, i]
            if d == 0:
                flags[bi] = True
                break
            for c in range(k):
                out[bi, i, c] = b[bi, i, c]
            if lower:
                for j in range(i):
                    f = a[bi, i, j]
                    for c in range(k):
                        out[bi, i, c] -= f * out[bi, j, c]
            else:
                for j in range(i + 1, n):
                    f = a[bi, i, j]
                    for c in range(k):
                        out[bi, i, c] -= f * out[bi, j, c]
            inv = 1 / d
            for c in range(k):
                out[bi, i, c] *= inv
    for bi in range(nb):
        if flags[bi]:
            return bi
    return -1


_trsolve_k = Kernel(_trsolve, 1 << 15, FM)


def triangular_solve(a: np.ndarray, b: np.ndarray, lower: bool = True) -> np.ndarray:
    half = a.dtype == np.float16
    aw, bw = _as_work(a, b)
    n = a.shape[-1]
    k = b.shape[-1]
    out = np.zeros(bw.shape, dtype=bw.dtype)
    if out.size and n:
        a3 = contiguous(aw).reshape(-1, n, n)
        b3 = contiguous(bw).reshape(-1, n, k)
        o3 = out.reshape(-1, n, k)
        bad = _trsolve_k(a3.shape[0] * n * n * max(k, 1), a3, b3, o3, bool(lower))
        if bad >= 0:
            raise NotSquareOrNotDefinite("triangular_solve", "matrix is singular", [a.shape, b.shape], [a.dtype.name, b.dtype.name])
    return out.astype(np.float16) if half else out
