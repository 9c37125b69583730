"""The first schema: machines, environments, commits, benchmarks, grids, runs, entries, results,
provenance, uploads, triage and its history (see tensorscope.store.schema).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benchmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("spec", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benchmarks")),
        sa.UniqueConstraint("name", name=op.f("uq_benchmarks_name")),
    )
    op.create_table(
        "commits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=1000), nullable=False),
        sa.Column("date_ms", sa.Float(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commits")),
        sa.UniqueConstraint("hash", name=op.f("uq_commits_hash")),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("grid", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("digest", name=op.f("uq_grids_digest")),
    )
    op.create_table(
        "machines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("arch", sa.Text(), nullable=True),
        sa.Column("cpu", sa.Text(), nullable=True),
        sa.Column("num_cpu", sa.Text(), nullable=True),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("ram", sa.Text(), nullable=True),
        sa.Column("gpu", sa.Text(), nullable=True),
        sa.Column("info", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machines")),
        sa.UniqueConstraint("name", name=op.f("uq_machines_name")),
    )
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_meta")),
    )
    op.create_table(
        "triage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("machine", sa.Text(), nullable=False),
        sa.Column("env", sa.Text(), nullable=False),
        sa.Column("benchmark", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("commit", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("who", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "state IN ('untriaged','acknowledged','investigating','expected','wontfix','invalid','fixed')", name=op.f("ck_triage_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage")),
        sa.UniqueConstraint("key", name=op.f("uq_triage_key")),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("received_ms", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("path", "digest", name="uq_uploads_path_digest"),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index("ix_uploads_current", ["current", "path"], unique=False)

    op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["machine_id"], ["machines.id"], name=op.f("fk_environments_machine_id_machines"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("machine_id", "name", name="uq_environments_machine_name"),
    )
    op.create_table(
        "provenance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], name=op.f("fk_provenance_upload_id_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provenance")),
        sa.UniqueConstraint("path", name=op.f("uq_provenance_path")),
    )
    op.create_table(
        "triage_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("triage_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("who", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["triage_id"], ["triage.id"], name=op.f("fk_triage_history_triage_id_triage"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_history")),
    )
    with op.batch_alter_table("triage_history", schema=None) as batch_op:
        batch_op.create_index("ix_triage_history_triage", ["triage_id"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("commit_id", sa.Integer(), nullable=False),
        sa.Column("date_ms", sa.Float(), nullable=True),
        sa.Column("python", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("env_vars", sa.Text(), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("durations", sa.Text(), nullable=False),
        sa.Column("n_results", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["commit_id"], ["commits.id"], name=op.f("fk_runs_commit_id_commits")),
        sa.ForeignKeyConstraint(["environment_id"], ["environments.id"], name=op.f("fk_runs_environment_id_environments")),
        sa.ForeignKeyConstraint(["machine_id"], ["machines.id"], name=op.f("fk_runs_machine_id_machines")),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], name=op.f("fk_runs_upload_id_uploads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("path", name=op.f("uq_runs_path")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_commit", ["commit_id"], unique=False)
        batch_op.create_index("ix_runs_machine", ["machine_id"], unique=False)

    op.create_table(
        "entries",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("started_at_ms", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["benchmark_id"], ["benchmarks.id"], name=op.f("fk_entries_benchmark_id_benchmarks")),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_entries_grid_id_grids")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_entries_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "position", name=op.f("pk_entries")),
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index("ix_entries_benchmark", ["benchmark_id"], unique=False)

    op.create_table(
        "results",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("combo", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("ci_99_a", sa.Float(), nullable=True),
        sa.Column("ci_99_b", sa.Float(), nullable=True),
        sa.Column("q_25", sa.Float(), nullable=True),
        sa.Column("q_75", sa.Float(), nullable=True),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("repeat", sa.Float(), nullable=True),
        sa.Column("samples", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id", "position"], ["entries.run_id", "entries.position"], name=op.f("fk_results_run_id_entries"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "position", "combo", name=op.f("pk_results")),
    )


def downgrade() -> None:
    op.drop_table("results")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_benchmark")

    op.drop_table("entries")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_machine")
        batch_op.drop_index("ix_runs_commit")

    op.drop_table("runs")
    with op.batch_alter_table("triage_history", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_history_triage")

    op.drop_table("triage_history")
    op.drop_table("provenance")
    op.drop_table("environments")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index("ix_uploads_current")

    op.drop_table("uploads")
    op.drop_table("triage")
    op.drop_table("store_meta")
    op.drop_table("machines")
    op.drop_table("grids")
    op.drop_table("commits")
    op.drop_table("benchmarks")
