"""One command table for every platform, and the dispatcher from command text to a reply."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import CatalogService
from bot.replies import HELP_EXAMPLES, HELP_INTRO, Help, Notice, Reply
from bot.types import UserRef


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # the word typed on Teams / in the console; Slack's slash command is "/" + name
    usage_hint: str
    description: str
    opens_form: bool = False  # answered by a form (Slack modal, Teams card), not a text reply

    @property
    def slash(self) -> str:
        return "/" + self.name


COMMANDS: tuple[Command, ...] = (
    Command(
        "product",
        "[market] [product]  e.g. australia widget pro",
        "Where a product may be sold: verdict for a market, pricing band, traits, docs",
    ),
    Command(
        "feedback",
        "[what the client said]",
        "Send client feedback to the product team",
        opens_form=True,
    ),
)
BY_NAME = {c.name: c for c in COMMANDS}
HELP_WORDS = frozenset({"", "help", "?", "-h", "--help"})
FORM_ONLY = "That command opens a form: use it in Slack or Teams."


def help_reply() -> Help:
    return Help(
        HELP_INTRO,
        HELP_EXAMPLES,
        tuple((f"{c.slash} {c.usage_hint}", c.description) for c in COMMANDS),
    )


def split_command(line: str) -> tuple[str, str]:
    """'/product au widget' or 'product au widget' -> ('product', 'au widget')."""
    head, _, rest = line.strip().partition(" ")
    return head.lstrip("/").casefold(), rest.strip()


class Bot:
    """The use cases behind the command table; handlers call this and render the reply."""

    def __init__(self, *, catalog: CatalogService) -> None:
        self.catalog = catalog

    async def handle(self, *, user: UserRef, command: str, text: str) -> Reply:
        name = command.lstrip("/").casefold()
        if name == "help" or name not in BY_NAME:
            if name not in BY_NAME and name != "help":
                return Notice(f"I don't know the command “{command}”. Try `/product help`.")
            return help_reply()
        if BY_NAME[name].opens_form:
            return Notice(FORM_ONLY)
        if text.strip().casefold() in HELP_WORDS:
            return help_reply()
        return await self.catalog.lookup(text)

    async def handle_line(self, *, user: UserRef, line: str) -> Reply:
        """A whole typed line (console, Teams chat): the first word picks the command."""
        name, rest = split_command(line)
        return await self.handle(user=user, command=name, text=rest)
