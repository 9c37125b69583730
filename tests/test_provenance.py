"""backends.provenance, the suite's provenance hook, and asv reading a results tree that holds provenance."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends import provenance

ROOT = Path(__file__).resolve().parents[1]

KEYS = {
    "schema",
    "captured_at",
    "commit_hash",
    "env_name",
    "machine",
    "simd_setting",
    "thread_setting",
    "platform",
    "cpu",
    "memory",
    "numpy",
    "blas",
    "blas_build",
    "env",
    "libraries",
    "backends",
    "gpus",
    "errors",
}


def test_probe_reports_every_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("TENSORSCOPE_SIMD", "off")
    monkeypatch.setenv("TENSORSCOPE_THREADS", "1")
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    data = provenance.probe(commit_hash="abc", env_name="env", machine="box", with_backends=False)
    assert set(data) == KEYS
    assert data["schema"] == provenance.SCHEMA
    assert (data["commit_hash"], data["env_name"], data["machine"], data["simd_setting"]) == ("abc", "env", "box", "off")
    assert data["thread_setting"] == "1" and data["env"]["TENSORSCOPE_THREADS"] == "1"
    assert data["env"]["OMP_NUM_THREADS"] == "3" and "UNRELATED_VARIABLE" not in data["env"]
    assert data["numpy"]["version"] and isinstance(data["numpy"]["simd_dispatch"], list)
    assert set(data["numpy"]["simd_active"]) <= set(data["numpy"]["simd_dispatch"])
    assert data["libraries"]["numpy"] == data["numpy"]["version"]
    assert data["cpu"]["logical_cores"] >= 1
    json.dumps(data)  # serialisable as is


def test_probe_describes_available_backends() -> None:
    data = provenance.probe(with_backends=True)
    assert data["backends"]["numpy"]["backend"] == "numpy"


def test_blas_threads_are_reported_when_threadpoolctl_is_installed() -> None:
    pytest.importorskip("threadpoolctl")
    blas = provenance.probe(with_backends=False)["blas"]
    assert blas and {"internal_api", "num_threads", "version"} <= set(blas[0])


def test_write_and_command_line(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "p.json"
    assert provenance.main(["--output", str(target), "--no-backends", "--commit", "c1"]) == 0
    assert json.loads(target.read_text())["commit_hash"] == "c1"
    assert not list(target.parent.glob(".*tmp"))


def test_hook_derives_the_path_from_asv_conf_and_machine_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorscope import environment as _env

    (tmp_path / "asv.conf.json").write_text(json.dumps({"results_dir": "res"}))
    (tmp_path / ".asv-machine.json").write_text(json.dumps({"box": {"machine": "box"}, "version": 1}))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ASV_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("TENSORSCOPE_PROVENANCE_DIR", raising=False)
    assert _env.provenance_path("c" * 40, "env") == tmp_path / "res" / "box" / "provenance" / f"{'c' * 40}-env.json"


def _asv(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asv", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_asv_run_writes_provenance_and_publish_and_compare_still_work(tmp_path: Path) -> None:
    """A real `asv run --python=same --quick` into a temporary results tree (about 30 s)."""
    conf = json.loads((ROOT / "asv.conf.json").read_text())
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(ROOT / "benchmarks"),
        env_dir=str(tmp_path / "env"),
        results_dir=str(tmp_path / "results"),
        html_dir=str(tmp_path / "html"),
    )
    conf["matrix"]["env_nobuild"]["TENSORSCOPE_SIMD"] = ["on"]
    (tmp_path / "asv.conf.json").write_text(json.dumps(conf))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORSCOPE_", "NPY_"))}
    env.update(HOME=str(tmp_path), TENSORSCOPE_PROFILE="quick", TENSORSCOPE_COMMIT=commit)
    assert _asv(["machine", "--yes", "--machine", "box"], tmp_path, env).returncode == 0
    # asv passes no ASV_* variables to an existing interpreter: tensorscope run sets these
    name = subprocess.run(
        [
            sys.executable,
            "-c",
            "from asv.config import Config; from asv import environment; "
            "print([e.name for e in environment.get_environments(Config.load('asv.conf.json'), [':same'])][0])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env["TENSORSCOPE_ENV_NAME"] = name
    env["TENSORSCOPE_PROVENANCE_DIR"] = str(tmp_path / "results" / "box" / "provenance")
    out = _asv(
        [
            "run",
            "--python=same",
            "--quick",
            "--set-commit-hash",
            commit,
            "--machine",
            "box",
            "--bench",
            r"bench_selection\.Selection\.time_op",
        ],
        tmp_path,
        env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    machine = tmp_path / "results" / "box"
    results = [p for p in machine.glob("*.json") if p.name != "machine.json"]
    assert len(results) == 1
    result = json.loads(results[0].read_text())
    cells = dict(zip(result["result_columns"], result["results"]["bench_selection.Selection.time_op"], strict=False))["result"]
    assert any(isinstance(v, float) and v > 0 for v in cells)  # numpy at least was measured
    prov = machine / "provenance" / f"{commit}-{result['env_name']}.json"
    data = json.loads(prov.read_text())
    assert data["schema"] == provenance.SCHEMA and data["env"]["TENSORSCOPE_PROFILE"] == "quick"
    assert data["libraries"]["asv"]
    published = _asv(["publish"], tmp_path, env)
    assert published.returncode == 0, published.stdout + published.stderr
    assert (tmp_path / "html" / "index.json").exists()
    compared = _asv(["compare", "--machine", "box", commit, commit], tmp_path, env)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "bench_selection.Selection.time_op" in compared.stdout
    shutil.rmtree(tmp_path / "html", ignore_errors=True)
