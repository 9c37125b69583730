"""Derived columnar cache of parsed asv results (Arrow IPC / Feather v2), so a repeat load reads only changed files.

Layout under ``<cache_dir>/<hash of the resolved results_dir>/``:

* ``manifest.json``  per result file: path relative to results_dir, (size, mtime_ns) key, file id,
  run metadata (machine, commit, env, date, env_vars, ...) and the problems found in it;
  plus the parameter-grid signatures the raw rows refer to.
* ``raw.arrow``      parsed rows (lz4) of every cached file (one ``file_id`` column says which file).
* ``final/``         (uncompressed, memory-mapped on read) the finished :class:`~tensorscope.results.ResultSet` for one fingerprint of the
  whole tree (every file's key + ordering source): an unchanged tree loads from here alone.

Changed result files are parsed by :func:`parse_files`, in worker processes when there are many
(see :func:`_parse_all`). Nothing here is executed or unpickled: the cache is Arrow IPC and JSON only. A cache that cannot be
read (other format, corrupted, foreign) is ignored and rebuilt; one that cannot be written is
skipped silently (loading still works, just not faster next time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from .files import BadFile, FileEntry, read_result_json
from .model import Problem, ResultSet
from .parse import RawColumns, parse_result_file

__all__ = ["CACHE_FORMAT", "RawStore", "fingerprint"]

# Bump when the parsed/derived layout changes: old caches are then rebuilt.
CACHE_FORMAT = 4


def fingerprint(entries: Sequence[FileEntry | None], extra: Sequence[str] = ()) -> str:
    """A hash of every input file's (path, size, mtime) and of ``extra`` (ordering source, limits)."""
    h = hashlib.sha256(f"format={CACHE_FORMAT}".encode())
    for e in entries:
        if e is None:
            h.update(b"|none")
            continue
        h.update(f"|{e.rel}:{e.key}:{e.error}".encode())
    for x in extra:
        h.update(f"|x:{x}".encode())
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _atomic_write_arrow(path: Path, table: pa.Table, compression: str = "uncompressed") -> None:
    """Arrow IPC (Feather v2): uncompressed files are memory-mapped on read, near zero-copy."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        feather.write_feather(table, tmp, compression=compression)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class RawStore:
    """Parsed rows per result file, persisted (``open``) or in memory only (``memory``)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.files: dict[str, dict[str, Any]] = {}
        self.sigs: list[str] = []
        self.next_id = 0
        self.parsed_count = 0
        self._raw_path = root / "raw.arrow" if root else None

    @classmethod
    def memory(cls) -> RawStore:
        return cls(None)

    @classmethod
    def open(cls, cache_dir: str | os.PathLike[str], results_dir: Path) -> RawStore:
        key = hashlib.sha1(str(Path(results_dir).resolve()).encode()).hexdigest()[:16]
        root = Path(cache_dir).expanduser() / key
        store = cls(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return cls(None)
        try:
            manifest = json.loads((root / "manifest.json").read_text("utf-8"))
            if manifest.get("format") == CACHE_FORMAT and (root / "raw.arrow").is_file():
                store.files = manifest["files"]
                store.sigs = manifest["sigs"]
                store.next_id = manifest["next_id"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return store

    # -- final (whole-tree) cache ---------------------------------------------------------

    def load_final(self, fp: str) -> ResultSet | None:
        """The cached ResultSet for this fingerprint, or None."""

        if self.root is None:
            return None
        final = self.root / "final"
        try:
            meta = json.loads((final / "meta.json").read_text("utf-8"))
            if meta.get("fingerprint") != fp or meta.get("format") != CACHE_FORMAT:
                return None
            frames = {name: _read_frame(final / f"{name}.arrow") for name in ("results", "machines", "envs", "commits", "provenance")}
            return ResultSet(
                results=frames["results"],
                machines=frames["machines"],
                envs=frames["envs"],
                commits=frames["commits"],
                provenance=frames["provenance"],
                problems=[Problem(*p) for p in meta["problems"]],
                benchmarks=meta["benchmarks"],
                results_dir=Path(meta["results_dir"]),
                order_source=meta["order_source"],
                stats={**meta["stats"], "parsed": 0, "from_cache": True},
            )
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return None

    def save_final(self, fp: str, rs: ResultSet) -> None:
        if self.root is None:
            return
        final = self.root / "final"
        try:
            final.mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                (final / "meta.json").unlink()
            for name in ("results", "machines", "envs", "commits", "provenance"):
                frame: pd.DataFrame = getattr(rs, name)
                # pandas metadata is dropped: categories come back from parquet dictionaries and the
                # list column through types_mapper (pandas cannot rebuild ArrowDtype from its metadata)
                table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
                _atomic_write_arrow(final / f"{name}.arrow", table)
            meta = {
                "format": CACHE_FORMAT,
                "fingerprint": fp,
                "problems": [[p.path, p.message, p.severity] for p in rs.problems],
                "benchmarks": rs.benchmarks,
                "results_dir": str(rs.results_dir),
                "order_source": rs.order_source,
                "stats": rs.stats,
            }
            _atomic_write_bytes(final / "meta.json", json.dumps(meta).encode())
        except (OSError, ValueError, TypeError, pa.ArrowException):
            return

    # -- per-file raw rows -----------------------------------------------------------------

    def update(
        self, entries: Sequence[FileEntry], max_bytes: int, workers: int | None = None
    ) -> tuple[pa.Table, dict[int, dict[str, Any]], list[tuple[str, str, str]]]:
        """Raw rows and run metadata of ``entries``, parsing only new or changed files (see :func:`parse_files`)."""

        problems: list[tuple[str, str, str]] = []
        keep: dict[str, dict[str, Any]] = {}
        todo: list[FileEntry] = []
        for e in entries:
            if e.error is not None:
                problems.append((e.rel, "error", e.error))
                continue
            old = self.files.get(e.rel)
            if old is not None and tuple(old["key"]) == e.key:
                keep[e.rel] = old
            else:
                todo.append(e)
        old_table = self._read_raw() if keep and any(v["meta"] is not None for v in keep.values()) else None
        if old_table is not None:
            keep_ids = pa.array([v["id"] for v in keep.values() if v["meta"] is not None], type=pa.int32())
            if len(keep_ids) != len([v for v in self.files.values() if v["meta"] is not None]):
                old_table = old_table.filter(pc.is_in(old_table.column("file_id"), value_set=keep_ids))
        elif keep and any(v["meta"] is not None for v in keep.values()):
            # raw rows lost: parse everything again
            todo = [e for e in entries if e.error is None]
            keep = {}

        sig_index = {s: i for i, s in enumerate(self.sigs)}
        jobs = []
        for e in todo:
            jobs.append((e.rel, str(e.path), e.st, list(e.key or (0, 0)), self.next_id))
            self.next_id += 1
        new_files: dict[str, dict[str, Any]] = {}
        new_tables: list[pa.Table] = []
        for part, records, sigs in _parse_all(jobs, max_bytes, workers):
            new_files.update(records)
            # the part's own parameter-grid ids -> this store's
            remap = np.array([sig_index.setdefault(s, len(sig_index)) for s in sigs] or [0], dtype=np.int32)
            if part.num_rows:
                sig_col = remap[part.column("sig").to_numpy()]
                new_tables.append(part.set_column(part.schema.get_field_index("sig"), "sig", pa.array(sig_col, type=pa.int32())))
        self.parsed_count += len(jobs)
        self.sigs = [s for s, _ in sorted(sig_index.items(), key=lambda kv: kv[1])]

        tables = [t for t in (old_table, *new_tables) if t is not None and t.num_rows]
        table = _concat(tables) if tables else RawColumns().table()
        changed = bool(todo) or len(keep) != len(self.files)
        self.files = {**keep, **new_files}
        metas: dict[int, dict[str, Any]] = {}
        for rel, rec in sorted(self.files.items()):
            for severity, message in rec["problems"]:
                problems.append((rel, severity, message))
            if rec["meta"] is not None:
                metas[rec["id"]] = rec["meta"]
        if changed and self.root is not None:
            try:
                _atomic_write_arrow(self.root / "raw.arrow", table, compression="lz4")
                manifest = {"format": CACHE_FORMAT, "files": self.files, "sigs": self.sigs, "next_id": self.next_id}
                _atomic_write_bytes(self.root / "manifest.json", json.dumps(manifest).encode())
            except (OSError, ValueError, TypeError, pa.ArrowException):
                pass
        # rows of files whose metadata exists only
        return table, metas, problems

    def _read_raw(self) -> pa.Table | None:
        if self._raw_path is None:
            return None
        try:
            return feather.read_table(self._raw_path)
        except (OSError, pa.ArrowException):
            return None


# Parsing in worker processes pays off from about this much JSON (each worker imports pandas/pyarrow: ~1-2 s).
PARALLEL_MIN_BYTES = 64 * 2**20
_Job = tuple[str, str, Any, list[int], int]  # (rel, path, stat, key, file id)


def parse_files(jobs: Sequence[_Job], max_bytes: int) -> tuple[pa.Table, dict[str, dict[str, Any]], list[str]]:
    """Parse result files: (raw rows, {rel: manifest record}, parameter-grid signatures the rows' ``sig`` indexes).

    Module-level so that worker processes can run it.
    """

    raw = RawColumns()
    sig_index: dict[str, int] = {}
    records: dict[str, dict[str, Any]] = {}
    for rel, path, st, key, file_id in jobs:
        record: dict[str, Any] = {"key": key, "id": file_id, "meta": None, "problems": []}
        try:
            data, sentinels = read_result_json(Path(path), max_bytes, st)
            meta, notes = parse_result_file(data, file_id, raw, sig_index, sentinels)
            meta["machine"] = rel.split("/", 1)[0]
            meta["rel"] = rel
            record["meta"] = meta
            record["problems"] = [list(n) for n in notes]
        except BadFile as exc:
            record["problems"] = [["error", str(exc)]]
        records[rel] = record
    return raw.table(), records, [s for s, _ in sorted(sig_index.items(), key=lambda kv: kv[1])]


def _parse_all(jobs: list[_Job], max_bytes: int, workers: int | None) -> list[tuple[pa.Table, dict[str, dict[str, Any]], list[str]]]:
    """parse_files over ``jobs``, split over worker processes when there is enough to parse.

    ``workers``: None chooses (with 4 or more CPUs, all of them up to 8 once the files hold
    PARALLEL_MIN_BYTES; else 1); 1 parses here.
    Worker processes are spawned (never forked: the caller may be a threaded Streamlit server); if
    they cannot run, parsing falls back to this process.
    """
    total = sum(int(j[2].st_size) if j[2] is not None else 0 for j in jobs)
    if workers is None:
        # measured: on 2 busy CPUs spawning workers costs more than it saves (scripts/measure_load.py)
        cpus = os.cpu_count() or 1
        workers = min(cpus, 8) if cpus >= 4 and total >= PARALLEL_MIN_BYTES else 1
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return [parse_files(jobs, max_bytes)]
    # contiguous chunks of about equal bytes, so file order is kept
    chunks: list[list[_Job]] = [[] for _ in range(workers)]
    done = 0
    for j in jobs:
        size = int(j[2].st_size) if j[2] is not None else 0
        chunks[min(int(done * workers / max(total, 1)), workers - 1)].append(j)
        done += size
    chunks = [ch for ch in chunks if ch]
    try:
        with ProcessPoolExecutor(max_workers=len(chunks), mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(parse_files, chunks, [max_bytes] * len(chunks)))
    except (OSError, BrokenProcessPool, pickle.PicklingError, RuntimeError):
        return [parse_files(jobs, max_bytes)]


def _concat(tables: list[pa.Table]) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    # dictionaries differ between tables: decode, concatenate, re-encode
    plain = [
        t.cast(pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in t.schema]))
        for t in tables
    ]
    out = pa.concat_tables(plain)
    return out.set_column(out.schema.get_field_index("benchmark"), "benchmark", out.column("benchmark").dictionary_encode()).set_column(
        out.schema.get_field_index("version"), "version", out.column("version").dictionary_encode()
    )


def _read_frame(path: Path) -> pd.DataFrame:
    table = feather.read_table(path, memory_map=True)
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(pa.list_(pa.float64())) if pa.types.is_list(t) else None)
