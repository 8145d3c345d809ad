"""connect() speaks TLS when configured: against a plain server it fails fast and says so."""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.testing import WorkflowEnvironment

from infra.config import Settings
from infra.temporal import TemporalConnectError, connect


async def test_plain_connection_works(env: WorkflowEnvironment) -> None:
    address = env.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address, _env_file=None))
    assert client.namespace == "default"


async def test_tls_to_a_plain_server_fails_clearly(env: WorkflowEnvironment) -> None:
    address = env.client.service_client.config.target_host
    settings = Settings(
        temporal_address=address, temporal_tls_server_name="temporal.internal", _env_file=None
    )
    started = time.monotonic()
    with pytest.raises(TemporalConnectError) as err:
        await asyncio.wait_for(connect(settings), 30)
    assert time.monotonic() - started < 30
    message = str(err.value)
    assert f"cannot connect to Temporal at {address} over TLS" in message
    assert "PARTNERFLOW_TEMPORAL_TLS_" in message
