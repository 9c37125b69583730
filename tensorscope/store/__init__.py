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

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import ENV_VAR, StoreError, default_store_path, describe, store_url
    from .engine import create_engine as open_store
    from .export import ExportReport, export
    from .ingest import IngestReport, ingest
    from .read import load_store

# Imported on first use: `tensorscope push` (a CI job's last step) imports tensorscope.store.cmd_push,
# and with it this package; pandas, pyarrow and SQLAlchemy would add about 2 s to every push.
_LAZY = {
    "ENV_VAR": ("engine", "ENV_VAR"),
    "StoreError": ("engine", "StoreError"),
    "default_store_path": ("engine", "default_store_path"),
    "describe": ("engine", "describe"),
    "store_url": ("engine", "store_url"),
    "open_store": ("engine", "create_engine"),
    "ExportReport": ("export", "ExportReport"),
    "export": ("export", "export"),
    "IngestReport": ("ingest", "IngestReport"),
    "ingest": ("ingest", "ingest"),
    "load_store": ("read", "load_store"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing a submodule binds it as an attribute of this package; ``export`` and ``ingest``
        # name the functions here (as the eager imports made them), never their modules.
        if name in ("export", "ingest") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
