"""Shared machinery of the asv suite: the grid, profiles, the base benchmark classes.

The grid
--------
Every op benchmark is parametrised by ``backend``, ``op``, ``size`` and ``dtype``, and
``params`` are the same on every machine, at every commit and in every profile: a cell
that cannot or should not run raises ``NotImplementedError`` in ``setup`` and asv records
it as skipped (backend not installed or without that device, op or dtype not implemented
by the backend, pure Python above :data:`PYTHON_MAX_WORK` (1e7 FLOPs or 2e5 elements in
and out: it runs 100 to 1e4 elements, matrices to 128), except at the study group's sizes
(:data:`PYTHON_LARGE`: element-wise, reduction and fused ops to 1e6 elements, matmul to
500), inputs that do not fit in free memory, or a cell outside the run's profile).

* **ops** come from the catalog by group (each ``bench_<group>.py`` partitions its group
  by the dtype family an op accepts: :func:`by_family`), and each bench module refuses to
  load while an op of its group has no timed benchmark (:func:`require_benchmarks`, as
  NumPy's ``bench_ufunc.py`` does). The catalog is this checkout's
  (:mod:`benchmarks._checkout`), so the grid does not change with the benchmarked commit.
* **sizes** mean what the op's catalog ``kind`` says (elements, matrix side, FFT length);
  inputs follow the catalog's size -> input rule (:mod:`benchmarks.cases`).
* **backends** (:data:`BACKENDS`): the registry's built-ins with their devices, in a fixed
  order (``python, numpy, numba, numba:cuda, torch:cpu, torch:cuda, jax:cpu, jax:gpu, cupy``), then the
  backends installed packages declare in the ``tensorscope.backends`` entry point group,
  sorted by name, so a plugged-in backend is benchmarked without editing tensorscope. The
  list is the same on every machine that has the same plugins installed (in asv's
  virtualenvs too: add the plugin to ``install_command`` or the ``matrix``). Where
  ``params`` must match across machines whatever is installed, set the list explicitly:
  ``TENSORSCOPE_BACKENDS=python,numpy,...,mybackend`` (comma-separated, in that order; a
  backend missing on a machine is skipped there).

Profiles
--------
``TENSORSCOPE_PROFILE`` (``full`` when unset, ``quick`` or ``gpu``) chooses which cells of
the grid run; it never changes the grid (a changed grid would start new series, and asv's
``results/benchmarks.json`` would flip with every profile). The grid is the union of what
the profiles time. ``tensorscope run --profile P`` also hands asv the profile's cells as
``--bench`` patterns (:func:`asv_patterns`), so cells outside it are not even started; with
plain ``asv run`` they are started and skipped in ``setup`` (about 10-20 ms each).

=========  ==========================================  ==========================
profile    cells run                                   sampling per cell
=========  ==========================================  ==========================
quick      representative ops (:data:`QUICK_OPS`),      (min 3, max 7 samples, 0.15 s)
           2 sizes, float32                            5 ms per sample
full       every op, 4 sizes (sorting 3: 1e2-1e6)      (min 5, max 10 samples, 0.2 s)
           and the study group's sizes                 10 ms per sample; a call
           (:data:`STUDY_GROUP_SIZES`: 1e5 elements,   over 0.1 s: 3 to 5 samples,
           matmul 10-500); float32 (int32) timed       over 0.4 s: 2 samples
           for the memory-bound groups, float32 +
           float64 for linalg and fused workloads,
           complex64 + complex128 for FFTs; accuracy
           tracked in float32 and float64 for every
           op
gpu        :data:`GPU_OPS` (element-wise, reductions,  (min 3, max 7 samples, 0.15 s)
           matmul and dense layers, fused row-wise     5 ms per sample
           workloads, fft) at sizes that show a GPU's
           bandwidth and FLOP/s; see :data:`PROFILES`
=========  ==========================================  ==========================

Why ``full`` is not every op x size x dtype: one cell costs about 0.3 s on the 2-core
reference machine (a fork, inputs, the reference check, 5-10 samples), and the whole
grid in both widths took 40 minutes there, twice the 20-minute budget; float32-only
element-wise timing still took 23 minutes, 4.5 of them sorting 1e7 elements (about a
second per call, at least 5 samples per cell). Element-wise float64 and int64 run the
same kernels at half the SIMD width over twice the bytes; where the wider type changes
the bound that matters (BLAS dgemm vs sgemm, FFTs, fused workloads) it is timed.

Why one round (one process per cell): two full runs of the same code on the 2-vCPU
reference VM differ by a median of 11% per cell (numpy 5%, jax 20%), and whole groups shift
together (every pure-Python binary cell +55% in one run): the host slows for minutes at a
time, far beyond the spread of a cell's samples. asv's default of two rounds (each cell in
two processes, in two passes over the suite, samples pooled) was measured against it: the
same-code pair then differed by a median of 9.8% against 11.2% (one pair each, within this
noise), and the run took 24.5 min against 16.4 the same day, over the 20-minute budget.

asv stores ``rounds`` and ``timeout`` in ``benchmarks.json`` and reads them before any
cell starts, so they are the same in every profile; a profile's ``repeat`` and
``sample_time`` are set per cell in ``setup`` (asv_runner re-reads them after ``setup``).

Timing honesty
--------------
``setup`` builds inputs (seeded, cached generators in :mod:`benchmarks.cases`) and
transfers them to the device, compiles (``Backend.warmup``; pure Python has nothing to
warm up), then checks the op's output once against NumPy in float64 (:func:`check_against_reference`); a wrong
result raises :class:`WrongResult`, so asv records a failure instead of a time. The
timed body is one op call followed by ``synchronize``. asv_runner >= 0.3 re-runs
``setup`` between timed calls, so ``setup`` is memoised (a re-run costs a dict lookup)
and sets ``number`` per cell, calibrated to the profile's sample time, because the
automatic choice would be one call per sample (the timer's resolution for fast ops).

Provenance and op costs
-----------------------
The first cell of a run writes ``<results>/<machine>/provenance/<commit>-<env>.json``
(:func:`tensorscope.environment.write_provenance_once`; not at import, so that importing
the suite does no work beyond what asv needs). Beside what the probe records, the file
gets ``op_costs``: FLOPs and bytes of every timed (op, size, dtype) cell of the grid, from
the *benchmarked commit's* cost model applied to the suite's inputs, so an analysis reads
an op's cost as that commit defined it::

    "op_cost_columns": ["flops", "bytes_read", "bytes_written"],
    "op_costs": {"<op>": {"<dtype>": {"<size>": [flops, bytes_read, bytes_written]}}}

one line per op; sizes are JSON keys, so strings, and mean what the op's catalog ``kind``
says, as in the results' params; an (op, dtype) the commit's catalog does not accept is
absent.

Rates
-----
``track_`` benchmarks whose ``unit`` ends in ``/s`` (``GB/s``, ``GFLOP/s``) are rates:
higher is better. Every other unit (seconds, bytes, relative error) is lower-is-better.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import math
import os
import pkgutil
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import backends
from backends import OPS, BackendUnavailable, TensorInfo, UnsupportedDType, UnsupportedOperation

from ._checkout import CATALOG, REGISTRY
from ._env import environment
from .cases import Case, make_case

__all__ = [
    "BACKENDS",
    "COMPILE_OPS",
    "GPU_OPS",
    "GRID",
    "JIT_BACKENDS",
    "MEMORY_SIZES",
    "PEAKMEM_OPS",
    "PROFILE",
    "PROFILES",
    "PYTHON_LARGE",
    "PYTHON_MAX_WORK",
    "QUICK_OPS",
    "STUDY_GROUP_SIZES",
    "BackendBenchmark",
    "OpAccuracy",
    "OpBenchmark",
    "OpCompile",
    "OpMemory",
    "Profile",
    "WrongResult",
    "accuracy_params",
    "asv_patterns",
    "by_family",
    "check_against_reference",
    "compile_params",
    "get_profile",
    "group_ops",
    "memory_params",
    "op_spec",
    "relative_error",
    "require_benchmarks",
    "runnable_backends",
    "selected_cells",
    "timed_params",
]

SUITE_DIR = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------
# the grid: backends and ops

BACKENDS_VARIABLE = "TENSORSCOPE_BACKENDS"


def grid_backends() -> tuple[str, ...]:
    """The backend axis: ``TENSORSCOPE_BACKENDS`` if set, else built-ins then entry-point backends (see the module docstring)."""
    explicit = os.environ.get(BACKENDS_VARIABLE, "").strip()
    if explicit:
        names = [n.strip().lower() for n in explicit.split(",") if n.strip()]
        return tuple(dict.fromkeys(names))
    return (*REGISTRY.builtin_names(), *REGISTRY.entry_point_names())


#: Every backend of the grid, installed or not.
BACKENDS = grid_backends()
#: Backends that compile on first call (their compile time is tracked).
JIT_BACKENDS = frozenset({"numba", "numba:cuda", "jax:cpu", "jax:gpu"})
#: Sizes of the peak-memory cells (the full profile's largest, in every profile).
MEMORY_SIZES = {"elements": 10_000_000, "matrix": 2048, "fft": 2**22}
#: Pure Python runs a cell only below both limits: FLOPs, and elements read + written ...
PYTHON_MAX_WORK = (10_000_000, 200_000)
#: ... or, for the ops of :data:`STUDY_GROUP_SIZES`, up to the largest of their sizes there.
#: Why: the study group this project follows quotes speedups over its pure backend where
#: backends differ (softmax of 1M elements, 500x500 sgemm), not at 1e4 where call overhead
#: dominates; these cells make each of those figures comparable with a measured one here.
#: One such call takes up to ~4 s (matmul 500 float64), so slow cells take fewer samples
#: (:data:`SLOW_CALL_REPEAT`).
PYTHON_LARGE_GROUPS = frozenset({"unary", "binary", "reduction", "fused"})

#: Ops of the quick profile: at least one per timed benchmark class, the common workloads.
QUICK_OPS = frozenset(
    {
        "full",
        "exp",
        "sqrt",
        "bitwise_invert",
        "add",
        "multiply",
        "less",
        "bitwise_and",
        "logical_and",
        "where",
        "sum",
        "argmax",
        "window_max",
        "concat",
        "take",
        "matmul",
        "cholesky",
        "sort",
        "fft",
        "softmax",
        "dense",
    }
)
#: Ops of the gpu profile: element-wise, reductions, matmul and a dense layer, a row-wise workload, fft.
GPU_OPS = frozenset({"add", "exp", "sum", "max", "matmul", "dense", "softmax", "fft"})
#: Ops whose JIT compile time is tracked: one per group, plus matmul.
COMPILE_OPS = frozenset({"full", "exp", "add", "where", "sum", "window_max", "take", "matmul", "sort", "fft", "softmax"})
#: Ops whose peak memory is tracked, at :data:`MEMORY_SIZES`: one per memory-heavy group (temporaries show).
PEAKMEM_OPS = frozenset({"exp", "cumulative_sum", "concat", "matmul", "conv", "sort", "fft", "softmax"})
#: Groups bound by arithmetic rather than memory traffic: timed in the profile's compute dtypes.
COMPUTE_GROUPS = frozenset({"linalg", "fused"})
#: A call longer than this (seconds) takes :data:`SLOW_CALL_REPEAT` samples: pure Python at the
#: study group's sizes runs 0.2-4 s per call, and 5-10 samples of it would cost minutes per cell.
SLOW_CALL_SECONDS = 0.1
SLOW_CALL_REPEAT = (3, 5, 0.2)
#: A call longer than this takes :data:`VERY_SLOW_CALL_REPEAT` samples: pure Python's matmul at
#: 256 and 500 (0.5-4 s a call); two samples still give a spread, three would add 4-8 s per cell.
VERY_SLOW_CALL_SECONDS = 0.4
VERY_SLOW_CALL_REPEAT = (2, 2, 0.0)
#: Backends warmed up before the reference check (JIT compiles, lazy kernel loading, device
#: initialisation). Pure Python has nothing to warm: its warm-up was one more untimed call, up
#: to 4 s at the study group's sizes. The check's call still runs every op once before timing.
WARMUP_BACKENDS = frozenset(b for b in BACKENDS if b != "python")


def _study_group_sizes() -> dict[str, tuple[int, ...]]:
    """Extra sizes of the full profile, per op: where the study group's published speedups were measured.

    Element-wise, reduction and fused row-wise ops at 1e5 elements (1e6 is in the grid),
    ``multiply`` (our closest op to BLAS scale) at 1,000 as well, ``matmul`` at 10, 100,
    256 and 500 (sgemm 10x10, 100x100, 500x500 in the seed). Every backend times them,
    pure Python included (up to 1e6 elements and 500x500: see :data:`PYTHON_MAX_WORK`).
    """
    sizes: dict[str, tuple[int, ...]] = {
        op: (100_000,) for op in CATALOG.ops_in_groups(*PYTHON_LARGE_GROUPS) if CATALOG.OPS[op].kind == "elements"
    }
    sizes["multiply"] = (1_000, 100_000)
    sizes["matmul"] = (10, 100, 256, 500)
    return sizes


#: op -> sizes the full profile times beyond its size axes (the study group's table)
STUDY_GROUP_SIZES = _study_group_sizes()
#: op -> largest size pure Python runs at, beyond PYTHON_MAX_WORK
PYTHON_LARGE = {
    **{op: 1_000_000 for op in STUDY_GROUP_SIZES if CATALOG.OPS[op].kind == "elements"},
    "matmul": 500,
}


def group_ops(group: str) -> tuple[str, ...]:
    """The ops of catalog ``group``, in catalog order."""
    return tuple(CATALOG.ops_in_groups(group))


def op_spec(op: str) -> Any:
    """The catalog entry of ``op`` (this checkout's: its kind, layout, domain, ...)."""
    return CATALOG.OPS[op]


def by_family(group: str) -> dict[str, tuple[str, ...]]:
    """The ops of catalog ``group`` by the dtype family they are timed in.

    ``float`` (accepts float32), else ``int`` (int32), else ``bool``, else ``complex``;
    catalog order within each family. Bench modules build one class per family.
    """
    families: dict[str, list[str]] = {}
    for op in CATALOG.ops_in_groups(group):
        dtypes = CATALOG.OPS[op].dtypes
        family = next(f for f, probe in _FAMILY_PROBES if probe in dtypes)
        families.setdefault(family, []).append(op)
    return {f: tuple(ops) for f, ops in families.items()}


_FAMILY_PROBES = (("float", "float32"), ("int", "int32"), ("bool", "bool"), ("complex", "complex64"))


def size_axis(op: str) -> str:
    """The size axis an op is timed on: its catalog kind, ``"sort"`` for ordering ops (n log n: no 1e7)."""
    spec = CATALOG.OPS[op]
    return "sort" if spec.group == "ordering" else spec.kind


def dtype_axis(op: str, dtype: str) -> str:
    """The dtype axis a timed (op, dtype) belongs to: memory, compute, int, bool or complex."""
    if dtype == "bool":
        return "bool"
    if dtype.startswith("complex"):
        return "complex"
    if dtype.startswith(("int", "uint")):
        return "int"
    return "compute" if CATALOG.OPS[op].group in COMPUTE_GROUPS else "memory"


_FAMILY_DTYPE = {"float": "float32", "int": "int32", "bool": "bool", "complex": "complex64"}


# ---------------------------------------------------------------------------
# profiles


@dataclass(frozen=True)
class Profile:
    """Which cells of the grid one run times, and how it samples them.

    ``sizes`` maps a size axis (``elements``, ``sort``, ``matrix``, ``fft``) to the sizes
    timed; ``dtypes`` a dtype axis (``memory``, ``compute``, ``int``, ``bool``,
    ``complex``, and ``accuracy`` for the accuracy cells) to the dtypes; ``calibration``
    a machine-calibration parameter to its values. ``cpu_limits`` caps a size axis for
    backends that do not run on a GPU (the gpu profile keeps CPU cells short).
    """

    name: str
    sizes: Mapping[str, tuple[int, ...]]
    dtypes: Mapping[str, tuple[str, ...]]
    ops: frozenset[str] | None  # timed ops; None: every op
    accuracy_ops: frozenset[str] | None  # accuracy cells; None: every op the grid has there
    memory_ops: frozenset[str] | None  # peak-memory cells; None: every op the grid has there
    compile_ops: frozenset[str]  # JIT compile-time cells
    calibration: Mapping[str, tuple[Any, ...]]
    repeat: tuple[int, int, float]  # asv's (min_repeat, max_repeat, max_time)
    sample_time: float  # seconds per sample; number is calibrated to it
    cpu_limits: Mapping[str, int] = field(default_factory=dict)
    op_sizes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # op -> sizes beyond its axis's

    def times(self, backend: str, op: str, size: int, dtype: str) -> bool:
        """Whether this profile times ``op`` at ``size`` in ``dtype`` on ``backend``."""
        if self.ops is not None and op not in self.ops:
            return False
        axis = size_axis(op)
        sized = size in self.sizes.get(axis, ()) or size in self.op_sizes.get(op, ())
        if not sized or dtype not in self.dtypes.get(dtype_axis(op, dtype), ()):
            return False
        limit = self.cpu_limits.get(axis)
        return limit is None or size <= limit or REGISTRY.is_gpu(backend)

    def tracks_accuracy(self, op: str, dtype: str) -> bool:
        """Whether this profile tracks the accuracy of ``op`` in ``dtype``."""
        axis = "complex" if dtype.startswith("complex") else "accuracy"
        return (self.accuracy_ops is None or op in self.accuracy_ops) and dtype in self.dtypes.get(axis, ())

    def tracks_memory(self, op: str) -> bool:
        """Whether this profile tracks the peak memory of ``op``."""
        return self.memory_ops is None or op in self.memory_ops


_FULL_COMPUTE = ("float32", "float64")
_QUICK_EXTRA = frozenset({"exp", "add", "sum", "matmul", "sort", "fft", "softmax"})

PROFILES = {
    "quick": Profile(
        name="quick",
        sizes={"elements": (10_000, 1_000_000), "sort": (10_000, 1_000_000), "matrix": (128, 512), "fft": (2**14, 2**20)},
        dtypes={
            "memory": ("float32",),
            "compute": ("float32",),
            "int": ("int32",),
            "bool": ("bool",),
            "complex": ("complex64",),
            "accuracy": ("float32",),
        },
        ops=QUICK_OPS,
        accuracy_ops=_QUICK_EXTRA,
        memory_ops=_QUICK_EXTRA,
        compile_ops=frozenset({"exp", "matmul", "softmax"}),
        calibration={"array_mib": (64,), "gemm_n": (1024,), "gpu_array_mib": (256,), "gpu_dtype": _FULL_COMPUTE},
        repeat=(3, 7, 0.15),
        sample_time=0.005,
    ),
    "full": Profile(
        name="full",
        sizes={
            "elements": (100, 10_000, 1_000_000, 10_000_000),
            "sort": (100, 10_000, 1_000_000),
            "matrix": (32, 128, 512, 2048),
            "fft": (2**7, 2**14, 2**20, 2**22),
        },
        dtypes={
            "memory": ("float32",),
            "compute": _FULL_COMPUTE,
            "int": ("int32",),
            "bool": ("bool",),
            "complex": ("complex64", "complex128"),
            "accuracy": _FULL_COMPUTE,
        },
        ops=None,
        accuracy_ops=None,
        memory_ops=None,
        compile_ops=COMPILE_OPS,
        calibration={"array_mib": (256,), "gemm_n": (2048,), "gpu_array_mib": (1024,), "gpu_dtype": _FULL_COMPUTE},
        repeat=(5, 10, 0.2),
        sample_time=0.01,
        op_sizes=STUDY_GROUP_SIZES,
    ),
    # A few minutes on a GPU machine (scripts/gpu_run.sh): GPU_OPS where a GPU shows its
    # bandwidth (add on 1e8 float32, 381 MiB per array, beyond any cache) and its FLOP/s
    # (8192 x 8192 matmul, float32 with TF32 off and bfloat16 where the backend has it),
    # launch-bound sizes beside them (1e4 elements, 512 matrices); CPU backends run the
    # same ops up to 1e6 elements, 2048 matrices and 2**22-point FFTs, and pure Python
    # stays within PYTHON_MAX_WORK. The calibration measures the GPU's roofs on torch:cuda
    # (device-to-device copy of 1 GiB, 8192 gemm in float32, float64 and bfloat16) and the
    # host's, so the roofline has both.
    "gpu": Profile(
        name="gpu",
        sizes={"elements": (10_000, 1_000_000, 100_000_000), "matrix": (512, 2048, 8192), "fft": (2**20, 2**22, 2**24)},
        dtypes={
            "memory": ("float32",),
            "compute": ("float32", "bfloat16"),
            "int": ("int32",),
            "bool": ("bool",),
            "complex": ("complex64",),
            "accuracy": ("float32",),
        },
        ops=GPU_OPS,
        accuracy_ops=frozenset({"exp", "matmul", "softmax", "fft"}),  # where GPU libraries trade precision for speed
        memory_ops=frozenset(),  # peakmem is the host's RSS: it says nothing about a GPU
        compile_ops=frozenset({"matmul", "softmax"}),
        calibration={"array_mib": (256,), "gemm_n": (2048,), "gpu_array_mib": (1024,), "gpu_dtype": (*_FULL_COMPUTE, "bfloat16")},
        repeat=(3, 7, 0.15),
        sample_time=0.005,
        cpu_limits={"elements": 1_000_000, "sort": 1_000_000, "matrix": 2048, "fft": 2**22},
    ),
}


def _union(axis_values: Iterator[tuple[Any, ...]], *, ordered: bool) -> tuple[Any, ...]:
    values = list(dict.fromkeys(itertools.chain.from_iterable(axis_values)))
    return tuple(sorted(values)) if ordered else tuple(values)


@dataclass(frozen=True)
class Grid:
    """The values of each axis over every profile: what ``params`` hold."""

    sizes: Mapping[str, tuple[int, ...]]
    dtypes: Mapping[str, tuple[str, ...]]
    calibration: Mapping[str, tuple[Any, ...]]


def _grid(profiles: Mapping[str, Profile]) -> Grid:
    def axes(attr: str) -> set[str]:
        return {axis for p in profiles.values() for axis in getattr(p, attr)}

    def axis_sizes(p: Profile, axis: str) -> tuple[int, ...]:
        extra = (size for op, sizes in p.op_sizes.items() if size_axis(op) == axis for size in sizes)
        return (*p.sizes.get(axis, ()), *extra)

    return Grid(
        sizes={a: _union((axis_sizes(p, a) for p in profiles.values()), ordered=True) for a in sorted(axes("sizes"))},
        dtypes={a: _union((p.dtypes.get(a, ()) for p in profiles.values()), ordered=False) for a in sorted(axes("dtypes"))},
        calibration={a: _union((p.calibration.get(a, ()) for p in profiles.values()), ordered=False) for a in sorted(axes("calibration"))},
    )


#: every profile's cells together: the params of every benchmark
GRID = _grid(PROFILES)


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name`` (default: ``$TENSORSCOPE_PROFILE``, else ``full``)."""
    name = (name or os.environ.get("TENSORSCOPE_PROFILE") or "full").strip().lower()
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"TENSORSCOPE_PROFILE must be one of {sorted(PROFILES)}, got {name!r}") from None


PROFILE = get_profile()
#: why the requested TENSORSCOPE_SIMD setting is not in force (every cell then fails)
SIMD_PROBLEM = environment.simd_problem()


# ---------------------------------------------------------------------------
# params of the bench modules, and the check that every op is benchmarked


def timed_params(ops: Sequence[str], family: str) -> tuple[tuple[Any, ...], ...]:
    """``(backends, ops, sizes, dtypes)`` of a timed class: ``ops`` of one size axis in one dtype ``family``."""
    axes = {size_axis(op) for op in ops}
    dtype_axes = {dtype_axis(op, _FAMILY_DTYPE[family]) for op in ops}
    if len(axes) != 1 or len(dtype_axes) != 1:
        raise ValueError(f"one timed class needs one size axis and one dtype axis, got {sorted(axes)} and {sorted(dtype_axes)} for {ops}")
    return (BACKENDS, tuple(ops), GRID.sizes[axes.pop()], GRID.dtypes[dtype_axes.pop()])


def accuracy_params(ops: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """``(backends, ops, dtypes)`` of an accuracy class (complex ops: the complex dtypes)."""
    complex_ops = {op for op in ops if "float32" not in CATALOG.OPS[op].dtypes}
    axis = "complex" if complex_ops else "accuracy"
    if complex_ops and complex_ops != set(ops):
        raise ValueError(f"one accuracy class is all complex or all float: {ops}")
    return (BACKENDS, tuple(ops), GRID.dtypes[axis])


def memory_params(ops: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """``(backends, ops, size, dtype)`` of a peak-memory class: the :data:`PEAKMEM_OPS` of ``ops`` at :data:`MEMORY_SIZES`."""
    chosen = tuple(op for op in ops if op in PEAKMEM_OPS)
    kinds = {CATALOG.OPS[op].kind for op in chosen}
    if len(kinds) != 1:
        raise ValueError(f"one peak-memory class needs ops of one kind, got {chosen}")
    kind = kinds.pop()
    return (BACKENDS, chosen, (MEMORY_SIZES[kind],), ("complex64" if kind == "fft" else "float32",))


def compile_params(ops: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """``(backends, ops)`` of a compile-time class: the :data:`COMPILE_OPS` of ``ops``."""
    return (BACKENDS, tuple(op for op in ops if op in COMPILE_OPS))


def require_benchmarks(group: str, *timed: type[BackendBenchmark]) -> None:
    """Refuse to load a bench module while an op of catalog ``group`` has no timed class among ``timed``."""
    covered = {op for cls in timed for op in cls.params[1]}
    missing = [op for op in CATALOG.ops_in_groups(group) if op not in covered]
    if missing:
        raise RuntimeError(
            f"Missing benchmarks for ops of group {group!r}: {missing}. Give them a timed class in "
            f"benchmarks/bench_{group}.py (by_family splits the group by dtype family)."
        )


def _require_group_modules() -> None:
    """Refuse to load the suite while an op group of the catalog has no ``bench_<group>.py``."""
    missing = [g for g in CATALOG.GROUPS if not (SUITE_DIR / f"bench_{g}.py").is_file()]
    if missing:
        raise ImportError(f"Missing benchmarks for op groups {missing}: add benchmarks/bench_<group>.py for each")


_require_group_modules()


# ---------------------------------------------------------------------------
# framework preloading (asv's fork server imports the suite once and forks per cell)


#: Frameworks the fork server imports when installed, whatever the benchmarked commit's
#: backends are: a fixed list, so that ``peakmem_`` (the whole process's peak RSS, which
#: includes every imported library) has the same baseline at every commit. Importing only
#: the commit's own backends made numpy's peakmem rise 1.3-2.4x at the commit that added
#: the torch/jax backends, although numpy's memory never changed.
#:
#: torch is not among them: a cell forked from a server that had imported torch stalled
#: about 16 ms per call in 1 of 4-8 cells (torch:cpu ``matmul`` and ``dense`` at 128:
#: ~16 ms instead of ~0.1 ms, for the whole cell), never in an unforked process, and
#: re-creating torch's thread pool in the child did not cure it. So each torch cell
#: imports torch itself, after the fork (about 1-1.5 s per torch cell on the 2-vCPU
#: reference VM, outside the timing), and torch's own memory counts in torch cells'
#: peakmem only. ``TENSORSCOPE_PRELOAD=all`` brings torch back (to compare),
#: ``TENSORSCOPE_PRELOAD=0`` preloads nothing.
PRELOAD_MODULES = ("numba", "jax", "jax.numpy", "cupy")
PRELOAD_ALL = (*PRELOAD_MODULES, "torch")


def preload_modules() -> tuple[str, ...]:
    """The modules the fork server imports, from ``TENSORSCOPE_PRELOAD`` (``1``/unset, ``all`` or ``0``)."""
    setting = os.environ.get("TENSORSCOPE_PRELOAD", "1").strip().lower()
    if setting in ("0", "none", "off"):
        return ()
    if setting == "all":
        return PRELOAD_ALL
    if setting in ("1", "", "on"):
        return PRELOAD_MODULES
    raise ValueError(f"TENSORSCOPE_PRELOAD must be 1 (default), all or 0, got {setting!r}")


def _preload_frameworks() -> None:
    """Import the frameworks of :func:`preload_modules`, and the backend modules built only on them, before asv forks.

    Importing jax costs seconds; with ``launch_method = forkserver`` every cell is a fork
    of the process that imported the suite, so each pays it once per run instead of once
    per cell. Numba's CPU target is initialised here too (one tiny non-parallel function
    compiled: ~0.2 s that every numba cell would otherwise pay when it loads its kernels
    from the disk cache). Nothing else: no device, thread pool or XLA client is created
    before the fork.
    """
    modules = preload_modules()
    if not modules:
        return
    import importlib.util

    for module in modules:
        try:
            if importlib.util.find_spec(module.partition(".")[0]) is not None:
                importlib.import_module(module)
        except Exception as exc:  # a broken framework fails its own cells, not the suite
            print(f"tensorscope: preloading {module} failed: {exc!r}", file=sys.stderr)
    if "numba" in sys.modules:
        try:
            sys.modules["numba"].njit(lambda x: x + 1)(1)
        except Exception as exc:
            print(f"tensorscope: initialising numba failed: {exc!r}", file=sys.stderr)
    from backends import _registry

    for name in backends.available():
        entry = _registry._entries.get(name.partition(":")[0])
        if entry is None or not isinstance(entry.target, str):
            continue
        if any(module not in sys.modules for module in entry.requires):
            continue  # its framework is not preloaded (torch): the cell imports it after the fork
        try:
            importlib.import_module(entry.target.partition(":")[0])
        except Exception as exc:  # a broken backend fails its own cells, not the suite
            print(f"tensorscope: preloading {name} failed: {exc!r}", file=sys.stderr)


_preload_frameworks()


# ---------------------------------------------------------------------------
# reference check


#: Maximum relative error accepted by the pre-timing check, per output dtype.
TOLERANCE = {"float16": 1e-2, "bfloat16": 4e-2, "float32": 1e-4, "float64": 1e-10, "complex64": 1e-4, "complex128": 1e-10}
#: Factor applied to TOLERANCE for ops that accumulate rounding over many terms (catalog: ``accumulates``).
ACCUMULATING_FACTOR = 100.0
#: Factor for ops whose usual formula cancels (catalog: ``cancels``): gelu as
#: x/2 * (1 + erf(x/sqrt 2)) loses digits where erf nears -1. PyTorch and JAX compute it so
#: (1.0e-4 to 2.0e-4 of the output's scale in float32, measured on the suite's inputs); a
#: wrong kernel is off by far more. The accuracy track still records each backend's own error.
CANCELLING_FACTOR = 10.0


class WrongResult(AssertionError):
    """A backend's output differs from the float64 reference beyond tolerance."""


def _reference_dtype(dtype: str) -> str:
    if dtype in ("float16", "bfloat16", "float32", "float64"):
        return "float64"
    if dtype in ("complex64", "complex128"):
        return "complex128"
    return dtype


def _upcast(a: np.ndarray) -> np.ndarray:
    target = _reference_dtype(str(a.dtype))
    return a if target == str(a.dtype) else a.astype(target)


def _reference(op: str, case: Case) -> Any:
    """The op on NumPy in float64 (complex128) on the same input values."""
    ref_be = backends.get("numpy")
    tensors = [tuple(_upcast(a) for a in t) if isinstance(t, tuple) else _upcast(t) for t in case.tensors]
    kwargs = dict(case.kwargs)
    if not case.tensors and "dtype" in kwargs:  # creation ops: the reference is created in the wide dtype
        kwargs["dtype"] = _reference_dtype(kwargs["dtype"])
    with np.errstate(all="ignore"):
        return ref_be.op(op)(*tensors, *case.params, **kwargs)


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    """Max element-wise relative error of ``out`` against ``ref``.

    ``max |out - ref| / max(|ref|, 1e-3 * max|ref|)``: elements a thousand times
    smaller than the largest are judged on that absolute level (their relative error
    is dominated by cancellation, not by the backend). NaN/inf must match exactly
    (``inf`` is returned otherwise); integer and bool data must be equal (0 or inf).
    """
    out = np.asarray(out)
    ref = np.asarray(ref)
    if out.shape != ref.shape:
        return math.inf
    if ref.size == 0:
        return 0.0
    if ref.dtype.kind in "biu" and out.dtype.kind in "biu":
        return 0.0 if np.array_equal(out, ref) else math.inf
    wide = "complex128" if np.iscomplexobj(ref) or np.iscomplexobj(out) else "float64"
    o = out.astype(wide, copy=False)
    r = ref.astype(wide, copy=False)
    finite = np.isfinite(r)
    if finite.all():  # the common case, without the masked copies below
        return _max_scaled_error(o, r) if np.isfinite(o).all() else math.inf
    if not np.array_equal(np.isnan(o), np.isnan(r)) or not np.array_equal(o[np.isinf(r)], r[np.isinf(r)]):
        return math.inf
    if not finite.any():
        return 0.0
    of, rf = o[finite], r[finite]
    if not np.isfinite(of).all():
        return math.inf
    return _max_scaled_error(of, rf)


def _max_scaled_error(out: np.ndarray, ref: np.ndarray) -> float:
    """``max |out - ref| / max(|ref|, 1e-3 max|ref|)`` over finite arrays (absolute when ref is all 0)."""
    mag = np.abs(ref)
    floor = 1e-3 * float(mag.max())
    scale = np.maximum(mag, floor) if floor > 0 else np.ones_like(mag)
    return float((np.abs(out - ref) / scale).max())


def tolerance(op: str, dtype: str) -> float:
    """Largest relative error the check accepts for ``op`` producing ``dtype`` (catalog facts: accumulates, cancels)."""
    tol = TOLERANCE.get(dtype, 0.0)
    spec = CATALOG.OPS[op]
    if spec.accumulates:
        return tol * ACCUMULATING_FACTOR
    return tol * CANCELLING_FACTOR if spec.cancels else tol


def check_against_reference(op: str, case: Case, outputs: Sequence[np.ndarray], *, strict: bool = True) -> float:
    """Compare a backend's outputs (as NumPy arrays) of ``op`` on ``case`` with float64 NumPy.

    Returns the largest relative error over the outputs (see :func:`relative_error`);
    index outputs (argmax, argmin, argsort, top_k) are judged by the values they point
    at, so equal values in another valid order pass. Raises :class:`WrongResult` when
    ``strict`` and a shape, dtype or value is wrong.
    """
    expected = _expected_infos(op, case)
    if len(outputs) != len(expected):
        raise WrongResult(f"{op}: expected {len(expected)} output(s), got {len(outputs)}")
    for got, want in zip(outputs, expected, strict=True):
        if tuple(got.shape) != want.shape:
            raise WrongResult(f"{op}: output shape {tuple(got.shape)}, expected {want.shape}")
        if str(got.dtype) != want.dtype and not (want.dtype == "bfloat16" and "bfloat16" in str(got.dtype)):
            raise WrongResult(f"{op}: output dtype {got.dtype}, expected {want.dtype}")
    layout = CATALOG.OPS[op].layout
    if layout == "element" and expected[0].size > _SAMPLE_ABOVE:
        # element-wise: out[i] depends on inputs[i] only, so the reference of a sample
        # (both ends, where vector tails are handled, and a strided middle) suffices
        idx = _sample_indices(expected[0].size)
        case = Case(tuple(t[idx] for t in case.tensors), case.params, case.kwargs)
        outputs = [o[idx] for o in outputs]
    elif layout == "row" and expected[0].size > _SAMPLE_ABOVE:
        # row-wise: output row i depends on input row i (and the shared 1-D gamma/beta)
        rows = case.tensors[0].shape[0]
        idx = _sample_indices(rows, edge=64, count=256)
        case = Case(tuple(t[idx] if t.ndim == 2 else t for t in case.tensors), case.params, case.kwargs)
        outputs = [o[idx] for o in outputs]
    ref = _reference(op, case)
    refs = list(ref) if isinstance(ref, tuple) else [ref]
    if CATALOG.OPS[op].returns_indices:
        errors = _INDEX_JUDGES[op](case.tensors[0], list(outputs), refs)
    else:
        errors = [relative_error(o, r) for o, r in zip(outputs, refs, strict=True)]
    worst = max(errors, default=0.0)
    dtype = expected[0].dtype
    if strict and worst > tolerance(op, dtype):
        raise WrongResult(
            f"{op}: output differs from the float64 NumPy reference (max relative error {worst:.3g}, tolerance {tolerance(op, dtype):.1g} for {dtype})"
        )
    return worst


def _same_values(ok: bool) -> float:
    return 0.0 if ok else math.inf


#: How ops that return positions are judged: by the values they point at, so equal values in
#: another valid order pass (an op with ``returns_indices`` in the catalog needs an entry here).
_INDEX_JUDGES: dict[str, Callable[[np.ndarray, list[np.ndarray], list[np.ndarray]], list[float]]] = {
    "argmax": lambda x, out, ref: [_same_values(np.array_equal(x.reshape(-1)[out[0]], x.reshape(-1)[ref[0]]))],
    "argmin": lambda x, out, ref: [_same_values(np.array_equal(x.reshape(-1)[out[0]], x.reshape(-1)[ref[0]]))],
    "argsort": lambda x, out, ref: [_same_values(np.array_equal(np.take_along_axis(x, out[0], -1), np.sort(x, axis=-1)))],
    "top_k": lambda x, out, ref: [relative_error(out[0], ref[0]), _same_values(np.array_equal(np.take_along_axis(x, out[1], -1), out[0]))],
}


#: element-wise outputs larger than this are checked on a sample of positions
_SAMPLE_ABOVE = 1 << 17


_missing_judges = [op for op, spec in CATALOG.OPS.items() if spec.returns_indices and op not in _INDEX_JUDGES]
if _missing_judges:
    raise ImportError(f"ops returning positions without a judge in benchmarks/common.py _INDEX_JUDGES: {_missing_judges}")


def _sample_indices(n: int, edge: int = 4096, count: int = 65536) -> np.ndarray:
    """Both ends (``edge`` each) and about ``count`` strided positions between them."""
    middle = np.arange(edge, n - edge, max((n - 2 * edge) // count, 1))
    return np.concatenate([np.arange(edge), middle, np.arange(n - edge, n)])


def _infos(case: Case) -> list[Any]:
    infos: list[Any] = []
    for t in case.tensors:
        if isinstance(t, tuple):
            infos.append([TensorInfo(a.shape, str(a.dtype)) for a in t])
        else:
            infos.append(TensorInfo(t.shape, str(t.dtype)))
    return infos


def _expected_infos(op: str, case: Case) -> list[TensorInfo]:
    return _outputs_of(op, _infos(case), case.params, case.kwargs)


def _outputs_of(op: str, tensors: Sequence[Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[TensorInfo]:
    """Output shapes and dtypes of ``op`` as the benchmarked commit's catalog infers them."""
    out = OPS[op].infer(*tensors, *args, **kwargs)
    return list(out) if isinstance(out, tuple) and not isinstance(out, TensorInfo) else [out]


def _input_infos(inputs: Any) -> list[Any]:
    """The TensorInfos of a BenchInputs, flattened out of sequence arguments."""
    # a TensorInfo is a tuple too: a sequence argument is the tuple without a dtype
    return [i for t in inputs.tensors for i in ((t,) if hasattr(t, "dtype") else t)]


def _too_big_for_python(op: str, size: int, inputs: Any) -> bool:
    """Whether one call exceeds :data:`PYTHON_MAX_WORK` (FLOPs, or elements read + written) and :data:`PYTHON_LARGE`."""
    if size <= PYTHON_LARGE.get(op, 0):
        return False
    flops = OPS[op].cost(*inputs.tensors, *inputs.args, **inputs.kwargs).flops
    outputs = _outputs_of(op, inputs.tensors, inputs.args, inputs.kwargs)
    elements = sum(math.prod(i.shape) for i in _input_infos(inputs)) + sum(math.prod(i.shape) for i in outputs)
    return flops > PYTHON_MAX_WORK[0] or elements > PYTHON_MAX_WORK[1]


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _nbytes(info: Any) -> int:
    return math.prod(info.shape) * (2 if info.dtype == "bfloat16" else np.dtype(info.dtype).itemsize)


def _needed_memory(op: str, inputs: Any) -> int:
    """Rough peak bytes of one cell: inputs, outputs and temporaries, plus the float64 reference."""
    ins = _input_infos(inputs)
    size = sum(_nbytes(i) for i in ins) + sum(_nbytes(i) for i in _outputs_of(op, inputs.tensors, inputs.args, inputs.kwargs))
    widen = 2 if any(i.dtype.startswith(("float", "bfloat", "complex")) and _nbytes(i) < 8 * math.prod(i.shape) for i in ins) else 1
    return 3 * size + 2 * widen * size


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__ or "out of memory" in str(exc).lower()


def _to_numpy(be: backends.Backend, out: Any) -> list[np.ndarray]:
    outs = out if isinstance(out, tuple) else (out,)
    return [np.asarray(be.to_numpy(o)) for o in outs]


# ---------------------------------------------------------------------------
# base classes


#: the probe that writes provenance: this checkout's, run against the installed backends
_PROBE = SUITE_DIR.parent / "backends" / "provenance.py"


class BackendBenchmark:
    """Base of every benchmark class: backend lookup, sampling settings, skip rules.

    asv attributes set here apply to every subclass and are the same in every profile
    (asv stores them in ``benchmarks.json``): one round (one process per cell), no asv
    warm-up phase (``setup`` warms up), a 180 s timeout. :meth:`start_cell`, the first
    step of every ``setup``, applies the profile's sampling and skips cells outside it::

        class Reduce(OpBenchmark):
            params = timed_params(by_family("reduction")["float"], "float")

            def time_op(self, backend, op, size, dtype):
                self.sync(self.run())
    """

    param_names: tuple[str, ...] = ("backend",)
    params: tuple[Sequence[Any], ...] = (BACKENDS,)
    rounds = 1
    repeat = PROFILES["full"].repeat
    sample_time = PROFILES["full"].sample_time
    timeout = 180.0
    warmup_time = 0.0
    min_run_count = 1

    @classmethod
    def selected(cls, profile: Profile, *params: Any) -> bool:
        """Whether ``profile`` runs the cell ``params`` of this class."""
        return True

    def start_cell(self, *params: Any) -> None:
        """First step of every ``setup``: the SIMD check, provenance, the profile's cells and sampling."""
        self.require_simd_setting()
        environment.write_provenance_once(_PROBE, extra=op_costs)
        if not self.selected(PROFILE, *params):
            raise NotImplementedError(f"not in the {PROFILE.name} profile (TENSORSCOPE_PROFILE)")
        self.repeat = PROFILE.repeat
        self.sample_time = PROFILE.sample_time

    @staticmethod
    def require_simd_setting() -> None:
        """Fail the cell when TENSORSCOPE_SIMD asked for something not in force."""
        if SIMD_PROBLEM:
            raise RuntimeError(SIMD_PROBLEM)

    def get_backend(self, name: str) -> backends.Backend:
        """The backend, or NotImplementedError (asv: skipped) when it cannot run here."""
        self.require_simd_setting()
        try:
            be = backends.get(name)
        except BackendUnavailable as exc:
            raise NotImplementedError(str(exc)) from exc
        problem = environment.thread_problem(name)
        if problem:
            raise RuntimeError(problem)
        return be


class OpBenchmark(BackendBenchmark):
    """Times one catalog op: parameters ``backend, op, size, dtype``.

    Subclasses set ``params = timed_params(ops, family)`` and define ``time_op``; see the
    module docstring for what ``setup`` does.
    """

    param_names = ("backend", "op", "size", "dtype")
    #: a result beyond tolerance fails the cell (accuracy tracking records it instead)
    strict = True
    _prepared: tuple[Any, ...] | None = None

    @classmethod
    def selected(cls, profile: Profile, *params: Any) -> bool:
        backend, op, size, dtype = params
        return profile.times(backend, op, size, dtype)

    def setup(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.start_cell(backend, op, size, dtype)
        self.prepare(backend, op, size, dtype)

    def prepare(
        self, backend: str, op: str, size: int, dtype: str, *, check: bool = True, warm: bool = True, calibrate: bool = True
    ) -> None:
        """Build inputs on the device, warm up, check the output once, calibrate ``number``.

        Memoised per parameter combination: asv_runner re-runs ``setup`` between timed
        calls, and a re-run must not redo (or time) any of this.
        """
        key = (backend, op, size, dtype, check, warm, calibrate)
        if self._prepared == key:
            return
        spec = OPS.get(op)
        if spec is None:
            raise NotImplementedError(f"{op} is not in the benchmarked commit's catalog")
        if dtype not in spec.dtypes:
            raise NotImplementedError(f"{op} is not defined for {dtype}")
        be = self.get_backend(backend)
        if not be.supports(op):
            raise NotImplementedError(f"backend {backend!r} does not implement {op!r}")
        inputs = CATALOG.OPS[op].benchmark_inputs(size, dtype)
        if backend == "python" and _too_big_for_python(op, size, inputs):
            raise NotImplementedError(
                f"pure Python is not run above {PYTHON_MAX_WORK[0]:.0e} FLOPs or {PYTHON_MAX_WORK[1]:.0e} elements ({op} at size {size};"
                " the study group's sizes excepted)"
            )
        free = _available_memory()
        need = _needed_memory(op, inputs)
        if free is not None and need > 0.7 * free:
            raise NotImplementedError(f"needs ~{need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB available")
        case = make_case(op, size, dtype)
        try:
            tensors = [be.from_numpy(t) if not isinstance(t, tuple) else [be.from_numpy(a) for a in t] for t in case.tensors]
            for t in tensors:
                be.synchronize(*(t if isinstance(t, list) else [t]))
            fn = be.op(op)
            run: Callable[[], Any] = functools.partial(fn, *tensors, *case.params, **case.kwargs)
            if warm and backend in WARMUP_BACKENDS:
                be.warmup(fn, *tensors, *case.params, **case.kwargs)
            tuple_out = len(_expected_infos(op, case)) > 1
            sync: Callable[[Any], None] = (lambda out: be.synchronize(*out)) if tuple_out else be.synchronize
            first = math.nan
            if check:
                start = time.perf_counter()
                out = run()
                sync(out)
                first = time.perf_counter() - start
                self.error = check_against_reference(op, case, _to_numpy(be, out), strict=self.strict)
            else:
                self.error = math.nan
        except (UnsupportedDType, UnsupportedOperation) as exc:
            raise NotImplementedError(f"{backend}: {exc}") from exc
        except Exception as exc:
            if _is_out_of_memory(exc):
                raise NotImplementedError(f"{backend}: out of memory for {op} at size {size}: {exc}") from exc
            raise
        self.be, self.case, self.run, self.sync = be, case, run, sync
        if calibrate:
            self.number = self._calibrate(first)
        self._prepared = key

    def _calibrate(self, first: float = math.nan) -> int:
        """Calls per sample so that one sample lasts about ``sample_time``.

        ``first``: seconds of the reference check's call (NaN if none). A call that long
        already tells ``number`` (1) and the sampling, so a slow op (pure Python at the study
        group's sizes: 0.2-4 s) is not called again just to learn its duration.
        """
        if first > SLOW_CALL_SECONDS:
            per_call = first
        else:
            run, sync, timer = self.run, self.sync, time.perf_counter
            calls, start = 0, timer()
            while True:
                sync(run())
                calls += 1
                elapsed = timer() - start
                if elapsed > self.sample_time / 4 or calls >= 1000:
                    break
            per_call = elapsed / calls
        if per_call > VERY_SLOW_CALL_SECONDS:
            self.repeat = VERY_SLOW_CALL_REPEAT
        elif per_call > SLOW_CALL_SECONDS:
            self.repeat = SLOW_CALL_REPEAT
        return max(1, min(100_000, round(self.sample_time / per_call)))


class OpMemory(OpBenchmark):
    """Peak resident memory of one op call (inputs and outputs included); no reference check.

    Subclasses set ``params = memory_params(ops)`` and define ``peakmem_op`` (the same body as ``time_op``).
    """

    @classmethod
    def selected(cls, profile: Profile, *params: Any) -> bool:
        return profile.tracks_memory(params[1])

    def setup(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.start_cell(backend, op, size, dtype)
        self.prepare(backend, op, size, dtype, check=False, calibrate=False)


class OpAccuracy(OpBenchmark):
    """Max relative error of an op against NumPy float64; parameters ``backend, op, dtype``.

    Subclasses set ``params = accuracy_params(ops)`` and define ``track_max_rel_error``
    returning ``self.error``. An error beyond the timing check's tolerance is recorded, not raised.
    """

    param_names = ("backend", "op", "dtype")  # type: ignore[assignment]
    strict = False
    unit = "relative error"
    #: size used for each kind of op (the catalog's ``kind``)
    accuracy_size = {"elements": 10_000, "matrix": 128, "fft": 2**14}

    @classmethod
    def selected(cls, profile: Profile, *params: Any) -> bool:
        _backend, op, dtype = params
        return profile.tracks_accuracy(op, dtype)

    def setup(self, backend: str, op: str, dtype: str) -> None:  # type: ignore[override]
        self.start_cell(backend, op, dtype)
        size = self.accuracy_size[CATALOG.OPS[op].kind]
        self.prepare(backend, op, size, dtype, check=True, warm=True, calibrate=False)


class OpCompile(BackendBenchmark):
    """JIT compile time: first call minus a steady call, in a fresh interpreter.

    Parameters ``backend, op`` (``params = compile_params(ops)``); the op runs on its
    smallest accuracy-size input in its first supported dtype of float32, int32, bool,
    complex64. The child interpreter gets an empty ``NUMBA_CACHE_DIR`` so numba compiles
    rather than loads its cache; JAX has no persistent cache unless configured. Non-JIT
    backends skip. Subclasses define ``track_compile_time`` returning ``self.compile_seconds(backend, op)``.
    """

    param_names = ("backend", "op")
    unit = "seconds"
    compile_size = {"elements": 1_000, "matrix": 64, "fft": 2**10}

    @classmethod
    def selected(cls, profile: Profile, *params: Any) -> bool:
        return params[1] in profile.compile_ops

    def setup(self, backend: str, op: str) -> None:
        self.start_cell(backend, op)
        if backend not in JIT_BACKENDS:
            raise NotImplementedError(f"{backend} does not compile just in time")
        if op not in OPS:
            raise NotImplementedError(f"{op} is not in the benchmarked commit's catalog")
        be = self.get_backend(backend)
        if not be.supports(op):
            raise NotImplementedError(f"backend {backend!r} does not implement {op!r}")
        self.dtype = next(d for d in ("float32", "int32", "bool", "complex64") if d in OPS[op].dtypes)
        self.size = self.compile_size[CATALOG.OPS[op].kind]

    def compile_seconds(self, backend: str, op: str) -> float:
        """First-call latency beyond a steady call, measured in a child interpreter."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tensorscope-jit-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, TENSORSCOPE_PROVENANCE="0", TENSORSCOPE_PRELOAD="0")
            code = (
                "import sys, json; "
                f"sys.path.append({str(SUITE_DIR.parent)!r}); "
                "from benchmarks.common import first_call_seconds; "
                f"print(json.dumps(first_call_seconds({backend!r}, {op!r}, {self.size!r}, {self.dtype!r})))"
            )
            out = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, timeout=self.timeout)
        if out.returncode != 0:
            raise RuntimeError(f"compile probe failed:\n{out.stderr[-4000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result.get("skip"):
            raise NotImplementedError(result["skip"])
        return float(max(result["first"] - result["steady"], 0.0))


def first_call_seconds(backend: str, op: str, size: int, dtype: str) -> dict[str, Any]:
    """Seconds of the first call (warm-up) and of a steady call of ``op`` (run in a child)."""
    try:
        be = backends.get(backend)
        case = make_case(op, size, dtype)
        tensors = [be.from_numpy(t) if not isinstance(t, tuple) else [be.from_numpy(a) for a in t] for t in case.tensors]
        for t in tensors:
            be.synchronize(*(t if isinstance(t, list) else [t]))
        fn = be.op(op)
        start = time.perf_counter()
        be.warmup(fn, *tensors, *case.params, **case.kwargs)
        first = time.perf_counter() - start
        steady = math.inf
        for _ in range(5):
            start = time.perf_counter()
            be.warmup(fn, *tensors, *case.params, **case.kwargs)
            steady = min(steady, time.perf_counter() - start)
    except (BackendUnavailable, UnsupportedOperation, UnsupportedDType) as exc:
        return {"skip": str(exc)}
    return {"first": first, "steady": steady}


# ---------------------------------------------------------------------------
# the suite as a whole: its classes, a profile's cells as asv --bench patterns, op costs


def benchmark_classes() -> Iterator[tuple[str, type[BackendBenchmark], str]]:
    """``(asv name, class, method)`` of every benchmark of the suite, e.g. ``("bench_unary.Unary.time_op", Unary, "time_op")``."""
    for info in sorted(pkgutil.iter_modules([str(SUITE_DIR)]), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for name, cls in vars(module).items():
            if isinstance(cls, type) and issubclass(cls, BackendBenchmark) and cls.__module__ == module.__name__:
                for method in sorted(k for k in dir(cls) if k.startswith(("time_", "track_", "peakmem_"))):
                    yield f"{info.name}.{name}.{method}", cls, method


def selected_cells(profile: Profile | str) -> dict[str, list[tuple[Any, ...]]]:
    """The cells ``profile`` runs, per asv benchmark name (benchmarks without any are left out)."""
    chosen = PROFILES[profile] if isinstance(profile, str) else profile
    cells: dict[str, list[tuple[Any, ...]]] = {}
    for name, cls, _method in benchmark_classes():
        run = [p for p in itertools.product(*cls.params) if cls.selected(chosen, *p)]
        if run:
            cells[name] = run
    return cells


def runnable_backends() -> tuple[str, ...]:
    """The grid's backends that can run on this machine's devices: GPU devices only where an NVIDIA driver is loaded.

    Nothing is imported (the registry's driver check). A CPU backend that is not installed
    stays in: asv's virtualenvs may have what this interpreter lacks.
    """
    gpu = REGISTRY._gpu_present()  # the registry's own test, so skip and selection agree
    return tuple(b for b in BACKENDS if gpu or not REGISTRY.is_gpu(b))


def asv_patterns(profile: Profile | str, backends: Sequence[str] | None = None) -> list[str]:
    """``asv run --bench`` regular expressions that select exactly ``profile``'s cells on ``backends``.

    asv matches them against ``name(param, ...)`` with each parameter's ``repr``; cells
    they leave out are not started at all (rather than started and skipped in ``setup``),
    and asv records them as skipped, as ``setup`` would. One pattern per benchmark: a
    product of per-axis alternatives where the cells form one, else the cells themselves.
    ``backends`` defaults to :func:`runnable_backends`: on a machine without a GPU the GPU
    backends' cells (3 of 8 in every class, 2,000 in the full profile, ~0.1 s each to
    start and skip) are left out.
    """
    keep = set(runnable_backends() if backends is None else backends)
    by_backend = {name for name, cls, _method in benchmark_classes() if cls.param_names[:1] == ("backend",)}
    patterns = []
    for name, all_cells in selected_cells(profile).items():
        cells = [c for c in all_cells if name not in by_backend or c[0] in keep]
        if not cells:
            continue
        axes = [list(dict.fromkeys(values)) for values in zip(*cells, strict=True)]
        if math.prod(len(a) for a in axes) == len(cells):
            body = ", ".join("(?:" + "|".join(re.escape(repr(v)) for v in axis) + ")" for axis in axes)
        else:
            body = "(?:" + "|".join(re.escape(", ".join(repr(v) for v in cell)) for cell in cells) + ")"
        patterns.append(f"^{re.escape(name)}\\({body}\\)$")
    return patterns


def op_costs() -> dict[str, Any]:
    """``op_costs`` and ``op_cost_columns`` for provenance: the installed catalog's cost of every timed (op, size, dtype) of the grid.

    Inputs follow the suite's size -> input rule; the cost model is the benchmarked
    commit's (``backends.OPS``). Format in the module docstring.
    """
    costs: dict[str, dict[str, dict[str, list[int]]]] = {}
    for _name, cls, method in benchmark_classes():
        if not method.startswith("time_") or not issubclass(cls, OpBenchmark):
            continue
        _backends, ops, sizes, dtypes = cls.params
        for op, size, dtype in itertools.product(ops, sizes, dtypes):
            try:
                inputs = CATALOG.OPS[op].benchmark_inputs(size, dtype)
                cost = OPS[op].cost(*inputs.tensors, *inputs.args, **inputs.kwargs)
            except Exception:  # not in this commit's catalog, or not for this dtype: no figure
                continue
            costs.setdefault(op, {}).setdefault(dtype, {})[str(size)] = [int(cost.flops), int(cost.bytes_read), int(cost.bytes_written)]
    return {"op_cost_columns": list(OP_COST_COLUMNS), "op_costs": costs}


#: what each ``op_costs`` entry of the provenance file lists
OP_COST_COLUMNS = ("flops", "bytes_read", "bytes_written")
