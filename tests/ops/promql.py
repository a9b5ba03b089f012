"""Metric names used by a PromQL expression (enough PromQL for our dashboards and rules)."""

from __future__ import annotations

import re

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "bool", "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Identifiers that are metric names: not functions, keywords, labels or durations."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)            # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)           # range selectors
    text = _LABEL_LIST.sub(" ", text)                 # grouping label lists
    text = re.sub(r"\$\{?\w+\}?", " ", text)          # Grafana variables
    text = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?[smhdwy]?\b", " ", text)  # numbers
    names = set()
    for m in _IDENT.finditer(text):
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or m.group(0).lower() in _KEYWORDS:
            continue  # a function call or an operator keyword
        names.add(m.group(0))
    return names
