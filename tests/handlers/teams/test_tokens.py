"""Forged Teams tokens cannot slow real users down: a fake OpenID/JWKS endpoint on loopback
(its key set answers in 2 s), 100 forged tokens at once, then a real token signed with the
key the fake publishes. Asserted on the number of key fetches and on the real request's
answer, not on wall-clock time (bench/tokens.py measures that)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.app import Services
from tests.fakes import FakeConnector
from tests.handlers.teams.conftest import TeamsDriver, start

APP_ID = "11111111-2222-3333-4444-555555555555"
ISSUER = "https://api.botframework.com"
KID = "real-key-1"


@dataclass
class FakeKeys:
    """OpenID metadata and a JWKS on loopback, slow on purpose, counting key-set fetches."""

    delay: float = 2.0
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    fetches: int = 0
    server: TestServer | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/openid", self._openid)
        app.router.add_get("/keys", self._keys)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        assert self.server is not None
        await self.server.close()

    @property
    def openid_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/openid"))

    async def _openid(self, _request: web.Request) -> web.Response:
        assert self.server is not None
        return web.json_response({"issuer": ISSUER, "jwks_uri": str(self.server.make_url("/keys"))})

    async def _keys(self, _request: web.Request) -> web.Response:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return web.json_response({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]})

    def token(self, service_url: str, *, kid: str = KID, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": APP_ID,
            "exp": now + 600,
            "nbf": now - 10,
            "serviceurl": service_url,
            **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def keys() -> AsyncIterator[FakeKeys]:
    fake = FakeKeys()
    await fake.start()
    yield fake
    await fake.close()


async def start_secured(
    db_url: str, keys: FakeKeys, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> tuple[TestServer, Services, FakeConnector]:
    """A server with a real app id, checking tokens against `keys`, its replies sent to a
    fake connector on loopback."""
    from microsoft_agents.authentication.msal import MsalAuth

    async def outbound_token(*_args: Any, **_kwargs: Any) -> str:
        return "outbound-token"  # the bot's own token for the connector: no internet here

    monkeypatch.setattr(MsalAuth, "get_access_token", outbound_token)
    return await start(
        db_url,
        microsoft_app_id=APP_ID,
        microsoft_app_password="not-a-real-secret",
        teams_openid_metadata_url=keys.openid_url,
        teams_loopback_service_urls=True,  # the fake connector
        **overrides,
    )


@pytest.fixture
async def secured(
    db_url: str, engine: AsyncEngine, keys: FakeKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start_secured(
        db_url, keys, monkeypatch, microsoft_app_tenant_id="tenant-1"
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
        yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    await server.close()
    await connector.close()


def _question(driver: TeamsDriver) -> dict[str, Any]:
    # expectReplies: the answer comes back in the response (no outbound token needed).
    return {**driver.activity(text="product widget pro in oz"), "deliveryMode": "expectReplies"}


def _fetches(services: Services) -> int:
    return int(services.teams_parts().validator._jwk_client_manager.fetches)


async def test_a_real_token_is_answered_after_a_flood_of_forged_ones(
    secured: TeamsDriver, keys: FakeKeys, caplog: pytest.LogCaptureFixture
) -> None:
    url = secured.connector.url
    activity = _question(secured)

    async def post(token: str) -> int:
        return (await secured.post(activity, headers={"Authorization": f"Bearer {token}"}))[0]

    # Tokens that no key could make valid are refused before any key is fetched.
    other = rsa.generate_private_key(65537, 2048)
    hopeless = [
        keys.token(url, key=other, iss="https://evil.example.com"),
        keys.token(url, key=other, aud="someone-else"),
        keys.token(url, key=other, exp=int(time.time()) - 3600),
        jwt.encode({"iss": ISSUER, "aud": APP_ID}, "s" * 32, algorithm="HS256"),
        "a.b",
        "x" * 7_000,
    ]
    assert set(await asyncio.gather(*(post(t) for t in hopeless))) == {401}
    headers = {"Authorization": "Bearer " + "x" * 20_000}  # over aiohttp's header-line limit
    async with secured.http.post(
        secured.base + "/api/messages", json=activity, headers=headers
    ) as r:
        assert r.status == 400
    assert keys.fetches == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

    # 100 plausible forgeries, each naming a key id never seen, all at once.
    forged = [keys.token(url, key=other, kid=uuid.uuid4().hex) for _ in range(100)]
    assert set(await asyncio.gather(*(post(t) for t in forged))) == {401}
    assert keys.fetches == 1  # one fetch for all of them (the SDK alone: one each, in turn)

    # The real user: answered from the cached keys, without another fetch.
    status, body = await secured.post(
        activity, headers={"Authorization": f"Bearer {keys.token(url)}"}
    )
    assert status == 200, body
    [reply] = body["activities"]
    assert reply["text"] == "Widget Pro: Available in Australia"
    assert keys.fetches == 1 and _fetches(secured.services) == 1

    # Another flood later in the same minute: refused at once, no further fetch.
    more = [keys.token(url, key=other, kid=uuid.uuid4().hex) for _ in range(50)]
    assert set(await asyncio.gather(*(post(t) for t in more))) == {401}
    assert keys.fetches == 1


async def test_a_forged_signature_with_the_real_key_id_is_refused(
    secured: TeamsDriver, keys: FakeKeys
) -> None:
    other = rsa.generate_private_key(65537, 2048)
    forged = keys.token(secured.connector.url, key=other)  # the real kid, the wrong key
    status, _ = await secured.post(
        _question(secured), headers={"Authorization": f"Bearer {forged}"}
    )
    assert status == 401 and secured.connector.posted == []
    # A token for another serviceUrl than the activity's is refused too.
    elsewhere = keys.token("https://smba.trafficmanager.net/amer/")
    status, _ = await secured.post(
        _question(secured), headers={"Authorization": f"Bearer {elsewhere}"}
    )
    assert status == 401


async def test_the_key_budget_refills_after_a_minute() -> None:
    from handlers.teams.tokens import SigningKeys, TokenRefused

    now = [1000.0]
    keys = SigningKeys(min_interval=10.0, per_minute=3, clock=lambda: now[0])
    fetched: list[float] = []

    async def fetch(_uri: str) -> None:
        fetched.append(now[0])

    keys._fetch = fetch  # type: ignore[method-assign]
    for step in range(12):  # an unknown key id every 5 s for a minute
        with pytest.raises(TokenRefused):
            await keys.get_signing_key("https://keys", {"kid": f"k{step}"})
        now[0] += 5.0
    assert len(fetched) == 3  # at most 3 a minute, at least 10 s apart
    assert all(b - a >= 10.0 for a, b in itertools.pairwise(fetched))
    now[0] += 60.0
    with pytest.raises(TokenRefused):
        await keys.get_signing_key("https://keys", {"kid": "later"})
    assert len(fetched) == 4
