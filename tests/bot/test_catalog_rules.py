"""The verdict rules (README "The rules") as tables: every lifecycle x rule depth, band
overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.catalog import assess
from bot.replies import NO_COVERAGE
from bot.types import (
    Lifecycle,
    PricingBand,
    Region,
    Rule,
    SalesCatalog,
    SalesProduct,
    Status,
    Verdict,
)

REGIONS = {
    "GLOBAL": Region("GLOBAL", "Global"),
    "APAC": Region("APAC", "Asia Pacific", "GLOBAL"),
    "AU": Region("AU", "Australia", "APAC"),
    "NZ": Region("NZ", "New Zealand", "APAC"),
    "EMEA": Region("EMEA", "EMEA", "GLOBAL"),
}
BANDS = {
    "B": PricingBand("B", "Growth", 10_000, 50_000, "USD"),
    "C": PricingBand("C", "Enterprise", 50_000, None, "USD"),
}


def product(lifecycle: Lifecycle, *rules: Rule) -> SalesProduct:
    return SalesProduct("SKU", "Thing", lifecycle, "B", rules=rules)


def catalog() -> SalesCatalog:
    return SalesCatalog(1, BANDS, REGIONS)


A, R, P, N, W = (
    Verdict.AVAILABLE,
    Verdict.RESTRICTED,
    Verdict.PLANNED,
    Verdict.NOT_AVAILABLE,
    Verdict.WITHDRAWN,
)
STATUS = {
    "available": A,
    "restricted": R,
    "planned": P,
    "not_available": N,
    "withdrawn": W,
}
# Lifecycle caps: (lifecycle, written verdict) -> verdict sales are told.
CAPPED = {
    Lifecycle.GA: {A: A, R: R, P: P, N: N, W: W},
    Lifecycle.BETA: {A: R, R: R, P: P, N: N, W: W},
    Lifecycle.PILOT: {A: R, R: R, P: P, N: N, W: W},
    Lifecycle.SUNSET: {A: R, R: R, P: P, N: N, W: W},
    Lifecycle.ANNOUNCED: {A: P, R: P, P: P, N: N, W: W},
    Lifecycle.WITHDRAWN: {A: W, R: W, P: W, N: W, W: W},
}


@pytest.mark.parametrize("lifecycle", list(Lifecycle))
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("depth", ["AU", "APAC", "GLOBAL"])
def test_rule_at_any_depth_capped_by_lifecycle(
    lifecycle: Lifecycle, status: Status, depth: str
) -> None:
    p = product(lifecycle, Rule(depth, status, "why"))
    got = assess(catalog(), p, "AU")
    assert got.verdict is CAPPED[lifecycle][STATUS[status.value]]


@pytest.mark.parametrize("lifecycle", list(Lifecycle))
def test_no_rule_on_the_path_is_not_available(lifecycle: Lifecycle) -> None:
    # A rule for a sibling (NZ) and another branch (EMEA) says nothing about Australia.
    p = product(lifecycle, Rule("NZ", Status.AVAILABLE), Rule("EMEA", Status.AVAILABLE))
    got = assess(catalog(), p, "AU")
    if lifecycle is Lifecycle.WITHDRAWN:
        assert got.verdict is W
    else:
        assert got.verdict is N
        assert got.reason == NO_COVERAGE


def test_most_specific_rule_wins_both_ways() -> None:
    p = product(
        Lifecycle.GA,
        Rule("GLOBAL", Status.AVAILABLE),
        Rule("APAC", Status.NOT_AVAILABLE, "Not licensed"),
        Rule("AU", Status.AVAILABLE),
    )
    assert assess(catalog(), p, "AU").verdict is A  # country beats region
    assert assess(catalog(), p, "NZ").verdict is N  # region beats global
    assert assess(catalog(), p, "NZ").reason == "Not licensed"
    assert assess(catalog(), p, "EMEA").verdict is A  # global


def test_unknown_region_is_not_available() -> None:
    p = product(Lifecycle.GA, Rule("GLOBAL", Status.AVAILABLE))
    assert assess(catalog(), p, "XX").verdict is N


def test_planned_carries_its_date_and_reason() -> None:
    p = product(
        Lifecycle.GA, Rule("AU", Status.PLANNED, "Awaiting certification", dt.date(2027, 4, 1))
    )
    got = assess(catalog(), p, "AU")
    assert (got.verdict, got.from_date) == (P, dt.date(2027, 4, 1))
    assert got.phrase(REGIONS["AU"]) == (
        "Planned in Australia — Awaiting certification, from 1 Apr 2027"
    )


def test_capped_verdict_explains_the_lifecycle() -> None:
    got = assess(catalog(), product(Lifecycle.SUNSET, Rule("GLOBAL", Status.AVAILABLE)), "AU")
    assert got.verdict is R and got.reason == "Sunset: renewals only"


def test_regional_band_override_applies_below_its_region() -> None:
    p = product(
        Lifecycle.GA,
        Rule("GLOBAL", Status.AVAILABLE),
        Rule("APAC", Status.RESTRICTED, pricing_band="C"),
        Rule("AU", Status.AVAILABLE),
    )
    assert assess(catalog(), p, "AU").band == BANDS["C"]  # inherited from APAC's override
    assert assess(catalog(), p, "NZ").band == BANDS["C"]
    assert assess(catalog(), p, "EMEA").band == BANDS["B"]  # the product's own band


@pytest.mark.parametrize("kept", [256, 1])  # 1: many lists need the whole ranking
def test_alternatives_match_ranking_the_sellable_products_directly(
    kept: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared per-product ranking and per-region sellable sets give exactly what ranking
    each market's sellable products for each product would."""
    import bot.catalog
    from bot import matching
    from bot.catalog import ALTERNATIVES, _likeness_text, alternatives, assess
    from bot.catalog_file import parse_catalog
    from tests.conftest import demo_text, view_of

    monkeypatch.setattr(bot.catalog, "LIKENESS_KEPT", kept)
    view = view_of(parse_catalog(demo_text()))  # its own memos, built with `kept`
    catalog = view.catalog
    for product in catalog.products:
        for region in catalog.regions.values():
            sellable = [
                p
                for p in catalog.products
                if p.sku != product.sku and assess(catalog, p, region.code).verdict.sellable
            ]
            order = matching.closest_products(
                product.name,
                _likeness_text(product),
                [(p.name, _likeness_text(p)) for p in sellable],
                ALTERNATIVES,
            )
            expected = [sellable[i].sku for i in order]
            got = [o.product.sku for o in alternatives(view, product, region)]
            assert got == expected, (product.sku, region.code)


# --------------------------------------------------------------------------- segments

# Where the general rule and the rule for public sector (PUB) stand on Australia's path,
# and what a question about each customer in Australia is told before the lifecycle cap:
# (general depth, PUB depth) -> (verdict for PUB, verdict with no segment). The general
# rule says available, PUB's says not_available; None: no such rule.
SEGMENT_TABLE = {
    (None, None): (N, N),
    ("GLOBAL", None): (A, A),
    ("AU", None): (A, A),
    (None, "GLOBAL"): (N, N),  # default deny for everyone else too
    (None, "AU"): (N, N),
    ("GLOBAL", "GLOBAL"): (N, A),
    ("GLOBAL", "APAC"): (N, A),
    ("GLOBAL", "AU"): (N, A),
    ("AU", "GLOBAL"): (N, A),  # a segment rule anywhere on the path beats general ones
    ("APAC", "AU"): (N, A),
    ("AU", "APAC"): (N, A),
}
SEGMENT_REASON = "Needs an attestation"


@pytest.mark.parametrize("lifecycle", list(Lifecycle))
@pytest.mark.parametrize(("general", "special"), list(SEGMENT_TABLE))
def test_segment_rules_by_depth_then_the_lifecycle_cap(
    lifecycle: Lifecycle, general: str | None, special: str | None
) -> None:
    rules = []
    if general:
        rules.append(Rule(general, Status.AVAILABLE, "Open"))
    if special:
        rules.append(Rule(special, Status.NOT_AVAILABLE, SEGMENT_REASON, segment="PUB"))
    p = product(lifecycle, *rules)
    for_pub, for_all = SEGMENT_TABLE[(general, special)]
    assert assess(catalog(), p, "AU", "PUB").verdict is CAPPED[lifecycle][for_pub]
    assert assess(catalog(), p, "AU").verdict is CAPPED[lifecycle][for_all]
    # A segment with no rule of its own is told what everyone is told.
    assert assess(catalog(), p, "AU", "FSI").verdict is CAPPED[lifecycle][for_all]
    if special and lifecycle is Lifecycle.GA:
        assert assess(catalog(), p, "AU", "PUB").reason == SEGMENT_REASON


def test_segment_rule_in_another_branch_says_nothing_here() -> None:
    p = product(
        Lifecycle.GA,
        Rule("GLOBAL", Status.AVAILABLE),
        Rule("EMEA", Status.NOT_AVAILABLE, segment="PUB"),
        Rule("NZ", Status.NOT_AVAILABLE, segment="PUB"),
    )
    assert assess(catalog(), p, "AU", "PUB").verdict is A
    assert assess(catalog(), p, "NZ", "PUB").verdict is N


# --------------------------------------------------------------------------- reasons kept


@pytest.mark.parametrize(
    ("lifecycle", "expected"),
    [
        (Lifecycle.SUNSET, "Sunset: renewals only. Last-time buy until 2027-03-31"),
        (Lifecycle.BETA, "Beta: limited release, check with the product team. "
         "Last-time buy until 2027-03-31"),
        (Lifecycle.WITHDRAWN, "Withdrawn from sale. Last-time buy until 2027-03-31"),
        (Lifecycle.GA, "Last-time buy until 2027-03-31"),
    ],
)  # fmt: skip
def test_a_lifecycle_cap_keeps_the_product_managers_reason(
    lifecycle: Lifecycle, expected: str
) -> None:
    p = product(lifecycle, Rule("GLOBAL", Status.AVAILABLE, "Last-time buy until 2027-03-31"))
    assert assess(catalog(), p, "AU").reason == expected


def test_contact_is_the_rules_else_the_products_else_the_owner() -> None:
    base = product(
        Lifecycle.GA,
        Rule("GLOBAL", Status.AVAILABLE),
        Rule("AU", Status.NOT_AVAILABLE, contact="U0DESK"),
    )
    owned = dataclasses.replace(base, owner="U0OWNER")
    assert assess(catalog(), owned, "AU").contact == "U0DESK"
    assert assess(catalog(), owned, "NZ").contact == "U0OWNER"
    contact = dataclasses.replace(owned, contact="U0SE")
    assert assess(catalog(), contact, "NZ").contact == "U0SE"
