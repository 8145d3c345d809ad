"""One typed Settings object, read from ``PARTNERFLOW_*`` environment variables and ``.env``."""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.types import DaysOrZeroSetting as DaysOrZero
from domain.types import DaysSetting as Days
from domain.types import HoursSetting as Hours
from infra.codec import DEV_KEY, SETTING, parse_keys

PLACEHOLDER_SECRET = "change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Runtime state of the embedded stack (databases, mail, the dev stack's ports).
VAR_DIR = Path(os.environ.get("PARTNERFLOW_VAR_DIR", str(PROJECT_ROOT / "var"))).resolve()
# Written by a running `partnerflow dev` so that other commands find its ports.
DEV_ENV_FILE = VAR_DIR / "dev.env"


# Business durations take units (7d, 36h, 15m, 90s, 2w) or ISO 8601 (P7D, PT36H); a bare
# number keeps the unit of the setting's old name (..._DAYS: days, ..._HOURS: hours), so
# existing .env files mean what they meant. Each is bounded to (0, 366 days].
def _duration(amount: int, name: str, legacy: str, unit: str = "d") -> Any:
    """A duration setting read from ``PARTNERFLOW_<NAME>`` or its old ``_DAYS``/``_HOURS`` name."""
    return Field(f"{amount}{unit}", validation_alias=_aliases(name, legacy))


def _durations(amounts: list[int], name: str, legacy: str) -> Any:
    """A list of durations (JSON in the environment: '["7d", "21d"]'; bare numbers are days)."""
    return Field([f"{n}d" for n in amounts], validation_alias=_aliases(name, legacy))


def _aliases(name: str, legacy: str) -> AliasChoices:
    # An alias replaces the env prefix, so the variable names are spelled out in full.
    return AliasChoices(name, f"PARTNERFLOW_{name.upper()}", f"PARTNERFLOW_{legacy.upper()}")


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
        populate_by_name=True,
    )

    environment: Literal["dev", "test", "production"] = "dev"

    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR / 'partnerflow.db'}"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # How long a command (CLI, link server) retries an unreachable Temporal server before it
    # answers temporal_unreachable: long enough to ride out a restart of the server.
    temporal_connect_wait_seconds: float = Field(15.0, ge=0, le=300)
    task_queue: str = "partnerflow"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "PartnerFlow <no-reply@partnerflow.local>"
    message_id_domain: str = "partnerflow.local"
    # The language of a user, customer or partner whose row names none (docs/i18n.md).
    default_locale: Literal["zh-CN", "en"] = "zh-CN"

    link_secret: str = PLACEHOLDER_SECRET
    public_base_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    # Console sessions (OWASP ASVS v4 3.3): signed out after this long without a request,
    # and after the absolute lifetime whatever the activity. Emailed sign-in links last
    # ``console_signin_link_ttl`` and work once.
    console_session_idle: timedelta = timedelta(minutes=30)
    console_session_max: timedelta = timedelta(hours=12)
    console_signin_link_ttl: timedelta = timedelta(minutes=15)
    # Personal API tokens (`partnerflow token create`) last this long unless `--expires` says
    # otherwise; never longer than 366 days.
    api_token_ttl: timedelta = timedelta(days=90)
    # The console's imports page: the largest file accepted, where uploads wait between the
    # preview and the confirmation, and how long a preview may be confirmed.
    console_import_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    console_import_dir: Path = VAR_DIR / "imports"
    console_import_ttl: timedelta = timedelta(minutes=30)
    # The console's /dev/mailbox page shows every email the dev SMTP sink received, to anyone
    # who reaches the console: only the dev stack (`partnerflow dev`) turns it on.
    dev_mailbox: bool = False

    # Dev stack ports (``partnerflow dev``).
    dev_temporal_port: int = 7233
    dev_temporal_ui_port: int = 8233
    # The Temporal web UI the console links each case to (none: no link outside dev).
    temporal_ui_url: str | None = None
    dev_smtp_port: int = 1025
    dev_mail_dir: Path = VAR_DIR / "mail"
    dev_temporal_db: Path = VAR_DIR / "temporal.db"

    # The vendor's own invoice title and tax id (incentive invoices are issued to it).
    vendor_invoice_title: str = "Huawei Cloud Computing Technologies Co., Ltd."
    vendor_tax_id: str = "91520900MA6J6CBN9Q"

    # --- business defaults (docs/: the vendor's numbers and PartnerFlow's defaults) ---
    invitation_validity: Days = _duration(7, "invitation_validity", "invitation_validity_days")
    invitation_reminder_before: DaysOrZero = _duration(
        1, "invitation_reminder_before", "invitation_reminder_before_days"
    )
    big_order_threshold: Decimal = Decimal("50000.00")

    # --- onboarding, development paths and certification (docs/onboarding.md) ---
    onboarding_review_working_days: int = Field(
        3, ge=1
    )  # the vendor's rule: tickets: 3 working days
    # PartnerFlow's default: after the review is due
    onboarding_escalation_after: Days = _duration(
        2, "onboarding_escalation_after", "onboarding_escalation_after_days"
    )
    onboarding_agreement_window: Days = _duration(  # PartnerFlow's default
        30, "onboarding_agreement_window", "onboarding_agreement_window_days"
    )
    # PartnerFlow's default: into the window
    onboarding_agreement_reminders: list[Days] = _durations(
        [7, 21], "onboarding_agreement_reminders", "onboarding_agreement_reminder_days"
    )
    onboarding_bank_max_wrong_entries: int = Field(
        3, ge=1
    )  # the vendor's rule: then locked until ops
    onboarding_bank_min_amount: Decimal = Decimal(
        "0.01"
    )  # PartnerFlow's default: the random deposit's range
    onboarding_bank_max_amount: Decimal = Decimal("0.99")  # PartnerFlow's default
    # Working days for due dates: Mon-Fri minus holidays, plus declared working weekend days
    # (调休), in the business time zone. JSON lists in the environment: '["2026-10-01"]'.
    working_calendar_holidays: list[date] = []
    working_calendar_working_weekends: list[date] = []
    working_calendar_utc_offset_hours: int = Field(8, ge=-12, le=14)
    # Where the development fake bank writes the statements its micro-deposits appear on.
    fake_bank_dir: Path = VAR_DIR / "fake-bank"
    # PartnerFlow's default: like the other invite links
    path_invitation_validity: Days = _duration(
        7, "path_invitation_validity", "path_invitation_validity_days"
    )
    path_software_role_min_solutions: int = Field(1, ge=0)  # the vendor's rule
    path_software_differentiation_min_advanced: int = Field(1, ge=0)  # the vendor's rule
    path_service_min_persons: int = Field(2, ge=0)  # [seed + doc] yearly policy
    path_service_min_certificates: int = Field(4, ge=0)  # [seed + doc]
    path_service_hcip_stands_in_for_hcia: bool = True  # the vendor's rule
    path_service_hcips_without_hcia: int = Field(4, ge=0)  # the vendor's rule
    path_service_min_cloud_cases: int = Field(1, ge=0)  # the vendor's rule
    path_service_case_window_days: int = Field(365, ge=1)  # the vendor's rule: the last 12 months

    # --- unbinding and association-type switch (docs/unbinding.md) ---
    # PartnerFlow's default: the docs give no timeout
    unbind_approval_window: Days = _duration(
        7, "unbind_approval_window", "unbind_approval_window_days"
    )
    # PartnerFlow's default: reminder before the window lapses
    unbind_reminder_before: DaysOrZero = _duration(
        1, "unbind_reminder_before", "unbind_reminder_before_days"
    )
    unbind_frequency_window_months: int = Field(3, ge=1)  # the vendor's rule
    unbind_max_partner_requests: int = Field(
        1, ge=1
    )  # the vendor's rule: China site; international: 3
    unbind_max_customer_requests: int = Field(
        1, ge=1
    )  # the vendor's rule: China site; international: 3
    # the vendor's rule: international site: a partner ends a consulting binding without the customer.
    unbind_immediate_consulting: bool = False

    # --- incentive payout with invoice verification (docs/incentives.md) ---
    # Rate per "partner_type/site" [ours: configurable table]; rows imported with
    # `partnerflow import incentive-rates FILE` override these. JSON in the environment.
    incentive_rates: dict[str, Decimal] = {
        "solution_provider/china": Decimal("0.0500"),
        "solution_provider/overseas": Decimal("0.0400"),
        "cloud_reseller/china": Decimal("0.0800"),
        "cloud_reseller/overseas": Decimal("0.0600"),
        "distributor/china": Decimal("0.0200"),
        "distributor/overseas": Decimal("0.0200"),
    }
    # PartnerFlow's default: from the notification
    incentive_invoice_window: Days = _duration(
        60, "incentive_invoice_window", "incentive_invoice_window_days"
    )
    # PartnerFlow's default: before the lapse
    incentive_invoice_reminders_before: list[Days] = _durations(
        [30, 7], "incentive_invoice_reminders_before", "incentive_invoice_reminder_days_before"
    )
    # PartnerFlow's default: finance reminder
    incentive_approval_reminder: DaysOrZero = _duration(
        3, "incentive_approval_reminder", "incentive_approval_reminder_days"
    )
    # PartnerFlow's default: the partner applies within a year (the vendor's rule: cashed within 1 year after leaving).
    incentive_application_window: Days = _duration(
        365, "incentive_application_window", "incentive_application_window_days"
    )
    incentive_application_reminder: DaysOrZero = _duration(  # PartnerFlow's default
        30, "incentive_application_reminder", "incentive_application_reminder_days"
    )
    # FROZEN/HELD facts re-read this often
    incentive_recheck: Hours = _duration(24, "incentive_recheck", "incentive_recheck_hours", "h")
    # The monthly run starts the previous month's payouts (docs/incentives.md: the 3rd of each month);
    # from day 2 on, the fire time's UTC date is in the same month in every time zone.
    incentive_schedule_day_of_month: int = Field(3, ge=2, le=28)
    incentive_schedule_hour: int = Field(2, ge=0, le=23)
    # Time zone of every Temporal Schedule's calendar (starter/stack/schedules.py).
    schedules_time_zone: str = "Asia/Shanghai"
    # Only the fake exists; a real bank adapter implements activities.payments.PaymentGateway.
    # Production refuses the fake: it pays nothing and returns FAKE-... references.
    payment_gateway: Literal["fake"] = "fake"
    # The bank that makes the certification micro-deposit. Only the development fake exists
    # (activities.onboarding.BankVerifier is the interface); production refuses it.
    bank_verifier: Literal["fake"] = "fake"

    # --- big-order renewal tasks and customer authorization (docs/renewals.md) ---
    # (the threshold is big_order_threshold above, inclusive: 50,000 (PartnerFlow's default))
    # PartnerFlow's default: yearly orders: task 30 days ahead; monthly orders: 7 days ahead
    renewal_yearly_lead: Days = _duration(30, "renewal_yearly_lead", "renewal_yearly_lead_days")
    renewal_monthly_lead: Days = _duration(7, "renewal_monthly_lead", "renewal_monthly_lead_days")
    # PartnerFlow's default: before expiry
    renewal_reminders_before: list[Days] = _durations(
        [15, 7, 1], "renewal_reminders_before", "renewal_reminder_days_before"
    )
    # PartnerFlow's default: to ecosystem_manager
    renewal_escalate_unclaimed_before: DaysOrZero = _duration(
        7, "renewal_escalate_unclaimed_before", "renewal_escalate_unclaimed_days_before"
    )
    # PartnerFlow's default: the daily look at billing data
    renewal_billing_check: Hours = _duration(
        24, "renewal_billing_check", "renewal_billing_check_hours", "h"
    )
    renewal_scan_page_size: int = Field(500, ge=1, le=5000)  # orders per scan page
    # The daily scan's time of day (calendar in schedules_time_zone).
    renewal_scan_hour: int = Field(1, ge=0, le=23)
    renewal_scan_minute: int = Field(0, ge=0, le=59)
    # PartnerFlow's default: no expiry is documented
    authorization_validity: Days = _duration(
        30, "authorization_validity", "authorization_validity_days"
    )
    # PartnerFlow's default: an unanswered authorization request lapses after this long.
    authorization_request_window: Days = _duration(
        7, "authorization_request_window", "authorization_request_window_days"
    )

    # --- trust: link lifetime and the Temporal connection's security (README "Trust model") ---
    # Caps every emailed decision link's expiry (a duration: P14D, 14d or P1DT12H);
    # a link with an earlier business expiry keeps it; offline invitation links never expire.
    link_ttl: timedelta = timedelta(days=14)
    # TLS to Temporal: on when any of these (or an API key) is set. CA: PEM file of the root
    # that signed the server's certificate (system roots when unset); CERT + KEY: mTLS client
    # certificate and key (PEM files, both or neither); SERVER_NAME: the name the server's
    # certificate carries when it differs from the host in PARTNERFLOW_TEMPORAL_ADDRESS.
    temporal_tls_ca: Path | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_server_name: str | None = None
    # API key (e.g. Temporal Cloud); sent only over TLS.
    temporal_api_key: SecretStr | None = None

    @model_validator(mode="after")
    def _check_trust_settings(self) -> Settings:
        if self.link_ttl <= timedelta(0):
            raise ValueError("PARTNERFLOW_LINK_TTL must be a positive duration (e.g. P14D)")
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "PARTNERFLOW_TEMPORAL_TLS_CERT and PARTNERFLOW_TEMPORAL_TLS_KEY go together "
                "(the mTLS client certificate and its private key): set both or neither"
            )
        for name in ("temporal_tls_ca", "temporal_tls_cert", "temporal_tls_key"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"PARTNERFLOW_{name.upper()}: no such file: {path}")
        return self

    # --- operations: metrics, health, logs, shutdown (README "Operations") ---
    # The worker serves business metrics, /healthz and /readyz on metrics_port, and the
    # Temporal SDK's own metrics on metrics_port + 1 (the SDK exporter binds its own port).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9464, ge=1, le=65534)
    # json: one JSON object per line (production); text: readable lines (dev). None: json in
    # production, text elsewhere.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # SIGTERM: the worker stops polling and gives in-flight activities this long to finish.
    worker_shutdown_grace_seconds: float = Field(30.0, ge=0)
    # Workflow tasks one worker process works on at once. Python runs them one at a time (the
    # GIL), so a worker that takes more than it can finish in the 10 s workflow task timeout
    # sees all of them time out and be redone elsewhere: under CPU pressure (a busy host,
    # workers restarting) throughput collapses. The server queues the rest meanwhile.
    worker_max_workflow_tasks: int = Field(10, ge=1)

    # --- encrypted payloads (infra/codec.py) ---
    # "id1:base64key,id2:base64key": AES-256 keys; the first encrypts, all decrypt (rotation:
    # put the new key first, drop the old one once nothing open or kept still needs it).
    # Unset outside production: the fixed, public dev key. Production refuses both.
    codec_keys: SecretStr | None = None
    # Bearer token of the codec server (/codec/decode, /codec/encode) that lets the Temporal UI
    # show decoded payloads. Unset: the endpoints answer only in dev and test (dev key only);
    # in production they stay closed until a token is set.
    codec_token: SecretStr | None = None
    # The Temporal UI's origins (comma-separated), allowed by the codec server's CORS answers.
    codec_cors_origins: str = "http://127.0.0.1:8233,http://localhost:8233"
    # --- worker sizing (README "Performance") ---
    # Workflows kept in memory between their tasks. A task of an evicted workflow replays its
    # history in a fresh sandbox, so the cache must hold every workflow busy at once (the
    # benchmarks keep at most ~100 so); beyond that each cached workflow costs memory and saves
    # only one replay at its next task. Measured by bench/scale.py (2026-12-03): ~250 KiB per
    # cached open invitation over a ~120 MiB worker (400 open: 121 -> 220 MiB); with 400 the
    # worker held 1,000 open at 235 MiB, peak 269 MiB (goal 300 MiB), start rate flat.
    worker_cache: int = Field(400, ge=0)
    # Concurrent long polls for workflow and activity tasks: one poller holds a gRPC stream
    # open, so a handful keep both task kinds flowing without starving the event loop.
    worker_workflow_pollers: int = Field(5, ge=1, le=100)
    worker_activity_pollers: int = Field(5, ge=1, le=100)
    # SMTP connections kept open for the email activity (0: a new connection per message).
    smtp_pool_size: int = Field(4, ge=0, le=64)

    @property
    def effective_log_format(self) -> Literal["json", "text"]:
        """The log format in force (json in production unless set)."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "text"

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

    @field_validator("codec_keys", "codec_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable as "" (``${PARTNERFLOW_CODEC_TOKEN:-}``).
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_codec_settings(self) -> Settings:
        if self.codec_keys is not None:
            keys = parse_keys(self.codec_keys.get_secret_value())
            if self.environment == "production" and DEV_KEY in keys.values():
                raise ValueError(
                    f"{SETTING} holds the development key (it is in the repository, so it "
                    "protects nothing); production needs its own random 32-byte keys"
                )
        elif self.environment == "production":
            raise ValueError(
                f"{SETTING} is not set: production encrypts workflow payloads with its own "
                "keys (id:base64 of 32 random bytes, e.g. "
                "`python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())'`)"
            )
        token = self.codec_token.get_secret_value() if self.codec_token else None
        if self.environment == "production" and token is not None and len(token) < 32:
            raise ValueError("PARTNERFLOW_CODEC_TOKEN must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _refuse_fakes_in_production(self) -> Settings:
        # Production must not pay with FAKE references or certify against an invented
        # deposit: refuse to start rather than fail the first payout or certification.
        if self.environment != "production":
            return self
        fakes = []
        if self.payment_gateway == "fake":
            fakes.append(
                "PARTNERFLOW_PAYMENT_GATEWAY=fake is the development stand-in (it moves no "
                "money and pays with FAKE- references); production needs a real payment "
                "gateway adapter (activities.payments.PaymentGateway)"
            )
        if self.bank_verifier == "fake":
            fakes.append(
                "PARTNERFLOW_BANK_VERIFIER=fake is the development stand-in (it deposits "
                "nothing); production needs a real bank adapter "
                "(activities.onboarding.BankVerifier) for business-info certification"
            )
        if fakes:
            raise ValueError("; ".join(fakes))
        return self


class _EnvironmentOnly(BaseSettings):
    """Just ``PARTNERFLOW_ENVIRONMENT``, read the way ``Settings`` reads it."""

    model_config = SettingsConfigDict(
        env_prefix="PARTNERFLOW_", env_file=(".env", DEV_ENV_FILE), extra="ignore"
    )

    environment: str = "dev"


def configured_environment() -> str:
    """The configured environment, even when the rest of the settings would be refused
    (so that a command can refuse to run in production before anything else)."""
    return _EnvironmentOnly().environment.strip().lower()


@lru_cache
def get_settings() -> Settings:
    """Returns the process-wide settings (read once)."""
    return Settings()
