"""Import and edit at scale, on SQLite and PostgreSQL: a re-import reads only the items
whose text changed, rows keep their place when a product is added, and a chat edit
touches the edited product only."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

import bot.catalog_file as catalog_file
from bot.catalog import CatalogService
from bot.editing import Edited, ProductEditor
from bot.types import UserRef
from store.repository import SqlRepository, positions
from tests.conftest import demo_text

PM = UserRef("slack", "U0PM")


def generated(n: int) -> str:
    """The demo catalog with `n` more products at its end."""
    return demo_text() + "".join(
        f"  - {{sku: GEN-{i:05d}, name: Generated {i}, lifecycle: ga, "
        f"availability: [{{region: GLOBAL, status: available}}], internal: {{cost: {i}}}}}\n"
        for i in range(n)
    )


@contextmanager
def product_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SKUs of the products validated (read from the file) meanwhile."""
    seen: list[str] = []
    validate = catalog_file._validate

    def spy(model: Any, item: Any, loc: Any, problems: list[str]) -> Any:
        out = validate(model, item, loc, problems)
        if model is catalog_file._Product and out is not None:
            seen.append(out.sku)
        return out

    monkeypatch.setattr(catalog_file, "_validate", spy)
    yield seen
    monkeypatch.undo()


async def stored(repo: SqlRepository) -> dict[str, tuple[int, int]]:
    async with repo.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT sku, id, position FROM product"))
        return {r.sku: (r.id, r.position) for r in rows}


async def test_a_reimport_reads_only_the_items_that_changed(
    catalog_service: CatalogService, repo: SqlRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = generated(200)
    with product_reads(monkeypatch) as seen:
        await catalog_service.import_catalog(text)
    assert len(seen) == 230
    with product_reads(monkeypatch) as seen:
        assert (await catalog_service.import_catalog(text)).empty
    assert seen == []
    changed = text.replace("name: Generated 7,", "name: Generated Seven,")
    with product_reads(monkeypatch) as seen:
        changes = await catalog_service.import_catalog(changed)
    assert seen == ["GEN-00007"]
    assert [(c.sku, c.fields) for c in changes.changed] == [("GEN-00007", ("name",))]
    exported = await catalog_service.export_catalog()
    assert exported == catalog_file.parse_catalog(changed)


async def test_a_product_added_at_the_top_rewrites_no_other_row(
    catalog_service: CatalogService, repo: SqlRepository
) -> None:
    text = generated(100)
    await catalog_service.import_catalog(text)
    before = await stored(repo)
    first = "  - sku: WDG-PRO"
    top = "  - {sku: NEW-1, name: Brand New, lifecycle: ga}\n" + first
    changes = await catalog_service.import_catalog(text.replace(first, top, 1))
    assert [p.sku for p in changes.added] == ["NEW-1"]
    after = await stored(repo)
    assert {s: v for s, v in after.items() if s != "NEW-1"} == before  # same ids and places
    exported = await catalog_service.export_catalog()
    assert exported.products[0].sku == "NEW-1"
    assert [p.sku for p in exported.products[1:]] == [p.sku for p in (await _spec(text)).products]


async def _spec(text: str) -> catalog_file.CatalogSpec:
    return catalog_file.parse_catalog(text)


async def test_an_edited_product_is_read_again_on_the_next_import(
    catalog_service: CatalogService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await catalog_service.import_catalog(demo_text())
    editor = ProductEditor(catalog=catalog_service, product_managers=frozenset({PM.id}))
    edited = await editor.submit(user=PM, sku="WDG-PRO", values={"summary": "Edited in chat"})
    assert isinstance(edited, Edited)
    with product_reads(monkeypatch) as seen:
        changes = await catalog_service.import_catalog(demo_text())
    assert seen == ["WDG-PRO"]  # its stored values no longer match its item: the file wins
    assert [c.fields for c in changes.changed] == [("summary",)]


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.sql.append(statement)


async def edit_statements(service: CatalogService, repo: SqlRepository, text: str) -> list[str]:
    await service.import_catalog(text)
    editor = ProductEditor(catalog=service, product_managers=frozenset({PM.id}))
    await service.view()
    listen = Statements()
    sa.event.listen(repo.engine.sync_engine, "before_cursor_execute", listen)
    try:
        form = await editor.form(user=PM, sku="WDG-PRO")
        assert not isinstance(form, str)
        out = await editor.submit(
            user=PM, sku="WDG-PRO", values={"summary": "Edited", "traits": "Fast"}
        )
        assert isinstance(out, Edited)
        answer = await service.lookup("widget pro")
        assert "Edited" in repr(answer)  # this process sees the edit at once
    finally:
        sa.event.remove(repo.engine.sync_engine, "before_cursor_execute", listen)
    return listen.sql


async def test_a_chat_edit_costs_the_same_whatever_the_catalog_size(
    catalog_service: CatalogService, repo: SqlRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def whole(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a chat edit loaded the whole catalog")

    small = await edit_statements(catalog_service, repo, demo_text())
    await repo.engine.dispose()
    big_service = CatalogService(repo)
    monkeypatch.setattr(repo, "load_catalog_spec", whole)
    await big_service.import_catalog(generated(500))
    await big_service.view()
    monkeypatch.setattr(repo, "load_sales_catalog", whole)
    big = await edit_statements(big_service, repo, generated(500))
    assert len(big) == len(small)
    # No statement reads or writes every product: each one names the product it is about.
    product_reads_ = [s for s in big if "FROM product" in s or "UPDATE product" in s]
    assert product_reads_ and all("WHERE" in s for s in product_reads_)


def test_positions_move_only_what_must_move() -> None:
    rng = random.Random(5)
    skus = [f"S{i}" for i in range(300)]
    current = {s: (i + 1) * 1024 for i, s in enumerate(skus)}
    assert positions(skus, current) == {}
    assert positions(["NEW", *skus], current) == {"NEW": 0}
    one_moved = [skus[-1], *skus[:-1]]
    assert list(positions(one_moved, current)) == [skus[-1]]
    for _ in range(50):
        order = [s for s in skus if rng.random() > 0.1]
        for k in range(5):
            order.insert(rng.randrange(len(order) + 1), f"N{k}")
        if rng.random() < 0.2:
            rng.shuffle(order)
        else:
            for _swap in range(3):
                i, j = rng.randrange(len(order)), rng.randrange(len(order))
                order[i], order[j] = order[j], order[i]
        moved = positions(order, current)
        final = [moved[s] if s in moved else current[s] for s in order]
        assert all(a < b for a, b in itertools.pairwise(final))
