"""tensorscope dashboard (tensorscope/serve.py): the command line it builds and its defaults."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from tensorscope import serve


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_bind_loopback_on_8501_over_the_project_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not an asv project: the checkout's own results/
    cmd = serve.streamlit_command(_args())
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8501"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    script_args = cmd[cmd.index("--") + 1 :]
    assert script_args[:2] == ["--results-dir", str(serve.REPO_ROOT / "results")]
    assert cmd[cmd.index("run") + 1] == str(serve.APP)
    assert cmd[cmd.index("--server.fileWatcherType") + 1] == "none"  # no per-session source watching


def test_results_dir_port_cache_and_repo_reach_the_app(tmp_path: Path) -> None:
    cmd = serve.streamlit_command(_args(str(tmp_path), "--port", "9999", "--cache-dir", "none", "--repo", str(tmp_path)))
    script_args = cmd[cmd.index("--") + 1 :]
    assert script_args == ["--results-dir", str(tmp_path.resolve()), "--repo", str(tmp_path.resolve())]
    assert cmd[cmd.index("--server.port") + 1] == "9999"


def test_asv_project_in_the_working_directory_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "asv.conf.json").write_text("{}", encoding="utf-8")
    (tmp_path / "results").mkdir()
    monkeypatch.chdir(tmp_path)
    assert serve.default_results_dir() == tmp_path / "results"


def test_app_reads_its_paths_only_from_arguments_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from dashboard import state

    monkeypatch.setattr(sys, "argv", ["app.py", "--results-dir", str(tmp_path), "--cache-dir", str(tmp_path / "c")])
    cfg = state.config()
    assert cfg.results_dir == tmp_path.resolve() and cfg.cache_dir == (tmp_path / "c").resolve() and cfg.repo is None
    monkeypatch.setattr(sys, "argv", ["pytest", "-p", "no:cacheprovider"])  # foreign arguments are ignored
    monkeypatch.setenv("TENSORSCOPE_RESULTS_DIR", str(tmp_path))
    assert state.config().results_dir == tmp_path.resolve()


def test_cli_dispatches_to_the_dashboard_command() -> None:
    out = subprocess.run([sys.executable, "-m", "tensorscope.cli", "dashboard", "--help"], capture_output=True, text=True, check=True)
    assert "--port" in out.stdout and "127.0.0.1" in out.stdout
