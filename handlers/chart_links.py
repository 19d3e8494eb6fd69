"""Signed, expiring links to coverage charts, served at GET /charts/{token}.png: a Teams card
shows the chart by URL because a card holds at most 28 KB, which an inlined PNG overflows."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from hashlib import sha256

from aiohttp import web

from bot.reports import CoverageService, Period, PeriodError, Report

ROUTE = "/charts/{token}.png"
CSV_ROUTE = "/charts/{token}.csv"  # the same signed token names the report's CSV
LINK_DAYS = 7  # long enough to read a weekly digest; a link older than that answers 404
_CACHED = 16  # charts kept drawn: Teams' image proxy may fetch a card's chart several times


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def period_text(period: Period) -> str:
    """The words that name `period` again (a running quarter's label ends in "(to date)")."""
    return period.label.removesuffix(" (to date)")


@dataclass
class ChartLinks:
    """Makes and checks chart links: the token is the period and an expiry, HMAC-signed with
    LINK_SECRET, so any worker can serve any link and nothing is stored."""

    secret: bytes
    public_url: str
    clock: Callable[[], float] = time.time
    days: int = LINK_DAYS
    _drawn: OrderedDict[str, bytes] = field(default_factory=OrderedDict, repr=False)

    def _signature(self, payload: str) -> str:
        return _b64(hmac.new(self.secret, payload.encode(), sha256).digest())

    def url(self, period: Period) -> str:
        expires = int(self.clock()) + self.days * 86_400
        payload = _b64(json.dumps([period_text(period), expires], separators=(",", ":")).encode())
        return f"{self.public_url.rstrip('/')}/charts/{payload}.{self._signature(payload)}.png"

    def csv_url(self, period: Period) -> str:
        """The signed link to the period's CSV (`/coverage csv` on Teams)."""
        return self.url(period).removesuffix(".png") + ".csv"

    def period_of(self, token: str) -> str | None:
        """The period a token names, or None if it is forged, altered or expired."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature.encode(), self._signature(payload).encode()):
            return None
        try:
            period, expires = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return None
        if not isinstance(period, str) or not isinstance(expires, int):
            return None
        return period if expires >= self.clock() else None

    def handler(
        self, coverage: CoverageService
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def chart(request: web.Request) -> web.Response:
            token = request.match_info["token"]
            period = self.period_of(token)
            if period is None:
                raise web.HTTPNotFound()
            png = self._drawn.get(token)
            if png is None:
                try:
                    report = await coverage.report(period)
                except PeriodError:
                    raise web.HTTPNotFound() from None
                png = await asyncio.to_thread(_draw, report)  # CPU work off the event loop
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
        self, coverage: CoverageService
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The report's CSV as a download: the link is signed and expires like a chart's,
        and only the report's audience is given one."""

        async def download(request: web.Request) -> web.Response:
            period = self.period_of(request.match_info["token"])
            if period is None:
                raise web.HTTPNotFound()
            try:
                report = await coverage.report(period)
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


def _draw(report: Report) -> bytes:
    # matplotlib is imported on first use: most processes never draw a chart.
    from handlers.charts import coverage_png

    return coverage_png(report)
