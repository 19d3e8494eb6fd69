"""Demand, ranked: open feedback weighed by the deals behind it (revenue at stake) for
product managers and managers: `/feedback top`, the order of the App Home queue and the
weekly list of the items with most at stake still undecided.

Revenue at stake is kept per currency, as the reps entered it. Ranking needs one figure, so
items are ranked by their revenue converted to BASE with the FX_RATES setting (rates the
operator keeps; none is fetched); a currency without a rate is still shown but adds nothing
to the rank, and the list says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.catalog import CatalogService, CatalogView, answer_query
from bot.items import KIND_LABEL, STATUS_LABEL, Item, Stake, Status, client_key
from bot.links import Link, link_of
from bot.payloads import Digest
from bot.ports import Clock, Notification
from bot.replies import (
    Ambiguous,
    NotFound,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    UnknownMarket,
    format_money,
)
from bot.reports import PeriodError, parse_period
from bot.settings import WorkspaceSettings, in_effect
from bot.spreadsheet import csv_cell
from bot.types import Region, SalesProduct

BASE = "USD"  # what FX_RATES convert to (the feedback form's default currency)
TOP = 10  # items `/feedback top` lists
WEEKLY_TOP = 5  # items the weekly PM message names
PRODUCTS_SHOWN = 15  # products in the roll-up; the rest are counted
OPEN_STATUSES = (Status.NEW, Status.NOW, Status.LATER)
UNDECIDED = (Status.NEW, Status.LATER)  # the weekly list: nobody has committed to these yet
NO_PRODUCT_NAME = "Not product-specific"
NO_DEAL = "no deal value given"
TOP_USAGE = (
    "/feedback top [product] [region] [this quarter | last quarter | 2026-Q3 | last 30 days]"
)
TOP_REFUSED = (
    "The ranked list is for product managers and management (MANAGERS). To send feedback "
    "that starts with “top”, open the form with /feedback and write it there."
)
CSV_HEADER = (
    "rank",
    "item",
    "title",
    "product_sku",
    "kind",
    "status",
    "age_days",
    "clients",
    "clients_and_deals",
    "revenue_at_stake",
    "converted_to_base",
    "crm",
    "link",
)
WEEKLY_TITLE = "Most revenue at stake, still waiting (new or later)"
# Words that only a period would use: text holding one that no period form accepts is a
# period that did not parse (told the accepted forms), not a product name.
_PERIOD_WORDS = re.compile(
    r"\b(quarter|quarters|days?|weeks?|months?|years?|q[1-4]|\d{4}-?q\d|ytd|today|yesterday)\b"
)


_QUALIFIERS = frozenset({"next", "this", "last", "previous", "past", "coming", "current"})


class RatesError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rates:
    """What one unit of each currency is worth in `base`; the base itself is 1."""

    rates: Mapping[str, float] = field(default_factory=dict)
    base: str = BASE

    def rate(self, currency: str) -> float | None:
        return 1.0 if currency == self.base else self.rates.get(currency)

    def convert(self, revenue: Mapping[str, int]) -> tuple[int, tuple[str, ...]]:
        """The revenue in `base` (what has a rate), and the currencies without one."""
        total = 0.0
        missing = []
        for currency, amount in revenue.items():
            rate = self.rate(currency)
            if rate is None:
                missing.append(currency)
            else:
                total += amount * rate
        return round(total), tuple(missing)

    @property
    def known(self) -> dict[str, float]:
        return {self.base: 1.0, **{c: r for c, r in self.rates.items() if c != self.base}}


def parse_rates(text: str, *, base: str = BASE) -> Rates:
    """FX_RATES: "EUR=1.08,GBP=1.27" (one unit in the base currency, USD)."""
    out: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        code, sep, value = part.partition("=")
        code = code.strip().upper()
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not re.fullmatch(r"[A-Z]{3}", code) or not 0 < rate < 1e6:
            raise RatesError(f"“{part.strip()}” is not CODE=rate, e.g. EUR=1.08")
        out[code] = rate
    return Rates(out, base)


def revenue_text(revenue: Mapping[str, int]) -> str:
    """'$250,000 + €90,000', or that no deal value was given."""
    return " + ".join(format_money(v, c) for c, v in revenue.items()) or NO_DEAL


def stake_text(stake: Stake) -> str:
    """'Acme ($250,000)', or the client alone when no deal value was given."""
    if stake.deal_value and stake.deal_currency:
        return f"{stake.client} ({format_money(stake.deal_value, stake.deal_currency)})"
    return stake.client


CLIENTS_SHOWN = 8  # on a card, a view or a DM; the rest counted (the total counts them all)


def clients_text(item: Item, *, shown: int | None = CLIENTS_SHOWN) -> str:
    """Each client of an item with its deal value: 'Acme ($250,000), Globex (€90,000)',
    the first `shown` of them and how many more (all of them with None)."""
    stakes = item.stakes
    listed = stakes if shown is None else stakes[:shown]
    out = ", ".join(stake_text(s) for s in listed)
    rest = {client_key(s.client) for s in stakes[len(listed) :]} - {
        client_key(s.client) for s in listed
    }
    if rest:
        out += f" … and {len(rest)} more client{'' if len(rest) == 1 else 's'}"
    return out


def unlisted_items(n: int) -> str:
    """Ends a list of items cut to fit a card."""
    return f"…and {n} more item{'' if n == 1 else 's'} (too long for one card)."


def at_stake_text(item: Item) -> str:
    """An item's total: '$340,000 at stake from 2 clients'."""
    n = len({client_key(s.client) for s in item.stakes})
    clients = f"{n} client{'' if n == 1 else 's'}"
    revenue = item.revenue
    if not revenue:
        return f"{clients}, {NO_DEAL}"
    return f"{revenue_text(revenue)} at stake from {clients}"


# --------------------------------------------------------------------------- the query


@dataclass(frozen=True, slots=True)
class DemandQuery:
    """Which items a ranking or roll-up counts, and how currencies weigh in its rank."""

    statuses: tuple[Status, ...] = OPEN_STATUSES
    product_sku: str | None = None  # None: every product (and none)
    regions: tuple[str, ...] | None = None  # a region and every region below it
    since: dt.datetime | None = None  # created in [since, until)
    until: dt.datetime | None = None
    rates: Mapping[str, float] = field(default_factory=lambda: {BASE: 1.0})


@dataclass(frozen=True, slots=True)
class Ranked:
    """An item's place in the ranking: its rank figure (revenue in the base currency) and
    how many distinct clients it has."""

    item_id: int
    clients: int
    rank: float


@dataclass(frozen=True, slots=True)
class ProductDemand:
    """One product's open demand: items, distinct clients, revenue per currency (each
    client once, at its largest deal in each currency however many items name it), kinds."""

    product_sku: str | None
    items: int
    clients: int
    revenue: Mapping[str, int]
    kinds: Mapping[str, int]


class DemandReader(Protocol):
    async def ranked(self, query: DemandQuery, *, limit: int, offset: int = 0) -> list[Ranked]:
        """Items by revenue at stake (in the base currency), then number of clients, then
        the longest waiting: aggregated in the database."""
        ...

    async def count(self, query: DemandQuery) -> int: ...

    async def by_product(self, query: DemandQuery) -> list[ProductDemand]: ...

    async def revenue_by_region(self, query: DemandQuery) -> dict[str, dict[str, int]]:
        """Revenue at stake per region code ("" for none) and currency: each client once
        per region, at its largest deal in each currency; regions not rolled up."""
        ...


class ItemReader(Protocol):
    async def items_by_ids(self, *, ids: Sequence[int]) -> list[Item]: ...


# --------------------------------------------------------------------------- the reply


@dataclass(frozen=True, slots=True)
class DemandRow:
    rank: int
    item: Item
    clients: int
    age_days: int
    converted: int | None = None  # in the base currency, when several currencies add up
    base: str = BASE
    # The revenue in the base currency whatever its currencies (None: one has no rate),
    # for the CSV's column that every row fills.
    in_base: int | None = None

    @property
    def head(self) -> str:
        return f"{self.rank}. #{self.item.id} {self.item.title}"

    @property
    def facts(self) -> str:
        age = f"{self.age_days} day{'' if self.age_days == 1 else 's'} old"
        total = at_stake_text(self.item)
        if self.converted is not None:
            total += f" (≈ {format_money(self.converted, self.base)})"
        return f"{STATUS_LABEL[self.item.status]} · {age} · {total}"

    @property
    def clients_line(self) -> str:
        return clients_text(self.item)

    @property
    def link(self) -> Link | None:
        return link_of(self.item.link)


@dataclass(frozen=True, slots=True)
class ProductLine:
    name: str
    demand: ProductDemand

    @property
    def text(self) -> str:
        d = self.demand
        labels = {k.value: label.lower() for k, label in KIND_LABEL.items()}
        kinds = ", ".join(f"{n} {labels.get(k, k)}" for k, n in d.kinds.items())
        items = f"{d.items} item{'' if d.items == 1 else 's'}"
        clients = f"{d.clients} client{'' if d.clients == 1 else 's'}"
        return f"{self.name}: {items}, {clients}, {revenue_text(d.revenue)} ({kinds})"


@dataclass(frozen=True, slots=True)
class DemandReport:
    """`/feedback top`: the open items ranked by revenue at stake, and a roll-up by product."""

    scope: str  # what was asked for: "Widget Pro in Australia, 2026-Q4 (to date)"
    rows: tuple[DemandRow, ...]
    total: int  # items counted (the list shows the first TOP)
    products: tuple[ProductLine, ...]
    more_products: int = 0
    unranked: tuple[str, ...] = ()  # currencies without an FX rate
    base: str = BASE

    @property
    def title(self) -> str:
        return f"Open feedback by revenue at stake: {self.scope}"

    @property
    def shown(self) -> str:
        if self.total <= len(self.rows):
            return ""
        return f"Top {len(self.rows)} of {self.total} open items"

    @property
    def notes(self) -> tuple[str, ...]:
        out = []
        if self.unranked:
            out.append(
                f"Ranked in {self.base}; no FX_RATES rate for {', '.join(self.unranked)}: "
                "those amounts are shown but add nothing to the rank."
            )
        if self.more_products:
            n = self.more_products
            out.append(f"…and {n} more product{'' if n == 1 else 's'}.")
        return tuple(out)

    def csv(self) -> str:
        """The ranked items as CSV: one line per item with its clients, revenue per currency
        and CRM link (the kind of record it is, and its address)."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(CSV_HEADER)
        for r in self.rows:
            i = r.item
            link = r.link
            w.writerow(
                [
                    r.rank,
                    i.id,
                    csv_cell(i.title),
                    csv_cell(i.product_sku or ""),
                    i.kind.value,
                    i.status.value,
                    r.age_days,
                    r.clients,
                    csv_cell(clients_text(i, shown=None)),
                    "; ".join(f"{c} {v}" for c, v in i.revenue.items()),
                    "" if r.in_base is None else r.in_base,
                    (link.crm.value if link.crm else "") if link else "",
                    csv_cell(link.url) if link else "",
                ]
            )
        return out.getvalue()

    @property
    def fallback(self) -> str:
        if not self.rows:
            return f"{self.title}: no open items."
        return f"{self.title}: " + "; ".join(
            f"#{r.item.id} {revenue_text(r.item.revenue)}" for r in self.rows[:5]
        )


# --------------------------------------------------------------------------- the service


def period_bounds(start: dt.date, end: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) in UTC for the days start..end in the report's time zone."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)

    return midnight(start), midnight(end + dt.timedelta(days=1))


def _below(regions: Mapping[str, Region], code: str) -> tuple[str, ...]:
    """The region and every region under it."""
    children: dict[str, list[str]] = {}
    for r in regions.values():
        if r.parent:
            children.setdefault(r.parent, []).append(r.code)
    out, todo = [], [code]
    while todo:
        c = todo.pop()
        if c not in out:
            out.append(c)
            todo += children.get(c, [])
    return tuple(sorted(out))


class DemandError(ValueError):
    """What `/feedback top` could not make sense of, said to the asker."""


class DemandService:
    def __init__(
        self,
        *,
        reader: DemandReader,
        items: ItemReader,
        catalog: CatalogService,
        clock: Clock,
        rates: Rates | None = None,
        timezone: str = "UTC",
    ) -> None:
        self._reader = reader
        self._items = items
        self._catalog = catalog
        self._clock = clock
        self.rates = rates or Rates()
        self._env = WorkspaceSettings(report_timezone=timezone)
        ZoneInfo(timezone)  # a misspelt zone fails here, not on the first question

    @property
    def tz(self) -> ZoneInfo:
        """The report time zone of the request's workspace (else the environment's)."""
        return ZoneInfo(in_effect(self._env).report_timezone)

    def _now(self) -> dt.datetime:
        return self._clock.now()

    async def parse(self, text: str) -> tuple[DemandQuery, str]:
        """`[product] [region] [period]` in any order of product and region, the period
        last (or first). Raises DemandError (or PeriodError, with the accepted forms)."""
        words = text.split()
        today = self._now().astimezone(self.tz).date()
        period, rest = None, words
        # The longest period at the end, else the longest at the start.
        splits = [(words[:cut], words[cut:]) for cut in range(len(words))]
        splits += [(words[cut:], words[:cut]) for cut in range(len(words), 0, -1)]
        for others, candidate in splits:
            try:
                period = parse_period(" ".join(candidate), today)
            except PeriodError:
                continue
            if (
                others
                and others[-1].casefold() in _QUALIFIERS
                and candidate == words[-len(candidate) :]
            ):
                # "next quarter": "quarter" alone parses, but that is not what was asked.
                parse_period(" ".join([others[-1], *candidate]), today)
            rest = others
            break
        remainder = " ".join(rest)
        if _PERIOD_WORDS.search(remainder.casefold()):
            parse_period(remainder, today)  # raises PeriodError: the accepted forms
        view = await self._catalog.view()
        product, region = self._what(view, remainder)
        since = until = None
        scope = [product.name if product else "every product"]
        if region is not None:
            scope.append(f"in {region.name}")
        if period is not None:
            since, until = period_bounds(period.start, period.end, self.tz)
            scope.append(f"raised {period.label}")
        query = DemandQuery(
            product_sku=product.sku if product else None,
            regions=_below(view.catalog.regions, region.code) if region else None,
            since=since,
            until=until,
            rates=self.rates.known,
        )
        return query, " ".join(scope)

    @staticmethod
    def _what(view: CatalogView, text: str) -> tuple[SalesProduct | None, Region | None]:
        if not text.strip():
            return None, None
        reply = answer_query(view, text)
        if isinstance(reply, ProductAnswer):
            return reply.product, reply.region
        if isinstance(reply, ProductOverview):
            return reply.product, None
        if isinstance(reply, RegionOverview):
            return None, reply.region
        if isinstance(reply, Ambiguous):
            names = ", ".join(o.product.name for o in reply.options[:5])
            raise DemandError(f"Several products match “{text}”: {names}. Name one.")
        if isinstance(reply, UnknownMarket):
            raise DemandError(f"I don't know the market “{reply.market}”.")
        if isinstance(reply, NotFound):
            raise DemandError(
                f"I don't know a product or region “{text}”. Try {TOP_USAGE}, "
                "e.g. /feedback top widget pro australia this quarter."
            )
        raise DemandError(f"Try {TOP_USAGE}.")

    async def is_filter(self, text: str) -> bool:
        """Whether the words after `top` ask for the ranked list: a product, region or
        period (one that did not parse still says it is a period). Anything else is
        feedback that starts with "top"."""
        try:
            await self.parse(text)
        except PeriodError:
            return True
        except DemandError:
            return False
        return True

    async def top(self, text: str = "", *, limit: int = TOP) -> DemandReport:
        """Raises DemandError or PeriodError with a message for the asker."""
        query, scope = await self.parse(text)
        return await self.report(query, scope, limit=limit)

    async def report(self, query: DemandQuery, scope: str, *, limit: int) -> DemandReport:
        ranked = await self._reader.ranked(query, limit=limit)
        total = await self._reader.count(query)
        rows = await self.rows(ranked)
        view = await self._catalog.view()
        products = sorted(
            await self._reader.by_product(query),
            key=lambda p: (-self.rates.convert(p.revenue)[0], -p.items, p.product_sku or ""),
        )
        lines = tuple(
            ProductLine(self._product_name(view, p.product_sku), p)
            for p in products[:PRODUCTS_SHOWN]
        )
        unranked = sorted(
            {c for r in rows for c in self.rates.convert(r.item.revenue)[1]}
            | {c for p in products for c in self.rates.convert(p.revenue)[1]}
        )
        return DemandReport(
            scope,
            rows,
            total,
            lines,
            max(0, len(products) - PRODUCTS_SHOWN),
            tuple(unranked),
            self.rates.base,
        )

    async def rows(self, ranked: Sequence[Ranked], *, first: int = 1) -> tuple[DemandRow, ...]:
        items = await self._items.items_by_ids(ids=[r.item_id for r in ranked])
        by_id = {i.id: i for i in items}
        now = self._now()
        out = []
        for n, r in enumerate(ranked, start=first):
            item = by_id.get(r.item_id)
            if item is None:
                continue
            created = (
                item.created_at
                if item.created_at.tzinfo
                else item.created_at.replace(tzinfo=dt.UTC)
            )
            value, missing = self.rates.convert(item.revenue)
            in_base = None if missing else value
            # Shown beside the figures only when it is not one of them already.
            several = len(item.revenue) > 1 or (
                item.revenue and self.rates.base not in item.revenue
            )
            out.append(
                DemandRow(
                    n,
                    item,
                    r.clients,
                    max(0, (now - created).days),
                    in_base if several else None,
                    self.rates.base,
                    in_base,
                )
            )
        return tuple(out)

    @staticmethod
    def _product_name(view: CatalogView, sku: str | None) -> str:
        if sku is None:
            return NO_PRODUCT_NAME
        product = view.by_sku.get(sku)
        return product.name if product else sku

    async def weekly_notification(self, *, triage: tuple[str, str]) -> Notification | None:
        """Beside the gap list, to the triage channel (platform, channel), once a week."""
        lines = await self.weekly_lines()
        if not lines:
            return None
        iso = self._now().isocalendar()
        platform, channel = triage
        return Notification(
            platform=platform,
            kind="announce",
            target=channel,
            dedupe_key=f"demand:{iso.year}-W{iso.week:02d}:{platform}:{channel}",
            payload=Digest(WEEKLY_TITLE, tuple(lines)).encode(),
        )

    async def weekly_lines(self) -> list[str]:
        """The five items with most at stake still new or later, for the weekly PM message."""
        query = DemandQuery(statuses=UNDECIDED, rates=self.rates.known)
        rows = await self.rows(await self._reader.ranked(query, limit=WEEKLY_TOP))
        return [f"#{r.item.id} {r.item.title} — {r.facts}" for r in rows]
