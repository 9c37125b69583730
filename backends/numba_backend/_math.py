"""Vectorizable transcendental functions: range reduction plus polynomials in plain arithmetic.

Why: PyPI's llvmlite has no Intel SVML, so ``math.exp``/``np.sin`` inside a Numba loop
compile to one scalar libm call per element, which LLVM cannot vectorize (measured here:
exp 0.4x, sin 0.4x, tanh 0.03x of NumPy's AVX-512 kernels on 2 threads). Everything below
is straight-line arithmetic, bit casts and selects, which LLVM's loop vectorizer turns into
packed AVX-512/AVX2 code (``vfmadd213ps zmm``, ``vscalefps``-free ``vpslld``/``vpaddd`` for
2**n, ``vblendmps``/masked moves for the edge-case selects). Edge cases are handled with
selects, never early returns, so a loop over these functions stays branch-free.

Kernels and accuracy (max error against correctly rounded results, measured by
``tests/backends/test_numba_math.py`` over the whole float range, edges included):

==========  =====================================================================  ==========
function    method                                                                 max error
==========  =====================================================================  ==========
exp_f32     Cephes expf: n = rint(x/ln2) (shifter trick), 2-part Cody-Waite ln2,   1 ULP
            degree-6 minimax polynomial, 2**n as two exponent-field scalings
            (so results down to the smallest subnormal are right)
log_f32     Cephes logf: exponent/mantissa split by bit cast, mantissa in          1 ULP
            [sqrt(1/2), sqrt(2)), degree-9 minimax polynomial
sincos_f32  rint(2x/pi) and fdlibm 3-part pi/2 in float64 (exact for |x| < 1e5,     2 ULP
            so results near the zeros of sin/cos stay accurate), then the Cephes
            sinf/cosf polynomials in float32; |x| >= 1e5 recomputed with libm
tanh_f32    Cephes tanhf: odd degree-11 minimax polynomial on |x| < 0.625, else    2 ULP
            1 - 2/(exp_f32(2|x|) + 1); 1 beyond 9.5
expm1_f32   k = rint(x/ln2), 2-part ln2, Taylor expm1(r) to r**8 on |r| <= ln2/2,  1.41 ULP
            then 2**k expm1(r) + (2**k - 1) (exact 2**k - 1 for k <= 24), else
            (expm1(r) + 1) 2**k in two exponent scalings; clamped to [-20, 89]
log1p_f32   u = 1 + x, Cephes logf of u plus the rounding correction              0.82 ULP
            (x - (u - 1))/u, so small x keep full precision
tan_f32     sincos_f32's float64 reduction by pi/2 (|x| >= 1e5: libm fix-up),     2.53 ULP
            Cephes tanf degree-13 odd polynomial, -1/tan for odd quadrants
atan_f32    Cephes atanf: |x| > tan(3pi/8) -> pi/2 + atan(-1/x), > tan(pi/8) ->   2.24 ULP
            pi/4 + atan((x-1)/(x+1)) (one division, operands chosen by select),
            odd degree-9 polynomial; pi/2, pi/4 added as float32 hi + lo
asin_f32    Cephes asinf: |x| > 1/2 -> pi/2 - 2 asin(sqrt((1-|x|)/2)), odd         1.90 ULP
            degree-11 polynomial on |t| <= 1/2
acos_f32    Cephes acosf: 2 asin(sqrt((1-x)/2)), pi - 2 asin(sqrt((1+x)/2)) or     1.27 ULP
            pi/2 - asin(x), same polynomial, pi and pi/2 as hi + lo
sinh_f32    Cephes sinhf: odd degree-7 polynomial on |x| <= 1, else h - 1/(4h),    1.61 ULP
            h = exp(|x|)/2 scaled inside exp (finite up to 89.4, like sinhf)
cosh_f32    h + 1/(4h), h = exp(|x|)/2 as for sinh_f32                             1.46 ULP
atan2_f32   atan_f32's core on min/max(|x|,|y|), quadrant by pi/2 - a, pi - a     2.52 ULP
            (hi + lo constants) and the sign of y, IEEE zero/inf/NaN cases
pow_f32     w = y log2|x| in float64 (bit split of the widened float32, so        1.03 ULP
            subnormals are exact; 2 atanh(s) series to s**11, |log2 error| <
            5e-11 relative), w clamped to +-200, 2**rint(w) by two exponent
            scalings times Cephes exp2f of the float32 remainder; sign of
            negative x by integer/odd tests on y. x or y zero/inf, y NaN: the
            caller recomputes them with libm (bitwise-or special test, vectorized)
exp_f64     rint(x/ln2), fdlibm 2-part ln2, Taylor series to degree 13 on           1 ULP
            |r| <= ln2/2 (truncation 1.7e-16 relative), 2-step 2**n
log_f64     bit-cast split, m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),         1 ULP
            s = (m-1)/(m+1), odd series to s**21 (|s| <= 0.172)
expm1_f64   |x| < 0.5: Taylor to degree 16; else exp(x) - 1                        2 ULP
log1p_f64   u = 1 + x; log(u) * x / (u - 1) (Goldberg), x when u == 1              2 ULP
sincos_f64  rint(2x/pi), fdlibm 3-part pi/2 (exact for |x| < 1e5), Taylor sin to   1 ULP
            r**17 / cos to r**18 on |r| <= pi/4, quadrant by select; |x| >= 1e5
            is recomputed by the kernels with libm (Payne-Hanek) in a second pass
atan_f64    |x| > 1 -> pi/2 - atan(1/|x|); > tan(pi/12) -> pi/6 + atan((sqrt3 t-1)  2 ULP
            /(sqrt3+t)); odd Taylor series to t**29 on |t| <= 0.268
==========  =====================================================================  ==========

float32 sigmoid (and the fused users of the float64 kernels) evaluate the float64 kernels on
the widened value and round once, so they are correctly rounded but for double rounding
(<= 0.5 ULP + 2**-29). Every other float32 op has a float32-native kernel above (16
float32 lanes per zmm instead of 8 float64 lanes, short Cephes polynomials instead of
long Taylor series). Derived float64 functions (tan, asin, acos, atan2, sinh, cosh,
tanh, sigmoid) add at most a few ULP to the kernels they call; the test file states each
bound it checks.

Vectorization checked in the assembly (``Kernel.inspect_asm`` of the serial elementwise
kernels, znver4): ``acos``/``asin``/``expm1``/``sinh``/``log1p``/``atan2`` float32 are
``vfmadd*ps zmm`` chains with ``vsqrtps``/``vdivps zmm`` and masked ``vblendmps`` for the
selects; ``pow`` float32 mixes ``vdivpd``/``vfmadd*pd zmm`` (the float64 log2) with
``ps`` ymm/zmm code for exp2, no libm calls in the main loop.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, register_jitable

__all__ = [
    "acos_f32",
    "acos_f64",
    "asin_f32",
    "asin_f64",
    "atan2_f32",
    "atan2_f64",
    "atan_f32",
    "atan_f64",
    "cos_f32",
    "cos_f64",
    "cosh_f32",
    "cosh_f64",
    "exp_f32",
    "exp_f64",
    "expm1_f32",
    "expm1_f64",
    "log1p_f32",
    "log1p_f64",
    "log_f32",
    "log_f64",
    "pow_f32",
    "sigmoid_f32",
    "sigmoid_f64",
    "sin_f32",
    "sin_f64",
    "sinh_f32",
    "sinh_f64",
    "tan_f32",
    "tan_f64",
    "tanh_f32",
    "tanh_f64",
]

# ---------------------------------------------------------------------------
# bit casts (LLVM ``bitcast``: free, and vectorizes to nothing at all)


def _bitcast(src: Any, dst: Any, width: int) -> Any:
    @intrinsic
    def cast(typingctx: Any, x: Any) -> Any:
        if x != src:
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            target = ir.IntType(width) if isinstance(dst, types.Integer) else (ir.FloatType() if width == 32 else ir.DoubleType())
            return builder.bitcast(args[0], target)

        return dst(src), codegen

    return cast


f32_bits = _bitcast(types.float32, types.int32, 32)
bits_f32 = _bitcast(types.int32, types.float32, 32)
f64_bits = _bitcast(types.float64, types.int64, 64)
bits_f64 = _bitcast(types.int64, types.float64, 64)

# ---------------------------------------------------------------------------
# float32 exp and log (Cephes expf.c / logf.c coefficients), float32 arithmetic throughout

_F = np.float32
_LOG2E_F = _F(1.44269504088896341)
_SHIFT_F = _F(12582912.0)  # 1.5 * 2**23: adding it rounds to an integer held in the low mantissa bits
_LN2HI_F = _F(0.693359375)
_LN2LO_F = _F(-2.12194440e-4)
_EXP_HI_F = _F(89.0)
_EXP_LO_F = _F(-104.0)
_EP0, _EP1, _EP2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_EP3, _EP4, _EP5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
_ONE_F = _F(1.0)
_HALF_F = _F(0.5)
_SHIFT_BITS_F = np.int32(0x4B400000)  # bit pattern of _SHIFT_F


@register_jitable(inline="always")
def exp_f32(x: Any) -> Any:
    xc = _EXP_HI_F if x > _EXP_HI_F else x  # NaN fails both tests and stays NaN
    xc = _EXP_LO_F if xc < _EXP_LO_F else xc
    return _exp_scaled_f32(xc, np.int32(0))


_SQRTH_F = _F(0.707106781186547524)
_LP = (
    _F(7.0376836292e-2),
    _F(-1.1514610310e-1),
    _F(1.1676998740e-1),
    _F(-1.2420140846e-1),
    _F(1.4249322787e-1),
    _F(-1.6668057665e-1),
    _F(2.0000714765e-1),
    _F(-2.4999993993e-1),
    _F(3.3333331174e-1),
)
_LP0, _LP1, _LP2, _LP3, _LP4, _LP5, _LP6, _LP7, _LP8 = _LP
_TINY_F = _F(1.17549435e-38)
_TWO23_F = _F(8388608.0)
_INF_F = _F(np.inf)
_NAN_F = _F(np.nan)


@register_jitable
def _log_reduced(bits: Any, bias: Any) -> Any:
    """Cephes logf's reduction and polynomial for a positive normal float given by its ``bits``.

    ``bias`` is subtracted from the biased exponent field (126; 149 for a subnormal scaled
    up by 2**23). Returns ``(m, fe, z, y)`` with ``log = m + (y + fe*ln2_lo - z/2) + fe*ln2_hi``:
    m the mantissa minus 1 in [sqrt(1/2) - 1, sqrt(2) - 1), fe the exponent, z = m*m and
    y = m*z*P(m); log_f32 and log1p_f32 each add their own correction to that sum.
    """
    e = ((bits >> 23) & 0xFF) - bias
    m = bits_f32(np.int32((bits & 0x007FFFFF) | 0x3F000000))  # mantissa in [0.5, 1)
    small = m < _SQRTH_F
    e = e - 1 if small else e
    m = (m + m - _ONE_F) if small else (m - _ONE_F)
    z = m * m
    p = _LP0 * m + _LP1
    p = p * m + _LP2
    p = p * m + _LP3
    p = p * m + _LP4
    p = p * m + _LP5
    p = p * m + _LP6
    p = p * m + _LP7
    p = p * m + _LP8
    return m, _F(e), z, m * z * p


@register_jitable
def log_f32(x: Any) -> Any:
    sub = x < _TINY_F
    xs = x * _TWO23_F if sub else x  # subnormals: scale up first
    m, fe, z, y = _log_reduced(f32_bits(xs), 149 if sub else 126)
    y = y + fe * _LN2LO_F
    y = y - _HALF_F * z
    r = m + y + fe * _LN2HI_F
    r = -_INF_F if x == 0 else r
    r = _NAN_F if x < 0 else r
    r = x if x == _INF_F else r
    return x if x != x else r


_TH0, _TH1, _TH2 = _F(-5.70498872745e-3), _F(2.06390887954e-2), _F(-5.37397155531e-2)
_TH3, _TH4 = _F(1.33314422036e-1), _F(-3.33332819422e-1)
_TWO_F = _F(2.0)
_TANH_SMALL_F = _F(0.625)
_TANH_BIG_F = _F(9.5)


@register_jitable
def tanh_f32(x: Any) -> Any:
    """Cephes tanhf: odd polynomial below 0.625, else 1 - 2 / (exp(2|x|) + 1)."""
    a = abs(x)
    z = x * x
    p = _TH0 * z + _TH1
    p = p * z + _TH2
    p = p * z + _TH3
    p = p * z + _TH4
    small = p * z * x + x
    e = exp_f32(a + a)
    large = _ONE_F - _TWO_F / (e + _ONE_F)
    large = _ONE_F if a > _TANH_BIG_F else large
    large = -large if x < 0 else large
    r = small if a < _TANH_SMALL_F else large
    return x if a == 0 else r  # keeps -0.0


_SC0, _SC1, _SC2 = _F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1)
_CC0, _CC1, _CC2 = _F(2.443315711809948e-5), _F(-1.388731625493765e-3), _F(4.166664568298827e-2)


@register_jitable
def _sincos_f32(x: Any, want_cos: bool) -> Any:
    """Range reduction in float64 (fdlibm 3-part pi/2, exact for |x| < 1e5), then Cephes sinf/cosf polynomials."""
    xd = np.float64(x)
    z = xd * _TWO_OVER_PI + _SHIFT
    n = f64_bits(z) - _SHIFT_BITS
    fn = z - _SHIFT
    r = _F(((xd - fn * _PIO2_1) - fn * _PIO2_2) - fn * _PIO2_3)
    q = n & 3
    rr = r * r
    sp = ((_SC0 * rr + _SC1) * rr + _SC2) * rr * r + r
    cp = ((_CC0 * rr + _CC1) * rr + _CC2) * rr * rr - _HALF_F * rr + _ONE_F
    if want_cos:
        v = sp if (q & 1) == 1 else cp
        neg = q == 1 or q == 2
    else:
        v = cp if (q & 1) == 1 else sp
        neg = q >= 2
    return -v if neg else v


@register_jitable
def sin_f32(x: Any) -> Any:
    v = _sincos_f32(x, False)
    return x if x == 0 else v  # keeps -0.0


@register_jitable
def cos_f32(x: Any) -> Any:
    return _sincos_f32(x, True)


@register_jitable
def sigmoid_f32(x: Any) -> Any:
    return _ONE_F / (_ONE_F + exp_f32(-x))


# ---------------------------------------------------------------------------
# float64 kernels

_LOG2E = 1.4426950408889634
_SHIFT = 6755399441055744.0  # 1.5 * 2**52
_SHIFT_BITS = np.int64(0x4338000000000000)
_LN2HI = 6.93147180369123816490e-01  # fdlibm: trailing zero bits make n * LN2HI exact
_LN2LO = 1.90821492927058770002e-10
_EXP_HI = 710.0
_EXP_LO = -746.0
_INV_FACT = tuple(1.0 / math.factorial(k) for k in range(20))
(_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13, _C14, _C15, _C16, _C17, _C18, _C19) = _INV_FACT[2:20]
_INF = math.inf
_NAN = math.nan


@register_jitable(inline="always")
def exp_f64(x: float) -> float:
    xc = _EXP_HI if x > _EXP_HI else x
    xc = _EXP_LO if xc < _EXP_LO else xc
    z = xc * _LOG2E + _SHIFT
    n = f64_bits(z) - _SHIFT_BITS
    fn = z - _SHIFT
    r = (xc - fn * _LN2HI) - fn * _LN2LO
    p = _C13 * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    y = p * (r * r) + r + 1.0
    n1 = n >> 1
    n2 = n - n1
    s1 = bits_f64((n1 + 1023) << 52)
    s2 = bits_f64((n2 + 1023) << 52)
    return (y * s1) * s2


_SQRT2 = 1.4142135623730951
_TINY = 2.2250738585072014e-308
_TWO54 = 18014398509481984.0
_MANT = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)
# 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...)
_A = tuple(1.0 / (2 * k + 1) for k in range(11))
_A1, _A2, _A3, _A4, _A5, _A6, _A7, _A8, _A9, _A10 = _A[1:]


@register_jitable(inline="always")
def log_f64(x: float) -> float:
    sub = x < _TINY
    xs = x * _TWO54 if sub else x
    bits = f64_bits(xs)
    e = ((bits >> 52) & 0x7FF) - 1023
    e = e - 54 if sub else e
    m = bits_f64((bits & _MANT) | _ONE_BITS)  # [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    fe = float(e)
    f = m - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    p = _A10 * s2 + _A9
    p = p * s2 + _A8
    p = p * s2 + _A7
    p = p * s2 + _A6
    p = p * s2 + _A5
    p = p * s2 + _A4
    p = p * s2 + _A3
    p = p * s2 + _A2
    p = p * s2 + _A1
    # log m = f - f^2/2 + ... written as 2 s (1 + s^2 p): keep f's exactness via hfsq form
    hfsq = 0.5 * f * f
    lm = f - (hfsq - s * (hfsq + 2.0 * s2 * p))
    r = fe * _LN2HI + (lm + fe * _LN2LO)
    r = -_INF if x == 0 else r
    r = _NAN if x < 0 else r
    r = x if x == _INF else r
    return x if x != x else r


@register_jitable(inline="always")
def expm1_f64(x: float) -> float:
    # Taylor: x (1 + x/2 + x^2/6 + ...), |x| < 0.5 -> truncation below 1e-18
    p = _C17 * x + _C16
    p = p * x + _C15
    p = p * x + _C14
    p = p * x + _C13
    p = p * x + _C12
    p = p * x + _C11
    p = p * x + _C10
    p = p * x + _C9
    p = p * x + _C8
    p = p * x + _C7
    p = p * x + _C6
    p = p * x + _C5
    p = p * x + _C4
    p = p * x + _C3
    p = p * x + _C2
    small = x * (p * x) + x
    large = exp_f64(x) - 1.0
    r = small if abs(x) < 0.5 else large
    return x if x == 0 else r  # keeps -0.0


@register_jitable
def log1p_f64(x: float) -> float:
    u = 1.0 + x
    d = u - 1.0
    r = log_f64(u) * (x / d)
    r = x if d == 0.0 else r  # u == 1: log1p(x) = x to working precision (keeps -0.0)
    return x if x == _INF else r


_TWO_OVER_PI = 0.63661977236758134308
_PIO2_1 = 1.57079632673412561417e00  # fdlibm: 33 bits each, so n * _PIO2_k is exact
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
SINCOS_LIMIT = 1.0e5  # beyond: the caller recomputes with libm


@register_jitable(inline="always")
def _sincos_reduce(x: float) -> tuple[float, Any]:
    z = x * _TWO_OVER_PI + _SHIFT
    n = f64_bits(z) - _SHIFT_BITS
    fn = z - _SHIFT
    r = ((x - fn * _PIO2_1) - fn * _PIO2_2) - fn * _PIO2_3
    return r, n & 3


@register_jitable(inline="always")
def _sin_poly(r: float) -> float:
    # sin r = r + r^3 (-1/3! + r^2/5! - ... + r^14/17!); truncation < 1e-19 on |r| <= pi/4
    r2 = r * r
    p = _C17 * r2 - _C15
    p = p * r2 + _C13
    p = p * r2 - _C11
    p = p * r2 + _C9
    p = p * r2 - _C7
    p = p * r2 + _C5
    p = p * r2 - _C3
    return r + r * r2 * p


@register_jitable(inline="always")
def _cos_poly(r: float) -> float:
    # cos r = 1 - r^2/2 + r^4 (1/4! - r^2/6! + ... - r^14/18!)
    r2 = r * r
    p = -_C18 * r2 + _C16
    p = p * r2 - _C14
    p = p * r2 + _C12
    p = p * r2 - _C10
    p = p * r2 + _C8
    p = p * r2 - _C6
    p = p * r2 + _C4
    return (1.0 - 0.5 * r2) + r2 * r2 * p


@register_jitable
def sin_f64(x: float) -> float:
    r, q = _sincos_reduce(x)
    s = _sin_poly(r)
    c = _cos_poly(r)
    v = c if (q & 1) == 1 else s
    v = -v if q >= 2 else v
    return x if x == 0 else v  # keeps -0.0


@register_jitable
def cos_f64(x: float) -> float:
    r, q = _sincos_reduce(x)
    s = _sin_poly(r)
    c = _cos_poly(r)
    v = s if (q & 1) == 1 else c
    return -v if (q == 1 or q == 2) else v


@register_jitable
def tan_f64(x: float) -> float:
    r, q = _sincos_reduce(x)
    s = _sin_poly(r)
    c = _cos_poly(r)
    t = -c / s if (q & 1) == 1 else s / c
    return x if x == 0 else t  # keeps -0.0


_TAN_PI_12 = 0.26794919243112270
_SQRT3 = 1.7320508075688772
_PI_6 = 0.52359877559829887
_PI_2 = 1.5707963267948966
_PI = 3.141592653589793
_AT = tuple(1.0 / (2 * k + 1) for k in range(15))
_T1, _T2, _T3, _T4, _T5, _T6, _T7, _T8, _T9, _T10, _T11, _T12, _T13, _T14 = _AT[1:]


@register_jitable(inline="always")
def _atan_pos(a: float) -> float:
    """atan for a >= 0 (inf and NaN included)."""
    inv = a > 1.0
    t = 1.0 / a if inv else a
    big = t > _TAN_PI_12
    t = (t * _SQRT3 - 1.0) / (_SQRT3 + t) if big else t
    t2 = t * t
    p = -_T14 * t2 + _T13
    p = p * t2 - _T12
    p = p * t2 + _T11
    p = p * t2 - _T10
    p = p * t2 + _T9
    p = p * t2 - _T8
    p = p * t2 + _T7
    p = p * t2 - _T6
    p = p * t2 + _T5
    p = p * t2 - _T4
    p = p * t2 + _T3
    p = p * t2 - _T2
    p = p * t2 + _T1
    r = t - t * t2 * p
    r = r + _PI_6 if big else r
    return _PI_2 - r if inv else r


@register_jitable
def atan_f64(x: float) -> float:
    return math.copysign(_atan_pos(abs(x)), x)


@register_jitable
def asin_f64(x: float) -> float:
    a = abs(x)
    t = a / math.sqrt((1.0 - a) * (1.0 + a))
    return math.copysign(_atan_pos(t), x)


@register_jitable
def acos_f64(x: float) -> float:
    return 2.0 * _atan_pos(math.sqrt((1.0 - x) / (1.0 + x)))


@register_jitable(inline="always")
def atan2_f64(y: float, x: float) -> float:
    ax = abs(x)
    ay = abs(y)
    hi = ax if ax > ay else ay
    lo = ay if ax > ay else ax
    t = lo / hi
    t = 0.0 if hi == 0.0 else t
    t = 1.0 if lo == _INF else t
    a = _atan_pos(t)
    a = _PI_2 - a if ay > ax else a
    a = _PI - a if f64_bits(x) < 0 else a  # sign bit of x (so -0.0 counts as negative)
    a = math.copysign(a, y)
    return x + y if (x != x) | (y != y) else a


@register_jitable
def cosh_f64(x: float) -> float:
    t = exp_f64(0.5 * abs(x))
    tt = t * t
    return (0.5 * t) * t + 0.5 / tt


@register_jitable
def sinh_f64(x: float) -> float:
    a = abs(x)
    a2 = a * a
    # |x| < 1: odd Taylor series to x^19 (truncation < 1e-17 relative)
    p = _C19 * a2 + _C17
    p = p * a2 + _C15
    p = p * a2 + _C13
    p = p * a2 + _C11
    p = p * a2 + _C9
    p = p * a2 + _C7
    p = p * a2 + _C5
    p = p * a2 + _C3
    small = a + a * a2 * p
    t = exp_f64(0.5 * a)
    large = (0.5 * t) * t - 0.5 / (t * t)
    return math.copysign(small if a < 1.0 else large, x)


@register_jitable
def tanh_f64(x: float) -> float:
    a = abs(x)
    e = expm1_f64(2.0 * a)
    r = e / (e + 2.0)
    r = 1.0 if a > 22.0 else r
    return math.copysign(r, x)


@register_jitable
def sigmoid_f64(x: float) -> float:
    return 1.0 / (1.0 + exp_f64(-x))


# ---------------------------------------------------------------------------
# more float32 kernels (Cephes *f.c coefficients), float32 arithmetic unless noted

_SIGN_F = np.int32(-0x80000000)  # float32 sign bit as int32
_PIO2_HI_F = _F(1.5707963705062866)  # float32(pi/2); + _PIO2_LO_F gives pi/2 to ~2**-50
_PIO2_LO_F = _F(math.pi / 2 - 1.5707963705062866)
_PIO4_HI_F = _F(0.7853981852531433)
_PIO4_LO_F = _F(math.pi / 4 - 0.7853981852531433)
_PI_HI_F = _F(3.1415927410125732)
_PI_LO_F = _F(math.pi - 3.1415927410125732)
_ZERO_F = _F(0.0)


@register_jitable(inline="always")
def _copysign_f32(a: Any, x: Any) -> Any:
    """|a| with the sign of x, for a >= 0 (bit ops: vectorizes to vpternlogd)."""
    return bits_f32(np.int32(f32_bits(a) ^ (f32_bits(x) & _SIGN_F)))


@register_jitable(inline="always")
def _exp_scaled_f32(xc: Any, k: Any) -> Any:
    """exp(xc) * 2**k for xc already clamped to [-104, 90] (exp_f32's method)."""
    z = xc * _LOG2E_F + _SHIFT_F
    n = f32_bits(z) - _SHIFT_BITS_F + k  # rint(x / ln2) + k as an integer, no float->int conversion
    fn = z - _SHIFT_F
    r = xc - fn * _LN2HI_F
    r = r - fn * _LN2LO_F
    p = _EP0 * r + _EP1
    p = p * r + _EP2
    p = p * r + _EP3
    p = p * r + _EP4
    p = p * r + _EP5
    y = p * (r * r) + r + _ONE_F
    n1 = n >> 1
    n2 = n - n1
    s1 = bits_f32(np.int32((n1 + 127) << 23))
    s2 = bits_f32(np.int32((n2 + 127) << 23))
    return (y * s1) * s2


_EM_LO_F = _F(-20.0)  # expm1(x) rounds to -1 below -17.4
_C2F, _C3F, _C4F, _C5F = _F(1 / 2), _F(1 / 6), _F(1 / 24), _F(1 / 120)
_C6F, _C7F, _C8F = _F(1 / 720), _F(1 / 5040), _F(1 / 40320)


@register_jitable
def expm1_f32(x: Any) -> Any:
    """expm1 = 2**k expm1(r) + (2**k - 1), r = x - k ln2; Taylor to r**8 on |r| <= ln2/2."""
    xc = _EXP_HI_F if x > _EXP_HI_F else x
    xc = _EM_LO_F if xc < _EM_LO_F else xc
    z = xc * _LOG2E_F + _SHIFT_F
    n = f32_bits(z) - _SHIFT_BITS_F
    fn = z - _SHIFT_F
    r = xc - fn * _LN2HI_F
    r = r - fn * _LN2LO_F
    p = _C8F * r + _C7F
    p = p * r + _C6F
    p = p * r + _C5F
    p = p * r + _C4F
    p = p * r + _C3F
    p = p * r + _C2F
    u = p * (r * r) + r  # expm1(r)
    n1 = n >> 1
    n2 = n - n1
    s1 = bits_f32(np.int32((n1 + 127) << 23))
    s2 = bits_f32(np.int32((n2 + 127) << 23))
    s = s1 * s2  # 2**k: exact for k <= 127 (only used for k <= 24)
    small = s * u + (s - _ONE_F)  # 2**k - 1 is exact for -24 <= k <= 24
    large = ((u + _ONE_F) * s1) * s2  # k > 24: the -1 is below half an ULP
    r = large if n > 24 else small
    return x if x == 0 else r  # keeps -0.0


@register_jitable
def log1p_f32(x: Any) -> Any:
    """u = 1 + x, Cephes logf of u plus the rounding correction (x - (u - 1)) / u."""
    u = x + _ONE_F
    c = (x - (u - _ONE_F)) / u
    m, fe, z, y = _log_reduced(f32_bits(u), 126)
    y = y + (fe * _LN2LO_F + c)
    y = y - _HALF_F * z
    r = m + y + fe * _LN2HI_F
    r = -_INF_F if u == 0 else r
    r = _NAN_F if x < -_ONE_F else r
    r = x if x == _INF_F else r
    r = x if x != x else r
    return x if x == 0 else r  # keeps -0.0


_TP0, _TP1, _TP2 = _F(9.38540185543e-3), _F(3.11992232697e-3), _F(2.44301354525e-2)
_TP3, _TP4, _TP5 = _F(5.34112807005e-2), _F(1.33387994085e-1), _F(3.33331568548e-1)


@register_jitable
def tan_f32(x: Any) -> Any:
    """sin/cos's float64 reduction by pi/2 (|x| < 1e5), Cephes tanf polynomial, -1/tan on odd n."""
    xd = np.float64(x)
    z = xd * _TWO_OVER_PI + _SHIFT
    n = f64_bits(z) - _SHIFT_BITS
    fn = z - _SHIFT
    r = _F(((xd - fn * _PIO2_1) - fn * _PIO2_2) - fn * _PIO2_3)
    rr = r * r
    p = _TP0 * rr + _TP1
    p = p * rr + _TP2
    p = p * rr + _TP3
    p = p * rr + _TP4
    p = p * rr + _TP5
    t = p * rr * r + r
    t = -_ONE_F / t if (n & 1) == 1 else t
    return x if x == 0 else t  # keeps -0.0


_AT0, _AT1, _AT2, _AT3 = _F(8.05374449538e-2), _F(-1.38776856032e-1), _F(1.99777106478e-1), _F(-3.33329491539e-1)
_TAN3PI8_F = _F(2.414213562373095)
_TANPI8_F = _F(0.4142135623730950)


@register_jitable(inline="always")
def _atan_pos_f32(a: Any) -> Any:
    """Cephes atanf for a >= 0 (inf and NaN included); one division, chosen by selects."""
    big = a > _TAN3PI8_F
    mid = a > _TANPI8_F
    num = -_ONE_F if big else (a - _ONE_F if mid else a)
    den = a if big else (a + _ONE_F if mid else _ONE_F)
    t = num / den
    z = t * t
    p = _AT0 * z + _AT1
    p = p * z + _AT2
    p = p * z + _AT3
    v = p * z * t + t
    hi = _PIO2_HI_F if big else (_PIO4_HI_F if mid else _ZERO_F)
    lo = _PIO2_LO_F if big else (_PIO4_LO_F if mid else _ZERO_F)
    return hi + (v + lo)


@register_jitable
def atan_f32(x: Any) -> Any:
    return _copysign_f32(_atan_pos_f32(abs(x)), x)


_AS0, _AS1, _AS2 = _F(4.2163199048e-2), _F(2.4181311049e-2), _F(4.5470025998e-2)
_AS3, _AS4 = _F(7.4953002686e-2), _F(1.6666752422e-1)


@register_jitable(inline="always")
def _asin_poly_f32(t: Any, z: Any) -> Any:
    """Cephes asinf polynomial: asin(t) for |t| <= 0.5, z = t*t."""
    p = _AS0 * z + _AS1
    p = p * z + _AS2
    p = p * z + _AS3
    p = p * z + _AS4
    return p * z * t + t


@register_jitable
def asin_f32(x: Any) -> Any:
    """|x| > 0.5: pi/2 - 2 asin(sqrt((1 - |x|)/2)); else the polynomial."""
    a = abs(x)
    big = a > _HALF_F
    z = _HALF_F * (_ONE_F - a) if big else a * a
    t = np.sqrt(z) if big else a  # sqrt of a negative z (|x| > 1) is NaN
    v = _asin_poly_f32(t, z)
    r = ((_PIO2_HI_F - (v + v)) + _PIO2_LO_F) if big else v
    return _copysign_f32(r, x)


@register_jitable
def acos_f32(x: Any) -> Any:
    """x > 0.5: 2 asin(sqrt((1-x)/2)); x < -0.5: pi - 2 asin(sqrt((1+x)/2)); else pi/2 - asin x."""
    hi = x > _HALF_F
    lo = x < -_HALF_F
    z = _HALF_F * (_ONE_F - x) if hi else (_HALF_F * (_ONE_F + x) if lo else x * x)
    t = np.sqrt(z) if (hi | lo) else x
    v = _asin_poly_f32(t, z)
    mid = (_PIO2_HI_F - v) + _PIO2_LO_F
    r = (v + v) if hi else ((_PI_HI_F - (v + v)) + _PI_LO_F if lo else mid)
    return r


_SH0, _SH1, _SH2 = _F(2.03721912945e-4), _F(8.33028376239e-3), _F(1.66667160211e-1)
_COSH_HI_F = _F(90.0)  # cosh/sinh overflow at 89.416


@register_jitable
def sinh_f32(x: Any) -> Any:
    """Cephes sinhf: odd polynomial for |x| <= 1, else h - 1/(4h) with h = exp(|x|)/2."""
    a = abs(x)
    z = a * a
    p = _SH0 * z + _SH1
    p = p * z + _SH2
    small = p * z * a + a
    ac = _COSH_HI_F if a > _COSH_HI_F else a  # NaN stays NaN
    h = _exp_scaled_f32(ac, -1)
    large = h - _F(0.25) / h
    r = small if a <= _ONE_F else large
    return _copysign_f32(r, x)


@register_jitable
def cosh_f32(x: Any) -> Any:
    """h + 1/(4h) with h = exp(|x|)/2 (scaled inside exp, so no overflow before 89.4)."""
    a = abs(x)
    ac = _COSH_HI_F if a > _COSH_HI_F else a
    h = _exp_scaled_f32(ac, -1)
    return h + _F(0.25) / h


@register_jitable(inline="always")
def atan2_f32(y: Any, x: Any) -> Any:
    ax = abs(x)
    ay = abs(y)
    swap = ay > ax
    hi = ay if swap else ax
    lo = ax if swap else ay
    t = lo / hi
    t = _ZERO_F if hi == 0 else t
    t = _ONE_F if lo == _INF_F else t
    a = _atan_pos_f32(t)
    a = ((_PIO2_HI_F - a) + _PIO2_LO_F) if swap else a
    a = ((_PI_HI_F - a) + _PI_LO_F) if f32_bits(x) < 0 else a  # sign bit of x (-0.0 too)
    a = _copysign_f32(a, y)
    return x + y if (x != x) | (y != y) else a


_E2P0, _E2P1, _E2P2 = _F(1.535336188319500e-4), _F(1.339887440266574e-3), _F(9.618437357674640e-3)
_E2P3, _E2P4, _E2P5 = _F(5.550332471162809e-2), _F(2.402264791363012e-1), _F(6.931472028550421e-1)
_LOG2E_D = 1.4426950408889634
_POW_W_MAX = 200.0


@register_jitable(inline="always")
def _log2_f64_short(xd: float) -> float:
    """log2 of a positive normal float64 to 5e-11 relative (plenty for float32 pow): 2 atanh(s) series to s**11."""
    bits = f64_bits(xd)
    e = ((bits >> 52) & 0x7FF) - 1023
    m = bits_f64((bits & _MANT) | _ONE_BITS)  # [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    p = _A5 * s2 + _A4
    p = p * s2 + _A3
    p = p * s2 + _A2
    p = p * s2 + _A1
    lm = (s + s) * (1.0 + s2 * p)
    return float(e) + lm * _LOG2E_D


@register_jitable(inline="always")
def pow_f32(x: Any, y: Any) -> Any:
    """x**y = 2**(y log2|x|): log2 and the product in float64 (error < 1e-8 absolute
    for |y log2|x|| < 150), 2**w as 2**rint(w) times Cephes exp2f of the float32 remainder.

    Sign: negative x with odd integer y negates, with non-integer y gives NaN. Zero and
    infinite x, zero/infinite/NaN y are left to the caller (elementwise's libm fix-up pass).
    """
    w: Any = np.float64(y) * _log2_f64_short(np.float64(abs(x)))
    w = _POW_W_MAX if w > _POW_W_MAX else w  # NaN stays NaN
    w = -_POW_W_MAX if w < -_POW_W_MAX else w
    z = w + _SHIFT
    n = f64_bits(z) - _SHIFT_BITS
    r = _F(w - (z - _SHIFT))  # |r| <= 1/2, exact before the rounding to float32
    p = _E2P0 * r + _E2P1
    p = p * r + _E2P2
    p = p * r + _E2P3
    p = p * r + _E2P4
    p = p * r + _E2P5
    v = p * r + _ONE_F
    n32 = np.int32(n)
    n1 = n32 >> 1
    n2 = n32 - n1
    s1 = bits_f32(np.int32((n1 + 127) << 23))
    s2 = bits_f32(np.int32((n2 + 127) << 23))
    v = (v * s1) * s2
    fy = np.floor(y)
    yodd = (fy == y) & (np.floor(y * _HALF_F) * _TWO_F != y)
    neg = x < 0
    v = -v if (neg & yodd) else v
    v = _NAN_F if (neg & (fy != y)) else v
    return x if x != x else v  # log2's bit split reads a NaN as a number
