"""The console runs the whole loop as text: feedback, triage, the DM, a briefing, coverage."""

from __future__ import annotations

import io
from typing import Any

from bot.outbox import Worker
from handlers.app import build_services
from handlers.config import Settings
from handlers.console import Inboxes, run_console
from tests.conftest import demo_text

PM = "U0PM1"


async def converse(
    db_url: str, script: str, catalog: str | None = None, **overrides: Any
) -> list[str]:
    """The script typed into the console of a server built from Settings (and `overrides`)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        product_managers=frozenset({PM}),
        **overrides,
    )
    services = build_services(settings)
    await services.catalog.import_catalog(catalog or demo_text())
    inboxes = Inboxes()
    worker = Worker(
        store=services.outbox, deliver=inboxes.deliver, platforms=frozenset({"console"})
    )

    async def deliver() -> None:
        while await worker.run_once():
            pass

    out: list[str] = []
    try:
        await run_console(
            services.interactions,
            user="U0SALES1",
            stdin=io.StringIO(script),
            out=out.append,
            inboxes=inboxes,
            deliver=deliver,
        )
    finally:
        await services.updates.close()
        await services.engine.dispose()
    return out


def lines(*parts: str) -> str:
    return "".join(p + "\n" for p in parts)


async def test_a_newcomer_runs_the_whole_loop_in_the_console(db_url: str, engine: object) -> None:
    out = await converse(
        db_url,
        lines(
            "/feedback Acme needs SAML single sign-on before the renewal",
            "widgit pro",  # the product field: searched with the fuzzy matcher…
            "1",  # …and picked by number
            "4",  # kind: feature request
            "Acme Corp",
            "australia",  # the region field: searched…
            "1",  # …and picked by number
            "",  # customer segment: optional, skipped
            "250000",
            "",  # currency: keeps USD
            "",  # urgency: keeps Normal
            "",  # details: keeps the text typed with the command
            "",  # link: optional, skipped
            f"/as {PM}",  # the PM's inbox has the triage card, buttons by number
            "1",  # Act now
            "On the Q1 plan",  # the note that travels with the decision
            "/as U0SALES1",  # the submitter's inbox has the DM
            f"/as {PM}",
            "/briefing",
            "",  # date: today
            "germany",  # regions: searched, then picked by number
            "1",
            "",  # team
            "",  # attendees
            "9",
            "widget pro",
            "1",
            "Roadmap and pricing",
            "",  # deck
            "",  # deck file
            "30",
            "coverage last 7 days",  # a bare command, as on Teams
        ),
    )
    text = "\n".join(out)
    assert "1. Widget Pro (WDG-PRO)" in text
    assert "Thanks. Product has it as #1: Widget Pro: Acme needs SAML" in text
    triage = next(o for o in out if o.startswith("Feedback #1"))
    assert "[1] Act now" in triage and "[3] Decline…" in triage
    decided = [o for o in out if "Status: Act now by U0PM1" in o]
    assert decided, text
    dm = next(o for o in out if o.startswith("(message) Your feedback #1"))
    assert "Product will act on it now. Note from product: On the Q1 plan" in dm
    assert any(o.startswith("Saved: #1") for o in out), text
    assert any(o.startswith("Coverage last 7 days: 1 briefing") for o in out), text
    # Germany's 3 a quarter come to none in 7 days: the count and the quarter's target.
    assert "  - Germany: 1 briefing in the last 7 days — on track (target 3 a quarter) · " in text


async def test_form_errors_are_asked_again_and_cancel_leaves(db_url: str, engine: object) -> None:
    out = await converse(
        db_url,
        lines(
            f"/as {PM}",
            "/briefing",
            "",
            "germany",  # regions: searched…
            "99",  # …but not on the list: searched and asked again
            "germany",
            "1",
            "",
            "",
            "lots",  # not a number: asked again
            "5",
            "",  # products: no search, skipped
            "ok",  # too short for the server's check: that field is asked again…
            "",
            "",
            "30",
            "cancel",  # …and cancel leaves the form
            "/product subscriptions",
        ),
    )
    text = "\n".join(out)
    assert "Type a number from the list." in text or "Type numbers from the list." in text
    assert "A whole number." in text
    assert "! shared: A line on what you covered." in text
    assert "(form cancelled)" in text
    assert out[-1].startswith("You follow no products.")


async def test_buttons_on_an_answer_are_pressed_by_number(db_url: str, engine: object) -> None:
    out = await converse(
        db_url,
        lines(
            f"/as {PM}",
            "widget pro in oz",
            "3",  # Still accurate
            "/press feedback.from_message Client says Gizmotron cut prices by 20%",
            "",  # product: required, so asked again
            "widget pro",
            "1",
            "3",  # competitive development
            "Acme Corp",
            "",  # region
            "",  # customer segment
            "",
            "",
            "",
            "",  # details: the message's text
            "",
        ),
    )
    answer = next(o for o in out if o.startswith("Widget Pro: Available in Australia"))
    assert "[1] Share in channel  [2] Edit  [3] Still accurate" in answer
    assert any(o.startswith("Thanks: Widget Pro is marked as still accurate") for o in out)
    assert "    (required: type a few letters to search)" in out
    assert any(
        o.startswith("Thanks. Product has it as #1: Widget Pro: Client says Gizmotron") for o in out
    )
