"""Helpers the channel normalisers share."""

from __future__ import annotations

from datetime import datetime

from suqiu.shared.contracts import AttachmentRef, Complainant, Location
from suqiu.shared.privacy import normalize_phone

__all__ = ["attachment_kind", "complainant", "iso", "location"]


def _fits(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value if value and len(value) <= limit else None


def complainant(*, name: str | None = None, phone: str | None = None, email: str | None = None,
                anonymous: bool = False, preference: str | None = None,
                consent: bool | None = None, external_id: str | None = None) -> Complainant:
    """A complainant from what the channel gave; anything missing or unusable stays None."""
    mail = _fits(email, 254)
    return Complainant(
        name=_fits(name, 64), phone=normalize_phone(phone),
        email=mail if mail and "@" in mail else None, anonymous=anonymous,
        contact_preference=preference,  # type: ignore[arg-type]
        consent_to_contact=consent, external_id=_fits(external_id, 128))


def location(address: str | None = None, lat: float | None = None,
             lon: float | None = None) -> Location:
    return Location(address=_fits(address, 500), lat=lat, lon=lon)


def attachment_kind(content_type: str) -> str:
    """Attachment kind of a MIME type."""
    major = content_type.split("/", 1)[0].lower()
    return {"image": "photo", "video": "video", "audio": "audio"}.get(major, "document")


def attachment(kind: str, uri: str, name: str | None = None) -> AttachmentRef:
    return AttachmentRef(kind=kind, uri=uri[:2048], name=_fits(name, 255))  # type: ignore[arg-type]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
