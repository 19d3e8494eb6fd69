"""A real server with Teams' /api/messages, the demo catalog, and a fake Bot Connector."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.app import Services, build_services, create_app
from handlers.config import Settings
from tests import validators
from tests.conftest import demo_text
from tests.fakes import FakeConnector

PM_AAD = "00000000-0000-0000-0000-0000000000a1"
SALES_AAD = "00000000-0000-0000-0000-0000000000b1"
CHANNEL = "19:triage@thread.tacv2"
_ids = itertools.count(1)


@dataclass
class TeamsDriver:
    """Posts activities the way Teams (or the Emulator) does."""

    base: str
    http: aiohttp.ClientSession
    connector: FakeConnector
    services: Services
    headers: dict[str, str] = field(default_factory=dict)

    def activity(
        self,
        *,
        type: str = "message",
        text: str | None = None,
        user: str = SALES_AAD,
        conversation: str | None = None,
        conversation_type: str = "personal",
        name: str | None = None,
        value: Any = None,
    ) -> dict[str, Any]:
        conv = conversation or (CHANNEL if conversation_type == "channel" else f"a:dm-{user}")
        out: dict[str, Any] = {
            "type": type,
            "id": f"act-in-{next(_ids)}",
            "channelId": "msteams",
            "serviceUrl": self.connector.url,
            "timestamp": "2026-11-27T10:00:00Z",
            "from": {"id": f"29:{user}", "aadObjectId": user, "name": "Someone"},
            "recipient": {"id": "28:bot", "name": "Salesbridge"},
            "conversation": {
                "id": conv,
                "conversationType": conversation_type,
                "tenantId": "tenant-1",
            },
            "channelData": {"tenant": {"id": "tenant-1"}},
        }
        if text is not None:
            out["text"] = text
        if name is not None:
            out["name"] = name
        if value is not None:
            out["value"] = value
        return out

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        hdrs = {"Content-Type": "application/json", **self.headers, **(headers or {})}
        async with self.http.post(
            self.base + "/api/messages", data=json.dumps(activity), headers=hdrs
        ) as r:
            text = await r.text()
            answer = json.loads(text) if text else None
        validators.teams_invoke(activity, answer)
        return r.status, answer

    async def say(self, text: str, **kw: Any) -> tuple[int, Any]:
        return await self.post(self.activity(text=text, **kw))

    async def execute(self, verb: str, data: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        value = {
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        }
        return await self.post(
            self.activity(type="invoke", name="adaptiveCard/action", value=value, **kw)
        )


async def start(
    db_url: str, *, worker: bool = True, **overrides: Any
) -> tuple[TestServer, Services, FakeConnector]:
    """worker=False: no outbox worker in the server (the test delivers, in its own order)."""
    connector = FakeConnector()
    await connector.start()
    if not overrides.get("microsoft_app_id"):
        overrides.setdefault("teams_emulator", True)  # the Emulator's way, on loopback
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        product_managers=frozenset({PM_AAD}),
        **overrides,
    )
    services = build_services(settings)
    await services.catalog.import_catalog(demo_text())
    server = TestServer(create_app(settings, services, worker=worker), host="127.0.0.1")
    await server.start_server()
    return server, services, connector


@pytest.fixture
async def teams(db_url: str, engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start(db_url)
    async with aiohttp.ClientSession() as http:
        yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    await server.close()
    await connector.close()
