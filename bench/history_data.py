"""A year of feedback and briefings seeded in bulk (one INSERT ... SELECT per table), the same
rows on SQLite and PostgreSQL: every value is integer arithmetic on the row number."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

# Seeded rows span the year before NOW; half of the items are open (3 in 10 new).
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
START = "2025-12-02 00:00:00"
YEAR_S = 365 * 86_400
# Regions an item is filed under: leaves, parents, one the demo catalog lacks, and none ("").
REGIONS = ("AU", "NZ", "JP", "SG", "IN", "UK", "DE", "FR", "NL", "US", "CA", "BR", "MX",
           "APAC", "EMEA", "AMER", "GLOBAL", "XX", "", "")  # fmt: skip
SKUS = ("WDG-PRO", "WDG-LITE", "IOT-GW", "ANL-SUITE", "SEC-EDGE", "", "")  # "": no product
WORDS = ("pricing", "export", "latency", "dashboard", "sso", "invoice", "api", "mobile",
         "offline", "reports", "gizmotron", "discount", "contract", "support", "battery",
         "firmware", "sensor", "audit", "billing", "onboarding", "languages", "widgets",
         "integration", "salesforce", "tariff", "warranty", "shipping", "regional", "cloud",
         "backup")  # fmt: skip
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP")
KINDS = ("problem", "feature_request", "competitive", "client_view", "market_appetite")
SUBMITTERS = 5000  # sales people U0..U4999; U7 is a typical one
PMS = 20


def _pick(choices: tuple[str, ...], index: str) -> str:
    """SQL choosing one of `choices` by an integer expression (no arrays: SQLite has none)."""
    width = max(len(c) for c in choices) or 1
    packed = "".join(c.ljust(width) for c in choices).replace("'", "''")
    start = f"CAST({width} * (({index}) % {len(choices)}) + 1 AS INTEGER)"
    return f"NULLIF(TRIM(SUBSTR('{packed}', {start}, {width})), '')"


def _mix(salt: int, modulo: int) -> str:
    return f"((n * {2_654_435_761 + salt * 7919}) % 2147483647) % {modulo}"


def _series(postgres: bool, count: int) -> tuple[str, str]:
    if postgres:
        return "", f"FROM generate_series(1, {count}) AS g(n)"
    return f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count}) ", (
        "FROM g"
    )


def _at(postgres: bool, seconds: str) -> str:
    if postgres:
        return f"(TIMESTAMPTZ '{START}+00' + make_interval(secs => ({seconds})))"
    # SQLAlchemy keeps SQLite timestamps with microseconds: compare like with like.
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', '{START}', '+' || ({seconds}) || ' seconds') || '.000000')"
    )


def _day(postgres: bool, days: str) -> str:
    if postgres:
        return f"(DATE '{START[:10]}' + ({days})::int)"
    return f"date('{START[:10]}', '+' || ({days}) || ' days')"


async def seed_history(engine: AsyncEngine, *, items: int, briefings: int, first: int = 1) -> None:
    """`items` feedback items (ids first.. first+items-1, on an empty table or after those
    below `first`) with supporters on one in 37, and `briefings` briefings."""
    postgres = engine.dialect.name == "postgresql"
    created = f"({_mix(1, YEAR_S)})"
    status = (
        "CASE n % 10 WHEN 0 THEN 'new' WHEN 1 THEN 'new' WHEN 2 THEN 'new' WHEN 3 THEN 'now' "
        "WHEN 4 THEN 'later' WHEN 7 THEN 'declined' WHEN 8 THEN 'merged' ELSE 'actioned' END"
    )
    decided_at = _at(postgres, f"{created} + 60 + {_mix(2, 400_000)}")
    decided = f"CASE WHEN n % 10 < 3 THEN NULL ELSE {decided_at} END"
    words = " || ' ' || ".join(_pick(WORDS, _mix(10 + k, 1000)) for k in range(4))
    with_, from_ = _series(postgres, items)
    # Two items in three carry a deal (1,000 to 500,000), in one of CURRENCIES; the kind
    # cycles through KINDS.
    deal = f"CASE WHEN n % 3 = 0 THEN NULL ELSE 1000 * (1 + {_mix(11, 500)}) END"
    currency = f"CASE WHEN n % 3 = 0 THEN NULL ELSE {_pick(CURRENCIES, _mix(12, 1000))} END"
    client = f"({_mix(4, 800)})"
    item_sql = f"""{with_}INSERT INTO feedback_item (id, title, product_sku, product_name, kind,
        client, client_key, deal_value, deal_currency, region_code, urgency, details,
        submitter_platform, submitter_id, status,
        merged_into_id, decided_by, decided_by_platform, decided_at, note, created_at,
        updated_at)
    SELECT n + {first - 1}, 'Item ' || n || ': ' || {words}, {_pick(SKUS, _mix(3, 1000))}, NULL,
        {_pick(KINDS, _mix(13, 1000))}, 'Client ' || {client}, 'client ' || {client}, {deal},
        {currency}, {_pick(REGIONS, _mix(5, 1000))}, 'normal',
        {words} || ' ' || {_pick(WORDS, _mix(20, 1000))}, 'slack', 'U' || ({_mix(6, SUBMITTERS)}),
        {status}, CASE WHEN n % 10 = 8 AND n > 8 THEN n + {first - 1} - 8 END,
        CASE WHEN n % 10 >= 3 THEN 'UPM' || (n % {PMS}) END,
        CASE WHEN n % 10 >= 3 THEN 'slack' END, {decided}, NULL, {_at(postgres, created)},
        {_at(postgres, created)}
    {from_}"""
    last = first + items - 1
    supporter_sql = f"""INSERT INTO feedback_supporter (item_id, user_platform, user_id, client,
        client_key, deal_value, deal_currency, created_at)
    SELECT id, 'slack', 'U' || ((id * 13) % {SUBMITTERS}), 'Other client', 'other client',
        90000, 'USD', created_at
    FROM feedback_item WHERE id BETWEEN {first} AND {last} AND id % 37 = 0"""
    one, other = _pick(REGIONS[:17], _mix(7, 1000)), _pick(REGIONS[:17], _mix(8, 1000))
    second = f"CASE WHEN n % 3 = 0 THEN ',\"' || {other} || '\"' ELSE '' END"
    regions = f"'[\"' || {one} || '\"' || {second} || ']'"
    json_regions = f"CAST({regions} AS json)" if postgres else regions
    with_, from_ = _series(postgres, briefings)
    briefing_sql = f"""{with_}INSERT INTO briefing (pm_platform, pm_id, held_on, regions, team,
        attendees, people, products, shared, deck, minutes, created_at, updated_at)
    SELECT 'slack', 'UPM' || (n % {PMS}), {_day(postgres, _mix(9, 365))}, {json_regions}, NULL,
        {"CAST('[]' AS json)" if postgres else "'[]'"}, 1 + n % 40,
        {"CAST('[]' AS json)" if postgres else "'[]'"}, 'Roadmap', NULL, 15 + n % 90,
        {_at(postgres, "0")}, {_at(postgres, "0")}
    {from_}"""
    async with engine.begin() as conn:
        if items:
            await conn.execute(sa.text(item_sql))
            await conn.execute(sa.text(supporter_sql))
            if postgres:  # ids were given: the sequence goes on after them
                await conn.execute(
                    sa.text(
                        "SELECT setval(pg_get_serial_sequence('feedback_item', 'id'), "
                        "(SELECT max(id) FROM feedback_item))"
                    )
                )
        if briefings:
            await conn.execute(sa.text(briefing_sql))
