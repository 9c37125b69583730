"""Inputs of every catalog op at a given size and dtype: seeded, cached, backend-neutral.

``make_case(op, size, dtype)`` returns a :class:`Case`: the tensor inputs as NumPy
arrays (converted to a backend with ``from_numpy`` in ``setup``), then the op's other
positional and keyword parameters. What ``size`` means depends on the op's *kind*
(:data:`SIZE_KIND`):

* ``elements`` - number of elements of the (main) input; 1-D for element-wise ops and
  reductions, ``rows x cols`` with ``cols = min(size, 1000)`` for row-wise ops
  (softmax, layer_norm, shape ops), ``isqrt(size)`` squared for images/eye;
* ``matrix`` - the side ``n`` of square matrices (matmul, cholesky, triangular_solve,
  dense, mlp_forward); conv uses an ``(1, 16, n/4, n/4)`` image and ``3 x 3`` kernels;
* ``fft`` - transform length (powers of two).

Value ranges keep every op well conditioned (log of positive numbers, asin inside
(-1, 1), divisors away from zero, SPD matrices diagonally dominant), so the float64
reference check measures the backend, not the input.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SIZE_KIND", "Case", "make_case", "rows_cols"]


@dataclass(frozen=True)
class Case:
    """One op call: tensor inputs (arrays, or a tuple of arrays for concat/stack) and parameters."""

    tensors: tuple[Any, ...]
    params: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def arrays(self) -> list[np.ndarray]:
        """Every input array, flattened out of sequence arguments."""
        out: list[np.ndarray] = []
        for t in self.tensors:
            out.extend(t if isinstance(t, tuple) else (t,))
        return out


# ---------------------------------------------------------------------------
# seeded, cached generators (read-only arrays: a backend that mutates inputs fails loudly)


def _seed(*key: Any) -> int:
    return zlib.crc32(repr(key).encode())


def _freeze(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=32)
def uniform(shape: tuple[int, ...], dtype: str, low: float, high: float, key: str) -> np.ndarray:
    """Uniform floats in [low, high) (complex: both parts), seeded by ``key``."""
    rng = np.random.default_rng(_seed("uniform", shape, dtype, low, high, key))
    if dtype.startswith("complex"):
        part = "float32" if dtype == "complex64" else "float64"
        re = rng.uniform(low, high, shape).astype(part)
        im = rng.uniform(low, high, shape).astype(part)
        return _freeze((re + 1j * im).astype(dtype))
    work = "float32" if dtype in ("float16", "bfloat16", "float32") else "float64"
    x = rng.random(shape, dtype=np.dtype(work))
    x *= high - low
    x += low
    return _freeze(x.astype(dtype, copy=False))


@functools.lru_cache(maxsize=32)
def integers(shape: tuple[int, ...], dtype: str, low: int, high: int, key: str) -> np.ndarray:
    """Uniform integers in [low, high) of ``dtype`` (floats get integer values)."""
    rng = np.random.default_rng(_seed("integers", shape, dtype, low, high, key))
    return _freeze(rng.integers(low, high, shape).astype(dtype))


@functools.lru_cache(maxsize=16)
def booleans(shape: tuple[int, ...], key: str) -> np.ndarray:
    rng = np.random.default_rng(_seed("booleans", shape, key))
    return _freeze(rng.random(shape) < 0.5)


def rows_cols(size: int) -> tuple[int, int]:
    """A ``rows x cols`` shape with ``size`` elements (rows of up to 1000)."""
    cols = min(size, 1000)
    return (max(size // cols, 1), cols)


def _values(shape: tuple[int, ...], dtype: str, key: str, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Typical values of ``dtype``: uniform floats in [low, high), small ints, random bools."""
    if dtype == "bool":
        return booleans(shape, key)
    if dtype in ("int8", "int16", "int32", "int64"):
        return integers(shape, dtype, -100, 100, key)
    if dtype == "uint8":
        return integers(shape, dtype, 0, 100, key)
    return uniform(shape, dtype, low, high, key)


def _half_equal(x: np.ndarray, key: str) -> np.ndarray:
    """A second operand equal to ``x`` in about half of the places (for comparisons)."""
    other = _values(x.shape, x.dtype.name, key + "/other")
    return _freeze(np.where(booleans(x.shape, key + "/mask"), x, other))


# ---------------------------------------------------------------------------
# per-op builders

SIZE_KIND: dict[str, str] = {}
_BUILDERS: dict[str, Callable[[int, str], Case]] = {}


def _case(*ops: str, kind: str = "elements") -> Callable[[Callable[..., Case]], Callable[..., Case]]:
    def register(fn: Callable[..., Case]) -> Callable[..., Case]:
        for op in ops:
            SIZE_KIND[op] = kind
            _BUILDERS[op] = functools.partial(fn, op)
        return fn

    return register


def make_case(op: str, size: int, dtype: str) -> Case:
    """The inputs of ``op`` at ``size`` (see :data:`SIZE_KIND`) and ``dtype``."""
    try:
        builder = _BUILDERS[op]
    except KeyError:
        raise KeyError(f"no benchmark inputs defined for op {op!r}") from None
    return builder(int(size), dtype)


# creation ---------------------------------------------------------------------------


@_case("arange")
def _arange(op: str, size: int, dtype: str) -> Case:
    return Case((), (0, size, 1), {"dtype": dtype})


@_case("full")
def _full(op: str, size: int, dtype: str) -> Case:
    return Case((), ((size,), 1), {"dtype": dtype})


@_case("eye")
def _eye(op: str, size: int, dtype: str) -> Case:
    return Case((), (math.isqrt(size),), {"dtype": dtype})


# unary ------------------------------------------------------------------------------

_UNARY_RANGE = {
    "sqrt": (0.01, 100.0),
    "rsqrt": (0.01, 100.0),
    "log": (0.01, 100.0),
    "log1p": (-0.5, 100.0),
    "exp": (-10.0, 10.0),
    "expm1": (-10.0, 10.0),
    "sinh": (-5.0, 5.0),
    "cosh": (-5.0, 5.0),
    "tan": (-1.2, 1.2),
    "asin": (-0.99, 0.99),
    "acos": (-0.99, 0.99),
    "sin": (-10.0, 10.0),
    "cos": (-10.0, 10.0),
    "atan": (-10.0, 10.0),
    "tanh": (-5.0, 5.0),
    "erf": (-3.0, 3.0),
    "sigmoid": (-10.0, 10.0),
    "floor": (-100.0, 100.0),
    "ceil": (-100.0, 100.0),
    "round": (-100.0, 100.0),
}


@_case(
    "abs",
    "negative",
    "sign",
    "floor",
    "ceil",
    "round",
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
    "bitwise_invert",
)
def _unary(op: str, size: int, dtype: str) -> Case:
    low, high = _UNARY_RANGE.get(op, (-1.0, 1.0))
    return Case((_values((size,), dtype, op, low, high),))


@_case("isnan", "isinf")
def _special(op: str, size: int, dtype: str) -> Case:
    x = _values((size,), dtype, op)
    if x.dtype.kind == "f":  # one special value in eight, of both kinds
        x = x.copy()
        x[::16] = np.nan
        x[8::16] = np.inf
        x = _freeze(x)
    return Case((x,))


# binary -----------------------------------------------------------------------------


@_case(
    "add",
    "subtract",
    "multiply",
    "maximum",
    "minimum",
    "atan2",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "logical_and",
    "logical_or",
    "logical_xor",
)
def _binary(op: str, size: int, dtype: str) -> Case:
    return Case((_values((size,), dtype, op + "/x"), _values((size,), dtype, op + "/y")))


@_case("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
def _compare(op: str, size: int, dtype: str) -> Case:
    x = _values((size,), dtype, op + "/x")
    return Case((x, _half_equal(x, op)))


@_case("divide")
def _divide(op: str, size: int, dtype: str) -> Case:
    y = uniform((size,), dtype, 0.5, 2.0, op + "/y")
    sign = np.where(booleans((size,), op + "/sign"), 1, -1).astype(dtype)
    return Case((_values((size,), dtype, op + "/x"), _freeze(y * sign)))


@_case("floor_divide", "remainder")
def _floor_divide(op: str, size: int, dtype: str) -> Case:
    # integer-valued operands, so float32 and the float64 reference take the same floor
    x = integers((size,), dtype, -1000 if dtype != "uint8" else 0, 1000 if dtype != "uint8" else 250, op + "/x")
    y = integers((size,), dtype, 1, 10, op + "/y")
    if dtype != "uint8":
        y = _freeze(np.where(booleans((size,), op + "/sign"), y, -y).astype(dtype))
    return Case((x, y))


@_case("pow")
def _pow(op: str, size: int, dtype: str) -> Case:
    return Case((uniform((size,), dtype, 0.5, 2.0, op + "/x"), uniform((size,), dtype, -2.0, 2.0, op + "/y")))


@_case("bitwise_left_shift", "bitwise_right_shift")
def _shift(op: str, size: int, dtype: str) -> Case:
    return Case((_values((size,), dtype, op + "/x"), integers((size,), dtype, 0, 7, op + "/y")))


# selection --------------------------------------------------------------------------


@_case("where")
def _where(op: str, size: int, dtype: str) -> Case:
    return Case((booleans((size,), op + "/cond"), _values((size,), dtype, op + "/x"), _values((size,), dtype, op + "/y")))


@_case("clip")
def _clip(op: str, size: int, dtype: str) -> Case:
    bounds = (-50, 50) if dtype in ("int8", "int16", "int32", "int64", "uint8") else (-0.5, 0.5)
    return Case((_values((size,), dtype, op),), (), {"min": bounds[0], "max": bounds[1]})


# reductions -------------------------------------------------------------------------


@_case("sum", "mean", "cumulative_sum")
def _sum(op: str, size: int, dtype: str) -> Case:
    return Case((_values((size,), dtype, op, 0.0, 1.0),))


@_case("prod")
def _prod(op: str, size: int, dtype: str) -> Case:
    if dtype.startswith(("int", "uint")):
        return Case((integers((size,), dtype, 1, 3, op),))  # wraps around as NumPy does
    return Case((uniform((size,), dtype, 0.999, 1.001, op),))


@_case("max", "min", "argmax", "argmin")
def _extreme(op: str, size: int, dtype: str) -> Case:
    return Case((_values((size,), dtype, op),))


@_case("all", "any")
def _all_any(op: str, size: int, dtype: str) -> Case:
    # worst case, no early exit: all() over non-zeros, any() over zeros
    fill = 1 if op == "all" else 0
    return Case((_freeze(np.full((size,), fill, dtype=dtype)),))


# window -----------------------------------------------------------------------------


@_case("window_sum", "window_max")
def _window(op: str, size: int, dtype: str) -> Case:
    n = max(math.isqrt(size), 3)
    return Case((_values((n, n), dtype, op),), ((3, 3), (1, 1)))


# shape ------------------------------------------------------------------------------


@_case("reshape")
def _reshape(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    return Case((_values((rows, cols), dtype, op),), ((cols, rows),))


@_case("permute_dims")
def _permute(op: str, size: int, dtype: str) -> Case:
    return Case((_values(rows_cols(size), dtype, op),), ((1, 0),))


@_case("broadcast_to")
def _broadcast(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    return Case((_values((1, cols), dtype, op),), ((rows, cols),))


@_case("expand_dims")
def _expand(op: str, size: int, dtype: str) -> Case:
    return Case((_values(rows_cols(size), dtype, op),), (0,))


@_case("squeeze")
def _squeeze(op: str, size: int, dtype: str) -> Case:
    return Case((_values((1, size), dtype, op),), (0,))


@_case("slice")
def _slice(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    return Case((_values((rows, cols), dtype, op),), ((0, 0), (rows, cols), (1, 2)))


@_case("put_slice")
def _put_slice(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    update = _values((max(rows // 2, 1), max(cols // 2, 1)), dtype, op + "/update")
    return Case((_values((rows, cols), dtype, op), update), ((0, cols // 4),))


@_case("concat", "stack")
def _join(op: str, size: int, dtype: str) -> Case:
    half = max(size // 2, 1)
    parts = (_values((half,), dtype, op + "/a"), _values((half,), dtype, op + "/b"))
    return Case((parts,), (0,))


@_case("pad")
def _pad(op: str, size: int, dtype: str) -> Case:
    return Case((_values(rows_cols(size), dtype, op),), (((1, 1), (1, 1)),))


@_case("flip")
def _flip(op: str, size: int, dtype: str) -> Case:
    return Case((_values(rows_cols(size), dtype, op),), (-1,))


@_case("take")
def _take(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    indices = integers((cols,), "int64", 0, cols, op + "/indices")
    return Case((_values((rows, cols), dtype, op), indices), (1,))


@_case("scatter_add")
def _scatter_add(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    indices = integers((cols,), "int64", 0, cols, op + "/indices")
    return Case((_values((rows, cols), dtype, op), indices, _values((rows, cols), dtype, op + "/updates")), (1,))


@_case("astype")
def _astype(op: str, size: int, dtype: str) -> Case:
    target = {"float32": "float64", "float64": "float32"}.get(dtype, "float32")
    return Case((_values((size,), dtype, op),), (target,))


# linear algebra ----------------------------------------------------------------------


@_case("matmul", kind="matrix")
def _matmul(op: str, n: int, dtype: str) -> Case:
    return Case((uniform((n, n), dtype, -1.0, 1.0, op + "/a"), uniform((n, n), dtype, -1.0, 1.0, op + "/b")))


@_case("conv", kind="matrix")
def _conv(op: str, n: int, dtype: str) -> Case:
    side = max(n // 4, 8)
    return Case((uniform((1, 16, side, side), dtype, -1.0, 1.0, op + "/x"), uniform((16, 16, 3, 3), dtype, -1.0, 1.0, op + "/w")))


@functools.lru_cache(maxsize=4)
def _spd(n: int, dtype: str) -> np.ndarray:
    """Symmetric and diagonally dominant, hence positive definite and well conditioned."""
    r = uniform((n, n), "float64", -1.0, 1.0, "spd")
    a = (r + r.T) / 2 + n * np.eye(n)
    return _freeze(a.astype(dtype))


@_case("cholesky", kind="matrix")
def _cholesky(op: str, n: int, dtype: str) -> Case:
    return Case((_spd(n, dtype),))


@_case("triangular_solve", kind="matrix")
def _trsolve(op: str, n: int, dtype: str) -> Case:
    a = np.tril(uniform((n, n), dtype, -1.0, 1.0, op + "/a")) + n * np.eye(n, dtype=dtype)
    return Case((_freeze(a.astype(dtype)), uniform((n, n), dtype, -1.0, 1.0, op + "/b")), (True,))


# ordering ----------------------------------------------------------------------------


@_case("sort", "argsort")
def _sort(op: str, size: int, dtype: str) -> Case:
    return Case((_values((size,), dtype, op),))


@_case("top_k")
def _top_k(op: str, size: int, dtype: str) -> Case:
    return Case((_values((size,), dtype, op),), (min(10, size),))


# fft ---------------------------------------------------------------------------------


@_case("fft", "ifft", kind="fft")
def _fft(op: str, size: int, dtype: str) -> Case:
    return Case((uniform((size,), dtype, -1.0, 1.0, op),))


# fused -------------------------------------------------------------------------------


@_case("softmax", "logsumexp")
def _rowwise(op: str, size: int, dtype: str) -> Case:
    return Case((uniform(rows_cols(size), dtype, -5.0, 5.0, op),))


@_case("gelu")
def _gelu(op: str, size: int, dtype: str) -> Case:
    return Case((uniform((size,), dtype, -5.0, 5.0, op),))


@_case("layer_norm")
def _layer_norm(op: str, size: int, dtype: str) -> Case:
    rows, cols = rows_cols(size)
    return Case(
        (
            uniform((rows, cols), dtype, -5.0, 5.0, op + "/x"),
            uniform((cols,), dtype, 0.5, 1.5, op + "/gamma"),
            uniform((cols,), dtype, -0.5, 0.5, op + "/beta"),
        )
    )


@_case("dense", kind="matrix")
def _dense(op: str, n: int, dtype: str) -> Case:
    scale = 1.0 / math.sqrt(n)
    return Case(
        (
            uniform((n, n), dtype, -1.0, 1.0, op + "/x"),
            uniform((n, n), dtype, -scale, scale, op + "/w"),
            uniform((n,), dtype, -0.1, 0.1, op + "/b"),
        )
    )


@_case("mlp_forward", kind="matrix")
def _mlp(op: str, n: int, dtype: str) -> Case:
    scale = 1.0 / math.sqrt(n)
    return Case(
        (
            uniform((n, n), dtype, -1.0, 1.0, op + "/x"),
            uniform((n, n), dtype, -scale, scale, op + "/w1"),
            uniform((n,), dtype, -0.1, 0.1, op + "/b1"),
            uniform((n, n), dtype, -scale, scale, op + "/w2"),
            uniform((n,), dtype, -0.1, 0.1, op + "/b2"),
        )
    )
