"""Measurement integrity: what every measured process gets (:class:`Controls`) and what is only recorded (:func:`snapshot`).

Fresh processes of the same code differ by more than their samples say. Measured on the
reference 2-vCPU VM: ``np.exp`` on 200,000 float32 values gave per-process medians in two
groups, 93-95 us and 113-116 us, which moved with the transparent-huge-page setting of the
process. What decides such groups is whether a process's arrays land on huge pages, which
depends on the address layout and the memory's fragmentation at that moment, i.e. on luck.
The controls remove the luck where the kernel lets a process choose:

``thp='off'`` (default)
    ``prctl(PR_SET_THP_DISABLE)`` before the interpreter starts: no huge pages for the process
    whatever the system setting or NumPy's ``madvise``, so every process has the same page
    size. ``'default'`` leaves the system's choice (``madvise`` or ``always``). Which of the
    two leaves fewer two-level cells on a given machine is for the validation to measure
    (``scripts/validate_compare.py --tensorscope-args='--thp default'``; not measured yet).
``aslr='on'`` (default)
    Address-space layout randomization is kept: a fixed layout can favour one commit in every
    process alike (a bias no number of pairs removes), while a random one only adds variance,
    which the pairs average out. ``'off'`` (``personality(ADDR_NO_RANDOMIZE)``) is there to
    measure that trade-off.
``cpus``
    Pins each process (``sched_setaffinity``) before the interpreter starts. Duet mode pins A
    and B to different physical cores; lockstep pins the thread that takes the samples to the
    round's CPU for each turn (:mod:`.lockstep`); otherwise nothing is pinned unless asked.
``malloc='fixed'`` (default)
    Sets ``MALLOC_MMAP_THRESHOLD_=33554432`` and ``MALLOC_TRIM_THRESHOLD_=1099511627776``: blocks
    under 32 MiB come from the heap, and freed heap memory is never handed back to the system
    (1 TiB), so a benchmark that reallocates its arrays gets the same, already-touched memory
    again; blocks from 32 MiB up (the ceiling of glibc's adaptive mmap threshold) are mmapped and
    page-faulted afresh every time, in every process alike. Adaptive (glibc's default), the
    mmap threshold starts at 128 KiB and rises each time a large mmapped block is freed, and
    the trim threshold follows at twice that, so whether a large array is reused memory (no page
    faults) or fresh memory (page faults) follows the heap's layout, i.e. luck. Measured on the
    reference VM (asv redoes ``setup`` before every sample):

    - 3 x 32 MB arrays in ``setup``, adaptive: samples alternated between about 17 and 4 ms, and
      the same commit read 1.013 to 1.085 times slower in compare's second environment (1.085
      [1.036, 1.121] over 48 pairs), a bias no number of pairs removes;
    - the mmap threshold held at 128 KiB (every large block mmapped) biased a kernel allocating
      a 128 KiB result per call (128 x 128 matmuls) by 1.8x between the two environments;
    - mmap 32 MiB with trim 64 MiB (glibc's adaptive ceiling, used until 2026-12-04): 3 x 24 MB
      arrays (72 MB, above the trim threshold) were handed back and faulted in again in some
      processes and not in others, 3 vs 12 ms per process (20 pairs: log-ratio spread 0.2-0.46);
      in a plain loop reallocating them, 12.3-14.9 ms per process with trim at 64 MiB, 2.3-3.9
      ms with it at 1 GiB or 1 TiB, 13-19 ms adaptive.

    ``'default'`` leaves glibc's adaptive thresholds.
``threads``
    Sets the usual thread-count variables (OpenMP, OpenBLAS, MKL, BLIS, Accelerate, numexpr,
    Numba) for every process; duet mode uses 1.

Recorded, not controlled (:func:`snapshot` before and after): the system THP and ASLR modes,
the CPU frequency governor, SMT, the load average, and the share of CPU time stolen by the
hypervisor during the comparison - the uncontrolled effects a reader needs to judge a verdict.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["MALLOC_VARIABLES", "THREAD_VARIABLES", "Controls", "describe_change", "duet_cpus", "snapshot"]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

# glibc reads these at process start; setting them stops its dynamic adjustment of both (see
# ``malloc`` in the module docstring); 32 MiB is the highest mmap threshold glibc accepts on
# 64-bit, and 1 TiB of free heap is never reached: freed memory is never trimmed
MALLOC_VARIABLES = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1099511627776"}


@dataclass(frozen=True)
class Controls:
    """What the child wrapper applies to every measured process (see the module docstring)."""

    thp: str = "off"
    aslr: str = "on"
    malloc: str = "fixed"
    cpus: tuple[int, ...] | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.thp not in ("off", "default"):
            raise ValueError(f"thp must be 'off' or 'default', got {self.thp!r}")
        if self.aslr not in ("on", "off"):
            raise ValueError(f"aslr must be 'on' or 'off', got {self.aslr!r}")
        if self.malloc not in ("fixed", "default"):
            raise ValueError(f"malloc must be 'fixed' or 'default', got {self.malloc!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    def child_arguments(self, cpus: tuple[int, ...] | None = None) -> dict[str, Any]:
        """The JSON the child wrapper reads; ``cpus`` overrides the pinning of this one process."""
        pinned = cpus if cpus is not None else self.cpus
        return {"thp": self.thp, "aslr": self.aslr, "cpus": list(pinned) if pinned else None}

    def environment(self) -> dict[str, str]:
        """Variables every measured process gets: glibc's malloc thresholds (``malloc='fixed'``), thread counts (``threads``)."""
        out = dict(MALLOC_VARIABLES) if self.malloc == "fixed" else {}
        if self.threads is not None:
            out.update(dict.fromkeys(THREAD_VARIABLES, str(self.threads)))
        return out

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["cpus"] = list(self.cpus) if self.cpus else None
        out["variables"] = self.environment()
        if not sys.platform.startswith("linux"):
            out["note"] = "THP, ASLR and malloc controls need Linux (glibc); not applied here"
        return out


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _selected(text: str | None) -> str | None:
    """``always [madvise] never`` -> ``madvise``."""
    if text is None:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text


def _cpu_times() -> dict[str, int] | None:
    text = _read("/proc/stat")
    if not text:
        return None
    fields = text.splitlines()[0].split()[1:]
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return {n: int(v) for n, v in zip(names, fields, strict=False)}


def snapshot() -> dict[str, Any]:
    """The machine's uncontrolled conditions now (Linux fields are None elsewhere)."""
    governors = sorted(
        {g for g in (_read(str(p)) for p in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor")) if g}
    )
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "time": time.time(),
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "thp_enabled": _selected(_read("/sys/kernel/mm/transparent_hugepage/enabled")),
        "thp_defrag": _selected(_read("/sys/kernel/mm/transparent_hugepage/defrag")),
        "aslr": _read("/proc/sys/kernel/randomize_va_space"),
        "governors": governors or None,
        "smt_active": _read("/sys/devices/system/cpu/smt/active"),
        "loadavg": load,
        "cpu_times": _cpu_times(),
    }


def describe_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Conditions of a comparison from the snapshots around it: settings, load, and CPU time stolen by the hypervisor."""
    out = {k: before.get(k) for k in ("cpu_count", "affinity", "thp_enabled", "thp_defrag", "aslr", "governors", "smt_active")}
    out["loadavg_before"] = before.get("loadavg")
    out["loadavg_after"] = after.get("loadavg")
    t0, t1 = before.get("cpu_times"), after.get("cpu_times")
    if t0 and t1:
        total = sum(t1.values()) - sum(t0.values())
        out["steal_share"] = round((t1.get("steal", 0) - t0.get("steal", 0)) / total, 4) if total > 0 else None
        out["busy_share"] = (
            round(1 - (t1["idle"] + t1.get("iowait", 0) - t0["idle"] - t0.get("iowait", 0)) / total, 4) if total > 0 else None
        )
    changed = [k for k in ("thp_enabled", "thp_defrag", "aslr", "governors") if before.get(k) != after.get(k)]
    if changed:
        out["changed_during_run"] = changed
    return out


def duet_cpus() -> tuple[int, int]:
    """Two CPUs of this process's affinity on different physical cores where possible (SMT siblings share one)."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if len(allowed) < 2:
        raise ValueError(f"--duet needs at least 2 CPUs; this process may use {len(allowed)}")
    first = allowed[0]
    siblings = _siblings(first)
    for cpu in allowed[1:]:
        if cpu not in siblings:
            return first, cpu
    return first, allowed[1]


def _siblings(cpu: int) -> set[int]:
    text = _read(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
    out: set[int] = set()
    for part in (text or str(cpu)).split(","):
        lo, _, hi = part.partition("-")
        if lo.strip().isdigit():
            out.update(range(int(lo), int(hi or lo) + 1))
    return out
