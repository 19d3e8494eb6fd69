"""The bolt AsyncApp, served on our own aiohttp route (POST /slack/events)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot import install, workspace
from bot.interactions import Interactions
from bot.settings import SettingsService
from handlers.bodies import capped
from handlers.config import Settings, SettingsError
from handlers.slack import inbound, listeners
from handlers.slack.render import Effects

if TYPE_CHECKING:
    from handlers.slack.oauth import SlackOAuth
    from store.seen import SqlSeen

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000  # Slack payloads are small; anything larger is not from Slack
# Sent when a workspace removes the app or its tokens: with OAuth its installation is
# deleted; with one SLACK_BOT_TOKEN there is only the log to tell.
UNINSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")


def create_slack_app(
    settings: Settings,
    *,
    interactions: Interactions,
    effects: Effects,
    oauth: SlackOAuth | None = None,
) -> AsyncApp:
    """One workspace with SLACK_BOT_TOKEN; with `oauth` (SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET) every workspace and Grid org that installed the app, each request
    answered with the installation of the workspace it comes from."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    if not secret or not (token or oauth):  # the CLI refuses to start first; this guards others
        raise SettingsError(settings.problems() or ["SLACK_SIGNING_SECRET is not set."])
    if oauth is not None:
        auth: dict[str, Any] = {
            "oauth_settings": oauth.settings,
            "authorize": oauth.authorize,
            "user_facing_authorize_error_message": install.NOT_INSTALLED_HERE,
        }
    else:
        auth = {
            "authorize": BotAuthorize(AsyncWebClient(token=token, base_url=settings.slack_api_url))
        }
    app = AsyncApp(
        # No token on the app's client: bolt puts the bot's on each request's own client.
        client=AsyncWebClient(base_url=settings.slack_api_url),
        signing_secret=secret,
        # slack_route, the only way HTTP requests reach this app, checks each signature
        # (with this secret, on the same bytes) before anything else: 401 before the body
        # is even parsed, and before an event id is remembered; bolt checking it again would
        # only repeat that HMAC on every answer. Socket Mode requests carry no signature.
        request_verification_enabled=False,
        # Listeners are fast (the answer is the ack): don't pay bolt's 10 ms ack polling.
        process_before_response=True,
        **auth,
    )
    isolated = settings.isolates_workspaces
    if settings.slack_app_token:

        async def socket_mode_workspace(
            body: dict[str, Any], next: Callable[[], Awaitable[Any]]
        ) -> Any:
            # A Socket Mode request's workspace (slack_route names an HTTP request's). bolt
            # runs listeners after its middleware returns, not inside next(), so it is
            # entered for the rest of the task: Socket Mode handles each request in a task
            # of its own.
            workspace.enter(inbound.workspace_of(body, isolated=isolated))
            return await next()

        app.middleware(socket_mode_workspace)
    settings_service = interactions.settings
    if settings_service is not None and settings.slack_app_token:

        async def workspace_settings(
            body: dict[str, Any], next: Callable[[], Awaitable[Any]]
        ) -> Any:
            # A Socket Mode request's workspace settings (slack_route enters an HTTP
            # request's, without the cost of a bolt middleware on every answer): in effect
            # for the listener and the work it spawns, which copies this context. bolt runs
            # the listener after the middleware has returned, so this sets them for the rest
            # of the request's task rather than for a block.
            await settings_service.enter(inbound.workspace_of(body, isolated=isolated))
            return await next()

        app.middleware(workspace_settings)

    listeners.register(app, interactions, effects)
    # After the commands: bolt tries listeners in order, and each it tries builds every
    # argument a listener might take, so those that come first are the ones answered most.
    if oauth is not None:
        # app_uninstalled and tokens_revoked: what was kept for that workspace is deleted.
        app.enable_token_revocation_listeners()
    else:
        for event in UNINSTALL_EVENTS:
            app.event(event)(_token_gone)
    return app


async def _token_gone(event: dict[str, Any]) -> None:
    log.warning(
        "Slack revoked the bot token (SLACK_BOT_TOKEN no longer works): reinstall the app "
        "and set the new token",
        extra={"event": str(event.get("type"))[:40]},
    )


class BotAuthorize(AsyncAuthorize):
    """The one workspace this app serves, as bolt's single-team mode knows it (auth.test,
    once), without remaking the same result from that response on every request."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._result: AuthorizeResult | None = None

    async def __call__(self, **_request: Any) -> AuthorizeResult:
        if self._result is None:  # a failed auth.test is tried again on the next request
            self._result = AuthorizeResult.from_auth_test_response(
                auth_test_response=await self._client.auth_test(), bot_token=self._client.token
            )
        return self._result


def slack_route(
    app: AsyncApp,
    signing_secret: str,
    *,
    api_url: str = "https://slack.com/api/",
    seen: SqlSeen | None = None,
    isolated: bool = False,  # Settings.isolates_workspaces
    settings: SettingsService | None = None,  # the app's Interactions.settings
) -> web.RouteDef:
    # Slack's response_urls live on its hooks hosts; tests point SLACK_API_URL at a fake.
    allowed_hosts = {"hooks.slack.com", "hooks.slack-gov.com", urlsplit(api_url).hostname}

    async def handle(request: web.Request) -> web.Response:
        request, raw = await capped(request, MAX_BODY)
        # The signature first, over the bytes as they came (401 for anything not from
        # Slack, before any decoding: an unknown charset or bytes that are not UTF-8 are
        # never a 500), then the shape: bolt raises on a `payload` that is not JSON.
        if not _signed(secret, raw, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = raw.decode("utf-8")  # Slack sends UTF-8, whatever a header may claim
        except UnicodeDecodeError:
            body = None
        data = None if body is None else _parsed(body, request.content_type)
        if body is None or data is None:
            log.warning("malformed Slack request refused", extra={"size": len(raw)})
            return web.json_response({"error": "malformed request"}, status=400)
        if not _response_url_allowed(data, allowed_hosts):
            log.warning("response_url to an unexpected host refused")
            return web.json_response({"error": "unexpected response_url"}, status=400)
        event_id = data.get("event_id") if request.content_type == "application/json" else None
        if (
            isinstance(event_id, str)
            and event_id
            and seen is not None
            and not await seen.first_time(f"slack:{event_id}")
        ):
            # Slack retries an event it thinks we missed (X-Slack-Retry-Num): once is enough.
            return web.Response(status=200, headers={"X-Slack-No-Retry": "1"})
        # The request's workspace is current while its listeners run (bot.workspace): what
        # they write to the outbox is sent with that workspace's installation.
        named = inbound.workspace_of(data, isolated=isolated)
        with workspace.using(named):
            if settings is None:
                bolt_response = await app.async_dispatch(_bolt_request(request, body, data))
            else:
                # Its settings are in effect for its listeners and the work they spawn.
                async with settings.entered(named):
                    bolt_response = await app.async_dispatch(_bolt_request(request, body, data))
        return await to_aiohttp_response(bolt_response)

    secret = signing_secret.encode()  # the app's only signature check
    return web.post("/slack/events", handle)


def _bolt_request(request: web.Request, body: str, data: dict[str, Any]) -> AsyncBoltRequest:
    """bolt's request, carrying the body as we parsed it. bolt would parse it again, and its
    parser takes any form that merely contains the letters "payload" for an interaction and
    yields an empty body: `/product payload manager uk` would reach no listener."""
    req = AsyncBoltRequest(
        # Only in socket mode does bolt take the body as data (so it builds the context from
        # it once, parsing nothing); the request is then marked as the HTTP one it is.
        body=data,
        mode="socket_mode",
        query=request.query_string or None,  # Slack sends none: skip parsing ""
        headers=request.headers,  # type: ignore[arg-type]
    )
    req.raw_body = body  # the request as it came (bolt copies HTTP requests from it)
    req.mode = "http"
    return req


def _parsed(body: str, content_type: str) -> dict[str, Any] | None:
    """The request as data (an event, an interaction payload, or a slash command's form), or
    None when it is not in a shape bolt and our listeners rely on: a 400, not a 500."""
    try:
        if content_type == "application/json":
            data = json.loads(body)
            return data if _event_ok(data) else None
        form = _form(body)
        if "payload" not in form:  # a slash command's fields: all text, none bolt reads as more
            return form if _context_ok(form) else None
        payload = json.loads(form["payload"])
        return payload if _interaction_ok(payload) else None
    except (ValueError, RecursionError):  # not JSON, or nested beyond reason
        return None


def _event_ok(data: object) -> bool:
    """An Events API envelope (or url_verification): an object, its event an object too."""
    if not isinstance(data, dict) or not isinstance(data.get("type", ""), str):
        return False
    event = data.get("event")
    if "event" in data and not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        return False
    ids_ok = all(
        isinstance(data.get(key), str)
        for key in ("event_id", "challenge", "team_id")
        if key in data
    )
    return ids_ok and _context_ok(data)


_ID_FIELDS = ("enterprise", "team", "user", "channel")  # an id, or an object with one
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


def _context_ok(d: dict[str, Any], depth: int = 0) -> bool:
    """What bolt reads to build each request's context (team, enterprise, user, channel,
    from the body, its authorizations and nested event or message) has the types it assumes:
    bolt indexes and calls .get() on them without checking."""
    auths = d.get("authorizations")
    if auths is not None and not (
        isinstance(auths, list) and all(isinstance(a, dict) and _context_ok(a, 9) for a in auths)
    ):
        return False
    for key in _ID_FIELDS:
        if d.get(key) is not None and not isinstance(d[key], str | dict):
            return False
    for key in _NESTED:
        value = d.get(key)
        if value is not None and not (
            isinstance(value, dict) and depth < 3 and _context_ok(value, depth + 1)
        ):
            return False
    if depth == 0:
        # bolt's log line for a request no listener takes reads `view` and the first of
        # `actions` with .get() (slack_bolt.logger.messages._build_filtered_body).
        actions = d.get("actions", [])
        if ("view" in d and not isinstance(d["view"], dict)) or not (
            isinstance(actions, list) and all(isinstance(a, dict) for a in actions[:1])
        ):
            return False
    return True


def _form(body: str) -> dict[str, str]:
    """dict(parse_qsl(body, keep_blank_values=True)), a third faster: most of Slack's
    fields need no unquoting, and this runs for every slash command and interaction."""
    form = {}
    for field in body.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        form[name] = value
    return form


def _interaction_ok(p: object) -> bool:
    if not isinstance(p, dict) or not isinstance(p.get("type"), str):
        return False
    for key in ("user", "team", "channel", "container", "message"):
        if p.get(key) is not None and not isinstance(p.get(key), dict):
            return False
    if isinstance(p.get("user"), dict) and not isinstance(p["user"].get("id", ""), str):
        return False
    if "view" in p and not isinstance(p["view"], dict):  # bolt reads view.get(...) on any kind
        return False
    if not _context_ok(p):
        return False
    kind = p["type"]
    if kind == "block_actions":
        actions = p.get("actions")
        return (
            isinstance(actions, list)
            and bool(actions)
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    if kind == "interactive_message":  # legacy attachments: bolt reads actions[0]
        actions = p.get("actions")
        return (
            isinstance(actions, list)
            and bool(actions)
            and isinstance(actions[0], dict)
            and isinstance(p.get("callback_id"), str)
        )
    if kind in ("view_submission", "view_closed"):
        view = p.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id", ""), str):
            return False
        if not isinstance(view.get("type"), str):  # bolt reads view["type"] ("modal")
            return False
        state = view.get("state", {})
        return (
            isinstance(state, dict)
            and isinstance(state.get("values", {}), dict)
            and all(isinstance(view.get(k, ""), str) for k in ("id", "hash", "private_metadata"))
        )
    if kind == "block_suggestion":
        return isinstance(p.get("action_id"), str)
    if kind in ("message_action", "shortcut"):
        return isinstance(p.get("callback_id"), str)
    return True


def _signed(
    secret: bytes, raw: bytes, headers: Mapping[str, str], now: float | None = None
) -> bool:
    """Slack's v0 signature (HMAC-SHA256 of "v0:{timestamp}:{body}") over the raw bytes, with
    its 5-minute window. slack_sdk's verifier decodes the body as UTF-8 first and parses any
    timestamp however long (a 5,000-digit one raises): both would be 500s here."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdecimal() and len(timestamp) <= 12):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > 5 * 60:
        return False
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
    expected = b"v0=" + digest.hexdigest().encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def _response_url_allowed(data: dict[str, Any], hosts: set[str | None]) -> bool:
    """bolt's `respond` posts to the request's response_url: only to Slack's own hosts."""
    urls = [data.get("response_url")]
    urls += [u.get("response_url") for u in data.get("response_urls") or [] if isinstance(u, dict)]
    for url in urls:
        if url and (not isinstance(url, str) or urlsplit(url).hostname not in hosts):
            return False
    return True
