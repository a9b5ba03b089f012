"""The dispatcher's refusal codes in the words the console shows."""

from __future__ import annotations

__all__ = ["refusal_text"]

_TEXT = {
    "version_conflict": "该工单已被他人更新，您看到的是旧版本。以下为最新内容，请确认后重新操作。",
    "illegal_state": "工单当前状态不允许此操作",
    "role_not_allowed": "您的角色无权执行此操作",
    "not_your_order": "该工单不属于本单位",
    "not_lead": "只有主办单位可以执行此操作",
    "reason_required": "请填写原因",
    "target_required": "请选择目标单位",
    "unknown_department": "目标单位不存在",
    "already_signed": "本单位已签收该工单",
    "already_replied": "本单位已回单",
    "not_signed": "请先签收再回单",
    "summary_required": "请填写回复内容",
    "assisting_replies_pending": "协办单位尚未全部回单",
    "satisfaction_required": "请选择满意度",
    "new_due_required": "请填写新的办结时限（须晚于当前时限）",
    "duplicate_command": "该操作已提交过",
    "not_found": "工单不存在或不在您的权限范围内",
    "invalid_request": "提交的内容不完整或格式不正确",
    "unauthenticated": "控制台与派单服务之间的凭证无效，请联系管理员",
    "forbidden": "无权执行此操作",
    "store_unavailable": "数据服务暂时不可用，请稍后重试",
    "dispatcher_unavailable": "派单服务暂时不可用，请稍后重试",
    "no_credential": "控制台未配置该角色的派单凭证，请联系管理员",
}


def refusal_text(code: str) -> str:
    return _TEXT.get(code, f"操作未成功（{code}）")
