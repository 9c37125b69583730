"""asv_write: timings written as asv results (API version 2) and read back by tensorscope's loader."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from fakes import comparison, toy_benchmarks

from tensorscope.remeasure.asv_write import write_results
from tensorscope.results import load_results


def _write(results: Path, side: str) -> Path | None:
    c = comparison((1.5, 1.0, 1.0))
    side_ = c.a if side == "A" else c.b
    return write_results(
        results,
        machine="box",
        commit=side_.commit,
        date=1764763200000,
        env_name=side_.env_name,
        python="3.11",
        requirements={"numpy": ""},
        env_vars={},
        outcomes=c.outcomes,
        side=side,
        benchmarks=toy_benchmarks(),
    )


def test_results_are_asv_files_the_loader_reads(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    path_a, path_b = _write(results, "A"), _write(results, "B")
    assert path_a == results / "box" / "aaaaaaaa-virtualenv-py3.11.json"
    assert path_b == results / "box" / "bbbbbbbb-virtualenv-py3.11.json"
    doc = json.loads(path_b.read_text())
    assert doc["version"] == 2 and doc["commit_hash"] == "b" * 40 and doc["env_name"] == "virtualenv-py3.11"
    assert (results / "box" / "machine.json").exists() and (results / "benchmarks.json").exists()

    rs = load_results(results)
    assert [p for p in rs.problems if p.severity == "error"] == []
    table = rs.results
    assert len(table) == 6 and set(table["status"]) == {"ok"}
    c = comparison((1.5, 1.0, 1.0))
    for outcome in c.outcomes:
        for side, commit in (("A", "a" * 40), ("B", "b" * 40)):
            values = [m.value for m in (outcome.a if side == "A" else outcome.b)]
            row = table[
                (table["commit"] == commit) & (table["benchmark"] == outcome.cell.benchmark) & (table["params"] == outcome.cell.label)
            ]
            assert len(row) == 1
            # the stored samples are the processes' values, the value their median
            assert sorted(row["samples"].iloc[0]) == sorted(values)
            assert row["value"].iloc[0] == statistics.median(values)
    assert set(table.loc[table["commit"] == "b" * 40, "params"]) == {"backend='numpy'", "backend='python'", ""}


def test_existing_files_are_never_modified(tmp_path: Path) -> None:
    results = tmp_path / "results"
    (results / "box").mkdir(parents=True)
    (results / "benchmarks.json").write_text('{"version": 2}')
    (results / "box" / "machine.json").write_text('{"machine": "box", "cpu": "theirs", "version": 1}')
    first = _write(results, "B")
    assert first is not None
    before = {p: p.read_bytes() for p in results.rglob("*.json")}
    second = _write(results, "B")
    assert second is not None and second != first
    assert second.name.startswith("bbbbbbbb-virtualenv-py3.11-tensorscope-")
    assert {p: p.read_bytes() for p in before} == before  # nothing existing was rewritten
    assert json.loads(second.read_text())["params"]["cpu"] == "theirs"  # the machine's own description
    table = load_results(results).results
    assert len(table) == 6  # two runs of the same commit: two points each
