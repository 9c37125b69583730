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
from backends._catalog import BenchInputs, benchmark_cost, benchmark_inputs, ops_in_groups, rows_cols

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


# ---------------------------------------------------------------------------
# the facts benchmarks and analyses take from the catalog

KIND_SIZES = {"elements": (1, 7, 999, 1000, 10_000, 1_000_000), "matrix": (8, 33, 128), "fft": (2, 1024)}


def _a_dtype(op: str) -> str:
    dtypes = OPS[op].dtypes
    return next(d for d in ("float32", "int32", "bool", "complex64") if d in dtypes)


@pytest.mark.parametrize("op", list(OPS))
def test_benchmark_inputs_are_valid_calls_of_the_op(op: str) -> None:
    """At every size of its kind, the size -> input rule gives arguments the op accepts, with a cost."""
    spec = OPS[op]
    assert spec.kind in KIND_SIZES and spec.layout in ("element", "row", "whole")
    for size in KIND_SIZES[spec.kind]:
        inputs = benchmark_inputs(op, size, _a_dtype(op))
        assert len(inputs.names) == len(inputs.tensors) == (1 if spec.arity == -1 else spec.arity)
        spec.infer(*inputs.tensors, *inputs.args, **inputs.kwargs)  # raises BadInput if not
        assert benchmark_cost(op, size, _a_dtype(op)) == spec.cost(*inputs.tensors, *inputs.args, **inputs.kwargs)


def _elements(inputs: Any) -> int:
    first = inputs.tensors[0]
    infos = first if not hasattr(first, "dtype") else (first,)
    return sum(math.prod(i.shape) for i in infos)


def test_what_a_size_means() -> None:
    # elements: the main input holds about `size` elements
    for op in ("exp", "add", "sum", "sort", "softmax", "layer_norm", "reshape", "take", "concat", "gelu"):
        assert _elements(benchmark_inputs(op, 10_000, "float32")) == 10_000, op
    assert benchmark_inputs("softmax", 1_000_000, "float32").tensors[0].shape == (1000, 1000)  # rows of up to 1000
    assert benchmark_inputs("softmax", 500, "float32").tensors[0].shape == (1, 500)
    assert benchmark_inputs("window_max", 10_000, "float32").tensors[0].shape == (100, 100)
    # matrix: size x size
    assert [t.shape for t in benchmark_inputs("matmul", 64, "float32").tensors] == [(64, 64), (64, 64)]
    assert [t.shape for t in benchmark_inputs("dense", 64, "float32").tensors] == [(64, 64), (64, 64), (64,)]
    assert benchmark_inputs("conv", 64, "float32").tensors[0].shape == (1, 16, 16, 16)
    assert benchmark_inputs("triangular_solve", 64, "float64").args == (True,)
    # creation ops take no tensors, only the arguments
    assert benchmark_inputs("arange", 100, "float32") == BenchInputs((), (), (0, 100, 1), {"dtype": "float32"})
    assert rows_cols(2500) == (2, 1000) and rows_cols(10) == (1, 10)


def test_benchmark_cost_of_matmul_from_first_principles() -> None:
    n = 128
    assert benchmark_cost("matmul", n, "float32") == Cost(2 * n**3, 2 * n * n * 4, n * n * 4)
    assert benchmark_cost("exp", 100, "float64") == Cost(100, 800, 800)


def test_bad_sizes_and_ops_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="positive int"):
        benchmark_inputs("exp", 0, "float32")
    with pytest.raises(KeyError, match="unknown op"):
        benchmark_inputs("no_such_op", 10, "float32")
    with pytest.raises(ValueError, match="unknown op group"):
        ops_in_groups("nope")


def test_ops_in_groups_partition_the_catalog() -> None:
    assert ops_in_groups() == tuple(OPS)
    assert sorted(op for g in GROUPS for op in ops_in_groups(g)) == sorted(OPS)
    assert ops_in_groups("fft") == ("fft", "ifft")


def test_layouts_agree_with_shapes() -> None:
    """An element-wise op maps n elements to n elements; a row-wise op keeps its rows."""
    for op, spec in OPS.items():
        if spec.layout == "whole":
            continue
        inputs = benchmark_inputs(op, 10_000, _a_dtype(op))
        out = spec.infer(*inputs.tensors, *inputs.args, **inputs.kwargs)
        if spec.layout == "element":
            assert out.shape == inputs.tensors[-1].shape, op
        else:
            assert out.shape[0] == inputs.tensors[0].shape[0], op
    assert {op for op, s in OPS.items() if s.layout == "row"} == {"softmax", "logsumexp", "layer_norm"}


def test_domains_keep_ops_defined() -> None:
    """Inputs drawn from each unary op's domain give finite float64 results (NumPy as the judge)."""
    numpy_fn = {"rsqrt": lambda x: 1 / np.sqrt(x), "erf": None, "sigmoid": lambda x: 1 / (1 + np.exp(-x))}
    for op in ops_in_groups("unary"):
        low, high = OPS[op].domain
        assert low < high, op
        fn = numpy_fn.get(op, getattr(np, {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}.get(op, op), None))
        if fn is None or "float64" not in OPS[op].dtypes:
            continue
        x = np.linspace(low, high, 1001)
        with np.errstate(all="raise"):
            assert np.isfinite(fn(x)).all(), op


def test_facts_for_the_reference_check() -> None:
    assert {op for op, s in OPS.items() if s.returns_indices} == {"argmax", "argmin", "argsort", "top_k"}
    assert {op for op, s in OPS.items() if s.cancels} == {"gelu"}
    assert {"sum", "matmul", "fft", "softmax", "cumulative_sum"} <= {op for op, s in OPS.items() if s.accumulates}
    assert not {"exp", "add", "max", "sort", "reshape"} & {op for op, s in OPS.items() if s.accumulates}
    assert {op for op, s in OPS.items() if s.group == "shape" and not s.moves_only} == {"scatter_add", "astype"}
