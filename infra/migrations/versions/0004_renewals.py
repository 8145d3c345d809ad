"""renewals: subscriptions, renewal tasks, customer authorizations, commitment letters

Revision ID: 0004_renewals
Revises: 0001_core
Create Date: 2026-11-23 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import infra.db


revision: str = '0004_renewals'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('renewals',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('commitment_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('accepted_by', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('partner_id', 'version')
    )
    op.create_table('customer_authorizations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_key', sa.String(length=200), nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('distributor_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('distributor_approved_by', sa.String(length=64), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_key')
    )
    with op.batch_alter_table('customer_authorizations', schema=None) as batch_op:
        batch_op.create_index('ix_customer_authorizations_pair', ['partner_id', 'customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_authorizations_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('billing', sa.String(length=16), nullable=False),
    sa.Column('expires_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('auto_renew', sa.Boolean(), nullable=False),
    sa.Column('updated_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_subscriptions_scan', ['auto_renew', 'expires_at'], unique=False)

    op.create_table('renewal_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('expires_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('billing', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('authorization_workflow_id', sa.String(length=200), nullable=True),
    sa.Column('renewed_until', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('workflow_started', sa.Boolean(), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['subscriptions.order_id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('renewal_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renewal_tasks_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_renewal_tasks_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_renewal_tasks_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('renewal_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renewal_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_renewal_tasks_partner_id'))
        batch_op.drop_index(batch_op.f('ix_renewal_tasks_order_id'))

    op.drop_table('renewal_tasks')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_scan')
        batch_op.drop_index(batch_op.f('ix_subscriptions_customer_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('customer_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_authorizations_workflow_id'))
        batch_op.drop_index('ix_customer_authorizations_pair')

    op.drop_table('customer_authorizations')
    op.drop_table('commitment_letters')
