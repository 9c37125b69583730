"""Opening a results store: which engine a URL names, where the embedded one lives, migrations, permissions.

``--store URL`` or ``TENSORSCOPE_STORE`` choose the store:

* ``postgresql://user@host/db`` (or ``postgresql+psycopg://``): PostgreSQL through psycopg 3;
* ``sqlite:///path/to/store.sqlite``, or a plain file path: the embedded store, one SQLite file;
* nothing: the embedded store at :func:`default_store_path` (the user's data folder).

The embedded store runs SQLite in WAL mode: one writer and any number of readers, in several
processes, at once (an ingest while a dashboard reads and a person records a triage decision).
Its folder is created ``0700`` and its files ``0600``: readable by their owner only.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from . import schema

ENV_VAR = "TENSORSCOPE_STORE"
# The newest migration; a store at this revision is opened without loading Alembic (~0.2 s).
HEAD = "0002"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(Exception):
    """A store that cannot be opened or used; the message is shown to the user."""


def default_store_path() -> Path:
    """The embedded store's file: ``<user data dir>/tensorscope/store.sqlite`` (platformdirs; XDG on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("tensorscope", appauthor=False)) / "store.sqlite"


def store_url(url: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL of a store given as a URL, a file path, ``$TENSORSCOPE_STORE`` or nothing (the default file)."""
    text = os.fspath(url) if url is not None else os.environ.get(ENV_VAR) or ""
    if not text:
        return f"sqlite:///{default_store_path()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("postgresql+psycopg://", "sqlite:///")):
        return text
    if "://" in text:
        raise StoreError(
            f"store URL {text.split('://', 1)[0]}://… is not supported: give postgresql://… or a file path (or sqlite:///path)"
        )
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def describe(url: str) -> str:
    """A store URL as shown to people: the password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _private_file(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by the owner only, before SQLite opens it:
    SQLite gives its -wal and -shm files the main file's permissions."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        st = os.fstat(fd)
        if hasattr(os, "geteuid") and st.st_uid == os.geteuid() and st.st_mode & 0o077:
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o700)
    finally:
        os.close(fd)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer, nor the writer for them
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; a crash loses no committed WAL frame's data integrity
    cur.execute("PRAGMA busy_timeout=60000")  # a second writer waits its turn instead of failing
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_engine(url: str | os.PathLike[str] | None = None) -> sa.Engine:
    """An engine for the store at ``url`` (see :func:`store_url`), the database migrated to the newest schema."""
    full = store_url(url)
    parsed = sa.engine.make_url(full)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database:
            raise StoreError("an embedded store needs a file path (sqlite:///path/to/store.sqlite)")
        path = Path(parsed.database)
        try:
            _private_file(path)
        except OSError as exc:
            raise StoreError(f"cannot create the store file {path}: {exc.strerror or exc}") from None
        engine = sa.create_engine(full, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        try:
            engine = sa.create_engine(full, pool_pre_ping=True)
        except ModuleNotFoundError as exc:  # pragma: no cover - psycopg is a dependency
            raise StoreError(f"PostgreSQL needs psycopg 3 ({exc}): pip install 'psycopg[binary]'") from None
    try:
        migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store {describe(full)}: {str(exc.orig).strip().splitlines()[0]}") from None
    return engine


def current_revision(conn: sa.Connection) -> str | None:
    """The store's schema revision (None: an empty database)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: sa.Engine) -> None:
    """Bring the database to the newest schema (Alembic, only when it is not there already)."""
    with engine.connect() as conn:
        rev = current_revision(conn)
    if rev == HEAD:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # two processes opening a new store at once: one migrates, the other waits, then finds it done
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(28280001)"))
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "head")
        except Exception as exc:  # alembic's CommandError and friends: an unknown (newer) revision
            if rev is not None and "revision" in str(exc).lower():
                raise StoreError(
                    f"the store's schema is at revision {rev!r}, newer than this tensorscope's {HEAD!r}: upgrade tensorscope"
                ) from None
            raise
    with engine.connect() as conn:
        if current_revision(conn) != HEAD:
            raise StoreError(
                f"the store's schema is at revision {current_revision(conn)!r}, this tensorscope knows {HEAD!r}: upgrade tensorscope"
            )


def dispose(engine: sa.Engine) -> None:
    """Close the engine's connections."""
    with contextlib.suppress(Exception):
        engine.dispose()


__all__ = [
    "ENV_VAR",
    "HEAD",
    "StoreError",
    "create_engine",
    "default_store_path",
    "describe",
    "dispose",
    "migrate",
    "reading",
    "schema",
    "store_url",
    "writing",
]


@contextlib.contextmanager
def reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose every query sees one snapshot of the store (an ingest committing meanwhile
    is seen whole or not at all): REPEATABLE READ on PostgreSQL, one read transaction on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
        return
    with engine.connect() as conn:
        # Python's sqlite3 runs a SELECT outside any transaction (each its own snapshot) unless one is open
        conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


@contextlib.contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction. On SQLite it takes the write lock first (waiting its turn): a transaction
    that read first and wrote later could otherwise fail when another process wrote in between."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("UPDATE store_meta SET value = value WHERE 0")
        yield conn
