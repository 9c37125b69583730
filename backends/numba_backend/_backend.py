"""NumbaBackend: the catalog ops on tensorscope's own Numba kernels (tensors are NumPy arrays)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numba  # the package __init__ has already run _config (Numba env) before this module
import numpy as np

from .._base import Backend
from .._catalog import OPS, TensorInfo, ops_in_groups
from .._errors import UnsupportedDType
from . import _config, elementwise, fft, fused, linalg, ordering, reductions, shape
from ._jit import CACHE, _cfg

__all__ = ["NumbaBackend"]

builtins_slice = slice  # the class defines an op named ``slice``

_NUMBA_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64", "complex64", "complex128"})


def _check_dtypes(op: str, *xs: Any) -> None:
    for x in xs:
        if x.dtype.name not in _NUMBA_DTYPES:
            raise UnsupportedDType(op, f"the numba backend has no {x.dtype.name}", [t.shape for t in xs], [t.dtype.name for t in xs])


def _unary(name: str) -> Callable[..., Any]:
    fn = elementwise.UNARY[name]

    def op(self: NumbaBackend, x: np.ndarray) -> np.ndarray:
        _check_dtypes(name, x)
        return fn(x)

    op.__name__ = name
    op.__doc__ = OPS[name].doc
    return op


def _binary(name: str) -> Callable[..., Any]:
    fn = elementwise.BINARY[name]

    def op(self: NumbaBackend, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        _check_dtypes(name, x, y)
        return fn(x, y)

    op.__name__ = name
    op.__doc__ = OPS[name].doc
    return op


def _elementwise_methods() -> dict[str, Callable[..., Any]]:
    """A method for each op of the catalog's unary and binary groups that has a kernel in ``elementwise``."""
    methods = {}
    for name in ops_in_groups("unary", "binary"):
        if name in elementwise.UNARY:
            methods[name] = _unary(name)
        elif name in elementwise.BINARY:
            methods[name] = _binary(name)
    return methods


class NumbaBackend(Backend):
    """tensorscope's SIMD backend: hand-written Numba kernels, vectorized by LLVM, threaded with prange.

    Coverage: all 96 catalog ops. Limits, by dtype: no ``bfloat16`` (NumPy and Numba have
    none: UnsupportedDType); ``float16`` is computed in float32 and rounded back (Numba
    has no float16 arithmetic on CPU), the conversions being NumPy casts. View ops
    (reshape, permute_dims, broadcast_to, expand_dims, squeeze, slice, flip) return NumPy
    views, as the numpy backend does: they move no data. ``matmul``, ``dense``,
    ``mlp_forward`` and ``conv`` call BLAS through ``np.dot`` inside Numba.

    ``TENSORSCOPE_NUMBA_SIMD=0`` compiles every kernel without SIMD (see ``_config``);
    ``describe()`` says which path is compiled.
    """

    name = "numba"

    # -- boundary -------------------------------------------------------------------
    def from_numpy(self, array: Any) -> np.ndarray:
        """A private C-contiguous copy of ``array``."""
        return np.array(array, copy=True, order="C")

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return np.asarray(tensor)

    def info(self, tensor: Any) -> TensorInfo:
        return TensorInfo(tuple(tensor.shape), tensor.dtype.name)

    def describe(self) -> dict[str, str]:
        info = super().describe()
        cpu = _cfg("CPU_NAME") or _host_cpu()
        features = _cfg("CPU_FEATURES") if _cfg("CPU_FEATURES") is not None else "host"
        simd = bool(_cfg("LOOP_VECTORIZE")) and cpu.lower() != "generic"
        info.update(
            numba_version=numba.__version__,
            numpy_version=np.__version__,
            simd_enabled=str(simd).lower(),
            simd_requested=str(_config.SIMD_REQUESTED).lower(),
            simd_env=os.environ.get(_config.ENV_VAR, ""),
            cpu_name=cpu,
            cpu_features=features or "(none)",
            loop_vectorize=str(int(_cfg("LOOP_VECTORIZE"))),
            slp_vectorize=str(int(_cfg("SLP_VECTORIZE"))),
            threads=str(numba.get_num_threads()),
            threading_layer=_threading_layer(),
            cache="on" if CACHE else "off (non-canonical SIMD settings, see _config)",
        )
        return info

    # -- creation -------------------------------------------------------------------
    def arange(self, start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> np.ndarray:
        out = OPS["arange"].infer(start, stop, step, dtype=dtype)
        if stop is None:
            start, stop = 0, start
        _check_dtypes("arange", np.empty(0, dtype=out.dtype))
        return elementwise.arange(start, stop, step, out.shape[0], out.dtype)

    def full(self, shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> np.ndarray:
        out = OPS["full"].infer(shape, fill_value, dtype=dtype)
        _check_dtypes("full", np.empty(0, dtype=out.dtype))
        return elementwise.full(out.shape, fill_value, out.dtype)

    def eye(self, n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> np.ndarray:
        out = OPS["eye"].infer(n_rows, n_cols, k=k, dtype=dtype)
        return elementwise.eye(out.shape[0], out.shape[1], k, out.dtype)

    # -- element-wise: one method per op of the catalog's unary and binary groups -------
    # (generated: each is a dtype check and its kernel). At class scope locals() is the
    # namespace the class is built from, so these become methods like any other.
    locals().update(_elementwise_methods())

    # -- selection ------------------------------------------------------------------
    def where(self, cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        _check_dtypes("where", x, y)
        if x.dtype == np.float16:
            return elementwise.where(cond, x.view(np.uint16), y.view(np.uint16)).view(np.float16)
        if x.dtype == np.bool_:
            return elementwise.where(cond, x.view(np.uint8), y.view(np.uint8)).view(np.bool_)
        return elementwise.where(cond, x, y)

    def clip(self, x: np.ndarray, min: float | None = None, max: float | None = None) -> np.ndarray:
        _check_dtypes("clip", x)
        return elementwise.clip(x, min, max)

    # -- reductions -------------------------------------------------------------------
    def sum(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("sum", x)
        return reductions.sum_(x, axis, keepdims)

    def prod(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("prod", x)
        return reductions.prod(x, axis, keepdims)

    def max(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("max", x)
        return reductions.extreme(x, axis, keepdims, 1)

    def min(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("min", x)
        return reductions.extreme(x, axis, keepdims, -1)

    def argmax(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("argmax", x)
        return reductions.argreduce(x, axis, keepdims, 1)

    def argmin(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("argmin", x)
        return reductions.argreduce(x, axis, keepdims, -1)

    def mean(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("mean", x)
        return reductions.mean(x, axis, keepdims)

    def all(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("all", x)
        return reductions.bool_reduce(x, axis, keepdims, True)

    def any(self, x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        _check_dtypes("any", x)
        return reductions.bool_reduce(x, axis, keepdims, False)

    def cumulative_sum(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        _check_dtypes("cumulative_sum", x)
        return reductions.cumulative_sum(x, axis)

    def window_sum(self, x: np.ndarray, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> np.ndarray:
        _check_dtypes("window_sum", x)
        return reductions.window(x, (window[0], window[1]), (strides[0], strides[1]), False)

    def window_max(self, x: np.ndarray, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> np.ndarray:
        _check_dtypes("window_max", x)
        return reductions.window(x, (window[0], window[1]), (strides[0], strides[1]), True)

    # -- shape and indexing (views move no data; see shape.py) ---------------------------
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

    def slice(self, x: np.ndarray, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> np.ndarray:
        steps = strides or (1,) * x.ndim
        return x[tuple(builtins_slice(s, s + n, st) for s, n, st in zip(starts, lengths, steps, strict=True))]

    def put_slice(self, x: np.ndarray, update: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        _check_dtypes("put_slice", x, update)
        return shape.put_slice(x, update, starts)

    def concat(self, tensors: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
        _check_dtypes("concat", *tensors)
        return shape.concat(list(tensors), axis)

    def stack(self, tensors: Sequence[np.ndarray], axis: int = 0) -> np.ndarray:
        _check_dtypes("stack", *tensors)
        return shape.stack(list(tensors), axis)

    def pad(self, x: np.ndarray, pad_width: Sequence[Sequence[int]], value: float = 0) -> np.ndarray:
        _check_dtypes("pad", x)
        return shape.pad(x, pad_width, value)

    def flip(self, x: np.ndarray, axis: int | None = None) -> np.ndarray:
        return np.flip(x, axis)

    def take(self, x: np.ndarray, indices: np.ndarray, axis: int = 0) -> np.ndarray:
        _check_dtypes("take", x)
        return shape.take(x, indices, axis)

    def scatter_add(self, x: np.ndarray, indices: np.ndarray, updates: np.ndarray, axis: int = 0) -> np.ndarray:
        _check_dtypes("scatter_add", x, updates)
        return shape.scatter_add(x, indices, updates, axis)

    def astype(self, x: np.ndarray, dtype: str) -> np.ndarray:
        _check_dtypes("astype", x, np.empty(0, dtype=dtype) if dtype in _NUMBA_DTYPES else _Fake(dtype))
        return shape.astype(x, dtype)

    # -- linear algebra -------------------------------------------------------------------
    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_dtypes("matmul", a, b)
        return linalg.matmul(a, b)

    def conv(
        self, x: np.ndarray, w: np.ndarray, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))
    ) -> np.ndarray:
        _check_dtypes("conv", x, w)
        return linalg.conv(x, w, strides, padding)

    def cholesky(self, a: np.ndarray) -> np.ndarray:
        _check_dtypes("cholesky", a)
        return linalg.cholesky(a)

    def triangular_solve(self, a: np.ndarray, b: np.ndarray, lower: bool = True) -> np.ndarray:
        _check_dtypes("triangular_solve", a, b)
        return linalg.triangular_solve(a, b, lower)

    # -- ordering -------------------------------------------------------------------------
    def sort(self, x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
        _check_dtypes("sort", x)
        return ordering.sort(x, axis, descending)

    def argsort(self, x: np.ndarray, axis: int = -1, descending: bool = False) -> np.ndarray:
        _check_dtypes("argsort", x)
        return ordering.argsort(x, axis, descending)

    def top_k(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        _check_dtypes("top_k", x)
        return ordering.top_k(x, k)

    # -- fft ------------------------------------------------------------------------------
    def fft(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        return fft.fft(x, axis)

    def ifft(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        return fft.ifft(x, axis)

    # -- fused workloads --------------------------------------------------------------------
    def softmax(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        _check_dtypes("softmax", x)
        return fused.softmax(x, axis)

    def logsumexp(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        _check_dtypes("logsumexp", x)
        return fused.logsumexp(x, axis)

    def gelu(self, x: np.ndarray) -> np.ndarray:
        _check_dtypes("gelu", x)
        return fused.gelu(x)

    def layer_norm(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        _check_dtypes("layer_norm", x, gamma, beta)
        return fused.layer_norm(x, gamma, beta, eps)

    def dense(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_dtypes("dense", x, w, b)
        return fused.dense(x, w, b)

    def mlp_forward(self, x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
        _check_dtypes("mlp_forward", x, w1, b1, w2, b2)
        return fused.mlp_forward(x, w1, b1, w2, b2)


class _Fake:
    """Stands in for an array of a dtype NumPy lacks, for the dtype check's message."""

    def __init__(self, dtype: str) -> None:
        self.dtype = type("D", (), {"name": dtype})()
        self.shape = (0,)


def _host_cpu() -> str:
    import llvmlite.binding as ll

    return str(ll.get_host_cpu_name())


def _threading_layer() -> str:
    try:
        return str(numba.threading_layer())
    except ValueError:  # no parallel kernel has run yet: report the configured choice
        return f"{_cfg('THREADING_LAYER')} (not yet initialised)"
