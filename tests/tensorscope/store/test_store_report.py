"""``report --store`` gives the verdicts of ``report DIR`` on the same files; triage decides its exit code;
the CLI's ingest/export/triage; the embedded store under an ingest, a reader and a triage writer at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from asv_builder import SHARED_SETS, commit_date, commit_hash
from test_store_ingest import BENCH, TRACK, small_tree

from tensorscope.cli import main as cli
from tensorscope.store import ingest, load_store, open_store
from tensorscope.store import schema as s
from tensorscope.store.triage import UNTRIAGED, change_id, decisions, history, set_state, states, step_change

pytestmark = pytest.mark.xdist_group("store")
REPO = Path(__file__).resolve().parents[3]


def report_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = cli(["report", *argv, "--format", "json", "--cache-dir", "none"])
    return code, json.loads(capsys.readouterr().out)


def verdict_rows(doc: dict) -> dict[str, list[dict]]:
    """The report's verdict tables without what only a store adds (id, triage)."""
    out = {}
    for key in ("regressions", "improvements", "environment_shifts", "unstable"):
        out[key] = [{k: v for k, v in r.items() if k not in ("id", "triage")} for r in doc[key]]
    return out


def test_report_on_a_store_gives_the_verdicts_of_the_files(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = small_tree(tmp_path / "results")
    assert cli(["ingest", str(tree.root), "--store", store_url, "--quiet"]) == 0
    code_dir, from_files = report_json(capsys, str(tree.root))
    code_store, from_store = report_json(capsys, "--store", store_url)
    assert code_dir == code_store == 1
    assert from_files["regressions"], "the tree has a 2x step in effect"
    assert verdict_rows(from_files) == verdict_rows(from_store)
    assert {r["triage"] for r in from_store["regressions"]} == {UNTRIAGED}
    assert all(len(r["id"]) == 64 for r in from_store["regressions"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["uxarray-asv"])
def test_report_on_a_store_gives_the_verdicts_of_a_real_history(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not SHARED_SETS.is_dir():
        pytest.skip(f"shared asv result sets not present at {SHARED_SETS}")
    results = SHARED_SETS / name / "results"
    store = tmp_path / "store.sqlite"
    assert cli(["ingest", str(results), "--store", str(store), "--quiet"]) == 0
    capsys.readouterr()
    code_dir, from_files = report_json(capsys, str(results), "--all")
    code_store, from_store = report_json(capsys, "--store", str(store), "--all", "--include-triaged")
    assert code_dir == code_store
    assert from_files["regressions"]
    assert verdict_rows(from_files) == verdict_rows(from_store)


def test_triage_decides_the_exit_code_and_survives_new_data(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = small_tree(tmp_path / "results")
    ingest(open_store(store_url), tree.root)
    code, doc = report_json(capsys, "--store", store_url)
    assert code == 1
    ids = [r["id"] for r in doc["regressions"]]
    for i, change in enumerate(ids):
        argv = ["triage", "set", change[:10], "investigating", "--note", f"look {i}", "--who", "ana", "--store", store_url]
        assert cli(argv) == 0
    capsys.readouterr()
    code, doc = report_json(capsys, "--store", store_url)
    assert code == 0, "every regression is triaged"
    assert {r["triage"] for r in doc["regressions"]} == {"investigating"}
    code, _ = report_json(capsys, "--store", store_url, "--include-triaged")
    assert code == 1
    # new runs after the step: the verdicts are computed again, the decisions found again by id
    for i in range(10, 13):
        for machine in ("box", "arm"):
            tree.add_run(machine, commit_hash(i), {BENCH: [2e-6, float("nan"), None, 2e-3], TRACK: [10.0 + i]}, date=commit_date(i))
    engine = open_store(store_url)
    assert ingest(engine, tree.root).stored == 6
    code, doc = report_json(capsys, "--store", store_url)
    assert code == 0 and [r["id"] for r in doc["regressions"]] == ids
    # the history of one change: every decision, oldest first
    set_state(engine, step_change(doc["regressions"][0]), "fixed", link="https://example.org/pr/1", who="bo")
    past = history(engine, ids[0])
    assert [(h["state"], h["who"], h["note"]) for h in past] == [("investigating", "ana", "look 0"), ("fixed", "bo", "look 0")]
    assert past[-1]["link"] == "https://example.org/pr/1"
    assert states(engine, [ids[0], "0" * 64]) == {ids[0]: "fixed", "0" * 64: UNTRIAGED}
    assert cli(["triage", "list", "--store", store_url, "--state", "fixed", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in listed] == [ids[0]]
    engine.dispose()


def test_triage_refuses_unknown_ids_and_states(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "store.sqlite")
    ingest(open_store(store), small_tree(tmp_path / "results").root)
    assert cli(["triage", "set", "ffffffffff", "fixed", "--store", store]) == 2
    assert "no change has an id starting with 'ffffffffff'" in capsys.readouterr().err
    assert cli(["triage", "set", "abc", "fixed", "--store", store]) == 2
    assert "at least 6 characters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["triage", "set", "abcdef", "closed", "--store", store])
    with pytest.raises(ValueError, match="unknown triage state"):
        set_state(open_store(store), step_change({"machine": "m", "env": "e", "benchmark": "b", "commit_after": "c"}), "closed")
    assert decisions(open_store(store)) == []


def test_change_ids_depend_only_on_what_identifies_a_change() -> None:
    row = {"machine": "box", "env": "py3.11", "benchmark": BENCH, "params": "backend=numpy", "commit_after": commit_hash(3)}
    same = step_change({**row, "factor": 9.0, "confidence": 0.5})
    assert same.id == step_change(row).id == change_id(same)
    assert step_change({**row, "commit_after": commit_hash(4)}).id != same.id
    assert step_change({**row, "machine": "arm"}).id != same.id


def test_cli_ingest_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = small_tree(tmp_path / "results")
    (tree.root / "box" / "broken-env.json").write_text("nope", encoding="utf-8")
    store = str(tmp_path / "store.sqlite")
    assert cli(["ingest", str(tree.root), "--store", store]) == 0
    captured = capsys.readouterr()
    assert "stored 20 files (100 results" in captured.out and "refused 1" in captured.out
    assert "skipped box/broken-env.json: not valid JSON" in captured.err
    assert cli(["ingest", str(tree.root), "--store", store]) == 0
    assert "stored 0 files (0 results" in capsys.readouterr().out
    assert cli(["export", "--store", store, str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json").is_file()
    assert cli(["ingest", str(tmp_path / "missing"), "--store", store]) == 2
    assert cli(["report", str(tree.root), "--store", store]) == 2
    assert cli(["ingest", str(tree.root), "--store", "mysql://x/y"]) == 2
    assert "not supported" in capsys.readouterr().err


def test_embedded_store_takes_an_ingest_a_reader_and_a_triage_writer_at_once(tmp_path: Path) -> None:
    """Three processes on one SQLite file: an ingest (a subprocess), this process reading the store
    over and over and recording triage decisions, all without an error."""
    store = tmp_path / "store.sqlite"
    engine = open_store(store)
    first = small_tree(tmp_path / "first", commits=4)
    ingest(engine, first.root)
    big = small_tree(tmp_path / "big", commits=60)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorscope.cli", "ingest", str(big.root), "--store", str(store), "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = writes = 0
    change = step_change({"machine": "box", "env": "virtualenv-py3.11", "benchmark": BENCH, "params": "", "commit_after": commit_hash(2)})
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        rs = load_store(engine)
        assert len(rs.results) >= 8 * 5  # never a half-stored file: whole runs of 5 cells each
        assert len(rs.results) % 5 == 0
        set_state(engine, change, "acknowledged" if writes % 2 else "investigating", who="reader")
        reads += 1
        writes += 1
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert reads >= 1
    assert len(history(engine, change.id)) == writes
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(s.runs)).scalar_one() == 120
    engine.dispose()
