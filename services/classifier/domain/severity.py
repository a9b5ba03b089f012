"""Severity from explainable rules; every rule that fires adds a reason.

urgent    - a safety hazard (gas, fire, collapse, electric shock, food poisoning ...); people
            trapped (电梯困人)
major     - >= N households or people affected; money claimed >= the threshold; media or lawsuit;
            a transfer from a regulator or a higher level; someone injured (受伤)
important - a repeated complaint; water / power / gas / heating cut off; a VIP customer (the
            channel's `customer_level`)
general   - none of the above

Chinese numerals (两万五千元, 一千二百户) are read through cn2an.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from suqiu.shared.catalogue import SeverityWords
from suqiu.shared.contracts import Channel, Severity

__all__ = ["affected_count", "arabic_numerals", "assess_severity", "claimed_amount_cny",
           "customer_level"]

# A count of households or people; not a building/room number (3幢501业主) and not 人民币.
_COUNT = re.compile(
    r"(?<![\d幢栋号室元.])(?<!号楼)(\d{1,5})\s*(?:多|余|来)?\s*"
    r"(?:户|家|位|名|个人|人(?!民币)|住户|业主)")
_MONEY = re.compile(r"(\d+(?:\.\d+)?)\s*(?:多|余)?\s*(万元|万块|万|元|块)")
_VAGUE = {"几": 3, "数": 3}  # 十几户 -> 13: cn2an does not read vague numerals
_VAGUE_TENS = re.compile(r"([一二两三四五六七八九]?)十几|几十")
_RANGE = re.compile(r"([一二两三四五六七八])([二两三四五六七八九])(?=[十百千万个户人家名位])")
_UNITS = set("个户人家名位元块")
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千万亿点]+")


@lru_cache(maxsize=1)
def _cn2an() -> Any:
    import cn2an  # kept library for Chinese numerals

    return cn2an


def _vague(text: str) -> str:
    """十几 -> 13, 几十 -> 30 (a conservative reading of vague numbers)."""
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "几十":
            return "30"
        head = m.group(1)
        tens = _cn2an().cn2an(head, "smart") if head else 1
        return str(int(tens) * 10 + 3)
    return _VAGUE_TENS.sub(repl, text)


def _convert(m: re.Match[str]) -> str:
    token = m.group(0)
    follows = m.string[m.end():m.end() + 1]
    if len(token) == 1 and (token == "点" or follows not in _UNITS):
        return token  # 一直, 一下, 两边, 有点, 第二次: words, not counts
    try:
        value = _cn2an().cn2an(token, "smart")
    except (ValueError, KeyError, IndexError):
        return token
    return str(int(value)) if float(value).is_integer() else str(value)


def arabic_numerals(text: str) -> str:
    """The text with Chinese numerals written as Arabic ones (两万五千元 -> 25000元)."""
    text = _RANGE.sub(lambda m: m.group(2), _vague(text))  # 一两个人, 三五户: the upper bound
    # Mixed forms first: 2万 / 1.5万 stay for the money rule; 两万五 -> 25000 via cn2an.
    return _CN_NUM.sub(_convert, text)


def affected_count(text: str) -> int:
    """The largest number of households or people the text says are affected."""
    norm = arabic_numerals(text)
    return max((int(m.group(1)) for m in _COUNT.finditer(norm)), default=0)


def claimed_amount_cny(text: str) -> float:
    """The largest amount of money mentioned, in yuan."""
    best = 0.0
    for m in _MONEY.finditer(arabic_numerals(text)):
        value = float(m.group(1)) * (10000 if m.group(2).startswith("万") else 1)
        best = max(best, value)
    return best


def customer_level(details: Mapping[str, Any] | None) -> str | None:
    """The customer level a channel reported (`customer_level`, else `level`)."""
    if not details:
        return None
    level = details.get("customer_level") or details.get("level")
    return str(level) if level not in (None, "") else None


def _found(words: list[str], text: str) -> list[str]:
    return [w for w in words if w in text]


def assess_severity(text: str, channel: Channel, words: SeverityWords,
                    details: Mapping[str, Any] | None = None) -> tuple[Severity, list[str]]:
    """The severity class and the reasons that fired (Chinese, shown to staff)."""
    urgent: list[str] = []
    safety = _found(words.safety, text)
    if safety:
        urgent.append("安全隐患: " + "、".join(safety))
    trapped = _found(words.trapped, text)
    if trapped:
        urgent.append("人员被困: " + "、".join(trapped))
    major: list[str] = []
    injury = _found(words.injury, text)
    if injury:
        major.append("人身伤害: " + "、".join(injury))
    count = affected_count(text)
    many = _found(words.many_affected, text)
    if count >= words.affected_threshold:
        major.append(f"涉及{count}户/人(>={words.affected_threshold})")
    elif many:
        major.append("涉及多户: " + "、".join(many))
    amount = claimed_amount_cny(text)
    if amount >= words.money_threshold_cny:
        major.append(f"涉及金额{amount:.0f}元(>={words.money_threshold_cny})")
    media = _found(words.media_or_lawsuit, text)
    if media:
        major.append("媒体或诉讼风险: " + "、".join(media))
    if channel is Channel.TRANSFER:
        major.append("上级或监管机构转办")
    important: list[str] = []
    repeated = _found(words.repeated, text)
    if repeated:
        important.append("重复投诉: " + "、".join(repeated))
    cut = _found(words.utilities_cut, text)
    if cut:
        important.append("基本生活需求中断: " + "、".join(cut))
    level = customer_level(details)
    if level and level.strip().lower() in {v.lower() for v in words.vip_levels}:
        important.append(f"重要客户: 客户等级{level}")
    reasons = [*urgent, *major, *important]
    if urgent:
        return Severity.URGENT, reasons
    if major:
        return Severity.MAJOR, reasons
    if important:
        return Severity.IMPORTANT, reasons
    return Severity.GENERAL, reasons
