"""The torch backend beyond the conformance suite: devices, boundary, and the catalog
semantics that plain torch calls would get wrong (each test names the torch behaviour
the backend has to correct)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import backends
from backends import (
    OPS,
    BackendUnavailable,
    BadInput,
    IndexOutOfRange,
    NotSquareOrNotDefinite,
    ShapeMismatch,
    UnsupportedDType,
)

torch = pytest.importorskip("torch")

NAN = float("nan")


@pytest.fixture(scope="module")
def be() -> Any:
    return backends.get("torch:cpu")


def run(be: Any, op: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``op`` with NumPy arrays converted in and results converted out."""
    conv = [be.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    out = getattr(be, op)(*conv, **kwargs)
    if isinstance(out, tuple):
        return tuple(be.to_numpy(o) for o in out)
    return be.to_numpy(out)


def test_importing_backends_imports_no_framework() -> None:
    code = "import sys, backends; backends.available(); print(sorted(m for m in ('torch', 'jax', 'cupy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_implements_the_whole_catalog(be: Any) -> None:
    assert be.implemented_ops == frozenset(OPS)
    assert type(be).__module__.startswith("backends.torch_backend")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present here")
def test_cuda_without_a_gpu_is_unavailable_at_get() -> None:
    with pytest.raises(BackendUnavailable, match="torch:cuda") as excinfo:
        backends.get("torch:cuda")
    assert "cuda" in excinfo.value.reason.lower()


def test_describe_reports_versions_and_threads(be: Any) -> None:
    info = be.describe()
    assert info["backend"] == "torch:cpu"
    assert info["torch_version"] == torch.__version__
    assert int(info["threads"]) == torch.get_num_threads()
    assert info["device_name"]


def test_synchronize_is_a_no_op_on_cpu(be: Any) -> None:
    x = be.from_numpy(np.ones(3, np.float32))
    assert be.synchronize(x) is None
    be.warmup(be.add, x, x)


def test_from_numpy_copies_and_keeps_dtype(be: Any) -> None:
    src = np.arange(6, dtype=np.int16).reshape(2, 3)[:, ::2]  # non-contiguous
    t = be.from_numpy(src)
    src[0, 0] = 99
    assert be.info(t) == backends.TensorInfo((2, 2), "int16")
    np.testing.assert_array_equal(be.to_numpy(t), [[0, 2], [3, 5]])


def test_the_cuda_upload_path_keeps_0d_shape_and_takes_read_only_arrays(be: Any) -> None:
    # The H200 run found every 0-d case of torch:cuda coming back as shape (1,): the CUDA
    # branch of from_numpy used np.ascontiguousarray, which makes 0-d arrays 1-d. That
    # branch runs here with the device left on the CPU (a shallow copy with _cuda set).
    import copy
    import warnings

    cuda_path = copy.copy(be)
    cuda_path._cuda = True
    read_only = np.arange(4, dtype=np.float32)[::2]
    read_only.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when handed non-writable memory
        scalar = cuda_path.from_numpy(np.array(2.5, dtype=np.float64))
        strided = cuda_path.from_numpy(read_only)
    assert be.info(scalar) == backends.TensorInfo((), "float64")
    assert be.to_numpy(scalar) == 2.5
    assert be.info(strided) == backends.TensorInfo((2,), "float32")
    np.testing.assert_array_equal(be.to_numpy(strided), [0.0, 2.0])


def test_bfloat16_crosses_the_boundary_as_ml_dtypes(be: Any) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    src = np.array([1.5, -2.0, 3.25], dtype=ml_dtypes.bfloat16)
    t = be.from_numpy(src)
    assert t.dtype == torch.bfloat16
    back = be.to_numpy(t)
    assert back.dtype == src.dtype
    np.testing.assert_array_equal(back.astype(np.float32), src.astype(np.float32))
    via_astype = be.astype(be.from_numpy(np.array([1.5, 2.5], np.float32)), "bfloat16")
    assert be.info(via_astype).dtype == "bfloat16"


def test_unsupported_numpy_dtype_is_refused(be: Any) -> None:
    with pytest.raises(UnsupportedDType):
        be.from_numpy(np.zeros(2, np.uint16))


def test_no_implicit_promotion(be: Any) -> None:
    x, y = be.from_numpy(np.ones(2, np.float32)), be.from_numpy(np.ones(2, np.float64))
    with pytest.raises(UnsupportedDType, match="same dtype"):
        be.add(x, y)


def test_binary_shape_mismatch_is_the_catalog_error(be: Any) -> None:
    x, y = be.from_numpy(np.ones(3, np.float32)), be.from_numpy(np.ones(4, np.float32))
    with pytest.raises(ShapeMismatch, match=r"\(3,\)"):
        be.multiply(x, y)


def test_integer_division_by_zero_is_bad_input(be: Any) -> None:
    # torch raises for integer division by zero (NumPy returns 0): the catalog forbids it
    x = be.from_numpy(np.array([1, 2], np.int32))
    with pytest.raises(BadInput, match="floor_divide"):
        be.floor_divide(x, be.from_numpy(np.array([1, 0], np.int32)))


def test_sign_keeps_nan(be: Any) -> None:  # torch.sign(nan) == 0
    out = run(be, "sign", np.array([-2.0, NAN, 0.0, 3.0]))
    np.testing.assert_array_equal(out, [-1.0, NAN, 0.0, 1.0])


def test_clip_keeps_int_dtype_and_range(be: Any) -> None:
    # torch.clamp promotes ints to float for a float bound, and wraps bounds outside the dtype
    out = run(be, "clip", np.array([0, 5, 200], np.uint8), -1, 2.0)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [0, 2, 2])
    assert run(be, "clip", np.array([1, 9], np.int8), 2, None).tolist() == [2, 9]


def test_all_any_return_bool_for_uint8(be: Any) -> None:  # torch.all keeps uint8
    x = np.array([[1, 0], [2, 3]], np.uint8)
    assert run(be, "all", x, axis=1).dtype == np.bool_
    assert run(be, "any", x).dtype == np.bool_
    assert run(be, "all", x, None, True).shape == (1, 1)


def test_int_sums_accumulate_in_int64(be: Any) -> None:
    x = np.full(4, 100, np.int8)
    assert run(be, "sum", x).tolist() == 400
    assert run(be, "cumulative_sum", x).tolist() == [100, 200, 300, 400]
    assert run(be, "prod", np.array([True, True])).dtype == np.int64


def test_nan_handling_in_reductions_and_args(be: Any) -> None:
    x = np.array([[1.0, NAN, 5.0, NAN], [2.0, 7.0, 7.0, 1.0]])
    np.testing.assert_array_equal(run(be, "max", x, axis=1), [NAN, 7.0])
    assert run(be, "argmax", x, axis=1).tolist() == [1, 1]  # first NaN; first of tied maxima
    assert run(be, "argmin", x).tolist() == 1
    np.testing.assert_array_equal(run(be, "maximum", x[0], x[1]), [2.0, NAN, 7.0, NAN])


def test_sort_is_stable_with_nan_largest(be: Any) -> None:
    x = np.array([1.0, 2.0, 1.0, NAN, 2.0, 0.0])
    assert run(be, "argsort", x).tolist() == [5, 0, 2, 1, 4, 3]
    assert run(be, "argsort", x, descending=True).tolist() == [3, 1, 4, 0, 2, 5]
    np.testing.assert_array_equal(run(be, "sort", x, descending=True), [NAN, 2.0, 2.0, 1.0, 1.0, 0.0])


def test_top_k_ties_by_lower_index(be: Any) -> None:
    values, indices = run(be, "top_k", np.array([[3, 1, 3, 3, 2]], np.int32), 3)
    assert indices.tolist() == [[0, 2, 3]] and values.tolist() == [[3, 3, 3]]
    values, indices = run(be, "top_k", np.array([1.0, NAN, 4.0]), 2)
    assert indices.tolist() == [1, 2]


def test_round_half_to_even_and_remainder_sign(be: Any) -> None:
    assert run(be, "round", np.array([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]
    assert run(be, "remainder", np.array([-7, 7], np.int64), np.array([2, -2], np.int64)).tolist() == [1, -1]
    assert run(be, "floor_divide", np.array([-7, 7], np.int64), np.array([2, -2], np.int64)).tolist() == [-4, -4]
    assert run(be, "bitwise_right_shift", np.array([-8], np.int8), np.array([1], np.int8)).tolist() == [-4]


def test_take_and_scatter_add_indices(be: Any) -> None:
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(run(be, "take", x, np.array([-1, 0], np.int32), axis=1), x[:, [3, 0]])
    out = run(be, "scatter_add", np.zeros(3), np.array([0, -1, 0], np.int64), np.array([1.0, 2.0, 3.0]))
    assert out.tolist() == [4.0, 0.0, 2.0]  # duplicates accumulate; -1 is the last row
    with pytest.raises(IndexOutOfRange, match=r"\(3, 4\)"):
        run(be, "take", x, np.array([0, 3], np.int64))
    with pytest.raises(IndexOutOfRange, match=r"\(2,\)"):
        run(be, "scatter_add", np.zeros(3), np.array([-4, 0], np.int64), np.ones(2))


def test_cholesky_and_triangular_solve_errors(be: Any) -> None:
    with pytest.raises(NotSquareOrNotDefinite, match="positive definite"):
        run(be, "cholesky", np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(NotSquareOrNotDefinite, match="singular"):
        run(be, "triangular_solve", np.array([[1.0, 0.0], [1.0, 0.0]]), np.ones((2, 1)))
    with pytest.raises(UnsupportedDType):
        run(be, "cholesky", np.eye(2, dtype=np.float16))
    a = np.array([[4.0, 2.0], [2.0, 3.0]])
    factor = run(be, "cholesky", a)
    np.testing.assert_allclose(factor @ factor.T, a)
    np.testing.assert_allclose(run(be, "triangular_solve", factor, np.ones((2, 1))), np.linalg.solve(factor, np.ones((2, 1))))


def test_creation_on_the_device(be: Any) -> None:
    assert be.to_numpy(be.arange(5, 2)).shape == (0,)  # torch refuses inconsistent bounds
    np.testing.assert_array_equal(be.to_numpy(be.eye(2, 3, k=1, dtype="int32")), np.eye(2, 3, k=1, dtype=np.int32))
    assert be.to_numpy(be.full((2,), 1.5, dtype="float16")).dtype == np.float16


def test_window_ops_and_asymmetric_conv(be: Any) -> None:
    x = np.arange(20, dtype=np.int32).reshape(1, 4, 5)
    assert run(be, "window_max", x, (2, 2), (2, 2)).tolist() == [[[6, 8], [16, 18]]]
    np.testing.assert_array_equal(run(be, "window_sum", x.astype(np.float32), (2, 2)), run(be, "window_sum", x, (2, 2)))
    img, kernel = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32)
    out = run(be, "conv", img, kernel, (1, 1), ((1, 0), (0, 2)))
    assert out.shape == (1, 1, 3, 4)
    assert out[0, 0].tolist() == [[2, 2, 1, 0], [4, 4, 2, 0], [4, 4, 2, 0]]
