"""Changes grouped by commit range across benchmarks and machines: the grouping, and ``report --by-commit``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from asv_builder import ResultsTree, commit_hash, one_culprit_tree

from tensorscope.analysis.commit_ranges import GROUP_COLUMNS, assign_groups, by_commit_range, summary_line
from tensorscope.cli import main as cli


def _changes(*rows: tuple[str, str, str, float, int, int]) -> pd.DataFrame:
    """(machine, benchmark, kind, factor, order_before, order_after) rows; commit i is named c<i>."""
    frame = pd.DataFrame(rows, columns=["machine", "benchmark", "kind", "factor", "order_before", "order_after"])
    frame["commit_before"] = [f"c{i}" for i in frame["order_before"]]
    frame["commit_after"] = [f"c{i}" for i in frame["order_after"]]
    return frame


def test_ranges_that_share_a_commit_form_one_group_with_their_common_range() -> None:
    # a measured commits 1 and 4, b measured 3 and 5: commit 4 may be both culprits; 3..4 is the narrowest range
    found = by_commit_range(_changes(("a", "x", "regression", 1.5, 1, 4), ("b", "x", "regression", 1.4, 3, 5)))
    assert len(found) == 1
    g = found.iloc[0]
    assert (g["commit_before"], g["commit_after"], g["regressions"], g["machines"], g["machine_names"]) == ("c3", "c4", 2, 2, "a, b")
    assert g["worst_factor"] == 1.5
    assert summary_line(g) == "c3..c4: 2 regressions on 2 machines (1 benchmark)"


def test_disjoint_ranges_are_separate_groups_newest_first() -> None:
    frame = _changes(("a", "x", "regression", 1.2, 1, 2), ("a", "y", "improvement", 0.5, 5, 6), ("b", "y", "improvement", 0.6, 4, 6))
    found = by_commit_range(frame)
    assert list(found["commit_after"]) == ["c6", "c2"]
    assert [sorted(m) for m in found["members"]] == [[1, 2], [0]]
    assert (found.iloc[0]["improvements"], found.iloc[0]["regressions"]) == (2, 0)
    assert math.isnan(found.iloc[0]["worst_factor"])  # improvements only
    assert summary_line(found.iloc[0]) == "c5..c6: 2 improvements on 2 machines (1 benchmark)"


def test_a_chain_of_overlapping_ranges_is_cut_where_no_commit_is_shared() -> None:
    # (0,3] and (2,5] share commit 3; (4,6] shares 5 with (2,5] but nothing with (0,3]: two groups, the fewest possible
    groups = assign_groups(
        _changes(("a", "x", "regression", 2.0, 0, 3), ("a", "y", "regression", 2.0, 2, 5), ("a", "z", "regression", 2.0, 4, 6))
    )
    assert groups.tolist() == [0, 0, 1]


def test_a_runner_group_counts_its_member_machines() -> None:
    frame = _changes(("pool", "x", "regression", 1.3, 1, 2), ("m3", "x", "regression", 1.3, 1, 2))
    frame["machines"] = ["m1, m2", ""]
    (g,) = by_commit_range(frame).to_dict("records")
    assert (g["machines"], g["machine_names"]) == (3, "m1, m2, m3")


def test_no_changes_no_groups() -> None:
    assert list(by_commit_range(_changes()).columns) == GROUP_COLUMNS and by_commit_range(_changes()).empty


def _report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli(["report", *argv, "--cache-dir", "none"])
    return code, capsys.readouterr().out


def test_report_groups_the_changes_by_commit_range(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    """One commit slows two benchmarks on three machines (one of which measured every other commit only);
    another speeds one benchmark up on one machine."""
    root = one_culprit_tree(results_tree).root
    code, out = _report(capsys, str(root), "--by-commit", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    first, second = doc["commit_ranges"]
    assert (first["commit_before"], first["commit_after"], first["regressions"], first["improvements"]) == (
        commit_hash(10),
        commit_hash(11),
        0,
        1,
    )
    assert (second["commit_before"], second["commit_after"]) == (commit_hash(4), commit_hash(5))  # c's range 4..6 holds 5
    assert (second["regressions"], second["machines"], second["benchmarks"]) == (5, ["a", "b", "c"], 2)
    assert second["worst_factor"] == pytest.approx(1.5, rel=0.02)
    assert sorted((c["machine"], c["benchmark"]) for c in second["changes"]) == sorted(
        (r["machine"], r["benchmark"]) for r in doc["regressions"]
    )
    assert second["untriaged"] is None  # not read from a store
    code, text = _report(capsys, str(root), "--by-commit")
    assert f"{commit_hash(4)[:8]}..{commit_hash(5)[:8]}  5            0             3         2           1.50x  a, b, c" in text
    # without --by-commit, no grouping is printed
    assert "commit_ranges" not in json.loads(_report(capsys, str(root), "--format", "json")[1])
    assert "Changes by commit range" not in _report(capsys, str(root))[1]


def test_report_by_commit_on_a_store_counts_untriaged_changes(
    results_tree: ResultsTree, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = one_culprit_tree(results_tree).root
    store = str(tmp_path / "store.sqlite")
    assert cli(["ingest", str(root), "--store", store, "--quiet"]) == 0
    doc = json.loads(_report(capsys, "--store", store, "--by-commit", "--format", "json")[1])
    culprit = doc["commit_ranges"][1]
    assert culprit["untriaged"] == 5
    assert cli(["triage", "set", culprit["changes"][0]["id"][:12], "investigating", "--who", "ana", "--store", store]) == 0
    capsys.readouterr()
    doc = json.loads(_report(capsys, "--store", store, "--by-commit", "--format", "json")[1])
    assert doc["commit_ranges"][1]["untriaged"] == 4
    assert "untriaged" in _report(capsys, "--store", store, "--by-commit")[1].split("Changes by commit range")[1].splitlines()[1]


def test_the_json_reference_lists_the_commit_range_fields(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/reference/json-output.md's ``% fields: report.commit_ranges`` table names every field printed, no more."""
    import re

    lines = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "json-output.md").read_text(encoding="utf-8").splitlines()
    at = lines.index("% fields: report.commit_ranges")
    documented: set[str] = set()
    for row in lines[at + 3 :]:
        if not row.startswith("|"):
            break
        documented |= set(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    doc = json.loads(_report(capsys, str(one_culprit_tree(results_tree).root), "--by-commit", "--format", "json")[1])
    assert set().union(*(g.keys() for g in doc["commit_ranges"])) == documented


def test_report_in_markdown_has_the_same_rows_as_tables(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    root = one_culprit_tree(results_tree).root
    code, text = _report(capsys, str(root), "--by-commit", "--format", "markdown")
    assert code == 1
    assert "### Regressions in effect beyond 5% (5)" in text and "### Improvements in effect beyond 5% (1)" in text
    culprit = f"| {commit_hash(4)[:8]}..{commit_hash(5)[:8]} | 5 | 0 | 3 | 2 | 1.50x | a, b, c |"
    assert culprit in text.splitlines()
    assert "**Environment shifts beyond 5% (the machine's, not the code's)**: none" in text
    # names from result files are text in Markdown: no tag, emphasis, table cell or terminal escape acts
    from tensorscope.report import _md_cell

    assert (
        _md_cell("<img src=x onerror=alert(1)>|*a*_b_\x1b[31m") == "&lt;img src=x onerror=alert(1)&gt;\\|\\*a\\*\\_b\\_\\\\x1b\\[31m"
    )  # printable's \\x1b, its backslash escaped
