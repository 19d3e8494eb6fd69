"""Delivers outbox messages to Teams proactively: DMs and triage cards (posted, then updated)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from microsoft_agents.activity import Activity, ConversationReference
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext

from bot.feedback import DecisionNotice, FeedbackService, Status
from bot.outbox import Failed, OutboxMessage, Outcome, RetryLater, Sent
from handlers.teams import cards
from handlers.teams.bot import card_activity, triage_card
from handlers.teams.inbound import ANNOUNCE_KEY, TRIAGE_KEY, user_key
from store.conversations import SqlConversations

# Microsoft's guidance for the connector: retry 429, 412, 502 and 504 with backoff.
RETRY_STATUSES = frozenset({408, 412, 429, 500, 502, 503, 504})
NOT_TAKEN = frozenset({412, 429})  # refused before anything was posted

log = logging.getLogger(__name__)


class TeamsNotifier:
    def __init__(
        self,
        *,
        adapter: CloudAdapter,
        app_id: str | None,
        conversations: SqlConversations,
        feedback: FeedbackService,
    ) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._conversations = conversations
        self._feedback = feedback

    async def deliver(self, message: OutboxMessage) -> Outcome:
        if message.unsure:
            # The connector cannot list a conversation's activities, so there is no way to
            # look for an earlier delivery: this one may repeat (at-least-once).
            log.warning(
                "re-sending a Teams message an earlier attempt may have delivered",
                extra={"outbox_id": message.id, "kind": message.kind},
            )
        try:
            if message.payload.get("type") == "digest":
                return await self._digest(message)
            if message.kind == "dm":
                return await self._dm(message)
            if message.kind == "triage":
                return await self._triage(message)
            return Failed(f"unknown outbox kind {message.kind!r}")
        except aiohttp.ClientResponseError as exc:
            if exc.status in RETRY_STATUSES:
                retry_after = (exc.headers or {}).get("Retry-After")
                try:
                    wait = float(retry_after) if retry_after else None
                except ValueError:
                    wait = None
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

    async def _send(
        self, reference: dict[str, Any], activity: Activity, update_id: str | None = None
    ) -> str:
        """Send (or replace) one activity in a stored conversation; returns its id."""
        ref = ConversationReference.model_validate(reference)
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
                ClaimsIdentity({}, False), continuation, callback
            )
        if "error" in outcome:
            raise outcome["error"]
        return str(outcome.get("id") or "")

    async def _digest(self, message: OutboxMessage) -> Outcome:
        key = ANNOUNCE_KEY if message.kind == "announce" else user_key(message.target)
        reference = await self._conversations.get(key=key)
        if reference is None:
            return Failed(f"no Teams conversation for {key}")
        p = message.payload
        card = cards.digest(str(p.get("title") or ""), [str(x) for x in p.get("lines", [])])
        return Sent({"id": await self._send(reference, card_activity(card))})

    async def _dm(self, message: OutboxMessage) -> Outcome:
        reference = await self._conversations.get(key=user_key(message.target))
        if reference is None:
            return Failed("no conversation with this user yet (they have not used the bot)")
        p = message.payload
        notice = DecisionNotice(
            item_id=int(p["item"]),
            title=str(p.get("title") or ""),
            status=Status(p["status"]),
            note=p.get("note"),
            by=str(p.get("by") or ""),
            merged_into=p.get("merged_into"),
        )
        activity_id = await self._send(reference, card_activity(cards.decision(notice)))
        return Sent({"id": activity_id})

    async def _triage(self, message: OutboxMessage) -> Outcome:
        reference = await self._conversations.get(key=TRIAGE_KEY)
        if reference is None:
            return Failed("no Teams triage channel: a PM sends 'use this channel for triage'")
        item = await self._feedback.get(int(message.payload["item"]))
        if item is None:
            return Failed("item no longer exists")
        card = await triage_card(self._feedback, item)
        existing = item.triage_ts if item.triage_channel == TRIAGE_KEY else None
        reminder = ":triage:remind" in message.dedupe_key
        if existing and not reminder:
            await self._send(reference, card_activity(card), update_id=existing)
            return Sent({"id": existing, "updated": True})
        if not message.dedupe_key.endswith(":triage:new") and not reminder:
            return RetryLater("triage card not posted yet", retry_after=1.0)
        activity_id = await self._send(reference, card_activity(card))
        if not existing:  # a reminder leaves the original card as the one kept up to date
            await self._feedback.remember_triage_message(item.id, TRIAGE_KEY, activity_id)
        return Sent({"id": activity_id})
