"""The Teams ActivityHandler: parse each activity to a neutral input, let bot/ decide, render
the outcome as cards. Channel settings and conversation references are Teams' own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment, InvokeResponse
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from pydantic import ValidationError

from bot import workspace
from bot.channels import CHANNEL_ONLY, KEPT_UNAUTHENTICATED, ChannelSetting, UnknownSetting
from bot.commands import CoverageCsv
from bot.feedback import FORM_TITLE
from bot.ids import ActionId
from bot.interactions import (
    MESSAGE_ME_PRIVATELY,
    SENT_PRIVATELY,
    SHARED,
    Ask,
    FormErrors,
    Interaction,
    Interactions,
    Outcome,
    Show,
)
from bot.ports import ConversationStore, SeenStore
from bot.replies import Notice
from bot.reports import Report
from bot.types import Refused
from handlers.teams import cards, inbound
from handlers.teams.keys import channel_key, user_key

log = logging.getLogger(__name__)

MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
SEARCH_RESULTS = 15  # Teams shows at most 15 type-ahead results


def card_activity(card: dict[str, Any]) -> Activity:
    """A message carrying one card; `text` and `summary` hold the one-line fallback."""
    fallback = str(card.get("fallbackText") or "")
    return Activity(
        type=ActivityTypes.message,
        text=fallback,
        summary=fallback,
        attachments=[Attachment(content_type=cards.CARD_CONTENT_TYPE, content=card)],
    )


def _invoke(body: dict[str, Any], status: int = 200) -> InvokeResponse:
    return InvokeResponse(status=status, body=body)


def card_response(card: dict[str, Any]) -> InvokeResponse:
    """Replace the card the user acted on (Universal Actions)."""
    return _invoke({"statusCode": 200, "type": cards.CARD_CONTENT_TYPE, "value": card})


def toast(message: str) -> InvokeResponse:
    return _invoke({"statusCode": 200, "type": MESSAGE_TYPE, "value": cards.safe_line(message)})


def dialog(card: dict[str, Any]) -> InvokeResponse:
    """A message extension's dialog (task module) showing `card`."""
    return _invoke(
        {
            "task": {
                "type": "continue",
                "value": {
                    "title": FORM_TITLE,
                    "height": "large",
                    "width": "medium",
                    "card": {"contentType": cards.CARD_CONTENT_TYPE, "content": card},
                },
            }
        }
    )


class TeamsBot(ActivityHandler):
    def __init__(
        self,
        *,
        interactions: Interactions,
        conversations: ConversationStore,
        wake: Callable[[], None],
        seen: SeenStore | None = None,
        chart_url: ChartUrl | None = None,
        csv_url: CsvUrl | None = None,
        isolated: bool = False,  # Settings.isolates_workspaces
        personal: Personal | None = None,
    ) -> None:
        self._personal = personal
        self._interactions = interactions
        self._isolated = isolated
        self._chart_url = chart_url
        self._csv_url = csv_url
        self._conversations = conversations
        self._wake = wake
        self._seen = seen

    async def on_turn(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        activity = turn_context.activity
        if activity.type == ActivityTypes.message and activity.id and activity.conversation:
            # Teams re-sends an activity it thinks took too long: answer it once.
            key = f"teams:{inbound.delivery_of(activity)}"
            if self._seen is not None and not await self._seen.first_time(key):
                return
        settings = self._interactions.settings
        here = inbound.workspace_of(activity, isolated=self._isolated)
        tenant = (  # the tenant's settings are in effect for the turn
            contextlib.nullcontext() if settings is None else settings.entered(here)
        )
        with workspace.using(here):
            await self._remember(turn_context)  # under the tenant's scope, as all it writes
            async with tenant:
                await super().on_turn(turn_context)

    async def _remember(self, turn_context: TurnContext) -> None:
        """Keep where to reach this user (personal chat) for proactive messages later."""
        activity = turn_context.activity
        conversation = activity.conversation
        if conversation is None or not inbound.is_personal(activity):
            return
        user = inbound.user_of(activity)
        if not user.id:
            return
        reference = _reference(activity)
        if reference is not None:
            await self._conversations.save(
                key=user_key(user.id), reference=reference, replace=_authenticated(turn_context)
            )
        await self._interactions.feedback.remember_name(user, inbound.name_of(activity))

    async def _render(self, outcome: Outcome, *, in_dialog: bool = False) -> dict[str, Any]:
        if outcome.enqueue or outcome.wake:
            self._wake()  # the use case wrote to the outbox (Teams enqueues nothing itself)
        if isinstance(outcome, Show) and isinstance(outcome.reply, Report):
            return cards.coverage(outcome.reply, chart_url(self._chart_url, outcome.reply))
        if isinstance(outcome, Show) and isinstance(outcome.reply, CoverageCsv):
            report = outcome.reply.report
            return cards.coverage_csv(
                outcome.reply, self._csv_url(report) if self._csv_url else None
            )
        return cards.outcome(outcome, in_dialog=in_dialog)

    # -- chat

    async def on_message_activity(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        activity = turn_context.activity
        pressed = inbound.submitted(activity)
        if pressed is not None:  # an Action.Submit from a client without Action.Execute
            await self._submit_fallback(turn_context, pressed)
            return
        line = inbound.command_text(activity)
        user = inbound.user_of(activity)
        sent = inbound.sent_file(activity)
        if sent is not None:  # a deck for a briefing (the card form has no file input)
            url, name = sent
            kept = await self._interactions.sent_file(user=user, text=line, ref=url, name=name)
            await turn_context.send_activity(card_activity(await self._render(kept)))
            return
        setting = await self._interactions.channel_setting(user, line)
        if setting is not None:
            await self._set_channel(turn_context, setting)
            return
        outcome = await self._interactions.line(user=user, line=line)
        card = await self._render(outcome)
        told = await self._privately(turn_context, outcome, card)
        await turn_context.send_activity(card_activity(cards.render(told) if told else card))

    async def _privately(
        self, turn_context: TurnContext, outcome: Outcome, card: dict[str, Any]
    ) -> Notice | None:
        """A private answer (bot.interactions.Show.private) asked for where everyone in the
        conversation would see it: sent to the asker's personal chat instead. Returns what
        the conversation is told in its place (None: answer here, as asked)."""
        activity = turn_context.activity
        if not (isinstance(outcome, Show) and outcome.private) or inbound.is_personal(activity):
            return None
        sent = self._personal is not None and await self._personal(activity, card)
        return Notice(SENT_PRIVATELY if sent else MESSAGE_ME_PRIVATELY)

    async def _submit_fallback(self, turn_context: TurnContext, pressed: Interaction) -> None:
        outcome = await self._interactions.handle(pressed)
        card = await self._render(outcome)
        told = await self._privately(turn_context, outcome, card)
        if told is not None:
            await turn_context.send_activity(card_activity(cards.render(told)))
            return
        replaces = turn_context.activity.reply_to_id
        if replaces and not _is_shared(outcome):
            update = card_activity(card)
            update.id = replaces
            await turn_context.update_activity(update)
        else:
            await turn_context.send_activity(card_activity(card))

    async def _set_channel(
        self, turn_context: TurnContext, setting: ChannelSetting | UnknownSetting | Refused
    ) -> None:
        activity = turn_context.activity
        if isinstance(setting, ChannelSetting) and not inbound.is_channel(activity):
            setting = Refused(CHANNEL_ONLY)
        if isinstance(setting, ChannelSetting):
            reference = _reference(activity, thread=False)
            if reference is None:
                return
            stored = await self._conversations.save(
                key=channel_key(setting), reference=reference, replace=_authenticated(turn_context)
            )
            notice = Notice(setting.confirmation if stored else KEPT_UNAUTHENTICATED)
        else:
            notice = Notice(setting.message)
        await turn_context.send_activity(card_activity(cards.render(notice)))

    async def on_members_added_activity(  # type: ignore[override]
        self, members_added: list[Any], turn_context: TurnContext
    ) -> None:
        """The app was added to a personal chat: welcome with what it can do for you."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if inbound.is_personal(activity) and any(m.id == bot_id for m in members_added):
            home = await self._interactions.home(inbound.user_of(activity))
            await turn_context.send_activity(card_activity(cards.welcome(home)))

    # -- invokes: card actions, type-ahead search, the message extension

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:  # type: ignore[override]
        activity = turn_context.activity
        if activity.name == "application/search":
            dataset, query = inbound.search_query(activity)
            choices = await self._interactions.search(dataset, query, limit=SEARCH_RESULTS)
            return _invoke(cards.search_response(choices))
        if activity.name == "adaptiveCard/action":
            outcome = await self._interactions.handle(inbound.execute(activity))
            card = await self._render(outcome)
            told = await self._privately(turn_context, outcome, card)
            if told is not None:  # the card pressed stays as it was
                return toast(told.text)
            if _is_shared(outcome):  # posted for everyone in the conversation
                await turn_context.send_activity(card_activity(card))
                return toast(SHARED)
            return self._answer(outcome, card)
        if activity.name == "composeExtension/fetchTask":
            return await self._fetch_task(activity)
        if activity.name == "composeExtension/submitAction":
            outcome = await self._interactions.handle(inbound.extension_submission(activity))
            if isinstance(outcome, Ask | FormErrors):  # the dialog again, to fix or to go on
                return dialog(await self._render(outcome, in_dialog=True))
            card = await self._render(outcome)
            return _invoke({"composeExtension": {"type": "message", "text": card["fallbackText"]}})
        return _invoke({"error": "unsupported invoke"}, 400)  # never a 5xx for input

    @staticmethod
    def _answer(outcome: Outcome, card: dict[str, Any]) -> InvokeResponse:
        message = cards.toast_text(outcome)
        return toast(message) if message is not None else card_response(card)

    async def _fetch_task(self, activity: Activity) -> InvokeResponse:
        if inbound.extension_command(activity) != ActionId.FROM_MESSAGE:
            return _invoke({"error": "unknown command"}, 400)
        text, link = inbound.extension_message(activity)
        outcome = await self._interactions.handle(
            Interaction(
                inbound.user_of(activity),
                ActionId.FROM_MESSAGE,
                values={"details": text or None},
                state={"permalink": link} if link else {},
            )
        )
        return dialog(await self._render(outcome, in_dialog=True))


def _authenticated(turn_context: TurnContext) -> bool:
    """The turn came with a verified Bot Framework token. An unauthenticated (Emulator)
    activity may store where to reach someone the first time, never replace it: whoever
    can reach the endpoint could otherwise reroute a PM's DMs or the triage channel."""
    identity = turn_context.identity
    return identity is not None and not identity.allow_anonymous


def _is_shared(outcome: Outcome) -> bool:
    return isinstance(outcome, Show) and outcome.shared_by is not None


def _reference(activity: Activity, *, thread: bool = True) -> dict[str, Any] | None:
    """The activity's conversation reference; thread=False keeps a channel, not the thread a
    message was typed in, so that posts there start threads of their own."""
    try:
        reference: dict[str, Any] = activity.get_conversation_reference().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    except ValidationError:  # an activity too incomplete to answer later: skip it
        return None
    if not thread:
        conversation = reference.get("conversation") or {}
        conversation["id"] = str(conversation.get("id") or "").split(";messageid=")[0]
    return reference


# Sends a private answer's card to the personal chat of whoever sent the activity.
Personal = Callable[[Activity, dict[str, Any]], Awaitable[bool]]
ChartUrl = Callable[[Report], list[str]]  # a link per page of the chart
CsvUrl = Callable[[Report], str]


def chart_url(make: ChartUrl | None, report: Report) -> list[str]:
    """Where Teams fetches the report's chart, one link per page (none without PUBLIC_URL and
    LINK_SECRET, or with no region to draw)."""
    return make(report) if make is not None and report.regions else []
