"""Slack listeners for feedback: /feedback, the message shortcut, the product picker,
submissions, triage buttons, notes, and App Home."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.editing import (
    NOT_ALLOWED,
    EditRefused,
    ProductEditor,
    competitive_form,
    told_submitter,
)
from bot.feedback import (
    ASKS_FOR_NOTE,
    FORM_TITLE,
    NO_PRODUCT,
    NOT_A_PM,
    Action,
    AlreadyDecided,
    Decided,
    FeedbackService,
    Invalid,
    Refused,
    SimilarFound,
    Supported,
    confirmation,
    feedback_form,
    note_form,
)
from bot.forms import is_number
from handlers.slack import blocks, views
from handlers.slack.inbound import user_of

log = logging.getLogger(__name__)

SHORTCUT = "feedback.from_message"
PRODUCT_PICKER = views.SEARCH_PREFIX + "product"
TRIAGE_ACTIONS = re.compile(r"^triage\.(now|later|decline|merge|actioned)$")


def _item_id(body: dict[str, Any]) -> int | None:
    value = str((body.get("actions") or [{}])[0].get("value") or "")
    return int(value) if is_number(value) and len(value) < 12 else None


def register(
    app: AsyncApp,
    feedback: FeedbackService,
    wake: Callable[[], None],
    editor: ProductEditor | None = None,
) -> None:
    async def open_form(
        client: AsyncWebClient, trigger_id: str, *, text: str = "", permalink: str | None = None
    ) -> None:
        spec = feedback_form(values={"details": text[:3000] or None}, permalink=permalink)
        await client.views_open(trigger_id=trigger_id, view=views.modal(spec))

    @app.command("/feedback")
    async def feedback_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_form(client, body["trigger_id"], text=body.get("text") or "")

    @app.shortcut(SHORTCUT)
    async def from_message(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        permalink = None
        if channel and message.get("ts"):
            try:
                got = await client.chat_getPermalink(channel=channel, message_ts=message["ts"])
                permalink = got.get("permalink")
            except Exception:  # the form is still useful without the link
                log.warning("could not get a permalink")
        await open_form(
            client, body["trigger_id"], text=message.get("text") or "", permalink=permalink
        )

    @app.options(re.compile(r"^search\.products?$"))
    async def product_options(ack: AsyncAck, body: dict[str, Any]) -> None:
        choices = await feedback.product_choices(str(body.get("value") or "")[:200])
        if body.get("action_id") != PRODUCT_PICKER:  # several products: a real one each
            choices = [c for c in choices if c.value != NO_PRODUCT]
        await ack(
            options=[
                {"text": {"type": "plain_text", "text": c.label}, "value": c.value}
                for c in choices[:100]
            ]
        )

    @app.view("feedback.submit")
    async def submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        values = views.values_of(view)
        state = views.state_of(view)
        result = await feedback.submit(
            user=user_of(body), values=values, permalink=state.get("permalink")
        )
        if isinstance(result, Invalid):
            await ack(response_action="errors", errors=result.errors)
        elif isinstance(result, Refused):
            await ack(response_action="errors", errors={"duplicate_of": result.message})
        elif isinstance(result, SimilarFound):
            spec = feedback_form(
                values=values,
                permalink=state.get("permalink"),
                product_label=await feedback.product_label(values.get("product")),
                similar=result.similar,
            )
            await ack(response_action="update", view=views.modal(spec))
        else:  # Submitted or Supported
            wake()
            title = "Added your client" if isinstance(result, Supported) else FORM_TITLE
            await ack(
                response_action="update",
                view=views.message_view(title, blocks.esc(confirmation(result))),
            )

    @app.action(TRIAGE_ACTIONS)
    async def triage(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user = user_of(body)
        item_id = _item_id(body)
        action = Action(body["actions"][0]["action_id"])
        if item_id is None:
            await respond(
                text="That button no longer points at a feedback item.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        if action in ASKS_FOR_NOTE:
            got = await feedback.authorize(user=user, item_id=item_id)
            if isinstance(got, Refused):
                _log_refusal(got, user.id, item_id, action)
                await respond(text=got.message, response_type="ephemeral", replace_original=False)
                return
            targets = await feedback.merge_targets(got) if action is Action.MERGE else []
            if action is Action.MERGE and not targets:
                await respond(
                    text="There is no other open item to merge into.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            await client.views_open(
                trigger_id=body["trigger_id"], view=views.modal(note_form(action, got, targets))
            )
            return
        result = await feedback.decide(user=user, item_id=item_id, action=action)
        if isinstance(result, Decided):
            wake()
        else:
            if isinstance(result, Refused):
                _log_refusal(result, user.id, item_id, action)
            message = (
                result.message_for(mention)
                if isinstance(result, AlreadyDecided)
                else result.message
            )
            await respond(text=message, response_type="ephemeral", replace_original=False)

    @app.view("triage.note")
    async def note(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        state = views.state_of(view)
        values = views.values_of(view)
        try:
            action = Action(state.get("action", ""))
            item_id = int(state.get("item", ""))
        except ValueError:
            await ack(response_action="errors", errors={"note": "This form is out of date."})
            return
        target = values.get("target")
        result = await feedback.decide(
            user=user_of(body),
            item_id=item_id,
            action=action,
            note=values.get("note"),
            merge_into=int(target) if target and is_number(target) else None,
        )
        if isinstance(result, Decided):
            wake()
            await ack()
        else:
            if isinstance(result, Refused):
                _log_refusal(result, user_of(body).id, item_id, action)
            field = (
                "target"
                if action is Action.MERGE
                and isinstance(result, Refused)
                and "merge" in result.message
                else "note"
            )
            text = (
                result.message_for(mention)
                if isinstance(result, AlreadyDecided)
                else result.message
            )
            await ack(response_action="errors", errors={field: text})

    if editor is not None:
        _register_compete(app, feedback, wake, editor)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient, body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = user_of({"user": {"id": event.get("user")}})
        mine = await feedback.my_items(user)
        queue = await feedback.queue() if feedback.may_decide(user) else None
        await client.views_publish(user_id=user.id, view=blocks.home(mine, queue))


def _log_refusal(
    refused: Refused | AlreadyDecided, user: str, item_id: int, action: Action
) -> None:
    if isinstance(refused, Refused) and refused.message == NOT_A_PM:
        # Someone who is not a PM pressed a PM's button: worth a line in the log.
        log.warning(
            "triage attempt refused", extra={"user": user, "item": item_id, "action": action.value}
        )


def _register_compete(
    app: AsyncApp, feedback: FeedbackService, wake: Callable[[], None], editor: ProductEditor
) -> None:
    """Feedback feeds knowledge: a competitive development becomes part of the answer."""

    @app.action(blocks.COMPETE_ACTION)
    async def compete(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user = user_of(body)
        item_id = _item_id(body)
        item = await feedback.get(item_id) if item_id else None
        product = await editor.product(item.product_sku) if item and item.product_sku else None
        if item is None or product is None:
            await respond(
                text="That item or its product is gone.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        if not editor.may_edit(user, product):
            log.warning("compete refused", extra={"user": user.id, "item": item.id})
            await respond(text=NOT_ALLOWED, response_type="ephemeral", replace_original=False)
            return
        spec = competitive_form(item.id, product.name, item.details)
        await client.views_open(trigger_id=body["trigger_id"], view=views.modal(spec))

    @app.view("feedback.compete")
    async def compete_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        user = user_of(body)
        values = views.values_of(body["view"])
        raw = views.state_of(body["view"]).get("item", "")
        item = await feedback.get(int(raw)) if is_number(raw) else None
        if item is None or not item.product_sku:
            await ack(response_action="errors", errors={"difference": "That item is gone."})
            return
        name, difference = values.get("competitor") or "", values.get("difference") or ""
        product = await editor.product(item.product_sku)
        notify = [
            told_submitter(
                item.id,
                item.submitter,
                product.name if product else "",
                f"vs {name.strip()}: {difference.strip()}",
            )
        ]
        result = await editor.add_competitor(
            user=user, sku=item.product_sku, name=name, difference=difference, notify=notify
        )
        if isinstance(result, EditRefused):
            await ack(response_action="errors", errors={"difference": result.message})
        elif isinstance(result, dict):
            await ack(response_action="errors", errors=result)
        else:
            wake()
            await ack()


def mention(user_id: str) -> str:
    return f"<@{user_id}>"
