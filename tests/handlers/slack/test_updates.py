"""Must-show: product updates over Slack — one announcement per channel, one DM per
subscriber, nothing for internal changes or re-imports; history; "Still accurate"; the
weekly nudge and gap list."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.app import weekly
from tests.conftest import demo_text
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, TRIAGE, SlackDriver, slack_server

CHANGED = (
    demo_text()
    .replace(
        "{region: AU, status: not_available, reason: Not licensed}",
        "{region: AU, status: available}",
        1,
    )  # Widget Lite, Australia
    .replace(
        "{region: UK, status: planned, from: 2027-09-01",
        "{region: UK, status: planned, from: 2027-03-01",
        1,
    )  # Fleet Tracker's UK date moves
    .replace("margin_pct: 61", "margin_pct: 12", 1)  # internal only: never announced
)


@pytest.fixture
async def updates(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(
        db_url,
        fake_slack,
        worker=False,
        announce_channel="C0ANNOUNCE",
        region_channels={"APAC": "C0APAC", "AMER": "C0AMER"},
    ) as driver:
        await drain(driver)
        fake_slack.calls.clear()
        yield driver


async def drain(slack: SlackDriver) -> None:
    while await slack.services.worker.run_once():
        pass


def posts(slack: SlackDriver) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for call in slack.fake.delivered("chat.postMessage"):
        out.setdefault(call.body["channel"], []).append(call.body)
    return out


def bullets(body: dict[str, Any]) -> list[str]:
    blocks = body["blocks"] if isinstance(body["blocks"], list) else json.loads(body["blocks"])
    return [ln.removeprefix("• ") for ln in blocks[1]["text"]["text"].split("\n")]


async def test_import_announces_once_per_channel_and_subscriber(updates: SlackDriver) -> None:
    said = await updates.command("subscribe widget lite", user="U0SALES1")
    assert said.json["text"] == "You'll get a DM when Widget Lite changes."
    await updates.command("subscribe fleet tracker", user="U0SALES2")
    await updates.command("subscribe ledger sync", user="U0SALES2")  # unchanged: no DM

    changes = await updates.services.catalog.import_catalog(CHANGED, actor="U0PM1")
    assert {c.sku for c in changes.changed} == {"WDG-LITE", "FLT-TRK", "WDG-PRO"}
    await drain(updates)
    got = posts(updates)
    assert set(got) == {"C0ANNOUNCE", "C0APAC", "U0SALES1", "U0SALES2"}  # not C0AMER
    assert all(len(v) == 1 for v in got.values())  # one digest per target
    fleet = (
        "Fleet Tracker: Planned in United Kingdom — Telematics partner onboarding, from 1 Mar 2027"
    )
    assert bullets(got["C0ANNOUNCE"][0]) == [
        "Widget Lite is now Available in Australia (was Not available)",
        fleet,
    ]
    assert bullets(got["U0SALES2"][0]) == [fleet]
    assert bullets(got["C0APAC"][0]) == [
        "Widget Lite is now Available in Australia (was Not available)"
    ]
    assert bullets(got["U0SALES1"][0]) == [
        "Widget Lite is now Available in Australia (was Not available)"
    ]
    assert all("Widget Pro" not in str(v) and "margin" not in str(v) for v in got.values())

    updates.fake.calls.clear()
    again = await updates.services.catalog.import_catalog(CHANGED, actor="U0PM1")
    assert again.empty
    await drain(updates)
    assert posts(updates) == {}  # re-importing the same file announces nothing


async def test_history_verification_and_still_accurate(updates: SlackDriver) -> None:
    await updates.services.catalog.import_catalog(CHANGED, actor="U0PM1")
    history = (await updates.command("widget lite history")).json
    assert history["text"].startswith("Widget Lite: 2 recent changes, latest")
    shown = str(history["blocks"])
    assert "<@U0PM1>" in shown and "Widget Lite is now Available in Australia" in shown
    assert "catalog import" in shown  # the first import

    answer = (await updates.command("widget lite in oz", user=PMS[0])).json
    context = str(answer["blocks"])
    assert "Verified today by <@U0PM1>" in context
    assert "product.verify" in context  # PMs see "Still accurate"
    sales = (await updates.command("widget lite in oz", user="U0SALES1")).json
    assert "product.verify" not in str(sales["blocks"])

    await updates.action("product.verify", "WDG-LITE", user="U0SALES1")  # forged press
    assert updates.fake.responses[-1]["text"].startswith("Only product managers")
    await updates.action("product.verify", "WDG-LITE", user=PMS[1])
    assert updates.fake.responses[-1]["text"].startswith("Thanks: Widget Lite")
    verified = await updates.services.updates.verification("WDG-LITE")
    assert verified is not None and verified[1] == PMS[1]
    # Asked again (decorated answers are reused): the PM's own, with the new verification.
    again = str((await updates.command("widget lite in oz", user=PMS[0])).json["blocks"])
    assert "product.verify" in again and f"Verified today by <@{PMS[1]}>" in again
    sales = (await updates.command("widget lite in oz", user="U0SALES1")).json
    assert "product.verify" not in str(sales["blocks"])


async def test_weekly_nudge_and_gap_list_go_out_once(
    updates: SlackDriver, engine: AsyncEngine
) -> None:
    # Age every verification past the threshold, and ask for things that do not exist.
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE product_verification SET verified_at = :t"),
            {"t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        )
    for q in ("quantum toaster in germany", "quantum toaster germany", "banana phone"):
        assert (await updates.command(q)).json["text"].startswith("No product matches")
    await weekly(updates.services)
    await weekly(updates.services)  # a second worker, or the next hour: same week
    await drain(updates)
    got = posts(updates)
    owners = {"U01PMALICE", "U01PMBRUNO", "U01PMCHIDI", "U01PMDANA"}
    assert owners <= set(got) and all(len(got[o]) == 1 for o in owners)
    assert "Widget Pro (last verified 1 Jan 2026)" in bullets(got["U01PMALICE"][0])
    assert bullets(got[TRIAGE][0]) == [
        "2 lookups for “quantum toaster” in Germany",
        "1 lookup for “banana phone”",
    ]


def view_submission(view: dict[str, Any], user: str, **values: str) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        el = block["element"]
        value = values.get(block["block_id"], el.get("initial_value"))
        if el["type"] == "static_select":
            chosen = (
                {"value": values[block["block_id"]]}
                if block["block_id"] in values
                else el.get("initial_option")
            )
            state[block["block_id"]] = {
                el["action_id"]: {"type": el["type"], "selected_option": chosen}
            }
        else:
            state[block["block_id"]] = {el["action_id"]: {"type": el["type"], "value": value}}
    return {
        "type": "view_submission",
        "trigger_id": "1.2.3",
        "user": {"id": user, "username": "x", "team_id": "T0TEAM"},
        "view": {
            "id": "V0EDIT",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "hash": "h",
            "state": {"values": state},
        },
    }


def opened(slack: SlackDriver) -> dict[str, Any]:
    view = [c for c in slack.fake.calls if c.method == "views.open"][-1].body["view"]
    return view if isinstance(view, dict) else json.loads(view)


async def test_pm_edit_changes_the_answer_and_is_announced(updates: SlackDriver) -> None:
    # Not a PM: the form does not open, and a forged submission changes nothing.
    refused = await updates.command("edit widget lite", user="U0SALES1")
    assert refused.json["text"].startswith("Only product managers")
    await updates.action("product.edit", "WDG-LITE", user="U0SALES1")
    assert updates.fake.responses[-1]["text"].startswith("Only product managers")
    assert not [c for c in updates.fake.calls if c.method == "views.open"]

    # A PM opens the form from the command; the rules are one market per line.
    assert (await updates.command("edit widget lite", user=PMS[0])).status == 200
    form = opened(updates)
    assert form["callback_id"] == "product.save"
    rules = next(b for b in form["blocks"] if b.get("block_id") == "availability")
    current = rules["element"]["initial_value"]
    assert "AU: not_available — Not licensed" in current

    forged = await updates.interaction(
        view_submission(
            form,
            "U0SALES1",
            availability=current.replace("AU: not_available — Not licensed", "AU: available"),
        )
    )
    assert forged.json["errors"]["lifecycle"].startswith("Only product managers")

    bad = await updates.interaction(
        view_submission(form, PMS[0], availability=current + "\nATLANTIS: available")
    )
    assert bad.json["response_action"] == "errors"
    assert "unknown region 'ATLANTIS'" in bad.json["errors"]["availability"]
    garbled = await updates.interaction(view_submission(form, PMS[0], availability="AU ok"))
    assert "One market per line" in garbled.json["errors"]["availability"]
    still = (await updates.command("widget lite in oz")).json["text"]
    assert still == "Widget Lite: Not available in Australia — Not licensed. Ask U01PMALICE"

    saved = await updates.interaction(
        view_submission(
            form,
            PMS[0],
            availability=current.replace("AU: not_available — Not licensed", "AU: available"),
        )
    )
    assert saved.json["response_action"] == "update"
    assert (await updates.command("widget lite in oz")).json["text"] == (
        "Widget Lite: Available in Australia"
    )
    await drain(updates)
    got = posts(updates)
    assert bullets(got["C0ANNOUNCE"][0]) == [
        "Widget Lite is now Available in Australia (was Not available)"
    ]
    history = (await updates.command("widget lite history")).json
    assert f"<@{PMS[0]}>" in str(history["blocks"])


async def test_owner_may_edit_their_own_product_only(updates: SlackDriver) -> None:
    editor = updates.services.bot.editor
    assert editor is not None
    from bot.types import Refused, UserRef

    owner = UserRef("slack", "U01PMALICE")  # owns Widget Pro, not Ledger Sync (Bruno's)
    assert not isinstance(await editor.form(user=owner, sku="WDG-PRO"), Refused)
    assert isinstance(await editor.form(user=owner, sku="LDG-SYNC"), Refused)


async def send_feedback(slack: SlackDriver, user: str, details: str, **values: str) -> object:
    """Feedback about Widget Pro from `user` (a feature request unless `values` say else)."""
    from bot.types import UserRef

    return await slack.services.feedback.submit(
        user=UserRef("slack", user),
        values={"product": "WDG-PRO", "kind": "feature_request", "client": "Acme Corp",
                "urgency": "normal", "details": details, **values},
    )  # fmt: skip


async def support(slack: SlackDriver, user: str, item: int = 1) -> None:
    """`user` presses +1 with their client on `item`."""
    from bot.feedback import Supported

    got = await send_feedback(
        slack, user, "Same need for my client here", client=f"Client of {user}",
        duplicate_of=str(item),
    )  # fmt: skip
    assert isinstance(got, Supported)


async def test_competitive_feedback_becomes_part_of_the_answer(updates: SlackDriver) -> None:
    from bot.feedback import Submitted

    result = await send_feedback(
        updates, "U0SALES1", "Gizmotron now bundles offline sync for free", kind="competitive"
    )
    assert isinstance(result, Submitted)
    await support(updates, "U0SALES3")  # a second rep adds their client: told as well
    await drain(updates)
    card = str(posts(updates)[TRIAGE][0]["blocks"])
    assert "feedback.compete" in card
    updates.fake.calls.clear()

    await updates.action("feedback.compete", "1", user="U0SALES2")
    assert updates.fake.responses[-1]["text"].startswith("Only product managers")
    await updates.action("feedback.compete", "1", user=PMS[0])
    form = opened(updates)
    assert form["callback_id"] == "compete.save"
    filled = view_submission(
        form, PMS[0], competitor="Gizmotron", difference="We sync offline in every tier"
    )
    done = await updates.interaction(filled)
    assert done.status == 200 and done.body in ("", "{}")
    assert (await updates.interaction(filled)).body == done.body  # a replay adds nothing

    answer = (await updates.command("widget pro in oz")).json
    assert str(answer["blocks"]).count("vs *Gizmotron*: We sync offline in every tier") == 1
    await drain(updates)
    got = posts(updates)
    for person in ("U0SALES1", "U0SALES3"):  # once each, replay or not
        [dm] = got[person]
        assert bullets(dm) == ["vs Gizmotron: We sync offline in every tier"]
        assert dm["text"].startswith("Your feedback #1 is now part of Widget Pro")
    assert bullets(got["C0ANNOUNCE"][0]) == ["Widget Pro: updated competitive differences"]


async def test_an_edit_from_a_feedback_item_tells_its_people_what_changed(
    updates: SlackDriver,
) -> None:
    from bot.feedback import Submitted

    result = await send_feedback(
        updates, "U0SALES1", "Acme needs it in Japan without the deal desk"
    )
    assert isinstance(result, Submitted)
    await support(updates, "U0SALES3")
    await drain(updates)
    assert "feedback.edit" in str(posts(updates)[TRIAGE][0]["blocks"])
    updates.fake.calls.clear()

    await updates.action("feedback.edit", "1", user="U0SALES2")
    assert updates.fake.responses[-1]["text"].startswith("Only product managers")
    await updates.action("feedback.edit", "1", user=PMS[0])
    form = opened(updates)
    assert form["callback_id"] == "product.save" and '"item": "1"' in form["private_metadata"]
    rules = next(b for b in form["blocks"] if b.get("block_id") == "availability")
    before = rules["element"]["initial_value"]
    assert "JP: restricted" in before
    # Saved with nothing changed: nobody is told.
    unchanged = view_submission(form, PMS[0])
    assert (await updates.interaction(unchanged)).status == 200
    await drain(updates)
    assert "U0SALES1" not in posts(updates)
    edited = view_submission(
        form,
        PMS[0],
        availability=before.replace(
            before[before.index("JP: restricted") :].split("\n")[0], "JP: available"
        ),
    )
    done = await updates.interaction(edited)
    assert done.status == 200
    assert (await updates.interaction(edited)).body == done.body  # a replay tells no one again
    await drain(updates)
    got = posts(updates)
    for person in ("U0SALES1", "U0SALES3"):
        [dm] = got[person]
        assert dm["text"].startswith("Widget Pro changed after your feedback #1")
        assert bullets(dm) == ["Widget Pro is now Available in Japan (was Restricted)"]
    assert "U0SALES2" not in got and PMS[0] not in got

    # The same edit opened from the answer, not the item, tells only sales channels.
    updates.fake.calls.clear()
    await updates.action("product.edit", "WDG-PRO", user=PMS[0])
    plain = opened(updates)
    assert '"item"' not in plain["private_metadata"]
    await updates.interaction(view_submission(plain, PMS[0], summary="Edited from the answer"))
    await drain(updates)
    assert "U0SALES1" not in posts(updates) and "C0ANNOUNCE" in posts(updates)


async def test_a_large_change_says_what_it_leaves_out_and_changes_lists_it_all(
    updates: SlackDriver, engine: AsyncEngine
) -> None:
    many = demo_text() + "".join(
        f"  - {{sku: BULK-{i:03d}, name: Bulk product {i}, lifecycle: ga, "
        f"summary: One of many new products}}\n"
        for i in range(120)
    )
    await updates.services.catalog.import_catalog(many, actor="U0PM1")
    async with engine.connect() as conn:
        stored = [
            json.loads(p) if isinstance(p, str) else p
            for p in (
                await conn.execute(
                    sa.text(
                        "SELECT payload FROM outbox WHERE target = 'C0ANNOUNCE' ORDER BY id DESC"
                    )
                )
            ).scalars()
        ]
    lines = stored[0]["lines"]
    shown = len(lines) - 1
    assert 10 < shown < 120  # only what the message shows is stored
    assert lines[-1] == f"… and {120 - shown} more changes: `/product changes`"
    assert sum(len(ln) + 3 for ln in lines) < 2900
    await drain(updates)
    body = posts(updates)["C0ANNOUNCE"][0]
    assert bullets(body)[-1] == f"… and {120 - shown} more changes: `/product changes`"

    seen: list[str] = []
    page = 1
    while True:
        answer = (await updates.command(f"changes {page}")).json
        blocks = str(answer["blocks"])
        seen += [f"Bulk product {i}" for i in range(120) if f"Bulk product {i} " in blocks]
        if f"/product changes {page + 1}" not in blocks:
            break
        page += 1
    assert page == 4 and sorted(set(seen)) == sorted(f"Bulk product {i}" for i in range(120))
