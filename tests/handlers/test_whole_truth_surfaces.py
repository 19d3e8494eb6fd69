"""The whole truth on every surface: many exceptions show the first ones and a "See all"
press on Slack and Teams (the console lists them all), whom to ask as a mention, the
freshness line on the shared copy and the Teams card, and unknown markets in the gap list."""

from __future__ import annotations

from typing import Any

from tests.conftest import demo_text
from tests.handlers.conftest import PMS, SlackDriver
from tests.handlers.slack.test_feedback_flow import as_json
from tests.handlers.test_console_loop import converse, lines

COUNTRIES = ["UK", "DE", "FR", "NL", "AE", "ZA", "AU", "NZ", "JP", "SG", "IN", "CA", "BR"]
MESH = "\n".join(
    [
        "  - sku: MESH-R",
        "    name: Mesh Router",
        "    lifecycle: ga",
        "    owner: U01PMALICE",
        "    availability:",
        "      - {region: GLOBAL, status: available}",
        *(
            f"      - {{region: {c}, status: not_available, reason: Radio approval {c}}}"
            for c in COUNTRIES
        ),
    ]
)
CATALOG = demo_text().rstrip() + "\n\n" + MESH + "\n"


def _text(blocks: list[dict[str, Any]]) -> str:
    return str(blocks)


async def test_slack_shows_the_first_exceptions_and_see_all_shows_every_one(
    slack: SlackDriver,
) -> None:
    await slack.services.catalog.import_catalog(CATALOG)
    body = (await slack.command("mesh router global")).json
    assert body["text"].startswith(
        "Mesh Router: Available in Global except 13 markets: United Kingdom (Not available), "
        "Germany (Not available), France (Not available) and 10 more. Ask U01PMALICE"
    )
    shown = _text(body["blocks"])
    assert "Ask <@U01PMALICE>" in shown
    assert "Radio approval NL" in shown and "Radio approval IN" not in shown
    assert "and 5 more" in shown
    buttons = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    see_all = next(b for b in buttons if b["action_id"] == "product.all")
    assert see_all["value"] == "MESH-R|GLOBAL"
    await slack.action("product.all", see_all["value"])
    everything = slack.fake.responses[-1]
    assert everything["response_type"] == "ephemeral"
    listed = _text(everything["blocks"])
    assert all(f"Radio approval {c}" in listed for c in COUNTRIES)
    assert "product.all" not in listed  # nothing more to see


async def test_slack_share_copy_equals_the_private_answer_with_its_freshness(
    slack: SlackDriver,
) -> None:
    await slack.action("product.verify", "WDG-LITE", user=PMS[0])  # a PM confirms it
    private = (await slack.command("widget lite apac")).json
    await slack.action("product.share", "WDG-LITE|APAC")
    shared = slack.fake.responses[-1]
    blocks = as_json(shared["blocks"])
    without_buttons = [b for b in private["blocks"] if b["type"] != "actions"]
    assert blocks[:-1] == without_buttons
    assert shared["text"] == private["text"]
    assert f"Verified today by <@{PMS[0]}>" in _text(blocks)
    assert "Not verified yet" not in _text(blocks)
    assert "Australia" in _text(blocks)  # the exceptions are shared too


async def test_the_console_lists_every_exception(db_url: str, engine: object) -> None:
    out = await converse(db_url, lines("mesh router global"), catalog=CATALOG)
    answer = next(o for o in out if o.startswith("Mesh Router: Available in Global"))
    assert all(f"Radio approval {c}" in answer for c in COUNTRIES)
    assert "See all" not in answer


async def test_unknown_markets_count_in_the_weekly_gap_list(slack: SlackDriver) -> None:
    for _ in range(3):
        await slack.command("widget pro china")
    body = (await slack.command("widget pro in china")).json
    assert body["text"].startswith("I don't know the market “China”")
    lines_ = await slack.services.updates.gap_report()
    assert "4 lookups for Widget Pro in China — no such market in the catalog" in lines_


async def test_segments_are_listed(slack: SlackDriver) -> None:
    body = (await slack.command("segments")).json
    assert body["text"].startswith("Customer segments: Public sector (government, public")


async def test_an_ambiguity_in_a_market_the_catalog_lacks_keeps_it(slack: SlackDriver) -> None:
    body = (await slack.command("widget china")).json
    assert body["text"].startswith("3 products match “widget” in China: Widget Pro")
    shown = _text(body["blocks"])
    assert "in China:" in shown and "I don't know the market “China”" in shown
    assert shown.count("Not available") >= 3  # each choice, default deny
    lines_ = await slack.services.updates.gap_report()
    assert "1 lookup for widget in China — no such market in the catalog" in lines_
