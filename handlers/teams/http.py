"""POST /api/messages: the Agents SDK CloudAdapter on our aiohttp app, with inbound auth."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt
from aiohttp import web
from microsoft_agents.activity import Activity, InvokeResponse
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    ClaimsIdentity,
    OutboundHostValidator,
)
from microsoft_agents.hosting.core.authorization import AuthTypes
from pydantic import ValidationError
from yarl import URL

from handlers.bodies import capped
from handlers.config import Settings
from handlers.teams.tokens import GuardedValidator, SigningKeys, TokenRefused

if TYPE_CHECKING:
    from handlers.teams.bot import TeamsBot

log = logging.getLogger(__name__)


class _InvalidActivitiesAreOurs(logging.Filter):
    """The SDK logs every activity that fails validation at ERROR with a traceback. Inbound
    ones are validated here first, refused with a 400 and a warning of our own: input from
    the network is not an error of the service."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Validation error for Activity: %s"


logging.getLogger("microsoft_agents.activity.activity").addFilter(_InvalidActivitiesAreOurs())
MAX_BODY = 256 * 1024  # Teams activities are small; the bot's own limit is 100 KB


def auth_configuration(settings: Settings) -> AgentAuthConfiguration:
    """With MICROSOFT_APP_ID: tokens required. With TEAMS_EMULATOR only: no auth."""
    if not settings.microsoft_app_id:
        if not settings.teams_emulator:
            raise ValueError("Teams needs MICROSOFT_APP_ID (or TEAMS_EMULATOR=1 on a dev machine)")
        return AgentAuthConfiguration(anonymous_allowed=True)
    password = settings.microsoft_app_password
    auth_type = (
        AuthTypes.user_managed_identity
        if settings.microsoft_app_type.lower() == "userassignedmsi"
        else AuthTypes.client_secret
    )
    return AgentAuthConfiguration(
        auth_type=auth_type,
        client_id=settings.microsoft_app_id,
        tenant_id=settings.microsoft_app_tenant_id or "botframework.com",
        client_secret=password.get_secret_value() if password else None,
        anonymous_allowed=False,
        validate_issuer=True,  # the SDK checks the verified issuer too, not only the audience
    )


def token_validator(settings: Settings, config: AgentAuthConfiguration) -> GuardedValidator:
    keys = SigningKeys(openid_url=settings.teams_openid_metadata_url)
    return GuardedValidator(config, keys)


class ServiceUrls(OutboundHostValidator):
    """Where the bot may send: Microsoft's Bot Framework hosts over https when tokens are
    checked; loopback only in Emulator mode (or beside Microsoft's hosts, for a fake
    connector in tests, with TEAMS_LOOPBACK_SERVICE_URLS). Checked on every inbound
    activity (the SDK refuses a disallowed serviceUrl) and before every proactive send."""

    def __init__(self, *, microsoft: bool, loopback: bool) -> None:
        super().__init__(
            enabled=True,
            include_default_microsoft_hosts=True,
            allow_private_network_addresses=False,
        )
        self._microsoft = microsoft
        self._loopback = loopback

    def is_allowed(self, url: str | URL | None) -> bool:
        if not isinstance(url, str | URL):
            return False
        if self._loopback and _loopback_url(str(url)):
            return True
        return self._microsoft and super().is_allowed(url)


def service_urls(settings: Settings) -> ServiceUrls:
    if settings.microsoft_app_id:
        return ServiceUrls(microsoft=True, loopback=settings.teams_loopback_service_urls)
    return ServiceUrls(microsoft=False, loopback=True)


def _loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return (
            parts.scheme in ("http", "https")
            and not parts.username
            and not parts.password
            and _is_loopback(parts.hostname)
        )
    except ValueError:
        return False


def create_adapter(config: AgentAuthConfiguration, urls: ServiceUrls) -> CloudAdapter:
    manager = MsalConnectionManager({"SERVICE_CONNECTION": config})
    adapter = CloudAdapter(connection_manager=manager, host_validator=urls)

    async def on_turn_error(context, error: Exception) -> None:  # type: ignore[no-untyped-def]
        # One place for Teams bugs: log, then a short apology (never the exception text).
        from bot.replies import ERROR_APOLOGY

        log.error(
            "teams turn failed", exc_info=error, extra={"activity_type": context.activity.type}
        )
        try:
            if context.activity.type == "invoke":
                # A card action: answer the invoke itself (else the SDK answers 501).
                await context.send_activity(
                    Activity(
                        type="invokeResponse",
                        value=InvokeResponse(
                            status=200,
                            body={
                                "statusCode": 200,
                                "type": "application/vnd.microsoft.activity.message",
                                "value": ERROR_APOLOGY,
                            },
                        ),
                    )
                )
            else:
                await context.send_activity(ERROR_APOLOGY)
        except Exception:
            log.warning("could not send the apology")

    adapter.on_turn_error = on_turn_error
    return adapter


def teams_handler(
    adapter: CloudAdapter,
    bot: TeamsBot,
    config: AgentAuthConfiguration,
    urls: ServiceUrls,
    validator: GuardedValidator,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler for POST /api/messages (mounted by handlers.app, which builds the Teams
    parts on first use)."""

    async def identity(request: web.Request) -> ClaimsIdentity | None:
        """Who sent it: the verified token's claims, anonymous in Emulator mode, or None."""
        if config.ANONYMOUS_ALLOWED:
            return ClaimsIdentity()
        try:
            token = _bearer(request.headers.get("Authorization", ""))
            verified: ClaimsIdentity = await validator.validate_token(token)
        except (jwt.PyJWTError, ValueError) as exc:  # never a traceback for a bad token
            log.warning("Teams token refused", extra={"reason": str(exc)[:60]})
            return None
        return verified

    async def messages(request: web.Request) -> web.Response:
        request, raw = await capped(request, MAX_BODY)
        if config.ANONYMOUS_ALLOWED and not _is_loopback(request.remote):
            # Emulator mode has no authentication: only this machine may use it.
            log.warning("emulator-mode activity refused", extra={"remote": request.remote or "?"})
            return web.json_response(
                {"error": "TEAMS_EMULATOR accepts activities from this machine only."},
                status=403,
            )
        # The token before the body: a forged request costs no parsing (a flood of them
        # must not slow real users down).
        who = await identity(request)
        if who is None:
            return web.json_response(
                {"error": "Invalid token or authentication failed."}, status=401
            )
        body = _activity(raw)
        if body is None:
            log.warning("malformed Teams activity refused", extra={"size": len(raw)})
            return web.json_response(
                {"error": "An activity needs a type and a conversation id."}, status=400
            )
        if not urls.is_allowed(body.get("serviceUrl")):
            # Replies go to serviceUrl: never to a host the caller chose (SSRF).
            log.warning("Teams activity with a disallowed serviceUrl refused")
            return web.json_response({"error": "serviceUrl not allowed."}, status=403)
        request["claims_identity"] = who  # where the SDK's adapter reads it
        response = await adapter.process(request, bot)
        return response or web.Response(status=202)

    return messages


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        raise TokenRefused("no bearer token")
    return token


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _activity(raw: bytes) -> dict[str, Any] | None:
    """The activity, or None when it is not one the SDK can answer without a 500: JSON in
    UTF-8, an object with a type and a conversation a reply could be addressed to."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8 or JSON; nesting too deep
        return None
    if not isinstance(body, dict):
        return None
    conversation = body.get("conversation")
    if not (
        isinstance(body.get("type"), str)
        and isinstance(conversation, dict)
        and isinstance(conversation.get("id"), str)
    ):
        return None
    try:
        # Answering needs a conversation reference: an activity that cannot give one
        # would fail on the first reply (the SDK then answers 500/501).
        Activity.model_validate(body).get_conversation_reference()
    except (ValidationError, ValueError, TypeError, AttributeError):
        return None
    return body
