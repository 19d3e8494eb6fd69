"""A generated large catalog: hundreds of regions and a product with a rule in most of them."""

from __future__ import annotations

import random

import yaml

SYLLABLES = "ka ro mi ne ta lo vi sa pe ru zo fa di ko la me tri vo xa sen dor lin mar".split()
ZONES = ("North", "South", "East", "West", "Central")
BIG_SKU = "ATL-RTR"
BIG_NAME = "Atlas Router"
STATUSES = ("not_available", "restricted", "planned", "available")


def market_names(n: int, seed: int = 14) -> list[str]:
    """n unique, pronounceable market names ("Karomi", "Netalo Vise", …)."""
    rng = random.Random(seed)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3))))]
        if rng.random() < 0.3:
            words.append("".join(rng.choice(SYLLABLES) for _ in range(2)))
        name = " ".join(w.capitalize() for w in words)
        if name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def big_catalog(regions: int = 250, rules: int = 150) -> str:
    """A catalog of `regions` regions (Global, five zones, the rest markets) whose product
    Atlas Router has `rules` rules: Global, then one per market, each with a reason."""
    markets = market_names(regions - 1 - len(ZONES))
    region_rows: list[dict[str, object]] = [{"code": "GLOBAL", "name": "Global"}]
    region_rows += [
        {"code": f"Z{i + 1}", "name": f"{zone} Zone", "parent": "GLOBAL"}
        for i, zone in enumerate(ZONES)
    ]
    codes = [f"M{i + 1:03d}" for i in range(len(markets))]
    region_rows += [
        {"code": code, "name": name, "parent": f"Z{i % len(ZONES) + 1}"}
        for i, (code, name) in enumerate(zip(codes, markets, strict=True))
    ]
    availability: list[dict[str, object]] = [{"region": "GLOBAL", "status": "available"}]
    for i, code in enumerate(codes[: rules - 1]):
        status = STATUSES[i % len(STATUSES)]
        rule: dict[str, object] = {"region": code, "status": status}
        if status == "planned":
            rule["from"] = "2027-06-01"
        if status != "available":
            rule["reason"] = f"Distributor agreement {i + 1} still under legal review"
        availability.append(rule)
    catalog = {
        "pricing_bands": [{"code": "A", "label": "Entry", "min": 0, "max": 10000}],
        "regions": region_rows,
        "products": [
            {
                "sku": BIG_SKU,
                "name": BIG_NAME,
                "lifecycle": "ga",
                "pricing_band": "A",
                "summary": "A router sold almost everywhere, with a rule per market.",
                "owner": "U0PM1",
                "availability": availability,
            },
            {
                "sku": "BCN-LITE",
                "name": "Beacon Lite",
                "lifecycle": "ga",
                "availability": [{"region": "GLOBAL", "status": "available"}],
            },
        ],
    }
    return yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True)
