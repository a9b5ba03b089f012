"""`suqiu train --from-history` learns from handled work orders in a real Mongo-protocol server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.classifier.domain.model import load_model
from shared.contracts import Content, TicketStatus
from shared.store import Store
from suqiu.cli import app
from tests.factories import make_classification, make_order

pytestmark = pytest.mark.integration

ROWS = [
    ("城乡建设", "construction_bureau", ["工地夜里打桩吵得睡不着", "渣土车撒了一路泥",
                                         "隔壁楼盘凌晨还在浇混凝土", "施工噪音从早到晚"]),
    ("劳动和社会保障", "hrss_bureau", ["老板三个月没发工资", "包工头拖欠农民工工钱",
                                       "公司不给交社保", "辞退我不给经济补偿"]),
]


async def _seed(mongo_url: str, db: str) -> None:
    store = Store(mongo_url, db)
    try:
        n = 0
        for category, dept, texts in ROWS:
            for text in texts:
                n += 1
                order = make_order(
                    TicketStatus.DISPATCHED, ticket_no=f"SQ-20261123-{n:06d}",
                    channel_message_id=f"h-{n}", intake_key=f"hotline:h-{n}",
                    content=Content(text=text), analysis_text=text,
                    classification=make_classification(category=category, department=dept))
                await store.insert_ticket(order)
    finally:
        await store.close()


def test_train_from_history(mongo_url: str, tmp_path: Path) -> None:
    db = "h" + uuid.uuid4().hex[:12]
    asyncio.run(_seed(mongo_url, db))
    try:
        result = CliRunner().invoke(
            app, ["train", "--from-history", "--out", str(tmp_path / "m"), "--holdout", "0"],
            env={"MONGO_URL": mongo_url, "SUQIU_MONGO_DB": db})
        assert result.exit_code == 0, result.output
        model = load_model(tmp_path / "m")
        assert model.meta["examples"] == 8
        assert set(model.heads["category"].labels) == {"城乡建设", "劳动和社会保障"}
        assert model.predict("工地打桩")["category"][0][0] == "城乡建设"
    finally:
        async def drop() -> None:
            store = Store(mongo_url, db)
            await store.db.client.drop_database(db)
            await store.close()
        asyncio.run(drop())
