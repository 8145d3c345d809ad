"""Signed, expiring action links for emails (accept an invitation, approve a request...).

A link is a credential for ONE decision: the token carries the workflow and the run that
issued it, the human task it decides, the action (update name), the one user allowed to act,
a nonce and an expiry. The nonce becomes the update id, so following a link twice is one
decision; the link server also records every use, so a link acts at most once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel

from domain.notifications import LinkSpec

DEFAULT_LINK_TTL = timedelta(days=14)


class LinkClaims(BaseModel):
    """What a valid token says."""

    workflow_id: str
    action: str
    actor_id: str
    nonce: str
    expires_at: datetime | None = None
    # Absent from tokens signed before links were bound to a run (the server refuses those).
    run_id: str | None = None
    task_key: str | None = None


class InvalidLinkError(Exception):
    """The link was tampered with, is malformed or has expired."""


def fmt_time(at: datetime) -> str:
    """A time as people read it on a link page: ``9 Dec 2026, 14:05 UTC``."""
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return f"{at.day} {at:%b %Y, %H:%M} UTC"


class LinkSigner:
    """Signs and verifies action links with the configured secret.

    ``ttl`` caps every link's expiry at signing time (``min(business expiry, now + ttl)``), so
    no approval link is a bearer credential for ever; offline invitation links are the
    documented exception (docs/invitation.md: a link handed over offline does not expire).
    """

    def __init__(self, secret: str, base_url: str, ttl: timedelta = DEFAULT_LINK_TTL) -> None:
        if ttl <= timedelta(0):
            raise ValueError("the link TTL must be positive")
        self._ser = URLSafeSerializer(secret, salt="partnerflow-action-link")
        self._base = base_url.rstrip("/")
        self.ttl = ttl

    def expiry(self, spec: LinkSpec, now: datetime | None = None) -> datetime | None:
        """The expiry the token will carry: the business expiry capped by ``now + ttl``."""
        if spec.offline:
            return spec.expires_at
        cap = (now or datetime.now(UTC)) + self.ttl
        return cap if spec.expires_at is None else min(spec.expires_at, cap)

    def token(self, spec: LinkSpec, now: datetime | None = None) -> str:
        """The signed token for a link (``now``: the signing time, for the TTL cap)."""
        claims = LinkClaims(
            workflow_id=spec.workflow_id,
            run_id=spec.run_id,
            task_key=spec.task_key,
            action=spec.action,
            actor_id=spec.actor_id,
            nonce=spec.nonce,
            expires_at=self.expiry(spec, now),
        )
        return self._ser.dumps(claims.model_dump(mode="json", exclude_none=True))

    def url(self, spec: LinkSpec, now: datetime | None = None) -> str:
        """The full URL to put into an email."""
        return f"{self._base}/a/{self.token(spec, now)}"

    def verify(self, token: str, now: datetime | None = None) -> LinkClaims:
        """Checks signature and expiry; raises ``InvalidLinkError`` with a readable reason."""
        try:
            raw = self._ser.loads(token)
        except BadSignature as exc:
            raise InvalidLinkError("this link is not valid (it may have been altered)") from exc
        claims = LinkClaims.model_validate(raw)
        now = now or datetime.now(UTC)
        if claims.expires_at is not None and now > claims.expires_at:
            raise InvalidLinkError(f"this link expired on {fmt_time(claims.expires_at)}")
        return claims
