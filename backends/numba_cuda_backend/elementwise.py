"""Element-wise kernels: unary, binary, ``where`` and ``clip``, with NumPy broadcasting.

Two launch shapes per op: inputs of the output's shape run a flat grid-stride loop (every
access coalesced: the case the 1e8 benchmarks time); anything broadcast runs the general
kernel, which unravels each output index over the output shape and gathers each input
through its broadcast strides (0 along broadcast axes). Arrays are C-contiguous device
arrays (the backend makes no strided views).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import cuda

from . import _device
from ._launch import TPB, empty, flat, grid

__all__ = ["apply", "binary", "cast_fn", "clip", "unary", "where"]


def _broadcast_strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """Element strides of a C-contiguous array of ``shape`` read as ``out_shape`` (0 where broadcast)."""
    strides = [0] * len(out_shape)
    step = 1
    for k in range(1, len(shape) + 1):
        if shape[-k] != 1:
            strides[-k] = step
        step *= shape[-k]
    return np.asarray(strides, dtype=np.int64)


@functools.cache
def _flat_kernel(fn: Callable[..., Any], arity: int) -> Any:
    if arity == 1:

        @cuda.jit
        def k1(x, out):
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = fn(x[i])

        return k1
    if arity == 2:

        @cuda.jit
        def k2(x, y, out):
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                out[i] = fn(x[i], y[i])

        return k2

    @cuda.jit
    def k3(c, x, y, out):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = fn(c[i], x[i], y[i])

    return k3


@functools.cache
def _general_kernel(fn: Callable[..., Any], arity: int) -> Any:
    if arity == 2:

        @cuda.jit
        def g2(x, y, out, shape, sx, sy):
            for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
                rem = i
                ox = 0
                oy = 0
                for d in range(shape.size - 1, -1, -1):
                    c = rem % shape[d]
                    rem //= shape[d]
                    ox += c * sx[d]
                    oy += c * sy[d]
                out[i] = fn(x[ox], y[oy])

        return g2

    @cuda.jit
    def g3(c, x, y, out, shape, sc, sx, sy):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            rem = i
            oc = 0
            ox = 0
            oy = 0
            for d in range(shape.size - 1, -1, -1):
                k = rem % shape[d]
                rem //= shape[d]
                oc += k * sc[d]
                ox += k * sx[d]
                oy += k * sy[d]
            out[i] = fn(c[oc], x[ox], y[oy])

    return g3


def apply(fn: Callable[..., Any], inputs: list[Any], out_shape: tuple[int, ...], out_dtype: str) -> Any:
    """``fn`` (a device function) applied element-wise to ``inputs``, broadcast to ``out_shape``."""
    out = empty(out_shape, out_dtype)
    n = math.prod(out_shape)
    if n == 0:
        return out
    blocks = grid(n)
    if all(tuple(a.shape) == out_shape for a in inputs):
        _flat_kernel(fn, len(inputs))[blocks, TPB](*(flat(a) for a in inputs), flat(out))
        return out
    if len(inputs) == 1:  # a unary op never broadcasts; kept for a clear failure
        raise AssertionError("unary inputs have the output's shape")
    shape = cuda.to_device(np.asarray(out_shape if out_shape else (1,), dtype=np.int64))
    dims = out_shape if out_shape else (1,)
    strides = [cuda.to_device(_broadcast_strides(tuple(a.shape), dims)) for a in inputs]
    _general_kernel(fn, len(inputs))[blocks, TPB](*(flat(a) for a in inputs), flat(out), shape, *strides)
    return out


def unary(op: str, x: Any, out_dtype: str) -> Any:
    """Unary ``op`` on device array ``x``."""
    return apply(_device.unary(op, np.dtype(x.dtype).name), [x], tuple(x.shape), out_dtype)


def binary(op: str, x: Any, y: Any, out_shape: tuple[int, ...], out_dtype: str) -> Any:
    """Binary ``op`` on device arrays of one dtype, broadcast to ``out_shape``."""
    return apply(_device.binary(op, np.dtype(x.dtype).name), [x, y], out_shape, out_dtype)


@functools.cache
def _select() -> Callable[..., Any]:
    return cuda.jit(device=True)(lambda c, a, b: a if c else b)


def where(cond: Any, x: Any, y: Any, out_shape: tuple[int, ...], out_dtype: str) -> Any:
    """``x`` where ``cond`` else ``y``, broadcast."""
    return apply(_select(), [cond, x, y], out_shape, out_dtype)


@functools.cache
def _clip_fn(dtype_name: str, lo: float | None, hi: float | None) -> Callable[..., Any]:
    # the bounds are compile-time constants of their kernel: clip is called with few distinct ones
    # float16 compares in float32 (NVVM rejects the half-precision IR numba emits for these
    # comparisons); the result is one of v, low, high, so storing it back as float16 is exact
    t = np.float32 if dtype_name == "float16" else np.dtype(dtype_name).type
    has_lo, has_hi = lo is not None, hi is not None
    low, high = t(lo if has_lo else 0), t(hi if has_hi else 0)

    def clip_one(v):
        v = t(v)
        if has_lo and not (v >= low or v != v):  # NaN propagates, as np.maximum
            v = low
        if has_hi and not (v <= high or v != v):
            v = high
        return v

    return cuda.jit(device=True)(clip_one)


def clip(x: Any, lo: float | None, hi: float | None, out_dtype: str) -> Any:
    """``x`` clipped to ``[lo, hi]`` (either bound may be None)."""
    return apply(_clip_fn(np.dtype(x.dtype).name, lo, hi), [x], tuple(x.shape), out_dtype)


@functools.cache
def cast_fn(dtype_name: str) -> Callable[..., Any]:
    """The device function converting one element to ``dtype_name`` (bool: nonzero)."""
    t = np.dtype(dtype_name).type
    if dtype_name == "uint8":
        return cuda.jit(device=True)(lambda v: t(1) if v else t(0))
    return cuda.jit(device=True)(lambda v: t(v))
