"""The scale-out scenario as a test: 2 servers and 2 workers on PostgreSQL, one worker
SIGKILLed mid-run; nothing lost, nothing doubled, both servers see the new catalog."""

from __future__ import annotations

import socket

import pytest

from bench.scaleout import run


def free_ports(n: int) -> tuple[int, int]:
    """Ports nobody holds now: several checkouts may run this suite on one machine at once."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = tuple(s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()
    return ports[0], ports[1]


async def test_scale_out_with_a_killed_worker(pg_database: str | None) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL is not reachable")
    report = await run(20, ports=free_ports(2))
    assert report["outbox rows"] == {"sent": report["outbox rows"]["sent"]}  # none dead
    assert report["DM rows"] == 30  # 20 decisions, 10 subscriber digests
    assert (report["DMs lost"], report["DMs delivered twice"]) == (0, 0)
    assert report["posts with a repeated outbox key"] == 0
    # The kill landed between Slack taking a DM and the worker hearing so, and the worker
    # that took the claim over found that DM instead of posting it again.
    assert report["killed"].endswith("(SIGKILL) after Slack took its DM, before the answer")
    assert report["found already delivered (not re-posted)"] >= 1
    assert report["answers after import"] == ["Widget Lite: Available in Australia"] * 2
    assert report["announcements posted"] == 2
