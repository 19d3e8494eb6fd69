"""Cells of the CSVs people open in a spreadsheet: text one would run as a formula is kept
as text."""

from __future__ import annotations


def csv_cell(text: str) -> str:
    """Text starting like a formula (=, +, -, @, tab, CR) is written with a leading
    apostrophe, which spreadsheets read as "this is text"."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
