"""The asv suite's shape: coverage of the catalog, fixed params, profiles, honest setup."""

from __future__ import annotations

import importlib
import itertools
import json
import math
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import backends
import benchmarks
from backends.numpy_backend import NumpyBackend
from benchmarks import cases, common

ROOT = Path(__file__).resolve().parents[2]

_DUMP = """
import importlib, json, pkgutil, benchmarks
out = {}
for m in pkgutil.iter_modules(benchmarks.__path__):
    if m.name.startswith("bench_"):
        mod = importlib.import_module("benchmarks." + m.name)
        for name, cls in vars(mod).items():
            if isinstance(cls, type) and cls.__module__ == mod.__name__ and cls.params:
                out[m.name + "." + name] = [list(p) for p in cls.params]
print(json.dumps(out))
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


def _params(profile: str) -> dict[str, list[list[Any]]]:
    env = dict(os.environ, TENSORSCOPE_PROFILE=profile, TENSORSCOPE_PRELOAD="0", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _DUMP], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def test_every_catalog_op_is_timed() -> None:
    timed = {op for _, cls in _timed() for op in cls.params[1]}
    assert set(backends.OPS) - timed == set()


def test_every_op_has_inputs_of_its_kind() -> None:
    assert set(cases.SIZE_KIND) == set(backends.OPS)


def test_backend_axis_is_the_fixed_list_everywhere() -> None:
    assert set(common.BACKENDS) == {n for n in backends.known() if n in common.BACKENDS}
    assert {"python", "numpy", "numba", "torch:cpu", "torch:cuda", "jax:cpu", "jax:gpu", "cupy"} == set(common.BACKENDS)
    for name, cls in _classes(common.BackendBenchmark):
        if cls.param_names[:1] == ("backend",):
            assert tuple(cls.params[0]) == common.BACKENDS, name


def test_quick_profile_is_a_per_axis_subset_of_full() -> None:
    quick, full = _params("quick"), _params("full")
    assert set(quick) <= set(full)
    for name, axes in quick.items():
        for q, f in zip(axes, full[name], strict=True):
            assert set(map(repr, q)) <= set(map(repr, f)), name
    cells = sum(math.prod(len(a) for a in axes) for name, axes in quick.items() if "Compile" not in name)
    assert cells < sum(math.prod(len(a) for a in axes) for axes in full.values()) / 5


def test_params_are_plain_values() -> None:
    for name, cls in _classes(common.BackendBenchmark):
        for value in itertools.chain.from_iterable(cls.params):
            assert isinstance(value, str | int), (name, value)


@pytest.mark.parametrize(("name", "cls"), _timed(), ids=[n for n, _ in _timed()])
def test_numpy_cells_pass_the_reference_check(name: str, cls: type) -> None:
    _, ops, sizes, dtypes = cls.params
    for op, dtype in itertools.product(ops, dtypes):
        bench = cls()
        bench.setup("numpy", op, sizes[0], dtype)
        bench.time_op("numpy", op, sizes[0], dtype)
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
    from benchmarks import _env

    pth = _env.install_hook(str(tmp_path))
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
    from benchmarks import _env

    _env.install_hook(str(tmp_path))
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
    from benchmarks import _env

    for bad in ("0", "-2", "two"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TENSORSCOPE_THREADS", bad)
            with pytest.raises(ValueError, match="TENSORSCOPE_THREADS must be 'all' or a whole number"):
                _env.thread_setting()
            assert "TENSORSCOPE_THREADS" in (_env.thread_problem("numba") or "")


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


def test_roofline_shapes_match_the_inputs_the_suite_builds() -> None:
    # the dashboard's roofline cannot import the suite (it is not installed with the
    # package, and older commits' backends lack any shared helper), so it restates the
    # size -> shape rule for the ops it places; here the two are held equal
    from tensorscope.analysis.roofline import op_infos

    checked = 0
    for op in backends.OPS:
        size = {"elements": 10_000, "matrix": 64, "fft": 1024}[cases.SIZE_KIND[op]]
        dtype = "complex64" if "complex64" in _dtypes_of(op) and "float32" not in _dtypes_of(op) else "float32"
        infos = op_infos(op, str(size), dtype)
        if infos is None:
            continue
        case = cases.make_case(op, size, dtype)
        assert [i.shape for i in infos] == [a.shape for a in case.arrays()], op
        checked += 1
    assert checked >= 40  # the roofline places most ops


def _dtypes_of(op: str) -> tuple[str, ...]:
    return tuple(backends.OPS[op].dtypes)


def test_a_torch_cell_resets_the_thread_pool_once_keeping_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    from benchmarks.bench_unary import Unary

    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(common, "_torch_threads_reset", False)
    Unary().setup("torch:cpu", "exp", 100, "float32")
    Unary().setup("torch:cpu", "sqrt", 100, "float32")
    Unary().setup("numpy", "exp", 100, "float32")
    assert calls == [torch.get_num_threads()]
