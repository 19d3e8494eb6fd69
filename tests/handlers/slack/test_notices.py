"""Change notices over Slack (signed requests into the real server, a fake Web API, both
databases): whoever was given an answer that an import or an edit changes gets exactly one
DM per change set; nobody else does; re-importing sends nothing; notices can be turned off;
a first import is one line to the announce channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import demo_text
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_receipts import receipts_of
from tests.handlers.slack.test_updates import bullets, drain, opened, view_submission

# Widget Pro leaves the United Arab Emirates; Widget Lite's band moves in Australia? no:
# its Japan band moves (a band change without a verdict change).
UAE_RULE = (
    "      - {region: AE, status: not_available, reason: Export control, contact: U01PMALICE}\n"
)
CHANGED = demo_text().replace(
    "      - {region: JP, status: restricted, reason: Deal desk approval, pricing_band: C,",
    UAE_RULE
    + "      - {region: JP, status: restricted, reason: Deal desk approval, pricing_band: D,",
    1,
)


@pytest.fixture
async def slack(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(db_url, fake_slack, worker=False, announce_channel="C0ANNOUNCE") as d:
        await drain(d)
        fake_slack.calls.clear()
        yield d


def dms(slack: SlackDriver) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for call in slack.fake.delivered("chat.postMessage"):
        if call.body["channel"].startswith("U"):
            out.setdefault(call.body["channel"], []).append(call.body)
    return out


def today() -> str:
    d = dt.datetime.now(dt.UTC).date()
    return f"{d.day} {d:%b}"


async def test_an_import_tells_each_person_who_relied_on_an_answer_once(slack: SlackDriver) -> None:
    assert CHANGED != demo_text()
    await slack.command("widget pro uae", user="U0SALES1")
    await slack.command("widget pro in the emirates", user="U0SALES1")  # the same answer again
    await slack.command("widget pro japan", user="U0SALES1")  # its band changes too
    await slack.command("widget pro emea", user="U0SALES2")  # above it: its exceptions change
    await slack.command("widget lite oz", user="U0SALES3")  # another product: unchanged
    await slack.command("widget pro uk", user="U0SALES4")  # same product, unchanged market
    await slack.command("widget pro uae", user="U0SALES5")
    off = await slack.command("notices off", user="U0SALES5")
    assert off.json["text"].startswith("Change notices are off")

    await slack.services.catalog.import_catalog(CHANGED, actor=PMS[0])
    await drain(slack)
    got = dms(slack)
    assert set(got) == {"U0SALES1", "U0SALES2"}
    assert [len(v) for v in got.values()] == [1, 1]  # one DM per person per change set
    one = bullets(got["U0SALES1"][0])
    assert one == [
        f"On {today()} you were told Widget Pro is Available in United Arab Emirates. "
        "Since today it is Not available — Export control. Ask <@U01PMALICE>.",
        f"On {today()} you were told Widget Pro is Restricted (pricing band Enterprise "
        "($50,000–$250,000)) in Japan. Since today its pricing band is Strategic "
        "($250,000–$1,000,000).",
    ]
    two = bullets(got["U0SALES2"][0])
    assert two == [
        f"On {today()} you were told Widget Pro is Available in Europe, Middle East and "
        "Africa. Since today United Arab Emirates is Not available — Export control. "
        "Ask <@U01PMALICE>."
    ]
    assert "margin" not in str(got) and "Floor price" not in str(got)
    assert got["U0SALES1"][0]["text"].startswith("2 answers you were given have changed")

    # The same file again changes nothing, so nobody hears anything.
    slack.fake.calls.clear()
    assert (await slack.services.catalog.import_catalog(CHANGED, actor=PMS[0])).empty
    await drain(slack)
    assert dms(slack) == {}


async def test_an_edit_tells_who_asked_and_notices_come_back_on(slack: SlackDriver) -> None:
    await slack.command("notices off", user="U0SALES1")
    on = await slack.command("notices on", user="U0SALES1")
    assert on.json["text"].startswith("Change notices are on")
    await slack.command("widget lite in oz", user="U0SALES1")
    await slack.command("widget lite in oz", user="U0SALES2")
    asked_after = "U0SALES3"

    await slack.command("edit widget lite", user=PMS[0])
    form = opened(slack)
    rules = next(b for b in form["blocks"] if b.get("block_id") == "availability")
    current = rules["element"]["initial_value"]
    saved = await slack.interaction(
        view_submission(
            form,
            PMS[0],
            availability=current.replace("AU: not_available — Not licensed", "AU: available"),
        )
    )
    assert saved.json["response_action"] == "update"
    await slack.command("widget lite in oz", user=asked_after)  # told the new answer
    await drain(slack)
    got = dms(slack)
    assert set(got) == {"U0SALES1", "U0SALES2"}
    assert bullets(got["U0SALES2"][0]) == [
        f"On {today()} you were told Widget Lite is Not available in Australia. "
        "Since today it is Available."
    ]


async def test_a_product_taken_out_of_the_catalog_is_news_to_who_asked(
    slack: SlackDriver,
) -> None:
    await slack.command("fleet tracker uk", user="U0SALES1")
    start = demo_text().index("  - sku: FLT-TRK")
    end = demo_text().index("\n  - sku: ", start + 1)
    without = demo_text()[:start] + demo_text()[end + 1 :]
    changes = await slack.services.catalog.import_catalog(without, actor=PMS[0])
    assert [p.sku for p in changes.removed] == ["FLT-TRK"]
    await drain(slack)
    [dm] = dms(slack)["U0SALES1"]
    [line] = bullets(dm)
    assert line.startswith(f"On {today()} you were told Fleet Tracker is ")
    assert " in United Kingdom. Since today it is no longer in the catalog." in line


async def test_a_first_import_is_one_line_to_the_announce_channel(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with slack_server(
        db_url,
        fake_slack,
        worker=False,
        announce_channel="C0ANNOUNCE",
        region_channels={"APAC": "C0APAC"},
    ) as slack:
        await drain(slack)
        posted = [c.body for c in fake_slack.delivered("chat.postMessage")]
    assert [p["channel"] for p in posted] == ["C0ANNOUNCE"]
    products = demo_text().count("\n  - sku: ")
    assert bullets(posted[0]) == [f"Catalog loaded: {products} products in 19 markets"]


# Widget Pro leaves France (sold there until now: Available from its global rule).
FRANCE_CHANGED = demo_text().replace(
    "      - {region: JP, status: restricted, reason: Deal desk approval, pricing_band: C,",
    "      - {region: FR, status: not_available, reason: Export control, contact: U01PMALICE}\n"
    "      - {region: JP, status: restricted, reason: Deal desk approval, pricing_band: C,",
    1,
)


async def test_each_market_of_a_several_markets_answer_is_a_receipt_and_its_notice(
    slack: SlackDriver,
) -> None:
    assert FRANCE_CHANGED != demo_text()
    question = "widget pro germany france japan"
    said = (await slack.command(question, user="U0SALES1")).json["text"]
    # Japan heads (the most restrictive); France and Germany are listed beside it.
    assert said.startswith("Widget Pro: Restricted in Japan")
    assert "France (Available)" in said and "Germany (Available)" in said
    await slack.command("widget pro germany", user="U0SALES2")  # Germany only: unchanged
    # Share in channel and See all on that answer record what they show, for who pressed.
    whole = (await slack.services.catalog.lookup(question)).whole_key  # type: ignore[union-attr]
    assert (await slack.action("product.share", whole, user="U0SALES3")).status == 200
    assert slack.fake.responses[-1]["response_type"] == "in_channel"
    assert (await slack.action("product.all", whole, user="U0SALES4")).status == 200
    assert "Financial services in Germany" in str(slack.fake.responses[-1]["blocks"])

    got = await receipts_of(slack.services)
    pressed = [
        (rep, "WDG-PRO", market, verdict, reason)
        for rep in ("U0SALES1", "U0SALES3", "U0SALES4")
        for market, verdict, reason in (
            ("DE", "Available", ""),
            ("FR", "Available", ""),
            ("JP", "Restricted", "Deal desk approval"),
        )
    ]
    assert sorted((r.user_id, r.sku, r.region, r.verdict, r.reason) for r in got) == sorted(
        [*pressed, ("U0SALES2", "WDG-PRO", "DE", "Available", "")]
    )
    assert {r.segment for r in got} == {None}
    version = await slack.services.catalog.catalog_version()
    assert {r.catalog_version for r in got} == {version}

    await slack.services.catalog.import_catalog(FRANCE_CHANGED, actor=PMS[0])
    await drain(slack)
    got_dms = dms(slack)
    # One DM each, naming France alone; none to who asked about Germany alone.
    assert set(got_dms) == {"U0SALES1", "U0SALES3", "U0SALES4"}
    for rep in ("U0SALES1", "U0SALES3", "U0SALES4"):
        [dm] = got_dms[rep]
        assert bullets(dm) == [
            f"On {today()} you were told Widget Pro is Available in France. "
            "Since today it is Not available — Export control. Ask <@U01PMALICE>."
        ]
