"""Slack installations (OAuth, many workspaces and Grid orgs) and OAuth states, kept in our
database through slack_sdk's own async SQLAlchemy stores on our engine.

Two things are added to them. A Grid org installed org-wide answers for every workspace of
the org, also when a request names the workspace (its outbox messages do). And a state is
consumed by one DELETE: slack_sdk's store selects the row, then deletes it, so two
callbacks carrying the same state at once could both pass.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # an install link is good for ten minutes
# Expired states dropped at most per issue or callback: /slack/install is open to anyone, so
# each call both adds a row and clears up to this many dead ones, in a short transaction.
PURGE_BATCH = 100


class SlackInstallations(AsyncSQLAlchemyInstallationStore):
    """Keys are (enterprise_id, team_id) as Slack gives them; a workspace of a Grid org with
    no installation of its own is answered by the org's org-wide one, never by another
    workspace's."""

    def __init__(self, client_id: str, engine: AsyncEngine) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        enterprise_id, team_id = enterprise_id or None, team_id or None  # "" names nothing
        found = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if found is None and enterprise_id is not None and team_id is not None:
            org = await super().async_find_bot(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
            return org if org is not None and org.is_enterprise_install else None
        return found

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        enterprise_id, team_id = enterprise_id or None, team_id or None
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        if found is None and enterprise_id is not None and team_id is not None:
            org = await super().async_find_installation(
                enterprise_id=enterprise_id,
                team_id=None,
                user_id=user_id,
                is_enterprise_install=True,
            )
            return org if org is not None and org.is_enterprise_install else None
        return found

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Everything kept for one workspace or org (its uninstall), in one transaction."""
        async with self.engine.begin() as conn:
            for table in (self.bots, self.installations):
                c = table.c
                await conn.execute(
                    table.delete().where(
                        c.client_id == self.client_id,
                        c.enterprise_id == enterprise_id,
                        c.team_id == team_id,
                    )
                )

    async def sole(self) -> tuple[str | None, str | None] | None:
        """The one installation whose token reaches every workspace the app is in, if there
        is one: the only workspace or org installed, or a Grid org's org-wide installation
        when every other one is a workspace of that org. Messages written outside any request
        go there; with workspaces apart (two teams, two orgs) there is none."""
        c = self.bots.c
        mine = sa.and_(c.client_id == self.client_id, c.bot_token.is_not(None))
        keys = sa.select(c.enterprise_id, c.team_id).where(mine).distinct().limit(2)
        orgs = sa.select(c.enterprise_id).where(mine).distinct().limit(2)
        async with self.engine.connect() as conn:
            found = [(r[0], r[1]) for r in await conn.execute(keys)]
            if len(found) < 2:
                return found[0] if found else None
            (org,), *others = [tuple(r) for r in await conn.execute(orgs)]
            if org is None or others:
                return None
            org_wide = sa.select(c.id).where(
                mine, c.enterprise_id == org, c.team_id.is_(None), c.is_enterprise_install
            )
            return (org, None) if await conn.scalar(org_wide.limit(1)) is not None else None

    async def workspaces(self) -> list[tuple[str | None, str]]:
        """Every workspace installed on its own (enterprise id, team id), with a bot token;
        an org-wide Grid installation names no workspace, its workspaces are found by
        their own requests."""
        c = self.bots.c
        query = (
            sa.select(c.enterprise_id, c.team_id)
            .where(c.client_id == self.client_id, c.bot_token.is_not(None), c.team_id.is_not(None))
            .distinct()
        )
        async with self.engine.connect() as conn:
            found = [(r[0], str(r[1])) for r in await conn.execute(query)]
        return sorted(found, key=lambda k: (k[0] or "", k[1]))

    async def count(self) -> int:
        """How many workspaces and orgs have a bot installed (for logs and tests)."""
        c = self.bots.c
        query = sa.select(sa.func.count(sa.distinct(sa.func.coalesce(c.team_id, c.enterprise_id))))
        async with self.engine.connect() as conn:
            return int(await conn.scalar(query.where(c.client_id == self.client_id)) or 0)


class SlackStates(AsyncSQLAlchemyOAuthStateStore):
    """OAuth states: issued for one install, good once, until they expire."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = STATE_SECONDS) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, logger=log)

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        """A fresh state; expired ones of anyone are dropped on the way (a few at a time),
        so a flood of install links leaves only those still good."""
        await self._purge()
        return await super().async_issue(*args, **kwargs)

    async def async_consume(self, state: str) -> bool:
        """True once for a state we issued and that has not expired; False for anything else
        (forged, replayed, expired), and then nothing is changed."""
        await self._purge()
        if not isinstance(state, str) or not state or len(state) > 200:
            return False
        c = self.oauth_states.c
        async with self.engine.begin() as conn:
            done = await conn.execute(
                self.oauth_states.delete().where(c.state == state, c.expire_at > _now())
            )
        return bool(done.rowcount)

    async def _purge(self) -> None:
        c = self.oauth_states.c
        # SKIP LOCKED (PostgreSQL; SQLite writes one at a time): concurrent purges take
        # different rows rather than waiting on, or deadlocking with, each other.
        stale = (
            sa.select(c.id)
            .where(c.expire_at <= _now())
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        async with self.engine.begin() as conn:
            await conn.execute(self.oauth_states.delete().where(c.id.in_(stale.scalar_subquery())))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)  # the column is naive UTC
