"""Catalog announcements with workspaces apart, on both databases: the catalog is every
workspace's, so an import from the CLI or the console (outside any request) and an edit
made in one workspace are each announced in every workspace in use, in that workspace's own
channels and to its own subscribers, each outbox row stamped with its workspace; the same
change written again announces nothing twice."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.catalog_file import CatalogConflict
from bot.types import UserRef
from bot.workspace import Workspace
from handlers.app import Services, build_services
from handlers.config import Settings
from handlers.teams.keys import ANNOUNCE_KEY
from store.settings_repo import SqlSettings
from store.updates_repo import SqlUpdatesRepository
from tests.conftest import demo_text
from tests.fakes import SIGNING_SECRET
from tests.handlers.slack.test_notices import CHANGED

A = Workspace("slack", None, "T0A", isolated=True)
B = Workspace("slack", "E0ORG", "T0B", isolated=True)
REP = UserRef("slack", "U0REP")  # subscribed in both: ids are only unique per workspace
# Each workspace's own settings: A also has a channel for Japan (CHANGED moves its band).
CHANNELS = {
    A: {"announce_channel": "C0ANNA", "region_channels": {"JP": "C0JPA"}},
    B: {"announce_channel": "C0ANNB"},
}

Row = tuple[str, str, str | None, str | None, str]


@contextlib.asynccontextmanager
async def apart(engine: AsyncEngine, db_url: str, **overrides: Any) -> AsyncIterator[Services]:
    """Slack OAuth (workspaces apart) with A's and B's settings and subscribers."""
    built = build_services(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url,
            slack_signing_secret=SIGNING_SECRET,
            slack_client_id="1.2",
            slack_client_secret="client-secret",
            slack_api_url="http://127.0.0.1:9/api/",  # never called: nothing is delivered
            **overrides,
        )
    )
    assert built.settings.isolates_workspaces
    for ws, values in CHANNELS.items():
        await SqlSettings(engine).save(
            workspace=ws, values=values, expected_version=0, changes=[], notifications=[]
        )
        with workspace.using(ws):  # what puts the workspace in use (and a DM to send)
            await SqlUpdatesRepository(engine).subscribe(
                user=REP, sku="WDG-PRO", at=dt.datetime.now(dt.UTC)
            )
    try:
        yield built
    finally:
        await built.engine.dispose()


@pytest.fixture
async def services(db_url: str, engine: AsyncEngine) -> AsyncIterator[Services]:
    async with apart(engine, db_url) as built:
        yield built


async def _rows(engine: AsyncEngine) -> list[Row]:
    async with engine.connect() as conn:
        got = await conn.execute(
            sa.text(
                "SELECT kind, target, enterprise_id, team_id, dedupe_key FROM outbox "
                "WHERE platform = 'slack' ORDER BY id"
            )
        )
        return [tuple(r) for r in got]  # type: ignore[misc]


def _where(rows: list[Row]) -> set[tuple[str, str, str | None, str | None]]:
    return {(kind, target, enterprise, team) for kind, target, enterprise, team, _ in rows}


async def test_an_import_from_the_cli_is_announced_in_every_workspace(
    services: Services, engine: AsyncEngine
) -> None:
    assert workspace.current() is None  # the CLI and the console: outside any request
    await services.catalog.import_catalog(demo_text())
    loaded = await _rows(engine)
    # A first load is one line, to each workspace's announcements channel only.
    assert _where(loaded) == {
        ("announce", "C0ANNA", None, "T0A"),
        ("announce", "C0ANNB", "E0ORG", "T0B"),
    }
    await services.catalog.import_catalog(CHANGED)
    rows = (await _rows(engine))[len(loaded) :]
    assert _where(rows) == {
        ("announce", "C0ANNA", None, "T0A"),
        ("announce", "C0JPA", None, "T0A"),
        ("dm", REP.id, None, "T0A"),
        ("announce", "C0ANNB", "E0ORG", "T0B"),
        ("dm", REP.id, "E0ORG", "T0B"),
    }
    assert len(rows) == 5  # one digest per channel and subscriber per workspace
    await services.catalog.import_catalog(CHANGED)  # the same file again: no change
    assert len(await _rows(engine)) == len(loaded) + 5


async def test_an_edit_made_in_one_workspace_is_announced_in_every_workspace(
    services: Services, engine: AsyncEngine
) -> None:
    await services.catalog.import_catalog(demo_text())
    before = len(await _rows(engine))
    old = await services.catalog.product_spec("WDG-PRO")
    edited = dataclasses.replace(
        old,
        products=tuple(
            dataclasses.replace(p, summary="Now with more widgets") for p in old.products
        ),
    )

    version = await services.catalog.catalog_version()

    async def edit() -> None:
        with workspace.using(A):  # a PM of A saves the form (as ProductEditor does)
            await services.catalog.apply(
                old, edited, actor="U0PM", source="edit", change_set="submission-1",
                expected_version=version,
            )  # fmt: skip

    await edit()
    rows = (await _rows(engine))[before:]
    assert _where(rows) == {  # a product-wide change: region channels hear it too
        ("announce", "C0ANNA", None, "T0A"),
        ("announce", "C0JPA", None, "T0A"),
        ("dm", REP.id, None, "T0A"),
        ("announce", "C0ANNB", "E0ORG", "T0B"),
        ("dm", REP.id, "E0ORG", "T0B"),
    }
    # Each workspace's key names it: the same user id in two workspaces is two DMs.
    assert all(A.scope in key or B.scope in key for *_, key in rows)
    with pytest.raises(CatalogConflict):  # the same submission replayed: refused
        await edit()
    assert len(await _rows(engine)) == before + 5
    # Even written again under the same change set (from the other workspace, past the
    # version check), its announcements are the ones already in the outbox.
    with workspace.using(B):
        await services.catalog.apply(
            old, edited, actor="U0PM", source="edit", change_set="submission-1"
        )
    assert (await _rows(engine))[before:] == rows


async def test_each_workspace_hears_a_change_on_its_own_platform_only(
    db_url: str, engine: AsyncEngine
) -> None:
    tenant = Workspace("teams", None, "tenant-1", isolated=True)
    # The environment's announcements channel is a Slack channel: a Teams tenant, whose
    # Slack settings are the environment's, must not post there.
    async with apart(engine, db_url, teams_emulator=True, announce_channel="C0ENV") as services:
        assert services.settings.platforms == {"slack", "teams"}
        with workspace.using(tenant):  # a PM said "use this channel for announcements"
            await services.conversations.save(key=ANNOUNCE_KEY, reference={"id": "19:ann"})
        await services.catalog.import_catalog(demo_text())
        assert _where(await _rows(engine)) == {
            ("announce", "C0ANNA", None, "T0A"),
            ("announce", "C0ANNB", "E0ORG", "T0B"),
        }
        async with engine.connect() as conn:
            teams = await conn.execute(
                sa.text("SELECT target, team_id FROM outbox WHERE platform = 'teams'")
            )
            assert [tuple(r) for r in teams] == [("announce", "tenant-1")]
