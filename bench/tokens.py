"""Forged-token flood against /api/messages with tokens checked: how long a real Teams user
waits while 100 tokens naming unseen key ids arrive at once, the key endpoint answering in
2 s (a fake on loopback). Baseline: the same real request with no flood, in the same run.

    python -m bench.tokens [--forged 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from store import migrate
from tests.handlers.teams.conftest import TeamsDriver, start
from tests.handlers.teams.test_tokens import APP_ID, FakeKeys


async def run(forged: int, rounds: int) -> dict[str, Any]:
    from microsoft_agents.authentication.msal import MsalAuth

    async def outbound_token(*_args: Any, **_kwargs: Any) -> str:
        return "outbound-token"  # no internet: the bot's own connector token is not needed

    MsalAuth.get_access_token = outbound_token  # type: ignore[method-assign]
    keys = FakeKeys()
    await keys.start()
    db = Path(tempfile.mkdtemp()) / "tokens.db"
    url = f"sqlite+aiosqlite:///{db}"
    from store.db import make_engine

    engine = make_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    server, services, connector = await start(
        url,
        microsoft_app_id=APP_ID,
        microsoft_app_password="x",
        microsoft_app_tenant_id="tenant-1",
        teams_openid_metadata_url=keys.openid_url,
        teams_loopback_service_urls=True,
    )
    other = rsa.generate_private_key(65537, 2048)
    quiet: list[float] = []
    flooded: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=forged + 10)) as http:
        driver = TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
        activity = {
            **driver.activity(text="product widget pro in oz"),
            "deliveryMode": "expectReplies",
        }

        async def real() -> float:
            token = keys.token(connector.url)
            began = time.perf_counter()
            status, _ = await driver.post(activity, headers={"Authorization": f"Bearer {token}"})
            assert status == 200, status
            return time.perf_counter() - began

        await real()  # the first request fetches the keys (2 s): not counted
        for _ in range(rounds):
            quiet.append(await real())
            flood = [
                driver.post(
                    activity,
                    headers={
                        "Authorization": "Bearer "
                        + keys.token(connector.url, key=other, kid=uuid.uuid4().hex)
                    },
                )
                for _ in range(forged)
            ]
            tasks = [asyncio.ensure_future(f) for f in flood]
            await asyncio.sleep(0)  # the flood is on the wire first
            flooded.append(await real())
            statuses = {s for s, _ in await asyncio.gather(*tasks)}
            assert statuses == {401}, statuses
    await server.close()
    await connector.close()
    assert keys.server is not None
    await keys.server.close()
    return {
        "forged per round": forged,
        "rounds": rounds,
        "key fetches (the first, then for every flood)": keys.fetches,
        "real request, no flood: median ms": round(statistics.median(quiet) * 1000, 1),
        "real request during a flood: median ms": round(statistics.median(flooded) * 1000, 1),
        "real request during a flood: max ms": round(max(flooded) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--forged", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name, value in asyncio.run(run(args.forged, args.rounds)).items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
