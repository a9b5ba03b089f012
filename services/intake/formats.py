"""Open311 response formats: JSON, or XML in the GeoReport v2 shapes."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from starlette.responses import Response

__all__ = ["render"]

# XML element name of one item of a list, by the list's element name.
_ITEM_TAGS = {
    "services": "service", "service_requests": "request", "errors": "error",
    "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(elem: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(elem, key), child)
    elif isinstance(value, list):
        tag = _ITEM_TAGS.get(elem.tag, "item")
        for child in value:
            _fill(ET.SubElement(elem, tag), child)
    else:
        elem.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    elem = ET.Element(root)
    _fill(elem, value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(elem, encoding="utf-8")


def render(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    """`value` as JSON, or as XML under the element `root`."""
    if fmt == "xml":
        return Response(to_xml(root, value), status_code=status,
                        media_type="text/xml; charset=utf-8")
    return Response(json.dumps(value, ensure_ascii=False), status_code=status,
                    media_type="application/json; charset=utf-8")
