"""The dashboard on a results store (SQLite and a real PostgreSQL cluster), and triage on the Regressions page:
recorded in the store with its history, the same ids as ``report --store``, kept when new data is analysed;
on a plain results folder, decisions go to the embedded store, which only a decision creates."""

from __future__ import annotations

import argparse
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from asv_builder import ResultsTree, commit_date, commit_hash, one_culprit_tree
from test_app import ELEMENTWISE, MATMUL, N_COMMITS, PAGES, STEP_AT, build_tree, run_page

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from tensorscope import serve
from tensorscope.cli import main as cli
from tensorscope.store import default_store_path, open_store
from tensorscope.store.pgcluster import Cluster, find_bindir
from tensorscope.store.triage import decisions, history

pytestmark = pytest.mark.xdist_group("store")

STEPPED = f"virtualenv-py3.11-TENSORSCOPE_SIMDon|{ELEMENTWISE}|backend='numpy', op='exp', size=1000, dtype='float64'"


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    if find_bindir() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine: install PostgreSQL (Debian: postgresql) or set PG_BINDIR")
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def _private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store and caches under tmp_path; no results folder or store from the caller's environment."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ("TENSORSCOPE_STORE", "TENSORSCOPE_RESULTS_DIR", "TENSORSCOPE_CACHE_DIR", "TENSORSCOPE_REPO"):
        monkeypatch.delenv(name, raising=False)


def _ingest(root: Path, url: str) -> None:
    assert cli(["ingest", str(root), "--store", url, "--quiet"]) == 0


def _change_options(at: AppTest) -> list[str]:
    return list(at.selectbox(key="change").options)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'store.sqlite'}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


def test_every_page_runs_on_a_store_and_shows_what_the_folder_shows(
    store: str, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_tree(results_tree)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(root))
    from_folder = run_page("regressions", {"kind": "both", "min": "0"})
    _ingest(root, store)
    monkeypatch.delenv("TENSORSCOPE_RESULTS_DIR")
    monkeypatch.setenv("TENSORSCOPE_STORE", store)
    from_store = run_page("regressions", {"kind": "both", "min": "0"})
    assert _change_options(from_store) == _change_options(from_folder)
    assert any(o.startswith("box|" + STEPPED) for o in _change_options(from_store))
    assert [c.value for c in from_store.sidebar.caption][-1] == [c.value for c in from_folder.sidebar.caption][
        -1
    ]  # rows, machines, commits
    assert any("Results store" in c.value for c in from_store.sidebar.caption)
    # the unreadable file the folder holds is listed from the store's record of it
    assert any("deadbeef-broken.json" in w.value for w in from_store.warning)
    for page in PAGES:
        run_page(page)  # raises on an exception in the page


def test_the_dashboard_sees_new_data_in_a_store_on_the_next_rerun(
    tmp_path: Path, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_tree(results_tree)
    url = str(tmp_path / "store.sqlite")
    _ingest(root, url)
    monkeypatch.setenv("TENSORSCOPE_STORE", url)
    before = [c.value for c in run_page("overview").sidebar.caption][-1]
    results_tree.add_run("box", commit_hash(N_COMMITS), {MATMUL: [1e-3] * 4}, date=commit_date(N_COMMITS))
    _ingest(root, url)
    after = [c.value for c in run_page("overview").sidebar.caption][-1]
    assert int(after.split()[0].replace(",", "")) == int(before.split()[0].replace(",", "")) + 4, (before, after)


def _decide(at: AppTest, key: str, state: str, who: str, note: str = "", link: str = "") -> AppTest:
    at.selectbox(key=f"triage_{key}_state").set_value(state)
    at.text_input(key=f"triage_{key}_who").input(who)
    if note:
        at.text_input(key=f"triage_{key}_note").input(note)
    if link:
        at.text_input(key=f"triage_{key}_link").input(link)
    at.button(key=f"triage_{key}_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _changes_table(at: AppTest):
    return next(d.value for d in at.dataframe if "triage" in d.value.columns and "factor" in d.value.columns)


def _served_store(url: str, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The suite's tree ingested into the store at ``url``, which the dashboard reads; (the tree, the page's
    name of the stepped numpy exp change on "box")."""
    root = build_tree(results_tree)
    _ingest(root, url)
    monkeypatch.setenv("TENSORSCOPE_STORE", url)
    return root, next(o for o in _change_options(run_page("regressions")) if o.startswith("box|" + STEPPED))


def test_triage_on_the_regressions_page_is_kept_with_its_history_and_survives_new_data(
    store: str, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = store
    root, chosen = _served_store(url, results_tree, monkeypatch)
    at = run_page("regressions", {"change": chosen})
    assert set(_changes_table(at)["triage"]) == {"untriaged"}
    at = _decide(at, "step", "investigating", "ana", note="looking at the exp kernel", link="https://example.org/issues/7")
    assert any("investigating by ana" in s.value for s in at.success)

    engine = open_store(url)
    try:
        (decided,) = decisions(engine)
        assert (decided.state, decided.who, decided.note, decided.link) == (
            "investigating",
            "ana",
            "looking at the exp kernel",
            "https://example.org/issues/7",
        )
        assert (decided.change.machine, decided.change.commit) == ("box", commit_hash(STEP_AT))
        # the id the page recorded is the one report --store prints for that regression
        assert cli(["report", "--store", url, "--format", "json", "--cache-dir", "none"]) == 1
        doc = json.loads(capsys.readouterr().out)
        by_id = {r["id"]: r for r in doc["regressions"]}
        assert by_id[decided.id]["triage"] == "investigating"
        assert by_id[decided.id]["params"] == "backend='numpy', op='exp', size=1000, dtype='float64'"

        # a second decision with no note or link keeps them; both are in the history, newest shown
        at = run_page("regressions", {"change": chosen})
        at = _decide(at, "step", "expected", "bo")
        assert [(h["state"], h["who"], h["note"]) for h in history(engine, decided.id)] == [
            ("investigating", "ana", "looking at the exp kernel"),
            ("expected", "bo", "looking at the exp kernel"),
        ]
        past = next(d.value for d in at.dataframe if list(d.value.columns[:2]) == ["state", "note"])
        assert list(past["state"]) == ["expected", "investigating"]

        # new data: the analysis runs again on more commits, the change keeps its decision
        for i in (N_COMMITS, N_COMMITS + 1):
            results_tree.add_run("box", commit_hash(i), {MATMUL: [1e-3] * 4}, date=commit_date(i))
        _ingest(root, url)
        at = run_page("regressions", {"change": chosen})
        table = _changes_table(at)
        states = dict(zip(table["machine"] + "|" + table["params"], table["triage"], strict=True))
        assert states["box|backend='numpy', op='exp', size=1000, dtype='float64'"] == "expected"
        assert states["box|backend='numpy', op='exp', size=100000, dtype='float64'"] == "untriaged"
        only = run_page("regressions", {"triage": "expected"})
        assert list(_changes_table(only)["params"]) == ["backend='numpy', op='exp', size=1000, dtype='float64'"]
    finally:
        engine.dispose()


def test_a_decision_needs_who_made_it_and_nothing_is_stored_without(
    tmp_path: Path, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path / "store.sqlite")
    _, chosen = _served_store(url, results_tree, monkeypatch)
    at = _decide(run_page("regressions", {"change": chosen}), "step", "fixed", "   ")
    assert any("Say who decided" in e.value for e in at.error)
    engine = open_store(url)
    try:
        assert decisions(engine) == []
    finally:
        engine.dispose()


def test_triage_on_a_folder_goes_to_the_embedded_store_that_only_a_decision_creates(
    tmp_path: Path, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_tree(results_tree)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(root))
    chosen = next(o for o in _change_options(run_page("regressions")) if o.startswith("box|" + STEPPED))
    at = run_page("regressions", {"change": chosen})
    path = default_store_path()
    assert str(path).startswith(str(tmp_path))
    assert not path.exists(), "reading a folder writes nothing"
    at = _decide(at, "step", "acknowledged", "cy")
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    engine = open_store(path)
    try:
        assert [(d.state, d.who, d.change.machine) for d in decisions(engine)] == [("acknowledged", "cy", "box")]
    finally:
        engine.dispose()
    table = _changes_table(run_page("regressions", {"change": chosen}))
    assert sorted(table["triage"]) == ["acknowledged"] + ["untriaged"] * (len(table) - 1)
    # TENSORSCOPE_STORE names where a folder's decisions go
    other = tmp_path / "team.sqlite"
    monkeypatch.setenv("TENSORSCOPE_STORE", str(other))
    assert set(_changes_table(run_page("regressions", {"change": chosen}))["triage"]) == {"untriaged"}
    _decide(run_page("regressions", {"change": chosen}), "step", "wontfix", "dee")
    engine = open_store(other)
    try:
        assert [d.state for d in decisions(engine)] == ["wontfix"]
    finally:
        engine.dispose()


def test_environment_shifts_are_triaged_on_the_page(tmp_path: Path, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every series of one machine 30% slower from one run on (a new runner): one environment shift, triaged like a change."""
    tree = results_tree
    names = [f"bench_{c}.{c.upper()}.time_x" for c in "abcdef"]
    for name in names:
        tree.add_benchmark(name, params=[["1", "2"]], param_names=["n"])
    rng = np.random.default_rng(2)
    for i in range(16):
        env = 1.3 if i >= 8 else 1.0
        results = {name: [float(1e-3 * (k + 1) * j * env * np.exp(rng.normal(0.0, 0.004))) for j in (1, 2)] for k, name in enumerate(names)}
        tree.add_run("m", commit_hash(i), results, date=commit_date(i), started_at=commit_date(i) + 3_600_000)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(tree.root))
    monkeypatch.setenv("TENSORSCOPE_STORE", str(tmp_path / "s.sqlite"))
    at = run_page("regressions")
    options = list(at.selectbox(key="shift").options)
    assert len(options) == 1 and options[0].startswith("m · ")
    _decide(at, "shift", "invalid", "eve", note="new kernel on the runner")
    engine = open_store(tmp_path / "s.sqlite")
    try:
        (d,) = decisions(engine)
        assert (d.change.kind, d.change.machine, d.state, d.note) == ("environment", "m", "invalid", "new kernel on the runner")
    finally:
        engine.dispose()
    shifts = next(x.value for x in run_page("regressions").dataframe if "tested" in x.value.columns)
    assert list(shifts["triage"]) == ["invalid"]


def test_the_regressions_page_groups_changes_by_commit_range(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """One commit slows two benchmarks on three machines (one measured every other commit only); another speeds one up."""
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(one_culprit_tree(results_tree).root))
    query = {"view": "by commit range", "kind": "both"}
    ranges = next(d.value for d in run_page("regressions", query).dataframe if "range" in d.value.columns)
    culprit = f"{commit_hash(4)[:8]}..{commit_hash(5)[:8]}"
    assert list(ranges["range"]) == [f"{commit_hash(10)[:8]}..{commit_hash(11)[:8]}", culprit]
    assert list(ranges["regressions"]) == [0, 5] and list(ranges["improvements"]) == [1, 0]
    assert list(ranges["machines"]) == [1, 3] and list(ranges["untriaged"]) == [1, 5]
    at = run_page("regressions", {**query, "range": culprit})
    table = _changes_table(at)
    assert len(table) == 5 and set(table["machine"]) == {"a", "b", "c"} and set(table["kind"]) == {"regression"}
    assert any("5 regressions on 3 machines (2 benchmarks)" in m.value.replace("\\", "") for m in at.markdown)


# -- tensorscope dashboard --store ---------------------------------------------------------------


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_dashboard_store_url_reaches_the_app_in_its_environment_not_its_arguments() -> None:
    url = "postgresql://ts:secret@db.example/bench"
    args = _args("--store", url)
    cmd = serve.streamlit_command(args)
    assert not any("secret" in part for part in cmd)  # ps shows arguments, not the environment
    assert "--results-dir" not in cmd
    env = serve.app_environment(args)
    assert env["TENSORSCOPE_STORE"] == url and "TENSORSCOPE_RESULTS_DIR" not in env


def test_dashboard_reads_tensorscope_store_without_a_results_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TENSORSCOPE_STORE", str(tmp_path / "s.sqlite"))
    assert "--results-dir" not in serve.streamlit_command(_args())
    cmd = serve.streamlit_command(_args(str(tmp_path)))  # a folder given: read it (decisions still go to the store)
    assert cmd[cmd.index("--results-dir") + 1] == str(tmp_path.resolve())


def test_dashboard_refuses_a_store_and_a_folder_or_a_bad_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(_args(str(tmp_path), "--store", str(tmp_path / "s.sqlite"))) == 2
    assert "not both" in capsys.readouterr().err
    assert serve.main(_args("--store", "mysql://x/y")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not supported" in err
    assert os.environ.get("TENSORSCOPE_STORE") is None


def test_a_triage_store_that_cannot_be_reached_costs_the_triage_column_not_the_page(
    results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(build_tree(results_tree)))
    monkeypatch.setenv("TENSORSCOPE_STORE", "postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    chosen = next(o for o in _change_options(run_page("regressions")) if o.startswith("box|" + STEPPED))
    at = run_page("regressions", {"change": chosen})
    assert any("The triage analysis failed" in e.value for e in at.error)
    assert set(_changes_table(at)["triage"]) == {"?"}
    assert any(f["data"] for f in (json.loads(c.proto.spec) for c in at.get("plotly_chart")))  # the change's series is drawn
