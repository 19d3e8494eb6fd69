"""Approval requests: a Restricted answer's request to whoever decides it, the decision (made
once, by someone allowed to), the requester's DM, and the approval shown in their answers."""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TextIO

from bot import workspace
from bot.catalog import CatalogService
from bot.feedback import CURRENCIES, MAX_DEAL
from bot.forms import Choice, Errors, FieldKind, FormField, FormSpec, Values, is_number
from bot.ids import ActionId, Button, FormId
from bot.payloads import ApprovalAsk, ApprovalDecided, ApprovalRefresh
from bot.ports import Clock, Lane, Notification, PeopleStore
from bot.receipts import PeriodOrderError, write_rows
from bot.replies import ApprovalNote, ProductAnswer, format_date, format_money
from bot.settings import current
from bot.spreadsheet import csv_cell
from bot.types import PLATFORMS, Refused, UserRef, Why, is_listed, platform_of

DEFAULT_VALID_DAYS = 30
MY_REQUESTS = 10  # approval requests `my answers` and the home view list
MAX_WHY = 1000
MAX_NOTE = 1000


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    MORE_INFO = "more_info"  # still open: waiting for the requester's answer


class ApprovalAction(enum.StrEnum):
    """The decisions on a request; their ids are bot.ids.ActionId's APPROVAL_* presses."""

    APPROVE = ActionId.APPROVAL_APPROVE.value
    DECLINE = ActionId.APPROVAL_DECLINE.value
    INFO = ActionId.APPROVAL_INFO.value


ACTION_STATUS = {
    ApprovalAction.APPROVE: ApprovalStatus.APPROVED,
    ApprovalAction.DECLINE: ApprovalStatus.DECLINED,
    ApprovalAction.INFO: ApprovalStatus.MORE_INFO,
}
# Decline and "Need more info" are said with a note to the requester: they ask for one.
NEEDS_NOTE = frozenset({ApprovalAction.DECLINE, ApprovalAction.INFO})
# The statuses each decision is taken from: "Need more info" leaves a request open, so it
# can still be approved or declined; more is asked again only once the requester answered.
DECIDED_FROM = {
    ApprovalAction.APPROVE: frozenset({ApprovalStatus.PENDING, ApprovalStatus.MORE_INFO}),
    ApprovalAction.DECLINE: frozenset({ApprovalStatus.PENDING, ApprovalStatus.MORE_INFO}),
    ApprovalAction.INFO: frozenset({ApprovalStatus.PENDING}),
}

# Copy, written once for every platform.
REQUEST_LABEL = "Request approval"
ACTION_LABEL = {
    ApprovalAction.APPROVE: "Approve",
    ApprovalAction.DECLINE: "Decline…",
    ApprovalAction.INFO: "Need more info…",
}
STATUS_LABEL = {
    ApprovalStatus.PENDING: "Waiting for a decision",
    ApprovalStatus.APPROVED: "Approved",
    ApprovalStatus.DECLINED: "Declined",
    ApprovalStatus.MORE_INFO: "More information needed",
}
FORM_TITLE = "Request approval"
FORM_SUBMIT = "Send request"
SENT_TITLE = "Request sent"
REPLY_LABEL = "Reply…"
REPLY_TITLE = "Answer the approver"
REPLY_SUBMIT = "Send answer"
ANSWER_SENT = "Answer sent"
NOT_REQUESTER = "Only the person who made this request can answer for it."
ANSWER_NEEDED = "Write your answer: the approver decides from it."
NOT_APPROVER = (
    "Only the person this request was sent to, the product's owner or a product manager "
    "can decide on it."
)
NOTE_NEEDED = "Add a note to the requester: they will read it."
NOTHING_TO_APPROVE = "Only a Restricted answer needs approval."
NO_ROUTE = (
    "Nobody is set to receive approval requests for this product: it names no contact or "
    "owner, and no APPROVALS_CHANNEL or TRIAGE_CHANNEL is set. Ask an administrator."
)
REQUEST_HINT = "Ask for one with `/product request <market> <product>`."


def _clean(text: str | None) -> str:
    # Control characters never belong in chat text; newlines and tabs do.
    return "".join(ch for ch in (text or "") if ch in "\n\t" or ch >= " ").strip()


def _on(user_id: str) -> tuple[str, str]:
    """A contact as written in the catalog ("slack:U1", "teams:<guid>", or a bare id read
    by its shape) as (platform, id)."""
    platform, sep, uid = user_id.partition(":")
    if sep and platform in PLATFORMS:
        return platform, uid
    return platform_of(user_id), user_id


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ApprovalDraft:
    """A validated request, as it is stored."""

    sku: str
    product: str  # its name then
    region: str  # the market's code
    where: str  # the market (and segment) as the requester read it
    segment: str | None
    verdict: str  # the answer as given: "Restricted — Deal desk approval"
    client: str
    deal_value: int
    currency: str
    why: str
    approver: str | None  # the contact named for it (who may decide, wherever it was sent)
    sent_to: str  # "slack:U012PM", "slack:C0APPROVALS", "teams:approvals"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    id: int
    requester: UserRef
    draft: ApprovalDraft
    status: ApprovalStatus
    created_at: dt.datetime
    decided_by: UserRef | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None
    valid_until: dt.datetime | None = None
    scope: str = workspace.SHARED  # the requester's workspace (bot.workspace.Workspace.scope)

    @property
    def title(self) -> str:
        return f"#{self.id} {self.draft.product} in {self.draft.where} for {self.draft.client}"


@dataclass(frozen=True, slots=True)
class Requested:
    request: ApprovalRequest


@dataclass(frozen=True, slots=True)
class Decided:
    request: ApprovalRequest


def _when(at: dt.datetime) -> str:
    return f"{at:%d %b %H:%M} UTC"


@dataclass(frozen=True, slots=True)
class AlreadyDecided:
    """Somebody else (or the same double press) decided first."""

    request: ApprovalRequest

    def message_for(self, mention: Callable[[UserRef], str]) -> str:
        r = self.request
        who = mention(r.decided_by) if r.decided_by else "someone"
        when = f" on {_when(r.decided_at)}" if r.decided_at else ""
        if r.status is ApprovalStatus.MORE_INFO:
            return (
                f"Request #{r.id} waits for the requester's answer: {who} asked for more "
                f"information{when}. It can still be approved or declined."
            )
        if r.status is ApprovalStatus.PENDING:  # answered meanwhile: open again
            return f"Request #{r.id} changed meanwhile: the requester answered. Look again."
        return f"Request #{r.id} was already decided: {STATUS_LABEL[r.status]} by {who}{when}."

    @property
    def message(self) -> str:
        return self.message_for(lambda u: u.id)


@dataclass(frozen=True, slots=True)
class ApprovalCard:
    """A request as its decider sees it, with the presses that still decide it: as sent
    (pending), or as it now is once something became of it (bot.approvals.card_of)."""

    ask: ApprovalAsk
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: UserRef | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None  # the decision's note (a question asked is `ask.asked`)
    valid_until: dt.datetime | None = None
    decider_name: str | None = None

    @property
    def fallback(self) -> str:
        a = self.ask
        head = f"Approval request #{a.request_id}: {a.product} in {a.where} for {a.client}"
        if self.status in (ApprovalStatus.APPROVED, ApprovalStatus.DECLINED):
            return f"{head} ({STATUS_LABEL[self.status]})"
        return head

    @property
    def lines(self) -> tuple[str, ...]:
        """What the card says under its title (renderers add the requester)."""
        a = self.ask
        asked = (f"More information asked: {a.asked}",) if a.asked else ()
        answer = (f"Requester's answer: {a.answer}",) if a.answer else ()
        return (
            f"Answer given: {a.verdict}",
            f"Client: {a.client} · Deal value: {a.deal}",
            f"Why: {a.why}",
            *asked,
            *answer,
        )

    def decision(
        self, who: Callable[[UserRef], str], esc: Callable[[str], str] = str
    ) -> str | None:
        """What became of the request, who decided and when (None while nobody has):
        `who` renders the decider, `esc` the note they wrote."""
        by, at = self.decided_by, self.decided_at
        if by is None or at is None or self.status is ApprovalStatus.PENDING:
            return None
        if self.status is ApprovalStatus.MORE_INFO:
            return (
                f"{who(by)} asked for more information on {_when(at)}: waiting for the "
                "requester's answer."
            )
        until = (
            f", valid until {format_date(self.valid_until.date())}"
            if self.status is ApprovalStatus.APPROVED and self.valid_until
            else ""
        )
        text = f"{STATUS_LABEL[self.status]} by {who(by)} on {_when(at)}{until}."
        return text + (f" Note: {esc(self.note)}" if self.note else "")

    @property
    def allowed(self) -> tuple[ApprovalAction, ...]:
        """The decisions still open to the request in its status (none once decided)."""
        return tuple(a for a in ApprovalAction if self.status in DECIDED_FROM[a])

    @property
    def buttons(self) -> tuple[Button, ...]:
        value = str(self.ask.request_id)
        return tuple(
            Button(ActionId(a.value), ACTION_LABEL[a], value, primary=a is ApprovalAction.APPROVE)
            for a in self.allowed
        )


@dataclass(frozen=True, slots=True)
class CardPlace:
    """Where one card of a request was posted: a Slack conversation and message ts, or a
    Teams conversation's key and activity id."""

    channel: str
    message: str


NOTE_FIELD = FormField(
    "note",
    "Note to the requester (needed to decline or ask for more)",
    FieldKind.MULTILINE,
    required=False,
    max_length=MAX_NOTE,
    placeholder="Conditions, or what you need to know",
)


def decided_text(
    d: ApprovalDecided, who: Callable[[UserRef], str], esc: Callable[[str], str] = str
) -> str:
    """The requester's DM, the same on every platform (`who` renders the decider, `esc` the
    text people and the catalog wrote)."""
    try:
        status = ApprovalStatus(d.status)
    except ValueError:
        status = ApprovalStatus.PENDING
    about = f"{d.product} in {d.where} for {d.client}"
    head = f"Your approval request #{d.request_id} ({esc(about)}): "
    by = who(UserRef(d.by_platform, d.by))
    try:
        until = format_date(dt.date.fromisoformat(d.until)) if d.until else None
    except ValueError:
        until = None
    if status is ApprovalStatus.APPROVED and until:
        text = f"{head}Approved by {by}, valid until {until}."
    elif status is ApprovalStatus.MORE_INFO:
        text = f"{head}{by} needs more information; the request stays open. Press Reply to answer."
    else:
        text = f"{head}{STATUS_LABEL[status]} by {by}."
    return text + (f" Note: {esc(d.note)}" if d.note else "")


def decided_buttons(d: ApprovalDecided) -> tuple[Button, ...]:
    """The requester's press on a decision DM: Reply, while more information is asked."""
    if d.status != ApprovalStatus.MORE_INFO.value:
        return ()
    return (Button(ActionId.APPROVAL_REPLY, REPLY_LABEL, str(d.request_id), primary=True),)


def requester_text(a: ApprovalAsk, who: Callable[[UserRef], str]) -> str:
    return f"Requested by {who(UserRef(a.requester_platform, a.requester))}"


# --------------------------------------------------------------------------- the store


class ApprovalRepository(Protocol):
    async def create(
        self,
        *,
        draft: ApprovalDraft,
        requester: UserRef,
        at: dt.datetime,
        notifications: Callable[[ApprovalRequest], Sequence[Notification]],
        submission_key: str | None,
    ) -> ApprovalRequest:
        """With a `submission_key` another call already stored, that call's request (and
        nothing written). The request, its audit event and `notifications` in one
        transaction."""
        ...

    async def get(self, *, request_id: int) -> ApprovalRequest | None: ...

    async def by_submission(self, *, key: str) -> ApprovalRequest | None: ...

    async def decide(
        self,
        *,
        request_id: int,
        actor: UserRef,
        was: ApprovalStatus,
        to: ApprovalStatus,
        note: str | None,
        at: dt.datetime,
        valid_until: dt.datetime | None,
        notifications: Sequence[Notification],
    ) -> ApprovalRequest | None:
        """Only while the request is still `was` (else None): the decision, its audit event
        and the notifications in one transaction."""
        ...

    async def answer(
        self,
        *,
        request_id: int,
        actor: UserRef,
        text: str,
        at: dt.datetime,
        notifications: Sequence[Notification],
    ) -> ApprovalRequest | None:
        """Only while more information is asked (else None): the request pending again,
        the answer as its audit event, and the notifications in one transaction."""
        ...

    async def exchange(self, *, request_id: int) -> tuple[str | None, str | None]:
        """The latest question asked about the request ("Need more info"), and the
        requester's answer to it (None: not asked, or not answered yet)."""
        ...

    async def remember_card(
        self, *, request_id: int, platform: str, place: CardPlace, at: dt.datetime
    ) -> None:
        """Where a card of the request was posted, in the current workspace's scope; the
        same place twice is kept once."""
        ...

    async def cards(self, *, request_id: int, platform: str) -> list[CardPlace]:
        """Where the request's cards were posted on `platform`, oldest first."""
        ...

    async def valid(
        self, *, user: UserRef, sku: str, region: str, segment: str | None, now: dt.datetime
    ) -> ApprovalRequest | None:
        """The user's latest approval for this product and market still valid at `now`."""
        ...

    async def mine(self, *, user: UserRef, limit: int) -> list[ApprovalRequest]:
        """The user's latest requests, newest first."""
        ...

    async def holders(self, *, now: dt.datetime) -> frozenset[tuple[str, str]]:
        """(platform, user id) of everyone in the request's workspace holding an approval
        still valid at `now`."""
        ...

    def export(
        self, *, since: dt.datetime, until: dt.datetime, scope: str | None
    ) -> AsyncIterator[ApprovalRequest]:
        """Requests made from `since` (included) to `until` (excluded), oldest first: of one
        workspace's scope, or of every workspace (None)."""
        ...


# --------------------------------------------------------------------------- use cases


@dataclass(frozen=True, slots=True)
class Settings:
    product_managers: frozenset[str] = frozenset()
    approvals_channel: str | None = None  # a Slack channel id (else triage; Teams: in chat)
    triage_channel: str | None = None
    valid_days: int = DEFAULT_VALID_DAYS
    # Platforms messages can be delivered on (a contact on another one is not reachable).
    platforms: Collection[str] = ("slack", "teams", "console")


def approval_form(answer: ProductAnswer, values: Values | None = None) -> FormSpec:
    v = values or {}
    where = answer.region.name + (f" for {answer.segment.name}" if answer.segment else "")
    return FormSpec(
        id=FormId.APPROVAL,
        title=FORM_TITLE,
        submit=FORM_SUBMIT,
        intro=f"{answer.product.name} in {where}: {answer.assessment.verdict.value}"
        + (f" — {answer.assessment.detail()}" if answer.assessment.detail() else "")
        + ". Who decides is told at once, and you get a message with the decision.",
        state={"answer": answer.key},
        fields=(
            FormField(
                "client",
                "Client / account",
                FieldKind.TEXT,
                initial=v.get("client"),
                max_length=200,
                placeholder="e.g. Acme Corp",
            ),
            FormField(
                "deal_value",
                "Deal value",
                FieldKind.NUMBER,
                initial=v.get("deal_value"),
                hint="Whole amount, e.g. 250000",
            ),
            FormField(
                "currency",
                "Currency",
                FieldKind.SELECT,
                choices=tuple(Choice(c, c) for c in CURRENCIES),
                initial=v.get("currency") or "USD",
            ),
            FormField(
                "why",
                "Why it should be approved",
                FieldKind.MULTILINE,
                initial=v.get("why"),
                max_length=MAX_WHY,
                placeholder="The deal, the client's need, anything the approver should know",
            ),
        ),
    )


def note_form(action: ApprovalAction, request: ApprovalRequest) -> FormSpec:
    label = ACTION_LABEL[action].rstrip("…")
    return FormSpec(
        id=FormId.APPROVAL_NOTE,
        title=label[:24],
        submit=label[:24],
        intro=request.title,
        state={"request": str(request.id), "action": action.value},
        fields=(
            FormField(
                "note",
                "Note to the requester",
                FieldKind.MULTILINE,
                required=True,
                max_length=MAX_NOTE,
                placeholder="Why, and what happens next",
            ),
        ),
    )


def reply_form(request: ApprovalRequest) -> FormSpec:
    """The requester's answer to "Need more info", sent back to whoever asked."""
    return FormSpec(
        id=FormId.APPROVAL_ANSWER,
        title=REPLY_TITLE,
        submit=REPLY_SUBMIT,
        intro=f"{request.title}: {request.note or 'more information is needed'}",
        state={"request": str(request.id)},
        fields=(
            FormField(
                "answer",
                "Your answer",
                FieldKind.MULTILINE,
                required=True,
                max_length=MAX_NOTE,
                placeholder="What the approver asked for",
            ),
        ),
    )


def validate(values: Values) -> tuple[dict[str, str | int], Errors]:
    """The form's values as stored (client, deal_value, currency, why), or what to fix."""
    errors: Errors = {}
    client = _clean(values.get("client"))[:200]
    if not client:
        errors["client"] = "Name the client."
    raw = (values.get("deal_value") or "").replace(",", "").strip()
    deal = int(raw) if is_number(raw) and len(raw) < 14 else -1
    if not 0 < deal <= MAX_DEAL:
        errors["deal_value"] = "A whole amount, e.g. 250000."
    currency = values.get("currency") or ""
    if currency not in CURRENCIES:
        errors["currency"] = "Pick a currency."
    why = _clean(values.get("why"))[:MAX_WHY]
    if not why:
        errors["why"] = "Say why: the approver decides from it."
    return {"client": client, "deal_value": deal, "currency": currency, "why": why}, errors


# How long an approval decided in another process may take to show in this one's answers.
HOLDERS_TTL = 5.0


class ApprovalService:
    def __init__(
        self,
        *,
        repo: ApprovalRepository,
        catalog: CatalogService,
        clock: Clock,
        settings: Settings,
        people: PeopleStore | None = None,
    ) -> None:
        self._repo = repo
        self._catalog = catalog
        self._clock = clock
        self.settings = settings
        self._people = people
        # Who holds any valid approval, per workspace scope, read at most every HOLDERS_TTL
        # seconds: a Restricted answer to anyone else needs no query of its own (most askers
        # hold none). Each value: (the holders, when read).
        self._holders: dict[str, tuple[frozenset[tuple[str, str]], float]] = {}
        self._reading_holders: set[str] = set()

    async def answer(self, key: str) -> ProductAnswer | None:
        """The answer a press or a form names ("SKU|REGION[|SEGMENT]"), as the catalog stands."""
        sku, sep, rest = key.partition("|")
        region, _, segment = rest.partition("|")
        if not sep:
            return None
        return await self._catalog.answer_for(
            sku=sku[:64], region_code=region[:32], segment_code=segment[:32] or None
        )

    async def form(self, key: str, values: Values | None = None) -> FormSpec | Refused:
        answer = await self.answer(key)
        if answer is None:
            return Refused("That product or market is no longer in the catalog.", Why.GONE)
        if not answer.restricted:
            return Refused(self._not_restricted(answer), Why.CLOSED)
        return approval_form(answer, values)

    @staticmethod
    def _not_restricted(answer: ProductAnswer) -> str:
        return (
            f"{answer.product.name} is {answer.assessment.verdict.value} in "
            f"{answer.region.name} now: {NOTHING_TO_APPROVE}"
        )

    def _route(self, requester: UserRef, approver: str | None) -> tuple[str, str] | None:
        """(platform, target) of the request's card: a DM to the contact when there is one
        on a platform we deliver to, else the approvals (or triage) channel (see _card)."""
        if requester.platform == "console":  # everyone on the console is on the console
            return ("console", _on(approver)[1]) if approver else ("console", "triage")
        if approver:  # the catalog holds user ids only (bot.catalog_file)
            platform, uid = _on(approver)
            if platform in self.settings.platforms:
                return platform, uid
        if requester.platform == "teams":
            # The channel a PM set for approvals on Teams (its notifier falls back to the
            # one set for triage).
            return "teams", "approvals"
        got = current() or self.settings  # the request's workspace's, else the environment's
        channel = got.approvals_channel or got.triage_channel
        return ("slack", channel) if channel else None

    async def request(
        self, *, user: UserRef, key: str, values: Values, submission: str | None
    ) -> Requested | Errors | Refused:
        """Validate and send a request once: the same submission again answers with the
        request the first one made, and tells nobody twice."""
        if submission and (first := await self._repo.by_submission(key=submission)):
            return Requested(first)
        answer = await self.answer(key)
        if answer is None:
            return Refused(
                "That product or market is no longer in the catalog: nothing was sent.", Why.GONE
            )
        if not answer.restricted:
            return Refused(self._not_restricted(answer), Why.CLOSED)
        clean, errors = validate(values)
        if errors:
            return errors
        approver = answer.assessment.contact or answer.product.ask
        route = self._route(user, approver)
        if route is None:
            return Refused(NO_ROUTE, Why.GONE)
        platform, target = route
        a = answer.assessment
        draft = ApprovalDraft(
            sku=answer.product.sku,
            product=answer.product.name,
            region=answer.region.code,
            where=answer.region.name + (f" for {answer.segment.name}" if answer.segment else ""),
            segment=answer.segment.code if answer.segment else None,
            verdict=a.verdict.value + (f" — {a.detail()}" if a.detail() else ""),
            client=str(clean["client"]),
            deal_value=int(clean["deal_value"]),
            currency=str(clean["currency"]),
            why=str(clean["why"]),
            approver=approver,  # may decide wherever the request was sent
            sent_to=f"{platform}:{target}",
        )
        names = await self._people.names([user]) if self._people is not None else {}

        def card(request: ApprovalRequest) -> list[Notification]:
            return [
                _card(request, f"approval:{request.id}:ask", ask_payload(request, names.get(user)))
            ]

        made = await self._repo.create(
            draft=draft,
            requester=user,
            at=self._clock.now(),
            notifications=card,
            submission_key=submission,
        )
        return Requested(made)

    async def get(self, request_id: int) -> ApprovalRequest | None:
        return await self._repo.get(request_id=request_id)

    async def names(self, users: Sequence[UserRef]) -> dict[UserRef, str]:
        return await self._people.names(users) if self._people is not None else {}

    def may_decide(self, user: UserRef, request: ApprovalRequest, owner: str | None) -> bool:
        listed = [*(current() or self.settings).product_managers]
        listed += [x for x in (request.draft.approver, owner) if x]
        return is_listed(user, listed)

    async def authorize(self, *, user: UserRef, request_id: int) -> ApprovalRequest | Refused:
        request = await self._repo.get(request_id=request_id)
        if request is None:
            return Refused(f"There is no approval request #{request_id}.", Why.GONE)
        product = (await self._catalog.view()).by_sku.get(request.draft.sku)
        if product is None:
            return Refused(
                f"{request.draft.product} is no longer in the catalog: request #{request.id} "
                "cannot be decided.",
                Why.GONE,
            )
        if not self.may_decide(user, request, product.owner):
            return Refused(NOT_APPROVER, Why.NOT_ALLOWED)
        return request

    async def decide(
        self, *, user: UserRef, request_id: int, action: ApprovalAction, note: str | None
    ) -> Decided | AlreadyDecided | Refused:
        """One decision, exactly once: the loser of a race (or a second press) is told who
        decided; the requester's DM is written with it."""
        got = await self.authorize(user=user, request_id=request_id)
        if isinstance(got, Refused):
            return got
        if got.status not in DECIDED_FROM[action]:
            return AlreadyDecided(got)
        note = _clean(note)[:MAX_NOTE] or None
        if action in NEEDS_NOTE and not note:
            return Refused(NOTE_NEEDED, Why.NEEDS_NOTE)
        now = self._clock.now()
        to = ACTION_STATUS[action]
        until = (
            now + dt.timedelta(days=self.settings.valid_days)
            if to is ApprovalStatus.APPROVED
            else None
        )
        d = got.draft
        # More information may be asked more than once (after each answer): each its own DM.
        round_ = f":{now:%Y%m%dT%H%M%S%f}" if to is ApprovalStatus.MORE_INFO else ""
        dm = Notification(
            platform=got.requester.platform,
            kind="dm",
            target=got.requester.id,
            dedupe_key=f"approval:{got.id}:{to.value}{round_}:dm",
            payload=ApprovalDecided(
                got.id,
                d.product,
                d.where,
                d.client,
                to.value,
                note,
                user.id,
                user.platform,
                until.date().isoformat() if until else None,
            ).encode(),
            lane=Lane.INTERACTIVE,
        )
        # The decider's card (and any other of this request's) shows what became of it.
        refresh = _card(got, f"approval:{got.id}:{to.value}{round_}:card", _refresh(got))
        decided = await self._repo.decide(
            request_id=got.id,
            actor=user,
            was=got.status,
            to=to,
            note=note,
            at=now,
            valid_until=until,
            notifications=[dm, refresh],
        )
        if decided is None:  # lost the race: read who won
            current = await self._repo.get(request_id=got.id)
            assert current is not None
            return AlreadyDecided(current)
        self._holders.clear()  # an approval decided here shows in the next answer at once
        return Decided(decided)

    async def may_answer(self, *, user: UserRef, request_id: int) -> ApprovalRequest | Refused:
        """The request `user` may answer "Need more info" on: their own, while it is asked."""
        request = await self._repo.get(request_id=request_id)
        if request is None:
            return Refused(f"There is no approval request #{request_id}.", Why.GONE)
        if request.requester != user:
            return Refused(NOT_REQUESTER, Why.NOT_ALLOWED)
        if request.status is not ApprovalStatus.MORE_INFO:
            return Refused(
                f"Request #{request.id} is not waiting for an answer: "
                f"{STATUS_LABEL[request.status]}.",
                Why.CLOSED,
            )
        return request

    async def reply(
        self, *, user: UserRef, request_id: int, text: str | None
    ) -> Requested | Refused:
        """The requester's answer, once: the request is pending again and its card, with
        the question and the answer, goes back where the request went."""
        got = await self.may_answer(user=user, request_id=request_id)
        if isinstance(got, Refused):
            return got
        answer = _clean(text)[:MAX_NOTE]
        if not answer:
            return Refused(ANSWER_NEEDED, Why.NEEDS_NOTE)
        now = self._clock.now()
        names = await self.names([user])
        ask = replace(ask_payload(got, names.get(user)), asked=got.note, answer=answer)
        stamp = f"approval:{got.id}:answer:{now:%Y%m%dT%H%M%S%f}"
        # A new card with the answer, and the ones already posted showing it too.
        cards = [_card(got, stamp, ask), _card(got, f"{stamp}:card", _refresh(got))]
        answered = await self._repo.answer(
            request_id=got.id, actor=user, text=answer, at=now, notifications=cards
        )
        if answered is None:  # a second submission, or decided meanwhile
            current = await self.may_answer(user=user, request_id=request_id)
            if isinstance(current, Refused):
                return current
            return Refused(f"Request #{got.id} changed meanwhile: look again.", Why.CONFLICT)
        return Requested(answered)

    async def card_of(self, request: ApprovalRequest) -> ApprovalCard:
        """The request's card as it now is: what became of it, and the latest question
        asked with the requester's answer."""
        asked, answer = await self._repo.exchange(request_id=request.id)
        by = request.decided_by
        names = await self.names([request.requester, *([by] if by else [])])
        ask = replace(
            ask_payload(request, names.get(request.requester)), asked=asked, answer=answer
        )
        decided = request.status in (ApprovalStatus.APPROVED, ApprovalStatus.DECLINED)
        return ApprovalCard(
            ask,
            status=request.status,
            decided_by=by,
            decided_at=request.decided_at,
            note=request.note if decided else None,  # else it is the question asked
            valid_until=request.valid_until,
            decider_name=names.get(by) if by else None,
        )

    async def posted(
        self, ask: ApprovalAsk, *, platform: str, place: CardPlace
    ) -> ApprovalCard | None:
        """Remember where the worker posted a request's card, so that it is refreshed in
        place. When something became of the request since the card was written (its
        refresh may have run before this card was known), the card as it now is."""
        with workspace.using(workspace.Workspace.of_scope(ask.scope)):
            now = self._clock.now()
            await self._repo.remember_card(
                request_id=ask.request_id, platform=platform, place=place, at=now
            )
            request = await self._repo.get(request_id=ask.request_id)
            if request is None or request.status is ApprovalStatus.PENDING:
                return None
            return await self.card_of(request)

    async def refreshed(
        self, job: ApprovalRefresh, *, platform: str
    ) -> tuple[ApprovalCard, list[CardPlace]] | None:
        """The request's card as it now is, and where its cards were posted on `platform`
        (None: the request is gone)."""
        with workspace.using(workspace.Workspace.of_scope(job.scope)):
            request = await self._repo.get(request_id=job.request_id)
            if request is None:
                return None
            places = await self._repo.cards(request_id=request.id, platform=platform)
            return await self.card_of(request), places

    async def _may_hold(self, user: UserRef) -> bool:
        """Whether `user` may hold a valid approval (a prefilter: `valid` decides)."""
        scope = workspace.scope()
        known = self._holders.get(scope)
        stale = known is None or time.monotonic() - known[1] >= HOLDERS_TTL
        if known is None or (stale and scope not in self._reading_holders):
            self._reading_holders.add(scope)
            try:
                known = (await self._repo.holders(now=self._clock.now()), time.monotonic())
                self._holders[scope] = known
            finally:
                self._reading_holders.discard(scope)
        return (user.platform, user.id) in known[0]

    async def holds(self, user: UserRef, answer: ProductAnswer) -> ApprovalNote | None:
        """The approval `user` holds for this answer's product and market, if still valid."""
        if not answer.restricted or not await self._may_hold(user):
            return None
        got = await self._repo.valid(
            user=user,
            sku=answer.product.sku,
            region=answer.region.code,
            segment=answer.segment.code if answer.segment else None,
            now=self._clock.now(),
        )
        if got is None or got.decided_by is None or got.valid_until is None:
            return None
        return ApprovalNote(got.id, got.draft.client, got.decided_by, got.valid_until.date())

    async def mine(self, user: UserRef, *, limit: int = MY_REQUESTS) -> str | None:
        """The person's latest approval requests with their status (None: they made none)."""
        got = await self._repo.mine(user=user, limit=limit)
        if not got:
            return None
        now = self._clock.now()
        lines = ["Your approval requests, newest first:"]
        for r in got:
            status = STATUS_LABEL[r.status]
            if r.status is ApprovalStatus.APPROVED and r.valid_until is not None:
                ended = r.valid_until <= now
                status += (
                    f", {'ended' if ended else 'valid until'} {format_date(r.valid_until.date())}"
                )
            note = f" — {r.note}" if r.note else ""
            lines.append(f"• {r.title}: {status}{note}")
        return "\n".join(lines)

    async def export(
        self, *, since: dt.date, until: dt.date, scope: str | None = None
    ) -> AsyncIterator[ApprovalRequest]:
        """Every request made on the days `since` to `until`, both included (UTC days): of
        every workspace, or of the one whose scope is `scope`."""
        if until < since:
            raise PeriodOrderError(since, until)
        start = dt.datetime.combine(since, dt.time(), dt.UTC)
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        async for request in self._repo.export(since=start, until=end, scope=scope):
            yield request


def _refresh(request: ApprovalRequest) -> ApprovalRefresh:
    return ApprovalRefresh(request.id, request.scope)


def _card(
    request: ApprovalRequest, dedupe_key: str, ask: ApprovalAsk | ApprovalRefresh
) -> Notification:
    """The request's card (or its refresh), to where the request was sent (a DM to its
    contact, or a post)."""
    platform, _, target = request.draft.sent_to.partition(":")
    approver = request.draft.approver
    to_contact = approver is not None and _on(approver)[1] == target
    return Notification(
        platform=platform,
        kind="dm" if to_contact else "post",
        target=target,
        dedupe_key=dedupe_key,
        payload=ask.encode(),
        lane=Lane.INTERACTIVE,  # a rep waits on it with a client
    )


def ask_payload(request: ApprovalRequest, requester_name: str | None = None) -> ApprovalAsk:
    d = request.draft
    return ApprovalAsk(
        request.id,
        d.product,
        d.where,
        d.verdict,
        d.client,
        format_money(d.deal_value, d.currency),
        d.why,
        request.requester.id,
        request.requester.platform,
        requester_name,
        scope=request.scope,
    )


# --------------------------------------------------------------------------- export

CSV_HEADER = (
    "requested_at",
    "request_id",
    "platform",
    "user_id",
    "sku",
    "product",
    "market",
    "segment",
    "answer_given",
    "client",
    "deal_value",
    "currency",
    "why",
    "sent_to",
    "status",
    "decided_at",
    "decided_by_platform",
    "decided_by",
    "note",
    "valid_until",
    "workspace",
)


def _iso(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds") if at else ""


def csv_row(r: ApprovalRequest) -> tuple[str, ...]:
    """One request as an export line (UTC, ISO 8601); the columns of CSV_HEADER."""
    d = r.draft
    return (
        _iso(r.created_at),
        str(r.id),
        r.requester.platform,
        r.requester.id,
        d.sku,
        csv_cell(d.product),
        d.region,
        d.segment or "",
        csv_cell(d.verdict),
        csv_cell(d.client),
        str(d.deal_value),
        d.currency,
        csv_cell(d.why),
        d.sent_to,
        r.status.value,
        _iso(r.decided_at),
        r.decided_by.platform if r.decided_by else "",
        r.decided_by.id if r.decided_by else "",
        csv_cell(r.note or ""),
        _iso(r.valid_until),
        r.scope,
    )


async def write_csv(rows: AsyncIterator[ApprovalRequest], out: TextIO) -> int:
    """The approvals export: a header, then one line per request with its decision."""
    return await write_rows(rows, out, CSV_HEADER, csv_row)
