"""/product over real HTTP: signed requests into the server, answers in the ack."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError

from handlers.slack.http import BotAuthorize
from tests.fakes import BOT_TOKEN, sign, slash_body
from tests.handlers.conftest import PMS, SlackDriver


async def test_lookup_is_answered_in_the_ack_ephemerally(slack: SlackDriver) -> None:
    answer = await slack.command("australia widget pro")
    assert answer.status == 200
    body = answer.json
    assert body["response_type"] == "ephemeral"
    assert body["text"] == "Widget Pro: Available in Australia"
    shown = str(body["blocks"])
    for part in (
        "Growth ($10,000–$50,000)",
        "Sub-second sync",
        "Gizmotron",
        "<https://docs.example.com/widget-pro/datasheet.pdf|Widget Pro datasheet>",
    ):
        assert part in shown
    share = next(b for b in body["blocks"] if b["type"] == "actions")["elements"][0]
    assert (share["action_id"], share["value"]) == ("product.share", "WDG-PRO|AU")


async def test_not_available_gives_reason_and_alternatives(slack: SlackDriver) -> None:
    body = (await slack.command("widget lite in oz")).json
    assert body["text"] == (
        "Widget Lite: Not available in Australia — Not licensed. Ask U01PMALICE"
    )
    assert "Ask <@U01PMALICE>" in str(body["blocks"])  # whom to ask, as a mention
    alt = [b for b in body["blocks"] if "Sellable alternatives" in str(b)]
    assert alt and "Widget Pro" in str(alt[0])  # same family, sellable in AU


async def test_ambiguous_lists_candidates(slack: SlackDriver) -> None:
    body = (await slack.command("australia widget")).json
    assert body["text"].startswith("3 products match “widget” in Australia")
    shown = str(body["blocks"])
    assert "Widget Lite*: :no_entry: *Not available*" in shown


async def test_empty_command_shows_help(slack: SlackDriver) -> None:
    body = (await slack.command("")).json
    assert "/product australia widget pro" in body["text"]


async def test_share_posts_the_same_answer_in_channel(slack: SlackDriver) -> None:
    answer = await slack.action("product.share", "WDG-LITE|AU", user="U0SALES2")
    assert answer.status == 200
    assert len(slack.fake.responses) == 1
    posted = slack.fake.responses[0]
    assert posted["response_type"] == "in_channel"
    assert posted["replace_original"] is False
    assert (
        posted["text"] == "Widget Lite: Not available in Australia — Not licensed. Ask U01PMALICE"
    )
    assert "Shared by <@U0SALES2>" in str(posted["blocks"])
    assert "product.share" not in str(posted["blocks"])  # no button on the shared copy


async def test_share_of_a_vanished_product_says_so(slack: SlackDriver) -> None:
    await slack.action("product.share", "NOPE-1|AU")
    assert slack.fake.responses[0]["text"].startswith("That product or market is no longer")
    assert slack.fake.responses[0]["response_type"] == "ephemeral"


async def test_one_auth_test_and_the_bot_token_on_every_listener_call(slack: SlackDriver) -> None:
    for text in ("australia widget pro", "uk widget lite", "help"):
        assert (await slack.command(text)).status == 200
    assert (await slack.command("edit widget pro", user=PMS[0])).status == 200  # views.open
    assert slack.fake.methods().count("auth.test") == 1
    (opened,) = slack.fake.delivered("views.open")
    assert opened.token == BOT_TOKEN


async def test_unsigned_forged_and_stale_requests_get_401(slack: SlackDriver) -> None:
    body = slash_body("/product", "australia widget pro")
    assert (await slack.post(body, headers={})).status == 401
    forged = sign(body, secret="not-the-secret")
    assert (await slack.post(body, headers=forged)).status == 401
    stale = sign(body, timestamp=int(time.time()) - 6 * 60)
    assert (await slack.post(body, headers=stale)).status == 401
    tampered = sign(body)
    assert (await slack.post(body.replace("australia", "japan"), headers=tampered)).status == 401


async def test_healthz_checks_the_database(slack: SlackDriver) -> None:
    async with slack.http.get(slack.base + "/healthz") as r:
        assert r.status == 200
        data = await r.json()
    assert data["database"] == "ok" and data["catalog_version"] >= 1


async def test_a_question_containing_the_word_payload_is_still_answered(slack: SlackDriver) -> None:
    # bolt's own parser reads any form containing "payload" as an interaction and routes
    # an empty body; the route hands bolt the form as it parsed it.
    answer = await slack.command("widget pro payload in australia")
    assert answer.status == 200
    assert answer.json["text"] == "Widget Pro: Available in Australia"


async def test_authorization_is_retried_after_a_failed_auth_test_then_kept() -> None:
    class Client:
        token = BOT_TOKEN
        calls = 0

        async def auth_test(self) -> dict[str, str]:
            Client.calls += 1
            if Client.calls == 1:
                raise SlackApiError("down", {"ok": False, "error": "fatal_error"})
            return {"ok": "true", "user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T0TEAM"}

    authorize = BotAuthorize(Client())  # type: ignore[arg-type]
    with pytest.raises(SlackApiError):
        await authorize(context=None, enterprise_id=None, team_id="T0TEAM", user_id="U1")
    first = await authorize(context=None, enterprise_id=None, team_id="T0TEAM", user_id="U1")
    again = await authorize(context=None, enterprise_id=None, team_id="T0TEAM", user_id="U2")
    assert again is first and Client.calls == 2
    assert (first.bot_token, first.bot_user_id, first.bot_id) == (BOT_TOKEN, "U0BOT", "B0BOT")
