"""Chat edits: the rule-per-line format, rules a page at a time, and the optimistic lock
against lost updates."""

from __future__ import annotations

import json

import pytest

from bot.catalog import CatalogService
from bot.catalog_file import CatalogSpec, parse_catalog
from bot.editing import (
    CONFLICT,
    Edited,
    ProductEditor,
    edit_form,
    page_keys,
    parse_edit,
    rule_line,
)
from bot.forms import FormField, FormSpec
from bot.types import Refused, Rule, SalesProduct, Status, UserRef, Why
from tests.big_catalog import BIG_SKU, big_catalog
from tests.conftest import demo_text

PM = UserRef("slack", "U0PM1")


def test_rules_round_trip_through_the_form_format() -> None:
    spec = parse_catalog(demo_text())
    pro = next(p for p in spec.products if p.sku == "WDG-PRO")
    text = "\n".join(rule_line(r) for r in pro.rules)
    again = parse_edit({"availability": text}, spec, "WDG-PRO")
    assert not isinstance(again, dict)
    assert next(p for p in again.products if p.sku == "WDG-PRO").rules == pro.rules


async def test_an_edit_that_raced_another_change_is_refused(
    catalog_service: CatalogService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await catalog_service.import_catalog(demo_text())
    editor = ProductEditor(catalog=catalog_service, product_managers=frozenset({PM.id}))
    read = catalog_service.product_spec

    async def read_then_someone_else_edits(sku: str):  # type: ignore[no-untyped-def]
        spec = await read(sku)
        await catalog_service.import_catalog(
            demo_text().replace("name: Widget Lite", "name: Widget Air"), actor="U0PM2"
        )
        return spec

    monkeypatch.setattr(catalog_service, "product_spec", read_then_someone_else_edits)
    result = await editor.submit(user=PM, sku="WDG-PRO", values={"summary": "New summary"})
    assert result == Refused(CONFLICT, Why.CONFLICT)
    monkeypatch.undo()
    names = {p.name for p in (await catalog_service.export_catalog()).products}
    assert "Widget Air" in names  # the other change survived
    ok = await editor.submit(user=PM, sku="WDG-PRO", values={"summary": "New summary"})
    assert isinstance(ok, Edited) and ok.product.summary == "New summary"


def big_spec() -> tuple[CatalogSpec, SalesProduct]:
    spec = parse_catalog(big_catalog(regions=250, rules=150))
    return spec, next(p for p in spec.products if p.sku == BIG_SKU)


def field(form: FormSpec, field_id: str) -> FormField:
    return next(f for f in form.fields if f.id == field_id)


def test_a_large_product_is_edited_a_page_at_a_time_within_the_field_limit() -> None:
    spec, big = big_spec()
    assert len(big.rules) == 150
    assert len("\n".join(rule_line(r) for r in big.rules)) > 3000  # one field cannot hold it
    first = edit_form(big, spec)
    pages = len(field(first, "then").choices)  # "close" and every other page
    assert pages >= 3
    seen: list[str] = []
    for n in range(pages):
        form = edit_form(big, spec, page=n)
        rules = field(form, "availability")
        assert rules.initial is not None and len(rules.initial) <= 3000
        assert rules.max_length == 3000
        assert len(json.dumps(form.state)) < 3000  # Slack's private_metadata
        seen += rules.initial.splitlines()
    assert seen == [rule_line(r) for r in big.rules]  # every rule on exactly one page


def test_saving_one_page_keeps_every_rule_on_the_others() -> None:
    spec, big = big_spec()
    form = edit_form(big, spec, page=1)
    text = field(form, "availability").initial or ""
    target = next(r for r in big.rules if r.region == text.splitlines()[2].split(":")[0])
    changed = text.replace(rule_line(target), f"{target.region}: available")
    saved = parse_edit({"availability": changed}, spec, BIG_SKU, page_keys(form.state))
    assert isinstance(saved, CatalogSpec)
    after = next(p for p in saved.products if p.sku == BIG_SKU).rules
    assert len(after) == 150
    expected = [Rule(r.region, Status.AVAILABLE) if r == target else r for r in big.rules]
    assert list(after) == expected  # the change, in its place; all 149 others untouched

    # A rule removed from the page is gone; one added is added; other pages stay.
    fewer = "\n".join(line for line in text.splitlines() if not line.startswith(target.region))
    saved = parse_edit({"availability": fewer}, spec, BIG_SKU, page_keys(form.state))
    assert isinstance(saved, CatalogSpec)
    assert [r.region for r in next(p for p in saved.products if p.sku == BIG_SKU).rules] == [
        r.region for r in big.rules if r != target
    ]


def test_a_line_for_a_market_on_another_page_replaces_that_rule() -> None:
    spec, big = big_spec()
    form = edit_form(big, spec, page=0)
    text = field(form, "availability").initial or ""
    last = big.rules[-1]  # on the last page
    saved = parse_edit(
        {"availability": text + f"\n{last.region}: restricted — Via the partner"},
        spec,
        BIG_SKU,
        page_keys(form.state),
    )
    assert isinstance(saved, CatalogSpec)
    rules = next(p for p in saved.products if p.sku == BIG_SKU).rules
    assert len(rules) == 150
    assert [r for r in rules if r.region == last.region] == [
        Rule(last.region, Status.RESTRICTED, "Via the partner")
    ]
