"""Form specs: what a form asks for, rendered as a Slack modal or a Teams Adaptive Card."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FieldKind(enum.StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    SELECT = "select"  # fixed options
    SEARCH = "search"  # options looked up as the user types (product picker)
    NUMBER = "number"
    URL = "url"
    RADIO = "radio"
    DATE = "date"  # ISO date
    MULTI_SELECT = "multi_select"  # values joined with "\n"
    MULTI_SEARCH = "multi_search"  # several products, looked up as the user types
    USERS = "users"  # people in the workspace (Slack user ids / Teams AAD ids)
    FILE = "file"  # a file the user attaches; the value names it on their platform
    CHANNEL = "channel"  # one of the workspace's channels (a Slack channel id)


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    id: str
    label: str
    kind: FieldKind
    required: bool = True
    # The options of a SELECT / RADIO / MULTI_SELECT field; for a MULTI_SEARCH field, the
    # labels of the values it starts with (the rest are looked up as the user types).
    choices: tuple[Choice, ...] = ()
    initial: str | None = None
    initial_label: str | None = None  # the label of a SEARCH field's initial value
    placeholder: str | None = None
    hint: str | None = None
    max_length: int | None = None
    dataset: str | None = None  # what a SEARCH / MULTI_SEARCH field looks up (bot.ids.Dataset)

    def label_of(self, value: str) -> str:
        """How a value of this field is shown: its choice's label, else itself."""
        if value == self.initial and self.initial_label:
            return self.initial_label
        return next((c.label for c in self.choices if c.value == value), value)


@dataclass(frozen=True, slots=True)
class FormSpec:
    id: str  # neutral callback name, e.g. "feedback.submit"
    title: str
    submit: str
    fields: tuple[FormField, ...]
    intro: str | None = None
    state: dict[str, str] = field(default_factory=dict)  # carried through the round trip


Values = dict[str, str | None]  # field id -> the value the user gave (None: left empty)
Errors = dict[str, str]  # field id -> what to fix


def is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() accepts '²', which int() then refuses."""
    return text.isascii() and text.isdecimal()
