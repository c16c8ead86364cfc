"""Runtime settings from the environment (CLOSEDLOOP_* plus the standard service URLs)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import crypto
from domain.outbound import parse_allowlist


class Settings(BaseSettings):
    """Everything the API, worker and CLI read from the environment."""

    model_config = SettingsConfigDict(env_prefix="CLOSEDLOOP_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "production"
    database_url: str = Field(
        "", validation_alias=AliasChoices("DATABASE_URL", "CLOSEDLOOP_DATABASE_URL")
    )
    temporal_address: str = Field(
        "", validation_alias=AliasChoices("TEMPORAL_ADDRESS", "CLOSEDLOOP_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        "default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "CLOSEDLOOP_TEMPORAL_NAMESPACE"),
    )
    temporal_task_queue: str = Field(
        "closedloop",
        validation_alias=AliasChoices("TEMPORAL_TASK_QUEUE", "CLOSEDLOOP_TEMPORAL_TASK_QUEUE"),
    )
    # Signs JWTs and derives API-key hashes; required, never defaulted in production.
    secret_key: SecretStr = SecretStr("")
    # Keys rotated out: tokens they signed still verify until they expire; new ones use secret_key.
    previous_secret_keys: list[SecretStr] = Field(default_factory=list)
    # Personal data at rest and Temporal payloads: "kid:base64(32 bytes)" list, first = current.
    encryption_keys: SecretStr = SecretStr("")
    # HMAC key (base64, >= 32 bytes) of the blind indexes used for exact-match search and dedup.
    blind_index_key: SecretStr = SecretStr("")
    # Temporal UI origins allowed to call /api/v1/codec (CORS), e.g. ["http://127.0.0.1:8233"].
    temporal_ui_origins: list[str] = Field(default_factory=list)
    access_token_ttl_minutes: int = Field(60, ge=1, le=24 * 60)
    admin_email: str = ""
    admin_password: SecretStr = SecretStr("")
    # Local day boundaries for FB/CUS numbers.
    timezone: str = "Asia/Shanghai"
    # How long an API request waits on a workflow before answering 503 with Retry-After.
    update_timeout_seconds: float = Field(10.0, gt=0)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    dev_postgres_port: int = 5433
    dev_temporal_port: int = 7233
    data_dir: str = ".closedloop"
    metrics_port: int = Field(0, description="Worker Prometheus port for SDK metrics; 0 = off")
    log_json: bool | None = None  # None: JSON when stderr is not a TTY
    log_level: str = "INFO"
    max_cached_workflows: int = 1000
    # Worker slots and pollers (README "Sizing"): workflow tasks, activities and local
    # activities run at most this many at once per worker process; pollers per task queue.
    worker_max_concurrent_workflow_tasks: int = Field(100, ge=2)
    worker_max_concurrent_activities: int = Field(100, ge=1)
    worker_max_concurrent_local_activities: int = Field(100, ge=1)
    # 20 (the SDK's default is 5): a 100-ticket breach storm went out at 41.5/s instead of 20.8/s.
    worker_workflow_task_pollers: int = Field(20, ge=2)
    worker_activity_task_pollers: int = Field(20, ge=1)
    # Load every module once instead of re-importing workflow modules in each workflow's
    # sandbox (a new or evicted workflow then starts cheaper); call restrictions still apply.
    worker_sandbox_passthrough_all: bool = False
    max_body_bytes: int = 1_000_000
    # Customer import files (CSV/XLSX): 100k rows fit comfortably.
    max_import_bytes: int = 64_000_000
    # Staff API CORS allow-list (exact origins); empty: no cross-origin browser access.
    cors_origins: list[str] = Field(default_factory=list)
    # Login guard: N failures per email+IP within the window lock that pair for lockout seconds.
    login_max_failures: int = Field(5, ge=1)
    login_failure_window_seconds: float = Field(900.0, gt=0)
    login_lockout_seconds: float = Field(900.0, gt=0)
    # Failures from one IP across all emails within the window before it is throttled.
    login_max_failures_per_ip: int = Field(100, ge=1)
    # Web console: a session unused this long is ended (the user logs in again).
    console_idle_minutes: float = Field(30.0, gt=0)
    # Public intake: sites that may embed the form / call the public API (CORS, frame-ancestors).
    public_allowed_origins: list[str] = Field(default_factory=list)
    public_base_url: str = ""  # absolute base of status links; empty: links relative to the API
    public_rate_window_seconds: float = Field(60.0, gt=0)
    public_rate_create_per_ip: int = Field(10, ge=1)
    public_rate_per_ip: int = Field(120, ge=1)
    public_rate_per_token: int = Field(30, ge=1)
    public_max_body_bytes: int = Field(32_768, ge=1024)
    # Inbound mail (aiosmtpd): mail becomes tickets, replies become customer comments.
    smtp_inbound_host: str = "127.0.0.1"
    smtp_inbound_port: int = 2525
    smtp_inbound_max_bytes: int = Field(2_000_000, ge=10_000)
    inbound_mail_default_category: str = "product_quality"
    # Outgoing mail (aiosmtplib); an empty host turns the email channel off.
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_validate_certs: bool = True
    smtp_from: str = ""
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    # SMS gateway: JSON POST with a bearer token; an empty URL turns the SMS channel off.
    sms_gateway_url: str = ""
    sms_gateway_token: SecretStr = SecretStr("")
    notify_http_timeout_seconds: float = Field(10.0, gt=0)
    # Language of customer notices and of people without preferences (zh or en).
    notify_default_locale: str = "zh-CN"
    # Automatic pushes of follow-up plans wait out this window of local time (`timezone`);
    # set either end empty to send at any hour.
    push_quiet_start: time | None = time(21, 0)
    push_quiet_end: time | None = time(9, 0)
    # Automatic pushes per customer and calendar month, by tier, e.g. {"ordinary": 2}; tiers
    # left out keep the defaults (core 8, potential 4, ordinary 2).
    push_monthly_caps: dict[
        Literal["core", "potential", "ordinary"], Annotated[int, Field(ge=0)]
    ] = Field(default_factory=dict)
    # Outbound HTTP (webhooks, robots, SMS gateway). https only: None means in production only.
    outbound_https_only: bool | None = None
    # Internal destinations the worker may reach anyway: "10.0.0.5:8080", "10.1.0.0/16".
    outbound_allowlist: list[str] = Field(default_factory=list)
    # Hosts robot URLs may name besides the vendors' own, e.g. an egress proxy.
    robot_proxy_hosts: list[str] = Field(default_factory=list)
    outbound_max_response_bytes: int = Field(65_536, ge=1024)
    # Consecutive failed deliveries after which a webhook or robot channel is parked.
    outbound_breaker_threshold: int = Field(5, ge=1)
    # NotificationDelivery runs on its own task queue and worker slots, so slow or broken
    # receivers cannot hold up ticket timers; empty: "<temporal_task_queue>-notify".
    notify_task_queue: str = ""
    notify_max_concurrent_deliveries: int = Field(20, ge=1)

    # Reports: a TrueType CJK font for PDF exports (default: the first installed of
    # services.reports.exports.pdf_export.FONT_CANDIDATES, Debian fonts-wqy-microhei).
    report_font_path: str | None = None
    # Attachments: sealed files in a local directory (default <data_dir>/attachments) or S3.
    attachment_storage: Literal["local", "s3"] = "local"
    attachment_dir: str = ""
    attachment_max_image_bytes: int = Field(10_000_000, ge=1)
    attachment_max_document_bytes: int = Field(25_000_000, ge=1)
    # Screenshots on the public feedback form (up to 3 per submission).
    attachment_max_public_image_bytes: int = Field(3_000_000, ge=1)
    s3_endpoint_url: str = ""  # empty: AWS; else MinIO/Ceph/OSS/COS endpoint
    s3_region: str = ""
    s3_bucket: str = ""
    s3_prefix: str = "attachments/"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # Import jobs: a worker silent this long is presumed dead and another one resumes the job.
    import_heartbeat_seconds: float = Field(60.0, gt=0)
    # Sales: approvers are reminded every period and escalated after N reminders; service-order
    # stage owners are reminded this long before a stage deadline.
    quote_remind_every_seconds: int = Field(86_400, ge=1)
    quote_escalate_after_reminders: int = Field(2, ge=1)
    quote_max_reminders: int = Field(14, ge=1)
    stage_remind_before_seconds: int = Field(86_400, ge=0)
    # Category of the feedback ticket a low survey score opens (routed like any other).
    survey_ticket_category: str = "service_attitude"
    # Company header printed on quote PDFs, and the CJK TrueType font file (else Debian's).
    company_name: str = "closedloop"
    quote_font_path: str | None = None

    @model_validator(mode="after")
    def _require_secrets_in_production(self) -> Settings:
        if self.env == "production" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("CLOSEDLOOP_SECRET_KEY must be set to at least 32 characters")
        self._check_encryption_keys()
        parse_allowlist(self.outbound_allowlist)  # a typo fails at start, not at send time
        return self

    @property
    def delivery_task_queue(self) -> str:
        """The task queue of NotificationDelivery workflows and their activities."""
        return self.notify_task_queue or f"{self.temporal_task_queue}-notify"

    @property
    def https_required(self) -> bool:
        """Webhook and robot URLs must be https (always in production unless turned off)."""
        if self.outbound_https_only is None:
            return self.env == "production"
        return self.outbound_https_only

    def _check_encryption_keys(self) -> None:
        """Production requires both keys; development/test generate per-process ones if unset."""
        keys, blind = (
            self.encryption_keys.get_secret_value(),
            self.blind_index_key.get_secret_value(),
        )
        if self.env != "production":
            # `closedloop dev` persists its keys and hands the same ones to every process.
            self.encryption_keys = SecretStr(keys or crypto.new_key_spec("dev"))
            self.blind_index_key = SecretStr(blind or crypto.new_blind_index_key())
        elif not keys or not blind:
            raise ValueError(
                "CLOSEDLOOP_ENCRYPTION_KEYS and CLOSEDLOOP_BLIND_INDEX_KEY must be set "
                "in production"
            )
        crypto.parse_keys(self.encryption_keys.get_secret_value())
        crypto.parse_blind_index_key(self.blind_index_key.get_secret_value())

    def keyring(self) -> crypto.Keyring:
        """The encryption keyring from `encryption_keys` and `blind_index_key`."""
        return crypto.Keyring.from_strings(
            self.encryption_keys.get_secret_value(), self.blind_index_key.get_secret_value()
        )


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return Settings()
