"""Backend selection for the conformance suite.

Every test that takes a ``backend_name`` argument runs once per selected backend:
``BENCH_BACKENDS=numpy,python pytest tests/backends`` (names as in
``backends.available()``, e.g. ``torch:cpu``); by default every available backend. A
selected backend that cannot be built skips with the reason from its
``BackendUnavailable`` error; GPU devices carry the ``gpu`` marker.

At the end of the run the ops each backend does not implement are listed, so coverage
gaps stay visible.
"""

from __future__ import annotations

import os

import pytest

import backends

GPU_DEVICES = ("cuda", "gpu")


def pytest_configure(config: pytest.Config) -> None:
    # Expected: while compiling our scalar kernels (floor_divide, remainder, maximum,
    # minimum and the shifts: variables assigned on one branch, short-circuit conditions),
    # numba's own "pedantic" SSA check (numba/core/ssa.py) reports variables as "not in
    # scope" and asks for a bug report against numba. The kernels are right (the
    # conformance suite compares them with NumPy); the warning recurs whenever numba's
    # cache is cold. Matched by message, so that nothing imports numba here.
    config.addinivalue_line("filterwarnings", r"ignore:variable '.*' is not in scope:Warning")


def selected_backends() -> list[str]:
    """The backend names to test: ``$BENCH_BACKENDS`` (comma list) or every available one."""
    raw = os.environ.get("BENCH_BACKENDS", "").strip()
    if raw:
        return [n.strip().lower() for n in raw.split(",") if n.strip()]
    return backends.available()


def is_gpu_name(name: str) -> bool:
    return name == "cupy" or name.partition(":")[2] in GPU_DEVICES


def simulated(name: str) -> bool:
    """numba:cuda with ``NUMBA_ENABLE_CUDASIM=1``: its kernels run in numba-cuda's simulator, no GPU needed."""
    return name == "numba:cuda" and os.environ.get("NUMBA_ENABLE_CUDASIM", "") == "1"


def backend_params() -> list[object]:
    return [pytest.param(n, id=n, marks=[pytest.mark.gpu] if is_gpu_name(n) and not simulated(n) else []) for n in selected_backends()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", backend_params())


_unsupported_by_backend: dict[str, list[str]] = {}
_unavailable: dict[str, str] = {}
_broken: dict[str, str] = {}


def load_backend(name: str) -> backends.Backend:
    """``backends.get(name)``, or skip the test with the reason it is unavailable.

    A backend that is installed but fails to build for another reason (a bug) fails
    every test that uses it, with the error, rather than skipping.
    """
    if name in _unavailable:
        pytest.skip(_unavailable[name])
    if name in _broken:
        pytest.fail(_broken[name], pytrace=False)
    try:
        be = backends.get(name)
    except backends.BackendUnavailable as exc:
        _unavailable[name] = str(exc)
        pytest.skip(str(exc))
    except Exception as exc:  # any other failure to build is reported on every test of that backend
        _broken[name] = f"backend {name!r} could not be built: {type(exc).__name__}: {exc}"
        pytest.fail(_broken[name], pytrace=False)
    if name not in _unsupported_by_backend:
        _unsupported_by_backend[name] = sorted(op for op in backends.OPS if not be.supports(op))
    return be


@pytest.fixture
def be(backend_name: str) -> backends.Backend:
    """The backend under test (skips when it is not available here)."""
    return load_backend(backend_name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _unsupported_by_backend and not _unavailable and not _broken:
        return
    tr = terminalreporter
    tr.section("backend op coverage")
    total = len(backends.OPS)
    for name, missing in _unsupported_by_backend.items():
        line = f"{name}: {total - len(missing)}/{total} ops"
        tr.write_line(line + (f"; not implemented: {', '.join(missing)}" if missing else " (complete)"))
    for name, reason in _unavailable.items():
        tr.write_line(f"{name}: skipped ({reason})")
    for name, reason in _broken.items():
        tr.write_line(f"{name}: FAILED to build ({reason})")
