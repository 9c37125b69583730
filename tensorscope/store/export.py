"""Write a store back as an asv results tree (asv's own files: ``benchmarks.json``, ``machine.json``,
``<commit>-<env>.json``, and tensorscope's provenance files), so nothing is locked in: ``asv publish``
and ``asv compare`` read the tree, and ingesting it again adds the same rows.

What asv's files hold and a store keeps is written back; a result row's ``profile`` column (asv's
optional cProfile blob) and benchmark entries the reader refused are not stored, so not written.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..results.model import STAT_COLUMNS
from . import schema as s
from .engine import reading

# asv's row columns as the reader knows them (results/model.py), in asv's order, without ``profile``
_STATS = tuple(name for name, _column in STAT_COLUMNS)
RESULT_COLUMNS = ["result", "params", "version", "started_at", "duration", *(column for _name, column in STAT_COLUMNS), "samples"]
# a stored path is written only when it is one of asv's own shapes, inside the target folder
_SAFE_PART = re.compile(r"^[^/\\\x00]+$")


@dataclass
class ExportReport:
    """Files written, and the paths refused (not a safe relative path)."""

    files: int = 0
    results: int = 0
    refused: list[str] = field(default_factory=list)


def _safe_rel(path: str, depth: Sequence[int]) -> bool:
    parts = path.split("/")
    return len(parts) in depth and all(_SAFE_PART.match(p) and p not in (".", "..") for p in parts) and path.endswith(".json")


def _write(root: Path, rel: str, doc: Any) -> None:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=None, separators=(", ", ": "), allow_nan=True)  # asv writes bare NaN and Infinity too
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def _number(x: float | None) -> float | int | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, float) and math.isfinite(x) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def export(engine: sa.Engine, target: str | os.PathLike[str]) -> ExportReport:
    """Write every file the store holds under ``target`` (created if needed; files there with the same names are replaced)."""
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    with reading(engine) as conn:
        specs = {
            b.name: json.loads(b.spec) for b in conn.execute(sa.select(s.benchmarks.c.name, s.benchmarks.c.spec)) if b.spec is not None
        }
        extra_text = conn.execute(sa.select(s.meta.c.value).where(s.meta.c.key == "benchmarks_extra")).scalar()
        has_benchmarks = conn.execute(sa.select(sa.func.count()).select_from(s.uploads).where(s.uploads.c.kind == "benchmarks")).scalar()
        if specs or has_benchmarks:
            _write(root, "benchmarks.json", {**specs, **(json.loads(extra_text) if extra_text else {})})
            report.files += 1
        for row in conn.execute(sa.select(s.machines.c.name, s.machines.c.info).where(s.machines.c.info.is_not(None))):
            rel = f"{row.name}/machine.json"
            if not _safe_rel(rel, (2,)):
                report.refused.append(rel)
                continue
            _write(root, rel, json.loads(row.info))
            report.files += 1
        for row in conn.execute(sa.select(s.provenance.c.path, s.provenance.c.doc)):
            if not _safe_rel(row.path, (3,)) or row.path.split("/")[1] != "provenance":
                report.refused.append(row.path)
                continue
            _write(root, row.path, json.loads(row.doc))
            report.files += 1
        names = {int(b.id): b.name for b in conn.execute(sa.select(s.benchmarks.c.id, s.benchmarks.c.name))}
        grids = {int(g.id): json.loads(g.grid) for g in conn.execute(sa.select(s.grids.c.id, s.grids.c.grid))}
        runs = conn.execute(
            sa.select(
                s.runs.c.id, s.runs.c.path, s.commits.c.hash, s.environments.c.name.label("env"), s.runs.c.date_ms,
                s.runs.c.python, s.runs.c.params, s.runs.c.env_vars, s.runs.c.requirements, s.runs.c.durations,
            )
            .join(s.commits, s.commits.c.id == s.runs.c.commit_id)
            .join(s.environments, s.environments.c.id == s.runs.c.environment_id)
            .order_by(s.runs.c.path)
        ).all()  # fmt: skip
        for run in runs:
            if not _safe_rel(run.path, (2,)) or run.path.endswith("/machine.json"):
                report.refused.append(run.path)
                continue
            results, cells = _run_results(conn, int(run.id), names, grids)
            report.results += cells
            doc = {
                "commit_hash": run.hash,
                "env_name": run.env,
                "date": _number(run.date_ms),
                "params": json.loads(run.params),
                "python": run.python,
                "requirements": json.loads(run.requirements),
                "env_vars": json.loads(run.env_vars),
                "result_columns": RESULT_COLUMNS,
                "results": results,
                "durations": json.loads(run.durations),
                "version": 2,
            }
            _write(root, run.path, doc)
            report.files += 1
    return report


def _run_results(
    conn: sa.Connection, run_id: int, names: dict[int, str], grids: dict[int, list[list[str]]]
) -> tuple[dict[str, list[Any]], int]:
    """One run's ``results`` object (a row per benchmark, in the order the file had them) and its number of cells."""
    entries = conn.execute(sa.select(s.entries).where(s.entries.c.run_id == run_id).order_by(s.entries.c.position)).all()
    cells = conn.execute(sa.select(s.results).where(s.results.c.run_id == run_id).order_by(s.results.c.position, s.results.c.combo)).all()
    by_position: dict[int, list[Any]] = {}
    for c in cells:
        by_position.setdefault(int(c.position), []).append(c)
    out: dict[str, list[Any]] = {}
    for e in entries:
        rows = by_position.get(int(e.position), [])
        result: list[Any] = []
        for c in rows:
            if c.status == 2:
                result.append(None)  # failed
            elif c.status == 1:
                result.append(math.nan)  # skipped
            else:
                result.append(c.value)
        stats = {k: [_stat(getattr(c, k)) for c in rows] for k in _STATS}
        samples: list[Any] | None = [None if c.samples is None else np.frombuffer(c.samples, dtype="<f8").tolist() for c in rows]
        if samples is not None and all(x is None for x in samples):
            samples = None
        out[names[int(e.benchmark_id)]] = [
            result,
            grids[int(e.grid_id)],
            e.version,
            _number(e.started_at_ms),
            e.duration_s,
            *(stats[k] for k in _STATS),
            samples,
        ]
    return out, len(cells)


def _stat(x: float | None) -> float | int | None:
    return _number(x)
