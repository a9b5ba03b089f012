"""Near-duplicates from different households become one cluster; five make a mass incident."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.services.classifier.domain.classify import classify, mass_incident_event, with_cluster
from suqiu.services.classifier.domain.clustering import (
    Member,
    assign_cluster,
    household_key,
    region_key,
    signature,
    similarity,
)
from suqiu.shared.catalogue import ClassifierPolicy
from suqiu.shared.contracts import Complainant, Region, Severity
from tests.factories import T0, make_order, small_catalogue

pytestmark = pytest.mark.unit

POLICY = ClassifierPolicy()

SAME = [  # one incident, five households, each in their own words of the agent's summary
    "市民来电反映：西湖区文新街道德加社区3幢楼下的窨井盖缺失，晚上很危险，请尽快修复。",
    "来电人反映：西湖区文新街道德加社区3幢楼下窨井盖缺失，晚上很危险，请尽快修复。",
    "市民来电反映：西湖区文新街道德加社区3幢楼下的窨井盖缺失了，晚上很危险，请尽快修复！",
    "市民反映：西湖区文新街道德加社区3幢楼下的窨井盖缺失，晚上很危险，希望尽快修复。",
    "市民来电反映：西湖区文新街道德加社区3幢楼下的窨井盖缺失，晚上走路很危险，请尽快修复。",
]
DIFFERENT = [
    "市民来电反映：西湖区文新街道某小区楼下的窨井盖缺失，晚上很危险。",
    "来电人反映：公司拖欠三个月工资，老板不接电话。",
    "孩子学校的食堂饭菜里吃出了虫子，家长很担心。",
    "小区门口的公交站被取消了，老人出行很不方便。",
    "楼下烧烤店油烟很大，窗户都不敢开。",
]


def _run(texts: list[str], households: list[str]) -> list:
    members: list[Member] = []
    out = []
    for i, (text, household) in enumerate(zip(texts, households, strict=True)):
        ticket = f"T{i}"
        at = T0 + timedelta(minutes=10 * i)
        sig = signature(text)
        a = assign_cluster(ticket, household, at, sig, members, POLICY)
        members.append(Member(ticket, a.cluster_id, household, at, sig))
        out.append(a)
    return out


def test_five_near_identical_complaints_from_five_households_are_one_mass_incident() -> None:
    results = _run(SAME, [f"h{i}" for i in range(5)])
    assert {a.cluster_id for a in results} == {"T0"}
    assert [a.households for a in results] == [1, 2, 3, 4, 5]
    assert [a.mass_incident for a in results] == [False] * 4 + [True]
    assert results[-1].members == ("T0", "T1", "T2", "T3", "T4")


def test_five_different_complaints_are_five_clusters_and_no_mass_incident() -> None:
    results = _run(DIFFERENT, [f"h{i}" for i in range(5)])
    assert len({a.cluster_id for a in results}) == 5
    assert not any(a.mass_incident for a in results)


def test_one_household_repeating_itself_is_not_a_mass_incident() -> None:
    results = _run(SAME, ["same"] * 5)
    assert {a.cluster_id for a in results} == {"T0"}
    assert results[-1].households == 1 and not results[-1].mass_incident


def test_outside_the_time_window_a_new_cluster_starts() -> None:
    sig = signature(SAME[0])
    old = Member("OLD", "OLD", "h", T0, sig)
    late = T0 + timedelta(hours=POLICY.duplicate_window_hours + 1)
    assert assign_cluster("NEW", "h2", late, signature(SAME[1]), [old], POLICY).cluster_id == "NEW"


def test_similarity_is_high_for_paraphrase_and_low_for_other_topics() -> None:
    assert similarity(signature(SAME[0]), signature(SAME[1])) >= 0.6
    assert similarity(signature(SAME[0]), signature(DIFFERENT[1])) < 0.2


def test_mass_incident_raises_severity_to_major_and_names_the_master() -> None:
    cat = small_catalogue()
    order = make_order(analysis_text=SAME[4])
    result = classify(order, cat, T0)
    assert result.severity is Severity.GENERAL
    assignment = _run(SAME, [f"h{i}" for i in range(5)])[-1]
    marked = with_cluster(result, assignment)
    assert marked.mass_incident and marked.cluster_id == "T0" and marked.cluster_households == 5
    assert marked.severity is Severity.MAJOR
    assert marked.severity_reasons[-1] == "群体性诉求: 同类诉求5户"
    event = mass_incident_event(order.model_copy(update={"classification": marked}), assignment)
    assert event.type == "ticket.mass_incident"
    assert (event.master_ticket_no, event.households) == ("T0", 5)
    assert event.members == ["T0", "T1", "T2", "T3", "T4"]


def test_household_key_and_region_key() -> None:
    a = make_order(complainant=Complainant(name="甲", phone="13800000001"))
    b = make_order(complainant=Complainant(name="乙", phone="13800000001"))
    c = make_order(complainant=Complainant(name="丙", phone="13800000002"))
    assert household_key(a) == household_key(b) != household_key(c)
    assert "13800000001" not in household_key(a)
    assert region_key(Region(province="浙江省", city="杭州市", district="西湖区")) == \
        "浙江省/杭州市/西湖区"
