"""Chat edits: the rule-per-line format, rules a page at a time, and the optimistic lock
against lost updates."""

from __future__ import annotations

import json

import pytest

from bot.catalog import CatalogService, CatalogView, answer_query, product_answer
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
from store.repository import SqlRepository
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


async def test_a_form_opened_before_another_change_cannot_undo_it(
    catalog_service: CatalogService,
) -> None:
    """Two PMs open the form; the first saves a new summary; the second saves later from
    the form as it was (or an old form is replayed): the first's change stays."""
    await catalog_service.import_catalog(demo_text())
    editor = ProductEditor(catalog=catalog_service, product_managers=frozenset({PM.id}))
    stale = await editor.form(user=PM, sku="WDG-PRO")
    assert isinstance(stale, FormSpec)
    unchanged = {f.id: f.initial for f in stale.fields if f.initial is not None}
    first = await editor.submit(
        user=PM, sku="WDG-PRO", values={"summary": "First PM's summary"}, basis=stale.state["basis"]
    )
    assert isinstance(first, Edited) and not first.changes.empty
    second = await editor.submit(
        user=PM, sku="WDG-PRO", values=unchanged, basis=stale.state["basis"]
    )
    assert second == Refused(CONFLICT, Why.CONFLICT)
    assert (await editor.product("WDG-PRO")).summary == "First PM's summary"  # type: ignore[union-attr]
    # Opened again, the form shows the change and saves.
    fresh = await editor.form(user=PM, sku="WDG-PRO")
    assert isinstance(fresh, FormSpec) and fresh.state["basis"] != stale.state["basis"]
    again = await editor.submit(
        user=PM, sku="WDG-PRO", values={"summary": "Second PM's"}, basis=fresh.state["basis"]
    )
    assert isinstance(again, Edited) and again.product.summary == "Second PM's"


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


SEGMENTED = """
pricing_bands:
  - {code: A, label: Starter, min: 0, max: 10000, currency: USD}
  - {code: c2, label: Enterprise, min: 50000, currency: USD}
regions:
  - {code: GLOBAL, name: Global}
  - {code: EMEA, name: EMEA, parent: GLOBAL}
  - {code: DE, name: Germany, parent: EMEA}
  - {code: fr, name: France, parent: EMEA}
segments:
  - {code: PUB, name: Public sector, aliases: [government]}
  - {code: Fsi, name: Financial services, aliases: [banks]}
products:
  - sku: SEG-1
    name: Segmented Widget
    owner: U01OWNER
    contact: U01PRODUCT
    lifecycle: ga
    availability:
      - {region: GLOBAL, status: available}
      - region: DE
        segment: PUB
        status: not_available
        reason: Needs BSI C5 attestation
        contact: U01PUBSEC
      - {region: DE, status: restricted, reason: "Works council sign-off — local", pricing_band: c2}
      - region: EMEA
        segment: Fsi
        status: restricted
        from: 2027-01-15
        pricing_band: A
        contact: "teams:0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
        reason: Compliance review
      - {region: fr, segment: PUB, status: planned, from: 2027-03-01, contact: U01PUBSEC}
      - {region: fr, status: available, contact: U01FRANCE}
"""


def test_segment_and_contact_rules_round_trip_through_the_edit_form() -> None:
    """The form shows every rule of a product with segment-scoped rules and per-rule
    contacts; saving what it showed, unchanged, changes nothing, and changing one of them
    changes exactly that one (codes keep their catalog spelling, whatever case is typed)."""
    spec = parse_catalog(SEGMENTED)
    product = spec.products[0]
    form = edit_form(product, spec)
    shown = field(form, "availability").initial or ""
    assert len(shown.splitlines()) == len(product.rules) == 6
    assert "DE/PUB: not_available contact U01PUBSEC — Needs BSI C5 attestation" in shown
    values = {f.id: f.initial for f in form.fields}
    again = parse_edit(values, spec, product.sku, page_keys(form.state))
    assert isinstance(again, CatalogSpec), again
    assert again.products == spec.products  # nothing lost, nothing changed

    typed = shown.replace("fr/PUB: planned", "FR/pub: restricted").replace("EMEA/Fsi", "emea/FSI")
    edited = parse_edit({**values, "availability": typed}, spec, product.sku)
    assert isinstance(edited, CatalogSpec), edited
    before, after = product.rules, edited.products[0].rules
    assert [r for r in after if r not in before] == [
        Rule("fr", Status.RESTRICTED, None, before[4].from_date, None, "PUB", "U01PUBSEC")
    ]
    assert [r for r in before if r not in after] == [before[4]]


def test_a_rule_line_names_its_segment_and_contact() -> None:
    rule = Rule("DE", Status.NOT_AVAILABLE, "Needs attestation", None, "C", "PUB", "U01PUBSEC")
    assert rule_line(rule) == "DE/PUB: not_available band C contact U01PUBSEC — Needs attestation"


async def test_after_a_chat_edit_every_answer_is_what_a_fresh_view_gives(
    catalog_service: CatalogService, repo: SqlRepository
) -> None:
    """The process that saved an edit patches its view instead of reloading it: the patched
    view keeps the region tree and the segments, so each answer (exceptions below a parent,
    segment verdicts, whom to ask) equals the one a freshly built view gives."""
    await catalog_service.import_catalog(demo_text())
    await catalog_service.view()
    editor = ProductEditor(catalog=catalog_service, product_managers=frozenset({PM.id}))
    edited = await editor.submit(
        user=PM, sku="WDG-LITE", values={"availability": "GLOBAL: available\nAE: not_available"}
    )
    assert isinstance(edited, Edited) and not edited.changes.empty
    patched = await catalog_service.view()
    fresh = CatalogView.build(await repo.load_sales_catalog())
    assert patched.catalog.version == fresh.catalog.version
    segments = [None, *fresh.catalog.segments.values()]
    for product in fresh.catalog.products:
        for region in fresh.catalog.regions.values():
            for segment in segments:
                assert product_answer(patched, product, region, segment) == product_answer(
                    fresh, product, region, segment
                ), (product.sku, region.code, segment)
    for question in ("widget pro germany government", "widget lite emea", "wp3000"):
        assert answer_query(patched, question) == answer_query(fresh, question), question
