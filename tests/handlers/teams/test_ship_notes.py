"""Mark actioned with what shipped, on Teams: the form replaces the triage card, its link is
checked, the submitter and the supporter are told, a forged or repeated submission changes
nothing."""

from __future__ import annotations

from typing import Any

from tests.handlers.teams.conftest import PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_parity import feedback, triage_channel
from tests.handlers.teams.test_revenue import OTHER_AAD, SAML, field_error, values
from tests.handlers.teams.test_teams import eventually

NOTES = "https://docs.example.com/releases/4.2#sso"


def told(teams: TeamsDriver, user: str) -> list[str]:
    return [
        str(p.body.get("text"))
        for p in teams.connector.messages(f"a:dm-{user}")
        if "actioned" in str(p.body.get("text"))
    ]


async def test_what_shipped_reaches_everyone_on_teams(teams: TeamsDriver) -> None:
    await triage_channel(teams)
    await feedback(teams)
    plus_one = values(client="Globex", details=SAML + " too", duplicate_of="1")
    await teams.execute("feedback.submit", plus_one, user=OTHER_AAD)
    await teams.execute("triage.now", {"value": "1"}, user=PM_AAD, conversation_type="channel")
    _, asked = await teams.execute(
        "triage.actioned", {"value": "1"}, user=PM_AAD, conversation_type="channel"
    )
    form = asked["value"]
    assert [el.get("id") for el in form["body"] if el.get("id")][-3:] == [
        "shipped",
        "shipped_link",
        "note",
    ]
    [submit] = form["actions"]
    assert submit["verb"] == "triage.note"
    data: dict[str, Any] = submit["data"]

    _, bad = await teams.execute(
        "triage.note",
        {**data, "shipped": "SSO", "shipped_link": "javascript:alert(1)"},
        user=PM_AAD,
        conversation_type="channel",
    )
    assert field_error(bad["value"], "shipped_link") == "A web address starting with https://"
    _, forged = await teams.execute(
        "triage.note", {**data, "shipped": "Nothing"}, user=SALES_AAD, conversation_type="channel"
    )
    assert "Only product managers" in str(forged["value"])
    shipped = {**data, "shipped": "SAML SSO with Okta", "shipped_link": NOTES}
    _, done = await teams.execute("triage.note", shipped, user=PM_AAD, conversation_type="channel")
    assert "**Status:** Actioned" in str(done["value"])
    _, again = await teams.execute(
        "triage.note", {**shipped, "shipped": "Other"}, user=PM_AAD, conversation_type="channel"
    )
    assert "already decided" in str(again["value"])

    await eventually(lambda: bool(told(teams, SALES_AAD)) and bool(told(teams, OTHER_AAD)))
    for user in (SALES_AAD, OTHER_AAD):
        [dm] = told(teams, user)
        assert f"What shipped: SAML SSO with Okta {NOTES}." in dm and "Other" not in dm
