"""GPU backends (torch:cuda, jax:gpu, cupy): a conformance smoke test on the device,
synchronisation and the data-dependent errors, marked ``gpu`` and skipped with the
reason when no NVIDIA GPU is present. The unavailable paths run everywhere."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from reference import EXACT_OPS, REFERENCE, assert_matches

import backends
from backends import OPS, BackendUnavailable, IndexOutOfRange, NotSquareOrNotDefinite
from backends._registry import _gpu_present, _reset_for_tests

GPU_BACKENDS = ("torch:cuda", "jax:gpu", "cupy")

requires_gpu = pytest.mark.skipif(
    not _gpu_present(), reason="no NVIDIA GPU here (neither /proc/driver/nvidia/version nor /dev/nvidiactl exists)"
)


@pytest.fixture(params=GPU_BACKENDS)
def gpu_be(request: pytest.FixtureRequest) -> Any:
    try:
        return backends.get(request.param)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _cases() -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    rng = _rng()
    f32 = rng.standard_normal((4, 6)).astype(np.float32)
    f64 = rng.standard_normal((4, 6))
    ints = rng.integers(-9, 10, (4, 6)).astype(np.int32)
    spd = f64[:, :4].T @ f64[:, :4] + 4 * np.eye(4)
    yield "exp", (f32,), {}
    yield "erf", (f64,), {}
    yield "add", (f32, f32[:1]), {}
    yield "floor_divide", (ints, np.where(ints[::-1] == 0, 1, ints[::-1])), {}
    yield "maximum", (np.where(f64 > 1, np.nan, f64), f64[::-1].copy()), {}
    yield "sum", (ints,), {"axis": 0}
    yield "argmax", (np.where(f64 > 1.2, np.nan, f64),), {"axis": 1}
    yield "cumulative_sum", (ints.astype(np.int8),), {"axis": 1}
    yield "window_max", (f32,), {"window": (2, 3), "strides": (1, 2)}
    yield "take", (f64, np.array([3, -1, 0], np.int64)), {"axis": 0}
    yield "scatter_add", (f32, np.array([0, 0, -1], np.int32), f32[:3]), {}
    yield "matmul", (f32, f32.T.copy()), {}
    yield "conv", (f32.reshape(1, 1, 4, 6), f32[:2, :2].reshape(1, 1, 2, 2)), {"padding": ((1, 0), (0, 1))}
    yield "cholesky", (spd,), {}
    yield "triangular_solve", (np.tril(spd), f64[:, :2].copy()), {}
    yield "sort", (np.where(f32 > 1, np.nan, f32),), {"descending": True}
    yield "top_k", (np.round(f64),), {"k": 3}
    yield "fft", (f64.astype(np.complex64),), {}
    yield "softmax", (f32,), {"axis": 0}
    yield "layer_norm", (f32, f32[0].copy(), f32[1].copy()), {}
    yield "mlp_forward", (f32, f64.T[:, :4].astype(np.float32), f32[0, :4].copy(), f32[:4, :3].copy(), f32[1, :3].copy()), {}


CASES = list(_cases())


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize(("op", "tensors", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_smoke_conformance_on_the_device(gpu_be: Any, op: str, tensors: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    inputs = [gpu_be.from_numpy(t) for t in tensors]
    out = gpu_be.op(op)(*inputs, **kwargs)
    gpu_be.synchronize(*(out if isinstance(out, tuple) else (out,)))
    want = OPS[op].infer(*[(t.shape, t.dtype.name) for t in tensors], **kwargs)
    ref = REFERENCE[op](*tensors, **kwargs)
    outs, wants, refs = (out, want, ref) if isinstance(out, tuple) else ((out,), (want,), (ref,))
    scale = max(float(np.max(np.abs(t))) for t in tensors if t.dtype.kind in "fc") if op in ("matmul", "mlp_forward", "conv") else 1.0
    for o, w, r in zip(outs, wants, refs, strict=True):
        got = gpu_be.to_numpy(o)
        assert got.dtype.name == w.dtype and gpu_be.info(o) == w
        assert_matches(got, r, w.dtype, exact=op in EXACT_OPS, scale=scale * 10, what=f"{gpu_be.name} {op}: ")


@pytest.mark.gpu
@requires_gpu
def test_tensors_stay_on_the_device_and_synchronize_waits(gpu_be: Any) -> None:
    a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    x = gpu_be.from_numpy(a)
    if gpu_be.name == "torch:cuda":
        assert x.device.type == "cuda"
    elif gpu_be.name == "jax:gpu":
        assert next(iter(x.devices())).platform == "gpu"
    else:
        assert type(x).__module__.startswith("cupy")
    gpu_be.warmup(gpu_be.matmul, x, x)
    out = gpu_be.matmul(x, x)
    gpu_be.synchronize(out)
    np.testing.assert_allclose(gpu_be.to_numpy(out), a.astype(np.float64) @ a, rtol=1e-3, atol=1e-3)  # full fp32, no TF32
    assert gpu_be.describe()["device_name"]


@pytest.mark.gpu
@requires_gpu
def test_data_dependent_errors_on_the_device(gpu_be: Any) -> None:
    x = gpu_be.from_numpy(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexOutOfRange):
        gpu_be.take(x, gpu_be.from_numpy(np.array([0, 2], np.int64)))
    with pytest.raises(NotSquareOrNotDefinite):
        gpu_be.cholesky(gpu_be.from_numpy(np.array([[1.0, 2.0], [2.0, 1.0]])))


# -- without a GPU: every GPU backend is unavailable at get(), with the reason -----------------------


@pytest.mark.skipif(_gpu_present(), reason="an NVIDIA GPU is present here")
@pytest.mark.parametrize("name", ["torch:cuda", "jax:gpu"])
def test_gpu_device_without_gpu_raises_at_get(name: str) -> None:
    if importlib.util.find_spec(name.partition(":")[0]) is None:
        pytest.skip(f"{name.partition(':')[0]} is not installed")
    with pytest.raises(BackendUnavailable, match=name) as excinfo:
        backends.get(name)
    assert excinfo.value.reason


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed here")
def test_cupy_not_installed_is_unavailable_with_install_hint() -> None:
    with pytest.raises(BackendUnavailable, match="cupy") as excinfo:
        backends.get("cupy")
    assert excinfo.value.install_hint and "cupy" in excinfo.value.install_hint


class _FakeCupy(types.ModuleType):
    """A cupy whose CUDA runtime finds no device (what an installed cupy says on a GPU-less host)."""

    def __init__(self) -> None:
        super().__init__("cupy")
        self.__spec__ = importlib.machinery.ModuleSpec("cupy", None)

        def no_device() -> int:
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

        self.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))

    def __getattr__(self, name: str) -> Any:  # cp.abs, cp.add, ... referenced at class creation
        return lambda *args, **kwargs: None


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed here: the real one is used")
def test_cupy_without_a_device_raises_at_get_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _FakeCupy())
    # a driver is present but CUDA finds no device: the backend's own check must say so
    monkeypatch.setattr("backends._registry._gpu_present", lambda: True)
    sys.modules.pop("backends.cupy_backend", None)
    _reset_for_tests()
    try:
        with pytest.raises(BackendUnavailable, match="no CUDA-capable device") as excinfo:
            backends.get("cupy")
        assert excinfo.value.backend == "cupy"
    finally:
        sys.modules.pop("backends.cupy_backend", None)
        if hasattr(backends, "cupy_backend"):
            delattr(backends, "cupy_backend")
        _reset_for_tests()
