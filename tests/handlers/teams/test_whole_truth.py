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


def _inputs(value: object) -> dict[str, str]:
    """Every input of a card with the value it is prefilled with (what a submit sends back
    when the person changes nothing)."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        if str(value.get("type", "")).startswith("Input.") and "value" in value:
            found[value["id"]] = value["value"]
        for v in value.values():
            found |= _inputs(v)
    elif isinstance(value, list):
        for v in value:
            found |= _inputs(v)
    return found


async def test_a_teams_edit_keeps_segment_rules_and_contacts_and_the_whole_truth(
    teams: TeamsDriver,
) -> None:
    """Widget Pro has segment-scoped rules with their own contacts: saving its edit card as
    it was prefilled changes none of them, changing one line changes that rule only, and
    every answer afterwards still names the exceptions and reads segment words."""
    before = (await teams.services.catalog.product_spec("WDG-PRO")).products[0]
    assert any(r.segment and r.contact for r in before.rules)
    _, form = await teams.execute("product.edit", {"value": "WDG-PRO"}, user=PM_AAD)
    values = _inputs(form["value"]["body"])
    assert "DE/PUB: not_available contact U01PUBSEC" in values["availability"]
    _, saved = await teams.execute(
        "product.save", {"state": {"sku": "WDG-PRO"}, **values}, user=PM_AAD
    )
    assert "Nothing had changed" in str(saved["value"])
    assert (await teams.services.catalog.product_spec("WDG-PRO")).products[0] == before

    values["availability"] = values["availability"].replace(
        "EMEA/FSI: restricted contact U01COMPLY", "EMEA/FSI: restricted contact U01BANKDESK"
    )
    _, saved = await teams.execute(
        "product.save", {"state": {"sku": "WDG-PRO"}, **values, "summary": ""}, user=PM_AAD
    )
    assert "Widget Pro saved. Sales will hear" in str(saved["value"])
    after = (await teams.services.catalog.product_spec("WDG-PRO")).products[0]
    changed = [(a, b) for a, b in zip(before.rules, after.rules, strict=True) if a != b]
    assert [(a.region, a.segment, b.contact) for a, b in changed] == [
        ("EMEA", "FSI", "U01BANKDESK")
    ]
    assert after.summary == ""  # a field sent empty is cleared; the rules stay whole

    # This process patched its view with the edit: the answers stay the whole truth.
    await teams.say("product widget pro france banks")
    dm = f"a:dm-{SALES_AAD}"
    assert teams.connector.messages(dm)[-1].body["text"] == (
        "Widget Pro: Restricted in France for Financial services — Compliance review for "
        "banks and insurers. Ask U01BANKDESK"
    )
    await teams.say("product widget pro emea")
    assert (
        "Public sector in Germany (Not available)" in teams.connector.messages(dm)[-1].body["text"]
    )
