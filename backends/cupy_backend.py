"""CuPy backend (``cupy``, CUDA only): the catalog on CuPy's NumPy-compatible GPU arrays.

Any CuPy wheel works (``cupy-cuda12x`` or ``cupy-cuda13x``, CuPy 13.6 or 14: extras
``cupy12``/``cupy13``); ``describe()`` names the one installed and the CUDA runtime and
driver versions. float32 matmul is cuBLAS sgemm without TF32 (CuPy's default,
``CUPY_TF32`` unset).

Constructing it needs a visible CUDA device; without one ``backends.get("cupy")`` raises
:class:`~backends.BackendUnavailable` with CUDA's reason. ``synchronize`` waits on the
current CUDA stream. ``erf``/``sigmoid``/``gelu`` use ``cupyx.scipy.special``;
``triangular_solve`` uses ``cupyx.scipy.linalg.solve_triangular`` (cuBLAS trsm), one
call per matrix of a batch; ``conv`` is a window view contracted with ``tensordot``
(cuBLAS), as in the NumPy backend. Sorting relies on CuPy's sorts, which are stable and
put NaN last as NumPy's are; descending orders are built from a stable ascending sort of
the flipped input so ties keep input order.

Gaps, by dtype (UnsupportedDType): bfloat16 everywhere (CuPy 13 has none, CuPy 14's is partial);
``cholesky``/``triangular_solve`` on float16 (cuSOLVER has none); ``scatter_add`` on
int8/int16/uint8 (no CUDA atomic add for them).

Data-dependent checks (take/scatter_add indices, cholesky, triangular_solve) read one
scalar back from the GPU, which waits for the queued work.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Sequence
from typing import Any

import cupy as cp
import numpy as np

from ._base import Backend
from ._catalog import OPS, TensorInfo
from ._errors import BackendUnavailable, IndexOutOfRange, NotSquareOrNotDefinite, UnsupportedDType

__all__ = ["CupyBackend"]

_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64", "complex64", "complex128"})
_ATOMIC_ADD = frozenset({"int32", "int64", "float16", "float32", "float64"})


def _shapes_dtypes(*xs: Any) -> tuple[list[tuple[int, ...]], list[str]]:
    return [tuple(x.shape) for x in xs], [x.dtype.name for x in xs]


def _check_indices(op: str, x: Any, indices: Any, axis: int, *more: Any) -> None:
    n = x.shape[axis]
    if indices.size:
        lo, hi = (int(v) for v in cp.stack([indices.min(), indices.max()]).get())  # one device-to-host read
        if lo < -n or hi >= n:
            raise IndexOutOfRange(op, f"indices must lie in [-{n}, {n})", *_shapes_dtypes(x, indices, *more))


def _descending_argsort(x: Any, axis: int) -> Any:
    """Stable descending argsort with NaN first (ties keep input order)."""
    n = x.shape[axis]
    reversed_order = cp.argsort(cp.flip(x, axis), axis=axis)
    return (n - 1) - cp.flip(reversed_order, axis)


def _unary(name: str, fn: Any) -> Any:
    def op(self: CupyBackend, x: Any) -> Any:
        return fn(x)

    op.__name__ = name
    op.__doc__ = OPS[name].doc
    return op


def _binary(name: str, fn: Any) -> Any:
    def op(self: CupyBackend, x: Any, y: Any) -> Any:
        return fn(x, y)

    op.__name__ = name
    op.__doc__ = OPS[name].doc
    return op


def _rsqrt(x: Any) -> Any:
    out = cp.sqrt(x)
    return cp.divide(1, out, out=out)


class CupyBackend(Backend):
    """Catalog ops on CuPy (one CUDA device)."""

    name = "cupy"

    def __init__(self, device: str = "cuda") -> None:
        super().__init__(device)
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, no device, ...
            raise BackendUnavailable("cupy", f"no usable CUDA device ({exc})") from exc
        if count < 1:
            raise BackendUnavailable("cupy", "no CUDA device is visible")
        import cupyx.scipy.linalg
        import cupyx.scipy.special

        self._special = cupyx.scipy.special
        self._linalg = cupyx.scipy.linalg
        self._device_id = cp.cuda.runtime.getDevice()

    # -- boundary -------------------------------------------------------------------
    def from_numpy(self, array: Any) -> Any:
        array = np.asarray(array)
        if array.dtype.name not in _DTYPES:
            raise UnsupportedDType("from_numpy", f"CuPy has no {array.dtype.name}", [array.shape], [array.dtype.name])
        return cp.asarray(array)

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return cp.asnumpy(tensor)

    def info(self, tensor: Any) -> TensorInfo:
        try:
            return TensorInfo(tuple(tensor.shape), tensor.dtype.name)
        except AttributeError:
            raise TypeError(f"cupy: expected a cupy.ndarray, got {type(tensor).__name__}") from None

    def describe(self) -> dict[str, str]:
        info = super().describe()
        props = cp.cuda.runtime.getDeviceProperties(self._device_id)
        name = props["name"]
        info["cupy_version"] = cp.__version__
        # which wheel: cupy-cuda12x and cupy-cuda13x both install the module ``cupy``
        info["cupy_distribution"] = ",".join(importlib.metadata.packages_distributions().get("cupy", [])) or "unknown"
        info["device_name"] = name.decode() if isinstance(name, bytes) else str(name)
        info["compute_capability"] = f"{props['major']}.{props['minor']}"
        info["memory_total_bytes"] = str(props["totalGlobalMem"])
        info["cuda_runtime_version"] = str(cp.cuda.runtime.runtimeGetVersion())
        info["cuda_driver_version"] = str(cp.cuda.runtime.driverGetVersion())
        return info

    def synchronize(self, *tensors: Any) -> None:
        """Wait until the current CUDA stream has finished its queued work."""
        cp.cuda.get_current_stream().synchronize()

    # -- creation -------------------------------------------------------------------
    def arange(self, start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> Any:
        out = OPS["arange"].infer(start, stop, step, dtype=dtype)
        self._no_bfloat16("arange", out.dtype)
        if stop is None:
            start, stop = 0, start
        return cp.arange(start, stop, step, dtype=out.dtype)

    def full(self, shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> Any:
        out = OPS["full"].infer(shape, fill_value, dtype=dtype)
        self._no_bfloat16("full", out.dtype)
        return cp.full(out.shape, fill_value, dtype=out.dtype)

    def eye(self, n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> Any:
        self._no_bfloat16("eye", dtype)
        return cp.eye(n_rows, n_cols, k=k, dtype=dtype)

    @staticmethod
    def _no_bfloat16(op: str, dtype: str) -> None:
        if dtype == "bfloat16":
            raise UnsupportedDType(op, "CuPy has no bfloat16")

    # -- element-wise ---------------------------------------------------------------
    abs = _unary("abs", cp.abs)
    negative = _unary("negative", cp.negative)
    sign = _unary("sign", cp.sign)
    floor = _unary("floor", cp.floor)
    ceil = _unary("ceil", cp.ceil)
    round = _unary("round", cp.around)  # half to even
    sqrt = _unary("sqrt", cp.sqrt)
    rsqrt = _unary("rsqrt", _rsqrt)
    exp = _unary("exp", cp.exp)
    expm1 = _unary("expm1", cp.expm1)
    log = _unary("log", cp.log)
    log1p = _unary("log1p", cp.log1p)
    sin = _unary("sin", cp.sin)
    cos = _unary("cos", cp.cos)
    tan = _unary("tan", cp.tan)
    asin = _unary("asin", cp.arcsin)
    acos = _unary("acos", cp.arccos)
    atan = _unary("atan", cp.arctan)
    sinh = _unary("sinh", cp.sinh)
    cosh = _unary("cosh", cp.cosh)
    tanh = _unary("tanh", cp.tanh)
    isnan = _unary("isnan", cp.isnan)
    isinf = _unary("isinf", cp.isinf)
    bitwise_invert = _unary("bitwise_invert", cp.invert)

    def erf(self, x: Any) -> Any:
        return self._special.erf(x)

    def sigmoid(self, x: Any) -> Any:
        return self._special.expit(x)

    add = _binary("add", cp.add)
    subtract = _binary("subtract", cp.subtract)
    multiply = _binary("multiply", cp.multiply)
    divide = _binary("divide", cp.divide)
    floor_divide = _binary("floor_divide", cp.floor_divide)
    remainder = _binary("remainder", cp.remainder)
    pow = _binary("pow", cp.power)
    atan2 = _binary("atan2", cp.arctan2)
    maximum = _binary("maximum", cp.maximum)  # NaN-propagating
    minimum = _binary("minimum", cp.minimum)
    equal = _binary("equal", cp.equal)
    not_equal = _binary("not_equal", cp.not_equal)
    less = _binary("less", cp.less)
    less_equal = _binary("less_equal", cp.less_equal)
    greater = _binary("greater", cp.greater)
    greater_equal = _binary("greater_equal", cp.greater_equal)
    logical_and = _binary("logical_and", cp.logical_and)
    logical_or = _binary("logical_or", cp.logical_or)
    logical_xor = _binary("logical_xor", cp.logical_xor)
    bitwise_and = _binary("bitwise_and", cp.bitwise_and)
    bitwise_or = _binary("bitwise_or", cp.bitwise_or)
    bitwise_xor = _binary("bitwise_xor", cp.bitwise_xor)
    bitwise_left_shift = _binary("bitwise_left_shift", cp.left_shift)
    bitwise_right_shift = _binary("bitwise_right_shift", cp.right_shift)

    # -- selection ------------------------------------------------------------------
    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return cp.where(cond, x, y)

    def clip(self, x: Any, min: float | None = None, max: float | None = None) -> Any:
        if min is None and max is None:
            return x.copy()
        if x.dtype.kind in "iu":  # int bounds held in the dtype's range (else they wrap)
            info = np.iinfo(x.dtype)
            min = None if min is None else int(np.clip(int(min), info.min, info.max))
            max = None if max is None else int(np.clip(int(max), info.min, info.max))
        return cp.clip(x, min, max).astype(x.dtype, copy=False)

    # -- reductions -------------------------------------------------------------------
    @staticmethod
    def _acc(x: Any) -> Any:
        return cp.int64 if x.dtype.kind in "biu" else None

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return cp.sum(x, axis=axis, keepdims=keepdims, dtype=self._acc(x))

    def prod(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return cp.prod(x, axis=axis, keepdims=keepdims, dtype=self._acc(x))

    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return cp.max(x, axis=axis, keepdims=keepdims)

    def min(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return cp.min(x, axis=axis, keepdims=keepdims)

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        out = cp.argmax(x, axis=axis).astype(cp.int64, copy=False)
        return self._keep(out, x, axis, keepdims)

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        out = cp.argmin(x, axis=axis).astype(cp.int64, copy=False)
        return self._keep(out, x, axis, keepdims)

    @staticmethod
    def _keep(out: Any, x: Any, axis: int | None, keepdims: bool) -> Any:
        if not keepdims:
            return out
        return out.reshape((1,) * x.ndim) if axis is None else cp.expand_dims(out, axis)

    def mean(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        if (x.size if axis is None else x.shape[axis]) == 0:
            return cp.full(OPS["mean"].infer(self.info(x), axis, keepdims).shape, cp.nan, dtype=x.dtype)
        return cp.mean(x, axis=axis, keepdims=keepdims)

    def all(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return cp.all(x, axis=axis, keepdims=keepdims)

    def any(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return cp.any(x, axis=axis, keepdims=keepdims)

    def cumulative_sum(self, x: Any, axis: int = -1) -> Any:
        return cp.cumsum(x, axis=axis, dtype=self._acc(x))

    @staticmethod
    def _windows(x: Any, window: Sequence[int], strides: Sequence[int]) -> Any:
        views = cp.lib.stride_tricks.sliding_window_view(x, tuple(window), axis=(-2, -1))
        return views[..., :: strides[0], :: strides[1], :, :]

    def window_sum(self, x: Any, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> Any:
        return self._windows(x, window, strides).sum(axis=(-2, -1), dtype=x.dtype)

    def window_max(self, x: Any, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> Any:
        return self._windows(x, window, strides).max(axis=(-2, -1))

    # -- shape and indexing ---------------------------------------------------------------
    def reshape(self, x: Any, shape: Sequence[int]) -> Any:
        return cp.reshape(x, tuple(shape))

    def permute_dims(self, x: Any, axes: Sequence[int]) -> Any:
        return cp.transpose(x, tuple(axes))

    def broadcast_to(self, x: Any, shape: Sequence[int]) -> Any:
        return cp.broadcast_to(x, tuple(shape))

    def expand_dims(self, x: Any, axis: int = 0) -> Any:
        return cp.expand_dims(x, axis)

    def squeeze(self, x: Any, axis: int) -> Any:
        return cp.squeeze(x, axis)

    @staticmethod
    def _slices(starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int]) -> tuple[slice, ...]:
        return tuple(slice(s, s + n, st) for s, n, st in zip(starts, lengths, strides, strict=True))

    def slice(self, x: Any, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> Any:
        return x[self._slices(starts, lengths, strides or (1,) * x.ndim)]

    def put_slice(self, x: Any, update: Any, starts: Sequence[int]) -> Any:
        out = x.copy()
        out[self._slices(starts, update.shape, (1,) * x.ndim)] = update
        return out

    def concat(self, tensors: Sequence[Any], axis: int = 0) -> Any:
        return cp.concatenate(list(tensors), axis=axis)

    def stack(self, tensors: Sequence[Any], axis: int = 0) -> Any:
        return cp.stack(list(tensors), axis=axis)

    def pad(self, x: Any, pad_width: Sequence[Sequence[int]], value: float = 0) -> Any:
        if x.ndim == 0:  # nothing to pad; cp.pad rejects the empty pad_width
            return x.copy()
        return cp.pad(x, [tuple(p) for p in pad_width], constant_values=value)

    def flip(self, x: Any, axis: int | None = None) -> Any:
        return cp.flip(x, axis)

    def take(self, x: Any, indices: Any, axis: int = 0) -> Any:
        _check_indices("take", x, indices, axis)
        return cp.take(x, indices, axis=axis)  # negative indices count from the end

    def scatter_add(self, x: Any, indices: Any, updates: Any, axis: int = 0) -> Any:
        if x.dtype.name not in _ATOMIC_ADD:
            raise UnsupportedDType("scatter_add", "CUDA has no atomic add for this dtype", *_shapes_dtypes(x, indices, updates))
        _check_indices("scatter_add", x, indices, axis, updates)
        n = x.shape[axis]
        out = x.copy()
        index = (slice(None),) * (axis % x.ndim) + (cp.where(indices < 0, indices + n, indices),)
        cp.add.at(out, index, updates)  # duplicates accumulate
        return out

    def astype(self, x: Any, dtype: str) -> Any:
        self._no_bfloat16("astype", dtype)
        return x.astype(dtype)

    # -- linear algebra -------------------------------------------------------------------
    def matmul(self, a: Any, b: Any) -> Any:
        return cp.matmul(a, b)

    def conv(self, x: Any, w: Any, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))) -> Any:
        (ph, pw) = (tuple(p) for p in padding)
        xp = cp.pad(x, ((0, 0), (0, 0), ph, pw))
        kh, kw = w.shape[2:]
        windows = cp.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, :: strides[0], :: strides[1]]
        out = cp.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, O)
        return cp.ascontiguousarray(out.transpose(0, 3, 1, 2))

    @staticmethod
    def _check_float_linalg(op: str, *xs: Any) -> None:
        if any(x.dtype.name == "float16" for x in xs):
            raise UnsupportedDType(op, "cuSOLVER/cuBLAS have no float16 here", *_shapes_dtypes(*xs))

    def cholesky(self, a: Any) -> Any:
        self._check_float_linalg("cholesky", a)
        if a.size == 0:
            return a.copy()
        factor = cp.linalg.cholesky(a)  # NaN where not positive definite (CuPy's default errstate)
        if not bool(cp.isfinite(factor).all()):
            raise NotSquareOrNotDefinite("cholesky", "matrix is not positive definite", *_shapes_dtypes(a))
        return factor

    def triangular_solve(self, a: Any, b: Any, lower: bool = True) -> Any:
        self._check_float_linalg("triangular_solve", a, b)
        if a.size == 0 or b.size == 0:
            return cp.zeros(b.shape, dtype=b.dtype)
        if bool((cp.diagonal(a, axis1=-2, axis2=-1) == 0).any()):
            raise NotSquareOrNotDefinite("triangular_solve", "matrix is singular", *_shapes_dtypes(a, b))
        if a.ndim == 2:
            return self._linalg.solve_triangular(a, b, lower=lower).astype(b.dtype, copy=False)
        batch = a.shape[:-2]
        a2 = a.reshape(-1, *a.shape[-2:])
        b2 = b.reshape(-1, *b.shape[-2:])
        solved = [self._linalg.solve_triangular(a2[i], b2[i], lower=lower) for i in range(math.prod(batch))]
        return cp.stack(solved).reshape(b.shape).astype(b.dtype, copy=False)

    # -- ordering -------------------------------------------------------------------------
    def sort(self, x: Any, axis: int = -1, descending: bool = False) -> Any:
        if not descending:
            return cp.sort(x, axis=axis)
        return cp.take_along_axis(x, _descending_argsort(x, axis), axis=axis)

    def argsort(self, x: Any, axis: int = -1, descending: bool = False) -> Any:
        out = cp.argsort(x, axis=axis) if not descending else _descending_argsort(x, axis)
        return out.astype(cp.int64, copy=False)

    def top_k(self, x: Any, k: int) -> tuple[Any, Any]:
        indices = _descending_argsort(x, -1)[..., :k].astype(cp.int64, copy=False)
        return cp.take_along_axis(x, indices, axis=-1), indices

    # -- fft ------------------------------------------------------------------------------
    def fft(self, x: Any, axis: int = -1) -> Any:
        return cp.fft.fft(x, axis=axis).astype(x.dtype, copy=False)

    def ifft(self, x: Any, axis: int = -1) -> Any:
        return cp.fft.ifft(x, axis=axis).astype(x.dtype, copy=False)

    # -- fused workloads --------------------------------------------------------------------
    def softmax(self, x: Any, axis: int = -1) -> Any:
        if x.shape[axis] == 0:
            return x.copy()
        e = cp.exp(x - cp.max(x, axis=axis, keepdims=True))
        e /= cp.sum(e, axis=axis, keepdims=True)
        return e

    def logsumexp(self, x: Any, axis: int = -1) -> Any:
        if x.shape[axis] == 0:
            return cp.full(OPS["logsumexp"].infer(self.info(x), axis).shape, -cp.inf, dtype=x.dtype)
        m = cp.max(x, axis=axis, keepdims=True)
        m = cp.where(cp.isfinite(m), m, 0).astype(x.dtype, copy=False)
        return cp.squeeze(cp.log(cp.sum(cp.exp(x - m), axis=axis, keepdims=True)) + m, axis)

    def gelu(self, x: Any) -> Any:
        return (0.5 * x * (1 + self._special.erf(x * x.dtype.type(1 / math.sqrt(2))))).astype(x.dtype, copy=False)

    def layer_norm(self, x: Any, gamma: Any, beta: Any, eps: float = 1e-5) -> Any:
        if x.shape[-1] == 0:
            return x.copy()
        mean = cp.mean(x, axis=-1, keepdims=True)
        centred = x - mean
        var = cp.mean(centred * centred, axis=-1, keepdims=True)
        return (centred / cp.sqrt(var + x.dtype.type(eps)) * gamma + beta).astype(x.dtype, copy=False)

    def dense(self, x: Any, w: Any, b: Any) -> Any:
        out = cp.matmul(x, w)
        out += b
        return cp.maximum(out, 0, out=out)

    def mlp_forward(self, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        out = cp.matmul(self.dense(x, w1, b1), w2)
        out += b2
        return out
