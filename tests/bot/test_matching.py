"""Table-driven matching tests on the demo catalog: typos, aliases, region anywhere,
ambiguity, nothing found. They read like a conversation: query in, answer out."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from rapidfuzz import fuzz, process

from bot.catalog import CatalogView, answer_query
from bot.matching import (
    ProductIndex,
    RegionLexicon,
    normalize,
    parse_query,
    pick,
    word_score,
)
from bot.replies import Ambiguous, NotFound, ProductAnswer, ProductOverview, RegionOverview

SINGLE = [
    # (query, product, region)
    ("australia widget pro", "Widget Pro", "Australia"),
    ("widget pro in oz", "Widget Pro", "Australia"),
    ("WP-3000 AU", "WaveProbe 3000", "Australia"),
    ("ledger synk us", "Ledger Sync", "United States"),
    ("ledgr sync germany", "Ledger Sync", "Germany"),
    ("us ledger sync", "Ledger Sync", "United States"),
    ("can we sell widget pro in oz", "Widget Pro", "Australia"),
    ("is widget lite available in canada", "Widget Lite", "Canada"),
    ("widgetpro japan", "Widget Pro", "Japan"),
    ("WLite nz", "Widget Lite", "New Zealand"),
    ("wes uk", "Widget Enterprise Suite", "United Kingdom"),
    ("widget enterprise india", "Widget Enterprise Suite", "India"),
    ("keyvault hsm uae", "KeyVault HSM", "United Arab Emirates"),
    ("hsm in dubai", "KeyVault HSM", "United Arab Emirates"),
    ("fleet traker americas", "Fleet Tracker", "Americas"),
    ("brasil waveprobe 2000", "WaveProbe 2000", "Brazil"),
    ("insight copilot for deutschland", "Insight Copilot", "Germany"),
    ("nimbus japan", "Nimbus Edge AI Appliance", "Japan"),
    ("route optimiser canada", "Route Optimizer", "Canada"),
    ("singapore widget pro", "Widget Pro", "Singapore"),
    ("PAY-POS united kingdom", "PayLink Terminal", "United Kingdom"),
    ("great britain signflow", "SignFlow", "United Kingdom"),
    ("orbit crm mexico", "Orbit CRM Classic", "Mexico"),
    ("mailarchive in india", "MailArchive 7", "India"),
    ("harbour data lake france", "Harbor Data Lake", "France"),
    ("pulse monitr south africa", "Pulse Monitor", "South Africa"),
]


@pytest.mark.parametrize(("query", "product", "region"), SINGLE)
def test_single_product_in_one_region(
    demo_view: CatalogView, query: str, product: str, region: str
) -> None:
    reply = answer_query(demo_view, query)
    assert isinstance(reply, ProductAnswer), reply.fallback
    assert (reply.product.name, reply.region.name) == (product, region)
    line = reply.fallback
    assert line.startswith(f"{product}: ") and f" in {region}" in line
    verdicts = ["Available", "Not available", "Restricted", "Planned", "Withdrawn"]
    said = [v for v in verdicts if f": {v} in " in line]
    assert said == [reply.assessment.verdict.value]


AMBIGUOUS = [
    ("australia widget", "Australia", {"Widget Pro", "Widget Lite", "Widget Enterprise Suite"}),
    ("widget in japan", "Japan", {"Widget Pro", "Widget Lite", "Widget Enterprise Suite"}),
    ("uk pulse", "United Kingdom", {"Pulse Monitor", "Pulse Trace"}),
    ("senseNode us", "United States", {"SenseNode Sensor Kit", "SenseNode Gateway"}),
]


@pytest.mark.parametrize(("query", "region", "names"), AMBIGUOUS)
def test_ambiguous_lists_every_candidate_with_its_verdict(
    demo_view: CatalogView, query: str, region: str, names: set[str]
) -> None:
    reply = answer_query(demo_view, query)
    assert isinstance(reply, Ambiguous), reply.fallback
    assert reply.region is not None and reply.region.name == region
    assert {o.product.name for o in reply.options} == names
    assert all(o.assessment is not None for o in reply.options)
    # The fallback line names the candidates and gives no verdict for any of them.
    assert "Available" not in reply.fallback and "Not available" not in reply.fallback


@pytest.mark.parametrize(
    "query", ["quantum toaster uk", "banana phone in germany", "zzzz australia"]
)
def test_nothing_found_gives_no_verdict(demo_view: CatalogView, query: str) -> None:
    reply = answer_query(demo_view, query)
    assert isinstance(reply, NotFound), reply.fallback
    assert len(reply.suggestions) <= 3


def test_nothing_found_suggests_close_names(demo_view: CatalogView) -> None:
    reply = answer_query(demo_view, "waveprob 9000x in uk")
    if isinstance(reply, NotFound):
        assert reply.suggestions and all("WaveProbe" in s for s in reply.suggestions)
    else:  # a close enough typo may resolve; then it must be a WaveProbe, never another product
        assert "WaveProbe" in reply.fallback


def test_region_only_lists_what_is_sellable(demo_view: CatalogView) -> None:
    reply = answer_query(demo_view, "australia")
    assert isinstance(reply, RegionOverview)
    assert reply.region.name == "Australia"
    assert reply.total_sellable == len(reply.sellable) > 0
    names = {o.product.name for o in reply.sellable}
    assert "Widget Pro" in names and "Widget Lite" not in names  # Lite: not licensed in AU
    assert all(o.assessment and o.assessment.verdict.sellable for o in reply.sellable)


def test_product_only_gives_verdict_per_top_level_region(demo_view: CatalogView) -> None:
    reply = answer_query(demo_view, "ledger sync")
    assert isinstance(reply, ProductOverview)
    got = {r.region.code: r.assessment.verdict.value for r in reply.rows}
    assert got == {"EMEA": "Available", "APAC": "Not available", "AMER": "Available"}


def test_exact_name_wins_over_longer_names() -> None:
    index = ProductIndex([(0, ["Pulse Hub"]), (1, ["Pulse Hub Mini"]), (2, ["Pulse Hubcap"])])
    chosen, _ = pick(index.search("pulse hub"))
    assert [m.key for m in chosen] == [0]


def test_region_codes_match_exactly_and_names_fuzzily() -> None:
    lexicon = RegionLexicon([("AU", ["Australia", "Oz"]), ("AT", ["Austria"])])
    index = ProductIndex([(0, ["Widget Pro"])])
    assert parse_query("widget pro australa", lexicon, index).region == "AU"
    assert parse_query("widget pro austria", lexicon, index).region == "AT"
    assert parse_query("widget pro oz", lexicon, index).region == "AU"
    assert parse_query("widget pro", lexicon, index).region is None


def test_normalize_folds_case_accents_and_punctuation() -> None:
    assert normalize("  Widget-Pro®  MÉXICO ") == "widget pro mexico"


def test_alternatives_are_close_or_absent(demo_view: CatalogView) -> None:
    lite = answer_query(demo_view, "widget lite in oz")
    assert isinstance(lite, ProductAnswer)
    assert [o.product.name for o in lite.alternatives] == ["Widget Pro", "Widget Enterprise Suite"]
    fleet = answer_query(demo_view, "fleet tracker uk")  # nothing like it is sellable there
    assert isinstance(fleet, ProductAnswer) and fleet.alternatives == ()
    available = answer_query(demo_view, "widget pro in oz")
    assert isinstance(available, ProductAnswer) and available.alternatives == ()


def test_memoised_matching_answers_the_same_and_stays_bounded(
    demo_view: CatalogView, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.matching

    queries = [q for q, _, _ in SINGLE]
    first = [answer_query(demo_view, q) for q in queries]
    assert [answer_query(demo_view, q) for q in queries] == first  # from the memo
    index = demo_view.products
    got = index.search("widget pro")
    got.clear()  # a caller changing its list must not change the memo
    assert index.search("widget pro")[0].matched == "Widget Pro"
    monkeypatch.setattr(bot.matching, "CACHE_ENTRIES", 3)
    for q in queries:
        index.search(q)
    assert len(index._search_cache) <= 4
    assert index.search("widget pro")[0].matched == "Widget Pro"  # refilled after clearing


def test_a_clear_market_spares_the_whole_text_search_without_changing_any_answer(
    demo_view: CatalogView, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = [q for q, _, _ in SINGLE] + ["japan connect", "connect japan", "oz widget"]
    index = ProductIndex([(0, ["Japan Connect"]), (1, ["Widget Pro", "WP"]), (2, ["Connect Hub"])])
    lexicon = RegionLexicon([("JP", ["Japan"]), ("AU", ["Australia", "Oz"])])
    searched: list[str] = []
    real_matches = ProductIndex.matches

    def spy(self: ProductIndex, query: str, *args: int) -> tuple:  # type: ignore[type-arg]
        searched.append(query)
        return real_matches(self, query, *args)

    monkeypatch.setattr(ProductIndex, "matches", spy)
    pruned = [parse_query(q, lexicon, index) for q in queries]
    assert "australia widget pro" not in searched  # found in Australia: not searched whole
    assert "japan connect" in searched  # "japan" is a product word: the whole text counts
    monkeypatch.setattr(ProductIndex, "knows", lambda self, w: True)  # never prune
    index.forget()
    assert [parse_query(q, lexicon, index) for q in queries] == pruned
    assert parse_query("japan connect", lexicon, index).region is None  # the product itself
    demo = [answer_query(demo_view, q) for q, _, _ in SINGLE]
    assert all(not isinstance(r, NotFound) for r in demo)


def _word_score_by_definition(query_words: list[str], words: list[str]) -> float:
    """word_score without its shortcut for a query word found as it is."""
    total = sum(len(w) for w in query_words)
    got, used = 0.0, set()
    for w in query_words:
        best, best_j = 0.0, -1
        for j, v in enumerate(words):
            sim = fuzz.ratio(w, v)
            if len(w) >= 2 and v.startswith(w):
                sim = max(sim, 70 + 30 * len(w) / len(v))
            if sim > best:
                best, best_j = sim, j
        got += len(w) * best
        if best >= 60:
            used.add(best_j)
    explained = sum(len(words[j]) for j in used) / sum(len(v) for v in words)
    return got / total * (0.85 + 0.15 * explained)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("widget pro", "widget pro max"),
        ("pro", "pro pro widget"),  # the word twice: the first one counts
        ("wid pro", "widget pro"),  # a prefix
        ("widgte pro", "widget pro"),
        ("p", "pro p"),
        ("ledger sync ledger", "ledger sync"),
    ],
)
def test_word_score_shortcut_scores_as_the_definition(query: str, name: str) -> None:
    assert word_score(query.split(), name.split()) == pytest.approx(
        _word_score_by_definition(query.split(), name.split())
    )


def test_an_answer_with_freshness_keeps_every_other_field(demo_view: CatalogView) -> None:
    answer = answer_query(demo_view, "widget lite in australia")
    assert isinstance(answer, ProductAnswer) and answer.alternatives
    seen = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "U0PM")
    assert answer.with_freshness(seen, True) == dataclasses.replace(
        answer, verified=seen, can_verify=True
    )


def test_misspelt_markets_are_found_as_against_every_label(demo_view: CatalogView) -> None:
    # Only labels within reach of the span's length are compared: the same answers as
    # comparing with all of them, for spans of every length.
    lexicon = demo_view.regions
    spans = [
        "austrlia",
        "untied kingdom",
        "jpan",
        "grmany",
        "widget pro",
        "europe middle east and afrika",
        "latin amerca",
        "sgp",
        "a" * 40,
        "nort america",
    ]
    labels = [label for label, _code in lexicon._fuzzy]
    for span in spans:
        got = process.extractOne(span, labels, scorer=fuzz.ratio, score_cutoff=84)
        # Spans under 5 characters are never read as misspelt markets.
        found = got is not None and len(span) >= 5
        expected = (lexicon._fuzzy[got[2]][1], float(got[1]), True) if found else None
        assert lexicon._learn(span, span.count(" ") + 1) == expected, span


def test_a_small_vocabulary_compares_a_typo_with_every_length_at_once(
    demo_view: CatalogView, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.matching

    index = demo_view.products
    words = ["widgte", "entreprise", "moniter", "ledgersynk", "pro", "syncc", "gatewya", "xq"]
    joined = [index._similar_words(w) for w in words]
    assert len(index._typo_groups("entreprise", 2)) == 2  # every length joined, twice
    monkeypatch.setattr(bot.matching, "SMALL_VOCABULARY", 0)  # one look-up per length
    index.forget()
    assert [index._similar_words(w) for w in words] == joined
