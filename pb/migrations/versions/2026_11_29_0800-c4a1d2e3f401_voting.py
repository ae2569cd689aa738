"""Voting: residents roll, voting codes, verifications, ballots and receipts.

Revision ID: c4a1d2e3f401
Revises: 9cec90ed680a
Create Date: 2026-11-29 08:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = "c4a1d2e3f401"
down_revision: str | Sequence[str] | None = "9cec90ed680a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
