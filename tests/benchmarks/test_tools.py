"""`tensorscope run` command lines and the CV report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from tensorscope import run

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import cv_report  # noqa: E402  # a script, not a package


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    args = parser.parse_args(["--config", str(ROOT / "asv.conf.json"), "--machine", "box", *argv])
    return args


def test_existing_runs_one_asv_per_simd_setting_with_the_variables_set() -> None:
    commands = run.asv_commands(_args("--existing", "--simd", "both", "-b", "bench_unary"), ["asv"])
    assert [v["TENSORSCOPE_SIMD"] for _, v in commands] == ["on", "off"]
    on, off = commands
    assert "--python=same" in on[0] and "--set-commit-hash" in on[0] and "--record-samples" in on[0]
    assert on[1]["TENSORSCOPE_ENV_NAME"].endswith("-TENSORSCOPE_SIMDon")
    assert "NPY_DISABLE_CPU_FEATURES" in off[1] and off[1]["TENSORSCOPE_ENV_NAME"].endswith("-TENSORSCOPE_SIMDoff")
    config = json.loads(Path(off[0][off[0].index("--config") + 1]).read_text())
    assert config["matrix"]["env_nobuild"]["TENSORSCOPE_SIMD"] == ["off"]


def test_virtualenv_runs_select_the_matrix_environments() -> None:
    (cmd, variables), *rest = run.asv_commands(_args("--simd", "off", "HEAD~3..HEAD"), ["asv"])
    assert not rest and variables == {}
    envs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-E"]
    assert envs and all(e.endswith("TENSORSCOPE_SIMDoff") for e in envs)
    assert cmd[-1] == "HEAD~3..HEAD"


def test_threads_add_an_environment_of_their_own_in_the_same_virtualenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENSORSCOPE_PRELOAD", raising=False)  # tests/benchmarks/conftest.py sets it
    (cmd, variables), (memory_cmd, memory_variables) = run.asv_commands(_args("--threads", "1", "--simd", "both"), ["asv"])
    assert variables == {"TENSORSCOPE_PRELOAD": "all"} and memory_variables == {}
    assert [a for a in memory_cmd if a != "--bench" and "peakmem" not in a] == [a for a in cmd if a != "--bench" and "\\(" not in a]
    envs = sorted(cmd[i + 1] for i, a in enumerate(cmd) if a == "-E")
    assert envs and all(e.endswith("-TENSORSCOPE_THREADS1") for e in envs)
    assert any("SIMDon" in e for e in envs) and any("SIMDoff" in e for e in envs)
    config = json.loads(Path(cmd[cmd.index("--config") + 1]).read_text())
    assert config["matrix"]["env_nobuild"]["TENSORSCOPE_THREADS"] == ["1"]
    assert config["env_dir"] == str((ROOT / ".asv" / "env").resolve())  # shared with the default envs
    # the copy lives in .asv/: its commands must still find tensorscope/environment.py
    assert all("{conf_dir}" not in c for c in config["install_command"])
    assert any(str(ROOT / "tensorscope" / "environment.py") in c for c in config["install_command"])
    (default, _), *_rest = run.asv_commands(_args(), ["asv"])
    assert not any("THREADS" in a for a in default)


@pytest.mark.parametrize("existing", [(), ("--existing",)])
def test_one_thread_times_with_torch_preloaded_and_measures_peak_memory_without(
    existing: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At --threads 1: two asv runs per setting, the peakmem cells alone in the second, with the default preload."""
    import re

    from benchmarks import common

    monkeypatch.delenv("TENSORSCOPE_PRELOAD", raising=False)
    runs = run.asv_commands(_args(*existing, "--threads", "1", "--profile", "full"), ["asv"])
    assert len(runs) == 2
    (timed, timed_vars), (memory, memory_vars) = runs
    assert timed_vars["TENSORSCOPE_PRELOAD"] == "all" and "TENSORSCOPE_PRELOAD" not in memory_vars
    cells = {
        "bench_unary.UnaryMemory.peakmem_op('numpy', 'exp', 10000000, 'float32')": (False, True),
        "bench_unary.Unary.time_op('torch:cpu', 'exp', 10000, 'float32')": (True, False),
        "bench_unary.UnaryAccuracy.track_max_rel_error('torch:cpu', 'exp', 'float32')": (True, False),
    }
    for cell, (in_timed, in_memory) in cells.items():
        assert any(re.search(p, cell) for p in _benches(timed)) == in_timed, cell
        assert any(re.search(p, cell) for p in _benches(memory)) == in_memory, cell
    # together they are the profile's patterns, each once
    assert sorted(_benches(timed) + _benches(memory)) == sorted(common.asv_patterns("full"))
    # everything but the patterns is the same command
    strip = lambda cmd: [a for i, a in enumerate(cmd) if a != "--bench" and (i == 0 or cmd[i - 1] != "--bench")]  # noqa: E731
    assert strip(timed) == strip(memory)


def test_a_preload_set_by_the_caller_keeps_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORSCOPE_PRELOAD", "0")
    assert len(run.asv_commands(_args("--threads", "1"), ["asv"])) == 1
    monkeypatch.delenv("TENSORSCOPE_PRELOAD")
    assert len(run.asv_commands(_args("--threads", "2"), ["asv"])) == 1  # two threads: torch stays out of the server
    assert len(run.asv_commands(_args(), ["asv"])) == 1


def test_existing_exports_the_thread_variables() -> None:
    (_cmd, variables), *_rest = run.asv_commands(_args("--existing", "--threads", "1"), ["asv"])
    assert variables["TENSORSCOPE_THREADS"] == "1" and variables["NUMBA_NUM_THREADS"] == "1" and variables["OMP_NUM_THREADS"] == "1"
    assert variables["TENSORSCOPE_ENV_NAME"].endswith("-TENSORSCOPE_THREADS1")


def test_a_bad_thread_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _args("--threads", "0")
    assert exc.value.code == 2
    assert "whole number of threads" in capsys.readouterr().err


def test_existing_refuses_a_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(_args("--existing", "HEAD~3..HEAD")) == 2


def test_an_own_option_after_the_range_is_a_usage_error_not_passed_to_asv(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(_args("HEAD~3..HEAD", "--print-command")) == 2
    assert "put tensorscope options before the range" in capsys.readouterr().err


def test_extra_asv_arguments_after_the_range_reach_asv() -> None:
    (cmd, _), *_rest = run.asv_commands(_args("HEAD~3..HEAD", "--", "--skip-existing-commits"), ["asv"])
    assert "--skip-existing-commits" in cmd


def _benches(cmd: list[str]) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == "--bench"]


def test_the_profiles_are_the_suites() -> None:
    from benchmarks import common

    assert set(run.PROFILES) == set(common.PROFILES)


def test_asv_is_handed_the_profiles_cells() -> None:
    from benchmarks import common

    (quick, _), *_rest = run.asv_commands(_args("--profile", "quick"), ["asv"])
    assert _benches(quick) == common.asv_patterns("quick")
    (gpu, _), *_rest = run.asv_commands(_args("--existing", "--profile", "gpu"), ["asv"])
    assert _benches(gpu) == common.asv_patterns("gpu")


def test_a_bench_option_narrows_the_profile_it_does_not_add_to_it() -> None:
    """asv ORs its --bench patterns: each profile pattern must also require the user's pattern."""
    import re

    (cmd, _), *_rest = run.asv_commands(_args("-b", "bench_unary", "-b", "Linalg"), ["asv"])
    patterns = _benches(cmd)
    cells = {
        "bench_unary.Unary.time_op('numpy', 'exp', 10000, 'float32')": True,
        "bench_linalg.Linalg.time_op('numpy', 'matmul', 128, 'float32')": True,
        "bench_binary.Binary.time_op('numpy', 'add', 10000, 'float32')": False,  # quick, but not asked for
        "bench_unary.Unary.time_op('numpy', 'abs', 10000, 'float32')": False,  # asked for, but not quick
    }
    for cell, expected in cells.items():
        assert any(re.search(p, cell) for p in patterns) == expected, cell


def test_registration_works_with_an_empty_home_and_the_host_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The newcomer's case: no ~/.asv-machine.json yet, machine named after the host."""
    import socket

    from asv.machine import Machine

    host = socket.gethostname()
    monkeypatch.setenv("HOME", str(tmp_path))
    path = run.register_machine(run.machine_details(host))
    assert path == tmp_path / ".asv-machine.json"
    stored = json.loads(path.read_text())
    assert stored[host]["machine"] == host and stored[host]["cpu"] and stored[host]["num_cpu"]
    machine = Machine.load(machine_name=host)  # what `asv run --machine <host>` does first
    assert machine.machine == host and machine.arch == stored[host]["arch"]
    # registering another machine keeps this one
    run.register_machine({"machine": "other-box", "cpu": "x"})
    assert set(json.loads(path.read_text())) == {"version", host, "other-box"}


def test_print_command_registers_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert run.main(_args("--print-command")) == 0
    out = capsys.readouterr().out
    assert "registers machine 'box'" in out and " run --config " in out and "--bench" in out
    assert not (tmp_path / ".asv-machine.json").exists()


def _result_file(samples: list[list[float]]) -> dict[str, object]:
    columns = [
        "result",
        "params",
        "version",
        "started_at",
        "duration",
        "stats_ci_99_a",
        "stats_ci_99_b",
        "stats_q_25",
        "stats_q_75",
        "stats_number",
        "stats_repeat",
        "samples",
    ]
    medians = [sorted(s)[len(s) // 2] for s in samples]
    row = [[*medians, None, float("nan")], [["'a'", "'b'", "'c'", "'d'"]], "v", 0, 1.0, [], [], [], [], [], [], [*samples, None, None]]
    return {
        "version": 2,
        "commit_hash": "c" * 40,
        "env_name": "env",
        "result_columns": columns,
        "results": {"m.C.time_op": row, "m.C.track_x": row},
    }


def test_cv_report_reads_samples_and_profiles(tmp_path: Path) -> None:
    machine = tmp_path / "box"
    (machine / "provenance").mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    (machine / "cccccccc-env.json").write_text(json.dumps(_result_file([[1.0, 1.1, 0.9], [2.0, 2.0, 2.0]])))
    (machine / "provenance" / f"{'c' * 40}-env.json").write_text(json.dumps({"env": {"TENSORSCOPE_PROFILE": "quick"}}))
    summary = cv_report.report(tmp_path)
    assert list(summary) == ["quick"]
    assert summary["quick"]["cells"] == 2
    assert summary["quick"]["median_cv"] == pytest.approx(0.05, rel=1e-6)


def test_cv_report_splits_by_a_named_parameter(tmp_path: Path) -> None:
    machine = tmp_path / "box"
    (machine / "provenance").mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    data = _result_file([[1.0, 1.1, 0.9], [2.0, 2.0, 2.0]])
    data["results"]["m.C.time_op"][data["result_columns"].index("params")] = [["'a'", "'b'"]]
    (machine / "cccccccc-env.json").write_text(json.dumps(data))
    (machine / "provenance" / f"{'c' * 40}-env.json").write_text(json.dumps({"env": {"TENSORSCOPE_PROFILE": "full"}}))
    (tmp_path / "benchmarks.json").write_text(json.dumps({"m.C.time_op": {"param_names": ["backend"]}, "version": 2}))
    summary = cv_report.report(tmp_path, by="backend")
    assert set(summary) == {"full backend=a", "full backend=b"}
    assert summary["full backend=a"]["median_cv"] == pytest.approx(0.1, rel=1e-6)
    assert summary["full backend=b"]["median_cv"] == 0.0


def test_cv_report_keeps_runs_held_to_n_threads_apart(tmp_path: Path) -> None:
    machine = tmp_path / "box"
    (machine / "provenance").mkdir(parents=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    for env, threads, samples in (("all", "all", [[1.0, 1.1, 0.9]]), ("one", "1", [[1.0, 1.0, 1.0]])):
        data = _result_file(samples)
        data["env_name"] = env
        (machine / f"cccccccc-{env}.json").write_text(json.dumps(data))
        record = {"env": {"TENSORSCOPE_PROFILE": "full"}, "thread_setting": threads}
        (machine / "provenance" / f"{'c' * 40}-{env}.json").write_text(json.dumps(record))
    summary = cv_report.report(tmp_path)
    assert set(summary) == {"full", "full/threads=1"}
    assert summary["full"]["median_cv"] == pytest.approx(0.1, rel=1e-6)
    assert summary["full/threads=1"]["median_cv"] == 0.0
