"""Every neutral action and form has a Slack rendering, a Teams rendering and a console path,
and the one interaction table decides it: parity by construction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from bot.approvals import (
    ApprovalAction,
    ApprovalCard,
    ApprovalDraft,
    ApprovalRequest,
    ApprovalStatus,
    approval_form,
    reply_form,
)
from bot.approvals import note_form as approval_note_form
from bot.briefings import Briefing, BriefingList, briefing_form
from bot.catalog import CatalogView, product_answer
from bot.catalog_file import parse_catalog
from bot.clusters import Cluster
from bot.editing import competitive_form, edit_form
from bot.feedback import Action, HomeView, TriageView, feedback_form, note_form
from bot.forms import Choice, FormSpec
from bot.ids import ActionId, FormId
from bot.interactions import Interactions, buttons_for
from bot.items import Item, Kind, Status, Urgency
from bot.payloads import ApprovalAsk, ApprovalDecided
from bot.settings import WorkspaceSettings, settings_form
from bot.types import UserRef
from handlers.slack import blocks, views
from handlers.teams import cards
from tests.conftest import demo_text, view_of

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
ASK = ApprovalAsk(
    1, "Widget Pro", "Japan", "Restricted — Deal desk approval", "Acme", "$250,000", "Renewal",
    "U0SALES1", "slack",
)  # fmt: skip
DRAFT = ApprovalDraft(
    "WDG-PRO", "Widget Pro", "JP", "Japan", None, "Restricted", "Acme", 250000, "USD",
    "Renewal", "U01DEALDESK", "slack:U01DEALDESK",
)  # fmt: skip
REQUEST = ApprovalRequest(1, UserRef("slack", "U0SALES1"), DRAFT, ApprovalStatus.PENDING, NOW)
MORE_INFO = ApprovalDecided(
    1, "Widget Pro", "Japan", "Acme", "more_info", "Which modules?", "U01DEALDESK", "slack"
)  # the requester's DM offers Reply


def _item(status: Status, kind: Kind = Kind.COMPETITIVE) -> Item:
    return Item(
        1, "Widget Pro: Gizmotron cut prices", "WDG-PRO", "Widget Pro", kind, "Acme", None,
        None, None, Urgency.NORMAL, "Gizmotron cut prices", None, None,
        UserRef("slack", "U0SALES1"), status, NOW,
    )  # fmt: skip


def _samples(view: CatalogView) -> list[Any]:
    product = view.by_sku["WDG-PRO"]
    answer = product_answer(view, product, view.catalog.regions["AU"]).with_freshness(None, True)
    briefing = Briefing(
        1, UserRef("slack", "U0PM1"), NOW.date(), ("AU",), None, (), 5, (), "x", None, 30
    )
    many = product_answer(view, product, view.catalog.regions["EMEA"])
    exceptions = dataclasses.replace(many, differences=many.differences * 5)  # "and N more"
    assert exceptions.hidden
    restricted = product_answer(view, product, view.catalog.regions["JP"])
    assert restricted.restricted  # offers Request approval
    return [
        answer,
        exceptions,
        restricted,
        ApprovalCard(ASK),
        MORE_INFO,
        TriageView(_item(Status.NEW), segment_name="Public sector"),
        TriageView(_item(Status.NEW), cluster=Cluster(_item(Status.NEW), (_item(Status.NEW),))),
        TriageView(_item(Status.NOW)),
        BriefingList((briefing,)),
        HomeView((), (), 30, {Status.NEW: 3}),  # more than a page: "More"
    ]


def _forms(view: CatalogView) -> list[FormSpec]:
    spec = parse_catalog(demo_text())
    return [
        feedback_form(segments=tuple(view.catalog.segments.values())),
        note_form(Action.DECLINE, _item(Status.NEW)),
        edit_form(view.by_sku["WDG-PRO"], spec),
        briefing_form([Choice("AU", "Australia")]),
        competitive_form(1, "Widget Pro", "Gizmotron cut prices"),
        approval_form(product_answer(view, view.by_sku["WDG-PRO"], view.catalog.regions["JP"])),
        approval_note_form(ApprovalAction.DECLINE, REQUEST),
        reply_form(dataclasses.replace(REQUEST, status=ApprovalStatus.MORE_INFO)),
        settings_form(WorkspaceSettings(triage_channel="C0TRIAGE"), "slack", 0),
    ]


def _walk(value: Any, key: str) -> set[str]:
    """Every string under `key` anywhere in a JSON-like value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                found.add(v)
            found |= _walk(v, key)
    elif isinstance(value, list):
        for v in value:
            found |= _walk(v, key)
    return found


def test_every_id_is_decided_by_the_one_table() -> None:
    table = Interactions(bot=None, feedback=None).table  # type: ignore[arg-type]
    assert set(table) == {*ActionId, *FormId}


def test_every_press_renders_on_slack_teams_and_the_console() -> None:
    view = view_of(parse_catalog(demo_text()))
    samples = _samples(view)
    slack = set()
    teams = set()
    console = set()
    for reply in samples:
        if isinstance(reply, TriageView):
            rendered = blocks.triage_card(reply)
        elif isinstance(reply, ApprovalCard):  # a message the outbox sends, not an answer
            rendered = blocks.approval_card(reply)
        elif isinstance(reply, ApprovalDecided):  # the requester's DM, from the outbox too
            rendered = blocks.approval_decided_dm(reply)
        elif isinstance(reply, HomeView):  # Slack shows it only as the App Home tab
            rendered = blocks.home(reply)
        else:
            rendered = blocks.render(reply)
        slack |= _walk(rendered, "action_id")
        if isinstance(reply, TriageView):
            card = cards.triage(reply)
        elif isinstance(reply, ApprovalCard):
            card = cards.approval_card(reply)
        elif isinstance(reply, ApprovalDecided):
            card = cards.approval_decided(reply)
        else:
            card = cards.render(reply)
        teams |= _walk(card, "verb")
        console |= {b.action.value for b in buttons_for(reply)}  # listed by number
    slack_manifest = yaml.safe_load((ROOT / "manifests" / "slack.yaml").read_text())
    slack |= {s["callback_id"] for s in slack_manifest["features"]["shortcuts"]}
    teams_manifest = json.loads((ROOT / "manifests" / "teams" / "manifest.json").read_text())
    teams |= _walk(teams_manifest.get("composeExtensions", []), "id")
    # The console has no message to act on: `/press feedback.from_message TEXT` stands in.
    console.add(ActionId.FROM_MESSAGE.value)
    for where, ids in (("Slack", slack), ("Teams", teams), ("console", console)):
        missing = {a.value for a in ActionId} - ids
        assert not missing, f"{where} cannot press {sorted(missing)}"


def test_every_form_renders_on_slack_teams_and_the_console() -> None:
    view = view_of(parse_catalog(demo_text()))
    forms = _forms(view)
    assert {f.id for f in forms} == {*FormId}
    for form in forms:
        assert views.modal(form)["callback_id"] == form.id
        assert form.id in _walk(cards.form(form), "verb")
    # The console asks any form field by field (tests/handlers/test_console_loop.py fills
    # the feedback and briefing forms, which between them hold every kind of field).


def test_the_ranked_list_and_an_items_clients_read_the_same_everywhere() -> None:
    from bot.demand import DemandReport, DemandRow, ProductDemand, ProductLine
    from bot.feedback import decision_text
    from bot.items import Supporter
    from bot.payloads import Decision
    from handlers.console import render_text

    deal = "https://acme.my.salesforce.com/0065g00000AbCdE"
    globex = Supporter(UserRef("teams", "a1"), "Globex", NOW, 90_000, "EUR")
    item = dataclasses.replace(
        _item(Status.NEW), deal_value=250_000, deal_currency="USD", link=deal, supporters=(globex,)
    )
    demand = ProductDemand("WDG-PRO", 1, 2, item.revenue, {"competitive": 1})
    report = DemandReport(
        "every product",
        (DemandRow(1, item, 2, 3, 349_000),),
        4,
        (ProductLine("Widget Pro", demand),),
        2,
        ("JPY",),
    )
    row = report.rows[0]
    said = (row.head, row.facts, row.clients_line, report.products[0].text, *report.notes)
    assert "Acme ($250,000), Globex (€90,000)" in said
    assert "$250,000 + €90,000 at stake from 2 clients (≈ $349,000)" in row.facts
    for shown in (str(blocks.render(report)), str(cards.render(report)), render_text(report)):
        for text in (*said, report.shown, "Opportunity in Salesforce", deal):
            assert text in shown, (text, shown)
    triage = TriageView(item)
    for shown in (str(blocks.triage_card(triage)), str(cards.triage(triage)), render_text(triage)):
        for text in (row.clients_line, "$250,000 + €90,000 at stake from 2 clients"):
            assert text in shown, (text, shown)
    home = HomeView((item,), (item,), 1, {Status.NEW: 1})
    for shown in (str(blocks.home(home)), str(cards.home(home)), render_text(home)):
        assert shown.count(row.clients_line) == 2, shown  # mine and the queue
    dm = Decision(1, item.title, "now", None, "U0PM1", "slack", None, row.clients_line, "x")
    text = f"Clients: {row.clients_line}; x."  # the console prints decision_text itself
    assert text in decision_text(dm)
    assert text in str(blocks.decision_dm(dm)) and text in str(cards.decision(dm))


def test_the_console_and_teams_show_every_figure_the_slack_report_shows() -> None:
    from handlers.console import render_text
    from tests.bot.test_reports import q3

    report = q3("this quarter", dt.date(2026, 11, 15))
    slack = json.dumps(blocks.coverage(report), ensure_ascii=False)
    console = render_text(report)
    teams = json.dumps(cards.coverage(report), ensure_ascii=False)
    figures = [*(p for r in report.regions for p in report.parts(r))]
    figures += [report.pm_line(p) for p in report.pms]
    assert figures and all(f in slack for f in figures)
    missing = [f for f in figures if f not in console]
    assert not missing, missing
    # The card has room for each figure of a demo-sized report, PMs' effort included.
    assert not [f for f in figures if f not in teams]
    # Numbers are what a manager reads at a glance: no fractions of a briefing, no "0 h".
    assert not any(bad in slack for bad in ("of 4.1", ".5 briefing", "median 0 h", "1 briefings"))
