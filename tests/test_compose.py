"""docker-compose.yml parses and wires the production services together (no Docker engine
runs here, so this is as far as a test can go)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_services_and_wiring() -> None:
    services = compose()["services"]
    assert {"postgres", "temporal", "temporal-ui", "mailpit", "worker", "web", "migrate"} <= set(
        services
    )
    assert "healthcheck" in services["postgres"]
    assert services["temporal"]["image"].startswith("temporalio/auto-setup")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgres"
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("worker", "web"):
        svc = services[name]
        env = svc["environment"]
        assert env["PARTNERFLOW_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["PARTNERFLOW_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in env["PARTNERFLOW_DATABASE_URL"]
        assert env["PARTNERFLOW_SMTP_HOST"].endswith("mailpit}")
        assert env["PARTNERFLOW_ENVIRONMENT"] == "production"
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["partnerflow", "db", "upgrade"]
    assert services["worker"]["command"] == ["partnerflow", "worker"]
    assert services["web"]["command"] == ["partnerflow", "web"]


def test_every_partnerflow_variable_is_a_setting() -> None:
    env = compose()["services"]["worker"]["environment"]
    fields = {f"PARTNERFLOW_{name.upper()}" for name in Settings.model_fields}
    ours = {name for name in env if not name.startswith("OTEL_")}  # OpenTelemetry's own
    assert ours <= fields, ours - fields


def published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host binding, container port) of every published port, in either compose syntax."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((str(port.get("host_ip", "")), str(port["target"])))
            continue
        parts = str(port).split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        out.append((host_ip, parts[-1].split("/")[0]))
    return out


def test_temporal_and_the_database_are_not_published() -> None:
    services = compose()["services"]
    assert published(services["temporal"]) == []
    assert published(services["postgres"]) == []
    for name, svc in services.items():
        for _, target in published(svc):
            assert target not in ("7233", "5432"), f"{name} publishes {target} to the host"


def test_only_the_link_server_listens_beyond_the_host() -> None:
    services = compose()["services"]
    for name, svc in services.items():
        for host_ip, target in published(svc):
            if name == "web":
                continue
            assert host_ip == "127.0.0.1", f"{name} publishes {target} on every interface"
    assert published(services["web"]) == [("", "8080")]


def test_the_schedules_are_applied_once_after_the_migration() -> None:
    services = compose()["services"]
    job = services["schedules"]
    assert job["command"] == ["partnerflow", "schedules", "apply"]
    assert job["restart"] == "no"
    assert job["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert job["depends_on"]["temporal"]["condition"] == "service_healthy"
    assert job["environment"] == services["worker"]["environment"]
