"""Render bot replies as Block Kit dicts (plus the one-line fallback `text`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.approvals import ApprovalCard, decided_text, requester_text
from bot.briefings import Briefing, BriefingList, describe
from bot.clusters import cluster_line
from bot.commands import AnyReply, CoverageCsv
from bot.demand import DemandReport, at_stake_text, clients_text
from bot.feedback import NO_PRODUCT_LABEL, AlreadyDecided, HomeView, TriageView, decision_text
from bot.forms import FormField
from bot.ids import ActionId, Button
from bot.interactions import FilesTo, briefing_buttons, buttons_for, card_inputs, files_follow
from bot.items import KIND_LABEL, STATUS_LABEL, URGENCY_LABEL, Item
from bot.links import link_of
from bot.notices import notice_lines, notice_title
from bot.payloads import ApprovalDecided, ChangeNotice, Decision
from bot.replies import (
    ALSO_ASKED,
    MORE,
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
    more_text,
)
from bot.reports import Report, unlisted_regions
from bot.types import Refused, UserRef, Verdict

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
Message = dict[str, Any]

_ICON = {
    Verdict.AVAILABLE: ":large_green_circle:",
    Verdict.RESTRICTED: ":large_orange_circle:",
    Verdict.PLANNED: ":calendar:",
    Verdict.NOT_AVAILABLE: ":no_entry:",
    Verdict.WITHDRAWN: ":x:",
}
MAX_TEXT = 3000  # a section's (or a context element's) text may hold 3,000 characters
_BOUNDARY = 200  # how far back a cut looks for the end of a line or a word


def esc(text: str) -> str:
    """Escape catalog text for mrkdwn so it can never ping or link by accident."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """mrkdwn that fits `limit` characters: cut at the end of a line or word, never inside
    an escape (`&amp;`) or a link or mention (`<…>`), and marked as cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(MORE) - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    tag = cut.rfind("<")
    if tag != -1 and ">" not in cut[tag:]:
        cut = cut[:tag]
    for sep in ("\n", " "):
        at = cut.rfind(sep)
        if at > len(cut) - _BOUNDARY:
            cut = cut[:at]
            break
    return f"{cut.rstrip()} {MORE}"


_WEB = re.compile(r"^https?://[^\s<>|]+$")


def link(url: str, label: str) -> str:
    """A link to a web address; anything else (a stored value that is no http(s) address,
    or one that would break out of `<url|label>`) is shown as escaped text, not a link."""
    if not _WEB.match(url):
        return esc(f"{label}: {url}")
    return f"<{url.replace('&', '&amp;')}|{esc(label)}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def _verdict(a: Assessment) -> str:
    detail = a.detail()
    return f"{_ICON[a.verdict]} *{a.verdict.value}*" + (f" — {esc(detail)}" if detail else "")


def _option_line(o: Option) -> str:
    if o.assessment is None:
        return f"• *{esc(o.product.name)}* ({esc(o.product.sku)})"
    place = f" in *{esc(o.place)}*" if o.place else ""
    line = f"• *{esc(o.product.name)}*{place}: {_verdict(o.assessment)}"
    return line + esc(o.exceptions)


def who(user_id: str | None) -> str:
    """A person to ask: a mention when it is a Slack user id, else the id as text."""
    if not user_id:
        return ""
    platform, sep, uid = user_id.partition(":")
    if sep and platform == "slack":
        user_id = uid
    return f"<@{user_id}>" if _USER_ID.match(user_id) else esc(user_id)


def _difference_line(d: Difference, ask: str | None) -> str:
    other = d.ask_instead(ask)
    return f"• *{esc(d.label)}*: {_verdict(d.assessment)}" + (
        f" · ask {who(other)}" if other else ""
    )


MAX_LIST_SECTIONS = 30  # a message holds 50 blocks; the rest of an answer needs fewer


def _listed(
    head: str, lines: Sequence[str], sections: int = MAX_LIST_SECTIONS
) -> list[dict[str, Any]]:
    """`lines` under `head` in as few sections as their length allows, each cut between
    lines (never inside one), within a message's block limit (`sections` of them)."""
    out: list[dict[str, Any]] = []
    text = head
    for n, line in enumerate(lines):
        if len(text) + 1 + len(line) > MAX_TEXT:
            out.append(_section(text))
            if len(out) >= sections:
                out.append(_context(f"… and {len(lines) - n} more: ask about one market"))
                return out
            text = line
        else:
            text = f"{text}\n{line}" if text else line
    if text:
        out.append(_section(text))
    return out


def _whole_truth(r: ProductAnswer) -> list[dict[str, Any]]:
    """The exceptions beneath the answer, and the "and N more" line."""
    if not r.differences:
        return []
    shown = r.shown_differences
    below = [_difference_line(d, r.ask) for d in shown if not d.asked]
    also = [_difference_line(d, r.ask) for d in shown if d.asked]
    out = _listed("*Except*", below) if below else []
    if also:  # the other markets and segments asked: never exceptions to the headline
        out += _listed(f"*{ALSO_ASKED}*", also, max(1, MAX_LIST_SECTIONS - len(out)))
    if r.hidden:
        out.append(_context(esc(more_text(r.hidden))))
    return out


def product_answer(r: ProductAnswer, *, share: bool = True) -> list[dict[str, Any]]:
    p, a = r.product, r.assessment
    for_whom = f" for *{esc(r.segment.name)}*" if r.segment else ""
    ask = f"\nAsk {who(r.ask)}" if r.ask else ""
    lacking = (
        [_section(f"{_ICON[Verdict.NOT_AVAILABLE]} {esc(r.unknown_text)}")]
        if r.unknown_text
        else []
    )
    blocks: list[dict[str, Any]] = [
        *lacking,  # default deny first: the message never reads better than the worst case
        _section(f"*{esc(p.name)}* in *{esc(r.region.name)}*{for_whom}\n{_verdict(a)}{ask}"),
        *([_context(esc(r.untold_text))] if r.untold_text else []),
        *([_context(":white_check_mark: " + r.approval.text(mention, esc))] if r.approval else []),
        *_whole_truth(r),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Pricing band*\n{esc(band_text(a.band))}"},
                {"type": "mrkdwn", "text": f"*Lifecycle*\n{p.lifecycle.value.upper()}"},
            ],
        },
    ]
    if p.summary:
        blocks.append(_section(esc(p.summary)))
    if p.traits:
        blocks.append(_section("*Key traits*\n" + "\n".join(f"• {esc(t)}" for t in p.traits)))
    if p.competitors:
        blocks.append(
            _section(
                "*How it wins*\n"
                + "\n".join(f"• vs *{esc(c.name)}*: {esc(c.difference)}" for c in p.competitors)
            )
        )
    if p.docs:
        blocks.append(
            _section("*Documents*\n" + "\n".join(f"• {link(d.url, d.title)}" for d in p.docs))
        )
    if r.alternatives:
        blocks.append(
            _section(
                f"*Sellable alternatives in {esc(r.alternatives_where)}*\n"
                + "\n".join(_option_line(o) for o in r.alternatives)
            )
        )
    verified = esc(r.verified_text)
    if r.verified:
        verified = verified.replace(esc(r.verified.by), who(r.verified.by))
    blocks.append(_context(f"SKU {esc(p.sku)} · {verified}"))
    if share:
        blocks += actions(buttons_for(r))
    return blocks


def button(b: Button) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "button",
        "action_id": b.action.value,
        "text": {"type": "plain_text", "text": b.label[:75]},
        "value": b.value,
    }
    if b.primary:
        out["style"] = "primary"
    return out


def actions(buttons: Sequence[Button], block_id: str | None = None) -> list[dict[str, Any]]:
    """The presses of a reply as actions blocks (at most 25 elements each)."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(buttons), 25):
        block: dict[str, Any] = {
            "type": "actions",
            "elements": [button(b) for b in buttons[start : start + 25]],
        }
        if block_id is not None and start == 0:
            block["block_id"] = block_id
        out.append(block)
    return out


# The blocks of recent product answers. A catalog version hands out one answer object per
# product and market (bot.catalog.product_answer), so the same question asked again in
# that version is keyed by those objects' identities; the entry keeps them alive, so an id
# cannot be reused by another object while its entry exists.
@dataclass(slots=True)
class _Rendered:
    held: tuple[object, ...]  # the answer's parts, kept alive while their ids are a key
    text: str
    blocks: list[dict[str, Any]]
    ephemeral_json: str | None = None  # the whole ack body, once asked for


_ANSWER_BLOCKS: dict[tuple[object, ...], _Rendered] = {}
_ANSWER_BLOCKS_MAX = 4096


# The same answer object asked for again (answers and decorated answers are shared
# objects, see bot.commands): found by its identity before its parts' key is built.
_BY_ANSWER: dict[tuple[int, bool], tuple[ProductAnswer, _Rendered]] = {}


def _rendered(reply: ProductAnswer, share: bool) -> _Rendered:
    same = _BY_ANSWER.get((id(reply), share))
    if same is not None and same[0] is reply:
        return same[1]
    got = _rendered_parts(reply, share)
    if len(_BY_ANSWER) >= _ANSWER_BLOCKS_MAX:
        _BY_ANSWER.clear()
    _BY_ANSWER[(id(reply), share)] = (reply, got)
    return got


def _rendered_parts(reply: ProductAnswer, share: bool) -> _Rendered:
    held = (
        reply.product,
        reply.region,
        reply.assessment,
        reply.alternatives,
        reply.segment,
        reply.differences,
    )
    key = (
        *map(id, held),
        reply.verified,
        reply.can_verify,
        reply.show_all,
        share,
        reply.approval,
        reply.asked,
    )
    hit = _ANSWER_BLOCKS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit.held, held, strict=True)):
        return hit
    if len(_ANSWER_BLOCKS) >= _ANSWER_BLOCKS_MAX:
        _ANSWER_BLOCKS.clear()
    hit = _ANSWER_BLOCKS[key] = _Rendered(
        held, esc(reply.fallback), product_answer(reply, share=share)
    )
    return hit


def _product_answer_cached(reply: ProductAnswer, share: bool) -> Message:
    got = _rendered(reply, share)
    # A new list: a caller may append to it (a "Shared by" line).
    return {"text": got.text, "blocks": list(got.blocks)}


def ephemeral_json(reply: AnyReply, files: FilesTo | None = None) -> str:
    """The body of an ack that shows `reply` to the asker only, as JSON text. A product
    answer's is kept with its blocks: encoding its ~1.4 KB again on every lookup took ~7 %
    of the CPU of each answer."""
    if isinstance(reply, ProductAnswer):
        got = _rendered(reply, True)
        if got.ephemeral_json is None:
            got.ephemeral_json = json.dumps(
                {"text": got.text, "blocks": got.blocks, "response_type": "ephemeral"}
            )
        return got.ephemeral_json
    return json.dumps({**render(reply, files=files), "response_type": "ephemeral"})


def render(reply: AnyReply, *, share: bool = True, files: FilesTo | None = None) -> Message:
    """A message body: `text` (the fallback line) and `blocks`; `files`: where the answer's
    files go (bot.interactions.Show.files), said under it."""
    blocks: list[dict[str, Any]]
    if isinstance(reply, Report):
        return coverage(reply, files)
    if isinstance(reply, CoverageCsv):
        text = esc(reply.fallback)
        blocks = [_section(text)]
        if files is not None:
            blocks.append(_context(esc(files_follow(reply, files))))
        return {"text": text, "blocks": blocks}
    if isinstance(reply, BriefingList):
        return briefing_list(reply)
    if isinstance(reply, DemandReport):
        return demand(reply)
    if isinstance(reply, ProductAnswer):
        return _product_answer_cached(reply, share)
    if isinstance(reply, Ambiguous):
        blocks = [
            _section(f"{reply.count_text} match “{esc(reply.query)}”{esc(reply.where)}:"),
            _section("\n".join(_option_line(o) for o in reply.options)),
            *([_context(esc(reply.unknown_text))] if reply.unknown_text else []),
            _context(esc(reply.hint)),
        ]
    elif isinstance(reply, RegionOverview):
        head = f"*Sellable in {esc(reply.where)}*: {reply.total_sellable} products"
        listed = "\n".join(_option_line(o) for o in reply.sellable) or "Nothing recorded."
        blocks = [_section(head), _section(listed)]
        if reply.total_sellable > len(reply.sellable):
            blocks.append(_context(f"Showing {len(reply.sellable)}. Name a product for details."))
    elif isinstance(reply, ProductOverview):
        lines: list[str] = []
        for row in reply.rows:
            lines.append(f"• *{esc(row.region.name)}*: {_verdict(row.assessment)}")
            lines += [
                "    " + _difference_line(d, reply.product.ask).replace("• ", "◦ except ", 1)
                for d in row.differences
            ]
        blocks = [
            _section(f"*{esc(reply.product.name)}* by region"),
            *_listed("", lines),
            _context(
                "Name a market for the full answer, e.g. `/product uk "
                + esc(reply.product.name.lower())
                + "`"
            ),
        ]
    elif isinstance(reply, NotFound | SegmentList):
        blocks = [_section(esc(reply.fallback))]
    elif isinstance(reply, UnknownMarket):
        text = esc(reply.fallback)
        if reply.ask:
            text = text.replace(esc(reply.ask), who(reply.ask))
        blocks = [_section(f"{_ICON[Verdict.NOT_AVAILABLE]} {text}")]
    elif isinstance(reply, Battlecard):
        where = f" in *{esc(reply.region.name)}*" if reply.region else ""
        lines = [_option_line(r.option) + f"\n    {esc(r.difference)}" for r in reply.rivals]
        blocks = [*_listed(f"*Against {esc(reply.competitor)}*{where}", lines)]
    elif isinstance(reply, Capability):
        found = [
            _option_line(o) + f"\n    _{esc(m)}_"
            for o, m in zip(reply.options, reply.matched, strict=True)
        ]
        blocks = [*_listed(f"*Products with “{esc(reply.query)}”*{esc(reply.where)}", found)]
        if reply.hint:
            blocks.append(_context(esc(reply.hint)))
    elif isinstance(reply, Help):
        blocks = [
            _section(esc(reply.intro) + "\n" + "\n".join(f"• `{esc(e)}`" for e in reply.examples)),
            _context(" · ".join(f"`{esc(u)}`: {esc(d)}" for u, d in reply.commands)),
        ]
    elif isinstance(reply, Notice | OpenForm):
        blocks = [_section(esc(reply.fallback))]
    elif isinstance(reply, History):
        blocks = [_section(f"*History of {esc(reply.product_name)}*")]
        for e in reply.entries:
            actor = who(e.actor)
            blocks.append(
                _section(f"*{_when(e.at)}* · {actor}\n" + "\n".join(f"• {esc(t)}" for t in e.lines))
            )
        if not reply.entries:
            blocks.append(_section("No recorded changes yet."))
        if reply.more:
            blocks.append(_context(esc(reply.more)))
    else:  # pragma: no cover - exhaustiveness guard
        raise TypeError(f"no renderer for {type(reply).__name__}")
    return {"text": esc(reply.fallback), "blocks": blocks}


# --------------------------------------------------------------------------- feedback


def _when(at: Any) -> str:
    return at.strftime("%d %b %Y %H:%M UTC") if at else ""


def mention(user: UserRef, names: Mapping[UserRef, str] | None = None) -> str:
    """A person in Slack text: a mention for a Slack user; anyone else by their display
    name (escaped), since their id means nothing here."""
    if user.platform == "slack" and _USER_ID.match(user.id):
        return f"<@{user.id}>"
    name = (names or {}).get(user)
    if name:
        return esc(name)
    return f"a {user.platform.title()} user" if user.platform != "slack" else esc(user.id)


def shared_marker(user: UserRef) -> dict[str, Any]:
    return _context(f"Shared by {mention(user)}")


def triage_card(card: TriageView) -> Message:
    """The item as PMs see it in the triage channel, with the presses its status allows and
    a note to the submitter that travels with any of them."""
    item = card.item
    product = esc(item.product_name) if item.product_name else NO_PRODUCT_LABEL
    head = f"*#{item.id} · {esc(item.title)}*"
    if card.reminder:
        head = f":hourglass: Waiting for a decision since {_when(item.created_at)}\n" + head
    blocks: list[dict[str, Any]] = [
        _section(head),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Product*\n{product}"},
                {"type": "mrkdwn", "text": f"*Kind*\n{KIND_LABEL[item.kind]}"},
                {"type": "mrkdwn", "text": "*Clients*\n" + clip(esc(clients_text(item)), 1900)},
                {"type": "mrkdwn", "text": f"*Region*\n{esc(card.region_name or '—')}"},
                *(
                    [{"type": "mrkdwn", "text": f"*Customer segment*\n{esc(card.segment_name)}"}]
                    if card.segment_name
                    else []
                ),
                {"type": "mrkdwn", "text": f"*Revenue at stake*\n{esc(at_stake_text(item))}"},
                {"type": "mrkdwn", "text": f"*Urgency*\n{URGENCY_LABEL[item.urgency]}"},
            ],
        },
        _section(">" + esc(item.details).replace("\n", "\n>")),
    ]
    links = [f"{mention(item.submitter, card.names)} on {_when(item.created_at)}"]
    if (crm := link_of(item.link)) is not None:
        links.append(link(crm.url, crm.label))
    if item.permalink:
        links.append(link(item.permalink, "original message"))
    blocks.append(_context("From " + " · ".join(links)))
    if item.merged:
        blocks.append(_context("Merged in: " + ", ".join(f"#{i}" for i in item.merged)))
    if card.cluster is not None:
        blocks.append(_context(esc(cluster_line(card.cluster))))
    if card.similar:
        blocks.append(
            _context(
                "Similar open items: " + "; ".join(f"#{s.id} {esc(s.title)}" for s in card.similar)
            )
        )
    status = f"*Status:* {STATUS_LABEL[item.status]}"
    if item.decided_by:
        status += f" by {mention(item.decided_by, card.names)} on {_when(item.decided_at)}"
    if item.merged_into:
        status += f" (into #{item.merged_into})"
    if item.note:
        status += f"\n*Note:* {esc(item.note)}"
    blocks.append(_section(status))
    blocks += [_input(f) for f in card_inputs(card)]
    blocks += actions(buttons_for(card), block_id=f"triage:{item.id}")
    return {"text": esc(card.fallback), "blocks": blocks}


def _input(f: FormField) -> dict[str, Any]:
    """An input a message carries: its value comes back with any press in the message."""
    return {
        "type": "input",
        "block_id": f.id,
        "optional": not f.required,
        "label": {"type": "plain_text", "text": f.label},
        "element": {
            "type": "plain_text_input",
            "action_id": f.id,
            "multiline": True,
            **({"max_length": f.max_length} if f.max_length else {}),
        },
    }


def problem_text(problem: AlreadyDecided | Refused) -> str:
    """What the presser is told, as mrkdwn (the decider as a mention)."""
    if isinstance(problem, AlreadyDecided):
        return problem.message_for(mention)
    return esc(problem.message)


def approval_card(card: ApprovalCard, names: Mapping[UserRef, str] | None = None) -> Message:
    """An approval request as its decider sees it: what was asked, by whom, what became of
    it, and the presses still open (a note to the requester travels with any of them)."""
    a = card.ask
    requester = UserRef(a.requester_platform, a.requester)
    known = {requester: a.requester_name} if a.requester_name else {}
    if card.decided_by is not None and card.decider_name:
        known[card.decided_by] = card.decider_name
    every = {**known, **(names or {})}
    decision = card.decision(lambda u: mention(u, every), esc)
    blocks: list[dict[str, Any]] = [
        _section(f"*Approval request #{a.request_id} · {esc(a.product)} in {esc(a.where)}*"),
        _section("\n".join(esc(line) for line in card.lines)),
        *([_section(decision)] if decision else []),
        _context(requester_text(a, lambda u: mention(u, every))),
        *(_input(f) for f in card_inputs(card)),
        *actions(buttons_for(card), block_id=f"approval:{a.request_id}"),
    ]
    return {"text": esc(card.fallback), "blocks": blocks}


def approval_decided_dm(decided: ApprovalDecided) -> Message:
    """The requester's DM (with Reply while more information is asked)."""
    text = decided_text(decided, mention, esc)
    presses = actions(buttons_for(decided), block_id=f"approval-dm:{decided.request_id}")
    return {"text": clip(text), "blocks": [_section(text), *presses]}


def decision_dm(decision: Decision) -> Message:
    text = decision_text(decision)
    return {"text": esc(text), "blocks": [_section(esc(text))]}


def _stake_line(item: Item) -> str:
    """An item's clients with their deals, and its total."""
    return f"{clip(esc(clients_text(item)), 1500)} · {esc(at_stake_text(item))}"


def home(view: HomeView) -> dict[str, Any]:
    """App Home: my feedback with statuses and notes; for PMs, the open queue."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "My feedback"}},
    ]
    if not view.mine:
        blocks.append(
            _section("Nothing yet. Use `/feedback` or the message shortcut *Send to product team*.")
        )
    for item in view.mine:  # one page: at most MINE_PAGE
        line = f"*#{item.id}* {esc(item.title)}\n{STATUS_LABEL[item.status]}"
        if item.merged_into:
            line += f" into #{item.merged_into}"
        if item.note:
            line += f" — _{esc(item.note)}_"
        blocks.append(_section(clip(line + "\n" + _stake_line(item), 2900)))
    if view.mine_shown:
        blocks.append(_context(view.mine_shown))
    if view.queue is not None:
        blocks.append({"type": "divider"})
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Open queue"}})
        counts = " · ".join(f"{STATUS_LABEL[s]}: *{n}*" for s, n in view.counts.items())
        blocks.append(_section(counts))
        for item in view.queue:  # most at stake first, at most QUEUE_PAGE
            blocks.append(
                _section(
                    clip(
                        f"*#{item.id}* {esc(item.title)}\nwaiting since "
                        f"{_when(item.created_at)}\n{_stake_line(item)}",
                        2900,
                    )
                )
            )
        if view.queue_shown:
            blocks.append(_context(f"Waiting for a decision: {view.queue_shown}"))
    blocks += actions(buttons_for(view))
    if view.answers:
        blocks.append({"type": "divider"})
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "My answers"}})
        blocks.append(_section(esc(view.answers)))
    if view.approvals:
        blocks.append({"type": "divider"})
        blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": "My approval requests"}}
        )
        blocks.append(_section(esc(view.approvals)))
    return {"type": "home", "blocks": blocks[:100]}


def change_notice(notice: ChangeNotice, *, today: dt.date) -> Message:
    """The DM to someone whose answer changed: who to ask is a mention."""
    lines = notice_lines(notice, today=today, esc=esc, who=who)
    title = esc(notice_title(notice))
    return {
        "text": clip(f"{title}: " + " ".join(lines)),
        "blocks": [_section(f"*{title}*"), _section("\n".join(f"• {ln}" for ln in lines))],
    }


def digest(title: str, lines: Sequence[str]) -> Message:
    """An announcement or a subscriber's DM: one message, however many changes."""
    body = "\n".join(f"• {esc(line)}" for line in lines)
    return {
        "text": clip(esc(f"{title}: " + "; ".join(lines))),
        "blocks": [_section(f"*{esc(title)}*"), _section(body)],
    }


# --------------------------------------------------------------------------- briefings


def coverage(report: Report, files: FilesTo | None = None) -> Message:
    """The coverage report: regions needing attention first, then effort and turnaround;
    then where its chart and CSV go."""
    icon = {
        "on track": ":large_green_circle:",
        "behind": ":large_orange_circle:",
        "none": ":red_circle:",
    }
    lines = [
        f"{icon[r.status]} *{esc(r.name)}*: " + esc(" · ".join(report.parts(r)))
        for r in report.regions
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Coverage {report.period.label}"[:150]},
        },
    ]
    per, room = 8, 50 - 4  # 8 lines a section (of 3,000 characters); header, PMs, 2 notes
    listed = lines[: per * room]
    for start in range(0, len(listed), per):
        blocks.append(_section("\n".join(listed[start : start + per])))
    if len(listed) < len(lines):
        blocks.append(_context(unlisted_regions(len(lines) - len(listed))))
    if report.pms:
        blocks.append(
            _section(
                "*Effort per PM*\n"
                + "\n".join(f"• <@{p.pm}>: {esc(report.pm_line(p))}" for p in report.pms)
            )
        )
    if files is not None:
        blocks.append(_context(esc(files_follow(report, files))))
    return {"text": clip(esc(report.fallback)), "blocks": blocks[:50]}


def demand(reply: DemandReport) -> Message:
    """`/feedback top`: the ranked items (each with its clients and CRM link), then the
    roll-up by product. At most TOP items and PRODUCTS_SHOWN products: under 50 blocks."""
    blocks: list[dict[str, Any]] = [_section(f"*{esc(reply.title)}*")]
    for row in reply.rows:
        text = f"*{esc(row.head)}*\n{esc(row.facts)}\n{esc(row.clients_line)}"
        if row.link is not None:
            text += " · " + link(row.link.url, row.link.label)
        blocks.append(_section(clip(text, 2900)))
    if not reply.rows:
        blocks.append(_section("No open items."))
    if reply.shown:
        blocks.append(_context(esc(reply.shown)))
    if reply.products:
        lines = "\n".join(f"• {esc(p.text)}" for p in reply.products)
        blocks.append(_section(clip("*By product*\n" + lines, 2900)))
    blocks += [_context(esc(n)) for n in reply.notes]
    return {"text": clip(esc(reply.fallback)), "blocks": blocks[:50]}


def _deck_links(reply: BriefingList, b: Briefing) -> str:
    """The deck as linked and its kept copy, each a link (the label alone if unlinked)."""
    out = [
        f"<{link.url}|{esc(link.label)}>" if link.url else esc(link.label)
        for link in reply.links.get(b.id, ())
    ]
    return ("\n" + " · ".join(out)) if out else ""


def briefing_list(reply: BriefingList) -> Message:
    """A PM's briefings, each with a menu to correct or delete it."""
    blocks: list[dict[str, Any]] = [_section(esc(reply.fallback))]
    for b in reply.items:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": esc(describe(b)) + _deck_links(reply, b)},
                "accessory": {
                    "type": "overflow",
                    "action_id": ActionId.BRIEFING_MENU.value,
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": x.label[:75]},
                            "value": x.value,
                        }
                        for x in briefing_buttons(b)
                    ],
                },
            }
        )
    return {"text": esc(reply.fallback), "blocks": blocks[:50]}
