"""On Teams the workspace is the tenant: what an activity writes to the outbox keeps the
tenant it came from (bot.workspace), as Slack's rows keep their workspace."""

from __future__ import annotations

import sqlalchemy as sa

from tests.handlers.teams.conftest import PM_AAD, TeamsDriver


async def test_outbox_rows_keep_the_tenant_of_the_activity(teams: TeamsDriver) -> None:
    await teams.say(
        "<at>Salesbridge</at> use this channel for triage", conversation_type="channel", user=PM_AAD
    )
    values = {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": "Acme Corp",
        "urgency": "high",
        "details": "Acme needs SAML single sign-on before renewal",
    }
    status, _ok = await teams.execute("feedback.submit", values)
    assert status == 200
    async with teams.services.engine.connect() as conn:
        rows = (
            await conn.execute(sa.text("SELECT platform, enterprise_id, team_id FROM outbox"))
        ).all()
    assert rows and {tuple(r) for r in rows} == {("teams", None, "tenant-1")}
