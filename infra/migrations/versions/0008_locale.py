"""users, customers and partners carry their language and (optionally) their time zone

Revision ID: 0008_locale
Revises: 0001_core
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_locale"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("locale",)
depends_on: str | Sequence[str] | None = None

# NULL means "the site default" (PARTNERFLOW_DEFAULT_LOCALE), so rows imported before this
# migration follow the setting instead of a value frozen at migration time.
TABLES = ("users", "customers", "partners")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("locale", sa.String(length=8), nullable=True))
        op.add_column(table, sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # SQLite drops a column only by copying the table: batch mode does that.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("timezone")
            batch.drop_column("locale")
