"""Installation through OAuth, driven the way a browser and Slack drive it: /slack/install,
Slack's consent (the fake's codes), the redirect back, then signed requests from each
workspace answered with that workspace's own token (the fake records which), uninstalls,
rotation, and forged, replayed and expired states refused with nothing stored."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import install
from bot.payloads import Digest
from bot.ports import Notification
from handlers.slack.notifier import NOT_INSTALLED, REFRESH_FAILED
from handlers.slack.oauth import APART, INSTALL_PATH, REDIRECT_PATH
from tests.fakes import FakeSlack, sign
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_feedback_flow import eventually

COOKIE = "slack-app-oauth-state"


@dataclass
class Browser:
    """The installer's browser: follows /slack/install to Slack, comes back with a code."""

    base: str
    http: aiohttp.ClientSession

    async def start(self) -> tuple[str, str]:
        """GET /slack/install: (the state in Slack's consent URL, the cookie it set)."""
        async with self.http.get(self.base + INSTALL_PATH, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            location = r.headers["Location"]
            cookie = r.cookies[COOKIE].value
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert location.startswith("https://slack.com/oauth/v2/authorize?")
        return query["state"][0], cookie

    async def back(self, *, code: str, state: str, cookie: str | None) -> tuple[int, str]:
        """Slack's redirect to /slack/oauth_redirect, as the browser follows it."""
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        params = {"code": code, "state": state}
        async with self.http.get(
            self.base + REDIRECT_PATH, params=params, headers=headers, allow_redirects=False
        ) as r:
            return r.status, html.unescape(await r.text())

    async def install(self, code: str) -> tuple[int, str]:
        state, cookie = await self.start()
        return await self.back(code=code, state=state, cookie=cookie)


@contextlib.asynccontextmanager
async def oauth_server(
    db_url: str, fake_slack: FakeSlack, *, worker: bool = False, **overrides: Any
) -> AsyncIterator[tuple[SlackDriver, Browser]]:
    """The server in OAuth mode and an installer's browser; `worker`: its own outbox worker
    runs (else the test runs it); `overrides`: more Settings fields."""
    client_id, secret = fake_slack.client
    async with (
        slack_server(
            db_url,
            fake_slack,
            worker=worker,
            slack_bot_token=None,
            slack_client_id=client_id,
            slack_client_secret=secret,
            **overrides,
        ) as driver,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
    ):
        yield driver, Browser(driver.base, http)


@pytest.fixture
async def oauth(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[tuple[SlackDriver, Browser]]:
    async with oauth_server(db_url, fake_slack, worker=True) as found:
        yield found


def digest(key: str) -> Notification:
    """A post written outside any request (the worker's weekly work): no workspace."""
    body = Digest("Still accurate?", ("Widget Pro",)).encode()
    return Notification(platform="slack", kind="post", target="C0ANN", dedupe_key=key, payload=body)


def home_opened(
    team: str, *, enterprise: str | None = None, org_wide: bool = False, user: str = "U0SALES1"
) -> dict[str, Any]:
    """An app_home_opened event as Slack sends it from `team` (org-wide: authorized for the
    org, not the workspace)."""
    return {
        "token": "legacy",
        "team_id": team,
        "enterprise_id": enterprise,
        "api_app_id": "A0APP",
        "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"},
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": 1700000000,
        "is_enterprise_install": org_wide,
        "authorizations": [
            {
                "enterprise_id": enterprise,
                "team_id": None if org_wide else team,
                "user_id": "U0BOT",
                "is_bot": True,
                "is_enterprise_install": org_wide,
            }
        ],
    }


def event(
    kind: str, team: str, *, enterprise: str | None = None, org_wide: bool = False, **fields: Any
) -> dict[str, Any]:
    body = home_opened(team, enterprise=enterprise, org_wide=org_wide)
    body["event"] = {"type": kind, **fields}
    return body


async def command(
    driver: SlackDriver,
    text: str,
    *,
    team: str,
    enterprise: str | None = None,
    org_wide: bool = False,
    user: str = PMS[0],
    channel: str = "C0SALES",
) -> int:
    grid = {"enterprise_id": enterprise, "enterprise_name": "Org"} if enterprise else {}
    body = urllib.parse.urlencode(
        {
            **grid,  # Slack names an org only for a Grid workspace
            "token": "legacy",
            "team_id": team,
            "channel_id": channel,
            "user_id": user,
            "command": "/coverage",
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "true" if org_wide else "false",
            "response_url": driver.fake.response_url(),
            "trigger_id": "123.456.abc",
        }
    )
    return (await driver.post(body)).status


async def published_with(driver: SlackDriver, body: dict[str, Any]) -> list[str]:
    """The tokens App Home was published with in answer to `body`."""
    before = len(driver.fake.tokens_used("views.publish"))
    assert (await driver.post_json(body)).status == 200
    return driver.fake.tokens_used("views.publish")[before:]


async def rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


async def expires(engine: AsyncEngine, at: dt.datetime) -> None:
    """Every installed bot token expires at `at` (naive UTC, like the column)."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE slack_bots SET bot_token_expires_at = :t"), {"t": at})


# ------------------------------------------------------------------------------------ dance


async def test_two_workspaces_and_a_grid_org_each_answered_with_their_own_token(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    fake = driver.fake
    a = fake.install("code-a", team="T0AAA")
    b = fake.install("code-b", team="T0BBB")
    org = fake.install("code-org", team=None, enterprise="E0ORG", org_wide=True)
    for code, where in (
        ("code-a", "Team T0AAA"),
        ("code-b", "Team T0BBB"),
        ("code-org", "Org E0ORG"),
    ):
        status, page = await browser.install(code)
        assert status == 200, page
        assert install.INSTALLED.format(where=where) in page
    exchanged = [c for c in fake.calls if c.method == "oauth.v2.access"]
    assert [c.body.get("code") for c in exchanged] == ["code-a", "code-b", "code-org"]
    assert await rows(engine, "slack_bots") == 3

    # Each workspace is answered with its own installation's token...
    assert await published_with(driver, home_opened("T0AAA")) == [a]
    assert await published_with(driver, home_opened("T0BBB")) == [b]
    # ...and every workspace of the Grid org with the org's.
    for team in ("T0GRID1", "T0GRID2"):
        assert await published_with(
            driver, home_opened(team, enterprise="E0ORG", org_wide=True)
        ) == [org]

    # What a request writes to the outbox is sent with its workspace's token by the worker.
    for team, enterprise, org_wide, token in (
        ("T0BBB", None, False, b),
        ("T0GRID2", "E0ORG", True, org),
        ("T0AAA", None, False, a),
    ):
        before = len(fake.tokens_used("files.completeUploadExternal"))
        status = await command(
            driver, "this quarter", team=team, enterprise=enterprise, org_wide=org_wide
        )
        assert status == 200
        await eventually(
            lambda n=before: len(fake.tokens_used("files.completeUploadExternal")) > n  # type: ignore[misc]
        )
        assert fake.tokens_used("files.completeUploadExternal")[before:] == [token]
        assert fake.tokens_used("files.getUploadURLExternal")[-2:] == [token, token]


async def test_a_workspace_that_did_not_install_is_never_answered_with_another_s_token(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    fake = driver.fake
    fake.install("code-a", team="T0AAA")
    fake.install("code-org", team=None, enterprise="E0ORG", org_wide=True)
    assert (await browser.install("code-a"))[0] == 200
    assert (await browser.install("code-org"))[0] == 200

    # Not installed: a workspace of no org, and one of another org (with and without that
    # org's org-wide authorization).
    for body in (
        home_opened("T0CCC"),
        home_opened("T0CCC", enterprise="E0OTHER"),
        home_opened("T0CCC", enterprise="E0OTHER", org_wide=True),
    ):
        assert await published_with(driver, body) == []
    assert await command(driver, "this quarter", team="T0CCC") == 200
    assert fake.responses[-1]["text"] == install.NOT_INSTALLED_HERE
    assert await rows(engine, "outbox") == 0
    # Every Web API call made so far used one of the tokens issued to the installations.
    assert {c.token for c in fake.calls if c.method not in ("oauth.v2.access",)} <= set(fake.issued)


async def test_uninstalled_and_revoked_workspaces_are_forgotten(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    fake = driver.fake
    a = fake.install("code-a", team="T0AAA")
    b = fake.install("code-b", team="T0BBB")
    org = fake.install("code-org", team=None, enterprise="E0ORG", org_wide=True)
    for code in ("code-a", "code-b", "code-org"):
        assert (await browser.install(code))[0] == 200
    assert await rows(engine, "slack_installations") == 3

    assert (await driver.post_json(event("app_uninstalled", "T0AAA"))).status == 200
    assert await rows(engine, "slack_bots") == 2
    assert await rows(engine, "slack_installations") == 2
    assert await published_with(driver, home_opened("T0AAA")) == []
    assert await published_with(driver, home_opened("T0BBB")) == [b]

    revoked = event("tokens_revoked", "T0BBB", tokens={"bot": ["U0BOTT0BBB"]})
    assert (await driver.post_json(revoked)).status == 200
    assert await published_with(driver, home_opened("T0BBB")) == []

    grid = home_opened("T0GRID1", enterprise="E0ORG", org_wide=True)
    assert await published_with(driver, grid) == [org]
    gone = event("app_uninstalled", "T0GRID1", enterprise="E0ORG", org_wide=True)
    assert (await driver.post_json(gone)).status == 200
    assert (
        await published_with(driver, home_opened("T0GRID1", enterprise="E0ORG", org_wide=True))
        == []
    )
    assert await rows(engine, "slack_bots") == 0
    assert a not in fake.tokens_used("views.publish")[1:]  # A's token was used once, before


async def test_an_expiring_token_is_rotated_before_use_and_the_new_one_kept(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    fake = driver.fake
    first = fake.install("code-a", team="T0AAA", expires_in=60)  # within the refresh window
    assert (await browser.install("code-a"))[0] == 200
    used = await published_with(driver, home_opened("T0AAA"))
    refreshes = [c for c in fake.calls if c.body.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0].body["refresh_token"] == f"xoxe-1-{first}"
    assert used != [first] and used[0] in fake.issued
    async with engine.connect() as conn:
        kept = await conn.scalar(sa.text("SELECT bot_token FROM slack_bots"))
    assert kept == used[0]
    # Good for twelve hours now: the next request uses it as it is.
    assert await published_with(driver, home_opened("T0AAA")) == used
    assert len([c for c in fake.calls if c.body.get("grant_type") == "refresh_token"]) == 1


async def test_the_worker_rotates_tokens_and_sends_work_of_no_request_to_the_only_install(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    async with oauth_server(db_url, fake_slack) as (driver, browser):
        worker, outbox = driver.services.worker, driver.services.outbox
        first = fake_slack.install("code-a", team="T0AAA", expires_in=43200)
        assert (await browser.install("code-a"))[0] == 200
        assert await command(driver, "this quarter", team="T0AAA") == 200
        soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=30)
        await expires(engine, soon)  # eleven hours and a half later
        assert await worker.run_once() == 1
        (rotated,) = set(fake_slack.tokens_used("files.completeUploadExternal"))
        assert rotated != first and fake_slack.issued[rotated]["team_id"] == "T0AAA"

        # Written outside any request (the worker's weekly work): the one installation's.
        await outbox.enqueue(notifications=[digest("weekly-1")])
        assert await worker.run_once() == 1
        assert fake_slack.tokens_used("chat.postMessage") == [rotated]
        assert APART not in caplog.messages
        # With two installations such a message names no workspace: parked, sent to nobody,
        # as the log says when the second one is saved and at each start.
        fake_slack.install("code-b", team="T0BBB")
        assert (await browser.install("code-b"))[0] == 200
        assert caplog.messages.count(APART) == 1
        await outbox.enqueue(notifications=[digest("weekly-2")])
        assert await worker.run_once() == 1
        assert fake_slack.tokens_used("chat.postMessage") == [rotated]
        async with engine.connect() as conn:
            parked = (
                await conn.execute(
                    sa.text("SELECT status, last_error FROM outbox WHERE dedupe_key = 'weekly-2'")
                )
            ).one()
        assert tuple(parked) == ("dead", NOT_INSTALLED)
    async with oauth_server(db_url, fake_slack):
        assert caplog.messages.count(APART) == 2


async def test_a_failed_refresh_keeps_a_good_token_and_waits_out_an_expired_one(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    async with oauth_server(db_url, fake_slack) as (driver, browser):
        worker, outbox = driver.services.worker, driver.services.outbox
        first = fake_slack.install("code-a", team="T0AAA", expires_in=43200)
        assert (await browser.install("code-a"))[0] == 200
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

        async def row(key: str) -> tuple[str, str | None]:
            async with engine.begin() as conn:  # and due again, whatever its backoff
                await conn.execute(
                    sa.text("UPDATE outbox SET next_attempt_at = :t"),
                    {"t": now - dt.timedelta(hours=1)},
                )
                found = await conn.execute(
                    sa.text("SELECT status, last_error FROM outbox WHERE dedupe_key = :k"),
                    {"k": key},
                )
                status, error = found.one()
            return str(status), error

        def refreshes() -> list[int]:
            return [c.status for c in fake_slack.calls if c.body.get("grant_type")]

        # Due for a refresh, still good for half an hour: Slack's 500 does not stop the DM.
        await expires(engine, now + dt.timedelta(minutes=30))
        fake_slack.refresh_fails = [(500, {})]
        await outbox.enqueue(notifications=[digest("weekly-1")])
        assert await worker.run_once() == 1
        assert refreshes() == [500]
        assert fake_slack.tokens_used("chat.postMessage") == [first]
        assert (await row("weekly-1"))[0] == "sent"

        # Expired: a 429 and then a 500 on the refresh are waited out, nothing is sent with
        # the expired token, and the message goes once Slack refreshes it.
        await expires(engine, now - dt.timedelta(minutes=1))
        fake_slack.refresh_fails = [(429, {"Retry-After": "7"}), (500, {})]
        await outbox.enqueue(notifications=[digest("weekly-2")])
        for failed in (429, 500):
            assert await worker.run_once() == 1
            assert refreshes()[-1] == failed
            status, error = await row("weekly-2")
            assert status == "pending" and error and error.startswith(REFRESH_FAILED), error
            assert fake_slack.tokens_used("chat.postMessage") == [first]
        assert await worker.run_once() == 1
        assert refreshes()[-1] == 200
        rotated = fake_slack.tokens_used("chat.postMessage")[-1]
        assert rotated != first and fake_slack.issued[rotated]["team_id"] == "T0AAA"
        assert (await row("weekly-2"))[0] == "sent"


# ------------------------------------------------------------------------------ bad states


async def test_a_forged_state_is_refused_and_nothing_is_stored(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    driver.fake.install("code-a", team="T0AAA")
    forged = uuid.uuid4().hex
    status, page = await browser.back(code="code-a", state=forged, cookie=forged)
    assert status == 401
    assert install.refusal("invalid_state") in page and install.NOTHING_INSTALLED in page
    # A state of ours, but not from this browser (no cookie, or another's).
    state, _cookie = await browser.start()
    for cookie in (None, forged):
        status, page = await browser.back(code="code-a", state=state, cookie=cookie)
        assert status == 400 and install.refusal("invalid_browser") in page
    assert "oauth.v2.access" not in driver.fake.methods()
    assert await rows(engine, "slack_installations") == 0
    assert await rows(engine, "slack_bots") == 0


async def test_a_replayed_state_is_refused_even_at_the_same_moment(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    fake = driver.fake
    fake.install("code-a", team="T0AAA")
    state, cookie = await browser.start()
    assert (await browser.back(code="code-a", state=state, cookie=cookie))[0] == 200
    fake.install("code-again", team="T0EVIL")
    status, page = await browser.back(code="code-again", state=state, cookie=cookie)
    assert status == 401 and install.refusal("invalid_state") in page

    # One state, many callbacks at once, each with a code Slack would accept: one installs.
    state, cookie = await browser.start()
    codes = [f"code-race-{n}" for n in range(6)]
    for n, code in enumerate(codes):
        fake.install(code, team=f"T0RACE{n}")
    done = await asyncio.gather(
        *(browser.back(code=code, state=state, cookie=cookie) for code in codes)
    )
    assert sorted(status for status, _ in done) == [200] + [401] * 5
    exchanged = [c.body.get("code") for c in fake.calls if c.method == "oauth.v2.access"]
    assert len(exchanged) == 2 and exchanged[0] == "code-a"
    assert await rows(engine, "slack_bots") == 2


async def test_an_expired_state_is_refused_and_nothing_is_stored(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    driver.fake.install("code-a", team="T0AAA")
    state, cookie = await browser.start()
    async with engine.begin() as conn:  # eleven minutes later
        await conn.execute(
            sa.text("UPDATE slack_oauth_states SET expire_at = :t"),
            {"t": dt.datetime(2000, 1, 1)},
        )
    status, page = await browser.back(code="code-a", state=state, cookie=cookie)
    assert status == 401 and install.refusal("invalid_state") in page
    assert "oauth.v2.access" not in driver.fake.methods()
    assert await rows(engine, "slack_bots") == 0
    assert await rows(engine, "slack_oauth_states") == 0  # and it is gone


async def test_a_cancelled_consent_says_so_and_stores_nothing(
    oauth: tuple[SlackDriver, Browser], engine: AsyncEngine
) -> None:
    driver, browser = oauth
    state, cookie = await browser.start()
    query = {"error": "access_denied", "state": state}
    async with browser.http.get(
        browser.base + REDIRECT_PATH, params=query, headers={"Cookie": f"{COOKIE}={cookie}"}
    ) as r:
        page = html.unescape(await r.text())
    assert r.status == 200 and install.refusal("access_denied") in page
    assert install.NOTHING_INSTALLED in page
    assert "oauth.v2.access" not in driver.fake.methods()
    assert await rows(engine, "slack_bots") == 0


# ----------------------------------------------------------------------- one workspace mode


async def test_with_one_bot_token_there_is_no_install_route(slack: SlackDriver) -> None:
    async with slack.http.get(slack.base + INSTALL_PATH, allow_redirects=False) as r:
        assert r.status == 404
    async with slack.http.get(slack.base + REDIRECT_PATH, allow_redirects=False) as r:
        assert r.status == 404
    # An uninstall is only logged: the one token is all there is.
    body = json.dumps(event("app_uninstalled", "T0TEAM"))
    headers = {"Content-Type": "application/json", **sign(body)}
    async with slack.http.post(slack.base + "/slack/events", data=body, headers=headers) as r:
        assert r.status == 200
