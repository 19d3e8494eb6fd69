"""The local console reads like a conversation: a line in, a readable answer out."""

from __future__ import annotations

import io

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
