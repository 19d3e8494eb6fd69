"""The first run fails loudly and quietly succeeds: settings that cannot work are one line
naming the variable (exit 2), and `make demo` (handlers/demo.py) stops with exit 1 when its
port is taken or its server dies, and shows nothing but the console when all is well."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.config import Settings
from tests.conftest import DEMO_CATALOG

GUARD = 180  # seconds: only so that a hung process fails the test instead of hanging it


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without any of the bot's settings, on a database of its own."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'first.db'}", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _salesbridge(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handlers.launch", *args],
        cwd=tmp_path,  # no .env of the developer's is read
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "env", "names"),
    [
        (("serve",), {"SLACK_SIGNING_SECRET": "s3cret"}, ("SLACK_BOT_TOKEN", "xoxb-")),
        (("worker",), {"SLACK_SIGNING_SECRET": "s3cret"}, ("SLACK_BOT_TOKEN",)),
        (("serve",), {"SLACK_APP_TOKEN": "xapp-1-x"}, ("SLACK_SIGNING_SECRET",)),
        (("serve",), {"PORT": "http"}, ("PORT='http'", "integer")),
        (("db", "upgrade"), {"REPORT_TIMEZONE": "Mars/Base"}, ("REPORT_TIMEZONE", "IANA")),
        (("serve",), {"MICROSOFT_APP_TYPE": "Tenant"}, ("MICROSOFT_APP_TYPE", "MultiTenant")),
        (("db", "upgrade"), {"FX_RATES": "EUR:1.08"}, ("FX_RATES", "EUR=1.08")),
    ],
    ids=[
        "no-bot-token",
        "worker-no-bot-token",
        "socket-no-secret",
        "port",
        "zone",
        "app-type",
        "fx-rates",
    ],
)
def test_a_setting_that_cannot_work_is_one_line_naming_it(
    tmp_path: Path, command: tuple[str, ...], env: dict[str, str], names: tuple[str, ...]
) -> None:
    done = _salesbridge(tmp_path, *command, **env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # no traceback, no log lines
    assert lines[0].startswith("salesbridge: ")
    for name in names:
        assert name in lines[0]
    assert "s3cret" not in done.stderr  # a secret's value is never echoed


def test_settings_that_fit_together_have_no_problems() -> None:
    slack = {"slack_signing_secret": "s", "slack_bot_token": "xoxb-1", "slack_app_token": "xapp"}
    assert Settings(_env_file=None, **slack).problems() == []  # type: ignore[arg-type]
    teams = {"microsoft_app_id": "a", "microsoft_app_type": "singletenant"}
    assert Settings(_env_file=None, **teams, microsoft_app_tenant_id="t").problems() == []  # type: ignore[arg-type]
    assert [p.split(" ")[0] for p in Settings(_env_file=None, **teams).problems()] == [  # type: ignore[arg-type]
        "MICROSOFT_APP_TENANT_ID"
    ]


def test_teams_bots_are_single_tenant_unless_told_and_then_need_their_tenant() -> None:
    def problems(**teams: str) -> list[str]:
        return [p.split(" ")[0] for p in Settings(_env_file=None, **teams).problems()]  # type: ignore[arg-type]

    assert Settings(_env_file=None).microsoft_app_type == "SingleTenant"  # type: ignore[call-arg]
    assert problems(microsoft_app_id="a") == ["MICROSOFT_APP_TENANT_ID"]
    assert problems(microsoft_app_id="a", microsoft_app_type="UserAssignedMSI") == [
        "MICROSOFT_APP_TENANT_ID"
    ]
    assert problems(microsoft_app_id="a", microsoft_app_tenant_id="t") == []
    assert problems(microsoft_app_id="a", microsoft_app_type="MultiTenant") == []
    # Without Teams (or in Emulator mode, which checks no tokens) no tenant is asked for.
    assert problems() == []
    assert problems(teams_emulator="1") == []


def test_slack_oauth_settings_go_together_and_not_with_one_bot_token() -> None:
    def problems(**slack: str) -> list[str]:
        return [p.split(" ")[0] for p in Settings(_env_file=None, **slack).problems()]  # type: ignore[arg-type]

    oauth = {"slack_client_id": "C0", "slack_client_secret": "x", "slack_signing_secret": "s"}
    assert problems(**oauth) == []
    assert Settings(_env_file=None, **oauth).platforms == {"slack"}  # type: ignore[arg-type]
    assert problems(slack_client_id="C0", slack_signing_secret="s") == [
        "SLACK_CLIENT_SECRET",
        "SLACK_BOT_TOKEN",
    ]
    assert problems(**oauth, slack_bot_token="xoxb-1") == ["SLACK_BOT_TOKEN"]
    assert problems(slack_client_id="C0", slack_client_secret="x") == ["SLACK_SIGNING_SECRET"]


# ---------------------------------------------------------------------------- make demo


def _demo(
    tmp_path: Path, port: int, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "handlers.demo",
            "--port",
            str(port),
            "--catalog",
            str(DEMO_CATALOG),
            "--log",
            str(tmp_path / "serve.log"),
        ],
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_demo_on_a_taken_port_says_so_and_exits_1(tmp_path: Path, taken_port: int) -> None:
    done = _demo(tmp_path, taken_port)
    assert done.returncode == 1
    assert f"Port {taken_port} is already in use" in done.stderr
    assert f"PORT={taken_port + 1}" in done.stderr
    assert "Serving on" not in done.stdout


def test_demo_whose_server_dies_shows_why_and_exits_1(tmp_path: Path) -> None:
    # The set-up steps need no Slack; the server refuses to start without the bot token.
    done = _demo(tmp_path, _free_port(), SLACK_SIGNING_SECRET="s3cret")
    assert done.returncode == 1
    assert "salesbridge serve stopped (exit 2) before it answered" in done.stderr
    assert "SLACK_BOT_TOKEN is not set" in done.stderr  # the end of the server's log
    assert "Serving on" not in done.stdout


def test_demo_is_quiet_until_the_console_answers(tmp_path: Path) -> None:
    port = _free_port()
    done = _demo(tmp_path, port, stdin="/product widget lite in oz\n")
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "alembic" not in output.lower()
    assert '"level"' not in output  # no log line at all before (or after) the prompt
    assert f"Serving on http://localhost:{port}" in done.stdout
    assert "Widget Lite: Not available in Australia" in done.stdout
    # The server was stopped with the console: the port is free again.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
