"""Freshness: "verified 12 days ago by @pm", a warning past VERIFY_AFTER_DAYS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.catalog import CatalogService
from bot.replies import Freshness
from bot.updates import ProductUpdates

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


class _Clock:
    def now(self) -> dt.datetime:
        return NOW


class _Repo:
    """Only what freshness reads: when a product was last verified, and by whom."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    async def verification(self, *, sku: str) -> tuple[dt.datetime, str] | None:
        return (self.at, "U0PM1") if sku == "WDG-PRO" else None


async def _no_channels() -> list[tuple[str, str]]:
    return []


def _updates(at: dt.datetime, stale_after_days: int) -> ProductUpdates:
    repo: Any = _Repo(at)
    catalog: Any = CatalogService(repo)
    return ProductUpdates(
        repo=repo,
        catalog=catalog,
        clock=_Clock(),
        channels=_no_channels,
        stale_after_days=stale_after_days,
    )


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, "Verified today by U0PM1"),
        (1, "Verified yesterday by U0PM1"),
        (12, "Verified 12 days ago by U0PM1"),
        (90, "Verified 90 days ago by U0PM1"),
        (
            91,
            "⚠ Last verified 91 days ago by U0PM1: it may be out of date, check with the "
            "product team",
        ),
    ],
)
async def test_freshness_says_how_long_ago_and_warns_when_stale(days: int, expected: str) -> None:
    updates = _updates(NOW - dt.timedelta(days=days, hours=1), stale_after_days=90)
    got = await updates.freshness("WDG-PRO")
    assert got is not None and got.text == expected
    assert got.stale is (days > 90)
    assert await updates.freshness("NOPE") is None


def test_freshness_is_a_value() -> None:
    a = Freshness(NOW, "U0PM1", 3, False)
    assert a == Freshness(NOW, "U0PM1", 3, False) and hash(a) == hash(
        Freshness(NOW, "U0PM1", 3, False)
    )


class _MovingClock:
    def __init__(self, now: dt.datetime) -> None:
        self.at = now

    def now(self) -> dt.datetime:
        return self.at


async def test_freshness_is_kept_for_the_day_only() -> None:
    # One Freshness object per product while the verification and the day are the same
    # (decorated answers, and their rendering, are memoised on it); a new day, a new
    # threshold or a new verification is a new one.
    updates = _updates(NOW - dt.timedelta(days=90, hours=1), stale_after_days=90)
    clock = _MovingClock(NOW)
    updates._clock = clock
    first = await updates.freshness("WDG-PRO")
    assert first is not None and first is await updates.freshness("WDG-PRO")
    assert (first.days, first.stale) == (90, False)
    clock.at = NOW + dt.timedelta(days=1)
    later = await updates.freshness("WDG-PRO")
    assert later is not None and (later.days, later.stale) == (91, True)
    updates.stale_after_days = 120
    relaxed = await updates.freshness("WDG-PRO")
    assert relaxed is not None and (relaxed.days, relaxed.stale) == (91, False)
    repo: Any = updates._repo
    repo.at = clock.at
    updates._verified.clear()  # as a verification does
    again = await updates.freshness("WDG-PRO")
    assert again is not None and again.days == 0
