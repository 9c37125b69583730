"""The study group's table: their published speedups over pure Nx beside ours over pure Python.

The project follows a study group's work on Elixir's Nx backends (see DESIGN.md). Its
published figures are speedups of a fast backend over the pure ``Nx.BinaryBackend`` (or the
pure ``Nx.dot``) at a few ops and sizes; :data:`SEED_FIGURES` holds each of them, in one
place, with the wording it was quoted in. This module measures our counterpart of each
figure: how many times faster each of our backends runs the same op at the same size than
the pure-Python ``python`` backend.

The baselines differ, and every view of this table says so: a pure-Python interpreter loop
is not Elixir's BinaryBackend (pure Elixir over flat binaries), so the two columns answer
the same question about two different references, on different hardware.

Public API
==========

``SEED_FIGURES``
    The seed's published figures (:class:`SeedFigure`): EXLA on softmax of 1M elements,
    OpenBLAS sgemm at 10x10 / 100x100 / 500x500, OpenBLAS scale at 100 / 1,000 / 10,000.

``study_group_table(table, *, provenance=None, machines=None) -> DataFrame``
    One row per seed figure x machine x our backend: our ``speedup`` = python's median time /
    the backend's median time at the same machine, env, commit (the newest where both were
    measured), op, size and dtype, with ``speedup_low``/``speedup_high`` from the two 99% CIs;
    NaN with a ``reason`` where it was not measured (never a made-up number).

``machine_hardware(provenance, machines, machine, commit=None, env=None) -> str``
    One line naming a machine's hardware and settings as recorded (CPU, GPU, Python, threads).

``hardware_lines(study, provenance, machines) -> dict``
    machine -> :func:`machine_hardware` at the commit and env its speedups were measured at.

``to_markdown(study, hardware=None) -> str``
    The table as Markdown (for docs/validation/own-results.md and ``tensorscope``'s CLI): one table per machine,
    the seed's figure beside our speedup per backend, "not measured" with the reason.

``markdown_for(result_set) -> str``
    ``to_markdown`` of a loaded :class:`~tensorscope.results.ResultSet`, hardware included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .speedups import _ratio_interval

__all__ = [
    "BASELINE",
    "CPU_BACKENDS",
    "GPU_BACKENDS",
    "SEED_BASELINE",
    "SEED_FIGURES",
    "SeedFigure",
    "hardware_lines",
    "machine_facts",
    "machine_hardware",
    "markdown_for",
    "study_group_table",
    "to_markdown",
]

#: our pure reference backend
BASELINE = "python"
#: the seed's pure reference, named as the study group names it
SEED_BASELINE = "pure Nx (Nx.BinaryBackend, pure Elixir)"
#: our backends beside the seed's, on the CPU and on a GPU machine
CPU_BACKENDS = ("numba", "numpy", "torch:cpu", "jax:cpu")
GPU_BACKENDS = ("torch:cuda", "cupy", "jax:gpu")
#: where the seed's hardware is not known here
SEED_HARDWARE_UNKNOWN = "as published, hardware per the study group's write-up"
#: what the page and the Markdown say about the two references
BASELINES_DIFFER = (
    "The baselines differ: ours is a pure-Python interpreter loop (tensorscope's `python` backend), the seed's is "
    "Elixir's pure `Nx.BinaryBackend` (or the pure `Nx.dot`). Both are the slow reference every other backend is "
    "checked against, but they are not the same program, language or hardware: compare how the speedups grow with "
    "size, not the figures one for one."
)


@dataclass(frozen=True)
class SeedFigure:
    """One published speedup of the study group and the cell of ours that answers it."""

    #: what the seed measured, in its words
    seed_op: str
    #: the seed's fast backend
    seed_backend: str
    #: its speedup over pure Nx: a single figure (low == high) or a range
    low: float
    high: float
    #: the hardware it was measured on (or SEED_HARDWARE_UNKNOWN)
    seed_hardware: str
    #: the source wording, as quoted in issue 27 and DESIGN.md
    source: str
    #: our op, size (elements; n of n x n for matmul) and dtype
    op: str
    size: int
    dtype: str = "float32"
    #: how our op relates to the seed's, where it is not the same op
    note: str = ""

    @property
    def label(self) -> str:
        """``softmax, 1,000,000 elements`` / ``matmul 500x500``."""
        return f"{self.op} {self.size}x{self.size}" if self.op == "matmul" else f"{self.op}, {self.size:,} elements"

    @property
    def published(self) -> str:
        """The seed's figure as text: ``85.7x`` or ``2,290-2,865x``."""
        return _times(self.low) if self.low == self.high else f"{_number(self.low)}-{_times(self.high)}"


_SOFTMAX = "EXLA on the CPU 85.7x over the pure BinaryBackend on softmax of 1M elements"
_SGEMM = "OpenBLAS sgemm over pure `Nx.dot`: 36-38x (10x10), 233-333x (100x100), 2,290-2,865x (500x500)"
_SCALE = "OpenBLAS scale (x*alpha) 11.7x / 77x / 225x at 100 / 1,000 / 10,000 elements"
_SCALE_NOTE = "our closest op to BLAS scale is multiply, the element-wise product of two arrays (scale multiplies by one scalar)"
# Hardware as DESIGN.md records the write-up: EXLA's softmax on a Jetson Nano, the sgemm on Apple M3/M4.
_JETSON = "NVIDIA Jetson Nano (ARM Cortex-A57 CPU), as published"
_APPLE = "Apple M3/M4, as published"

#: The seed's published speedups over pure Nx, one per (op, size): the only place they are written.
SEED_FIGURES: tuple[SeedFigure, ...] = (
    SeedFigure("softmax of 1M elements", "EXLA (CPU)", 85.7, 85.7, _JETSON, _SOFTMAX, "softmax", 1_000_000),
    SeedFigure("sgemm 10x10", "OpenBLAS sgemm", 36, 38, _APPLE, _SGEMM, "matmul", 10),
    SeedFigure("sgemm 100x100", "OpenBLAS sgemm", 233, 333, _APPLE, _SGEMM, "matmul", 100),
    SeedFigure("sgemm 500x500", "OpenBLAS sgemm", 2290, 2865, _APPLE, _SGEMM, "matmul", 500),
    SeedFigure(
        "scale (x*alpha), 100 elements", "OpenBLAS scale", 11.7, 11.7, SEED_HARDWARE_UNKNOWN, _SCALE, "multiply", 100, note=_SCALE_NOTE
    ),
    SeedFigure(
        "scale (x*alpha), 1,000 elements", "OpenBLAS scale", 77, 77, SEED_HARDWARE_UNKNOWN, _SCALE, "multiply", 1_000, note=_SCALE_NOTE
    ),
    SeedFigure(
        "scale (x*alpha), 10,000 elements", "OpenBLAS scale", 225, 225, SEED_HARDWARE_UNKNOWN, _SCALE, "multiply", 10_000, note=_SCALE_NOTE
    ),
)

COLUMNS = [
    "figure",
    "seed_op",
    "seed_backend",
    "seed_speedup",
    "seed_low",
    "seed_high",
    "seed_hardware",
    "op",
    "size",
    "dtype",
    "note",
    "machine",
    "backend",
    "speedup",
    "speedup_low",
    "speedup_high",
    "value",
    "baseline_value",
    "commit",
    "env",
    "reason",
]


def _number(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _times(x: float) -> str:
    return f"{_number(x)}x"


def _is_simd_off(env: str) -> bool:
    return "SIMDoff" in env or "SIMD=off" in env


def _cells(table: pd.DataFrame, figures: Sequence[SeedFigure]) -> pd.DataFrame:
    """The time rows of the figures' op/size/dtype, every status, as plain text columns."""
    need = {"param_backend", "param_op", "param_size", "param_dtype"}
    if table.empty or not need <= set(table.columns):
        return pd.DataFrame(columns=["machine", "commit", "commit_order", "env", "backend", "op", "size", "dtype", "status", "value"])
    wanted_ops = {f.op for f in figures}
    t = table[table["param_op"].astype(str).isin(wanted_ops)]
    if "type" in t.columns:
        t = t[t["type"].astype(str) == "time"]
    t = t[t["benchmark"].astype(str).str.endswith(".time_op")]
    out = pd.DataFrame(
        {
            "machine": t["machine"].astype(str),
            "commit": t["commit"].astype(str),
            "commit_order": t["commit_order"],
            "env": t["env"].astype(str),
            "backend": t["param_backend"].astype(str),
            "op": t["param_op"].astype(str),
            "size": pd.to_numeric(t["param_size"].astype(str), errors="coerce"),
            "dtype": t["param_dtype"].astype(str),
            "status": t["status"].astype(str),
            "value": t["value"].astype(float),
            "ci_99_a": t["ci_99_a"].astype(float) if "ci_99_a" in t.columns else np.nan,
            "ci_99_b": t["ci_99_b"].astype(float) if "ci_99_b" in t.columns else np.nan,
        }
    )
    return out[~out["env"].map(_is_simd_off)]  # the SIMD ablation is not the backend users run


def _why_missing(rows: pd.DataFrame, backend: str) -> str:
    """Why ``backend`` has no ok time at a figure's cell on one machine (``rows``: that machine's rows of the cell); '' when it has one."""
    mine = rows[rows["backend"] == backend]
    if mine.empty:
        return f"{backend} not timed at this size here"
    if (mine["status"] == "ok").any():
        return ""
    if set(mine["status"]) == {"skipped"}:
        return f"{backend} skipped at this size in every run (outside that run's profile, or unavailable there)"
    return f"{backend} failed at this size (error or timeout)"


def study_group_table(
    table: pd.DataFrame,
    *,
    figures: Sequence[SeedFigure] = SEED_FIGURES,
    machines: Sequence[str] | None = None,
    backends: Sequence[str] = (*CPU_BACKENDS, *GPU_BACKENDS),
) -> pd.DataFrame:
    """Our speedups over ``python`` at each seed figure's op, size and dtype; see the module docstring.

    A GPU backend gets rows only on machines where it timed one of these ops successfully (a
    CPU-only machine does not list torch:cuda as "not measured"); CPU backends get rows on
    every machine. Environments with SIMD switched off (the ablation) are left out.
    """
    cells = _cells(table, figures)
    names = sorted(cells["machine"].unique()) if machines is None else list(machines)
    rows: list[dict[str, object]] = []
    for figure in figures:
        here = cells[(cells["op"] == figure.op) & (cells["size"] == figure.size) & (cells["dtype"] == figure.dtype)]
        for machine in names:
            mine = here[here["machine"] == machine]
            # GPU backends only where this machine ran one (any op of these figures, any size)
            present = set(cells.loc[(cells["machine"] == machine) & (cells["status"] == "ok"), "backend"])
            ok = mine[(mine["status"] == "ok") & (mine["value"] > 0)]
            base = ok[ok["backend"] == BASELINE]
            for backend in backends:
                if backend in GPU_BACKENDS and backend not in present:
                    continue
                row: dict[str, object] = {
                    "figure": figure.label,
                    "seed_op": figure.seed_op,
                    "seed_backend": figure.seed_backend,
                    "seed_speedup": figure.published,
                    "seed_low": figure.low,
                    "seed_high": figure.high,
                    "seed_hardware": figure.seed_hardware,
                    "op": figure.op,
                    "size": figure.size,
                    "dtype": figure.dtype,
                    "note": figure.note,
                    "machine": machine,
                    "backend": backend,
                    "speedup": np.nan,
                    "speedup_low": np.nan,
                    "speedup_high": np.nan,
                    "value": np.nan,
                    "baseline_value": np.nan,
                    "commit": "",
                    "env": "",
                    "reason": "",
                }
                fast = ok[ok["backend"] == backend]
                pair = fast.merge(base, on=["commit", "env"], suffixes=("", "_base"))
                if pair.empty:
                    # the first cause only: where python is missing, every backend's cell shares one reason
                    row["reason"] = (
                        _why_missing(mine, BASELINE)
                        or _why_missing(mine, backend)
                        or f"python and {backend} never timed in the same run (commit and env)"
                    )
                else:
                    # the newest commit both measured; within it, the env with the most cells of these figures
                    env_rank = cells[cells["machine"] == machine]["env"].value_counts()
                    pair = pair.assign(_env_rank=pair["env"].map(env_rank).fillna(0))
                    best = pair.sort_values(["commit_order", "_env_rank", "env"], ascending=[False, False, True], kind="stable").iloc[0]
                    low, high = _ratio_interval(
                        pd.Series([best["ci_99_a_base"]]),
                        pd.Series([best["ci_99_b_base"]]),
                        pd.Series([best["ci_99_a"]]),
                        pd.Series([best["ci_99_b"]]),
                    )
                    row.update(
                        speedup=float(best["value_base"]) / float(best["value"]),
                        speedup_low=float(low[0]),
                        speedup_high=float(high[0]),
                        value=float(best["value"]),
                        baseline_value=float(best["value_base"]),
                        commit=str(best["commit"]),
                        env=str(best["env"]),
                    )
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


# --------------------------------------------------------------------------------------
# Hardware of our side, from provenance and machine.json

#: provenance fields that name the settings a speedup depends on, with how to show them
SETTING_FIELDS = {
    "thread_setting": "threads",
    "simd_setting": "SIMD",
    "env.OMP_NUM_THREADS": "OMP_NUM_THREADS",
    "env.OPENBLAS_NUM_THREADS": "OPENBLAS_NUM_THREADS",
    "env.MKL_NUM_THREADS": "MKL_NUM_THREADS",
    "env.NUMBA_NUM_THREADS": "NUMBA_NUM_THREADS",
    "env.OPENBLAS_CORETYPE": "OPENBLAS_CORETYPE",
    "backends.torch:cpu.threads": "torch threads",
}


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return str(value).strip() not in ("", "nan", "None", "<NA>", "[]")


def _gpu_name(row: Mapping[str, object]) -> str:
    for key in ("backends.torch:cuda.device_name", "backends.cupy.device_name", "backends.jax:gpu.device_name"):
        if _present(row.get(key)):
            return str(row[key])
    gpus = row.get("gpus")
    if _present(gpus):
        text = str(gpus)
        start = text.find("'name': '")
        if start >= 0:
            return text[start + 9 : text.find("'", start + 9)]
        start = text.find('"name": "')
        if start >= 0:
            return text[start + 9 : text.find('"', start + 9)]
    return ""


def provenance_row(provenance: pd.DataFrame | None, machine: str, commit: str | None = None, env: str | None = None) -> dict[str, object]:
    """The provenance fields of ``machine`` at ``commit`` and ``env`` where recorded, else its newest file's."""
    if provenance is None or provenance.empty or "machine" not in provenance.columns:
        return {}
    mine = provenance[provenance["machine"].astype(str) == machine]
    if mine.empty:
        return {}
    if "captured_at" in mine.columns:
        mine = mine.assign(_at=pd.to_datetime(mine["captured_at"], errors="coerce", utc=True)).sort_values("_at", kind="stable")
    exact = mine
    if commit:  # a provenance file names its commit in full or by a prefix
        exact = exact[[bool(str(c)) and (str(c).startswith(commit) or commit.startswith(str(c))) for c in exact["commit"]]]
    if env and len(exact):
        exact = exact[exact["env"].astype(str) == env]
    chosen = exact if len(exact) else mine
    row = chosen.iloc[-1]
    return {str(k): v for k, v in row.items() if _present(v)}


def machine_facts(
    provenance: pd.DataFrame | None, machines: pd.DataFrame | None, machine: str, commit: str | None = None, env: str | None = None
) -> dict[str, str]:
    """A machine's hardware and key settings as recorded: ``cpu``, ``cores``, ``gpu``, ``python``, ``blas``,
    ``settings`` (thread counts, SIMD, OPENBLAS_CORETYPE where recorded) and ``source`` (which file)."""
    prov = provenance_row(provenance, machine, commit, env)
    info: dict[str, object] = {}
    if machines is not None and not machines.empty and "machine" in machines.columns:
        found = machines[machines["machine"].astype(str) == machine]
        if len(found):
            info = {str(k): v for k, v in found.iloc[0].items() if _present(v)}
    cpu = str(prov.get("cpu.model") or info.get("cpu") or "")
    if "(" in cpu and not prov.get("cpu.model"):
        cpu = cpu.split("(", 1)[0].strip()  # machine.json appends the CPU flags
    cores = prov.get("cpu.logical_cores") or info.get("num_cpu") or ""
    blas = ""
    if _present(prov.get("blas_build.name")):
        blas = f"{prov['blas_build.name']} {prov.get('blas_build.version', '')}".strip()
    settings = [f"{label}={prov[field]}" for field, label in SETTING_FIELDS.items() if _present(prov.get(field))]
    source = f"provenance of {str(prov.get('commit', ''))[:8]} ({prov.get('env', '')})" if prov else "machine.json only (no provenance)"
    return {
        "machine": machine,
        "cpu": cpu,
        "cores": str(cores).split(".")[0] if _present(cores) else "",
        "gpu": _gpu_name(prov),
        "python": str(prov.get("platform.python_version") or prov.get("backends.python.python_version") or ""),
        "blas": blas,
        "settings": ", ".join(settings),
        "source": source,
    }


def machine_hardware(
    provenance: pd.DataFrame | None, machines: pd.DataFrame | None, machine: str, commit: str | None = None, env: str | None = None
) -> str:
    """One line: ``AMD EPYC, 2 cores; Python 3.11.9; threads=1, OMP_NUM_THREADS=1`` (what was recorded)."""
    facts = machine_facts(provenance, machines, machine, commit, env)
    parts = []
    if facts["cpu"]:
        parts.append(facts["cpu"] + (f", {facts['cores']} cores" if facts["cores"] else ""))
    if facts["gpu"]:
        parts.append(f"GPU {facts['gpu']}")
    if facts["python"]:
        parts.append(f"Python {facts['python']}")
    if facts["blas"]:
        parts.append(facts["blas"])
    if facts["settings"]:
        parts.append(facts["settings"])
    return "; ".join(parts) or "hardware not recorded"


def hardware_lines(study: pd.DataFrame, provenance: pd.DataFrame | None, machines: pd.DataFrame | None) -> dict[str, str]:
    """machine -> its hardware line, from the provenance of the run its speedups came from (the most used)."""
    out: dict[str, str] = {}
    for machine in dict.fromkeys(study["machine"].astype(str)) if len(study) else []:
        used = study[(study["machine"] == machine) & (study["commit"] != "")]
        commit, env = (None, None)
        if len(used):
            commit, env = used.groupby(["commit", "env"]).size().sort_values(ascending=False).index[0]
        out[machine] = machine_hardware(provenance, machines, machine, commit, env)
    return out


# --------------------------------------------------------------------------------------
# Markdown


def _cell(row: pd.Series, with_commit: bool = False) -> str:
    if pd.isna(row["speedup"]):
        return "not measured"
    text = _times(float(row["speedup"]))
    if not (pd.isna(row["speedup_low"]) or pd.isna(row["speedup_high"])):
        text += f" ({_number(float(row['speedup_low']))}-{_number(float(row['speedup_high']))})"
    return text + (f" @{str(row['commit'])[:8]}" if with_commit else "")


def wide(study: pd.DataFrame, machine: str) -> pd.DataFrame:
    """One machine's rows as one line per seed figure: the seed's figure, then our speedup per backend
    (each cell with its commit, ``@1a2b3c4d``, where the machine's cells come from more than one)."""
    mine = study[study["machine"] == machine]
    if mine.empty:
        return pd.DataFrame()
    with_commit = mine.loc[mine["commit"] != "", "commit"].nunique() > 1
    backends = list(dict.fromkeys(mine["backend"]))
    out = mine.drop_duplicates("figure")[["figure", "seed_backend", "seed_speedup", "seed_hardware"]].set_index("figure")
    for backend in backends:
        out[backend] = mine[mine["backend"] == backend].set_index("figure").apply(_cell, axis=1, with_commit=with_commit)
    return out.reset_index()


def to_markdown(study: pd.DataFrame, hardware: Mapping[str, str] | None = None) -> str:
    """The study group's table as Markdown: the baselines' difference, then one table per machine
    with the seed's published speedup over pure Nx beside ours over pure Python per backend."""
    hardware = hardware or {}
    lines = [
        "Speedups over the pure reference: the study group's published figures (over pure Nx) beside ours (over pure Python).",
        "",
        BASELINES_DIFFER,
        "",
    ]
    notes = sorted({str(n) for n in study["note"] if n}) if len(study) else []
    lines += [f"Note: {n}." for n in notes] + ([""] if notes else [])
    if study.empty:
        return "\n".join([*lines, "No machine in these results timed any of these ops."])
    for machine in dict.fromkeys(study["machine"]):
        frame = wide(study, machine)
        mine = study[study["machine"] == machine]
        commits = sorted({c[:8] for c in mine["commit"] if c})
        envs = sorted({e for e in mine["env"] if e})
        where = f"commit {', '.join(commits)}; env {', '.join(envs)}" if commits else "nothing measured"
        lines.append(f"**{machine}**: {hardware.get(machine, 'hardware not recorded')} ({where})")
        lines.append("")
        backends = [c for c in frame.columns if c not in ("figure", "seed_backend", "seed_speedup", "seed_hardware")]
        header = ["our op and size", "seed: backend over pure Nx", "seed speedup", "seed hardware", *[f"{b} over python" for b in backends]]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for _, r in frame.iterrows():
            cells = [
                str(r["figure"]),
                str(r["seed_backend"]),
                str(r["seed_speedup"]),
                str(r["seed_hardware"]),
                *[str(r[b]) for b in backends],
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        missing = mine[mine["speedup"].isna() & (mine["reason"] != "")]
        if len(missing):
            lines.append("")
            lines.append("Not measured:")
            lines.append("")
            for figure, reasons in missing.groupby("figure", sort=False)["reason"]:
                lines.append(f"- {figure}: {'; '.join(dict.fromkeys(str(r) for r in reasons))}")
        lines.append("")
    lines.append(
        "Our speedup = python's median time / the backend's median time, same machine, commit, env, op, size and dtype "
        "(float32); in brackets the range from both 99% confidence intervals."
    )
    return "\n".join(lines).rstrip() + "\n"


def markdown_for(result_set: Any) -> str:
    """The study group's table of a loaded result set (``tensorscope.results.ResultSet``) as Markdown."""
    study = study_group_table(result_set.table)
    return to_markdown(study, hardware_lines(study, result_set.provenance, result_set.machines))
