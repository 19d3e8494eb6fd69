"""The Teams ActivityHandler: commands in chat, card actions, search, references kept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment, InvokeResponse
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from pydantic import ValidationError

from bot.briefings import Refused as BriefingRefused
from bot.briefings import describe
from bot.commands import Bot, split_command
from bot.editing import EditRefused, saved_text
from bot.feedback import (
    ACTION_STATUS,
    NOT_A_PM,
    Action,
    AlreadyDecided,
    Decided,
    FeedbackService,
    Invalid,
    Refused,
    SimilarFound,
    Submitted,
    Supported,
    confirmation,
    feedback_form,
)
from bot.forms import is_number
from bot.replies import Notice
from bot.reports import Report
from handlers.teams import cards
from handlers.teams.inbound import (
    ANNOUNCE_KEY,
    ANNOUNCE_PHRASE,
    TRIAGE_KEY,
    TRIAGE_PHRASE,
    command_text,
    invoke_parts,
    is_channel,
    user_key,
    user_of,
)
from store.conversations import SqlConversations
from store.seen import SqlSeen

log = logging.getLogger(__name__)

TRIAGE_SET = "This channel now receives feedback for triage."
ANNOUNCE_SET = "This channel now receives product announcements."
TRIAGE_CHANNEL_ONLY = "Send that in the Teams channel that should receive it."
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"


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
    return _invoke({"statusCode": 200, "type": CARD_TYPE, "value": card})


def toast(message: str) -> InvokeResponse:
    return _invoke({"statusCode": 200, "type": MESSAGE_TYPE, "value": message})


class TeamsBot(ActivityHandler):
    def __init__(
        self,
        *,
        bot: Bot,
        feedback: FeedbackService,
        conversations: SqlConversations,
        wake: Callable[[], None],
        seen: SqlSeen | None = None,
    ) -> None:
        self._seen = seen
        self._bot = bot
        self._feedback = feedback
        self._conversations = conversations
        self._wake = wake

    async def on_turn(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        activity = turn_context.activity
        if activity.type == ActivityTypes.message and activity.id and activity.conversation:
            # Teams re-sends an activity it thinks took too long: answer it once.
            key = f"teams:{activity.conversation.id}:{activity.id}"
            if self._seen is not None and not await self._seen.first_time(key):
                return
        await self._remember(turn_context.activity)
        await super().on_turn(turn_context)

    async def _remember(self, activity: Activity) -> None:
        """Keep where to reach this user (personal chat) for proactive messages later."""
        conversation = activity.conversation
        if conversation is None or conversation.conversation_type not in (None, "personal"):
            return
        user = user_of(activity)
        if not user.id:
            return
        try:
            reference = activity.get_conversation_reference().model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        except ValidationError:  # an activity too incomplete to answer later: skip it
            return
        await self._conversations.save(key=user_key(user.id), reference=reference)

    # -- chat

    async def on_message_activity(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        activity = turn_context.activity
        line = command_text(activity)
        user = user_of(activity)
        phrase = line.casefold().rstrip(".!")
        if phrase in (TRIAGE_PHRASE, ANNOUNCE_PHRASE):
            key = TRIAGE_KEY if phrase == TRIAGE_PHRASE else ANNOUNCE_KEY
            notice = await self._set_channel(activity, key)
            await turn_context.send_activity(card_activity(cards.render(notice)))
            return
        name, rest = split_command(line)
        if name == "feedback":
            spec = feedback_form(values={"details": rest[:3000] or None})
            await turn_context.send_activity(card_activity(cards.form(spec)))
            return
        if name not in ("product", "help", "briefing", "coverage"):
            line = "product " + line  # a bare question is a lookup
        reply = await self._bot.handle_line(user=user, line=line)
        if isinstance(reply, Report):  # with its chart, drawn off the event loop
            png = await asyncio.to_thread(_chart, reply)
            await turn_context.send_activity(card_activity(cards.coverage(reply, png)))
            return
        await turn_context.send_activity(card_activity(cards.render(reply)))

    async def _set_channel(self, activity: Activity, key: str) -> Notice:
        user = user_of(activity)
        if not is_channel(activity):
            return Notice(TRIAGE_CHANNEL_ONLY)
        if not self._feedback.may_decide(user):
            log.warning("channel setting refused", extra={"user": user.id, "key": key})
            return Notice(NOT_A_PM)
        reference = activity.get_conversation_reference().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        await self._conversations.save(key=key, reference=reference)
        return Notice(TRIAGE_SET if key == TRIAGE_KEY else ANNOUNCE_SET)

    # -- invokes: card actions and type-ahead search

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:  # type: ignore[override]
        activity = turn_context.activity
        if activity.name == "application/search":
            return await self._search(activity)
        if activity.name == "adaptiveCard/action":
            verb, data = invoke_parts(activity)
            if verb == "feedback.submit":
                return await self._submit(activity, data)
            if verb == "product.edit":
                return await self._edit(activity, data)
            if verb == "briefing.save":
                return await self._briefing(activity, data)
            if verb == "product.editform":
                return await self._edit_form(activity, data)
            if verb == "product.verify":
                return await self._verify(activity, data)
            if verb in {a.value for a in Action}:
                return await self._decide(activity, Action(verb), data)
            return toast("That button is no longer supported.")
        return _invoke({"error": "unsupported invoke"}, 400)  # never a 5xx for input

    async def _search(self, activity: Activity) -> InvokeResponse:
        value = activity.value if isinstance(activity.value, dict) else {}
        query = str(value.get("queryText") or "")[:200]
        choices = await self._feedback.product_choices(query)
        return _invoke(
            {
                "type": "application/vnd.microsoft.search.searchResponse",
                "value": {"results": [{"title": c.label, "value": c.value} for c in choices[:50]]},
            }
        )

    async def _submit(self, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
        values = {k: (str(v) if v not in (None, "") else None) for k, v in data.items()}
        result = await self._feedback.submit(
            user=user_of(activity), values=values, permalink=values.get("permalink")
        )
        label = await self._feedback.product_label(values.get("product"))
        if isinstance(result, Invalid | Refused):
            errors = (
                result.errors if isinstance(result, Invalid) else {"duplicate_of": result.message}
            )
            return card_response(
                cards.form(
                    feedback_form(values=values, product_label=label), errors=errors, values=values
                )
            )
        if isinstance(result, SimilarFound):
            spec = feedback_form(values=values, product_label=label, similar=result.similar)
            return card_response(cards.form(spec, values=values))
        self._wake()
        assert isinstance(result, Submitted | Supported)
        return card_response(cards.render(Notice(confirmation(result))))

    async def _briefing(self, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
        briefings = self._bot.briefings
        assert briefings is not None
        # Teams sends a multi-select as "A,B"; the form spec joins values with newlines.
        values = {
            k: (str(v).replace(",", "\n") if k in ("regions", "products", "attendees") else str(v))
            if v not in (None, "")
            else None
            for k, v in data.items()
        }
        raw = str(data.get("briefing") or "")
        result = await briefings.save(
            user=user_of(activity), values=values, briefing_id=int(raw) if is_number(raw) else None
        )
        if isinstance(result, BriefingRefused):
            return toast(result.message)
        if isinstance(result, dict):
            form = await briefings.form(
                user=user_of(activity), briefing_id=int(raw) if is_number(raw) else None
            )
            assert not isinstance(form, BriefingRefused)
            return card_response(cards.form(form, errors=result, values=values))
        return card_response(cards.render(Notice(f"Saved: {describe(result)}")))

    async def _edit_form(self, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
        assert self._bot.editor is not None
        form = await self._bot.editor.form(
            user=user_of(activity), sku=str(data.get("sku") or "")[:64]
        )
        if isinstance(form, EditRefused):
            return toast(form.message)
        return card_response(cards.form(form))

    async def _verify(self, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
        return toast(await self._bot.verify(user=user_of(activity), sku=str(data.get("sku") or "")))

    async def _edit(self, activity: Activity, data: dict[str, Any]) -> InvokeResponse:
        editor = self._bot.editor
        assert editor is not None
        user = user_of(activity)
        sku = str(data.get("sku") or "")[:64]
        values = {k: (str(v) if v not in (None, "") else None) for k, v in data.items()}
        result = await editor.submit(user=user, sku=sku, values=values)
        if isinstance(result, EditRefused):
            log.warning("edit refused", extra={"user": user.id, "sku": sku})
            return toast(result.message)
        if isinstance(result, dict):
            form = await editor.form(user=user, sku=sku)
            assert not isinstance(form, EditRefused)
            return card_response(cards.form(form, errors=result, values=values))
        self._wake()
        return card_response(cards.render(Notice(saved_text(result))))

    async def _decide(
        self, activity: Activity, action: Action, data: dict[str, Any]
    ) -> InvokeResponse:
        user = user_of(activity)
        raw_item = str(data.get("item") or "")
        if not is_number(raw_item):
            return toast("That card no longer points at a feedback item.")
        item_id = int(raw_item)
        note = str(data.get("note") or "").strip() or None
        target = str(data.get("target") or "")
        result = await self._feedback.decide(
            user=user,
            item_id=item_id,
            action=action,
            note=note,
            merge_into=int(target) if is_number(target) else None,
        )
        if isinstance(result, Decided):
            self._wake()
            return await self._triage_card(item_id)
        if isinstance(result, Refused) and result.message == NOT_A_PM:
            log.warning(
                "triage attempt refused",
                extra={"user": user.id, "item": item_id, "action": ACTION_STATUS[action].value},
            )
        message = result.message if isinstance(result, Refused | AlreadyDecided) else ""
        return await self._triage_card(item_id, message)

    async def _triage_card(self, item_id: int, message: str | None = None) -> InvokeResponse:
        item = await self._feedback.get(item_id)
        if item is None:
            return toast(f"There is no feedback #{item_id}.")
        return card_response(await triage_card(self._feedback, item, message))


async def triage_card(
    feedback: FeedbackService, item: Any, message: str | None = None
) -> dict[str, Any]:
    view = await feedback.catalog_view()
    region = view.catalog.regions.get(item.region_code or "")
    targets = await feedback.merge_targets(item) if item.is_open else []
    return cards.triage(
        item,
        similar=await feedback.similar_open_to(item),
        region_name=region.name if region else None,
        merge_targets=targets,
        message=message,
    )


def _chart(report: Report) -> bytes:
    # matplotlib is imported on first use: most processes never draw a chart.
    from handlers.charts import coverage_png

    return coverage_png(report)
