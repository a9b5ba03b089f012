"""Test data builders: envelopes, work orders at any status, and a small inline catalogue.

Builders take keyword overrides so a test states only what it is about; everything else is a
valid, boring default. Time is always explicit (UTC), never read from a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import (
    Channel,
    Classification,
    Complainant,
    Content,
    Dispatch,
    HistoryEntry,
    IntakeEnvelope,
    Location,
    Region,
    Severity,
    SlaDeadlines,
    StepDeadline,
    TicketStatus,
    WorkOrder,
)

__all__ = [
    "T0",
    "envelope_payload",
    "make_classification",
    "make_envelope",
    "make_order",
    "small_catalogue",
]

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai

_STATUS_ORDER = (
    TicketStatus.RECEIVED,
    TicketStatus.CLASSIFIED,
    TicketStatus.DISPATCHED,
)


def envelope_payload(**overrides: Any) -> dict[str, Any]:
    """A valid intake envelope as the JSON-ready dict a channel system would publish."""
    payload: dict[str, Any] = {
        "type": "intake.submitted",
        "schema_version": 1,
        "channel": "hotline",
        "channel_message_id": "call-0001",
        "received_at": T0.isoformat(),
        "complainant": {
            "name": "张三",
            "phone": "138 0013 8000",
            "consent_to_contact": True,
            "contact_preference": "sms",
        },
        "content": {"text": "小区门口夜间施工噪音很大，影响休息。"},
        "location": {"address": "杭州市西湖区文新街道某小区"},
    }
    payload.update(overrides)
    return payload


def make_envelope(**overrides: Any) -> IntakeEnvelope:
    """A valid IntakeEnvelope; top-level fields may be overridden (models or plain dicts)."""
    return IntakeEnvelope.model_validate(envelope_payload(**overrides))


def make_classification(**overrides: Any) -> Classification:
    """A classifier verdict for the small catalogue's construction noise subcategory."""
    data: dict[str, Any] = {
        "category": "城乡建设",
        "subcategory": "施工扰民",
        "department": "construction",
        "region": Region(province="浙江省", city="杭州市", district="西湖区",
                         street="文新街道", matched="文新街道"),
        "severity": Severity.GENERAL,
        "severity_reasons": [],
        "confidence": 0.8,
        "matched_keywords": ["夜间施工"],
        "classified_at": T0 + timedelta(minutes=1),
    }
    data.update(overrides)
    return Classification(**data)


def make_order(status: TicketStatus = TicketStatus.RECEIVED, *,
               ticket_no: str = "SQ-20261123-000001", now: datetime = T0,
               **overrides: Any) -> WorkOrder:
    """A work order as it looks after reaching `status` through the normal pipeline.

    `classification`, `dispatch`, `sla` and `history` follow from the status unless overridden;
    `version` is 1 plus the number of transitions made. Statuses off the main path (invalid,
    triage) get the received-stage fields; override the rest explicitly.
    """
    steps = _STATUS_ORDER.index(status) if status in _STATUS_ORDER else 0
    history = [HistoryEntry(at=now, actor="intake", action="receive",
                            to_status=TicketStatus.RECEIVED)]
    classification = dispatch = sla = None
    if steps >= 1:
        classification = overrides.pop("classification", None) or make_classification(
            classified_at=now + timedelta(minutes=1))
        history.append(HistoryEntry(at=now + timedelta(minutes=1), actor="classifier",
                                    action="classify", from_status=TicketStatus.RECEIVED,
                                    to_status=TicketStatus.CLASSIFIED))
    if steps >= 2:
        assert classification is not None
        at = now + timedelta(minutes=2)
        dispatch = Dispatch(department=classification.department, department_name="测试部门",
                            dispatched_at=at)
        sla = SlaDeadlines(policy_version="test", rule=classification.severity.value,
                           severity=classification.severity.value, steps={
                               "sign_for": StepDeadline(started_at=at, due_at=at + timedelta(hours=4),
                                                        warn_at=at + timedelta(hours=3.6)),
                               "resolution": StepDeadline(
                                   started_at=at, due_at=at + timedelta(hours=168),
                                   warn_at=at + timedelta(hours=151.2))})
        history.append(HistoryEntry(at=at, actor="dispatcher", action="dispatch",
                                    from_status=TicketStatus.CLASSIFIED,
                                    to_status=TicketStatus.DISPATCHED))
    data: dict[str, Any] = {
        "ticket_no": ticket_no,
        "version": 1 + steps,
        "status": status,
        "channel": Channel.HOTLINE,
        "channel_message_id": "call-0001",
        "intake_key": "hotline:call-0001",
        "received_at": now - timedelta(seconds=30),
        "created_at": now,
        "updated_at": now + timedelta(minutes=steps),
        "complainant": Complainant(name="张三", phone="13800138000", consent_to_contact=True,
                                   contact_preference="sms"),
        "content": Content(text="小区门口夜间施工噪音很大，影响休息。"),
        "analysis_text": "小区门口夜间施工噪音很大,影响休息。",
        "location": Location(address="杭州市西湖区文新街道某小区"),
        "raw_payload": "{}",
        "classification": classification,
        "dispatch": dispatch,
        "sla": sla,
        "history": history,
    }
    data.update(overrides)
    return WorkOrder(**data)


def small_catalogue(**overrides: Any) -> Catalogue:
    """A minimal but complete catalogue, independent of the operator's YAML file."""
    data: dict[str, Any] = {
        "profile": "test",
        "province": "浙江省",
        "city": "杭州市",
        "triage_department": "triage",
        "departments": [
            {"id": "triage", "name": "人工分拨席"},
            {"id": "construction", "name": "市住房和城乡建设局"},
            {"id": "urban_mgmt", "name": "市城市管理局", "parent": "construction"},
            {"id": "environment", "name": "市生态环境局"},
            {"id": "labour", "name": "市人力资源和社会保障局"},
        ],
        "categories": [
            {
                "code": "urban_construction", "name": "城乡建设", "department": "construction",
                "subcategories": [
                    {"code": "construction_noise", "name": "施工扰民",
                     "keywords": ["施工", "夜间施工", "渣土车"]},
                    {"code": "illegal_building", "name": "违法建设", "department": "urban_mgmt",
                     "keywords": ["违建", "违章搭建"]},
                ],
            },
            {
                "code": "environment", "name": "环境保护", "department": "environment",
                "subcategories": [
                    {"code": "noise", "name": "噪声扰民", "keywords": ["噪音", "广场舞"]},
                    {"code": "water", "name": "水污染", "keywords": ["河道污染", "排污"]},
                ],
            },
            {
                "code": "labour", "name": "劳动和社会保障", "department": "labour",
                "subcategories": [
                    {"code": "wages", "name": "拖欠工资", "keywords": ["拖欠工资", "欠薪"]},
                ],
            },
        ],
        "districts": [
            {"name": "西湖区", "aliases": ["西湖區"], "streets": ["文新街道", "翠苑街道"]},
            {"name": "滨江区", "aliases": ["滨江"], "streets": ["长河街道", "西兴街道"]},
        ],
        "severity_words": {
            "safety": ["燃气泄漏", "起火", "触电"],
            "media_or_lawsuit": ["媒体", "起诉"],
            "repeated": ["多次", "反复"],
            "many_affected": ["整栋楼", "全小区"],
            "affected_threshold": 5,
            "money_threshold_cny": 20000,
        },
    }
    data.update(overrides)
    return Catalogue.model_validate(data)
