"""unbinding and association-type switch: change requests, balance recoveries, vouchers

Revision ID: 0002_unbinding
Revises: 0001_core
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import infra.db

revision: str = "0002_unbinding"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("unbinding",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "binding_change_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_key", sa.String(length=200), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("initiator", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("previous_mode", sa.String(length=16), nullable=False),
        sa.Column("new_mode", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", infra.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", infra.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("auto_decided", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["bindings.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key"),
    )
    with op.batch_alter_table("binding_change_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_binding_change_requests_binding_id"), ["binding_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_binding_change_requests_workflow_id"), ["workflow_id"], unique=False
        )
        batch_op.create_index(
            "ix_binding_change_requests_frequency",
            ["customer_id", "initiator", "created_at"],
            unique=False,
        )

    op.create_table(
        "customer_vouchers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=16), nullable=False),
        sa.Column("issuer_partner_id", sa.String(length=64), nullable=True),
        sa.Column("balance", infra.db.Money(precision=16, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("issued_at", infra.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disposed_at", infra.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["issuer_partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_vouchers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_vouchers_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "balance_recoveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("amount", infra.db.Money(precision=16, scale=2), nullable=False),
        sa.Column("recovered_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["bindings.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["binding_change_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    with op.batch_alter_table("balance_recoveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balance_recoveries_binding_id"), ["binding_id"], unique=False
        )

    op.create_table(
        "voucher_dispositions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=16), nullable=False),
        sa.Column("issuer_partner_id", sa.String(length=64), nullable=True),
        sa.Column("amount", infra.db.Money(precision=16, scale=2), nullable=False),
        sa.Column("disposed_at", infra.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["binding_change_requests.id"]),
        sa.ForeignKeyConstraint(["voucher_id"], ["customer_vouchers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "request_id", "voucher_id", name="uq_voucher_dispositions_request_item"
        ),
    )
    with op.batch_alter_table("voucher_dispositions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voucher_dispositions_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("voucher_dispositions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_dispositions_request_id"))
    op.drop_table("voucher_dispositions")
    with op.batch_alter_table("balance_recoveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_recoveries_binding_id"))
    op.drop_table("balance_recoveries")
    with op.batch_alter_table("customer_vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_vouchers_customer_id"))
    op.drop_table("customer_vouchers")
    with op.batch_alter_table("binding_change_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_binding_change_requests_frequency")
        batch_op.drop_index(batch_op.f("ix_binding_change_requests_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_binding_change_requests_binding_id"))
    op.drop_table("binding_change_requests")
