"""The learning loop on a real Mongo-protocol server: people's decisions become labels (who
decided, once per decision), `suqiu train --from-history` learns only from those inside the
time window, never from the classifier's own output, and promotes only a better model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from suqiu.cli import app
from suqiu.services.classifier.domain.labels import LabelDecision, LabelError
from suqiu.services.classifier.domain.model import load_model
from suqiu.services.classifier.repository import Labels, record_label
from suqiu.services.dispatcher.domain import Policy
from suqiu.services.dispatcher.metrics import DispatcherMetrics
from suqiu.services.dispatcher.repository import DispatcherRepository
from suqiu.services.dispatcher.routing import RoutingRules
from suqiu.services.dispatcher.service import LifecycleService
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.contracts import Command, Content, PendingEvent, TicketStatus, WorkOrder
from suqiu.shared.store import Store
from tests.factories import make_classification, make_order

pytestmark = pytest.mark.integration

T = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ROWS = [
    ("城乡建设", "construction_bureau", ["工地夜里打桩吵得睡不着", "渣土车撒了一路泥",
                                         "隔壁楼盘凌晨还在浇混凝土", "施工噪音从早到晚",
                                         "塔吊半夜还在转", "工地围挡倒了占了人行道"]),
    ("劳动和社会保障", "hrss_bureau", ["老板三个月没发工资", "包工头拖欠农民工工钱",
                                       "公司不给交社保", "辞退我不给经济补偿",
                                       "加班费一直不给", "试用期被无故辞退"]),
]


def _order(n: int, text: str) -> WorkOrder:
    # The classifier said 其他 / hotline_triage: its own output must never become a label.
    return make_order(TicketStatus.DISPATCHED, ticket_no=f"SQ-20261101-{n:06d}",
                      channel_message_id=f"h-{n}", intake_key=f"hotline:h-{n}",
                      content=Content(text=text), analysis_text=text,
                      classification=make_classification(category="其他",
                                                         department="hotline_triage"))


@pytest.fixture
def db(mongo_url: str) -> Iterator[str]:
    name = "h" + uuid.uuid4().hex[:12]
    yield name

    async def drop() -> None:
        store = Store(mongo_url, name)
        await store.db.client.drop_database(name)
        await store.close()
    asyncio.run(drop())


async def _seed(mongo_url: str, db: str) -> None:
    store = Store(mongo_url, db)
    await store.ensure_indexes()
    try:
        n = 0
        for category, dept, texts in ROWS:
            for i, text in enumerate(texts):
                n += 1
                order = _order(n, text)
                await store.insert_ticket(order)
                at = T + timedelta(hours=n)
                # The triage desk re-categorises, then the department accepts it.
                await record_label(store, order, LabelDecision(
                    decision_id=f"c{n}", kind="recategorise", actor="op-7", role="operator",
                    at=at, category=category))
                await record_label(store, order, LabelDecision(
                    decision_id=f"s{n}", kind="accepted", actor=f"{dept}-lead",
                    role="department", at=at + timedelta(minutes=5), department=dept))
                if i == 0:  # redelivered command: recorded once
                    await record_label(store, order, LabelDecision(
                        decision_id=f"s{n}", kind="accepted", actor=f"{dept}-lead",
                        role="department", at=at + timedelta(minutes=5), department=dept))
        # Outside the window: a year earlier, with a wrong label that must not be learnt.
        old = _order(99, "工地夜里打桩吵得睡不着")
        await record_label(store, old, LabelDecision(
            decision_id="old", kind="recategorise", actor="op-1", role="supervisor",
            at=T - timedelta(days=365), category="劳动和社会保障"))
    finally:
        await store.close()


def test_decisions_become_labels_with_who_decided(mongo_url: str, db: str) -> None:
    async def go() -> None:
        await _seed(mongo_url, db)
        store = Store(mongo_url, db)
        try:
            labels = Labels(store)
            lab = await labels.get("SQ-20261101-000001")
            assert lab is not None
            assert (lab.category, lab.category_by, lab.category_role) == (
                "城乡建设", "op-7", "operator")
            assert (lab.department, lab.department_by, lab.department_role) == (
                "construction_bureau", "construction_bureau-lead", "department")
            assert lab.corrected and lab.predicted["category"] == "其他"
            assert [t["id"] for t in lab.trail] == ["c1", "s1"]  # the redelivery added nothing
            assert lab.version == 2
            window = await labels.window(T, T + timedelta(days=1))
            assert len(window) == 12 and window == sorted(window, key=lambda x: x.at)
            with pytest.raises(LabelError):  # the classifier itself never decides a label
                await record_label(store, _order(50, "x"), LabelDecision(
                    decision_id="sys", kind="accepted", actor="dispatcher", role="system",
                    at=T, department="hrss_bureau"))
            plan = await store.collection("labels").find(
                {"at": {"$gte": T, "$lt": T + timedelta(days=1)}}).sort("at", 1).limit(10
                                                                                         ).explain()
            assert "USING INDEX" in str(plan["queryPlanner"]["winningPlan"])
        finally:
            await store.close()
    asyncio.run(go())


def test_concurrent_decisions_on_one_order_both_land(mongo_url: str, db: str) -> None:
    async def go() -> None:
        store = Store(mongo_url, db)
        try:
            order = _order(1, "老板三个月没发工资")
            await asyncio.gather(*(record_label(store, order, LabelDecision(
                decision_id=f"d{i}", kind="accepted", actor=f"u{i}", role="department",
                at=T + timedelta(minutes=i), department="hrss_bureau")) for i in range(4)))
            lab = await Labels(store).get(order.ticket_no)
            assert lab is not None and sorted(t["id"] for t in lab.trail) == [
                "d0", "d1", "d2", "d3"]
        finally:
            await store.close()
    asyncio.run(go())


def test_train_from_history_learns_only_labels_in_the_window(mongo_url: str, db: str,
                                                             tmp_path: Path) -> None:
    asyncio.run(_seed(mongo_url, db))
    env = {"MONGO_URL": mongo_url, "SUQIU_MONGO_DB": db}
    result = CliRunner().invoke(
        app, ["train", "--from-history", "--since", "2026-10-01", "--until", "2026-12-01",
              "--out", str(tmp_path / "m"), "--holdout", "0"], env=env)
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m")
    assert model.meta["examples"] == 12
    assert set(model.heads["category"].labels) == {"城乡建设", "劳动和社会保障"}
    assert set(model.heads["department"].labels) == {"construction_bureau", "hrss_bureau"}
    assert "其他" not in model.heads["category"].labels  # the classifier's own output
    assert model.predict("工地打桩")["category"][0][0] == "城乡建设"
    assert model.meta["promotion"]["promoted"] is True
    # The unattended retrain: labels of the last N days, gated against <out>/LATEST.
    days = str((datetime.now(UTC) - T).days + 2)
    again = CliRunner().invoke(app, ["retrain", "--out", str(tmp_path / "m"), "--days", days,
                                     "--min-labels", "5"], env=env)
    assert again.exit_code == 0, again.output
    assert "promotion" in again.output and '"event": "retrain_done"' in again.output
    # An empty window trains nothing and says so.
    empty = CliRunner().invoke(
        app, ["train", "--from-history", "--since", "2020-01-01", "--until", "2020-02-01",
              "--out", str(tmp_path / "m2")], env=env)
    assert empty.exit_code != 0 and "no examples" in empty.output


class _Sent:
    """The dispatcher's outbox publisher for this test (the broker is tested elsewhere)."""

    async def publish_pending(self, entry: PendingEvent, ticket_no: str) -> bool:
        return True


async def _decide_through_the_dispatcher(mongo_url: str, db: str) -> None:
    """The same people's decisions, made as dispatcher commands: the triage desk
    re-categorises and re-dispatches, the new lead signs (the accepting), a redelivered sign
    records nothing twice."""
    store = Store(mongo_url, db)
    await store.ensure_indexes()
    clock = iter(T + timedelta(minutes=m) for m in range(0, 10_000, 7))
    life = LifecycleService(DispatcherRepository(store), _Sent(), Policy(load_catalogue()),
                            RoutingRules(), DispatcherMetrics(CollectorRegistry()),
                            clock=lambda: next(clock))

    def cmd(n: int, action: str, actor: str, role: str, **kw: str) -> Command:
        return Command.model_validate({"command_id": f"{action}-{n}", "ticket_no":
                                       f"SQ-20261101-{n:06d}", "action": action,
                                       "actor": actor, "role": role, **kw})
    try:
        n = 0
        for category, dept, texts in ROWS:
            for text in texts:
                n += 1
                await store.insert_ticket(_order(n, text))
                await life.command(cmd(n, "recategorise", "op-7", "operator", category=category,
                                       target=dept, reason="分类有误"), retries=3)
                sign = cmd(n, "sign", dept, "department", department=dept)
                await life.command(sign, retries=3)
                assert (await life.command(sign, retries=3)).outcome == "duplicate"
    finally:
        await store.close()


def test_train_from_history_learns_the_dispatchers_decisions(mongo_url: str, db: str,
                                                             tmp_path: Path) -> None:
    asyncio.run(_decide_through_the_dispatcher(mongo_url, db))

    async def check() -> None:
        store = Store(mongo_url, db)
        try:
            lab = await Labels(store).get("SQ-20261101-000007")
            assert lab is not None
            assert (lab.category, lab.category_by, lab.category_role) == (
                "劳动和社会保障", "op-7", "operator")
            assert (lab.department, lab.department_by, lab.department_role) == (
                "hrss_bureau", "hrss_bureau", "department")
            assert [t["kind"] for t in lab.trail] == ["recategorise", "accepted"]
            assert lab.corrected and lab.predicted["department"] == "hotline_triage"
        finally:
            await store.close()
    asyncio.run(check())
    result = CliRunner().invoke(
        app, ["train", "--from-history", "--since", "2026-10-01", "--until", "2026-12-01",
              "--out", str(tmp_path / "m"), "--holdout", "0"],
        env={"MONGO_URL": mongo_url, "SUQIU_MONGO_DB": db})
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m")
    assert model.meta["examples"] == 12
    assert set(model.heads["category"].labels) == {"城乡建设", "劳动和社会保障"}
    assert set(model.heads["department"].labels) == {"construction_bureau", "hrss_bureau"}


def test_retrain_without_enough_labels_does_nothing(tmp_path: Path, mongo_url: str) -> None:
    result = CliRunner().invoke(app, ["retrain", "--out", str(tmp_path / "m"), "--days", "30"],
                                env={"MONGO_URL": mongo_url, "SUQIU_MONGO_DB": "empty_retrain"})
    assert result.exit_code == 0, result.output
    assert "nothing trained" in result.output and not (tmp_path / "m" / "LATEST").exists()
