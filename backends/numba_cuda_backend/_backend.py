"""NumbaCudaBackend: the catalog's element-wise, reduction and fused ops on our own CUDA kernels."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import cuda

from .._base import Backend
from .._catalog import OPS, TensorInfo, ops_in_groups
from .._errors import UnsupportedDType
from . import _launch, elementwise, fused, reductions

__all__ = ["NumbaCudaBackend"]

# complex has no kernels here (yet): UnsupportedDType, never a silent cast
_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64"})


def _check_dtypes(op: str, *xs: Any) -> None:
    for x in xs:
        name = np.dtype(x.dtype).name
        if name not in _DTYPES:
            raise UnsupportedDType(
                op,
                f"the numba:cuda backend has no {name} kernels (it has {', '.join(sorted(_DTYPES))})",
                [tuple(t.shape) for t in xs],
                [np.dtype(t.dtype).name for t in xs],
            )


def _infos(*xs: Any) -> list[TensorInfo]:
    return [TensorInfo(tuple(x.shape), np.dtype(x.dtype).name) for x in xs]


def _unary(name: str) -> Callable[..., Any]:
    spec = OPS[name]

    def op(self: NumbaCudaBackend, x: Any) -> Any:
        _check_dtypes(name, x)
        out = spec.infer(*_infos(x))
        return elementwise.unary(name, x, out.dtype)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _binary(name: str) -> Callable[..., Any]:
    spec = OPS[name]

    def op(self: NumbaCudaBackend, x: Any, y: Any) -> Any:
        _check_dtypes(name, x, y)
        out = spec.infer(*_infos(x, y))
        return elementwise.binary(name, x, y, out.shape, out.dtype)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _reduction(name: str) -> Callable[..., Any]:
    spec = OPS[name]

    def op(self: NumbaCudaBackend, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        _check_dtypes(name, x)
        out = spec.infer(*_infos(x), axis, keepdims)
        ax = None if axis is None else axis % max(x.ndim, 1)
        if name in ("argmax", "argmin"):
            return reductions.arg_extreme(x, ax, out.shape, name == "argmax")
        return reductions.reduce(name, x, ax, out.shape, out.dtype)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _generated_methods() -> dict[str, Callable[..., Any]]:
    methods = {}
    for name in ops_in_groups("unary"):
        methods[name] = _unary(name)
    for name in ops_in_groups("binary"):
        methods[name] = _binary(name)
    for name in ("sum", "prod", "max", "min", "mean", "all", "any", "argmax", "argmin"):
        methods[name] = _reduction(name)
    return methods


def _gemm(a: Any, b: Any) -> Any:
    """``a @ b`` by cuBLAS through CuPy, zero-copy both ways (CUDA array interface).

    In the simulator there is no cuBLAS: NumPy's matmul on the simulated (host) arrays
    stands in for it, so the epilogue kernels around it are still tested.
    """
    if _launch.SIMULATED:
        return cuda.to_device(np.matmul(a.copy_to_host(), b.copy_to_host()))
    import cupy  # the GPU image has it; imported on first use only

    return cuda.as_cuda_array(cupy.matmul(cupy.asarray(a), cupy.asarray(b)), sync=False)  # one stream: see _launch.empty


def _wide(x: Any) -> Any:
    """``x`` itself, or a float32 copy of a float16 ``x`` (the fused kernels compute in float32)."""
    if np.dtype(x.dtype) != np.float16:
        return x
    return elementwise.apply(elementwise.cast_fn("float32"), [x], tuple(x.shape), "float32")


def _narrow(y: Any, like: Any) -> Any:
    """``y`` rounded back to float16 when ``like`` is float16."""
    if np.dtype(like.dtype) != np.float16:
        return y
    return elementwise.apply(elementwise.cast_fn("float16"), [y], tuple(y.shape), "float16")


class NumbaCudaBackend(Backend):
    """tensorscope's own GPU kernels, written with numba-cuda (tensors are numba device arrays).

    Ours: the element-wise group (every unary and binary op, ``where``, ``clip``), the
    reductions but ``cumulative_sum``, and the fused softmax, logsumexp, gelu and
    layer_norm. Delegated: the GEMM of ``matmul``, ``dense`` and ``mlp_forward`` goes to
    cuBLAS through CuPy (the bias and ReLU epilogue is ours). Dtypes: bool, int8-int64,
    uint8, float16 (computed in float32, rounded back), float32, float64; complex and
    bfloat16 raise UnsupportedDType. Everything else
    in the catalog raises UnsupportedOperation. Arrays are C-contiguous: no view ops.
    """

    name = "numba:cuda"

    def __init__(self, device: str = "cuda") -> None:
        super().__init__(device)

    # -- boundary -------------------------------------------------------------------
    def from_numpy(self, array: Any) -> Any:
        """A C-contiguous copy of ``array`` in device memory."""
        return cuda.to_device(np.asarray(array, order="C"))  # not ascontiguousarray: it makes 0-d arrays 1-d

    def to_numpy(self, tensor: Any) -> np.ndarray:
        host: np.ndarray = tensor.copy_to_host()
        return host

    def info(self, tensor: Any) -> TensorInfo:
        return TensorInfo(tuple(tensor.shape), np.dtype(tensor.dtype).name)

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info.update(
            numba_version=numba.__version__,
            simulated=str(_launch.SIMULATED).lower(),
            threads_per_block=str(_launch.TPB),
            allocator=_launch.ALLOC,
        )
        try:
            info["numba_cuda_version"] = importlib.metadata.version("numba-cuda")
        except importlib.metadata.PackageNotFoundError:
            info["numba_cuda_version"] = "(numba's built-in CUDA target)"
        if not _launch.SIMULATED:
            dev = cuda.get_current_device()
            info.update(
                gpu_name=str(dev.name.decode() if isinstance(dev.name, bytes) else dev.name), compute_capability=str(dev.compute_capability)
            )
        return info

    def synchronize(self, *tensors: Any) -> None:
        """Wait for every queued kernel (numba launches on the default stream)."""
        cuda.synchronize()

    # -- element-wise and reductions (generated: dtype check, catalog shape, kernel) ----
    locals().update(_generated_methods())

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        _check_dtypes("where", cond, x, y)
        out = OPS["where"].infer(*_infos(cond, x, y))
        return elementwise.where(cond, x, y, out.shape, out.dtype)

    def clip(self, x: Any, min: float | None = None, max: float | None = None) -> Any:
        _check_dtypes("clip", x)
        out = OPS["clip"].infer(*_infos(x), min, max)
        return elementwise.clip(x, min, max, out.dtype)

    # -- fused ------------------------------------------------------------------------
    def softmax(self, x: Any, axis: int = -1) -> Any:
        _check_dtypes("softmax", x)
        out = OPS["softmax"].infer(*_infos(x), axis)
        return _narrow(fused.softmax_like("softmax", _wide(x), axis % x.ndim, out.shape), x)

    def logsumexp(self, x: Any, axis: int = -1) -> Any:
        _check_dtypes("logsumexp", x)
        out = OPS["logsumexp"].infer(*_infos(x), axis)
        return _narrow(fused.softmax_like("logsumexp", _wide(x), axis % x.ndim, out.shape), x)

    def gelu(self, x: Any) -> Any:
        _check_dtypes("gelu", x)
        wide = _wide(x)
        name = np.dtype(wide.dtype).name
        return _narrow(elementwise.apply(fused.gelu_fn(name), [wide], tuple(x.shape), name), x)

    def layer_norm(self, x: Any, gamma: Any, beta: Any, eps: float = 1e-5) -> Any:
        _check_dtypes("layer_norm", x, gamma, beta)
        return _narrow(fused.layer_norm(_wide(x), _wide(gamma), _wide(beta), eps), x)

    # -- delegated GEMMs --------------------------------------------------------------
    def matmul(self, a: Any, b: Any) -> Any:
        _check_dtypes("matmul", a, b)
        return _gemm(a, b)

    def dense(self, x: Any, w: Any, b: Any) -> Any:
        _check_dtypes("dense", x, w, b)
        return fused.bias_act(_gemm(x, w), b, relu=True)

    def mlp_forward(self, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        _check_dtypes("mlp_forward", x, w1, b1, w2, b2)
        h = fused.bias_act(_gemm(x, w1), b1, relu=True)
        return fused.bias_act(_gemm(h, w2), b2, relu=False)
