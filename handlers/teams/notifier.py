"""Delivers outbox messages to Teams proactively: DMs, and triage and approval cards (posted,
then updated)."""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from typing import Any

import aiohttp
from microsoft_agents.activity import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext

from bot import payloads, workspace
from bot.approvals import ApprovalCard, ApprovalService, CardPlace
from bot.feedback import FeedbackService
from bot.outbox import Failed, OutboxMessage, Outcome, Paused, RateGate, RetryLater, Sent
from bot.payloads import TriageReason
from bot.ports import ConversationStore
from bot.reports import CoverageService, report_to_send
from bot.settings import SettingsService, inside
from handlers.teams import cards, inbound
from handlers.teams.bot import ChartUrl, card_activity, chart_url
from handlers.teams.http import ServiceUrls
from handlers.teams.keys import APPROVALS_KEY, TRIAGE_KEY, user_key

# Microsoft's guidance for the connector: retry 429, 412, 502 and 504 with backoff.
RETRY_STATUSES = frozenset({408, 412, 429, 500, 502, 503, 504})
NOT_TAKEN = frozenset({412, 429})  # refused before anything was posted

log = logging.getLogger(__name__)


NO_TENANT = "written outside any tenant, and several tenants use the bot: no tenant to send to"


class ServiceUrlRefused(Exception):
    """A stored conversation reference points at a host the bot may not send to."""


class TeamsNotifier:
    def __init__(
        self,
        *,
        adapter: CloudAdapter,
        app_id: str | None,
        conversations: ConversationStore,
        feedback: FeedbackService,
        coverage: CoverageService | None = None,
        chart_url: ChartUrl | None = None,
        gate: RateGate | None = None,
        urls: ServiceUrls | None = None,
        isolated: bool = False,  # Settings.isolates_workspaces
        approvals: ApprovalService | None = None,
        settings: SettingsService | None = None,
    ) -> None:
        self._isolated = isolated
        self._settings = settings  # each tenant's, for a report computed at delivery
        self._chart_url = chart_url
        self._gate = gate or RateGate(None)
        self._adapter = adapter
        self._app_id = app_id
        self._conversations = conversations
        self._feedback = feedback
        self._coverage_service = coverage
        self._urls = urls
        self._approvals = approvals  # where approval cards were posted, to refresh them

    async def deliver(self, message: OutboxMessage) -> Outcome:
        """Send one outbox row. A bot keeping tenants apart sends it in the tenant it was
        written in: the conversation it goes to is that tenant's (`teams:triage`,
        `teams:user:<id>`), never another's of the same name."""
        if not self._isolated:  # one tenant: one pool, as always
            return await self._deliver(message)
        tenant = await self._tenant_of(message)
        if tenant is None:
            return Failed(NO_TENANT)
        with workspace.using(tenant):
            return await self._deliver(message)

    async def _tenant_of(self, message: OutboxMessage) -> workspace.Workspace | None:
        """The row's own tenant; for a row written outside any request, the only scope
        holding conversations (a tenant's, or the shared pool's), and none while several do."""
        if message.team_id:
            return workspace.Workspace("teams", None, message.team_id, isolated=True)
        scopes = await self._conversations.scopes(limit=2)
        if len(scopes) > 1:
            return None
        sole = workspace.Workspace.of_scope(scopes[0]) if scopes else None
        return sole or workspace.Workspace("teams", None, "")  # the shared pool

    async def _deliver(self, message: OutboxMessage) -> Outcome:
        if message.unsure:
            # The connector cannot list a conversation's activities, so there is no way to
            # look for an earlier delivery: this one may repeat (at-least-once).
            log.warning(
                "re-sending a Teams message an earlier attempt may have delivered",
                extra={"outbox_id": message.id, "kind": message.kind},
            )
        try:
            payload = payloads.decode(message.payload)
        except payloads.PayloadError as exc:
            return Failed(str(exc))
        try:
            if isinstance(payload, payloads.Triage):
                return await self._triage(payload)
            if isinstance(payload, payloads.Coverage):
                return await self._coverage(message, payload)
            if isinstance(payload, payloads.ApprovalAsk):  # to the approver, or a channel
                return await self._approval_card(message, payload)
            if isinstance(payload, payloads.ApprovalRefresh):
                return await self._approval_refresh(payload)
            if isinstance(payload, payloads.NoticeFanout):
                return Failed("a notice fan-out is the worker's own work, not a message")
            if isinstance(payload, payloads.ChangeNotice):
                card = cards.change_notice(payload, today=dt.datetime.now(dt.UTC).date())
            elif isinstance(payload, payloads.Digest):
                card = cards.digest(payload.title, payload.lines)
            elif isinstance(payload, payloads.ApprovalDecided):
                card = cards.approval_decided(payload)
            else:
                card = cards.decision(payload)
            return await self._post(self._key(message), card)
        except ServiceUrlRefused as exc:
            return Failed(str(exc))
        except Paused as exc:  # nothing was sent: this costs no attempt
            return RetryLater(str(exc), retry_after=exc.seconds, attempted=False)
        except aiohttp.ClientResponseError as exc:
            if exc.status in RETRY_STATUSES:
                wait = _retry_after(exc)
                return RetryLater(
                    f"HTTP {exc.status}",
                    retry_after=wait,
                    maybe_sent=exc.status not in NOT_TAKEN,
                )
            if exc.status == 403:  # the user blocked or removed the bot: do not insist
                return Failed("HTTP 403: the bot cannot write to this conversation")
            return Failed(f"HTTP {exc.status}")
        except aiohttp.ClientConnectorError as exc:  # never reached the connector
            return RetryLater(f"{type(exc).__name__}: {exc}"[:300])
        except (aiohttp.ClientError, TimeoutError) as exc:
            return RetryLater(f"{type(exc).__name__}: {exc}"[:300], maybe_sent=True)

    @staticmethod
    def _key(message: OutboxMessage) -> str:
        """A DM goes to the person's chat; anything else to the channel stored under its
        name ("announce", "triage", "region:APAC", "management")."""
        return user_key(message.target) if message.kind == "dm" else f"teams:{message.target}"

    async def _post(self, key: str, card: dict[str, Any]) -> Outcome:
        reference = await self._conversations.get(key=key)
        if reference is None:
            return Failed(f"no conversation stored for {key} (they have not used the bot yet)")
        return Sent({"id": await self._send(reference, card_activity(card))})

    async def _approval_card(self, message: OutboxMessage, ask: payloads.ApprovalAsk) -> Outcome:
        key = self._key(message)
        reference = await self._conversations.get(key=key)
        if reference is None and key == APPROVALS_KEY:  # no channel set for approvals
            key, reference = TRIAGE_KEY, await self._conversations.get(key=TRIAGE_KEY)
        if reference is None:
            return Failed(f"no conversation stored for {key} (they have not used the bot yet)")
        activity_id = await self._send(
            reference, card_activity(cards.approval_card(ApprovalCard(ask)))
        )
        if self._approvals is not None and activity_id:
            # The conversation it went to (by key) and its id are what a refresh updates.
            place = CardPlace(key, activity_id)
            now = await self._approvals.posted(ask, platform="teams", place=place)
            if now is not None:  # decided before this card was known: show it already
                await self._send(reference, card_activity(cards.approval_card(now)), activity_id)
        return Sent({"id": activity_id})

    async def _approval_refresh(self, job: payloads.ApprovalRefresh) -> Outcome:
        """Every card of the request posted on Teams, updated to what became of it."""
        if self._approvals is None:
            return Failed("approval requests are not configured")
        got = await self._approvals.refreshed(job, platform="teams")
        if got is None:
            return Failed("approval request no longer exists")
        card, places = got
        updated = []
        for place in places:
            reference = await self._conversations.get(key=place.channel)
            if reference is None:  # the conversation is forgotten: nothing left to update
                continue
            updated.append(
                await self._send(reference, card_activity(cards.approval_card(card)), place.message)
            )
        # A card not posted yet is shown as it now is when it is (ApprovalService.posted).
        return Sent({"updated": updated})

    async def to_personal(self, asked_in: Activity, card: dict[str, Any]) -> bool:
        """Send `card`, a private answer asked for in a channel or group chat, to the asker's
        personal chat with the bot: the one kept for them, else one created with them (a bot
        may start a 1:1 chat with a member of a conversation it is in). False when neither
        can be reached: then nothing was sent."""
        user = inbound.user_of(asked_in)
        if not user.id:
            return False
        try:
            reference = await self._conversations.get(key=user_key(user.id))
            if reference is not None:
                await self._send(reference, card_activity(card))
                return True
            return await self._create_personal(asked_in, card)
        except Exception as exc:  # whatever the connector said: the asker is told where to ask
            log.warning(
                "cannot answer in the asker's personal chat",
                extra={"error": f"{type(exc).__name__}: {exc}"[:300]},
            )
            return False

    async def _create_personal(self, asked_in: Activity, card: dict[str, Any]) -> bool:
        """Start a 1:1 chat with the asker, post `card` in it, and keep it for them (where
        nothing is kept yet) as a personal chat they opened would be."""
        service_url = asked_in.service_url or ""
        sender, agent = asked_in.from_property, asked_in.recipient
        tenant = inbound.workspace_of(asked_in).team_id
        if not self._app_id or sender is None or agent is None or not tenant:
            return False  # the Emulator has no channels, and creating takes credentials
        if not service_url or (self._urls is not None and not self._urls.is_allowed(service_url)):
            return False
        scope = f"teams:{tenant}:send"
        await self._gate.check(scope)
        params = ConversationParameters(
            is_group=False,
            agent=agent,
            members=[ChannelAccount(id=sender.id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        made: dict[str, Any] = {}

        async def callback(context: TurnContext) -> None:
            try:  # carried out of the pipeline, as in _send
                made["conversation"] = context.activity.conversation.id
                await context.send_activity(card_activity(card))
            except Exception as exc:
                made["error"] = exc

        audience = self._adapter.create_claims_identity(self._app_id).get_token_audience()
        channel = str(asked_in.channel_id or "msteams")
        await self._adapter.create_conversation(
            self._app_id, channel, service_url, audience, params, callback
        )
        if "error" in made:
            error = made["error"]
            if isinstance(error, aiohttp.ClientResponseError) and error.status == 429:
                await self._gate.limited(scope, _retry_after(error) or 1.0)
            raise error
        reference = ConversationReference(
            channel_id=channel,
            service_url=service_url,
            agent=agent,
            user=sender,
            conversation=ConversationAccount(
                id=made["conversation"], tenant_id=tenant, conversation_type="personal"
            ),
        )
        await self._conversations.save(
            key=user_key(inbound.user_of(asked_in).id),
            reference=reference.model_dump(mode="json", by_alias=True, exclude_none=True),
            replace=False,
        )
        return True

    async def _coverage(self, message: OutboxMessage, job: payloads.Coverage) -> Outcome:
        """The report as computed when the message was written (the weekly digest of a
        tenant apart, in its settings), else computed now in the tenant's settings."""
        async with inside(self._settings, workspace.current(), platform="teams"):
            report = await report_to_send(self._coverage_service, job.period, job.report)
        if isinstance(report, str):
            return Failed(report)
        card = cards.coverage(report, chart_url(self._chart_url, report))
        return await self._post(self._key(message), card)

    async def _send(
        self, reference: dict[str, Any], activity: Activity, update_id: str | None = None
    ) -> str:
        """Send (or replace) one activity in a stored conversation; returns its id. The
        shared rate gate is asked first and told of a 429 (per tenant and operation)."""
        ref = ConversationReference.model_validate(reference)
        if self._urls is not None and not self._urls.is_allowed(ref.service_url):
            # A reference stored before the rules tightened, or by hand: never post there.
            raise ServiceUrlRefused("the stored serviceUrl is not an allowed Teams host")
        tenant = ref.conversation.tenant_id if ref.conversation else None
        workspace = tenant or urllib.parse.urlsplit(ref.service_url or "").hostname or "-"
        scope = f"teams:{workspace}:{'update' if update_id else 'send'}"
        await self._gate.check(scope)
        outcome: dict[str, Any] = {}

        async def callback(context: TurnContext) -> None:
            # Errors are carried out of the pipeline so that the adapter's turn-error
            # handler does not swallow them (the outbox decides about retries).
            try:
                if update_id:
                    activity.id = update_id
                    await context.update_activity(activity)
                    outcome["id"] = update_id
                else:
                    sent = await context.send_activity(activity)
                    outcome["id"] = sent.id if sent else None
            except Exception as exc:
                outcome["error"] = exc

        continuation = ref.get_continuation_activity()
        if self._app_id:
            await self._adapter.continue_conversation(self._app_id, continuation, callback)
        else:  # Emulator mode: no credentials, replies go to the stored serviceUrl
            await self._adapter.continue_conversation_with_claims(
                ClaimsIdentity({}, None), continuation, callback
            )
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, aiohttp.ClientResponseError) and error.status == 429:
                await self._gate.limited(scope, _retry_after(error) or 1.0)
            raise error
        return str(outcome.get("id") or "")

    async def _triage(self, job: payloads.Triage) -> Outcome:
        # Delivered outside any request: the card is read in its item's workspace.
        with workspace.using(await self._feedback.workspace_of(job.item_id)):
            return await self._triage_card(job)

    async def _triage_card(self, job: payloads.Triage) -> Outcome:
        reference = await self._conversations.get(key=TRIAGE_KEY)
        if reference is None:
            return Failed("no Teams triage channel: a PM sends 'use this channel for triage'")
        item = await self._feedback.get(job.item_id)
        if item is None:
            return Failed("item no longer exists")
        if item.triage_channel and item.triage_channel != TRIAGE_KEY:
            return Failed("this item's triage card lives on Slack")
        reminder = job.reason is TriageReason.REMINDER
        card = cards.triage(await self._feedback.triage_view(item, reminder=reminder))
        existing = item.triage_ts if item.triage_channel == TRIAGE_KEY else None
        if existing and job.reason is TriageReason.REFRESH:
            await self._send(reference, card_activity(card), update_id=existing)
            return Sent({"id": existing, "updated": True})
        if not existing and job.reason is not TriageReason.FIRST:
            return RetryLater("triage card not posted yet", retry_after=1.0)
        activity_id = await self._send(reference, card_activity(card))
        if not existing:  # a reminder leaves the original card as the one kept up to date
            await self._feedback.remember_triage_message(item.id, TRIAGE_KEY, activity_id)
        return Sent({"id": activity_id})


def _retry_after(exc: aiohttp.ClientResponseError) -> float | None:
    raw = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
