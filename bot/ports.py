"""Protocols the core needs from the outside world (implemented in store/ and handlers/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

from bot.catalog_file import CatalogSpec, ChangeSet
from bot.items import Candidate, Draft, Item, SimilarLink, Status, Transition, Waiting
from bot.types import SalesCatalog, SalesProduct, UserRef
from bot.workspace import Workspace


class TargetClosed(Exception):
    """A merge found its target no longer open inside its transaction (merged or closed
    meanwhile); nothing was written."""

    def __init__(self, target_id: int) -> None:
        super().__init__(target_id)
        self.target_id = target_id


class CatalogRepository(Protocol):
    async def catalog_version(self) -> int:
        """A number that changes whenever the catalog does (cheap: read on every lookup)."""
        ...

    async def load_sales_catalog(self) -> SalesCatalog:
        """The sales-safe catalog: no internal fields are read."""
        ...

    async def load_catalog_spec(self) -> CatalogSpec:
        """The whole catalog with internal fields, for export only."""
        ...

    async def stored_index(self) -> StoredIndex:
        """What an import compares a file with before reading its products."""
        ...

    async def load_products(self, *, skus: Collection[str]) -> CatalogSpec:
        """The regions and bands, and only these products (with internal fields); SKUs
        not in the catalog are left out."""
        ...

    async def apply_catalog(
        self,
        *,
        spec: CatalogSpec,
        changes: ChangeSet,
        prepared: PreparedChange | None = None,
        expected_version: int | None = None,
        order: Sequence[str] | None = None,
        hashes: Mapping[str, str | None] | None = None,
    ) -> int:
        """Raises CatalogConflict when `expected_version` is given and is no longer current.
        Apply `changes` in one transaction, with the history, verifications and
        notifications of `prepared`; return the new version. `spec` holds at least the
        products added or changed (and their internal fields) and the regions and bands;
        `order` is every SKU in file order (None: the order stays); `hashes` the source
        hash to keep per SKU (a product written without one forgets its hash)."""
        ...

    async def remember_hashes(self, *, hashes: Mapping[str, str]) -> None:
        """Source hashes of products whose stored values already equal the item."""
        ...

    async def change_set_made(self, *, change_set: str) -> bool:
        """A change set of that name is in the history (it changed something)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredIndex:
    """The stored catalog's sections other than products (`header.products` is empty),
    and each stored SKU with the source hash of its item (None: not known)."""

    header: CatalogSpec
    hashes: Mapping[str, str | None]


class ConversationStore(Protocol):
    """Where to reach a person or a channel later (Teams proactive messages), by key, in
    the current workspace's scope (bot.workspace.scope)."""

    async def save(self, *, key: str, reference: dict[str, Any], replace: bool = True) -> bool:
        """Store it; with replace=False only where nothing is stored yet. True if stored."""
        ...

    async def get(self, *, key: str) -> dict[str, Any] | None: ...

    async def keys(self, *, prefix: str) -> list[str]: ...

    async def scopes(self, *, limit: int = 2) -> list[str]:
        """Up to `limit` of the workspace scopes holding any reference."""
        ...


class PeopleStore(Protocol):
    """Display names per platform, learned from each person's own activity."""

    async def remember(self, user: UserRef, name: str) -> None: ...

    async def names(self, users: Iterable[UserRef]) -> dict[UserRef, str]: ...


class SeenStore(Protocol):
    """Inbound deliveries already handled (a platform's retry is acknowledged, not rerun)."""

    async def first_time(self, key: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class Lane(IntEnum):
    """Delivery order: someone is waiting for an INTERACTIVE message (a decision DM, the card
    a press refreshes, a chart they asked for); BULK work (announcement fan-out, reminders,
    weekly digests) goes out after it and in a lane of its own, so it never delays one."""

    INTERACTIVE = 0
    BULK = 1


@dataclass(frozen=True, slots=True)
class Notification:
    """A message for the outbox: written with the change that causes it, delivered later.

    `dedupe_key` is unique per (event, recipient): writing it twice, or delivering it
    twice, has no second effect.
    """

    platform: str  # "slack" | "teams"
    kind: str  # "dm" | "triage" | "post"
    target: str  # user id or channel id
    dedupe_key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    lane: Lane = Lane.BULK
    # The workspace it is sent in when not the request's: a message written for every
    # workspace at once (a catalog change's announcements); None: the request's.
    workspace: Workspace | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    sku: str
    fields: tuple[str, ...]
    lines: tuple[str, ...]  # what sales were told about it
    before: SalesProduct | None  # stored in its sales-visible file form (no internal fields)
    after: SalesProduct | None


@dataclass(frozen=True, slots=True)
class PreparedChange:
    """Everything written together with a catalog change (one transaction)."""

    change_set: str
    source: str  # "import" | "edit"
    actor: str
    at: dt.datetime
    history: Sequence[HistoryEntry] = ()
    notifications: Sequence[Notification] = ()
    verified: Sequence[str] = ()  # SKUs a PM has just stated to be true


class ChangePreparer(Protocol):
    async def prepare(
        self,
        *,
        old: CatalogSpec,
        new: CatalogSpec,
        changes: ChangeSet,
        actor: str,
        source: str,
        change_set: str | None = None,
    ) -> PreparedChange: ...


class FeedbackRepository(Protocol):
    async def create_item(
        self,
        *,
        draft: Draft,
        submitter: UserRef,
        at: dt.datetime,
        notifications: Callable[[Item], Sequence[Notification]],
        submission_key: str | None = None,
        similar: Sequence[SimilarLink] = (),
    ) -> Item:
        """With a `submission_key` another call already stored, that call's item (and
        nothing written): the key is unique, so concurrent copies make one item. `similar`
        is kept with the item (and, where `back`, the item joins theirs)."""
        ...

    async def get_item(self, *, item_id: int) -> Item | None: ...

    async def item_by_submission(self, *, key: str) -> Item | None: ...

    async def scope_of(self, *, item_id: int) -> str | None:
        """The workspace an item belongs to (its scope), whichever is current; None when
        there is no such item. Every other read sees only the current workspace's items."""
        ...

    async def open_items(self, *, product_sku: str | None) -> list[Item]:
        """Open items; only those about `product_sku` when one is given."""
        ...

    async def items_for(self, *, user: UserRef, limit: int, offset: int = 0) -> list[Item]:
        """What the user sent or added a client to, newest first: one page."""
        ...

    async def count_for(self, *, user: UserRef) -> int: ...

    async def queue_page(self, *, limit: int, offset: int = 0) -> list[Item]:
        """Items waiting for a decision, the longest-waiting first: one page."""
        ...

    async def queue_counts(self) -> dict[Status, int]:
        """How many open items there are in each open status."""
        ...

    async def items_by_ids(self, *, ids: Sequence[int]) -> list[Item]:
        """These items, in the order asked for (ids not stored are left out)."""
        ...

    async def similar_of(self, *, item_id: int, limit: int) -> list[Item]:
        """The open items kept as similar to this one, most similar first."""
        ...

    async def similar_candidates(
        self, *, tokens: Sequence[str], product_sku: str | None, exclude: int | None
    ) -> list[Candidate]:
        """Open items (only `product_sku`'s when given) likeliest to be similar to a text
        with these words (bot.matching.similarity_tokens), found through an index: those
        sharing the most uncommon words, and the newest. A bounded number, in id order."""
        ...

    async def add_supporter(
        self,
        *,
        item_id: int,
        user: UserRef,
        client: str,
        at: dt.datetime,
        notifications: Sequence[Notification],
        deal_value: int | None = None,
        deal_currency: str | None = None,
    ) -> Item | None:
        """One client per item, person and client name (a second press adds nothing),
        with the deal at stake with it; None, and nothing added, when the item is no
        longer open (checked in the same transaction)."""
        ...

    async def transition(
        self,
        *,
        transition: Transition,
        allowed_from: Collection[Status],
        notifications: Sequence[Notification],
    ) -> Item | None:
        """Apply it only if the item is still in `allowed_from` (else None), recording the
        event and the notifications in the same transaction. A merge also needs its target
        still open, checked in that transaction (else TargetClosed, nothing written)."""
        ...

    async def set_triage_message(self, *, item_id: int, channel: str, ts: str) -> None: ...

    async def remind_stale(
        self,
        *,
        older_than: dt.datetime,
        at: dt.datetime,
        listed: int,
        notifications: Callable[[Sequence[Waiting]], Sequence[Notification]],
    ) -> int:
        """In one transaction: the new items created before `older_than` and not reminded
        about since, per platform (counted, the `listed` oldest read), marked reminded at
        `at`, with the notifications made of them. Returns how many items."""
        ...
