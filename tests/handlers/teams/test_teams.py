"""Teams over real HTTP: activities posted to /api/messages as the Emulator does, replies
read from the fake Bot Connector at the activity's serviceUrl."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from unittest import mock

import aiohttp
import sqlalchemy as sa

from tests.conftest import ROOT
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver, start


async def eventually(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - the fake exposes state, not events
            await asyncio.sleep(0.02)


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert card["version"] == "1.5"
    return card


async def test_lookup_with_typos_in_personal_chat(teams: TeamsDriver) -> None:
    status, _ = await teams.say("product widgt pro in oz")
    assert status in (200, 201, 202)
    [reply] = teams.connector.messages(f"a:dm-{SALES_AAD}")
    assert reply.body["text"] == "Widget Pro: Available in Australia"
    assert reply.body["summary"] == reply.body["text"]
    card = card_of(reply.body)
    assert card["fallbackText"] == reply.body["text"]
    assert "Growth ($10,000–$50,000)" in str(card)


async def test_mention_in_a_channel_is_stripped(teams: TeamsDriver) -> None:
    await teams.say("<at>Salesbridge</at> product australia widget", conversation_type="channel")
    [reply] = teams.connector.messages(CHANNEL)
    assert reply.body["text"].startswith("3 products match “widget” in Australia")


async def test_help_and_bare_questions(teams: TeamsDriver) -> None:
    await teams.say("help")
    await teams.say("ledger synk us")
    replies = teams.connector.messages(f"a:dm-{SALES_AAD}")
    assert "product australia widget pro" in str(card_of(replies[0].body))
    assert replies[1].body["text"] == "Ledger Sync: Available in United States"


async def test_with_an_app_id_unauthenticated_activities_are_refused(
    db_url: str, engine: Any
) -> None:
    server, services, connector = await start(
        db_url,
        microsoft_app_id="11111111-2222-3333-4444-555555555555",
        microsoft_app_password="not-a-real-secret",
        microsoft_app_tenant_id="tenant-1",
    )
    try:
        async with aiohttp.ClientSession() as http:
            driver = TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
            activity = driver.activity(text="product widget pro in oz")
            assert (await driver.post(activity))[0] == 401
            forged = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln"}
            assert (await driver.post(activity, headers=forged))[0] == 401
            assert (await driver.post(activity, headers={"Authorization": "Basic abc"}))[0] == 401
        assert connector.posted == []  # the bot never ran
    finally:
        await server.close()
        await connector.close()


async def test_feedback_loop_on_teams(teams: TeamsDriver) -> None:
    dm = f"a:dm-{SALES_AAD}"
    # A sales user cannot pick the triage channel; a PM can, from the channel itself.
    await teams.say(
        "<at>Salesbridge</at> use this channel for triage",
        conversation_type="channel",
        user=SALES_AAD,
    )
    assert teams.connector.messages(CHANNEL)[-1].body["text"].startswith("Only product managers")
    await teams.say(
        "<at>Salesbridge</at> use this channel for triage", conversation_type="channel", user=PM_AAD
    )
    assert teams.connector.messages(CHANNEL)[-1].body["text"] == (
        "This channel now receives feedback for triage."
    )

    # The form as a card, prefilled; the product picker searches as you type.
    await teams.say("feedback Acme needs SAML single sign-on before the renewal")
    form = card_of(teams.connector.messages(dm)[-1].body)
    details = next(el for el in form["body"] if el.get("id") == "details")
    assert details["value"].startswith("Acme needs SAML")
    picker = next(el for el in form["body"] if el.get("id") == "product")
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "products"}
    segment = next(el for el in form["body"] if el.get("id") == "segment")
    assert [c["value"] for c in segment["choices"]] == ["PUB", "FSI", "HLS"]
    status, found = await teams.post(
        teams.activity(
            type="invoke",
            name="application/search",
            value={"kind": "search", "queryText": "widgit pro", "dataset": "products"},
        )
    )
    assert status == 200
    assert found["value"]["results"][0]["value"] == "WDG-PRO"

    # Invalid input comes back on the card; a valid one is confirmed in place.
    values = {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": "",
        "urgency": "high",
        "segment": "FSI",
        "details": "Acme needs SAML single sign-on before renewal",
    }
    status, bad = await teams.execute("feedback.submit", values)
    assert status == 200 and bad["type"] == "application/vnd.microsoft.card.adaptive"
    client = next(el for el in bad["value"]["body"] if el.get("id") == "client")
    assert client["errorMessage"] == "Which client or account said this?"
    status, ok = await teams.execute("feedback.submit", {**values, "client": "Acme Corp"})
    assert "Product has it as #1" in str(ok["value"])

    # The triage card reaches the channel through the outbox, with Action.Execute buttons.
    await eventually(lambda: len(teams.connector.messages(CHANNEL)) == 3)
    card = card_of(teams.connector.messages(CHANNEL)[-1].body)
    verbs = [a["verb"] for a in card["actions"]]
    assert verbs == [
        "triage.now",
        "triage.later",
        "triage.decline",
        "triage.merge",
        "feedback.edit",  # the product, telling the item's people what changed
    ]
    assert {"title": "Customer segment", "value": "Financial services"} in card["body"][1]["facts"]

    # A sales user's press changes nothing; a PM's double press decides once.
    _, refused = await teams.execute(
        "triage.now", {"value": "1"}, user=SALES_AAD, conversation_type="channel"
    )
    assert "Only product managers" in str(refused["value"])
    (_, first), (_, second) = await asyncio.gather(
        teams.execute(
            "triage.now",
            {"value": "1", "note": "On the Q1 plan"},
            user=PM_AAD,
            conversation_type="channel",
        ),
        teams.execute(
            "triage.now",
            {"value": "1", "note": "On the Q1 plan"},
            user=PM_AAD,
            conversation_type="channel",
        ),
    )
    shown = str(first["value"]) + str(second["value"])
    assert "**Status:** Act now" in shown and "already decided" in shown

    # Exactly one proactive DM to the submitter; the channel card updated in place.
    def decision_dms() -> list[Any]:
        return [
            p
            for p in teams.connector.messages(dm)
            if "#1" in str(p.body.get("text"))
            and "Product will act on it now" in str(p.body.get("text"))
        ]

    await eventually(
        lambda: len(decision_dms()) == 1 and any(p.method == "PUT" for p in teams.connector.posted)
    )
    await asyncio.sleep(0.3)
    assert len(decision_dms()) == 1
    assert "Note from product: On the Q1 plan" in decision_dms()[0].body["text"]
    [update] = [p for p in teams.connector.posted if p.method == "PUT"]
    assert update.path.startswith(f"/v3/conversations/{CHANNEL}/activities/")
    assert "triage.actioned" in str(update.body)


async def test_proactive_delivery_retries_what_teams_says_to_retry(teams: TeamsDriver) -> None:
    from bot.outbox import Failed, OutboxMessage, RetryLater, Sent

    def dm(target: str) -> OutboxMessage:
        return OutboxMessage(
            1,
            f"t:{target}",
            "teams",
            "dm",
            target,
            {
                "type": "decision",
                "item": 7,
                "status": "later",
                "title": "A thing",
                "note": None,
                "by": PM_AAD,
                "merged_into": None,
            },
            attempts=1,
        )

    deliver = teams.services.teams_parts().deliver
    never_talked = await deliver(dm("aad-stranger"))
    assert isinstance(never_talked, Failed) and "no conversation" in never_talked.error
    await teams.say("help")  # the user's first turn stores the conversation reference
    for status, headers in [(429, {"Retry-After": "3"}), (412, {}), (502, {}), (504, {})]:
        teams.connector.fail_next = [(status, headers)]
        outcome = await deliver(dm(SALES_AAD))
        assert isinstance(outcome, RetryLater), status
        if status == 429:
            assert outcome.retry_after == 3.0
            # Every worker now waits the 429 out (the pause is in the database): nothing
            # is sent to the connector, and the wait costs no attempt.
            posted = len(teams.connector.posted)
            paused = await deliver(dm(SALES_AAD))
            assert isinstance(paused, RetryLater) and not paused.attempted
            assert len(teams.connector.posted) == posted
            async with teams.services.engine.begin() as conn:
                await conn.execute(sa.text("DELETE FROM outbox_pause"))  # time passes
    teams.connector.fail_next = [(403, {})]  # the user blocked the bot: park, don't insist
    blocked = await deliver(dm(SALES_AAD))
    assert isinstance(blocked, Failed) and "403" in blocked.error
    sent = await deliver(dm(SALES_AAD))
    assert isinstance(sent, Sent)
    delivered = [
        p for p in teams.connector.messages(f"a:dm-{SALES_AAD}") if "#7" in str(p.body.get("text"))
    ]
    assert len(delivered) == 6  # five refused attempts and the one that went through


def test_service_urls_are_checked_in_every_mode() -> None:
    from handlers.config import Settings
    from handlers.teams.http import service_urls

    app_id = "11111111-2222-3333-4444-555555555555"
    secured = service_urls(Settings(_env_file=None, microsoft_app_id=app_id))  # type: ignore[call-arg]
    assert secured.is_allowed("https://smba.trafficmanager.net/amer/")
    assert secured.is_allowed("https://smba.infra.gcc.teams.microsoft.com/gcc")
    for url in (
        "http://smba.trafficmanager.net/amer/",  # not https
        "https://user:pw@smba.trafficmanager.net/",
        "http://127.0.0.1:3978/",
        "https://169.254.169.254/",
        "https://evil.example.com/",
        "https://smba.trafficmanager.net.evil.example.com/",
    ):
        assert not secured.is_allowed(url), url
    tests = service_urls(
        Settings(_env_file=None, microsoft_app_id=app_id, teams_loopback_service_urls=True)  # type: ignore[call-arg]
    )
    assert tests.is_allowed("http://127.0.0.1:3978/") and tests.is_allowed(
        "https://smba.trafficmanager.net/amer/"
    )
    emulator = service_urls(Settings(_env_file=None, teams_emulator=True))  # type: ignore[call-arg]
    assert emulator.is_allowed("http://127.0.0.1:3978/") and emulator.is_allowed(
        "http://localhost:3978/"
    )
    for url in ("https://smba.trafficmanager.net/amer/", "http://10.0.0.5/", "http://x@[::1]/"):
        assert not emulator.is_allowed(url), url
    assert not emulator.is_allowed(None) and not emulator.is_allowed(["http://127.0.0.1/"])  # type: ignore[arg-type]


async def test_without_an_app_id_or_the_emulator_there_is_no_teams_surface(
    db_url: str, engine: Any, caplog: Any
) -> None:
    server, services, connector = await start(db_url, teams_emulator=False)
    try:
        async with aiohttp.ClientSession() as http:
            driver = TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
            activity = driver.activity(text="product widget pro in oz")
            async with http.post(driver.base + "/api/messages", json=activity) as r:
                assert r.status == 404
        assert services.teams is None and "teams" not in services.worker.platforms
        assert connector.posted == []
    finally:
        await server.close()
        await connector.close()


def test_emulator_mode_is_asked_for_and_warned_about(caplog: Any) -> None:
    from handlers.app import create_app
    from handlers.config import Settings

    caplog.set_level(logging.INFO)
    create_app(
        Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:", teams_emulator=True)
    )  # type: ignore[call-arg]
    [warning] = [r for r in caplog.records if "TEAMS_EMULATOR" in r.getMessage()]
    assert warning.levelno == logging.WARNING and "UNAUTHENTICATED" in warning.getMessage()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "demo: export TEAMS_EMULATOR ?= 1" in makefile


async def test_product_updates_on_teams(teams: TeamsDriver) -> None:
    await teams.say(
        "<at>Salesbridge</at> use this channel for announcements",
        conversation_type="channel",
        user=PM_AAD,
    )
    assert teams.connector.messages(CHANNEL)[-1].body["text"] == (
        "This channel now receives product announcements."
    )
    await teams.say("product subscribe widget lite")
    dm = f"a:dm-{SALES_AAD}"
    assert teams.connector.messages(dm)[-1].body["text"] == (
        "You'll get a DM when Widget Lite changes."
    )

    # A PM edits from the answer card: Edit opens the form card, saving announces.
    await teams.say("product widget lite in oz", user=PM_AAD)
    answer = card_of(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    assert [a.get("verb") for a in answer["actions"] if a["type"] == "Action.Execute"] == [
        "product.share",
        "product.edit",
        "product.verify",
    ]
    _, form = await teams.execute("product.edit", {"value": "WDG-LITE"}, user=PM_AAD)
    rules = next(el for el in form["value"]["body"] if el.get("id") == "availability")
    _, refused = await teams.execute(
        "product.save", {"state": {"sku": "WDG-LITE"}, "availability": "GLOBAL: available"}
    )
    assert refused["value"].startswith("Only product managers")  # forged by sales
    new_rules = rules["value"].replace("AU: not_available — Not licensed", "AU: available")
    _, saved = await teams.execute(
        "product.save",
        {
            "state": {"sku": "WDG-LITE"},
            "lifecycle": "ga",
            "pricing_band": "A",
            "availability": new_rules,
        },
        user=PM_AAD,
    )
    assert "Widget Lite saved." in str(saved["value"])

    line = "Widget Lite is now Available in Australia (was Not available)"
    history = await teams.services.updates.history("WDG-LITE")
    assert history[0].lines == (line,)  # fields the card did not send stay as they were
    await eventually(
        lambda: (
            any(line in str(p.body) for p in teams.connector.messages(CHANNEL))
            and any(line in str(p.body) for p in teams.connector.messages(dm))
        )
    )
    await teams.say("product widget lite in oz")
    assert teams.connector.messages(dm)[-1].body["text"] == "Widget Lite: Available in Australia"


async def test_briefing_and_coverage_on_teams(teams: TeamsDriver) -> None:
    await teams.say("briefing", user=SALES_AAD)
    assert teams.connector.messages(f"a:dm-{SALES_AAD}")[-1].body["text"] == (
        "Only product managers log briefings."
    )
    await teams.say("briefing", user=PM_AAD)
    pm_dm = f"a:dm-{PM_AAD}"
    form = card_of(teams.connector.messages(pm_dm)[-1].body)
    regions = next(el for el in form["body"] if el.get("id") == "regions")
    assert regions["isMultiSelect"] is True
    today = teams.services.bot.coverage.today().isoformat()  # type: ignore[union-attr]
    _, saved = await teams.execute(
        "briefing.save",
        {
            "held_on": today,
            "regions": "AU,NZ",
            "people": "9",
            "shared": "Roadmap",
            "minutes": "30",
            "products": "WDG-PRO",
        },
        user=PM_AAD,
    )
    assert "Saved: #1" in str(saved["value"])
    await teams.say("coverage last 7 days", user=PM_AAD)
    reply = teams.connector.messages(pm_dm)[-1].body
    assert reply["text"].startswith("Coverage last 7 days: 1 briefing")
    card = card_of(reply)
    facts = {f["title"]: f["value"] for el in card["body"] if el["type"] == "FactSet"
             for f in el["facts"]}  # fmt: skip
    assert facts["Australia"].startswith(
        "1 briefing in the last 7 days — on track (target 2 a quarter) · 30 min, 9 people"
    )
    # No PUBLIC_URL and LINK_SECRET here: no chart (a card cannot hold one inline).
    assert [el for el in card["body"] if el["type"] == "Image"] == []


async def test_emulator_mode_only_talks_to_this_machine(teams: TeamsDriver) -> None:
    remote = teams.activity(text="product widget pro in oz")
    for url in ("https://attacker.example.com/", "http://10.1.2.3:8080/", "file:///etc/x"):
        remote["serviceUrl"] = url
        status, body = await teams.post(remote)
        assert status == 403 and "serviceUrl" in body["error"]
    del remote["serviceUrl"]  # nowhere to answer: malformed
    assert (await teams.post(remote))[0] == 400
    assert teams.connector.posted == []


async def test_emulator_mode_refuses_callers_from_elsewhere(teams: TeamsDriver) -> None:
    from aiohttp.test_utils import make_mocked_request

    handler = teams.services.teams_parts()
    from handlers.teams.http import teams_handler

    messages = teams_handler(
        handler.adapter, handler.bot, handler.config, handler.urls, handler.validator
    )
    body = json.dumps(teams.activity(text="product widget pro in oz")).encode()
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        ("203.0.113.7", 40000) if name == "peername" else default
    )
    protocol = mock.Mock(transport=transport)
    payload = aiohttp.StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(body)
    payload.feed_eof()
    request = make_mocked_request(
        "POST",
        "/api/messages",
        headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
        payload=payload,
        transport=transport,
    )
    answer = await messages(request)
    assert answer.status == 403 and teams.connector.posted == []


async def test_an_unauthenticated_activity_never_replaces_a_stored_reference(
    teams: TeamsDriver,
) -> None:
    from handlers.teams.keys import TRIAGE_KEY, user_key

    conversations = teams.services.conversations
    # As an authenticated turn stored them: the PM's chat and the triage channel.
    real = {"serviceUrl": "https://smba.trafficmanager.net/emea/", "conversation": {"id": "a:pm"}}
    await conversations.save(key=user_key(PM_AAD), reference=real)
    await conversations.save(key=TRIAGE_KEY, reference={**real, "conversation": {"id": "19:t"}})
    # An Emulator-mode activity claiming the PM's id, from another conversation.
    await teams.say("help", user=PM_AAD, conversation="a:impostor")
    assert await conversations.get(key=user_key(PM_AAD)) == real
    await teams.say(
        "<at>Salesbridge</at> use this channel for triage", conversation_type="channel", user=PM_AAD
    )
    assert teams.connector.messages(CHANNEL)[-1].body["text"].startswith("A channel is already")
    assert (await conversations.get(key=TRIAGE_KEY))["conversation"]["id"] == "19:t"  # type: ignore[index]
    # Where nothing is stored yet, the first turn is remembered (the Emulator's DMs work).
    await teams.say("help", user=SALES_AAD)
    assert (await conversations.get(key=user_key(SALES_AAD))) is not None


async def test_a_stored_reference_to_a_disallowed_host_is_never_sent_to(
    teams: TeamsDriver,
) -> None:
    from bot.outbox import Failed, OutboxMessage
    from handlers.teams.keys import user_key

    for url in ("https://evil.example.com/", "http://169.254.169.254/latest/"):
        await teams.services.conversations.save(
            key=user_key(SALES_AAD),
            reference={"serviceUrl": url, "conversation": {"id": "a:x"}, "channelId": "msteams"},
        )
        digest = {"type": "digest", "title": "Changes", "lines": ["Widget Pro is now GA"]}
        outcome = await teams.services.teams_parts().deliver(
            OutboxMessage(1, "k", "teams", "dm", SALES_AAD, digest, attempts=1)
        )
        assert isinstance(outcome, Failed) and "serviceUrl" in outcome.error
    assert teams.connector.posted == []


async def test_a_teams_user_cannot_claim_a_slack_pms_id(teams: TeamsDriver) -> None:
    # U01PMALICE owns Widget Pro on Slack; a Teams activity naming that id is nobody.
    _, refused = await teams.execute("product.edit", {"value": "WDG-PRO"}, user="U01PMALICE")
    assert refused["value"].startswith("Only product managers")
