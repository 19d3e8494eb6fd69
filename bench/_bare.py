"""The floors for bench/http.py: a bare bolt AsyncApp whose /product only acks, and a bare
aiohttp handler, both answering with the JSON our server answers a typical question with.
Run: python -m bench._bare {bolt|aiohttp} PORT"""

from __future__ import annotations

import sys
from typing import Any

from aiohttp import web


def typical_answer() -> dict[str, Any]:
    """What our server acks `/product australia widget pro` with (worked out once, at
    start-up): the floors pay for encoding and sending an answer of the same size."""
    from bot.catalog import answer_query
    from bot.catalog_file import parse_catalog
    from handlers.slack.blocks import render
    from tests.conftest import demo_text, view_of

    reply = answer_query(view_of(parse_catalog(demo_text())), "australia widget pro")
    return {**render(reply), "response_type": "ephemeral"}


ANSWER = typical_answer()


def bolt_app() -> web.Application:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult

    from tests.fakes import SIGNING_SECRET

    async def authorize(**_kwargs):  # type: ignore[no-untyped-def]
        # A fixed installation: the floor makes no Web API call (not even auth.test).
        return AuthorizeResult(
            enterprise_id=None,
            team_id="T0",
            bot_token="xoxb-bench",
            bot_user_id="U0BOT",
            bot_id="B0",
        )

    app = AsyncApp(signing_secret=SIGNING_SECRET, authorize=authorize, process_before_response=True)

    @app.command("/product")
    async def product(ack):  # type: ignore[no-untyped-def]
        await ack(**ANSWER)

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", handle)
    return web_app


def aiohttp_app() -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(ANSWER)

    web_app = web.Application()
    web_app.router.add_post("/slack/events", handle)
    return web_app


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    web.run_app(
        bolt_app() if kind == "bolt" else aiohttp_app(),
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
    )
