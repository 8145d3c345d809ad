"""All tables. Importing this package registers every table on ``Base.metadata``.

Each workflow area keeps its own tables in its own module; the shared ones (parties,
bindings, human tasks, audit, email outbox) live in ``core``.
"""

from infra.tables.api import ApiToken
from infra.tables.console import (
    ConsoleCredential,
    ConsoleSession,
    SigninAttempt,
    SigninToken,
)
from infra.tables.core import (
    AuditEvent,
    Binding,
    Customer,
    EmailOutbox,
    HumanTask,
    Invitation,
    LinkUse,
    Partner,
    User,
)
from infra.tables.incentives import (
    ConsumptionLineRow,
    IncentiveInvoice,
    IncentivePayment,
    IncentivePayout,
    IncentiveRate,
    IncentiveVoucher,
    PartnerBillStatus,
    RechargeCredit,
)
from infra.tables.onboarding import (
    AgreementSignature,
    BankVerification,
    BankVerificationAttempt,
    CloudServiceCase,
    OnboardingApplication,
    PathCertification,
    PathMembership,
    StaffCertificateRow,
)
from infra.tables.renewals import (
    CommitmentLetter,
    CustomerAuthorization,
    RenewalTask,
    Subscription,
)
from infra.tables.unbinding import (
    BalanceRecovery,
    BindingChangeRequest,
    CustomerVoucher,
    VoucherDisposition,
)

__all__ = [
    "AgreementSignature",
    "ApiToken",
    "AuditEvent",
    "BalanceRecovery",
    "BankVerification",
    "BankVerificationAttempt",
    "Binding",
    "BindingChangeRequest",
    "CloudServiceCase",
    "CommitmentLetter",
    "ConsoleCredential",
    "ConsoleSession",
    "ConsumptionLineRow",
    "Customer",
    "CustomerAuthorization",
    "CustomerVoucher",
    "EmailOutbox",
    "HumanTask",
    "IncentiveInvoice",
    "IncentivePayment",
    "IncentivePayout",
    "IncentiveRate",
    "IncentiveVoucher",
    "Invitation",
    "LinkUse",
    "OnboardingApplication",
    "Partner",
    "PartnerBillStatus",
    "PathCertification",
    "PathMembership",
    "RechargeCredit",
    "RenewalTask",
    "SigninAttempt",
    "SigninToken",
    "StaffCertificateRow",
    "Subscription",
    "User",
    "VoucherDisposition",
]
