"""`salesbridge chat`: a local console that runs the whole loop as text, as any user.

Commands answer as on Slack; forms become prompts, field by field; a reply's buttons are
listed by number and pressed by typing the number; and each user has an inbox, so the triage
card a sales user's feedback produced waits for a product manager after `/as`, and the DM
their decision sends waits for the sales user when `/as` goes back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import mimetypes
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot import payloads
from bot.approvals import ApprovalCard, ApprovalStatus, decided_text, requester_text
from bot.briefings import BriefingList, describe
from bot.clusters import cluster_line
from bot.commands import AnyReply, CoverageCsv
from bot.decks import UNREADABLE, DeckFile, DeckProblem, too_large
from bot.demand import DemandReport, at_stake_text, clients_text
from bot.feedback import HomeView, TriageView, decision_text
from bot.forms import Choice, FieldKind, FormField, Values, is_number
from bot.ids import Button
from bot.interactions import (
    Ask,
    Done,
    FormErrors,
    Interaction,
    Interactions,
    Outcome,
    Private,
    Refresh,
    Show,
    buttons_for,
    card_inputs,
)
from bot.items import STATUS_LABEL, Item
from bot.links import link_of
from bot.notices import notice_lines, notice_title
from bot.outbox import Failed, OutboxMessage, Sent
from bot.outbox import Outcome as Delivery
from bot.replies import (
    ALSO_ASKED,
    Ambiguous,
    Assessment,
    Battlecard,
    Capability,
    Difference,
    Help,
    History,
    NotFound,
    Notice,
    OpenForm,
    Option,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    SegmentList,
    UnknownMarket,
    band_text,
)
from bot.reports import Report
from bot.types import UserRef
from bot.workspace import Workspace

BANNER = (
    "Salesbridge console. Type a command as you would in Slack, e.g. "
    "`/product australia widget pro`.\n"
    "`/as U123` switches user, a number presses a listed button, `inbox` shows your messages, "
    "`/press feedback.from_message TEXT` sends a message's text as feedback, "
    "`help` lists commands, `quit` (or Ctrl-D) leaves. In a form, an empty line keeps what is "
    "shown (or skips an optional field) and `cancel` leaves the form."
)
CANCEL = "cancel"
TRIAGE = "triage"  # the console's triage channel: every product manager's inbox


def _verdict(a: Assessment) -> str:
    detail = a.detail()
    return a.verdict.value + (f" — {detail}" if detail else "")


def _difference(d: Difference, ask: str | None) -> str:
    other = d.ask_instead(ask)
    return f"{d.label}: {_verdict(d.assessment)}" + (f" · ask {other}" if other else "")


def _option(o: Option) -> str:
    verdict = f": {_verdict(o.assessment)}" if o.assessment else ""
    place = f" in {o.place}" if o.place else ""
    return f"  - {o.product.name}{place}{verdict}{o.exceptions}"


def render_text(reply: AnyReply | TriageView | ApprovalCard | payloads.ApprovalDecided) -> str:
    """Readable plain text: the fallback line first, then the details."""
    if isinstance(reply, payloads.ApprovalDecided):  # a DM: its text is all there is
        return "(message) " + decided_text(reply, lambda u: u.id)
    lines = [reply.fallback]
    if isinstance(reply, ApprovalCard):
        who = requester_text(reply.ask, lambda u: reply.ask.requester_name or u.id)
        decision = reply.decision(lambda u: reply.decider_name or u.id)
        shown = [*reply.lines, *([decision] if decision else []), who]
        return "\n".join([*lines, *(f"  {x}" for x in shown)])
    if isinstance(reply, Report):
        lines += [f"  - {r.name}: " + " · ".join(reply.parts(r)) for r in reply.regions]
        if reply.pms:
            lines.append("  Effort per PM:")
            lines += [f"    - {p.pm}: {reply.pm_line(p)}" for p in reply.pms]
        return "\n".join(lines)
    if isinstance(reply, BriefingList):
        for b in reply.items:
            lines.append(f"  {describe(b)}")
            lines += [
                f"    {link.label}" + (f": {link.url}" if link.url else "")
                for link in reply.links.get(b.id, ())
            ]
        return "\n".join(lines)
    if isinstance(reply, CoverageCsv):  # the file itself, to copy or redirect
        return "\n".join([*lines, f"--- {reply.filename} ---", reply.report.csv().rstrip("\n")])
    if isinstance(reply, TriageView):
        return "\n".join([*lines, *_triage_lines(reply)])
    if isinstance(reply, HomeView):
        return "\n".join([*lines, *_home_lines(reply)])
    if isinstance(reply, DemandReport):
        return "\n".join(_demand_lines(reply))
    if isinstance(reply, ProductAnswer):
        p = reply.product
        if reply.approval:
            lines.append("  " + reply.approval.text(lambda u: u.id))
        if reply.untold_text:
            lines.append(f"  {reply.untold_text}")
        below = [d for d in reply.differences if not d.asked]
        also = [d for d in reply.differences if d.asked]
        if below:  # the console has room: always the full list
            lines.append("  Except:")
            lines += [f"    - {_difference(d, reply.ask)}" for d in below]
        if also:  # the other markets and segments asked: never exceptions to the headline
            lines.append(f"  {ALSO_ASKED}:")
            lines += [f"    - {_difference(d, reply.ask)}" for d in also]
        lines.append(f"  Pricing band: {band_text(reply.assessment.band)}")
        lines.append(f"  Lifecycle: {p.lifecycle.value.upper()}   SKU: {p.sku}")
        if p.summary:
            lines.append(f"  {p.summary}")
        lines += [f"  * {t}" for t in p.traits]
        lines += [f"  vs {c.name}: {c.difference}" for c in p.competitors]
        lines += [f"  {d.title}: {d.url}" for d in p.docs]
        lines.append(f"  {reply.verified_text}")
        if reply.alternatives:
            lines.append(f"  Sellable alternatives in {reply.alternatives_where}:")
            lines += ["  " + _option(o) for o in reply.alternatives]
    elif isinstance(reply, Ambiguous | RegionOverview):
        options = reply.options if isinstance(reply, Ambiguous) else reply.sellable
        lines += [_option(o) for o in options]
    elif isinstance(reply, ProductOverview):
        lines = [f"{reply.product.name} by region:"]
        for row in reply.rows:
            lines.append(f"  - {row.region.name}: {_verdict(row.assessment)}")
            lines += [f"      except {_difference(d, reply.product.ask)}" for d in row.differences]
    elif isinstance(reply, Help):
        lines += [f"  {e}" for e in reply.examples]
        lines += [f"  {u} — {d}" for u, d in reply.commands]
    elif isinstance(reply, History):
        lines = [f"History of {reply.product_name}:"]
        for e in reply.entries:
            lines.append(f"  {e.at:%Y-%m-%d %H:%M} {e.actor}")
            lines += [f"    - {t}" for t in e.lines]
        if reply.more:
            lines.append(f"  {reply.more}")
    elif isinstance(reply, Battlecard):
        lines += [_option(r.option) + f"\n      {r.difference}" for r in reply.rivals]
    elif isinstance(reply, Capability):
        for o, m in zip(reply.options, reply.matched, strict=True):
            lines.append(_option(o) + f"\n      ({m})")
            if reply.hint:  # the console has room: every market asked, under each product
                also = [d for d in o.differences if d.asked]
                lines += [f"      - {_difference(d, o.product.ask)}" for d in also]
    elif isinstance(reply, NotFound | Notice | OpenForm | UnknownMarket | SegmentList):
        pass
    return "\n".join(lines)


def _when(at: dt.datetime | None) -> str:
    return f"{at:%d %b %Y %H:%M} UTC" if at else ""


def _triage_lines(card: TriageView) -> list[str]:
    item = card.item
    lines = [
        f"  Product: {item.product_name or '—'}   Region: {card.region_name or '—'}"
        + (f"   Customer segment: {card.segment_name}" if card.segment_name else ""),
        f"  Clients: {clients_text(item)}",
        f"  Revenue at stake: {at_stake_text(item)}",
        f"  From {item.submitter.id} on {_when(item.created_at)}",
        *(f"  > {line}" for line in item.details.splitlines()),
    ]
    if (crm := link_of(item.link)) is not None:
        lines.append(f"  {crm.label}: {crm.url}")
    if card.reminder:
        lines.insert(0, f"  Waiting for a decision since {_when(item.created_at)}")
    if card.cluster is not None:
        lines.append(f"  {cluster_line(card.cluster)}")
    if card.similar:
        lines.append(
            "  Similar open items: " + "; ".join(f"#{s.id} {s.title}" for s in card.similar)
        )
    status = f"  Status: {STATUS_LABEL[item.status]}"
    if item.decided_by:
        status += f" by {item.decided_by.id} on {_when(item.decided_at)}"
    if item.merged_into:
        status += f" (into #{item.merged_into})"
    lines.append(status)
    if item.note:
        lines.append(f"  Note: {item.note}")
    if card.problem is not None:
        lines.append(f"  ! {card.problem.message}")
    return lines


def _stake_line(item: Item) -> str:
    return f"{clients_text(item)} · {at_stake_text(item)}"


def _demand_lines(reply: DemandReport) -> list[str]:
    lines = [reply.title]
    for row in reply.rows:
        lines += [f"  {row.head}", f"      {row.facts}", f"      {row.clients_line}"]
        if row.link is not None:
            lines.append(f"      {row.link.label}: {row.link.url}")
    if not reply.rows:
        lines.append("  No open items.")
    if reply.shown:
        lines.append(f"  ({reply.shown})")
    if reply.products:
        lines.append("  By product:")
        lines += [f"    - {p.text}" for p in reply.products]
    lines += [f"  {n}" for n in reply.notes]
    return lines


def _home_lines(view: HomeView) -> list[str]:
    lines = ["  My feedback:"]
    lines += [
        f"    #{i.id} {i.title}: {STATUS_LABEL[i.status]}"
        + (f" — {i.note}" if i.note else "")
        + f"\n      {_stake_line(i)}"
        for i in view.mine
    ] or ["    nothing yet"]
    if view.mine_shown:
        lines.append(f"    ({view.mine_shown})")
    if view.approvals:
        lines += [f"  {x}" for x in view.approvals.splitlines()]
    if view.queue is not None:
        total = sum(view.counts.values())
        lines.append(f"  Open queue: {total}, {view.waiting} waiting for a decision")
        lines += [
            f"    #{i.id} {i.title} (since {_when(i.created_at)})\n      {_stake_line(i)}"
            for i in view.queue
        ]
        if view.queue_shown:
            lines.append(f"    ({view.queue_shown})")
    return lines


# --------------------------------------------------------------------------- inboxes


@dataclass
class Inboxes:
    """What the outbox delivers to console users: DMs per user, triage cards for PMs."""

    messages: dict[str, list[str]] = field(default_factory=dict)
    triage: dict[int, payloads.TriageReason] = field(default_factory=dict)  # item -> why
    # Approval requests per recipient (a user id, or TRIAGE: any product manager).
    approvals: dict[str, list[payloads.ApprovalAsk]] = field(default_factory=dict)
    # Decisions per requester: printed as messages, with Reply while more is asked.
    decided: dict[str, list[payloads.ApprovalDecided]] = field(default_factory=dict)
    # Requests whose card changed, per recipient of the card: shown again as they now are.
    refreshed: dict[str, list[payloads.ApprovalRefresh]] = field(default_factory=dict)

    async def deliver(self, message: OutboxMessage) -> Delivery:
        try:
            payload = payloads.decode(message.payload)
        except payloads.PayloadError as exc:
            return Failed(str(exc))
        if isinstance(payload, payloads.Triage):
            self.triage[payload.item_id] = payload.reason
        elif isinstance(payload, payloads.Decision):
            self.messages.setdefault(message.target, []).append(decision_text(payload))
        elif isinstance(payload, payloads.ApprovalAsk):
            self.approvals.setdefault(message.target, []).append(payload)
        elif isinstance(payload, payloads.ApprovalDecided):
            self.decided.setdefault(message.target, []).append(payload)
        elif isinstance(payload, payloads.ApprovalRefresh):
            self.refreshed.setdefault(message.target, []).append(payload)
        elif isinstance(payload, payloads.ChangeNotice):
            today = dt.datetime.now(dt.UTC).date()
            lines = notice_lines(payload, today=today)
            text = "\n".join([notice_title(payload) + ":", *(f"  - {x}" for x in lines)])
            self.messages.setdefault(message.target, []).append(text)
        elif isinstance(payload, payloads.Digest):
            text = "\n".join([payload.title + ":", *(f"  - {x}" for x in payload.lines)])
            self.messages.setdefault(message.target, []).append(text)
        return Sent({"inbox": message.target})


# --------------------------------------------------------------------------- the loop

Read = Callable[[str], Awaitable[str | None]]
CONSOLE_WORKSPACE = Workspace("console", None, "local")


class Console:
    def __init__(
        self,
        interactions: Interactions,
        *,
        user: str,
        read: Read,
        out: Callable[[str], None],
        inboxes: Inboxes | None = None,
        deliver: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.interactions = interactions
        self.user = UserRef("console", user)
        self._read = read
        self._out = out
        self.inboxes = inboxes or Inboxes()
        self._deliver = deliver  # runs the outbox for console users, if wired
        self._buttons: list[tuple[Button, tuple[FormField, ...]]] = []

    async def run(self) -> None:
        while True:
            line = await self._read(f"{self.user.id}> ")
            if line is None:
                return
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in {"quit", "exit", "/quit"}:
                return
            await self.line(line)

    async def line(self, line: str) -> None:
        if self.interactions.settings is not None:  # the console is a workspace of its own
            await self.interactions.settings.enter(CONSOLE_WORKSPACE)
        if line.startswith("/as "):
            self.user = UserRef("console", line[4:].strip())
            self._buttons = []
            self._out(f"(now acting as {self.user.id})")
            await self._show_inbox(quiet=True)
            return
        if line == "inbox":
            await self._show_inbox(quiet=False)
            return
        if line.startswith("/press "):  # any press by its id, e.g. a message action
            _, action, value = (line + " ").split(" ", 2)
            press = Interaction(self.user, action, value.strip(), {"details": value.strip()})
            await self._outcome(await self.interactions.handle(press))
            return
        if is_number(line) and 0 < int(line) <= len(self._buttons):
            button, inputs = self._buttons[int(line) - 1]
            values = await self._fill(inputs) if inputs else {}
            if values is None:
                return
            await self._outcome(
                await self.interactions.handle(
                    Interaction(self.user, button.action, button.value, values)
                )
            )
            return
        await self._outcome(await self.interactions.line(user=self.user, line=line))

    async def _outcome(self, outcome: Outcome) -> None:
        if outcome.wake or outcome.enqueue:
            await self._run_outbox()
        if isinstance(outcome, Show):
            reply = outcome.reply
            # The console has room for every exception: no "See all" to press.
            self._print(reply.everything() if isinstance(reply, ProductAnswer) else reply)
        elif isinstance(outcome, Refresh):
            self._print(outcome.card)
        elif isinstance(outcome, Ask | FormErrors):
            await self._form(outcome)
        elif isinstance(outcome, Private | Done):
            self._out(outcome.text)
        await self._show_inbox(quiet=True)

    def _print(
        self, reply: AnyReply | TriageView | ApprovalCard | payloads.ApprovalDecided
    ) -> None:
        text = render_text(reply)
        inputs = card_inputs(reply)
        self._buttons = [(b, inputs) for b in buttons_for(reply)]
        if self._buttons:
            text += "\n" + "  ".join(
                f"[{n}] {b.label}" for n, (b, _) in enumerate(self._buttons, 1)
            )
        self._out(text)

    async def _run_outbox(self) -> None:
        if self._deliver is not None:
            await self._deliver()

    async def _show_inbox(self, *, quiet: bool) -> None:
        await self._run_outbox()
        mine = self.inboxes.messages.pop(self.user.id, [])
        for text in mine:
            self._out(f"(message) {text}")
        feedback = self.interactions.feedback
        shown = bool(mine)
        for decided in self.inboxes.decided.pop(self.user.id, []):
            self._print(decided)
            shown = True
        asks = self.inboxes.approvals.pop(self.user.id, [])
        if feedback.may_decide(self.user):  # the channel's requests: any product manager
            asks += self.inboxes.approvals.pop(TRIAGE, [])
        for ask in asks:
            self._out("(approval request)")
            self._print(ApprovalCard(ask))
            shown = True
        changed = self.inboxes.refreshed.pop(self.user.id, [])
        if feedback.may_decide(self.user):
            changed += self.inboxes.refreshed.pop(TRIAGE, [])
        approvals = self.interactions.approvals
        for job in changed:
            got = None if approvals is None else await approvals.refreshed(job, platform="console")
            # The console's card has no place: it is printed again, once something became of
            # it (a requester's answer comes as a card of its own).
            if got is not None and got[0].status is not ApprovalStatus.PENDING:
                self._out("(approval request, updated)")
                self._print(got[0])
                shown = True
        if self.inboxes.triage and feedback.may_decide(self.user):
            pending, self.inboxes.triage = self.inboxes.triage, {}
            for item_id, reason in sorted(pending.items()):
                item = await feedback.get(item_id)
                if item is not None:
                    self._out(f"(triage, {reason.value})")
                    self._print(
                        await feedback.triage_view(
                            item, reminder=reason is payloads.TriageReason.REMINDER
                        )
                    )
                    shown = True
        if not shown and not quiet:
            self._out("(no new messages)")

    # -- forms as prompts

    async def _form(self, outcome: Ask | FormErrors) -> None:
        form = outcome.form
        values: Values = dict(outcome.values)
        if isinstance(outcome, FormErrors):
            for field_id, message in outcome.errors.items():
                self._out(f"  ! {field_id}: {message}")
            if form is None:
                return
            fields: tuple[FormField, ...] = tuple(f for f in form.fields if f.id in outcome.errors)
        else:
            assert form is not None
            self._out(f"== {form.title} ==" + (f"\n{form.intro}" if form.intro else ""))
            fields = form.fields
        filled = await self._fill(fields, values)
        if filled is None:
            self._out("(form cancelled)")
            return
        submission = Interaction(self.user, form.id, values=filled, state=dict(form.state))
        await self._outcome(await self.interactions.handle(submission))

    async def _fill(
        self, fields: tuple[FormField, ...], values: Values | None = None
    ) -> Values | None:
        out: Values = dict(values or {})
        for f in fields:
            got = await self._field(f, out.get(f.id) or f.initial)
            if got is _CANCELLED or not isinstance(got, str | None):
                return None
            out[f.id] = got
        return out

    async def _field(self, f: FormField, current: str | None) -> str | object | None:
        """One field: its prompt, the spec's checks, choices by number."""
        while True:
            shown = f" [{current}]" if current else ("" if f.required else " (optional)")
            choices = await self._choices(f, current)
            if choices is _CANCELLED:
                return _CANCELLED
            if choices is None:  # nothing searched for: keep or skip the field
                if current or not f.required:
                    return current
                self._out("    (required: type a few letters to search)")
                continue
            assert isinstance(choices, list)
            if not choices and f.kind in (FieldKind.SEARCH, FieldKind.MULTI_SEARCH):
                self._out("    Nothing matches that; try other words.")
                continue
            if choices:
                for n, c in enumerate(choices, 1):
                    self._out(f"    {n}. {c.label}")
            answer = await self._read(f"  {f.label}{shown}: ")
            if answer is None or answer.strip().casefold() == CANCEL:
                return _CANCELLED
            answer = answer.strip()
            if not answer:
                if current or not f.required:
                    return current
                self._out("    (required)")
                continue
            got, problem = _parse_answer(f, answer, choices)
            if problem:
                self._out(f"    {problem}")
                continue
            return got

    async def _choices(self, f: FormField, current: str | None) -> list[Choice] | object | None:
        if f.kind in (FieldKind.SELECT, FieldKind.RADIO, FieldKind.MULTI_SELECT):
            return list(f.choices)
        if f.kind in (FieldKind.SEARCH, FieldKind.MULTI_SEARCH):
            query = await self._read(f"  {f.label} — search (empty keeps {current or 'nothing'}): ")
            if query is None or query.strip().casefold() == CANCEL:
                return _CANCELLED
            if not query.strip():
                return None
            return await self.interactions.search(f.dataset or "", query.strip(), limit=20)
        return []


_CANCELLED = object()


def _parse_answer(f: FormField, answer: str, choices: list[Choice]) -> tuple[str | None, str]:
    """The value typed for `f` and, if it cannot be that, what to fix."""
    if choices:
        picks = [p.strip() for p in answer.split(",") if p.strip()]
        many = f.kind in (FieldKind.MULTI_SELECT, FieldKind.MULTI_SEARCH)
        if not all(is_number(p) and 0 < int(p) <= len(choices) for p in picks):
            return None, f"Type {'numbers' if many else 'a number'} from the list."
        if not many and len(picks) != 1:
            return None, "Type one number."
        return "\n".join(choices[int(p) - 1].value for p in picks), ""
    if f.kind is FieldKind.USERS:
        return "\n".join(x.strip() for x in answer.split(",") if x.strip()), ""
    if f.max_length and len(answer) > f.max_length:
        return None, f"At most {f.max_length} characters."
    if f.kind is FieldKind.NUMBER and not is_number(answer.replace(",", "")):
        return None, "A whole number."
    if f.kind is FieldKind.DATE:
        try:
            dt.date.fromisoformat(answer)
        except ValueError:
            return None, "A date like 2026-12-02."
    if f.kind is FieldKind.MULTILINE:
        return answer.replace("\\n", "\n"), ""
    return answer, ""


class LocalDeckFetcher:
    """The console's deck field names a file on this machine (the console runs here)."""

    async def fetch(
        self, ref: str, *, max_bytes: int, name: str | None = None
    ) -> DeckFile | DeckProblem:
        return await asyncio.to_thread(self._read, ref, max_bytes)

    @staticmethod
    def _read(ref: str, max_bytes: int) -> DeckFile | DeckProblem:
        path = Path(ref).expanduser()
        try:
            size = path.stat().st_size
            if size > max_bytes:
                return too_large(size, max_bytes)
            data = path.read_bytes()
        except OSError:
            return UNREADABLE
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return DeckFile(path.name, kind, data)


def stdin_reader(stdin: TextIO) -> Read:
    """Lines from a terminal (with a prompt) or from a pipe (a script, a test)."""
    interactive = stdin.isatty()

    async def read(prompt: str) -> str | None:
        if interactive:
            try:
                return await asyncio.to_thread(input, prompt)
            except EOFError:
                return None
        raw = stdin.readline()
        return raw.rstrip("\n") if raw else None

    return read


async def run_console(
    interactions: Interactions,
    *,
    user: str,
    stdin: TextIO = sys.stdin,
    out: Callable[[str], None] = print,
    inboxes: Inboxes | None = None,
    deliver: Callable[[], Awaitable[None]] | None = None,
) -> None:
    if stdin.isatty():
        out(BANNER)
    console = Console(
        interactions, user=user, read=stdin_reader(stdin), out=out, inboxes=inboxes, deliver=deliver
    )
    await console.run()
