"""Settings, read once from the environment (the names in README "Configuration") and passed
explicitly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.demand import RatesError, parse_rates
from store.db import DEFAULT_URL, normalize_url

SLACK_API_DEFAULT = "https://slack.com/api/"
TEAMS_APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_URL
    port: int = 3000
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API_DEFAULT
    # Installation through OAuth (many workspaces, Grid orgs) instead of one SLACK_BOT_TOKEN.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    # The redirect URL registered with the app (https://<host>/slack/oauth_redirect); needed
    # when the app registers more than one.
    slack_redirect_uri: str | None = None
    product_managers: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    managers: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    # Who may change the settings in chat (/salesbridge settings) besides a Slack
    # workspace's own admins; on Teams, only these.
    admins: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    triage_channel: str | None = None
    approvals_channel: str | None = None  # approval requests naming nobody (else triage's)
    announce_channel: str | None = None
    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    # Azure creates single-tenant and managed-identity bots only (multi-tenant ones since
    # 2025-07-31 no longer): both need MICROSOFT_APP_TENANT_ID.
    microsoft_app_type: str = "SingleTenant"
    microsoft_app_tenant_id: str | None = None
    # No authentication on /api/messages, for a developer's own machine with the Bot
    # Framework Emulator: only when asked for (make demo), never because the app id is missing.
    teams_emulator: bool = False
    # Replies to loopback serviceUrls (a fake Bot Connector in tests) besides Microsoft's
    # hosts while tokens are checked; Emulator mode allows loopback, and only loopback.
    teams_loopback_service_urls: bool = False
    # Where the token signing keys are published (an OpenID metadata document naming a
    # jwks_uri); by default the key set the SDK names for the token's issuer (Bot Framework's).
    teams_openid_metadata_url: str | None = None
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
    receipt_retention_days: int = Field(default=365, ge=1)  # then the worker purges them
    notice_window_days: int = Field(default=90, ge=1)  # who asked this recently hears of a change
    approval_valid_days: int = Field(default=30, ge=1)  # how long an approval holds
    log_level: str = "INFO"
    # Where Teams fetches what we serve (coverage charts), e.g. https://bot.example.com, and
    # the key that signs those links; without both, Teams cards carry no chart.
    public_url: str | None = None
    link_secret: SecretStr | None = None
    # What one unit of each currency is worth in USD, "EUR=1.08,GBP=1.27": the ranked list
    # of feedback orders by revenue at stake converted with these (bot.demand).
    fx_rates: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    # Decks attached to briefings are kept in the database up to this size each.
    deck_max_mb: int = Field(default=25, ge=1, le=1024)

    @property
    def teams_mode(self) -> str | None:
        """ "bot" (tokens checked), "emulator" (TEAMS_EMULATOR, no auth) or None: no Teams."""
        if self.microsoft_app_id:
            return "bot"
        return "emulator" if self.teams_emulator else None

    @property
    def slack_oauth(self) -> bool:
        """Slack workspaces install the app through OAuth (SLACK_CLIENT_ID and
        SLACK_CLIENT_SECRET) rather than sharing one SLACK_BOT_TOKEN."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def isolates_workspaces(self) -> bool:
        """Each workspace's data is kept apart (bot.workspace.Workspace.isolated): the
        deployment serves many, through Slack OAuth or as a multi-tenant Teams bot. One Slack
        workspace (SLACK_BOT_TOKEN) and one Teams tenant keep one pool."""
        multi_tenant = self.microsoft_app_type.lower() == "multitenant"
        return self.slack_oauth or (self.teams_mode is not None and multi_tenant)

    @property
    def platforms(self) -> frozenset[str]:
        """The chat platforms this install talks to: only these are sent to or looked up."""
        slack = self.slack_bot_token or self.slack_oauth
        return frozenset([*(["slack"] if slack else []), *(["teams"] if self.teams_mode else [])])

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

        try:
            ZoneInfo(v)  # fails early on a misspelt zone
        except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError("set an IANA time zone such as UTC or Australia/Sydney") from None
        return v

    @field_validator("region_channels", mode="before")
    @classmethod
    def _pairs(cls, v: object) -> object:
        if isinstance(v, str):
            pairs = (item.partition("=") for item in v.split(",") if item.strip())
            return {k.strip().upper(): c.strip() for k, _, c in pairs if k.strip() and c.strip()}
        return v

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _rates(cls, v: object) -> object:
        if isinstance(v, str):
            try:
                return dict(parse_rates(v).rates)
            except RatesError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("product_managers", "managers", "admins", mode="before")
    @classmethod
    def _ids(cls, v: object) -> object:
        if isinstance(v, str):
            return frozenset(x.strip() for x in v.split(",") if x.strip())
        return v

    def problems(self) -> list[str]:
        """Settings that are each valid but cannot work together, one line each naming the
        variable to set. `serve` and `worker` refuse to start while there are any."""
        out: list[str] = []
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            out.append(
                f"{missing} is not set: OAuth installation needs both SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (the app's Basic Information page); set it, or unset the "
                "other to serve one workspace with SLACK_BOT_TOKEN."
            )
        if self.slack_oauth and self.slack_bot_token:
            out.append(
                "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: each "
                "workspace's token comes from its installation; unset SLACK_BOT_TOKEN, or "
                "unset both client settings to serve one workspace with it."
            )
        if self.slack_oauth and not self.slack_signing_secret:
            out.append(
                "SLACK_SIGNING_SECRET is not set: Slack installation through OAuth needs it "
                "(the app's Basic Information page)."
            )
        if self.slack_signing_secret and not self.slack_bot_token and not self.slack_oauth:
            out.append(
                "SLACK_BOT_TOKEN is not set: Slack needs the bot token (xoxb-…, from the app's "
                "OAuth & Permissions page) with SLACK_SIGNING_SECRET, or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET to install through OAuth; set them, or unset "
                "SLACK_SIGNING_SECRET to run without Slack."
            )
        if self.slack_app_token and not self.slack_signing_secret:
            out.append(
                "SLACK_SIGNING_SECRET is not set: Socket Mode (SLACK_APP_TOKEN) needs it and "
                "SLACK_BOT_TOKEN; set both, or unset SLACK_APP_TOKEN."
            )
        kind = self.microsoft_app_type.lower()
        if kind not in {k.lower() for k in TEAMS_APP_TYPES}:
            out.append(
                f"MICROSOFT_APP_TYPE={self.microsoft_app_type!r} is not a bot type: set "
                + ", ".join(TEAMS_APP_TYPES[:-1])
                + f" or {TEAMS_APP_TYPES[-1]}."
            )
        tenant_bound = kind in ("singletenant", "userassignedmsi")
        if self.microsoft_app_id and tenant_bound and not self.microsoft_app_tenant_id:
            out.append(
                f"MICROSOFT_APP_TENANT_ID is not set: a {self.microsoft_app_type} bot (the "
                "default; Azure creates no new MultiTenant ones) needs the Directory (tenant) "
                "id of its Azure app registration or managed identity; set it, or set "
                "MICROSOFT_APP_TYPE=MultiTenant for a bot created as multi-tenant before "
                "August 2025."
            )
        return out


class SettingsError(Exception):
    """Settings that cannot be used, one line per problem naming the variable to set."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def load_settings() -> Settings:
    """The settings from the environment, or SettingsError saying what to fix."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError([_problem(e) for e in exc.errors()]) from None


def _problem(error: Any) -> str:
    """One validation error as a line: the variable, what it holds, what it should hold."""
    loc = error.get("loc") or ("?",)
    name = str(loc[0]).upper()
    field = Settings.model_fields.get(str(loc[0]))
    secret = field is not None and "SecretStr" in str(field.annotation)
    given = "" if secret else f"={str(error.get('input'))[:60]!r}"
    message = str(error.get("msg") or "is not valid").removeprefix("Value error, ")
    return f"{name}{given} is not valid: {message}."
