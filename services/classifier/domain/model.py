"""The trained text model: character n-grams, TF-IDF, linear heads, temperature-calibrated.

One shared vocabulary feeds up to three heads (first-level category, "l1/l2" subcategory,
department); each head is a multinomial linear model whose softmax is calibrated by a single
temperature fitted on out-of-fold scores. A model is stored as plain arrays (`model.npz`) and
JSON (`meta.json`), never as a pickle: loading needs only numpy, cannot execute code, and does
not depend on the scikit-learn version that trained it. Training (scikit-learn) lives in
`services.classifier.training`; this module only scores.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import opencc

__all__ = [
    "HEADS",
    "Head",
    "ModelError",
    "TextModel",
    "analyze",
    "load_model",
    "normalize",
    "resolve_model_dir",
]

HEADS = ("category", "subcategory", "department")
FORMAT = "suqiu-text-model/1"
NGRAM_RANGE = (1, 3)
MAX_CHARS = 2000  # longer texts add nothing but time; the head of a complaint says what it is

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_LATIN = re.compile(r"[a-z]+")


class ModelError(Exception):
    """A model directory is missing, incomplete or of an unknown format."""


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """NFKC, traditional -> simplified, lower case, digits folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)[:MAX_CHARS]
    text = _t2s().convert(text).lower()
    text = _DIGITS.sub("0", text)
    return _SPACES.sub(" ", text).strip()


def analyze(text: str) -> list[str]:
    """Features of a (raw) text: character 1-3-grams plus whole Latin words."""
    norm = normalize(text)
    grams: list[str] = []
    lo, hi = NGRAM_RANGE
    padded = f" {norm} "
    for n in range(lo, hi + 1):
        grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    grams.extend("w:" + w for w in _LATIN.findall(norm) if len(w) > 2)
    return grams


@dataclass(frozen=True)
class Head:
    """One linear classifier over the shared features."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray  # (labels,)
    temperature: float = 1.0

    def proba(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for one sparse feature vector."""
        scores = self.coef[:, idx].astype(np.float32) @ values + self.intercept
        scores = scores / self.temperature
        scores = scores - scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()


@dataclass(frozen=True)
class TextModel:
    """Vocabulary, IDF weights and the trained heads; `meta` says how it was made."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    heads: dict[str, Head]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse TF-IDF vector (sublinear tf, L2-normalised) as (indices, values)."""
        counts: dict[int, int] = {}
        vocab = self.vocabulary
        for gram in analyze(text):
            j = vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[idx]
        norm = float(np.sqrt((values * values).sum()))
        return idx, (values / norm if norm else values).astype(np.float32)

    def predict(self, text: str) -> dict[str, list[tuple[str, float]]]:
        """For every head: all labels with probabilities, best first."""
        idx, values = self.features(text)
        out: dict[str, list[tuple[str, float]]] = {}
        for name, head in self.heads.items():
            p = head.proba(idx, values)
            order = np.argsort(-p)
            out[name] = [(head.labels[i], float(p[i])) for i in order]
        return out

    def save(self, directory: Path) -> None:
        """Write `model.npz` and `meta.json` into `directory` (created if needed)."""
        directory.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        arrays: dict[str, np.ndarray] = {"idf": self.idf.astype(np.float32)}
        for name, head in self.heads.items():
            arrays[f"{name}.coef"] = head.coef.astype(np.float16)
            arrays[f"{name}.intercept"] = head.intercept.astype(np.float32)
        np.savez_compressed(directory / "model.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            **self.meta,
            "format": FORMAT,
            "ngram_range": list(NGRAM_RANGE),
            "heads": {name: {"labels": list(h.labels), "temperature": h.temperature}
                      for name, h in self.heads.items()},
            "vocabulary": terms,
        }
        (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False),
                                             encoding="utf-8")


def resolve_model_dir(path: Path) -> Path:
    """A model directory itself, or a models root whose LATEST file names the version."""
    if (path / "meta.json").is_file():
        return path
    latest = path / "LATEST"
    if latest.is_file():
        return path / latest.read_text(encoding="utf-8").strip()
    raise ModelError(f"{path}: no meta.json and no LATEST file")


def load_model(path: Path) -> TextModel:
    """Read a model written by `TextModel.save` (or a models root with LATEST)."""
    directory = resolve_model_dir(Path(path))
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "model.npz", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model {directory}: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise ModelError(f"{directory}: unknown model format {meta.get('format')!r}")
    terms = meta.pop("vocabulary")
    heads = {
        name: Head(labels=tuple(spec["labels"]),
                   coef=arrays[f"{name}.coef"].astype(np.float32),
                   intercept=arrays[f"{name}.intercept"],
                   temperature=float(spec["temperature"]))
        for name, spec in meta["heads"].items()
    }
    meta["path"] = str(directory)
    return TextModel(vocabulary={t: i for i, t in enumerate(terms)},
                     idf=arrays["idf"], heads=heads, meta=meta)
