"""Customer-segment words sales type that a catalog may not define, so they are never read
as a market or a product word.

A catalog's own segments (its `segments:` list) always win; these only stand for the kinds
of customer it does not name, whose answer is then the general one (no rule is about them).
"""

from __future__ import annotations

# Kinds of customer, by the name shown, with the words that name them. Words a product
# name is likely to hold on its own ("enterprise", "cloud") are not here.
KINDS: dict[str, tuple[str, ...]] = {
    "Public sector": (
        "public sector", "government", "gov", "govt", "federal", "ministry", "ministries",
        "municipality", "municipalities", "municipal", "local government", "agencies",
    ),
    "Financial services": (
        "financial services", "financial", "fsi", "banks", "bank", "banking", "insurers",
        "insurer", "insurance",
    ),
    "Healthcare": (
        "healthcare", "hospitals", "hospital", "clinics", "pharma", "life sciences",
    ),
    "Education": (
        "education", "schools", "universities", "university", "higher education", "k12",
    ),
    "Retail": ("retail", "retailers"),
    "Manufacturing": ("manufacturing", "manufacturers"),
    "Energy and utilities": ("utilities", "oil and gas"),
    "Telecommunications": ("telecom", "telecoms", "telco", "telcos"),
    "Defence": ("defense", "defence", "military"),
    "Non-profit": ("nonprofit", "nonprofits", "non profit", "charities", "ngo", "ngos"),
}  # fmt: skip


def world_segments() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every kind of customer: (the name to show, the words that name it)."""
    return tuple(KINDS.items())
