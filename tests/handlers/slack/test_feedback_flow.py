"""Must-show: the feedback loop end to end, driven exactly as Slack drives it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history_data import seed_history
from tests.fakes import Call
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver


async def eventually(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for the outbox worker (running inside the server) to have done something."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - the fake exposes state, not events
            await asyncio.sleep(0.02)


def calls(slack: SlackDriver, method: str) -> list[Call]:
    return [c for c in slack.fake.calls if c.method == method]


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def state(view: dict[str, Any], **values: str) -> dict[str, Any]:
    """Fill a modal the way a person would, producing Slack's view.state.values."""
    out: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        el = block["element"]
        value = values.get(block["block_id"])
        if el["type"] in ("static_select", "external_select", "radio_buttons"):
            chosen = {"value": value} if value else el.get("initial_option")
            out[block["block_id"]] = {
                el["action_id"]: {"type": el["type"], "selected_option": chosen}
            }
        else:
            out[block["block_id"]] = {
                el["action_id"]: {
                    "type": el["type"],
                    "value": value if value is not None else el.get("initial_value"),
                }
            }
    return {"values": out}


def submission(view: dict[str, Any], user: str = "U0SALES1", **values: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "trigger_id": "123.456.abc",
        "user": {"id": user, "username": "sam", "team_id": "T0TEAM"},
        "view": {
            "id": "V0FORM",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view.get("private_metadata", ""),
            "hash": "h1",
            "state": state(view, **values),
        },
    }


async def test_feedback_end_to_end(slack: SlackDriver) -> None:
    # 1. /feedback opens the form, prefilled, inside Slack's 3 seconds.
    answer = await slack.command(
        "Acme needs SAML single sign-on before the renewal", command="/feedback"
    )
    assert answer.status == 200
    opened = calls(slack, "views.open")
    assert len(opened) == 1
    assert opened[0].body["trigger_id"] == "123.456.abc"
    form = as_json(opened[0].body["view"])
    details = next(b for b in form["blocks"] if b.get("block_id") == "details")
    assert details["element"]["initial_value"].startswith("Acme needs SAML")
    segment = next(b for b in form["blocks"] if b.get("block_id") == "segment")
    assert segment["optional"] and segment["element"]["type"] == "static_select"

    # 2. The product picker, typed with a typo, puts the right product first.
    picked = await slack.interaction(
        {
            "type": "block_suggestion",
            "action_id": "search.products",
            "block_id": "product",
            "value": "widgit pro",
            "container": {"type": "view", "view_id": "V0FORM"},
        }
    )
    options = picked.json["options"]
    assert options[0]["value"] == "WDG-PRO"
    assert options[-1]["text"]["text"] == "Not product-specific"

    # 3. Invalid input is answered inline, not lost.
    bad = await slack.interaction(
        submission(form, product="WDG-PRO", kind="feature_request", client="", deal_value="a lot")
    )
    assert bad.json["response_action"] == "errors"
    assert set(bad.json["errors"]) == {"client", "deal_value"}

    # 4. A valid submission is confirmed, and the triage card is posted with its buttons.
    ok = await slack.interaction(
        submission(
            form,
            product="WDG-PRO",
            kind="feature_request",
            client="Acme Corp",
            region="Australia",
            segment="FSI",
            deal_value="250000",
            urgency="high",
        )
    )
    assert ok.json["response_action"] == "update"
    assert "#1" in str(ok.json["view"])
    await eventually(lambda: len(calls(slack, "chat.postMessage")) == 1)
    posted = calls(slack, "chat.postMessage")[0]
    post = posted.body
    assert post["channel"] == TRIAGE
    card = str(as_json(post["blocks"]))
    for part in (
        "Widget Pro",
        "Acme Corp",
        "Australia",
        "*Customer segment*\\nFinancial services",  # picked from the catalog's segments
        "$250,000",
        "triage.now",
        "triage.later",
        "triage.decline",
        "triage.merge",
    ):
        assert part in card

    # 5. A sales user pressing a PM's button changes nothing and is told.
    triage = {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE}
    refused = await slack.action("triage.now", "1", user="U0SALES9", container=triage)
    assert refused.status == 200
    assert slack.fake.responses[-1]["text"].startswith("Only product managers can decide")
    assert slack.fake.responses[-1]["response_type"] == "ephemeral"

    # 6. A PM's double click makes one decision; the second click is told who decided.
    first, second = await asyncio.gather(
        slack.action("triage.now", "1", user=PMS[0], container=triage),
        slack.action("triage.now", "1", user=PMS[0], container=triage),
    )
    assert first.status == second.status == 200
    assert "already decided: Act now by <@U0PM1>" in slack.fake.responses[-1]["text"]

    # 7. Exactly one DM to the submitter, naming the request; the card updated in place.
    await eventually(
        lambda: len(calls(slack, "chat.update")) >= 1 and len(calls(slack, "chat.postMessage")) >= 2
    )
    await asyncio.sleep(0.3)  # anything doubled would have arrived by now
    dms = [c.body for c in calls(slack, "chat.postMessage") if c.body["channel"] == "U0SALES1"]
    assert len(dms) == 1
    assert dms[0]["text"].startswith("Your feedback #1 “Widget Pro: Acme needs SAML")
    assert "Product will act on it now" in dms[0]["text"]
    updates = calls(slack, "chat.update")
    assert len(updates) == 1
    assert (updates[0].body["channel"], updates[0].body["ts"]) == (TRIAGE, posted.answer["ts"])
    updated = str(as_json(updates[0].body["blocks"]))
    assert "*Status:* Act now by <@U0PM1>" in updated
    assert "triage.actioned" in updated and "triage.now" not in updated


async def submit_feedback(slack: SlackDriver, user: str, client: str, details: str) -> Any:
    await slack.command(details, command="/feedback", user=user)
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    return await slack.interaction(
        submission(form, user=user, product="WDG-PRO", kind="feature_request", client=client)
    )


async def test_similar_feedback_offers_plus_one_with_my_client(slack: SlackDriver) -> None:
    first = await submit_feedback(
        slack, "U0SALES1", "Acme Corp", "Needs SAML single sign-on before the renewal"
    )
    assert first.json["response_action"] == "update"
    second = await submit_feedback(
        slack, "U0SALES2", "Globex", "Needs SAML single sign-on before the renewal too"
    )
    # The same form comes back, every value kept, asking about the similar item first.
    assert second.json["response_action"] == "update"
    form = second.json["view"]
    assert form["blocks"][1]["block_id"] == "duplicate_of"
    assert "+1 with my client: #1" in str(form["blocks"][1])
    client = next(b for b in form["blocks"] if b.get("block_id") == "client")
    assert client["element"]["initial_value"] == "Globex"
    plus_one = await slack.interaction(submission(form, user="U0SALES2", duplicate_of="1"))
    assert "Your client is now on #1" in str(plus_one.json["view"])
    item = await slack.services.feedback.get(1)
    assert item is not None and [s.client for s in item.supporters] == ["Globex"]
    assert await slack.services.feedback.get(2) is None  # no duplicate was created


async def test_message_shortcut_prefills_text_and_permalink(slack: SlackDriver) -> None:
    answer = await slack.interaction(
        {
            "type": "message_action",
            "callback_id": "feedback.from_message",
            "trigger_id": "123.456.abc",
            "response_url": slack.fake.response_url(),
            "channel": {"id": "C0SALES", "name": "sales"},
            "message": {
                "type": "message",
                "ts": "1700000000.000200",
                "user": "U0CLIENTRELAY",
                "text": "Client says Gizmotron just cut prices by 20%",
            },
        }
    )
    assert answer.status == 200
    assert calls(slack, "chat.getPermalink")[0].body["message_ts"] == "1700000000.000200"
    view = as_json(calls(slack, "views.open")[0].body["view"])
    details = next(b for b in view["blocks"] if b.get("block_id") == "details")
    assert details["element"]["initial_value"] == "Client says Gizmotron just cut prices by 20%"
    permalink = "https://acme.slack.com/archives/C0SALES/p1700000000000200"
    assert json.loads(view["private_metadata"])["permalink"] == permalink
    done = await slack.interaction(
        submission(view, product="-", kind="competitive", client="Acme Corp")
    )
    assert done.json["response_action"] == "update"
    item = await slack.services.feedback.get(1)
    assert item is not None and item.permalink == permalink and item.product_sku is None
    await eventually(lambda: len(calls(slack, "chat.postMessage")) == 1)
    assert f"<{permalink}|original message>" in str(calls(slack, "chat.postMessage")[0].body)


async def test_app_home_shows_my_feedback_and_the_pm_queue(slack: SlackDriver) -> None:
    await submit_feedback(slack, "U0SALES1", "Acme Corp", "Needs SAML single sign-on please")

    async def open_home(user: str) -> str:
        await slack.post_json(
            {
                "token": "legacy",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": f"Ev{user}",
                "event_time": 1700000000,
                "authed_users": [],
                "event": {
                    "type": "app_home_opened",
                    "user": user,
                    "channel": "D0APP",
                    "tab": "home",
                    "event_ts": "1700000000.000300",
                },
            }
        )
        await eventually(
            lambda: any(c.body.get("user_id") == user for c in calls(slack, "views.publish"))
        )
        call = next(c for c in calls(slack, "views.publish") if c.body["user_id"] == user)
        return str(as_json(call.body["view"]))

    mine = await open_home("U0SALES1")
    assert "My feedback" in mine and "#1" in mine and "New" in mine
    assert "Open queue" not in mine
    queue = await open_home(PMS[0])
    assert "Open queue" in queue and "New: *1*" in queue


async def test_decline_and_merge_ask_for_a_note_and_forged_forms_are_refused(
    slack: SlackDriver,
) -> None:
    await submit_feedback(slack, "U0SALES1", "Acme Corp", "Needs SAML single sign-on please")
    await slack.command(
        "Wants an Xero connector for the ledger", command="/feedback", user="U0SALES2"
    )
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    await slack.interaction(
        submission(
            form, user="U0SALES2", product="LDG-SYNC", kind="feature_request", client="Initech"
        )
    )
    triage = {"type": "message", "message_ts": "1.000100", "channel_id": TRIAGE}

    # Decline opens a small form; an empty note is answered inline.
    await slack.action("triage.decline", "1", user=PMS[0], container=triage)
    note_view = as_json(calls(slack, "views.open")[-1].body["view"])
    assert note_view["callback_id"] == "triage.note"
    empty = await slack.interaction(submission(note_view, user=PMS[0]))
    assert empty.json["response_action"] == "errors" and "note" in empty.json["errors"]

    # A sales user replaying the PM's form (same private_metadata) is refused.
    forged = await slack.interaction(submission(note_view, user="U0SALES9", note="no"))
    assert forged.json["errors"]["note"].startswith("Only product managers")

    declined = await slack.interaction(
        submission(note_view, user=PMS[0], note="SAML ships in Q3; we cannot pull it forward.")
    )
    assert declined.status == 200 and declined.body in ("", "{}")
    item = await slack.services.feedback.get(1)
    assert item is not None and item.status.value == "declined"

    # Merge asks for the target; the merged item's submitter is told where it went.
    await slack.command(
        "Their finance team wants Xero sync too", command="/feedback", user="U0SALES3"
    )
    form = as_json(calls(slack, "views.open")[-1].body["view"])
    await slack.interaction(
        submission(
            form, user="U0SALES3", product="PAY-LINK", kind="market_appetite", client="Umbrella"
        )
    )
    await slack.action("triage.merge", "2", user=PMS[1], container=triage)
    merge_view = as_json(calls(slack, "views.open")[-1].body["view"])
    target = next(b for b in merge_view["blocks"] if b.get("block_id") == "target")
    assert [o["value"] for o in target["element"]["options"]] == ["3"]  # open, not itself
    merged = await slack.interaction(submission(merge_view, user=PMS[1], target="3"))
    assert merged.status == 200
    assert (await slack.services.feedback.get(2)).merged_into == 3  # type: ignore[union-attr]

    def dm_to(user: str) -> list[dict[str, Any]]:
        return [c.body for c in calls(slack, "chat.postMessage") if c.body["channel"] == user]

    await eventually(lambda: bool(dm_to("U0SALES1")) and bool(dm_to("U0SALES2")))
    assert (
        "Product declined it. Note from product: SAML ships in Q3" in dm_to("U0SALES1")[0]["text"]
    )
    assert "It was merged into #3" in dm_to("U0SALES2")[0]["text"]


async def test_app_home_shows_a_page_and_more_publishes_the_next(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    await seed_history(engine, items=60, briefings=0)  # 18 waiting for a decision

    def published() -> list[str]:
        return [
            str(as_json(c.body["view"]))
            for c in calls(slack, "views.publish")
            if c.body["user_id"] == PMS[0]
        ]

    await slack.post_json(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": "EvMore",
            "event_time": 1700000000,
            "authed_users": [],
            "event": {"type": "app_home_opened", "user": PMS[0], "tab": "home"},
        }
    )
    await eventually(lambda: bool(published()))
    first = published()[0]
    assert "New: *18*" in first and "1–10 of 18" in first and "home.more" in first
    await slack.action("home.more", "2", user=PMS[0], container={"type": "view", "view_id": "V1"})
    await eventually(lambda: len(published()) == 2)
    second = published()[1]
    assert "11–18 of 18" in second and "home.more" not in second
