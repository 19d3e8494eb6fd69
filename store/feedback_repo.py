"""Feedback and outbox storage: conditional transitions, audit trail, claim-and-lease delivery."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import workspace
from bot.items import (
    OPEN,
    Candidate,
    Draft,
    Item,
    Kind,
    SimilarLink,
    Status,
    Supporter,
    Transition,
    Urgency,
    Waiting,
    client_key,
)
from bot.matching import similarity_tokens
from bot.outbox import Hold, Kept, OutboxMessage
from bot.ports import Notification, TargetClosed
from bot.types import UserRef
from store.models import (
    FeedbackEventRow,
    FeedbackItemRow,
    FeedbackSimilarRow,
    FeedbackSupporterRow,
    FeedbackTokenRow,
    OutboxPauseRow,
    OutboxRow,
)
from store.scoping import here, visible

_item_t = FeedbackItemRow.__table__  # type: ignore[attr-defined]
_sup_t = FeedbackSupporterRow.__table__  # type: ignore[attr-defined]
_event_t = FeedbackEventRow.__table__  # type: ignore[attr-defined]
_outbox_t = OutboxRow.__table__  # type: ignore[attr-defined]
_pause_t = OutboxPauseRow.__table__  # type: ignore[attr-defined]
_token_t = FeedbackTokenRow.__table__  # type: ignore[attr-defined]
_similar_t = FeedbackSimilarRow.__table__  # type: ignore[attr-defined]
_OPEN_VALUES = sorted(s.value for s in OPEN)

# Candidate retrieval for the similarity checks: every figure bounds the work of one check,
# whatever the number of open items.
BY_WORDS = 200  # candidates sharing the most uncommon words with the text
NEWEST = 50  # the newest open items in scope, always compared (a fresh duplicate is likeliest)
COMMON = 2000  # a word in more open items than this (in scope) is too common to look up by
POSTINGS = 20_000  # index entries read at most to rank candidates
COUNT_CHUNK = 100  # words counted per statement (a UNION of that many capped counts)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """Timestamps are stored as UTC without a zone (SQLite keeps none)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def dialect_insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support on both backends."""
    if conn.dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


async def insert_notifications(
    conn: AsyncConnection, notifications: Sequence[Notification], *, at: dt.datetime
) -> None:
    """Outbox rows; a dedupe key seen before is skipped, so re-writing is harmless (also
    when two transactions write the same key at once: ON CONFLICT DO NOTHING)."""
    rows: dict[str, dict[str, Any]] = {}
    here = workspace.current()  # the request's workspace: its messages are sent with its token
    for n in notifications:
        key = n.dedupe_key[:255]
        named = n.workspace or here
        ws = named if named is not None and named.platform == n.platform else None
        rows.setdefault(
            key,
            {
                "dedupe_key": key,
                "platform": n.platform,
                "kind": n.kind,
                "target": n.target,
                "payload": dict(n.payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
                "result": {},
                "lane": int(n.lane),
                "enterprise_id": None if ws is None else ws.enterprise_id,
                "team_id": None if ws is None else ws.team_id or None,
            },
        )
    if rows:
        await conn.execute(
            dialect_insert(conn, _outbox_t).on_conflict_do_nothing(index_elements=["dedupe_key"]),
            list(rows.values()),
        )


async def index_words(conn: AsyncConnection, items: Sequence[tuple[int, str | None, str]]) -> None:
    """The words of open items (id, product SKU, title and details) for candidate look-up,
    in the workspace they are written in (their items')."""
    rows = []
    scope = here()
    for item_id, sku, text in items:
        words = similarity_tokens(text)
        rows += [
            {
                "item_id": item_id,
                "token": t,
                "product_sku": sku,
                "words": len(words),
                "scope": scope,
            }
            for t in words
        ]
    if rows:
        await conn.execute(sa.insert(_token_t), rows)


async def link_similar(conn: AsyncConnection, item_id: int, similar: Sequence[SimilarLink]) -> None:
    """Keep what the duplicate check found for a new item with it, and add the new item to
    the lists of those whose own check would have found it (the score is symmetric)."""
    rows = {(item_id, s.item_id): s.score for s in similar}
    rows.update({(s.item_id, item_id): s.score for s in similar if s.back})
    if rows:
        await conn.execute(
            dialect_insert(conn, _similar_t).on_conflict_do_nothing(),
            [{"item_id": a, "similar_id": b, "score": score} for (a, b), score in rows.items()],
        )


def _words_of(query: Any, product_sku: str | None) -> Any:
    """The index entries of the request's workspace (of one product, when given)."""
    query = query.where(visible(_token_t.c.scope))
    return query if product_sku is None else query.where(_token_t.c.product_sku == product_sku)


async def _by_words(
    conn: AsyncConnection, tokens: Sequence[str], product_sku: str | None, exclude: int | None
) -> list[int]:
    """The open items sharing the most uncommon words with `tokens`, best first. How many
    items hold each word is counted up to COMMON (a capped count reads at most that many
    index entries); the rarest words are then looked up, as long as their entries fit in
    POSTINGS, each weighing its inverse frequency."""
    counts: dict[str, int] = {}
    words = sorted(set(tokens))
    for start in range(0, len(words), COUNT_CHUNK):
        parts = [
            sa.select(
                sa.cast(sa.literal(w), sa.String).label("token"), sa.func.count().label("n")
            ).select_from(
                _words_of(sa.select(_token_t.c.item_id).where(_token_t.c.token == w), product_sku)
                .limit(COMMON + 1)
                .subquery()
            )
            for w in words[start : start + COUNT_CHUNK]
        ]
        for r in await conn.execute(sa.union_all(*parts)):
            if r.n:
                counts[r.token] = int(r.n)
    chosen: dict[str, float] = {}
    budget = POSTINGS
    for w in sorted((w for w in counts if counts[w] <= COMMON), key=lambda w: (counts[w], w)):
        if counts[w] > budget:
            break
        budget -= counts[w]
        chosen[w] = math.log(1 + COMMON / counts[w])
    if not chosen:
        return []
    weight = sa.case(
        *(
            (_token_t.c.token == w, sa.cast(sa.literal(round(v, 6)), sa.Float))
            for w, v in chosen.items()
        ),
        else_=0.0,
    )
    # Shared weight over the item's length: a short item whose words are all in the text
    # is as close as a long one sharing more (token_set_ratio judges the smaller set).
    score = (sa.func.sum(weight) / sa.func.max(_token_t.c.words)).label("score")
    query = _words_of(
        sa.select(_token_t.c.item_id, score).where(_token_t.c.token.in_(list(chosen))),
        product_sku,
    )
    if exclude is not None:
        query = query.where(_token_t.c.item_id != exclude)
    query = query.group_by(_token_t.c.item_id).order_by(score.desc(), _token_t.c.item_id)
    return list(await conn.scalars(query.limit(BY_WORDS)))


async def _merge_clients(conn: AsyncConnection, item_id: int, into: int, at: dt.datetime) -> None:
    """A merge brings the merged item's clients (its submitter's and every one added to it,
    with their deals) to the item it was merged into, in two INSERT ... SELECTs; a person's
    client the target already has stays as it is there."""
    key = ["item_id", "user_platform", "user_id", "client"]
    own = sa.select(
        sa.literal(into),
        _item_t.c.submitter_platform,
        _item_t.c.submitter_id,
        _item_t.c.client,
        _item_t.c.client_key,
        _item_t.c.deal_value,
        _item_t.c.deal_currency,
        sa.literal(item_id),
        sa.literal(at, sa.DateTime(timezone=True)),  # the columns are timestamptz
    ).where(_item_t.c.id == item_id)
    theirs = sa.select(
        sa.literal(into),
        _sup_t.c.user_platform,
        _sup_t.c.user_id,
        _sup_t.c.client,
        _sup_t.c.client_key,
        _sup_t.c.deal_value,
        _sup_t.c.deal_currency,
        sa.func.coalesce(_sup_t.c.via_item_id, item_id),
        _sup_t.c.created_at,
    ).where(_sup_t.c.item_id == item_id)
    columns = [
        *key,
        "client_key",
        "deal_value",
        "deal_currency",
        "via_item_id",
        "created_at",
    ]
    for query in (own, theirs.order_by(_sup_t.c.id)):
        await conn.execute(
            dialect_insert(conn, _sup_t)
            .from_select(columns, query)
            .on_conflict_do_nothing(index_elements=key)
        )


class SqlFeedbackRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- reading

    async def _items(
        self,
        conn: AsyncConnection,
        where: Any,
        *,
        order_by: Sequence[Any] = (_item_t.c.id,),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Item]:
        # Every read of items goes through here: another workspace's item is no item (a
        # forged or stale id from there finds nothing, as an unknown one does).
        where = sa.and_(visible(_item_t.c.scope), where)
        query = sa.select(_item_t).where(where).order_by(*order_by)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        rows = list(await conn.execute(query))
        if not rows:
            return []
        # A page names its few ids; any other read asks for the same rows again as a
        # subquery: no statement carries a parameter per item.
        ids: Any = (
            [r.id for r in rows] if limit is not None else sa.select(_item_t.c.id).where(where)
        )
        supporters: dict[int, list[Supporter]] = defaultdict(list)
        for s in await conn.execute(
            sa.select(_sup_t).where(_sup_t.c.item_id.in_(ids)).order_by(_sup_t.c.id)
        ):
            supporters[s.item_id].append(
                Supporter(
                    UserRef(s.user_platform, s.user_id),
                    s.client,
                    s.created_at,
                    s.deal_value,
                    s.deal_currency if s.deal_value else None,
                    s.via_item_id,
                )
            )
        # The people of the items merged into these, in two queries however many there are.
        merged_rows = list(
            await conn.execute(
                sa.select(
                    _item_t.c.id,
                    _item_t.c.merged_into_id,
                    _item_t.c.submitter_platform,
                    _item_t.c.submitter_id,
                )
                .where(_item_t.c.merged_into_id.in_(ids))
                .order_by(_item_t.c.id)
            )
        )
        their_supporters: dict[int, list[UserRef]] = defaultdict(list)
        if merged_rows:
            for s in await conn.execute(
                sa.select(_sup_t.c.item_id, _sup_t.c.user_platform, _sup_t.c.user_id)
                .join(_item_t, _item_t.c.id == _sup_t.c.item_id)
                .where(_item_t.c.merged_into_id.in_(ids))
                .order_by(_sup_t.c.item_id, _sup_t.c.id)
            ):
                their_supporters[s.item_id].append(UserRef(s.user_platform, s.user_id))
        merged: dict[int, list[int]] = defaultdict(list)
        followers: dict[int, list[UserRef]] = defaultdict(list)
        for m in merged_rows:
            merged[m.merged_into_id].append(m.id)
            followers[m.merged_into_id].append(UserRef(m.submitter_platform, m.submitter_id))
            followers[m.merged_into_id].extend(their_supporters[m.id])
        return [
            Item(
                id=r.id,
                title=r.title,
                product_sku=r.product_sku,
                product_name=r.product_name,
                kind=Kind(r.kind),
                client=r.client,
                region_code=r.region_code,
                segment_code=r.segment_code,
                deal_value=r.deal_value,
                deal_currency=r.deal_currency,
                urgency=Urgency(r.urgency),
                details=r.details,
                link=r.link,
                permalink=r.permalink,
                submitter=UserRef(r.submitter_platform, r.submitter_id),
                status=Status(r.status),
                created_at=r.created_at,
                merged_into=r.merged_into_id,
                decided_by=UserRef(r.decided_by_platform or r.submitter_platform, r.decided_by)
                if r.decided_by
                else None,
                decided_at=r.decided_at,
                note=r.note,
                supporters=tuple(supporters[r.id]),
                merged=tuple(merged[r.id]),
                followers=tuple(followers[r.id]),
                triage_ts=r.triage_ts,
                triage_channel=r.triage_channel,
            )
            for r in rows
        ]

    async def get_item(self, *, item_id: int) -> Item | None:
        async with self.engine.connect() as conn:
            items = await self._items(conn, _item_t.c.id == item_id)
        return items[0] if items else None

    async def scope_of(self, *, item_id: int) -> str | None:
        # Deliberately any workspace's: the outbox worker, outside every request, delivers
        # each workspace's triage cards and reads each inside its item's workspace. The id
        # comes from an outbox row, never from a press.
        async with self.engine.connect() as conn:
            scope = await conn.scalar(sa.select(_item_t.c.scope).where(_item_t.c.id == item_id))
        return None if scope is None else str(scope)

    async def open_items(self, *, product_sku: str | None) -> list[Item]:
        where = _item_t.c.status.in_([Status.NEW, Status.NOW, Status.LATER])
        if product_sku is not None:
            where = sa.and_(where, _item_t.c.product_sku == product_sku)
        async with self.engine.connect() as conn:
            return await self._items(conn, where)

    @staticmethod
    def _of(user: UserRef) -> Any:
        """Items the user sent or added a client to (one id set: both indexes serve it)."""
        sent = sa.select(_item_t.c.id).where(
            visible(_item_t.c.scope),
            _item_t.c.submitter_id == user.id,
            _item_t.c.submitter_platform == user.platform,
        )
        supported = sa.select(_sup_t.c.item_id).where(
            _sup_t.c.user_id == user.id, _sup_t.c.user_platform == user.platform
        )
        return _item_t.c.id.in_(sa.union(sent, supported))

    async def items_for(self, *, user: UserRef, limit: int, offset: int = 0) -> list[Item]:
        async with self.engine.connect() as conn:
            return await self._items(
                conn, self._of(user), order_by=(_item_t.c.id.desc(),), limit=limit, offset=offset
            )

    async def count_for(self, *, user: UserRef) -> int:
        async with self.engine.connect() as conn:
            query = (
                sa.select(sa.func.count())
                .select_from(_item_t)
                .where(visible(_item_t.c.scope), self._of(user))
            )
            return int(await conn.scalar(query) or 0)

    async def queue_page(self, *, limit: int, offset: int = 0) -> list[Item]:
        async with self.engine.connect() as conn:
            return await self._items(
                conn,
                _item_t.c.status == Status.NEW.value,
                order_by=(_item_t.c.created_at, _item_t.c.id),
                limit=limit,
                offset=offset,
            )

    async def queue_counts(self) -> dict[Status, int]:
        open_ = [Status.NEW.value, Status.NOW.value, Status.LATER.value]
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_item_t.c.status, sa.func.count())
                .where(visible(_item_t.c.scope), _item_t.c.status.in_(open_))
                .group_by(_item_t.c.status)
            )
            counts = {Status(r[0]): int(r[1]) for r in rows}
        return {Status(s): counts.get(Status(s), 0) for s in open_}

    async def items_by_ids(self, *, ids: Sequence[int]) -> list[Item]:
        if not ids:
            return []
        async with self.engine.connect() as conn:
            found = {i.id: i for i in await self._items(conn, _item_t.c.id.in_(list(ids)))}
        return [found[i] for i in ids if i in found]

    async def similar_of(self, *, item_id: int, limit: int) -> list[Item]:
        query = (
            sa.select(_similar_t.c.similar_id)
            .join(_item_t, _item_t.c.id == _similar_t.c.similar_id)
            .where(
                _similar_t.c.item_id == item_id,
                visible(_item_t.c.scope),
                _item_t.c.status.in_(_OPEN_VALUES),
            )
            .order_by(_similar_t.c.score.desc(), _similar_t.c.similar_id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            ids = list(await conn.scalars(query))
        return await self.items_by_ids(ids=ids)

    async def similar_candidates(
        self, *, tokens: Sequence[str], product_sku: str | None, exclude: int | None
    ) -> list[Candidate]:
        async with self.engine.connect() as conn:
            ids = set(await _by_words(conn, tokens, product_sku, exclude))
            newest = sa.select(_item_t.c.id).where(
                visible(_item_t.c.scope), _item_t.c.status.in_(_OPEN_VALUES)
            )
            if product_sku is not None:
                newest = newest.where(_item_t.c.product_sku == product_sku)
            if exclude is not None:
                newest = newest.where(_item_t.c.id != exclude)
            ids.update(await conn.scalars(newest.order_by(_item_t.c.id.desc()).limit(NEWEST)))
            if not ids:
                return []
            # Every id was found in scope (the word index and the newest are read by it):
            # the statement names the ids and nothing more.
            rows = await conn.execute(
                sa.select(_item_t.c.id, _item_t.c.title, _item_t.c.details, _item_t.c.product_sku)
                .where(_item_t.c.id.in_(sorted(ids)))
                .order_by(_item_t.c.id)
            )
            return [Candidate(r.id, f"{r.title} {r.details}", r.product_sku) for r in rows]

    async def events(self, *, item_id: int) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_event_t)
                .join(_item_t, _item_t.c.id == _event_t.c.item_id)
                .where(_event_t.c.item_id == item_id, visible(_item_t.c.scope))
                .order_by(_event_t.c.id)
            )
            return [dict(r._mapping) for r in rows]

    # -- writing

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
        try:
            return await self._create_item(
                draft, submitter, at, notifications, submission_key, similar
            )
        except sa.exc.IntegrityError:
            # A copy of the same submission committed first: its item is the answer.
            first = await self.item_by_submission(key=submission_key) if submission_key else None
            if first is None:
                raise
            return first

    async def item_by_submission(self, *, key: str) -> Item | None:
        async with self.engine.connect() as conn:
            items = await self._items(conn, _item_t.c.submission_key == key)
        return items[0] if items else None

    async def _create_item(
        self,
        draft: Draft,
        submitter: UserRef,
        at: dt.datetime,
        notifications: Callable[[Item], Sequence[Notification]],
        submission_key: str | None,
        similar: Sequence[SimilarLink] = (),
    ) -> Item:
        async with self.engine.begin() as conn:
            item_id = await conn.scalar(
                sa.insert(_item_t)
                .values(
                    title=draft.title,
                    product_sku=draft.product_sku,
                    product_name=draft.product_name,
                    kind=draft.kind.value,
                    client=draft.client,
                    client_key=client_key(draft.client),
                    region_code=draft.region_code,
                    segment_code=draft.segment_code,
                    deal_value=draft.deal_value,
                    deal_currency=draft.deal_currency,
                    urgency=draft.urgency.value,
                    details=draft.details,
                    link=draft.link,
                    permalink=draft.permalink,
                    submitter_platform=submitter.platform,
                    submitter_id=submitter.id,
                    status=Status.NEW.value,
                    created_at=at,
                    updated_at=at,
                    submission_key=submission_key,
                    scope=here(),
                )
                .returning(_item_t.c.id)
            )
            await conn.execute(
                sa.insert(_event_t).values(
                    item_id=item_id,
                    actor_platform=submitter.platform,
                    actor_id=submitter.id,
                    from_status=None,
                    to_status=Status.NEW.value,
                    at=at,
                )
            )
            await index_words(
                conn, [(item_id, draft.product_sku, f"{draft.title} {draft.details}")]
            )
            await link_similar(conn, item_id, similar)
            item = (await self._items(conn, _item_t.c.id == item_id))[0]
            await insert_notifications(conn, notifications(item), at=at)
        return item

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
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Waits for a merge or decision holding the row, so the status read below
                # is the one it committed (SQLite: the INSERT below is the transaction's
                # first statement and takes the write lock that serialises writers).
                await conn.execute(
                    sa.select(_item_t.c.id)
                    .where(_item_t.c.id == item_id)
                    .with_for_update(read=True)
                )
            # Only onto an open item: a client added to an item being merged or closed would
            # land where no list counts it, after its clients were copied to the target.
            still_open = sa.select(
                sa.literal(item_id),
                sa.literal(user.platform),
                sa.literal(user.id),
                sa.literal(client),
                sa.literal(client_key(client)),
                sa.literal(deal_value, sa.BigInteger),
                sa.literal(deal_currency if deal_value else None, sa.String),
                sa.literal(at, sa.DateTime(timezone=True)),
            ).where(
                sa.exists().where(
                    _item_t.c.id == item_id,
                    visible(_item_t.c.scope),
                    _item_t.c.status.in_(_OPEN_VALUES),
                )
            )
            # One supporter per item, person and client, however many presses arrive at
            # once: the unique constraint decides, and only the row's maker tells triage.
            added = await conn.scalar(
                dialect_insert(conn, _sup_t)
                .from_select(
                    [
                        "item_id",
                        "user_platform",
                        "user_id",
                        "client",
                        "client_key",
                        "deal_value",
                        "deal_currency",
                        "created_at",
                    ],
                    still_open,
                )
                .on_conflict_do_nothing(
                    index_elements=["item_id", "user_platform", "user_id", "client"]
                )
                .returning(_sup_t.c.id)
            )
            found = await self._items(conn, _item_t.c.id == item_id)
            if not found:  # no such item in this workspace: nothing was added
                return None
            item = found[0]
            if added is None and not item.is_open:
                return None
            if added is not None:
                await insert_notifications(conn, notifications, at=at)
            return item

    async def transition(
        self,
        *,
        transition: Transition,
        allowed_from: Collection[Status],
        notifications: Sequence[Notification],
    ) -> Item | None:
        t = transition
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql" and t.merged_into is not None:
                # Both rows locked in id order: "A into B" and "B into A" (or "B into C")
                # at once wait for each other instead of deadlocking, and each reads the
                # other's outcome. SQLite: the UPDATE below is the first statement and
                # takes the database's write lock, which serialises writers.
                await conn.execute(
                    sa.select(_item_t.c.id)
                    .where(_item_t.c.id.in_([t.item_id, t.merged_into]))
                    .order_by(_item_t.c.id)
                    .with_for_update()
                )
            # The WHERE on the status the decider saw makes the transition happen exactly
            # once, whatever the number of concurrent presses (even on different buttons).
            result = await conn.execute(
                sa.update(_item_t)
                .where(
                    _item_t.c.id == t.item_id,
                    visible(_item_t.c.scope),
                    _item_t.c.status == t.from_status.value,
                )
                .values(
                    status=t.to_status.value,
                    decided_by=t.actor.id,
                    decided_by_platform=t.actor.platform,
                    decided_at=t.at,
                    note=t.note,
                    merged_into_id=t.merged_into,
                    updated_at=t.at,
                )
            )
            if result.rowcount != 1:
                return None
            if t.merged_into is not None:
                # Checked inside the transaction: a target merged or closed meanwhile would
                # take this item's clients off every list with it.
                target_open = await conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(_item_t)
                    .where(
                        _item_t.c.id == t.merged_into,
                        visible(_item_t.c.scope),
                        _item_t.c.status.in_(_OPEN_VALUES),
                    )
                )
                if not target_open:
                    raise TargetClosed(t.merged_into)  # rolls the transaction back
            if t.to_status not in OPEN:  # closed: no longer a duplicate or merge target
                await conn.execute(sa.delete(_token_t).where(_token_t.c.item_id == t.item_id))
            if t.merged_into is not None:
                await _merge_clients(conn, t.item_id, t.merged_into, t.at)
            await conn.execute(
                sa.insert(_event_t).values(
                    item_id=t.item_id,
                    actor_platform=t.actor.platform,
                    actor_id=t.actor.id,
                    from_status=t.from_status.value,
                    to_status=t.to_status.value,
                    note=t.note,
                    merged_into_id=t.merged_into,
                    at=t.at,
                )
            )
            await insert_notifications(conn, notifications, at=t.at)
            return (await self._items(conn, _item_t.c.id == t.item_id))[0]

    async def set_triage_message(self, *, item_id: int, channel: str, ts: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(_item_t)
                .where(_item_t.c.id == item_id, visible(_item_t.c.scope))
                .values(triage_channel=channel, triage_ts=ts)
            )

    async def remind_stale(
        self,
        *,
        older_than: dt.datetime,
        at: dt.datetime,
        listed: int,
        notifications: Callable[[Sequence[Waiting]], Sequence[Notification]],
    ) -> int:
        stale = sa.and_(
            visible(_item_t.c.scope),
            _item_t.c.status == Status.NEW.value,
            _item_t.c.created_at < older_than,
            sa.or_(_item_t.c.reminded_at.is_(None), _item_t.c.reminded_at < older_than),
        )
        async with self.engine.begin() as conn:
            counts = await conn.execute(
                sa.select(_item_t.c.submitter_platform, sa.func.count())
                .where(stale)
                .group_by(_item_t.c.submitter_platform)
                .order_by(_item_t.c.submitter_platform)
            )
            waiting = []
            for platform, count in list(counts):
                ids = list(
                    await conn.scalars(
                        sa.select(_item_t.c.id)
                        .where(stale, _item_t.c.submitter_platform == platform)
                        .order_by(_item_t.c.created_at, _item_t.c.id)
                        .limit(listed)
                    )
                )
                oldest = {i.id: i for i in await self._items(conn, _item_t.c.id.in_(ids))}
                waiting.append(Waiting(platform, int(count), tuple(oldest[i] for i in ids)))
            if not waiting:
                return 0
            # One statement for the whole backlog (a second sweep at once marks none).
            await conn.execute(sa.update(_item_t).where(stale).values(reminded_at=at))
            await insert_notifications(conn, notifications(waiting), at=at)
        return sum(w.count for w in waiting)


class SqlOutbox:
    """Claim with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), then mark the outcome."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Every claim, lease check, renewal, pause and outcome is one statement, atomic by
        # itself: sent without BEGIN and COMMIT around it, one round trip instead of three.
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def enqueue(
        self, *, notifications: Sequence[Notification], at: dt.datetime | None = None
    ) -> None:
        async with self.engine.begin() as conn:
            await insert_notifications(conn, notifications, at=at or _now())

    async def claim(
        self,
        *,
        limit: int,
        lease: dt.timedelta,
        now: dt.datetime,
        platforms: frozenset[str] | None = None,
        lanes: frozenset[int] | None = None,
    ) -> list[OutboxMessage]:
        due = sa.or_(
            sa.and_(_outbox_t.c.status == "pending", _outbox_t.c.next_attempt_at <= now),
            # A worker that died mid-send left its claim: take it over when the lease ends.
            sa.and_(_outbox_t.c.status == "sending", _outbox_t.c.claimed_until < now),
        )
        if platforms is not None:
            due = sa.and_(due, _outbox_t.c.platform.in_(sorted(platforms)))
        if lanes is not None:
            due = sa.and_(due, _outbox_t.c.lane.in_(sorted(lanes)))
        pick = (
            sa.select(_outbox_t.c.id)
            .where(due)
            .order_by(_outbox_t.c.lane, _outbox_t.c.id)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        token = uuid.uuid4().hex
        async with self._single.connect() as conn:
            rows = list(
                await conn.execute(
                    sa.update(_outbox_t)
                    .where(_outbox_t.c.id.in_(pick.scalar_subquery()))
                    .values(
                        status="sending",
                        claimed_until=now + lease,
                        claim_token=token,
                        attempts=_outbox_t.c.attempts + 1,
                        # Taking over an expired claim: its worker died, perhaps after the
                        # platform took the message. (SET sees the row's old status.)
                        unsure=sa.case(
                            (_outbox_t.c.status == "sending", sa.true()),
                            else_=_outbox_t.c.unsure,
                        ),
                    )
                    .returning(_outbox_t)
                )
            )
        return sorted(
            (
                OutboxMessage(
                    r.id,
                    r.dedupe_key,
                    r.platform,
                    r.kind,
                    r.target,
                    dict(r.payload),
                    r.attempts,
                    unsure=bool(r.unsure),
                    created_at=_aware(r.created_at),
                    claim=token,
                    lane=int(r.lane),
                    enterprise_id=r.enterprise_id,
                    team_id=r.team_id,
                )
                for r in rows
            ),
            key=lambda m: (m.lane, m.id),
        )

    @staticmethod
    def _held(message_id: int, claim: str) -> Any:
        return sa.and_(
            _outbox_t.c.id == message_id,
            _outbox_t.c.claim_token == claim,
            _outbox_t.c.status == "sending",
        )

    async def _write(self, where: Any, then: Hold | None, **values: Any) -> Kept:
        if then is None:
            async with self._single.connect() as conn:
                done = await conn.execute(sa.update(_outbox_t).where(where).values(**values))
            return Kept(bool(done.rowcount))
        # One statement for two rows: this outcome, and the lease check of the message sent
        # next (its lease extended; every other column of it kept as it is).
        is_next = _outbox_t.c.id == then.message_id
        values.setdefault("claimed_until", _outbox_t.c.claimed_until)
        both = {
            name: sa.case(
                (is_next, then.until if name == "claimed_until" else _outbox_t.c[name]),
                else_=value
                if isinstance(value, sa.ColumnElement)
                else sa.literal(value, _outbox_t.c[name].type),
            )
            for name, value in values.items()
        }
        held_next = self._lease_left(then.message_id, then.claim, then.now)
        update = (
            sa.update(_outbox_t)
            .where(sa.or_(where, held_next))
            .values(**both)
            .returning(_outbox_t.c.id)
        )
        async with self._single.connect() as conn:
            ids = set((await conn.execute(update)).scalars())
        return Kept(bool(ids - {then.message_id}), then.message_id in ids)

    async def renew(self, *, claim: str, until: dt.datetime) -> int:
        where = sa.and_(_outbox_t.c.claim_token == claim, _outbox_t.c.status == "sending")
        async with self._single.connect() as conn:
            done = await conn.execute(sa.update(_outbox_t).where(where).values(claimed_until=until))
        return int(done.rowcount)

    async def hold(
        self, *, message_id: int, claim: str, now: dt.datetime, until: dt.datetime
    ) -> bool:
        left = self._lease_left(message_id, claim, now)
        return bool(await self._write(left, None, claimed_until=until))

    def _lease_left(self, message_id: int, claim: str, now: dt.datetime) -> Any:
        # A lease that ran out may already be someone else's (their claim commits only
        # later): past its end, the row is not sent under this claim any more.
        return sa.and_(self._held(message_id, claim), _outbox_t.c.claimed_until >= now)

    async def mark_sent(
        self,
        *,
        message_id: int,
        claim: str,
        result: dict[str, Any],
        now: dt.datetime,
        then: Hold | None = None,
    ) -> Kept:
        return await self._write(
            self._held(message_id, claim),
            then,
            status="sent",
            sent_at=now,
            result=result,
            claimed_until=None,
            claim_token=None,
            last_error=None,
            unsure=False,
        )

    async def reschedule(
        self,
        *,
        message_id: int,
        claim: str,
        at: dt.datetime,
        error: str,
        count_attempt: bool = True,
        maybe_sent: bool = False,
        then: Hold | None = None,
    ) -> Kept:
        values: dict[str, Any] = {
            "status": "pending",
            "next_attempt_at": at,
            "claimed_until": None,
            "claim_token": None,
            "last_error": error[:2000],
        }
        if not count_attempt:  # not sent at all: the claim's attempt does not count
            values["attempts"] = _outbox_t.c.attempts - 1
        if maybe_sent:  # stays set until sent: a later clean failure does not clear it
            values["unsure"] = True
        return await self._write(self._held(message_id, claim), then, **values)

    async def park(
        self, *, message_id: int, claim: str, error: str, then: Hold | None = None
    ) -> Kept:
        return await self._write(
            self._held(message_id, claim),
            then,
            status="dead",
            claimed_until=None,
            claim_token=None,
            last_error=error[:2000],
        )

    # -- rate-limit pauses, shared by every worker

    async def paused_until(self, *, scope: str, now: dt.datetime) -> dt.datetime | None:
        async with self._single.connect() as conn:
            until = await conn.scalar(
                sa.select(_pause_t.c.until).where(_pause_t.c.scope == scope, _pause_t.c.until > now)
            )
        return None if until is None else _aware(until)

    async def pause(self, *, scope: str, until: dt.datetime) -> None:
        async with self._single.connect() as conn:
            insert = dialect_insert(conn, _pause_t).values(scope=scope, until=until)
            # Two workers told at once: the later end wins.
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["scope"],
                    set_={"until": sa.func.max(_pause_t.c.until, insert.excluded.until)}
                    if conn.dialect.name == "sqlite"
                    else {"until": sa.func.greatest(_pause_t.c.until, insert.excluded.until)},
                )
            )

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_outbox_t.c.status, sa.func.count()).group_by(_outbox_t.c.status)
            )
            return {r[0]: int(r[1]) for r in rows}

    async def messages(self, *, status: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(_outbox_t).order_by(_outbox_t.c.id)
        if status:
            query = query.where(_outbox_t.c.status == status)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
