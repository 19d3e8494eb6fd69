"""A real server on loopback with the demo catalog, and a fake Slack Web API beside it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.app import Services, build_services, create_app
from handlers.config import Settings
from tests import validators
from tests.conftest import demo_text
from tests.fakes import BOT_TOKEN, SIGNING_SECRET, FakeSlack, payload_body, sign, slash_body

TRIAGE = "C0TRIAGE"
PMS = ("U0PM1", "U0PM2")


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


@dataclass
class Answer:
    status: int
    body: str

    @property
    def json(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


@dataclass
class SlackDriver:
    """Sends requests the way Slack does: form-encoded, signed with the signing secret."""

    base: str
    http: aiohttp.ClientSession
    fake: FakeSlack
    services: Services

    async def post(self, body: str, headers: dict[str, str] | None = None) -> Answer:
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        hdrs.update(sign(body) if headers is None else headers)
        async with self.http.post(self.base + "/slack/events", data=body, headers=hdrs) as r:
            answer = Answer(r.status, await r.text())
        validators.slack_ack(body, hdrs["Content-Type"], answer.status, answer.body)
        # What a press does after its ack (answering through response_url, opening a form)
        # is done by the time Slack would show it: wait for it, as a person would.
        await self.services.background.idle()
        return answer

    async def post_json(self, payload: dict[str, Any]) -> Answer:
        """An Events API delivery (JSON body, signed like everything else)."""
        body = json.dumps(payload)
        headers = {"Content-Type": "application/json", **sign(body)}
        async with self.http.post(self.base + "/slack/events", data=body, headers=headers) as r:
            answer = Answer(r.status, await r.text())
        validators.slack_ack(body, headers["Content-Type"], answer.status, answer.body)
        await self.services.background.idle()
        return answer

    async def command(
        self,
        text: str,
        *,
        command: str = "/product",
        user: str = "U0SALES1",
        channel: str = "C0SALES",
    ) -> Answer:
        url = self.fake.response_url()
        return await self.post(
            slash_body(command, text, user=user, response_url=url, channel=channel)
        )

    async def interaction(self, payload: dict[str, Any]) -> Answer:
        base = {
            "user": {"id": "U0SALES1", "username": "sam", "team_id": "T0TEAM"},
            "team": {"id": "T0TEAM", "domain": "acme"},
            "api_app_id": "A0APP",
            "token": "legacy",
        }
        return await self.post(payload_body({**base, **payload}))

    async def action(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0SALES1",
        container: dict[str, Any] | None = None,
    ) -> Answer:
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "sam", "team_id": "T0TEAM"},
            "team": {"id": "T0TEAM", "domain": "acme"},
            "api_app_id": "A0APP",
            "token": "legacy",
            "container": container or {"type": "message", "is_ephemeral": True},
            "trigger_id": "123.456.abc",
            "channel": {"id": "C0SALES", "name": "sales"},
            "response_url": self.fake.response_url(),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b1",
                    "value": value,
                    "action_ts": "1700000000.000100",
                }
            ],
        }
        return await self.post(payload_body(payload))


@contextlib.asynccontextmanager
async def slack_server(
    db_url: str, fake_slack: FakeSlack, *, worker: bool = True, **overrides: Any
) -> AsyncIterator[SlackDriver]:
    """The real server with the demo catalog, talking to `fake_slack`; `overrides` are
    Settings fields (channels, managers…). worker=False: tests drive the outbox."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        **{
            "database_url": db_url,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_bot_token": BOT_TOKEN,
            "slack_api_url": fake_slack.api_url,
            "triage_channel": TRIAGE,
            "product_managers": frozenset(PMS),
            **overrides,
        },
    )
    services = build_services(settings)
    await services.catalog.import_catalog(demo_text())
    server = TestServer(create_app(settings, services, worker=worker), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield SlackDriver(str(server.make_url("")).rstrip("/"), http, fake_slack, services)
    finally:
        await server.close()


@pytest.fixture
async def slack(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(db_url, fake_slack) as driver:
        yield driver
