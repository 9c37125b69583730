"""Fixtures of the results store's tests.

* ``pg_cluster`` (session): a throwaway PostgreSQL cluster started from the installed binaries
  (:mod:`tensorscope.store.pgcluster`); tests that need it skip, with the reason, only where no
  PostgreSQL binaries exist.
* ``store_url``: a new empty store, once per engine (``sqlite``: a file in tmp_path; ``postgresql``: a
  new database in the session's cluster).
* ``engine``: that store opened (migrated).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tensorscope.store import open_store
from tensorscope.store.pgcluster import Cluster, find_bindir

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    if find_bindir() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine: install PostgreSQL (Debian: postgresql) or set PG_BINDIR")
    cluster = Cluster().start()
    # a run stopped with SIGTERM still stops the cluster (pytest runs teardowns on KeyboardInterrupt)
    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield cluster
    finally:
        cluster.stop()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'store.sqlite'}"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    eng = open_store(store_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture(autouse=True)
def _private_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis cache and the default store go under tmp_path, never the user's folders."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("TENSORSCOPE_STORE", raising=False)
