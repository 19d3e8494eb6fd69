"""The authorization matrix: every PM-only action as a PM, as the product's owner, and as a
sales user — on Slack and on Teams identities (an id counts only on its own platform)."""

from __future__ import annotations

import pytest

from bot.approvals import ApprovalAction, ApprovalService, Requested
from bot.approvals import Decided as ApprovalDecided
from bot.approvals import Settings as ApprovalSettings
from bot.briefings import BriefingService
from bot.catalog import CatalogService
from bot.commands import VERIFY_REFUSED, Bot
from bot.editing import ProductEditor
from bot.feedback import Action, Decided, FeedbackService, Settings, Submitted
from bot.ports import SystemClock
from bot.types import Refused, UserRef
from store.approvals_repo import SqlApprovals
from store.briefings_repo import SqlBriefingRepository
from store.feedback_repo import SqlFeedbackRepository
from store.updates_repo import SqlUpdatesRepository
from tests.conftest import demo_text

SLACK_PM, TEAMS_PM = "U0PM1", "00000000-0000-0000-0000-0000000000a1"
OWNER = "U01PMALICE"  # owns Widget Pro in the demo catalog
ROLES = {
    # role: (Slack identity, Teams identity)
    "pm": (UserRef("slack", SLACK_PM), UserRef("teams", TEAMS_PM)),
    "owner": (UserRef("slack", OWNER), None),  # the demo catalog's owners are Slack ids
    "sales": (
        UserRef("slack", "U0SALES1"),
        UserRef("teams", "00000000-0000-0000-0000-0000000000b1"),
    ),
    # a Teams user claiming a Slack PM's or owner's id is nobody in particular
    "impostor": (None, UserRef("teams", OWNER)),
}
ALLOWED = {
    # action: roles allowed
    "decide": {"pm", "owner"},
    "merge": {"pm", "owner"},
    "edit product": {"pm", "owner"},
    "still accurate": {"pm", "owner"},
    "log a briefing": {"pm"},
    "change someone else's briefing": set(),
    "decide an approval request": {"pm", "owner"},  # and the rule's contact (test_approvals)
}


@pytest.fixture
async def world(catalog_service: CatalogService, engine):  # type: ignore[no-untyped-def]
    from bot.updates import ProductUpdates

    await catalog_service.import_catalog(demo_text())
    pms = frozenset({SLACK_PM, TEAMS_PM})

    async def no_channels() -> list[tuple[str, str]]:
        return []

    updates = ProductUpdates(
        repo=SqlUpdatesRepository(engine),
        catalog=catalog_service,
        clock=SystemClock(),
        channels=no_channels,
    )
    feedback = FeedbackService(
        repo=SqlFeedbackRepository(engine),
        catalog=catalog_service,
        clock=SystemClock(),
        settings=Settings(product_managers=pms),
    )
    briefings = BriefingService(
        repo=SqlBriefingRepository(engine),
        catalog=catalog_service,
        clock=SystemClock(),
        product_managers=pms,
    )
    editor = ProductEditor(catalog=catalog_service, product_managers=pms)
    bot = Bot(
        catalog=catalog_service,
        updates=updates,
        editor=editor,
        briefings=briefings,
        product_managers=pms,
    )
    approvals = ApprovalService(
        repo=SqlApprovals(engine),
        catalog=catalog_service,
        clock=SystemClock(),
        settings=ApprovalSettings(product_managers=pms),
    )
    return feedback, briefings, editor, bot, approvals


async def attempt(world, action: str, user: UserRef) -> bool:  # type: ignore[no-untyped-def]
    feedback, briefings, editor, bot, approvals = world
    values = {
        "product": "WDG-PRO",
        "kind": "problem",
        "client": "Acme",
        "urgency": "normal",
        "details": "Sync stalls on large files",
        "duplicate_of": "new",
    }
    if action in ("decide", "merge"):
        first = await feedback.submit(user=UserRef("slack", "U0S1"), values=values)
        other = await feedback.submit(
            user=UserRef("slack", "U0S2"),
            values={**values, "details": "Another thing entirely, about exports"},
        )
        assert isinstance(first, Submitted) and isinstance(other, Submitted)
        result = await feedback.decide(
            user=user,
            item_id=first.item.id,
            action=Action.MERGE if action == "merge" else Action.NOW,
            merge_into=other.item.id if action == "merge" else None,
        )
        assert isinstance(result, Decided | Refused)
        return isinstance(result, Decided)
    if action == "decide an approval request":
        made = await approvals.request(
            user=UserRef("slack", "U0S1"),
            key="WDG-PRO|JP",
            values={"client": "Acme", "deal_value": "1000", "currency": "USD", "why": "Renewal"},
            submission=None,
        )
        assert isinstance(made, Requested)
        got = await approvals.decide(
            user=user, request_id=made.request.id, action=ApprovalAction.APPROVE, note=None
        )
        return isinstance(got, ApprovalDecided)
    if action == "edit product":
        return not isinstance(await editor.form(user=user, sku="WDG-PRO"), Refused)
    if action == "still accurate":
        return await bot.verify(user=user, sku="WDG-PRO") != VERIFY_REFUSED
    brief = {
        "held_on": "2026-11-20",
        "regions": "AU",
        "people": "5",
        "shared": "Roadmap",
        "minutes": "30",
    }
    if action == "log a briefing":
        return not isinstance(await briefings.save(user=user, values=brief), Refused)
    # someone else's briefing: a PM logs one, then `user` tries to change and delete it
    mine = await briefings.save(
        user=UserRef("slack", SLACK_PM) if user.id != SLACK_PM else UserRef("teams", TEAMS_PM),
        values=brief,
    )
    assert not isinstance(mine, Refused | dict)
    changed = await briefings.save(user=user, values=brief, briefing_id=mine.id)
    deleted = await briefings.delete(user=user, briefing_id=mine.id)
    return not isinstance(changed, Refused) or deleted.startswith("Deleted")


CASES = [
    (action, role, platform)
    for action in ALLOWED
    for role in ROLES
    for platform in (0, 1)
    if ROLES[role][platform] is not None
]


@pytest.mark.parametrize(
    ("action", "role", "platform"),
    CASES,
    ids=[f"{a}-{r}-{'slack' if p == 0 else 'teams'}" for a, r, p in CASES],
)
async def test_matrix(world, action: str, role: str, platform: int) -> None:  # type: ignore[no-untyped-def]
    user = ROLES[role][platform]
    assert user is not None
    assert await attempt(world, action, user) is (role in ALLOWED[action])
