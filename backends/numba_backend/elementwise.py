"""Element-wise kernels: unary, binary (with broadcasting), where, clip, creation.

One loop template per shape of call, specialised per op by rebinding its ``_op`` global
(see ``_jit.specialise``), compiled lazily per dtype. Loops are flat over contiguous
memory, so LLVM vectorizes them; broadcasting runs a row kernel whose inner loop is
contiguous (or a hoisted scalar). Checked in the assembly (``Kernel.serial.inspect_asm``)
on znver4: ``add`` float32 is ``vaddps zmm`` 4x unrolled, ``exp`` float32 is
``vfmadd213ps zmm`` chains with ``vpslld``/``vpaddd`` for 2**n, ``sin`` float32 is
``vcvtps2pd`` + ``vfmadd213pd zmm``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numba import prange

from . import _scalar as S
from ._jit import CHEAP, COSTLY, Kernel, jit, specialise

__all__ = ["BINARY", "UNARY", "arange", "binary", "clip", "contiguous", "eye", "full", "unary", "where"]

_op: Any = None  # rebound per op by specialise()
_slow: Any = None
_fix: Any = None

# ---------------------------------------------------------------------------
# loop templates


def _unary_flat(x: Any, out: Any) -> None:
    for i in prange(x.size):
        out[i] = _op(x[i])


#: The "any element needs the slow path" flag of the fix-up kernels is a uint8 ``max``
#: reduction (prange supports ``+=`` and ``max``, not ``|=``): an int64 counter made LLVM
#: vectorize the whole loop at the counter's 8 lanes (float32 in ymm halves), and cost
#: 8-13% of tan's and pow's time (4M float32, one thread).
_CLEAR = np.uint8(0)


def _unary_fixup(x: Any, out: Any, limit: Any) -> None:
    """Fast path everywhere, then libm for the few elements beyond the fast range."""
    bad = _CLEAR
    for i in prange(x.size):
        v = x[i]
        out[i] = _op(v)
        bad = max(bad, np.uint8(abs(v) >= limit))
    if bad:
        for i in range(x.size):
            v = x[i]
            if abs(v) >= limit:
                out[i] = _slow(v)


def _binary_flat(x: Any, y: Any, out: Any) -> None:
    for i in prange(out.size):
        out[i] = _op(x[i], y[i])


def _binary_xs(x: Any, y: Any, out: Any) -> None:
    a = x[0]
    for i in prange(out.size):
        out[i] = _op(a, y[i])


def _binary_ys(x: Any, y: Any, out: Any) -> None:
    b = y[0]
    for i in prange(out.size):
        out[i] = _op(x[i], b)


def _binary_bcast(x: Any, xs: Any, y: Any, ys: Any, shape: Any, out: Any) -> None:
    """out (C order, ``shape``) = op(x, y); xs/ys: element strides, 0 on broadcast axes."""
    nd = shape.size
    inner = shape[nd - 1]
    rows = out.size // inner
    sx = xs[nd - 1]
    sy = ys[nd - 1]
    for r in prange(rows):
        rem = r
        ox = 0
        oy = 0
        for d in range(nd - 2, -1, -1):
            k = rem % shape[d]
            rem //= shape[d]
            ox += k * xs[d]
            oy += k * ys[d]
        base = r * inner
        if sx == 1 and sy == 1:
            for j in range(inner):
                out[base + j] = _op(x[ox + j], y[oy + j])
        elif sx == 0 and sy == 1:
            a = x[ox]
            for j in range(inner):
                out[base + j] = _op(a, y[oy + j])
        elif sx == 1 and sy == 0:
            b = y[oy]
            for j in range(inner):
                out[base + j] = _op(x[ox + j], b)
        else:
            v = _op(x[ox], y[oy])
            for j in range(inner):
                out[base + j] = v


def _pow_flat(x: Any, y: Any, out: Any) -> None:
    bad = _CLEAR
    for i in prange(out.size):
        a = x[i]
        b = y[i]
        out[i] = _op(a, b)
        bad = max(bad, np.uint8(_fix(a, b)))
    if bad:
        for i in range(out.size):
            if _fix(x[i], y[i]):
                out[i] = _slow(x[i], y[i])


def _where_flat(c: Any, x: Any, y: Any, out: Any) -> None:
    for i in prange(out.size):
        out[i] = x[i] if c[i] else y[i]


def _where_bcast(c: Any, cs: Any, x: Any, xs: Any, y: Any, ys: Any, shape: Any, out: Any) -> None:
    nd = shape.size
    inner = shape[nd - 1]
    rows = out.size // inner
    for r in prange(rows):
        rem = r
        oc = 0
        ox = 0
        oy = 0
        for d in range(nd - 2, -1, -1):
            k = rem % shape[d]
            rem //= shape[d]
            oc += k * cs[d]
            ox += k * xs[d]
            oy += k * ys[d]
        base = r * inner
        scs = cs[nd - 1]
        sxs = xs[nd - 1]
        sys_ = ys[nd - 1]
        for j in range(inner):
            out[base + j] = x[ox + j * sxs] if c[oc + j * scs] else y[oy + j * sys_]


def _clip_flat(x: Any, lo: Any, hi: Any, out: Any) -> None:
    a = lo[0]
    b = hi[0]
    for i in prange(out.size):
        v = x[i]
        v = a if v < a else v  # NaN fails both comparisons and stays NaN
        out[i] = b if v > b else v


def _copy_nd(x: Any, out: Any) -> None:
    flat = out.reshape(-1)
    i = 0
    for idx in np.ndindex(x.shape):
        flat[i] = x[idx]
        i += 1  # noqa: SIM113  # numba cannot enumerate() over np.ndindex


def _fill(out: Any, value: Any) -> None:
    for i in prange(out.size):
        out[i] = value


def _arange_float(out: Any, start: float, step: float) -> None:
    for i in prange(out.size):
        out[i] = start + i * step


def _arange_int(out: Any, start: int, step: int) -> None:
    for i in prange(out.size):
        out[i] = start + i * step


def _eye(out: Any, k: int) -> None:
    rows, cols = out.shape
    for i in prange(rows):
        for j in range(cols):
            out[i, j] = 0
        j = i + k
        if 0 <= j < cols:
            out[i, j] = 1


_copy_nd_k = jit(_copy_nd)
_fill_k = Kernel(_fill, CHEAP, frozenset({"contract"}))
_arange_float_k = Kernel(_arange_float, CHEAP, frozenset({"contract"}))
_arange_int_k = Kernel(_arange_int, CHEAP, frozenset({"contract"}))
_eye_k = Kernel(_eye, CHEAP, frozenset({"contract"}))
_where_flat_k = Kernel(_where_flat, CHEAP, frozenset({"contract"}))
_where_bcast_k = Kernel(_where_bcast, CHEAP, frozenset({"contract"}))
_clip_k = Kernel(_clip_flat, CHEAP, frozenset({"contract"}))

# ---------------------------------------------------------------------------
# the ops: name -> (scalar function, threshold, output dtype or None)

_COSTLY_UNARY = {
    "exp",
    "expm1",
    "log",
    "log1p",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "erf",
    "sigmoid",
    "rsqrt",
}
_FLOAT_ONLY = {
    "sqrt",
    "rsqrt",
    "exp",
    "expm1",
    "log",
    "log1p",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "erf",
    "sigmoid",
}
_UNARY_FN = {
    "abs": S.abs_,
    "negative": S.negative,
    "sign": S.sign,
    "floor": S.floor,
    "ceil": S.ceil,
    "round": S.round_,
    "sqrt": S.sqrt,
    "rsqrt": S.rsqrt,
    "exp": S.exp,
    "expm1": S.expm1,
    "log": S.log,
    "log1p": S.log1p,
    "sin": S.sin,
    "cos": S.cos,
    "tan": S.tan,
    "asin": S.asin,
    "acos": S.acos,
    "atan": S.atan,
    "sinh": S.sinh,
    "cosh": S.cosh,
    "tanh": S.tanh,
    "erf": S.erf,
    "sigmoid": S.sigmoid,
    "isnan": S.isnan,
    "isinf": S.isinf,
    "bitwise_invert": S.bitwise_invert,
}
_UNARY_OUT = {"isnan": "bool", "isinf": "bool"}
_FIXUP = {"sin": S.sin_libm, "cos": S.cos_libm, "tan": S.tan_libm}

_BINARY_FN = {
    "add": S.add,
    "subtract": S.subtract,
    "multiply": S.multiply,
    "divide": S.divide,
    "floor_divide": S.floor_divide,
    "remainder": S.remainder,
    "pow": S.pow_,
    "atan2": S.atan2,
    "maximum": S.maximum,
    "minimum": S.minimum,
    "equal": S.equal,
    "not_equal": S.not_equal,
    "less": S.less,
    "less_equal": S.less_equal,
    "greater": S.greater,
    "greater_equal": S.greater_equal,
    "logical_and": S.logical_and,
    "logical_or": S.logical_or,
    "logical_xor": S.logical_xor,
    "bitwise_and": S.bitwise_and,
    "bitwise_or": S.bitwise_or,
    "bitwise_xor": S.bitwise_xor,
    "bitwise_left_shift": S.bitwise_left_shift,
    "bitwise_right_shift": S.bitwise_right_shift,
}
_COSTLY_BINARY = {"divide", "floor_divide", "remainder", "pow", "atan2"}
_BOOL_OUT = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor"}


class UnaryOp:
    """One unary op: its kernels (compiled on first use per dtype) and its output dtype."""

    def __init__(self, name: str) -> None:
        self.name = name
        threshold = COSTLY if name in _COSTLY_UNARY else CHEAP
        if name in _FIXUP:
            self.kernel = specialise(_unary_fixup, name, threshold, _op=_UNARY_FN[name], _slow=_FIXUP[name])
            self.fixup = True
        else:
            self.kernel = specialise(_unary_flat, name, threshold, _op=_UNARY_FN[name])
            self.fixup = False
        self.out_dtype = _UNARY_OUT.get(name)
        self.half_via_single = name in _FLOAT_ONLY or name in {"abs", "negative", "sign", "floor", "ceil", "round"}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        half = x.dtype == np.float16
        xin = contiguous(x.astype(np.float32) if half else x)
        out = np.empty(xin.shape, dtype=self.out_dtype or xin.dtype)
        if out.size:
            flat_in, flat_out = xin.reshape(-1), out.reshape(-1)
            if self.fixup:
                self.kernel(out.size, flat_in, flat_out, flat_in.dtype.type(S.LIMIT))
            else:
                self.kernel(out.size, flat_in, flat_out)
        return out.astype(np.float16) if half and self.out_dtype is None else out


class BinaryOp:
    """One binary op with its flat, scalar-broadcast and general-broadcast kernels."""

    def __init__(self, name: str) -> None:
        self.name = name
        fn = _BINARY_FN[name]
        threshold = COSTLY if name in _COSTLY_BINARY else CHEAP
        if name == "pow":
            self.flat = specialise(_pow_flat, name, threshold, _op=fn, _fix=S.pow_special, _slow=S.pow_libm)
        else:
            self.flat = specialise(_binary_flat, name, threshold, _op=fn)
        self.xs = specialise(_binary_xs, name, threshold, _op=fn)
        self.ys = specialise(_binary_ys, name, threshold, _op=fn)
        self.bcast = specialise(_binary_bcast, name, threshold, _op=fn)
        self.bool_out = name in _BOOL_OUT
        self.exact_pow = name == "pow"

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        half = x.dtype == np.float16
        if half:
            x, y = x.astype(np.float32), y.astype(np.float32)
        shape = np.broadcast_shapes(x.shape, y.shape)
        out = np.empty(shape, dtype=np.bool_ if self.bool_out else x.dtype)
        n = out.size
        if n:
            fo = out.reshape(-1)
            if x.shape == y.shape:
                self.flat(n, contiguous(x).reshape(-1), contiguous(y).reshape(-1), fo)
            elif y.size == 1 and x.shape == shape and not self.exact_pow:
                self.ys(n, contiguous(x).reshape(-1), y.reshape(-1), fo)
            elif x.size == 1 and y.shape == shape and not self.exact_pow:
                self.xs(n, x.reshape(-1), contiguous(y).reshape(-1), fo)
            else:
                if self.exact_pow:  # keep pow's special-case pass: materialise the broadcast
                    xb = contiguous(np.broadcast_to(x, shape)).reshape(-1)
                    yb = contiguous(np.broadcast_to(y, shape)).reshape(-1)
                    self.flat(n, xb, yb, fo)
                else:
                    self._general(x, y, shape, fo)
        return out.astype(np.float16) if half and not self.bool_out else out

    def _general(self, x: np.ndarray, y: np.ndarray, shape: tuple[int, ...], fo: np.ndarray) -> None:
        xs, xf = _bcast_strides(x, shape)
        ys, yf = _bcast_strides(y, shape)
        dims = np.asarray(shape if shape else (1,), dtype=np.int64)
        self.bcast(fo.size, xf, xs, yf, ys, dims, fo)


def _bcast_strides(x: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Element strides of contiguous ``x`` broadcast to ``shape`` (0 on broadcast axes)."""
    xc = contiguous(x)
    nd = max(len(shape), 1)
    full = (1,) * (nd - xc.ndim) + xc.shape
    strides = np.zeros(nd, dtype=np.int64)
    step = 1
    for d in range(nd - 1, -1, -1):
        strides[d] = 0 if full[d] == 1 else step
        step *= full[d]
    return strides, xc.reshape(-1)


def contiguous(x: np.ndarray) -> np.ndarray:
    """``x`` itself if C-contiguous, else a contiguous copy made by a Numba kernel."""
    if x.flags.c_contiguous:
        return x
    out = np.empty(x.shape, dtype=x.dtype)
    if out.size:
        _copy_nd_k(x, out)
    return out


UNARY: dict[str, UnaryOp] = {n: UnaryOp(n) for n in _UNARY_FN}
BINARY: dict[str, BinaryOp] = {n: BinaryOp(n) for n in _BINARY_FN}


def unary(name: str) -> Callable[[np.ndarray], np.ndarray]:
    return UNARY[name]


def binary(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return BINARY[name]


# ---------------------------------------------------------------------------
# selection


def where(cond: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(cond.shape, x.shape, y.shape)
    out = np.empty(shape, dtype=x.dtype)
    n = out.size
    if not n:
        return out
    fo = out.reshape(-1)
    if cond.shape == x.shape == y.shape:
        _where_flat_k(n, contiguous(cond).reshape(-1), contiguous(x).reshape(-1), contiguous(y).reshape(-1), fo)
        return out
    cs, cf = _bcast_strides(cond, shape)
    xs, xf = _bcast_strides(x, shape)
    ys, yf = _bcast_strides(y, shape)
    dims = np.asarray(shape if shape else (1,), dtype=np.int64)
    _where_bcast_k(n, cf, cs, xf, xs, yf, ys, dims, fo)
    return out


def _bound(x: np.ndarray, value: float | None, upper: bool) -> np.ndarray:
    dt = x.dtype
    if dt.kind in "iu":
        info = np.iinfo(dt)
        if value is None:
            v: Any = info.max if upper else info.min
        else:
            v = int(min(max(math.floor(value) if upper else math.ceil(value), info.min), info.max))
        return np.asarray([v], dtype=dt)
    if value is None:
        return np.asarray([np.inf if upper else -np.inf], dtype=dt)
    return np.asarray([value], dtype=dt)


def clip(x: np.ndarray, min: float | None = None, max: float | None = None) -> np.ndarray:
    half = x.dtype == np.float16
    xin = contiguous(x.astype(np.float32) if half else x)
    out = np.empty(xin.shape, dtype=xin.dtype)
    if out.size:
        _clip_k(out.size, xin.reshape(-1), _bound(xin, min, False), _bound(xin, max, True), out.reshape(-1))
    return out.astype(np.float16) if half else out


# ---------------------------------------------------------------------------
# creation


def _fill_value(dtype: np.dtype[Any], value: float) -> Any:
    if dtype == np.float16:
        return None
    return dtype.type(value)


def full(shape: Sequence[int], fill_value: float, dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    out = np.empty(tuple(shape), dtype=np.float32 if dt == np.float16 else dt)
    if out.size:
        with np.errstate(over="ignore", invalid="ignore"):
            _fill_k(out.size, out.reshape(-1), out.dtype.type(fill_value))
    return out.astype(np.float16) if dt == np.float16 else out


def arange(start: float, stop: float, step: float, n: int, dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    work = np.float32 if dt == np.float16 else dt
    out = np.empty(n, dtype=work)
    if n:
        if out.dtype.kind in "iu":
            _arange_int_k(n, out, int(start), int(step))
        else:
            _arange_float_k(n, out, float(start), float(step))
    return out.astype(np.float16) if dt == np.float16 else out


def eye(n_rows: int, n_cols: int, k: int, dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    out = np.empty((n_rows, n_cols), dtype=np.float32 if dt == np.float16 else dt)
    if out.size:
        _eye_k(out.size, out, k)
    return out.astype(np.float16) if dt == np.float16 else out
