"""Who acts: roles, actors and the snapshots of partners and customers the rules read."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    """The roles of docs/README.md ("Roles")."""

    OPS = "ops"
    ECOSYSTEM_MANAGER = "ecosystem_manager"
    FINANCE = "finance"
    PARTNER_ADMIN = "partner_admin"
    PARTNER_STAFF = "partner_staff"
    CUSTOMER = "customer"


PARTNER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_STAFF})
VENDOR_ROLES = frozenset({Role.OPS, Role.ECOSYSTEM_MANAGER, Role.FINANCE})


class PartnerType(StrEnum):
    """Partner types; the type decides who may have sub-customers and pay for them."""

    SOLUTION_PROVIDER = "solution_provider"
    CLOUD_RESELLER = "cloud_reseller"
    DISTRIBUTOR = "distributor"


class PartnerStatus(StrEnum):
    """Lifecycle of a partner account."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REJECTED = "REJECTED"
    EXITED = "EXITED"


class AssociationMode(StrEnum):
    """Association types (关联类型) (the vendor's rule)."""

    CONSULTING = "consulting"
    RESALE = "resale"


class Actor(BaseModel):
    """A person acting: resolved from the users table by the caller (CLI, web).

    Workflows check role and party in their validators, and look the claim up again in an
    activity (``workflows.common.verify_actor``) before a decision takes effect.
    """

    model_config = ConfigDict(frozen=True)

    user_id: str
    role: Role
    name: str = ""
    email: str = ""
    partner_id: str | None = None
    customer_id: str | None = None

    def is_partner_user_of(self, partner_id: str) -> bool:
        """True for an admin or staff user of that partner."""
        return self.role in PARTNER_ROLES and self.partner_id == partner_id

    def is_customer(self, customer_id: str) -> bool:
        """True for the customer account itself."""
        return self.role == Role.CUSTOMER and self.customer_id == customer_id

    def describe(self) -> str:
        """``name (role)`` for messages and audit."""
        party = self.partner_id or self.customer_id
        return f"{self.user_id} ({self.role.value}{', ' + party if party else ''})"


class PartnerSnapshot(BaseModel):
    """The facts about a partner that the rules read."""

    id: str
    company_name: str
    uscc: str
    contact_email: str
    type: PartnerType
    status: PartnerStatus
    business_certified: bool = False
    consulting_permission: bool = False
    distributor_id: str | None = None
    certified_solutions: int = 0
    advanced_solutions: int = 0


class CustomerFacts(BaseModel):
    """The facts about a customer that the binding and unbinding rules read (imported from
    billing; the same fields in the import row and in the snapshot the rules see)."""

    has_credit_account: bool = False
    is_partner_or_applicant: bool = False
    has_special_contract: bool = False
    reported_by_direct_sales: bool = False
    in_reward_programme: bool = False
    enterprise_role: Literal["none", "master", "member"] = "none"
    enterprise_has_independent_members: bool = False
    has_recharge_bonus: bool = False
    has_stored_value_card: bool = False
    has_reserved_instances: bool = False
    has_support_plan: bool = False
    in_arrears: bool = False
    account_frozen: bool = False
    has_orders_awaiting_partner_payment: bool = False
    has_unused_pickup_vouchers: bool = False


class CustomerSnapshot(CustomerFacts):
    """A customer as the rules see it."""

    id: str
    name: str
    email: str


class BindingSnapshot(BaseModel):
    """An association between a partner and a customer."""

    id: int
    partner_id: str
    customer_id: str
    mode: AssociationMode
    status: str
    workflow_id: str | None = None


class Decision(BaseModel):
    """A person's decision on a waiting step (update payload).

    ``nonce`` is the signed link's nonce (or a client-made id) and doubles as the update id,
    so a double click or a re-sent link is the same update.
    """

    actor: Actor
    nonce: str | None = None
    comment: str | None = None
    # Who entered the decision (the CLI's OS user or PARTNERFLOW_OPERATOR), for the audit.
    operator: str | None = Field(default=None, max_length=64)
