"""Kept copies of briefing decks: the file a form names, fetched from the platform within a
size cap, and the words for what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DEFAULT_MAX_MB = 25
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DeckFile:
    """A deck's bytes as fetched, to be kept with its briefing."""

    name: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class KeptDeck:
    """What the database keeps about a deck, without its bytes."""

    id: int
    name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class DeckProblem:
    """Why a deck could not be kept: shown on the form's deck field."""

    message: str


class DeckFetcher(Protocol):
    async def fetch(
        self, ref: str, *, max_bytes: int, name: str | None = None
    ) -> DeckFile | DeckProblem:
        """The file `ref` names on this platform (a Slack file id, the download URL of a
        file sent to the bot on Teams, a local path on the console), refused past
        `max_bytes` without reading more than that; `name`, where the platform gives it
        apart from the file."""
        ...


def size_text(size: int) -> str:
    if size < MB:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / MB:.1f} MB".replace(".0 MB", " MB")


def too_large(size: int | None, max_bytes: int) -> DeckProblem:
    of = f"The deck is {size_text(size)}" if size is not None else "The deck is too large"
    return DeckProblem(
        f"{of}; at most {size_text(max_bytes)} is kept (DECK_MAX_MB). Share it as a link instead."
    )


UNREADABLE = DeckProblem("That file could not be fetched. Try again, or share it as a link.")


def kept_text(deck: KeptDeck) -> str:
    """ "deck.pdf (2.4 MB)": how a kept copy is named beside its link."""
    return f"{deck.name} ({size_text(deck.size)})"
