"""Where Teams conversations are remembered (store keys), apart from the Agents SDK so that
code that only needs the keys does not load it."""

from __future__ import annotations

from bot.channels import ChannelSetting, Role

TRIAGE_KEY = "teams:triage"
APPROVALS_KEY = "teams:approvals"  # approval requests naming nobody; else triage's channel
ANNOUNCE_KEY = "teams:announce"
MANAGEMENT_KEY = "teams:management"
REGION_PREFIX = "teams:region:"


def user_key(aad_id: str) -> str:
    return f"teams:user:{aad_id}"


def region_key(code: str) -> str:
    return REGION_PREFIX + code


def channel_key(setting: ChannelSetting) -> str:
    if setting.role is Role.REGION:
        assert setting.region is not None
        return region_key(setting.region.code)
    keys = {Role.TRIAGE: TRIAGE_KEY, Role.ANNOUNCE: ANNOUNCE_KEY, Role.APPROVALS: APPROVALS_KEY}
    return keys.get(setting.role, MANAGEMENT_KEY)
