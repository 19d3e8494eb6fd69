"""The coverage chart: one bar per region (briefings held), the period's target marked."""

from __future__ import annotations

import io

from matplotlib.figure import Figure  # the object API: no pyplot global state, thread-safe

from bot.reports import Report

COLORS = {"on track": "#2a9d8f", "behind": "#e9c46a", "none": "#e76f51"}
DPI = 100
MAX_WIDTH = 1024  # px: Teams shows an image of at most 1024 x 1024, Slack previews less


def coverage_figure(report: Report) -> Figure:
    rows = report.regions
    width = min(max(6.0, 0.9 * len(rows) + 2), MAX_WIDTH / DPI)
    fig = Figure(figsize=(width, 4.5), dpi=DPI)
    ax = fig.subplots()
    xs = list(range(len(rows)))
    ax.bar(
        xs,
        [r.briefings for r in rows],
        color=[COLORS[r.status] for r in rows],
        label="briefings held",
    )
    # The target as a black bar-wide tick on each region: visible even where none were held.
    ax.scatter(
        xs,
        [r.expected for r in rows],
        marker="_",
        s=min(1400.0, (0.5 * width * 72 / max(1, len(rows))) ** 2),  # about a bar's width
        linewidths=3,
        color="black",
        zorder=3,
        label="target for the period",
    )
    # Many regions share the width: smaller labels, upright so that neighbours do not overlap.
    many = len(rows) > 12
    ax.set_xticks(
        xs,
        [r.name for r in rows],
        rotation=90 if many else 30,
        ha="center" if many else "right",
        fontsize=max(3.0, min(10.0, 400 / max(1, len(rows)))),
    )
    ax.set_ylabel("briefings")
    ax.set_title(f"Briefings per region, {report.period.label}")
    ax.legend(loc="upper right")
    ax.set_ylim(0, max([1.0, *(r.briefings for r in rows), *(r.expected for r in rows)]) * 1.25)
    fig.tight_layout()
    return fig


def coverage_png(report: Report) -> bytes:
    buf = io.BytesIO()
    coverage_figure(report).savefig(buf, format="png")
    return buf.getvalue()
