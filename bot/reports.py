"""Coverage reports: briefings per region against target, PM effort, feedback turnaround."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.briefings import Briefing
from bot.catalog import CatalogService, region_path
from bot.items import Item, Status
from bot.ports import Clock
from bot.types import Region, UserRef

QUARTER_DAYS = 365.25 / 4  # targets are per quarter; "last N days" is pro-rated by days
AGE_BUCKETS = ((7, "< 7 days"), (30, "7–30 days"), (None, "> 30 days"))
STATUS_ORDER = {"none": 0, "behind": 1, "on track": 2}


CHART_ALT = "Briefings per region against target"  # the coverage chart's alternative text


def unlisted_regions(n: int) -> str:
    """Ends a coverage list cut to fit a message."""
    return f"…and {n} more region{'' if n == 1 else 's'}."


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: dt.date  # inclusive, in the report's time zone
    end: dt.date  # inclusive
    quarters: float  # how many quarters' worth of target this period should meet


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
        return Period(f"last {n} days", today - dt.timedelta(days=n - 1), today, n / QUARTER_DAYS)
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
    expected: float  # for this period (pro-rated)
    status: str  # "on track" | "behind" | "none"
    submitted: int
    decided: int
    median_hours_to_decision: float | None
    open_by_age: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class PmRow:
    pm: str
    briefings: int
    minutes: int
    people: int
    expected: float


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
        names = ", ".join(f"{r.name} ({r.status})" for r in self.flagged)
        return (
            f"Coverage {self.period.label}: {self.briefings} "
            f"briefing{'' if self.briefings == 1 else 's'}; "
            + (f"needs attention: {names}" if names else "every region on track")
        )

    def csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                "region_code",
                "region",
                "briefings",
                "minutes",
                "people",
                "last_briefing",
                "target_per_quarter",
                "expected",
                "status",
                "feedback_submitted",
                "feedback_decided",
                "median_hours_to_decision",
                "open_lt_7d",
                "open_7_30d",
                "open_gt_30d",
            ]
        )
        for r in self.regions:
            w.writerow(
                [
                    r.code,
                    r.name,
                    r.briefings,
                    r.minutes,
                    r.people,
                    r.last_briefing.isoformat() if r.last_briefing else "",
                    r.target,
                    f"{r.expected:.2f}",
                    r.status,
                    r.submitted,
                    r.decided,
                    ""
                    if r.median_hours_to_decision is None
                    else f"{r.median_hours_to_decision:.1f}",
                    *r.open_by_age,
                ]
            )
        return out.getvalue()


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


def build_report(
    *,
    period: Period,
    regions: Mapping[str, Region],
    briefings: Sequence[Briefing],
    items: Sequence[Item],
    now: dt.datetime,
    tz: ZoneInfo,
    default_target: int,
    pm_target: int,
) -> Report:
    def local(at: dt.datetime) -> dt.date:
        return at.astimezone(tz).date()

    in_period = [b for b in briefings if period.start <= b.held_on <= period.end]
    share = period.quarters
    rows = []
    for region in report_regions(regions):
        # A briefing counts for its own region and every region above it.
        mine = [
            b
            for b in in_period
            if any(region.code in region_path(dict(regions), c) for c in b.regions)
        ]
        target = region.briefing_target_per_quarter
        target = default_target if target is None else target
        expected = target * share
        held = len(mine)
        if held == 0:
            status = "none"
        else:
            status = "on track" if held >= expected - 1e-9 else "behind"
        related = [
            i
            for i in items
            if i.region_code and region.code in region_path(dict(regions), i.region_code)
        ]
        submitted = [i for i in related if period.start <= local(i.created_at) <= period.end]
        decided = [i for i in submitted if i.decided_at is not None]
        hours = [
            (i.decided_at - i.created_at).total_seconds() / 3600
            for i in decided
            if i.decided_at is not None
        ]
        # Turnaround: what still awaits a PM's decision, by age.
        ages = [(now - i.created_at).days for i in related if i.status is Status.NEW]
        buckets = (
            sum(1 for a in ages if a < 7),
            sum(1 for a in ages if 7 <= a <= 30),
            sum(1 for a in ages if a > 30),
        )
        rows.append(
            RegionRow(
                code=region.code,
                name=region.name,
                briefings=held,
                minutes=sum(b.minutes for b in mine),
                people=sum(b.people for b in mine),
                last_briefing=max((b.held_on for b in mine), default=None),
                target=target,
                expected=round(expected, 2),
                status=status,
                submitted=len(submitted),
                decided=len(decided),
                median_hours_to_decision=round(statistics.median(hours), 1) if hours else None,
                open_by_age=buckets,
            )
        )
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], r.name))
    per_pm: dict[str, list[Briefing]] = {}
    for b in in_period:
        per_pm.setdefault(b.pm.id, []).append(b)
    pms = tuple(
        sorted(
            (
                PmRow(
                    pm,
                    len(bs),
                    sum(b.minutes for b in bs),
                    sum(b.people for b in bs),
                    round(pm_target * share, 2),
                )
                for pm, bs in per_pm.items()
            ),
            key=lambda p: (-p.briefings, p.pm),
        )
    )
    return Report(period, tuple(rows), pms, len(in_period))


class BriefingReader(Protocol):
    async def briefings(
        self, *, start: dt.date | None = None, end: dt.date | None = None, pm: UserRef | None = None
    ) -> list[Briefing]: ...


class ItemReader(Protocol):
    async def all_items(self) -> list[Item]: ...


class CoverageService:
    def __init__(
        self,
        *,
        briefings: BriefingReader,
        items: ItemReader,
        catalog: CatalogService,
        clock: Clock,
        timezone: str = "UTC",
        default_target: int = 1,
        pm_target: int = 3,
    ) -> None:
        self._briefings = briefings
        self._items = items
        self._catalog = catalog
        self._clock = clock
        self.tz = ZoneInfo(timezone)
        self.default_target = default_target
        self.pm_target = pm_target

    def today(self) -> dt.date:
        return self._clock.now().astimezone(self.tz).date()

    async def report(self, text: str = "") -> Report:
        """Raises PeriodError with a message for the user when the period is not understood."""
        period = parse_period(text, self.today())
        view = await self._catalog.view()
        return build_report(
            period=period,
            regions=view.catalog.regions,
            briefings=await self._briefings.briefings(start=period.start, end=period.end),
            items=await self._items.all_items(),
            now=self._clock.now(),
            tz=self.tz,
            default_target=self.default_target,
            pm_target=self.pm_target,
        )
