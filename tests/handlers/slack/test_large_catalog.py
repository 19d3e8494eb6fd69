"""Large catalogs in Slack: a product with 150 rules is edited a page at a time without
losing one, and the region fields reach every one of 250 regions, within Slack's modal
limits (100 blocks, 3,000 characters a text field, 100 options a static menu)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.editing import rule_line
from bot.types import UserRef
from tests.big_catalog import BIG_NAME, BIG_SKU, big_catalog
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_briefings import submit
from tests.handlers.slack.test_feedback_flow import submission
from tests.handlers.slack.test_updates import opened, view_submission


@pytest.fixture
async def big(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(db_url, fake_slack) as driver:
        await driver.services.catalog.import_catalog(big_catalog(regions=250, rules=150))
        yield driver


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def within_modal_limits(view: dict[str, Any]) -> None:
    assert len(view["blocks"]) <= 100
    assert len(view["private_metadata"]) <= 3000
    for b in view["blocks"]:
        el = b.get("element", {})
        assert len(el.get("initial_value", "")) <= el.get("max_length", 3000) <= 3000
        assert len(el.get("options", [])) <= 100


async def rules_of(driver: SlackDriver) -> list[str]:
    spec = await driver.services.catalog.export_catalog()
    return [rule_line(r) for r in next(p for p in spec.products if p.sku == BIG_SKU).rules]


async def test_editing_one_rule_of_150_keeps_all_the_others(big: SlackDriver) -> None:
    before = await rules_of(big)
    assert len(before) == 150
    await big.command(f"edit {BIG_NAME}", user=PMS[0])
    first = opened(big)
    within_modal_limits(first)
    then = block(first, "then")["element"]
    assert then["initial_option"]["value"] == "close"
    pages = [o["value"] for o in then["options"]][1:]
    assert len(pages) >= 2

    # Save the first page unchanged and go on to the last one.
    moved = await big.interaction(view_submission(first, PMS[0], then=pages[-1]))
    assert moved.json["response_action"] == "update"
    last = moved.json["view"]
    within_modal_limits(last)
    assert last["blocks"][0]["text"]["text"].startswith(f"{BIG_NAME} saved. Nothing had changed.")
    current = block(last, "availability")["element"]["initial_value"]
    line = current.splitlines()[-1]
    assert line == before[-1]
    region = line.split(":")[0]

    saved = await big.interaction(
        view_submission(
            last,
            PMS[0],
            availability=current.replace(line, f"{region}: not_available — Sanctions"),
        )
    )
    assert saved.json["response_action"] == "update"
    assert "saved. Sales will hear what changed." in str(saved.json["view"])
    after = await rules_of(big)
    assert after == [*before[:-1], f"{region}: not_available — Sanctions"]
    spec = await big.services.catalog.export_catalog()
    name = next(r.name for r in spec.regions if r.code == region)
    answer = (await big.command(f"{BIG_NAME} in {name}")).json["text"]
    assert answer.startswith(f"{BIG_NAME}: Not available in {name} — Sanctions. Ask ")


async def test_region_fields_reach_every_one_of_250_regions(big: SlackDriver) -> None:
    spec = await big.services.catalog.export_catalog()
    assert len(spec.regions) == 250
    far = spec.regions[-1]  # beyond any 100-option static menu

    await big.command("", command="/briefing", user=PMS[0])
    briefing = opened(big)
    within_modal_limits(briefing)
    regions = block(briefing, "regions")["element"]
    assert regions["type"] == "multi_external_select"
    assert regions["action_id"] == "search.regions"

    async def suggest(typed: str) -> list[dict[str, Any]]:
        got = await big.interaction(
            {
                "type": "block_suggestion",
                "action_id": "search.regions",
                "block_id": "regions",
                "value": typed,
                "container": {"type": "view", "view_id": "V0B"},
            }
        )
        options: list[dict[str, Any]] = got.json["options"]
        return options

    assert len(await suggest("")) == 100  # Slack's most, never more
    found = await suggest(far.name)
    assert found[0] == {
        "text": {"type": "plain_text", "text": f"{far.name} ({far.code})"},
        "value": far.code,
    }
    today = big.services.bot.coverage.today().isoformat()  # type: ignore[union-attr]
    saved = await big.interaction(
        submit(
            briefing,
            PMS[0],
            {
                "held_on": today,
                "regions": [far.code],
                "people": "4",
                "shared": "Roadmap",
                "minutes": "20",
            },
        )
    )
    assert saved.json["response_action"] == "update", saved.json
    assert big.services.bot.briefings is not None
    [logged] = await big.services.bot.briefings.mine(UserRef("slack", PMS[0]))
    assert logged.regions == (far.code,)

    # The feedback form's region is the same search.
    await big.command("Client needs an offline mode for the field teams", command="/feedback")
    feedback = opened(big)
    within_modal_limits(feedback)
    region = block(feedback, "region")["element"]
    assert (region["type"], region["action_id"]) == ("external_select", "search.regions")
    sent = await big.interaction(
        submission(
            feedback, product="BCN-LITE", kind="feature_request", client="Acme", region=far.code
        )
    )
    assert sent.json["response_action"] == "update", sent.json
    [item] = (await big.services.feedback.home(UserRef("slack", "U0SALES1"))).mine
    assert item.region_code == far.code
