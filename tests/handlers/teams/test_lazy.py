"""Without MICROSOFT_APP_ID the Agents SDK is loaded on the first Teams activity, not at
start-up (about a second and ~25 MB a Slack-only install never needs)."""

from __future__ import annotations

import subprocess
import sys

from tests.handlers.teams.conftest import TeamsDriver

PROBE = """
import sys
from handlers.app import build_services, create_app
from handlers.config import Settings
settings = Settings(database_url="sqlite+aiosqlite:///:memory:")
create_app(settings, build_services(settings))
print(sorted(m for m in sys.modules if m.startswith("microsoft_agents")))
"""


def test_serving_does_not_load_the_agents_sdk_until_teams_is_used() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


async def test_the_first_activity_builds_the_teams_parts(teams: TeamsDriver) -> None:
    assert teams.services.teams is None
    status, _ = await teams.say("widget pro in australia")
    assert status in (200, 202)  # the reply goes to the connector
    assert teams.services.teams is not None
    built = teams.services.teams
    await teams.say("widget lite in japan")
    assert teams.services.teams is built  # once
