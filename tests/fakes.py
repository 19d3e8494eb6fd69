"""Fakes on loopback: a Slack Web API that records calls (and can fail on demand), a Bot
Connector, and a signer for requests that look exactly like Slack's. Everything the app sends
them goes through tests/validators.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests import validators

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's v0 signature headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_body(
    command: str,
    text: str,
    *,
    user: str = "U0SALES1",
    response_url: str = "",
    channel: str = "C0SALES",
    team: str = "T0TEAM",
) -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "sales",
            "user_id": user,
            "user_name": "sam",
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "123.456.abc",
        }
    )


def payload_body(payload: dict[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)
    token: str = ""  # the bearer token it came with
    at: float = field(default_factory=time.monotonic)  # when it reached the fake


@dataclass
class FakeSlack:
    """Records Web API calls (/api/<method>) and response_url posts (/respond/<id>)."""

    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    refuse_create: bool = False  # answer 403 to creating a conversation (the user blocked it)
    server: TestServer | None = None
    # Socket Mode: the app's websocket, and what it sent back (acks with payloads).
    socket: web.WebSocketResponse | None = None
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes
    # Files people uploaded in a modal (file_input): id -> (name, mimetype, bytes), served
    # by files.info and, to the bot token only, at their url_private_download.
    user_files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (file id, token) fetched
    reported_size: dict[str, int] = field(default_factory=dict)  # files.info saying otherwise
    # Slack's "HTTP 200, ok: false" errors, by target channel/user (conversations.open's
    # `users` and files.completeUploadExternal's `channel_id` too).
    error_for: dict[str, str] = field(default_factory=dict)
    # Rate limit for chat.* writes (requests per second): beyond it, 429 with Retry-After.
    rate_limit: float | None = None
    _window: list[float] = field(default_factory=list)
    # Messages as conversations.history shows them, newest last, by conversation id (a
    # post to a user id lands in "D" + the rest of the id, like the app's DM).
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Called with each successful Web API call after it is recorded and before it is
    # answered: a test can kill the caller in the window between "done" and "told so".
    after_call: Callable[[Call], Awaitable[None]] | None = None
    # A slow Slack: while set, every Web API call (but auth.test) and response_url post is
    # answered only once the event is set.
    held: asyncio.Event | None = None
    # OAuth: the app's credentials, what oauth.v2.access answers for each code (Slack's
    # installation response; a code works once), and auth.test's answer for each token it
    # issued. A token not issued here gets the single workspace's answer (SLACK_BOT_TOKEN);
    # a revoked one is refused like Slack refuses it.
    client: tuple[str, str] = ("C0CLIENT", "client-secret-0123")
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> its access token
    revoked: set[str] = field(default_factory=set)
    # The next refreshes (oauth.v2.access with grant_type refresh_token) fail: (HTTP status,
    # headers) each, the refresh token left unused.
    refresh_fails: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # users.info: what Slack knows of each person (is_admin, is_owner…); anyone else is a
    # member of the workspace and nothing more.
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # conversations.info: the channels there are (is_member, is_archived…); any other id
    # is channel_not_found.
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk GETs a few methods
        app.router.add_post("/respond/{rid}", self._respond)
        app.router.add_get("/link", self._link)
        app.router.add_post("/upload/{fid}", self._upload)
        app.router.add_get("/files-pri/{fid}/{name}", self._download)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server:
            await self.server.close()

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def response_url(self, rid: str = "r1") -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/respond/{rid}"))

    async def _body(self, request: web.Request) -> dict[str, Any]:
        # slack_sdk sends some methods' arguments in the query string, even on a POST.
        args: dict[str, Any] = dict(request.query)
        if request.method == "GET":
            return args
        if request.content_type == "application/json":
            data = await request.json()
            return {**args, **(data if isinstance(data, dict) else {"_": data})}
        return {**args, **await request.post()}

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.held is not None and method != "auth.test":
            await self.held.wait()
        call = Call(method, await self._body(request), token=token)
        self.calls.append(call)
        validators.slack_web_api(method, call.body)
        target = call.body.get("channel") or call.body.get("channel_id") or call.body.get("users")
        error = self.error_for.get(str(target or ""))
        if error:
            call.status = 400  # Slack says 200 with ok: false; nothing was delivered
            return web.json_response({"ok": False, "error": error})
        if self.rate_limit and method.startswith("chat."):
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < 1.0]
            if len(self._window) >= self.rate_limit:
                call.status = 429
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            self._window.append(now)
        if self.fail_next and method in ("chat.postMessage", "chat.update"):
            status, headers = self.fail_next.pop(0)
            call.status = status
            if status == 0:  # a connection reset: nothing comes back
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            return web.json_response({"ok": False, "error": "fake"}, status=status, headers=headers)
        if method == "apps.connections.open":
            assert self.server is not None
            url = str(self.server.make_url("/link")).replace("http://", "ws://")
            return web.json_response({"ok": True, "url": url})
        if method == "oauth.v2.access":
            if self.refresh_fails and call.body.get("grant_type") == "refresh_token":
                status, headers = self.refresh_fails.pop(0)
                call.status = status
                error = "ratelimited" if status == 429 else "internal_error"
                return web.json_response(
                    {"ok": False, "error": error}, status=status, headers=headers
                )
            call.answer = self._oauth(call.body, request.headers.get("Authorization", ""))
            return web.json_response(call.answer)
        if method == "auth.test":
            if token in self.revoked:
                return web.json_response({"ok": False, "error": "token_revoked"})
            if token in self.issued:
                return web.json_response({"ok": True, **self.issued[token]})
            return web.json_response(
                {"ok": True, "user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T0TEAM"}
            )
        if method in ("users.info", "conversations.info"):
            call.answer = self._info(method, call.body)
            return web.json_response(call.answer)
        channel = str(call.body.get("channel") or "C0FAKE")
        call.answer = {
            "ok": True,
            # Seconds since the epoch like Slack's, made unique by the call's number.
            "ts": f"{int(time.time())}.{len(self.calls):06d}",
            "channel": channel,
        }
        if method == "chat.postMessage":
            call.answer["channel"] = _dm_channel(channel)  # Slack answers with the DM's id
            self._remember(channel, call)
        if method == "conversations.open":
            call.answer["channel"] = {"id": _dm_channel(str(call.body.get("users") or ""))}
        if method == "conversations.history":
            call.answer = self._history(call.body)
        if method == "files.getUploadURLExternal":
            fid = f"F{len(self.calls):05d}"
            assert self.server is not None
            call.answer = {
                "ok": True,
                "file_id": fid,
                "upload_url": str(self.server.make_url(f"/upload/{fid}")),
            }
        if method == "files.info":
            call.answer = self._file_info(str(call.body.get("file") or ""))
        if method == "files.completeUploadExternal":
            call.answer = {"ok": True, "files": [{"id": "F1"}]}
        if method == "chat.getPermalink":
            channel, ts = call.body.get("channel"), str(call.body.get("message_ts"))
            call.answer["permalink"] = (
                f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            )
        if self.after_call is not None:
            await self.after_call(call)
        return web.json_response(call.answer)

    def install(
        self,
        code: str,
        *,
        team: str | None,
        enterprise: str | None = None,
        org_wide: bool = False,
        expires_in: int | None = None,
    ) -> str:
        """Slack's side of one installation: the code it hands the installer's browser, and
        what oauth.v2.access answers for it. Returns the bot token it will issue."""
        token = f"xoxb-{enterprise or '-'}-{team or 'org'}-{len(self.codes) + 1}"
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write,files:write",
            "bot_user_id": f"U0BOT{team or enterprise}",
            "app_id": "A0APP",
            "team": {"id": team, "name": f"Team {team}"} if team else None,
            "enterprise": {"id": enterprise, "name": f"Org {enterprise}"} if enterprise else None,
            "is_enterprise_install": org_wide,
            "authed_user": {"id": "U0INSTALLER"},
        }
        if expires_in is not None:  # token rotation on
            answer["refresh_token"] = f"xoxe-1-{token}"
            answer["expires_in"] = expires_in
        self.codes[code] = answer
        return token

    def _issue(self, answer: dict[str, Any]) -> None:
        token = str(answer["access_token"])
        team, org = answer.get("team") or {}, answer.get("enterprise") or {}
        self.issued[token] = {
            "team_id": team.get("id"),
            "enterprise_id": org.get("id"),
            "user_id": answer.get("bot_user_id"),
            "bot_id": f"B{token[-6:]}",
            "is_enterprise_install": bool(answer.get("is_enterprise_install")),
            "url": "https://acme.enterprise.slack.com/",
        }
        if answer.get("refresh_token"):
            self.refresh[str(answer["refresh_token"])] = token

    def _oauth(self, body: dict[str, Any], authorization: str) -> dict[str, Any]:
        """oauth.v2.access: a code exchanged once for an installation, or (grant_type
        refresh_token) a refresh token for a new token, with the app's own credentials."""
        expected = base64.b64encode(":".join(self.client).encode()).decode()
        if authorization != f"Basic {expected}":
            return {"ok": False, "error": "invalid_client_id"}
        if body.get("grant_type") == "refresh_token":
            old = self.refresh.pop(str(body.get("refresh_token")), None)
            if old is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            fresh = f"{old.split('.r')[0]}.r{len(self.calls)}"
            self.issued[fresh] = self.issued[old]
            self.refresh[f"xoxe-1-{fresh}"] = fresh
            return {
                "ok": True,
                "access_token": fresh,
                "refresh_token": f"xoxe-1-{fresh}",
                "expires_in": 43200,
                "token_type": "bot",
            }
        answer = self.codes.pop(str(body.get("code")), None)
        if answer is None:
            return {"ok": False, "error": "invalid_code"}
        self._issue(answer)
        return {"ok": True, **answer}

    def tokens_used(self, method: str) -> list[str]:
        """The token each successful call of `method` came with, in order."""
        return [c.token for c in self.delivered(method)]

    def _info(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "users.info":
            uid = str(body.get("user") or "")
            return {"ok": True, "user": {"id": uid, "team_id": "T0TEAM", **self.users.get(uid, {})}}
        cid = str(body.get("channel") or "")
        if cid not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": cid, "is_channel": True, **self.channels[cid]}}

    def _remember(self, channel: str, call: Call) -> None:
        metadata = call.body.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls carry it as JSON text
            metadata = json.loads(metadata)
        message = {"type": "message", "ts": call.answer["ts"], "text": call.body.get("text")}
        if metadata:
            message["metadata"] = metadata
        self.history.setdefault(_dm_channel(channel), []).append(message)

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        """Newest first, `oldest` honoured, metadata only when asked for, paged by cursor."""
        oldest = float(body.get("oldest") or 0)
        limit = int(body.get("limit") or 100)
        start = int(body.get("cursor") or 0)
        found = [
            m
            for m in reversed(self.history.get(str(body.get("channel")), []))
            if float(m["ts"]) > oldest
        ]
        if str(body.get("include_all_metadata")).lower() not in ("true", "1"):
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def file_input_state(self, fid: str) -> dict[str, Any]:
        """A file_input's value in a view_submission, as Slack sends it for file `fid`."""
        return {"type": "file_input", "files": [self._file(fid)]}

    def _file(self, fid: str) -> dict[str, Any]:
        name, kind, data = self.user_files[fid]
        assert self.server is not None
        url = str(self.server.make_url(f"/files-pri/{fid}/{urllib.parse.quote(name)}"))
        size = self.reported_size.get(fid, len(data))
        return {"id": fid, "name": name, "title": name, "mimetype": kind, "size": size,
                "filetype": name.rsplit(".", 1)[-1], "url_private": url,
                "url_private_download": url + "?download=1"}  # fmt: skip

    def _file_info(self, fid: str) -> dict[str, Any]:
        if fid not in self.user_files:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._file(fid)}

    async def _download(self, request: web.Request) -> web.Response:
        fid = request.match_info["fid"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.downloads.append((fid, token))
        if (token != BOT_TOKEN and token not in self.issued) or fid not in self.user_files:
            # Slack answers a private file's URL without the right token with its sign-in page.
            return web.Response(text="<html>Sign in</html>", content_type="text/html")
        _, kind, data = self.user_files[fid]
        return web.Response(body=data, content_type=kind)

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["fid"]] = await request.read()
        return web.Response(text="OK - uploaded")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for msg in ws:
            if msg.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
                validators.slack_socket_ack(self.socket_acks[-1])
        return ws

    async def _respond(self, request: web.Request) -> web.Response:
        if self.held is not None:
            await self.held.wait()
        self.responses.append(await self._body(request))
        validators.slack_response_url(self.responses[-1])
        return web.Response(text="ok")

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def delivered(self, method: str) -> list[Call]:
        """Calls of `method` that succeeded (a 429 or 500 delivered nothing)."""
        return [c for c in self.calls if c.method == method and c.status == 200]


def _dm_channel(channel: str) -> str:
    """The app's DM with a user, for a user id; any other conversation id as it is."""
    return "D" + channel[1:] if channel[:1] in ("U", "W") else channel


@dataclass
class Posted:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class FakeConnector:
    """The Bot Connector at an activity's serviceUrl: records replies, updates, proactive
    sends, and can answer with failures on demand."""

    posted: list[Posted] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    refuse_create: bool = False  # answer 403 to creating a conversation (the user blocked it)
    server: TestServer | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server:
            await self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/"))

    async def _any(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        self.posted.append(Posted(request.method, request.path, body))
        validators.teams_activity(body, f"Teams {request.method} {request.path}")
        if self.fail_next:
            status, headers = self.fail_next.pop(0)
            return web.json_response({"error": {"code": "fake"}}, status=status, headers=headers)
        if request.method == "POST" and request.path.rstrip("/") == "/v3/conversations":
            if self.refuse_create:
                return web.json_response({"error": {"code": "MessageWritesBlocked"}}, status=403)
            # Creating a conversation (a 1:1 with a member): its id, as Teams gives one.
            member = str(((body.get("members") or [{}])[0]).get("id") or "")
            return web.json_response({"id": f"a:created-{member}"})
        return web.json_response({"id": f"act-{len(self.posted)}"})

    def created(self) -> list[Posted]:
        """Conversations the bot asked the connector to create."""
        return [p for p in self.posted if p.path.rstrip("/") == "/v3/conversations"]

    def messages(self, conversation: str) -> list[Posted]:
        """Activities sent into a conversation (replies and proactive), in order."""
        return [
            p
            for p in self.posted
            if p.method == "POST"
            and p.path.startswith(f"/v3/conversations/{conversation}/activities")
        ]
