"""The whole truth on Teams: the freshness line, "See all" for many exceptions, and whom
to ask as a mention."""

from __future__ import annotations

from tests.handlers.teams.conftest import PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of
from tests.handlers.test_whole_truth_surfaces import CATALOG, COUNTRIES


async def test_teams_card_has_the_freshness_line_and_see_all(teams: TeamsDriver) -> None:
    await teams.services.catalog.import_catalog(CATALOG)
    await teams.say("product mesh router global")
    dm = f"a:dm-{SALES_AAD}"
    card = card_of(teams.connector.messages(dm)[-1].body)
    texts = [b.get("text", "") for b in card["body"]]
    assert "Verified today by catalog import" in texts  # the freshness line, as on Slack
    assert any("Radio approval NL" in t and "Radio approval IN" not in t for t in texts)
    verbs = [a.get("verb") for a in card.get("actions", [])]
    assert "product.all" in verbs
    status, answer = await teams.execute("product.all", {"value": "MESH-R|GLOBAL"})
    assert status == 200  # the card is refreshed in place with every exception listed
    listed = str(answer["value"]["body"])
    assert all(f"Radio approval {c}" in listed for c in COUNTRIES)


async def test_teams_names_a_teams_contact_as_a_mention(teams: TeamsDriver) -> None:
    owner = (
        "    owner: U01PMALICE\n    availability:\n      - {region: GLOBAL, status: available}\n"
    )
    assert CATALOG.count(owner) >= 1
    at = CATALOG.rindex(owner)  # Mesh Router, the last product
    contact = owner.replace("    availability:", f"    contact: teams:{PM_AAD}\n    availability:")
    text = CATALOG[:at] + contact + CATALOG[at + len(owner) :]
    assert f"contact: teams:{PM_AAD}" in text
    await teams.services.catalog.import_catalog(text)
    await teams.say("product mesh router uk")
    card = card_of(teams.connector.messages(f"a:dm-{SALES_AAD}")[-1].body)
    assert f"Ask <at>{PM_AAD}</at>" in str(card["body"])
    assert card["msteams"]["entities"][0]["mentioned"]["id"] == PM_AAD
