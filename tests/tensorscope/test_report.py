"""``tensorscope report``: table and JSON output, filters, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from asv_builder import ResultsTree, commit_date, commit_hash

from tensorscope.cli import main


def _tree(tree: ResultsTree, regress: bool) -> None:
    tree.add_benchmark("b.time_op")
    rng = np.random.default_rng(0)
    for machine in ("m1", "m2"):
        for i in range(10):
            level = 2.0 if (regress and machine == "m1" and i >= 5) else 1.0
            tree.add_run(machine, commit_hash(i), {"b.time_op": [1e-5 * level * float(np.exp(rng.normal(0, 0.003)))]}, date=commit_date(i))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["report", *argv, "--cache-dir", "none"])
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_codes_and_output(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    _tree(results_tree, regress=True)
    root = str(results_tree.root)
    code, out, _ = run(capsys, root)
    assert code == 1
    assert "Regressions in effect beyond 5% (1)" in out and "2.00x" in out and "m1" in out
    assert commit_hash(4)[:8] in out and commit_hash(5)[:8] in out
    code, out, _ = run(capsys, root, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and len(doc["regressions"]) == 1
    assert doc["regressions"][0]["commit_after"] == commit_hash(5)
    assert run(capsys, root, "--machine", "m2")[0] == 0
    assert run(capsys, root, "--threshold", "1.5")[0] == 0
    assert run(capsys, root, "--since", commit_hash(6)[:12])[0] == 0
    assert run(capsys, root, "--since", "0000000")[0] == 2
    assert run(capsys, root, "--machine", "nope")[0] == 2
    assert run(capsys, root, "--threshold", "-1")[0] == 2


def test_clean_tree_and_missing_dir(results_tree: ResultsTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tree(results_tree, regress=False)
    code, out, _ = run(capsys, str(results_tree.root))
    assert code == 0 and "Regressions in effect beyond 5%: none" in out
    assert run(capsys, str(tmp_path / "missing"))[0] == 2
    with pytest.raises(SystemExit) as exc:
        main(["report", "--format", "xml"])
    assert exc.value.code == 2


def test_any_asv_project(shared_sets: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(shared_sets / "own-example-tinypkg" / "results"))
    assert code in (0, 1) and "Regressions" in out
    code, _, err = run(capsys, str(shared_sets / "gt4py-benchmarks" / "results"))
    assert code == 0 and "asv update" in err


def test_a_closed_pipe_ends_quietly_not_with_a_traceback(results_tree: ResultsTree) -> None:
    """`tensorscope report ... | head`: the reader goes away before we write; exit 141 (SIGPIPE's code), nothing on stderr."""
    import subprocess
    import sys

    _tree(results_tree, regress=True)
    code = "import sys; from tensorscope.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "report", str(results_tree.root), "--format", "json", "--cache-dir", "none"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child has loaded pandas, let alone written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_an_internal_error_is_not_the_regression_exit_code(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A crash of ours exits 3, never 1 (which tells CI that a regression was found)."""
    import tensorscope.report as report

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(report, "main", broken)
    assert main(["report", "anywhere"]) == 3
    assert "internal error" in capsys.readouterr().err
