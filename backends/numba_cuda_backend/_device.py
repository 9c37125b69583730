"""Per-element device functions of the element-wise ops, by op and dtype.

One source with the CPU backend where the semantics live: the integer and special-value
forms (abs, sign, isnan/isinf, bitwise_invert, floor_divide and remainder on integers,
maximum/minimum with NaN propagation, the shifts) are the very functions the numba
backend's ``_scalar`` overloads return, compiled here for the GPU. The float
transcendentals are not: ``_math``'s polynomials exist to make LLVM vectorize on a CPU
without SVML, while on the GPU ``math.exp`` & co. compile to CUDA's libdevice, which is
what a GPU wants (and ``_math``'s bit-cast intrinsics cannot run in the simulator).
Rounding, float floor division and remainder are written here with ``math.fmod`` and
integer truncation, which both CUDA and the simulator (plain Python) run.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import cuda
from numba.np.numpy_support import from_dtype

from ..numba_backend import _scalar as S

__all__ = ["binary", "unary"]


def _kind(dtype: np.dtype) -> str:
    return "f" if dtype.kind == "f" else ("b" if dtype.kind == "b" else "i")


def _float_helpers(dtype: np.dtype) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """floor (as a function and as a device function), ceil and round-half-to-even for one float dtype, exact for every value."""
    f = dtype.type
    one, half, two = f(1.0), f(0.5), f(2.0)
    big = f(2.0**52 if dtype == np.float64 else 2.0**23)  # at or beyond: already an integer

    def floor(x):
        if not (abs(x) < big):  # also NaN and infinities
            return x
        t = f(np.int64(x))  # truncation toward zero
        return t - one if t > x else t

    # what other device functions call must itself be a device function (CUDA has no
    # Python functions: only the simulator would run a plain one)
    floor_d = cuda.jit(device=True)(floor)

    def ceil(x):
        if not (abs(x) < big):
            return x
        t = f(np.int64(x))
        return t + one if t < x else t

    def rint(x):
        if not (abs(x) < big):
            return x
        r = floor_d(x)
        d = x - r  # exact for |x| < big
        if d > half:
            return r + one
        if d == half and r - two * floor_d(r / two) != f(0.0):  # r odd: to even
            return r + one
        return r

    return floor, floor_d, ceil, rint


def _float_unary(op: str, dtype: np.dtype) -> Callable[..., Any]:
    f = dtype.type
    one = f(1.0)
    floor, _floor_d, ceil, rint = _float_helpers(dtype)
    table: dict[str, Callable[..., Any]] = {
        "negative": lambda x: -x,
        "floor": floor,
        "ceil": ceil,
        "round": rint,
        "sqrt": lambda x: math.sqrt(x) if x >= f(0.0) else f(np.nan),
        "rsqrt": lambda x: one / math.sqrt(x) if x >= f(0.0) else f(np.nan),
        "exp": lambda x: math.exp(x),
        "expm1": lambda x: math.expm1(x),
        "log": lambda x: (math.log(x) if x > f(0.0) else (-f(np.inf) if x == f(0.0) else f(np.nan))) if x == x else x,
        "log1p": lambda x: (math.log1p(x) if x > -one else (-f(np.inf) if x == -one else f(np.nan))) if x == x else x,
        "sin": lambda x: math.sin(x) if abs(x) < f(np.inf) else f(np.nan),
        "cos": lambda x: math.cos(x) if abs(x) < f(np.inf) else f(np.nan),
        "tan": lambda x: math.tan(x) if abs(x) < f(np.inf) else f(np.nan),
        "asin": lambda x: math.asin(x) if abs(x) <= one else f(np.nan),
        "acos": lambda x: math.acos(x) if abs(x) <= one else f(np.nan),
        "atan": lambda x: math.atan(x),
        "sinh": lambda x: math.sinh(x) if abs(x) < f(710.0) else (x if x != x else math.copysign(np.inf, x)),
        "cosh": lambda x: math.cosh(x) if abs(x) < f(710.0) else abs(x),
        "tanh": lambda x: math.tanh(x),
        "erf": lambda x: math.erf(x),
        # 1/(1+exp(-x)) without overflow: exp only of -|x|
        "sigmoid": lambda x: (one / (one + math.exp(-x)) if x >= f(0.0) else math.exp(x) / (one + math.exp(x))) if x == x else x,
    }
    if op in table:
        return table[op]
    return _shared_unary(op, dtype)


def _shared_unary(op: str, dtype: np.dtype) -> Callable[..., Any]:
    """The numba backend's own scalar function for ``op`` (see the module docstring)."""
    nb = from_dtype(dtype)
    impl = {
        "abs": S._abs_impl,
        "sign": S._sign_impl2,
        "isnan": S._isnan_impl,
        "isinf": S._isinf_impl,
        "bitwise_invert": S._invert_impl,
        "negative": lambda x: lambda x: -x,
    }[op]
    fn: Callable[..., Any] = impl(nb)
    return fn


def _float_binary(op: str, dtype: np.dtype) -> Callable[..., Any] | None:
    f = dtype.type
    zero = f(0.0)
    _floor, floor, _ceil, _rint = _float_helpers(dtype)

    def floor_divide(a, b):
        # NumPy's npy_divmod: the quotient of fmod's exact remainder, floored, then rounded
        if b == zero:
            return a / b
        mod = math.fmod(a, b)
        div = (a - mod) / b
        if mod != zero and (b < zero) != (mod < zero):
            div -= f(1.0)
        if div != zero:
            fd = floor(div)
            if div - fd > f(0.5):
                fd += f(1.0)
            return fd
        return math.copysign(0.0, a / b)

    def remainder(a, b):
        mod = math.fmod(a, b)
        if b == zero:
            return mod
        if mod != zero:
            if (b < zero) != (mod < zero):
                mod += b
        else:
            mod = math.copysign(0.0, b)
        return mod

    table: dict[str, Callable[..., Any]] = {
        "floor_divide": floor_divide,
        "remainder": remainder,
        "pow": lambda a, b: a**b,
        "atan2": lambda a, b: math.atan2(a, b),
    }
    return table.get(op)


def _int_pow(a, b):
    if b < 0:  # NumPy refuses negative integer powers; 1 and -1 are the only exact ones
        return 1 if a == 1 else ((1 if b % 2 == 0 else -1) if a == -1 else 0)
    result = a - a + 1  # 1 in a's type
    base = a
    e = b
    while e > 0:
        if e & 1:
            result *= base
        base *= base
        e >>= 1
    return result


_PLAIN = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "equal": lambda a, b: a == b,
    "not_equal": lambda a, b: a != b,
    "less": lambda a, b: a < b,
    "less_equal": lambda a, b: a <= b,
    "greater": lambda a, b: a > b,
    "greater_equal": lambda a, b: a >= b,
    "logical_and": lambda a, b: bool(a) and bool(b),
    "logical_or": lambda a, b: bool(a) or bool(b),
    "logical_xor": lambda a, b: bool(a) != bool(b),
    "bitwise_and": lambda a, b: a & b,
    "bitwise_or": lambda a, b: a | b,
    "bitwise_xor": lambda a, b: a ^ b,
}

_SHARED_BINARY = {
    "floor_divide": S._floordiv_impl,
    "remainder": S._remainder_impl,
    "maximum": S._max_impl,
    "minimum": S._min_impl,
    "bitwise_left_shift": S._shift_impl(True),
    "bitwise_right_shift": S._shift_impl(False),
}


def _widen16(fn: Callable[..., Any], arity: int) -> Callable[..., Any]:
    """float16: computed in float32, rounded back when stored (as the numba backend does)."""
    f32 = cuda.jit(device=True)(fn)
    w = np.float32
    if arity == 1:
        return lambda x: f32(w(x))
    return lambda a, b: f32(w(a), w(b))


@functools.cache
def unary(op: str, dtype_name: str) -> Callable[..., Any]:
    """The device function of unary ``op`` for inputs of ``dtype_name``."""
    dtype = np.dtype(dtype_name)
    if dtype == np.float16:
        return cuda.jit(device=True)(_widen16(_float_unary(op, np.dtype(np.float32)), 1))
    fn = _float_unary(op, dtype) if _kind(dtype) == "f" else _int_unary(op, dtype)
    return cuda.jit(device=True)(fn)


def _int_unary(op: str, dtype: np.dtype) -> Callable[..., Any]:
    if op in ("floor", "ceil", "round"):
        return lambda x: x
    if op == "sign":  # _scalar's (x > 0) - (x < 0) subtracts bools, which NumPy (the simulator) refuses
        return lambda x: 1 if x > 0 else (-1 if x < 0 else 0)
    return _shared_unary(op, dtype)


@functools.cache
def binary(op: str, dtype_name: str) -> Callable[..., Any]:
    """The device function of binary ``op`` for two inputs of ``dtype_name``."""
    dtype = np.dtype(dtype_name)
    if dtype == np.float16:
        return cuda.jit(device=True)(_widen16(_binary_fn(op, np.dtype(np.float32)), 2))
    return cuda.jit(device=True)(_binary_fn(op, dtype))


def _binary_fn(op: str, dtype: np.dtype) -> Callable[..., Any]:
    fn: Callable[..., Any] | None = None
    if _kind(dtype) == "f":
        fn = _float_binary(op, dtype)
    elif op == "pow":
        fn = _int_pow
    if fn is None:
        fn = _PLAIN.get(op)
    if fn is None:
        nb = from_dtype(dtype)
        fn = _SHARED_BINARY[op](nb, nb)
        if op.startswith("bitwise_") and dtype.itemsize < 8:
            fn = _narrowed(fn, dtype.type)
    return fn


def _narrowed(shift: Callable[..., Any], t: Any) -> Callable[..., Any]:
    """The shifts compute in int64; keep the low bits of the dtype, as a C cast (and NumPy) do."""
    shift_d = cuda.jit(device=True)(shift)  # called from another device function: see _float_helpers
    return lambda a, b: t(shift_d(a, b))
