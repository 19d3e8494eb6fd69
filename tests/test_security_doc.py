"""docs/SECURITY.md names a test for every defended line; each named test must exist."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_test_the_threat_model_names_exists() -> None:
    doc = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    named = re.findall(r"`(tests/[^`:]+)::([a-z0-9_]+)", doc)
    assert len(named) >= 15
    for path, test in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {test}(" in source, f"{path}::{test} is named in SECURITY.md"
    rows = [ln for ln in doc.splitlines() if re.match(r"^\| \d+ \|", ln)]
    defended = [r for r in rows if "**open**" not in r]
    assert all("tests/" in r for r in defended)  # every defence line points at a test
