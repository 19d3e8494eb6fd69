"""Which conversation hears what: "use this channel for …" typed in a channel (Teams), read
once here for every platform that sets channels in chat."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot import matching
from bot.types import Region

CHANNEL_ONLY = "Send that in the Teams channel that should receive it."
KEPT_UNAUTHENTICATED = (
    "A channel is already set for that. Without Teams credentials (Emulator mode) it "
    "cannot be changed from chat."
)
PHRASE = re.compile(r"^use this channel for (?P<what>.+?)[.!]*$", re.IGNORECASE)


class Role(enum.StrEnum):
    TRIAGE = "triage"  # feedback cards for product managers, and the weekly gap list
    ANNOUNCE = "announce"  # every product change
    REGION = "region"  # product changes about one region (above or below it too)
    MANAGEMENT = "management"  # the weekly coverage digest
    APPROVALS = "approvals"  # approval requests naming no contact (else the triage channel)


@dataclass(frozen=True, slots=True)
class ChannelSetting:
    role: Role
    region: Region | None = None

    @property
    def confirmation(self) -> str:
        if self.role is Role.TRIAGE:
            return "This channel now receives feedback for triage."
        if self.role is Role.ANNOUNCE:
            return "This channel now receives product announcements."
        if self.role is Role.MANAGEMENT:
            return "This channel now receives the weekly coverage report."
        if self.role is Role.APPROVALS:
            return "This channel now receives approval requests that name no approver."
        assert self.region is not None
        return f"This channel now receives product announcements for {self.region.name}."


@dataclass(frozen=True, slots=True)
class UnknownSetting:
    """'use this channel for …' naming nothing we know."""

    what: str

    @property
    def message(self) -> str:
        return (
            f"I can't use a channel for “{self.what[:60]}”. Say: use this channel for triage, "
            "for announcements, for management reports, for approvals, or for APAC "
            "announcements (any region)."
        )


def parse_setting(
    line: str, regions: matching.RegionLexicon, by_code: dict[str, Region]
) -> ChannelSetting | UnknownSetting | None:
    """The setting a line asks for; None when the line is not a channel setting at all."""
    m = PHRASE.match(line.strip())
    if m is None:
        return None
    what = " ".join(m["what"].casefold().split())
    if what == "triage":
        return ChannelSetting(Role.TRIAGE)
    if what in ("announcements", "product announcements"):
        return ChannelSetting(Role.ANNOUNCE)
    if what in ("management", "management reports", "the management report", "coverage"):
        return ChannelSetting(Role.MANAGEMENT)
    if what in ("approvals", "approval requests"):
        return ChannelSetting(Role.APPROVALS)
    words = matching.tokens_of(what.removesuffix("announcements"))
    hits = regions.find(words) if words else []
    whole = [h for h in hits if h.start == 0 and h.end == len(words)]
    if whole and whole[0].code in by_code:
        return ChannelSetting(Role.REGION, by_code[whole[0].code])
    return UnknownSetting(m["what"].strip())
