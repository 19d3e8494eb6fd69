"""Teams does what Slack does: share, competitive differences, briefing corrections, a note on
every decision, My feedback, the message action, region channels and the weekly posts."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.history_data import seed_history
from handlers.app import weekly
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of, eventually

DM = f"a:dm-{SALES_AAD}"
PM_DM = f"a:dm-{PM_AAD}"


def verbs(card: dict[str, Any]) -> list[str]:
    found = [a.get("verb") for a in card.get("actions", [])]
    for el in card["body"]:
        found += [a.get("verb") for a in el.get("actions", [])]
    return [v for v in found if v]


async def feedback(teams: TeamsDriver, kind: str = "feature_request", **extra: str) -> Any:
    values = {
        "product": "WDG-PRO",
        "kind": kind,
        "client": "Acme Corp",
        "urgency": "normal",
        "details": "Acme needs SAML single sign-on before the renewal",
        **extra,
    }
    _, ok = await teams.execute("feedback.submit", values)
    return ok


async def triage_channel(teams: TeamsDriver) -> None:
    await teams.say("use this channel for triage", conversation_type="channel", user=PM_AAD)


async def test_share_posts_the_same_answer_visibly_marked_with_who_shared(
    teams: TeamsDriver,
) -> None:
    await teams.say("product widget lite in oz")
    private = card_of(teams.connector.messages(DM)[-1].body)
    assert verbs(private) == ["product.share"]
    status, toast = await teams.execute("product.share", {"value": "WDG-LITE|AU"})
    assert status == 200 and toast["type"] == "application/vnd.microsoft.activity.message"
    shared = card_of(teams.connector.messages(DM)[-1].body)
    assert shared["body"][:-1] == private["body"]  # the same answer, freshness included
    assert shared["body"][-1]["text"] == f"Shared by {SALES_AAD}"
    assert verbs(shared) == []


async def test_a_note_on_every_decision_and_decline_asks_for_one(teams: TeamsDriver) -> None:
    await triage_channel(teams)
    await feedback(teams)
    await eventually(lambda: len(teams.connector.messages(CHANNEL)) == 2)
    card = card_of(teams.connector.messages(CHANNEL)[-1].body)
    assert any(el.get("id") == "note" for el in card["body"])
    # Decline without a note: the note form, on the card.
    _, asked = await teams.execute(
        "triage.decline", {"value": "1"}, user=PM_AAD, conversation_type="channel"
    )
    form = asked["value"]
    assert [a["verb"] for a in form["actions"]] == ["triage.note"]
    data = form["actions"][0]["data"]
    _, back = await teams.execute(
        "triage.note", {**data, "note": ""}, user=PM_AAD, conversation_type="channel"
    )
    assert "Add a note to the submitter" in str(back["value"])
    _, done = await teams.execute(
        "triage.note",
        {**data, "note": "Not this year"},
        user=PM_AAD,
        conversation_type="channel",
    )
    assert "**Status:** Declined" in str(done["value"])  # back to the refreshed triage card

    def dms() -> list[Any]:
        return [p for p in teams.connector.messages(DM) if "declined" in str(p.body.get("text"))]

    await eventually(lambda: len(dms()) == 1)
    assert "Note from product: Not this year" in dms()[0].body["text"]


async def test_competitive_feedback_becomes_part_of_the_answer_on_teams(
    teams: TeamsDriver,
) -> None:
    await triage_channel(teams)
    await feedback(teams, kind="competitive", details="Gizmotron now syncs offline too")
    await eventually(lambda: len(teams.connector.messages(CHANNEL)) == 2)
    card = card_of(teams.connector.messages(CHANNEL)[-1].body)
    assert "feedback.compete" in verbs(card)
    _, refused = await teams.execute("feedback.compete", {"value": "1"}, user=SALES_AAD)
    assert refused["value"].startswith("Only product managers")
    _, form = await teams.execute("feedback.compete", {"value": "1"}, user=PM_AAD)
    [submit] = form["value"]["actions"]
    _, done = await teams.execute(
        submit["verb"],
        {**submit["data"], "competitor": "Gizmotron", "difference": "We sync offline everywhere"},
        user=PM_AAD,
    )
    assert "#1" in str(done["value"])
    await teams.say("product widget pro in oz")
    assert "vs Gizmotron: We sync offline everywhere" in str(teams.connector.messages(DM)[-1].body)


async def test_an_edit_from_a_feedback_item_tells_its_people_on_teams(teams: TeamsDriver) -> None:
    other = "00000000-0000-0000-0000-0000000000b3"
    await triage_channel(teams)
    await feedback(teams, details="Acme needs Widget Pro in Japan without the deal desk")
    plus_one = {"product": "WDG-PRO", "kind": "feature_request", "client": "Globex",
                "urgency": "normal", "details": "Globex needs Widget Pro in Japan too",
                "duplicate_of": "1"}  # fmt: skip
    _, supported = await teams.execute("feedback.submit", plus_one, user=other)
    assert "+1" in str(supported) or "#1" in str(supported)
    await eventually(lambda: any("feedback.edit" in verbs(card_of(p.body))
                                 for p in teams.connector.messages(CHANNEL)[1:]))  # fmt: skip
    _, refused = await teams.execute("feedback.edit", {"value": "1"}, user=SALES_AAD)
    assert refused["value"].startswith("Only product managers")
    _, form = await teams.execute("feedback.edit", {"value": "1"}, user=PM_AAD)
    [submit] = form["value"]["actions"]
    rules = next(el for el in form["value"]["body"] if el.get("id") == "availability")["value"]
    jp = next(line for line in rules.split("\n") if line.startswith("JP: restricted"))
    data = {**submit["data"], "availability": rules.replace(jp, "JP: available")}
    _, done = await teams.execute(submit["verb"], data, user=PM_AAD)
    assert "feedback.edit" in verbs(done["value"])  # back to the item's card
    await teams.execute(submit["verb"], data, user=PM_AAD)  # a second click tells no one again
    changed = "Widget Pro is now Available in Japan (was Restricted)"

    def told(conversation: str) -> list[Any]:
        return [p for p in teams.connector.messages(conversation) if changed in str(p.body)]

    await eventually(lambda: len(told(DM)) == 1 and len(told(f"a:dm-{other}")) == 1)
    assert "Widget Pro changed after your feedback #1" in str(told(DM)[0].body)
    await asyncio.sleep(0.3)
    assert len(told(DM)) == 1 and told(PM_DM) == []


async def test_briefings_are_corrected_and_deleted_from_the_list(teams: TeamsDriver) -> None:
    today = teams.services.bot.coverage.today().isoformat()  # type: ignore[union-attr]
    values = {
        "held_on": today,
        "regions": "AU",
        "people": "9",
        "shared": "Roadmap",
        "minutes": "30",
    }
    await teams.execute("briefing.save", values, user=PM_AAD)
    await teams.say("briefing list", user=PM_AAD)
    listing = card_of(teams.connector.messages(PM_DM)[-1].body)
    assert verbs(listing) == ["briefing.menu", "briefing.menu"]
    _, refused = await teams.execute("briefing.menu", {"value": "delete:1"}, user=SALES_AAD)
    assert "only change your own" in refused["value"] or "Only product managers" in str(refused)
    _, form = await teams.execute("briefing.menu", {"value": "correct:1"}, user=PM_AAD)
    [submit] = form["value"]["actions"]
    people = next(el for el in form["value"]["body"] if el.get("id") == "people")
    assert people["value"] == "9"
    _, saved = await teams.execute(
        submit["verb"], {**submit["data"], **values, "people": "12"}, user=PM_AAD
    )
    assert "12 people" in str(saved["value"])
    _, deleted = await teams.execute("briefing.menu", {"value": "delete:1"}, user=PM_AAD)
    assert deleted["value"].startswith("Deleted briefing #1")


async def test_home_and_the_welcome_card_show_my_feedback_and_the_queue(
    teams: TeamsDriver,
) -> None:
    await feedback(teams)
    await teams.say("home")
    mine = card_of(teams.connector.messages(DM)[-1].body)
    assert "My feedback" in str(mine) and "#1" in str(mine) and "Open queue" not in str(mine)
    added = teams.activity(type="conversationUpdate", user=PM_AAD)
    added["membersAdded"] = [{"id": "28:bot"}]
    await teams.post(added)
    welcome = card_of(teams.connector.messages(PM_DM)[-1].body)
    assert "Ask me where a product may be sold" in str(welcome)
    assert "Open queue" in str(welcome) and "New: **1**" in str(welcome)


async def test_send_to_product_team_from_a_message(teams: TeamsDriver) -> None:
    await triage_channel(teams)
    message = {
        "commandId": "feedback.from_message",
        "commandContext": "message",
        "messagePayload": {
            "body": {"contentType": "html", "content": "<p>Client says Gizmotron cut prices</p>"},
            "linkToMessage": "https://teams.microsoft.com/l/message/19:abc/123",
        },
    }
    status, fetched = await teams.post(
        teams.activity(type="invoke", name="composeExtension/fetchTask", value=message)
    )
    assert status == 200
    form = fetched["task"]["value"]["card"]["content"]
    details = next(el for el in form["body"] if el.get("id") == "details")
    assert details["value"] == "Client says Gizmotron cut prices"
    [submit] = form["actions"]
    assert submit["type"] == "Action.Submit"  # dialogs take Action.Submit
    values = {"product": "-", "kind": "competitive", "client": "Acme Corp", "urgency": "normal"}
    _, again = await teams.post(
        teams.activity(
            type="invoke",
            name="composeExtension/submitAction",
            value={"commandId": "feedback.from_message", "data": {**submit["data"]}},
        )
    )
    assert again["task"]["type"] == "continue"  # errors: the dialog again
    _, done = await teams.post(
        teams.activity(
            type="invoke",
            name="composeExtension/submitAction",
            value={
                "commandId": "feedback.from_message",
                "data": {**submit["data"], **values, "details": details["value"]},
            },
        )
    )
    assert done["composeExtension"]["text"].startswith("Thanks. Product has it as #1")
    item = await teams.services.feedback.get(1)
    assert item is not None and item.permalink == message["messagePayload"]["linkToMessage"]


async def test_region_channels_and_new_threads(teams: TeamsDriver) -> None:
    thread = f"{CHANNEL};messageid=1700000000001"
    await teams.say(
        "use this channel for APAC announcements",
        conversation=thread,
        conversation_type="channel",
        user=PM_AAD,
    )
    assert "for Asia Pacific" in teams.connector.messages(thread)[-1].body["text"]
    stored = await teams.services.conversations.get(key="teams:region:APAC")
    assert stored is not None and stored["conversation"]["id"] == CHANNEL  # not the thread
    await teams.say(
        "use this channel for narnia announcements", conversation_type="channel", user=PM_AAD
    )
    assert "can't use a channel for" in teams.connector.messages(CHANNEL)[-1].body["text"]
    text = (await asyncio.to_thread(_demo)).replace(
        "{region: AU, status: not_available, reason: Not licensed}",
        "{region: AU, status: available}",
        1,
    )
    await teams.services.catalog.import_catalog(text)
    await eventually(
        lambda: any("in Australia" in str(p.body) for p in teams.connector.messages(CHANNEL))
    )


async def test_the_weekly_gap_list_and_digest_reach_teams_channels(teams: TeamsDriver) -> None:
    await triage_channel(teams)
    await teams.say(
        "use this channel for management reports", conversation_type="channel", user=PM_AAD
    )
    await teams.say("product quantum toaster uk")  # a lookup that finds nothing
    await teams.services.updates.flush_misses()
    await weekly(teams.services)
    await eventually(
        lambda: (
            any("quantum toaster" in str(p.body) for p in teams.connector.messages(CHANNEL))
            and any(
                "Coverage" in str(p.body.get("text")) for p in teams.connector.messages(CHANNEL)
            )
        )
    )


def _demo() -> str:
    from tests.conftest import demo_text

    return demo_text()


async def test_home_pages_with_more_on_teams(teams: TeamsDriver) -> None:
    await seed_history(teams.services.engine, items=60, briefings=0)  # 18 waiting
    await teams.say("home", user=PM_AAD)
    first = card_of(teams.connector.messages(PM_DM)[-1].body)
    assert "1–10 of 18" in str(first)
    [more] = [a for a in first["actions"] if a.get("verb") == "home.more"]
    _, answer = await teams.execute(more["verb"], more["data"], user=PM_AAD)
    assert "11–18 of 18" in str(answer) and "home.more" not in str(answer)
