"""Provenance: what actually ran - hardware, SIMD paths, BLAS, threads, versions, settings.

:func:`probe` returns one JSON-serialisable dict; :func:`write` stores it. The asv
suite writes one file per benchmarked (commit, environment), beside asv's own files
and without changing their format::

    results/<machine>/provenance/<commit_hash>-<env_name>.json

``<commit_hash>`` is the full hash and ``<env_name>`` asv's environment name, exactly
as in the result file ``results/<machine>/<commit_hash>-<env_name>.json`` it
describes (asv skips sub-folders of ``results/<machine>/`` that hold no
``machine.json``, logging one "Skipping results" line per such folder).

File format (``"schema": "tensorscope-provenance/1"``; every key is always present,
values that could not be found are ``null``; readers must ignore unknown keys)::

    {
      "schema": "tensorscope-provenance/1",
      "captured_at": "2025-01-31T12:00:00+00:00",     # UTC, ISO 8601
      "commit_hash": "...", "env_name": "...", "machine": "...",  # null outside asv
      "simd_setting": "on" | "off",                     # TENSORSCOPE_SIMD as applied
      "thread_setting": "all" | "<N>",                  # TENSORSCOPE_THREADS as applied
      "platform": {"system", "release", "machine", "python_implementation",
                   "python_version", "python_executable", "hostname"},
      "cpu": {"model", "vendor", "logical_cores", "physical_cores",
              "flags": [...SIMD-related CPU flags, lowercase...],
              "max_mhz", "cache": {"l1d", "l2", "l3"}},   # strings as the OS reports them
      "memory": {"total_bytes", "available_bytes"},
      "numpy": {"version", "simd_baseline": [...], "simd_dispatch": [...],
                "simd_active": [...dispatch targets enabled at run time...],
                "simd_disabled_by_env": [...]},
      "blas": [{"user_api", "internal_api", "prefix", "version", "num_threads",
                "threading_layer", "architecture", "filepath"}, ...],   # threadpoolctl
      "blas_build": {...NumPy's show_config 'Build Dependencies' 'blas' entry...},
      "env": {"OMP_NUM_THREADS": "...", ...},   # every OPENBLAS_*, OMP_*, MKL_*, NPY_*,
                                                #  NUMBA_*, XLA_*, JAX_*, TF_*, CUDA_*,
                                                #  ATEN_*, TORCH_*, TENSORSCOPE_*, ASV_* set
      "libraries": {"numpy": "2.4.6", "torch": "2.13.0+cpu", "jax": null, ...},
      "backends": {"numpy": {...Backend.describe()...},
                   "torch:cuda": {"error": "..."}, ...},   # every available backend
      "gpus": [{"name", "driver_version", "memory_total_mib", "compute_capability",
                "uuid"}, ...],                              # [] without nvidia-smi
      "errors": {"section": "message", ...}                # what failed while probing
    }

Run as a script to write a file: ``python -m backends.provenance --output PATH``
(or print the JSON with no ``--output``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["ENV_PREFIXES", "SCHEMA", "probe", "write"]

SCHEMA = "tensorscope-provenance/1"

#: Environment variables recorded (by prefix): every one that is set, never assumed.
ENV_PREFIXES = (
    "OPENBLAS_",
    "GOTO",
    "OMP_",
    "KMP_",
    "MKL_",
    "BLIS_",
    "NPY_",
    "NUMBA_",
    "XLA_",
    "JAX_",
    "TF_",
    "CUDA_",
    "NVIDIA_",
    "ATEN_",
    "TORCH_",
    "PYTORCH_",
    "CUPY_",
    "TENSORSCOPE_",
    "ASV_",
    "PYTHONHASHSEED",
)

_LIBRARIES = (
    "numpy",
    "scipy",
    "numba",
    "llvmlite",
    "torch",
    "jax",
    "jaxlib",
    "jax-cuda12-plugin",
    "jax-cuda13-plugin",
    "cupy-cuda12x",
    "cupy-cuda13x",
    "cupy",
    "threadpoolctl",
    "asv",
    "asv_runner",
    "tensorscope",
)

#: CPU flags worth recording (the SIMD and matrix extensions), as /proc/cpuinfo names them.
_SIMD_FLAG = re.compile(
    r"^(sse\d?(_\d)?|ssse3|sse4\w*|avx\w*|fma\w*|f16c|amx\w*|bmi\d|popcnt|neon|asimd\w*|sve\w*|sme\w*|fp16|bf16|i8mm|vnni\w*)$"
)


def _cpu() -> dict[str, Any]:
    info: dict[str, Any] = {
        "model": None,
        "vendor": None,
        "logical_cores": os.cpu_count(),
        "physical_cores": None,
        "flags": [],
        "max_mhz": None,
        "cache": {"l1d": None, "l2": None, "l3": None},
    }
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    fields: dict[str, str] = {}
    cores = set()
    physical_id = "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "physical id":
            physical_id = value
        elif key == "core id":
            cores.add((physical_id, value))
        fields.setdefault(key, value)
    info["model"] = fields.get("model name") or fields.get("Model") or platform.processor() or None
    info["vendor"] = fields.get("vendor_id") or fields.get("CPU implementer")
    flags = (fields.get("flags") or fields.get("Features") or "").split()
    info["flags"] = sorted(f for f in flags if _SIMD_FLAG.match(f))
    info["physical_cores"] = len(cores) or None
    if shutil.which("lscpu"):
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, env={**os.environ, "LC_ALL": "C"}).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "Model name" and not info["model"]:
                info["model"] = value
            elif key == "CPU max MHz":
                info["max_mhz"] = value
            elif key == "L1d cache":
                info["cache"]["l1d"] = value
            elif key == "L2 cache":
                info["cache"]["l2"] = value
            elif key == "L3 cache":
                info["cache"]["l3"] = value
    return info


def _memory() -> dict[str, Any]:
    out: dict[str, Any] = {"total_bytes": None, "available_bytes": None}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "MemTotal":
                out["total_bytes"] = int(value.split()[0]) * 1024
            elif key == "MemAvailable":
                out["available_bytes"] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return out


def _numpy() -> tuple[dict[str, Any], dict[str, Any] | None]:
    import numpy as np

    info: dict[str, Any] = {"version": np.__version__, "simd_baseline": None, "simd_dispatch": None, "simd_active": None}
    try:
        from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__  # type: ignore[no-redef]
    info["simd_baseline"] = list(__cpu_baseline__)
    info["simd_dispatch"] = list(__cpu_dispatch__)
    info["simd_active"] = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    info["simd_disabled_by_env"] = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split()
    blas_build: dict[str, Any] | None = None
    try:
        config: Any = np.show_config(mode="dicts")
        blas_build = config.get("Build Dependencies", {}).get("blas")
    except Exception:  # show_config's dict mode is NumPy >= 1.26
        blas_build = None
    return info, blas_build


def _blas() -> list[dict[str, Any]]:
    try:
        import threadpoolctl
    except ImportError:
        return []
    import numpy  # noqa: F401  # loads NumPy's BLAS so threadpoolctl can see it

    return [dict(lib) for lib in threadpoolctl.threadpool_info()]


def _libraries() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _backends() -> dict[str, dict[str, str]]:
    import backends

    described: dict[str, dict[str, str]] = {}
    for name in backends.available():
        try:
            described[name] = {str(k): str(v) for k, v in backends.get(name).describe().items()}
        except Exception as exc:  # a backend that cannot start is itself provenance
            described[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return described


def _gpus() -> list[dict[str, Any]]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    query = "name,driver_version,memory.total,compute_cap,uuid"
    try:
        out = subprocess.run(
            [smi, f"--query-gpu={query}", "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, driver, memory, cap, uuid = ([*(p.strip() for p in line.split(",")), None, None, None, None, None])[:5]
        gpus.append(
            {
                "name": name,
                "driver_version": driver,
                "memory_total_mib": int(memory) if memory and memory.isdigit() else memory,
                "compute_capability": cap,
                "uuid": uuid,
            }
        )
    return gpus


def probe(
    *, commit_hash: str | None = None, env_name: str | None = None, machine: str | None = None, with_backends: bool = True
) -> dict[str, Any]:
    """Everything this process can tell about what a benchmark run here executes on.

    ``with_backends=False`` skips ``describe()`` of each backend (which imports the
    frameworks). Never raises for a missing piece: it is ``null`` and ``errors`` says why.
    """
    errors: dict[str, str] = {}

    def attempt(section: str, fn: Any, default: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            errors[section] = f"{type(exc).__name__}: {exc}"
            return default

    numpy_info, blas_build = attempt("numpy", _numpy, ({}, None))
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "captured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit_hash": commit_hash or os.environ.get("ASV_COMMIT"),
        "env_name": env_name or os.environ.get("ASV_ENV_NAME"),
        "machine": machine,
        "simd_setting": os.environ.get("TENSORSCOPE_SIMD", "on"),
        "thread_setting": os.environ.get("TENSORSCOPE_THREADS", "all"),
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "python_implementation": platform.python_implementation(),
            "python_version": platform.python_version(),
            "python_executable": sys.executable,
            "hostname": socket.gethostname(),
        },
        "cpu": attempt("cpu", _cpu, {}),
        "memory": _memory(),
        "numpy": numpy_info,
        "blas": attempt("blas", _blas, []),
        "blas_build": blas_build,
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(ENV_PREFIXES)},
        "libraries": _libraries(),
        "backends": attempt("backends", _backends, {}) if with_backends else {},
        "gpus": attempt("gpus", _gpus, []),
        "errors": errors,
    }
    return data


def write(path: str | os.PathLike[str], data: dict[str, Any] | None = None, **probe_kwargs: Any) -> Path:
    """Write ``data`` (default: a fresh :func:`probe`) as JSON to ``path``, atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data if data is not None else probe(**probe_kwargs)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backends.provenance", description="Report what a benchmark run here executes on.")
    parser.add_argument("--output", help="write the JSON here (default: print it)")
    parser.add_argument("--commit", help="commit hash the file describes")
    parser.add_argument("--env-name", help="asv environment name the file describes")
    parser.add_argument("--machine", help="asv machine name")
    parser.add_argument("--no-backends", action="store_true", help="skip Backend.describe() (imports no framework)")
    args = parser.parse_args(argv)
    data = probe(commit_hash=args.commit, env_name=args.env_name, machine=args.machine, with_backends=not args.no_backends)
    if args.output:
        write(args.output, data)
    else:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
