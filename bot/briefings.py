"""Briefings PMs give to sales: the form, validation, and keeping one's own entries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.catalog import CatalogService
from bot.decks import (
    DEFAULT_MAX_MB,
    MB,
    DeckFetcher,
    DeckFile,
    DeckProblem,
    KeptDeck,
    kept_text,
    size_text,
)
from bot.forms import Choice, Errors, FieldKind, FormField, FormSpec, Values, is_number
from bot.ids import Dataset, FormId
from bot.ports import Clock
from bot.search import region_label
from bot.settings import WorkspaceSettings, in_effect
from bot.types import Refused, UserRef, Why, is_listed

NOT_A_PM = "Only product managers log briefings."
MAX_MINUTES = 8 * 60
_URL = re.compile(r"^https?://[^\s<>|]+$")
SEP = "\n"  # multi-value fields carry their values joined by newlines
_BRIEFING_NUMBER = re.compile(r"#?\b(\d{1,9})\b")


@dataclass(frozen=True, slots=True)
class Briefing:
    id: int
    pm: UserRef
    held_on: dt.date
    regions: tuple[str, ...]
    team: str | None
    attendees: tuple[str, ...]
    people: int
    products: tuple[str, ...]
    shared: str
    deck: str | None
    minutes: int
    kept: KeptDeck | None = None  # the copy of the deck the bot keeps, if one was given


@dataclass(frozen=True, slots=True)
class BriefingDraft:
    held_on: dt.date
    regions: tuple[str, ...]
    team: str | None
    attendees: tuple[str, ...]
    people: int
    products: tuple[str, ...]
    shared: str
    deck: str | None
    minutes: int
    deck_file: DeckFile | None = None  # a new copy to keep (None keeps the one kept, if any)


class BriefingRepository(Protocol):
    async def add_briefing(
        self,
        *,
        pm: UserRef,
        draft: BriefingDraft,
        at: dt.datetime,
        submission_key: str | None = None,
    ) -> Briefing:
        """With a `submission_key` already stored, that briefing (nothing written)."""
        ...

    async def update_briefing(
        self, *, briefing_id: int, draft: BriefingDraft, at: dt.datetime
    ) -> Briefing | None: ...
    async def delete_briefing(self, *, briefing_id: int) -> bool: ...
    async def get_briefing(self, *, briefing_id: int) -> Briefing | None: ...
    async def briefings(
        self, *, start: dt.date | None = None, end: dt.date | None = None, pm: UserRef | None = None
    ) -> list[Briefing]: ...

    async def kept_deck(self, *, deck_id: int) -> tuple[KeptDeck, bytes] | None:
        """A kept deck and its bytes."""
        ...

    async def keep_deck(
        self, *, briefing_id: int, deck: DeckFile, at: dt.datetime
    ) -> KeptDeck | None:
        """Keeps `deck` as the briefing's copy (replacing one kept before); None if the
        briefing is gone."""
        ...


def briefing_form(
    regions: Sequence[Choice],
    *,
    values: Values | None = None,
    briefing_id: int | None = None,
    today: dt.date | None = None,
    kept: KeptDeck | None = None,
    max_bytes: int = DEFAULT_MAX_MB * MB,
) -> FormSpec:
    """The briefing form; `regions` label the regions it starts with."""
    v = values or {}
    picked = set(_many(v.get("regions")))
    state = {"briefing": str(briefing_id)} if briefing_id else {}
    return FormSpec(
        id=FormId.BRIEFING,
        title="Log a briefing" if not briefing_id else f"Briefing #{briefing_id}",
        submit="Save",
        intro="A session you gave to a sales team. Management sees briefings per region.",
        state=state,
        fields=(
            FormField(
                "held_on",
                "Date",
                FieldKind.DATE,
                initial=v.get("held_on") or (today.isoformat() if today else None),
            ),
            FormField(
                "regions",
                "Region(s)",
                FieldKind.MULTI_SEARCH,  # searched: a catalog may have hundreds of regions
                dataset=Dataset.REGIONS,
                choices=tuple(c for c in regions if c.value in picked),
                initial=v.get("regions"),
                placeholder="Type a region",
            ),
            FormField(
                "team",
                "Team (optional)",
                FieldKind.TEXT,
                required=False,
                max_length=200,
                initial=v.get("team"),
            ),
            FormField(
                "attendees",
                "Who attended",
                FieldKind.USERS,
                required=False,
                initial=v.get("attendees"),
            ),
            FormField("people", "How many people", FieldKind.NUMBER, initial=v.get("people")),
            FormField(
                "products",
                "Products covered",
                FieldKind.MULTI_SEARCH,
                required=False,
                dataset=Dataset.PRODUCTS,
                initial=v.get("products"),
            ),
            FormField(
                "shared",
                "What was shared",
                FieldKind.MULTILINE,
                max_length=3000,
                initial=v.get("shared"),
            ),
            FormField("deck", "Deck (link)", FieldKind.URL, required=False, initial=v.get("deck")),
            FormField(
                "deck_file",
                "Deck (file)",
                FieldKind.FILE,
                required=False,
                hint=(
                    f"Kept: {kept_text(kept)}. A new file replaces it."
                    if kept
                    else f"A copy is kept with the briefing (at most {size_text(max_bytes)}), "
                    "however the original changes later."
                ),
            ),
            FormField("minutes", "Duration (minutes)", FieldKind.NUMBER, initial=v.get("minutes")),
        ),
    )


def _many(value: str | None) -> tuple[str, ...]:
    """Several values: joined by newlines, or by commas (a Teams multi-select); no region
    code, SKU or user id contains either."""
    return tuple(x.strip() for x in (value or "").replace(",", SEP).split(SEP) if x.strip())


class BriefingService:
    def __init__(
        self,
        *,
        repo: BriefingRepository,
        catalog: CatalogService,
        clock: Clock,
        product_managers: frozenset[str],
        fetchers: Mapping[str, DeckFetcher] | None = None,
        deck_max_bytes: int = DEFAULT_MAX_MB * MB,
        deck_link: Callable[[KeptDeck], str] | None = None,
    ) -> None:
        self._repo = repo
        self._catalog = catalog
        self._clock = clock
        self._env = WorkspaceSettings(product_managers=product_managers)
        self._fetchers = dict(fetchers or {})  # by platform: where a form's file is fetched
        self.deck_max_bytes = deck_max_bytes
        self._deck_link = deck_link

    def may_log(self, user: UserRef) -> bool:
        return is_listed(user, in_effect(self._env).product_managers)

    async def region_choices(self) -> list[Choice]:
        view = await self._catalog.view()
        return [Choice(r.code, region_label(r)) for r in view.catalog.regions.values()]

    async def form(self, *, user: UserRef, briefing_id: int | None = None) -> FormSpec | Refused:
        if not self.may_log(user):
            return Refused(NOT_A_PM, Why.NOT_ALLOWED)
        values: Values | None = None
        kept = None
        if briefing_id is not None:
            b = await self._own(user, briefing_id)
            if isinstance(b, Refused):
                return b
            values = {
                "held_on": b.held_on.isoformat(),
                "regions": SEP.join(b.regions),
                "team": b.team,
                "attendees": SEP.join(b.attendees),
                "people": str(b.people),
                "products": SEP.join(b.products),
                "shared": b.shared,
                "deck": b.deck,
                "minutes": str(b.minutes),
            }
            kept = b.kept
        return briefing_form(
            await self.region_choices(),
            values=values,
            briefing_id=briefing_id,
            today=self._clock.now().date(),
            kept=kept,
            max_bytes=self.deck_max_bytes,
        )

    async def validate(self, values: Values, user: UserRef | None = None) -> BriefingDraft | Errors:
        errors: Errors = {}
        view = await self._catalog.view()
        today = self._clock.now().date()
        try:
            held_on = dt.date.fromisoformat(values.get("held_on") or "")
            if held_on > today + dt.timedelta(days=1):
                errors["held_on"] = "Log briefings that have happened (not future dates)."
        except ValueError:
            errors["held_on"] = "Pick the date of the session."
            held_on = today
        regions = _many(values.get("regions"))
        unknown = [r for r in regions if r not in view.catalog.regions]
        team = (values.get("team") or "").strip() or None
        if unknown:
            errors["regions"] = f"Unknown region {unknown[0]!r}."
        elif not regions:
            errors["regions"] = "Which region(s) was this for?"
        products = _many(values.get("products"))
        if any(p not in view.by_sku for p in products):
            errors["products"] = "One of those products is no longer in the catalog."
        attendees = _many(values.get("attendees"))
        people = _int(values.get("people"))
        if people is None or not 1 <= people <= 10_000:
            errors["people"] = "How many people were there (a whole number)?"
        elif people < len(attendees):
            errors["people"] = f"At least the {len(attendees)} people you named."
        minutes = _int(values.get("minutes"))
        if minutes is None or not 1 <= minutes <= MAX_MINUTES:
            errors["minutes"] = f"Minutes, from 1 to {MAX_MINUTES}."
        shared = (values.get("shared") or "").strip()
        if len(shared) < 3:
            errors["shared"] = "A line on what you covered."
        deck = (values.get("deck") or "").strip() or None
        if deck and not _URL.match(deck):
            errors["deck"] = "A link starting with https://"
        if errors:
            return errors
        # Fetched last, once everything else is right: a form sent back keeps no file.
        deck_file = await self._fetch_deck(values.get("deck_file"), user)
        if isinstance(deck_file, DeckProblem):
            return {"deck_file": deck_file.message}
        assert people is not None and minutes is not None
        return BriefingDraft(
            held_on, regions, team, attendees, people, products, shared[:3000], deck, minutes,
            deck_file,
        )  # fmt: skip

    async def _fetch_deck(
        self, ref: str | None, user: UserRef | None
    ) -> DeckFile | DeckProblem | None:
        ref = (ref or "").strip()
        if not ref:
            return None
        fetcher = self._fetchers.get(user.platform) if user else None
        if fetcher is None:
            return DeckProblem("Files cannot be kept from here; share the deck as a link.")
        return await fetcher.fetch(ref, max_bytes=self.deck_max_bytes)

    async def save(
        self,
        *,
        user: UserRef,
        values: Values,
        briefing_id: int | None = None,
        submission: str | None = None,
    ) -> Briefing | Errors | Refused:
        """`submission` names this one submission: a copy of it saves nothing more and
        answers with the briefing the first one saved."""
        if not self.may_log(user):
            return Refused(NOT_A_PM, Why.NOT_ALLOWED)
        if briefing_id is not None:
            own = await self._own(user, briefing_id)
            if isinstance(own, Refused):
                return own
        draft = await self.validate(values, user)
        if not isinstance(draft, BriefingDraft):
            return draft
        now = self._clock.now()
        if briefing_id is None:
            return await self._repo.add_briefing(
                pm=user, draft=draft, at=now, submission_key=submission
            )
        updated = await self._repo.update_briefing(briefing_id=briefing_id, draft=draft, at=now)
        return updated or Refused(f"Briefing #{briefing_id} is gone.", Why.GONE)

    async def _own(self, user: UserRef, briefing_id: int) -> Briefing | Refused:
        b = await self._repo.get_briefing(briefing_id=briefing_id)
        if b is None:
            return Refused(f"There is no briefing #{briefing_id}.", Why.GONE)
        if b.pm != user:
            return Refused("You can only change your own briefings.", Why.NOT_ALLOWED)
        return b

    async def delete(self, *, user: UserRef, briefing_id: int) -> str:
        own = await self._own(user, briefing_id)
        if isinstance(own, Refused):
            return own.message
        await self._repo.delete_briefing(briefing_id=briefing_id)
        return f"Deleted briefing #{briefing_id} ({own.held_on.isoformat()})."

    async def mine(self, user: UserRef) -> list[Briefing]:
        return await self._repo.briefings(pm=user)

    async def listing(self, user: UserRef, limit: int = 20) -> BriefingList:
        """A PM's last briefings, newest first, each with its deck's link and kept copy."""
        items = tuple(reversed(await self.mine(user)))[:limit]
        return BriefingList(items, {b.id: self.deck_links(b) for b in items})

    def deck_links(self, b: Briefing) -> tuple[DeckLink, ...]:
        """The deck as linked, and the kept copy under a signed, expiring link."""
        links = [DeckLink("Deck (link)", b.deck)] if b.deck else []
        if b.kept is not None:
            url = self._deck_link(b.kept) if self._deck_link is not None else None
            links.append(DeckLink(f"Kept copy: {kept_text(b.kept)}", url))
        return tuple(links)

    async def kept_deck(self, deck_id: int) -> tuple[KeptDeck, bytes] | None:
        return await self._repo.kept_deck(deck_id=deck_id)

    async def keep_sent(self, *, user: UserRef, text: str, ref: str, name: str) -> str:
        """A file sent to the bot in chat (Teams): kept as the deck of the briefing the
        message names ("#12", "deck 12"), else of the sender's latest briefing."""
        if not self.may_log(user):
            return NOT_A_PM
        fetcher = self._fetchers.get(user.platform)
        if fetcher is None:
            return "Files cannot be kept from here; share the deck as a link."
        named = _BRIEFING_NUMBER.search(text)
        if named:
            target = await self._own(user, int(named[1]))
            if isinstance(target, Refused):
                return target.message
        else:
            mine = await self.mine(user)
            if not mine:
                return "Log the briefing first (`briefing`), then send me its deck."
            target = max(mine, key=lambda b: (b.held_on, b.id))
        deck = await fetcher.fetch(ref, max_bytes=self.deck_max_bytes, name=name)
        if isinstance(deck, DeckProblem):
            return deck.message
        kept = await self._repo.keep_deck(briefing_id=target.id, deck=deck, at=self._clock.now())
        if kept is None:
            return f"Briefing #{target.id} is gone."
        return f"Kept {kept_text(kept)} as the deck of {describe(target)}."


def _int(value: str | None) -> int | None:
    text = (value or "").strip().replace(",", "")
    return int(text) if is_number(text) else None


@dataclass(frozen=True, slots=True)
class DeckLink:
    label: str
    url: str | None  # None: kept, but this install serves no links (no PUBLIC_URL)


@dataclass(frozen=True, slots=True)
class BriefingList:
    """A PM's own briefings, newest first (to correct or delete)."""

    items: tuple[Briefing, ...]
    links: Mapping[int, tuple[DeckLink, ...]] = field(default_factory=dict)  # by briefing id

    @property
    def fallback(self) -> str:
        if not self.items:
            return "You have logged no briefings yet. `/briefing` logs one."
        return f"Your last {len(self.items)} briefings"


def describe(b: Briefing) -> str:
    where = ", ".join(b.regions) + (f" ({b.team})" if b.team else "")
    return f"#{b.id} {b.held_on:%d %b %Y} · {where} · {b.people} people · {b.minutes} min"
