"""`suqiu train` / `evaluate` / `classify` round trip, and hot reload of a published model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suqiu.cli import app
from suqiu.services.classifier.model_holder import ModelHolder
from suqiu.services.classifier.settings import DEFAULT_MODEL_DIR
from suqiu.services.classifier.training import fit_model, load_examples, publish

pytestmark = pytest.mark.unit

CORPUS = DEFAULT_MODEL_DIR.parent / "corpus"
runner = CliRunner()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labelled history file in the documented format, 3 categories x 30 lines."""
    path = tmp_path_factory.mktemp("data") / "history.jsonl"
    lines = []
    for name in ("transport", "health", "civil_affairs"):
        for line in (CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:30]:
            row = json.loads(line)
            lines.append(json.dumps({"text": row["text"], "title": None,
                                     "category": row["category"],
                                     "department": row["department"]}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_train_then_evaluate_round_trip(history: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    result = runner.invoke(app, ["train", "--data", str(history), "--out", str(root),
                                 "--holdout", "0.25", "--json-out", str(tmp_path / "ev.json")])
    assert result.exit_code == 0, result.output
    assert "held-out" in result.output and "macro-F1" in result.output
    version = (root / "LATEST").read_text().strip()
    assert (root / version / "model.npz").is_file()
    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["n_test"] == 24 and ev["model_only"]["category"]["macro_f1"] > 0.5

    result = runner.invoke(app, ["evaluate", "--data", str(history), "--model", str(root),
                                 "--no-rules"])
    assert result.exit_code == 0, result.output
    for needle in ("accuracy=", "macro-F1=", "precision", "recall", "confusion", "top-3="):
        assert needle in result.output
    assert "交通运输" in result.output


def test_classify_reads_json_lines_and_writes_one_verdict_per_line() -> None:
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"text": "公交车司机到站不停，害我等了四十分钟", "address": "拱墅区湖墅街道"},
        {"text": "如题", "title": "公司拖欠工资"},
        {"text": "上海市浦东新区张江镇有工地半夜施工"},
    ]) + "\n"
    result = runner.invoke(app, ["classify"], input=stdin)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3
    first = rows[0]
    assert set(first) >= {"category", "category_scores", "department", "department_top",
                          "region", "severity", "severity_reasons", "confidence", "needs_triage"}
    assert first["category"]["l1"] == "交通运输"
    assert len(first["category_scores"]) == 14 and len(first["department_top"]) == 3
    assert first["region"]["district"] == "拱墅区"
    assert rows[1]["category"]["l1"] == "劳动和社会保障"
    assert rows[2]["region"]["city"] == "上海市"


def test_classify_reports_bad_lines_and_exits_non_zero() -> None:
    result = runner.invoke(app, ["classify", "--no-model"], input='{"title": "x"}\nnot json\n')
    assert result.exit_code == 1
    assert result.stdout.count('"error"') == 2


def test_a_newly_published_version_is_picked_up_without_restart(tmp_path: Path) -> None:
    examples = load_examples([CORPUS / "transport.jsonl", CORPUS / "health.jsonl"])
    root = tmp_path / "models"
    first = publish(fit_model(examples[:120], meta={"n": 1}), root)
    holder = ModelHolder(root, reload_seconds=0.0)
    assert holder.model is not None and holder.model.version == first.name
    (root / "LATEST").write_text("v-second\n")  # a version that does not exist: kept the old
    assert holder.reload() is holder.model and holder.model.version == first.name
    second = publish(fit_model(examples, meta={"n": 2}), root)
    assert second.name != first.name or second.exists()
    reloaded = holder.reload()
    assert reloaded is not None and reloaded.meta["n"] == 2


def test_target_precision_thresholds_are_stored_with_the_model_and_used(history: Path,
                                                                         tmp_path: Path) -> None:
    from suqiu.services.classifier.domain.decide import thresholds
    from suqiu.services.classifier.domain.model import load_model
    from suqiu.shared.catalogue import load_catalogue

    root = tmp_path / "models"
    result = runner.invoke(app, ["train", "--data", str(history), "--out", str(root),
                                 "--holdout", "0.3", "--target-precision", "0.9"])
    assert result.exit_code == 0, result.output
    assert "expected calibration error" in result.output
    assert "coverage and precision by threshold" in result.output
    model = load_model(root)
    stored = model.meta["thresholds"]
    assert stored["target_precision"] == 0.9 and 0 <= stored["category"] <= 1
    limits = thresholds(model, load_catalogue())
    assert (limits.source, limits.category) == ("model", stored["category"])
    result = runner.invoke(app, ["evaluate", "--data", str(history), "--model", str(root)])
    assert result.exit_code == 0, result.output
    assert "expected calibration error" in result.output
    assert "thresholds stored with the model" in result.output


def test_a_worse_model_is_not_promoted_and_latest_stays(history: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    first = runner.invoke(app, ["train", "--data", str(history), "--out", str(root),
                                "--holdout", "0.25"])
    assert first.exit_code == 0 and "PROMOTED: no current model" in first.output
    latest = (root / "LATEST").read_text()
    # A crippled model (a 50-term vocabulary) on the same held-out data: not better.
    second = runner.invoke(app, ["train", "--data", str(history), "--out", str(root),
                                 "--holdout", "0.25", "--max-features", "50",
                                 "--json-out", str(tmp_path / "ev.json")])
    assert second.exit_code == 0, second.output
    assert "NOT PROMOTED" in second.output and (root / "LATEST").read_text() == latest
    promotion = json.loads((tmp_path / "ev.json").read_text())["promotion"]
    assert promotion["promoted"] is False and promotion["new"] <= promotion["current"]
    forced = runner.invoke(app, ["train", "--data", str(history), "--out", str(root),
                                 "--holdout", "0.25", "--max-features", "50", "--force"])
    assert forced.exit_code == 0 and (root / "LATEST").read_text() != latest



def test_a_department_only_history_makes_the_head_decide_the_department(tmp_path: Path) -> None:
    """Letters labelled only with the agency that answered (category null), agencies the
    catalogue does not know: `classify --model` gives the head's agency with a usable
    confidence (and triage, since the catalogue cannot dispatch to it)."""
    agencies = {"transport": "某市交通运输局", "health": "某区卫生健康局",
                "civil_affairs": "某镇人民政府"}
    path = tmp_path / "letters.jsonl"
    lines = []
    for name, agency in agencies.items():
        for line in (CORPUS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:30]:
            row = json.loads(line)
            lines.append(json.dumps({"text": row["text"], "title": None, "category": None,
                                     "department": agency}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    root = tmp_path / "m"
    result = runner.invoke(app, ["train", "--data", str(path), "--out", str(root)])
    assert result.exit_code == 0, result.output
    text = json.loads((CORPUS / "transport.jsonl").read_text(encoding="utf-8").splitlines()[40])
    result = runner.invoke(app, ["classify", "--model", str(root)],
                           input=json.dumps({"text": text["text"]}, ensure_ascii=False) + "\n")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert verdict["department"] == verdict["department_top"][0][0] == "某市交通运输局"
    assert verdict["department_confidence"] > 0.5 and verdict["needs_triage"] is True
