"""The op catalog: every operation a backend may implement (the analogue of Nx.Backend).

Each :class:`OpSpec` knows its name (the Array API name where the standard has one),
its group, how many tensor inputs it takes, which dtypes it accepts, and two rules
that work on shapes and dtypes alone (the analogue of ``Nx.TemplateBackend``):

* ``spec.infer(*infos, **params)`` returns the output :class:`TensorInfo` (or a tuple
  of them) and raises the matching :class:`~backends.BadInput` subclass when the inputs
  are invalid. Backends call it to validate, so every backend raises the same error.
* ``spec.cost(*infos, **params)`` returns a :class:`Cost`: FLOPs and bytes read and
  written, used for throughput and roofline figures. Element-wise ops count one FLOP
  per output element (transcendentals included); reductions one FLOP per input
  element; shape ops count the bytes of a materialised copy; matmul counts
  ``2*m*k*n`` per batch and conv two FLOPs per kernel tap of each output element.
  Bytes read are each input's own bytes (a broadcast input is read once); bytes
  written are the outputs' bytes.

Each entry also holds the facts about the op that benchmarks and analyses need, so that
none of them is typed again elsewhere:

* ``spec.kind`` - what a benchmark *size* means: ``"elements"`` (elements of the main
  input), ``"matrix"`` (the side ``n`` of square matrices) or ``"fft"`` (transform length);
* ``spec.benchmark_inputs(size, dtype)`` - the size -> input rule: the shapes and dtypes of
  the tensor inputs and the op's other arguments at that size (:class:`BenchInputs`), so
  ``spec.cost(*inputs.tensors, *inputs.args, **inputs.kwargs)`` is the cost of one
  benchmarked call (:func:`benchmark_cost`). Element-wise ops, reductions, sorting and FFTs
  take ``(size,)`` vectors; row-wise ops and shape ops ``rows x cols`` with
  ``cols = min(size, 1000)`` (:func:`rows_cols`); windows an ``isqrt(size)`` square;
  linear algebra and dense layers ``size x size`` matrices (conv a ``(1, 16, size/4,
  size/4)`` image and ``3 x 3`` kernels);
* ``spec.layout`` - ``"element"`` (output i depends on input i only), ``"row"`` (output
  row i on input row i and shared 1-D parameters) or ``"whole"``; a reference check may
  compare a sample of positions or rows of the first two;
* ``spec.domain`` - an input interval that keeps the op well conditioned (``log`` of
  positive numbers, ``asin`` inside (-1, 1), ``exp`` without overflow);
* ``spec.accumulates`` (rounding grows with the number of terms summed),
  ``spec.cancels`` (the usual formula loses digits), ``spec.returns_indices`` (outputs
  are positions: equal values make several answers right) and ``spec.moves_only`` (the
  output holds input values, moved or copied: no rounding error to track) - what a check
  against a float64 reference must allow for.

The catalog is exposed read-only as ``backends.OPS``.

Semantics every backend follows (the conformance suite checks them):

* binary ops require both inputs to have the same dtype (no implicit promotion) and
  broadcast their shapes as NumPy does;
* integer sums and products accumulate in int64; float reductions keep the dtype;
* NaN propagates through max/min/maximum/minimum; argmax/argmin return the first NaN;
  sort/argsort/top_k order NaN as the largest value; sorting is stable, descending
  sorts and top_k included (equal values keep their input order);
* ``round`` rounds half to even; integer ops wrap around as in NumPy;
* float ops follow IEEE 754 and never raise on values: out-of-domain inputs give NaN
  (``sqrt(-1)``, ``log(-1)``), overflow and division by zero give +-inf, NaN
  propagates (``clip`` included);
* data-dependent errors: ``cholesky`` of a matrix that is not positive definite and
  ``triangular_solve`` with a zero on the diagonal raise NotSquareOrNotDefinite;
  ``take``/``scatter_add`` indices outside ``[-n, n)`` raise IndexOutOfRange;
* ``astype`` from float to int truncates toward zero; NaN, infinities and values
  outside the target's range have no defined result (as in C);
* no op modifies its inputs (a result may share memory with them, as a NumPy view
  does, so callers do not write into results either); ``take`` and
  ``scatter_add`` accept indices in ``[-n, n)``, negative ones counting from the end.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from ._dtypes import ALL_DTYPES, BOOL, COMPLEX, FLOAT, INT, ITEMSIZE, NUMERIC, REAL
from ._errors import (
    AxisOutOfRange,
    BadInput,
    IndexOutOfRange,
    NotSquareOrNotDefinite,
    ShapeMismatch,
    UnsupportedDType,
)

__all__ = [
    "GROUPS",
    "OPS",
    "BenchInputs",
    "Cost",
    "OpSpec",
    "TensorInfo",
    "benchmark_cost",
    "benchmark_inputs",
    "broadcast_shapes",
    "normalize_axis",
    "ops_in_groups",
    "rows_cols",
]


class TensorInfo(NamedTuple):
    """Shape and dtype of a tensor, without its data."""

    shape: tuple[int, ...]
    dtype: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * ITEMSIZE[self.dtype]


class Cost(NamedTuple):
    """Work and memory traffic of one op call."""

    flops: int
    bytes_read: int
    bytes_written: int

    @property
    def bytes_moved(self) -> int:
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self) -> float:
        """Arithmetic intensity in FLOPs per byte moved (0 when nothing moves)."""
        return self.flops / self.bytes_moved if self.bytes_moved else 0.0


class BenchInputs(NamedTuple):
    """An op's arguments at one benchmark size: tensor inputs as shapes and dtypes, then the rest.

    ``tensors`` holds a :class:`TensorInfo` per tensor argument (a tuple of them for the
    one sequence argument of concat and stack), ``names`` their parameter names.
    """

    tensors: tuple[Any, ...]
    names: tuple[str, ...]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = MappingProxyType({})


Infer = Callable[..., Any]
CostFn = Callable[..., Cost]
InputRule = Callable[[int, str], BenchInputs]

#: what a benchmark size means, per op (see the module docstring)
KINDS = ("elements", "matrix", "fft")
#: how output positions depend on input positions
LAYOUTS = ("element", "row", "whole")


@dataclass(frozen=True)
class OpSpec:
    """One catalog entry. ``arity`` counts tensor inputs; -1 means one sequence of tensors.

    The fields after ``doc`` are the facts benchmarks and analyses use (module docstring).
    """

    name: str
    group: str
    arity: int
    dtypes: frozenset[str]
    doc: str
    _infer: Infer = field(repr=False)
    _cost: CostFn = field(repr=False)
    _inputs: InputRule = field(repr=False)
    kind: str = "elements"
    layout: str = "whole"
    domain: tuple[float, float] = (-1.0, 1.0)
    accumulates: bool = False
    cancels: bool = False
    returns_indices: bool = False
    moves_only: bool = False

    def infer(self, *inputs: Any, **params: Any) -> Any:
        """Output TensorInfo (or tuple of them); raises BadInput for invalid inputs."""
        if self.arity == -1:
            (tensors, *rest) = inputs
            infos: Any = [_as_info(t) for t in tensors]
            return self._infer(infos, *rest, **params)
        infos = [_as_info(t) for t in inputs[: self.arity]]
        return self._infer(*infos, *inputs[self.arity :], **params)

    def cost(self, *inputs: Any, **params: Any) -> Cost:
        """FLOPs and bytes of one call on inputs of these shapes and dtypes."""
        out = self.infer(*inputs, **params)
        outs = out if isinstance(out, tuple) and not isinstance(out, TensorInfo) else (out,)
        if self.arity == -1:
            infos = [_as_info(t) for t in inputs[0]]
            params = {"_extra": inputs[1:], **params}
        else:
            infos = [_as_info(t) for t in inputs[: self.arity]]
            params = {"_extra": inputs[self.arity :], **params}
        return self._cost(infos, list(outs), **params)

    def benchmark_inputs(self, size: int, dtype: str) -> BenchInputs:
        """The op's arguments at benchmark ``size`` (meaning: :attr:`kind`) in ``dtype``; shapes only, no data."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"{self.name}: a benchmark size is a positive int, got {size!r}")
        return self._inputs(size, dtype)


def _as_info(t: Any) -> TensorInfo:
    if isinstance(t, TensorInfo):
        return t
    shape, dtype = t
    return TensorInfo(tuple(int(d) for d in shape), str(dtype))


_OPS: dict[str, OpSpec] = {}
OPS: Mapping[str, OpSpec] = MappingProxyType(_OPS)

GROUPS = (
    "creation",
    "unary",
    "binary",
    "selection",
    "reduction",
    "window",
    "shape",
    "linalg",
    "ordering",
    "fft",
    "fused",
)


def _register(
    name: str,
    group: str,
    arity: int,
    dtypes: frozenset[str],
    doc: str,
    infer: Infer,
    cost: CostFn,
    *,
    kind: str = "elements",
    layout: str | None = None,
    inputs: InputRule | None = None,
    domain: tuple[float, float] = (-1.0, 1.0),
    accumulates: bool = False,
    cancels: bool = False,
    returns_indices: bool = False,
    moves_only: bool | None = None,
) -> None:
    """Add an op. ``layout`` defaults to ``"element"`` for the element-wise groups; ``inputs``
    to ``arity`` vectors of ``size`` elements (``"elements"``/``"fft"``) or ``size x size``
    matrices (``"matrix"``); ``moves_only`` to True for shape ops costed as a plain copy."""
    assert group in GROUPS, group
    assert name not in _OPS, name
    assert kind in KINDS and (layout is None or layout in LAYOUTS), (name, kind, layout)
    if layout is None:
        layout = "element" if group in _ELEMENTWISE_GROUPS else "whole"
    if moves_only is None:
        moves_only = group == "shape" and cost is _copy_cost
    if inputs is None:
        assert arity in (1, 2), f"{name}: give its benchmark inputs"
        inputs = _squares(*"ab"[:arity]) if kind == "matrix" else _vectors(*("x", "y")[:arity])
    _OPS[name] = OpSpec(
        name,
        group,
        arity,
        frozenset(dtypes),
        doc,
        infer,
        cost,
        inputs,
        kind,
        layout,
        domain,
        accumulates,
        cancels,
        returns_indices,
        moves_only,
    )


def ops_in_groups(*groups: str) -> tuple[str, ...]:
    """Names of the ops in ``groups``, in catalog order (every op when no group is given)."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown op group(s) {sorted(unknown)}; groups are {list(GROUPS)}")
    return tuple(name for name, spec in _OPS.items() if not groups or spec.group in groups)


def benchmark_inputs(op: str, size: int, dtype: str) -> BenchInputs:
    """``OPS[op].benchmark_inputs(size, dtype)``: the op's arguments at a benchmark size (shapes only)."""
    try:
        spec = _OPS[op]
    except KeyError:
        raise KeyError(f"unknown op {op!r}; see backends.OPS for the catalog") from None
    return spec.benchmark_inputs(size, dtype)


def benchmark_cost(op: str, size: int, dtype: str) -> Cost:
    """FLOPs and bytes of one benchmarked call of ``op`` at ``size`` in ``dtype`` (this catalog's rules)."""
    inputs = benchmark_inputs(op, size, dtype)
    return _OPS[op].cost(*inputs.tensors, *inputs.args, **inputs.kwargs)


# ---------------------------------------------------------------------------
# benchmark input rules (shapes only; see the module docstring)

_ELEMENTWISE_GROUPS = frozenset({"unary", "binary", "selection"})


def rows_cols(size: int) -> tuple[int, int]:
    """A ``rows x cols`` shape with ``size`` elements (rows of up to 1000): row-wise and shape ops."""
    cols = min(size, 1000)
    return (max(size // cols, 1), cols)


def _vectors(*names: str) -> InputRule:
    def rule(size: int, dtype: str) -> BenchInputs:
        return BenchInputs(tuple(TensorInfo((size,), dtype) for _ in names), names)

    return rule


def _squares(*names: str) -> InputRule:
    def rule(n: int, dtype: str) -> BenchInputs:
        return BenchInputs(tuple(TensorInfo((n, n), dtype) for _ in names), names)

    return rule


def _rows(*args: Any) -> InputRule:
    """One ``rows x cols`` input ``x``, then ``args``."""

    def rule(size: int, dtype: str) -> BenchInputs:
        return BenchInputs((TensorInfo(rows_cols(size), dtype),), ("x",), args)

    return rule


# ---------------------------------------------------------------------------
# validation helpers (shared by the rules below and by backends)


def _shapes(infos: Sequence[TensorInfo]) -> list[tuple[int, ...]]:
    return [i.shape for i in infos]


def _dtypes_of(infos: Sequence[TensorInfo]) -> list[str]:
    return [i.dtype for i in infos]


def check_dtype(op: str, allowed: frozenset[str], *infos: TensorInfo, inputs: Sequence[TensorInfo] | None = None) -> None:
    """Raise UnsupportedDType unless every one of ``infos`` has a dtype in ``allowed``.

    The error names ``inputs`` (default: ``infos``), so that checking one operand, such
    as take's indices, still reports every input of the call.
    """
    named = infos if inputs is None else inputs
    for info in infos:
        if info.dtype not in allowed:
            raise UnsupportedDType(
                op,
                f"dtype {info.dtype} is not supported (expected one of {sorted(allowed)})",
                _shapes(named),
                _dtypes_of(named),
            )


def check_same_dtype(op: str, *infos: TensorInfo, inputs: Sequence[TensorInfo] | None = None) -> None:
    """Raise UnsupportedDType when ``infos`` differ in dtype (there is no implicit promotion).

    The error names ``inputs`` (default: ``infos``).
    """
    if len({i.dtype for i in infos}) > 1:
        named = infos if inputs is None else inputs
        raise UnsupportedDType(
            op,
            "inputs must have the same dtype (cast one with astype)",
            _shapes(named),
            _dtypes_of(named),
        )


def broadcast_shapes(op: str, *infos: TensorInfo) -> tuple[int, ...]:
    """NumPy broadcasting of the inputs' shapes; ShapeMismatch when they do not broadcast."""
    ndim = max((i.ndim for i in infos), default=0)
    out: list[int] = []
    for axis in range(-ndim, 0):
        dim = 1
        for info in infos:
            if -axis > info.ndim:
                continue
            d = info.shape[axis]
            if d == dim or d == 1:
                continue
            if dim == 1:
                dim = d
            else:
                raise ShapeMismatch(op, "shapes do not broadcast", _shapes(infos), _dtypes_of(infos))
        out.append(dim)
    return tuple(out)


def normalize_axis(op: str, axis: int, ndim: int, *infos: TensorInfo) -> int:
    """Map ``axis`` in ``[-ndim, ndim)`` to ``[0, ndim)``; AxisOutOfRange otherwise."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise AxisOutOfRange(op, f"axis must be an int, got {axis!r}", _shapes(infos), _dtypes_of(infos))
    if not -ndim <= axis < ndim:
        raise AxisOutOfRange(op, f"axis {axis} is out of range for {ndim}-d input", _shapes(infos), _dtypes_of(infos))
    return axis % ndim


def _int_tuple(op: str, value: Any, what: str, infos: Sequence[TensorInfo]) -> tuple[int, ...]:
    try:
        out = tuple(value)
    except TypeError:
        raise BadInput(op, f"{what} must be a sequence of ints, got {value!r}", _shapes(infos), _dtypes_of(infos)) from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in out):
        raise BadInput(op, f"{what} must be a sequence of ints, got {value!r}", _shapes(infos), _dtypes_of(infos))
    return out


# ---------------------------------------------------------------------------
# cost helpers

_SUM_INT = "int64"


def _reduce_dtype(dtype: str) -> str:
    """Result dtype of sum/prod/cumulative_sum: int64 for ints and bool."""
    return _SUM_INT if dtype in INT | BOOL else dtype


def _elementwise_cost(flops_per_element: int = 1) -> CostFn:
    def cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
        n = sum(o.size for o in outs)
        return Cost(
            flops_per_element * n,
            sum(i.nbytes for i in ins),
            sum(o.nbytes for o in outs),
        )

    return cost


def _copy_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    """Shape ops: no arithmetic; bytes of a materialised copy."""
    return Cost(0, sum(o.nbytes for o in outs), sum(o.nbytes for o in outs))


def _reduction_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    return Cost(ins[0].size, ins[0].nbytes, sum(o.nbytes for o in outs))


# ---------------------------------------------------------------------------
# creation


def _creation_dtype(op: str, values: Sequence[Any], dtype: str | None) -> str:
    if dtype is not None:
        if dtype not in ALL_DTYPES - COMPLEX:
            raise UnsupportedDType(op, f"unknown or unsupported dtype {dtype!r}")
        return dtype
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) for v in values):
        return "int64"
    return "float64"


def _infer_arange(start: float, stop: float | None = None, step: float = 1, *, dtype: str | None = None) -> TensorInfo:
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise BadInput("arange", "step must not be zero")
    dt = _creation_dtype("arange", [start, stop, step], dtype)
    if dt == "bool":
        raise UnsupportedDType("arange", "arange does not produce bool")
    n = max(0, math.ceil((stop - start) / step))
    return TensorInfo((n,), dt)


def _check_shape_arg(op: str, shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else _int_tuple(op, shape, "shape", [])
    if any(d < 0 for d in shape):
        raise BadInput(op, f"negative dimension in shape {shape}")
    return shape


def _infer_full(shape: Sequence[int] | int, fill_value: float, *, dtype: str | None = None) -> TensorInfo:
    return TensorInfo(_check_shape_arg("full", shape), _creation_dtype("full", [fill_value], dtype))


def _infer_eye(n_rows: int, n_cols: int | None = None, *, k: int = 0, dtype: str = "float64") -> TensorInfo:
    cols = n_rows if n_cols is None else n_cols
    shape = _check_shape_arg("eye", (n_rows, cols))
    return TensorInfo(shape, _creation_dtype("eye", [0.0], dtype))  # None -> float64, as in NumPy


def _creation_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    return Cost(0, 0, outs[0].nbytes)


def _no_tensors(args: Callable[[int], tuple[Any, ...]]) -> InputRule:
    return lambda size, dtype: BenchInputs((), (), args(size), {"dtype": dtype})


_register(
    "arange",
    "creation",
    0,
    ALL_DTYPES - COMPLEX - BOOL,
    "Evenly spaced values in [start, stop).",
    _infer_arange,
    _creation_cost,
    inputs=_no_tensors(lambda size: (0, size, 1)),
)
_register(
    "full",
    "creation",
    0,
    ALL_DTYPES - COMPLEX,
    "A tensor of the given shape filled with one value.",
    _infer_full,
    _creation_cost,
    inputs=_no_tensors(lambda size: ((size,), 1)),
)
_register(
    "eye",
    "creation",
    0,
    ALL_DTYPES - COMPLEX,
    "Ones on the k-th diagonal, zeros elsewhere.",
    _infer_eye,
    _creation_cost,
    inputs=_no_tensors(lambda size: (math.isqrt(size),)),  # about size elements
)

# ---------------------------------------------------------------------------
# element-wise unary

_WIDE = (-10.0, 10.0)
_POSITIVE = (0.01, 100.0)
_INTEGERS = (-100.0, 100.0)

_UNARY: dict[str, tuple[frozenset[str], str | None, str, tuple[float, float]]] = {
    # name: (accepted dtypes, output dtype (None = same as input), doc, well-conditioned domain)
    "abs": (NUMERIC, None, "Absolute value.", (-1.0, 1.0)),
    "negative": (NUMERIC, None, "Numerical negation.", (-1.0, 1.0)),
    "sign": (NUMERIC, None, "-1, 0 or 1 by sign (NaN stays NaN).", (-1.0, 1.0)),
    "floor": (NUMERIC, None, "Largest integer not above x (identity on ints).", _INTEGERS),
    "ceil": (NUMERIC, None, "Smallest integer not below x (identity on ints).", _INTEGERS),
    "round": (NUMERIC, None, "Round half to even (identity on ints).", _INTEGERS),
    "sqrt": (FLOAT, None, "Square root.", _POSITIVE),
    "rsqrt": (FLOAT, None, "Reciprocal square root 1/sqrt(x).", _POSITIVE),
    "exp": (FLOAT, None, "e**x.", _WIDE),
    "expm1": (FLOAT, None, "e**x - 1, accurate near zero.", _WIDE),
    "log": (FLOAT, None, "Natural logarithm.", _POSITIVE),
    "log1p": (FLOAT, None, "log(1 + x), accurate near zero.", (-0.5, 100.0)),
    "sin": (FLOAT, None, "Sine.", _WIDE),
    "cos": (FLOAT, None, "Cosine.", _WIDE),
    "tan": (FLOAT, None, "Tangent.", (-1.2, 1.2)),
    "asin": (FLOAT, None, "Inverse sine.", (-0.99, 0.99)),
    "acos": (FLOAT, None, "Inverse cosine.", (-0.99, 0.99)),
    "atan": (FLOAT, None, "Inverse tangent.", _WIDE),
    "sinh": (FLOAT, None, "Hyperbolic sine.", (-5.0, 5.0)),
    "cosh": (FLOAT, None, "Hyperbolic cosine.", (-5.0, 5.0)),
    "tanh": (FLOAT, None, "Hyperbolic tangent.", (-5.0, 5.0)),
    "erf": (FLOAT, None, "Gauss error function.", (-3.0, 3.0)),
    "sigmoid": (FLOAT, None, "Logistic function 1/(1+exp(-x)).", _WIDE),
    "isnan": (NUMERIC, "bool", "True where x is NaN.", (-1.0, 1.0)),
    "isinf": (NUMERIC, "bool", "True where x is +inf or -inf.", (-1.0, 1.0)),
    "bitwise_invert": (INT | BOOL, None, "Bitwise NOT (logical NOT on bool).", (-1.0, 1.0)),
}


def _make_unary(name: str, allowed: frozenset[str], out_dtype: str | None) -> Infer:
    def infer(x: TensorInfo) -> TensorInfo:
        check_dtype(name, allowed, x)
        return TensorInfo(x.shape, out_dtype or x.dtype)

    return infer


for _name, (_allowed, _out, _doc, _domain) in _UNARY.items():
    _register(_name, "unary", 1, _allowed, _doc, _make_unary(_name, _allowed, _out), _elementwise_cost(), domain=_domain)

# ---------------------------------------------------------------------------
# element-wise binary

_BINARY: dict[str, tuple[frozenset[str], str | None, str]] = {
    "add": (NUMERIC, None, "x + y."),
    "subtract": (NUMERIC, None, "x - y."),
    "multiply": (NUMERIC, None, "x * y."),
    "divide": (FLOAT, None, "True division x / y."),
    "floor_divide": (NUMERIC, None, "floor(x / y); ints: y must be non-zero."),
    "remainder": (NUMERIC, None, "x - floor(x / y) * y (sign of y); ints: y must be non-zero."),
    "pow": (FLOAT, None, "x ** y."),
    "atan2": (FLOAT, None, "Angle of (y=x1, x=x2) in radians."),
    "maximum": (NUMERIC, None, "Element-wise maximum, NaN-propagating."),
    "minimum": (NUMERIC, None, "Element-wise minimum, NaN-propagating."),
    "equal": (REAL | BOOL, "bool", "x == y."),
    "not_equal": (REAL | BOOL, "bool", "x != y."),
    "less": (REAL | BOOL, "bool", "x < y."),
    "less_equal": (REAL | BOOL, "bool", "x <= y."),
    "greater": (REAL | BOOL, "bool", "x > y."),
    "greater_equal": (REAL | BOOL, "bool", "x >= y."),
    "logical_and": (BOOL, "bool", "x and y."),
    "logical_or": (BOOL, "bool", "x or y."),
    "logical_xor": (BOOL, "bool", "x xor y."),
    "bitwise_and": (INT | BOOL, None, "x & y."),
    "bitwise_or": (INT | BOOL, None, "x | y."),
    "bitwise_xor": (INT | BOOL, None, "x ^ y."),
    "bitwise_left_shift": (INT, None, "x << y (y in [0, bits))."),
    "bitwise_right_shift": (INT, None, "x >> y, arithmetic (y in [0, bits))."),
}


def _make_binary(name: str, allowed: frozenset[str], out_dtype: str | None) -> Infer:
    def infer(x: TensorInfo, y: TensorInfo) -> TensorInfo:
        check_dtype(name, allowed, x, y)
        check_same_dtype(name, x, y)
        return TensorInfo(broadcast_shapes(name, x, y), out_dtype or x.dtype)

    return infer


for _name, (_allowed, _out, _doc) in _BINARY.items():
    _register(_name, "binary", 2, _allowed, _doc, _make_binary(_name, _allowed, _out), _elementwise_cost())

# ---------------------------------------------------------------------------
# selection


def _infer_where(cond: TensorInfo, x: TensorInfo, y: TensorInfo) -> TensorInfo:
    check_dtype("where", BOOL, cond, inputs=[cond, x, y])
    check_dtype("where", REAL | BOOL, x, y, inputs=[cond, x, y])
    check_same_dtype("where", x, y, inputs=[cond, x, y])
    return TensorInfo(broadcast_shapes("where", cond, x, y), x.dtype)


def _infer_clip(x: TensorInfo, min: float | None = None, max: float | None = None) -> TensorInfo:
    check_dtype("clip", NUMERIC, x)
    for bound in (min, max):
        if bound is not None and x.dtype in INT and not (isinstance(bound, int) or float(bound).is_integer()):
            raise UnsupportedDType("clip", f"bound {bound!r} is not an integer but x is {x.dtype}", [x.shape], [x.dtype])
    if min is not None and max is not None and min > max:
        raise BadInput("clip", f"min {min} is greater than max {max}", [x.shape], [x.dtype])
    return TensorInfo(x.shape, x.dtype)


def _where_inputs(size: int, dtype: str) -> BenchInputs:
    return BenchInputs((TensorInfo((size,), "bool"), TensorInfo((size,), dtype), TensorInfo((size,), dtype)), ("cond", "x", "y"))


def _clip_inputs(size: int, dtype: str) -> BenchInputs:
    bound = 50 if dtype in INT else 0.5  # clips about half of the values drawn from the op's domain (ints: -100..99)
    return BenchInputs((TensorInfo((size,), dtype),), ("x",), (), {"min": -bound, "max": bound})


_register(
    "where",
    "selection",
    3,
    REAL | BOOL,
    "x where cond is true, else y (broadcast).",
    _infer_where,
    _elementwise_cost(),
    inputs=_where_inputs,
)
_register(
    "clip",
    "selection",
    1,
    NUMERIC,
    "Limit values to [min, max] (either may be None).",
    _infer_clip,
    _elementwise_cost(2),
    inputs=_clip_inputs,
)

# ---------------------------------------------------------------------------
# reductions


def _reduced_shape(op: str, x: TensorInfo, axis: int | None, keepdims: bool) -> tuple[int, ...]:
    if axis is None:
        return (1,) * x.ndim if keepdims else ()
    ax = normalize_axis(op, axis, x.ndim, x)
    if keepdims:
        return (*x.shape[:ax], 1, *x.shape[ax + 1 :])
    return x.shape[:ax] + x.shape[ax + 1 :]


def _reduced_length(x: TensorInfo, axis: int | None) -> int:
    return x.size if axis is None else x.shape[axis % x.ndim]


_REDUCTIONS: dict[str, tuple[frozenset[str], Callable[[str], str], bool, str]] = {
    # name: (dtypes, output dtype from input dtype, empty axis is an error, doc)
    "sum": (NUMERIC | BOOL, _reduce_dtype, False, "Sum (ints and bool accumulate in int64)."),
    "prod": (NUMERIC | BOOL, _reduce_dtype, False, "Product (ints and bool accumulate in int64)."),
    "max": (REAL, lambda d: d, True, "Maximum, NaN-propagating."),
    "min": (REAL, lambda d: d, True, "Minimum, NaN-propagating."),
    "argmax": (REAL, lambda d: "int64", True, "Index of the first maximum (first NaN if any)."),
    "argmin": (REAL, lambda d: "int64", True, "Index of the first minimum (first NaN if any)."),
    "mean": (FLOAT, lambda d: d, False, "Arithmetic mean (NaN over an empty axis)."),
    "all": (REAL | BOOL, lambda d: "bool", False, "True when every element is non-zero."),
    "any": (REAL | BOOL, lambda d: "bool", False, "True when some element is non-zero."),
}


def _make_reduction(name: str, allowed: frozenset[str], out_dtype: Callable[[str], str], empty_error: bool) -> Infer:
    def infer(x: TensorInfo, axis: int | None = None, keepdims: bool = False) -> TensorInfo:
        check_dtype(name, allowed, x)
        shape = _reduced_shape(name, x, axis, keepdims)
        if empty_error and _reduced_length(x, axis) == 0:
            raise BadInput(name, "cannot reduce over a zero-length axis (no identity)", [x.shape], [x.dtype])
        return TensorInfo(shape, out_dtype(x.dtype))

    return infer


for _name, (_allowed, _outf, _empty, _doc) in _REDUCTIONS.items():
    _register(
        _name,
        "reduction",
        1,
        _allowed,
        _doc,
        _make_reduction(_name, _allowed, _outf, _empty),
        _reduction_cost,
        domain=(0.0, 1.0) if _name in ("sum", "mean") else (-1.0, 1.0),  # sums of positive terms do not cancel
        accumulates=_name in ("sum", "prod", "mean"),
        returns_indices=_name in ("argmax", "argmin"),
    )


def _infer_cumulative_sum(x: TensorInfo, axis: int = -1) -> TensorInfo:
    check_dtype("cumulative_sum", NUMERIC | BOOL, x)
    normalize_axis("cumulative_sum", axis, x.ndim, x)
    return TensorInfo(x.shape, _reduce_dtype(x.dtype))


_register(
    "cumulative_sum",
    "reduction",
    1,
    NUMERIC | BOOL,
    "Running sum along an axis.",
    _infer_cumulative_sum,
    _elementwise_cost(),
    domain=(0.0, 1.0),
    accumulates=True,
)


def _make_window(name: str) -> Infer:
    def infer(x: TensorInfo, window: Sequence[int], strides: Sequence[int] = (1, 1)) -> TensorInfo:
        check_dtype(name, REAL, x)
        win = _int_tuple(name, window, "window", [x])
        st = _int_tuple(name, strides, "strides", [x])
        if x.ndim < 2:
            raise ShapeMismatch(name, "input must have at least 2 dimensions (pools the last two)", [x.shape], [x.dtype])
        if len(win) != 2 or len(st) != 2 or min(win) < 1 or min(st) < 1:
            raise BadInput(name, f"window {win} and strides {st} must be two positive ints each", [x.shape], [x.dtype])
        h, w = x.shape[-2:]
        if win[0] > h or win[1] > w:
            raise ShapeMismatch(name, f"window {win} is larger than the input's last two dims {(h, w)}", [x.shape], [x.dtype])
        out = ((h - win[0]) // st[0] + 1, (w - win[1]) // st[1] + 1)
        return TensorInfo(x.shape[:-2] + out, x.dtype)

    return infer


def _window_cost(ins: list[TensorInfo], outs: list[TensorInfo], window: Sequence[int] = (1, 1), **_: Any) -> Cost:
    return Cost(outs[0].size * math.prod(window), ins[0].nbytes, outs[0].nbytes)


def _window_inputs(size: int, dtype: str) -> BenchInputs:
    n = max(math.isqrt(size), 3)  # an n x n image, 3 x 3 windows, stride 1
    return BenchInputs((TensorInfo((n, n), dtype),), ("x",), ((3, 3), (1, 1)))


_register(
    "window_sum",
    "window",
    1,
    REAL,
    "Sum over sliding 2-D windows of the last two axes (valid padding).",
    _make_window("window_sum"),
    _window_cost,
    inputs=_window_inputs,
    accumulates=True,
)
_register(
    "window_max",
    "window",
    1,
    REAL,
    "Max over sliding 2-D windows of the last two axes (valid padding).",
    _make_window("window_max"),
    _window_cost,
    inputs=_window_inputs,
)

# ---------------------------------------------------------------------------
# shape and indexing


def _infer_reshape(x: TensorInfo, shape: Sequence[int]) -> TensorInfo:
    target = list(_int_tuple("reshape", shape, "shape", [x]))
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in target):
        raise BadInput("reshape", f"invalid target shape {tuple(target)}", [x.shape], [x.dtype])
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if known == 0 or x.size % known:
            raise ShapeMismatch("reshape", f"cannot reshape {x.size} elements into {tuple(target)}", [x.shape], [x.dtype])
        target[unknown[0]] = x.size // known
    if math.prod(target) != x.size:
        raise ShapeMismatch("reshape", f"cannot reshape {x.size} elements into {tuple(target)}", [x.shape], [x.dtype])
    return TensorInfo(tuple(target), x.dtype)


def _infer_permute_dims(x: TensorInfo, axes: Sequence[int]) -> TensorInfo:
    ax = _int_tuple("permute_dims", axes, "axes", [x])
    norm = [normalize_axis("permute_dims", a, x.ndim, x) for a in ax] if x.ndim else list(ax)
    if sorted(norm) != list(range(x.ndim)):
        raise AxisOutOfRange("permute_dims", f"axes {ax} are not a permutation of {x.ndim} axes", [x.shape], [x.dtype])
    return TensorInfo(tuple(x.shape[a] for a in norm), x.dtype)


def _infer_broadcast_to(x: TensorInfo, shape: Sequence[int]) -> TensorInfo:
    target = _int_tuple("broadcast_to", shape, "shape", [x])
    if any(d < 0 for d in target):
        raise BadInput("broadcast_to", f"negative dimension in {target}", [x.shape], [x.dtype])
    out = broadcast_shapes("broadcast_to", x, TensorInfo(target, x.dtype))
    if out != target:
        raise ShapeMismatch("broadcast_to", f"cannot broadcast to {target}", [x.shape], [x.dtype])
    return TensorInfo(target, x.dtype)


def _infer_expand_dims(x: TensorInfo, axis: int = 0) -> TensorInfo:
    ax = normalize_axis("expand_dims", axis, x.ndim + 1, x)
    return TensorInfo((*x.shape[:ax], 1, *x.shape[ax:]), x.dtype)


def _infer_squeeze(x: TensorInfo, axis: int) -> TensorInfo:
    ax = normalize_axis("squeeze", axis, x.ndim, x)
    if x.shape[ax] != 1:
        raise ShapeMismatch("squeeze", f"axis {axis} has length {x.shape[ax]}, not 1", [x.shape], [x.dtype])
    return TensorInfo(x.shape[:ax] + x.shape[ax + 1 :], x.dtype)


def _infer_slice(x: TensorInfo, starts: Sequence[int], lengths: Sequence[int], strides: Sequence[int] | None = None) -> TensorInfo:
    st = _int_tuple("slice", starts, "starts", [x])
    ln = _int_tuple("slice", lengths, "lengths", [x])
    sd = (1,) * x.ndim if strides is None else _int_tuple("slice", strides, "strides", [x])
    if not len(st) == len(ln) == len(sd) == x.ndim:
        raise ShapeMismatch("slice", f"starts, lengths and strides need {x.ndim} entries each", [x.shape], [x.dtype])
    if any(s < 1 for s in sd):
        raise BadInput("slice", f"strides must be positive, got {sd}", [x.shape], [x.dtype])
    for s, n, d in zip(st, ln, x.shape, strict=True):
        if s < 0 or n < 0 or s + n > d:
            raise IndexOutOfRange("slice", f"start {s} with length {n} does not fit a dimension of {d}", [x.shape], [x.dtype])
    return TensorInfo(tuple((n + s - 1) // s for n, s in zip(ln, sd, strict=True)), x.dtype)


def _infer_put_slice(x: TensorInfo, update: TensorInfo, starts: Sequence[int]) -> TensorInfo:
    st = _int_tuple("put_slice", starts, "starts", [x, update])
    check_same_dtype("put_slice", x, update)
    if len(st) != x.ndim or update.ndim != x.ndim:
        raise ShapeMismatch(
            "put_slice", "starts and update must have one entry per dimension of x", [x.shape, update.shape], [x.dtype, update.dtype]
        )
    for s, u, d in zip(st, update.shape, x.shape, strict=True):
        if s < 0 or s + u > d:
            raise IndexOutOfRange(
                "put_slice",
                f"update of length {u} at {s} does not fit a dimension of {d}",
                [x.shape, update.shape],
                [x.dtype, update.dtype],
            )
    return TensorInfo(x.shape, x.dtype)


def _infer_concat(xs: list[TensorInfo], axis: int = 0) -> TensorInfo:
    if not xs:
        raise BadInput("concat", "needs at least one tensor")
    first = xs[0]
    check_same_dtype("concat", *xs)
    if first.ndim == 0:
        raise AxisOutOfRange("concat", "0-d tensors cannot be concatenated", _shapes(xs), _dtypes_of(xs))
    ax = normalize_axis("concat", axis, first.ndim, *xs)
    for x in xs:
        if x.ndim != first.ndim or x.shape[:ax] + x.shape[ax + 1 :] != first.shape[:ax] + first.shape[ax + 1 :]:
            raise ShapeMismatch("concat", f"shapes differ off axis {axis}", _shapes(xs), _dtypes_of(xs))
    total = sum(x.shape[ax] for x in xs)
    return TensorInfo((*first.shape[:ax], total, *first.shape[ax + 1 :]), first.dtype)


def _infer_stack(xs: list[TensorInfo], axis: int = 0) -> TensorInfo:
    if not xs:
        raise BadInput("stack", "needs at least one tensor")
    first = xs[0]
    check_same_dtype("stack", *xs)
    if any(x.shape != first.shape for x in xs):
        raise ShapeMismatch("stack", "all tensors must have the same shape", _shapes(xs), _dtypes_of(xs))
    ax = normalize_axis("stack", axis, first.ndim + 1, *xs)
    return TensorInfo((*first.shape[:ax], len(xs), *first.shape[ax:]), first.dtype)


def _infer_pad(x: TensorInfo, pad_width: Sequence[Sequence[int]], value: float = 0) -> TensorInfo:
    try:
        pairs = [tuple(p) for p in pad_width]
    except TypeError:
        raise BadInput("pad", "pad_width must be a sequence of (before, after) pairs", [x.shape], [x.dtype]) from None
    if len(pairs) != x.ndim or any(len(p) != 2 for p in pairs):
        raise ShapeMismatch("pad", f"pad_width needs one (before, after) pair per dimension ({x.ndim})", [x.shape], [x.dtype])
    flat = _int_tuple("pad", [v for p in pairs for v in p], "pad_width", [x])
    if min(flat, default=0) < 0:
        raise BadInput("pad", "pad widths must be non-negative", [x.shape], [x.dtype])
    return TensorInfo(tuple(d + b + a for d, (b, a) in zip(x.shape, pairs, strict=True)), x.dtype)


def _infer_flip(x: TensorInfo, axis: int | None = None) -> TensorInfo:
    if axis is not None:
        normalize_axis("flip", axis, x.ndim, x)
    return TensorInfo(x.shape, x.dtype)


_INDEX_DTYPES = frozenset({"int32", "int64"})


def _infer_take(x: TensorInfo, indices: TensorInfo, axis: int = 0) -> TensorInfo:
    check_dtype("take", _INDEX_DTYPES, indices, inputs=[x, indices])
    if indices.ndim != 1:
        raise ShapeMismatch("take", "indices must be 1-D", [x.shape, indices.shape], [x.dtype, indices.dtype])
    ax = normalize_axis("take", axis, x.ndim, x, indices)
    if x.shape[ax] == 0 and indices.size:
        raise IndexOutOfRange("take", "cannot take from a zero-length axis", [x.shape, indices.shape], [x.dtype, indices.dtype])
    return TensorInfo(x.shape[:ax] + indices.shape + x.shape[ax + 1 :], x.dtype)


def _infer_scatter_add(x: TensorInfo, indices: TensorInfo, updates: TensorInfo, axis: int = 0) -> TensorInfo:
    infos = [x, indices, updates]
    check_dtype("scatter_add", NUMERIC, x, updates, inputs=infos)
    check_same_dtype("scatter_add", x, updates, inputs=infos)
    check_dtype("scatter_add", _INDEX_DTYPES, indices, inputs=infos)
    if indices.ndim != 1:
        raise ShapeMismatch("scatter_add", "indices must be 1-D", _shapes(infos), _dtypes_of(infos))
    ax = normalize_axis("scatter_add", axis, x.ndim, *infos)
    expected = x.shape[:ax] + indices.shape + x.shape[ax + 1 :]
    if updates.shape != expected:
        raise ShapeMismatch("scatter_add", f"updates must have shape {expected}", _shapes(infos), _dtypes_of(infos))
    return TensorInfo(x.shape, x.dtype)


def _infer_astype(x: TensorInfo, dtype: str) -> TensorInfo:
    if dtype not in ALL_DTYPES:
        raise UnsupportedDType("astype", f"unknown dtype {dtype!r}", [x.shape], [x.dtype])
    if (x.dtype in COMPLEX) != (dtype in COMPLEX):
        raise UnsupportedDType("astype", f"cannot cast {x.dtype} to {dtype} (complex only to complex)", [x.shape], [x.dtype])
    return TensorInfo(x.shape, dtype)


def _take_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    return Cost(0, outs[0].nbytes + ins[1].nbytes, outs[0].nbytes)


def _scatter_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    return Cost(ins[2].size, sum(i.nbytes for i in ins), outs[0].nbytes)


def _astype_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    return Cost(0, ins[0].nbytes, outs[0].nbytes)


def _reshape_inputs(size: int, dtype: str) -> BenchInputs:
    rows, cols = rows_cols(size)
    return BenchInputs((TensorInfo((rows, cols), dtype),), ("x",), ((cols, rows),))


def _broadcast_inputs(size: int, dtype: str) -> BenchInputs:
    rows, cols = rows_cols(size)
    return BenchInputs((TensorInfo((1, cols), dtype),), ("x",), ((rows, cols),))


def _squeeze_inputs(size: int, dtype: str) -> BenchInputs:
    return BenchInputs((TensorInfo((1, size), dtype),), ("x",), (0,))


def _slice_inputs(size: int, dtype: str) -> BenchInputs:
    rows, cols = rows_cols(size)  # every row, every second column
    return BenchInputs((TensorInfo((rows, cols), dtype),), ("x",), ((0, 0), (rows, cols), (1, 2)))


def _put_slice_inputs(size: int, dtype: str) -> BenchInputs:
    rows, cols = rows_cols(size)
    update = TensorInfo((max(rows // 2, 1), max(cols // 2, 1)), dtype)
    return BenchInputs((TensorInfo((rows, cols), dtype), update), ("x", "update"), ((0, cols // 4),))


def _join_inputs(size: int, dtype: str) -> BenchInputs:
    half = TensorInfo((max(size // 2, 1),), dtype)
    return BenchInputs(((half, half),), ("xs",), (0,))


def _gather_inputs(size: int, dtype: str, *, updates: bool) -> BenchInputs:
    rows, cols = rows_cols(size)  # cols indices into the columns (axis 1)
    x, indices = TensorInfo((rows, cols), dtype), TensorInfo((cols,), "int64")
    if updates:
        return BenchInputs((x, indices, TensorInfo((rows, cols), dtype)), ("x", "indices", "updates"), (1,))
    return BenchInputs((x, indices), ("x", "indices"), (1,))


def _astype_inputs(size: int, dtype: str) -> BenchInputs:
    target = {"float32": "float64", "float64": "float32"}.get(dtype, "float32")
    return BenchInputs((TensorInfo((size,), dtype),), ("x",), (target,))


_register(
    "reshape", "shape", 1, ALL_DTYPES, "Same data, new shape (one -1 is inferred).", _infer_reshape, _copy_cost, inputs=_reshape_inputs
)
_register("permute_dims", "shape", 1, ALL_DTYPES, "Reorder axes (transpose).", _infer_permute_dims, _copy_cost, inputs=_rows((1, 0)))
_register("broadcast_to", "shape", 1, ALL_DTYPES, "Broadcast to a shape.", _infer_broadcast_to, _copy_cost, inputs=_broadcast_inputs)
_register("expand_dims", "shape", 1, ALL_DTYPES, "Insert a length-1 axis.", _infer_expand_dims, _copy_cost, inputs=_rows(0))
_register("squeeze", "shape", 1, ALL_DTYPES, "Remove a length-1 axis.", _infer_squeeze, _copy_cost, inputs=_squeeze_inputs)
_register(
    "slice",
    "shape",
    1,
    ALL_DTYPES,
    "Strided window: starts, lengths, strides per axis (like Nx.slice).",
    _infer_slice,
    _copy_cost,
    inputs=_slice_inputs,
)
_register(
    "put_slice",
    "shape",
    2,
    ALL_DTYPES,
    "Copy of x with update written at starts: put_slice(x, update, starts).",
    _infer_put_slice,
    _copy_cost,
    inputs=_put_slice_inputs,
)
_register("concat", "shape", -1, ALL_DTYPES, "Join tensors along an existing axis.", _infer_concat, _copy_cost, inputs=_join_inputs)
_register("stack", "shape", -1, ALL_DTYPES, "Join same-shape tensors along a new axis.", _infer_stack, _copy_cost, inputs=_join_inputs)
_register(
    "pad",
    "shape",
    1,
    ALL_DTYPES - COMPLEX,
    "Constant padding: one (before, after) pair per axis.",
    _infer_pad,
    _copy_cost,
    inputs=_rows(((1, 1), (1, 1))),
)
_register("flip", "shape", 1, ALL_DTYPES, "Reverse the order along one axis or all.", _infer_flip, _copy_cost, inputs=_rows(-1))
_register(
    "take",
    "shape",
    2,
    ALL_DTYPES,
    "Gather entries at 1-D indices along an axis (indices in [-n, n)).",
    _infer_take,
    _take_cost,
    inputs=functools.partial(_gather_inputs, updates=False),
    moves_only=True,
)
_register(
    "scatter_add",
    "shape",
    3,
    NUMERIC,
    "Copy of x with updates added at indices along an axis (duplicates accumulate).",
    _infer_scatter_add,
    _scatter_cost,
    inputs=functools.partial(_gather_inputs, updates=True),
    accumulates=True,
)
_register(
    "astype",
    "shape",
    1,
    ALL_DTYPES,
    "Convert to another dtype (C casting; float to int truncates).",
    _infer_astype,
    _astype_cost,
    inputs=_astype_inputs,
    layout="element",
)

# ---------------------------------------------------------------------------
# linear algebra


def _infer_matmul(a: TensorInfo, b: TensorInfo) -> TensorInfo:
    check_dtype("matmul", FLOAT, a, b)
    check_same_dtype("matmul", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeMismatch("matmul", "inputs must be at least 1-D", [a.shape, b.shape], [a.dtype, b.dtype])
    a2 = a.shape if a.ndim > 1 else (1, *a.shape)
    b2 = b.shape if b.ndim > 1 else (*b.shape, 1)
    if a2[-1] != b2[-2]:
        raise ShapeMismatch("matmul", f"inner dimensions differ ({a2[-1]} vs {b2[-2]})", [a.shape, b.shape], [a.dtype, b.dtype])
    try:
        batch = broadcast_shapes("matmul", TensorInfo(a2[:-2], a.dtype), TensorInfo(b2[:-2], b.dtype))
    except ShapeMismatch:
        raise ShapeMismatch("matmul", "batch dimensions do not broadcast", [a.shape, b.shape], [a.dtype, b.dtype]) from None
    core: tuple[int, ...] = ()
    if a.ndim > 1:
        core += (a2[-2],)
    if b.ndim > 1:
        core += (b2[-1],)
    return TensorInfo(batch + core, a.dtype)


def _matmul_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    k = ins[0].shape[-1]
    return Cost(2 * outs[0].size * k, ins[0].nbytes + ins[1].nbytes, outs[0].nbytes)


def _pairs(op: str, value: Any, what: str, infos: Sequence[TensorInfo]) -> tuple[tuple[int, int], ...]:
    try:
        pairs = tuple(tuple(p) for p in value)
    except TypeError:
        raise BadInput(op, f"{what} must be two (low, high) pairs", _shapes(infos), _dtypes_of(infos)) from None
    if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
        raise BadInput(op, f"{what} must be two (low, high) pairs", _shapes(infos), _dtypes_of(infos))
    flat = _int_tuple(op, [v for p in pairs for v in p], what, infos)
    if min(flat) < 0:
        raise BadInput(op, f"{what} must be non-negative", _shapes(infos), _dtypes_of(infos))
    return ((flat[0], flat[1]), (flat[2], flat[3]))


def _infer_conv(
    x: TensorInfo, w: TensorInfo, strides: Sequence[int] = (1, 1), padding: Sequence[Sequence[int]] = ((0, 0), (0, 0))
) -> TensorInfo:
    infos = [x, w]
    check_dtype("conv", FLOAT, x, w)
    check_same_dtype("conv", x, w)
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeMismatch("conv", "input must be (N, C, H, W) and kernel (O, C, kh, kw)", _shapes(infos), _dtypes_of(infos))
    if x.shape[1] != w.shape[1]:
        raise ShapeMismatch("conv", f"input has {x.shape[1]} channels, kernel expects {w.shape[1]}", _shapes(infos), _dtypes_of(infos))
    st = _int_tuple("conv", strides, "strides", infos)
    if len(st) != 2 or min(st) < 1:
        raise BadInput("conv", f"strides must be two positive ints, got {st}", _shapes(infos), _dtypes_of(infos))
    pad = _pairs("conv", padding, "padding", infos)
    out = []
    for d, k, s, (lo, hi) in zip(x.shape[2:], w.shape[2:], st, pad, strict=True):
        span = d + lo + hi - k
        if span < 0:
            raise ShapeMismatch("conv", "kernel is larger than the padded input", _shapes(infos), _dtypes_of(infos))
        out.append(span // s + 1)
    return TensorInfo((x.shape[0], w.shape[0], *out), x.dtype)


def _conv_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    _out_channels, c, kh, kw = ins[1].shape
    return Cost(2 * outs[0].size * c * kh * kw, ins[0].nbytes + ins[1].nbytes, outs[0].nbytes)


def _check_square(op: str, a: TensorInfo, *others: TensorInfo) -> int:
    infos = [a, *others]
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise NotSquareOrNotDefinite(op, "matrix must be square (..., n, n)", _shapes(infos), _dtypes_of(infos))
    return a.shape[-1]


def _infer_cholesky(a: TensorInfo) -> TensorInfo:
    check_dtype("cholesky", FLOAT, a)
    _check_square("cholesky", a)
    return TensorInfo(a.shape, a.dtype)


def _cholesky_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    n = ins[0].shape[-1]
    batch = math.prod(ins[0].shape[:-2])
    return Cost(batch * n**3 // 3, ins[0].nbytes, outs[0].nbytes)


def _infer_triangular_solve(a: TensorInfo, b: TensorInfo, lower: bool = True) -> TensorInfo:
    infos = [a, b]
    check_dtype("triangular_solve", FLOAT, a, b)
    check_same_dtype("triangular_solve", a, b)
    n = _check_square("triangular_solve", a, b)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != n:
        raise ShapeMismatch("triangular_solve", f"b must be (..., {n}, k) with the batch shape of a", _shapes(infos), _dtypes_of(infos))
    return TensorInfo(b.shape, b.dtype)


def _trsolve_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    n = ins[0].shape[-1]
    return Cost(outs[0].size * n, ins[0].nbytes // 2 + ins[1].nbytes, outs[0].nbytes)


def _conv_inputs(n: int, dtype: str) -> BenchInputs:
    side = max(n // 4, 8)  # 16 -> 16 channels, 3 x 3 kernels, on an (n/4)^2 image
    return BenchInputs((TensorInfo((1, 16, side, side), dtype), TensorInfo((16, 16, 3, 3), dtype)), ("x", "w"))


def _trsolve_inputs(n: int, dtype: str) -> BenchInputs:
    return BenchInputs((TensorInfo((n, n), dtype), TensorInfo((n, n), dtype)), ("a", "b"), (True,))


_register(
    "matmul",
    "linalg",
    2,
    FLOAT,
    "Matrix product with batch broadcasting (1-D inputs as in NumPy).",
    _infer_matmul,
    _matmul_cost,
    kind="matrix",
    accumulates=True,
)
_register(
    "conv",
    "linalg",
    2,
    FLOAT,
    "2-D cross-correlation: (N,C,H,W) x (O,C,kh,kw) with strides and padding, like Nx.conv.",
    _infer_conv,
    _conv_cost,
    kind="matrix",
    inputs=_conv_inputs,
    accumulates=True,
)
_register(
    "cholesky",
    "linalg",
    1,
    FLOAT,
    "Lower Cholesky factor of a symmetric positive-definite matrix (batched).",
    _infer_cholesky,
    _cholesky_cost,
    kind="matrix",
    accumulates=True,
)
_register(
    "triangular_solve",
    "linalg",
    2,
    FLOAT,
    "Solve a @ x = b for triangular a (lower or upper), batched.",
    _infer_triangular_solve,
    _trsolve_cost,
    kind="matrix",
    inputs=_trsolve_inputs,
    accumulates=True,
)

# ---------------------------------------------------------------------------
# ordering


def _infer_sort(x: TensorInfo, axis: int = -1, descending: bool = False) -> TensorInfo:
    check_dtype("sort", REAL, x)
    normalize_axis("sort", axis, x.ndim, x)
    return TensorInfo(x.shape, x.dtype)


def _infer_argsort(x: TensorInfo, axis: int = -1, descending: bool = False) -> TensorInfo:
    check_dtype("argsort", REAL, x)
    normalize_axis("argsort", axis, x.ndim, x)
    return TensorInfo(x.shape, "int64")


def _infer_top_k(x: TensorInfo, k: int) -> tuple[TensorInfo, TensorInfo]:
    check_dtype("top_k", REAL, x)
    if x.ndim == 0:
        raise AxisOutOfRange("top_k", "input must be at least 1-D", [x.shape], [x.dtype])
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= x.shape[-1]:
        raise IndexOutOfRange("top_k", f"k={k!r} must be an int in [0, {x.shape[-1]}]", [x.shape], [x.dtype])
    shape = (*x.shape[:-1], k)
    return TensorInfo(shape, x.dtype), TensorInfo(shape, "int64")


def _sort_cost(ins: list[TensorInfo], outs: list[TensorInfo], axis: int = -1, **_: Any) -> Cost:
    x = ins[0]
    n = x.shape[axis] if x.ndim else 1
    return Cost(int(x.size * math.log2(max(n, 2))), x.nbytes, sum(o.nbytes for o in outs))


def _top_k_cost(ins: list[TensorInfo], outs: list[TensorInfo], _extra: Sequence[Any] = (), k: int | None = None, **_: Any) -> Cost:
    kk = k if k is not None else (_extra[0] if _extra else 1)
    return Cost(int(ins[0].size * math.log2(max(kk, 2))), ins[0].nbytes, sum(o.nbytes for o in outs))


def _top_k_inputs(size: int, dtype: str) -> BenchInputs:
    return BenchInputs((TensorInfo((size,), dtype),), ("x",), (min(10, size),))


_register("sort", "ordering", 1, REAL, "Stable sort along an axis (NaN sorts as the largest).", _infer_sort, _sort_cost)
_register(
    "argsort",
    "ordering",
    1,
    REAL,
    "Indices of a stable sort along an axis (ties keep input order).",
    _infer_argsort,
    _sort_cost,
    returns_indices=True,
)
_register(
    "top_k",
    "ordering",
    1,
    REAL,
    "The k largest along the last axis, descending: (values, indices).",
    _infer_top_k,
    _top_k_cost,
    inputs=_top_k_inputs,
    returns_indices=True,
)

# ---------------------------------------------------------------------------
# fft


def _make_fft(name: str) -> Infer:
    def infer(x: TensorInfo, axis: int = -1) -> TensorInfo:
        check_dtype(name, COMPLEX, x)
        ax = normalize_axis(name, axis, x.ndim, x)
        if x.shape[ax] == 0:
            raise BadInput(name, "transform length must be at least 1", [x.shape], [x.dtype])
        return TensorInfo(x.shape, x.dtype)

    return infer


def _fft_cost(ins: list[TensorInfo], outs: list[TensorInfo], axis: int = -1, **_: Any) -> Cost:
    x = ins[0]
    n = x.shape[axis]
    return Cost(int(5 * x.size * math.log2(max(n, 2))), x.nbytes, outs[0].nbytes)


_register("fft", "fft", 1, COMPLEX, "Discrete Fourier transform along an axis.", _make_fft("fft"), _fft_cost, kind="fft", accumulates=True)
_register(
    "ifft",
    "fft",
    1,
    COMPLEX,
    "Inverse discrete Fourier transform along an axis (1/n scaling).",
    _make_fft("ifft"),
    _fft_cost,
    kind="fft",
    accumulates=True,
)

# ---------------------------------------------------------------------------
# fused workloads (whole functions, the analogue of an Nx defn)


def _infer_softmax(x: TensorInfo, axis: int = -1) -> TensorInfo:
    check_dtype("softmax", FLOAT, x)
    normalize_axis("softmax", axis, x.ndim, x)
    return TensorInfo(x.shape, x.dtype)


def _infer_logsumexp(x: TensorInfo, axis: int = -1) -> TensorInfo:
    check_dtype("logsumexp", FLOAT, x)
    ax = normalize_axis("logsumexp", axis, x.ndim, x)
    return TensorInfo(x.shape[:ax] + x.shape[ax + 1 :], x.dtype)


def _infer_gelu(x: TensorInfo) -> TensorInfo:
    check_dtype("gelu", FLOAT, x)
    return TensorInfo(x.shape, x.dtype)


def _infer_layer_norm(x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, eps: float = 1e-5) -> TensorInfo:
    infos = [x, gamma, beta]
    check_dtype("layer_norm", FLOAT, *infos)
    check_same_dtype("layer_norm", *infos)
    if x.ndim == 0 or gamma.shape != (x.shape[-1],) or beta.shape != (x.shape[-1],):
        raise ShapeMismatch("layer_norm", "gamma and beta must have shape (x.shape[-1],)", _shapes(infos), _dtypes_of(infos))
    return TensorInfo(x.shape, x.dtype)


def _check_dense(op: str, x: TensorInfo, w: TensorInfo, b: TensorInfo, infos: Sequence[TensorInfo]) -> TensorInfo:
    if x.ndim < 1 or w.ndim != 2 or x.shape[-1] != w.shape[0] or b.shape != (w.shape[1],):
        raise ShapeMismatch(op, "need x (..., k), w (k, n) and b (n,)", _shapes(infos), _dtypes_of(infos))
    return TensorInfo((*x.shape[:-1], w.shape[1]), x.dtype)


def _infer_dense(x: TensorInfo, w: TensorInfo, b: TensorInfo) -> TensorInfo:
    infos = [x, w, b]
    check_dtype("dense", FLOAT, *infos)
    check_same_dtype("dense", *infos)
    return _check_dense("dense", x, w, b, infos)


def _infer_mlp_forward(x: TensorInfo, w1: TensorInfo, b1: TensorInfo, w2: TensorInfo, b2: TensorInfo) -> TensorInfo:
    infos = [x, w1, b1, w2, b2]
    check_dtype("mlp_forward", FLOAT, *infos)
    check_same_dtype("mlp_forward", *infos)
    hidden = _check_dense("mlp_forward", x, w1, b1, infos)
    return _check_dense("mlp_forward", hidden, w2, b2, infos)


def _dense_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    x, w = ins[0], ins[1]
    rows = x.size // x.shape[-1] if x.shape[-1] else 0
    return Cost(2 * rows * w.shape[0] * w.shape[1] + 2 * outs[0].size, sum(i.nbytes for i in ins), outs[0].nbytes)


def _mlp_cost(ins: list[TensorInfo], outs: list[TensorInfo], **_: Any) -> Cost:
    x, w1, _b1, w2, _b2 = ins
    rows = x.size // x.shape[-1] if x.shape[-1] else 0
    flops = 2 * rows * w1.shape[0] * w1.shape[1] + 2 * rows * w1.shape[1] + 2 * rows * w2.shape[0] * w2.shape[1] + rows * w2.shape[1]
    return Cost(flops, sum(i.nbytes for i in ins), outs[0].nbytes)


def _layer_norm_inputs(size: int, dtype: str) -> BenchInputs:
    rows, cols = rows_cols(size)
    return BenchInputs((TensorInfo((rows, cols), dtype), TensorInfo((cols,), dtype), TensorInfo((cols,), dtype)), ("x", "gamma", "beta"))


def _layers_inputs(layers: int) -> InputRule:
    """``n x n`` inputs, then a weight ``n x n`` and a bias ``n`` per layer."""

    def rule(n: int, dtype: str) -> BenchInputs:
        square, vector = TensorInfo((n, n), dtype), TensorInfo((n,), dtype)
        names = ("w", "b") if layers == 1 else tuple(f"{p}{i}" for i in range(1, layers + 1) for p in "wb")
        return BenchInputs((square, *(square, vector) * layers), ("x", *names))

    return rule


_WORKLOAD_DOMAIN = (-5.0, 5.0)  # normalisations see logits of either sign, well away from overflow

_register(
    "softmax",
    "fused",
    1,
    FLOAT,
    "exp(x - max) / sum(exp(x - max)) along an axis.",
    _infer_softmax,
    _elementwise_cost(5),
    inputs=_rows(),
    layout="row",
    domain=_WORKLOAD_DOMAIN,
    accumulates=True,
)
_register(
    "logsumexp",
    "fused",
    1,
    FLOAT,
    "log(sum(exp(x))) along an axis, computed stably (-inf over an empty axis).",
    _infer_logsumexp,
    _reduction_cost,
    inputs=_rows(),
    layout="row",
    domain=_WORKLOAD_DOMAIN,
    accumulates=True,
)
# gelu as x/2 * (1 + erf(x/sqrt 2)) loses digits where erf nears -1 (PyTorch and JAX compute it so)
_register(
    "gelu",
    "fused",
    1,
    FLOAT,
    "Exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))).",
    _infer_gelu,
    _elementwise_cost(8),
    layout="element",
    domain=_WORKLOAD_DOMAIN,
    cancels=True,
)
_register(
    "layer_norm",
    "fused",
    3,
    FLOAT,
    "(x - mean) / sqrt(var + eps) * gamma + beta over the last axis.",
    _infer_layer_norm,
    _elementwise_cost(8),
    inputs=_layer_norm_inputs,
    layout="row",
    domain=_WORKLOAD_DOMAIN,
    accumulates=True,
)
_register(
    "dense", "fused", 3, FLOAT, "relu(x @ w + b).", _infer_dense, _dense_cost, kind="matrix", inputs=_layers_inputs(1), accumulates=True
)
_register(
    "mlp_forward",
    "fused",
    5,
    FLOAT,
    "relu(x @ w1 + b1) @ w2 + b2: two dense layers.",
    _infer_mlp_forward,
    _mlp_cost,
    kind="matrix",
    inputs=_layers_inputs(2),
    accumulates=True,
)
