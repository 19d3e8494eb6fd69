"""Render bot replies, forms and feedback as Adaptive Cards (version pinned to 1.5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.briefings import BriefingList, describe
from bot.commands import AnyReply
from bot.feedback import (
    ACTION_LABEL,
    ACTION_STATUS,
    KIND_LABEL,
    NO_PRODUCT_LABEL,
    STATUS_LABEL,
    TRANSITIONS,
    URGENCY_LABEL,
    Action,
    DecisionNotice,
    Item,
)
from bot.forms import FieldKind, FormSpec
from bot.replies import (
    Ambiguous,
    Assessment,
    Help,
    History,
    NotFound,
    Notice,
    OpenForm,
    Option,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    band_text,
    format_money,
)
from bot.reports import Report

CARD_VERSION = "1.5"  # Action.Execute (Universal Actions) needs 1.4+; Teams supports 1.5
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
Card = dict[str, Any]
PRODUCTS_DATASET = "products"


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


def _option(o: Option) -> str:
    if o.assessment is None:
        return f"- {plain(o.product.name)}"
    return f"- {plain(o.product.name)}: {_verdict(o.assessment)}"


def render(reply: AnyReply) -> Card:
    body: list[dict[str, Any]]
    actions: list[dict[str, Any]] = []
    if isinstance(reply, Report):
        return coverage(reply)
    if isinstance(reply, BriefingList):
        return card(
            [
                text(plain(reply.fallback), weight="Bolder"),
                text("\n".join(f"- {plain(describe(b))}" for b in reply.items)),
            ],
            reply.fallback,
        )
    if isinstance(reply, ProductAnswer):
        p, a = reply.product, reply.assessment
        body = [
            text(f"{plain(p.name)} in {plain(reply.region.name)}", weight="Bolder", size="Medium"),
            text(_verdict(a)),
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
                    f"**Sellable alternatives in {plain(reply.region.name)}**\n"
                    + "\n".join(_option(o) for o in reply.alternatives)
                )
            )
        actions = [
            {"type": "Action.OpenUrl", "title": d.title[:40], "url": d.url} for d in p.docs[:4]
        ]
        if reply.can_verify:  # product managers only
            actions += [
                {
                    "type": "Action.Execute",
                    "title": "Still accurate",
                    "verb": "product.verify",
                    "data": {"sku": p.sku},
                },
                {
                    "type": "Action.Execute",
                    "title": "Edit",
                    "verb": "product.editform",
                    "data": {"sku": p.sku},
                },
            ]
    elif isinstance(reply, Ambiguous):
        where = f" in {plain(reply.region.name)}" if reply.region else ""
        body = [
            text(f"Several products match “{plain(reply.query)}”{where}:"),
            text("\n".join(_option(o) for o in reply.options)),
            text("Add a word or two to pick one.", isSubtle=True),
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
    elif isinstance(reply, Help):
        body = [
            text(plain(reply.intro)),
            text("\n".join(f"- {plain(e.lstrip('/'))}" for e in reply.examples)),
        ]
    elif isinstance(reply, OpenForm):
        return form(reply.spec)
    elif isinstance(reply, NotFound | Notice):
        body = [text(plain(reply.fallback))]
    elif isinstance(reply, History):
        body = [text(f"History of {plain(reply.product_name)}", weight="Bolder")]
        for e in reply.entries:
            body.append(
                text(
                    f"**{e.at:%d %b %Y %H:%M} UTC** · {plain(e.actor)}\n"
                    + "\n".join(f"- {plain(t)}" for t in e.lines)
                )
            )
    else:  # pragma: no cover - exhaustiveness guard
        raise TypeError(type(reply).__name__)
    return card(body, reply.fallback, actions)


# --------------------------------------------------------------------------- forms


def form(
    spec: FormSpec,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str | None] | None = None,
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
            # Searched as the user types: our products, or (the people picker) the
            # organisation's directory, which the Teams client searches itself.
            dataset = (
                PRODUCTS_DATASET
                if f.kind is FieldKind.MULTI_SEARCH
                else "graph.microsoft.com/users"
            )
            el.update(
                type="Input.ChoiceSet",
                isMultiSelect=True,
                style="filtered",
                choices=[],
                **{"choices.data": {"type": "Data.Query", "dataset": dataset}},
            )
            initial = (initial or "").replace("\n", ",") or None
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
                **{"choices.data": {"type": "Data.Query", "dataset": PRODUCTS_DATASET}},
            )
            if initial and f.initial_label:
                el["choices"] = [{"title": f.initial_label, "value": initial}]
        else:
            el.update(type="Input.Text", isMultiline=f.kind is FieldKind.MULTILINE)
            if f.max_length:
                el["maxLength"] = f.max_length
            if f.placeholder:
                el["placeholder"] = f.placeholder
        if initial:
            el["value"] = initial
        body.append(el)
    return card(
        body,
        spec.title,
        [
            {
                "type": "Action.Execute",
                "title": spec.submit,
                "verb": spec.id,
                "data": dict(spec.state),
            }
        ],
    )


# --------------------------------------------------------------------------- feedback


def triage(
    item: Item,
    *,
    similar: Sequence[Item] = (),
    region_name: str | None = None,
    merge_targets: Sequence[Item] = (),
    message: str | None = None,
) -> Card:
    clients = ", ".join([item.client, *(s.client for s in item.supporters)])
    deal = format_money(item.deal_value, item.deal_currency or "USD") if item.deal_value else "—"
    body: list[dict[str, Any]] = [
        text(f"#{item.id} · {plain(item.title)}", weight="Bolder"),
        facts(
            [
                ("Product", plain(item.product_name or NO_PRODUCT_LABEL)),
                ("Kind", KIND_LABEL[item.kind]),
                ("Client", plain(clients)),
                ("Region", plain(region_name or "—")),
                ("Deal value", deal),
                ("Urgency", URGENCY_LABEL[item.urgency]),
            ]
        ),
        text(plain(item.details)),
    ]
    if similar:
        body.append(
            text(
                "Similar open items: " + "; ".join(f"#{s.id} {plain(s.title)}" for s in similar),
                isSubtle=True,
            )
        )
    status = f"**Status:** {STATUS_LABEL[item.status]}"
    if item.merged_into:
        status += f" (into #{item.merged_into})"
    if item.decided_at:
        status += f" · {item.decided_at:%d %b %Y %H:%M} UTC"
    body.append(text(status))
    if item.note:
        body.append(text(f"**Note:** {plain(item.note)}"))
    if message:
        body.append(text(plain(message), color="Attention"))
    allowed = [a for a in Action if item.status in TRANSITIONS[ACTION_STATUS[a]]]
    if Action.MERGE in allowed and not merge_targets:
        allowed.remove(Action.MERGE)
    if allowed:
        body.append(
            {
                "type": "Input.Text",
                "id": "note",
                "isMultiline": True,
                "label": "Note to the submitter (needed to decline)",
                "maxLength": 1000,
            }
        )
    if Action.MERGE in allowed:
        body.append(
            {
                "type": "Input.ChoiceSet",
                "id": "target",
                "label": "Merge into",
                "style": "compact",
                "choices": [
                    {"title": f"#{t.id} {t.title}"[:80], "value": str(t.id)}
                    for t in merge_targets[:50]
                ],
            }
        )
    actions = [
        {
            "type": "Action.Execute",
            "title": ACTION_LABEL[a].rstrip("…"),
            "verb": a.value,
            "data": {"item": item.id},
        }
        for a in allowed
    ]
    return card(body, f"Feedback #{item.id}: {item.title} ({STATUS_LABEL[item.status]})", actions)


def decision(notice: DecisionNotice) -> Card:
    return card([text(plain(notice.fallback))], notice.fallback)


def digest(title: str, lines: Sequence[str]) -> Card:
    return card(
        [
            text(plain(title), weight="Bolder"),
            text("\n".join(f"- {plain(line)}" for line in lines)),
        ],
        f"{title}: " + "; ".join(lines),
    )


def coverage(report: Report, chart_png: bytes | None = None) -> Card:
    body: list[dict[str, Any]] = [
        text(f"Coverage {report.period.label}", weight="Bolder", size="Medium")
    ]
    body.append(
        facts(
            [
                (
                    plain(r.name),
                    f"{r.briefings} of {r.expected:g} ({r.status}) · {r.minutes} min · "
                    f"feedback {r.submitted} in / {r.decided} decided",
                )
                for r in report.regions
            ]
        )
    )
    if report.pms:
        body.append(
            text(
                "**Effort per PM**\n"
                + "\n".join(
                    f"- {plain(p.pm)}: {p.briefings} briefings, {p.minutes} min" for p in report.pms
                )
            )
        )
    if chart_png:
        import base64

        body.append(
            {
                "type": "Image",
                "altText": "Briefings per region against target",
                "url": "data:image/png;base64," + base64.b64encode(chart_png).decode(),
            }
        )
    return card(body, report.fallback)
