"""A :class:`~tensorscope.results.ResultSet` from a store, for the whole store or one query.

The rows come back in the shape the results reader parses files into, and go through the same
assembly (:func:`tensorscope.results.load.assemble`): the tidy table of a store is the tidy table of
the same files read directly, so every analysis gives the same verdicts on either.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from tensorscope.results.load import assemble, machines_frame, provenance_frame
from tensorscope.results.model import Problem, ResultSet

from . import schema as s
from .engine import describe, reading

_SAMPLES = pa.list_(pa.float64())


def _scan_order(path: str) -> tuple[str, ...]:
    # the results reader lists machine folders, then each folder's files, both sorted by name
    return tuple(path.split("/"))


def _dictionary(values: Sequence[str | None], codes: np.ndarray) -> pa.DictionaryArray:
    """A dictionary array of ``values[codes]`` (code -1 or a None value: null), its dictionary in order of
    first appearance, as the results reader makes it (category order follows it)."""
    index: dict[str, int] = {}
    remap = np.array([-1 if v is None else index.setdefault(v, len(index)) for v in values] + [-1], dtype=np.int64)
    rows = remap[codes]
    first, uniq = pd.factorize(rows)  # first appearance; -1 (null) stays -1
    names = list(index)
    dictionary = [names[int(u)] for u in uniq]
    return pa.DictionaryArray.from_arrays(
        pa.array(first.astype(np.int32), mask=first < 0, type=pa.int32()), pa.array(dictionary, type=pa.string())
    )


def _floats(column: Sequence[Any]) -> np.ndarray:
    return np.array(column, dtype=np.float64)  # None -> NaN


def _samples(column: Sequence[bytes | None]) -> pa.Array:
    """Little-endian float64 bytes per row (None: no samples) as an Arrow list array."""
    if not column:
        return pa.array([], type=_SAMPLES)
    valid = np.array([b is not None for b in column], dtype=bool)
    if not valid.any():
        return pa.nulls(len(column), type=_SAMPLES)
    lengths = np.array([0 if b is None else len(b) // 8 for b in column], dtype=np.int32)
    offsets = np.zeros(len(column) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.frombuffer(b"".join(b for b in column if b is not None), dtype="<f8").astype(np.float64, copy=False)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.float64()), mask=pa.array(~valid))


# Bump when what the cache keeps changes shape: older cache files are then never read.
CACHE_VERSION = 2


def load_store(
    engine: sa.Engine,
    *,
    machines: Sequence[str] | None = None,
    benchmarks: Sequence[str] | None = None,
    since_ms: float | None = None,
    until_ms: float | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ResultSet:
    """The results of the store (or of the given machines, benchmark names, and runs dated in
    [``since_ms``, ``until_ms``]) as a :class:`ResultSet`, with the problems its files had.

    ``cache_dir``: keep the cells read there (an Arrow file and a JSON file, readable by their owner
    only; no pickle), one answer per store and query. A later call reads from the store only the cells
    of runs stored since (or stored again with other content), and the small tables (runs, machines,
    commits and their order, benchmarks, problems) always.
    """
    with reading(engine) as conn:
        key = _cache_key(engine, machines, benchmarks, since_ms, until_ms) if cache_dir is not None else None
        reuse = _read_cache(Path(cache_dir), key) if cache_dir is not None and key is not None else None
        parts = _fetch(conn, machines, benchmarks, since_ms, until_ms, reuse=reuse)
    if cache_dir is not None and key is not None and (reuse is None or reuse["runs"] != parts["runs"]):
        _write_cache(Path(cache_dir), key, parts)
    return _assemble(engine, parts)


def _cache_key(
    engine: sa.Engine,
    machine_names: Sequence[str] | None,
    benchmark_names: Sequence[str] | None,
    since_ms: float | None,
    until_ms: float | None,
) -> str:
    """A digest of the store (its URL, password hidden) and the query."""
    query = [sorted(machine_names) if machine_names is not None else None, sorted(benchmark_names) if benchmark_names is not None else None]
    text = json.dumps([CACHE_VERSION, describe(str(engine.url)), query, since_ms, until_ms], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _read_cache(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """What :func:`_write_cache` kept under ``key`` (None: nothing, or a file that cannot be read whole)."""
    folder = cache_dir / "store" / key
    try:
        doc = json.loads((folder / "runs.json").read_text(encoding="utf-8"))
        with pa.memory_map(str(folder / "table.arrow")) as source:
            table = pa.ipc.open_file(source).read_all()
    except (OSError, ValueError, pa.ArrowException):
        return None
    if not isinstance(doc, dict) or doc.get("version") != CACHE_VERSION or doc.get("key") != key:
        return None
    try:
        runs = {int(k): [int(v[0]), [int(g) for g in v[1]]] for k, v in doc["runs"].items()}
        grid_ids = [int(g) for g in doc["grid_ids"]]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
    return {"table": table, "grid_ids": grid_ids, "runs": runs}


def _write_cache(cache_dir: Path, key: str, parts: dict[str, Any]) -> None:
    """Keep the cells of ``parts`` under ``key``: written to a temporary folder and renamed over the older
    answer, so a reader sees all or nothing. A cache that cannot be written is skipped (the next call reads
    the store)."""
    import shutil
    import tempfile

    root = cache_dir / "store"
    tmp: Path | None = None
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))  # mode 0700
        doc = {"version": CACHE_VERSION, "key": key, "grid_ids": parts["grid_ids"], "runs": {str(k): v for k, v in parts["runs"].items()}}
        (tmp / "runs.json").write_text(json.dumps(doc), encoding="utf-8")
        with pa.OSFile(str(tmp / "table.arrow"), "wb") as sink, pa.ipc.new_file(sink, parts["table"].schema) as writer:
            writer.write_table(parts["table"])
        for written in tmp.iterdir():
            written.chmod(0o600)  # the store's data: its owner's only, as the embedded store's own files
        target = root / key
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError, pa.ArrowException):
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _assemble(engine: sa.Engine, parts: dict[str, Any]) -> ResultSet:
    problems = list(parts["problems"])
    metas = parts["metas"]
    machines_table = machines_frame(parts["machine_docs"], metas, problems)
    provenance_table = provenance_frame(parts["prov_docs"], metas, problems)
    rs = assemble(
        [parts["table"]],
        metas,
        parts["sigs"],
        parts["benchmarks"],
        machines_table,
        provenance_table,
        parts["order_ref"],
        parts["order_source"],
        problems,
        Path(describe(str(engine.url))),
    )
    rs.stats = {"files": len(metas), "parsed": 0, "rows": len(rs.results), "store": describe(str(engine.url))}
    return rs


def _fetch(
    conn: sa.Connection,
    machine_names: Sequence[str] | None,
    benchmark_names: Sequence[str] | None,
    since_ms: float | None,
    until_ms: float | None,
    reuse: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a query of the store reads: the inputs of the results reader's assembly.

    ``reuse``: an earlier answer to the same query (from the cache): the cells of its runs that are still
    stored with the same upload are taken from it, only the other runs' cells are read from the store.
    """
    m, e, c, r = s.machines, s.environments, s.commits, s.runs
    q = (
        sa.select(
            r.c.id,
            r.c.upload_id,
            r.c.path,
            m.c.name.label("machine"),
            e.c.name.label("env"),
            c.c.hash,
            r.c.date_ms,
            r.c.python,
            r.c.params,
            r.c.env_vars,
            r.c.requirements,
            r.c.durations,
        )
        .join(m, m.c.id == r.c.machine_id)
        .join(e, e.c.id == r.c.environment_id)
        .join(c, c.c.id == r.c.commit_id)
    )
    if machine_names is not None:
        q = q.where(m.c.name.in_(list(machine_names)))
    if since_ms is not None:
        q = q.where(r.c.date_ms >= since_ms)
    if until_ms is not None:
        q = q.where(r.c.date_ms <= until_ms)
    metas: dict[int, dict[str, Any]] = {}
    uploads: dict[int, int] = {}  # run id -> the upload it came from (a run replaced by new content: a new upload)
    for row in conn.execute(q):
        uploads[int(row.id)] = int(row.upload_id)
        metas[int(row.id)] = {
            "commit": row.hash,
            "env": row.env,
            "date": row.date_ms,
            "params": json.loads(row.params),
            "python": row.python,
            "env_vars": json.loads(row.env_vars),
            "requirements": json.loads(row.requirements),
            "durations": json.loads(row.durations),
            "machine": row.machine,
            "rel": row.path,
        }
    bench_ids: list[int] | None = None
    bench_rows = list(conn.execute(sa.select(s.benchmarks.c.id, s.benchmarks.c.name, s.benchmarks.c.spec)))
    names = {int(b.id): b.name for b in bench_rows}
    if benchmark_names is not None:
        wanted = set(benchmark_names)
        bench_ids = [i for i, n in names.items() if n in wanted]
    grids = {int(g.id): g.grid for g in conn.execute(sa.select(s.grids.c.id, s.grids.c.grid))}

    # entries (one per run and benchmark), then the cells
    eq = sa.select(
        s.entries.c.run_id,
        s.entries.c.position,
        s.entries.c.benchmark_id,
        s.entries.c.grid_id,
        s.entries.c.version,
        s.entries.c.started_at_ms,
        s.entries.c.duration_s,
    )
    rq = sa.select(
        s.results.c.run_id, s.results.c.position, s.results.c.combo, s.results.c.status,
        s.results.c.value, s.results.c.ci_99_a, s.results.c.ci_99_b, s.results.c.q_25, s.results.c.q_75, s.results.c.number, s.results.c.repeat,
        s.results.c.samples,
    )  # fmt: skip
    old_runs = {int(k): v for k, v in (reuse or {}).get("runs", {}).items()}
    kept = {rid for rid, upload in uploads.items() if old_runs.get(rid, (None,))[0] == upload}
    fresh = [rid for rid in metas if rid not in kept]
    if reuse is not None or machine_names is not None or since_ms is not None or until_ms is not None:
        eq = eq.where(s.entries.c.run_id.in_(fresh))
        rq = rq.where(s.results.c.run_id.in_(fresh))
    if bench_ids is not None:
        eq = eq.where(s.entries.c.benchmark_id.in_(bench_ids))
        rq = rq.join(s.entries, sa.and_(s.entries.c.run_id == s.results.c.run_id, s.entries.c.position == s.results.c.position)).where(
            s.entries.c.benchmark_id.in_(bench_ids)
        )
    entries = conn.execute(eq).all() if fresh else []
    cells = conn.execute(rq).all() if fresh else []
    new_table, new_grids = _raw_table(entries, cells, {rid: metas[rid] for rid in fresh}, names)
    # each run's grids (its entries'), so that the sigs of a merged answer are those a whole read gives
    run_grids = {rid: old_runs[rid][1] for rid in kept}
    for x in entries:
        run_grids.setdefault(int(x[0]), [])
    for x in entries:
        if int(x[3]) not in run_grids[int(x[0])]:
            run_grids[int(x[0])].append(int(x[3]))
    if reuse is not None and not fresh and set(old_runs) == kept:
        table, grid_ids = reuse["table"], list(reuse["grid_ids"])  # nothing changed
    elif reuse is not None and kept:
        table, grid_ids = _merge(reuse["table"], list(reuse["grid_ids"]), kept, new_table, new_grids, metas, run_grids)
    else:
        table, grid_ids = new_table, new_grids
    sigs = [grids[g] for g in grid_ids]

    problems = _problems(conn, set(metas), machine_names)
    benchmarks = {b.name: json.loads(b.spec) for b in bench_rows if b.spec is not None}
    machine_docs = [
        (f"{row.name}/machine.json", json.loads(row.info))
        for row in conn.execute(sa.select(m.c.name, m.c.info).where(m.c.info.is_not(None)).order_by(m.c.name))
        if machine_names is None or row.name in machine_names
    ]
    prov_docs = [
        (row.path, json.loads(row.doc))
        for row in conn.execute(sa.select(s.provenance.c.path, s.provenance.c.doc))
        if machine_names is None or row.path.split("/", 1)[0] in machine_names
    ]
    prov_docs.sort(key=lambda d: _scan_order(d[0]))
    order_ref = {row.hash: int(row.position) for row in conn.execute(sa.select(c.c.hash, c.c.position).where(c.c.position.is_not(None)))}
    order_source = conn.execute(sa.select(s.meta.c.value).where(s.meta.c.key == "order_source")).scalar() or "date"
    return {
        "table": table,
        "sigs": sigs,
        "grid_ids": grid_ids,
        "runs": {rid: [uploads[rid], sorted(run_grids.get(rid, []))] for rid in metas},
        "metas": metas,
        "benchmarks": benchmarks,
        "machine_docs": machine_docs,
        "prov_docs": prov_docs,
        "order_ref": order_ref,
        "order_source": order_source,
        "problems": problems,
    }


def _merge(
    old: pa.Table,
    old_grids: list[int],
    kept: set[int],
    new: pa.Table,
    new_grids: list[int],
    metas: dict[int, dict[str, Any]],
    run_grids: dict[int, list[int]],
) -> tuple[pa.Table, list[int]]:
    """The raw table of a whole read, from an earlier one's rows of the ``kept`` runs and the ``new`` rows:
    files in the reader's order, each file's rows in their own order, dictionaries in order of first
    appearance, ``sig`` numbering the sorted grid ids of the runs' entries (as :func:`_raw_table` makes them)."""
    grid_ids = sorted({g for rid in metas for g in run_grids.get(rid, [])})
    index = {g: i for i, g in enumerate(grid_ids)}
    parts = []
    for table, grids in ((old.filter(pc.is_in(old["file_id"], value_set=pa.array(sorted(kept), pa.int32()))), old_grids), (new, new_grids)):
        if not len(table):
            continue
        remap = np.array([index[g] for g in grids], dtype=np.int32)
        columns = {name: table[name] for name in table.column_names}
        columns["sig"] = pa.array(remap[table["sig"].to_numpy()], type=pa.int32())
        for name in ("benchmark", "version"):
            columns[name] = columns[name].cast(pa.string())
        parts.append(pa.table(columns))
    if not parts:
        return new, grid_ids
    merged = pa.concat_tables(parts)
    rank = {rid: k for k, rid in enumerate(sorted(metas, key=lambda rid: _scan_order(metas[rid]["rel"])))}
    ranks = np.array([rank[int(f)] for f in merged["file_id"].to_numpy()], dtype=np.int64)
    merged = merged.take(pa.array(np.argsort(ranks, kind="stable")))
    for name in ("benchmark", "version"):  # dictionaries in order of first appearance, as a whole read has them
        encoded = pc.dictionary_encode(merged[name].combine_chunks())
        merged = merged.set_column(merged.schema.get_field_index(name), name, encoded)
    return merged.combine_chunks(), grid_ids


def _raw_table(
    entries: Sequence[Any], cells: Sequence[Any], metas: dict[int, dict[str, Any]], names: dict[int, str]
) -> tuple[pa.Table, list[int]]:
    """The cells in the results reader's raw layout (tensorscope.results.parse.RawColumns), files in the reader's order,
    and the store's grid ids that its ``sig`` column numbers (0, 1, ...)."""
    # file order as the reader scans a tree; within a file, benchmarks in file order, combinations ascending
    rank = {rid: k for k, rid in enumerate(sorted(metas, key=lambda rid: _scan_order(metas[rid]["rel"])))}
    if not cells:
        from tensorscope.results.parse import RawColumns

        return RawColumns().table(), []
    run_e = np.array([x[0] for x in entries], dtype=np.int64)
    pos_e = np.array([x[1] for x in entries], dtype=np.int64)
    # one key per entry: (run rank, position) packed into one int64
    width = int(pos_e.max(initial=0)) + 1
    rank_of = np.vectorize(rank.__getitem__, otypes=[np.int64])
    ekey = rank_of(run_e) * width + pos_e
    eorder = np.argsort(ekey)
    ekey_sorted = ekey[eorder]

    cells = [c for c in cells if c[0] in rank]  # (one snapshot: always all of them)
    if not cells:
        from tensorscope.results.parse import RawColumns

        return RawColumns().table(), []
    cols = list(zip(*cells, strict=True))
    run_c = np.array(cols[0], dtype=np.int64)
    pos_c = np.array(cols[1], dtype=np.int64)
    combo = np.array(cols[2], dtype=np.int64)
    ckey = rank_of(run_c) * width + pos_c
    order = np.lexsort((combo, ckey))
    at = eorder[np.searchsorted(ekey_sorted, ckey[order])]  # each cell's entry

    bench_e = np.array([x[2] for x in entries], dtype=np.int64)
    grid_e = np.array([x[3] for x in entries], dtype=np.int64)
    grid_ids = sorted(set(grid_e.tolist()))
    sig_of = {g: i for i, g in enumerate(grid_ids)}
    bench_ids = sorted(set(bench_e.tolist()))
    bench_code = {b: i for i, b in enumerate(bench_ids)}
    versions = [x[4] for x in entries]
    vindex: dict[str, int] = {}
    vcode_e = np.array([-1 if v is None else vindex.setdefault(v, len(vindex)) for v in versions], dtype=np.int64)
    started_e = _floats([x[5] for x in entries])
    duration_e = _floats([x[6] for x in entries])

    def take(values: Sequence[Any]) -> np.ndarray:
        return _floats(values)[order]

    samples = [cols[11][i] for i in order.tolist()]
    table = pa.table(
        {
            "file_id": pa.array(run_c[order].astype(np.int32)),
            "benchmark": _dictionary(
                [names[b] for b in bench_ids], np.array([bench_code[b] for b in bench_e.tolist()], dtype=np.int64)[at]
            ),
            "version": _dictionary(list(vindex), vcode_e[at]),
            "sig": pa.array(np.array([sig_of[g] for g in grid_e.tolist()], dtype=np.int32)[at]),
            "combo": pa.array(combo[order].astype(np.int32)),
            "started_at": pa.array(started_e[at]),
            "duration": pa.array(duration_e[at]),
            "value": pa.array(take(cols[4])),
            "ci_99_a": pa.array(take(cols[5])),
            "ci_99_b": pa.array(take(cols[6])),
            "q_25": pa.array(take(cols[7])),
            "q_75": pa.array(take(cols[8])),
            "number": pa.array(take(cols[9])),
            "repeat": pa.array(take(cols[10])),
            "status": pa.array(np.array(cols[3], dtype=np.int8)[order]),
            "samples": _samples(samples),
        }
    )
    return table, grid_ids


def _problems(conn: sa.Connection, run_ids: set[int], machine_names: Sequence[str] | None) -> list[Problem]:
    """The problems the reader found in the store's current files (those of the chosen machines)."""
    out: list[Problem] = []
    has_benchmarks = False
    rows = conn.execute(sa.select(s.uploads.c.path, s.uploads.c.kind, s.uploads.c.problems).where(s.uploads.c.current.is_(True))).all()
    for row in sorted(rows, key=lambda r: _scan_order(r.path)):
        if row.kind == "benchmarks":
            has_benchmarks = True
        elif machine_names is not None and row.path.split("/", 1)[0] not in machine_names:
            continue
        for severity, message in json.loads(row.problems):
            out.append(Problem(row.path, message, severity))
    if not has_benchmarks:
        out.insert(0, Problem("benchmarks.json", "missing: units and parameter names are guessed from the results", "warning"))
    return out
