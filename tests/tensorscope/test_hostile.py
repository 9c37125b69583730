"""Hostile and huge result files (issue 16): one bad file never takes the analysis down.

Each case of :mod:`hostile_corpus` is a small valid tree plus one mutation, built here. For each:
the problem line naming the file, the rows that survive (the base tree's, with the values it
wrote), the same answer with and without the cache, and no file changed (hashes before and
after). ``tensorscope report`` runs in a subprocess under an address-space limit (exit code by
verdict only, peak memory, no control character reaching the terminal) on the directory holding
every case; per case (``slow``) as well. Then the cache's own hostile cases, and inert output
(terminal escaping, Markdown, CSV).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from asv_builder import commit_date, commit_hash
from hostile_corpus import (
    ANSI,
    BASE_COMMITS,
    BASE_ROWS,
    BENCH,
    CASE_NAMES,
    CASES,
    CSV_NAMES,
    ENV,
    TRACK,
    URL_NAME,
    Case,
    all_cases,
    base_file,
    base_tree,
    base_values,
    result_doc,
    write,
)

from tensorscope.results import load_results
from tensorscope.results.model import MAX_ROWS_BASE, ROW_BYTES
from tensorscope.units import printable

REPO = Path(__file__).resolve().parents[2]
MiB = 2**20
# Address-space limit of the report subprocess: what the interpreter with pandas, pyarrow and
# scipy maps (about 1.7 GiB here, mostly reserved, not used) plus room; a runaway file would hit it.
AS_LIMIT = 4 * 2**30
# Peak resident memory of a report over the small trees here (about 150 MiB measured).
RSS_BOUND = 600 * MiB
CASE_BY_NAME = dict(zip(CASE_NAMES, CASES, strict=True))


def snapshot(root: Path, skip: tuple[str, ...] = ("cache",)) -> dict[str, Any]:
    """Every entry under ``root`` (symlinks not followed): content hash of regular files, target of
    symlinks, type of anything else, with modification times."""
    out: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[path] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(path, "rb") as fh:
                    while chunk := fh.read(MiB):
                        h.update(chunk)
                out[path] = ("file", h.hexdigest(), st.st_mtime_ns)
            else:
                out[path] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return out


def assert_base_intact(rs: Any) -> None:
    """The base tree's rows are all there, with the values it wrote."""
    t = rs.results
    for i in range(BASE_COMMITS):
        rows = t[t["file"].astype(str) == base_file(i)]
        values = base_values(i)
        grid = rows[rows["benchmark"] == BENCH].set_index(["param_backend", "param_size"])["value"]
        expected = dict(zip([("numpy", "10"), ("numpy", "1000"), ("python", "10"), ("python", "1000")], values[BENCH], strict=True))
        assert grid.to_dict() == expected, (i, grid)
        assert rows.loc[rows["benchmark"] == TRACK, "value"].tolist() == values[TRACK]
        assert set(rows["status"]) == {"ok"}


def check_case(case: Case, rs: Any) -> None:
    if case.path is not None:
        named = [p for p in rs.problems if p.path == case.path]
        assert any(case.fragment in p.message for p in named), (case.path, [str(p) for p in rs.problems])
    blamed = {p.path for p in rs.problems if p.severity == "error"}
    assert blamed <= {case.path}, blamed  # no other file is blamed
    assert len(rs.results) == BASE_ROWS + case.extra_rows
    assert_base_intact(rs)


@pytest.mark.parametrize("case", CASES, ids=CASE_NAMES)
def test_one_hostile_file_is_reported_and_the_rest_analysed(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    case.build(root)
    before = snapshot(tmp_path)
    plain = load_results(root)
    cold = load_results(root, cache_dir=tmp_path / "cache")
    warm = load_results(root, cache_dir=tmp_path / "cache")
    assert warm.stats.get("from_cache")
    for rs in (plain, cold, warm):
        check_case(case, rs)
    pd.testing.assert_frame_equal(plain.results, cold.results)
    pd.testing.assert_frame_equal(plain.results, warm.results)
    assert plain.problems == cold.problems == warm.problems
    assert snapshot(tmp_path) == before  # nothing under the results directory (or beside it) changed


def test_the_row_limit_of_a_file_is_exact_and_a_failed_grid_within_it_is_read(tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    good = {"bench_ops.extra.time_ok": [[7.0], [], "v1", commit_date(9), 0.1]}
    path = root / "box" / "grid0001-env.json"
    rows_allowed = []
    for b in (101, 100):  # a fully failed grid of 1000 x b combinations, beside one good benchmark
        write(
            path, result_doc(9, {**good, "bench_ops.big.time_x": [None, [[str(k) for k in range(1000)], [str(k) for k in range(b)]], "v1"]})
        )
        rows_allowed.append(MAX_ROWS_BASE + path.stat().st_size // ROW_BYTES)  # the stated rule
        rs = load_results(root)
        big = rs.results[rs.results["benchmark"] == "bench_ops.big.time_x"]
        problems = [p.message for p in rs.problems if p.path == "box/grid0001-env.json"]
        if 1 + 1000 * b > rows_allowed[-1]:
            assert big.empty and len(problems) == 1
            assert f"parameter grid of {1000 * b:,} combinations would take this file over {rows_allowed[-1]:,} rows" in problems[0]
        else:
            assert problems == [] and len(big) == 1000 * b and set(big["status"]) == {"failed"} and big["value"].isna().all()
        assert len(rs.results) - len(big) == BASE_ROWS + 1
    assert rows_allowed[0] < 1 + 101_000 and rows_allowed[1] >= 1 + 100_000  # both branches ran


def test_series_keys_of_names_holding_the_separator_stay_apart(tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    CASE_BY_NAME["series_key_collision"].build(root)
    rs = load_results(root)
    t = rs.results[rs.results["machine"].isin(["m|x", "m"])]
    assert len(t) == 2
    assert t["series"].nunique() == 2  # one series each, though "m|x" + "e" and "m" + "x|e" join alike
    assert sorted(zip(t["machine"].astype(str), t["env"].astype(str), strict=True)) == [("m", "x|e"), ("m|x", "e")]
    warning = [p for p in rs.problems if "also a different series" in p.message]
    assert len(warning) == 1 and {warning[0].path, warning[0].message.split(" of ")[1].split(":")[0]} == {
        "m|x/aaaa0001-e.json",
        "m/aaaa0002-x|e.json",
    }


def test_a_benchmarks_json_naming_thousands_of_parameters_cannot_widen_the_table_without_bound(tmp_path: Path) -> None:
    # each parameter name would be a column of every row: 1,100 one-parameter benchmarks (a 100 KB
    # file) made a table of 1,100 columns x all rows; 40,000 of them took 32 s and 3.9 GB
    root = tmp_path / "results"
    base_tree(root)
    names = [f"bench_p.time_{k}" for k in range(1100)]
    spec = json.loads((root / "benchmarks.json").read_text())
    for k, name in enumerate(names):
        spec[name] = {"name": name, "param_names": [f"p{k}"], "params": [["'x'"]], "type": "time", "unit": "seconds", "version": "v1"}
    spec["bench_p.time_0"]["params"] = [["'x'", "'y'"]]  # the name with the most rows
    (root / "benchmarks.json").write_text(json.dumps(spec))
    rows = {name: [[1e-6], [["'x'"]], "v1", commit_date(9), 0.1] for name in names}
    rows["bench_p.time_0"] = [[1e-6, 2e-6], [["'x'", "'y'"]], "v1", commit_date(9), 0.1]
    write(root / "box" / "wide0001-env.json", result_doc(9, rows, result_columns=["result", "params", "version", "started_at", "duration"]))
    rs = load_results(root)
    t = rs.results
    param_columns = [c for c in t.columns if c.startswith("param_")]
    assert len(param_columns) == 1000  # at most MAX_INFO_COLUMNS, whatever benchmarks.json says
    assert {"param_backend", "param_size", "param_p0"} <= set(param_columns)  # most rows first
    assert len(t[t["benchmark"].astype(str).str.startswith("bench_p.")]) == 1101  # every row is kept
    dropped = sorted({c[len("param_p") :] for c in param_columns if c.startswith("param_p")} ^ {str(k) for k in range(1100)}, key=int)
    assert len(dropped) == 102  # ... and each keeps its value in the params label
    assert set(t.loc[t["benchmark"] == f"bench_p.time_{dropped[-1]}", "params"].astype(str)) == {
        f"p{dropped[-1]}='x'"
    }  # as asv writes the value
    (warning,) = [p for p in rs.problems if p.path == "benchmarks.json"]
    assert "1102 parameter names: only the 1000 with the most rows get a param_<name> column" in warning.message


def test_zero_and_negative_times_count_as_failed(tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    CASE_BY_NAME["zero_and_negative_times"].build(root)
    t = load_results(root).results
    neg = t[t["benchmark"] == "bench_ops.neg.time_x"].set_index("param_param1")
    assert neg["status"].to_dict() == {"1": "failed", "2": "failed", "3": "ok"}
    assert neg.loc["3", "value"] == 1e-6 and neg.loc[["1", "2"], "value"].isna().all()


def test_names_that_are_not_utf8_are_shown_escaped(tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    CASE_BY_NAME["non_utf8_folder_name"].build(root)
    rs = load_results(root)
    assert "box\\xff" in set(rs.results["machine"].astype(str))


def test_symlinks_out_of_the_tree_are_read_only_when_asked(tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    CASE_BY_NAME["symlink_machine_outside"].build(root)
    assert "evil_out" not in set(load_results(root).results["machine"].astype(str))
    rs = load_results(root, follow_symlinks=True)
    assert rs.results.loc[rs.results["machine"] == "evil_out", "value"].tolist() == [9.0]
    assert not [p for p in rs.problems if p.severity == "error"]


# --------------------------------------------------------------------------------------
# tensorscope report in a subprocess: exit code by verdict, memory, inert output

CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from tensorscope.cli import main
start = time.perf_counter()
code = main(sys.argv[2:])
sys.stdout.flush()
# VmHWM: this process image's own peak; ru_maxrss would carry the forking pytest worker's peak across exec
peak = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]) * 1024
sys.stderr.write("\nSTATS " + json.dumps({"seconds": time.perf_counter() - start, "peak_rss": peak}) + "\n")
sys.exit(code)
"""


def run_report(root: Path, *args: str, cache: str = "none", limit: int = AS_LIMIT) -> tuple[int, str, str, dict[str, float]]:
    """``tensorscope report root args`` under RLIMIT_AS: (exit code, stdout, stderr, {seconds, peak_rss})."""
    # thread pools sized here, not by the machine: the address space a process maps grows with them
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), "report", str(root), "--cache-dir", cache, *args],
        capture_output=True,
        timeout=600,
        env=env,
        cwd=REPO,
    )
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert "\nSTATS " in err, f"report died with exit code {proc.returncode}: {err[-3000:]}"
    err, stats = err.rsplit("\nSTATS ", 1)
    return proc.returncode, out, err, json.loads(stats)


# a character a terminal acts on (line feeds end lines; everything else must arrive escaped)
TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.mark.slow
def test_report_on_every_case_at_once(tmp_path: Path) -> None:
    root = tmp_path / "results"
    all_cases(root)
    before = snapshot(tmp_path)
    expected_rows = BASE_ROWS + sum(c.extra_rows for c in CASES)
    for fmt, cache in (("json", "none"), ("table", str(tmp_path / "cache")), ("json", str(tmp_path / "cache"))):
        code, out, err, stats = run_report(root, "--format", fmt, cache=cache)
        assert code == 1, err[-2000:]  # the regressions planted in the ANSI and URL names; no crash
        assert stats["peak_rss"] < RSS_BOUND
        assert not TERMINAL_CONTROL.search(out + err), TERMINAL_CONTROL.findall(out + err)
        if fmt == "json":
            doc = json.loads(out)
            problems = {p["path"]: p for p in doc["problems"]}
            for case in CASES:
                if case.path is not None:
                    assert case.path in problems and case.fragment in problems[case.path]["message"], case.name
            regressed = {(r["machine"], r["benchmark"], r["env"]) for r in doc["regressions"]}
            assert (f"box{ANSI}", f"bench_{ANSI}.time_x", f"env{ANSI}") in regressed
            assert ("box", URL_NAME, f"{ENV}-url") in regressed
            assert ("nul", "bench_nul\x00.time_x", "env\x00nul") in regressed
        else:
            assert printable(f"box{ANSI}") in out and printable(f"bench_{ANSI}.time_x") in out
            for path, p in problems.items():
                if p["severity"] == "error":
                    assert f"skipped {printable(path)}: " in err, path
    assert snapshot(tmp_path) == before
    from_cache = load_results(root, cache_dir=tmp_path / "cache")
    assert from_cache.stats.get("from_cache") and len(from_cache.results) == expected_rows


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=CASE_NAMES)
def test_report_exit_code_and_memory_per_case(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    case.build(root)
    code, out, err, stats = run_report(root)
    assert code == (1 if case.regression else 0), err[-2000:]
    assert stats["peak_rss"] < RSS_BOUND
    assert not TERMINAL_CONTROL.search(out + err)


# --------------------------------------------------------------------------------------
# Size: a large valid file is read within a stated multiple of its size


LOAD_CHILD = r"""
import json, sys, time
from tensorscope.results import load_results
start = time.perf_counter()
rs = load_results(sys.argv[1])
print(json.dumps({"rows": len(rs.results), "seconds": time.perf_counter() - start,
                  "peak_rss": int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]) * 1024}))  # VmHWM: not the forking worker's peak
"""


def _load_in_child(root: Path) -> dict[str, float]:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", LOAD_CHILD, str(root)], capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_large_valid_file_costs_a_small_multiple_of_its_size(tmp_path: Path) -> None:
    root = tmp_path / "results"
    base_tree(root)
    baseline = _load_in_child(root)
    # 12 benchmarks x 61,000 combinations with a result and a 99% CI each: about 26 MB, 732,000 rows
    rng = np.random.default_rng(0)
    grid = [[f"'b{i}'" for i in range(61)], [str(10**k) for k in range(10)], [f"'d{i}'" for i in range(100)]]
    path = root / "big" / "bigfile1-env.json"
    path.parent.mkdir()
    try:
        with open(path, "w", encoding="utf-8") as fh:
            head = json.dumps(
                result_doc(
                    9, {}, result_columns=["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b"]
                )
            )
            fh.write(head[: head.index('"results": {}') + len('"results": {')])
            for b in range(12):
                v = rng.lognormal(-11, 1, 61_000)
                nums = ["[" + ",".join(np.char.mod("%.6g", a)) + "]" for a in (v, v * 0.99, v * 1.01)]
                fh.write(
                    ("," if b else "")
                    + json.dumps(f"bench_big.B{b}.time_op")
                    + f': [{nums[0]}, {json.dumps(grid)}, "v1", {commit_date(9)}, 1.5, {nums[1]}, {nums[2]}]'
                )
            fh.write(head[head.index('"results": {}') + len('"results": {') :])
        size = path.stat().st_size
        big = _load_in_child(root)
        code, out, err, report = run_report(root, "--format", "json", limit=2 * AS_LIMIT)
    finally:
        path.unlink()
    _, _, _, report_base = run_report(root, "--format", "json")
    assert big["rows"] == baseline["rows"] + 12 * 61_000
    # stated in the package docstring: parsing takes up to about ten times the file's size, the table
    # about 200 bytes per row (here 12.8 times the size in all, measured: 334 MB over the baseline)
    assert big["peak_rss"] - baseline["peak_rss"] < 10 * size + 200 * big["rows"], (big, baseline, size)
    # the report analyses 732,000 one-point series: none can hold a step, and none costs per-series
    # work or memory (measured: about 600 bytes per row in all; before, ~3 KB per row)
    assert code == 0 and json.loads(out)["regressions"] == [], err[-2000:]
    assert report["peak_rss"] - report_base["peak_rss"] < 10 * size + 600 * big["rows"], (report, report_base, size)


# --------------------------------------------------------------------------------------
# The cache is a cache


def _tree_and_cache(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    root = tmp_path / "results"
    base_tree(root)
    cache = tmp_path / "cache"
    expected = load_results(root).results
    load_results(root, cache_dir=cache)
    return root, cache, expected


def _store(cache: Path) -> Path:
    (store,) = [p for p in cache.iterdir() if p.is_dir()]
    return store


def _forge_final(store: Path) -> None:
    """Leave the whole-tree cache out: what follows reads the per-file cache."""
    (store / "final" / "meta.json").unlink()


CORRUPTIONS = {
    "manifest_list": lambda s: (s / "manifest.json").write_text("[]"),
    "manifest_files_list": lambda s: (s / "manifest.json").write_text(json.dumps({"format": 5, "files": [], "sigs": [], "next_id": 0})),
    "manifest_record_wrong": lambda s: _edit_manifest(s, lambda m: [r.update(meta={"machine": 1}) for r in m["files"].values()]),
    "manifest_bad_sig": lambda s: _edit_manifest(s, lambda m: m.update(sigs=["{not json"] * len(m["sigs"]))),
    "raw_foreign_arrow": lambda s: feather.write_feather(pa.table({"x": [1, 2, 3]}), s / "raw.arrow"),
    "raw_unknown_file_ids": lambda s: _edit_raw(s, lambda t: t.set_column(0, "file_id", pa.array(np.full(t.num_rows, 999, np.int32)))),
    "raw_combo_outside_grid": lambda s: _edit_raw(s, lambda t: t.set_column(4, "combo", pa.array(np.full(t.num_rows, 10**6, np.int32)))),
    "raw_garbage": lambda s: (s / "raw.arrow").write_bytes(b"ARROW1\x00\x00garbage"),
    "final_wrong_shape": lambda s: (_restore_final(s), feather.write_feather(pa.table({"x": [1]}), s / "final" / "results.arrow")),
    "final_meta_wrong_types": lambda s: (_restore_final(s), _edit_json(s / "final" / "meta.json", lambda m: m.update(problems=5))),
}


def _edit_json(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _edit_manifest(store: Path, change: Any) -> None:
    _edit_json(store / "manifest.json", change)


def _edit_raw(store: Path, change: Any) -> None:
    table = feather.read_table(store / "raw.arrow")
    assert table.column_names[:5] == ["file_id", "benchmark", "version", "sig", "combo"]
    feather.write_feather(change(table), store / "raw.arrow", compression="lz4")


def _restore_final(store: Path) -> None:
    (store / "final" / "meta.json").write_text((store / "meta.json.saved").read_text())


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_cache_of_the_wrong_shape_is_discarded_and_rebuilt(tmp_path: Path, corruption: str) -> None:
    root, cache, expected = _tree_and_cache(tmp_path)
    store = _store(cache)
    (store / "meta.json.saved").write_text((store / "final" / "meta.json").read_text())
    _forge_final(store)
    CORRUPTIONS[corruption](store)
    rs = load_results(root, cache_dir=cache)
    pd.testing.assert_frame_equal(rs.results, expected)
    assert rs.problems == []
    again = load_results(root, cache_dir=cache)  # and the rebuilt cache serves the next load
    pd.testing.assert_frame_equal(again.results, expected)


def test_a_pickle_planted_in_the_cache_is_never_run(tmp_path: Path) -> None:
    root, cache, expected = _tree_and_cache(tmp_path)
    store = _store(cache)
    marker = tmp_path / "pwned"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()  # protocol 0: os.system("touch ...") when unpickled
    for name in ("raw.arrow", "manifest.json", "final/results.arrow", "final/meta.json"):
        (store / name).write_bytes(payload)
    rs = load_results(root, cache_dir=cache)
    pd.testing.assert_frame_equal(rs.results, expected)
    assert not marker.exists()


def test_a_changed_file_is_read_again_even_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    root, cache, _ = _tree_and_cache(tmp_path)
    path = root / base_file(BASE_COMMITS - 1)
    st = path.stat()
    text = path.read_text()
    forged = text.replace(
        json.dumps(base_values(BASE_COMMITS - 1)[TRACK]), json.dumps([9.0]).ljust(len(json.dumps(base_values(BASE_COMMITS - 1)[TRACK])))
    )
    assert len(forged) == len(text) and forged != text
    path.write_text(forged)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as before: only the bytes differ
    rs = load_results(root, cache_dir=cache)
    track = rs.results[(rs.results["benchmark"] == TRACK) & (rs.results["commit"] == commit_hash(BASE_COMMITS - 1))]
    assert track["value"].tolist() == [9.0]


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX file permissions")
def test_a_cache_directory_others_may_write_is_not_used(tmp_path: Path) -> None:
    root, cache, expected = _tree_and_cache(tmp_path)
    store = _store(cache)
    store.chmod(0o777)
    rs = load_results(root, cache_dir=cache)
    pd.testing.assert_frame_equal(rs.results, expected)
    assert not rs.stats.get("from_cache")
    assert [(p.path, p.message) for p in rs.problems if p.severity == "warning"] == [
        (str(store), f"cache directory {store} is not private to this user (owner or permissions): not used")
    ]


# --------------------------------------------------------------------------------------
# Inert output


def test_printable_escapes_what_a_terminal_acts_on() -> None:
    assert printable("box\x1b]0;pwned\x07\x1b[2J\r\n\x00\x9b\u202e\ud800 é ok") == (
        "box\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0a\\x00\\x9b\\u202e\\ud800 é ok"
    )
    assert printable("bench_ops.Ops.time_op(backend='numpy')") == "bench_ops.Ops.time_op(backend='numpy')"


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    from dashboard.app_pages._ui import to_csv

    names = [*CSV_NAMES, "\r=2", "\n-3", "plain", "a=b", "1-2"]
    frame = pd.DataFrame({"benchmark": pd.Categorical(names), "text": names, "samples": [[-1.0, 2.0]] * len(names), "value": -1.5})
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8"), newline="")))[1:]
    for name, (bench, text, samples, value) in zip(names, rows, strict=True):
        dangerous = name[:1] in ("\t", "\r") or name.lstrip()[:1] in ("=", "+", "-", "@")
        assert bench == text == ("'" + name if dangerous else name)
        assert samples == "'-1.0 2.0" and value == "-1.5"  # joined numbers are text too; numbers stay numbers


def test_markdown_of_a_name_is_shown_as_written_and_links_nothing() -> None:
    from dashboard.app_pages._ui import md

    for name in (URL_NAME, "<img src=x onerror=alert(1)>", "**b** _i_ [l](http://x) ![i](x) `c` $x$ :red[r]", "1. - # h", "a\\b"):
        text = md(name)
        assert not re.search(r"(?<!\\)[`*_\[\]<>!$:|#~]", text), text  # every markup character escaped
        shown = re.sub(r"\\(.)", r"\1", text)  # the text a reader sees (word joiners included)
        assert shown.replace("\u2060", "") == " ".join(name.split())  # as written
        # GitHub-flavoured Markdown links bare www. / https:// / a@b.c: an invisible word joiner breaks each
        assert not re.search(r"(?i)www\.|://|@(?!\u2060)", shown)


def test_a_collided_series_keeps_one_name_from_the_table_to_its_verdict_and_confirm_mark(tmp_path: Path) -> None:
    # machine "m|x" + env "e" and machine "m" + env "x|e": their plain joins are equal, so the loader
    # names the second one "... #2". The analysis, its in-effect list and confirm's marks must all
    # use that name: before, they joined the parts again, and the " #2" series was never live.
    from tensorscope.analysis.regressions import analyse
    from tensorscope.remeasure.confirm import load_confirmations, save_confirmations

    root = tmp_path / "results"
    base_tree(root)
    bench = "bench_ops.step.time_x"
    _stepping_in(root, "m|x", bench, "e")
    _stepping_in(root, "m", bench, "x|e")
    rs = load_results(root)
    names = set(rs.results.loc[rs.results["benchmark"] == bench, "series"].astype(str))
    assert len(names) == 2 and any(n.endswith(" #2") for n in names)
    verdicts = analyse(rs)
    assert set(verdicts.steps["series"]) == names
    in_effect = verdicts.in_effect(0.05)
    assert set(in_effect["series"]) == names  # both live, both regressed 2x
    second = in_effect[in_effect["series"].str.endswith(" #2")].iloc[0]
    entry = {c: second[c] for c in ("machine", "env", "benchmark", "params", "series", "commit_before", "commit_after")}
    save_confirmations(root, str(second["machine"]), [{**entry, "mark": "confirmed", "verdict": "slower", "pairs": 10}])
    marks = load_confirmations(root)
    assert list(marks["series"]) == [second["series"]]


def _stepping_in(root: Path, machine: str, bench: str, env: str) -> None:
    from hostile_corpus import _stepping

    _stepping(root, machine, bench, env)
