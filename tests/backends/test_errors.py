"""Bad input raises the same error class on every backend, naming the op, shapes and dtypes.

Each case is run on every selected backend; the error must be exactly the listed class
(not merely a subclass of it), subclass the documented builtins, and carry the op name,
the input shapes and the dtypes. The catalog's own ``infer`` must agree wherever the
problem is visible from shapes and dtypes alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import backends
from backends import (
    OPS,
    AxisOutOfRange,
    BackendError,
    BadInput,
    IndexOutOfRange,
    NotSquareOrNotDefinite,
    ShapeMismatch,
    TensorInfo,
    UnsupportedDType,
    UnsupportedOperation,
)

# the builtins each error class is documented to subclass
BUILTINS: dict[type[BackendError], tuple[type[Exception], ...]] = {
    BadInput: (ValueError,),
    ShapeMismatch: (ValueError,),
    AxisOutOfRange: (ValueError, IndexError),
    IndexOutOfRange: (ValueError, IndexError),
    UnsupportedDType: (ValueError, TypeError),
    NotSquareOrNotDefinite: (ValueError,),
}


@dataclass(frozen=True, eq=False)
class ErrorCase:
    op: str
    name: str
    error: type[BadInput]
    tensors: tuple[np.ndarray, ...] = ()
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    shape_only: bool = True  # the catalog can see the problem without the data

    @property
    def id(self) -> str:
        return f"{self.op}-{self.name}"


def f32(*shape: int) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


def f64(*shape: int) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


def i32(*shape: int) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)


def idx(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


CASES = [
    # shapes that do not broadcast or agree
    ErrorCase("add", "no_broadcast", ShapeMismatch, (f32(2, 3), f32(4))),
    ErrorCase("less", "no_broadcast_3d", ShapeMismatch, (f32(2, 3, 4), f32(3, 3))),
    ErrorCase("where", "no_broadcast", ShapeMismatch, (np.ones((2, 3), bool), f32(2, 3), f32(2))),
    ErrorCase("matmul", "inner_dims", ShapeMismatch, (f32(2, 3), f32(4, 5))),
    ErrorCase("matmul", "batch_dims", ShapeMismatch, (f32(2, 3, 4), f32(3, 4, 5))),
    ErrorCase("matmul", "0d", ShapeMismatch, (f32(), f32(3))),
    ErrorCase("concat", "off_axis", ShapeMismatch, (f32(2, 3), f32(2, 4)), (0,)),
    ErrorCase("stack", "shapes_differ", ShapeMismatch, (f32(2, 3), f32(3, 2))),
    ErrorCase("reshape", "wrong_size", ShapeMismatch, (f32(2, 3),), ((4,),)),
    ErrorCase("broadcast_to", "incompatible", ShapeMismatch, (f32(3),), ((2, 4),)),
    ErrorCase("squeeze", "not_length_one", ShapeMismatch, (f32(2, 3),), (0,)),
    ErrorCase("conv", "channels", ShapeMismatch, (f32(1, 3, 5, 5), f32(2, 2, 3, 3))),
    ErrorCase("conv", "kernel_too_big", ShapeMismatch, (f32(1, 1, 2, 2), f32(1, 1, 3, 3))),
    ErrorCase("window_sum", "window_too_big", ShapeMismatch, (f32(3, 3),), ((4, 1),)),
    ErrorCase("layer_norm", "gamma_shape", ShapeMismatch, (f32(2, 4), f32(3), f32(4))),
    ErrorCase("dense", "inner_dims", ShapeMismatch, (f32(2, 4), f32(3, 5), f32(5))),
    ErrorCase("scatter_add", "updates_shape", ShapeMismatch, (f32(4, 3), idx(0, 1), f32(3, 3))),
    ErrorCase("triangular_solve", "rows", ShapeMismatch, (f32(3, 3), f32(4, 2))),
    ErrorCase("slice", "wrong_rank", ShapeMismatch, (f32(4, 4),), ((0,), (2,))),
    # axes out of range
    ErrorCase("sum", "axis_too_big", AxisOutOfRange, (f32(2, 3),), (2,)),
    ErrorCase("max", "axis_too_negative", AxisOutOfRange, (f32(2, 3),), (-3,)),
    ErrorCase("argmax", "axis_on_0d", AxisOutOfRange, (f32(),), (0,)),
    ErrorCase("cumulative_sum", "axis", AxisOutOfRange, (f32(4),), (1,)),
    ErrorCase("sort", "axis", AxisOutOfRange, (f32(4),), (1,)),
    ErrorCase("softmax", "axis", AxisOutOfRange, (f32(2, 3),), (5,)),
    ErrorCase("take", "axis", AxisOutOfRange, (f32(2, 3), idx(0)), (-3,)),
    ErrorCase("expand_dims", "axis", AxisOutOfRange, (f32(2, 3),), (4,)),
    ErrorCase("flip", "axis", AxisOutOfRange, (f32(2, 3),), (2,)),
    ErrorCase("permute_dims", "not_a_permutation", AxisOutOfRange, (f32(2, 3),), ((0, 0),)),
    ErrorCase("concat", "axis", AxisOutOfRange, (f32(2, 3), f32(2, 3)), (2,)),
    # unsupported dtypes, and dtypes that differ (no implicit promotion)
    ErrorCase("sqrt", "int", UnsupportedDType, (i32(3),)),
    ErrorCase("logical_and", "float", UnsupportedDType, (f32(3), f32(3))),
    ErrorCase("bitwise_and", "float", UnsupportedDType, (f32(3), f32(3))),
    ErrorCase("matmul", "int", UnsupportedDType, (i32(2, 2), i32(2, 2))),
    ErrorCase("mean", "int", UnsupportedDType, (i32(3),)),
    ErrorCase("fft", "real", UnsupportedDType, (f64(4),)),
    ErrorCase("abs", "bool", UnsupportedDType, (np.ones(3, bool),)),
    ErrorCase("add", "mixed_float", UnsupportedDType, (f32(3), f64(3))),
    ErrorCase("add", "mixed_int_float", UnsupportedDType, (i32(3), f32(3))),
    ErrorCase("maximum", "mixed_int", UnsupportedDType, (i32(3), np.arange(3, dtype=np.int64))),
    ErrorCase("matmul", "mixed", UnsupportedDType, (f32(2, 2), f64(2, 2))),
    ErrorCase("where", "cond_not_bool", UnsupportedDType, (f32(3), f32(3), f32(3))),
    ErrorCase("concat", "mixed", UnsupportedDType, (f32(2), f64(2))),
    ErrorCase("take", "float_indices", UnsupportedDType, (f32(3), np.zeros(2, np.float32))),
    ErrorCase("clip", "fractional_bound_on_int", UnsupportedDType, (i32(3),), (0.5, 2)),
    ErrorCase("astype", "unknown_dtype", UnsupportedDType, (f32(3),), ("float128",)),
    # linear algebra operands
    ErrorCase("cholesky", "not_square", NotSquareOrNotDefinite, (f32(2, 3),)),
    ErrorCase("cholesky", "1d", NotSquareOrNotDefinite, (f32(3),)),
    ErrorCase("cholesky", "not_positive_definite", NotSquareOrNotDefinite, (np.array([[1.0, 2.0], [2.0, 1.0]]),), shape_only=False),
    ErrorCase(
        "cholesky",
        "negative_diagonal",
        NotSquareOrNotDefinite,
        (np.array([[[4.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]], np.float32),),
        shape_only=False,
    ),
    ErrorCase("triangular_solve", "not_square", NotSquareOrNotDefinite, (f32(3, 4), f32(3, 1))),
    ErrorCase(
        "triangular_solve", "singular", NotSquareOrNotDefinite, (np.array([[1.0, 0.0], [2.0, 0.0]]), np.ones((2, 1))), shape_only=False
    ),
    ErrorCase(
        "triangular_solve",
        "singular_upper",
        NotSquareOrNotDefinite,
        (np.array([[0.0, 1.0], [0.0, 2.0]], np.float32), np.ones((2, 3), np.float32)),
        kwargs={"lower": False},
        shape_only=False,
    ),
    # indices and slices out of range
    ErrorCase("take", "index_too_big", IndexOutOfRange, (f32(5), idx(0, 5)), shape_only=False),
    ErrorCase("take", "index_too_negative", IndexOutOfRange, (f32(2, 5), idx(-6)), (1,), shape_only=False),
    ErrorCase("scatter_add", "index_too_big", IndexOutOfRange, (f32(3, 2), idx(3), f32(1, 2)), shape_only=False),
    ErrorCase("slice", "past_end", IndexOutOfRange, (f32(4, 4),), ((1, 2), (2, 3))),
    ErrorCase("slice", "negative_start", IndexOutOfRange, (f32(4),), ((-1,), (2,))),
    ErrorCase("put_slice", "past_end", IndexOutOfRange, (f32(3, 3), f32(2, 2)), ((2, 0),)),
    ErrorCase("top_k", "k_too_big", IndexOutOfRange, (f32(2, 3),), (4,)),
    # other bad parameters
    ErrorCase("slice", "zero_stride", BadInput, (f32(4),), ((0,), (2,), (0,))),
    ErrorCase("max", "empty", BadInput, (f32(0),)),
    ErrorCase("argmin", "empty_axis", BadInput, (f32(3, 0),), (1,)),
    ErrorCase("clip", "min_above_max", BadInput, (f32(3),), (2, 1)),
    ErrorCase("reshape", "two_unknowns", BadInput, (f32(2, 3),), ((-1, -1),)),
    ErrorCase("pad", "negative", BadInput, (f32(3),), (((-1, 0),),)),
    ErrorCase("fft", "zero_length", BadInput, (np.zeros(0, np.complex64),)),
    ErrorCase("arange", "zero_step", BadInput, args=(0, 5, 0)),
    ErrorCase("full", "negative_dim", BadInput, args=((2, -1), 0.0)),
    ErrorCase("full", "complex_dtype", UnsupportedDType, args=((2,), 0.0), kwargs={"dtype": "complex64"}),
]

_ids = [c.id for c in CASES]
assert len(set(_ids)) == len(_ids), "duplicate error case ids"


def _call_args(case: ErrorCase, tensors: list[Any]) -> list[Any]:
    if OPS[case.op].arity == -1:
        return [tensors, *case.args]
    return [*tensors, *case.args]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bad_input_raises_the_catalog_error(be: backends.Backend, case: ErrorCase) -> None:
    inputs = [be.from_numpy(t) for t in case.tensors]
    fn = getattr(be, case.op)
    if not be.supports(case.op):
        with pytest.raises(UnsupportedOperation):
            fn(*_call_args(case, inputs), **case.kwargs)
        return
    with pytest.raises(BackendError) as excinfo:
        fn(*_call_args(case, inputs), **case.kwargs)
    err = excinfo.value
    assert type(err) is case.error, f"{be.name} raised {type(err).__name__} ({err}), expected {case.error.__name__}"
    for builtin in BUILTINS[case.error]:
        assert isinstance(err, builtin)
    assert isinstance(err, BadInput)
    assert err.op == case.op
    message = str(err)
    assert case.op in message
    for t in case.tensors:
        assert tuple(t.shape) in err.shapes, f"error does not name input shape {t.shape}: {message}"
        assert str(tuple(t.shape)) in message
        assert t.dtype.name in err.dtypes
        assert t.dtype.name in message


@pytest.mark.parametrize("case", [c for c in CASES if c.shape_only], ids=[c.id for c in CASES if c.shape_only])
def test_catalog_infer_raises_the_same_error(case: ErrorCase) -> None:
    infos = [TensorInfo(t.shape, t.dtype.name) for t in case.tensors]
    with pytest.raises(BackendError) as excinfo:
        OPS[case.op].infer(*_call_args(case, infos), **case.kwargs)
    assert type(excinfo.value) is case.error


@pytest.mark.parametrize("case", [c for c in CASES if not c.shape_only], ids=[c.id for c in CASES if not c.shape_only])
def test_catalog_accepts_data_dependent_cases(case: ErrorCase) -> None:
    """Only the data makes these inputs bad: shapes and dtypes alone are valid."""
    infos = [TensorInfo(t.shape, t.dtype.name) for t in case.tensors]
    OPS[case.op].infer(*_call_args(case, infos), **case.kwargs)


def test_error_tree() -> None:
    """The documented hierarchy: every bad-input error is a BadInput and a ValueError."""
    for cls, builtins in BUILTINS.items():
        assert issubclass(cls, BadInput)
        assert issubclass(cls, BackendError)
        for builtin in builtins:
            assert issubclass(cls, builtin)
    assert issubclass(backends.BackendUnavailable, ImportError)
    assert issubclass(UnsupportedOperation, NotImplementedError)
    err = ShapeMismatch("add", "shapes do not broadcast", [(2, 3), (4,)], ["float32", "float32"])
    message = str(err)
    assert message.startswith("add: shapes do not broadcast")
    assert "(2, 3)" in message and "(4,)" in message and "float32" in message
    assert err.shapes == ((2, 3), (4,)) and err.dtypes == ("float32", "float32")
