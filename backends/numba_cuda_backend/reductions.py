"""Reductions: sum, prod, max, min, mean, all, any, argmax, argmin over one axis or all.

An array is seen as (outer, n, inner) around the reduced axis; each of the outer*inner
rows is reduced by ``parts`` blocks (one when there are many rows, up to ~1024 for one long
row so a full reduction of 1e8 elements fills the GPU). Each block's threads accumulate
a strided share of the row, then combine in shared memory by halving; a second launch of
the same kernel reduces the parts of each row when there is more than one. Along an inner
axis (``inner > 1``) neighbouring threads read elements ``inner`` apart: correct, not
coalesced (the benchmarks time full and last-axis reductions).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import cuda

from ..numba_backend import _scalar as S
from ._launch import TPB, block_row, empty, flat, parts_per_row, split_axis

__all__ = ["arg_extreme", "reduce"]

# op -> (combine, identity for the accumulator dtype)
_COMBINE: dict[str, Callable[[Any], Callable[..., Any]]] = {
    "sum": lambda dt: lambda a, b: a + b,
    "prod": lambda dt: lambda a, b: a * b,
    "max": lambda dt: S._max_impl(_nb(dt), _nb(dt)),
    "min": lambda dt: S._min_impl(_nb(dt), _nb(dt)),
    "any": lambda dt: lambda a, b: a or b,
    "all": lambda dt: lambda a, b: a and b,
}


def _nb(dtype: np.dtype) -> Any:
    from numba.np.numpy_support import from_dtype

    return from_dtype(dtype)


def _identity(op: str, dtype: np.dtype) -> Any:
    t = dtype.type
    if op in ("sum", "mean"):
        return t(0)
    if op == "prod":
        return t(1)
    if op == "any":
        return t(False)
    if op == "all":
        return t(True)
    if dtype.kind == "f":
        return t(-np.inf) if op == "max" else t(np.inf)
    info = np.iinfo(dtype)
    return t(info.min) if op == "max" else t(info.max)


@functools.cache
def _kernel(op: str, in_name: str, acc_name: str) -> Any:
    acc = np.dtype(acc_name)
    acc_t = acc.type
    combine = cuda.jit(device=True)(_COMBINE[op](acc))
    load = cuda.jit(device=True)((lambda v: v != 0) if acc.kind == "b" else (lambda v: acc_t(v)))
    shared_dtype = np.uint8 if acc.kind == "b" else acc_t  # shared arrays of bool: stored as bytes

    @cuda.jit
    def reduce_rows(x, out, n, inner, parts, init):
        b = cuda.blockIdx.x
        t = cuda.threadIdx.x
        _row, part, base = block_row(parts, n, inner)
        a = init
        j = part * TPB + t
        while j < n:
            a = combine(a, load(x[base + j * inner]))
            j += parts * TPB
        sh = cuda.shared.array(TPB, shared_dtype)
        sh[t] = a
        cuda.syncthreads()
        s = TPB // 2
        while s > 0:
            if t < s:
                sh[t] = combine(sh[t], sh[t + s])
            cuda.syncthreads()
            s //= 2
        if t == 0:
            out[b] = sh[0]

    return reduce_rows


def reduce(op: str, x: Any, axis: int | None, out_shape: tuple[int, ...], out_dtype: str) -> Any:
    """``op`` (sum, prod, max, min, mean, all, any) of ``x`` over ``axis`` (None: all)."""
    if np.dtype(out_dtype) == np.float16:  # accumulate in float32, round once at the end
        from .elementwise import apply, cast_fn

        wide = reduce(op, x, axis, out_shape, "float32")
        return apply(cast_fn("float16"), [wide], out_shape, "float16")
    outer, n, inner = split_axis(tuple(x.shape), axis)
    rows = outer * inner
    acc = np.dtype(out_dtype)
    combine_op = "sum" if op == "mean" else op
    out = empty(out_shape, out_dtype)
    if rows == 0:
        return out
    init = _identity(combine_op, acc)
    parts = parts_per_row(rows, n)
    src = flat(x)
    if parts > 1:
        partial = empty((rows * parts,), out_dtype)
        _kernel(combine_op, np.dtype(x.dtype).name, acc.name)[rows * parts, TPB](src, partial, n, inner, parts, init)
        _kernel(combine_op, acc.name, acc.name)[rows, TPB](partial, flat(out), parts, 1, 1, init)
    else:
        _kernel(combine_op, np.dtype(x.dtype).name, acc.name)[rows, TPB](src, flat(out), n, inner, 1, init)
    if op == "mean":
        _scale_kernel(acc.name)[max(1, math.ceil(rows / TPB)), TPB](flat(out), acc.type(1.0 / n) if n else acc.type(np.nan))
    return out


@functools.cache
def _scale_kernel(name: str) -> Any:
    @cuda.jit
    def scale(out, factor):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = out[i] * factor

    return scale


@functools.cache
def _arg_kernel(name: str, largest: bool) -> Any:
    dtype = np.dtype(name)
    scalar = dtype.type  # the element type of the shared arrays (a NumPy scalar type, as numba's examples)
    is_float = dtype.kind == "f"

    @cuda.jit(device=True)
    def better(v, i, w, j):
        """(v, i) wins over (w, j): the first NaN, else the extreme value, ties to the lower index."""
        if is_float and v != v:
            return w == w or i < j
        if is_float and w != w:
            return False
        if largest:
            return v > w or (v == w and i < j)
        return v < w or (v == w and i < j)

    @cuda.jit
    def arg_rows(x, idx_in, out_v, out_i, n, inner, parts, init):
        b = cuda.blockIdx.x
        t = cuda.threadIdx.x
        _row, part, base = block_row(parts, n, inner)
        v = init
        vi = np.int64(n)  # past the end: loses every tie
        j = part * TPB + t
        while j < n:
            w = x[base + j * inner]
            wi = idx_in[base + j * inner] if idx_in.size > 0 else np.int64(j)
            if better(w, wi, v, vi):
                v = w
                vi = wi
            j += parts * TPB
        sv = cuda.shared.array(TPB, scalar)
        si = cuda.shared.array(TPB, np.int64)
        sv[t] = v
        si[t] = vi
        cuda.syncthreads()
        s = TPB // 2
        while s > 0:
            if t < s and better(sv[t + s], si[t + s], sv[t], si[t]):
                sv[t] = sv[t + s]
                si[t] = si[t + s]
            cuda.syncthreads()
            s //= 2
        if t == 0:
            out_v[b] = sv[0]
            out_i[b] = si[0]

    return arg_rows


def arg_extreme(x: Any, axis: int | None, out_shape: tuple[int, ...], largest: bool) -> Any:
    """argmax (``largest``) or argmin of ``x`` over ``axis`` (None: the flat index)."""
    outer, n, inner = split_axis(tuple(x.shape), axis)
    rows = outer * inner
    dtype = np.dtype(x.dtype)
    out = empty(out_shape, "int64")
    if rows == 0:
        return out
    if dtype.kind == "b" or dtype == np.float16:  # no bool or float16 shared arrays: compare as uint8 / float32
        from .elementwise import apply, cast_fn

        wide = "uint8" if dtype.kind == "b" else "float32"
        x = apply(cast_fn(wide), [x], tuple(x.shape), wide)
        dtype = np.dtype(wide)
    init = _identity("max" if largest else "min", dtype)  # the identity of max is the worst value for argmax
    parts = parts_per_row(rows, n)
    kernel = _arg_kernel(dtype.name, largest)
    no_idx = empty((0,), "int64")
    if parts > 1:
        pv, pi = empty((rows * parts,), dtype.name), empty((rows * parts,), "int64")
        kernel[rows * parts, TPB](flat(x), no_idx, pv, pi, n, inner, parts, init)
        values = empty((rows,), dtype.name)
        kernel[rows, TPB](pv, pi, values, flat(out), parts, 1, 1, init)
    else:
        values = empty((rows,), dtype.name)
        kernel[rows, TPB](flat(x), no_idx, values, flat(out), n, inner, 1, init)
    return out
