"""What the bot wants shown, as plain values; renderers decide how it looks.

Every reply knows its one-line plain-text fallback (it names the product, the market and
exactly one verdict: README "What `/product` answers"), so the copy is written once here for
every platform.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.forms import FormSpec
from bot.types import PricingBand, Region, SalesProduct, Segment, UserRef, Verdict

# User-facing copy, kept together so both platforms say the same thing.
NO_COVERAGE = "No market coverage recorded"
LIFECYCLE_REASON = {
    "beta": "Beta: limited release, check with the product team",
    "pilot": "Pilot customers only",
    "sunset": "Sunset: renewals only",
    "announced": "Announced, not yet orderable",
    "withdrawn": "Withdrawn from sale",
}
HELP_INTRO = "Ask me where a product may be sold. Examples:"
HELP_EXAMPLES = (
    "/product australia widget pro",
    "/product widget pro in oz",
    "/product WP-3000 UK",
    "/product germany  (what is sellable there)",
    "/product ledger sync  (its verdict in each region)",
    "/product widget pro germany government  (for a kind of customer)",
    "/product vs gizmotron  (our products against a competitor)",
    "/product saml australia  (products that have a capability)",
    "/product widget pro history",
    "/product edit widget pro  (product managers)",
    "/product subscribe widget pro  (unsubscribe, subscriptions)",
)
SHARE_LABEL = "Share in channel"
SEE_ALL_LABEL = "See all"
# Differences listed before "and N more" (the rest behind the "See all" press).
DIFFERENCES_SHOWN = 8
VERIFY_LABEL = "Still accurate"
ERROR_APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."


def format_date(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%b %Y')}"


def format_money(amount: int, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    return f"{symbol}{amount:,}" if symbol else f"{amount:,} {currency}"


def band_text(band: PricingBand | None) -> str:
    if band is None:
        return "No pricing band recorded"
    low = format_money(band.min, band.currency)
    if band.max is None:
        return f"{band.label} ({low}+)"
    return f"{band.label} ({low}–{format_money(band.max, band.currency)})"


MORE = "…and more"  # ends a text cut to fit a platform's limit


@dataclass(frozen=True, slots=True)
class Assessment:
    """A product's verdict in one region, with why and from when."""

    verdict: Verdict
    reason: str | None = None
    from_date: dt.date | None = None
    band: PricingBand | None = None
    contact: str | None = None  # whom to ask: the deciding rule's contact, else the product's

    def detail(self) -> str:
        parts = []
        if self.reason:
            parts.append(self.reason)
        if self.from_date:
            parts.append(f"from {format_date(self.from_date)}")
        return ", ".join(parts)

    def phrase(self, region: Region, segment: Segment | None = None) -> str:
        """'Not available in Australia — Not licensed'."""
        detail = self.detail()
        who = f" for {segment.name}" if segment else ""
        return f"{self.verdict.value} in {region.name}{who}" + (f" — {detail}" if detail else "")


@dataclass(frozen=True, slots=True)
class ApprovalNote:
    """An approval the asker holds for this product and market (bot.approvals), shown with
    their answer until it runs out."""

    request_id: int
    client: str
    by: UserRef
    until: dt.date

    def text(self, who: Callable[[UserRef], str], esc: Callable[[str], str] = str) -> str:
        """'Approved for Acme by @pm until 2 Jan' (`who` renders the approver, `esc` the
        client's name)."""
        until = f"{self.until.day} {self.until:%b}"
        return f"Approved for {esc(self.client)} by {who(self.by)} until {until}"


@dataclass(frozen=True, slots=True)
class Difference:
    """A market below the one asked about (or a customer segment there) whose verdict is
    not the answer's: the exceptions an answer about a parent region must name."""

    region: Region
    segment: Segment | None
    assessment: Assessment
    here: bool = False  # a segment's verdict in the very region asked about
    # Another market (or segment) the question itself named, or an exception below one:
    # never an exception to the headline's verdict, so never said as one.
    asked: bool = False
    # Itself one of the (market, segment) combinations the question named, not an
    # exception below one: a verdict given in its own right (a receipt is kept for it).
    combination: bool = False

    @property
    def label(self) -> str:
        """'United Arab Emirates', 'Public sector in Germany', 'Public sector'."""
        if self.segment is None:
            return self.region.name
        return self.segment.name if self.here else f"{self.segment.name} in {self.region.name}"

    def ask_instead(self, ask: str | None) -> str | None:
        """Whom to ask about this exception when it is not the answer's person `ask`."""
        contact = self.assessment.contact
        if contact and contact != ask and self.assessment.verdict is not Verdict.AVAILABLE:
            return contact
        return None

    def short(self) -> str:
        """'United Arab Emirates (Not available)'."""
        return f"{self.label} ({self.assessment.verdict.value})"


def more_text(hidden: int) -> str:
    return f"… and {hidden} more: press “{SEE_ALL_LABEL}”"


def _counted(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def differences_text(
    differences: tuple[Difference, ...], shown: int, *, after_detail: bool = False
) -> str:
    """' except 2 markets: United Arab Emirates (Not available), India (Restricted); and
    for 1 customer segment: Public sector (Not available)' (below the region), then
    '; also asked: France (Available)' (the other markets and segments the question named,
    with their own exceptions): each said after the verdict, its separator included."""
    below = [d for d in differences if not d.asked]
    also = [d for d in differences if d.asked]
    text = ""
    parts = []
    for kind, group in (
        ("market", [d for d in below if d.segment is None]),
        ("customer segment", [d for d in below if d.segment is not None]),
    ):
        if group:
            listed = ", ".join(d.short() for d in group[:shown])
            more = f" and {len(group) - shown} more" if len(group) > shown else ""
            parts.append(f"{_counted(len(group), kind)}: {listed}{more}")
    if parts:
        text = ("; " if after_detail else " ") + "except " + "; and for ".join(parts)
    if also:
        listed = ", ".join(d.short() for d in also[:shown])
        more = f" and {len(also) - shown} more" if len(also) > shown else ""
        text += f"; {ALSO_ASKED.lower()}: {listed}{more}"
    return text


ALSO_ASKED = "Also asked"  # the other markets and segments a question named
OPTION_DIFFERENCES = 3  # of each kind, said on a list's line before "and N more"


@dataclass(frozen=True, slots=True)
class Option:
    """A product with its verdict in the region asked about (None when no region was named)."""

    product: SalesProduct
    assessment: Assessment | None
    # In a parent region: the markets below it (and segments) whose verdict differs.
    differences: tuple[Difference, ...] = ()
    # Where the verdict shown is, when the question named several markets or segments
    # ("Japan", "Germany for Public sector"): the most restrictive of them.
    place: str | None = None

    @property
    def exceptions(self) -> str:
        """' except 2 markets: Australia (Not available), …' (the first three), said after
        the option's verdict; '' when there are none."""
        if not self.differences:
            return ""
        detailed = self.assessment is not None and bool(self.assessment.detail())
        return differences_text(self.differences, OPTION_DIFFERENCES, after_detail=detailed)


@dataclass(frozen=True, slots=True)
class Freshness:
    """When the product's answers were last confirmed, as of the moment of asking."""

    at: dt.datetime
    by: str
    days: int  # whole days since
    stale: bool  # older than VERIFY_AFTER_DAYS: shown as a warning

    @property
    def text(self) -> str:
        ago = (
            "today"
            if self.days <= 0
            else "yesterday"
            if self.days == 1
            else f"{self.days} days ago"
        )
        line = f"verified {ago} by {self.by}"
        if self.stale:
            return f"⚠ Last {line}: it may be out of date, check with the product team"
        return line[0].upper() + line[1:]


NOT_VERIFIED = "Not verified yet"
# A press's value may hold 2,000 characters (Slack's limit, the smallest of the platforms).
PRESS_VALUE_MAX = 2000
PRESS_NAMES_MAX = 250  # markets (or segments) a press may name: more than a question can


def joined(names: tuple[str, ...] | list[str]) -> str:
    """'Germany', 'Germany and France', 'Germany, France and Japan'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


PLACES_NAMED = 4  # markets (or segments) named in a heading; more are counted


def names_text(names: Sequence[str], what: str) -> str:
    """'Germany and France', or 'all 12 markets asked' past PLACES_NAMED."""
    if len(names) <= PLACES_NAMED:
        return joined(list(names))
    return f"all {len(names)} {what}s asked"


def places_text(markets: Sequence[str], segments: Sequence[str] = ()) -> str:
    """'Germany and France', 'Germany for Public sector', 'all 12 markets asked'."""
    where = names_text(markets, "market")
    return f"{where} for {names_text(segments, 'customer segment')}" if segments else where


def unknown_markets_text(names: tuple[str, ...], product: str) -> str:
    """'I don't know the market “China”: no rule covers it, so treat Widget Pro as Not
    available there' (default deny), for one or several markets the catalog lacks."""
    listed = joined([f"“{n}”" for n in names])
    what, it = ("market", "it") if len(names) == 1 else ("markets", "them")
    return (
        f"I don't know the {what} {listed}: no rule covers {it}, so treat {product} as "
        f"{Verdict.NOT_AVAILABLE.value} there"
    )


@dataclass(frozen=True, slots=True)
class Asked:
    """What a question naming several markets and/or segments named: every combination
    is answered, and a press on the answer ("Share in channel", "See all") answers all of
    them again (bot.catalog.several_answer)."""

    markets: tuple[str, ...]  # region codes, in the order the question named them
    segments: tuple[str, ...] = ()  # segment codes; none: the general answer
    unknown: tuple[str, ...] = ()  # markets the catalog lacks, as the world calls them
    untold: int = 0  # further markets named that did not fit one press's value

    def press_value(self, sku: str) -> str:
        """'SKU|DE,FR|PUB,FSI|China': the markets the catalog lacks percent-escaped, as
        their names may hold any character."""
        unknown = ",".join(urllib.parse.quote(u, safe="") for u in self.unknown)
        untold = f"|{self.untold}" if self.untold else ""
        return f"{sku}|{','.join(self.markets)}|{','.join(self.segments)}|{unknown}{untold}"

    @classmethod
    def from_press(cls, value: str) -> tuple[str, Asked] | None:
        """The product and what a press value names; None when it names one market and
        segment at most (the value of an answer about one combination)."""
        if len(value) > PRESS_VALUE_MAX:
            return None
        sku, _, rest = value.partition("|")
        markets, _, rest = rest.partition("|")
        segments, _, rest = rest.partition("|")
        unknown, _, untold = rest.partition("|")
        # A forged value names no more than a question could (and each name cut short).
        codes = tuple(c[:32] for c in markets.split(",") if c)[:PRESS_NAMES_MAX]
        segs = tuple(c[:32] for c in segments.split(",") if c)[:PRESS_NAMES_MAX]
        names = tuple(urllib.parse.unquote(u)[:80] for u in unknown.split(",") if u)
        names = names[:PRESS_NAMES_MAX]
        if len(codes) <= 1 and len(segs) <= 1 and not names:
            return None
        told = int(untold) if untold.isdecimal() and len(untold) < 4 else 0
        return sku[:64], cls(codes, segs, names, told)


@dataclass(frozen=True, slots=True)
class ProductAnswer:
    product: SalesProduct
    region: Region
    assessment: Assessment
    alternatives: tuple[Option, ...] = ()
    verified: Freshness | None = None
    can_verify: bool = False  # the asker may press "Still accurate"
    segment: Segment | None = None  # the customer segment asked about, if one was
    # Markets below `region` (and segments) whose verdict differs, in region-tree order.
    differences: tuple[Difference, ...] = ()
    show_all: bool = False  # list every difference (the "See all" press)
    approval: ApprovalNote | None = None  # the asker's own approval here, while it is valid
    asked: Asked | None = None  # the question named several markets and/or segments

    def with_freshness(self, verified: Freshness | None, can_verify: bool) -> ProductAnswer:
        """This answer as shown to one asker (dataclasses.replace costs ~4× more, on every
        lookup)."""
        return ProductAnswer(
            self.product,
            self.region,
            self.assessment,
            self.alternatives,
            verified,
            can_verify,
            self.segment,
            self.differences,
            self.show_all,
            self.approval,
            self.asked,
        )

    def with_approval(self, approval: ApprovalNote | None) -> ProductAnswer:
        """This answer as shown to the one asker who holds `approval` (a Restricted answer
        only, so not every lookup pays for the copy)."""
        return replace(self, approval=approval)

    @property
    def restricted(self) -> bool:
        """A verdict someone may ask to be approved for (bot.approvals)."""
        return self.assessment.verdict is Verdict.RESTRICTED

    def everything(self) -> ProductAnswer:
        """This answer with every difference listed (the "See all" press)."""
        return ProductAnswer(
            self.product,
            self.region,
            self.assessment,
            self.alternatives,
            self.verified,
            self.can_verify,
            self.segment,
            self.differences,
            True,
            self.approval,
            self.asked,
        )

    @property
    def combinations(self) -> tuple[tuple[Region, Segment | None, Assessment], ...]:
        """Every (market, segment) combination this answer gives a verdict for: the
        headline, then each other one a question naming several listed (bot.receipts
        keeps one receipt for each). Markets the catalog lacks are none: no market, no
        verdict of its own, as when one is asked about alone."""
        head = ((self.region, self.segment, self.assessment),)
        if self.asked is None:
            return head
        named = tuple(
            (d.region, d.segment, d.assessment) for d in self.differences if d.combination
        )
        return head + named

    @property
    def alternatives_where(self) -> str:
        """Where the alternatives are sellable: 'Japan', or every market (and segment) a
        question naming several named ('Germany and France', 'Germany for Financial
        services and Public sector'), as a count past a few."""
        if self.asked is None:
            return self.region.name
        combos = self.combinations
        markets = list(dict.fromkeys(r.name for r, _s, _a in combos))
        segments = list(dict.fromkeys(s.name for _r, s, _a in combos if s is not None))
        return places_text(markets, segments)

    @property
    def verified_text(self) -> str:
        return NOT_VERIFIED if self.verified is None else self.verified.text

    @property
    def unknown(self) -> tuple[str, ...]:
        """Markets the question named that the catalog lacks (Not available: default deny)."""
        return self.asked.unknown if self.asked is not None else ()

    @property
    def unknown_text(self) -> str | None:
        if not self.unknown:
            return None
        return unknown_markets_text(self.unknown, self.product.name)

    @property
    def untold_text(self) -> str | None:
        """The markets a question named beyond those one answer can carry."""
        n = self.asked.untold if self.asked is not None else 0
        if not n:
            return None
        return f"{_counted(n, 'more market')} named: ask about {'it' if n == 1 else 'them'} apart"

    @property
    def plainly_available(self) -> bool:
        return (
            self.assessment.verdict is Verdict.AVAILABLE
            and not self.differences
            and not self.unknown
        )

    @property
    def ask(self) -> str | None:
        """Whom to ask, on every answer that is not plainly Available."""
        if self.plainly_available:
            return None
        if self.assessment.verdict is Verdict.AVAILABLE:
            return self.product.ask
        return self.assessment.contact or self.product.ask

    @property
    def shown_differences(self) -> tuple[Difference, ...]:
        return self.differences if self.show_all else self.differences[:DIFFERENCES_SHOWN]

    @property
    def hidden(self) -> int:
        """How many differences are behind "and N more"."""
        return len(self.differences) - len(self.shown_differences)

    @property
    def key(self) -> str:
        """The press value naming this answer's headline: "SKU|REGION" or
        "SKU|REGION|SEGMENT" (what an approval is asked for)."""
        seg = f"|{self.segment.code}" if self.segment else ""
        return f"{self.product.sku}|{self.region.code}{seg}"

    @property
    def whole_key(self) -> str:
        """The press value naming the whole answer: every market and segment the question
        named ("Share in channel", "See all"), within PRESS_VALUE_MAX."""
        if self.asked is None:
            return self.key
        return self.asked.press_value(self.product.sku)

    @property
    def fallback(self) -> str:
        text = f"{self.product.name}: {self.assessment.phrase(self.region, self.segment)}"
        if self.differences:
            text += differences_text(self.differences, 3)
        if self.unknown_text:
            # Default deny first: the line never reads better than the worst case.
            text = f"{self.unknown_text}. {text}"
        if self.untold_text:
            text += f"; {self.untold_text}"
        if self.ask:
            text += f". Ask {self.ask}"
        return text


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """Several products match as well: each listed with its verdict in the market (and for
    the customer segment) the question named, so the choice keeps what was asked."""

    query: str
    region: Region | None
    options: tuple[Option, ...]
    total: int = 0  # products that match as well; more than the options when the list is cut
    segment: Segment | None = None
    unknown: str | None = None  # a market the question names that the catalog lacks
    # Every market and segment named, when the question named several (each option then
    # shows its most restrictive verdict among them, and lists the others).
    markets: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    @property
    def cut(self) -> bool:
        return self.total > len(self.options)

    @property
    def where(self) -> str:
        """' in Germany for Public sector', ' in China', ' in Germany and France', or ''."""
        market = (
            joined(self.markets)
            if self.markets
            else (self.region.name if self.region else self.unknown)
        )
        segment = (
            joined(self.segments)
            if self.segments
            else (self.segment.name if self.segment else None)
        )
        return (f" in {market}" if market else "") + (f" for {segment}" if segment else "")

    @property
    def unknown_text(self) -> str | None:
        """What default deny means for a market the catalog lacks, said for every option."""
        if self.unknown is None:
            return None
        return (
            f"I don't know the market “{self.unknown}”: no rule covers it, so treat each of "
            f"them as {Verdict.NOT_AVAILABLE.value} there."
        )

    @property
    def count_text(self) -> str:
        """ "3 products", or "8 of 40 products" when only the first are listed."""
        n = len(self.options)
        return f"{n} of {self.total} products" if self.cut else f"{n} products"

    @property
    def hint(self) -> str:
        if self.cut:
            return "Add a word or two, or the SKU, to narrow it down."
        if self.where and self.options:
            return (
                "Add a word or two to pick one, e.g. "
                f"“{self.options[0].product.name.lower()}{self.where.lower()}”."
            )
        return "Add a word or two to pick one, e.g. the full product name."

    @property
    def fallback(self) -> str:
        names = ", ".join(o.product.name for o in self.options)
        ask = self.hint if self.cut else "Which one?"
        unknown = f" {self.unknown_text}" if self.unknown_text else ""
        return f"{self.count_text} match “{self.query}”{self.where}: {names}.{unknown} {ask}"


@dataclass(frozen=True, slots=True)
class RegionOverview:
    region: Region
    sellable: tuple[Option, ...]
    total_sellable: int
    segment: Segment | None = None  # sellable to this kind of customer, when one was asked

    @property
    def where(self) -> str:
        """'Germany', 'Germany for Public sector'."""
        return self.region.name + (f" for {self.segment.name}" if self.segment else "")

    @property
    def fallback(self) -> str:
        if not self.total_sellable:
            return f"Nothing is recorded as sellable in {self.where}"
        return f"{self.total_sellable} products are sellable in {self.where}"


@dataclass(frozen=True, slots=True)
class RegionRow:
    region: Region
    assessment: Assessment
    differences: tuple[Difference, ...] = ()  # below this region, as in ProductAnswer

    def summary(self) -> str:
        """'Available in Asia Pacific except 2 markets: Australia (Not available), …'."""
        text = f"{self.assessment.verdict.value} in {self.region.name}"
        if self.differences:
            text += differences_text(self.differences, 3)
        return text


@dataclass(frozen=True, slots=True)
class ProductOverview:
    product: SalesProduct
    rows: tuple[RegionRow, ...]

    @property
    def fallback(self) -> str:
        per = "; ".join(r.summary() for r in self.rows)
        return f"{self.product.name} by region: {per}. Name a market for details."


@dataclass(frozen=True, slots=True)
class UnknownMarket:
    """A market the question names that the catalog's region tree does not have: default
    deny, said as such (never the overview as if no market had been asked)."""

    market: str  # as the world calls it ("China", "EU"), or as typed when nobody knows it
    product: SalesProduct | None  # None: a market-only question
    segment: Segment | None = None
    known_elsewhere: bool = True  # False: not even a market the world knows ("narnia")
    others: tuple[str, ...] = ()  # further markets named that the catalog lacks too

    @property
    def ask(self) -> str | None:
        return self.product.ask if self.product else None

    @property
    def fallback(self) -> str:
        if self.product is None:
            return (
                f"I don't know the market “{self.market}”: no rule covers it, so nothing is "
                "recorded as sellable there."
            )
        who = f" for {self.segment.name}" if self.segment else ""
        ask = f" — ask {self.ask}" if self.ask else ""
        names = (self.market, *self.others)
        text = f"{unknown_markets_text(names, self.product.name)}{who}{ask}"
        if not self.known_elsewhere:
            text += f". For its verdict in each region, ask about “{self.product.name}” alone"
        return text


@dataclass(frozen=True, slots=True)
class SegmentList:
    """`/product segments`: the customer segments rules can be about."""

    segments: tuple[Segment, ...]

    @property
    def fallback(self) -> str:
        if not self.segments:
            return "The catalog names no customer segments: every rule is for every customer."
        names = "; ".join(
            s.name + (f" ({', '.join(s.aliases)})" if s.aliases else "") for s in self.segments
        )
        return f"Customer segments: {names}"


@dataclass(frozen=True, slots=True)
class Rival:
    """One of our products that competes with the competitor asked about."""

    option: Option  # with its verdict in the market named, if one was
    difference: str


@dataclass(frozen=True, slots=True)
class Battlecard:
    """`/product vs gizmotron`: our products against a competitor."""

    competitor: str
    region: Region | None
    rivals: tuple[Rival, ...]

    @property
    def fallback(self) -> str:
        where = f" in {self.region.name}" if self.region else ""
        names = ", ".join(r.option.product.name for r in self.rivals)
        return f"Against {self.competitor}{where}: {names}"


@dataclass(frozen=True, slots=True)
class Capability:
    """A question about a trait ("saml australia"): the products that have it."""

    query: str
    region: Region | None
    options: tuple[Option, ...]
    matched: tuple[str, ...]  # the trait or summary line each option was found by
    segment: Segment | None = None  # the customer segment asked about, if one was
    # Every market (those the catalog lacks too) and segment named, when the question
    # named several: each option then shows its most restrictive verdict among them and
    # lists the others, as a list of choices does.
    markets: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """' in Germany', ' in Germany and France for Financial services', or ''."""
        markets = list(self.markets) or ([self.region.name] if self.region else [])
        segments = list(self.segments) or ([self.segment.name] if self.segment else [])
        where = f" in {names_text(markets, 'market')}" if markets else ""
        return where + (f" for {names_text(segments, 'customer segment')}" if segments else "")

    @property
    def hint(self) -> str | None:
        """When an option's line cannot list every other market asked."""
        if any(sum(d.asked for d in o.differences) > OPTION_DIFFERENCES for o in self.options):
            return "Ask about one of them by name for its verdict in every market asked."
        return None

    @property
    def fallback(self) -> str:
        names = ", ".join(o.product.name for o in self.options)
        return f"Products with “{self.query}”{self.where}: {names}"


@dataclass(frozen=True, slots=True)
class NotFound:
    query: str
    region: Region | None
    suggestions: tuple[str, ...] = ()

    @property
    def fallback(self) -> str:
        where = f" (in {self.region.name})" if self.region else ""
        query = self.query if len(self.query) <= 80 else self.query[:79] + "…"
        text = f"No product matches “{query}”{where}."
        if self.suggestions:
            text += " Did you mean: " + ", ".join(self.suggestions) + "?"
        return text


@dataclass(frozen=True, slots=True)
class Help:
    intro: str
    examples: tuple[str, ...]
    commands: tuple[tuple[str, str], ...]  # (usage, description)

    @property
    def fallback(self) -> str:
        return HELP_INTRO + " " + "; ".join(self.examples)


@dataclass(frozen=True, slots=True)
class Notice:
    """A short message with nothing else to show (errors, confirmations). `private`: it
    tells the asker about themselves (their answers, their requests): see is_private."""

    text: str
    private: bool = False

    @property
    def fallback(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class HistoryEntryView:
    at: dt.datetime
    actor: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class History:
    product_name: str
    entries: tuple[HistoryEntryView, ...]
    more: str | None = None  # where the next page is, when there is one

    @property
    def fallback(self) -> str:
        if not self.entries:
            return f"No recorded changes to {self.product_name} yet"
        latest = self.entries[0]
        return (
            f"{self.product_name}: {len(self.entries)} recent changes, latest "
            f"{format_date(latest.at.date())}: {latest.lines[0]}"
        )


@dataclass(frozen=True, slots=True)
class OpenForm:
    """Show this form (a Slack modal, a Teams card); text-only surfaces cannot."""

    spec: FormSpec

    @property
    def fallback(self) -> str:
        return f"{self.spec.title}: this opens a form in Slack or Teams."


Reply = (
    ProductAnswer
    | Ambiguous
    | RegionOverview
    | ProductOverview
    | NotFound
    | UnknownMarket
    | SegmentList
    | Battlecard
    | Capability
    | Help
    | Notice
    | History
    | OpenForm
)
