"""Reference results for every catalog op, computed with NumPy in float64 (exact for ints).

This module is the yardstick of the conformance suite. It deliberately does not import
``backends.numpy_backend``: the NumPy backend is checked against it like every other
backend. Each function takes the op's NumPy inputs (any dtype) and parameters and
returns the mathematically expected result: floats in float64, complex in complex128,
integers in int64 (exact for the small test values; casting to the op's output dtype
then wraps as C and NumPy do), bools as bool. :func:`expected` casts it to the dtype the
catalog infers, and :func:`assert_matches` compares a backend's output with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["EXACT_OPS", "REFERENCE", "RTOL", "assert_matches", "expected", "up"]

Array = np.ndarray
REFERENCE: dict[str, Callable[..., Any]] = {}

#: relative tolerance per output dtype (applied to |expected| + scale, see assert_matches)
RTOL = {
    "float16": 2e-3,
    "bfloat16": 1.6e-2,
    "float32": 2e-5,
    "float64": 1e-11,
    "complex64": 2e-5,
    "complex128": 1e-11,
}

#: ops whose results are exact copies/selections of input values: compared bit for bit (NaN == NaN)
EXACT_OPS = frozenset(
    {
        "reshape",
        "permute_dims",
        "broadcast_to",
        "expand_dims",
        "squeeze",
        "slice",
        "put_slice",
        "concat",
        "stack",
        "pad",
        "flip",
        "take",
        "astype",
        "sort",
        "argsort",
        "top_k",
        "max",
        "min",
        "argmax",
        "argmin",
        "window_max",
        "maximum",
        "minimum",
        "where",
        "clip",
        "abs",
        "negative",
        "floor",
        "ceil",
        "round",
        "sign",
        "full",
        "eye",
    }
)


def up(a: Any) -> Array:
    """Widen to the exact computation type: float64, complex128, int64 (bool stays bool)."""
    a = np.asarray(a)
    kind = a.dtype.kind
    if kind == "f":
        return a.astype(np.float64)
    if kind == "c":
        return a.astype(np.complex128)
    if kind in "iu":
        return a.astype(np.int64)
    return a


def _ref(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        REFERENCE[name] = fn
        return fn

    return register


def _is_float(a: Array) -> bool:
    return np.asarray(a).dtype.kind == "f"


# ---------------------------------------------------------------------------
# creation


@_ref("arange")
def arange(start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> Array:
    if stop is None:
        start, stop = 0, start
    n = max(0, math.ceil((stop - start) / step))
    if all(isinstance(v, int) for v in (start, stop, step)) and (dtype is None or "int" in dtype):
        return np.array([start + i * step for i in range(n)], dtype=np.int64)
    return np.array([start + i * step for i in range(n)], dtype=np.float64)


@_ref("full")
def full(shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> Array:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return np.full(shape, fill_value)


@_ref("eye")
def eye(n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> Array:
    cols = n_rows if n_cols is None else n_cols
    out = np.zeros((n_rows, cols), dtype=np.int64)
    for i in range(n_rows):
        if 0 <= i + k < cols:
            out[i, i + k] = 1
    return out


# ---------------------------------------------------------------------------
# element-wise unary


def _erf(x: Array) -> Array:
    flat = [math.erf(v) for v in x.ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(x.shape)


def _float_or_identity(fn: Callable[[Array], Array]) -> Callable[[Array], Array]:
    """Rounding ops: identity on integers."""

    def op(x: Array) -> Array:
        return fn(up(x)) if _is_float(x) else up(x)

    return op


def _plain(fn: Callable[..., Array]) -> Callable[..., Array]:
    def op(*xs: Array) -> Array:
        with np.errstate(all="ignore"):
            return fn(*(up(x) for x in xs))

    return op


REFERENCE.update(
    {
        "abs": _plain(np.abs),
        "negative": _plain(np.negative),
        "sign": _plain(np.sign),
        "floor": _float_or_identity(np.floor),
        "ceil": _float_or_identity(np.ceil),
        "round": _float_or_identity(np.round),  # NumPy rounds half to even
        "sqrt": _plain(np.sqrt),
        "rsqrt": _plain(lambda x: 1.0 / np.sqrt(x)),
        "exp": _plain(np.exp),
        "expm1": _plain(np.expm1),
        "log": _plain(np.log),
        "log1p": _plain(np.log1p),
        "sin": _plain(np.sin),
        "cos": _plain(np.cos),
        "tan": _plain(np.tan),
        "asin": _plain(np.arcsin),
        "acos": _plain(np.arccos),
        "atan": _plain(np.arctan),
        "sinh": _plain(np.sinh),
        "cosh": _plain(np.cosh),
        "tanh": _plain(np.tanh),
        "erf": _plain(_erf),
        "sigmoid": _plain(lambda x: 1.0 / (1.0 + np.exp(-x))),
        "isnan": _plain(np.isnan),
        "isinf": _plain(np.isinf),
        "bitwise_invert": _plain(np.invert),  # logical NOT on bool
        # binary
        "add": _plain(np.add),
        "subtract": _plain(np.subtract),
        "multiply": _plain(np.multiply),
        "divide": _plain(np.divide),
        "floor_divide": _plain(np.floor_divide),
        "remainder": _plain(np.remainder),
        "pow": _plain(np.power),
        "atan2": _plain(np.arctan2),
        "maximum": _plain(np.maximum),  # NaN-propagating
        "minimum": _plain(np.minimum),
        "equal": _plain(np.equal),
        "not_equal": _plain(np.not_equal),
        "less": _plain(np.less),
        "less_equal": _plain(np.less_equal),
        "greater": _plain(np.greater),
        "greater_equal": _plain(np.greater_equal),
        "logical_and": _plain(np.logical_and),
        "logical_or": _plain(np.logical_or),
        "logical_xor": _plain(np.logical_xor),
        "bitwise_and": _plain(np.bitwise_and),
        "bitwise_or": _plain(np.bitwise_or),
        "bitwise_xor": _plain(np.bitwise_xor),
        # exact in int64: casting to int32 afterwards keeps the low 32 bits, as an int32 shift does
        "bitwise_left_shift": _plain(np.left_shift),
        "bitwise_right_shift": _plain(np.right_shift),  # arithmetic on signed ints
    }
)

# ---------------------------------------------------------------------------
# selection


@_ref("where")
def where(cond: Array, x: Array, y: Array) -> Array:
    return np.where(cond, up(x), up(y))


@_ref("clip")
def clip(x: Array, min: float | None = None, max: float | None = None) -> Array:  # noqa: A002  # catalog parameter names
    out = up(x)
    if min is not None:
        out = np.maximum(out, min)  # NaN propagates
    if max is not None:
        out = np.minimum(out, max)
    return out


# ---------------------------------------------------------------------------
# reductions


def _reduce(fn: Callable[..., Any]) -> Callable[..., Array]:
    def op(x: Array, axis: int | None = None, keepdims: bool = False) -> Array:
        with np.errstate(all="ignore"):
            return np.asarray(fn(up(x), axis=axis, keepdims=keepdims))

    return op


def _mean(x: Array, axis: Any = None, keepdims: bool = False) -> Any:
    n = x.size if axis is None else x.shape[axis]
    total = np.sum(x, axis=axis, keepdims=keepdims)
    return total / n if n else total * np.nan


def _first_arg(pick_max: bool) -> Callable[..., Array]:
    """Index of the first extreme (first NaN if any) along an axis, flattened when axis is None."""

    def first_index(row: Array) -> int:
        values = row.tolist()
        for i, v in enumerate(values):
            if v != v:  # NaN
                return i
        best = max(values) if pick_max else min(values)
        return values.index(best)

    def op(x: Array, axis: int | None = None, keepdims: bool = False) -> Array:
        x = up(x)
        if axis is None:
            out = np.array(first_index(x.ravel()), dtype=np.int64)
            return out.reshape((1,) * x.ndim) if keepdims else out
        moved = np.moveaxis(x, axis, -1)
        flat = moved.reshape(-1, moved.shape[-1])
        out = np.array([first_index(r) for r in flat], dtype=np.int64).reshape(moved.shape[:-1])
        return np.expand_dims(out, axis) if keepdims else out

    return op


REFERENCE.update(
    {
        "sum": _reduce(np.sum),  # bool sums count (int64)
        "prod": _reduce(np.prod),
        "max": _reduce(np.max),  # NaN-propagating
        "min": _reduce(np.min),
        "argmax": _first_arg(True),
        "argmin": _first_arg(False),
        "mean": _reduce(_mean),
        "all": _reduce(np.all),
        "any": _reduce(np.any),
    }
)


@_ref("cumulative_sum")
def cumulative_sum(x: Array, axis: int = -1) -> Array:
    x = up(x)
    return np.cumsum(x.astype(np.int64) if x.dtype == np.bool_ else x, axis=axis)


def _window(reduce: Callable[..., Any]) -> Callable[..., Array]:
    def op(x: Array, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> Array:
        x = up(x)
        (wh, ww), (sh, sw) = tuple(window), tuple(strides)
        h, w = x.shape[-2:]
        oh, ow = (h - wh) // sh + 1, (w - ww) // sw + 1
        out = np.empty((*x.shape[:-2], oh, ow), dtype=x.dtype)
        for i in range(oh):
            for j in range(ow):
                out[..., i, j] = reduce(x[..., i * sh : i * sh + wh, j * sw : j * sw + ww], axis=(-2, -1))
        return out

    return op


REFERENCE["window_sum"] = _window(np.sum)
REFERENCE["window_max"] = _window(np.max)

# ---------------------------------------------------------------------------
# shape and indexing (values are copied, so no widening)


@_ref("reshape")
def reshape(x: Array, shape: Sequence[int]) -> Array:
    return np.reshape(x, tuple(shape))


@_ref("permute_dims")
def permute_dims(x: Array, axes: Sequence[int]) -> Array:
    return np.transpose(x, tuple(axes))


@_ref("broadcast_to")
def broadcast_to(x: Array, shape: Sequence[int]) -> Array:
    return np.broadcast_to(x, tuple(shape))


@_ref("expand_dims")
def expand_dims(x: Array, axis: int = 0) -> Array:
    return np.expand_dims(x, axis)


@_ref("squeeze")
def squeeze(x: Array, axis: int) -> Array:
    return np.squeeze(x, axis)


@_ref("slice")
def slice_(x: Array, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> Array:
    strides = strides or (1,) * x.ndim
    return x[tuple(slice(s, s + n, st) for s, n, st in zip(starts, lengths, strides, strict=True))]


@_ref("put_slice")
def put_slice(x: Array, update: Array, starts: Sequence[int]) -> Array:
    out = x.copy()
    out[tuple(slice(s, s + n) for s, n in zip(starts, update.shape, strict=True))] = update
    return out


@_ref("concat")
def concat(xs: Sequence[Array], axis: int = 0) -> Array:
    return np.concatenate(list(xs), axis=axis)


@_ref("stack")
def stack(xs: Sequence[Array], axis: int = 0) -> Array:
    return np.stack(list(xs), axis=axis)


@_ref("pad")
def pad(x: Array, pad_width: Sequence[Sequence[int]], value: float = 0) -> Array:
    out = np.full(tuple(d + b + a for d, (b, a) in zip(x.shape, pad_width, strict=True)), value, dtype=x.dtype)
    out[tuple(slice(b, b + d) for d, (b, _a) in zip(x.shape, pad_width, strict=True))] = x
    return out


@_ref("flip")
def flip(x: Array, axis: int | None = None) -> Array:
    return np.flip(x, axis)


@_ref("take")
def take(x: Array, indices: Array, axis: int = 0) -> Array:
    n = x.shape[axis]
    idx = [int(i) + n if i < 0 else int(i) for i in indices.tolist()]
    return np.take(x, np.array(idx, dtype=np.int64), axis=axis)


@_ref("scatter_add")
def scatter_add(x: Array, indices: Array, updates: Array, axis: int = 0) -> Array:
    out = np.moveaxis(up(x).copy(), axis, 0)
    upd = np.moveaxis(up(updates), axis, 0)
    n = out.shape[0]
    for j, i in enumerate(indices.tolist()):
        out[i + n if i < 0 else i] += upd[j]
    return np.moveaxis(out, 0, axis)


@_ref("astype")
def astype(x: Array, dtype: str) -> Array:
    if x.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
        return np.trunc(x).astype(np.int64)  # C casting truncates toward zero
    if dtype == "bool":
        return x != 0
    return up(x)


# ---------------------------------------------------------------------------
# linear algebra


@_ref("matmul")
def matmul(a: Array, b: Array) -> Array:
    return np.matmul(up(a), up(b))


@_ref("conv")
def conv(x: Array, w: Array, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))) -> Array:
    x, w = up(x), up(w)
    (ph0, ph1), (pw0, pw1) = (tuple(p) for p in padding)
    xp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + ph0 + ph1, x.shape[3] + pw0 + pw1))
    xp[:, :, ph0 : ph0 + x.shape[2], pw0 : pw0 + x.shape[3]] = x
    _o, _c, kh, kw = w.shape
    sh, sw = strides
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]  # (N, C, kh, kw)
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out


@_ref("cholesky")
def cholesky(a: Array) -> Array:
    return np.linalg.cholesky(up(a))


@_ref("triangular_solve")
def triangular_solve(a: Array, b: Array, lower: bool = True) -> Array:
    a = up(a)
    tri = np.tril(a) if lower else np.triu(a)
    if tri.size == 0 or b.size == 0:
        return np.zeros(b.shape)
    return np.linalg.solve(tri, up(b))


# ---------------------------------------------------------------------------
# ordering: Python's sorted() is stable; NaN sorts as the largest value


def _order(row: list[Any], descending: bool) -> list[int]:
    def key(i: int) -> tuple[int, Any]:
        v = row[i]
        if v != v:
            return (0, 0) if descending else (1, 0)
        return (1, -v) if descending else (0, v)

    return sorted(range(len(row)), key=key)


def _along(x: Array, axis: int, fn: Callable[[list[Any]], list[int]]) -> Array:
    if x.size == 0:
        return np.zeros(x.shape, dtype=np.int64)
    moved = np.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    rows = [fn(r.tolist()) for r in flat]
    out = np.array(rows, dtype=np.int64).reshape(moved.shape)
    return np.moveaxis(out, -1, axis)


@_ref("argsort")
def argsort(x: Array, axis: int = -1, descending: bool = False) -> Array:
    return _along(up(x), axis, lambda r: _order(r, descending))


@_ref("sort")
def sort(x: Array, axis: int = -1, descending: bool = False) -> Array:
    return np.take_along_axis(up(x), argsort(x, axis, descending), axis=axis)


@_ref("top_k")
def top_k(x: Array, k: int) -> tuple[Array, Array]:
    idx = argsort(x, -1, descending=True)[..., :k]
    return np.take_along_axis(up(x), idx, axis=-1), idx


# ---------------------------------------------------------------------------
# fft


@_ref("fft")
def fft(x: Array, axis: int = -1) -> Array:
    return np.fft.fft(up(x), axis=axis)


@_ref("ifft")
def ifft(x: Array, axis: int = -1) -> Array:
    return np.fft.ifft(up(x), axis=axis)


# ---------------------------------------------------------------------------
# fused workloads, written out from their definitions


@_ref("softmax")
def softmax(x: Array, axis: int = -1) -> Array:
    x = up(x)
    if x.shape[axis] == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@_ref("logsumexp")
def logsumexp(x: Array, axis: int = -1) -> Array:
    x = up(x)
    if x.shape[axis] == 0:
        return np.full(x.shape[: axis % x.ndim] + x.shape[axis % x.ndim + 1 :], -np.inf)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m, axis)


@_ref("gelu")
def gelu(x: Array) -> Array:
    x = up(x)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


@_ref("layer_norm")
def layer_norm(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> Array:
    x = up(x)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * up(gamma) + up(beta)


@_ref("dense")
def dense(x: Array, w: Array, b: Array) -> Array:
    return np.maximum(up(x) @ up(w) + up(b), 0.0)


@_ref("mlp_forward")
def mlp_forward(x: Array, w1: Array, b1: Array, w2: Array, b2: Array) -> Array:
    return dense(x, w1, b1) @ up(w2) + up(b2)


# ---------------------------------------------------------------------------
# comparison


def expected(ref: Any, dtype: str) -> Array:
    """The reference value rounded (or wrapped) to the op's output dtype."""
    with np.errstate(all="ignore"):
        return np.asarray(ref).astype(dtype)


def _nan_mask(a: Array) -> Array:
    return np.isnan(a.real) | np.isnan(a.imag) if a.dtype.kind == "c" else np.isnan(a)


def assert_matches(out: Array, ref: Any, dtype: str, *, exact: bool = False, scale: Any = 1.0, what: str = "") -> None:
    """Assert ``out`` equals the reference within the tolerance of ``dtype``.

    Integers and bools, and ``exact`` ops, must match exactly (NaN matches NaN). Floats
    must have NaN and infinities in the same places and otherwise satisfy
    ``|out - ref| <= RTOL[dtype] * (|ref| + scale)``, where ``scale`` is the size of the
    terms a result accumulates (1 for element-wise ops on O(1) values).
    """
    want = expected(ref, dtype)
    assert out.shape == want.shape, f"{what}shape {out.shape} != expected {want.shape}"
    kind = want.dtype.kind
    if kind in "biu" or (exact and kind == "f"):
        same = (out == want) | (np.isnan(out) & np.isnan(want)) if kind == "f" else out == want
        if not np.all(same):
            bad = np.argwhere(~np.asarray(same))[:5].tolist()
            raise AssertionError(f"{what}values differ at {bad}:\n got {out!r}\nwant {want!r}")
        return
    got = out.astype(np.complex128 if kind == "c" else np.float64)
    ref64 = np.asarray(ref).astype(got.dtype) if kind != "c" else np.asarray(ref).astype(np.complex128)
    nan_got, nan_want = _nan_mask(got), _nan_mask(want.astype(got.dtype))
    assert np.array_equal(nan_got, nan_want), f"{what}NaN positions differ:\n got {out!r}\nwant {want!r}"
    if kind == "f":
        inf_want = np.isinf(want)
        assert np.array_equal(np.isinf(got), inf_want), f"{what}inf positions differ:\n got {out!r}\nwant {want!r}"
        assert np.array_equal(got[inf_want], want[inf_want].astype(np.float64)), f"{what}inf signs differ"
        finite = ~(nan_want | inf_want)
    else:
        finite = ~nan_want
    # compare with the unrounded reference when it is finite, else with the rounded one
    target = np.where(np.isfinite(ref64) if kind == "f" else True, ref64, want.astype(got.dtype))
    err = np.abs(got - target)
    allowed = RTOL[dtype] * (np.abs(target) + scale)
    bad = finite & ~(err <= allowed)
    if np.any(bad):
        where_bad = np.argwhere(bad)[:5].tolist()
        worst = float(np.max(np.where(bad, err / np.where(allowed > 0, allowed, 1), 0)))
        raise AssertionError(
            f"{what}values differ beyond rtol={RTOL[dtype]} (scale {np.max(scale)}) at {where_bad}, "
            f"worst error {worst:.3g}x the tolerance:\n got {out!r}\nwant {want!r}"
        )
