"""Approval requests in the console: `/product request …` opens the form, the contact's
inbox holds the request with its presses, anyone else's press is refused, the requester's
inbox the decision, and their next answer the approval; `/coverage csv` prints the file."""

from __future__ import annotations

from tests.handlers.test_console_loop import PM, converse, lines


async def test_request_decision_and_the_approval_in_the_next_answer(
    db_url: str, engine: object
) -> None:
    out = await converse(
        db_url,
        lines(
            "/product request japan widget pro",
            "Acme",  # client
            "250000",  # deal value
            "",  # currency: keeps USD
            "Renewal of a three-year deal",
            "/as U0SALES2",
            "/press approval.approve 1",  # not theirs to decide
            "/as U01DEALDESK",  # the rule's contact: the request waits in their inbox
            "1",  # Approve
            "",  # note: optional on an approval
            "/press approval.decline 1",  # a second press: already decided
            "/as U0SALES1",
            "/product widget pro japan",
            "/product my answers",
            "/coverage csv",  # not for sales
            f"/as {PM}",
            "/coverage csv this quarter",
        ),
    )
    text = "\n".join(out)
    assert "Approval request #1 Widget Pro in Japan for Acme is with the approver" in text
    refused = out.index("(now acting as U0SALES2)") + 1
    assert out[refused].startswith("Only the person this request was sent to")
    card = next(o for o in out if o.startswith("Approval request #1: Widget Pro in Japan"))
    assert "[1] Approve  [2] Decline…  [3] Need more info…" in card
    assert "Client: Acme · Deal value: $250,000" in card
    assert "Approved: request #1 Widget Pro in Japan for Acme. Valid until" in text
    # The approver's card is shown again as it now is: the decision, and nothing to press.
    updated = out[out.index("(approval request, updated)") + 1]
    assert updated.startswith("Approval request #1: Widget Pro in Japan for Acme (Approved)")
    assert "  Approved by U01DEALDESK on " in updated and ", valid until " in updated
    assert "[1]" not in updated
    assert "Request #1 was already decided: Approved by U01DEALDESK" in text
    assert "(message) Your approval request #1 (Widget Pro in Japan for Acme): Approved by" in text
    answer = next(o for o in reversed(out) if o.startswith("Widget Pro: Restricted in Japan"))
    assert "Approved for Acme by U01DEALDESK until" in answer
    assert "Request approval" not in answer
    assert "#1 Widget Pro in Japan for Acme: Approved, valid until" in text
    assert "Coverage reports are for product managers" in text
    assert "--- coverage-" in text and "region_code,region,parent_code,briefings" in text
