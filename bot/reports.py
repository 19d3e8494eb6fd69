"""Coverage reports: briefings per region against target, PM effort, feedback turnaround."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.catalog import CatalogService, region_path
from bot.ports import Clock
from bot.receipts import Demand, Receipts
from bot.replies import format_money
from bot.settings import WorkspaceSettings, in_effect
from bot.types import Region

QUARTER_DAYS = 365.25 / 4  # targets are per quarter; "last N days" is pro-rated by days
AGE_BUCKETS = ((7, "< 7 days"), (30, "7–30 days"), (None, "> 30 days"))
STATUS_ORDER = {"none": 0, "behind": 1, "on track": 2}
STATUS_LABEL = {"none": "none held", "behind": "behind", "on track": "on track"}
CHART_ROWS = 30  # regions on one chart page: names stay legible within 1024 x 1024 px


CHART_ALT = "Briefings per region against target"  # the coverage chart's alternative text


def unlisted_regions(n: int) -> str:
    """Ends a coverage list cut to fit a message."""
    return f"…and {counted(n, 'more region')}."


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 briefing", "3 briefings", "2 people" (with `plural` given)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def whole(x: float) -> int:
    """Whole briefings: half a briefing rounds up (the k-th of n is due (k - 1/2)/n of the way
    through the quarter), and a float's noise never tips it."""
    return math.floor(x + 0.5 + 1e-9)


def duration_text(hours: float | None) -> str:
    """A time to a decision as a manager reads it: minutes under an hour, days past 48 h."""
    if hours is None:
        return "—"
    if hours * 60 < 1:
        return "under a minute"
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours <= 48:
        return f"{round(hours, 1 if hours < 10 else 0):g} h"
    days = round(hours / 24, 1)
    return f"{days:g} days"


def minutes_text(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if m else f"{h} h"


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: dt.date  # inclusive, in the report's time zone
    end: dt.date  # inclusive
    quarters: float  # how many quarters' worth of target this period should meet

    @property
    def running(self) -> bool:
        """A quarter not over yet: targets are for the whole quarter, some expected by today."""
        return self.label.endswith(" (to date)")

    @property
    def span(self) -> str:
        """ "this quarter", "in 2026-Q3", "in the last 30 days": after "1 of 2"."""
        if self.running:
            return "this quarter"
        return f"in the {self.label}" if self.label.startswith("last ") else f"in {self.label}"

    @property
    def whole_quarters(self) -> float:
        """The share of a quarter a target counts for: a running quarter's is the whole one."""
        return 1.0 if self.running else self.quarters


def _quarter(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    nxt = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return start, nxt - dt.timedelta(days=1)


def _quarter_period(label: str, start: dt.date, end: dt.date, today: dt.date) -> Period:
    """A calendar quarter; one still running expects the share of its days gone by."""
    if end <= today:
        return Period(label, start, end, 1.0)
    elapsed = (today - start).days + 1
    return Period(f"{label} (to date)", start, today, elapsed / ((end - start).days + 1))


def parse_period(text: str, today: dt.date) -> Period:
    """'this quarter' (default), 'last quarter', '2026-Q3', 'last 30 days'."""
    t = " ".join(text.casefold().split())
    q_now = (today.month - 1) // 3 + 1
    if t in ("", "this quarter", "quarter"):
        start, end = _quarter(today.year, q_now)
        return _quarter_period(f"{today.year}-Q{q_now}", start, end, today)
    if t == "last quarter":
        year, q = (today.year - 1, 4) if q_now == 1 else (today.year, q_now - 1)
        start, end = _quarter(year, q)
        return _quarter_period(f"{year}-Q{q}", start, end, today)
    m = re.fullmatch(r"(\d{4})-?q([1-4])", t)
    if m:
        year, q = int(m[1]), int(m[2])
        start, end = _quarter(year, q)
        if start > today:
            raise PeriodError(f"{year}-Q{q} has not started yet.")
        return _quarter_period(f"{year}-Q{q}", start, end, today)
    m = re.fullmatch(r"last (\d{1,4}) days?", t)
    if m and int(m[1]) > 0:
        n = int(m[1])
        return Period(
            f"last {counted(n, 'day')}", today - dt.timedelta(days=n - 1), today, n / QUARTER_DAYS
        )
    raise PeriodError("Say “this quarter”, “last quarter”, “2026-Q3” or “last 30 days”.")


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    briefings: int
    minutes: int
    people: int
    last_briefing: dt.date | None
    target: int  # per quarter
    expected: int  # whole briefings due by the period's end (by today in a running quarter)
    status: str  # "on track" | "behind" | "none"
    submitted: int
    decided: int
    median_hours_to_decision: float | None
    open_by_age: tuple[int, int, int]
    # Demand beside the effort: answers given about the region (and below it) in the
    # period, and how many of them were not Available (bot.receipts.Receipts.demand).
    asked: int = 0
    not_available: int = 0
    period_target: int = 0  # whole briefings for the whole period: the "2" of "1 of 2"
    parent: str | None = None  # the nearest region above this one that the report has too
    # The deck of the period's latest briefing that had one: its link as given, and the id
    # and file name of the copy kept (bot.decks), for the CSV.
    deck: str | None = None
    kept_deck: int | None = None
    kept_name: str | None = None
    # Revenue at stake in the open feedback filed under the region (and below it), now:
    # (currency, total) pairs, largest first (bot.demand's deal values).
    at_stake: tuple[tuple[str, int], ...] = ()


def at_stake_text(at_stake: Sequence[tuple[str, int]]) -> str:
    """ "$250,000 + €90,000 at stake" in the region's open feedback, or that none is."""
    if not at_stake:
        return "no deal value at stake"
    return " + ".join(format_money(v, c) for c, v in at_stake) + " at stake"


@dataclass(frozen=True, slots=True)
class PmRow:
    pm: str
    briefings: int
    minutes: int
    people: int
    expected: int  # whole briefings, as for a region
    period_target: int = 0


def target_text(held: int, period_target: int, expected: int, status: str, per_quarter: int,
                period: Period) -> str:  # fmt: skip
    """ "1 of 2 this quarter — on track, 1 expected by today"; a period too short for a whole
    briefing says the quarter's target instead."""
    label = STATUS_LABEL.get(status, status)
    if period_target:
        text = f"{held} of {period_target} {period.span} — {label}"
    else:
        text = (
            f"{counted(held, 'briefing')} {period.span} — {label} (target {per_quarter} a quarter)"
        )
    if period.running and expected != period_target and held < period_target:
        text += f", {expected} expected by today"
    return text


def feedback_text(r: RegionRow) -> str:
    """ "4 feedback items in, 3 decided (median 10 h); waiting: 1 for 7–30 days"."""
    text = f"{counted(r.submitted, 'feedback item')} in"
    if r.decided:
        text += f", {r.decided} decided (median {duration_text(r.median_hours_to_decision)})"
    elif r.submitted:
        text += ", none decided"
    waiting = [f"{n} {label}" for n, label in zip(r.open_by_age, WAITING_LABELS, strict=True) if n]
    return text + ("; waiting: " + ", ".join(waiting) if waiting else "; none waiting")


WAITING_LABELS = ("under 7 days", "for 7–30 days", "over 30 days")  # open_by_age's buckets


def region_parts(r: RegionRow, period: Period) -> tuple[str, ...]:
    """Every figure of a region's row, in the words every renderer shows."""
    effort = f"{minutes_text(r.minutes)}, {counted(r.people, 'person', 'people')}"
    if r.last_briefing:
        effort += f", last {r.last_briefing:%d %b}"
    return (
        target_text(r.briefings, r.period_target, r.expected, r.status, r.target, period),
        effort,
        feedback_text(r) + f"; {at_stake_text(r.at_stake)}",
        f"{counted(r.asked, 'question')} answered, {r.not_available} not Available",
    )


def pm_text(p: PmRow, period: Period) -> str:
    """ "2 of 3 this quarter, 1 h 45 min, 20 people" for one PM."""
    status = "on track" if p.briefings >= p.expected else "behind"
    coverage = target_text(p.briefings, p.period_target, p.expected, status, 0, period)
    if not p.period_target:
        coverage = counted(p.briefings, "briefing") + f" {period.span}"
    return f"{coverage}, {minutes_text(p.minutes)}, {counted(p.people, 'person', 'people')}"


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    regions: tuple[RegionRow, ...]  # behind and none first
    pms: tuple[PmRow, ...]
    briefings: int  # held in the period (one briefing may count for several regions)

    @property
    def flagged(self) -> tuple[RegionRow, ...]:
        return tuple(r for r in self.regions if r.status != "on track")

    @property
    def fallback(self) -> str:
        names = ", ".join(f"{r.name} ({STATUS_LABEL[r.status]})" for r in self.flagged)
        return f"Coverage {self.period.label}: {counted(self.briefings, 'briefing')}; " + (
            f"needs attention: {names}" if names else "every region on track"
        )

    def parts(self, r: RegionRow) -> tuple[str, ...]:
        return region_parts(r, self.period)

    def pm_line(self, p: PmRow) -> str:
        return pm_text(p, self.period)

    def chart_pages(self) -> list[list[RegionRow]]:
        return chart_pages(self.regions)

    def encode(self) -> dict[str, Any]:
        """As JSON, for the worker to draw the chart and CSV of exactly this report."""
        return {
            "period": [self.period.label, self.period.start.isoformat(),
                       self.period.end.isoformat(), self.period.quarters],
            "regions": [
                [getattr(r, f.name) if not isinstance(getattr(r, f.name), dt.date)
                 else getattr(r, f.name).isoformat() for f in fields(RegionRow)]
                for r in self.regions
            ],
            "pms": [astuple(p) for p in self.pms],
            "briefings": self.briefings,
        }  # fmt: skip

    @classmethod
    def decode(cls, raw: Mapping[str, Any]) -> Report:
        label, start, end, quarters = raw["period"]
        period = Period(label, dt.date.fromisoformat(start), dt.date.fromisoformat(end), quarters)
        regions = []
        for values in raw["regions"]:
            # A report encoded before later columns existed lacks them: defaults.
            row = dict(zip((f.name for f in fields(RegionRow)), values, strict=False))
            last = row["last_briefing"]
            row["last_briefing"] = dt.date.fromisoformat(last) if last else None
            row["open_by_age"] = tuple(row["open_by_age"])
            row["expected"] = whole(row["expected"])  # once a pro-rated fraction
            row["at_stake"] = tuple((str(c), int(v)) for c, v in row.get("at_stake") or ())
            regions.append(RegionRow(**row))
        pms = tuple(
            PmRow(p[0], p[1], p[2], p[3], whole(p[4]), *(int(x) for x in p[5:6]))
            for p in raw["pms"]
        )
        return cls(period, tuple(regions), pms, int(raw["briefings"]))

    def csv(self, kept_link: Callable[[int, str], str] | None = None) -> str:
        """The rows; `kept_link` makes the link to a kept deck (id, file name)."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                "region_code",
                "region",
                "parent_code",
                "briefings",
                "minutes",
                "people",
                "last_briefing",
                "target_per_quarter",
                "target_for_period",
                "expected_by_now",
                "status",
                "feedback_submitted",
                "feedback_decided",
                "median_hours_to_decision",
                "open_lt_7d",
                "open_7_30d",
                "open_gt_30d",
                "questions_asked",
                "answered_not_available",
                "latest_deck",
                "latest_deck_copy",
                "open_revenue_at_stake",
            ]
        )
        for r in self.regions:
            w.writerow(
                [
                    r.code,
                    r.name,
                    r.parent or "",
                    r.briefings,
                    r.minutes,
                    r.people,
                    r.last_briefing.isoformat() if r.last_briefing else "",
                    r.target,
                    r.period_target,
                    r.expected,
                    r.status,
                    r.submitted,
                    r.decided,
                    ""
                    if r.median_hours_to_decision is None
                    else f"{r.median_hours_to_decision:.1f}",
                    *r.open_by_age,
                    r.asked,
                    r.not_available,
                    r.deck or "",
                    kept_link(r.kept_deck, r.kept_name or "deck")
                    if kept_link and r.kept_deck is not None
                    else "",
                    "; ".join(f"{c} {v}" for c, v in r.at_stake),
                ]
            )
        return out.getvalue()


def chart_pages(rows: Sequence[RegionRow], per_page: int = CHART_ROWS) -> list[list[RegionRow]]:
    """The chart's rows in tree order, each region right after the region above it (parents
    with their children), cut into pages of at most `per_page`: a group is kept on one page
    when it fits, and only a group longer than a page is split."""
    by_parent: dict[str | None, list[RegionRow]] = {}
    codes = {r.code for r in rows}
    for r in rows:
        by_parent.setdefault(r.parent if r.parent in codes else None, []).append(r)
    for children in by_parent.values():
        children.sort(key=lambda r: r.name)
    groups: list[list[RegionRow]] = []

    def walk(r: RegionRow, into: list[RegionRow], seen: set[str]) -> None:
        if r.code in seen:  # a cycle in a hand-edited tree: draw each region once
            return
        seen.add(r.code)
        into.append(r)
        for child in by_parent.get(r.code, []):
            walk(child, into, seen)

    seen: set[str] = set()
    for top in by_parent.get(None, []):
        group: list[RegionRow] = []
        walk(top, group, seen)
        groups.append(group)
    pages: list[list[RegionRow]] = []
    page: list[RegionRow] = []
    for group in groups:
        if page and len(page) + len(group) > per_page:
            pages.append(page)
            page = []
        for r in group:
            if len(page) == per_page:
                pages.append(page)
                page = []
            page.append(r)
    if page:
        pages.append(page)
    return pages


def report_regions(regions: Mapping[str, Region]) -> list[Region]:
    """Top-level regions, and any other region the catalog gives a target."""
    roots = [r.code for r in regions.values() if r.parent is None]
    top = (
        [r for r in regions.values() if r.parent in roots]
        if len(roots) == 1
        else [regions[c] for c in roots]
    )
    extra = [
        r
        for r in regions.values()
        if r.briefing_target_per_quarter is not None and r not in top and r.parent is not None
    ]
    return [*top, *extra]


@dataclass(frozen=True, slots=True)
class CoverageQuery:
    """What the database is asked for one report: every bound computed once, in UTC."""

    start: dt.date  # briefings held on `start` .. `end` (inclusive)
    end: dt.date
    since: dt.datetime  # feedback created in [since, until): the period's days in the report's zone
    until: dt.datetime
    now: dt.datetime  # open feedback is aged against this
    regions: tuple[str, ...] = ()  # the report's regions (bot.reports.report_regions)


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """One region's aggregates, counting everything filed under it or a region below it."""

    briefings: int = 0
    minutes: int = 0
    people: int = 0
    last_briefing: dt.date | None = None
    submitted: int = 0
    decided: int = 0
    median_seconds_to_decision: float | None = None
    open_by_age: tuple[int, int, int] = (0, 0, 0)  # < 7 days, 7–30 days, > 30 days
    # The latest briefing in the period with a deck: its link, and its kept copy (id, name).
    deck: str | None = None
    kept_deck: tuple[int, str] | None = None


@dataclass(frozen=True, slots=True)
class PmFigures:
    pm: str
    briefings: int
    minutes: int
    people: int


@dataclass(frozen=True, slots=True)
class CoverageFigures:
    """The aggregates a report is drawn from; regions absent have nothing recorded."""

    regions: Mapping[str, RegionFigures]
    pms: tuple[PmFigures, ...]
    briefings: int  # held in the period (one briefing may count for several regions)


def coverage_query(
    period: Period, *, now: dt.datetime, tz: ZoneInfo, regions: Mapping[str, Region]
) -> CoverageQuery:
    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)

    return CoverageQuery(
        period.start,
        period.end,
        midnight(period.start),
        midnight(period.end + dt.timedelta(days=1)),
        now.astimezone(dt.UTC),
        tuple(r.code for r in report_regions(regions)),
    )


def build_report(
    *,
    period: Period,
    regions: Mapping[str, Region],
    figures: CoverageFigures,
    default_target: int,
    pm_target: int,
    demand: Mapping[str, Demand] | None = None,
    revenue: Mapping[str, Mapping[str, int]] | None = None,
) -> Report:
    """`revenue`: open feedback's revenue at stake per region code (not rolled up) and
    currency; each report region counts what is filed under it or below it."""
    share = period.quarters
    rows = []
    shown = report_regions(regions)
    codes = {r.code for r in shown}
    stake: dict[str, dict[str, int]] = {}
    for code, totals in (revenue or {}).items():
        for up in region_path(dict(regions), code) if code in regions else ():
            if up in codes:
                into = stake.setdefault(up, {})
                for currency, value in totals.items():
                    into[currency] = into.get(currency, 0) + value
    for region in shown:
        f = figures.regions.get(region.code, RegionFigures())
        target = region.briefing_target_per_quarter
        target = default_target if target is None else target
        expected = whole(target * share)
        if f.briefings == 0:
            status = "none"
        else:
            status = "on track" if f.briefings >= expected else "behind"
        median = f.median_seconds_to_decision
        asked = (demand or {}).get(region.code, Demand())
        rows.append(
            RegionRow(
                code=region.code,
                name=region.name,
                briefings=f.briefings,
                minutes=f.minutes,
                people=f.people,
                last_briefing=f.last_briefing,
                target=target,
                expected=expected,
                status=status,
                submitted=f.submitted,
                decided=f.decided,
                median_hours_to_decision=None if median is None else round(median / 3600, 2),
                open_by_age=f.open_by_age,
                asked=asked.asked,
                not_available=asked.not_available,
                period_target=whole(target * period.whole_quarters),
                parent=_shown_parent(region, regions, codes),
                deck=f.deck,
                kept_deck=f.kept_deck[0] if f.kept_deck else None,
                kept_name=f.kept_deck[1] if f.kept_deck else None,
                at_stake=tuple(
                    sorted(stake.get(region.code, {}).items(), key=lambda cv: (-cv[1], cv[0]))
                ),
            )
        )
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], r.name))
    pms = tuple(
        sorted(
            (
                PmRow(
                    p.pm,
                    p.briefings,
                    p.minutes,
                    p.people,
                    whole(pm_target * share),
                    whole(pm_target * period.whole_quarters),
                )
                for p in figures.pms
            ),
            key=lambda p: (-p.briefings, p.pm),
        )
    )
    return Report(period, tuple(rows), pms, figures.briefings)


def _shown_parent(region: Region, regions: Mapping[str, Region], shown: set[str]) -> str | None:
    """The nearest region above `region` that the report shows too, if any."""
    seen = {region.code}
    code = region.parent
    while code is not None and code not in seen:
        if code in shown:
            return code
        seen.add(code)
        parent = regions.get(code)
        code = parent.parent if parent else None
    return None


class CoverageReader(Protocol):
    async def coverage_figures(self, query: CoverageQuery) -> CoverageFigures:
        """Aggregated in the database: nothing reads the briefings or feedback rows out."""
        ...


class CoverageService:
    def __init__(
        self,
        *,
        figures: CoverageReader,
        catalog: CatalogService,
        clock: Clock,
        timezone: str = "UTC",
        default_target: int = 1,
        pm_target: int = 3,
        receipts: Receipts | None = None,
        revenue: Callable[[], Awaitable[Mapping[str, Mapping[str, int]]]] | None = None,
    ) -> None:
        self._receipts = receipts
        self._revenue = revenue  # open feedback's revenue at stake per region code
        self._figures = figures
        self._catalog = catalog
        self._clock = clock
        self._env = WorkspaceSettings(
            report_timezone=timezone,
            default_briefing_target=default_target,
            pm_briefing_target=pm_target,
        )
        ZoneInfo(timezone)  # a misspelt zone fails here, not on the first report

    @property
    def tz(self) -> ZoneInfo:
        """The report time zone of the request's workspace (else the environment's);
        ZoneInfo keeps one instance per zone."""
        return ZoneInfo(in_effect(self._env).report_timezone)

    @property
    def default_target(self) -> int:
        return in_effect(self._env).default_briefing_target

    @property
    def pm_target(self) -> int:
        return in_effect(self._env).pm_briefing_target

    def today(self) -> dt.date:
        return self._clock.now().astimezone(self.tz).date()

    async def report(self, text: str = "") -> Report:
        """Raises PeriodError with a message for the user when the period is not understood."""
        period = parse_period(text, self.today())
        view = await self._catalog.view()
        regions = view.catalog.regions
        query = coverage_query(period, now=self._clock.now(), tz=self.tz, regions=regions)
        demand = None
        if self._receipts is not None:
            demand = await self._receipts.demand(
                since=query.since, until=query.until, regions=regions
            )
        return build_report(
            period=period,
            regions=regions,
            figures=await self._figures.coverage_figures(query),
            default_target=self.default_target,
            pm_target=self.pm_target,
            demand=demand,
            revenue=await self._revenue() if self._revenue is not None else None,
        )


async def report_to_send(
    coverage: CoverageService | None, period: str, encoded: Mapping[str, Any] | None
) -> Report | str:
    """The report a coverage message shows: as computed when it was written (`encoded`),
    else computed now, in the settings in effect; or why there is none."""
    if encoded is not None:
        try:
            return Report.decode(encoded)
        except (KeyError, TypeError, ValueError) as exc:
            return f"unreadable report: {exc!r}"
    if coverage is None:
        return "coverage reports are not configured"
    try:
        return await coverage.report(period)
    except PeriodError as exc:
        return str(exc)
