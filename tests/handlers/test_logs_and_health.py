"""Logs are JSON lines without secrets or internal fields; /healthz reports a database it
cannot reach or write to; /livez only says the process answers."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.app import create_app
from handlers.config import Settings
from handlers.logs import QUIET, JsonFormatter, setup_logging
from store.db import make_engine
from tests.conftest import demo_text
from tests.fakes import FakeSlack
from tests.handlers.conftest import SlackDriver, slack_server


def test_tokens_are_masked_everywhere_in_a_record() -> None:
    try:
        raise RuntimeError("failed with xoxb-1234-abcd")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token %s", ("xapp-1-A2-b3",), exc_info=exc_info
    )
    record.header = "Bearer eyJhbGciOi.abc.def"
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["msg"] == "token [redacted]"
    assert data["header"] == "[redacted]"
    for secret in ("xoxb-1234", "xapp-1-A2", "eyJhbGciOi"):
        assert secret not in line


async def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db",
    )
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/healthz")) as r:
            assert r.status == 503
            assert (await r.json())["database"] == "down"
    finally:
        await server.close()


async def test_no_secret_reaches_the_logs_in_a_real_flow(
    slack,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    """Commands, a bug with the token in its message, and a forged request, all at DEBUG."""
    import pytest as _pytest

    from bot.commands import Bot
    from handlers.logs import JsonFormatter
    from tests.fakes import BOT_TOKEN, SIGNING_SECRET

    caplog.set_level(logging.DEBUG)
    await slack.command("widget pro in oz")
    await slack.post("command=%2Fproduct&text=x", headers={"X-Slack-Signature": "v0=00"})

    async def broken(self: Bot, **kwargs: object) -> None:
        raise RuntimeError(f"token {BOT_TOKEN} leaked into an exception")

    with _pytest.MonkeyPatch.context() as mp:
        mp.setattr(Bot, "handle", broken)
        await slack.command("widget pro in oz")
    formatter = JsonFormatter()
    lines = "\n".join(formatter.format(r) for r in caplog.records)
    assert lines  # something was logged
    assert BOT_TOKEN not in lines and SIGNING_SECRET not in lines


INTERNAL = re.compile(r"internal: \{margin_pct: (\d+), cost_usd: (\d+), notes: \"([^\"]+)\"\}")


def _internal_values(text: str) -> set[str]:
    found = INTERNAL.findall(text)
    assert len(found) >= 5
    return {v for margin, cost, notes in found for v in (f"{margin}", cost, notes[:30])}


@contextlib.contextmanager
def _debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The service's own logging at LOG_LEVEL=DEBUG, captured; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in QUIET})
    setup_logging("DEBUG")
    root.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


async def test_no_internal_field_reaches_a_log_at_debug(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """LOG_LEVEL=DEBUG over an import that rewrites every internal field, an export that
    reads them back, and lookups: no margin, cost or note in any record, on either database."""
    changed = re.sub(r"margin_pct: (\d+)", lambda m: f"margin_pct: {int(m[1]) + 1}", demo_text())
    changed = changed.replace('notes: "', 'notes: "Revised: ')
    secrets = _internal_values(changed)
    with _debug_logs(caplog):
        await slack.services.catalog.import_catalog(changed)
        exported = await slack.services.catalog.export_catalog()
        for question in ("widget pro in oz", "ledger sync", "germany", "quantum toaster uk"):
            await slack.command(question)
    assert any("Revised: " in str(v) for v in exported.internal.values())  # read back
    assert caplog.records  # DEBUG records were written (the bot's, aiohttp's…)
    lines = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    leaked = sorted(s for s in secrets if len(s) > 3 and s in lines)
    assert not leaked, leaked


async def test_statement_parameters_never_reach_an_error_message(engine: AsyncEngine) -> None:
    """A failing statement's exception (which is what gets logged) omits its parameters."""
    with pytest.raises(sa.exc.DBAPIError) as err:
        async with engine.connect() as conn:
            await conn.execute(
                sa.text("INSERT INTO no_such_table (x) VALUES (:x)"), {"x": "margin 61 secret"}
            )
    assert "margin 61 secret" not in str(err.value)


async def test_livez_answers_without_the_database(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db",
    )
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/livez")) as r:
            assert r.status == 200 and (await r.json()) == {"status": "alive"}
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def _writes_blocked(db_url: str) -> AsyncIterator[None]:
    """Another session holds the write lock: reads still work, writes wait."""
    if db_url.startswith("sqlite"):
        path = db_url.split("///", 1)[1]
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=20)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = make_engine(db_url)
    async with engine.connect() as conn:
        await conn.execute(sa.text("LOCK TABLE seen_event IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await conn.rollback()
    await engine.dispose()


async def test_healthz_reports_a_database_that_takes_no_writes(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.app

    monkeypatch.setattr(handlers.app, "HEALTH_WRITE_SECONDS", 0.5)
    async with slack_server(db_url, fake_slack, worker=False) as slack:
        await _healthz_through_a_write_outage(slack, db_url)


async def _healthz_through_a_write_outage(slack: SlackDriver, db_url: str) -> None:
    async with slack.http.get(slack.base + "/healthz") as r:
        assert r.status == 200 and (await r.json())["database"] == "ok"
    async with _writes_blocked(db_url):
        async with slack.http.get(slack.base + "/healthz") as r:
            assert r.status == 503
            assert (await r.json())["database"] == "unwritable"
        async with slack.http.get(slack.base + "/livez") as r:
            assert r.status == 200  # alive all the same
    async with slack.http.get(slack.base + "/healthz") as r:
        assert r.status == 200 and (await r.json())["database"] == "ok"
