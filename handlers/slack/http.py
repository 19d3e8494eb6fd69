"""The bolt AsyncApp, served on our own aiohttp route (POST /slack/events)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlsplit

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.interactions import Interactions
from handlers.config import Settings, SettingsError
from handlers.slack import listeners
from handlers.slack.render import Effects

if TYPE_CHECKING:
    from store.seen import SqlSeen

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000  # Slack payloads are small; anything larger is not from Slack


def create_slack_app(
    settings: Settings, *, interactions: Interactions, effects: Effects
) -> AsyncApp:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    if not secret or not token:  # the CLI refuses to start first; this guards other callers
        raise SettingsError(settings.problems() or ["SLACK_SIGNING_SECRET is not set."])
    app = AsyncApp(
        # No token on the app's client: bolt puts the bot's on each request's own client.
        client=AsyncWebClient(base_url=settings.slack_api_url),
        authorize=BotAuthorize(AsyncWebClient(token=token, base_url=settings.slack_api_url)),
        signing_secret=secret,
        # slack_route, the only way HTTP requests reach this app, checks each signature
        # (with this secret, on the same bytes) before anything else: 401 before the body
        # is even parsed, and before an event id is remembered; bolt checking it again would
        # only repeat that HMAC on every answer. Socket Mode requests carry no signature.
        request_verification_enabled=False,
        # Listeners are fast (the answer is the ack): don't pay bolt's 10 ms ack polling.
        process_before_response=True,
    )
    listeners.register(app, interactions, effects)
    return app


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
) -> web.RouteDef:
    # Slack's response_urls live on its hooks hosts; tests point SLACK_API_URL at a fake.
    allowed_hosts = {"hooks.slack.com", "hooks.slack-gov.com", urlsplit(api_url).hostname}

    async def handle(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY, actual_size=request.content_length
            )
        body = await request.text()
        # The signature first (401 for anything not from Slack), then the shape: bolt
        # raises on a `payload` that is not JSON, which must be a 400, not a 500.
        if not _signed(verifier, body, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        data = _parsed(body, request.content_type)  # parsed once for every check below
        if data is None:
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
        bolt_response = await app.async_dispatch(_bolt_request(request, body, data))
        return await to_aiohttp_response(bolt_response)

    verifier = SignatureVerifier(signing_secret)  # the app's only signature check
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
            return data if isinstance(data, dict) else None
        form = _form(body)
        if "payload" not in form:
            return form  # a slash command's fields
        payload = json.loads(form["payload"])
        return payload if _interaction_ok(payload) else None
    except ValueError:
        return None


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
    kind = p["type"]
    if kind == "block_actions":
        actions = p.get("actions")
        return (
            isinstance(actions, list)
            and bool(actions)
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
        )
    if kind in ("view_submission", "view_closed"):
        view = p.get("view")
        return isinstance(view, dict) and isinstance(view.get("callback_id", ""), str)
    if kind == "block_suggestion":
        return isinstance(p.get("action_id"), str)
    if kind in ("message_action", "shortcut"):
        return isinstance(p.get("callback_id"), str)
    return True


def _signed(verifier: SignatureVerifier, body: str, headers: Mapping[str, str]) -> bool:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp.isascii() or not timestamp.isdecimal() or not signature:
        return False  # slack_sdk would raise on a missing or non-numeric timestamp
    return verifier.is_valid(body, timestamp, signature)


def _response_url_allowed(data: dict[str, Any], hosts: set[str | None]) -> bool:
    """bolt's `respond` posts to the request's response_url: only to Slack's own hosts."""
    urls = [data.get("response_url")]
    urls += [u.get("response_url") for u in data.get("response_urls") or [] if isinstance(u, dict)]
    for url in urls:
        if url and (not isinstance(url, str) or urlsplit(url).hostname not in hosts):
            return False
    return True
