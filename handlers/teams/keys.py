"""Where Teams conversations are remembered (store keys), apart from the Agents SDK so that
code that only needs the keys does not load it."""

from __future__ import annotations

TRIAGE_KEY = "teams:triage"
ANNOUNCE_KEY = "teams:announce"


def user_key(aad_id: str) -> str:
    return f"teams:user:{aad_id}"
