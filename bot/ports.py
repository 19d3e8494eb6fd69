"""Protocols the core needs from the outside world (implemented in store/ and handlers/)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from bot.catalog_file import CatalogSpec, ChangeSet
from bot.types import SalesCatalog


class CatalogRepository(Protocol):
    async def catalog_version(self) -> int:
        """A number that changes whenever the catalog does (cheap: read on every lookup)."""
        ...

    async def load_sales_catalog(self) -> SalesCatalog:
        """The sales-safe catalog: no internal fields are read."""
        ...

    async def load_catalog_spec(self) -> CatalogSpec:
        """The whole catalog with internal fields, for import diffs and export only."""
        ...

    async def apply_catalog(self, *, spec: CatalogSpec, changes: ChangeSet) -> int:
        """Make the stored catalog equal `spec` in one transaction; return the new version."""
        ...


class Clock(Protocol):
    def today(self) -> dt.date: ...
