"""The backend registry: lazy detection, install hints, third-party backends, a read-only catalog."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plugin import install_demo_plugin

import backends
from backends import OPS, Backend, BackendUnavailable, ShapeMismatch, TensorInfo, UnsupportedOperation
from backends import _registry as registry

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "jax", "jaxlib", "numba", "cupy", "llvmlite")


class ListBackend(Backend):
    """A tiny third-party backend on nested Python lists: add and sum only."""

    name = "listy"

    def from_numpy(self, array: Any) -> Any:
        a = np.asarray(array)
        return (a.tolist(), tuple(a.shape), a.dtype.name)

    def to_numpy(self, tensor: Any) -> Any:
        data, shape, dtype = tensor
        return np.array(data, dtype=dtype).reshape(shape)

    def info(self, tensor: Any) -> TensorInfo:
        return TensorInfo(tensor[1], tensor[2])

    def add(self, x: Any, y: Any) -> Any:
        return self.from_numpy(self.to_numpy(x) + self.to_numpy(y))

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self.from_numpy(np.sum(self.to_numpy(x), axis=axis, keepdims=keepdims))


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registrations made by a test vanish afterwards."""
    monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    monkeypatch.setattr(registry, "_instances", {})
    yield


def _run(code: str, *, path: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env_path = ":".join([*(path or []), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        cwd=str(ROOT),
    )


# ---------------------------------------------------------------------------
# detection without imports


def test_available_imports_no_framework() -> None:
    result = _run(
        f"""
        import json, sys
        import backends
        names = backends.available()
        known = backends.known()
        print(json.dumps({{"names": names, "known": known, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == [], f"available()/known() imported {report['loaded']}"
    assert "numpy" in report["names"] and "python" in report["names"]
    assert set(report["names"]) <= set(report["known"])


def test_known_names_carry_devices() -> None:
    names = backends.known()
    for expected in ("python", "numpy", "numba", "torch:cpu", "torch:cuda", "jax:cpu", "jax:gpu", "cupy"):
        assert expected in names
    assert all(n == n.lower() for n in names)


def test_gpu_devices_listed_only_with_a_gpu(monkeypatch: pytest.MonkeyPatch, clean_registry: None) -> None:
    backends.register("twodev", ListBackend, devices=("cpu", "cuda"))
    monkeypatch.setattr(registry, "_gpu_present", lambda: False)
    names = backends.available()
    assert "twodev:cpu" in names and "twodev:cuda" not in names
    monkeypatch.setattr(registry, "_gpu_present", lambda: True)
    assert "twodev:cuda" in backends.available()


# ---------------------------------------------------------------------------
# unavailable backends


def test_unknown_backend_names_itself_and_lists_known() -> None:
    with pytest.raises(BackendUnavailable) as excinfo:
        backends.get("no_such_backend")
    err = excinfo.value
    assert err.backend == "no_such_backend"
    assert "no_such_backend" in str(err) and "numpy" in str(err)
    assert isinstance(err, ImportError)


def test_unknown_device() -> None:
    with pytest.raises(BackendUnavailable, match="numpy"):
        backends.get("numpy:tpu")


def test_missing_framework_names_install_command(clean_registry: None) -> None:
    backends.register(
        "ghost", "ghost_backend_module:GhostBackend", requires=("ghost_framework_xyz",), install_hint="pip install ghost-framework"
    )
    assert "ghost" in backends.known()
    assert "ghost" not in backends.available()
    with pytest.raises(BackendUnavailable) as excinfo:
        backends.get("ghost")
    message = str(excinfo.value)
    assert "ghost" in message and "ghost_framework_xyz" in message
    assert "pip install ghost-framework" in message
    assert excinfo.value.install_hint == "pip install ghost-framework"


def test_builtin_backend_missing_framework_hint(monkeypatch: pytest.MonkeyPatch, clean_registry: None) -> None:
    """A built-in backend whose framework is absent suggests the project's extra."""
    real_find_spec = registry.importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "numba" else real_find_spec(name, *args)

    monkeypatch.setattr(registry.importlib.util, "find_spec", find_spec)
    assert "numba" not in backends.available()
    with pytest.raises(BackendUnavailable) as excinfo:
        backends.get("numba")
    assert "numba" in str(excinfo.value)
    assert "pip install 'tensorscope[numba]'" in str(excinfo.value)


def test_broken_module_is_unavailable_not_a_crash(clean_registry: None) -> None:
    backends.register("broken", "module_that_does_not_exist_abc:Cls")
    with pytest.raises(BackendUnavailable, match="broken"):
        backends.get("broken")


# ---------------------------------------------------------------------------
# third-party backends


def test_register_a_third_party_class(clean_registry: None) -> None:
    backends.register("listy", ListBackend)
    assert "listy" in backends.available()
    be = backends.get("listy")
    assert isinstance(be, ListBackend)
    assert be.name == "listy" and be.device == "cpu"
    assert backends.get("listy") is be  # built once
    assert be.implemented_ops == frozenset({"add", "sum"})

    x = be.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    np.testing.assert_array_equal(be.to_numpy(be.op("add")(x, x)), [[2.0, 4.0], [6.0, 8.0]])
    np.testing.assert_array_equal(be.to_numpy(be.sum(x, axis=-1)), [3.0, 7.0])
    # the contract validates inputs for the backend: the same errors as everywhere
    with pytest.raises(ShapeMismatch):
        be.add(x, be.from_numpy(np.zeros(3, np.float32)))
    with pytest.raises(backends.AxisOutOfRange):
        be.sum(x, axis=2)


def test_unsupported_op_raises_unsupported_operation(clean_registry: None) -> None:
    backends.register("listy", ListBackend)
    be = backends.get("listy")
    assert not be.supports("matmul")
    with pytest.raises(UnsupportedOperation) as excinfo:
        be.op("matmul")
    assert excinfo.value.op == "matmul" and excinfo.value.backend == "listy"
    assert isinstance(excinfo.value, NotImplementedError)
    x = be.from_numpy(np.eye(2))
    with pytest.raises(UnsupportedOperation, match="matmul"):
        missing = "matmul"
        getattr(be, missing)(x, x)  # the stub installed for ops a backend lacks
    with pytest.raises(KeyError):
        be.op("not_an_op")


def test_register_by_module_path_with_devices(clean_registry: None) -> None:
    backends.register("listy2", "test_registry:ListBackend", devices=("cpu", "cuda"))
    assert {"listy2:cpu", "listy2:cuda"} <= set(backends.known())
    be = backends.get("listy2:cpu")
    assert be.name == "listy2:cpu" and be.device == "cpu"
    assert backends.get("listy2") is be  # the default device is the first


def test_register_replaces_and_forgets_instances(clean_registry: None) -> None:
    backends.register("listy", ListBackend)
    first = backends.get("listy")

    class Other(ListBackend):
        pass

    backends.register("listy", Other)
    second = backends.get("listy")
    assert isinstance(second, Other) and second is not first


@pytest.mark.parametrize("bad", ["Upper", "with:device", ""])
def test_register_rejects_bad_names(bad: str) -> None:
    with pytest.raises(ValueError):
        backends.register(bad, ListBackend)


def test_entry_point_backend_plugs_in(tmp_path: Path) -> None:
    """A backend installed as a distribution with a ``tensorscope.backends`` entry point."""
    install_demo_plugin(tmp_path)
    result = _run(
        """
        import json, sys
        import numpy as np
        import backends
        listed = "demo" in backends.available()
        not_imported = "tsdemo_plugin" not in sys.modules
        be = backends.get("demo")
        out = be.to_numpy(be.negative(be.from_numpy(np.array([1.0, -2.0]))))
        try:
            be.add(be.from_numpy(np.zeros(1)), be.from_numpy(np.zeros(1)))
            unsupported = False
        except backends.UnsupportedOperation:
            unsupported = True
        print(json.dumps({"listed": listed, "lazy": not_imported, "name": be.name, "out": out.tolist(), "unsupported": unsupported}))
        """,
        path=[str(tmp_path)],
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"listed": True, "lazy": True, "name": "demo", "out": [-1.0, 2.0], "unsupported": True}


# ---------------------------------------------------------------------------
# the catalog is read-only


def test_ops_mapping_is_read_only() -> None:
    n = len(OPS)
    with pytest.raises(TypeError):
        OPS["my_op"] = OPS["add"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del OPS["add"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        OPS["add"].group = "unary"  # type: ignore[misc]
    assert len(OPS) == n and OPS["add"].group == "binary"
    assert backends.OPS is OPS


def test_gpu_device_without_gpu_is_unavailable(monkeypatch: pytest.MonkeyPatch, clean_registry: None) -> None:
    backends.register("twodev", ListBackend, devices=("cpu", "cuda"), install_hint="pip install twodev")
    monkeypatch.setattr(registry, "_gpu_present", lambda: False)
    with pytest.raises(BackendUnavailable, match="twodev:cuda") as excinfo:
        backends.get("twodev:cuda")
    # installed, but no GPU: the reason is the GPU, and installing would not help
    assert "no NVIDIA GPU" in str(excinfo.value)
    assert excinfo.value.install_hint is None and "pip install" not in str(excinfo.value)


@pytest.mark.parametrize("name", ["torch:cuda", "jax:gpu"])
def test_an_installed_gpu_framework_without_a_gpu_says_no_gpu(name: str, monkeypatch: pytest.MonkeyPatch, clean_registry: None) -> None:
    if importlib.util.find_spec(name.partition(":")[0]) is None:
        pytest.skip(f"{name.partition(':')[0]} is not installed here")
    monkeypatch.setattr(registry, "_gpu_present", lambda: False)
    with pytest.raises(BackendUnavailable, match="no NVIDIA GPU") as excinfo:
        backends.get(name)
    assert "pip install" not in str(excinfo.value)


def test_builtin_and_entry_point_names(tmp_path: Path) -> None:
    install_demo_plugin(tmp_path)
    result = _run(
        """
        import json
        from backends import _registry as r
        print(json.dumps([r.builtin_names(), r.entry_point_names(), r.is_gpu("torch:cuda"), r.is_gpu("cupy"), r.is_gpu("demo"), r.is_gpu("nope")]))
        """,
        path=[str(tmp_path)],
    )
    assert result.returncode == 0, result.stderr
    builtin, plugins, torch_cuda, cupy, demo, unknown = json.loads(result.stdout.strip().splitlines()[-1])
    assert builtin == ["python", "numpy", "numba", "numba:cuda", "torch:cpu", "torch:cuda", "jax:cpu", "jax:gpu", "cupy"]
    assert plugins == ["demo"]
    assert (torch_cuda, cupy, demo, unknown) == (True, True, False, False)
