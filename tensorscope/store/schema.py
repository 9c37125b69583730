"""The results store's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Every change to these tables is a numbered Alembic migration under ``migrations/versions``; a test
checks that the migrated database and this module agree.

What asv's files hold, and where it goes:

=====================  =======================================================================
machines               ``<machine>/machine.json``: the hardware fields as columns, the whole file as JSON
environments           one per (machine, asv environment name): python, requirements, env_vars
commits                hash, commit date (ms since 1970), position in a git history / index.json when known
benchmarks             ``benchmarks.json``: one row per benchmark name (its current version, type, unit, spec)
grids                  parameter grids (the ``params`` list of lists of ``repr`` strings), by content digest
runs                   one per result file ``<machine>/<commit>-<env>.json``: its run metadata
entries                one per (run, benchmark): version, grid, ``started_at``, ``duration`` (run times)
results                one per measured cell (run, benchmark, parameter combination): status, value, stats, raw samples
provenance             tensorscope's ``<machine>/provenance/<commit>-<env>.json`` files
uploads                every file received (ingest or upload API): path, content digest, problems; the ledger
                       that makes a resend a no-op
triage, triage_history a person's decision about a detected change, and every earlier one
=====================  =======================================================================

Times are float milliseconds since 1970 (as asv writes them), so both engines store them the same way.
"""

from __future__ import annotations

import sqlalchemy as sa

# Named constraints: later migrations (SQLite alters a table by copying it) can then name what they change.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Text that identifies things (names, hashes, paths) is bounded so that PostgreSQL's btree
# indexes (about 2.7 kB per key) always hold it; longer names are refused at ingest with a problem.
NAME = 1000

meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

machines = sa.Table(
    "machines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME), nullable=False, unique=True),
    sa.Column("arch", sa.Text),
    sa.Column("cpu", sa.Text),
    sa.Column("num_cpu", sa.Text),
    sa.Column("os", sa.Text),
    sa.Column("ram", sa.Text),
    sa.Column("gpu", sa.Text),  # a GPU name where machine.json names one (asv has no field: projects add their own)
    sa.Column("info", sa.Text),  # machine.json as JSON text; NULL when the store has none for this machine
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("machine_id", sa.Integer, sa.ForeignKey("machines.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.UniqueConstraint("machine_id", "name", name="uq_environments_machine_name"),
)

commits = sa.Table(
    "commits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hash", sa.String(NAME), nullable=False, unique=True),
    sa.Column("date_ms", sa.Float),
    sa.Column("position", sa.Integer),  # 0 = oldest, from git or a published index.json (NULL: order by date)
)

benchmarks = sa.Table(
    "benchmarks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME), nullable=False, unique=True),
    sa.Column("version", sa.Text),  # the current version (benchmarks.json); rows keep their own in entries.version
    sa.Column("type", sa.Text),
    sa.Column("unit", sa.Text),
    sa.Column("spec", sa.Text),  # the benchmarks.json entry as JSON text; NULL when only results name it
)

grids = sa.Table(
    "grids",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("grid", sa.Text, nullable=False),  # JSON list of lists of repr strings
)

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.String(NAME), nullable=False),  # relative to the results directory: <machine>/<file>.json
    sa.Column("kind", sa.String(20), nullable=False),  # result | machine | benchmarks | provenance
    sa.Column("digest", sa.String(64), nullable=False),  # SHA-256 of the file's bytes
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("problems", sa.Text, nullable=False),  # JSON [[severity, message], ...] the reader found
    sa.Column("current", sa.Boolean, nullable=False),  # the content now stored for this path
    sa.Column("received_ms", sa.Float, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),  # 'ingest' or who uploaded it
    sa.UniqueConstraint("path", "digest", name="uq_uploads_path_digest"),
)
sa.Index("ix_uploads_current", uploads.c.current, uploads.c.path)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.id"), nullable=False),
    sa.Column("path", sa.String(NAME), nullable=False, unique=True),
    sa.Column("machine_id", sa.Integer, sa.ForeignKey("machines.id"), nullable=False),
    sa.Column("environment_id", sa.Integer, sa.ForeignKey("environments.id"), nullable=False),
    sa.Column("commit_id", sa.Integer, sa.ForeignKey("commits.id"), nullable=False),
    sa.Column("date_ms", sa.Float),
    sa.Column("python", sa.Text),
    sa.Column("params", sa.Text, nullable=False),  # JSON object (asv's machine params of the run)
    sa.Column("env_vars", sa.Text, nullable=False),  # JSON object
    sa.Column("requirements", sa.Text, nullable=False),  # JSON object
    sa.Column("durations", sa.Text, nullable=False),  # JSON object: asv's build and setup_cache times
    sa.Column("n_results", sa.Integer, nullable=False),
)
sa.Index("ix_runs_machine", runs.c.machine_id)
sa.Index("ix_runs_commit", runs.c.commit_id)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),  # the benchmark's place in the file
    sa.Column("benchmark_id", sa.Integer, sa.ForeignKey("benchmarks.id"), nullable=False),
    sa.Column("grid_id", sa.Integer, sa.ForeignKey("grids.id"), nullable=False),
    sa.Column("version", sa.Text),
    sa.Column("started_at_ms", sa.Float),
    sa.Column("duration_s", sa.Float),
)
sa.Index("ix_entries_benchmark", entries.c.benchmark_id)

results = sa.Table(
    "results",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("combo", sa.Integer, primary_key=True),  # the parameter combination (itertools.product order)
    sa.Column("status", sa.SmallInteger, nullable=False),  # 0 ok, 1 skipped (asv NaN), 2 failed (asv null)
    sa.Column("value", sa.Float),
    sa.Column("ci_99_a", sa.Float),
    sa.Column("ci_99_b", sa.Float),
    sa.Column("q_25", sa.Float),
    sa.Column("q_75", sa.Float),
    sa.Column("number", sa.Float),
    sa.Column("repeat", sa.Float),
    sa.Column("samples", sa.LargeBinary),  # little-endian float64s; NULL when asv kept none
    sa.ForeignKeyConstraint(["run_id", "position"], ["entries.run_id", "entries.position"], ondelete="CASCADE"),
)

provenance = sa.Table(
    "provenance",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.id"), nullable=False),
    sa.Column("path", sa.String(NAME), nullable=False, unique=True),
    sa.Column("doc", sa.Text, nullable=False),  # the file as JSON text
)

TRIAGE_STATES = ("untriaged", "acknowledged", "investigating", "expected", "wontfix", "invalid", "fixed")

triage = sa.Table(
    "triage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # digest of what identifies the change
    sa.Column("kind", sa.String(20), nullable=False),  # step | environment
    sa.Column("machine", sa.Text, nullable=False),
    sa.Column("env", sa.Text, nullable=False),
    sa.Column("benchmark", sa.Text, nullable=False),  # '' for an environment shift
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("commit", sa.Text, nullable=False),  # the first commit at the new level (commit_after)
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("at_ms", sa.Float, nullable=False),
    sa.CheckConstraint("state IN ('" + "','".join(TRIAGE_STATES) + "')", name="state"),
)

triage_history = sa.Table(
    "triage_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("triage_id", sa.Integer, sa.ForeignKey("triage.id", ondelete="CASCADE"), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("at_ms", sa.Float, nullable=False),
)
sa.Index("ix_triage_history_triage", triage_history.c.triage_id)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),  # SHA-256 of the token: the token itself is never stored
    sa.Column("machine", sa.String(NAME), nullable=False),  # the one machine whose results it may upload
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_ms", sa.Float, nullable=False),
    sa.Column("revoked_ms", sa.Float),  # NULL while the token is valid
)
