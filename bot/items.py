"""Feedback items and their states: the values the triage state machine and the stores
work on."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
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


def client_key(name: str) -> str:
    """A client as it is counted: the same name however it is cased or spaced, so that a
    client two reps name (or two merged items carry) counts once."""
    return " ".join(name.casefold().split())[:200]


@dataclass(frozen=True, slots=True)
class Supporter:
    """A client someone added to an item ("+1 with my client"), or one a merged item
    brought with it (`via`: that item's id)."""

    user: UserRef
    client: str
    at: dt.datetime
    deal_value: int | None = None
    deal_currency: str | None = None
    via: int | None = None


@dataclass(frozen=True, slots=True)
class Stake:
    """One client of an item and what is at stake with it."""

    client: str
    deal_value: int | None
    deal_currency: str | None


def stakes_of(item: Item) -> tuple[Stake, ...]:
    """Each client of an item once (its submitter's first, then those added to it or
    merged in), with its largest deal per currency: the same rule the store's aggregates
    apply (store.demand_repo)."""
    return combined_stakes(entries_of(item))


def combined_stakes(entries: Iterable[Stake]) -> tuple[Stake, ...]:
    """Each client of `entries` once, in order, with its largest deal per currency: one
    item's stakes, or those of several items seen together (a cluster)."""
    best: dict[tuple[str, str | None], Stake] = {}
    order: list[tuple[str, str | None]] = []
    named: set[str] = set()
    for e in entries:
        currency = e.deal_currency if e.deal_value else None
        key = (client_key(e.client), currency)
        known = best.get(key)
        if known is None:
            # A client without a figure adds nothing once the client has one elsewhere.
            if currency is None and key[0] in named:
                continue
            order.append(key)
            best[key] = Stake(e.client, e.deal_value or None, currency)
            named.add(key[0])
        elif (e.deal_value or 0) > (known.deal_value or 0):
            best[key] = Stake(known.client, e.deal_value, currency)
    # A figureless entry listed before the client's figure turned up is dropped as well.
    valued = {k[0] for k in order if k[1] is not None}
    return tuple(best[k] for k in order if k[1] is not None or k[0] not in valued)


def entries_of(item: Item) -> list[Stake]:
    """An item's clients as given: its submitter's, then each added or merged in."""
    return [
        Stake(item.client, item.deal_value, item.deal_currency),
        *(Stake(s.client, s.deal_value, s.deal_currency) for s in item.supporters),
    ]


def revenue_of(stakes: tuple[Stake, ...]) -> dict[str, int]:
    """Revenue at stake per currency, largest first (ties by currency code)."""
    totals: dict[str, int] = {}
    for s in stakes:
        if s.deal_value and s.deal_currency:
            totals[s.deal_currency] = totals.get(s.deal_currency, 0) + s.deal_value
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


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

    @property
    def stakes(self) -> tuple[Stake, ...]:
        return stakes_of(self)

    @property
    def revenue(self) -> dict[str, int]:
        """Revenue at stake per currency: the sum over its clients."""
        return revenue_of(self.stakes)


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
