"""Over Slack: every verdict the bot shows is a receipt, written after the answer went out
(signed requests into the real server, on both databases)."""

from __future__ import annotations

import datetime as dt

from bot.receipts import Receipt
from handlers.app import Services
from tests.handlers.conftest import PMS, SlackDriver


async def receipts_of(services: Services) -> list[Receipt]:
    """Every receipt written so far (after the background flush)."""
    assert services.receipts is not None
    await services.receipts.flush()
    today = dt.datetime.now(dt.UTC).date()
    return [
        r
        async for r in services.receipts.export(
            since=today - dt.timedelta(days=1), until=today + dt.timedelta(days=1)
        )
    ]


async def test_each_answer_is_a_receipt_and_other_replies_are_not(slack: SlackDriver) -> None:
    said = await slack.command("widget pro uae", user="U0SALES1")
    assert said.json["text"].startswith("Widget Pro: Available in United Arab Emirates")
    await slack.command("widget pro germany government", user="U0SALES2")
    await slack.command("quantum toaster", user="U0SALES2")  # nothing found: no verdict given
    await slack.command("help", user="U0SALES2")
    got = await receipts_of(slack.services)
    assert [(r.platform, r.user_id, r.sku, r.region, r.segment, r.verdict) for r in got] == [
        ("slack", "U0SALES1", "WDG-PRO", "AE", None, "Available"),
        ("slack", "U0SALES2", "WDG-PRO", "DE", "PUB", "Not available"),
    ]
    assert got[1].reason == "Needs BSI C5 attestation"
    version = await slack.services.catalog.catalog_version()
    assert {r.catalog_version for r in got} == {version}
    assert got[0].band.startswith("Growth")


async def test_my_answers_lists_only_mine_newest_first(slack: SlackDriver) -> None:
    empty = await slack.command("my answers", user="U0SALES9")
    assert empty.json["text"].startswith("You have not been given an answer yet")
    await slack.command("widget pro uae", user="U0SALES1")
    await slack.command("widget lite oz", user="U0SALES1")
    await slack.command("fleet tracker uk", user="U0SALES2")
    mine = (await slack.command("my answers", user="U0SALES1")).json["text"]
    lines = mine.splitlines()
    assert lines[0] == "Your last 2 answers, newest first:"
    assert lines[1].endswith("Widget Lite in AU: Not available — Not licensed")
    assert lines[2].endswith("Widget Pro in AE: Available")
    assert "Fleet Tracker" not in mine


async def test_coverage_shows_questions_and_refusals_per_region(slack: SlackDriver) -> None:
    await slack.command("widget pro uae", user="U0SALES1")  # EMEA, Available
    await slack.command("widget pro germany government", user="U0SALES2")  # EMEA, not
    await slack.command("widget lite oz", user="U0SALES2")  # APAC, not
    report = await slack.command("this quarter", command="/coverage", user=PMS[0])
    shown = str(report.json["blocks"])
    assert "Europe, Middle East and Africa*" in shown
    emea = next(line for line in shown.split("\\n") if "Europe, Middle East" in line)
    assert emea.endswith("2 questions answered, 1 not Available")
    apac = next(line for line in shown.split("\\n") if "Asia Pacific" in line)
    assert apac.endswith("1 question answered, 1 not Available")
    assert slack.services.bot.coverage is not None
    csv_text = (await slack.services.bot.coverage.report("this quarter")).csv()
    header, *rows = csv_text.splitlines()
    assert header.endswith(
        "questions_asked,answered_not_available,latest_deck,latest_deck_copy,open_revenue_at_stake"
    )
    assert any(r.startswith("EMEA,") and r.endswith(",2,1,,,") for r in rows)


async def test_app_home_shows_my_recent_answers(slack: SlackDriver) -> None:
    from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually

    await slack.command("widget lite oz", user="U0SALES1")
    await slack.command("fleet tracker uk", user="U0SALES2")
    await slack.post_json(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": "EvHomeAnswers",
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
    )
    await eventually(lambda: bool(calls(slack, "views.publish")))
    home = str(as_json(calls(slack, "views.publish")[-1].body["view"]))
    assert "My answers" in home and "Widget Lite in AU: Not available" in home
    assert "Fleet Tracker" not in home  # someone else's
