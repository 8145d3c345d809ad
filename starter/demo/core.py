"""``partnerflow demo-data``: a small, realistic data set that exercises every rule.

Re-running it updates the rows to these values (nothing is duplicated). Each workflow area
adds its own rows through a function registered in ``DEMO_LOADERS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.reference import CustomerRow, PartnerRow, UserRow
from infra.db import Base
from infra.tables import Customer, Partner, User
from starter.console.demo import load_console_demo
from starter.demo.incentives import load_incentives_demo
from starter.demo.onboarding import load_onboarding_demo
from starter.demo.renewals import load_renewals_demo
from starter.demo.unbinding import load_unbinding_demo
from starter.imports.base import upsert_row
from starter.services.context import AppContext
from starter.services.errors import RefusedError

PARTNERS = [
    PartnerRow(
        id="P-1001",
        company_name="Hangzhou Cloudbridge Technology Co., Ltd.",
        uscc="91330106MA2H0XPF0Y",
        contact_email="admin@cloudbridge.example",
        type="solution_provider",
        business_certified=True,
        consulting_permission=True,
        certified_solutions=2,
        advanced_solutions=1,
        locale="zh-CN",
    ),
    PartnerRow(
        id="P-1002",
        company_name="Shenzhen Blue Harbor Reseller Ltd.",
        uscc="91440300MA5FCG0L5U",
        contact_email="admin@blueharbor.example",
        type="cloud_reseller",
        business_certified=False,
        consulting_permission=False,
        distributor_id="P-1003",
        # Reads English: the two sides of one process may read different languages.
        locale="en",
    ),
    PartnerRow(
        id="P-1003",
        company_name="Beijing Great Wall Distribution Co., Ltd.",
        uscc="91110108MA01K4WQ8D",
        contact_email="admin@greatwall-dist.example",
        type="distributor",
        business_certified=True,
    ),
    PartnerRow(
        id="P-1004",
        company_name="Chengdu Dormant Partner Ltd.",
        uscc="91510100MA6CGUL45R",
        contact_email="admin@dormant.example",
        type="solution_provider",
        status="SUSPENDED",
    ),
]

CUSTOMERS = [
    CustomerRow(
        id="C-2001", name="Acme Retail (Hangzhou)", email="it@acme-retail.example", locale="zh-CN"
    ),
    CustomerRow(
        id="C-2002",
        name="Lotus Finance",
        email="ops@lotus-finance.example",
        # An English reader in Singapore: English emails, times in Singapore time.
        locale="en",
        timezone="Asia/Singapore",
        has_credit_account=True,
    ),
    CustomerRow(
        id="C-2003",
        name="Peak Software (partner applicant)",
        email="admin@peak-soft.example",
        is_partner_or_applicant=True,
    ),
    CustomerRow(
        id="C-2004",
        name="State Grid Branch",
        email="cloud@grid-branch.example",
        has_special_contract=True,
    ),
    CustomerRow(
        id="C-2005",
        name="Direct Sales Lead Co.",
        email="it@direct-lead.example",
        reported_by_direct_sales=True,
    ),
    CustomerRow(
        id="C-2006",
        name="Reward Programme Member",
        email="it@reward-member.example",
        in_reward_programme=True,
    ),
    CustomerRow(
        id="C-2007",
        name="Enterprise Group HQ",
        email="it@group-hq.example",
        enterprise_role="master",
        enterprise_has_independent_members=True,
    ),
    CustomerRow(
        id="C-2008",
        name="Bonus Balance Ltd.",
        email="it@bonus-balance.example",
        has_recharge_bonus=True,
    ),
    CustomerRow(
        id="C-2009",
        name="Stored Card Co.",
        email="it@stored-card.example",
        has_stored_value_card=True,
    ),
    CustomerRow(
        id="C-2010",
        name="Reserved Instances Inc.",
        email="it@ri-inc.example",
        has_reserved_instances=True,
    ),
    CustomerRow(id="C-2011", name="Northwind Logistics", email="it@northwind.example"),
    CustomerRow(id="C-2012", name="Jade Media", email="it@jade-media.example"),
    CustomerRow(
        id="C-2013", name="Arrears Trading", email="it@arrears-trading.example", in_arrears=True
    ),
]

USERS = [
    UserRow(id="ops-li", name="Li Na (operations)", email="li.na@vendor.example", role="ops"),
    UserRow(
        id="em-wang",
        name="Wang Wei (ecosystem manager)",
        email="wang.wei@vendor.example",
        role="ecosystem_manager",
    ),
    UserRow(
        id="fin-zhao", name="Zhao Min (finance)", email="zhao.min@vendor.example", role="finance"
    ),
    UserRow(
        id="pa-chen",
        name="Chen Jie (Cloudbridge admin)",
        email="chen.jie@cloudbridge.example",
        role="partner_admin",
        partner_id="P-1001",
    ),
    UserRow(
        id="ps-liu",
        name="Liu Yang (Cloudbridge sales)",
        email="liu.yang@cloudbridge.example",
        role="partner_staff",
        partner_id="P-1001",
    ),
    UserRow(
        id="pa-huang",
        name="Huang Lei (Blue Harbor admin)",
        email="huang.lei@blueharbor.example",
        role="partner_admin",
        partner_id="P-1002",
        locale="en",
    ),
    UserRow(
        id="ps-zhou",
        name="Zhou Xin (Blue Harbor sales)",
        email="zhou.xin@blueharbor.example",
        role="partner_staff",
        partner_id="P-1002",
    ),
    UserRow(
        id="pa-sun",
        name="Sun Hao (Great Wall admin)",
        email="sun.hao@greatwall-dist.example",
        role="partner_admin",
        partner_id="P-1003",
    ),
]

DemoLoader = Callable[[AppContext], Awaitable[dict[str, Any]]]
# Each area appends its loader; they run in order after the core rows.
DEMO_LOADERS: list[DemoLoader] = []
DEMO_LOADERS.append(load_unbinding_demo)
DEMO_LOADERS.append(load_renewals_demo)
DEMO_LOADERS.append(load_onboarding_demo)
DEMO_LOADERS.append(load_incentives_demo)
DEMO_LOADERS.append(load_console_demo)


async def _upsert(s: AsyncSession, table: type[Base], values: dict[str, Any]) -> None:
    await upsert_row(s, table, values["id"], values)


def demo_refusal(environment: str) -> RefusedError | None:
    """Demo data is invented (partners, customers, payouts): never in production."""
    if environment != "production":
        return None
    return RefusedError(
        "demo-data is refused when PARTNERFLOW_ENVIRONMENT=production: it writes invented "
        "partners, customers and payouts; import real reference data with "
        "`partnerflow import KIND FILE` instead",
        rule="demo_data_in_production",
    )


async def load_demo(ctx: AppContext) -> dict[str, Any]:
    """Writes the demo rows (idempotent) and returns what was loaded."""
    refusal = demo_refusal(ctx.settings.environment)
    if refusal is not None:
        raise refusal
    async with ctx.sessions.begin() as s:
        for p in PARTNERS:
            await _upsert(s, Partner, p.model_dump())
        for c in CUSTOMERS:
            await _upsert(s, Customer, c.model_dump())
        await s.flush()
        for u in USERS:
            await _upsert(s, User, u.model_dump())
    summary: dict[str, Any] = {
        "partners": [p.id for p in PARTNERS],
        "customers": [c.id for c in CUSTOMERS],
        "users": [u.id for u in USERS],
        "try": [
            "partnerflow invite --partner P-1001 --customer C-2001 --as ps-liu",
            "partnerflow invite --partner P-1001 --customer C-2002 --as ps-liu   "
            "# refused: credit account + resale",
            "partnerflow invite --partner P-1001 --customer C-2002 --mode consulting --as ps-liu",
        ],
    }
    for loader in DEMO_LOADERS:
        summary.update(await loader(ctx))
    return summary
