"""Mark actioned with what shipped in the console, with the server's own services: the form
as prompts, a link that is no web address asked again, the submitter and the supporter told."""

from __future__ import annotations

from tests.handlers.test_console_loop import PM, converse, lines

NOTES = "https://docs.example.com/releases/4.2#sso"
FEEDBACK = ("widget pro", "1", "4", "Acme Corp", *[""] * 7)  # product … link


def plus_one(details: str) -> tuple[str, ...]:
    """U0SALES2 sends the same need for Globex and adds the client to #1 (+1 with my client)."""
    return ("/as U0SALES2", f"/feedback {details}", "widget pro", "1", "4", "Globex",
            *[""] * 7, "1", *[""] * 10)  # fmt: skip


async def test_what_shipped_in_the_console(db_url: str, engine: object) -> None:
    out = await converse(
        db_url,
        lines(
            "/feedback Needs SAML single sign-on before the renewal",
            *FEEDBACK,
            *plus_one("Needs SAML single sign-on before the renewal too"),
            f"/as {PM}",
            "1",  # Act now
            "",  # the note on the card
            "2",  # Mark actioned (beside Decline…)
            "",  # the note on the card
            "SAML SSO with Okta",  # what shipped
            "ftp://files.example.com/notes",  # refused by the server…
            "",  # the note on the form
            NOTES,  # …and asked again alone
            "/as U0SALES1",
            "/as U0SALES2",
        ),
    )
    text = "\n".join(out)
    assert "== Mark actioned ==" in text
    assert "! shipped_link: A web address starting with https://" in text
    told = [o for o in out if o.startswith("(message)") and "actioned" in o]
    assert len(told) == 2, told
    for message in told:
        assert f"What shipped: SAML SSO with Okta {NOTES}." in message
