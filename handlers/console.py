"""`salesbridge chat`: a local console that runs any command as a chosen user, as plain text."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.briefings import BriefingList, describe
from bot.commands import AnyReply, Bot
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
)
from bot.reports import Report
from bot.types import UserRef

BANNER = (
    "Salesbridge console. Type a command as you would in Slack, e.g. "
    "`/product australia widget pro`.\n"
    "`/as U123` switches user, `help` lists commands, `quit` (or Ctrl-D) leaves."
)


def _verdict(a: Assessment) -> str:
    detail = a.detail()
    return a.verdict.value + (f" — {detail}" if detail else "")


def _option(o: Option) -> str:
    return f"  - {o.product.name}" + (f": {_verdict(o.assessment)}" if o.assessment else "")


def render_text(reply: AnyReply) -> str:
    """Readable plain text: the fallback line first, then the details."""
    lines = [reply.fallback]
    if isinstance(reply, Report):
        for r in reply.regions:
            lines.append(
                f"  - {r.name}: {r.briefings} of {r.expected:g} ({r.status}), "
                f"{r.minutes} min, {r.people} people; feedback {r.submitted} in, "
                f"{r.decided} decided"
            )
        return "\n".join(lines)
    if isinstance(reply, BriefingList):
        return "\n".join([*lines, *(f"  {describe(b)}" for b in reply.items)])
    if isinstance(reply, ProductAnswer):
        p = reply.product
        lines.append(f"  Pricing band: {band_text(reply.assessment.band)}")
        lines.append(f"  Lifecycle: {p.lifecycle.value.upper()}   SKU: {p.sku}")
        if p.summary:
            lines.append(f"  {p.summary}")
        lines += [f"  * {t}" for t in p.traits]
        lines += [f"  vs {c.name}: {c.difference}" for c in p.competitors]
        lines += [f"  {d.title}: {d.url}" for d in p.docs]
        lines.append(f"  {reply.verified_text}")
        if reply.alternatives:
            lines.append(f"  Sellable alternatives in {reply.region.name}:")
            lines += ["  " + _option(o) for o in reply.alternatives]
    elif isinstance(reply, Ambiguous | RegionOverview):
        options = reply.options if isinstance(reply, Ambiguous) else reply.sellable
        lines += [_option(o) for o in options]
    elif isinstance(reply, ProductOverview):
        lines = [f"{reply.product.name} by region:"]
        lines += [f"  - {r.region.name}: {_verdict(r.assessment)}" for r in reply.rows]
    elif isinstance(reply, Help):
        lines += [f"  {e}" for e in reply.examples]
        lines += [f"  {u} — {d}" for u, d in reply.commands]
    elif isinstance(reply, History):
        lines = [f"History of {reply.product_name}:"]
        for e in reply.entries:
            lines.append(f"  {e.at:%Y-%m-%d %H:%M} {e.actor}")
            lines += [f"    - {t}" for t in e.lines]
    elif isinstance(reply, NotFound | Notice | OpenForm):
        pass
    return "\n".join(lines)


async def run_console(
    bot: Bot,
    *,
    user: str,
    stdin: TextIO = sys.stdin,
    out: Callable[[str], None] = print,
) -> None:
    interactive = stdin.isatty()
    current = UserRef("console", user)
    if interactive:
        out(BANNER)
    while True:
        if interactive:
            line = await asyncio.to_thread(input, f"{current.id}> ")
        else:
            raw = stdin.readline()
            if not raw:
                break
            line = raw.rstrip("\n")
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line in {"quit", "exit", "/quit"}:
            break
        if line.startswith("/as "):
            current = UserRef("console", line[4:].strip())
            out(f"(now acting as {current.id})")
            continue
        if not line.startswith("/") and line.split()[0].casefold() not in {"help", "product"}:
            line = "/product " + line  # a bare question is a product lookup
        reply = await bot.handle_line(user=current, line=line)
        out(render_text(reply))
