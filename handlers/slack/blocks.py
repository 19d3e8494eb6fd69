"""Render bot replies as Block Kit dicts (plus the one-line fallback `text`)."""

from __future__ import annotations

from typing import Any

from bot.replies import (
    SHARE_LABEL,
    Ambiguous,
    Assessment,
    Help,
    NotFound,
    Notice,
    Option,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    Reply,
    band_text,
)
from bot.types import Verdict

SHARE_ACTION = "product.share"
Message = dict[str, Any]

_ICON = {
    Verdict.AVAILABLE: ":large_green_circle:",
    Verdict.RESTRICTED: ":large_orange_circle:",
    Verdict.PLANNED: ":calendar:",
    Verdict.NOT_AVAILABLE: ":no_entry:",
    Verdict.WITHDRAWN: ":x:",
}
MAX_TEXT = 2900  # a section's text may hold 3,000 characters


def esc(text: str) -> str:
    """Escape catalog text for mrkdwn so it can never ping or link by accident."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_TEXT]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_TEXT]}]}


def _verdict(a: Assessment) -> str:
    detail = a.detail()
    return f"{_ICON[a.verdict]} *{a.verdict.value}*" + (f" — {esc(detail)}" if detail else "")


def _option_line(o: Option) -> str:
    if o.assessment is None:
        return f"• *{esc(o.product.name)}* ({esc(o.product.sku)})"
    return f"• *{esc(o.product.name)}*: {_verdict(o.assessment)}"


def product_answer(r: ProductAnswer, *, share: bool = True) -> list[dict[str, Any]]:
    p, a = r.product, r.assessment
    blocks: list[dict[str, Any]] = [
        _section(f"*{esc(p.name)}* in *{esc(r.region.name)}*\n{_verdict(a)}"),
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
            _section("*Documents*\n" + "\n".join(f"• <{d.url}|{esc(d.title)}>" for d in p.docs))
        )
    if r.alternatives:
        blocks.append(
            _section(
                f"*Sellable alternatives in {esc(r.region.name)}*\n"
                + "\n".join(_option_line(o) for o in r.alternatives)
            )
        )
    blocks.append(_context(f"SKU {esc(p.sku)}"))
    if share:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": SHARE_ACTION,
                        "text": {"type": "plain_text", "text": SHARE_LABEL},
                        "value": f"{p.sku}|{r.region.code}",
                    }
                ],
            }
        )
    return blocks


def render(reply: Reply, *, share: bool = True) -> Message:
    """A message body: `text` (the fallback line) and `blocks`."""
    blocks: list[dict[str, Any]]
    if isinstance(reply, ProductAnswer):
        blocks = product_answer(reply, share=share)
    elif isinstance(reply, Ambiguous):
        where = f" in *{esc(reply.region.name)}*" if reply.region else ""
        blocks = [
            _section(f"Several products match “{esc(reply.query)}”{where}:"),
            _section("\n".join(_option_line(o) for o in reply.options)),
            _context("Add a word or two to pick one, e.g. the full product name."),
        ]
    elif isinstance(reply, RegionOverview):
        head = f"*Sellable in {esc(reply.region.name)}*: {reply.total_sellable} products"
        lines = "\n".join(_option_line(o) for o in reply.sellable) or "Nothing recorded."
        blocks = [_section(head), _section(lines)]
        if reply.total_sellable > len(reply.sellable):
            blocks.append(_context(f"Showing {len(reply.sellable)}. Name a product for details."))
    elif isinstance(reply, ProductOverview):
        lines = "\n".join(
            f"• *{esc(row.region.name)}*: {_verdict(row.assessment)}" for row in reply.rows
        )
        blocks = [
            _section(f"*{esc(reply.product.name)}* by region"),
            _section(lines),
            _context(
                "Name a market for the full answer, e.g. `/product uk "
                + esc(reply.product.name.lower())
                + "`"
            ),
        ]
    elif isinstance(reply, NotFound):
        blocks = [_section(esc(reply.fallback))]
    elif isinstance(reply, Help):
        blocks = [
            _section(esc(reply.intro) + "\n" + "\n".join(f"• `{esc(e)}`" for e in reply.examples)),
            _context(" · ".join(f"`{esc(u)}`: {esc(d)}" for u, d in reply.commands)),
        ]
    elif isinstance(reply, Notice):
        blocks = [_section(esc(reply.text))]
    else:  # pragma: no cover - exhaustiveness guard
        raise TypeError(f"no renderer for {type(reply).__name__}")
    return {"text": esc(reply.fallback), "blocks": blocks}
