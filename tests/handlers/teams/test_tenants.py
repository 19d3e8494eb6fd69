"""On Teams the workspace is the tenant: what an activity writes to the outbox keeps the
tenant it came from (bot.workspace), as Slack's rows keep their workspace; a multi-tenant
bot keeps each tenant's conversations (its people's chats, its triage channel) apart and
sends each tenant's messages to that tenant's own, through its own serviceUrl, its coverage
cards counted against its own settings."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.outbox import Failed, OutboxMessage, Sent
from bot.payloads import Coverage
from bot.workspace import SHARED, Workspace
from handlers.app import Services, periodic
from handlers.teams.keys import TRIAGE_KEY, user_key
from handlers.teams.notifier import NO_TENANT
from store.conversations import SqlConversations
from store.settings_repo import SqlSettings
from store.updates_repo import SqlUpdatesRepository
from tests.fakes import FakeConnector
from tests.handlers.slack.test_links_settings import CATALOG
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver
from tests.handlers.teams.test_approvals import approval_cards, request
from tests.handlers.teams.test_settings import ADMIN_AAD, settings_card, submitted
from tests.handlers.teams.test_teams import card_of, eventually
from tests.handlers.teams.test_tokens import FakeKeys, start_secured

A, B = "tenant-a", "tenant-b"
FEEDBACK = {
    "product": "WDG-PRO",
    "kind": "feature_request",
    "client": "Acme Corp",
    "urgency": "high",
    "details": "Acme needs SAML single sign-on before renewal",
}


async def test_outbox_rows_keep_the_tenant_of_the_activity(teams: TeamsDriver) -> None:
    await teams.say(
        "<at>Salesbridge</at> use this channel for triage", conversation_type="channel", user=PM_AAD
    )
    status, _ok = await teams.execute("feedback.submit", FEEDBACK)
    assert status == 200
    async with teams.services.engine.connect() as conn:
        rows = (
            await conn.execute(sa.text("SELECT platform, enterprise_id, team_id FROM outbox"))
        ).all()
    assert rows and {tuple(r) for r in rows} == {("teams", None, "tenant-1")}


@dataclass
class Tenant(TeamsDriver):
    """Teams as one tenant sees it: its activities name the tenant, come from its own
    connector (serviceUrl) and carry a token the fake issuer signed for that serviceUrl."""

    tenant: str = "tenant-1"

    def activity(self, **kw: Any) -> dict[str, Any]:
        out = super().activity(**kw)
        out["conversation"]["tenantId"] = self.tenant
        out["channelData"] = {"tenant": {"id": self.tenant}}
        return out


@dataclass
class Deployment:
    services: Services
    tenants: dict[str, Tenant]

    async def deliver(self, target: str, *, team_id: str | None, kind: str = "dm") -> Any:
        digest = {"type": "digest", "title": "Changes", "lines": [f"for {team_id}"]}
        message = OutboxMessage(
            1, f"k:{target}", "teams", kind, target, digest, attempts=1, team_id=team_id
        )
        return await self.services.teams_parts().deliver(message)


@pytest.fixture
async def keys() -> AsyncIterator[FakeKeys]:
    fake = FakeKeys(delay=0.0)  # the key set at once: the tenants' tests are not about it
    await fake.start()
    yield fake
    await fake.close()


async def deployment(
    db_url: str, keys: FakeKeys, monkeypatch: pytest.MonkeyPatch, **settings: Any
) -> AsyncIterator[Deployment]:
    """A bot with a real app id (tokens checked) and two tenants, each with its connector."""
    server, services, first = await start_secured(
        db_url, keys, monkeypatch, admins=frozenset({ADMIN_AAD}), **settings
    )
    second = FakeConnector()
    await second.start()
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        tenants = {
            name: Tenant(
                base,
                http,
                connector,
                services,
                {"Authorization": f"Bearer {keys.token(connector.url)}"},
                tenant=name,
            )
            for name, connector in ((A, first), (B, second))
        }
        yield Deployment(services, tenants)
    await server.close()
    await first.close()
    await second.close()


@pytest.fixture
async def multi(
    db_url: str, engine: AsyncEngine, keys: FakeKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Deployment]:
    async for one in deployment(db_url, keys, monkeypatch, microsoft_app_type="MultiTenant"):
        yield one


@pytest.fixture
async def single(
    db_url: str, engine: AsyncEngine, keys: FakeKeys, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Deployment]:
    async for one in deployment(db_url, keys, monkeypatch, microsoft_app_tenant_id=A):
        yield one


async def set_up(tenant: Tenant) -> None:
    """A PM picks the tenant's triage channel, and a sales rep says hello in personal chat."""
    status, _ = await tenant.say(
        "<at>Salesbridge</at> use this channel for triage", conversation_type="channel", user=PM_AAD
    )
    assert status in (200, 201, 202)
    assert tenant.connector.messages(CHANNEL)[-1].body["text"] == (
        "This channel now receives feedback for triage."
    )
    await tenant.say("help", user=SALES_AAD)


def texts(connector: FakeConnector, conversation: str) -> str:
    return json.dumps([p.body for p in connector.messages(conversation)])


async def test_each_tenant_s_triage_card_and_dm_go_to_its_own_conversations(
    multi: Deployment,
) -> None:
    a, b = multi.tenants[A], multi.tenants[B]
    for tenant in (a, b):  # the same user and channel ids in both tenants
        await set_up(tenant)
    async with multi.services.engine.connect() as conn:
        stored = await conn.execute(sa.text("SELECT scope, key FROM conversation_ref"))
        assert sorted(tuple(r) for r in stored) == sorted(
            (f"teams::{t}", k) for t in (A, B) for k in (TRIAGE_KEY, user_key(SALES_AAD))
        )

    # Feedback from A's rep: its triage card reaches A's channel, through A's connector.
    status, _ = await a.execute("feedback.submit", FEEDBACK, user=SALES_AAD)
    assert status == 200
    await eventually(lambda: "triage.now" in texts(a.connector, CHANNEL))
    assert "triage.now" not in texts(b.connector, CHANNEL)

    # A's PM decides it: the DM reaches A's rep, in A's chat; B's rep hears nothing.
    [card] = [p for p in a.connector.messages(CHANNEL) if "triage.now" in json.dumps(p.body)]
    item = next(x for x in card_of(card.body)["actions"] if x["verb"] == "triage.now")
    press = {"value": item["data"]["value"], "note": "On the Q1 plan"}
    _, decided = await a.execute("triage.now", press, user=PM_AAD, conversation_type="channel")
    assert "Act now" in json.dumps(decided)
    dm = f"a:dm-{SALES_AAD}"
    await eventually(lambda: "Product will act on it now" in texts(a.connector, dm))
    assert "Product will act on it now" not in texts(b.connector, dm)

    # And B's feedback reaches B's triage channel only.
    before = texts(a.connector, CHANNEL)
    other = {"product": "LDG-SYNC", "client": "Beta Ltd", "details": "Sync stalls on big files"}
    await b.execute("feedback.submit", {**FEEDBACK, **other}, user=SALES_AAD)
    await eventually(lambda: "Beta Ltd" in texts(b.connector, CHANNEL))
    assert texts(a.connector, CHANNEL) == before


async def test_a_row_is_sent_in_its_own_tenant_never_another_s(multi: Deployment) -> None:
    a, b = multi.tenants[A], multi.tenants[B]
    await set_up(a)
    # Only A uses the bot: a row written outside any request can only be A's.
    assert isinstance(await multi.deliver(SALES_AAD, team_id=None), Sent)
    assert "for None" in texts(a.connector, f"a:dm-{SALES_AAD}")
    # B's rows find nothing of A's, though the user id and the role key are the same.
    for target, kind in ((SALES_AAD, "dm"), ("triage", "post")):
        missed = await multi.deliver(target, team_id=B, kind=kind)
        assert isinstance(missed, Failed) and "no conversation stored" in missed.error
    await set_up(b)
    for tenant in (A, B):
        assert isinstance(await multi.deliver(SALES_AAD, team_id=tenant), Sent)
        assert isinstance(await multi.deliver("triage", team_id=tenant, kind="post"), Sent)
    for name, tenant in multi.tenants.items():
        other = B if name == A else A
        for conversation in (f"a:dm-{SALES_AAD}", CHANNEL):
            assert f"for {name}" in texts(tenant.connector, conversation)
            assert f"for {other}" not in texts(tenant.connector, conversation)
    # With two tenants in use, a row that names none is sent to neither.
    posted = len(a.connector.posted) + len(b.connector.posted)
    assert await multi.deliver(SALES_AAD, team_id=None) == Failed(NO_TENANT)
    assert len(a.connector.posted) + len(b.connector.posted) == posted


async def test_a_tenant_s_settings_change_is_told_in_its_own_triage_channel(
    multi: Deployment,
) -> None:
    a, b = multi.tenants[A], multi.tenants[B]
    for tenant in (a, b):
        await set_up(tenant)
    card = await settings_card(a, ADMIN_AAD)
    status, _ = await a.execute(
        "settings.save", submitted(card, default_briefing_target="4"), user=ADMIN_AAD
    )
    assert status == 200
    await eventually(lambda: "Settings changed" in texts(a.connector, CHANNEL))
    assert "Settings changed" not in texts(b.connector, CHANNEL)
    # In effect in A only: B's admin still sees the environment's target.
    for tenant, target in ((a, "4"), (b, "1")):
        card = await settings_card(tenant, ADMIN_AAD)
        [shown] = [el for el in card["body"] if el.get("id") == "default_briefing_target"]
        assert str(shown["value"]) == target, tenant.tenant


async def test_an_approval_request_goes_to_its_tenant_s_triage_and_its_answer_to_its_rep(
    multi: Deployment,
) -> None:
    a, b = multi.tenants[A], multi.tenants[B]
    for tenant in (a, b):
        await set_up(tenant)
    await request(a)  # the rule's contact is a Slack user: the card goes to triage
    await eventually(lambda: len(approval_cards(a)) == 1)
    assert approval_cards(b) == []
    press = {"value": "1"}
    _, done = await a.execute("approval.approve", press, user=PM_AAD, conversation_type="channel")
    assert "Approved: request #1" in json.dumps(done)
    dm = f"a:dm-{SALES_AAD}"
    await eventually(lambda: "approval request #1" in texts(a.connector, dm))
    assert "approval request #1" not in texts(b.connector, dm)


async def test_a_change_made_in_a_tenant_is_announced_in_every_tenant_s_channel(
    multi: Deployment,
) -> None:
    a, b = multi.tenants[A], multi.tenants[B]
    announce = "19:announce@thread.tacv2"
    for tenant in (a, b):
        said = "<at>Salesbridge</at> use this channel for announcements"
        await tenant.say(said, conversation=announce, conversation_type="channel", user=PM_AAD)
    _, form = await a.execute("product.edit", {"value": "WDG-LITE"}, user=PM_AAD)
    rules = next(el for el in form["value"]["body"] if el.get("id") == "availability")
    new_rules = rules["value"].replace("AU: not_available — Not licensed", "AU: available")
    edit = {"lifecycle": "ga", "pricing_band": "A", "availability": new_rules}
    _, saved = await a.execute("product.save", {"state": {"sku": "WDG-LITE"}, **edit}, user=PM_AAD)
    assert "Widget Lite saved." in json.dumps(saved)
    line = "Widget Lite is now Available in Australia"
    # The catalog is every tenant's: each hears it in its own announcements channel, sent
    # with its own conversation reference, through its own connector, once.
    for tenant in (a, b):
        await eventually(lambda tenant=tenant: line in texts(tenant.connector, announce))
    await multi.services.worker.run_once()
    for tenant in (a, b):
        posted = tenant.connector.messages(announce)
        assert len([p for p in posted if line in json.dumps(p.body)]) == 1
    async with multi.services.engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT team_id FROM outbox WHERE kind = 'announce' AND platform = 'teams'")
        )
        assert sorted(r[0] for r in rows) == [A, B]


async def test_a_single_tenant_bot_keeps_one_shared_pool_as_before(single: Deployment) -> None:
    a = single.tenants[A]
    await set_up(a)
    async with single.services.engine.connect() as conn:
        scopes = await conn.execute(sa.text("SELECT DISTINCT scope FROM conversation_ref"))
        assert [r[0] for r in scopes] == [SHARED]
    # Rows with or without the tenant go to the one pool's conversations.
    for team_id in (A, None):
        assert isinstance(await single.deliver(SALES_AAD, team_id=team_id), Sent)
        assert isinstance(await single.deliver("triage", team_id=team_id, kind="post"), Sent)
    assert "for None" in texts(a.connector, CHANNEL) and f"for {A}" in texts(a.connector, CHANNEL)


async def test_each_scope_keeps_its_own_references_under_the_same_key(
    engine: AsyncEngine,
) -> None:
    store = SqlConversations(engine)
    one = Workspace("teams", None, A, isolated=True)
    two = Workspace("teams", None, B, isolated=True)
    for here in (one, two, None):
        with workspace.using(here):
            name = here.team_id if here else "shared"
            assert await store.save(key=TRIAGE_KEY, reference={"conversation": {"id": name}})
            assert await store.save(key="teams:region:APAC", reference={"id": name})
            # The first turn's reference is kept by an unauthenticated one in its own scope.
            assert not await store.save(key=TRIAGE_KEY, reference={"x": 1}, replace=False)
    with workspace.using(one):
        assert await store.save(key=user_key(SALES_AAD), reference={"id": "a-user"})
    for here, name in ((one, A), (two, B), (None, "shared")):
        with workspace.using(here):
            assert await store.get(key=TRIAGE_KEY) == {"conversation": {"id": name}}
            assert await store.keys(prefix="teams:region:") == ["teams:region:APAC"]
    with workspace.using(two):
        assert await store.get(key=user_key(SALES_AAD)) is None
    with workspace.using(one):
        assert await store.get(key=user_key(SALES_AAD)) == {"id": "a-user"}
        assert await store.save(key=TRIAGE_KEY, reference={"conversation": {"id": "new"}})
    with workspace.using(two):
        assert await store.get(key=TRIAGE_KEY) == {"conversation": {"id": B}}
    assert await store.scopes(limit=5) == [SHARED, one.scope, two.scope]
    assert await store.scopes() == [SHARED, one.scope]


async def test_each_tenant_gets_its_own_weekly_gap_list_in_its_own_channel(
    multi: Deployment,
) -> None:
    """The worker's weekly pass runs per tenant: each tenant's gap list holds its own
    questions and reaches its own triage channel through its own connector, though both
    channels have the same key (`teams:triage`)."""
    a, b = multi.tenants[A], multi.tenants[B]
    for tenant, asked in ((a, "quantum toaster"), (b, "flux capacitor")):
        await set_up(tenant)
        scope = Workspace("teams", None, tenant.tenant, isolated=True).scope
        await SqlUpdatesRepository(multi.services.engine).record_misses(
            counts=[(scope, asked, "DE", 3)], at=dt.datetime.now(dt.UTC)
        )
    await periodic(multi.services)
    await eventually(lambda: "quantum toaster" in texts(a.connector, CHANNEL))
    await eventually(lambda: "flux capacitor" in texts(b.connector, CHANNEL))
    assert "flux capacitor" not in texts(a.connector, CHANNEL)
    assert "quantum toaster" not in texts(b.connector, CHANNEL)
    sent = texts(a.connector, CHANNEL) + texts(b.connector, CHANNEL)
    await periodic(multi.services)  # the same week again: nothing new
    await asyncio.sleep(0.5)
    assert texts(a.connector, CHANNEL) + texts(b.connector, CHANNEL) == sent


async def test_each_tenant_s_digest_uses_its_own_briefing_target(multi: Deployment) -> None:
    """The weekly digest a tenant's management channel gets, and a coverage card the worker
    computes when it sends it, count against the tenant's own briefing target: the card
    shows the report computed in its settings, not one computed again in the environment's."""
    services = multi.services
    await services.catalog.import_catalog(CATALOG)  # APAC's target: the default
    targets = {A: 7, B: 9}
    for name, target in targets.items():
        await SqlSettings(services.engine).save(
            workspace=Workspace("teams", None, name), values={"default_briefing_target": target},
            expected_version=0, changes=[], notifications=[],
        )  # fmt: skip
        tenant = multi.tenants[name]
        await set_up(tenant)
        status, _ = await tenant.say(
            "<at>Salesbridge</at> use this channel for management reports",
            conversation_type="channel", user=PM_AAD,
        )  # fmt: skip
        assert status in (200, 201, 202)

    def shown(name: str) -> str:
        return "".join(
            json.dumps(p.body) for p in multi.tenants[name].connector.messages(CHANNEL)
            if "Coverage" in json.dumps(p.body)
        )  # fmt: skip

    await periodic(services)
    for name, target in targets.items():
        await eventually(lambda name=name: "Coverage" in shown(name))  # type: ignore[misc]
        other = next(t for n, t in targets.items() if n != name)
        assert f"0 of {target} this quarter" in shown(name)
        assert f"0 of {other} this quarter" not in shown(name)

    # Written without its report (the worker computes it at delivery): the tenant's target.
    for name, target in targets.items():
        before = shown(name)
        computed = OutboxMessage(
            2, f"now:{name}", "teams", "coverage", "management",
            Coverage("this quarter").encode(), attempts=1, team_id=name,
        )  # fmt: skip
        assert isinstance(await services.teams_parts().deliver(computed), Sent)
        added = shown(name).removeprefix(before)
        assert f"0 of {target} this quarter" in added
