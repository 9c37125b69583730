"""compare, bisect and confirm end to end on a tiny generated repository (real fresh processes, a few seconds).

The toy suite sleeps 2 ms per unit at commits 0-2 and 4 ms at commits 3-5; the tests measure
it with ``--python`` (this interpreter and each commit's source tree: nothing to install) and
2 pairs per cell at 50% confidence (4 at 80% where the order's balance is checked), which is
enough for a 2x step and keeps each run to seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from asv_builder import ResultsTree
from toy_project import make_toy_project

from tensorscope.cli import main
from tensorscope.remeasure.confirm import load_confirmations
from tensorscope.results import load_results

# The commands run in this process, and asv starts git and pip through subprocess with a
# preexec_fn, which runs fork hooks. When another test of the same xdist worker imported jax,
# jax's hook warns that os.fork() and its threads do not mix; the child only execs (no jax code
# runs in it), and `tensorscope compare` itself never imports jax, so the warning is this test
# process's, not the command's.
pytestmark = [
    pytest.mark.filterwarnings(r"ignore:os\.fork\(\) was called:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Exception ignored in. <function _at_fork:pytest.PytestUnraisableExceptionWarning"),
]

# 4 pairs at 80%: where the balance of the order is checked, and for bisect, whose same-level steps must not
# be misled by one process stalled under load (the later options win)
FOUR = ["--pairs", "4", "--max-pairs", "4", "--confidence", "0.8"]
FAST = ["--python", sys.executable, "--machine", "box", "--pairs", "2", "--max-pairs", "2", "--confidence", "0.5", "--seed", "1"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("toy")
    return root, make_toy_project(root, [0.002] * 3 + [0.004] * 3)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def compare_first_two(capsys: pytest.CaptureFixture[str], toy: tuple[Path, list[str]], bench: str, *options: str) -> tuple[int, dict, str]:
    """``compare`` of the toy's first two commits (same code) on ``bench``, FAST, no results; the JSON report."""
    root, commits = toy
    code, out, err = run(
        capsys,
        "compare",
        commits[0],
        commits[1],
        "--config",
        str(root / "asv.conf.json"),
        "-b",
        bench,
        *FAST,
        *options,
        "--no-results",
        "--format",
        "json",
    )
    return code, (json.loads(out) if code == 0 else {}), err


def test_compare_finds_the_slowdown_and_writes_results(
    toy: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, commits = toy
    md = tmp_path / "comment.md"
    config = str(root / "asv.conf.json")
    code, out, err = run(
        capsys,
        "compare",
        commits[2],
        commits[3],
        "--config",
        config,
        "-b",
        "time_work",
        *FAST,
        *FOUR,
        "--format",
        "json",
        "--markdown",
        str(md),
    )
    assert code == 1, err
    doc = json.loads(out)
    assert sorted(c["id"] for c in doc["cells"]) == ["bench_toy.Toy.time_work(1)", "bench_toy.Toy.time_work(2)"]
    for cell in doc["cells"]:
        assert cell["verdict"] == "slower"
        assert 1.2 < cell["ratio"] < 2.2  # 2x planned; sleeps overshoot by a constant under load
        assert sorted(cell["orders"]) == ["AB", "AB", "BA", "BA"]  # randomized, balanced
    assert doc["a"]["subject"] == "toy 2: delay 0.002" and doc["controls"]["thp"] == "off"
    assert md.read_text().startswith("### tensorscope compare: a slowdown beyond the threshold")

    files = [Path(p) for p in doc["results_files"]]
    assert [p.name[:8] for p in files] == [commits[2][:8], commits[3][:8]]
    table = load_results(root / "results").results
    for cell in doc["cells"]:
        for side, commit in (("a", commits[2]), ("b", commits[3])):
            row = table[(table["commit"] == commit) & (table["benchmark"] == cell["benchmark"]) & (table["params"] == cell["params"])]
            assert row["value"].tolist() == [pytest.approx(cell[f"{side}_median"])]
            assert len(row["samples"].iloc[0]) == 4  # one per fresh process

    # asv itself publishes the results directory, with a confirmations file beside the results
    (root / "results" / "box" / "tensorscope").mkdir(exist_ok=True)
    (root / "results" / "box" / "tensorscope" / "confirmations.json").write_text(
        '{"format": "tensorscope-confirmations/1", "confirmations": []}'
    )
    published = subprocess.run([sys.executable, "-m", "asv", "publish", "--config", config], cwd=root, capture_output=True, text=True)
    assert published.returncode == 0, published.stdout + published.stderr
    assert (root / ".asv" / "html" / "index.json").exists()


def test_compare_same_code_exits_0(toy: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    root, commits = toy
    code, out, err = run(
        capsys, "compare", commits[0], commits[1], "--config", str(root / "asv.conf.json"), "-b", "track_constant", *FAST, "--no-results"
    )
    assert code == 0, err
    assert "1 cell: 1 same." in out


@pytest.mark.parametrize(("option", "expected"), [([], 33554432.0), (["--malloc", "default"], 0.0)])
def test_measured_processes_get_a_fixed_mmap_threshold_unless_asked_not_to(
    toy: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: list[str], expected: float
) -> None:
    # glibc's adaptive threshold biased memory-bound cells by environment (conditions.py); the
    # variable must reach the measured process itself, not only this one
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    code, doc, err = compare_first_two(capsys, toy, "track_mmap_threshold", *option)
    assert code == 0, err
    [cell] = doc["cells"]
    assert cell["a_median"] == cell["b_median"] == expected
    assert doc["controls"]["malloc"] == ("default" if option else "fixed")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "HEAD~1", "nosuchcommit"], "'nosuchcommit' is not a commit"),
        (["compare", "HEAD~1", "HEAD", "-b", "time_nothing"], "no benchmark cell matches 'time_nothing'"),
        (["compare", "HEAD~1", "HEAD", "--threshold", "-1"], "threshold must be a positive number"),
        (["compare", "HEAD~1", "HEAD", "--pairs", "3"], "even number of pairs"),
        (["compare", "HEAD~1", "HEAD", "--duet", "--cpus", "0"], "leave out --cpus"),
        (["bisect", "HEAD~5", "HEAD", "--bench", "time_work"], "matches 2 cells; bisect needs one"),
        (["confirm", "--environment", "nope"], "no asv environment named 'nope'"),
    ],
)
def test_usage_errors_exit_2(toy: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    root, _ = toy
    extra = [] if "--environment" in args else ["--python", sys.executable]
    code, _, err = run(capsys, *args, "--config", str(root / "asv.conf.json"), *extra, "--no-results")
    assert code == 2
    assert message in err


def test_missing_configuration_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "compare", "A", "B", "--config", str(tmp_path / "asv.conf.json"))
    assert code == 2 and "no asv configuration at" in err


def test_bisect_finds_the_commit(toy: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    root, commits = toy
    config = str(root / "asv.conf.json")
    code, out, err = run(
        capsys,
        "bisect",
        commits[0],
        commits[5],
        "--bench",
        "bench_toy.Toy.time_work(1)",
        "--config",
        config,
        *FAST,
        *FOUR,
        "--format",
        "json",
        "--no-results",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["first_bad"] == commits[3]
    assert doc["subject"] == "toy 3: delay 0.004"
    assert doc["comparisons"] <= 4  # the check, then ceil(log2(5)) steps
    assert doc["check"]["verdict"] == "slower"


def test_confirm_marks_the_history_regression(toy: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root, commits = toy
    history = ResultsTree(tmp_path / "history")
    history.add_benchmark("bench_toy.Toy.time_work", params=[["1", "2"]], param_names=["n"])
    history.add_machine("box")
    for i, commit in enumerate(commits):
        level = 1.0 if i < 3 else 2.0
        history.add_run("box", commit, {"bench_toy.Toy.time_work": [0.002 * level, 0.004 * level]}, date=1764763200000 + i * 86_400_000)
    code, out, err = run(capsys, "confirm", str(history.root), "--config", str(root / "asv.conf.json"), *FAST, "--cache-dir", "none")
    assert code == 1, err  # a regression confirmed
    assert "2 regressions on box: 2 confirmed, 0 refuted, 0 undecided" in out
    marks = load_confirmations(history.root)
    assert sorted(marks["params"]) == ["n=1", "n=2"]
    assert set(marks["mark"]) == {"confirmed"}
    assert set(marks["commit_before"]) == {commits[2]} and set(marks["commit_after"]) == {commits[3]}
    assert set(marks["series"]) == {
        "box|virtualenv-py3.11|bench_toy.Toy.time_work|n=1",
        "box|virtualenv-py3.11|bench_toy.Toy.time_work|n=2",
    }
    assert (marks["ratio"] > 1.2).all()  # 2x planned; sleeps overshoot by a constant under load
    # the timings joined the history, and the loader still reads it cleanly
    rs = load_results(history.root)
    assert [p for p in rs.problems if p.severity == "error"] == []
    assert len(rs.results) == 12 + 4  # 6 commits x 2 cells, plus both ends re-measured
