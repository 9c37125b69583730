"""PythonBackend: the class that binds the catalog ops to the pure-Python kernels.

Every op is validated by the catalog before its kernel runs (see
:mod:`backends._base`), so kernels only see valid input; the few data-dependent errors
(indices out of range, a matrix that is not positive definite or is singular) are
raised by the kernels before any result exists.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from typing import Any

from .._base import Backend
from .._catalog import TensorInfo
from .._errors import UnsupportedDType
from . import creation, fft, fused, linalg, ordering, reductions
from . import shape as shape_ops
from ._tensor import SUPPORTED_DTYPES, PyTensor
from .elementwise import binary, clip, unary, where

__all__ = ["PythonBackend"]


class PythonBackend(Backend):
    """Every catalog op in pure Python: the baseline every speedup is measured against."""

    name = "python"

    # -- boundary (the only place NumPy is touched) ------------------------------------
    def from_numpy(self, array: Any) -> PyTensor:
        """A PyTensor holding ``array``'s values as Python objects (row-major)."""
        import numpy as np

        arr = np.asarray(array)
        dtype = arr.dtype.name
        if dtype not in SUPPORTED_DTYPES:
            raise UnsupportedDType("from_numpy", f"the python backend has no {dtype}", [arr.shape], [dtype])
        return PyTensor(arr.ravel(order="C").tolist(), tuple(int(d) for d in arr.shape), dtype)

    def to_numpy(self, tensor: PyTensor) -> Any:
        """A new NumPy array with the tensor's values, shape and dtype."""
        import numpy as np

        return np.array(tensor.data, dtype=tensor.dtype).reshape(tensor.shape)

    def info(self, tensor: Any) -> TensorInfo:
        if not isinstance(tensor, PyTensor):
            raise TypeError(f"the python backend works on PyTensor, got {type(tensor).__name__} (convert with from_numpy)")
        return TensorInfo(tensor.shape, tensor.dtype)

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["python_version"] = platform.python_version()
        info["python_implementation"] = platform.python_implementation()
        info["python_compiler"] = platform.python_compiler()
        info["python_jit"] = str(bool(getattr(getattr(sys, "_jit", None), "is_enabled", lambda: False)()))
        return info

    # -- creation -------------------------------------------------------------------
    def arange(self, start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> PyTensor:
        return creation.arange(start, stop, step, dtype)

    def full(self, shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> PyTensor:
        return creation.full(shape, fill_value, dtype)

    def eye(self, n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> PyTensor:
        return creation.eye(n_rows, n_cols, k, dtype)

    # -- element-wise unary -----------------------------------------------------------
    abs = unary("abs")
    negative = unary("negative")
    sign = unary("sign")
    floor = unary("floor")
    ceil = unary("ceil")
    round = unary("round")
    sqrt = unary("sqrt")
    rsqrt = unary("rsqrt")
    exp = unary("exp")
    expm1 = unary("expm1")
    log = unary("log")
    log1p = unary("log1p")
    sin = unary("sin")
    cos = unary("cos")
    tan = unary("tan")
    asin = unary("asin")
    acos = unary("acos")
    atan = unary("atan")
    sinh = unary("sinh")
    cosh = unary("cosh")
    tanh = unary("tanh")
    erf = unary("erf")
    sigmoid = unary("sigmoid")
    isnan = unary("isnan")
    isinf = unary("isinf")
    bitwise_invert = unary("bitwise_invert")

    # -- element-wise binary ----------------------------------------------------------
    add = binary("add")
    subtract = binary("subtract")
    multiply = binary("multiply")
    divide = binary("divide")
    floor_divide = binary("floor_divide")
    remainder = binary("remainder")
    pow = binary("pow")
    atan2 = binary("atan2")
    maximum = binary("maximum")
    minimum = binary("minimum")
    equal = binary("equal")
    not_equal = binary("not_equal")
    less = binary("less")
    less_equal = binary("less_equal")
    greater = binary("greater")
    greater_equal = binary("greater_equal")
    logical_and = binary("logical_and")
    logical_or = binary("logical_or")
    logical_xor = binary("logical_xor")
    bitwise_and = binary("bitwise_and")
    bitwise_or = binary("bitwise_or")
    bitwise_xor = binary("bitwise_xor")
    bitwise_left_shift = binary("bitwise_left_shift")
    bitwise_right_shift = binary("bitwise_right_shift")

    # -- selection ------------------------------------------------------------------
    def where(self, cond: PyTensor, x: PyTensor, y: PyTensor) -> PyTensor:
        return where(cond, x, y)

    def clip(self, x: PyTensor, min: float | None = None, max: float | None = None) -> PyTensor:
        return clip(x, min, max)

    # -- reductions -------------------------------------------------------------------
    def sum(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("sum", x, axis, keepdims)

    def prod(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("prod", x, axis, keepdims)

    def max(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("max", x, axis, keepdims)

    def min(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("min", x, axis, keepdims)

    def argmax(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("argmax", x, axis, keepdims)

    def argmin(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("argmin", x, axis, keepdims)

    def mean(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("mean", x, axis, keepdims)

    def all(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("all", x, axis, keepdims)

    def any(self, x: PyTensor, axis: int | None = None, keepdims: bool = False) -> PyTensor:
        return reductions.reduce("any", x, axis, keepdims)

    def cumulative_sum(self, x: PyTensor, axis: int = -1) -> PyTensor:
        return reductions.cumulative_sum(x, axis)

    def window_sum(self, x: PyTensor, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> PyTensor:
        return reductions.window_sum(x, window, strides)

    def window_max(self, x: PyTensor, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> PyTensor:
        return reductions.window_max(x, window, strides)

    # -- shape and indexing -------------------------------------------------------------
    def reshape(self, x: PyTensor, shape: Sequence[int]) -> PyTensor:
        return shape_ops.reshape(x, shape)

    def permute_dims(self, x: PyTensor, axes: Sequence[int]) -> PyTensor:
        return shape_ops.permute_dims(x, axes)

    def broadcast_to(self, x: PyTensor, shape: Sequence[int]) -> PyTensor:
        return shape_ops.broadcast_to(x, shape)

    def expand_dims(self, x: PyTensor, axis: int = 0) -> PyTensor:
        ax = axis % (x.ndim + 1)
        return PyTensor(x.data, (*x.shape[:ax], 1, *x.shape[ax:]), x.dtype)

    def squeeze(self, x: PyTensor, axis: int) -> PyTensor:
        ax = axis % x.ndim
        return PyTensor(x.data, x.shape[:ax] + x.shape[ax + 1 :], x.dtype)

    def slice(self, x: PyTensor, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> PyTensor:
        return shape_ops.slice_(x, starts, lengths, strides)

    def put_slice(self, x: PyTensor, update: PyTensor, starts: Sequence[int]) -> PyTensor:
        return shape_ops.put_slice(x, update, starts)

    def concat(self, tensors: Sequence[PyTensor], axis: int = 0) -> PyTensor:
        return shape_ops.concat(tensors, axis)

    def stack(self, tensors: Sequence[PyTensor], axis: int = 0) -> PyTensor:
        return shape_ops.stack(tensors, axis)

    def pad(self, x: PyTensor, pad_width: Sequence[Sequence[int]], value: float = 0) -> PyTensor:
        return shape_ops.pad(x, pad_width, value)

    def flip(self, x: PyTensor, axis: int | None = None) -> PyTensor:
        return shape_ops.flip(x, axis)

    def take(self, x: PyTensor, indices: PyTensor, axis: int = 0) -> PyTensor:
        return shape_ops.take(x, indices, axis)

    def scatter_add(self, x: PyTensor, indices: PyTensor, updates: PyTensor, axis: int = 0) -> PyTensor:
        return shape_ops.scatter_add(x, indices, updates, axis)

    def astype(self, x: PyTensor, dtype: str) -> PyTensor:
        if dtype not in SUPPORTED_DTYPES:
            raise UnsupportedDType("astype", f"the python backend has no {dtype}", [x.shape], [x.dtype])
        return shape_ops.astype(x, dtype)

    # -- linear algebra -------------------------------------------------------------------
    def matmul(self, a: PyTensor, b: PyTensor) -> PyTensor:
        return linalg.matmul(a, b)

    def conv(
        self, x: PyTensor, w: PyTensor, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))
    ) -> PyTensor:
        return linalg.conv(x, w, strides, padding)

    def cholesky(self, a: PyTensor) -> PyTensor:
        return linalg.cholesky(a)

    def triangular_solve(self, a: PyTensor, b: PyTensor, lower: bool = True) -> PyTensor:
        return linalg.triangular_solve(a, b, lower)

    # -- ordering -------------------------------------------------------------------------
    def sort(self, x: PyTensor, axis: int = -1, descending: bool = False) -> PyTensor:
        return ordering.sort(x, axis, descending)

    def argsort(self, x: PyTensor, axis: int = -1, descending: bool = False) -> PyTensor:
        return ordering.argsort(x, axis, descending)

    def top_k(self, x: PyTensor, k: int) -> tuple[PyTensor, PyTensor]:
        return ordering.top_k(x, k)

    # -- fft ------------------------------------------------------------------------------
    def fft(self, x: PyTensor, axis: int = -1) -> PyTensor:
        return fft.fft(x, axis)

    def ifft(self, x: PyTensor, axis: int = -1) -> PyTensor:
        return fft.ifft(x, axis)

    # -- fused workloads --------------------------------------------------------------------
    def softmax(self, x: PyTensor, axis: int = -1) -> PyTensor:
        return fused.softmax(x, axis)

    def logsumexp(self, x: PyTensor, axis: int = -1) -> PyTensor:
        return fused.logsumexp(x, axis)

    def gelu(self, x: PyTensor) -> PyTensor:
        return fused.gelu(x)

    def layer_norm(self, x: PyTensor, gamma: PyTensor, beta: PyTensor, eps: float = 1e-5) -> PyTensor:
        return fused.layer_norm(x, gamma, beta, eps)

    def dense(self, x: PyTensor, w: PyTensor, b: PyTensor) -> PyTensor:
        return fused.dense(x, w, b)

    def mlp_forward(self, x: PyTensor, w1: PyTensor, b1: PyTensor, w2: PyTensor, b2: PyTensor) -> PyTensor:
        return fused.mlp_forward(x, w1, b1, w2, b2)
