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

from suqiu.services.classifier.domain.model import HEADS, Head, TextModel, analyze
from suqiu.services.classifier.evaluation import HeadReport, evaluate, head_report

__all__ = [
    "DataError",
    "Example",
    "HeadReport",
    "evaluate",
    "examples_from_rows",
    "fit_model",
    "head_report",
    "holdout_split",
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
    at: str | None = None  # ISO time a person decided the label (history), for the split
    group: str | None = None  # examples of one group are never split between train and test

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
    at = obj.get("at")
    return Example(text=obj["text"], title=obj.get("title") or None, category=category or None,
                   subcategory=sub or None, department=obj.get("department") or None,
                   at=str(at) if at else None, group=obj.get("group") or None)


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
    """(train, test) with `holdout` of every category (at least one when it has >= 3) held out.
    Examples with a `group` are held out by whole groups (`round(groups * holdout)` of them,
    chosen by the seed), so variants of one text never sit on both sides."""
    grouped = [ex for ex in examples if ex.group]
    if grouped and holdout > 0:
        groups = sorted({str(ex.group) for ex in grouped})
        random.Random(seed).shuffle(groups)
        held = set(groups[:max(1, round(len(groups) * holdout))])
        train, test = _stratified([ex for ex in examples if not ex.group], holdout, seed)
        return ([*train, *(ex for ex in grouped if ex.group not in held)],
                [*test, *(ex for ex in grouped if ex.group in held)])
    return _stratified(examples, holdout, seed)


def _stratified(examples: Sequence[Example], holdout: float,
                seed: int) -> tuple[list[Example], list[Example]]:
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


def holdout_split(examples: Sequence[Example], holdout: float,
                  seed: int = 13) -> tuple[list[Example], list[Example]]:
    """(train, test). With dated history labels the test set is the most recent `holdout`
    share of them (what a model trained on the past meets next, and what the current model
    is least likely to have seen); undated examples (files) all train. Without dates: a
    stratified split."""
    dated = sorted((ex for ex in examples if ex.at), key=lambda ex: str(ex.at))
    if not dated or holdout <= 0:
        return stratified_split(examples, holdout, seed)
    k = max(1, round(len(dated) * holdout))
    test = dated[len(dated) - k:]
    ids = {id(ex) for ex in test}
    return [ex for ex in examples if id(ex) not in ids], test


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


def _out_of_fold(x: Any, y: np.ndarray, n_classes: int, c: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold decision scores over all classes (5 folds, fewer when every class is rarer),
    and which rows can be used: a row whose class was absent from its training fold (a class
    with one example) says nothing about calibration."""
    import warnings

    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    scores = np.full((len(y), n_classes), -1e3, dtype=np.float64)
    seen = np.zeros(len(y), dtype=bool)
    with warnings.catch_warnings():  # "the least populated class has only 1 member"
        warnings.simplefilter("ignore", UserWarning)
        n = min(5, int(np.bincount(y).max()))
        if n < 2:
            return scores, seen  # every class seen once: nothing to calibrate on
        folds = list(StratifiedKFold(n, shuffle=True, random_state=7).split(np.zeros(len(y)), y))
    for train_idx, test_idx in folds:
        present = np.unique(y[train_idx])
        if len(present) < 2:
            continue
        clf = LinearSVC(C=c).fit(x[train_idx], y[train_idx])
        dec = _two_columns(np.asarray(clf.decision_function(x[test_idx])))
        for k, cls in enumerate(clf.classes_):
            scores[test_idx, cls] = dec[:, k]
        seen[test_idx] = np.isin(y[test_idx], present)
    return scores, seen


def _two_columns(scores: np.ndarray) -> np.ndarray:
    return np.column_stack([-scores / 2, scores / 2]) if scores.ndim == 1 else scores


def fit_model(examples: Sequence[Example], *, c: float = 1.0, max_features: int = 20000,
              min_df: int = 1, progress: Progress | None = None,
              meta: dict[str, Any] | None = None) -> TextModel:
    """Fit the shared vocabulary and every head that has at least two labels in the data."""
    from sklearn.feature_extraction.text import TfidfVectorizer
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
        temperature = 1.0
        if len(rows) >= 10:
            say(f"head {name}: calibrating on 5-fold out-of-fold scores")
            scores, seen = _out_of_fold(xs, y, len(classes), c)
            if seen.sum() >= 5:
                temperature = _fit_temperature(scores[seen], y[seen])
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
