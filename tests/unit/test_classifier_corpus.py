"""The citizen-letter generator: seeded, reproducible, and letters that look like letters."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest
import yaml

from suqiu.services.classifier.settings import DEFAULT_MODEL_DIR

pytestmark = pytest.mark.unit

CORPUS = DEFAULT_MODEL_DIR.parent / "corpus"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
VOCAB = yaml.safe_load((CORPUS / "generator_vocab.yaml").read_text(encoding="utf-8"))


def test_the_committed_corpus_is_what_the_documented_command_generates() -> None:
    committed = (CORPUS / "generated" / "citizen_letters.jsonl").read_text(encoding="utf-8")
    rows = GEN.generate(2026, 2600, VOCAB)
    assert "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) == committed


def test_letters_look_like_what_citizens_write() -> None:
    rows = [r for r in GEN.generate(7, 400, VOCAB) if r["style"] != "core"]
    lengths = sorted(len(r["text"]) for r in rows)
    assert lengths[0] < 60 and lengths[-1] > 600  # short and long
    assert 120 <= lengths[len(lengths) // 2] <= 320  # median about a message-board letter
    texts = [r["text"] for r in rows]
    assert sum(bool(re.search(r"[A-H]市[A-H]\d区|[A-H]县[A-H]\d镇", t)) for t in texts) > 100
    assert not any("杭州" in t or "西湖区" in t for t in texts)  # real places anonymised
    assert sum(any(i in t for i in ("另外，", "此外，", "还有一个问题，")) for t in texts) > 40
    assert sum(("區" in t or "們" in t or "後" in t) for t in texts) > 10  # traditional
    assert all(r["group"] in {f"g{i}" for i in range(GEN.BUCKETS)} for r in rows)


def test_a_letter_takes_all_its_lines_from_its_own_group() -> None:
    cores = {r["text"]: r["group"] for r in GEN.generate(1, 0, VOCAB)}
    for r in GEN.generate(1, 150, VOCAB):
        if r["style"] in ("letter", "long", "very_long"):
            for core, group in cores.items():
                if len(core) > 25 and core in r["text"]:
                    assert group == r["group"]
