"""A real ``tensorscope server`` process on 127.0.0.1 for the store's tests (no mocked HTTP)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from tensorscope.store import open_store

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``tensorscope server`` process on 127.0.0.1 and the store behind it."""

    base: str
    url: str
    engine: sa.Engine
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def start_server(url: str, log: Path, port: int | None = None, max_body_mb: int = 4) -> Server:
    """Start ``tensorscope server`` on ``url``'s store (migrated first) and wait until it answers."""
    engine = open_store(url)
    port = port or free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tensorscope.cli", "server", "--store", url, "--port", str(port), "--max-body-mb", str(max_body_mb)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as r:
                if r.status == 200:
                    return Server(base, url, engine, proc, log)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                engine.dispose()
                raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-2000:]}") from None
            time.sleep(0.2)
