"""Shared machinery of the asv suite: profiles, parameters, the base benchmark class.

Parameters
----------
Every op benchmark is parametrised by ``backend`` (one of :data:`BACKENDS`, always all
of them), ``op``, ``size`` and ``dtype``. ``params`` never depend on what is installed
or on the hardware: a cell that cannot run raises ``NotImplementedError`` in ``setup``
and asv records it as skipped (backend not installed or without that device, op or
dtype not implemented by the backend, pure Python above :data:`PYTHON_MAX_WORK`
(1e7 FLOPs or 2e5 elements in and out: it runs 100 to 1e4 elements, matrices to 128),
inputs that do not fit in free memory).

Profiles
--------
``TENSORSCOPE_PROFILE`` (``full`` when unset, or ``quick``) is read at import and
shrinks ``params`` the same way on every machine. Every quick parameter list is a
subset of the full one, so quick and full results share cells. asv keeps one
``benchmarks.json`` (the last discovered suite): run ``quick`` first and ``full`` last
when both write into one results folder (``scripts/produce_results.sh`` does).

=========  ==========================================  ==========================
profile    grid                                        sampling per cell
=========  ==========================================  ==========================
quick      representative ops (:data:`QUICK_OPS`),      (min 3, max 7 samples, 0.15 s)
           2 sizes, float32                            5 ms per sample
full       every op, 4 sizes (sorting 3: 1e2-1e6);      (min 5, max 10 samples, 0.2 s)
           float32 (int32) timed for the memory-bound  10 ms per sample
           groups, float32 + float64 for linalg and
           fused workloads, complex64 + complex128
           for FFTs; accuracy tracked in float32 and
           float64 for every op
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
noise), and the run took 24.5 min against 16.4 the same day, over the 20-minute budget. One
round it is; :class:`Profile` keeps ``rounds`` for machines where it pays.

Timing honesty
--------------
``setup`` builds inputs (seeded, cached generators in :mod:`benchmarks.cases`) and
transfers them to the device, compiles (``Backend.warmup``), then checks the op's
output once against NumPy in float64 (:func:`check_against_reference`); a wrong
result raises :class:`WrongResult`, so asv records a failure instead of a time. The
timed body is one op call followed by ``synchronize``. asv_runner >= 0.3 re-runs
``setup`` between timed calls, so ``setup`` is memoised (a re-run costs a dict lookup)
and sets ``number`` per cell, calibrated to :attr:`Profile.sample_time`, because the
automatic choice would be one call per sample (the timer's resolution for fast ops).

Rates
-----
``track_`` benchmarks whose ``unit`` ends in ``/s`` (``GB/s``, ``GFLOP/s``) are rates:
higher is better. Every other unit (seconds, bytes, relative error) is lower-is-better.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import backends
from backends import OPS, BackendUnavailable, TensorInfo, UnsupportedDType, UnsupportedOperation

from ._env import simd_problem, thread_problem
from .cases import SIZE_KIND, Case, make_case

__all__ = [
    "ACCUMULATING_OPS",
    "BACKENDS",
    "COMPILE_OPS",
    "JIT_BACKENDS",
    "MEMORY_SIZES",
    "PROFILE",
    "PYTHON_MAX_WORK",
    "QUICK_OPS",
    "BackendBenchmark",
    "OpAccuracy",
    "OpBenchmark",
    "OpCompile",
    "OpMemory",
    "Profile",
    "WrongResult",
    "check_against_reference",
    "get_profile",
    "relative_error",
]

#: Every backend name, installed or not (the registry's built-ins, with devices).
BACKENDS = ("python", "numpy", "numba", "torch:cpu", "torch:cuda", "jax:cpu", "jax:gpu", "cupy")
#: Backends that compile on first call (their compile time is tracked).
JIT_BACKENDS = frozenset({"numba", "jax:cpu", "jax:gpu"})
#: Sizes of the peak-memory classes (the full profile's largest, in both profiles).
MEMORY_SIZES = {"elements": 10_000_000, "matrix": 2048, "fft": 2**22}
#: Pure Python runs a cell only below both limits: FLOPs, and elements read + written.
PYTHON_MAX_WORK = (10_000_000, 200_000)

#: Ops of the quick profile: at least one per benchmark class, the common workloads.
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

#: Ops whose JIT compile time the full profile tracks: one per group, plus matmul.
COMPILE_OPS = frozenset({"full", "exp", "add", "where", "sum", "window_max", "take", "matmul", "sort", "fft", "softmax"})

#: Ops whose result accumulates rounding over many terms (looser tolerance).
ACCUMULATING_OPS = frozenset(
    {
        "sum",
        "prod",
        "mean",
        "cumulative_sum",
        "window_sum",
        "scatter_add",
        "matmul",
        "conv",
        "cholesky",
        "triangular_solve",
        "fft",
        "ifft",
        "softmax",
        "logsumexp",
        "layer_norm",
        "dense",
        "mlp_forward",
    }
)

#: Maximum relative error accepted by the pre-timing check, per output dtype.
TOLERANCE = {"float16": 1e-2, "bfloat16": 4e-2, "float32": 1e-4, "float64": 1e-10, "complex64": 1e-4, "complex128": 1e-10}
#: Factor applied to TOLERANCE for ACCUMULATING_OPS.
ACCUMULATING_FACTOR = 100.0
#: Ops whose usual formula cancels: gelu as x/2 * (1 + erf(x/sqrt 2)) loses digits where erf
#: nears -1. PyTorch and JAX compute it so (1.0e-4 to 2.0e-4 of the output's scale in float32,
#: measured on the suite's inputs); a wrong kernel is off by far more. The accuracy track
#: still records each backend's own error.
CANCELLING_OPS = frozenset({"gelu"})
CANCELLING_FACTOR = 10.0


@dataclass(frozen=True)
class Profile:
    """One named grid and its sampling settings."""

    name: str
    element_sizes: tuple[int, ...]
    sort_sizes: tuple[int, ...]  # ordering ops: n log n, so the element grid without its largest
    matrix_sizes: tuple[int, ...]
    fft_sizes: tuple[int, ...]
    float_dtypes: tuple[str, ...]  # time grid of memory-bound groups (element-wise, shape, ...)
    compute_dtypes: tuple[str, ...]  # time grid of compute-bound groups (linalg, fused)
    accuracy_dtypes: tuple[str, ...]  # accuracy tracking of every float op
    int_dtypes: tuple[str, ...]
    complex_dtypes: tuple[str, ...]
    ops: frozenset[str] | None  # time grid; None: every op
    extra_ops: frozenset[str] | None  # accuracy and peak-memory classes; None: every op listed
    compile_ops: frozenset[str]  # JIT compile-time classes
    rounds: int  # asv's rounds: processes per cell, run in interleaved passes over the suite
    repeat: tuple[int, int, float]  # asv's (min_repeat, max_repeat, max_time), per round
    sample_time: float  # seconds per sample; number is calibrated to it
    timeout: float  # seconds per cell before asv records a failure

    def sizes(self, kind: str) -> tuple[int, ...]:
        return {"elements": self.element_sizes, "matrix": self.matrix_sizes, "fft": self.fft_sizes}[kind]

    def select(self, ops: Sequence[str]) -> tuple[str, ...]:
        """The ops of ``ops`` this profile times (never empty: the first op stands in)."""
        if self.ops is None:
            return tuple(ops)
        chosen = tuple(op for op in ops if op in self.ops)
        return chosen or tuple(ops[:1])

    def select_extra(self, ops: Sequence[str]) -> tuple[str, ...]:
        """The ops of ``ops`` whose accuracy and peak memory this profile tracks (may be empty)."""
        return tuple(op for op in ops if self.extra_ops is None or op in self.extra_ops)

    def select_compile(self, ops: Sequence[str]) -> tuple[str, ...]:
        """The ops of ``ops`` whose JIT compile time this profile tracks (may be empty)."""
        return tuple(op for op in ops if op in self.compile_ops)


PROFILES = {
    "quick": Profile(
        name="quick",
        element_sizes=(10_000, 1_000_000),
        sort_sizes=(10_000, 1_000_000),
        matrix_sizes=(128, 512),
        fft_sizes=(2**14, 2**20),
        float_dtypes=("float32",),
        compute_dtypes=("float32",),
        accuracy_dtypes=("float32",),
        int_dtypes=("int32",),
        complex_dtypes=("complex64",),
        ops=QUICK_OPS,
        extra_ops=frozenset({"exp", "add", "sum", "matmul", "sort", "fft", "softmax"}),
        compile_ops=frozenset({"exp", "matmul", "softmax"}),
        rounds=1,
        repeat=(3, 7, 0.15),
        sample_time=0.005,
        timeout=120.0,
    ),
    "full": Profile(
        name="full",
        element_sizes=(100, 10_000, 1_000_000, 10_000_000),
        sort_sizes=(100, 10_000, 1_000_000),
        matrix_sizes=(32, 128, 512, 2048),
        fft_sizes=(2**7, 2**14, 2**20, 2**22),
        float_dtypes=("float32",),
        compute_dtypes=("float32", "float64"),
        accuracy_dtypes=("float32", "float64"),
        int_dtypes=("int32",),
        complex_dtypes=("complex64", "complex128"),
        ops=None,
        extra_ops=None,
        compile_ops=COMPILE_OPS,
        rounds=1,
        repeat=(5, 10, 0.2),
        sample_time=0.01,
        timeout=180.0,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name`` (default: ``$TENSORSCOPE_PROFILE``, else ``full``)."""
    name = (name or os.environ.get("TENSORSCOPE_PROFILE") or "full").strip().lower()
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"TENSORSCOPE_PROFILE must be one of {sorted(PROFILES)}, got {name!r}") from None


PROFILE = get_profile()
#: why the requested TENSORSCOPE_SIMD setting is not in force (every cell then fails)
SIMD_PROBLEM = simd_problem()


class WrongResult(AssertionError):
    """A backend's output differs from the float64 reference beyond tolerance."""


# ---------------------------------------------------------------------------
# framework preloading (asv's fork server imports the suite once and forks per cell)


#: Frameworks the fork server imports when installed, whatever the benchmarked commit's
#: backends are: a fixed list, so that ``peakmem_`` (the whole process's peak RSS, which
#: includes every imported library) has the same baseline at every commit and for every
#: backend. Importing only the commit's own backends made numpy's peakmem rise 1.3-2.4x
#: at the commit that added the torch/jax backends, although numpy's memory never changed.
PRELOAD_MODULES = ("numba", "torch", "jax", "jax.numpy", "cupy")


def _preload_frameworks() -> None:
    """Import the frameworks and the backend modules once, before asv forks.

    Importing torch or jax costs seconds; with ``launch_method = forkserver`` every
    cell is a fork of the process that imported the suite, so each pays it once per
    run instead of once per cell. Numba's CPU target is initialised here too (one tiny
    non-parallel function compiled: ~0.2 s that every numba cell would otherwise pay
    when it loads its kernels from the disk cache). Nothing else: no device, thread
    pool or XLA client is created before the fork. ``TENSORSCOPE_PRELOAD=0`` turns it off.
    """
    if os.environ.get("TENSORSCOPE_PRELOAD", "1") == "0":
        return
    import importlib
    import importlib.util

    from backends import _registry

    for module in PRELOAD_MODULES:
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
    for name in backends.available():
        entry = _registry._entries.get(name.partition(":")[0])
        if entry is None or not isinstance(entry.target, str):
            continue
        try:
            importlib.import_module(entry.target.partition(":")[0])
        except Exception as exc:  # a broken backend fails its own cells, not the suite
            print(f"tensorscope: preloading {name} failed: {exc!r}", file=sys.stderr)


_preload_frameworks()


# ---------------------------------------------------------------------------
# reference check


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
    if OPS[op].group == "creation" and "dtype" in kwargs:
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
    """Largest relative error the check accepts for ``op`` producing ``dtype``."""
    tol = TOLERANCE.get(dtype, 0.0)
    if op in ACCUMULATING_OPS:
        return tol * ACCUMULATING_FACTOR
    return tol * CANCELLING_FACTOR if op in CANCELLING_OPS else tol


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
    if _is_elementwise(op) and expected[0].size > _SAMPLE_ABOVE:
        # element-wise: out[i] depends on inputs[i] only, so the reference of a sample
        # (both ends, where vector tails are handled, and a strided middle) suffices
        idx = _sample_indices(expected[0].size)
        case = Case(tuple(t[idx] for t in case.tensors), case.params, case.kwargs)
        outputs = [o[idx] for o in outputs]
    elif op in ROWWISE_OPS and expected[0].size > _SAMPLE_ABOVE:
        # row-wise: output row i depends on input row i (and the shared 1-D gamma/beta)
        rows = case.tensors[0].shape[0]
        idx = _sample_indices(rows, edge=64, count=256)
        case = Case(tuple(t[idx] if t.ndim == 2 else t for t in case.tensors), case.params, case.kwargs)
        outputs = [o[idx] for o in outputs]
    ref = _reference(op, case)
    refs = list(ref) if isinstance(ref, tuple) else [ref]
    x: Any = case.tensors[0] if case.tensors else None
    if op in ("argmax", "argmin"):
        errors = [0.0 if np.array_equal(x.reshape(-1)[outputs[0]], x.reshape(-1)[refs[0]]) else math.inf]
    elif op == "argsort":
        errors = [0.0 if np.array_equal(np.take_along_axis(x, outputs[0], -1), np.sort(x, axis=-1)) else math.inf]
    elif op == "top_k":
        values, indices = outputs
        errors = [relative_error(values, refs[0]), 0.0 if np.array_equal(np.take_along_axis(x, indices, -1), values) else math.inf]
    else:
        errors = [relative_error(o, r) for o, r in zip(outputs, refs, strict=True)]
    worst = max(errors, default=0.0)
    dtype = expected[0].dtype
    if strict and worst > tolerance(op, dtype):
        raise WrongResult(
            f"{op}: output differs from the float64 NumPy reference (max relative error {worst:.3g}, tolerance {tolerance(op, dtype):.1g} for {dtype})"
        )
    return worst


#: element-wise outputs larger than this are checked on a sample of positions
_SAMPLE_ABOVE = 1 << 17


def _is_elementwise(op: str) -> bool:
    return OPS[op].group in ("unary", "binary", "selection") or op == "gelu"


#: ops whose output row i depends only on input row i (rows of a 2-D input)
ROWWISE_OPS = frozenset({"softmax", "logsumexp", "layer_norm"})


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
    out = OPS[op].infer(*_infos(case), *case.params, **case.kwargs)
    return list(out) if isinstance(out, tuple) and not isinstance(out, TensorInfo) else [out]


def _work(op: str, case: Case) -> tuple[int, int]:
    """(FLOPs, elements read + written) of one call: the pure-Python budget measure."""
    cost = OPS[op].cost(*_infos(case), *case.params, **case.kwargs)
    elements = sum(a.size for a in case.arrays()) + sum(i.size for i in _expected_infos(op, case))
    return int(cost.flops), elements


def _too_big_for_python(op: str, case: Case) -> bool:
    flops, elements = _work(op, case)
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


def _needed_memory(op: str, case: Case) -> int:
    """Rough peak bytes of one cell: inputs, outputs and temporaries, plus the float64 reference."""
    inputs = sum(a.nbytes for a in case.arrays())
    outputs = sum(
        math.prod(i.shape) * np.dtype(i.dtype if i.dtype != "bfloat16" else "float32").itemsize for i in _expected_infos(op, case)
    )
    widen = 2 if any(a.dtype.itemsize < 8 and a.dtype.kind in "fc" for a in case.arrays()) else 1
    return 3 * (inputs + outputs) + 2 * widen * (inputs + outputs)


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__ or "out of memory" in str(exc).lower()


def _to_numpy(be: backends.Backend, out: Any) -> list[np.ndarray]:
    outs = out if isinstance(out, tuple) else (out,)
    return [np.asarray(be.to_numpy(o)) for o in outs]


# ---------------------------------------------------------------------------
# base classes


_torch_threads_reset = False


def _reset_torch_threads() -> None:
    """Re-create torch's intra-op thread pool once in this (forked) cell.

    A trial against a stall seen here: with torch imported by the fork server, a forked
    cell's 2-thread pool stalled about 16 ms per call in 1 of 4-8 cells (torch
    ``relu(x @ w + b)`` at 128x128: 16 ms instead of 70 us, for the whole cell); no stall
    in an unforked process, none in 12 forked cells that set the thread count again
    first. Not a proven fix: in the full run at 46a1719 the float32 dense-128 cell was
    back to 0.11 ms but the float64 one stalled (12 ms). The thread count is kept.
    """
    global _torch_threads_reset
    torch = sys.modules.get("torch")
    if _torch_threads_reset or torch is None:
        return
    torch.set_num_threads(torch.get_num_threads())
    _torch_threads_reset = True


class BackendBenchmark:
    """Base of every benchmark class: backend lookup, sampling settings, skip rules.

    asv attributes set here apply to every subclass: the profile's ``rounds`` (processes
    per cell), ``repeat`` and ``timeout``, no asv warm-up phase (``setup`` warms up).
    """

    param_names: tuple[str, ...] = ("backend",)
    params: tuple[Sequence[Any], ...] = (BACKENDS,)
    rounds = PROFILE.rounds
    repeat = PROFILE.repeat
    timeout = PROFILE.timeout
    warmup_time = 0.0
    sample_time = PROFILE.sample_time
    min_run_count = 1

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
        if name.startswith("torch"):
            _reset_torch_threads()
        problem = thread_problem(name)
        if problem:
            raise RuntimeError(problem)
        return be


class OpBenchmark(BackendBenchmark):
    """Times one catalog op: parameters ``backend, op, size, dtype``.

    Subclasses set ``params = (BACKENDS, ops, sizes, dtypes)`` and define
    ``time_op``; see the module docstring for what ``setup`` does.
    """

    param_names = ("backend", "op", "size", "dtype")
    #: a result beyond tolerance fails the cell (accuracy tracking records it instead)
    strict = True
    _prepared: tuple[Any, ...] | None = None

    def setup(self, backend: str, op: str, size: int, dtype: str) -> None:
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
        spec = OPS[op]
        if dtype not in spec.dtypes:
            raise NotImplementedError(f"{op} is not defined for {dtype}")
        be = self.get_backend(backend)
        if not be.supports(op):
            raise NotImplementedError(f"backend {backend!r} does not implement {op!r}")
        case = make_case(op, size, dtype)
        if backend == "python" and _too_big_for_python(op, case):
            raise NotImplementedError(
                f"pure Python is not run above {PYTHON_MAX_WORK[0]:.0e} FLOPs or {PYTHON_MAX_WORK[1]:.0e} elements ({op} at size {size})"
            )
        free = _available_memory()
        need = _needed_memory(op, case)
        if free is not None and need > 0.7 * free:
            raise NotImplementedError(f"needs ~{need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB available")
        try:
            tensors = [be.from_numpy(t) if not isinstance(t, tuple) else [be.from_numpy(a) for a in t] for t in case.tensors]
            for t in tensors:
                be.synchronize(*(t if isinstance(t, list) else [t]))
            fn = be.op(op)
            run: Callable[[], Any] = functools.partial(fn, *tensors, *case.params, **case.kwargs)
            if warm:
                be.warmup(fn, *tensors, *case.params, **case.kwargs)
            self.error = check_against_reference(op, case, _to_numpy(be, run()), strict=self.strict) if check else math.nan
        except (UnsupportedDType, UnsupportedOperation) as exc:
            raise NotImplementedError(f"{backend}: {exc}") from exc
        except Exception as exc:
            if _is_out_of_memory(exc):
                raise NotImplementedError(f"{backend}: out of memory for {op} at size {size}: {exc}") from exc
            raise
        self.be, self.case, self.run = be, case, run
        tuple_out = len(_expected_infos(op, case)) > 1
        self.sync: Callable[[Any], None] = (lambda out: be.synchronize(*out)) if tuple_out else be.synchronize
        if calibrate:
            self.number = self._calibrate()
        self._prepared = key

    def _calibrate(self) -> int:
        """Calls per sample so that one sample lasts about ``sample_time``."""
        run, sync, timer = self.run, self.sync, time.perf_counter
        calls, start = 0, timer()
        while True:
            sync(run())
            calls += 1
            elapsed = timer() - start
            if elapsed > self.sample_time / 4 or calls >= 1000:
                break
        per_call = elapsed / calls
        return max(1, min(100_000, round(self.sample_time / per_call)))


class OpMemory(OpBenchmark):
    """Peak resident memory of one op call (inputs and outputs included); no reference check.

    Subclasses define ``peakmem_op`` (the same body as ``time_op``).
    """

    def setup(self, backend: str, op: str, size: int, dtype: str) -> None:
        self.prepare(backend, op, size, dtype, check=False, calibrate=False)


class OpAccuracy(OpBenchmark):
    """Max relative error of an op against NumPy float64; parameters ``backend, op, dtype``.

    Subclasses set ``params = (BACKENDS, ops, dtypes)`` and define
    ``track_max_rel_error`` returning ``self.error``. An error beyond the timing check's
    tolerance is recorded, not raised.
    """

    param_names = ("backend", "op", "dtype")  # type: ignore[assignment]
    strict = False
    unit = "relative error"
    #: size used for each kind of op (see benchmarks.cases.SIZE_KIND)
    accuracy_size = {"elements": 10_000, "matrix": 128, "fft": 2**14}

    def setup(self, backend: str, op: str, dtype: str) -> None:  # type: ignore[override]
        size = self.accuracy_size[SIZE_KIND[op]]
        self.prepare(backend, op, size, dtype, check=True, warm=True, calibrate=False)


class OpCompile(BackendBenchmark):
    """JIT compile time: first call minus a steady call, in a fresh interpreter.

    Parameters ``backend, op``; the op runs on its smallest accuracy-size input in its
    first supported dtype of float32, int32, bool, complex64. The child interpreter
    gets an empty ``NUMBA_CACHE_DIR`` so numba compiles rather than loads its cache;
    JAX has no persistent cache unless configured. Non-JIT backends skip. Subclasses
    define ``track_compile_time`` returning ``self.compile_seconds(backend, op)``.
    """

    param_names = ("backend", "op")
    unit = "seconds"
    compile_size = {"elements": 1_000, "matrix": 64, "fft": 2**10}

    def setup(self, backend: str, op: str) -> None:
        if backend not in JIT_BACKENDS:
            raise NotImplementedError(f"{backend} does not compile just in time")
        be = self.get_backend(backend)
        if not be.supports(op):
            raise NotImplementedError(f"backend {backend!r} does not implement {op!r}")
        self.dtype = next(d for d in ("float32", "int32", "bool", "complex64") if d in OPS[op].dtypes)
        self.size = self.compile_size[SIZE_KIND[op]]

    def compile_seconds(self, backend: str, op: str) -> float:
        """First-call latency beyond a steady call, measured in a child interpreter."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tensorscope-jit-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, TENSORSCOPE_PROVENANCE="0", TENSORSCOPE_PRELOAD="0")
            code = (
                "import sys, json; "
                f"sys.path.append({str(Path(__file__).resolve().parent.parent)!r}); "
                "from benchmarks.common import first_call_seconds; "
                f"print(json.dumps(first_call_seconds({backend!r}, {op!r}, {self.size!r}, {self.dtype!r})))"
            )
            out = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, timeout=PROFILE.timeout)
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
