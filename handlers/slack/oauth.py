"""Slack installation through OAuth (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): bolt's own
flow on GET /slack/install and /slack/oauth_redirect, installations kept in our database,
tokens rotated when Slack issues expiring ones, and each workspace's bot token for the
outbox worker."""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth import OAuthStateUtils
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import install
from handlers.config import Settings
from store.slack_installs import STATE_SECONDS, SlackInstallations, SlackStates

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Refresh an expiring token this long before it expires (Slack's last 12 hours; bolt's default).
ROTATE_BEFORE_MINUTES = 120
# A token this close to its expiry is not used when its refresh failed: it could expire
# between being handed out and Slack reading the request.
EXPIRY_MARGIN_SECONDS = 60
# Said at start-up and on each installation while workspaces are installed apart (see
# README, "Many workspaces"): what is not done per workspace yet.
APART = (
    "slack: installed in workspaces apart; rows kept from before OAuth stay the shared"
    " pool's, which no workspace sees, until `salesbridge db adopt` moves them"
)


@dataclass
class SlackOAuth:
    """The installation store, the state store and the OAuth settings, built once."""

    installations: SlackInstallations
    states: SlackStates
    settings: AsyncOAuthSettings
    authorize: AsyncInstallationStoreAuthorize
    rotator: AsyncTokenRotator


def slack_oauth(settings: Settings, engine: AsyncEngine, scopes: frozenset[str]) -> SlackOAuth:
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    client_id = settings.slack_client_id
    secret = settings.slack_client_secret.get_secret_value()
    installations = SlackInstallations(client_id, engine)
    states = SlackStates(engine, STATE_SECONDS)
    # Token rotation and auth.test go to SLACK_API_URL like every other Web API call.
    api = AsyncWebClient(base_url=settings.slack_api_url)
    authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        installation_store=installations,
        client_id=client_id,
        client_secret=secret,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        bot_only=True,  # the app asks for no user scopes: the bot's token is all there is
        cache_enabled=True,  # auth.test once per token, not on every request
        client=api,
    )
    oauth_settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=secret,
        scopes=sorted(scopes),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # /slack/install goes straight to Slack
        installation_store=installations,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_installed, failure=_refused),
        logger=log,
    )
    oauth_settings.authorize = authorize
    rotator = AsyncTokenRotator(client_id=client_id, client_secret=secret, client=api)
    return SlackOAuth(installations, states, oauth_settings, authorize, rotator)


def oauth_routes(app: AsyncApp) -> list[web.RouteDef]:
    """GET /slack/install (a fresh state, then Slack's consent page) and the redirect Slack
    sends the installer back to."""
    flow = app.oauth_flow
    assert flow is not None

    async def start(request: web.Request) -> web.Response:
        # No query is passed on: bolt would copy a `team` parameter into Slack's URL unescaped.
        bolt = AsyncBoltRequest(body="", query=None, headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await flow.handle_installation(bolt))

    async def back(request: web.Request) -> web.Response:
        query = request.query_string if len(request.query_string) <= 4096 else ""
        bolt = AsyncBoltRequest(body="", query=query, headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await flow.handle_callback(bolt))

    return [web.get(INSTALL_PATH, start), web.get(REDIRECT_PATH, back)]


async def warn_if_apart(installations: SlackInstallations) -> None:
    """Warns when the installations have no one token that reaches every workspace."""
    try:
        count = await installations.count()
        apart = count >= 2 and await installations.sole() is None
    except SQLAlchemyError as exc:  # not migrated yet: /healthz says so
        log.warning("slack installations unreadable", extra={"error": type(exc).__name__})
        return
    if apart:
        log.warning(APART, extra={"installations": count})


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    found = args.installation
    where = (
        found.enterprise_name or found.enterprise_id
        if found.is_enterprise_install
        else found.team_name or found.team_id
    )
    log.info(
        "slack installation saved",
        extra={
            "enterprise_id": found.enterprise_id,
            "team_id": found.team_id,
            "org_wide": bool(found.is_enterprise_install),
        },
    )
    if isinstance(args.settings.installation_store, SlackInstallations):
        await warn_if_apart(args.settings.installation_store)
    body = _page(
        install.INSTALLED_TITLE,
        install.INSTALLED.format(where=where or "your workspace"),
        install.INSTALLED_NEXT,
    )
    return _html(200, body)


async def _refused(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("slack installation refused", extra={"reason": args.reason[:64]})
    status = args.suggested_status_code
    body = _page(
        install.REFUSED_TITLE,
        install.refusal(args.reason),
        install.NOTHING_INSTALLED,
        install.START_AGAIN.format(url=args.settings.install_path),
    )
    return _html(200 if status < 400 else status, body)


def _html(status: int, body: str) -> BoltResponse:
    # The state cookie has done its work, whatever the outcome.
    forget = OAuthStateUtils().build_set_cookie_for_deletion()
    return BoltResponse(
        status=status,
        body=body,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": [forget],
            "Cache-Control": "no-store",
        },
    )


def _page(title: str, *lines: str) -> str:
    paras = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{paras}</body></html>"
    )


class RefreshFailed(Exception):
    """An installation's token has expired and Slack did not refresh it: the Web API's
    answer (or the network's error) to oauth.v2.access. Nothing was sent."""

    def __init__(self, error: SlackApiError | aiohttp.ClientError | TimeoutError) -> None:
        super().__init__(str(error)[:300])
        self.error = error


class WorkspaceTokens:
    """The bot token of the installation a message belongs to: the workspace's own, else its
    Grid org's org-wide one; rotated first when it expires soon (and the new one saved)."""

    def __init__(self, oauth: SlackOAuth) -> None:
        self._installations = oauth.installations
        self._rotator = oauth.rotator

    async def sole(self) -> tuple[str | None, str | None] | None:
        return await self._installations.sole()

    async def bot_token(self, enterprise_id: str | None, team_id: str | None) -> str | None:
        """None only when nothing is installed for the workspace. When the refresh of an
        expiring token fails, the token is used while it is still good; once it has expired,
        RefreshFailed says why (the outbox retries a transient failure later)."""
        bot = await self._installations.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=False
        )
        if bot is None or not bot.bot_token:
            return None
        if not bot.bot_refresh_token:
            return str(bot.bot_token)
        try:
            fresh = await self._rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=ROTATE_BEFORE_MINUTES
            )
        except SlackTokenRotationError as exc:
            return await self._unrefreshed(bot, enterprise_id, team_id, exc.api_error)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            return await self._unrefreshed(bot, enterprise_id, team_id, exc)
        if fresh is None:
            return str(bot.bot_token)
        await self._installations.async_save_bot(fresh)
        return str(fresh.bot_token)

    async def _unrefreshed(
        self,
        bot: Bot,
        enterprise_id: str | None,
        team_id: str | None,
        error: SlackApiError | aiohttp.ClientError | TimeoutError,
    ) -> str:
        log.warning("slack token rotation failed", extra={"error": str(error)[:200]})
        # Another worker may have refreshed it meanwhile (Slack then refuses our refresh
        # token): its saved token is as good as ours would have been.
        again = await self._installations.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=False
        )
        for candidate in (again, bot):
            if candidate is not None and candidate.bot_token and _still_good(candidate):
                return str(candidate.bot_token)
        raise RefreshFailed(error)


def _still_good(bot: Bot) -> bool:
    expires = bot.bot_token_expires_at
    return expires is None or expires > time.time() + EXPIRY_MARGIN_SECONDS
