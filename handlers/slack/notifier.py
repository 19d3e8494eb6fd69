"""Delivers outbox messages to Slack: DMs, and triage and approval cards posted then updated
in place.

Slack has no idempotency key, so every post carries its outbox key as message metadata; a
message an earlier attempt may have delivered (its worker died between Slack's answer and
marking the row sent, or the request timed out) is looked for in the conversation before it
is posted again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import payloads, workspace
from bot.approvals import ApprovalCard, ApprovalService, CardPlace
from bot.feedback import FeedbackService
from bot.interactions import FILES_REDIRECTED, FilesTo
from bot.outbox import Failed, OutboxMessage, Outcome, Paused, RateGate, RetryLater, Sent
from bot.payloads import TriageReason
from bot.reports import CoverageService, Report, report_to_send
from bot.settings import SettingsService, inside
from bot.workspace import Workspace
from handlers.config import Settings
from handlers.links import DeckLinks
from handlers.slack import blocks
from handlers.slack.oauth import RefreshFailed, WorkspaceTokens

log = logging.getLogger(__name__)

# Slack "ok": false errors worth another try; any other one (user_not_found, is_archived,
# not_in_channel, missing_scope, invalid_blocks…) will not fix itself: park the message.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
METADATA_TYPE = "salesbridge_outbox"  # message metadata event_type; payload {"key": dedupe}
HISTORY_PAGES = 5  # how far back (x 200 messages) to look for an earlier delivery
CLOCK_SKEW = 120.0  # seconds before the row's creation that a search starts
# Files one message shares: Slack's clients attach at most 10 to a message, and
# files_upload_v2 shares all it is given in one files.completeUploadExternal.
FILES_PER_MESSAGE = 10


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str
    ts: str
    recovered: bool = False  # found already delivered by an earlier attempt

    def result(self, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": self.channel, "ts": self.ts, **extra}
        if self.recovered:
            out["recovered"] = True
        return out


class GatedWebClient(AsyncWebClient):
    """A Web API client whose every call first asks the shared rate gate: after a 429 on a
    method, no worker of any process calls that method in this workspace until the
    Retry-After has passed (Slack limits each method per workspace)."""

    gate = RateGate(None)
    workspace: str | None = None  # the team id, from one auth.test

    _asking: asyncio.Lock | None = None

    async def scope(self, method: str) -> str:
        if self.workspace is None:
            self._asking = self._asking or asyncio.Lock()
            async with self._asking:  # one auth.test for all the sends waiting on it
                if self.workspace is None:
                    try:  # straight to the SDK: auth.test is not a delivery
                        answer = await super().api_call("auth.test")
                        self.workspace = str(answer.get("team_id") or "") or None
                    except (SlackApiError, aiohttp.ClientError, TimeoutError):
                        pass  # asked again on the next call
        # Without a team id yet, the token names the workspace (one token, one workspace).
        workspace = self.workspace or hashlib.sha256((self.token or "").encode()).hexdigest()[:12]
        return f"slack:{workspace}:{method}"

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        scope = await self.scope(api_method)
        await self.gate.check(scope)
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if getattr(exc.response, "status_code", 200) == 429:
                await self.gate.limited(scope, _retry_after(exc))
            raise


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after") or "1"
    try:
        return float(raw)
    except ValueError:
        return 1.0


class Installed:
    """One Web API client per workspace that installed the app (OAuth), each with that
    installation's bot token: a message is sent with the token of the workspace it was
    written in, never with another's."""

    def __init__(self, tokens: WorkspaceTokens, make: Callable[[str], GatedWebClient]) -> None:
        self._tokens = tokens
        self._make = make
        self._clients: dict[tuple[str | None, str | None], GatedWebClient] = {}

    async def __call__(self, message: OutboxMessage) -> AsyncWebClient | None:
        key = (message.enterprise_id, message.team_id)
        if key == (None, None):
            # Written outside any request (the worker's own periodic work): with one
            # installation it is that one's; with more, no workspace can be told.
            sole = await self._tokens.sole()
            if sole is None:
                return None
            key = sole
        token = await self._tokens.bot_token(*key)
        if token is None:
            self._clients.pop(key, None)
            return None
        client = self._clients.get(key)
        if client is None or client.token != token:  # first use, or the token was rotated
            client = self._clients[key] = self._make(token)
            client.workspace = key[1] or key[0]  # the rate gate's scope, without auth.test
        return client


ClientFor = Callable[[OutboxMessage], Awaitable[AsyncWebClient | None]]
NOT_INSTALLED = "the app is not installed in this message's workspace"
REFRESH_FAILED = "the workspace's expired token could not be refreshed"


class SlackNotifier:
    def __init__(
        self,
        *,
        client: AsyncWebClient | ClientFor,
        feedback: FeedbackService,
        coverage: CoverageService | None = None,
        kept_link: Callable[[int, str], str] | None = None,
        approvals: ApprovalService | None = None,
        isolated: bool = False,  # Settings.isolates_workspaces
        settings: SettingsService | None = None,
    ) -> None:
        self._isolated = isolated
        self._settings = settings  # each workspace's, for a report computed at delivery
        if isinstance(client, AsyncWebClient):
            one = client

            async def same(_message: OutboxMessage) -> AsyncWebClient:
                return one  # one workspace, one token (SLACK_BOT_TOKEN)

            self._client_for: ClientFor = same
        else:
            self._client_for = client
        self._feedback = feedback
        self._coverage = coverage
        self._kept_link = kept_link  # links the CSV gives to kept decks
        self._approvals = approvals  # where approval cards were posted, to refresh them

    async def deliver(self, message: OutboxMessage) -> Outcome:
        try:
            payload = payloads.decode(message.payload)
        except payloads.PayloadError as exc:
            return Failed(str(exc))
        try:
            client = await self._client_for(message)
            if client is None:
                return Failed(NOT_INSTALLED)
            if isinstance(payload, payloads.Coverage):
                # The figures, the decks the CSV links and, for a report computed now, the
                # targets and time zone are the message's workspace's.
                async with inside(self._settings, self._workspace_of(message), platform="slack"):
                    return await self._coverage_files(client, message, payload)
            if isinstance(payload, payloads.Digest):  # announcements and subscriber DMs
                body = blocks.digest(payload.title, payload.lines)
                return Sent((await self._post(client, message, message.target, **body)).result())
            if isinstance(payload, payloads.ChangeNotice):
                body = blocks.change_notice(payload, today=dt.datetime.now(dt.UTC).date())
                return Sent((await self._post(client, message, message.target, **body)).result())
            if isinstance(payload, payloads.NoticeFanout):
                return Failed("a notice fan-out is the worker's own work, not a message")
            if isinstance(payload, payloads.ApprovalAsk):  # to the approver, or a channel
                return await self._approval_card(client, message, payload)
            if isinstance(payload, payloads.ApprovalRefresh):
                return await self._approval_refresh(client, payload)
            if isinstance(payload, payloads.ApprovalDecided):
                body = blocks.approval_decided_dm(payload)
                return Sent((await self._post(client, message, message.target, **body)).result())
            if isinstance(payload, payloads.Decision):
                # Posting to a user id lands in the app's DM with that user.
                body = blocks.decision_dm(payload)
                return Sent((await self._post(client, message, message.target, **body)).result())
            return await self._triage(client, message, payload)
        except Paused as exc:  # nothing was sent: this costs no attempt
            return RetryLater(str(exc), retry_after=exc.seconds, attempted=False)
        except RefreshFailed as exc:
            return self._unrefreshed(exc)
        except SlackApiError as exc:
            return self._classify(exc)
        except aiohttp.ClientConnectorError as exc:  # never reached Slack
            return RetryLater(f"{type(exc).__name__}: {exc}"[:300])
        except (aiohttp.ClientError, TimeoutError) as exc:  # may have reached it
            return RetryLater(f"{type(exc).__name__}: {exc}"[:300], maybe_sent=True)

    def _workspace_of(self, message: OutboxMessage) -> Workspace | None:
        """The workspace a message was written in (None: written outside any workspace)."""
        if message.team_id is None:
            return None
        return Workspace("slack", message.enterprise_id, message.team_id, self._isolated)

    @staticmethod
    def _classify(exc: SlackApiError) -> RetryLater | Failed:
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = (
            str((response.data or {}).get("error", "unknown"))
            if response is not None
            else "unknown"
        )
        if status == 429:
            return RetryLater(f"rate limited ({error})", retry_after=_retry_after(exc))
        if status >= 500:
            return RetryLater(f"HTTP {status} ({error})", maybe_sent=True)
        if error in TRANSIENT:
            return RetryLater(error, maybe_sent=error != "ratelimited")
        return Failed(error)

    @staticmethod
    def _unrefreshed(exc: RefreshFailed) -> Outcome:
        """The workspace is installed but its token expired unrefreshed: a rate limit, a
        server error or the network is tried again later; any other refusal parks it."""
        if not isinstance(exc.error, SlackApiError):
            return RetryLater(f"{REFRESH_FAILED}: {type(exc.error).__name__}"[:300])
        outcome = SlackNotifier._classify(exc.error)
        if isinstance(outcome, RetryLater):  # the message itself never left: not maybe_sent
            return RetryLater(f"{REFRESH_FAILED}: {outcome.error}", outcome.retry_after)
        return Failed(f"{REFRESH_FAILED}: {outcome.error}")

    async def _post(
        self, client: AsyncWebClient, message: OutboxMessage, channel: str, **body: Any
    ) -> Posted:
        """chat.postMessage tagged with the outbox key. A message an earlier attempt may
        have delivered is looked for first, so a crash or a timeout does not post it twice."""
        if message.unsure:
            found = await self._find(client, message, channel)
            if found is not None:
                log.info(
                    "outbox message was already delivered",
                    extra={"outbox_id": message.id, "kind": message.kind},
                )
                return found
        metadata = {"event_type": METADATA_TYPE, "event_payload": {"key": message.dedupe_key}}
        response = await client.chat_postMessage(channel=channel, metadata=metadata, **body)
        return Posted(str(response.get("channel") or channel), str(response.get("ts")))

    async def _find(
        self, client: AsyncWebClient, message: OutboxMessage, channel: str
    ) -> Posted | None:
        """The earlier delivery of `message` in `channel`, if there is one. Without the
        scopes to read it (or on any error but a rate limit) the message is sent again:
        at-least-once, as before, rather than not at all."""
        try:
            conversation = await _conversation(client, channel)
            since = message.created_at or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
            cursor: str | None = None
            for _ in range(HISTORY_PAGES):
                page = await client.conversations_history(
                    channel=conversation,
                    oldest=f"{since.timestamp() - CLOCK_SKEW:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for m in page.get("messages") or ():
                    meta = m.get("metadata") or {}
                    stamp = meta.get("event_payload") or {}  # the message's own metadata
                    if (
                        meta.get("event_type") == METADATA_TYPE
                        and stamp.get("key") == message.dedupe_key
                    ):
                        return Posted(conversation, str(m.get("ts")), recovered=True)
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as exc:
            if getattr(exc.response, "status_code", 200) == 429:
                raise  # wait it out like any rate limit; the message stays unsure
            log.warning(
                "cannot look for an earlier delivery; sending again",
                extra={"outbox_id": message.id, "error": str(exc.response.get("error"))},
            )
        return None

    async def _coverage_files(
        self, client: AsyncWebClient, message: OutboxMessage, job: payloads.Coverage
    ) -> Outcome:
        """The chart and CSV of a coverage report (and, weekly, the report itself)."""
        report = await report_to_send(self._coverage, job.period, job.report)
        if isinstance(report, str):
            return Failed(report)
        if job.digest:  # the management channel's, shared there by design
            body = blocks.coverage(report, FilesTo.HERE)
            await self._post(client, message, message.target, **body)
        stamp = report.period.label.split(" ")[0]
        uploads = [
            {
                "content": report.csv(self._kept_link).encode(),
                "filename": f"coverage-{stamp}.csv",
                "title": f"Coverage {report.period.label} (CSV)",
            },
        ]
        if not job.csv_only:
            pngs = await asyncio.to_thread(_charts, report)  # CPU work off the event loop
            many = len(pngs) > 1
            uploads[:0] = [
                {
                    "content": png,
                    "filename": f"coverage-{stamp}" + (f"-{n}" if many else "") + ".png",
                    "title": f"Briefings per region, {report.period.label}"
                    + (f", page {n} of {len(pngs)}" if many else ""),
                }
                for n, png in enumerate(pngs, 1)
            ]
        # Slack shares at most FILES_PER_MESSAGE files in one message: more (a chart of
        # many pages) go in several, the CSV last.
        comment = f"Coverage {report.period.label}: " + ("CSV" if job.csv_only else "chart and CSV")
        batches = [
            uploads[n : n + FILES_PER_MESSAGE] for n in range(0, len(uploads), FILES_PER_MESSAGE)
        ]
        # Files for the asker alone (a user id, bot.interactions.FilesTo.DM) go to the
        # app's DM with them; an upload takes a conversation's id, never a user's.
        channel = await _conversation(client, message.target)
        said = ""
        if job.asker is not None and channel.startswith("D"):
            # Asked in a direct message: the app's with the asker, or one between people,
            # which the app is not in and cannot upload to.
            own = await _conversation(client, job.asker)
            if own != channel:
                channel, said = own, f". {FILES_REDIRECTED}"
        for n, batch in enumerate(batches, 1):
            part = f" ({n} of {len(batches)})" if len(batches) > 1 else ""
            await client.files_upload_v2(
                channel=channel, initial_comment=comment + part + said, file_uploads=batch
            )
        return Sent({"channel": channel})

    async def _approval_card(
        self, client: AsyncWebClient, message: OutboxMessage, ask: payloads.ApprovalAsk
    ) -> Outcome:
        body = blocks.approval_card(ApprovalCard(ask))
        posted = await self._post(client, message, message.target, **body)
        if self._approvals is not None:
            # Found already posted or not, its ts is what a refresh updates.
            place = CardPlace(posted.channel, posted.ts)
            now = await self._approvals.posted(ask, platform="slack", place=place)
            if now is not None:  # decided before this card was known: show it already
                await client.chat_update(
                    channel=posted.channel, ts=posted.ts, **blocks.approval_card(now)
                )
        return Sent(posted.result())

    async def _approval_refresh(
        self, client: AsyncWebClient, job: payloads.ApprovalRefresh
    ) -> Outcome:
        """Every card of the request posted on Slack, updated to what became of it."""
        if self._approvals is None:
            return Failed("approval requests are not configured")
        got = await self._approvals.refreshed(job, platform="slack")
        if got is None:
            return Failed("approval request no longer exists")
        card, places = got
        body = blocks.approval_card(card)
        for place in places:
            await client.chat_update(channel=place.channel, ts=place.message, **body)
        # A card not posted yet is shown as it now is when it is (ApprovalService.posted).
        return Sent({"updated": [p.message for p in places]})

    async def _triage(
        self, client: AsyncWebClient, message: OutboxMessage, job: payloads.Triage
    ) -> Outcome:
        # Delivered outside any request: the card is read in its item's workspace.
        with workspace.using(await self._feedback.workspace_of(job.item_id)):
            return await self._triage_card(client, message, job)

    async def _triage_card(
        self, client: AsyncWebClient, message: OutboxMessage, job: payloads.Triage
    ) -> Outcome:
        item = await self._feedback.get(job.item_id)
        if item is None:
            return Failed("item no longer exists")
        if item.triage_channel and item.triage_channel.startswith("teams:"):
            # Its card is a Teams activity: a Teams id must never reach chat.update.
            return Failed("this item's triage card lives on Teams")
        channel = item.triage_channel or message.target
        if not channel:
            return Failed("TRIAGE_CHANNEL is not set")
        reminder = job.reason is TriageReason.REMINDER
        card = blocks.triage_card(await self._feedback.triage_view(item, reminder=reminder))
        if item.triage_ts and job.reason is TriageReason.REFRESH:
            await client.chat_update(channel=channel, ts=item.triage_ts, **card)
            return Sent({"channel": channel, "ts": item.triage_ts, "updated": True})
        if not item.triage_ts and job.reason is not TriageReason.FIRST:
            # The first post has not gone out yet; an update needs its ts.
            return RetryLater("triage card not posted yet", retry_after=1.0)
        if reminder:
            # Raised again in the card's thread (and to the channel): the original card
            # stays the one that is updated, so no stale buttons are left behind.
            posted = await self._post(
                client, message, channel, thread_ts=item.triage_ts, reply_broadcast=True, **card
            )
            return Sent(posted.result(reminder=True))
        posted = await self._post(client, message, channel, **card)
        # Found already posted or not, the card's ts is what later updates need.
        await self._feedback.remember_triage_message(item.id, posted.channel, posted.ts)
        return Sent(posted.result())


def make_slack_notifier(
    settings: Settings,
    feedback: FeedbackService,
    coverage: CoverageService | None = None,
    gate: RateGate | None = None,
    tokens: WorkspaceTokens | None = None,
    approvals: ApprovalService | None = None,
    workspace_settings: SettingsService | None = None,
) -> SlackNotifier:
    """Web API clients of its own: no SDK retries (the outbox owns retrying). One, with
    SLACK_BOT_TOKEN; with OAuth (`tokens`), one per installed workspace."""

    def make(token: str) -> GatedWebClient:
        client = GatedWebClient(
            token=token, base_url=settings.slack_api_url, timeout=10, retry_handlers=[]
        )
        if gate is not None:
            client.gate = gate
        return client

    kept_link: Callable[[int, str], str] | None = None
    if settings.public_url and settings.link_secret:
        secret = settings.link_secret.get_secret_value().encode()
        kept_link = DeckLinks(secret, settings.public_url).kept_url
    if tokens is not None:
        return SlackNotifier(
            client=Installed(tokens, make), feedback=feedback, coverage=coverage,
            kept_link=kept_link, approvals=approvals, isolated=settings.isolates_workspaces,
            settings=workspace_settings,
        )  # fmt: skip
    assert settings.slack_bot_token is not None
    return SlackNotifier(
        client=make(settings.slack_bot_token.get_secret_value()),
        feedback=feedback,
        coverage=coverage,
        kept_link=kept_link,
        approvals=approvals,
        settings=workspace_settings,
        isolated=settings.isolates_workspaces,  # a MultiTenant Teams bot beside one token
    )


async def _conversation(client: AsyncWebClient, target: str) -> str:
    """The conversation a target names: for a user ("U…", "W…") the app's DM with them
    (conversations.open), any other id as it is."""
    if target[:1] not in ("U", "W"):
        return target
    opened = await client.conversations_open(users=target)
    return str((opened.get("channel") or {}).get("id") or target)


def _charts(report: Report) -> list[bytes]:
    # matplotlib is imported on first use: most processes never draw a chart.
    from handlers.charts import coverage_pngs

    return coverage_pngs(report)
