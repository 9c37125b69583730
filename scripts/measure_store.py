"""Measure the results store (issue #28): ingest rate, re-ingest, reading a whole store, one query, one series.

    .venv/bin/python scripts/measure_store.py [--points 1000000] [--engine sqlite|postgresql|both] [--tree DIR] [--keep]
    .venv/bin/python scripts/measure_store.py --engines          # SQLite (WAL) against DuckDB: bulk insert, scan, a reader during a write
    .venv/bin/python scripts/measure_store.py --scale 1000000,3000000   # the growth curve, both engines (one table)
    .venv/bin/python scripts/measure_store.py --api [--pushers 8] [--points 800000]   # concurrent pushers -> API -> PostgreSQL
    .venv/bin/python scripts/measure_store.py --big-file [--file-mb 250]   # peak memory of `tensorscope ingest` of one large file

Trees come from scripts/generate_results_tree.py (2 machines, 2,000 cells per result file, 10 raw
samples each; --api: one machine per pusher), written under /tmp. PostgreSQL runs as a throwaway cluster
from the installed binaries (tensorscope.store.pgcluster; fsync off, as in the tests). Honour the quiet
lock (/tmp/tensorscope-quiet). Prints one line per figure; nothing is timed inside the test suite.
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


def _tree(points: int, where: Path, machines: int = 2) -> Path:
    commits = max(1, points // (machines * CELLS_PER_FILE))
    out = where / (f"tree-{points}" if machines == 2 else f"tree-{points}-m{machines}")
    done = out.with_name(out.name + ".done")  # a tree whose generation was interrupted is made again
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "generate_results_tree.py"),
                str(out),
                "--commits",
                str(commits),
                "--machines",
                str(machines),
            ],
            check=True,
        )
        done.touch()
    return out


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str, tree: Path, label: str) -> dict[str, float]:
    """Ingest ``tree`` into the store at ``url`` twice, read it back whole, one machine and benchmark, one series."""
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
        if engine.dialect.name == "postgresql":
            size_mb = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one() / 2**20
        else:
            size_mb = sum(p.stat().st_size for p in Path(str(engine.url.database)).parent.iterdir()) / 2**20
    print(f"{label}: re-ingest of the same tree: {again.results} results added, {again.skipped} files skipped, {t_again:.2f} s "
          f"({100 * t_again / t_first:.1f}% of the first); rows in store {rows:,}; store {size_mb:,.0f} MiB")  # fmt: skip
    t = time.perf_counter()
    rs = load_store(engine)
    t_whole = time.perf_counter() - t
    print(f"{label}: whole store as a ResultSet: {len(rs.results):,} rows in {t_whole:.1f} s")
    machine = str(rs.results["machine"].iloc[0])
    bench = str(rs.results["benchmark"].iloc[0])
    del rs
    t = time.perf_counter()
    one = load_store(engine, machines=[machine], benchmarks=[bench])
    t_one = time.perf_counter() - t
    print(f"{label}: one machine and one benchmark ({len(one.results):,} rows) as a ResultSet: {1000 * t_one:.0f} ms")
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
    t_series = time.perf_counter() - t
    print(f"{label}: one series' history ({len(hist)} points): {1000 * t_series:.1f} ms")
    engine.dispose()
    return {
        "results": float(first.results),
        "ingest_s": t_first,
        "rate": first.results / t_first,
        "reingest_pct": 100 * t_again / t_first,
        "added_again": float(again.results),
        "size_mb": size_mb,
        "whole_s": t_whole,
        "one_ms": 1000 * t_one,
        "series_ms": 1000 * t_series,
    }


def scale(sizes: list[int], engine_names: list[str], keep: bool) -> None:
    """The growth curve: each size into a new store of each engine; one table, and 100M projected from the largest two."""
    from tensorscope.store.pgcluster import Cluster, find_bindir

    table: list[tuple[str, int, dict[str, float]]] = []
    cluster = Cluster().start() if "postgresql" in engine_names and find_bindir() is not None else None
    try:
        for n in sizes:
            tree = _tree(n, Path("/tmp"))
            for name in engine_names:
                if name == "postgresql" and cluster is None:
                    print("postgresql: no PostgreSQL binaries here, not measured")
                    continue
                where = Path(tempfile.mkdtemp(prefix="tensorscope-store-"))
                try:
                    url = f"sqlite:///{where / 'store.sqlite'}" if name == "sqlite" else cluster.new_database()  # type: ignore[union-attr]
                    table.append((name, n, measure(url, tree, f"{name} {n:,}")))
                finally:
                    shutil.rmtree(where, ignore_errors=True)
                    if name == "postgresql" and not keep:
                        _drop_databases(cluster)
    finally:
        if cluster is not None:
            cluster.stop()
    print(
        "\n| engine | results | ingest s | results/s | re-ingest % | store MiB | whole store s | one machine+benchmark ms | one series ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _, f in table:
        print(f"| {name} | {f['results']:,.0f} | {f['ingest_s']:.1f} | {f['rate']:,.0f} | {f['reingest_pct']:.1f} | {f['size_mb']:,.0f} "
              f"| {f['whole_s']:.1f} | {f['one_ms']:.0f} | {f['series_ms']:.1f} |")  # fmt: skip
    for name in engine_names:
        pts = [(f["results"], f) for e, _, f in table if e == name]
        if len(pts) >= 2:
            (n1, f1), (n2, f2) = pts[-2], pts[-1]
            per = (f2["ingest_s"] - f1["ingest_s"]) / (n2 - n1)  # marginal seconds per result between the largest two
            mb = (f2["size_mb"] - f1["size_mb"]) / (n2 - n1)
            print(f"{name}: projected from {n1:,.0f} and {n2:,.0f}: 100M results ingest in {(f2['ingest_s'] + per * (1e8 - n2)) / 60:,.0f} min, "
                  f"store {(f2['size_mb'] + mb * (1e8 - n2)) / 1024:,.0f} GiB (linear; marginal {1 / per:,.0f} results/s)")  # fmt: skip


def _drop_databases(cluster: object) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn:
            for (name,) in conn.exec_driver_sql("SELECT datname FROM pg_database").all():
                if name.startswith("t_"):  # Cluster.new_database's names
                    conn.exec_driver_sql(f'DROP DATABASE "{name}"')
    finally:
        engine.dispose()


def _start_server(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``tensorscope server`` on a free port of 127.0.0.1; (process, base URL) once it answers."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tensorscope.cli", "server", "--store", url, "--port", str(port)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=2):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server did not start: {log.read_text(errors='replace')[-1000:]}")


def _push_all(tree: Path, base: str, tokens: dict[str, Path]) -> tuple[float, list[str]]:
    """One ``tensorscope push`` process per machine, all at once; (seconds until the last one ends, their summary lines)."""
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tensorscope.cli", "push", str(tree), "--to", base, "--token-file", str(f), "--machine", m],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for m, f in tokens.items()
    ]
    outs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - t
    for p, out in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"a pusher failed ({p.returncode}): {out[-1000:]}")
    return seconds, [out.strip().splitlines()[-1] for out in outs]


def api(points: int, pushers: int, keep: bool) -> None:
    """``pushers`` concurrent ``tensorscope push`` processes (one machine each) into one server over PostgreSQL, then all again."""
    import sqlalchemy as sa

    from tensorscope.store import ingest, open_store
    from tensorscope.store import schema as s
    from tensorscope.store.pgcluster import Cluster
    from tensorscope.store.tokens import create

    tree = _tree(points, Path("/tmp"), machines=pushers)
    where = Path(tempfile.mkdtemp(prefix="tensorscope-api-"))
    try:
        with Cluster() as cluster:
            url = cluster.new_database()
            engine = open_store(url)
            tokens: dict[str, Path] = {}
            for m in sorted(p.name for p in tree.iterdir() if p.is_dir()):
                tokens[m] = where / f"{m}.token"
                tokens[m].write_text(create(engine, m)[1])
            proc, base = _start_server(url, where / "server.log")
            try:
                first, lines = _push_all(tree, base, tokens)
                with engine.connect() as conn:
                    rows = int(conn.execute(sa.select(sa.func.count()).select_from(s.results)).scalar_one())
                print(f"api: {pushers} pushers sent {rows:,} results in {first:.1f} s = {rows / first:,.0f} results/s ({lines[0]})")
                again, lines = _push_all(tree, base, tokens)
                with engine.connect() as conn:
                    rows_again = int(conn.execute(sa.select(sa.func.count()).select_from(s.results)).scalar_one())
                print(f"api: everything pushed again: {rows_again - rows} rows added in {again:.2f} s "
                      f"({100 * again / first:.1f}% of the first) ({lines[0]})")  # fmt: skip
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            # the same tree ingested directly into a second database: the same rows
            url2 = cluster.new_database()
            engine2 = open_store(url2)
            direct = ingest(engine2, tree)
            print(f"api: the same tree ingested directly: {direct.results:,} results (through the API: {rows:,})")
            engine.dispose()
            engine2.dispose()
    finally:
        if not keep:
            shutil.rmtree(where, ignore_errors=True)


def write_big_file(out: Path, megabytes: int) -> Path:
    """An asv results tree holding one valid result file of about ``megabytes`` MB (no raw samples, the
    densest shape: about 90 bytes per row), and its benchmarks.json and machine.json."""
    import hashlib
    import json

    import numpy as np

    done = out.with_name(out.name + ".done")
    path = out / "big" / f"{hashlib.sha1(b'big').hexdigest()[:8]}-virtualenv-py3.11.json"
    if done.exists():
        return path
    shutil.rmtree(out, ignore_errors=True)
    (out / "big").mkdir(parents=True)
    grid = [["'python'", "'numpy'", "'numba'", "'torch:cpu'"], [f"'op{i}'" for i in range(10)], ["100", "1000", "10000", "100000", "1000000"], ["'float32'", "'float64'"]]  # fmt: skip
    n = 400
    rng = np.random.default_rng(0)
    names: list[str] = []
    target = megabytes * 10**6
    with path.open("w") as f:
        head = {"commit_hash": hashlib.sha1(b"big").hexdigest(), "env_name": "virtualenv-py3.11", "date": 1700000000000,
                "params": {"machine": "big", "python": "3.11"}, "python": "3.11", "requirements": {}, "env_vars": {},
                "result_columns": ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
                                   "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"], "version": 2}  # fmt: skip
        text = json.dumps(head)
        f.write(text[:-1] + ', "results": {')
        written = len(text)
        while written < target:
            name = f"bench_big.B{len(names)}.time_op"
            v = np.exp(rng.normal(-9, 2, n))
            row = [v.tolist(), grid, "v1", 1700000000000, 1.0, (v * 0.98).tolist(), (v * 1.02).tolist(), (v * 0.99).tolist(),
                   (v * 1.01).tolist(), [1] * n, [10] * n]  # fmt: skip
            text = ("" if not names else ", ") + json.dumps(name) + ": " + json.dumps(row)
            f.write(text)
            written += len(text)
            names.append(name)
        f.write("}}")
    bench = {b: {"name": b, "params": grid, "param_names": ["backend", "op", "size", "dtype"], "type": "time", "unit": "seconds", "version": "v1"} for b in names}  # fmt: skip
    (out / "benchmarks.json").write_text(json.dumps({**bench, "version": 2}))
    (out / "big" / "machine.json").write_text(json.dumps({"machine": "big", "cpu": "x", "arch": "x86_64", "version": 1}))
    done.touch()
    return path


def big_file(megabytes: int, engine_names: list[str]) -> None:
    """Peak memory (maximum resident set, /usr/bin/time -v) of ``tensorscope ingest`` of one large result file."""
    from tensorscope.store.pgcluster import Cluster, find_bindir

    tree = Path("/tmp") / f"bigfile-{megabytes}"
    path = write_big_file(tree, megabytes)
    print(f"big file: {path.stat().st_size / 10**6:,.0f} MB ({path})")
    cluster = Cluster().start() if "postgresql" in engine_names and find_bindir() is not None else None
    where = Path(tempfile.mkdtemp(prefix="tensorscope-big-"))
    try:
        for name in engine_names:
            if name == "postgresql" and cluster is None:
                continue
            url = f"sqlite:///{where / 'store.sqlite'}" if name == "sqlite" else cluster.new_database()  # type: ignore[union-attr]
            cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "tensorscope.cli", "ingest", str(tree), "--store", url, "--quiet"]
            t = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
            seconds = time.perf_counter() - t
            rss = next((int(line.split(":")[1]) for line in out.stderr.splitlines() if "Maximum resident set size" in line), 0)
            print(f"{name}: `tensorscope ingest` of the {path.stat().st_size / 10**6:,.0f} MB file: exit {out.returncode}, {seconds:.1f} s, "
                  f"peak memory {rss / 1024:,.0f} MiB")  # fmt: skip
            if out.returncode not in (0, 1):
                print(out.stderr[-2000:])
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(where, ignore_errors=True)


def _reader(path: str, seconds: float, queue: multiprocessing.Queue) -> None:
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

        def sqlite_batch(k: int) -> None:
            con.executemany("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [(10**7 + k, 0, j, 0, 1.0, 1.0, 1.0, None, None, 1.0, 1.0, None) for j in range(2000)])  # fmt: skip
            con.commit()

        _concurrency("sqlite-wal", path, sqlite_batch)
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
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
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
    ap.add_argument("--scale", default=None, metavar="N,N,...", help="the growth curve: these result counts, each engine of --engine")
    ap.add_argument("--api", action="store_true", help="concurrent pushers through the upload API into PostgreSQL, then everything again")
    ap.add_argument("--pushers", type=int, default=8, help="pushers (machines) for --api (default 8)")
    ap.add_argument("--big-file", action="store_true", help="peak memory of ingesting one large result file (--file-mb)")
    ap.add_argument("--file-mb", type=int, default=250, help="size of --big-file's file in MB (default 250)")
    args = ap.parse_args()
    if os.path.exists("/tmp/tensorscope-quiet"):
        print("a timing run holds the quiet lock (/tmp/tensorscope-quiet): try later", file=sys.stderr)
        return 2
    if args.engines:
        engines()
        return 0
    chosen = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    if args.scale:
        scale([int(x.replace("_", "")) for x in args.scale.split(",")], chosen, args.keep)
        return 0
    if args.api:
        api(args.points, args.pushers, args.keep)
        return 0
    if args.big_file:
        big_file(args.file_mb, chosen)
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
