"""Reductions, cumulative sum and 2-D window reductions.

Float sums use ``math.fsum`` (exactly rounded) and round once into the dtype, so a
float32 sum is as accurate as float32 allows; integer sums and products use Python's
unbounded ints and wrap into int64 at the end, which equals NumPy's wrapping
arithmetic modulo 2**64.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from .._catalog import OPS, TensorInfo
from .._dtypes import FLOAT
from ._tensor import PyTensor, fit, from_last, has_nan, lanes, to_last

__all__ = [
    "argmax",
    "argmin",
    "cumulative_sum",
    "fsum",
    "nan_max",
    "nan_min",
    "reduce",
    "window_max",
    "window_sum",
]

Lane = list[Any]
_MASK64 = 2**64 - 1


def fsum(values: Sequence[float]) -> float:
    """Exactly rounded float sum; plain summation where fsum refuses (inf - inf, overflow)."""
    try:
        return math.fsum(values)
    except (ValueError, OverflowError):
        return sum(values, 0.0)


def nan_max(values: Sequence[Any]) -> Any:
    """max() that returns NaN when any element is NaN (max() alone depends on position)."""
    return math.nan if has_nan(values) else max(values)


def nan_min(values: Sequence[Any]) -> Any:
    """min() that returns NaN when any element is NaN."""
    return math.nan if has_nan(values) else min(values)


def _int_prod(values: Lane) -> int:
    product = 1
    for i in range(0, len(values), 32):  # stay small: wrap modulo 2**64 every 32 factors
        product = (product * math.prod(values[i : i + 32])) & _MASK64
    return product


def _first_nan(values: Lane) -> int:
    return next(i for i, v in enumerate(values) if v != v)


def argmax(values: Lane, is_float: bool) -> int:
    """Index of the first maximum, or of the first NaN."""
    if is_float and has_nan(values):
        return _first_nan(values)
    return values.index(max(values))


def argmin(values: Lane, is_float: bool) -> int:
    """Index of the first minimum, or of the first NaN."""
    if is_float and has_nan(values):
        return _first_nan(values)
    return values.index(min(values))


def _mean(values: Lane) -> float:
    return fsum(values) / len(values) if values else math.nan


def _lane_function(name: str, is_float: bool) -> Callable[[Lane], Any]:
    if name == "sum":
        return fsum if is_float else sum
    if name == "prod":
        return (lambda v: math.prod(v, start=1.0)) if is_float else _int_prod
    if name == "max":
        return nan_max if is_float else max
    if name == "min":
        return nan_min if is_float else min
    if name == "argmax":
        return lambda v: argmax(v, is_float)
    if name == "argmin":
        return lambda v: argmin(v, is_float)
    if name == "mean":
        return _mean
    if name == "all":
        return all
    if name == "any":
        return any
    raise KeyError(name)


def reduce(name: str, x: PyTensor, axis: int | None, keepdims: bool) -> PyTensor:
    """Reduction ``name`` over one axis or all of them."""
    out = OPS[name].infer(TensorInfo(x.shape, x.dtype), axis, keepdims)
    fn = _lane_function(name, x.dtype in FLOAT)
    values = [fn(x.data)] if axis is None else [fn(lane) for lane in lanes(x, axis % x.ndim)]
    return PyTensor(fit(out.dtype, values), out.shape, out.dtype)


def cumulative_sum(x: PyTensor, axis: int) -> PyTensor:
    """Running sum along ``axis`` (ints and bool in int64)."""
    out_dtype = OPS["cumulative_sum"].infer(TensorInfo(x.shape, x.dtype), axis).dtype
    ax = axis % x.ndim
    data, shape = to_last(x, ax)
    n = shape[-1]
    if x.dtype == "bool":
        data = list(map(int, data))
    # float32 runs accumulate in double and round once: closer to the exact sums than NumPy
    summed = [v for i in range(0, len(data), n or 1) for v in accumulate(data[i : i + n])]
    return PyTensor(fit(out_dtype, from_last(summed, shape, ax)), x.shape, out_dtype)


def _windows(
    x: PyTensor, window: Sequence[int], strides: Sequence[int], reduce_fn: Callable[[Sequence[Any]], Any]
) -> tuple[list[Any], tuple[int, ...]]:
    """Separable window reduction: along each row first, then down the columns."""
    h, w = x.shape[-2:]
    wh, ww = window
    sh, sw = strides
    ho, wo = (h - wh) // sh + 1, (w - ww) // sw + 1
    out: list[Any] = []
    image = h * w
    for start in range(0, len(x.data), image or 1):
        rows = [x.data[start + r * w : start + (r + 1) * w] for r in range(h)]
        across = [[reduce_fn(row[j * sw : j * sw + ww]) for j in range(wo)] for row in rows]
        for i in range(ho):
            out.extend(map(reduce_fn, zip(*across[i * sh : i * sh + wh], strict=True)))
    return out, (*x.shape[:-2], ho, wo)


def window_sum(x: PyTensor, window: Sequence[int], strides: Sequence[int]) -> PyTensor:
    """Sum over sliding windows of the last two axes."""
    values, shape = _windows(x, window, strides, sum)
    return PyTensor(fit(x.dtype, values), shape, x.dtype)


def window_max(x: PyTensor, window: Sequence[int], strides: Sequence[int]) -> PyTensor:
    """Max over sliding windows of the last two axes (NaN-propagating)."""
    fn: Callable[[Sequence[Any]], Any] = nan_max if x.dtype in FLOAT and has_nan(x.data) else max
    values, shape = _windows(x, window, strides, fn)
    return PyTensor(values, shape, x.dtype)
