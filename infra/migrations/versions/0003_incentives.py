"""incentives: consumption lines, bill status, rates, payouts, invoices, payments, vouchers, credits

Revision ID: 0003_incentives
Revises: 0001_core
Create Date: 2026-11-23 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import infra.db
import infra.tables.incentives


revision: str = '0003_incentives'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = ('incentives',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incentive_rates',
    sa.Column('partner_type', sa.String(length=32), nullable=False),
    sa.Column('site', sa.String(length=16), nullable=False),
    sa.Column('rate', infra.tables.incentives.Rate(precision=7, scale=4), nullable=False),
    sa.PrimaryKeyConstraint('partner_type', 'site')
    )
    op.create_table('consumption_lines',
    sa.Column('line_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('consumed_on', sa.Date(), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('payment_kind', sa.String(length=32), nullable=False),
    sa.Column('site', sa.String(length=16), nullable=False),
    sa.Column('product_line', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('line_id')
    )
    with op.batch_alter_table('consumption_lines', schema=None) as batch_op:
        batch_op.create_index('ix_consumption_lines_customer_day', ['customer_id', 'consumed_on'], unique=False)

    op.create_table('incentive_payouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('payout_id', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('carried_out', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('statement_json', sa.Text(), nullable=True),
    sa.Column('method', sa.String(length=24), nullable=True),
    sa.Column('applied_by', sa.String(length=64), nullable=True),
    sa.Column('notified_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('payment_reference', sa.String(length=100), nullable=True),
    sa.Column('paid_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('partner_id', 'period', name='uq_incentive_payouts_month'),
    sa.UniqueConstraint('payout_id')
    )
    with op.batch_alter_table('incentive_payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incentive_payouts_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incentive_payouts_status'), ['status'], unique=False)

    op.create_table('partner_bill_status',
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('all_paid', sa.Boolean(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.PrimaryKeyConstraint('partner_id', 'period')
    )
    op.create_table('incentive_invoices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_number', sa.String(length=20), nullable=False),
    sa.Column('payout_id', sa.String(length=200), nullable=False),
    sa.Column('invoice_type', sa.String(length=16), nullable=False),
    sa.Column('buyer_title', sa.String(length=200), nullable=False),
    sa.Column('buyer_tax_id', sa.String(length=32), nullable=False),
    sa.Column('seller_name', sa.String(length=200), nullable=False),
    sa.Column('seller_tax_id', sa.String(length=32), nullable=False),
    sa.Column('amount_excl_tax', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('tax_amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('total', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payout_id'], ['incentive_payouts.payout_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_number')
    )
    with op.batch_alter_table('incentive_invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incentive_invoices_payout_id'), ['payout_id'], unique=False)

    op.create_table('incentive_payments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payout_id', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('gateway_reference', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', infra.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.ForeignKeyConstraint(['payout_id'], ['incentive_payouts.payout_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('incentive_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incentive_payments_payout_id'), ['payout_id'], unique=False)

    op.create_table('incentive_recharge_credits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payout_id', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('credited_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.ForeignKeyConstraint(['payout_id'], ['incentive_payouts.payout_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('incentive_recharge_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incentive_recharge_credits_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incentive_recharge_credits_payout_id'), ['payout_id'], unique=False)

    op.create_table('incentive_vouchers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('voucher_code', sa.String(length=40), nullable=False),
    sa.Column('payout_id', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('amount', infra.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('issued_at', infra.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.ForeignKeyConstraint(['payout_id'], ['incentive_payouts.payout_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('voucher_code')
    )
    with op.batch_alter_table('incentive_vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incentive_vouchers_payout_id'), ['payout_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incentive_vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incentive_vouchers_payout_id'))

    op.drop_table('incentive_vouchers')
    with op.batch_alter_table('incentive_recharge_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incentive_recharge_credits_payout_id'))
        batch_op.drop_index(batch_op.f('ix_incentive_recharge_credits_partner_id'))

    op.drop_table('incentive_recharge_credits')
    with op.batch_alter_table('incentive_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incentive_payments_payout_id'))

    op.drop_table('incentive_payments')
    with op.batch_alter_table('incentive_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incentive_invoices_payout_id'))

    op.drop_table('incentive_invoices')
    op.drop_table('partner_bill_status')
    with op.batch_alter_table('incentive_payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incentive_payouts_status'))
        batch_op.drop_index(batch_op.f('ix_incentive_payouts_partner_id'))

    op.drop_table('incentive_payouts')
    with op.batch_alter_table('consumption_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_consumption_lines_customer_day')

    op.drop_table('consumption_lines')
    op.drop_table('incentive_rates')
