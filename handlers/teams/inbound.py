"""Teams activities -> neutral inputs: the acting user, the command line, card data."""

from __future__ import annotations

import html
import re
from typing import Any

from microsoft_agents.activity import Activity

from bot.types import UserRef
from handlers.teams.keys import ANNOUNCE_KEY, TRIAGE_KEY, user_key

__all__ = ["ANNOUNCE_KEY", "TRIAGE_KEY", "user_key"]  # re-exported: callers import them here

_MENTION = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")

TRIAGE_PHRASE = "use this channel for triage"
ANNOUNCE_PHRASE = "use this channel for announcements"


def user_of(activity: Activity) -> UserRef:
    """Teams users are known by their AAD object id (what PRODUCT_MANAGERS lists)."""
    sender = activity.from_property
    aad = getattr(sender, "aad_object_id", None) if sender else None
    return UserRef("teams", str(aad or (sender.id if sender else "")))


def command_text(activity: Activity) -> str:
    """The typed text without @mentions or markup: '<at>Salesbridge</at> product au x'."""
    text = _MENTION.sub(" ", activity.text or "")
    text = html.unescape(_TAGS.sub(" ", text))
    return " ".join(text.split())


def is_channel(activity: Activity) -> bool:
    conversation = activity.conversation
    return bool(conversation and conversation.conversation_type == "channel")


def invoke_parts(activity: Activity) -> tuple[str, dict[str, Any]]:
    """(verb, data) of an Action.Execute invoke; inputs are merged into data by Teams."""
    value = activity.value if isinstance(activity.value, dict) else {}
    action = value.get("action") if isinstance(value.get("action"), dict) else {}
    data = action.get("data") if isinstance(action.get("data"), dict) else {}
    return str(action.get("verb") or ""), dict(data)
