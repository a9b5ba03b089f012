"""Region from the address and text with the configured gazetteer of the deploying city."""

from __future__ import annotations

from shared.catalogue import Catalogue
from shared.contracts import Region

__all__ = ["extract_region"]


def extract_region(address: str | None, text: str, catalogue: Catalogue) -> Region:
    """District and street found first in the address, then in the text; the span is kept."""
    for source in (address or "", text):
        if not source:
            continue
        for district in catalogue.districts:
            for street in district.streets:
                if street in source:
                    return Region(province=catalogue.province, city=catalogue.city,
                                  district=district.name, street=street, matched=street)
        for district in catalogue.districts:
            for name in (district.name, *district.aliases):
                if name in source:
                    return Region(province=catalogue.province, city=catalogue.city,
                                  district=district.name, matched=name)
    return Region(province=catalogue.province, city=catalogue.city)
