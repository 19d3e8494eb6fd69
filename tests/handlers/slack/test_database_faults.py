"""The database briefly away: SQLite locked by another writer, PostgreSQL connections
killed (as by a restart), the database failing outright. A submission either commits and
is confirmed, or is refused and says so; nothing is half-written."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from bot.feedback import FeedbackService
from bot.replies import ERROR_APOLOGY
from tests.handlers.conftest import SlackDriver
from tests.handlers.slack.test_feedback_flow import as_json, calls, submission

VALUES = {"product": "WDG-PRO", "kind": "feature_request", "client": "Acme Corp"}


async def open_form(slack: SlackDriver) -> dict[str, object]:
    await slack.command("Acme needs SAML single sign-on", command="/feedback")
    return as_json(calls(slack, "views.open")[-1].body["view"])  # type: ignore[no-any-return]


async def items(slack: SlackDriver) -> int:
    async with slack.services.engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT count(*) FROM feedback_item")) or 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_sqlite_locked_by_another_writer_waits_then_commits(
    slack: SlackDriver, db_url: str
) -> None:
    form = await open_form(slack)
    path = db_url.split("///", 1)[1]
    locked = threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(path, timeout=5)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(2.0)  # another process writing for two seconds
        conn.rollback()
        conn.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    answer = await slack.interaction(submission(form, **VALUES))
    await asyncio.to_thread(holder.join)
    assert answer.status == 200 and "#1" in str(answer.json["view"])  # committed, confirmed
    assert await items(slack) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_postgres_connections_killed_are_replaced(slack: SlackDriver, db_url: str) -> None:
    form = await open_form(slack)
    name = db_url.rsplit("/", 1)[1]
    async with slack.services.engine.connect() as conn:  # what a restart does to the pool
        await conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": name},
        )
    answer = await slack.interaction(submission(form, **VALUES))
    assert answer.status == 200 and "#1" in str(answer.json["view"])
    assert await items(slack) == 1


async def test_database_down_the_form_stays_open_and_nothing_is_written(
    slack: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = await open_form(slack)
    original = FeedbackService.create

    async def database_down(self: FeedbackService, **kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(FeedbackService, "create", database_down)
    refused = await slack.interaction(submission(form, **VALUES))
    assert refused.json["response_action"] == "errors"
    assert ERROR_APOLOGY in refused.json["errors"].values()
    assert await items(slack) == 0
    monkeypatch.setattr(FeedbackService, "create", original)  # back: the same form works
    ok = await slack.interaction(submission(form, **VALUES))
    assert "#1" in str(ok.json["view"]) and await items(slack) == 1
