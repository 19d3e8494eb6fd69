"""The Slack manifest declares exactly what the code uses, and is valid by the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.commands import COMMANDS
from handlers.slack import listeners
from tests.conftest import ROOT

SCHEMA = ROOT.parent / "shared" / "schemas" / "slack-app-manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifests" / "slack.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_command_and_no_other(manifest: dict[str, Any]) -> None:
    declared = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(declared) == {c.slash for c in COMMANDS}
    for c in COMMANDS:
        assert declared[c.slash]["description"] == c.description
        assert declared[c.slash]["usage_hint"] == c.usage_hint
        assert declared[c.slash]["url"].endswith("/slack/events")


def test_scopes_and_settings_match_the_listeners(manifest: dict[str, Any]) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == listeners.BOT_SCOPES
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(listeners.ACTION_IDS)
    assert "event_subscriptions" not in manifest["settings"]  # no event listeners yet
    assert not manifest["features"].get("shortcuts")


@pytest.mark.skipif(not SCHEMA.exists(), reason="../shared/schemas is not beside this checkout")
def test_manifest_is_valid_by_the_schema(manifest: dict[str, Any]) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=str)
    assert not errors, [e.message for e in errors]
