"""Must-show: platforms never mix. Merging a Slack item into a Teams item refreshes the
Teams card on Teams (never a chat.update with Teams ids); a Teams PM's decision is stored
with its platform and named on Slack by display name; a forged permalink is not kept; a
stored link that is no web address is text, not a link; each platform names a person from
the other by display name; an install looks up and sends to its configured platforms only
(a Teams reference kept in a Slack-only install is not a channel, nor a Slack channel
setting in a Teams-only one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalog import CatalogService
from bot.feedback import Action, Decided, FeedbackService, Settings, Submitted, TriageView
from bot.items import Item, Kind, Status, Urgency
from bot.payloads import decode
from bot.types import UserRef
from handlers.app import Services, build_services, weekly
from handlers.config import Settings as AppSettings
from handlers.slack import blocks
from handlers.slack.notifier import SlackNotifier
from handlers.teams import cards
from handlers.teams.keys import ANNOUNCE_KEY, MANAGEMENT_KEY, REGION_PREFIX, TRIAGE_KEY
from store.feedback_repo import SqlFeedbackRepository, SqlOutbox
from store.people import SqlPeople
from store.repository import SqlRepository
from tests.conftest import demo_text
from tests.fakes import BOT_TOKEN, FakeSlack
from tests.handlers.slack.test_delivery_faults import Clock
from tests.handlers.slack.test_updates import CHANGED

TEAMS_PM = UserRef("teams", "11111111-2222-3333-4444-555555555555")
SLACK_SALES = UserRef("slack", "U0SALES1")
TEAMS_SALES = UserRef("teams", "aaaaaaaa-2222-3333-4444-555555555555")


async def service(engine: AsyncEngine) -> FeedbackService:
    catalog = CatalogService(SqlRepository(engine))
    await catalog.import_catalog(demo_text())
    return FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog,
        clock=Clock(),
        settings=Settings(product_managers=frozenset({TEAMS_PM.id}), triage_channel="C0TRIAGE"),
        people=SqlPeople(engine),
    )


def values(details: str) -> dict[str, str | None]:
    return {
        "product": "WDG-PRO",
        "kind": "feature_request",
        "client": "Acme",
        "details": details,
        "duplicate_of": "new",
    }


async def item(feedback: FeedbackService, user: UserRef, details: str, **kw: str) -> Item:
    made = await feedback.submit(user=user, values=values(details), **kw)  # type: ignore[arg-type]
    assert isinstance(made, Submitted)
    return made.item


async def test_merging_a_slack_item_into_a_teams_item_refreshes_on_teams(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    feedback = await service(engine)
    teams_item = await item(feedback, TEAMS_SALES, "Offline mode for field teams please")
    await feedback.remember_triage_message(teams_item.id, TRIAGE_KEY, "act-teams-1")
    slack_item = await item(feedback, SLACK_SALES, "Works offline on site visits")
    await feedback.remember_triage_message(slack_item.id, "C0TRIAGE", "1700000000.000100")
    merged = await feedback.decide(
        user=TEAMS_PM, item_id=slack_item.id, action=Action.MERGE, merge_into=teams_item.id
    )
    assert isinstance(merged, Decided)
    refreshes = {
        m["dedupe_key"]: m["platform"]
        for m in await SqlOutbox(engine).messages()
        if m["kind"] == "triage" and ":triage:merged" in m["dedupe_key"]
    }
    assert refreshes == {  # each card refreshed where it lives
        f"fb:{teams_item.id}:triage:merged:{slack_item.id}": "teams",
        f"fb:{slack_item.id}:triage:merged": "slack",
    }
    # Even handed a Teams card, the Slack notifier sends nothing with Teams ids.
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, retry_handlers=[])
    notifier = SlackNotifier(client=client, feedback=feedback)
    [row] = [
        m
        for m in await SqlOutbox(engine).messages()
        if m["dedupe_key"] == f"fb:{teams_item.id}:triage:merged:{slack_item.id}"
    ]
    from bot.outbox import Failed, OutboxMessage

    message = OutboxMessage(row["id"], row["dedupe_key"], "slack", "triage", "", row["payload"], 1)
    assert decode(row["payload"])
    assert isinstance(await notifier.deliver(message), Failed)
    assert fake_slack.calls == []


async def test_a_teams_pm_is_named_on_slack_by_display_name(engine: AsyncEngine) -> None:
    feedback = await service(engine)
    slack_item = await item(feedback, SLACK_SALES, "Needs SAML single sign-on")
    await feedback.remember_name(TEAMS_PM, "Pat <!channel> Product")
    await feedback.remember_name(SLACK_SALES, "sam")
    decided = await feedback.decide(user=TEAMS_PM, item_id=slack_item.id, action=Action.NOW)
    assert isinstance(decided, Decided)
    again = await feedback.get(slack_item.id)
    assert again is not None and again.decided_by == TEAMS_PM  # stored with its platform
    shown = str(blocks.triage_card(await feedback.triage_view(again)))
    assert "Pat &lt;!channel&gt; Product" in shown  # named, and escaped
    assert "<@1111" not in shown and TEAMS_PM.id not in shown and "<!channel>" not in shown
    assert "<@U0SALES1>" in shown  # a Slack user is still mentioned on Slack
    on_teams = str(cards.triage(await feedback.triage_view(again)))
    assert "sam" in on_teams and "U0SALES1" not in on_teams  # the Slack user, by name


async def test_someone_without_a_known_name_is_not_shown_by_a_foreign_id() -> None:
    assert blocks.mention(TEAMS_PM) == "a Teams user"
    assert cards.person(SLACK_SALES) == "a Slack user"
    assert cards.person(TEAMS_PM) == TEAMS_PM.id  # on its own platform, as before


async def test_a_forged_permalink_is_not_kept(engine: AsyncEngine) -> None:
    feedback = await service(engine)
    for forged in ("javascript:alert(1)", "https://x.example/|<!channel>", "<!channel>"):
        made = await item(feedback, TEAMS_SALES, f"Something about {forged[:5]}", permalink=forged)
        assert made.permalink is None
    kept = await item(feedback, TEAMS_SALES, "From a real message", permalink="https://t.ms/m/1")
    assert kept.permalink == "https://t.ms/m/1"


def stored(link: str, permalink: str) -> Item:
    return Item(
        1,
        "A title",
        None,
        None,
        Kind.PROBLEM,
        "Acme",
        None,
        None,
        None,
        Urgency.NORMAL,
        "details",
        link,
        permalink,
        SLACK_SALES,
        Status.NEW,
        dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
    )


def test_a_stored_link_that_is_no_web_address_is_text() -> None:
    shown = str(blocks.triage_card(TriageView(stored("https://x.example/>|<!channel>", "ftp://a"))))
    assert "<!channel>" not in shown and "|original message>" not in shown
    assert "<https://ok.example/a?b=1&amp;c=2|link>" in str(
        blocks.triage_card(TriageView(stored("https://ok.example/a?b=1&c=2", "")))
    )


async def test_existing_decisions_get_their_deciders_platform(engine: AsyncEngine) -> None:
    """The migration fills the decider's platform from the audit trail: a Teams PM's
    decision on a Slack item, made before the column existed, is a Teams user's."""
    import sqlalchemy as sa

    from store import migrate

    feedback = await service(engine)
    slack_item = await item(feedback, SLACK_SALES, "Decided before the migration")
    assert isinstance(
        await feedback.decide(user=TEAMS_PM, item_id=slack_item.id, action=Action.LATER), Decided
    )
    await migrate.downgrade(engine, "0010")
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        platform = await conn.scalar(sa.text("SELECT decided_by_platform FROM feedback_item"))
    assert platform == "teams"
    again = await feedback.get(slack_item.id)
    assert again is not None and again.decided_by == TEAMS_PM


async def install(db_url: str, **settings: Any) -> tuple[Services, list[str]]:
    """An install with every channel setting and every Teams reference stored (as one left
    from before a platform was turned off would be); the conversation keys it looks up."""
    services = build_services(
        AppSettings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url,
            announce_channel="C0ANNOUNCE",
            region_channels={"APAC": "C0APAC"},
            triage_channel="C0TRIAGE",
            management_channel="C0MGMT",
            **settings,
        )
    )
    conversations = services.conversations
    for key in (ANNOUNCE_KEY, TRIAGE_KEY, MANAGEMENT_KEY, f"{REGION_PREFIX}APAC"):
        await conversations.save(key=key, reference={"conversation": {"id": f"19:{key}"}})
    looked_up: list[str] = []
    get, keys = conversations.get, conversations.keys

    async def spied_get(*, key: str) -> Any:
        looked_up.append(key)
        return await get(key=key)

    async def spied_keys(*, prefix: str) -> list[str]:
        looked_up.append(prefix)
        return await keys(prefix=prefix)

    conversations.get, conversations.keys = spied_get, spied_keys  # type: ignore[method-assign]
    return services, looked_up


async def announce_and_run_the_week(services: Services) -> set[tuple[str, str]]:
    """An import that announces, every verification aged (owners' nudges, to the demo's
    Slack owners), the weekly run: the platforms and kinds of what it queued."""
    await services.catalog.import_catalog(demo_text())
    await services.catalog.import_catalog(CHANGED)
    async with services.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE product_verification SET verified_at = :t"),
            {"t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        )
    await weekly(services)
    return {(r["platform"], r["kind"]) for r in await services.outbox.messages()}


async def test_a_slack_only_install_never_looks_up_teams(db_url: str, engine: AsyncEngine) -> None:
    services, looked_up = await install(db_url, slack_bot_token=BOT_TOKEN)
    try:
        queued = await announce_and_run_the_week(services)
        assert queued == {("slack", "announce"), ("slack", "dm"), ("slack", "coverage")}
        assert looked_up == []
    finally:
        await services.engine.dispose()


async def test_a_teams_only_install_never_sends_to_slack(db_url: str, engine: AsyncEngine) -> None:
    services, looked_up = await install(db_url, teams_emulator=True)
    try:
        queued = await announce_and_run_the_week(services)
        assert queued == {("teams", "announce"), ("teams", "coverage")}
        assert set(looked_up) == {ANNOUNCE_KEY, TRIAGE_KEY, MANAGEMENT_KEY, REGION_PREFIX}
    finally:
        await services.engine.dispose()
