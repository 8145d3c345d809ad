"""Demo rows for onboarding and development paths: a customer account applying to become a
partner, a second partner account of Cloudbridge's company, and the staff certificates and
cloud service case that Cloudbridge's service-path certification reads (one certificate
short, so that the refusal and the fix can be tried)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from infra.tables import CloudServiceCase, Customer, Partner, StaffCertificateRow, User
from starter.services.context import AppContext

APPLICANT = {
    "id": "C-2301",
    "name": "Shenzhen Nimbus Tech Co., Ltd.",
    "email": "admin@nimbus.example",
}
APPLICANT_USCC = "91440300MA5GNM8T17"
# Cloudbridge's company (USCC of P-1001) owns a second partner account [doc: a company may own
# several]: the software path needs the manager's approval there, the service path is refused.
SECOND_ACCOUNT = {
    "id": "P-1005",
    "company_name": "Hangzhou Cloudbridge Technology Co., Ltd. (East China)",
    "uscc": "91330106MA2H0XPF0Y",
    "contact_email": "east@cloudbridge.example",
    "type": "solution_provider",
    "status": "ACTIVE",
    "business_certified": True,
}
SECOND_ADMIN = {
    "id": "pa-qian",
    "name": "Qian Li (Cloudbridge East admin)",
    "email": "qian.li@cloudbridge.example",
    "role": "partner_admin",
    "partner_id": "P-1005",
}
# holder (personal account), name, kind, number: counts 3 of the 4 the service path needs.
CERTIFICATES = [
    ("hw-chenjie", "Chen Jie", "HCSA", "HCSA-DEMO-0001"),
    ("hw-chenjie", "Chen Jie", "HCSP", "HCSP-DEMO-0002"),
    ("hw-chenjie", "Chen Jie", "HCIA", "HCIA-DEMO-0003"),
    ("hw-liuyang", "Liu Yang", "HCIP", "HCIP-DEMO-0004"),
]
CASE = ("CASE-DEMO-01", "ERP migration to the cloud", "Acme Retail (Hangzhou)", 60)


async def load_onboarding_demo(ctx: AppContext) -> dict[str, Any]:
    """Writes the rows (idempotent) and returns the commands to try."""
    now = datetime.now(UTC)
    async with ctx.sessions.begin() as s:
        for table, values in ((Customer, APPLICANT), (Partner, SECOND_ACCOUNT)):
            row = await s.get(table, values["id"])
            if row is None:
                s.add(table(**values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)
        await s.flush()
        admin = await s.get(User, SECOND_ADMIN["id"])
        if admin is None:
            s.add(User(**SECOND_ADMIN))
        for holder, name, kind, number in CERTIFICATES:
            cert = await s.scalar(
                select(StaffCertificateRow).where(StaffCertificateRow.number == number)
            )
            if cert is None:
                s.add(
                    StaffCertificateRow(
                        partner_id="P-1001",
                        holder=holder,
                        holder_name=name,
                        kind=kind,
                        number=number,
                        issued_on=date(2026, 3, 1),
                        expires_on=date(2029, 2, 28),
                        recorded_by="ops-li",
                        recorded_at=now,
                    )
                )
        case_id, title, customer, days_ago = CASE
        case = await s.scalar(select(CloudServiceCase).where(CloudServiceCase.case_id == case_id))
        completed = now.date() - timedelta(days=days_ago)
        if case is None:
            s.add(
                CloudServiceCase(
                    partner_id="P-1001",
                    case_id=case_id,
                    title=title,
                    customer_name=customer,
                    completed_on=completed,
                    recorded_by="ops-li",
                    recorded_at=now,
                )
            )
        else:
            case.completed_on = completed
    app = f"onboarding-{APPLICANT_USCC}"
    new_partner = f"P-{APPLICANT_USCC}"
    return {
        "onboarding": {
            "applicant": APPLICANT["id"],
            "second_account_of_cloudbridge": SECOND_ACCOUNT["id"],
            "try": [
                f"partnerflow onboard --company '{APPLICANT['name']}' --uscc {APPLICANT_USCC} "
                f"--email {APPLICANT['email']} --type solution_provider --contact-name 'Zhou Yu' "
                f"--as {APPLICANT['id']}",
                f"partnerflow onboarding certify-bank {app} --bank-name 'China Merchants Bank' "
                f"--bank-account 6214830000001234 --as {APPLICANT['id']}   "
                "# the fake bank writes the amount to var/fake-bank/6214830000001234.txt",
                f"partnerflow onboarding enter-amount {app} --amount <amount> "
                f"--as {APPLICANT['id']}",
                f"partnerflow onboarding review {app} --decision approve --as em-wang",
                f"partnerflow onboarding sign {app} --as {APPLICANT['id']}",
                f"partnerflow onboarding approve {app} --as em-wang",
                f"partnerflow invite --partner {new_partner} --customer C-2001 "
                f"--as {new_partner}-admin",
                f"partnerflow path invite --partner {new_partner} --path software --as em-wang",
                f"partnerflow path join --partner {new_partner} --path software "
                f"--as {new_partner}-admin",
                f"partnerflow path certify --partner {new_partner} --path software --level role "
                f"--as {new_partner}-admin   # refused: 0 certified solutions",
                "partnerflow path invite --partner P-1001 --path service --as em-wang",
                "partnerflow path join --partner P-1001 --path service --as pa-chen",
                "partnerflow path certify --partner P-1001 --path service --level role "
                "--as pa-chen   # refused: 3 of 4 certificates",
                "partnerflow partner record-certificate P-1001 --holder hw-liuyang --kind HCIA "
                "--number HCIA-DEMO-0005 --holder-name 'Liu Yang' --as ops-li",
                "partnerflow path invite --partner P-1005 --path service --as em-wang   "
                "# refused once P-1001 follows it: once per company",
                "partnerflow partner show P-1001",
            ],
        }
    }
