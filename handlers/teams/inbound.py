"""Teams activities -> neutral inputs: the acting user, the typed line, a card's press or
submission (Action.Execute, its Action.Submit fallback, a message extension's dialog)."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

from microsoft_agents.activity import Activity

from bot.interactions import Interaction
from bot.types import UserRef
from bot.workspace import Workspace

_MENTION = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
# Card data keys that are ours, not inputs the user filled in (cards.py writes them).
VERB, VALUE, STATE = "verb", "value", "state"


def user_of(activity: Activity) -> UserRef:
    """Teams users are known by their AAD object id (what PRODUCT_MANAGERS lists)."""
    sender = activity.from_property
    aad = getattr(sender, "aad_object_id", None) if sender else None
    return UserRef("teams", str(aad or (sender.id if sender else "")))


def workspace_of(activity: Activity, *, isolated: bool = False) -> Workspace:
    """The tenant an activity comes from (Teams' conversation.tenantId, else the tenant in
    channelData): on Teams a tenant is the workspace. `isolated`: the deployment keeps each
    workspace's data apart (Settings.isolates_workspaces)."""
    conversation = activity.conversation
    tenant = getattr(conversation, "tenant_id", None) if conversation else None
    tenant = tenant or _dict(_dict(activity.channel_data).get("tenant")).get("id")
    return Workspace(
        platform="teams", enterprise_id=None, team_id=str(tenant or ""), isolated=isolated
    )


def name_of(activity: Activity) -> str:
    """The sender's display name as Teams gives it (kept, to name them on Slack)."""
    sender = activity.from_property
    return str(getattr(sender, "name", None) or "")[:120] if sender else ""


def delivery_of(activity: Activity) -> str:
    """The activity's own id within its conversation: Teams sends a re-delivery with the
    same one, and a second click on a card as a new activity."""
    conversation = activity.conversation.id if activity.conversation else ""
    return f"{conversation}:{activity.id}"[:256] if activity.id else ""


def _named(interaction: Interaction, activity: Activity) -> Interaction:
    return dataclasses.replace(
        interaction, user_name=name_of(activity), delivery=delivery_of(activity)
    )


def plain_text(text: str) -> str:
    """Text without @mentions or markup: '<at>Salesbridge</at> product au x' -> 'product au x'."""
    text = _MENTION.sub(" ", text)
    text = html.unescape(_TAGS.sub(" ", text))
    return " ".join(text.split())


def command_text(activity: Activity) -> str:
    return plain_text(activity.text or "")


def conversation_type(activity: Activity) -> str | None:
    """ "personal", "groupChat" or "channel". Teams always says so; a client or emulator that
    leaves conversationType out is judged by the conversation itself: a channel's activities
    carry the team and channel in channelData and channel threads are "19:…@thread.tacv2"
    (or "@thread.skype"), group chats are other "19:…" threads, personal chats are "a:…"."""
    conversation = activity.conversation
    if conversation is None:
        return None
    if conversation.conversation_type:
        return str(conversation.conversation_type)
    data = _dict(activity.channel_data)
    cid = str(conversation.id or "").split(";")[0]
    if data.get("channel") or data.get("team") or cid.endswith(("@thread.tacv2", "@thread.skype")):
        return "channel"
    if conversation.is_group or cid.startswith("19:"):
        return "groupChat"
    return "personal"


def is_channel(activity: Activity) -> bool:
    return conversation_type(activity) == "channel"


def is_personal(activity: Activity) -> bool:
    """A one-to-one chat with the bot (where its conversation is kept for proactive DMs)."""
    return conversation_type(activity) == "personal"


def _dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def from_data(user: UserRef, verb: str, data: dict[str, Any]) -> Interaction:
    """A card's data (our value and state, and the inputs Teams merged in) as a neutral press
    or submission."""
    state = {str(k): str(v) for k, v in _dict(data.get(STATE)).items()}
    values = {
        str(k): (str(v) if v not in (None, "") else None)
        for k, v in data.items()
        if k not in (VERB, VALUE, STATE) and isinstance(v, str | int | float | bool | type(None))
    }
    return Interaction(
        user=user,
        id=verb,
        value=str(data.get(VALUE) or "")[:2000],
        values=values,
        state=state,
    )


def execute(activity: Activity) -> Interaction:
    """An Action.Execute invoke (adaptiveCard/action): value.action.verb and .data."""
    action = _dict(_dict(activity.value).get("action"))
    verb, data = str(action.get("verb") or ""), _dict(action.get("data"))
    return _named(from_data(user_of(activity), verb, data), activity)


def submitted(activity: Activity) -> Interaction | None:
    """An Action.Submit (older clients' fallback): a message whose value carries the verb."""
    value = _dict(activity.value)
    verb = value.get(VERB)
    if not isinstance(verb, str) or not verb:
        return None
    return _named(from_data(user_of(activity), verb, value), activity)


def search_query(activity: Activity) -> tuple[str, str]:
    """(dataset, typed text) of an application/search invoke."""
    value = _dict(activity.value)
    return str(value.get("dataset") or ""), str(value.get("queryText") or "")[:200]


def extension_command(activity: Activity) -> str:
    return str(_dict(activity.value).get("commandId") or "")


def extension_message(activity: Activity) -> tuple[str, str | None]:
    """The text and link of the message a message-extension action was started on."""
    payload = _dict(_dict(activity.value).get("messagePayload"))
    body = _dict(payload.get("body"))
    text = str(body.get("content") or "")
    if str(body.get("contentType") or "html").lower() == "html":
        text = plain_text(text.replace("<br>", "\n"))
    link = payload.get("linkToMessage")
    return text[:3000], link if isinstance(link, str) else None


def extension_submission(activity: Activity) -> Interaction:
    """A message extension dialog's submission: its form's verb and inputs in value.data."""
    data = _dict(_dict(activity.value).get("data"))
    return _named(from_data(user_of(activity), str(data.get(VERB) or ""), data), activity)


FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"


def sent_file(activity: Activity) -> tuple[str, str] | None:
    """The download URL and name of a file sent to the bot in personal chat (Teams hands
    bots with supportsFiles a short-lived, pre-authorised URL there, and only there)."""
    if not is_personal(activity):
        return None
    for attachment in activity.attachments or ():
        if getattr(attachment, "content_type", None) != FILE_DOWNLOAD:
            continue
        content = _dict(getattr(attachment, "content", None))
        url = content.get("downloadUrl")
        if isinstance(url, str) and url:
            return url, str(getattr(attachment, "name", None) or "deck")
    return None
