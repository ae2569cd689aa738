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
    pass


def downgrade() -> None:
    pass
