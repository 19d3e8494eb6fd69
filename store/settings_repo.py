"""Workspace settings and their change log (bot.settings.SettingsStore), with the
announcement of each change written in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.ports import Notification
from bot.settings import SettingChange, Stored
from bot.types import UserRef
from bot.workspace import Workspace
from store.feedback_repo import insert_notifications
from store.models import SettingChangeRow, WorkspaceSettingsRow

_ws_t = WorkspaceSettingsRow.__table__  # type: ignore[attr-defined]
_change_t = SettingChangeRow.__table__  # type: ignore[attr-defined]


def _where(workspace: Workspace) -> Any:
    return sa.and_(
        _ws_t.c.platform == workspace.platform,
        _ws_t.c.enterprise_id == (workspace.enterprise_id or ""),
        _ws_t.c.team_id == workspace.team_id,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class SqlSettings:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self, workspace: Workspace) -> Stored | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(_ws_t.c.overrides, _ws_t.c.version).where(_where(workspace))
                )
            ).first()
        return None if row is None else Stored(dict(row.overrides or {}), int(row.version))

    async def save(
        self,
        *,
        workspace: Workspace,
        values: Mapping[str, Any],
        expected_version: int,
        changes: Sequence[SettingChange],
        notifications: Sequence[Notification],
    ) -> int | None:
        at = changes[0].at if changes else dt.datetime.now(dt.UTC)
        try:
            async with self.engine.begin() as conn:
                row_id = await self._write(conn, workspace, dict(values), expected_version, at)
                if row_id is None:
                    return None
                if changes:
                    await conn.execute(
                        sa.insert(_change_t),
                        [
                            {
                                "workspace_id": row_id,
                                "key": c.key,
                                "old": c.old,
                                "new": c.new,
                                "by_platform": c.by.platform,
                                "by_id": c.by.id,
                                "via": c.via,
                                "at": c.at,
                            }
                            for c in changes
                        ],
                    )
                await insert_notifications(conn, notifications, at=at)
        except sa.exc.IntegrityError:  # another process stored this workspace's first save
            return None
        return expected_version + 1

    @staticmethod
    async def _write(
        conn: AsyncConnection,
        workspace: Workspace,
        values: dict[str, Any],
        expected: int,
        at: dt.datetime,
    ) -> int | None:
        """The row's id once written at version expected + 1; None if it is not at
        `expected` any more (a conditional UPDATE: two saves from one version, one wins)."""
        if expected == 0:
            inserted = await conn.execute(
                sa.insert(_ws_t)
                .values(
                    platform=workspace.platform,
                    enterprise_id=workspace.enterprise_id or "",
                    team_id=workspace.team_id,
                    overrides=values,
                    version=1,
                    updated_at=at,
                )
                .returning(_ws_t.c.id)
            )
            return int(inserted.scalar_one())
        updated = await conn.execute(
            sa.update(_ws_t)
            .where(_where(workspace), _ws_t.c.version == expected)
            .values(overrides=values, version=expected + 1, updated_at=at)
            .returning(_ws_t.c.id)
        )
        got = updated.scalar_one_or_none()
        return None if got is None else int(got)

    async def changes(self, workspace: Workspace, *, limit: int = 50) -> list[SettingChange]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_change_t)
                .join(_ws_t, _ws_t.c.id == _change_t.c.workspace_id)
                .where(_where(workspace))
                .order_by(_change_t.c.id.desc())
                .limit(limit)
            )
            return [
                SettingChange(
                    r.key,
                    r.old,
                    r.new,
                    UserRef(r.by_platform, r.by_id),
                    _aware(r.at),
                    r.via,
                )
                for r in rows
            ]

    async def workspaces(self, platform: str, *, limit: int = 100) -> list[Workspace]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(_ws_t.c.enterprise_id, _ws_t.c.team_id)
                .where(_ws_t.c.platform == platform)
                .order_by(_ws_t.c.id)
                .limit(limit)
            )
            return [Workspace(platform, r.enterprise_id or None, r.team_id) for r in rows]
