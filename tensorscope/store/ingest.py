"""Ingest an asv results tree into a store, incrementally by content (SHA-256 of each file's bytes).

The files are read by tensorscope's own results reader (:mod:`tensorscope.results`), with all of its
protections and limits; what it refuses is recorded as that file's problems, never stored as data.
Each result file is stored in one transaction: a killed ingest leaves every file wholly stored or
wholly absent. A file whose content is already stored at its path is skipped without being parsed;
a file whose content changed replaces what was stored for it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from tensorscope.results.cache import parse_files
from tensorscope.results.files import BadFile, FileEntry, read_json_file, scan_tree
from tensorscope.results.load import read_json_object
from tensorscope.results.model import DEFAULT_MAX_FILE_BYTES, DEFAULT_UNITS, benchmark_type

from . import schema as s
from .engine import reading, writing

# Result files parsed together before they are stored (each still in its own transaction).
BATCH_BYTES = 32 * 2**20
BATCH_FILES = 256


@dataclass
class IngestReport:
    """What an ingest did: files stored, skipped (already there) and refused, results (cells) added."""

    stored: int = 0
    skipped: int = 0
    refused: int = 0
    results: int = 0
    seconds: float = 0.0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (path, severity, message)


class Progress:
    """A one-line progress bar on a terminal (nothing when ``stream`` is not one)."""

    def __init__(self, total: int, stream: TextIO | None = None, label: str = "ingest") -> None:
        self.total = max(total, 1)
        self.stream = stream if stream is not None and stream.isatty() else None
        self.label = label
        self.done = 0
        self.results = 0
        self._last = 0.0

    def update(self, files: int, results: int) -> None:
        self.done += files
        self.results += results
        now = time.monotonic()
        if self.stream is not None and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            width = 30
            filled = int(width * self.done / self.total)
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} files, {self.results:,} results"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def _now_ms() -> float:
    return time.time() * 1000.0


def _has_nul(*texts: str | None) -> bool:
    return any(t is not None and "\x00" in t for t in texts)


class _Ids:
    """Row ids of machines, environments, commits, benchmarks and grids, created on first use.

    Creation is ``INSERT ... ON CONFLICT DO NOTHING`` then a select: two ingests (or an ingest and an
    upload) creating the same name at once both end with the one row.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self.dialect = conn.dialect.name
        self.machines = {r.name: r.id for r in conn.execute(sa.select(s.machines.c.id, s.machines.c.name))}
        self.benchmarks = {r.name: r.id for r in conn.execute(sa.select(s.benchmarks.c.id, s.benchmarks.c.name))}
        self.grids = {r.digest: r.id for r in conn.execute(sa.select(s.grids.c.id, s.grids.c.digest))}
        self.envs: dict[tuple[int, str], int] = {
            (r.machine_id, r.name): r.id
            for r in conn.execute(sa.select(s.environments.c.id, s.environments.c.machine_id, s.environments.c.name))
        }
        self.commits: dict[str, tuple[int, float | None]] = {}

    def _insert(self, table: sa.Table) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _get_or_create(self, conn: sa.Connection, table: sa.Table, key: dict[str, Any], extra: dict[str, Any] | None = None) -> int:
        conn.execute(self._insert(table).values(**key, **(extra or {})).on_conflict_do_nothing())
        cond = sa.and_(*(table.c[k] == v for k, v in key.items()))
        return int(conn.execute(sa.select(table.c.id).where(cond)).scalar_one())

    def machine(self, conn: sa.Connection, name: str) -> int:
        if name not in self.machines:
            self.machines[name] = self._get_or_create(conn, s.machines, {"name": name})
        return self.machines[name]

    def env(self, conn: sa.Connection, machine_id: int, name: str) -> int:
        key = (machine_id, name)
        if key not in self.envs:
            self.envs[key] = self._get_or_create(conn, s.environments, {"machine_id": machine_id, "name": name})
        return self.envs[key]

    def commit(self, conn: sa.Connection, commit: str, date_ms: float | None) -> int:
        known = self.commits.get(commit)
        if known is None:
            cid = self._get_or_create(conn, s.commits, {"hash": commit}, {"date_ms": date_ms})
            old = conn.execute(sa.select(s.commits.c.date_ms).where(s.commits.c.id == cid)).scalar()
            known = (cid, old)
        cid, old = known
        # a commit's date: the earliest any of its files gives (as the results reader takes it)
        if date_ms is not None and (old is None or date_ms < old):
            conn.execute(sa.update(s.commits).where(s.commits.c.id == cid).values(date_ms=date_ms))
            old = date_ms
        self.commits[commit] = (cid, old)
        return cid

    def benchmark(self, conn: sa.Connection, name: str) -> int:
        if name not in self.benchmarks:
            btype = benchmark_type(name)
            self.benchmarks[name] = self._get_or_create(
                conn, s.benchmarks, {"name": name}, {"type": btype, "unit": DEFAULT_UNITS.get(btype)}
            )
        return self.benchmarks[name]

    def grid(self, conn: sa.Connection, grid_json: str) -> int:
        digest = hashlib.sha256(grid_json.encode()).hexdigest()
        if digest not in self.grids:
            self.grids[digest] = self._get_or_create(conn, s.grids, {"digest": digest}, {"grid": grid_json})
        return self.grids[digest]


def _record_upload(
    conn: sa.Connection, path: str, kind: str, digest: str, size: int, problems: Sequence[Sequence[str]], source: str
) -> int:
    """Make (path, digest) the current upload of ``path`` (the earlier current one no longer is); its id."""
    conn.execute(sa.update(s.uploads).where(s.uploads.c.path == path, s.uploads.c.current.is_(True)).values(current=False))
    existing = conn.execute(sa.select(s.uploads.c.id).where(s.uploads.c.path == path, s.uploads.c.digest == digest)).scalar()
    values = {
        "kind": kind,
        "size": size,
        "problems": json.dumps([list(p) for p in problems]),
        "current": True,
        "received_ms": _now_ms(),
        "source": source,
    }
    if existing is not None:
        conn.execute(sa.update(s.uploads).where(s.uploads.c.id == existing).values(**values))
        return int(existing)
    return int(conn.execute(sa.insert(s.uploads).values(path=path, digest=digest, **values).returning(s.uploads.c.id)).scalar_one())


def _current_digests(conn: sa.Connection) -> dict[str, str]:
    return {r.path: r.digest for r in conn.execute(sa.select(s.uploads.c.path, s.uploads.c.digest).where(s.uploads.c.current.is_(True)))}


def _delete_run(conn: sa.Connection, path: str) -> None:
    run_id = conn.execute(sa.select(s.runs.c.id).where(s.runs.c.path == path)).scalar()
    if run_id is None:
        return
    conn.execute(sa.delete(s.results).where(s.results.c.run_id == run_id))
    conn.execute(sa.delete(s.entries).where(s.entries.c.run_id == run_id))
    conn.execute(sa.delete(s.runs).where(s.runs.c.id == run_id))


_RESULT_COLUMNS = ("run_id", "position", "combo", "status", "value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat", "samples")
_ENTRY_COLUMNS = ("run_id", "position", "benchmark_id", "grid_id", "version", "started_at_ms", "duration_s")


def _bulk_insert(conn: sa.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows through the engine's bulk path: PostgreSQL ``COPY``, SQLite ``executemany`` (inside the caller's transaction)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    """floats as Python values, NaN as None (SQL NULL: SQLite would make NaN NULL anyway, PostgreSQL keeps it)."""
    out: list[float | None] = values.tolist()
    if np.isnan(values).any():
        return [None if v != v else v for v in out]
    return out


class _SampleBytes:
    """Rows' samples as little-endian float64 bytes (None where asv kept none), a slice of rows at a time."""

    def __init__(self, column: pa.ListArray) -> None:
        self.none = len(column) == 0 or column.null_count == len(column)
        if not self.none:
            self.offsets = column.offsets.to_numpy() * 8
            self.flat = column.values.to_numpy(zero_copy_only=False).astype("<f8", copy=False).tobytes()
            self.valid = column.is_valid().to_numpy(zero_copy_only=False)

    def rows(self, a: int, b: int) -> list[bytes | None]:
        """Rows ``a`` to ``b`` (exclusive)."""
        if self.none:
            return [None] * (b - a)
        starts = self.offsets[a:b].tolist()
        ends = self.offsets[a + 1 : b + 1].tolist()
        return [self.flat[x:y] if ok else None for x, y, ok in zip(starts, ends, self.valid[a:b].tolist(), strict=True)]


# Rows are made Python tuples this many at a time: a whole 250 MB file's 2.8M rows at once took
# about 1 GB more (scripts/measure_store.py --big-file).
_INSERT_SLICE = 100_000


def _store_result_file(
    conn: sa.Connection,
    ids: _Ids,
    entry: FileEntry,
    record: dict[str, Any],
    rows: pa.Table | None,
    sigs: Sequence[str],
    source: str,
) -> int:
    """Store one parsed result file (its rows, or only its problems when the reader refused it); results added."""
    problems = [list(p) for p in record["problems"]]
    meta = record["meta"]
    if rows is not None and rows.num_rows:
        bench = rows.column("benchmark").combine_chunks()
        version = rows.column("version").combine_chunks()
    if meta is not None and rows is not None and rows.num_rows:
        # a batch's rows share one dictionary: only the names this file uses count
        names = [bench.dictionary[int(i)].as_py() for i in np.unique(bench.indices.to_numpy(zero_copy_only=False))]
        names += [version.dictionary[int(i)].as_py() for i in np.unique(version.indices.drop_null().to_numpy(zero_copy_only=False))]
        if _has_nul(meta["commit"], meta["env"], entry.rel, *names):
            meta = record["meta"] = None
            problems = record["problems"] = [
                ["error", "a name holds a NUL character, which a results store cannot keep: the file is not stored"]
            ]
    upload_id = _record_upload(conn, entry.rel, "result", record["digest"], entry.size, problems, source)
    _delete_run(conn, entry.rel)
    if meta is None:
        return 0
    machine_id = ids.machine(conn, entry.rel.split("/", 1)[0])
    env_id = ids.env(conn, machine_id, meta["env"])
    commit_id = ids.commit(conn, meta["commit"], meta["date"])
    n = rows.num_rows if rows is not None else 0
    run_id = int(
        conn.execute(
            sa.insert(s.runs)
            .values(
                upload_id=upload_id,
                path=entry.rel,
                machine_id=machine_id,
                environment_id=env_id,
                commit_id=commit_id,
                date_ms=meta["date"],
                python=meta["python"],
                params=json.dumps(meta["params"], sort_keys=True),
                env_vars=json.dumps(meta["env_vars"]),
                requirements=json.dumps(meta["requirements"]),
                durations=json.dumps(meta.get("durations") or {}),
                n_results=n,
            )
            .returning(s.runs.c.id)
        ).scalar_one()
    )
    if rows is None or n == 0:
        return 0
    combo = rows.column("combo").to_numpy()
    starts = np.flatnonzero(combo == 0)  # a benchmark's rows are its combinations 0..n-1, in file order
    position = np.cumsum(combo == 0) - 1
    bench_names = bench.dictionary.to_pylist()
    bench_codes = bench.indices.to_numpy(zero_copy_only=False)
    version_names = version.dictionary.to_pylist()
    version_codes = version.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    sig = rows.column("sig").to_numpy()
    started = rows.column("started_at").to_numpy()
    duration = rows.column("duration").to_numpy()
    entry_rows = []
    for p, i in enumerate(starts.tolist()):
        v = int(version_codes[i])
        entry_rows.append(
            (
                run_id,
                p,
                ids.benchmark(conn, bench_names[int(bench_codes[i])]),
                ids.grid(conn, sigs[int(sig[i])]),
                None if v < 0 else version_names[v],
                None if math.isnan(started[i]) else float(started[i]),
                None if math.isnan(duration[i]) else float(duration[i]),
            )
        )
    _bulk_insert(conn, "entries", _ENTRY_COLUMNS, entry_rows)
    samples = _SampleBytes(rows.column("samples").combine_chunks())
    status = rows.column("status").to_numpy()
    stats = [rows.column(c).to_numpy() for c in ("value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat")]
    for a in range(0, n, _INSERT_SLICE):
        b = min(n, a + _INSERT_SLICE)
        columns: list[Iterable[Any]] = [
            [run_id] * (b - a),
            position[a:b].tolist(),
            combo[a:b].tolist(),
            status[a:b].tolist(),
            *(_nan_to_none(values[a:b]) for values in stats),
            samples.rows(a, b),
        ]
        _bulk_insert(conn, "results", _RESULT_COLUMNS, list(zip(*columns, strict=True)))
    return n


def _store_benchmarks(conn: sa.Connection, ids: _Ids, entry: FileEntry, max_bytes: int, source: str, report: IngestReport) -> None:
    problems: list[list[str]] = []
    try:
        if entry.error:
            raise BadFile(entry.error)
        data = read_json_file(entry.path, max_bytes)
        if not isinstance(data, dict):
            raise BadFile(f"expected a JSON object, found {type(data).__name__}")
    except BadFile as exc:
        problems.append(["error", f"{exc}; units and parameter names are guessed from the results"])
        data = {}
    specs = {k: v for k, v in data.items() if isinstance(v, dict) and not _has_nul(k)}
    extra = {k: v for k, v in data.items() if not isinstance(v, dict)}
    _record_upload(conn, entry.rel, "benchmarks", entry.digest or "", entry.size, problems, source)
    report.problems += [(entry.rel, p[0], p[1]) for p in problems]
    # benchmarks.json describes the newest suite: a benchmark it no longer names keeps its old spec
    for name, spec in specs.items():
        bid = ids.benchmark(conn, name)
        spec_type = spec.get("type")
        btype = spec_type if isinstance(spec_type, str) else benchmark_type(name)
        unit = spec.get("unit")
        version = spec.get("version")
        conn.execute(
            sa.update(s.benchmarks)
            .where(s.benchmarks.c.id == bid)
            .values(
                spec=json.dumps(spec),
                type=btype,
                unit=unit if isinstance(unit, str) else DEFAULT_UNITS.get(btype),
                version=version if isinstance(version, str) else None,
            )
        )
    _set_meta(conn, "benchmarks_extra", json.dumps(extra))


def _set_meta(conn: sa.Connection, key: str, value: str) -> None:
    updated = conn.execute(sa.update(s.meta).where(s.meta.c.key == key).values(value=value)).rowcount
    if not updated:
        conn.execute(sa.insert(s.meta).values(key=key, value=value))


# machine.json fields that become columns; a GPU name is taken from the first of these a file has
HARDWARE_FIELDS = ("arch", "cpu", "num_cpu", "os", "ram")
GPU_FIELDS = ("gpu", "gpu_name", "gpus", "gpu_model", "cuda_device", "device")


def _store_machine(conn: sa.Connection, ids: _Ids, entry: FileEntry, max_bytes: int, source: str, report: IngestReport) -> None:
    problems: list[list[str]] = []
    try:
        data = read_json_object(entry, max_bytes)
    except BadFile as exc:
        problems.append(["warning", str(exc)])
        data = {}
    name = entry.rel.split("/", 1)[0]
    _record_upload(conn, entry.rel, "machine", entry.digest or "", entry.size, problems, source)
    report.problems += [(entry.rel, p[0], p[1]) for p in problems]
    mid = ids.machine(conn, name)

    def text(v: Any) -> str | None:
        return None if v is None else v if isinstance(v, str) else json.dumps(v)

    gpu = next((text(data[k]) for k in GPU_FIELDS if data.get(k) not in (None, "")), None)
    conn.execute(
        sa.update(s.machines)
        .where(s.machines.c.id == mid)
        .values(info=json.dumps(data), gpu=gpu, **{k: text(data.get(k)) for k in HARDWARE_FIELDS})
    )


def _store_provenance(conn: sa.Connection, entry: FileEntry, max_bytes: int, source: str, report: IngestReport) -> None:
    problems: list[list[str]] = []
    data: dict[str, Any] | None
    try:
        data = read_json_object(entry, max_bytes)
    except BadFile as exc:
        problems.append(["warning", str(exc)])
        data = None
    upload_id = _record_upload(conn, entry.rel, "provenance", entry.digest or "", entry.size, problems, source)
    report.problems += [(entry.rel, p[0], p[1]) for p in problems]
    conn.execute(sa.delete(s.provenance).where(s.provenance.c.path == entry.rel))
    if data is not None:
        conn.execute(sa.insert(s.provenance).values(upload_id=upload_id, path=entry.rel, doc=json.dumps(data)))


def _batches(entries: Sequence[FileEntry]) -> Iterable[list[FileEntry]]:
    batch: list[FileEntry] = []
    size = 0
    for e in entries:
        batch.append(e)
        size += e.size
        if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _split_rows(table: pa.Table, file_ids: Sequence[int]) -> dict[int, pa.Table]:
    """The parsed rows of each file (rows of one file are contiguous, in file order)."""
    if table.num_rows == 0:
        return {}
    fid = table.column("file_id").to_numpy()
    out = {}
    bounds = np.flatnonzero(np.diff(fid)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(fid)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        out[int(fid[a])] = table.slice(a, b - a)
    return out


def ingest(
    engine: sa.Engine,
    results_dir: str | os.PathLike[str],
    *,
    source: str = "ingest",
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    follow_symlinks: bool = False,
    progress: TextIO | None = None,
    order: Mapping[str, int] | None = None,
    order_source: str = "date",
    on_file: Callable[[str], None] | None = None,
) -> IngestReport:
    """Store what ``results_dir`` (an asv results tree) holds that the store does not have yet.

    ``order``: {commit hash: position} from a git history or index.json (``order_source``: 'git' or
    'index.json'), recorded for the commits.
    ``progress``: a stream for the progress bar (shown only on a terminal).
    """
    started = time.perf_counter()
    report = IngestReport()
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"no results directory at {results_dir}")
    tree = scan_tree(results_dir, max_bytes=max_file_bytes, digests=True, follow_symlinks=follow_symlinks)
    report.problems += [(e.rel, "error", e.error or "") for e in tree.skipped]
    with reading(engine) as conn:
        stored = _current_digests(conn)
        ids = _Ids(conn)

    def fresh(e: FileEntry) -> bool:
        return e.error is not None or stored.get(e.rel) != e.digest

    with writing(engine) as conn:
        if tree.benchmarks is not None and fresh(tree.benchmarks):
            _store_benchmarks(conn, ids, tree.benchmarks, max_file_bytes, source, report)
        for e in tree.machines:
            if fresh(e):
                _store_machine(conn, ids, e, max_file_bytes, source, report)
        for e in tree.provenance:
            if fresh(e):
                _store_provenance(conn, e, max_file_bytes, source, report)
    todo = []
    for e in tree.results:
        if e.error is not None:
            report.refused += 1
            report.problems.append((e.rel, "error", e.error))
        elif fresh(e):
            todo.append(e)
        else:
            report.skipped += 1
    bar = Progress(len(todo), progress)
    for batch in _batches(todo):
        jobs = [(e.rel, str(e.path), e.size, i) for i, e in enumerate(batch)]
        table, records, sigs = parse_files(jobs, max_file_bytes)
        per_file = _split_rows(table, range(len(batch)))
        del table
        for i, e in enumerate(batch):
            record = records[e.rel]
            if record["digest"] and record["digest"] != e.digest:
                e.digest = record["digest"]  # changed since the scan: what was parsed is what is stored
            if not record["digest"]:
                record["digest"] = e.digest or ""
            with writing(engine) as conn:
                added = _store_result_file(conn, ids, e, record, per_file.get(i), sigs, source)
            report.results += added
            if record["meta"] is None:
                report.refused += 1
            else:
                report.stored += 1
            report.problems += [(e.rel, sev, msg) for sev, msg in record["problems"]]
            bar.update(1, added)
            if on_file is not None:
                on_file(e.rel)
    bar.close()
    if order:
        with writing(engine) as conn:
            known = [h for h in conn.execute(sa.select(s.commits.c.hash)).scalars() if h in order]
            if known:
                conn.execute(
                    sa.update(s.commits).where(s.commits.c.hash == sa.bindparam("h")).values(position=sa.bindparam("p")),
                    [{"h": h, "p": order[h]} for h in known],
                )
            _set_meta(conn, "order_source", order_source)
    report.seconds = time.perf_counter() - started
    return report


# -- one upload (the HTTP API) ------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[^/\\\x00]{1,255}")  # used with fullmatch


@dataclass
class UploadOutcome:
    """What storing one uploaded result file did: 201 stored, 200 the same content was already
    stored (nothing added), 409 other content is stored under that name, 422 the reader refused it
    (nothing stored); ``message`` is one line for the client."""

    status: int
    upload_id: int | None
    message: str
    results: int = 0


def _existing(conn: sa.Connection, path: str, digest: str) -> UploadOutcome | None:
    row = conn.execute(sa.select(s.uploads.c.id, s.uploads.c.digest).where(s.uploads.c.path == path, s.uploads.c.current.is_(True))).first()
    if row is None:
        return None
    if row.digest == digest:
        return UploadOutcome(200, int(row.id), "already stored (same content)")
    return UploadOutcome(409, int(row.id), f"{path} is stored with other content: a result file is never replaced through an upload")


def store_upload(
    engine: sa.Engine,
    machine: str,
    file_name: str,
    result: bytes,
    *,
    machine_json: bytes | None = None,
    benchmarks_json: bytes | None = None,
    source: str = "upload",
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> UploadOutcome:
    """Store one asv result file of ``machine`` (with its machine.json and benchmarks.json when given)
    in one transaction, idempotently by content; everything is read by the results reader first, and
    nothing of a file it refuses is stored."""
    if not _SAFE_NAME.fullmatch(machine) or machine.startswith("."):
        return UploadOutcome(422, None, "machine name must be a plain folder name (no '/', '\\\\' or NUL, not starting with '.')")
    if not _SAFE_NAME.fullmatch(file_name) or file_name.startswith(".") or not file_name.endswith(".json") or file_name == "machine.json":
        return UploadOutcome(422, None, "file_name must be an asv result file name such as <commit>-<env>.json")
    path = f"{machine}/{file_name}"
    digest = hashlib.sha256(result).hexdigest()
    with engine.connect() as conn:
        known = _existing(conn, path, digest)
    if known is not None:
        return known
    with tempfile.TemporaryDirectory(prefix="tensorscope-upload-") as tmp:
        root = Path(tmp)
        (root / machine).mkdir()
        (root / machine / file_name).write_bytes(result)
        extra: list[tuple[str, FileEntry]] = []
        for kind, rel, content in (
            ("machine", f"{machine}/machine.json", machine_json),
            ("benchmarks", "benchmarks.json", benchmarks_json),
        ):
            if content is None:
                continue
            (root / rel).write_bytes(content)
            e = FileEntry(rel, root / rel, size=len(content), digest=hashlib.sha256(content).hexdigest())
            try:
                doc = read_json_file(e.path, max_file_bytes)
                if not isinstance(doc, dict):
                    raise BadFile(f"expected a JSON object, found {type(doc).__name__}")
            except BadFile as exc:
                return UploadOutcome(422, None, f"{'machine.json' if kind == 'machine' else 'benchmarks.json'}: {exc}")
            extra.append((kind, e))
        table, records, sigs = parse_files([(path, str(root / machine / file_name), len(result), 0)], max_file_bytes)
        record = records[path]
        if record["meta"] is None:
            return UploadOutcome(422, None, f"{file_name}: {record['problems'][0][1] if record['problems'] else 'not readable'}")
        entry = FileEntry(path, root / machine / file_name, size=len(result), digest=digest)
        report = IngestReport()
        try:
            with writing(engine) as conn:
                if conn.dialect.name == "postgresql":
                    # one upload of a path at a time, and of the shared files it carries (every runner sends
                    # the same benchmarks.json: two first uploads would both insert it); taken in one order,
                    # so two uploads never wait for each other's locks; the checks are repeated under them
                    for key in sorted({path, *(e.rel for _, e in extra)}):
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:p))"), {"p": key})
                known = _existing(conn, path, digest)
                if known is not None:
                    return known
                ids = _Ids(conn)
                stored = _current_digests(conn)
                for kind, e in extra:
                    if stored.get(e.rel) == e.digest:
                        continue
                    if kind == "machine":
                        _store_machine(conn, ids, e, max_file_bytes, source, report)
                    else:
                        _store_benchmarks(conn, ids, e, max_file_bytes, source, report)
                added = _store_result_file(conn, ids, entry, record, table if table.num_rows else None, sigs, source)
                if record["meta"] is None:  # refused while storing (a NUL in a name): roll everything back
                    raise _Refused(record["problems"][0][1])
                upload_id = conn.execute(
                    sa.select(s.uploads.c.id).where(s.uploads.c.path == path, s.uploads.c.current.is_(True))
                ).scalar_one()
        except _Refused as exc:
            return UploadOutcome(422, None, f"{file_name}: {exc}")
        except sa.exc.IntegrityError:
            # the same path stored by a concurrent upload between the check and the write
            with engine.connect() as conn:
                known = _existing(conn, path, digest)
            if known is None:
                raise
            return known
    warnings = "; ".join(m for _, m in record["problems"])
    return UploadOutcome(201, int(upload_id), f"stored {added} results" + (f" ({warnings})" if warnings else ""), added)


class _Refused(Exception):
    pass
