"""An edit of a product opened from a feedback item in the console: the item's submitter and
the rep who added a client are told the changed line, once each."""

from __future__ import annotations

from tests.handlers.test_console_loop import PM, converse, lines
from tests.handlers.test_console_ship_notes import FEEDBACK, plus_one


async def test_an_edit_from_an_item_tells_its_people_in_the_console(
    db_url: str, engine: object
) -> None:
    out = await converse(
        db_url,
        lines(
            "/feedback Needs Widget Pro in Japan without the deal desk",
            *FEEDBACK,
            *plus_one("Needs Widget Pro in Japan without the deal desk too"),
            f"/as {PM}",
            "5",  # Edit the product, on the item's card
            "",  # the note on the card
            "",  # lifecycle kept
            "",  # pricing band kept
            "",  # availability kept
            "Sold in Japan without the deal desk from Q1",  # the summary
            *[""] * 3,  # traits, competitive differences, documents kept
            "/as U0SALES1",
            "/as U0SALES2",
        ),
    )
    text = "\n".join(out)
    assert "== Edit Widget Pro ==" in text and "feedback #1" in text
    told = [o for o in out if o.startswith("(message)") and "changed after your feedback" in o]
    assert len(told) == 2, told
    for message in told:
        assert "Widget Pro: updated summary" in message
