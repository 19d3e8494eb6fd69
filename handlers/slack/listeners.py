"""Slack listeners: ack, parse to a neutral input, call one bot use case, render, send."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.briefings import Refused as BriefingRefused
from bot.briefings import describe
from bot.commands import COMMANDS, Bot
from bot.editing import EditRefused, saved_text
from bot.forms import is_number
from bot.ports import Notification
from bot.replies import ERROR_APOLOGY, Notice, OpenForm
from bot.reports import Report
from handlers.slack import blocks, views
from handlers.slack.inbound import share_target, user_of

log = logging.getLogger(__name__)

# What these listeners need from Slack; manifests/slack.yaml must declare exactly this.
BOT_SCOPES = frozenset(
    {
        "commands",  # slash commands and the message shortcut; response_url replies
        "chat:write",  # triage cards (posted, then updated in place) and DMs to submitters
        "files:write",  # the coverage chart and CSV
        # Only to look for a message an earlier attempt may have posted (its worker died
        # before hearing back) so it is not posted twice; nothing read is kept.
        "im:write",  # conversations.open: the id of the app's DM with a user
        "im:history",  # conversations.history in those DMs
        "channels:history",  # ...and in the public channels it posts to
        "groups:history",  # ...and the private ones
    }
)
ACTION_IDS = (
    blocks.SHARE_ACTION,
    blocks.VERIFY_ACTION,
    blocks.EDIT_ACTION,
    blocks.BRIEFING_MENU,
    "triage.*",
)
SHORTCUTS = ("feedback.from_message",)
BOT_EVENTS = ("app_home_opened",)


def register(
    app: AsyncApp,
    bot: Bot,
    wake: Callable[[], None] = lambda: None,
    enqueue: Callable[[Sequence[Notification]], Awaitable[None]] | None = None,
) -> None:
    for command in COMMANDS:
        if not command.opens_form:  # form commands have listeners of their own
            _register_command(app, bot, command.slash, wake, enqueue)

    @app.view("briefing.save")
    async def briefing_save(ack: AsyncAck, body: dict[str, Any]) -> None:
        assert bot.briefings is not None
        state = views.state_of(body["view"])
        raw = state.get("briefing", "")
        result = await bot.briefings.save(
            user=user_of(body),
            values=views.values_of(body["view"]),
            briefing_id=int(raw) if is_number(raw) else None,
        )
        if isinstance(result, BriefingRefused):
            await ack(response_action="errors", errors={"held_on": result.message})
        elif isinstance(result, dict):
            await ack(response_action="errors", errors=result)
        else:
            await ack(
                response_action="update",
                view=views.message_view("Briefing saved", f"Saved: {blocks.esc(describe(result))}"),
            )

    @app.action(blocks.BRIEFING_MENU)
    async def briefing_menu(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        assert bot.briefings is not None
        user = user_of(body)
        selected = (body.get("actions") or [{}])[0].get("selected_option") or {}
        verb, _, raw = str(selected.get("value") or "").partition(":")
        if not is_number(raw):
            return
        if verb == "delete":
            text = await bot.briefings.delete(user=user, briefing_id=int(raw))
            await respond(text=text, response_type="ephemeral", replace_original=False)
            return
        form = await bot.briefings.form(user=user, briefing_id=int(raw))
        if isinstance(form, BriefingRefused):
            await respond(text=form.message, response_type="ephemeral", replace_original=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=views.modal(form))

    @app.action(blocks.SHARE_ACTION)
    async def share(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = str((body.get("actions") or [{}])[0].get("value") or "")
        target = share_target(value)
        reply = (
            await bot.catalog.answer_for(sku=target[0], region_code=target[1]) if target else None
        )
        if reply is None:
            await respond(
                text="That product or market is no longer in the catalog.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        message = blocks.render(reply, share=False)
        user = user_of(body)
        message["blocks"].append(blocks._context(f"Shared by <@{user.id}>"))
        await respond(**message, response_type="in_channel", replace_original=False)

    @app.action(blocks.VERIFY_ACTION)
    async def verify(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        sku = str((body.get("actions") or [{}])[0].get("value") or "")
        text = await bot.verify(user=user_of(body), sku=sku)
        await respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(blocks.EDIT_ACTION)
    async def edit(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        assert bot.editor is not None
        user = user_of(body)
        sku = str((body.get("actions") or [{}])[0].get("value") or "")[:64]
        form = await bot.editor.form(user=user, sku=sku)
        if isinstance(form, EditRefused):
            log.warning("edit form refused", extra={"user": user.id, "sku": sku})
            await respond(text=form.message, response_type="ephemeral", replace_original=False)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=views.modal(form))

    @app.view("product.edit")
    async def save(ack: AsyncAck, body: dict[str, Any]) -> None:
        assert bot.editor is not None
        user = user_of(body)
        sku = views.state_of(body["view"]).get("sku", "")
        result = await bot.editor.submit(user=user, sku=sku, values=views.values_of(body["view"]))
        if isinstance(result, EditRefused):
            log.warning("edit refused", extra={"user": user.id, "sku": sku})
            await ack(response_action="errors", errors={"lifecycle": result.message})
        elif isinstance(result, dict):
            await ack(response_action="errors", errors=result)
        else:
            wake()
            await ack(
                response_action="update",
                view=views.message_view(
                    "Saved",
                    blocks.esc(saved_text(result)),
                ),
            )

    @app.error
    async def on_error(
        error: Exception, body: dict[str, Any], respond: AsyncRespond
    ) -> BoltResponse:
        # One place per platform where bugs are caught: log, then a short apology. Slack
        # gets a 200 so it adds no "dispatch_failed" of its own.
        log.error(
            "slack listener failed",
            exc_info=error,
            extra={"kind": body.get("type") or "command", "error": type(error).__name__},
        )
        apology = {**blocks.render(Notice(ERROR_APOLOGY)), "response_type": "ephemeral"}
        if body.get("type") == "view_submission":
            # An empty 200 would close the form as if it had been saved: keep it open.
            values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
            first = next(iter(values), None)
            answer = (
                {"response_action": "errors", "errors": {first: ERROR_APOLOGY}}
                if first
                else {
                    "response_action": "update",
                    "view": views.message_view("Sorry", ERROR_APOLOGY),
                }
            )
            return BoltResponse(
                status=200, body=json.dumps(answer), headers={"content-type": "application/json"}
            )
        if body.get("command"):  # a slash command: the apology is the ack itself
            return BoltResponse(
                status=200, body=json.dumps(apology), headers={"content-type": "application/json"}
            )
        if body.get("response_url"):
            try:
                await respond(**apology, replace_original=False)
            except Exception:  # the apology is best effort; the error is already logged
                log.warning("could not send the apology")
        return BoltResponse(status=200, body="")


def _register_command(
    app: AsyncApp,
    bot: Bot,
    slash: str,
    wake: Callable[[], None],
    enqueue: Callable[[Sequence[Notification]], Awaitable[None]] | None,
) -> None:
    @app.command(slash)
    async def command(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> BoltResponse | None:
        reply = await bot.handle(user=user_of(body), command=slash, text=body.get("text") or "")
        if isinstance(reply, OpenForm):  # e.g. /product edit widget pro
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=views.modal(reply.spec))
            return None
        # Answered in the ack itself: the user sees it at once, privately. The ack is the
        # response this listener returns (bolt sends a listener's BoltResponse as it is,
        # and only once the listener is done): a product answer's JSON is kept, not
        # encoded again for each asker.
        answer = BoltResponse(status=200, body=blocks.ephemeral_json(reply))  # typed as JSON
        if isinstance(reply, Report) and enqueue is not None and body.get("channel_id"):
            # The chart and the CSV take longer than Slack's 3 seconds: the worker uploads.
            await enqueue(
                [
                    Notification(
                        platform="slack",
                        kind="coverage",
                        target=str(body["channel_id"]),
                        dedupe_key=f"coverage:{uuid.uuid4().hex}",
                        payload={
                            "type": "coverage",
                            "period": body.get("text") or "",
                            "digest": False,
                        },
                    )
                ]
            )
            wake()
        return answer
