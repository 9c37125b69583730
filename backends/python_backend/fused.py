"""Fused workloads: softmax, logsumexp, gelu, layer_norm, dense and mlp_forward.

Each is computed in double from the inputs and rounded once at the end (NumPy rounds
every intermediate to the input dtype), so float32 results are closer to the exact
values than NumPy's.
"""

from __future__ import annotations

import math
from typing import Any

from .._catalog import OPS, TensorInfo
from ._tensor import PyTensor, fit, from_last, lanes
from .elementwise import ieee
from .linalg import matmul_2d
from .reductions import fsum, nan_max

__all__ = ["dense", "gelu", "layer_norm", "logsumexp", "mlp_forward", "softmax"]

_exp = ieee(math.exp, lambda v: math.inf)
_log = ieee(math.log, lambda v: -math.inf if v == 0 else math.nan)
_SQRT1_2 = math.sqrt(0.5)


def _divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a)


def softmax(x: PyTensor, axis: int) -> PyTensor:
    """exp(x - max) / sum(exp(x - max)) along ``axis``."""
    ax = axis % x.ndim
    out: list[float] = []
    for lane in lanes(x, ax):
        if not lane:
            continue
        top = nan_max(lane)
        e = [_exp(v - top) for v in lane]
        total = fsum(e)
        out += [_divide(v, total) for v in e]
    shape_last = (*(d for a, d in enumerate(x.shape) if a != ax), x.shape[ax])
    return PyTensor(fit(x.dtype, from_last(out, shape_last, ax)), x.shape, x.dtype)


def logsumexp(x: PyTensor, axis: int) -> PyTensor:
    """log(sum(exp(x))) along ``axis``, shifted by the (finite) max for stability."""
    out_info = OPS["logsumexp"].infer(TensorInfo(x.shape, x.dtype), axis)
    values: list[float] = []
    for lane in lanes(x, axis % x.ndim):
        if not lane:
            values.append(-math.inf)
            continue
        top = nan_max(lane)
        shift = top if math.isfinite(top) else 0.0
        values.append(_log(fsum([_exp(v - shift) for v in lane])) + shift)
    return PyTensor(fit(x.dtype, values), out_info.shape, x.dtype)


def gelu(x: PyTensor) -> PyTensor:
    """Exact GELU 0.5 * x * (1 + erf(x / sqrt(2)))."""
    erf = math.erf
    return PyTensor(fit(x.dtype, [0.5 * v * (1.0 + erf(v * _SQRT1_2)) for v in x.data]), x.shape, x.dtype)


def layer_norm(x: PyTensor, gamma: PyTensor, beta: PyTensor, eps: float) -> PyTensor:
    """(x - mean) / sqrt(var + eps) * gamma + beta over the last axis."""
    n = x.shape[-1]
    out: list[float] = []
    g, b = gamma.data, beta.data
    for start in range(0, len(x.data), n or 1):
        row = x.data[start : start + n]
        mean = fsum(row) / n
        centred = [v - mean for v in row]
        var = fsum([c * c for c in centred]) / n
        try:
            inv = 1.0 / math.sqrt(var + eps)
        except (ValueError, ZeroDivisionError):  # var + eps <= 0 or NaN: IEEE results
            inv = math.inf if var + eps == 0 else math.nan
        out += [c * inv * gv + bv for c, gv, bv in zip(centred, g, b, strict=True)]
    return PyTensor(fit(x.dtype, out), x.shape, x.dtype)


def _dense_rows(x: list[Any], rows: int, w: PyTensor, b: PyTensor, relu: bool) -> list[float]:
    k, n = w.shape
    values = matmul_2d(x, w.data, rows, k, n)
    bias = b.data * rows
    if relu:
        return [s if s > 0 or s != s else 0.0 for s in map(float.__add__, values, bias)]
    return list(map(float.__add__, values, bias))


def dense(x: PyTensor, w: PyTensor, b: PyTensor) -> PyTensor:
    """relu(x @ w + b)."""
    rows = math.prod(x.shape[:-1])
    shape = (*x.shape[:-1], w.shape[1])
    return PyTensor(fit(x.dtype, _dense_rows(x.data, rows, w, b, relu=True)), shape, x.dtype)


def mlp_forward(x: PyTensor, w1: PyTensor, b1: PyTensor, w2: PyTensor, b2: PyTensor) -> PyTensor:
    """relu(x @ w1 + b1) @ w2 + b2, with the hidden layer kept in double."""
    rows = math.prod(x.shape[:-1])
    hidden = _dense_rows(x.data, rows, w1, b1, relu=True)
    shape = (*x.shape[:-1], w2.shape[1])
    return PyTensor(fit(x.dtype, _dense_rows(hidden, rows, w2, b2, relu=False)), shape, x.dtype)
