"""The results store: asv results from many machines in one database, embedded (SQLite) or PostgreSQL.

Public API
==========

``open_store(url=None) -> sqlalchemy.Engine``
    The store at ``url`` (``postgresql://…``, ``sqlite:///path``, a file path; None: ``$TENSORSCOPE_STORE``,
    else the embedded file in the user's data folder), migrated to the newest schema.
``ingest(engine, results_dir, ...) -> IngestReport``
    Store what an asv results tree holds that the store has not got yet (by content digest).
``export(engine, target_dir) -> ExportReport``
    Write the store back as an asv results tree.
``load_store(engine, machines=None, benchmarks=None, since_ms=None, until_ms=None) -> ResultSet``
    The store's results (or a query's) as the results reader's :class:`~tensorscope.results.ResultSet`.
``tensorscope.store.triage``
    A person's decisions about detected changes, with their history.

The tables are documented in :mod:`tensorscope.store.schema`.
"""

from __future__ import annotations

from .engine import ENV_VAR, StoreError, default_store_path, describe, store_url
from .engine import create_engine as open_store
from .export import ExportReport, export
from .ingest import IngestReport, ingest
from .read import load_store

__all__ = [
    "ENV_VAR",
    "ExportReport",
    "IngestReport",
    "StoreError",
    "default_store_path",
    "describe",
    "export",
    "ingest",
    "load_store",
    "open_store",
    "store_url",
]
