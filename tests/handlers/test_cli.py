"""The `salesbridge` console script: db upgrade, catalog import (all-or-nothing), export."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.catalog_file import parse_catalog
from handlers.cli import main
from tests.conftest import DEMO_CATALOG


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")  # plain form
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_upgrade_import_reimport_export(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    first = run("catalog", "import", str(DEMO_CATALOG))
    assert first.exit_code == 0
    assert first.output.startswith("Products added (30): Widget Pro [WDG-PRO]")
    again = run("catalog", "import", str(DEMO_CATALOG))
    assert again.output.strip() == "No changes: the catalog is already up to date."
    out = tmp_path / "export.yaml"
    assert run("catalog", "export", str(out)).exit_code == 0
    assert parse_catalog(out.read_text()) == parse_catalog(DEMO_CATALOG.read_text())

    changed = tmp_path / "changed.yaml"
    changed.write_text(DEMO_CATALOG.read_text().replace("name: Widget Lite", "name: Widget Air"))
    result = run("catalog", "import", str(changed))
    assert result.output.strip() == "Changed Widget Air [WDG-LITE]: name"


def test_a_broken_file_is_refused_whole(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    run("catalog", "import", str(DEMO_CATALOG))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        DEMO_CATALOG.read_text()
        .replace("name: Widget Lite", "name: Widget Air")
        .replace("region: AU,", "region: AUS-X,", 1)
    )
    result = CliRunner().invoke(main, ["catalog", "import", str(bad)])
    assert result.exit_code == 1
    assert "1 problem(s); nothing was changed." in result.output
    assert "unknown region 'AUS-X'" in result.output
    assert "products[" in result.output
    exported = run("catalog", "export", "-").output
    assert "Widget Air" not in exported and "Widget Lite" in exported


def test_worker_delivers_and_stops_on_sigterm(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`salesbridge worker` as its own process: it claims due messages and exits cleanly."""
    import os
    import signal
    import subprocess
    import sys
    import time

    run("db", "upgrade")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOG_LEVEL": "INFO"}
    env.pop("SLACK_BOT_TOKEN", None)
    env["TEAMS_EMULATOR"] = "1"  # the worker delivers Teams messages only where Teams is set up
    import asyncio

    from bot.ports import Notification
    from store.db import make_engine
    from store.feedback_repo import SqlOutbox

    async def enqueue() -> None:
        engine = make_engine(env["DATABASE_URL"])
        await SqlOutbox(engine).enqueue(
            notifications=[Notification("teams", "dm", "U1", "cli:1", {"type": "fax"})]
        )  # no payload of ours: parked as dead
        await engine.dispose()

    asyncio.run(enqueue())
    proc = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "worker"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:

        async def dead() -> list[dict[str, object]]:
            engine = make_engine(env["DATABASE_URL"])
            try:
                return await SqlOutbox(engine).messages(status="dead")
            finally:
                await engine.dispose()

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not asyncio.run(dead()):
            time.sleep(0.2)
        parked = asyncio.run(dead())
        assert [m["last_error"] for m in parked] == ["unknown payload type 'fax'"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_feedback_top_writes_the_ranked_list_with_crm_links_as_csv(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    import asyncio
    import csv
    import io

    import sqlalchemy as sa

    from bench.history_data import seed_history
    from store.db import make_engine

    run("db", "upgrade")
    run("catalog", "import", str(DEMO_CATALOG))
    deal = "https://app.hubspot.com/contacts/4411223/deal/9876543210"

    async def seed() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
        await seed_history(engine, items=60, briefings=0)
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE feedback_item SET link = :l"), {"l": deal})
        await engine.dispose()

    asyncio.run(seed())
    result = run("feedback", "top", "--limit", "5")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert {(r["crm"], r["link"]) for r in rows} == {("hubspot", deal)}
    assert all(r["status"] in ("new", "now", "later") for r in rows)
    bad = CliRunner().invoke(main, ["feedback", "top", "widget", "pro", "next", "quarter"])
    assert bad.exit_code == 2 and "Say “this quarter”" in bad.output


def test_feedback_top_lists_one_workspaces_feedback(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    import asyncio
    import csv
    import io

    import sqlalchemy as sa

    from bench.history_data import seed_history
    from store.db import make_engine

    run("db", "upgrade")
    run("catalog", "import", str(DEMO_CATALOG))

    async def seed() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
        await seed_history(engine, items=60, briefings=0)
        async with engine.begin() as conn:  # the first 50 items are workspace A's
            await conn.execute(sa.text("UPDATE feedback_item SET scope = 'slack:E0ORG:T0A'"))
            await conn.execute(sa.text("UPDATE feedback_item SET scope = '' WHERE id > 50"))
        await engine.dispose()

    asyncio.run(seed())

    def listed(*args: str) -> list[int]:
        out = run("feedback", "top", "--limit", "100", *args).output
        return [int(r["item"]) for r in csv.DictReader(io.StringIO(out))]

    mine, shared = listed("--workspace", "slack:E0ORG:T0A"), listed()
    assert mine and all(i <= 50 for i in mine)
    assert shared and all(i > 50 for i in shared)


def test_db_adopt_names_what_it_moved(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute(
            "INSERT INTO lookup_miss (query, region_code, day, count, first_at, last_at) "
            "VALUES ('quantum toaster', 'DE', '2026-11-23', 3, '2026-11-23', '2026-11-23')"
        )
    result = run("db", "adopt", "--team", "T0AAA", "--enterprise", "E0ORG")
    assert result.exit_code == 0
    assert "lookup_miss: 1 row moved to slack:E0ORG:T0AAA" in result.output
    with sqlite3.connect(tmp_path / "cli.db") as db:
        assert db.execute("SELECT scope FROM lookup_miss").fetchall() == [("slack:E0ORG:T0AAA",)]
