"""console: passwords, sessions, emailed sign-in links, sign-in attempts

Revision ID: 0007_console
Revises: 0001_core
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import infra.db

revision: str = "0007_console"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("console",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_credentials",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("updated_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("flash", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index(
        op.f("ix_console_sessions_principal_id"), "console_sessions", ["principal_id"]
    )
    op.create_table(
        "console_signin_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", infra.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "console_signin_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_console_signin_attempts_at", "console_signin_attempts", ["address", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_console_signin_attempts_at", table_name="console_signin_attempts")
    op.drop_table("console_signin_attempts")
    op.drop_table("console_signin_tokens")
    op.drop_index(op.f("ix_console_sessions_principal_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_credentials")
