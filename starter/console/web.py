"""What every console page needs: the signed-in actor, CSRF, page rendering, redirects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.client import Client

from domain.parties import Actor
from infra import i18n
from infra.config import Settings
from infra.i18n import N_
from starter.console.auth import Sessions
from starter.console.csrf import FIELD, PRE_COOKIE, Csrf, CsrfError, new_pre_session
from starter.console.lang import anonymous_locale, make_pages, user_language
from starter.console.sessions import COOKIE, SessionInfo, SessionStore
from starter.services.context import AppContext
from starter.services.errors import CliError

ROLE_NAMES = {
    "ops": N_("Operations"),
    "ecosystem_manager": N_("Ecosystem manager"),
    "finance": N_("Finance"),
    "partner_admin": N_("Partner admin"),
    "partner_staff": N_("Partner staff"),
    "customer": N_("Customer"),
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person of a request."""

    session: SessionInfo
    actor: Actor
    # The reader's language and zone (docs/i18n.md): the user's row, else the site default.
    locale: str = "zh-CN"
    timezone: str | None = None


class Console:
    """Resources of the running console."""

    def __init__(
        self, settings: Settings, client: Client | None = None, mail_dir: Path | None = None
    ) -> None:
        self.settings = settings
        self.ctx = AppContext(settings, client)
        self._client = client
        self.mail_dir = mail_dir
        self.csrf = Csrf(settings.link_secret)
        self.store = SessionStore(
            self.ctx.sessions,
            settings.link_secret,
            settings.console_session_idle,
            settings.console_session_max,
        )
        # One page environment per locale, as the emails have (docs/i18n.md).
        self.pages = {locale: make_pages(locale) for locale in i18n.LOCALES}
        for locale, env in self.pages.items():
            env.globals["role_name"] = lambda r, loc=locale: i18n.gettext(
                loc, ROLE_NAMES.get(str(r), str(r))
            )

    @property
    def sessions(self) -> Sessions:
        """Database sessions."""
        return self.ctx.sessions

    @property
    def secure_cookies(self) -> bool:
        """``Secure`` cookies outside development and tests (plain http there)."""
        return self.settings.environment == "production"

    async def client(self) -> Client:
        """The Temporal client (given, or connected on first use)."""
        if self._client is None:
            self._client = await self.ctx.client()
        return self._client

    async def viewer(self, request: Request) -> Viewer | None:
        """The signed-in actor, or None (no cookie, bad signature, expired, user gone)."""
        info = await self.store.load(self.store.session_id(request.cookies.get(COOKIE)))
        if info is None:
            return None
        try:
            actor = await self.ctx.actor(info.principal_id)
        except CliError:  # deactivated or deleted since the sign-in
            await self.store.end(info.session_id)
            return None
        locale, timezone = await user_language(self.sessions, actor.user_id)
        return Viewer(info, actor, locale or self.settings.default_locale, timezone)

    def locale_of(
        self, request: Request, viewer: Viewer | None, recipient: str | None = None
    ) -> str:
        """The language of this request's page (docs/i18n.md: whose language); ``recipient``:
        the locale of the person a link page is for."""
        if viewer is not None:
            return viewer.locale
        return anonymous_locale(request, self.settings.default_locale, recipient)

    def t(self, request: Request, viewer: Viewer | None, message: str, **values: Any) -> str:
        """A Python-side page string (marked with ``N_``) in the reader's language."""
        text = i18n.gettext(self.locale_of(request, viewer), message)
        return text % values if values else text

    def bound_to(self, request: Request, viewer: Viewer | None) -> str | None:
        """What this request's CSRF token is bound to: the session, else the pre-session."""
        if viewer is not None:
            return viewer.session.session_id
        return request.cookies.get(PRE_COOKIE)

    def check_csrf(self, request: Request, viewer: Viewer | None, form: Mapping[str, Any]) -> None:
        """Raises CsrfError unless the form carries this session's token."""
        self.csrf.check(self.bound_to(request, viewer), str(form.get(FIELD) or "") or None)

    def page(
        self,
        request: Request,
        name: str,
        viewer: Viewer | None,
        status: int = 200,
        locale: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Renders ``web/console/<name>.html.j2`` with the CSRF token and the flash line."""
        pre = request.cookies.get(PRE_COOKIE) if viewer is None else None
        new_pre = None
        if viewer is None and not pre:
            pre = new_pre = new_pre_session()
        bound = viewer.session.session_id if viewer is not None else pre
        locale = locale or self.locale_of(request, viewer)
        # Titles and messages given as marked English (``N_``) are shown translated; data
        # (a task's title, a mail's subject) has no catalog entry and stays as it is.
        for key in ("title", "message", "error", "hint", "flash"):
            if isinstance(context.get(key), str):
                context[key] = i18n.gettext(locale, context[key])
        html = (
            self.pages[locale]
            .get_template(f"web/console/{name}.html.j2")
            .render(
                lang=locale,
                reader_timezone=viewer.timezone if viewer else None,
                here=request.url.path,
                csrf_field=FIELD,
                csrf_token=self.csrf.token(bound or ""),
                viewer=viewer,
                actor=viewer.actor if viewer else None,
                flash=context.pop("flash", None) or (viewer.session.flash if viewer else None),
                dev_mailbox=self.mail_dir is not None,
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        if new_pre is not None:
            response.set_cookie(
                PRE_COOKIE,
                new_pre,
                httponly=True,
                samesite="lax",
                secure=self.secure_cookies,
                path="/",
            )
        return response

    def not_found(self, request: Request, viewer: Viewer | None) -> HTMLResponse:
        """The same 404 for a missing object and one outside the scope."""
        return self.page(
            request,
            "message",
            viewer,
            404,
            title=N_("Not found"),
            message=N_(
                "There is nothing here for you. It may have been decided already, or the "
                "address is wrong."
            ),
            ok=False,
        )

    def csrf_refused(self, request: Request, viewer: Viewer | None, exc: CsrfError) -> Response:
        """403: the form did not come from this console (or the session changed)."""
        return self.page(
            request,
            "message",
            viewer,
            403,
            title=N_("The form has expired"),
            message=self.t(
                request,
                viewer,
                N_("Nothing was done: %(reason)s. Reload the page and try again."),
                reason=str(exc),
            ),
            ok=False,
        )

    def csrf_refusal(
        self, request: Request, viewer: Viewer | None, form: Mapping[str, Any]
    ) -> Response | None:
        """None when the form carries this session's token; else the 403 of ``csrf_refused``."""
        try:
            self.check_csrf(request, viewer, form)
        except CsrfError as exc:
            return self.csrf_refused(request, viewer, exc)
        return None

    def sign_in_first(self, request: Request) -> RedirectResponse:
        """303 to the sign-in page, coming back here afterwards (GET pages only)."""
        here = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/signin?next={quote(here)}", status_code=303)

    def signed_in(self, response: Response, session_id: str) -> Response:
        """Sets the session cookie (HttpOnly, SameSite=Lax, Secure outside dev)."""
        response.set_cookie(
            COOKIE,
            self.store.cookie_value(session_id),
            httponly=True,
            samesite="lax",
            secure=self.secure_cookies,
            path="/",
        )
        return response


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def form_of(request: Request) -> dict[str, str]:
    """The posted form as strings (files are not accepted here)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def checked_form(
    c: Console, request: Request, viewer: Viewer | None
) -> dict[str, str] | Response:
    """The posted form once its CSRF token is this session's; else the 403 that says so."""
    form = await form_of(request)
    return c.csrf_refusal(request, viewer, form) or form


async def signed_form(c: Console, request: Request) -> tuple[Viewer, dict[str, str]] | Response:
    """The opening of every signed-in form POST: the viewer and the CSRF-checked form, or
    the response that says otherwise (to the sign-in page, or 403)."""
    viewer = await c.viewer(request)
    if viewer is None:
        return c.sign_in_first(request)
    form = await checked_form(c, request, viewer)
    if isinstance(form, Response):
        return form
    return viewer, form
