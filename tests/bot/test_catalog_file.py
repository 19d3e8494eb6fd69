"""Catalog file: whole-file validation with places, export round trip, change sets."""

from __future__ import annotations

import textwrap

import pytest

from bot.catalog_file import CatalogError, diff_catalogs, dump_catalog, parse_catalog
from tests.conftest import DATA, demo_text


def test_demo_catalog_is_valid_and_complete() -> None:
    spec = parse_catalog(demo_text())
    assert 25 <= len(spec.products) <= 40
    assert {p.lifecycle.value for p in spec.products} == {
        "ga",
        "beta",
        "pilot",
        "announced",
        "sunset",
        "withdrawn",
    }
    statuses = {r.status.value for p in spec.products for r in p.rules}
    assert statuses == {"available", "not_available", "restricted", "planned", "withdrawn"}


@pytest.mark.parametrize("path", ["demo", "unseen"])
def test_export_round_trips(path: str) -> None:
    text = demo_text() if path == "demo" else (DATA / "unseen_catalog.yaml").read_text()
    spec = parse_catalog(text)
    again = parse_catalog(dump_catalog(spec))
    assert again == spec
    assert dump_catalog(again) == dump_catalog(spec)


BAD = textwrap.dedent(
    """
    pricing_bands:
      - {code: B, label: Growth, min: 10000, max: 500, currency: USD}
    regions:
      - {code: GLOBAL, name: Global}
      - {code: AU, name: Australia, parent: APAC}
    products:
      - sku: A-1
        name: Alpha
        lifecycle: ga
        pricing_band: Z
        availability:
          - {region: AUS-X, status: available}
          - {region: GLOBAL, status: sometimes}
      - sku: A-1
        name: Beta
        lifecycle: gone
        colour: red
    """
)


def test_every_problem_is_reported_with_its_place() -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog(BAD)
    problems = err.value.problems
    # Structural problems are reported first (the cross-references need a valid shape).
    assert any(p.startswith("products[0].availability[1].status:") for p in problems)
    assert any(p.startswith("products[1].lifecycle:") for p in problems)
    assert any(p.startswith("products[1].colour:") for p in problems)


def test_cross_reference_problems_are_reported_in_the_same_run() -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog(BAD)
    problems = err.value.problems
    assert "products[0].availability[0].region: unknown region 'AUS-X'" in problems
    assert "products[0].pricing_band: unknown band 'Z'" in problems
    assert "pricing_bands[0].max: 500 is below min 10000" in problems
    assert any(p.startswith("regions[1].parent: unknown region 'APAC'") for p in problems)


def test_not_yaml_is_reported_with_line() -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog("regions: [\n  {code: A\n")
    assert "line" in err.value.problems[0]


def test_duplicate_skus_are_reported() -> None:
    text = "regions: [{code: G, name: Global}]\nproducts:\n" + (
        "  - {sku: A-1, name: Alpha, lifecycle: ga}\n  - {sku: A-1, name: Beta, lifecycle: ga}\n"
    )
    with pytest.raises(CatalogError) as err:
        parse_catalog(text)
    assert err.value.problems == ["products[1].sku: duplicate SKU 'A-1'"]


def test_norway_stays_norway() -> None:
    # YAML 1.1 would read NO as false; codes and aliases are text.
    spec = parse_catalog("regions:\n  - {code: NO, name: Norway, aliases: [NOR, no]}\n")
    assert spec.regions[0].code == "NO"
    assert spec.regions[0].aliases == ("NOR", "no")


def test_diff_names_changed_fields_and_keeps_internal_apart() -> None:
    old = parse_catalog(demo_text())
    text = (
        demo_text()
        .replace("name: Widget Lite", "name: Widget Lite 2")
        .replace("margin_pct: 61", "margin_pct: 62", 1)
    )
    new = parse_catalog(text)
    changes = diff_catalogs(old, new)
    assert not changes.added and not changes.removed
    by_sku = {c.sku: c for c in changes.changed}
    assert set(by_sku) == {"WDG-LITE", "WDG-PRO"}
    assert (by_sku["WDG-LITE"].fields, by_sku["WDG-LITE"].internal_changed) == (("name",), False)
    assert (by_sku["WDG-PRO"].fields, by_sku["WDG-PRO"].internal_changed) == ((), True)
    assert diff_catalogs(new, new).empty
