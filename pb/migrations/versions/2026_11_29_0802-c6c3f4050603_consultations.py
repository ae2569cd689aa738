"""Consultations: questions, options, conditions and anonymous responses.

Revision ID: c6c3f4050603
Revises: c5b2e3f40502
Create Date: 2026-11-29 08:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = "c6c3f4050603"
down_revision: str | Sequence[str] | None = "c5b2e3f40502"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consultation_package",
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_consultation_package_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_consultation_package_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_consultation_package")),
    )
    op.create_table(
        "consultation_response",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("voter_pseudonym", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("receipt_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_consultation_response_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_response")),
        sa.UniqueConstraint(
            "process_id",
            "voter_pseudonym",
            name=op.f("uq_consultation_response_process_id_voter_pseudonym"),
        ),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_consultation_response_receipt_hash")),
    )
    op.create_index(
        op.f("ix_consultation_response_process_id"),
        "consultation_response",
        ["process_id"],
        unique=False,
    )
    op.create_table(
        "consultation_question",
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("prompt", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("help_text", sa.Text(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("condition_question_id", sa.Integer(), nullable=True),
        sa.Column("condition_option_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["condition_question_id"],
            ["consultation_question.id"],
            name=op.f("fk_consultation_question_condition_question_id_consultation_question"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_consultation_question_district_id_district"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_consultation_question_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_question")),
    )
    op.create_index(
        op.f("ix_consultation_question_district_id"),
        "consultation_question",
        ["district_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_consultation_question_process_id"),
        "consultation_question",
        ["process_id"],
        unique=False,
    )
    op.create_table(
        "consultation_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["consultation_question.id"],
            name=op.f("fk_consultation_answer_question_id_consultation_question"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["consultation_response.id"],
            name=op.f("fk_consultation_answer_response_id_consultation_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_answer")),
        sa.UniqueConstraint(
            "response_id",
            "question_id",
            name=op.f("uq_consultation_answer_response_id_question_id"),
        ),
    )
    op.create_index(
        op.f("ix_consultation_answer_question_id"),
        "consultation_answer",
        ["question_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_consultation_answer_response_id"),
        "consultation_answer",
        ["response_id"],
        unique=False,
    )
    op.create_table(
        "consultation_option",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["consultation_question.id"],
            name=op.f("fk_consultation_option_question_id_consultation_question"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_option")),
        sa.UniqueConstraint(
            "question_id", "label", name=op.f("uq_consultation_option_question_id_label")
        ),
    )
    op.create_index(
        op.f("ix_consultation_option_question_id"),
        "consultation_option",
        ["question_id"],
        unique=False,
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index(op.f("ix_consultation_option_question_id"), table_name="consultation_option")
    op.drop_table("consultation_option")
    op.drop_index(op.f("ix_consultation_answer_response_id"), table_name="consultation_answer")
    op.drop_index(op.f("ix_consultation_answer_question_id"), table_name="consultation_answer")
    op.drop_table("consultation_answer")
    op.drop_index(op.f("ix_consultation_question_process_id"), table_name="consultation_question")
    op.drop_index(op.f("ix_consultation_question_district_id"), table_name="consultation_question")
    op.drop_table("consultation_question")
    op.drop_index(op.f("ix_consultation_response_process_id"), table_name="consultation_response")
    op.drop_table("consultation_response")
    op.drop_table("consultation_package")
    # ### end Alembic commands ###
