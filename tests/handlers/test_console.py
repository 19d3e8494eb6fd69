"""The local console reads like a conversation: a line in, a readable answer out."""

from __future__ import annotations

import io

from bench.history_data import seed_history
from bot.catalog import CatalogService
from bot.commands import Bot
from bot.feedback import FeedbackService, Settings
from bot.interactions import Interactions
from bot.ports import SystemClock
from handlers.console import run_console
from store.feedback_repo import SqlFeedbackRepository
from tests.conftest import demo_text


async def converse(catalog_service: CatalogService, script: str) -> list[str]:
    await catalog_service.import_catalog(demo_text())
    out: list[str] = []
    repo = SqlFeedbackRepository(catalog_service._repo.engine)  # type: ignore[attr-defined]
    feedback = FeedbackService(
        repo=repo, catalog=catalog_service, clock=SystemClock(), settings=Settings()
    )
    interactions = Interactions(bot=Bot(catalog=catalog_service), feedback=feedback)
    await run_console(interactions, user="U0SALES1", stdin=io.StringIO(script), out=out.append)
    return out


async def test_console_answers_like_slack(catalog_service: CatalogService) -> None:
    out = await converse(
        catalog_service,
        "/product widget lite in oz\n"
        "australia widget\n"  # a bare question is a lookup
        "/as U01PMALICE\n"
        "help\n"
        "/nope\n"
        "quit\n"
        "/product never reached\n",
    )
    assert out[0].splitlines()[0] == (
        "Widget Lite: Not available in Australia — Not licensed. Ask U01PMALICE"
    )
    assert "Sellable alternatives in Australia:" in out[0]
    assert out[1].startswith("3 products match “widget” in Australia")
    assert out[2] == "(now acting as U01PMALICE)"
    assert "/product australia widget pro" in out[3]
    assert out[4].startswith("I don't know the command")
    assert len(out) == 5


async def test_the_console_user_gets_receipts_too(catalog_service: CatalogService) -> None:
    from bot.receipts import Receipts
    from store.receipts_repo import SqlReceipts

    await catalog_service.import_catalog(demo_text())
    engine = catalog_service._repo.engine  # type: ignore[attr-defined]
    repo = SqlReceipts(engine)
    receipts = Receipts(repo=repo, clock=SystemClock())
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=SystemClock(),
        settings=Settings(),
    )
    bot = Bot(catalog=catalog_service, receipts=receipts)
    script = "/product widget lite in oz\nquit\n"
    await run_console(
        Interactions(bot=bot, feedback=feedback),
        user="U0SALES1",
        stdin=io.StringIO(script),
        out=lambda _line: None,
    )
    await receipts.close()
    import datetime as dt

    got = [
        r
        async for r in repo.export(
            since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        )
    ]
    assert [(r.platform, r.user_id, r.sku, r.region) for r in got] == [
        ("console", "U0SALES1", "WDG-LITE", "AU")
    ]


async def test_console_home_pages_with_more(catalog_service: CatalogService) -> None:
    await catalog_service.import_catalog(demo_text())
    engine = catalog_service._repo.engine  # type: ignore[attr-defined]
    await seed_history(engine, items=60, briefings=0)  # 18 waiting for a decision
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=SystemClock(),
        settings=Settings(product_managers=frozenset({"U0PM1"})),
    )
    interactions = Interactions(
        bot=Bot(catalog=catalog_service, feedback=feedback), feedback=feedback
    )
    out: list[str] = []
    script = "/as U0PM1\nhome\n1\n"  # 1: the first button offered, "More"
    await run_console(interactions, user="U0SALES1", stdin=io.StringIO(script), out=out.append)
    text = "\n".join(out)
    assert "Open queue: 30, 18 waiting for a decision" in text
    assert "(1–10 of 18)" in text and "(11–18 of 18)" in text
    assert text.index("(1–10 of 18)") < text.index("(11–18 of 18)")
