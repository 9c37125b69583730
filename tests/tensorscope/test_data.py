"""tensorscope.results: asv results -> tidy table; bad files reported and skipped; the parquet cache."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from asv_builder import NAN, ResultsTree, commit_date, commit_hash

from tensorscope.results import RESULT_COLUMNS, load_results, plain_value

BENCH = "bench_ops.Ops.time_op"
GRID = [["'numpy'", "'python'"], ["10", "1000"]]


def _basic(tree: ResultsTree, n_commits: int = 3) -> None:
    tree.add_benchmark(BENCH, params=GRID, param_names=["backend", "size"])
    tree.add_benchmark("bench_ops.track_rate", unit="GB/s")
    tree.add_machine("box", cpu="Xeon", arch="x86_64")
    for i in range(n_commits):
        tree.add_run(
            "box",
            commit_hash(i),
            {BENCH: [1e-6 * (i + 1), NAN, None, 2e-3], "bench_ops.track_rate": [5.0 + i]},
            date=commit_date(i),
        )


def test_tidy_table_columns_and_statuses(results_tree: ResultsTree) -> None:
    _basic(results_tree)
    rs = load_results(results_tree.root)
    t = rs.results
    assert rs.problems == []
    assert set(RESULT_COLUMNS) <= set(t.columns)
    assert {"param_backend", "param_size"} <= set(t.columns)
    assert len(t) == 3 * 5
    one = t[(t.commit == commit_hash(0)) & (t.benchmark == BENCH)].set_index("params")
    # itertools.product order: last parameter fastest
    assert one.loc["backend='numpy', size=10", "value"] == pytest.approx(1e-6)
    assert one.loc["backend='numpy', size=10", "status"] == "ok"
    assert one.loc["backend='numpy', size=1000", "status"] == "skipped"
    assert math.isnan(one.loc["backend='numpy', size=1000", "value"])
    assert one.loc["backend='python', size=10", "status"] == "failed"
    assert one.loc["backend='python', size=1000", "value"] == pytest.approx(2e-3)
    assert one.loc["backend='python', size=1000", "param_backend"] == "python"
    assert one.loc["backend='python', size=1000", "param_size"] == "1000"
    assert one.loc["backend='numpy', size=10", "ci_99_a"] == pytest.approx(0.99e-6)
    assert list(one.loc["backend='numpy', size=10", "samples"])[2] == pytest.approx(1e-6)
    assert one.loc["backend='numpy', size=10", "unit"] == "seconds"
    track = t[t.benchmark == "bench_ops.track_rate"]
    assert set(track["unit"]) == {"GB/s"} and set(track["type"]) == {"track"}
    assert track.sort_values("commit_order")["value"].tolist() == [5.0, 6.0, 7.0]
    assert t.groupby("commit", observed=True)["commit_order"].first().sort_values().tolist() == [0, 1, 2]
    assert str(t["commit_date"].dt.tz) == "UTC"
    assert rs.commits["commit"].tolist() == [commit_hash(i) for i in range(3)]
    assert rs.machines.set_index("machine").loc["box", "cpu"] == "Xeon"
    assert t["series"].nunique() == 5
    assert not t["discontinuity"].any()


def test_plain_value() -> None:
    assert plain_value("'numpy'") == "numpy"
    assert plain_value('"x"') == "x"
    assert plain_value("10") == "10"
    assert plain_value("(1, 2)") == "(1, 2)"


def test_version_change_is_a_discontinuity(results_tree: ResultsTree) -> None:
    results_tree.add_benchmark("b.time_x", version="new")
    for i in range(4):
        results_tree.add_run(
            "m", commit_hash(i), {"b.time_x": [1.0 + i]}, date=commit_date(i), versions={"b.time_x": "old" if i < 2 else "new"}
        )
    t = load_results(results_tree.root).results.sort_values("commit_order")
    assert t["version_segment"].tolist() == [0, 0, 1, 1]
    assert t["discontinuity"].tolist() == [False, False, True, False]
    assert t["current_version"].tolist() == [False, False, True, True]


def test_benchmark_missing_from_benchmarks_json_and_name_only_machine(results_tree: ResultsTree) -> None:
    results_tree.add_benchmark("b.time_x")
    results_tree.add_machine("m")
    results_tree.add_run(
        "m",
        commit_hash(0),
        {"b.time_x": [1.0], "gone.Suite.time_old": [2.0, 3.0]},
        date=commit_date(0),
        params={"gone.Suite.time_old": [["1", "2"]]},
    )
    rs = load_results(results_tree.root)
    old = rs.results[rs.results.benchmark == "gone.Suite.time_old"]
    assert old["params"].tolist() == ["param1=1", "param1=2"]
    assert set(old["unit"]) == {"seconds"}
    assert rs.machines.set_index("machine").loc["m", "python"] if "python" in rs.machines else True


def test_several_envs_per_commit_and_env_vars(results_tree: ResultsTree) -> None:
    results_tree.add_benchmark("b.time_x")
    for simd in ("on", "off"):
        results_tree.add_run(
            "m",
            commit_hash(0),
            {"b.time_x": [1.0 if simd == "on" else 4.0]},
            date=commit_date(0),
            env=f"virtualenv-py3.11-TENSORSCOPE_SIMD{simd}",
            env_vars={"TENSORSCOPE_SIMD": simd},
        )
    rs = load_results(results_tree.root)
    assert rs.results["series"].nunique() == 2
    assert sorted(rs.envs["env_var.TENSORSCOPE_SIMD"]) == ["off", "on"]


def test_commit_order_from_index_json_and_git(results_tree: ResultsTree, tmp_path: Path) -> None:
    results_tree.add_benchmark("b.time_x")
    # dates say 0 < 1 < 2 but the published history says 2, 0, 1
    for i in range(3):
        results_tree.add_run("m", commit_hash(i), {"b.time_x": [float(i)]}, date=commit_date(i))
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"revision_to_hash": {"0": commit_hash(2), "1": commit_hash(0), "2": commit_hash(1)}}))
    rs = load_results(results_tree.root, index_json=index)
    assert rs.order_source == "index.json"
    assert rs.commits["commit"].tolist() == [commit_hash(2), commit_hash(0), commit_hash(1)]
    rs = load_results(results_tree.root, repo=tmp_path / "not-a-repo")
    assert rs.order_source == "date"
    assert any("git" in p.message for p in rs.problems)


def test_provenance_joined_by_machine_and_run(results_tree: ResultsTree) -> None:
    results_tree.add_benchmark("b.time_x")
    results_tree.add_machine("m")
    results_tree.add_run("m", commit_hash(0), {"b.time_x": [1.0]}, date=commit_date(0))
    results_tree.add_provenance(
        "m", commit_hash(0), "virtualenv-py3.11", {"cpu": {"model": "Xeon Gold", "simd": ["avx2", "avx512f"]}, "blas": "openblas"}
    )
    rs = load_results(results_tree.root)
    assert rs.provenance.iloc[0]["commit"] == commit_hash(0)
    assert rs.provenance.iloc[0]["cpu.model"] == "Xeon Gold"
    assert rs.machines.iloc[0]["provenance.cpu.model"] == "Xeon Gold"
    assert rs.machines.iloc[0]["provenance.cpu.simd"] == "avx2, avx512f"


def test_provenance_of_a_large_grid_keeps_every_field_and_a_hostile_one_is_bounded(results_tree: ResultsTree) -> None:
    """The suite's op_costs name one field per grid cell (842 on 2026-12-07): two runs' worth loads whole."""
    results_tree.add_benchmark("b.time_x")
    results_tree.add_machine("m")
    costs = {f"op{i}": {"float32": {str(size): [1, 2, 3] for size in (100, 1000, 10_000)}} for i in range(400)}
    for k in range(2):
        results_tree.add_run("m", commit_hash(k), {"b.time_x": [1.0]}, date=commit_date(k))
        results_tree.add_provenance("m", commit_hash(k), "virtualenv-py3.11", {"op_costs": costs, "cpu": {"model": f"cpu{k}"}})
    rs = load_results(results_tree.root)
    assert not [p for p in rs.problems if "fields ignored" in p.message]
    assert "op_costs.op399.float32.10000" in rs.provenance.columns and set(rs.provenance["cpu.model"]) == {"cpu0", "cpu1"}
    results_tree.add_run("m", commit_hash(2), {"b.time_x": [1.0]}, date=commit_date(2))
    results_tree.add_provenance("m", commit_hash(2), "virtualenv-py3.11", {"junk": {f"k{i}": i for i in range(5000)}})
    rs = load_results(results_tree.root)
    assert any("provenance fields ignored" in p.message for p in rs.problems)
    assert len(rs.provenance.columns) < 5000


# --------------------------------------------------------------------------------------
# The bad-file corpus


def _corpus(tree: ResultsTree) -> dict[str, str]:
    """Write one good run and many bad files; returns {relative path: expected message fragment}."""
    _basic(tree, n_commits=1)
    box = tree.root / "box"
    good = json.loads((box / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json").read_text())
    expected: dict[str, str] = {}

    def put(name: str, content: bytes | str, fragment: str) -> Path:
        path = box / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        expected[f"box/{name}"] = fragment
        return path

    text = json.dumps(good)
    put("trunc0001-env.json", text[: len(text) // 2], "not valid JSON")
    put("empty0001-env.json", b"", "empty file")
    put("blank0001-env.json", b"  \n", "empty file")
    put("array0001-env.json", "[1, 2]", "expected a JSON object")
    put("nonutf80-env.json", text.encode()[:50] + b"\xff\xfe" + text.encode()[50:], "not UTF-8")
    put("binary01-env.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary")
    wrong = dict(good, results="nope")
    put("wrongty1-env.json", json.dumps(wrong), "'results' is missing or not an object")
    v1 = {"results": {"b.time_x": {"result": [1.0]}}, "commit_hash": "ab", "version": 1}
    put("version1-env.json", json.dumps(v1), "asv update")
    put("nocommit-env.json", json.dumps({k: v for k, v in good.items() if k != "commit_hash"}), "commit_hash")
    # entry-level problems: the rest of the file survives
    mixed = json.loads(text)
    mixed["commit_hash"] = commit_hash(1)
    mixed["date"] = commit_date(1)
    mixed["results"][BENCH][0] = [1.0, 2.0, 3.0]  # 3 values for a 2x2 grid
    mixed["results"]["bench_ops.track_rate"][0] = ["fast"]
    mixed["result_columns"] = [*mixed["result_columns"], "brand_new_column"]
    mixed["results"]["bench_ops.extra.time_ok"] = [[4.0], []]
    put(f"{commit_hash(1)[:8]}-mixed.json", json.dumps(mixed), "3 result values for 4 parameter combinations")
    return expected


def test_bad_file_corpus_reported_and_skipped(results_tree: ResultsTree) -> None:
    expected = _corpus(results_tree)
    box = results_tree.root / "box"
    # unreadable, huge, symlink loop (where the platform allows)
    (box / "loop0001-env.json").symlink_to(box / "loop0001-env.json")
    expected["box/loop0001-env.json"] = "cannot read file"
    huge = box / "huge0001-env.json"
    huge.write_bytes(b"{" + b" " * 5000 + b"}")
    expected["box/huge0001-env.json"] = "limit"
    secret = box / "secret01-env.json"
    secret.write_text("{}")
    secret.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        expected["box/secret01-env.json"] = "cannot read file"
    before = {p: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in box.iterdir()}

    rs = load_results(results_tree.root, max_file_bytes=4096)

    by_path: dict[str, list[str]] = {}
    for p in rs.problems:
        by_path.setdefault(p.path, []).append(p.message)
    for path, fragment in expected.items():
        assert path in by_path, f"no problem reported for {path}: {by_path}"
        assert any(fragment in m for m in by_path[path]), (path, by_path[path])
    mixed = by_path[f"box/{commit_hash(1)[:8]}-mixed.json"]
    assert any("non-numbers" in m for m in mixed)
    assert any("brand_new_column" in m for m in mixed)
    # surviving rows: the good run (5 rows) and the mixed file's one good entry
    t = rs.results
    assert len(t[t.commit == commit_hash(0)]) == 5
    survivors = t[t.commit == commit_hash(1)]
    assert survivors["benchmark"].tolist() == ["bench_ops.extra.time_ok"]
    assert survivors["value"].tolist() == [4.0]
    # nothing was modified
    secret.chmod(0o600)
    after = {p: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in box.iterdir()}
    assert before == after
    assert not any(p.name.startswith(".tensorscope") for p in results_tree.root.parent.iterdir())


def test_missing_directory_and_missing_benchmarks_json(tmp_path: Path) -> None:
    rs = load_results(tmp_path / "nowhere")
    assert rs.results.empty and "no such results directory" in rs.problems[0].message
    tree = ResultsTree(tmp_path / "r")
    tree.add_run("m", commit_hash(0), {"x.time_y": [1.0]}, date=commit_date(0))
    rs = load_results(tree.root)
    assert len(rs.results) == 1
    assert any(p.path == "benchmarks.json" for p in rs.problems)


# --------------------------------------------------------------------------------------
# Cache


def test_cache_reads_only_changed_files(results_tree: ResultsTree, tmp_path: Path) -> None:
    _basic(results_tree, n_commits=3)
    cache = tmp_path / "cache"
    first = load_results(results_tree.root, cache_dir=cache)
    assert first.stats["parsed"] == 3
    again = load_results(results_tree.root, cache_dir=cache)
    assert again.stats.get("from_cache")
    pd.testing.assert_frame_equal(first.results, again.results)
    # change one file (size changes), add one, remove one
    results_tree.add_run("box", commit_hash(1), {BENCH: [9.0, NAN, None, 9.0], "bench_ops.track_rate": [99.0]}, date=commit_date(1))
    results_tree.add_run("box", commit_hash(3), {"bench_ops.track_rate": [8.0]}, date=commit_date(3))
    (results_tree.root / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json").unlink()
    third = load_results(results_tree.root, cache_dir=cache)
    assert third.stats["parsed"] == 2
    fresh = load_results(results_tree.root)
    pd.testing.assert_frame_equal(third.results, fresh.results)
    assert commit_hash(0) not in set(third.results["commit"])
    rate = third.results[third.results.benchmark == "bench_ops.track_rate"].sort_values("commit_order")["value"].tolist()
    assert rate == [99.0, 7.0, 8.0]


def test_corrupt_cache_is_rebuilt(results_tree: ResultsTree, tmp_path: Path) -> None:
    _basic(results_tree)
    cache = tmp_path / "cache"
    load_results(results_tree.root, cache_dir=cache)
    for p in cache.rglob("*"):
        if p.is_file():
            p.write_bytes(b"garbage")
    rs = load_results(results_tree.root, cache_dir=cache)
    assert len(rs.results) == 15 and rs.problems == []


# --------------------------------------------------------------------------------------
# Real asv result sets from other projects


@pytest.mark.parametrize("name", ["numpy-bench", "BLAS-Benchmarks", "thematrix", "mjwarp-asv", "own-example-tinypkg"])
def test_shared_sets_load(shared_sets: Path, name: str) -> None:
    rs = load_results(shared_sets / name / "results")
    assert len(rs.results) > 100
    assert [p for p in rs.problems if p.severity == "error"] == []
    assert rs.results["commit_order"].min() == 0
    ok = rs.results[rs.results.status == "ok"]
    assert ok["value"].notna().all()
    assert rs.results.loc[rs.results.status != "ok", "value"].isna().all()


def test_shared_tinypkg_details(shared_sets: Path) -> None:
    root = shared_sets / "own-example-tinypkg"
    rs = load_results(root / "results", index_json=root / "asv_publish_output" / "index.json")
    t = rs.results
    assert set(t["status"]) == {"ok", "skipped", "failed"}
    assert set(t["env"]) >= {"virtualenv-py3.11-MYVAR1", "existing-py_opt_venv_bin_python3-MYVAR2"}
    add = t[(t.benchmark == "bench_ops.TimeSuite.time_add") & (t.machine == "vm") & (t.env == "virtualenv-py3.11-MYVAR1")]
    assert set(add["param_backend"]) == {"python", "gpu"}
    assert set(add.loc[add.param_backend == "gpu", "status"]) == {"skipped"}
    assert rs.commits["commit"].str[:8].tolist() == ["f1fc8206", "8f521c81", "d474f944"]


def test_shared_version1_set_reports_asv_update(shared_sets: Path) -> None:
    rs = load_results(shared_sets / "gt4py-benchmarks" / "results")
    assert rs.results.empty
    result_files = [p for p in rs.problems if p.path.endswith(".json") and p.path != "benchmarks.json"]
    assert len(result_files) == 76
    assert all("asv update" in p.message and "version 1" in p.message for p in result_files)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_shared_sets_are_not_written(shared_sets: Path, tmp_path: Path) -> None:
    root = shared_sets / "own-example-tinypkg" / "results"
    before = sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*"))
    load_results(root, cache_dir=tmp_path / "c")
    assert sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*")) == before
    assert np.isfinite(0.0)


def _nonstrict_run(tree: ResultsTree, name: str, grid_value: str) -> None:
    """A run with bare NaN, Infinity and -Infinity where asv writes them (results, CIs, samples)."""
    tree.add_benchmark(name, params=[[grid_value, "'b'"]], param_names=["mode"])
    tree.add_run("box", commit_hash(0), {name: [1.5e-6, NAN]}, date=commit_date(0))
    path = tree.root / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json"
    doc = json.loads(path.read_text())
    row = doc["results"][name]
    cols = doc["result_columns"]
    row[cols.index("stats_ci_99_a")] = [-math.inf, None]
    row[cols.index("stats_ci_99_b")] = [math.inf, None]
    row[cols.index("samples")] = [[1.4e-6, NAN, 1.6e-6], None]
    path.write_text(json.dumps(doc))  # json.dumps writes bare NaN / Infinity / -Infinity, as asv does
    assert b"NaN" in path.read_bytes() and b"-Infinity" in path.read_bytes()


@pytest.mark.parametrize(
    ("name", "grid_value"),
    [
        ("b.time_x", "'a'"),  # numbers only: the fast path
        ("b.time_NaN, Infinity", "'[NaN, -Infinity]'"),  # the tokens inside strings: the standard path
        ("b.time_y", "'1e-320'"),  # a sentinel-like text: the standard path
    ],
)
def test_fast_parser_reads_asv_nonstrict_json_like_the_standard_one(
    results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch, name: str, grid_value: str
) -> None:
    import tensorscope.results.files as data

    pytest.importorskip("orjson")
    _nonstrict_run(results_tree, name, grid_value)
    raw = (results_tree.root / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json").read_bytes()
    assert (data._loads_fast(raw) is not None) == (name == "b.time_x")
    fast = load_results(results_tree.root).results
    monkeypatch.setattr(data, "_orjson", None)
    slow = load_results(results_tree.root).results
    pd.testing.assert_frame_equal(fast, slow)
    row = fast[fast["param_mode"] == plain_value(grid_value)].iloc[0]
    assert row["benchmark"] == name and row["status"] == "ok" and row["value"] == 1.5e-6
    assert row["ci_99_a"] == -math.inf and row["ci_99_b"] == math.inf
    assert row["samples"][0] == 1.4e-6 and math.isnan(row["samples"][1])
    assert fast[fast["param_mode"] == "b"].iloc[0]["status"] == "skipped"


def test_parallel_parse_matches_serial(results_tree: ResultsTree) -> None:
    _basic(results_tree, n_commits=4)
    serial = load_results(results_tree.root, workers=1)
    parallel = load_results(results_tree.root, workers=2)
    pd.testing.assert_frame_equal(serial.results, parallel.results)
    assert serial.problems == parallel.problems
