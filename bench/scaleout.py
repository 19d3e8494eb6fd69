"""Scale-out on PostgreSQL: 2 `serve --no-worker` + 2 `worker` processes, a mixed load,
one worker killed with SIGKILL mid-run; then every notification is checked.

The kill lands in the worst place: half-way through the decisions, the fake Slack takes
the next DM, then kills the worker that sent it before answering, so the row is never
marked sent. The other worker takes the claim over when its lease ends, finds the DM
already in the conversation (by its metadata) and does not post it again.

Run:  .venv/bin/python -m bench.scaleout [--items 40] [--storm RATE] [--slow SECONDS]

Faults on top of the kill: `--storm 10` lets the fake take 10 chat writes a second and
answers the rest 429 + Retry-After: 1; `--slow 8` answers every chat write after 8 s (the
workers' lease is OUTBOX_LEASE_SECONDS=10, so only renewing it keeps a claim). The report
counts, per method, the calls that reached Slack inside a 429 window some worker was given.

Needs the local PostgreSQL (127.0.0.1:5432, trust auth). Slack is a fake Web API in this
process; the servers and workers are real `salesbridge` processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.http import ROOT, wait_up
from tests.conftest import demo_text
from tests.fakes import SIGNING_SECRET, Call, FakeSlack, payload_body, sign, slash_body

ADMIN = "postgresql+asyncpg://127.0.0.1:5432/postgres"
PM = "U0PM1"
# Each worker its own token, so that the fake can tell whose call it is answering.
TOKENS = {"worker-1": "xoxb-scale-w1", "worker-2": "xoxb-scale-w2"}


async def admin(sql: str) -> None:
    engine = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(sql))
    await engine.dispose()


async def post(http: aiohttp.ClientSession, url: str, body: str) -> dict[str, Any]:
    ct = "application/x-www-form-urlencoded"
    async with http.post(url, data=body, headers={**sign(body), "Content-Type": ct}) as r:
        text = await r.text()
        assert r.status == 200, (r.status, text)
        return json.loads(text) if text.startswith("{") else {}


def submission(user: str, i: int) -> str:
    values = {
        "product": {"p": {"type": "external_select", "selected_option": {"value": "WDG-PRO"}}},
        "kind": {"k": {"type": "static_select", "selected_option": {"value": "feature_request"}}},
        "client": {"c": {"type": "plain_text_input", "value": f"Client {i}"}},
        "urgency": {"u": {"type": "static_select", "selected_option": {"value": "normal"}}},
        "details": {
            "d": {
                "type": "plain_text_input",
                "value": f"Request {i} {uuid.uuid4().hex} about something else",
            }
        },
        "duplicate_of": {"x": {"type": "radio_buttons", "selected_option": {"value": "new"}}},
    }
    return payload_body(
        {
            "type": "view_submission",
            "user": {"id": user},
            "trigger_id": "1",
            "view": {
                "id": "V",
                "type": "modal",
                "callback_id": "feedback.submit",
                "private_metadata": "{}",
                "hash": "h",
                "state": {"values": values},
            },
        }
    )


def decide(item: int) -> str:
    return payload_body(
        {
            "type": "block_actions",
            "user": {"id": PM},
            "trigger_id": "1",
            "container": {"type": "message"},
            "response_url": "",
            "actions": [
                {"action_id": "triage.now", "value": str(item), "type": "button", "action_ts": "1"}
            ],
        }
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--storm", type=float, default=None, help="chat writes a second allowed")
    ap.add_argument("--slow", type=float, default=None, help="seconds per chat write")
    args = ap.parse_args()
    started = time.perf_counter()
    for k, v in (await run(args.items, storm=args.storm, slow=args.slow)).items():
        print(f"{k}: {v}")
    print(f"seconds in all: {time.perf_counter() - started:.0f}")


async def run(
    items: int,
    ports: tuple[int, int] = (38201, 38202),
    *,
    storm: float | None = None,
    slow: float | None = None,
) -> dict[str, Any]:
    """The whole scenario; returns what it measured."""
    name = f"salesbridge_scale_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    fake = FakeSlack(rate_limit=storm)
    await fake.start()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+asyncpg://127.0.0.1:5432/{name}",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-scale",
        "SLACK_API_URL": fake.api_url,
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "ANNOUNCE_CHANNEL": "C0ANNOUNCE",
        "PRODUCT_MANAGERS": PM,
        "LOG_LEVEL": "WARNING",
        "OUTBOX_LEASE_SECONDS": "10",
    }
    cli = [sys.executable, "-m", "handlers.launch"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [*cli, "catalog", "import", "catalog/demo.yaml"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    # Each process's log, shown if the run fails: a server that never came up says why.
    logs = {
        label: tempfile.TemporaryFile() for label in ("serve-a", "serve-b", "worker-1", "worker-2")
    }
    for label, extra in (
        ("serve-a", ["serve", "--host", "127.0.0.1", "--port", str(ports[0]), "--no-worker"]),
        ("serve-b", ["serve", "--host", "127.0.0.1", "--port", str(ports[1]), "--no-worker"]),
        ("worker-1", ["worker"]),
        ("worker-2", ["worker"]),
    ):
        token = {"SLACK_BOT_TOKEN": TOKENS[label]} if label in TOKENS else {}
        procs[label] = subprocess.Popen(
            [*cli, *extra],
            env={**env, **token},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=logs[label],
        )
    report: dict[str, Any] = {}
    armed = asyncio.Event()
    killed = asyncio.Event()

    async def kill_between_post_and_answer(call: Call) -> None:
        """The first DM once armed: Slack has it; the worker that sent it never hears so."""
        sender = next((w for w, t in TOKENS.items() if t == call.token), None)
        if slow and call.method.startswith("chat."):
            await asyncio.sleep(slow)
        if (
            armed.is_set()
            and not killed.is_set()
            and sender is not None
            and call.method == "chat.postMessage"
            and str(call.body.get("channel", "")).startswith("U")
        ):
            procs[sender].send_signal(signal.SIGKILL)
            procs[sender].wait()
            killed.set()
            report["killed"] = f"{sender} (SIGKILL) after Slack took its DM, before the answer"

    fake.after_call = kill_between_post_and_answer
    urls = [f"http://127.0.0.1:{p}/slack/events" for p in ports]
    try:
        for url, label in zip(urls, ("serve-a", "serve-b"), strict=True):
            try:
                await wait_up(url, seconds=120)  # a loaded machine starts them slowly
            except RuntimeError as exc:
                logs[label].seek(0)
                tail = logs[label].read().decode(errors="replace")[-3000:]
                code = procs[label].poll()
                raise RuntimeError(f"{exc} (exit code {code}); its log:\n{tail}") from None
        async with aiohttp.ClientSession() as http:
            # Subscriptions, lookups and feedback submissions, spread over both servers.
            for i in range(10):
                await post(
                    http,
                    urls[i % 2],
                    slash_body("/product", "subscribe widget lite", user=f"U0SUB{i}"),
                )
            for i in range(items):
                await post(http, urls[i % 2], slash_body("/product", "widget pro in oz"))
                await post(http, urls[(i + 1) % 2], submission(f"U0SALES{i}", i))
            # Decisions; the first worker dies while the DMs are going out.
            for i in range(1, items + 1):
                await post(http, urls[i % 2], decide(i))
                if i == items // 2:
                    armed.set()
            # The DMs go out meanwhile (slowly, with the faults).
            await asyncio.wait_for(killed.wait(), timeout=30 + 4 * items * (slow or 0))
            # A catalog import through the CLI: announcements, and both servers must
            # answer from the new catalog (the index is invalidated across processes).
            changed = demo_text().replace(
                "{region: AU, status: not_available, reason: Not licensed}",
                "{region: AU, status: available}",
                1,
            )
            path = ROOT / ".scaleout-catalog.yaml"
            path.write_text(changed, encoding="utf-8")
            subprocess.run(
                [*cli, "catalog", "import", str(path)],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            path.unlink()
            await asyncio.sleep(1.2)  # the version is read at most once a second
            answers = [
                (await post(http, url, slash_body("/product", "widget lite in oz")))["text"]
                for url in urls
            ]
            report["answers after import"] = answers
        # Wait for the outbox to drain (the dead worker's claims expire after the lease).
        engine = create_async_engine(env["DATABASE_URL"])
        deadline = time.monotonic() + 120 + 4 * items * (slow or 0)
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                counts = dict(
                    (
                        await conn.execute(
                            sa.text("SELECT status, count(*) FROM outbox GROUP BY status")
                        )
                    ).all()
                )
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.5)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text("SELECT kind, target, dedupe_key, status, result FROM outbox")
                )
            ).all()
        await engine.dispose()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=20)
        await fake.close()
        for label, log in logs.items():
            if label in TOKENS and procs[label].returncode != -signal.SIGKILL:
                log.seek(0)  # the worker that lived: did it ever lose a claim it held?
                report["claims a live worker lost"] = log.read().count(b"outbox claim lost")
            log.close()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    statuses = Counter(r.status for r in rows)
    dm_rows = [r for r in rows if r.kind == "dm"]
    delivered = Counter(
        (c.body["channel"], c.body["text"])
        for c in fake.delivered("chat.postMessage")
        if str(c.body.get("channel", "")).startswith("U")
    )
    doubled = sum(n - 1 for n in delivered.values() if n > 1)
    # Every post carries its outbox key: no key may have been posted twice, whatever the kind.
    keys = Counter(
        c.body["metadata"]["event_payload"]["key"]
        for c in fake.delivered("chat.postMessage")
        if c.body.get("metadata")
    )
    report.update(
        {
            "429s answered": sum(1 for c in fake.calls if c.status == 429),
            "calls inside a 429 window of their method": _inside_windows(fake.calls),
            "...of them sent 0.25 s or more into it": _inside_windows(fake.calls, grace=0.25),
            "outbox rows": dict(statuses),
            "DM rows": len(dm_rows),
            "DMs delivered (distinct)": len(delivered),
            "DMs delivered twice": doubled,
            "DMs lost": len(dm_rows) - len(delivered),
            "posts with a repeated outbox key": sum(n - 1 for n in keys.values() if n > 1),
            "found already delivered (not re-posted)": sum(
                1 for r in rows if (_json(r.result) or {}).get("recovered")
            ),
            "announcements posted": sum(
                1
                for c in fake.delivered("chat.postMessage")
                if c.body.get("channel") == "C0ANNOUNCE"
            ),
        }
    )
    return report


def _inside_windows(calls: list[Call], grace: float = 0.0) -> int:
    """Calls that reached the fake while a 429 it had answered for the same method was in
    force (Retry-After: 1): every worker should be waiting then. Calls already in flight
    when the 429 went out (a burst of up to 24 from 2 workers) arrive inside it too; with
    `grace`, only calls arriving that long after the window opened count."""
    windows: dict[str, list[float]] = {}
    inside = 0
    for call in calls:
        if any(start + grace <= call.at < start + 1.0 for start in windows.get(call.method, ())):
            inside += 1
        if call.status == 429:
            windows.setdefault(call.method, []).append(call.at)
    return inside


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


if __name__ == "__main__":
    asyncio.run(main())
