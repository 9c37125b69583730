"""The op catalog: coverage of the op groups, shape rules against NumPy, and the cost model.

Expected FLOPs and bytes are derived here from first principles (a multiply-add is two
FLOPs; bytes are elements times the dtype's size as NumPy reports it), not read from the
catalog's code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from test_conformance import CASES

from backends import GROUPS, OPS, Cost, OpSpec, ShapeMismatch, TensorInfo

ISSUE_GROUPS = {"creation", "unary", "binary", "selection", "reduction", "window", "shape", "linalg", "ordering", "fft", "fused"}
KNOWN_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16", "float32", "float64", "complex64", "complex128"}


def itemsize(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def info(shape: tuple[int, ...], dtype: str = "float32") -> TensorInfo:
    return TensorInfo(shape, dtype)


# ---------------------------------------------------------------------------
# the catalog as a whole


def test_catalog_has_at_least_60_ops_in_every_group() -> None:
    assert len(OPS) >= 60
    assert set(GROUPS) == ISSUE_GROUPS
    by_group = {g: [name for name, spec in OPS.items() if spec.group == g] for g in GROUPS}
    empty = [g for g, names in by_group.items() if not names]
    assert not empty, f"groups without ops: {empty}"


@pytest.mark.parametrize("name", list(OPS))
def test_op_entry_is_well_formed(name: str) -> None:
    spec = OPS[name]
    assert isinstance(spec, OpSpec)
    assert spec.name == name
    assert name == name.lower() and name.isidentifier()
    assert spec.group in GROUPS
    assert spec.doc.strip()
    assert spec.dtypes and spec.dtypes <= KNOWN_DTYPES
    assert spec.arity in (-1, 0, 1, 2, 3, 5)


def test_every_op_has_conformance_cases() -> None:
    covered = {c.op for c in CASES}
    assert covered == set(OPS), f"ops without conformance cases: {sorted(set(OPS) - covered)}"


def test_array_api_names() -> None:
    """Ops the Array API standard names use its names (not NumPy's aliases)."""
    for name in ("asin", "acos", "atan", "atan2", "pow", "concat", "permute_dims", "bitwise_invert", "cumulative_sum", "astype"):
        assert name in OPS
    for alias in ("arcsin", "power", "concatenate", "transpose", "invert", "cumsum"):
        assert alias not in OPS


# ---------------------------------------------------------------------------
# shape rules against NumPy

BROADCAST_PAIRS = [
    ((), ()),
    ((3,), ()),
    ((2, 3), (3,)),
    ((2, 1), (1, 4)),
    ((5, 1, 4), (3, 1)),
    ((0, 3), (3,)),
    ((1, 0), (4, 1)),
    ((2, 3), (4,)),
    ((2, 3), (3, 3)),
    ((2, 0), (3, 1)),
]


@pytest.mark.parametrize(("sx", "sy"), BROADCAST_PAIRS, ids=[f"{a}x{b}" for a, b in BROADCAST_PAIRS])
def test_binary_broadcasting_matches_numpy(sx: tuple[int, ...], sy: tuple[int, ...]) -> None:
    try:
        want: tuple[int, ...] | None = np.broadcast_shapes(sx, sy)
    except ValueError:
        want = None
    for op in ("add", "less", "logical_and"):
        dtype = "bool" if op == "logical_and" else "float64"
        if want is None:
            with pytest.raises(ShapeMismatch):
                OPS[op].infer(info(sx, dtype), info(sy, dtype))
        else:
            out = OPS[op].infer(info(sx, dtype), info(sy, dtype))
            assert out.shape == want
            assert out.dtype == ("bool" if op != "add" else dtype)


@pytest.mark.parametrize("shape", [(), (4,), (0,), (3, 5), (2, 3, 4), (2, 0, 3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_shapes_match_numpy(shape: tuple[int, ...], keepdims: bool) -> None:
    zeros = np.zeros(shape)
    for axis in [None, *range(-len(shape), len(shape))]:
        want = np.sum(zeros, axis=axis, keepdims=keepdims).shape
        for op in ("sum", "prod", "mean", "all", "any"):
            assert OPS[op].infer(info(shape, "float64"), axis, keepdims).shape == want, (op, axis)


def test_reduction_dtypes() -> None:
    """Integer and bool sums and products accumulate in int64; float reductions keep the dtype."""
    for dtype in ("int8", "int32", "int64", "uint8", "bool"):
        for op in ("sum", "prod", "cumulative_sum"):
            assert OPS[op].infer(info((3,), dtype)).dtype == "int64"
    for op in ("sum", "prod", "mean", "max", "min", "cumulative_sum"):
        assert OPS[op].infer(info((3,), "float32")).dtype == "float32"
    for op in ("argmax", "argmin"):
        assert OPS[op].infer(info((3,), "float32")).dtype == "int64"


MATMUL_PAIRS = [
    ((3, 4), (4, 5)),
    ((4,), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((4,), (2, 4, 3)),
    ((3, 0), (0, 5)),
]


@pytest.mark.parametrize(("sa", "sb"), MATMUL_PAIRS, ids=[f"{a}x{b}" for a, b in MATMUL_PAIRS])
def test_matmul_shape_matches_numpy(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    want = np.matmul(np.zeros(sa), np.zeros(sb)).shape
    assert OPS["matmul"].infer(info(sa), info(sb)) == info(want)


def test_shape_op_rules_match_numpy() -> None:
    x = np.zeros((2, 3, 4))
    xi = info(x.shape)
    assert OPS["reshape"].infer(xi, (4, -1)).shape == x.reshape(4, -1).shape
    assert OPS["permute_dims"].infer(xi, (2, 0, 1)).shape == np.transpose(x, (2, 0, 1)).shape
    assert OPS["expand_dims"].infer(xi, -1).shape == np.expand_dims(x, -1).shape
    assert OPS["squeeze"].infer(info((3, 1, 2)), 1).shape == (3, 2)
    assert OPS["slice"].infer(xi, (0, 1, 0), (2, 2, 4), (1, 1, 3)).shape == x[0:2, 1:3, 0:4:3].shape
    assert OPS["pad"].infer(xi, ((1, 0), (0, 2), (3, 3))).shape == np.pad(x, ((1, 0), (0, 2), (3, 3))).shape
    assert OPS["concat"].infer([xi, info((2, 1, 4))], 1).shape == (2, 4, 4)
    assert OPS["stack"].infer([xi, xi], -1).shape == np.stack([x, x], -1).shape
    assert OPS["take"].infer(xi, info((5,), "int64"), 2).shape == np.take(x, [0] * 5, axis=2).shape
    values, indices = OPS["top_k"].infer(xi, 2)
    assert values == info((2, 3, 2)) and indices == info((2, 3, 2), "int64")


@pytest.mark.parametrize(
    ("x", "w", "strides", "padding"),
    [
        ((2, 3, 6, 7), (4, 3, 3, 2), (1, 1), ((0, 0), (0, 0))),
        ((1, 2, 7, 6), (3, 2, 3, 3), (2, 1), ((1, 1), (0, 2))),
        ((1, 1, 5, 5), (1, 1, 5, 5), (3, 3), ((0, 0), (0, 0))),
    ],
)
def test_conv_output_shape(x: tuple[int, ...], w: tuple[int, ...], strides: tuple[int, int], padding: Any) -> None:
    n, _c, h, wd = x
    o, _c, kh, kw = w
    # the number of window positions along an axis: floor((padded - kernel) / stride) + 1
    ho = (h + sum(padding[0]) - kh) // strides[0] + 1
    wo = (wd + sum(padding[1]) - kw) // strides[1] + 1
    assert OPS["conv"].infer(info(x), info(w), strides, padding) == info((n, o, ho, wo))


# ---------------------------------------------------------------------------
# the cost model, from first principles


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("m", "k", "n"), [(2, 3, 4), (64, 32, 16), (1, 1, 1), (5, 0, 3)])
def test_matmul_cost_is_2mkn(dtype: str, m: int, k: int, n: int) -> None:
    cost = OPS["matmul"].cost(info((m, k), dtype), info((k, n), dtype))
    assert cost.flops == 2 * m * k * n  # each of m*n outputs: k multiplies and k adds
    assert cost.bytes_read == (m * k + k * n) * itemsize(dtype)
    assert cost.bytes_written == m * n * itemsize(dtype)
    assert cost.bytes_moved == cost.bytes_read + cost.bytes_written


def test_matmul_cost_batched_and_broadcast() -> None:
    b, m, k, n = 3, 4, 5, 6
    batched = OPS["matmul"].cost(info((b, m, k)), info((b, k, n)))
    assert batched.flops == b * 2 * m * k * n
    assert batched.bytes_read == (b * m * k + b * k * n) * 4
    assert batched.bytes_written == b * m * n * 4
    shared = OPS["matmul"].cost(info((m, k)), info((b, k, n)))  # one left matrix, read once
    assert shared.flops == b * 2 * m * k * n
    assert shared.bytes_read == (m * k + b * k * n) * 4
    vec = OPS["matmul"].cost(info((k,), "float64"), info((k, n), "float64"))
    assert vec.flops == 2 * k * n
    dot = OPS["matmul"].cost(info((k,), "float64"), info((k,), "float64"))
    assert dot.flops == 2 * k and dot.bytes_written == 8


def test_conv_cost() -> None:
    n, c, h, w, o, kh, kw = 2, 3, 8, 9, 4, 3, 2
    stride, pad = (2, 1), ((1, 1), (0, 1))
    ho = (h + 2 - kh) // 2 + 1
    wo = (w + 1 - kw) // 1 + 1
    cost = OPS["conv"].cost(info((n, c, h, w)), info((o, c, kh, kw)), stride, pad)
    # every output element is a dot product over c*kh*kw input values: one multiply and one add each
    assert cost.flops == 2 * (n * o * ho * wo) * (c * kh * kw)
    assert cost.bytes_read == (n * c * h * w + o * c * kh * kw) * 4
    assert cost.bytes_written == n * o * ho * wo * 4


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_reduction_cost(dtype: str) -> None:
    rows, cols = 7, 11
    op = "sum"
    cost = OPS[op].cost(info((rows, cols), dtype), 0)
    out_dtype = "int64" if dtype in ("int32", "bool") else dtype  # int and bool sums accumulate in int64
    assert cost.flops == rows * cols  # each input element is added once
    assert cost.bytes_read == rows * cols * itemsize(dtype)
    assert cost.bytes_written == cols * itemsize(out_dtype)
    whole = OPS[op].cost(info((rows, cols), dtype))
    assert whole.flops == rows * cols and whole.bytes_written == itemsize(out_dtype)
    if dtype != "bool":
        arg = OPS["argmax"].cost(info((rows, cols), dtype), 1)
        assert arg.flops == rows * cols and arg.bytes_written == rows * 8  # int64 indices


def test_elementwise_cost() -> None:
    m, n = 6, 10
    unary = OPS["exp"].cost(info((m, n), "float64"))
    assert unary == Cost(m * n, m * n * 8, m * n * 8)
    # a broadcast binary op reads each input once at its own size and writes the full result
    binary = OPS["add"].cost(info((m, 1), "int32"), info((1, n), "int32"))
    assert binary == Cost(m * n, (m + n) * 4, m * n * 4)
    compare = OPS["less"].cost(info((m, n), "float32"), info((m, n), "float32"))
    assert compare == Cost(m * n, 2 * m * n * 4, m * n * 1)  # bool results are one byte each
    test = OPS["isnan"].cost(info((m,), "float16"))
    assert test == Cost(m, m * 2, m)


def test_copy_and_creation_costs() -> None:
    cast = OPS["astype"].cost(info((5, 4), "float64"), "float32")
    assert cast.flops == 0
    assert cast.bytes_read == 20 * 8 and cast.bytes_written == 20 * 4
    transpose = OPS["permute_dims"].cost(info((5, 4), "int64"), (1, 0))
    assert transpose.flops == 0 and transpose.bytes_written == 20 * 8
    full = OPS["full"].cost((3, 4), 1.0, dtype="float32")
    assert full == Cost(0, 0, 12 * 4)
    eye = OPS["eye"].cost(4)
    assert eye.bytes_written == 16 * 8  # float64 by default


def test_cost_intensity() -> None:
    n = 64
    cost = OPS["matmul"].cost(info((n, n), "float64"), info((n, n), "float64"))
    assert cost.intensity == pytest.approx(2 * n**3 / (3 * n * n * 8))
    assert Cost(5, 0, 0).intensity == 0.0


def test_cost_validates_like_infer() -> None:
    with pytest.raises(ShapeMismatch):
        OPS["matmul"].cost(info((2, 3)), info((4, 5)))


@pytest.mark.parametrize("op", list(OPS))
def test_every_op_has_a_cost(op: str) -> None:
    """The cost of each op's first conformance case: non-negative ints; bytes written are the outputs' bytes."""
    case = next(c for c in CASES if c.op == op)
    infos = [TensorInfo(t.shape, t.dtype.name) for t in case.tensors]
    spec = OPS[op]
    args = [infos, *case.args] if spec.arity == -1 else [*infos, *case.args]
    cost = spec.cost(*args, **case.kwargs)
    out = spec.infer(*args, **case.kwargs)
    outs = out if isinstance(out, tuple) and not isinstance(out, TensorInfo) else (out,)
    assert all(isinstance(v, int) and v >= 0 for v in cost)
    assert cost.bytes_written == sum(math.prod(o.shape) * itemsize(o.dtype) for o in outs)
