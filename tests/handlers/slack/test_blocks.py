"""Block Kit rendering on plain dicts: structure, escaping, limits."""

from __future__ import annotations

import datetime as dt

from bot.catalog import CatalogView, answer_query
from bot.replies import Assessment, Freshness, Notice, ProductAnswer
from bot.types import Competitor, Doc, Lifecycle, PricingBand, Region, SalesProduct, Verdict
from handlers.slack.blocks import ephemeral_json, render

HOSTILE = SalesProduct(
    sku="X-1",
    name="Evil <!channel> & Co",
    lifecycle=Lifecycle.GA,
    pricing_band="B",
    summary="Ping <@U123> and <!here>",
    traits=("<https://evil.example|click>",),
    competitors=(Competitor("<!everyone>", "a > b"),),
    docs=(Doc("Sheet <b>", "https://docs.example.com/x"),),
)


def test_catalog_text_cannot_ping_or_link() -> None:
    reply = ProductAnswer(
        HOSTILE,
        Region("AU", "Australia"),
        Assessment(
            Verdict.PLANNED,
            "Soon",
            dt.date(2027, 2, 15),
            PricingBand("B", "Growth", 10_000, 50_000, "USD"),
        ),
    )
    message = render(reply)
    shown = str(message)
    for raw in ("<!channel>", "<@U123>", "<!here>", "<!everyone>", "<https://evil"):
        assert raw not in shown
    assert "&lt;!channel&gt;" in message["text"]
    assert "<https://docs.example.com/x|Sheet &lt;b&gt;>" in shown  # our own links stay links
    assert "Planned* — Soon, from 15 Feb 2027" in shown


def test_every_reply_kind_renders_within_slack_limits(demo_view: CatalogView) -> None:
    queries = [
        "australia widget pro",
        "widget lite oz",
        "australia widget",
        "australia",
        "ledger sync",
        "quantum toaster uk",
        "germany",
    ]
    for q in queries:
        message = render(answer_query(demo_view, q))
        assert message["text"] and len(message["blocks"]) <= 50
        for block in message["blocks"]:
            text = block.get("text", {}).get("text", "")
            assert len(text) <= 3000
    notice = render(Notice("Done"))
    assert notice == {
        "text": "Done",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Done"}}],
    }


def test_share_button_only_when_asked(demo_view: CatalogView) -> None:
    reply = answer_query(demo_view, "australia widget pro")
    assert any(b["type"] == "actions" for b in render(reply)["blocks"])
    assert not any(b["type"] == "actions" for b in render(reply, share=False)["blocks"])


def test_a_product_answer_renders_the_same_from_the_memo_and_cannot_be_corrupted(
    demo_view: CatalogView,
) -> None:
    import dataclasses

    reply = answer_query(demo_view, "widget lite in australia")
    assert isinstance(reply, ProductAnswer)
    assert answer_query(demo_view, "widget lite oz") is reply  # one object per version
    first = render(reply)
    first["blocks"].append({"type": "divider"})  # e.g. the "Shared by" line
    again = render(reply)
    assert {"type": "divider"} not in again["blocks"]
    assert again == render(reply)
    verified = dataclasses.replace(
        reply, verified=Freshness(dt.datetime(2026, 11, 1), "U0PM1", 3, False)
    )
    assert render(verified) != again  # what the asker sees is part of the key
    assert "<@U0PM1>" in str(render(verified)["blocks"])
    assert render(reply, share=False) != again


async def test_the_ack_body_is_what_bolt_would_encode_and_a_product_answer_is_kept(
    demo_view: CatalogView,
) -> None:
    import dataclasses
    import json

    from slack_bolt.context.ack.async_ack import AsyncAck

    for q in ["australia widget pro", "widget lite oz", "australia widget", "australia", "zzz"]:
        reply = answer_query(demo_view, q)
        sent = await AsyncAck()(**render(reply), response_type="ephemeral")  # what ack() sends
        assert json.loads(ephemeral_json(reply)) == json.loads(sent.body), q
    reply = answer_query(demo_view, "widget lite in australia")
    assert ephemeral_json(reply) is ephemeral_json(reply)  # encoded once, then kept
    verified = dataclasses.replace(
        reply, verified=Freshness(dt.datetime(2026, 11, 1), "U0PM1", 3, False)
    )
    assert "<@U0PM1>" in ephemeral_json(verified) and "<@U0PM1>" not in ephemeral_json(reply)
