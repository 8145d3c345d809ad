"""Rows of the reference-data imports (partners, users, customers), validated field by field."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.parties import CustomerFacts, PartnerStatus, PartnerType, Role
from domain.text import N_, MarkedError
from domain.types import Email, Ident, Name

__all__ = ["CustomerRow", "Email", "Ident", "PartnerRow", "UserRow"]


def _locale(value: str | None) -> str | None:
    """``zh-CN`` or ``en`` (``zh_CN``, ``zh``, ``en_US`` accepted); empty: the site default."""
    if value is None or not value.strip():
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag in ("zh", "zh-cn", "zh-hans", "zh-hans-cn"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    raise MarkedError(N_("locale must be zh-CN or en, not %(value)s"), value=repr(value))


def _timezone(value: str | None) -> str | None:
    """An IANA zone (``Asia/Shanghai``, ``Europe/Berlin``); empty: the locale's default."""
    if value is None or not value.strip():
        return None
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise MarkedError(
            N_("unknown time zone %(value)s (use an IANA name like Asia/Shanghai)"),
            value=repr(value),
        ) from None
    return value.strip()


# The reader's language and zone (docs/i18n.md): import columns ``locale`` and ``timezone``.
LocaleColumn = Annotated[str | None, AfterValidator(_locale)]
TimezoneColumn = Annotated[str | None, AfterValidator(_timezone)]


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
    locale: LocaleColumn = None
    timezone: TimezoneColumn = None

    @model_validator(mode="after")
    def _advanced_within_certified(self) -> PartnerRow:
        if self.advanced_solutions > self.certified_solutions:
            raise MarkedError(N_("advanced_solutions cannot exceed certified_solutions"))
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
    locale: LocaleColumn = None
    timezone: TimezoneColumn = None

    @model_validator(mode="after")
    def _party_matches_role(self) -> UserRow:
        if self.role in (Role.PARTNER_ADMIN, Role.PARTNER_STAFF):
            if not self.partner_id or self.customer_id:
                raise MarkedError(
                    N_("a %(role)s needs partner_id and no customer_id"), role=self.role.value
                )
        elif self.role == Role.CUSTOMER:
            if not self.customer_id or self.partner_id:
                raise MarkedError(N_("a customer user needs customer_id and no partner_id"))
        elif self.partner_id or self.customer_id:
            raise MarkedError(
                N_("vendor staff (%(role)s) have no partner_id or customer_id"),
                role=self.role.value,
            )
        return self


class CustomerRow(CustomerFacts):
    """One customer account with the facts the binding rules read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Ident
    name: Name
    email: Email
    locale: LocaleColumn = None
    timezone: TimezoneColumn = None
