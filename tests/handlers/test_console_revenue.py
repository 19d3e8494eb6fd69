"""Revenue at stake in the console, with the server's own services: a deal value typed with a
currency sign is asked again with what to fix, a +1 keeps its deal, a merge brings the
clients along, and `feedback top` ranks for the PM and refuses the sales rep."""

from __future__ import annotations

from bot.demand import TOP_REFUSED
from tests.handlers.test_console_loop import PM, converse, lines

SF = "https://acme.my.salesforce.com/0065g00000AbCdE"


async def test_deals_plus_one_merge_and_top_in_the_console(db_url: str, engine: object) -> None:
    out = await converse(
        db_url,
        lines(
            "/feedback Needs SAML single sign-on before the renewal",
            "widget pro",
            "1",
            "4",  # feature request
            "Acme Corp",
            "",  # region: skipped
            "",  # segment: skipped
            "$250,000",  # refused by the server, with what to fix…
            "",  # currency: USD
            "",
            "",
            SF,
            "250,000",  # …and asked again alone
            "/as U0SALES2",
            "/feedback Needs SAML single sign-on before the renewal too",
            "widget pro",
            "1",
            "4",
            "Globex",
            "",
            "",
            "90000",
            "2",  # EUR
            "",
            "",
            "",
            "1",  # +1 with my client: #1 …
            *[""] * 10,  # every other field as it was
            "/as U0SALES3",
            "/feedback Wants an Xero connector for the ledger team",
            "ledger sync",
            "1",
            "4",
            "Umbrella",
            "",
            "",
            "400000",
            "",
            "",
            "",
            "",
            f"/as {PM}",  # the triage cards; the last shown is #2's
            "4",  # Merge into…
            "",  # the note on the card
            "1",  # the target: #1
            "",  # the note on the form
            "feedback top this quarter",
            "feedback top ledger next quarter",
            "/as U0SALES1",
            "feedback top",
        ),
        fx_rates={"EUR": 1.1},
    )
    text = "\n".join(out)
    assert "! deal_value: Leave out “$”" in text
    assert "Your client is now on #1" in text
    assert "$250,000 + €90,000 at stake from 2 clients" in text
    card = next(o for o in out if o.startswith("Feedback #1") and "Globex" in o)
    assert "Clients: Acme Corp ($250,000), Globex (€90,000)" in card
    assert f"Opportunity in Salesforce: {SF}" in card
    top = next(o for o in out if o.startswith("Open feedback by revenue at stake"))
    assert "1. #1 Widget Pro: Needs SAML" in top
    assert "$650,000 + €90,000 at stake from 3 clients (≈ $749,000)" in top
    assert "Acme Corp ($250,000), Globex (€90,000), Umbrella ($400,000)" in top
    assert f"Opportunity in Salesforce: {SF}" in top
    assert "Widget Pro: 1 item, 3 clients, $650,000 + €90,000 (1 feature request)" in top
    assert any(o.startswith("Say “this quarter”") for o in out), text
    assert out[-1] == TOP_REFUSED
