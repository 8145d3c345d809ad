"""CSRF tokens: an HMAC of the session id (or, before sign-in, of a random pre-session
cookie), carried in a hidden field of every form and checked on every POST.

The signed double-submit pattern (OWASP CSRF cheat sheet): a forged form from another site
cannot read the cookie, so it cannot compute the token; nothing extra is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PRE_COOKIE = "pf_pre"
FIELD = "csrf"


class CsrfError(Exception):
    """The form's CSRF token is missing or wrong."""


class Csrf:
    """Makes and checks tokens bound to a session (or pre-session) id."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"partnerflow-console-csrf:" + secret.encode()).digest()

    def token(self, bound_to: str) -> str:
        """The token for forms of this session."""
        return hmac.new(self._key, bound_to.encode(), hashlib.sha256).hexdigest()

    def check(self, bound_to: str | None, submitted: str | None) -> None:
        """Raises CsrfError unless ``submitted`` is this session's token."""
        if not bound_to or not submitted:
            raise CsrfError("the form has no valid security token")
        if not hmac.compare_digest(self.token(bound_to), submitted):
            raise CsrfError("the form's security token does not match this session")


def new_pre_session() -> str:
    """A random id for the pre-session cookie of anonymous forms (sign-in)."""
    return secrets.token_urlsafe(24)
