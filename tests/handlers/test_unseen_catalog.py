"""Must-show: a catalog the project has never seen, ~30 lookups phrased by sales people,
asked over signed Slack requests. Every answer names the right product, region and single
verdict in its fallback line; ambiguous ones list the candidates; nothing internal appears."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
import yaml

from bot.types import SalesProduct
from handlers.console import render_text
from tests.conftest import DATA
from tests.handlers.conftest import SlackDriver

LOOKUPS: list[dict[str, Any]] = yaml.safe_load(
    (DATA / "unseen_lookups.yaml").read_text(encoding="utf-8")
)["lookups"]
VERDICTS = ("Available", "Not available", "Restricted", "Planned", "Withdrawn")


@pytest.fixture
async def unseen(slack: SlackDriver) -> SlackDriver:
    changes = await slack.services.catalog.import_catalog(
        (DATA / "unseen_catalog.yaml").read_text(encoding="utf-8")
    )
    assert len(changes.added) == 16 and len(changes.removed) == 30
    return slack


async def test_sales_phrased_lookups_on_an_unseen_catalog(unseen: SlackDriver) -> None:
    assert len(LOOKUPS) >= 30
    failures = []
    for case in LOOKUPS:
        query, expect = case["query"], case["expect"]
        answer = await unseen.command(query)
        assert answer.status == 200, query
        assert "INTERNAL-" not in answer.body, query  # margins, costs, notes never shown
        text = answer.json["text"]
        if expect.get("not_found"):
            ok = text.startswith("No product matches")
        elif "ambiguous" in expect:
            names = expect["ambiguous"]
            ok = f"in {expect['region']}:" in text and all(n in text for n in names)
            ok = ok and text.startswith(f"{len(names)} products match")
        else:
            said = [v for v in VERDICTS if f": {v} in {expect['region']}" in text]
            ok = text.startswith(f"{expect['product']}: ") and said == [expect["verdict"]]
        if not ok:
            failures.append(f"{query!r}: expected {expect}, got {text!r}")
    assert not failures, "\n".join(failures)


async def test_no_rendering_of_any_product_shows_internal_fields(unseen: SlackDriver) -> None:
    view = await unseen.services.catalog.view()
    regions = list(view.catalog.regions.values())
    for product in view.catalog.products:
        for region in regions:
            reply = await unseen.services.catalog.answer_for(
                sku=product.sku, region_code=region.code
            )
            assert reply is not None
            assert "INTERNAL-" not in render_text(reply)
        answer = await unseen.command(product.name)  # product-only overview
        assert "INTERNAL-" not in answer.body
    for region in regions:
        answer = await unseen.command(region.name)  # region-only list
        assert "INTERNAL-" not in answer.body


def test_the_sales_view_type_has_no_internal_fields() -> None:
    names = {f.name for f in fields(SalesProduct)}
    assert not names & {"internal", "margin", "margin_pct", "cost", "notes"}
