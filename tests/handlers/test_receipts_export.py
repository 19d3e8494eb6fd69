"""`salesbridge receipts export`: a period's receipts as CSV (content checked, both
databases), every workspace's each saying whose or one workspace's, and a clear refusal of
a period that cannot be."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.receipts import CSV_HEADER, Receipt
from handlers.cli import main
from store.receipts_repo import SqlReceipts

Q4 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
ONE = Receipt(
    "teams",
    "00000000-0000-0000-0000-0000000000b1",
    Q4,
    "WDG-PRO",
    "Widget Pro",
    "AE",
    None,
    "Available",
    "",
    "Growth ($10,000–$50,000)",
    3,
)


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


async def test_a_quarter_as_csv(run, engine: AsyncEngine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await SqlReceipts(engine).add(
        [
            dataclasses.replace(ONE, at=Q4 - dt.timedelta(seconds=1), user_id="U0SEPT"),
            ONE,
            dataclasses.replace(
                ONE,
                at=dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC),
                platform="slack",
                user_id="U0NYE",
                segment="PUB",
                verdict="Not available",
                reason='=HYPERLINK("x")',
                scope="slack::T0B",
            ),
            dataclasses.replace(ONE, at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC), user_id="U0JAN"),
        ]
    )
    out = tmp_path / "q4.csv"
    result = await _in_thread(
        run,
        "receipts",
        "export",
        "--since",
        "2026-10-01",
        "--until",
        "2026-12-31",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Wrote 2 receipts (2026-10-01 to 2026-12-31) to {out}."
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1:] == [
        [
            "2026-10-01T00:00:00+00:00",
            "teams",
            ONE.user_id,
            "WDG-PRO",
            "Widget Pro",
            "AE",
            "",
            "Available",
            "",
            "Growth ($10,000–$50,000)",
            "3",
            "",
        ],
        [
            "2026-12-31T23:59:00+00:00",
            "slack",
            "U0NYE",
            "WDG-PRO",
            "Widget Pro",
            "AE",
            "PUB",
            "Not available",
            '\'=HYPERLINK("x")',
            "Growth ($10,000–$50,000)",
            "3",
            "slack::T0B",
        ],
    ]
    for scope, users in (("slack::T0B", ["U0NYE"]), ("", [ONE.user_id])):
        one = await _in_thread(
            run, "receipts", "export", "--since", "2026-10-01", "--until", "2026-12-31",
            "--out", str(out), "--workspace", scope,
        )  # fmt: skip
        assert one.exit_code == 0, one.output
        rows = list(csv.reader(out.open(encoding="utf-8")))
        assert [r[2] for r in rows[1:]] == users and {r[-1] for r in rows[1:]} == {scope}


async def test_impossible_periods_are_refused_clearly(
    run, engine: AsyncEngine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "x.csv"
    backwards = await _in_thread(
        run,
        "receipts",
        "export",
        "--since",
        "2026-12-31",
        "--until",
        "2026-10-01",
        "--out",
        str(out),
    )
    assert backwards.exit_code == 2
    assert "--until (2026-10-01) is before --since (2026-12-31)" in backwards.output
    bad = await _in_thread(
        run,
        "receipts",
        "export",
        "--since",
        "2026-02-30",
        "--until",
        "2026-03-01",
        "--out",
        str(out),
    )
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    assert not out.exists()


async def _in_thread(run, *args: str):  # type: ignore[no-untyped-def]
    """The CLI runs its own event loop (asyncio.run): keep it off this test's."""
    import asyncio

    return await asyncio.to_thread(run, *args)
