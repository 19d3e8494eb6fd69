"""With SLACK_APP_TOKEN set, `serve` also takes Slack traffic over Socket Mode."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.app import build_services, create_app
from handlers.config import Settings
from tests.conftest import demo_text
from tests.fakes import BOT_TOKEN, SIGNING_SECRET, FakeSlack, slash_body


async def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll the fake's recorded state, which another task fills in."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - the fake exposes state, not events
            await asyncio.sleep(0.02)


async def test_slash_command_over_socket_mode(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-1-test",
        slack_api_url=fake_slack.api_url,
    )
    services = build_services(settings)
    await services.catalog.import_catalog(demo_text())
    server = TestServer(create_app(settings, services), host="127.0.0.1")
    await server.start_server()  # the app connects to the fake's websocket on start-up
    try:
        await wait_for(lambda: fake_slack.socket is not None)
        assert "apps.connections.open" in fake_slack.methods()
        form = dict(
            urllib.parse.parse_qsl(
                slash_body("/product", "widget lite in oz"), keep_blank_values=True
            )
        )
        assert fake_slack.socket is not None
        await fake_slack.socket.send_json(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": form,
                "accepts_response_payload": True,
            }
        )
        await wait_for(lambda: any(a.get("envelope_id") == "env-1" for a in fake_slack.socket_acks))
        ack = next(a for a in fake_slack.socket_acks if a.get("envelope_id") == "env-1")
        assert ack["payload"]["text"] == (
            "Widget Lite: Not available in Australia — Not licensed. Ask U01PMALICE"
        )
        assert ack["payload"]["response_type"] == "ephemeral"
    finally:
        await server.close()
