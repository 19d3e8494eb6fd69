"""Logs are JSON lines without secrets; /healthz reports a database it cannot reach."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from handlers.app import create_app
from handlers.config import Settings
from handlers.logs import JsonFormatter


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
