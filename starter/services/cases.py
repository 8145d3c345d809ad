"""Cases: every workflow run a person may follow, listed from the business tables.

Each workflow keeps its own row (invitations, change requests, payouts, renewal tasks,
authorizations, onboarding applications, path memberships); one UNION over them is the list,
with the same filters, sorting and pages for the console, the CLI and the JSON API. The
database answers rather than Temporal's visibility store: it has the overdue tasks and the
names, and works on every Temporal server (the time-skipping one has no search attributes).

Scope first: an actor sees the cases of its partner (a distributor also those it must
authorize), a customer its own, finance and ecosystem managers those of their role, ops all;
anything else is "not found", like a case that does not exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, computed_field, field_validator
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Subquery

from domain.parties import PARTNER_ROLES, Actor, Role
from infra.db import utcnow
from infra.i18n import N_
from infra.tables import (
    BindingChangeRequest,
    Customer,
    CustomerAuthorization,
    HumanTask,
    IncentivePayout,
    Invitation,
    OnboardingApplication,
    Partner,
    PathMembership,
    RenewalTask,
)
from starter.services.context import AppContext

Sessions = async_sessionmaker[AsyncSession]

# Workflow type -> what a reader calls its business object (the inbox's names).
TYPES: dict[str, str] = {
    "InvitationWorkflow": N_("Invitation"),
    "UnbindingWorkflow": N_("Binding change"),
    "IncentivePayoutWorkflow": N_("Incentive payout"),
    "RenewalWorkflow": N_("Renewal"),
    "CustomerAuthorizationWorkflow": N_("Customer authorization"),
    "OnboardingWorkflow": N_("Onboarding application"),
    "DevelopmentPathWorkflow": N_("Development path"),
}
# The case types a vendor role works on, besides any case that has a task for that role.
ROLE_TYPES: dict[Role, tuple[str, ...]] = {
    Role.FINANCE: ("IncentivePayoutWorkflow",),
    Role.ECOSYSTEM_MANAGER: ("OnboardingWorkflow", "DevelopmentPathWorkflow"),
}
SORTS = ("started", "type", "status", "partner", "customer", "due", "expires")
Sort = Literal[
    "started",
    "-started",
    "type",
    "-type",
    "status",
    "-status",
    "partner",
    "-partner",
    "customer",
    "-customer",
    "due",
    "-due",
    "expires",
    "-expires",
]
MAX_PER_PAGE = 500


class CaseNotFoundError(LookupError):
    """No such case within the actor's scope (404 either way)."""


class CaseFilters(BaseModel):
    """What to list: every filter optional; dates are days in ``timezone`` (UTC if none)."""

    type: str | None = Field(None, description="Workflow type, e.g. InvitationWorkflow.")
    status: str | None = Field(None, description="Business status, e.g. PENDING.")
    partner: str | None = Field(None, max_length=64, description="Partner id.")
    customer: str | None = Field(None, max_length=64, description="Customer id.")
    overdue: bool = Field(False, description="Only cases with an open task past its due date.")
    started_from: date | None = Field(None, description="Started on or after this day.")
    started_to: date | None = Field(None, description="Started on or before this day.")
    timezone: str | None = Field(None, description="IANA zone of the two days (UTC if none).")
    sort: Sort = Field("-started", description="Column, '-' first for descending.")
    page: int = Field(1, ge=1)
    per_page: int = Field(25, ge=1, le=MAX_PER_PAGE)

    @field_validator(
        "type",
        "status",
        "partner",
        "customer",
        "started_from",
        "started_to",
        "timezone",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # An empty field of a GET form means "any".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in TYPES:
            raise ValueError(f"unknown type {value!r}; choose one of {', '.join(TYPES)}")
        return value

    @field_validator("status")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


class CaseRow(BaseModel):
    """One line of the list."""

    workflow_id: str
    type: str
    status: str
    partner_id: str | None = None
    partner_name: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    started_at: datetime
    # the earliest due date of the case's open tasks, and whether it has passed
    due_at: datetime | None = None
    overdue: bool = False
    open_tasks: int = 0
    # a renewal's order expiry (empty for the other types)
    expires_at: datetime | None = None


class Page(BaseModel):
    """One page of a list, with what is needed to ask for the others."""

    items: list[CaseRow]
    total: int
    page: int
    per_page: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pages(self) -> int:
        """How many pages the list has (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_next(self) -> bool:
        """Whether a page follows this one."""
        return self.page < self.pages


def _branch(
    type_name: str,
    workflow_id: Any,
    partner: Any,
    customer: Any,
    status: Any,
    started: Any,
    *,
    distributor: Any = None,
    expires: Any = None,
    where: ColumnElement[bool] | None = None,
) -> Select[Any]:
    q = select(
        literal(type_name, String).label("type"),
        workflow_id.label("workflow_id"),
        (partner if partner is not None else null()).label("partner_id"),
        (customer if customer is not None else null()).label("customer_id"),
        (distributor if distributor is not None else null()).label("distributor_id"),
        func.upper(status).label("status"),
        started.label("started_at"),
        (expires if expires is not None else null()).label("expires_at"),
    )
    return q.where(where) if where is not None else q


def _latest(model: Any) -> ColumnElement[bool]:
    """The newest run of a workflow id (a resend or a new application is a new row)."""
    newer = model.__table__.alias()
    return ~exists().where(newer.c.workflow_id == model.workflow_id, newer.c.id > model.id)


def cases_union() -> Subquery:
    """Every case as (type, workflow_id, partner_id, customer_id, distributor_id, status,
    started_at, expires_at): one row per workflow id, its newest run; ``expires_at`` is the
    renewal's order expiry (``partnerflow renewals list`` sorts by it), else empty."""
    inv, bcr, pay, ren = Invitation, BindingChangeRequest, IncentivePayout, RenewalTask
    auth, onb, path = CustomerAuthorization, OnboardingApplication, PathMembership
    return union_all(
        _branch(
            "InvitationWorkflow",
            inv.workflow_id,
            inv.partner_id,
            inv.customer_id,
            inv.status,
            inv.created_at,
            where=_latest(inv),
        ),
        _branch(
            "UnbindingWorkflow",
            bcr.workflow_id,
            bcr.partner_id,
            bcr.customer_id,
            bcr.status,
            bcr.created_at,
            where=_latest(bcr),
        ),
        _branch(
            "IncentivePayoutWorkflow",
            pay.payout_id,
            pay.partner_id,
            None,
            pay.status,
            pay.created_at,
        ),
        _branch(
            "RenewalWorkflow",
            ren.workflow_id,
            ren.partner_id,
            ren.customer_id,
            ren.status,
            ren.created_at,
            expires=ren.expires_at,
            where=ren.workflow_started.is_(True),
        ),
        _branch(
            "CustomerAuthorizationWorkflow",
            auth.workflow_id,
            auth.partner_id,
            auth.customer_id,
            auth.status,
            auth.requested_at,
            distributor=auth.distributor_id,
            where=_latest(auth),
        ),
        _branch(
            "OnboardingWorkflow",
            onb.workflow_id,
            onb.partner_id,
            onb.applicant_customer_id,
            onb.status,
            onb.created_at,
            where=_latest(onb),
        ),
        _branch(
            "DevelopmentPathWorkflow",
            path.workflow_id,
            path.partner_id,
            None,
            path.status,
            path.created_at,
            where=_latest(path),
        ),
    ).subquery("cases")


def scope_filter(u: Subquery, actor: Actor) -> ColumnElement[bool]:
    """The cases ``actor`` may see (see the module's docstring)."""
    if actor.role == Role.OPS:
        return true()
    if actor.role in PARTNER_ROLES:
        if not actor.partner_id:
            return false()
        return or_(u.c.partner_id == actor.partner_id, u.c.distributor_id == actor.partner_id)
    if actor.role == Role.CUSTOMER:
        if not actor.customer_id:
            return false()
        return u.c.customer_id == actor.customer_id
    has_task = exists().where(
        HumanTask.workflow_id == u.c.workflow_id, HumanTask.assignee_role == actor.role.value
    )
    return or_(u.c.type.in_(ROLE_TYPES.get(actor.role, ())), has_task)


def _day_start(day: date, zone: str | None) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone) if zone else UTC).astimezone(UTC)


def _filters(u: Subquery, f: CaseFilters, now: datetime) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.type:
        out.append(u.c.type == f.type)
    if f.status:
        out.append(u.c.status == f.status)
    if f.partner:
        out.append(u.c.partner_id == f.partner)
    if f.customer:
        out.append(u.c.customer_id == f.customer)
    if f.started_from:
        out.append(u.c.started_at >= _day_start(f.started_from, f.timezone))
    if f.started_to:
        out.append(u.c.started_at < _day_start(f.started_to + timedelta(days=1), f.timezone))
    if f.overdue:
        out.append(
            exists().where(
                HumanTask.workflow_id == u.c.workflow_id,
                HumanTask.status == "open",
                HumanTask.due_at < now,
            )
        )
    return out


async def list_cases(ctx: AppContext, actor: Actor, filters: CaseFilters) -> Page:
    """The page of cases in ``actor``'s scope that match ``filters``, sorted."""
    return await query_cases(ctx.sessions, actor, filters)


async def query_cases(
    sessions: Sessions, actor: Actor, filters: CaseFilters, *, only: str | None = None
) -> Page:
    """``list_cases`` on a session factory; ``only``: just that workflow id."""
    now = utcnow()
    u = cases_union()
    where = and_(scope_filter(u, actor), *_filters(u, filters, now))
    if only is not None:
        where = and_(where, u.c.workflow_id == only)
    open_task = and_(HumanTask.workflow_id == u.c.workflow_id, HumanTask.status == "open")
    due = select(func.min(HumanTask.due_at)).where(open_task).scalar_subquery()
    count_open = select(func.count(HumanTask.id)).where(open_task).scalar_subquery()
    columns = {
        "started": u.c.started_at,
        "type": u.c.type,
        "status": u.c.status,
        "partner": u.c.partner_id,
        "customer": u.c.customer_id,
        "due": due,
        "expires": u.c.expires_at,
    }
    name = filters.sort.lstrip("-")
    key: Any = columns[name]
    descending = filters.sort.startswith("-")
    # Empty values last in either direction; the workflow id keeps the order total.
    order = [key.is_(None), key.desc() if descending else key.asc(), u.c.workflow_id]
    q = (
        select(
            u,
            Partner.company_name.label("partner_name"),
            Customer.name.label("customer_name"),
            due.label("due_at"),
            count_open.label("open_tasks"),
        )
        .select_from(u)
        .outerjoin(Partner, Partner.id == u.c.partner_id)
        .outerjoin(Customer, Customer.id == u.c.customer_id)
        .where(where)
        .order_by(*order)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    async with sessions() as s:
        total = await s.scalar(select(func.count()).select_from(u).where(where)) or 0
        rows = (await s.execute(q)).mappings().all()
    items = []
    for r in rows:
        due_at = _aware(r["due_at"])
        items.append(
            CaseRow(
                workflow_id=r["workflow_id"],
                type=r["type"],
                status=r["status"] or "",
                partner_id=r["partner_id"],
                partner_name=r["partner_name"],
                customer_id=r["customer_id"],
                customer_name=r["customer_name"],
                started_at=_aware(r["started_at"]) or now,
                due_at=due_at,
                overdue=due_at is not None and due_at < now,
                open_tasks=r["open_tasks"] or 0,
                expires_at=_aware(r["expires_at"]),
            )
        )
    return Page(items=items, total=total, page=filters.page, per_page=filters.per_page)


def _aware(value: Any) -> datetime | None:
    """A UTC datetime from a union column (SQLite hands back text or naive values there)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


async def case_row(sessions: Sessions, actor: Actor, workflow_id: str) -> CaseRow | None:
    """The list's row of one case in ``actor``'s scope, or None."""
    page = await query_cases(sessions, actor, CaseFilters(per_page=1), only=workflow_id)
    return page.items[0] if page.items else None
