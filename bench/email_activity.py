"""``python -m bench.email_activity``: the email activity alone, called in a loop.

A fresh SQLite database (migrated, WAL as ``partnerflow dev``) with ``--customers`` customers,
an in-process SMTP sink, and ``--n`` invitation emails to customers' addresses, each with its
own key (a first attempt). Prints milliseconds and SQL statements per email.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, insert

from activities.notify import EmailActivities
from activities.registry import build_deps
from bench.stack import LINK_SECRET
from domain.notifications import EmailRequest, LinkSpec
from infra.config import Settings
from infra.db import make_engine, make_sessions
from infra.migrate import upgrade
from infra.smtp_sink import MailSink
from infra.tables import Customer


def request(i: int, customers: int) -> EmailRequest:
    """The ``i``-th email, to a customer's address (written in upper case: looked up lower)."""
    cid = f"C-{i % max(1, customers)}"
    return EmailRequest(
        key=f"bench-email-{i}",
        to=f"{cid}@Customer.test".upper(),
        template="invitation",
        context={
            "partner_name": "P & Co",
            "customer_name": f"{cid} Ltd",
            "customer_id": cid,
            "mode": "resale",
            "expires_at": "2026-12-31",
            "workflow_id": f"inv-{i}",
        },
        links=[
            LinkSpec(
                name=f"{action}_url",
                workflow_id=f"inv-{i}",
                action=action,
                actor_id=cid,
                nonce=f"n{i}",
            )
            for action in ("accept", "decline")
        ],
        workflow_id=f"inv-{i}",
    )


async def measure(n: int, customers: int, workdir: Path) -> tuple[float, float]:
    """(ms per email, statements per email)."""
    url = f"sqlite+aiosqlite:///{workdir / 'pf.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    async with sessions.begin() as s:
        rows = [
            {"id": f"C-{i}", "name": f"C-{i} Ltd", "email": f"c-{i}@customer.test"}
            for i in range(customers)
        ]
        if rows:
            await s.execute(insert(Customer), rows)
    with MailSink() as sink:
        settings = Settings(
            environment="dev",
            _env_file=None,
            database_url=url,
            smtp_host=sink.host,
            smtp_port=sink.port,
            link_secret=LINK_SECRET,
        )
        deps = build_deps(settings, sessions)
        acts = EmailActivities(
            sessions,
            deps.mailer,
            deps.renderer,
            deps.signer,
            sender=settings.mail_from,
            message_id_domain=settings.message_id_domain,
            default_locale=settings.default_locale,
        )
        await acts.send_email(request(n, customers))  # warm: templates, connections
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        t0 = time.perf_counter()
        for i in range(n):
            result = await acts.send_email(request(i, customers))
            assert result.status == "sent", result
        elapsed = time.perf_counter() - t0
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await deps.mailer.aclose()
    await engine.dispose()
    return elapsed / n * 1000, statements / n


def main(argv: list[str] | None = None) -> int:
    """Parses, measures, prints."""
    p = argparse.ArgumentParser(prog="python -m bench.email_activity", description=__doc__)
    p.add_argument("--n", type=int, default=300, help="emails (default 300)")
    p.add_argument("--customers", type=int, default=10_000, help="customers (default 10,000)")
    a = p.parse_args(argv)
    if a.n < 1 or a.customers < 0:
        p.error("--n must be at least 1, --customers 0 or more")
    with tempfile.TemporaryDirectory(prefix="pf-email-") as d:
        ms, per = asyncio.run(measure(a.n, a.customers, Path(d)))
    print(
        f"send_email: {a.n} emails, {a.customers} customers: {ms:.2f} ms and {per:.1f} SQL statements each"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
