"""Intake's rejections: machine-readable code, field, and the message in English and Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from suqiu.services.intake.contracts import (
    AppSubmission,
    EmailMessage,
    HotlineCall,
    LetterScan,
    RegulatorTransfer,
    RevalidateCommand,
    SmsMessage,
    WalkInRegistration,
    WebForm,
    WechatMessage,
)
from suqiu.shared.contracts import IntakeEnvelope
from suqiu.shared.errors import FieldError, PermanentError, field_errors_from_pydantic

__all__ = ["MESSAGE_TYPES", "LocalizedFieldError", "localize", "parse_intake_message"]

MESSAGE_TYPES: dict[str, type[Any]] = {
    m.model_fields["type"].default: m
    for m in (IntakeEnvelope, HotlineCall, WebForm, WechatMessage, EmailMessage, SmsMessage,
              LetterScan, WalkInRegistration, RegulatorTransfer, AppSubmission, RevalidateCommand)
}

# Chinese messages by reason code (pydantic error types and our own codes).
ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "string_too_short": "内容过短或为空",
    "string_too_long": "内容超过长度上限",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不正确",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限数字",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "too_long": "条目过多",
    "too_short": "条目过少",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "union_tag_invalid": "消息类型未知",
    "datetime_type": "应为日期时间",
    "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "timezone_aware": "日期时间必须带时区",
    "value_error": "取值不合法",
    "invalid_json": "消息体不是合法的 JSON",
    "invalid_encoding": "消息体不是 UTF-8 编码",
    "unknown_type": "消息类型未知",
    "not_an_object": "消息体应为 JSON 对象",
    "unreadable_email": "邮件无法按 RFC 5322 解析",
    "normalisation_failed": "无法规范化为工单",
    "not_found": "工单不存在",
    "illegal_transition": "工单当前状态不允许此操作",
}


@dataclass(frozen=True)
class LocalizedFieldError(FieldError):
    """A FieldError that also carries the Chinese message."""

    message_zh: str = ""

    def as_dict(self) -> dict[str, str]:
        return {**super().as_dict(), "message_zh": self.message_zh}


def localize(error: FieldError) -> LocalizedFieldError:
    if isinstance(error, LocalizedFieldError):
        return error
    return LocalizedFieldError(error.field, error.reason, error.message,
                               ZH.get(error.reason, "输入不合法"))


def localize_exception(exc: PermanentError) -> PermanentError:
    """The same rejection with every error carrying its Chinese message."""
    return PermanentError(exc.reason, [localize(e) for e in exc.errors])


def parse_intake_message(data: Any) -> Any:
    """The contract of a decoded body: chosen by its `type` (default: the generic envelope)."""
    if not isinstance(data, dict):
        raise PermanentError("validation_failed", [localize(FieldError(
            "$", "not_an_object", "the body must be a JSON object"))])
    tag = data.get("type", IntakeEnvelope.model_fields["type"].default)
    model = MESSAGE_TYPES.get(tag) if isinstance(tag, str) else None
    if model is None:
        raise PermanentError("validation_failed", [localize(FieldError(
            "type", "unknown_type", f"unknown message type; expected one of {sorted(MESSAGE_TYPES)}"))])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PermanentError("validation_failed",
                             [localize(e) for e in field_errors_from_pydantic(exc)]) from exc
