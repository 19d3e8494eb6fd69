"""What only the asker may see stays private on Teams, which has no ephemeral message: asked
in a channel or group chat, the ranked list, home and a person's answers go to the asker's
personal chat (the one kept for them, else one the bot starts), and the conversation reads
one neutral line. Activities carry real signed tokens; the fake connector records what was
sent where."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.interactions import MESSAGE_ME_PRIVATELY, SENT_PRIVATELY
from handlers.teams.keys import user_key
from tests.fakes import Posted
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of
from tests.handlers.teams.test_tokens import FakeKeys, secured

__all__ = ["secured"]  # the signed-token server of test_tokens, with keys that answer at once
GROUP = "19:deal-team@thread.v2"
NEWCOMER_AAD = "00000000-0000-0000-0000-0000000000c1"
DEAL = {
    "product": "WDG-PRO",
    "kind": "feature_request",
    "client": "Acme Corp",
    "urgency": "normal",
    "details": "Needs SAML single sign-on before the renewal",
    "deal_value": "250000",
    "duplicate_of": "new",
}


@pytest.fixture
async def keys() -> AsyncIterator[FakeKeys]:
    fake = FakeKeys(delay=0.0)
    await fake.start()
    yield fake
    assert fake.server is not None
    await fake.server.close()


@pytest.fixture
async def signed(secured: TeamsDriver, keys: FakeKeys) -> TeamsDriver:
    secured.headers["Authorization"] = f"Bearer {keys.token(secured.connector.url)}"
    return secured


def replies(teams: TeamsDriver, conversation: str) -> list[Posted]:
    """The bot's answers to what was said there (not DMs the outbox delivered)."""
    return [
        p
        for p in teams.connector.messages(conversation)
        if p.path.rstrip("/").rsplit("/", 1)[-1].startswith("act-in-")
    ]


def nothing_private(posted: list[Posted]) -> None:
    sent = json.dumps([p.body for p in posted])
    assert "Acme" not in sent and "250,000" not in sent and "SAML" not in sent


async def test_the_ranked_list_asked_in_a_channel_goes_to_the_askers_personal_chat(
    signed: TeamsDriver,
) -> None:
    teams, connector = signed, signed.connector
    await teams.execute("feedback.submit", DEAL)  # a rep's deal, sent from their personal chat
    # The PM has never chatted with the bot: it starts a 1:1 chat with them.
    status, _ = await teams.say(
        "<at>Salesbridge</at> feedback top", user=PM_AAD, conversation_type="channel"
    )
    assert status in (200, 201, 202)
    [created] = connector.created()
    assert created.body["isGroup"] is False and created.body["tenantId"] == "tenant-1"
    assert [m["id"] for m in created.body["members"]] == [f"29:{PM_AAD}"]
    personal = f"a:created-29:{PM_AAD}"
    [ranking] = connector.messages(personal)
    shown = str(card_of(ranking.body))
    assert "Acme Corp" in shown and "$250,000" in shown
    [said] = connector.messages(CHANNEL)
    assert said.body["text"] == SENT_PRIVATELY
    nothing_private([said])
    kept = await teams.services.conversations.get(key=user_key(PM_AAD))
    assert kept is not None and kept["conversation"]["id"] == personal

    # From then on the kept chat is used; a group chat is as public as a channel.
    await teams.say("home", user=PM_AAD, conversation_type="groupChat", conversation=GROUP)
    assert len(connector.created()) == 1
    assert "Acme Corp" in str(card_of(connector.messages(personal)[1].body))
    [said] = replies(teams, GROUP)
    assert said.body["text"] == SENT_PRIVATELY
    nothing_private([said])

    # The management report and a PM's own briefings: the same.
    for asked in ("coverage", "coverage csv", "briefing list"):
        before = len(connector.messages(personal))
        await teams.say(asked, user=PM_AAD, conversation_type="groupChat", conversation=GROUP)
        assert len(connector.messages(personal)) == before + 1, asked
        assert replies(teams, GROUP)[-1].body["text"] == SENT_PRIVATELY
    assert "Coverage" in str(connector.messages(personal)[2].body)

    # A press on a card in the channel (Home's "More") answers with a toast there.
    _, toast = await teams.execute(
        "home.more", {"value": "1"}, user=PM_AAD, conversation_type="channel"
    )
    assert toast == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": SENT_PRIVATELY,
    }
    assert len(connector.messages(personal)) == 6
    nothing_private(connector.messages(CHANNEL))

    # In the personal chat itself the answer is simply the reply.
    await teams.say("feedback top", user=PM_AAD, conversation=personal)
    [answer] = replies(teams, personal)
    assert "Acme Corp" in str(card_of(answer.body))


async def test_with_no_personal_chat_to_reach_nothing_private_is_posted(
    signed: TeamsDriver,
) -> None:
    teams, connector = signed, signed.connector
    await teams.execute("feedback.submit", DEAL)
    await teams.say("product widget pro in australia", user=NEWCOMER_AAD, conversation=GROUP,
                    conversation_type="groupChat")  # fmt: skip
    connector.refuse_create = True  # the newcomer blocked the bot's 1:1 chats
    await teams.say("my answers", user=NEWCOMER_AAD, conversation_type="groupChat",
                    conversation=GROUP)  # fmt: skip
    answers = replies(teams, GROUP)
    assert answers[-1].body["text"] == MESSAGE_ME_PRIVATELY
    assert "Widget Pro" in str(answers[0].body)  # a product answer stays in the chat
    assert "Widget Pro" not in str(answers[-1].body)
    assert len(connector.created()) == 1
    assert await teams.services.conversations.get(key=user_key(NEWCOMER_AAD)) is None
    # The rep's own answers in a channel, from their kept personal chat.
    await teams.say("my answers", user=SALES_AAD, conversation_type="channel")
    [said] = replies(teams, CHANNEL)
    assert said.body["text"] == SENT_PRIVATELY
    mine = [p for p in connector.messages(f"a:dm-{SALES_AAD}") if "Widget Pro" in str(p.body)]
    assert mine == []  # the rep was told nothing about the newcomer's answer


def test_what_is_private_is_decided_once_in_bot() -> None:
    from bot.commands import PRIVATE_REPLIES, CoverageCsv, is_private
    from bot.demand import DemandReport
    from bot.feedback import HomeView
    from bot.replies import Notice

    assert {CoverageCsv, DemandReport, HomeView} <= set(PRIVATE_REPLIES)
    assert is_private(Notice("x", private=True)) and not is_private(Notice("x"))
