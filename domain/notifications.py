"""Email payloads: what a workflow asks the mail activity to send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class LinkSpec(BaseModel):
    """A signed action link to put into an email (signed by the activity, never in a workflow).

    ``action`` is the workflow update to run; ``actor_id`` the only user who may use it.
    A link is bound to one decision: ``run_id`` is the run that issued it (the link server
    acts on that run only, never on a later run of the same workflow id) and ``task_key``
    the human task it decides. ``expires_at`` is the business expiry; the signer caps it with
    the link TTL, except for ``offline`` links (docs/invitation.md: handed over offline, no expiry).
    """

    name: str  # the template variable that receives the URL
    workflow_id: str
    action: str
    actor_id: str
    nonce: str
    expires_at: datetime | None = None
    label: str = ""
    # None only in links issued before links named their run; the link server refuses those.
    run_id: str | None = None
    task_key: str | None = None
    offline: bool = False


class EmailRequest(BaseModel):
    """Send ``template`` to ``to`` once per ``key``."""

    key: str
    to: str
    template: str
    context: dict[str, Any] = Field(default_factory=dict)
    links: list[LinkSpec] = Field(default_factory=list)
    workflow_id: str | None = None


# An email that will never be delivered as it is: ``bounced`` (the mail server answered 5xx)
# or ``invalid`` (a header value with a line break; we refuse to send it).
UNDELIVERABLE = frozenset({"bounced", "invalid"})


class EmailResult(BaseModel):
    """What happened to the email: ``sent`` now, ``already_sent`` by an earlier attempt, or
    undeliverable (``bounced`` / ``invalid``, see ``UNDELIVERABLE``) with the reason in ``error``.
    """

    key: str
    message_id: str
    status: str
    error: str | None = None

    @property
    def undeliverable(self) -> bool:
        """True when no retry will deliver this email: a person must fix the address."""
        return self.status in UNDELIVERABLE
