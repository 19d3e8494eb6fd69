"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and catalogs."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.catalog import CatalogService, CatalogView
from bot.catalog_file import CatalogSpec, parse_catalog
from bot.types import SalesCatalog
from store import migrate
from store.db import make_engine, normalize_url
from store.repository import SqlRepository
from tests import validators

ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOG = ROOT / "catalog" / "demo.yaml"
DATA = Path(__file__).parent / "data"
PG_ADMIN_URL = normalize_url(
    os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://127.0.0.1:5432/postgres")
)


def _pg_reachable() -> bool:
    async def probe() -> bool:
        engine = create_async_engine(PG_ADMIN_URL)
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False
        finally:
            await engine.dispose()

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A throwaway PostgreSQL database for this test session, or None when none is reachable."""
    if not _pg_reachable():
        yield None
        return
    name = f"salesbridge_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    if pg_database is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_POSTGRES_URL)")
    return pg_database


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    if db_url.startswith("postgresql"):
        # One database per session: start every test from an empty schema.
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def repo(engine: AsyncEngine) -> SqlRepository:
    return SqlRepository(engine)


@pytest.fixture
def catalog_service(repo: SqlRepository) -> CatalogService:
    return CatalogService(repo)


def demo_text() -> str:
    return DEMO_CATALOG.read_text(encoding="utf-8")


def view_of(spec: CatalogSpec) -> CatalogView:
    """A catalog view built straight from a file (pure tests: no database)."""
    return CatalogView.build(
        SalesCatalog(
            1,
            {b.code: b for b in spec.bands},
            {r.code: r for r in spec.regions},
            spec.products,
            {s.code: s for s in spec.segments},
        )
    )


@pytest.fixture(scope="session")
def demo_view() -> CatalogView:
    return view_of(parse_catalog(demo_text()))


# ------------------------------------------------------------------ validators
# What the app sent Slack or Teams is judged by tests/validators.py as it arrives at the fakes;
# whatever a test (or its fixtures) produced that Slack or Teams would refuse fails that test.


def _judge(when: str) -> None:
    found = validators.take()
    if found:
        shown = "\n  ".join(found[:25])
        more = f"\n  … and {len(found) - 25} more" if len(found) > 25 else ""
        pytest.fail(
            f"the platform validators refused what this test {when}:\n  {shown}{more}",
            pytrace=False,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    validators.take()  # a previous test's leftovers are that test's


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    _judge("sent")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    result = yield
    _judge("sent while its fixtures set up or closed")
    return result
