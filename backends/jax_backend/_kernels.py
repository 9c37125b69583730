"""One ``jax.jit`` function per catalog op, built once when this module is imported.

Each kernel has the op's signature (tensors first, then params); params that change
shapes or control flow (axis, keepdims, shape, window, ...) are static, so jax caches
one executable per (shapes, dtypes, static params). Ops whose errors depend on the
data (take/scatter_add indices, cholesky, triangular_solve) return an extra boolean
flag computed inside the same executable; the backend reads it and raises.

Importing this module enables ``jax_enable_x64`` (float64/int64 tensors stay 64-bit).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  # after x64 is on, so nothing is traced in 32-bit mode
from jax import lax  # noqa: E402

__all__ = ["DTYPES", "KERNELS", "Kernel"]

DTYPES: dict[str, Any] = {
    "bool": jnp.bool_,
    "int8": jnp.int8,
    "int16": jnp.int16,
    "int32": jnp.int32,
    "int64": jnp.int64,
    "uint8": jnp.uint8,
    "float16": jnp.float16,
    "bfloat16": jnp.bfloat16,
    "float32": jnp.float32,
    "float64": jnp.float64,
    "complex64": jnp.complex64,
    "complex128": jnp.complex128,
}

# float32 matmul/conv at full precision on GPUs too (no TF32), as torch does by default
_HIGHEST = lax.Precision.HIGHEST


class Kernel(NamedTuple):
    """A jitted op: the Python function, its static parameter names, and the jitted callable."""

    fn: Callable[..., Any]
    static: tuple[str, ...]
    jitted: Callable[..., Any]


KERNELS: dict[str, Kernel] = {}


def _add(name: str, fn: Callable[..., Any], *static: str) -> None:
    KERNELS[name] = Kernel(fn, static, jax.jit(fn, static_argnames=static) if static else jax.jit(fn))


def _kernel(name: str, *static: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _add(name, fn, *static)
        return fn

    return register


def _is_float(x: Any) -> bool:
    return bool(jnp.issubdtype(x.dtype, jnp.floating))


def _acc(x: Any) -> Any:
    """Accumulator dtype of sum/prod/cumsum: int64 for ints and bool."""
    return None if _is_float(x) else jnp.int64


# -- element-wise ----------------------------------------------------------------------
UNARY: dict[str, Callable[..., Any]] = {
    "abs": jnp.abs,
    "negative": jnp.negative,
    "sign": jnp.sign,  # NaN stays NaN
    "floor": jnp.floor,
    "ceil": jnp.ceil,
    "round": jnp.round,  # half to even
    "sqrt": jnp.sqrt,
    "rsqrt": lax.rsqrt,
    "exp": jnp.exp,
    "expm1": jnp.expm1,
    "log": jnp.log,
    "log1p": jnp.log1p,
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tan": jnp.tan,
    "asin": jnp.arcsin,
    "acos": jnp.arccos,
    "atan": jnp.arctan,
    "sinh": jnp.sinh,
    "cosh": jnp.cosh,
    "tanh": jnp.tanh,
    "erf": lax.erf,
    "sigmoid": jax.nn.sigmoid,
    "isnan": jnp.isnan,
    "isinf": jnp.isinf,
    "bitwise_invert": jnp.invert,
}
BINARY: dict[str, Callable[..., Any]] = {
    "add": jnp.add,
    "subtract": jnp.subtract,
    "multiply": jnp.multiply,
    "divide": jnp.divide,
    "floor_divide": jnp.floor_divide,
    "remainder": jnp.remainder,  # sign of the divisor
    "pow": jnp.power,
    "atan2": jnp.arctan2,
    "maximum": jnp.maximum,  # NaN-propagating
    "minimum": jnp.minimum,
    "equal": jnp.equal,
    "not_equal": jnp.not_equal,
    "less": jnp.less,
    "less_equal": jnp.less_equal,
    "greater": jnp.greater,
    "greater_equal": jnp.greater_equal,
    "logical_and": jnp.logical_and,
    "logical_or": jnp.logical_or,
    "logical_xor": jnp.logical_xor,
    "bitwise_and": jnp.bitwise_and,
    "bitwise_or": jnp.bitwise_or,
    "bitwise_xor": jnp.bitwise_xor,
    "bitwise_left_shift": jnp.left_shift,
    "bitwise_right_shift": jnp.right_shift,  # arithmetic on signed ints
}
for _name, _fn in (UNARY | BINARY).items():
    _add(_name, _fn)


@_kernel("where")
def _where(cond: Any, x: Any, y: Any) -> Any:
    return jnp.where(cond, x, y)


@_kernel("clip", "min", "max")
def _clip(x: Any, min: Any = None, max: Any = None) -> Any:
    if not _is_float(x):  # int bounds (a float would promote), held in the dtype's range (else they wrap)
        info = jnp.iinfo(x.dtype)
        min = None if min is None else builtins.min(builtins.max(int(min), int(info.min)), int(info.max))
        max = None if max is None else builtins.min(builtins.max(int(max), int(info.min)), int(info.max))
    if min is None and max is None:
        return x
    return jnp.clip(x, min, max)


# -- reductions --------------------------------------------------------------------------
@_kernel("sum", "axis", "keepdims")
def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.sum(x, axis=axis, keepdims=keepdims, dtype=_acc(x))


@_kernel("prod", "axis", "keepdims")
def _prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.prod(x, axis=axis, keepdims=keepdims, dtype=_acc(x))


@_kernel("max", "axis", "keepdims")
def _max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.max(x, axis=axis, keepdims=keepdims)


@_kernel("min", "axis", "keepdims")
def _min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.min(x, axis=axis, keepdims=keepdims)


@_kernel("argmax", "axis", "keepdims")
def _argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.argmax(x, axis=axis, keepdims=keepdims).astype(jnp.int64)  # first max; first NaN


@_kernel("argmin", "axis", "keepdims")
def _argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.argmin(x, axis=axis, keepdims=keepdims).astype(jnp.int64)


@_kernel("mean", "axis", "keepdims")
def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.mean(x, axis=axis, keepdims=keepdims)


@_kernel("all", "axis", "keepdims")
def _all(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.all(x, axis=axis, keepdims=keepdims)


@_kernel("any", "axis", "keepdims")
def _any(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return jnp.any(x, axis=axis, keepdims=keepdims)


@_kernel("cumulative_sum", "axis")
def _cumulative_sum(x: Any, axis: int = -1) -> Any:
    return jnp.cumsum(x, axis=axis, dtype=_acc(x))


def _reduce_window(x: Any, init: Any, op: Callable[..., Any], window: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    lead = (1,) * (x.ndim - 2)
    return lax.reduce_window(x, init, op, lead + tuple(window), lead + tuple(strides), "VALID")


@_kernel("window_sum", "window", "strides")
def _window_sum(x: Any, window: tuple[int, ...], strides: tuple[int, ...] = (1, 1)) -> Any:
    return _reduce_window(x, jnp.zeros((), x.dtype), lax.add, window, strides)


@_kernel("window_max", "window", "strides")
def _window_max(x: Any, window: tuple[int, ...], strides: tuple[int, ...] = (1, 1)) -> Any:
    init = jnp.array(-jnp.inf, x.dtype) if _is_float(x) else jnp.array(jnp.iinfo(x.dtype).min, x.dtype)
    return _reduce_window(x, init, lax.max, window, strides)  # NaN-propagating


# -- shape and indexing ------------------------------------------------------------------
@_kernel("reshape", "shape")
def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    return jnp.reshape(x, shape)


@_kernel("permute_dims", "axes")
def _permute_dims(x: Any, axes: tuple[int, ...]) -> Any:
    return jnp.transpose(x, axes)


@_kernel("broadcast_to", "shape")
def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    return jnp.broadcast_to(x, shape)


@_kernel("expand_dims", "axis")
def _expand_dims(x: Any, axis: int = 0) -> Any:
    return jnp.expand_dims(x, axis)


@_kernel("squeeze", "axis")
def _squeeze(x: Any, axis: int) -> Any:
    return jnp.squeeze(x, axis)


@_kernel("slice", "starts", "lengths", "strides")
def _slice(x: Any, starts: tuple[int, ...], lengths: tuple[int, ...], strides: tuple[int, ...] | None = None) -> Any:
    limits = tuple(s + n for s, n in zip(starts, lengths, strict=True))
    return lax.slice(x, starts, limits, strides)


@_kernel("put_slice")
def _put_slice(x: Any, update: Any, starts: tuple[int, ...]) -> Any:
    return lax.dynamic_update_slice(x, update, starts)  # starts traced: one executable for every position


@_kernel("concat", "axis")
def _concat(tensors: list[Any], axis: int = 0) -> Any:
    return jnp.concatenate(tensors, axis=axis)


@_kernel("stack", "axis")
def _stack(tensors: list[Any], axis: int = 0) -> Any:
    return jnp.stack(tensors, axis=axis)


@_kernel("pad", "pad_width")
def _pad(x: Any, pad_width: tuple[tuple[int, int], ...], value: Any = 0) -> Any:
    fill = jnp.asarray(value).astype(x.dtype)  # C cast of the fill value, as NumPy does
    return lax.pad(x, fill, [(lo, hi, 0) for lo, hi in pad_width])


@_kernel("flip", "axis")
def _flip(x: Any, axis: int | None = None) -> Any:
    return jnp.flip(x, axis)


def _normalized(x: Any, indices: Any, axis: int) -> tuple[Any, Any]:
    """Indices mapped into [0, n), and a flag: some index was outside [-n, n)."""
    n = x.shape[axis]
    bad = jnp.any((indices < -n) | (indices >= n))
    return jnp.where(indices < 0, indices + n, indices), bad


@_kernel("take", "axis")
def _take(x: Any, indices: Any, axis: int = 0) -> tuple[Any, Any]:
    idx, bad = _normalized(x, indices, axis)
    return jnp.take(x, idx, axis=axis, mode="clip"), bad


@_kernel("scatter_add", "axis")
def _scatter_add(x: Any, indices: Any, updates: Any, axis: int = 0) -> tuple[Any, Any]:
    idx, bad = _normalized(x, indices, axis)
    where = (slice(None),) * (axis % x.ndim) + (idx,)
    return x.at[where].add(updates, mode="drop"), bad  # duplicates accumulate


@_kernel("astype", "dtype")
def _astype(x: Any, dtype: str) -> Any:
    if _is_float(x) and dtype in _NARROW_INTS:
        # via int64: out-of-range values wrap as NumPy's C cast does (XLA would saturate)
        return x.astype(jnp.int64).astype(DTYPES[dtype])
    return x.astype(DTYPES[dtype])


_NARROW_INTS = frozenset({"int8", "int16", "int32", "uint8"})


# -- linear algebra ------------------------------------------------------------------------
@_kernel("matmul")
def _matmul(a: Any, b: Any) -> Any:
    return jnp.matmul(a, b, precision=_HIGHEST)


@_kernel("conv", "strides", "padding")
def _conv(x: Any, w: Any, strides: tuple[int, ...] = (1, 1), padding: tuple[tuple[int, int], ...] = ((0, 0), (0, 0))) -> Any:
    return lax.conv_general_dilated(x, w, strides, padding, dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=_HIGHEST)


@_kernel("cholesky")
def _cholesky(a: Any) -> tuple[Any, Any]:
    factor = jnp.linalg.cholesky(a)  # NaN where the matrix is not positive definite
    return factor, jnp.all(jnp.isfinite(factor))


@_kernel("triangular_solve", "lower")
def _triangular_solve(a: Any, b: Any, lower: bool = True) -> tuple[Any, Any]:
    singular = jnp.any(jnp.diagonal(a, axis1=-2, axis2=-1) == 0)  # LAPACK trtrs refuses these
    return jax.scipy.linalg.solve_triangular(a, b, lower=lower), singular


# -- ordering -------------------------------------------------------------------------------
@_kernel("sort", "axis", "descending")
def _sort(x: Any, axis: int = -1, descending: bool = False) -> Any:
    return jnp.sort(x, axis=axis, stable=True, descending=descending)  # NaN sorts as the largest


@_kernel("argsort", "axis", "descending")
def _argsort(x: Any, axis: int = -1, descending: bool = False) -> Any:
    return jnp.argsort(x, axis=axis, stable=True, descending=descending).astype(jnp.int64)


@_kernel("top_k", "k")
def _top_k(x: Any, k: int) -> tuple[Any, Any]:
    key = x
    if _is_float(x):
        # XLA's TopK orders by the IEEE total order (-0.0 < 0.0, negative NaNs smallest);
        # canonicalise so ties and NaNs rank as in a stable sort.
        key = jnp.where(jnp.isnan(x), jnp.array(jnp.nan, x.dtype), jnp.where(x == 0, jnp.zeros((), x.dtype), x))
    _, indices = lax.top_k(key, k)  # ties: lower index first
    return jnp.take_along_axis(x, indices, axis=-1), indices.astype(jnp.int64)


# -- fft ---------------------------------------------------------------------------------------
@_kernel("fft", "axis")
def _fft(x: Any, axis: int = -1) -> Any:
    return jnp.fft.fft(x, axis=axis)


@_kernel("ifft", "axis")
def _ifft(x: Any, axis: int = -1) -> Any:
    return jnp.fft.ifft(x, axis=axis)


# -- fused workloads: one executable each, so XLA fuses the element-wise chains -------------------
@_kernel("softmax", "axis")
def _softmax(x: Any, axis: int = -1) -> Any:
    e = jnp.exp(x - jnp.max(x, axis=axis, keepdims=True))
    return e / jnp.sum(e, axis=axis, keepdims=True)


@_kernel("logsumexp", "axis")
def _logsumexp(x: Any, axis: int = -1) -> Any:
    return jax.nn.logsumexp(x, axis=axis)


_SQRT_HALF = 1 / math.sqrt(2)


@_kernel("gelu")
def _gelu(x: Any) -> Any:
    return 0.5 * x * (1 + lax.erf(x * _SQRT_HALF))


@_kernel("layer_norm")
def _layer_norm(x: Any, gamma: Any, beta: Any, eps: float = 1e-5) -> Any:
    mean = jnp.mean(x, axis=-1, keepdims=True)
    centred = x - mean
    var = jnp.mean(centred * centred, axis=-1, keepdims=True)
    return centred * lax.rsqrt(var + eps) * gamma + beta


def _dense_fn(x: Any, w: Any, b: Any) -> Any:
    return jnp.maximum(jnp.matmul(x, w, precision=_HIGHEST) + b, 0)


_add("dense", _dense_fn)


@_kernel("mlp_forward")
def _mlp_forward(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    return jnp.matmul(_dense_fn(x, w1, b1), w2, precision=_HIGHEST) + b2
