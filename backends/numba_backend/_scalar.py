"""Per-element scalar functions of every element-wise op, dispatched on the element type.

Each op is a stub whose Numba ``overload`` picks an implementation from the argument's
type when a kernel is compiled: float32 calls the float32-native kernels of ``_math``
(exp, expm1, log, log1p, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, tanh, pow)
and otherwise (sigmoid) widens to float64, runs the float64 kernel and rounds once;
integers get their own (wrap-around) forms. Nothing here runs in Python; the kernels in
``elementwise.py`` call these functions inside their loops, and Numba inlines them.

Ops kept on libm (scalar, not vectorized): ``erf`` (float64), ``pow`` (float64, where
exp(y log x) would lose up to |y log x| ULP), ``floor_divide``/``remainder`` on floats
(fmod, as NumPy), and the rare fix-up paths (sin/cos/tan of |x| >= 1e5, pow specials).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import types
from numba.extending import overload

from . import _math as M

_f32 = np.float32
_f64 = np.float64


def _is_float32(t: Any) -> bool:
    return t == types.float32


def _is_float(t: Any) -> bool:
    return isinstance(t, types.Float)


def _is_int(t: Any) -> bool:
    return isinstance(t, types.Integer)


def _stub(name: str) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:  # pragma: no cover - only ever compiled
        raise NotImplementedError(name)

    fn.__name__ = fn.__qualname__ = name
    return fn


def _float_unary(name: str, f32: Callable[..., Any], f64: Callable[..., Any]) -> Callable[..., Any]:
    stub = _stub(name)

    @overload(stub, inline="always")
    def _ov(x):
        if _is_float32(x):
            return f32
        if _is_float(x):
            return f64
        return None

    return stub


def _widened(core: Callable[..., Any]) -> Callable[..., Any]:
    def f32(x):
        return _f32(core(_f64(x)))

    return f32


# ---------------------------------------------------------------------------
# float unary ops


def _exp32(x):
    return M.exp_f32(x)


def _exp64(x):
    return M.exp_f64(x)


def _log32(x):
    return M.log_f32(x)


def _log64(x):
    return M.log_f64(x)


def _erf32(x):
    return _f32(math.erf(_f64(x)))


def _erf64(x):
    return math.erf(x)


def _sqrt(x):
    return np.sqrt(x)


def _rsqrt32(x):
    return _f32(1.0) / np.sqrt(x)


def _rsqrt64(x):
    return 1.0 / np.sqrt(x)


def _wrap64(fn: Callable[..., Any]) -> Callable[..., Any]:
    def f64(x):
        return fn(x)

    return f64


def _core(name: str) -> Callable[..., Any]:
    fn: Callable[..., Any] = getattr(M, name + "_f64")
    return fn


exp = _float_unary("exp", _exp32, _exp64)
log = _float_unary("log", _log32, _log64)
erf = _float_unary("erf", _erf32, _erf64)
sqrt = _float_unary("sqrt", _sqrt, _sqrt)


def _tanh32(x):
    return M.tanh_f32(x)


def _tanh64(x):
    return M.tanh_f64(x)


tanh = _float_unary("tanh", _tanh32, _tanh64)


def _sin32(x):
    return M.sin_f32(x)


def _sin64(x):
    return M.sin_f64(x)


def _cos32(x):
    return M.cos_f32(x)


def _cos64(x):
    return M.cos_f64(x)


sin = _float_unary("sin", _sin32, _sin64)
cos = _float_unary("cos", _cos32, _cos64)
rsqrt = _float_unary("rsqrt", _rsqrt32, _rsqrt64)

# widened to float64 for float32 inputs
_WIDENED = ("sigmoid",)
_g = globals()
for _n in _WIDENED:
    _c = _core(_n)
    _g[_n] = _float_unary(_n, _widened(_c), _wrap64(_c))


def _native32(fn: Callable[..., Any]) -> Callable[..., Any]:
    def f32(x):
        return fn(x)

    return f32


# float32-native kernels of _math (float32 SIMD lanes)
_NATIVE32 = ("expm1", "log1p", "tan", "asin", "acos", "atan", "sinh", "cosh")
for _n in _NATIVE32:
    _c = _core(_n)
    _g[_n] = _float_unary(_n, _native32(getattr(M, _n + "_f32")), _wrap64(_c))

expm1: Any
log1p: Any
tan: Any
asin: Any
acos: Any
atan: Any
sinh: Any
cosh: Any

sigmoid: Any


def libm_sincos(name: str) -> Callable[..., Any]:
    """Scalar libm fallback (Payne-Hanek reduction) used for |x| >= SINCOS_LIMIT."""
    stub = _stub(name + "_libm")
    fn = {"sin": math.sin, "cos": math.cos, "tan": math.tan}[name]

    @overload(stub)
    def _ov(x):
        if _is_float32(x):
            return lambda x: _f32(fn(_f64(x)))
        return lambda x: fn(x)

    return stub


sin_libm = libm_sincos("sin")
cos_libm = libm_sincos("cos")
tan_libm = libm_sincos("tan")

LIMIT = M.SINCOS_LIMIT


def _overload_generic(name: str, impl_for: Callable[..., Any]) -> Callable[..., Any]:
    stub = _stub(name)
    overload(stub, inline="always")(impl_for)
    return stub


# ---------------------------------------------------------------------------
# numeric unary ops (ints and floats)


def _abs_impl(x):
    if _is_float(x):
        return lambda x: abs(x)
    if x == types.uint8:
        return lambda x: x
    return lambda x: x if x >= 0 else -x


def _sign_impl2(x):
    if x == types.float32:
        one, zero = _f32(1.0), _f32(0.0)

        def f32(x):
            r = one if x > zero else (-one if x < zero else zero)
            return x if x != x else r

        return f32
    if _is_float(x):

        def f64(x):
            r = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
            return x if x != x else r

        return f64
    return lambda x: (x > 0) - (x < 0)


def _rounding(fn: Callable[..., Any]) -> Callable[..., Any]:
    def impl(x):
        if _is_float(x):
            return fn
        return lambda x: x

    return impl


def _np_floor(x):
    return np.floor(x)


def _np_ceil(x):
    return np.ceil(x)


def _np_rint(x):
    return np.rint(x)


def _isnan_impl(x):
    if _is_float(x):
        return lambda x: x != x
    return lambda x: False


def _isinf_impl(x):
    if _is_float(x):
        return lambda x: abs(x) == np.inf
    return lambda x: False


def _invert_impl(x):
    if isinstance(x, types.Boolean):
        return lambda x: not x
    return lambda x: ~x


abs_ = _overload_generic("abs", _abs_impl)
negative = _overload_generic("negative", lambda x: lambda x: -x)
sign = _overload_generic("sign", _sign_impl2)
floor = _overload_generic("floor", _rounding(_np_floor))
ceil = _overload_generic("ceil", _rounding(_np_ceil))
round_ = _overload_generic("round", _rounding(_np_rint))
isnan = _overload_generic("isnan", _isnan_impl)
isinf = _overload_generic("isinf", _isinf_impl)
bitwise_invert = _overload_generic("bitwise_invert", _invert_impl)

# ---------------------------------------------------------------------------
# binary ops


def _floordiv_impl(a, b):
    if _is_float(a):

        def f(a, b):
            if b == 0:
                return a / b
            mod = np.fmod(a, b)
            div = (a - mod) / b
            if mod != 0 and (b < 0) != (mod < 0):
                div -= 1.0
            if div != 0:
                fd = np.floor(div)
                if div - fd > 0.5:
                    fd += 1.0
                return fd
            return math.copysign(0.0, a / b)

        return f

    def i(a, b):
        if b == 0:
            return 0
        if b == -1:
            return -a
        return a // b

    return i


def _remainder_impl(a, b):
    if _is_float(a):

        def f(a, b):
            mod = np.fmod(a, b)
            if b == 0:
                return mod
            if mod != 0:
                if (b < 0) != (mod < 0):
                    mod += b
            else:
                mod = math.copysign(0.0, b)
            return mod

        return f

    def i(a, b):
        if b == 0 or b == -1:
            return 0
        return a % b

    return i


def _pow_impl(a, b):
    if _is_float32(a):
        return lambda a, b: M.pow_f32(a, b)
    if _is_float(a):
        return lambda a, b: a**b
    return None


def pow_special(a, b):  # pragma: no cover - compiled
    raise NotImplementedError


@overload(pow_special)
def _pow_special_ov(a, b):
    if _is_float32(a):

        def f(a, b):
            # bitwise ors (no short-circuit branches) so the counting loop vectorizes
            return (b == 0) | (a == 0) | (abs(a) == np.inf) | (not (abs(b) < np.inf))

        return f
    return lambda a, b: False


def pow_libm(a, b):  # pragma: no cover - compiled
    raise NotImplementedError


@overload(pow_libm)
def _pow_libm_ov(a, b):
    if _is_float32(a):
        return lambda a, b: _f32(math.pow(_f64(a), _f64(b)))
    return lambda a, b: a**b


def _atan2_impl(a, b):
    if _is_float32(a):
        return lambda a, b: M.atan2_f32(a, b)
    if _is_float(a):
        return lambda a, b: M.atan2_f64(a, b)
    return None


def _max_impl(a, b):
    if _is_float(a):
        return lambda a, b: a if (a > b or a != a) else b
    return lambda a, b: max(a, b)


def _min_impl(a, b):
    if _is_float(a):
        return lambda a, b: a if (a < b or a != a) else b
    return lambda a, b: min(a, b)


def _shift_impl(left: bool) -> Callable[..., Any]:
    def impl(a, b):
        if left:

            def lsh(a, b):
                r = np.int64(a) << np.int64(b & 63)
                return np.int64(0) if (b < 0 or b >= 64) else r

            return lsh

        def rsh(a, b):
            if b < 0 or b >= 64:
                return -1 if a < 0 else 0
            return np.int64(a) >> np.int64(b)

        return rsh

    return impl


add = _overload_generic("add", lambda a, b: lambda a, b: a + b)
subtract = _overload_generic("subtract", lambda a, b: lambda a, b: a - b)
multiply = _overload_generic("multiply", lambda a, b: lambda a, b: a * b)
divide = _overload_generic("divide", lambda a, b: lambda a, b: a / b)
floor_divide = _overload_generic("floor_divide", _floordiv_impl)
remainder = _overload_generic("remainder", _remainder_impl)
pow_ = _overload_generic("pow", _pow_impl)
atan2 = _overload_generic("atan2", _atan2_impl)
maximum = _overload_generic("maximum", _max_impl)
minimum = _overload_generic("minimum", _min_impl)
equal = _overload_generic("equal", lambda a, b: lambda a, b: a == b)
not_equal = _overload_generic("not_equal", lambda a, b: lambda a, b: a != b)
less = _overload_generic("less", lambda a, b: lambda a, b: a < b)
less_equal = _overload_generic("less_equal", lambda a, b: lambda a, b: a <= b)
greater = _overload_generic("greater", lambda a, b: lambda a, b: a > b)
greater_equal = _overload_generic("greater_equal", lambda a, b: lambda a, b: a >= b)
logical_and = _overload_generic("logical_and", lambda a, b: lambda a, b: a and b)
logical_or = _overload_generic("logical_or", lambda a, b: lambda a, b: a or b)
logical_xor = _overload_generic("logical_xor", lambda a, b: lambda a, b: a != b)
bitwise_and = _overload_generic("bitwise_and", lambda a, b: lambda a, b: a & b)
bitwise_or = _overload_generic("bitwise_or", lambda a, b: lambda a, b: a | b)
bitwise_xor = _overload_generic("bitwise_xor", lambda a, b: lambda a, b: a ^ b)
bitwise_left_shift = _overload_generic("bitwise_left_shift", _shift_impl(True))
bitwise_right_shift = _overload_generic("bitwise_right_shift", _shift_impl(False))


# ---------------------------------------------------------------------------
# typed constants for generic kernels: like(arr, v) is v converted to arr's dtype


def like(arr, v):  # pragma: no cover - compiled only
    raise NotImplementedError


@overload(like)
def _like_ov(arr, v):
    dt = arr.dtype

    def impl(arr, v):
        return dt(v)

    return impl
