"""/product naming two customer segments in one market, end to end: both verdicts, each
with its reason, on Slack and on the console."""

from __future__ import annotations

from tests.handlers.conftest import SlackDriver
from tests.handlers.test_console_loop import converse, lines


async def test_slack_answers_both_segments_with_the_worst_first(slack: SlackDriver) -> None:
    body = (await slack.command("widget pro banks government germany")).json
    assert body["text"].startswith(
        "Widget Pro: Not available in Germany for Public sector — Needs BSI C5 attestation"
    )
    shown = str(body["blocks"])
    assert "for *Public sector*" in shown and "*Not available* — Needs BSI C5 attestation" in shown
    assert "*Financial services*: :large_orange_circle: *Restricted* — Compliance review" in shown
    assert "government" not in shown  # never read as an unknown market


async def test_the_console_answers_both_markets(db_url: str, engine: object) -> None:
    out = await converse(db_url, lines("widget pro germany france"))
    answer = next(o for o in out if o.startswith("Widget Pro: Available in France"))
    assert "Germany: Available" in answer
    assert "Public sector in Germany: Not available — Needs BSI C5 attestation" in answer
