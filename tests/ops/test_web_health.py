"""The link server's /healthz and /readyz, and the compose wiring of the ops services."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from infra.config import Settings
from starter.web.links import create_app
from tests.test_compose import compose


async def get(settings: Settings, client: Client | None, path: str) -> httpx.Response:
    app = create_app(settings, client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://links"
    ) as web:
        return await web.get(path)


async def test_ready_when_database_and_temporal_answer(settings: Settings, client: Client) -> None:
    from infra.db import Base, make_engine

    engine = make_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    assert (await get(settings, client, "/healthz")).json() == {"ok": True}
    r = await get(settings, client, "/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_not_ready_without_temporal(settings: Settings) -> None:
    # Nothing listens on port 1: the link server is alive but not ready.
    unreachable = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    assert (await get(unreachable, None, "/healthz")).status_code == 200
    r = await get(unreachable, None, "/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["temporal"] != "ok"


def test_compose_runs_prometheus_and_grafana_with_healthchecks() -> None:
    services = compose()["services"]
    assert "/readyz" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    env = services["worker"]["environment"]
    assert (
        env["PARTNERFLOW_METRICS_PORT"] == "9464" and env["PARTNERFLOW_METRICS_HOST"] == "0.0.0.0"
    )
    volumes = " ".join(services["prometheus"]["volumes"])
    assert "./deploy/prometheus.yml:" in volumes and "./deploy/alerts.yml:" in volumes
    grafana = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/provisioning:" in grafana and "./deploy/grafana/dashboards:" in grafana
