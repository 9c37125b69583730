"""Process-level settings of a benchmark run: the SIMD switch, the thread count and provenance.

One module for ``tensorscope run`` (which exports the variables for existing interpreters)
and the asv suite (which applies and checks them in every cell). It imports nothing beyond
the standard library, because it also runs as a startup hook: asv.conf.json's
``install_command`` runs ``python tensorscope/environment.py --install-hook``, which copies
this file into each asv virtualenv as the top-level module ``tensorscope_simd_hook`` plus a
``.pth`` line. NumPy reads ``NPY_DISABLE_CPU_FEATURES`` once, when it is imported, and asv's
runner imports NumPy (through pympler) before the suite, so the switch must happen when
the interpreter starts. That copy comes from the checkout asv runs (always today's file),
so the suite also falls back to it when it benchmarks an older commit whose installed
``tensorscope`` predates this module (see ``benchmarks/_env.py``).

* **SIMD ablation** (``TENSORSCOPE_SIMD=on|off``, default ``on``; asv sets it from the
  ``env_nobuild`` matrix, so environment names end in ``-TENSORSCOPE_SIMDon/off``).
  ``off`` switches every SIMD path that needs no rebuild, each only where the variable
  is not already set (a value set by the user wins; provenance records all of them):

  - ``NPY_DISABLE_CPU_FEATURES``: the dispatch targets NumPy reports in
    ``__cpu_dispatch__`` on *this* machine and build (computed in a child
    interpreter), e.g. ``X86_V3 X86_V4 AVX512_ICL AVX512_SPR``; NumPy then runs its
    baseline loops (``X86_V2``, i.e. SSE4.2, on x86-64);
  - ``TENSORSCOPE_NUMBA_SIMD=0``: the numba backend's own switch
    (``backends/numba_backend/_config.py``), which sets ``NUMBA_CPU_NAME=generic``
    (no AVX) and turns LLVM's loop and SLP vectorizers off;
  - ``ATEN_CPU_CAPABILITY=default`` (PyTorch's non-vectorised ATen kernels).

  BLAS (OpenBLAS/MKL) and XLA keep their code paths; provenance records them. The
  suite verifies the result: with ``off``, a NumPy that still dispatches a SIMD
  target makes every cell fail (:func:`simd_problem`), so no time is mislabelled.
  Where no hook is installed (``--python=same``), export the variables before asv
  starts: ``tensorscope run --existing --simd off`` does, or see ``--print-env``.

* **Thread count** (``TENSORSCOPE_THREADS=all|N``, default ``all``: each library's own
  choice, every core here). A number holds every backend to that many threads, set at
  interpreter start, before any framework is imported, overriding values already set
  (the run asked for this count; provenance records what was in force):
  ``OMP_NUM_THREADS`` (PyTorch, numba's OpenMP layer, OpenMP BLAS), ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS``, ``NUMBA_NUM_THREADS``; for ``1`` also
  ``--xla_cpu_multi_thread_eigen=false`` in ``XLA_FLAGS`` (XLA has no flag for another
  count; above 1 it keeps its own pool). ``tensorscope run --threads N`` adds the variable
  to asv's ``env_nobuild`` matrix, so those environment names end in
  ``-TENSORSCOPE_THREADS<N>`` and share the virtualenv of the default ones. Why: on a
  small shared VM, multi-threaded timings move with the other vCPUs' availability (a
  2-thread numba ``exp`` on 1e5 float32 drifted 27-45 us between 100 ms windows where the
  1-thread one held 43 us), so one thread gives the steadier series to gate
  regressions on, and ``all`` the speed users see. The suite checks numba's and
  PyTorch's counts and fails the cell when the setting is not in force.

* **Provenance**: once per asv run of one (commit, environment), the suite writes
  ``<results_dir>/<machine>/provenance/<commit>-<env>.json`` with the probe script
  ``backends/provenance.py`` of the checkout, run in a child interpreter so that no
  framework is initialised in asv's fork server (:func:`write_provenance_once`).
  ``TENSORSCOPE_PROVENANCE=0`` turns it off; ``TENSORSCOPE_PROVENANCE_DIR`` names the
  folder (``tensorscope run`` sets it); without it the folder is derived from
  ``asv.conf.json`` and ``~/.asv-machine.json``.

Command line::

    python -m tensorscope.environment --install-hook    # into this interpreter's site-packages
    python -m tensorscope.environment --print-env       # the variables SIMD off sets, as shell
    python -m tensorscope.environment --print-threads 1 # the variables that hold backends to 1 thread
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "HOOK_MODULE",
    "SIMD_VARIABLE",
    "THREADS_VARIABLE",
    "apply_simd_setting",
    "apply_thread_setting",
    "install_hook",
    "numpy_dispatch_targets",
    "provenance_path",
    "simd_off_variables",
    "simd_problem",
    "simd_setting",
    "thread_problem",
    "thread_setting",
    "thread_variables",
    "write_provenance_once",
]

SIMD_VARIABLE = "TENSORSCOPE_SIMD"
THREADS_VARIABLE = "TENSORSCOPE_THREADS"
#: the variables that cap a library's thread pool, each read once when it loads
_THREAD_COUNT_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "NUMBA_NUM_THREADS")
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false"
HOOK_MODULE = "tensorscope_simd_hook"
#: cache of the computed dispatch list, inherited by child processes
_DISPATCH_CACHE_VARIABLE = "TENSORSCOPE_NPY_DISPATCH"

_DISPATCH_PROBE = """
try:
    from numpy._core._multiarray_umath import __cpu_dispatch__
except ImportError:  # NumPy 1.x
    from numpy.core._multiarray_umath import __cpu_dispatch__
print(" ".join(__cpu_dispatch__))
"""


def simd_setting() -> str:
    """``"on"`` or ``"off"`` from ``TENSORSCOPE_SIMD`` (ValueError for anything else)."""
    value = os.environ.get(SIMD_VARIABLE, "on").strip().lower() or "on"
    if value not in ("on", "off"):
        raise ValueError(f"{SIMD_VARIABLE} must be 'on' or 'off', got {value!r}")
    return value


def numpy_dispatch_targets(python: str | None = None) -> list[str]:
    """The SIMD dispatch targets NumPy was built with, as it reports them on this CPU.

    Runs a child interpreter with NumPy's own SIMD variables removed, so the answer
    does not depend on a setting already in force.
    """
    cached = os.environ.get(_DISPATCH_CACHE_VARIABLE)
    if cached is not None and python is None:
        return cached.split()
    # without TENSORSCOPE_SIMD the child's own startup hook stays idle (no recursion)
    env = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", SIMD_VARIABLE)}
    out = subprocess.run(
        [python or sys.executable, "-c", _DISPATCH_PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout.split()


def simd_off_variables(python: str | None = None) -> dict[str, str]:
    """The variables ``TENSORSCOPE_SIMD=off`` sets (for ``python``, default: this interpreter)."""
    return {
        "NPY_DISABLE_CPU_FEATURES": " ".join(numpy_dispatch_targets(python)),
        "TENSORSCOPE_NUMBA_SIMD": "0",
        "ATEN_CPU_CAPABILITY": "default",
    }


def apply_simd_setting() -> dict[str, str]:
    """Set the variables that switch SIMD off when ``TENSORSCOPE_SIMD=off``; returns what it set.

    Does nothing for ``on``, and leaves NumPy's variable alone once NumPy is imported
    (too late: :func:`simd_problem` then reports it).
    """
    if simd_setting() == "on":
        return {}
    wanted: dict[str, str] = {}
    if "NPY_DISABLE_CPU_FEATURES" not in os.environ and "numpy" not in sys.modules:
        targets = numpy_dispatch_targets()
        os.environ[_DISPATCH_CACHE_VARIABLE] = " ".join(targets)
        wanted["NPY_DISABLE_CPU_FEATURES"] = " ".join(targets)
    for key, value in (("TENSORSCOPE_NUMBA_SIMD", "0"), ("ATEN_CPU_CAPABILITY", "default")):
        if key not in os.environ:
            wanted[key] = value
    os.environ.update(wanted)
    return wanted


def thread_setting() -> int | None:
    """Threads per backend from ``TENSORSCOPE_THREADS``: None for ``all`` (the default), else N >= 1.

    ValueError, naming the variable, for anything else.
    """
    value = os.environ.get(THREADS_VARIABLE, "all").strip().lower() or "all"
    if value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_VARIABLE} must be 'all' or a whole number of threads >= 1, got {value!r}")
    return int(value)


def thread_variables(threads: int) -> dict[str, str]:
    """The variables that hold every backend to ``threads`` threads (XLA's flag added to the current ``XLA_FLAGS``)."""
    wanted = {name: str(threads) for name in _THREAD_COUNT_VARIABLES}
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "").split()
        if _XLA_ONE_THREAD not in flags:
            flags = [f for f in flags if not f.startswith("--xla_cpu_multi_thread_eigen")] + [_XLA_ONE_THREAD]
        wanted["XLA_FLAGS"] = " ".join(flags)
    return wanted


def apply_thread_setting() -> dict[str, str]:
    """Set the thread-count variables when ``TENSORSCOPE_THREADS`` is a number; returns what it set."""
    threads = thread_setting()
    if threads is None:
        return {}
    wanted = thread_variables(threads)
    os.environ.update(wanted)
    return wanted


def thread_problem(backend: str) -> str | None:
    """Why the requested thread count is not in force for ``backend``, or None when it is (or cannot be told).

    Checks the frameworks that report their pool size (numba, PyTorch) as already imported.
    """
    try:
        threads = thread_setting()
    except ValueError as exc:
        return str(exc)
    if threads is None:
        return None
    framework = "numba" if backend == "numba" else "torch" if backend.startswith("torch") else None
    module = sys.modules.get(framework) if framework else None
    if module is None:
        return None
    actual = int(module.get_num_threads())
    if actual == threads:
        return None
    return (
        f"{THREADS_VARIABLE}={threads}, but {framework} runs {actual} threads: the thread variables must be set "
        "before Python starts. Use `tensorscope run --threads N`, or "
        f"`eval $(python -m tensorscope.environment --print-threads {threads})` before `asv run`."
    )


def simd_problem() -> str | None:
    """Why the requested SIMD setting is not in force, or None when it is (imports NumPy)."""
    if simd_setting() == "on":
        return None
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__  # type: ignore[no-redef]
    active = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if not active:
        return None
    return (
        f"{SIMD_VARIABLE}=off, but NumPy still dispatches {' '.join(active)}: NPY_DISABLE_CPU_FEATURES must be set "
        "before Python starts (asv imports NumPy before the suite). Use `tensorscope run --simd off`, or "
        "`eval $(python -m tensorscope.environment --print-env)` before `asv run`, or install the startup hook "
        "(`python tensorscope/environment.py --install-hook`, done by asv.conf.json's install_command)."
    )


def startup() -> None:
    """Interpreter-startup entry point (the ``.pth`` hook): apply the SIMD and thread settings, never fail."""
    for variable, apply in ((SIMD_VARIABLE, apply_simd_setting), (THREADS_VARIABLE, apply_thread_setting)):
        try:
            apply()
        except Exception as exc:  # a broken hook must not break the interpreter
            print(f"{HOOK_MODULE}: could not apply {variable}: {exc}", file=sys.stderr)


def install_hook(site_packages: str | None = None) -> Path:
    """Install this file as ``tensorscope_simd_hook`` plus a ``.pth`` line that runs it at startup."""
    site = Path(site_packages or sysconfig.get_paths()["purelib"])
    shutil.copyfile(__file__, site / f"{HOOK_MODULE}.py")
    pth = site / f"{HOOK_MODULE}.pth"
    pth.write_text(f"import {HOOK_MODULE}; {HOOK_MODULE}.startup()\n")
    return pth


# ---------------------------------------------------------------------------
# provenance


def _machine_name() -> str | None:
    """The asv machine name: the only entry of ~/.asv-machine.json, or this host's entry."""
    path = Path(os.path.expanduser("~/.asv-machine.json"))
    try:
        machines = [k for k in json.loads(path.read_text()) if k != "version"]
    except (OSError, ValueError):
        return None
    if len(machines) == 1:
        return machines[0]
    host = socket.gethostname()
    return host if host in machines else None


def provenance_path(commit: str, env_name: str) -> Path | None:
    """Where the provenance of this (commit, environment) goes; None if it cannot be told."""
    folder = os.environ.get("TENSORSCOPE_PROVENANCE_DIR")
    if not folder:
        conf_dir = os.environ.get("ASV_CONF_DIR")
        machine = _machine_name()
        if not conf_dir or not machine:
            return None
        try:
            conf = json.loads((Path(conf_dir) / "asv.conf.json").read_text())
        except (OSError, ValueError):
            return None
        folder = str(Path(conf_dir) / conf.get("results_dir", "results") / machine / "provenance")
    return Path(folder) / f"{commit}-{env_name}.json"


_written = False


def write_provenance_once(probe: Path, extra: Callable[[], dict[str, Any]] | None = None, max_age_s: float = 3600.0) -> Path | None:
    """Write this run's provenance file with the probe script ``probe`` (at most once per process; a fresh file is kept).

    ``extra`` returns more top-level keys for the file (the suite adds ``op_costs``); it
    runs in this process, after the probe. Does nothing outside an asv run (no
    ``ASV_ENV_NAME``, or no commit: ``ASV_COMMIT``, else ``TENSORSCOPE_COMMIT``;
    ``TENSORSCOPE_ENV_NAME`` likewise: ``tensorscope run`` sets both for existing
    interpreters, where asv sets neither), when ``TENSORSCOPE_PROVENANCE=0``, or when the
    destination cannot be told. Failures are reported on stderr and never stop the benchmarks.
    """
    global _written
    # asv sets no ASV_COMMIT for an existing interpreter: `tensorscope run` passes it
    commit = os.environ.get("ASV_COMMIT") or os.environ.get("TENSORSCOPE_COMMIT")
    env_name = os.environ.get("ASV_ENV_NAME") or os.environ.get("TENSORSCOPE_ENV_NAME")
    if _written or os.environ.get("TENSORSCOPE_PROVENANCE", "1") == "0" or not commit or not env_name:
        return None
    _written = True
    path = provenance_path(commit, env_name)
    if path is None:
        return None
    try:
        if time.time() - path.stat().st_mtime < max_age_s:
            return path  # written earlier in this run (every asv cell is a fresh process)
    except OSError:
        pass
    # -I: the probe must import the *installed* backends of this commit, never the
    # working tree's; run_path keeps the probe's own folder off sys.path.
    code = (
        "import runpy, sys; "
        f"sys.argv = ['provenance', '--output', {str(path)!r}, '--commit', {commit!r}, '--env-name', {env_name!r}]; "
        f"runpy.run_path({str(probe)!r}, run_name='__main__')"
    )
    try:
        subprocess.run([sys.executable, "-I", "-c", code], check=True, timeout=300, capture_output=True, text=True)
        if extra is not None:
            more = extra()
            data = {k: v for k, v in json.loads(path.read_text()).items() if k not in more}
            partial = path.with_name(f".{path.name}.tmp")
            partial.write_text(_provenance_json(data, more))
            os.replace(partial, path)  # readers never see a half-written file
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"tensorscope: could not write provenance to {path}: {exc}\n{detail[-2000:]}", file=sys.stderr)
        return None
    return path


def _provenance_json(data: dict[str, Any], more: dict[str, Any]) -> str:
    """``data`` as the probe writes it (two-space indents), then each key of ``more``: a dict
    written one entry per line (``op_costs`` has one line per op: 25 KB rather than 60)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    parts = []
    for key, value in sorted(more.items()):
        if isinstance(value, dict) and value:
            entries = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(value.items()))
            parts.append(f"  {json.dumps(key)}: {{\n{entries}\n  }}")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)}")
    if not parts:
        return text + "\n"
    head = text[:-2] + ",\n" if data else "{\n"  # drop the closing "\n}" of a non-empty object
    return head + ",\n".join(parts) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tensorscope's SIMD switch and thread count for asv environments")
    parser.add_argument(
        "--install-hook",
        nargs="?",
        const="",
        default=None,
        metavar="SITE_PACKAGES",
        help="install the startup hook into this interpreter's site-packages (or the folder given)",
    )
    parser.add_argument("--print-env", action="store_true", help="print the variables SIMD off sets, as shell exports")
    parser.add_argument("--print-threads", type=int, metavar="N", help="print the variables that hold backends to N threads")
    args = parser.parse_args(argv)
    if args.install_hook is not None:
        print(f"installed {install_hook(args.install_hook or None)}")
    if args.print_env:
        for key, value in simd_off_variables().items():
            print(f"export {key}={shlex.quote(value)}")
    if args.print_threads is not None:
        if args.print_threads < 1:
            parser.error("--print-threads needs a whole number >= 1")
        for key, value in thread_variables(args.print_threads).items():
            print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
