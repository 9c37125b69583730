"""report: the table, JSON and Markdown of a comparison; the exit code."""

from __future__ import annotations

import json

from fakes import comparison

from tensorscope.remeasure.report import render


def test_exit_code_follows_the_slower_cells() -> None:
    assert comparison((1.5, 1.0, 1.0)).exit_code == 1
    assert comparison((1.0, 1.0, 1.0)).exit_code == 0
    assert comparison((0.7, 1.0, 1.0)).exit_code == 0  # faster is not a regression


def test_table_lists_the_slower_cell_first() -> None:
    text = render(comparison((1.0, 1.5, 1.0)), "table")
    lines = text.splitlines()
    assert lines[0].startswith("tensorscope compare: A aaaaaaaa (origin/main) vs B bbbbbbbb (HEAD) on box")
    assert lines[1].split()[:4] == ["verdict", "ratio", "99.8%", "CI"]
    assert lines[2].startswith("slower") and lines[2].rstrip().endswith("bench.Suite.time_op('python')")
    assert " 1 ms  1.5 ms " in lines[2]  # the medians, formatted with their unit
    assert "3 cells: 1 slower, 2 same." in text


def test_json_has_each_cell_with_its_evidence() -> None:
    doc = json.loads(render(comparison((1.5, 1.0, 1.0)), "json"))
    assert doc["exit_code"] == 1
    assert doc["summary"]["slower"] == 1 and doc["summary"]["same"] == 2
    assert doc["a"]["commit"] == "a" * 40 and doc["b"]["name"] == "HEAD"
    first = doc["cells"][0]
    assert first["id"] == "bench.Suite.time_op('numpy')" and first["params"] == "backend='numpy'"
    assert first["verdict"] == "slower" and first["ci_low"] > 1.4
    assert first["pairs"] == len(first["orders"]) == len(first["a_values"]) == len(first["b_values"]) == 10
    assert sorted(set(first["orders"])) == ["AB", "BA"]
    assert first["looks"][0]["pairs"] == 10
    assert "Hodges-Lehmann" in doc["statistic"]


def test_markdown_shows_changes_and_folds_the_rest() -> None:
    md = render(comparison((1.5, 1.0, 1.0)), "markdown")
    assert md.startswith("### tensorscope compare: a slowdown beyond the threshold")
    changed, folded = md.split("<details><summary>2 cells within the threshold</summary>")
    assert "| **slower** | `bench.Suite.time_op('numpy')`" in changed
    assert "`bench.time_plain`" in folded and "`bench.time_plain`" not in changed
    assert "How this was measured" in md
    quiet = render(comparison((1.0, 1.0, 1.0)), "markdown")
    assert quiet.startswith("### tensorscope compare: no slowdown beyond the threshold")
