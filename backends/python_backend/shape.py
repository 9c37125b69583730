"""Shape and indexing ops: views become strided gathers over the flat data list."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from itertools import chain
from typing import Any

from .._catalog import OPS, TensorInfo
from .._errors import IndexOutOfRange
from ._tensor import PyTensor, broadcast_list, cast, fit, gather, strides_of

__all__ = [
    "astype",
    "broadcast_to",
    "concat",
    "flip",
    "pad",
    "permute_dims",
    "put_slice",
    "reshape",
    "scatter_add",
    "slice_",
    "stack",
    "take",
]


def _info(x: PyTensor) -> TensorInfo:
    return TensorInfo(x.shape, x.dtype)


def reshape(x: PyTensor, shape: Sequence[int]) -> PyTensor:
    """Same data, new shape (the data list is shared: tensors are immutable)."""
    return PyTensor(x.data, OPS["reshape"].infer(_info(x), shape).shape, x.dtype)


def permute_dims(x: PyTensor, axes: Sequence[int]) -> PyTensor:
    """Axes reordered."""
    order = [a % x.ndim for a in axes]
    st = strides_of(x.shape)
    shape = tuple(x.shape[a] for a in order)
    return PyTensor(gather(x.data, 0, shape, [st[a] for a in order]), shape, x.dtype)


def broadcast_to(x: PyTensor, shape: Sequence[int]) -> PyTensor:
    """``x`` materialised at a broadcast shape."""
    target = tuple(shape)
    return PyTensor(broadcast_list(x.data, x.shape, target), target, x.dtype)


def slice_(x: PyTensor, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None) -> PyTensor:
    """Strided window: ``lengths[i]`` elements from ``starts[i]``, every ``strides[i]``-th kept."""
    steps = tuple(strides) if strides is not None else (1,) * x.ndim
    st = strides_of(x.shape)
    shape = tuple((n + s - 1) // s for n, s in zip(lengths, steps, strict=True))
    offset = sum(a * b for a, b in zip(starts, st, strict=True))
    return PyTensor(gather(x.data, offset, shape, [a * b for a, b in zip(st, steps, strict=True)]), shape, x.dtype)


def _write_block(out: list[Any], out_shape: Sequence[int], block: list[Any], block_shape: Sequence[int], starts: Sequence[int]) -> None:
    """Write ``block`` (row-major, ``block_shape``) into ``out`` at ``starts``, one row slice at a time."""
    if not block:
        return
    if not block_shape:
        out[0] = block[0]
        return
    st = strides_of(out_shape)
    offset = sum(a * b for a, b in zip(starts, st, strict=True))
    bases = [offset]
    for d, s in zip(block_shape[:-1], st[:-1], strict=True):
        bases = [b + k * s for b in bases for k in range(d)]
    n = block_shape[-1]
    for j, b in enumerate(bases):
        out[b : b + n] = block[j * n : (j + 1) * n]


def put_slice(x: PyTensor, update: PyTensor, starts: Sequence[int]) -> PyTensor:
    """Copy of ``x`` with ``update`` written at ``starts``."""
    out = list(x.data)
    _write_block(out, x.shape, update.data, update.shape, starts)
    return PyTensor(out, x.shape, x.dtype)


def concat(tensors: Sequence[PyTensor], axis: int) -> PyTensor:
    """Tensors joined along an existing axis."""
    out_info = OPS["concat"].infer([_info(t) for t in tensors], axis)
    ax = axis % tensors[0].ndim
    outer = math.prod(tensors[0].shape[:ax])
    chunks = [math.prod(t.shape[ax:]) for t in tensors]
    data = list(chain.from_iterable(t.data[o * c : (o + 1) * c] for o in range(outer) for t, c in zip(tensors, chunks, strict=True)))
    return PyTensor(data, out_info.shape, out_info.dtype)


def stack(tensors: Sequence[PyTensor], axis: int) -> PyTensor:
    """Same-shape tensors joined along a new axis."""
    out_info = OPS["stack"].infer([_info(t) for t in tensors], axis)
    ax = axis % (tensors[0].ndim + 1)
    outer = math.prod(tensors[0].shape[:ax])
    chunk = math.prod(tensors[0].shape[ax:])
    data = list(chain.from_iterable(t.data[o * chunk : (o + 1) * chunk] for o in range(outer) for t in tensors))
    return PyTensor(data, out_info.shape, out_info.dtype)


def pad(x: PyTensor, pad_width: Sequence[Sequence[int]], value: float) -> PyTensor:
    """Constant padding; ``value`` is cast into x's dtype as NumPy does."""
    pairs = [tuple(p) for p in pad_width]
    shape = tuple(d + b + a for d, (b, a) in zip(x.shape, pairs, strict=True))
    if x.dtype == "bool":
        fill: Any = bool(value)
    else:
        (fill,) = cast([value], "int64" if isinstance(value, int) else "float64", x.dtype)
    out = [fill] * math.prod(shape)
    _write_block(out, shape, x.data, x.shape, [b for b, _ in pairs])
    return PyTensor(out, shape, x.dtype)


def flip(x: PyTensor, axis: int | None) -> PyTensor:
    """Order reversed along one axis, or along all of them."""
    if axis is None:
        return PyTensor(x.data[::-1], x.shape, x.dtype)
    ax = axis % x.ndim
    st = strides_of(x.shape)
    offset = (x.shape[ax] - 1) * st[ax] if x.shape[ax] else 0
    steps = [-s if a == ax else s for a, s in enumerate(st)]
    return PyTensor(gather(x.data, offset, x.shape, steps), x.shape, x.dtype)


def _indices(op: str, x: PyTensor, indices: PyTensor, axis: int, others: Sequence[PyTensor] = ()) -> list[int]:
    """Indices normalised into [0, n); IndexOutOfRange (before any work) when one is outside [-n, n)."""
    n = x.shape[axis]
    idx = indices.data
    if idx and (min(idx) < -n or max(idx) >= n):
        tensors = [x, indices, *others]
        raise IndexOutOfRange(op, f"indices must lie in [-{n}, {n})", [t.shape for t in tensors], [t.dtype for t in tensors])
    return [i + n if i < 0 else i for i in idx]


def take(x: PyTensor, indices: PyTensor, axis: int) -> PyTensor:
    """Entries at 1-D ``indices`` along ``axis``."""
    ax = axis % x.ndim
    idx = _indices("take", x, indices, ax)
    n = x.shape[ax]
    inner = math.prod(x.shape[ax + 1 :])
    outer = math.prod(x.shape[:ax])
    data = x.data
    if inner == 1:
        out = [data[o * n + i] for o in range(outer) for i in idx]
    else:
        out = list(chain.from_iterable(data[(o * n + i) * inner : (o * n + i + 1) * inner] for o in range(outer) for i in idx))
    shape = (*x.shape[:ax], len(idx), *x.shape[ax + 1 :])
    return PyTensor(out, shape, x.dtype)


def scatter_add(x: PyTensor, indices: PyTensor, updates: PyTensor, axis: int) -> PyTensor:
    """Copy of ``x`` with ``updates`` added at ``indices`` along ``axis`` (duplicates accumulate)."""
    ax = axis % x.ndim
    idx = _indices("scatter_add", x, indices, ax, (updates,))
    n, k = x.shape[ax], len(idx)
    inner = math.prod(x.shape[ax + 1 :])
    outer = math.prod(x.shape[:ax])
    out = list(x.data)  # accumulated exactly (ints) or in double (floats), fitted once
    upd = updates.data
    for o in range(outer):
        for j, i in enumerate(idx):
            dst = (o * n + i) * inner
            src = (o * k + j) * inner
            if inner == 1:
                out[dst] += upd[src]
            else:
                out[dst : dst + inner] = map(operator.add, out[dst : dst + inner], upd[src : src + inner])
    return PyTensor(fit(x.dtype, out), x.shape, x.dtype)


def astype(x: PyTensor, dtype: str) -> PyTensor:
    """Converted to ``dtype`` (C casting: float to int truncates, ints wrap)."""
    return PyTensor(cast(x.data, x.dtype, dtype), x.shape, dtype)
