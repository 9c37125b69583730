"""Ordering: stable sort, argsort and top_k with a bottom-up merge sort on indices.

The comparison orders NaN as the largest value (after +inf), as the catalog requires;
descending order flips the comparison (NaN first) and stays stable (ties keep input
order). Rows are sorted in parallel (one row per task) above a size threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._jit import CHEAP, FM, Kernel, jit
from .elementwise import contiguous

__all__ = ["argsort", "sort", "top_k"]


@jit
def _before(a: Any, b: Any, desc: bool) -> bool:
    """Strictly before: a < b (ascending) or a > b (descending), NaN the largest."""
    if desc:
        a, b = b, a
    if b != b:
        return a == a
    return a < b


@jit
def _argsort_row(v: Any, idx: Any, tmp: Any, desc: bool) -> None:
    n = v.size
    for i in range(n):
        idx[i] = i
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if _before(v[idx[j]], v[idx[i]], desc):
                    tmp[k] = idx[j]
                    j += 1
                else:
                    tmp[k] = idx[i]
                    i += 1
                k += 1
            while i < mid:
                tmp[k] = idx[i]
                i += 1
                k += 1
            while j < hi:
                tmp[k] = idx[j]
                j += 1
                k += 1
        for t in range(n):
            idx[t] = tmp[t]
        width *= 2


def _argsort_rows(x: Any, out: Any, desc: bool) -> None:
    rows, n = x.shape
    for r in prange(rows):
        tmp = np.empty(n, dtype=np.int64)
        _argsort_row(x[r], out[r], tmp, desc)


def _gather_rows(x: Any, idx: Any, out: Any) -> None:
    rows, k = out.shape
    for r in prange(rows):
        for j in range(k):
            out[r, j] = x[r, idx[r, j]]


_argsort_k = Kernel(_argsort_rows, 1 << 12, FM)
_gather_k = Kernel(_gather_rows, CHEAP, FM)


def _rows(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """x with ``axis`` moved last, as contiguous (rows, n)."""
    ax = axis % x.ndim
    moved = np.moveaxis(x, ax, -1)
    return contiguous(moved).reshape(-1, x.shape[ax]), ax


def _back(res: np.ndarray, x: np.ndarray, ax: int, k: int | None = None) -> np.ndarray:
    shape = list(np.moveaxis(x, ax, -1).shape)
    if k is not None:
        shape[-1] = k
    return np.moveaxis(res.reshape(shape), -1, ax)


def _work(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


def argsort(x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
    if x.ndim == 0 or x.size == 0:
        return np.zeros(x.shape, dtype=np.int64)
    rows, ax = _rows(_work(x), axis)
    out = np.empty(rows.shape, dtype=np.int64)
    if out.size:
        _argsort_k(out.size, rows, out, bool(descending))
    return contiguous(_back(out, x, ax))


def sort(x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
    if x.ndim == 0 or x.size == 0:
        return x.copy()
    rows, ax = _rows(x, axis)
    idx = np.empty(rows.shape, dtype=np.int64)
    out = np.empty(rows.shape, dtype=x.dtype)
    if out.size:
        _argsort_k(out.size, _work(rows), idx, bool(descending))
        src = rows.view(np.uint16) if x.dtype == np.float16 else rows
        _gather_k(out.size, src, idx, out.view(np.uint16) if x.dtype == np.float16 else out)
    return contiguous(_back(out, x, ax))


def top_k(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if x.size == 0:
        shape = (*x.shape[:-1], k)
        return np.empty(shape, dtype=x.dtype), np.empty(shape, dtype=np.int64)
    rows, _ = _rows(_work(x), -1)
    idx = np.empty(rows.shape, dtype=np.int64)
    if idx.size:
        _argsort_k(idx.size, rows, idx, True)
    top = contiguous(idx[:, :k]) if k < rows.shape[1] else idx
    vals = np.empty(top.shape, dtype=x.dtype)
    if vals.size:
        src = contiguous(x).reshape(rows.shape)
        if x.dtype == np.float16:
            _gather_k(vals.size, src.view(np.uint16), top, vals.view(np.uint16))
        else:
            _gather_k(vals.size, src, top, vals)
    shape = (*x.shape[:-1], k)
    return vals.reshape(shape), top.reshape(shape)
