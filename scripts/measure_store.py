"""Measure the results store (issue #28): ingest rate, re-ingest, reading a whole store, one query, one series.

    .venv/bin/python scripts/measure_store.py [--points 1000000] [--engine sqlite|postgresql|both] [--tree DIR] [--keep]
    .venv/bin/python scripts/measure_store.py --engines          # SQLite (WAL) against DuckDB: bulk insert, scan, a reader during a write

Trees come from scripts/generate_results_tree.py (2 machines, 2,000 cells per result file, 10 raw
samples each), written under /tmp. PostgreSQL runs as a throwaway cluster from the installed binaries
(tensorscope.store.pgcluster; fsync off, as in the tests). Honour the quiet lock (/tmp/tensorscope-quiet).
Prints one line per figure; nothing is timed inside the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELLS_PER_FILE = 2000  # generate_results_tree.py: 4 backends x 10 ops x 5 sizes x 2 dtypes per benchmark... per file 5 benchmarks x 400


def _tree(points: int, where: Path) -> Path:
    commits = max(1, points // (2 * CELLS_PER_FILE))
    out = where / f"tree-{points}"
    if not out.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "generate_results_tree.py"), str(out), "--commits", str(commits)], check=True
        )
    return out


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str, tree: Path, label: str) -> None:
    import sqlalchemy as sa

    from tensorscope.store import ingest, load_store, open_store
    from tensorscope.store import schema as s

    engine = open_store(url)
    t = time.perf_counter()
    first = ingest(engine, tree)
    t_first = time.perf_counter() - t
    print(
        f"{label}: ingest {first.results:,} results from {first.stored} files in {t_first:.1f} s = {first.results / t_first:,.0f} results/s"
    )
    t = time.perf_counter()
    again = ingest(engine, tree)
    t_again = time.perf_counter() - t
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(s.results)).scalar_one()
    print(f"{label}: re-ingest of the same tree: {again.results} results added, {again.skipped} files skipped, {t_again:.2f} s "
          f"({100 * t_again / t_first:.1f}% of the first); rows in store {rows:,}")  # fmt: skip
    t = time.perf_counter()
    rs = load_store(engine)
    print(f"{label}: whole store as a ResultSet: {len(rs.results):,} rows in {time.perf_counter() - t:.1f} s")
    machine = str(rs.results["machine"].iloc[0])
    bench = str(rs.results["benchmark"].iloc[0])
    del rs
    t = time.perf_counter()
    one = load_store(engine, machines=[machine], benchmarks=[bench])
    print(f"{label}: one machine and one benchmark ({len(one.results):,} rows) as a ResultSet: {1000 * (time.perf_counter() - t):.0f} ms")
    # one series' history: a machine, a benchmark, one parameter combination, every run (SQL only)
    q = sa.text(
        "SELECT c.hash, r.date_ms, x.value, x.ci_99_a, x.ci_99_b FROM results x "
        "JOIN entries e ON e.run_id = x.run_id AND e.position = x.position "
        "JOIN runs r ON r.id = x.run_id JOIN machines m ON m.id = r.machine_id JOIN commits c ON c.id = r.commit_id "
        "JOIN benchmarks b ON b.id = e.benchmark_id WHERE m.name = :m AND b.name = :b AND x.combo = 7 ORDER BY r.date_ms"
    )
    with engine.connect() as conn:
        conn.execute(q, {"m": machine, "b": bench}).all()  # warm
        t = time.perf_counter()
        hist = conn.execute(q, {"m": machine, "b": bench}).all()
    print(f"{label}: one series' history ({len(hist)} points): {1000 * (time.perf_counter() - t):.1f} ms")
    engine.dispose()


def _reader(path: str, seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Count successful reads (and errors) of a store another process is writing."""
    ok = err = 0
    end = time.monotonic() + seconds
    first_error = ""
    if path.endswith(".duckdb"):
        import duckdb

        while time.monotonic() < end:
            try:
                con = duckdb.connect(path, read_only=True)
                con.execute("SELECT count(*) FROM results").fetchall()
                con.close()
                ok += 1
            except Exception as exc:
                err += 1
                first_error = first_error or str(exc).splitlines()[0][:160]
                time.sleep(0.05)
    else:
        import sqlite3

        while time.monotonic() < end:
            try:
                con = sqlite3.connect(path, timeout=0.1)
                con.execute("SELECT count(*) FROM results").fetchall()
                con.close()
                ok += 1
            except Exception as exc:
                err += 1
                first_error = first_error or str(exc)[:160]
    queue.put((ok, err, first_error))


def engines(n: int = 1_000_000) -> None:
    """SQLite in WAL mode against DuckDB on the results table's shape: bulk insert, a scan, reads during writes."""
    import sqlite3

    import numpy as np

    rng = np.random.default_rng(0)
    rows = [
        (i // 2000, (i // 400) % 5, i % 400, 0, float(v), float(v) * 0.99, float(v) * 1.01, None, None, 1.0, 10.0, None)
        for i, v in enumerate(rng.lognormal(-9, 1, n))
    ]
    ddl = (
        "CREATE TABLE results (run_id INTEGER, position INTEGER, combo INTEGER, status SMALLINT, value DOUBLE, ci_99_a DOUBLE, "
        "ci_99_b DOUBLE, q_25 DOUBLE, q_75 DOUBLE, number DOUBLE, repeat DOUBLE, samples BLOB, PRIMARY KEY (run_id, position, combo))"
    )
    where = Path(tempfile.mkdtemp(prefix="tensorscope-engines-"))
    try:
        path = str(where / "s.sqlite")
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute(ddl)
        t = time.perf_counter()
        con.executemany("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.commit()
        print(f"sqlite-wal: insert {n:,} rows in one transaction: {n / (time.perf_counter() - t):,.0f} rows/s")
        t = time.perf_counter()
        con.execute("SELECT run_id, avg(value) FROM results GROUP BY run_id").fetchall()
        print(f"sqlite-wal: scan and group {n:,} rows: {1000 * (time.perf_counter() - t):.0f} ms")
        _concurrency("sqlite-wal", path, lambda k: (con.executemany("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [(10**7 + k, 0, j, 0, 1.0, 1.0, 1.0, None, None, 1.0, 1.0, None) for j in range(2000)]), con.commit()))  # fmt: skip
        con.close()
        try:
            import duckdb
        except ImportError:
            print("duckdb: not installed (pip install duckdb to compare)")
            return
        dpath = str(where / "s.duckdb")
        dcon = duckdb.connect(dpath)
        dcon.execute(ddl)
        import pyarrow as pa

        cols = list(zip(*rows, strict=True))
        names = ["run_id", "position", "combo", "status", "value", "ci_99_a", "ci_99_b", "q_25", "q_75", "number", "repeat", "samples"]
        arrow = pa.table({k: pa.array(v, type=pa.binary() if k == "samples" else None) for k, v in zip(names, cols, strict=True)})
        t = time.perf_counter()
        dcon.register("arrow_rows", arrow)
        dcon.execute("INSERT INTO results SELECT * FROM arrow_rows")
        print(f"duckdb: insert {n:,} rows (from Arrow, its fastest path): {n / (time.perf_counter() - t):,.0f} rows/s")
        t = time.perf_counter()
        dcon.execute("SELECT run_id, avg(value) FROM results GROUP BY run_id").fetchall()
        print(f"duckdb: scan and group {n:,} rows: {1000 * (time.perf_counter() - t):.0f} ms")
        _concurrency("duckdb", dpath, lambda k: dcon.execute(f"INSERT INTO results SELECT {10**7 + k}, 0, range, 0, 1.0, 1.0, 1.0, NULL, NULL, 1.0, 1.0, NULL FROM range(2000)"))  # fmt: skip
        dcon.close()
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _concurrency(label: str, path: str, write: object) -> None:
    """A reader process reading for 3 s while this process writes batches."""
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()  # type: ignore[type-arg]
    proc = multiprocessing.get_context("spawn").Process(target=_reader, args=(path, 3.0, queue))
    proc.start()
    time.sleep(1.0)  # the reader is up
    end = time.monotonic() + 2.5
    k = 0
    while time.monotonic() < end:
        write(k)  # type: ignore[operator]
        k += 1
    ok, err, first = queue.get(timeout=30)
    proc.join()
    print(
        f"{label}: while this process wrote {k} batches, another process read {ok} times, failed {err} times"
        + (f" ({first})" if first else "")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--tree", type=Path, default=None, help="an existing results tree (default: generate one under /tmp)")
    ap.add_argument("--engines", action="store_true", help="compare SQLite (WAL) with DuckDB instead")
    ap.add_argument("--keep", action="store_true", help="keep the generated tree and stores")
    args = ap.parse_args()
    if os.path.exists("/tmp/tensorscope-quiet"):
        print("a timing run holds the quiet lock (/tmp/tensorscope-quiet): try later", file=sys.stderr)
        return 2
    if args.engines:
        engines()
        return 0
    where = Path(tempfile.mkdtemp(prefix="tensorscope-store-"))
    try:
        tree = args.tree or _tree(args.points, Path("/tmp"))
        if args.engine in ("sqlite", "both"):
            measure(f"sqlite:///{where / 'store.sqlite'}", tree, "sqlite")
            print(f"sqlite: store file {sum(p.stat().st_size for p in where.iterdir()) / 2**20:,.0f} MiB")
        if args.engine in ("postgresql", "both"):
            from tensorscope.store.pgcluster import Cluster, find_bindir

            if find_bindir() is None:
                print("postgresql: no PostgreSQL binaries here, not measured")
            else:
                with Cluster() as cluster:
                    measure(cluster.new_database(), tree, "postgresql")
        print(f"peak memory of this process: {_rss_mb():,.0f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(where, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
