"""Client feedback: the form, validation, duplicates, and the triage state machine."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot import clusters, matching, workspace
from bot.catalog import CatalogService, CatalogView
from bot.clusters import Cluster, MergedAll
from bot.demand import DemandQuery, DemandReader, Rates, at_stake_text, clients_text
from bot.forms import Choice, Errors, FieldKind, FormField, FormSpec, Values, is_number
from bot.ids import ActionId, Dataset, FormId
from bot.items import (
    KIND_LABEL,
    OPEN,
    STATUS_LABEL,
    URGENCY_LABEL,
    Draft,
    Item,
    Kind,
    SimilarLink,
    Status,
    Transition,
    Urgency,
    Waiting,
)
from bot.payloads import Decision, Digest, Triage, TriageReason
from bot.ports import Clock, FeedbackRepository, Lane, Notification, PeopleStore, TargetClosed
from bot.search import region_label
from bot.settings import current
from bot.types import Refused, Segment, UserRef, Why, is_listed

# new -> now | later | declined | merged; now|later -> actioned; any open -> declined.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NOW: frozenset({Status.NEW}),
    Status.LATER: frozenset({Status.NEW}),
    Status.MERGED: frozenset({Status.NEW}),
    Status.ACTIONED: frozenset({Status.NOW, Status.LATER}),
    Status.DECLINED: OPEN,
}


class Action(enum.StrEnum):
    """The triage decisions; their ids are bot.ids.ActionId's TRIAGE_* presses."""

    NOW = ActionId.TRIAGE_NOW.value
    LATER = ActionId.TRIAGE_LATER.value
    DECLINE = ActionId.TRIAGE_DECLINE.value
    MERGE = ActionId.TRIAGE_MERGE.value
    ACTIONED = ActionId.TRIAGE_ACTIONED.value


ACTION_STATUS = {
    Action.NOW: Status.NOW,
    Action.LATER: Status.LATER,
    Action.DECLINE: Status.DECLINED,
    Action.MERGE: Status.MERGED,
    Action.ACTIONED: Status.ACTIONED,
}
ACTION_LABEL = {
    Action.NOW: "Act now",
    Action.LATER: "Later",
    Action.DECLINE: "Decline…",
    Action.MERGE: "Merge into…",
    Action.ACTIONED: "Mark actioned",
}
# Actions whose click first asks the PM for a note (to merge, the target item; to mark it
# actioned, what shipped, all optional).
ASKS_FOR_NOTE = frozenset({Action.DECLINE, Action.MERGE, Action.ACTIONED})
MAX_SHIPPED = 300  # what shipped, in a line

NO_PRODUCT = "-"  # the picker's "not product-specific" choice
NO_PRODUCT_LABEL = "Not product-specific"
SIMILAR_THRESHOLD = 70.0
SIMILAR_SHOWN = 3  # similar open items a form or a card lists
SIMILAR_KEPT = 5  # kept per item, so the card still has some when one of them closes
MERGE_TARGETS = 50  # choices in the "Merge into" picker
MAX_TEXT = 3000
MAX_DEAL = 10**11  # past this a figure is a typo (a zero too many), not a deal
CURRENCIES = ("USD", "EUR", "GBP", "AUD", "JPY", "CAD", "SGD", "INR", "BRL")
_URL = re.compile(r"^https?://[^\s<>|]+$")

# Currency signs, and codes of currencies (ours and other common ones) typed with a figure.
_CODES = "|".join((*CURRENCIES, "CHF", "CNY", "HKD", "NZD", "SEK", "NOK", "DKK", "MXN", "ZAR"))
_DEAL_SIGNS = re.compile(rf"[$€£¥₹]|(?<![A-Za-z])(?:{_CODES})(?![A-Za-z])", re.IGNORECASE)
_DEAL_SHORT = re.compile(r"(\d+(?:\.\d+)?)([kmb])", re.IGNORECASE)
_DEAL_SHORT_FACTOR = {"k": 10**3, "m": 10**6, "b": 10**9}
DEAL_EXAMPLE = "like 250000"

# Copy, written once for every platform.
FORM_TITLE = "Send to product team"
FORM_SUBMIT = "Send"
DECLINE_NEEDS_NOTE = "Add a note to the submitter to decline: they will read it."
SHIPPED_LINK_BAD = "A web address starting with https://"


def no_longer_open(item_id: int) -> str:
    return f"#{item_id} is no longer open; send your feedback as new instead."


def target_closed(target_id: int, target: Item | None) -> str:
    """A merge that lost a race to its target's own merge or close."""
    if target is None:
        became = "is gone"
    elif target.status is Status.MERGED and target.merged_into:
        became = f"was just merged into #{target.merged_into}"
    else:
        became = f"was just marked {STATUS_LABEL[target.status]}"
    return f"#{target_id} {became}, so nothing was merged. Pick an open item to merge into."


NOT_A_PM = (
    "Only product managers can decide on feedback. The product managers listed for this "
    "workspace, or the product's owner, will take it from here."
)
SIMILAR_INTRO = "Product already has open feedback like this. Add your client to one of them?"
SIMILAR_NEW = "No, send it as new feedback"


def confirmation(result: Submitted | Supported) -> str:
    """What the submitter sees once the form is in (the same on every platform)."""
    item = result.item
    head = (
        f"Your client is now on #{item.id}"
        if isinstance(result, Supported)
        else f"Thanks. Product has it as #{item.id}"
    )
    tail = f" {at_stake_text(item)}." if isinstance(result, Supported) else ""
    return f"{head}: {item.title}.{tail} You'll get a message from me when a PM decides."


def decision_sentence(status: Status, merged_into: int | None = None) -> str:
    return {
        Status.NOW: "Product will act on it now",
        Status.LATER: "Product will act on it later",
        Status.DECLINED: "Product declined it",
        Status.MERGED: f"It was merged into #{merged_into}, which carries on in its place",
        Status.ACTIONED: "Product has actioned it",
        Status.NEW: "It is waiting for a decision",
    }[status]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Invalid:
    errors: Errors


@dataclass(frozen=True, slots=True)
class SimilarFound:
    """Open items like the new one: ask the submitter before creating a duplicate."""

    draft: Draft
    similar: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Submitted:
    item: Item
    similar: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Supported:
    item: Item


@dataclass(frozen=True, slots=True)
class Decided:
    item: Item
    transition: Transition


@dataclass(frozen=True, slots=True)
class AlreadyDecided:
    """Somebody else (or the same double click) got there first."""

    item: Item

    @property
    def message(self) -> str:
        return self.message_for(lambda user: user.id)

    def message_for(self, mention: Callable[[UserRef], str]) -> str:
        """`mention` renders the decider (a Slack mention, a plain name on Teams)."""
        who = mention(self.item.decided_by) if self.item.decided_by else "someone"
        when = self.item.decided_at.strftime("%d %b %H:%M UTC") if self.item.decided_at else ""
        return (
            f"#{self.item.id} was already decided: {STATUS_LABEL[self.item.status]} "
            f"by {who} {when}".rstrip()
            + "."
        )


@dataclass(frozen=True, slots=True)
class Settings:
    product_managers: frozenset[str] = frozenset()
    triage_channel: str | None = None
    stale_after_days: int = 3


@dataclass(frozen=True, slots=True)
class TriageView:
    """An item as product managers see it on its triage card, and what they may do."""

    item: Item
    similar: tuple[Item, ...] = ()
    region_name: str | None = None
    reminder: bool = False  # raised again: still waiting for a decision
    problem: AlreadyDecided | Refused | None = None  # told to the PM who just pressed
    # Display names of the people on the card: someone from the other platform can be
    # named, not mentioned (their id means nothing there).
    names: Mapping[UserRef, str] = field(default_factory=dict)
    segment_name: str | None = None  # the customer segment the feedback is about
    cluster: Cluster | None = None  # the open items about the same need, if any

    @property
    def allowed(self) -> tuple[Action, ...]:
        return tuple(a for a in Action if self.item.status in TRANSITIONS[ACTION_STATUS[a]])

    @property
    def fallback(self) -> str:
        item = self.item
        return f"Feedback #{item.id}: {item.title} ({STATUS_LABEL[item.status]})"


NOTE_FIELD = FormField(
    "note",
    "Note to the submitter (needed to decline)",
    FieldKind.MULTILINE,
    required=False,
    max_length=1000,
    placeholder="Why, and what happens next",
)


MINE_PAGE = 20  # of my feedback, newest first, on one page of the home view
QUEUE_PAGE = 10  # of the items waiting longest for a decision (Slack: 100 blocks a view)
MORE_LABEL = "More"


def shown_text(page: int, size: int, shown: int, total: int) -> str:
    """Which of how many a page shows, when it does not show them all."""
    if total <= shown and page == 1:
        return ""
    first = (page - 1) * size + 1
    return f"{first}–{first + shown - 1} of {total}" if shown else f"none beyond {total}"


@dataclass(frozen=True, slots=True)
class HomeView:
    """One page of my feedback with its statuses; for product managers, one page of the
    items waiting longest for a decision and the open queue's counts."""

    mine: tuple[Item, ...]  # newest first
    # Waiting for a decision: most revenue at stake first (bot.demand), else longest waiting.
    queue: tuple[Item, ...] | None = None
    mine_total: int = 0
    counts: Mapping[Status, int] = field(default_factory=dict)  # open items per status
    page: int = 1
    answers: str | None = None  # the person's recent answers (bot.receipts.Receipts.mine)
    approvals: str | None = None  # their approval requests (bot.approvals.ApprovalService.mine)

    @property
    def waiting(self) -> int:
        return self.counts.get(Status.NEW, 0)

    @property
    def mine_shown(self) -> str:
        """ "21–40 of 130" when the page is not all of it, else ""."""
        return shown_text(self.page, MINE_PAGE, len(self.mine), self.mine_total)

    @property
    def queue_shown(self) -> str:
        if self.queue is None:
            return ""
        return shown_text(self.page, QUEUE_PAGE, len(self.queue), self.waiting)

    @property
    def more(self) -> bool:
        """Whether a next page holds anything."""
        beyond_mine = self.page * MINE_PAGE < self.mine_total
        return beyond_mine or (self.queue is not None and self.page * QUEUE_PAGE < self.waiting)

    @property
    def fallback(self) -> str:
        total = max(self.mine_total, len(self.mine))
        head = f"Your feedback: {total} item{'' if total == 1 else 's'}"
        if self.queue is not None:
            head += (
                f"; open queue: {sum(self.counts.values())} ({self.waiting} waiting for a decision)"
            )
        return head


SubmitResult = Invalid | SimilarFound | Submitted | Supported
DecideResult = Decided | AlreadyDecided | Refused


# --------------------------------------------------------------------------- the form


def feedback_form(
    *,
    values: Values | None = None,
    permalink: str | None = None,
    product_label: str | None = None,
    region_label: str | None = None,
    similar: Sequence[Item] = (),
    segments: Sequence[Segment] = (),
) -> FormSpec:
    """The feedback form, prefilled with `values`; with `similar`, it first asks whether
    to add the client to one of those open items instead of sending a duplicate. With the
    catalog's `segments`, it asks which kind of customer it is about (optional)."""
    v = values or {}
    state = {"permalink": permalink} if permalink else {}
    fields: list[FormField] = []
    if similar:
        fields.append(
            FormField(
                "duplicate_of",
                "Similar open feedback",
                FieldKind.RADIO,
                initial="new",
                choices=(
                    *(
                        Choice(str(i.id), f"+1 with my client: #{i.id} {i.title}"[:150])
                        for i in similar
                    ),
                    Choice("new", SIMILAR_NEW),
                ),
            )
        )
    fields += [
        FormField(
            "product",
            "Product",
            FieldKind.SEARCH,
            dataset=Dataset.PRODUCT,
            initial=v.get("product"),
            initial_label=product_label,
            placeholder="Type a product name (or “not product-specific”)",
        ),
        FormField(
            "kind",
            "Kind",
            FieldKind.SELECT,
            initial=v.get("kind"),
            choices=tuple(Choice(k.value, t) for k, t in KIND_LABEL.items()),
        ),
        FormField(
            "client",
            "Client / account",
            FieldKind.TEXT,
            initial=v.get("client"),
            max_length=200,
            placeholder="e.g. Acme Corp",
        ),
        FormField(
            "region",
            "Region",
            FieldKind.SEARCH,  # searched: a catalog may have hundreds of regions
            required=False,
            dataset=Dataset.REGIONS,
            initial=v.get("region"),
            initial_label=region_label,
            placeholder="Type a region, e.g. Australia",
        ),
        *(
            (
                FormField(
                    "segment",
                    "Customer segment",
                    FieldKind.SELECT,
                    required=False,
                    initial=v.get("segment"),
                    # Slack's static menus take 100 options; catalogs name a handful.
                    choices=tuple(Choice(s.code, s.name[:75]) for s in segments[:100]),
                    hint="Optional: the kind of customer, e.g. public sector or banks",
                ),
            )
            if segments
            else ()
        ),
        FormField(
            "deal_value",
            "Deal value at stake",
            # Text, not NUMBER: what people type ("$250k") is checked by parse_deal, whose
            # message says what to fix, on every platform alike.
            FieldKind.TEXT,
            required=False,
            max_length=40,
            initial=v.get("deal_value"),
            hint="Optional. The whole amount in digits, e.g. 250000 (the currency below)",
        ),
        FormField(
            "currency",
            "Currency",
            FieldKind.SELECT,
            required=False,
            choices=tuple(Choice(c, c) for c in CURRENCIES),
            initial=v.get("currency") or "USD",
        ),
        FormField(
            "urgency",
            "Urgency",
            FieldKind.SELECT,
            initial=v.get("urgency") or Urgency.NORMAL.value,
            choices=tuple(Choice(u.value, t) for u, t in URGENCY_LABEL.items()),
        ),
        FormField(
            "details",
            "Details",
            FieldKind.MULTILINE,
            initial=v.get("details"),
            max_length=MAX_TEXT,
            placeholder="What did they say, and why does it matter?",
        ),
        FormField(
            "link",
            "Link",
            FieldKind.URL,
            required=False,
            initial=v.get("link"),
            hint="Optional: CRM opportunity or a document",
        ),
    ]
    return FormSpec(
        id=FormId.FEEDBACK,
        title=FORM_TITLE,
        submit=FORM_SUBMIT,
        intro=SIMILAR_INTRO
        if similar
        else "What did the client say? Product managers see this with its context.",
        state=state,
        fields=tuple(fields),
    )


def note_form(action: Action, item: Item, merge_targets: Sequence[Item] = ()) -> FormSpec:
    fields: list[FormField] = []
    if action is Action.MERGE:
        fields.append(
            FormField(
                "target",
                "Merge into",
                FieldKind.SELECT,
                choices=tuple(Choice(str(t.id), f"#{t.id} {t.title}"[:75]) for t in merge_targets),
            )
        )
    if action is Action.ACTIONED:
        fields += [
            FormField(
                "shipped",
                "What shipped",
                FieldKind.TEXT,
                required=False,
                max_length=MAX_SHIPPED,
                placeholder="e.g. SSO with Okta, in release 4.2",
                hint="Optional: everyone who asked for it reads this",
            ),
            FormField(
                "shipped_link",
                "Link",
                FieldKind.URL,
                required=False,
                hint="Optional: release notes or documentation (https://…)",
            ),
        ]
    fields.append(
        FormField(
            "note",
            "Note to the submitter",
            FieldKind.MULTILINE,
            required=action is Action.DECLINE,
            max_length=1000,
            placeholder="Why, and what happens next",
            initial=None,
        )
    )
    return FormSpec(
        id=FormId.NOTE,
        title=ACTION_LABEL[action].rstrip("…")[:24],
        submit=ACTION_LABEL[action].rstrip("…")[:24],
        intro=f"#{item.id} {item.title}",
        state={"item": str(item.id), "action": action.value},
        fields=tuple(fields),
    )


def parse_deal(text: str) -> int | str | None:
    """A deal value as typed: the whole amount (thousands separated by commas, spaces or
    underscores, or not at all), None when empty, else what to fix (said to the user)."""
    raw = text.replace("\u00a0", " ").strip()
    if not raw:
        return None
    compact = re.sub(r"[\s,_']", "", raw)
    sign = _DEAL_SIGNS.search(raw)
    if sign is not None:
        return (
            f"Leave out “{sign.group(0)}”: pick the currency under Currency and write the "
            f"amount in digits, {DEAL_EXAMPLE}."
        )
    short = _DEAL_SHORT.fullmatch(compact.lstrip("+-"))
    if short is not None:
        whole = float(short.group(1)) * _DEAL_SHORT_FACTOR[short.group(2).casefold()]
        return f"Write the whole amount in digits: {int(whole)} for {raw}."
    if compact.startswith("-") or (compact.startswith("(") and compact.endswith(")")):
        return "A deal value is positive; leave it empty if there is none."
    if "." in compact:
        return f"A whole amount without a decimal point, {DEAL_EXAMPLE}."
    if not is_number(compact):
        return f"A whole amount in digits, {DEAL_EXAMPLE}."
    value = int(compact)
    if value == 0:
        return "Leave it empty if there is no deal value yet."
    if value >= MAX_DEAL:
        return f"That is more than any one deal (at most {MAX_DEAL - 1:,}): check the zeros."
    return value


def _clean(text: str | None) -> str:
    # Control characters never belong in chat text; newlines and tabs do.
    return "".join(ch for ch in (text or "") if ch in "\n\t" or ch >= " ").strip()


# --------------------------------------------------------------------------- use cases


class FeedbackService:
    def __init__(
        self,
        *,
        repo: FeedbackRepository,
        catalog: CatalogService,
        clock: Clock,
        settings: Settings,
        people: PeopleStore | None = None,
        demand: DemandReader | None = None,
        rates: Rates | None = None,
    ) -> None:
        # With `demand`, the queue is ranked by revenue at stake (bot.demand), converted
        # with `rates`; without, the longest waiting come first.
        self._demand = demand
        self._rates = rates or Rates()
        self._repo = repo
        self._catalog = catalog
        self._clock = clock
        self.settings = settings
        self._people = people

    async def remember_name(self, user: UserRef, name: str) -> None:
        """Someone's display name, as their own press or message showed it."""
        if self._people is not None and name:
            await self._people.remember(user, name)

    # -- capture

    async def product_choices(self, query: str, *, limit: int = 20) -> list[Choice]:
        """Options for the product picker, from the same matcher as /product."""
        view = await self._catalog.view()
        out = []
        q = query.strip()
        if q:
            for m in view.products.search(q, limit=limit):
                if m.score >= matching.SUGGEST_THRESHOLD:
                    p = view.catalog.products[m.key]
                    out.append(Choice(p.sku, f"{p.name} ({p.sku})"[:75]))
        else:
            out = [Choice(p.sku, f"{p.name} ({p.sku})"[:75]) for p in view.catalog.products[:limit]]
        out.append(Choice(NO_PRODUCT, NO_PRODUCT_LABEL))
        return out

    async def validate(self, values: Values, *, permalink: str | None = None) -> Draft | Invalid:
        errors: Errors = {}
        view = await self._catalog.view()
        sku = (values.get("product") or "").strip()
        product = None
        if not sku:
            errors["product"] = "Pick a product, or “Not product-specific”."
        elif sku != NO_PRODUCT:
            product = view.by_sku.get(sku)
            if product is None:
                errors["product"] = "That product is no longer in the catalog; pick another."
        try:
            kind = Kind(values.get("kind") or "")
        except ValueError:
            errors["kind"] = "Pick what kind of feedback this is."
            kind = Kind.CLIENT_VIEW
        try:
            urgency = Urgency(values.get("urgency") or Urgency.NORMAL.value)
        except ValueError:
            errors["urgency"] = "Pick an urgency."
            urgency = Urgency.NORMAL
        client = _clean(values.get("client"))
        if not client:
            errors["client"] = "Which client or account said this?"
        elif len(client) > 200:
            errors["client"] = "Keep the client name under 200 characters."
        details = _clean(values.get("details"))
        if len(details) < 10:
            errors["details"] = "Tell product a little more (at least 10 characters)."
        elif len(details) > MAX_TEXT:
            errors["details"] = f"Keep it under {MAX_TEXT} characters; link a document for more."
        region_code = None
        region_text = _clean(values.get("region"))
        if region_text in view.catalog.regions:  # picked from the region search
            region_code = region_text
        elif region_text:  # typed (a client that sends the text)
            hits = view.regions.find(matching.tokens_of(region_text))
            whole = len(matching.tokens_of(region_text))
            # A market the catalog lacks (bot.markets) is no region to file feedback under.
            if hits and hits[0].known and hits[0].end - hits[0].start == whole:
                region_code = hits[0].code
            else:
                errors["region"] = f"I don't know the region “{region_text[:40]}”."
        segment_code = None
        segment_text = _clean(values.get("segment"))
        if segment_text:
            segment = view.catalog.segments.get(segment_text)
            if segment is None:  # typed (the console) rather than picked
                hits = view.segments.find(matching.tokens_of(segment_text)) if view.segments else []
                whole = len(matching.tokens_of(segment_text))
                if hits and hits[0].known and hits[0].end - hits[0].start == whole:
                    segment = view.catalog.segments.get(hits[0].code)
            if segment is None:
                errors["segment"] = "Pick a customer segment from the list, or leave it empty."
            else:
                segment_code = segment.code
        deal = parse_deal(_clean(values.get("deal_value")))
        deal_value = deal if isinstance(deal, int) else None
        if isinstance(deal, str):
            errors["deal_value"] = deal
        currency = _clean(values.get("currency")).upper() or None
        if currency and currency not in CURRENCIES:
            errors["currency"] = (
                f"I don't take “{currency[:12]}”: pick one of {', '.join(CURRENCIES)}."
            )
        link = _clean(values.get("link")) or None
        if link and (not _URL.match(link) or len(link) > 1000):
            errors["link"] = "A web address starting with https://"
        if errors:
            return Invalid(errors)
        return Draft(
            product_sku=product.sku if product else None,
            product_name=product.name if product else None,
            kind=kind,
            client=client,
            region_code=region_code,
            deal_value=deal_value,
            deal_currency=(currency or "USD") if deal_value else None,
            urgency=urgency,
            details=details,
            link=link,
            # The message it came from: carried by the form (a Teams card's data can be
            # forged), so kept only when it is a plain web address like `link`.
            permalink=permalink
            if permalink and _URL.match(permalink) and len(permalink) <= 1000
            else None,
            segment_code=segment_code,
        )

    async def similar_open(self, draft: Draft, *, exclude: int | None = None) -> list[Item]:
        """Open items about the same product (any open item, for feedback that is not
        product-specific) with similar text, most similar first. Only the candidates the
        store finds through its word index are scored, never every open item."""
        links = await self._similar_links(draft, exclude=exclude)
        return await self._repo.items_by_ids(ids=[s.item_id for s in links[:SIMILAR_SHOWN]])

    async def _similar_links(
        self, draft: Draft, *, exclude: int | None = None
    ) -> list[SimilarLink]:
        text = f"{draft.title} {draft.details}"
        candidates = await self._repo.similar_candidates(
            tokens=matching.similarity_tokens(text), product_sku=draft.product_sku, exclude=exclude
        )
        scored = matching.similar_scores(text, [c.text for c in candidates], SIMILAR_THRESHOLD)
        return [
            SimilarLink(
                candidates[i].id,
                score,
                # That item's own check covers the new one: its product, or any.
                back=candidates[i].product_sku in (None, draft.product_sku),
            )
            for i, score in scored[:SIMILAR_KEPT]
        ]

    async def submit(
        self,
        *,
        user: UserRef,
        values: Values,
        permalink: str | None = None,
        submission: str | None = None,
    ) -> SubmitResult | Refused:
        """Validate; offer similar open items once; then create, or add the client.
        `submission` names this one submission (bot.interactions.submission_key): sent
        again, it answers with the item the first one made."""
        if (first := await self._made_by(submission)) is not None:
            return first
        draft = await self.validate(values, permalink=permalink)
        if isinstance(draft, Invalid):
            return draft
        choice = values.get("duplicate_of")
        if choice is None:  # not asked yet
            similar = await self.similar_open(draft)
            if similar:
                # A copy of this submission may have made one of them meanwhile.
                return await self._made_by(submission) or SimilarFound(draft, tuple(similar))
        elif choice != "new":
            if not is_number(choice):
                return Invalid({"duplicate_of": "Pick one of the items, or send as new."})
            return await self.support(user=user, item_id=int(choice), draft=draft)
        return await self.create(user=user, draft=draft, submission=submission)

    async def _made_by(self, submission: str | None) -> Submitted | None:
        item = await self._repo.item_by_submission(key=submission) if submission else None
        return Submitted(item, ()) if item is not None else None

    async def product_label(self, sku: str | None) -> str | None:
        if not sku:
            return None
        if sku == NO_PRODUCT:
            return NO_PRODUCT_LABEL
        view = await self._catalog.view()
        product = view.by_sku.get(sku)
        return f"{product.name} ({product.sku})"[:75] if product else None

    async def region_label(self, code: str | None) -> str | None:
        region = (await self._catalog.view()).catalog.regions.get(code or "")
        return region_label(region) if region else None

    async def form(
        self,
        *,
        values: Values | None = None,
        permalink: str | None = None,
        similar: Sequence[Item] = (),
    ) -> FormSpec:
        """The feedback form as the catalog stands: the picked product and region named,
        and its customer segments to choose from."""
        v = values or {}
        return feedback_form(
            values=v,
            permalink=permalink,
            product_label=await self.product_label(v.get("product")),
            region_label=await self.region_label(v.get("region")),
            similar=similar,
            segments=tuple((await self._catalog.view()).catalog.segments.values()),
        )

    async def create(
        self, *, user: UserRef, draft: Draft, submission: str | None = None
    ) -> Submitted:
        # Checked once, here: the item keeps what was found, and its card reads that.
        links = await self._similar_links(draft)
        item = await self._repo.create_item(
            draft=draft,
            submitter=user,
            at=self._clock.now(),
            # The triage post is written in the same transaction as the item.
            notifications=lambda item: [self._triage_notification(item, "new", TriageReason.FIRST)],
            submission_key=submission,
            similar=links,
        )
        shown = await self._repo.items_by_ids(ids=[s.item_id for s in links[:SIMILAR_SHOWN]])
        return Submitted(item, tuple(shown))

    async def support(self, *, user: UserRef, item_id: int, draft: Draft) -> Supported | Refused:
        item = await self._repo.get_item(item_id=item_id)
        if item is None or not item.is_open:
            return Refused(no_longer_open(item_id), Why.CLOSED)
        updated = await self._repo.add_supporter(
            item_id=item_id,
            user=user,
            client=draft.client,
            deal_value=draft.deal_value,
            deal_currency=draft.deal_currency,
            at=self._clock.now(),
            notifications=[
                self._triage_notification(
                    item, f"support:{user.id}:{draft.client}", TriageReason.REFRESH
                )
            ],
        )
        if updated is None:  # merged or closed since it was read
            return Refused(no_longer_open(item_id), Why.CLOSED)
        return Supported(updated)

    # -- triage

    def may_decide(self, user: UserRef, *, owner: str | None = None) -> bool:
        return is_listed(user, [*self._pms(), *([owner] if owner else [])])

    def _pms(self) -> frozenset[str]:
        """The request's workspace's PMs (bot.settings), else the environment's."""
        got = current()
        return self.settings.product_managers if got is None else got.product_managers

    def _triage_channel(self) -> str | None:
        got = current()
        return self.settings.triage_channel if got is None else got.triage_channel

    async def _owner_of(self, item: Item) -> str | None:
        if not item.product_sku:
            return None
        view = await self._catalog.view()
        product = view.by_sku.get(item.product_sku)
        return product.owner if product else None

    async def authorize(self, *, user: UserRef, item_id: int) -> Item | Refused:
        item = await self._repo.get_item(item_id=item_id)
        if item is None:
            return Refused(f"There is no feedback #{item_id}.", Why.GONE)
        if not self.may_decide(user, owner=await self._owner_of(item)):
            return Refused(NOT_A_PM, Why.NOT_ALLOWED)
        return item

    async def merge_targets(self, item: Item) -> list[Item]:
        """Open items to merge `item` into, most similar first (candidates from the store's
        word index, as for the duplicate check)."""
        text = f"{item.title} {item.details}"
        candidates = await self._repo.similar_candidates(
            tokens=matching.similarity_tokens(text), product_sku=None, exclude=item.id
        )
        order = matching.rank_similar(text, [c.text for c in candidates])
        return await self._repo.items_by_ids(ids=[candidates[i].id for i in order[:MERGE_TARGETS]])

    async def cluster_of(self, item: Item) -> Cluster | None:
        """The open items about the same need as an open `item` (same product, similar
        text), or None. Bounded however many items are open: only the store's word-index
        candidates for the item's product are scored, and CLUSTER_MAX of them kept."""
        if not item.is_open:
            return None
        candidates = await self._repo.similar_candidates(
            tokens=matching.similarity_tokens(clusters.item_text(item)),
            product_sku=item.product_sku,
            exclude=item.id,
        )
        ids = [i for i, _ in clusters.members(clusters.as_candidate(item), candidates)]
        others = [o for o in await self._repo.items_by_ids(ids=ids) if o.is_open]
        return Cluster(item, tuple(others)) if others else None

    async def merge_all(
        self, *, user: UserRef, target_id: int, item_ids: Sequence[int]
    ) -> MergedAll | Refused:
        """Merge the items a card's cluster showed into its item, each as one ordinary merge
        (clients, revenue and people go with it). Only items still in the cluster are
        merged: one merged, closed or decided meanwhile (or a double press) is skipped and
        named, and a forged list of unrelated items merges nothing."""
        got = await self.authorize(user=user, item_id=target_id)
        if isinstance(got, Refused):
            return got
        if not got.is_open:
            return Refused(target_closed(got.id, got), Why.BAD_TARGET)
        cluster = await self.cluster_of(got)
        still = {o.id for o in cluster.others} if cluster else set()
        merged: list[int] = []
        skipped: list[str] = []
        for item_id in item_ids:
            if item_id not in still:
                skipped.append(clusters.not_in_cluster(item_id))
                continue
            result = await self.decide(
                user=user, item_id=item_id, action=Action.MERGE, merge_into=target_id
            )
            if isinstance(result, Decided):
                merged.append(item_id)
            else:
                skipped.append(result.message)
        return MergedAll(target_id, tuple(merged), tuple(skipped))

    async def decide(
        self,
        *,
        user: UserRef,
        item_id: int,
        action: Action,
        note: str | None = None,
        merge_into: int | None = None,
        shipped: str | None = None,
        shipped_link: str | None = None,
    ) -> DecideResult:
        """One transition, exactly once: the loser of a race is told who decided. Marking
        it actioned may say what shipped, with a link: every submitter and supporter reads
        both in their message."""
        got = await self.authorize(user=user, item_id=item_id)
        if isinstance(got, Refused):
            return got
        item = got
        to = ACTION_STATUS[action]
        note = _clean(note)[:1000] or None
        if to is not Status.MERGED:
            merge_into = None  # a merge target chosen on a card means nothing to other actions
        if to is Status.ACTIONED:
            shipped = _clean(shipped).replace("\n", " ")[:MAX_SHIPPED] or None
            shipped_link = _clean(shipped_link) or None
            if shipped_link and (not _URL.match(shipped_link) or len(shipped_link) > 1000):
                return Refused(SHIPPED_LINK_BAD, Why.BAD_LINK)
        else:
            shipped = shipped_link = None
        if to is Status.DECLINED and not note:
            return Refused(DECLINE_NEEDS_NOTE, Why.NEEDS_NOTE)
        target = None
        if to is Status.MERGED:
            target = await self._repo.get_item(item_id=merge_into) if merge_into else None
            if target is None or target.id == item.id:
                return Refused("Pick an open item to merge into.", Why.BAD_TARGET)
            if not target.is_open:
                return Refused(target_closed(target.id, target), Why.BAD_TARGET)
        if item.status not in TRANSITIONS[to]:
            if item.decided_by is not None:
                return AlreadyDecided(item)
            return Refused(
                f"#{item.id} is {STATUS_LABEL[item.status]}; it cannot become {STATUS_LABEL[to]}."
            )
        transition = Transition(item.id, user, item.status, to, self._clock.now(), note, merge_into)
        notifications = [
            Notification(
                platform=person.platform,
                kind="dm",
                target=person.id,
                dedupe_key=f"fb:{item.id}:{to.value}:dm:{person.platform}:{person.id}",
                payload=Decision(
                    item.id,
                    item.title,
                    to.value,
                    note,
                    user.id,
                    user.platform,
                    merge_into,
                    clients_text(item),
                    at_stake_text(item),
                    shipped,
                    shipped_link,
                ).encode(),
                lane=Lane.INTERACTIVE,
            )
            for person in self.recipients(item)
        ]
        notifications.append(self._triage_notification(item, to.value, TriageReason.REFRESH))
        if target is not None:  # the target's card now counts the merged item; it lives
            # on the target's platform, which need not be the merged item's
            notifications.append(
                self._triage_notification(target, f"merged:{item.id}", TriageReason.REFRESH)
            )
        try:
            decided = await self._repo.transition(
                transition=transition, allowed_from=TRANSITIONS[to], notifications=notifications
            )
        except TargetClosed as closed:  # merged or closed since it was read
            now = await self._repo.get_item(item_id=closed.target_id)
            return Refused(target_closed(closed.target_id, now), Why.BAD_TARGET)
        if decided is None:  # lost the race: read who won
            current = await self._repo.get_item(item_id=item.id)
            assert current is not None
            return AlreadyDecided(current)
        return Decided(decided, transition)

    def recipients(self, item: Item) -> list[UserRef]:
        """Everyone who cares: the submitter, those who added a client, and the people of
        items merged into this one."""
        people = [item.submitter, *(s.user for s in item.supporters), *item.followers]
        seen: list[UserRef] = []
        for p in people:
            if p not in seen:
                seen.append(p)
        return seen

    def _triage_notification(self, item: Item, event: str, reason: TriageReason) -> Notification:
        """Post, refresh in place, or raise again the item's card in the triage channel.
        `event` makes the dedupe key unique per cause; `reason` tells the notifier what to do."""
        return Notification(
            platform=item.submitter.platform,
            kind="triage",
            target=self._triage_channel() or "",
            dedupe_key=f"fb:{item.id}:triage:{event}",
            payload=Triage(item.id, reason).encode(),
            # A reminder is sweep work; a new card or a refresh answers someone's action.
            lane=Lane.BULK if reason is TriageReason.REMINDER else Lane.INTERACTIVE,
        )

    # -- seeing it

    async def home(self, user: UserRef, page: int = 1) -> HomeView:
        """One page of each list (indexed, paginated queries) and the counts."""
        page = max(1, page)
        mine = await self._repo.items_for(user=user, limit=MINE_PAGE, offset=(page - 1) * MINE_PAGE)
        total = await self._repo.count_for(user=user)
        if not self.may_decide(user):
            return HomeView(tuple(mine), None, total, {}, page)
        offset = (page - 1) * QUEUE_PAGE
        if self._demand is not None:
            waiting = DemandQuery(statuses=(Status.NEW,), rates=self._rates.known)
            ranked = await self._demand.ranked(waiting, limit=QUEUE_PAGE, offset=offset)
            queue = await self._repo.items_by_ids(ids=[r.item_id for r in ranked])
        else:
            queue = await self._repo.queue_page(limit=QUEUE_PAGE, offset=offset)
        return HomeView(tuple(mine), tuple(queue), total, await self._repo.queue_counts(), page)

    async def triage_view(
        self,
        item: Item,
        *,
        reminder: bool = False,
        problem: AlreadyDecided | Refused | None = None,
    ) -> TriageView:
        view = await self._catalog.view()
        region = view.catalog.regions.get(item.region_code or "")
        segment = view.catalog.segments.get(item.segment_code or "")
        people = [item.submitter, *(s.user for s in item.supporters)]
        if item.decided_by is not None:
            people.append(item.decided_by)
        return TriageView(
            item,
            # What the item keeps (found when it was submitted, or by later items that
            # found it): a card is never a similarity check over the open items.
            tuple(await self._repo.similar_of(item_id=item.id, limit=SIMILAR_SHOWN))
            if item.is_open
            else (),
            region.name if region else None,
            reminder,
            problem,
            await self._people.names(people) if self._people is not None else {},
            # A segment the catalog no longer names is still what the submitter picked.
            segment.name if segment else item.segment_code,
            await self.cluster_of(item),
        )

    async def get(self, item_id: int) -> Item | None:
        return await self._repo.get_item(item_id=item_id)

    async def workspace_of(self, item_id: int) -> workspace.Workspace | None:
        """The workspace whose item this is, for delivering its card from outside any
        request (the outbox worker): read inside it (`workspace.using`), the item, its
        similar items, its cluster and its people's names are that workspace's. None for
        the shared pool's, and for no item (then nothing is found inside it either)."""
        scope = await self._repo.scope_of(item_id=item_id)
        return None if scope is None else workspace.Workspace.of_scope(scope)

    async def catalog_view(self) -> CatalogView:
        return await self._catalog.view()

    async def remember_triage_message(self, item_id: int, channel: str, ts: str) -> None:
        await self._repo.set_triage_message(item_id=item_id, channel=channel, ts=ts)

    async def remind_stale(self, *, triages: Mapping[str, str]) -> int:
        """Items left in `new` too long, once per period: one digest per triage channel
        (`triages`: platform -> channel) naming the oldest and counting the rest, in the
        bulk lane. However long the backlog, that is one message per channel, and the
        sweep is a few statements (no statement, no message per item). Returns how many
        items it covered."""
        now = self._clock.now()
        days = self.settings.stale_after_days
        # Swept once per workspace (each reads only its own items): each one's digest is
        # its own message, even where two workspaces' triage channels share an id.
        apart = f":{workspace.scope()}" if workspace.scope() else ""

        def digests(waiting: Sequence[Waiting]) -> list[Notification]:
            out = []
            for group in waiting:
                channel = triages.get(group.platform)
                if channel is None:
                    continue
                out.append(
                    Notification(
                        platform=group.platform,
                        kind="post",
                        target=channel,
                        dedupe_key=f"stale:{now.date()}:{group.platform}:{channel}{apart}",
                        payload=stale_digest(group, days).encode(),
                        lane=Lane.BULK,
                    )
                )
            return out

        return await self._repo.remind_stale(
            older_than=now - dt.timedelta(days=days),
            at=now,
            listed=STALE_LISTED,
            notifications=digests,
        )


STALE_LISTED = 15  # items a stale digest names; the others are counted


def stale_digest(group: Waiting, days: int) -> Digest:
    """The reminder sweep's message to a triage channel, the same on every platform."""
    n = group.count
    title = f"{n} feedback item{'' if n == 1 else 's'} waiting for a decision for over {days} days"
    lines = [f"#{i.id} {i.title} (since {i.created_at:%d %b})" for i in group.oldest]
    if n > len(group.oldest):
        lines.append(
            f"… and {n - len(group.oldest)} more, newer: the open queue in the App Home lists "
            "every open item"
        )
    return Digest(title, tuple(lines))


def decision_text(decision: Decision) -> str:
    """The close-the-loop DM's text, the same on every platform."""
    try:
        status = Status(decision.status)
    except ValueError:
        status = Status.NEW
    text = (
        f"Your feedback #{decision.item_id} “{decision.title}”: "
        + decision_sentence(status, decision.merged_into)
        + "."
    )
    if decision.shipped or decision.shipped_link:
        said = " ".join(s for s in (decision.shipped, decision.shipped_link) if s)
        text += f" What shipped: {said}."
    if decision.note:
        text += f" Note from product: {decision.note}"
    if decision.clients:  # on a line of its own, after what the PM said
        stake = f"; {decision.at_stake}" if decision.at_stake else ""
        text += f"\nClients: {decision.clients}{stake}."
    return text
