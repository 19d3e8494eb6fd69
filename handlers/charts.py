"""The coverage chart: one horizontal bar per region (briefings held) in its status colour,
the period's target marked, parents with their children below them, a page per
bot.reports.CHART_ROWS regions."""

from __future__ import annotations

import io

from matplotlib.artist import Artist
from matplotlib.figure import Figure  # the object API: no pyplot global state, thread-safe
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.reports import CHART_ALT, STATUS_LABEL, RegionRow, Report

COLORS = {"on track": "#2a9d8f", "behind": "#e9a23b", "none": "#d62828"}
TARGET_COLOR = "black"
EXPECTED_COLOR = "#555555"
DPI = 100
WIDTH = 1000  # px: Teams shows an image of at most 1024 x 1024, Slack previews less
ROW_PX = 26
FRAME_PX = 170  # title, legend and axis around the rows


def _depths(rows: list[RegionRow]) -> dict[str, int]:
    """How far below a region the page shows each region is (0 for a top of a group)."""
    parents = {r.code: r.parent for r in rows}
    depths: dict[str, int] = {}
    for r in rows:
        depth, code, seen = 0, r.parent, {r.code}
        while code in parents and code not in seen:
            seen.add(code)
            depth += 1
            code = parents[code]
        depths[r.code] = depth
    return depths


def coverage_figure(report: Report, page: int = 1) -> Figure:
    pages = report.chart_pages()
    rows = pages[page - 1] if pages else []
    n = max(1, len(rows))
    fig = Figure(
        figsize=(WIDTH / DPI, (FRAME_PX + ROW_PX * n) / DPI), dpi=DPI, layout="constrained"
    )
    ax = fig.subplots()
    ys = list(range(len(rows)))
    held = [r.briefings for r in rows]
    top = max([1, *held, *(r.period_target for r in rows), *(r.expected for r in rows)])
    ax.barh(ys, held, height=0.62, color=[COLORS[r.status] for r in rows], zorder=2)
    # No bar for none held: a mark at zero in the same colour, so the region is seen.
    zeros = [y for y, r in zip(ys, rows, strict=True) if r.briefings == 0]
    ax.scatter([0] * len(zeros), zeros, marker="s", s=90, color=COLORS["none"], zorder=4,
               clip_on=False)  # fmt: skip
    targeted = [(y, r) for y, r in zip(ys, rows, strict=True) if r.period_target]
    ax.scatter([r.period_target for _, r in targeted], [y for y, _ in targeted], marker="|",
               s=260, linewidths=2.5, color=TARGET_COLOR, zorder=5)  # fmt: skip
    running = report.period.running
    early = [  # as the report's words say it: only while a region is short of its target
        (y, r)
        for y, r in targeted
        if running and r.expected != r.period_target and r.briefings < r.period_target
    ]
    ax.scatter([r.expected for _, r in early], [y for y, _ in early], marker="D", s=40,
               facecolors="white", edgecolors=EXPECTED_COLOR, linewidths=1.5, zorder=6)  # fmt: skip
    for y, r in zip(ys, rows, strict=True):
        text = f"{r.briefings} of {r.period_target}" if r.period_target else str(r.briefings)
        ax.text(max(r.briefings, r.period_target) + top * 0.02, y, text, va="center",
                fontsize=8.5, color=COLORS["none"] if r.briefings == 0 else "#222222")  # fmt: skip
    depths = _depths(rows)
    names = ["    " * depths[r.code] + r.name for r in rows]
    ax.set_yticks(ys, names, fontsize=9)
    # Left-aligned, so that children stand indented under their parent.
    ax.tick_params(axis="y", pad=max(map(len, names), default=0) * 9 * 0.62 + 4)
    for label, r in zip(ax.get_yticklabels(), rows, strict=True):
        label.set_horizontalalignment("left")
        if depths[r.code] == 0:
            label.set_fontweight("bold")
    for y, r in zip(ys[1:], rows[1:], strict=True):
        if depths[r.code] == 0:  # a new group: a line between it and the one above
            ax.axhline(y - 0.5, color="#bbbbbb", linewidth=0.8, zorder=1)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
    ax.set_xlim(0, top * 1.18)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", color="#e6e6e6", zorder=0)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"briefings held {report.period.span}")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    title = f"Briefings per region, {report.period.label}"
    ax.set_title(title + (f" — page {page} of {len(pages)}" if len(pages) > 1 else ""),
                 loc="left", fontsize=12, fontweight="bold")  # fmt: skip
    handles: list[Artist] = [
        Patch(color=COLORS[s], label=STATUS_LABEL[s]) for s in ("on track", "behind")
    ]
    handles.append(Line2D([], [], linestyle="", marker="s", markersize=9,
                          color=COLORS["none"], label=STATUS_LABEL["none"]))  # fmt: skip
    handles.append(Line2D([], [], linestyle="", marker="|", markersize=14, markeredgewidth=2.5,
                          color=TARGET_COLOR, label=f"target {report.period.span}"))  # fmt: skip
    if early:
        handles.append(Line2D([], [], linestyle="", marker="D", markersize=6,
                              markerfacecolor="white", markeredgecolor=EXPECTED_COLOR,
                              markeredgewidth=1.5, label="expected by today"))  # fmt: skip
    # Outside the axes, above them: a legend never covers a bar or a mark.
    fig.legend(handles=handles, loc="outside upper left", ncols=len(handles), frameon=False,
               fontsize=9)  # fmt: skip
    return fig


def coverage_png(report: Report, page: int = 1) -> bytes:
    buf = io.BytesIO()
    coverage_figure(report, page).savefig(buf, format="png", metadata={"Title": CHART_ALT})
    return buf.getvalue()


def coverage_pngs(report: Report) -> list[bytes]:
    """Every page of the chart."""
    return [coverage_png(report, n) for n in range(1, max(1, len(report.chart_pages())) + 1)]
