"""Product updates: announcements and history of every catalog change, subscriptions,
verification ("Still accurate") and its weekly nudge, and what sales could not find."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot import payloads, workspace
from bot.announcements import EVERYWHERE, Line, digests, lines_for
from bot.batching import Batched
from bot.catalog import CatalogService
from bot.catalog_file import CatalogSpec, ChangeSet
from bot.ports import Clock, HistoryEntry, Notification, PreparedChange
from bot.replies import Freshness, format_date
from bot.types import Region, UserRef, platform_of

if TYPE_CHECKING:
    from bot.notices import Notices

log = logging.getLogger(__name__)
DEFAULT_STALE_DAYS = 90
MISS_FLUSH = 1.0  # seconds
# A lookup miss's region starting with this names a market the catalog lacks (a region
# code cannot contain it: codes are the catalog's own).
UNKNOWN_MARKET = "?"
# Seconds another process's "Still accurate" may take to show here (this process's own show
# at once). Answers show the date, so a minute changes nothing a reader sees, while each
# re-read is a database round trip (~1 ms of CPU) per product asked about: re-read every few
# seconds, a noticeable share of a busy server's CPU.
VERIFIED_TTL = 60.0
CHANGES_PAGE = 40  # products' changes per `/product changes` page (one chat message)


class UpdatesRepository(Protocol):
    async def history(self, *, sku: str, limit: int = 10) -> list[dict[str, Any]]: ...
    async def recent(self, *, limit: int, offset: int = 0) -> list[dict[str, Any]]: ...
    async def verification(self, *, sku: str) -> tuple[dt.datetime, str] | None: ...
    async def verify(self, *, sku: str, by: str, at: dt.datetime) -> None: ...
    async def unverified(
        self, *, older_than: dt.datetime
    ) -> list[tuple[str, str | None, dt.datetime | None]]: ...
    async def subscribe(self, *, user: UserRef, sku: str, at: dt.datetime) -> bool: ...
    async def unsubscribe(self, *, user: UserRef, sku: str) -> bool: ...
    async def subscriptions(self, *, user: UserRef) -> list[str]: ...
    async def subscribers(self, *, skus: Sequence[str]) -> dict[str, list[tuple[str, str]]]: ...
    async def record_misses(
        self, *, counts: Sequence[tuple[str, str, str | None, int]], at: dt.datetime
    ) -> None: ...
    async def misses(
        self, *, since: dt.datetime, limit: int = 20
    ) -> list[tuple[str, str, int]]: ...
    async def product_count(self) -> int: ...


# Where announcements go: (region code, or "*" for every change; "platform:channel").
Channels = Callable[[], Awaitable[Sequence[tuple[str, str]]]]


async def _shared() -> Sequence[str]:
    return [workspace.SHARED]


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: dt.datetime
    actor: str
    source: str
    lines: tuple[str, ...]


class ProductUpdates:
    def __init__(
        self,
        *,
        repo: UpdatesRepository,
        catalog: CatalogService,
        clock: Clock,
        channels: Channels,
        stale_after_days: int = DEFAULT_STALE_DAYS,
    ) -> None:
        self._repo = repo
        self._catalog = catalog
        self._clock = clock
        self._channels = channels
        self.stale_after_days = stale_after_days
        catalog.preparer = self  # every catalog change comes through prepare()
        self._verified: dict[str, tuple[float, tuple[dt.datetime, str] | None]] = {}
        self._fresh: dict[str, tuple[tuple[dt.datetime, str], tuple[dt.date, int], Freshness]] = {}
        self._misses: Batched[dict[tuple[str, str, str | None], int]] = Batched(
            empty=dict, write=self._write_misses, delay=MISS_FLUSH, what="lookup misses"
        )
        self._refreshing: set[str] = set()
        self.notices: Notices | None = None  # change notices to who relied on an answer
        # The workspace scopes a change is announced in: SHARED alone unless the deployment
        # keeps workspaces apart (then every workspace in use; `channels` is read in each).
        self.scopes: Callable[[], Awaitable[Sequence[str]]] = _shared

    # -- the change engine's second half: who hears what, and the record

    async def prepare(
        self,
        *,
        old: CatalogSpec,
        new: CatalogSpec,
        changes: ChangeSet,
        actor: str,
        source: str,
        change_set: str | None = None,
    ) -> PreparedChange:
        """`change_set` names the change (a chat edit's submission key); a new name if None."""
        change_set = change_set or uuid.uuid4().hex
        lines = lines_for(old, new, changes)
        touched = (
            [p.sku for p in changes.added]
            + [c.sku for c in changes.changed]
            + [p.sku for p in changes.removed]
        )
        regions = {r.code: r for r in new.regions}
        announced = lines
        first_load = False
        if changes.added and not (changes.changed or changes.removed):
            if await self._repo.product_count() == 0:
                # A first load is not news product by product: one line, to the announce
                # channel(s) only.
                n, m = len(changes.added), len(new.regions)
                announced = [Line("", f"Catalog loaded: {n} products in {m} markets")]
                first_load = True
        notifications: list[Notification] = []
        # The catalog is every workspace's: each in use hears it in its own channels and
        # subscribers, from its own settings, and is sent it with its own token.
        for scope in await self.scopes():
            notifications += await self._announcements(
                scope, announced, touched, regions, first_load=first_load, change_set=change_set
            )
        by_sku: dict[str, list[Line]] = {}
        for line in lines:
            by_sku.setdefault(line.sku, []).append(line)
        if self.notices is not None:
            notifications += await self.notices.plan(
                old=old, new=new, changes=changes, change_set=change_set
            )
        fields = self._fields(changes)
        old_by_sku = {p.sku: p for p in old.products}
        new_by_sku = {p.sku: p for p in new.products}
        history = [
            HistoryEntry(
                sku=sku,
                fields=fields[sku],
                lines=tuple(ln.text for ln in by_sku.get(sku, ())),
                before=old_by_sku.get(sku),
                after=new_by_sku.get(sku),
            )
            for sku in touched
        ]
        # Importing or editing a product is a PM saying "this is true now".
        verified = [p.sku for p in changes.added] + [c.sku for c in changes.changed]
        for sku in verified:
            self._verified.pop(sku, None)
        return PreparedChange(
            change_set, source, actor, self._clock.now(), history, notifications, verified
        )

    async def _announcements(
        self,
        scope: str,
        lines: Sequence[Line],
        touched: Sequence[str],
        regions: Mapping[str, Region],
        *,
        first_load: bool,
        change_set: str,
    ) -> list[Notification]:
        """One workspace's digests of a change: read inside it (its channels, its
        subscribers), stamped with it, and keyed by its scope (SHARED keeps the keys it
        always had), so no two workspaces' digests share a key."""
        here = workspace.Workspace.of_scope(scope)
        with contextlib.nullcontext() if here is None else workspace.using(here):
            subscribers = await self._repo.subscribers(skus=touched)
            channel_list = [
                (k, v) for k, v in await self._channels() if k == EVERYWHERE or k in regions
            ]
        if first_load:
            channel_list = [(k, v) for k, v in channel_list if k == EVERYWHERE]
        whose = f"{scope}:" if scope else ""
        return [
            Notification(
                platform=d.platform,
                kind=d.kind,
                target=d.target,
                dedupe_key=f"announce:{change_set}:{whose}{d.platform}:{d.kind}:{d.target}",
                payload=payloads.Digest(d.title, d.lines).encode(),
                workspace=here,
            )
            for d in digests(lines, regions=regions, channels=channel_list, subscribers=subscribers)
        ]

    @staticmethod
    def _fields(changes: ChangeSet) -> dict[str, tuple[str, ...]]:
        """The changed fields of every touched product, by SKU (one pass, any size)."""
        out: dict[str, tuple[str, ...]] = {p.sku: ("added",) for p in changes.added}
        out.update({p.sku: ("removed",) for p in changes.removed})
        for c in changes.changed:
            out[c.sku] = tuple(("availability" if f == "rules" else f) for f in c.fields) + (
                ("internal",) if c.internal_changed else ()
            )
        return out

    # -- history and freshness

    async def history(self, sku: str, *, limit: int = 10) -> list[HistoryLine]:
        rows = await self._repo.history(sku=sku, limit=limit)
        return [
            HistoryLine(
                r["at"], r["actor"], r["source"], tuple(r["lines"]) or ("no change sales can see",)
            )
            for r in rows
        ]

    async def recent(self, *, page: int = 1) -> tuple[list[HistoryLine], bool]:
        """One page of every change sales were told about, newest first (what an
        announcement's "… and N more" points to), and whether more pages follow."""
        rows = await self._repo.recent(limit=CHANGES_PAGE + 1, offset=(page - 1) * CHANGES_PAGE)
        return [
            HistoryLine(r["at"], r["actor"], "", tuple(r["lines"])) for r in rows[:CHANGES_PAGE]
        ], len(rows) > CHANGES_PAGE

    async def freshness(self, sku: str) -> Freshness | None:
        """When the product's answers were last confirmed, and whether that is too long ago
        (past `stale_after_days`, VERIFY_AFTER_DAYS): what every answer shows."""
        got = await self.verification(sku)
        if got is None:
            return None
        today = self._clock.now().date()
        # The same Freshness object for the same verification on the same day: answers
        # decorated with it are then the same objects too, which renderers memoise on.
        hit = self._fresh.get(sku)
        if hit is not None and hit[0] is got and hit[1] == (today, self.stale_after_days):
            return hit[2]
        at, by = got
        days = (today - at.date()).days
        fresh = Freshness(at, by, days, days > self.stale_after_days)
        if len(self._fresh) > 50_000:
            self._fresh.clear()
        self._fresh[sku] = (got, (today, self.stale_after_days), fresh)
        return fresh

    async def verification(self, sku: str) -> tuple[dt.datetime, str] | None:
        """Shown on every answer, so cached briefly per product (see VERIFIED_TTL)."""
        now = time.monotonic()
        hit = self._verified.get(sku)
        if hit is not None and (now - hit[0] < VERIFIED_TTL or sku in self._refreshing):
            return hit[1]
        self._refreshing.add(sku)
        try:
            value = await self._repo.verification(sku=sku)
        finally:
            self._refreshing.discard(sku)
        if len(self._verified) > 50_000:
            self._verified.clear()
        self._verified[sku] = (now, value)
        return value

    async def verify(self, *, sku: str, user: UserRef) -> None:
        await self._repo.verify(sku=sku, by=user.id, at=self._clock.now())
        self._verified.pop(sku, None)

    async def stale_nudges(self) -> list[Notification]:
        """One DM per owner listing their products not verified for a while (weekly key)."""
        now = self._clock.now()
        older_than = now - dt.timedelta(days=self.stale_after_days)
        view = await self._catalog.view()
        per_owner: dict[str, list[str]] = {}
        for sku, owner, verified_at in await self._repo.unverified(older_than=older_than):
            product = view.by_sku.get(sku)
            if owner and product:
                when = (
                    f"last verified {format_date(verified_at.date())}"
                    if verified_at
                    else "never verified"
                )
                per_owner.setdefault(owner, []).append(f"{product.name} ({when})")
        week = f"{now.isocalendar().year}-W{now.isocalendar().week:02d}"
        return [
            Notification(
                platform=platform_of(owner),
                kind="dm",
                target=owner,
                dedupe_key=f"nudge:{week}:{owner}",
                payload=payloads.Digest(
                    f"Still accurate? Not verified for {self.stale_after_days}+ days", tuple(lines)
                ).encode(),
            )
            for owner, lines in per_owner.items()
        ]

    # -- subscriptions

    async def subscribe(self, *, user: UserRef, sku: str) -> bool:
        return await self._repo.subscribe(user=user, sku=sku, at=self._clock.now())

    async def unsubscribe(self, *, user: UserRef, sku: str) -> bool:
        return await self._repo.unsubscribe(user=user, sku=sku)

    async def subscriptions(self, *, user: UserRef) -> list[str]:
        return await self._repo.subscriptions(user=user)

    # -- what sales asked and could not find

    async def record_miss(self, *, query: str, region_code: str | None) -> None:
        """Counted in memory and written within MISS_FLUSH seconds, off the request path
        (a lookup that found nothing must not wait for a database write)."""
        self._count(query.casefold().strip()[:200], region_code)

    def _count(self, query: str, region_code: str | None) -> None:
        # The tally is the process's, across requests: each count keeps its request's scope.
        key = (workspace.scope(), query, region_code)
        counts = self._misses.pending
        counts[key] = counts.get(key, 0) + 1
        self._misses.added()

    async def record_unknown_market(self, *, product: str | None, market: str) -> None:
        """A question about a market the catalog lacks: a gap as well, kept under the
        market's name (marked, so the weekly list can say there is no such market)."""
        self._count(product or "", (UNKNOWN_MARKET + market)[:32])

    async def close(self) -> None:
        """Write what is still counted in memory (at shutdown)."""
        await self._misses.close()

    async def flush_misses(self) -> None:
        await self._misses.flush()

    async def _write_misses(self, pending: dict[tuple[str, str, str | None], int]) -> None:
        await self._repo.record_misses(
            counts=[(s, q, r, n) for (s, q, r), n in pending.items()], at=self._clock.now()
        )

    async def gap_report(self, *, days: int = 7) -> list[str]:
        await self.flush_misses()
        since = self._clock.now() - dt.timedelta(days=days)
        view = await self._catalog.view()
        out = []
        for query, region, count in await self._repo.misses(since=since):
            lookups = f"{count} lookup{'s' if count != 1 else ''}"
            if region.startswith(UNKNOWN_MARKET):
                market = region.removeprefix(UNKNOWN_MARKET)
                what = f" for {query}" if query else ""
                out.append(f"{lookups}{what} in {market} — no such market in the catalog")
                continue
            where = view.catalog.regions.get(region)
            out.append(f"{lookups} for “{query}”" + (f" in {where.name}" if where else ""))
        return out

    async def gap_notification(
        self, *, triage: tuple[str, str] | None, days: int = 7
    ) -> Notification | None:
        """The weekly list for PMs, to the triage channel (platform, channel)."""
        lines = await self.gap_report(days=days)
        if not lines or triage is None:
            return None
        now = self._clock.now()
        week = f"{now.isocalendar().year}-W{now.isocalendar().week:02d}"
        platform, channel = triage
        return Notification(
            platform=platform,
            kind="announce",
            target=channel,
            dedupe_key=f"gaps:{week}:{platform}:{channel}",
            payload=payloads.Digest(
                "What sales looked for and could not find", tuple(lines)
            ).encode(),
        )
