"""The Slack manifest declares exactly what the code uses, and is valid by the schema."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
import yaml

from bot.commands import COMMANDS
from bot.ids import ActionId
from handlers.config import Settings
from handlers.slack import listeners
from handlers.slack.http import UNINSTALL_EVENTS
from handlers.slack.oauth import INSTALL_PATH, REDIRECT_PATH
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
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes["bot"]) == listeners.BOT_SCOPES
    # Optional scopes are listed among the bot's and again as optional (Slack's manifest
    # fields of 2026-03): only those the code does without.
    assert set(scopes["bot_optional"]) == listeners.OPTIONAL_SCOPES < listeners.BOT_SCOPES
    assert "user" not in scopes  # no user tokens are asked for
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(list(ActionId))
    events = manifest["settings"]["event_subscriptions"]
    assert tuple(events["bot_events"]) == listeners.BOT_EVENTS + UNINSTALL_EVENTS
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
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert set(seen["event"]) | set(UNINSTALL_EVENTS) == events


def test_oauth_installs_ask_for_the_manifest_s_scopes_and_come_back_to_its_url(
    manifest: dict[str, Any],
) -> None:
    """The install link asks for exactly the manifest's bot scopes (no user scopes), and
    Slack's redirect comes back to the one URL the manifest registers, which the app
    serves; Grid orgs can install it org-wide."""
    from handlers.app import build_services, create_app

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="sqlite+aiosqlite:///:memory:",
        slack_signing_secret="s",
        slack_client_id="C0CLIENT",
        slack_client_secret="x",
    )
    services = build_services(settings)
    oauth = services.slack_oauth
    assert oauth is not None
    url = oauth.settings.authorize_url_generator.generate(state="s")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    assert set(query["scope"][0].split(",")) == set(manifest["oauth_config"]["scopes"]["bot"])
    assert query["user_scope"] == [""]
    (redirect,) = manifest["oauth_config"]["redirect_urls"]
    assert urllib.parse.urlsplit(redirect).path == REDIRECT_PATH
    served = {
        (r.method, r.resource.canonical) for r in create_app(settings, services).router.routes()
    }
    assert {("GET", REDIRECT_PATH), ("GET", INSTALL_PATH)} <= served
    assert manifest["settings"]["org_deploy_enabled"] is True


def test_manifest_is_valid_by_the_schema(manifest: dict[str, Any]) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # The vendored schema predates optional scopes: they take the shape of the lists they
    # are chosen from.
    scopes = schema["properties"]["oauth_config"]["properties"]["scopes"]["properties"]
    scopes["bot_optional"], scopes["user_optional"] = scopes["bot"], scopes["user"]
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=str)
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("oauth", [False, True], ids=["one token", "oauth"])
def test_slash_commands_are_the_first_listeners_bolt_tries(oauth: bool) -> None:
    """bolt tries its listeners in order and builds every argument a listener may take
    for each one it tries: a command (the answer a rep waits for) must not first be tried
    against the uninstall events."""
    from handlers.app import build_services
    from handlers.slack.http import create_slack_app
    from handlers.slack.render import Effects

    keys: dict[str, Any] = (
        {"slack_client_id": "C0CLIENT", "slack_client_secret": "x"}
        if oauth
        else {"slack_bot_token": "xoxb-x"}
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="sqlite+aiosqlite:///:memory:",
        slack_signing_secret="s",
        **keys,
    )
    services = build_services(settings)
    effects = Effects(lambda *a, **k: None, lambda: None, services.background)  # type: ignore[arg-type]
    app = create_slack_app(
        settings, interactions=services.interactions, effects=effects, oauth=services.slack_oauth
    )
    slashes = [c.slash for c in COMMANDS if c.on_slack]
    first = app._async_listeners[: len(slashes)]
    assert [listener.ack_function.__name__ for listener in first] == ["command"] * len(slashes)
