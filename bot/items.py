"""Feedback items and their states: the values the triage state machine and the stores
work on."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from bot.types import UserRef


class Kind(enum.StrEnum):
    CLIENT_VIEW = "client_view"
    MARKET_APPETITE = "market_appetite"
    COMPETITIVE = "competitive"
    FEATURE_REQUEST = "feature_request"
    PROBLEM = "problem"


KIND_LABEL = {
    Kind.CLIENT_VIEW: "Client view",
    Kind.MARKET_APPETITE: "Market appetite",
    Kind.COMPETITIVE: "Competitive development",
    Kind.FEATURE_REQUEST: "Feature request",
    Kind.PROBLEM: "Problem",
}


class Urgency(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


URGENCY_LABEL = {
    Urgency.LOW: "Low",
    Urgency.NORMAL: "Normal",
    Urgency.HIGH: "High: a deal depends on it",
    Urgency.CRITICAL: "Critical: a client is at risk",
}


class Status(enum.StrEnum):
    NEW = "new"
    NOW = "now"
    LATER = "later"
    DECLINED = "declined"
    MERGED = "merged"
    ACTIONED = "actioned"


STATUS_LABEL = {
    Status.NEW: "New",
    Status.NOW: "Act now",
    Status.LATER: "Later",
    Status.DECLINED: "Declined",
    Status.MERGED: "Merged",
    Status.ACTIONED: "Actioned",
}
OPEN = frozenset({Status.NEW, Status.NOW, Status.LATER})


@dataclass(frozen=True, slots=True)
class Draft:
    """A valid feedback submission, before it is stored."""

    product_sku: str | None
    product_name: str | None
    kind: Kind
    client: str
    region_code: str | None
    deal_value: int | None
    deal_currency: str | None
    urgency: Urgency
    details: str
    link: str | None
    permalink: str | None = None
    segment_code: str | None = None  # the customer segment it is about, if one was picked

    @property
    def title(self) -> str:
        first = self.details.strip().splitlines()[0] if self.details.strip() else ""
        head = f"{self.product_name}: " if self.product_name else ""
        text = head + first
        return text if len(text) <= 120 else text[:119].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Supporter:
    user: UserRef
    client: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    title: str
    product_sku: str | None
    product_name: str | None
    kind: Kind
    client: str
    region_code: str | None
    deal_value: int | None
    deal_currency: str | None
    urgency: Urgency
    details: str
    link: str | None
    permalink: str | None
    submitter: UserRef
    status: Status
    created_at: dt.datetime
    merged_into: int | None = None
    decided_by: UserRef | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None
    supporters: tuple[Supporter, ...] = ()
    merged: tuple[int, ...] = ()  # items merged into this one
    followers: tuple[UserRef, ...] = ()  # submitters and supporters of the merged items
    triage_ts: str | None = None
    triage_channel: str | None = None
    segment_code: str | None = None  # the catalog segment's code, when one was picked

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open item the store found likely to be similar to a text: what is scored."""

    id: int
    text: str  # title and details, as the similarity check compares them
    product_sku: str | None = None


@dataclass(frozen=True, slots=True)
class SimilarLink:
    """An open item found similar to a new one when it was submitted, kept with the new item
    so that its triage card never runs the check again."""

    item_id: int
    score: float  # 0..100
    # The new item is in that item's own scope (same product, or that item is not
    # product-specific): it joins that item's list as well.
    back: bool


@dataclass(frozen=True, slots=True)
class Waiting:
    """Items of one platform left in `new` too long: how many, and the oldest of them."""

    platform: str  # the submitters' platform, where the items' cards live
    count: int
    oldest: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    item_id: int
    actor: UserRef
    from_status: Status
    to_status: Status
    at: dt.datetime
    note: str | None = None
    merged_into: int | None = None
