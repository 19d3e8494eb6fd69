"""/product naming several markets and/or segments, end to end on Slack, Teams and the
console: every named combination answered (a market the catalog lacks named first, as Not
available), the other markets asked never said as exceptions, and Share in channel and See
all carrying all of them within Slack's limits."""

from __future__ import annotations

from typing import Any

from tests.bot.test_several_markets import _many_markets, many_markets_question
from tests.handlers.conftest import SlackDriver
from tests.handlers.slack.test_feedback_flow import as_json
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


# --------------------------------------------------------------------------- every combination


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
    }


async def test_slack_shares_every_market_named_not_the_headline_alone(slack: SlackDriver) -> None:
    private = (await slack.command("widget pro france japan")).json
    assert private["text"].startswith("Widget Pro: Restricted in Japan — Deal desk approval; also")
    shown = str(private["blocks"])
    assert "*Also asked*" in shown and "*France*: :large_green_circle: *Available*" in shown
    assert "*Except*" not in shown  # France is no exception to Japan's verdict
    value = _buttons(private["blocks"])["product.share"]
    await slack.action("product.share", value)
    shared = slack.fake.responses[-1]
    assert shared["response_type"] == "in_channel"
    assert shared["text"] == private["text"]
    without_buttons = [b for b in private["blocks"] if b["type"] != "actions"]
    assert as_json(shared["blocks"])[:-1] == without_buttons  # then "Shared by"
    assert "*France*: :large_green_circle: *Available*" in str(shared["blocks"])


async def test_slack_names_a_market_the_catalog_lacks_among_several(slack: SlackDriver) -> None:
    for _ in range(2):
        body = (await slack.command("widget pro france china")).json
    assert body["text"].startswith(
        "I don't know the market “China”: no rule covers it, so treat Widget Pro as Not "
        "available there. Widget Pro: Available in France"
    )
    first = body["blocks"][0]["text"]["text"]
    assert first.startswith(":no_entry: I don't know the market “China”")
    assert "*Widget Pro* in *France*" in body["blocks"][1]["text"]["text"]
    value = _buttons(body["blocks"])["product.share"]
    await slack.action("product.share", value)
    shared = slack.fake.responses[-1]
    assert shared["text"] == body["text"]
    assert as_json(shared["blocks"])[0] == body["blocks"][0]
    gaps = await slack.services.updates.gap_report()
    assert "2 lookups for Widget Pro in China — no such market in the catalog" in gaps


async def test_slack_many_markets_stay_within_slacks_limits_and_see_all_lists_them(
    slack: SlackDriver,
) -> None:
    """95 markets with 32-character codes: the press value stays within 2,000 characters
    (those beyond are counted and said), every text within 3,000 and the message within
    50 blocks (the drivers validate each with slack_sdk and Slack's limits), and See all
    answers every market the press carries, not the headline alone."""
    await slack.services.catalog.import_catalog(_many_markets(120))
    body = (await slack.command(many_markets_question(95))).json
    buttons = _buttons(body["blocks"])
    assert len(buttons["product.all"]) <= 2000 and len(body["blocks"]) <= 50
    assert buttons["product.all"] == buttons["product.share"]
    assert "more markets named: ask about them apart" in body["text"]
    await slack.action("product.all", buttons["product.all"])
    everything = slack.fake.responses[-1]
    assert len(everything["blocks"]) <= 50
    listed = str(everything["blocks"])
    told = buttons["product.all"].split("|")[1].split(",")
    assert len(told) > 40
    assert all(f"Market {int(code[-4:]):03d}" in listed for code in told)
    assert "product.all" not in listed  # nothing more to see


async def test_slack_several_products_in_several_markets_pick_the_product_first(
    slack: SlackDriver,
) -> None:
    body = (await slack.command("widget japan france")).json
    assert body["text"].startswith("3 products match “widget” in ")
    shown = str(body["blocks"])
    assert "• *Widget Pro* in *Japan*: :large_orange_circle: *Restricted*" in shown
    assert "also asked: France (Available)" in shown


async def test_the_console_answers_every_market_and_shares_them(
    db_url: str, engine: object
) -> None:
    out = await converse(
        db_url,
        lines("widget pro germany narnia", "widget pro france japan", "1", "widget japan france"),
    )
    narnia = next(o for o in out if o.startswith("I don't know the market “narnia”"))
    assert "Widget Pro: Available in Germany" in narnia
    private, shared = [o for o in out if o.startswith("Widget Pro: Restricted in Japan")]
    assert "  Also asked:\n    - France: Available" in private
    assert shared.split("\n[")[0] == private.split("\n[")[0]  # the same, buttons aside
    choices = next(o for o in out if o.startswith("3 products match “widget”"))
    assert "  - Widget Pro in Japan: Restricted — Deal desk approval; also asked: France" in (
        choices
    )


# --------------------------------------------------------------------------- capabilities


async def test_slack_answers_a_capability_in_every_market_named(slack: SlackDriver) -> None:
    body = (await slack.command("saml australia japan")).json
    assert body["text"].startswith("Products with “saml” in Japan and Australia: ")
    shown = str(body["blocks"])
    assert "in Japan and Australia" in shown
    assert "• *Widget Enterprise Suite* in *Japan*: :large_orange_circle: *Restricted*" in shown
    assert "also asked: Australia (Available)" in shown
    # Many markets: every product's line bounded, the way to the rest said (the driver
    # validates the message with slack_sdk and Slack's limits).
    await slack.services.catalog.import_catalog(_many_markets(120))
    body = (await slack.command("saml " + " ".join(f"m{i:03d}" for i in range(60)))).json
    assert len(body["blocks"]) <= 50
    assert "in all 60 markets asked" in body["text"]
    assert "Ask about one of them by name" in str(body["blocks"][-1])


async def test_slack_offers_alternatives_sellable_in_every_market_named(
    slack: SlackDriver,
) -> None:
    body = (await slack.command("widget pro japan australia")).json
    alts = next(b for b in body["blocks"] if "Sellable alternatives" in str(b))["text"]["text"]
    assert alts.startswith("*Sellable alternatives in Japan and Australia*\n")
    assert "Widget Lite" not in alts  # Available in Japan, Not licensed in Australia
    assert "• *Widget Enterprise Suite* in *Japan*: :large_orange_circle: *Restricted*" in alts
    assert "also asked: Australia (Available)" in alts


async def test_the_console_answers_a_capability_and_alternatives_in_every_market(
    db_url: str, engine: object
) -> None:
    out = await converse(db_url, lines("saml australia japan", "widget pro japan australia"))
    found = next(o for o in out if o.startswith("Products with “saml” in Japan and Australia"))
    assert (
        "  - Widget Enterprise Suite in Japan: Restricted — Data residency review; "
        "also asked: Australia (Available)"
    ) in found
    answer = next(o for o in out if o.startswith("Widget Pro: Restricted in Japan"))
    alternatives = answer.split("  Sellable alternatives in Japan and Australia:\n")[1]
    assert "Widget Enterprise Suite in Japan: Restricted" in alternatives
    assert "Widget Lite" not in alternatives
