"""Workspace settings in the database (both backends): the environment with nothing stored,
one workspace's change never another's, a change made by one process in effect in another
within the freshness bound (read once however many requests find them stale, and never
kept from a read begun before a save), and two admins saving from the same form: one wins."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import (
    FRESH_FOR_SECONDS,
    Changed,
    ChannelState,
    Conflict,
    SettingsService,
    Stored,
    WorkspaceSettings,
    in_effect,
    settings_form,
)
from bot.types import UserRef
from bot.workspace import Workspace
from store.models import WorkspaceSettingsRow
from store.settings_repo import SqlSettings

_ws_t = WorkspaceSettingsRow.__table__  # type: ignore[attr-defined]

ENV = WorkspaceSettings(product_managers=frozenset({"U0PM1"}), triage_channel="C0TRIAGE")
ONE = Workspace("slack", None, "T0ONE")
TWO = Workspace("slack", "E0ORG", "T0TWO")
ADMIN = UserRef("slack", "U0ADMIN")


class Clock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)


class Ticks:
    """A monotonic clock the test moves: no test waits for real time to pass."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


class Directory:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def is_admin(self, user: UserRef, workspace: Workspace) -> bool:
        return user == ADMIN

    async def channel(self, channel: str, workspace: Workspace) -> ChannelState:
        self.asked.append(channel)
        return ChannelState.POSTABLE


def service(engine: AsyncEngine, ticks: Ticks | None = None) -> SettingsService:
    return SettingsService(
        store=SqlSettings(engine),
        defaults=ENV,
        clock=Clock(),
        directories={"slack": Directory()},
        ticks=ticks or Ticks(),
    )


def form_values(settings: WorkspaceSettings, **changes: str) -> dict[str, str | None]:
    form = settings_form(settings, "slack", 0)
    return {**{f.id: f.initial for f in form.fields}, **changes}


async def save(svc: SettingsService, workspace: Workspace, version: int, **changes: str) -> Any:
    scope = await svc.enter(workspace)
    return await svc.submit(
        user=ADMIN,
        values=form_values(scope.settings, **changes),
        state={"version": str(version)},
    )


async def test_nothing_stored_is_the_environment(engine: AsyncEngine) -> None:
    svc = service(engine)
    scope = await svc.enter(ONE)
    assert scope.version == 0 and scope.settings == ENV
    assert in_effect(WorkspaceSettings()) == ENV
    assert await svc.for_platform("slack") == ENV


async def test_a_change_is_that_workspaces_only(engine: AsyncEngine) -> None:
    svc = service(engine)
    got = await save(svc, ONE, 0, product_managers="U0PM2", triage_channel="C0NEW")
    assert isinstance(got, Changed) and {c.key for c in got.changes} == {
        "product_managers",
        "triage_channel",
    }
    one = (await svc.of(ONE)).settings
    assert one.product_managers == {"U0PM2"} and one.triage_channel == "C0NEW"
    assert one.report_timezone == ENV.report_timezone  # untouched: still the environment's
    assert (await svc.of(TWO)).settings == ENV
    assert await svc.for_platform("slack") == one  # the one workspace with settings
    assert [c.key for c in await svc.store.changes(TWO)] == []
    async with engine.connect() as conn:
        outbox = list(await conn.execute(sa.text("SELECT target, kind FROM outbox")))
    assert [tuple(r) for r in outbox] == [("C0NEW", "post")]  # announced in the new channel


async def test_another_process_sees_a_change_within_the_bound(engine: AsyncEngine) -> None:
    ticks = Ticks()
    here, there = service(engine, ticks), service(engine, ticks)
    assert (await there.of(ONE)).version == 0  # read, and kept in memory
    assert isinstance(await save(here, ONE, 0, triage_channel="C0NEW"), Changed)
    assert (await here.of(ONE)).settings.triage_channel == "C0NEW"  # at once where saved
    assert (await there.of(ONE)).settings.triage_channel == "C0TRIAGE"  # still fresh there
    ticks.at += FRESH_FOR_SECONDS
    seen = await there.of(ONE)
    assert seen.version == 1 and seen.settings.triage_channel == "C0NEW"


async def test_two_admins_saving_the_same_form_one_wins(engine: AsyncEngine) -> None:
    first, second = service(engine), service(engine)
    assert isinstance(await save(first, ONE, 0, triage_channel="C0FIRST"), Changed)
    lost = await save(second, ONE, 0, triage_channel="C0SECOND")
    assert isinstance(lost, Conflict)
    assert next(f for f in lost.form.fields if f.id == "triage_channel").initial == "C0FIRST"
    assert lost.form.state["version"] == "1"
    assert (await second.of(ONE)).settings.triage_channel == "C0FIRST"
    assert [c.new for c in await first.store.changes(ONE)] == ["C0FIRST"]


async def test_a_stored_value_of_the_wrong_shape_keeps_the_default(engine: AsyncEngine) -> None:
    svc = service(engine)
    assert isinstance(await save(svc, ONE, 0, report_timezone="Europe/Paris"), Changed)
    bad = {"report_timezone": "Mars/Olympus", "pm_briefing_target": 7, "x": 1}
    async with engine.begin() as conn:
        await conn.execute(sa.update(_ws_t).values(overrides=bad, version=2))
    svc.forget(ONE)
    got = (await svc.of(ONE)).settings
    assert got.report_timezone == "UTC" and got.pm_briefing_target == 7


async def test_two_saves_from_one_version_store_one(engine: AsyncEngine) -> None:
    store = SqlSettings(engine)
    for expected in (0, 1):  # the first save of a workspace, and a later one
        args: dict[str, Any] = {"changes": (), "notifications": ()}
        won = await store.save(workspace=ONE, values={"a": 1}, expected_version=expected, **args)
        lost = await store.save(workspace=ONE, values={"a": 2}, expected_version=expected, **args)
        assert (won, lost) == (expected + 1, None)
    stored = await store.load(ONE)
    assert stored is not None and stored.version == 2 and stored.values == {"a": 1}


class HeldSettings(SqlSettings):
    """Counts its reads; with `hold` set, the next read has its row but waits for `release`
    before it returns (a read still in flight when the next requests arrive)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.reads = 0
        self.hold = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def load(self, workspace: Workspace) -> Stored | None:
        self.reads += 1
        got = await super().load(workspace)
        if self.hold:
            self.hold = False
            self.held.set()
            await self.release.wait()
        return got


def held_service(engine: AsyncEngine, ticks: Ticks) -> tuple[SettingsService, HeldSettings]:
    store = HeldSettings(engine)
    return SettingsService(store=store, defaults=ENV, clock=Clock(), ticks=ticks), store


async def test_requests_finding_the_settings_stale_share_one_read(engine: AsyncEngine) -> None:
    ticks = Ticks()
    svc, store = held_service(engine, ticks)
    await svc.of(ONE)
    ticks.at += FRESH_FOR_SECONDS
    store.hold = True
    asking = [asyncio.create_task(svc.of(ONE)) for _ in range(20)]
    await store.held.wait()
    await asyncio.sleep(0)  # every request has found the memory stale by now
    store.release.set()
    got = await asyncio.gather(*asking)
    assert store.reads == 2  # the first, and one for all 20 at the expiry
    assert {s.version for s in got} == {0} and all(s.settings == ENV for s in got)


async def test_a_read_begun_before_a_save_is_not_kept(engine: AsyncEngine) -> None:
    ticks = Ticks()
    svc, store = held_service(engine, ticks)
    await svc.of(ONE)
    ticks.at += FRESH_FOR_SECONDS
    store.hold = True
    old = asyncio.create_task(svc.of(ONE))
    await store.held.wait()  # it has read the settings as they were
    assert isinstance(await save(service(engine, ticks), ONE, 0, triage_channel="C0NEW"), Changed)
    svc.forget(ONE)  # as after a save through this service
    new = asyncio.create_task(svc.of(ONE))
    await asyncio.sleep(0)
    store.release.set()
    assert (await old).version == 0
    assert (await new).settings.triage_channel == "C0NEW"  # a read of its own, not the old one
    assert (await svc.of(ONE)).settings.triage_channel == "C0NEW"  # the old read was not kept
