"""Development paths (伙伴发展路径) and their certification thresholds (docs/onboarding.md, "Development paths").

Software partner path (the vendor's rule): role certification needs >= 1 certified cloud software solution,
differentiation certification >= 1 advanced certified solution. Service partner path: the
yearly policy, as a configurable rule ("2 persons / 4 certificates" on personal accounts, an
HCSA+HCSP pair held by one person counting as one, HCIP standing in for HCIA and four HCIPs
where there is no HCIA [seed + doc], one cloud service case in the last 12 months (the vendor's rule)).
Every evaluation returns what is missing, so a refusal can say it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.onboarding import WorkCalendar
from domain.parties import Actor, PartnerSnapshot
from domain.text import N_, MarkedText
from domain.types import DECISION_TIMEOUT, BusinessDuration


class DevelopmentPath(StrEnum):
    """The partner development paths with certification levels."""

    SOFTWARE = "software"
    SERVICE = "service"


class CertLevel(StrEnum):
    """Certification levels of a path, in the order they are reached."""

    ROLE = "role"
    DIFFERENTIATION = "differentiation"


# The service path's yearly policy defines role certification only.
LEVELS: dict[DevelopmentPath, tuple[CertLevel, ...]] = {
    DevelopmentPath.SOFTWARE: (CertLevel.ROLE, CertLevel.DIFFERENTIATION),
    DevelopmentPath.SERVICE: (CertLevel.ROLE,),
}


class CertificateKind(StrEnum):
    """Individual certificates held on staff's personal accounts."""

    HCSA = "HCSA"  # sales: building customers' business on the cloud
    HCSP = "HCSP"  # sales: partner sales fundamentals
    HCIA = "HCIA"  # technical, associate
    HCIP = "HCIP"  # technical, professional (may stand in for HCIA)


class StaffCertificate(BaseModel):
    """One certificate on one person's personal account."""

    holder: str  # the personal account id
    kind: CertificateKind
    number: str
    expires_on: date | None = None


class CloudCase(BaseModel):
    """A delivered cloud service case."""

    case_id: str
    completed_on: date


class PathFacts(BaseModel):
    """What the thresholds read about a partner, loaded fresh before each evaluation."""

    partner_id: str
    certified_solutions: int = 0
    advanced_solutions: int = 0
    certificates: list[StaffCertificate] = Field(default_factory=list)
    cases: list[CloudCase] = Field(default_factory=list)


class SoftwareThresholds(BaseModel):
    """Software partner path (the vendor's rule)."""

    role_min_solutions: int = Field(1, ge=0)
    differentiation_min_advanced: int = Field(1, ge=0)


class ServiceThresholds(BaseModel):
    """Service partner path: the yearly policy's certificate and case rule."""

    min_persons: int = Field(2, ge=0)
    min_certificates: int = Field(4, ge=0)
    hcip_stands_in_for_hcia: bool = True
    # With no HCIA held at all, this many HCIPs are needed ("传四个HCIP").
    hcips_without_hcia: int = Field(4, ge=0)
    min_cloud_cases: int = Field(1, ge=0)
    case_window_days: int = Field(365, ge=1)


class PathThresholds(BaseModel):
    """Every path's thresholds (the policy in force when the path workflow started)."""

    software: SoftwareThresholds = Field(default_factory=SoftwareThresholds)
    service: ServiceThresholds = Field(default_factory=ServiceThresholds)


class Shortfall(BaseModel):
    """One unmet condition: what is needed, what the partner has, and what to do."""

    rule: str
    needed: int
    have: int
    message: str
    # ``message`` as a marked text and its values, so that a page shows it in its reader's
    # language (``marked``); ``terms`` names the values that are terms too (a path, a level).
    template: str = ""
    params: dict[str, str | int] = Field(default_factory=dict)
    terms: list[str] = Field(default_factory=list)

    def marked(self) -> MarkedText:
        """``message`` (its English unchanged) with the marked text for other readers."""
        if not self.template:
            return MarkedText.worded(self.message, self.message, {})
        params: dict[str, Any] = {
            k: MarkedText(str(v)) if k in self.terms else v for k, v in self.params.items()
        }
        return MarkedText.worded(self.message, self.template, params)


def _shortfall(
    rule: str,
    needed: int,
    got: int,
    template: str,
    terms: tuple[str, ...] = (),
    /,
    **params: Any,
) -> Shortfall:
    """A Shortfall whose English message is ``template % params``."""
    return Shortfall(
        rule=rule,
        needed=needed,
        have=got,
        message=template % params,
        template=template,
        params=params,
        terms=list(terms),
    )


def valid_certificates(certs: list[StaffCertificate], today: date) -> list[StaffCertificate]:
    """Unexpired certificates, each certificate number once."""
    seen: set[str] = set()
    out = []
    for c in certs:
        if c.number in seen or (c.expires_on is not None and c.expires_on < today):
            continue
        seen.add(c.number)
        out.append(c)
    return out


def counted_per_person(
    certs: list[StaffCertificate], today: date, rule: ServiceThresholds
) -> dict[str, int]:
    """Certificates that count, per person: an HCSA+HCSP pair on one account counts as one
    (either alone counts nothing); each HCIA counts; each HCIP counts when it may stand in."""
    kinds: dict[str, list[CertificateKind]] = defaultdict(list)
    for c in valid_certificates(certs, today):
        kinds[c.holder].append(c.kind)
    out: dict[str, int] = {}
    for holder, held in kinds.items():
        pair = 1 if CertificateKind.HCSA in held and CertificateKind.HCSP in held else 0
        n = pair + held.count(CertificateKind.HCIA)
        if rule.hcip_stands_in_for_hcia:
            n += held.count(CertificateKind.HCIP)
        if n:
            out[holder] = n
    return out


def recent_cases(cases: list[CloudCase], today: date, window_days: int) -> list[CloudCase]:
    """Cases completed within the window (the last 12 months by default), not in the future."""
    start = today - timedelta(days=window_days)
    return [c for c in cases if start <= c.completed_on <= today]


def software_shortfalls(
    level: CertLevel, facts: PathFacts, rule: SoftwareThresholds
) -> list[Shortfall]:
    """The software path's threshold for ``level``."""
    if level == CertLevel.ROLE:
        need, have = rule.role_min_solutions, facts.certified_solutions
        if have < need:
            return [
                _shortfall(
                    "software_role_solutions",
                    need,
                    have,
                    N_(
                        "role certification needs >= %(need)s certified cloud software "
                        "solution(s); partner %(partner)s has %(have)s: %(more)s more to certify"
                    ),
                    need=need,
                    partner=facts.partner_id,
                    have=have,
                    more=need - have,
                )
            ]
        return []
    need, have = rule.differentiation_min_advanced, facts.advanced_solutions
    if have < need:
        return [
            _shortfall(
                "software_differentiation_advanced",
                need,
                have,
                N_(
                    "differentiation certification needs >= %(need)s advanced certified "
                    "solution(s); partner %(partner)s has %(have)s: %(more)s more to certify"
                ),
                need=need,
                partner=facts.partner_id,
                have=have,
                more=need - have,
            )
        ]
    return []


def service_shortfalls(facts: PathFacts, rule: ServiceThresholds, today: date) -> list[Shortfall]:
    """The service path's role certification rule."""
    out: list[Shortfall] = []
    per_person = counted_per_person(facts.certificates, today, rule)
    persons, total = len(per_person), sum(per_person.values())
    if persons < rule.min_persons:
        out.append(
            _shortfall(
                "service_persons",
                rule.min_persons,
                persons,
                N_(
                    "certificates must be held by >= %(need)s person(s) on their personal "
                    "accounts; %(have)s do: %(more)s more person(s)"
                ),
                need=rule.min_persons,
                have=persons,
                more=rule.min_persons - persons,
            )
        )
    if total < rule.min_certificates:
        out.append(
            _shortfall(
                "service_certificates",
                rule.min_certificates,
                total,
                N_(
                    "role certification needs >= %(need)s certificate(s) (an HCSA+HCSP pair on "
                    "one account counts as one, an HCIP stands in for an HCIA); %(have)s "
                    "count: %(more)s more"
                )
                if rule.hcip_stands_in_for_hcia
                else N_(
                    "role certification needs >= %(need)s certificate(s) (an HCSA+HCSP pair on "
                    "one account counts as one); %(have)s count: %(more)s more"
                ),
                need=rule.min_certificates,
                have=total,
                more=rule.min_certificates - total,
            )
        )
    valid = valid_certificates(facts.certificates, today)
    hcia = sum(1 for c in valid if c.kind == CertificateKind.HCIA)
    hcip = sum(1 for c in valid if c.kind == CertificateKind.HCIP)
    if hcia == 0 and rule.hcips_without_hcia and hcip < rule.hcips_without_hcia:
        out.append(
            _shortfall(
                "service_hcips_without_hcia",
                rule.hcips_without_hcia,
                hcip,
                N_(
                    "with no HCIA held, %(need)s HCIPs are needed; %(have)s held: add an HCIA "
                    "or %(more)s more HCIP(s)"
                ),
                need=rule.hcips_without_hcia,
                have=hcip,
                more=rule.hcips_without_hcia - hcip,
            )
        )
    cases = len(recent_cases(facts.cases, today, rule.case_window_days))
    if cases < rule.min_cloud_cases:
        out.append(
            _shortfall(
                "service_cloud_cases",
                rule.min_cloud_cases,
                cases,
                N_(
                    "role certification needs >= %(need)s cloud service case(s) completed in "
                    "the last %(days)s days; %(have)s recorded"
                ),
                need=rule.min_cloud_cases,
                days=rule.case_window_days,
                have=cases,
            )
        )
    return out


def level_problem(
    path: DevelopmentPath, level: CertLevel, held: set[CertLevel]
) -> Shortfall | None:
    """Whether ``level`` exists on the path and the levels before it are held."""
    levels = LEVELS[path]
    if level not in levels:
        return _shortfall(
            "no_such_level",
            0,
            0,
            N_("the %(path)s path has no %(level)s certification (levels: %(levels)s)"),
            ("path", "level"),
            path=path.value,
            level=level.value,
            levels=", ".join(lv.value for lv in levels),
        )
    before = levels[: levels.index(level)]
    missing = [lv for lv in before if lv not in held]
    if missing:
        return _shortfall(
            "earlier_level_first",
            len(before),
            len(before) - len(missing),
            N_(
                "%(level)s certification comes after %(missing)s certification on the %(path)s path"
            ),
            ("level", "missing", "path"),
            level=level.value,
            missing=", ".join(lv.value for lv in missing),
            path=path.value,
        )
    return None


def shortfalls(
    path: DevelopmentPath,
    level: CertLevel,
    facts: PathFacts,
    thresholds: PathThresholds,
    today: date,
    held: set[CertLevel] | None = None,
) -> list[Shortfall]:
    """Everything missing for ``level`` on ``path`` (empty: the threshold is met)."""
    order = level_problem(path, level, held or set())
    if order is not None:
        return [order]
    if path == DevelopmentPath.SOFTWARE:
        return software_shortfalls(level, facts, thresholds.software)
    return service_shortfalls(facts, thresholds.service, today)


def describe_shortfalls(items: list[Shortfall]) -> str:
    """One sentence per missing item."""
    return "; ".join(s.message for s in items)


# ----- the path workflow's payloads ---------------------------------------------------------


class PathStatus(StrEnum):
    """Lifecycle of one partner's membership of one path."""

    CHECKING = "CHECKING"
    INVITED = "INVITED"
    AWAITING_JOIN_APPROVAL = "AWAITING_JOIN_APPROVAL"  # another account of the company has it
    JOINED = "JOINED"
    COMPLETED = "COMPLETED"  # every level of the path certified
    LEFT = "LEFT"
    EXPIRED = "EXPIRED"  # the invitation lapsed
    REFUSED = "REFUSED"  # a company rule refused the path, or the manager did
    CANCELLED = "CANCELLED"


PATH_FINAL = frozenset(
    {
        PathStatus.COMPLETED,
        PathStatus.LEFT,
        PathStatus.EXPIRED,
        PathStatus.REFUSED,
        PathStatus.CANCELLED,
    }
)


class PathInvitation(BaseModel):
    """Input of the development path workflow: the vendor invites a partner to a path."""

    partner_id: str
    path: DevelopmentPath
    invited_by: Actor
    validity: BusinessDuration = timedelta(days=7)
    thresholds: PathThresholds = Field(default_factory=PathThresholds)
    approval_working_days: int = Field(3, ge=1)
    calendar: WorkCalendar = Field(default_factory=WorkCalendar)
    # How long a decision may wait for its activities before it is refused (workflows/guard.py).
    decision_timeout: BusinessDuration = DECISION_TIMEOUT


class CertificationAsk(BaseModel):
    """Update payload: the partner asks for a certification level."""

    actor: Actor
    level: CertLevel
    nonce: str | None = None


class CertificationRecord(BaseModel):
    """One certification request and its outcome, as the view shows it."""

    level: CertLevel
    status: str  # pending | certified | rejected | withdrawn
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None


class CompanyPaths(BaseModel):
    """Other accounts of the same company on the same path (the company rules read it)."""

    uscc: str
    others_on_path: list[str] = Field(default_factory=list)


class PathContext(BaseModel):
    """Fresh facts for the path workflow, loaded by an activity."""

    partner: PartnerSnapshot | None
    admin_user_id: str | None = None
    company: CompanyPaths | None = None


class PathView(BaseModel):
    """What the ``status`` query and the path updates return."""

    workflow_id: str
    partner_id: str
    path: DevelopmentPath
    status: PathStatus
    expires_at: datetime | None = None
    reason: str | None = None
    others_on_path: list[str] = Field(default_factory=list)
    pending_step: str | None = None  # join_approval | certification:<level>
    certified: list[CertLevel] = Field(default_factory=list)
    requests: list[CertificationRecord] = Field(default_factory=list)
    joined_at: datetime | None = None
    left_at: datetime | None = None


def company_path_refusal(path: DevelopmentPath, others_on_path: list[str]) -> str | None:
    """The service path is chosen once per company (the vendor's rule): refused when another account has it."""
    if path == DevelopmentPath.SERVICE and others_on_path:
        return (
            f"the service path is chosen once per company; partner account(s) "
            f"{', '.join(others_on_path)} of the same company already follow it"
        )
    return None


def needs_join_approval(path: DevelopmentPath, others_on_path: list[str]) -> bool:
    """The software path chosen again by another account of the company needs the ecosystem
    manager's approval (the vendor's rule)."""
    return path == DevelopmentPath.SOFTWARE and bool(others_on_path)


def leave_problem(certified: list[CertLevel]) -> str | None:
    """A partner may leave a path only before role certification (the vendor's rule)."""
    if CertLevel.ROLE in certified:
        return (
            "a partner may leave a development path only before role certification; "
            "this path's role certification is granted, ask the ecosystem manager instead"
        )
    return None
