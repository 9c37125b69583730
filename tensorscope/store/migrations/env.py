"""Alembic environment of the results store: runs on the connection :mod:`tensorscope.store.engine` hands over."""

from __future__ import annotations

from alembic import context

from tensorscope.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("tensorscope's migrations run through tensorscope.store.open_store(), not the alembic command")
# render_as_batch: SQLite alters tables by copying them; Alembic's batch mode does that for both engines
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
