"""bench/history.py runs end to end (SQLite, a small history): every operation it times
answers, a decision among them, so the benchmark cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

from bench.history import OPS, measure


async def test_history_bench_times_every_operation(tmp_path: Path) -> None:
    got = await measure(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", 200, 2, True)
    assert set(got) == set(OPS)
