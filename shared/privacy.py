"""Masking of personal data (phone numbers, ID numbers, e-mail addresses, names)."""

from __future__ import annotations

import re

__all__ = ["mask_name", "mask_phone", "normalize_phone", "scrub_text"]

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def normalize_phone(raw: str | None) -> str | None:
    """Digits only, without the +86 country code; None when nothing phone-like remains."""
    if not raw:
        return None
    international = raw.strip().startswith(("+", "00"))
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("0086"):
        digits, international = digits[4:], True
    elif digits.startswith("86") and (international or len(digits) == 13):
        digits, international = digits[2:], True
    if international and digits and not digits.startswith(("0", "1")):
        digits = "0" + digits  # +86 571 ... is the landline 0571 ...
    elif international and digits.startswith("1") and len(digits) != 11:
        digits = "0" + digits  # +86 10 ... is Beijing's 010 ...
    return digits if 5 <= len(digits) <= 15 else None


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: 138****5678."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str | None:
    """Keep the family name only: 张** ."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def scrub_text(text: str) -> str:
    """Mask every phone number, ID-card number and e-mail address inside free text."""
    text = _ID_CARD.sub(lambda m: m.group(1)[:3] + "*" * 11 + m.group(3)[-4:], text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
