"""Large catalogs in Teams: a product with 150 rules is edited a page at a time without
losing one, and the region fields search 250 regions (Data.Query type-ahead), each card
within Teams' size limit."""

from __future__ import annotations

import json
from typing import Any

from bot.editing import rule_line
from bot.types import UserRef
from tests.big_catalog import BIG_NAME, BIG_SKU, big_catalog
from tests.handlers.teams.conftest import PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of

CARD_LIMIT = 28_000  # bytes: Teams refuses larger Adaptive Cards


def submit_data(card: dict[str, Any], **values: str) -> tuple[str, dict[str, Any]]:
    """What Teams sends when the card's submit is pressed: its data and every input."""
    action = next(a for a in card["actions"] if a["type"] == "Action.Execute")
    data = dict(action["data"])
    for el in card["body"]:
        if el.get("type", "").startswith("Input."):
            data[el["id"]] = values.get(el["id"], el.get("value", ""))
    return action["verb"], data


async def rules_of(teams: TeamsDriver) -> list[str]:
    spec = await teams.services.catalog.export_catalog()
    return [rule_line(r) for r in next(p for p in spec.products if p.sku == BIG_SKU).rules]


async def test_editing_one_rule_of_150_keeps_all_the_others(teams: TeamsDriver) -> None:
    await teams.services.catalog.import_catalog(big_catalog(regions=250, rules=150))
    before = await rules_of(teams)
    await teams.say(f"product edit {BIG_NAME}", user=PM_AAD)
    form = card_of(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    assert len(json.dumps(form).encode()) < CARD_LIMIT
    rules = next(el for el in form["body"] if el.get("id") == "availability")
    assert len(rules["value"]) <= rules["maxLength"] == 3000
    then = next(el for el in form["body"] if el.get("id") == "then")
    pages = [c["value"] for c in then["choices"]][1:]

    verb, data = submit_data(form, then=pages[0])  # save this page, then the second one
    _, second = await teams.execute(verb, data, user=PM_AAD)
    page = second["value"]
    assert len(json.dumps(page).encode()) < CARD_LIMIT
    assert f"{BIG_NAME} saved. Nothing had changed." in str(page["body"])
    current = next(el for el in page["body"] if el.get("id") == "availability")["value"]
    line = current.splitlines()[0]
    region = line.split(":")[0]
    changed = current.replace(line, f"{region}: restricted — Deal desk approval")

    verb, data = submit_data(page, availability=changed)
    _, saved = await teams.execute(verb, data, user=PM_AAD)
    assert f"{BIG_NAME} saved. Sales will hear what changed." in str(saved["value"])
    after = await rules_of(teams)
    assert len(after) == 150
    assert after == [
        f"{region}: restricted — Deal desk approval" if r == line else r for r in before
    ]


async def test_region_fields_reach_every_one_of_250_regions(teams: TeamsDriver) -> None:
    await teams.services.catalog.import_catalog(big_catalog(regions=250, rules=150))
    spec = await teams.services.catalog.export_catalog()
    assert len(spec.regions) == 250
    far = spec.regions[-1]

    async def search(typed: str) -> list[dict[str, str]]:
        status, found = await teams.post(
            teams.activity(
                type="invoke",
                name="application/search",
                value={"kind": "search", "queryText": typed, "dataset": "regions"},
            )
        )
        assert status == 200
        results: list[dict[str, str]] = found["value"]["results"]
        return results

    await teams.say("briefing", user=PM_AAD)
    form = card_of(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)
    assert len(json.dumps(form).encode()) < CARD_LIMIT  # no card listing 250 regions
    regions = next(el for el in form["body"] if el.get("id") == "regions")
    assert regions["choices.data"] == {"type": "Data.Query", "dataset": "regions"}
    assert len(await search("")) == 15  # Teams shows at most 15
    assert (await search(far.name))[0] == {"title": f"{far.name} ({far.code})", "value": far.code}
    today = teams.services.bot.coverage.today().isoformat()  # type: ignore[union-attr]
    _, saved = await teams.execute(
        "briefing.save",
        {
            "held_on": today,
            "regions": far.code,
            "people": "4",
            "shared": "Roadmap",
            "minutes": "20",
        },
        user=PM_AAD,
    )
    assert "Saved: #1" in str(saved["value"])

    # Correcting it shows the region by name, though the card lists no regions of its own.
    _, again = await teams.execute("briefing.menu", {"value": "correct:1"}, user=PM_AAD)
    picked = next(el for el in again["value"]["body"] if el.get("id") == "regions")
    assert (picked["value"], picked["choices"]) == (
        far.code,
        [{"title": f"{far.name} ({far.code})", "value": far.code}],
    )

    await teams.say("feedback Client needs an offline mode for the field teams")
    feedback = card_of(teams.connector.messages(f"a:dm-{SALES_AAD}")[-1].body)
    region = next(el for el in feedback["body"] if el.get("id") == "region")
    assert region["choices.data"] == {"type": "Data.Query", "dataset": "regions"}
    _, sent = await teams.execute(
        "feedback.submit",
        {
            "product": "BCN-LITE",
            "kind": "feature_request",
            "client": "Acme",
            "urgency": "normal",
            "region": far.code,
            "details": "Client needs an offline mode for the field teams",
        },
    )
    assert "Product has it as #1" in str(sent["value"])
    [item] = (await teams.services.feedback.home(UserRef("teams", SALES_AAD))).mine
    assert item.region_code == far.code
