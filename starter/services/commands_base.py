"""The shape of a start form or case action: one input model, one service function, who may use it.

The registry itself (``starter.services.commands.KINDS``) is assembled from the area modules;
this module holds only what they share, so that they can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from domain.parties import Actor, Role
from domain.types import Ident, check_duration, parse_duration
from infra.i18n import N_
from starter.services.context import AppContext
from starter.services.errors import BadInputError

PARTNER_USER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_STAFF})
VENDOR_ROLES = frozenset({Role.OPS, Role.ECOSYSTEM_MANAGER, Role.FINANCE})
"""Vendor staff: a case of any partner or customer is in their scope (the kind's roles and the
workflow's validators still decide whether they may act on it)."""


def _typed(value: Any) -> Any:
    # A person types 7d, 36h or P7D: every string goes through the business parser, so that
    # "forever" is refused with the words the CLI uses ("not a duration like 7d ...").
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[
    timedelta, BeforeValidator(_typed), AfterValidator(lambda d: check_duration(d))
]
"""A validity, window or lead time typed into a form: more than zero, at most 366 days."""
Offset = Annotated[
    timedelta,
    BeforeValidator(_typed),
    AfterValidator(lambda d: check_duration(d, allow_zero=True)),
]
"""A "remind N before" typed into a form: zero to 366 days."""


class CommandInput(BaseModel):
    """Base of every input model: strings trimmed, unknown fields refused."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class CaseInput(CommandInput):
    """Base of every case action's input: the workflow it acts on (the CLI's argument)."""

    workflow_id: Ident = Field(
        title=N_("Case"), description=N_("The workflow id, e.g. invitation-P-1-C-17.")
    )


@dataclass(frozen=True)
class Done:
    """What a command did: the case to show next and a one-line flash.

    ``message`` is marked English (``N_``) with ``%(name)s`` placeholders filled from
    ``values`` after translation; ``result`` is the service's answer (a view) for the API.
    """

    workflow_id: str | None
    message: str
    values: dict[str, str] = field(default_factory=dict)
    result: Any = None

    @classmethod
    def of(cls, view: Any, message: str, **values: str) -> Done:
        """What a command that reached a workflow did: the workflow's case next, the flash
        line filled from ``values``, and the workflow's view (``workflow_id``) as the answer."""
        return cls(view.workflow_id, message, values, view)

    @classmethod
    def status_of(cls, view: Any, message: str) -> Done:
        """Done.of with the workflow's id and its status now (``%(id)s``, ``%(status)s``)."""
        return cls.of(view, message, id=view.workflow_id, status=view.status.value)

    def text(self, translate: Callable[[str], str] = lambda s: s) -> str:
        """The flash line in the reader's language."""
        return translate(self.message) % self.values if self.values else translate(self.message)


@dataclass(frozen=True)
class Parties:
    """Whom a case concerns, for the scope check: a partner, a customer, the user who started
    it (an applicant before its partner account exists)."""

    partner_id: str | None = None
    customer_id: str | None = None
    user_id: str | None = None

    def visible_to(self, actor: Actor) -> bool:
        """Vendor staff see every case; a partner's users their partner's; a customer its own;
        anyone the case they started themselves."""
        if actor.role in VENDOR_ROLES:
            return True
        if self.user_id is not None and self.user_id == actor.user_id:
            return True
        if actor.role in PARTNER_USER_ROLES:
            return self.partner_id is not None and self.partner_id == actor.partner_id
        if actor.role == Role.CUSTOMER:
            return self.customer_id is not None and self.customer_id == actor.customer_id
        return False


class OutOfScopeError(BadInputError):
    """The case or object is not in the actor's scope (or does not exist): shown as 404."""

    default_rule = "not_found"


Runner = Callable[[AppContext, Actor, Any], Awaitable[Done]]
Scoper = Callable[[AppContext, Any], Awaitable[Parties | None]]


@dataclass(frozen=True)
class Kind:
    """One start form or case action.

    ``title``, ``group`` and ``about`` are marked English (``N_``). ``case`` names the workflow
    type a case action acts on (the prefix of its ids, e.g. ``invitation``); ``None`` for a
    form that starts something (or records a fact) from scratch. ``partner_field`` is the input
    field that a partner user may only set to its own partner (prefilled and locked).
    """

    name: str
    title: str
    group: str
    roles: frozenset[Role]
    model: type[CommandInput]
    run: Runner
    about: str = ""
    case: str | None = None
    partner_field: str | None = None
    button: str = N_("Submit")
    # Whom a valid input concerns (None: nothing to check beyond the role and partner lock).
    scope: Scoper | None = None
    # A case action's form values from the workflow id (default: the ``workflow_id`` field).
    prefill: Callable[[str], dict[str, str]] | None = None

    def prefilled(self, workflow_id: str) -> dict[str, str]:
        """The form's values when opened from a case page."""
        if self.prefill is not None:
            return self.prefill(workflow_id)
        return {"workflow_id": workflow_id}

    def may_use(self, actor: Actor) -> bool:
        """Whether the actor's role may use this form at all."""
        return actor.role in self.roles

    def locked(self, actor: Actor) -> dict[str, str]:
        """The fields fixed by who the actor is: a partner user's own partner."""
        if self.partner_field and actor.partner_id and actor.role in PARTNER_USER_ROLES:
            return {self.partner_field: actor.partner_id}
        return {}


def roles(*names: Role) -> frozenset[Role]:
    """A role set, written the way the tables of kinds read best."""
    return frozenset(names)
