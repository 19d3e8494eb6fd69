"""What changed, written for sales, and who hears it: one digest per channel and subscriber."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.catalog import assess, region_path
from bot.catalog_file import CatalogSpec, ChangeSet, ProductChange
from bot.replies import format_date
from bot.types import Region, SalesCatalog, SalesProduct, Verdict

EVERYWHERE = "*"
FIELD_WORDS = {
    "summary": "summary",
    "traits": "key traits",
    "competitors": "competitive differences",
    "docs": "documents",
}


@dataclass(frozen=True, slots=True)
class Line:
    """One change sales can see. `regions` are the regions it is about (EVERYWHERE for a
    product-wide change); region channels hear lines about their region, its ancestors
    and its descendants."""

    sku: str
    text: str
    regions: tuple[str, ...] = (EVERYWHERE,)


def catalog_of(spec: CatalogSpec) -> SalesCatalog:
    return SalesCatalog(
        0,
        {b.code: b for b in spec.bands},
        {r.code: r for r in spec.regions},
        spec.products,
        {s.code: s for s in spec.segments},
    )


def _region_name(catalog: SalesCatalog, code: str) -> str:
    region = catalog.regions.get(code)
    return region.name if region else code


def _rule_lines(
    old: SalesCatalog, new: SalesCatalog, before: SalesProduct, after: SalesProduct
) -> list[Line]:
    rules_before = {r.region: r for r in before.rules}
    rules_after = {r.region: r for r in after.rules}
    touched = [c for c in new.regions if rules_before.get(c) != rules_after.get(c)]
    touched += [c for c in rules_before if c not in new.regions]
    lines = []
    for code in touched:
        was = assess(old, before, code)
        now = assess(new, after, code)
        where = _region_name(new, code)
        if now.verdict is Verdict.PLANNED and now.from_date and was.verdict is not now.verdict:
            text = f"{after.name} planned for {where} from {format_date(now.from_date)}"
        elif now.verdict is not was.verdict:
            text = f"{after.name} is now {now.verdict.value} in {where} (was {was.verdict.value})"
            if now.reason and now.verdict is not Verdict.AVAILABLE:
                text += f" — {now.reason}"
        elif now.band != was.band:
            text = (
                f"Pricing band for {after.name} in {where}: "
                f"{was.band.label if was.band else 'none'} → "
                f"{now.band.label if now.band else 'none'}"
            )
        elif now.detail() != was.detail():
            text = (
                f"{after.name}: {now.phrase(new.regions[code])}"
                if code in new.regions
                else f"{after.name} in {where}: {now.detail()}"
            )
        else:
            continue  # a rule moved but the answer sales get is the same
        lines.append(Line(after.sku, text, (code,)))
    return lines


def _product_lines(old: SalesCatalog, new: SalesCatalog, c: ProductChange) -> list[Line]:
    assert c.before is not None and c.after is not None
    before, after = c.before, c.after
    lines: list[Line] = []
    if "name" in c.fields:
        lines.append(Line(after.sku, f"{before.name} is now called {after.name}"))
    if "lifecycle" in c.fields:
        lines.append(
            Line(
                after.sku,
                f"{after.name} lifecycle: {before.lifecycle.value.upper()}"
                f" → {after.lifecycle.value.upper()}",
            )
        )
    if "pricing_band" in c.fields:
        was = old.bands.get(before.pricing_band or "")
        now = new.bands.get(after.pricing_band or "")
        lines.append(
            Line(
                after.sku,
                f"Pricing band for {after.name}: "
                f"{was.label if was else 'none'} → "
                f"{now.label if now else 'none'}",
            )
        )
    if "rules" in c.fields or "lifecycle" in c.fields:
        lines += _rule_lines(old, new, before, after)
    updated = [FIELD_WORDS[f] for f in c.fields if f in FIELD_WORDS]
    if updated:
        lines.append(Line(after.sku, f"{after.name}: updated " + ", ".join(updated)))
    return lines


def lines_for(old: CatalogSpec, new: CatalogSpec, changes: ChangeSet) -> list[Line]:
    """Every change sales can see, in catalog order. Internal fields never produce a line."""
    a, b = catalog_of(old), catalog_of(new)
    lines: list[Line] = []
    for p in changes.added:
        text = f"New product: {p.name}" + (f" — {p.summary}" if p.summary else "")
        lines.append(Line(p.sku, text))
    for c in changes.changed:
        lines += _product_lines(a, b, c)
    for p in changes.removed:
        lines.append(Line(p.sku, f"{p.name} is no longer in the catalog"))
    return lines


def relevant(line: Line, region: str, regions: Mapping[str, Region]) -> bool:
    """Is `line` news for a channel about `region`? (The region, above it or below it.)"""
    if EVERYWHERE in line.regions:
        return True
    for code in line.regions:
        if region in region_path(dict(regions), code) or code in region_path(dict(regions), region):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Digest:
    """One message for one target: a channel or a subscriber."""

    platform: str
    kind: str  # "announce" (channel) | "dm" (subscriber)
    target: str
    title: str
    lines: tuple[str, ...]


# What one chat message shows of a digest's lines (a Slack section holds 3,000 characters,
# escaping may lengthen a line, and the "… and N more" line must fit too).
DIGEST_CHARS = 2500
CHANGES_COMMAND = "/product changes"


def more_line(left: int, command: str = CHANGES_COMMAND) -> str:
    return f"… and {left} more change{'s' if left != 1 else ''}: `{command}`"


def shown(texts: Iterable[str]) -> tuple[str, ...]:
    """The lines one message shows, then one saying how many were left out and where to
    see them all: a digest stores only what it sends, however large the change."""
    out: list[str] = []
    used = 0
    left = 0
    for text in texts:
        if left:
            left += 1
            continue
        used += len(text) + 3  # "• " and the line break
        if used <= DIGEST_CHARS:
            out.append(text)
        elif not out:  # a single very long line is cut rather than left out
            out.append(text[: DIGEST_CHARS - 4] + "…")
        else:
            left = 1
    return (*out, more_line(left)) if left else tuple(out)


def digests(
    lines: Sequence[Line],
    *,
    regions: Mapping[str, Region],
    channels: Sequence[tuple[str, str]],  # (region code or "*", "platform:channel")
    subscribers: Mapping[str, Sequence[tuple[str, str]]],  # sku -> [(platform, user id)]
) -> list[Digest]:
    out: list[Digest] = []
    for region, address in channels:
        platform, _, channel = address.partition(":")
        picked = shown(
            ln.text for ln in lines if region == EVERYWHERE or relevant(ln, region, regions)
        )
        if picked:
            where = "" if region == EVERYWHERE else f" for {regions[region].name}"
            out.append(Digest(platform, "announce", channel, f"Product updates{where}", picked))
    per_user: dict[tuple[str, str], list[str]] = {}
    for ln in lines:
        for who in subscribers.get(ln.sku, ()):
            per_user.setdefault(who, []).append(ln.text)
    for (platform, user), texts in per_user.items():
        out.append(Digest(platform, "dm", user, "Updates to products you follow", shown(texts)))
    return out
