"""Which scope a request's data is kept under: its workspace's own when the deployment serves
many (Slack OAuth, a multi-tenant Teams bot), else the one SHARED pool; the console's always."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.workspace import SHARED, Workspace
from handlers.app import Services
from handlers.config import Settings
from handlers.console import CONSOLE_WORKSPACE
from tests.fakes import FakeSlack, slash_body
from tests.handlers.conftest import slack_server
from tests.handlers.slack.test_oauth import Browser, home_opened, oauth_server
from tests.handlers.slack.test_socket_mode import wait_for
from tests.handlers.teams.conftest import TeamsDriver, start


def scopes_seen(services: Services, method: str) -> list[str]:
    """The scope current each time the request's `method` of Interactions runs."""
    seen: list[str] = []
    real: Callable[..., Any] = getattr(services.interactions, method)

    async def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(workspace.scope())
        return await real(*args, **kwargs)

    setattr(services.interactions, method, spy)
    return seen


def settings(**fields: Any) -> Settings:
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


def test_the_deployment_isolates_workspaces_when_it_serves_many() -> None:
    assert not settings(slack_bot_token="xoxb-1").isolates_workspaces
    assert settings(slack_client_id="1.2", slack_client_secret="s").isolates_workspaces
    assert not settings(slack_client_id="1.2").isolates_workspaces  # half of OAuth is none
    teams = {"microsoft_app_id": "app", "microsoft_app_tenant_id": "tenant-1"}
    assert not settings(**teams).isolates_workspaces  # SingleTenant: one tenant
    assert settings(**teams, microsoft_app_type="MultiTenant").isolates_workspaces
    # Without Teams, a leftover MultiTenant says nothing about this deployment.
    assert not settings(microsoft_app_type="MultiTenant").isolates_workspaces
    assert CONSOLE_WORKSPACE.scope == SHARED


async def test_with_oauth_a_slack_request_is_scoped_to_its_workspace_and_grid_org(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with oauth_server(db_url, fake_slack, worker=True) as (driver, browser):
        driver.fake.install("code-a", team="T0AAA")
        driver.fake.install("code-org", team=None, enterprise="E0ORG", org_wide=True)
        for code in ("code-a", "code-org"):
            assert (await browser.install(code))[0] == 200
        seen = scopes_seen(driver.services, "home")
        assert (await driver.post_json(home_opened("T0AAA"))).status == 200
        grid = home_opened("T0GRID1", enterprise="E0ORG", org_wide=True)
        assert (await driver.post_json(grid)).status == 200
        assert seen == ["slack::T0AAA", "slack:E0ORG:T0GRID1"]


async def test_with_one_bot_token_a_slack_request_is_in_the_shared_pool(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with slack_server(db_url, fake_slack) as driver:
        seen = scopes_seen(driver.services, "home")
        assert (await driver.post_json(home_opened("T0TEAM"))).status == 200
        assert seen == [SHARED]


@pytest.mark.parametrize(
    ("app_type", "scope"), [("MultiTenant", "teams::tenant-1"), ("SingleTenant", SHARED)]
)
async def test_a_teams_activity_is_scoped_to_its_tenant_only_for_a_multi_tenant_bot(
    db_url: str, engine: AsyncEngine, app_type: str, scope: str
) -> None:
    server, services, connector = await start(db_url, microsoft_app_type=app_type)
    try:
        async with aiohttp.ClientSession() as http:
            teams = TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
            seen = scopes_seen(services, "line")
            assert (await teams.say("Widget Pro"))[0] == 202
            assert seen == [scope]
    finally:
        await server.close()
        await connector.close()


async def test_with_oauth_a_socket_mode_request_is_scoped_to_its_workspace(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    client_id, secret = fake_slack.client
    async with (
        slack_server(
            db_url,
            fake_slack,
            slack_bot_token=None,
            slack_client_id=client_id,
            slack_client_secret=secret,
            slack_app_token="xapp-1-test",
        ) as driver,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
    ):
        fake_slack.install("code-a", team="T0AAA")
        assert (await Browser(driver.base, http).install("code-a"))[0] == 200
        seen = scopes_seen(driver.services, "command")
        await wait_for(lambda: fake_slack.socket is not None)
        assert fake_slack.socket is not None
        body = slash_body("/product", "widget lite in oz", team="T0AAA")
        form = dict(urllib.parse.parse_qsl(body))
        envelope = {"envelope_id": "env-a", "type": "slash_commands", "payload": form}
        await fake_slack.socket.send_json({**envelope, "accepts_response_payload": True})
        await wait_for(lambda: any(a.get("envelope_id") == "env-a" for a in fake_slack.socket_acks))
        assert seen == ["slack::T0AAA"]


async def test_with_oauth_each_workspace_s_gap_list_holds_only_its_own_lookups(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with oauth_server(db_url, fake_slack, worker=True) as (driver, browser):
        for code, team in (("code-a", "T0AAA"), ("code-b", "T0BBB")):
            driver.fake.install(code, team=team)
            assert (await browser.install(code))[0] == 200
        for _ in range(2):
            await driver.post(slash_body("/product", "widget pro china", team="T0AAA"))
        await driver.post(slash_body("/product", "widget pro mars", team="T0BBB"))
        # The tally is written outside any request: each count keeps its request's scope.
        await driver.services.updates.flush_misses()
        a = Workspace("slack", None, "T0AAA", isolated=True)
        b = Workspace("slack", None, "T0BBB", isolated=True)
        with workspace.using(a):
            gaps_a = await driver.services.updates.gap_report()
        with workspace.using(b):
            gaps_b = await driver.services.updates.gap_report()
        assert any("2 lookups for Widget Pro in China" in line for line in gaps_a), gaps_a
        assert not any("China" in line for line in gaps_b), gaps_b
        assert any("in mars" in line for line in gaps_b), gaps_b
        assert not any("mars" in line for line in gaps_a), gaps_a
        assert await driver.services.updates.gap_report() == []  # the shared pool: neither
