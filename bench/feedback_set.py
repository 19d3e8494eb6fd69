"""A generated history of feedback items (texts drawn from a Zipf-like vocabulary, some near
duplicates), written straight into the tables with their word index, for the similarity
tests and timings."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.feedback_repo import index_words
from store.models import FeedbackItemRow

_item_t = FeedbackItemRow.__table__  # type: ignore[attr-defined]
COMMON_WORDS = (
    "the a to for and of in on with is it they we client needs wants before after "
    "their our this that more not can be by from at asked renewal deal team"
).split()
SYLLABLES = "ka ro mi ne ta lo vi sa pe ru zo fa di ko la me tri vo xa sen dor lin mar".split()
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Seeded:
    products: tuple[tuple[str, str], ...]  # (sku, name)
    texts: tuple[tuple[int, str | None, str], ...]  # (id, sku, details) of every item


def vocabulary(n: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4)))))
    return sorted(words)


def sentence(rng: random.Random, vocab: Sequence[str], weights: Sequence[float]) -> str:
    """8-30 words: common words, and domain words drawn with Zipf-like weights."""
    n = rng.randint(8, 30)
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            out.append(rng.choice(COMMON_WORDS))
        else:
            out.append(rng.choices(vocab, weights)[0])
    return " ".join(out).capitalize() + "."


def variant(text: str, rng: random.Random, vocab: Sequence[str]) -> str:
    """The same ask in other words: some words dropped, swapped or replaced."""
    words = text.rstrip(".").split()
    kept = [w for w in words if rng.random() > 0.2] or words[:1]
    for _ in range(rng.randint(0, 2)):
        kept.insert(rng.randrange(len(kept) + 1), rng.choice(vocab))
    if len(kept) > 3 and rng.random() < 0.5:
        i = rng.randrange(len(kept) - 1)
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return " ".join(kept) + "."


async def seed(
    engine: AsyncEngine,
    items: int,
    *,
    products: int = 40,
    open_share: float = 0.5,
    vocab_size: int = 3000,
    seed_value: int = 17,
) -> Seeded:
    """`items` items (`open_share` of them open, an eighth not product-specific, a fifth
    near-duplicates of an earlier one), ids 1..items, on an empty feedback table."""
    rng = random.Random(seed_value)
    vocab = vocabulary(vocab_size, rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    names = vocabulary(products * 2, rng)
    catalog = tuple(
        (f"P{i:04d}", f"{names[2 * i].capitalize()} {names[2 * i + 1].capitalize()}")
        for i in range(products)
    )
    texts: list[tuple[int, str | None, str]] = []
    batch: list[dict[str, object]] = []
    words: list[tuple[int, str | None, str]] = []

    async def flush() -> None:
        async with engine.begin() as conn:
            if batch:
                await conn.execute(sa.insert(_item_t), batch)
            await index_words(conn, words)
        batch.clear()
        words.clear()

    for item_id in range(1, items + 1):
        if texts and rng.random() < 0.2:
            _, sku, earlier = texts[rng.randrange(len(texts))]
            details = variant(earlier, rng, vocab)
        else:
            sku = None if rng.random() < 0.125 else rng.choice(catalog)[0]
            details = sentence(rng, vocab, weights)
        name = dict(catalog).get(sku or "")
        title = (f"{name}: " if name else "") + details
        title = title if len(title) <= 120 else title[:119].rstrip() + "…"
        status = "new" if rng.random() < open_share else rng.choice(("declined", "actioned"))
        at = START + dt.timedelta(minutes=7 * item_id)
        texts.append((item_id, sku, details))
        batch.append(
            {
                "id": item_id,
                "title": title,
                "product_sku": sku,
                "product_name": name,
                "kind": "feature_request",
                "client": f"Client {item_id % 997}",
                "urgency": "normal",
                "details": details,
                "submitter_platform": "slack",
                "submitter_id": f"U{item_id % 500:05d}",
                "status": status,
                "created_at": at,
                "updated_at": at,
            }
        )
        if status == "new":
            words.append((item_id, sku, f"{title} {details}"))
        if len(batch) >= 2000:
            await flush()
    await flush()
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:  # ids were given: later inserts continue after them
            await conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('feedback_item', 'id'), :n)"),
                {"n": items},
            )
            await conn.execute(sa.text("ANALYZE"))
    return Seeded(catalog, tuple(texts))
