"""`suqiu report` on a real MongoDB-protocol server: aggregates counted by the repository from
generated orders, then the report in every format, with filters, from the aggregates only."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from suqiu.bench_report import generate_orders
from suqiu.cli import app
from suqiu.services.analytics.app import limits_of
from suqiu.services.analytics.domain.facts import order_facts
from suqiu.services.analytics.domain.keys import increments
from suqiu.services.analytics.repository import AnalyticsRepository
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.contracts import WorkOrder
from suqiu.shared.store import Store

pytestmark = pytest.mark.integration

CAT = load_catalogue()
LIMITS = limits_of(CAT, "Asia/Shanghai")


@pytest.fixture
async def loaded(mongo_url: str, namespace: str) -> dict[str, Any]:
    """Orders of 2026-10 and 2026-11 counted into the aggregates, order by order."""
    store = Store(mongo_url, namespace)
    repo = AnalyticsRepository(store)
    await repo.ensure_indexes()
    dept = None
    for month, n in (("2026-10", 120), ("2026-11", 200)):
        for doc in generate_orders(CAT, month, n, seed=7):
            order = WorkOrder.from_document(doc)
            facts = order_facts(order, LIMITS)
            await repo.count(order.ticket_no, 0, len(facts), increments(facts))
            dept = dept or (order.dispatch.department if order.dispatch else None)
    await store.close()
    return {"env": {"MONGO_URL": mongo_url, "SUQIU_MONGO_DB": namespace}, "dept": dept}


def test_the_monthly_report_in_every_format(loaded: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--month", "2026-11", "--out", str(tmp_path)],
                                env=loaded["env"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report-2026-11.html").read_text(encoding="utf-8")
    assert "诉求统计分析报告：2026年11月" in html and html.count("<svg") >= 3
    assert "部门排名" in html and "去年同期" in html
    wb = load_workbook(tmp_path / "report-2026-11.xlsx")
    assert wb.sheetnames == ["概览", "部门排名", "类别排行", "区域排行", "渠道", "问题热点"]
    overview = {r[0]: r[1:] for r in wb["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["受理量"][0] == 200 and overview["受理量"][1] == 120  # this month, last
    assert 0 < overview["按时签收率"][0] <= 1
    league = list(wb["部门排名"].iter_rows(min_row=2, values_only=True))
    assert league and all(row[1] > 0 for row in league)
    rows = list(csv.reader((tmp_path / "report-2026-11.csv").open(encoding="utf-8-sig")))
    assert ["部门排名"] in rows and rows[0][:2] == ["报表", "2026年11月"]


def test_filters_week_and_range(loaded: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    dept = loaded["dept"]
    r = runner.invoke(app, ["report", "--month", "2026-11", "--department", dept, "--format",
                            "xlsx", "--out", str(tmp_path)], env=loaded["env"])
    assert r.exit_code == 0, r.output
    wb = load_workbook(tmp_path / f"report-2026-11-{dept}.xlsx")
    names = [row[0] for row in wb["部门排名"].iter_rows(min_row=2, values_only=True)]
    assert len(names) == 1
    r = runner.invoke(app, ["report", "--week", "2026-W47", "--format", "csv", "--out",
                            str(tmp_path)], env=loaded["env"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--format",
                            "csv", "--out", str(tmp_path)], env=loaded["env"])
    assert r.exit_code == 0, r.output
    by_range = (tmp_path / "report-2026-11-01_2026-11-30.csv").read_text(encoding="utf-8-sig")
    assert "受理量,200," in by_range  # daily documents add up to the monthly rollup
    bad = runner.invoke(app, ["report", "--month", "2026-13"], env=loaded["env"])
    assert bad.exit_code == 2 and "bad period" in bad.output
    both = runner.invoke(app, ["report", "--month", "2026-11", "--week", "2026-W47"])
    assert both.exit_code == 2
