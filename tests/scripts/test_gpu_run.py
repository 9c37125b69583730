"""scripts/gpu_run.sh and scripts/gpu_pack.py: the wheel check, packing for the trip back,
and a step under its time limit, all without a GPU (the GPU steps themselves run only there)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_run.sh"


def _load_packer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_pack", ROOT / "scripts" / "gpu_pack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_pack"] = module
    spec.loader.exec_module(module)
    return module


gpu_pack = _load_packer()

#: Requires-Dist of the real wheels (as their METADATA says), enough to close the set.
REQUIRES = {
    "asv": ["asv-runner>=0.2.5", "json5", "build", "tabulate", "virtualenv", "packaging", "importlib-metadata",
            'tomli; python_version < "3.11"', 'pyyaml; platform_python_implementation != "PyPy"',
            'pympler; platform_python_implementation != "PyPy"'],
    "importlib-metadata": ["zipp>=3.20", 'lazy-importer>=0.1; python_version < "3.15"', 'pytest>=6; extra == "test"'],
    "virtualenv": ["distlib<1,>=0.4.3", "filelock<5,>=3.24.2", "packaging>=26.3", "platformdirs<5,>=4.4", "python-discovery>=1.6.1"],
    "python-discovery": ["filelock>=3.16.1"],
}  # fmt: skip
TAGS = {"asv": "cp36-abi3-manylinux2014_x86_64", "orjson": "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"}


def make_wheel(folder: Path, name: str, version: str, tags: str = "py3-none-any", requires: list[str] | None = None) -> Path:
    """A wheel file with just a METADATA (all the check reads)."""
    stem = name.replace("-", "_")
    path = folder / f"{stem}-{version}-{tags}.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires or [])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{stem}-{version}.dist-info/METADATA", metadata)
    return path


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name, version in gpu_pack.WHEELS.items():
        make_wheel(folder, name, version, TAGS.get(name, "py3-none-any"), REQUIRES.get(name))
    (folder / "build").mkdir()
    for name, version in gpu_pack.BUILD_WHEELS.items():
        make_wheel(folder / "build", name, version, requires=['pytest>=6; extra == "test"'])
    return folder


# -- the wheels ---------------------------------------------------------------------------


def test_a_complete_wheel_folder_passes(wheels: Path) -> None:
    assert gpu_pack.check_wheels(wheels) == []


def test_the_check_names_each_problem(wheels: Path) -> None:
    next(wheels.glob("json5-*.whl")).unlink()
    make_wheel(wheels, "orjson", "3.12.0", "cp312-cp312-manylinux_2_17_x86_64")  # a second version
    next(wheels.glob("pympler-*.whl")).unlink()
    make_wheel(wheels, "pympler", "1.1", "cp311-cp311-manylinux2014_x86_64")  # built for another Python
    make_wheel(wheels, "extra-tool", "1.0", requires=["not-on-the-machine>=1"])
    next((wheels / "build").glob("setuptools-*.whl")).unlink()  # the build backend, in build/
    next(wheels.glob("distlib-*.whl")).unlink()
    make_wheel(wheels, "distlib", "1.2")  # outside virtualenv's distlib<1
    problems = "\n".join(gpu_pack.check_wheels(wheels))
    assert "json5==0.17.3: wheel missing" in problems
    assert f"setuptools=={gpu_pack.BUILD_WHEELS['setuptools']}: wheel missing" in problems
    assert "orjson: 2 wheels" in problems
    assert "pympler-1.1-cp311-cp311-manylinux2014_x86_64.whl: does not install on CPython 3.12" in problems
    assert "extra-tool needs not-on-the-machine>=1: neither carried nor on the GPU machine" in problems
    assert "distlib: wheel is version 1.2, pinned 0.4.4" in problems
    assert "virtualenv needs distlib<1,>=0.4.3, carried distlib is 1.2" in problems


def test_a_missing_folder_says_how_to_fill_it(tmp_path: Path) -> None:
    assert gpu_pack.check_wheels(tmp_path / "none") == [f"{tmp_path / 'none'}: no such folder (run: bash scripts/gpu_run.sh --prepare)"]


@pytest.mark.parametrize(
    ("python", "abi", "platform", "fits"),
    [
        ("cp312", "cp312", "manylinux_2_17_x86_64.manylinux2014_x86_64", True),
        ("cp36", "abi3", "manylinux2014_x86_64", True),  # stable ABI: any later CPython
        ("py2.py3", "none", "any", True),
        ("py3", "none", "any", True),
        ("cp311", "cp311", "manylinux2014_x86_64", False),  # another CPython's ABI
        ("cp313", "abi3", "manylinux2014_x86_64", False),  # needs a newer CPython
        ("cp312", "cp312", "manylinux_2_40_x86_64", False),  # newer glibc than Ubuntu 24.04's 2.39
        ("cp312", "cp312", "manylinux_2_28_aarch64", False),
        ("cp312", "cp312", "macosx_11_0_x86_64", False),
    ],
)
def test_wheel_tags_for_the_gpu_machine(python: str, abi: str, platform: str, fits: bool) -> None:
    assert gpu_pack._tag_fits(python, abi, platform, (3, 12), (2, 39)) is fits


def test_the_pinned_wheels_are_this_environments_versions() -> None:
    """The GPU machine runs the asv this project's results were made with."""
    import importlib.metadata

    for name in ("asv", "asv-runner", "orjson"):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"{name} is not installed here")
        assert gpu_pack.WHEELS[name] == installed, f"{name}: pinned {gpu_pack.WHEELS[name]}, this environment has {installed}"


# -- packing -------------------------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.backends.test_gpu" name="test_smoke_conformance_on_the_device[torch:cuda-exp]"/>
<testcase classname="tests.backends.test_gpu" name="test_smoke_conformance_on_the_device[cupy-exp]"/>
<testcase classname="tests.backends.test_conformance" name="test_unary[torch:cuda-erf-float32]">
  <failure message="AssertionError: torch:cuda erf: values differ&#10;second line">trace</failure></testcase>
<testcase classname="tests.backends.test_conformance" name="test_unary[jax:gpu-erf-float32]">
  <skipped type="pytest.skip" message="jax:gpu: jax has no gpu device"/></testcase>
<testcase classname="tests.backends.test_conformance" name="test_unary[jax:gpu-exp-float32]">
  <skipped type="pytest.skip" message="jax:gpu: jax has no gpu device"/></testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def run_files(tmp_path: Path) -> tuple[Path, Path]:
    """A logs folder and a results folder as a run leaves them."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "header.txt").write_text("tensorscope GPU run, started 2026-01-01 00:00:00 UTC\n")
    steps = [
        ("install", "ok", "12", "setup.log", ""),
        ("tests", "failed", "90", "tests.log", "exit status 1"),
        ("bench-1", "timed-out", "200", "bench.log", "stopped at its 200 s limit"),
        ("bench-2", "skipped", "0", "bench.log", "no time left in the 470 s budget"),
    ]
    (logs / "steps.tsv").write_text("".join("\t".join(row) + "\n" for row in steps))
    probe = {
        "gpus": [{"name": "NVIDIA H200", "driver_version": "580.159.04", "memory_total_mib": 143771, "compute_capability": "9.0"}],
        "cpu": {"model": "AMD EPYC", "logical_cores": 16},
        "libraries": {"torch": "2.11.0", "cupy-cuda13x": "14.2.0", "jax": None},
        "backends": {"cupy": {"device_name": "NVIDIA H200", "cuda_runtime_version": "13000", "cupy_distribution": "cupy-cuda13x"}},
        "errors": {},
    }
    (logs / "provenance.json").write_text(json.dumps(probe))
    (logs / "setup.log").write_text("installed\n")
    (logs / "probe.log").write_text("nvidia-smi output\n")
    (logs / "tests.log").write_text("".join(f"line {i}\n" for i in range(100)) + "FAILED test_unary[torch:cuda-erf-float32]\n")
    (logs / "tests-junit.xml").write_text(JUNIT)
    (logs / "bench.log").write_text("asv output\n")
    for extra in ("a.log", "b.log"):
        (logs / extra).write_text(extra)
    results = tmp_path / "results"
    machine = results / "h200 box"  # a name with a space: the archive's name must stay plain
    (machine / "provenance").mkdir(parents=True)
    (machine / "machine.json").write_text("{}")
    result = {"results": {"bench_binary.Binary.time_op": [[1.5e-06, float("nan"), None], [["'numpy'"]]]}}
    (machine / "abc123-existing-py.json").write_text(json.dumps(result))  # NaN as asv writes it
    (machine / "provenance" / "abc123-existing-py.json").write_text("{}")
    (results / "benchmarks.json").write_text("{}")
    (results / "other-machine").mkdir()
    (results / "other-machine" / "machine.json").write_text("{}")
    return logs, results


def test_pack_writes_at_most_eight_plain_named_files(run_files: tuple[Path, Path], tmp_path: Path) -> None:
    logs, results = run_files
    out = tmp_path / "out"
    written = gpu_pack.pack(logs, results, "h200 box", out)
    names = sorted(p.name for p in out.iterdir())
    assert len(names) <= gpu_pack.MAX_FILES and sorted(p.name for p in written) == names
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) for n in names)
    assert {"summary.txt", "provenance.json", "setup.log", "tests.log", "bench.log", "results-h200_box.tar.gz", "more-logs.tar.gz"} <= set(
        names
    )
    with tarfile.open(out / "results-h200_box.tar.gz") as tar:
        members = set(tar.getnames())
    assert {"results/h200 box/machine.json", "results/h200 box/abc123-existing-py.json", "results/benchmarks.json"} <= members
    assert "results/h200 box/provenance/abc123-existing-py.json" in members
    assert not any("other-machine" in m for m in members)
    with tarfile.open(out / "more-logs.tar.gz") as tar:
        overflow = set(tar.getnames())
    assert overflow and overflow.isdisjoint(names)
    assert overflow | {n for n in names if (logs / n).exists()} == {p.name for p in logs.iterdir()} - {"steps.tsv", "header.txt"}


def test_summary_reports_steps_gpu_tests_and_results(run_files: tuple[Path, Path], tmp_path: Path) -> None:
    logs, results = run_files
    gpu_pack.pack(logs, results, "h200 box", tmp_path / "out")
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "tensorscope GPU run, started" in summary
    assert re.search(r"tests\s+failed\s+90 s\s+exit status 1", summary)
    assert re.search(r"bench-1\s+timed-out\s+200 s\s+stopped at its 200 s limit", summary)
    assert "GPU 0: NVIDIA H200, driver 580.159.04, 143771 MiB, compute capability 9.0" in summary
    assert "backend cupy: device_name=NVIDIA H200, cuda_runtime_version=13000, cupy_distribution=cupy-cuda13x" in summary
    assert "torch:cuda: 1 / 1 / 0" in summary and "cupy: 1 / 0 / 0" in summary and "jax:gpu: 0 / 0 / 2" in summary
    assert "test_unary[torch:cuda-erf-float32]: AssertionError: torch:cuda erf: values differ" in summary
    assert "2 x jax:gpu: jax has no gpu device" in summary
    assert "abc123-existing-py.json: 1 benchmarks; cells 1 measured, 1 skipped or not selected, 1 failed" in summary
    assert "== last lines of tests.log (tests: failed)" in summary and "FAILED test_unary[torch:cuda-erf-float32]" in summary
    assert "last lines of bench.log (bench-1: timed-out)" in summary


def test_summary_without_anything_says_what_is_missing(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    text = gpu_pack.summary_text(logs, tmp_path / "results", "m")
    assert "no provenance.json" in text
    assert "no test report" in text
    assert f"{tmp_path / 'results' / 'm'}: no results" in text


def test_a_log_over_the_limit_keeps_its_head_and_tail(tmp_path: Path) -> None:
    source = tmp_path / "big.log"
    source.write_bytes(b"HEAD" + b"x" * 100_000 + b"TAIL")
    target = tmp_path / "cut.log"
    gpu_pack._copy_limited(source, target, limit=10_000)
    data = target.read_bytes()
    assert data.startswith(b"HEAD") and data.endswith(b"TAIL")
    assert len(data) <= 10_000 + 200 and b"bytes cut by gpu_pack.py" in data


# -- the script ------------------------------------------------------------------------------


def _bash(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", code], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture
def script_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "OUT": str(tmp_path / "out"), "GPU_PYTHON": sys.executable, "GPU_MACHINE": "test-box", "TMPDIR": str(tmp_path)}


def test_a_step_past_its_limit_is_stopped_recorded_and_packed(script_env: dict[str, str], tmp_path: Path) -> None:
    code = f"""
        source {SCRIPT}
        LOGS=$(mktemp -d) DEADLINE=$(( $(date +%s) + 300 ))
        run_step hang hang.log 2 bash -c 'sleep 60 & sleep 60'
        run_step quick quick.log 30 echo fine
        cat "$LOGS/steps.tsv"
    """
    start = time.monotonic()
    done = _bash(code, script_env)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 30  # the background sleep of the stopped step holds nothing up
    rows = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
    assert rows[0][:2] == ["hang", "timed-out"] and rows[0][4] == "stopped at its 2 s limit"
    assert rows[1][:2] == ["quick", "ok"]
    assert (tmp_path / "out" / "summary.txt").is_file() and (tmp_path / "out" / "quick.log").read_text().endswith("fine\n")


def test_a_step_is_skipped_when_the_budget_is_spent(script_env: dict[str, str]) -> None:
    code = f"""
        source {SCRIPT}
        LOGS=$(mktemp -d) DEADLINE=$(( $(date +%s) + 20 ))
        run_step late late.log 60 echo never
        cat "$LOGS/steps.tsv"
    """
    done = _bash(code, script_env)
    assert "late\tskipped\t0\tlate.log\tno time left" in done.stdout
    assert "never" not in done.stdout


def test_a_run_with_no_steps_still_packs_and_a_failed_step_fails_it(script_env: dict[str, str], tmp_path: Path) -> None:
    done = _bash(f"GPU_STEPS='' bash {SCRIPT}", script_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plan: steps ''" in done.stdout
    assert (tmp_path / "out" / "summary.txt").read_text().startswith("tensorscope GPU run, started")
    # an interpreter whose pip installs nothing (this environment must stay untouched)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nif [ "$2" = pip ]; then echo "pip: refused by the test" >&2; exit 1; fi\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    env = {**script_env, "GPU_PYTHON": str(python), "GPU_STEPS": "setup"}
    done = _bash(f"bash {SCRIPT}", env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"install\s+failed", (tmp_path / "out" / "summary.txt").read_text())


def test_when_packing_fails_the_raw_logs_still_come_back(script_env: dict[str, str], tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\ncase "$1" in *gpu_pack.py) exit 1 ;; esac\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    done = _bash(f"GPU_STEPS='' bash {SCRIPT}", {**script_env, "GPU_PYTHON": str(python)})
    assert f"packing into {tmp_path / 'out'} failed" in done.stdout
    assert (tmp_path / "out" / "summary.txt").read_text().startswith("tensorscope GPU run, started")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_a_stale_git_that_arrives_is_moved_to_the_bundled_commit(script_env: dict[str, str], tmp_path: Path) -> None:
    # Seen on the H200: the files were the new commit's, the .git beside them the old one's,
    # and asv named the results after the old commit.
    source = tmp_path / "source"
    (source / "scripts").mkdir(parents=True)
    (source / "scripts" / "gpu_run.sh").write_text(SCRIPT.read_text())
    (source / ".gitignore").write_text(".gpu-wheels/\n")
    (source / "kernel.py").write_text("old\n")
    _git(source, "init", "-q", "-b", "main")
    _git(source, "add", "-A")
    _git(source, "commit", "-q", "-m", "old")
    old = _git(source, "rev-parse", "HEAD")
    (source / "kernel.py").write_text("new\n")
    _git(source, "commit", "-q", "-am", "new")
    new = _git(source, "rev-parse", "HEAD")
    wheels = source / ".gpu-wheels"
    wheels.mkdir()
    _git(source, "bundle", "create", str(wheels / "repo.bundle"), "HEAD")
    (wheels / "COMMIT").write_text(new + "\n")
    # what arrives there: the new files beside a .git that knows only the old commit
    arrived = tmp_path / "arrived"
    _git(tmp_path, "clone", "-q", "--no-local", "--single-branch", "--branch", "main", str(source), str(arrived))
    _git(arrived, "reset", "-q", "--hard", old)
    _git(arrived, "reflog", "expire", "--expire=now", "--all")
    _git(arrived, "gc", "-q", "--prune=now")
    subprocess.run(["cp", "-r", str(wheels), str(arrived / ".gpu-wheels")], check=True)
    # files that are not the bundled commit's (a developer's checkout): HEAD is left alone
    kept = subprocess.run(
        ["bash", str(arrived / "scripts" / "gpu_run.sh"), "--step", "git"], env=script_env, capture_output=True, text=True, timeout=60
    )
    assert "HEAD left as it is" in kept.stdout, kept.stdout + kept.stderr
    assert _git(arrived, "rev-parse", "HEAD") == old
    (arrived / "kernel.py").write_text("new\n")

    done = subprocess.run(
        ["bash", str(arrived / "scripts" / "gpu_run.sh"), "--step", "git"], env=script_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"HEAD was {old}" in done.stdout and f"moved to {new}" in done.stdout
    assert _git(arrived, "rev-parse", "HEAD") == new
    assert _git(arrived, "status", "--porcelain", "--untracked-files=no") == ""  # the files are that commit's
    assert (arrived / "kernel.py").read_text() == "new\n"
