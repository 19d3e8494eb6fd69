"""Every outbox payload that is a message has a Slack, a Teams and a console rendering, and
a change notice says the same on all three (the copy is bot.notices')."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot import payloads
from bot.approvals import ApprovalCard
from bot.catalog import CatalogView, product_answer
from bot.notices import NOTICES
from bot.outbox import OutboxMessage
from bot.payloads import ChangeNotice, NoticeLine
from bot.replies import ApprovalNote
from bot.types import UserRef
from handlers.console import Inboxes, render_text
from handlers.slack import blocks
from handlers.teams import cards
from tests import validators

ROOT = Path(__file__).resolve().parent.parent
NOTICE = ChangeNotice(
    "2026-12-02",
    (
        NoticeLine(
            "2026-11-03",
            "Widget <Pro>",
            "Available",
            "United Arab Emirates",
            "it is Not available — Export control",
            "U01PMALICE",
        ),
    ),
)
SENTENCE = (
    "On 3 Nov you were told Widget {p} is Available in United Arab Emirates. Since today it "
    "is Not available — Export control. Ask {who}."
)


def test_each_notifier_renders_change_notices_and_refuses_the_fan_out_job() -> None:
    """The fan-out is the worker's own work (platform NOTICES), never a chat message."""
    for path in ("handlers/slack/notifier.py", "handlers/teams/notifier.py"):
        source = (ROOT / path).read_text()
        assert "payloads.ChangeNotice" in source and "payloads.NoticeFanout" in source, path
    assert "payloads.ChangeNotice" in (ROOT / "handlers/console.py").read_text()
    assert NOTICES not in ("slack", "teams", "console")


async def test_a_change_notice_reads_the_same_everywhere() -> None:
    today = dt.date(2026, 12, 2)
    assert payloads.decode(NOTICE.encode()) == NOTICE
    slack = blocks.change_notice(NOTICE, today=today)
    assert SENTENCE.format(p="&lt;Pro&gt;", who="<@U01PMALICE>") in str(slack["blocks"])
    teams = cards.change_notice(NOTICE, today=today)
    assert SENTENCE.format(p="&lt;Pro&gt;", who="U01PMALICE") in str(teams["body"])
    inboxes = Inboxes()
    message = OutboxMessage(1, "k", "console", "dm", "U0SALES1", NOTICE.encode(), 1)
    await inboxes.deliver(message)
    [text] = inboxes.messages["U0SALES1"]
    assert text.startswith("An answer you were given has changed:")
    # The console renders at today's date: "today" only when the change is today.
    assert "On 3 Nov you were told Widget <Pro> is Available in United Arab Emirates." in text


def test_a_long_notice_fits_one_message_and_counts_the_rest() -> None:
    many = ChangeNotice("2026-12-02", NOTICE.lines * 30, more=5)
    slack = blocks.change_notice(many, today=dt.date(2026, 12, 2))
    section = slack["blocks"][1]["text"]["text"]
    assert len(section) <= 3000
    shown = section.count("On 3 Nov")
    assert 5 < shown < 30
    assert section.endswith(
        f"… and {30 - shown + 5} more: ask `/product` again for today's answers."
    )


ASK = payloads.ApprovalAsk(
    3, "Widget <Pro>", "Japan", "Restricted — Deal desk approval", "Acme & Co", "$250,000",
    "Renewal", "U0SALES1", "slack",
)  # fmt: skip
DECIDED = payloads.ApprovalDecided(
    3, "Widget <Pro>", "Japan", "Acme & Co", "approved", "Within band C", "U01DEALDESK", "slack",
    "2027-01-02",
)  # fmt: skip


async def test_approval_requests_and_decisions_render_on_every_surface() -> None:
    for path in ("handlers/slack/notifier.py", "handlers/teams/notifier.py", "handlers/console.py"):
        source = (ROOT / path).read_text()
        assert "payloads.ApprovalAsk" in source and "payloads.ApprovalDecided" in source, path
    assert payloads.decode(ASK.encode()) == ASK
    assert payloads.decode(DECIDED.encode()) == DECIDED
    card = ApprovalCard(ASK)
    slack = blocks.approval_card(card)
    assert "Widget &lt;Pro&gt;" in str(slack["blocks"]) and "Acme &amp; Co" in str(slack["blocks"])
    teams = cards.approval_card(card)
    assert [a["verb"] for a in teams["actions"]] == [b.action.value for b in card.buttons]
    sentence = (
        "Your approval request #3 (Widget {p} in Japan for Acme {a} Co): Approved by {who}, "
        "valid until 2 Jan 2027. Note: Within band C"
    )
    dm = blocks.approval_decided_dm(DECIDED)
    assert sentence.format(p="&lt;Pro&gt;", a="&amp;", who="<@U01DEALDESK>") in dm["text"]
    assert sentence.format(p="&lt;Pro&gt;", a="&", who="a Slack user") in str(
        cards.approval_decided(DECIDED)["body"]
    )
    inboxes = Inboxes()
    await inboxes.deliver(OutboxMessage(1, "k", "console", "dm", "U0DEAL", ASK.encode(), 1))
    await inboxes.deliver(OutboxMessage(2, "j", "console", "dm", "U0SALES1", DECIDED.encode(), 1))
    assert inboxes.approvals["U0DEAL"] == [ASK]
    [decided] = inboxes.decided["U0SALES1"]
    text = render_text(decided)
    assert text == "(message) " + sentence.format(p="<Pro>", a="&", who="U01DEALDESK")


def test_what_approvals_and_the_coverage_csv_send_passes_the_platforms_judges(
    demo_view: CatalogView,
) -> None:
    from bot.commands import CoverageCsv
    from bot.reports import Period, Report

    report = Report(Period("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31), 1.0), (), (), 0)
    answer = product_answer(demo_view, demo_view.by_sku["WDG-PRO"], demo_view.catalog.regions["JP"])
    held = answer.with_approval(
        ApprovalNote(3, "Acme & <Co>", UserRef("slack", "U01DESK"), dt.date(2027, 1, 2))
    )
    for name, message in (
        ("approval card", blocks.approval_card(ApprovalCard(ASK))),
        ("approval DM", blocks.approval_decided_dm(DECIDED)),
        ("coverage CSV", blocks.render(CoverageCsv(report))),
        ("approved answer", blocks.render(held)),
    ):
        validators.slack_message(message, name)
    for name, card in (
        ("approval card", cards.approval_card(ApprovalCard(ASK))),
        ("approval DM", cards.approval_decided(DECIDED)),
        ("coverage CSV", cards.coverage_csv(CoverageCsv(report))),
        ("coverage CSV link", cards.coverage_csv(CoverageCsv(report), "https://x.example/c.csv")),
        ("approved answer", cards.render(held)),
    ):
        validators.adaptive_card(card, name)
    assert validators.take() == []
    assert "Approved for Acme &amp; &lt;Co&gt; by <@U01DESK> until 2 Jan" in str(
        blocks.render(held)["blocks"]
    )


def test_an_approval_cards_refresh_renders_on_every_surface_and_passes_the_judges() -> None:
    """Each notifier updates the cards it posted (the console prints the card again); the
    decided card offers nothing to press, the card waiting for an answer what still applies."""
    from bot.approvals import ApprovalStatus

    for path in ("handlers/slack/notifier.py", "handlers/teams/notifier.py", "handlers/console.py"):
        assert "payloads.ApprovalRefresh" in (ROOT / path).read_text(), path
    refresh = payloads.ApprovalRefresh(3, "slack:E0ORG:T0A")
    assert payloads.decode(refresh.encode()) == refresh
    at = dt.datetime(2026, 12, 4, 18, 30, tzinfo=dt.UTC)
    by = UserRef("slack", "U01DEALDESK")
    decided = ApprovalCard(ASK, ApprovalStatus.APPROVED, by, at, "Band <C> & co",
                           at + dt.timedelta(days=30))  # fmt: skip
    waiting = ApprovalCard(ASK, ApprovalStatus.MORE_INFO, by, at)
    slack, teams = blocks.approval_card(decided), cards.approval_card(decided)
    sentence = "Approved by {who} on 04 Dec 18:30 UTC, valid until 3 Jan 2027. Note: Band {n}"
    assert sentence.format(who="<@U01DEALDESK>", n="&lt;C&gt; &amp; co") in str(slack["blocks"])
    assert sentence.format(who="a Slack user", n="&lt;C&gt; & co") in str(teams["body"])
    assert "actions" not in str(slack["blocks"]) and "input" not in str(slack["blocks"])
    assert "actions" not in teams and "Input.Text" not in str(teams)
    assert [a["verb"] for a in cards.approval_card(waiting)["actions"]] == [
        "approval.approve",
        "approval.decline",
    ]
    text = render_text(decided)
    assert "  Approved by U01DEALDESK on 04 Dec 18:30 UTC, valid until 3 Jan 2027." in text
    for name, message in (("decided", slack), ("waiting", blocks.approval_card(waiting))):
        validators.slack_message(message, f"{name} approval card")
    for name, card in (("decided", teams), ("waiting", cards.approval_card(waiting))):
        validators.adaptive_card(card, f"{name} approval card")
    assert validators.take() == []
