"""`/salesbridge settings` in the console: someone in ADMINS changes the console's settings
field by field; the change is recorded and in effect; anyone else is refused."""

from __future__ import annotations

import io

import sqlalchemy as sa

from bot.settings import NOT_ADMIN
from handlers.app import build_services
from handlers.config import Settings
from handlers.console import run_console
from tests.conftest import demo_text
from tests.handlers.test_console_loop import lines


async def test_an_admin_changes_settings_in_the_console(db_url: str, engine: object) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        product_managers=frozenset({"U0PM1"}),
        admins=frozenset({"U0ADMIN"}),
    )
    services = build_services(settings)
    await services.catalog.import_catalog(demo_text())
    script = lines(
        "/salesbridge settings",  # a sales user: refused
        "/as U0ADMIN",
        "/salesbridge settings",
        "U0PM9",  # product managers
        "",  # managers: kept
        "C0TRIAGE2",  # triage channel
        "",  # announcements
        "",  # approvals
        "",  # management
        "",  # region channels
        "",  # briefings per region: kept
        "5",  # briefings per PM
        "Europe/London",
        "/as U0PM9",
        "/briefing",  # now a PM: the form opens
    )
    out: list[str] = []
    try:
        await run_console(
            services.interactions, user="U0SALES1", stdin=io.StringIO(script), out=out.append
        )
        async with services.engine.connect() as conn:
            changed = sorted(
                (r.key, r.by_id, r.via)
                for r in await conn.execute(sa.text("SELECT * FROM setting_change"))
            )
            [ws] = list(await conn.execute(sa.text("SELECT * FROM workspace_settings")))
    finally:
        await services.updates.close()
        await services.engine.dispose()
    text = "\n".join(out)
    assert NOT_ADMIN in text
    assert changed == [
        ("pm_briefing_target", "U0ADMIN", "console"),
        ("product_managers", "U0ADMIN", "console"),
        ("report_timezone", "U0ADMIN", "console"),
        ("triage_channel", "U0ADMIN", "console"),
    ]
    assert (ws.platform, ws.team_id) == ("console", "local")
    assert "Product managers: U0PM1 → U0PM9" in text
    assert "== Log a briefing" in text.split("(now acting as U0PM9)")[-1]
