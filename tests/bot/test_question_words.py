"""Reading a question: segment words, markets the catalog lacks, products named after a
country, competitors and capabilities; and bad input that must still get a clear answer."""

from __future__ import annotations

import dataclasses
import random

import pytest
from rapidfuzz import fuzz

from bot.catalog import CatalogView, answer_query
from bot.catalog_file import CatalogSpec, parse_catalog
from bot.matching import tokens_of
from bot.replies import (
    Ambiguous,
    Battlecard,
    Capability,
    NotFound,
    ProductAnswer,
    ProductOverview,
    RegionOverview,
    UnknownMarket,
)
from bot.types import Lifecycle, Rule, SalesProduct, Segment, Status
from tests.conftest import DATA, demo_text, view_of


def _with(
    spec: CatalogSpec, *products: SalesProduct, segments: tuple[Segment, ...] = ()
) -> CatalogView:
    return view_of(
        dataclasses.replace(
            spec, products=(*spec.products, *products), segments=(*spec.segments, *segments)
        )
    )


def _product(sku: str, name: str, *rules: Rule) -> SalesProduct:
    return SalesProduct(sku, name, Lifecycle.GA, None, owner="U0PMX", rules=rules)


@pytest.fixture(scope="module")
def demo() -> CatalogView:
    spec = parse_catalog(demo_text())
    return _with(
        spec,
        _product("WDG-MAX", "Widget Pro Max", Rule("GLOBAL", Status.AVAILABLE)),
        _product("JP-CONN", "Japan Connector", Rule("GLOBAL", Status.AVAILABLE)),
        _product("CN-BRIDGE", "China Bridge", Rule("EMEA", Status.AVAILABLE)),
        _product("BANK-HUB", "Banking Hub", Rule("GLOBAL", Status.RESTRICTED)),
    )


@pytest.fixture(scope="module")
def unseen() -> CatalogView:
    return view_of(parse_catalog((DATA / "unseen_catalog.yaml").read_text()))


def _answer(view: CatalogView, question: str) -> ProductAnswer:
    reply = answer_query(view, question)
    assert isinstance(reply, ProductAnswer), (question, reply)
    return reply


# --------------------------------------------------------------------------- segments


@pytest.mark.parametrize(
    "question",
    [
        "widget pro germany government",
        "government widget pro germany",
        "WIDGET PRO GERMANY GOVERNMENT",
        "can I sell widget pro to the government in germany",
        "widget pro germany goverment",  # a typo
        "germany public sector widget pro",
        "widget pro for gov in deutschland",
    ],
)
def test_segment_words_stand_anywhere_and_never_break_the_product(
    demo: CatalogView, question: str
) -> None:
    # "Widget Pro Max" shares every word of "Widget Pro": the segment word must not tip
    # the question into an ambiguity between them.
    reply = _answer(demo, question)
    assert (reply.product.sku, reply.region.code) == ("WDG-PRO", "DE")
    assert reply.segment is not None and reply.segment.code == "PUB"
    assert reply.fallback.startswith("Widget Pro: Not available in Germany for Public sector")


def test_banks_in_france(demo: CatalogView) -> None:
    reply = _answer(demo, "can I sell widget pro to banks in france")
    assert reply.segment is not None and reply.segment.code == "FSI"
    assert reply.region.code == "FR"


def test_a_segment_spelt_like_a_product_word_stays_the_product(demo: CatalogView) -> None:
    # "banking" is the FSI segment's alias and also Banking Hub's first word.
    reply = _answer(demo, "banking hub germany")
    assert (reply.product.sku, reply.region.code, reply.segment) == ("BANK-HUB", "DE", None)


def test_no_segment_asked_lists_the_segments_that_differ(demo: CatalogView) -> None:
    reply = _answer(demo, "widget pro germany")
    assert reply.segment is None
    assert [(d.label, d.assessment.verdict.value) for d in reply.differences] == [
        ("Public sector", "Not available"),
        ("Financial services", "Restricted"),
    ]
    assert "Ask U01PMALICE" in reply.fallback


# --------------------------------------------------------------------------- markets


@pytest.mark.parametrize(
    ("question", "market"),
    [
        ("sentinel gateway china", "China"),
        ("sentinel gateway in the EU", "European Union"),
        ("Sentinel Gateway DACH", "DACH"),
        ("sentinel gateway nordics", "Nordics"),
        ("sentinel gateway benelux", "Benelux"),
        ("sentinel gateway mena", "Middle East and North Africa"),
        ("sentinel gateway anz", "Australia and New Zealand"),
        ("sentinel gateway côte d'ivoire", "Côte d'Ivoire"),
        ("sentinel gateway ESP", "Spain"),  # an ISO code
    ],
)
def test_markets_the_catalog_lacks_are_named(
    unseen: CatalogView, question: str, market: str
) -> None:
    reply = answer_query(unseen, question)
    assert isinstance(reply, UnknownMarket), question
    assert reply.market == market
    assert reply.product is not None and reply.product.name == "Sentinel Gateway"


def test_the_catalogs_own_names_win(demo: CatalogView, unseen: CatalogView) -> None:
    assert _answer(demo, "widget pro europe").region.code == "EMEA"  # the demo's alias
    assert _answer(unseen, "sentinel gateway asia").region.code == "APAC"
    assert _answer(demo, "widget pro uae").region.code == "AE"


def test_a_market_only_question_about_an_unknown_market(demo: CatalogView) -> None:
    reply = answer_query(demo, "china")
    assert isinstance(reply, UnknownMarket) and reply.product is None
    assert "nothing is recorded as sellable there" in reply.fallback


@pytest.mark.parametrize(
    ("question", "sku", "region"),
    [
        ("japan connector", "JP-CONN", None),
        ("japan connector uk", "JP-CONN", "UK"),
        ("japan connector in japan", "JP-CONN", "JP"),
        ("australia japan connector", "JP-CONN", "AU"),
        ("china bridge", "CN-BRIDGE", None),
        ("china bridge germany", "CN-BRIDGE", "DE"),
    ],
)
def test_a_product_named_after_a_country_is_still_the_product(
    demo: CatalogView, question: str, sku: str, region: str | None
) -> None:
    reply = answer_query(demo, question)
    if region is None:
        assert isinstance(reply, ProductOverview) and reply.product.sku == sku
    else:
        assert isinstance(reply, ProductAnswer), (question, reply)
        assert (reply.product.sku, reply.region.code) == (sku, region)


def test_china_bridge_in_china_is_an_unknown_market(demo: CatalogView) -> None:
    reply = answer_query(demo, "china bridge in china")
    assert isinstance(reply, UnknownMarket)
    assert reply.product is not None and reply.product.sku == "CN-BRIDGE"


# --------------------------------------------------------------------------- competitors


def test_a_competitor_gets_a_battlecard(demo: CatalogView, unseen: CatalogView) -> None:
    card = answer_query(demo, "vs gizmotron")
    assert isinstance(card, Battlecard) and card.region is None
    names = [r.option.product.name for r in card.rivals]
    assert names == ["Widget Pro", "Widget Lite", "Widget Enterprise Suite"]
    assert "keeps working offline" in card.rivals[0].difference
    # The name alone, misspelt, in a market: with our verdicts there.
    card = answer_query(unseen, "histrianx germany")
    assert isinstance(card, Battlecard) and card.region is not None
    (rival,) = card.rivals
    assert rival.option.product.name == "Plant Data Vault"
    assert rival.option.assessment is not None
    assert card.fallback.startswith("Against HistorianX in Germany: Plant Data Vault")
    card = answer_query(unseen, "versus shaketrak")
    assert isinstance(card, Battlecard)
    assert [r.option.product.name for r in card.rivals] == ["VibraSense 300"]


def test_an_unknown_competitor_is_not_found(unseen: CatalogView) -> None:
    assert isinstance(answer_query(unseen, "vs zorblatt"), NotFound)


# --------------------------------------------------------------------------- capabilities


@pytest.mark.parametrize(
    ("view_name", "question", "expected", "region"),
    [
        ("demo", "saml australia", {"Identity Bridge", "Widget Enterprise Suite"}, "AU"),
        ("demo", "offline sync germany", {"Widget Pro"}, "DE"),
        ("unseen", "geofencing japan", {"Atlas Asset Tracker"}, "JP"),
        ("unseen", "air-gaped uk", {"Nimbus Edge Cluster"}, "UK"),  # a typo
        ("unseen", "radiometric imaging", {"Thermal Lens"}, None),
    ],
)
def test_a_capability_question_finds_products_by_trait(
    demo: CatalogView,
    unseen: CatalogView,
    view_name: str,
    question: str,
    expected: set[str],
    region: str | None,
) -> None:
    view = demo if view_name == "demo" else unseen
    reply = answer_query(view, question)
    assert isinstance(reply, Capability), (question, reply)
    assert expected <= {o.product.name for o in reply.options}
    assert (reply.region.code if reply.region else None) == region
    if region is not None:
        assert all(o.assessment is not None for o in reply.options)


def test_product_names_still_win_over_traits(demo: CatalogView) -> None:
    assert _answer(demo, "ledger sync germany").product.sku == "LDG-SYNC"
    assert isinstance(answer_query(demo, "ledger sync"), ProductOverview)


# --------------------------------------------------------------------------- bad input


def _asked_product(reply: object, question: str) -> None:
    """No verdict for a product that the question does not name (not even by a typo)."""
    products = []
    if isinstance(reply, ProductAnswer | ProductOverview | UnknownMarket):
        products = [reply.product] if reply.product else []
    asked = tokens_of(question)
    for p in products:
        words = {w for n in (p.name, *p.aliases, p.sku) for w in tokens_of(n)}
        assert any(fuzz.ratio(w, a) >= 60 or w.startswith(a) for w in words for a in asked), (
            question,
            p.name,
        )


def test_bad_input_gets_a_clear_answer(demo: CatalogView) -> None:
    rng = random.Random(14)
    alphabet = "abcdefghijklmnopqrstuvwxyz  éüß中文🙂🇩🇪-/&<>"
    questions = [
        "🙂 WIDGET PRO 🇩🇪 GOVERNMENT",
        "ẃidget pró germany",
        "government",
        "banks banks banks",
        "germany germany widget pro banks government",
        "x" * 500,
        "widget pro " + "germany " * 60,
        "<!channel> widget pro",
        "",
        "   ",
        *("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 500))) for _ in range(200)),
    ]
    for q in questions:
        reply = answer_query(demo, q)
        assert reply.fallback
        _asked_product(reply, q)
        if isinstance(reply, Ambiguous):
            assert reply.options


def test_emoji_and_case_do_not_change_the_answer(demo: CatalogView) -> None:
    plain = _answer(demo, "widget pro germany government")
    fancy = _answer(demo, "🙂 WIDGET PRO 🇩🇪 Germany GOVERNMENT!!")
    assert (fancy.product, fancy.region, fancy.segment) == (
        plain.product,
        plain.region,
        plain.segment,
    )


# --------------------------------------------------------------------------- segment words
# without a segment for them, and ambiguity that keeps the market


@pytest.fixture(scope="module")
def no_segments() -> CatalogView:
    """The demo catalog as it was before segments: no `segments:` list, no segment rule."""
    spec = parse_catalog(demo_text())
    products = tuple(
        dataclasses.replace(p, rules=tuple(r for r in p.rules if r.segment is None))
        for p in spec.products
    )
    return view_of(dataclasses.replace(spec, segments=(), products=products))


@pytest.mark.parametrize(
    ("question", "general"),
    [
        ("widget pro government", "widget pro"),
        ("government widget pro", "widget pro"),
        ("widget pro germany government", "widget pro germany"),
        ("can I sell widget pro to banks in france", "widget pro france"),
        ("wp3000 gov", "wp3000"),
        ("widget germany government", "widget germany"),
    ],
)
def test_a_segment_word_without_catalog_segments_is_no_market(
    no_segments: CatalogView, question: str, general: str
) -> None:
    """Without segments every rule is for every customer: a segment word changes nothing
    and is never named an unknown market (nor read into the product's name)."""
    reply = answer_query(no_segments, question)
    assert not isinstance(reply, UnknownMarket | NotFound), reply.fallback
    assert reply == answer_query(no_segments, general)


def test_a_kind_of_customer_the_catalog_has_no_segment_for_gets_the_general_answer(
    demo: CatalogView,
) -> None:
    """'education' names no demo segment: the general answer, which lists the segments that
    differ; never an unknown market “education”."""
    reply = answer_query(demo, "widget pro germany education")
    assert reply == answer_query(demo, "widget pro germany")
    assert isinstance(reply, ProductAnswer) and reply.segment is None
    assert "Public sector (Not available)" in reply.fallback
    assert isinstance(answer_query(demo, "widget pro education"), ProductOverview)


def test_an_ambiguity_keeps_the_market_the_catalog_lacks(demo: CatalogView) -> None:
    reply = answer_query(demo, "widget china")
    assert isinstance(reply, Ambiguous) and reply.unknown == "China"
    assert reply.fallback.startswith("4 products match “widget” in China: Widget Pro,")
    assert "I don't know the market “China”" in reply.fallback
    for option in reply.options:  # default deny, said for each choice
        assert option.assessment is not None
        assert option.assessment.verdict.value == "Not available"
        assert option.assessment.contact == option.product.ask
    assert "“widget pro in china”" in reply.hint


def test_an_ambiguity_keeps_the_market_and_segment_asked(demo: CatalogView) -> None:
    reply = answer_query(demo, "widget germany government")
    assert isinstance(reply, Ambiguous) and reply.segment is not None
    assert reply.fallback.startswith("4 products match “widget” in Germany for Public sector:")
    pro = next(o for o in reply.options if o.product.sku == "WDG-PRO")
    assert pro.assessment is not None and pro.assessment.reason == "Needs BSI C5 attestation"


def test_a_market_nobody_knows_with_several_products_is_an_ambiguity(demo: CatalogView) -> None:
    """'narnia widget' names no one product: the choices, each Not available in “narnia”,
    never one product picked for the unknown word's letters."""
    for question in ("narnia widget", "widget narnia"):
        reply = answer_query(demo, question)
        assert isinstance(reply, Ambiguous), reply.fallback
        assert reply.unknown == "narnia" and reply.query == "widget"
        assert len(reply.options) >= 3
    single = answer_query(demo, "narnia widget pro")
    assert isinstance(single, UnknownMarket) and single.product is not None
    assert single.product.sku == "WDG-PRO"


def test_a_market_question_for_a_segment_lists_what_that_segment_may_buy(
    demo: CatalogView,
) -> None:
    """'government germany': what is sellable in Germany to the public sector, each with its
    verdict for them (Widget Pro is not: it needs an attestation there)."""
    general = answer_query(demo, "germany")
    public = answer_query(demo, "government germany")
    assert isinstance(general, RegionOverview) and isinstance(public, RegionOverview)
    assert public.segment is not None and public.segment.code == "PUB"
    assert public.fallback.endswith("sellable in Germany for Public sector")
    everyone = {o.product.sku for o in general.sellable}
    them = {o.product.sku for o in public.sellable}
    # Widget Pro needs an attestation; the legacy CRM's extended support is theirs alone.
    assert (everyone - them, them - everyone) == ({"WDG-PRO"}, {"LGCY-CRM"})


@pytest.mark.parametrize("with_segments", [True, False])
@pytest.mark.parametrize(
    ("question", "sku"),
    [
        ("retail pos germany", "RET-POS"),
        ("pos germany retail", "RET-POS"),
        ("bank connector for banks in france", "BANK-C"),
        ("healthcare hub uk", "HC-HUB"),
        ("government cloud germany government", "GOV-CLOUD"),
        ("education portal japan", "EDU-PORT"),
    ],
)
def test_products_named_with_segment_words_are_still_the_product(
    with_segments: bool, question: str, sku: str
) -> None:
    """Words for kinds of customer (the catalog's segments or the usual ones) inside a real
    product's name never take it apart, with or without the catalog's segments."""
    spec = parse_catalog(demo_text())
    view = _with(
        dataclasses.replace(spec, segments=spec.segments if with_segments else ()),
        _product("RET-POS", "Retail POS", Rule("GLOBAL", Status.AVAILABLE)),
        _product("BANK-C", "Bank Connector", Rule("GLOBAL", Status.AVAILABLE)),
        _product("HC-HUB", "Healthcare Hub", Rule("GLOBAL", Status.AVAILABLE)),
        _product("GOV-CLOUD", "Government Cloud Suite", Rule("GLOBAL", Status.AVAILABLE)),
        _product("EDU-PORT", "Education Portal", Rule("GLOBAL", Status.AVAILABLE)),
    )
    assert _answer(view, question).product.sku == sku


def test_can_at_the_start_of_a_question_is_no_market(demo: CatalogView) -> None:
    """The demo aliases Canada as CAN: 'can we sell …' asks, it names no market, so no
    answer is about Canada unless another word says so (or 'can' stands where a market
    does: alone, or after the product)."""
    assert isinstance(answer_query(demo, "can we sell ledgr"), ProductOverview)
    reply = answer_query(demo, "can i sell xyzzy")
    assert isinstance(reply, NotFound) and reply.region is None
    assert not isinstance(answer_query(demo, "can we sell it"), RegionOverview)
    assert _answer(demo, "can we sell widget pro in canada").region.code == "CA"
    assert _answer(demo, "widget pro can").region.code == "CA"
    overview = answer_query(demo, "can")
    assert isinstance(overview, RegionOverview) and overview.region.code == "CA"
