"""The coverage chart: one bar per region (briefings held), the period's target marked."""

from __future__ import annotations

import io

from matplotlib.figure import Figure  # the object API: no pyplot global state, thread-safe

from bot.reports import Report

COLORS = {"on track": "#2a9d8f", "behind": "#e9c46a", "none": "#e76f51"}


def coverage_figure(report: Report) -> Figure:
    rows = report.regions
    fig = Figure(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.5), dpi=100)
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
        s=1400,
        linewidths=3,
        color="black",
        zorder=3,
        label="target for the period",
    )
    ax.set_xticks(xs, [r.name for r in rows], rotation=30, ha="right")
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
