"""Pure delivery rules: quiet hours, digests, SMS segments, backoff, webhook signatures,
rate limiting, templates and the operator configuration."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from suqiu.services.notifier.config import NotifierConfig, NotifierConfigError, load_notifier_config
from suqiu.services.notifier.rules import (
    TokenBucket,
    digest_due,
    fit_sms,
    quiet_until,
    retry_delay,
    sign_webhook,
    sms_segments,
    verify_webhook,
)
from suqiu.services.notifier.templates import TemplateBook, TemplateProblem
from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.settings import REPO_ROOT
from tests.factories import small_catalogue

pytestmark = pytest.mark.unit

SH = "Asia/Shanghai"


def _sh(h: int, m: int = 0, day: int = 23) -> datetime:
    """A Shanghai wall-clock time on 2026-11-<day>, as UTC."""
    return datetime(2026, 11, day, h, m, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(("now", "until"), [
    (_sh(21, 59), None),
    (_sh(22, 0), _sh(8, 0, day=24)),
    (_sh(23, 59), _sh(8, 0, day=24)),
    (_sh(0, 0, day=24), _sh(8, 0, day=24)),
    (_sh(7, 59, day=24), _sh(8, 0, day=24)),
    (_sh(8, 0, day=24), None),
    (_sh(12, 0), None),
])
def test_quiet_window_spanning_midnight(now: datetime, until: datetime | None) -> None:
    assert quiet_until(now, time(22), time(8), SH) == until


def test_quiet_window_within_a_day_and_empty_window() -> None:
    assert quiet_until(_sh(13, 0), time(12), time(14), SH) == _sh(14, 0)
    assert quiet_until(_sh(15, 0), time(12), time(14), SH) is None
    assert quiet_until(_sh(23, 0), time(8), time(8), SH) is None


def test_digest_boundaries() -> None:
    now = datetime(2026, 11, 23, 2, 7, 30, tzinfo=UTC)
    assert digest_due(now, 30) == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert digest_due(datetime(2026, 11, 23, 2, 30, tzinfo=UTC), 30) == datetime(
        2026, 11, 23, 3, 0, tzinfo=UTC)


def test_sms_segments_chinese_and_ascii() -> None:
    assert sms_segments("好" * 70) == 1
    assert sms_segments("好" * 71) == 2
    assert sms_segments("好" * 134) == 2
    assert sms_segments("好" * 135) == 3
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2


def test_fit_sms_cuts_to_the_segment_budget() -> None:
    assert fit_sms("好" * 100, 2) == "好" * 100
    cut = fit_sms("好" * 300, 2)
    assert len(cut) == 134 and cut.endswith("…") and sms_segments(cut) == 2
    one = fit_sms("好" * 80, 1)
    assert len(one) == 70 and sms_segments(one) == 1


def test_backoff_is_exponential_and_capped() -> None:
    assert [retry_delay(a, 10, 100) for a in range(1, 7)] == [10, 20, 40, 80, 100, 100]


def test_webhook_signature_round_trip_and_tamper() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    ts = int(now.timestamp())
    body = b'{"ticket_no":"SQ-1"}'
    sig = sign_webhook("s3cret", ts, body)
    assert sig.startswith("sha256=") and len(sig) == 71
    assert verify_webhook("s3cret", ts, body, sig, now)
    assert not verify_webhook("other", ts, body, sig, now)
    assert not verify_webhook("s3cret", ts, body + b" ", sig, now)
    assert not verify_webhook("s3cret", ts, body, sig, now + timedelta(minutes=10))


def test_token_bucket_spaces_sends_after_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=2, burst=2)
    assert [bucket.reserve(0.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve(0.0) == pytest.approx(0.5)
    assert bucket.reserve(0.0) == pytest.approx(1.0)
    assert bucket.reserve(10.0) == 0.0


def test_builtin_templates_render_every_event() -> None:
    book = TemplateBook()
    assert "ticket.received" in book.event_types()
    html = book.html("标题<b>", "第一行\n<script>", "签名")
    assert "&lt;script&gt;" in html and "标题&lt;b&gt;" in html


def test_operator_override_of_one_block(tmp_path: Path) -> None:
    (tmp_path / "ticket.received.j2").write_text(
        '{% extends "builtin/ticket.received.j2" %}'
        "{% block sms %}【{{ signature }}】已受理：{{ ticket_no }}{% endblock %}", "utf-8")
    ctx = {"signature": "S", "ticket_no": "T1", "promise": "5天", "hotline": "12345",
           "promised_by": None}
    r = TemplateBook(tmp_path).render("ticket.received", ctx)
    assert r.sms == "【S】已受理：T1"
    assert r.title == "您的诉求已受理（工单号T1）"  # not overridden: the built-in block


def test_broken_override_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ticket.received.j2").write_text("{% block sms %}{{ nope }}{% endblock %}", "utf-8")
    with pytest.raises(TemplateProblem):
        TemplateBook(tmp_path).render("ticket.received", {"ticket_no": "T"})


def test_shipped_notifier_config_is_valid_against_the_shipped_catalogue() -> None:
    config = load_notifier_config(REPO_ROOT / "deploy/config/notifier.yaml")
    config.check(load_catalogue(REPO_ROOT / "deploy/config/catalogue.yaml"), {})


def test_config_names_unknown_departments_and_missing_secrets() -> None:
    config = NotifierConfig.model_validate({"departments": {
        "nowhere": {"email": ["a@b.cn"]},
        "construction": {"webhook": {"url": "https://x.example/h", "secret_env": "HOOK_S"}}}})
    with pytest.raises(NotifierConfigError) as info:
        config.check(small_catalogue(), {})
    assert "nowhere" in str(info.value) and "HOOK_S" in str(info.value)
    config.model_copy(update={"departments": {k: v for k, v in config.departments.items()
                                              if k != "nowhere"}}).check(
        small_catalogue(), {"HOOK_S": "x"})


def test_config_rejects_bad_email_and_secret_in_file(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text("departments:\n  construction:\n    email: ['not-an-address']\n", "utf-8")
    with pytest.raises(NotifierConfigError, match="not an e-mail"):
        load_notifier_config(path)
    path.write_text("departments:\n  construction:\n    webhook: {url: 'https://x', "
                    "secret: 'plain'}\n", "utf-8")
    with pytest.raises(NotifierConfigError):
        load_notifier_config(path)


async def test_rate_limited_channel_waits_for_tokens_without_real_sleeping() -> None:
    from suqiu.services.notifier.channels import DeliveryResult, RateLimited
    from suqiu.services.notifier.domain import Notification

    sent: list[str] = []
    waits: list[float] = []

    class Inner:
        async def deliver(self, n: Notification) -> DeliveryResult:
            sent.append(n.recipient)
            return DeliveryResult("sent")

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    limited = RateLimited(Inner(), rate_per_s=2, clock=lambda: 0.0, sleep=fake_sleep)
    for i in range(4):
        n = Notification("e", "ticket.received", "T", "sms", f"r{i}", "-", "complainant", "x")
        assert (await limited.deliver(n)).state == "sent"
    assert sent == ["r0", "r1", "r2", "r3"]
    assert waits == pytest.approx([0.5, 1.0])


def test_service_refuses_to_start_with_a_missing_secret_or_a_broken_template(
        tmp_path: Path) -> None:
    from suqiu.services.notifier.app import build_notifier
    from suqiu.services.notifier.settings import NotifierSettings
    from suqiu.shared.settings import CommonSettings

    path = tmp_path / "n.yaml"
    path.write_text("departments:\n  construction_bureau:\n    webhook: {url: 'https://x.example/h',"
                    " secret_env: NOT_SET_ANYWHERE}\n", "utf-8")
    with pytest.raises(NotifierConfigError, match="NOT_SET_ANYWHERE"):
        build_notifier(CommonSettings(namespace="x"), NotifierSettings(config_path=path), env={})
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "sla.warning.j2").write_text("{% block sms %}{{ typo }}{% endblock %}", "utf-8")
    with pytest.raises(TemplateProblem, match=r"sla\.warning"):
        build_notifier(CommonSettings(namespace="x"), NotifierSettings(templates_dir=overrides),
                       env={})
