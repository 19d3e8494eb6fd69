"""A question naming several markets and/or segments is answered for every named
(market, segment) combination: the most restrictive one heads the answer and each other
one is listed with its own verdict and reason; a segment word is never an unknown market."""

from __future__ import annotations

import pytest

import bot.catalog as catalog_module
from bot.catalog import CatalogView, answer_query, assess, several_answer
from bot.catalog_file import parse_catalog
from bot.replies import (
    PRESS_VALUE_MAX,
    Ambiguous,
    Asked,
    Capability,
    Option,
    ProductAnswer,
    UnknownMarket,
)
from bot.types import Rule, Status, Verdict
from tests.bot.test_question_words import _product, _with
from tests.bot.test_whole_truth import _file
from tests.conftest import demo_text, view_of


@pytest.fixture(scope="module")
def demo() -> CatalogView:
    return _file("demo")


def _answer(view: CatalogView, question: str) -> ProductAnswer:
    reply = answer_query(view, question)
    assert isinstance(reply, ProductAnswer), reply
    return reply


def _listed(answer: ProductAnswer) -> dict[str, Verdict]:
    return {d.label: d.assessment.verdict for d in answer.differences}


TWO_SEGMENTS = (
    "widget pro banks government germany",
    "Germany Government widget pro BANKS",
    "widget pro goverment bank germany",
    "can I sell widget pro to banks and government in germany",
)


@pytest.mark.parametrize("question", TWO_SEGMENTS)
def test_two_segments_in_one_market_head_with_the_worst(demo: CatalogView, question: str) -> None:
    a = _answer(demo, question)
    assert a.fallback == (
        "Widget Pro: Not available in Germany for Public sector — Needs BSI C5 attestation; "
        "also asked: Financial services (Restricted). Ask U01PUBSEC"
    )
    fsi = next(d for d in a.differences if d.label == "Financial services")
    assert fsi.assessment.reason == "Compliance review for banks and insurers"


@pytest.mark.parametrize(
    "question",
    ["widget pro germany france", "France widget pro GERMANY", "widget pro france germnay"],
)
def test_two_markets_are_both_answered(demo: CatalogView, question: str) -> None:
    a = _answer(demo, question)
    assert {a.region.code, *(d.region.code for d in a.differences)} >= {"DE", "FR"}
    listed = _listed(a)
    assert listed["Germany"] is Verdict.AVAILABLE
    assert listed["Public sector in Germany"] is Verdict.NOT_AVAILABLE  # Germany's own
    assert "Germany" in a.fallback and "France" in a.fallback


@pytest.mark.parametrize(
    "question",
    ["widget pro banks government", "Widget Pro Government banks", "widget pro banks goverment"],
)
def test_two_segments_and_no_market_are_never_an_unknown_market(
    demo: CatalogView, question: str
) -> None:
    a = _answer(demo, question)
    assert a.segment is not None and a.segment.code in {"FSI", "PUB"}
    listed = _listed(a)
    other = "Public sector" if a.segment.code == "FSI" else "Financial services"
    assert other in listed
    assert listed["Public sector in Germany"] is Verdict.NOT_AVAILABLE
    assert "government" not in a.fallback.casefold().replace("public sector", "")


def test_a_restricted_market_heads_an_available_one(demo: CatalogView) -> None:
    a = _answer(demo, "widget pro france japan")
    assert a.region.code == "JP" and a.assessment.verdict is Verdict.RESTRICTED
    assert _listed(a)["France"] is Verdict.AVAILABLE
    assert a.fallback.startswith("Widget Pro: Restricted in Japan")


def test_one_market_and_one_segment_are_answered_as_before(demo: CatalogView) -> None:
    a = _answer(demo, "widget pro germany government")
    assert a.differences == ()
    assert answer_query(demo, "widget pro germany") is answer_query(demo, "widget pro germany")


@pytest.mark.parametrize(
    "question", ["widget pro germany", "germany widget pro", "WP-3000 UK", "widget pro in oz"]
)
def test_an_exact_single_market_lookup_reads_no_further_words(
    demo: CatalogView, question: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_args: object) -> None:
        raise AssertionError("read further words")

    monkeypatch.setattr(catalog_module, "_several", never)
    monkeypatch.setattr(catalog_module, "_narrowed", never)
    assert isinstance(answer_query(demo, question), ProductAnswer)


# --------------------------------------------------------------------------- every market named


@pytest.mark.parametrize(
    ("question", "lacking", "known"),
    [
        ("widget pro germany narnia", ("narnia",), {"DE"}),
        ("widget pro narnia germany", ("narnia",), {"DE"}),
        ("widget pro france china", ("China",), {"FR"}),
        ("China widget pro FRANCE", ("China",), {"FR"}),
        ("widget pro china france germany", ("China",), {"FR", "DE"}),
        ("widget pro germany narnia japan", ("narnia",), {"DE", "JP"}),
        ("widget pro france austria", ("Austria",), {"FR"}),  # not Australia
    ],
)
def test_a_market_the_catalog_lacks_among_several_is_named_and_the_others_answered(
    demo: CatalogView, question: str, lacking: tuple[str, ...], known: set[str]
) -> None:
    a = _answer(demo, question)
    assert a.unknown == lacking
    # Default deny first: the one-line text never reads better than the worst case.
    names = " and ".join(f"“{n}”" for n in lacking)
    assert a.fallback.startswith(
        f"I don't know the market {names}: no rule covers it, so treat Widget Pro as "
        "Not available there. Widget Pro: "
    )
    assert a.fallback.endswith("Ask U01PMALICE") or "Ask U01DEALDESK" in a.fallback
    answered = {a.region.code, *(d.region.code for d in a.differences if d.asked)}
    assert answered == known
    for code in known:  # each known market with its own verdict and reason
        name = demo.catalog.regions[code].name
        assert name in a.fallback or name in {d.label for d in a.differences}


def test_several_markets_the_catalog_lacks_are_each_named(demo: CatalogView) -> None:
    reply = answer_query(demo, "widget pro china narnia")
    assert isinstance(reply, UnknownMarket)
    assert (reply.market, *reply.others) == ("China", "narnia")
    assert reply.fallback.startswith(
        "I don't know the markets “China” and “narnia”: no rule covers them, so treat "
        "Widget Pro as Not available there — ask U01PMALICE"
    )


SEVERAL = [
    "widget pro germany france",
    "widget pro france japan",
    "widget pro banks government germany",
    "widget pro banks government",
    "widget pro germany narnia",
    "widget pro france china",
    "widget pro emea japan government",
]


@pytest.mark.parametrize("question", SEVERAL)
def test_a_press_answers_every_combination_again(demo: CatalogView, question: str) -> None:
    """Share in channel and See all carry the whole answer, not its headline: their value
    names every market and segment asked, and answering it again gives the same answer."""
    a = _answer(demo, question)
    assert a.asked is not None
    value = a.whole_key
    assert value != a.key and len(value) <= PRESS_VALUE_MAX
    got = Asked.from_press(value)
    assert got is not None
    sku, asked = got
    assert sku == a.product.sku and asked == a.asked
    again = several_answer(demo, a.product, asked.markets, asked.segments, asked.unknown)
    assert again == a


def test_a_press_naming_one_combination_is_the_one_answer(demo: CatalogView) -> None:
    a = _answer(demo, "widget pro japan")
    assert a.asked is None and a.whole_key == a.key == "WDG-PRO|JP"
    assert Asked.from_press("WDG-PRO|JP") is None and Asked.from_press("WDG-PRO|DE|PUB") is None


def test_a_market_gone_from_the_catalog_since_is_one_it_lacks(demo: CatalogView) -> None:
    product = demo.by_sku["WDG-PRO"]
    a = several_answer(demo, product, ["FR", "XX"], [])
    assert isinstance(a, ProductAnswer) and a.unknown == ("XX",)
    gone = several_answer(demo, product, ["XX", "YY"], [])
    assert isinstance(gone, UnknownMarket) and (gone.market, *gone.others) == ("XX", "YY")


LONG = "R" * 32


def _many_markets(n: int) -> str:
    """The demo with `n` more markets whose codes are as long as a code may be (32) and
    whose names are short, and a product with a verdict of its own in every third."""
    regions = "".join(
        f"  - {{code: {LONG[:28]}{i:04d}, name: Market {i:03d}, parent: EMEA, "
        f"aliases: [m{i:03d}]}}\n"
        for i in range(n)
    )
    text = demo_text().replace("\nsegments:", "\n" + regions + "\nsegments:", 1)
    rules = "".join(
        f"      - {{region: {LONG[:28]}{i:04d}, status: not_available, reason: Radio {i}}}\n"
        for i in range(0, n, 3)
    )
    return (
        text.rstrip()
        + "\n\n  - sku: ORB-R\n    name: Orbit Relay\n    lifecycle: ga\n"
        + "    owner: U01PMALICE\n    availability:\n"
        + "      - {region: GLOBAL, status: available}\n"
        + rules
    )


def many_markets_question(n: int) -> str:
    return "orbit relay " + " ".join(f"m{i:03d}" for i in range(n))


def test_many_markets_fit_one_press_and_say_how_many_were_left_out() -> None:
    view = view_of(parse_catalog(_many_markets(120)))
    question = many_markets_question(95)
    assert len(question) <= 500  # what /product reads of a question
    a = _answer(view, question)
    assert a.asked is not None
    assert len(a.whole_key) <= PRESS_VALUE_MAX
    told = len(a.asked.markets)
    assert told + a.asked.untold == 95 and a.asked.untold > 0
    assert a.untold_text is not None
    assert f"{a.asked.untold} more markets named: ask about them apart" in a.fallback
    # The worst case heads it: a market with a rule of its own.
    assert a.assessment.verdict is Verdict.NOT_AVAILABLE
    got = Asked.from_press(a.whole_key)
    assert got is not None and got[1] == a.asked
    asked = got[1]
    again = several_answer(
        view, a.product, asked.markets, asked.segments, asked.unknown, asked.untold
    )
    assert again == a


# --------------------------------------------------------------------------- several products


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("widget germany france", {"Germany", "France"}),
        ("widget japan france", {"Japan", "France"}),
        ("france widget japan", {"Japan", "France"}),
        ("widget japan france government", {"Japan", "France"}),
    ],
)
def test_several_products_in_several_markets_pick_the_product_first(
    demo: CatalogView, question: str, places: set[str]
) -> None:
    """Never one market's verdict as the whole truth: each product shows its most
    restrictive verdict among the markets named, where, and lists the others."""
    reply = answer_query(demo, question)
    assert isinstance(reply, Ambiguous), reply
    assert {o.product.sku for o in reply.options} >= {"WDG-PRO", "WDG-LITE"}
    assert all(p in reply.where for p in places)
    for o in reply.options:
        assert o.assessment is not None and o.place is not None
        others = {d.region.name for d in o.differences if d.asked}
        assert {o.place.split(" for ")[0], *others} >= places
        ranks = [
            _rank(d.assessment.verdict) for d in o.differences if d.asked and d.segment is None
        ]
        assert all(_rank(o.assessment.verdict) <= r for r in ranks)
        assert "also asked: " in o.exceptions


def _rank(v: Verdict) -> int:
    return [Verdict.NOT_AVAILABLE, Verdict.PLANNED, Verdict.RESTRICTED, Verdict.AVAILABLE].index(
        v if v is not Verdict.WITHDRAWN else Verdict.NOT_AVAILABLE
    )


def test_widget_pro_in_japan_and_france_among_several_is_restricted_in_japan(
    demo: CatalogView,
) -> None:
    reply = answer_query(demo, "widget japan france")
    assert isinstance(reply, Ambiguous)
    pro = next(o for o in reply.options if o.product.sku == "WDG-PRO")
    assert pro.place == "Japan" and pro.assessment is not None
    assert pro.assessment.verdict is Verdict.RESTRICTED
    assert "also asked: France (Available)" in pro.exceptions


def test_several_products_with_a_market_the_catalog_lacks(demo: CatalogView) -> None:
    reply = answer_query(demo, "widget china germany")
    assert isinstance(reply, Ambiguous)
    assert reply.unknown == "China" and "China" in reply.where and "Germany" in reply.where
    for o in reply.options:
        assert o.assessment is not None and o.assessment.verdict is Verdict.NOT_AVAILABLE
        assert o.place == "China"
        assert "Germany" in {d.region.name for d in o.differences if d.asked}


# --------------------------------------------------------------------------- wording


def test_the_other_markets_asked_are_never_said_as_exceptions(demo: CatalogView) -> None:
    """ "Restricted in Japan except 1 market: France (Available)" said France was part of
    Japan, and an exception to its verdict: the other markets asked are said as such."""
    a = _answer(demo, "widget pro france japan")
    assert a.fallback == (
        "Widget Pro: Restricted in Japan — Deal desk approval; also asked: France "
        "(Available), Financial services in France (Restricted). Ask U01DEALDESK"
    )
    a = _answer(demo, "widget pro germany france")
    assert "except 1 customer segment: Financial services (Restricted); also asked: " in (
        a.fallback
    )
    assert "except 1 market" not in a.fallback


OPEN_BELOW = """
pricing_bands: []
regions:
  - {code: WORLD, name: World}
  - {code: EU, name: Europe, parent: WORLD}
  - {code: DE, name: Germany, parent: EU}
  - {code: FR, name: France, parent: EU}
products:
  - sku: P-1
    name: Pilot Box
    lifecycle: ga
    owner: U01PM
    availability:
      - {region: EU, status: not_available, reason: No CE mark}
      - {region: DE, status: available}
  - sku: P-2
    name: Plain Box
    lifecycle: ga
    owner: U01PM
    availability:
      - {region: EU, status: available}
      - {region: FR, status: not_available, reason: No French manual}
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "pilot box europe",
            "Pilot Box: Not available in Europe — No CE mark except 1 market: Germany "
            "(Available). Ask U01PM",
        ),
        (
            "plain box europe",
            "Plain Box: Available in Europe except 1 market: France (Not available). Ask U01PM",
        ),
    ],
)
def test_exceptions_below_a_market_read_right_both_ways(question: str, expected: str) -> None:
    """Below the market asked, an exception is one either way: less open (France) or more
    (Germany), each with its verdict."""
    view = view_of(parse_catalog(OPEN_BELOW))
    assert answer_query(view, question).fallback == expected


@pytest.mark.parametrize(
    "question", ["widget pro payload in australia", "widget pro in australia please thanks"]
)
def test_a_word_set_apart_from_the_markets_is_no_market(demo: CatalogView, question: str) -> None:
    a = _answer(demo, question)
    assert a.unknown == () and a.fallback == "Widget Pro: Available in Australia"


def test_one_combination_read_from_further_words_is_the_one_answer(demo: CatalogView) -> None:
    """A press on it names that one combination, as the plain answer's does."""
    product = demo.by_sku["WDG-PRO"]
    a = several_answer(demo, product, [], ["FSI"])
    assert isinstance(a, ProductAnswer) and a.asked is None
    assert a.whole_key == "WDG-PRO|GLOBAL|FSI"
    assert a is several_answer(demo, product, ["GLOBAL"], ["FSI"])


def test_a_forged_press_names_no_more_than_a_question_could() -> None:
    value = "WDG-PRO|" + ",".join(f"x{i}" for i in range(600)) + "||" + ",".join("n" * 300)
    got = Asked.from_press(value[:PRESS_VALUE_MAX])
    assert got is not None
    _sku, asked = got
    assert len(asked.markets) <= 250 and all(len(u) <= 80 for u in asked.unknown)
    assert Asked.from_press("WDG-PRO|" + "A," * 1000) is None  # longer than any press value


@pytest.fixture(scope="module")
def country_named() -> CatalogView:
    return _with(
        parse_catalog(demo_text()),
        _product("JP-CONN", "Japan Connector", Rule("GLOBAL", Status.AVAILABLE)),
        _product("CN-BRIDGE", "China Bridge", Rule("EMEA", Status.AVAILABLE)),
    )


@pytest.mark.parametrize(
    ("question", "sku", "known", "lacking"),
    [
        ("japan connector germany france", "JP-CONN", {"DE", "FR"}, ()),
        ("france japan connector uk", "JP-CONN", {"FR", "UK"}, ()),
        ("japan connector japan uk", "JP-CONN", {"JP", "UK"}, ()),  # its name's word again
        ("china bridge germany china", "CN-BRIDGE", {"DE"}, ("China",)),
        ("china bridge germany narnia", "CN-BRIDGE", {"DE"}, ("narnia",)),
    ],
)
def test_a_product_named_after_a_country_in_several_markets(
    country_named: CatalogView, question: str, sku: str, known: set[str], lacking: tuple[str, ...]
) -> None:
    a = _answer(country_named, question)
    assert a.product.sku == sku
    assert {a.region.code, *(d.region.code for d in a.differences if d.asked)} == known
    assert a.unknown == lacking


# --------------------------------------------------------------------------- capabilities


def _combinations(option: Option) -> dict[tuple[str, str | None], Verdict]:
    """The (market, segment) verdicts a capability's line gives: its headline, then each
    other combination asked."""
    assert option.assessment is not None and option.place is not None
    out = {(option.place, None): option.assessment.verdict}
    for d in option.differences:
        if d.combination:
            out[(d.region.name, d.segment.name if d.segment else None)] = d.assessment.verdict
    return out


@pytest.mark.parametrize(
    ("question", "markets", "segments", "products"),
    [
        ("saml germany france", ["DE", "FR"], [], {"Identity Bridge", "Widget Enterprise Suite"}),
        ("SAML France Germany", ["DE", "FR"], [], {"Identity Bridge", "Widget Enterprise Suite"}),
        ("saml australia japan", ["AU", "JP"], [], {"Widget Enterprise Suite"}),
        (
            "saml germany and australia",
            ["DE", "AU"],
            [],
            {"Identity Bridge", "Widget Enterprise Suite"},
        ),
        ("offline sync germany japan", ["DE", "JP"], [], {"Widget Pro"}),
        ("offline sync banks government germany", ["DE"], ["FSI", "PUB"], {"Widget Pro"}),
        ("saml for banks in japan and the uk", ["JP", "UK"], ["FSI"], {"Identity Bridge"}),
    ],
)
def test_a_capability_in_several_markets_gives_each_ones_verdict(
    demo: CatalogView, question: str, markets: list[str], segments: list[str], products: set[str]
) -> None:
    """Every product found, in every named (market, segment) combination: the most
    restrictive first (its place said), every other one listed; never one market's verdict
    as the whole truth."""
    reply = answer_query(demo, question)
    assert isinstance(reply, Capability), reply
    assert products <= {o.product.name for o in reply.options}
    catalog = demo.catalog
    for option in reply.options:
        given = _combinations(option)
        expected = {
            (catalog.regions[m].name, catalog.segments[s].name if s else None): assess(
                catalog, option.product, m, s
            ).verdict
            for m in markets
            for s in segments or [None]
        }
        # The headline's place carries its segment ("Germany for Public sector").
        head_place, head = next(iter(given.items()))
        listed = {k: v for k, v in given.items() if k != head_place}
        assert head in expected.values()
        assert head is min(expected.values(), key=_rank)
        assert len(listed) == len(expected) - 1
        assert all(expected[k] is v for k, v in listed.items())
    for m in markets:
        assert catalog.regions[m].name in reply.fallback


def test_a_capability_headline_is_the_most_restrictive_market(demo: CatalogView) -> None:
    reply = answer_query(demo, "saml australia japan")
    assert isinstance(reply, Capability)
    suite = next(o for o in reply.options if o.product.name == "Widget Enterprise Suite")
    assert suite.place == "Japan" and suite.assessment is not None
    assert suite.assessment.verdict is Verdict.RESTRICTED
    assert suite.exceptions.endswith("; also asked: Australia (Available)")
    assert reply.fallback.startswith("Products with “saml” in Japan and Australia: ")


def test_a_capability_in_a_market_the_catalog_lacks_among_several_is_default_deny(
    demo: CatalogView,
) -> None:
    reply = answer_query(demo, "saml germany china")
    assert isinstance(reply, Capability)
    assert "China" in reply.where and "Germany" in reply.where
    for option in reply.options:
        assert option.assessment is not None
        assert option.assessment.verdict is Verdict.NOT_AVAILABLE
        assert option.place == "China"
        assert "Germany" in {d.region.name for d in option.differences if d.asked}


def test_a_capability_in_one_market_is_answered_as_before(demo: CatalogView) -> None:
    reply = answer_query(demo, "saml germany")
    assert isinstance(reply, Capability)
    assert reply.markets == () and reply.region is not None and reply.region.code == "DE"
    assert all(o.place is None for o in reply.options)


def test_a_capability_for_one_segment_gives_that_segments_verdict(demo: CatalogView) -> None:
    reply = answer_query(demo, "offline sync government germany")
    assert isinstance(reply, Capability)
    assert reply.segment is not None and reply.segment.code == "PUB"
    assert reply.where == " in Germany for Public sector"
    pro = next(o for o in reply.options if o.product.name == "Widget Pro")
    assert pro.assessment is not None and pro.assessment.verdict is Verdict.NOT_AVAILABLE
    assert pro.assessment.reason == "Needs BSI C5 attestation"


def test_a_capability_in_a_market_the_catalog_lacks_alone_is_default_deny(
    demo: CatalogView,
) -> None:
    reply = answer_query(demo, "saml china")
    assert isinstance(reply, Capability)
    assert reply.where == " in China"
    assert all(
        o.assessment is not None and o.assessment.verdict is Verdict.NOT_AVAILABLE
        for o in reply.options
    )


def test_a_capability_question_naming_a_product_by_its_sku_answers_that_product(
    demo: CatalogView,
) -> None:
    """ "sso" is Identity Bridge's SKU: the product's answer, in every market named."""
    a = _answer(demo, "sso for banks in germany and france")
    assert a.product.name == "Identity Bridge"
    assert {(r.code, s.code if s else None) for r, s, _a in a.combinations} == {
        ("DE", "FSI"),
        ("FR", "FSI"),
    }


def test_a_capability_in_many_markets_is_listed_within_bounds() -> None:
    view = view_of(parse_catalog(_many_markets(120)))
    reply = answer_query(view, "saml " + " ".join(f"m{i:03d}" for i in range(40)))
    assert isinstance(reply, Capability), reply
    assert reply.hint is not None
    assert "all 40 markets asked" in reply.fallback
    for option in reply.options:
        assert sum(d.combination for d in option.differences) == 39
        assert " and 3" in option.exceptions  # the first three, then "and N more"


# --------------------------------------------------------------------------- alternatives


@pytest.mark.parametrize("codes", [None, ["JP", "AU"], ["AU", "JP"]])
def test_alternatives_are_sellable_in_every_market_named(
    demo: CatalogView, codes: list[str] | None
) -> None:
    """Widget Lite is Available in Japan but Not licensed in Australia: no alternative
    to Widget Pro in Japan and Australia (asked, or pressed in either order)."""
    alone = _answer(demo, "widget pro japan")
    assert "Widget Lite" in {o.product.name for o in alone.alternatives}
    if codes is None:
        a = _answer(demo, "widget pro japan australia")
    else:
        pressed = several_answer(demo, demo.by_sku["WDG-PRO"], codes, [])
        assert isinstance(pressed, ProductAnswer)
        a = pressed
    assert [o.product.name for o in a.alternatives] == ["Widget Enterprise Suite"]
    suite = a.alternatives[0]
    assert suite.place == "Japan" and suite.exceptions.endswith("also asked: Australia (Available)")
    assert a.alternatives_where == "Japan and Australia"


@pytest.mark.parametrize("small", [catalog_module.SMALL_CATALOG, 0])
def test_every_alternative_of_a_several_markets_answer_is_sellable_in_each(
    small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the demo catalog, every product and pairs of markets (and a segment): each
    alternative offered is sellable in every named combination, with the verdict of each
    given; a large catalog's way (only name neighbours considered) as well."""
    monkeypatch.setattr(catalog_module, "SMALL_CATALOG", small)
    view = view_of(parse_catalog(demo_text()))
    catalog = view.catalog
    leaves = [c for c in catalog.regions if not view.children.get(c)]
    pairs = [(a, b) for i, a in enumerate(leaves) for b in leaves[i + 1 :]][::3]
    checked = 0
    for product in catalog.products:
        for pair in pairs:
            for segs in ([], ["FSI"]):
                a = several_answer(view, product, pair, segs)
                assert isinstance(a, ProductAnswer)
                for alt in a.alternatives:
                    checked += 1
                    for r, s, _v in a.combinations:
                        code = s.code if s else None
                        assert assess(catalog, alt.product, r.code, code).verdict.sellable
                    assert sum(d.combination for d in alt.differences) == len(a.combinations) - 1
    assert checked > 50
