"""A result file stored in slices of rows (so that a large file's rows are never all Python objects at
once) reads back exactly as the files: values, statuses and raw samples across slice boundaries."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_store_ingest import assert_same_results, small_tree

from tensorscope.results import load_results
from tensorscope.store import ingest, load_store
from tensorscope.store.ingest import store_upload

pytestmark = pytest.mark.xdist_group("store")


@pytest.mark.parametrize("slice_rows", [1, 3])
def test_rows_stored_in_slices_read_back_as_the_files(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_rows: int
) -> None:
    module = importlib.import_module("tensorscope.store.ingest")  # the module ("tensorscope.store.ingest" is also the function)
    monkeypatch.setattr(module, "_INSERT_SLICE", slice_rows)  # each file holds 5 rows: slices end mid-file
    tree = small_tree(tmp_path / "results", commits=4)
    # one machine through the upload path, the other through ingest of the folder
    for path in sorted((tree.root / "box").glob("*-virtualenv-py3.11.json")):
        outcome = store_upload(
            engine,
            "box",
            path.name,
            path.read_bytes(),
            machine_json=(tree.root / "box" / "machine.json").read_bytes(),
            benchmarks_json=(tree.root / "benchmarks.json").read_bytes(),
        )
        assert outcome.status == 201 and outcome.results == 5
    report = ingest(engine, tree.root)  # arm's files, and box's provenance; box's results are there already
    assert report.results == 4 * 5
    assert_same_results(load_results(tree.root).results, load_store(engine).results)
