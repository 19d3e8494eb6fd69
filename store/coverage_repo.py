"""Coverage aggregates in SQL: per-region rollups, medians, ageing buckets; no row read out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.items import Status
from bot.reports import CoverageFigures, CoverageQuery, PmFigures, RegionFigures
from store.models import BriefingDeckRow, BriefingRow, FeedbackItemRow, RegionRow
from store.scoping import visible

_item_t = FeedbackItemRow.__table__  # type: ignore[attr-defined]
_brief_t = BriefingRow.__table__  # type: ignore[attr-defined]
_region_t = RegionRow.__table__  # type: ignore[attr-defined]
_deck_t = BriefingDeckRow.__table__  # type: ignore[attr-defined]
# Open feedback by age: younger than 7 days, 7–30 days (whole days), older.
_YOUNG, _OLD = dt.timedelta(days=7), dt.timedelta(days=31)
_HOUR = 3600


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _rollup() -> sa.CTE:
    """(code, anc): every region with itself and each region above it, so that one join
    counts a row for its own region and all its ancestors (grouped by anc)."""
    r, p = _region_t.alias("r"), _region_t.alias("p")
    base = sa.select(_region_t.c.code.label("code"), _region_t.c.code.label("anc")).cte(
        "rollup", recursive=True
    )
    step = (
        sa.select(base.c.code, p.c.code)
        .join(r, r.c.code == base.c.anc)
        .join(p, p.c.code == r.c.parent_code)
    )
    return base.union(step)  # UNION, not ALL: stops even on a cycle


def _wanted(q: CoverageQuery) -> sa.CTE:
    """The roll-up's pairs for the report's regions only, computed once."""
    up = _rollup()
    return _materialized(sa.select(up.c.code, up.c.anc).where(up.c.anc.in_(q.regions)), "up")


def _seconds(conn: AsyncConnection, later: Any, earlier: Any) -> Any:
    """Whole seconds between two timestamps, computed the same way on both backends."""
    if conn.dialect.name == "postgresql":
        return sa.func.floor(sa.extract("epoch", later)) - sa.func.floor(
            sa.extract("epoch", earlier)
        )
    return sa.cast(sa.func.strftime("%s", later), sa.Integer) - sa.cast(
        sa.func.strftime("%s", earlier), sa.Integer
    )


def _elements(conn: AsyncConnection) -> Any:
    """The region codes of a briefing's JSON list, one row each."""
    if conn.dialect.name == "postgresql":
        return sa.func.json_array_elements_text(_brief_t.c.regions).table_valued("value")
    return sa.func.json_each(_brief_t.c.regions).table_valued("value")


def _materialized(query: sa.Select[Any], name: str) -> sa.CTE:
    """Computed once, before any join: otherwise the planner may walk the regions first and
    fetch the items region by region through an index (random reads, seconds at 100k)."""
    return query.cte(name).prefix_with("MATERIALIZED")


def _count(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _middle_by_hour(decided: sa.CTE, up: sa.CTE) -> sa.Select[Any]:
    """(anc, median of secs) without joining each item to the roll-up: SQLite runs such a
    join as a scan of the roll-up per item once the scope's equality makes it expect few
    items, and would then sort every region's items. The items are counted per (region
    code, hour) once, the counts summed up the tree, and only the items of the hour holding
    each region's middle one or two are read again and ranked (the more items share that
    hour, the more this last step costs). Exact: the hour orders the values coarsely (it
    never decreases as the seconds grow), the ranking within it is by seconds."""
    hour = decided.c.secs // _HOUR
    leaf = _materialized(
        sa.select(decided.c.region_code, hour.label("hour"), sa.func.count().label("k")).group_by(
            decided.c.region_code, hour
        ),
        "leaf",
    )
    hist = (
        sa.select(up.c.anc, leaf.c.hour, sa.func.sum(leaf.c.k).label("k"))
        .join(up, up.c.code == leaf.c.region_code)
        .group_by(up.c.anc, leaf.c.hour)
        .subquery("hist")
    )
    through = sa.func.sum(hist.c.k).over(partition_by=hist.c.anc, order_by=hist.c.hour)
    cum = sa.select(
        hist.c.anc,
        hist.c.hour,
        hist.c.k,
        (through - hist.c.k).label("before"),
        sa.func.sum(hist.c.k).over(partition_by=hist.c.anc).label("n"),
    ).subquery("cum")
    # The middle's 1-based positions: the same one for an odd count, two for an even.
    low, high = (cum.c.n + 1) // 2, (cum.c.n + 2) // 2
    middle = _materialized(
        sa.select(cum.c.anc, cum.c.hour, cum.c.before, cum.c.n).where(
            cum.c.before < high, cum.c.before + cum.c.k >= low
        ),
        "middle",
    )
    # A row-value IN: SQLite indexes the short list and looks each item up in it, where a
    # join to the list could again be planned as a scan of it per item.
    again = _materialized(
        sa.select(decided.c.region_code, decided.c.secs).where(
            sa.tuple_(decided.c.region_code, hour).in_(
                sa.select(up.c.code, middle.c.hour).join(middle, middle.c.anc == up.c.anc)
            )
        ),
        "again",
    )
    rank = sa.func.row_number().over(
        partition_by=(middle.c.anc, middle.c.hour), order_by=again.c.secs
    )
    ranked = (
        sa.select(middle.c.anc, again.c.secs, (middle.c.before + rank).label("pos"), middle.c.n)
        .select_from(again)
        .join(up, up.c.code == again.c.region_code)
        .join(middle, sa.and_(middle.c.anc == up.c.anc, middle.c.hour == again.c.secs // _HOUR))
        .subquery("ranked")
    )
    return (
        sa.select(ranked.c.anc, sa.func.avg(ranked.c.secs))
        .where(ranked.c.pos.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
        .group_by(ranked.c.anc)
    )


class SqlCoverage:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def coverage_figures(self, query: CoverageQuery) -> CoverageFigures:
        async with self.engine.connect() as conn:
            briefings = await self._briefings(conn, query)
            feedback = await self._feedback(conn, query)
            medians = await self._medians(conn, query)
            decks = await self._latest_decks(conn, query)
            pms, total = await self._pms(conn, query)
        regions: dict[str, RegionFigures] = {}
        for code in {*briefings, *feedback, *medians}:
            b = briefings.get(code, (0, 0, 0, None))
            f = feedback.get(code, (0, 0, (0, 0, 0)))
            deck, kept = decks.get(code, (None, None))
            regions[code] = RegionFigures(
                b[0], b[1], b[2], b[3], f[0], f[1], medians.get(code), f[2], deck, kept
            )
        return CoverageFigures(regions, pms, total)

    async def _briefings(
        self, conn: AsyncConnection, q: CoverageQuery
    ) -> dict[str, tuple[int, int, int, dt.date | None]]:
        up = _rollup()
        element = _elements(conn)
        b = _brief_t.c
        held = _materialized(
            sa.select(b.id, element.c.value.label("code"), b.minutes, b.people, b.held_on)
            .select_from(_brief_t)
            .join(element, sa.true())
            .where(visible(b.scope), b.held_on >= q.start, b.held_on <= q.end),
            "held",
        )
        # One row per (briefing, region it counts for): a briefing for AU and NZ counts once
        # for APAC.
        pairs = (
            sa.select(held.c.id, up.c.anc, held.c.minutes, held.c.people, held.c.held_on)
            .join(up, up.c.code == held.c.code)
            .where(up.c.anc.in_(q.regions))
            .distinct()
            .subquery()
        )
        rows = await conn.execute(
            sa.select(
                pairs.c.anc,
                sa.func.count(),
                sa.func.sum(pairs.c.minutes),
                sa.func.sum(pairs.c.people),
                sa.func.max(pairs.c.held_on),
            ).group_by(pairs.c.anc)
        )
        return {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0), _date(r[4])) for r in rows}

    async def _latest_decks(
        self, conn: AsyncConnection, q: CoverageQuery
    ) -> dict[str, tuple[str | None, tuple[int, str] | None]]:
        """Per region, the deck of the period's latest briefing that had one (its link and
        its kept copy): what the CSV links."""
        up = _rollup()
        element = _elements(conn)
        b, d = _brief_t.c, _deck_t.c
        held = _materialized(
            sa.select(
                b.id,
                element.c.value.label("code"),
                b.held_on,
                b.deck,
                d.id.label("kept_id"),
                d.name.label("kept_name"),
            )
            .select_from(_brief_t.outerjoin(_deck_t, d.briefing_id == b.id))
            .join(element, sa.true())
            .where(
                visible(b.scope),
                b.held_on >= q.start,
                b.held_on <= q.end,
                sa.or_(b.deck.is_not(None), d.id.is_not(None)),
            ),
            "decked",
        )
        latest = sa.func.row_number().over(
            partition_by=up.c.anc, order_by=(held.c.held_on.desc(), held.c.id.desc())
        )
        ranked = (
            sa.select(up.c.anc, held.c.deck, held.c.kept_id, held.c.kept_name, latest.label("n"))
            .join(up, up.c.code == held.c.code)
            .where(up.c.anc.in_(q.regions))
            .subquery()
        )
        rows = await conn.execute(
            sa.select(ranked.c.anc, ranked.c.deck, ranked.c.kept_id, ranked.c.kept_name).where(
                ranked.c.n == 1
            )
        )
        return {r[0]: (r[1], (int(r[2]), str(r[3])) if r[2] is not None else None) for r in rows}

    async def _feedback(
        self, conn: AsyncConnection, q: CoverageQuery
    ) -> dict[str, tuple[int, int, tuple[int, int, int]]]:
        up = _rollup()
        i = _item_t.c
        in_period = sa.and_(i.created_at >= _utc(q.since), i.created_at < _utc(q.until))
        waiting = i.status == Status.NEW.value
        young, old = _utc(q.now - _YOUNG), _utc(q.now - _OLD)
        # Counts add up: per region code in one pass over the items, then summed up the tree.
        leaf = _materialized(
            sa.select(
                i.region_code,
                _count(in_period).label("submitted"),
                _count(sa.and_(in_period, i.decided_at.is_not(None))).label("decided"),
                _count(sa.and_(waiting, i.created_at > young)).label("young"),
                _count(sa.and_(waiting, i.created_at <= young, i.created_at > old)).label("mid"),
                _count(sa.and_(waiting, i.created_at <= old)).label("old"),
            )
            .where(
                i.region_code.is_not(None),
                # The scope in each branch: each is then one range of an index led by it
                # (the period's of the covering index, the waiting ones' of the queue's).
                sa.or_(sa.and_(visible(i.scope), in_period), sa.and_(visible(i.scope), waiting)),
            )
            .group_by(i.region_code),
            "leaf",
        )
        rows = await conn.execute(
            sa.select(
                up.c.anc,
                *(
                    sa.func.sum(c)
                    for c in (
                        leaf.c.submitted,
                        leaf.c.decided,
                        leaf.c.young,
                        leaf.c.mid,
                        leaf.c.old,
                    )
                ),
            )
            .join(up, up.c.code == leaf.c.region_code)
            .where(up.c.anc.in_(q.regions))
            .group_by(up.c.anc)
        )
        return {r[0]: (int(r[1]), int(r[2]), (int(r[3]), int(r[4]), int(r[5]))) for r in rows}

    async def _medians(self, conn: AsyncConnection, q: CoverageQuery) -> dict[str, float]:
        """Median seconds from submission to decision, per region, of the period's items."""
        up = _wanted(q)
        i = _item_t.c
        secs = sa.cast(_seconds(conn, i.decided_at, i.created_at), sa.BigInteger)
        decided = _materialized(
            sa.select(i.region_code, secs.label("secs")).where(
                visible(i.scope),
                i.region_code.is_not(None),
                i.created_at >= _utc(q.since),
                i.created_at < _utc(q.until),
                i.decided_at.is_not(None),
            ),
            "decided",
        )
        if conn.dialect.name == "postgresql":
            # PostgreSQL hashes the roll-up for this join and sorts in the ordered-set
            # aggregate. Not the hourly counts: without statistics on the items yet (a table
            # just filled), it runs their IN list as a nested loop over every item.
            query = (
                sa.select(
                    up.c.anc,
                    sa.func.percentile_cont(0.5).within_group(sa.cast(decided.c.secs, sa.Float)),
                )
                .select_from(decided.join(up, up.c.code == decided.c.region_code))
                .group_by(up.c.anc)
            )
        else:
            query = _middle_by_hour(decided, up)
        return {r[0]: float(r[1]) for r in await conn.execute(query)}

    async def _pms(
        self, conn: AsyncConnection, q: CoverageQuery
    ) -> tuple[tuple[PmFigures, ...], int]:
        b = _brief_t.c
        rows = await conn.execute(
            sa.select(b.pm_id, sa.func.count(), sa.func.sum(b.minutes), sa.func.sum(b.people))
            .where(visible(b.scope), b.held_on >= q.start, b.held_on <= q.end)
            .group_by(b.pm_id)
        )
        pms = tuple(PmFigures(r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows)
        return pms, sum(p.briefings for p in pms)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
