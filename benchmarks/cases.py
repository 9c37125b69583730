"""Inputs of every catalog op at a given size and dtype: seeded, cached, backend-neutral.

``make_case(op, size, dtype)`` returns a :class:`Case`: the tensor inputs as NumPy arrays
(converted to a backend with ``from_numpy`` in ``setup``), then the op's other positional
and keyword arguments. The shapes and the other arguments come from the catalog's size ->
input rule (``OPS[op].benchmark_inputs(size, dtype)``, the catalog of this checkout: see
:mod:`benchmarks._checkout`); this module only chooses the *values*.

By default every input is drawn uniformly from the op's ``domain`` in the catalog (ints:
-100..99, bools: random), so the float64 reference check measures the backend, not the
input. The ops below need more than a range, and have a builder here: comparisons (equal
in about half of the places), divisors away from zero, integer-valued floor division,
positive powers, shift counts below the bit width, products near 1, all/any without an
early exit, indices in range, symmetric positive-definite and well-conditioned triangular
matrices, layer_norm's scale and shift, and dense layers scaled by 1/sqrt(n). A new op
with a plain domain needs no edit here.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checkout import CATALOG

__all__ = ["Case", "make_case"]


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
    return _freeze(x.astype(_numpy_dtype(dtype), copy=False))


def _numpy_dtype(dtype: str) -> Any:
    """NumPy's dtype for ``dtype``; bfloat16 comes from ml_dtypes (installed with jax), a skip without it."""
    if dtype != "bfloat16":
        return dtype
    try:
        import ml_dtypes
    except ImportError:
        raise NotImplementedError("bfloat16 inputs need ml_dtypes (pip install ml_dtypes; jax installs it)") from None
    return ml_dtypes.bfloat16


@functools.lru_cache(maxsize=32)
def integers(shape: tuple[int, ...], dtype: str, low: int, high: int, key: str) -> np.ndarray:
    """Uniform integers in [low, high) of ``dtype`` (floats get integer values)."""
    rng = np.random.default_rng(_seed("integers", shape, dtype, low, high, key))
    return _freeze(rng.integers(low, high, shape).astype(dtype))


@functools.lru_cache(maxsize=16)
def booleans(shape: tuple[int, ...], key: str) -> np.ndarray:
    rng = np.random.default_rng(_seed("booleans", shape, key))
    return _freeze(rng.random(shape) < 0.5)


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
# values per op

Inputs = Any  # the catalog's BenchInputs (shapes, dtypes, names, other arguments)
Builder = Callable[[str, Inputs], tuple[Any, ...]]
_BUILDERS: dict[str, Builder] = {}


def make_case(op: str, size: int, dtype: str) -> Case:
    """The inputs of ``op`` at benchmark ``size`` (its meaning: ``OPS[op].kind``) and ``dtype``."""
    try:
        spec = CATALOG.OPS[op]
    except KeyError:
        raise KeyError(f"no benchmark inputs for op {op!r}: it is not in the catalog") from None
    inputs = spec.benchmark_inputs(int(size), dtype)
    return Case(_BUILDERS.get(op, _from_domain)(op, inputs), tuple(inputs.args), dict(inputs.kwargs))


def _key(op: str, inputs: Inputs, name: str) -> str:
    """Seed key of one input: the op alone for its only tensor, else ``op/name``."""
    return op if len(inputs.tensors) == 1 else f"{op}/{name}"


def _from_domain(op: str, inputs: Inputs) -> tuple[Any, ...]:
    """Every input uniform over the op's domain (see :func:`_values`)."""
    low, high = CATALOG.OPS[op].domain
    return tuple(_values(t.shape, t.dtype, _key(op, inputs, name), low, high) for t, name in zip(inputs.tensors, inputs.names, strict=True))


def _builds(*ops: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for op in ops:
            assert op in CATALOG.OPS, f"values for {op!r}, which the catalog does not have"
            _BUILDERS[op] = fn
        return fn

    return register


@_builds("isnan", "isinf")
def _special(op: str, inputs: Inputs) -> tuple[Any, ...]:
    (t,) = inputs.tensors
    x = _values(t.shape, t.dtype, op)
    if x.dtype.kind == "f":  # one special value in eight, of both kinds
        x = x.copy()
        x[::16] = np.nan
        x[8::16] = np.inf
        x = _freeze(x)
    return (x,)


@_builds("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
def _compare(op: str, inputs: Inputs) -> tuple[Any, ...]:
    t = inputs.tensors[0]
    x = _values(t.shape, t.dtype, op + "/x")
    return (x, _half_equal(x, op))


@_builds("divide")
def _divide(op: str, inputs: Inputs) -> tuple[Any, ...]:
    t = inputs.tensors[0]
    y = uniform(t.shape, t.dtype, 0.5, 2.0, op + "/y")
    sign = np.where(booleans(t.shape, op + "/sign"), 1, -1).astype(t.dtype)
    return (_values(t.shape, t.dtype, op + "/x"), _freeze(y * sign))


@_builds("floor_divide", "remainder")
def _floor_divide(op: str, inputs: Inputs) -> tuple[Any, ...]:
    # integer-valued operands, so float32 and the float64 reference take the same floor
    t = inputs.tensors[0]
    unsigned = t.dtype == "uint8"
    x = integers(t.shape, t.dtype, 0 if unsigned else -1000, 250 if unsigned else 1000, op + "/x")
    y = integers(t.shape, t.dtype, 1, 10, op + "/y")
    if not unsigned:
        y = _freeze(np.where(booleans(t.shape, op + "/sign"), y, -y).astype(t.dtype))
    return (x, y)


@_builds("pow")
def _pow(op: str, inputs: Inputs) -> tuple[Any, ...]:
    t = inputs.tensors[0]
    return (uniform(t.shape, t.dtype, 0.5, 2.0, op + "/x"), uniform(t.shape, t.dtype, -2.0, 2.0, op + "/y"))


@_builds("bitwise_left_shift", "bitwise_right_shift")
def _shift(op: str, inputs: Inputs) -> tuple[Any, ...]:
    t = inputs.tensors[0]
    return (_values(t.shape, t.dtype, op + "/x"), integers(t.shape, t.dtype, 0, 7, op + "/y"))


@_builds("prod")
def _prod(op: str, inputs: Inputs) -> tuple[Any, ...]:
    (t,) = inputs.tensors
    if t.dtype.startswith(("int", "uint")):
        return (integers(t.shape, t.dtype, 1, 3, op),)  # wraps around as NumPy does
    return (uniform(t.shape, t.dtype, 0.999, 1.001, op),)


@_builds("all", "any")
def _all_any(op: str, inputs: Inputs) -> tuple[Any, ...]:
    # worst case, no early exit: all() over non-zeros, any() over zeros
    (t,) = inputs.tensors
    return (_freeze(np.full(t.shape, 1 if op == "all" else 0, dtype=t.dtype)),)


@_builds("put_slice")
def _put_slice(op: str, inputs: Inputs) -> tuple[Any, ...]:
    x, update = inputs.tensors
    return (_values(x.shape, x.dtype, op), _values(update.shape, update.dtype, op + "/update"))


@_builds("take", "scatter_add")
def _gather(op: str, inputs: Inputs) -> tuple[Any, ...]:
    x, indices, *updates = inputs.tensors
    axis = inputs.args[0]
    out = [_values(x.shape, x.dtype, op), integers(indices.shape, indices.dtype, 0, x.shape[axis], op + "/indices")]
    out += [_values(u.shape, u.dtype, op + "/updates") for u in updates]
    return tuple(out)


@_builds("concat", "stack")
def _join(op: str, inputs: Inputs) -> tuple[Any, ...]:
    (parts,) = inputs.tensors
    return (tuple(_values(t.shape, t.dtype, f"{op}/{letter}") for t, letter in zip(parts, "abcdefgh", strict=False)),)


@functools.lru_cache(maxsize=4)
def _spd(n: int, dtype: str) -> np.ndarray:
    """Symmetric and diagonally dominant, hence positive definite and well conditioned."""
    r = uniform((n, n), "float64", -1.0, 1.0, "spd")
    a = (r + r.T) / 2 + n * np.eye(n)
    return _freeze(a.astype(_numpy_dtype(dtype)))


@_builds("cholesky")
def _cholesky(op: str, inputs: Inputs) -> tuple[Any, ...]:
    (t,) = inputs.tensors
    return (_spd(t.shape[0], t.dtype),)


@_builds("triangular_solve")
def _trsolve(op: str, inputs: Inputs) -> tuple[Any, ...]:
    a, b = inputs.tensors
    n = a.shape[0]
    lower = np.tril(uniform(a.shape, a.dtype, -1.0, 1.0, op + "/a")) + n * np.eye(n, dtype=a.dtype)
    return (_freeze(lower.astype(a.dtype)), uniform(b.shape, b.dtype, -1.0, 1.0, op + "/b"))


@_builds("layer_norm")
def _layer_norm(op: str, inputs: Inputs) -> tuple[Any, ...]:
    x, gamma, beta = inputs.tensors
    low, high = CATALOG.OPS[op].domain
    return (
        uniform(x.shape, x.dtype, low, high, op + "/x"),
        uniform(gamma.shape, gamma.dtype, 0.5, 1.5, op + "/gamma"),
        uniform(beta.shape, beta.dtype, -0.5, 0.5, op + "/beta"),
    )


@_builds("dense", "mlp_forward")
def _layers(op: str, inputs: Inputs) -> tuple[Any, ...]:
    # weights scaled by 1/sqrt(n), so activations keep their size through the layers
    x, *params = inputs.tensors
    scale = 1.0 / math.sqrt(x.shape[-1])
    out = [uniform(x.shape, x.dtype, -1.0, 1.0, op + "/x")]
    for t, name in zip(params, inputs.names[1:], strict=True):
        low, high = (-0.1, 0.1) if name.startswith("b") else (-scale, scale)
        out.append(uniform(t.shape, t.dtype, low, high, f"{op}/{name}"))
    return tuple(out)
