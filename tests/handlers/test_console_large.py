"""Large catalogs in the console: a product with 150 rules is edited a page at a time, and
the region fields search 250 regions."""

from __future__ import annotations

from bot.catalog_file import parse_catalog
from bot.editing import edit_form, rule_line
from handlers.app import build_services
from handlers.config import Settings
from tests.big_catalog import BIG_NAME, BIG_SKU, big_catalog
from tests.handlers.test_console_loop import PM, converse, lines


async def test_editing_one_rule_of_150_in_the_console(db_url: str, engine: object) -> None:
    catalog = big_catalog(regions=250, rules=150)
    spec = parse_catalog(catalog)
    big = next(p for p in spec.products if p.sku == BIG_SKU)
    second = edit_form(big, spec, page=1)
    page = next(f for f in second.fields if f.id == "availability").initial or ""
    line = page.splitlines()[1]
    region = line.split(":")[0]
    changed = page.replace(line, f"{region}: planned from 2027-01-15").replace("\n", "\\n")
    out = await converse(
        db_url,
        lines(
            f"/as {PM}",
            f"edit {BIG_NAME}",
            "",  # lifecycle: kept
            "",  # pricing band: kept
            "",  # availability, the first page: kept
            "2",  # after saving: the second page
            "",
            "",
            "",
            "",
            "",  # the second page: lifecycle, band kept
            "",
            changed,  # its rules, one changed
            "",  # after saving: close
            "",
            "",
            "",
            "",
            f"{BIG_NAME} in {next(r.name for r in spec.regions if r.code == region)}",
        ),
        catalog=catalog,
    )
    text = "\n".join(out)
    assert f"{BIG_NAME} saved. Nothing had changed." in text  # the first page's save
    assert f"{BIG_NAME} saved. Sales will hear what changed." in text
    assert out[-1].startswith(f"{BIG_NAME}: Planned in ")
    assert "from 15 Jan 2027" in out[-1] or "2027-01-15" in out[-1], out[-1]
    services = build_services(Settings(_env_file=None, database_url=db_url))  # type: ignore[call-arg]
    try:
        stored = await services.catalog.export_catalog()
    finally:
        await services.updates.close()
        await services.engine.dispose()
    after = [rule_line(r) for r in next(p for p in stored.products if p.sku == BIG_SKU).rules]
    assert after == [
        f"{region}: planned from 2027-01-15" if rule_line(r) == line else rule_line(r)
        for r in big.rules
    ]


async def test_region_fields_reach_every_one_of_250_regions_in_the_console(
    db_url: str, engine: object
) -> None:
    catalog = big_catalog(regions=250, rules=150)
    far = parse_catalog(catalog).regions[-1]
    out = await converse(
        db_url,
        lines(
            "/feedback Client needs an offline mode for the field teams",
            "beacon",  # product: searched, then picked
            "1",
            "4",  # kind: feature request
            "Acme",
            far.name.lower(),  # region: searched among 250…
            "1",  # …and picked by number
            "",
            "",
            "",
            "",
            "",
            f"/as {PM}",
            "/briefing",
            "",
            far.code,  # regions: searched by code
            "1",
            "",
            "",
            "4",
            "",
            "Roadmap",
            "",  # deck (link)
            "",  # deck (file)
            "20",
            "/briefing list",
        ),
        catalog=catalog,
    )
    text = "\n".join(out)
    assert f"    1. {far.name} ({far.code})" in text
    assert "Product has it as #1" in text
    assert f"Region: {far.name}" in text  # on the triage card the PM's inbox shows
    assert any(o.startswith("Saved: #1") for o in out), text
    assert f"{far.code}" in out[-1]
