"""Inbound Bot Framework tokens: a small wrapper around the Agents SDK's JwtTokenValidator
(which still verifies signature, expiry, audience and issuer). Before any key is fetched, a
token that cannot be valid (shape, algorithm, issuer, audience, expiry) is refused; the
signing keys are cached, and a flood of tokens naming unseen key ids triggers at most a few
fetches a minute, one at a time, instead of one each (the SDK's own key client re-fetches
the key set for every unknown key id, serially, so every Teams user waited behind them)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
from microsoft_agents.hosting.core import AgentAuthConfiguration, ClaimsIdentity
from microsoft_agents.hosting.core.authorization import JwtTokenValidator

log = logging.getLogger(__name__)

MAX_TOKEN = 6 * 1024  # Bot Framework tokens are ~1-2 KB
LEEWAY = 300.0  # seconds of clock skew, as the SDK allows
FETCH_TIMEOUT = 10.0


class TokenRefused(jwt.PyJWTError):
    """A token refused without asking for keys (or a key id the keys do not have)."""


def precheck(token: str, config: AgentAuthConfiguration, now: float | None = None) -> None:
    """Refuse what no key could make valid: nothing here needs the network."""
    if len(token) > MAX_TOKEN or token.count(".") != 2:
        raise TokenRefused("not a compact JWT")
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str) or not 0 < len(kid) <= 128:
        raise TokenRefused("algorithm or key id")
    claims = jwt.decode(token, options={"verify_signature": False})
    issuers = {i.lower() for i in config.ISSUERS}
    iss, aud = claims.get("iss"), claims.get("aud")
    if not isinstance(iss, str) or iss.lower() not in issuers:
        raise TokenRefused("issuer")
    if not isinstance(aud, str) or not config.CLIENT_ID or aud.lower() != config.CLIENT_ID.lower():
        raise TokenRefused("audience")
    now = time.time() if now is None else now
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int | float) or exp + LEEWAY < now:
        raise TokenRefused("expired")
    if not isinstance(nbf, int | float) or nbf - LEEWAY > now:
        raise TokenRefused("not yet valid")


class SigningKeys:
    """The key set, fetched at most once per `min_interval` seconds and at most `per_minute`
    times a minute, one fetch at a time (callers needing one wait for the fetch under way).
    Keys are kept `max_age` seconds; an unknown key id past the budget is refused at once.
    The fetch goes to the key set the SDK names for the token's issuer, or to the one an
    OpenID metadata document names (TEAMS_OPENID_METADATA_URL: a fake in tests)."""

    def __init__(
        self,
        *,
        openid_url: str | None = None,
        min_interval: float = 10.0,
        per_minute: int = 3,
        max_age: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._openid_url = openid_url
        self._min_interval = min_interval
        self._per_minute = per_minute
        self._max_age = max_age
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._fetches: deque[float] = deque()  # when each recent fetch started
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many fetches were made (tests, bench)

    async def get_signing_key(self, jwks_uri: str, header: dict[str, Any]) -> jwt.PyJWK:
        """The SDK's key-source interface (JwtTokenValidator calls it for every token)."""
        kid = str(header.get("kid") or "")
        key = self._fresh(kid)
        if key is not None:
            return key
        if not self._may_fetch() and not self._lock.locked():
            raise TokenRefused("unknown key id")
        async with self._lock:  # one fetch at a time; whoever waited may find its key
            key = self._fresh(kid)
            if key is None and self._may_fetch():
                self._fetches.append(self._clock())
                self.fetches += 1
                await self._fetch(jwks_uri)
                key = self._fresh(kid)
        if key is None:
            raise TokenRefused("unknown key id")
        return key

    def _fresh(self, kid: str) -> jwt.PyJWK | None:
        if self._fetched_at is None or self._clock() - self._fetched_at > self._max_age:
            return None
        return self._keys.get(kid)

    def _may_fetch(self) -> bool:
        now = self._clock()
        while self._fetches and now - self._fetches[0] >= 60.0:
            self._fetches.popleft()
        if self._fetches and now - self._fetches[-1] < self._min_interval:
            return False
        return len(self._fetches) < self._per_minute

    async def _fetch(self, jwks_uri: str) -> None:
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                if self._openid_url:
                    async with http.get(self._openid_url) as r:
                        r.raise_for_status()
                        jwks_uri = str((await r.json())["jwks_uri"])
                async with http.get(jwks_uri) as r:
                    r.raise_for_status()
                    keys = jwt.PyJWKSet.from_dict(await r.json())
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            # The keys we had stay (a key endpoint that is away must not lock users out).
            log.warning(
                "could not fetch the token signing keys", extra={"error": type(exc).__name__}
            )
            return
        except jwt.PyJWTError as exc:
            log.warning("the token signing keys were unusable", extra={"error": type(exc).__name__})
            return
        self._keys = {k.key_id: k for k in keys.keys if k.key_id}
        self._fetched_at = self._clock()


class GuardedValidator(JwtTokenValidator):
    """The SDK's validator with `precheck` first and `SigningKeys` as its key source."""

    def __init__(self, configuration: AgentAuthConfiguration, keys: SigningKeys) -> None:
        super().__init__(configuration)
        # The SDK reads keys through this attribute (a shared class-level client by
        # default); ours has the same interface. tests/handlers/teams/test_tokens.py fails
        # (no fake key fetches) if the SDK stops using it.
        self._jwk_client_manager = keys  # type: ignore[assignment]

    async def validate_token(self, token: str) -> ClaimsIdentity:
        precheck(token, self.configuration)
        identity: ClaimsIdentity = await super().validate_token(token)
        return identity
