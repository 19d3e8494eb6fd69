"""Must-show: two or three concurrent Teams clicks on Send (each its own activity, the
same card with its submit token) make one feedback item and one triage card, and each
click is answered as the first was; a form opened again is a new submission; two clicks
on a product edit card's Save apply the edit once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.handlers.teams.conftest import PM_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of
from tests.handlers.test_submissions import count, edits


async def teams_form(teams: TeamsDriver) -> tuple[str, dict[str, Any]]:
    """The feedback card's Send: its verb and the data it carries (state with the token)."""
    await teams.say("feedback Acme needs SAML single sign-on")
    dm = f"a:dm-{teams.activity()['from']['aadObjectId']}"
    card = card_of(teams.connector.messages(dm)[-1].body)
    [send] = [a for a in card["actions"] if a.get("verb") == "feedback.submit"]
    return send["verb"], dict(send["data"])


FILLED = {
    "product": "WDG-PRO",
    "kind": "feature_request",
    "client": "Acme Corp",
    "urgency": "high",
    "details": "Acme needs SAML single sign-on",
}


async def test_teams_clicks_on_send_make_one_item(teams: TeamsDriver) -> None:
    verb, data = await teams_form(teams)
    assert data["state"]["submit"]  # the card carries its submit token
    clicks = await asyncio.gather(*(teams.execute(verb, {**data, **FILLED}) for _ in range(3)))
    clicks += [await teams.execute(verb, {**data, **FILLED}) for _ in range(2)]
    assert {status for status, _ in clicks} == {200}
    shown = {json.dumps(answer["value"], sort_keys=True) for _, answer in clicks}
    assert len(shown) == 1 and "Product has it as #1" in shown.pop()
    assert await count(teams, "feedback_item") == 1
    assert await count(teams, "outbox") == 1  # one triage card


async def test_a_teams_form_opened_again_is_a_new_submission(teams: TeamsDriver) -> None:
    verb, first = await teams_form(teams)
    await teams.execute(verb, {**first, **FILLED})
    verb, second = await teams_form(teams)
    assert second["state"]["submit"] != first["state"]["submit"]
    await teams.execute(verb, {**second, **FILLED, "duplicate_of": "new"})
    assert await count(teams, "feedback_item") == 2


async def test_a_redelivered_activity_is_answered_as_the_first(teams: TeamsDriver) -> None:
    """A card sent before forms carried a submit token: the activity's id names the
    submission, so Teams re-delivering it (same id) makes nothing more."""
    verb, data = await teams_form(teams)
    untokened = {**data, "state": {k: v for k, v in data["state"].items() if k != "submit"}}
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {**untokened, **FILLED}}}
    activity = teams.activity(type="invoke", name="adaptiveCard/action", value=value)
    answers = await asyncio.gather(*(teams.post(activity) for _ in range(2)))
    answers.append(await teams.post(activity))
    shown = {json.dumps(answer["value"], sort_keys=True) for _, answer in answers}
    assert len(shown) == 1 and "Product has it as #1" in shown.pop()
    assert await count(teams, "feedback_item") == 1
    assert await count(teams, "outbox") == 1  # one triage card
    # Another click on that card is a new activity, and a new submission.
    await teams.execute(verb, {**untokened, **FILLED, "duplicate_of": "new"})
    assert await count(teams, "feedback_item") == 2


async def test_two_clicks_on_save_apply_a_product_edit_once(teams: TeamsDriver) -> None:
    _, form = await teams.execute("product.edit", {"value": "WDG-LITE"}, user=PM_AAD)
    card = form["value"]
    rules = next(el for el in card["body"] if el.get("id") == "availability")
    [save] = [a for a in card["actions"] if a.get("verb") == "product.save"]
    assert save["data"]["state"]["submit"]
    filled = {
        **save["data"],
        "availability": rules["value"].replace("AU: not_available — Not licensed", "AU: available"),
    }
    clicks = await asyncio.gather(
        *(teams.execute("product.save", filled, user=PM_AAD) for _ in "ab")
    )
    assert {status for status, _ in clicks} == {200}
    shown = {json.dumps(answer["value"], sort_keys=True) for _, answer in clicks}
    assert len(shown) == 1 and "Widget Lite saved. Sales will hear what changed." in shown.pop()
    assert await edits(teams, "WDG-LITE") == 1
