"""The shipped text model: loads without training, scores calibrated probabilities, round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suqiu.services.classifier.domain.decide import decide
from suqiu.services.classifier.domain.model import ModelError, analyze, load_model, normalize
from suqiu.services.classifier.settings import DEFAULT_MODEL_DIR
from suqiu.services.classifier.training import Example, fit_model, load_examples, publish
from suqiu.shared.catalogue import load_catalogue
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit

CORPUS = DEFAULT_MODEL_DIR.parent / "corpus"


@pytest.fixture(scope="module")
def shipped():
    return load_model(DEFAULT_MODEL_DIR)


def test_shipped_model_is_small_versioned_and_covers_every_category(shipped) -> None:
    directory = Path(shipped.meta["path"])
    size = sum(f.stat().st_size for f in directory.iterdir())
    assert size < 5_000_000
    assert shipped.version.startswith("v")
    names = {c.name for c in load_catalogue().categories}
    assert set(shipped.heads["category"].labels) == names
    assert {"category", "subcategory", "department"} <= set(shipped.heads)


def test_corpus_has_at_least_80_varied_examples_per_first_level_category() -> None:
    examples = load_examples([CORPUS])
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.category or ""] = counts.get(ex.category or "", 0) + 1
    names = {c.name for c in load_catalogue().categories}
    assert set(counts) == names
    assert min(counts.values()) >= 80
    assert len({ex.text for ex in examples}) == len(examples)
    lengths = [len(ex.text) for ex in examples]
    assert min(lengths) < 30 and max(lengths) > 80
    assert sum("來" in ex.text or "電" in ex.text for ex in examples) >= 14  # traditional


def test_probabilities_are_a_distribution_best_first(shipped) -> None:
    pred = shipped.predict("小区楼下的餐馆油烟直排，熏得家里没法开窗")
    probs = [p for _, p in pred["category"]]
    assert abs(sum(probs) - 1) < 1e-4
    assert probs == sorted(probs, reverse=True)
    assert pred["category"][0][0] == "环境保护"


def test_traditional_and_full_width_text_score_like_simplified(shipped) -> None:
    simp = shipped.predict("公交车司机到站不停，等了四十分钟")["category"][0]
    trad = shipped.predict("公交車司機到站不停，等了四十分鐘")["category"][0]
    assert simp[0] == trad[0] == "交通运输"
    assert normalize("ＡＢＣ１２３ 來電") == "abc0 来电"
    assert "w:gym" in analyze("the gym closed")


@pytest.mark.parametrize(("text", "category"), [
    ("隔壁工地凌晨还在浇筑混凝土，吵得睡不着", "城乡建设"),
    ("老板拖欠我们三个月工资不发", "劳动和社会保障"),
    ("孩子学校要求统一买教辅，不买就点名批评", "教育文体"),
    ("在医院排了三个小时队，医生两分钟就把我打发了", "卫生计生"),
    ("景区门口饭店一盘青菜要八十八，也不标价", "商贸旅游"),
    ("网约车司机故意绕远路多收钱", "交通运输"),
    ("河里漂着死鱼，水又黑又臭", "环境保护"),
])
def test_unseen_phrasings_of_the_required_categories(shipped, text: str, category: str) -> None:
    assert shipped.predict(text)["category"][0][0] == category


def test_save_and_load_round_trip_gives_the_same_scores(tmp_path: Path) -> None:
    examples = [Example(t, category=c, department=d) for t, c, d in [
        ("工地夜间施工噪音", "建设", "a"), ("渣土车撒漏", "建设", "a"), ("打桩太吵", "建设", "a"),
        ("拖欠工资", "劳动", "b"), ("不发工资", "劳动", "b"), ("社保断缴", "劳动", "b"),
    ]]
    model = fit_model(examples)
    root = tmp_path / "models"
    directory = publish(model, root)
    assert (root / "LATEST").read_text().strip() == directory.name
    loaded = load_model(root)
    a = model.predict("工地施工")["category"]
    b = loaded.predict("工地施工")["category"]
    assert [n for n, _ in a] == [n for n, _ in b]
    assert np.allclose([p for _, p in a], [p for _, p in b], atol=1e-2)
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["format"] == "suqiu-text-model/1" and meta["version"] == directory.name


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no meta\.json"):
        load_model(tmp_path)


def test_a_model_of_another_catalogue_is_ignored_and_rules_decide(shipped) -> None:
    cat = small_catalogue()
    names = {c.name for c in cat.categories}
    if names & set(shipped.heads["category"].labels):
        cat = cat.model_copy(update={"categories": [
            c.model_copy(update={"name": c.name + "X"}) for c in cat.categories]})
    d = decide("今晚工地夜间施工", cat, shipped)
    assert d.decided_by in {"rule", "none"}
