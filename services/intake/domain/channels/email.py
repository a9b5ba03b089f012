"""E-mail: a raw RFC 5322 message; the text (or HTML) body is the complaint, attachments
are kept as references to where the mailbox poller stored them, never as bytes."""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from email.message import EmailMessage as MimeMessage
from email.utils import parseaddr

from suqiu.services.intake.contracts import EmailMessage
from suqiu.services.intake.domain.channels._common import attachment, attachment_kind, complainant
from suqiu.services.intake.domain.submission import Submission
from suqiu.shared.contracts import Channel, Location, RecordedContent

__all__ = ["EmailParseError", "html_to_text", "normalise_email"]

_TAGS = re.compile(r"<[^>]+>")
_BLOCKS = re.compile(r"(?i)<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>")
_HIDDEN = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")


class EmailParseError(ValueError):
    """The message cannot be read as RFC 5322."""


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body (scripts and styles dropped, entities decoded)."""
    text = _BLOCKS.sub("\n", _HIDDEN.sub("", markup))
    return html.unescape(_TAGS.sub("", text)).strip()


def _body(msg: MimeMessage) -> tuple[str, str]:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", "none"
    content = part.get_content()
    if not isinstance(content, str):
        return "", "none"
    if part.get_content_subtype() == "html":
        return html_to_text(content), "html"
    return content.strip(), "plain"


def normalise_email(msg: EmailMessage) -> Submission:
    try:
        mime = email.message_from_bytes(msg.raw_bytes(), policy=email.policy.default)
        assert isinstance(mime, MimeMessage)
        subject = str(mime.get("Subject", "") or "").strip() or None
        display, address = parseaddr(str(mime.get("From", "") or ""))
        text, body_kind = _body(mime)
        header_id = str(mime.get("Message-ID", "") or "").strip() or None
        attachments, meta = [], []
        for index, part in enumerate(mime.iter_attachments(), start=1):
            filename = part.get_filename() or f"part-{index}"
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            ctype = part.get_content_type()
            uri = f"{msg.attachment_store}{msg.message_id}/{index}/{filename}"
            attachments.append(attachment(attachment_kind(ctype), uri, filename))
            meta.append({"name": filename, "content_type": ctype, "size": len(payload),
                         "sha256": hashlib.sha256(payload).hexdigest()})
    except Exception as exc:  # the stdlib parser raises many kinds of errors on broken mail
        raise EmailParseError(f"unreadable RFC 5322 message: {type(exc).__name__}") from exc
    return Submission(
        channel=Channel.EMAIL,
        channel_message_id=msg.message_id,
        received_at=msg.received_at,
        complainant=complainant(name=display or None, email=address or None, preference="email",
                                anonymous=not address),
        content=RecordedContent(text=text[:8000], title=subject[:200] if subject else None),
        location=Location(),
        attachments=attachments[:50],
        channel_details={"mailbox": msg.mailbox, "message_id_header": header_id,
                         "body_kind": body_kind, "attachments": meta[:50],
                         "text_truncated": len(text) > 8000},
    )
