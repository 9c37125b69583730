"""The asv suite's shape: coverage of the catalog, fixed params, profiles, honest setup."""

from __future__ import annotations

import importlib
import itertools
import json
import math
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import backends
import benchmarks
from backends.numpy_backend import NumpyBackend
from benchmarks import _env, cases, common
from tensorscope import environment

ROOT = Path(__file__).resolve().parents[2]

#: asv's own discovery of the suite (what goes into results/benchmarks.json)
_DISCOVER = """
import io, json, sys
from asv_runner.discovery import list_benchmarks
out = io.StringIO()
list_benchmarks(sys.argv[1], out)
print(out.getvalue())
"""


def _bench_modules() -> list[Any]:
    return [
        importlib.import_module(f"benchmarks.{m.name}") for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    ]


def _classes(kind: type) -> list[tuple[str, type]]:
    found = []
    for mod in _bench_modules():
        for name, cls in vars(mod).items():
            if isinstance(cls, type) and issubclass(cls, kind) and cls.__module__ == mod.__name__:
                found.append((f"{mod.__name__}.{name}", cls))
    return found


def _timed() -> list[tuple[str, type]]:
    return [(n, c) for n, c in _classes(common.OpBenchmark) if any(k.startswith("time_") for k in vars(c))]


def _discovered(profile: str, **env: str) -> list[dict[str, Any]]:
    """asv_runner's discovery of the suite under ``TENSORSCOPE_PROFILE=profile``, in a child interpreter."""
    full = dict(os.environ, TENSORSCOPE_PROFILE=profile, TENSORSCOPE_PRELOAD="0", PYTHONPATH=str(ROOT), **env)
    out = subprocess.run([sys.executable, "-c", _DISCOVER, str(ROOT / "benchmarks")], env=full, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_catalog_op_is_timed() -> None:
    timed = {op for _, cls in _timed() for op in cls.params[1]}
    assert set(backends.OPS) - timed == set()


def test_cases_follow_the_catalogs_input_rule() -> None:
    """Every op's arrays have the shapes and dtypes the catalog's size -> input rule gives, and its arguments."""
    for op, spec in backends.OPS.items():
        dtype = next(d for d in ("float32", "int32", "bool", "complex64") if d in spec.dtypes)
        size = {"elements": 10_000, "matrix": 64, "fft": 1024}[spec.kind]
        case = cases.make_case(op, size, dtype)
        inputs = backends.benchmark_inputs(op, size, dtype)
        flat = [i for t in inputs.tensors for i in ((t,) if hasattr(t, "dtype") else t)]
        assert [(a.shape, str(a.dtype)) for a in case.arrays()] == [(i.shape, i.dtype) for i in flat], op
        assert case.params == inputs.args and dict(case.kwargs) == dict(inputs.kwargs), op


def test_an_op_with_a_plain_domain_needs_no_builder() -> None:
    """Values come from the op's catalog domain unless the op needs more (cases.py builders)."""
    x = cases.make_case("log", 10_000, "float64").tensors[0]
    low, high = backends.OPS["log"].domain
    assert low <= x.min() and x.max() < high
    assert "log" not in cases._BUILDERS and "divide" in cases._BUILDERS


def test_backend_axis_is_the_registrys_builtins_then_plugins() -> None:
    from backends import _registry

    assert (*_registry.builtin_names(), *_registry.entry_point_names()) == common.BACKENDS
    assert common.BACKENDS[:9] == ("python", "numpy", "numba", "numba:cuda", "torch:cpu", "torch:cuda", "jax:cpu", "jax:gpu", "cupy")
    for name, cls in _classes(common.BackendBenchmark):
        if cls.param_names[:1] == ("backend",):
            assert tuple(cls.params[0]) == common.BACKENDS, name


def test_params_are_identical_in_every_profile() -> None:
    """asv's discovery (params, names, versions, timeouts, sampling attributes) does not depend on the profile."""
    discovered = {profile: _discovered(profile) for profile in common.PROFILES}
    first = discovered["full"]
    assert len(first) > 40
    for profile, found in discovered.items():
        assert found == first, f"discovery under the {profile} profile differs from full"


def test_profiles_choose_cells_of_the_grid() -> None:
    quick, full, gpu = (common.selected_cells(p) for p in ("quick", "full", "gpu"))
    count = {name: sum(len(c) for c in cells.values()) for name, cells in (("quick", quick), ("full", full), ("gpu", gpu))}
    assert count["quick"] < count["full"] / 5 and count["gpu"] < count["full"] / 5
    # every timed class runs in quick (the quick ops cover each), and quick's op cells are full's
    assert {n for n in full if n.endswith("time_op")} == {n for n in quick if n.endswith("time_op")}
    for name, cells in quick.items():
        if not name.startswith("bench_calibration"):
            assert set(cells) <= set(full[name]), name
    # the gpu profile: GPU-sized cells on GPU backends only; 8192 matmul in float32 and bfloat16
    linalg = gpu["bench_linalg.Linalg.time_op"]
    assert ("torch:cuda", "matmul", 8192, "float32") in linalg and ("torch:cuda", "matmul", 8192, "bfloat16") in linalg
    assert ("jax:gpu", "matmul", 8192, "bfloat16") in linalg and ("numpy", "matmul", 8192, "float32") not in linalg
    assert ("numpy", "matmul", 2048, "float32") in linalg
    add = gpu["bench_binary.Binary.time_op"]
    assert ("cupy", "add", 100_000_000, "float32") in add and ("numba", "add", 100_000_000, "float32") not in add
    assert 100_000_000 * 4 >= 256 * 2**20  # add's arrays on the GPU: at least 256 MiB each
    assert {c[0] for c in gpu["bench_calibration.GpuGemm.track_gpu_gemm_flops"]} == {"float32", "float64", "bfloat16"}
    assert gpu["bench_calibration.GpuBandwidth.track_gpu_bandwidth"] == [("copy", 1024)]


def test_calibration_sizes_are_parameters_not_profiles() -> None:
    from benchmarks.bench_calibration import Bandwidth, Gemm, GpuBandwidth

    assert Bandwidth.params[2] == (64, 256) and Gemm.params[2] == (1024, 2048) and GpuBandwidth.params[1] == (256, 1024)
    assert [c[2] for c in common.selected_cells("quick")["bench_calibration.Bandwidth.track_bandwidth"]] == [64] * 4
    assert [c[2] for c in common.selected_cells("full")["bench_calibration.Bandwidth.track_bandwidth"]] == [256] * 4


def test_a_cell_outside_the_profile_is_skipped_in_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_calibration import Bandwidth
    from benchmarks.bench_unary import Unary

    monkeypatch.setattr(common, "PROFILE", common.PROFILES["quick"])
    with pytest.raises(NotImplementedError, match="not in the quick profile"):
        Unary().setup("numpy", "exp", 100, "float32")  # 100 elements: full only
    with pytest.raises(NotImplementedError, match="not in the quick profile"):
        Unary().setup("numpy", "abs", 10_000, "float32")  # abs: not a quick op
    with pytest.raises(NotImplementedError, match="not in the quick profile"):
        Bandwidth().setup("copy", "1", 256)
    bench = Unary()
    bench.setup("numpy", "exp", 10_000, "float32")  # in quick: runs, with quick's sampling
    assert (bench.repeat, bench.sample_time) == (common.PROFILES["quick"].repeat, common.PROFILES["quick"].sample_time)


def _asv_selection(patterns: list[str]) -> dict[str, set[int]]:
    """Which cells asv itself runs for ``--bench patterns`` (asv.benchmarks.Benchmarks), by parameter index."""
    from asv.benchmarks import Benchmarks

    conf = type("Conf", (), {"benchmark_dir": str(ROOT / "benchmarks")})()
    chosen = Benchmarks(conf, _discovered("full"), regex=patterns)
    return {name: set(idx) for name, idx in chosen.benchmark_selection.items() if name in chosen and idx}


@pytest.mark.parametrize("profile", ["quick", "full", "gpu"])
def test_asv_patterns_select_exactly_the_profiles_cells(profile: str) -> None:
    expected = {}
    for name, cls, _method in common.benchmark_classes():
        product = list(itertools.product(*cls.params))
        idx = {i for i, cell in enumerate(product) if cls.selected(common.PROFILES[profile], *cell)}
        if idx:
            expected[name] = idx
    assert _asv_selection(common.asv_patterns(profile, backends=common.BACKENDS)) == expected


@pytest.mark.parametrize("gpu", [False, True])
def test_gpu_backends_are_started_only_where_there_is_a_gpu(monkeypatch: pytest.MonkeyPatch, gpu: bool) -> None:
    """Without an NVIDIA driver, asv is not handed the GPU backends' cells; the machine calibration stays."""
    from benchmarks._checkout import REGISTRY

    monkeypatch.setattr(REGISTRY, "_gpu_present", lambda: gpu)
    patterns = common.asv_patterns("full")
    chosen = _asv_selection(patterns)
    for name, cls, _method in common.benchmark_classes():
        product = list(itertools.product(*cls.params))
        started = {product[i] for i in chosen.get(name, set())}
        if cls.param_names[:1] != ("backend",):
            assert started == {c for c in product if cls.selected(common.PROFILES["full"], *c)}, name
            continue
        assert started, name
        on_gpu = {c for c in started if c[0] in ("torch:cuda", "jax:gpu", "cupy")}
        assert bool(on_gpu) == gpu, name
        cpu_cells = {
            c for c in product if cls.selected(common.PROFILES["full"], *c) and c[0] in ("python", "numpy", "numba", "torch:cpu", "jax:cpu")
        }
        assert cpu_cells <= started, name  # every CPU cell of the profile is still run


def test_params_are_plain_values() -> None:
    for name, cls in _classes(common.BackendBenchmark):
        for value in itertools.chain.from_iterable(cls.params):
            assert isinstance(value, str | int), (name, value)


@pytest.mark.parametrize(("name", "cls"), _timed(), ids=[n for n, _ in _timed()])
def test_numpy_cells_pass_the_reference_check(name: str, cls: type) -> None:
    _, ops, sizes, dtypes = cls.params
    full = common.PROFILES["full"]
    # each (op, dtype) at the smallest size the full profile times it
    cells = [
        (op, d, next(s for s in sizes if cls.selected(full, "numpy", op, s, d)))
        for op, d in itertools.product(ops, dtypes)
        if any(cls.selected(full, "numpy", op, s, d) for s in sizes)
    ]
    assert cells, name
    for op, dtype, size in cells:
        bench = cls()
        bench.setup("numpy", op, size, dtype)
        bench.time_op("numpy", op, size, dtype)
        assert bench.error <= common.tolerance(op, dtype)
        assert bench.number >= 1


class _WrongExp(NumpyBackend):
    name = "wrong-exp"

    def exp(self, x: np.ndarray) -> np.ndarray:
        return np.exp(x) * np.asarray(1.001, dtype=x.dtype)


@pytest.fixture
def fake_backends() -> Any:
    no_exp = type("NoExp", (NumpyBackend,), {})
    no_exp.implemented_ops = frozenset(NumpyBackend.implemented_ops - {"exp"})
    backends.register("wrongexp", _WrongExp)
    backends.register("noexp", no_exp)
    yield
    from backends import _registry

    for name in ("wrongexp", "noexp"):
        _registry._entries.pop(name, None)
    _registry._reset_for_tests()


def test_a_wrong_kernel_fails_setup_but_its_error_is_tracked(fake_backends: Any) -> None:
    from benchmarks.bench_unary import Unary, UnaryAccuracy

    with pytest.raises(common.WrongResult, match="exp"):
        Unary().setup("wrongexp", "exp", 1_000_000, "float32")
    acc = UnaryAccuracy()
    acc.setup("wrongexp", "exp", "float64")
    assert acc.track_max_rel_error("wrongexp", "exp", "float64") == pytest.approx(1e-3, rel=1e-2)


def test_cells_that_cannot_run_are_skipped(fake_backends: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_linalg import Linalg
    from benchmarks.bench_unary import Unary

    with pytest.raises(NotImplementedError, match="does not implement"):
        Unary().setup("noexp", "exp", 100, "float32")
    with pytest.raises(NotImplementedError, match="pure Python"):
        Unary().setup("python", "exp", 10_000_000, "float32")
    with pytest.raises(NotImplementedError, match="pure Python"):
        Linalg().setup("python", "matmul", 2048, "float32")
    monkeypatch.setattr(common, "_available_memory", lambda: 1000)
    with pytest.raises(NotImplementedError, match="GiB"):
        Unary().setup("numpy", "exp", 10_000, "float32")


def test_pure_python_runs_at_the_study_groups_sizes_and_no_larger() -> None:
    full = common.selected_cells("full")
    fused, linalg = full["bench_fused.Fused.time_op"], full["bench_linalg.Linalg.time_op"]
    assert ("python", "softmax", 1_000_000, "float32") in fused and ("numba", "softmax", 100_000, "float32") in fused
    for size in (10, 100, 256, 500):
        assert ("python", "matmul", size, "float32") in linalg and ("numpy", "matmul", size, "float32") in linalg
    assert ("numpy", "cholesky", 500, "float32") not in linalg  # the extra sizes are matmul's, not every linalg op's
    assert ("python", "multiply", 1_000, "float32") in full["bench_binary.Binary.time_op"]

    def too_big(op: str, size: int) -> bool:
        return common._too_big_for_python(op, size, common.CATALOG.OPS[op].benchmark_inputs(size, "float32"))

    assert not too_big("softmax", 1_000_000) and not too_big("add", 1_000_000) and not too_big("matmul", 500)
    assert too_big("add", 10_000_000) and too_big("matmul", 512) and too_big("sort", 1_000_000) and too_big("dense", 512)


def test_a_slow_call_takes_fewer_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_unary import Unary

    fast = Unary()
    fast.setup("numpy", "exp", 100, "float32")
    assert fast.repeat == common.PROFILE.repeat
    monkeypatch.setattr(common, "SLOW_CALL_SECONDS", 0.0)  # every call counts as slow
    slow = Unary()
    slow.setup("numpy", "exp", 100, "float32")
    assert slow.repeat == common.SLOW_CALL_REPEAT != common.PROFILE.repeat


def test_missing_backend_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_unary import Unary

    def unavailable(name: str) -> Any:
        raise backends.BackendUnavailable(name, "not installed")

    monkeypatch.setattr(backends, "get", unavailable)
    with pytest.raises(NotImplementedError, match="not installed"):
        Unary().setup("cupy", "exp", 100, "float32")


def test_setup_is_memoised_and_number_calibrated(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_unary import Unary

    bench = Unary()
    bench.setup("numpy", "exp", 100, "float32")
    run, number = bench.run, bench.number
    assert number > 10  # a microsecond op gets many calls per sample
    monkeypatch.setattr(common, "make_case", lambda *a: pytest.fail("setup re-ran"))
    bench.setup("numpy", "exp", 100, "float32")  # asv re-runs setup between timed calls
    assert bench.run is run


def test_relative_error() -> None:
    ref = np.array([1.0, 2.0, 0.0, np.nan, np.inf])
    assert common.relative_error(ref.copy(), ref) == 0.0
    assert common.relative_error(np.array([1.0, 2.002, 0.0, np.nan, np.inf]), ref) == pytest.approx(1e-3)
    assert common.relative_error(np.array([1.0, 2.0, 1e-9, np.nan, np.inf]), ref) < 1e-6  # judged at 1e-3 of the max
    assert common.relative_error(np.array([1.0, 2.0, 0.0, 1.0, np.inf]), ref) == math.inf
    assert common.relative_error(np.array([1, 2]), np.array([1, 3])) == math.inf


def test_relative_error_of_all_finite_arrays() -> None:
    ref = np.array([1.0, -2.0, 4.0])
    assert common.relative_error(np.array([1.0, -2.002, 4.0]), ref) == pytest.approx(1e-3)
    assert common.relative_error(np.array([1.0, np.nan, 4.0]), ref) == math.inf
    assert common.relative_error(np.array([1.0, -np.inf, 4.0]), ref) == math.inf
    # an all-zero reference is judged on the absolute difference
    assert common.relative_error(np.array([0.0, 1e-5]), np.zeros(2)) == pytest.approx(1e-5)
    assert common.relative_error(np.zeros(2, dtype=np.float32), np.zeros(2)) == 0.0


class _WrongLastRowSoftmax(NumpyBackend):
    name = "wrong-last-row-softmax"

    def softmax(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        out = super().softmax(x, axis).copy()
        out[-1] *= np.asarray(1.01, dtype=out.dtype)
        return out


def test_row_wise_check_samples_rows_and_still_sees_the_last_one() -> None:
    from benchmarks.bench_fused import Fused

    backends.register("wronglastrow", _WrongLastRowSoftmax)
    try:
        Fused().setup("numpy", "softmax", 1_000_000, "float32")  # sampled rows pass
        with pytest.raises(common.WrongResult, match="softmax"):
            Fused().setup("wronglastrow", "softmax", 1_000_000, "float32")
    finally:
        from backends import _registry

        _registry._entries.pop("wronglastrow", None)
        _registry._reset_for_tests()


def test_preload_imports_the_same_frameworks_whatever_backends_a_commit_has() -> None:
    # an old commit's registry knows only numpy: the fork server's baseline must not shrink
    code = (
        "import sys, backends; backends.available = lambda: ['numpy']; "
        "from benchmarks import common; common._preload_frameworks(); "
        "import importlib.util as u; "
        "print(all(m in sys.modules for m in common.PRELOAD_MODULES if u.find_spec(m.partition('.')[0])))"
    )
    out = _run(code, TENSORSCOPE_PROFILE="quick", TENSORSCOPE_PRELOAD="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"


_TORCH_AFTER_PRELOAD = (
    "import sys; from benchmarks import common; common._preload_frameworks(); "
    "print('torch' in sys.modules, 'backends.torch_backend' in sys.modules)"
)


def test_the_fork_server_does_not_import_torch_and_torch_cells_import_it() -> None:
    """Torch cells run in processes whose parent never loaded torch (the stall of issue 13)."""
    pytest.importorskip("torch", reason="torch is not installed")
    out = _run(_TORCH_AFTER_PRELOAD, TENSORSCOPE_PRELOAD="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
    # TENSORSCOPE_PRELOAD=all brings torch back, to compare the two
    assert _run(_TORCH_AFTER_PRELOAD, TENSORSCOPE_PRELOAD="all").stdout.split() == ["True", "True"]
    # a forked cell imports torch itself and runs
    code = (
        "import os, sys; from benchmarks import common; common._preload_frameworks(); "
        "from benchmarks.bench_linalg import Linalg\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    b = Linalg(); b.setup('torch:cpu', 'matmul', 128, 'float32'); b.time_op('torch:cpu', 'matmul', 128, 'float32')\n"
        "    os._exit(0 if 'torch' in sys.modules and b.error < 1e-3 else 3)\n"
        "print(os.waitpid(pid, 0)[1] >> 8, 'torch' in sys.modules)"
    )
    forked = _run(code, TENSORSCOPE_PRELOAD="1")
    assert forked.stdout.split() == ["0", "False"], forked.stdout + forked.stderr


def test_a_bad_preload_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORSCOPE_PRELOAD", "torch-only")
    with pytest.raises(ValueError, match="TENSORSCOPE_PRELOAD must be 1"):
        common.preload_modules()


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "TENSORSCOPE_SIMD")}
    full.update({"PYTHONPATH": str(ROOT), "TENSORSCOPE_PRELOAD": "0", **env})
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, cwd=ROOT)


_ACTIVE = "from numpy._core._multiarray_umath import __cpu_dispatch__ as d, __cpu_features__ as f; print([x for x in d if f[x]])"


def test_simd_off_disables_numpy_dispatch_before_import() -> None:
    out = _run(f"import benchmarks, os; {_ACTIVE}; print(os.environ['NPY_DISABLE_CPU_FEATURES'])", TENSORSCOPE_SIMD="off")
    assert out.returncode == 0, out.stderr
    active, disabled = out.stdout.splitlines()
    assert active == "[]"
    expected = _run("from numpy._core._multiarray_umath import __cpu_dispatch__ as d; print(' '.join(d))").stdout.strip()
    assert disabled == expected


def test_simd_off_too_late_fails_every_cell() -> None:
    code = (
        "import numpy, benchmarks.common as c, benchmarks.bench_unary as u\n"
        "assert c.SIMD_PROBLEM and 'NPY_DISABLE_CPU_FEATURES' in c.SIMD_PROBLEM\n"
        "try:\n    u.Unary().setup('numpy', 'exp', 100, 'float32')\nexcept RuntimeError:\n    print('failed')\n"
    )
    out = _run(code, TENSORSCOPE_SIMD="off")
    assert out.stdout.strip() == "failed", out.stderr
    if _run(_ACTIVE).stdout.strip() == "[]":
        pytest.skip("NumPy dispatches no SIMD target on this machine")


def test_startup_hook_switches_simd_off(tmp_path: Path) -> None:
    # installed the way asv.conf.json's install_command does: the module run by its path
    done = subprocess.run(
        [sys.executable, str(ROOT / "tensorscope" / "environment.py"), "--install-hook", str(tmp_path)],
        env=dict(os.environ, PYTHONPATH=""),
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    pth = tmp_path / "tensorscope_simd_hook.pth"
    assert pth.read_text().startswith("import tensorscope_simd_hook")
    code = f"import site; site.addsitedir({str(tmp_path)!r}); {_ACTIVE}"
    assert _run(code, TENSORSCOPE_SIMD="off").stdout.strip() == "[]"
    assert _run(code, TENSORSCOPE_SIMD="on").stdout.strip() == _run(_ACTIVE).stdout.strip()


_THREADS = (
    "import numba, torch, os; numba.config.THREADING_LAYER; "
    "print(numba.get_num_threads(), torch.get_num_threads(), os.environ.get('XLA_FLAGS', ''))"
)


def test_startup_hook_holds_every_backend_to_the_thread_count(tmp_path: Path) -> None:
    pytest.importorskip("numba")
    pytest.importorskip("torch")
    environment.install_hook(str(tmp_path))
    code = f"import site; site.addsitedir({str(tmp_path)!r}); {_THREADS}"
    default = _run(code)
    assert default.returncode == 0, default.stderr
    cores = os.cpu_count() or 1
    one = _run(code, TENSORSCOPE_THREADS="1", OMP_NUM_THREADS="3", XLA_FLAGS="--xla_dump_to=/tmp/x")
    assert one.returncode == 0, one.stderr
    numba_threads, torch_threads, xla = one.stdout.split(maxsplit=2)
    # the run asked for one thread: a value already set is overridden, other XLA flags kept
    assert (numba_threads, torch_threads) == ("1", "1")
    assert xla.split() == ["--xla_dump_to=/tmp/x", "--xla_cpu_multi_thread_eigen=false"]
    if cores > 1 and "OMP_NUM_THREADS" not in os.environ:
        assert default.stdout.split()[:2] == [str(cores), str(cores)]


def test_a_thread_count_not_in_force_fails_the_cell() -> None:
    pytest.importorskip("numba")
    # numba imported before the variables are set: the suite must refuse to time it
    code = (
        "import numba, os; os.environ['TENSORSCOPE_THREADS'] = '1'; n = numba.config.NUMBA_NUM_THREADS\n"
        "import benchmarks.bench_unary as u\n"
        "try:\n    u.Unary().setup('numba', 'exp', 100, 'float32')\nexcept RuntimeError as e:\n    print('failed', 'TENSORSCOPE_THREADS=1' in str(e))\n"
    )
    out = _run(code, NUMBA_NUM_THREADS="2")
    assert out.stdout.strip() == "failed True", out.stdout + out.stderr


def test_a_bad_thread_count_is_a_clear_error() -> None:
    for bad in ("0", "-2", "two"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TENSORSCOPE_THREADS", bad)
            with pytest.raises(ValueError, match="TENSORSCOPE_THREADS must be 'all' or a whole number"):
                environment.thread_setting()
            assert "TENSORSCOPE_THREADS" in (environment.thread_problem("numba") or "")


def test_the_suite_uses_tensorscope_environment_or_the_installed_hook(tmp_path: Path) -> None:
    """An older commit's tensorscope has no environment module: the suite takes the hook's copy of it."""
    assert _env.environment is environment
    environment.install_hook(str(tmp_path))
    code = (
        f"import site, sys; site.addsitedir({str(tmp_path)!r}); "
        "sys.modules['tensorscope.environment'] = None\n"  # what an old commit's tensorscope gives
        "from benchmarks import _env, common; print(_env.environment.__name__, common.environment.__name__)"
    )
    out = _run(code)
    assert out.stdout.split() == ["tensorscope_simd_hook", "tensorscope_simd_hook"], out.stdout + out.stderr


@pytest.mark.slow
def test_asv_check_passes(tmp_path: Path) -> None:
    env = dict(os.environ, HOME=str(tmp_path), TENSORSCOPE_PROFILE="quick")
    out = subprocess.run(
        [sys.executable, "-m", "asv", "check", "--python=same", "--config", str(ROOT / "asv.conf.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No problems found" in out.stdout


# ---------------------------------------------------------------------------
# one source for op facts; every op benchmarked


def test_a_group_op_without_a_timed_class_refuses_to_load() -> None:
    from benchmarks.bench_unary import Unary

    with pytest.raises(RuntimeError, match=r"Missing benchmarks for ops of group 'unary': \['bitwise_invert'\]"):
        common.require_benchmarks("unary", Unary)  # UnaryInt left out
    common.require_benchmarks("unary", Unary, benchmarks.bench_unary.UnaryInt)


def test_a_group_without_a_bench_module_refuses_to_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in backends.GROUPS:
        if group != "window":
            (tmp_path / f"bench_{group}.py").write_text("")
    monkeypatch.setattr(common, "SUITE_DIR", tmp_path)
    with pytest.raises(ImportError, match=r"Missing benchmarks for op groups \['window'\]"):
        common._require_group_modules()


def test_bench_modules_hold_no_op_names() -> None:
    """Op lists come from the catalog: no bench module names an op in a string."""
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        if path.name == "bench_calibration.py":
            continue
        # the module's GROUP names its catalog group, and the fft group shares its name with an op
        text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("GROUP = "))
        named = [op for op in backends.OPS if f'"{op}"' in text or f"'{op}'" in text]
        assert named == [], f"{path.name} names ops {named}"


def test_the_grid_comes_from_this_checkout_whatever_commit_is_installed(tmp_path: Path) -> None:
    """An older commit installed (here: a copy of backends/ without gelu): the params stay, its cells skip."""
    installed = tmp_path / "site"
    shutil.copytree(ROOT / "backends", installed / "backends", ignore=shutil.ignore_patterns("__pycache__"))
    catalog = installed / "backends" / "_catalog.py"
    text = catalog.read_text()
    gelu = text.index('_register(\n    "gelu",')
    catalog.write_text(text[:gelu] + text[text.index("\n)\n", gelu) + 3 :])
    env = {"PYTHONPATH": f"{installed}:{ROOT}", "TENSORSCOPE_PRELOAD": "0"}
    code = (
        "import json, backends, benchmarks.common as c; from benchmarks.bench_fused import Fused\n"
        "assert 'gelu' not in backends.OPS and c.CATALOG.__name__ == '_tensorscope_suite_backends._catalog'\n"
        "try:\n    Fused().setup('numpy', 'gelu', 10000, 'float32')\nexcept NotImplementedError as e:\n    print(json.dumps(str(e)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "not in the benchmarked commit's catalog" in json.loads(out.stdout.strip().splitlines()[-1])
    old = subprocess.run(
        [sys.executable, "-c", _DISCOVER, str(ROOT / "benchmarks")], env={**os.environ, **env}, capture_output=True, text=True, cwd=tmp_path
    )
    assert old.returncode == 0, old.stderr
    params = {b["name"]: b["params"] for b in json.loads(old.stdout)}
    assert params == {b["name"]: b["params"] for b in _discovered("full")}


def test_a_plugged_in_backend_joins_the_grid_and_runs(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "backends"))
    try:
        from plugin import NAME, install_demo_plugin
    finally:
        sys.path.pop(0)
    install_demo_plugin(tmp_path)
    code = (
        "import json; from benchmarks import common; from benchmarks.bench_unary import Unary\n"
        "b = Unary(); b.setup('demo', 'negative', 10000, 'float32'); b.time_op('demo', 'negative', 10000, 'float32')\n"
        "try:\n    Unary().setup('demo', 'exp', 10000, 'float32'); skipped = ''\n"
        "except NotImplementedError as e:\n    skipped = str(e)\n"
        "print(json.dumps([list(common.BACKENDS), list(Unary.params[0]), b.error, skipped]))"
    )
    out = _run(code, PYTHONPATH=f"{ROOT}:{tmp_path}")
    assert out.returncode == 0, out.stderr
    grid, unary, error, skipped = json.loads(out.stdout.strip().splitlines()[-1])
    assert grid[-1] == NAME and grid[:-1] == list(common.BACKENDS) and unary == grid
    assert error == 0.0 and "does not implement 'exp'" in skipped
    # an explicit list keeps params fixed across machines, plugin or not
    fixed = _run("from benchmarks import common; print(','.join(common.BACKENDS))", TENSORSCOPE_BACKENDS="numpy, demo,numpy")
    assert fixed.stdout.strip() == "numpy,demo"


def test_a_gpu_cell_without_a_gpu_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """With jax installed and no GPU, the reason is the GPU, not an install command."""
    pytest.importorskip("jax", reason="jax is not installed")
    from backends import _registry
    from benchmarks.bench_unary import Unary

    monkeypatch.setattr(_registry, "_gpu_present", lambda: False)
    _registry._reset_for_tests()
    with pytest.raises(NotImplementedError, match="no NVIDIA GPU") as excinfo:
        Unary().setup("jax:gpu", "exp", 10_000, "float32")
    assert "pip install" not in str(excinfo.value)


def test_the_first_cell_writes_provenance_with_the_commits_op_costs(tmp_path: Path) -> None:
    env = {
        "ASV_COMMIT": "c" * 40,
        "ASV_ENV_NAME": "existing-py",
        "TENSORSCOPE_PROVENANCE_DIR": str(tmp_path),
        "TENSORSCOPE_PROVENANCE": "1",
        "TENSORSCOPE_PRELOAD": "0",
    }
    importing = _run("import benchmarks.common, benchmarks.bench_unary", **env)
    assert importing.returncode == 0, importing.stderr
    assert list(tmp_path.iterdir()) == []  # importing the suite writes nothing
    cell = _run("from benchmarks.bench_unary import Unary; Unary().setup('numpy', 'exp', 10000, 'float32')", **env)
    assert cell.returncode == 0, cell.stderr
    data = json.loads((tmp_path / f"{'c' * 40}-existing-py.json").read_text())
    assert data["schema"] and data["commit_hash"] == "c" * 40  # the probe's part is still there
    assert data["op_cost_columns"] == ["flops", "bytes_read", "bytes_written"]
    costs = data["op_costs"]
    n = 128  # matmul of two n x n float32 matrices: 2 n^3 FLOPs, reads 2 n^2 values, writes n^2
    assert costs["matmul"]["float32"][str(n)] == [2 * n**3, 2 * n * n * 4, n * n * 4]
    assert costs["exp"]["float32"]["10000"] == [10_000, 40_000, 40_000]
    assert costs["softmax"]["float64"]["1000000"][1] == 8_000_000
    assert "float64" not in costs["exp"]  # exp is timed in float32 only
    assert set(costs) == set(backends.OPS)


def test_provenance_json_keeps_one_line_per_op() -> None:
    from tensorscope.environment import _provenance_json

    data = {"schema": 1, "cpu": {"model": "x"}}
    more = {"op_cost_columns": ["flops"], "op_costs": {"add": {"float32": {"100": [100]}}, "exp": {}}}
    text = _provenance_json(data, more)
    assert json.loads(text) == {**data, **more}
    assert '    "add": {"float32": {"100": [100]}},' in text.splitlines()
    assert json.loads(_provenance_json({}, more)) == more and json.loads(_provenance_json(data, {})) == data


def test_bench_files_hold_no_hand_typed_op_lists() -> None:
    """Ops come from the catalog by group: no bench file spells out two or more op names in a list, tuple or set."""
    import ast

    import backends

    ops = set(backends.OPS)
    bench_dir = Path(__file__).resolve().parents[2] / "benchmarks"
    found = []
    for path in sorted(bench_dir.glob("bench_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.List | ast.Tuple | ast.Set):
                names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value in ops]
                if len(names) >= 2:
                    found.append(f"{path.name}:{node.lineno}: {names}")
    assert not found, found


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str, calls: list[str]) -> None:
    """Record every op call and every warm-up of backend ``name`` in ``calls``."""
    be = backends.get(name)
    real_op = be.op

    def op(op_name: str) -> Any:
        fn = real_op(op_name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls.append(op_name)
            return fn(*args, **kwargs)

        return counted

    monkeypatch.setattr(be, "op", op)
    monkeypatch.setattr(be, "warmup", lambda fn, *a, **k: calls.append("warmup"))


def test_pure_python_is_not_warmed_up_and_a_slow_check_call_sets_the_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow op is called once before timing (the reference check), and that call decides number and repeat."""
    from benchmarks.bench_unary import Unary

    monkeypatch.setattr(common, "PROFILE", common.PROFILES["full"])
    monkeypatch.setattr(common, "SLOW_CALL_SECONDS", 0.0)  # every call counts as slow
    monkeypatch.setattr(common, "VERY_SLOW_CALL_SECONDS", math.inf)
    calls: list[str] = []
    _count_calls(monkeypatch, "python", calls)
    bench = Unary()
    bench.setup("python", "exp", 10_000, "float32")
    assert calls == ["exp"]  # no warm-up, no calibration call
    assert bench.repeat == common.SLOW_CALL_REPEAT
    monkeypatch.setattr(common, "VERY_SLOW_CALL_SECONDS", 0.0)
    bench = Unary()
    bench.setup("python", "exp", 10_000, "float32")
    assert bench.repeat == common.VERY_SLOW_CALL_REPEAT and bench.repeat[0] >= 2  # still a spread


def test_other_backends_are_warmed_up_then_calibrated(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_unary import Unary

    monkeypatch.setattr(common, "PROFILE", common.PROFILES["full"])
    calls: list[str] = []
    _count_calls(monkeypatch, "numpy", calls)
    bench = Unary()
    bench.setup("numpy", "exp", 10_000, "float32")
    assert calls[:2] == ["warmup", "exp"] and len(calls) > 2  # warm-up, check, then calibration calls
    assert bench.number > 1 and bench.repeat == common.PROFILES["full"].repeat
