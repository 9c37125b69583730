"""Faults during uploads, on real processes: the server killed with SIGKILL mid-upload, a pusher killed
mid-upload, PostgreSQL restarted under load. Each upload is wholly stored or wholly absent, and pushing
again finishes the job with nothing lost and nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from servers import REPO, Server, start_server
from test_store_server import call, upload_body

from tensorscope.results import load_results
from tensorscope.store import open_store
from tensorscope.store import schema as s
from tensorscope.store.pgcluster import Cluster, find_bindir
from tensorscope.store.tokens import create

pytestmark = [pytest.mark.xdist_group("store"), pytest.mark.slow]


def generated_tree(root: Path, machines: int, commits: int) -> dict[str, int]:
    """scripts/generate_results_tree.py's shape (2,000 cells per file, raw samples); the rows the results
    reader reads from each result file, by ``<machine>/<file>``."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "generate_results_tree.py"),
            str(root),
            "--machines",
            str(machines),
            "--commits",
            str(commits),
        ],
        check=True,
        capture_output=True,
    )
    table = load_results(root, cache_dir=root.parent / "cache").results
    rows = {str(f): int(n) for f, n in table.groupby("file", observed=True).size().items()}
    assert len(rows) == machines * commits, rows
    assert all(rows.values()), rows
    return rows


def stored_runs(engine: sa.Engine) -> dict[str, tuple[int, int, int]]:
    """Each stored result upload's path: (its run's rows in results, the rows its run claims, uploads of
    that path). One statement, so one snapshot while other uploads commit."""
    run = sa.select(s.runs.c.id, s.runs.c.path, s.runs.c.n_results).subquery()
    query = (
        sa.select(s.uploads.c.path, s.uploads.c.id, run.c.id.label("run_id"), run.c.n_results, sa.func.count(s.results.c.run_id))
        .select_from(s.uploads.outerjoin(run, run.c.path == s.uploads.c.path).outerjoin(s.results, s.results.c.run_id == run.c.id))
        .where(s.uploads.c.kind == "result")
        .group_by(s.uploads.c.path, s.uploads.c.id, run.c.id, run.c.n_results)
    )
    with engine.connect() as conn:
        got = conn.execute(query).all()
    runs: dict[str, tuple[int, int, int]] = {}
    for path, _, run_id, claimed, n in got:
        assert run_id is not None, f"an upload of {path} without its run: a half-stored upload"
        runs[path] = (int(n), int(claimed), runs.get(path, (0, 0, 0))[2] + 1)
    return runs


def run_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(s.runs)).scalar_one())


def assert_whole_or_absent(engine: sa.Engine, expected: dict[str, int]) -> int:
    """Every stored run holds exactly the reader's rows and one upload record; the number stored."""
    runs = stored_runs(engine)
    for path, (n, claimed, uploads) in runs.items():
        assert (n, claimed, uploads) == (expected[path], expected[path], 1), path
    return len(runs)


def test_a_server_killed_mid_upload_leaves_each_upload_whole_or_absent(store_url: str, tmp_path: Path) -> None:
    """Six uploads at once, the server killed (1) while their bodies arrive and (2) the moment the first
    of them is committed, while the others are being parsed or written; then a new server takes them all."""
    expected = generated_tree(tmp_path / "results", machines=1, commits=6)
    files = [tmp_path / "results" / rel for rel in expected]
    engine = open_store(store_url)
    _, token = create(engine, "machine0")
    try:
        for kill_when in ("bodies arriving", "first committed"):
            server = start_server(store_url, tmp_path / "server.log", max_body_mb=16)
            answers: list[int | None] = []

            def send(path: Path, base: str = server.base, answers: list[int | None] = answers) -> None:
                try:
                    answers.append(call(base, "POST", "/api/v1/uploads", upload_body(path), token)[0])
                except Exception:  # the connection died with the server (reset, cut short): no answer
                    answers.append(None)

            threads = [threading.Thread(target=send, args=(p,)) for p in files]
            for th in threads:
                th.start()
            if kill_when == "bodies arriving":
                time.sleep(0.05)
            else:
                deadline = time.monotonic() + 60
                while not run_count(engine) and time.monotonic() < deadline:
                    time.sleep(0.005)
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(timeout=30)
            for th in threads:
                th.join(timeout=60)
            server.engine.dispose()
            assert all(a in (201, None) for a in answers), answers
            stored = assert_whole_or_absent(engine, expected)
            if kill_when == "bodies arriving":
                assert stored < len(files) and answers.count(201) <= stored, (stored, answers)
            else:
                # the kill met uploads in flight: some stored, the rest without an answer and absent
                # (a 201 answered is a file stored; one stored may have lost its answer with the server)
                assert 1 <= stored < len(files) and answers.count(201) <= stored and len(answers) == len(files), (stored, answers)
        # a server started again takes the rest; what was stored answers 200, nothing doubles
        server = start_server(store_url, tmp_path / "server.log", max_body_mb=16)
        try:
            statuses = [call(server.base, "POST", "/api/v1/uploads", upload_body(p), token)[0] for p in files]
        finally:
            server.stop()
            server.engine.dispose()
        assert sorted(statuses) == sorted([200] * stored + [201] * (len(files) - stored))
        assert assert_whole_or_absent(engine, expected) == len(files)
    finally:
        engine.dispose()


def test_a_pusher_killed_mid_upload_leaves_each_upload_whole_or_absent(pg_cluster: Cluster, tmp_path: Path) -> None:
    expected = generated_tree(tmp_path / "results", machines=1, commits=8)
    server = start_server(pg_cluster.new_database(), tmp_path / "server.log", max_body_mb=16)
    _, token = create(server.engine, "machine0")
    token_file = tmp_path / "token"
    token_file.write_text(token)
    push = [
        sys.executable,
        "-m",
        "tensorscope.cli",
        "push",
        str(tmp_path / "results"),
        "--to",
        server.base,
        "--token-file",
        str(token_file),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        partial = [0]
        for _ in range(2):
            # killed the moment one more file is stored: it is then sending (or the server storing) the next
            proc = subprocess.Popen(push, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while run_count(server.engine) <= partial[-1] and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            time.sleep(0.5)  # a request whose body had fully arrived is finished by the server
            partial.append(assert_whole_or_absent(server.engine, expected))
        assert 1 <= partial[1] < partial[2] < len(expected), partial
        done = subprocess.run(push, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert f"{len(expected) - partial[-1]} files of machine0, {partial[-1]} already there, 0 not delivered" in done.stdout
        assert assert_whole_or_absent(server.engine, expected) == len(expected)
    finally:
        server.stop()
        server.engine.dispose()


@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL binaries (initdb, pg_ctl) on this machine")
def test_postgresql_restarted_under_load_pushers_retry_and_finish(tmp_path: Path) -> None:
    """Four pushers while PostgreSQL restarts: the server answers 503 (nothing stored) while it is down,
    the pushers retry, all exit 0, and the store holds every row once."""
    expected = generated_tree(tmp_path / "results", machines=4, commits=5)
    with Cluster() as cluster:  # its own cluster: the session's must not restart under other tests
        server: Server = start_server(cluster.new_database(), tmp_path / "server.log", max_body_mb=16)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = []
        try:
            for m in range(4):
                token_file = tmp_path / f"token{m}"
                token_file.write_text(create(server.engine, f"machine{m}")[1])
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "tensorscope.cli",
                            "push",
                            str(tmp_path / "results"),
                            "--to",
                            server.base,
                            "--token-file",
                            str(token_file),
                            "--machine",
                            f"machine{m}",
                            "--retries",
                            "8",
                        ],
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            deadline = time.monotonic() + 60
            while not run_count(server.engine) and time.monotonic() < deadline:
                time.sleep(0.01)
            server.engine.dispose()
            cluster.restart()  # while the pushers are sending: the first file of each is stored or in flight
            outs = [p.communicate(timeout=180) for p in procs]
            for p, (out, err) in zip(procs, outs, strict=True):
                assert p.returncode == 0, (out, err)
                assert "0 not delivered" in out
            assert assert_whole_or_absent(server.engine, expected) == len(expected)
            log = (tmp_path / "server.log").read_text(errors="replace")
            assert "store unavailable" in log, "no request met the restart: the test did not test"
            assert "Traceback" not in log, log[-3000:]  # every failure was a 503, never a 500
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            server.stop()
            server.engine.dispose()
