"""/product naming several markets on Teams: a market the catalog lacks named first, the
other markets asked never said as exceptions, and Share and See all answering every one
(each card validated against the Adaptive Card schema by the fake connector)."""

from __future__ import annotations

from tests.bot.test_several_markets import _many_markets, many_markets_question
from tests.handlers.teams.conftest import SALES_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of

DM = f"a:dm-{SALES_AAD}"


async def test_teams_shares_every_market_named(teams: TeamsDriver) -> None:
    await teams.say("product widget pro germany narnia")
    private = card_of(teams.connector.messages(DM)[-1].body)
    assert private["body"][0]["text"].startswith("I don't know the market “narnia”")
    assert private["body"][1]["text"] == "Widget Pro in Germany"
    await teams.say("product widget pro france japan")
    private = card_of(teams.connector.messages(DM)[-1].body)
    texts = [b.get("text", "") for b in private["body"]]
    also = next(t for t in texts if t.startswith("**Also asked**\n"))
    assert "- France: " in also and "Available" in also
    assert not any(t.startswith("**Except**") for t in texts)
    share = next(a for a in private["actions"] if a.get("verb") == "product.share")
    status, _ = await teams.execute("product.share", share["data"])
    assert status == 200
    shared = card_of(teams.connector.messages(DM)[-1].body)
    assert shared["body"][:-1] == private["body"]  # the same answer, then "Shared by"


async def test_teams_see_all_lists_every_market_named(teams: TeamsDriver) -> None:
    await teams.services.catalog.import_catalog(_many_markets(120))
    await teams.say("product " + many_markets_question(95))
    card = card_of(teams.connector.messages(DM)[-1].body)
    see_all = next(a for a in card["actions"] if a.get("verb") == "product.all")
    assert len(see_all["data"]["value"]) <= 2000
    status, answer = await teams.execute("product.all", see_all["data"])
    assert status == 200
    listed = str(answer["value"]["body"])
    told = see_all["data"]["value"].split("|")[1].split(",")
    assert len(told) > 40  # every market the press can carry, not the headline alone
    assert all(f"Market {int(code[-4:]):03d}" in listed for code in told)


async def test_teams_answers_a_capability_and_alternatives_in_every_market(
    teams: TeamsDriver,
) -> None:
    await teams.say("product saml australia japan")
    found = card_of(teams.connector.messages(DM)[-1].body)
    assert found["body"][0]["text"] == "Products with “saml” in Japan and Australia"
    suite = next(b["text"] for b in found["body"] if "Widget Enterprise Suite" in b["text"])
    assert suite.startswith("- Widget Enterprise Suite in Japan: **Restricted**")
    assert "also asked: Australia (Available)" in suite
    await teams.say("product widget pro japan australia")
    answer = card_of(teams.connector.messages(DM)[-1].body)
    alts = next(b["text"] for b in answer["body"] if b.get("text", "").startswith("**Sellable alt"))
    assert alts.startswith("**Sellable alternatives in Japan and Australia**\n")
    assert "Widget Lite" not in alts
    assert "- Widget Enterprise Suite in Japan: **Restricted**" in alts
