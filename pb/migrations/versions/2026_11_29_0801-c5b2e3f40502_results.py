"""Results: stored tallies, certifications and sign-offs.

Revision ID: c5b2e3f40502
Revises: c4a1d2e3f401
Create Date: 2026-11-29 08:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = "c5b2e3f40502"
down_revision: str | Sequence[str] | None = "c4a1d2e3f401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
