"""Change notices: whoever was given an answer that a catalog change alters hears it once,
in one DM per change set, on the platform and in the workspace they asked in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Protocol

from bot import payloads, workspace
from bot.announcements import catalog_of
from bot.catalog import CatalogView, assess, differences
from bot.catalog_file import CatalogSpec, ChangeSet
from bot.outbox import Failed, OutboxMessage, Outcome, Sent
from bot.payloads import ChangeNotice, NoticeChange, NoticeFanout, NoticeLine
from bot.ports import Clock, Lane, Notification
from bot.receipts import Receipt, Receipts
from bot.replies import Assessment, Difference, band_text
from bot.types import SalesProduct, UserRef, Verdict

log = logging.getLogger(__name__)
# The outbox "platform" of the fan-out: work the worker does itself (writing one DM per
# person), claimed, leased and retried like any message, so a worker that dies half-way
# leaves it for another, and the DMs' dedupe keys make the second run write no copy.
NOTICES = "notices"
DEFAULT_WINDOW_DAYS = 90
FANOUT_BATCH = 1000  # DMs written per statement
LINES_KEPT = 30  # answers kept in one DM's payload; the rest are counted
NOTICE_CHARS = 2500  # what one chat message shows (a Slack section holds 3,000)
EXCEPTIONS_SHOWN = 3
VERDICT, BAND, EXCEPTIONS = "verdict", "band", "exceptions"
REMOVED = "it is no longer in the catalog"

OFF_TEXT = (
    "Change notices are off: you won't get a DM when an answer you were given changes. "
    "`/product notices on` turns them back on."
)
ON_TEXT = (
    "Change notices are on: when an answer you were given in the last {days} days changes, "
    "you get one DM saying what it is now. `/product notices off` stops them."
)


class NoticeRepository(Protocol):
    async def asked(
        self, *, skus: Collection[str], since: dt.datetime, until: dt.datetime
    ) -> set[tuple[str, str, str | None]]:
        """Every (SKU, market, segment) somebody was answered about in the period, in any
        workspace (the catalog is one for all)."""
        ...

    async def askers(
        self,
        *,
        sku: str,
        region: str,
        segment: str | None,
        since: dt.datetime,
        until: dt.datetime,
    ) -> list[Receipt]:
        """Each person's latest receipt for exactly that answer in the period, per
        workspace (the receipt's scope says whose)."""
        ...

    async def set_notices(self, *, user: UserRef, on: bool, at: dt.datetime) -> None:
        """In the request's workspace."""
        ...

    async def opted_out(self, *, users: Collection[UserRef]) -> set[UserRef]:
        """Of `users`, those who turned notices off in the request's workspace."""
        ...


Enqueue = Callable[[Sequence[Notification]], Awaitable[None]]


def _view(spec: CatalogSpec) -> CatalogView:
    """The region tree of `spec` with its products, without a search index: all the
    verdict rules need (the spec holds only the products a change touched)."""
    catalog = catalog_of(spec)
    tree = CatalogView.build(dataclasses.replace(catalog, products=()))
    return dataclasses.replace(tree, catalog=catalog, by_sku={p.sku: p for p in spec.products})


def _said(a: Assessment) -> str:
    detail = a.detail()
    return a.verdict.value + (f" — {detail}" if detail else "")


def _ask(a: Assessment) -> str | None:
    return a.contact if a.verdict is not Verdict.AVAILABLE else None


_Key = tuple[str, str | None]


def _exceptions(
    view: CatalogView, p: SalesProduct, region: str, seg: str | None
) -> dict[_Key, Difference]:
    at = assess(view.catalog, p, region, seg)
    segment = view.catalog.segments.get(seg) if seg else None
    found = differences(view, p, view.catalog.regions[region], segment, at)
    return {(d.region.code, d.segment.code if d.segment else None): d for d in found}


def change_at(
    old: CatalogView, new: CatalogView, sku: str, region: str, seg: str | None
) -> NoticeChange | None:
    """What changed in the answer about `sku` in `region` (for `seg`), or None."""
    op, np = old.by_sku.get(sku), new.by_sku.get(sku)
    if op is None or region not in old.catalog.regions:
        return None
    if np is None:  # taken out of the catalog: nothing may be sold on that answer now
        segment = old.catalog.segments.get(seg) if seg else None
        return NoticeChange(
            sku=sku,
            product=op.name,
            region=region,
            segment=seg,
            where=old.catalog.regions[region].name + (f" for {segment.name}" if segment else ""),
            now=REMOVED,
            ask=op.ask,
            verdict="",
            reason="",
            band="",
        )
    r = new.catalog.regions.get(region)
    if r is None or (seg and (seg not in new.catalog.segments or seg not in old.catalog.segments)):
        return None
    before, after = assess(old.catalog, op, region, seg), assess(new.catalog, np, region, seg)
    where = r.name + (f" for {new.catalog.segments[seg].name}" if seg else "")
    base = NoticeChange(
        sku=sku,
        product=np.name,
        region=region,
        segment=seg,
        where=where,
        now="",
        ask=None,
        verdict=after.verdict.value,
        reason=after.detail(),
        band=band_text(after.band),
    )
    change = dataclasses.replace
    if (before.verdict, before.detail()) != (after.verdict, after.detail()):
        return change(base, now=f"it is {_said(after)}", ask=_ask(after), kind=VERDICT)
    if band_text(before.band) != band_text(after.band):
        return change(base, now=f"its pricing band is {band_text(after.band)}", kind=BAND)
    was, now = _exceptions(old, op, region, seg), _exceptions(new, np, region, seg)
    parts: list[str] = []
    ask = None
    for key in dict.fromkeys([*now, *was]):
        d_new, d_old = now.get(key), was.get(key)
        if (
            d_new is not None
            and d_old is not None
            and _said(d_new.assessment) == _said(d_old.assessment)
        ):
            continue
        d = d_new or d_old
        assert d is not None
        a = d_new.assessment if d_new is not None else after  # no longer an exception
        if key[0] not in new.catalog.regions:
            continue
        parts.append(f"{d.label} is {_said(a)}")
        ask = ask or _ask(a)
    if not parts:
        return None
    shown = "; ".join(parts[:EXCEPTIONS_SHOWN])
    more = f"; and {len(parts) - EXCEPTIONS_SHOWN} more" if len(parts) > EXCEPTIONS_SHOWN else ""
    return change(base, now=shown + more, ask=ask, kind=EXCEPTIONS)


def notice_sentence(
    line: NoticeLine,
    *,
    changed_on: dt.date,
    today: dt.date,
    esc: Callable[[str], str] = str,
    who: Callable[[str], str] = str,
) -> str:
    """'On 3 Dec you were told Widget Pro is Available in United Arab Emirates. Since today
    it is Not available — Export control. Ask @pm.' `esc` makes catalog text safe for the
    platform, `who` names a person there."""
    told = dt.date.fromisoformat(line.told_on)
    since = "today" if changed_on == today else f"{changed_on.day} {changed_on:%b}"
    text = (
        f"On {told.day} {told:%b} you were told {esc(line.product)} is {esc(line.told)} in "
        f"{esc(line.where)}. Since {since} {esc(line.now)}."
    )
    return text + (f" Ask {who(line.ask)}." if line.ask else "")


def notice_title(notice: ChangeNotice) -> str:
    n = len(notice.lines) + notice.more
    return (
        "An answer you were given has changed"
        if n == 1
        else f"{n} answers you were given have changed"
    )


def notice_lines(
    notice: ChangeNotice,
    *,
    today: dt.date,
    esc: Callable[[str], str] = str,
    who: Callable[[str], str] = str,
) -> list[str]:
    """Every platform's lines of a change notice (the copy is written here once)."""
    changed_on = dt.date.fromisoformat(notice.changed_on)
    out: list[str] = []
    size = 0
    for line in notice.lines:
        text = notice_sentence(line, changed_on=changed_on, today=today, esc=esc, who=who)
        size += len(text) + 3
        if size > NOTICE_CHARS and out:
            break
        out.append(text)
    more = notice.more + len(notice.lines) - len(out)
    if more:
        out.append(f"… and {more} more: ask `/product` again for today's answers.")
    return out


class Notices:
    def __init__(
        self,
        *,
        repo: NoticeRepository,
        receipts: Receipts,
        clock: Clock,
        enqueue: Enqueue,
        window_days: int = DEFAULT_WINDOW_DAYS,
    ) -> None:
        self._repo = repo
        self._receipts = receipts
        self._clock = clock
        self._enqueue = enqueue
        self.window_days = window_days

    async def plan(
        self, *, old: CatalogSpec, new: CatalogSpec, changes: ChangeSet, change_set: str
    ) -> list[Notification]:
        """The fan-out job for a change set, written with the change itself (one outbox
        row), or nothing when no answer anybody was given in the window changed. Only
        the answers somebody was given are compared, so the cost follows the demand."""
        skus = [c.sku for c in changes.changed] + [p.sku for p in changes.removed]
        if not skus:
            return []
        await self._receipts.flush()  # this process's latest answers count too
        at = self._clock.now()
        asked = await self._repo.asked(
            skus=skus, since=at - dt.timedelta(days=self.window_days), until=at
        )
        if not asked:
            return []
        before, after = _view(old), _view(new)
        found = [change_at(before, after, *key) for key in sorted(asked, key=str)]
        changed = tuple(c for c in found if c is not None)
        if not changed:
            return []
        job = NoticeFanout(change_set, at.isoformat(), changed)
        return [
            Notification(
                platform=NOTICES,
                kind="fanout",
                target=change_set,
                dedupe_key=f"notices:{change_set}",
                payload=job.encode(),
                lane=Lane.BULK,
            )
        ]

    async def fan_out(self, message: OutboxMessage) -> Outcome:
        """One DM per person who was given one of the job's old answers (their latest
        receipt before the change, within the window), unless they turned notices off;
        each workspace's written as that workspace's, so each goes out with its token."""
        try:
            job = payloads.decode(message.payload)
        except payloads.PayloadError as exc:
            return Failed(str(exc))
        if not isinstance(job, NoticeFanout):
            return Failed(f"not a fan-out: {job.TYPE}")
        at = dt.datetime.fromisoformat(job.at)
        since = at - dt.timedelta(days=self.window_days)
        per_person: dict[str, dict[UserRef, list[NoticeLine]]] = {}  # by scope
        for change in job.changes:
            for r in await self._repo.askers(
                sku=change.sku, region=change.region, segment=change.segment, since=since, until=at
            ):
                if change.kind != EXCEPTIONS and (r.verdict, r.reason, r.band) == (
                    change.verdict,
                    change.reason,
                    change.band,
                ):
                    continue  # what they were told is what is true now
                told = r.verdict + (f" (pricing band {r.band})" if change.kind == BAND else "")
                per_person.setdefault(r.scope, {}).setdefault(r.user, []).append(
                    NoticeLine(
                        r.at.date().isoformat(),
                        change.product,
                        told,
                        change.where,
                        change.now,
                        change.ask,
                    )
                )
        written = 0
        for scope, people in sorted(per_person.items()):
            with workspace.using(workspace.Workspace.of_scope(scope)):
                written += await self._write(job.change_set, at.date().isoformat(), scope, people)
        log.info("change notices written", extra={"change_set": job.change_set, "dms": written})
        return Sent({"notices": written})

    async def _write(
        self, change_set: str, day: str, scope: str, people: dict[UserRef, list[NoticeLine]]
    ) -> int:
        """One workspace's DMs (that workspace current), but to who turned notices off."""
        off = await self._repo.opted_out(users=list(people))
        whose = f"{scope}:" if scope else ""  # SHARED keeps the keys it always had
        notes = [
            Notification(
                platform=user.platform,
                kind="dm",
                target=user.id,
                dedupe_key=f"notice:{change_set}:{whose}{user.platform}:{user.id}",
                payload=ChangeNotice(
                    day, tuple(lines[:LINES_KEPT]), max(0, len(lines) - LINES_KEPT)
                ).encode(),
            )
            for user, lines in people.items()
            if user not in off
        ]
        for i in range(0, len(notes), FANOUT_BATCH):
            await self._enqueue(notes[i : i + FANOUT_BATCH])
        return len(notes)

    async def set_notices(self, user: UserRef, *, on: bool) -> str:
        await self._repo.set_notices(user=user, on=on, at=self._clock.now())
        return ON_TEXT.format(days=self.window_days) if on else OFF_TEXT

    async def status(self, user: UserRef) -> str:
        off = await self._repo.opted_out(users=[user])
        return OFF_TEXT if off else ON_TEXT.format(days=self.window_days)
