"""Announcement lines written for sales, from the same change set as imports and edits."""

from __future__ import annotations

from bot.announcements import Line, digests, lines_for, relevant
from bot.catalog_file import diff_catalogs, parse_catalog
from tests.conftest import demo_text


def lines_after(*replacements: tuple[str, str]) -> list[Line]:
    old = parse_catalog(demo_text())
    text = demo_text()
    for a, b in replacements:
        assert a in text, a
        text = text.replace(a, b, 1)
    new = parse_catalog(text)
    return lines_for(old, new, diff_catalogs(old, new))


def test_verdict_band_and_plan_changes_read_like_news() -> None:
    lines = lines_after(
        # Widget Lite becomes sellable in Australia.
        (
            "{region: AU, status: not_available, reason: Not licensed}",
            "{region: AU, status: available}",
        ),
    )
    assert [ln.text for ln in lines] == [
        "Widget Lite is now Available in Australia (was Not available)"
    ]
    assert lines[0].regions == ("AU",)


def test_internal_only_changes_announce_nothing() -> None:
    assert lines_after(("margin_pct: 61", "margin_pct: 12")) == []


def test_product_wide_changes() -> None:
    texts = [
        ln.text
        for ln in lines_after(
            ("name: Widget Lite", "name: Widget Air"),
            ("traits: [Credit-card checkout", "traits: [Card checkout"),
        )
    ]
    assert "Widget Lite is now called Widget Air" in texts
    assert "Widget Air: updated key traits" in texts


def test_region_channels_hear_their_region_above_and_below() -> None:
    regions = {r.code: r for r in parse_catalog(demo_text()).regions}
    au = Line("X", "about Australia", ("AU",))
    emea = Line("X", "about EMEA", ("EMEA",))
    world = Line("X", "everywhere")
    assert relevant(au, "APAC", regions) and not relevant(au, "EMEA", regions)
    assert relevant(emea, "UK", regions) and relevant(world, "APAC", regions)
    out = digests(
        [au, emea, world],
        regions=regions,
        channels=[("*", "slack:C0ALL"), ("APAC", "slack:C0APAC")],
        subscribers={"X": [("slack", "U1"), ("teams", "aad-1")]},
    )
    by_target = {d.target: d.lines for d in out}
    assert by_target == {
        "C0ALL": ("about Australia", "about EMEA", "everywhere"),
        "C0APAC": ("about Australia", "everywhere"),
        "U1": ("about Australia", "about EMEA", "everywhere"),
        "aad-1": ("about Australia", "about EMEA", "everywhere"),
    }
