"""Web sessions name their signed-in user in a column of their own.

Revision ID: c7d4e5f60704
Revises: c6c3f4050603
Create Date: 2026-11-29 11:00:00+00:00

The sessions that exist already get their user from their data (the ``uid`` key), so nobody
signed in has to sign in again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c7d4e5f60704"
down_revision: str | Sequence[str] | None = "c6c3f4050603"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_web_session_user_id_user"),
            "user",
            ["user_id"],
            ["id"],
            ondelete="CASCADE",
        )
    if op.get_bind().dialect.name == "postgresql":
        # Session data is JSON written by the app; the pattern keeps out anything but a number.
        uid = "(CASE WHEN data ~ '\"uid\": *[0-9]+[,}]' THEN (data::json->>'uid')::integer END)"
    else:
        uid = (
            "(CASE WHEN json_valid(data) AND json_type(data, '$.uid') = 'integer' "
            "THEN json_extract(data, '$.uid') END)"
        )
    op.execute(
        f"UPDATE web_session SET user_id = {uid} "
        f'WHERE EXISTS (SELECT 1 FROM "user" WHERE "user".id = {uid})'
    )


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_web_session_user_id_user"), type_="foreignkey")
        batch_op.drop_column("user_id")
