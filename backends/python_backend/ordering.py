"""Stable sort, argsort and top_k with NaN ordered as the largest value."""

from __future__ import annotations

from typing import Any

from .._dtypes import FLOAT
from ._tensor import PyTensor, from_last, has_nan, lanes

__all__ = ["argsort", "sort", "top_k"]


def _argsort_lane(lane: list[Any], descending: bool, is_float: bool) -> list[int]:
    """Stable order of ``lane``: NaN last ascending, first descending; ties keep input order."""
    if is_float and has_nan(lane):
        nans = [i for i, v in enumerate(lane) if v != v]
        rest = [i for i, v in enumerate(lane) if v == v]
    else:
        nans, rest = [], list(range(len(lane)))
    # sorted(reverse=True) keeps equal items in input order, which is NumPy's stable descending
    order = sorted(rest, key=lane.__getitem__, reverse=descending)
    return nans + order if descending else order + nans


def _sort_lane(lane: list[Any], descending: bool, is_float: bool) -> list[Any]:
    if is_float and has_nan(lane):
        return [lane[i] for i in _argsort_lane(lane, descending, is_float)]
    return sorted(lane, reverse=descending)


def _along(x: PyTensor, axis: int, results: list[list[Any]], dtype: str) -> PyTensor:
    ax = axis % x.ndim
    shape_last = (*(d for a, d in enumerate(x.shape) if a != ax), x.shape[ax])
    flat = [v for lane in results for v in lane]
    return PyTensor(from_last(flat, shape_last, ax), x.shape, dtype)


def sort(x: PyTensor, axis: int, descending: bool) -> PyTensor:
    """Values sorted along ``axis``."""
    is_float = x.dtype in FLOAT
    return _along(x, axis, [_sort_lane(lane, descending, is_float) for lane in lanes(x, axis % x.ndim)], x.dtype)


def argsort(x: PyTensor, axis: int, descending: bool) -> PyTensor:
    """Indices that sort ``x`` along ``axis`` (int64)."""
    is_float = x.dtype in FLOAT
    return _along(x, axis, [_argsort_lane(lane, descending, is_float) for lane in lanes(x, axis % x.ndim)], "int64")


def top_k(x: PyTensor, k: int) -> tuple[PyTensor, PyTensor]:
    """The k largest along the last axis, descending, and their indices."""
    is_float = x.dtype in FLOAT
    values: list[Any] = []
    indices: list[int] = []
    for lane in lanes(x, x.ndim - 1):
        order = _argsort_lane(lane, True, is_float)[:k]
        indices += order
        values += [lane[i] for i in order]
    shape = (*x.shape[:-1], k)
    return PyTensor(values, shape, x.dtype), PyTensor(indices, shape, "int64")
