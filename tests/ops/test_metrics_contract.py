"""The worker and the link server expose every metric the dashboard and the alerts use.

A real worker (SDK runtime with its Prometheus exporter, the business-metrics server) runs
an invitation on the dev server; then the test scrapes both worker ports and the link
server's /metrics and checks every metric name in deploy/grafana/dashboards/*.json and
deploy/alerts.yml. A renamed metric breaks this test, not the dashboard in production.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import starter.imports.core  # noqa: F401  (registers the import kinds)
from activities.registry import Deps
from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Decision, Role
from infra.config import Settings
from infra.runtime import sdk_runtime
from infra.smtp_sink import MailSink, free_port
from infra.worker_ops import WorkerOps
from starter.imports.base import IMPORTERS, run_import
from starter.services.errors import BadInputError
from starter.stack.schedules import SCHEDULES
from starter.web.links import create_app
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import codec_converter, eventually, new_task_queue
from worker import build_worker
from workflows.invitation import InvitationWorkflow

pytestmark = pytest.mark.devserver

ROOT = Path(__file__).resolve().parents[2]
# Our metrics, the SDK's, and the process collector's; `up` and the like come from Prometheus.
METRIC_NAME = re.compile(r"\b((?:partnerflow|temporal|process)_[a-z0-9_]+)\b")
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def names_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label values in quotes are not names)."""
    return set(METRIC_NAME.findall(re.sub(r'"[^"]*"', '""', expr)))


def dashboard_and_alert_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                names |= names_in(target["expr"])
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            names |= names_in(rule["expr"])
    return names


def exposed(text: str) -> set[str]:
    """Sample names, and the families declared by ``# TYPE`` (a DB gauge with no rows yet
    has no samples but is declared)."""
    found: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            found.add(line.split()[2])
        elif line and not line.startswith("#"):
            found.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return found


def is_exposed(name: str, have: set[str]) -> bool:
    if name in have:
        return True
    return any(name.endswith(s) and name.removesuffix(s) in have for s in SUFFIXES)


async def wait_pending(handle: WorkflowHandle[Any, Any]) -> None:
    """Waits until the invitation was sent (its first checks take a moment)."""

    async def check() -> None:
        view = await handle.query(InvitationWorkflow.status)
        assert view.status == InvitationStatus.PENDING, view.status

    await eventually(check)


@pytest.fixture
async def metrics_client(dev_env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, int]]:
    """A client on the dev server whose runtime serves the SDK metrics on a free port."""
    sdk_port = free_port()
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=codec_converter(),
        runtime=sdk_runtime(f"127.0.0.1:{sdk_port}"),
    )
    yield client, sdk_port


async def test_every_dashboard_and_alert_metric_is_exposed(
    metrics_client: tuple[Client, int],
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: MailSink,
    tmp_path: Path,
) -> None:
    client, sdk_port = metrics_client
    wanted = dashboard_and_alert_names()
    assert {"partnerflow_tasks_overdue", "temporal_num_pollers"} <= wanted, wanted

    await add_partner(sessions, "P-1")
    await add_customer(sessions, "C-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    # One refused import, recorded for the imports metric.
    bad = tmp_path / "partners.csv"
    bad.write_text("id,name\nP-9,\n")
    with pytest.raises(BadInputError):
        await run_import(sessions, IMPORTERS["partners"], bad)
    # A paused copy of a real schedule, so that the schedule gauges have a series.
    schedule_id = f"ops-test-{uuid.uuid4().hex[:8]}"
    entry = dataclasses.replace(SCHEDULES[0], id=schedule_id)
    await client.create_schedule(schedule_id, entry.schedule(settings, paused=True))

    worker = build_worker(client, deps, task_queue=new_task_queue())
    ops_port = free_port()
    ops = WorkerOps(
        client=client, sessions=sessions, worker=worker, schedule_ids=[schedule_id]
    ).server("127.0.0.1", ops_port)
    await ops.start()
    try:
        async with worker, httpx.AsyncClient(timeout=10) as http:
            handle = await client.start_workflow(
                InvitationWorkflow.run,
                InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
                id=f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}",
                task_queue=worker.task_queue,
            )
            await wait_pending(handle)
            await handle.execute_update(
                InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1")
            )
            assert (await handle.result()).status == InvitationStatus.ACCEPTED

            async def ready() -> None:
                r = await http.get(f"http://127.0.0.1:{ops_port}/readyz")
                assert r.status_code == 200, r.text

            await eventually(ready)
            business = (await http.get(f"http://127.0.0.1:{ops_port}/metrics")).text
            sdk = (await http.get(f"http://127.0.0.1:{sdk_port}/metrics")).text
            health = await http.get(f"http://127.0.0.1:{ops_port}/healthz")
        assert health.status_code == 200
        # Once the worker has stopped, it is no longer ready.
        r = await httpx.AsyncClient().get(f"http://127.0.0.1:{ops_port}/readyz")
        assert r.status_code == 503 and "not polling" in r.text
    finally:
        await ops.stop()
        await client.get_schedule_handle(schedule_id).delete()

    app = create_app(settings, client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://links"
    ) as web:
        assert (await web.get("/a/not-a-token")).status_code == 400
        web_metrics = (await web.get("/metrics")).text

    have = exposed(business) | exposed(sdk) | exposed(web_metrics)
    missing = sorted(n for n in wanted if not is_exposed(n, have))
    assert not missing, f"named in deploy/ but not exposed: {missing}"
    # The run itself is counted (counters are per process: other tests in it may add to them).
    accepted = re.search(
        r'^partnerflow_workflows_completed_total\{outcome="accepted",'
        r'workflow_type="InvitationWorkflow"\} ([0-9.e+]+)$',
        business,
        re.M,
    )
    assert accepted is not None and float(accepted.group(1)) >= 1
    assert 'partnerflow_imports{kind="partners",result="refused"} 1.0' in business
    assert f'partnerflow_schedule_paused{{schedule="{schedule_id}"}} 1.0' in business
    assert 'route="/a/{token}"' in web_metrics and "not-a-token" not in web_metrics
