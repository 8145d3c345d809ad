"""The dev mailbox (dev stack only): every email the SMTP sink received, with its links.

It shows everyone's mail to anyone who can reach the dev stack, so it exists only when the
console is given the sink's directory (``partnerflow dev``); elsewhere its paths are 404.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from starter.console.mailbox import list_mail, one_mail
from starter.console.web import Console


def register(app: FastAPI, c: Console) -> None:
    """Adds the mailbox routes."""

    @app.get("/dev/mailbox")
    async def mailbox(request: Request) -> Response:
        viewer = await c.viewer(request)
        if c.mail_dir is None:
            return c.not_found(request, viewer)
        return c.page(request, "mailbox", viewer, title="Dev mailbox", mails=list_mail(c.mail_dir))

    @app.get("/dev/mailbox/{mail_id}")
    async def mail(request: Request, mail_id: str) -> Response:
        viewer = await c.viewer(request)
        found = one_mail(c.mail_dir, mail_id) if c.mail_dir is not None else None
        if found is None:
            return c.not_found(request, viewer)
        return c.page(request, "mail", viewer, title=found.subject, mail=found)
