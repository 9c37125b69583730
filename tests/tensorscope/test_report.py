"""``tensorscope report``: table and JSON output, filters, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------------------
# --benchmark, --machine and --since select what is printed from the analysis of the whole directory

CLASSES = ("a.A", "b.B", "c.C", "d.D")
N_COMMITS, STEP_AT = 12, 6


def _suite(tree: ResultsTree, machines: dict[str, int]) -> None:
    """Four benchmark classes (eight series) on each machine, all 1.3x slower from commit STEP_AT on.

    ``machines``: name -> the day its first run was made; each machine runs the commits in order,
    one a day. Alone, a machine's suite-wide move at one run boundary is an environment shift;
    another machine showing it at the same commits in runs made days later makes it the code's.
    """
    for c in CLASSES:
        tree.add_benchmark(f"{c}.time_x", params=[["1", "2"]], param_names=["n"])
    rng = np.random.default_rng(1)
    for machine, first_day in machines.items():
        tree.add_machine(machine, cpu=machine)
        for i in range(N_COMMITS):
            level = 1.3 if i >= STEP_AT else 1.0
            results = {f"{c}.time_x": [1e-3 * (k + 1) * level * float(np.exp(rng.normal(0, 0.003))) for k in range(2)] for c in CLASSES}
            tree.add_run(machine, commit_hash(i), results, date=commit_date(i), started_at=commit_date(first_day + i))


def _json(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> tuple[int, dict[str, object]]:
    code, out, _ = run(capsys, str(root), "--format", "json", *argv)
    return code, json.loads(out)


LISTS = ("regressions", "improvements", "environment_shifts", "unstable")


def test_a_machine_report_keeps_the_cross_machine_verdict(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    """m2 measured the same commits days after m1's move and moved the same way there: the code's.
    Analysed alone (as `--machine m1` did), m1's move looked like an environment shift, and exit 0."""
    _suite(results_tree, {"m1": 0, "m2": N_COMMITS + 5})
    code, whole = _json(capsys, results_tree.root)
    assert code == 1 and len(whole["regressions"]) == 16 and not whole["environment_shifts"]  # type: ignore[arg-type]
    for machine in ("m1", "m2"):
        code, part = _json(capsys, results_tree.root, "--machine", machine)
        assert code == 1
        for key in LISTS:
            assert part[key] == [r for r in whole[key] if r["machine"] == machine]  # type: ignore[attr-defined]
    code, part = _json(capsys, results_tree.root, "--since", commit_hash(STEP_AT)[:10])
    assert code == 0 and not part["regressions"]  # the steps are at STEP_AT, not after it


def test_a_benchmark_report_keeps_the_machine_wide_verdict(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    """One machine, four classes moving at one run boundary: an environment shift. Analysed alone (as
    `--benchmark a.A` did), one class cannot make a machine-wide shift, and its move was a code regression."""
    _suite(results_tree, {"m1": 0})
    code, whole = _json(capsys, results_tree.root)
    (shift,) = whole["environment_shifts"]  # type: ignore[misc]
    assert code == 0 and not whole["regressions"] and shift["machine"] == "m1"
    code, part = _json(capsys, results_tree.root, "--benchmark", "a.A")
    assert code == 0 and {key: part[key] for key in LISTS} == {key: whole[key] for key in LISTS}
    assert part["benchmark"] == "a.A"
    assert run(capsys, str(results_tree.root), "--benchmark", "a.A", "--fail-on-environment")[0] == 1
    code, part = _json(capsys, results_tree.root, "--benchmark", "z.Z", "--fail-on-environment")
    assert code == 0 and not any(part[key] for key in LISTS)  # measured nowhere: not its shift


def test_a_runner_group_member_selects_its_group(results_tree: ResultsTree, capsys: pytest.CaptureFixture[str]) -> None:
    """Ephemeral runners are analysed as one group; naming one of them prints the group's rows."""
    results_tree.add_benchmark("b.B.time_x")
    rng = np.random.default_rng(2)
    for r in range(4):
        name = f"fv-az123-{400 + r}"
        results_tree.add_machine(name, cpu="Xeon", arch="x86_64", num_cpu="4", os="Linux", ram="16")
        for k in range(4):
            i = r * 4 + k
            value = 1e-3 * (2.0 if i >= 8 else 1.0) * float(np.exp(rng.normal(0, 0.003)))
            results_tree.add_run(name, commit_hash(i), {"b.B.time_x": [value]}, date=commit_date(i), started_at=commit_date(i))
    code, whole = _json(capsys, results_tree.root)
    (step,) = whole["regressions"]  # type: ignore[misc]
    assert code == 1 and step["machine"] == "fv-az#-#"
    for name in ("fv-az#-#", "fv-az123-401"):
        code, part = _json(capsys, results_tree.root, "--machine", name)
        assert code == 1 and part["regressions"] == [step]
        assert [g["group"] for g in part["runner_groups"]] == ["fv-az#-#"]  # type: ignore[attr-defined]


# the shared sets small enough to report every benchmark of (one analysis each)
SMALL_SETS = ("numpy-bench", "uxarray-asv", "geocat-comp-asv", "own-example-tinypkg", "mjwarp-asv", "thematrix", "BLAS-Benchmarks")


@pytest.mark.parametrize("name", SMALL_SETS)
def test_a_benchmark_report_lists_the_whole_reports_rows_of_it(shared_sets: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """For every benchmark NAME of a real history, `report --benchmark NAME` (in effect and `--all`) lists
    exactly the whole report's steps and unstable series whose benchmark contains NAME, and the
    whole report's environment shifts of the machines and envs that measured it; exit 1 only for
    a regression in effect among them. One analysis of the whole set serves every report."""
    import argparse

    from tensorscope import report
    from tensorscope.analysis import regressions as reg
    from tensorscope.results import load_results

    root = shared_sets / name / "results"
    rs = load_results(root, cache_dir=None)
    verdicts = reg.analyse(rs)
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)

    def printed(*argv: str) -> tuple[int, dict[str, Any]]:
        args = parser.parse_args([str(root), "--format", "json", *argv])
        code = report.write(args, rs, verdicts, report.selection(args, rs))
        return code, json.loads(capsys.readouterr().out)

    table = rs.results.astype({"machine": str, "env": str, "benchmark": str})
    group_of = dict(zip(verdicts.groups["machine"].astype(str), verdicts.groups["group"].astype(str), strict=True))
    for history in ((), ("--all",)):
        _, whole = printed(*history)
        for benchmark in sorted(set(table["benchmark"])):
            code, part = printed(*history, "--benchmark", benchmark)
            for key in ("regressions", "improvements", "unstable"):
                assert part[key] == [r for r in whole[key] if benchmark in r["benchmark"]], (key, benchmark)
            ran = table[table["benchmark"].str.contains(benchmark, regex=False)]
            where = {(group_of.get(m, m), e) for m, e in zip(ran["machine"], ran["env"], strict=True)}
            assert part["environment_shifts"] == [s for s in whole["environment_shifts"] if (s["machine"], s["env"]) in where]
            if not history:
                assert code == (1 if part["regressions"] else 0), benchmark
        for machine in sorted(set(table["machine"])):
            _, part = printed(*history, "--machine", machine)
            analysed = group_of.get(machine, machine)
            for key in LISTS:
                assert part[key] == [r for r in whole[key] if r["machine"] == analysed], (key, machine)
