"""What the bot wants shown, as plain values; renderers decide how it looks.

Every reply knows its one-line plain-text fallback (it names the product, the market and
exactly one verdict: README "What `/product` answers"), so the copy is written once here for
every platform.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.forms import FormSpec
from bot.types import PricingBand, Region, SalesProduct, Verdict

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
    "/product widget pro history",
    "/product edit widget pro  (product managers)",
    "/product subscribe widget pro  (unsubscribe, subscriptions)",
)
SHARE_LABEL = "Share in channel"
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

    def detail(self) -> str:
        parts = []
        if self.reason:
            parts.append(self.reason)
        if self.from_date:
            parts.append(f"from {format_date(self.from_date)}")
        return ", ".join(parts)

    def phrase(self, region: Region) -> str:
        """'Not available in Australia — Not licensed'."""
        detail = self.detail()
        return f"{self.verdict.value} in {region.name}" + (f" — {detail}" if detail else "")


@dataclass(frozen=True, slots=True)
class Option:
    """A product with its verdict in the region asked about (None when no region was named)."""

    product: SalesProduct
    assessment: Assessment | None


@dataclass(frozen=True, slots=True)
class ProductAnswer:
    product: SalesProduct
    region: Region
    assessment: Assessment
    alternatives: tuple[Option, ...] = ()
    verified: tuple[dt.datetime, str] | None = None  # when, and by whom
    can_verify: bool = False  # the asker may press "Still accurate"

    def with_freshness(
        self, verified: tuple[dt.datetime, str] | None, can_verify: bool
    ) -> ProductAnswer:
        """This answer as shown to one asker (dataclasses.replace costs ~4× more, on every
        lookup)."""
        return ProductAnswer(
            self.product, self.region, self.assessment, self.alternatives, verified, can_verify
        )

    @property
    def verified_text(self) -> str:
        if self.verified is None:
            return "Not verified yet"
        at, by = self.verified
        return f"Last verified {format_date(at.date())} by {by}"

    @property
    def fallback(self) -> str:
        return f"{self.product.name}: {self.assessment.phrase(self.region)}"


@dataclass(frozen=True, slots=True)
class Ambiguous:
    query: str
    region: Region | None
    options: tuple[Option, ...]
    total: int = 0  # products that match as well; more than the options when the list is cut

    @property
    def cut(self) -> bool:
        return self.total > len(self.options)

    @property
    def count_text(self) -> str:
        """ "3 products", or "8 of 40 products" when only the first are listed."""
        n = len(self.options)
        return f"{n} of {self.total} products" if self.cut else f"{n} products"

    @property
    def hint(self) -> str:
        if self.cut:
            return "Add a word or two, or the SKU, to narrow it down."
        return "Add a word or two to pick one, e.g. the full product name."

    @property
    def fallback(self) -> str:
        where = f" in {self.region.name}" if self.region else ""
        names = ", ".join(o.product.name for o in self.options)
        ask = self.hint if self.cut else "Which one?"
        return f"{self.count_text} match “{self.query}”{where}: {names}. {ask}"


@dataclass(frozen=True, slots=True)
class RegionOverview:
    region: Region
    sellable: tuple[Option, ...]
    total_sellable: int

    @property
    def fallback(self) -> str:
        if not self.total_sellable:
            return f"Nothing is recorded as sellable in {self.region.name}"
        return f"{self.total_sellable} products are sellable in {self.region.name}"


@dataclass(frozen=True, slots=True)
class RegionRow:
    region: Region
    assessment: Assessment


@dataclass(frozen=True, slots=True)
class ProductOverview:
    product: SalesProduct
    rows: tuple[RegionRow, ...]

    @property
    def fallback(self) -> str:
        per = "; ".join(f"{r.assessment.verdict.value} in {r.region.name}" for r in self.rows)
        return f"{self.product.name} by region: {per}. Name a market for details."


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
    """A short message with nothing else to show (errors, confirmations)."""

    text: str

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
    | Help
    | Notice
    | History
    | OpenForm
)
