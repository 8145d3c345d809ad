"""The codec server on the console: a signed-in operations session decodes what the workflows
encrypted (the Temporal UI's browser sends the console's cookie); other sessions and no
session are refused; the CLI's bearer token keeps working; CORS admits the UI's origins only,
with credentials."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.invitations import InvitationRequest
from domain.parties import Actor, Role
from infra.config import Settings
from tests.console.helpers import console_client, session_for
from tests.factories import add_partner, add_user
from tests.ops.test_codec import payloads_in
from workflows.invitation import InvitationWorkflow

Sessions = async_sessionmaker[AsyncSession]
TOKEN = "codec-token-" + "y" * 32
UI = "http://127.0.0.1:8233"  # one of the default PARTNERFLOW_CODEC_CORS_ORIGINS
SECRET = "u-staff@users.test"


@pytest.fixture
async def console(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the console, whose codec server also has a bearer token for the CLI."""
    with_token = settings.model_copy(update={"codec_token": SecretStr(TOKEN)})
    async with console_client(with_token, client) as c:
        yield c


@pytest.fixture
async def encrypted(client: Client) -> AsyncIterator[dict[str, Any]]:
    """The payloads of a real workflow start, as Temporal stores them (encrypted), in the
    remote-codec JSON body the UI posts."""
    inviter = Actor(user_id="u-staff", role=Role.PARTNER_STAFF, name="Li Na", email=SECRET)
    wf_id = f"codec-console-{uuid.uuid4().hex[:8]}"
    # No worker: the start event alone carries the encrypted request.
    handle = await client.start_workflow(
        InvitationWorkflow.run,
        InvitationRequest(partner_id="P-1", customer_id="C-1", requested_by=inviter),
        id=wf_id,
        task_queue=f"nobody-{wf_id}",
    )
    config = client.config()
    config["data_converter"] = pydantic_data_converter
    raw = Client(**config).get_workflow_handle(wf_id)
    payloads = payloads_in(json.loads((await raw.fetch_history()).to_json()))
    assert payloads and SECRET not in json.dumps(payloads)
    yield {"payloads": payloads}
    await handle.terminate("codec test done")


def clear_text(answer: httpx.Response) -> str:
    """Every decoded payload's data, as text."""
    import base64

    return "\n".join(
        base64.b64decode(p["data"]).decode("latin-1") for p in answer.json()["payloads"]
    )


async def test_an_ops_session_decodes_the_payloads_of_a_real_workflow(
    console: httpx.AsyncClient, sessions: Sessions, settings: Settings, encrypted: dict[str, Any]
) -> None:
    await add_user(sessions, "ops-1", Role.OPS)
    await session_for(console, settings, "ops-1")
    answer = await console.post(
        "/codec/decode",
        json=encrypted,
        headers={"Origin": UI, "X-Namespace": "default"},
    )
    assert answer.status_code == 200, answer.text
    assert SECRET in clear_text(answer)
    assert answer.headers["access-control-allow-origin"] == UI
    assert answer.headers["access-control-allow-credentials"] == "true"
    # The same cookie from a page of another origin is refused.
    elsewhere = await console.post(
        "/codec/decode", json=encrypted, headers={"Origin": "http://evil.test"}
    )
    assert elsewhere.status_code == 403
    assert SECRET not in elsewhere.text
    assert "access-control-allow-origin" not in elsewhere.headers


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.FINANCE])
async def test_a_session_of_another_role_is_refused(
    console: httpx.AsyncClient,
    sessions: Sessions,
    settings: Settings,
    encrypted: dict[str, Any],
    role: Role,
) -> None:
    partner = None
    if role == Role.PARTNER_ADMIN:
        await add_partner(sessions, "P-9")
        partner = "P-9"
    await add_user(sessions, "u-9", role, partner_id=partner)
    await session_for(console, settings, "u-9")
    answer = await console.post("/codec/decode", json=encrypted, headers={"Origin": UI})
    assert answer.status_code == 403
    assert SECRET not in answer.text
    encode = await console.post("/codec/encode", json=encrypted, headers={"Origin": UI})
    assert encode.status_code == 403


async def test_no_session_is_refused_and_the_bearer_token_still_decodes(
    console: httpx.AsyncClient, encrypted: dict[str, Any]
) -> None:
    # Test settings have no cookie here; the console never answers without one or the token.
    answer = await console.post("/codec/decode", json=encrypted, headers={"Origin": UI})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert SECRET not in answer.text
    forged = await console.post(
        "/codec/decode", json=encrypted, headers={"Cookie": "pf_session=forged.value.sig"}
    )
    assert forged.status_code == 401
    wrong = await console.post(
        "/codec/decode", json=encrypted, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    cli = await console.post(
        "/codec/decode", json=encrypted, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert cli.status_code == 200, cli.text
    assert SECRET in clear_text(cli)


async def test_cors_preflight_allows_credentials_for_the_ui_origin_only(
    console: httpx.AsyncClient,
) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = await console.options("/codec/decode", headers={"Origin": UI, **asked})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == UI
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "x-namespace" in ok.headers["access-control-allow-headers"].lower()
    assert "origin" in ok.headers["vary"].lower()
    other = await console.options("/codec/decode", headers={"Origin": "http://evil.test", **asked})
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-credentials" not in other.headers
