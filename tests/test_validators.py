"""The validators can fail: each rule refuses a payload that breaks it and accepts its fixed
twin, so a clean suite means the app's output passed them, not that they checked nothing."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from tests import validators as v


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _card(body: list[dict[str, Any]], version: str = "1.5", **extra: Any) -> dict[str, Any]:
    return {"type": "AdaptiveCard", "version": version, "body": body, **extra}


def _execute(**extra: Any) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": "Go", "verb": "go", "data": {}, **extra}


SUBMIT = {"type": "Action.Submit", "title": "Go", "data": {"verb": "go"}}
BAD_AND_GOOD: list[tuple[str, Any, Any]] = [
    ("51 blocks", {"blocks": [_section("x")] * 51}, {"blocks": [_section("x")] * 50}),
    ("3,001 characters", {"blocks": [_section("x" * 3001)]}, {"blocks": [_section("x" * 3000)]}),
    ("cut escape", {"blocks": [_section("a &am")]}, {"blocks": [_section("a &amp;")]}),
    (
        "long field",
        {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}]},
        {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2000}]}]},
    ),
    ("unknown key", {"blocks": [{**_section("x"), "colour": "red"}]}, {"blocks": [_section("x")]}),
    ("nothing", {}, {"text": "hello"}),
]


@pytest.mark.parametrize(("rule", "bad", "good"), BAD_AND_GOOD, ids=[r for r, _, _ in BAD_AND_GOOD])
def test_slack_message_rules(rule: str, bad: Any, good: Any) -> None:
    v.take()
    v.slack_message(bad, rule)
    assert v.take(), f"{rule} was accepted"
    v.slack_message(good, rule)
    assert v.take() == []


def test_a_modal_and_an_options_list_over_their_limits() -> None:
    v.take()
    inputs = {
        "type": "input",
        "block_id": "b",
        "label": {"type": "plain_text", "text": "L"},
        "element": {"type": "plain_text_input", "action_id": "a", "initial_value": "x" * 3001},
    }
    v.slack_view(
        {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": [inputs]}, "m"
    )
    found = v.take()
    assert any("no submit" in f for f in found) and any("initial_value" in f for f in found)
    option = {"text": {"type": "plain_text", "text": "o"}, "value": "o"}
    v.slack_options({"options": [option] * 101}, "o")
    assert v.take()
    v.slack_options({"options": [option] * 100}, "o")
    assert v.take() == []


def test_a_view_submission_error_must_name_an_input_of_the_view() -> None:
    v.take()
    view = {"blocks": [{"type": "input", "block_id": "title"}]}
    body = json.dumps({"type": "view_submission", "view": view})
    form = "payload=" + urllib.parse.quote(body)
    ack = json.dumps({"response_action": "errors", "errors": {"titel": "Say what"}})
    v.slack_ack(form, "application/x-www-form-urlencoded", 200, ack)
    assert v.take()
    ack = json.dumps({"response_action": "errors", "errors": {"title": "Say what"}})
    v.slack_ack(form, "application/x-www-form-urlencoded", 200, ack)
    assert v.take() == []


def test_cards_are_judged_by_the_schema_of_their_version() -> None:
    v.take()
    text = {"type": "TextBlock", "text": "x"}
    v.adaptive_card(_card([{**text, "colour": "red"}]), "c")  # no such property
    assert v.take()
    v.adaptive_card(_card([text], version="1.9"), "c")  # no schema: refused, not skipped
    assert v.take()
    # Data.Query exists from 1.6 (and, as Teams' typeahead, in Teams under 1.5) ...
    picker = {"type": "Input.ChoiceSet", "id": "p", "choices": [], "style": "filtered"}
    picker["choices.data"] = {"type": "Data.Query", "dataset": "products"}
    v.adaptive_card(_card([picker]), "c")
    assert v.take() == []
    # ... but 1.6's other additions do not pass under 1.5.
    v.adaptive_card(_card([{**picker, "labelPosition": "inline"}]), "c")
    assert v.take()


def test_teams_limits() -> None:
    v.take()
    v.adaptive_card(_card([], actions=[_execute()]), "c")
    assert any("fallback" in f for f in v.take())
    v.adaptive_card(_card([], actions=[_execute(fallback=SUBMIT)]), "c")
    assert v.take() == []
    big = [{"type": "TextBlock", "text": "x" * 1000}] * 30
    v.adaptive_card(_card(big), "c")
    assert any("bytes" in f for f in v.take())
    results = [{"title": str(i), "value": str(i)} for i in range(16)]
    search = {
        "type": "application/vnd.microsoft.search.searchResponse",
        "value": {"results": results},
    }
    v.teams_invoke({"name": "application/search"}, search)
    assert v.take()


def test_a_socket_mode_ack_is_judged_by_its_shape() -> None:
    v.take()
    v.slack_socket_ack({"envelope_id": "e", "payload": {"blocks": [_section("x")] * 51}})
    assert v.take()
    v.slack_socket_ack({"envelope_id": "e", "payload": {"response_action": "shout"}})
    assert v.take()
    v.slack_socket_ack({"envelope_id": "e", "payload": {"text": "fine"}})
    v.slack_socket_ack({"envelope_id": "e"})
    assert v.take() == []
