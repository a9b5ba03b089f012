"""WeChat official account and mini program messages."""

from __future__ import annotations

from suqiu.services.intake.contracts import WechatMessage
from suqiu.services.intake.domain.channels._common import attachment, complainant, location
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, RecordedContent

__all__ = ["normalise_wechat"]

_MEDIA_KIND = {"voice": "audio", "video": "video", "image": "photo"}


def normalise_wechat(msg: WechatMessage) -> Submission:
    """The openid identifies the person (external id); media ids become attachment references."""
    kind = _MEDIA_KIND.get(msg.msg_type, "photo")
    return Submission(
        channel=Channel.WECHAT,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=msg.name, phone=msg.phone, preference="wechat",
                                consent=msg.consent_to_contact, external_id=msg.openid,
                                anonymous=not (msg.name or msg.phone)),
        content=RecordedContent(text=msg.content),
        location=location(msg.address, msg.lat, msg.lon),
        attachments=[attachment(kind, f"wx-media://{msg.app}/{m}") for m in msg.media_ids if m.strip()],
        channel_details={"app": msg.app, "msg_type": msg.msg_type,
                         "media_count": len(msg.media_ids)},
    )
