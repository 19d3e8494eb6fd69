"""The rules behind revenue at stake, with no database: deal values as typed, CRM links by
their address, FX_RATES, and each client counted once per item."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.demand import Rates, RatesError, at_stake_text, clients_text, parse_rates
from bot.feedback import parse_deal
from bot.items import Item, Kind, Status, Supporter, Urgency
from bot.links import Crm, crm_of, link_of
from bot.types import UserRef

AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "got"),
    [
        ("", None),
        ("250000", 250_000),
        ("250,000", 250_000),
        ("250 000", 250_000),
        ("2,50,000", 250_000),  # lakh grouping
        ("1_000", 1_000),
    ],
)
def test_whole_amounts_are_taken(typed: str, got: int | None) -> None:
    assert parse_deal(typed) == got


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("$250,000", "Leave out “$”: pick the currency under Currency"),
        ("€90k", "Leave out “€”"),
        ("USD 250000", "Leave out “USD”"),
        ("250000eur", "Leave out “eur”"),
        ("250k", "Write the whole amount in digits: 250000 for 250k."),
        ("1.5M", "1500000 for 1.5M"),
        ("-5000", "A deal value is positive"),
        ("(5000)", "A deal value is positive"),
        ("250000.50", "without a decimal point"),
        ("0", "Leave it empty if there is no deal value yet."),
        ("100000000000", "more than any one deal (at most 99,999,999,999)"),
        ("lots", "A whole amount in digits, like 250000."),
        ("a lot", "A whole amount in digits"),
    ],
)
def test_what_is_no_whole_amount_says_what_to_fix(typed: str, says: str) -> None:
    got = parse_deal(typed)
    assert isinstance(got, str) and says in got


@pytest.mark.parametrize(
    ("url", "crm"),
    [
        ("https://acme.lightning.force.com/lightning/r/Opportunity/0065g00000AbCdEAAZ/view", "sf"),
        ("https://acme.lightning.force.com/lightning/r/0065g00000AbCdE/view", "sf"),
        ("https://acme.my.salesforce.com/0065g00000AbCdE", "sf"),
        ("https://eu12.salesforce.com/0065g00000AbCdEAAZ/", "sf"),
        ("https://app.hubspot.com/contacts/4411223/deal/9876543210", "hs"),
        ("https://app-eu1.hubspot.com/contacts/4411223/record/0-3/9876543210/", "hs"),
        # Not opportunities or deals: accounts, contacts, other hosts, plain http.
        ("https://acme.lightning.force.com/lightning/r/Account/0015g00000AbCdEAAZ/view", None),
        ("https://acme.my.salesforce.com/0015g00000AbCdE", None),
        ("https://app.hubspot.com/contacts/4411223/record/0-1/9876543210", None),
        ("https://salesforce.com.evil.example/0065g00000AbCdE", None),
        ("https://evil.example/?u=https://app.hubspot.com/contacts/1/deal/2", None),
        ("http://acme.my.salesforce.com/0065g00000AbCdE", None),
        ("https://docs.example.com/deck.pdf", None),
    ],
)
def test_crm_records_are_known_by_their_address(url: str, crm: str | None) -> None:
    expected = {"sf": Crm.SALESFORCE, "hs": Crm.HUBSPOT, None: None}[crm]
    assert crm_of(url) is expected
    link = link_of(url)
    assert link is not None
    assert (
        link.label
        == {
            "sf": "Opportunity in Salesforce",
            "hs": "Deal in HubSpot",
            None: "link",
        }[crm]
    )


def test_fx_rates_are_code_equals_rate() -> None:
    rates = parse_rates("EUR=1.08, gbp=1.27;")
    assert rates.rates == {"EUR": 1.08, "GBP": 1.27}
    assert rates.convert({"USD": 100, "EUR": 100, "JPY": 1000}) == (208, ("JPY",))
    for bad in ("EUR", "EUR=abc", "EURO=1", "EUR=0", "EUR=-1"):
        with pytest.raises(RatesError):
            parse_rates(bad)
    assert Rates().convert({"USD": 5}) == (5, ())


def _item(*supporters: Supporter, value: int | None = 250_000, currency: str = "USD") -> Item:
    return Item(
        1, "Widget Pro: SAML", "WDG-PRO", "Widget Pro", Kind.FEATURE_REQUEST, "Acme Corp",
        "AU", value, currency if value else None, Urgency.NORMAL, "SAML", None, None,
        UserRef("slack", "U1"), Status.NEW, AT, supporters=supporters,
    )  # fmt: skip


def test_each_client_counts_once_at_its_largest_deal_per_currency() -> None:
    item = _item(
        Supporter(UserRef("slack", "U2"), "acme  CORP", AT, 300_000, "USD"),  # the same client
        Supporter(UserRef("slack", "U3"), "Globex", AT, 90_000, "EUR"),
        Supporter(UserRef("teams", "a1"), "Initech", AT),  # no figure given
        Supporter(UserRef("slack", "U4"), "Globex", AT),  # named again, without one
    )
    assert [(s.client, s.deal_value) for s in item.stakes] == [
        ("Acme Corp", 300_000),
        ("Globex", 90_000),
        ("Initech", None),
    ]
    assert item.revenue == {"USD": 300_000, "EUR": 90_000}
    assert clients_text(item) == "Acme Corp ($300,000), Globex (€90,000), Initech"
    assert at_stake_text(item) == "$300,000 + €90,000 at stake from 3 clients"
    assert at_stake_text(_item(value=None)) == "1 client, no deal value given"
