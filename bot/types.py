"""Frozen value types shared by the core, the store and the renderers (no internal fields)."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


class Lifecycle(enum.StrEnum):
    GA = "ga"
    BETA = "beta"
    PILOT = "pilot"
    ANNOUNCED = "announced"
    SUNSET = "sunset"
    WITHDRAWN = "withdrawn"


class Status(enum.StrEnum):
    """An availability rule's status, as written in the catalog file."""

    AVAILABLE = "available"
    NOT_AVAILABLE = "not_available"
    RESTRICTED = "restricted"
    PLANNED = "planned"
    WITHDRAWN = "withdrawn"


class Verdict(enum.StrEnum):
    """What sales are told; this vocabulary is used everywhere, on every platform."""

    AVAILABLE = "Available"
    NOT_AVAILABLE = "Not available"
    RESTRICTED = "Restricted"
    PLANNED = "Planned"
    WITHDRAWN = "Withdrawn"

    @property
    def sellable(self) -> bool:
        return self in (Verdict.AVAILABLE, Verdict.RESTRICTED)


class Why(enum.StrEnum):
    """Why a request was refused: decides logging and where a form shows the message."""

    NOT_ALLOWED = "not_allowed"  # the actor may not do this (worth a line in the log)
    GONE = "gone"  # what it points at no longer exists
    NEEDS_NOTE = "needs_note"  # a note to the submitter is required
    BAD_TARGET = "bad_target"  # the chosen merge target cannot be merged into
    CLOSED = "closed"  # not in a state that allows it
    CONFLICT = "conflict"  # someone else changed it meanwhile
    BAD_LINK = "bad_link"  # a link that is no http(s) web address


@dataclass(frozen=True, slots=True)
class Refused:
    """A request the core will not carry out, with the message its user reads."""

    message: str
    why: Why = Why.CLOSED


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: str  # "slack" | "teams" | "console"
    id: str


@dataclass(frozen=True, slots=True)
class PricingBand:
    code: str
    label: str
    min: int
    max: int | None
    currency: str


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    briefing_target_per_quarter: int | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A kind of customer a rule can be about (public sector, financial services)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Competitor:
    name: str
    difference: str


@dataclass(frozen=True, slots=True)
class Doc:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Rule:
    region: str
    status: Status
    reason: str | None = None
    from_date: dt.date | None = None
    pricing_band: str | None = None
    segment: str | None = None  # a segment code: the rule is about that kind of customer only
    contact: str | None = None  # whom to ask about this market (a user id)


@dataclass(frozen=True, slots=True)
class SalesProduct:
    """The sales-safe view of a product. It has no internal fields by construction."""

    sku: str
    name: str
    lifecycle: Lifecycle
    pricing_band: str | None
    summary: str = ""
    aliases: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()
    competitors: tuple[Competitor, ...] = ()
    docs: tuple[Doc, ...] = ()
    owner: str | None = None
    rules: tuple[Rule, ...] = ()
    contact: str | None = None  # whom to ask (None: the owner)

    @property
    def ask(self) -> str | None:
        """The person to ask about this product when a rule names nobody."""
        return self.contact or self.owner


@dataclass(frozen=True, slots=True)
class SalesCatalog:
    """Everything a lookup needs, loaded once per catalog version."""

    version: int
    bands: dict[str, PricingBand] = field(default_factory=dict)
    regions: dict[str, Region] = field(default_factory=dict)  # in file order
    products: tuple[SalesProduct, ...] = ()
    segments: dict[str, Segment] = field(default_factory=dict)  # in file order


_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_AAD_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
PLATFORMS = ("slack", "teams", "console")


def platform_of(user_id: str) -> str:
    """Teams users are AAD object ids (GUIDs); anything else is a Slack id."""
    return "teams" if _AAD_ID.match(user_id) else "slack"


def is_user_id(value: str) -> bool:
    """A Slack user id, a Teams user (AAD object id), or either with its platform prefix."""
    platform, sep, uid = value.partition(":")
    if sep and platform in PLATFORMS:
        value = uid
    return bool(_SLACK_ID.match(value) or _AAD_ID.match(value))


def is_listed(user: UserRef, ids: Iterable[str]) -> bool:
    """Is `user` one of `ids` (PRODUCT_MANAGERS, a product owner)? An id only counts on its
    own platform — "slack:U123", "teams:<guid>", or a bare id read by its shape — so a Teams
    activity cannot claim a Slack PM's id. The local console may act as anyone."""
    for listed in ids:
        platform, sep, uid = listed.partition(":")
        if sep and platform in PLATFORMS:
            if user.id == uid and user.platform in (platform, "console"):
                return True
        elif user.id == listed and user.platform in (platform_of(listed), "console"):
            return True
    return False
