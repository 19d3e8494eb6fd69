"""Region search fields: every one of hundreds of regions can be found by what is typed."""

from __future__ import annotations

from bot.catalog import CatalogView
from bot.catalog_file import parse_catalog
from bot.search import region_choices
from tests.big_catalog import big_catalog
from tests.conftest import demo_text, view_of


def big_view() -> CatalogView:
    return view_of(parse_catalog(big_catalog(regions=250, rules=150)))


def test_every_region_of_250_is_found_by_its_name_and_its_code() -> None:
    view = big_view()
    regions = view.catalog.regions
    assert len(regions) == 250
    for region in regions.values():
        for typed in (region.name, region.code, region.name.lower()[:-1]):
            got = region_choices(regions, view.regions, typed, 15)  # Teams lists 15
            assert region.code in [c.value for c in got], (typed, got)
        assert region_choices(regions, view.regions, region.name, 15)[0].value == region.code


def test_nothing_typed_lists_the_first_regions_and_no_answer_exceeds_its_limit() -> None:
    view = big_view()
    regions = view.catalog.regions
    first = region_choices(regions, view.regions, "", 100)
    assert [c.value for c in first] == list(regions)[:100]  # Slack lists 100
    assert all(len(region_choices(regions, view.regions, q, 15)) <= 15 for q in ("a", "ka", "m"))
    assert region_choices(regions, view.regions, "zzzzqx", 100) == []


def test_aliases_and_typos_find_a_region_as_a_question_would() -> None:
    view = view_of(parse_catalog(demo_text()))
    regions = view.catalog.regions
    assert region_choices(regions, view.regions, "oz", 15)[0].value == "AU"
    assert region_choices(regions, view.regions, "austrlia", 15)[0].value == "AU"
    assert region_choices(regions, view.regions, "united", 15)[0].label == ("United Kingdom (UK)")
