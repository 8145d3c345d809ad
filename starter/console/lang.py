"""The console in its reader's language (docs/i18n.md).

Signed in: the user's own ``locale`` (``users.locale``; a customer acting for itself: the
customer's), which the language switch stores. Anonymous: the switch's cookie, else
``Accept-Language``, else ``PARTNERFLOW_DEFAULT_LOCALE``. Pages render through one Jinja2
environment per locale, set up as the emails' (``infra.mailer.install_locale``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select, update

from infra import i18n
from infra.mailer import TEMPLATE_DIR, install_locale
from infra.tables import Customer, User
from starter.console.auth import Sessions

if TYPE_CHECKING:
    from starter.console.web import Console

LANG_COOKIE = "pf_lang"
# The switch offers each language in its own words.
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}


def make_pages(locale: str) -> Environment:
    """The console's page environment for ``locale``: gettext, ``when``/``money``/``term``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    install_locale(env, locale)
    env.globals["languages"] = LANGUAGE_NAMES
    return env


def accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header by quality, or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        found = i18n.normalize(tag.strip(), "")
        if found and quality > 0:
            ranked.append((-quality, index, found))
    return min(ranked)[2] if ranked else None


def anonymous_locale(request: Request, default: str, recipient: str | None = None) -> str:
    """An anonymous reader's language: the switch's cookie (a choice made here), the link's
    recipient's locale, Accept-Language, the site default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen and i18n.is_supported(chosen):
        return chosen
    return recipient or accept_language(request.headers.get("accept-language")) or default


async def user_language(sessions: Sessions, user_id: str) -> tuple[str | None, str | None]:
    """``(locale, timezone)`` stored for a principal: a user's row, else a customer's."""
    async with sessions() as s:
        row = (
            await s.execute(select(User.locale, User.timezone).where(User.id == user_id))
        ).first()
        if row is None:
            row = (
                await s.execute(
                    select(Customer.locale, Customer.timezone).where(Customer.id == user_id)
                )
            ).first()
    if row is None:
        return None, None
    locale = i18n.normalize(row[0], "") if row[0] else None
    return locale or None, row[1]


async def store_language(console: Console, user_id: str, locale: str) -> None:
    """Stores the switch's choice on the user (or on the customer acting for itself)."""
    async with console.sessions.begin() as s:
        done = await s.execute(update(User).where(User.id == user_id).values(locale=locale))
        if not getattr(done, "rowcount", 0):
            await s.execute(update(Customer).where(Customer.id == user_id).values(locale=locale))


def register(app: FastAPI, console: Console) -> None:
    """``POST /lang``: the header's language switch (CSRF-checked, then back where it was)."""
    from starter.console.web import checked_form, safe_next

    @app.post("/lang", include_in_schema=False)
    async def switch(request: Request) -> Response:
        viewer = await console.viewer(request)
        form = await checked_form(console, request, viewer)
        if isinstance(form, Response):
            return form
        chosen = form.get("lang", "")
        if not i18n.is_supported(chosen):
            chosen = console.settings.default_locale
        if viewer is not None:
            await store_language(console, viewer.actor.user_id, chosen)
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        # Anonymous pages (sign-in, links) read the cookie; a year, like any site's choice.
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=console.secure_cookies,
            path="/",
        )
        return response
