"""Platform retries run once: Slack Events API retries (same event_id) and Teams re-sent
activities (same id); response_url may only point at Slack."""

from __future__ import annotations

import asyncio
import json
import urllib.parse

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes import FakeSlack, sign, slash_body
from tests.handlers.conftest import SlackDriver, slack_server


def home_event(event_id: str) -> dict[str, object]:
    return {
        "token": "legacy",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000000,
        "authed_users": [],
        "event": {
            "type": "app_home_opened",
            "user": "U0SALES1",
            "channel": "D0APP",
            "tab": "home",
            "event_ts": "1700000000.000300",
        },
    }


async def test_a_retried_slack_event_runs_once(slack: SlackDriver) -> None:
    body = json.dumps(home_event("Ev0RETRY"))
    first = {**sign(body), "Content-Type": "application/json"}
    retry = {
        **sign(body),
        "Content-Type": "application/json",
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    for headers in (first, retry, retry):
        async with slack.http.post(slack.base + "/slack/events", data=body, headers=headers) as r:
            assert r.status == 200
    await asyncio.sleep(0.3)
    assert [c.method for c in slack.fake.calls].count("views.publish") == 1
    other = json.dumps(home_event("Ev0OTHER"))  # a new event still runs
    async with slack.http.post(
        slack.base + "/slack/events",
        data=other,
        headers={**sign(other), "Content-Type": "application/json"},
    ):
        pass
    await asyncio.sleep(0.3)
    assert [c.method for c in slack.fake.calls].count("views.publish") == 2


async def test_response_url_must_point_at_slack(slack: SlackDriver) -> None:
    body = slash_body(
        "/product", "widget pro in oz", response_url="https://attacker.example.com/collect"
    )
    answer = await slack.post(body)
    assert answer.status == 400
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "response_url": "http://169.254.169.254/latest/meta-data",
        "actions": [{"action_id": "product.share", "value": "WDG-PRO|AU"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert (await slack.post(body)).status == 400
    assert slack.fake.responses == []


async def test_a_resent_teams_activity_is_answered_once(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    from tests.fakes import FakeConnector

    connector = FakeConnector()
    await connector.start()
    try:
        activity = {
            "type": "message",
            "id": "act-dup-1",
            "channelId": "msteams",
            "serviceUrl": connector.url,
            "text": "product widget pro in oz",
            "from": {"id": "29:u", "aadObjectId": "00000000-0000-0000-0000-0000000000b1"},
            "recipient": {"id": "28:bot"},
            "conversation": {"id": "a:dm-dup", "conversationType": "personal"},
        }
        async with slack_server(db_url, fake_slack, teams_emulator=True) as slack:
            for _ in range(3):
                async with slack.http.post(slack.base + "/api/messages", json=activity) as r:
                    assert r.status < 300
        assert len(connector.messages("a:dm-dup")) == 1
    finally:
        await connector.close()
