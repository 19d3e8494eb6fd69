"""The repository on SQLite and PostgreSQL: import applies once, diffs, export, isolation
of internal fields."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from bot.catalog import CatalogService, CatalogView
from bot.catalog_file import CatalogError, dump_catalog, parse_catalog
from store.repository import SqlRepository
from tests.conftest import DATA, demo_text


async def table_counts(repo: SqlRepository) -> dict[str, int]:
    out = {}
    async with repo.engine.connect() as conn:
        for table in ("product", "availability_rule", "region", "pricing_band", "product_internal"):
            out[table] = await conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))
    return out


async def test_import_then_reimport_changes_nothing(
    catalog_service: CatalogService, repo: SqlRepository
) -> None:
    first = await catalog_service.import_catalog(demo_text())
    assert len(first.added) == 30
    version = await repo.catalog_version()
    counts = await table_counts(repo)
    again = await catalog_service.import_catalog(demo_text())
    assert again.empty
    assert again.summary_lines() == ["No changes: the catalog is already up to date."]
    assert await repo.catalog_version() == version  # nothing written, index stays valid
    assert await table_counts(repo) == counts


async def test_export_equals_what_was_imported(
    catalog_service: CatalogService,
) -> None:
    await catalog_service.import_catalog(demo_text())
    exported = await catalog_service.export_catalog()
    assert exported == parse_catalog(demo_text())
    # And the exported text re-imports as "no changes".
    assert (await catalog_service.import_catalog(dump_catalog(exported))).empty


async def test_changes_are_applied_and_reported(
    catalog_service: CatalogService, repo: SqlRepository
) -> None:
    await catalog_service.import_catalog(demo_text())
    v1 = await repo.catalog_version()
    text = (
        demo_text()
        .replace("lifecycle: announced", "lifecycle: ga", 1)
        .replace("- sku: MAIL-ARC", "- sku: MAIL-ARC-2")
    )
    changes = await catalog_service.import_catalog(text)
    assert [p.sku for p in changes.added] == ["MAIL-ARC-2"]
    assert [p.sku for p in changes.removed] == ["MAIL-ARC"]
    assert [c.fields for c in changes.changed] == [("lifecycle",)]
    assert await repo.catalog_version() == v1 + 1
    spec = await catalog_service.export_catalog()
    assert spec == parse_catalog(text)
    assert spec.internal["MAIL-ARC-2"]  # internal fields travel with the new product


async def test_a_bad_file_changes_nothing(
    catalog_service: CatalogService, repo: SqlRepository
) -> None:
    await catalog_service.import_catalog(demo_text())
    before = await catalog_service.export_catalog()
    broken = (
        demo_text()
        .replace("region: AU,", "region: AUS-X,", 1)
        .replace("lifecycle: ga", "lifecycle: gaa", 1)
    )
    with pytest.raises(CatalogError) as err:
        await catalog_service.import_catalog(broken)
    assert len(err.value.problems) == 2
    assert await catalog_service.export_catalog() == before


# A region's target changed: no patch of the view can show it, the index is built again.
UNTARGETED = demo_text().replace(
    "aliases: [Asia-Pacific, Asia Pac], briefing_target_per_quarter: 5}",
    "aliases: [Asia-Pacific, Asia Pac]}",
)


def _apac_target(view: CatalogView) -> int | None:
    return view.catalog.regions["APAC"].briefing_target_per_quarter


async def test_no_lookup_is_answered_from_a_catalog_older_than_a_change_made_here(
    repo: SqlRepository,
) -> None:
    """Once this process has changed the catalog, every lookup that follows, however many
    at once, sees the change: none is answered from the view the change made out of date
    while another reads the version or builds the new index."""
    service = CatalogService(repo, version_ttl=60.0)
    await service.import_catalog(demo_text())
    assert _apac_target(await service.view()) == 5
    assert UNTARGETED != demo_text()
    await service.import_catalog(UNTARGETED)
    version = await repo.catalog_version()
    seen = await asyncio.gather(*(service.view() for _ in range(8)))
    assert [(v.catalog.version, _apac_target(v)) for v in seen] == [(version, None)] * 8


class _HeldLoads:
    """The repository, with each catalog load held after reading until released."""

    def __init__(self, repo: SqlRepository) -> None:
        self._repo = repo
        self.loaded = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    async def load_sales_catalog(self) -> Any:
        catalog = await self._repo.load_sales_catalog()
        self.loaded.set()
        await self.release.wait()
        return catalog


async def test_a_change_made_here_while_the_index_is_built_is_not_lost(
    repo: SqlRepository,
) -> None:
    """The index being built from the catalog as it was before a change made meanwhile
    does not pass for the current one: the next lookup reads the catalog again."""
    await CatalogService(repo).import_catalog(demo_text())
    held = _HeldLoads(repo)
    service = CatalogService(held, version_ttl=60.0)  # type: ignore[arg-type]
    building = asyncio.create_task(service.view())
    await held.loaded.wait()
    await service.import_catalog(UNTARGETED)
    held.release.set()
    assert _apac_target(await building) == 5  # asked before the change
    after = await service.view()
    assert (after.catalog.version, _apac_target(after)) == (await repo.catalog_version(), None)


async def test_sales_catalog_never_reads_internal_fields(
    catalog_service: CatalogService, repo: SqlRepository
) -> None:
    await catalog_service.import_catalog((DATA / "unseen_catalog.yaml").read_text())
    sales = await repo.load_sales_catalog()
    assert "INTERNAL-" not in repr(sales)
    assert len(sales.products) == 16


async def test_lookup_index_follows_the_catalog_version(
    catalog_service: CatalogService,
) -> None:
    await catalog_service.import_catalog(demo_text())
    first = await catalog_service.lookup("widget pro in oz")
    assert first.fallback == "Widget Pro: Available in Australia"
    await catalog_service.import_catalog(
        demo_text().replace(
            "{region: GLOBAL, status: available}", "{region: GLOBAL, status: restricted}", 1
        )
    )
    second = await catalog_service.lookup("widget pro in oz")
    assert second.fallback.startswith("Widget Pro: Restricted in Australia")
