"""One typed Settings object, read from ``PARTNERFLOW_*`` environment variables and ``.env``."""

from __future__ import annotations

from decimal import Decimal
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Runtime state of the embedded stack (databases, mail, the dev stack's ports).
VAR_DIR = Path(os.environ.get("PARTNERFLOW_VAR_DIR", str(PROJECT_ROOT / "var"))).resolve()
# Written by a running `partnerflow dev` so that other commands find its ports.
DEV_ENV_FILE = VAR_DIR / "dev.env"


class Settings(BaseSettings):
    """Everything PartnerFlow reads from its environment.

    Business durations here are the *defaults* the starters put into workflow inputs;
    a running workflow never reads settings, so changing one affects new workflows only.
    """

    model_config = SettingsConfigDict(
        env_prefix="PARTNERFLOW_",
        env_file=(".env", DEV_ENV_FILE),
        extra="ignore",
        validate_default=True,
    )

    environment: Literal["dev", "test", "production"] = "dev"

    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR / 'partnerflow.db'}"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "partnerflow"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "PartnerFlow <no-reply@partnerflow.local>"
    message_id_domain: str = "partnerflow.local"

    link_secret: str = PLACEHOLDER_SECRET
    public_base_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = 8080

    # Dev stack ports (``partnerflow dev``).
    dev_temporal_port: int = 7233
    dev_temporal_ui_port: int = 8233
    dev_smtp_port: int = 1025
    dev_mail_dir: Path = VAR_DIR / "mail"
    dev_temporal_db: Path = VAR_DIR / "temporal.db"

    # The vendor's own invoice title and tax id (incentive invoices are issued to it).
    vendor_invoice_title: str = "Huawei Cloud Computing Technologies Co., Ltd."
    vendor_tax_id: str = "91520900MA6J6CBN9Q"

    # --- business defaults (DOMAIN.md [ours]/[doc] numbers) ---
    invitation_validity_days: int = Field(7, ge=1)
    invitation_reminder_before_days: int = Field(1, ge=0)
    big_order_threshold: Decimal = Decimal("50000.00")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and self.link_secret in (PLACEHOLDER_SECRET, ""):
            raise ValueError(
                "PARTNERFLOW_LINK_SECRET is still the placeholder; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if self.environment == "production" and len(self.link_secret) < 32:
            raise ValueError("PARTNERFLOW_LINK_SECRET must be at least 32 characters in production")
        return self


@lru_cache
def get_settings() -> Settings:
    """Returns the process-wide settings (read once)."""
    return Settings()
