"""Form specs <-> Slack modals: render a FormSpec as a view, read a submitted view back."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.forms import FieldKind, FormField, FormSpec, Values
from handlers.slack.blocks import clip

SEARCH_PREFIX = "search."  # + the field's dataset: the action_id of a searched field


def esc(text: str) -> str:
    """Form text may quote users: never let it form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(text: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": text}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _text(label[:75]), "value": value[:150]}


def _element(f: FormField, initial: str | None) -> dict[str, Any]:
    f = replace(f, initial=initial) if initial is not None else f
    if f.kind in (FieldKind.TEXT, FieldKind.MULTILINE, FieldKind.NUMBER, FieldKind.URL):
        el: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": f.id,
            "multiline": f.kind is FieldKind.MULTILINE,
        }
        if f.initial:
            el["initial_value"] = f.initial
        if f.max_length:
            el["max_length"] = f.max_length
    elif f.kind in (FieldKind.SELECT, FieldKind.RADIO):  # one choice from fixed options
        el = {
            "type": "static_select" if f.kind is FieldKind.SELECT else "radio_buttons",
            "action_id": f.id,
            "options": [_option(c.value, c.label) for c in f.choices],
        }
        chosen = next((c for c in f.choices if c.value == f.initial), None)
        if chosen:
            el["initial_option"] = _option(chosen.value, chosen.label)
    elif f.kind is FieldKind.SEARCH:
        el = {
            "type": "external_select",
            "action_id": SEARCH_PREFIX + (f.dataset or f.id),
            "min_query_length": 0,
        }
        if f.initial:
            el["initial_option"] = _option(f.initial, f.label_of(f.initial))
    elif f.kind is FieldKind.DATE:
        el = {"type": "datepicker", "action_id": f.id}
        if f.initial:
            el["initial_date"] = f.initial
    elif f.kind is FieldKind.MULTI_SELECT:
        el = {
            "type": "multi_static_select",
            "action_id": f.id,
            "options": [_option(c.value, c.label) for c in f.choices],
        }
        picked = set((f.initial or "").split("\n"))
        options = [_option(c.value, c.label) for c in f.choices if c.value in picked]
        if options:
            el["initial_options"] = options
    elif f.kind is FieldKind.MULTI_SEARCH:
        el = {
            "type": "multi_external_select",
            "action_id": SEARCH_PREFIX + (f.dataset or f.id),
            "min_query_length": 0,
        }
        if f.initial:
            el["initial_options"] = [
                _option(v, f.label_of(v)) for v in f.initial.replace(",", "\n").split("\n") if v
            ]
    elif f.kind is FieldKind.USERS:
        el = {"type": "multi_users_select", "action_id": f.id}
        if f.initial:
            el["initial_users"] = [u for u in f.initial.split("\n") if u]
    elif f.kind is FieldKind.FILE:  # uploaded in the modal; the bot fetches it (files:read)
        el = {"type": "file_input", "action_id": f.id, "max_files": 1}
    elif f.kind is FieldKind.CHANNEL:  # public and private channels, never a DM
        el = {
            "type": "conversations_select",
            "action_id": f.id,
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        }
        if f.initial:
            el["initial_conversation"] = f.initial
    else:  # pragma: no cover - exhaustiveness guard
        raise ValueError(f.kind)
    if f.placeholder and f.kind not in (
        FieldKind.RADIO, FieldKind.DATE, FieldKind.USERS, FieldKind.FILE
    ):  # fmt: skip
        el["placeholder"] = _text(f.placeholder[:150])
    return el


def modal(spec: FormSpec, values: Values | None = None) -> dict[str, Any]:
    """A form as a modal, prefilled with `values` (what the user typed) over its own
    initial values."""
    values = values or {}
    blocks: list[dict[str, Any]] = []
    if spec.intro:
        blocks.append({"type": "section", "text": _text(clip(esc(spec.intro)), "mrkdwn")})
    for f in spec.fields:
        block: dict[str, Any] = {
            "type": "input",
            "block_id": f.id,
            "label": _text(f.label),
            "element": _element(f, values.get(f.id)),
            "optional": not f.required,
        }
        if f.hint:
            block["hint"] = _text(f.hint)
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": spec.id,
        "title": _text(spec.title[:24]),
        "submit": _text(spec.submit[:24]),
        "close": _text("Cancel"),
        "private_metadata": json.dumps(spec.state)[:3000],
        "blocks": blocks,
    }


def message_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (after a submission)."""
    return {
        "type": "modal",
        "title": _text(title[:24]),
        "close": _text("Done"),
        "blocks": [{"type": "section", "text": _text(clip(text), "mrkdwn")}],
    }


def values_of(view: dict[str, Any]) -> Values:
    """The submitted values by field id, whatever element carried them."""
    out: Values = {}
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    for block_id, actions in values.items() if isinstance(values, dict) else ():
        if not isinstance(actions, dict):
            continue
        for value in actions.values():
            if not isinstance(value, dict):
                continue
            selected = value.get("selected_option")
            many = value.get("selected_options")
            if isinstance(selected, dict):
                out[block_id] = str(selected.get("value") or "") or None
            elif isinstance(many, list):  # multi selects: values joined by newlines
                out[block_id] = (
                    "\n".join(str(o.get("value")) for o in many if isinstance(o, dict)) or None
                )
            elif isinstance(value.get("selected_users"), list):
                out[block_id] = "\n".join(str(u) for u in value["selected_users"]) or None
            elif "selected_conversation" in value:
                out[block_id] = str(value.get("selected_conversation") or "") or None
            elif "selected_date" in value:
                out[block_id] = value.get("selected_date") or None
            elif isinstance(value.get("files"), list):  # file_input: the file's id
                ids = [str(f.get("id")) for f in value["files"] if isinstance(f, dict)]
                out[block_id] = next((i for i in ids if i), None)
            else:
                raw = value.get("value")
                out[block_id] = str(raw) if raw is not None else None
    return out


def state_of(view: dict[str, Any]) -> dict[str, str]:
    raw = view.get("private_metadata")
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
