"""GPU backends (torch:cuda, jax:gpu, cupy): a conformance smoke test on the device,
synchronisation and the data-dependent errors, marked ``gpu`` and skipped with the
reason when no NVIDIA GPU is present. The unavailable paths run everywhere."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from reference import EXACT_OPS, REFERENCE, assert_matches

import backends
from backends import OPS, BackendUnavailable, IndexOutOfRange, NotSquareOrNotDefinite
from backends._registry import _gpu_present, _reset_for_tests

_ROOT = Path(__file__).resolve().parents[2]

GPU_BACKENDS = ("torch:cuda", "jax:gpu", "cupy")

requires_gpu = pytest.mark.skipif(
    not _gpu_present(), reason="no NVIDIA GPU here (neither /proc/driver/nvidia/version nor /dev/nvidiactl exists)"
)


@pytest.fixture(params=GPU_BACKENDS)
def gpu_be(request: pytest.FixtureRequest) -> Any:
    """The GPU backend; skipped only where its framework is not installed.

    On a machine with an NVIDIA GPU and the framework, a backend that cannot be built
    (a CUDA-less build, an unsupported version) fails here instead of hiding as a skip.
    """
    framework = request.param.partition(":")[0]
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    try:
        return backends.get(request.param)
    except BackendUnavailable as exc:
        if _gpu_present():
            pytest.fail(f"{request.param} is installed and a GPU is present, yet unavailable: {exc}")
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
    # full float32: about 5e-5 off float64 here; TF32 (10-bit mantissa) is about 3e-2 off
    np.testing.assert_allclose(gpu_be.to_numpy(out), a.astype(np.float64) @ a, rtol=0, atol=2e-3)
    assert gpu_be.describe()["device_name"]


@pytest.mark.gpu
@requires_gpu
def test_float32_conv_is_full_precision(gpu_be: Any) -> None:
    """cuDNN runs float32 convolutions in TF32 unless told not to; the catalog's float32 is IEEE."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 8, 64, 64)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    out = gpu_be.conv(gpu_be.from_numpy(x), gpu_be.from_numpy(w))
    gpu_be.synchronize(out)
    want = REFERENCE["conv"](x.astype(np.float64), w.astype(np.float64))
    # float32 is about 1e-5 off float64 on these inputs, TF32 about 1e-2
    np.testing.assert_allclose(gpu_be.to_numpy(out), want, rtol=0, atol=1e-3)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("name", ["torch:cuda", "cupy"])
def test_describe_reports_the_device_and_cuda(name: str) -> None:
    if importlib.util.find_spec(name.partition(":")[0]) is None:
        pytest.skip(f"{name} is not installed")
    info = backends.get(name).describe()
    assert re.fullmatch(r"\d+\.\d+", info["compute_capability"])
    assert int(info["memory_total_bytes"]) > 2**30
    if name == "cupy":
        assert info["cupy_distribution"].startswith("cupy-cuda")
        assert int(info["cuda_runtime_version"]) >= 12000
    else:
        assert info["tf32_matmul"] == "False" and info["tf32_conv"] == "False"


@pytest.mark.gpu
@requires_gpu
def test_data_dependent_errors_on_the_device(gpu_be: Any) -> None:
    x = gpu_be.from_numpy(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexOutOfRange):
        gpu_be.take(x, gpu_be.from_numpy(np.array([0, 2], np.int64)))
    with pytest.raises(NotSquareOrNotDefinite):
        gpu_be.cholesky(gpu_be.from_numpy(np.array([[1.0, 2.0], [2.0, 1.0]])))


# -- without a GPU: every GPU backend is unavailable at get(), with the reason -----------------------


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_turning_tf32_off_keeps_torchs_precision_flags_readable() -> None:
    """What torch:cuda does at construction, in a fresh interpreter (it is process-wide).

    Setting the precision through torch >= 2.9's fp32_precision API makes torch raise when
    the legacy flags are read afterwards (torch.backends.cudnn.flags() reads them); the
    legacy switches keep both readable.
    """
    code = (
        "import torch\n"
        "from backends.torch_backend._backend import _no_tf32\n"
        "_no_tf32()\n"
        "assert torch.backends.cuda.matmul.allow_tf32 is False and torch.backends.cudnn.allow_tf32 is False\n"
        "with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):\n"
        "    pass\n"
        "if hasattr(torch.backends.cudnn, 'conv'):\n"
        "    assert torch.backends.cudnn.conv.fp32_precision != 'tf32'\n"
        "    assert torch.backends.cuda.matmul.fp32_precision != 'tf32'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120, cwd=_ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.skipif(_gpu_present(), reason="an NVIDIA GPU is present here")
@pytest.mark.parametrize("name", ["torch:cuda", "jax:gpu"])
def test_gpu_device_without_gpu_raises_at_get(name: str) -> None:
    if importlib.util.find_spec(name.partition(":")[0]) is None:
        pytest.skip(f"{name.partition(':')[0]} is not installed")
    with pytest.raises(BackendUnavailable, match=name) as excinfo:
        backends.get(name)
    assert excinfo.value.reason


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed here")
def test_cupy_not_installed_is_unavailable_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a GPU, a missing CuPy gets its install command; without one, the reason is the GPU, not the install."""
    from backends import _registry

    monkeypatch.setattr(_registry, "_missing_modules", lambda entry: ["cupy"] if entry.name == "cupy" else [])
    monkeypatch.setattr(_registry, "_gpu_present", lambda: True)
    with pytest.raises(BackendUnavailable, match="cupy") as excinfo:
        backends.get("cupy")
    assert excinfo.value.install_hint and "cupy" in excinfo.value.install_hint
    monkeypatch.setattr(_registry, "_gpu_present", lambda: False)
    with pytest.raises(BackendUnavailable, match="no NVIDIA GPU") as excinfo:
        backends.get("cupy")
    assert not excinfo.value.install_hint and "not installed either" in str(excinfo.value)


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
