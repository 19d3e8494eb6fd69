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


SEGMENTED = textwrap.dedent(
    """
    regions:
      - {code: GLOBAL, name: Global}
      - {code: DE, name: Germany, parent: GLOBAL}
    segments:
      - {code: PUB, name: Public sector, aliases: [government]}
    products:
      - sku: A-1
        name: Alpha
        lifecycle: ga
        contact: {product_contact}
        availability:
          - {region: DE, status: available}
          - {region: DE, segment: {segment}, status: not_available, contact: {rule_contact}}
          {third}
    """
)


def _segmented(**values: str) -> str:
    defaults = {
        "product_contact": "U01PM",
        "segment": "PUB",
        "rule_contact": "U01DESK",
        "third": "",
    }
    text = SEGMENTED
    for key, value in {**defaults, **values}.items():
        text = text.replace("{" + key + "}", value)
    return text


def test_segment_rules_and_contacts_are_refused_with_their_place() -> None:
    with pytest.raises(CatalogError) as exc:
        parse_catalog(_segmented(third="- {region: DE, segment: PUB, status: restricted}"))
    # A second rule for the same region and segment; a general and a segment rule coexist.
    assert exc.value.problems == [
        "products[0].availability[2].region: second rule for 'DE' for segment 'PUB'"
    ]
    with pytest.raises(CatalogError) as exc:
        parse_catalog(_segmented(segment="FSI"))
    assert exc.value.problems[0] == "products[0].availability[1].segment: unknown segment 'FSI'"
    with pytest.raises(CatalogError) as exc:
        parse_catalog(_segmented(rule_contact="bob@example.com", product_contact="alice"))
    assert [p.split(":")[0] for p in exc.value.problems] == [
        "products[0].availability[1].contact",
        "products[0].contact",
    ]
    assert "'alice' is not a user id" in exc.value.problems[1]
    with pytest.raises(CatalogError) as exc:  # the owner is the contact when none is named
        parse_catalog(_segmented().replace("    contact: U01PM\n", "    owner: Alice Smith\n"))
    assert [p.split(":")[0] for p in exc.value.problems] == ["products[0].owner"]
    # A segment word that names a market too would be read as only one of them.
    with pytest.raises(CatalogError) as exc:
        parse_catalog(_segmented().replace("aliases: [government]", "aliases: [government, de]"))
    assert exc.value.problems == ["segments[0]: 'de' already names region 'DE'"]


def test_segments_and_contacts_round_trip() -> None:
    text = _segmented(product_contact="teams:8f6c1c9e-5a4b-4b0e-9a35-3f1f3c2d1e0f")
    spec = parse_catalog(text)
    assert spec.segments[0].aliases == ("government",)
    rule = spec.products[0].rules[1]
    assert (rule.segment, rule.contact) == ("PUB", "U01DESK")
    assert parse_catalog(dump_catalog(spec)) == spec


def test_rules_that_never_take_effect_are_warned_about_not_refused() -> None:
    spec = parse_catalog(_segmented().replace("lifecycle: ga", "lifecycle: withdrawn"))
    changes = diff_catalogs(parse_catalog(_segmented().split("products:")[0]), spec)
    assert changes.warnings == (
        "Alpha [A-1] is withdrawn: its 1 rule(s) saying available (DE) never take effect",
    )
    assert changes.summary_lines()[-1] == "Warning: " + changes.warnings[0]
