"""Keyword rules with precedence, the model below them, and the triage threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from suqiu.samples import SAMPLES, Sample
from suqiu.services.classifier.domain.classify import (
    analyse,
    apply_classification,
    classified_event,
    classify,
)
from suqiu.services.classifier.domain.decide import decide, thresholds
from suqiu.services.classifier.domain.model import load_model
from suqiu.services.classifier.settings import DEFAULT_MODEL_DIR
from suqiu.services.intake.domain import analysis_text
from suqiu.shared.catalogue import Catalogue, load_catalogue
from suqiu.shared.contracts import TicketClassified, TicketStatus, TicketTriageRequired
from tests.factories import T0, make_order

pytestmark = pytest.mark.unit

MODEL = load_model(DEFAULT_MODEL_DIR)
CAT = load_catalogue()


def _policy(cat: Catalogue, **changes: float) -> Catalogue:
    return cat.model_copy(update={"classifier": cat.classifier.model_copy(update=changes)})


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.text[:12])
def test_every_sample_is_confidently_classified_and_would_be_dispatched(sample: Sample) -> None:
    by_code = {c.code: c.name for c in CAT.categories}
    a = analyse(analysis_text(sample.text), CAT, MODEL, address=sample.address)
    assert a.decision.category == by_code[sample.expected_category]
    assert not a.decision.needs_triage, a.decision
    assert a.decision.confidence >= thresholds(MODEL, CAT).category  # the threshold in force
    assert a.region.district == sample.expected_district


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.text[:12])
def test_the_model_alone_also_gets_most_samples(sample: Sample) -> None:
    by_code = {c.code: c.name for c in CAT.categories}
    top3 = [n for n, _ in MODEL.predict(sample.text)["category"][:3]]
    assert by_code[sample.expected_category] in top3


def test_a_decisive_keyword_rule_overrides_the_model() -> None:
    text = "夜间施工太吵了"  # the rules' 夜间施工 is unambiguous
    d = decide(text, CAT, MODEL)
    assert (d.decided_by, d.category, d.subcategory) == ("rule", "城乡建设", "施工扰民")
    assert "夜间施工" in d.keywords


def test_the_model_decides_when_no_rule_is_decisive() -> None:
    text = "我家楼下那家馆子每天晚上炒菜的烟全往我们卧室里灌"
    d = decide(text, _policy(CAT, keyword_precedence=1.0), MODEL)
    assert d.decided_by == "model"
    assert d.category == "环境保护"
    assert d.category_scores[0][0] == "环境保护"
    assert len(d.category_scores) == len(CAT.categories)
    assert len(d.department_top) == 3


def test_department_follows_the_catalogue_routing_of_the_decided_subcategory() -> None:
    d = decide("公司三个月没发工资了", _policy(CAT, keyword_precedence=1.0), MODEL)
    assert (d.category, d.department) == ("劳动和社会保障", "hrss_bureau")


def test_low_confidence_goes_to_triage_not_dispatch() -> None:
    cat = _policy(CAT, triage_threshold=0.99, keyword_precedence=1.0)
    order = make_order(analysis_text="您好，我想问一下那个事情怎么样了")
    now = T0 + timedelta(minutes=1)
    result = classify(order, cat, now, MODEL)
    assert result.needs_triage
    after = apply_classification(order, result, now)
    assert after.status is TicketStatus.TRIAGE
    event = classified_event(after, cat.classifier.triage_threshold)
    assert isinstance(event, TicketTriageRequired)
    assert event.type == "ticket.triage_required" and event.threshold == 0.99
    assert len(event.candidates) == 3


def test_confident_orders_emit_ticket_classified() -> None:
    order = make_order(analysis_text="小区楼道里煤气味很重，怀疑燃气管道漏气")
    now = T0 + timedelta(minutes=1)
    after = apply_classification(order, classify(order, CAT, now, MODEL), now)
    assert after.status is TicketStatus.CLASSIFIED
    assert isinstance(classified_event(after), TicketClassified)
    assert after.classification is not None
    assert after.classification.model_version == MODEL.version


def test_rules_only_without_a_model() -> None:
    d = decide("公司欠薪三个月", CAT, None)
    assert (d.decided_by, d.category) == ("rule", "劳动和社会保障")
    nothing = decide("嗯嗯好的", CAT, None)
    assert (nothing.decided_by, nothing.needs_triage) == ("none", True)
