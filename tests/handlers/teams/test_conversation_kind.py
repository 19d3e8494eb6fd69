"""A channel activity that leaves conversationType out (some clients and emulators do) is
still a channel: judged by channelData and the conversation id, never kept as someone's
personal chat, and a PM can still set it up as the triage channel."""

from __future__ import annotations

from handlers.teams.keys import TRIAGE_KEY, user_key
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, TeamsDriver


async def test_a_channel_without_conversation_type_is_a_channel(teams: TeamsDriver) -> None:
    activity = teams.activity(
        text="<at>Salesbridge</at> use this channel for triage",
        user=PM_AAD,
        conversation=f"{CHANNEL};messageid=1700000000000",
    )
    del activity["conversation"]["conversationType"]
    activity["channelData"] = {
        "tenant": {"id": "tenant-1"},
        "team": {"id": "19:team@thread.tacv2"},
        "channel": {"id": CHANNEL},
    }
    status, _ = await teams.post(activity)
    assert status in (200, 201, 202)
    assert await teams.services.conversations.get(key=user_key(PM_AAD)) is None
    stored = await teams.services.conversations.get(key=TRIAGE_KEY)
    assert stored is not None and stored["conversation"]["id"] == CHANNEL


async def test_a_personal_chat_without_conversation_type_is_personal(teams: TeamsDriver) -> None:
    activity = teams.activity(text="help", user=PM_AAD)
    del activity["conversation"]["conversationType"]
    assert (await teams.post(activity))[0] in (200, 201, 202)
    assert await teams.services.conversations.get(key=user_key(PM_AAD)) is not None
