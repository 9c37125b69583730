"""matmul, conv, cholesky and triangular_solve in double precision, rounded once.

Dot products are ``sum(map(mul, row, col))``: products of float32 values are exact in
double, so float32 results are as accurate as float32 allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul
from typing import Any

from .._catalog import OPS, TensorInfo, broadcast_shapes
from .._errors import NotSquareOrNotDefinite
from ._tensor import PyTensor, broadcast_list, fit

__all__ = ["cholesky", "conv", "matmul", "matmul_2d", "triangular_solve"]


def matmul_2d(a: Sequence[float], b: Sequence[float], m: int, k: int, n: int) -> list[float]:
    """(m, k) @ (k, n) for flat row-major operands, unrounded doubles."""
    rows = [a[i * k : (i + 1) * k] for i in range(m)]
    cols = [b[j::n] for j in range(n)]
    return [sum(map(mul, row, col), 0.0) for row in rows for col in cols]


def _batch_index(batch: tuple[int, ...], out_batch: tuple[int, ...]) -> list[int]:
    """For each output batch entry, which of the operand's matrices it uses."""
    return broadcast_list(list(range(math.prod(batch))), batch, out_batch)


def matmul(a: PyTensor, b: PyTensor) -> PyTensor:
    """Matrix product with NumPy's 1-D promotion and batch broadcasting."""
    out = OPS["matmul"].infer(TensorInfo(a.shape, a.dtype), TensorInfo(b.shape, b.dtype))
    a_shape = a.shape if a.ndim > 1 else (1, *a.shape)
    b_shape = b.shape if b.ndim > 1 else (*b.shape, 1)
    m, k = a_shape[-2:]
    n = b_shape[-1]
    a_batch, b_batch = a_shape[:-2], b_shape[:-2]
    out_batch = broadcast_shapes("matmul", TensorInfo(a_batch, a.dtype), TensorInfo(b_batch, b.dtype))
    values: list[float] = []
    for ia, ib in zip(_batch_index(a_batch, out_batch), _batch_index(b_batch, out_batch), strict=True):
        values += matmul_2d(a.data[ia * m * k : (ia + 1) * m * k], b.data[ib * k * n : (ib + 1) * k * n], m, k, n)
    return PyTensor(fit(out.dtype, values), out.shape, out.dtype)


def conv(x: PyTensor, w: PyTensor, strides: Sequence[int], padding: Sequence[Sequence[int]]) -> PyTensor:
    """2-D cross-correlation (N, C, H, W) x (O, C, kh, kw) via one patch vector per output pixel."""
    out = OPS["conv"].infer(TensorInfo(x.shape, x.dtype), TensorInfo(w.shape, w.dtype), strides, padding)
    batch, channels, h, width = x.shape
    n_out, _, kh, kw = w.shape
    (top, bottom), (left, right) = (tuple(p) for p in padding)
    sh, sw = strides
    ho, wo = out.shape[2:]
    padded_w = width + left + right
    zero_row = [0.0] * padded_w
    kernels = [w.data[o * channels * kh * kw : (o + 1) * channels * kh * kw] for o in range(n_out)]
    values: list[float] = []
    for b in range(batch):
        # rows[c][r]: row r of channel c, zero-padded on all sides
        rows = []
        for c in range(channels):
            base = (b * channels + c) * h * width
            body = [[0.0] * left + x.data[base + r * width : base + (r + 1) * width] + [0.0] * right for r in range(h)]
            rows.append([zero_row] * top + body + [zero_row] * bottom)
        patches = []
        for i in range(ho):
            r0 = i * sh
            for j in range(wo):
                c0 = j * sw
                patches.append([v for chan in rows for row in chan[r0 : r0 + kh] for v in row[c0 : c0 + kw]])
        for kernel in kernels:
            values += [sum(map(mul, patch, kernel), 0.0) for patch in patches]
    return PyTensor(fit(out.dtype, values), out.shape, out.dtype)


def _matrices(x: PyTensor) -> list[list[list[Any]]]:
    """The (..., r, c) tensor as a list of matrices, each a list of row lists."""
    r, c = x.shape[-2:]
    size = r * c
    return [[x.data[s + i * c : s + (i + 1) * c] for i in range(r)] for s in range(0, len(x.data), size or 1)] if size else []


def _cholesky_2d(a: list[list[float]], x: PyTensor) -> list[float]:
    n = len(a)
    lower = [[0.0] * n for _ in range(n)]
    for j in range(n):
        row_j = lower[j]
        head = row_j[:j]
        d = a[j][j] - sum(map(mul, head, head), 0.0)
        if not d > 0:  # also rejects NaN, as LAPACK's potrf does
            raise NotSquareOrNotDefinite("cholesky", "matrix is not positive definite", [x.shape], [x.dtype])
        d = math.sqrt(d)
        row_j[j] = d
        for i in range(j + 1, n):
            row_i = lower[i]
            row_i[j] = (a[i][j] - sum(map(mul, row_i[:j], head), 0.0)) / d
    return [v for row in lower for v in row]


def cholesky(a: PyTensor) -> PyTensor:
    """Lower Cholesky factor (reads the lower triangle, like NumPy)."""
    values: list[float] = []
    for matrix in _matrices(a):
        values += _cholesky_2d(matrix, a)  # raises before any result is returned
    return PyTensor(fit(a.dtype, values), a.shape, a.dtype)


def triangular_solve(a: PyTensor, b: PyTensor, lower: bool) -> PyTensor:
    """Solve a @ x = b for x, reading only a's lower (or upper) triangle."""
    n, k = b.shape[-2:]
    if not b.data:  # nothing to solve for: no singularity check either (as the NumPy backend)
        return PyTensor([], b.shape, b.dtype)
    mats = _matrices(a)
    if any(m[i][i] == 0 for m in mats for i in range(n)):
        raise NotSquareOrNotDefinite("triangular_solve", "matrix is singular", [a.shape, b.shape], [a.dtype, b.dtype])
    values: list[float] = []
    order = range(n) if lower else range(n - 1, -1, -1)
    for s, mat in zip(range(0, len(b.data), n * k), mats, strict=True):
        rhs = b.data[s : s + n * k]
        solution = [[0.0] * n for _ in range(k)]  # one column of x per entry
        for col in range(k):
            x = solution[col]
            for i in order:
                row = mat[i]
                known = sum(map(mul, row[:i], x[:i]), 0.0) if lower else sum(map(mul, row[i + 1 :], x[i + 1 :]), 0.0)
                x[i] = (rhs[i * k + col] - known) / row[i]
        values += [solution[col][i] for i in range(n) for col in range(k)]
    return PyTensor(fit(b.dtype, values), b.shape, b.dtype)
