"""Property-based hostile input (hypothesis): generated slash commands, interaction payloads
and Teams activities never get a 5xx, and the service keeps answering correctly."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.app import build_services, create_app
from handlers.config import Settings
from handlers.slack.http import _form
from store import migrate
from tests.conftest import demo_text
from tests.fakes import BOT_TOKEN, SIGNING_SECRET, FakeSlack, sign

EXAMPLES = 150  # per property; README "Reliability" quotes these counts

Live = tuple[asyncio.AbstractEventLoop, str, aiohttp.ClientSession]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for every generated case (hypothesis drives a sync test)."""
    loop = asyncio.new_event_loop()
    db = Path(tmp_path_factory.mktemp("props")) / "p.db"
    fake = FakeSlack()

    async def start() -> tuple[TestServer, aiohttp.ClientSession]:
        await fake.start()
        cfg = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{db}",  # type: ignore[call-arg]
            slack_signing_secret=SIGNING_SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=fake.api_url,
            product_managers=frozenset({"U0PM1"}),
            teams_emulator=True,
        )
        services = build_services(cfg)
        await migrate.upgrade(services.engine)
        await services.catalog.import_catalog(demo_text())
        server = TestServer(create_app(cfg, services, worker=False), host="127.0.0.1")
        await server.start_server()
        return server, aiohttp.ClientSession()

    server, http = loop.run_until_complete(start())
    yield loop, str(server.make_url("")).rstrip("/"), http

    async def stop() -> None:
        await http.close()
        await server.close()
        await fake.close()

    loop.run_until_complete(stop())
    loop.close()


def send(
    live: Live, path: str, body: str, content_type: str, signed: bool = True
) -> tuple[int, str]:
    loop, base, http = live

    async def go() -> tuple[int, str]:
        headers = {"Content-Type": content_type, **(sign(body) if signed else {})}
        async with http.post(
            base + path, data=body.encode("utf-8", "surrogatepass"), headers=headers
        ) as r:
            return r.status, await r.text()

    return loop.run_until_complete(go())


def still_answers(live: Live) -> None:
    body = urllib.parse.urlencode(
        {"command": "/product", "user_id": "U1", "text": "widget pro in oz"}
    )
    status, text = send(live, "/slack/events", body, "application/x-www-form-urlencoded")
    assert status == 200 and json.loads(text)["text"] == "Widget Pro: Available in Australia"


PROPS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=600)


@PROPS
@given(
    command=st.sampled_from(["/product", "/feedback", "/briefing", "/coverage", "/nope"]),
    words=text,
    user=st.text(min_size=0, max_size=20),
)
def test_slash_commands(live: Live, command: str, words: str, user: str) -> None:
    body = urllib.parse.urlencode(
        {
            "command": command,
            "text": words,
            "user_id": user,
            "trigger_id": "1.2.3",
            "channel_id": "C1",
        }
    )
    status, reply = send(live, "/slack/events", body, "application/x-www-form-urlencoded")
    assert status < 500, reply
    assert "Traceback" not in reply


interaction = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "block_actions",
                "view_submission",
                "block_suggestion",
                "message_action",
                "shortcut",
                "view_closed",
                "nonsense",
            ]
        )
    },
    optional={
        "user": st.fixed_dictionaries({"id": st.text(max_size=12)}) | json_values,
        "actions": st.lists(
            st.fixed_dictionaries(
                {
                    "action_id": st.sampled_from(
                        [
                            "product.share",
                            "product.verify",
                            "product.edit",
                            "triage.now",
                            "triage.merge",
                            "briefing.menu",
                            "feedback.compete",
                            "x",
                        ]
                    )
                },
                optional={"value": st.text(max_size=30) | json_values},
            ),
            max_size=2,
        ),
        "view": json_values,
        "callback_id": st.sampled_from(["feedback.from_message", "x"]),
        "action_id": st.sampled_from(["search.product", "search.products", "x"]),
        "value": st.text(max_size=50),
        "trigger_id": st.text(max_size=10),
    },
)


@PROPS
@given(payload=interaction)
def test_interaction_payloads(live: Live, payload: dict[str, Any]) -> None:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    status, reply = send(live, "/slack/events", body, "application/x-www-form-urlencoded")
    assert status < 500, (payload, reply)


activity = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["message", "invoke", "conversationUpdate", "event", "x"]),
        "conversation": st.fixed_dictionaries(
            {"id": st.text(min_size=1, max_size=20)},
            optional={"conversationType": st.sampled_from(["personal", "channel", "x"])},
        ),
    },
    optional={
        "id": st.text(max_size=10),
        "text": text,
        "name": st.sampled_from(["adaptiveCard/action", "application/search", "x"]),
        "value": json_values,
        "from": st.fixed_dictionaries(
            {"id": st.text(max_size=10)}, optional={"aadObjectId": st.text(max_size=36)}
        ),
        "channelId": st.sampled_from(["msteams", "emulator"]),
    },
)


@PROPS
@given(body=activity)
def test_teams_activities(live: Live, body: dict[str, Any]) -> None:
    _loop, _base, _http = live
    # Emulator mode: replies to a closed loopback port (nothing listens there).
    body = {**body, "serviceUrl": "http://127.0.0.1:9/"}
    status, reply = send(live, "/api/messages", json.dumps(body), "application/json", signed=False)
    assert status < 500, (body, reply)


def test_and_afterwards_it_still_answers(live: Live) -> None:
    still_answers(live)


@settings(max_examples=500, deadline=None)
@given(
    body=st.text(alphabet="ab=&%+2F0Ez é;", max_size=40)
    | st.dictionaries(st.text(max_size=8), st.text(max_size=12)).map(urllib.parse.urlencode)
)
def test_form_bodies_are_read_as_parse_qsl_reads_them(body: str) -> None:
    assert _form(body) == dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
