"""Shape and indexing ops.

View ops (``reshape``, ``permute_dims``, ``broadcast_to``, ``expand_dims``, ``squeeze``,
``slice``, ``flip``) only change an array's shape/strides metadata, exactly as the numpy
backend does: no data moves, so there is no kernel to write. Kernels that later read such
a view copy it to contiguous memory with a Numba loop (``elementwise.contiguous``).

Copying ops run Numba kernels: ``concat``/``stack`` (row copies), ``pad`` (fill plus
region copy), ``put_slice`` (copy plus region write), ``take`` (gather, with the index
check inside the kernel), ``scatter_add`` (serial, so duplicate indices accumulate
deterministically) and ``astype`` (a cast loop; float16 through float32, since Numba has
no float16 arithmetic on CPU).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import prange

from .._errors import IndexOutOfRange
from ._jit import CHEAP, FM, Kernel, jit
from .elementwise import contiguous

__all__ = ["astype", "concat", "pad", "put_slice", "scatter_add", "stack", "take"]


def _copy_rows(src: Any, dst: Any, col0: int) -> None:
    """dst[:, col0:col0+src.shape[1]] = src (both 2-D, contiguous rows)."""
    rows, cols = src.shape
    for r in prange(rows):
        for c in range(cols):
            dst[r, col0 + c] = src[r, c]


@jit
def _row_offset(row: int, shape: Any, dstrides: Any, off: int) -> int:
    """Flat offset in dst of src's row ``row`` (all axes but the last, C order).

    A function of its own because the row index is divided down in place: inside a
    ``prange`` body numba's parfor pass rejects that as an overwrite of the loop index.
    The int64 casts matter: a parallel loop's index is unsigned, and numba types unsigned
    with signed arithmetic as float64.
    """
    rem = np.int64(row)
    o = np.int64(off)
    for d in range(shape.size - 2, -1, -1):
        k = rem % shape[d]
        rem //= shape[d]
        o += k * dstrides[d]
    return int(o)


def _region(src: Any, shape: Any, dst: Any, dstrides: Any, off: int) -> None:
    """Write contiguous src (C order, ``shape``) into flat dst at ``off`` with ``dstrides``."""
    inner = shape[shape.size - 1]
    rows = src.size // inner
    for r in prange(rows):
        o = _row_offset(r, shape, dstrides, off)
        base = r * inner
        for j in range(inner):
            dst[o + j] = src[base + j]


def _region_add(src: Any, shape: Any, dst: Any, dstrides: Any, off: int) -> None:
    inner = shape[shape.size - 1]
    rows = src.size // inner
    for r in range(rows):
        o = _row_offset(r, shape, dstrides, off)
        base = r * inner
        for j in range(inner):
            dst[o + j] += src[base + j]


def _fill(out: Any, value: Any) -> None:
    for i in prange(out.size):
        out[i] = value[0]


def _copy_flat(src: Any, dst: Any) -> None:
    for i in prange(src.size):
        dst[i] = src[i]


def _take(x: Any, idx: Any, out: Any) -> int:
    """x (outer, n, inner), out (outer, k, inner); returns the first bad index position or -1."""
    outer, n, inner = x.shape
    k = idx.size
    for t in range(k):
        if idx[t] < -n or idx[t] >= n:
            return t
    for p in prange(outer * k):
        o = p // k
        t = p % k
        i = idx[t]
        i = i + n if i < 0 else i
        for j in range(inner):
            out[o, t, j] = x[o, i, j]
    return -1


def _scatter_add(out: Any, idx: Any, upd: Any) -> int:
    outer, n, inner = out.shape
    k = idx.size
    for t in range(k):
        if idx[t] < -n or idx[t] >= n:
            return t
    for o in range(outer):
        for t in range(k):
            i = idx[t]
            i = i + n if i < 0 else i
            for j in range(inner):
                out[o, i, j] += upd[o, t, j]
    return -1


def _cast(src: Any, dst: Any) -> None:
    for i in prange(src.size):
        dst[i] = src[i]


def _cast_bool(src: Any, dst: Any) -> None:
    for i in prange(src.size):
        dst[i] = src[i] != 0


_copy_rows_k = Kernel(_copy_rows, CHEAP, FM)
_region_k = Kernel(_region, CHEAP, FM)
_region_add_k = Kernel(_region_add, 1 << 62, FM)
_fill_k = Kernel(_fill, CHEAP, FM)
_copy_flat_k = Kernel(_copy_flat, CHEAP, FM)
_take_k = Kernel(_take, CHEAP, FM)
_scatter_k = Kernel(_scatter_add, 1 << 62, FM)  # serial: duplicates accumulate in order
_cast_k = Kernel(_cast, CHEAP, FM)
_cast_bool_k = Kernel(_cast_bool, CHEAP, FM)


def index_error(op: str, tensors: Sequence[np.ndarray], bad: int, n: int) -> IndexOutOfRange:
    return IndexOutOfRange(
        op,
        f"index {bad} is out of range (indices must lie in [-n, n), n = {n} on the axis)",
        [t.shape for t in tensors],
        [t.dtype.name for t in tensors],
    )


def _raw(x: np.ndarray) -> np.ndarray:
    """x with a dtype Numba handles: bool as uint8 and float16 as uint16 bits (copies only)."""
    if x.dtype == np.bool_:
        return x.view(np.uint8)
    if x.dtype == np.float16:
        return x.view(np.uint16)
    return x


def _copy(x: np.ndarray) -> np.ndarray:
    xc = contiguous(x)
    out = np.empty(xc.shape, dtype=xc.dtype)
    if out.size:
        _copy_flat_k(out.size, _raw(xc).reshape(-1), _raw(out).reshape(-1))
    return out


def concat(tensors: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
    first = tensors[0]
    ax = axis % first.ndim
    shape = list(first.shape)
    shape[ax] = sum(t.shape[ax] for t in tensors)
    out = np.empty(tuple(shape), dtype=first.dtype)
    if out.size == 0:
        return out
    outer = int(np.prod(shape[:ax], dtype=np.int64))
    dst = _raw(out).reshape(outer, -1)
    col = 0
    for t in tensors:
        if t.size:
            src = _raw(contiguous(t)).reshape(outer, -1)
            _copy_rows_k(src.size, src, dst, col)
        col += t.size // outer if outer else 0
    return out


def stack(tensors: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
    first = tensors[0]
    ax = axis % (first.ndim + 1)
    expanded = [t.reshape((*t.shape[:ax], 1, *t.shape[ax:])) for t in tensors]
    return concat(expanded, ax)


def _write_region(dst: np.ndarray, src: np.ndarray, starts: Sequence[int], add: bool = False) -> None:
    """dst[starts : starts + src.shape] = src, with a Numba kernel (dst contiguous)."""
    if src.size == 0:
        return
    src = contiguous(src)
    strides = np.empty(dst.ndim, dtype=np.int64)
    step = 1
    for d in range(dst.ndim - 1, -1, -1):
        strides[d] = step
        step *= dst.shape[d]
    off = int(sum(s * st for s, st in zip(starts, strides, strict=True)))
    shape = np.asarray(src.shape if src.ndim else (1,), dtype=np.int64)
    if dst.ndim == 0:
        strides = np.ones(1, dtype=np.int64)
    k = _region_add_k if add else _region_k
    k(src.size, _raw(src).reshape(-1), shape, _raw(dst).reshape(-1), strides, off)


def put_slice(x: np.ndarray, update: np.ndarray, starts: Sequence[int]) -> np.ndarray:
    out = _copy(x)
    _write_region(out, update, list(starts))
    return out


def pad(x: np.ndarray, pad_width: Sequence[Sequence[int]], value: float = 0) -> np.ndarray:
    pairs = [tuple(p) for p in pad_width]
    shape = tuple(d + b + a for d, (b, a) in zip(x.shape, pairs, strict=True))
    out = np.empty(shape, dtype=x.dtype)
    if out.size:
        with np.errstate(over="ignore", invalid="ignore"):
            fill = np.asarray([value]).astype(x.dtype)
        _fill_k(out.size, _raw(out).reshape(-1), _raw(fill))
        _write_region(out, x, [b for b, _ in pairs])
    return out


def _split3(x: np.ndarray, axis: int) -> np.ndarray:
    ax = axis % x.ndim
    outer = int(np.prod(x.shape[:ax], dtype=np.int64))
    inner = int(np.prod(x.shape[ax + 1 :], dtype=np.int64))
    return contiguous(x).reshape(outer, x.shape[ax], inner)


def take(x: np.ndarray, indices: np.ndarray, axis: int = 0) -> np.ndarray:
    ax = axis % x.ndim
    out_shape = x.shape[:ax] + indices.shape + x.shape[ax + 1 :]
    out = np.empty(out_shape, dtype=x.dtype)
    x3 = _raw(_split3(x, ax))
    idx = contiguous(indices).astype(np.int64, copy=False)
    out3 = _raw(out).reshape(x3.shape[0], idx.size, x3.shape[2])
    bad = _take_k(out.size, x3, idx, out3) if (x3.size or idx.size) else -1
    if bad >= 0:
        raise index_error("take", (x, indices), int(idx[bad]), x.shape[ax])
    return out


def scatter_add(x: np.ndarray, indices: np.ndarray, updates: np.ndarray, axis: int = 0) -> np.ndarray:
    half = x.dtype == np.float16
    work = x.astype(np.float32) if half else x
    out = _copy(work)
    ax = axis % x.ndim
    out3 = _split3(out, ax)
    idx = contiguous(indices).astype(np.int64, copy=False)
    upd = (
        _split3(updates.astype(np.float32) if half else updates, ax)
        if updates.size
        else np.empty((out3.shape[0], idx.size, out3.shape[2]), out.dtype)
    )
    bad = _scatter_k(1, out3, idx, upd) if idx.size else -1
    if bad >= 0:
        raise index_error("scatter_add", (x, indices, updates), int(idx[bad]), x.shape[ax])
    return out.astype(np.float16) if half else out


def astype(x: np.ndarray, dtype: str) -> np.ndarray:
    target = np.dtype(dtype)
    src = contiguous(x)
    if src.dtype == np.float16:  # Numba has no float16: widen (exact), then cast
        src = src.astype(np.float32)
    if target == np.float16:
        mid = astype(src, "float32") if src.dtype != np.float32 else src
        return mid.astype(np.float16)
    out = np.empty(src.shape, dtype=target)
    if out.size:
        s = src.view(np.uint8) if src.dtype == np.bool_ else src
        if target == np.bool_:
            _cast_bool_k(out.size, s.reshape(-1), out.reshape(-1))
        else:
            _cast_k(out.size, s.reshape(-1), out.reshape(-1))
    return out
