"""Results: stored tallies, certifications and sign-offs.

Revision ID: c5b2e3f40502
Revises: c4a1d2e3f401
Create Date: 2026-11-29 08:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c5b2e3f40502"
down_revision: str | Sequence[str] | None = "c4a1d2e3f401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("districts_total", sa.Integer(), nullable=False),
        sa.Column("districts_done", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("rule_params", sa.Text(), nullable=False),
        sa.Column("tie_break", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("software_version", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("frozen_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("required_signoffs", sa.Integer(), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tallied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tallied_by", sa.Integer(), nullable=True),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_process_result_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tallied_by"],
            ["user.id"],
            name=op.f("fk_process_result_tallied_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_result")),
        sa.UniqueConstraint("process_id", name=op.f("uq_process_result_process_id")),
    )
    op.create_table(
        "district_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("input_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outcome_json", sa.Text(), nullable=False),
        sa.Column("num_voters", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("tallied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_district_result_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_district_result_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_result")),
        sa.UniqueConstraint(
            "process_id", "district_id", name=op.f("uq_district_result_process_id_district_id")
        ),
    )
    with op.batch_alter_table("district_result", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_district_result_process_id"), ["process_id"], unique=False
        )

    op.create_table(
        "result_signoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("result_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_result_signoff_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_result_signoff_user_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_signoff")),
        sa.UniqueConstraint(
            "process_id", "user_id", name=op.f("uq_result_signoff_process_id_user_id")
        ),
    )
    with op.batch_alter_table("result_signoff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_result_signoff_process_id"), ["process_id"], unique=False
        )

    op.create_table(
        "certified_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("manifest_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_certified_package_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certified_package")),
        sa.UniqueConstraint("process_id", name=op.f("uq_certified_package_process_id")),
    )


def downgrade() -> None:
    op.drop_table("certified_package")
    with op.batch_alter_table("result_signoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_signoff_process_id"))
    op.drop_table("result_signoff")
    with op.batch_alter_table("district_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_district_result_process_id"))
    op.drop_table("district_result")
    op.drop_table("process_result")
