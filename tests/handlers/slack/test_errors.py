"""A bug in a listener is caught once, logged, and answered with a short apology."""

from __future__ import annotations

import logging

import pytest

from bot.catalog import CatalogService
from bot.commands import Bot
from bot.replies import ERROR_APOLOGY
from tests.handlers.conftest import SlackDriver


async def test_a_failing_lookup_apologises(
    slack: SlackDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: Bot, **kwargs: object) -> None:
        raise RuntimeError("boom with xoxb-secret-token inside")

    monkeypatch.setattr(Bot, "handle", broken)
    with caplog.at_level(logging.ERROR):
        answer = await slack.command("australia widget pro")
    assert answer.status == 200  # Slack adds no "dispatch_failed" of its own
    assert "Traceback" not in answer.body and "boom" not in answer.body
    assert answer.json["text"] == ERROR_APOLOGY
    assert answer.json["response_type"] == "ephemeral"
    assert any("slack listener failed" in r.getMessage() for r in caplog.records)


async def test_a_failing_button_apologises_through_response_url(
    slack: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(CatalogService, "answer_for", broken)
    answer = await slack.action("product.share", "WDG-PRO|AU")
    assert answer.status == 200 and "boom" not in answer.body
    assert [r["text"] for r in slack.fake.responses] == [ERROR_APOLOGY]


async def test_a_failing_form_stays_open_with_the_apology(
    slack: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.feedback import FeedbackService

    async def broken(self: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(FeedbackService, "submit", broken)
    answer = await slack.interaction(
        {
            "type": "view_submission",
            "trigger_id": "1.2.3",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": "feedback.submit",
                "private_metadata": "{}",
                "hash": "h",
                "state": {
                    "values": {"client": {"client": {"type": "plain_text_input", "value": "Acme"}}}
                },
            },
        }
    )
    assert answer.status == 200
    assert answer.json == {"response_action": "errors", "errors": {"client": ERROR_APOLOGY}}
