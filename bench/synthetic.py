"""Deterministic synthetic catalogs and typo query sets for the benchmarks."""

from __future__ import annotations

import bisect
import random
import string
from dataclasses import dataclass

SYLLABLES = (
    "ka ro mi ne ta lo vi sa pe ru zo fa di ko la me tri vo xa qu sen dor lin mar tek nov "
    "ax el on is ar um or ix gra ble stra pho cy lux ter val"
).split()
NOUNS = (
    "ledger gateway monitor tracker vault router sensor hub suite console engine portal "
    "bridge agent scanner probe analyzer cloud desk voice backup appliance firewall copilot "
    "archive terminal beacon relay node lens forge pulse grid stream shield compass anchor"
).split()
MODIFIERS = [
    "",
    "",
    "",
    "pro",
    "lite",
    "max",
    "mini",
    "plus",
    "edge",
    "one",
    "enterprise",
    "studio",
    "express",
    "cloud",
    "go",
    "x",
]
REGION_WORDS = [
    "australia",
    "oz",
    "uk",
    "germany",
    "us",
    "japan",
    "brasil",
    "canada",
    "india",
    "france",
]


@dataclass(frozen=True)
class SynthProduct:
    sku: str
    name: str
    aliases: tuple[str, ...]


def _brand(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()


def make_catalog(n: int, seed: int = 7) -> list[SynthProduct]:
    """n products with unique names, about half with one or two aliases."""
    rng = random.Random(seed)
    brands = sorted({_brand(rng) for _ in range(max(200, n // 12))})
    names: set[str] = set()
    out: list[SynthProduct] = []
    while len(out) < n:
        words = [rng.choice(brands), rng.choice(NOUNS).capitalize()]
        mod = rng.choice(MODIFIERS)
        if mod:
            words.append(mod.capitalize() if len(mod) > 2 else mod.upper())
        if rng.random() < 0.15:
            words.append(str(rng.choice((100, 200, 300, 500, 1000, 2000, 3000, 7))))
        name = " ".join(words)
        if name in names:
            continue
        names.add(name)
        i = len(out)
        sku = f"{words[0][:3].upper()}-{i:06d}"
        aliases: list[str] = []
        if rng.random() < 0.5:
            aliases.append("".join(words[:2]))  # "NimbusLedger"
        if rng.random() < 0.2:
            aliases.append(words[0][:2].upper() + words[1][:1].upper() + "".join(words[2:]))
        out.append(SynthProduct(sku, name, tuple(aliases)))
    return out


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("sub", "del", "ins", "swap"))
    if kind == "sub":
        return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]
    if kind == "del":
        return word[:i] + word[i + 1 :]
    if kind == "ins":
        return word[:i] + rng.choice(string.ascii_lowercase) + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


@dataclass(frozen=True)
class Query:
    text: str  # the product part, as a sales person would type it
    with_region: str  # the same with a market before or after it
    truth: int  # index of the product meant


def make_queries(products: list[SynthProduct], count: int = 300, seed: int = 11) -> list[Query]:
    """Typo'd, lower-cased queries: one or two typos, sometimes an alias or a missing word.

    Each query has one right answer before its typos: text that is also the start of another
    product's name or alias ("nimbus ledger" when both "Nimbus Ledger Pro" and "Nimbus Ledger
    Max" exist) is a question the bot must answer with a list, so it is not used here.
    """
    rng = random.Random(seed)
    owners: dict[str, set[int]] = {}
    for i, p in enumerate(products):
        for s in (p.name, *p.aliases):
            owners.setdefault(s.lower(), set()).add(i)
            owners.setdefault(s.lower().replace(" ", ""), set()).add(i)
    keys = sorted(owners)

    def unique(text: str, i: int) -> bool:
        k = bisect.bisect_left(keys, text)
        while k < len(keys) and keys[k].startswith(text):
            if owners[keys[k]] - {i}:
                return False
            k += 1
        return True

    out: list[Query] = []
    while len(out) < count:
        i = rng.randrange(len(products))
        p = products[i]
        source = rng.choice((p.name, p.name, p.name, *p.aliases))
        words = source.lower().split()
        if len(words) > 2 and rng.random() < 0.2:
            words.pop()  # missing trailing word
        if not unique(" ".join(words), i) or not unique("".join(words), i):
            continue
        # One typo in the longest word, sometimes a second one elsewhere.
        j = max(range(len(words)), key=lambda k: len(words[k]))
        words[j] = typo(words[j], rng)
        if len(words) > 1 and rng.random() < 0.3:
            k = rng.randrange(len(words))
            words[k] = typo(words[k], rng)
        text = " ".join(words)
        region = rng.choice(REGION_WORDS)
        full = f"{region} {text}" if rng.random() < 0.5 else f"{text} in {region}"
        out.append(Query(text, full, i))
    return out
