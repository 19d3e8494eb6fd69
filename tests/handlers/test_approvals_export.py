"""`salesbridge approvals export`: a period's approval requests with their decisions as CSV
(content checked, both databases), and the same clear refusal of impossible periods as
`receipts export`."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.approvals import CSV_HEADER, ApprovalAction, ApprovalService, Requested, Settings
from bot.catalog import CatalogService
from bot.types import UserRef
from store.approvals_repo import SqlApprovals
from store.repository import SqlRepository
from tests.bot.test_approvals import JAPAN, VALUES, Clock
from tests.conftest import demo_text
from tests.handlers.test_receipts_export import _in_thread, run  # noqa: F401 - a fixture

DESK = UserRef("slack", "U01DEALDESK")
OTHER = workspace.Workspace("slack", None, "T0B", isolated=True)  # another workspace's request


async def _requests(engine: AsyncEngine) -> None:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    clock = Clock()
    service = ApprovalService(
        repo=SqlApprovals(engine), catalog=catalog, clock=clock, settings=Settings()
    )
    for at, user, client in (
        (dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC), "U0SEPT", "Before"),
        (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), "U0OCT", "Acme"),
        (dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC), "U0NYE", "=SUM(A1)"),
        (dt.datetime(2027, 1, 1, tzinfo=dt.UTC), "U0JAN", "After"),
    ):
        clock.at = at
        with workspace.using(OTHER if user == "U0NYE" else None):
            made = await service.request(
                user=UserRef("slack", user),
                key=JAPAN,
                values={**VALUES, "client": client},
                submission=None,
            )
        assert isinstance(made, Requested)
        if user == "U0OCT":
            clock.at = at + dt.timedelta(hours=2)
            await service.decide(
                user=DESK, request_id=made.request.id, action=ApprovalAction.APPROVE, note="OK"
            )


async def test_a_quarter_of_requests_as_csv(  # type: ignore[no-untyped-def]
    run,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    await _requests(engine)
    out = tmp_path / "q4.csv"
    result = await _in_thread(
        run, "approvals", "export", "--since", "2026-10-01", "--until", "2026-12-31",
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Wrote 2 approval requests (2026-10-01 to 2026-12-31) to {out}."
    )
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1:] == [
        [
            "2026-10-01T00:00:00+00:00", "2", "slack", "U0OCT", "WDG-PRO", "Widget Pro", "JP", "",
            "Restricted — Deal desk approval", "Acme", "250000", "USD", "Three-year renewal",
            "slack:U01DEALDESK", "approved", "2026-10-01T02:00:00+00:00", "slack", "U01DEALDESK",
            "OK", "2026-10-31T02:00:00+00:00", "",
        ],
        [
            "2026-12-31T23:59:00+00:00", "3", "slack", "U0NYE", "WDG-PRO", "Widget Pro", "JP", "",
            "Restricted — Deal desk approval", "'=SUM(A1)", "250000", "USD", "Three-year renewal",
            "slack:U01DEALDESK", "pending", "", "", "", "", "", "slack::T0B",
        ],
    ]  # fmt: skip
    one = await _in_thread(
        run, "approvals", "export", "--since", "2026-10-01", "--until", "2026-12-31",
        "--out", str(out), "--workspace", OTHER.scope,
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert [(r[3], r[-1]) for r in rows[1:]] == [("U0NYE", "slack::T0B")]


async def test_impossible_periods_are_refused_clearly(  # type: ignore[no-untyped-def]
    run,  # noqa: F811
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    out = tmp_path / "x.csv"
    backwards = await _in_thread(
        run, "approvals", "export", "--since", "2026-12-31", "--until", "2026-10-01",
        "--out", str(out),
    )  # fmt: skip
    assert backwards.exit_code == 2
    assert "--until (2026-10-01) is before --since (2026-12-31)" in backwards.output
    bad = await _in_thread(
        run, "approvals", "export", "--since", "2026-13-01", "--until", "2026-12-31",
        "--out", str(out),
    )  # fmt: skip
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    assert not out.exists()
