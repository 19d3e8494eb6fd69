"""A question naming several markets and/or segments is answered for every named
(market, segment) combination: the most restrictive one heads the answer and each other
one is listed with its own verdict and reason; a segment word is never an unknown market."""

from __future__ import annotations

import pytest

import bot.catalog as catalog_module
from bot.catalog import CatalogView, answer_query
from bot.replies import ProductAnswer
from bot.types import Verdict
from tests.bot.test_whole_truth import _file


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
        "Widget Pro: Not available in Germany for Public sector — Needs BSI C5 attestation "
        "except 1 customer segment: Financial services (Restricted). Ask U01PUBSEC"
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
    assert isinstance(answer_query(demo, question), ProductAnswer)
