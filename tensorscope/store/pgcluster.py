"""A throwaway PostgreSQL cluster from the installed binaries (``initdb`` + ``pg_ctl``), for tests and measurements.

It listens on a Unix socket in its own temporary folder only (no TCP port), trusts local
connections, and is deleted when stopped. PostgreSQL refuses to run as root: as root, the cluster
runs as the ``postgres`` user (Debian's packages create it) or, failing that, ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$PG_BINDIR``, ``PATH``, or Debian's newest ``/usr/lib/postgresql/*/bin``."""
    env = os.environ.get("PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    # the port only names the socket file (.s.PGSQL.<port>); a free TCP port avoids clashing with a running server's
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A running throwaway cluster; :attr:`url` connects as the superuser ``postgres``."""

    def __init__(self, bindir: Path | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise FileNotFoundError("no PostgreSQL binaries (initdb, pg_ctl) found: install PostgreSQL or set PG_BINDIR")
        self.bindir = found
        self.root = Path(tempfile.mkdtemp(prefix="tensorscope-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    pw = pwd.getpwnam(name)
                    os.chown(self.root, pw.pw_uid, pw.pw_gid)
                    self.user = name
                    break
        self.started = False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> Cluster:
        """initdb and start; RuntimeError with PostgreSQL's own message when either fails."""
        out = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8")
        if out.returncode != 0:
            out = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-locale")
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed: {(out.stderr or out.stdout).strip()[-500:]}")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off -c max_connections=200"
        out = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "-o", opts, "start")
        if out.returncode != 0:
            log = (self.root / "log").read_text(errors="replace")[-500:] if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {(out.stderr or out.stdout).strip()[-300:]} {log}")
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL of ``database`` over the cluster's socket."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def restart(self) -> None:
        """Stop (fast) and start again: the data stays."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", opts, "start")

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
