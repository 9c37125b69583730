"""The JaxBackend class (see the package docstring for coverage, jit caching and caveats)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._base import Backend, native_checked
from .._catalog import OPS, TensorInfo, ops_in_groups
from .._dtypes import ALL_DTYPES
from .._errors import BackendUnavailable, IndexOutOfRange, NotSquareOrNotDefinite, UnsupportedDType, UnsupportedOperation
from ._kernels import DTYPES, KERNELS

__all__ = ["JaxBackend"]

_HALF = frozenset({"float16", "bfloat16"})


def _np_dtypes(names: frozenset[str]) -> frozenset[np.dtype[Any]]:
    return frozenset(np.dtype(DTYPES[n]) for n in names)


def _native_error(be: JaxBackend, op: str, args: tuple[Any, ...], exc: Exception) -> BaseException:
    """The catalog's error for a failure while tracing; runtime errors (out of memory...) pass through."""
    if isinstance(exc, MemoryError | jax.errors.JaxRuntimeError):
        return exc
    return be.bad_input(op, args, {}, exc)


def _unary(name: str) -> Callable[..., Any]:
    spec = OPS[name]
    allowed = _np_dtypes(spec.dtypes)
    jitted = KERNELS[name].jitted

    @native_checked
    def op(self: JaxBackend, x: Any) -> Any:
        if x.dtype not in allowed:
            spec.infer(self.info(x))  # raises the catalog's UnsupportedDType
        return jitted(x)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _binary(name: str) -> Callable[..., Any]:
    spec = OPS[name]
    allowed = _np_dtypes(spec.dtypes)
    jitted = KERNELS[name].jitted

    @native_checked
    def op(self: JaxBackend, x: Any, y: Any) -> Any:
        dtype = x.dtype
        if (dtype is not y.dtype and dtype != y.dtype) or dtype not in allowed:
            spec.infer(self.info(x), self.info(y))  # no implicit promotion: the catalog's error
        try:
            return jitted(x, y)
        except Exception as exc:  # shapes that do not broadcast (raised while tracing)
            raise _native_error(self, name, (x, y), exc) from exc

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _elementwise_methods() -> dict[str, Callable[..., Any]]:
    """A method for each op of the catalog's unary and binary groups that has a kernel in ``_kernels``."""
    return {name: _unary(name) if OPS[name].arity == 1 else _binary(name) for name in ops_in_groups("unary", "binary") if name in KERNELS}


def _call(name: str) -> Any:
    """The jitted kernel of op ``name`` as a class attribute (looked up once, never bound to self)."""
    return staticmethod(KERNELS[name].jitted)


def _hashable(value: Any) -> Any:
    """Lists (of lists) as tuples, so they can be static jit arguments."""
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


def _shapes_dtypes(*xs: Any) -> tuple[list[tuple[int, ...]], list[str]]:
    return [tuple(x.shape) for x in xs], [x.dtype.name for x in xs]


class JaxBackend(Backend):
    """Every catalog op as a cached ``jax.jit`` executable, on the CPU or one GPU."""

    name = "jax"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        try:
            self._dev = jax.devices(device)[0]
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendUnavailable(f"jax:{device}", f"jax has no {device} device ({reason})", "pip install 'jax[cuda12]'") from exc

    # -- boundary -------------------------------------------------------------------
    def from_numpy(self, array: Any) -> Any:
        """A copy of ``array`` on this backend's device (never aliasing the NumPy buffer)."""
        array = np.asarray(array)
        if array.dtype.name not in ALL_DTYPES:
            raise UnsupportedDType("from_numpy", f"jax backend has no dtype {array.dtype.name}", [array.shape], [array.dtype.name])
        # a fresh copy: on CPU jax may keep (alias) the buffer it is given, even with may_alias=False
        return jax.device_put(np.array(array, copy=True), self._dev)

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return np.asarray(tensor)

    def info(self, tensor: Any) -> TensorInfo:
        try:
            return TensorInfo(tuple(tensor.shape), tensor.dtype.name)
        except AttributeError:
            raise TypeError(f"{self.name}: expected a jax Array, got {type(tensor).__name__}") from None

    def describe(self) -> dict[str, str]:
        info = super().describe()
        import jaxlib

        info["jax_version"] = jax.__version__
        info["jaxlib_version"] = jaxlib.__version__
        info["platform"] = self._dev.platform
        info["device_name"] = self._dev.device_kind
        info["default_backend"] = jax.default_backend()
        info["x64"] = str(jax.config.read("jax_enable_x64"))
        info["xla_flags"] = os.environ.get("XLA_FLAGS", "")
        info["cpu_count"] = str(os.cpu_count())
        return info

    def synchronize(self, *tensors: Any) -> None:
        """Block until the given arrays are computed (``block_until_ready``)."""
        if len(tensors) == 1 and hasattr(tensors[0], "block_until_ready"):
            tensors[0].block_until_ready()
        elif tensors:
            jax.block_until_ready(tensors)

    def compile_seconds(self, op: str | Callable[..., Any], *args: Any, **kwargs: Any) -> float:
        """Seconds to trace, lower and compile op ``op`` (a name or ``be.op(name)``) for these arguments.

        Uses a fresh ``jax.jit`` of the op's kernel, so jax's caches cannot hide the work
        and the executables used by timed calls are left alone. Arguments are those of the
        op itself; the data is not read (only shapes and dtypes matter). Creation ops
        (arange, full, eye) are not compiled kernels and raise UnsupportedOperation.
        """
        name = op if isinstance(op, str) else op.__name__
        kernel = KERNELS.get(name)
        if kernel is None:
            raise UnsupportedOperation(self.name, name, "not a jitted kernel (creation ops run eagerly)")
        fresh = jax.jit(kernel.fn, static_argnames=kernel.static) if kernel.static else jax.jit(kernel.fn)
        args = tuple(_hashable(a) if not hasattr(a, "dtype") else a for a in args)
        kwargs = {k: _hashable(v) for k, v in kwargs.items()}
        start = time.perf_counter()
        fresh.lower(*args, **kwargs).compile()
        return time.perf_counter() - start

    # -- creation (eager: one small jax call each, placed on this device) ---------------
    def arange(self, start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> Any:
        out = OPS["arange"].infer(start, stop, step, dtype=dtype)
        if stop is None:
            start, stop = 0, start
        return jnp.arange(start, stop, step, dtype=DTYPES[out.dtype], device=self._dev)

    def full(self, shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> Any:
        out = OPS["full"].infer(shape, fill_value, dtype=dtype)
        return jnp.full(out.shape, fill_value, dtype=DTYPES[out.dtype], device=self._dev)

    def eye(self, n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> Any:
        return jnp.eye(n_rows, n_cols, k=k, dtype=DTYPES[dtype], device=self._dev)

    # -- element-wise: one method per op of the catalog's unary and binary groups ---------
    # (generated: each is a dtype check and its jitted kernel). At class scope locals() is
    # the namespace the class is built from, so these become methods like any other.
    locals().update(_elementwise_methods())

    # -- selection ------------------------------------------------------------------------
    _where = _call("where")
    _clip = _call("clip")

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return self._where(cond, x, y)

    def clip(self, x: Any, min: float | None = None, max: float | None = None) -> Any:
        return self._clip(x, min, max)

    # -- reductions -----------------------------------------------------------------------
    _sum, _prod, _max, _min = _call("sum"), _call("prod"), _call("max"), _call("min")
    _argmax, _argmin, _mean = _call("argmax"), _call("argmin"), _call("mean")
    _all, _any, _cumulative_sum = _call("all"), _call("any"), _call("cumulative_sum")
    _window_sum, _window_max = _call("window_sum"), _call("window_max")

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._sum(x, axis, keepdims)

    def prod(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._prod(x, axis, keepdims)

    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._max(x, axis, keepdims)

    def min(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._min(x, axis, keepdims)

    def argmax(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._argmax(x, axis, keepdims)

    def argmin(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._argmin(x, axis, keepdims)

    def mean(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._mean(x, axis, keepdims)

    def all(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._all(x, axis, keepdims)

    def any(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self._any(x, axis, keepdims)

    def cumulative_sum(self, x: Any, axis: int = -1) -> Any:
        return self._cumulative_sum(x, axis)

    def window_sum(self, x: Any, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> Any:
        return self._window_sum(x, tuple(window), tuple(strides))

    def window_max(self, x: Any, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> Any:
        return self._window_max(x, tuple(window), tuple(strides))

    # -- shape and indexing ---------------------------------------------------------------
    _reshape, _permute_dims, _broadcast_to = _call("reshape"), _call("permute_dims"), _call("broadcast_to")
    _expand_dims, _squeeze, _slice, _put_slice = _call("expand_dims"), _call("squeeze"), _call("slice"), _call("put_slice")
    _concat, _stack, _pad, _flip = _call("concat"), _call("stack"), _call("pad"), _call("flip")
    _take, _scatter_add, _astype = _call("take"), _call("scatter_add"), _call("astype")

    def reshape(self, x: Any, shape: Sequence[int]) -> Any:
        return self._reshape(x, tuple(shape))

    def permute_dims(self, x: Any, axes: Sequence[int]) -> Any:
        return self._permute_dims(x, tuple(axes))

    def broadcast_to(self, x: Any, shape: Sequence[int]) -> Any:
        return self._broadcast_to(x, tuple(shape))

    def expand_dims(self, x: Any, axis: int = 0) -> Any:
        return self._expand_dims(x, axis)

    def squeeze(self, x: Any, axis: int) -> Any:
        return self._squeeze(x, axis)

    def slice(self, x: Any, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> Any:
        return self._slice(x, tuple(starts), tuple(lengths), None if strides is None else tuple(strides))

    def put_slice(self, x: Any, update: Any, starts: Sequence[int]) -> Any:
        return self._put_slice(x, update, tuple(starts))

    def concat(self, tensors: Sequence[Any], axis: int = 0) -> Any:
        return self._concat(list(tensors), axis)

    def stack(self, tensors: Sequence[Any], axis: int = 0) -> Any:
        return self._stack(list(tensors), axis)

    def pad(self, x: Any, pad_width: Sequence[Sequence[int]], value: float = 0) -> Any:
        return self._pad(x, _hashable(pad_width), value)

    def flip(self, x: Any, axis: int | None = None) -> Any:
        return self._flip(x, axis)

    def take(self, x: Any, indices: Any, axis: int = 0) -> Any:
        out, bad = self._take(x, indices, axis)
        if bool(bad):  # one scalar read (waits for the result)
            n = x.shape[axis]
            raise IndexOutOfRange("take", f"indices must lie in [-{n}, {n})", *_shapes_dtypes(x, indices))
        return out

    def scatter_add(self, x: Any, indices: Any, updates: Any, axis: int = 0) -> Any:
        out, bad = self._scatter_add(x, indices, updates, axis)
        if bool(bad):
            n = x.shape[axis]
            raise IndexOutOfRange("scatter_add", f"indices must lie in [-{n}, {n})", *_shapes_dtypes(x, indices, updates))
        return out

    def astype(self, x: Any, dtype: str) -> Any:
        return self._astype(x, dtype)

    # -- linear algebra -------------------------------------------------------------------
    _matmul, _conv = _call("matmul"), _call("conv")
    _cholesky, _triangular_solve = _call("cholesky"), _call("triangular_solve")

    def matmul(self, a: Any, b: Any) -> Any:
        return self._matmul(a, b)

    def conv(self, x: Any, w: Any, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))) -> Any:
        return self._conv(x, w, tuple(strides), _hashable(padding))

    @staticmethod
    def _check_lapack_dtype(op: str, *xs: Any) -> None:
        if any(x.dtype.name in _HALF for x in xs):
            raise UnsupportedDType(op, "XLA's LAPACK/cuSOLVER kernels have no float16/bfloat16", *_shapes_dtypes(*xs))

    def cholesky(self, a: Any) -> Any:
        self._check_lapack_dtype("cholesky", a)
        factor, ok = self._cholesky(a)
        if not bool(ok):  # jax returns NaNs where LAPACK reports failure
            raise NotSquareOrNotDefinite("cholesky", "matrix is not positive definite", *_shapes_dtypes(a))
        return factor

    def triangular_solve(self, a: Any, b: Any, lower: bool = True) -> Any:
        self._check_lapack_dtype("triangular_solve", a, b)
        if a.size == 0 or b.size == 0:
            return jnp.zeros(b.shape, b.dtype, device=self._dev)
        out, singular = self._triangular_solve(a, b, lower)
        if bool(singular):
            raise NotSquareOrNotDefinite("triangular_solve", "matrix is singular", *_shapes_dtypes(a, b))
        return out

    # -- ordering -------------------------------------------------------------------------
    _sort, _argsort, _top_k = _call("sort"), _call("argsort"), _call("top_k")

    def sort(self, x: Any, axis: int = -1, descending: bool = False) -> Any:
        return self._sort(x, axis, descending)

    def argsort(self, x: Any, axis: int = -1, descending: bool = False) -> Any:
        return self._argsort(x, axis, descending)

    def top_k(self, x: Any, k: int) -> tuple[Any, Any]:
        if k == 0:
            shape = (*x.shape[:-1], 0)
            return jnp.zeros(shape, x.dtype, device=self._dev), jnp.zeros(shape, jnp.int64, device=self._dev)
        values, indices = self._top_k(x, k)
        return values, indices

    # -- fft ------------------------------------------------------------------------------
    _fft, _ifft = _call("fft"), _call("ifft")

    def fft(self, x: Any, axis: int = -1) -> Any:
        return self._fft(x, axis)

    def ifft(self, x: Any, axis: int = -1) -> Any:
        return self._ifft(x, axis)

    # -- fused workloads ------------------------------------------------------------------
    _softmax, _logsumexp, _gelu, _layer_norm = _call("softmax"), _call("logsumexp"), _call("gelu"), _call("layer_norm")
    _dense, _mlp_forward = _call("dense"), _call("mlp_forward")

    def softmax(self, x: Any, axis: int = -1) -> Any:
        if x.shape[axis] == 0:  # max over an empty axis has no identity
            return x
        return self._softmax(x, axis)

    def logsumexp(self, x: Any, axis: int = -1) -> Any:
        return self._logsumexp(x, axis)

    def gelu(self, x: Any) -> Any:
        return self._gelu(x)

    def layer_norm(self, x: Any, gamma: Any, beta: Any, eps: float = 1e-5) -> Any:
        if x.shape[-1] == 0:
            return x
        return self._layer_norm(x, gamma, beta, eps)

    def dense(self, x: Any, w: Any, b: Any) -> Any:
        return self._dense(x, w, b)

    def mlp_forward(self, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        return self._mlp_forward(x, w1, b1, w2, b2)
