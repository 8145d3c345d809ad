"""Invitation throughput on the real dev server with the real activities, SQLite and SMTP.

Starts N invitations, accepts each, waits for all results, and reports workflows per second
and the worker process's peak memory. Usage: ``python -m bench [N] [CONCURRENCY]``.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.registry import build_deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Actor, Decision, Role
from infra.config import Settings
from infra.db import Base, make_engine, make_sessions
from infra.smtp_sink import MailSink
from infra.tables import Customer, Partner, User
from tests.harness import binary
from worker import build_worker
from workflows.invitation import InvitationWorkflow

# One Python worker, the dev server and the SMTP sink sharing 2 cores, SQLite: each
# invitation is ~11 activities and 3 emails. 2/s is ~170,000 invitations a day, far above
# a partner programme's peak; a drop below it means something got slower.
GOAL_WF_PER_S = 2.0


async def main(n: int, concurrency: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_sessions(engine)
    async with sessions.begin() as s:
        s.add(
            Partner(
                id="P-1",
                company_name="Bench",
                uscc="91350100M000100Y43",
                contact_email="p@bench.test",
                type="solution_provider",
                status="ACTIVE",
            )
        )
        s.add(User(id="u", name="u", email="u@bench.test", role="partner_staff", partner_id="P-1"))
        for i in range(n):
            s.add(Customer(id=f"C-{i}", name=f"C {i}", email=f"c{i}@bench.test"))
    staff = Actor(user_id="u", role=Role.PARTNER_STAFF, partner_id="P-1", email="u@bench.test")
    with MailSink() as sink:
        settings = Settings(
            environment="test",
            database_url=url,
            smtp_port=sink.port,
            link_secret="b" * 40,
            _env_file=None,
        )
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=binary("temporal"),
            ui=False,
            dev_server_extra_args=[
                "--sqlite-pragma",
                "journal_mode=WAL",
                "--sqlite-pragma",
                "synchronous=NORMAL",
            ],
        )
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                h = await env.client.start_workflow(
                    InvitationWorkflow.run,
                    InvitationRequest(partner_id="P-1", customer_id=f"C-{i}", requested_by=staff),
                    id=f"invitation-P-1-C-{i}",
                    task_queue="bench",
                )
                while (await h.query(InvitationWorkflow.status)).status != InvitationStatus.PENDING:
                    await asyncio.sleep(0.5)
                me = Actor(user_id=f"C-{i}", role=Role.CUSTOMER, customer_id=f"C-{i}")
                await h.execute_update(InvitationWorkflow.accept, Decision(actor=me))
                assert (await h.result()).status == InvitationStatus.ACCEPTED

        async with build_worker(env.client, build_deps(settings, sessions), task_queue="bench"):
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - started
        await env.shutdown()
    await engine.dispose()
    rate = n / elapsed
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"invitations accepted: {n} in {elapsed:.1f}s = {rate:.1f} workflows/s "
        f"(concurrency {concurrency}); emails {len(sink.messages)}; peak RSS {peak_mb:.0f} MB"
    )
    print(f"goal >= {GOAL_WF_PER_S} workflows/s: {'met' if rate >= GOAL_WF_PER_S else 'MISSED'}")
    return 0 if rate >= GOAL_WF_PER_S else 1


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    c = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    sys.exit(asyncio.run(main(n, c)))
