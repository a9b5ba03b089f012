"""Writes a report as CSV, XLSX (openpyxl) or HTML with charts."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from suqiu.services.analytics.domain.report import LABELS, RATES, Report, Table

__all__ = ["FORMATS", "write_report"]

FORMATS = ("html", "xlsx", "csv")
_COMPARE = (("current", "本期"), ("previous", "上期"), ("last_year", "去年同期"))


def overview(report: Report) -> Table:
    """Totals and rates with the previous period and the same period last year."""
    t = Table("概览", ["指标", *(label for _, label in _COMPARE)])
    for counter, label in LABELS.items():
        t.rows.append([label, *(report.totals[k][counter] for k, _ in _COMPARE)])
    for name, (_, _, label) in RATES.items():
        t.rows.append([label, *(report.rates[k][name] for k, _ in _COMPARE)])
    return t


def tables(report: Report) -> list[Table]:
    return [overview(report), report.league, report.categories, report.regions,
            report.channels, report.hotspots]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1%}" if v <= 1 else f"{v:.2f}"
    return str(v)


def _csv(report: Report, path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["报表", report.period.label, *(f"{k}={v}" for k, v in report.filters.items())])
        for t in tables(report):
            w.writerow([])
            w.writerow([t.title])
            w.writerow(t.columns)
            w.writerows([["" if v is None else v for v in row] for row in t.rows])


def _xlsx(report: Report, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for t in tables(report):
        ws = wb.create_sheet(t.title[:31])
        ws.append(t.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in t.rows:
            ws.append(row)
        for col in ws.iter_cols(min_row=2):
            for cell in col:
                if isinstance(cell.value, float) and t.title != "问题热点" and cell.value <= 1:
                    cell.number_format = "0.0%"
        for i, _ in enumerate(t.columns, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = 16
    wb.save(path)


def _html(report: Report, path: Path) -> None:
    from suqiu.services.analytics.charts import charts

    env = Environment(loader=PackageLoader("suqiu.services.analytics", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["fmt"] = _fmt
    html = env.get_template("report.html.j2").render(
        report=report, tables=tables(report), charts=charts(report))
    path.write_text(html, encoding="utf-8")


def write_report(report: Report, fmt: str, path: Path) -> Path:
    {"csv": _csv, "xlsx": _xlsx, "html": _html}[fmt](report, path)
    return path
