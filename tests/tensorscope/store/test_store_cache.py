"""load_store's cache between processes: the same ResultSet as a read of the store, a new upload (or a new
commit order) read anew, files readable by their owner only, a damaged cache file read past."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from asv_builder import commit_date, commit_hash
from test_store_ingest import BENCH, TRACK, assert_same_results, small_tree

from tensorscope.store import ingest, load_store
from tensorscope.store import read as store_read

pytestmark = pytest.mark.xdist_group("store")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often load_store read the store itself (not its cache)."""
    calls: list[int] = []
    fetch = store_read._fetch

    def counted(*args: object) -> object:
        calls.append(1)
        return fetch(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store_read, "_fetch", counted)
    return calls


def _same(a: object, b: object) -> None:
    assert_same_results(a.results, b.results)  # type: ignore[attr-defined]
    for name in ("machines", "envs", "commits", "provenance"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.problems == b.problems  # type: ignore[attr-defined]


def test_the_cache_gives_the_stores_answer_until_the_store_receives_something(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = small_tree(tmp_path / "results")
    ingest(engine, tree.root)
    cache = tmp_path / "cache"
    calls = _counting(monkeypatch)
    first = load_store(engine, cache_dir=cache)
    again = load_store(engine, cache_dir=cache)
    assert len(calls) == 1, "the second read came from the cache"
    _same(first, again)
    _same(load_store(engine), again)  # and it is what the store holds
    assert len(calls) == 2
    one = load_store(engine, machines=["box"], benchmarks=[BENCH], cache_dir=cache)  # another query: its own entry
    assert set(one.results["machine"].astype(str)) == {"box"} and set(one.results["benchmark"].astype(str)) == {BENCH}
    assert len(calls) == 3

    # a new run: read from the store again, and the new rows are there
    tree.add_run("box", commit_hash(20), {BENCH: [1e-6, 1e-6, None, 2e-3], TRACK: [30.0]}, date=commit_date(20))
    ingest(engine, tree.root)
    newer = load_store(engine, cache_dir=cache)
    assert len(calls) == 4
    assert len(newer.results) == len(first.results) + 5
    assert commit_hash(20) in set(newer.results["commit"].astype(str))

    # a commit order given at a later ingest (no new file) changes the commits' positions: read again
    order = {commit_hash(i): 100 - i for i in (*range(10), 20)}
    ingest(engine, tree.root, order=order, order_source="git")
    reordered = load_store(engine, cache_dir=cache)
    assert len(calls) == 5
    _same(reordered, load_store(engine))


def test_the_cache_is_private_and_a_damaged_file_is_read_past(engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = small_tree(tmp_path / "results", commits=6)
    ingest(engine, tree.root)
    cache = tmp_path / "cache"
    expected = load_store(engine, cache_dir=cache)
    files = [p for p in (cache / "store").rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"parts.json", "table.arrow"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in (cache / "store").rglob("*") if p.is_dir())
    (table,) = [p for p in files if p.name == "table.arrow"]
    table.write_bytes(table.read_bytes()[:100])  # cut short, as by a full disk
    calls = _counting(monkeypatch)
    _same(load_store(engine, cache_dir=cache), expected)
    assert len(calls) == 1  # read from the store instead
