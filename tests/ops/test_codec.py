"""Encrypted histories: what a run leaves in Temporal holds no email address or name in clear,
and those allowed (the codec, the codec server with its token) read it back."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from google.protobuf.json_format import ParseDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invitations import InvitationRequest, InvitationStatus
from domain.parties import Actor, Decision, Role
from infra.codec import ENCODING, EncryptionCodec, dev_keys
from infra.config import Settings
from infra.smtp_sink import free_port
from starter.console.app import create_console_app
from starter.web.links import create_app
from tests.factories import add_customer, add_partner, add_user, customer_actor
from tests.harness import binary, eventually
from workflows.invitation import InvitationWorkflow

Sessions = async_sessionmaker[AsyncSession]
# Personal data that flows through the invitation: the inviter, the customer, the partner.
SECRETS = [
    "zhang.wei@customer.test",
    "Zhang Wei Trading",
    "u-staff@users.test",
    "Li Na",
    "p-1@partner.test",
    "P-1 Tech Co",
]
TOKEN = "codec-token-" + "x" * 32


def payloads_in(node: Any) -> list[dict[str, Any]]:
    """Every ``{"metadata": ..., "data": ...}`` object anywhere in a history's JSON."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "metadata" in node and "encoding" in node["metadata"]:
            found.append(node)
        for value in node.values():
            found += payloads_in(value)
    elif isinstance(node, list):
        for value in node:
            found += payloads_in(value)
    return found


async def test_a_history_read_without_the_codec_shows_no_personal_data(
    client: Client, worker: Worker, sessions: Sessions
) -> None:
    await add_partner(sessions, "P-1")
    staff = await add_user(sessions, "u-staff", Role.PARTNER_STAFF, partner_id="P-1")
    staff = staff.model_copy(update={"name": "Li Na"})
    await add_customer(sessions, "C-1", name="Zhang Wei Trading", email="zhang.wei@customer.test")
    wf_id = f"invitation-P-1-C-1-{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=staff),
        id=wf_id,
        task_queue=worker.task_queue,
    )

    async def pending() -> None:
        assert (await handle.query(InvitationWorkflow.status)).status == InvitationStatus.PENDING

    await eventually(pending)
    await handle.execute_update(
        InvitationWorkflow.accept, Decision(actor=customer_actor("C-1"), nonce="n-1"), id="n-1"
    )
    assert (await handle.result()).status == InvitationStatus.ACCEPTED

    # The raw client: the pydantic converter without the codec, as anyone with API access.
    config = client.config()
    config["data_converter"] = pydantic_data_converter
    raw = Client(**config)
    raw_handle = raw.get_workflow_handle(wf_id)
    history = json.loads((await raw_handle.fetch_history()).to_json())
    text = json.dumps(history)
    # A patch marker's details and search attributes (the patch's TemporalChangeVersion) are
    # never passed through the codec; they hold only the patch id, and the whole text is
    # searched for personal data below.
    unencoded = {"EVENT_TYPE_MARKER_RECORDED", "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"}
    payloads = payloads_in([e for e in history["events"] if e["eventType"] not in unencoded])
    assert len(payloads) > 10
    assert {base64.b64decode(p["metadata"]["encoding"]) for p in payloads} == {ENCODING}
    for secret in SECRETS:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode()[:12] not in text
    with pytest.raises(Exception, match="binary/encrypted"):
        await raw_handle.result()

    # With the codec the same history decodes, and the personal data was in it all along.
    codec = EncryptionCodec(dev_keys())
    decoded = await codec.decode([ParseDict(p, Payload()) for p in payloads])
    clear = b"\n".join(p.data for p in decoded).decode()
    for secret in SECRETS:
        assert secret in clear, secret


def codec_settings(tmp_path: Path) -> Settings:
    """Test settings with a codec token (the CLI's)."""
    return Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'links.db'}",
        link_secret="test-secret-" + "x" * 32,
        codec_token=TOKEN,
        _env_file=None,
    )


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` over real HTTP on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def link_server(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[str]:
    """The link server (with its codec routes) over real HTTP; yields its base URL."""
    async with served(create_app(codec_settings(tmp_path), client=dev_env.client)) as url:
        yield url


@pytest.fixture
async def console_server(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[str]:
    """The console (its codec routes want the token or an ops session) over real HTTP."""
    app = create_console_app(codec_settings(tmp_path), client=dev_env.client)
    async with served(app) as url:
        yield url


async def temporal_show(dev_env: WorkflowEnvironment, wf_id: str, *codec: str) -> tuple[int, str]:
    """``temporal workflow show --output json`` (the CLI's own codec client) on the dev server:
    its exit code and the data of every payload it printed, base64-decoded."""
    proc = await asyncio.create_subprocess_exec(
        binary("temporal"),
        "workflow",
        "show",
        "--workflow-id",
        wf_id,
        "--address",
        dev_env.client.service_client.config.target_host,
        "--namespace",
        dev_env.client.namespace,
        "--output",
        "json",
        *codec,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    if proc.returncode != 0:
        return proc.returncode or 1, err.decode()
    payloads = payloads_in(json.loads(out))
    assert payloads, out.decode()
    return 0, "\n".join(base64.b64decode(p["data"]).decode("latin-1") for p in payloads)


async def test_the_codec_server_decodes_for_the_temporal_cli_with_the_token(
    dev_env: WorkflowEnvironment, link_server: str
) -> None:
    inviter = Actor(
        user_id="u-staff", role=Role.PARTNER_STAFF, name="Li Na", email="u-staff@users.test"
    )
    wf_id = f"codec-cli-{uuid.uuid4().hex[:8]}"
    # No worker: the start event alone carries the encrypted request.
    handle = await dev_env.client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=inviter),
        id=wf_id,
        task_queue=f"nobody-{wf_id}",
    )
    try:
        endpoint = ["--codec-endpoint", f"{link_server}/codec"]
        code, plain = await temporal_show(dev_env, wf_id)
        assert code == 0 and "u-staff@users.test" not in plain and "Li Na" not in plain
        code, decoded = await temporal_show(
            dev_env, wf_id, *endpoint, "--codec-auth", f"Bearer {TOKEN}"
        )
        assert code == 0 and "u-staff@users.test" in decoded and "Li Na" in decoded
        code, refused = await temporal_show(dev_env, wf_id, *endpoint, "--codec-auth", "Bearer no")
        # The CLI retries the 401 until its deadline, then fails without showing anything.
        assert code != 0 and "u-staff@users.test" not in refused
    finally:
        await handle.terminate("codec test done")


async def test_the_console_codec_server_decodes_for_the_temporal_cli_with_the_token(
    dev_env: WorkflowEnvironment, console_server: str
) -> None:
    inviter = Actor(
        user_id="u-staff", role=Role.PARTNER_STAFF, name="Li Na", email="u-staff@users.test"
    )
    wf_id = f"codec-console-cli-{uuid.uuid4().hex[:8]}"
    handle = await dev_env.client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=inviter),
        id=wf_id,
        task_queue=f"nobody-{wf_id}",
    )
    try:
        # The console's own route answers (no session, no token: 401, not the link server's).
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"{console_server}/codec/decode", json={"payloads": []})
        assert refused.status_code == 401
        code, decoded = await temporal_show(
            dev_env,
            wf_id,
            "--codec-endpoint",
            f"{console_server}/codec",
            "--codec-auth",
            f"Bearer {TOKEN}",
        )
        assert code == 0 and "u-staff@users.test" in decoded and "Li Na" in decoded
    finally:
        await handle.terminate("codec test done")
