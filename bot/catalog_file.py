"""The catalog file: parse and validate it whole, export it back, and diff two catalogs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.catalog_yaml import Split, Unusual, read_items, split_products
from bot.types import (
    Competitor,
    Doc,
    Lifecycle,
    PricingBand,
    Region,
    Rule,
    SalesProduct,
    Segment,
    Status,
    is_user_id,
)

# --------------------------------------------------------------------------- file schema
# pydantic gives us per-field messages with their location; cross-references are checked
# afterwards so that one run reports every problem in the file.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Band(_Strict):
    code: str = Field(min_length=1, max_length=32)
    label: str = Field(min_length=1)
    min: int = Field(ge=0)
    max: int | None = Field(default=None, ge=0)
    currency: str = Field(default="USD", min_length=3, max_length=3)


class _Region(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    parent: str | None = None
    aliases: list[str] = Field(default_factory=list)
    briefing_target_per_quarter: int | None = Field(default=None, ge=0)

    @field_validator("aliases", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        # YAML turns `NO` (Norway) into False and `1` into an int; aliases are always text.
        return [str(a) for a in v] if isinstance(v, list) else v


class _Segment(_Strict):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list)

    @field_validator("aliases", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        return [str(a) for a in v] if isinstance(v, list) else v


def _user_id(v: str | None) -> str | None:
    if v is not None and not is_user_id(v):
        raise ValueError(f"'{v}' is not a user id (a Slack id like U01ABC, or a Teams user id)")
    return v


class _Competitor(_Strict):
    name: str = Field(min_length=1)
    difference: str = Field(min_length=1)


class _Doc(_Strict):
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://[^\s<>|]+$")  # nothing that could break chat markup


class _Rule(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    region: str = Field(min_length=1)
    status: Status
    reason: str | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    pricing_band: str | None = None
    segment: str | None = Field(default=None, min_length=1, max_length=32)
    contact: str | None = None

    @field_validator("contact")
    @classmethod
    def _contact_is_user(cls, v: str | None) -> str | None:
        return _user_id(v)


class _Product(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list)
    lifecycle: Lifecycle
    pricing_band: str | None = None
    summary: str = ""
    traits: list[str] = Field(default_factory=list)
    competitors: list[_Competitor] = Field(default_factory=list)
    docs: list[_Doc] = Field(default_factory=list)
    owner: str | None = None
    contact: str | None = None
    availability: list[_Rule] = Field(default_factory=list)
    internal: dict[str, Any] = Field(default_factory=dict)

    @field_validator("aliases", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        return [str(a) for a in v] if isinstance(v, list) else v

    # The owner is whom sales ask when no contact is named: a user id too.
    @field_validator("contact", "owner")
    @classmethod
    def _contact_is_user(cls, v: str | None) -> str | None:
        return _user_id(v)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    """A whole catalog as the file states it, internal fields included (import/export only)."""

    bands: tuple[PricingBand, ...] = ()
    regions: tuple[Region, ...] = ()
    products: tuple[SalesProduct, ...] = ()
    internal: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # by SKU
    segments: tuple[Segment, ...] = ()


class CatalogConflict(Exception):
    """The catalog changed since the edit started; applying it would undo that change."""


class CatalogError(Exception):
    """The file has problems; `problems` lists each with its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalog")
        self.problems = problems


def _place(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + ("from" if part == "from_" else str(part))
    return out or "(file)"


# libyaml's parser when installed (a 100k-product file loads several times faster).
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """YAML 1.2 booleans: only true/false. Norway's code NO and 'on'/'off' stay text."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_SECTIONS: dict[str, type[BaseModel]] = {
    "pricing_bands": _Band,
    "regions": _Region,
    "segments": _Segment,
    "products": _Product,
}


def parse_catalog(text: str) -> CatalogSpec:
    """Validate a whole catalog file; raise CatalogError listing every problem."""
    return read_catalog(text).spec


@dataclass(frozen=True, slots=True)
class CatalogRead:
    """A validated catalog file. `spec.products` are the products that were read: all of
    them, unless `known` let read_catalog skip items the database already holds as they
    are. `skus` is every product's SKU in file order; `hashes` the source hash of each
    (aligned with `skus`; empty when the file's layout was read whole)."""

    spec: CatalogSpec
    skus: tuple[str, ...]
    hashes: tuple[str, ...] = ()


# Part of every item's hash: bump it when the same text would now be read differently.
_HASH_FORMAT = b"salesbridge-catalog-item-1\0"


def item_hash(item_text: str) -> str:
    return hashlib.blake2b(_HASH_FORMAT + item_text.encode(), digest_size=16).hexdigest()


def read_catalog(
    text: str, *, known: Mapping[str, str] | None = None, current: CatalogSpec | None = None
) -> CatalogRead:
    """Validate a catalog file; raise CatalogError listing every problem.

    `known` maps source hashes to the SKU stored from exactly that item's text; such
    items are not read again when the file's other sections equal `current`'s (they were
    valid against those). Products are validated one by one as they are read, so memory
    holds the finished products, not the file's values."""
    split = split_products(text)
    if split is not None:
        try:
            header = _load(split.header)
        except CatalogError:
            header = None  # the whole file's reading reports it, with the right line
        if isinstance(header, dict):
            try:
                return _read(header, text, split, known, current)
            except Unusual:
                pass  # read whole, below
    return _read(_load(text), text, None, None, None)


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise CatalogError([f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None


_SKIPPED: Any = object()


def _read(
    raw: Any,
    text: str,
    split: Split | None,
    known: Mapping[str, str] | None,
    current: CatalogSpec | None,
) -> CatalogRead:
    if not isinstance(raw, dict):
        raise CatalogError(["(file): expected a mapping with regions, pricing_bands, products"])
    # Each item is validated on its own so that one run reports every problem in the file,
    # structural ones and broken references alike.
    problems = [f"{key}: unknown section" for key in raw if key not in _SECTIONS]
    items: dict[str, list[Any]] = {}
    for key, model in _SECTIONS.items():
        if key == "products":
            continue
        section = raw.get(key) or []
        if not isinstance(section, list):
            problems.append(f"{key}: expected a list")
            section = []
        valid: list[Any] = []
        for i, item in enumerate(section):
            valid.append(_validate(model, item, (key, i), problems))
        items[key] = valid
    header_problems = len(problems)
    cross, refs = _cross_check(items["pricing_bands"], items["regions"], items["segments"])
    hashes: list[str] = []
    skip: Mapping[str, str] = {}
    source: Iterable[Any]
    if split is None:
        source = raw.get("products") or []
        if not isinstance(source, list):
            problems.append("products: expected a list")
            source = []
    else:
        hashes = [item_hash(text[s:e]) for s, e in split.items]
        if known and current is not None and not cross and len(problems) == header_problems:
            head = _to_spec(items["pricing_bands"], items["regions"], [], items["segments"])
            if (head.bands, head.regions, head.segments) == (
                current.bands,
                current.regions,
                current.segments,
            ):
                skip = known
        wanted = [span for span, h in zip(split.items, hashes, strict=True) if h not in skip]
        read = read_items(text, wanted, _Loader)
        source = (_SKIPPED if h in skip else next(read) for h in hashes)
    skus: list[str] = []
    seen: set[str] = set()
    products: list[SalesProduct] = []
    internal: dict[str, dict[str, Any]] = {}
    shared: dict[Any, Any] = {}
    product_cross: list[str] = []
    for i, item in enumerate(source):
        if item is _SKIPPED:
            sku = skip[hashes[i]]
            product_cross += _check_sku(i, sku, seen)
            skus.append(sku)
            continue
        p = _validate(_Product, item, ("products", i), problems)
        if p is None:
            continue
        product_cross += _check_product(i, p, refs, seen)
        if not problems and not product_cross:
            products.append(_product_value(p, shared))
            if p.internal:
                internal[p.sku] = dict(p.internal)
        skus.append(p.sku)
    if not items["regions"]:
        problems.append("regions: at least one region (the root) is required")
    problems += cross + product_cross
    if problems:
        raise CatalogError(problems)
    head = _to_spec(items["pricing_bands"], items["regions"], [], items["segments"])
    spec = dataclasses.replace(head, products=tuple(products), internal=internal)
    return CatalogRead(spec, tuple(skus), tuple(hashes))


def _validate(
    model: type[BaseModel], item: Any, loc: tuple[str | int, ...], problems: list[str]
) -> Any:
    """One item, or None with its problems added. A product's rules are checked one by one,
    so a bad rule does not hide the product's other problems."""
    if model is _Product:
        try:  # nearly always: the whole product in one call
            return model.model_validate(item)
        except ValidationError:
            pass  # rule by rule below, for every problem with its place
    rules: list[Any] = []
    if model is _Product and isinstance(item, dict) and isinstance(item.get("availability"), list):
        item = dict(item)
        for j, rule in enumerate(item.pop("availability")):
            rules.append(_validate(_Rule, rule, (*loc, "availability", j), problems))
    try:
        valid = model.model_validate(item)
    except ValidationError as exc:
        problems += [
            f"{_place((*loc, *e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        ]
        return None
    if isinstance(valid, _Product):
        # Broken rules stay as None so the cross-check keeps every rule's own index.
        valid.availability = rules
    return valid


@dataclass(frozen=True, slots=True)
class _Refs:
    """What products may refer to."""

    bands: set[str]
    regions: set[str]
    segments: set[str]


def _cross_check(
    band_items: list[_Band | None],
    region_items: list[_Region | None],
    segment_items: list[_Segment | None],
) -> tuple[list[str], _Refs]:
    """References between the sections' items (products are checked one by one by
    _check_product); items that failed validation (None) are skipped."""
    problems: list[str] = []
    segments: set[str] = set()
    segment_names: dict[str, str] = {}
    segment_labels: list[tuple[int, str]] = []
    for i, seg in enumerate(segment_items):
        if seg is None:
            continue
        if seg.code in segments:
            problems.append(f"segments[{i}].code: duplicate segment '{seg.code}'")
        segments.add(seg.code)
        for label in (seg.code, seg.name, *seg.aliases):
            key = label.casefold()
            if key in segment_names and segment_names[key] != seg.code:
                problems.append(
                    f"segments[{i}]: '{label}' already names segment '{segment_names[key]}'"
                )
            segment_names[key] = seg.code
            segment_labels.append((i, label))
    bands: set[str] = set()
    for i, b in enumerate(band_items):
        if b is None:
            continue
        if b.code in bands:
            problems.append(f"pricing_bands[{i}].code: duplicate band '{b.code}'")
        bands.add(b.code)
        if b.max is not None and b.max < b.min:
            problems.append(f"pricing_bands[{i}].max: {b.max} is below min {b.min}")
    regions: set[str] = set()
    names: dict[str, str] = {}
    for i, r in enumerate(region_items):
        if r is None:
            continue
        if r.code in regions:
            problems.append(f"regions[{i}].code: duplicate region '{r.code}'")
        if r.parent is None and i > 0:
            problems.append(f"regions[{i}].parent: only the first region may be the root")
        elif r.parent is not None and r.parent not in regions:
            problems.append(
                f"regions[{i}].parent: unknown region '{r.parent}' (parents come before children)"
            )
        for label in (r.code, r.name, *r.aliases):
            key = label.casefold()
            if key in names and names[key] != r.code:
                problems.append(f"regions[{i}]: '{label}' already names region '{names[key]}'")
            names[key] = r.code
        regions.add(r.code)
    # A word naming both a market and a kind of customer would be read as one of them only.
    for i, label in segment_labels:
        if (code := names.get(label.casefold())) is not None:
            problems.append(f"segments[{i}]: '{label}' already names region '{code}'")
    return problems, _Refs(bands, regions, segments)


def _check_sku(i: int, sku: str, skus: set[str]) -> list[str]:
    if sku in skus:
        return [f"products[{i}].sku: duplicate SKU '{sku}'"]
    skus.add(sku)
    return []


def _check_product(i: int, p: _Product, refs: _Refs, skus: set[str]) -> list[str]:
    """Product i's references, and its SKU against those before it (added to `skus`)."""
    where = f"products[{i}]"
    problems = _check_sku(i, p.sku, skus)
    if p.pricing_band is not None and p.pricing_band not in refs.bands:
        problems.append(f"{where}.pricing_band: unknown band '{p.pricing_band}'")
    seen: set[tuple[str, str | None]] = set()
    for j, rule in enumerate(p.availability):
        if rule is None:
            continue
        rule_key = (rule.region, rule.segment)
        for_whom = f" for segment '{rule.segment}'" if rule.segment else ""
        if rule.region not in refs.regions:
            problems.append(f"{where}.availability[{j}].region: unknown region '{rule.region}'")
        elif rule_key in seen:
            problems.append(
                f"{where}.availability[{j}].region: second rule for '{rule.region}'{for_whom}"
            )
        seen.add(rule_key)
        if rule.segment is not None and rule.segment not in refs.segments:
            problems.append(f"{where}.availability[{j}].segment: unknown segment '{rule.segment}'")
        if rule.pricing_band is not None and rule.pricing_band not in refs.bands:
            problems.append(
                f"{where}.availability[{j}].pricing_band: unknown band '{rule.pricing_band}'"
            )
    return problems


def _product_value(p: _Product, shared: dict[Any, Any]) -> SalesProduct:
    """The product as the bot keeps it; values many products repeat (whole rules, trait
    lists) are kept once through `shared`."""

    def once(value: Any) -> Any:
        return shared.setdefault(value, value)

    return SalesProduct(
        sku=p.sku,
        name=p.name,
        lifecycle=p.lifecycle,
        pricing_band=p.pricing_band,
        summary=p.summary,
        aliases=tuple(p.aliases),
        traits=once(tuple(once(t) for t in p.traits)),
        competitors=once(tuple(Competitor(c.name, c.difference) for c in p.competitors)),
        docs=once(tuple(Doc(d.title, d.url) for d in p.docs)),
        owner=p.owner and once(p.owner),
        contact=p.contact and once(p.contact),
        rules=tuple(
            once(Rule(r.region, r.status, r.reason, r.from_, r.pricing_band, r.segment, r.contact))
            for r in p.availability
        ),
    )


def _to_spec(
    band_items: list[_Band],
    region_items: list[_Region],
    product_items: list[_Product],
    segment_items: list[_Segment],
) -> CatalogSpec:
    return CatalogSpec(
        segments=tuple(Segment(g.code, g.name, tuple(g.aliases)) for g in segment_items),
        bands=tuple(
            PricingBand(b.code, b.label, b.min, b.max, b.currency.upper()) for b in band_items
        ),
        regions=tuple(
            Region(r.code, r.name, r.parent, tuple(r.aliases), r.briefing_target_per_quarter)
            for r in region_items
        ),
        products=tuple(_product_value(p, {}) for p in product_items),
        internal={p.sku: dict(p.internal) for p in product_items if p.internal},
    )


# --------------------------------------------------------------------------- export


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {}, "")}


def catalog_to_dict(spec: CatalogSpec) -> dict[str, Any]:
    """The file form of a catalog; parse_catalog(dump_catalog(x)) == x."""
    out: dict[str, Any] = {
        "pricing_bands": [
            _drop_empty(
                {
                    "code": b.code,
                    "label": b.label,
                    "min": b.min,
                    "max": b.max,
                    "currency": b.currency,
                }
            )
            for b in spec.bands
        ],
        "regions": [
            _drop_empty(
                {
                    "code": r.code,
                    "name": r.name,
                    "parent": r.parent,
                    "aliases": list(r.aliases),
                    "briefing_target_per_quarter": r.briefing_target_per_quarter,
                }
            )
            for r in spec.regions
        ],
        "products": [product_dict(p, spec.internal.get(p.sku, {})) for p in spec.products],
    }
    if spec.segments:  # before the products, which refer to them
        products = out.pop("products")
        out["segments"] = [
            _drop_empty({"code": g.code, "name": g.name, "aliases": list(g.aliases)})
            for g in spec.segments
        ]
        out["products"] = products
    return out


def product_dict(p: SalesProduct, internal: Mapping[str, Any]) -> dict[str, Any]:
    return _drop_empty(
        {
            "sku": p.sku,
            "name": p.name,
            "aliases": list(p.aliases),
            "lifecycle": p.lifecycle.value,
            "pricing_band": p.pricing_band,
            "summary": p.summary,
            "traits": list(p.traits),
            "competitors": [{"name": c.name, "difference": c.difference} for c in p.competitors],
            "docs": [{"title": d.title, "url": d.url} for d in p.docs],
            "owner": p.owner,
            "contact": p.contact,
            "availability": [
                _drop_empty(
                    {
                        "region": r.region,
                        "status": r.status.value,
                        "reason": r.reason,
                        "from": r.from_date,
                        "pricing_band": r.pricing_band,
                        "segment": r.segment,
                        "contact": r.contact,
                    }
                )
                for r in p.rules
            ],
            "internal": dict(internal),
        }
    )


def sales_form(product: SalesProduct | None) -> dict[str, Any]:
    """The sales-visible file form of one product (internal fields left out), JSON-safe:
    the only non-JSON values of the file form are availability dates."""
    if product is None:
        return {}
    out = product_dict(product, {})
    for rule in out.get("availability", ()):
        if isinstance(rule.get("from"), dt.date):
            rule["from"] = rule["from"].isoformat()
    return out


def dump_catalog(spec: CatalogSpec) -> str:
    return yaml.safe_dump(catalog_to_dict(spec), sort_keys=False, allow_unicode=True, width=100)


# --------------------------------------------------------------------------- change set

PRODUCT_FIELDS = (
    "name",
    "aliases",
    "lifecycle",
    "pricing_band",
    "summary",
    "traits",
    "competitors",
    "docs",
    "owner",
    "rules",
    "contact",
)


@dataclass(frozen=True, slots=True)
class ProductChange:
    sku: str
    name: str
    fields: tuple[str, ...]  # sales-visible fields that changed ("rules" = availability)
    internal_changed: bool = False
    before: SalesProduct | None = None
    after: SalesProduct | None = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What an import (or an edit) changes; announcements are made from this."""

    added: tuple[SalesProduct, ...] = ()
    removed: tuple[SalesProduct, ...] = ()
    changed: tuple[ProductChange, ...] = ()
    regions_changed: bool = False
    bands_changed: bool = False
    segments_changed: bool = False
    # Rules that can never take effect (told at import, not refused).
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.regions_changed
            or self.bands_changed
            or self.segments_changed
        )

    def summary_lines(self) -> list[str]:
        """A plain account for the operator who ran the import (internal names allowed)."""
        warnings = [f"Warning: {w}" for w in self.warnings]
        if self.empty:
            return ["No changes: the catalog is already up to date.", *warnings]
        lines: list[str] = []
        if self.added:
            lines.append(
                f"Products added ({len(self.added)}): "
                + ", ".join(f"{p.name} [{p.sku}]" for p in self.added)
            )
        for c in self.changed:
            fields = [("availability" if f == "rules" else f) for f in c.fields]
            if c.internal_changed:
                fields.append("internal")
            lines.append(f"Changed {c.name} [{c.sku}]: " + ", ".join(fields))
        if self.removed:
            lines.append(
                f"Products removed ({len(self.removed)}): "
                + ", ".join(f"{p.name} [{p.sku}]" for p in self.removed)
            )
        if self.regions_changed:
            lines.append("Region tree changed")
        if self.bands_changed:
            lines.append("Pricing bands changed")
        if self.segments_changed:
            lines.append("Customer segments changed")
        return lines + warnings


def diff_catalogs(old: CatalogSpec, new: CatalogSpec) -> ChangeSet:
    before = {p.sku: p for p in old.products}
    after = {p.sku: p for p in new.products}
    changed: list[ProductChange] = []
    for sku, p in after.items():
        q = before.get(sku)
        if q is None:
            continue
        fields = tuple(f for f in PRODUCT_FIELDS if getattr(p, f) != getattr(q, f))
        internal_changed = dict(old.internal.get(sku, {})) != dict(new.internal.get(sku, {}))
        if fields or internal_changed:
            changed.append(ProductChange(sku, p.name, fields, internal_changed, q, p))
    return ChangeSet(
        added=tuple(p for s, p in after.items() if s not in before),
        removed=tuple(p for s, p in before.items() if s not in after),
        changed=tuple(changed),
        regions_changed=old.regions != new.regions,
        bands_changed=old.bands != new.bands,
        segments_changed=old.segments != new.segments,
        warnings=tuple(catalog_warnings(new)),
    )


# Statuses a lifecycle overrides everywhere: such a rule never says what it says.
_OVERRIDDEN = {
    Lifecycle.WITHDRAWN: (
        "is withdrawn",
        {Status.AVAILABLE, Status.RESTRICTED, Status.PLANNED},
        "never take effect",
    ),
    Lifecycle.ANNOUNCED: (
        "is announced",
        {Status.AVAILABLE, Status.RESTRICTED},
        "answer Planned until its lifecycle changes",
    ),
}


def catalog_warnings(spec: CatalogSpec) -> list[str]:
    """Rules that can never take effect as written: the product's lifecycle overrides them
    (a `restricted` rule on a withdrawn product). Warnings, not problems: the import goes ahead."""
    out: list[str] = []
    for p in spec.products:
        overridden = _OVERRIDDEN.get(p.lifecycle)
        if overridden is None:
            continue
        state, statuses, effect = overridden
        said = [r for r in p.rules if r.status in statuses]
        if said:
            where = ", ".join(r.region for r in said[:5]) + (", …" if len(said) > 5 else "")
            out.append(
                f"{p.name} [{p.sku}] {state}: its {len(said)} rule(s) saying "
                f"{'/'.join(sorted({r.status.value for r in said}))} ({where}) {effect}"
            )
    return out
