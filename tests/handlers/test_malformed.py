"""Malformed input gets a 4xx or a clear answer — never a 5xx — and the service keeps
answering correctly afterwards."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.fakes import sign
from tests.handlers.conftest import SlackDriver

q = urllib.parse.quote
SLACK_CASES = {
    "payload that is not JSON": ("payload=%7Bnot-json", 400),
    "payload that is a list": ("payload=" + q("[1, 2]"), 400),
    "bad form encoding": ("%%%===&&&", None),
    "unknown action id": (
        "payload="
        + q(
            json.dumps(
                {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "nope"}]}
            )
        ),
        None,
    ),
    "event of the wrong shape": (json.dumps({"type": "event_callback", "event": "oops"}), None),
    "JSON that is not an object": (json.dumps(["x"]), 400),
    "huge text": ("command=%2Fproduct&user_id=U1&text=" + "a" * 200_000, 200),
    "control characters": ("command=%2Fproduct&user_id=U1&text=%00%01widget%1b[31m", 200),
    "full-width and right-to-left": (
        "command=%2Fproduct&user_id=U1&text=" + q("ｗｉｄｇｅｔ ｐｒｏ \u202eau"),
        200,
    ),
}


@pytest.mark.parametrize("name", list(SLACK_CASES))
async def test_slack_never_answers_5xx(slack: SlackDriver, name: str) -> None:
    body, expected = SLACK_CASES[name]
    ct = "application/json" if body.startswith(("{", "[")) else "application/x-www-form-urlencoded"
    async with slack.http.post(
        slack.base + "/slack/events", data=body, headers={**sign(body), "Content-Type": ct}
    ) as r:
        text = await r.text()
        assert r.status < 500, text
        if expected is not None:
            assert r.status == expected
        assert "Traceback" not in text
    if name == "huge text":
        assert len(json.loads(text)["text"]) < 200
    # ...and the service still answers correctly.
    ok = await slack.command("widget pro in oz")
    assert ok.json["text"] == "Widget Pro: Available in Australia"


@pytest.mark.parametrize(
    "body",
    [
        "{{",
        "{}",
        json.dumps({"type": 5, "conversation": "x"}),
        json.dumps([1]),
        json.dumps({"type": "message"}),
    ],
)
async def test_teams_never_answers_5xx(slack: SlackDriver, body: str) -> None:
    async with slack.http.post(
        slack.base + "/api/messages", data=body, headers={"Content-Type": "application/json"}
    ) as r:
        assert 400 <= r.status < 500, await r.text()
