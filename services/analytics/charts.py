"""Charts of the HTML report: matplotlib rendered to inline SVG (text stays text, so the
browser's CJK fonts draw the Chinese labels)."""

from __future__ import annotations

import io
import logging
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from suqiu.services.analytics.domain.report import Report

__all__ = ["charts"]

plt.rcParams.update({"svg.fonttype": "none", "font.family": ["Noto Sans CJK SC", "WenQuanYi Micro Hei",
                                                              "sans-serif"], "font.size": 10})
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyph warnings: the browser draws the text
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _bars(title: str, labels: list[str], series: dict[str, list[float]], percent: bool = False) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(labels))], labels,
                  rotation=30, ha="right")
    ax.set_title(title, loc="left")
    if percent:
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(series))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def charts(report: Report) -> list[str]:
    """SVG documents: top categories (with the previous period), regions, department rates."""
    out = []
    cats = report.categories.rows
    if cats:
        out.append(_bars("类别排行（有效工单）", [r[0] for r in cats],
                         {"本期": [r[1] for r in cats], "上期": [r[3] for r in cats]}))
    regions = report.regions.rows
    if regions:
        out.append(_bars("区域排行（有效工单）", [r[0] for r in regions],
                         {"本期": [r[1] for r in regions], "上期": [r[3] for r in regions]}))
    league = report.league.rows[:12]
    if league:
        out.append(_bars("部门按时签收率与满意率", [r[0] for r in league],
                         {"按时签收率": [r[2] or 0 for r in league],
                          "满意率": [r[8] or 0 for r in league]}, percent=True))
    return out
