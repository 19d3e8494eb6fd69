"""The world's markets, so a question about one the catalog lacks is recognised as such.

Country names and ISO 3166 codes come from pycountry (the ISO data, kept up to date by its
maintainers); on top of it, the informal names sales type that ISO does not list, and the
groupings they use (EU, LATAM, ANZ, …). A catalog's own regions and aliases always win:
these only name markets the catalog does not have.
"""

from __future__ import annotations

import functools

import pycountry

# Groupings sales people type, by the name shown when the catalog does not define them.
GROUPINGS: dict[str, tuple[str, ...]] = {
    "European Union": ("EU", "E.U.", "European Union"),
    "Latin America": ("LATAM", "LatAm", "Latin America"),
    "Australia and New Zealand": ("ANZ", "Australia and New Zealand", "Australasia"),
    "DACH": ("DACH", "D-A-CH"),
    "Nordics": ("Nordics", "Nordic countries", "Scandinavia"),
    "Benelux": ("Benelux",),
    "Middle East and North Africa": ("MENA", "Middle East and North Africa", "Middle East"),
    "Asia Pacific": ("APAC", "Asia Pacific", "Asia-Pacific"),
    "Europe, Middle East and Africa": ("EMEA",),
    "North America": ("North America", "NORAM"),
    "South America": ("South America",),
    "Europe": ("Europe",),
    "Africa": ("Africa",),
    "Asia": ("Asia",),
}
# Names in everyday use that ISO 3166 does not carry, by alpha-2 code.
INFORMAL: dict[str, tuple[str, ...]] = {
    "GB": ("UK", "Britain", "Great Britain", "England", "Scotland", "Wales"),
    "NL": ("Holland",),
    "RU": ("Russia",),
    "VN": ("Vietnam",),
    "TR": ("Turkey",),
    "CZ": ("Czech Republic",),
    "CI": ("Ivory Coast",),
    "KP": ("North Korea",),
    "MO": ("Macau",),
    "MM": ("Burma",),
    "US": ("America", "USA", "United States of America"),
    "AE": ("UAE", "Emirates", "Dubai"),
}
# Codes that are everyday words in a question ("can", "and", "no"): never a market alone.
NOT_CODES = frozenset(
    "an and are as at be by can do for i in is it me my no of on or so to us we".split()
)


@functools.cache
def world_markets() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every market the world has: (the name to show, the labels that name it)."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for c in pycountry.countries:
        shown = getattr(c, "common_name", None) or c.name
        labels = [c.name, shown, getattr(c, "official_name", c.name)]
        labels += [code for code in (c.alpha_2, c.alpha_3) if code.casefold() not in NOT_CODES]
        labels += INFORMAL.get(c.alpha_2, ())
        out.append((shown, tuple(dict.fromkeys(labels))))
    out += [(name, labels) for name, labels in GROUPINGS.items()]
    return tuple(out)
