"""Neutral outcomes as Slack shows them: answers in the ack, notices through response_url,
forms as modals, and the ack a form submission gets."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.forms import Choice
from bot.interactions import Ask, Done, FormErrors, Outcome, Private, Refresh, Show
from bot.ports import Notification
from bot.replies import ERROR_APOLOGY
from handlers.slack import blocks, views
from handlers.slack.views import values_of
from handlers.tasks import Background

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Effects:
    """What the listeners do besides answering: write to the outbox, wake the worker, and
    run Slack calls after the ack."""

    enqueue: Callable[[Sequence[Notification]], Awaitable[None]]
    wake: Callable[[], None]
    background: Background

    async def apply(self, outcome: Outcome) -> None:
        if outcome.enqueue:
            await self.enqueue(outcome.enqueue)
        if outcome.enqueue or outcome.wake:
            self.wake()


def _private(text: str, *, mrkdwn: bool = False) -> dict[str, Any]:
    """A notice to the presser alone; plain text is escaped, mrkdwn is sent as it is."""
    return {
        "text": text if mrkdwn else blocks.esc(text),
        "response_type": "ephemeral",
        "replace_original": False,
    }


Respond = Callable[..., Awaitable[Any]]  # bolt's AsyncRespond, or `nowhere`


async def nowhere(**_message: Any) -> None:
    """The respond of a press that came without a response_url (a modal's or App Home's
    buttons, or a forged payload): its answer has nowhere to go, which is not a fault."""
    log.warning("a press without a response_url: its answer was not shown")


async def after_press(
    outcome: Outcome, *, trigger_id: str, respond: Respond, client: AsyncWebClient
) -> None:
    """A press was acked already: show its outcome (never inside the ack, which must not
    wait for Slack)."""
    if isinstance(outcome, Show):
        message = blocks.render(outcome.reply, share=outcome.shared_by is None, files=outcome.files)
        if outcome.shared_by is not None:
            message["blocks"].append(blocks.shared_marker(outcome.shared_by))
        visibility = "ephemeral" if outcome.shared_by is None else "in_channel"
        await respond(**message, response_type=visibility, replace_original=False)
    elif isinstance(outcome, Ask):
        await client.views_open(
            trigger_id=trigger_id, view=views.modal(outcome.form, outcome.values)
        )
    elif isinstance(outcome, Refresh):
        # The card itself is updated in place by the outbox, for everyone who sees it.
        if outcome.card.problem is not None:
            await respond(**_private(blocks.problem_text(outcome.card.problem), mrkdwn=True))
    elif isinstance(outcome, Private):
        await respond(**_private(outcome.text))
    elif isinstance(outcome, Done):
        await respond(**_private(outcome.text))
    elif isinstance(outcome, FormErrors):
        await respond(**_private(" ".join(outcome.errors.values())))


def submission_ack(outcome: Outcome) -> dict[str, Any]:
    """The body of a view_submission's ack: it is the only answer a form gets."""
    if isinstance(outcome, FormErrors):
        return {"response_action": "errors", "errors": outcome.errors}
    if isinstance(outcome, Ask):
        return {"response_action": "update", "view": views.modal(outcome.form, outcome.values)}
    if isinstance(outcome, Done):
        return {
            "response_action": "update",
            "view": views.message_view(outcome.title, blocks.esc(outcome.text)),
        }
    if isinstance(outcome, Private):
        return {"response_action": "update", "view": views.message_view("", outcome.text)}
    if isinstance(outcome, Show):
        return {
            "response_action": "update",
            "view": views.message_view("", blocks.esc(outcome.reply.fallback)),
        }
    return {}  # Refresh: the decision is made; the modal closes and the card updates


def after_command(
    outcome: Outcome, *, trigger_id: str, client: AsyncWebClient, effects: Effects
) -> BoltResponse:
    """A slash command's ack: the answer itself, privately. A form opens after the ack (the
    trigger is good for 3 seconds from Slack's sending it, and is used at once)."""
    if isinstance(outcome, Ask):
        view = views.modal(outcome.form, outcome.values)
        effects.background.spawn(_open(client, trigger_id, view), name="slack views.open")
        return BoltResponse(status=200, body="")
    if isinstance(outcome, Show):
        # A product answer's JSON is kept with its blocks, not encoded again per asker.
        return BoltResponse(status=200, body=blocks.ephemeral_json(outcome.reply, outcome.files))
    text = outcome.text if isinstance(outcome, Private | Done) else ""
    return BoltResponse(status=200, body=json.dumps(_private(text)))


async def _open(client: AsyncWebClient, trigger_id: str, view: dict[str, Any]) -> None:
    await client.views_open(trigger_id=trigger_id, view=view)


def option(choice: Choice) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": choice.label[:75]}, "value": choice.value[:150]}


async def apology(error: Exception, body: object, respond: AsyncRespond) -> BoltResponse:
    """One place where Slack-side bugs are caught: log, then a short apology. Slack gets a
    200 so that it adds no "dispatch_failed" of its own. Nothing here may fail in turn: a
    payload of any shape ends in an answer (at worst an empty 200), never a 500."""
    try:
        return await _apology(error, body, respond)
    except Exception:
        log.warning("the apology itself failed", extra={"error": type(error).__name__})
        return BoltResponse(status=200, body="")


async def _apology(error: Exception, body: object, respond: AsyncRespond) -> BoltResponse:
    payload = body if isinstance(body, dict) else {}
    log.error(
        "slack listener failed",
        exc_info=error,
        extra={"kind": str(payload.get("type") or "command")[:40], "error": type(error).__name__},
    )
    if payload.get("type") == "view_submission":
        # An empty 200 would close the form as if it had been saved: keep it open.
        view = payload.get("view")
        fields = list(values_of(view if isinstance(view, dict) else {}))
        answer: dict[str, Any] = (
            {"response_action": "errors", "errors": {fields[0]: ERROR_APOLOGY}}
            if fields
            else {"response_action": "update", "view": views.message_view("Sorry", ERROR_APOLOGY)}
        )
        return BoltResponse(status=200, body=json.dumps(answer))
    if payload.get("command"):  # a slash command: the apology is the ack itself
        return BoltResponse(status=200, body=json.dumps(_private(ERROR_APOLOGY)))
    if isinstance(payload.get("response_url"), str):
        await say_sorry(respond)
    return BoltResponse(status=200, body="")


async def say_sorry(respond: Respond) -> None:
    try:
        await respond(**_private(ERROR_APOLOGY))
    except Exception:  # the apology is best effort; the error is already logged
        log.warning("could not send the apology")
