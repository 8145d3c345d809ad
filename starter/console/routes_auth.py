"""Sign-in pages: password, emailed one-time link, sign-out.

Answers never reveal whether an account exists: a wrong account and a wrong password get
the same words, and a link request always says "if the address is on file".
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from infra import i18n
from infra.db import utcnow
from infra.i18n import N_
from starter.console import auth
from starter.console.lang import user_language
from starter.console.mailbox import send_signin_mail
from starter.console.sessions import COOKIE
from starter.console.web import Console, checked_form, safe_next

log = logging.getLogger("partnerflow.console")

WRONG = N_("The account or the password is wrong.")


def address_of(request: Request) -> str:
    """The client address the rate limit counts against."""
    return (request.client.host if request.client else "unknown")[:64]


def register(app: FastAPI, c: Console) -> None:
    """Adds the sign-in routes."""

    @app.get("/signin")
    async def signin_page(request: Request, next: str = "/") -> Response:
        viewer = await c.viewer(request)
        if viewer is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return c.page(request, "signin", None, title=N_("Sign in"), next=safe_next(next))

    @app.post("/signin")
    async def signin(request: Request) -> Response:
        form = await checked_form(c, request, None)
        if isinstance(form, Response):
            return form
        account, password = form.get("account", "").strip(), form.get("password", "")
        target = safe_next(form.get("next"))
        address = address_of(request)
        limit = await auth.check_limit(c.sessions, account, address)
        if limit is not None:
            return c.page(
                request,
                "signin",
                None,
                429,
                title=N_("Sign in"),
                next=target,
                account=account,
                error=c.t(
                    request,
                    None,
                    N_(
                        "Too many failed attempts. Try again after %(when)s, or ask for a "
                        "sign-in link by email below."
                    ),
                    when=i18n.format_when(limit.retry_at, c.locale_of(request, None)),
                ),
            )
        user_id = await auth.check_password(c.sessions, account, password) if account else None
        await auth.record_attempt(c.sessions, account, address, user_id is not None)
        if user_id is None:
            return c.page(
                request,
                "signin",
                None,
                401,
                title=N_("Sign in"),
                next=target,
                account=account,
                error=WRONG,
            )
        session_id = await c.store.create(
            user_id, replaces=c.store.session_id(request.cookies.get(COOKIE))
        )
        return c.signed_in(RedirectResponse(target, status_code=303), session_id)

    @app.post("/signin/email")
    async def signin_email(request: Request) -> Response:
        form = await checked_form(c, request, None)
        if isinstance(form, Response):
            return form
        email = form.get("email", "").strip()
        address = address_of(request)
        # Link requests count as attempts: they send mail, so they are limited like guesses.
        limit = await auth.check_limit(c.sessions, email, address)
        sent = N_("If that address is on file, a sign-in link is on its way. It works once.")
        if limit is not None:
            return c.page(
                request,
                "signin",
                None,
                429,
                title=N_("Sign in"),
                error=c.t(
                    request,
                    None,
                    N_("Too many requests. Try again after %(when)s."),
                    when=i18n.format_when(limit.retry_at, c.locale_of(request, None)),
                ),
            )
        found = await auth.principals_with_email(c.sessions, email)
        await auth.record_attempt(c.sessions, email, address, bool(found))
        if found:
            ttl = c.settings.console_signin_link_ttl
            accounts = []
            for principal_id, name in found:
                token = await auth.issue_signin_token(c.sessions, principal_id, ttl)
                url = f"{c.settings.public_base_url.rstrip('/')}/signin/link/{token}"
                accounts.append({"id": principal_id, "name": name, "url": url})
            try:
                locale, zone = await user_language(c.sessions, found[0][0])
                await send_signin_mail(
                    c.settings,
                    email,
                    found[0][1],
                    accounts,
                    utcnow() + ttl,
                    locale or c.settings.default_locale,
                    zone,
                )
            except Exception as exc:  # the page must not tell whether the address exists
                log.warning("sign-in email not sent: %s", exc)
        return c.page(request, "signin", None, title=N_("Sign in"), flash=sent)

    def link_refused(request: Request) -> Response:
        # One answer for every unusable link: it does not say which check failed.
        return c.page(
            request,
            "message",
            None,
            400,
            title=N_("This sign-in link does not work"),
            message=N_(
                "It is not a valid link, it was used already, or it has expired. "
                "Ask for a new one on the sign-in page."
            ),
            ok=False,
        )

    @app.get("/signin/link/{token}")
    async def link_page(request: Request, token: str) -> Response:
        # GET decides nothing: mail scanners that prefetch links must not use them up.
        row = await auth.peek_signin_token(c.sessions, token)
        if row is None:
            return link_refused(request)
        # The link's recipient reads the page in their own language (docs/i18n.md).
        recipient, zone = await user_language(c.sessions, row.principal_id)
        locale = c.locale_of(request, None, recipient)
        return c.page(
            request,
            "signin_link",
            None,
            title=N_("Sign in"),
            locale=locale,
            principal=row.principal_id,
            expires=i18n.format_when(row.expires_at, locale, zone),
        )

    @app.post("/signin/link/{token}")
    async def use_link(request: Request, token: str) -> Response:
        form = await checked_form(c, request, None)
        if isinstance(form, Response):
            return form
        principal = await auth.use_signin_token(c.sessions, token)
        if principal is None:
            return link_refused(request)
        session_id = await c.store.create(
            principal, replaces=c.store.session_id(request.cookies.get(COOKIE))
        )
        return c.signed_in(RedirectResponse("/", status_code=303), session_id)

    @app.post("/signout")
    async def signout(request: Request) -> Response:
        viewer = await c.viewer(request)
        refused = await checked_form(c, request, viewer)
        if isinstance(refused, Response):
            return refused
        if viewer is not None:
            await c.store.end(viewer.session.session_id)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response
