"""Text normalisation and similarity: pure functions, no I/O.

The original text is kept verbatim on the work order; `analysis_text` is the copy rules and
models read: traditional characters converted to simplified (OpenCC t2s), full-width folded
to half-width (NFKC), whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from suqiu.shared.privacy import mask_name, scrub_text

__all__ = ["analysis_text", "masked_text", "meaningful_chars", "similarity", "to_simplified"]

_SPACES = re.compile(r"\s+")
_NOT_MEANINGFUL = re.compile(r"[\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese to simplified (characters only; phrases stay as written)."""
    return _t2s().convert(text) if text else text


def analysis_text(text: str) -> str:
    """Simplified, half-width, single-spaced copy of `text` for classification."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return to_simplified(folded)


def masked_text(text: str, names: tuple[str | None, ...] = ()) -> str:
    """`text` with phone, ID-card and e-mail numbers masked, and the given names masked."""
    out = scrub_text(text)
    for name in names:
        if name and len(name) >= 2:
            out = out.replace(name, mask_name(name) or "")
    return out


def meaningful_chars(text: str) -> str:
    """Letters, digits and CJK characters only (punctuation, symbols and spaces removed)."""
    return _NOT_MEANINGFUL.sub("", text).lower()


def _shingles(text: str, k: int = 2) -> set[str]:
    core = meaningful_chars(text)
    if len(core) <= k:
        return {core} if core else set()
    return {core[i:i + k] for i in range(len(core) - k + 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams, in [0, 1]; 1.0 for texts equal after folding."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa and not sb:
        return 1.0
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)
