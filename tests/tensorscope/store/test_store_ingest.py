"""The results store on both engines: schema and migrations, privacy of the embedded file, ingest by
content, export back to asv files (lossless on every shared set), and a store's ResultSet equal to the
same files read directly. PostgreSQL runs for real (a throwaway cluster, see conftest.py)."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from asv_builder import NAN, SHARED_SETS, ResultsTree, commit_date, commit_hash

from tensorscope.results import load_results
from tensorscope.store import StoreError, export, ingest, load_store, open_store, store_url
from tensorscope.store import schema as s
from tensorscope.store.engine import HEAD

pytestmark = pytest.mark.xdist_group("store")  # one worker starts the PostgreSQL cluster

BENCH = "bench_ops.Ops.time_op"
TRACK = "bench_ops.Ops.track_gflops"


def small_tree(root: Path, commits: int = 10) -> ResultsTree:
    """Two machines, a parameterized time benchmark (with NaN-skipped and null-failed cells) whose
    first cell doubles half-way (a regression in effect; 0.3% noise), a version change after the first
    commit, a track benchmark, raw samples, env vars and a provenance file."""
    tree = ResultsTree(root)
    tree.add_benchmark(BENCH, params=[["'numpy'", "'python'"], ["10", "1000"]], param_names=["backend", "size"], version="v2")
    tree.add_benchmark(TRACK, unit="GFLOP/s")
    tree.add_machine("box", cpu="Xeon", arch="x86_64", num_cpu="8", ram="32GB", gpu="NVIDIA H100")
    tree.add_machine("arm", cpu="Graviton", arch="aarch64")
    for i in range(commits):
        slow = 2.0 if i >= commits // 2 else 1.0
        noise = 1 + 0.003 * math.sin(i)
        for machine in ("box", "arm"):
            tree.add_run(
                machine,
                commit_hash(i),
                {BENCH: [1e-6 * slow * noise, NAN, None, 2e-3 * noise], TRACK: [10.0 + i]},
                date=commit_date(i),
                env_vars={"OMP_NUM_THREADS": "1"},
                versions={BENCH: "v1" if i < 1 else "v2"},
                started_at=commit_date(i) + 3_600_000,
            )
    tree.add_provenance("box", commit_hash(0), "virtualenv-py3.11", {"cpu": {"model": "Xeon"}, "numpy": "2.1"})
    return tree


def assert_same_results(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Two tidy tables hold the same rows, columns and categories (order included)."""
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        pd.testing.assert_series_equal(a[c], b[c], check_names=True, obj=c)


def row_count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# -- schema and engines ---------------------------------------------------------------------


def test_migrations_build_exactly_the_schema_module(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), s.metadata)
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert diffs == []
    assert revision == HEAD


def test_a_store_of_a_newer_schema_is_refused_with_the_reason(store_url: str) -> None:
    eng = open_store(store_url)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    eng.dispose()
    with pytest.raises(StoreError, match="newer than this tensorscope"):
        open_store(store_url)


def test_embedded_store_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "store.sqlite"
    old = os.umask(0o022)  # a permissive umask must not make the store readable by others
    try:
        eng = open_store(path)
        ingest(eng, small_tree(tmp_path / "results").root)
        with eng.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    finally:
        os.umask(old)
    assert mode == "wal"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    files = [p for p in path.parent.iterdir() if p.name.startswith("store.sqlite")]
    assert {p.name for p in files} >= {"store.sqlite", "store.sqlite-wal", "store.sqlite-shm"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p
    eng.dispose()


def test_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENSORSCOPE_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert store_url() == f"sqlite:///{tmp_path / 'data' / 'tensorscope' / 'store.sqlite'}"
    monkeypatch.setenv("TENSORSCOPE_STORE", "postgresql://u@db.example/ts")
    assert store_url() == "postgresql+psycopg://u@db.example/ts"
    assert store_url(tmp_path / "x.sqlite") == f"sqlite:///{tmp_path / 'x.sqlite'}"
    with pytest.raises(StoreError, match="mysql://"):
        store_url("mysql://u@h/db")


# -- ingest, the store's ResultSet ------------------------------------------------------------


def test_a_store_reads_back_what_the_files_hold(engine: sa.Engine, tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "results")
    report = ingest(engine, tree.root)
    assert (report.stored, report.skipped, report.refused) == (20, 0, 0)
    direct = load_results(tree.root)
    stored = load_store(engine)
    assert report.results == len(direct.results) == 20 * 5
    assert_same_results(direct.results, stored.results)
    for frame in ("machines", "envs", "commits", "provenance"):
        pd.testing.assert_frame_equal(getattr(direct, frame), getattr(stored, frame), obj=frame)
    assert stored.benchmarks == direct.benchmarks
    # hardware fields and the GPU name are columns of their own
    with engine.connect() as conn:
        box = conn.execute(sa.select(s.machines).where(s.machines.c.name == "box")).one()
    assert (box.cpu, box.arch, box.num_cpu, box.gpu) == ("Xeon", "x86_64", "8", "NVIDIA H100")


def test_ingest_is_incremental_by_content(engine: sa.Engine, tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "results")
    ingest(engine, tree.root)
    cells = row_count(engine, s.results)
    again = ingest(engine, tree.root)
    assert (again.stored, again.skipped, again.results) == (0, 20, 0)
    assert row_count(engine, s.results) == cells
    # one file changes (a benchmark fewer): only it is read, its rows replaced
    path = tree.add_run("box", commit_hash(5), {TRACK: [99.0]}, date=commit_date(5))
    changed = ingest(engine, tree.root)
    assert (changed.stored, changed.skipped, changed.results) == (1, 19, 1)
    assert row_count(engine, s.results) == cells - 4
    assert_same_results(load_results(tree.root).results, load_store(engine).results)
    with engine.connect() as conn:
        uploads = conn.execute(sa.select(s.uploads.c.current).where(s.uploads.c.path == f"box/{path.name}")).scalars().all()
    assert sorted(uploads) == [False, True]  # the ledger keeps the earlier content, no longer current


def test_a_query_fetches_one_machine_and_benchmark(engine: sa.Engine, tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "results")
    ingest(engine, tree.root)
    rs = load_store(engine, machines=["arm"], benchmarks=[TRACK])
    assert set(rs.results["machine"].astype(str)) == {"arm"}
    assert set(rs.results["benchmark"].astype(str)) == {TRACK}
    assert list(rs.results["value"]) == [10.0 + i for i in range(10)]
    recent = load_store(engine, since_ms=commit_date(8))
    assert sorted(set(recent.results["commit"].astype(str))) == sorted({commit_hash(8), commit_hash(9)})


def test_refused_files_are_problems_not_rows(engine: sa.Engine, tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "results", commits=2)
    (tree.root / "box" / "broken-env.json").write_text("{ not json", encoding="utf-8")
    (tree.root / "box" / "nul00001-env.json").write_text(
        json.dumps({**json.loads((tree.root / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json").read_text()), "env_name": "e\x00v"}),
        encoding="utf-8",
    )
    report = ingest(engine, tree.root)
    assert report.refused == 2
    messages = {(p.path, p.severity): p.message for p in load_store(engine).problems}
    assert "not valid JSON" in messages[("box/broken-env.json", "error")]
    assert "NUL character" in messages[("box/nul00001-env.json", "error")]
    assert row_count(engine, s.runs) == 4


# -- export -------------------------------------------------------------------------------


def test_export_writes_asv_files_that_ingest_to_the_same_rows(engine: sa.Engine, tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "results")
    ingest(engine, tree.root)
    out = tmp_path / "exported"
    report = export(engine, out)
    assert report.files == 1 + 2 + 1 + 20 and report.refused == []
    # asv's own layout and fields
    doc = json.loads((out / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json").read_text())
    assert doc["version"] == 2 and doc["commit_hash"] == commit_hash(0) and doc["env_vars"] == {"OMP_NUM_THREADS": "1"}
    row = dict(zip(doc["result_columns"], doc["results"][BENCH], strict=False))
    assert row["result"][0] == pytest.approx(1e-6) and np.isnan(row["result"][1]) and row["result"][2] is None
    assert row["params"] == [["'numpy'", "'python'"], ["10", "1000"]] and row["version"] == "v1"
    assert json.loads((out / "box" / "machine.json").read_text())["gpu"] == "NVIDIA H100"
    assert_same_results(load_results(tree.root).results, load_results(out).results)


SHARED_NAMES = sorted(p.name for p in SHARED_SETS.iterdir() if p.is_dir()) if SHARED_SETS.is_dir() else ["(none)"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SHARED_NAMES)
def test_ingest_export_ingest_is_lossless_on_every_shared_set(name: str, tmp_path: Path) -> None:
    lossless_round_trip(name, f"sqlite:///{tmp_path / 'first.sqlite'}", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["own-example-tinypkg", "thematrix"])
def test_ingest_export_ingest_is_lossless_through_postgresql(name: str, pg_cluster: Any, tmp_path: Path) -> None:
    lossless_round_trip(name, pg_cluster.new_database(), tmp_path)


def lossless_round_trip(name: str, url: str, tmp_path: Path) -> None:
    """A shared set ingested reads as the files; exported and ingested again, the same rows."""
    if not SHARED_SETS.is_dir():
        pytest.skip(f"shared asv result sets not present at {SHARED_SETS}")
    results = SHARED_SETS / name / "results"
    first = open_store(url)
    ingest(first, results)
    direct = load_results(results)
    stored = load_store(first)
    assert_same_results(direct.results, stored.results)
    export(first, tmp_path / "exported")
    second = open_store(tmp_path / "second.sqlite")
    report = ingest(second, tmp_path / "exported")
    assert report.results == len(direct.results)
    again = load_store(second)
    assert_same_results(stored.results.drop(columns="file"), again.results.drop(columns="file"))
    assert list(stored.results["file"]) == list(again.results["file"])
    first.dispose()
    second.dispose()


def test_the_hostile_corpus_is_stored_inert_or_refused(engine: sa.Engine, tmp_path: Path) -> None:
    """Every case of tests/hostile_corpus.py in one tree: what the reader refuses is a problem of that
    file and adds no row; names with terminal escapes, URLs and CSV formulas are stored as text; the
    store reads back the rows the files give, less the one case a store cannot keep (NUL in names)."""
    from hostile_corpus import CASES, all_cases

    root = tmp_path / "results"
    all_cases(root)
    report = ingest(engine, root)
    direct = load_results(root)
    stored = load_store(engine)
    problems = {p.path: p.message for p in stored.problems}
    refused_here = {path for path, severity, _ in report.problems if severity == "error"}
    for case in CASES:
        if case.path is not None and case.path in refused_here:
            assert case.fragment in problems.get(case.path, "") or case.fragment in dict((p, m) for p, _, m in report.problems)[case.path]
    keep = direct.results["machine"].astype(str) != "nul"
    key = ["series", "commit", "value", "status"]

    def rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
        return sorted(tuple(str(x) for x in r) for r in frame[key].itertuples(index=False))

    assert rows(direct.results[keep]) == rows(stored.results)
    assert "nul" not in set(stored.results["machine"].astype(str))
    with engine.connect() as conn:
        names = set(conn.execute(sa.select(s.benchmarks.c.name)).scalars())
    assert any("\x1b" in n for n in names)  # stored as the text it is, shown escaped by whoever prints it
