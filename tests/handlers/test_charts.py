"""The coverage chart is a real PNG with one bar per region and the target visible."""

from __future__ import annotations

import io

from matplotlib.collections import PathCollection
from matplotlib.image import imread
from matplotlib.patches import Rectangle

from handlers.charts import coverage_figure, coverage_png
from tests.bot.test_reports import q3


def test_one_bar_per_region_and_a_target_mark_on_each() -> None:
    report = q3()
    ax = coverage_figure(report).axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == len(report.regions)
    assert [round(b.get_height()) for b in bars] == [r.briefings for r in report.regions]
    [targets] = [c for c in ax.collections if isinstance(c, PathCollection)]
    ys = [float(y) for _, y in targets.get_offsets()]
    assert ys == [r.expected for r in report.regions]
    assert [t.get_text() for t in ax.get_xticklabels()] == [r.name for r in report.regions]


def test_png_decodes_and_shows_the_black_target_marks() -> None:
    data = coverage_png(q3())
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(data))
    height, width = pixels.shape[:2]
    assert (width, height) == (int(coverage_figure(q3()).get_figwidth() * 100), 450)
    black = ((pixels[..., :3] < 0.05).all(axis=-1)).sum()
    assert black > 500  # the target ticks (and text) are drawn
