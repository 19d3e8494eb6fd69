"""Over Teams (activities to /api/messages): an answer is a receipt under the Teams user."""

from __future__ import annotations

from tests.handlers.slack.test_receipts import receipts_of
from tests.handlers.teams.conftest import SALES_AAD, TeamsDriver


async def test_an_answer_in_teams_is_a_receipt(teams: TeamsDriver) -> None:
    status, _ = await teams.say("widget lite in oz")
    assert status in (200, 201, 202)
    got = await receipts_of(teams.services)
    assert [(r.platform, r.user_id, r.sku, r.region, r.verdict) for r in got] == [
        ("teams", SALES_AAD, "WDG-LITE", "AU", "Not available")
    ]


async def test_my_answers_in_teams(teams: TeamsDriver) -> None:
    await teams.say("widget lite in oz")
    _status, _ = await teams.say("my answers")
    sent = teams.connector.messages(f"a:dm-{SALES_AAD}")[-1].body
    assert "Your last answer:" in str(sent)
    assert "Widget Lite in AU: Not available" in str(sent)
