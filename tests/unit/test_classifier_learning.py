"""The learning loop's pure parts: labels from people's decisions, calibration, thresholds for
a target precision, the promotion gate, and the trained department head deciding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from suqiu.services.classifier.domain.calibration import (
    calibration,
    coverage_table,
    threshold_for_precision,
)
from suqiu.services.classifier.domain.decide import decide, thresholds
from suqiu.services.classifier.domain.labels import (
    LabelDecision,
    LabelError,
    apply_decision,
    training_rows,
)
from suqiu.services.classifier.domain.model import Head, TextModel
from suqiu.services.classifier.domain.promotion import gate
from suqiu.shared.contracts import TicketStatus
from tests.factories import make_classification, make_order, small_catalogue

pytestmark = pytest.mark.unit

T = datetime(2026, 11, 1, 9, tzinfo=UTC)
ORDER = make_order(TicketStatus.DISPATCHED, analysis_text="老板三个月没发工资",
                   classification=make_classification(category="城乡建设",
                                                      department="construction"))


def _decision(n: int, kind: str = "accepted", role: str = "department", **kw: str
              ) -> LabelDecision:
    return LabelDecision(decision_id=f"d{n}", kind=kind, actor=f"u{n}", role=role,  # type: ignore[arg-type]
                         at=T + timedelta(minutes=n), **kw)


# --- labels -----------------------------------------------------------------------------

def test_a_recategorisation_then_acceptance_is_one_label_with_who_decided() -> None:
    lab = apply_decision(None, ORDER, _decision(1, "recategorise", "operator", category="劳动和社会保障"))
    assert lab is not None
    lab = apply_decision(lab, ORDER, _decision(2, department="labour"))
    assert lab is not None
    assert (lab.category, lab.category_by, lab.category_role) == ("劳动和社会保障", "u1", "operator")
    assert (lab.department, lab.department_by, lab.department_role) == ("labour", "u2", "department")
    assert lab.corrected and lab.predicted["department"] == "construction"
    assert lab.at == T + timedelta(minutes=2) and lab.version == 2


def test_the_same_decision_twice_changes_nothing() -> None:
    lab = apply_decision(None, ORDER, _decision(1, department="construction"))
    assert apply_decision(lab, ORDER, _decision(1, department="construction")) is None


def test_an_acceptance_of_the_classifiers_department_is_confirmed_but_not_a_correction() -> None:
    lab = apply_decision(None, ORDER, _decision(1, department="construction"))
    assert lab is not None and not lab.corrected and lab.department_by == "u1"


@pytest.mark.parametrize(("decision", "problem"), [
    (_decision(1, role="system", department="x"), "not a person"),
    (_decision(1, "recategorise", "supervisor"), "needs a category"),
    (_decision(1, "accepted", "department"), "needs the department"),
])
def test_what_cannot_be_a_label(decision: LabelDecision, problem: str) -> None:
    with pytest.raises(LabelError, match=problem):
        apply_decision(None, ORDER, decision)


def test_training_rows_carry_only_what_people_decided() -> None:
    accepted = apply_decision(None, ORDER, _decision(1, department="construction"))
    fixed = apply_decision(None, ORDER, _decision(2, "recategorise", "supervisor",
                                                  category="劳动和社会保障", department="labour"))
    assert accepted is not None and fixed is not None
    rows = training_rows([accepted, fixed])
    assert rows[0]["category"] is None and rows[0]["department"] == "construction"
    assert (rows[1]["category"], rows[1]["department"]) == ("劳动和社会保障", "labour")
    assert [r["department"] for r in training_rows([accepted, fixed], corrections_only=True)] \
        == ["labour"]


# --- calibration and thresholds --------------------------------------------------------

def test_a_calibrated_set_has_a_small_expected_calibration_error() -> None:
    rng = np.random.default_rng(1)
    conf = rng.uniform(0, 1, 20000)
    calibrated = rng.uniform(0, 1, conf.size) < conf
    overconfident = rng.uniform(0, 1, conf.size) < conf * 0.6
    assert calibration(conf, calibrated).ece < 0.02
    assert calibration(conf, overconfident).ece > 0.15
    table = calibration(conf, calibrated).bins
    assert len(table) == 10 and sum(b.n for b in table) == conf.size


def test_coverage_and_precision_by_threshold() -> None:
    conf = [0.9, 0.8, 0.6, 0.4, 0.2]
    ok = [True, True, False, True, False]
    rows = {r.threshold: r for r in coverage_table(conf, ok, [0.0, 0.5, 0.85])}
    assert (rows[0.0].coverage, rows[0.0].precision) == (1.0, 0.6)
    assert (rows[0.5].n, round(rows[0.5].precision, 3)) == (3, 0.667)
    assert (rows[0.85].n, rows[0.85].precision) == (1, 1.0)


def test_the_threshold_for_a_target_precision_keeps_the_most_coverage() -> None:
    conf = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4]
    ok = [True, True, True, True, False, True, False, False]
    assert threshold_for_precision(conf, ok, 1.0, min_routed=1) == 0.8
    assert threshold_for_precision(conf, ok, 0.8, min_routed=1) == 0.6
    assert threshold_for_precision(conf, ok, 1.0, min_routed=5) is None


# --- promotion ---------------------------------------------------------------------------

def test_a_new_model_is_promoted_only_when_better_on_the_same_held_out_data() -> None:
    assert gate({"category": 0.8}, None).promoted  # nothing to beat
    better = gate({"category": 0.82, "department": 0.7}, {"category": 0.8, "department": 0.7})
    assert better.promoted and better.reason.startswith("better by +0.01")
    worse = gate({"category": 0.79}, {"category": 0.8})
    assert not worse.promoted and "not better" in worse.reason
    assert not gate({"category": 0.81}, {"category": 0.8}, min_gain=0.02).promoted
    assert gate({"category": 0.79}, {"category": 0.8}, force=True).promoted
    assert better.as_dict()["heads"]["category"] == {"current": 0.8, "new": 0.82}


# --- the department head decides ------------------------------------------------------------

CAT = small_catalogue()


def _model(dept_labels: tuple[str, ...], meta: dict[str, object] | None = None) -> TextModel:
    """A tiny hand-made model: 工资 -> labour department, anything else -> the second label."""
    vocab = {"工": 0, "资": 1, "x": 2}
    coef = np.zeros((len(dept_labels), 3), dtype=np.float32)
    coef[0, :2] = 5.0
    head = Head(labels=dept_labels, coef=coef, intercept=np.zeros(len(dept_labels), np.float32))
    return TextModel(vocabulary=vocab, idf=np.ones(3, np.float32), heads={"department": head},
                     meta={"version": "t", **(meta or {})})


def test_the_trained_department_head_decides_with_its_confidence() -> None:
    depts = [d.id for d in CAT.departments]
    model = _model((depts[1], depts[0]))
    d = decide("工资工资", CAT, model)
    assert d.department == depts[1] and d.department_confidence is not None
    assert d.department_confidence > 0.9 and not d.needs_triage


def test_below_the_department_threshold_the_order_goes_to_triage() -> None:
    depts = [d.id for d in CAT.departments]
    model = _model((depts[1], depts[0]), {"thresholds": {"category": 0.0, "department": 0.99}})
    assert thresholds(model, CAT).department == 0.99
    d = decide("x", CAT, model)  # no evidence: 0.5 / 0.5
    assert d.department_confidence == 0.5 and d.needs_triage


def test_a_department_the_catalogue_does_not_know_goes_to_triage() -> None:
    model = _model(("某镇人民政府", "某区信访局"))
    d = decide("工资工资", CAT, model)
    assert d.department == "某镇人民政府" and d.needs_triage  # the head's choice, but not dispatchable


def test_thresholds_come_from_the_model_else_the_catalogue() -> None:
    assert thresholds(None, CAT).source == "catalogue"
    assert thresholds(_model(("a", "b"), {"thresholds": {"category": 0.6}}), CAT).category == 0.6


def test_a_department_head_with_rare_classes_is_still_calibrated() -> None:
    """Hundreds of agencies, many seen once: the head must still be calibrated (it used to
    keep temperature 1, i.e. ~1/n for every department)."""
    from suqiu.services.classifier.training import Example, fit_model

    rng = np.random.default_rng(3)
    chars = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土风雨雷电山川"
    examples = []
    for k in range(40):
        sig = chars[k % len(chars)] + chars[(k * 7 + 3) % len(chars)] + str(k)
        for _ in range(1 if k >= 30 else 4):
            noise = "".join(rng.choice(list("的了是在有和人这中大为上个国我以要他")) for _ in range(8))
            examples.append(Example(text=f"{sig}局{noise}{sig}", department=f"dept{k}"))
    model = fit_model(examples)
    head = model.heads["department"]
    assert head.temperature != 1.0
    top = [model.predict(ex.text)["department"][0][1] for ex in examples]
    assert float(np.mean(top)) > 10 / 40  # far above uniform (1/40)


def test_a_triage_event_says_whether_the_department_sent_it_there() -> None:
    from suqiu.services.classifier.domain.classify import classified_event

    c = make_classification(confidence=0.9, needs_triage=True, department="construction",
                            department_top=[("construction", 0.3), ("transport", 0.2)])
    order = make_order(TicketStatus.TRIAGE, classification=c)
    event = classified_event(order, 0.5, 0.6)
    assert (event.confidence, event.threshold) == (0.3, 0.6)  # type: ignore[attr-defined]
    low = make_order(TicketStatus.TRIAGE, classification=c.model_copy(update={"confidence": 0.4}))
    event = classified_event(low, 0.5, 0.6)
    assert (event.confidence, event.threshold) == (0.4, 0.5)  # type: ignore[attr-defined]
