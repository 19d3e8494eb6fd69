"""Editing a product in chat: the form, its parsing, and the same validation and change
engine as a catalog import."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import yaml

from bot.announcements import lines_for, shown
from bot.catalog import CatalogService
from bot.catalog_file import (
    CatalogConflict,
    CatalogError,
    CatalogSpec,
    ChangeSet,
    catalog_to_dict,
    diff_catalogs,
    parse_catalog,
)
from bot.forms import Choice, Errors, FieldKind, FormField, FormSpec, Values
from bot.ids import FormId
from bot.payloads import Digest
from bot.ports import Lane, Notification
from bot.settings import WorkspaceSettings, in_effect
from bot.types import Competitor, Lifecycle, Refused, Rule, SalesProduct, UserRef, Why, is_listed

GONE = "That product is no longer in the catalog."
NOT_ALLOWED = "Only product managers (or the product's owner) can edit a product."
CONFLICT = (
    "Someone changed the catalog while you were editing. Nothing was saved: open the form "
    "again to see their change, then make yours."
)
NO_BAND = "-"
RULES_HINT = (
    "One market per line: REGION[/SEGMENT]: status [from YYYY-MM-DD] [band CODE] "
    "[contact USER] [— reason]. Statuses: available, not_available, restricted, planned, "
    "withdrawn."
)
_RULE = re.compile(
    r"^(?P<region>[A-Za-z0-9_-]+)(?:\s*/\s*(?P<segment>[A-Za-z0-9_-]+))?\s*:\s*"
    r"(?P<status>[a-z_ ]+?)"
    r"(?:\s+from\s+(?P<from>\d{4}-\d{2}-\d{2}))?"
    r"(?:\s+band\s+(?P<band>[A-Za-z0-9_-]+))?"
    r"(?:\s+contact\s+(?P<contact>[A-Za-z0-9:_-]+))?"
    r"(?:\s*[—–-]{1,2}\s*(?P<reason>.+))?$"
)
# Rules are edited a page at a time: a product's rules can be far longer than one text
# field holds (Slack's plain_text_input takes 3,000 characters; Teams and the console keep
# the same limit), and a rule cut off a too-long field would silently fall back to its
# parent region's. A page is prefilled with at most RULES_PAGE_CHARS, leaving room to add
# lines, and saving it replaces exactly the rules it showed: every other rule is kept.
RULES_FIELD_MAX = 3000
RULES_PAGE_CHARS = 2000
PAGE_KEYS_MAX = 1500  # the page's rule keys ride in the form's state (Slack: 3,000 chars)
THEN_CLOSE = "close"
_FIELD_OF = {  # catalog-file field -> form field, to put import errors in the right place
    "availability": "availability",
    "lifecycle": "lifecycle",
    "pricing_band": "pricing_band",
    "summary": "summary",
    "traits": "traits",
    "competitors": "competitors",
    "docs": "docs",
}


@dataclass(frozen=True, slots=True)
class Edited:
    product: SalesProduct
    changes: ChangeSet
    # A copy of a submission saved before (a replay, a second click): it changed nothing
    # itself and is answered as the first was, which changed something (or left no record).
    copy: bool = False


def saved_text(edited: Edited) -> str:
    changed = not edited.changes.empty or edited.copy
    return f"{edited.product.name} saved." + (
        " Sales will hear what changed." if changed else " Nothing had changed."
    )


def rule_line(r: Rule) -> str:
    """A rule as the form shows it: 'JP: restricted band C contact U01DEALDESK — Deal desk
    approval', 'DE/PUB: not_available — Needs BSI C5 attestation' (parse_edit reads it
    back to the same rule)."""
    out = f"{rule_key(r)}: {r.status.value}"
    if r.from_date:
        out += f" from {r.from_date.isoformat()}"
    if r.pricing_band:
        out += f" band {r.pricing_band}"
    if r.contact:
        out += f" contact {r.contact}"
    if r.reason:
        out += f" — {r.reason}"
    return out


def rule_key(r: Rule) -> str:
    """What one rule is about: its region, and its customer segment if it has one."""
    return f"{r.region}/{r.segment}" if r.segment else r.region


def _dict_key(rule: dict[str, object]) -> str:
    segment = rule.get("segment")
    return f"{rule['region']}/{segment}" if segment else str(rule["region"])


@dataclass(frozen=True, slots=True)
class RulesPage:
    """Rules [start, end) of a product, shown in one field; `too_long` are rules whose line
    alone exceeds the field (kept, and named in the form, but editable only in the file)."""

    number: int
    start: int
    end: int
    total: int
    pages: tuple[tuple[int, int], ...]
    too_long: tuple[str, ...] = ()


def rule_pages(rules: Sequence[Rule]) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    """The product's rules cut into runs that each fit a page, in the catalog's order."""
    pages: list[tuple[int, int]] = []
    too_long: list[str] = []
    start, chars, keys = 0, 0, 0
    for i, r in enumerate(rules):
        line, key = len(rule_line(r)) + 1, len(rule_key(r)) + 1
        if line > RULES_FIELD_MAX:
            too_long.append(rule_key(r))
        if i > start and (chars + line > RULES_PAGE_CHARS or keys + key > PAGE_KEYS_MAX):
            pages.append((start, i))
            start, chars, keys = i, 0, 0
        chars, keys = chars + line, keys + key
    pages.append((start, len(rules)))
    return tuple(pages), tuple(too_long)


def rules_page(rules: Sequence[Rule], number: int) -> RulesPage:
    pages, too_long = rule_pages(rules)
    number = min(max(number, 0), len(pages) - 1)
    start, end = pages[number]
    return RulesPage(number, start, end, len(rules), pages, too_long)


def _page_label(rules: Sequence[Rule], start: int, end: int, regions: dict[str, str]) -> str:
    def name(r: Rule) -> str:
        return regions.get(r.region, r.region)

    span = f"{name(rules[start])} … {name(rules[end - 1])}" if end > start else "none"
    return f"rules {start + 1}–{end} ({span})"[:70]


def _then_field(rules: Sequence[Rule], page: RulesPage, regions: dict[str, str]) -> FormField:
    """Where to go after saving: close, or another page of rules (at most 99 listed:
    Slack's static menus take 100 options)."""
    others = [n for n in range(len(page.pages)) if n != page.number]
    if len(others) > 98:
        near = {0, page.number - 1, page.number + 1, len(page.pages) - 1}
        others = [n for n in others if n in near or abs(n - page.number) < 40][:98]
    return FormField(
        "then",
        "After saving",
        FieldKind.SELECT,
        required=False,
        initial=THEN_CLOSE,
        choices=(
            Choice(THEN_CLOSE, "Close the form"),
            *(
                Choice(str(n), "Edit " + _page_label(rules, *page.pages[n], regions))
                for n in others
            ),
        ),
    )


def edit_form(
    product: SalesProduct,
    spec: CatalogSpec,
    *,
    page: int = 0,
    saved: str | None = None,
    item: int | None = None,
) -> FormSpec:
    """The edit form with one page of the product's rules (`saved`: what the previous
    page's save did, said first; `item`: the feedback item it was opened from, whose
    people are told what the edit changed)."""
    rules = product.rules
    shown = rules_page(rules, page)
    regions = {r.code: r.name for r in spec.regions}
    intro = (
        f"Changes are validated like a catalog import and announced to sales. SKU {product.sku}."
    )
    label = "Availability by market"
    if len(shown.pages) > 1:
        kept = shown.total - (shown.end - shown.start)
        label += f" ({_page_label(rules, shown.start, shown.end, regions)} of {shown.total})"
        intro += (
            f" This page shows rules {shown.start + 1}–{shown.end} of {shown.total}; the other "
            f"{kept} are kept as they are. To edit them, pick their page under “After saving”."
        )
    if shown.too_long:
        intro += (
            f" Too long to edit here, kept as they are: {', '.join(shown.too_long[:10])}"
            + (f" and {len(shown.too_long) - 10} more" if len(shown.too_long) > 10 else "")
            + " (change them in the catalog file)."
        )
    page_rules = [r for r in rules[shown.start : shown.end] if rule_key(r) not in shown.too_long]
    state = {
        "sku": product.sku,
        "basis": basis_of(product),
        "page": str(shown.number),
        "rules": "\n".join(rule_key(r) for r in page_rules),
        **({"item": str(item)} if item is not None else {}),
    }
    if item is not None:
        intro += f" Whoever sent feedback #{item} (or added a client to it) hears what changed."
    then = (_then_field(rules, shown, regions),) if len(shown.pages) > 1 else ()
    return FormSpec(
        id=FormId.PRODUCT,
        title=f"Edit {product.name}"[:24],
        submit="Save",
        intro=f"{saved} {intro}" if saved else intro,
        state=state,
        fields=(
            FormField(
                "lifecycle",
                "Lifecycle",
                FieldKind.SELECT,
                initial=product.lifecycle.value,
                choices=tuple(Choice(x.value, x.value.upper()) for x in Lifecycle),
            ),
            FormField(
                "pricing_band",
                "Pricing band",
                FieldKind.SELECT,
                required=False,
                initial=product.pricing_band or NO_BAND,
                choices=(
                    Choice(NO_BAND, "None"),
                    *(Choice(b.code, f"{b.code}: {b.label}") for b in spec.bands),
                ),
            ),
            FormField(
                "availability",
                label,
                FieldKind.MULTILINE,
                required=False,
                hint=RULES_HINT,
                max_length=RULES_FIELD_MAX,
                initial="\n".join(rule_line(r) for r in page_rules) or None,
            ),
            *then,
            FormField(
                "summary",
                "Summary",
                FieldKind.MULTILINE,
                required=False,
                initial=product.summary or None,
                max_length=500,
            ),
            FormField(
                "traits",
                "Key traits (one per line)",
                FieldKind.MULTILINE,
                required=False,
                initial="\n".join(product.traits) or None,
                max_length=2000,
            ),
            FormField(
                "competitors",
                "Competitive differences (Competitor: difference)",
                FieldKind.MULTILINE,
                required=False,
                max_length=3000,
                initial="\n".join(f"{c.name}: {c.difference}" for c in product.competitors) or None,
            ),
            FormField(
                "docs",
                "Documents (Title | https://…)",
                FieldKind.MULTILINE,
                required=False,
                max_length=3000,
                initial="\n".join(f"{d.title} | {d.url}" for d in product.docs) or None,
            ),
        ),
    )


def _lines(value: str | None) -> list[str]:
    return [ln.strip() for ln in (value or "").splitlines() if ln.strip()]


def basis_of(product: SalesProduct) -> str:
    """A digest of the product as an edit form shows it (sales-safe fields only): a form
    opened before someone else's change carries the old one, so saving it cannot put the
    old values back over theirs."""
    return hashlib.blake2b(repr(product).encode(), digest_size=8).hexdigest()


def page_keys(state: Mapping[str, str]) -> frozenset[str] | None:
    """The rules the submitted page showed (None: a form from before pages, which showed
    them all)."""
    if "rules" not in state:
        return None
    return frozenset(k for k in state["rules"].split("\n") if k)


def merge_page(
    current: Sequence[dict[str, object]],
    submitted: Sequence[dict[str, object]],
    page: frozenset[str] | None,
) -> list[dict[str, object]]:
    """The product's rules after saving one page: the page's rules become the submitted
    ones, in their place; a submitted rule for a market on another page replaces that one;
    every other rule is kept as it is, in its order."""
    if page is None:
        return list(submitted)
    new_keys = {_dict_key(r) for r in submitted}
    out: list[dict[str, object]] = []
    placed = False
    for rule in current:
        key = _dict_key(rule)
        if key in page and not placed:
            out.extend(submitted)
            placed = True
        if key not in page and key not in new_keys:
            out.append(rule)
    if not placed:
        out.extend(submitted)
    return out


def parse_edit(
    values: Values, spec: CatalogSpec, sku: str, page: frozenset[str] | None = None
) -> CatalogSpec | Errors:
    """`spec` (the regions, bands and this product) with the product as the form says,
    validated as an import is. `page`: the rules the form showed (the others stay as
    they are); None, all of them."""
    errors: Errors = {}
    rules: list[dict[str, object]] = []
    regions = _codes(r.code for r in spec.regions)
    segments = _codes(g.code for g in spec.segments)
    bands = _codes(b.code for b in spec.bands)
    for n, line in enumerate(_lines(values.get("availability")), start=1):
        m = _RULE.match(line)
        if not m:
            errors["availability"] = f"Line {n} “{line[:60]}”: {RULES_HINT}"
            break
        rule: dict[str, object] = {
            "region": _code(m["region"], regions),
            "status": m["status"].strip().replace(" ", "_"),
        }
        if m["segment"]:
            rule["segment"] = _code(m["segment"], segments)
        if m["from"]:
            rule["from"] = dt.date.fromisoformat(m["from"]) if _date_ok(m["from"]) else m["from"]
        if m["band"]:
            rule["pricing_band"] = _code(m["band"], bands)
        if m["contact"]:
            rule["contact"] = m["contact"]
        if m["reason"]:
            rule["reason"] = m["reason"].strip()
        rules.append(rule)
    competitors = []
    for line in _lines(values.get("competitors")):
        name, sep, difference = line.partition(":")
        if not sep or not name.strip() or not difference.strip():
            errors["competitors"] = f"“{line[:60]}”: write Competitor: how we differ"
            break
        competitors.append({"name": name.strip(), "difference": difference.strip()})
    docs = []
    for line in _lines(values.get("docs")):
        title, sep, url = line.rpartition("|")
        if not sep or not title.strip():
            errors["docs"] = f"“{line[:60]}”: write Title | https://…"
            break
        docs.append({"title": title.strip(), "url": url.strip()})
    if errors:
        return errors
    data = catalog_to_dict(spec)
    index = next(i for i, p in enumerate(data["products"]) if p["sku"] == sku)
    product = dict(data["products"][index])
    # A field the submission does not carry stays as it is; one sent empty is cleared.
    new = {
        "lifecycle": values.get("lifecycle") or product["lifecycle"],
        "availability": merge_page(product.get("availability", []), rules, page),
        "summary": (values.get("summary") or "").strip(),
        "traits": _lines(values.get("traits")),
        "competitors": competitors,
        "docs": docs,
    }
    product.update({k: v for k, v in new.items() if k in values})
    if "pricing_band" in values:
        band = values.get("pricing_band")
        if band and band != NO_BAND:
            product["pricing_band"] = band
        else:
            product.pop("pricing_band", None)
    data["products"][index] = product
    try:  # the same path as an import: the whole file, every problem with its place
        return parse_catalog(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    except CatalogError as exc:
        prefix = f"products[{index}]."
        for problem in exc.problems:
            place, _, message = problem.partition(": ")
            field = place.removeprefix(prefix).split(".")[0].split("[")[0]
            errors.setdefault(
                _FIELD_OF.get(field, "availability"), f"{place.removeprefix(prefix)}: {message}"
            )
        return errors


def _codes(codes: Iterable[str]) -> dict[str, str]:
    return {c.casefold(): c for c in codes}


def _code(typed: str, known: Mapping[str, str]) -> str:
    """The catalog's own spelling of a code typed in any case (codes are case-sensitive
    in the file: 'de' must not turn a rule for a region coded 'de' into one for 'DE')."""
    return known.get(typed.casefold(), typed.upper())


def _date_ok(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


class ProductEditor:
    """Who may edit, the form, and applying an edit through the one change engine."""

    def __init__(self, *, catalog: CatalogService, product_managers: frozenset[str]) -> None:
        self._catalog = catalog
        self._env = WorkspaceSettings(product_managers=product_managers)

    def may_edit(self, user: UserRef, product: SalesProduct) -> bool:
        pms = in_effect(self._env).product_managers
        return is_listed(user, [*pms, *([product.owner] if product.owner else [])])

    async def product(self, sku: str) -> SalesProduct | None:
        return (await self._catalog.view()).by_sku.get(sku)

    async def form(
        self,
        *,
        user: UserRef,
        sku: str,
        page: int = 0,
        saved: str | None = None,
        item: int | None = None,
    ) -> FormSpec | Refused:
        product = await self.product(sku)
        if product is None:
            return Refused(GONE, Why.GONE)
        if not self.may_edit(user, product):
            return Refused(NOT_ALLOWED, Why.NOT_ALLOWED)
        spec = await self._catalog.product_spec(sku)
        return edit_form(product, spec, page=page, saved=saved, item=item)

    async def submit(
        self,
        *,
        user: UserRef,
        sku: str,
        values: Values,
        page: frozenset[str] | None = None,
        submission: str | None = None,
        basis: str | None = None,
        tell: Tell | None = None,
    ) -> Edited | Errors | Refused:
        """`submission` names this one submission (bot.interactions.submission_key): a copy
        of one already saved changes nothing and is answered as the first was. `basis`: the
        form's basis_of() the product it showed; a product changed since is a conflict.
        `tell` makes the messages that carry what sales will read of the change (none when
        they read nothing), written in the change's own transaction."""
        product = await self.product(sku)
        if product is None:
            return Refused(GONE, Why.GONE)
        if not self.may_edit(user, product):  # checked again: forms can be forged
            return Refused(NOT_ALLOWED, Why.NOT_ALLOWED)
        # The version first: a change committed after it makes this edit a conflict.
        version = await self._catalog.catalog_version()
        if (first := await self._made_by(submission, product)) is not None:
            return first
        spec = await self._catalog.product_spec(sku)  # this product only, at any size
        current = next((p for p in spec.products if p.sku == sku), None)
        if current is None:
            return Refused(GONE, Why.GONE)
        if basis is not None and basis != basis_of(current):
            # Opened before a change that did not come from this form (a stale or replayed
            # form, another PM's edit, an import): saving it would undo that change. A
            # copy of this very submission that committed meanwhile is answered as it was.
            return await self._made_by(submission, current) or Refused(CONFLICT, Why.CONFLICT)
        parsed = parse_edit(values, spec, sku, page)
        if not isinstance(parsed, CatalogSpec):
            return parsed
        after = next(p for p in parsed.products if p.sku == sku)
        told: Sequence[Notification] = ()
        if tell is not None:
            lines = [ln.text for ln in lines_for(spec, parsed, diff_catalogs(spec, parsed))]
            told = tell(after.name, lines) if lines else ()
        return await self._apply_once(spec, parsed, after, user, version, submission, told)

    async def _apply_once(
        self,
        old: CatalogSpec,
        new: CatalogSpec,
        after: SalesProduct,
        user: UserRef,
        version: int,
        submission: str | None,
        extra: Sequence[Notification] = (),
    ) -> Edited | Refused:
        """Apply an edit once per submission. The change set is named by the submission,
        and the optimistic lock on `version` (read before the history was looked at) lets
        only one copy commit: a copy that raced the first finds it when it conflicts, or,
        if the first committed before this one read the product, when it changes nothing."""
        try:
            changes = await self._catalog.apply(
                old,
                new,
                actor=user.id,
                source="edit",
                extra=extra,
                expected_version=version,
                change_set=submission,
            )
        except CatalogConflict:
            return await self._made_by(submission, after) or Refused(CONFLICT, Why.CONFLICT)
        if changes.empty and (first := await self._made_by(submission, after)) is not None:
            return first
        return Edited(after, changes)

    async def _made_by(self, submission: str | None, product: SalesProduct) -> Edited | None:
        if not submission or not await self._catalog.change_set_made(submission):
            return None
        return Edited(await self.product(product.sku) or product, ChangeSet(), copy=True)

    async def add_competitor(
        self,
        *,
        user: UserRef,
        sku: str,
        name: str,
        difference: str,
        notify: Sequence[Notification] = (),
        submission: str | None = None,
    ) -> Edited | Errors | Refused:
        """Feedback feeds knowledge: a competitive development becomes part of the answer
        (once per `submission`, as `submit`)."""
        product = await self.product(sku)
        if product is None:
            return Refused(GONE, Why.GONE)
        if not self.may_edit(user, product):
            return Refused(NOT_ALLOWED, Why.NOT_ALLOWED)
        if not name.strip() or not difference.strip():
            return {"difference": "Name the competitor and how we differ."}
        version = await self._catalog.catalog_version()
        if (first := await self._made_by(submission, product)) is not None:
            return first
        spec = await self._catalog.product_spec(sku)
        product = next((p for p in spec.products if p.sku == sku), None)
        if product is None:
            return Refused(GONE, Why.GONE)
        updated = dataclasses.replace(
            product,
            competitors=(
                *product.competitors,
                Competitor(name.strip()[:100], difference.strip()[:500]),
            ),
        )
        new = dataclasses.replace(
            spec, products=tuple(updated if p.sku == sku else p for p in spec.products)
        )
        return await self._apply_once(spec, new, updated, user, version, submission, notify)


def competitive_form(item_id: int, product_name: str, details: str) -> FormSpec:
    return FormSpec(
        id=FormId.COMPETE,
        title="Competitive difference",
        submit="Add",
        intro=f"Add to {product_name}'s answer, from feedback #{item_id}. Sales see it "
        "under “How it wins”.",
        state={"item": str(item_id)},
        fields=(
            FormField("competitor", "Competitor", FieldKind.TEXT, max_length=100),
            FormField(
                "difference",
                "How we differ",
                FieldKind.MULTILINE,
                max_length=500,
                initial=details[:500] or None,
            ),
        ),
    )


# Given the product's name and the lines sales will read, the messages to write with an edit.
Tell = Callable[[str, Sequence[str]], Sequence[Notification]]


def told_people(
    item_id: int, people: Sequence[UserRef], title: str, lines: Sequence[str], *, key: str
) -> list[Notification]:
    """The DMs that close the loop when feedback changed a product: one to each of the
    item's people (its submitter, those who added a client, the people of items merged
    into it) with the changed lines. `key` names the change (its submission): a replay
    writes the same messages, which the outbox keeps once."""
    payload = Digest(title, shown(lines)).encode()
    return [
        Notification(
            platform=person.platform,
            kind="dm",
            target=person.id,
            dedupe_key=f"fb:{item_id}:told:{key[:48]}:{person.platform}:{person.id}",
            payload=payload,
            lane=Lane.INTERACTIVE,
        )
        for person in people
    ]


def competitive_title(item_id: int, product_name: str) -> str:
    return f"Your feedback #{item_id} is now part of {product_name}'s answer"


def edited_title(item_id: int, product_name: str) -> str:
    return f"{product_name} changed after your feedback #{item_id}"
