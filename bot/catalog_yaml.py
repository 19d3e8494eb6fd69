"""Reading a large catalog file fast: the products section split into its items by layout,
and items read from libyaml's event stream straight into plain values.

`yaml.load` of a 100k-product file builds a node tree of every scalar (gigabytes) before
making values, and its constructor is pure Python. Here each item's text is known (so an
import can skip the items it already holds) and values are made as events arrive. Anything
this reader does not reproduce exactly (anchors, aliases, explicit tags, merge keys, a
layout it does not recognise, any error) raises Unusual, and the caller reads the whole
file with `yaml.load` instead, so results and error messages are the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml import events as ev
from yaml.nodes import ScalarNode


class Unusual(Exception):
    """The file needs the general YAML loader (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Split:
    """A block-style catalog file: `header` is the file with the products' items left out
    (its `products:` key then reads as empty); `items` are each item's (start, end) in
    the text, in file order."""

    header: str
    items: tuple[tuple[int, int], ...]


_PRODUCTS = re.compile(r"^products:[ \t]*(?:#.*)?$", re.M)
# A line that can only belong to the top-level mapping's structure or is a directive or
# document marker: the layout split does not handle those.
_MARKERS = re.compile(r"^(?:---|\.\.\.|%)", re.M)


def split_products(text: str) -> Split | None:
    """The products section's items by layout, or None when the file is not laid out as
    one block mapping with a block sequence of products (then read it whole)."""
    found = list(_PRODUCTS.finditer(text))
    if len(found) != 1 or _MARKERS.search(text):
        return None
    body = found[0].end() + 1  # the line after `products:`
    if body > len(text):
        return None
    first = re.compile(r"^(?:[ \t]*(?:#.*)?\n)*( *)-(?: |$)", re.M).match(text, body)
    if first is None:
        return None
    indent = first.group(1)
    start = first.start(1)  # the first item's line
    # The sequence ends at the first line less indented than its items (a comment or a
    # blank line does not end it; at indentation 0, any line that is not an item does).
    if indent:
        end_rx = re.compile(rf"^(?! {{{len(indent)}}}|[ \t]*#|[ \t]*$)", re.M)
    else:
        end_rx = re.compile(r"^(?![ \t]|#|$|-(?: |$))", re.M)
    end_m = end_rx.search(text, start)
    end = end_m.start() if end_m else len(text)
    item_rx = re.compile(rf"^{indent}-(?: |$)", re.M)
    starts = [m.start() for m in item_rx.finditer(text, start, end)]
    if not starts or starts[0] != start:
        return None
    items = tuple(zip(starts, [*starts[1:], end], strict=True))
    return Split(text[:start] + text[end:], items)


_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp")
)
_CACHE_LIMIT = 1 << 16
_NO_KEY: Any = object()


class _Reader:
    """Plain values from events, as SafeConstructor would make them for these documents."""

    def __init__(self, loader: type[yaml.SafeLoader]) -> None:
        self._loader_class = loader
        # Plain scalars repeat a great deal (keys, region codes, statuses): each distinct
        # text is resolved once, and its value object is shared.
        self._plain: dict[str, Any] = {}

    def _scalar(self, loader: Any, e: ev.ScalarEvent) -> Any:
        if e.anchor is not None or (e.tag is not None and e.tag != "!"):
            raise Unusual("explicit tag or anchor")
        value = e.value
        if not e.implicit[0] or e.tag == "!":
            return value  # quoted (or `!`): always text
        got = self._plain.get(value, _NO_KEY)
        if got is not _NO_KEY:
            return got
        tag = loader.resolve(ScalarNode, value, e.implicit)
        if tag == _STR:
            got = value
        elif tag in _PLAIN_TAGS:
            node = ScalarNode(tag, value, None, None, e.style)  # marks: only errors use them
            got = loader.yaml_constructors[tag](loader, node)
        else:
            raise Unusual(f"scalar resolved as {tag}")  # e.g. the merge key `<<`
        if len(self._plain) >= _CACHE_LIMIT:
            self._plain.clear()
        self._plain[value] = got
        return got

    def items(self, text: str, expected: int) -> Iterator[Any]:
        """The items of `text`, a block sequence of `expected` items, one at a time."""
        loader: Any = self._loader_class(text)
        try:
            get = loader.get_event
            stack: list[Any] = []
            keys: list[Any] = []
            current: Any = None
            count = 0
            depth = 0
            while True:
                e = get()
                kind = type(e)
                if kind is ev.ScalarEvent:
                    value = self._scalar(loader, e)
                elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
                    if e.anchor is not None or (e.tag is not None and e.tag != "!"):
                        raise Unusual("explicit tag or anchor")
                    depth += 1
                    if depth == 1:
                        if kind is not ev.SequenceStartEvent:
                            raise Unusual("not a sequence")
                        continue
                    stack.append(current)
                    keys.append(_NO_KEY)
                    current = {} if kind is ev.MappingStartEvent else []
                    continue
                elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
                    depth -= 1
                    if depth == 0:
                        continue
                    value = current
                    current = stack.pop()
                    keys.pop()
                elif kind is ev.StreamEndEvent:
                    break
                elif kind is ev.AliasEvent:
                    raise Unusual("alias")
                else:  # stream and document start/end
                    continue
                # Attach `value` to its parent (or hand out a finished item).
                if current is None:
                    if depth != 1:
                        raise Unusual("not a sequence")
                    count += 1
                    yield value
                elif type(current) is list:
                    current.append(value)
                else:
                    key = keys[-1]
                    if key is _NO_KEY:
                        if isinstance(value, list | dict):
                            raise Unusual("a collection as a key")
                        keys[-1] = value
                    else:
                        current[key] = value
                        keys[-1] = _NO_KEY
            if count != expected:
                raise Unusual("the layout split did not match the items")
        except Unusual:
            raise
        except Exception as exc:  # a YAML or value error: the general path reports it
            raise Unusual(str(exc)) from exc
        finally:
            loader.dispose()


BATCH = 1000  # items read per parser (one event stream), so memory stays flat


def read_items(
    text: str, spans: Sequence[tuple[int, int]], loader: type[yaml.SafeLoader]
) -> Iterator[Any]:
    """The plain value of each item span of `text`, in order."""
    reader = _Reader(loader)
    for i in range(0, len(spans), BATCH):
        batch = spans[i : i + BATCH]
        chunk = "".join(
            text[s:e] if text[e - 1 : e] == "\n" else text[s:e] + "\n" for s, e in batch
        )
        yield from reader.items(chunk, len(batch))
