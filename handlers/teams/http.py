"""POST /api/messages: the Agents SDK CloudAdapter on our aiohttp app, with inbound auth."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import jwt
from aiohttp import web
from microsoft_agents.activity import Activity, InvokeResponse
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_decorator
from microsoft_agents.hosting.core import AgentAuthConfiguration, OutboundHostValidator
from microsoft_agents.hosting.core.authorization import AuthTypes
from pydantic import ValidationError

from handlers.config import Settings

if TYPE_CHECKING:
    from handlers.teams.bot import TeamsBot

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # Teams activities are small; the bot's own limit is 100 KB


def auth_configuration(settings: Settings) -> AgentAuthConfiguration:
    """With MICROSOFT_APP_ID: tokens required. Without: Bot Framework Emulator mode."""
    if not settings.microsoft_app_id:
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
    )


def host_validator(config: AgentAuthConfiguration) -> OutboundHostValidator:
    """Outbound calls only to Microsoft's Bot Framework hosts; in Emulator mode (no app id)
    replies may go to the activity's own serviceUrl, loopback included."""
    if config.ANONYMOUS_ALLOWED:
        return OutboundHostValidator(enabled=False)
    return OutboundHostValidator(
        enabled=True, include_default_microsoft_hosts=True, allow_private_network_addresses=False
    )


def create_adapter(config: AgentAuthConfiguration) -> CloudAdapter:
    manager = MsalConnectionManager({"SERVICE_CONNECTION": config})
    adapter = CloudAdapter(connection_manager=manager, host_validator=host_validator(config))

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
    adapter: CloudAdapter, bot: TeamsBot, config: AgentAuthConfiguration
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler for POST /api/messages (mounted by handlers.app, which builds the Teams
    parts on first use)."""

    # The SDK's decorator reads the configuration from the app ("agent_configuration", see
    # handlers.app); it answers 401 before the bot runs when a token is required and
    # missing or invalid.
    @jwt_authorization_decorator  # type: ignore[untyped-decorator]
    async def authorized(request: web.Request) -> web.Response:
        response = await adapter.process(request, bot)
        return response or web.Response(status=202)

    async def messages(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY, actual_size=request.content_length
            )
        if not await _well_formed(request):
            return web.json_response(
                {"error": "An activity needs a type and a conversation id."}, status=400
            )
        if config.ANONYMOUS_ALLOWED and not await _local_emulator(request):
            # Emulator mode has no authentication: only the machine itself may use it, and
            # only with replies to itself (no SSRF, no impersonation from the network).
            log.warning("emulator-mode activity refused", extra={"remote": request.remote or "?"})
            return web.json_response(
                {
                    "error": "Teams is not configured (MICROSOFT_APP_ID); only a local "
                    "Bot Framework Emulator may connect."
                },
                status=403,
            )
        if not config.ANONYMOUS_ALLOWED and not _plausible_token(request):
            # The SDK raises (a 500) on some malformed tokens; refuse them here with 401.
            return web.json_response(
                {"error": "Invalid token or authentication failed."}, status=401
            )
        answer: web.Response = await authorized(request)
        return answer

    return messages


def _plausible_token(request: web.Request) -> bool:
    """A bearer JWT whose header names its signing key; the SDK then verifies it fully."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        header = jwt.get_unverified_header(token.strip())
    except jwt.PyJWTError:
        return False
    return bool(header.get("kid")) and header.get("alg") == "RS256"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _local_emulator(request: web.Request) -> bool:
    """From this machine, and asking for replies to this machine."""
    if not _is_loopback(request.remote):
        return False
    try:
        body = await request.json()
    except ValueError:
        return True  # malformed: let the adapter answer 400
    service_url = body.get("serviceUrl") if isinstance(body, dict) else None
    return service_url is None or _is_loopback(urlsplit(str(service_url)).hostname)


async def _well_formed(request: web.Request) -> bool:
    """The SDK answers some malformed activities with a 500; these get a 400 first."""
    try:
        body = await request.json()
    except ValueError:
        return True  # not JSON: the adapter answers 400 itself
    if not isinstance(body, dict):
        return False
    conversation = body.get("conversation")
    try:
        # Answering needs a conversation reference: an activity that cannot give one
        # would fail on the first reply (the SDK then answers 500/501).
        Activity.model_validate(body).get_conversation_reference()
    except (ValidationError, ValueError, TypeError, AttributeError):
        return False
    return (
        isinstance(body.get("type"), str)
        and isinstance(conversation, dict)
        and isinstance(conversation.get("id"), str)
    )
