"""`salesbridge` starts with the cyclic collector off; it is back on once start-up is over."""

from __future__ import annotations

import gc

import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

import handlers.cli
from handlers import launch
from handlers.app import build_services, create_app
from handlers.config import Settings


def test_the_launcher_imports_the_cli_with_the_collector_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(handlers.cli, "main", lambda: seen.append(gc.isenabled()))
    try:
        launch.main()
    finally:
        gc.enable()
    assert seen == [False]


def test_commands_other_than_serve_switch_it_back_on(tmp_path: object) -> None:
    gc.disable()
    try:
        result = CliRunner().invoke(handlers.cli.main, ["manifest", "teams", "--help"])
        assert result.exit_code == 0
        assert gc.isenabled()
    finally:
        gc.enable()


async def test_serve_switches_it_back_on_once_the_index_is_built(db_url: str) -> None:
    settings = Settings(database_url=db_url)
    gc.disable()
    server = TestServer(create_app(settings, build_services(settings), worker=False))
    try:
        await server.start_server()
        assert gc.isenabled()
    finally:
        gc.enable()
        await server.close()
