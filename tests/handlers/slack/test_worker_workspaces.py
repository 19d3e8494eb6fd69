"""The worker's own periodic messages with workspaces apart: two Slack workspaces installed
through OAuth, each with its own triage and management channels, lookup misses and
briefings. One pass sends each workspace's gap list and digest to its own channels with its
own token, its own figures in them, nothing parked as not installed; a second pass in the
same week sends nothing new."""

from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.briefings import BriefingDraft
from bot.decks import DeckFile
from bot.types import UserRef
from bot.workspace import Workspace
from handlers.app import periodic, periodic_scopes, weekly
from store.adopting import scopes_in_use
from store.briefings_repo import SqlBriefingRepository
from store.settings_repo import SqlSettings
from store.updates_repo import SqlUpdatesRepository
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS
from tests.handlers.slack.test_notices import CHANGED
from tests.handlers.slack.test_oauth import oauth_server

# team -> (triage channel, management channel, what sales there looked for, market briefed)
TEAMS = {
    "T0AAA": ("C0TRIA", "C0MGMA", "quantum toaster", "AU"),
    "T0BBB": ("C0TRIB", "C0MGMB", "hyper kettle", "UK"),
}


async def _outbox(engine: AsyncEngine) -> list[tuple[str, str, str | None, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT kind, target, team_id, status FROM outbox ORDER BY id")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_each_workspaces_weekly_messages_go_to_its_channels_with_its_token(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    links = {"public_url": "https://bot.example.com", "link_secret": "s" * 32}
    async with oauth_server(db_url, fake_slack, **links) as (driver, browser):
        services = driver.services
        now = dt.datetime.now(dt.UTC)
        tokens = {}
        for n, (team, (triage, management, query, market)) in enumerate(TEAMS.items()):
            tokens[team] = fake_slack.install(f"code-{n}", team=team)
            assert (await browser.install(f"code-{n}"))[0] == 200
            # Installed, nothing written there yet: its periodic work runs all the same.
            assert (await periodic_scopes(services))[n:] == [f"slack::{team}"]
            await SqlSettings(engine).save(
                workspace=Workspace("slack", None, team),
                values={"triage_channel": triage, "management_channel": management},
                expected_version=0, changes=[], notifications=[],
            )  # fmt: skip
            here = Workspace("slack", None, team, isolated=True)
            await SqlUpdatesRepository(engine).record_misses(
                counts=[(here.scope, query, "DE", 3)], at=now
            )
            with workspace.using(here):  # the same PM id in both
                await SqlBriefingRepository(engine).add_briefing(
                    pm=UserRef("slack", PMS[0]),
                    draft=BriefingDraft(now.date(), (market,), None, (), 10 + n, (), "Roadmap",
                                        None, 30, DeckFile(f"{team}.pdf", "application/pdf",
                                                           team.encode())),
                    at=now,
                )  # fmt: skip
        assert await scopes_in_use(engine, isolated=True) == ["slack::T0AAA", "slack::T0BBB"]

        await periodic(services)
        while await services.worker.run_once():
            pass
        posts = fake_slack.delivered("chat.postMessage")
        for team, (triage, management, query, _market) in TEAMS.items():
            other = next(v for t, v in TEAMS.items() if t != team)
            [gaps] = [c for c in posts if c.body.get("channel") == triage]
            assert gaps.token == tokens[team]
            said = json.dumps(gaps.body)
            assert query in said and other[2] not in said
            [digest] = [c for c in posts if c.body.get("channel") == management]
            assert digest.token == tokens[team]
            uploads = [c for c in fake_slack.delivered("files.completeUploadExternal")
                       if c.body.get("channel_id") == management]  # fmt: skip
            assert [c.token for c in uploads] == [tokens[team]]
        # Every message named its workspace, none parked, none sent with another's token.
        rows = await _outbox(engine)
        assert rows and all(team is not None and status == "sent" for *_, team, status in rows)
        assert {c.token for c in posts} == set(tokens.values())
        # The digest each management channel got counts its own workspace's briefing only.
        async with engine.connect() as conn:
            reports = {
                r.team_id: r.payload
                for r in await conn.execute(
                    sa.text("SELECT team_id, payload FROM outbox WHERE kind = 'coverage'")
                )
            }
        for team, (*_, market) in TEAMS.items():
            raw = reports[team]
            report = (json.loads(raw) if isinstance(raw, str) else raw)["report"]
            assert report["briefings"] == 1
            briefed = {r[0] for r in report["regions"] if r[2]}  # code, name, briefings…
            assert market in briefed and not briefed & {
                m for t, (*_, m) in TEAMS.items() if t != team
            }

        # Each digest's CSV links its workspace's kept deck, and the link serves it.
        served = set()
        for upload in fake_slack.uploads.values():
            for path in re.findall(
                r"https://bot\.example\.com(/decks/[^\s,\"]+)", upload.decode(errors="replace")
            ):
                async with driver.http.get(driver.base + path) as got:
                    assert got.status == 200, path
                    served.add(await got.read())
        assert served == {team.encode() for team in TEAMS}

        sent = len(fake_slack.calls)
        await periodic(services)  # a second pass in the same week: nothing new
        assert await services.worker.run_once() == 0
        assert len(fake_slack.calls) == sent
        assert await _outbox(engine) == rows


async def test_a_slack_workspaces_weekly_never_goes_to_teams(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with oauth_server(db_url, fake_slack) as (driver, _):
        services = driver.services
        services.settings = services.settings.model_copy(update={"teams_emulator": True})
        assert services.settings.platforms == {"slack", "teams"}
        await services.conversations.save(key="teams:triage", reference={"conversation": {}})
        await services.conversations.save(key="teams:management", reference={"conversation": {}})
        here = Workspace("slack", None, "T0AAA", isolated=True)
        await SqlUpdatesRepository(engine).record_misses(
            counts=[(here.scope, "quantum toaster", "DE", 3)], at=dt.datetime.now(dt.UTC)
        )
        with workspace.using(here):
            await weekly(services)
        rows = await _outbox(engine)
        assert ("announce", "C0TRIAGE", "T0AAA", "pending") in rows
        assert [r for r in rows if r[1] in ("triage", "management")] == []


async def test_two_workspaces_with_the_same_channel_id_each_get_their_gap_list(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with oauth_server(db_url, fake_slack) as (driver, browser):
        for n, team in enumerate(TEAMS):  # no settings stored: both use TRIAGE_CHANNEL
            fake_slack.install(f"code-{n}", team=team)
            assert (await browser.install(f"code-{n}"))[0] == 200
            scope = Workspace("slack", None, team, isolated=True).scope
            await SqlUpdatesRepository(engine).record_misses(
                counts=[(scope, "quantum toaster", "DE", 3)], at=dt.datetime.now(dt.UTC)
            )
        await periodic(driver.services)
        rows = await _outbox(engine)
        gaps = sorted(r[2] or "" for r in rows if r[0] == "announce" and r[1] == "C0TRIAGE")
        assert gaps == list(TEAMS)


async def test_a_catalog_change_is_announced_in_each_workspace_with_its_token(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    announce = {"T0AAA": "C0ANNA", "T0BBB": "C0ANNB"}
    async with oauth_server(db_url, fake_slack) as (driver, browser):
        services = driver.services
        tokens = {}
        for n, (team, channel) in enumerate(announce.items()):
            tokens[team] = fake_slack.install(f"code-{n}", team=team)
            assert (await browser.install(f"code-{n}"))[0] == 200
            await SqlSettings(engine).save(
                workspace=Workspace("slack", None, team), values={"announce_channel": channel},
                expected_version=0, changes=[], notifications=[],
            )  # fmt: skip
        await services.catalog.import_catalog(CHANGED)  # `salesbridge catalog import`
        while await services.worker.run_once():
            pass
        posts = fake_slack.delivered("chat.postMessage")
        for team, channel in announce.items():
            [post] = [c for c in posts if c.body.get("channel") == channel]
            assert post.token == tokens[team]
            assert "Widget Pro" in json.dumps(post.body)
        assert {c.token for c in posts} == set(tokens.values())
        assert all(status == "sent" for *_, status in await _outbox(engine))
