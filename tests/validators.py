"""Validators nobody here wrote: every Slack message, modal, Home view, options list and ack
the suite produces is checked with slack_sdk's Block Kit models plus the documented Slack limits
those models do not enforce, and every Teams card against Microsoft's official Adaptive Card
schema of the version it declares (plus Teams' own limits). The fakes and drivers call these;
a violation is recorded and fails the test that produced it (see tests/conftest.py)."""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
import struct
import urllib.parse
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

SCHEMAS = Path(__file__).parent / "schemas"
VIOLATIONS: list[str] = []

# ------------------------------------------------------------------------------- Slack limits
# From Slack's Block Kit reference (docs.slack.dev/reference/block-kit), where slack_sdk's
# models do not check them.
MESSAGE_BLOCKS = 50  # blocks in a message (a modal or Home tab: 100, checked by View)
MESSAGE_TEXT = 40_000  # a message's top-level text is cut beyond this
FIELD_TEXT = 2_000  # each of a section's fields
TEXT_INPUT = 3_000  # plain_text_input max_length / initial_value
CHOICE_OPTIONS = 10  # checkboxes and radio buttons
MENU_OPTIONS = 100  # an options list answered to an external select
OPTION_DESCRIPTION = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
VIEW_IDS = 255  # callback_id, external_id
# mrkdwn must escape &, < and > as &amp; &lt; &gt;: a lone "&" is text cut mid-escape.
_BARE_AMP = re.compile(r"&(?!amp;|lt;|gt;)")

# ------------------------------------------------------------------------------- Teams limits
CARD_BYTES = 28 * 1024  # Teams: an Adaptive Card payload over 28 KB is not sent
ACTIVITY_BYTES = 100 * 1024  # Teams: a bot message over 100 KB is refused (413)
IMAGE_SIDE = 1024  # Teams shows an image of at most 1024 x 1024 px
SEARCH_RESULTS = 15  # Teams shows at most 15 type-ahead results
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _near(text: str, at: int) -> str:
    return repr(text[max(0, at - 20) : at + 8])


def violation(where: str, problem: str) -> None:
    VIOLATIONS.append(f"{where}: {problem}")


def take() -> list[str]:
    """The violations recorded since the last call (and forget them)."""
    found = list(VIOLATIONS)
    VIOLATIONS.clear()
    return found


# ------------------------------------------------------------------------------- Slack


def _json(value: Any) -> Any:
    """Form-encoded Web API calls carry blocks and views as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _dropped(given: Any, kept: Any, path: str) -> Iterator[str]:
    """Keys slack_sdk did not recognise (and so would not send): typos or unknown fields."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key not in kept:
                yield f"{path}.{key}"
            else:
                yield from _dropped(value, kept[key], f"{path}.{key}")
    elif isinstance(given, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(given, kept, strict=False)):
            yield from _dropped(a, b, f"{path}[{i}]")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _option_problems(option: Any) -> Iterator[str]:
    if not isinstance(option, dict):
        yield f"option is not an object: {option!r}"
        return
    text = (option.get("text") or {}).get("text", "")
    if not 0 < len(text) <= OPTION_TEXT:
        yield f"option text has {len(text)} characters (1..{OPTION_TEXT})"
    if not 0 < len(str(option.get("value", ""))) <= OPTION_VALUE:
        yield f"option value has {len(str(option.get('value', '')))} characters (..{OPTION_VALUE})"
    description = (option.get("description") or {}).get("text", "")
    if len(description) > OPTION_DESCRIPTION:
        yield f"option description has {len(description)} characters (max {OPTION_DESCRIPTION})"


def _element_problems(node: dict[str, Any]) -> Iterator[str]:
    kind = node.get("type")
    if kind in ("mrkdwn", "plain_text") and "text" in node:
        text = str(node["text"])
        if not text.strip():
            yield f"empty {kind} text"
        if kind == "mrkdwn":
            bare = _BARE_AMP.search(text)
            if bare:
                yield f"mrkdwn text has an unescaped or cut '&' near {_near(text, bare.start())}"
    if kind == "section":
        for f in node.get("fields") or []:
            length = len(str(f.get("text", ""))) if isinstance(f, dict) else 0
            if length > FIELD_TEXT:
                yield f"section field of {length} characters (max {FIELD_TEXT})"
    if kind in ("checkboxes", "radio_buttons") and len(node.get("options") or []) > CHOICE_OPTIONS:
        yield f"{kind} with {len(node['options'])} options (max {CHOICE_OPTIONS})"
    if kind == "plain_text_input":
        initial = str(node.get("initial_value") or "")
        most = int(node.get("max_length") or TEXT_INPUT)
        if most > TEXT_INPUT:
            yield f"plain_text_input max_length {most} (max {TEXT_INPUT})"
        most = min(most, TEXT_INPUT)
        if len(initial) > most:
            yield f"plain_text_input initial_value of {len(initial)} characters (max {most})"
    if kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes"):
        options = list(node.get("options") or [])
        for group in node.get("option_groups") or []:
            options += group.get("options") or []
        values = {o.get("value") for o in options if isinstance(o, dict)}
        initial = node.get("initial_options") or (
            [node["initial_option"]] if node.get("initial_option") else []
        )
        for o in initial:
            if isinstance(o, dict) and o.get("value") not in values:
                yield f"{kind} initial option {o.get('value')!r} is not one of its options"
        for o in options:
            yield from _option_problems(o)


def _blocks(blocks: Any, where: str, *, most: int | None) -> None:
    if not isinstance(blocks, list):
        violation(where, f"blocks is not a list: {type(blocks).__name__}")
        return
    if most is not None and len(blocks) > most:
        violation(where, f"{len(blocks)} blocks (max {most})")
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(ids) != len(set(ids)):
        violation(where, f"block_ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    for i, raw in enumerate(blocks):
        at = f"{where} block {i}"
        if not isinstance(raw, dict):
            violation(at, "not an object")
            continue
        try:
            parsed = Block.parse(copy.deepcopy(raw))
            if parsed is None or type(parsed) is Block:
                violation(at, f"unknown block type {raw.get('type')!r}")
                continue
            kept = parsed.to_dict()  # validates every nested object on the way
        except (SlackObjectFormationError, TypeError, ValueError, KeyError) as e:
            violation(at, f"slack_sdk: {e}")
            continue
        for key in _dropped(raw, kept, raw.get("type", "block")):
            violation(at, f"slack_sdk does not know {key}")
        action_ids = [n["action_id"] for n in _walk(raw) if isinstance(n.get("action_id"), str)]
        if len(action_ids) != len(set(action_ids)):
            violation(at, f"action_ids repeat in one block: {action_ids}")
        for node in _walk(raw):
            for problem in _element_problems(node):
                violation(at, problem)


def slack_message(body: dict[str, Any], where: str) -> None:
    """A message body (chat.postMessage/update/postEphemeral, response_url, an ack)."""
    blocks = _json(body.get("blocks"))
    text = body.get("text")
    if blocks is None and not text and not body.get("delete_original"):
        violation(where, "a message with neither text nor blocks")
    if text is not None and len(str(text)) > MESSAGE_TEXT:
        violation(where, f"text of {len(str(text))} characters (max {MESSAGE_TEXT})")
    if text:
        bare = _BARE_AMP.search(str(text))
        if bare:
            violation(
                where,
                f"message text has an unescaped or cut '&' near {_near(str(text), bare.start())}",
            )
    if blocks is not None:
        _blocks(blocks, where, most=MESSAGE_BLOCKS)


def slack_view(view: Any, where: str) -> None:
    """A modal (views.open/update/push, a response_action) or a Home tab (views.publish)."""
    view = _json(view)
    if not isinstance(view, dict):
        violation(where, f"view is not an object: {view!r}")
        return
    try:
        View(**copy.deepcopy(view)).to_dict()  # title, submit, 100 blocks, metadata, type
    except (SlackObjectFormationError, TypeError) as e:
        violation(where, f"slack_sdk: {e}")
    for key in ("callback_id", "external_id"):
        if len(str(view.get(key) or "")) > VIEW_IDS:
            violation(where, f"{key} of {len(str(view[key]))} characters (max {VIEW_IDS})")
    blocks = view.get("blocks") or []
    if view.get("type") == "modal" and not view.get("submit"):
        if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks):
            violation(where, "a modal with input blocks but no submit button")
    _blocks(blocks, where, most=None)


def slack_options(body: Any, where: str) -> None:
    """An options list (the answer to a block_suggestion)."""
    if not isinstance(body, dict) or not ({"options", "option_groups"} & body.keys()):
        violation(where, f"an options answer without options: {body!r}")
        return
    options = body.get("options")
    groups = body.get("option_groups")
    listed = options if options is not None else groups
    if not isinstance(listed, list) or len(listed) > MENU_OPTIONS:
        violation(where, f"{len(listed or [])} options (max {MENU_OPTIONS})")
        return
    for o in options or [o for g in groups or [] for o in g.get("options") or []]:
        for problem in _option_problems(o):
            violation(where, problem)


def slack_web_api(method: str, body: dict[str, Any]) -> None:
    """A Web API call the fake Slack received."""
    where = f"Slack {method}"
    if method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"):
        slack_message(body, where)
    elif method in ("views.open", "views.update", "views.push", "views.publish"):
        slack_view(body.get("view"), where)
        if method == "views.publish" and (_json(body.get("view")) or {}).get("type") != "home":
            violation(where, "views.publish of a view that is not a Home tab")


def slack_response_url(body: dict[str, Any]) -> None:
    slack_message(body, "Slack response_url")


def _request_payload(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}
    form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
    if "payload" in form:
        data = json.loads(form["payload"])
        return data if isinstance(data, dict) else {}
    return form


def slack_ack(request_body: str, content_type: str, status: int, answer: str) -> None:
    """What the app answered Slack's request with, judged by what the request was."""
    if status != 200:
        return  # refused (signature, malformed): Slack shows nothing from the body
    try:
        request = _request_payload(request_body, content_type)
    except ValueError:
        return  # a malformed request a test sent on purpose
    kind = str(request.get("type") or ("slash_command" if "command" in request else ""))
    where = f"Slack ack of {kind or 'a request'}"
    if not answer.strip():
        return  # an empty ack is always valid
    try:
        body = json.loads(answer)
    except ValueError:
        body = None
    if kind == "slash_command":
        if isinstance(body, dict):
            slack_message(body, where)
        return  # plain text is a valid ephemeral reply
    if kind == "block_suggestion":
        slack_options(body, where)
    elif kind == "view_submission":
        _view_ack(body, request.get("view") or {}, where)
    elif kind in ("block_actions", "shortcut", "message_action", "view_closed"):
        violation(where, f"an ack with a body Slack ignores: {answer[:200]!r}")


def slack_socket_ack(ack: dict[str, Any]) -> None:
    """A Socket Mode ack: the request is not at hand, so its payload is judged by its shape."""
    payload = ack.get("payload")
    where = "Slack Socket Mode ack"
    if not isinstance(payload, dict) or not payload:
        return
    if "response_action" in payload:
        _view_ack(payload, {}, where)
    elif {"options", "option_groups"} & payload.keys():
        slack_options(payload, where)
    else:
        slack_message(payload, where)


def _view_ack(body: Any, submitted: dict[str, Any], where: str) -> None:
    if not isinstance(body, dict):
        violation(where, f"a view_submission ack that is not JSON: {body!r}")
        return
    action = body.get("response_action")
    if action == "errors":
        inputs = {
            b.get("block_id")
            for b in submitted.get("blocks") or []
            if isinstance(b, dict) and b.get("type") == "input"
        }
        errors = body.get("errors")
        if not isinstance(errors, dict) or not errors:
            violation(where, "response_action errors without errors")
            return
        for block_id, message in errors.items():
            if inputs and block_id not in inputs:
                violation(where, f"an error for {block_id!r}, which is no input of the view")
            if not isinstance(message, str) or not message or len(message) > 2000:
                violation(where, f"error message for {block_id!r}: {message!r}")
    elif action in ("update", "push"):
        slack_view(body.get("view"), where)
    elif action != "clear":
        violation(where, f"a view_submission ack with response_action {action!r}")


# ------------------------------------------------------------------------------- Teams


def _schema_for(version: str) -> dict[str, Any] | None:
    path = SCHEMAS / f"adaptive-card-{version}.schema.json"
    if not path.exists():
        return None
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if version == "1.5":
        # Teams documents typeahead search (Input.ChoiceSet `style: "filtered"` and
        # `choices.data` with a Data.Query) as its own addition, rendered by every Teams
        # client under 1.5 (msteams-docs task-modules-and-cards/cards/dynamic-search.md).
        # Adaptive Cards made them standard in 1.6: take exactly 1.6's definitions of those
        # two properties, and nothing else from 1.6.
        later = json.loads((SCHEMAS / "adaptive-card-1.6.schema.json").read_text("utf-8"))
        defs, later_defs = schema["definitions"], later["definitions"]
        choice_set = defs["Input.ChoiceSet"]["properties"]
        choice_set["choices.data"] = later_defs["Input.ChoiceSet"]["properties"]["choices.data"]
        defs["ChoiceInputStyle"] = later_defs["ChoiceInputStyle"]
        defs["Data.Query"] = later_defs["Data.Query"]
        # Teams' other documented addition: @mentions in a card, as `msteams.entities` on
        # the card (each a mention naming the user's id). Only that shape is allowed.
        defs["AdaptiveCard"]["properties"]["msteams"] = TEAMS_MENTIONS
    return schema


TEAMS_MENTIONS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "text", "mentioned"],
                "properties": {
                    "type": {"enum": ["mention"]},
                    "text": {"type": "string", "pattern": "^<at>[^<>]+</at>$"},
                    "mentioned": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id", "name"],
                        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                    },
                },
            },
        }
    },
}


@cache
def _validator(version: str) -> Draft6Validator | None:
    schema = _schema_for(version)
    return None if schema is None else Draft6Validator(schema)


def _png_size(url: str) -> tuple[int, int] | None:
    prefix = "data:image/png;base64,"
    if not url.startswith(prefix):
        return None
    data = base64.b64decode(url[len(prefix) :])
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def adaptive_card(card: Any, where: str) -> None:
    """One Adaptive Card, against the schema of the version it declares, and Teams' limits."""
    if not isinstance(card, dict):
        violation(where, f"a card that is not an object: {card!r}")
        return
    version = str(card.get("version") or "")
    validator = _validator(version)
    if validator is None:
        violation(where, f"a card declaring version {version!r}, which has no vendored schema")
        return
    for error in sorted(validator.iter_errors(card), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path)
        violation(where, f"Adaptive Card {version} schema at /{path}: {error.message[:300]}")
    size = len(json.dumps(card, ensure_ascii=False).encode())
    if size > CARD_BYTES:
        violation(where, f"card of {size} bytes (Teams: at most {CARD_BYTES})")
    for node in _walk(card):
        if node.get("type") == "Action.Execute":
            fallback = node.get("fallback")
            if not (isinstance(fallback, dict) and fallback.get("type") == "Action.Submit"):
                violation(
                    where, f"Action.Execute {node.get('verb')!r} has no Action.Submit fallback"
                )
        if node.get("type") == "Image" and isinstance(node.get("url"), str):
            side = _png_size(node["url"])
            if side and max(side) > IMAGE_SIDE:
                violation(
                    where, f"image of {side[0]}x{side[1]} px (Teams: {IMAGE_SIDE}x{IMAGE_SIDE})"
                )


def _cards_in(node: Any) -> Iterator[Any]:
    """Every Adaptive Card inside an activity or an invoke response."""
    for n in _walk(node):
        if n.get("contentType") == CARD_CONTENT_TYPE and "content" in n:
            yield n["content"]
        elif n.get("type") == CARD_CONTENT_TYPE and "value" in n:  # a Universal Action's answer
            yield n["value"]


def teams_activity(body: Any, where: str = "Teams activity") -> None:
    """An activity the bot sent to the Bot Connector (reply, update, proactive)."""
    if not isinstance(body, dict):
        return
    size = len(json.dumps(body, ensure_ascii=False).encode())
    if size > ACTIVITY_BYTES:
        violation(where, f"activity of {size} bytes (Teams: at most {ACTIVITY_BYTES})")
    for card in _cards_in(body):
        adaptive_card(card, where)


def teams_invoke(request: dict[str, Any], answer: Any) -> None:
    """What the bot answered an invoke with (card actions, search, dialogs)."""
    where = f"Teams answer to {request.get('name') or request.get('type')}"
    if not isinstance(answer, dict):
        return
    for card in _cards_in(answer):
        adaptive_card(card, where)
    if answer.get("type") == "application/vnd.microsoft.search.searchResponse":
        results = (answer.get("value") or {}).get("results") or []
        if len(results) > SEARCH_RESULTS:
            violation(where, f"{len(results)} search results (Teams shows {SEARCH_RESULTS})")


# slack_sdk reports keys it drops through a warning; _dropped reports them as violations.
logging.getLogger("slack_sdk.models").setLevel(logging.ERROR)
