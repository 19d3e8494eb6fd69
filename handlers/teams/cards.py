"""Render bot replies, forms and feedback as Adaptive Cards (version pinned to 1.5)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.approvals import ApprovalCard, decided_text, requester_text
from bot.briefings import BriefingList, describe
from bot.clusters import cluster_line
from bot.commands import AnyReply, CoverageCsv, help_reply
from bot.demand import DemandReport, at_stake_text, clients_text, unlisted_items
from bot.feedback import NO_PRODUCT_LABEL, HomeView, TriageView, decision_text
from bot.forms import Choice, FieldKind, FormSpec
from bot.ids import Button, Dataset
from bot.interactions import (
    NOTHING_YET,
    Ask,
    FormErrors,
    Outcome,
    Private,
    Refresh,
    Show,
    briefing_buttons,
    buttons_for,
    card_inputs,
)
from bot.items import KIND_LABEL, STATUS_LABEL, URGENCY_LABEL, Item
from bot.links import Link, link_of
from bot.notices import notice_lines, notice_title
from bot.payloads import ApprovalDecided, ChangeNotice, Decision
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
    more_text,
)
from bot.reports import CHART_ALT, Report, counted, unlisted_regions
from bot.types import UserRef, platform_of
from handlers.teams.inbound import STATE, VALUE, VERB

# Every card declares 1.5: the highest version every Teams client renders, mobile included (a
# card declaring more shows only its fallbackText there). Action.Execute needs 1.4. The forms'
# type-ahead pickers (Input.ChoiceSet `style: "filtered"` with `choices.data`) are Teams' own
# documented addition, which Teams renders in 1.5 cards on desktop and mobile; Adaptive Cards
# adopted the same two properties in 1.6 (tests/validators.py checks them by 1.6's definition
# and everything else by 1.5's schema).
CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
Card = dict[str, Any]
# Teams refuses a card over 28 KB: the coverage card lists regions in at most this many bytes.
REGION_ROWS_BYTES = 18_000
PM_ROWS_BYTES = 3_000  # and the PMs' effort in at most this many
# ... and a list of feedback items (/feedback top; each of home's two lists gets half).
ITEM_ROWS_BYTES = 18_000
FACT_OVERHEAD = 20  # {"title": , "value": } around each row's two strings


def _href(url: str) -> str:
    """A URL inside a markdown link: brackets and spaces would end it early."""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def plain(text: str) -> str:
    """Card text is markdown-ish: keep user and catalog text from forming mentions or links."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")


def safe_line(text: str) -> str:
    """The plain one-line fallback (also the message's text, which Teams renders): no tags
    and no link brackets, so user or catalog text cannot mention, link or format."""
    return (
        text.replace("<", "‹").replace(">", "›").replace("[", "［").replace("]", "］")
    )  # nor markdown links


def card(body: list[dict[str, Any]], fallback: str, actions: Sequence[dict[str, Any]] = ()) -> Card:
    out: Card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": safe_line(fallback),
        "body": body,
    }
    if actions:
        out["actions"] = list(actions)
    return out


def text(value: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": value, "wrap": True, **style}


def facts(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in pairs]}


def _verdict(a: Assessment) -> str:
    detail = a.detail()
    return f"**{a.verdict.value}**" + (f" — {plain(detail)}" if detail else "")


def _teams_id(user_id: str) -> str | None:
    platform, sep, uid = user_id.partition(":")
    if sep and platform in ("teams", "slack"):
        return uid if platform == "teams" else None
    return user_id if platform_of(user_id) == "teams" else None


def who(user_id: str | None, mentions: list[dict[str, Any]]) -> str:
    """A person to ask: a Teams mention (its entity added to `mentions`) for a Teams user,
    else the id as text (a Slack user cannot be mentioned on Teams)."""
    if not user_id:
        return ""
    teams_id = _teams_id(user_id)
    if teams_id is None:
        return plain(user_id)
    tag = f"<at>{teams_id}</at>"
    if not any(m["text"] == tag for m in mentions):
        mentions.append(
            {"type": "mention", "text": tag, "mentioned": {"id": teams_id, "name": teams_id}}
        )
    return tag


def _difference(d: Difference, ask: str | None, mentions: list[dict[str, Any]]) -> str:
    other = d.ask_instead(ask)
    return f"- {plain(d.label)}: {_verdict(d.assessment)}" + (
        f" · ask {who(other, mentions)}" if other else ""
    )


def _option(o: Option) -> str:
    if o.assessment is None:
        return f"- {plain(o.product.name)}"
    place = f" in {plain(o.place)}" if o.place else ""
    line = f"- {plain(o.product.name)}{place}: {_verdict(o.assessment)}"
    return line + plain(o.exceptions)


def _execute(title: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    """An Action.Execute, with the Action.Submit that clients without Universal Actions
    render instead: it arrives as a message whose value carries the verb (inbound.submitted)."""
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": data,
        "fallback": {"type": "Action.Submit", "title": title, "data": {**data, VERB: verb}},
    }


def execute(b: Button) -> dict[str, Any]:
    """A press as an Action.Execute; the data carries the press's value back unchanged."""
    return _execute(b.label, b.action.value, {VALUE: b.value})


def render(reply: AnyReply, *, shared_by: UserRef | None = None) -> Card:
    """A reply as a card; a copy someone shared carries who shared it, and no presses."""
    body: list[dict[str, Any]]
    actions: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    if isinstance(reply, Report):
        return coverage(reply)
    if isinstance(reply, CoverageCsv):
        return coverage_csv(reply)
    if isinstance(reply, HomeView):
        return home(reply)
    if isinstance(reply, DemandReport):
        return demand(reply)
    if isinstance(reply, BriefingList):
        body = [text(plain(reply.fallback), weight="Bolder")]
        for b in reply.items:
            body.append(text(f"- {plain(describe(b))}"))
            links = [
                f"[{plain(link.label)}]({_href(link.url)})" if link.url else plain(link.label)
                for link in reply.links.get(b.id, ())
            ]
            if links:
                body.append(text(" · ".join(links), isSubtle=True))
            body.append({"type": "ActionSet", "actions": [execute(x) for x in briefing_buttons(b)]})
        return card(body, reply.fallback)
    if isinstance(reply, ProductAnswer):
        p, a = reply.product, reply.assessment
        for_whom = f" for {plain(reply.segment.name)}" if reply.segment else ""
        body = [
            # Default deny first: the card never reads better than the worst case.
            *([text(plain(reply.unknown_text), color="Attention")] if reply.unknown_text else []),
            text(
                f"{plain(p.name)} in {plain(reply.region.name)}{for_whom}",
                weight="Bolder",
                size="Medium",
            ),
            text(_verdict(a)),
            *([text(plain(reply.untold_text), isSubtle=True)] if reply.untold_text else []),
        ]
        if reply.ask:
            body.append(text(f"Ask {who(reply.ask, mentions)}"))
        if reply.approval:
            body.append(text(reply.approval.text(lambda u: plain(person(u)), plain), color="Good"))
        if reply.differences:
            shown = reply.shown_differences
            below = [_difference(d, reply.ask, mentions) for d in shown if not d.asked]
            also = [_difference(d, reply.ask, mentions) for d in shown if d.asked]
            if below:
                body.append(text("**Except**\n" + "\n".join(below)))
            if also:  # the other markets and segments asked: never exceptions to the headline
                body.append(text(f"**{ALSO_ASKED}**\n" + "\n".join(also)))
            if reply.hidden:
                body.append(text(plain(more_text(reply.hidden))))
        body += [
            facts(
                [
                    ("Pricing band", plain(band_text(a.band))),
                    ("Lifecycle", p.lifecycle.value.upper()),
                    ("SKU", plain(p.sku)),
                ]
            ),
        ]
        if p.summary:
            body.append(text(plain(p.summary)))
        if p.traits:
            body.append(text("**Key traits**\n" + "\n".join(f"- {plain(t)}" for t in p.traits)))
        if p.competitors:
            body.append(
                text(
                    "**How it wins**\n"
                    + "\n".join(
                        f"- vs {plain(c.name)}: {plain(c.difference)}" for c in p.competitors
                    )
                )
            )
        if reply.alternatives:
            body.append(
                text(
                    f"**Sellable alternatives in {plain(reply.alternatives_where)}**\n"
                    + "\n".join(_option(o) for o in reply.alternatives)
                )
            )
        verified = plain(reply.verified_text)
        if reply.verified:
            verified = verified.replace(plain(reply.verified.by), who(reply.verified.by, mentions))
        body.append(text(verified, isSubtle=True))
        actions = [
            {"type": "Action.OpenUrl", "title": d.title[:40], "url": d.url} for d in p.docs[:4]
        ]
        if shared_by is None:
            actions += [execute(b) for b in buttons_for(reply)]
    elif isinstance(reply, Ambiguous):
        body = [
            text(f"{reply.count_text} match “{plain(reply.query)}”{plain(reply.where)}:"),
            text("\n".join(_option(o) for o in reply.options)),
            *([text(plain(reply.unknown_text), isSubtle=True)] if reply.unknown_text else []),
            text(plain(reply.hint), isSubtle=True),
        ]
    elif isinstance(reply, RegionOverview):
        body = [
            text(plain(reply.fallback), weight="Bolder"),
            text("\n".join(_option(o) for o in reply.sellable) or "Nothing recorded."),
        ]
    elif isinstance(reply, ProductOverview):
        body = [
            text(f"{plain(reply.product.name)} by region", weight="Bolder"),
            facts([(plain(r.region.name), _verdict(r.assessment)) for r in reply.rows]),
        ]
        for r in reply.rows:
            if r.differences:
                lines = [_difference(d, reply.product.ask, mentions) for d in r.differences]
                body.append(text(f"**Except in {plain(r.region.name)}**\n" + "\n".join(lines)))
    elif isinstance(reply, Help):
        body = [
            text(plain(reply.intro)),
            text("\n".join(f"- {plain(e.lstrip('/'))}" for e in reply.examples)),
        ]
    elif isinstance(reply, OpenForm):
        return form(reply.spec)
    elif isinstance(reply, NotFound | Notice | SegmentList):
        body = [text(plain(reply.fallback))]
    elif isinstance(reply, UnknownMarket):
        line = plain(reply.fallback)
        if reply.ask:
            line = line.replace(plain(reply.ask), who(reply.ask, mentions))
        body = [text(line)]
    elif isinstance(reply, Battlecard):
        where = f" in {plain(reply.region.name)}" if reply.region else ""
        body = [text(f"Against {plain(reply.competitor)}{where}", weight="Bolder")]
        body += [text(_option(r.option) + f"\n  {plain(r.difference)}") for r in reply.rivals]
    elif isinstance(reply, Capability):
        where = plain(reply.where)
        body = [text(f"Products with “{plain(reply.query)}”{where}", weight="Bolder")]
        body += [
            text(_option(o) + f"\n  _{plain(m)}_")
            for o, m in zip(reply.options, reply.matched, strict=True)
        ]
        if reply.hint:
            body.append(text(plain(reply.hint), isSubtle=True))
    elif isinstance(reply, History):
        body = [text(f"History of {plain(reply.product_name)}", weight="Bolder")]
        for e in reply.entries:
            body.append(
                text(
                    f"**{e.at:%d %b %Y %H:%M} UTC** · {plain(e.actor)}\n"
                    + "\n".join(f"- {plain(t)}" for t in e.lines)
                )
            )
        if reply.more:
            body.append(text(plain(reply.more), isSubtle=True))
    else:  # pragma: no cover - exhaustiveness guard
        raise TypeError(type(reply).__name__)
    if shared_by is not None:
        body.append(text(f"Shared by {plain(person(shared_by))}", isSubtle=True))
    out = card(body, reply.fallback, actions)
    if mentions:
        out["msteams"] = {"entities": mentions}
    return out


def person(user: UserRef, names: Mapping[UserRef, str] | None = None) -> str:
    """A person named in a card, by display name where we know it (a Teams mention needs
    the user's Teams id, which only their own activities carry); a Slack id means nothing
    here, so a Slack user without a known name is "a Slack user"."""
    name = (names or {}).get(user)
    if name:
        return name
    return user.id if user.platform == "teams" else f"a {user.platform.title()} user"


# --------------------------------------------------------------------------- forms


def form(
    spec: FormSpec,
    *,
    errors: dict[str, str] | None = None,
    values: Mapping[str, str | None] | None = None,
    in_dialog: bool = False,
) -> Card:
    """A FormSpec as a card; submitting it is an Action.Execute with the spec id as verb."""
    errors = errors or {}
    values = values or {}
    body: list[dict[str, Any]] = [text(spec.title, weight="Bolder", size="Medium")]
    if spec.intro:
        body.append(text(plain(spec.intro)))
    if errors:
        body.append(
            text("Please fix: " + "; ".join(plain(e) for e in errors.values()), color="Attention")
        )
    for f in spec.fields:
        if f.kind is FieldKind.FILE:  # a card has no file input: Teams users send the file
            continue
        initial = values.get(f.id) or f.initial
        el: dict[str, Any] = {"id": f.id, "label": f.label, "isRequired": f.required}
        if f.id in errors:
            el["errorMessage"] = errors[f.id]
        if f.kind is FieldKind.DATE:
            el.update(type="Input.Date")
        elif f.kind is FieldKind.MULTI_SELECT:
            el.update(
                type="Input.ChoiceSet",
                isMultiSelect=True,
                style="compact",
                choices=[{"title": c.label, "value": c.value} for c in f.choices],
            )
            initial = (initial or "").replace("\n", ",") or None
        elif f.kind in (FieldKind.MULTI_SEARCH, FieldKind.USERS):
            # Searched as the user types: our products or regions, or (the people picker)
            # the organisation's directory, which the Teams client searches itself.
            dataset = (
                f.dataset or Dataset.PRODUCT
                if f.kind is FieldKind.MULTI_SEARCH
                else "graph.microsoft.com/users"
            )
            picked = [v for v in (initial or "").replace(",", "\n").split("\n") if v]
            el.update(
                type="Input.ChoiceSet",
                isMultiSelect=True,
                style="filtered",
                choices=[{"title": f.label_of(v), "value": v} for v in picked]
                if f.kind is FieldKind.MULTI_SEARCH
                else [],
                **{"choices.data": {"type": "Data.Query", "dataset": dataset}},
            )
            initial = ",".join(picked) or None
        elif f.kind in (FieldKind.SELECT, FieldKind.RADIO):
            el.update(
                type="Input.ChoiceSet",
                style="expanded" if f.kind is FieldKind.RADIO else "compact",
                choices=[{"title": c.label, "value": c.value} for c in f.choices],
            )
        elif f.kind is FieldKind.SEARCH:
            # Type-ahead: Teams asks us (application/search invoke) for the choices.
            el.update(
                type="Input.ChoiceSet",
                style="filtered",
                choices=[],
                **{"choices.data": {"type": "Data.Query", "dataset": f.dataset or Dataset.PRODUCT}},
            )
            if initial:
                el["choices"] = [{"title": f.label_of(initial), "value": initial}]
        else:
            el.update(type="Input.Text", isMultiline=f.kind is FieldKind.MULTILINE)
            if f.max_length:
                el["maxLength"] = f.max_length
            if f.placeholder:
                el["placeholder"] = f.placeholder
        if initial:
            el["value"] = initial
        body.append(el)
    data: dict[str, Any] = {STATE: dict(spec.state)}
    submit = (
        {"type": "Action.Submit", "title": spec.submit, "data": {**data, VERB: spec.id}}
        if in_dialog  # dialogs (task modules) take Action.Submit
        else _execute(spec.submit, spec.id, data)
    )
    return card(body, spec.title, [submit])


# --------------------------------------------------------------------------- feedback


def triage(view: TriageView) -> Card:
    item = view.item
    body: list[dict[str, Any]] = []
    if view.reminder:
        body.append(
            text(f"Waiting for a decision since {item.created_at:%d %b %Y}", color="Warning")
        )
    body += [
        text(f"#{item.id} · {plain(item.title)}", weight="Bolder"),
        facts(
            [
                ("Product", plain(item.product_name or NO_PRODUCT_LABEL)),
                ("Kind", KIND_LABEL[item.kind]),
                ("Clients", plain(clients_text(item))),
                ("Region", plain(view.region_name or "—")),
                *([("Customer segment", plain(view.segment_name))] if view.segment_name else []),
                ("Revenue at stake", plain(at_stake_text(item))),
                ("Urgency", URGENCY_LABEL[item.urgency]),
            ]
        ),
        text(plain(item.details)),
        text(
            f"From {plain(person(item.submitter, view.names))} on {item.created_at:%d %b %Y}",
            isSubtle=True,
        ),
    ]
    if (crm := link_of(item.link)) is not None:
        body.append(open_url(crm))
    if item.merged:
        body.append(text("Merged in: " + ", ".join(f"#{i}" for i in item.merged), isSubtle=True))
    if view.cluster is not None:
        body.append(text(plain(cluster_line(view.cluster))))
    if view.similar:
        body.append(
            text(
                "Similar open items: "
                + "; ".join(f"#{s.id} {plain(s.title)}" for s in view.similar),
                isSubtle=True,
            )
        )
    status = f"**Status:** {STATUS_LABEL[item.status]}"
    if item.decided_by:
        status += f" by {plain(person(item.decided_by, view.names))}"
    if item.merged_into:
        status += f" (into #{item.merged_into})"
    if item.decided_at:
        status += f" · {item.decided_at:%d %b %Y %H:%M} UTC"
    body.append(text(status))
    if item.note:
        body.append(text(f"**Note:** {plain(item.note)}"))
    if view.problem is not None:
        body.append(text(plain(view.problem.message), color="Attention"))
    body += _inputs(view)
    return card(body, view.fallback, [execute(b) for b in buttons_for(view)])


def open_url(link: Link) -> dict[str, Any]:
    """A link as a button: its label is ours (a CRM record, or "link"), never markdown."""
    return {
        "type": "ActionSet",
        "actions": [{"type": "Action.OpenUrl", "title": link.label, "url": link.url}],
    }


def _stake_line(item: Item) -> str:
    return f"{plain(clients_text(item))} · {plain(at_stake_text(item))}"


def _fitting(parts: Sequence[Any], budget: int) -> tuple[list[Any], int]:
    """The first parts whose JSON fits in `budget` bytes, and how many were left out."""
    kept: list[Any] = []
    size = 0
    for part in parts:
        size += len(json.dumps(part, ensure_ascii=False).encode())
        if size > budget:
            break
        kept.append(part)
    return kept, len(parts) - len(kept)


def demand(reply: DemandReport) -> Card:
    """`/feedback top`: the ranked items with their clients (and CRM link), then by product."""
    body: list[dict[str, Any]] = [text(plain(reply.title), weight="Bolder")]
    rows = [
        [
            text(f"**{plain(row.head)}**\n\n{plain(row.facts)}\n\n{plain(row.clients_line)}"),
            *([open_url(row.link)] if row.link is not None else []),
        ]
        for row in reply.rows
    ]
    kept, left = _fitting(rows, ITEM_ROWS_BYTES)
    body += [block for row in kept for block in row]
    if left:
        body.append(text(plain(unlisted_items(left)), isSubtle=True))
    if not reply.rows:
        body.append(text("No open items."))
    if reply.shown:
        body.append(text(plain(reply.shown), isSubtle=True))
    if reply.products:
        body.append(text("By product", weight="Bolder"))
        body.append(text("\n".join(f"- {plain(p.text)}" for p in reply.products)))
    body += [text(plain(n), isSubtle=True) for n in reply.notes]
    return card(body, reply.fallback)


def _inputs(reply: object) -> list[dict[str, Any]]:
    """The inputs a card carries with its presses (a note for the decision)."""
    return [
        {
            "type": "Input.Text",
            "id": f.id,
            "isMultiline": True,
            "label": f.label,
            **({"maxLength": f.max_length} if f.max_length else {}),
        }
        for f in card_inputs(reply)
    ]


def approval_card(view: ApprovalCard) -> Card:
    """An approval request as its decider sees it, what became of it, and the presses still
    open."""
    a = view.ask
    requester = UserRef(a.requester_platform, a.requester)
    names = {requester: a.requester_name} if a.requester_name else {}
    if view.decided_by is not None and view.decider_name:
        names[view.decided_by] = view.decider_name
    decision = view.decision(lambda u: plain(person(u, names)), plain)
    body: list[dict[str, Any]] = [
        text(
            f"Approval request #{a.request_id} · {plain(a.product)} in {plain(a.where)}",
            weight="Bolder",
        ),
        text("\n".join(plain(line) for line in view.lines)),
        *([text(decision, weight="Bolder")] if decision else []),
        text(plain(requester_text(a, lambda u: person(u, names))), isSubtle=True),
        *_inputs(view),
    ]
    return card(body, view.fallback, [execute(b) for b in buttons_for(view)])


def approval_decided(decided: ApprovalDecided) -> Card:
    """The requester's DM (with Reply while more information is asked)."""
    message = decided_text(decided, person)
    body = [text(decided_text(decided, lambda u: plain(person(u)), plain))]
    return card(body, message, [execute(b) for b in buttons_for(decided)])


def home(view: HomeView) -> Card:
    """My feedback with statuses and notes; for PMs, the open queue (Slack's App Home)."""
    body: list[dict[str, Any]] = [text("My feedback", weight="Bolder", size="Medium")]
    lines = []
    for item in view.mine:  # one page: at most MINE_PAGE
        line = f"- #{item.id} {plain(item.title)}: {STATUS_LABEL[item.status]}"
        if item.merged_into:
            line += f" into #{item.merged_into}"
        if item.note:
            line += f" — {plain(item.note)}"
        lines.append(f"{line}\n  {_stake_line(item)}")
    lines, left = _fitting(lines, ITEM_ROWS_BYTES // 2)
    body.append(text("\n".join(lines) or NOTHING_YET))
    if left:
        body.append(text(plain(unlisted_items(left)), isSubtle=True))
    if view.mine_shown:
        body.append(text(view.mine_shown, isSubtle=True))
    if view.queue is not None:
        body.append(text("Open queue", weight="Bolder", size="Medium"))
        body.append(text(" · ".join(f"{STATUS_LABEL[s]}: **{n}**" for s, n in view.counts.items())))
        queue, left = _fitting(
            [
                f"- #{i.id} {plain(i.title)}, waiting since {i.created_at:%d %b %Y}\n"
                f"  {_stake_line(i)}"
                for i in view.queue
            ],
            ITEM_ROWS_BYTES // 2,
        )
        body.append(text("\n".join(queue) or "Nothing is waiting for a decision."))
        if left:
            body.append(text(plain(unlisted_items(left)), isSubtle=True))
        if view.queue_shown:
            body.append(text(f"Waiting for a decision: {view.queue_shown}", isSubtle=True))
    if view.approvals:
        body.append(text("My approval requests", weight="Bolder", size="Medium"))
        body.append(text(plain(view.approvals)))
    return card(body, view.fallback, [execute(b) for b in buttons_for(view)])


def welcome(view: HomeView) -> Card:
    """The first card in a personal chat: what to ask, and your feedback so far."""
    intro = help_reply()
    body = [
        text(plain(intro.intro), weight="Bolder"),
        text("\n".join(f"- {plain(e.lstrip('/'))}" for e in intro.examples)),
        *home(view)["body"],
    ]
    return card(body, intro.fallback)


def search_response(choices: Sequence[Choice]) -> dict[str, Any]:
    """Type-ahead results (bot/ already chose which, and how many)."""
    return {
        "type": "application/vnd.microsoft.search.searchResponse",
        "value": {"results": [{"title": c.label, "value": c.value} for c in choices]},
    }


def outcome(result: Outcome, *, in_dialog: bool = False) -> Card:
    """A neutral outcome as the card to show (in place of the one pressed, or in a dialog)."""
    if isinstance(result, Show):
        return render(result.reply, shared_by=result.shared_by)
    if isinstance(result, Ask):
        return form(result.form, values=result.values, in_dialog=in_dialog)
    if isinstance(result, FormErrors):
        if result.form is None:
            return render(Notice(" ".join(result.errors.values())))
        return form(result.form, errors=result.errors, values=result.values, in_dialog=in_dialog)
    if isinstance(result, Refresh):
        return triage(result.card)
    return render(Notice(result.text))


def toast_text(result: Outcome) -> str | None:
    """A private notice shows as a toast over the card, which stays as it was (as does a form
    the asker may not see again, e.g. a forged one)."""
    if isinstance(result, FormErrors) and result.form is None:
        return " ".join(result.errors.values())
    return result.text if isinstance(result, Private) else None


def decision(notice: Decision) -> Card:
    message = decision_text(notice)
    return card([text(plain(message))], message)


def change_notice(notice: ChangeNotice, *, today: dt.date) -> Card:
    mentions: list[dict[str, Any]] = []
    lines = notice_lines(notice, today=today, esc=plain, who=lambda u: who(u, mentions))
    title = notice_title(notice)
    out = card(
        [text(plain(title), weight="Bolder"), text("\n".join(f"- {ln}" for ln in lines))],
        f"{title}: " + " ".join(notice_lines(notice, today=today)),
    )
    if mentions:
        out["msteams"] = {"entities": mentions}
    return out


def digest(title: str, lines: Sequence[str]) -> Card:
    return card(
        [
            text(plain(title), weight="Bolder"),
            text("\n".join(f"- {plain(line)}" for line in lines)),
        ],
        f"{title}: " + "; ".join(lines),
    )


def coverage(report: Report, chart_urls: Sequence[str] = ()) -> Card:
    """The report as a card; the chart by URL, one per page (handlers/links.py), never
    inlined."""
    body: list[dict[str, Any]] = [
        text(f"Coverage {report.period.label}", weight="Bolder", size="Medium")
    ]
    rows: list[tuple[str, str]] = []
    size = 0
    for r in report.regions:  # those needing attention first, as long as the card has room
        row = (plain(r.name), plain(" · ".join(report.parts(r))))
        size += len(json.dumps(row, ensure_ascii=False).encode()) + FACT_OVERHEAD
        if size > REGION_ROWS_BYTES:
            break
        rows.append(row)
    body.append(facts(rows))
    if len(rows) < len(report.regions):
        body.append(text(plain(unlisted_regions(len(report.regions) - len(rows))), isSubtle=True))
    if report.pms:
        pms: list[str] = []
        size = 0
        for p in report.pms:
            line = f"- {plain(p.pm)}: {plain(report.pm_line(p))}"
            size += len(line.encode()) + 1
            if size > PM_ROWS_BYTES:
                pms.append(plain(f"…and {counted(len(report.pms) - len(pms), 'more PM')}."))
                break
            pms.append(line)
        body.append(text("**Effort per PM**\n" + "\n".join(pms)))
    pages = len(chart_urls)
    for n, url in enumerate(chart_urls, 1):
        alt = CHART_ALT if pages == 1 else f"{CHART_ALT}, page {n} of {pages}"
        body.append({"type": "Image", "altText": alt, "url": url})
    return card(body, report.fallback)


CSV_INLINE_BYTES = 16_000  # a CSV carried in the card itself (a card holds at most 28 KB)
CSV_TOO_LONG = (
    "Too long to show here: with PUBLIC_URL and LINK_SECRET set, this card links to the file."
)


def coverage_csv(reply: CoverageCsv, url: str | None = None) -> Card:
    """`/coverage csv`: a signed download link (handlers/chart_links.py), or without one the
    CSV in the card while it fits (a bot cannot attach a file to a Teams chat unasked)."""
    body: list[dict[str, Any]] = [text(plain(reply.fallback), weight="Bolder")]
    if url:
        return card(
            body, reply.fallback, [{"type": "Action.OpenUrl", "title": "Download CSV", "url": url}]
        )
    content = reply.report.csv()
    if len(content.encode()) <= CSV_INLINE_BYTES:
        body.append(text(plain(content), fontType="Monospace", size="Small"))
    else:
        body.append(text(CSV_TOO_LONG, isSubtle=True))
    return card(body, reply.fallback)
