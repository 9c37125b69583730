"""NumPy backend: every catalog op, on NumPy's SIMD-dispatched ufuncs and its BLAS.

``erf`` and ``sigmoid`` use SciPy's ufuncs (``scipy.special.erf`` / ``expit``) and
``triangular_solve`` uses ``scipy.linalg.solve_triangular`` (LAPACK ``trtrs``): NumPy
itself has none of them.

Element-wise ops are installed without the catalog's Python wrapper (see
:func:`~backends._base.native_checked`): they check the dtype inline and translate
NumPy's own exceptions, which keeps a call within ~100 ns of calling NumPy directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy
import scipy.linalg
import scipy.special
from numpy.lib.stride_tricks import sliding_window_view

from ._base import Backend, native_checked
from ._catalog import OPS, TensorInfo
from ._dtypes import FLOAT
from ._errors import IndexOutOfRange, NotSquareOrNotDefinite, UnsupportedDType

__all__ = ["NumpyBackend"]

_DTYPE_CHARS = {
    np.dtype(n).name: np.dtype(n).char
    for n in ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64", "complex64", "complex128")
}


def _chars(dtypes: frozenset[str]) -> str:
    """NumPy type characters of the catalog dtypes NumPy has (bfloat16 it has not)."""
    return "".join(_DTYPE_CHARS[d] for d in sorted(dtypes) if d in _DTYPE_CHARS)


def _unary(name: str, fn: Callable[[np.ndarray], Any]) -> Callable[..., Any]:
    spec = OPS[name]
    allowed = _chars(spec.dtypes)

    @native_checked
    def op(self: NumpyBackend, x: np.ndarray) -> Any:
        if x.dtype.char not in allowed:
            spec.infer(self.info(x))  # raises the catalog's UnsupportedDType
        try:
            return fn(x)
        except Exception as exc:
            raise self.bad_input(name, (x,), {}, exc) from exc

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _binary(name: str, fn: Callable[[np.ndarray, np.ndarray], Any]) -> Callable[..., Any]:
    spec = OPS[name]
    allowed = _chars(spec.dtypes)

    @native_checked
    def op(self: NumpyBackend, x: np.ndarray, y: np.ndarray) -> Any:
        dtype = x.dtype
        # `is not` is the fast path (builtin dtypes are singletons); `!=` confirms.
        if (dtype is not y.dtype and dtype != y.dtype) or dtype.char not in allowed:
            spec.infer(self.info(x), self.info(y))  # raises the catalog's error
        try:
            return fn(x, y)
        except Exception as exc:
            raise self.bad_input(name, (x, y), {}, exc) from exc

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _rsqrt(x: np.ndarray) -> Any:
    out = np.sqrt(x)
    if not isinstance(out, np.ndarray):  # 0-d input: NumPy returned a scalar, which has no buffer to reuse
        return np.reciprocal(out)
    return np.reciprocal(out, out=out)


def _in_dtype_of(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``out`` in ``like``'s dtype: ml_dtypes' bfloat16 matmul accumulates in and returns
    float32, while the catalog keeps the input dtype (rounded once, at the end)."""
    return out if out.dtype == like.dtype else out.astype(like.dtype)


def _check_indices(op: str, x: np.ndarray, indices: np.ndarray, axis: int, *others: np.ndarray) -> None:
    n = x.shape[axis]
    if indices.size and (int(indices.min()) < -n or int(indices.max()) >= n):
        inputs = (x, indices, *others)
        raise IndexOutOfRange(op, f"indices must lie in [-{n}, {n})", [t.shape for t in inputs], [t.dtype.name for t in inputs])


def _descending_argsort(x: np.ndarray, axis: int) -> np.ndarray:
    """Stable descending argsort with NaN first (ties keep input order)."""
    n = x.shape[axis]
    reversed_order = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - np.flip(reversed_order, axis)


class NumpyBackend(Backend):
    """Every catalog op on NumPy (plus SciPy's erf, expit and solve_triangular)."""

    name = "numpy"

    # -- boundary -------------------------------------------------------------------
    def from_numpy(self, array: Any) -> np.ndarray:
        """A private copy of ``array`` (layout kept), so a tensor never aliases user memory."""
        return np.array(array, copy=True, order="K")

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return np.asarray(tensor)

    def info(self, tensor: Any) -> TensorInfo:
        return TensorInfo(tuple(tensor.shape), tensor.dtype.name)

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["numpy_version"] = np.__version__
        info["scipy_version"] = scipy.__version__
        try:
            from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

            info["simd_dispatch"] = ",".join(__cpu_dispatch__)
            info["simd_active"] = ",".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f))
        except ImportError:  # private module: absent in some NumPy builds
            pass
        return info

    # -- creation -------------------------------------------------------------------
    def arange(self, start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> np.ndarray:
        out = OPS["arange"].infer(start, stop, step, dtype=dtype)
        if stop is None:
            start, stop = 0, start
        return np.arange(start, stop, step, dtype=out.dtype)

    def full(self, shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> np.ndarray:
        out = OPS["full"].infer(shape, fill_value, dtype=dtype)
        return np.full(out.shape, fill_value, dtype=out.dtype)

    def eye(self, n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> np.ndarray:
        return np.eye(n_rows, n_cols, k=k, dtype=dtype)

    # -- element-wise unary -----------------------------------------------------------
    abs = _unary("abs", np.abs)
    negative = _unary("negative", np.negative)
    sign = _unary("sign", np.sign)
    floor = _unary("floor", np.floor)
    ceil = _unary("ceil", np.ceil)
    round = _unary("round", np.round)
    sqrt = _unary("sqrt", np.sqrt)
    rsqrt = _unary("rsqrt", _rsqrt)
    exp = _unary("exp", np.exp)
    expm1 = _unary("expm1", np.expm1)
    log = _unary("log", np.log)
    log1p = _unary("log1p", np.log1p)
    sin = _unary("sin", np.sin)
    cos = _unary("cos", np.cos)
    tan = _unary("tan", np.tan)
    asin = _unary("asin", np.arcsin)
    acos = _unary("acos", np.arccos)
    atan = _unary("atan", np.arctan)
    sinh = _unary("sinh", np.sinh)
    cosh = _unary("cosh", np.cosh)
    tanh = _unary("tanh", np.tanh)
    # SciPy has no float16 loops: cast the float32 result back so the dtype is kept.
    erf = _unary("erf", lambda x: scipy.special.erf(x).astype(x.dtype, copy=False))
    sigmoid = _unary("sigmoid", lambda x: scipy.special.expit(x).astype(x.dtype, copy=False))
    isnan = _unary("isnan", np.isnan)
    isinf = _unary("isinf", np.isinf)
    bitwise_invert = _unary("bitwise_invert", np.invert)

    # -- element-wise binary ----------------------------------------------------------
    add = _binary("add", np.add)
    subtract = _binary("subtract", np.subtract)
    multiply = _binary("multiply", np.multiply)
    divide = _binary("divide", np.divide)
    floor_divide = _binary("floor_divide", np.floor_divide)
    remainder = _binary("remainder", np.remainder)
    pow = _binary("pow", np.power)
    atan2 = _binary("atan2", np.arctan2)
    maximum = _binary("maximum", np.maximum)
    minimum = _binary("minimum", np.minimum)
    equal = _binary("equal", np.equal)
    not_equal = _binary("not_equal", np.not_equal)
    less = _binary("less", np.less)
    less_equal = _binary("less_equal", np.less_equal)
    greater = _binary("greater", np.greater)
    greater_equal = _binary("greater_equal", np.greater_equal)
    logical_and = _binary("logical_and", np.logical_and)
    logical_or = _binary("logical_or", np.logical_or)
    logical_xor = _binary("logical_xor", np.logical_xor)
    bitwise_and = _binary("bitwise_and", np.bitwise_and)
    bitwise_or = _binary("bitwise_or", np.bitwise_or)
    bitwise_xor = _binary("bitwise_xor", np.bitwise_xor)
    bitwise_left_shift = _binary("bitwise_left_shift", np.left_shift)
    bitwise_right_shift = _binary("bitwise_right_shift", np.right_shift)

    # -- selection ------------------------------------------------------------------
    def where(self, cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(cond, x, y)

    def clip(self, x: np.ndarray, min: float | None = None, max: float | None = None) -> np.ndarray:
        if min is None and max is None:
            return x.copy()
        return np.clip(x, min, max).astype(x.dtype, copy=False)

    # -- reductions -------------------------------------------------------------------
    @staticmethod
    def _acc(x: np.ndarray) -> Any:
        return np.int64 if x.dtype.kind in "biu" else None

    def sum(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.sum(x, axis=axis, keepdims=keepdims, dtype=self._acc(x)))

    def prod(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.prod(x, axis=axis, keepdims=keepdims, dtype=self._acc(x)))

    def max(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.max(x, axis=axis, keepdims=keepdims))

    def min(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.min(x, axis=axis, keepdims=keepdims))

    def argmax(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.argmax(x, axis=axis, keepdims=keepdims), dtype=np.int64)

    def argmin(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.argmin(x, axis=axis, keepdims=keepdims), dtype=np.int64)

    def mean(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        if (x.size if axis is None else x.shape[axis]) == 0:  # NaN without NumPy's warning
            shape = OPS["mean"].infer(self.info(x), axis, keepdims).shape
            return np.full(shape, np.nan, dtype=x.dtype)
        return np.asarray(np.mean(x, axis=axis, keepdims=keepdims))

    def all(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.all(x, axis=axis, keepdims=keepdims))

    def any(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        return np.asarray(np.any(x, axis=axis, keepdims=keepdims))

    def cumulative_sum(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.cumsum(x, axis=axis, dtype=self._acc(x))

    def _windows(self, x: np.ndarray, window: Sequence[int], strides: Sequence[int]) -> np.ndarray:
        views = sliding_window_view(x, tuple(window), axis=(-2, -1))
        return views[..., :: strides[0], :: strides[1], :, :]

    def window_sum(self, x: np.ndarray, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> np.ndarray:
        return self._windows(x, window, strides).sum(axis=(-2, -1), dtype=x.dtype)

    def window_max(self, x: np.ndarray, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> np.ndarray:
        return self._windows(x, window, strides).max(axis=(-2, -1))

    # -- shape and indexing -------------------------------------------------------------
    def reshape(self, x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
        return np.reshape(x, tuple(shape))

    def permute_dims(self, x: np.ndarray, axes: Sequence[int]) -> np.ndarray:
        return np.permute_dims(x, tuple(axes))

    def broadcast_to(self, x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
        return np.broadcast_to(x, tuple(shape))

    def expand_dims(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        return np.expand_dims(x, axis)

    def squeeze(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.squeeze(x, axis)

    @staticmethod
    def _slices(starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int]) -> tuple[slice, ...]:
        return tuple(slice(s, s + n, st) for s, n, st in zip(starts, lengths, strides, strict=True))

    def slice(self, x: np.ndarray, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> np.ndarray:
        return x[self._slices(starts, lengths, strides or (1,) * x.ndim)]

    def put_slice(self, x: np.ndarray, update: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        out = x.copy()
        out[self._slices(starts, update.shape, (1,) * x.ndim)] = update
        return out

    def concat(self, tensors: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
        return np.concatenate(list(tensors), axis=axis)

    def stack(self, tensors: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
        return np.stack(list(tensors), axis=axis)

    def pad(self, x: np.ndarray, pad_width: Sequence[Sequence[int]], value: float = 0) -> np.ndarray:
        if x.ndim == 0:  # nothing to pad; np.pad rejects the empty pad_width
            return x.copy()
        return np.pad(x, [tuple(p) for p in pad_width], constant_values=value)

    def flip(self, x: np.ndarray, axis: int | None = None) -> np.ndarray:
        return np.flip(x, axis)

    def take(self, x: np.ndarray, indices: np.ndarray, axis: int = 0) -> np.ndarray:
        _check_indices("take", x, indices, axis)
        return np.take(x, indices, axis=axis)

    def scatter_add(self, x: np.ndarray, indices: np.ndarray, updates: np.ndarray, axis: int = 0) -> np.ndarray:
        _check_indices("scatter_add", x, indices, axis, updates)
        out = x.copy()
        index = (slice(None),) * (axis % x.ndim) + (indices,)
        np.add.at(out, index, updates)  # type: ignore[arg-type]  # numpy stubs reject slice tuples that numpy accepts
        return out

    def astype(self, x: np.ndarray, dtype: str) -> np.ndarray:
        if dtype not in _DTYPE_CHARS:
            raise UnsupportedDType("astype", f"NumPy has no {dtype}", [x.shape], [x.dtype.name])
        with np.errstate(invalid="ignore", over="ignore"):
            return x.astype(dtype)

    # -- linear algebra -------------------------------------------------------------------
    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _in_dtype_of(np.matmul(a, b), a)

    def conv(
        self, x: np.ndarray, w: np.ndarray, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))
    ) -> np.ndarray:
        (ph, pw) = (tuple(p) for p in padding)
        xp = np.pad(x, ((0, 0), (0, 0), ph, pw))
        kh, kw = w.shape[2:]
        windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, :: strides[0], :: strides[1]]
        # windows: (N, C, Ho, Wo, kh, kw); contract C, kh, kw with the kernel (BLAS via tensordot)
        out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2))

    def _check_float_linalg(self, op: str, *xs: np.ndarray) -> None:
        for x in xs:
            if x.dtype.name not in FLOAT or x.dtype.name == "float16":
                raise UnsupportedDType(op, "NumPy's LAPACK has no float16", [t.shape for t in xs], [t.dtype.name for t in xs])

    def cholesky(self, a: np.ndarray) -> np.ndarray:
        self._check_float_linalg("cholesky", a)
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError as exc:
            raise NotSquareOrNotDefinite("cholesky", "matrix is not positive definite", [a.shape], [a.dtype.name]) from exc

    def triangular_solve(self, a: np.ndarray, b: np.ndarray, lower: bool = True) -> np.ndarray:
        self._check_float_linalg("triangular_solve", a, b)
        if a.size == 0 or b.size == 0:
            return np.zeros(b.shape, dtype=b.dtype)
        try:
            out = scipy.linalg.solve_triangular(a, b, lower=lower, check_finite=False)
        except np.linalg.LinAlgError as exc:
            raise NotSquareOrNotDefinite(
                "triangular_solve", "matrix is singular", [a.shape, b.shape], [a.dtype.name, b.dtype.name]
            ) from exc
        return np.asarray(out, dtype=b.dtype)

    # -- ordering -------------------------------------------------------------------------
    def sort(self, x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
        if not descending:
            return np.sort(x, axis=axis, kind="stable")
        return np.take_along_axis(x, _descending_argsort(x, axis), axis=axis)

    def argsort(self, x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
        if not descending:
            return np.argsort(x, axis=axis, kind="stable").astype(np.int64, copy=False)
        return _descending_argsort(x, axis).astype(np.int64, copy=False)

    def top_k(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        indices = _descending_argsort(x, -1)[..., :k].astype(np.int64, copy=False)
        return np.take_along_axis(x, indices, axis=-1), indices

    # -- fft ------------------------------------------------------------------------------
    def fft(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.fft.fft(x, axis=axis).astype(x.dtype, copy=False)

    def ifft(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.fft.ifft(x, axis=axis).astype(x.dtype, copy=False)

    # -- fused workloads --------------------------------------------------------------------
    def softmax(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        if x.shape[axis] == 0:
            return x.copy()
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        e /= np.sum(e, axis=axis, keepdims=True)
        return e

    def logsumexp(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        if x.shape[axis] == 0:
            return np.full(OPS["logsumexp"].infer(self.info(x), axis).shape, -np.inf, dtype=x.dtype)
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        return np.squeeze(out, axis)

    def gelu(self, x: np.ndarray) -> np.ndarray:
        return (0.5 * x * (1 + scipy.special.erf(x * x.dtype.type(1 / math.sqrt(2))))).astype(x.dtype, copy=False)

    def layer_norm(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        if x.shape[-1] == 0:
            return x.copy()
        mean = np.mean(x, axis=-1, keepdims=True)
        centred = x - mean
        var = np.mean(centred * centred, axis=-1, keepdims=True)
        return (centred / np.sqrt(var + x.dtype.type(eps)) * gamma + beta).astype(x.dtype, copy=False)

    def dense(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.matmul(x, w)
        out += b
        return _in_dtype_of(np.maximum(out, 0, out=out), x)

    def mlp_forward(self, x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
        hidden = self.dense(x, w1, b1)
        out = np.matmul(hidden, w2)
        out += b2
        return _in_dtype_of(out, x)
