"""Derived columnar cache of parsed asv results (Arrow IPC / Feather v2), so a repeat load parses only changed files.

Layout under ``<cache_dir>/<hash of the resolved results_dir>/`` (created private, mode 0700):

* ``manifest.json``  per result file: path relative to results_dir, the SHA-256 of its bytes,
  file id, run metadata (machine, commit, env, date, env_vars, ...) and the problems found in it;
  plus the parameter-grid signatures the raw rows refer to.
* ``raw.arrow``      parsed rows (lz4) of every cached file (one ``file_id`` column says which file).
* ``final/``         (uncompressed, memory-mapped on read) the finished :class:`~tensorscope.results.ResultSet` for one fingerprint of the
  whole tree (every file's content hash + ordering source): an unchanged tree loads from here alone.

It is only a cache:

* entries are tied to the content of the files (SHA-256 of their bytes), never to path, size
  or modification time alone;
* anything unreadable, of another format or of the wrong shape (a manifest that is not what
  this version writes, a ``raw.arrow`` with other columns or rows pointing at unknown files or
  parameter combinations) is discarded and rebuilt; if data from the cache still fails to
  load, :func:`~tensorscope.results.load_results` discards the cache and loads without it;
* a cache directory that another user owns or may write to is not used (it could hold forged
  entries);
* nothing here is executed or unpickled: the cache is Arrow IPC and JSON only. (Worker
  processes return their parsed rows to this process through multiprocessing's own pipe, never
  through a file.)

A cache that cannot be written is skipped silently (loading still works, just not faster next time).
Changed result files are parsed by :func:`parse_files`, in worker processes when there are many
(see :func:`_parse_all`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import stat
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from .files import BadFile, FileEntry, read_result_json
from .model import MAX_PARAM_DIMENSIONS, RESULT_COLUMNS, Problem, ResultSet, categorical, string_index
from .parse import RawColumns, parse_result_file

__all__ = ["CACHE_FORMAT", "RawStore", "fingerprint", "parse_files"]

# Bump when the parsed/derived layout changes: old caches are then rebuilt.
CACHE_FORMAT = 5
_FRAMES = ("results", "machines", "envs", "commits", "provenance")


def fingerprint(entries: Sequence[FileEntry | None], extra: Sequence[str] = ()) -> str:
    """A hash of every input file's path and content digest (or why it cannot be read) and of ``extra``."""
    h = hashlib.sha256(f"format={CACHE_FORMAT}".encode())
    for e in entries:
        if e is None:
            h.update(b"\0none")
            continue
        h.update(json.dumps([e.rel, e.digest, e.error]).encode())
    for x in extra:
        h.update(json.dumps(["x", x]).encode())
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
    """Arrow IPC (Feather v2): uncompressed files are memory-mapped on read, near zero-copy.

    One record batch per file: with the default 64K-row batches the writer compares every batch's
    dictionaries with the last (15 s and 700 MB for a table of 7M series names).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        feather.write_feather(table, tmp, compression=compression, chunksize=max(table.num_rows, 1))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _private_dir(path: Path) -> bool:
    """Whether ``path`` is a directory this user owns and no other user may write to (POSIX; elsewhere: a directory)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "geteuid"):
        return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return True


# -- shape checks of what is read back (anything else: the cache is rebuilt) ----------------


def _is_str_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(v, str) for v in x)


def _valid_meta(meta: Any) -> bool:
    if meta is None:
        return True
    if not isinstance(meta, dict):
        return False
    if not all(isinstance(meta.get(k), str) for k in ("commit", "env", "machine", "rel")):
        return False
    date = meta.get("date")
    if date is not None and not (isinstance(date, float) and math.isfinite(date)):
        return False
    if meta.get("python") is not None and not isinstance(meta["python"], str):
        return False
    for k in ("params", "env_vars", "requirements"):
        value = meta.get(k)
        if not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values()):
            return False
    return True


def _valid_record(rec: Any) -> bool:
    return (
        isinstance(rec, dict)
        and isinstance(rec.get("digest"), str)
        and isinstance(rec.get("id"), int)
        and 0 <= rec["id"] < 2**31
        and isinstance(rec.get("problems"), list)
        and all(isinstance(p, list) and len(p) == 2 and p[0] in ("error", "warning") and isinstance(p[1], str) for p in rec["problems"])
        and _valid_meta(rec.get("meta"))
    )


def _valid_sig(sig: Any) -> bool:
    try:
        grid = json.loads(sig)
    except (TypeError, ValueError):
        return False
    return isinstance(grid, list) and len(grid) <= MAX_PARAM_DIMENSIONS and all(_is_str_list(p) for p in grid)


def _grid_sizes(sigs: Sequence[str]) -> np.ndarray:
    return np.array([math.prod(len(p) for p in json.loads(s)) for s in sigs] or [0], dtype=np.float64)


_RAW_SCHEMA = RawColumns().table().schema


class RawStore:
    """Parsed rows per result file, persisted (``open``) or in memory only (``memory``)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.files: dict[str, dict[str, Any]] = {}
        self.sigs: list[str] = []
        self.next_id = 0
        self.parsed_count = 0
        self.note: tuple[str, str] | None = None  # (cache directory, why it was not used)
        self._raw_path = root / "raw.arrow" if root else None

    @classmethod
    def memory(cls) -> RawStore:
        return cls(None)

    @classmethod
    def open(cls, cache_dir: str | os.PathLike[str], results_dir: Path) -> RawStore:
        """The store for ``results_dir`` under ``cache_dir`` (an unusable one: in memory, with ``note`` saying why)."""
        key = hashlib.sha256(str(Path(results_dir).resolve()).encode()).hexdigest()[:16]
        root = Path(cache_dir).expanduser() / key
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return cls(None)
        if not _private_dir(root):
            store = cls(None)
            store.note = (str(root), f"cache directory {root} is not private to this user (owner or permissions): not used")
            return store
        store = cls(root)
        try:
            manifest = json.loads((root / "manifest.json").read_bytes())
        except (OSError, ValueError, RecursionError):
            return store
        if (
            isinstance(manifest, dict)
            and manifest.get("format") == CACHE_FORMAT
            and isinstance(manifest.get("files"), dict)
            and all(isinstance(k, str) and _valid_record(v) for k, v in manifest["files"].items())
            and isinstance(manifest.get("sigs"), list)
            and all(isinstance(s, str) and _valid_sig(s) for s in manifest["sigs"])
            and isinstance(manifest.get("next_id"), int)
            and all(v["id"] < manifest["next_id"] for v in manifest["files"].values())
            and len({v["id"] for v in manifest["files"].values()}) == len(manifest["files"])
            and (root / "raw.arrow").is_file()
        ):
            store.files = manifest["files"]
            store.sigs = manifest["sigs"]
            store.next_id = manifest["next_id"]
        return store

    def discard(self) -> None:
        """Forget and delete everything cached (after data from the cache failed to load)."""
        self.files, self.sigs, self.next_id = {}, [], 0
        if self.root is None:
            return
        for path in (self.root / "manifest.json", self.root / "raw.arrow", *(self.root / "final" / f"{n}.arrow" for n in _FRAMES)):
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            (self.root / "final" / "meta.json").unlink()

    # -- final (whole-tree) cache ---------------------------------------------------------

    def load_final(self, fp: str) -> ResultSet | None:
        """The cached ResultSet for this fingerprint, or None."""

        if self.root is None:
            return None
        final = self.root / "final"
        try:
            meta = json.loads((final / "meta.json").read_bytes())
            if not isinstance(meta, dict) or meta.get("fingerprint") != fp or meta.get("format") != CACHE_FORMAT:
                return None
            frames = {name: _read_frame(final / f"{name}.arrow") for name in _FRAMES}
            results = frames["results"]
            if not set(RESULT_COLUMNS) <= set(results.columns) or not all(
                isinstance(results[c].dtype, pd.CategoricalDtype) for c in ("machine", "series", "benchmark", "params", "status")
            ):
                return None
            problems = [Problem(*p) for p in meta["problems"] if _is_str_list(p) and len(p) == 3]
            if len(problems) != len(meta["problems"]) or not isinstance(meta["benchmarks"], dict):
                return None
            return ResultSet(
                results=results,
                machines=frames["machines"],
                envs=frames["envs"],
                commits=frames["commits"],
                provenance=frames["provenance"],
                problems=problems,
                benchmarks=meta["benchmarks"],
                results_dir=Path(meta["results_dir"]),
                order_source=str(meta["order_source"]),
                stats={**meta["stats"], "parsed": 0, "from_cache": True},
            )
        except (OSError, ValueError, KeyError, TypeError, RecursionError, pa.ArrowException):
            return None

    def save_final(self, fp: str, rs: ResultSet) -> None:
        if self.root is None:
            return
        final = self.root / "final"
        try:
            final.mkdir(mode=0o700, exist_ok=True)
            with contextlib.suppress(OSError):
                (final / "meta.json").unlink()
            for name in _FRAMES:
                frame: pd.DataFrame = getattr(rs, name)
                table = _to_arrow(frame)
                _atomic_write_arrow(final / f"{name}.arrow", table)
                del table
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
        except (OSError, ValueError, TypeError, RecursionError, OverflowError, pa.ArrowException):
            return

    # -- per-file raw rows -----------------------------------------------------------------

    def update(
        self, entries: Sequence[FileEntry], max_bytes: int, workers: int | None = None
    ) -> tuple[pa.Table, dict[int, dict[str, Any]], list[tuple[str, str, str]]]:
        """Raw rows and run metadata of ``entries``, parsing only new or changed files (see :func:`parse_files`).

        A file is reused from the cache only when its content digest (computed by the scan) is the one cached.
        """

        problems: list[tuple[str, str, str]] = []
        keep: dict[str, dict[str, Any]] = {}
        todo: list[FileEntry] = []
        for e in entries:
            if e.error is not None:
                problems.append((e.rel, "error", e.error))
                continue
            old = self.files.get(e.rel)
            if old is not None and e.digest is not None and old["digest"] == e.digest:
                keep[e.rel] = old
            else:
                todo.append(e)
        with_rows = [v for v in keep.values() if v["meta"] is not None]
        old_table = self._read_raw(with_rows) if with_rows else None
        if with_rows and old_table is None:
            # raw rows lost or not what the manifest says: parse everything again
            todo = [e for e in entries if e.error is None]
            keep = {}

        sig_index = {s: i for i, s in enumerate(self.sigs)}
        jobs = []
        for e in todo:
            jobs.append((e.rel, str(e.path), e.size, self.next_id))
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
            except (OSError, ValueError, TypeError, RecursionError, pa.ArrowException):
                pass
        return table, metas, problems

    def _read_raw(self, records: Sequence[dict[str, Any]]) -> pa.Table | None:
        """The cached rows of ``records``; None when raw.arrow is missing or does not match the manifest."""
        if self._raw_path is None:
            return None
        try:
            table = feather.read_table(self._raw_path)
            if not table.schema.equals(_RAW_SCHEMA):
                return None
            ids = pa.array([v["id"] for v in records], type=pa.int32())
            if table.num_rows and len(records) != len([v for v in self.files.values() if v["meta"] is not None]):
                table = table.filter(pc.is_in(table.column("file_id"), value_set=ids))
            if not table.num_rows:
                return table
            # every row must belong to a kept file and point inside its parameter grid
            if not pc.all(pc.is_in(table.column("file_id"), value_set=ids)).as_py():
                return None
            sig = table.column("sig").to_numpy()
            combo = table.column("combo").to_numpy()
            if sig.min() < 0 or sig.max() >= len(self.sigs) or combo.min() < 0 or (combo >= _grid_sizes(self.sigs)[sig]).any():
                return None
            if (
                table.column("benchmark").null_count
                or not pc.all(pc.is_in(table.column("status"), value_set=pa.array([0, 1, 2], pa.int8()))).as_py()
            ):
                return None
            return table
        except (OSError, ValueError, TypeError, pa.ArrowException):
            return None


# Parsing in worker processes pays off from about this much JSON (each worker imports pandas/pyarrow: ~1-2 s).
PARALLEL_MIN_BYTES = 64 * 2**20
_Job = tuple[str, str, int, int]  # (rel, path, size, file id)


def parse_files(jobs: Sequence[_Job], max_bytes: int) -> tuple[pa.Table, dict[str, dict[str, Any]], list[str]]:
    """Parse result files: (raw rows, {rel: manifest record}, parameter-grid signatures the rows' ``sig`` indexes).

    Each file succeeds or becomes a problem of that file, whatever goes wrong in it (its rows,
    if any were added, are rolled back). Module-level so that worker processes can run it.
    """

    raw = RawColumns()
    sig_index: dict[str, int] = {}
    records: dict[str, dict[str, Any]] = {}
    for rel, path, size, file_id in jobs:
        record: dict[str, Any] = {"digest": "", "id": file_id, "meta": None, "problems": []}
        mark = raw.mark()
        try:
            data, sentinels, digest = read_result_json(Path(path), max_bytes)
            record["digest"] = digest
            meta, notes = parse_result_file(data, file_id, raw, sig_index, sentinels, file_bytes=size)
            del data
            meta["machine"] = rel.split("/", 1)[0]
            meta["rel"] = rel
            record["meta"] = meta
            record["problems"] = [list(n) for n in notes]
        except BadFile as exc:
            raw.rollback(mark)
            record["problems"] = [["error", str(exc)]]
        except MemoryError:
            raw.rollback(mark)
            record["problems"] = [["error", "not enough memory to read this file (it is skipped)"]]
        except Exception as exc:  # whatever else goes wrong in one file must not take the others down
            raw.rollback(mark)
            record["problems"] = [["error", f"could not be read ({type(exc).__name__}: {str(exc)[:200]}); please report this as a bug"]]
        records[rel] = record
    return raw.table(), records, [s for s, _ in sorted(sig_index.items(), key=lambda kv: kv[1])]


def _parse_all(jobs: list[_Job], max_bytes: int, workers: int | None) -> list[tuple[pa.Table, dict[str, dict[str, Any]], list[str]]]:
    """parse_files over ``jobs``, split over worker processes when there is enough to parse.

    ``workers``: None chooses (with 4 or more CPUs, all of them up to 8 once the files hold
    PARALLEL_MIN_BYTES; else 1); 1 parses here.
    Worker processes are spawned (never forked: the caller may be a threaded Streamlit server); if
    they cannot run, parsing falls back to this process.
    """
    total = sum(j[2] for j in jobs)
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
        chunks[min(int(done * workers / max(total, 1)), workers - 1)].append(j)
        done += j[2]
    chunks = [ch for ch in chunks if ch]
    try:
        with ProcessPoolExecutor(max_workers=len(chunks), mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(parse_files, chunks, [max_bytes] * len(chunks)))
    except Exception:  # workers that cannot start, or died (e.g. killed for memory): parse here
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


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table for :func:`_read_frame`: a Categorical of strings becomes a dictionary
    array over its codes and its categories' own Arrow strings (pandas' converter turns 7M categories
    into Python objects first: 13 s); other columns as pyarrow converts them; no pandas metadata."""
    arrays = []
    for name in frame.columns:
        column = frame[name]
        categories = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) else None
        if categories is not None and hasattr(categories.array, "__arrow_array__"):
            dictionary = pa.array(categories.array)
            if isinstance(dictionary, pa.ChunkedArray):  # as pandas keeps them: one chunk, no copy
                dictionary = dictionary.combine_chunks()
            codes = column.cat.codes.to_numpy()
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), dictionary))
        else:
            arrays.append(pa.Table.from_pandas(frame[[name]], preserve_index=False).column(0))
    return pa.table(arrays, names=[str(c) for c in frame.columns])


def _dictionary_parts(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(dictionary, indices) of a dictionary column. The record batches of an Arrow IPC file share one
    dictionary; unifying them would hash it once per batch (2 minutes for 7M series names)."""
    chunks = column.chunks
    if not chunks:
        return pa.array([], type=column.type.value_type), pa.array([], type=column.type.index_type)
    first = chunks[0].dictionary
    key = [b.address if b is not None else None for b in first.buffers()]
    if all(
        len(c.dictionary) == len(first) and [b.address if b is not None else None for b in c.dictionary.buffers()] == key for c in chunks
    ):
        return first, pa.concat_arrays([c.indices for c in chunks])
    arr = column.unify_dictionaries().combine_chunks()
    return arr.dictionary, arr.indices


def _read_frame(path: Path) -> pd.DataFrame:
    """A frame written by :meth:`RawStore.save_final`, column by column: string dictionaries become
    Categoricals without pandas re-checking each category (see :func:`~.model.categorical`)."""
    table = feather.read_table(path, memory_map=True)
    columns: dict[str, Any] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(column.type) and (
            pa.types.is_string(column.type.value_type) or pa.types.is_large_string(column.type.value_type)
        ):
            dictionary, indices = _dictionary_parts(column)
            columns[name] = categorical(indices.fill_null(-1).to_numpy(zero_copy_only=False), string_index(dictionary))
        elif pa.types.is_list(column.type):
            columns[name] = pd.arrays.ArrowExtensionArray(column.cast(pa.list_(pa.float64())))
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns, copy=False) if columns else pd.DataFrame()
