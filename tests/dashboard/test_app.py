"""The Streamlit app: every page runs under AppTest on a small results tree made here."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asv_builder import NAN, ResultsTree, commit_date, commit_hash

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from tensorscope.units import format_value

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = {
    "overview": "app_pages/overview.py",
    "regressions": "app_pages/regressions.py",
    "speedups": "app_pages/speedups.py",
    "roofline": "app_pages/roofline.py",
    "hardware": "app_pages/hardware.py",
    "explorer": "app_pages/explorer.py",
    "accuracy": "app_pages/accuracy.py",
}
EVIL = "<img src=x onerror=window.__xss=1>"

ELEMENTWISE = "bench_elementwise.Elementwise.time_op"
MATMUL = "bench_linalg.Linalg.time_op"
ACCURACY = "bench_accuracy.Accuracy.track_max_rel_error"
THROUGHPUT = "bench_elementwise.Elementwise.track_gflops"
BANDWIDTH = "bench_calibration.Bandwidth.track_bandwidth"
GEMM = "bench_calibration.Gemm.track_gemm_flops"
BACKENDS = ["python", "numpy", "numba"]
OPS = ["exp", "add"]
SIZES = [1000, 100000]
DTYPES = ["float32", "float64"]
N_COMMITS = 8
STEP_AT = 5  # numpy exp float64 gets 1.6x slower from this commit on (on "box", SIMD on)


def _q(values: list[object]) -> list[str]:
    return [repr(v) if isinstance(v, str) else str(v) for v in values]


def elementwise_time(backend: str, op: str, size: int, dtype: str, *, commit: int, simd: bool, machine: str) -> float:
    """A plausible time: python linear in n, numpy/numba a call overhead plus a faster slope."""
    scale = 1.0 if machine == "box" else 1.7
    if backend == "python":
        t = 2e-7 * size
    elif backend == "numpy":
        t = 1e-6 + size * (1e-9 if simd else 2.5e-9)
        if op == "exp" and dtype == "float64" and commit >= STEP_AT and machine == "box" and simd:
            t *= 1.6
    else:
        t = 6e-6 + size * (3e-10 if simd else 1.2e-9)
    if op == "exp":
        t *= 3
    wobble = 1 + 0.003 * ((commit * 7 + size) % 5 - 2)
    return t * scale * wobble


def build_tree(
    tree: ResultsTree, *, machines: tuple[str, ...] = ("box", "arm"), evil: bool = False, commits: list[str] | None = None
) -> Path:
    """A tree shaped like tensorscope's own suite: backend x op x size x dtype, SIMD on/off envs,
    a track_ accuracy benchmark, a throughput track, a regression step, skipped and failed cells,
    provenance with roofs, and one unreadable file."""
    hashes = commits or [commit_hash(i) for i in range(N_COMMITS)]
    grid = [_q(BACKENDS), _q(OPS), _q(SIZES), _q(DTYPES)]
    names = ["backend", "op", "size", "dtype"]
    tree.add_benchmark(ELEMENTWISE, params=grid, param_names=names)
    tree.add_benchmark(MATMUL, params=[_q(["python", "numpy"]), _q(["matmul"]), _q([64, 256]), _q(["float64"])], param_names=names)
    tree.add_benchmark(
        ACCURACY, params=[_q(["numpy", "numba"]), _q(OPS), _q(DTYPES)], param_names=["backend", "op", "dtype"], unit="relative error"
    )
    tree.add_benchmark(THROUGHPUT, params=[_q(["numpy", "numba"]), _q(OPS)], param_names=["backend", "op"], unit="GFLOP/s")
    tree.add_benchmark(BANDWIDTH, params=[_q(["copy", "triad"]), _q(["1"])], param_names=["kernel", "threads"], unit="GB/s")
    tree.add_benchmark(GEMM, params=[_q(DTYPES), _q(["1"])], param_names=["dtype", "threads"], unit="GFLOP/s")
    evil_bench = f"bench_evil.Evil.time_{EVIL}"
    if evil:
        tree.add_benchmark(evil_bench, params=[[repr(EVIL)]], param_names=["backend"])
    for machine in machines:
        tree.add_machine(machine, cpu="Xeon Gold" if machine == "box" else "Neoverse N1", arch="x86_64", num_cpu="8", ram="16000000000")
        for i in range(N_COMMITS):
            for simd in (True, False):
                if not simd and i < N_COMMITS - 2:
                    continue  # SIMD-off runs only at the two newest commits
                env = f"virtualenv-py3.11-TENSORSCOPE_SIMD{'on' if simd else 'off'}"
                values: list[float | None] = []
                for backend in BACKENDS:
                    for op in OPS:
                        for size in SIZES:
                            for dtype in DTYPES:
                                if backend == "python" and size > 1000 and dtype == "float32":
                                    values.append(NAN)  # skipped cell
                                elif backend == "numba" and op == "add" and size == 1000 and dtype == "float32" and i == 2:
                                    values.append(None)  # failed cell
                                else:
                                    values.append(elementwise_time(backend, op, size, dtype, commit=i, simd=simd, machine=machine))
                matmul = [64**3 * 2e-7, 256**3 * 2e-7, 64**3 * 2e-11 + 2e-6, 256**3 * 2e-11 + 2e-6]
                accuracy = [1e-16 * (1 + (i >= 6)), 2e-16, 1e-7, 1e-7, 3e-16, 2e-16, 2e-7, 1e-7]
                gflops = [1.5, 0.9, 4.0, 1.1]
                results: dict[str, list[float | None] | None] = {
                    ELEMENTWISE: values,
                    MATMUL: matmul,
                    ACCURACY: accuracy,
                    THROUGHPUT: gflops,
                    BANDWIDTH: [12.0, 14.0],
                    GEMM: [200.0, 100.0],
                }
                if evil:
                    results[evil_bench] = [1e-3]
                tree.add_run(
                    machine, hashes[i], results, date=commit_date(i), env=env, env_vars={"TENSORSCOPE_SIMD": "on" if simd else "off"}
                )
        tree.add_provenance(
            machine,
            hashes[N_COMMITS - 1],
            "virtualenv-py3.11-TENSORSCOPE_SIMDon",
            {
                "cpu": {
                    "model": "Xeon Gold" if machine == "box" else "Neoverse N1",
                    "simd": ["AVX2", "AVX512F"],
                    "cache": {"l1d": "32 KiB (1 instance)", "l2": "1 MiB (1 instance)", "l3": "8 MiB (1 instance)"},
                },
                "numpy": {"version": "2.4.0", "blas": "openblas"},
                "roofs": {"memory_bandwidth_bytes_per_s": 2.0e10, "peak_flops_per_s": 5.0e11},
            },
        )
    if evil:
        tree.add_machine(EVIL, cpu=EVIL)
        tree.add_run(EVIL, hashes[0], {evil_bench: [2e-3]}, date=commit_date(0))
    (tree.root / machines[0] / "deadbeef-broken.json").write_text('{"results": {', encoding="utf-8")
    return tree.root


@pytest.fixture
def suite_tree(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = build_tree(results_tree)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(root))
    monkeypatch.delenv("TENSORSCOPE_CACHE_DIR", raising=False)
    monkeypatch.delenv("TENSORSCOPE_REPO", raising=False)
    return root


def run_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page != "overview":
        at.switch_page(PAGES[page])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts_of(at: AppTest) -> list[dict[str, object]]:
    """The plotly figures on the page, as plotly JSON."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _values(array: object) -> list[float]:
    """A plotly JSON array: a plain list, or a typed array ({"dtype", "bdata"} base64)."""
    if isinstance(array, dict):
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)  # type: ignore[call-overload]


def test_unreadable_file_is_listed_in_a_visible_warning(suite_tree: Path) -> None:
    at = run_page("overview")
    assert any("deadbeef-broken.json" in w.value and "could not be read" in w.value for w in at.warning)


def test_overview(suite_tree: Path) -> None:
    at = run_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Machines"] == "2" and metrics["Commits"] == str(N_COMMITS)
    assert metrics["Latest run"] != "n/a"
    # the status bar is plain HTML (no plotly.js on the first page), with a count per status
    assert not charts_of(at)
    (status,) = [h.proto.body for h in at.get("html") if "ts-status" in h.proto.body]
    assert re.search(r"failed <b>[1-9][0-9,]*</b>", status) and re.search(r"ok <b>[1-9][0-9,]*</b>", status)
    assert len(at.dataframe) >= 3
    assert all(b.proto.label.startswith("Download") for b in at.get("download_button"))
    assert len(at.get("download_button")) == len(at.dataframe)


def _frame_with(at: AppTest, *columns: str) -> Any:
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def test_overview_names_the_fastest_backend_per_op_and_its_speedup_over_python(suite_tree: Path) -> None:
    at = run_page("overview", {"omachine": "all machines (a column each)"})
    fastest = _frame_with(at, "op", "fastest", "x python")
    assert fastest.columns[0] == "machine"  # every row names the machine it speaks for
    # one row per machine, op and dtype: the main environment (SIMD on, the most results) only
    assert len(fastest) == 2 * (len(OPS) * len(DTYPES) + 1)  # and matmul float64
    assert not fastest.duplicated(["machine", "op", "dtype"]).any()
    assert any("box: `virtualenv-py3.11-TENSORSCOPE_SIMDon`" in c.value for c in at.caption)
    row = fastest[(fastest["machine"] == "box") & (fastest["op"] == "exp") & (fastest["dtype"] == "float64")].iloc[0]
    assert row["size"] == str(max(SIZES)) and row["fastest"] == "numba"  # numpy's exp got slower at commit STEP_AT
    t = {b: elementwise_time(b, "exp", max(SIZES), "float64", commit=N_COMMITS - 1, simd=True, machine="box") for b in BACKENDS}
    assert row["x python"] == pytest.approx(t["python"] / t["numba"], rel=1e-6)
    assert row["runner-up"] == "numpy" and row["ahead by"] == pytest.approx(t["numpy"] / t["numba"], rel=1e-6)
    assert row["time"] == format_value(t["numba"], "seconds")
    # python is skipped above 1000 elements in float32: its speedup comes from the largest size both ran
    row = fastest[(fastest["machine"] == "box") & (fastest["op"] == "add") & (fastest["dtype"] == "float32")].iloc[0]
    assert row["size"] == str(max(SIZES)) and row["python size"] == str(min(SIZES))
    t = {b: elementwise_time(b, "add", min(SIZES), "float32", commit=N_COMMITS - 1, simd=True, machine="box") for b in BACKENDS}
    assert row["x python"] == pytest.approx(t["python"] / t[row["fastest"]], rel=1e-6)


def test_overview_shows_one_machine_at_a_time_the_most_complete_first(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """ "big" ran the whole grid at its newest commit, "gpu" a later, smaller run at 1e8: the default
    table is big's alone (no row of gpu's 1e8 cells), and gpu's is one choice away."""
    grid = [_q(["python", "numpy"]), _q(["add"]), _q([1000, 10_000_000, 100_000_000]), _q(["float32"])]
    results_tree.add_benchmark(ELEMENTWISE, params=grid, param_names=["backend", "op", "size", "dtype"])
    results_tree.add_machine("big", cpu="EPYC")
    results_tree.add_machine("gpu", cpu="Xeon")
    results_tree.add_run("big", commit_hash(0), {ELEMENTWISE: [2e-4, NAN, NAN, 1e-6, 1e-2, NAN]}, date=commit_date(0))
    results_tree.add_run("gpu", commit_hash(1), {ELEMENTWISE: [1e-4, NAN, NAN, NAN, NAN, 5e-3]}, date=commit_date(1))
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("overview")
    assert at.selectbox(key="omachine").value == "big"
    fastest = _frame_with(at, "op", "fastest")
    assert "machine" not in fastest.columns and list(fastest["size"]) == ["10000000"]
    at = run_page("overview", {"omachine": "gpu"})
    fastest = _frame_with(at, "op", "fastest")
    assert list(fastest["size"]) == ["100000000"] and list(fastest["fastest"]) == ["numpy"]


def test_overview_lists_changes_with_one_column_per_parameter(suite_tree: Path) -> None:
    at = run_page("overview")
    changes = _frame_with(at, "change", "measure")
    assert "params" not in changes.columns and {"backend", "op", "size", "dtype", "before", "after", "commits"} <= set(changes.columns)
    step = changes[(changes["backend"] == "numpy") & (changes["op"] == "exp") & (changes["dtype"] == "float64")]
    assert set(step["size"]) == {str(s) for s in SIZES}
    assert set(step["change"]) == {"1.6x slower"} and set(step["measure"]) == {"time"}
    assert all(c.endswith(".." + commit_hash(STEP_AT)[:8]) for c in step["commits"])
    newest = commit_hash(N_COMMITS - 1)[:8]
    assert any(f"newest commit `{newest}`: 0 regression(s)" in m.value for m in at.markdown)


def test_overview_leaves_out_small_memory_changes(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2% peak-memory step is detected (the Regressions page lists it) but does not crowd the
    overview, where a 30% time regression shows."""
    memory = "bench_fused.FusedMemory.peakmem_op"
    grid, names = [_q(["numpy"]), _q(["softmax"])], ["backend", "op"]
    results_tree.add_benchmark(ELEMENTWISE, params=grid, param_names=names)
    results_tree.add_benchmark(memory, params=grid, param_names=names)
    results_tree.add_machine("box")
    for i in range(10):
        wobble = 1 + 0.0005 * (i % 3 - 1)
        results_tree.add_run(
            "box",
            commit_hash(i),
            {ELEMENTWISE: [1e-3 * (1.3 if i >= 5 else 1.0) * wobble], memory: [1e8 * (1.02 if i >= 5 else 1.0) * wobble]},
            date=commit_date(i),
            ci=0.001,
        )
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("overview")
    changes = _frame_with(at, "change", "measure")
    assert list(changes["measure"]) == ["time"] and list(changes["change"]) == ["1.3x slower"]
    from tensorscope.analysis.regressions import detect_changes
    from tensorscope.results import load_results

    found = detect_changes(load_results(results_tree.root).table)
    (small,) = found[found["benchmark"] == memory]["factor"]  # detected, just small
    assert small == pytest.approx(1.02, rel=1e-3)


def test_sessions_share_the_loaded_results_and_the_analysis(
    suite_tree: Path, results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New sessions (each AppTest is one) and filter changes reuse the server's results and analysis;
    a new result file makes the next session read and analyse again."""
    from dashboard import state
    from tensorscope.analysis import regressions, speedups

    calls: Counter[str] = Counter()

    def counting(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(state, "load_results", counting("load", state.load_results))
    monkeypatch.setattr(regressions, "analyse", counting("analyse", regressions.analyse))
    monkeypatch.setattr(speedups, "fastest", counting("fastest", speedups.fastest))
    run_page("overview")
    assert calls == {"load": 1, "analyse": 1, "fastest": 1}
    run_page("overview")
    run_page("overview", {"machine": "box", "env": "virtualenv-py3.11-TENSORSCOPE_SIMDon"})  # filters apply after the cache
    run_page("regressions")  # another page, same analysis
    assert calls == {"load": 1, "analyse": 1, "fastest": 1}
    results_tree.add_run("box", commit_hash(N_COMMITS), {MATMUL: [1e-3] * 4}, date=commit_date(N_COMMITS))
    run_page("overview")
    assert calls == {"load": 2, "analyse": 2, "fastest": 2}


def test_regressions_finds_and_shows_the_step(suite_tree: Path) -> None:
    at = run_page("regressions")
    expected = [
        o
        for o in at.selectbox(key="change").options
        if o.startswith(f"box|virtualenv-py3.11-TENSORSCOPE_SIMDon|{ELEMENTWISE}|backend='numpy', op='exp'") and "dtype='float64'" in o
    ]
    assert len(expected) == 2  # sizes 1000 and 100000
    assert all(o.endswith("@" + commit_hash(STEP_AT)[:8]) for o in expected)
    assert not any("backend='numba'" in o or "backend='python'" in o for o in at.selectbox(key="change").options)
    at = run_page("regressions", {"change": expected[0]})
    assert at.selectbox(key="change").value == expected[0]
    figs = charts_of(at)
    series = figs[0]
    assert any(s["type"] == "rect" for s in series["layout"]["shapes"])
    assert len(at.dataframe) >= 2  # the changes and the commit range
    assert any(f["data"] and f["data"][0]["type"] == "box" for f in figs)  # raw samples


def test_regression_commit_range_has_messages_from_git(results_tree: ResultsTree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    hashes = []
    for i in range(N_COMMITS):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", f"change number {i} <b>bold</b>"], check=True)
        hashes.append(subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip())
    root = build_tree(results_tree, commits=hashes)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(root))
    monkeypatch.setenv("TENSORSCOPE_REPO", str(repo))
    at = run_page("regressions", {"kind": "regressions"})
    wanted = next(
        o for o in at.selectbox(key="change").options if f"{ELEMENTWISE}|backend='numpy', op='exp', size=1000, dtype='float64'" in o
    )
    at = run_page("regressions", {"change": wanted})
    commits = next(d.value for d in at.dataframe if "message" in d.value.columns)
    assert list(commits["message"]) == [f"change number {i} <b>bold</b>" for i in (STEP_AT - 1, STEP_AT)]


def test_regressions_selection_comes_from_the_url(suite_tree: Path) -> None:
    at = run_page("regressions", {"kind": "both", "sort": "confidence", "min": "1"})
    assert at.selectbox(key="kind").value == "both"
    assert at.selectbox(key="sort").value == "confidence"
    at.selectbox(key="kind").set_value("improvements").run()
    assert not at.exception
    assert at.selectbox(key="kind").value == "improvements"
    assert at.selectbox(key="kind").proto.query_param_key == "kind"  # the frontend writes it to the URL


WIDGETS = ("selectbox", "multiselect", "toggle", "radio", "select_slider", "slider", "checkbox", "text_input", "number_input")


@pytest.mark.parametrize("page", list(PAGES))
def test_every_filter_and_selection_is_in_the_url(suite_tree: Path, page: str) -> None:
    at = run_page(page)
    widgets = [w for kind in WIDGETS for w in at.get(kind)]
    assert widgets, "no filters at all"
    # a triage form's inputs record a decision (an action, kept in the store), they choose no view
    unbound = [(w.type, w.proto.label) for w in widgets if not w.proto.query_param_key and not str(w.key).startswith("triage_")]
    assert not unbound


def test_speedups_heatmap_curves_and_simd(suite_tree: Path) -> None:
    at = run_page("speedups", {"smachine": "box", "ssize": "100000", "sdtype": "float64", "sop": "add"})
    assert at.selectbox(key="senv").value.endswith("SIMDon")
    figs = {f["layout"].get("title", {}).get("text", ""): f for f in charts_of(at)}
    heat = next(f for t, f in figs.items() if t.startswith("size 100000"))["data"][0]
    assert heat["type"] == "heatmap" and set(heat["x"]) == {"numba", "numpy"} and set(heat["y"]) == {"add", "exp"}
    speedup = dict(zip(heat["x"], (float(v.rstrip("x")) for v in heat["text"][0]), strict=True))  # row "add"
    assert speedup["numpy"] == pytest.approx(2e-7 * 1e5 / (1e-6 + 1e5 * 1e-9), rel=0.05)
    curves = next(f for t, f in figs.items() if t.startswith("add"))
    assert curves["layout"]["xaxis"]["type"] == "log" and curves["layout"]["yaxis"]["type"] == "log"
    assert {t["name"] for t in curves["data"]} >= {"numba", "numpy", "python", "crossover"}
    simd = [f for f in charts_of(at) if f["data"] and f["data"][0]["type"] == "bar"]
    assert simd, "no SIMD on/off chart"
    assert any("No GPU results" in i.value for i in at.info)


def test_speedups_page_sets_the_study_groups_figures_beside_ours(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    results_tree.add_benchmark(
        "bench_fused.Fused.time_op",
        params=[_q(["python", "numpy", "numba"]), _q(["softmax"]), _q([10_000, 1_000_000]), _q(["float32"])],
        param_names=["backend", "op", "size", "dtype"],
    )
    results_tree.add_machine("vm", cpu="AMD EPYC (avx2)", num_cpu="2")
    # python at 1e6: 2 s; numpy 0.01 s; numba 0.004 s; at 1e4 python 20 ms
    results_tree.add_run("vm", commit_hash(0), {"bench_fused.Fused.time_op": [0.02, 2.0, 1e-4, 0.01, 5e-5, 0.004]}, date=commit_date(0))
    results_tree.add_provenance("vm", commit_hash(0), "virtualenv-py3.11", {"platform": {"python_version": "3.11.7"}})
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("speedups")
    table = _frame_with(at, "our op and size", "seed speedup", "numba over python")
    softmax = table[table["our op and size"] == "softmax, 1,000,000 elements"].iloc[0]
    assert softmax["seed speedup"] == "85.7x" and softmax["numba over python"].startswith("500x")
    assert softmax["numpy over python"].startswith("200x")
    matmul = table[table["our op and size"] == "matmul 500x500"].iloc[0]
    assert matmul["numpy over python"] == "not measured" and matmul["seed speedup"] == "2,290-2,865x"
    assert any("pure-Python interpreter loop" in i.value for i in at.info)
    assert any("Python 3.11.7" in m.value for m in at.markdown)
    assert any("matmul 500x500" in c.value and "python not timed at this size here" in c.value for c in at.caption)


def test_pages_default_to_the_environment_of_the_newest_commit(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """An old grid with many results in one env, the current one (fewer commits so far) in another: the
    pages open on the current one, and on SIMD on where SIMD off ran at the same newest commit."""
    grid = [_q(["python", "numpy"]), _q(["add"]), _q([1000]), _q(["float32"])]
    results_tree.add_benchmark(ELEMENTWISE, params=grid, param_names=["backend", "op", "size", "dtype"])
    results_tree.add_machine("vm")
    for i in range(6):
        results_tree.add_run("vm", commit_hash(i), {ELEMENTWISE: [1e-4, 1e-6]}, date=commit_date(i), env="virtualenv-py3.11-old")
    for simd in ("on", "off"):
        env = f"virtualenv-py3.11-TENSORSCOPE_SIMD{simd}-TENSORSCOPE_THREADS1"
        results_tree.add_run("vm", commit_hash(6), {ELEMENTWISE: [1e-4, 2e-6]}, date=commit_date(6), env=env)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("speedups")
    assert at.selectbox(key="senv").value == "virtualenv-py3.11-TENSORSCOPE_SIMDon-TENSORSCOPE_THREADS1"
    at = run_page("overview")
    fastest = _frame_with(at, "op", "fastest", "x python")
    assert list(fastest["x python"]) == [pytest.approx(50.0)]  # 1e-4 / 2e-6 at the newest commit, not the old env's 100x


def test_speedups_default_view_is_the_fullest_heatmap(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """python is too slow for the largest size and float64 is timed for one op only: the first view
    is float32 at the largest size python ran (every op), not an empty float64 / largest-size cell."""
    ops, sizes = ["add", "exp", "sin"], [100, 10_000, 1_000_000]
    results_tree.add_benchmark(
        ELEMENTWISE, params=[_q(["python", "numpy"]), _q(ops), _q(sizes), _q(DTYPES)], param_names=["backend", "op", "size", "dtype"]
    )
    results_tree.add_machine("box")
    values = [
        NAN
        if (backend == "python" and size == sizes[-1]) or (dtype == "float64" and op != "exp")
        else 1e-6 * size * (50 if backend == "python" else 1)
        for backend in ("python", "numpy")
        for op in ops
        for size in sizes
        for dtype in DTYPES
    ]
    results_tree.add_run("box", commit_hash(0), {ELEMENTWISE: values}, date=commit_date(0))
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("speedups")
    assert at.selectbox(key="sdtype").value == "float32" and at.selectbox(key="ssize").value == "10000"
    heat = charts_of(at)[0]["data"][0]
    assert heat["type"] == "heatmap" and set(heat["y"]) == set(ops) and [t for row in heat["text"] for t in row] == ["50x"] * 3
    assert not any("No op was measured" in i.value for i in at.info)


def test_roofline_draws_points_under_measured_roofs(suite_tree: Path) -> None:
    at = run_page("roofline", {"rmachine": "box"})
    fig = charts_of(at)[0]
    names = [t.get("name", "") for t in fig["data"]]
    assert "roof: box CPU (DRAM)" in names
    assert {"numpy", "numba", "python"} <= set(names)
    roof = fig["data"][names.index("roof: box CPU (DRAM)")]
    assert max(_values(roof["y"])) == pytest.approx(100e9)  # float64 GEMM peak, in FLOP/s


def test_hardware_compares_machines_and_provenance(suite_tree: Path) -> None:
    at = run_page("hardware", {"ref": "box"})
    fig = charts_of(at)[0]
    bars = fig["data"][0]
    assert list(bars["x"]) == ["arm"]
    assert _values(bars["y"])[0] < 1  # arm is 1.7x slower on the timed benchmarks
    provenance = at.dataframe[-1].value
    assert {"arm", "box"} <= set(provenance.columns)
    assert "cpu.model" in set(provenance["field"])


def two_pythons_tree(results_tree: ResultsTree) -> Path:
    """vm (a py3.11 virtualenv) and gpu (its image's Python 3.12, an `existing` env), each with provenance."""
    results_tree.add_benchmark(ELEMENTWISE, params=[_q(["numpy"]), _q(["add"])], param_names=["backend", "op"])
    for machine, env, value in (("vm", "virtualenv-py3.11", 4e-3), ("gpu", "existing-py_opt_torch_.venv_bin_python3", 1e-3)):
        results_tree.add_machine(machine, cpu="Xeon", arch="x86_64", num_cpu="2", ram="16000000000")
        results_tree.add_run(machine, commit_hash(0), {ELEMENTWISE: [value]}, date=commit_date(0), env=env)
        results_tree.add_run(machine, commit_hash(1), {ELEMENTWISE: [value]}, date=commit_date(1), env=env)
    results_tree.add_provenance(
        "gpu",
        commit_hash(1),
        "existing-py_opt_torch_.venv_bin_python3",
        {
            "cpu": {"model": "Intel Xeon Platinum", "logical_cores": 16},
            "platform": {"python_version": "3.12.3"},
            "gpus": [{"name": "NVIDIA H200"}],
            "thread_setting": "all",
            "env": {"OPENBLAS_CORETYPE": "SAPPHIRERAPIDS"},
        },
    )
    results_tree.add_provenance(
        "vm",
        commit_hash(1),
        "virtualenv-py3.11",
        {"cpu": {"model": "AMD EPYC 9B14"}, "platform": {"python_version": "3.11.7"}, "env": {"OMP_NUM_THREADS": "1"}},
    )
    return results_tree.root


def test_hardware_falls_back_to_pairs_across_python_versions_marked(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    # The H200's results come from its image's interpreter (asv env "existing-py_opt_..._python3",
    # no version in the name; provenance says 3.12), the VM's from a py3.11 virtualenv: nothing like
    # with like, so the page shows the pairs across Python versions, marked, with the reason.
    two_pythons_tree(results_tree)
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    monkeypatch.delenv("TENSORSCOPE_CACHE_DIR", raising=False)

    at = run_page("hardware", {"ref": "vm"})
    (warning,) = [w.value for w in at.warning if "like with like" in w.value]
    assert "across Python versions" in warning and "Python 3.12 on gpu vs 3.11" in warning
    bars = charts_of(at)[0]["data"][0]
    assert list(bars["x"]) == ["gpu (across Python versions)"] and _values(bars["y"])[0] == pytest.approx(4.0)
    table = _frame_with(at, "comparison", "faster")
    assert set(table["comparison"]) == {"across Python versions"} and set(table["env_match"]) == {"different Python"}
    # each machine's provenance beside its ratios, at the run compared
    facts = _frame_with(at, "role", "cpu", "python", "settings").set_index("machine")
    assert facts.loc["vm", "role"] == "reference" and facts.loc["vm", "python"] == "3.11.7"
    assert facts.loc["gpu", "gpu"] == "NVIDIA H200" and facts.loc["gpu", "cpu"] == "Intel Xeon Platinum"
    assert "OPENBLAS_CORETYPE=SAPPHIRERAPIDS" in facts.loc["gpu", "settings"] and "OMP_NUM_THREADS=1" in facts.loc["vm", "settings"]
    assert facts.loc["gpu", "comparison"] == "across Python versions"

    at = run_page("hardware", {"ref": "vm", "hpy": "only like with like"})
    assert any("Python versions differ" in i.value for i in at.info)
    assert "No benchmark in common" in json.dumps(charts_of(at)[0])


def test_hardware_prefers_like_with_like_where_there_is_some(suite_tree: Path) -> None:
    at = run_page("hardware", {"ref": "box"})
    assert not [w for w in at.warning if "like with like" in w.value]
    table = _frame_with(at, "comparison", "faster")
    assert set(table["comparison"]) == {"like with like"}


def test_roofline_defaults_to_a_machine_and_commit_with_measured_roofs(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """ "busy" has the most results but never calibrated; "calib" calibrated at commit 1, not at its newest (2)."""
    grid = [_q(["numpy"]), _q(["add"]), _q([100_000]), _q(["float32"])]
    results_tree.add_benchmark(ELEMENTWISE, params=grid, param_names=["backend", "op", "size", "dtype"])
    results_tree.add_benchmark(BANDWIDTH, params=[_q(["triad"]), _q(["1"])], param_names=["kernel", "threads"], unit="GB/s")
    results_tree.add_benchmark(GEMM, params=[_q(["float32"]), _q(["1"])], param_names=["dtype", "threads"], unit="GFLOP/s")
    results_tree.add_machine("busy")
    results_tree.add_machine("calib")
    for i in range(6):
        results_tree.add_run("busy", commit_hash(i), {ELEMENTWISE: [1e-4]}, date=commit_date(i))
    for i in range(3):
        calibration = {BANDWIDTH: [20.0 + i], GEMM: [300.0 + i]} if i == 1 else {}
        results_tree.add_run("calib", commit_hash(i), {ELEMENTWISE: [2e-4], **calibration}, date=commit_date(i))
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("roofline")
    assert at.selectbox(key="rmachine").value == "calib" and at.selectbox(key="rcommit").value == commit_hash(1)[:8]
    fig = charts_of(at)[0]
    (roof,) = [t for t in fig["data"] if t.get("name") == "roof: calib CPU (DRAM)"]
    assert max(_values(roof["y"])) == pytest.approx(301e9)  # that run's own gemm peak
    # at a commit without calibration, the machine's newest roofs, said so
    at = run_page("roofline", {"rmachine": "calib", "rcommit": commit_hash(2)[:8]})
    assert any("ran no calibration" in c.value and commit_hash(1)[:8] in c.value for c in at.caption)
    assert any(t.get("name") == "roof: calib CPU (DRAM)" for t in charts_of(at)[0]["data"])


def test_roofline_says_which_memory_level_holds_each_op(suite_tree: Path) -> None:
    at = run_page("roofline", {"rmachine": "box", "rdtype": "float64"})
    table = _frame_with(at, "op", "backend", "share of roof", "data fits in")
    assert not [c for c in table.columns if c.startswith("param_")]  # human column names
    fits = table.groupby(["op", "size"])["data fits in"].first().to_dict()
    # float64 add: 3 arrays of n elements; provenance says L1 32 KiB, L2 1 MiB, L3 8 MiB
    assert fits[("add", "1000")] == "L1" and fits[("add", "100000")] == "L3"
    assert fits[("matmul", "64")] == "L2" and fits[("matmul", "256")] == "L3"  # 3 n x n matrices: 96 KiB, 1.5 MiB
    assert any("DRAM" in c.value and "L3 8 MiB" in c.value for c in at.caption)
    fig = charts_of(at)[0]
    assert any(t.get("name", "").startswith("data fits in a cache") for t in fig["data"])


def test_accuracy_defaults_show_errors_at_the_newest_commit(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    """add is exact everywhere (an empty log chart before); SIMD off ran at older commits only
    (its name sorts first, so it used to be the default and named an old commit "newest")."""
    results_tree.add_benchmark(
        ACCURACY, params=[_q(["numpy", "numba"]), _q(OPS), _q(["float32"])], param_names=["backend", "op", "dtype"], unit="relative error"
    )
    results_tree.add_machine("box")
    for i in range(4):
        for simd in ("on", "off"):
            if simd == "off" and i > 1:
                continue
            errors = [1e-7 * (1 + i), 0.0, 2e-7, 0.0]  # numpy exp, numpy add, numba exp, numba add
            results_tree.add_run(
                "box", commit_hash(i), {ACCURACY: errors}, date=commit_date(i), env=f"virtualenv-py3.11-TENSORSCOPE_SIMD{simd}"
            )
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("accuracy")
    assert at.selectbox(key="aenv").value.endswith("SIMDon") and at.selectbox(key="aop").value == "exp"
    assert any(commit_hash(3)[:8] in h.value for h in at.subheader)
    heat = charts_of(at)[0]
    exact = next(t for t in heat["data"] if t.get("name") == "exact")
    assert [t for row in exact["text"] for t in row if t] == ["exact", "exact"]  # the add row
    history = charts_of(at)[1]
    numpy = next(t for t in history["data"] if t.get("name") == "numpy" and t.get("mode") == "lines+markers")
    assert _values(numpy["y"]) == pytest.approx([1e-7, 2e-7, 3e-7, 4e-7])
    at = run_page("accuracy", {"aop": "add"})
    assert len(charts_of(at)) == 1  # the heatmap; no blank history chart
    assert any("exactly (error 0)" in i.value for i in at.info)


def test_accuracy_heatmap_and_history(suite_tree: Path) -> None:
    at = run_page("accuracy", {"amachine": "box", "adtype": "float32", "aop": "exp"})
    assert at.selectbox(key="abench").value == ACCURACY
    heat, history = charts_of(at)[:2]
    assert heat["data"][0]["type"] == "heatmap"
    assert history["layout"]["yaxis"]["type"] == "log"
    numpy = next(t for t in history["data"] if t.get("name") == "numpy" and t.get("mode") == "lines+markers")
    y = _values(numpy["y"])
    assert y[-1] == pytest.approx(2 * y[0])  # the error doubled at commit 6


def test_explorer_filters_by_url(suite_tree: Path) -> None:
    at = run_page(
        "explorer", {"bench": ELEMENTWISE, "p_backend": "numpy", "p_op": "exp", "p_size": "1000", "p_dtype": "float64", "machine": "box"}
    )
    assert at.selectbox(key="bench").value == ELEMENTWISE
    assert at.multiselect(key="p_backend").value == ["numpy"]
    fig = charts_of(at)[0]
    lines = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert len(lines) == 2  # SIMD on and off envs on box
    assert len(at.dataframe) == 1 and len(at.get("download_button")) == 1


def test_every_page_runs_on_an_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(tmp_path / "nothing-here"))
    for page in PAGES:
        at = run_page(page)
        assert any("No benchmark results" in i.value for i in at.info), page


@pytest.mark.parametrize("name", ["own-example-tinypkg", "gt4py-benchmarks", "thematrix", "mjwarp-asv", "BLAS-Benchmarks", "numpy-bench"])
def test_pages_run_on_other_projects_results(shared_sets: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Any asv results directory: no backend parameter, no provenance, old formats, GPU machines."""
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(shared_sets / name / "results"))
    for page in PAGES:
        at = run_page(page)
        assert at.title, page
    if name == "gt4py-benchmarks":  # results format version 1: every file reported, none hidden
        assert any("could not be read" in w.value for w in at.warning)


def test_speedups_gpu_against_cpu(results_tree: ResultsTree, monkeypatch: pytest.MonkeyPatch) -> None:
    backends = ["python", "torch:cpu", "torch:cuda"]
    results_tree.add_benchmark(
        ELEMENTWISE, params=[_q(backends), _q(["exp"]), _q(SIZES), _q(["float32"])], param_names=["backend", "op", "size", "dtype"]
    )
    results_tree.add_machine("gpubox", cpu="EPYC", gpu="H100")
    for i in range(2):
        # python, then torch on the CPU, then torch on the GPU (a launch overhead, then flat)
        values = [2e-4, 2e-2, 2e-5, 2e-4, 3e-5, 3.5e-5]
        results_tree.add_run("gpubox", commit_hash(i), {ELEMENTWISE: values}, date=commit_date(i))
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(results_tree.root))
    at = run_page("speedups", {"ssize": "100000"})
    gpu = next(f for f in charts_of(at) if f["data"] and f["data"][0].get("name") == "torch:cuda vs torch:cpu")
    assert _values(gpu["data"][0]["y"])[0] == pytest.approx(2e-4 / 3.5e-5)


def test_inline_code_shows_any_path_literally() -> None:
    from dashboard.app_pages._ui import code

    assert code("/srv/results") == "/srv/results"
    assert code("/a`b``c\nd") == "`` /a`b``c d ``"  # with the caller's backtick: a fence longer than any run inside


def test_csv_export_keeps_samples_and_defuses_formulas() -> None:
    import pandas as pd

    from dashboard.app_pages._ui import md, to_csv

    frame = pd.DataFrame({"name": pd.Categorical(["=HYPERLINK(1)", "ok"]), "samples": [[1.0, 2.0], None], "value": [1.5, 2.0]})
    assert to_csv(frame).decode().splitlines() == ["name,samples,value", "'=HYPERLINK(1),1.0 2.0,1.5", "ok,,2.0"]
    assert md("[x](javascript:alert(1)) <b>") == "\\[x\\]\\(javascript\\:alert\\(1\\)\\) \\<b\\>"


def test_regressions_page_lists_an_unstable_series_with_its_levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one series switching between 1 ms and 1.6 ms from commit to commit: unstable, not a step
    tree = ResultsTree(tmp_path / "results")
    bench = "bench_switch.Switch.time_op"
    tree.add_benchmark(bench)
    tree.add_machine("box", cpu="Xeon")
    for i in range(16):
        value = 1.6e-3 if (i // 2) % 2 else 1e-3
        tree.add_run("box", commit_hash(i), {bench: [value * (1 + 0.001 * (i % 3))]}, date=commit_date(i))
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(tree.root))
    monkeypatch.setenv("TENSORSCOPE_CACHE_DIR", "none")
    at = run_page("regressions")
    tables = [t.value for t in at.dataframe]
    unstable = [t for t in tables if {"low", "high", "switches"} <= set(t.columns)]
    assert len(unstable) == 1 and list(unstable[0]["benchmark"]) == [bench]
    assert unstable[0]["low"].iloc[0] < 1.05e-3 < 1.55e-3 < unstable[0]["high"].iloc[0]
    assert any(b.label == "Download unstable-series as CSV" for b in at.get("download_button"))


def test_regressions_page_offers_the_history_when_nothing_is_in_effect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one series 2x slower from commit 6 and back from commit 12 (nothing in effect), and one that
    # switches between two levels (unstable)
    tree = ResultsTree(tmp_path / "results")
    bench, switch = "bench_undo.Undo.time_op", "bench_switch.Switch.time_op"
    tree.add_benchmark(bench)
    tree.add_benchmark(switch)
    tree.add_machine("box", cpu="Xeon")
    for i in range(18):
        wobble = 1 + 0.002 * (i % 3)
        level = 2.0 if 6 <= i < 12 else 1.0
        switched = 1.6 if (i // 2) % 2 else 1.0
        tree.add_run("box", commit_hash(i), {bench: [1e-3 * level * wobble], switch: [1e-3 * switched * wobble]}, date=commit_date(i))
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(tree.root))
    monkeypatch.setenv("TENSORSCOPE_CACHE_DIR", "none")
    at = run_page("regressions")
    (message,) = [i.value for i in at.info if "in effect" in i.value]
    # no regression is in effect (the default view); the return to the old level may count as an
    # improvement in effect, which the default kind hides
    assert message.startswith("No code change of 5% or more is in effect.") or message.startswith(
        "No code change in effect passes these filters (1 change in effect: 0 regressions, 1 improvement)."
    )
    assert "2 code steps of at least 5%" in message and "(1 regression, 1 improvement)" in message
    assert "0 environment shifts and 1 unstable series" in message
    assert at.selectbox(key="scope").value == "in effect" and at.selectbox(key="kind").value == "regressions"
    at.button(key="show_history").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # the filters themselves moved (so the URL holds the view): every step, both kinds
    assert at.selectbox(key="scope").value == "every step" and at.selectbox(key="kind").value == "both"
    assert at.query_params["scope"] == "every step" and at.query_params["kind"] == "both"
    (steps,) = [d.value for d in at.dataframe if "kind" in d.value.columns]
    assert sorted(steps["kind"]) == ["improvement", "regression"] and set(steps["benchmark"]) == {bench}
    assert set(steps["commit_after"]) == {commit_hash(6)[:8], commit_hash(12)[:8]}
    # the same view from its link
    at = run_page("regressions", {"scope": "every step", "kind": "both"})
    assert len(next(d.value for d in at.dataframe if "kind" in d.value.columns)) == 2
