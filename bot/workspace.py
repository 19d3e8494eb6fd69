"""Which workspace a request is from: a Slack workspace (in its Grid org) or a Teams tenant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workspace:
    platform: str  # "slack" | "teams" | "console"
    enterprise_id: str | None  # the Slack Grid org; None outside Grid and on Teams
    team_id: str  # the Slack workspace ("" for an org-wide request naming none); Teams: tenant
