"""The large cases, generated, run through lookups, the triage card, Home, the edit form and
the briefing form on Slack and Teams, with everything sent judged by tests/validators.py:
250 regions (each with a briefing target, so the coverage report has a row for each), a
product with 30 traits, 15 competitors, 14 documents and 150 market rules, 40 products that
share a word, and feedback of 3,000 characters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.replies import MORE
from handlers.slack.blocks import clip, esc
from tests.big_catalog import BIG_NAME, BIG_SKU, big_catalog
from tests.fakes import FakeSlack
from tests.handlers.conftest import PMS, SlackDriver, slack_server
from tests.handlers.slack.test_feedback_flow import as_json, calls, eventually, submission
from tests.handlers.teams.conftest import CHANNEL, PM_AAD, SALES_AAD, TeamsDriver, start
from tests.handlers.teams.test_teams import card_of

SHARED_WORD = "Quasar"
SHARED = 40
FEEDBACK = ("R&D asked for <SAML> & SCIM, again & again. " * 80)[:3000]


def large_catalog() -> str:
    """tests/big_catalog.py's 250 regions and 150-rule product, made as large as a catalog
    gets in every other direction too."""
    data: dict[str, Any] = yaml.safe_load(big_catalog(regions=250, rules=150))
    for region in data["regions"][1:]:
        region["briefing_target_per_quarter"] = 1
    big = next(p for p in data["products"] if p["sku"] == BIG_SKU)
    big["traits"] = [
        f"Trait {i}: keeps working through a cold restart & failover" for i in range(30)
    ]
    big["competitors"] = [
        {
            "name": f"Rival {i}",
            "difference": f"Ships with a local control plane <{i}> & no cloud lock-in",
        }
        for i in range(15)
    ]
    big["docs"] = [
        {"title": f"Atlas Router guide {i} & notes", "url": f"https://docs.example.com/atlas/{i}"}
        for i in range(14)
    ]
    data["products"] += [
        {
            "sku": f"QSR-{i:02d}",
            "name": f"{SHARED_WORD} {name}",
            "lifecycle": "ga",
            "availability": [{"region": "GLOBAL", "status": "available"}],
        }
        for i, name in enumerate(
            f"Model{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(SHARED)
        )
    ]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


LARGE = large_catalog()
MARKET = yaml.safe_load(LARGE)["regions"][10]["name"]


def test_clip_cuts_on_a_safe_boundary_and_says_so() -> None:
    spaced = esc(FEEDBACK) + " <https://example.com|a link>"
    # No line or word to end at: only the escape and link rules keep the cut safe.
    links = "<https://example.com/a|link>" * 120
    escapes = esc("R&D<x>" * 600)
    for text in (spaced, links, escapes):
        for limit in range(2900, 3001):
            cut = clip(text, limit)
            assert len(cut) <= limit and cut.endswith(MORE)
            body = cut.removesuffix(MORE)
            entities = body.count("&amp;") + body.count("&lt;") + body.count("&gt;")
            assert body.count("&") == entities
            assert body.count("<") == body.count(">")
    assert clip("short") == "short"


# ----------------------------------------------------------------------------- Slack


@pytest.fixture
async def slack_large(
    db_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> AsyncIterator[SlackDriver]:
    async with slack_server(db_url, fake_slack) as driver:
        await driver.services.catalog.import_catalog(LARGE)
        yield driver


async def test_slack_lookups(slack_large: SlackDriver) -> None:
    answer = (await slack_large.command(f"{BIG_NAME} in {MARKET}")).json
    assert answer["text"].startswith(f"{BIG_NAME}: ")
    overview = (await slack_large.command(BIG_NAME)).json  # every region in one reply
    assert overview["blocks"]
    shared = (await slack_large.command(SHARED_WORD.lower())).json
    assert shared["text"].startswith(f"8 of {SHARED} products match")
    assert f"8 of {SHARED} products match" in str(shared["blocks"])
    assert "narrow it down" in str(shared["blocks"])
    region = (await slack_large.command(MARKET)).json
    assert region["blocks"]


async def test_slack_triage_card_and_home_with_3000_characters(slack_large: SlackDriver) -> None:
    await slack_large.command(FEEDBACK, command="/feedback", user="U0SALES1")
    form = as_json(calls(slack_large, "views.open")[-1].body["view"])
    done = await slack_large.interaction(
        submission(
            form, product=BIG_SKU, kind="feature_request", client="Acme & Sons", details=FEEDBACK
        )
    )
    assert done.json["response_action"] == "update"
    await eventually(lambda: len(calls(slack_large, "chat.postMessage")) == 1)
    [card] = calls(slack_large, "chat.postMessage")
    shown = str(as_json(card.body["blocks"]))
    assert MORE in shown  # the details were cut, and it says so
    for user in ("U0SALES1", PMS[0]):
        await slack_large.post_json(
            {
                "type": "event_callback",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "event_id": f"Ev{user}",
                "event_time": 1700000000,
                "event": {"type": "app_home_opened", "user": user, "tab": "home"},
            }
        )
    await eventually(lambda: len(calls(slack_large, "views.publish")) == 2)


async def test_slack_edit_form(slack_large: SlackDriver) -> None:
    await slack_large.action("product.edit", BIG_SKU, user=PMS[0])
    [view] = calls(slack_large, "views.open")
    assert len(json.dumps(as_json(view.body["view"]))) > 2000


async def test_slack_briefing_form(slack_large: SlackDriver) -> None:
    await slack_large.command("", command="/briefing", user=PMS[0])
    assert calls(slack_large, "views.open")


# ----------------------------------------------------------------------------- Teams


@pytest.fixture
async def teams_large(db_url: str, engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    server, services, connector = await start(
        db_url, public_url="https://bot.example.com", link_secret="large-cases-secret"
    )
    await services.catalog.import_catalog(LARGE)
    async with aiohttp.ClientSession() as http:
        yield TeamsDriver(str(server.make_url("")).rstrip("/"), http, connector, services)
    await server.close()
    await connector.close()


def last_card(teams: TeamsDriver, user: str) -> dict[str, Any]:
    return card_of(teams.connector.messages(f"a:dm-{user}")[-1].body)


async def test_teams_lookups(teams_large: TeamsDriver) -> None:
    await teams_large.say(f"product {BIG_NAME} in {MARKET}")
    assert last_card(teams_large, SALES_AAD)["fallbackText"].startswith(f"{BIG_NAME}: ")
    await teams_large.say(f"product {BIG_NAME}")
    await teams_large.say(f"product {SHARED_WORD.lower()}")
    shared = last_card(teams_large, SALES_AAD)
    assert f"8 of {SHARED} products match" in json.dumps(shared, ensure_ascii=False)
    await teams_large.say(f"product {MARKET}")


async def test_teams_search_keeps_not_product_specific_visible(teams_large: TeamsDriver) -> None:
    activity = teams_large.activity(
        type="invoke",
        name="application/search",
        value={
            "queryText": SHARED_WORD.lower(),
            "dataset": "products",
            "queryOptions": {"top": 15},
        },
    )
    status, answer = await teams_large.post(activity)
    results = answer["value"]["results"]
    assert status == 200 and len(results) == 15
    assert results[-1]["title"] == "Not product-specific"


async def test_teams_feedback_triage_and_home(teams_large: TeamsDriver) -> None:
    await teams_large.say("use this channel for triage", conversation_type="channel", user=PM_AAD)
    _, done = await teams_large.execute(
        "feedback.submit",
        {
            "product": BIG_SKU,
            "kind": "feature_request",
            "client": "Acme & Sons",
            "urgency": "normal",
            "currency": "USD",
            "details": FEEDBACK,
        },
    )
    assert "#1" in json.dumps(done)
    await eventually(lambda: len(teams_large.connector.messages(CHANNEL)) == 2)
    await teams_large.say("home", user=PM_AAD)
    await teams_large.say("home")


async def test_teams_edit_form(teams_large: TeamsDriver) -> None:
    await teams_large.say(f"product edit {BIG_NAME}", user=PM_AAD)
    assert last_card(teams_large, PM_AAD)["body"]


async def test_teams_briefing_form_and_coverage(teams_large: TeamsDriver) -> None:
    await teams_large.say("briefing", user=PM_AAD)
    form = last_card(teams_large, PM_AAD)
    regions = next(el for el in form["body"] if el.get("id") == "regions")
    assert regions["choices.data"] == {"type": "Data.Query", "dataset": "regions"}
    await teams_large.say("coverage this quarter", user=PM_AAD)
    report = last_card(teams_large, PM_AAD)
    shown = json.dumps(report, ensure_ascii=False)
    assert "more regions." in shown and len(shown.encode()) < 28 * 1024  # listed as room allows
    images = [el for el in report["body"] if el["type"] == "Image"]
    assert len(images) > 1  # 250 regions: a chart of several pages, a link each
    for image in images:
        path = image["url"].removeprefix("https://bot.example.com")
        async with teams_large.http.get(teams_large.base + path) as r:
            png = await r.read()
        assert r.status == 200 and int.from_bytes(png[16:20], "big") <= 1024
        assert int.from_bytes(png[20:24], "big") <= 1024
