"""Briefings and coverage over Slack: the /briefing modal, own entries, /coverage with its
chart and CSV uploaded by the worker, and the weekly digest sent once with two workers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.interactions import FILES_REDIRECTED
from bot.reports import CoverageFigures, CoverageQuery
from bot.types import UserRef
from handlers.app import weekly
from store.coverage_repo import SqlCoverage
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_updates import drain, opened

MANAGEMENT = "C0MGMT"


@pytest.fixture
async def slack_reports(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(
        db_url,
        fake_slack,
        worker=False,
        management_channel=MANAGEMENT,
        report_timezone="Europe/London",
        managers=frozenset({"U0BOSS"}),
    ) as driver:
        yield driver


def submit(view: dict[str, Any], user: str, values: dict[str, Any]) -> dict[str, Any]:
    """A filled briefing modal as Slack sends it (datepicker, multi selects, users)."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        el, bid = block["element"], block["block_id"]
        v = values.get(bid)
        if el["type"] == "datepicker":
            entry = {"type": "datepicker", "selected_date": v}
        elif el["type"] in ("multi_static_select", "multi_external_select"):
            entry = {"type": el["type"], "selected_options": [{"value": x} for x in v or []]}
        elif el["type"] == "multi_users_select":
            entry = {"type": el["type"], "selected_users": v or []}
        elif el["type"] == "file_input":  # FakeSlack.file_input_state, or nothing attached
            entry = v if isinstance(v, dict) else {"type": "file_input", "files": []}
        else:
            entry = {"type": el["type"], "value": v}
        state[bid] = {el["action_id"]: entry}
    return {
        "type": "view_submission",
        "trigger_id": "1.2.3",
        "user": {"id": user, "username": "x", "team_id": "T0TEAM"},
        "view": {
            "id": "V0B",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "hash": "h",
            "state": {"values": state},
        },
    }


def menu(s: SlackDriver, user: str, choice: str) -> dict[str, Any]:
    """A pick in the overflow menu of `/briefing list` ("edit:1", "delete:1")."""
    return {
        "type": "block_actions",
        "trigger_id": "1.2.3",
        "user": {"id": user, "username": "x", "team_id": "T0TEAM"},
        "response_url": s.fake.response_url(),
        "container": {"type": "message"},
        "actions": [
            {
                "type": "overflow",
                "action_id": "briefing.menu",
                "block_id": "b",
                "selected_option": {"value": choice},
                "action_ts": "1.1",
            }
        ],
    }


GOOD = {
    "held_on": "2026-11-20",
    "regions": ["AU", "NZ"],
    "attendees": ["U0SALES1"],
    "people": "14",
    "products": ["WDG-PRO"],
    "shared": "Widget Pro roadmap and pricing",
    "deck": "https://docs.example.com/deck.pdf",
    "minutes": "45",
}


async def test_log_list_correct_and_delete_briefings(slack_reports: SlackDriver) -> None:
    s = slack_reports
    refused = await s.command("", command="/briefing", user="U0SALES1")
    assert refused.json["text"] == "Only product managers log briefings."

    await s.command("", command="/briefing", user=PMS[0])
    form = opened(s)
    assert form["callback_id"] == "briefing.save"
    bad = await s.interaction(
        submit(form, PMS[0], {**GOOD, "people": "0", "regions": [], "deck": "ftp://x"})
    )
    assert set(bad.json["errors"]) == {"people", "regions", "deck"}
    ok = await s.interaction(submit(form, PMS[0], GOOD))
    assert "Saved: #1 20 Nov 2026 · AU, NZ · 14 people · 45 min" in str(ok.json["view"])

    listed = (await s.command("list", command="/briefing", user=PMS[0])).json
    assert "#1 20 Nov 2026" in str(listed["blocks"])
    # Correcting one's own entry: the form comes back filled in, and saving updates it.
    correct = menu(s, PMS[0], "edit:1")
    await s.interaction(correct)
    again = opened(s)
    assert json.loads(again["private_metadata"])["briefing"] == "1"
    minutes = next(b for b in again["blocks"] if b.get("block_id") == "minutes")
    assert minutes["element"]["initial_value"] == "45"
    fixed = await s.interaction(submit(again, PMS[0], {**GOOD, "minutes": "60"}))
    assert "· 60 min" in str(fixed.json["view"])
    # Another PM may neither correct nor delete it.
    await s.action("briefing.menu", "", user=PMS[1])  # no selection: ignored
    payload = menu(s, PMS[1], "delete:1")
    await s.interaction(payload)
    assert s.fake.responses[-1]["text"] == "You can only change your own briefings."
    await s.interaction(menu(s, PMS[0], "delete:1"))
    assert s.fake.responses[-1]["text"].startswith("Deleted briefing #1")
    assert s.services.bot.briefings is not None
    assert await s.services.bot.briefings.mine(UserRef("slack", PMS[0])) == []


async def test_coverage_answers_then_uploads_chart_and_csv(slack_reports: SlackDriver) -> None:
    s = slack_reports
    await s.command("", command="/briefing", user=PMS[0])
    await s.interaction(submit(opened(s), PMS[0], GOOD))
    answer = (await s.command("last 30 days", command="/coverage", user="U0BOSS")).json
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Coverage last 30 days: 1 briefing; needs attention:")
    assert "Asia Pacific" in str(answer["blocks"])
    # AU's 2 a quarter come to 1 in 30 days: held, with its effort and no fractions.
    assert (
        "*Australia*: 1 of 1 in the last 30 days — on track · 45 min, 14 people, last 20 Nov"
        in (str(answer["blocks"]))
    )
    await drain(s)
    assert [c.method for c in s.fake.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    png, csv_bytes = list(s.fake.uploads.values())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode())))
    au = next(r for r in rows if r["region_code"] == "AU")
    assert (au["briefings"], au["minutes"], au["people"]) == ("1", "45", "14")
    bad = (await s.command("next year", command="/coverage", user="U0BOSS")).json
    assert bad["text"].startswith("Say “this quarter”")
    sales = (await s.command("", command="/coverage", user="U0SALES1")).json
    assert sales["text"].startswith("Coverage reports are for product managers")


async def test_a_chart_of_many_pages_is_shared_ten_files_a_message(
    slack_reports: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack shares at most 10 files in a message: 12 chart pages and the CSV go in two
    uploads of 10 and 3, in order, the CSV last (250 regions make 9 pages: one upload)."""
    from handlers.slack import notifier

    s = slack_reports
    pages = [b"\x89PNG\r\n\x1a\n" + bytes([n]) for n in range(12)]
    monkeypatch.setattr(notifier, "_charts", lambda _report: pages)
    await s.command("last 30 days", command="/coverage", user="U0BOSS")
    await drain(s)
    completes = [c for c in s.fake.calls if c.method == "files.completeUploadExternal"]
    shared = [
        json.loads(c.body["files"]) if isinstance(c.body["files"], str) else c.body["files"]
        for c in completes
    ]
    assert [len(f) for f in shared] == [10, 3]
    assert [c.body["channel_id"] for c in completes] == ["D0BOSS", "D0BOSS"]  # asker's DM
    assert [c.body["initial_comment"] for c in completes] == [
        "Coverage last 30 days: chart and CSV (1 of 2)",
        "Coverage last 30 days: chart and CSV (2 of 2)",
    ]
    uploaded = list(s.fake.uploads.values())
    assert uploaded[:12] == pages and uploaded[12].startswith(b"region_code,")
    assert [
        str(c.body.get("filename"))
        for c in s.fake.calls
        if c.method == "files.getUploadURLExternal"
    ][-1].endswith(".csv")


def shared_in(s: SlackDriver) -> list[str]:
    """The conversation each files.completeUploadExternal shared its files in."""
    return [str(c.body["channel_id"]) for c in s.fake.delivered("files.completeUploadExternal")]


async def test_coverage_asked_in_a_channel_sends_its_files_to_the_asker_s_dm(
    slack_reports: SlackDriver, engine: AsyncEngine
) -> None:
    """Revenue at stake and feedback per region are the asker's alone: asked in a channel,
    the chart and CSV (or the CSV alone) go to the app's DM with the asker, the one
    conversations.open names, and the answer says so; nothing is shared in the channel."""
    s = slack_reports
    await s.command("", command="/briefing", user=PMS[0])
    await s.interaction(submit(opened(s), PMS[0], GOOD))
    shown = (await s.command("last 30 days", command="/coverage", user="U0BOSS")).json
    assert shown["response_type"] == "ephemeral"
    assert "I've sent the chart and CSV to you in a direct message." in str(shown["blocks"])
    listed = (await s.command("csv", command="/coverage", user="U0BOSS", channel="G0PRIV")).json
    assert "I've sent the CSV to you in a direct message." in str(listed["blocks"])
    await drain(s)
    opens = [c.body.get("users") for c in s.fake.delivered("conversations.open")]
    assert opens == ["U0BOSS", "U0BOSS"]
    assert shared_in(s) == ["D0BOSS", "D0BOSS"]  # the DM the fake's conversations.open gave
    assert len(s.fake.uploads) == 3  # chart and CSV, then the CSV alone
    async with engine.connect() as conn:
        query = text("SELECT target, status FROM outbox WHERE kind = 'coverage'")
        rows = (await conn.execute(query)).all()
    assert [tuple(r) for r in rows] == [("U0BOSS", "sent"), ("U0BOSS", "sent")]
    await drain(s)  # exactly once: a sent row is not delivered again
    assert shared_in(s) == ["D0BOSS", "D0BOSS"]


async def test_without_im_write_the_files_are_not_shared_in_the_channel_instead(
    slack_reports: SlackDriver, engine: AsyncEngine
) -> None:
    """An installer withheld im:write (optional): the asker's DM cannot be opened, so the
    files asked for in a channel are parked, never uploaded where everyone sees them."""
    s = slack_reports
    s.fake.error_for["U0BOSS"] = "missing_scope"
    await s.command("last 30 days", command="/coverage", user="U0BOSS")
    await drain(s)
    assert not s.fake.delivered("files.completeUploadExternal")
    assert not any(c.method.startswith("files.") for c in s.fake.calls)
    async with engine.connect() as conn:
        query = text("SELECT status, last_error FROM outbox WHERE kind = 'coverage'")
        rows = (await conn.execute(query)).all()
    assert [tuple(r) for r in rows] == [("dead", "missing_scope")]


async def test_coverage_asked_in_the_app_s_dm_sends_its_files_there(
    slack_reports: SlackDriver,
) -> None:
    s = slack_reports
    shown = (
        await s.command("last 30 days", command="/coverage", user="U0BOSS", channel="D0BOSS")
    ).json
    assert "Chart and CSV follow in this conversation." in str(shown["blocks"])
    await drain(s)
    assert shared_in(s) == ["D0BOSS"]
    [shared] = s.fake.delivered("files.completeUploadExternal")
    assert shared.body["initial_comment"] == "Coverage last 30 days: chart and CSV"


async def test_coverage_asked_in_a_dm_between_people_sends_its_files_to_the_asker_s_dm(
    slack_reports: SlackDriver, engine: AsyncEngine
) -> None:
    """Slack names every direct message alike ("D…", "directmessage"), the app's with the
    asker and one between two people, which the app is not in and cannot upload to: the
    files go to the asker's own DM with the app, saying why, not to a conversation that
    would refuse them (and the outbox row does not die)."""
    s = slack_reports
    s.fake.error_for["D0PEERS"] = "channel_not_found"  # as Slack answers the app there
    shown = (
        await s.command("last 30 days", command="/coverage", user="U0BOSS", channel="D0PEERS")
    ).json
    assert shown["response_type"] == "ephemeral"
    await drain(s)
    assert [c.body.get("users") for c in s.fake.delivered("conversations.open")] == ["U0BOSS"]
    assert shared_in(s) == ["D0BOSS"]  # never "D0PEERS"
    [shared] = s.fake.delivered("files.completeUploadExternal")
    assert shared.body["initial_comment"] == (
        f"Coverage last 30 days: chart and CSV. {FILES_REDIRECTED}"
    )
    async with engine.connect() as conn:
        query = text("SELECT status FROM outbox WHERE kind = 'coverage'")
        assert (await conn.execute(query)).scalars().all() == ["sent"]


async def test_coverage_shows_revenue_at_stake_per_region(slack_reports: SlackDriver) -> None:
    from tests.handlers.slack.test_feedback_flow import as_json, calls, submission

    s = slack_reports
    await s.command("Needs SAML single sign-on", command="/feedback", user="U0SALES1")
    form = as_json(calls(s, "views.open")[-1].body["view"])
    sent = await s.interaction(
        submission(form, user="U0SALES1", product="WDG-PRO", kind="feature_request",
                   client="Acme", region="AU", deal_value="250,000")
    )  # fmt: skip
    assert sent.json["response_action"] == "update"
    shown = str((await s.command("", command="/coverage", user="U0BOSS")).json["blocks"])
    au = next(line for line in shown.split("\\n") if "*Australia*" in line)
    apac = next(line for line in shown.split("\\n") if "*Asia Pacific*" in line)
    emea = next(line for line in shown.split("\\n") if "*Europe, Middle East" in line)
    assert "; $250,000 at stake ·" in au and "; $250,000 at stake ·" in apac
    assert "; no deal value at stake ·" in emea


async def test_weekly_digest_goes_out_once_with_two_workers(slack_reports: SlackDriver) -> None:
    s = slack_reports
    await weekly(s.services)
    await weekly(s.services)  # the second worker, same week
    await drain(s)
    posts = [c for c in s.fake.delivered("chat.postMessage") if c.body["channel"] == MANAGEMENT]
    assert len(posts) == 1
    blocks = posts[0].body["blocks"]
    assert "Coverage" in str(blocks if isinstance(blocks, list) else json.loads(blocks))
    completes = [c for c in s.fake.calls if c.method == "files.completeUploadExternal"]
    assert len(completes) == 1


async def test_the_files_show_the_report_answered_computed_once(
    slack_reports: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = slack_reports
    await s.command("", command="/briefing", user=PMS[0])
    await s.interaction(submit(opened(s), PMS[0], GOOD))
    computed = 0
    aggregate = SqlCoverage.coverage_figures

    async def counted(self: SqlCoverage, query: CoverageQuery) -> CoverageFigures:
        nonlocal computed
        computed += 1
        return await aggregate(self, query)

    monkeypatch.setattr(SqlCoverage, "coverage_figures", counted)
    await s.command("last 30 days", command="/coverage", user="U0BOSS")
    # A briefing logged before the worker uploads changes nothing in the files.
    await s.command("", command="/briefing", user=PMS[0])
    await s.interaction(submit(opened(s), PMS[0], GOOD))
    await drain(s)
    assert computed == 1
    _, csv_bytes = list(s.fake.uploads.values())
    au = next(
        r for r in csv.DictReader(io.StringIO(csv_bytes.decode())) if r["region_code"] == "AU"
    )
    assert au["briefings"] == "1"
