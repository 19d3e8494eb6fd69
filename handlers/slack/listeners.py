"""Slack listeners: parse to a neutral input, let bot/ decide, render the outcome.

A handful of generic listeners serve every command, press, form and search: the ids they
route are bot.ids' (the same strings as Teams' verbs and the console's).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import COMMANDS
from bot.feedback import HomeView
from bot.ids import ActionId
from bot.interactions import Interactions, Show
from handlers.slack import blocks, inbound, render
from handlers.slack.render import Effects

log = logging.getLogger(__name__)

# What these listeners need from Slack; manifests/slack.yaml must declare exactly this.
BOT_SCOPES = frozenset(
    {
        "commands",  # slash commands and the message shortcut; response_url replies
        "chat:write",  # triage cards (posted, then updated in place) and DMs to submitters
        "files:write",  # the coverage chart and CSV
        "files:read",  # the briefing form's deck (file_input): files.info and its download
        # conversations.open: the id of the app's DM with a user, where the coverage files
        # asked for in a channel go, and where an earlier delivery is looked for.
        "im:write",
        # Only to look for a message an earlier attempt may have posted (its worker died
        # before hearing back) so it is not posted twice; nothing read is kept.
        "im:history",  # conversations.history in those DMs
        "channels:history",  # ...and in the public channels it posts to
        "groups:history",  # ...and the private ones
        # /salesbridge settings: an admin is who users.info says is one, and a channel
        # named must be one the bot is in (conversations.info, public and private).
        "users:read",
        "channels:read",
        "groups:read",
    }
)
# ...and which of them an installer may withhold (the manifest's bot_optional): without
# them a message a crash may have posted is posted again, at least once, never lost; and
# without im:write the coverage files asked for outside the app's DM are not uploaded
# (never into the channel instead: they are the asker's alone).
OPTIONAL_SCOPES = frozenset({"im:write", "im:history", "channels:history", "groups:history"})
SHORTCUTS = (ActionId.FROM_MESSAGE.value,)
BOT_EVENTS = ("app_home_opened",)
PERMALINK_WAIT = 1.0  # seconds: the form must open while its trigger is fresh (3 s)


def register(app: AsyncApp, interactions: Interactions, effects: Effects) -> None:
    for command in COMMANDS:
        if command.on_slack:
            _register_command(app, interactions, effects, command.slash)

    @app.action(re.compile(".+"))  # every press: the action_id is a bot.ids.ActionId
    async def press(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()  # first: nothing a press does may hold the ack
        work = _press(interactions, effects, body, respond, client)
        effects.background.spawn(work, name="press")

    @app.view(re.compile(".+"))  # every form: the callback_id is a bot.ids.FormId
    async def submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        outcome = await interactions.handle(inbound.submission(body))
        await effects.apply(outcome)
        await ack(**render.submission_ack(outcome))

    @app.shortcut(ActionId.FROM_MESSAGE.value)
    async def from_message(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        work = _from_message(interactions, body, respond, client)
        effects.background.spawn(work, name="shortcut")

    @app.options(re.compile(r"^search\."))  # a searched field types: its dataset answers
    async def search(ack: AsyncAck, body: dict[str, Any]) -> None:
        dataset = inbound.dataset_of(str(body.get("action_id") or ""))
        choices = await interactions.search(dataset, str(body.get("value") or ""))
        await ack(options=[render.option(c) for c in choices[:100]])

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home" and isinstance(event.get("user"), str):
            work = _publish_home(interactions, client, str(event["user"]))
            effects.background.spawn(work, name="app home")

    @app.error
    async def on_error(error: Exception, body: Any, respond: AsyncRespond) -> BoltResponse:
        return await render.apology(error, body, respond)


def _register_command(
    app: AsyncApp, interactions: Interactions, effects: Effects, slash: str
) -> None:
    @app.command(slash)
    async def command(body: dict[str, Any], client: AsyncWebClient) -> BoltResponse:
        user, text = inbound.user_of(body), str(body.get("text") or "")
        files_to = inbound.asked_in(body)
        outcome = await interactions.command(user=user, name=slash, text=text, files_to=files_to)
        await effects.apply(outcome)
        trigger = str(body.get("trigger_id") or "")
        return render.after_command(outcome, trigger_id=trigger, client=client, effects=effects)


async def _press(
    interactions: Interactions,
    effects: Effects,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """After the ack: decide the press, then show what it says (views.open first thing, so
    the trigger is used within its 3 seconds)."""
    if not isinstance(body.get("response_url"), str):
        respond = render.nowhere  # type: ignore[assignment]  # same call, no response_url
    try:
        outcome = await interactions.handle(inbound.press(body))
        await effects.apply(outcome)
        if isinstance(outcome, Show) and isinstance(outcome.reply, HomeView):
            # "More" in App Home: the home tab itself shows the next page.
            user = inbound.user_of(body)
            await client.views_publish(user_id=user.id, view=blocks.home(outcome.reply))
            return
        await render.after_press(
            outcome, trigger_id=str(body.get("trigger_id") or ""), respond=respond, client=client
        )
    except Exception:
        log.exception("slack press failed", extra={"kind": "block_actions"})
        await render.say_sorry(respond)


async def _from_message(
    interactions: Interactions, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> None:
    permalink = None
    message = body.get("message")
    message = message if isinstance(message, dict) else {}
    channel = inbound.channel_of(body)
    if channel and message.get("ts"):
        try:  # the form is still useful without the link: never wait long for it
            got = await asyncio.wait_for(
                client.chat_getPermalink(channel=channel, message_ts=str(message["ts"])),
                PERMALINK_WAIT,
            )
            permalink = got.get("permalink")
        except Exception:
            log.warning("could not get a permalink")
    outcome = await interactions.handle(inbound.from_message(body, permalink))
    if not isinstance(body.get("response_url"), str):
        respond = render.nowhere  # type: ignore[assignment]
    await render.after_press(
        outcome, trigger_id=str(body.get("trigger_id") or ""), respond=respond, client=client
    )


async def _publish_home(interactions: Interactions, client: AsyncWebClient, user_id: str) -> None:
    view = await interactions.home(inbound.user_of({"user_id": user_id}))
    await client.views_publish(user_id=user_id, view=blocks.home(view))
