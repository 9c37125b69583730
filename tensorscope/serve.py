"""``tensorscope dashboard``: serve the Streamlit dashboard over an asv results directory or a results store.

The server binds 127.0.0.1 unless ``--host`` says otherwise; the results directory (or the
store), the derived-data cache and the git repository (for commit messages) come only from
this command line and reach the app as script arguments, never from the page. A store's URL
reaches the app as ``TENSORSCOPE_STORE`` in its environment, not as an argument, so a password in
it is not shown by ``ps``.
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="read a results store (postgresql://…, sqlite:///path or a file path) instead of a results directory "
        "(default without RESULTS_DIR: $TENSORSCOPE_STORE when set); triage decisions are kept there",
    )


def store_of(args: argparse.Namespace) -> str | None:
    """The store the dashboard reads: ``--store``, else ``$TENSORSCOPE_STORE`` when no results directory is given."""
    from tensorscope.store import ENV_VAR

    if getattr(args, "store", None):
        return str(args.store)
    if args.results_dir is None:
        return os.environ.get(ENV_VAR) or None
    return None


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` command line for ``args`` (exposed for tests); a store's URL goes in
    the environment (:func:`app_environment`), not here."""
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
    ]
    if store_of(args) is None:
        cmd += ["--results-dir", str((args.results_dir or default_results_dir()).expanduser().resolve())]
    cache = args.cache_dir
    if cache is None:
        cache = REPO_ROOT / ".tensorscope-cache"
    if str(cache).lower() != "none":
        cmd += ["--cache-dir", str(Path(cache).expanduser().resolve())]
    if args.repo is not None:
        cmd += ["--repo", str(args.repo.expanduser().resolve())]
    return cmd


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """The app's environment: this one, with the store to read as ``TENSORSCOPE_STORE`` (and no results
    directory from the environment, which would come first), or as it is when a results directory is read."""
    from tensorscope.store import ENV_VAR

    env = dict(os.environ)
    store = store_of(args)
    if store is not None:
        env[ENV_VAR] = store
        env.pop("TENSORSCOPE_RESULTS_DIR", None)
    return env


def main(args: argparse.Namespace) -> int:
    """Run the dashboard server until interrupted; returns its exit code (2: usage error)."""
    store = store_of(args)
    if getattr(args, "store", None) and args.results_dir is not None:
        print("tensorscope dashboard: give a results directory or --store, not both", file=sys.stderr)
        return 2
    if store is not None:
        from tensorscope.store import StoreError, describe, open_store

        try:  # a store that cannot be opened is a usage error here, not a page of errors later
            open_store(store).dispose()
        except StoreError as exc:
            print(f"tensorscope dashboard: {exc}", file=sys.stderr)
            return 2
        source = f"store: {describe(store)}"
    else:
        results = (args.results_dir or default_results_dir()).expanduser()
        if not results.is_dir():
            print(f"tensorscope dashboard: no results directory at {results}; the dashboard will say so.", file=sys.stderr)
        source = f"results: {results.resolve()}"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"tensorscope dashboard: binding {args.host}: anyone who can reach it can read these results.", file=sys.stderr)
    print(f"tensorscope dashboard: http://{args.host}:{args.port}  ({source})", flush=True)
    proc = subprocess.Popen(streamlit_command(args), env=app_environment(args))

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
