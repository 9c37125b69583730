"""The TorchBackend class (see the package docstring for coverage and caveats)."""

from __future__ import annotations

import builtins
import platform
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._base import Backend, native_checked
from .._catalog import OPS, TensorInfo
from .._errors import BackendUnavailable, IndexOutOfRange, NotSquareOrNotDefinite, UnsupportedDType

__all__ = ["TorchBackend"]

_DTYPES: dict[str, torch.dtype] = {
    "bool": torch.bool,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
_NAMES: dict[torch.dtype, str] = {v: k for k, v in _DTYPES.items()}
_HALF = frozenset({torch.float16, torch.bfloat16})
_POOL_DTYPES = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})

try:  # ml_dtypes (shipped with jax) gives NumPy a bfloat16
    import ml_dtypes

    _NP_BFLOAT16: Any = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - depends on the environment
    _NP_BFLOAT16 = None


def _torch_dtypes(names: frozenset[str]) -> frozenset[torch.dtype]:
    return frozenset(_DTYPES[n] for n in names)


def _native_error(be: TorchBackend, op: str, args: tuple[Any, ...], exc: Exception) -> BaseException:
    """The catalog's error for a native failure; resource errors pass through unchanged."""
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return exc
    return be.bad_input(op, args, {}, exc)


def _unary(name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[..., Any]:
    spec = OPS[name]
    allowed = _torch_dtypes(spec.dtypes)

    @native_checked
    def op(self: TorchBackend, x: torch.Tensor) -> torch.Tensor:
        if x.dtype not in allowed:
            spec.infer(self.info(x))  # raises the catalog's UnsupportedDType
        return fn(x)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _binary(name: str, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., Any]:
    spec = OPS[name]
    allowed = _torch_dtypes(spec.dtypes)

    @native_checked
    def op(self: TorchBackend, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        if dtype is not y.dtype or dtype not in allowed:  # torch dtypes are singletons
            spec.infer(self.info(x), self.info(y))  # no implicit promotion: the catalog's error
        try:
            return fn(x, y)
        except Exception as exc:  # shapes that do not broadcast, integer division by zero
            raise _native_error(self, name, (x, y), exc) from exc

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


def _sign(x: torch.Tensor) -> torch.Tensor:
    out = torch.sign(x)
    if x.is_floating_point():  # torch.sign(nan) is 0; the catalog keeps NaN
        out = torch.where(torch.isnan(x), x, out)
    return out


def _acc(x: torch.Tensor) -> torch.dtype | None:
    """Accumulator dtype of sum/prod/cumsum: int64 for ints and bool."""
    return None if x.is_floating_point() else torch.int64


def _full_reduce(out: torch.Tensor, x: torch.Tensor, keepdims: bool) -> torch.Tensor:
    return out.reshape((1,) * x.ndim) if keepdims else out


def _no_tf32() -> None:
    """float32 matmul (cuBLAS) and convolution (cuDNN) at full float32 precision, process-wide.

    torch multiplies float32 matrices in full precision by default but lets cuDNN run
    float32 convolutions in TF32 (a 10-bit mantissa); the catalog's float32 is IEEE
    float32 on every backend (jax runs at ``Precision.HIGHEST``, CuPy leaves TF32 off).
    The legacy ``allow_tf32`` switches are used, not torch >= 2.9's ``fp32_precision``:
    once the new API has set cuDNN's precision, reading ``torch.backends.cudnn.allow_tf32``
    (as ``torch.backends.cudnn.flags()`` does) raises a RuntimeError in torch 2.13.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _tf32_flag(read: Callable[[], bool]) -> str:
    """A TF32 switch as text; torch raises when legacy and new precision settings were mixed."""
    try:
        return str(read())
    except RuntimeError as exc:
        return f"unknown ({str(exc).splitlines()[0][:120]})"


class TorchBackend(Backend):
    """Every catalog op on PyTorch, on CPU or one CUDA device."""

    name = "torch"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        if device == "cuda":
            if not torch.cuda.is_available():
                reason = "torch.cuda.is_available() is False (no NVIDIA GPU/driver"
                reason += f", or torch {torch.__version__} built without CUDA)" if torch.version.cuda is None else ")"
                raise BackendUnavailable("torch:cuda", reason, "pip install torch (a CUDA build)")
            self._device = torch.device("cuda", torch.cuda.current_device())
            _no_tf32()
        elif device == "cpu":
            self._device = torch.device("cpu")
        else:
            raise BackendUnavailable(f"torch:{device}", f"unknown device {device!r}; torch supports cpu, cuda")
        self._cuda = self._device.type == "cuda"

    # -- boundary -------------------------------------------------------------------
    def from_numpy(self, array: Any) -> torch.Tensor:
        """A private C-contiguous copy of ``array`` on this backend's device."""
        array = np.asarray(array)
        if _NP_BFLOAT16 is not None and array.dtype == _NP_BFLOAT16:
            bits = torch.from_numpy(np.array(array.view(np.int16), copy=True, order="C"))
            return bits.view(torch.bfloat16).to(self._device)
        if array.dtype.name not in _DTYPES:
            raise UnsupportedDType("from_numpy", f"torch backend has no dtype {array.dtype.name}", [array.shape], [array.dtype.name])
        if self._cuda:
            # np.asarray, not np.ascontiguousarray: that one turns a 0-d array into shape (1,).
            # A read-only array is copied first (torch warns on non-writable memory); either
            # way .to(device) makes the private copy.
            host = np.asarray(array, order="C")
            if not host.flags.writeable:
                host = host.copy()
            return torch.from_numpy(host).to(self._device)
        return torch.from_numpy(np.array(array, copy=True, order="C"))

    def to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        tensor = tensor.detach()
        if tensor.dtype == torch.bfloat16:
            if _NP_BFLOAT16 is None:  # pragma: no cover - depends on the environment
                return tensor.float().cpu().numpy()
            return tensor.view(torch.int16).cpu().numpy().view(_NP_BFLOAT16)
        return tensor.cpu().numpy()

    def info(self, tensor: Any) -> TensorInfo:
        try:
            return TensorInfo(tuple(tensor.shape), _NAMES[tensor.dtype])
        except (AttributeError, KeyError, TypeError):
            raise TypeError(f"{self.name}: expected a torch.Tensor of a catalog dtype, got {type(tensor).__name__}") from None

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["torch_version"] = torch.__version__
        info["threads"] = str(torch.get_num_threads())
        info["interop_threads"] = str(torch.get_num_interop_threads())
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["mkldnn"] = str(torch.backends.mkldnn.is_available())
        if self._cuda:
            props = torch.cuda.get_device_properties(self._device)
            info["device_name"] = props.name
            info["compute_capability"] = f"{props.major}.{props.minor}"
            info["memory_total_bytes"] = str(props.total_memory)
            info["multiprocessors"] = str(props.multi_processor_count)
            info["cuda_version"] = str(torch.version.cuda)
            info["cudnn_version"] = str(torch.backends.cudnn.version())
            info["tf32_matmul"] = _tf32_flag(lambda: torch.backends.cuda.matmul.allow_tf32)
            info["tf32_conv"] = _tf32_flag(lambda: torch.backends.cudnn.allow_tf32)
        else:
            info["device_name"] = platform.processor() or platform.machine()
        return info

    def synchronize(self, *tensors: Any) -> None:
        """Wait for the CUDA device's queued work (``torch.cuda.synchronize``); no-op on CPU."""
        if self._cuda:
            torch.cuda.synchronize(self._device)

    # -- creation -------------------------------------------------------------------
    def arange(self, start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> torch.Tensor:
        out = OPS["arange"].infer(start, stop, step, dtype=dtype)
        if stop is None:
            start, stop = 0, start
        if out.shape == (0,):  # torch refuses bounds that are inconsistent with the step's sign
            return torch.empty(0, dtype=_DTYPES[out.dtype], device=self._device)
        return torch.arange(start, stop, step, dtype=_DTYPES[out.dtype], device=self._device)

    def full(self, shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> torch.Tensor:
        out = OPS["full"].infer(shape, fill_value, dtype=dtype)
        return torch.full(out.shape, fill_value, dtype=_DTYPES[out.dtype], device=self._device)

    def eye(self, n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> torch.Tensor:
        cols = n_rows if n_cols is None else n_cols
        if k == 0:
            return torch.eye(n_rows, cols, dtype=_DTYPES[dtype], device=self._device)
        out = torch.zeros((n_rows, cols), dtype=_DTYPES[dtype], device=self._device)
        out.diagonal(k).fill_(1)
        return out

    # -- element-wise unary -----------------------------------------------------------
    abs = _unary("abs", torch.abs)
    negative = _unary("negative", torch.neg)
    sign = _unary("sign", _sign)
    floor = _unary("floor", torch.floor)
    ceil = _unary("ceil", torch.ceil)
    round = _unary("round", torch.round)  # half to even
    sqrt = _unary("sqrt", torch.sqrt)
    rsqrt = _unary("rsqrt", torch.rsqrt)
    exp = _unary("exp", torch.exp)
    expm1 = _unary("expm1", torch.expm1)
    log = _unary("log", torch.log)
    log1p = _unary("log1p", torch.log1p)
    sin = _unary("sin", torch.sin)
    cos = _unary("cos", torch.cos)
    tan = _unary("tan", torch.tan)
    asin = _unary("asin", torch.asin)
    acos = _unary("acos", torch.acos)
    atan = _unary("atan", torch.atan)
    sinh = _unary("sinh", torch.sinh)
    cosh = _unary("cosh", torch.cosh)
    tanh = _unary("tanh", torch.tanh)
    erf = _unary("erf", torch.erf)
    sigmoid = _unary("sigmoid", torch.sigmoid)
    isnan = _unary("isnan", torch.isnan)
    isinf = _unary("isinf", torch.isinf)
    bitwise_invert = _unary("bitwise_invert", torch.bitwise_not)

    # -- element-wise binary ----------------------------------------------------------
    add = _binary("add", torch.add)
    subtract = _binary("subtract", torch.sub)
    multiply = _binary("multiply", torch.mul)
    divide = _binary("divide", torch.div)
    floor_divide = _binary("floor_divide", torch.floor_divide)
    remainder = _binary("remainder", torch.remainder)  # sign of the divisor
    pow = _binary("pow", torch.pow)
    atan2 = _binary("atan2", torch.atan2)
    maximum = _binary("maximum", torch.maximum)  # NaN-propagating
    minimum = _binary("minimum", torch.minimum)
    equal = _binary("equal", torch.eq)
    not_equal = _binary("not_equal", torch.ne)
    less = _binary("less", torch.lt)
    less_equal = _binary("less_equal", torch.le)
    greater = _binary("greater", torch.gt)
    greater_equal = _binary("greater_equal", torch.ge)
    logical_and = _binary("logical_and", torch.logical_and)
    logical_or = _binary("logical_or", torch.logical_or)
    logical_xor = _binary("logical_xor", torch.logical_xor)
    bitwise_and = _binary("bitwise_and", torch.bitwise_and)
    bitwise_or = _binary("bitwise_or", torch.bitwise_or)
    bitwise_xor = _binary("bitwise_xor", torch.bitwise_xor)
    bitwise_left_shift = _binary("bitwise_left_shift", torch.bitwise_left_shift)
    bitwise_right_shift = _binary("bitwise_right_shift", torch.bitwise_right_shift)  # arithmetic on signed ints

    # -- selection ------------------------------------------------------------------
    def where(self, cond: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.where(cond, x, y)

    def clip(self, x: torch.Tensor, min: float | None = None, max: float | None = None) -> torch.Tensor:
        if min is None and max is None:
            return x.clone()
        if not x.is_floating_point():
            # int bounds (a float would promote the result), held in the dtype's range (else they wrap)
            lo, hi = torch.iinfo(x.dtype).min, torch.iinfo(x.dtype).max
            min = None if min is None else builtins.min(builtins.max(int(min), lo), hi)
            max = None if max is None else builtins.min(builtins.max(int(max), lo), hi)
        return torch.clamp(x, min, max)

    # -- reductions -------------------------------------------------------------------
    def sum(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.sum(x, dtype=_acc(x)), x, keepdims)
        return torch.sum(x, dim=axis, keepdim=keepdims, dtype=_acc(x))

    def prod(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.prod(x, dtype=_acc(x)), x, keepdims)
        return torch.prod(x, dim=axis, keepdim=keepdims, dtype=_acc(x))

    def max(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.amax(x), x, keepdims)
        return torch.amax(x, dim=axis, keepdim=keepdims)  # NaN-propagating

    def min(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.amin(x), x, keepdims)
        return torch.amin(x, dim=axis, keepdim=keepdims)

    def argmax(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.argmax(x), x, keepdims)
        return torch.argmax(x, dim=axis, keepdim=keepdims)  # first maximum; first NaN if any

    def argmin(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.argmin(x), x, keepdims)
        return torch.argmin(x, dim=axis, keepdim=keepdims)

    def mean(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        if axis is None:
            return _full_reduce(torch.mean(x), x, keepdims)
        return torch.mean(x, dim=axis, keepdim=keepdims)

    def all(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        out = _full_reduce(torch.all(x), x, keepdims) if axis is None else torch.all(x, dim=axis, keepdim=keepdims)
        return out.to(torch.bool)  # torch.all keeps uint8

    def any(self, x: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        out = _full_reduce(torch.any(x), x, keepdims) if axis is None else torch.any(x, dim=axis, keepdim=keepdims)
        return out.to(torch.bool)

    def cumulative_sum(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        return torch.cumsum(x, dim=axis, dtype=_acc(x))

    @staticmethod
    def _windows(x: torch.Tensor, window: Sequence[int], strides: Sequence[int]) -> torch.Tensor:
        """View of shape (..., Ho, Wo, kh, kw) over the last two axes."""
        return x.unfold(-2, window[0], strides[0]).unfold(-2, window[1], strides[1])

    @staticmethod
    def _pool(fn: Callable[..., torch.Tensor], x: torch.Tensor, window: Sequence[int], strides: Sequence[int], **kw: Any) -> torch.Tensor:
        h, w = x.shape[-2:]
        out = fn(x.reshape(-1, 1, h, w), tuple(window), tuple(strides), **kw)
        return out.reshape(*x.shape[:-2], *out.shape[-2:])

    def window_sum(self, x: torch.Tensor, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> torch.Tensor:
        if x.dtype in _POOL_DTYPES and x.numel():
            return self._pool(F.avg_pool2d, x, window, strides, divisor_override=1)
        return self._windows(x, window, strides).sum(dim=(-2, -1), dtype=x.dtype)

    def window_max(self, x: torch.Tensor, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> torch.Tensor:
        if x.dtype in _POOL_DTYPES and x.numel():
            return self._pool(F.max_pool2d, x, window, strides)  # NaN-propagating
        return self._windows(x, window, strides).amax(dim=(-2, -1))

    # -- shape and indexing -------------------------------------------------------------
    def reshape(self, x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        return torch.reshape(x, tuple(shape))

    def permute_dims(self, x: torch.Tensor, axes: Sequence[int]) -> torch.Tensor:
        return x.permute(tuple(axes))

    def broadcast_to(self, x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        return x.broadcast_to(tuple(shape))

    def expand_dims(self, x: torch.Tensor, axis: int = 0) -> torch.Tensor:
        return x.unsqueeze(axis)

    def squeeze(self, x: torch.Tensor, axis: int) -> torch.Tensor:
        return x.squeeze(axis)

    @staticmethod
    def _slices(starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int]) -> tuple[slice, ...]:
        return tuple(slice(s, s + n, st) for s, n, st in zip(starts, lengths, strides, strict=True))

    def slice(self, x: torch.Tensor, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> torch.Tensor:
        return x[self._slices(starts, lengths, strides or (1,) * x.ndim)]

    def put_slice(self, x: torch.Tensor, update: torch.Tensor, starts: Sequence[int]) -> torch.Tensor:
        out = x.clone()
        out[self._slices(starts, update.shape, (1,) * x.ndim)] = update
        return out

    def concat(self, tensors: Sequence[torch.Tensor], axis: int = 0) -> torch.Tensor:
        return torch.cat(list(tensors), dim=axis)

    def stack(self, tensors: Sequence[torch.Tensor], axis: int = 0) -> torch.Tensor:
        return torch.stack(list(tensors), dim=axis)

    def pad(self, x: torch.Tensor, pad_width: Sequence[Sequence[int]], value: float = 0) -> torch.Tensor:
        flat: list[int] = []
        for before, after in reversed([tuple(p) for p in pad_width]):  # torch lists the last axis first
            flat += [before, after]
        return torch.constant_pad_nd(x, flat, value)

    def flip(self, x: torch.Tensor, axis: int | None = None) -> torch.Tensor:
        return torch.flip(x, tuple(range(x.ndim)) if axis is None else (axis,))

    def _checked_indices(self, op: str, x: torch.Tensor, indices: torch.Tensor, axis: int, *more: torch.Tensor) -> torch.Tensor:
        """Raise IndexOutOfRange unless every index is in [-n, n); map negatives to n + i."""
        if not indices.numel():
            return indices
        n = x.shape[axis]
        lo, hi = torch.stack(torch.aminmax(indices)).tolist()  # one device-to-host read
        if lo < -n or hi >= n:
            inputs = (x, indices, *more)
            raise IndexOutOfRange(
                op, f"indices must lie in [-{n}, {n})", [tuple(t.shape) for t in inputs], [_NAMES[t.dtype] for t in inputs]
            )
        return indices if lo >= 0 else torch.where(indices < 0, indices + n, indices)

    def take(self, x: torch.Tensor, indices: torch.Tensor, axis: int = 0) -> torch.Tensor:
        return torch.index_select(x, axis, self._checked_indices("take", x, indices, axis))

    def scatter_add(self, x: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor, axis: int = 0) -> torch.Tensor:
        return x.index_add(axis, self._checked_indices("scatter_add", x, indices, axis, updates), updates)

    def astype(self, x: torch.Tensor, dtype: str) -> torch.Tensor:
        return x.to(_DTYPES[dtype])

    # -- linear algebra -------------------------------------------------------------------
    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)

    def conv(
        self, x: torch.Tensor, w: torch.Tensor, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))
    ) -> torch.Tensor:
        (top, bottom), (left, right) = (tuple(p) for p in padding)
        if top == bottom and left == right:
            return F.conv2d(x, w, stride=tuple(strides), padding=(top, left))
        return F.conv2d(torch.constant_pad_nd(x, [left, right, top, bottom]), w, stride=tuple(strides))

    @staticmethod
    def _check_lapack_dtype(op: str, *xs: torch.Tensor) -> None:
        if any(x.dtype in _HALF for x in xs):
            raise UnsupportedDType(
                op, "torch's LAPACK has no float16/bfloat16", [tuple(x.shape) for x in xs], [_NAMES[x.dtype] for x in xs]
            )

    def cholesky(self, a: torch.Tensor) -> torch.Tensor:
        self._check_lapack_dtype("cholesky", a)
        factor, info = torch.linalg.cholesky_ex(a)
        if info.numel() and bool(info.any()):
            raise NotSquareOrNotDefinite("cholesky", "matrix is not positive definite", [tuple(a.shape)], [_NAMES[a.dtype]])
        return factor

    def triangular_solve(self, a: torch.Tensor, b: torch.Tensor, lower: bool = True) -> torch.Tensor:
        self._check_lapack_dtype("triangular_solve", a, b)
        if a.numel() == 0 or b.numel() == 0:
            return torch.zeros_like(b)
        if bool((torch.diagonal(a, dim1=-2, dim2=-1) == 0).any()):  # LAPACK trtrs refuses these too
            raise NotSquareOrNotDefinite(
                "triangular_solve", "matrix is singular", [tuple(a.shape), tuple(b.shape)], [_NAMES[a.dtype], _NAMES[b.dtype]]
            )
        return torch.linalg.solve_triangular(a, b, upper=not lower)

    # -- ordering -------------------------------------------------------------------------
    def sort(self, x: torch.Tensor, axis: int = -1, descending: bool = False) -> torch.Tensor:
        return torch.sort(x, dim=axis, descending=descending, stable=True).values  # NaN sorts as the largest

    def argsort(self, x: torch.Tensor, axis: int = -1, descending: bool = False) -> torch.Tensor:
        return torch.argsort(x, dim=axis, descending=descending, stable=True)

    def top_k(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
        return values[..., :k], indices[..., :k]

    # -- fft ------------------------------------------------------------------------------
    def fft(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        return torch.fft.fft(x, dim=axis)

    def ifft(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        return torch.fft.ifft(x, dim=axis)

    # -- fused workloads --------------------------------------------------------------------
    def softmax(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        return torch.softmax(x, dim=axis)

    def logsumexp(self, x: torch.Tensor, axis: int = -1) -> torch.Tensor:
        return torch.logsumexp(x, dim=axis)

    def gelu(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x)  # exact (erf) form

    def layer_norm(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        if x.shape[-1] == 0:
            return x.clone()
        return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps)

    def dense(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = torch.matmul(x, w)
        out += b
        return out.relu_()

    def mlp_forward(self, x: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor) -> torch.Tensor:
        out = torch.matmul(self.dense(x, w1, b1), w2)
        out += b2
        return out
