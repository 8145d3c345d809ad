"""The registry of start forms and case actions, for every front door.

``KINDS`` maps a name (``invite``, ``invitation-cancel`` ...) to a ``Kind``: its title, who may
use it, its pydantic input model (the CLI command's options, built from the door types in
``domain/``) and the service function that does it. A front door does three things:

    data = parse(kind, actor, raw)            # pydantic ValidationError -> field errors
    done = await execute(ctx, actor, kind, data)
    # RefusedError: the business refusal; OutOfScopeError: 404; BadInputError: field_errors()

The console's ``/start`` and ``/act`` pages and the JSON API are built on this module; the
actor is always the signed-in user, never a value from the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import select

from domain.parties import Actor
from domain.rule_messages import RULE_MESSAGES
from domain.text import error_text
from infra.i18n import N_
from infra.tables import BindingChangeRequest, IncentivePayout, Invitation, OnboardingApplication
from infra.tables.onboarding import PathMembership
from infra.tables.renewals import CustomerAuthorization, RenewalTask
from starter.services.commands_base import (
    CaseInput,
    CommandInput,
    Done,
    Kind,
    OutOfScopeError,
    Parties,
)
from starter.services.commands_cases import CASE_KINDS
from starter.services.commands_partner import PARTNER_KINDS, path_prefill
from starter.services.commands_start import START_KINDS
from starter.services.commands_steps import STEP_KINDS
from starter.services.commands_vendor import VENDOR_KINDS
from starter.services.context import AppContext
from starter.services.errors import BadInputError

__all__ = [
    "KINDS",
    "Done",
    "Kind",
    "OutOfScopeError",
    "action_url",
    "actions_for",
    "case_of",
    "cli_input",
    "execute",
    "field_errors",
    "kinds_for",
    "parse",
]

M = TypeVar("M", bound=CommandInput)

KINDS: dict[str, Kind] = {
    k.name: k for k in [*START_KINDS, *VENDOR_KINDS, *PARTNER_KINDS, *CASE_KINDS, *STEP_KINDS]
}
"""Every start form and case action by name, in the order the start page lists them."""

# Workflow id prefixes -> case type, longest first ("renewal-scan-" before "renewal-").
CASE_PREFIXES = (
    ("binding-change-", "binding-change"),
    ("renewal-scan-", "renewal-scan"),
    ("invitation-", "invitation"),
    ("authorization-", "authorization"),
    ("onboarding-", "onboarding"),
    ("path-", "path"),
    ("incentive-", "incentive"),
    ("renewal-", "renewal"),
)
# A CLI option named in a BadInputError ("--type: ...") -> the input field it fills.
OPTION_FIELDS = {"type": "partner_type"}
_OPTION = re.compile(r"^--([a-z][a-z-]*)(?: [^:]*)?: (.+)$", re.S)


def case_of(workflow_id_or_type: str) -> str | None:
    """The case type of a workflow id (``invitation-P-1-C-1`` -> ``invitation``), or the
    type itself when given one."""
    for prefix, case in CASE_PREFIXES:
        if workflow_id_or_type == case or workflow_id_or_type.startswith(prefix):
            return case
    return None


def kinds_for(actor: Actor) -> list[Kind]:
    """The forms this actor's role may use, in registry order."""
    return [k for k in KINDS.values() if k.may_use(actor)]


def actions_for(workflow_id_or_type: str, actor: Actor) -> list[tuple[str, str]]:
    """``(kind name, title)`` of the case actions the actor may take on this case (its buttons
    on the case page; each opens ``action_url``). Titles are marked English (``N_``)."""
    case = case_of(workflow_id_or_type)
    if case is None:
        return []
    return [(k.name, k.title) for k in KINDS.values() if k.case == case and k.may_use(actor)]


def action_url(kind: str, workflow_id: str) -> str:
    """Where the case action's form is: ``/act/{kind}?workflow_id=...``."""
    from urllib.parse import quote

    return f"/act/{kind}?workflow_id={quote(workflow_id, safe='')}"


def parse(kind: Kind, actor: Actor, raw: Mapping[str, Any]) -> CommandInput:
    """The input model from posted strings: empty fields take the model's defaults, checkboxes
    are booleans, the fields fixed by who the actor is (its own partner) override the input.
    Raises pydantic's ValidationError, whose errors name the fields."""
    fields = kind.model.model_fields
    data: dict[str, Any] = {}
    for name, info in fields.items():
        if info.annotation is bool:
            data[name] = str(raw.get(name, "")).lower() in ("yes", "on", "true", "1")
            continue
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        data[name] = value
    data.update(kind.locked(actor))
    return kind.model.model_validate(data)


async def execute(ctx: AppContext, actor: Actor, kind: Kind, data: CommandInput) -> Done:
    """Checks that the actor may use the form on this object, then runs it.

    A role without the right, another partner, or a case outside the actor's scope raises
    ``OutOfScopeError`` (404: whether it exists is not revealed); a binding outside the scope
    is refused as if it did not exist.
    """
    if not kind.may_use(actor):
        raise OutOfScopeError(f"{kind.name} is not available to {actor.describe()}")
    for name, value in kind.locked(actor).items():
        if getattr(data, name) != value:
            raise OutOfScopeError(f"{name} {getattr(data, name)!r} is outside the actor's scope")
    if isinstance(data, CaseInput):
        if case_of(data.workflow_id) != kind.case:
            raise OutOfScopeError(f"{data.workflow_id} is not a {kind.case} case")
        parties = await case_parties(ctx, data.workflow_id)
        if parties is None or not parties.visible_to(actor):
            raise OutOfScopeError(f"no case {data.workflow_id} in the actor's scope")
    if kind.scope is not None:
        parties = await kind.scope(ctx, data)
        if parties is None or not parties.visible_to(actor):
            # The same words as for a binding that does not exist.
            raise BadInputError(f"--binding: no binding with id {getattr(data, 'binding', '?')}")
    return await kind.run(ctx, actor, data)


async def case_parties(ctx: AppContext, workflow_id: str) -> Parties | None:
    """Whom the case concerns, from the tables its workflow writes (None: no such case)."""
    case = case_of(workflow_id)
    async with ctx.sessions() as s:
        if case == "invitation":
            inv = await s.scalar(select(Invitation).where(Invitation.workflow_id == workflow_id))
            return Parties(inv.partner_id, inv.customer_id) if inv else None
        if case == "binding-change":
            req = await s.scalar(
                select(BindingChangeRequest).where(BindingChangeRequest.workflow_id == workflow_id)
            )
            return Parties(req.partner_id, req.customer_id) if req else None
        if case == "authorization":
            auth = await s.scalar(
                select(CustomerAuthorization).where(
                    CustomerAuthorization.workflow_id == workflow_id
                )
            )
            return Parties(auth.partner_id, auth.customer_id) if auth else None
        if case == "onboarding":
            app = await s.scalar(
                select(OnboardingApplication).where(
                    OnboardingApplication.workflow_id == workflow_id
                )
            )
            if app is None:
                return None
            return Parties(app.partner_id, app.applicant_customer_id, app.submitted_by)
        if case == "incentive":
            pay = await s.scalar(
                select(IncentivePayout).where(IncentivePayout.payout_id == workflow_id)
            )
            return Parties(pay.partner_id) if pay else None
        if case == "renewal":
            task = await s.scalar(select(RenewalTask).where(RenewalTask.workflow_id == workflow_id))
            return Parties(task.partner_id, task.customer_id) if task else None
        if case == "path":
            m = await s.scalar(
                select(PathMembership).where(PathMembership.workflow_id == workflow_id)
            )
            if m is not None:
                return Parties(m.partner_id)
            # Invited, not yet joined: no row yet, but the id names the partner.
            return Parties(path_prefill(workflow_id).get("partner"))
    return Parties() if case == "renewal-scan" else None


# Pydantic's error types -> words a person can act on (marked English, translated by the page);
# the door types' own messages ("ids are 1-64 letters ...") are already such words, marked.
FRIENDLY = {
    "missing": N_("Required."),
    "string_too_short": N_("Required."),
    "int_parsing": N_("Enter a whole number."),
    "greater_than_equal": N_("Must be at least %(limit)s."),
    "greater_than": N_("Must be more than %(limit)s."),
    "string_too_long": N_("Too long: at most %(limit)s characters."),
    "string_pattern_mismatch": N_("Not in the expected format; see the help below the field."),
    "enum": N_("Choose one of the options."),
    "date_parsing": N_("Enter a date like 2026-11-23."),
    "date_from_datetime_parsing": N_("Enter a date like 2026-11-23."),
    "date_type": N_("Enter a date like 2026-11-23."),
    "decimal_parsing": N_("Enter an amount like 1234.50."),
    "decimal_max_places": N_("At most 2 decimal places."),
    "decimal_max_digits": N_("Too many digits."),
    "time_delta_parsing": N_("Enter a duration like 7d, 36h, 15m, 90s or P7D."),
    "time_delta_type": N_("Enter a duration like 7d, 36h, 15m, 90s or P7D."),
    "bool_parsing": N_("Enter true or false."),
    "bool_type": N_("Enter true or false."),
    "less_than_equal": N_("Must be at most %(limit)s."),
}


def field_errors(
    kind: Kind,
    exc: ValidationError | BadInputError,
    translate: Callable[[str], str] = lambda s: s,
) -> dict[str, str]:
    """Errors by input field; what names no field is under ``""`` (shown at the top).

    ``translate`` puts the words of ``FRIENDLY`` and the door types' marked messages
    (``domain.text.MarkedError``) into the reader's language."""
    names = kind.model.model_fields
    out: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            msg = error_text(err, translate)
            name = str(err["loc"][0]) if err["loc"] else ""
            if not name and ": " in msg and msg.split(": ", 1)[0] in names:
                name, msg = msg.split(": ", 1)
            friendly = FRIENDLY.get(err["type"])
            if friendly is not None:
                limits = err.get("ctx") or {}
                limit = next(
                    (limits[k] for k in ("ge", "le", "gt", "max_length") if k in limits), ""
                )
                msg = (
                    translate(friendly) % {"limit": limit}
                    if "%(" in friendly
                    else translate(friendly)
                )
            out.setdefault(name if name in names else "", msg)
        return out
    found = _OPTION.match(exc.message)
    if found:
        name = OPTION_FIELDS.get(found.group(1), found.group(1).replace("-", "_"))
        if name in names:
            return {name: _by_rule(exc, found.group(2), translate)}
    return {"": _by_rule(exc, exc.message, translate)}


def _by_rule(exc: BadInputError, text: str, translate: Callable[[str], str]) -> str:
    """A service's refusal of an input: the detailed English as raised for an English
    reader, the rule's message (``domain.rule_messages``) in another language, as
    ``infra.i18n.refusal_message`` gives refusals."""
    message = RULE_MESSAGES.get(exc.rule or "")
    if message is None:
        return text
    translated = translate(message)
    return text if translated == message else translated


def cli_input(model: type[M], **options: Any) -> M:
    """The input model from a CLI command's options (``None``: not given, the default).

    A bad value is reported as the CLI always has: ``--validity: 400d is longer than 366
    days`` (exit 2, rule ``invalid_duration`` for a duration, else ``invalid_input``)."""
    try:
        return model.model_validate({k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not name and ": " in msg:
            name, msg = msg.split(": ", 1)
        info = model.model_fields.get(name)
        duration = info is not None and timedelta in (info.annotation, *_args(info.annotation))
        raise BadInputError(
            f"--{name.replace('_', '-')}: {msg}",
            rule="invalid_duration" if duration else "invalid_input",
        ) from None


def _args(annotation: Any) -> tuple[Any, ...]:
    """The types inside ``X | None`` and ``Annotated[X, ...]``, flattened."""
    from typing import get_args

    out: list[Any] = []
    for arg in get_args(annotation):
        out.extend([arg, *_args(arg)])
    return tuple(out)
