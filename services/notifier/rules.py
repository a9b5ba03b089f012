"""Pure delivery rules, time passed in: quiet hours, digests, SMS segments, backoff, signatures,
rate limiting. Nothing here does I/O."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "TokenBucket",
    "digest_due",
    "fit_sms",
    "quiet_until",
    "retry_delay",
    "sign_webhook",
    "sms_segments",
    "verify_webhook",
]

# GSM 03.38 basic set (approximately printable ASCII): 160 per SMS, 153 when concatenated.
_GSM_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\n", "\r"}


def quiet_until(now: datetime, start: time, end: time, tz: str) -> datetime | None:
    """When quiet hours end, if `now` falls inside [start, end) local time; else None.

    The window may span midnight (22:00-08:00). An empty window (start == end) is never quiet.
    """
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside, end_day = start <= t < end, local.date()
    else:
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def digest_due(now: datetime, minutes: int) -> datetime:
    """The next digest boundary strictly after `now` (boundaries every `minutes` since epoch)."""
    step = minutes * 60
    ts = math.floor(now.timestamp() / step) * step + step
    return datetime.fromtimestamp(ts, UTC)


def sms_segments(text: str) -> int:
    """How many SMS segments a text costs: UCS-2 70 (67 concatenated), GSM-7 160 (153)."""
    single, multi = (160, 153) if set(text) <= _GSM_SAFE else (70, 67)
    if len(text) <= single:
        return 1
    return math.ceil(len(text) / multi)


def fit_sms(text: str, max_segments: int) -> str:
    """The text cut (with an ellipsis) so that it costs at most `max_segments` segments."""
    if sms_segments(text) <= max_segments:
        return text
    multi = 153 if set(text) <= _GSM_SAFE else 67
    limit = (160 if multi == 153 else 70) if max_segments == 1 else multi * max_segments
    return text[: limit - 1] + "…"


def retry_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Capped exponential backoff: after the n-th failed attempt wait base * 2^(n-1), <= cap."""
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(secret: str, timestamp: int, body: bytes, signature: str, now: datetime,
                   tolerance_s: float = 300.0) -> bool:
    """What a receiving system checks: the signature matches and the timestamp is fresh."""
    if abs(now.timestamp() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign_webhook(secret, timestamp, body), signature)


class TokenBucket:
    """A token bucket: `reserve(now)` takes a token and says how long to wait for it."""

    def __init__(self, rate_per_s: float, burst: float | None = None) -> None:
        self.rate = rate_per_s
        self.burst = burst if burst is not None else max(1.0, rate_per_s)
        self._tokens = self.burst
        self._at: float | None = None

    def reserve(self, now: float) -> float:
        """Seconds to wait before sending (0 when a token is available); `now` is monotonic."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
