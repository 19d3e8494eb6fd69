"""Signed, expiring links to what our own server serves: coverage charts at
GET /charts/{token}.png (a Teams card shows the chart by URL because a card holds at most
28 KB, which an inlined PNG overflows) and the kept copies of briefing decks at
GET /decks/{token}/{file name}."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from aiohttp import web

from bot import workspace
from bot.briefings import BriefingService
from bot.decks import KeptDeck
from bot.reports import CoverageService, Period, PeriodError, Report
from bot.settings import SettingsService, inside
from bot.workspace import Workspace

CHART_ROUTE = "/charts/{token}.png"
CSV_ROUTE = "/charts/{token}.csv"  # the same signed token names the report's CSV
DECK_ROUTE = "/decks/{token}/{name}"  # the name is for the browser saving it; not checked
# Served as themselves; anything else (HTML, SVG, scripts…) as bytes to save, never to run.
SHOWN_TYPES = frozenset({
    "application/pdf",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.apple.keynote",
    "image/png",
    "image/jpeg",
})  # fmt: skip
LINK_DAYS = 7  # long enough to read a weekly digest; a link older than that answers 404
_CACHED = 16  # chart pages kept drawn: Teams' image proxy may fetch a card's chart often


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def period_text(period: Period) -> str:
    """The words that name `period` again (a running quarter's label ends in "(to date)")."""
    return period.label.removesuffix(" (to date)")


@dataclass
class SignedLinks:
    """Tokens that name what a link serves and until when, HMAC-signed with LINK_SECRET, so
    that any web process can serve any link and nothing is stored. Each kind of link signs
    its own message, so a token of one kind never opens another."""

    secret: bytes
    public_url: str
    clock: Callable[[], float] = time.time
    days: int = LINK_DAYS

    def _signature(self, kind: str, payload: str) -> str:
        # Charts sign the bare payload, as the links issued before any other kind existed.
        message = payload if kind == "chart" else f"{kind}:{payload}"
        return _b64(hmac.new(self.secret, message.encode(), sha256).digest())

    def token(self, kind: str, *values: Any) -> str:
        expires = int(self.clock()) + self.days * 86_400
        payload = _b64(json.dumps([*values, expires], separators=(",", ":")).encode())
        return f"{payload}.{self._signature(kind, payload)}"

    def opened(self, kind: str, token: str) -> list[Any] | None:
        """What a token names (its values, without the expiry), or None if it is forged,
        altered, of another kind or expired."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature.encode(), self._signature(kind, payload).encode()):
            return None
        try:
            values = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return None
        if not isinstance(values, list) or not values or not isinstance(values[-1], int):
            return None
        return values[:-1] if values[-1] >= self.clock() else None

    def link(self, path: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}"


@dataclass
class ChartLinks(SignedLinks):
    """Links to one page each of a period's coverage chart, and its CSV: the token names the
    period, the page and the workspace scope the report was asked in, none when SHARED. The
    report is computed as it was in that workspace: its figures, and its settings (targets,
    report time zone), not the environment's."""

    _drawn: OrderedDict[str, bytes] = field(default_factory=OrderedDict, repr=False)

    def url(self, period: Period, page: int = 1) -> str:
        scope = workspace.scope()
        values: list[Any] = [period_text(period)]
        if page != 1 or scope != workspace.SHARED:
            values.append(page)
        if scope != workspace.SHARED:
            values.append(scope)
        return self.link(f"/charts/{self.token('chart', *values)}.png")

    def csv_url(self, period: Period) -> str:
        """The signed link to the period's CSV (`/coverage csv` on Teams)."""
        return self.url(period).removesuffix(".png") + ".csv"

    def chart_urls(self, report: Report) -> list[str]:
        """One link per page of the report's chart."""
        return [self.url(report.period, n) for n in range(1, len(report.chart_pages()) + 1)]

    def period_of(self, token: str) -> tuple[str, int, str] | None:
        """The period, page and scope a token names, or None if it is forged, altered or
        expired."""
        values = self.opened("chart", token)
        if values is None or len(values) > 3 or not isinstance(values[0], str):
            return None
        page = values[1] if len(values) > 1 else 1
        scope = values[2] if len(values) > 2 else workspace.SHARED
        if not isinstance(page, int) or page < 1 or not isinstance(scope, str):
            return None
        return values[0], page, scope

    def handler(
        self, coverage: CoverageService, settings: SettingsService | None = None
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def chart(request: web.Request) -> web.Response:
            token = request.match_info["token"]
            named = self.period_of(token)
            if named is None:
                raise web.HTTPNotFound()
            period, page, scope = named
            png = self._drawn.get(token)
            if png is None:
                try:
                    # Chart and CSV links are made for Teams cards (Slack gets the files).
                    async with inside(settings, Workspace.of_scope(scope), platform="teams"):
                        report = await coverage.report(period)
                except PeriodError:
                    raise web.HTTPNotFound() from None
                if page > len(report.chart_pages()):
                    raise web.HTTPNotFound()
                png = await asyncio.to_thread(_draw, report, page)  # CPU work off the loop
                self._drawn[token] = png
                while len(self._drawn) > _CACHED:
                    self._drawn.popitem(last=False)
            return web.Response(
                body=png,
                content_type="image/png",
                headers={"Cache-Control": "private, max-age=3600"},
            )

        return chart

    def csv_handler(
        self, coverage: CoverageService, settings: SettingsService | None = None
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The report's CSV as a download: the link is signed and expires like a chart's,
        and only the report's audience is given one."""

        async def download(request: web.Request) -> web.Response:
            named = self.period_of(request.match_info["token"])
            if named is None:
                raise web.HTTPNotFound()
            try:
                async with inside(settings, Workspace.of_scope(named[2]), platform="teams"):
                    report = await coverage.report(named[0])
            except PeriodError:
                raise web.HTTPNotFound() from None
            stamp = report.period.label.split(" ")[0]
            return web.Response(
                text=report.csv(),
                content_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="coverage-{stamp}.csv"',
                    "Cache-Control": "private, no-store",
                },
            )

        return download


@dataclass
class DeckLinks(SignedLinks):
    """Links to kept decks: the token names the deck's id, the workspace scope it was shown
    in and an expiry; the bytes come from the database, read under that scope (a deck is
    its briefing's workspace's), so any web process serves any link."""

    def url(self, deck: KeptDeck) -> str:
        name = urllib.parse.quote(deck.name.replace("/", "_") or "deck", safe="")
        scope = workspace.scope()
        values = (deck.id,) if scope == workspace.SHARED else (deck.id, scope)
        return self.link(f"/decks/{self.token('deck', *values)}/{name}")

    def kept_url(self, deck_id: int, name: str) -> str:
        return self.url(KeptDeck(deck_id, name, "", 0))

    def deck_of(self, token: str) -> tuple[int, str] | None:
        """The deck and scope a token names (SHARED when it names none), or None."""
        values = self.opened("deck", token)
        if values is None or not 1 <= len(values) <= 2 or not isinstance(values[0], int):
            return None
        scope = values[1] if len(values) == 2 else workspace.SHARED
        return (values[0], scope) if isinstance(scope, str) else None

    def handler(
        self, briefings: BriefingService
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def deck(request: web.Request) -> web.Response:
            named = self.deck_of(request.match_info["token"])
            if named is None:
                raise web.HTTPNotFound()
            with workspace.using(Workspace.of_scope(named[1])):
                found = await briefings.kept_deck(named[0])
            if found is None:
                raise web.HTTPNotFound()
            kept, data = found
            kind = kept.content_type if kept.content_type in SHOWN_TYPES else None
            return web.Response(
                body=data,
                content_type=kind or "application/octet-stream",
                headers={
                    "Content-Disposition": "attachment; filename*=UTF-8''"
                    + urllib.parse.quote(kept.name, safe=""),
                    "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": "sandbox",
                    "Cache-Control": "private, max-age=3600",
                },
            )

        return deck


def _draw(report: Report, page: int) -> bytes:
    # matplotlib is imported on first use: most processes never draw a chart.
    from handlers.charts import coverage_png

    return coverage_png(report, page)
