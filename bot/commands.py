"""One command table for every platform, and the dispatcher from command text to a reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.announcements import CHANGES_COMMAND
from bot.approvals import REQUEST_HINT, ApprovalService
from bot.briefings import BriefingList, BriefingService
from bot.catalog import CatalogService
from bot.demand import TOP_REFUSED, DemandError, DemandReport, DemandService
from bot.editing import ProductEditor
from bot.feedback import FeedbackService, HomeView, feedback_form
from bot.forms import Values
from bot.notices import Notices
from bot.receipts import Receipts
from bot.replies import (
    HELP_EXAMPLES,
    HELP_INTRO,
    Ambiguous,
    Asked,
    Freshness,
    Help,
    History,
    HistoryEntryView,
    NotFound,
    Notice,
    OpenForm,
    ProductAnswer,
    ProductOverview,
    Reply,
    SegmentList,
    UnknownMarket,
)
from bot.reports import CoverageService, PeriodError, Report
from bot.settings import SETTINGS_USAGE, SettingsService, WorkspaceSettings, in_effect
from bot.types import Refused, SalesProduct, UserRef, is_listed
from bot.updates import ProductUpdates

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # the word typed on Teams / in the console; Slack's slash command is "/" + name
    usage_hint: str
    description: str
    on_slack: bool = True  # a Slack slash command (App Home stands in for `home` there)

    @property
    def slash(self) -> str:
        return "/" + self.name


COMMANDS: tuple[Command, ...] = (
    Command(
        "product",
        "[market] [product]  e.g. australia widget pro",
        "Where a product may be sold: verdict for a market, pricing band, traits, docs",
    ),
    Command(
        "briefing",
        "[list]",
        "Log a briefing you gave to a sales team (product managers); list yours",
    ),
    Command(
        "coverage",
        "[csv] [this quarter | last quarter | 2026-Q3 | last 30 days]",
        "Briefings per region against target, PM effort, and feedback turnaround",
    ),
    Command(
        "feedback",
        "[what the client said] | top [product] [region] [this quarter]",
        "Send client feedback to the product team; top: open feedback ranked by revenue at "
        "stake (PMs, management)",
    ),
    Command(
        "salesbridge",
        "settings",
        "This workspace's settings: product managers, channels, targets (admins)",
    ),
    Command(
        "home",
        "",
        "Your feedback and what became of it; for product managers, the open queue",
        on_slack=False,
    ),
)
BY_NAME = {c.name: c for c in COMMANDS}
HELP_WORDS = frozenset({"", "help", "?", "-h", "--help"})


@dataclass(frozen=True, slots=True)
class CoverageCsv:
    """`/coverage csv [period]`: the report as a CSV file, for its audience only. Slack
    uploads it, Teams links to it (or carries it), the console prints it."""

    report: Report

    @property
    def filename(self) -> str:
        return f"coverage-{self.report.period.label.split(' ')[0]}.csv"

    @property
    def fallback(self) -> str:
        n = len(self.report.regions)
        return f"Coverage {self.report.period.label} as CSV: {n} region{'' if n == 1 else 's'}"


# What a command can answer: a reply, a coverage report (or its CSV), or a PM's briefings.
AnyReply = Reply | Report | BriefingList | HomeView | DemandReport | CoverageCsv
# Answers for the asker's eyes only: deal values and clients (the ranked list, home's
# queue), the management report and its CSV, a PM's own briefings, a person's answers and
# requests. Slack shows every command's answer to the asker alone; Teams has no such
# message, so asked in a channel or group chat these go to the asker's personal chat.
PRIVATE_REPLIES = (Report, CoverageCsv, DemandReport, HomeView, BriefingList)


def is_private(reply: AnyReply) -> bool:
    return isinstance(reply, PRIVATE_REPLIES) or (isinstance(reply, Notice) and reply.private)


MAX_TEXT = 500
GONE = "That product is no longer in the catalog."
COVERAGE_REFUSED = "Coverage reports are for product managers and management (MANAGERS)."
VERIFY_REFUSED = "Only product managers can confirm a product is still accurate."
CATALOG_NAME = "the catalog"
DECORATED_KEPT = 4096  # decorated answers kept for reuse (cleared when full)


def help_reply() -> Help:
    return Help(
        HELP_INTRO,
        HELP_EXAMPLES,
        tuple((f"{c.slash} {c.usage_hint}", c.description) for c in COMMANDS),
    )


def split_command(line: str) -> tuple[str, str]:
    """'/product au widget' or 'product au widget' -> ('product', 'au widget')."""
    head, _, rest = line.strip().partition(" ")
    return head.lstrip("/").casefold(), rest.strip()


def parse_line(line: str) -> tuple[str, str]:
    """A typed line (Teams chat, the console): a line starting with "/" or with a command's
    name is that command; any other line is a product question."""
    name, rest = split_command(line)
    if line.lstrip().startswith("/") or name in BY_NAME or name == "help":
        return name, rest
    return "product", line.strip()


class Bot:
    """The use cases behind the command table; handlers call this and render the reply."""

    def __init__(
        self,
        *,
        catalog: CatalogService,
        updates: ProductUpdates | None = None,
        editor: ProductEditor | None = None,
        briefings: BriefingService | None = None,
        coverage: CoverageService | None = None,
        feedback: FeedbackService | None = None,
        product_managers: frozenset[str] = frozenset(),
        managers: frozenset[str] = frozenset(),
        receipts: Receipts | None = None,
        notices: Notices | None = None,
        demand: DemandService | None = None,
        approvals: ApprovalService | None = None,
        settings: SettingsService | None = None,
    ) -> None:
        self.demand = demand
        self.approvals = approvals
        self.receipts = receipts
        self.notices = notices
        self._decorated: dict[
            tuple[int, int, bool], tuple[ProductAnswer, Freshness | None, ProductAnswer]
        ] = {}
        self.settings = settings
        # The environment's; a request's workspace may have its own (bot.settings).
        self._env = WorkspaceSettings(product_managers=product_managers, managers=managers)
        self.feedback = feedback
        self.briefings = briefings
        self.coverage = coverage
        self.catalog = catalog
        self.updates = updates
        self.editor = editor

    @property
    def product_managers(self) -> frozenset[str]:
        return in_effect(self._env).product_managers

    @property
    def managers(self) -> frozenset[str]:
        return in_effect(self._env).managers

    def is_pm(self, user: UserRef, product: SalesProduct | None = None) -> bool:
        owners = [product.owner] if product is not None and product.owner else []
        return is_listed(user, [*self.product_managers, *owners])

    async def verify(self, *, user: UserRef, sku: str) -> str:
        """The "Still accurate" button, on every platform: PMs and the owner only."""
        product = (await self.catalog.view()).by_sku.get(sku[:64])
        if product is None or self.updates is None:
            return GONE
        if not self.is_pm(user, product):
            log.warning("verify attempt refused", extra={"user": user.id, "sku": sku[:64]})
            return VERIFY_REFUSED
        await self.updates.verify(sku=product.sku, user=user)
        return f"Thanks: {product.name} is marked as still accurate today."

    async def handle(self, *, user: UserRef, command: str, text: str) -> AnyReply:
        name = command.lstrip("/").casefold()
        text = text[:MAX_TEXT]  # a question, not a document
        if name == "help" or name not in BY_NAME:
            if name not in BY_NAME and name != "help":
                return Notice(f"I don't know the command “{command}”. Try `/product help`.")
            return help_reply()
        if name == "briefing" and self.briefings is not None:
            return await self._briefing(user, text)
        if name == "coverage" and self.coverage is not None:
            if not is_listed(user, [*self.product_managers, *self.managers]):
                return Notice(COVERAGE_REFUSED)
            head, _, rest = text.strip().partition(" ")
            as_csv = head.casefold() == "csv"
            try:
                report = await self.coverage.report(rest.strip() if as_csv else text)
            except PeriodError as exc:
                return Notice(str(exc))
            return CoverageCsv(report) if as_csv else report
        if name == "feedback" and self.demand is not None:
            head, _, rest = text.strip().partition(" ")
            # "/feedback top bank wants SSO" is feedback; only filters make the list.
            if head.casefold() == "top" and await self.demand.is_filter(rest):
                return await self._top(user, rest)
        if name == "salesbridge":
            return await self._settings(user, text)
        if name == "feedback":
            values: Values = {"details": text[:3000] or None}
            if self.feedback is not None:
                return OpenForm(await self.feedback.form(values=values))
            return OpenForm(feedback_form(values=values))
        if name == "home":
            if self.feedback is None:
                return help_reply()
            return await self.feedback.home(user)
        if text.strip().casefold() in HELP_WORDS:
            return help_reply()
        words = text.split()
        head = words[0].casefold()
        if head == "segments" and len(words) == 1:
            view = await self.catalog.view()
            return SegmentList(tuple(view.catalog.segments.values()))
        if [w.casefold() for w in words] == ["my", "answers"] and self.receipts is not None:
            requests = await self.approvals.mine(user) if self.approvals is not None else None
            answers = await self.receipts.mine(user)
            return Notice(answers + (f"\n\n{requests}" if requests else ""), private=True)
        if head == "request" and self.approvals is not None:
            return await self._request(" ".join(words[1:]))
        if head == "notices" and self.notices is not None:
            return await self._notices(user, words[1:])
        if head == "edit" and self.editor is not None:
            return await self._edit(user, " ".join(words[1:]))
        if self.updates is not None:
            if head == "changes":
                return await self._changes(" ".join(words[1:]))
            if head in ("subscribe", "unsubscribe", "subscriptions"):
                return await self._subscriptions(user, head, " ".join(words[1:]))
            if len(words) > 1 and words[-1].casefold() == "history":
                return await self._history(" ".join(words[:-1]))
        reply = await self.catalog.lookup(text)
        if isinstance(reply, ProductAnswer) and reply.unknown and self.updates is not None:
            for market in reply.unknown:  # a gap, as when asked alone (a press is not)
                await self.updates.record_unknown_market(product=reply.product.name, market=market)
        return await self._decorate(user, reply)

    async def _top(self, user: UserRef, text: str) -> AnyReply:
        """`/feedback top …`: for product managers and management only."""
        assert self.demand is not None
        if not is_listed(user, [*self.product_managers, *self.managers]):
            log.warning("ranked list refused", extra={"user": user.id})
            return Notice(TOP_REFUSED)
        try:
            return await self.demand.top(text)
        except (DemandError, PeriodError) as exc:
            return Notice(str(exc))

    async def _decorate(self, user: UserRef, reply: Reply) -> Reply:
        """A receipt for each verdict an answer gives (each market and segment of a
        question naming several), freshness and the asker's approval on every answer;
        misses counted for the weekly gap list."""
        if self.receipts is not None and isinstance(reply, ProductAnswer):
            self.receipts.record(user, reply, self.catalog.version_seen)
        held = None  # the asker's own approval, put on last: the shared objects stay shared
        if isinstance(reply, ProductAnswer) and reply.restricted and self.approvals is not None:
            held = await self.approvals.holds(user, reply)
        if isinstance(reply, ProductAnswer) and (held is not None or self.updates is not None):
            out = reply
            if self.updates is not None:
                verified = await self.updates.freshness(reply.product.sku)
                can_verify = self.is_pm(user, reply.product)
                if (verified, can_verify) != (reply.verified, reply.can_verify):
                    out = self._with_freshness(reply, verified, can_verify)
            # Without an approval, the shared answer object as it is: renderers memoise on it.
            return out if held is None else out.with_approval(held)
        if self.updates is None:
            return reply
        if isinstance(reply, NotFound):
            await self.updates.record_miss(
                query=reply.query, region_code=reply.region.code if reply.region else None
            )
        if isinstance(reply, UnknownMarket):
            for market in (reply.market, *reply.others):
                await self.updates.record_unknown_market(
                    product=reply.product.name if reply.product else None, market=market
                )
        if isinstance(reply, Ambiguous) and reply.unknown is not None:
            await self.updates.record_unknown_market(product=reply.query, market=reply.unknown)
        return reply

    def _with_freshness(
        self, reply: ProductAnswer, verified: Freshness | None, can_verify: bool
    ) -> ProductAnswer:
        """The answer as decorated for an asker, one object per (answer, freshness, role)
        while they last, so that a renderer's memo holds for it as for the answer itself.
        Keyed by identity: the entry keeps both alive, so their ids are not reused."""
        key = (id(reply), id(verified), can_verify)
        hit = self._decorated.get(key)
        if hit is not None and hit[0] is reply and hit[1] is verified:
            return hit[2]
        if len(self._decorated) >= DECORATED_KEPT:
            self._decorated.clear()
        out = reply.with_freshness(verified, can_verify)
        self._decorated[key] = (reply, verified, out)
        return out

    async def _request(self, text: str) -> Reply:
        """`/product request japan widget pro`: the approval form for that Restricted answer."""
        assert self.approvals is not None
        if not text.strip():
            return Notice(REQUEST_HINT)
        reply = await self.catalog.lookup(text)
        if not isinstance(reply, ProductAnswer):
            return (
                reply
                if isinstance(reply, Ambiguous | NotFound | UnknownMarket)
                else Notice(REQUEST_HINT)
            )
        form = await self.approvals.form(reply.key)
        return Notice(form.message) if isinstance(form, Refused) else OpenForm(form)

    async def _settings(self, user: UserRef, text: str) -> Reply:
        """`/salesbridge settings`: the workspace's settings form, for its admins."""
        if text.strip().casefold() != "settings" or self.settings is None:
            return Notice(SETTINGS_USAGE)
        form = await self.settings.form(user)
        return Notice(form.message) if isinstance(form, Refused) else OpenForm(form)

    async def _notices(self, user: UserRef, rest: list[str]) -> Reply:
        """`/product notices off` / `on`: DMs when an answer this person was given changes."""
        assert self.notices is not None
        verb = rest[0].casefold() if len(rest) == 1 else ""
        if verb in ("on", "off"):
            return Notice(await self.notices.set_notices(user, on=verb == "on"))
        return Notice(await self.notices.status(user))

    async def _one_product(self, text: str) -> SalesProduct | Reply:
        """Exactly one product for `text`, or the reply that explains why not."""
        reply = await self.catalog.lookup(text)
        if isinstance(reply, ProductOverview):
            return reply.product
        if isinstance(reply, ProductAnswer):
            return reply.product
        if isinstance(reply, Ambiguous | NotFound):
            return reply
        return Notice("Name one product, e.g. `/product subscribe widget pro`.")

    async def _subscriptions(self, user: UserRef, verb: str, rest: str) -> Reply:
        assert self.updates is not None
        if verb == "subscriptions" or not rest:
            skus = await self.updates.subscriptions(user=user)
            view = await self.catalog.view()
            names = [view.by_sku[s].name for s in skus if s in view.by_sku]
            if not names:
                return Notice(
                    "You follow no products. `/product subscribe widget pro` "
                    "sends you a DM whenever it changes."
                )
            return Notice("You follow: " + ", ".join(names))
        got = await self._one_product(rest)
        if not isinstance(got, SalesProduct):
            return got
        if verb == "subscribe":
            new = await self.updates.subscribe(user=user, sku=got.sku)
            return Notice(
                f"You'll get a DM when {got.name} changes."
                if new
                else f"You already follow {got.name}."
            )
        gone = await self.updates.unsubscribe(user=user, sku=got.sku)
        return Notice(
            f"You no longer follow {got.name}." if gone else f"You were not following {got.name}."
        )

    async def _edit(self, user: UserRef, text: str) -> Reply:
        assert self.editor is not None
        got = await self._one_product(text)
        if not isinstance(got, SalesProduct):
            return got
        form = await self.editor.form(user=user, sku=got.sku)
        return Notice(form.message) if isinstance(form, Refused) else OpenForm(form)

    async def _history(self, text: str) -> Reply:
        assert self.updates is not None
        got = await self._one_product(text)
        if not isinstance(got, SalesProduct):
            return got
        entries = await self.updates.history(got.sku)
        return History(got.name, tuple(HistoryEntryView(e.at, e.actor, e.lines) for e in entries))

    async def _changes(self, text: str) -> Reply:
        """`/product changes [page]`: every change sales were told about, newest first."""
        assert self.updates is not None
        page = int(text) if text.isdigit() and 0 < int(text) < 100_000 else 1
        entries, more = await self.updates.recent(page=page)
        return History(
            CATALOG_NAME,
            tuple(HistoryEntryView(e.at, e.actor, e.lines) for e in entries),
            f"More: `{CHANGES_COMMAND} {page + 1}`" if more else None,
        )

    async def _briefing(self, user: UserRef, text: str) -> AnyReply:
        assert self.briefings is not None
        if text.strip().casefold() == "list":
            return await self.briefings.listing(user)
        form = await self.briefings.form(user=user)
        return Notice(form.message) if isinstance(form, Refused) else OpenForm(form)

    async def handle_line(self, *, user: UserRef, line: str) -> AnyReply:
        """A whole typed line (console, Teams chat): see parse_line."""
        name, rest = parse_line(line)
        return await self.handle(user=user, command=name, text=rest)

    async def answer_again(
        self,
        *,
        user: UserRef,
        sku: str,
        region_code: str = "",
        segment: str | None = None,
        shared: bool = False,
        asked: Asked | None = None,
    ) -> ProductAnswer | UnknownMarket | None:
        """The answer a press names, as its asker saw it (with its freshness): one market
        and segment, or every one a question `asked` about. Shared, it keeps no button
        that only the asker's role allowed."""
        reply: ProductAnswer | UnknownMarket | None
        if asked is not None:
            reply = await self.catalog.answer_asked(sku=sku, asked=asked)
        else:
            reply = await self.catalog.answer_for(
                sku=sku, region_code=region_code, segment_code=segment
            )
        if reply is None:
            return None
        if isinstance(reply, UnknownMarket):
            return reply  # no freshness nor press: every market named has left the catalog
        decorated = await self._decorate(user, reply)
        assert isinstance(decorated, ProductAnswer)
        if not shared:
            return decorated
        # A shared copy is everyone's: no press only the asker may use, no approval of theirs.
        return decorated.with_freshness(decorated.verified, False).with_approval(None)
