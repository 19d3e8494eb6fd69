"""SQLModel table models. Internal product fields live in a table of their own."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.workspace import SHARED
from store.scoping import Scoped

metadata = SQLModel.metadata
# Stable constraint names so migrations can refer to them on every backend.
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class CatalogMeta(SQLModel, table=True):
    __tablename__ = "catalog_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: int = Field(default=0, sa_type=sa.BigInteger)


class PricingBandRow(SQLModel, table=True):
    __tablename__ = "pricing_band"
    code: str = Field(primary_key=True, max_length=32)
    label: str = Field(max_length=200)
    min_amount: int = Field(sa_type=sa.BigInteger)
    max_amount: int | None = Field(default=None, sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    position: int = 0


class RegionRow(SQLModel, table=True):
    __tablename__ = "region"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    parent_code: str | None = Field(default=None, max_length=32)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    briefing_target_per_quarter: int | None = None
    position: int = 0


class SegmentRow(SQLModel, table=True):
    __tablename__ = "segment"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    position: int = 0


class ProductRow(SQLModel, table=True):
    __tablename__ = "product"
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    lifecycle: str = Field(max_length=16)
    pricing_band_code: str | None = Field(default=None, max_length=32)
    summary: str = Field(default="", sa_type=sa.Text)
    traits: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    competitors: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    docs: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    owner: str | None = Field(default=None, max_length=64)
    contact: str | None = Field(default=None, max_length=64)
    position: int = 0
    # The hash of the catalog-file item this row was imported from (bot.catalog_file
    # item_hash); None once edited in chat. A re-import skips items whose hash it holds.
    source_hash: str | None = Field(default=None, max_length=32)


class AvailabilityRuleRow(SQLModel, table=True):
    __tablename__ = "availability_rule"
    __table_args__ = (sa.UniqueConstraint("product_id", "region_code", "segment_code"),)
    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    region_code: str = Field(max_length=32)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    from_date: dt.date | None = None
    pricing_band_code: str | None = Field(default=None, max_length=32)
    # "" for a general rule (see migration 0011), else the segment's code.
    segment_code: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    contact: str | None = Field(default=None, max_length=64)
    position: int = 0


class ProductInternalRow(SQLModel, table=True):
    """Margins, costs, notes: read only by catalog export, never by a lookup."""

    __tablename__ = "product_internal"
    product_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
        )
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


# --------------------------------------------------------------------------- feedback


class FeedbackItemRow(Scoped, table=True):
    """A piece of client feedback, in the workspace of the rep who sent it (`scope`): its
    queue, App Home, duplicate check, merge targets, clusters, ranked list, coverage counts
    and reminders are that workspace's alone. Every index a read uses leads with the scope
    (migration 0026)."""

    __tablename__ = "feedback_item"
    __table_args__ = (
        # One row per form submission (bot.interactions.submission_key) in a workspace;
        # NULLs are many.
        sa.Index("uq_feedback_item_submission_key", "scope", "submission_key", unique=True),
        # The reads that grow with the history (migration 0015): the queue in waiting order
        # (and the stale sweep), a person's own items, merged items by target, coverage by
        # region and time.
        sa.Index("ix_feedback_item_queue", "scope", "status", "created_at", "id"),
        sa.Index("ix_feedback_item_submitter", "scope", "submitter_id", "submitter_platform"),
        sa.Index("ix_feedback_item_merged_into_id", "merged_into_id"),  # ids found in scope
        # No read filters by these alone any more (the coverage index serves the report):
        # left as they are, without the scope.
        sa.Index("ix_feedback_item_region_created", "region_code", "created_at"),
        sa.Index("ix_feedback_item_created_at", "created_at"),
        sa.Index("ix_feedback_item_decided_at", "decided_at"),
        # Migration 0018: covers everything the coverage report reads of an item in its
        # period, so SQLite answers from the index without fetching the rows.
        sa.Index(
            "ix_feedback_item_coverage",
            "scope",
            "created_at",
            "region_code",
            "decided_at",
            "status",
        ),
        # Migration 0019: what the ranked list and the roll-up read, from the index alone.
        sa.Index(
            "ix_feedback_item_demand",
            "scope",
            "status",
            "product_sku",
            "created_at",
            "region_code",
            "id",
            "client_key",
            "deal_currency",
            "deal_value",
            "kind",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    product_sku: str | None = Field(default=None, max_length=64, index=True)
    product_name: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=32)
    client: str = Field(max_length=200)
    # bot.items.client_key(client): how the client is counted (migration 0019).
    client_key: str | None = Field(default=None, max_length=200)
    region_code: str | None = Field(default=None, max_length=32)
    segment_code: str | None = Field(default=None, max_length=32)  # a catalog segment's code
    deal_value: int | None = Field(default=None, sa_type=sa.BigInteger)
    deal_currency: str | None = Field(default=None, max_length=3)
    urgency: str = Field(max_length=16)
    details: str = Field(sa_type=sa.Text)
    link: str | None = Field(default=None, sa_type=sa.Text)
    permalink: str | None = Field(default=None, sa_type=sa.Text)
    # The form submission that made it (bot.interactions.submission_key): a replay or a
    # double click finds this row instead of making a second one.
    submission_key: str | None = Field(default=None, max_length=64)
    submitter_platform: str = Field(max_length=16)
    submitter_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="feedback_item.id")
    decided_by: str | None = Field(default=None, max_length=64)
    # A Teams PM may decide a Slack item: the decider's platform is their own, not the item's.
    decided_by_platform: str | None = Field(default=None, max_length=16)
    decided_at: dt.datetime | None = None
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: dt.datetime
    updated_at: dt.datetime
    reminded_at: dt.datetime | None = None
    triage_channel: str | None = Field(default=None, max_length=64)
    triage_ts: str | None = Field(default=None, max_length=64)


class FeedbackSupporterRow(SQLModel, table=True):
    """Someone who added their client to an existing item ("+1 with my client"), in the
    item's workspace: every read goes through an item found in scope."""

    __tablename__ = "feedback_supporter"
    __table_args__ = (
        sa.UniqueConstraint("item_id", "user_platform", "user_id", "client"),
        sa.Index("ix_feedback_supporter_user", "user_id", "user_platform"),  # migration 0015
        sa.Index(  # migration 0019: an item's stakes, from the index alone
            "ix_feedback_supporter_demand", "item_id", "client_key", "deal_currency", "deal_value"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="feedback_item.id", index=True)
    user_platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    client: str = Field(max_length=200)
    client_key: str | None = Field(default=None, max_length=200)  # bot.items.client_key
    deal_value: int | None = Field(default=None, sa_type=sa.BigInteger)
    deal_currency: str | None = Field(default=None, max_length=3)
    # The merged item that brought this client here (a merge copies its clients over).
    via_item_id: int | None = None
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: dt.datetime


class FeedbackTokenRow(Scoped, table=True):
    """The words of each open item's text (bot.matching.similarity_tokens), so that the
    duplicate check and merge targets look up candidates instead of scoring every open
    item. Rows exist only while the item is open; the product and the item's workspace
    (`scope`) are kept on each row so a look-up needs no join."""

    __tablename__ = "feedback_token"
    __table_args__ = (
        sa.Index("ix_feedback_token_token_product", "scope", "token", "product_sku", "item_id"),
    )
    item_id: int = Field(foreign_key="feedback_item.id", primary_key=True)
    token: str = Field(max_length=64, primary_key=True)
    product_sku: str | None = Field(default=None, max_length=64)
    words: int = 1  # how many distinct words the item has (a short text sharing a few is close)


class FeedbackSimilarRow(SQLModel, table=True):
    """Open items found similar to an item when it was submitted (and items submitted later
    that found it): its triage card shows these instead of running the check again. Both
    are of one workspace (the check reads only its own); a read names an item in scope."""

    __tablename__ = "feedback_similar"
    item_id: int = Field(foreign_key="feedback_item.id", primary_key=True)
    similar_id: int = Field(foreign_key="feedback_item.id", primary_key=True)
    score: float


class FeedbackEventRow(SQLModel, table=True):
    """The audit trail: every transition, who made it, when, from what, to what, and why
    (in its item's workspace, read through it)."""

    __tablename__ = "feedback_event"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="feedback_item.id", index=True)
    actor_platform: str = Field(max_length=16)
    actor_id: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_type=sa.Text)
    merged_into_id: int | None = None
    at: dt.datetime


# --------------------------------------------------------------------------- outbox


class OutboxRow(SQLModel, table=True):
    """Messages to deliver, written in the same transaction as the change that causes them."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "lane", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    platform: str = Field(max_length=16)
    kind: str = Field(max_length=32)
    target: str = Field(max_length=128)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(index=True)
    claimed_until: dt.datetime | None = None
    # An earlier attempt may have reached the platform (its worker died mid-send, or it
    # timed out): the next attempt looks for that delivery before sending again.
    unsure: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # The worker's claim (every write about a claimed row checks it) and the delivery lane
    # (bot.ports.Lane: 0 interactive, claimed first and in a lane of its own; 1 bulk).
    claim_token: str | None = Field(default=None, max_length=32)
    lane: int = Field(default=1, sa_type=sa.SmallInteger, sa_column_kwargs={"server_default": "1"})
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    # The workspace it belongs to (bot.workspace.current() when it was written): the worker
    # sends it with that workspace's installation. None: written outside any request.
    enterprise_id: str | None = Field(default=None, max_length=32)
    team_id: str | None = Field(default=None, max_length=64)


class OutboxPauseRow(SQLModel, table=True):
    """A 429's Retry-After, per "<platform>:<workspace>:<method>": every worker of every
    process waits it out, not only the one that was told."""

    __tablename__ = "outbox_pause"
    scope: str = Field(primary_key=True, max_length=255)
    until: dt.datetime


# --------------------------------------------------------------------------- teams


class ConversationRefRow(Scoped, table=True):
    """Where to reach someone later (Teams proactive messages): stored on every turn, in the
    tenant's scope, so two tenants each keep their own "teams:triage" and user keys."""

    __tablename__ = "conversation_ref"
    __table_args__ = (sa.PrimaryKeyConstraint("scope", "key"),)
    key: str = Field(max_length=255)  # "teams:user:<aad id>", "teams:triage"
    reference: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    updated_at: dt.datetime


# --------------------------------------------------------------------------- catalog life


class CatalogChangeRow(SQLModel, table=True):
    """History: who changed what in a product, when, from what to what."""

    __tablename__ = "catalog_change"
    id: int | None = Field(default=None, primary_key=True)
    change_set: str = Field(max_length=64, index=True)
    sku: str = Field(max_length=64, index=True)
    source: str = Field(max_length=16)  # "import" | "edit"
    actor: str = Field(max_length=128)
    fields: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    lines: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # what sales were told
    before: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    after: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    at: dt.datetime


class ProductVerificationRow(SQLModel, table=True):
    __tablename__ = "product_verification"
    sku: str = Field(primary_key=True, max_length=64)
    verified_at: dt.datetime
    verified_by: str = Field(max_length=128)


class SubscriptionRow(Scoped, table=True):
    __tablename__ = "product_subscription"
    __table_args__ = (sa.PrimaryKeyConstraint("scope", "platform", "user_id", "sku"),)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    sku: str = Field(max_length=64, index=True)
    created_at: dt.datetime


class LookupMissRow(Scoped, table=True):
    """Questions sales asked that matched no product: what the catalog may be missing."""

    __tablename__ = "lookup_miss"
    # Each workspace's triage hears its own gaps: the key leads with the scope.
    scope: str = Field(
        default=SHARED,
        primary_key=True,
        max_length=120,
        sa_column_kwargs={"server_default": SHARED},
    )
    query: str = Field(primary_key=True, max_length=200)
    region_code: str = Field(primary_key=True, max_length=32)  # "" when none was named
    day: dt.date = Field(primary_key=True)  # counted per day, so a week's list is that week's
    count: int = 0
    first_at: dt.datetime
    last_at: dt.datetime


# --------------------------------------------------------------------------- briefings


class BriefingRow(Scoped, table=True):
    """A session a PM gave to a sales team, in the PM's workspace: its lists, coverage and
    decks read that workspace's only."""

    __tablename__ = "briefing"
    __table_args__ = (
        # One row per form submission (bot.interactions.submission_key); NULLs are many.
        sa.Index("uq_briefing_submission_key", "scope", "submission_key", unique=True),
        sa.Index("ix_briefing_pm_id", "scope", "pm_id"),
        sa.Index("ix_briefing_held_on", "scope", "held_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    pm_platform: str = Field(max_length=16)
    pm_id: str = Field(max_length=64)
    held_on: dt.date
    regions: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    team: str | None = Field(default=None, max_length=200)
    attendees: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    people: int = 0
    products: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    shared: str = Field(default="", sa_type=sa.Text)
    deck: str | None = Field(default=None, sa_type=sa.Text)
    minutes: int = 0
    submission_key: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime
    updated_at: dt.datetime


class BriefingDeckRow(Scoped, table=True):
    """The copy of a briefing's deck the bot keeps, in the database so that any web process
    can serve it; one per briefing (a new file replaces it), in its briefing's workspace."""

    __tablename__ = "briefing_deck"
    id: int | None = Field(default=None, primary_key=True)
    briefing_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("briefing.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    name: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int = Field(sa_type=sa.BigInteger)
    data: bytes = Field(sa_type=sa.LargeBinary)
    created_at: dt.datetime


class PersonRow(Scoped, table=True):
    """A person's display name on their platform, as their own activity last showed it."""

    __tablename__ = "person"
    __table_args__ = (sa.PrimaryKeyConstraint("scope", "platform", "user_id"),)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    name: str = Field(max_length=120)
    updated_at: dt.datetime


class SeenEventRow(SQLModel, table=True):
    """Inbound deliveries already processed (Slack event ids, Teams activity ids): a retry
    or a re-sent activity is acknowledged without running twice."""

    __tablename__ = "seen_event"
    key: str = Field(primary_key=True, max_length=255)
    at: dt.datetime = Field(index=True)


# --------------------------------------------------------------------------- receipts


class ReceiptRow(Scoped, table=True):
    """A verdict as it was shown to one person (bot.receipts.Receipt): sales-facing values
    only. ~36M rows a year at 5,000 reps: the indexes serve the change-notice query
    (product, market, time; across workspaces, as the catalog is one), the export and
    purge (time) and one person's answers (in their workspace)."""

    __tablename__ = "receipt"
    __table_args__ = (
        sa.Index("ix_receipt_sku_region_at", "sku", "region", "at"),
        sa.Index("ix_receipt_at", "at"),
        sa.Index("ix_receipt_user_at", "scope", "platform", "user_id", "at"),
    )
    # BIGINT on PostgreSQL; SQLite numbers rows only through an INTEGER primary key.
    id: int | None = Field(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite")
    )
    at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    product: str = Field(max_length=200)
    region: str = Field(max_length=32)
    segment: str | None = Field(default=None, max_length=32)
    verdict: str = Field(max_length=24)
    reason: str = Field(max_length=500)
    band: str = Field(max_length=200)
    catalog_version: int = Field(sa_type=sa.BigInteger)


class NoticeOptOutRow(Scoped, table=True):
    """People who turned change notices off (`/product notices off`)."""

    __tablename__ = "notice_opt_out"
    __table_args__ = (sa.PrimaryKeyConstraint("scope", "platform", "user_id"),)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))


# --------------------------------------------------------------------------- approvals


class ApprovalRequestRow(Scoped, table=True):
    """A request to approve a Restricted answer for one client (bot.approvals), and its
    decision. What the requester was told and why they ask is kept as they saw it."""

    __tablename__ = "approval_request"
    __table_args__ = (
        sa.Index("uq_approval_request_submission_key", "submission_key", unique=True),
        # A person's approvals for one product in one market: shown with their answers.
        sa.Index(
            "ix_approval_request_holder",
            "scope",
            "requester_platform",
            "requester_id",
            "sku",
            "region",
        ),
        sa.Index("ix_approval_request_created_at", "created_at"),  # the export
    )
    id: int | None = Field(default=None, primary_key=True)
    requester_platform: str = Field(max_length=16)
    requester_id: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    product: str = Field(max_length=200)
    region: str = Field(max_length=32)
    place: str = Field(max_length=300)  # the market (and segment) as the requester read it
    segment: str | None = Field(default=None, max_length=32)
    verdict: str = Field(max_length=600)
    client: str = Field(max_length=200)
    deal_value: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=8)
    why: str = Field(sa_type=sa.Text)
    approver: str | None = Field(default=None, max_length=80)
    sent_to: str = Field(max_length=160)
    status: str = Field(max_length=16)
    created_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
    decided_by: str | None = Field(default=None, max_length=64)
    decided_by_platform: str | None = Field(default=None, max_length=16)
    decided_at: dt.datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    note: str | None = Field(default=None, sa_type=sa.Text)
    valid_until: dt.datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    submission_key: str | None = Field(default=None, max_length=64)


class ApprovalEventRow(SQLModel, table=True):
    """The approvals' audit trail: each request and each decision, who, when, and the note."""

    __tablename__ = "approval_event"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id", index=True)
    actor_platform: str = Field(max_length=16)
    actor_id: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_type=sa.Text)
    at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))


class ApprovalCardRow(Scoped, table=True):
    """Where each card of an approval request was posted (a Slack conversation and message
    ts, a Teams conversation key and activity id), so that it is refreshed in place once
    something becomes of the request. Keyed, and read, by the request's workspace."""

    __tablename__ = "approval_card"
    __table_args__ = (
        sa.PrimaryKeyConstraint("scope", "request_id", "platform", "channel", "message"),
    )
    request_id: int = Field(foreign_key="approval_request.id")
    platform: str = Field(max_length=16)
    channel: str = Field(max_length=160)
    message: str = Field(max_length=200)
    posted_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))


# --------------------------------------------------------------------------- settings


class WorkspaceSettingsRow(SQLModel, table=True):
    """What one workspace's admins set (bot.settings), over the environment's defaults:
    only the settings they changed. `version` counts the saves: a process holding the
    settings in memory compares it, and a save is conditional on it."""

    __tablename__ = "workspace_settings"
    __table_args__ = (sa.UniqueConstraint("platform", "enterprise_id", "team_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    enterprise_id: str = Field(default="", max_length=32)  # "" outside Slack Grid
    team_id: str = Field(max_length=64)
    overrides: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    version: int = 1
    updated_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))


class SettingChangeRow(SQLModel, table=True):
    """One setting changed in chat: who, when, from which platform, from what, to what."""

    __tablename__ = "setting_change"
    __table_args__ = (sa.Index("ix_setting_change_workspace", "workspace_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace_settings.id")
    key: str = Field(max_length=64)
    old: Any = Field(default=None, sa_type=sa.JSON)
    new: Any = Field(default=None, sa_type=sa.JSON)
    by_platform: str = Field(max_length=16)
    by_id: str = Field(max_length=64)
    via: str = Field(max_length=16)
    at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
