"""Presses and form submissions, decided once for every platform.

Each platform parses what it received into one neutral `Interaction` (who, which action or
form, its value or values, its carried state), calls `Interactions.handle`, and renders the
neutral `Outcome` it gets back. Nothing here knows Slack, Teams or the console.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial

from bot import approvals as ap
from bot.briefings import Briefing, BriefingList, describe
from bot.channels import ChannelSetting, UnknownSetting, parse_setting
from bot.clusters import MERGE_ALL_LABEL, merge_all_value, parse_merge_all
from bot.commands import AnyReply, Bot, CoverageCsv, is_private, parse_line
from bot.editing import (
    NOT_ALLOWED,
    THEN_CLOSE,
    Tell,
    competitive_form,
    competitive_title,
    edited_title,
    page_keys,
    saved_text,
    told_people,
)
from bot.feedback import (
    ACTION_LABEL,
    ACTION_STATUS,
    ASKS_FOR_NOTE,
    FORM_TITLE,
    MORE_LABEL,
    NO_PRODUCT,
    NOT_A_PM,
    NOTE_FIELD,
    TRANSITIONS,
    Action,
    AlreadyDecided,
    Decided,
    FeedbackService,
    HomeView,
    Invalid,
    SimilarFound,
    Supported,
    TriageView,
    confirmation,
    note_form,
)
from bot.forms import Choice, Errors, FormField, FormSpec, Values, is_number
from bot.ids import ActionId, Button, Dataset, FormId
from bot.items import Item, Kind
from bot.payloads import ApprovalDecided, Coverage
from bot.ports import Lane, Notification
from bot.replies import (
    SEE_ALL_LABEL,
    SHARE_LABEL,
    VERIFY_LABEL,
    Asked,
    OpenForm,
    ProductAnswer,
    UnknownMarket,
    format_date,
)
from bot.reports import Report
from bot.search import region_choices
from bot.settings import CHANGED_TITLE, CONFLICT, Changed, Conflict, SettingsService
from bot.types import Refused, UserRef, Why

log = logging.getLogger(__name__)

# Copy, written once for every platform.
UNKNOWN_ACTION = "That button is no longer supported."
STALE = "That button no longer points at anything: ask again for a fresh answer."
SHARE_GONE = "That product or market is no longer in the catalog."
ITEM_GONE = "That item or its product is gone."
NOTHING_TO_MERGE = "There is no other open item to merge into."
FORM_STALE = "This form is out of date: open it again."
SAVED = "Saved"
BRIEFING_SAVED = "Briefing saved"
SUPPORTED = "Added your client"
SHARED = "Shared in this conversation."
# A private answer asked for in a channel or group chat where only a whole conversation
# can be written to (Teams): what the conversation sees instead.
SENT_PRIVATELY = "I've sent you this in a private chat."
MESSAGE_ME_PRIVATELY = (
    "That answer is for your eyes only. Message me in a personal chat (find Salesbridge "
    "under Apps, or select my name and Chat) and ask there."
)


class FilesTo(StrEnum):
    """Where the files of an answer (a coverage report's chart and CSV) are sent."""

    HERE = "here"  # the conversation it was asked in
    DM = "dm"  # the asker's direct message with the bot: the answer is private (is_private)


@dataclass(frozen=True, slots=True)
class AskedIn:
    """The conversation a command was asked in, where files for its answer can go."""

    conversation: str  # the platform's id (a Slack channel)
    # A direct message, taken for the asker's own with the bot: Slack names a direct message
    # between two people the same way, so the files' delivery checks (payloads.Coverage.asker).
    personal: bool = False


# Said with files asked for in a direct message between people, which the app is not in:
# they come to the asker's own direct message with it instead.
FILES_REDIRECTED = "You asked in a conversation I'm not in, so they're here."


def files_follow(reply: AnyReply, where: FilesTo) -> str:
    """The line of an answer saying where its files go."""
    if where is FilesTo.DM:
        what = "the CSV" if isinstance(reply, CoverageCsv) else "the chart and CSV"
        return f"I've sent {what} to you in a direct message."
    if isinstance(reply, CoverageCsv):
        return "The CSV follows in this conversation."
    return "Chart and CSV follow in this conversation."


NOTHING_YET = (
    "Nothing yet. Send feedback with “feedback …” or the message action “Send to product team”."
)
EDIT_LABEL = "Edit"
COMPETE_LABEL = "Add to competitive differences"
ITEM_EDIT_LABEL = "Edit the product"
CORRECT_LABEL = "Correct"
DELETE_LABEL = "Delete"


@dataclass(frozen=True, slots=True)
class Interaction:
    """A press or a submission, as every platform hands it in."""

    user: UserRef
    id: str  # an ActionId or a FormId
    value: str = ""  # the pressed button's value
    values: Values = field(default_factory=dict)  # a form's fields, or inputs on the card
    state: Mapping[str, str] = field(default_factory=dict)  # FormSpec.state, carried back
    # Where files belonging to the answer can be uploaded (a Slack channel); None where the
    # platform takes none.
    files_to: str | None = None
    instance: str = ""  # the platform's id of the form shown (a Slack view id), if any
    delivery: str = ""  # the platform's id of this very delivery (a Teams activity), if any
    user_name: str = ""  # the display name the platform gave with it, if any


# Every form carries a token of its own in its state (a Slack modal's private_metadata, a
# Teams card's data): with the values, it names one submission of that form.
SUBMIT_TOKEN = "submit"


def submission_key(i: Interaction) -> str | None:
    """One submission of one form: its token (and view id) with a hash of the values. A
    replayed request or a second click on Send gives the same key, and finds what the
    first made instead of making it again; changed values are a new submission. A form
    that carries neither (a Teams card sent before forms had tokens) is named by the
    delivery: a re-delivered activity is the same submission, another click is not."""
    token, instance = i.state.get(SUBMIT_TOKEN, ""), i.instance
    if not token and not instance:
        if not i.delivery:
            return None
        instance = f"delivery:{i.delivery}"
    # The whole state: one token may go with several pages of one form (a product's rules).
    values = json.dumps([sorted(i.values.items()), sorted(i.state.items())], ensure_ascii=False)
    raw = f"{i.user.platform}:{i.user.id}:{i.id}:{instance}:{token}:{values}"
    return hashlib.sha256(raw.encode()).hexdigest()[:48]


def _stamped(outcome: Outcome, came_from: Interaction | None = None) -> Outcome:
    """The form of an Ask or FormErrors with its submit token: the one it came back with
    when the same form is shown again, a new one for a new form."""
    if not isinstance(outcome, Ask | FormErrors):
        return outcome
    form = outcome.form
    if form is None or SUBMIT_TOKEN in form.state:
        return outcome
    same = came_from.state.get(SUBMIT_TOKEN) if came_from and came_from.id == form.id else None
    stamped = replace(form, state={**form.state, SUBMIT_TOKEN: same or uuid.uuid4().hex[:16]})
    if isinstance(outcome, Ask):
        return replace(outcome, form=stamped)
    return replace(outcome, form=stamped)


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class _Outcome:
    enqueue: tuple[Notification, ...] = ()  # for the outbox, written by the platform code
    wake: bool = False  # the outbox has new rows: deliver now


@dataclass(frozen=True, slots=True)
class Show(_Outcome):
    """Show a reply: to the asker only, or (shared) to everyone in the conversation."""

    reply: AnyReply
    shared_by: UserRef | None = None
    files: FilesTo | None = None  # where the answer's files go (None: it has none)

    @property
    def private(self) -> bool:
        """For the asker alone, wherever it was asked (bot.commands.is_private)."""
        return self.shared_by is None and is_private(self.reply)


@dataclass(frozen=True, slots=True)
class Ask(_Outcome):
    """Ask with a form (a Slack modal, a Teams card, console prompts)."""

    form: FormSpec
    values: Values = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FormErrors(_Outcome):
    """The form again, with what to fix by field; nothing the user typed is lost."""

    form: FormSpec | None  # None: not the asker's form to see again (e.g. a forged one)
    errors: Errors
    values: Values = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refresh(_Outcome):
    """The triage card as it now is (a problem, if any, told to the presser)."""

    card: TriageView


@dataclass(frozen=True, slots=True)
class Private(_Outcome):
    """A short notice for the presser alone."""

    text: str


@dataclass(frozen=True, slots=True)
class Done(_Outcome):
    """A form went through: say so (the form closes)."""

    title: str
    text: str


Outcome = Show | Ask | FormErrors | Refresh | Private | Done


# --------------------------------------------------------------------------- buttons


def buttons_for(reply: object) -> tuple[Button, ...]:
    """The presses a reply offers, the same on every platform. A shared copy offers none."""
    if isinstance(reply, ProductAnswer):
        p = reply.product
        # Both answer again every market and segment the question named, not the headline.
        whole = reply.whole_key
        out = [Button(ActionId.SHARE, SHARE_LABEL, whole)]
        if reply.hidden:
            out.insert(0, Button(ActionId.SEE_ALL, f"{SEE_ALL_LABEL} ({reply.hidden} more)", whole))
        if reply.can_verify:
            out.append(Button(ActionId.EDIT, EDIT_LABEL, p.sku))
            out.append(Button(ActionId.VERIFY, VERIFY_LABEL, p.sku))
        if reply.restricted and reply.approval is None:
            out.append(Button(ActionId.APPROVAL_REQUEST, ap.REQUEST_LABEL, reply.key))
        return tuple(out)
    if isinstance(reply, ap.ApprovalCard):
        return reply.buttons
    if isinstance(reply, ApprovalDecided):
        return ap.decided_buttons(reply)
    if isinstance(reply, TriageView):
        item = reply.item
        out = [
            Button(
                ActionId(a.value),
                ACTION_LABEL[a],
                str(item.id),
                primary=a in (Action.NOW, Action.ACTIONED),
            )
            for a in reply.allowed
        ]
        if reply.cluster is not None:
            out.append(
                Button(ActionId.TRIAGE_MERGE_ALL, MERGE_ALL_LABEL, merge_all_value(reply.cluster))
            )
        if item.kind is Kind.COMPETITIVE and item.product_sku:
            out.append(Button(ActionId.COMPETE, COMPETE_LABEL, str(item.id)))
        if item.product_sku:  # an edit from here tells the item's people what changed
            out.append(Button(ActionId.ITEM_EDIT, ITEM_EDIT_LABEL, str(item.id)))
        return tuple(out)
    if isinstance(reply, BriefingList):
        return tuple(b for briefing in reply.items for b in briefing_buttons(briefing))
    if isinstance(reply, HomeView) and reply.more:
        return (Button(ActionId.HOME_MORE, MORE_LABEL, str(reply.page + 1)),)
    return ()


def briefing_buttons(briefing: Briefing) -> tuple[Button, ...]:
    """Correct or delete one of your briefings (a menu on Slack, buttons elsewhere)."""
    return tuple(
        Button(ActionId.BRIEFING_MENU, f"{label} #{briefing.id}", f"{verb}:{briefing.id}")
        for verb, label in (("correct", CORRECT_LABEL), ("delete", DELETE_LABEL))
    )


def card_inputs(reply: object) -> tuple[FormField, ...]:
    """Inputs a card carries with its presses: a note to the submitter on every decision."""
    if isinstance(reply, TriageView) and reply.allowed:
        return (NOTE_FIELD,)
    if isinstance(reply, ap.ApprovalCard) and reply.allowed:
        return (ap.NOTE_FIELD,)
    return ()


# --------------------------------------------------------------------------- the table


Handler = Callable[[Interaction], Awaitable[Outcome]]


class Interactions:
    """The one place a press or a submission is decided."""

    def __init__(
        self,
        *,
        bot: Bot,
        feedback: FeedbackService,
        approvals: ap.ApprovalService | None = None,
        settings: SettingsService | None = None,
    ) -> None:
        self.bot = bot
        self.feedback = feedback
        self.approvals = approvals
        self.settings = settings
        self.table: dict[str, Handler] = {
            ActionId.SHARE: self._share,
            ActionId.SEE_ALL: self._see_all,
            ActionId.VERIFY: self._verify,
            ActionId.EDIT: self._edit,
            ActionId.COMPETE: self._compete,
            ActionId.ITEM_EDIT: self._item_edit,
            ActionId.BRIEFING_MENU: self._briefing_menu,
            ActionId.FROM_MESSAGE: self._from_message,
            ActionId.HOME_MORE: self._home_more,
            **{ActionId(a.value): self._triage for a in Action},
            ActionId.TRIAGE_MERGE_ALL: self._merge_all,
            ActionId.APPROVAL_REQUEST: self._approval_request,
            **{ActionId(a.value): self._approval_press for a in ap.ApprovalAction},
            FormId.APPROVAL: self._approval_submit,
            FormId.APPROVAL_NOTE: self._approval_note,
            ActionId.APPROVAL_REPLY: self._approval_reply,
            FormId.APPROVAL_ANSWER: self._approval_answer,
            FormId.FEEDBACK: self._submit_feedback,
            FormId.PRODUCT: self._save_product,
            FormId.BRIEFING: self._save_briefing,
            FormId.NOTE: self._note,
            FormId.COMPETE: self._save_competitor,
            FormId.SETTINGS: self._save_settings,
        }

    async def handle(self, i: Interaction) -> Outcome:
        handler = self.table.get(i.id)
        if handler is None:
            return Private(UNKNOWN_ACTION)
        await self.feedback.remember_name(i.user, i.user_name)
        # A form shown again in answer to its own submission keeps its token.
        return _stamped(await handler(i), i)

    async def command(
        self, *, user: UserRef, name: str, text: str, files_to: AskedIn | None = None
    ) -> Outcome:
        """A command (a Slack slash command, a typed line) as an outcome. `files_to`: the
        conversation it was asked in, where files can be uploaded (None: none can)."""
        reply = await self.bot.handle(user=user, command=name, text=text)
        if isinstance(reply, OpenForm):
            return _stamped(Ask(reply.spec))
        report = reply.report if isinstance(reply, CoverageCsv) else reply
        if isinstance(report, Report) and files_to:
            # The chart and the CSV (or, asked for, the CSV alone) take longer than an answer
            # may: the worker uploads them. A private answer's files asked for where others
            # would see them go to the asker's direct message (a user id: the platform opens
            # that conversation), as the answer itself is shown to the asker alone.
            private = Show(reply).private and not files_to.personal
            where = FilesTo.DM if private else FilesTo.HERE
            files = Notification(
                platform="slack",
                kind="coverage",
                target=user.id if where is FilesTo.DM else files_to.conversation,
                dedupe_key=f"coverage:{uuid.uuid4().hex}",
                payload=Coverage(
                    text,
                    report=report.encode(),
                    csv_only=isinstance(reply, CoverageCsv),
                    asker=user.id if files_to.personal else None,
                ).encode(),
                lane=Lane.INTERACTIVE,  # the asker waits for the chart
            )
            return Show(reply, files=where, enqueue=(files,), wake=True)
        return Show(reply)

    async def line(self, *, user: UserRef, line: str, files_to: AskedIn | None = None) -> Outcome:
        """A typed line (Teams chat, the console): see bot.commands.parse_line."""
        name, text = parse_line(line)
        return await self.command(user=user, name=name, text=text, files_to=files_to)

    async def sent_file(self, *, user: UserRef, text: str, ref: str, name: str) -> Outcome:
        """A file sent to the bot in chat: kept as a briefing's deck (bot.briefings)."""
        if self.bot.briefings is None:
            return Private(UNKNOWN_ACTION)
        return Private(await self.bot.briefings.keep_sent(user=user, text=text, ref=ref, name=name))

    async def search(self, dataset: str, query: str, *, limit: int = 100) -> list[Choice]:
        """At most `limit` choices for a search field (Slack lists 100, Teams 15), from the
        same matchers as /product."""
        query = query[:200]
        if dataset == Dataset.REGIONS:
            view = await self.feedback.catalog_view()
            return region_choices(view.catalog.regions, view.regions, query, limit)
        choices = await self.feedback.product_choices(query, limit=min(20, limit - 1))
        if dataset == Dataset.PRODUCTS:  # several products: a real one each
            return [c for c in choices if c.value != NO_PRODUCT]
        return choices  # the last one is "Not product-specific"

    async def home(self, user: UserRef) -> HomeView:
        view = await self.feedback.home(user)
        if self.approvals is not None:
            view = dataclasses.replace(view, approvals=await self.approvals.mine(user))
        if self.bot.receipts is None:
            return view
        return dataclasses.replace(view, answers=await self.bot.receipts.mine(user))

    async def _home_more(self, i: Interaction) -> Outcome:
        """The next page of the home view (a page that is not a number: the first)."""
        page = int(i.value) if i.value.isdecimal() and len(i.value) < 7 else 1
        return Show(await self.feedback.home(i.user, page))

    async def channel_setting(
        self, user: UserRef, line: str
    ) -> ChannelSetting | UnknownSetting | Refused | None:
        """ "use this channel for …": what it sets (product managers only), or None."""
        view = await self.feedback.catalog_view()
        got = parse_setting(line, view.regions, view.catalog.regions)
        if isinstance(got, ChannelSetting) and not self.feedback.may_decide(user):
            refused = Refused(NOT_A_PM, Why.NOT_ALLOWED)
            self._log_refusal(Interaction(user, f"channel.{got.role.value}"), refused)
            return refused
        return got

    # -- presses on answers

    async def _answer_named(
        self, i: Interaction, *, shared: bool
    ) -> ProductAnswer | UnknownMarket | None:
        """The answer a press's value names ("SKU|REGION[|SEGMENT]", or every market and
        segment a question named: Asked.press_value), as the asker saw it."""
        several = Asked.from_press(i.value)
        if several is not None:
            sku, asked = several
            return await self.bot.answer_again(user=i.user, sku=sku, asked=asked, shared=shared)
        sku, sep, rest = i.value.partition("|")
        region, _, segment = rest.partition("|")
        if not sep:
            return None
        return await self.bot.answer_again(
            user=i.user,
            sku=sku[:64],
            region_code=region[:32],
            segment=segment[:32] or None,
            shared=shared,
        )

    async def _share(self, i: Interaction) -> Outcome:
        answer = await self._answer_named(i, shared=True)
        if answer is None:
            return Private(SHARE_GONE)
        return Show(answer, shared_by=i.user)

    async def _see_all(self, i: Interaction) -> Outcome:
        answer = await self._answer_named(i, shared=False)
        if answer is None:
            return Private(SHARE_GONE)
        return Show(answer.everything() if isinstance(answer, ProductAnswer) else answer)

    async def _verify(self, i: Interaction) -> Outcome:
        return Private(await self.bot.verify(user=i.user, sku=i.value))

    async def _edit(self, i: Interaction) -> Outcome:
        editor = self.bot.editor
        if editor is None:
            return Private(UNKNOWN_ACTION)
        form = await editor.form(user=i.user, sku=i.value[:64])
        if isinstance(form, Refused):
            return self._refused(i, form)
        return Ask(form)

    async def _briefing_menu(self, i: Interaction) -> Outcome:
        briefings = self.bot.briefings
        verb, _, raw = i.value.partition(":")
        if briefings is None or not is_number(raw) or len(raw) > 12:
            return Private(STALE)
        if verb == "delete":
            return Private(await briefings.delete(user=i.user, briefing_id=int(raw)))
        form = await briefings.form(user=i.user, briefing_id=int(raw))
        if isinstance(form, Refused):
            return self._refused(i, form)
        return Ask(form)

    async def _from_message(self, i: Interaction) -> Outcome:
        """A message action: the message's text (and link) become the feedback form."""
        details = (i.values.get("details") or "")[:3000] or None
        permalink = i.state.get("permalink")
        return Ask(await self.feedback.form(values={"details": details}, permalink=permalink))

    # -- triage

    def _item_id(self, raw: str) -> int | None:
        return int(raw) if is_number(raw) and len(raw) < 12 else None

    async def _triage(self, i: Interaction) -> Outcome:
        item_id = self._item_id(i.value)
        if item_id is None:
            return Private(STALE)
        action = Action(i.id)
        note = (i.values.get("note") or "").strip() or None
        target = self._item_id(i.values.get("target") or "")
        # Marking it actioned always asks what shipped (all optional): the card's press
        # carries no such field.
        if action in ASKS_FOR_NOTE and (
            (action is Action.DECLINE and note is None)
            or (action is Action.MERGE and target is None)
            or action is Action.ACTIONED
        ):
            got = await self.feedback.authorize(user=i.user, item_id=item_id)
            if isinstance(got, Refused):
                return self._refused(i, got)
            if got.status not in TRANSITIONS[ACTION_STATUS[action]] and got.decided_by:
                # Decided meanwhile (or a second press): the card says by whom, no form.
                return Refresh(await self.feedback.triage_view(got, problem=AlreadyDecided(got)))
            targets = await self.feedback.merge_targets(got) if action is Action.MERGE else []
            if action is Action.MERGE and not targets:
                return Private(NOTHING_TO_MERGE)
            form = note_form(action, got, targets)
            return Ask(form, values={"note": note} if note else {})
        return await self._decide(i, item_id, action, note, target)

    async def _merge_all(self, i: Interaction) -> Outcome:
        """Merge all into this: the card's cluster merged into its item. What was merged and
        what was skipped (and why) is told to the presser; the cards refresh via the outbox."""
        parsed = parse_merge_all(i.value)
        if parsed is None:
            return Private(STALE)
        target, item_ids = parsed
        result = await self.feedback.merge_all(user=i.user, target_id=target, item_ids=item_ids)
        if isinstance(result, Refused):
            return self._refused(i, result)
        return Private(result.text, wake=bool(result.merged))

    async def _note(self, i: Interaction) -> Outcome:
        """The note form's submission (a decline or a merge, or any decision with a note)."""
        item_id = self._item_id(i.state.get("item", ""))
        try:
            action = Action(i.state.get("action", ""))
        except ValueError:
            action = None
        if item_id is None or action is None:
            return FormErrors(None, {"note": FORM_STALE}, dict(i.values))
        note = (i.values.get("note") or "").strip() or None
        target = self._item_id(i.values.get("target") or "")
        result = await self.feedback.decide(
            user=i.user,
            item_id=item_id,
            action=action,
            note=note,
            merge_into=target,
            shipped=i.values.get("shipped"),
            shipped_link=i.values.get("shipped_link"),
        )
        if isinstance(result, Decided):
            return Refresh(await self.feedback.triage_view(result.item), wake=True)
        why = result.why if isinstance(result, Refused) else None
        errors = {_NOTE_FIELD_FOR.get(why, "note"): result.message}
        item = await self.feedback.get(item_id)
        if isinstance(result, Refused):
            self._log_refusal(i, result)
            if item is None or result.why is Why.NOT_ALLOWED:
                return FormErrors(None, errors, dict(i.values))
        assert item is not None
        targets = await self.feedback.merge_targets(item) if action is Action.MERGE else []
        return FormErrors(note_form(action, item, targets), errors, dict(i.values))

    async def _decide(
        self, i: Interaction, item_id: int, action: Action, note: str | None, target: int | None
    ) -> Outcome:
        result = await self.feedback.decide(
            user=i.user, item_id=item_id, action=action, note=note, merge_into=target
        )
        if isinstance(result, Decided):
            return Refresh(await self.feedback.triage_view(result.item), wake=True)
        if isinstance(result, Refused):
            self._log_refusal(i, result)
            if result.why is Why.GONE:
                return Private(result.message)
        item = await self.feedback.get(item_id)
        if item is None:
            return Private(result.message)
        return Refresh(await self.feedback.triage_view(item, problem=result))

    async def _compete(self, i: Interaction) -> Outcome:
        editor = self.bot.editor
        item_id = self._item_id(i.value)
        item = await self.feedback.get(item_id) if item_id is not None else None
        product = (
            await editor.product(item.product_sku)
            if editor is not None and item is not None and item.product_sku
            else None
        )
        if editor is None or item is None or product is None:
            return Private(ITEM_GONE)
        if not editor.may_edit(i.user, product):
            return self._refused(i, Refused(NOT_ALLOWED, Why.NOT_ALLOWED))
        return Ask(competitive_form(item.id, product.name, item.details))

    async def _item_edit(self, i: Interaction) -> Outcome:
        """Edit the product a feedback item is about, from its card: the edit's changed
        lines are told to the item's people."""
        editor = self.bot.editor
        item_id = self._item_id(i.value)
        item = await self.feedback.get(item_id) if item_id is not None else None
        if editor is None or item is None or not item.product_sku:
            return Private(ITEM_GONE)
        form = await editor.form(user=i.user, sku=item.product_sku, item=item.id)
        if isinstance(form, Refused):
            return self._refused(i, form)
        return Ask(form)

    async def _tied_item(self, i: Interaction, sku: str) -> Item | None:
        """The feedback item an edit form was opened from, if it is still about that product."""
        item_id = self._item_id(i.state.get("item", ""))
        item = await self.feedback.get(item_id) if item_id is not None else None
        return item if item is not None and item.product_sku == sku else None

    def _tell(self, item: Item, title: Callable[[int, str], str], key: str | None) -> Tell:
        """What the item's people are sent when an edit tied to it changes the product."""
        people = self.feedback.recipients(item)

        def tell(product_name: str, lines: Sequence[str]) -> list[Notification]:
            # Without a submission key (none is ever missing today) each change is its own.
            named = key or uuid.uuid4().hex
            return told_people(item.id, people, title(item.id, product_name), lines, key=named)

        return tell

    # -- approval requests: asked on a Restricted answer, decided once by its approver

    async def _approval_request(self, i: Interaction) -> Outcome:
        if self.approvals is None:
            return Private(UNKNOWN_ACTION)
        form = await self.approvals.form(i.value[:200])
        if isinstance(form, Refused):
            return self._refused(i, form)
        return Ask(form)

    async def _approval_submit(self, i: Interaction) -> Outcome:
        if self.approvals is None:
            return Private(UNKNOWN_ACTION)
        key = i.state.get("answer", "")[:200]
        result = await self.approvals.request(
            user=i.user, key=key, values=i.values, submission=submission_key(i)
        )
        if isinstance(result, Refused):
            self._log_refusal(i, result)
            # Not the form again: what it asks about is gone or no longer needs approval.
            return FormErrors(None, {"why": result.message}, dict(i.values))
        if isinstance(result, dict):
            form = await self.approvals.form(key, i.values)
            spec = form if isinstance(form, FormSpec) else None
            return FormErrors(spec, result, dict(i.values))
        r = result.request
        return Done(
            ap.SENT_TITLE,
            f"Approval request {r.title} is with the approver. You'll get a message from me "
            "when they decide.",
            wake=True,
        )

    def _request_id(self, raw: str) -> int | None:
        return int(raw) if is_number(raw) and len(raw) < 12 else None

    async def _approval_press(self, i: Interaction) -> Outcome:
        request_id = self._request_id(i.value)
        if self.approvals is None or request_id is None:
            return Private(STALE)
        action = ap.ApprovalAction(i.id)
        note = (i.values.get("note") or "").strip() or None
        if action in ap.NEEDS_NOTE and note is None:
            got = await self.approvals.authorize(user=i.user, request_id=request_id)
            if isinstance(got, Refused):
                return self._refused(i, got)
            if got.status not in ap.DECIDED_FROM[action]:
                return Private(await self._taken(ap.AlreadyDecided(got)))
            return Ask(ap.note_form(action, got))
        return await self._approval_decide(i, request_id, action, note)

    async def _approval_note(self, i: Interaction) -> Outcome:
        request_id = self._request_id(i.state.get("request", ""))
        try:
            action = ap.ApprovalAction(i.state.get("action", ""))
        except ValueError:
            action = None
        if self.approvals is None or request_id is None or action is None:
            return FormErrors(None, {"note": FORM_STALE}, dict(i.values))
        note = (i.values.get("note") or "").strip() or None
        result = await self.approvals.decide(
            user=i.user, request_id=request_id, action=action, note=note
        )
        if isinstance(result, ap.Decided):
            return self._approval_done(result.request)
        if isinstance(result, ap.AlreadyDecided):
            return FormErrors(None, {"note": await self._taken(result)}, dict(i.values))
        self._log_refusal(i, result)
        if result.why is Why.NEEDS_NOTE:  # the form again, to write the note in
            request = await self.approvals.authorize(user=i.user, request_id=request_id)
            if isinstance(request, ap.ApprovalRequest):
                form = ap.note_form(action, request)
                return FormErrors(form, {"note": result.message}, dict(i.values))
        return FormErrors(None, {"note": result.message}, dict(i.values))

    async def _approval_decide(
        self, i: Interaction, request_id: int, action: ap.ApprovalAction, note: str | None
    ) -> Outcome:
        assert self.approvals is not None
        result = await self.approvals.decide(
            user=i.user, request_id=request_id, action=action, note=note
        )
        if isinstance(result, Refused):
            return self._refused(i, result)
        if isinstance(result, ap.AlreadyDecided):
            return Private(await self._taken(result))
        return self._approval_done(result.request)

    async def _approval_reply(self, i: Interaction) -> Outcome:
        """Reply on a "Need more info" DM: the answer form, for the requester alone."""
        request_id = self._request_id(i.value)
        if self.approvals is None or request_id is None:
            return Private(STALE)
        got = await self.approvals.may_answer(user=i.user, request_id=request_id)
        if isinstance(got, Refused):
            return self._refused(i, got)
        return Ask(ap.reply_form(got))

    async def _approval_answer(self, i: Interaction) -> Outcome:
        request_id = self._request_id(i.state.get("request", ""))
        if self.approvals is None or request_id is None:
            return FormErrors(None, {"answer": FORM_STALE}, dict(i.values))
        result = await self.approvals.reply(
            user=i.user, request_id=request_id, text=i.values.get("answer")
        )
        if isinstance(result, ap.Requested):
            return Done(
                ap.ANSWER_SENT,
                f"Your answer on request {result.request.title} is with the approver. "
                "You'll get a message from me when they decide.",
                wake=True,
            )
        self._log_refusal(i, result)
        if result.why is Why.NEEDS_NOTE:  # the form again, to write the answer in
            got = await self.approvals.may_answer(user=i.user, request_id=request_id)
            if isinstance(got, ap.ApprovalRequest):
                form = ap.reply_form(got)
                return FormErrors(form, {"answer": result.message}, dict(i.values))
        return FormErrors(None, {"answer": result.message}, dict(i.values))

    @staticmethod
    def _approval_done(r: ap.ApprovalRequest) -> Outcome:
        text = f"{ap.STATUS_LABEL[r.status]}: request {r.title}."
        if r.valid_until is not None:
            text += f" Valid until {format_date(r.valid_until.date())}."
        return Done(ap.STATUS_LABEL[r.status], text + " The requester is told.", wake=True)

    async def _taken(self, taken: ap.AlreadyDecided) -> str:
        """Who decided, by the name they are known by where we know it."""
        assert self.approvals is not None
        by = taken.request.decided_by
        names = await self.approvals.names([by]) if by is not None else {}
        return taken.message_for(lambda u: names.get(u) or u.id)

    # -- forms

    async def _submit_feedback(self, i: Interaction) -> Outcome:
        permalink = i.state.get("permalink")
        result = await self.feedback.submit(
            user=i.user, values=i.values, permalink=permalink, submission=submission_key(i)
        )
        shown = partial(self.feedback.form, values=i.values, permalink=permalink)
        if isinstance(result, Invalid | Refused):
            form = await shown()
            if isinstance(result, Invalid):
                return FormErrors(form, result.errors, dict(i.values))
            return FormErrors(form, _on(form, "duplicate_of", result.message), dict(i.values))
        if isinstance(result, SimilarFound):
            form = await shown(similar=result.similar)
            return Ask(form, values=dict(i.values))
        title = SUPPORTED if isinstance(result, Supported) else FORM_TITLE
        return Done(title, confirmation(result), wake=True)

    async def _save_product(self, i: Interaction) -> Outcome:
        editor = self.bot.editor
        if editor is None:
            return Private(UNKNOWN_ACTION)
        sku = i.state.get("sku", "")[:64]
        page = _page_number(i.state.get("page", ""))
        item = await self._tied_item(i, sku)
        tied = item.id if item is not None else None
        submission = submission_key(i)
        result = await editor.submit(
            user=i.user,
            sku=sku,
            values=i.values,
            page=page_keys(i.state),
            submission=submission,
            basis=i.state.get("basis"),
            tell=None if item is None else self._tell(item, edited_title, submission),
        )
        if isinstance(result, Refused):
            self._log_refusal(i, result)
            shown = None if result.why in (Why.NOT_ALLOWED, Why.GONE) else result
            form = await editor.form(user=i.user, sku=sku, page=page, item=tied) if shown else None
            spec = form if isinstance(form, FormSpec) else None
            return FormErrors(spec, {"lifecycle": result.message}, dict(i.values))
        if isinstance(result, dict):
            form = await editor.form(user=i.user, sku=sku, page=page, item=tied)
            spec = form if isinstance(form, FormSpec) else None
            return FormErrors(spec, result, dict(i.values))
        then = i.values.get("then") or THEN_CLOSE
        if then != THEN_CLOSE:  # on to another page of rules, saying what this one did
            form = await editor.form(
                user=i.user, sku=sku, page=_page_number(then), saved=saved_text(result), item=tied
            )
            if isinstance(form, FormSpec):
                return Ask(form, wake=True)
        if item is not None:  # back to the item's card the form was opened from, as COMPETE
            return Refresh(await self.feedback.triage_view(item), wake=True)
        return Done(SAVED, saved_text(result), wake=True)

    async def _save_briefing(self, i: Interaction) -> Outcome:
        briefings = self.bot.briefings
        if briefings is None:
            return Private(UNKNOWN_ACTION)
        raw = i.state.get("briefing", "")
        briefing_id = int(raw) if is_number(raw) and len(raw) < 12 else None
        result = await briefings.save(
            user=i.user, values=i.values, briefing_id=briefing_id, submission=submission_key(i)
        )
        if isinstance(result, Refused):
            self._log_refusal(i, result)
            return FormErrors(None, {"held_on": result.message}, dict(i.values))
        if isinstance(result, dict):
            form = await briefings.form(user=i.user, briefing_id=briefing_id)
            spec = form if isinstance(form, FormSpec) else None
            return FormErrors(spec, result, dict(i.values))
        return Done(BRIEFING_SAVED, f"Saved: {describe(result)}")

    async def _save_competitor(self, i: Interaction) -> Outcome:
        editor = self.bot.editor
        item_id = self._item_id(i.state.get("item", ""))
        item = await self.feedback.get(item_id) if item_id is not None else None
        if editor is None or item is None or not item.product_sku:
            return Private(ITEM_GONE)
        product = await editor.product(item.product_sku)
        form = competitive_form(item.id, product.name if product else "", item.details)
        name = (i.values.get("competitor") or "").strip()
        difference = (i.values.get("difference") or "").strip()
        submission = submission_key(i)
        tell = self._tell(item, competitive_title, submission)
        notify = tell(product.name if product else "", [f"vs {name}: {difference}"])
        result = await editor.add_competitor(
            user=i.user,
            sku=item.product_sku,
            name=name,
            difference=difference,
            notify=notify,
            submission=submission,
        )
        if isinstance(result, Refused):
            self._log_refusal(i, result)
            return FormErrors(None, {"difference": result.message}, dict(i.values))
        if isinstance(result, dict):
            return FormErrors(form, result, dict(i.values))
        # Back to the item's card the form was opened from (the form closes on Slack).
        return Refresh(await self.feedback.triage_view(item), wake=True)

    async def _save_settings(self, i: Interaction) -> Outcome:
        """A workspace's settings form (bot.settings decides; it logs a refusal itself,
        with the workspace)."""
        if self.settings is None:
            return Private(UNKNOWN_ACTION)
        result = await self.settings.submit(user=i.user, values=i.values, state=i.state)
        if isinstance(result, Refused):  # not the asker's form to see again
            return FormErrors(None, {"product_managers": result.message}, dict(i.values))
        if isinstance(result, Conflict):  # shown again with what the other admin saved
            return Ask(replace(result.form, intro=CONFLICT))
        if isinstance(result, Changed):
            return Done(CHANGED_TITLE, result.text, wake=bool(result.changes))
        form = await self.settings.form(i.user)
        spec = form if isinstance(form, FormSpec) else None
        return FormErrors(spec, result, dict(i.values))

    # -- refusals, decided from data in one place

    def _refused(self, i: Interaction, refused: Refused) -> Outcome:
        self._log_refusal(i, refused)
        return Private(refused.message)

    @staticmethod
    def _log_refusal(i: Interaction, refused: Refused) -> None:
        if refused.why is Why.NOT_ALLOWED:
            # Someone pressed or submitted what their role does not allow: worth a line.
            log.warning(
                "interaction refused",
                extra={"user": i.user.id, "platform": i.user.platform, "action": i.id},
            )


# Where the note form shows a refusal: by the field it is about.
_NOTE_FIELD_FOR: Mapping[Why | None, str] = {Why.BAD_TARGET: "target", Why.BAD_LINK: "shipped_link"}


def _page_number(raw: str) -> int:
    return int(raw) if is_number(raw) and len(raw) < 6 else 0


def _on(form: FormSpec, preferred: str, message: str) -> Errors:
    """An error for the field `preferred`, or the form's first field if it has no such one."""
    ids = [f.id for f in form.fields]
    return {preferred if preferred in ids else ids[0]: message}


def all_ids() -> Sequence[str]:
    """Every neutral action and form id (the parity test walks these)."""
    return [*ActionId, *FormId]
