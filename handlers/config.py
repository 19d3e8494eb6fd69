"""Settings, read once from the environment (the names in README "Configuration") and passed
explicitly."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from store.db import DEFAULT_URL, normalize_url

SLACK_API_DEFAULT = "https://slack.com/api/"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_URL
    port: int = 3000
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API_DEFAULT
    product_managers: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    managers: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    triage_channel: str | None = None
    announce_channel: str | None = None
    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_type: str = "MultiTenant"
    microsoft_app_tenant_id: str | None = None
    # Region channels for announcements, "APAC=C0APAC,EMEA=C0EMEA" (Slack channel ids).
    region_channels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    verify_after_days: int = Field(default=90, ge=1)  # owners are nudged weekly after this
    feedback_stale_days: int = Field(default=3, ge=1)  # new items raised again after this
    # Coverage reports: the time zone quarters and dates are read in, default targets.
    report_timezone: str = "UTC"
    default_briefing_target: int = Field(default=1, ge=0)  # per region and quarter
    pm_briefing_target: int = Field(default=3, ge=0)  # expected of each PM per quarter
    management_channel: str | None = None  # weekly coverage digest (Slack channel id)
    outbox_max_attempts: int = Field(default=8, ge=1)
    # How long a claimed message is a worker's before another may take it over (a worker
    # that died mid-send); longer than any single send can take.
    outbox_lease_seconds: int = Field(default=60, ge=5)
    log_level: str = "INFO"
    # Where Teams fetches what we serve (coverage charts), e.g. https://bot.example.com, and
    # the key that signs those links; without both, Teams cards carry no chart.
    public_url: str | None = None
    link_secret: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str) -> str:
        return normalize_url(v)

    @field_validator("slack_api_url")
    @classmethod
    def _api(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @field_validator("report_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(v)  # fails early on a misspelt zone
        return v

    @field_validator("region_channels", mode="before")
    @classmethod
    def _pairs(cls, v: object) -> object:
        if isinstance(v, str):
            pairs = (item.partition("=") for item in v.split(",") if item.strip())
            return {k.strip().upper(): c.strip() for k, _, c in pairs if k.strip() and c.strip()}
        return v

    @field_validator("product_managers", "managers", mode="before")
    @classmethod
    def _ids(cls, v: object) -> object:
        if isinstance(v, str):
            return frozenset(x.strip() for x in v.split(",") if x.strip())
        return v
