"""Chat edits: the rule-per-line format and the optimistic lock against lost updates."""

from __future__ import annotations

import pytest

from bot.catalog import CatalogService
from bot.catalog_file import parse_catalog
from bot.editing import CONFLICT, Edited, ProductEditor, parse_edit, rule_line
from bot.types import Refused, UserRef, Why
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
    export = catalog_service.export_catalog

    async def export_then_someone_else_edits():  # type: ignore[no-untyped-def]
        spec = await export()
        await catalog_service.import_catalog(
            demo_text().replace("name: Widget Lite", "name: Widget Air"), actor="U0PM2"
        )
        return spec

    monkeypatch.setattr(catalog_service, "export_catalog", export_then_someone_else_edits)
    result = await editor.submit(user=PM, sku="WDG-PRO", values={"summary": "New summary"})
    assert result == Refused(CONFLICT, Why.CONFLICT)
    monkeypatch.undo()
    names = {p.name for p in (await catalog_service.export_catalog()).products}
    assert "Widget Air" in names  # the other change survived
    ok = await editor.submit(user=PM, sku="WDG-PRO", values={"summary": "New summary"})
    assert isinstance(ok, Edited) and ok.product.summary == "New summary"
