"""``tensorscope dashboard``: serve the Streamlit dashboard over an asv results directory.

The server binds 127.0.0.1 unless ``--host`` says otherwise; the results directory,
the derived-data cache and the git repository (for commit messages) come only from
this command line and reach the app as script arguments, never from the page.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "dashboard" / "app.py"


def default_results_dir() -> Path:
    """``./results`` when the working directory is an asv project, else this checkout's ``results/``."""
    here = Path.cwd()
    if (here / "asv.conf.json").is_file() and (here / "results").is_dir():
        return here / "results"
    return REPO_ROOT / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``dashboard`` subcommand's arguments."""
    parser.add_argument(
        "results_dir",
        nargs="?",
        type=Path,
        default=None,
        help="asv results directory (holding benchmarks.json and one folder per machine); default: this project's results/",
    )
    parser.add_argument("--port", type=int, default=8501, help="TCP port (default 8501)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where derived data is cached (default: .tensorscope-cache/ in this checkout; 'none' disables it)",
    )
    parser.add_argument(
        "--repo", type=Path, default=None, help="git repository the commits belong to, for commit messages (default: guessed)"
    )
    parser.add_argument("--open-browser", action="store_true", help="open a web browser on the dashboard once it is up")


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` command line for ``args`` (exposed for tests)."""
    results = (args.results_dir or default_results_dir()).expanduser().resolve()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        str(args.host),
        "--server.port",
        str(args.port),
        "--server.headless",
        "false" if args.open_browser else "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        # no watching of the app's source files: each new session would otherwise walk
        # sys.modules after every run to register watchers (server time per session, for
        # an edit-and-reload workflow that serving results does not need)
        "--server.fileWatcherType",
        "none",
        "--browser.serverAddress",
        str(args.host),
        "--",
        "--results-dir",
        str(results),
    ]
    cache = args.cache_dir
    if cache is None:
        cache = REPO_ROOT / ".tensorscope-cache"
    if str(cache).lower() != "none":
        cmd += ["--cache-dir", str(Path(cache).expanduser().resolve())]
    if args.repo is not None:
        cmd += ["--repo", str(args.repo.expanduser().resolve())]
    return cmd


def main(args: argparse.Namespace) -> int:
    """Run the dashboard server until interrupted; returns its exit code."""
    results = (args.results_dir or default_results_dir()).expanduser()
    if not results.is_dir():
        print(f"tensorscope dashboard: no results directory at {results}; the dashboard will say so.", file=sys.stderr)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"tensorscope dashboard: binding {args.host}: anyone who can reach it can read these results.", file=sys.stderr)
    print(f"tensorscope dashboard: http://{args.host}:{args.port}  (results: {results.resolve()})", flush=True)
    proc = subprocess.Popen(streamlit_command(args))

    def stop(signum: int, _frame: object) -> None:
        proc.send_signal(signum)  # the server goes down with this command, never orphaned

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
