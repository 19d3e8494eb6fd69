"""Slack installations and OAuth states in our database (both databases): the migrated tables
are the ones slack_sdk's stores use, keys keep the enterprise id, a Grid org's org-wide
installation answers only its own workspaces, a state is good once, and outbox rows carry
the workspace they were written in."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.ports import Notification
from bot.workspace import Workspace
from store.feedback_repo import SqlOutbox
from store.slack_installs import PURGE_BATCH, SlackInstallations, SlackStates


async def test_the_migrated_tables_are_slack_sdk_s(engine: AsyncEngine) -> None:
    theirs = sa.MetaData()
    tables = [
        SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations"),
        SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots"),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states"),
    ]

    def columns(conn: sa.Connection, table: str) -> dict[str, bool]:
        return {c["name"]: bool(c["nullable"]) for c in sa.inspect(conn).get_columns(table)}

    async with engine.connect() as conn:
        for table in tables:
            ours = await conn.run_sync(columns, table.name)
            expected = {c.name: bool(c.nullable) and not c.primary_key for c in table.columns}
            assert {k: v for k, v in ours.items() if k != "id"} == {
                k: v for k, v in expected.items() if k != "id"
            }, table.name


def _installation(team: str | None, enterprise: str | None = None, **kw: object) -> Installation:
    return Installation(
        app_id="A0APP",
        enterprise_id=enterprise,
        team_id=team,
        bot_token=f"xoxb-{enterprise}-{team}",
        bot_id="B0",
        bot_user_id="U0BOT",
        bot_scopes="commands,chat:write",
        user_id="U0INSTALLER",
        is_enterprise_install=bool(kw.get("org_wide")),
    )


async def test_a_grid_org_answers_its_own_workspaces_and_no_other(engine: AsyncEngine) -> None:
    store = SlackInstallations("C0CLIENT", engine)
    await store.async_save(_installation(None, "E0ORG", org_wide=True))
    await store.async_save(_installation("T0OWN", "E0ORG"))  # one workspace installed itself
    await store.async_save(_installation("T0AAA"))
    other = SlackInstallations("C0OTHERAPP", engine)  # another app's rows are not ours

    async def token(enterprise: str | None, team: str | None) -> str | None:
        bot = await store.async_find_bot(enterprise_id=enterprise, team_id=team)
        return None if bot is None else bot.bot_token

    assert await token("E0ORG", "T0GRID1") == "xoxb-E0ORG-None"
    assert await token("E0ORG", "T0OWN") == "xoxb-E0ORG-T0OWN"
    assert await token(None, "T0AAA") == "xoxb-None-T0AAA"
    assert await token(None, "T0GRID1") is None  # the org's workspace, but no org named
    assert await token("E0OTHER", "T0AAA") is None  # another org claiming workspace A
    assert await token(None, None) is None
    assert await other.async_find_bot(enterprise_id=None, team_id="T0AAA") is None
    found = await store.async_find_installation(enterprise_id="E0ORG", team_id="T0GRID2")
    assert found is not None and found.is_enterprise_install
    assert await store.sole() is None  # three installations: none is "the" one
    await store.async_delete_all(enterprise_id="E0ORG", team_id=None)
    await store.async_delete_all(enterprise_id="E0ORG", team_id="T0OWN")
    assert await token("E0ORG", "T0GRID1") is None
    assert await store.sole() == (None, "T0AAA")


async def test_work_of_no_request_has_an_installation_only_when_one_reaches_everyone(
    engine: AsyncEngine,
) -> None:
    store = SlackInstallations("C0CLIENT", engine)
    assert await store.sole() is None
    await store.async_save(_installation("T0OWN", "E0ORG"))
    assert await store.sole() == ("E0ORG", "T0OWN")
    await store.async_save(_installation("T0TWO", "E0ORG"))
    assert await store.sole() is None  # two workspaces of one org, no org-wide token
    await store.async_save(_installation(None, "E0ORG", org_wide=True))
    assert await store.sole() == ("E0ORG", None)  # the org's token reaches both
    await store.async_save(_installation("T0AAA"))
    assert await store.sole() is None  # a workspace outside the org
    await store.async_delete_all(enterprise_id=None, team_id="T0AAA")
    await store.async_save(_installation(None, "E0OTHER", org_wide=True))
    assert await store.sole() is None  # another org


async def test_a_state_is_good_once_and_until_it_expires(engine: AsyncEngine) -> None:
    states = SlackStates(engine)
    state = await states.async_issue()
    done = await asyncio.gather(*(states.async_consume(state) for _ in range(5)))
    assert sorted(done) == [False, False, False, False, True]
    assert not await states.async_consume("forged")
    assert not await states.async_consume("")
    late = await states.async_issue()
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE slack_oauth_states SET expire_at = :t"), {"t": dt.datetime(2000, 1, 1)}
        )
    assert not await states.async_consume(late)


async def test_a_flood_of_install_links_leaves_only_states_still_good(
    engine: AsyncEngine,
) -> None:
    states = SlackStates(engine)
    flood = [await states.async_issue() for _ in range(PURGE_BATCH * 2 + 50)]
    async with engine.begin() as conn:  # eleven minutes later
        await conn.execute(
            sa.text("UPDATE slack_oauth_states SET expire_at = :t"), {"t": dt.datetime(2000, 1, 1)}
        )

    async def kept() -> tuple[int, int]:
        """(rows, expired rows)"""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.text(
                    "SELECT count(*), count(*) FILTER (WHERE expire_at <= :t) "
                    "FROM slack_oauth_states"
                ),
                {"t": now},
            )
            rows, expired = found.one()
        return int(rows), int(expired)

    fresh = [await states.async_issue()]
    assert await kept() == (len(flood) - PURGE_BATCH + 1, len(flood) - PURGE_BATCH)  # bounded
    fresh += [await states.async_issue() for _ in range(2)]
    assert await kept() == (3, 0)
    assert await states.async_consume(fresh[0])
    assert not await states.async_consume(flood[-1])


async def test_outbox_rows_carry_the_workspace_they_were_written_in(engine: AsyncEngine) -> None:
    outbox = SqlOutbox(engine)

    def note(key: str, platform: str = "slack") -> Notification:
        return Notification(platform=platform, kind="dm", target="U1", dedupe_key=key)

    await outbox.enqueue(notifications=[note("outside")])
    with workspace.using(Workspace("slack", "E0ORG", "T0GRID1")):
        await outbox.enqueue(notifications=[note("grid"), note("to-teams", "teams")])
    with workspace.using(Workspace("teams", None, "tenant-1")):
        await outbox.enqueue(notifications=[note("teams", "teams"), note("to-slack")])
    assert workspace.current() is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    claimed = await outbox.claim(limit=10, lease=dt.timedelta(seconds=60), now=later)
    by_key = {m.dedupe_key: (m.enterprise_id, m.team_id) for m in claimed}
    assert by_key == {
        "outside": (None, None),
        "grid": ("E0ORG", "T0GRID1"),
        "to-teams": (None, None),  # another platform's workspace says nothing about it
        "teams": (None, "tenant-1"),
        "to-slack": (None, None),
    }
