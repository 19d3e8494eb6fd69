"""Slack payloads -> neutral inputs (UserRef, command text, action values)."""

from __future__ import annotations

from typing import Any

from bot.types import UserRef


def user_of(body: dict[str, Any]) -> UserRef:
    """The acting user of a slash command (user_id) or an interaction (user.id)."""
    user = body.get("user")
    uid = user.get("id") if isinstance(user, dict) else body.get("user_id")
    return UserRef("slack", str(uid or ""))


def share_target(value: str) -> tuple[str, str] | None:
    """The 'SKU|REGION' value of a Share button, or None when it is not of that shape."""
    sku, sep, region = value.partition("|")
    if not sep or not sku or not region or len(value) > 200:
        return None
    return sku, region
