"""The Slack manifest declares exactly what the code uses, and is valid by the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.commands import COMMANDS
from bot.ids import ActionId
from handlers.slack import listeners
from tests.conftest import ROOT

SCHEMA = ROOT / "tests" / "schemas" / "slack-app-manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifests" / "slack.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_command_and_no_other(manifest: dict[str, Any]) -> None:
    declared = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    slack = [c for c in COMMANDS if c.on_slack]
    assert set(declared) == {c.slash for c in slack}
    for c in slack:
        assert declared[c.slash]["description"] == c.description
        assert declared[c.slash]["usage_hint"] == c.usage_hint
        assert declared[c.slash]["url"].endswith("/slack/events")


def test_scopes_and_settings_match_the_listeners(manifest: dict[str, Any]) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == listeners.BOT_SCOPES
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(list(ActionId))
    events = manifest["settings"]["event_subscriptions"]
    assert tuple(events["bot_events"]) == listeners.BOT_EVENTS
    assert events["request_url"].endswith("/slack/events")
    assert tuple(s["callback_id"] for s in manifest["features"]["shortcuts"]) == (
        listeners.SHORTCUTS
    )
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_every_listener_the_app_registers_is_declared(manifest: dict[str, Any]) -> None:
    """Count bolt's own listener registrations against what the manifest declares."""
    from slack_bolt.async_app import AsyncApp

    seen: dict[str, list[str]] = {"command": [], "shortcut": [], "event": []}

    class Recorder(AsyncApp):  # type: ignore[misc]
        def command(self, command, *a, **k):  # type: ignore[no-untyped-def]
            seen["command"].append(command)
            return super().command(command, *a, **k)

        def shortcut(self, constraints, *a, **k):  # type: ignore[no-untyped-def]
            seen["shortcut"].append(constraints)
            return super().shortcut(constraints, *a, **k)

        def event(self, event, *a, **k):  # type: ignore[no-untyped-def]
            seen["event"].append(event)
            return super().event(event, *a, **k)

    app = Recorder(signing_secret="x", token="xoxb-x")
    listeners.register(app, None, None)  # type: ignore[arg-type]
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert set(seen["command"]) == declared
    assert set(seen["shortcut"]) == {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert set(seen["event"]) == set(manifest["settings"]["event_subscriptions"]["bot_events"])


def test_manifest_is_valid_by_the_schema(manifest: dict[str, Any]) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=str)
    assert not errors, [e.message for e in errors]
