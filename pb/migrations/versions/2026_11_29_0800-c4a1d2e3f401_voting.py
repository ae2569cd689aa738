"""Voting: residents roll, voting codes, verifications, ballots and receipts.

Revision ID: c4a1d2e3f401
Revises: 9cec90ed680a
Create Date: 2026-11-29 08:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c4a1d2e3f401"
down_revision: str | Sequence[str] | None = "9cec90ed680a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roll_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("reference_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("birth_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("postcode_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("districts", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_roll_entry_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roll_entry")),
        sa.UniqueConstraint(
            "process_id", "reference_hash", name=op.f("uq_roll_entry_process_id_reference_hash")
        ),
    )
    op.create_index(op.f("ix_roll_entry_process_id"), "roll_entry", ["process_id"], unique=False)
    op.create_table(
        "verification_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_verification_attempt_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_verification_attempt_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_attempt")),
    )
    op.create_index(
        "ix_verification_attempt_ip_at", "verification_attempt", ["ip", "at"], unique=False
    )
    op.create_index(
        "ix_verification_attempt_user_at", "verification_attempt", ["user_id", "at"], unique=False
    )
    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("voter_pseudonym", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("receipt_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('online', 'paper')", name=op.f("ck_ballot_channel_known")),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_ballot_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_ballot_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
        sa.UniqueConstraint(
            "process_id",
            "district_id",
            "voter_pseudonym",
            name=op.f("uq_ballot_process_id_district_id_voter_pseudonym"),
        ),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_ballot_receipt_hash")),
    )
    op.create_index(op.f("ix_ballot_process_id"), "ballot", ["process_id"], unique=False)
    op.create_table(
        "voting_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_voting_code_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_voting_code_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voting_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_voting_code_code_hash")),
    )
    op.create_index(
        op.f("ix_voting_code_district_id"), "voting_code", ["district_id"], unique=False
    )
    op.create_index(op.f("ix_voting_code_process_id"), "voting_code", ["process_id"], unique=False)
    op.create_table(
        "verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("roll_entry_id", sa.Integer(), nullable=True),
        sa.Column("voting_code_id", sa.Integer(), nullable=True),
        sa.Column("eligible_from", sa.Date(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(roll_entry_id IS NULL) <> (voting_code_id IS NULL)",
            name=op.f("ck_verification_one_source"),
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_verification_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["roll_entry_id"],
            ["roll_entry.id"],
            name=op.f("fk_verification_roll_entry_id_roll_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_verification_user_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["voting_code_id"],
            ["voting_code.id"],
            name=op.f("fk_verification_voting_code_id_voting_code"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification")),
        sa.UniqueConstraint(
            "process_id", "user_id", name=op.f("uq_verification_process_id_user_id")
        ),
        sa.UniqueConstraint("roll_entry_id", name=op.f("uq_verification_roll_entry_id")),
        sa.UniqueConstraint("voting_code_id", name=op.f("uq_verification_voting_code_id")),
    )
    op.create_index(
        op.f("ix_verification_process_id"), "verification", ["process_id"], unique=False
    )
    op.create_index(op.f("ix_verification_user_id"), "verification", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_verification_user_id"), table_name="verification")
    op.drop_index(op.f("ix_verification_process_id"), table_name="verification")
    op.drop_table("verification")
    op.drop_index(op.f("ix_voting_code_process_id"), table_name="voting_code")
    op.drop_index(op.f("ix_voting_code_district_id"), table_name="voting_code")
    op.drop_table("voting_code")
    op.drop_index(op.f("ix_ballot_process_id"), table_name="ballot")
    op.drop_table("ballot")
    op.drop_index("ix_verification_attempt_user_at", table_name="verification_attempt")
    op.drop_index("ix_verification_attempt_ip_at", table_name="verification_attempt")
    op.drop_table("verification_attempt")
    op.drop_index(op.f("ix_roll_entry_process_id"), table_name="roll_entry")
    op.drop_table("roll_entry")
