"""Training and evaluation of the text model from labelled JSON lines.

One example per line: {"text", "title"|null, "category"|null, "department"|null} with an
optional "subcategory"; "category" may also be written "l1/l2". Used by `suqiu train` and
`suqiu evaluate`; scikit-learn is needed here only, not to serve a trained model.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.classifier.domain.model import HEADS, Head, TextModel, analyze
from shared.catalogue import Catalogue

__all__ = [
    "DataError",
    "Example",
    "HeadReport",
    "evaluate",
    "examples_from_rows",
    "fit_model",
    "head_report",
    "load_examples",
    "model_text",
    "publish",
    "stratified_split",
]

Progress = Callable[[str], None]


class DataError(ValueError):
    """A training file is unreadable or a line is not a valid example."""


@dataclass(frozen=True)
class Example:
    text: str
    title: str | None = None
    category: str | None = None
    subcategory: str | None = None
    department: str | None = None

    def label(self, head: str) -> str | None:
        if head == "subcategory":
            return f"{self.category}/{self.subcategory}" if self.category and self.subcategory \
                else None
        return getattr(self, head)  # type: ignore[no-any-return]


def model_text(text: str, title: str | None = None) -> str:
    """What the model reads: the title (if any) and the text."""
    return f"{title} {text}" if title else text


def _example(obj: Any, where: str) -> Example:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
        raise DataError(f"{where}: expected an object with a non-empty \"text\"")
    category, sub = obj.get("category"), obj.get("subcategory")
    if isinstance(category, str) and "/" in category:
        category, sub = category.split("/", 1)
    return Example(text=obj["text"], title=obj.get("title") or None, category=category or None,
                   subcategory=sub or None, department=obj.get("department") or None)


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Examples from JSONL files, or from every *.jsonl of a directory, in a stable order."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("*.jsonl")) if p.is_dir() else [p])
    if not files:
        raise DataError("no .jsonl files given")
    out: list[Example] = []
    for f in files:
        try:
            lines = f.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DataError(f"cannot read {f}: {exc}") from exc
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{f}:{n}: not JSON ({exc.msg})") from exc
            out.append(_example(obj, f"{f}:{n}"))
    return out


def examples_from_rows(rows: Iterable[dict[str, Any]], source: str = "history") -> list[Example]:
    """Examples from already decoded lines (e.g. work orders read from the store)."""
    return [_example(row, f"{source}[{i}]") for i, row in enumerate(rows)]


def stratified_split(examples: Sequence[Example], holdout: float,
                     seed: int = 13) -> tuple[list[Example], list[Example]]:
    """(train, test) with `holdout` of every category (at least one when it has >= 3) held out."""
    by_label: dict[str | None, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.category or ex.department, []).append(ex)
    rng = random.Random(seed)
    train: list[Example] = []
    test: list[Example] = []
    for label in sorted(by_label, key=str):
        group = list(by_label[label])
        rng.shuffle(group)
        k = round(len(group) * holdout) if holdout > 0 else 0
        if holdout > 0 and k == 0 and len(group) >= 3:
            k = 1
        test.extend(group[:k])
        train.extend(group[k:])
    return train, test


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature minimising the negative log-likelihood of out-of-fold scores."""
    best_t, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.05), np.log(5.0), 120)):
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = float(-logp[np.arange(len(y)), y].mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def _two_columns(scores: np.ndarray) -> np.ndarray:
    return np.column_stack([-scores / 2, scores / 2]) if scores.ndim == 1 else scores


def fit_model(examples: Sequence[Example], *, c: float = 1.0, max_features: int = 20000,
              min_df: int = 1, progress: Progress | None = None,
              meta: dict[str, Any] | None = None) -> TextModel:
    """Fit the shared vocabulary and every head that has at least two labels in the data."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    say = progress or (lambda _msg: None)
    texts = [model_text(ex.text, ex.title) for ex in examples]
    say(f"features: character 1-3-grams of {len(texts)} texts")
    vec = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=min_df,
                          max_features=max_features, dtype=np.float32)
    x = vec.fit_transform(texts)
    heads: dict[str, Head] = {}
    counts: dict[str, dict[str, int]] = {}
    for name in HEADS:
        rows = [i for i, ex in enumerate(examples) if ex.label(name)]
        labels = [examples[i].label(name) for i in rows]
        freq = Counter(labels)
        if len(freq) < 2:
            continue
        say(f"head {name}: {len(rows)} examples, {len(freq)} labels")
        classes = sorted(freq, key=str)
        y = np.array([classes.index(lab) for lab in labels])
        xs = x[rows]
        folds = min(5, min(freq.values()))
        temperature = 1.0
        if folds >= 2:
            say(f"head {name}: calibrating on {folds}-fold out-of-fold scores")
            oof = np.asarray(cross_val_predict(
                LinearSVC(C=c), xs, y, cv=StratifiedKFold(folds, shuffle=True, random_state=7),
                method="decision_function"))
            temperature = _fit_temperature(_two_columns(oof), y)
        clf = LinearSVC(C=c).fit(xs, y)
        coef, intercept = clf.coef_, clf.intercept_
        if len(classes) == 2:  # a binary model scores only the second class: split it in two
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.hstack([-intercept / 2,
                                                                            intercept / 2])
        heads[name] = Head(labels=tuple(str(k) for k in classes),
                           coef=coef.astype(np.float32),
                           intercept=intercept.astype(np.float32),
                           temperature=temperature)
        counts[name] = {str(k): v for k, v in sorted(freq.items(), key=lambda kv: str(kv[0]))}
    if "category" not in heads and "department" not in heads:
        raise DataError("need at least two distinct categories or departments to train")
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    info = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": len(examples),
        "data_sha256": digest,
        "features": len(vec.vocabulary_),
        "c": c,
        "label_counts": counts,
        **(meta or {}),
    }
    return TextModel(vocabulary={str(k): int(v) for k, v in vec.vocabulary_.items()},
                     idf=vec.idf_.astype(np.float32), heads=heads, meta=info)


def publish(model: TextModel, root: Path) -> Path:
    """Save under root/<version>/ and point root/LATEST at it; returns the version directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    version = f"v{stamp}-{model.meta.get('data_sha256', 'x')[:8]}"
    directory = root / version
    n = 1
    while directory.exists():  # two runs in the same second on the same data
        n += 1
        directory = root / f"{version}.{n}"
    version = directory.name
    versioned = TextModel(model.vocabulary, model.idf, model.heads,
                          {**model.meta, "version": version})
    versioned.save(directory)
    tmp = root / "LATEST.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    tmp.replace(root / "LATEST")
    return directory


@dataclass(frozen=True)
class HeadReport:
    """Quality of one set of predictions against gold labels."""

    n: int
    accuracy: float
    macro_f1: float
    per_class: list[tuple[str, float, float, float, int]]  # label, P, R, F1, support
    labels: list[str]
    confusion: list[list[int]]
    top3: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4),
                "macro_f1": round(self.macro_f1, 4),
                "top3": None if self.top3 is None else round(self.top3, 4),
                "per_class": [{"label": lab, "precision": round(p, 4), "recall": round(r, 4),
                               "f1": round(f, 4), "support": s}
                              for lab, p, r, f, s in self.per_class]}


def head_report(gold: Sequence[str], predicted: Sequence[str],
                top: Sequence[Sequence[str]] | None = None) -> HeadReport:
    """Accuracy, macro-F1, per-class P/R/F1, confusion matrix and optional top-3 hit rate."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(gold) | set(predicted))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=labels,
                                                 zero_division=0)
    gold_labels = set(gold)
    macro = float(np.mean([f[i] for i, lab in enumerate(labels) if lab in gold_labels]))
    acc = float(np.mean([g == q for g, q in zip(gold, predicted, strict=True)]))
    cm = confusion_matrix(gold, predicted, labels=labels).tolist()
    top3 = None
    if top is not None:
        top3 = float(np.mean([g in t[:3] for g, t in zip(gold, top, strict=True)]))
    return HeadReport(
        n=len(gold), accuracy=acc, macro_f1=macro,
        per_class=[(lab, float(p[i]), float(r[i]), float(f[i]), int(s[i]))
                   for i, lab in enumerate(labels)],
        labels=labels, confusion=cm, top3=top3)


def evaluate(model: TextModel | None, examples: Sequence[Example],
             catalogue: Catalogue | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, HeadReport]:
    """Reports per head. With a catalogue: the service's decision (rules with precedence,
    then the model); without: the model alone."""
    from services.classifier.domain.decide import decide

    cats: tuple[list[str], list[str]] = ([], [])
    subs: tuple[list[str], list[str]] = ([], [])
    depts: tuple[list[str], list[str], list[list[str]]] = ([], [], [])
    for i, ex in enumerate(examples):
        text = model_text(ex.text, ex.title)
        if catalogue is not None:
            d = decide(text, catalogue, model)
            category, sub, dept = d.category, d.subcategory, d.department
            top = [dept] + [n for n, _ in d.department_top if n != dept]
        else:
            assert model is not None
            pred = model.predict(text)
            category = pred["category"][0][0] if "category" in pred else ""
            sub_label = pred["subcategory"][0][0] if "subcategory" in pred else ""
            sub = sub_label.split("/", 1)[1] if "/" in sub_label else None
            top = [n for n, _ in pred.get("department", [])]
            dept = top[0] if top else ""
        if ex.category:
            cats[0].append(ex.category)
            cats[1].append(category)
        if ex.category and ex.subcategory:
            subs[0].append(f"{ex.category}/{ex.subcategory}")
            subs[1].append(f"{category}/{sub}")
        if ex.department:
            depts[0].append(ex.department)
            depts[1].append(dept)
            depts[2].append(top)
        if progress:
            progress(i + 1)
    out: dict[str, HeadReport] = {}
    if cats[0]:
        out["category"] = head_report(*cats)
    if subs[0]:
        out["subcategory"] = head_report(*subs)
    if depts[0]:
        out["department"] = head_report(depts[0], depts[1], depts[2])
    return out
