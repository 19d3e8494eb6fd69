"""Change notices over Teams (activities to /api/messages, a fake connector): the person
who asked in Teams is told in their Teams chat, once; a Teams colleague who did not ask
about it hears nothing."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tests.handlers.slack.test_notices import CHANGED, today
from tests.handlers.teams.conftest import PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_teams import card_of

OTHER_AAD = "00000000-0000-0000-0000-0000000000b2"


async def settle(teams: TeamsDriver) -> None:
    """Until the outbox has nothing left to send (the in-process worker delivers too)."""
    for _ in range(400):
        while await teams.services.worker.run_once():
            pass
        async with teams.services.engine.connect() as conn:
            left = await conn.scalar(
                sa.text("SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'dead')")
            )
        if not left:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")


async def test_a_teams_asker_is_told_in_teams_once(teams: TeamsDriver) -> None:
    await teams.say("widget pro uae")
    await teams.say("widget lite oz", user=OTHER_AAD)
    await teams.say("hello", user=PM_AAD)
    await settle(teams)
    before = len(teams.connector.messages(f"a:dm-{SALES_AAD}"))
    other_before = len(teams.connector.messages(f"a:dm-{OTHER_AAD}"))

    await teams.services.catalog.import_catalog(CHANGED, actor=PM_AAD)
    await settle(teams)
    sent = teams.connector.messages(f"a:dm-{SALES_AAD}")[before:]
    assert len(sent) == 1
    card = card_of(sent[0].body)
    shown = str(card["body"])
    assert (
        f"On {today()} you were told Widget Pro is Available in United Arab Emirates. "
        "Since today it is Not available — Export control. Ask U01PMALICE." in shown
    )
    assert len(teams.connector.messages(f"a:dm-{OTHER_AAD}")) == other_before

    again = await teams.services.catalog.import_catalog(CHANGED, actor=PM_AAD)
    assert again.empty
    await settle(teams)
    assert len(teams.connector.messages(f"a:dm-{SALES_AAD}")) == before + 1
