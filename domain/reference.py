"""Rows of the reference-data imports (partners, users, customers), validated field by field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.parties import CustomerFacts, PartnerStatus, PartnerType, Role
from domain.types import Email, Ident, Name

__all__ = ["CustomerRow", "Email", "Ident", "PartnerRow", "UserRow"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartnerRow(_Row):
    """One partner account."""

    id: Ident
    company_name: Name
    uscc: str = Field(min_length=18, max_length=18)
    contact_email: Email
    type: PartnerType
    status: PartnerStatus = PartnerStatus.ACTIVE
    business_certified: bool = False
    consulting_permission: bool = False
    distributor_id: Ident | None = None
    certified_solutions: int = Field(0, ge=0)
    advanced_solutions: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _advanced_within_certified(self) -> PartnerRow:
        if self.advanced_solutions > self.certified_solutions:
            raise ValueError("advanced_solutions cannot exceed certified_solutions")
        return self


class UserRow(_Row):
    """One person: vendor staff (no party), a partner's user, or a customer's user."""

    id: Ident
    name: Name
    email: Email
    role: Role
    partner_id: Ident | None = None
    customer_id: Ident | None = None
    active: bool = True

    @model_validator(mode="after")
    def _party_matches_role(self) -> UserRow:
        if self.role in (Role.PARTNER_ADMIN, Role.PARTNER_STAFF):
            if not self.partner_id or self.customer_id:
                raise ValueError(f"a {self.role.value} needs partner_id and no customer_id")
        elif self.role == Role.CUSTOMER:
            if not self.customer_id or self.partner_id:
                raise ValueError("a customer user needs customer_id and no partner_id")
        elif self.partner_id or self.customer_id:
            raise ValueError(f"vendor staff ({self.role.value}) have no partner_id or customer_id")
        return self


class CustomerRow(CustomerFacts):
    """One customer account with the facts the binding rules read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Ident
    name: Name
    email: Email
