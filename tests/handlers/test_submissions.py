"""Must-show: one submission makes one item. A signed Slack view_submission replayed within
Slack's 5 minutes, or sent three times at once, makes one feedback item and one triage card
and is answered as the first was; two or three concurrent Teams clicks on Send (each its own
activity, the same card) make one item; the same holds for saving a briefing and for a
product edit (applied once, never undoing a later change)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from bot.editing import CONFLICT
from bot.types import UserRef
from tests.fakes import FakeSlack, payload_body, sign
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver, slack_server
from tests.handlers.slack.test_briefings import GOOD
from tests.handlers.slack.test_briefings import submit as briefing_submission
from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually, submission
from tests.handlers.slack.test_updates import opened, view_submission


async def count(slack_or_teams: Any, table: str) -> int:
    async with slack_or_teams.services.engine.connect() as conn:
        return int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")))


async def feedback_form(slack: SlackDriver) -> dict[str, Any]:
    await slack.command("Acme needs SAML single sign-on", command="/feedback")
    return as_json(calls(slack, "views.open")[-1].body["view"])


def signed(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """One request exactly as Slack signed it: replaying it sends these same bytes."""
    base = {"team": {"id": "T0TEAM", "domain": "acme"}, "api_app_id": "A0APP", "token": "x"}
    body = payload_body({**base, **payload})
    return body, sign(body)


def triage_cards(slack: SlackDriver) -> list[Any]:
    return [c for c in slack.fake.delivered("chat.postMessage") if c.body["channel"] == TRIAGE]


async def test_a_replayed_slack_submission_makes_one_item(slack: SlackDriver) -> None:
    form = await feedback_form(slack)
    body, headers = signed(
        submission(form, product="WDG-PRO", kind="feature_request", client="Acme Corp")
    )
    answers = [await slack.post(body, headers) for _ in range(5)]
    assert {a.status for a in answers} == {200}
    assert len({a.body for a in answers}) == 1  # each answered as the first was
    assert "Product has it as #1" in answers[0].body
    assert await count(slack, "feedback_item") == 1
    await eventually(lambda: len(triage_cards(slack)) == 1)
    await slack.services.background.idle()
    await asyncio.sleep(0.2)  # the worker had its chance to post a second card
    assert len(triage_cards(slack)) == 1


async def test_concurrent_copies_of_a_slack_submission_make_one_item(
    slack: SlackDriver,
) -> None:
    form = await feedback_form(slack)
    body, headers = signed(
        submission(form, product="WDG-PRO", kind="feature_request", client="Acme Corp")
    )
    answers = await asyncio.gather(*(slack.post(body, headers) for _ in range(3)))
    assert len({a.body for a in answers}) == 1 and "#1" in answers[0].body
    assert await count(slack, "feedback_item") == 1
    assert await count(slack, "outbox") == 1  # one triage card


async def test_a_corrected_resubmission_is_a_new_submission(slack: SlackDriver) -> None:
    form = await feedback_form(slack)
    first = submission(form, product="WDG-PRO", kind="feature_request", client="Acme Corp")
    await slack.interaction(first)
    # The same form with other values, or a form opened again, is not a copy.
    await slack.interaction(
        submission(form, product="WDG-LITE", kind="problem", client="Globex", duplicate_of="new")
    )
    assert await count(slack, "feedback_item") == 2


async def test_a_briefing_saved_twice_at_once_is_one_briefing(
    db_url: str, engine: Any, fake_slack: FakeSlack
) -> None:
    async with slack_server(db_url, fake_slack, worker=False) as slack:
        await slack.command("", command="/briefing", user=PMS[0])
        form = as_json(calls(slack, "views.open")[-1].body["view"])
        body, headers = signed(briefing_submission(form, PMS[0], GOOD))
        answers = await asyncio.gather(*(slack.post(body, headers) for _ in range(3)))
        answers += [await slack.post(body, headers) for _ in range(2)]
        assert len({a.body for a in answers}) == 1 and "Saved: #1" in answers[0].body
        assert slack.services.bot.briefings is not None
        mine = await slack.services.bot.briefings.mine(UserRef("slack", PMS[0]))
        assert [b.id for b in mine] == [1]


async def edits(slack_or_teams: Any, sku: str) -> int:
    """Product edits that changed something (one history row each)."""
    async with slack_or_teams.services.engine.connect() as conn:
        query = "SELECT count(*) FROM catalog_change WHERE sku = :sku AND source = 'edit'"
        return int(await conn.scalar(sa.text(query), {"sku": sku}))


async def test_a_replayed_product_edit_applies_once(
    db_url: str, engine: Any, fake_slack: FakeSlack
) -> None:
    async with slack_server(db_url, fake_slack, worker=False, announce_channel="C0ANN") as slack:
        queued = await count(slack, "outbox")
        await slack.command("edit widget lite", user=PMS[0])
        form = opened(slack)
        rules = next(b for b in form["blocks"] if b.get("block_id") == "availability")
        current = rules["element"]["initial_value"]
        available = current.replace("AU: not_available — Not licensed", "AU: available")
        body, headers = signed(view_submission(form, PMS[0], availability=available))
        answers = list(await asyncio.gather(*(slack.post(body, headers) for _ in range(3))))
        answers += [await slack.post(body, headers) for _ in range(2)]
        assert {a.status for a in answers} == {200}
        assert len({a.body for a in answers}) == 1  # each answered as the first was
        assert "Widget Lite saved. Sales will hear what changed." in answers[0].body
        assert await edits(slack, "WDG-LITE") == 1
        assert await count(slack, "outbox") == queued + 1  # one announcement

        # Another PM changes it back; the first PM's request replayed later undoes nothing.
        await slack.command("edit widget lite", user=PMS[1])
        await slack.interaction(view_submission(opened(slack), PMS[1], availability=current))
        assert await edits(slack, "WDG-LITE") == 2
        assert (await slack.post(body, headers)).body == answers[0].body
        assert await edits(slack, "WDG-LITE") == 2
        still = (await slack.command("widget lite in oz")).json["text"]
        assert still.startswith("Widget Lite: Not available in Australia")


async def test_a_product_form_opened_before_another_pms_save_cannot_undo_it(
    db_url: str, engine: Any, fake_slack: FakeSlack
) -> None:
    """Two PMs open the edit form; the second saves first; the first's save, from the form
    as it was opened, is refused with the form again instead of writing the old rules back."""
    async with slack_server(db_url, fake_slack, worker=False) as slack:
        await slack.command("edit widget lite", user=PMS[0])
        first_form = opened(slack)
        await slack.command("edit widget lite", user=PMS[1])
        second_form = opened(slack)
        rules = next(b for b in second_form["blocks"] if b.get("block_id") == "availability")
        current = rules["element"]["initial_value"]
        available = current.replace("AU: not_available — Not licensed", "AU: available")
        saved = await slack.interaction(
            view_submission(second_form, PMS[1], availability=available)
        )
        assert saved.status == 200 and await edits(slack, "WDG-LITE") == 1
        late = await slack.interaction(view_submission(first_form, PMS[0], summary="Light."))
        assert late.json["errors"]["lifecycle"] == CONFLICT
        assert await edits(slack, "WDG-LITE") == 1
        still = (await slack.command("widget lite in oz")).json["text"]
        assert still.startswith("Widget Lite: Available in Australia")
