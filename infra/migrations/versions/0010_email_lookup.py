"""email lookup: indexes on lower(email) of users, customers and partners

Every email activity asks who reads the address (activities/notify.py ``_reader``: users,
customers, partners by ``lower(email)``), and console sign-in looks users and customers up the
same way: without an index on the expression each was a full scan of the table.

Revision ID: 0010_email_lookup
Revises: 0001_core
Create Date: 2026-12-03 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_email_lookup"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("email_lookup",)
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_users_email_lower", "users", "email"),
    ("ix_customers_email_lower", "customers", "email"),
    ("ix_partners_contact_email_lower", "partners", "contact_email"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [sa.func.lower(sa.column(column))])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
