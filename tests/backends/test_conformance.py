"""The conformance suite: every op of every selected backend against the NumPy float64 reference.

Each case is one op call on small inputs (at most a few hundred elements, so the pure
Python backend runs it too). For each case the test checks that

* the output's shape and dtype (from ``to_numpy`` and from ``info``) equal what the
  catalog's ``OPS[op].infer`` says;
* the values match :mod:`reference` within the output dtype's tolerance (exactly for
  integers, bools and value-copying ops, NaN and infinities in the same places);
* the inputs are left unchanged;
* an op the backend does not implement raises ``UnsupportedOperation`` instead.

Non-contiguous inputs are made inside the backend with its own ``permute_dims`` (layout
``T``) or strided ``slice`` (layout ``step``), since ``from_numpy`` may copy.

Test ids read ``backend-op-dtype-case``; select backends with ``BENCH_BACKENDS``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from reference import EXACT_OPS, REFERENCE, assert_matches

import backends
from backends import OPS, TensorInfo, UnsupportedOperation

TEST_DTYPES = ("float32", "float64", "int32", "int64", "bool")
FLOATS = ("float32", "float64")
COMPLEXES = ("complex64", "complex128")

# Accelerated backends must implement at least this share of the catalog.
ACCELERATED = {"numba": 0.9, "torch:cpu": 0.9, "torch:cuda": 0.9, "jax:cpu": 0.9, "jax:gpu": 0.9, "cupy": 0.9}
COMPLETE = {"numpy"}  # documented as implementing every op


@dataclass(frozen=True, eq=False)
class Case:
    """One op call: tensor inputs (NumPy), extra positional args, keyword args, input layouts."""

    op: str
    name: str
    tensors: tuple[np.ndarray, ...] = ()
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    layout: tuple[str | None, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.op}-{self.name}"


# ---------------------------------------------------------------------------
# input generation (seeded by the case, so every backend sees the same numbers)


def _rng(*key: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# float ranges that keep each op inside its domain and away from poles
_FLOAT_DOMAIN: dict[str, tuple[float, float]] = {
    "sqrt": (0.05, 4.0),
    "rsqrt": (0.05, 4.0),
    "log": (0.05, 4.0),
    "log1p": (-0.9, 4.0),
    "asin": (-0.99, 0.99),
    "acos": (-0.99, 0.99),
    "tan": (-1.4, 1.4),
    "pow": (0.2, 3.0),
    "gelu": (-4.0, 4.0),
}
_SMALL_GRID = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "maximum", "minimum", "where", "sort", "argsort"}


def arr(shape: Sequence[int], dtype: str, *key: object, op: str = "", role: int = 0) -> np.ndarray:
    """Seeded test values of ``shape`` and ``dtype`` suited to ``op`` (``role``: which input)."""
    rng = _rng(op, tuple(shape), dtype, role, *key)
    shape = tuple(shape)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in COMPLEXES:
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)
    if dtype.startswith("int") or dtype == "uint8":
        bits = np.iinfo(dtype).bits
        if op in ("bitwise_left_shift", "bitwise_right_shift") and role == 1:
            return rng.integers(0, bits, shape).astype(dtype)
        if op in ("floor_divide", "remainder") and role == 1:
            return (rng.integers(1, 8, shape) * rng.choice([-1, 1], shape)).astype(dtype)
        if op in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_left_shift", "bitwise_right_shift"):
            return rng.integers(-1000, 1000, shape).astype(dtype)
        if op in _SMALL_GRID or op in ("top_k",):
            return rng.integers(-3, 4, shape).astype(dtype)
        if op == "prod":
            return rng.integers(-3, 4, shape).astype(dtype)
        return rng.integers(-20, 21, shape).astype(dtype)
    # floats
    if op in ("floor_divide", "remainder"):
        # x an odd multiple of 1/8, y in {±0.5, ±0.75, ±1, ±2}: quotients are never integers, results exact
        if role == 0:
            return ((rng.integers(-16, 16, shape) * 2 + 1) / 8).astype(dtype)
        return rng.choice([-2.0, -1.0, -0.75, -0.5, 0.5, 0.75, 1.0, 2.0], shape).astype(dtype)
    if op == "divide" and role == 1:
        return (rng.uniform(0.5, 3.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)
    if op == "pow" and role == 1:
        return rng.uniform(-2.0, 2.0, shape).astype(dtype)
    if op in _SMALL_GRID:
        return rng.choice([-1.5, 0.0, 0.5, 2.0], shape).astype(dtype)
    if op == "prod":
        return (rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)
    lo, hi = _FLOAT_DOMAIN.get(op, (-3.0, 3.0))
    return rng.uniform(lo, hi, shape).astype(dtype)


def dtypes_for(op: str, candidates: Sequence[str] = TEST_DTYPES) -> list[str]:
    return [d for d in candidates if d in OPS[op].dtypes]


SPECIAL_FLOATS = [np.nan, np.inf, -np.inf, 0.0, 0.5, -0.5, 1.5, 2.5, -2.5, -1.0, 3.0, 1e-3]
# domain-restricted ops get specials outside their domain too (IEEE: NaN, no exception)
SPECIAL_X = [np.nan, np.inf, -np.inf, 1.0, np.nan, np.inf, 0.0, 2.0, -np.inf, 3.0, -0.5, 0.5]
SPECIAL_Y = [1.0, np.inf, np.inf, np.nan, np.nan, -np.inf, 0.0, 2.0, 5.0, -np.inf, 0.25, -4.0]
INT_EXTREMES = {
    "int32": ([2**31 - 1, -(2**31), 2**31 - 1, 12345678, -1, 0], [1, -1, 2**31 - 1, 1000, -(2**31), 7]),
    "int64": ([2**63 - 1, -(2**63), 2**63 - 1, 1234567890123, -1, 0], [1, -1, 2**63 - 1, 10**9, -(2**63), 7]),
}

# ---------------------------------------------------------------------------
# the cases, op group by op group

UNARY_SHAPES: dict[str, tuple[tuple[int, ...], str | None]] = {
    "0d": ((), None),
    "one": ((1,), None),
    "empty": ((0,), None),
    "empty2d": ((2, 0), None),
    "1d": ((7,), None),
    "2d": ((3, 5), None),
    "3d": ((2, 3, 4), None),
    "2d_T": ((3, 5), "T"),
    "3d_step": ((2, 3, 4), "step"),
}

BINARY_SHAPES: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[str | None, str | None]]] = {
    "0d": ((), (), (None, None)),
    "one": ((1,), (1,), (None, None)),
    "empty": ((0, 3), (3,), (None, None)),
    "1d": ((7,), (7,), (None, None)),
    "2d": ((3, 5), (3, 5), (None, None)),
    "3d": ((2, 3, 4), (2, 3, 4), (None, None)),
    "scalar_rhs": ((3, 5), (), (None, None)),
    "scalar_lhs": ((), (4,), (None, None)),
    "outer": ((3, 1), (1, 5), (None, None)),
    "bcast3d": ((2, 1, 4), (3, 1), (None, None)),
    "2d_T": ((3, 5), (3, 5), ("T", None)),
    "3d_step": ((2, 3, 4), (2, 3, 4), (None, "step")),
}

_SPECIAL_BINARY = {"add", "subtract", "multiply", "divide", "maximum", "minimum", "atan2"} | {
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
}


def unary_cases() -> Iterator[Case]:
    for op, spec in OPS.items():
        if spec.group != "unary":
            continue
        for dtype in dtypes_for(op):
            for name, (shape, layout) in UNARY_SHAPES.items():
                yield Case(op, f"{dtype}-{name}", (arr(shape, dtype, op=op),), layout=(layout,))
            if dtype in FLOATS:
                yield Case(op, f"{dtype}-nan_inf", (np.array(SPECIAL_FLOATS, dtype=dtype),))
            if dtype in INT_EXTREMES and op in ("abs", "negative", "sign", "bitwise_invert"):
                yield Case(op, f"{dtype}-extremes", (np.array(INT_EXTREMES[dtype][0], dtype=dtype),))


def binary_cases() -> Iterator[Case]:
    for op, spec in OPS.items():
        if spec.group != "binary":
            continue
        for dtype in dtypes_for(op):
            for name, (sx, sy, layout) in BINARY_SHAPES.items():
                yield Case(op, f"{dtype}-{name}", (arr(sx, dtype, name, op=op), arr(sy, dtype, name, op=op, role=1)), layout=layout)
            if dtype in FLOATS and op in _SPECIAL_BINARY:
                yield Case(op, f"{dtype}-nan_inf", (np.array(SPECIAL_X, dtype=dtype), np.array(SPECIAL_Y, dtype=dtype)))
            if dtype in INT_EXTREMES and op in ("add", "subtract", "multiply"):
                xs, ys = INT_EXTREMES[dtype]
                yield Case(op, f"{dtype}-wraparound", (np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)))


def selection_cases() -> Iterator[Case]:
    where_shapes = {
        "2d": ((3, 5), (3, 5), (3, 5), (None, None, None)),
        "bcast": ((3, 1), (1, 5), (), (None, None, None)),
        "0d": ((), (), (), (None, None, None)),
        "empty": ((0, 3), (3,), (0, 3), (None, None, None)),
        "3d": ((2, 3, 4), (2, 3, 4), (4,), (None, None, None)),
        "2d_T": ((3, 5), (3, 5), (3, 5), ("T", None, "T")),
    }
    for dtype in dtypes_for("where"):
        for name, (sc, sx, sy, layout) in where_shapes.items():
            tensors = (
                arr(sc, "bool", name, op="where"),
                arr(sx, dtype, name, op="where", role=1),
                arr(sy, dtype, name, op="where", role=2),
            )
            yield Case("where", f"{dtype}-{name}", tensors, layout=layout)
    for dtype in FLOATS:
        cond = np.array([True, False, True, False])
        yield Case("where", f"{dtype}-nan", (cond, np.array([np.nan, 1, np.inf, 2], dtype), np.array([0, np.nan, 3, -np.inf], dtype)))

    bounds: dict[str, tuple[Any, Any]] = {"both": (-1, 1), "lo": (0, None), "hi": (None, 2), "none": (None, None), "equal": (1, 1)}
    for dtype in dtypes_for("clip"):
        for bname, (lo, hi) in bounds.items():
            yield Case("clip", f"{dtype}-2d-{bname}", (arr((3, 5), dtype, op="clip"),), kwargs={"min": lo, "max": hi})
        yield Case("clip", f"{dtype}-0d", (arr((), dtype, op="clip"),), (-1, 1))
        yield Case("clip", f"{dtype}-empty", (arr((0, 2), dtype, op="clip"),), (-1, 1))
        yield Case("clip", f"{dtype}-2d_T", (arr((3, 5), dtype, op="clip"),), (-2, 0), layout=("T",))
        if dtype in FLOATS:
            yield Case("clip", f"{dtype}-fractional", (arr((7,), dtype, op="clip"),), kwargs={"min": -0.25, "max": 0.75})
            yield Case("clip", f"{dtype}-nan_inf", (np.array(SPECIAL_FLOATS, dtype),), (-1, 1))


REDUCE_SHAPES: dict[str, tuple[tuple[int, ...], int | None, bool, str | None]] = {
    # name: (shape, axis, keepdims, layout)
    "0d": ((), None, False, None),
    "0d_keep": ((), None, True, None),
    "one": ((1,), 0, False, None),
    "1d": ((7,), None, False, None),
    "1d_ax0": ((7,), 0, False, None),
    "1d_neg_keep": ((7,), -1, True, None),
    "2d_ax0": ((3, 5), 0, False, None),
    "2d_ax1": ((3, 5), 1, False, None),
    "2d_neg_keep": ((3, 5), -1, True, None),
    "2d_all_keep": ((3, 5), None, True, None),
    "3d_ax1": ((2, 3, 4), 1, False, None),
    "3d_neg3_keep": ((2, 3, 4), -3, True, None),
    "3d_all": ((2, 3, 4), None, False, None),
    "empty_other": ((0, 4), 1, False, None),
    "empty": ((0,), None, False, None),  # only for reductions with an identity
    "empty_axis": ((2, 0), 1, True, None),
    "2d_T": ((3, 5), 1, False, "T"),
    "3d_step": ((2, 3, 4), -1, False, "step"),
}
_HAS_IDENTITY = {"sum", "prod", "mean", "all", "any"}


def reduction_cases() -> Iterator[Case]:
    nan_rows = np.array(
        [[1.0, np.nan, 3.0, np.nan, -1.0], [2.0, np.inf, -5.0, 0.5, 2.0], [-np.inf, 0.0, 4.0, 4.0, np.nan], [0.0, 1.0, 0.0, -1.0, 0.5]]
    )
    for op, spec in OPS.items():
        if spec.group != "reduction" or op == "cumulative_sum":
            continue
        for dtype in dtypes_for(op):
            for name, (shape, axis, keepdims, layout) in REDUCE_SHAPES.items():
                if name in ("empty", "empty_axis") and op not in _HAS_IDENTITY:
                    continue
                yield Case(op, f"{dtype}-{name}", (arr(shape, dtype, op=op),), (axis, keepdims), layout=(layout,))
            if dtype in FLOATS:
                for axis in (-1, 0, None):
                    yield Case(op, f"{dtype}-nan_inf-axis{axis}", (nan_rows.astype(dtype),), kwargs={"axis": axis})
            if dtype != "bool":
                ties = np.array([[1, 3, 3, 0, 3], [2, 2, 2, 2, 2], [-1, -4, 0, -4, -1]], dtype=dtype)
                for axis in (-1, 0, None):
                    yield Case(op, f"{dtype}-ties-axis{axis}", (ties,), kwargs={"axis": axis})

    for dtype in dtypes_for("cumulative_sum"):
        shapes: dict[str, tuple[tuple[int, ...], int, str | None]] = {
            "one": ((1,), 0, None),
            "1d": ((9,), -1, None),
            "2d_ax0": ((3, 5), 0, None),
            "2d_ax1": ((3, 5), 1, None),
            "3d_ax1": ((2, 3, 4), 1, None),
            "empty": ((0,), 0, None),
            "empty_axis": ((2, 0), -1, None),
            "2d_T": ((3, 5), -1, "T"),
        }
        for name, (shape, axis, layout) in shapes.items():
            yield Case("cumulative_sum", f"{dtype}-{name}", (arr(shape, dtype, op="cumulative_sum"),), (axis,), layout=(layout,))
        yield Case("cumulative_sum", f"{dtype}-default_axis", (arr((3, 4), dtype, op="cumulative_sum"),))
        if dtype in FLOATS:
            yield Case("cumulative_sum", f"{dtype}-nan_inf", (nan_rows.astype(dtype),), (1,))

    windows: dict[str, tuple[tuple[int, ...], tuple[int, int], tuple[int, int] | None, str | None]] = {
        "2d": ((5, 6), (2, 3), (1, 1), None),
        "default_strides": ((4, 5), (2, 2), None, None),
        "strided": ((2, 5, 7), (3, 2), (2, 3), None),
        "4d": ((2, 2, 4, 4), (2, 2), (2, 2), None),
        "full": ((3, 4), (3, 4), (1, 1), None),
        "1x1": ((3, 4), (1, 1), (1, 1), None),
        "2d_T": ((6, 5), (3, 2), (2, 1), "T"),
    }
    for op in ("window_sum", "window_max"):
        for dtype in dtypes_for(op):
            for name, (shape, window, strides, layout) in windows.items():
                args = (window,) if strides is None else (window, strides)
                yield Case(op, f"{dtype}-{name}", (arr(shape, dtype, op=op),), args, layout=(layout,))
            if dtype in FLOATS:
                yield Case(op, f"{dtype}-nan_inf", (nan_rows.astype(dtype),), ((2, 2),))
    yield Case("window_sum", "int32-wraparound", (np.full((2, 2), 2**30, dtype=np.int32),), ((2, 2),))
    yield Case("window_max", "int32-extremes", (np.array([[2**31 - 1, -(2**31)], [0, -1]], dtype=np.int32),), ((2, 1),))


def shape_cases() -> Iterator[Case]:
    base = {d: arr((3, 4), d, op="shape") for d in TEST_DTYPES}
    for dtype in TEST_DTYPES:
        x = base[dtype]
        yield Case("reshape", f"{dtype}-2d", (x,), ((4, 3),))
        yield Case("permute_dims", f"{dtype}-2d", (x,), ((1, 0),))
        yield Case("broadcast_to", f"{dtype}-2d", (x[:1],), ((2, 3, 4),))
        yield Case("expand_dims", f"{dtype}-2d", (x,), (1,))
        yield Case("squeeze", f"{dtype}-2d", (x[:1],), (0,))
        yield Case("slice", f"{dtype}-2d", (x,), ((1, 0), (2, 4), (1, 2)))
        yield Case("put_slice", f"{dtype}-2d", (x, arr((2, 2), dtype, op="put")), ((1, 1),))
        yield Case("concat", f"{dtype}-2d", (x, arr((2, 4), dtype, op="cat")), (0,))
        yield Case("stack", f"{dtype}-2d", (x, arr((3, 4), dtype, op="stk")), (0,))
        yield Case("flip", f"{dtype}-2d", (x,), (0,))
        yield Case("take", f"{dtype}-2d", (x, np.array([2, 0, -1, 1, 1], dtype=np.int64)), (0,))
        if dtype in OPS["pad"].dtypes:
            yield Case("pad", f"{dtype}-2d", (x,), (((1, 0), (0, 2)),))
        if dtype in OPS["scatter_add"].dtypes:
            yield Case("scatter_add", f"{dtype}-2d", (x, np.array([2, 0, 2], dtype=np.int64), arr((3, 4), dtype, op="upd")), (0,))

    x3 = arr((2, 3, 4), "float32", op="shape3")
    x = base["float32"]
    more: list[Case] = [
        Case("reshape", "float32-infer", (x3,), ((-1, 4),)),
        Case("reshape", "float32-to_3d", (arr((6,), "float32", op="r"),), ((2, 1, 3),)),
        Case("reshape", "float32-0d_to_2d", (np.array(1.5, np.float32),), ((1, 1),)),
        Case("reshape", "float32-to_0d", (np.array([2.5], np.float32),), ((),)),
        Case("reshape", "float32-empty", (np.zeros((0, 3), np.float32),), ((3, 0),)),
        Case("reshape", "float32-2d_T", (x,), ((12,),), layout=("T",)),
        Case("reshape", "float32-3d_step", (x3,), ((4, 6),), layout=("step",)),
        Case("permute_dims", "float32-3d", (x3,), ((2, 0, 1),)),
        Case("permute_dims", "float32-negative_axes", (x3,), ((-1, 0, -2),)),
        Case("permute_dims", "float32-0d", (np.array(3.0, np.float32),), ((),)),
        Case("permute_dims", "float32-2d_T", (x,), ((1, 0),), layout=("T",)),
        Case("broadcast_to", "float32-column", (arr((3, 1), "float32", op="b"),), ((2, 3, 4),)),
        Case("broadcast_to", "float32-0d", (np.array(2.0, np.float32),), ((2, 2),)),
        Case("broadcast_to", "float32-to_empty", (np.array([1.0], np.float32),), ((0,),)),
        Case("broadcast_to", "float32-same", (x,), ((3, 4),)),
        Case("broadcast_to", "float32-2d_T", (arr((1, 4), "float32", op="b"),), ((3, 4),), layout=("T",)),
        Case("expand_dims", "float32-default", (x,)),
        Case("expand_dims", "float32-last", (x,), (-1,)),
        Case("expand_dims", "float32-neg", (x3,), (-3,)),
        Case("expand_dims", "float32-0d", (np.array(1.0, np.float32),), (0,)),
        Case("squeeze", "float32-middle", (arr((3, 1, 5), "float32", op="s"),), (1,)),
        Case("squeeze", "float32-neg", (arr((3, 1, 5), "float32", op="s"),), (-2,)),
        Case("squeeze", "float32-to_0d", (np.array([4.0], np.float32),), (0,)),
        Case("squeeze", "float32-empty", (np.zeros((0, 1), np.float32),), (1,)),
        Case("slice", "float32-1d_stride3", (arr((10,), "float32", op="sl"),), ((2,), (7,), (3,))),
        Case("slice", "float32-default_strides", (x,), ((0, 1), (3, 2))),
        Case("slice", "float32-empty", (x,), ((1, 1), (0, 2), (1, 1))),
        Case("slice", "float32-3d", (x3,), ((1, 0, 1), (1, 3, 3), (1, 2, 2))),
        Case("slice", "float32-full", (x,), ((0, 0), (3, 4), (1, 1))),
        Case("slice", "float32-2d_T", (x,), ((1, 1), (2, 3), (1, 2)), layout=("T",)),
        Case("put_slice", "float32-1d", (arr((8,), "float32", op="p"), arr((3,), "float32", op="u")), ((5,),)),
        Case("put_slice", "float32-whole", (x, arr((3, 4), "float32", op="u")), ((0, 0),)),
        Case("put_slice", "float32-empty_update", (x, np.zeros((0, 2), np.float32)), ((3, 1),)),
        Case("put_slice", "float32-3d", (x3, arr((1, 2, 2), "float32", op="u")), ((1, 1, 2),)),
        Case("put_slice", "float32-2d_T", (x, arr((2, 3), "float32", op="u")), ((1, 0),), layout=("T", "T")),
        Case("concat", "float32-axis-1", (arr((2, 3), "float32", op="c"), arr((2, 1), "float32", op="c", role=1)), (-1,)),
        Case("concat", "float32-three", (x, x[:1], arr((2, 4), "float32", op="c")), (0,)),
        Case("concat", "float32-with_empty", (np.zeros((0, 4), np.float32), x), ()),
        Case("concat", "float32-single", (x,), (1,)),
        Case("concat", "float32-3d_ax1", (x3, arr((2, 1, 4), "float32", op="c")), (1,)),
        Case("concat", "float32-2d_T", (x, x), (1,), layout=("T", None)),
        Case("stack", "float32-axis-1", (x, x), (-1,)),
        Case("stack", "float32-middle", (x, x, arr((3, 4), "float32", op="st")), (1,)),
        Case("stack", "float32-0d", (np.array(1.0, np.float32), np.array(2.0, np.float32))),
        Case("stack", "float32-empty", (np.zeros((0,), np.float32), np.zeros((0,), np.float32)), (1,)),
        Case("stack", "float32-2d_T", (x, x), (0,), layout=(None, "T")),
        Case("pad", "float32-value", (x,), (((0, 1), (2, 0)),), {"value": -1.5}),
        Case("pad", "int32-value", (base["int32"],), (((1, 1), (1, 1)), 7)),
        Case("pad", "bool-value", (base["bool"],), (((1, 0), (0, 1)), True)),
        Case("pad", "float32-1d", (arr((4,), "float32", op="pd"),), (((3, 2),),)),
        Case("pad", "float32-0d", (np.array(1.0, np.float32),), ((),)),
        Case("pad", "float32-empty", (np.zeros((0, 2), np.float32),), (((1, 1), (0, 0)),)),
        Case("pad", "float32-3d_step", (x3,), (((0, 0), (1, 1), (2, 0)),), layout=("step",)),
        Case("flip", "float32-all", (x3,)),
        Case("flip", "float32-neg", (x3,), (-1,)),
        Case("flip", "float32-0d", (np.array(1.0, np.float32),)),
        Case("flip", "float32-empty", (np.zeros((0, 3), np.float32),), (0,)),
        Case("flip", "float32-2d_T", (x,), (1,), layout=("T",)),
        Case("take", "float32-axis-1", (x, np.array([3, -4, 0], dtype=np.int32)), (-1,)),
        Case("take", "float32-3d_ax1", (x3, np.array([2, 2, 0, -1], dtype=np.int64)), kwargs={"axis": 1}),
        Case("take", "float32-empty_indices", (x, np.zeros((0,), np.int64)), (1,)),
        Case("take", "float32-1d", (arr((6,), "float32", op="t"), np.array([5, 0, -6], dtype=np.int64))),
        Case("take", "float32-2d_T", (x, np.array([1, 0], dtype=np.int64)), (0,), layout=("T", None)),
        Case("scatter_add", "float32-axis1", (x, np.array([3, 3, -1, 0, 1], dtype=np.int32), arr((3, 5), "float32", op="u")), (1,)),
        Case("scatter_add", "float32-empty", (x, np.zeros((0,), np.int64), np.zeros((0, 4), np.float32)), (0,)),
        Case("scatter_add", "int32-1d", (arr((5,), "int32", op="sa"), np.array([1, 1, 1, 4], dtype=np.int64), arr((4,), "int32", op="su"))),
        Case(
            "scatter_add",
            "float32-2d_T",
            (x, np.array([0, 2], dtype=np.int64), arr((2, 4), "float32", op="u")),
            (0,),
            layout=("T", None, "T"),
        ),
    ]
    yield from more

    casts = {
        "float64": ["float32", "int32", "int64", "bool"],
        "float32": ["float64", "int32", "bool"],
        "int32": ["float32", "float64", "int64", "bool"],
        "int64": ["float32", "float64", "int32", "bool"],
        "bool": ["float32", "int32", "int64"],
    }
    for src, targets in casts.items():
        if src in FLOATS:
            x = np.array([-2.7, -1.0, -0.5, 0.0, 0.5, 1.9, 3.0, 100.25], dtype=src)
        elif src == "bool":
            x = np.array([True, False, True], dtype=bool)
        else:
            x = np.array([-1000, -1, 0, 1, 2, 65537], dtype=src)
        for dst in targets:
            yield Case("astype", f"{src}-to-{dst}", (x,), (dst,))
    yield Case("astype", "float32-nan_inf-to-float64", (np.array([np.nan, np.inf, -np.inf], np.float32),), ("float64",))
    yield Case("astype", "float64-nan-to-bool", (np.array([np.nan, 0.0, -0.0], np.float64),), ("bool",))
    yield Case("astype", "float32-same", (base["float32"],), ("float32",))
    yield Case("astype", "float32-2d_T", (base["float32"],), ("float64",), layout=("T",))
    yield Case("astype", "complex64-to-complex128", (arr((4,), "complex64", op="ast"),), ("complex128",))


def linalg_cases() -> Iterator[Case]:
    pairs: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[str | None, str | None]]] = {
        "2d": ((3, 4), (4, 5), (None, None)),
        "square": ((4, 4), (4, 4), (None, None)),
        "vec_vec": ((4,), (4,), (None, None)),
        "vec_mat": ((4,), (4, 5), (None, None)),
        "mat_vec": ((3, 4), (4,), (None, None)),
        "batched": ((2, 3, 4), (2, 4, 5), (None, None)),
        "batch_bcast": ((2, 3, 4), (4, 5), (None, None)),
        "batch_bcast1": ((1, 3, 4), (2, 4, 5), (None, None)),
        "4d_bcast": ((2, 1, 3, 4), (3, 4, 2), (None, None)),
        "vec_batched": ((4,), (2, 4, 3), (None, None)),
        "one": ((1, 1), (1, 1), (None, None)),
        "empty_k": ((3, 0), (0, 5), (None, None)),
        "empty_m": ((0, 4), (4, 5), (None, None)),
        "2d_T": ((3, 4), (4, 5), ("T", None)),
        "2d_TT": ((3, 4), (4, 5), ("T", "T")),
        "3d_step": ((2, 3, 4), (2, 4, 2), ("step", None)),
    }
    for dtype in FLOATS:
        for name, (sa, sb, layout) in pairs.items():
            yield Case(
                "matmul", f"{dtype}-{name}", (arr(sa, dtype, name, op="matmul"), arr(sb, dtype, name, op="matmul", role=1)), layout=layout
            )

        convs: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...], str | None]] = {
            "basic": ((2, 3, 6, 7), (4, 3, 3, 2), ((1, 1), ((0, 0), (0, 0))), None),
            "defaults": ((1, 2, 5, 5), (3, 2, 2, 2), (), None),
            "strided_padded": ((1, 2, 7, 6), (3, 2, 3, 3), ((2, 1), ((1, 1), (0, 2))), None),
            "1x1": ((2, 3, 4, 4), (5, 3, 1, 1), ((1, 1),), None),
            "full_window": ((1, 1, 5, 5), (1, 1, 5, 5), (), None),
            "padded_stride3": ((1, 1, 4, 4), (2, 1, 2, 2), ((3, 3), ((2, 2), (1, 1))), None),
            "T": ((1, 2, 5, 4), (2, 2, 3, 2), (), "T"),
        }
        for name, (sx, sw, args, lay) in convs.items():
            yield Case(
                "conv",
                f"{dtype}-{name}",
                (arr(sx, dtype, name, op="conv"), arr(sw, dtype, name, op="conv", role=1)),
                args,
                layout=(lay, None),
            )

        for name, shape, lay in (
            ("4x4", (4, 4), None),
            ("batched", (2, 3, 3), None),
            ("1x1", (1, 1), None),
            ("empty", (0, 0), None),
            ("4x4_T", (4, 4), "T"),
        ):
            n = shape[-1]
            m = _rng("chol", shape, dtype).normal(size=shape)
            spd = m @ np.swapaxes(m, -1, -2) + n * np.eye(n)
            yield Case("cholesky", f"{dtype}-{name}", (spd.astype(dtype),), layout=(lay,))

        solves: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...], Mapping[str, Any], tuple[str | None, str | None]]] = {
            "lower": ((4, 4), (4, 2), (), {}, (None, None)),
            "upper": ((4, 4), (4, 3), (), {"lower": False}, (None, None)),
            "upper_positional": ((3, 3), (3, 1), (False,), {}, (None, None)),
            "lower_kw": ((5, 5), (5, 5), (), {"lower": True}, (None, None)),
            "batched": ((2, 3, 3), (2, 3, 2), (), {}, (None, None)),
            "batched_upper": ((2, 3, 3), (2, 3, 2), (), {"lower": False}, (None, None)),
            "empty": ((0, 0), (0, 2), (), {}, (None, None)),
            "T": ((4, 4), (4, 2), (), {}, ("T", "T")),
        }
        for name, (sa, sb, args, kwargs, layout) in solves.items():
            rng = _rng("trsolve", name, dtype)
            lower = kwargs.get("lower", args[0] if args else True)
            a = rng.uniform(-1, 1, sa)
            a = np.tril(a) if lower else np.triu(a)
            n = sa[-1]
            a[..., range(n), range(n)] = rng.uniform(2, 3, sa[:-1]) * rng.choice([-1, 1], sa[:-1])
            yield Case("triangular_solve", f"{dtype}-{name}", (a.astype(dtype), arr(sb, dtype, name, op="trs")), args, kwargs, layout)


def ordering_cases() -> Iterator[Case]:
    nan_vec = [np.nan, 1.0, -np.inf, np.nan, 0.0, np.inf, 1.0, -1.0, 0.0]
    for op in ("sort", "argsort"):
        for dtype in dtypes_for(op):
            shapes: dict[str, tuple[tuple[int, ...], tuple[Any, ...], Mapping[str, Any], str | None]] = {
                "1d": ((9,), (), {}, None),
                "1d_desc": ((9,), (), {"descending": True}, None),
                "2d_ax0": ((4, 5), (0,), {}, None),
                "2d_ax-1_desc": ((4, 5), (-1,), {"descending": True}, None),
                "2d_ax0_desc_positional": ((4, 5), (0, True), {}, None),
                "3d_ax1": ((2, 3, 4), (), {"axis": 1}, None),
                "3d_ax-3_desc": ((2, 3, 4), (-3, True), {}, None),
                "one": ((1,), (), {}, None),
                "empty": ((0,), (), {}, None),
                "empty_rows": ((0, 3), (-1,), {}, None),
                "2d_T": ((4, 5), (-1,), {}, "T"),
                "3d_step_desc": ((2, 3, 4), (1, True), {}, "step"),
            }
            for name, (shape, args, kwargs, lay) in shapes.items():
                yield Case(op, f"{dtype}-{name}", (arr(shape, dtype, name, op=op),), args, kwargs, (lay,))
            if dtype in FLOATS:
                v = np.array(nan_vec, dtype=dtype)
                yield Case(op, f"{dtype}-nan", (v,))
                yield Case(op, f"{dtype}-nan_desc", (v,), kwargs={"descending": True})
                yield Case(op, f"{dtype}-nan_2d_ax0", (np.stack([v, v[::-1], np.roll(v, 3)], axis=0),), (0,))
    for dtype in dtypes_for("top_k"):
        yield Case("top_k", f"{dtype}-2d", (arr((3, 8), dtype, op="top_k"),), (3,))
        yield Case("top_k", f"{dtype}-k0", (arr((3, 8), dtype, op="top_k"),), (0,))
        yield Case("top_k", f"{dtype}-kn", (arr((3, 8), dtype, op="top_k"),), kwargs={"k": 8})
        yield Case("top_k", f"{dtype}-1d", (arr((9,), dtype, op="top_k"),), (4,))
        yield Case("top_k", f"{dtype}-3d", (arr((2, 3, 5), dtype, op="top_k"),), (2,))
        yield Case("top_k", f"{dtype}-empty_rows", (arr((0, 4), dtype, op="top_k"),), (2,))
        yield Case("top_k", f"{dtype}-2d_T", (arr((4, 6), dtype, op="top_k"),), (3,), layout=("T",))
        if dtype in FLOATS:
            yield Case("top_k", f"{dtype}-nan", (np.array(nan_vec, dtype=dtype),), (5,))


def fft_cases() -> Iterator[Case]:
    for op in ("fft", "ifft"):
        for dtype in COMPLEXES:
            for name, shape, args, lay in (
                ("1d", (8,), (), None),
                ("odd", (7,), (), None),
                ("one", (1,), (), None),
                ("2d_ax0", (3, 4), (0,), None),
                ("3d", (2, 3, 5), (-1,), None),
                ("2d_T", (4, 6), (-1,), "T"),
            ):
                yield Case(op, f"{dtype}-{name}", (arr(shape, dtype, name, op=op),), args, layout=(lay,))


def fused_cases() -> Iterator[Case]:
    for dtype in FLOATS:
        for op in ("softmax", "logsumexp"):
            for name, shape, args, lay in (
                ("1d", (7,), (), None),
                ("2d", (3, 5), (-1,), None),
                ("2d_ax0", (3, 5), (0,), None),
                ("3d_ax1", (2, 3, 4), (1,), None),
                ("one", (1,), (), None),
                ("empty_rows", (0, 3), (), None),
                ("2d_T", (3, 5), (), "T"),
            ):
                yield Case(op, f"{dtype}-{name}", (arr(shape, dtype, name, op=op),), args, layout=(lay,))
            yield Case(op, f"{dtype}-large", (np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1000.5]], dtype),))
            yield Case(op, f"{dtype}-with_-inf", (np.array([-np.inf, 0.0, 1.0, -np.inf], dtype),))
        yield Case("softmax", f"{dtype}-empty_axis", (np.zeros((2, 0), dtype),))
        yield Case("logsumexp", f"{dtype}-empty_axis", (np.zeros((2, 0), dtype),))
        yield Case("logsumexp", f"{dtype}-empty", (np.zeros((0,), dtype),))
        yield Case("logsumexp", f"{dtype}-all_-inf", (np.full((2, 3), -np.inf, dtype),))
        gelu_shapes: list[tuple[str, tuple[int, ...], str | None]] = [
            ("0d", (), None),
            ("1d", (9,), None),
            ("2d", (3, 5), None),
            ("empty", (0,), None),
            ("2d_T", (3, 5), "T"),
        ]
        for name, gshape, lay in gelu_shapes:
            yield Case("gelu", f"{dtype}-{name}", (arr(gshape, dtype, name, op="gelu"),), layout=(lay,))

        def ln(shape: tuple[int, ...], name: str, dtype: str = dtype) -> tuple[np.ndarray, ...]:
            n = shape[-1]
            return (arr(shape, dtype, name, op="ln"), arr((n,), dtype, name, op="ln", role=1), arr((n,), dtype, name, op="ln", role=2))

        yield Case("layer_norm", f"{dtype}-2d", ln((3, 8), "2d"))
        yield Case("layer_norm", f"{dtype}-1d", ln((8,), "1d"))
        yield Case("layer_norm", f"{dtype}-3d", ln((2, 3, 4), "3d"))
        yield Case("layer_norm", f"{dtype}-eps_kw", ln((3, 8), "kw"), kwargs={"eps": 1e-3})
        yield Case("layer_norm", f"{dtype}-eps_positional", ln((3, 8), "pos"), (1e-2,))
        yield Case("layer_norm", f"{dtype}-empty_rows", ln((0, 8), "er"))
        yield Case("layer_norm", f"{dtype}-2d_T", ln((3, 8), "T"), layout=("T", None, None))

        def dense(shape: tuple[int, ...], n: int, name: str, dtype: str = dtype) -> tuple[np.ndarray, ...]:
            k = shape[-1]
            return (
                arr(shape, dtype, name, op="dense"),
                arr((k, n), dtype, name, op="dense", role=1),
                arr((n,), dtype, name, op="dense", role=2),
            )

        yield Case("dense", f"{dtype}-2d", dense((3, 4), 5, "2d"))
        yield Case("dense", f"{dtype}-batched", dense((2, 3, 4), 5, "b"))
        yield Case("dense", f"{dtype}-1d", dense((4,), 3, "1d"))
        yield Case("dense", f"{dtype}-empty_rows", dense((0, 4), 3, "e"))
        yield Case("dense", f"{dtype}-2d_T", dense((3, 4), 5, "T"), layout=("T", "T", None))

        def mlp(shape: tuple[int, ...], name: str, dtype: str = dtype) -> tuple[np.ndarray, ...]:
            k, h, o = shape[-1], 6, 2
            return (
                arr(shape, dtype, name, op="mlp"),
                arr((k, h), dtype, name, op="mlp", role=1),
                arr((h,), dtype, name, op="mlp", role=2),
                arr((h, o), dtype, name, op="mlp", role=3),
                arr((o,), dtype, name, op="mlp", role=4),
            )

        yield Case("mlp_forward", f"{dtype}-2d", mlp((3, 4), "2d"))
        yield Case("mlp_forward", f"{dtype}-batched", mlp((2, 3, 4), "b"))
        yield Case("mlp_forward", f"{dtype}-1d", mlp((4,), "1d"))
        yield Case("mlp_forward", f"{dtype}-2d_T", mlp((3, 4), "T"), layout=("T", None, None, "T", None))


def creation_cases() -> Iterator[Case]:
    yield Case("arange", "int64-stop", args=(5,))
    yield Case("arange", "int64-start_stop_step", args=(2, 11, 3))
    yield Case("arange", "int64-negative_step", args=(3, -4, -2))
    yield Case("arange", "int64-empty", args=(5, 2))
    yield Case("arange", "int32-kw", args=(0, 10, 3), kwargs={"dtype": "int32"})
    yield Case("arange", "float64-fractional_step", args=(1.0, 4.0, 0.5))
    yield Case("arange", "float64-inexact_step", args=(0.0, 1.0, 0.1))
    yield Case("arange", "float32-stop", args=(6,), kwargs={"dtype": "float32"})
    yield Case("arange", "float32-neg_fractional", args=(2.0, -1.0, -0.75), kwargs={"dtype": "float32"})
    yield Case("full", "float64-2d", args=((2, 3), 1.5))
    yield Case("full", "int64-infer", args=((3,), 7))
    yield Case("full", "int32-kw", args=((2, 2), -4), kwargs={"dtype": "int32"})
    yield Case("full", "float32-int_fill", args=((2, 1, 3), 2), kwargs={"dtype": "float32"})
    yield Case("full", "bool-int_shape", args=(4, True))
    yield Case("full", "float64-0d", args=((), 2.0))
    yield Case("full", "float64-empty", args=((0, 3), 1.0))
    yield Case("full", "float64-nan", args=((2,), float("nan")))
    yield Case("full", "float32-inf", args=((2,), float("-inf")), kwargs={"dtype": "float32"})
    yield Case("eye", "float64-3", args=(3,))
    yield Case("eye", "float32-3x4_k1", args=(3, 4), kwargs={"k": 1, "dtype": "float32"})
    yield Case("eye", "int64-4x2_k-1", args=(4, 2), kwargs={"k": -1, "dtype": "int64"})
    yield Case("eye", "int32-k_beyond", args=(2, 3), kwargs={"k": 5, "dtype": "int32"})
    yield Case("eye", "bool-2", args=(2,), kwargs={"dtype": "bool"})
    yield Case("eye", "float64-empty", args=(0,))


NARROW_DTYPES = ("int8", "uint8", "int16", "float16")
_NARROW_UNARY = ("abs", "negative", "sign", "exp", "sqrt", "isnan", "bitwise_invert")
_NARROW_BINARY = ("add", "subtract", "multiply", "maximum", "less", "equal", "floor_divide", "bitwise_and")
_NARROW_REDUCE = ("sum", "max", "argmax", "min", "cumulative_sum", "any")


def narrow_dtype_cases() -> Iterator[Case]:
    """The smaller dtypes the catalog accepts: int8/uint8/int16 wrap around, float16 rounds."""
    for dtype in NARROW_DTYPES:
        for op in _NARROW_UNARY:
            if dtype in OPS[op].dtypes:
                yield Case(op, f"{dtype}-2d", (arr((3, 5), dtype, op=op),))
                yield Case(op, f"{dtype}-0d", (arr((), dtype, op=op),))
        for op in _NARROW_BINARY:
            if dtype in OPS[op].dtypes:
                yield Case(op, f"{dtype}-2d", (arr((3, 5), dtype, op=op), arr((3, 5), dtype, op=op, role=1)))
                yield Case(op, f"{dtype}-outer", (arr((3, 1), dtype, op=op), arr((4,), dtype, op=op, role=1)))
        for op in _NARROW_REDUCE:
            if dtype in OPS[op].dtypes:
                yield Case(op, f"{dtype}-1d", (arr((7,), dtype, op=op),))
                yield Case(op, f"{dtype}-2d_ax0", (arr((3, 5), dtype, op=op),), (0,))
        if dtype != "float16":
            big = np.array([np.iinfo(dtype).max, np.iinfo(dtype).min, 100, 3], dtype=dtype)
            yield Case("add", f"{dtype}-wraparound", (big, big))
            yield Case("sum", f"{dtype}-no_wrap_in_int64", (big,))
        x = arr((3, 4), dtype, op="narrow")
        yield Case("sort", f"{dtype}-2d", (x,))
        yield Case("argsort", f"{dtype}-2d_desc", (x,), (0, True))
        yield Case("where", f"{dtype}-2d", (arr((3, 4), "bool", op="narrow"), x, arr((4,), dtype, op="narrow", role=1)))
        yield Case("clip", f"{dtype}-2d", (x,), (0, 10))
        yield Case("permute_dims", f"{dtype}-2d", (x,), ((1, 0),))
        yield Case("concat", f"{dtype}-2d", (x, x), (1,))
        yield Case("take", f"{dtype}-2d", (x, np.array([2, 0], np.int64)), (0,))
        yield Case("astype", f"{dtype}-to-float32", (x,), ("float32",))
        # float to unsigned is only defined for values in range: no negatives
        floats = np.abs(arr((5,), "float32", op="narrow")) if dtype == "uint8" else arr((5,), "float32", op="narrow")
        yield Case("astype", f"float32-to-{dtype}", (floats,), (dtype,))
    yield Case("matmul", "float16-2d", (arr((3, 4), "float16", op="matmul"), arr((4, 5), "float16", op="matmul", role=1)))


def all_cases() -> list[Case]:
    cases = [
        *creation_cases(),
        *unary_cases(),
        *binary_cases(),
        *selection_cases(),
        *reduction_cases(),
        *shape_cases(),
        *linalg_cases(),
        *ordering_cases(),
        *fft_cases(),
        *fused_cases(),
        *narrow_dtype_cases(),
    ]
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate case ids: {sorted(duplicates)}"
    return cases


CASES = all_cases()

# special-value cases raise NumPy's "invalid value" warnings by design
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# ops whose float results accumulate many terms: their tolerance scales with the same
# computation on |inputs| (the classic forward error bound of a sum)
_ACCUMULATING = {"sum", "mean", "cumulative_sum", "matmul", "conv", "window_sum", "dense", "mlp_forward", "scatter_add", "triangular_solve"}
_WHOLE_SCALE = {"fft", "ifft", "cholesky", "logsumexp"}  # scale: the largest magnitude in the result


# ---------------------------------------------------------------------------
# running a case on a backend


def _is_float_kind(a: np.ndarray) -> bool:
    return a.dtype.kind in "fc"


def _to_backend(be: backends.Backend, a: np.ndarray, layout: str | None) -> Any:
    """``a`` as a tensor of ``be``; with a layout, built as a non-contiguous view inside the backend."""
    if layout is None or a.ndim == 0:
        return be.from_numpy(a)
    if layout == "T":
        if not be.supports("permute_dims"):
            pytest.skip(f"{be.name} lacks permute_dims, needed to build a non-contiguous input")
        axes = tuple(reversed(range(a.ndim)))
        return be.op("permute_dims")(be.from_numpy(np.ascontiguousarray(np.transpose(a))), axes)
    if layout == "step":
        if not be.supports("slice"):
            pytest.skip(f"{be.name} lacks slice, needed to build a non-contiguous input")
        wide = np.zeros((*a.shape[:-1], 2 * a.shape[-1] + 1), dtype=a.dtype)
        wide[..., 1::2] = a
        return be.op("slice")(
            be.from_numpy(wide), (0,) * (a.ndim - 1) + (1,), (*wide.shape[:-1], 2 * a.shape[-1]), (1,) * (a.ndim - 1) + (2,)
        )
    raise AssertionError(f"unknown layout {layout!r}")


def _call_args(case: Case, tensors: Sequence[Any]) -> list[Any]:
    if OPS[case.op].arity == -1:
        return [list(tensors), *case.args]
    return [*tensors, *case.args]


def _scale(case: Case, ref: Any) -> Any:
    if case.op in _ACCUMULATING:
        abs_inputs = [np.abs(t) if _is_float_kind(t) else t for t in case.tensors]
        return np.abs(REFERENCE[case.op](*_call_args(case, abs_inputs), **case.kwargs))
    if case.op in _WHOLE_SCALE:
        finite = np.abs(np.asarray(ref))
        finite = finite[np.isfinite(finite)]
        return max(1.0, float(finite.max())) if finite.size else 1.0
    return 1.0


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return bool(np.all(a == b))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_op_matches_reference(be: backends.Backend, case: Case) -> None:
    layouts = case.layout or (None,) * len(case.tensors)
    supported = be.supports(case.op)
    inputs = [_to_backend(be, t, lay if supported else None) for t, lay in zip(case.tensors, layouts, strict=True)]
    fn = getattr(be, case.op)
    if not supported:
        with pytest.raises(UnsupportedOperation) as excinfo:
            fn(*_call_args(case, inputs), **case.kwargs)
        assert excinfo.value.op == case.op
        assert be.name in str(excinfo.value)
        return

    infos = [TensorInfo(t.shape, t.dtype.name) for t in case.tensors]
    spec = OPS[case.op]
    want_info = spec.infer(*_call_args(case, infos), **case.kwargs)
    ref = REFERENCE[case.op](*_call_args(case, list(case.tensors)), **case.kwargs)

    out = fn(*_call_args(case, inputs), **case.kwargs)

    multi = isinstance(want_info, tuple) and not isinstance(want_info, TensorInfo)
    want_infos = list(want_info) if multi else [want_info]
    outs = list(out) if multi else [out]
    refs = list(ref) if multi else [ref]
    assert len(outs) == len(want_infos), f"{case.op} returned {len(outs)} outputs, expected {len(want_infos)}"
    scale = _scale(case, refs[0])
    for i, (o, info, r) in enumerate(zip(outs, want_infos, refs, strict=True)):
        what = f"{be.name} {case.op} output {i}: "
        assert np.shape(r) == info.shape, f"catalog infers {info.shape} but the reference has shape {np.shape(r)}"
        assert be.info(o) == info, f"{what}info() says {be.info(o)}, catalog infers {info}"
        got = np.asarray(be.to_numpy(o))
        assert got.dtype.name == info.dtype, f"{what}dtype {got.dtype.name}, catalog infers {info.dtype}"
        assert got.shape == info.shape, f"{what}shape {got.shape}, catalog infers {info.shape}"
        assert_matches(got, r, info.dtype, exact=case.op in EXACT_OPS, scale=scale if i == 0 else 1.0, what=what)

    for t, original in zip(inputs, case.tensors, strict=True):
        assert _same_values(np.asarray(be.to_numpy(t)), original), f"{case.op} modified its input"


# ---------------------------------------------------------------------------
# the data boundary and coverage


@pytest.mark.parametrize("dtype", [*TEST_DTYPES, *COMPLEXES])
@pytest.mark.parametrize(
    "shape_name, make",
    [
        ("0d", lambda a: np.asarray(a[0])),
        ("empty", lambda a: a[:0]),
        ("2d", lambda a: a.reshape(2, 3)),
        ("transposed_view", lambda a: a.reshape(2, 3).T),
        ("strided_view", lambda a: a[::2]),
    ],
)
def test_numpy_round_trip(be: backends.Backend, dtype: str, shape_name: str, make: Any) -> None:
    """from_numpy then to_numpy gives back the same values, shape and dtype (views included)."""
    source = np.asarray(make(arr((6,), dtype, shape_name, op="round_trip")))
    tensor = be.from_numpy(source)
    assert be.info(tensor) == TensorInfo(source.shape, dtype)
    back = np.asarray(be.to_numpy(tensor))
    assert _same_values(back, source)


def test_op_coverage(be: backends.Backend, backend_name: str) -> None:
    """supports()/op() agree; unsupported ops raise UnsupportedOperation; accelerated backends cover >= 90%."""
    missing = sorted(op for op in OPS if not be.supports(op))
    for name in OPS:
        if name in missing:
            with pytest.raises(UnsupportedOperation):
                be.op(name)
        else:
            assert callable(be.op(name))
    assert set(be.implemented_ops) == set(OPS) - set(missing)
    coverage = 1 - len(missing) / len(OPS)
    print(f"{backend_name}: {len(OPS) - len(missing)}/{len(OPS)} ops ({coverage:.0%}); missing: {', '.join(missing) or 'none'}")
    if backend_name in ACCELERATED:
        assert coverage >= ACCELERATED[backend_name], f"{backend_name} implements only {coverage:.0%} of the catalog; missing {missing}"
    if backend_name in COMPLETE:
        assert not missing, f"{backend_name} is documented as complete but lacks {missing}"


def test_describe(be: backends.Backend) -> None:
    """Provenance: string keys and values, naming the backend and its device."""
    info = be.describe()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())
    assert info["backend"] == be.name
    assert info["device"] == be.device


def test_synchronize_and_warmup(be: backends.Backend) -> None:
    """synchronize() accepts outputs; warmup() runs the op once without failing."""
    x = be.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    if not be.supports("add"):
        pytest.skip(f"{be.name} lacks add")
    out = be.op("add")(x, x)
    be.synchronize(out)
    be.synchronize()
    be.warmup(be.op("add"), x, x)
    np.testing.assert_array_equal(np.asarray(be.to_numpy(out)), 2 * np.arange(6, dtype=np.float32).reshape(2, 3))


GPU_NAMES = [n for n in backends.known() if n == "cupy" or n.partition(":")[2] in ("cuda", "gpu")]


@pytest.mark.gpu
@pytest.mark.parametrize("gpu_name", GPU_NAMES)
def test_gpu_backend_computes_on_its_device(gpu_name: str) -> None:
    """A GPU backend reports its device, and a matmul there matches the reference after synchronize()."""
    try:
        be = backends.get(gpu_name)
    except backends.BackendUnavailable as exc:
        pytest.skip(str(exc))
    assert be.device in ("cuda", "gpu")
    assert be.describe()["device"] == be.device
    a, b = arr((64, 32), "float32", op="gpu"), arr((32, 48), "float32", op="gpu", role=1)
    out = be.op("matmul")(be.from_numpy(a), be.from_numpy(b))
    be.synchronize(out)
    scale = np.abs(REFERENCE["matmul"](np.abs(a), np.abs(b)))
    assert_matches(np.asarray(be.to_numpy(out)), REFERENCE["matmul"](a, b), "float32", scale=scale)
