"""numba:cuda (our own CUDA kernels) without a GPU: registry behaviour here, kernels in numba-cuda's simulator.

The simulator must be chosen before ``numba.cuda`` is first imported, so the kernel tests
run in a fresh interpreter with ``NUMBA_ENABLE_CUDASIM=1``: the conformance suite for
numba:cuda on the ops it implements (a share of its cases, to keep the default run short:
``TENSORSCOPE_CUDASIM_ALL=1`` runs every case) and ``numba_cuda_sim_checks.py`` (launch
boundaries, row splits, ties). On a machine with a GPU, ``BENCH_BACKENDS=numba:cuda pytest
-m gpu tests/backends`` runs the same suite on the device (scripts/gpu_run.sh does).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import backends
from backends import _registry

ROOT = Path(__file__).resolve().parents[2]

needs_numba_cuda = pytest.mark.skipif(
    importlib.util.find_spec("numba_cuda") is None, reason="numba-cuda is not installed (pip install -e '.[numba-cuda]')"
)


def _share() -> list[str]:
    """The default run's share of the conformance cases, as pytest node ids.

    One case of every (op, dtype) pair (the case picked by a hash of the pair, so shapes vary
    from pair to pair) plus every special-value case (NaN, infinities): every kernel of every
    dtype runs, in about an eighth of the suite's time here.
    """
    import test_conformance  # tests/backends is on sys.path (pytest's rootdir-relative import)

    groups: dict[tuple[str, str], list[str]] = {}
    for case in test_conformance.CASES:
        groups.setdefault((case.op, case.name.split("-")[0]), []).append(case.id)
    chosen = {ids[zlib.crc32("-".join(key).encode()) % len(ids)] for key, ids in groups.items()}
    chosen |= {case.id for case in test_conformance.CASES if "nan_inf" in case.name}
    test = "tests/backends/test_conformance.py::test_op_matches_reference"
    return [f"{test}[numba:cuda-{case_id}]" for case_id in sorted(chosen)]


def _simulated_pytest(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTEST_XDIST", "BENCH_BACKENDS"))}
    env.update(NUMBA_ENABLE_CUDASIM="1", BENCH_BACKENDS="numba:cuda", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--tb=short", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False)


def test_names_and_device() -> None:
    assert "numba" in backends.known() and "numba:cuda" in backends.known()
    assert _registry.builtin_names().index("numba:cuda") == _registry.builtin_names().index("numba") + 1
    assert _registry.is_gpu("numba:cuda") and not _registry.is_gpu("numba")


@pytest.mark.skipif(_registry._gpu_present(), reason="a GPU is present here")
def test_unavailable_without_gpu_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    _registry._reset_for_tests()
    assert "numba:cuda" not in backends.available()
    with pytest.raises(backends.BackendUnavailable, match=r"numba:cuda.*no NVIDIA GPU"):
        backends.get("numba:cuda")
    assert backends.get("numba").name == "numba"  # the CPU backend is untouched


@needs_numba_cuda
def test_simulator_switch_makes_it_available(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing only: nothing is built, so numba.cuda is not imported in this process."""
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert "numba:cuda" in backends.available()
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    assert ("numba:cuda" in backends.available()) == _registry._gpu_present()


def test_missing_numba_cuda_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba_cuda" else real(name, *a))
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    _registry._reset_for_tests()
    assert "numba:cuda" not in backends.available()
    with pytest.raises(backends.BackendUnavailable, match=r"numba_cuda not installed.*tensorscope\[numba-cuda\]"):
        backends.get("numba:cuda")
    _registry._reset_for_tests()


@needs_numba_cuda
@pytest.mark.slow
def test_conformance_in_the_simulator() -> None:
    """The conformance suite on numba:cuda, every kernel run by numba-cuda's simulator."""
    every = os.environ.get("TENSORSCOPE_CUDASIM_ALL") == "1"
    res = _simulated_pytest(*(["tests/backends/test_conformance.py"] if every else _share()), timeout=1200)
    tail = (res.stdout + res.stderr)[-6000:]
    assert res.returncode == 0, tail
    assert " passed" in tail and "numba:cuda: " in tail, tail  # it ran, on numba:cuda


@needs_numba_cuda
@pytest.mark.slow
def test_kernel_paths_in_the_simulator() -> None:
    res = _simulated_pytest("tests/backends/numba_cuda_sim_checks.py", timeout=600)
    tail = (res.stdout + res.stderr)[-6000:]
    assert res.returncode == 0, tail
    assert " passed" in tail and "skipped" not in tail.splitlines()[-1], tail


@needs_numba_cuda
@pytest.mark.slow
def test_targets_script_dry_run_in_the_simulator(tmp_path: Path) -> None:
    """scripts/measure_gpu_targets.py end to end on tiny sizes: cells, copy roof, targets (torch:cuda absent: n/a)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    out = tmp_path / "targets.json"
    cmd = [sys.executable, "scripts/measure_gpu_targets.py", "--size", "500", "--square", "8", "--small", "50"]
    cmd += ["--number", "1", "--repeat", "1", "--ops", "add,softmax", "--output", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["simulated"] is True and data["copy"]["best"] > 0
    cells = {(c["backend"], c["op"], c["size"]) for c in data["cells"]}
    assert {
        ("numba:cuda", "softmax", "500"),
        ("numba:cuda", "softmax", "(8, 8)"),
        ("numba:cuda", "add", "500"),
        ("numba:cuda", "add", "50"),
    } <= cells
    targets = {t["target"]: t for t in data["targets"]}
    assert targets["add float32 500: share of copy bandwidth"]["met"] in (True, False)  # measured, whatever the simulator gives
    assert targets["softmax 500: numba:cuda / torch:cuda throughput"]["met"] is None  # torch:cuda unavailable here
    assert "unavailable" in data["backends"]["torch:cuda"]
    spec = importlib.util.spec_from_file_location("gpu_pack_for_targets", ROOT / "scripts" / "gpu_pack.py")
    assert spec is not None and spec.loader is not None
    gpu_pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_pack)
    lines = gpu_pack.targets_lines(out)
    assert lines[0].startswith("copy roof ") and any(line.startswith("n/a    softmax 500") for line in lines)


def test_targets_script_rejects_unknown_ops(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "scripts/measure_gpu_targets.py", "--ops", "add,nope", "--output", str(tmp_path / "t.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert res.returncode == 2 and "unknown op(s) nope" in res.stderr


def _ptx_libraries() -> bool:
    """NVIDIA's NVRTC and NVVM wheels (for CUDA 12 or 13) are installed: kernels compile to PTX without a GPU."""
    names = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    return any(n.startswith("nvidia-cuda-nvrtc") for n in names) and any(n.startswith(("nvidia-nvvm", "nvidia-cuda-nvcc")) for n in names)


@needs_numba_cuda
@pytest.mark.slow
@pytest.mark.skipif(not _ptx_libraries(), reason="NVRTC/NVVM not installed (pip install nvidia-cuda-nvrtc nvidia-nvvm: several hundred MB)")
def test_every_kernel_compiles_to_ptx_for_sm90() -> None:
    """What the simulator cannot see: each kernel, for each dtype, typed and compiled as a launch on an H100/H200 would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    res = subprocess.run(
        [sys.executable, "tests/backends/numba_cuda_ptx_check.py"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]
    assert " kernels compile to PTX for sm_90" in res.stdout
