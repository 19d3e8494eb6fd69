"""The coverage chart: a bar per region in its status colour and a legend of exactly those
colours, a mark where none were held, each target marked, parents with their children,
pages of at most 1024 x 1024 px however many regions there are."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.patches import Rectangle

from bot.reports import CoverageFigures, RegionFigures, Report, build_report, parse_period
from handlers.charts import COLORS, coverage_figure, coverage_png, coverage_pngs
from tests.bot.test_reports import _tree, q3


def _bars(report: Report, page: int = 1) -> tuple[list[Rectangle], Figure]:
    fig = coverage_figure(report, page)
    ax = fig.axes[0]
    return [p for p in ax.patches if isinstance(p, Rectangle)], fig


def test_a_bar_per_region_in_its_status_colour_and_the_legend_matches() -> None:
    report = q3()
    [page] = report.chart_pages()
    bars, fig = _bars(report)
    assert [round(b.get_width()) for b in bars] == [r.briefings for r in page]
    assert [to_hex(b.get_facecolor()) for b in bars] == [COLORS[r.status] for r in page]
    [legend] = fig.legends
    swatches = {
        t.get_text(): to_hex(h.get_facecolor() if isinstance(h, Rectangle) else h.get_color())
        for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }
    assert swatches["on track"] == COLORS["on track"]
    assert swatches["behind"] == COLORS["behind"]
    assert swatches["none held"] == COLORS["none"]
    assert "target in 2026-Q3" in swatches
    # Every colour a bar has is a swatch in the legend, and the other way round.
    shown = {to_hex(b.get_facecolor()) for b in bars} | {COLORS["none"]}  # zeros: marks
    assert shown == {swatches[s] for s in ("on track", "behind", "none held")}


def test_none_held_has_a_visible_mark_and_targets_are_marked() -> None:
    report = q3()
    [page] = report.chart_pages()
    fig = coverage_figure(report)
    ax = fig.axes[0]
    zeros, targets = ax.collections[0], ax.collections[1]
    zero_rows = [y for y, r in enumerate(page) if r.briefings == 0]
    assert zero_rows and [tuple(o) for o in zeros.get_offsets()] == [(0, y) for y in zero_rows]
    assert to_hex(zeros.get_facecolor()[0]) == COLORS["none"]
    assert [tuple(o) for o in targets.get_offsets()] == [
        (r.period_target, y) for y, r in enumerate(page)
    ]
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"{r.briefings} of {r.period_target}" for r in page]


def test_the_legend_covers_no_bar_or_mark() -> None:
    fig = coverage_figure(q3())
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    plot = fig.axes[0].get_window_extent(renderer)
    assert not legend.overlaps(plot)


def test_parents_come_with_their_children() -> None:
    report = q3()
    [page] = report.chart_pages()
    codes = [r.code for r in page]
    assert codes == [
        "AMER", "CA", "US", "APAC", "AU", "IN", "JP", "SG", "EMEA", "FR", "DE", "UK",
    ]  # fmt: skip
    ax = coverage_figure(report).axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names[:3] == ["Americas", "    Canada", "    United States"]
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["Americas", "Asia Pacific", "Europe, Middle East and Africa"]


def test_png_decodes_with_the_zero_marks_in_red() -> None:
    data = coverage_png(q3())
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(data))
    height, width = pixels.shape[:2]
    assert width <= 1024 and height <= 1024
    red = tuple(int(COLORS["none"][i : i + 2], 16) / 255 for i in (1, 3, 5))
    reds = (abs(pixels[..., :3] - red) < 0.02).all(axis=-1).sum()
    assert reds > 9 * 50  # nine regions with none held: a mark each (and the legend's)


@pytest.mark.parametrize(("n", "pages"), [(5, 1), (19, 1), (60, 2), (250, 9)])
def test_every_page_fits_teams_at_any_number_of_regions(n: int, pages: int) -> None:
    """Groups of a parent and 9 children (tests.bot.test_reports._tree): 3 to a page."""
    regions = _tree(n)
    held = {code: RegionFigures(briefings=i % 3) for i, code in enumerate(regions)}
    report = build_report(
        period=parse_period("this quarter", dt.date(2026, 11, 15)),
        regions=regions,
        figures=CoverageFigures(held, (), sum(f.briefings for f in held.values())),
        default_target=2,
        pm_target=3,
    )
    pngs = coverage_pngs(report)
    assert len(pngs) == len(report.chart_pages()) == pages
    for png in pngs:
        pixels = imread(io.BytesIO(png))
        assert pixels.shape[1] <= 1024 and pixels.shape[0] <= 1024
