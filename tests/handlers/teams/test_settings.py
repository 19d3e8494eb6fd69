"""`salesbridge settings` on Teams, end to end: someone in ADMINS changes the tenant's PMs and
targets from a card; the change is recorded, announced in the Teams triage channel and in
effect for that tenant only. Anyone else's forged card changes nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import NOT_ADMIN
from bot.types import UserRef
from bot.workspace import Workspace
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver, start
from tests.handlers.teams.test_teams import card_of, eventually

ADMIN_AAD = "00000000-0000-0000-0000-0000000000c1"
NEW_PM = "00000000-0000-0000-0000-0000000000d1"
TENANT = Workspace("teams", None, "tenant-1")


@pytest.fixture
async def teams(db_url: str, engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start(db_url, admins=frozenset({ADMIN_AAD}))
    async with aiohttp.ClientSession() as http:
        yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    await server.close()
    await connector.close()


def in_tenant(activity: dict[str, Any], tenant: str) -> dict[str, Any]:
    activity["conversation"]["tenantId"] = tenant
    activity["channelData"] = {"tenant": {"id": tenant}}
    return activity


async def rows(teams: TeamsDriver, table: str) -> list[Any]:
    async with teams.services.engine.connect() as conn:
        return list(await conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")))


async def settings_card(teams: TeamsDriver, user: str) -> dict[str, Any]:
    await teams.say("salesbridge settings", user=user)
    return card_of(teams.connector.messages(f"a:dm-{user}")[-1].body)


def submitted(card: dict[str, Any], **values: str) -> dict[str, Any]:
    """The card's inputs as shown (or as given) merged into its submit action's data."""
    [action] = card["actions"]
    assert action["verb"] == "settings.save"
    data = dict(action["data"])
    for el in card["body"]:
        if el.get("type", "").startswith("Input."):
            data[el["id"]] = values.get(el["id"], el.get("value", ""))
    return data


async def test_an_admin_changes_the_tenants_pms_recorded_announced_and_in_effect(
    teams: TeamsDriver,
) -> None:
    await teams.say("use this channel for triage", conversation_type="channel", user=PM_AAD)
    card = await settings_card(teams, ADMIN_AAD)
    ids = [el.get("id") for el in card["body"] if el.get("id")]
    assert "product_managers" in ids and "triage_channel" not in ids  # set in the channel
    status, done = await teams.execute(
        "settings.save",
        submitted(card, product_managers=NEW_PM, default_briefing_target="4"),
        user=ADMIN_AAD,
    )
    assert status == 200 and "Product managers:" in json.dumps(done["value"])
    [row] = await rows(teams, "workspace_settings")
    assert (row.platform, row.team_id) == ("teams", "tenant-1")
    log = await teams.services.workspace_settings.store.changes(TENANT)
    changes = {c.key: c for c in log}
    assert set(changes) == {"product_managers", "default_briefing_target"}
    assert changes["product_managers"].by == UserRef("teams", ADMIN_AAD)
    assert (changes["product_managers"].old, changes["product_managers"].new) == (
        [PM_AAD],
        [NEW_PM],
    )
    assert (changes["default_briefing_target"].old, changes["default_briefing_target"].new) == (
        1,
        4,
    )

    # Announced in the Teams triage channel.
    await eventually(
        lambda: (
            "Settings changed" in json.dumps([p.body for p in teams.connector.messages(CHANNEL)])
        )
    )

    # In effect: the new PM logs briefings in this tenant, the old one may not.
    await teams.say("briefing", user=NEW_PM)
    form = card_of(teams.connector.messages(f"a:dm-{NEW_PM}")[-1].body)
    assert "briefing.save" in json.dumps(form)
    await teams.say("briefing", user=PM_AAD)
    assert "briefing.save" not in json.dumps(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)

    # Another tenant keeps the environment's settings.
    await teams.post(in_tenant(teams.activity(text="briefing", user=NEW_PM), "tenant-2"))
    assert "briefing.save" not in json.dumps(teams.connector.messages(f"a:dm-{NEW_PM}")[-1].body)
    await teams.post(in_tenant(teams.activity(text="briefing", user=PM_AAD), "tenant-2"))
    assert "briefing.save" in json.dumps(teams.connector.messages(f"a:dm-{PM_AAD}")[-1].body)


async def test_a_forged_settings_card_from_a_non_admin_changes_nothing(
    teams: TeamsDriver, caplog: pytest.LogCaptureFixture
) -> None:
    card = await settings_card(teams, SALES_AAD)
    assert NOT_ADMIN in json.dumps(card)  # no form for them
    admin_card = await settings_card(teams, ADMIN_AAD)
    with caplog.at_level(logging.WARNING):
        status, answer = await teams.execute(
            "settings.save", submitted(admin_card, product_managers=SALES_AAD), user=SALES_AAD
        )
    assert status == 200 and NOT_ADMIN in json.dumps(answer)
    assert await rows(teams, "workspace_settings") == []
    assert any("settings change refused" in r.getMessage() for r in caplog.records)
