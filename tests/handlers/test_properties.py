"""Property-based hostile input (hypothesis): over 10,000 generated requests to every route —
signed slash commands, interaction payloads and Events API envelopes, raw bytes with any
headers, Teams activities — never get a 5xx, never make the service log an ERROR or a
traceback, and the service keeps answering correctly. Deterministic (derandomized) and
batched (each example is a burst of requests sent together) so it stays well inside a
minute of `make test`."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.app import Services, build_services, create_app
from handlers.config import Settings
from handlers.slack.http import _form
from store import migrate
from tests.conftest import demo_text
from tests.fakes import BOT_TOKEN, SIGNING_SECRET, FakeConnector, FakeSlack, sign

BATCH = 40  # requests per generated example, sent concurrently
# Examples per property; BATCH times their sum is the number of requests (README, SECURITY).
EXAMPLES = {"slash": 60, "interaction": 70, "event": 35, "raw": 30, "signed": 30, "teams": 35}
TOTAL = BATCH * sum(EXAMPLES.values())
# One server takes every property's requests, and the last test asks it after all of them:
# the module's tests must run on one pytest-xdist worker, in order (`make test` distributes
# the suite by file), or that test finds a server nobody sent anything to.


class Errors(logging.Handler):
    """Every record at ERROR or above, and every record carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@dataclass
class Live:
    loop: asyncio.AbstractEventLoop
    base: str
    http: aiohttp.ClientSession
    services: Services
    fake: FakeSlack
    connector: FakeConnector
    errors: Errors
    sent: dict[str, int] = field(default_factory=dict)

    def burst(self, kind: str, requests: list[tuple[str, str, bytes, dict[str, str]]]) -> None:
        """Send the requests together; every answer must be below 500, and nothing may be
        logged at ERROR (or with a traceback) meanwhile, background work included."""

        async def one(method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
            async with self.http.request(method, self.base + path, data=body, headers=headers) as r:
                text = await r.text()
                assert r.status < 500, (path, body[:300], text[:300])
                assert "Traceback" not in text

        async def go() -> None:
            await asyncio.gather(*(one(*r) for r in requests))
            await self.services.background.idle()

        self.loop.run_until_complete(go())
        self.sent[kind] = self.sent.get(kind, 0) + len(requests)
        if self.errors.records:
            first = self.errors.records[0]
            trace = "".join(traceback.format_exception(*first.exc_info)) if first.exc_info else ""
            self.errors.records.clear()
            raise AssertionError(f"{first.name}: {first.getMessage()}\n{trace[-1500:]}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server (Slack and Teams' Emulator mode) for every generated request."""
    loop = asyncio.new_event_loop()
    db = Path(tmp_path_factory.mktemp("props")) / "p.db"
    fake, connector = FakeSlack(), FakeConnector()

    async def start() -> tuple[TestServer, aiohttp.ClientSession, Services]:
        await fake.start()
        await connector.start()
        cfg = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{db}",  # type: ignore[call-arg]
            slack_signing_secret=SIGNING_SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=fake.api_url,
            product_managers=frozenset({"U0PM1"}),
            triage_channel="C0TRIAGE",
            teams_emulator=True,
        )
        services = build_services(cfg)
        await migrate.upgrade(services.engine)
        await services.catalog.import_catalog(demo_text())
        server = TestServer(create_app(cfg, services, worker=False), host="127.0.0.1")
        await server.start_server()
        connections = aiohttp.TCPConnector(limit=BATCH)
        return server, aiohttp.ClientSession(connector=connections), services

    server, http, services = loop.run_until_complete(start())
    RESPOND[0] = fake.response_url()
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        yield Live(
            loop, str(server.make_url("")).rstrip("/"), http, services, fake, connector, errors
        )
    finally:
        logging.getLogger().removeHandler(errors)

        async def stop() -> None:
            await http.close()
            await server.close()
            await fake.close()
            await connector.close()

        loop.run_until_complete(stop())
        loop.close()


def props(kind: str) -> settings:
    return settings(PROPS, max_examples=EXAMPLES[kind])


PROPS = settings(
    deadline=None,
    derandomize=True,  # the same requests on every run
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
ids = st.text(alphabet="UCWTV0123456789ABCDEFXYZ", max_size=12)
FORM = "application/x-www-form-urlencoded"
HOOK = "https://hooks.slack.com/x"  # replaced by the fake Slack's own response_url when sent
RESPOND = [HOOK]  # the fake's response_url, once it runs


def signed(body: str, content_type: str = FORM) -> tuple[str, str, bytes, dict[str, str]]:
    body = body.replace(urllib.parse.quote_plus(HOOK), urllib.parse.quote_plus(RESPOND[0]))
    return "POST", "/slack/events", body.encode(), {"Content-Type": content_type, **sign(body)}


def batch(item: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(item, min_size=BATCH, max_size=BATCH)


slash = st.fixed_dictionaries(
    {
        "command": st.sampled_from(["/product", "/feedback", "/briefing", "/coverage", "/nope"]),
        "text": text,
        "user_id": ids,
    },
    optional={
        "trigger_id": st.text(max_size=12),
        "channel_id": ids,
        "team_id": ids,
        "response_url": st.sampled_from(["", HOOK]),
        "payloads": st.text(max_size=10),  # "payload" in a field name is not an interaction
    },
)


@props("slash")
@given(forms=batch(slash))
def test_slash_commands(live: Live, forms: list[dict[str, str]]) -> None:
    live.burst("slash", [signed(urllib.parse.urlencode(f)) for f in forms])


ACTIONS = [
    "product.share",
    "product.verify",
    "product.edit",
    "product.subscribe",
    "triage.now",
    "triage.later",
    "triage.decline",
    "triage.merge",
    "triage.actioned",
    "briefing.menu",
    "briefing.correct",
    "briefing.delete",
    "feedback.compete",
    "feedback.plus_one",
    "x",
]
CALLBACKS = [
    "feedback.submit",
    "feedback.from_message",
    "triage.decline",
    "triage.merge",
    "product.edit",
    "briefing.save",
    "feedback.compete",
    "x",
]
values = st.dictionaries(
    st.sampled_from(["product", "kind", "client", "region", "details", "note", "x"]),
    st.dictionaries(
        st.sampled_from(["a", "b"]),
        st.fixed_dictionaries(
            {},
            optional={
                "value": st.none() | st.text(max_size=40),
                "selected_option": st.fixed_dictionaries({"value": st.text(max_size=20)})
                | json_values,
                "selected_options": st.lists(json_values, max_size=3),
                "selected_users": st.lists(st.text(max_size=10), max_size=3) | json_values,
                "selected_date": st.text(max_size=12) | st.none(),
            },
        )
        | json_values,
        max_size=2,
    ),
    max_size=4,
)
view = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=8) | json_values,
        "callback_id": st.sampled_from(CALLBACKS) | json_values,
        "private_metadata": st.text(max_size=40)
        | st.dictionaries(st.sampled_from(["item", "sku", "x"]), st.text(max_size=8)).map(
            json.dumps
        )
        | json_values,
        "state": st.fixed_dictionaries({"values": values | json_values}) | json_values,
        "hash": st.text(max_size=8),
    },
)
interaction = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "block_actions",
                "view_submission",
                "view_closed",
                "block_suggestion",
                "message_action",
                "shortcut",
                "interactive_message",
                "nonsense",
            ]
        )
    },
    optional={
        "user": st.fixed_dictionaries({"id": ids}) | json_values,
        "team": st.fixed_dictionaries({"id": ids}) | st.none(),
        "channel": st.fixed_dictionaries({"id": ids}) | json_values,
        "container": st.fixed_dictionaries({"type": st.sampled_from(["message", "view"])}),
        "message": st.fixed_dictionaries(
            {}, optional={"ts": st.text(max_size=12), "text": text | json_values}
        ),
        "actions": st.lists(
            st.fixed_dictionaries(
                {"action_id": st.sampled_from(ACTIONS)},
                optional={
                    "value": st.text(max_size=30) | json_values,
                    "selected_option": json_values,
                },
            )
            | json_values,
            max_size=2,
        ),
        "view": view | json_values,
        "state": st.fixed_dictionaries({"values": values}),
        "callback_id": st.sampled_from(["feedback.from_message", "x"]) | json_values,
        "action_id": st.sampled_from(["search.product", "search.products", "x"]) | json_values,
        "value": st.text(max_size=50) | json_values,
        "trigger_id": st.text(max_size=10),
        "response_url": st.just(HOOK) | json_values,
    },
)


@props("interaction")
@given(payloads=batch(interaction | json_values))
def test_interaction_payloads(live: Live, payloads: list[Any]) -> None:
    live.burst(
        "interaction",
        [signed(urllib.parse.urlencode({"payload": json.dumps(p)})) for p in payloads],
    )


event = st.fixed_dictionaries(
    {"type": st.sampled_from(["app_home_opened", "message", "app_mention", "x"]) | json_values},
    optional={
        "user": ids | json_values,
        "tab": st.sampled_from(["home", "messages"]) | json_values,
        "channel": ids,
        "view": json_values,
    },
)
envelope = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "x"])
        | json_values
    },
    optional={
        "event_id": st.text(min_size=1, max_size=12) | json_values,
        "event": event | json_values,
        "challenge": st.text(max_size=20) | json_values,
        "team_id": ids | json_values,
        "authorizations": json_values,
    },
)


@props("event")
@given(envelopes=batch(envelope | json_values))
def test_events(live: Live, envelopes: list[Any]) -> None:
    live.burst("event", [signed(json.dumps(e), "application/json") for e in envelopes])


PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
raw = st.tuples(
    st.sampled_from(["POST", "GET", "PUT"]),
    st.sampled_from(["/slack/events", "/api/messages", "/healthz", "/livez", "/nope"]),
    st.binary(max_size=300) | text.map(lambda t: t.encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "Content-Type": st.sampled_from(
                [
                    FORM,
                    FORM + "; charset=klingon",
                    "application/json",
                    "application/json; charset=latin-1",
                    "text/plain",
                    "multipart/form-data; boundary=x",
                ]
            ),
            "X-Slack-Request-Timestamp": st.text(alphabet=PRINTABLE, max_size=20)
            | st.integers(0, 10**30).map(str)
            | st.just("9" * 5000),
            "X-Slack-Signature": st.text(alphabet=PRINTABLE, max_size=70),
            "Authorization": st.text(alphabet=PRINTABLE, max_size=60)
            | st.just("Bearer " + "x" * 9000),  # over aiohttp's header-line limit
        },
    ),
)


@props("raw")
@given(requests=batch(raw))
def test_raw_bytes_and_headers_on_every_route(
    live: Live, requests: list[tuple[str, str, bytes, dict[str, str]]]
) -> None:
    """Unsigned (or wrongly signed) bytes, any headers, any method: 4xx, never a 5xx."""
    live.burst("raw", requests)


@props("signed")
@given(requests=batch(raw))
def test_signed_raw_bytes(
    live: Live, requests: list[tuple[str, str, bytes, dict[str, str]]]
) -> None:
    """The same bytes correctly signed: past the signature, the shape checks answer."""
    out = []
    for _method, _path, body, headers in requests:
        timestamp, digest = _sign_bytes(body)
        hdrs = {**headers, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": digest}
        out.append(("POST", "/slack/events", body, hdrs))
    live.burst("signed", out)


def _sign_bytes(body: bytes) -> tuple[str, str]:
    import hashlib
    import hmac
    import time

    ts = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return ts, "v0=" + mac.hexdigest()


def activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["message", "invoke", "conversationUpdate", "installationUpdate", "event", "x"]
            ),
            "conversation": st.fixed_dictionaries(
                {"id": st.text(min_size=1, max_size=20)},
                optional={
                    "conversationType": st.sampled_from(["personal", "channel", "groupChat", "x"])
                },
            ),
            "serviceUrl": st.just(service_url),
        },
        optional={
            "id": st.text(max_size=10),
            "text": text,
            "name": st.sampled_from(
                [
                    "adaptiveCard/action",
                    "application/search",
                    "composeExtension/fetchTask",
                    "composeExtension/submitAction",
                    "x",
                ]
            ),
            "value": json_values
            | st.fixed_dictionaries(
                {
                    "action": st.fixed_dictionaries(
                        {
                            "type": st.just("Action.Execute"),
                            "verb": st.sampled_from(ACTIONS + CALLBACKS),
                            "data": json_values,
                        }
                    )
                }
            ),
            "from": st.fixed_dictionaries(
                {"id": st.text(max_size=10)}, optional={"aadObjectId": st.text(max_size=36)}
            ),
            "recipient": st.fixed_dictionaries({"id": st.text(max_size=10)}),
            "channelId": st.sampled_from(["msteams", "emulator"]),
            "channelData": json_values,
            "membersAdded": st.lists(
                st.fixed_dictionaries({"id": st.text(max_size=10)}), max_size=2
            ),
            "replyToId": st.text(max_size=10),
        },
    )


@props("teams")
@given(data=st.data())
def test_teams_activities(live: Live, data: st.DataObject) -> None:
    bodies = data.draw(batch(activities(live.connector.url) | json_values))
    headers = {"Content-Type": "application/json"}
    live.burst(
        "teams", [("POST", "/api/messages", json.dumps(b).encode(), headers) for b in bodies]
    )


def test_and_afterwards_it_still_answers(live: Live) -> None:
    assert sum(live.sent.values()) == TOTAL >= 10_000, live.sent
    body = urllib.parse.urlencode(
        {"command": "/product", "user_id": "U1", "text": "widget pro in oz"}
    )

    async def ask() -> tuple[int, str]:
        headers = {"Content-Type": FORM, **sign(body)}
        async with live.http.post(live.base + "/slack/events", data=body, headers=headers) as r:
            return r.status, await r.text()

    status, answer = live.loop.run_until_complete(ask())
    assert status == 200 and json.loads(answer)["text"] == "Widget Pro: Available in Australia"


@settings(max_examples=500, deadline=None)
@given(
    body=st.text(alphabet="ab=&%+2F0Ez é;", max_size=40)
    | st.dictionaries(st.text(max_size=8), st.text(max_size=12)).map(urllib.parse.urlencode)
)
def test_form_bodies_are_read_as_parse_qsl_reads_them(body: str) -> None:
    assert _form(body) == dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
