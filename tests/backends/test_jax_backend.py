"""The jax backend beyond the conformance suite: devices, x64, jit caching, compile
timing, and the catalog semantics plain jax calls would get wrong (NaN instead of an
error, promotion, XLA's top_k order)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import backends
from backends import (
    OPS,
    BackendUnavailable,
    IndexOutOfRange,
    NotSquareOrNotDefinite,
    ShapeMismatch,
    UnsupportedDType,
    UnsupportedOperation,
)

jax = pytest.importorskip("jax")

NAN = float("nan")


@pytest.fixture(scope="module")
def be() -> Any:
    return backends.get("jax:cpu")


def run(be: Any, op: str, *args: Any, **kwargs: Any) -> Any:
    conv = [be.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    out = getattr(be, op)(*conv, **kwargs)
    if isinstance(out, tuple):
        return tuple(be.to_numpy(o) for o in out)
    return be.to_numpy(out)


def _kernel(op: str) -> Any:
    from backends.jax_backend._kernels import KERNELS

    return KERNELS[op].jitted


def test_implements_the_whole_catalog(be: Any) -> None:
    assert be.implemented_ops == frozenset(OPS)


def test_gpu_without_a_gpu_is_unavailable_at_get() -> None:
    try:
        jax.devices("gpu")
    except RuntimeError:
        pass
    else:
        pytest.skip("a jax GPU device is present here")
    with pytest.raises(BackendUnavailable, match="jax:gpu") as excinfo:
        backends.get("jax:gpu")
    assert "gpu" in excinfo.value.reason


def test_x64_is_enabled(be: Any) -> None:
    assert jax.config.read("jax_enable_x64")
    x = be.from_numpy(np.array([2**40], np.int64))
    assert be.info(be.add(x, x)) == backends.TensorInfo((1,), "int64")
    assert run(be, "sum", np.full(3, 100, np.int8)).dtype == np.int64
    assert run(be, "multiply", np.array([1e300]), np.array([10.0])).dtype == np.float64


def test_describe_reports_platform_and_flags(be: Any) -> None:
    info = be.describe()
    assert info["jax_version"] == jax.__version__
    assert info["platform"] == "cpu"
    assert info["x64"] == "True"
    assert "xla_flags" in info


def test_jitted_once_per_shape_and_compiled_in_warmup(be: Any) -> None:
    softmax = _kernel("softmax")
    x = be.from_numpy(np.ones((7, 29), np.float32))  # a shape no other test uses: jax's cache is per process
    before = softmax._cache_size()
    be.warmup(be.softmax, x)
    after_warmup = softmax._cache_size()
    assert after_warmup == before + 1
    for _ in range(3):  # timed calls: no new executable
        be.synchronize(be.softmax(x))
    assert softmax._cache_size() == after_warmup
    be.softmax(x, axis=0)  # a new static param compiles once more
    assert softmax._cache_size() == after_warmup + 1


def test_compile_seconds_times_a_fresh_compile(be: Any) -> None:
    x = be.from_numpy(np.ones((4, 6), np.float32))
    layer = _kernel("sum")
    cached = layer._cache_size()
    seconds = be.compile_seconds(be.sum, x, 1, keepdims=True)
    assert 0 < seconds < 60
    assert layer._cache_size() == cached  # the timed executables are left alone
    assert (
        be.compile_seconds("conv", be.from_numpy(np.ones((1, 1, 4, 4))), be.from_numpy(np.ones((1, 1, 2, 2))), [1, 1], [[0, 0], [1, 1]]) > 0
    )
    with pytest.raises(UnsupportedOperation):
        be.compile_seconds("arange", 3)


def test_synchronize_blocks_on_results(be: Any) -> None:
    x = be.from_numpy(np.ones(4, np.float32))
    values, indices = be.top_k(x, 2)
    be.synchronize(values, indices)
    be.synchronize(be.exp(x))
    be.synchronize()


def test_from_numpy_copies(be: Any) -> None:
    src = np.arange(4.0)
    t = be.from_numpy(src)
    src[0] = 99.0
    assert be.to_numpy(t).tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(UnsupportedDType):
        be.from_numpy(np.zeros(2, np.uint32))


def test_no_implicit_promotion_and_shape_errors(be: Any) -> None:
    with pytest.raises(UnsupportedDType, match="same dtype"):
        run(be, "add", np.ones(2, np.float32), np.ones(2, np.float64))
    with pytest.raises(ShapeMismatch, match=r"\(4,\)"):
        run(be, "subtract", np.ones(3, np.float32), np.ones(4, np.float32))


def test_cholesky_nan_becomes_an_error(be: Any) -> None:  # jax returns NaNs
    with pytest.raises(NotSquareOrNotDefinite, match="positive definite"):
        run(be, "cholesky", np.array([[[4.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]))
    with pytest.raises(NotSquareOrNotDefinite, match="singular"):
        run(be, "triangular_solve", np.array([[0.0, 0.0], [1.0, 1.0]]), np.ones((2, 3)))
    with pytest.raises(UnsupportedDType):
        run(be, "triangular_solve", np.eye(2, dtype=np.float16), np.ones((2, 1), np.float16))
    a = np.array([[4.0, 2.0], [2.0, 3.0]], np.float32)
    factor = run(be, "cholesky", a)
    np.testing.assert_allclose(factor @ factor.T, a, rtol=1e-6)


def test_take_and_scatter_add_indices(be: Any) -> None:
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(run(be, "take", x, np.array([-1, 0], np.int32), axis=1), x[:, [3, 0]])
    out = run(be, "scatter_add", np.zeros(3, np.int32), np.array([0, -1, 0], np.int64), np.array([1, 2, 3], np.int32))
    assert out.tolist() == [4, 0, 2]
    with pytest.raises(IndexOutOfRange, match=r"\(3, 4\)"):  # jax would clamp or fill instead
        run(be, "take", x, np.array([0, -4], np.int64))
    with pytest.raises(IndexOutOfRange):
        run(be, "scatter_add", np.zeros(3), np.array([3], np.int64), np.ones(1))


def test_top_k_ranks_like_a_stable_sort(be: Any) -> None:
    # XLA's TopK uses the IEEE total order (-0.0 < 0.0, negative NaN smallest); the backend does not
    x = np.array([0.0, -0.0, 0.0, 1.0, -np.float64("nan"), 2.0, 2.0])
    values, indices = run(be, "top_k", x, 6)
    assert indices.tolist() == [4, 5, 6, 3, 0, 1]
    assert np.isnan(values[0]) and values[1:].tolist() == [2.0, 2.0, 1.0, 0.0, 0.0]
    assert run(be, "argsort", x[:4], descending=True).tolist() == [3, 0, 1, 2]
    values, indices = run(be, "top_k", np.ones((2, 3), np.int8), 0)
    assert values.shape == indices.shape == (2, 0) and indices.dtype == np.int64


def test_nan_and_rounding_semantics(be: Any) -> None:
    x = np.array([[1.0, NAN, 5.0, NAN], [2.0, 7.0, 7.0, 1.0]])
    assert run(be, "argmax", x, axis=1).tolist() == [1, 1]
    np.testing.assert_array_equal(run(be, "min", x, axis=1), [NAN, 1.0])
    np.testing.assert_array_equal(run(be, "sign", np.array([NAN, -3.0])), [NAN, -1.0])
    assert run(be, "round", np.array([0.5, 1.5, 2.5])).tolist() == [0.0, 2.0, 2.0]
    assert run(be, "remainder", np.array([-7], np.int32), np.array([2], np.int32)).tolist() == [1]


def test_clip_and_astype_follow_numpy_casts(be: Any) -> None:
    out = run(be, "clip", np.array([0, 5, 200], np.uint8), -1, 2.0)
    assert out.dtype == np.uint8 and out.tolist() == [0, 2, 2]
    # float -> narrow int wraps like NumPy's C cast (XLA alone would saturate)
    assert run(be, "astype", np.array([-3.7, 300.0], np.float32), "uint8").tolist() == [253, 44]


def test_fused_ops_handle_empty_axes(be: Any) -> None:
    assert run(be, "softmax", np.zeros((2, 0), np.float32)).shape == (2, 0)
    assert run(be, "logsumexp", np.zeros((2, 0))).tolist() == [-np.inf, -np.inf]
    empty = np.zeros((3, 0), np.float32)
    assert run(be, "layer_norm", empty, np.zeros(0, np.float32), np.zeros(0, np.float32)).shape == (3, 0)
