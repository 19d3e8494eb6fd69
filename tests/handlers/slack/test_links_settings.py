"""Reports made outside any request with each workspace's own settings: two Slack workspaces
installed through OAuth, each with its own briefing target and report time zone. The chart
and CSV links made in one serve figures computed with its targets and time zone, as its
chat answer was; the weekly digest, and a report the worker computes at delivery, likewise;
a link made in the shared pool keeps the environment's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.briefings import BriefingDraft
from bot.payloads import Coverage
from bot.ports import Lane, Notification
from bot.reports import Report
from bot.settings import inside
from bot.types import UserRef
from bot.workspace import Workspace
from handlers import links
from handlers.app import periodic
from store.briefings_repo import SqlBriefingRepository
from store.settings_repo import SqlSettings
from tests.conftest import demo_text
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_oauth import oauth_server

PUBLIC = "https://bot.example.com"
# team -> (briefings per region and quarter, report time zone, management channel). The two
# zones are 25 hours apart: at any moment their dates differ, and at least one differs from
# the environment's (UTC).
TEAMS = {
    "T0AAA": (2, "Pacific/Kiritimati", "C0MGMA"),
    "T0BBB": (5, "Pacific/Pago_Pago", "C0MGMB"),
}
ENV_TARGET = 1
# APAC gets its target from the default (the catalog sets none for it here).
CATALOG = demo_text().replace(
    "aliases: [Asia-Pacific, Asia Pac], briefing_target_per_quarter: 5}",
    "aliases: [Asia-Pacific, Asia Pac]}",
)


def _here(team: str) -> Workspace:
    return Workspace("slack", None, team, isolated=True)


def _today(zone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(zone)).date()


def _apac_target(text: str) -> int:
    [row] = [r for r in csv.DictReader(io.StringIO(text)) if r["region_code"] == "APAC"]
    return int(row["target_per_quarter"])


def _apac(report: Report) -> int:
    return next(r.target for r in report.regions if r.code == "APAC")


@pytest.fixture
async def two(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[tuple[SlackDriver, dict[str, str]]]:
    """The server in OAuth mode with links, both workspaces installed, each with its target,
    time zone and management channel stored and one briefing a week ago; the tokens."""
    async with oauth_server(
        db_url, fake_slack, public_url=PUBLIC, link_secret="s" * 32,
        report_timezone="UTC", default_briefing_target=ENV_TARGET,
    ) as (driver, browser):  # fmt: skip
        assert "briefing_target_per_quarter: 5}" not in CATALOG.split("APAC", 1)[1][:80]
        await driver.services.catalog.import_catalog(CATALOG)
        tokens = {}
        held = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        for n, (team, (target, zone, management)) in enumerate(TEAMS.items()):
            tokens[team] = fake_slack.install(f"code-{n}", team=team)
            assert (await browser.install(f"code-{n}"))[0] == 200
            await SqlSettings(engine).save(
                workspace=Workspace("slack", None, team),
                values={"default_briefing_target": target, "report_timezone": zone,
                        "management_channel": management},
                expected_version=0, changes=[], notifications=[],
            )  # fmt: skip
            with workspace.using(_here(team)):
                await SqlBriefingRepository(engine).add_briefing(
                    pm=UserRef("slack", PMS[0]),
                    draft=BriefingDraft(held.date(), ("AU",), None, (), 10, (), "Roadmap",
                                        None, 30, None),
                    at=held,
                )  # fmt: skip
        yield driver, tokens


async def _asked(driver: SlackDriver, here: Workspace | None) -> Report:
    """The report as a chat request in `here` computes it: its scope and settings entered."""
    services = driver.services
    assert services.bot.coverage is not None
    async with inside(services.workspace_settings, here):
        return await services.bot.coverage.report("this quarter")


async def test_each_workspaces_chart_and_csv_links_use_its_targets_and_time_zone(
    two: tuple[SlackDriver, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, _tokens = two
    chart_links = driver.services.chart_links
    assert chart_links is not None
    drawn: list[Report] = []

    def draw(report: Report, page: int) -> bytes:  # what the chart page is drawn from
        drawn.append(report)
        return b"\x89PNG"

    monkeypatch.setattr(links, "_draw", draw)

    async def fetch(url: str) -> tuple[int, str]:
        async with driver.http.get(driver.base + url.removeprefix(PUBLIC)) as got:
            return got.status, await got.text(errors="replace")

    served: dict[str, str] = {}
    for team, (target, zone, _) in TEAMS.items():
        with workspace.using(_here(team)):  # the links as that workspace's request makes them
            asked = await _asked(driver, _here(team))
            csv_url = chart_links.csv_url(asked.period)
            [chart_url] = chart_links.chart_urls(asked)
        assert _apac(asked) == target and asked.period.end == _today(zone)
        status, served[team] = await fetch(csv_url)  # outside any request
        assert status == 200
        assert served[team] == asked.csv()
        assert _apac_target(served[team]) == target
        assert (await fetch(chart_url))[0] == 200
        chart = drawn.pop()
        assert _apac(chart) == target
        assert chart.period.end == _today(zone)  # its quarter to date ends on its own today
        assert chart.briefings == 1
    assert served["T0AAA"] != served["T0BBB"]

    # A link made in the shared pool (no workspace named) keeps the environment's settings.
    shared = await _asked(driver, None)
    status, text = await fetch(chart_links.csv_url(shared.period))
    assert status == 200 and _apac_target(text) == ENV_TARGET


def _csvs(fake_slack: FakeSlack) -> dict[str, list[str]]:
    """The CSVs uploaded, per bot token (per workspace)."""
    out: dict[str, list[str]] = {}
    for call in fake_slack.delivered("files.getUploadURLExternal"):
        if str(call.body.get("filename", "")).endswith(".csv"):
            data = fake_slack.uploads[call.answer["file_id"]]
            out.setdefault(call.token, []).append(data.decode())
    return out


async def test_each_workspaces_digest_uses_its_targets_and_time_zone(
    two: tuple[SlackDriver, dict[str, str]], engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    driver, tokens = two
    await periodic(driver.services)
    while await driver.services.worker.run_once():
        pass
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT team_id, payload FROM outbox WHERE kind = 'coverage'")
        )
        reports = {
            r.team_id: Report.decode(
                (json.loads(r.payload) if isinstance(r.payload, str) else r.payload)["report"]
            )
            for r in rows
        }
    csvs = _csvs(fake_slack)
    for team, (target, zone, _) in TEAMS.items():
        assert _apac(reports[team]) == target
        assert reports[team].period.end == _today(zone)
        [sent] = csvs[tokens[team]]
        assert _apac_target(sent) == target


async def test_a_report_computed_at_delivery_uses_its_workspaces_settings(
    two: tuple[SlackDriver, dict[str, str]], fake_slack: FakeSlack
) -> None:
    """A coverage message written in a workspace without its report (the worker computes
    it when it sends it) is computed with that workspace's settings."""
    driver, tokens = two
    services = driver.services
    for team in TEAMS:
        with workspace.using(_here(team)):
            note: dict[str, Any] = {"platform": "slack", "kind": "coverage", "target": "C0HERE"}
            await services.outbox.enqueue(
                notifications=[
                    Notification(**note, dedupe_key=f"coverage:now:{team}",
                                 payload=Coverage("this quarter").encode(),
                                 lane=Lane.INTERACTIVE)
                ]
            )  # fmt: skip
    while await services.worker.run_once():
        pass
    csvs = _csvs(fake_slack)
    for team, (target, _zone, _) in TEAMS.items():
        [sent] = csvs[tokens[team]]
        assert _apac_target(sent) == target


async def test_one_workspaces_digest_uses_the_settings_its_admins_stored(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    """One workspace, one SLACK_BOT_TOKEN (the shared pool): the weekly digest names no
    workspace, and is computed with the settings the workspace's admins stored in chat,
    not the environment's, as its management channel already is."""
    async with slack_server(
        db_url, fake_slack, worker=False, report_timezone="UTC",
        default_briefing_target=ENV_TARGET,
    ) as driver:  # fmt: skip
        await driver.services.catalog.import_catalog(CATALOG)
        await SqlSettings(engine).save(
            workspace=Workspace("slack", None, "T0TEAM"),
            values={"default_briefing_target": 4, "management_channel": "C0MGMT"},
            expected_version=0, changes=[], notifications=[],
        )  # fmt: skip
        # As a save through the form does (another process sees it within seconds).
        driver.services.workspace_settings.forget(Workspace("slack", None, "T0TEAM"))
        await periodic(driver.services)
        while await driver.services.worker.run_once():
            pass
        [sent] = [c for cs in _csvs(fake_slack).values() for c in cs]
        assert _apac_target(sent) == 4
