"""load_store's cache between processes: the same ResultSet as a whole read of the store, whatever was
stored since (new runs, a new machine that sorts first, a file stored again with other content, a new
commit order); only the new runs' cells read from the store; files readable by their owner only; a
damaged cache file read past."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from asv_builder import commit_date, commit_hash
from test_store_ingest import BENCH, TRACK, assert_same_results, small_tree

from tensorscope.store import ingest, load_store
from tensorscope.store import read as store_read

pytestmark = pytest.mark.xdist_group("store")


def _cells_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of cells each load_store read from the store itself (not from its cache)."""
    counts: list[int] = []
    raw = store_read._raw_table

    def counted(entries: Any, cells: Any, metas: Any, names: Any) -> Any:
        counts.append(len(cells))
        return raw(entries, cells, metas, names)

    monkeypatch.setattr(store_read, "_raw_table", counted)
    return counts


def _same(a: Any, b: Any) -> None:
    assert_same_results(a.results, b.results)
    for name in ("machines", "envs", "commits", "provenance"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.problems == b.problems


def test_the_cache_gives_a_whole_reads_answer_reading_only_what_is_new(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = small_tree(tmp_path / "results")
    ingest(engine, tree.root)
    cache = tmp_path / "cache"
    read = _cells_read(monkeypatch)
    first = load_store(engine, cache_dir=cache)
    assert read == [len(first.results)]  # 20 runs x 5 cells, from the store
    again = load_store(engine, cache_dir=cache)
    assert read[-1] == 0, "nothing new: every cell from the cache"
    _same(first, again)
    _same(load_store(engine), again)  # and it is what the store holds

    # a new commit on box, and a new machine whose folder sorts before the others
    tree.add_run("box", commit_hash(20), {BENCH: [1e-6, 1e-6, None, 2e-3], TRACK: [30.0]}, date=commit_date(20))
    tree.add_machine("aaa", cpu="Epyc")
    tree.add_run("aaa", commit_hash(3), {BENCH: [3e-6, 1e-6, None, 4e-3], TRACK: [9.0]}, date=commit_date(3), versions={BENCH: "v3"})
    ingest(engine, tree.root)
    newer = load_store(engine, cache_dir=cache)
    assert read[-1] == 10  # the two new runs' cells only
    _same(newer, load_store(engine))
    assert len(newer.results) == len(first.results) + 10

    # a file stored again with other content: its run is read again
    tree.add_run("arm", commit_hash(4), {BENCH: [5e-6, 1e-6, None, 1e-3], TRACK: [1.0]}, date=commit_date(4))
    ingest(engine, tree.root)
    replaced = load_store(engine, cache_dir=cache)
    assert read[-1] == 5
    _same(replaced, load_store(engine))

    # a commit order given at a later ingest (no new file): no cell read again, the order is the new one
    ingest(engine, tree.root, order={commit_hash(i): 100 - i for i in (*range(10), 20)}, order_source="git")
    reordered = load_store(engine, cache_dir=cache)
    assert read[-1] == 0
    _same(reordered, load_store(engine))

    # another query keeps its own answer, and gives what the same query of the store gives
    one = load_store(engine, machines=["box"], benchmarks=[BENCH], cache_dir=cache)
    assert set(one.results["machine"].astype(str)) == {"box"} and set(one.results["benchmark"].astype(str)) == {BENCH}
    _same(one, load_store(engine, machines=["box"], benchmarks=[BENCH]))
    _same(load_store(engine, cache_dir=cache), reordered)


def test_the_cache_is_private_and_a_damaged_file_is_read_past(engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = small_tree(tmp_path / "results", commits=6)
    ingest(engine, tree.root)
    cache = tmp_path / "cache"
    expected = load_store(engine, cache_dir=cache)
    files = [p for p in (cache / "store").rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"runs.json", "table.arrow"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in (cache / "store").rglob("*") if p.is_dir())
    (table,) = [p for p in files if p.name == "table.arrow"]
    table.write_bytes(table.read_bytes()[:100])  # cut short, as by a full disk
    read = _cells_read(monkeypatch)
    _same(load_store(engine, cache_dir=cache), expected)
    assert read == [len(expected.results)]  # read from the store instead
