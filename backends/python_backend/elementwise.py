"""Element-wise unary and binary ops, ``where`` and ``clip``, on flat lists.

Each op has a kernel per kind of dtype (float, int, bool) working on whole lists, so
the inner loop is ``map`` over a C function or a list comprehension. Python's math
module raises where IEEE 754 returns inf or NaN (``math.log(0)``, ``1.0 / 0.0``,
``math.exp(1000)``); kernels take the fast path first and redo the list with an
IEEE-correct element function only when that raised.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._catalog import OPS, TensorInfo, broadcast_shapes
from .._dtypes import FLOAT, INT
from ._tensor import INT_RANGE, PyTensor, broadcast_list, fit

if TYPE_CHECKING:
    from .backend import PythonBackend

__all__ = ["binary", "clip", "ieee", "unary", "where"]

Values = list[Any]
Kernel1 = Callable[[Values], Values]
Kernel2 = Callable[[Values, Values], Values]

_NAN = math.nan
_INF = math.inf
_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


def ieee(fn: Callable[..., Any], fallback: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with IEEE results where Python's math raises: ``fallback(*args)`` then."""

    def safe(*args: Any) -> Any:
        try:
            return fn(*args)
        except _ERRORS:
            return fallback(*args)

    return safe


def _mapped(fn: Callable[..., Any], fallback: Callable[..., Any]) -> Callable[..., Values]:
    """A list kernel: ``map(fn)`` at C speed; element-wise IEEE fallback only if it raised."""
    safe = ieee(fn, fallback)

    def kernel(*columns: Values) -> Values:
        try:
            return list(map(fn, *columns))
        except _ERRORS:
            return list(map(safe, *columns))

    return kernel


# ---------------------------------------------------------------------------
# unary


def _rounding(fn: Callable[[float], int]) -> Kernel1:
    """floor/ceil/round on floats: keep the sign of zero (-0.5 -> -0.0) and pass NaN/inf."""
    copysign = math.copysign

    def kernel(values: Values) -> Values:
        try:
            return [copysign(float(fn(v)), v) for v in values]
        except (ValueError, OverflowError):
            return [copysign(float(fn(v)), v) if math.isfinite(v) else v for v in values]

    return kernel


def _rsqrt(v: float) -> float:
    return 1.0 / math.sqrt(v)


def _rsqrt_edge(v: float) -> float:
    if v == 0:
        return math.copysign(_INF, v)
    return _NAN


def _sigmoid(v: float) -> float:
    # two branches so exp never overflows
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _float_sign(values: Values) -> Values:
    return [1.0 if v > 0 else -1.0 if v < 0 else 0.0 if v == 0 else v for v in values]


def _nan_result(*_: Any) -> float:
    return _NAN


def _inf_result(*_: Any) -> float:
    return _INF


_FLOAT_UNARY: dict[str, Kernel1] = {
    "abs": lambda a: list(map(abs, a)),
    "negative": lambda a: list(map(operator.neg, a)),
    "sign": _float_sign,
    "floor": _rounding(math.floor),
    "ceil": _rounding(math.ceil),
    "round": _rounding(round),  # Python's round() is half-to-even, like NumPy's rint
    "sqrt": _mapped(math.sqrt, _nan_result),
    "rsqrt": _mapped(_rsqrt, _rsqrt_edge),
    "exp": _mapped(math.exp, _inf_result),
    "expm1": _mapped(math.expm1, _inf_result),
    "log": _mapped(math.log, lambda v: -_INF if v == 0 else _NAN),
    "log1p": _mapped(math.log1p, lambda v: -_INF if v == -1 else _NAN),
    "sin": _mapped(math.sin, _nan_result),
    "cos": _mapped(math.cos, _nan_result),
    "tan": _mapped(math.tan, _nan_result),
    "asin": _mapped(math.asin, _nan_result),
    "acos": _mapped(math.acos, _nan_result),
    "atan": lambda a: list(map(math.atan, a)),
    "sinh": _mapped(math.sinh, lambda v: math.copysign(_INF, v)),
    "cosh": _mapped(math.cosh, _inf_result),
    "tanh": lambda a: list(map(math.tanh, a)),
    "erf": lambda a: list(map(math.erf, a)),
    "sigmoid": lambda a: list(map(_sigmoid, a)),
    "isnan": lambda a: list(map(math.isnan, a)),
    "isinf": lambda a: list(map(math.isinf, a)),
}

_INT_UNARY: dict[str, Kernel1] = {
    "abs": lambda a: list(map(abs, a)),
    "negative": lambda a: list(map(operator.neg, a)),
    "sign": lambda a: [(v > 0) - (v < 0) for v in a],
    "floor": lambda a: a,
    "ceil": lambda a: a,
    "round": lambda a: a,
    "isnan": lambda a: [False] * len(a),
    "isinf": lambda a: [False] * len(a),
    "bitwise_invert": lambda a: list(map(operator.invert, a)),
}

_BOOL_UNARY: dict[str, Kernel1] = {
    "bitwise_invert": lambda a: [not v for v in a],
}


def unary(name: str) -> Callable[..., PyTensor]:
    """The method for unary op ``name`` (the catalog has validated the input)."""
    spec = OPS[name]
    to_bool = name in ("isnan", "isinf")
    kernels = {kind: table[name] for kind, table in (("f", _FLOAT_UNARY), ("i", _INT_UNARY), ("b", _BOOL_UNARY)) if name in table}

    def op(self: PythonBackend, x: PyTensor) -> PyTensor:
        kind = "f" if x.dtype in FLOAT else "i" if x.dtype in INT else "b"
        out_dtype = "bool" if to_bool else x.dtype
        return PyTensor(fit(out_dtype, kernels[kind](x.data)), x.shape, out_dtype)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


# ---------------------------------------------------------------------------
# binary


def _divide_edge(a: float, b: float) -> float:
    # only b == 0 raises: IEEE gives +-inf, or NaN for 0/0 and NaN/0
    if a == 0 or a != a:
        return _NAN
    return math.copysign(_INF, a) * math.copysign(1.0, b)


def _pow_edge(a: float, b: float) -> float:
    odd = b.is_integer() and b % 2 == 1
    if a == 0:  # 0 ** negative
        return math.copysign(_INF, a) if odd else _INF
    if a < 0 and not b.is_integer():
        return _NAN
    # overflow: |a| ** b beyond the double range (or underflow of a negative power)
    magnitude = _INF if (abs(a) > 1) == (b > 0) else 0.0
    return -magnitude if a < 0 and odd else magnitude


def _int_floordiv(a: Values, b: Values) -> Values:
    try:
        return list(map(operator.floordiv, a, b))
    except ZeroDivisionError:  # NumPy gives 0 for integer division by zero
        return [x // y if y else 0 for x, y in zip(a, b, strict=True)]


def _int_mod(a: Values, b: Values) -> Values:
    try:
        return list(map(operator.mod, a, b))
    except ZeroDivisionError:
        return [x % y if y else 0 for x, y in zip(a, b, strict=True)]


def _float_max(a: Values, b: Values) -> Values:
    return [x if x >= y or x != x else y for x, y in zip(a, b, strict=True)]


def _float_min(a: Values, b: Values) -> Values:
    return [x if x <= y or x != x else y for x, y in zip(a, b, strict=True)]


def _left_shift_edge(a: int, b: int) -> int:
    return 0  # negative shift counts: NumPy's C shift treats them as huge unsigned counts


def _right_shift_edge(a: int, b: int) -> int:
    return -1 if a < 0 else 0


def _map2(fn: Callable[[Any, Any], Any]) -> Kernel2:
    return lambda a, b: list(map(fn, a, b))


_COMMON_BINARY: dict[str, Kernel2] = {
    "add": _map2(operator.add),
    "subtract": _map2(operator.sub),
    "multiply": _map2(operator.mul),
    "equal": _map2(operator.eq),
    "not_equal": _map2(operator.ne),
    "less": _map2(operator.lt),
    "less_equal": _map2(operator.le),
    "greater": _map2(operator.gt),
    "greater_equal": _map2(operator.ge),
}

_FLOAT_BINARY: dict[str, Kernel2] = {
    **_COMMON_BINARY,
    "divide": _mapped(operator.truediv, _divide_edge),
    # Python's float // and % use NumPy's divmod algorithm; only division by zero differs
    "floor_divide": _mapped(operator.floordiv, _divide_edge),
    "remainder": _mapped(operator.mod, _nan_result),
    "pow": _mapped(math.pow, _pow_edge),
    "atan2": _map2(math.atan2),
    "maximum": _float_max,
    "minimum": _float_min,
}

_INT_BINARY: dict[str, Kernel2] = {
    **_COMMON_BINARY,
    "floor_divide": _int_floordiv,
    "remainder": _int_mod,
    "maximum": lambda a, b: [x if x >= y else y for x, y in zip(a, b, strict=True)],
    "minimum": lambda a, b: [x if x <= y else y for x, y in zip(a, b, strict=True)],
    "bitwise_and": _map2(operator.and_),
    "bitwise_or": _map2(operator.or_),
    "bitwise_xor": _map2(operator.xor),
    "bitwise_left_shift": _mapped(operator.lshift, _left_shift_edge),
    "bitwise_right_shift": _mapped(operator.rshift, _right_shift_edge),
}

_BOOL_BINARY: dict[str, Kernel2] = {
    **{k: v for k, v in _COMMON_BINARY.items() if k not in ("add", "subtract", "multiply")},
    "logical_and": _map2(operator.and_),
    "logical_or": _map2(operator.or_),
    "logical_xor": _map2(operator.ne),
    "bitwise_and": _map2(operator.and_),
    "bitwise_or": _map2(operator.or_),
    "bitwise_xor": _map2(operator.ne),
}


_BOOL_OUT = frozenset({"equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor"})


def operands(name: str, *xs: PyTensor) -> tuple[tuple[int, ...], list[list[Any]]]:
    """Output shape and each input's data broadcast to it."""
    shape = broadcast_shapes(name, *(TensorInfo(x.shape, x.dtype) for x in xs))
    return shape, [broadcast_list(x.data, x.shape, shape) for x in xs]


def binary(name: str) -> Callable[..., PyTensor]:
    """The method for binary op ``name`` (the catalog has validated the inputs)."""
    spec = OPS[name]
    kernels = {kind: table[name] for kind, table in (("f", _FLOAT_BINARY), ("i", _INT_BINARY), ("b", _BOOL_BINARY)) if name in table}
    out_fixed = "bool" if name in _BOOL_OUT else None

    def op(self: PythonBackend, x: PyTensor, y: PyTensor) -> PyTensor:
        shape, (a, b) = operands(name, x, y)
        kind = "f" if x.dtype in FLOAT else "i" if x.dtype in INT else "b"
        out_dtype = out_fixed or x.dtype
        return PyTensor(fit(out_dtype, kernels[kind](a, b)), shape, out_dtype)

    op.__name__ = name
    op.__doc__ = spec.doc
    return op


# ---------------------------------------------------------------------------
# selection


def where(cond: PyTensor, x: PyTensor, y: PyTensor) -> PyTensor:
    """x where cond is true, else y (broadcast)."""
    shape, (c, a, b) = operands("where", cond, x, y)
    return PyTensor([u if k else v for k, u, v in zip(c, a, b, strict=True)], shape, x.dtype)


def _bound(value: float, dtype: str) -> Any:
    """A clip bound in x's dtype; int bounds beyond the dtype's range clamp (same result)."""
    if dtype in INT:
        lo, hi = INT_RANGE[dtype]
        return min(hi, max(lo, int(value)))
    return fit(dtype, [float(value)])[0]


def clip(x: PyTensor, lo: float | None, hi: float | None) -> PyTensor:
    """Values limited to [lo, hi]; NaN (in x or a bound) propagates as in NumPy."""
    data = list(x.data)
    if lo is not None:
        b = _bound(lo, x.dtype)
        data = [v if v >= b or v != v else b for v in data]
    if hi is not None:
        b = _bound(hi, x.dtype)
        data = [v if v <= b or v != v else b for v in data]
    return PyTensor(data, x.shape, x.dtype)
