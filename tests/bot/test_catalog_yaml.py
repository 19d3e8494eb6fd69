"""The fast catalog reader: the same values and the same problems as reading the whole file
with yaml.load, and the general loader for anything it does not reproduce exactly."""

from __future__ import annotations

import textwrap

import pytest
import yaml

import bot.catalog_file as catalog_file
from bot.catalog_file import CatalogError, _Loader, parse_catalog, read_catalog
from bot.catalog_yaml import Unusual, read_items, split_products
from tests.conftest import DATA, demo_text

HEAD = (
    "pricing_bands:\n  - {code: A, label: Small, min: 0}\n"
    "regions:\n  - {code: GLOBAL, name: Global}\n"
)

LAYOUTS = {
    "indented items, comments, blank lines": HEAD
    + textwrap.dedent(
        """\
        products:
          # first
          - sku: A-1
            name: Alpha
            lifecycle: ga

            summary: >
              folded
              text
          # between
          - sku: A-2
            name: "Quoted: yes"
            lifecycle: beta
            traits: [NO, on, 'off', 1.5, 007, null, ~, true]
            availability:
            - {region: GLOBAL, status: planned, from: 2027-04-01}
        """
    ),
    "items at column 0, a section after them": textwrap.dedent(
        """\
        products:
        - sku: B-1
          name: Beta
          lifecycle: ga
          internal:
            margin_pct: 40
            cost: 12.5
            note: |
              two
              lines
        -
          sku: B-2
          name: 'It''s'
          lifecycle: ga
        - {sku: B-3, name: Flow, lifecycle: ga}
        """
    )
    + HEAD,
    "demo": demo_text(),
    "unseen": (DATA / "unseen_catalog.yaml").read_text(),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_items_read_as_yaml_load_reads_them(name: str) -> None:
    text = LAYOUTS[name]
    split = split_products(text)
    assert split is not None
    whole = yaml.load(text, Loader=_Loader)
    assert list(read_items(text, split.items, _Loader)) == whole["products"]
    header = yaml.load(split.header, Loader=_Loader)
    assert header.pop("products") is None
    assert header == {k: v for k, v in whole.items() if k != "products"}


def whole_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_file, "split_products", lambda text: None)


@pytest.mark.parametrize(
    "text",
    [
        # Anchors and aliases, merge keys, explicit tags: the general loader's business.
        HEAD + "products:\n- &a {sku: A-1, name: Alpha, lifecycle: ga}\n- {sku: A-2, name: *x}\n",
        HEAD + "products:\n- {<<: {lifecycle: ga}, sku: M-1, name: Merged}\n",
        HEAD + "products:\n- {sku: !!str 12, name: !!str 13, lifecycle: ga}\n",
        HEAD + "products:\n- sku: A-1\n  name: Alpha\n  lifecycle: ga\n  aliases: [*nowhere]\n",
    ],
)
def test_unusual_files_read_as_the_general_loader_reads_them(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = split_products(text)
    assert split is not None
    with pytest.raises(Unusual):
        list(read_items(text, split.items, _Loader))
    fast = outcome(text)
    whole_only(monkeypatch)
    assert fast == outcome(text)


TRICKY = [
    # A quoted scalar that runs across what looks like an item boundary (libyaml allows it).
    HEAD + 'products:\n- sku: A-1\n  name: "Alpha\n- sku: A-2"\n  lifecycle: ga\n',
    HEAD + "products:\n- sku: A-1\n  name: [Alpha,\n- b]\n  lifecycle: ga\n",
    HEAD + "products:\n- sku: A-1\n   name: bad indent\n  lifecycle: ga\n",
    HEAD + "products:\n- {sku: A-1, name: Alpha, lifecycle: gone}\n- {sku: A-1, name: B}\n",
]


def outcome(text: str) -> object:
    try:
        return parse_catalog(text)
    except CatalogError as exc:
        return exc.problems


@pytest.mark.parametrize("text", TRICKY)
def test_results_and_problems_are_the_whole_files(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = outcome(text)
    whole_only(monkeypatch)
    assert fast == outcome(text)


def test_files_it_cannot_split_are_read_whole() -> None:
    assert split_products("---\n" + demo_text()) is None  # document markers
    assert split_products(HEAD + "products: [{sku: A, name: A, lifecycle: ga}]\n") is None
    assert split_products(HEAD + "products:\n- {sku: A}\nproducts:\n- {sku: B}\n") is None
    spec = parse_catalog("---\n" + demo_text())
    assert spec == parse_catalog(demo_text())


def test_known_items_are_not_read_again() -> None:
    first = read_catalog(demo_text())
    known = dict(zip(first.hashes, first.skus, strict=True))
    again = read_catalog(demo_text(), known=known, current=first.spec)
    assert again.spec.products == () and again.skus == first.skus
    changed = demo_text().replace("name: Widget Lite", "name: Widget Air", 1)
    some = read_catalog(changed, known=known, current=first.spec)
    assert [p.name for p in some.spec.products] == ["Widget Air"]
    # A duplicate of a skipped product's SKU is still found.
    dup = demo_text() + "  - {sku: WDG-PRO, name: Copy, lifecycle: ga}\n"
    with pytest.raises(CatalogError) as err:
        read_catalog(dup, known=known, current=first.spec)
    assert err.value.problems == [f"products[{len(first.skus)}].sku: duplicate SKU 'WDG-PRO'"]
    # Other sections changed: every item is read (their references are checked again).
    regions = demo_text().replace("name: Australia", "name: Down Under", 1)
    assert len(read_catalog(regions, known=known, current=first.spec).spec.products) == 30
