"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and catalogs."""

from __future__ import annotations

import asyncio
import os
import shutil
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

    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str | None) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    if pg_database is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_POSTGRES_URL)")
    return pg_database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest revision once per test session: each test's
    database starts as a copy of it, so no test pays for running every migration again."""
    path = tmp_path_factory.mktemp("migrated") / "migrated.db"

    async def build() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    # The last connection to close checkpoints the write-ahead log into the file: the file
    # alone is the whole database, so copying it is enough.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_database: str | None) -> Iterator[str | None]:
    """The PostgreSQL twin of sqlite_template: a database migrated once, which each test's
    database is created from (CREATE DATABASE … TEMPLATE)."""
    if pg_database is None:
        yield None
        return
    name = f"{_db_name(pg_database)}_migrated"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))

    async def build() -> None:
        engine = make_engine(f"{pg_database.rsplit('/', 1)[0]}/{name}")
        await migrate.upgrade(engine)
        await engine.dispose()  # a template must have no connection while it is copied

    asyncio.run(build())
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def _pg_admin(*statements: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for sql in statements:
                await conn.execute(sa.text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(
    db_url: str, sqlite_template: Path, pg_template: str | None
) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database at the newest migration (both backends)."""
    if db_url.startswith("postgresql"):
        assert pg_template is not None
        name = _db_name(db_url)
        # Every test starts from the migrated template, whatever the test before it left
        # (rows, or a schema it migrated down).
        await _pg_admin(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"',
        )
    else:
        shutil.copyfile(sqlite_template, Path(db_url.removeprefix("sqlite+aiosqlite:///")))
    engine = make_engine(db_url)
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
