"""Freed heap goes back to the OS after a catalog build (glibc), harmlessly elsewhere."""

from __future__ import annotations

import platform

from bot.catalog import CatalogService
from handlers import memory
from store.repository import SqlRepository
from tests.conftest import demo_text


def test_release_free_memory_finds_malloc_trim_on_glibc() -> None:
    memory.release_free_memory()  # never raises
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert memory._malloc_trim() is not None


async def test_the_after_build_hook_runs_once_per_catalog_version(repo: SqlRepository) -> None:
    calls: list[int] = []
    service = CatalogService(repo, version_ttl=0.0, after_build=lambda: calls.append(1))
    await service.import_catalog(demo_text())
    await service.view()
    await service.view()  # same version: no rebuild
    assert len(calls) == 1
    await service.import_catalog(demo_text().replace("Widget Pro", "Widget Pro X", 1))
    await service.view()
    assert len(calls) == 2
