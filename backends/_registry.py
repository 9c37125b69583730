"""Backend registry: names to lazily imported classes, with install hints.

Listing backends imports no framework: availability is decided with
``importlib.util.find_spec`` (and, for CUDA devices, a look for the NVIDIA driver);
the framework is imported only when ``get`` builds the backend.

Third-party backends plug in without editing tensorscope, either by calling
:func:`register` or through an entry point in the ``tensorscope.backends`` group whose
value is ``"module:Class"`` (the class subclasses :class:`~backends.Backend`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import Any

from ._base import Backend
from ._errors import BackendUnavailable

__all__ = ["ENTRY_POINT_GROUP", "BackendEntry", "available", "builtin_names", "entry_point_names", "get", "is_gpu", "known", "register"]

ENTRY_POINT_GROUP = "tensorscope.backends"


@dataclass(frozen=True)
class BackendEntry:
    """How to find and build one backend."""

    name: str
    target: str | type[Backend]  # "module:Class" or the class itself
    requires: tuple[str, ...] = ()  # importable modules the backend needs
    install_hint: str | None = None
    devices: tuple[str, ...] = ("cpu",)  # first is the default; "cuda"/"gpu" need an NVIDIA GPU
    default_device_in_name: bool = False  # torch, jax: names carry the device ("torch:cpu")
    # A device built by another class: (device, "module:Class", modules it needs beyond
    # ``requires``, env var that stands in for the GPU: a simulator). numba:cuda is one.
    device_targets: tuple[tuple[str, str, tuple[str, ...], str], ...] = ()

    def names(self) -> list[str]:
        """The registry names, one per device; the default device is unnamed unless ``default_device_in_name``."""
        if self.default_device_in_name:
            return [f"{self.name}:{d}" for d in self.devices]
        return [self.name, *(f"{self.name}:{d}" for d in self.devices[1:])]

    def for_device(self, device: str) -> tuple[str | type[Backend], tuple[str, ...], str | None]:
        """The target, required modules and simulator variable (or None) of ``device``."""
        for dev, target, extra, simulator in self.device_targets:
            if dev == device:
                return target, (*self.requires, *extra), simulator
        return self.target, self.requires, None


_EXTRA = "pip install 'tensorscope[{}]'"

_BUILTIN = (
    BackendEntry("python", "backends.python_backend:PythonBackend"),
    BackendEntry("numpy", "backends.numpy_backend:NumpyBackend", ("numpy",), "pip install numpy"),
    BackendEntry(
        "numba",
        "backends.numba_backend:NumbaBackend",
        ("numba",),
        f"{_EXTRA.format('numba')} (numba:cuda: {_EXTRA.format('numba-cuda')})",
        ("cpu", "cuda"),
        # numba:cuda, our own CUDA kernels; NUMBA_ENABLE_CUDASIM=1 runs them in numba-cuda's
        # simulator on the CPU (tests only), so that device counts as present then
        device_targets=(("cuda", "backends.numba_cuda_backend:NumbaCudaBackend", ("numba_cuda",), "NUMBA_ENABLE_CUDASIM"),),
    ),
    BackendEntry("torch", "backends.torch_backend:TorchBackend", ("torch",), _EXTRA.format("torch"), ("cpu", "cuda"), True),
    BackendEntry("jax", "backends.jax_backend:JaxBackend", ("jax", "jaxlib"), _EXTRA.format("jax"), ("cpu", "gpu"), True),
    BackendEntry(
        "cupy",
        "backends.cupy_backend:CupyBackend",
        ("cupy",),  # the module of every CuPy wheel (cupy-cuda12x, cupy-cuda13x)
        f"{_EXTRA.format('cupy13')} (CUDA 13 driver) or {_EXTRA.format('cupy12')} (CUDA 12)",
        ("cuda",),
    ),
)

_GPU_DEVICES = frozenset({"cuda", "gpu"})

_lock = threading.Lock()
_entries: dict[str, BackendEntry] = {e.name: e for e in _BUILTIN}
_instances: dict[str, Backend] = {}
_entry_points_loaded = False


def register(
    name: str,
    target: str | type[Backend],
    *,
    requires: tuple[str, ...] = (),
    install_hint: str | None = None,
    devices: tuple[str, ...] = ("cpu",),
) -> None:
    """Register a backend under ``name`` (lowercase, no colon).

    ``target`` is a Backend subclass or a ``"module:Class"`` string imported on first use.
    Registering an existing name replaces it (and drops its cached instance).
    """
    if not name or name != name.lower() or ":" in name:
        raise ValueError(f"backend names are lowercase and carry no device: {name!r}")
    with _lock:
        _entries[name] = BackendEntry(name, target, tuple(requires), install_hint, tuple(devices), len(devices) > 1)
        for key in [k for k in _instances if k.split(":")[0] == name]:
            del _instances[key]


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _entries:
            _entries[ep.name] = BackendEntry(ep.name, ep.value, install_hint=f"check the package that provides entry point {ep.value!r}")


def _gpu_present() -> bool:
    """An NVIDIA driver is loaded (checked without importing any framework)."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def _device_present(entry: BackendEntry, device: str) -> bool:
    """A CPU device, or a GPU device with an NVIDIA driver (or the device's simulator switched on)."""
    if device not in _GPU_DEVICES or _gpu_present():
        return True
    simulator = entry.for_device(device)[2]
    return simulator is not None and os.environ.get(simulator, "") == "1"


def _missing_for(entry: BackendEntry, device: str) -> list[str]:
    """The modules ``entry`` on ``device`` needs that are not installed."""
    extra = entry.for_device(device)[1][len(entry.requires) :]
    return _missing_modules(entry) + _missing_modules(BackendEntry(entry.name, entry.target, extra))


def _missing_modules(entry: BackendEntry) -> list[str]:
    missing = []
    for module in entry.requires:
        try:
            if importlib.util.find_spec(module) is None:
                missing.append(module)
        except (ImportError, ValueError):
            missing.append(module)
    return missing


def builtin_names() -> list[str]:
    """The built-in backends with their devices, in a fixed order, installed or not."""
    return [n for e in _BUILTIN for n in e.names()]


def entry_point_names() -> list[str]:
    """Backends that installed packages declare in the ``tensorscope.backends`` entry point group, sorted.

    A name that is also a built-in is left out (the built-in wins, as in :func:`get`).
    """
    builtin = {e.name for e in _BUILTIN}
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)} - builtin)


def is_gpu(name: str) -> bool:
    """Whether backend ``name`` (``"torch:cuda"``, ``"cupy"``) runs on a GPU; nothing is imported.

    Unknown names count as CPU backends.
    """
    try:
        _entry, device = _split(name.strip().lower())
    except BackendUnavailable:
        return False
    return device in _GPU_DEVICES


def known() -> list[str]:
    """Every registered backend name with its devices, installed or not."""
    _load_entry_points()
    return [n for e in _entries.values() for n in e.names()]


def available() -> list[str]:
    """Backends usable here, e.g. ``['python', 'numpy', 'numba', 'torch:cpu', 'jax:cpu']``.

    Imports no framework: modules are found with ``find_spec``; GPU devices are listed
    only when an NVIDIA driver is present.
    """
    _load_entry_points()
    names = []
    for entry in _entries.values():
        for device, full in zip(entry.devices, entry.names(), strict=True):
            if _missing_for(entry, device) or not _device_present(entry, device):
                continue
            names.append(full)
    return names


def _split(name: str) -> tuple[BackendEntry, str]:
    _load_entry_points()
    base, _, device = name.partition(":")
    entry = _entries.get(base)
    if entry is None:
        raise BackendUnavailable(name, f"unknown backend; known backends: {', '.join(known())}")
    device = device or entry.devices[0]
    if device not in entry.devices:
        raise BackendUnavailable(name, f"unknown device {device!r}; {base} supports {', '.join(entry.devices)}")
    return entry, device


def _load_class(entry: BackendEntry, device: str) -> type[Backend]:
    target = entry.for_device(device)[0]
    if not isinstance(target, str):
        return target
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Backend] = getattr(module, class_name)
    return cls


def get(name: str) -> Backend:
    """The backend called ``name`` (``"numpy"``, ``"torch:cuda"``), built on first use.

    Raises BackendUnavailable naming the backend and the install command when the name
    is unknown, the framework is not installed, or the device is absent.
    """
    if not isinstance(name, str):
        raise TypeError(f"backend name must be a string, got {name!r}")
    name = name.strip().lower()
    with _lock:
        cached = _instances.get(name)
        if cached is not None:
            return cached
        entry, device = _split(name)
        full = entry.names()[entry.devices.index(device)]
        cached = _instances.get(full)
        if cached is not None:
            return cached
        missing = _missing_for(entry, device)
        if not _device_present(entry, device):
            # No install hint: installing the framework would not give this machine a GPU.
            also = f"; module(s) {', '.join(missing)} not installed either" if missing else ""
            raise BackendUnavailable(full, f"no NVIDIA GPU on this machine (no driver found) for device {device!r}{also}")
        if missing:
            raise BackendUnavailable(full, f"module(s) {', '.join(missing)} not installed", entry.install_hint)
        try:
            cls = _load_class(entry, device)
        except ImportError as exc:
            raise BackendUnavailable(full, f"import failed: {exc}", entry.install_hint) from exc
        instance = cls(device=device)
        instance.name = full
        _instances[full] = instance
        _instances[name] = instance
        return instance


def _reset_for_tests() -> dict[str, Any]:
    """Forget instances (tests that register temporary backends call this)."""
    with _lock:
        _instances.clear()
    return {}
