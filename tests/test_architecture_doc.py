"""docs/ARCHITECTURE.md and README.md name files, functions and tests of this repository;
each must exist, so the map cannot drift from the code unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = ("docs/ARCHITECTURE.md", "README.md")
# `handlers/slack/render.py`, `tests/x.py::test_y`, `handlers/teams/cards.triage`,
# `handlers/slack/inbound.press(body)`, `store/migrations/`
NAMED = re.compile(r"`((?:bot|store|handlers|tests|bench|docs|manifests|catalog)/[^`\s]*)`")


def _references(doc: str) -> list[str]:
    return NAMED.findall((ROOT / doc).read_text(encoding="utf-8"))


def _missing(reference: str) -> str | None:
    """Why `reference` does not resolve, or None."""
    path, _, test = reference.partition("::")
    target = ROOT / path
    if target.exists():
        if test and f"def {test}(" not in target.read_text(encoding="utf-8"):
            return f"{path} has no {test}"
        return None
    module, dot, name = path.partition("(")[0].rpartition(".")
    source = Path(f"{ROOT / module}.py")
    if dot and source.is_file():  # module.function: the function must be defined there
        text = source.read_text(encoding="utf-8")
        if re.search(rf"^\s*(?:async def|def|class) {re.escape(name)}\b", text, re.M):
            return None
        return f"{module}.py defines no {name}"
    return f"{path} does not exist"


@pytest.mark.parametrize("doc", DOCS)
def test_every_file_function_and_test_the_docs_name_exists(doc: str) -> None:
    references = _references(doc)
    assert len(references) >= 10, references  # the pattern still finds what the doc names
    problems = [p for r in references if (p := _missing(r)) is not None]
    assert not problems, problems
