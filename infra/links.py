"""Signed, expiring action links for emails (accept an invitation, approve a request...).

The token carries the workflow, the action (update name), the one user allowed to act and
a nonce. The nonce becomes the update id, so following a link twice is one decision.
"""

from __future__ import annotations

from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel

from domain.notifications import LinkSpec


class LinkClaims(BaseModel):
    """What a valid token says."""

    workflow_id: str
    action: str
    actor_id: str
    nonce: str
    expires_at: datetime | None = None


class InvalidLinkError(Exception):
    """The link was tampered with, is malformed or has expired."""


class LinkSigner:
    """Signs and verifies action links with the configured secret."""

    def __init__(self, secret: str, base_url: str) -> None:
        self._ser = URLSafeSerializer(secret, salt="partnerflow-action-link")
        self._base = base_url.rstrip("/")

    def token(self, spec: LinkSpec) -> str:
        """The signed token for a link."""
        claims = LinkClaims(
            workflow_id=spec.workflow_id,
            action=spec.action,
            actor_id=spec.actor_id,
            nonce=spec.nonce,
            expires_at=spec.expires_at,
        )
        return self._ser.dumps(claims.model_dump(mode="json"))

    def url(self, spec: LinkSpec) -> str:
        """The full URL to put into an email."""
        return f"{self._base}/a/{self.token(spec)}"

    def verify(self, token: str, now: datetime | None = None) -> LinkClaims:
        """Checks signature and expiry; raises ``InvalidLinkError`` with a readable reason."""
        try:
            raw = self._ser.loads(token)
        except BadSignature as exc:
            raise InvalidLinkError("this link is not valid (it may have been altered)") from exc
        claims = LinkClaims.model_validate(raw)
        now = now or datetime.now(UTC)
        if claims.expires_at is not None and now > claims.expires_at:
            raise InvalidLinkError(f"this link expired on {claims.expires_at:%Y-%m-%d %H:%M} UTC")
        return claims
